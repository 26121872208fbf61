//! Vaults written by earlier builds open with today's code, and what changed in how they
//! are stored is upgraded at open without losing or rebuilding anything. The vaults are
//! real folders those builds wrote (`tests/fixtures`, see its README), not imitations.

use custos_test_support::{pass, FAST as OPTS};
use std::path::{Path, PathBuf};
use std::process::Command;

use custos_model::Record;
use custos_vault::{Filter, Vault};

/// A copy of a fixture vault in a fresh folder (a test never changes the fixture).
fn copy_of(fixture: &str) -> (tempfile::TempDir, PathBuf) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(fixture);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let status = Command::new("cp")
        .arg("-r")
        .arg(&src)
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success(), "copying {}", src.display());
    (tmp, dir)
}

/// The value under `key` in each of the database's trees that has it.
fn named_values(dir: &Path, key: &str) -> Vec<(String, Vec<u8>)> {
    let db = sled::open(dir.join("db")).unwrap();
    let mut out: Vec<(String, Vec<u8>)> = db
        .tree_names()
        .into_iter()
        .filter_map(|name| {
            let value = db.open_tree(&name).unwrap().get(key).unwrap()?;
            Some((String::from_utf8_lossy(&name).into_owned(), value.to_vec()))
        })
        .collect();
    out.sort();
    out
}

fn titles(v: &Vault) -> Vec<String> {
    let mut t: Vec<String> = v
        .list(&Filter::default())
        .into_iter()
        .map(|item| match v.get(item.record_id).unwrap().into_record() {
            Some(Record::Case(c)) => c.title,
            other => panic!("not a case: {other:?}"),
        })
        .collect();
    t.sort();
    t
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

    assert_eq!(
        named_values(&dir, "index"),
        vec![("snapshots".to_owned(), index[0].1.clone())],
        "the index snapshot moved unchanged, and only one copy is left"
    );
    assert_eq!(
        named_values(&dir, "keycache"),
        vec![("snapshots".to_owned(), cache[0].1.clone())]
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

/// The move is one transaction, so a crash leaves the values in one tree or the other;
/// if an earlier copy is still in `meta` beside a newer one in `snapshots` (the earlier
/// build ran again on a moved vault, say), the newer one is kept and the old one goes.
#[test]
fn a_stale_snapshot_left_in_meta_never_replaces_the_current_one() {
    let (_tmp, dir) = copy_of("vault-before-snapshots-tree");
    Vault::unlock(&dir, &pass(), OPTS).unwrap().lock().unwrap();
    let current = named_values(&dir, "index");
    assert_eq!(current[0].0, "snapshots");
    {
        let db = sled::open(dir.join("db")).unwrap();
        db.open_tree("meta")
            .unwrap()
            .insert("index", &b"an earlier snapshot"[..])
            .unwrap();
        db.flush().unwrap();
    }
    let v = Vault::unlock(&dir, &pass(), OPTS).unwrap();
    assert!(v.damaged().is_empty());
    assert_eq!(titles(&v).len(), 11);
    v.lock().unwrap();
    assert_eq!(named_values(&dir, "index"), current);
}
