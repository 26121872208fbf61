//! Cell values as Uwazi writes and reads them: dates in the user's format or as
//! timestamps, date ranges, `lat|lon` geolocations, `|`-joined multi-values with
//! `parent::child` thesaurus labels, and column names made safe.

use chrono::NaiveDate;
use custos_model::{FuzzyDate, InterventionStatus, InterventionType, Precision};

/// Uwazi's separator of values in one cell (multi-selects, relationships, multi-dates,
/// geolocation's `lat|lon`, link's `label|url`).
pub const MULTI: char = '|';
/// Between a thesaurus group and its value (`equipment::spaceship`).
pub const PARENT_CHILD: &str = "::";
/// Between the two dates of a range in an export (`2020-01-01~2020-02-01`).
pub const RANGE_EXPORT: char = '~';
/// Between the two dates of a range in an import file (`2020/01/01:2020/02/01`).
pub const RANGE_IMPORT: char = ':';

/// The parts of a multi-value cell, trimmed, without empty ones (as Uwazi splits them).
pub fn parts(cell: &str) -> Vec<&str> {
    cell.split(MULTI)
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

/// A date as Uwazi's CSV import reads it (`YYYY/MM/DD`, `YYYY-MM-DD`, `YYYY MM DD`,
/// `YYYY`, `December 17, 1995`, a Unix timestamp) or as its export writes it in the
/// usual user formats (`DD/MM/YYYY`, `MM/DD/YYYY`, with `/`, `-` or `.`). Returns the
/// date and whether the day/month order had to be assumed (both ≤ 12: day first, as
/// Uwazi's own CSV fixtures are).
pub fn date(text: &str) -> Option<(FuzzyDate, bool)> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    let day = |date: NaiveDate| FuzzyDate {
        date,
        precision: Precision::Day,
    };
    // A year alone.
    if t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit()) {
        let y: i32 = t.parse().ok()?;
        return Some((
            FuzzyDate {
                date: NaiveDate::from_ymd_opt(y, 1, 1)?,
                precision: Precision::Year,
            },
            false,
        ));
    }
    // A Unix timestamp (seconds), as the import accepts and the API stores.
    if t.len() > 4
        && t.trim_start_matches('-')
            .bytes()
            .all(|b| b.is_ascii_digit())
    {
        let secs: i64 = t.parse().ok()?;
        let dt = chrono::DateTime::from_timestamp(secs, 0)?;
        return Some((day(dt.date_naive()), false));
    }
    // An ISO timestamp: the date part.
    let t = match t.find('T') {
        Some(10) if t.as_bytes().get(4) == Some(&b'-') => &t[..10],
        _ => t,
    };
    if let Some(d) = month_name_date(t) {
        return Some((day(d), false));
    }
    let nums: Vec<&str> = t
        .split(['/', '-', '.', ' '])
        .filter(|s| !s.is_empty())
        .collect();
    if !nums
        .iter()
        .all(|n| n.bytes().all(|b| b.is_ascii_digit()) && n.len() <= 4)
    {
        return None;
    }
    let n = |s: &str| s.parse::<u32>().ok();
    match nums.as_slice() {
        [y, m] if y.len() == 4 => {
            let date = NaiveDate::from_ymd_opt(y.parse().ok()?, n(m)?, 1)?;
            Some((
                FuzzyDate {
                    date,
                    precision: Precision::Month,
                },
                false,
            ))
        }
        [y, m, d] if y.len() == 4 => Some((
            day(NaiveDate::from_ymd_opt(y.parse().ok()?, n(m)?, n(d)?)?),
            false,
        )),
        [a, b, y] if y.len() == 4 => {
            let (a, b, y) = (n(a)?, n(b)?, y.parse::<i32>().ok()?);
            if a > 12 {
                Some((day(NaiveDate::from_ymd_opt(y, b, a)?), false))
            } else if b > 12 {
                Some((day(NaiveDate::from_ymd_opt(y, a, b)?), false))
            } else {
                Some((day(NaiveDate::from_ymd_opt(y, b, a)?), a != b))
            }
        }
        _ => None,
    }
}

/// `December 17, 1995` or `17 December 1995` (moment's `LL`, English month names).
fn month_name_date(t: &str) -> Option<NaiveDate> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let words: Vec<String> = t
        .split([' ', ','])
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let month = |w: &str| {
        MONTHS
            .iter()
            .position(|m| w.len() >= 3 && m.starts_with(w))
            .map(|i| i as u32 + 1)
    };
    match words.as_slice() {
        [m, d, y] if month(m).is_some() => {
            NaiveDate::from_ymd_opt(y.parse().ok()?, month(m)?, d.parse().ok()?)
        }
        [d, m, y] if month(m).is_some() => {
            NaiveDate::from_ymd_opt(y.parse().ok()?, month(m)?, d.parse().ok()?)
        }
        _ => None,
    }
}

/// One date or a range (`from~to` in an export, `from:to` in an import file; either
/// side may be empty). `Err` when a side is written but is no date.
#[allow(clippy::type_complexity)]
pub fn date_or_range(text: &str) -> Result<(Option<FuzzyDate>, Option<FuzzyDate>, bool), ()> {
    let t = text.trim();
    let split = t
        .split_once(RANGE_EXPORT)
        .or_else(|| t.split_once(RANGE_IMPORT));
    let side = |s: &str| -> Result<(Option<FuzzyDate>, bool), ()> {
        if s.trim().is_empty() {
            Ok((None, false))
        } else {
            date(s).map(|(d, a)| (Some(d), a)).ok_or(())
        }
    };
    match split {
        Some((from, to)) => {
            let (from, a1) = side(from)?;
            let (to, a2) = side(to)?;
            Ok((from, to, a1 || a2))
        }
        None => {
            let (d, a) = side(t)?;
            Ok((d, None, a))
        }
    }
}

/// A geolocation cell, `lat|lon`, in range.
pub fn geolocation(text: &str) -> Option<(f64, f64)> {
    let (lat, lon) = text.trim().split_once(MULTI)?;
    let lat: f64 = lat.trim().parse().ok()?;
    let lon: f64 = lon.trim().parse().ok()?;
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then_some((lat, lon))
}

/// Whether a cell looks like a geolocation someone meant (`n|n`), right or wrong.
pub fn looks_like_geolocation(text: &str) -> bool {
    text.split_once(MULTI).is_some_and(|(a, b)| {
        let num = |s: &str| {
            let s = s.trim();
            !s.is_empty()
                && s.bytes()
                    .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'-' | b'+' | b','))
        };
        num(a) && num(b)
    })
}

/// The act type code a thesaurus value names: a code of the vocabulary or one of its
/// labels in any language (case and `_`/`-`/space ignored). A `parent::child` value is
/// tried as the child, then as the parent.
pub fn act_type(value: &str) -> Option<String> {
    let candidates: Vec<&str> = match value.split_once(PARENT_CHILD) {
        Some((parent, child)) => vec![child, parent, value],
        None => vec![value],
    };
    // Every code and label, folded, once.
    static INDEX: std::sync::OnceLock<std::collections::HashMap<String, String>> =
        std::sync::OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let mut m = std::collections::HashMap::new();
        for t in &custos_model::vocab::builtin().act_types.terms {
            m.entry(fold(&t.code)).or_insert_with(|| t.code.clone());
            for l in t.labels.values() {
                m.entry(fold(l)).or_insert_with(|| t.code.clone());
            }
        }
        m
    });
    candidates
        .into_iter()
        .map(fold)
        .filter(|k| !k.is_empty())
        .find_map(|k| index.get(&k).cloned())
}

/// The `mechanisms` vocabulary code a value names: a code or a label in any language
/// of the vocabulary, case and `_`/`-` aside (`parent::child` tried as child, then
/// parent, then whole).
pub fn mechanism(value: &str) -> Option<String> {
    let candidates: Vec<&str> = match value.split_once(PARENT_CHILD) {
        Some((parent, child)) => vec![child, parent, value],
        None => vec![value],
    };
    static INDEX: std::sync::OnceLock<std::collections::HashMap<String, String>> =
        std::sync::OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let mut m = std::collections::HashMap::new();
        for t in &custos_model::vocab::builtin().mechanisms.terms {
            m.entry(fold(&t.code)).or_insert_with(|| t.code.clone());
            for l in t.labels.values() {
                m.entry(fold(l)).or_insert_with(|| t.code.clone());
            }
        }
        m
    });
    candidates
        .into_iter()
        .map(fold)
        .filter(|k| !k.is_empty())
        .find_map(|k| index.get(&k).cloned())
}

/// The intervention type a value names: Custos's own labels and codes (`Urgent
/// appeal`, `urgent_appeal`), in English, Spanish or French.
pub fn intervention_type(value: &str) -> Option<InterventionType> {
    Some(match fold(value).replace('\u{2019}', "'").as_str() {
        "urgent appeal"
        | "urgentappeal"
        | "llamamiento urgente"
        | "acción urgente"
        | "accion urgente"
        | "appel urgent" => InterventionType::UrgentAppeal,
        "allegation letter"
        | "allegationletter"
        | "letter of allegation"
        | "carta de alegación"
        | "carta de alegacion"
        | "carta de alegaciones"
        | "lettre d'allégation"
        | "lettre d'allégations"
        | "lettre d'allegation"
        | "lettre d'allegations"
        | "lettre d allégation"
        | "lettre d allegation" => InterventionType::AllegationLetter,
        "other" | "otro" | "otra" | "autre" => InterventionType::Other,
        _ => return None,
    })
}

/// The intervention status a value names: Custos's own labels and codes (`Sent`,
/// `acknowledged`), in English, Spanish or French.
pub fn intervention_status(value: &str) -> Option<InterventionStatus> {
    Some(match fold(value).as_str() {
        "draft" | "borrador" | "brouillon" => InterventionStatus::Draft,
        "sent" | "enviado" | "enviada" | "envoyé" | "envoye" | "envoyée" | "envoyee" => {
            InterventionStatus::Sent
        }
        "acknowledged"
        | "acuse de recibo"
        | "recibido"
        | "recibida"
        | "accusé de réception"
        | "accuse de reception" => InterventionStatus::Acknowledged,
        "responded" | "answered" | "respondido" | "respondida" | "contestado" | "répondu"
        | "repondu" => InterventionStatus::Responded,
        "closed" | "cerrado" | "cerrada" | "clos" | "close" | "clôturé" | "cloture" | "fermé"
        | "ferme" => InterventionStatus::Closed,
        _ => return None,
    })
}

/// Lower case, `_` and `-` as spaces, spaces collapsed.
fn fold(s: &str) -> String {
    s.to_lowercase()
        .replace(['_', '-'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A column name's words, lower case (`"Date of incident"` → `date`, `of`, `incident`;
/// `geolocation_geolocation` → `geolocation`, `geolocation`).
pub fn words(name: &str) -> Vec<String> {
    name.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A header split into its name and its language suffix (`title__es` → `title`, `es`).
pub fn split_language(header: &str) -> (&str, Option<&str>) {
    match header.rsplit_once("__") {
        Some((base, lang))
            if !base.is_empty()
                && (2..=3).contains(&lang.len())
                && lang.bytes().all(|b| b.is_ascii_lowercase()) =>
        {
            (base, Some(lang))
        }
        _ => (header, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn dates_in_the_forms_uwazi_reads_and_writes() {
        let d = |s: &str| date(s).map(|(d, amb)| (d.date, d.precision, amb));
        assert_eq!(
            d("2021/12/01"),
            Some((ymd(2021, 12, 1), Precision::Day, false))
        );
        assert_eq!(
            d("2021-12-01"),
            Some((ymd(2021, 12, 1), Precision::Day, false))
        );
        assert_eq!(
            d("2014 11 6"),
            Some((ymd(2014, 11, 6), Precision::Day, false))
        );
        assert_eq!(d("2014"), Some((ymd(2014, 1, 1), Precision::Year, false)));
        assert_eq!(
            d("2014-03"),
            Some((ymd(2014, 3, 1), Precision::Month, false))
        );
        assert_eq!(
            d("December 17, 1995"),
            Some((ymd(1995, 12, 17), Precision::Day, false))
        );
        assert_eq!(
            d("25/01/2022"),
            Some((ymd(2022, 1, 25), Precision::Day, false))
        );
        assert_eq!(
            d("01/25/2022"),
            Some((ymd(2022, 1, 25), Precision::Day, false))
        );
        assert_eq!(
            d("03/01/2022"),
            Some((ymd(2022, 1, 3), Precision::Day, true))
        );
        assert_eq!(
            d("1641168000"),
            Some((ymd(2022, 1, 3), Precision::Day, false))
        );
        assert_eq!(
            d("2017-01-05T10:00:00Z"),
            Some((ymd(2017, 1, 5), Precision::Day, false))
        );
        for bad in ["", "soon", "2021/13/01", "32/01/2022", "1/2", "2021/02/30"] {
            assert_eq!(d(bad), None, "{bad}");
        }
    }

    #[test]
    fn ranges_in_both_separators() {
        let (f, t, _) = date_or_range("2020-01-01~2020-02-01").unwrap();
        assert_eq!(f.unwrap().date, ymd(2020, 1, 1));
        assert_eq!(t.unwrap().date, ymd(2020, 2, 1));
        let (f, t, _) = date_or_range("2020/01/01:").unwrap();
        assert_eq!(f.unwrap().date, ymd(2020, 1, 1));
        assert!(t.is_none());
        assert!(date_or_range("2020/01/01~later").is_err());
    }

    #[test]
    fn geolocations_and_act_types() {
        assert_eq!(geolocation("0.01|37.02"), Some((0.01, 37.02)));
        assert_eq!(geolocation(" 1 | 1 "), Some((1.0, 1.0)));
        assert_eq!(geolocation("91|0"), None);
        assert_eq!(geolocation("abc|1"), None);
        assert!(looks_like_geolocation("91|0"));
        assert!(!looks_like_geolocation("Thanos"));
        assert_eq!(act_type("Killing").as_deref(), Some("killing"));
        assert_eq!(
            act_type("extrajudicial_execution").as_deref(),
            Some("extrajudicial_execution")
        );
        assert_eq!(act_type("Homicidio").as_deref(), Some("killing"));
        assert_eq!(
            act_type("Killing::Extrajudicial execution").as_deref(),
            Some("extrajudicial_execution")
        );
        assert_eq!(act_type("ability::fly"), None);
    }

    #[test]
    fn headers_and_words() {
        assert_eq!(split_language("title__es"), ("title", Some("es")));
        assert_eq!(split_language("Title"), ("Title", None));
        assert_eq!(split_language("a__B"), ("a__B", None));
        assert_eq!(words(" Date of incident "), vec!["date", "of", "incident"]);
        assert_eq!(parts(" a | | b|"), vec!["a", "b"]);
    }
}
