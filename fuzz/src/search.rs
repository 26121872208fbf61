//! Entry points of `custos-search`: the plaintext of the search snapshot (after age
//! decryption), restored into a tantivy index held in memory.

use custos_search::SearchIndex;

/// A target: its name (and corpus folder) and its entry point.
pub type Target = (&'static str, fn(&[u8]));

/// The targets of this module.
pub const TARGETS: &[Target] = &[("search_snapshot", search_snapshot)];

/// The snapshot's magic line, a signature, then the body.
const MAGIC: &[u8] = custos_search::SNAPSHOT_MAGIC;

/// `data` as a whole snapshot, and as the body after the magic line and a signature
/// (accepted, as if this vault had signed it: the body is what a signature protects).
///
/// The restore catches tantivy's panics on malformed files; the panic hook is made one
/// that only prints, so that a caught panic is not a crash (libFuzzer's hook aborts on
/// any panic). A panic that escapes still fails the target. Searching a restored index
/// is left out: tantivy panics on some malformed segments only when queried
/// (`fuzz/findings/search_snapshot-query-panic`, docs/fuzzing.md).
pub fn search_snapshot(data: &[u8]) {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| std::panic::set_hook(Box::new(|info| eprintln!("caught: {info}"))));
    let _ = SearchIndex::from_snapshot(data.to_vec().into(), &[0u8; 32], &|_, _| true);
    let mut whole = Vec::with_capacity(MAGIC.len() + 64 + data.len());
    whole.extend_from_slice(MAGIC);
    whole.extend_from_slice(&[0u8; 64]);
    whole.extend_from_slice(data);
    if let Some(index) = SearchIndex::from_snapshot(whole.into(), &[0u8; 32], &|_, _| true) {
        let _ = index.covered().len();
    }
}

/// Valid inputs: the snapshot of an index of two records, whole and as its body.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    use custos_model::Record;
    let mut index = SearchIndex::new().expect("an index");
    let rec = |json: serde_json::Value| Record::from_json(json).expect("a record");
    let case = uuid::Uuid::from_u128(1);
    index
        .apply(
            &[
                (
                    case,
                    uuid::Uuid::from_u128(2),
                    rec(serde_json::json!({"kind": "case", "title": "Raid on the office", "tags": ["a"]})),
                ),
                (
                    uuid::Uuid::from_u128(3),
                    uuid::Uuid::from_u128(4),
                    rec(serde_json::json!({"kind": "note", "case_id": case, "text": "Água e «aspas»"})),
                ),
            ],
            &[],
        )
        .expect("indexed");
    let whole = index
        .to_snapshot(b"epoch", &[0u8; 64])
        .expect("a snapshot")
        .to_vec();
    let body = whole[MAGIC.len() + 64..].to_vec();
    vec![("search_snapshot", whole), ("search_snapshot", body)]
}
