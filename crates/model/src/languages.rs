//! The languages of the app, in menu order: the one list every part reads (the settings,
//! the chart words, the vocabulary labels, the desktop shell). The web UI keeps the same
//! list in `ui/js/i18n.js` (it needs it before anything is loaded); a test
//! (`src-tauri/tests/ui_static.rs`) fails when the two disagree.
//!
//! `reviewed` is true only once a native speaker has read the whole translation against
//! the English (who and when is written in `docs/translating.md`); until then the UI says
//! the translation has not been reviewed. English is the source, so it counts as reviewed.

/// One language of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Language {
    /// The code of its locale files (`ui/locales/<code>.json`) and of its labels.
    pub code: &'static str,
    /// Its name in itself, as the language menu shows it.
    pub native: &'static str,
    /// Written right to left.
    pub rtl: bool,
    /// A native speaker has reviewed the translation (see `docs/translating.md`).
    pub reviewed: bool,
}

const fn lang(code: &'static str, native: &'static str, rtl: bool, reviewed: bool) -> Language {
    Language {
        code,
        native,
        rtl,
        reviewed,
    }
}

/// The source language: every other one falls back to it, key by key.
pub const SOURCE: &str = "en";

/// Every language the app ships, in menu order.
pub const LANGUAGES: &[Language] = &[
    lang("en", "English", false, true),
    lang("fr", "Français", false, false),
    lang("es", "Español", false, false),
    lang("ar", "العربية", true, false),
    lang("fa", "فارسی", true, false),
    lang("ru", "Русский", false, false),
    lang("uk", "Українська", false, false),
    lang("tr", "Türkçe", false, false),
    lang("my", "မြန်မာ", false, false),
    lang("zh-Hans", "简体中文", false, false),
    lang("pt", "Português", false, false),
];

/// The language of `code` (exactly as listed: `zh-Hans`, not `zh`).
pub fn get(code: &str) -> Option<&'static Language> {
    LANGUAGES.iter().find(|l| l.code == code)
}

/// True when `code` is a language of the app.
pub fn is_supported(code: &str) -> bool {
    get(code).is_some()
}

/// The codes, in menu order.
pub fn codes() -> impl Iterator<Item = &'static str> {
    LANGUAGES.iter().map(|l| l.code)
}

/// The app's language for a language tag from elsewhere (a system locale, a
/// command-line option): `fr-CA` → `fr`, `pt_BR` → `pt`, `zh`, `zh-CN`, `zh-SG` and
/// `zh-Hans-…` → `zh-Hans`; `None` when the app has no translation (`zh-TW` and
/// `zh-Hant` included: there is no traditional Chinese translation).
pub fn from_tag(tag: &str) -> Option<&'static str> {
    let tag = tag.trim().replace('_', "-").to_ascii_lowercase();
    let mut parts = tag.split('-');
    let base = parts.next().unwrap_or_default();
    if base == "zh" {
        let rest: Vec<&str> = parts.collect();
        let traditional = rest
            .iter()
            .any(|p| matches!(*p, "hant" | "tw" | "hk" | "mo"));
        let simplified = rest
            .first()
            .is_none_or(|p| matches!(*p, "hans" | "cn" | "sg"));
        return (simplified && !traditional).then_some("zh-Hans");
    }
    LANGUAGES
        .iter()
        .find(|l| l.code.eq_ignore_ascii_case(base))
        .map(|l| l.code)
}

/// `s` with its ASCII digits written in the digits the language's readers expect, as
/// the UI shows numbers (`Intl.NumberFormat`): Persian ۰–۹ in `fa`, Myanmar ၀–၉ in `my`;
/// every other language (Arabic included: CLDR gives it ASCII digits) as it is.
pub fn digits(code: &str, s: &str) -> String {
    let zero = match code {
        "fa" => '\u{06F0}',
        "my" => '\u{1040}',
        _ => return s.to_owned(),
    };
    s.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) if c.is_ascii_digit() => char::from_u32(u32::from(zero) + d).unwrap_or(c),
            _ => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sound() {
        let mut seen = std::collections::HashSet::new();
        for l in LANGUAGES {
            assert!(seen.insert(l.code), "{} twice", l.code);
            assert!(!l.native.trim().is_empty(), "{}: no native name", l.code);
        }
        assert_eq!(LANGUAGES[0].code, SOURCE);
        assert!(get(SOURCE).unwrap().reviewed);
        // The honest state: no translation has been reviewed by a native speaker yet.
        assert!(LANGUAGES.iter().skip(1).all(|l| !l.reviewed));
        let rtl: Vec<_> = LANGUAGES.iter().filter(|l| l.rtl).map(|l| l.code).collect();
        assert_eq!(rtl, ["ar", "fa"]);
    }

    #[test]
    fn tags_map_to_the_languages_of_the_app() {
        for (tag, want) in [
            ("en", Some("en")),
            ("fr-CA", Some("fr")),
            ("AR", Some("ar")),
            ("fa-IR", Some("fa")),
            ("pt-BR", Some("pt")),
            ("pt_PT", Some("pt")),
            ("uk-UA", Some("uk")),
            ("zh", Some("zh-Hans")),
            ("zh-CN", Some("zh-Hans")),
            ("zh-SG", Some("zh-Hans")),
            ("zh-Hans", Some("zh-Hans")),
            ("zh-Hans-CN", Some("zh-Hans")),
            ("zh-TW", None),
            ("zh-HK", None),
            ("zh-Hant", None),
            ("zh-Hant-TW", None),
            ("de-DE", None),
            ("", None),
        ] {
            assert_eq!(from_tag(tag), want, "{tag}");
        }
    }
}
