//! What the crash and power-cut tests share: the notes their child process writes, and
//! the check that every write it acknowledged survived.

use custos_test_support::{pass, FAST as OPTS};
use std::collections::HashMap;
use std::path::Path;

use custos_model::Record;
use custos_vault::{Filter, Vault};
use uuid::Uuid;

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
