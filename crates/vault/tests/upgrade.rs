//! Vaults written by earlier builds open with today's code, and what changed in how they
//! are stored is upgraded at open without losing or rebuilding anything. The vaults are
//! real folders those builds wrote (`tests/fixtures`, see its README), not imitations.

use custos_test_support::{pass, with_sled, FAST as OPTS};
use std::path::{Path, PathBuf};
use std::process::Command;

use custos_model::Record;
use custos_vault::{Error, Filter, Vault};

/// A copy of a fixture vault in a fresh folder (a test never changes the fixture).
fn copy_of(fixture: &str) -> (tempfile::TempDir, PathBuf) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(fixture);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    copy_dir(&src, &dir);
    (tmp, dir)
}

/// `cp -r from to`.
fn copy_dir(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-r")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success(), "copying {}", from.display());
}

/// The value under `key` in each of the database's trees that has it.
fn named_values(dir: &Path, key: &str) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = with_db(dir, |db| {
        db.tree_names()
            .into_iter()
            .filter_map(|name| {
                let value = db.open_tree(&name).unwrap().get(key).unwrap()?;
                Some((String::from_utf8_lossy(&name).into_owned(), value.to_vec()))
            })
            .collect()
    });
    out.sort();
    out
}

/// [`with_sled`] on the vault's database.
fn with_db<T>(dir: &Path, f: impl FnOnce(&sled::Db) -> T) -> T {
    with_sled(&dir.join("db"), f)
}

/// The journal (format 2: its line and a salt, 32 bytes) holds a record: it is longer
/// than its header.
fn holds_records(journal: &Path) -> bool {
    std::fs::read(journal).unwrap().len() > 32
}

/// The journal is in format 2 and holds nothing: its header only.
fn is_empty_journal(journal: &Path) -> bool {
    let bytes = std::fs::read(journal).unwrap();
    bytes.starts_with(b"custos-journal 2") && bytes.len() == 32
}

fn title_of_record(v: &Vault, id: uuid::Uuid) -> String {
    match v.get(id).unwrap().into_record() {
        Some(Record::Case(c)) => c.title,
        other => panic!("not a case: {other:?}"),
    }
}

fn titles(v: &Vault) -> Vec<String> {
    let mut t: Vec<String> = v
        .list(&Filter::default())
        .into_iter()
        .map(|item| title_of_record(v, item.record_id))
        .collect();
    t.sort();
    t
}

/// The titles a vault holds that the fixtures' program wrote with one case saved alone
/// (`vault-before-journal`, `vault-before-values`: see the fixtures' README), sorted.
fn titles_of_the_program_with_one_saved_alone() -> Vec<String> {
    let mut expected: Vec<String> = (1..11).map(|i| format!("Fixture case {i}")).collect();
    expected.push("Fixture case 0, edited".into());
    expected.push("Fixture case 12, saved alone".into());
    expected.sort();
    expected
}

/// Until 5530514 the record index's snapshot and the key cache lived in the `meta` tree,
/// beside the version chain that every commit rewrites; now they have a tree of their
/// own. The earlier vault opens with every record and its history, and its two
/// snapshots are moved as they are — the very bytes, so the index was taken from its
/// snapshot, not rebuilt from every version.
#[test]
fn a_vault_with_its_snapshots_in_meta_opens_and_they_move_to_their_own_tree() {
    let (_tmp, dir) = copy_of("vault-before-snapshots-tree");
    let index = named_values(&dir, "index");
    let cache = named_values(&dir, "keycache");
    assert_eq!(
        index.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
        ["meta"],
        "the fixture keeps its index snapshot in meta"
    );
    assert_eq!(cache.len(), 1);
    assert!(
        named_values(&dir, "store_layout").is_empty(),
        "layout 1 has no number"
    );
    // The database moves them as it opens: the very bytes, one copy.
    drop(custos_vault::store::Store::open(&dir.join("db"), 0).expect("the database opens"));
    custos_vault::store::wait_released(&dir.join("db"));
    assert_eq!(
        named_values(&dir, "index"),
        vec![("snapshots".to_owned(), index[0].1.clone())],
        "the index snapshot moved unchanged, and only one copy is left"
    );
    assert_eq!(
        named_values(&dir, "keycache"),
        vec![("snapshots".to_owned(), cache[0].1.clone())]
    );

    let v = Vault::unlock(&dir, &pass(), OPTS).expect("the earlier vault opens");
    assert!(v.damaged().is_empty(), "{:?}", v.damaged());
    let mut expected: Vec<String> = (1..11).map(|i| format!("Fixture case {i}")).collect();
    expected.push("Fixture case 0, edited".into());
    expected.sort();
    assert_eq!(titles(&v), expected);
    let edited = v
        .list(&Filter::default())
        .into_iter()
        .find(|i| i.summary.title == "Fixture case 0, edited")
        .unwrap();
    assert_eq!(v.history(edited.record_id).unwrap().len(), 2);
    let deleted: Vec<_> = v
        .list(&Filter {
            include_deleted: true,
            ..Filter::default()
        })
        .into_iter()
        .filter(|i| i.deleted)
        .collect();
    assert_eq!(deleted.len(), 1, "the deleted case is still deleted");
    v.lock().unwrap();

    // Written again at lock (they were signed the earlier way, see
    // `snapshots_signed_over_their_body_are_read_and_written_again_signed_over_their_key`),
    // still one copy each, in `snapshots`.
    for key in ["index", "keycache"] {
        let now = named_values(&dir, key);
        assert_eq!(now.len(), 1, "{key}");
        assert_eq!(now[0].0, "snapshots", "{key}");
    }
    assert_eq!(
        named_values(&dir, "store_layout"),
        vec![(
            "meta".to_owned(),
            custos_vault::store::LAYOUT.to_be_bytes().to_vec()
        )]
    );
    // And the upgraded vault goes on: a write, a lock, an unlock.
    let mut v = Vault::unlock(&dir, &pass(), OPTS).unwrap();
    v.add(Record::Case(custos_model::Case {
        title: "After the upgrade".into(),
        ..custos_model::Case::default()
    }))
    .unwrap();
    v.lock().unwrap();
    let v = Vault::unlock(&dir, &pass(), OPTS).unwrap();
    assert_eq!(titles(&v).len(), 12);
    assert!(v.damaged().is_empty());
}

/// After the move, only an earlier build writes the index snapshot to `meta` (the app
/// downgraded, then upgraded again): that is the later write, so it replaces the moved
/// one. Here it is not a snapshot at all — the vault opens all the same, rebuilds its
/// index from the versions, and keeps one valid snapshot in `snapshots`.
#[test]
fn a_snapshot_written_to_meta_after_the_move_replaces_the_moved_one_and_is_checked() {
    let (_tmp, dir) = copy_of("vault-before-snapshots-tree");
    Vault::unlock(&dir, &pass(), OPTS).unwrap().lock().unwrap();
    let moved = named_values(&dir, "index");
    assert_eq!(moved[0].0, "snapshots");
    with_db(&dir, |db| {
        db.open_tree("meta")
            .unwrap()
            .insert("index", &b"written by an earlier build"[..])
            .unwrap();
    });
    let v = Vault::unlock(&dir, &pass(), OPTS).unwrap();
    assert!(v.damaged().is_empty());
    assert_eq!(titles(&v).len(), 11);
    v.lock().unwrap();
    let now = named_values(&dir, "index");
    assert_eq!(now.len(), 1, "one copy, in one tree: {now:?}");
    assert_eq!(now[0].0, "snapshots");
    assert_ne!(
        now[0].1, b"written by an earlier build",
        "the bad one was not kept"
    );
    let v = Vault::unlock(&dir, &pass(), OPTS).unwrap();
    assert_eq!(titles(&v).len(), 11);
    v.lock().unwrap();
}

/// A database laid out by a newer build is refused with a message to update, and left
/// as it is.
#[test]
fn a_database_laid_out_by_a_newer_build_is_refused_and_left_alone() {
    let (_tmp, dir) = copy_of("vault-before-snapshots-tree");
    Vault::unlock(&dir, &pass(), OPTS).unwrap().lock().unwrap();
    let newer = (custos_vault::store::LAYOUT + 1).to_be_bytes().to_vec();
    with_db(&dir, |db| {
        db.open_tree("meta")
            .unwrap()
            .insert("store_layout", newer.clone())
            .unwrap();
    });
    let index = named_values(&dir, "index");
    let err = Vault::unlock(&dir, &pass(), OPTS).unwrap_err();
    assert!(
        matches!(err, Error::NewerFormat(n) if n == custos_vault::store::LAYOUT + 1),
        "{err:?}"
    );
    assert!(err.to_string().contains("update the app"), "{err}");
    assert_eq!(
        named_values(&dir, "store_layout"),
        vec![("meta".to_owned(), newer)]
    );
    assert_eq!(named_values(&dir, "index"), index);
}

/// A layout number that is not one (damaged on disk) is a clear error, not a panic and
/// not a guess: the database is left as it is.
#[test]
fn a_damaged_layout_number_is_a_clear_error() {
    let (_tmp, dir) = copy_of("vault-before-snapshots-tree");
    Vault::unlock(&dir, &pass(), OPTS).unwrap().lock().unwrap();
    with_db(&dir, |db| {
        db.open_tree("meta")
            .unwrap()
            .insert("store_layout", &b"\x00\x02"[..])
            .unwrap();
    });
    let index = named_values(&dir, "index");
    let err = Vault::unlock(&dir, &pass(), OPTS).unwrap_err();
    assert!(matches!(err, Error::Database(_)), "{err:?}");
    assert!(err.to_string().contains("layout"), "{err}");
    assert_eq!(named_values(&dir, "index"), index);
}

/// A database the store refuses to open is closed before the error is returned, with
/// sled's threads done with it: opening it again at once (the user tries again, or opens
/// it with another tool) finds it free instead of "in use elsewhere".
#[test]
fn a_refused_database_is_free_again_at_once() {
    let (_tmp, dir) = copy_of("vault-before-snapshots-tree");
    Vault::unlock(&dir, &pass(), OPTS).unwrap().lock().unwrap();
    let newer = (custos_vault::store::LAYOUT + 1).to_be_bytes().to_vec();
    let db_dir = dir.join("db");
    for round in 0..200u32 {
        // Each round the store finds a log to replay, as after any write.
        with_db(&dir, |db| {
            let meta = db.open_tree("meta").unwrap();
            meta.insert("store_layout", newer.clone()).unwrap();
            meta.insert("round", &round.to_be_bytes()).unwrap();
        });
        let err = custos_vault::store::Store::open(&db_dir, 0).err();
        assert!(matches!(err, Some(Error::NewerFormat(_))), "{err:?}");
        // Opened at once, not waiting for the database to be free.
        let db = sled::open(&db_dir).unwrap_or_else(|e| panic!("round {round}: {e}"));
        drop(db);
        custos_vault::store::wait_released(&db_dir);
    }
}

/// Until dfa459b (layout 2) every commit went to sled directly; now small ones go
/// through a write journal first (`db/journal`), and the layout says so, so that a build
/// of before — which would not replay the journal — refuses the database. A vault that
/// build wrote opens with every record, gets an empty journal and layout 3, and its
/// next saves go through the journal and survive a reopen.
#[test]
fn a_vault_of_before_the_journal_opens_and_takes_one() {
    let (_tmp, dir) = copy_of("vault-before-journal");
    let journal = dir.join("db").join("journal");
    assert_eq!(
        named_values(&dir, "store_layout"),
        vec![("meta".to_owned(), 2u32.to_be_bytes().to_vec())]
    );
    assert!(!journal.exists());
    let index = named_values(&dir, "index");

    let mut v = Vault::unlock(&dir, &pass(), OPTS).expect("the earlier vault opens");
    assert!(v.damaged().is_empty(), "{:?}", v.damaged());
    let expected = titles_of_the_program_with_one_saved_alone();
    assert_eq!(titles(&v), expected);
    v.add(Record::Case(custos_model::Case {
        title: "After the upgrade".into(),
        ..custos_model::Case::default()
    }))
    .unwrap();
    assert!(holds_records(&journal), "the save went through the journal");
    v.lock().unwrap();
    assert!(
        is_empty_journal(&journal),
        "a closed vault's journal is empty"
    );
    assert_eq!(
        named_values(&dir, "store_layout"),
        vec![(
            "meta".to_owned(),
            custos_vault::store::LAYOUT.to_be_bytes().to_vec()
        )]
    );
    assert_ne!(named_values(&dir, "index"), index, "saved again at lock");
    let v = Vault::unlock(&dir, &pass(), OPTS).unwrap();
    assert_eq!(titles(&v).len(), 13);
    assert!(v.damaged().is_empty());
}

/// Until f2bc4da the journal (format 1) had no salt; now a salt in its header ends each
/// generation (format 2), so that a crash while it is emptied cannot leave a record
/// that an open takes for damage. The fixture is a vault that build left after a crash: three cases saved
/// one by one after it was unlocked, acknowledged in its journal only. Today's code
/// replays them, replaces the journal with format 2 as it opens, and the next saves go
/// through the new one and survive a crash and a reopen.
#[test]
fn a_vault_whose_journal_is_of_format_1_replays_it_and_takes_the_new_one() {
    let (_tmp, dir) = copy_of("vault-journal-1");
    let journal = dir.join("db").join("journal");
    let old = std::fs::read(&journal).unwrap();
    assert!(old.starts_with(b"custos-journal 1"));
    assert!(
        old.len() > 16 + 3 * 44,
        "the fixture's journal holds its three saves"
    );

    let mut v = Vault::unlock(&dir, &pass(), OPTS).expect("the earlier vault opens");
    assert!(v.damaged().is_empty(), "{:?}", v.damaged());
    let mut expected: Vec<String> = (1..11).map(|i| format!("Fixture case {i}")).collect();
    expected.push("Fixture case 0, edited".into());
    expected.extend((12..15).map(|i| format!("Fixture case {i}, saved alone")));
    expected.sort();
    assert_eq!(titles(&v), expected, "the journal's saves were replayed");
    assert!(is_empty_journal(&journal), "replayed, then replaced");

    v.add(Record::Case(custos_model::Case {
        title: "After the upgrade".into(),
        ..custos_model::Case::default()
    }))
    .unwrap();
    assert!(holds_records(&journal), "the save went through the journal");
    // A crash: the vault is not closed, the save is in the journal only.
    std::mem::forget(v);
    let held = std::fs::read(&journal).unwrap();
    let copy = dir.with_file_name("after-crash");
    copy_dir(&dir, &copy);
    let _ = std::fs::remove_file(copy.join("vault.lock"));
    assert_eq!(std::fs::read(copy.join("db/journal")).unwrap(), held);
    let v = Vault::unlock(&copy, &pass(), OPTS).expect("opens after the crash");
    expected.push("After the upgrade".into());
    expected.sort();
    assert_eq!(titles(&v), expected);
    v.lock().unwrap();
    assert!(is_empty_journal(&copy.join("db/journal")));
    let v = Vault::unlock(&copy, &pass(), OPTS).unwrap();
    assert_eq!(titles(&v), expected);
    assert!(v.damaged().is_empty());
}

/// Until a2996b9 every version's ciphertext was a value in sled (layout 3); a large
/// commit now puts its ciphertexts in a value file and sled a pointer to each (layout 4,
/// which a build of before refuses: see
/// `a_database_laid_out_by_a_newer_build_is_refused_and_left_alone`). A vault of before
/// opens and reads as it did, takes a large commit into a value file, and reads both
/// kinds of value after a lock.
#[test]
fn a_vault_of_before_value_files_opens_and_takes_one() {
    let (_tmp, dir) = copy_of("vault-before-values");
    assert_eq!(
        named_values(&dir, "store_layout"),
        vec![("meta".to_owned(), 3u32.to_be_bytes().to_vec())]
    );
    let values = dir.join("db").join("values");
    assert!(!values.exists());

    let mut v = Vault::unlock(&dir, &pass(), OPTS).expect("the earlier vault opens");
    assert!(v.damaged().is_empty(), "{:?}", v.damaged());
    let mut expected = titles_of_the_program_with_one_saved_alone();
    assert_eq!(titles(&v), expected);
    let large = (0..70)
        .map(|i| {
            custos_vault::Change::Create(Record::Case(custos_model::Case {
                title: format!("Imported {i:02}"),
                summary: format!("Testimony {i}. ").repeat(1200),
                ..custos_model::Case::default()
            }))
        })
        .collect();
    v.commit(large).unwrap();
    assert_eq!(
        std::fs::read_dir(&values).unwrap().count(),
        1,
        "the large commit's ciphertexts are in a value file"
    );
    v.lock().unwrap();
    assert_eq!(
        named_values(&dir, "store_layout"),
        vec![("meta".to_owned(), 4u32.to_be_bytes().to_vec())]
    );

    let v = Vault::unlock(&dir, &pass(), OPTS).unwrap();
    assert!(v.damaged().is_empty(), "{:?}", v.damaged());
    expected.extend((0..70).map(|i| format!("Imported {i:02}")));
    expected.sort();
    assert_eq!(titles(&v), expected);
}

/// The first line of the plaintext of the named value `key` (`index`, `keycache`),
/// decrypted with the vault's identity.
fn snapshot_magic(
    dir: &Path,
    identity: &custos_vault::crypto::VaultIdentity,
    key: &str,
) -> Vec<u8> {
    let store = custos_vault::store::Store::open(&dir.join("db"), 0).unwrap();
    let ct = store.meta(key).unwrap().expect("the snapshot is stored");
    drop(store);
    custos_vault::store::wait_released(&dir.join("db"));
    let plain = custos_vault::crypto::open_bytes(identity, &ct).unwrap();
    let end = plain.iter().position(|b| *b == b'\n').unwrap() + 1;
    plain[..end].to_vec()
}

/// Until 0d38b43 the record index's snapshot and the key cache were signed over a
/// SHA-256 of their whole plaintext (format 1); now over a digest of their file's own
/// key (format 2). The earlier vault opens with its index taken from the format-1
/// snapshot, not rebuilt (a version damaged after the fixture was written is not read,
/// so not reported), and both are written again in format 2 at lock, then taken as they
/// are at the next unlock (not written again).
#[test]
fn snapshots_signed_over_their_body_are_read_and_written_again_signed_over_their_key() {
    // The identity and a version, from another copy (a vault saves its snapshots when it
    // is locked or dropped: this copy's are then in the new format).
    let (identity, damaged) = {
        let (_tmp, other) = copy_of("vault-before-key-signed-snapshots");
        let v = Vault::unlock(&other, &pass(), OPTS).expect("the earlier vault opens");
        let mut expected: Vec<String> = (1..11).map(|i| format!("Case {i:02}")).collect();
        expected.push("Case 00 (edited)".into());
        expected.sort();
        assert_eq!(titles(&v), expected);
        let item = v
            .list(&Filter::default())
            .into_iter()
            .find(|i| i.summary.title == "Case 05")
            .unwrap();
        (
            v.identity().clone(),
            v.get(item.record_id).unwrap().version_id,
        )
    };
    let (_tmp, dir) = copy_of("vault-before-key-signed-snapshots");
    for key in ["index", "keycache"] {
        assert_eq!(
            snapshot_magic(&dir, &identity, key),
            b"custos-signed 1\n",
            "{key}"
        );
    }
    // A flipped byte in one version, in the database's own tree (the store's version
    // epoch unchanged, so the snapshot stays current): only an index rebuilt from every
    // version reads it; and only its format makes the snapshot written again at lock.
    with_db(&dir, |db| {
        let tree = db.open_tree("versions").unwrap();
        let mut ct = tree.get(damaged.as_bytes()).unwrap().unwrap().to_vec();
        assert!(ct.starts_with(b"age-encryption.org/v1\n"), "stored inline");
        let n = ct.len();
        ct[n - 20] ^= 0x01;
        tree.insert(damaged.as_bytes(), ct).unwrap();
    });

    let cache_as_stored = named_values(&dir, "keycache").remove(0).1;
    let v = Vault::unlock(&dir, &pass(), OPTS).unwrap();
    assert!(
        v.damaged().is_empty(),
        "the index was rebuilt from the versions: {:?}",
        v.damaged()
    );
    assert_eq!(v.list(&Filter::default()).len(), 11);
    v.lock().unwrap();
    assert_eq!(
        snapshot_magic(&dir, &identity, "index"),
        b"custos-signed 2\n"
    );
    // The key cache is read at the first read of a record: none in that session, so it
    // is left as it was stored.
    assert_eq!(named_values(&dir, "keycache").remove(0).1, cache_as_stored);

    let v = Vault::unlock(&dir, &pass(), OPTS).unwrap();
    let item = v
        .list(&Filter::default())
        .into_iter()
        .find(|i| i.summary.title == "Case 03")
        .unwrap();
    assert_eq!(title_of_record(&v, item.record_id), "Case 03");
    v.lock().unwrap();
    let written: Vec<Vec<u8>> = ["index", "keycache"]
        .iter()
        .map(|key| {
            assert_eq!(
                snapshot_magic(&dir, &identity, key),
                b"custos-signed 2\n",
                "{key}"
            );
            named_values(&dir, key).remove(0).1
        })
        .collect();

    let v = Vault::unlock(&dir, &pass(), OPTS).unwrap();
    assert!(v.damaged().is_empty(), "{:?}", v.damaged());
    assert_eq!(v.list(&Filter::default()).len(), 11);
    v.lock().unwrap();
    for (key, before) in ["index", "keycache"].iter().zip(&written) {
        assert_eq!(
            &named_values(&dir, key).remove(0).1,
            before,
            "{key} written again"
        );
    }
}
