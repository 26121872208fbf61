//! Test helpers, defined once for every crate's tests (a dev-dependency only: nothing
//! here is part of any shipped binary).
//!
//! How-to: `use custos_test_support::{pass, FAST};` then
//! `Vault::create(&dir, &pass(), FAST)`. Scan a folder for plaintext with
//! [`files_under`]. With the `postgres` feature, [`postgres::PgServer`] is a server of
//! the test's own; with `release`, [`release::Signer`] signs release folders with a
//! throwaway key; with `window`, [`window`] drives the real desktop window under Xvfb.

#![deny(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "release")]
pub mod release;
#[cfg(feature = "window")]
#[allow(missing_docs)] // a test harness: its names say what they do
#[allow(unsafe_code)] // Xlib, to ask the window to close as a window manager would
pub mod window;

use std::fs;
use std::path::{Path, PathBuf};

use custos_vault::{Options, SecretString};

/// Runs `f` on the sled database in `db_dir` (a vault's `DIR/db`, a hub's `DATA/db`)
/// opened with sled itself, as anyone holding the folder could; then flushes and closes
/// it and waits until sled's threads have let go of it. Without the wait, an open at once
/// after (the vault, a hub started again) could find the database "in use".
pub fn with_sled<T>(db_dir: &Path, f: impl FnOnce(&sled::Db) -> T) -> T {
    let db = sled::open(db_dir).unwrap_or_else(|e| panic!("opening {}: {e}", db_dir.display()));
    let out = f(&db);
    db.flush().unwrap();
    drop(db);
    custos_vault::store::wait_released(db_dir);
    out
}

/// The passphrase of test vaults (strong enough for the strength check).
pub const PASS: &str = "lantern orchard velvet quarry 1987 sparrow";

/// Vault options for tests: a cheap key-derivation cost, nothing else changed.
pub const FAST: Options = Options::insecure_for_tests();

/// [`PASS`] as a secret.
pub fn pass() -> SecretString {
    secret(PASS)
}

/// Any text as a secret.
pub fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

/// Every file below `dir` (not folders), depth first; empty when `dir` does not exist.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// A process's soft and hard core size limits, as `/proc/PID/limits` gives them
/// ("0", "unlimited" …).
pub fn core_limit(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max core file size"))
        .unwrap_or_else(|| panic!("no core limit in {limits}"));
    let mut v = line.split_whitespace().map(str::to_owned);
    (v.next().unwrap(), v.next().unwrap())
}

/// Whether this process may lock memory without limit (`CAP_IPC_LOCK`, bit 14 of its
/// effective capabilities): where it may, the processes it starts lock theirs too.
pub fn can_lock_memory() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .is_some_and(|caps| caps & (1 << 14) != 0)
}

/// A program the tests need, on the PATH or in `~/.cargo/bin`; a clear failure naming it
/// when it is missing (scripts/test installs every one).
pub fn find_tool(name: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".cargo/bin"));
    }
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} is not installed (scripts/test installs it)"))
}
