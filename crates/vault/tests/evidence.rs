//! Evidence: import, hashes, the chain of custody, verify, export, and every bad input
//! the issue names — each leaves no partial record, no stray file, and other evidence
//! untouched.

use custos_test_support::{pass, FAST as OPTS};
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use custos_model::{Case, Evidence, Kind, Record};
use custos_vault::store::Store;
use custos_vault::{Action, Attach, BLOBS};
use custos_vault::{Change, Error, Filter, Vault};
use sha2::{Digest, Sha256};
use uuid::Uuid;

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    files: PathBuf,
    vault: Vault,
    case_id: Uuid,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let files = tmp.path().join("files");
    fs::create_dir_all(&files).unwrap();
    let mut vault = Vault::create(&dir, &pass(), OPTS).unwrap();
    let case_id = vault
        .add(Record::Case(Case {
            title: "Raid on a newspaper".into(),
            ..Case::default()
        }))
        .unwrap();
    Fixture {
        _tmp: tmp,
        dir,
        files,
        vault,
        case_id,
    }
}

impl Fixture {
    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.files.join(name);
        fs::write(&p, bytes).unwrap();
        p
    }

    fn attach(&mut self, path: &Path) -> custos_vault::Result<Uuid> {
        self.vault.attach(
            path,
            Attach {
                case_id: self.case_id,
                ..Attach::default()
            },
        )
    }

    fn evidence_count(&self) -> usize {
        self.vault
            .list(&Filter {
                kind: Some(Kind::Evidence),
                ..Filter::default()
            })
            .len()
    }

    /// Files in blobs/ (encrypted files and partial ones).
    fn blob_files(&self) -> Vec<PathBuf> {
        fs::read_dir(self.dir.join(BLOBS))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    }

    fn blob_of(&self, id: Uuid) -> PathBuf {
        let e = self.vault.evidence(id).unwrap();
        self.dir.join(BLOBS).join(format!("{}.age", e.blob_id))
    }
}

/// Content that is not all the same byte, so a shifted or swapped chunk shows.
fn content(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u32)
                .wrapping_mul(2654435761)
                .rotate_left(seed as u32 % 31) as u8
                ^ seed
        })
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn import_verify_export_round_trip_with_hash_metadata_and_custody() {
    let mut f = fixture();
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend(content(200_000, 7));
    let path = f.file("checkpoint photo.png", &png);
    let id = f.attach(&path).unwrap();

    let e = f.vault.evidence(id).unwrap();
    assert_eq!(e.sha256, sha256_hex(&png));
    assert_eq!(e.size, png.len() as u64);
    assert_eq!(e.media_type, "image/png");
    assert_eq!(e.file_name, "checkpoint photo.png");
    assert_eq!(e.case_id, f.case_id);
    assert!(e.file_modified.is_some());
    let custody = f.vault.custody(id).unwrap();
    assert_eq!(custody.len(), 1);
    assert_eq!(custody[0].action, Action::Imported);
    assert_eq!(custody[0].sha256, e.sha256);

    // Verify, then export: the copy is the original, byte for byte, with its reports.
    let v = f.vault.verify_evidence(id).unwrap();
    assert!(v.ok, "{:?}", v.problems);
    assert_eq!(v.sha256_now.as_deref(), Some(e.sha256.as_str()));
    let out = f.files.join("copy.png");
    let exported = f.vault.export_evidence(id, &out).unwrap();
    assert_eq!(fs::read(&out).unwrap(), png);
    assert_eq!(exported.sha256, e.sha256);
    let report: serde_json::Value =
        serde_json::from_slice(&fs::read(&exported.report_json).unwrap()).unwrap();
    assert_eq!(report["evidence"]["sha256"], e.sha256.as_str());
    let actions: Vec<&str> = report["custody"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["imported", "verified", "exported"]);
    let text = fs::read_to_string(&exported.report_text).unwrap();
    assert!(text.contains(&e.sha256) && text.contains("matches"));

    // Viewing streams the content (and can seek), and is logged.
    let (_, mut reader) = f.vault.view_evidence(id).unwrap();
    reader.seek(SeekFrom::Start(100_000)).unwrap();
    let mut part = vec![0u8; 1000];
    reader.read_exact(&mut part).unwrap();
    assert_eq!(part, png[100_000..101_000]);
    drop(reader);

    // Everything survives a lock; the log is chained in order.
    f.vault.lock().unwrap();
    let mut vault = Vault::unlock(&f.dir, &pass(), OPTS).unwrap();
    let custody = vault.custody(id).unwrap();
    let actions: Vec<Action> = custody.iter().map(|c| c.action).collect();
    assert_eq!(
        actions,
        [
            Action::Imported,
            Action::Verified,
            Action::Exported,
            Action::Viewed
        ]
    );
    assert!(custody.iter().enumerate().all(|(i, c)| c.seq == i as u32));
    assert!(custody[0].prev.is_empty() && custody[1..].iter().all(|c| c.prev.len() == 64));
    assert!(vault.verify_evidence(id).unwrap().ok);
    // An export never overwrites.
    assert!(matches!(
        vault.export_evidence(id, &out),
        Err(Error::Evidence(_))
    ));
}

#[test]
fn a_blob_is_a_standard_age_file_for_the_vault_identity() {
    let mut f = fixture();
    let bytes = content(300_000, 3);
    let id = f.attach(&f.file("scan.bin", &bytes)).unwrap();
    let blob = f.blob_of(id);
    f.vault.lock().unwrap();

    let wrapped = fs::read(f.dir.join("identity.age")).unwrap();
    let identity_text = age::decrypt(&age::scrypt::Identity::new(pass()), &wrapped).unwrap();
    let key_line = String::from_utf8(identity_text)
        .unwrap()
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap()
        .to_owned();
    let identity: age::x25519::Identity = key_line.parse().unwrap();
    assert_eq!(
        age::decrypt(&identity, &fs::read(blob).unwrap()).unwrap(),
        bytes
    );
}

#[test]
fn the_original_is_immutable_and_working_copies_link_to_it() {
    let mut f = fixture();
    let original = f.attach(&f.file("photo.jpg", &content(5000, 1))).unwrap();
    let redacted = f
        .vault
        .attach(
            &f.file("photo-redacted.jpg", &content(4000, 2)),
            Attach {
                case_id: f.case_id,
                description: "faces blurred".into(),
                derived_from: Some(original),
                ..Attach::default()
            },
        )
        .unwrap();
    assert_eq!(
        f.vault.evidence(redacted).unwrap().derived_from,
        Some(original)
    );

    // Description and links may change; the hash, size, file and import may not.
    let mut e = f.vault.evidence(original).unwrap();
    e.description = "taken at the checkpoint".into();
    f.vault
        .update(original, Record::Evidence(e.clone()))
        .unwrap();
    let mut forged = e.clone();
    forged.sha256 = "a".repeat(64);
    let err = f
        .vault
        .update(original, Record::Evidence(forged))
        .unwrap_err();
    assert!(err.to_string().contains("fixed"), "{err}");
    let mut moved = e;
    moved.size += 1;
    assert!(f.vault.update(original, Record::Evidence(moved)).is_err());
    // Evidence cannot be made up without its file.
    let fake = f.vault.evidence(original).unwrap();
    assert!(matches!(
        f.vault.commit(vec![Change::Create(Record::Evidence(fake))]),
        Err(Error::Invalid(_))
    ));
    // A working copy must come from evidence.
    let wrong = f.vault.attach(
        &f.file("x.bin", b"x"),
        Attach {
            case_id: f.case_id,
            derived_from: Some(f.case_id),
            ..Attach::default()
        },
    );
    assert!(matches!(wrong, Err(Error::Invalid(_))), "{wrong:?}");
    assert_eq!(f.evidence_count(), 2);
}

#[test]
fn empty_missing_and_non_regular_files_are_refused_and_leave_nothing() {
    let mut f = fixture();
    let empty = f.file("empty.jpg", b"");
    let err = f.attach(&empty).unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");
    let gone = f.files.join("gone.jpg");
    let missing = f.attach(&gone).unwrap_err();
    assert!(matches!(missing, Error::Io { .. }), "{missing:?}");
    assert!(missing.to_string().contains("gone.jpg"));
    let folder = f.files.clone();
    let dir = f.attach(&folder).unwrap_err();
    assert!(dir.to_string().contains("not a regular file"), "{dir}");
    // A case that does not exist fails before any work.
    let err = f
        .vault
        .attach(
            &f.file("ok.bin", b"data"),
            Attach {
                case_id: Uuid::new_v4(),
                ..Attach::default()
            },
        )
        .unwrap_err();
    assert!(matches!(err, Error::Invalid(_)), "{err:?}");
    assert_eq!(f.evidence_count(), 0);
    assert!(f.blob_files().is_empty(), "{:?}", f.blob_files());
}

/// Runs an import of a large file while `meddle` acts on the file once the import has
/// started writing (its partial blob exists).
fn import_while(
    f: &mut Fixture,
    meddle: impl FnOnce(&Path) + Send + 'static,
) -> custos_vault::Result<Uuid> {
    let path = f.file("video.mp4", &content(48 << 20, 9));
    let blobs = f.dir.join(BLOBS);
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (path, done) = (path.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                let started = fs::read_dir(&blobs).is_ok_and(|d| {
                    d.flatten()
                        .any(|e| e.file_name().to_string_lossy().ends_with(".partial"))
                });
                if started {
                    meddle(&path);
                    return true;
                }
                std::thread::yield_now();
            }
            false
        })
    };
    let result = f.attach(&path);
    done.store(true, Ordering::SeqCst);
    assert!(
        watcher.join().unwrap(),
        "the import ended before the file was touched"
    );
    result
}

#[test]
fn a_file_that_changes_during_import_is_refused() {
    let mut f = fixture();
    let kept = f.attach(&f.file("kept.bin", &content(1000, 4))).unwrap();
    let err = import_while(&mut f, |p| {
        use std::io::Write;
        let mut file = fs::OpenOptions::new().append(true).open(p).unwrap();
        file.write_all(b"appended while reading").unwrap();
    })
    .unwrap_err();
    assert!(
        err.to_string().contains("changed while it was imported"),
        "{err}"
    );
    assert_eq!(f.evidence_count(), 1);
    assert_eq!(f.blob_files().len(), 1, "a partial blob was left");
    assert!(f.vault.verify_evidence(kept).unwrap().ok);
}

#[test]
fn a_file_that_vanishes_during_import_is_refused() {
    let mut f = fixture();
    let err = import_while(&mut f, |p| fs::remove_file(p).unwrap()).unwrap_err();
    assert!(err.to_string().contains("moved or removed"), "{err}");
    assert_eq!(f.evidence_count(), 0);
    assert!(f.blob_files().is_empty());
}

#[test]
fn a_truncated_or_altered_blob_is_named_by_verify_and_refused_by_export() {
    let mut f = fixture();
    let good = f.attach(&f.file("good.bin", &content(100_000, 5))).unwrap();
    let cut = f.attach(&f.file("cut.bin", &content(200_000, 6))).unwrap();
    let flipped = f
        .attach(&f.file("flipped.bin", &content(200_000, 8)))
        .unwrap();

    let blob = f.blob_of(cut);
    let bytes = fs::read(&blob).unwrap();
    fs::write(&blob, &bytes[..bytes.len() - 70_000]).unwrap();
    let blob = f.blob_of(flipped);
    let mut bytes = fs::read(&blob).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    fs::write(&blob, &bytes).unwrap();

    for id in [cut, flipped] {
        let v = f.vault.verify_evidence(id).unwrap();
        assert!(!v.ok);
        assert!(
            v.problems
                .iter()
                .any(|p| p.contains("altered, truncated or replaced")),
            "{:?}",
            v.problems
        );
        assert!(
            v.problems.iter().any(|p| p.contains("cannot be decrypted")),
            "{:?}",
            v.problems
        );
        let out = f.files.join(format!("{id}.out"));
        assert!(matches!(
            f.vault.export_evidence(id, &out),
            Err(Error::Evidence(_))
        ));
        assert!(!out.exists(), "a partial export was left");
    }
    // A missing blob too.
    let missing = f.attach(&f.file("missing.bin", &content(1000, 9))).unwrap();
    fs::remove_file(f.blob_of(missing)).unwrap();
    let v = f.vault.verify_evidence(missing).unwrap();
    assert!(
        v.problems.iter().any(|p| p.contains("is missing")),
        "{:?}",
        v.problems
    );
    // The other evidence is not affected.
    assert!(f.vault.verify_evidence(good).unwrap().ok);
}

#[test]
fn a_changed_removed_or_reordered_custody_entry_is_reported_precisely() {
    let mut f = fixture();
    let id = f.attach(&f.file("doc.pdf", b"%PDF-1.4 minimal")).unwrap();
    for _ in 0..3 {
        f.vault
            .log_custody(id, Action::Synced, "to the hub")
            .unwrap();
    }
    let other = f.attach(&f.file("other.pdf", b"%PDF-1.4 other")).unwrap();
    f.vault.lock().unwrap();
    let entries = |store: &Store| store.custody(id).unwrap();

    // A flipped byte in entry 2.
    let store = Store::open(&f.dir.join("db"), 0).unwrap();
    let mut e2 = entries(&store)[2].1.clone();
    let n = e2.len();
    e2[n - 20] ^= 0x40;
    store.tamper_custody(id, 2, Some(e2)).unwrap();
    drop(store);
    let problems = |dir: &Path| {
        let mut v = Vault::unlock(dir, &pass(), OPTS).unwrap();
        let r = v.verify_evidence(id).unwrap();
        assert!(v.custody(id).is_err(), "a damaged log reads as fine");
        v.lock().unwrap();
        r.problems
    };
    let p = problems(&f.dir);
    assert!(
        p.iter()
            .any(|p| p.starts_with("custody entry 2: it cannot be decrypted")),
        "{p:?}"
    );

    // Entry 1 removed (the verify above appended entry 4).
    let store = Store::open(&f.dir.join("db"), 0).unwrap();
    let original_2 = entries(&store)[3].1.clone(); // keep entry 3 for the swap below
    store.tamper_custody(id, 1, None).unwrap();
    drop(store);
    let p = problems(&f.dir);
    assert!(
        p.iter()
            .any(|p| p == "custody entry 1 is missing (the next stored entry is number 2)"),
        "{p:?}"
    );

    // Entries swapped: entry 3's bytes stored as entry 1.
    let store = Store::open(&f.dir.join("db"), 0).unwrap();
    store.tamper_custody(id, 1, Some(original_2)).unwrap();
    drop(store);
    let p = problems(&f.dir);
    assert!(
        p.iter()
            .any(|p| p
                == "custody entry stored as number 1 says it is number 3: entries were reordered"),
        "{p:?}"
    );
    // An entry of another item moved into this log.
    let store = Store::open(&f.dir.join("db"), 0).unwrap();
    let foreign = store.custody(other).unwrap()[0].1.clone();
    store.tamper_custody(id, 1, Some(foreign)).unwrap();
    drop(store);
    let p = problems(&f.dir);
    assert!(
        p.iter()
            .any(|p| p.contains("belongs to another evidence item")),
        "{p:?}"
    );

    // The newest entry damaged: verify still reports (and says it could not log).
    let store = Store::open(&f.dir.join("db"), 0).unwrap();
    let last = store.custody(id).unwrap().last().unwrap().0;
    store
        .tamper_custody(id, last, Some(b"not an entry".to_vec()))
        .unwrap();
    drop(store);
    let mut v = Vault::unlock(&f.dir, &pass(), OPTS).unwrap();
    let r = v.verify_evidence(id).unwrap();
    assert!(!r.ok);
    assert!(
        r.problems
            .iter()
            .any(|p| p.starts_with(&format!("custody entry {last}: ")))
            && r.problems
                .iter()
                .any(|p| p.contains("could not be recorded")),
        "{:?}",
        r.problems
    );
    assert!(
        v.verify_evidence(other).unwrap().ok,
        "the other item was affected"
    );
    v.lock().unwrap();
}

#[test]
fn an_import_cut_short_leaves_nothing_after_the_next_unlock() {
    let mut f = fixture();
    let kept = f.attach(&f.file("kept.bin", &content(1000, 2))).unwrap();
    let kept_blob = f.blob_of(kept);
    f.vault.lock().unwrap();
    // What a crash can leave: a partial file, and an encrypted file whose record was
    // never written.
    let blobs = f.dir.join(BLOBS);
    fs::write(
        blobs.join(format!(".{}.partial", Uuid::new_v4())),
        b"partial",
    )
    .unwrap();
    fs::copy(&kept_blob, blobs.join(format!("{}.age", Uuid::new_v4()))).unwrap();
    let mut vault = Vault::unlock(&f.dir, &pass(), OPTS).unwrap();
    let left: Vec<_> = fs::read_dir(&blobs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(left, [kept_blob]);
    assert!(vault.verify_evidence(kept).unwrap().ok);
    vault.lock().unwrap();
}

#[test]
fn evidence_records_hold_no_plaintext_on_disk() {
    let mut f = fixture();
    let marker = format!("EVIDENCE-CANARY-{}", Uuid::new_v4());
    let mut bytes = marker.as_bytes().to_vec();
    bytes.extend(content(100_000, 1));
    bytes.extend(marker.as_bytes());
    let path = f.file(&format!("{marker}.txt"), &bytes);
    let id = f
        .vault
        .attach(
            &path,
            Attach {
                case_id: f.case_id,
                description: marker.clone(),
                ..Attach::default()
            },
        )
        .unwrap();
    f.vault.log_custody(id, Action::Viewed, &marker).unwrap();
    f.vault.lock().unwrap();
    let mut stack = vec![f.dir.clone()];
    let mut scanned = 0;
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let data = fs::read(&p).unwrap();
            scanned += 1;
            assert!(
                !data.windows(marker.len()).any(|w| w == marker.as_bytes()),
                "plaintext in {}",
                p.display()
            );
        }
    }
    assert!(scanned >= 5);
    // And the record is what the list shows.
    let vault = Vault::unlock(&f.dir, &pass(), OPTS).unwrap();
    let e: Evidence = vault.evidence(id).unwrap();
    assert_eq!(e.description, marker);
    vault.lock().unwrap();
}
