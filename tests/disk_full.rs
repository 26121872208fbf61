//! Full disk, on a small real tmpfs mounted in a private mount namespace (`unshare
//! -Urm`: no root needed, nothing left mounted); the child is this test binary run
//! again.
//!
//! 1. With the default free-space reserve, a write that would not fit is refused as
//!    "disk full" before the database sees it: the vault stays usable, and once space
//!    is freed the next write in the same session works.
//! 2. With no reserve, the database itself hits ENOSPC: the caller gets a clear "disk
//!    full" error (never a panic or a hang), nothing more is acknowledged, and a copy of
//!    the folder opens with every acknowledged record intact.
//! 3. Evidence: a file too big for the free space is refused before a byte is written
//!    (with the reserve), or fails part-way with a clear "disk full" (without it); either
//!    way no evidence record and no partial file remain, and the vault and its other
//!    evidence go on working; an export to a full disk leaves no partial copy and logs
//!    nothing.
//! 4. The database rewrite of travel mode, without room for its copy: a clear "disk
//!    full", nothing lost, the vault opens, and the rewrite is done at the first open
//!    after space was freed.
//! 6. An import from another tool's export that does not fit (its files fill the disk
//!    part-way): refused with the reserve before it fills the disk, or stopped by ENOSPC
//!    without it; either way everything it had written is taken back — no record, no
//!    encrypted file, the chain of versions where it was — and the vault goes on.
//! 7. A large commit whose value file does not fit (no reserve): a clear "disk full",
//!    no part of the file left, nothing of the commit stored, the store not failed;
//!    once space is freed the same commit is stored and reads back after a reopen.
//! 5. After the database itself hit ENOSPC (2.), another vault opens in the same process,
//!    and so does the same vault once space is freed: within a deadline, so that a hang
//!    fails the test instead of blocking it.

use custos_test_support::pass;
use std::path::Path;
use std::process::Command;

use custos_model::{Case, Note, Record};
use custos_vault::{Error, Filter, Options, Vault};
use uuid::Uuid;

fn note_text(i: usize) -> String {
    format!("{i}:").repeat(20_000)
}

fn mount_tmpfs(at: &Path, size: &str) {
    std::fs::create_dir_all(at).unwrap();
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(at)
        .status()
        .expect("mount runs");
    assert!(status.success(), "mounting a tmpfs failed");
}

fn new_case(vault: &mut Vault) -> Uuid {
    vault
        .add(Record::Case(Case {
            title: "full disk".into(),
            ..Case::default()
        }))
        .unwrap()
}

/// Adds notes until a write fails; returns the acknowledged ones and the error.
fn fill(vault: &mut Vault, case_id: Uuid) -> (Vec<(Uuid, usize)>, Error) {
    let mut acked = Vec::new();
    for i in 0..100_000 {
        match vault.add(Record::Note(Note {
            case_id,
            text: note_text(i),
            about: vec![],
        })) {
            Ok(id) => acked.push((id, i)),
            Err(e) => return (acked, e),
        }
    }
    panic!("the disk never filled up");
}

fn check_notes(vault: &Vault, acked: &[(Uuid, usize)]) {
    assert!(vault.damaged().is_empty(), "{:?}", vault.damaged());
    for (id, i) in acked {
        match vault
            .get(*id)
            .expect("an acknowledged record survived")
            .into_record()
        {
            Some(Record::Note(n)) => assert_eq!(n.text, note_text(*i)),
            other => panic!("record {i} is {other:?}"),
        }
    }
    // Whatever else survived decrypts whole: no half-written version.
    for item in vault.list(&Filter::default()) {
        vault
            .get(item.record_id)
            .expect("every stored record decrypts");
    }
}

fn graceful(root: &Path) {
    let mount = root.join("graceful");
    mount_tmpfs(&mount, "56m");
    let dir = mount.join("vault");
    let opts = Options::insecure_for_tests();
    let mut vault = Vault::create(&dir, &pass(), opts).unwrap();
    let case_id = new_case(&mut vault);
    let filler = mount.join("filler");
    std::fs::write(&filler, vec![0u8; 16 << 20]).unwrap();

    let (acked, err) = fill(&mut vault, case_id);
    assert!(
        matches!(err, Error::DiskFull),
        "expected disk full, got: {err}"
    );
    assert!(err.to_string().contains("disk is full"));
    assert!(acked.len() > 5, "only {} writes before full", acked.len());
    // Still full: the same clear error, and the store has not failed.
    let again = vault.add(Record::Note(Note {
        case_id,
        text: note_text(acked.len()),
        about: vec![],
    }));
    assert!(matches!(again, Err(Error::DiskFull)), "{again:?}");

    // Space freed: the same session writes again, nothing was lost.
    std::fs::remove_file(&filler).unwrap();
    vault
        .add(Record::Note(Note {
            case_id,
            text: "after space was freed".into(),
            about: vec![],
        }))
        .expect("writes work again without reopening");
    check_notes(&vault, &acked);
    vault.lock().unwrap();
    let vault = Vault::unlock(&dir, &pass(), opts).unwrap();
    check_notes(&vault, &acked);
    vault.lock().unwrap();
    println!("GRACEFUL-OK acknowledged={}", acked.len());
}

fn hard(root: &Path, copy_to: &Path) {
    let mount = root.join("hard");
    mount_tmpfs(&mount, "12m");
    let dir = mount.join("vault");
    let opts = Options {
        disk_reserve: 0,
        ..Options::insecure_for_tests()
    };
    let mut vault = Vault::create(&dir, &pass(), opts).unwrap();
    let case_id = new_case(&mut vault);
    let (acked, err) = fill(&mut vault, case_id);
    assert!(
        matches!(err, Error::DiskFull),
        "expected disk full, got: {err}"
    );
    let again = vault.add(Record::Note(Note {
        case_id,
        text: "after the failure".into(),
        about: vec![],
    }));
    assert!(again.is_err(), "a write after the failure was acknowledged");
    // Locking cannot save the index snapshot now; it must return, not hang or panic.
    assert!(vault.lock().is_err());
    for (id, i) in &acked {
        println!("ACK {id} {i}");
    }
    let status = Command::new("cp")
        .arg("-a")
        .arg(&dir)
        .arg(copy_to)
        .status()
        .unwrap();
    assert!(status.success());
    println!("HARD-OK acknowledged={}", acked.len());
}

fn evidence(root: &Path) {
    use custos_vault::{Attach, BLOBS};
    let source = root.join("big-video.bin");
    std::fs::write(&source, vec![7u8; 24 << 20]).unwrap();
    let small = root.join("small.jpg");
    std::fs::write(&small, vec![1u8; 64 << 10]).unwrap();
    for (name, size, reserve) in [("reserve", "32m", true), ("no-reserve", "12m", false)] {
        let mount = root.join(format!("evidence-{name}"));
        mount_tmpfs(&mount, size);
        let dir = mount.join("vault");
        let opts = Options {
            disk_reserve: if reserve {
                custos_vault::DISK_RESERVE
            } else {
                0
            },
            ..Options::insecure_for_tests()
        };
        let mut vault = Vault::create(&dir, &pass(), opts).unwrap();
        let case_id = new_case(&mut vault);
        let to = || Attach {
            case_id,
            ..Attach::default()
        };
        let first = vault.attach(&small, to()).unwrap();
        let err = vault.attach(&source, to()).unwrap_err();
        assert!(
            matches!(err, Error::DiskFull),
            "{name}: expected disk full, got: {err}"
        );
        let left: Vec<_> = std::fs::read_dir(dir.join(BLOBS))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left.len(), 1, "{name}: files left in blobs/: {left:?}");
        let listed = vault.list(&Filter {
            kind: Some(custos_model::Kind::Evidence),
            ..Filter::default()
        });
        assert_eq!(listed.len(), 1, "{name}: a partial evidence record");
        assert!(vault.verify_evidence(first).unwrap().ok, "{name}");
        vault
            .attach(&small, to())
            .expect("the vault still takes evidence that fits");
        vault.lock().unwrap();
        println!("EVIDENCE-{name}-OK");
    }

    // An export to a full disk: a clear error, no partial copy, nothing logged.
    let target = root.join("export-target");
    mount_tmpfs(&target, "1m");
    let dir = root.join("export-vault");
    let mut vault = Vault::create(&dir, &pass(), Options::insecure_for_tests()).unwrap();
    let case_id = new_case(&mut vault);
    let four = root.join("four-mib.bin");
    std::fs::write(&four, vec![3u8; 4 << 20]).unwrap();
    let id = vault
        .attach(
            &four,
            Attach {
                case_id,
                ..Attach::default()
            },
        )
        .unwrap();
    let dest = target.join("copy.bin");
    let err = vault.export_evidence(id, &dest).unwrap_err();
    assert!(
        matches!(err, Error::DiskFull),
        "expected disk full, got: {err}"
    );
    assert!(!dest.exists(), "a partial export was left");
    assert_eq!(
        vault.custody(id).unwrap().len(),
        1,
        "a failed export was logged"
    );
    vault.export_evidence(id, &root.join("copy.bin")).unwrap();
    vault.lock().unwrap();
    println!("EVIDENCE-export-OK");
}

#[test]
#[ignore = "runs only as the full-disk test's child process"]
fn full_disk_child() {
    let (Ok(root), Ok(copy)) = (
        std::env::var("CUSTOS_FULL_DISK_ROOT"),
        std::env::var("CUSTOS_FULL_DISK_COPY"),
    ) else {
        return;
    };
    graceful(Path::new(&root));
    evidence(Path::new(&root));
    import(Path::new(&root));
    rewrite(Path::new(&root));
    value_file(Path::new(&root));
    // Last: after it, the vault that failed stays open (idle) until the process exits.
    hard(Path::new(&root), Path::new(&copy));
    after_failure(Path::new(&root));
}

/// An import whose files do not fit: taken back whole.
fn import(root: &Path) {
    use custos_import::engine::{self, Error as ImportError};
    use custos_import::{FileItem, FileSource, Item, Tool, Unit};
    use custos_vault::BLOBS;
    let export = root.join("odk-export");
    std::fs::create_dir_all(&export).unwrap();
    let units: Vec<Unit> = (0..10)
        .map(|i| {
            let file = export.join(format!("{i}.mp4"));
            let mut content = vec![5u8; 3 << 20];
            content[0] = i as u8;
            std::fs::write(&file, &content).unwrap();
            let case_id = Tool::Odk.id(&format!("submission/{i}/case"));
            Unit {
                original_id: format!("uuid:{i}"),
                at: format!("form.csv line {}", i + 2),
                records: vec![Item {
                    id: case_id,
                    record: Record::Case(Case {
                        title: format!("Submission {i}"),
                        ..Case::default()
                    }),
                    earlier: Vec::new(),
                }],
                files: vec![FileItem {
                    id: Tool::Odk.id(&format!("submission/{i}/file")),
                    case_id,
                    attached_to: Vec::new(),
                    description: String::new(),
                    source: FileSource::Path(file),
                    name: format!("{i}.mp4"),
                    sha256: None,
                    size: None,
                    original_id: format!("uuid:{i}/{i}.mp4"),
                    created: None,
                    metadata: Vec::new(),
                }],
                unmapped: Vec::new(),
            }
        })
        .collect();
    for (name, size, reserve) in [("reserve", "40m", true), ("no-reserve", "12m", false)] {
        let mount = root.join(format!("import-{name}"));
        mount_tmpfs(&mount, size);
        let dir = mount.join("vault");
        let opts = Options {
            disk_reserve: if reserve {
                custos_vault::DISK_RESERVE
            } else {
                0
            },
            ..Options::insecure_for_tests()
        };
        let mut vault = Vault::create(&dir, &pass(), opts).unwrap();
        new_case(&mut vault);
        let versions = vault.version_count();
        let err = engine::import_with(
            &mut vault,
            Tool::Odk,
            &export.join("form.csv"),
            &mut |sink| {
                for u in &units {
                    sink.unit(u.clone())?;
                }
                Ok(())
            },
            &mut |_, _, _| {},
        )
        .unwrap_err();
        match &err {
            ImportError::TakenBack(e) => assert!(
                matches!(e, Error::DiskFull) || e.to_string().contains("space"),
                "{name}: {e}"
            ),
            other => panic!("{name}: expected the import taken back, got: {other}"),
        }
        assert_eq!(vault.version_count(), versions, "{name}: a record was kept");
        let left: Vec<_> = std::fs::read_dir(dir.join(BLOBS))
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "{name}: files left in blobs/: {left:?}");
        // The vault goes on: a write continues its chain, and it opens again.
        new_case(&mut vault);
        vault.lock().unwrap();
        let vault = Vault::unlock(&dir, &pass(), opts).unwrap();
        assert_eq!(vault.version_count(), versions + 1, "{name}");
        vault.lock().unwrap();
        println!("IMPORT-{name}-OK");
    }
}

fn rewrite(root: &Path) {
    use custos_vault::store::{Store, Write};
    let mount = root.join("rewrite");
    mount_tmpfs(&mount, "16m");
    let db = mount.join("db");
    let ids: Vec<Uuid> = (0..24).map(|_| Uuid::new_v4()).collect();
    let value = |i: usize| vec![i as u8; 64 << 10];
    let mut store = Store::open(&db, 0).unwrap();
    for (i, id) in ids.iter().enumerate() {
        store.commit(vec![Write::Version(*id, value(i))]).unwrap();
    }
    // A copy of the database does not fit beside it: the free space is cut to half of
    // what the database takes.
    let used = Command::new("du").args(["-sb"]).arg(&db).output().unwrap();
    let used: u64 = String::from_utf8_lossy(&used.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let free = free_bytes(&mount);
    assert!(
        free > used,
        "the test's tmpfs is too small: {free} free, {used} used"
    );
    std::fs::write(mount.join("filler"), vec![0u8; (free - used / 2) as usize]).unwrap();
    let err = store.rewrite().unwrap_err();
    assert!(matches!(err, Error::DiskFull), "{err}");
    assert!(
        mount.join("db.rewrite").exists(),
        "the rewrite is still wanted"
    );
    assert!(!mount.join("db.new").exists());
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(store.version(*id).unwrap().unwrap(), value(i));
    }
    store
        .commit(vec![Write::Meta("after", b"1".to_vec())])
        .unwrap();
    drop(store);
    // Still no room: the store opens all the same.
    let store = Store::open(&db, 0).unwrap();
    assert_eq!(store.version(ids[0]).unwrap().unwrap(), value(0));
    drop(store);
    // Room again: the first open does the rewrite.
    let status = Command::new("mount")
        .args(["-o", "remount,size=32m"])
        .arg(&mount)
        .status()
        .unwrap();
    assert!(status.success());
    let store = Store::open(&db, 0).unwrap();
    assert!(
        !mount.join("db.rewrite").exists(),
        "the rewrite was not done"
    );
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(store.version(*id).unwrap().unwrap(), value(i));
    }
    assert_eq!(store.meta("after").unwrap().unwrap(), b"1");
    drop(store);
    println!("REWRITE-OK");
}

/// Bytes free on the file system of `at` (`df`).
fn free_bytes(at: &Path) -> u64 {
    let free = Command::new("df")
        .args(["-B1", "--output=avail"])
        .arg(at)
        .output()
        .unwrap();
    String::from_utf8_lossy(&free.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn value_file(root: &Path) {
    use custos_vault::store::{Store, Write};
    let mount = root.join("values");
    mount_tmpfs(&mount, "16m");
    let db = mount.join("db");
    let small: Vec<Uuid> = (0..4).map(|_| Uuid::new_v4()).collect();
    let large: Vec<Uuid> = (0..100).map(|_| Uuid::new_v4()).collect();
    let value = |i: usize| vec![i as u8; 64 << 10];
    let store = Store::open(&db, 0).unwrap();
    for (i, id) in small.iter().enumerate() {
        store.commit(vec![Write::Version(*id, value(i))]).unwrap();
    }
    // 6.4 MB of versions, 2 MB free.
    let filler = mount.join("filler");
    std::fs::write(
        &filler,
        vec![0u8; (free_bytes(&mount) - (2 << 20)) as usize],
    )
    .unwrap();
    let commit = || {
        let writes = large
            .iter()
            .enumerate()
            .map(|(i, id)| Write::Version(*id, value(100 + i)))
            .collect();
        store.commit(writes)
    };
    let err = commit().unwrap_err();
    assert!(matches!(err, Error::DiskFull), "{err}");
    let left: Vec<_> = std::fs::read_dir(db.join("values"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "a partial value file stayed: {left:?}");
    for id in &large {
        assert!(!store.has_version(*id).unwrap());
    }
    for (i, id) in small.iter().enumerate() {
        assert_eq!(store.version(*id).unwrap().unwrap(), value(i));
    }
    store
        .commit(vec![Write::Meta("after", b"1".to_vec())])
        .expect("the store goes on");

    std::fs::remove_file(&filler).unwrap();
    commit().expect("stored once there is room");
    drop(store);
    let store = Store::open(&db, 0).unwrap();
    let files = std::fs::read_dir(db.join("values")).unwrap().count();
    assert_eq!(files, 1);
    for (i, id) in large.iter().enumerate() {
        assert_eq!(store.version(*id).unwrap().unwrap(), value(100 + i));
    }
    assert_eq!(store.meta("after").unwrap().unwrap(), b"1");
    drop(store);
    println!("VALUES-OK");
}

/// Runs `f` on another thread; gives up (and says so) after `secs` seconds.
fn within<T: Send + 'static>(secs: u64, what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(std::time::Duration::from_secs(secs)) {
        Ok(t) => t,
        Err(_) => {
            println!("HANG {what}");
            // Where every thread of the process waits, for whoever reads the failure.
            for t in std::fs::read_dir("/proc/self/task")
                .into_iter()
                .flatten()
                .flatten()
            {
                let read = |f: &str| std::fs::read_to_string(t.path().join(f)).unwrap_or_default();
                println!("THREAD {} {}", read("comm").trim(), read("wchan").trim());
            }
            std::process::exit(3);
        }
    }
}

/// After `hard`: in the same process, a new vault elsewhere opens and works, and the
/// vault that hit the full disk opens again (or says exactly what to do) once space is
/// freed.
fn after_failure(root: &Path) {
    let other = root.join("after-failure");
    within(60, "a new vault after the failure", move || {
        let opts = Options::insecure_for_tests();
        let mut v = Vault::create(&other, &pass(), opts).unwrap();
        let id = new_case(&mut v);
        v.lock().unwrap();
        let v = Vault::unlock(&other, &pass(), opts).unwrap();
        assert!(v.get(id).is_ok());
        v.lock().unwrap();
    });
    println!("SECOND-OK");
    let full = root.join("hard").join("vault");
    let mount = root.join("hard");
    // Free space on the full tmpfs: remount it larger.
    let status = Command::new("mount")
        .args(["-o", "remount,size=64m"])
        .arg(&mount)
        .status()
        .unwrap();
    assert!(status.success());
    within(60, "the failed vault reopened", move || {
        let opts = Options {
            disk_reserve: 0,
            ..Options::insecure_for_tests()
        };
        match Vault::unlock(&full, &pass(), opts) {
            Ok(mut v) => {
                new_case(&mut v);
                v.lock().unwrap();
            }
            Err(e) => {
                let m = e.to_string();
                assert!(
                    matches!(e, Error::StoreFailed) && m.contains("close Custos and open it again"),
                    "unclear error reopening the vault: {m}"
                );
            }
        }
    });
    println!("REOPEN-OK");
}

#[test]
fn a_full_disk_is_a_clear_error_and_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("mounts");
    let copy = tmp.path().join("copy");
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new("unshare")
        .args(["-Urm", "--"])
        .arg(&exe)
        .args([
            "full_disk_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CUSTOS_FULL_DISK_ROOT", &root)
        .env("CUSTOS_FULL_DISK_COPY", &copy)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("unshare (util-linux) runs");
    let read = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let stdout = read(Box::new(child.stdout.take().unwrap()));
    let stderr = read(Box::new(child.stderr.take().unwrap()));
    // A hang fails the test instead of blocking it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    let out_status = status.map_or("killed after 600 s".to_string(), |s| s.to_string());
    assert!(
        status.is_some_and(|s| s.success())
            && stdout.contains("GRACEFUL-OK")
            && stdout.contains("HARD-OK")
            && stdout.contains("EVIDENCE-reserve-OK")
            && stdout.contains("EVIDENCE-no-reserve-OK")
            && stdout.contains("EVIDENCE-export-OK")
            && stdout.contains("IMPORT-reserve-OK")
            && stdout.contains("IMPORT-no-reserve-OK")
            && stdout.contains("REWRITE-OK")
            && stdout.contains("VALUES-OK")
            && stdout.contains("SECOND-OK")
            && stdout.contains("REOPEN-OK"),
        "child failed ({out_status}):\n{stdout}\n{stderr}"
    );
    let acked: Vec<(Uuid, usize)> = stdout
        .lines()
        .filter_map(|l| {
            let mut p = l.split_whitespace();
            (p.next() == Some("ACK")).then(|| {
                (
                    p.next().unwrap().parse().unwrap(),
                    p.next().unwrap().parse().unwrap(),
                )
            })
        })
        .collect();
    assert!(acked.len() > 5);
    // The copy taken after the failed write opens like a vault after a crash.
    let vault = Vault::unlock(&copy, &pass(), Options::insecure_for_tests()).unwrap();
    check_notes(&vault, &acked);
    for l in stdout.lines().filter(|l| l.contains("-OK")) {
        eprintln!("{l}");
    }
}
