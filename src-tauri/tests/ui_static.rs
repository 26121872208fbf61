//! Checks on the web UI's files that need no window: every language of the app has
//! every string with the same placeholders, nothing empty; the UI's list of languages is
//! the backend's; every string key the code names exists and every English string is
//! named by some code; and the code never touches web storage or builds HTML from
//! strings. The locale checks are those of `cargo xtask locales` (the same file).

use std::path::{Path, PathBuf};

use custos_model::languages::{LANGUAGES, SOURCE};

#[path = "../../xtask/src/locales.rs"]
mod locales;

use locales::{keys_named_in, Strings};

fn ui() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui")
}

fn locale(lang: &str) -> Strings {
    locales::read(&ui().join(format!("locales/{lang}.json"))).unwrap_or_else(|e| panic!("{e}"))
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

#[test]
fn every_locale_has_every_string_with_the_same_placeholders() {
    let en = locale(SOURCE);
    assert!(en.len() > 300, "en.json looks truncated");
    for (k, v) in &en {
        assert!(!v.trim().is_empty(), "en.json: {k} is empty");
    }
    for lang in LANGUAGES.iter().map(|l| l.code).filter(|c| *c != SOURCE) {
        let p = locales::compare(&en, &locale(lang));
        assert!(p.missing.is_empty(), "{lang}.json lacks {:?}", p.missing);
        assert!(
            p.unknown.is_empty(),
            "{lang}.json has unknown keys {:?}",
            p.unknown
        );
        assert!(p.empty.is_empty(), "{lang}.json: empty {:?}", p.empty);
        assert!(
            p.placeholders.is_empty(),
            "{lang}.json: other placeholders than en.json in {:?}",
            p.placeholders
        );
    }
}

#[test]
fn no_other_locale_file_ships() {
    for f in sources(&ui().join("locales"), "json") {
        let code = f.file_stem().unwrap().to_string_lossy().into_owned();
        assert!(
            LANGUAGES.iter().any(|l| l.code == code),
            "{} is not a language of crates/model/src/languages.rs",
            f.display()
        );
    }
}

#[test]
fn the_ui_lists_the_languages_of_the_backend() {
    let js = std::fs::read_to_string(ui().join("js/i18n.js")).unwrap();
    let listed = locales::js_languages(&js);
    let ui: Vec<_> = listed
        .iter()
        .map(|l| (l.code.as_str(), l.native.as_str(), l.rtl, l.reviewed))
        .collect();
    let backend: Vec<_> = LANGUAGES
        .iter()
        .map(|l| (l.code, l.native, l.rtl, l.reviewed))
        .collect();
    assert_eq!(
        ui, backend,
        "LANGUAGES of ui/js/i18n.js and of crates/model/src/languages.rs differ"
    );
    // Each locale names every language as the list does (the menu shows lang.<code>).
    for lang in LANGUAGES {
        let strings = locale(lang.code);
        for l in LANGUAGES {
            assert_eq!(
                strings.get(&format!("lang.{}", l.code)).map(String::as_str),
                Some(l.native),
                "{}.json: lang.{}",
                lang.code,
                l.code
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
fn every_english_string_is_named_by_some_code() {
    let en = locale(SOURCE);
    let unused = locales::unused(&en, &locales::ui_sources(&ui()));
    assert!(
        unused.is_empty(),
        "en.json has strings no code names (remove them from every locale, or list the \
         prefix the code builds in DYNAMIC_KEYS of xtask/src/locales.rs): {unused:?}"
    );
    // Every pattern still matches a key: a stale one would hide unused strings.
    for (pattern, built) in locales::DYNAMIC_KEYS {
        let (head, tail) = pattern.split_once('*').unwrap();
        assert!(
            en.keys().any(|k| k.starts_with(head) && k.ends_with(tail)),
            "no key matches {pattern} ({built})"
        );
    }
}

#[test]
fn a_translation_is_compared_key_by_key() {
    let strings = |pairs: &[(&str, &str)]| -> Strings {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let en = strings(&[
        ("a", "Save {title}"),
        ("b", "{from}–{to}"),
        ("c", "Delete"),
        ("d", "PDF"),
        ("lang.fa", "فارسی"),
    ]);
    let fa = strings(&[
        ("a", "ذخیره {name}"),
        ("b", "{from}–{to}"),
        ("c", " "),
        ("d", "PDF"),
        ("lang.fa", "فارسی"),
        ("old", "x"),
    ]);
    let p = locales::compare(&en, &fa);
    assert_eq!(p.placeholders, ["a"]);
    assert_eq!(p.empty, ["c"]);
    assert_eq!(p.unknown, ["old"]);
    assert!(p.missing.is_empty() && p.identical.is_empty(), "{p:?}");
    assert!(!p.is_clean());
    let p = locales::compare(&en, &strings(&[("c", "Delete")]));
    assert_eq!(p.missing, ["a", "b", "d", "lang.fa"]);
    assert_eq!(p.identical, ["c"]);
}

#[test]
fn dynamic_keys_match_only_what_is_built() {
    assert!(locales::is_dynamic("lang.fa"));
    assert!(locales::is_dynamic("case.delete.note.confirm"));
    assert!(!locales::is_dynamic("case.delete.note"));
    assert!(!locales::is_dynamic("lang."));
    assert!(!locales::is_dynamic("language"));
    let en: Strings = [("a.b", "x"), ("lang.xx", "y"), ("c.d", "z")]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into();
    let code = vec![(
        PathBuf::from("x.js"),
        "t('a.b'); const k = \"q\";".to_owned(),
    )];
    assert_eq!(locales::unused(&en, &code), ["c.d"]);
}

#[test]
fn the_key_scanner_finds_calls_and_skips_other_names() {
    let keys = keys_named_in(
        "t('a.b'); x.sort('no'); tPlain('c', {}); <p data-i18n=\"d\"> split('x') t(`e.${k}`)",
    );
    assert_eq!(keys, ["a.b", "c", "d"]);
}
