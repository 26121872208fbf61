//! Exports for people and other tools, and the imports.
//!
//! - [`json`]: the full-fidelity JSON export (with history) and its import.
//! - [`output`]: the one output helper every export writes through (a new file at the
//!   user's path, fsync, nothing partial left on error, optional age encryption).
//! - [`csv`]: one CSV file per entity, columns named after the HURIDOCS Events Standard
//!   Formats.
//! - [`pdf`]: a case report for the documenter (PDF, embedded Unicode font).
//! - [`guide`]: the user guide as a PDF, with the same engine.
//! - [`submission`]: submissions to the five protection mechanisms (UN Special
//!   Rapporteur, OMCT/FIDH Observatory, EU, African Commission, Inter-American
//!   Commission), in the languages each accepts, with the missing-elements check and
//!   consent redaction per mechanism.
//! - [`unsr`]: the communication to the UN Special Rapporteur with its earlier typed
//!   API, built by [`submission`].
//! - [`import_csv`]: CSV import with a column mapping, all or nothing.
//!
//! Every export takes a progress callback `&mut dyn FnMut(done, total)`; front ends draw
//! a bar with it. Formats, columns and the mapping file are described in
//! `docs/exports.md`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod csv;
mod doc;
pub mod guide;
pub mod import_csv;
pub mod json;
pub mod output;
pub mod pdf;
pub mod submission;
pub mod unsr;
pub mod uwazi;
pub mod words;

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;
use uuid::Uuid;
use zeroize::Zeroize;

use custos_model::{
    Case, CaseStatus, Confidentiality, Consent, Evidence, FuzzyDate, Incident, Intervention,
    InterventionStatus, InterventionType, Kind, Location, Note, Person, Precision, Record, Role,
};
use custos_vault::error::{Error, Result};
use custos_vault::{Filter, Vault};

pub use output::{parse_recipient, Protection, PLAINTEXT_WARNING};

/// Charts of the patterns of the exported cases in a PDF (the case report's "Patterns"
/// section, a submission's context section): drawn from the published figures, so a
/// count below `threshold` reads "fewer than N" and persons are counted, never named.
/// Off unless asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Patterns {
    /// Counts below this are withheld (the user's setting; 3 by default, 1 shows all).
    pub threshold: u32,
}

impl Default for Patterns {
    fn default() -> Self {
        Patterns { threshold: 3 }
    }
}

/// The charts (map first) of the published figures of the loaded records, with the
/// chart words of `lang`, `width` points wide.
pub(crate) fn pattern_charts(
    l: &Loaded,
    p: Patterns,
    lang: &str,
    width: f64,
) -> Vec<custos_patterns::Scene> {
    let threshold = p.threshold.max(1);
    let mut records: Vec<Record> = l
        .cases
        .iter()
        .map(|(_, r)| Record::Case(r.clone()))
        .chain(l.incidents.iter().map(|(_, r)| Record::Incident(r.clone())))
        .chain(l.persons.iter().map(|(_, r)| Record::Person(r.clone())))
        .chain(
            l.interventions
                .iter()
                .map(|(_, r)| Record::Intervention(r.clone())),
        )
        .collect();
    let options = custos_patterns::Options {
        threshold,
        ..Default::default()
    };
    let figures = custos_patterns::compute(&records, &options).published(threshold);
    // The copies hold record content: wiped like the loaded records.
    records.iter_mut().for_each(Zeroize::zeroize);
    let labels = custos_patterns::Labels::of(lang);
    custos_patterns::charts::all(&figures, &labels, width)
        .into_iter()
        .map(|(_, scene)| scene)
        .collect()
}

/// A progress callback: `(done, total)` units of work, called as the export goes.
pub type Progress<'a> = &'a mut dyn FnMut(usize, usize);

/// A progress callback that ignores progress.
pub fn no_progress(_done: usize, _total: usize) {}

/// Which records an export covers. Empty: the whole vault (deleted records excluded).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Whole cases: the case and every record of it.
    pub cases: Vec<Uuid>,
    /// Single records (of any kind).
    pub records: Vec<Uuid>,
}

impl Selection {
    /// The whole vault.
    pub fn all() -> Selection {
        Selection::default()
    }

    /// These cases with all their records.
    pub fn cases(cases: impl IntoIterator<Item = Uuid>) -> Selection {
        Selection {
            cases: cases.into_iter().collect(),
            records: Vec::new(),
        }
    }

    /// True when nothing was chosen, which means everything.
    pub fn is_all(&self) -> bool {
        self.cases.is_empty() && self.records.is_empty()
    }

    /// The ids of the current (not deleted) records chosen, in a stable order.
    pub fn resolve(&self, vault: &Vault) -> Result<Vec<Uuid>> {
        self.resolve_with(vault, false)
    }

    /// Like [`Selection::resolve`]; `include_deleted` also takes deleted records of the
    /// chosen cases (the full-fidelity JSON export keeps their history).
    pub fn resolve_with(&self, vault: &Vault, include_deleted: bool) -> Result<Vec<Uuid>> {
        let mut out = BTreeSet::new();
        if self.is_all() {
            let filter = Filter {
                include_deleted,
                ..Filter::default()
            };
            out.extend(vault.list(&filter).into_iter().map(|i| i.record_id));
            return Ok(out.into_iter().collect());
        }
        for &case in &self.cases {
            let kind = vault
                .list(&Filter {
                    include_deleted: true,
                    ..Filter::default()
                })
                .into_iter()
                .find(|i| i.record_id == case)
                .map(|i| (i.kind, i.deleted));
            match kind {
                None => return Err(Error::RecordNotFound(case)),
                Some((k, _)) if k != Kind::Case => {
                    return Err(Error::Invalid(format!(
                        "{case} is a {}, not a case",
                        k.as_str()
                    )))
                }
                Some((_, true)) if !include_deleted => {
                    return Err(Error::Invalid(format!("case {case} is deleted")))
                }
                _ => {}
            }
            let filter = Filter {
                case_id: Some(case),
                include_deleted,
                ..Filter::default()
            };
            out.extend(vault.list(&filter).into_iter().map(|i| i.record_id));
        }
        for &id in &self.records {
            let view = vault.get(id)?;
            if view.record.is_none() && !include_deleted {
                return Err(Error::Invalid(format!("record {id} is deleted")));
            }
            out.insert(id);
        }
        Ok(out.into_iter().collect())
    }
}

/// Decrypted records of a selection, by kind, sorted for display; wiped when dropped.
#[derive(Default)]
pub(crate) struct Loaded {
    pub cases: Vec<(Uuid, Case)>,
    pub incidents: Vec<(Uuid, Incident)>,
    pub persons: Vec<(Uuid, Person)>,
    pub interventions: Vec<(Uuid, Intervention)>,
    pub notes: Vec<(Uuid, Note)>,
    pub evidence: Vec<(Uuid, Evidence)>,
    /// Persons named by the selected incidents but not selected themselves (for names).
    pub linked_persons: HashMap<Uuid, Person>,
    /// Cases of the selected records, selected or not (for titles).
    pub linked_cases: HashMap<Uuid, Case>,
}

impl Loaded {
    /// The case of every loaded record (with repeats).
    pub(crate) fn cases_of_records(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.incidents
            .iter()
            .map(|(_, r)| r.case_id)
            .chain(self.persons.iter().map(|(_, r)| r.case_id))
            .chain(self.interventions.iter().map(|(_, r)| r.case_id))
            .chain(self.notes.iter().map(|(_, r)| r.case_id))
            .chain(self.evidence.iter().map(|(_, r)| r.case_id))
    }

    /// Decrypts the records; `progress` counts records.
    pub fn load(vault: &Vault, ids: &[Uuid], progress: Progress<'_>) -> Result<Loaded> {
        let mut l = Loaded::default();
        let total = ids.len();
        progress(0, total);
        // Decrypted in parallel, a chunk at a time for the progress.
        let mut done = 0;
        for chunk in ids.chunks(256) {
            for (&id, view) in chunk.iter().zip(vault.get_many(chunk)) {
                match view?.into_record() {
                    Some(Record::Case(r)) => l.cases.push((id, r)),
                    Some(Record::Incident(r)) => l.incidents.push((id, r)),
                    Some(Record::Person(r)) => l.persons.push((id, r)),
                    Some(Record::Intervention(r)) => l.interventions.push((id, r)),
                    Some(Record::Note(r)) => l.notes.push((id, r)),
                    Some(Record::Evidence(r)) => l.evidence.push((id, r)),
                    None => {}
                }
            }
            done += chunk.len();
            progress(done, total);
        }
        let selected: BTreeSet<Uuid> = ids.iter().copied().collect();
        let wanted: BTreeSet<Uuid> = l
            .incidents
            .iter()
            .flat_map(|(_, i)| i.persons.iter().map(|p| p.person_id))
            .chain(
                l.interventions
                    .iter()
                    .flat_map(|(_, i)| i.person_ids.iter().copied()),
            )
            .filter(|id| !selected.contains(id))
            .collect();
        let wanted: Vec<Uuid> = wanted.into_iter().collect();
        for (&id, v) in wanted.iter().zip(vault.get_many(&wanted)) {
            if let Some(Record::Person(p)) = v.ok().and_then(|v| v.into_record()) {
                l.linked_persons.insert(id, p);
            }
        }
        let case_ids: BTreeSet<Uuid> = l
            .cases_of_records()
            .filter(|id| !selected.contains(id))
            .collect();
        let case_ids: Vec<Uuid> = case_ids.into_iter().collect();
        for (&id, v) in case_ids.iter().zip(vault.get_many(&case_ids)) {
            if let Some(Record::Case(c)) = v.ok().and_then(|v| v.into_record()) {
                l.linked_cases.insert(id, c);
            }
        }
        l.cases
            .sort_by(|a, b| a.1.title.cmp(&b.1.title).then(a.0.cmp(&b.0)));
        l.incidents.sort_by(|a, b| {
            a.1.start
                .map(|d| d.date)
                .cmp(&b.1.start.map(|d| d.date))
                .then(a.1.title.cmp(&b.1.title))
                .then(a.0.cmp(&b.0))
        });
        l.persons
            .sort_by(|a, b| a.1.name.cmp(&b.1.name).then(a.0.cmp(&b.0)));
        l.interventions
            .sort_by(|a, b| a.1.date.cmp(&b.1.date).then(a.0.cmp(&b.0)));
        l.evidence
            .sort_by(|a, b| a.1.imported_at.cmp(&b.1.imported_at).then(a.0.cmp(&b.0)));
        Ok(l)
    }

    /// A person of the selection or named by it.
    pub fn person(&self, id: Uuid) -> Option<&Person> {
        self.persons
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, p)| p)
            .or_else(|| self.linked_persons.get(&id))
    }

    /// A case of the selection or owning a selected record.
    pub fn case(&self, id: Uuid) -> Option<&Case> {
        self.cases
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, c)| c)
            .or_else(|| self.linked_cases.get(&id))
    }

    /// An incident of the selection.
    pub fn incident(&self, id: Uuid) -> Option<&Incident> {
        self.incidents
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, r)| r)
    }
}

impl Drop for Loaded {
    fn drop(&mut self) {
        self.cases.iter_mut().for_each(|(_, r)| r.zeroize());
        self.incidents.iter_mut().for_each(|(_, r)| r.zeroize());
        self.persons.iter_mut().for_each(|(_, r)| r.zeroize());
        self.interventions.iter_mut().for_each(|(_, r)| r.zeroize());
        self.notes.iter_mut().for_each(|(_, r)| r.zeroize());
        self.evidence.iter_mut().for_each(|(_, r)| r.zeroize());
        self.linked_persons.values_mut().for_each(|r| r.zeroize());
        self.linked_cases.values_mut().for_each(|r| r.zeroize());
    }
}

// ----- labels shared by the formats (English; vocabulary terms in `lang`) -----

pub(crate) fn role_label(r: Role) -> &'static str {
    match r {
        Role::Victim => "Victim",
        Role::Perpetrator => "Perpetrator",
        Role::Witness => "Witness",
        Role::Source => "Source",
        Role::InterveningParty => "Intervening party",
    }
}

pub(crate) fn status_label(s: CaseStatus) -> &'static str {
    match s {
        CaseStatus::Open => "Open",
        CaseStatus::Monitoring => "Monitoring",
        CaseStatus::Closed => "Closed",
    }
}

pub(crate) fn confidentiality_label(c: Confidentiality) -> &'static str {
    match c {
        Confidentiality::Public => "Public",
        Confidentiality::Restricted => "Restricted",
        Confidentiality::Confidential => "Confidential",
    }
}

pub(crate) fn consent_label(c: Consent) -> &'static str {
    match c {
        Consent::Given => "Given",
        Consent::Refused => "Refused",
        Consent::NotAsked => "Not asked",
    }
}

pub(crate) fn intervention_type_label(t: InterventionType) -> &'static str {
    match t {
        InterventionType::UrgentAppeal => "Urgent appeal",
        InterventionType::AllegationLetter => "Allegation letter",
        InterventionType::Other => "Other",
    }
}

pub(crate) fn intervention_status_label(s: InterventionStatus) -> &'static str {
    match s {
        InterventionStatus::Draft => "Draft",
        InterventionStatus::Sent => "Sent",
        InterventionStatus::Acknowledged => "Acknowledged",
        InterventionStatus::Responded => "Responded",
        InterventionStatus::Closed => "Closed",
    }
}

/// HURIDOCS date type of a date (absent: unknown).
pub(crate) fn date_type(d: Option<&FuzzyDate>) -> &'static str {
    match d.map(|d| d.precision) {
        None => "Unknown",
        Some(Precision::Day) => "Exact",
        Some(Precision::Month) => "Month known",
        Some(Precision::Year) => "Year known",
        Some(Precision::Approximate) => "Approximate",
    }
}

/// A date as precise as it is known: `2024-05-02`, `2024-05`, `2024`, `about 2024-05-02`.
pub(crate) fn date_text(d: &FuzzyDate) -> String {
    match d.precision {
        Precision::Day => d.date.format("%Y-%m-%d").to_string(),
        Precision::Month => d.date.format("%Y-%m").to_string(),
        Precision::Year => d.date.format("%Y").to_string(),
        Precision::Approximate => format!("about {}", d.date.format("%Y-%m-%d")),
    }
}

/// ISO date of an optional date (empty when unknown).
pub(crate) fn iso(d: Option<&FuzzyDate>) -> String {
    d.map(|d| d.date.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// Full years between a birth date and a day (none when the birth is after it).
pub(crate) fn age_at(birth: &FuzzyDate, on: NaiveDate) -> Option<u32> {
    on.years_since(birth.date)
}

pub(crate) fn act_label(code: &str, lang: &str) -> String {
    custos_model::vocab::builtin()
        .act_types
        .get(code)
        .map(|t| t.label(lang).to_owned())
        .unwrap_or_else(|| code.to_owned())
}

pub(crate) fn mechanism_label(code: &str, lang: &str) -> String {
    custos_model::vocab::builtin()
        .mechanisms
        .get(code)
        .map(|t| t.label(lang).to_owned())
        .unwrap_or_else(|| code.to_owned())
}

/// Instrument articles of act types, as labels, without repeats.
pub(crate) fn instruments_of(codes: &[String], lang: &str) -> Vec<String> {
    let v = custos_model::vocab::builtin();
    let mut out: Vec<String> = Vec::new();
    for code in codes {
        if let Some(t) = v.act_types.get(code) {
            for i in &t.instruments {
                let label = v
                    .instruments
                    .get(i)
                    .map(|t| t.label(lang).to_owned())
                    .unwrap_or_else(|| i.clone());
                if !out.contains(&label) {
                    out.push(label);
                }
            }
        }
    }
    out
}

/// A place as one line: place, region, country.
pub(crate) fn place_text(l: Option<&Location>) -> String {
    let Some(l) = l else {
        return String::new();
    };
    [&l.place, &l.region, &l.country]
        .into_iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The roles a person has in a case: their own, and those of their involvements.
pub(crate) fn roles_of(l: &Loaded, id: Uuid, p: &Person) -> Vec<Role> {
    let mut roles = p.roles.clone();
    for (_, i) in &l.incidents {
        for inv in &i.persons {
            if inv.person_id == id && !roles.contains(&inv.role) {
                roles.push(inv.role);
            }
        }
    }
    roles
}
