//! What one save writes to the disk does not grow with the vault: it is the new version
//! and a few small values, never the record index's snapshot or the key cache (which
//! grow with every record: ~16 MB at 100k records).
//!
//! Measured here (40k records, 6.5 MB of snapshots): 100 saves wrote 7.1 MB, of which one
//! rewrite of the snapshots' page by sled's segment cleaner (it relocates the live pages
//! of a segment it empties; that is sled's, and rare) and ~5.6 KB per save. When the
//! snapshots shared the `meta` tree with the version chain that every save writes,
//! sled rewrote them every ~10 saves: the same 100 saves wrote 65.6 MB.
//!
//! Bytes written are read from `/proc/self/io` (Linux), so this file holds one test: no
//! other test of the same process writes meanwhile.

use custos_test_support::{pass, FAST as OPTS};

use custos_model::{Case, Record};
use custos_vault::{Change, Vault};

/// Bytes this process has handed to `write` and its kin so far.
fn bytes_written() -> u64 {
    let io = std::fs::read_to_string("/proc/self/io").expect("/proc/self/io (Linux)");
    io.lines()
        .find_map(|l| l.strip_prefix("wchar: "))
        .expect("wchar in /proc/self/io")
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn a_save_writes_the_new_version_not_the_snapshots_that_grow_with_the_vault() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let mut v = Vault::create(&dir, &pass(), OPTS).unwrap();
    let summary = "A summary of a case, long enough to be a real one. ".repeat(12);
    v.commit(
        (0..40_000)
            .map(|i| {
                Change::Create(Record::Case(Case {
                    title: format!("case {i}"),
                    summary: summary.clone(),
                    ..Case::default()
                }))
            })
            .collect(),
    )
    .unwrap();
    v.lock().unwrap();

    // The snapshots a lock saved: what a save must not write again.
    let store = custos_vault::store::Store::open(&dir.join("db"), 0).unwrap();
    let snapshots: u64 = ["index", "keycache"]
        .iter()
        .map(|k| store.meta(k).unwrap().map_or(0, |v| v.len() as u64))
        .sum();
    drop(store);
    assert!(snapshots > 5_000_000, "snapshots of {snapshots} bytes");

    let mut v = Vault::unlock(&dir, &pass(), OPTS).unwrap();
    let saves = 100;
    let before = bytes_written();
    for i in 0..saves {
        v.add(Record::Case(Case {
            title: format!("saved alone {i}"),
            summary: summary.clone(),
            ..Case::default()
        }))
        .unwrap();
    }
    let written = bytes_written() - before;
    v.lock().unwrap();
    eprintln!(
        "{saves} saves wrote {written} bytes ({} per save); the snapshots are {snapshots}",
        written / saves
    );
    // At most one rewrite of the snapshots in 100 saves (sled's segment cleaner).
    assert!(
        written < 2 * snapshots,
        "{saves} saves wrote {written} bytes: more than twice the snapshots ({snapshots} \
         bytes) — saves rewrite them"
    );
}
