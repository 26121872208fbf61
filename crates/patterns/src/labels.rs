//! The words of the charts and the map, in each language of the app
//! (`custos_model::languages`), from `locales/<lang>.json` in this crate; vocabulary labels (act types, mechanisms) come
//! from `custos_model::vocab`. A missing key falls back to English.
//!
//! CONTRACT keys (every locale has each): `title.timeline`, `title.map`,
//! `title.act_types`, `title.victims_by_sex`, `title.victims_by_occupation`,
//! `title.perpetrators_by_type`, `title.interventions`, `status.draft`,
//! `status.awaiting`, `status.answered`, `sex.female`, `sex.male`, `sex.other`,
//! `unknown`, `other`, `undated`, `coarse.month`, `coarse.year`, `fewer_than`
//! (with `{n}`), `incidents`, `victims`, `no_data`, `months` (12 short month names,
//! comma separated), `week` (with `{n}` and `{year}`), `map.points`, `map.unplaced`.
//! Also (for the tables of `custos stats`): `cases`, `without_publish_consent`,
//! `threshold_note` (with `{n}`).
//!
//! Numbers are written in the digits the UI writes them in (`Intl.NumberFormat` of the
//! language): Persian digits in fa, Myanmar digits in my, ASCII digits elsewhere,
//! Arabic included (`Intl.NumberFormat('ar')` writes ASCII digits since CLDR 42).

use std::collections::HashMap;
use std::sync::OnceLock;

use custos_model::languages;
use custos_model::vocab::builtin;

/// The chart words of one language.
#[derive(Debug, Clone, PartialEq)]
pub struct Labels {
    /// The language code used (after fallback).
    pub lang: String,
    /// Written right to left (ar, fa: as the list of languages says).
    pub rtl: bool,
}

/// Every contract key, in the order above.
pub const KEYS: [&str; 31] = [
    "title.timeline",
    "title.map",
    "title.act_types",
    "title.victims_by_sex",
    "title.victims_by_occupation",
    "title.perpetrators_by_type",
    "title.interventions",
    "status.draft",
    "status.awaiting",
    "status.answered",
    "sex.female",
    "sex.male",
    "sex.other",
    "unknown",
    "other",
    "undated",
    "coarse.month",
    "coarse.year",
    "fewer_than",
    "between",
    "several_acts",
    "incidents",
    "victims",
    "no_data",
    "months",
    "week",
    "map.points",
    "map.unplaced",
    "cases",
    "without_publish_consent",
    "threshold_note",
];

/// The text of a shipped locale file (`None` for a language without one). Every language
/// of `custos_model::languages::LANGUAGES` has one (a test checks it): a new language
/// adds its line here.
pub fn locale_source(lang: &str) -> Option<&'static str> {
    match lang {
        "en" => Some(include_str!("../locales/en.json")),
        "fr" => Some(include_str!("../locales/fr.json")),
        "es" => Some(include_str!("../locales/es.json")),
        "ar" => Some(include_str!("../locales/ar.json")),
        "fa" => Some(include_str!("../locales/fa.json")),
        "ru" => Some(include_str!("../locales/ru.json")),
        "uk" => Some(include_str!("../locales/uk.json")),
        "tr" => Some(include_str!("../locales/tr.json")),
        "my" => Some(include_str!("../locales/my.json")),
        "zh-Hans" => Some(include_str!("../locales/zh-Hans.json")),
        "pt" => Some(include_str!("../locales/pt.json")),
        _ => None,
    }
}

type Table = HashMap<String, String>;

/// The parsed locale of `lang` (`None` when none ships). A file that does not parse
/// is a packaging bug caught by the tests; it reads as empty (every key falls back to
/// English) rather than stopping the app.
fn table(lang: &str) -> Option<&'static Table> {
    static TABLES: OnceLock<HashMap<&'static str, Table>> = OnceLock::new();
    TABLES
        .get_or_init(|| {
            languages::codes()
                .map(|l| {
                    let t = locale_source(l)
                        .and_then(|s| serde_json::from_str::<Table>(s).ok())
                        .unwrap_or_default();
                    (l, t)
                })
                .collect()
        })
        .get(lang)
}

impl Labels {
    /// The labels of `lang`, a language tag (`fr-CA` → `fr`, `zh-CN` → `zh-Hans`; see
    /// `custos_model::languages::from_tag`); English for a language the app has not.
    pub fn of(lang: &str) -> Labels {
        let lang = languages::from_tag(lang).unwrap_or(languages::SOURCE);
        let rtl = languages::get(lang).is_some_and(|l| l.rtl);
        Labels {
            lang: lang.to_owned(),
            rtl,
        }
    }

    /// The word for `key` (see the contract keys above). A key no locale has is
    /// returned as is.
    pub fn text(&self, key: &str) -> String {
        table(&self.lang)
            .and_then(|t| t.get(key))
            .or_else(|| table("en").and_then(|t| t.get(key)))
            .cloned()
            .unwrap_or_else(|| key.to_owned())
    }

    /// The 12 short month names, January first.
    pub fn months(&self) -> Vec<String> {
        let months: Vec<String> = self
            .text("months")
            .split(',')
            .map(|m| m.trim().to_owned())
            .collect();
        if months.len() == 12 {
            months
        } else {
            (1..=12).map(|m| m.to_string()).collect()
        }
    }

    /// "fewer than N" or the number, as the label of a count.
    pub fn count(&self, shown: crate::Shown) -> String {
        match shown {
            crate::Shown::Exact(n) => self.number(n),
            crate::Shown::FewerThan(n) => self.text("fewer_than").replace("{n}", &self.number(n)),
            crate::Shown::Between(a, b) => self
                .text("between")
                .replace("{from}", &self.number(a))
                .replace("{to}", &self.number(b)),
        }
    }

    /// A whole number as the charts write it: in the language's digits (see the top of
    /// this module), no group separators (a count, a year, a week number).
    pub fn number(&self, n: impl Into<i128>) -> String {
        self.digits(&n.into().to_string())
    }

    /// `s` with its ASCII digits in the language's digits.
    pub fn digits(&self, s: &str) -> String {
        languages::digits(&self.lang, s)
    }

    /// The display label of a category of `list` (`act_types`, `mechanisms`, `sex`,
    /// `country`, or free text shown as written).
    pub fn category(&self, list: &str, key: &str) -> String {
        if list == "sex" {
            return match key {
                "female" | "male" | "other" => self.text(&format!("sex.{key}")),
                _ => self.text("unknown"),
            };
        }
        if key == "unknown" || key == "other" {
            return self.text(key);
        }
        match list {
            "act_types" | "mechanisms" => builtin()
                .by_name(list)
                .and_then(|v| v.get(key))
                .map(|t| t.label(&self.lang).to_owned())
                .unwrap_or_else(|| key.to_owned()),
            _ => key.to_owned(),
        }
    }
}
