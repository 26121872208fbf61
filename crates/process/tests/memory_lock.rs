//! Locking memory out of swap must never cost the process its life. With
//! `mlockall(MCL_FUTURE)` in force, the kernel counts every later mapping against the
//! locked-memory limit; a process without `CAP_IPC_LOCK` whose limit is finite is then
//! refused memory once it passes that limit — an allocation that fails aborts a Rust
//! program, a thread that cannot get its stack is not started. A limit that covers the
//! process at start (a system with a finite but generous limit) would let it lock and
//! then end it when it opens a large vault.
//!
//! `custos-lock-probe` (src/bin) hardens itself under a finite limit above its size at
//! start and then grows past it; these tests run it without and with `CAP_IPC_LOCK`.

#![cfg(target_os = "linux")]

use std::process::{Command, Output};

// The tests' own reading of the capability, not the code under test's.
use custos_test_support::can_lock_memory as has_ipc_lock;

fn probe() -> Command {
    Command::new(env!("CARGO_BIN_EXE_custos-lock-probe"))
}

fn report(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn line<'a>(out: &'a Output, prefix: &str) -> Option<&'a str> {
    std::str::from_utf8(&out.stdout)
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
}

#[test]
fn a_process_without_the_capability_and_a_finite_limit_keeps_growing_unlocked() {
    // Run as it would run for an ordinary user: without CAP_IPC_LOCK (dropped, with the
    // bounding set, where this test has it — as root in CI).
    let out = if has_ipc_lock() {
        Command::new("setpriv")
            .args(["--inh-caps=-ipc_lock", "--bounding-set=-ipc_lock", "--"])
            .arg(env!("CARGO_BIN_EXE_custos-lock-probe"))
            .output()
            .expect("setpriv (util-linux) runs the probe without CAP_IPC_LOCK")
    } else {
        probe().output().unwrap()
    };
    let size: u64 = line(&out, "size at start: ")
        .and_then(|v| v.trim_end_matches(" kB").parse().ok())
        .unwrap_or_else(|| panic!("the probe did not start: {}", report(&out)));
    assert!(
        size < 8 << 10,
        "the probe is {size} kB at start: it must fit its 8 MiB limit for this test to mean anything"
    );
    assert!(
        out.status.success(),
        "the hardened process died growing past its locked-memory limit: {}",
        report(&out)
    );
    assert_eq!(
        line(&out, "memory: "),
        Some("Swappable"),
        "{}",
        report(&out)
    );
    assert_eq!(line(&out, "locked: "), Some("0 kB"), "{}", report(&out));
    assert_eq!(line(&out, "grew: "), Some("8192 pages"), "{}", report(&out));
}

#[test]
fn a_process_with_the_capability_locks_and_keeps_growing_past_its_limit() {
    if !has_ipc_lock() {
        eprintln!("no CAP_IPC_LOCK here: locking with the capability is not checked");
        return;
    }
    let out = probe().output().unwrap();
    assert!(out.status.success(), "{}", report(&out));
    assert_eq!(line(&out, "memory: "), Some("Locked"), "{}", report(&out));
    let locked: u64 = line(&out, "locked: ")
        .and_then(|v| v.trim_end_matches(" kB").parse().ok())
        .unwrap_or(0);
    // The 32 MiB it wrote to are locked, past the 8 MiB limit: the capability exempts it.
    assert!(locked >= 32 << 10, "{}", report(&out));
    assert_eq!(line(&out, "grew: "), Some("8192 pages"), "{}", report(&out));
}
