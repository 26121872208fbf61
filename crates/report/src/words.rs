//! The fixed words of the case report in each language, from
//! `locales/case/<code>.json` (flat `key → text`, `{name}` placeholders), and its
//! numbers and dates written for that language.
//!
//! A key missing from a language falls back to English, then to the key itself; an
//! unknown language code is English. Dates stay Gregorian (the records are) and keep
//! the ISO order `YYYY-MM-DD`, which reads the same in every language and is what the
//! records and their exports use; only the digits change where the app's screen shows
//! other digits (Intl's defaults, see `ui/js/i18n.js`): Persian digits for `fa`,
//! Myanmar digits for `my`. Arabic keeps ASCII digits, as `Intl.NumberFormat('ar')`
//! shows them. Identifiers (record numbers, SHA-256 sums, coordinates) are never
//! changed: they are copied into other tools.

use std::collections::HashMap;
use std::sync::OnceLock;

use custos_model::{
    CaseStatus, Confidentiality, Consent, FuzzyDate, InterventionStatus, InterventionType,
    Precision, Role,
};

/// The languages the case report is written in: every language of the app
/// (`custos_model::languages`; a test checks they are the same).
pub const LANGUAGES: [&str; 11] = [
    "en", "fr", "es", "ar", "fa", "ru", "uk", "tr", "my", "zh-Hans", "pt",
];

/// The locale files of the case report: language code and its JSON.
pub(crate) const SOURCES: [(&str, &str); 11] = [
    ("en", include_str!("../locales/case/en.json")),
    ("fr", include_str!("../locales/case/fr.json")),
    ("es", include_str!("../locales/case/es.json")),
    ("ar", include_str!("../locales/case/ar.json")),
    ("fa", include_str!("../locales/case/fa.json")),
    ("ru", include_str!("../locales/case/ru.json")),
    ("uk", include_str!("../locales/case/uk.json")),
    ("tr", include_str!("../locales/case/tr.json")),
    ("my", include_str!("../locales/case/my.json")),
    ("zh-Hans", include_str!("../locales/case/zh-Hans.json")),
    ("pt", include_str!("../locales/case/pt.json")),
];

type Table = HashMap<String, String>;

fn tables() -> &'static HashMap<&'static str, Table> {
    static T: OnceLock<HashMap<&'static str, Table>> = OnceLock::new();
    T.get_or_init(|| {
        SOURCES
            .iter()
            // A damaged file is caught by the tests; at run time it reads as empty and
            // English stands in for each of its keys.
            .map(|(lang, json)| (*lang, serde_json::from_str(json).unwrap_or_default()))
            .collect()
    })
}

/// The language of the report for a code as the app or a user gives it: one of
/// [`LANGUAGES`] (any case, `_` or `-`), a regional tag of one (`pt-BR` → `pt`,
/// `zh-CN` / `zh` → `zh-Hans`; see `custos_model::languages::from_tag`), else English.
pub fn language(code: &str) -> &'static str {
    custos_model::languages::from_tag(code).unwrap_or(custos_model::languages::SOURCE)
}

/// The words, numbers and dates of the case report in one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Words {
    /// One of [`LANGUAGES`].
    pub lang: &'static str,
}

impl Words {
    /// The words of `code` (see [`language`]; English for a code not shipped).
    pub fn of(code: &str) -> Words {
        Words {
            lang: language(code),
        }
    }

    /// The text of `key`: in the language, else in English, else the key itself.
    pub fn t(&self, key: &'static str) -> &'static str {
        let t = tables();
        t.get(self.lang)
            .and_then(|m| m.get(key))
            .filter(|s| !s.trim().is_empty())
            .or_else(|| t.get("en").and_then(|m| m.get(key)))
            .map_or(key, String::as_str)
    }

    /// [`Words::t`] with each `{name}` replaced by its value.
    pub fn f(&self, key: &'static str, args: &[(&str, &str)]) -> String {
        let mut s = self.t(key).to_owned();
        for (name, value) in args {
            s = s.replace(&format!("{{{name}}}"), value);
        }
        s
    }

    /// [`Words::f`] with `{n}` a number in the language's digits.
    pub fn n(&self, key: &'static str, n: impl std::fmt::Display) -> String {
        self.f(key, &[("n", &self.digits(&n.to_string()))])
    }

    /// ASCII digits in the language's digits (`fa`: ۰–۹, `my`: ၀–၉; else as they are).
    pub fn digits(&self, s: &str) -> String {
        custos_model::languages::digits(self.lang, s)
    }

    /// A date as precise as it is known: `2024-05-02`, `2024-05`, `2024`, "about
    /// 2024-05-02", in the language's digits.
    pub fn date(&self, d: &FuzzyDate) -> String {
        let iso = |f: &str| self.digits(&d.date.format(f).to_string());
        match d.precision {
            Precision::Day => iso("%Y-%m-%d"),
            Precision::Month => iso("%Y-%m"),
            Precision::Year => iso("%Y"),
            Precision::Approximate => self.f("date.about", &[("date", &iso("%Y-%m-%d"))]),
        }
    }

    /// A day: `2024-05-02`.
    pub fn day(&self, d: chrono::NaiveDate) -> String {
        self.digits(&d.format("%Y-%m-%d").to_string())
    }

    /// A moment in UTC, to the minute or (`seconds`) to the second.
    pub fn time(&self, t: chrono::DateTime<chrono::Utc>, seconds: bool) -> String {
        let f = if seconds {
            "%Y-%m-%d %H:%M:%S"
        } else {
            "%Y-%m-%d %H:%M"
        };
        self.f(
            "report.time_utc",
            &[("time", &self.digits(&t.format(f).to_string()))],
        )
    }

    /// HURIDOCS date type of a date (absent: unknown).
    pub fn date_type(&self, d: Option<&FuzzyDate>) -> &'static str {
        self.t(match d.map(|d| d.precision) {
            None => "date_type.unknown",
            Some(Precision::Day) => "date_type.exact",
            Some(Precision::Month) => "date_type.month",
            Some(Precision::Year) => "date_type.year",
            Some(Precision::Approximate) => "date_type.approximate",
        })
    }

    /// A person's role.
    pub fn role(&self, r: Role) -> &'static str {
        self.t(match r {
            Role::Victim => "role.victim",
            Role::Perpetrator => "role.perpetrator",
            Role::Witness => "role.witness",
            Role::Source => "role.source",
            Role::InterveningParty => "role.intervening_party",
        })
    }

    /// A case's status.
    pub fn status(&self, s: CaseStatus) -> &'static str {
        self.t(match s {
            CaseStatus::Open => "status.open",
            CaseStatus::Monitoring => "status.monitoring",
            CaseStatus::Closed => "status.closed",
        })
    }

    /// A case's confidentiality.
    pub fn confidentiality(&self, c: Confidentiality) -> &'static str {
        self.t(match c {
            Confidentiality::Public => "confidentiality.public",
            Confidentiality::Restricted => "confidentiality.restricted",
            Confidentiality::Confidential => "confidentiality.confidential",
        })
    }

    /// A consent's answer.
    pub fn consent(&self, c: Consent) -> &'static str {
        self.t(match c {
            Consent::Given => "consent.given",
            Consent::Refused => "consent.refused",
            Consent::NotAsked => "consent.not_asked",
        })
    }

    /// An intervention's type.
    pub fn intervention_type(&self, t: InterventionType) -> &'static str {
        self.t(match t {
            InterventionType::UrgentAppeal => "intervention_type.urgent_appeal",
            InterventionType::AllegationLetter => "intervention_type.allegation_letter",
            InterventionType::Other => "intervention_type.other",
        })
    }

    /// An intervention's status.
    pub fn intervention_status(&self, s: InterventionStatus) -> &'static str {
        self.t(match s {
            InterventionStatus::Draft => "intervention_status.draft",
            InterventionStatus::Sent => "intervention_status.sent",
            InterventionStatus::Acknowledged => "intervention_status.acknowledged",
            InterventionStatus::Responded => "intervention_status.responded",
            InterventionStatus::Closed => "intervention_status.closed",
        })
    }
}

/// The keys of a locale file (for the tests): every key of `lang`'s file, in order.
pub fn keys_of(lang: &str) -> Option<Vec<String>> {
    let (_, json) = SOURCES.iter().find(|(l, _)| *l == lang)?;
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json).ok()?;
    Some(map.keys().cloned().collect())
}

/// The text of `key` in exactly `lang`'s file (no fallback), for the tests.
pub fn raw(lang: &str, key: &str) -> Option<&'static str> {
    tables()
        .get(language(lang))
        .filter(|_| LANGUAGES.contains(&lang))
        .and_then(|m| m.get(key))
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_as_the_app_and_users_write_them() {
        assert_eq!(language("fa"), "fa");
        assert_eq!(language("zh-hans"), "zh-Hans");
        assert_eq!(language("zh_CN"), "zh-Hans");
        assert_eq!(language("zh-TW"), "en");
        assert_eq!(language("pt-BR"), "pt");
        assert_eq!(language("FR"), "fr");
        assert_eq!(language(""), "en");
        assert_eq!(language("xx-YY"), "en");
        assert_eq!(language("\u{0}\u{FFFF}—"), "en");
    }

    #[test]
    fn the_report_has_every_language_of_the_app_and_no_other() {
        let app: Vec<&str> = custos_model::languages::codes().collect();
        assert_eq!(LANGUAGES.to_vec(), app);
        let files: Vec<&str> = SOURCES.iter().map(|(l, _)| *l).collect();
        assert_eq!(files, app);
    }

    #[test]
    fn digits_are_persian_for_persian_and_myanmar_for_burmese_only() {
        let d = FuzzyDate {
            date: "2024-05-02".parse().unwrap(),
            precision: Precision::Day,
        };
        assert_eq!(Words::of("fa").date(&d), "۲۰۲۴-۰۵-۰۲");
        assert_eq!(Words::of("my").date(&d), "၂၀၂၄-၀၅-၀၂");
        assert_eq!(Words::of("ar").date(&d), "2024-05-02");
        assert_eq!(Words::of("en").date(&d), "2024-05-02");
        let about = FuzzyDate {
            precision: Precision::Approximate,
            ..d
        };
        assert_eq!(Words::of("en").date(&about), "about 2024-05-02");
        assert!(Words::of("fa").date(&about).contains("۲۰۲۴-۰۵-۰۲"));
        assert_eq!(Words::of("fa").n("heading.incidents", 12), "رویدادها (۱۲)");
    }

    #[test]
    fn a_missing_key_falls_back_to_english_then_to_the_key() {
        let w = Words::of("xx");
        assert_eq!(w.lang, "en");
        assert_eq!(w.t("field.status"), "Status");
        assert_eq!(Words::of("fr").t("no.such.key"), "no.such.key");
    }
}
