//! The words of the charts and the map, in each UI language (en, fr, es, ar), from
//! `locales/<lang>.json` in this crate; vocabulary labels (act types, mechanisms) come
//! from `custos_model::vocab`. A missing key falls back to English.
//!
//! CONTRACT keys (every locale has each): `title.timeline`, `title.map`,
//! `title.act_types`, `title.victims_by_sex`, `title.victims_by_occupation`,
//! `title.perpetrators_by_type`, `title.interventions`, `status.draft`,
//! `status.awaiting`, `status.answered`, `sex.female`, `sex.male`, `sex.other`,
//! `unknown`, `other`, `undated`, `coarse.month`, `coarse.year`, `fewer_than`
//! (with `{n}`), `incidents`, `victims`, `no_data`, `months` (12 short month names,
//! comma separated), `week` (with `{n}` and `{year}`), `map.points`, `map.unplaced`.

/// The chart words of one language.
#[derive(Debug, Clone, PartialEq)]
pub struct Labels {
    /// The language code used (after fallback).
    pub lang: String,
    /// Written right to left (ar, fa).
    pub rtl: bool,
}

impl Labels {
    /// The labels of `lang` (falls back to English).
    pub fn of(lang: &str) -> Labels {
        let _ = lang;
        todo!("labels: of")
    }

    /// The word for `key` (see the contract keys above).
    pub fn text(&self, key: &str) -> String {
        let _ = key;
        todo!("labels: text")
    }

    /// "fewer than N" or the number, as the label of a count.
    pub fn count(&self, shown: crate::Shown) -> String {
        let _ = shown;
        todo!("labels: count")
    }

    /// The display label of a category of `list` (`act_types`, `mechanisms`, `sex`,
    /// `country`, or free text shown as written).
    pub fn category(&self, list: &str, key: &str) -> String {
        let _ = (list, key);
        todo!("labels: category")
    }
}
