//! Checks on the web UI's files that need no window: every locale has every string
//! with the same placeholders, every string key the code names exists, and the code
//! never touches web storage or builds HTML from strings.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn ui() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui")
}

fn locale(lang: &str) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(ui().join(format!("locales/{lang}.json")))
        .unwrap_or_else(|e| panic!("{lang}.json: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{lang}.json: {e}"))
}

fn placeholders(s: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        if let Some(close) = rest.find('}') {
            let name = &rest[..close];
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                out.insert(name.to_owned());
            }
            rest = &rest[close + 1..];
        }
    }
    out
}

fn sources(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(sources(&p, ext));
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
    out
}

/// The string literal keys passed to `t(...)` / `tPlain(...)` and `data-i18n="..."`.
fn keys_named_in(text: &str) -> Vec<String> {
    let mut keys = Vec::new();
    for call in ["t('", "tPlain('", "data-i18n=\""] {
        let quote = if call.ends_with('"') { '"' } else { '\'' };
        let mut rest = text;
        while let Some(at) = rest.find(call) {
            // `t(` must not be the end of another name (`sort(`, `split(`).
            let before = rest[..at].chars().next_back();
            rest = &rest[at + call.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
                continue;
            }
            if let Some(end) = rest.find(quote) {
                keys.push(rest[..end].to_owned());
            }
        }
    }
    keys
}

#[test]
fn every_locale_has_every_string_with_the_same_placeholders() {
    let en = locale("en");
    assert!(en.len() > 300, "en.json looks truncated");
    for lang in ["fr", "es", "ar"] {
        let other = locale(lang);
        let missing: Vec<_> = en.keys().filter(|k| !other.contains_key(*k)).collect();
        let extra: Vec<_> = other.keys().filter(|k| !en.contains_key(*k)).collect();
        assert!(missing.is_empty(), "{lang}.json lacks {missing:?}");
        assert!(extra.is_empty(), "{lang}.json has unknown keys {extra:?}");
        for (k, v) in &other {
            assert!(!v.trim().is_empty(), "{lang}.json: {k} is empty");
            assert_eq!(
                placeholders(v),
                placeholders(&en[k]),
                "{lang}.json: {k} has other placeholders than en.json"
            );
        }
    }
}

#[test]
fn every_string_key_the_code_names_exists() {
    let en = locale("en");
    let mut files = sources(&ui().join("js"), "js");
    files.push(ui().join("index.html"));
    let mut checked = 0;
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for key in keys_named_in(&text) {
            assert!(
                en.contains_key(&key),
                "{} names the string '{key}', which en.json lacks",
                f.display()
            );
            checked += 1;
        }
    }
    assert!(
        checked > 200,
        "only {checked} keys found: the scan is broken"
    );
}

#[test]
fn the_ui_code_never_uses_web_storage_or_html_strings() {
    for f in sources(&ui().join("js"), "js") {
        // Code only: comments may explain why these are not used.
        let text: String = std::fs::read_to_string(&f)
            .unwrap()
            .lines()
            .filter(|l| {
                let l = l.trim_start();
                !(l.starts_with("//") || l.starts_with('*') || l.starts_with("/*"))
            })
            .collect::<Vec<_>>()
            .join("\n");
        for banned in [
            "localStorage",
            "sessionStorage",
            "indexedDB",
            "document.cookie",
            "caches.open",
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
        ] {
            assert!(!text.contains(banned), "{} uses {banned}", f.display());
        }
    }
    let html = std::fs::read_to_string(ui().join("index.html")).unwrap();
    for remote in ["http://", "https://", "//cdn"] {
        assert!(!html.contains(remote), "index.html loads a remote {remote}");
    }
}

#[test]
fn the_key_scanner_finds_calls_and_skips_other_names() {
    let keys = keys_named_in(
        "t('a.b'); x.sort('no'); tPlain('c', {}); <p data-i18n=\"d\"> split('x') t(`e.${k}`)",
    );
    assert_eq!(keys, ["a.b", "c", "d"]);
}
