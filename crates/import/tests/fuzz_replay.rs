//! Replays the fuzz corpora of the four readers (`fuzz/corpus/<target>`), the real
//! sample exports as seeds, and a few thousand seeded mutations of them through the same
//! entry points as the fuzz targets (`fuzz/src/import.rs`), on stable Rust: no panic,
//! each input within a time bound (docs/fuzzing.md).

#[path = "../../../fuzz/src/import.rs"]
mod import;
#[path = "../../../fuzz/src/replay.rs"]
mod replay;

#[test]
fn readers_survive_their_corpora_and_mutations() {
    let fuzz = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz");
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    replay::run(fuzz, import::TARGETS, &import::seeds(&samples));
}
