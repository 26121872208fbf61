//! The `custos` process itself: whatever limit it was started with, it cannot write a
//! core dump (a crash would write decrypted records, the identity and the passphrase to
//! disk), and where the system allows it, its memory is locked out of swap.
//!
//! The command is started with a core limit of "unlimited" (as a shell with
//! `ulimit -c unlimited`, or a distribution's default, would give it) and held at its
//! passphrase prompt — a FIFO it reads its passphrase from — while its limits are read
//! from `/proc`.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use custos_test_support::{can_lock_memory, core_limit};
use custos_vault::{Options, SecretString, Vault};

const PASS: &str = "lantern orchard velvet quarry 1987 sparrow";

/// A `/proc/PID/status` value in kB.
fn status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {status}"))
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo {}", path.display());
}

#[cfg(target_os = "linux")]
#[test]
fn the_command_cannot_dump_core_whatever_limit_it_is_started_with() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    Vault::create(
        &dir,
        &SecretString::from(PASS.to_owned()),
        Options::insecure_for_tests(),
    )
    .unwrap()
    .lock()
    .unwrap();
    let fifo = tmp.path().join("passphrase");
    mkfifo(&fifo);
    let script = format!(
        "ulimit -S -c unlimited 2>/dev/null || ulimit -S -c $(ulimit -H -c); exec {:?} --vault {:?} --passphrase-file {:?} list",
        env!("CARGO_BIN_EXE_custos"),
        dir,
        fifo
    );
    let child = Command::new("sh")
        .args(["-c", &script])
        .env("HOME", tmp.path())
        // English whatever the machine's locale: the tests match on the words.
        .env("CUSTOS_LANG", "en")
        .env("CUSTOS_CONFIG_DIR", tmp.path().join("config"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Wait until the shell has become `custos` (exec) and is waiting on the FIFO.
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_custos")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_link(format!("/proc/{pid}/exe")).ok() != Some(exe.clone()) {
        assert!(Instant::now() < deadline, "custos never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));

    let (soft, hard) = core_limit(pid);
    let locked = status_kb(pid, "VmLck:");
    // Let it finish: the passphrase, then its answer.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&fifo)
        .unwrap()
        .write_all(PASS.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    assert_eq!(
        (soft.as_str(), hard.as_str()),
        ("0", "0"),
        "custos may write a core dump"
    );
    if can_lock_memory() {
        assert!(
            locked > 0,
            "memory not locked out of swap: VmLck {locked} kB"
        );
    } else {
        eprintln!("no CAP_IPC_LOCK here: whether memory is locked is not checked");
    }
}

/// `custos … | head`: when the reader goes away, the command ends quietly (by SIGPIPE,
/// as other command-line tools do), not with a panic and its backtrace.
#[cfg(unix)]
#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let mut child = Command::new(env!("CARGO_BIN_EXE_custos"))
        .args(["vocab", "act-types"])
        .env("CUSTOS_LANG", "en")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away before reading a line: every line is a write to a closed pipe.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(
        out.status.signal(),
        Some(libc_sigpipe()),
        "{:?}",
        out.status
    );
}

/// SIGPIPE's number on Linux and the BSDs.
fn libc_sigpipe() -> i32 {
    13
}
