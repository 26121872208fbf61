//! What the crash and power-cut tests share: when to interrupt their child process, the
//! notes it writes, and the check that every write it acknowledged survived.

use custos_test_support::{pass, FAST as OPTS};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use custos_model::Record;
use custos_vault::{Filter, Vault};
use uuid::Uuid;

/// The next moment to interrupt the child: `min_ms` plus up to `span_ms`, from a
/// xorshift generator whose state is `rng` (the same rounds in every run).
pub fn next_delay(rng: &mut u64, min_ms: u64, span_ms: u64) -> Duration {
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    Duration::from_millis(min_ms + *rng % span_ms)
}

/// The content a note with this sequence number must have.
pub fn text_for(seq: u64) -> String {
    let len = 200 + (seq * 7919 % 3000) as usize;
    let mut s = format!("record {seq} ");
    while s.len() < len {
        s.push_str(&format!("{seq:x}-"));
    }
    s
}

/// Opens the vault in `dir` after the crash or power cut (`what`) and checks it: nothing
/// damaged, every acknowledged note (id → sequence number) there with its content, and
/// every record that survived, acknowledged or not, decrypts whole. Returns the vault.
pub fn check_acked(dir: &Path, acked: &HashMap<Uuid, u64>, what: &str) -> Vault {
    let vault = Vault::unlock(dir, &pass(), OPTS)
        .unwrap_or_else(|e| panic!("the vault does not open after a {what}: {e}"));
    assert!(
        vault.damaged().is_empty(),
        "damaged after a {what}: {:?}",
        vault
            .damaged()
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
    );
    for (id, seq) in acked {
        let v = vault
            .get(*id)
            .unwrap_or_else(|e| panic!("acknowledged record {seq} lost in a {what}: {e}"));
        match v.into_record() {
            Some(Record::Note(n)) => assert_eq!(n.text, text_for(*seq), "record {seq} altered"),
            other => panic!("record {seq} is {other:?}"),
        }
    }
    for item in vault.list(&Filter::default()) {
        vault
            .get(item.record_id)
            .unwrap_or_else(|e| panic!("a record that survived a {what} does not decrypt: {e}"));
    }
    vault
}

/// Takes the child's `ACK <record id> <sequence number>` lines into `acked`, moves `seq`
/// past each, and returns how many there were (other lines are the caller's).
pub fn take_acks(lines: &[String], acked: &mut HashMap<Uuid, u64>, seq: &mut u64) -> usize {
    let mut n = 0;
    for l in lines {
        if let ["ACK", id, s] = l.split_whitespace().collect::<Vec<_>>().as_slice() {
            let s: u64 = s.parse().unwrap();
            acked.insert(id.parse().unwrap(), s);
            *seq = (*seq).max(s + 1);
            n += 1;
        }
    }
    n
}

/// The rounds proved something: most stopped the child while it was writing, and many
/// writes were acknowledged in all.
pub fn assert_enough(mid_write: usize, rounds: usize, acked: usize, stopped: &str) {
    assert!(
        mid_write >= rounds / 2,
        "the child was mostly {stopped} before writing anything ({mid_write} of {rounds})"
    );
    assert!(acked > 100, "too few writes to prove anything: {acked}");
}

/// The id of the vault's first case (the one the child's notes belong to).
pub fn first_case(vault: &Vault) -> Uuid {
    vault
        .list(&Filter {
            kind: Some(custos_model::Kind::Case),
            ..Filter::default()
        })
        .first()
        .map(|c| c.record_id)
        .expect("the vault has a case")
}
