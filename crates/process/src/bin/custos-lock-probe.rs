//! A test program of `custos-process`, not installed: what becomes of a process that
//! hardens itself under a finite locked-memory limit and then grows, as the app grows when
//! it opens a vault. `tests/memory_lock.rs` runs it with and without `CAP_IPC_LOCK`.
//!
//! It lowers its own locked-memory limit to 8 MiB (soft and hard; lowering needs no
//! privilege) — a finite limit above its size at start (~3 MiB), like a system whose
//! limit is finite but generous — calls [`custos_process::harden`] as the app does, then
//! takes 32 MiB, writes to every page of it, and starts a thread. It prints what the
//! hardening said, the memory it has locked, and `grew` if it got that far.

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn lower_memlock_limit(bytes: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own; setrlimit reads it.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limit), 0);
        let to = bytes.min(limit.rlim_max);
        limit.rlim_cur = to;
        limit.rlim_max = to;
        assert_eq!(libc::setrlimit(libc::RLIMIT_MEMLOCK, &limit), 0);
    }
}

#[cfg(target_os = "linux")]
fn main() {
    lower_memlock_limit(8 << 20);
    println!("size at start: {} kB", status_kb("VmSize:"));
    let hardening = custos_process::harden(true);
    println!("memory: {:?}", hardening.memory);
    let mut grown = vec![0u8; 32 << 20];
    for page in grown.chunks_mut(4096) {
        page[0] = 1;
    }
    let sum = std::thread::spawn(move || grown.iter().map(|&b| u64::from(b)).sum::<u64>())
        .join()
        .unwrap_or(0);
    println!("locked: {} kB", status_kb("VmLck:"));
    println!("grew: {sum} pages");
}

#[cfg(not(target_os = "linux"))]
fn main() {
    println!("Linux only");
}
