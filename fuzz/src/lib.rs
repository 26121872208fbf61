//! The decoders of untrusted bytes, each behind one entry point `fn(&[u8])` that the
//! fuzz targets (`fuzz_targets/`) and the stable replay tests of each crate
//! (`crates/*/tests/fuzz_replay.rs`, `hub/tests/fuzz_replay.rs`) both call, so the two
//! cannot drift. An entry point panics only on a bug: a decoder must answer bad bytes
//! with an error.
//!
//! Each module is a single file that the replay test of its crate includes with
//! `#[path]`; it uses only that crate and its dependencies.

pub mod hub;
pub mod import;
pub mod model;
pub mod report;
pub mod search;
pub mod sync;
pub mod vault;
pub mod wire;
pub mod wire_seeds;

/// Every target: (name, entry point). The name is the fuzz target and its corpus folder.
pub fn targets() -> Vec<wire::Target> {
    [
        wire::TARGETS,
        model::TARGETS,
        vault::TARGETS,
        search::TARGETS,
        report::TARGETS,
        sync::TARGETS,
        hub::TARGETS,
        import::TARGETS,
    ]
    .concat()
}
