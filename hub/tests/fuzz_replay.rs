//! Replays the fuzz corpora of this crate's decoders (`fuzz/corpus/<target>`) and a
//! few thousand seeded mutations of them through the same entry points as the fuzz
//! targets (`fuzz/src/`), on stable Rust: no panic, each input within a time bound.
//! `CUSTOS_FUZZ_CASES` sets the mutations per target; `CUSTOS_FUZZ_WRITE_SEEDS=1`
//! writes the seeds into the corpora (docs/fuzzing.md).

#[path = "../../fuzz/src/hub.rs"]
#[allow(dead_code)]
mod hub;
#[path = "../../fuzz/src/replay.rs"]
mod replay;
#[path = "../../fuzz/src/wire.rs"]
#[allow(dead_code)]
mod wire;
#[path = "../../fuzz/src/wire_seeds.rs"]
#[allow(dead_code)]
mod wire_seeds;

#[test]
fn request_bodies_survive_their_corpora_and_mutations() {
    let fuzz = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz");
    replay::run(fuzz, hub::TARGETS, &hub::seeds());
}
