//! The hub process: whatever core limit it is started with, a crash cannot write its
//! memory (its TLS key, request bodies) to disk.

mod support;

use support::{Backend, Hub};

/// The soft and hard core size limits of a process, from `/proc/PID/limits`.
fn core_limit(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max core file size"))
        .unwrap_or_else(|| panic!("no core limit in {limits}"));
    let mut v = line.split_whitespace().map(str::to_owned);
    (v.next().unwrap(), v.next().unwrap())
}

#[cfg(target_os = "linux")]
#[test]
fn the_hub_cannot_dump_core() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start(&tmp.path().join("hub"), &Backend::sled());
    assert_eq!(
        core_limit(hub.pid()),
        ("0".to_owned(), "0".to_owned()),
        "the hub may write a core dump"
    );
}
