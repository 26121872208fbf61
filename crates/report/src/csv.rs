//! CSV export: one file per entity, in a new folder, with columns named after the
//! HURIDOCS Events Standard Formats (see `docs/exports.md` for the full mapping).
//!
//! Files: `cases.csv`, `events.csv` (incidents), `acts.csv` (one row per incident × act
//! type × victim), `persons.csv`, `involvements.csv` (one row per person named in an
//! incident, with their role), `interventions.csv`, `evidence.csv`, `notes.csv`.
//! Lists inside a cell are joined with `; `. Dates are ISO 8601 (`YYYY-MM-DD`), with
//! their precision in the "… date type" column. Encrypted, each file is a separate
//! age file named `….csv.age`.

use std::borrow::Cow;
use std::io::Write;
use std::path::{Path, PathBuf};

use uuid::Uuid;
use zeroize::Zeroize;

use super::{
    act_label, age_at, confidentiality_label, consent_label, date_type, instruments_of,
    intervention_status_label, intervention_type_label, iso, mechanism_label, role_label, roles_of,
    status_label, Loaded, Progress, Selection,
};
use crate::output::{OutputDir, Protection};
use custos_model::Role;
use custos_vault::error::{Error, Result};
use custos_vault::Vault;

/// The files of a CSV export, in the order they are written, with their columns.
pub const FILES: &[(&str, &[&str])] = &[
    (
        "cases.csv",
        &[
            "Case record number",
            "Case title",
            "Summary",
            "Status",
            "Confidentiality",
            "Tags",
            "Owner",
        ],
    ),
    (
        "events.csv",
        &[
            "Event record number",
            "Case record number",
            "Event title",
            "Confidentiality",
            "Initial date",
            "Initial date type",
            "Final date",
            "Final date type",
            "Event description",
            "Impact of the event",
            "Geographical term",
            "Local geographical area",
            "Latitude",
            "Longitude",
            "Types of acts",
            "Rights affected",
            "Related events",
        ],
    ),
    (
        "acts.csv",
        &[
            "Act record number",
            "Event record number",
            "Case record number",
            "Event title",
            "Type of act",
            "Type of act code",
            "Victim record number",
            "Victim name",
            "Initial date",
            "Initial date type",
            "Final date",
            "Final date type",
            "Exact location",
            "Victim's age at the time",
            "International instruments",
        ],
    ),
    (
        "persons.csv",
        &[
            "Person record number",
            "Case record number",
            "Name",
            "Other names",
            "Roles",
            "Group",
            "Number of persons in group",
            "Sex",
            "Date of birth",
            "Date of birth type",
            "Occupation",
            "Affiliation",
            "Human rights work",
            "Address",
            "Citizenship",
            "Consent to share with government",
            "Consent to publish",
            "Consent to share with the UN Special Rapporteur on HRDs",
            "Consent to share with the Observatory (OMCT/FIDH)",
            "Consent to share with an EU mission or delegation",
            "Consent to share with the African Commission's Special Rapporteur",
            "Consent to share with the Inter-American Commission",
            "Contact",
        ],
    ),
    (
        "involvements.csv",
        &[
            "Case record number",
            "Event record number",
            "Event title",
            "Person record number",
            "Person name",
            "Degree of involvement",
        ],
    ),
    (
        "interventions.csv",
        &[
            "Intervention record number",
            "Case record number",
            "Title",
            "Intervening party",
            "Parties requested",
            "Type of intervention",
            "Date of intervention",
            "Status",
            "Reference",
            "Response",
            "Concerning events",
            "On behalf of",
            "Channel",
            "Next follow-up",
            "Language",
        ],
    ),
    (
        "evidence.csv",
        &[
            "Evidence record number",
            "Case record number",
            "Description",
            "File name",
            "Type of source material",
            "Size in bytes",
            "SHA-256",
            "Date of source material",
            "Imported at",
            "Imported by device",
            "Working copy of",
            "Attached to",
        ],
    ),
    (
        "notes.csv",
        &[
            "Note record number",
            "Case record number",
            "Remarks",
            "About",
        ],
    ),
];

/// The columns of one file of the export (`events.csv` …).
pub fn columns(file: &str) -> Option<&'static [&'static str]> {
    FILES.iter().find(|(f, _)| *f == file).map(|(_, c)| *c)
}

/// What a CSV export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvStats {
    /// The files written, in [`FILES`] order.
    pub files: Vec<PathBuf>,
    /// Data rows written, all files together (headers not counted).
    pub rows: usize,
}

/// Writes the selection as CSV files into `dir`, a new folder (its parent must exist).
/// On any error the folder and everything written in it are removed. `progress` counts
/// records read, then files written.
pub fn export_csv(
    vault: &Vault,
    selection: &Selection,
    dir: &Path,
    protection: &Protection,
    progress: Progress<'_>,
) -> Result<CsvStats> {
    let ids = selection.resolve(vault)?;
    let mut out = OutputDir::create(dir)?;
    let total = ids.len() + FILES.len();
    let loaded = Loaded::load(vault, &ids, &mut |d, _| progress(d, total))?;
    let tables = tables(&loaded);
    let mut rows = 0;
    for (n, ((name, header), mut table)) in FILES.iter().zip(tables).enumerate() {
        let file_name = if protection.is_encrypted() {
            format!("{name}.age")
        } else {
            (*name).to_owned()
        };
        rows += table.len();
        let written = out.write(&file_name, protection, |w| write_table(w, header, &table));
        // The cells are record content: wiped once written (or not).
        table.iter_mut().flatten().for_each(|c| c.zeroize());
        written?;
        progress(ids.len() + n + 1, total);
    }
    let files = out.finish()?;
    Ok(CsvStats { files, rows })
}

fn write_table(w: &mut dyn Write, header: &[&str], rows: &[Vec<String>]) -> Result<()> {
    let mut c = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(w);
    c.write_record(header).map_err(csv_error)?;
    for r in rows {
        let mut cells: Vec<Cow<'_, str>> = r.iter().map(|cell| neutralise(cell)).collect();
        let written = c.write_record(cells.iter().map(|cell| cell.as_bytes()));
        // A neutralised cell is a copy of record content: wiped like the rest.
        for cell in &mut cells {
            if let Cow::Owned(copy) = cell {
                copy.zeroize();
            }
        }
        written.map_err(csv_error)?;
    }
    c.flush()
        .map_err(|e| Error::io("writing the CSV export", e))?;
    Ok(())
}

/// A cell as it is written: a spreadsheet opening the file runs a cell that begins with
/// `=`, `+`, `-` or `@` as a formula (and strips a leading tab or carriage return before
/// looking), so text from any device — `=HYPERLINK("https://…","Open")` in a victim's
/// name — could send data out or run a command when a coordinator opens the export.
/// Such a cell gets a leading apostrophe, the spreadsheets' own mark for "this is text":
/// the value stays readable after it. A plain number (`-33.9`, a longitude) is not a
/// formula and is left as it is, so numeric columns stay numbers. A cell that already
/// begins with an apostrophe before one of those characters gets one more, so that the
/// mark can be taken off again without ambiguity (so does one beginning with several).
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if needs_mark(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// A cell as it was before [`neutralise`] (the CSV import takes the mark off again, so
/// an export imports back unchanged).
pub fn unneutralise(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_mark(rest) => rest,
        _ => cell,
    }
}

/// Whether the cell, after any apostrophes it begins with, is one a spreadsheet runs.
fn needs_mark(cell: &str) -> bool {
    let rest = cell.trim_start_matches('\'');
    rest.starts_with(['=', '+', '-', '@', '\t', '\r']) && !is_plain_number(rest)
}

/// `-12`, `+3.5`, `-1e3`: a number, which no spreadsheet runs.
fn is_plain_number(cell: &str) -> bool {
    cell.len() <= 32
        && cell.bytes().skip(1).all(|b| {
            b.is_ascii_digit() || b == b'.' || b == b'e' || b == b'E' || b == b'-' || b == b'+'
        })
        && cell.parse::<f64>().is_ok_and(f64::is_finite)
}

fn csv_error(e: ::csv::Error) -> Error {
    match e.into_kind() {
        ::csv::ErrorKind::Io(e) => Error::io("writing the CSV export", e),
        other => Error::Invalid(format!("writing the CSV export: {other:?}")),
    }
}

fn join(items: impl IntoIterator<Item = String>) -> String {
    items.into_iter().collect::<Vec<_>>().join("; ")
}

/// The rows of every file, in [`FILES`] order.
fn tables(l: &Loaded) -> Vec<Vec<Vec<String>>> {
    let confidentiality = |case: Uuid| {
        l.case(case)
            .map(|c| confidentiality_label(c.confidentiality).to_owned())
            .unwrap_or_default()
    };
    let person_name = |id: Uuid| l.person(id).map(|p| p.name.clone()).unwrap_or_default();

    let cases = l
        .cases
        .iter()
        .map(|(id, c)| {
            vec![
                id.to_string(),
                c.title.clone(),
                c.summary.clone(),
                status_label(c.status).into(),
                confidentiality_label(c.confidentiality).into(),
                c.tags.join("; "),
                c.owner.clone(),
            ]
        })
        .collect();

    let mut events = Vec::new();
    let mut acts = Vec::new();
    let mut involvements = Vec::new();
    for (id, i) in &l.incidents {
        let loc = i.location.as_ref();
        let local = loc
            .map(|l| {
                [&l.place, &l.region]
                    .into_iter()
                    .filter(|s| !s.trim().is_empty())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        events.push(vec![
            id.to_string(),
            i.case_id.to_string(),
            i.title.clone(),
            confidentiality(i.case_id),
            iso(i.start.as_ref()),
            date_type(i.start.as_ref()).into(),
            iso(i.end.as_ref()),
            if i.end.is_some() {
                date_type(i.end.as_ref()).into()
            } else {
                String::new()
            },
            i.description.clone(),
            i.impact.clone(),
            loc.map(|l| l.country.clone()).unwrap_or_default(),
            local.clone(),
            loc.and_then(|l| l.lat)
                .map(|v| v.to_string())
                .unwrap_or_default(),
            loc.and_then(|l| l.lon)
                .map(|v| v.to_string())
                .unwrap_or_default(),
            join(i.act_types.iter().map(|c| act_label(c, "en"))),
            instruments_of(&i.act_types, "en").join("; "),
            join(i.related.iter().map(|r| r.to_string())),
        ]);

        // Acts: incident × act type × victim. No victim named: one act per type with
        // the victim left empty; victims but no act type: one row per victim.
        let victims: Vec<Option<Uuid>> = {
            let v: Vec<Option<Uuid>> = i
                .persons
                .iter()
                .filter(|p| p.role == Role::Victim)
                .map(|p| Some(p.person_id))
                .collect();
            if v.is_empty() {
                vec![None]
            } else {
                v
            }
        };
        let types: Vec<Option<&String>> = if i.act_types.is_empty() {
            vec![None]
        } else {
            i.act_types.iter().map(Some).collect()
        };
        let mut n = 0;
        for t in &types {
            for v in &victims {
                if t.is_none() && v.is_none() {
                    continue;
                }
                n += 1;
                let age = match (v.and_then(|v| l.person(v)), &i.start) {
                    (Some(p), Some(start)) => p
                        .birth_date
                        .as_ref()
                        .and_then(|b| age_at(b, start.date))
                        .map(|a| a.to_string())
                        .unwrap_or_default(),
                    _ => String::new(),
                };
                acts.push(vec![
                    format!("{id}-{n}"),
                    id.to_string(),
                    i.case_id.to_string(),
                    i.title.clone(),
                    t.map(|c| act_label(c, "en")).unwrap_or_default(),
                    t.cloned().unwrap_or_default(),
                    v.map(|v| v.to_string()).unwrap_or_default(),
                    v.map(person_name).unwrap_or_default(),
                    iso(i.start.as_ref()),
                    date_type(i.start.as_ref()).into(),
                    iso(i.end.as_ref()),
                    if i.end.is_some() {
                        date_type(i.end.as_ref()).into()
                    } else {
                        String::new()
                    },
                    local.clone(),
                    age,
                    t.map(|c| instruments_of(std::slice::from_ref(c), "en").join("; "))
                        .unwrap_or_default(),
                ]);
            }
        }
        for inv in &i.persons {
            involvements.push(vec![
                i.case_id.to_string(),
                id.to_string(),
                i.title.clone(),
                inv.person_id.to_string(),
                person_name(inv.person_id),
                role_label(inv.role).into(),
            ]);
        }
    }

    let persons = l
        .persons
        .iter()
        .map(|(id, p)| {
            vec![
                id.to_string(),
                p.case_id.to_string(),
                p.name.clone(),
                p.other_names.join("; "),
                join(
                    roles_of(l, *id, p)
                        .into_iter()
                        .map(|r| role_label(r).into()),
                ),
                if p.is_group { "Yes" } else { "No" }.into(),
                p.group_size.map(|n| n.to_string()).unwrap_or_default(),
                p.sex.clone(),
                iso(p.birth_date.as_ref()),
                if p.birth_date.is_some() {
                    date_type(p.birth_date.as_ref()).into()
                } else {
                    String::new()
                },
                p.occupation.clone(),
                p.organisation.clone(),
                p.human_rights_work.clone(),
                p.residence.clone(),
                p.citizenship.clone(),
                consent_label(p.consent.share_with_government).into(),
                consent_label(p.consent.publish).into(),
                consent_label(p.consent.un_sr_hrd).into(),
                consent_label(p.consent.omct_fidh_observatory).into(),
                consent_label(p.consent.eu_delegation).into(),
                consent_label(p.consent.achpr_sr_hrd).into(),
                consent_label(p.consent.iachr_hrd_unit).into(),
                p.contact.clone(),
            ]
        })
        .collect();

    let interventions = l
        .interventions
        .iter()
        .map(|(id, i)| {
            vec![
                id.to_string(),
                i.case_id.to_string(),
                i.title.clone(),
                l.case(i.case_id)
                    .map(|c| c.owner.clone())
                    .unwrap_or_default(),
                if i.mechanism.is_empty() {
                    String::new()
                } else {
                    mechanism_label(&i.mechanism, "en")
                },
                intervention_type_label(i.kind).into(),
                i.date
                    .map(|d| d.format("%Y-%m-%d").to_string())
                    .unwrap_or_default(),
                intervention_status_label(i.status).into(),
                i.reference.clone(),
                i.response.clone(),
                join(i.incident_ids.iter().map(|x| x.to_string())),
                join(i.person_ids.iter().map(|x| x.to_string())),
                i.channel.clone(),
                i.follow_up
                    .map(|d| d.format("%Y-%m-%d").to_string())
                    .unwrap_or_default(),
                i.language.clone(),
            ]
        })
        .collect();

    let evidence = l
        .evidence
        .iter()
        .map(|(id, e)| {
            vec![
                id.to_string(),
                e.case_id.to_string(),
                e.description.clone(),
                e.file_name.clone(),
                e.media_type.clone(),
                e.size.to_string(),
                e.sha256.clone(),
                e.file_modified
                    .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                    .unwrap_or_default(),
                e.imported_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                e.imported_by.to_string(),
                e.derived_from.map(|d| d.to_string()).unwrap_or_default(),
                join(e.attached_to.iter().map(|x| x.to_string())),
            ]
        })
        .collect();

    let notes = l
        .notes
        .iter()
        .map(|(id, n)| {
            vec![
                id.to_string(),
                n.case_id.to_string(),
                n.text.clone(),
                join(n.about.iter().map(|x| x.to_string())),
            ]
        })
        .collect();

    vec![
        cases,
        events,
        acts,
        persons,
        involvements,
        interventions,
        evidence,
        notes,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_neutralised_cell_reads_back_as_it_was() {
        for cell in [
            "=1+1", "+cmd", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "'=1", "''=1", "'", "''", "'hello",
            "-33.9", "+3", "'-3", "plain", "", "=", "-", "'-", "1e5", "-1e3-2", "'''=x", "'+3",
        ] {
            let written = neutralise(cell);
            assert_eq!(unneutralise(&written), cell, "{cell:?} → {written:?}");
            let first = written.chars().next();
            assert!(
                !matches!(first, Some('=' | '+' | '@' | '\t' | '\r')) || is_plain_number(&written),
                "{cell:?} → {written:?} still runs"
            );
        }
    }

    #[test]
    fn every_file_has_distinct_columns() {
        for (name, cols) in FILES {
            let mut seen = std::collections::HashSet::new();
            for c in *cols {
                assert!(seen.insert(c), "{name}: {c} twice");
            }
        }
        assert_eq!(columns("acts.csv").unwrap()[4], "Type of act");
    }
}
