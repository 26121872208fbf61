//! The checks of the translations, written once: `cargo xtask locales` prints them for a
//! translator, and `src-tauri/tests/ui_static.rs` (which includes this file by path) fails
//! on them. Only the standard library and serde_json, so both can build it.
//!
//! A translation (`ui/locales/<code>.json`, `crates/patterns/locales/<code>.json`) is
//! compared with the English file: missing keys, unknown keys, other `{name}`
//! placeholders, empty strings (all errors), and strings identical to the English (a
//! hint: often untranslated, sometimes right, like "PDF"). The English UI strings are
//! also checked against the code: a key no code names is unused.

// Each includer uses part of it.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A locale file: key → string.
pub type Strings = BTreeMap<String, String>;

/// Reads a locale file (a flat JSON object of strings).
pub fn read(path: &Path) -> Result<Strings, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The `{name}` placeholders of a string.
pub fn placeholders(s: &str) -> BTreeSet<String> {
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

/// What is wrong with a translation, key by key.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Problems {
    /// Keys of the English file it lacks.
    pub missing: Vec<String>,
    /// Keys the English file has not.
    pub unknown: Vec<String>,
    /// Keys whose placeholders differ from the English.
    pub placeholders: Vec<String>,
    /// Keys whose string is empty.
    pub empty: Vec<String>,
    /// Keys whose string is the English one, word for word (a hint, not an error).
    pub identical: Vec<String>,
}

impl Problems {
    /// No error (identical strings are only a hint).
    pub fn is_clean(&self) -> bool {
        self.missing.is_empty()
            && self.unknown.is_empty()
            && self.placeholders.is_empty()
            && self.empty.is_empty()
    }
}

/// Compares a translation with the English file.
pub fn compare(en: &Strings, other: &Strings) -> Problems {
    let mut p = Problems {
        missing: en
            .keys()
            .filter(|k| !other.contains_key(*k))
            .cloned()
            .collect(),
        ..Problems::default()
    };
    for (k, v) in other {
        let Some(source) = en.get(k) else {
            p.unknown.push(k.clone());
            continue;
        };
        if v.trim().is_empty() {
            p.empty.push(k.clone());
        }
        if placeholders(v) != placeholders(source) {
            p.placeholders.push(k.clone());
        }
        if v == source && is_wording(k, source) {
            p.identical.push(k.clone());
        }
    }
    p
}

/// An English string that a translation would normally change: it has a word of four
/// letters or more outside its placeholders, and it is not a language's own name (the
/// same in every file).
fn is_wording(key: &str, s: &str) -> bool {
    if key.starts_with("lang.") && key != "lang.not_reviewed" {
        return false;
    }
    // Placeholder names ({from}) are not words.
    let mut run = 0;
    let mut inside = false;
    for c in s.chars() {
        inside = (inside || c == '{') && c != '}';
        run = if c.is_ascii_alphabetic() && !inside {
            run + 1
        } else {
            0
        };
        if run >= 4 {
            return true;
        }
    }
    false
}

/// Keys the UI code builds from a prefix and a value (`t(`lang.${code}`)`), so that no
/// literal names them: each pattern (`*` stands for the built part) with where it is built.
pub const DYNAMIC_KEYS: &[(&str, &str)] = &[
    ("lang.*", "i18n.js languageLabel: lang.${code}"),
    (
        "case.delete.*.confirm",
        "screens/case.js: case.delete.${item.kind}.confirm",
    ),
    ("case.edit.*", "editors.js: case.edit.${kind}"),
    ("case.new.*", "editors.js: case.new.${kind}"),
    ("case.saved.*", "editors.js: case.saved.${kind}"),
    ("channel.*", "followup.js: channel.${c}"),
    ("choice.*", "fields.js: choice.${choice}.${value}"),
    ("custody.*", "evidence.js: custody.${c.action}"),
    (
        "error.*",
        "fields.js errorText: error.${kind}, the backend's error kinds",
    ),
    ("export.format.*", "export.js: export.format.${f.format}"),
    (
        "export.missing.*",
        "export.js: export.missing.${item.element}, from the backend",
    ),
    (
        "field.*",
        "fields.js: field.${path}, the record's field paths",
    ),
    ("history.*.label", "history: history.${group}.label"),
    ("import.choose.*", "import.js: import.choose.${code}"),
    ("search.kind.*", "search: search.kind.${kind}"),
    ("strength.*", "passphrase strength: strength.${score}"),
    (
        "submission.choice.*",
        "export.js: submission.choice.${c}, from the backend",
    ),
    (
        "submission.q.*",
        "export.js: submission.q.${q.key}(.hint), from the backend",
    ),
    (
        "sync.changes.*",
        "sync.js: sync.changes.${c.what}, sync.changes.role.${r}",
    ),
];

/// True when `key` matches a pattern of [`DYNAMIC_KEYS`].
pub fn is_dynamic(key: &str) -> bool {
    DYNAMIC_KEYS
        .iter()
        .any(|(pattern, _)| match pattern.split_once('*') {
            Some((head, tail)) => {
                key.len() > head.len() + tail.len() && key.starts_with(head) && key.ends_with(tail)
            }
            None => key == *pattern,
        })
}

/// The UI's code: every `.js` file under `ui/js` and `ui/index.html`, with its text.
pub fn ui_sources(ui: &Path) -> Vec<(PathBuf, String)> {
    let mut files = files_under(&ui.join("js"), "js");
    files.push(ui.join("index.html"));
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            (f, text)
        })
        .collect()
}

fn files_under(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p, ext));
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
    out
}

/// The string literal keys passed to `t(...)` / `tPlain(...)` and `data-i18n="..."`.
pub fn keys_named_in(text: &str) -> Vec<String> {
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

/// Every quoted literal of the code that could be a key ('a.b', "a.b", `a.b`): a key
/// kept in a table and passed to `t()` later counts as named.
fn literals(text: &str) -> BTreeSet<&str> {
    let is_key_char = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-' | b':');
    let bytes = text.as_bytes();
    let mut out = BTreeSet::new();
    let mut i = 0;
    while i < bytes.len() {
        let quote = bytes[i];
        i += 1;
        if !matches!(quote, b'\'' | b'"' | b'`') {
            continue;
        }
        let start = i;
        let mut end = i;
        while end < bytes.len() && is_key_char(bytes[end]) {
            end += 1;
        }
        if end > start && bytes.get(end) == Some(&quote) {
            out.insert(&text[start..end]);
        }
    }
    out
}

/// English keys that no code names (neither as a literal nor through [`DYNAMIC_KEYS`]).
pub fn unused(en: &Strings, sources: &[(PathBuf, String)]) -> Vec<String> {
    let mut named = BTreeSet::new();
    for (_, text) in sources {
        named.extend(literals(text));
    }
    en.keys()
        .filter(|k| !named.contains(k.as_str()) && !is_dynamic(k))
        .cloned()
        .collect()
}

/// One line of the `LANGUAGES` list of `ui/js/i18n.js`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsLanguage {
    pub code: String,
    pub native: String,
    pub rtl: bool,
    pub reviewed: bool,
}

/// The `LANGUAGES` list of `ui/js/i18n.js` (one `{ code: …, native: …, rtl: …,
/// reviewed: … }` a line).
pub fn js_languages(i18n_js: &str) -> Vec<JsLanguage> {
    let Some(start) = i18n_js.find("export const LANGUAGES") else {
        return Vec::new();
    };
    let body = &i18n_js[start..];
    let body = &body[..body.find("]").unwrap_or(body.len())];
    let field = |line: &str, name: &str| -> Option<String> {
        let at = line.find(&format!("{name}: "))? + name.len() + 2;
        let rest = &line[at..];
        let end = rest.find([',', ' ', '}']).unwrap_or(rest.len());
        let value = if let Some(quoted) = rest.strip_prefix('\'') {
            &quoted[..quoted.find('\'')?]
        } else {
            &rest[..end]
        };
        Some(value.to_owned())
    };
    body.lines()
        .filter_map(|line| {
            Some(JsLanguage {
                code: field(line, "code")?,
                native: field(line, "native")?,
                rtl: field(line, "rtl")? == "true",
                reviewed: field(line, "reviewed")? == "true",
            })
        })
        .collect()
}
