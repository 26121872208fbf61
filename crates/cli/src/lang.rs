//! The command line's words in its user's language: prompts, progress, errors, and the
//! help clap prints.
//!
//! The messages are in `crates/cli/locales/<code>.json`, one flat file per language of
//! `custos_model::languages` (the same list as the desktop app's), compiled in: the
//! command line needs no file beside it. English is the source; a key a translation lacks
//! falls back to it (`cargo xtask locales` and the tests below list any). The vault's own
//! errors are not repeated here: their sentences are the desktop app's (`error.<kind>` in
//! `ui/locales`), so the two never say a thing differently.
//!
//! The language is chosen once, before the arguments are parsed (the help must already
//! speak it), from, in order: `CUSTOS_LANG`; the system's locale as gettext reads it
//! (`LANGUAGE` when a locale is set, then `LC_ALL`, `LC_MESSAGES`, `LANG`); the language
//! chosen in the desktop app (settings.json, not secret); English. A value naming no
//! language Custos has is passed over: `C`, `POSIX` and `de_DE` fall through to the next.
//!
//! English output is the text the code had before it was translated, byte for byte:
//! scripts that read it keep working, and for them `CUSTOS_LANG=en` fixes it.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::OnceLock;

use custos_model::languages::{self, SOURCE};

/// One language's messages: key → text.
type Catalogue = HashMap<String, String>;

/// Per language, in the order of `custos_model::languages`: the command line's message
/// file and the desktop app's, of which the command line takes the errors' sentences
/// (compiled in).
const FILES: &[(&str, &str, &str)] = &[
    (
        "en",
        include_str!("../locales/en.json"),
        include_str!("../../../ui/locales/en.json"),
    ),
    (
        "fr",
        include_str!("../locales/fr.json"),
        include_str!("../../../ui/locales/fr.json"),
    ),
    (
        "es",
        include_str!("../locales/es.json"),
        include_str!("../../../ui/locales/es.json"),
    ),
    (
        "ar",
        include_str!("../locales/ar.json"),
        include_str!("../../../ui/locales/ar.json"),
    ),
    (
        "fa",
        include_str!("../locales/fa.json"),
        include_str!("../../../ui/locales/fa.json"),
    ),
    (
        "ru",
        include_str!("../locales/ru.json"),
        include_str!("../../../ui/locales/ru.json"),
    ),
    (
        "uk",
        include_str!("../locales/uk.json"),
        include_str!("../../../ui/locales/uk.json"),
    ),
    (
        "tr",
        include_str!("../locales/tr.json"),
        include_str!("../../../ui/locales/tr.json"),
    ),
    (
        "my",
        include_str!("../locales/my.json"),
        include_str!("../../../ui/locales/my.json"),
    ),
    (
        "zh-Hans",
        include_str!("../locales/zh-Hans.json"),
        include_str!("../../../ui/locales/zh-Hans.json"),
    ),
    (
        "pt",
        include_str!("../locales/pt.json"),
        include_str!("../../../ui/locales/pt.json"),
    ),
];

/// The languages whose messages are compiled in.
#[cfg(test)]
pub fn compiled() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(code, _, _)| *code)
}

/// The language in use and its messages, English beneath them.
struct Messages {
    code: &'static str,
    own: Catalogue,
    english: Catalogue,
}

static MESSAGES: OnceLock<Messages> = OnceLock::new();

fn parse(code: &str, ui: bool) -> Catalogue {
    FILES
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, cli, app)| if ui { *app } else { *cli })
        // A file that does not parse is a build defect the tests catch; at run time the
        // command line falls back to English rather than refuse to start.
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default()
}

/// A language's messages with the desktop app's error sentences.
fn catalogue(code: &str) -> Catalogue {
    let mut own = parse(code, false);
    own.extend(
        parse(code, true)
            .into_iter()
            .filter(|(key, _)| key.starts_with("error.")),
    );
    own
}

fn load(code: &'static str) -> Messages {
    Messages {
        code,
        own: catalogue(code),
        // In English the own messages are the English ones: parsed once.
        english: if code == SOURCE {
            Catalogue::new()
        } else {
            catalogue(SOURCE)
        },
    }
}

fn messages() -> &'static Messages {
    MESSAGES.get_or_init(|| load(SOURCE))
}

/// Chooses the language (see the module's documentation); called once, first thing.
pub fn init(settings_language: impl FnOnce() -> Option<String>) {
    let code = choose(|name| std::env::var(name).ok(), settings_language);
    // A second call (none is made) keeps the first choice.
    let _ = MESSAGES.set(load(code));
}

/// The language of the messages.
pub fn code() -> &'static str {
    messages().code
}

/// Whether the messages are English (the code's own text, clap's help unchanged).
pub fn is_source() -> bool {
    code() == SOURCE
}

/// The language a locale value names: `fa_IR.UTF-8` → `fa`, `zh_CN.GB2312` → `zh-Hans`,
/// `sr@latin` → none (no translation); `C` and `POSIX` name none.
pub fn from_locale(value: &str) -> Option<&'static str> {
    let tag = value.split(['.', '@']).next().unwrap_or_default().trim();
    if tag.is_empty() || is_c(tag) {
        return None;
    }
    languages::from_tag(tag)
}

/// Whether a locale is the C locale (`C`, `C.UTF-8`, `POSIX`), which names no language.
fn is_c(locale: &str) -> bool {
    let tag = locale.split(['.', '@']).next().unwrap_or_default().trim();
    tag == "C" || tag == "POSIX"
}

/// The language to speak, from the environment (`env`) and the desktop app's setting.
pub fn choose(
    env: impl Fn(&str) -> Option<String>,
    settings_language: impl FnOnce() -> Option<String>,
) -> &'static str {
    let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    if let Some(code) = set("CUSTOS_LANG").as_deref().and_then(from_locale) {
        return code;
    }
    // gettext's order: LANGUAGE (a list, `fa:en`) only when a locale is set at all.
    let locale = set("LC_ALL")
        .or_else(|| set("LC_MESSAGES"))
        .or_else(|| set("LANG"));
    if let Some(locale) = locale {
        let from_list = set("LANGUAGE")
            .filter(|_| !is_c(&locale))
            .and_then(|list| list.split(':').find_map(from_locale));
        if let Some(code) = from_list.or_else(|| from_locale(&locale)) {
            return code;
        }
    }
    settings_language()
        .as_deref()
        .and_then(languages::get)
        .map(|l| l.code)
        .unwrap_or(SOURCE)
}

/// The text of `key` in the language in use, else in English, else the key itself (a
/// defect the tests catch: every key the code names is in the English file).
pub fn text(key: &str) -> &'static str {
    lookup(key).unwrap_or_else(|| missing(key))
}

/// The text of `key` in the language in use, else in English; `None` when neither has it
/// (an error kind the desktop app has no sentence for).
pub fn lookup(key: &str) -> Option<&'static str> {
    let m = messages();
    m.own
        .get(key)
        .or_else(|| m.english.get(key))
        .map(String::as_str)
}

fn missing(key: &str) -> &'static str {
    // Leaked once per missing key and run: a short string, and only on a defect.
    Box::leak(key.to_owned().into_boxed_str())
}

/// `key`'s text with each `{name}` replaced by its value.
pub fn format(key: &str, args: &[(&str, &dyn Display)]) -> String {
    fill(text(key), args)
}

/// `template` with each `{name}` of `args` replaced by its value; other braces stay.
pub fn fill(template: &str, args: &[(&str, &dyn Display)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| {
            let name = &after[..close];
            args.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (v.to_string(), close))
        });
        match value {
            Some((v, close)) => {
                out.push_str(&v);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A count written in the digits the language's readers expect (Persian, Burmese);
/// identifiers, versions and paths are never passed through it.
pub fn n(value: impl Display) -> String {
    languages::digits(code(), &value.to_string())
}

/// The message of `key` in the user's language, its `{name}`s filled:
/// `tr!("key.name")`, `tr!("key.name", count = n(3), path = p.display())`.
#[macro_export]
macro_rules! tr {
    ($key:literal) => {
        $crate::lang::text($key).to_owned()
    };
    ($key:literal, $($name:ident = $value:expr),+ $(,)?) => {
        $crate::lang::format(
            $key,
            &[$((stringify!($name), &$value as &dyn ::std::fmt::Display)),+],
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn the_language_comes_from_custos_lang_then_the_locale_then_the_settings() {
        let none = || None;
        let fa = || Some("fa".to_owned());
        assert_eq!(choose(env(&[]), none), "en");
        assert_eq!(choose(env(&[]), fa), "fa");
        assert_eq!(choose(env(&[("LANG", "C.UTF-8")]), fa), "fa");
        assert_eq!(choose(env(&[("LANG", "POSIX")]), none), "en");
        assert_eq!(choose(env(&[("LANG", "ru_RU.UTF-8")]), fa), "ru");
        assert_eq!(
            choose(
                env(&[("LANG", "ru_RU.UTF-8"), ("LC_MESSAGES", "tr_TR.UTF-8")]),
                fa
            ),
            "tr"
        );
        assert_eq!(
            choose(
                env(&[("LC_ALL", "uk_UA.UTF-8"), ("LC_MESSAGES", "tr_TR")]),
                fa
            ),
            "uk"
        );
        assert_eq!(
            choose(
                env(&[("LANG", "de_DE.UTF-8"), ("LANGUAGE", "de:pt_BR:en")]),
                none
            ),
            "pt"
        );
        // LANGUAGE alone, or beside the C locale, is not read (as gettext).
        assert_eq!(choose(env(&[("LANGUAGE", "fr")]), none), "en");
        assert_eq!(
            choose(env(&[("LANG", "C.UTF-8"), ("LANGUAGE", "fr")]), none),
            "en"
        );
        assert_eq!(
            choose(env(&[("CUSTOS_LANG", "ar"), ("LC_ALL", "fr_FR.UTF-8")]), fa),
            "ar"
        );
        // A language Custos lacks falls through, to the settings, then English.
        assert_eq!(choose(env(&[("CUSTOS_LANG", "de")]), fa), "fa");
        assert_eq!(choose(env(&[("LANG", "zh_TW.UTF-8")]), none), "en");
        assert_eq!(choose(env(&[("LANG", "zh_CN.GB2312")]), none), "zh-Hans");
        assert_eq!(choose(env(&[("LANG", "my_MM")]), none), "my");
        // An unknown or damaged settings value is English.
        assert_eq!(choose(env(&[]), || Some("xx".to_owned())), "en");
    }

    #[test]
    fn a_template_is_filled_by_name_and_other_braces_stay() {
        assert_eq!(
            fill("{n} of {total} — {n}", &[("n", &3), ("total", &"ten")]),
            "3 of ten — 3"
        );
        assert_eq!(fill("{\"a\": 1} {x}", &[]), "{\"a\": 1} {x}");
        assert_eq!(fill("{", &[]), "{");
        assert_eq!(fill("}{", &[("a", &1)]), "}{");
    }
}
