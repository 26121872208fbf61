//! The command line's message files checked against the code and against English: the
//! same checks as `cargo xtask locales` (one file of them, shared), run in the tests.

#[path = "../../../xtask/src/locales.rs"]
mod locales;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use custos_model::languages::{LANGUAGES, SOURCE};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("locales")
}

fn read(code: &str) -> locales::Strings {
    locales::read(&dir().join(format!("{code}.json"))).unwrap_or_else(|e| panic!("{e}"))
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The keys the code names literally: `tr!("key"…`, `lang::text("key")`,
/// `lang::lookup("key")`.
fn keys_in(code: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for call in ["tr!(", "lang::text(", "lang::lookup("] {
        let mut rest = code;
        while let Some(at) = rest.find(call) {
            let word_start = rest[..at]
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
            rest = &rest[at + call.len()..];
            if !word_start {
                continue;
            }
            let body = rest.trim_start();
            if let Some(lit) = body.strip_prefix('"') {
                if let Some(end) = lit.find('"') {
                    let key = &lit[..end];
                    if !key.is_empty() && !key.contains(['{', ' ', '\\']) {
                        keys.insert(key.to_owned());
                    }
                }
            }
        }
    }
    keys
}

fn code_keys() -> BTreeSet<String> {
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    files
        .iter()
        .filter(|f| !f.ends_with("locale_tests.rs"))
        .map(|f| std::fs::read_to_string(f).expect("a source file"))
        // Not the comments (the documentation's examples).
        .map(|code| {
            code.lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .flat_map(|code| keys_in(&code))
        .collect()
}

#[test]
fn the_key_scanner_finds_literal_keys_only() {
    let code = r#"tr!("a.b"); tr!(
        "c.d", n = 1); lang::text(&key); lang::lookup("e.f"); text("help {x}");
        include_str!("../x.json"); labels.text("title.map"); lang::text("help {x}")"#;
    let keys: Vec<_> = keys_in(code).into_iter().collect();
    assert_eq!(keys, ["a.b", "c.d", "e.f"]);
}

#[test]
fn every_key_the_code_names_is_in_english_and_every_english_key_is_named() {
    let en = read(SOURCE);
    let named = code_keys();
    let missing: Vec<_> = named.iter().filter(|k| !en.contains_key(*k)).collect();
    assert!(
        missing.is_empty(),
        "keys the code names that en.json lacks: {missing:?}"
    );
    let help = crate::help::english();
    let unused: Vec<_> = en
        .keys()
        .filter(|k| !named.contains(*k) && !help.contains_key(*k))
        .collect();
    assert!(
        unused.is_empty(),
        "keys of en.json no code names: {unused:?}"
    );
}

/// The English help in en.json is the help clap shows (the doc comments). After changing
/// a doc comment, `CUSTOS_BLESS=1 cargo test -p custos-cli help_in_english` writes it.
#[test]
fn the_help_in_english_is_the_help_clap_shows() {
    let help = crate::help::english();
    let mut en = read(SOURCE);
    if std::env::var_os("CUSTOS_BLESS").is_some() {
        en.retain(|k, _| !k.starts_with("help."));
        en.extend(help.clone());
        let text = serde_json::to_string_pretty(&en).expect("strings") + "\n";
        std::fs::write(dir().join("en.json"), text).expect("en.json written");
    }
    let in_file: locales::Strings = en
        .into_iter()
        .filter(|(k, _)| k.starts_with("help."))
        .collect();
    assert!(help.len() > 100, "the walk found the commands' help");
    assert_eq!(
        in_file, help,
        "en.json's help.* differs from the doc comments: CUSTOS_BLESS=1 cargo test -p custos-cli the_help_in_english"
    );
}

#[test]
fn every_translation_has_every_message_with_the_same_placeholders() {
    let en = read(SOURCE);
    let mut problems = Vec::new();
    for l in LANGUAGES {
        let p = locales::compare(&en, &read(l.code));
        if !p.is_clean() {
            problems.push(format!("{}: {p:?}", l.code));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn every_language_has_a_message_file_and_no_other_ships() {
    let mut files: Vec<String> = std::fs::read_dir(dir())
        .expect("locales/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut expected: Vec<String> = LANGUAGES
        .iter()
        .map(|l| format!("{}.json", l.code))
        .collect();
    expected.sort();
    assert_eq!(files, expected);
    let compiled: Vec<&str> = crate::lang::compiled().collect();
    let codes: Vec<&str> = LANGUAGES.iter().map(|l| l.code).collect();
    assert_eq!(
        compiled, codes,
        "lang.rs compiles in every language, in menu order"
    );
}
