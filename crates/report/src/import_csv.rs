//! CSV import with a column mapping: all or nothing.
//!
//! The mapping is a JSON file naming, for each CSV column to take, the record field it
//! fills (see `docs/exports.md`):
//!
//! ```json
//! { "columns": { "Full name": "name", "Born": "birth_date", "Case": "case_id" },
//!   "list_separator": ";" }
//! ```
//!
//! Every problem is collected — a malformed CSV row, a mapping naming an unknown field or
//! a column the file does not have, a value that does not validate (a bad date, an
//! unknown status) — each with its line and column; if there is any, nothing is
//! imported. Otherwise every row becomes a new record, all in one vault commit. Columns
//! the mapping does not name are ignored (and listed in the result).

use std::collections::{BTreeMap, HashSet};

use serde_json::{json, Map, Value};
use uuid::Uuid;

use custos_model::{Kind, Record};
use custos_vault::error::{Error, Problem, Result};
use custos_vault::{Change, Filter, Vault};

/// How a CSV cell becomes a JSON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    /// Text as it is.
    Text,
    /// A list of texts, split on the separator.
    List,
    /// A list of enum values (`intervening party` → `intervening_party`).
    EnumList,
    /// A snake_case enum value (`Not asked` → `not_asked`).
    Enum,
    /// yes/no, true/false, 1/0.
    Bool,
    /// A whole number.
    Int,
    /// A decimal number.
    Float,
    /// `YYYY-MM-DD`.
    Date,
    /// `YYYY-MM-DD`, `YYYY-MM` or `YYYY`: a date with its precision.
    FuzzyDate,
    /// A record id.
    Uuid,
}

/// The fields a mapping may name, per kind.
const FIELDS: &[(Kind, &str, Ty)] = &[
    (Kind::Case, "title", Ty::Text),
    (Kind::Case, "summary", Ty::Text),
    (Kind::Case, "status", Ty::Enum),
    (Kind::Case, "tags", Ty::List),
    (Kind::Case, "confidentiality", Ty::Enum),
    (Kind::Case, "owner", Ty::Text),
    (Kind::Incident, "case_id", Ty::Uuid),
    (Kind::Incident, "title", Ty::Text),
    (Kind::Incident, "description", Ty::Text),
    (Kind::Incident, "start", Ty::FuzzyDate),
    (Kind::Incident, "start.precision", Ty::Enum),
    (Kind::Incident, "end", Ty::FuzzyDate),
    (Kind::Incident, "end.precision", Ty::Enum),
    (Kind::Incident, "location.place", Ty::Text),
    (Kind::Incident, "location.region", Ty::Text),
    (Kind::Incident, "location.country", Ty::Text),
    (Kind::Incident, "location.lat", Ty::Float),
    (Kind::Incident, "location.lon", Ty::Float),
    (Kind::Incident, "act_types", Ty::List),
    (Kind::Incident, "impact", Ty::Text),
    (Kind::Person, "case_id", Ty::Uuid),
    (Kind::Person, "name", Ty::Text),
    (Kind::Person, "other_names", Ty::List),
    (Kind::Person, "roles", Ty::EnumList),
    (Kind::Person, "is_group", Ty::Bool),
    (Kind::Person, "group_size", Ty::Int),
    (Kind::Person, "sex", Ty::Text),
    (Kind::Person, "birth_date", Ty::FuzzyDate),
    (Kind::Person, "birth_date.precision", Ty::Enum),
    (Kind::Person, "occupation", Ty::Text),
    (Kind::Person, "organisation", Ty::Text),
    (Kind::Person, "human_rights_work", Ty::Text),
    (Kind::Person, "residence", Ty::Text),
    (Kind::Person, "citizenship", Ty::Text),
    (Kind::Person, "consent.share_with_government", Ty::Enum),
    (Kind::Person, "consent.publish", Ty::Enum),
    (Kind::Person, "consent.un_sr_hrd", Ty::Enum),
    (Kind::Person, "consent.omct_fidh_observatory", Ty::Enum),
    (Kind::Person, "consent.eu_delegation", Ty::Enum),
    (Kind::Person, "consent.achpr_sr_hrd", Ty::Enum),
    (Kind::Person, "consent.iachr_hrd_unit", Ty::Enum),
    (Kind::Person, "contact", Ty::Text),
    (Kind::Intervention, "case_id", Ty::Uuid),
    (Kind::Intervention, "title", Ty::Text),
    (Kind::Intervention, "mechanism", Ty::Text),
    (Kind::Intervention, "type", Ty::Enum),
    (Kind::Intervention, "date", Ty::Date),
    (Kind::Intervention, "status", Ty::Enum),
    (Kind::Intervention, "reference", Ty::Text),
    (Kind::Intervention, "response", Ty::Text),
    (Kind::Intervention, "channel", Ty::Text),
    (Kind::Intervention, "follow_up", Ty::Date),
    (Kind::Intervention, "language", Ty::Text),
    (Kind::Note, "case_id", Ty::Uuid),
    (Kind::Note, "text", Ty::Text),
];

/// The record fields a mapping may name for this kind (empty for evidence, which is
/// imported from its file).
pub fn fields(kind: Kind) -> Vec<&'static str> {
    FIELDS
        .iter()
        .filter(|(k, _, _)| *k == kind)
        .map(|(_, f, _)| *f)
        .collect()
}

fn field_type(kind: Kind, field: &str) -> Option<Ty> {
    FIELDS
        .iter()
        .find(|(k, f, _)| *k == kind && *f == field)
        .map(|(_, _, t)| *t)
}

/// A column mapping: which CSV column fills which record field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// CSV column name → record field (`name`, `consent.publish`, `location.place` …).
    pub columns: BTreeMap<String, String>,
    /// Separator of the items of a list field (default `;`).
    pub list_separator: String,
}

impl Mapping {
    /// Reads a mapping file. A malformed one is an [`Error::Import`] naming its line.
    pub fn from_json(bytes: &[u8]) -> Result<Mapping> {
        let problem = |line, field: &str, message: String| {
            Error::Import(vec![Problem {
                line,
                field: field.into(),
                message,
            }])
        };
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            problem(
                Some(e.line()),
                "mapping",
                format!("not valid JSON: {}", strip_position(&e.to_string())),
            )
        })?;
        let Value::Object(obj) = value else {
            return Err(problem(
                None,
                "mapping",
                "must be an object with \"columns\"".into(),
            ));
        };
        let mut problems = Vec::new();
        let mut columns = BTreeMap::new();
        let mut list_separator = ";".to_owned();
        for (k, v) in obj {
            match (k.as_str(), v) {
                ("columns", Value::Object(cols)) => {
                    for (col, field) in cols {
                        match field {
                            Value::String(f) => {
                                columns.insert(col, f);
                            }
                            _ => problems.push(Problem {
                                line: None,
                                field: format!("mapping.columns.{col}"),
                                message: "must be the name of a record field (text)".into(),
                            }),
                        }
                    }
                }
                ("list_separator", Value::String(s)) if !s.is_empty() => list_separator = s,
                (k @ ("columns" | "list_separator"), _) => problems.push(Problem {
                    line: None,
                    field: format!("mapping.{k}"),
                    message: if k == "columns" {
                        "must be an object: {\"CSV column\": \"field\"}".into()
                    } else {
                        "must be a non-empty text".into()
                    },
                }),
                (other, _) => problems.push(Problem {
                    line: None,
                    field: format!("mapping.{other}"),
                    message: "no such setting (columns, list_separator)".into(),
                }),
            }
        }
        if columns.is_empty() && problems.is_empty() {
            problems.push(Problem {
                line: None,
                field: "mapping.columns".into(),
                message: "maps no column".into(),
            });
        }
        if !problems.is_empty() {
            return Err(Error::Import(problems));
        }
        Ok(Mapping {
            columns,
            list_separator,
        })
    }
}

/// What a CSV import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvImportStats {
    /// The new records' ids, in file order.
    pub ids: Vec<Uuid>,
    /// CSV columns the mapping does not name (not imported).
    pub ignored_columns: Vec<String>,
}

/// Imports the rows of `csv` as new records of `kind`. Records of a case take their case
/// from a `case_id` column, else from `case`. Nothing is written unless every row checks
/// out; then all rows are written in one commit.
pub fn import_csv(
    vault: &mut Vault,
    kind: Kind,
    csv: &[u8],
    mapping: &Mapping,
    case: Option<Uuid>,
) -> Result<CsvImportStats> {
    let mut problems = Vec::new();
    if kind == Kind::Evidence {
        return Err(Error::Invalid(
            "evidence is imported from its file (custos evidence add), not from CSV".into(),
        ));
    }
    // The mapping against the kind.
    let mut targets: HashSet<&str> = HashSet::new();
    let mut mapped: Vec<(&str, &str, Ty)> = Vec::new();
    for (col, field) in &mapping.columns {
        match field_type(kind, field) {
            Some(t) => {
                if !targets.insert(field) {
                    problems.push(Problem {
                        line: None,
                        field: col.clone(),
                        message: format!("mapping: field '{field}' is filled by two columns"),
                    });
                }
                mapped.push((col, field, t));
            }
            None => problems.push(Problem {
                line: None,
                field: col.clone(),
                message: format!(
                    "mapping: a {} has no field '{field}' (fields: {})",
                    kind.as_str(),
                    fields(kind).join(", ")
                ),
            }),
        }
    }
    // Parents before their precision.
    mapped.sort_by_key(|(_, f, _)| f.ends_with(".precision"));
    let needs_case = kind != Kind::Case;
    let case_from_column = targets.contains("case_id");
    if needs_case && !case_from_column && case.is_none() {
        problems.push(Problem {
            line: None,
            field: "case_id".into(),
            message: format!(
                "a {} belongs to a case: map a column to case_id, or give the case (--case ID)",
                kind.as_str()
            ),
        });
    }
    if let Some(c) = case {
        if needs_case && !is_case(vault, c) {
            problems.push(Problem {
                line: None,
                field: "case_id".into(),
                message: format!("--case: no case {c} in the vault"),
            });
        }
    }

    let text = csv.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(csv);
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text);
    let header: Vec<String> = match reader.byte_headers() {
        Ok(h) => h
            .iter()
            .map(|c| String::from_utf8_lossy(c).trim().to_owned())
            .collect(),
        Err(e) => {
            problems.push(Problem {
                line: Some(1),
                field: String::new(),
                message: format!("the header line cannot be read: {}", csv_message(&e)),
            });
            return Err(Error::Import(problems));
        }
    };
    let mut seen = HashSet::new();
    for h in &header {
        if !h.is_empty() && !seen.insert(h.as_str()) {
            problems.push(Problem {
                line: Some(1),
                field: h.clone(),
                message: "this column name appears twice".into(),
            });
        }
    }
    let mut index: Vec<(usize, &str, &str, Ty)> = Vec::new();
    for (col, field, t) in &mapped {
        match header.iter().position(|h| h == col) {
            Some(i) => index.push((i, col, field, *t)),
            None => problems.push(Problem {
                line: Some(1),
                field: (*col).to_owned(),
                message: "the mapping names this column but the file has no such column".into(),
            }),
        }
    }
    let ignored_columns: Vec<String> = header
        .iter()
        .filter(|h| !mapping.columns.contains_key(h.as_str()))
        .cloned()
        .collect();

    let vocab = custos_model::vocab::builtin();
    let mut records: Vec<Record> = Vec::new();
    let mut rows = 0;
    for row in reader.byte_records() {
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                problems.push(Problem {
                    line: e.position().map(|p| p.line() as usize),
                    field: String::new(),
                    message: format!("malformed CSV: {}", csv_message(&e)),
                });
                continue;
            }
        };
        let line = row.position().map(|p| p.line() as usize);
        let cells: Vec<(&str, &str, Ty, Option<&str>)> = index
            .iter()
            .map(|(i, col, field, t)| {
                let cell = row.get(*i).and_then(|b| std::str::from_utf8(b).ok());
                (*col, *field, *t, cell)
            })
            .collect();
        if row.iter().all(|b| b.iter().all(u8::is_ascii_whitespace)) {
            continue; // an empty row (spreadsheets add them)
        }
        rows += 1;
        let before = problems.len();
        let mut obj = Map::new();
        obj.insert("kind".into(), json!(kind.as_str()));
        if needs_case {
            if let Some(c) = case {
                obj.insert("case_id".into(), json!(c));
            }
        }
        for (col, field, t, cell) in &cells {
            let Some(cell) = cell else {
                problems.push(Problem {
                    line,
                    field: (*col).to_owned(),
                    message: "not valid UTF-8 text (save the file as UTF-8)".into(),
                });
                continue;
            };
            let cell = cell.trim();
            if cell.is_empty() {
                continue;
            }
            let value = match convert(cell, *t, &mapping.list_separator) {
                Ok(v) => v,
                Err(m) => {
                    problems.push(Problem {
                        line,
                        field: (*col).to_owned(),
                        message: format!("{field}: {m}"),
                    });
                    continue;
                }
            };
            // Each value alone first, so that every bad cell of a row is reported.
            let mut alone = Map::new();
            alone.insert("kind".into(), json!(kind.as_str()));
            if needs_case {
                alone.insert("case_id".into(), json!(Uuid::nil()));
            }
            if let Some(parent) = field.strip_suffix(".precision") {
                set_path(&mut alone, parent, json!({ "date": "2000-01-01" }));
            }
            set_path(&mut alone, field, value.clone());
            if let Err(e) = Record::from_json(Value::Object(alone)) {
                problems.push(Problem {
                    line,
                    field: (*col).to_owned(),
                    message: format!("{field}: {}", e.message),
                });
                continue;
            }
            if *field == "case_id" {
                if let Some(id) = value.as_str().and_then(|s| Uuid::parse_str(s).ok()) {
                    if !is_case(vault, id) {
                        problems.push(Problem {
                            line,
                            field: (*col).to_owned(),
                            message: format!("case_id: no case {id} in the vault"),
                        });
                    }
                }
            }
            if *field == "act_types" {
                for code in value.as_array().into_iter().flatten() {
                    let code = code.as_str().unwrap_or_default();
                    if !vocab.act_types.contains(code) {
                        problems.push(Problem {
                            line,
                            field: (*col).to_owned(),
                            message: format!(
                                "act_types: unknown act type '{code}' (see custos vocab act-types)"
                            ),
                        });
                    }
                }
            }
            if *field == "mechanism" {
                let code = value.as_str().unwrap_or_default();
                if !vocab.mechanisms.contains(code) {
                    problems.push(Problem {
                        line,
                        field: (*col).to_owned(),
                        message: format!(
                            "mechanism: unknown mechanism '{code}' (see custos vocab mechanisms)"
                        ),
                    });
                }
            }
            set_path(&mut obj, field, value);
        }
        if problems.len() > before {
            continue;
        }
        // The whole row: required fields, dates in order.
        let record = match Record::from_json(Value::Object(obj)) {
            Ok(r) => r,
            Err(e) => {
                problems.push(Problem {
                    line,
                    field: column_of(&index, &e.path),
                    message: e.to_string(),
                });
                continue;
            }
        };
        if let Err(m) = record.validate() {
            problems.push(Problem {
                line,
                field: column_of(&index, validated_field(&m)),
                message: m,
            });
            continue;
        }
        records.push(record);
    }
    if rows == 0 && problems.is_empty() {
        problems.push(Problem {
            line: None,
            field: String::new(),
            message: "the file has no rows to import".into(),
        });
    }
    if !problems.is_empty() {
        return Err(Error::Import(problems));
    }
    let written = vault.commit(records.into_iter().map(Change::Create).collect())?;
    Ok(CsvImportStats {
        ids: written.into_iter().map(|w| w.record_id).collect(),
        ignored_columns,
    })
}

fn is_case(vault: &Vault, id: Uuid) -> bool {
    vault
        .list(&Filter {
            kind: Some(Kind::Case),
            case_id: Some(id),
            ..Filter::default()
        })
        .iter()
        .any(|i| i.record_id == id)
}

/// The field a message of [`Record::validate`] is about (its first word).
fn validated_field(message: &str) -> &str {
    match message.split([' ', ':']).next().unwrap_or("") {
        "latitude" => "location.lat",
        "longitude" => "location.lon",
        other => other,
    }
}

/// The CSV column that fills a record field (or the field itself when none does).
fn column_of(index: &[(usize, &str, &str, Ty)], field: &str) -> String {
    let field = field.trim();
    index
        .iter()
        .find(|(_, _, f, _)| *f == field || field.starts_with(&format!("{f}.")))
        .map(|(_, c, _, _)| (*c).to_owned())
        .unwrap_or_else(|| field.to_owned())
}

fn enum_value(s: &str) -> String {
    s.trim()
        .to_lowercase()
        .chars()
        .map(|c| if c == ' ' || c == '-' { '_' } else { c })
        .collect()
}

/// One cell as the JSON value of its field.
fn convert(cell: &str, t: Ty, sep: &str) -> std::result::Result<Value, String> {
    // A cell an export neutralised for spreadsheets ('=…) reads back as it was.
    let cell = crate::csv::unneutralise(cell);
    let list = |f: &dyn Fn(&str) -> String| -> Value {
        Value::Array(
            cell.split(sep)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| json!(f(s)))
                .collect(),
        )
    };
    Ok(match t {
        Ty::Text => json!(cell),
        Ty::List => list(&|s| s.to_owned()),
        Ty::EnumList => list(&enum_value),
        Ty::Enum => json!(enum_value(cell)),
        Ty::Bool => match cell.to_lowercase().as_str() {
            "yes" | "y" | "true" | "1" => json!(true),
            "no" | "n" | "false" | "0" => json!(false),
            _ => return Err(format!("'{cell}' is not yes or no")),
        },
        Ty::Int => json!(cell
            .parse::<u32>()
            .map_err(|_| format!("'{cell}' is not a whole number"))?),
        Ty::Float => {
            let v: f64 = cell
                .parse()
                .map_err(|_| format!("'{cell}' is not a number"))?;
            if !v.is_finite() {
                return Err(format!("'{cell}' is not a number"));
            }
            json!(v)
        }
        Ty::Date => json!(chrono::NaiveDate::parse_from_str(cell, "%Y-%m-%d")
            .map_err(|_| format!("'{cell}' is not a date (YYYY-MM-DD)"))?
            .to_string()),
        Ty::FuzzyDate => {
            let bad = || format!("'{cell}' is not a date (YYYY-MM-DD, YYYY-MM or YYYY)");
            let (date, precision) = match cell.len() {
                10 => (
                    chrono::NaiveDate::parse_from_str(cell, "%Y-%m-%d").map_err(|_| bad())?,
                    "day",
                ),
                7 => (
                    chrono::NaiveDate::parse_from_str(&format!("{cell}-01"), "%Y-%m-%d")
                        .map_err(|_| bad())?,
                    "month",
                ),
                4 => (
                    chrono::NaiveDate::parse_from_str(&format!("{cell}-01-01"), "%Y-%m-%d")
                        .map_err(|_| bad())?,
                    "year",
                ),
                _ => return Err(bad()),
            };
            json!({ "date": date.to_string(), "precision": precision })
        }
        Ty::Uuid => json!(Uuid::parse_str(cell)
            .map_err(|_| format!("'{cell}' is not a record id"))?
            .to_string()),
    })
}

/// Sets a dotted path in a JSON object, creating the objects on the way.
fn set_path(obj: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            obj.insert(path.to_owned(), value);
        }
        Some((head, rest)) => {
            let next = obj.entry(head).or_insert_with(|| json!({}));
            if !next.is_object() {
                *next = json!({});
            }
            if let Some(o) = next.as_object_mut() {
                set_path(o, rest, value);
            }
        }
    }
}

fn csv_message(e: &::csv::Error) -> String {
    match e.kind() {
        ::csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len}"),
        ::csv::ErrorKind::Utf8 { .. } => "not valid UTF-8 text (save the file as UTF-8)".into(),
        ::csv::ErrorKind::Io(e) => e.to_string(),
        _ => "the row cannot be read".into(),
    }
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_convert_by_type() {
        assert_eq!(
            convert("2024-05", Ty::FuzzyDate, ";").unwrap(),
            json!({"date": "2024-05-01", "precision": "month"})
        );
        assert!(convert("2024-13-01", Ty::FuzzyDate, ";").is_err());
        assert!(convert("31/12/2024", Ty::Date, ";").is_err());
        assert_eq!(
            convert("Victim; intervening party", Ty::EnumList, ";").unwrap(),
            json!(["victim", "intervening_party"])
        );
        assert_eq!(
            convert("Not asked", Ty::Enum, ";").unwrap(),
            json!("not_asked")
        );
        assert!(convert("maybe", Ty::Bool, ";").is_err());
        assert!(convert("NaN", Ty::Float, ";").is_err());
    }

    #[test]
    fn a_mapping_with_an_unknown_setting_is_refused() {
        let e = Mapping::from_json(br#"{"columns": {"A": "name"}, "colums": {}}"#).unwrap_err();
        assert!(e.to_string().contains("mapping.colums"), "{e}");
        let e = Mapping::from_json(b"{\n\"columns\": [}").unwrap_err();
        let Error::Import(p) = e else { panic!() };
        assert_eq!(p[0].line, Some(2));
        let m = Mapping::from_json(br#"{"columns": {"A": "name"}}"#).unwrap();
        assert_eq!(m.list_separator, ";");
    }
}
