//! The way out to Uwazi (HURIDOCS): CSV files in the form Uwazi's CSV import reads, one
//! per Uwazi template, in a new folder, with `templates.md` telling what to create in
//! Uwazi before importing them.
//!
//! Uwazi's import (`app/api/csv` in `huridocs/uwazi`) takes one CSV per template: a
//! `title` column and one column per property, named by the property's name (its label
//! made lower case, other characters `_`). Dates are read as `YYYY/MM/DD` (or `YYYY`),
//! several values are joined with `|`, a geolocation is `lat|lon`, a select takes the
//! value's label (new labels are added to the thesaurus), a relationship names the
//! related entities by title (and creates those it does not find). So:
//!
//! - `cases.csv` (template *Case*), `persons.csv` (*Person*), `incidents.csv`
//!   (*Incident*, related to its case, its persons and its related incidents by title),
//!   `interventions.csv` (*Intervention*): import them in that order, so that the
//!   relationships find the entities they name (Uwazi creates an entity a relationship
//!   names but does not find: one imported later would be there twice); incidents come
//!   after the incidents they are related to, as far as the links allow;
//! - `act-types-thesaurus.csv`: the act types in English, Spanish, French, Arabic and
//!   Persian, in the form Uwazi's thesaurus import reads, for the *Act types* thesaurus;
//! - `templates.md`: the templates and properties to create.
//!
//! Not exported: evidence files and notes (Uwazi attaches files to entities by hand),
//! and a person's contact details and per-mechanism consents. Every text cell is
//! neutralised against spreadsheet formulas ([`crate::csv::neutralise`]); dates and
//! geolocations, which are written from numbers, are written as they are. Encrypted,
//! every file is an age file named `….age`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use uuid::Uuid;
use zeroize::Zeroize;

use super::{
    confidentiality_label, intervention_status_label, intervention_type_label, mechanism_label,
    role_label, roles_of, status_label, Loaded, Progress, Selection,
};
use crate::csv::neutralise;
use crate::output::{OutputDir, Protection};
use custos_model::{FuzzyDate, Precision};
use custos_vault::error::{Error, Result};
use custos_vault::Vault;

/// A property of an Uwazi template, as `templates.md` tells the user to create it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Property {
    /// The column's name: the property's name in Uwazi (its label, lower case, `_`).
    pub name: &'static str,
    /// The label to give it in Uwazi.
    pub label: &'static str,
    /// Its Uwazi type, as the template editor names it.
    pub kind: &'static str,
    /// What to choose for it (thesaurus, related template), if anything.
    pub detail: &'static str,
}

const fn p(
    name: &'static str,
    label: &'static str,
    kind: &'static str,
    detail: &'static str,
) -> Property {
    Property {
        name,
        label,
        kind,
        detail,
    }
}

/// The CSV files of an Uwazi export in the order they are written (and imported), with
/// the template each is for and its columns after `title`.
pub const TEMPLATES: &[(&str, &str, &[Property])] = &[
    (
        "cases.csv",
        "Case",
        &[
            p("summary", "Summary", "Rich text", ""),
            p("status", "Status", "Select", "thesaurus \"Case status\""),
            p(
                "confidentiality",
                "Confidentiality",
                "Select",
                "thesaurus \"Confidentiality\"",
            ),
            p("tags", "Tags", "Multiple select", "thesaurus \"Tags\""),
            p("owner", "Owner", "Text", ""),
            p("custos_id", "Custos id", "Text", ""),
        ],
    ),
    (
        "persons.csv",
        "Person",
        &[
            p(
                "case",
                "Case",
                "Relationship",
                "to entities of template \"Case\"",
            ),
            p(
                "other_names",
                "Other names",
                "Text",
                "several are joined with |",
            ),
            p("roles", "Roles", "Multiple select", "thesaurus \"Roles\""),
            p("group", "Group", "Select", "thesaurus \"Yes or no\""),
            p("group_size", "Group size", "Numeric", ""),
            p("sex", "Sex", "Text", ""),
            p("birth_date", "Birth date", "Date", ""),
            p("occupation", "Occupation", "Text", ""),
            p("organisation", "Organisation", "Text", ""),
            p("human_rights_work", "Human rights work", "Rich text", ""),
            p("residence", "Residence", "Text", ""),
            p("citizenship", "Citizenship", "Text", ""),
            p(
                "consent_to_publish",
                "Consent to publish",
                "Select",
                "thesaurus \"Consent\" (Given, Refused, Not asked)",
            ),
            p("custos_id", "Custos id", "Text", ""),
        ],
    ),
    (
        "incidents.csv",
        "Incident",
        &[
            p(
                "case",
                "Case",
                "Relationship",
                "to entities of template \"Case\"",
            ),
            p("description", "Description", "Rich text", ""),
            p("start_date", "Start date", "Date", ""),
            p("end_date", "End date", "Date", ""),
            p(
                "date_precision",
                "Date precision",
                "Select",
                "thesaurus \"Date precision\" (Day, Month, Year, Approximate)",
            ),
            p("place", "Place", "Text", ""),
            p("region", "Region", "Text", ""),
            p("country", "Country", "Text", ""),
            p(
                "geolocation_geolocation",
                "Geolocation",
                "Geolocation",
                "Uwazi names it geolocation_geolocation itself",
            ),
            p(
                "act_types",
                "Act types",
                "Multiple select",
                "thesaurus \"Act types\" (import act-types-thesaurus.csv into it)",
            ),
            p(
                "persons_involved",
                "Persons involved",
                "Relationship",
                "to entities of template \"Person\"",
            ),
            p(
                "related_incidents",
                "Related incidents",
                "Relationship",
                "to entities of template \"Incident\"",
            ),
            p("impact", "Impact", "Rich text", ""),
            p("custos_id", "Custos id", "Text", ""),
        ],
    ),
    (
        "interventions.csv",
        "Intervention",
        &[
            p(
                "case",
                "Case",
                "Relationship",
                "to entities of template \"Case\"",
            ),
            p(
                "mechanism",
                "Mechanism",
                "Select",
                "thesaurus \"Mechanisms\"",
            ),
            p(
                "intervention_type",
                "Intervention type",
                "Select",
                "thesaurus \"Intervention types\"",
            ),
            p("sent_on", "Sent on", "Date", ""),
            p(
                "intervention_status",
                "Intervention status",
                "Select",
                "thesaurus \"Intervention status\"",
            ),
            p("reference", "Reference", "Text", ""),
            p("response", "Response", "Rich text", ""),
            p(
                "incidents",
                "Incidents",
                "Relationship",
                "to entities of template \"Incident\"",
            ),
            p(
                "on_behalf_of",
                "On behalf of",
                "Relationship",
                "to entities of template \"Person\"",
            ),
            p("channel", "Channel", "Text", ""),
            p("follow_up", "Follow-up", "Date", ""),
            p("custos_id", "Custos id", "Text", ""),
        ],
    ),
];

/// The thesaurus file of the act types.
pub const ACT_TYPES_FILE: &str = "act-types-thesaurus.csv";
/// The README naming the templates to create.
pub const README: &str = "templates.md";

/// Languages of the act types thesaurus: vocabulary code, Uwazi's name of the language
/// (the thesaurus import's column names).
const THESAURUS_LANGUAGES: [(&str, &str); 5] = [
    ("en", "English"),
    ("es", "Spanish"),
    ("fr", "French"),
    ("ar", "Arabic"),
    ("fa", "Persian (Farsi)"),
];

/// The columns of one CSV file of the export, `title` first.
pub fn columns(file: &str) -> Option<Vec<&'static str>> {
    TEMPLATES
        .iter()
        .find(|(f, _, _)| *f == file)
        .map(|(_, _, props)| {
            std::iter::once("title")
                .chain(props.iter().map(|p| p.name))
                .collect()
        })
}

/// What an Uwazi export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UwaziStats {
    /// The files written: the entity CSVs in [`TEMPLATES`] order, the act types
    /// thesaurus, then `templates.md`.
    pub files: Vec<PathBuf>,
    /// Entity rows written, all files together (headers not counted).
    pub rows: usize,
}

/// Writes the selection as Uwazi import CSVs into `dest`, a new folder (its parent must
/// exist). On any error the folder and everything written in it are removed.
/// `progress` counts records read, then files written.
pub fn export_uwazi(
    vault: &Vault,
    selection: &Selection,
    dest: &Path,
    protection: &Protection,
    progress: Progress<'_>,
) -> Result<UwaziStats> {
    let ids = selection.resolve(vault)?;
    let mut out = OutputDir::create(dest)?;
    let steps = TEMPLATES.len() + 2;
    let total = ids.len() + steps;
    let loaded = Loaded::load(vault, &ids, &mut |d, _| progress(d, total))?;
    let tables = tables(&loaded);
    let name = |n: &str| {
        if protection.is_encrypted() {
            format!("{n}.age")
        } else {
            n.to_owned()
        }
    };
    let mut rows = 0;
    for (n, ((file, _, _), mut table)) in TEMPLATES.iter().zip(tables).enumerate() {
        let header = columns(file).unwrap_or_default();
        rows += table.len();
        let written = out.write(&name(file), protection, |w| write_table(w, &header, &table));
        table.iter_mut().flatten().for_each(|c| c.zeroize());
        written?;
        progress(ids.len() + n + 1, total);
    }
    out.write(&name(ACT_TYPES_FILE), protection, write_act_types)?;
    progress(ids.len() + steps - 1, total);
    out.write(&name(README), protection, |w| {
        w.write_all(readme().as_bytes())
            .map_err(|e| Error::io("writing the Uwazi export", e))
    })?;
    progress(total, total);
    let files = out.finish()?;
    Ok(UwaziStats { files, rows })
}

/// A cell as written: text neutralised, a value Custos built from numbers as it is.
enum Cell {
    Text(String),
    Built(String),
}

impl Zeroize for Cell {
    fn zeroize(&mut self) {
        match self {
            Cell::Text(s) | Cell::Built(s) => s.zeroize(),
        }
    }
}

fn write_table(w: &mut dyn Write, header: &[&str], rows: &[Vec<Cell>]) -> Result<()> {
    let mut c = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(w);
    c.write_record(header).map_err(csv_error)?;
    for r in rows {
        let mut cells: Vec<Cow<'_, str>> = r
            .iter()
            .map(|cell| match cell {
                Cell::Text(s) => neutralise(s),
                Cell::Built(s) => Cow::Borrowed(s.as_str()),
            })
            .collect();
        let written = c.write_record(cells.iter().map(|cell| cell.as_bytes()));
        for cell in &mut cells {
            if let Cow::Owned(copy) = cell {
                copy.zeroize();
            }
        }
        written.map_err(csv_error)?;
    }
    c.flush()
        .map_err(|e| Error::io("writing the Uwazi export", e))?;
    Ok(())
}

fn write_act_types(w: &mut dyn Write) -> Result<()> {
    let mut c = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(w);
    c.write_record(THESAURUS_LANGUAGES.iter().map(|(_, name)| *name))
        .map_err(csv_error)?;
    for t in &custos_model::vocab::builtin().act_types.terms {
        let labels: Vec<Cow<'_, str>> = THESAURUS_LANGUAGES
            .iter()
            .map(|(lang, _)| neutralise(t.label(lang)))
            .collect();
        c.write_record(labels.iter().map(|l| l.as_bytes()))
            .map_err(csv_error)?;
    }
    c.flush()
        .map_err(|e| Error::io("writing the Uwazi export", e))?;
    Ok(())
}

fn csv_error(e: ::csv::Error) -> Error {
    match e.into_kind() {
        ::csv::ErrorKind::Io(e) => Error::io("writing the Uwazi export", e),
        other => Error::Invalid(format!("writing the Uwazi export: {other:?}")),
    }
}

/// Several values in one cell, as Uwazi reads them: joined with `|`, each without a `|`
/// of its own (one would split it in two).
fn multi(values: impl IntoIterator<Item = String>) -> String {
    values
        .into_iter()
        .map(|v| v.replace('|', "/").trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect::<Vec<_>>()
        .join("|")
}

/// A date as Uwazi's import reads it: `YYYY/MM/DD`, or `YYYY` for a year alone.
fn date(d: Option<&FuzzyDate>) -> String {
    match d {
        None => String::new(),
        Some(d) if d.precision == Precision::Year => d.date.format("%Y").to_string(),
        Some(d) => d.date.format("%Y/%m/%d").to_string(),
    }
}

fn precision_label(p: Precision) -> &'static str {
    match p {
        Precision::Day => "Day",
        Precision::Month => "Month",
        Precision::Year => "Year",
        Precision::Approximate => "Approximate",
    }
}

fn consent(c: custos_model::Consent) -> &'static str {
    super::consent_label(c)
}

/// Titles as Uwazi relationships name entities: a title given to two records of the
/// export gets ` (2)`, ` (3)`… in the order they are written, so that each relationship
/// names one entity.
struct Titles {
    by_id: HashMap<Uuid, String>,
}

impl Titles {
    fn new(groups: &[Vec<(Uuid, String)>]) -> Titles {
        let mut by_id = HashMap::new();
        for group in groups {
            let mut seen: HashMap<String, usize> = HashMap::new();
            for (id, title) in group {
                let base = title.replace('|', "/").trim().to_owned();
                let base = if base.is_empty() {
                    format!("Untitled {id}")
                } else {
                    base
                };
                let n = seen.entry(base.to_lowercase()).or_insert(0);
                *n += 1;
                let t = if *n == 1 {
                    base
                } else {
                    format!("{base} ({n})")
                };
                by_id.insert(*id, t);
            }
        }
        Titles { by_id }
    }

    fn of(&self, id: Uuid) -> String {
        self.by_id.get(&id).cloned().unwrap_or_default()
    }
}

/// The rows of every file, in [`TEMPLATES`] order.
fn tables(l: &Loaded) -> Vec<Vec<Vec<Cell>>> {
    use Cell::{Built, Text};
    let mut case_titles: Vec<(Uuid, String)> = l
        .cases
        .iter()
        .map(|(id, c)| (*id, c.title.clone()))
        .collect();
    case_titles.extend(l.linked_cases.iter().map(|(id, c)| (*id, c.title.clone())));
    let titles = Titles::new(&[
        case_titles,
        l.incidents
            .iter()
            .map(|(id, i)| (*id, i.title.clone()))
            .collect(),
        l.persons
            .iter()
            .map(|(id, p)| (*id, p.name.clone()))
            .chain(l.linked_persons.iter().map(|(id, p)| (*id, p.name.clone())))
            .collect(),
        l.interventions
            .iter()
            .map(|(id, i)| (*id, i.title.clone()))
            .collect(),
    ]);

    let cases = l
        .cases
        .iter()
        .map(|(id, c)| {
            vec![
                Text(titles.of(*id)),
                Text(c.summary.clone()),
                Text(status_label(c.status).into()),
                Text(confidentiality_label(c.confidentiality).into()),
                Text(multi(c.tags.iter().cloned())),
                Text(c.owner.clone()),
                Built(id.to_string()),
            ]
        })
        .collect();

    let incidents = related_first(&l.incidents)
        .into_iter()
        .map(|(id, i)| {
            let loc = i.location.as_ref();
            let text = |f: fn(&custos_model::Location) -> &String| {
                Text(loc.map(|l| f(l).clone()).unwrap_or_default())
            };
            let geo = match loc.map(|l| (l.lat, l.lon)) {
                Some((Some(lat), Some(lon))) => format!("{lat}|{lon}"),
                _ => String::new(),
            };
            let precision = i
                .start
                .or(i.end)
                .map(|d| precision_label(d.precision))
                .unwrap_or_default();
            vec![
                Text(titles.of(*id)),
                Text(titles.of(i.case_id)),
                Text(i.description.clone()),
                Built(date(i.start.as_ref())),
                Built(date(i.end.as_ref())),
                Text(precision.into()),
                text(|l| &l.place),
                text(|l| &l.region),
                text(|l| &l.country),
                Built(geo),
                Text(multi(i.act_types.iter().map(|c| super::act_label(c, "en")))),
                Text(multi(i.persons.iter().map(|p| titles.of(p.person_id)))),
                Text(multi(i.related.iter().map(|r| titles.of(*r)))),
                Text(i.impact.clone()),
                Built(id.to_string()),
            ]
        })
        .collect();

    let persons = l
        .persons
        .iter()
        .map(|(id, p)| {
            vec![
                Text(titles.of(*id)),
                Text(titles.of(p.case_id)),
                Text(multi(p.other_names.iter().cloned())),
                Text(multi(
                    roles_of(l, *id, p)
                        .into_iter()
                        .map(|r| role_label(r).to_owned()),
                )),
                Text(if p.is_group { "Yes" } else { "No" }.into()),
                Built(p.group_size.map(|n| n.to_string()).unwrap_or_default()),
                Text(p.sex.clone()),
                Built(date(p.birth_date.as_ref())),
                Text(p.occupation.clone()),
                Text(p.organisation.clone()),
                Text(p.human_rights_work.clone()),
                Text(p.residence.clone()),
                Text(p.citizenship.clone()),
                Text(consent(p.consent.publish).into()),
                Built(id.to_string()),
            ]
        })
        .collect();

    let interventions = l
        .interventions
        .iter()
        .map(|(id, i)| {
            let day = |d: Option<chrono::NaiveDate>| {
                d.map(|d| d.format("%Y/%m/%d").to_string())
                    .unwrap_or_default()
            };
            vec![
                Text(titles.of(*id)),
                Text(titles.of(i.case_id)),
                Text(if i.mechanism.is_empty() {
                    String::new()
                } else {
                    mechanism_label(&i.mechanism, "en")
                }),
                Text(intervention_type_label(i.kind).into()),
                Built(day(i.date)),
                Text(intervention_status_label(i.status).into()),
                Text(i.reference.clone()),
                Text(i.response.clone()),
                Text(multi(i.incident_ids.iter().map(|x| titles.of(*x)))),
                Text(multi(i.person_ids.iter().map(|x| titles.of(*x)))),
                Text(i.channel.clone()),
                Built(day(i.follow_up)),
                Built(id.to_string()),
            ]
        })
        .collect();

    vec![cases, persons, incidents, interventions]
}

/// The incidents in their order, except that an incident comes after the incidents of
/// the export it is related to (where links go round in a circle, the first waiting one
/// is written).
fn related_first(
    incidents: &[(Uuid, custos_model::Incident)],
) -> Vec<&(Uuid, custos_model::Incident)> {
    let ids: std::collections::HashSet<Uuid> = incidents.iter().map(|(id, _)| *id).collect();
    let mut done: std::collections::HashSet<Uuid> = std::collections::HashSet::new();
    let mut waiting: Vec<&(Uuid, custos_model::Incident)> = incidents.iter().collect();
    let mut out = Vec::with_capacity(incidents.len());
    while !waiting.is_empty() {
        let ready = waiting
            .iter()
            .position(|(id, i)| {
                i.related
                    .iter()
                    .all(|r| r == id || !ids.contains(r) || done.contains(r))
            })
            .unwrap_or(0);
        let next = waiting.remove(ready);
        done.insert(next.0);
        out.push(next);
    }
    out
}

/// `templates.md`: what to create in Uwazi, and the order of the imports.
fn readme() -> String {
    let mut s = String::from(
        "# Importing this export into Uwazi\n\n\
         Each CSV file holds the entities of one Uwazi template, in the form Uwazi's CSV \
         import reads: a `title` column and one column per property, named by the \
         property's name. Before importing, create in Uwazi (Settings → Templates) the \
         templates below with exactly these properties; Uwazi makes a property's name from \
         its label, so give each the label shown. Create the thesauri named (Settings → \
         Thesauri) empty: Uwazi adds the values it finds in the files. For the act types, \
         import `act-types-thesaurus.csv` into the \"Act types\" thesaurus (it holds every \
         act type in English, Spanish, French, Arabic and Persian).\n\n\
         Import the files in this order, each with its template chosen (Uwazi → Library → \
         Import CSV), so that relationships (which name entities by their title) find the \
         entities they point to: cases.csv, persons.csv, incidents.csv, interventions.csv \
         (Uwazi creates an entity a relationship names but does not find, so a file \
         imported later would make it twice). Within incidents.csv an incident comes \
         after those it is related to, as far as the links allow. \
         A title used twice in the export has ` (2)`, ` (3)`… added so that each \
         relationship names one entity.\n\n\
         Dates are written `YYYY/MM/DD` (a year alone as `YYYY`); the precision of an \
         incident's dates is in \"Date precision\". Several values in a cell are joined \
         with `|`; a geolocation is `latitude|longitude`. A text cell that a spreadsheet \
         would run as a formula begins with an apostrophe.\n\n\
         Not in this export: evidence files and notes (attach files to the entities in \
         Uwazi by hand), and people's contact details and consents to each protection \
         mechanism. Uwazi entities can be made public: check \"Consent to publish\" before \
         publishing a person.\n",
    );
    for (file, template, props) in TEMPLATES {
        s.push_str(&format!(
            "\n## Template \"{template}\" — `{file}`\n\n| Column | Property label | Type | Notes |\n|---|---|---|---|\n| `title` | Title | (every template has it) | |\n"
        ));
        for p in *props {
            s.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                p.name, p.label, p.kind, p.detail
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Uwazi's own name of a property (`app/shared/propertyNames.ts`, `safeName`).
    fn uwazi_safe_name(label: &str) -> String {
        label
            .trim()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect()
    }

    #[test]
    fn every_column_is_the_name_uwazi_gives_its_label() {
        for (file, _, props) in TEMPLATES {
            let mut seen = std::collections::HashSet::new();
            for p in *props {
                assert!(seen.insert(p.name), "{file}: {} twice", p.name);
                if p.kind == "Geolocation" {
                    assert_eq!(p.name, format!("{}_geolocation", uwazi_safe_name(p.label)));
                } else {
                    assert_eq!(p.name, uwazi_safe_name(p.label), "{file}");
                }
            }
        }
    }

    #[test]
    fn an_incident_comes_after_those_it_is_related_to() {
        let inc = |n: u128, related: &[u128]| {
            (
                Uuid::from_u128(n),
                custos_model::Incident {
                    case_id: Uuid::nil(),
                    title: n.to_string(),
                    description: String::new(),
                    start: None,
                    end: None,
                    location: None,
                    act_types: vec![],
                    persons: vec![],
                    related: related.iter().map(|r| Uuid::from_u128(*r)).collect(),
                    impact: String::new(),
                },
            )
        };
        // 1 → 3, 2 alone, 3 → 99 (not exported), 4 ↔ 5 in a circle.
        let list = vec![
            inc(1, &[3]),
            inc(2, &[]),
            inc(3, &[99]),
            inc(4, &[5]),
            inc(5, &[4]),
        ];
        let order: Vec<u128> = related_first(&list)
            .iter()
            .map(|(id, _)| id.as_u128())
            .collect();
        assert_eq!(order, vec![2, 3, 1, 4, 5]);
    }

    #[test]
    fn values_are_written_as_uwazi_reads_them() {
        assert_eq!(multi(["a".into(), " b|c ".into(), "".into()]), "a|b/c");
        let d = |s: &str, precision| FuzzyDate {
            date: s.parse().unwrap(),
            precision,
        };
        assert_eq!(date(Some(&d("2024-05-02", Precision::Day))), "2024/05/02");
        assert_eq!(date(Some(&d("2024-01-01", Precision::Year))), "2024");
        assert_eq!(date(None), "");
        let t = Titles::new(&[vec![
            (Uuid::from_u128(1), "Same".into()),
            (Uuid::from_u128(2), "same".into()),
            (Uuid::from_u128(3), "".into()),
        ]]);
        assert_eq!(t.of(Uuid::from_u128(1)), "Same");
        assert_eq!(t.of(Uuid::from_u128(2)), "same (2)");
        assert!(t.of(Uuid::from_u128(3)).starts_with("Untitled"));
    }
}
