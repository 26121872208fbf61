//! Builds the release keys into the binary: every `release/keys/*.pub` of the repository,
//! and, for a test package only, the key file named by `CUSTOS_RELEASE_TEST_KEY`
//! (`scripts/package --test-key` sets it; a release build never does). A key file that
//! does not parse fails the build, so a build never ships a key it cannot use.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let dir = manifest.join("../../release/keys");
    println!("cargo:rerun-if-changed={}", dir.display());
    println!("cargo:rerun-if-env-changed=CUSTOS_RELEASE_TEST_KEY");

    let mut keys: Vec<(String, String, bool)> = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "pub"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    for path in files {
        println!("cargo:rerun-if-changed={}", path.display());
        keys.push((name(&path), read(&path), false));
    }
    if let Some(test) = std::env::var_os("CUSTOS_RELEASE_TEST_KEY").filter(|v| !v.is_empty()) {
        let path = PathBuf::from(test);
        println!("cargo:rerun-if-changed={}", path.display());
        keys.push((name(&path), read(&path), true));
    }

    let mut out = String::from("pub(crate) const BUILT_IN: &[BuiltIn] = &[\n");
    for (name, text, test) in &keys {
        writeln!(
            out,
            "    BuiltIn {{ name: {name:?}, text: {text:?}, test_only: {test} }},"
        )
        .expect("writing to a String");
    }
    out.push_str("];\n");
    let target = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it")).join("keys.rs");
    std::fs::write(&target, out).expect("OUT_DIR is writable");
}

fn name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn read(path: &Path) -> String {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("release key {}: {e}", path.display()));
    if let Err(e) = minisign_verify::PublicKey::decode(text.trim()) {
        panic!(
            "release key {} is not a minisign public key: {e}",
            path.display()
        );
    }
    text
}
