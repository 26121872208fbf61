//! Giving freed memory back to the system.
//!
//! Unlocking decrypts records, the search warm-up tokenises them in large arenas, and
//! the KDF takes hundreds of megabytes for a second. glibc's allocator keeps what is
//! freed for reuse: a heap per thread (up to eight per core) and the top of each heap
//! above a threshold that grows with every large allocation. After an unlock that was
//! ~50 MiB of the app's private memory — pages that still held decrypted text until
//! reused. Two arenas, a fixed trim threshold and an explicit trim once the work is done
//! return those pages to the system (measured with `cargo xtask bench --only startup`).

/// Caps the allocator's arenas and fixes its trim threshold. Called first in `main`,
/// before any thread starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn tune() {
    // SAFETY: mallopt takes two integers and only changes the allocator's parameters;
    // it is called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024);
    }
}

/// Returns the free pages of every arena to the system: after an unlock, a lock, and
/// the end of the search warm-up.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn release() {
    // SAFETY: malloc_trim takes an integer (the bytes to keep at the top of the heap)
    // and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune() {}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release() {}
