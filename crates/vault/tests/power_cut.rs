//! Power cut: what was not fsynced is lost, and no acknowledged write may be.
//!
//! SIGKILL (tests/crash.rs) kills the program but not the kernel: everything it wrote is
//! still in the page cache and reaches the disk later. A power cut also loses what the
//! kernel had not written to the drive yet. This test makes that real with a loop device:
//!
//! 1. the vault lives on an ext4 file system in a file (`disk.img`), mounted through a
//!    loop device in a private mount namespace (`unshare -m`; root needed, as for any
//!    loop device);
//! 2. a child process (this test binary run again) writes records and prints a line for
//!    each acknowledged write;
//! 3. at a random moment the child is frozen (SIGSTOP) and the image file is copied: the
//!    copy holds exactly what the loop device had been given — every fsynced write, plus
//!    whatever the kernel happened to write back on its own — and none of the dirty pages
//!    still in the mounted file system's cache. That copy is the disk after the power cut.
//!    Only then is the child killed (its unmount would write those pages out);
//! 4. the copy is repaired the way a booting machine would (`e2fsck` replays ext4's
//!    journal), the vault folder is read out of it with `debugfs` (no mount needed), and
//!    every acknowledged record must open with its content;
//! 5. the next round writes on that copy: a vault that lived through a power cut must go
//!    on working.
//!
//! The first test shows the layer itself loses what is not synced, so that the second
//! could fail.

mod acked;

use acked::text_for;
use custos_test_support::{pass, FAST as OPTS};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use custos_model::{Case, Note, Record};
use custos_vault::Vault;
use uuid::Uuid;

const ROUNDS: usize = 16;
/// The file system's size: sparse, so only what is written takes room.
const IMAGE_SIZE: u64 = 256 * 1024 * 1024;
/// The child must have mounted the image and opened the vault by then.
const READY_WITHIN: Duration = Duration::from_secs(60);

/// A file system image in a file.
fn make_image(path: &Path) {
    let f = std::fs::File::create(path).unwrap();
    f.set_len(IMAGE_SIZE).unwrap();
    drop(f);
    run(Command::new("mkfs.ext4").arg("-q").arg(path), "mkfs.ext4");
}

fn run(cmd: &mut Command, what: &str) -> std::process::Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what} could not run ({e}): e2fsprogs is needed"));
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Starts this test binary as `child` with the image mounted at `mnt`, in a private
/// mount namespace. Its stdout lines arrive on the returned channel.
fn spawn_child(image: &Path, mnt: &Path, child: &str, env: &[(&str, String)]) -> Running {
    std::fs::create_dir_all(mnt).unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(
            "mount -o loop \"$1\" \"$2\" || exit 97; shift 2; \
             exec \"$@\" --exact --ignored --nocapture --test-threads=1",
        )
        .arg("sh")
        .arg(image)
        .arg(mnt)
        .arg(exe)
        .arg(child)
        .env("CUSTOS_POWER_CUT_MNT", mnt)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut process = cmd
        .spawn()
        .expect("unshare (util-linux) runs: the power-cut test needs it");
    let stdout = process.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Running { process, lines }
}

struct Running {
    process: Child,
    lines: Receiver<String>,
}

impl Running {
    /// Waits for the child's `READY` line; the lines before it are returned.
    fn ready(&mut self) -> Vec<String> {
        let deadline = Instant::now() + READY_WITHIN;
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            match self.lines.recv_timeout(Duration::from_millis(20)) {
                // libtest prints "test NAME ... " before the test runs, on that line.
                Ok(l) if l.ends_with("READY") => return seen,
                Ok(l) => seen.push(l),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        let _ = self.process.kill();
        let out = self.process.wait_with_output_stderr();
        panic!(
            "the child never got ready (root and a free loop device are needed: \
             `unshare -m` and `mount -o loop`): {out}"
        );
    }

    /// Freezes the child where it is: nothing more reaches the disk from it, but its
    /// mount — and the dirty pages of its file system — stay.
    fn freeze(&self) {
        signal(self.process.id(), "STOP");
    }

    fn kill(mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A test that fails part-way leaves no frozen child behind (nor its mount).
impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

trait StderrOf {
    fn wait_with_output_stderr(&mut self) -> String;
}

impl StderrOf for Child {
    fn wait_with_output_stderr(&mut self) -> String {
        let _ = self.wait();
        let mut s = String::new();
        if let Some(mut e) = self.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut s);
        }
        s
    }
}

fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{sig} {pid} failed");
}

/// The disk as a power cut at this moment leaves it, repaired as at the next boot, and
/// the folder `inside` read out of it into `out`.
fn power_cut(image: &Path, snapshot: &Path, inside: &str, out: &Path) {
    run(
        Command::new("cp")
            .arg("--sparse=always")
            .arg(image)
            .arg(snapshot),
        "copying the image",
    );
    // e2fsck: 0 = clean, 1 = repaired (the journal replayed); more is damage.
    let fsck = Command::new("e2fsck")
        .arg("-fy")
        .arg(snapshot)
        .output()
        .expect("e2fsck (e2fsprogs) runs");
    assert!(
        matches!(fsck.status.code(), Some(0 | 1)),
        "the file system after the power cut needs more than its journal: {}",
        String::from_utf8_lossy(&fsck.stdout)
    );
    if out.exists() {
        std::fs::remove_dir_all(out).unwrap();
    }
    std::fs::create_dir_all(out).unwrap();
    run(
        Command::new("debugfs")
            .arg("-R")
            .arg(format!("rdump {inside} {}", out.display()))
            .arg(snapshot),
        "debugfs rdump",
    );
}

/// Runs in the child, on the mounted image: one file fsynced (and its folder), one
/// written and closed but not synced; then it waits to be frozen.
#[test]
#[ignore = "runs only as the power-cut test's child process"]
fn layer_child() {
    let Ok(mnt) = std::env::var("CUSTOS_POWER_CUT_MNT") else {
        return;
    };
    let dir = Path::new(&mnt).join("files");
    std::fs::create_dir_all(&dir).unwrap();
    let mut synced = std::fs::File::create(dir.join("synced")).unwrap();
    synced.write_all(b"kept").unwrap();
    synced.sync_all().unwrap();
    std::fs::File::open(&dir).unwrap().sync_all().unwrap();
    std::fs::File::open(&mnt).unwrap().sync_all().unwrap();
    std::fs::write(dir.join("unsynced"), b"lost").unwrap();
    // Written into the synced file, never synced either.
    synced.write_all(b" and lost").unwrap();
    println!("READY");
    std::thread::sleep(Duration::from_secs(600));
}

#[test]
fn the_power_cut_layer_loses_what_was_not_synced() {
    let tmp = tempfile::tempdir().unwrap();
    let image = tmp.path().join("disk.img");
    make_image(&image);
    let mut child = spawn_child(&image, &tmp.path().join("mnt"), "layer_child", &[]);
    child.ready();
    child.freeze();
    let out = tmp.path().join("out");
    power_cut(&image, &tmp.path().join("cut.img"), "/files", &out);
    child.kill();
    let files = out.join("files");
    assert_eq!(
        std::fs::read(files.join("synced")).unwrap(),
        b"kept",
        "what was fsynced is on the disk, and nothing written after"
    );
    assert!(
        !files.join("unsynced").exists(),
        "a file never synced did not survive the power cut"
    );
    // Without the cut (the child's unmount writes its cache out), both would be there:
    // the copy above really was taken before the cache reached the disk.
    let out = tmp.path().join("after-unmount");
    std::fs::create_dir_all(&out).unwrap();
    run(
        Command::new("debugfs")
            .arg("-R")
            .arg(format!("rdump /files {}", out.display()))
            .arg(&image),
        "debugfs rdump",
    );
    assert_eq!(
        std::fs::read(out.join("files/unsynced")).unwrap(),
        b"lost",
        "after a clean unmount the unsynced file is on the disk"
    );
}

/// Runs in the child: opens (or creates) the vault on the mounted image and writes notes
/// until frozen, printing one line per acknowledged write.
#[test]
#[ignore = "runs only as the power-cut test's child process"]
fn vault_child() {
    let Ok(mnt) = std::env::var("CUSTOS_POWER_CUT_MNT") else {
        return;
    };
    let dir = PathBuf::from(mnt).join("vault");
    let mut seq: u64 = std::env::var("CUSTOS_POWER_CUT_SEQ")
        .unwrap()
        .parse()
        .unwrap();
    let mut vault = if dir.exists() {
        Vault::unlock(&dir, &pass(), OPTS).unwrap()
    } else {
        let mut v = Vault::create(&dir, &pass(), OPTS).unwrap();
        v.add(Record::Case(Case {
            title: "power cut".into(),
            ..Case::default()
        }))
        .unwrap();
        v
    };
    let case_id = acked::first_case(&vault);
    let out = std::io::stdout();
    println!("READY");
    // Quiet rounds: a burst of saves, then nothing — the power is cut while the app
    // sits idle, after sled's own background flush.
    let quiet_after: Option<u64> = std::env::var("CUSTOS_POWER_CUT_QUIET")
        .ok()
        .and_then(|n| n.parse().ok());
    let first = seq;
    loop {
        if quiet_after.is_some_and(|n| seq >= first + n) {
            println!("QUIET");
            std::thread::sleep(Duration::from_secs(600));
        }
        // Single writes and commits of several notes; with CUSTOS_POWER_CUT_LARGE, every
        // fourth commit is larger than the journal takes (written to sled directly, its
        // flush and fsync on the path).
        let large = std::env::var_os("CUSTOS_POWER_CUT_LARGE").is_some() && seq.is_multiple_of(4);
        let n = if large { 700 } else { 1 + (seq % 3) as usize };
        let changes = (0..n)
            .map(|i| {
                custos_vault::Change::Create(Record::Note(Note {
                    case_id,
                    text: text_for(seq + i as u64),
                    about: vec![],
                }))
            })
            .collect();
        let written = vault.commit(changes).unwrap();
        let mut lock = out.lock();
        for (i, w) in written.iter().enumerate() {
            writeln!(lock, "ACK {} {}", w.record_id, seq + i as u64).unwrap();
        }
        lock.flush().unwrap();
        seq += n as u64;
    }
}

/// A vault's disk across rounds of writes and power cuts, and what was acknowledged on it.
struct Disk {
    tmp: tempfile::TempDir,
    image: PathBuf,
    acked: HashMap<Uuid, u64>,
    /// The sequence number the next round's child starts at.
    seq: u64,
}

impl Disk {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let image = tmp.path().join("disk.img");
        make_image(&image);
        Disk {
            tmp,
            image,
            acked: HashMap::new(),
            seq: 1,
        }
    }

    /// Starts a writing child on the disk, with `env` besides its first sequence number.
    fn writer(&self, env: &[(&str, String)]) -> Running {
        let mut all = vec![("CUSTOS_POWER_CUT_SEQ", self.seq.to_string())];
        all.extend(env.iter().cloned());
        let mut child = spawn_child(
            &self.image,
            &self.tmp.path().join("mnt"),
            "vault_child",
            &all,
        );
        child.ready();
        child
    }

    /// Cuts the power under the frozen `child`, whose output so far is `lines`: every
    /// write it acknowledged must be on the disk the cut left, which the next round
    /// starts from. Returns how many writes this round acknowledged.
    fn cut(&mut self, child: Running, lines: &[String]) -> usize {
        let cut = self.tmp.path().join("cut.img");
        let out = self.tmp.path().join("out");
        power_cut(&self.image, &cut, "/vault", &out);
        child.kill();
        let wrote = acked::take_acks(lines, &mut self.acked, &mut self.seq);
        // Numbers of writes in flight at the cut are never reused.
        self.seq += 10;
        acked::check_acked(&out.join("vault"), &self.acked, "power cut")
            .lock()
            .unwrap();
        std::fs::rename(&cut, &self.image).unwrap();
        wrote
    }
}

/// `rounds` rounds of a child writing (with `env`) on one disk, each cut off after a
/// random delay (`delay`: its least and its spread, in ms): every write acknowledged must
/// survive, and most rounds must have been cut in the middle of writing.
fn cut_while_writing(
    what: &str,
    rounds: usize,
    mut rng: u64,
    delay: (u64, u64),
    env: &[(&str, String)],
) {
    let mut disk = Disk::new();
    let mut cuts_mid_write = 0;
    for round in 0..rounds {
        let after = acked::next_delay(&mut rng, delay.0, delay.1);
        let child = disk.writer(env);
        let started = Instant::now();
        let mut lines = Vec::new();
        while started.elapsed() < after {
            if let Ok(l) = child.lines.recv_timeout(Duration::from_millis(5)) {
                lines.push(l);
            }
        }
        child.freeze();
        // What the frozen child printed was acknowledged before the cut; a line it had
        // not finished printing is not in the pipe, and its write counts as unacknowledged.
        std::thread::sleep(Duration::from_millis(20));
        lines.extend(child.lines.try_iter());
        if disk.cut(child, &lines) > 0 {
            cuts_mid_write += 1;
        }
        eprintln!(
            "{what} round {round}: cut after {after:?}, {} acknowledged so far",
            disk.acked.len()
        );
    }
    acked::assert_enough(cuts_mid_write, rounds, disk.acked.len(), "cut off");
}

#[test]
fn acknowledged_writes_survive_a_power_cut() {
    cut_while_writing("small commits", ROUNDS, 0x2545f4914f6cdd1d, (20, 400), &[]);
}

/// A burst of saves, then the app sits idle — the moment a user closes the laptop lid
/// or the battery dies a few seconds after saving: every acknowledged save is there.
#[test]
fn acknowledged_writes_survive_a_power_cut_while_idle() {
    let mut disk = Disk::new();
    let mut rng = 0x9e3779b97f4a7c15u64;
    for round in 0..4 {
        let burst = acked::next_delay(&mut rng, 5, 200).as_millis() as u64;
        // Idle for longer than sled's background flush (1 s), shorter than ext4's own
        // commit of its journal (5 s).
        let idle = acked::next_delay(&mut rng, 1200, 3000);
        let child = disk.writer(&[("CUSTOS_POWER_CUT_QUIET", burst.to_string())]);
        let started = Instant::now();
        let mut lines = Vec::new();
        loop {
            let l = child
                .lines
                .recv_timeout(Duration::from_secs(60))
                .expect("the burst of saves ends");
            if l == "QUIET" {
                break;
            }
            lines.push(l);
        }
        std::thread::sleep(idle);
        child.freeze();
        lines.extend(child.lines.try_iter());
        assert!(disk.cut(child, &lines) > 0, "round {round} saved nothing");
        eprintln!(
            "idle round {round}: {burst} saves in {:?}, cut after {idle:?} idle, {} acknowledged so far",
            started.elapsed(),
            disk.acked.len()
        );
    }
}

/// Commits too large for the journal among small ones: the cut also falls while sled
/// itself writes, flushes and is fsynced, and while the journal is emptied before it.
#[test]
fn acknowledged_writes_survive_a_power_cut_during_large_commits() {
    cut_while_writing(
        "large commits",
        8,
        0xd1b54a32d192ed03,
        (100, 1500),
        &[("CUSTOS_POWER_CUT_LARGE", "1".into())],
    );
}
