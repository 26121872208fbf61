//! Exports, written once for the desktop app and the command line: which format, which
//! cases, where, encrypted or not, and for a submission to a protection mechanism its
//! answers, its language and the "export anyway" the user gave after seeing what it lacks.
//!
//! - The file goes where the user chose, written by `custos-report`'s output helper: no
//!   temporary file, never over an existing file, nothing partial left on failure.
//! - It is plaintext unless an age recipient (`age1…`) is given.
//! - In two steps, so that a shell can let go of the vault early: [`produce`] reads the
//!   vault (JSON and CSV are written as they are read), [`Produced::write`] writes a
//!   report or a submission from memory afterwards.
//! - A submission's answers are kept with the case, in a draft intervention for that
//!   mechanism ([`save_draft`], [`saved_submission`]): the next export starts from them,
//!   and the draft is what the user marks sent ([`crate::followup::mark_sent`]).
//! - Answers are trimmed, and an empty perpetrator type means "not said" (the desktop's
//!   behaviour; the command line used to keep the spaces).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use custos_model::{FormField, Intervention, InterventionStatus, InterventionType, Kind, Record};
use custos_report::submission::{
    self, Mechanism, PerpetratorType, SubmissionFormat, SubmissionRequest,
};
use custos_report::unsr::{CommunicationType, UnSrRequest};
use custos_report::{output, Protection, Selection};
use custos_vault::{Filter, Vault};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};

/// What to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Every version of every record (can be imported again).
    Json,
    /// A new folder of CSV files, HURIDOCS columns.
    Csv,
    /// The case report (PDF).
    Pdf,
    /// A new folder of CSV files Uwazi's CSV import reads (one per template), with the
    /// templates to make there first: the way out to Uwazi.
    Uwazi,
    /// A communication to the UN Special Rapporteur on human rights defenders (one
    /// case; text or PDF).
    Unsr,
    /// An urgent intervention request to the Observatory (OMCT and FIDH).
    Observatory,
    /// A request to an EU mission or delegation.
    Eu,
    /// A communication to the African Commission's Special Rapporteur on HRDs.
    Achpr,
    /// A request for precautionary measures to the Inter-American Commission.
    Iachr,
}

impl Format {
    /// Every format, in the order a chooser shows them.
    pub const ALL: [Format; 9] = [
        Format::Json,
        Format::Csv,
        Format::Pdf,
        Format::Uwazi,
        Format::Unsr,
        Format::Observatory,
        Format::Eu,
        Format::Achpr,
        Format::Iachr,
    ];

    /// True when it writes a folder (named by the path) rather than a file.
    pub fn is_folder(self) -> bool {
        matches!(self, Format::Csv | Format::Uwazi)
    }

    /// True when it is about exactly one case (a submission).
    pub fn is_single_case(self) -> bool {
        self.mechanism().is_some()
    }

    /// The mechanism a submission goes to; `None` for the other formats.
    pub fn mechanism(self) -> Option<Mechanism> {
        match self {
            Format::Unsr => Some(Mechanism::UnSr),
            Format::Observatory => Some(Mechanism::Observatory),
            Format::Eu => Some(Mechanism::Eu),
            Format::Achpr => Some(Mechanism::Achpr),
            Format::Iachr => Some(Mechanism::Iachr),
            Format::Json | Format::Csv | Format::Pdf | Format::Uwazi => None,
        }
    }

    /// The submission format of a mechanism.
    pub fn of(mechanism: Mechanism) -> Format {
        match mechanism {
            Mechanism::UnSr => Format::Unsr,
            Mechanism::Observatory => Format::Observatory,
            Mechanism::Eu => Format::Eu,
            Mechanism::Achpr => Format::Achpr,
            Mechanism::Iachr => Format::Iachr,
        }
    }
}

/// What the user gives for a submission: its language, the answers to the mechanism's
/// questions (by key), and the type of each alleged perpetrator. Kept with the case in
/// its draft intervention. Dropped zeroized.
#[derive(Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubmissionFields {
    /// One of the mechanism's languages; empty: its first.
    #[serde(default)]
    pub language: String,
    /// Answers by question key.
    #[serde(default)]
    pub answers: BTreeMap<String, String>,
    /// Per alleged perpetrator (person id): `state` or `non_state`; empty: not said.
    #[serde(default)]
    pub perpetrator_types: HashMap<Uuid, String>,
}

impl Drop for SubmissionFields {
    fn drop(&mut self) {
        self.language.zeroize();
        for v in self.answers.values_mut() {
            v.zeroize();
        }
    }
}

impl std::fmt::Debug for SubmissionFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The answers are record content: only their keys.
        f.debug_struct("SubmissionFields")
            .field("language", &self.language)
            .field("answers", &self.answers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// The prefix of a perpetrator type kept in a draft's form (`perpetrator_type:<id>`).
const PERPETRATOR: &str = "perpetrator_type:";

impl SubmissionFields {
    /// The submission's request for the one case it is about: answers trimmed, empty
    /// ones left out, a key the mechanism does not ask refused, the language checked.
    pub fn request(&self, mechanism: Mechanism, case_ids: &[Uuid]) -> Result<SubmissionRequest> {
        let case_id = match case_ids {
            [one] => *one,
            _ => {
                return Err(Error::Invalid(
                    "a submission is about exactly one case".into(),
                ))
            }
        };
        let language = match self.language.trim() {
            "" => mechanism.languages()[0].to_owned(),
            l if mechanism.languages().contains(&l) => l.to_owned(),
            l => {
                return Err(Error::Invalid(format!(
                    "{} accepts submissions in {}, not '{l}'",
                    mechanism.name(),
                    mechanism.languages().join(", ")
                )))
            }
        };
        let mut answers = Vec::new();
        for (key, value) in &self.answers {
            if !mechanism.questions().iter().any(|q| q.key == key) {
                return Err(Error::Invalid(format!(
                    "{} asks no question '{key}' (it asks: {})",
                    mechanism.name(),
                    mechanism
                        .questions()
                        .iter()
                        .map(|q| q.key)
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            let value = value.trim();
            if !value.is_empty() {
                answers.push(FormField {
                    key: key.clone(),
                    value: value.to_owned(),
                });
            }
        }
        let mut perpetrator_types = Vec::new();
        for (id, t) in &self.perpetrator_types {
            if t.trim().is_empty() {
                continue;
            }
            let t: PerpetratorType = t.trim().parse()?;
            perpetrator_types.push((*id, t));
        }
        perpetrator_types.sort_by_key(|(id, _)| *id);
        Ok(SubmissionRequest {
            case_id,
            mechanism,
            language,
            answers,
            perpetrator_types,
        })
    }
}

/// What the user gives for a communication to the UN Special Rapporteur, in the form the
/// first version of the app and the command line took (nothing else is asked; see
/// [`SubmissionFields`] for every mechanism). Dropped zeroized.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnsrFields {
    /// `urgent_appeal` or `allegation_letter` (also with dashes).
    #[serde(default)]
    pub kind: String,
    /// Who submits it (name, organisation, contact).
    #[serde(default)]
    pub submitter: String,
    /// How the events are linked to the victims' human rights work.
    #[serde(default)]
    pub link_to_work: String,
    /// The risk the victims face now.
    #[serde(default)]
    pub current_risk: String,
    /// Context and patterns.
    #[serde(default)]
    pub context: String,
    /// Per alleged perpetrator (person id): `state` or `non_state`; empty: not said.
    #[serde(default)]
    pub perpetrator_types: HashMap<Uuid, String>,
}

impl Drop for UnsrFields {
    fn drop(&mut self) {
        self.submitter.zeroize();
        self.link_to_work.zeroize();
        self.current_risk.zeroize();
        self.context.zeroize();
    }
}

impl UnsrFields {
    /// The communication's request for the one case it is about.
    pub fn request(&self, case_ids: &[Uuid]) -> Result<UnSrRequest> {
        let case_id = match case_ids {
            [one] => *one,
            _ => {
                return Err(Error::Invalid(
                    "a communication is about exactly one case".into(),
                ))
            }
        };
        let kind: CommunicationType = self.kind.trim().parse()?;
        let mut perpetrator_types = Vec::new();
        for (id, t) in &self.perpetrator_types {
            if t.trim().is_empty() {
                continue;
            }
            let t: PerpetratorType = t.trim().parse()?;
            perpetrator_types.push((*id, t));
        }
        perpetrator_types.sort_by_key(|(id, _)| *id);
        Ok(UnSrRequest {
            case_id,
            kind,
            submitter: self.submitter.trim().to_owned(),
            link_to_work: self.link_to_work.trim().to_owned(),
            current_risk: self.current_risk.trim().to_owned(),
            context: self.context.trim().to_owned(),
            perpetrator_types,
        })
    }

    /// The same, as the answers of the UN Special Rapporteur's form (in English, the
    /// language this form always wrote). The type is checked as [`Self::request`] does.
    pub fn submission_fields(&self) -> Result<SubmissionFields> {
        let kind: CommunicationType = self.kind.trim().parse()?;
        let kind = match kind {
            CommunicationType::UrgentAppeal => "urgent_appeal",
            CommunicationType::AllegationLetter => "allegation_letter",
        };
        let answers = [
            ("type", kind),
            ("submitter", self.submitter.as_str()),
            ("link_to_work", self.link_to_work.as_str()),
            ("current_risk", self.current_risk.as_str()),
            ("context", self.context.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Ok(SubmissionFields {
            language: "en".into(),
            answers,
            perpetrator_types: self.perpetrator_types.clone(),
        })
    }
}

/// The answers kept with a case for one mechanism: its latest draft intervention.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Saved {
    /// The draft intervention that holds them.
    pub intervention_id: Uuid,
    /// The language, answers and perpetrator types.
    #[serde(flatten)]
    pub fields: SubmissionFields,
}

/// The latest draft intervention of a case for a mechanism (the most recently changed).
/// Every other record read is wiped before it is dropped.
fn latest_draft(
    vault: &Vault,
    case_id: Uuid,
    mechanism: Mechanism,
) -> Option<(Uuid, Intervention)> {
    let mut items = vault.list(&Filter {
        kind: Some(Kind::Intervention),
        case_id: Some(case_id),
        ..Filter::default()
    });
    items.sort_by_key(|i| std::cmp::Reverse(i.updated));
    let ids: Vec<Uuid> = items.iter().map(|i| i.record_id).collect();
    let mut found = None;
    for (id, view) in ids.iter().zip(vault.get_many(&ids)) {
        let Some(mut record) = view.ok().and_then(|v| v.into_record()) else {
            continue;
        };
        match record {
            Record::Intervention(i)
                if found.is_none()
                    && i.mechanism == mechanism.code()
                    && i.status == InterventionStatus::Draft =>
            {
                found = Some((*id, i));
            }
            _ => record.zeroize(),
        }
    }
    found
}

/// The answers the case keeps for this mechanism (its latest draft), if any.
pub fn saved_submission(
    vault: &Vault,
    case_id: Uuid,
    mechanism: Mechanism,
) -> Result<Option<Saved>> {
    let Some((id, mut draft)) = latest_draft(vault, case_id, mechanism) else {
        return Ok(None);
    };
    let mut fields = SubmissionFields::default();
    fields.language.clone_from(&draft.language);
    for f in &draft.form {
        match f.key.strip_prefix(PERPETRATOR) {
            Some(person) => {
                if let Ok(person) = person.parse() {
                    fields.perpetrator_types.insert(person, f.value.clone());
                }
            }
            None => {
                fields.answers.insert(f.key.clone(), f.value.clone());
            }
        }
    }
    draft.zeroize();
    Ok(Some(Saved {
        intervention_id: id,
        fields,
    }))
}

/// Keeps a submission's answers with its case: in the case's latest draft intervention
/// for the mechanism, or a new draft. Nothing is written when the draft already holds
/// exactly these answers. Returns the draft's id.
pub fn save_draft(vault: &mut Vault, request: &SubmissionRequest) -> Result<Uuid> {
    let m = request.mechanism;
    let mut form: Vec<FormField> = request.answers.clone();
    form.extend(request.perpetrator_types.iter().map(|(id, t)| FormField {
        key: format!("{PERPETRATOR}{id}"),
        value: match t {
            PerpetratorType::State => "state".into(),
            PerpetratorType::NonState => "non_state".into(),
        },
    }));
    let kind = match (m, request.answer("type")) {
        (Mechanism::UnSr, "allegation_letter") => InterventionType::AllegationLetter,
        (Mechanism::UnSr | Mechanism::Observatory | Mechanism::Iachr, _) => {
            InterventionType::UrgentAppeal
        }
        (Mechanism::Eu | Mechanism::Achpr, _) => InterventionType::Other,
    };
    match latest_draft(vault, request.case_id, m) {
        Some((id, mut draft)) if draft.form == form && draft.language == request.language => {
            draft.zeroize();
            form.iter_mut().for_each(Zeroize::zeroize);
            Ok(id)
        }
        Some((id, mut draft)) => {
            draft.form = form;
            draft.language = request.language.clone();
            draft.kind = kind;
            vault.update(id, Record::Intervention(draft))?;
            Ok(id)
        }
        None => Ok(vault.add(Record::Intervention(Intervention {
            case_id: request.case_id,
            title: m.title(&request.language),
            mechanism: m.code().to_owned(),
            kind,
            date: None,
            status: InterventionStatus::Draft,
            reference: String::new(),
            response: String::new(),
            incident_ids: vec![],
            person_ids: vec![],
            channel: String::new(),
            follow_up: None,
            language: request.language.clone(),
            form,
        }))?),
    }
}

/// One export, checked.
#[derive(Debug)]
pub struct Request {
    /// What to write.
    pub format: Format,
    /// Which records (whole cases, or all).
    pub selection: Selection,
    /// Where: a new file, or for CSV a new folder.
    pub dest: PathBuf,
    /// Plaintext, or encrypted to an age recipient.
    pub protection: Protection,
    /// For a submission: its request and whether text or PDF.
    pub submission: Option<(SubmissionRequest, SubmissionFormat)>,
    /// A submission is written even though elements are missing (the user saw the
    /// list and confirmed).
    pub accept_missing: bool,
    /// PDF formats (the case report, a submission as PDF): add the charts of the
    /// patterns, drawn from the figures published with this threshold. None: no charts.
    pub patterns: Option<custos_report::Patterns>,
    /// The case report's language: the app's settings language (an unknown code writes
    /// English). A submission is written in its own language, the mechanism's.
    pub language: String,
}

/// The selection: whole cases, or (none given) the whole vault.
pub fn selection(case_ids: Option<&[Uuid]>) -> Result<Selection> {
    match case_ids {
        None => Ok(Selection::all()),
        Some([]) => Err(Error::Invalid("no case to export".into())),
        Some(ids) => Ok(Selection::cases(ids.iter().copied())),
    }
}

/// How the file is written: plain (no recipient, or an empty one), or encrypted to the
/// recipient, which must be an age public key. A pasted secret key is refused without
/// being repeated.
pub fn protection(recipient: Option<&str>) -> Result<Protection> {
    match recipient.map(str::trim) {
        None | Some("") => Ok(Protection::Plaintext),
        Some(r) => output::parse_recipient(r)
            .map(Protection::AgeRecipient)
            .map_err(|e| Error::InvalidRecipient(e.to_string())),
    }
}

/// The destination, checked: in an existing folder, nothing there yet (an export never
/// replaces a file).
pub fn destination(path: &Path) -> Result<PathBuf> {
    if path.as_os_str().is_empty() {
        return Err(Error::Invalid("give the path of the file to write".into()));
    }
    if path.symlink_metadata().is_ok() {
        return Err(Error::FileExists(path.to_owned()));
    }
    match path.parent() {
        Some(p) if p.as_os_str().is_empty() || p.is_dir() => Ok(path.to_owned()),
        _ => Err(Error::Invalid(format!(
            "the folder of {} does not exist",
            path.display()
        ))),
    }
}

/// What a submission would lack, before anything is written.
pub fn missing(vault: &Vault, request: &SubmissionRequest) -> Result<Vec<submission::Missing>> {
    Ok(submission::missing_elements(vault, request)?)
}

/// What reading the vault produced.
pub enum Produced {
    /// Written already (JSON is written as it is read; CSV writes a file per table).
    Written {
        /// Files written.
        files: usize,
    },
    /// The bytes of a report or communication, to write once the vault is let go.
    Bytes {
        /// The document.
        bytes: Zeroizing<Vec<u8>>,
        /// Persons whose name was withheld (no consent).
        withheld: usize,
    },
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exported {
    /// Where.
    pub path: PathBuf,
    /// Bytes on disk (all files of a CSV folder).
    pub bytes: u64,
    /// Files written (1, or one per table for CSV).
    pub files: usize,
    /// True when encrypted to a recipient.
    pub encrypted: bool,
    /// Submission: persons whose name was withheld (no consent).
    pub withheld: usize,
}

/// Reads the vault for the export (and writes JSON and CSV as it reads). A communication
/// that lacks elements is refused unless the request accepts it.
pub fn produce(
    vault: &Vault,
    request: &Request,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Produced> {
    let dest = &request.dest;
    let protection = &request.protection;
    Ok(match request.format {
        Format::Json => {
            let ids = request.selection.resolve_with(vault, true)?;
            let chosen = (!request.selection.is_all()).then_some(ids.as_slice());
            output::write_file(dest, protection, |w: &mut dyn std::io::Write| {
                custos_report::json::export_json_with_progress(vault, chosen, w, progress)
            })?;
            Produced::Written { files: 1 }
        }
        Format::Csv => {
            let stats = custos_report::csv::export_csv(
                vault,
                &request.selection,
                dest,
                protection,
                progress,
            )?;
            Produced::Written {
                files: stats.files.len(),
            }
        }
        Format::Uwazi => {
            let stats = custos_report::uwazi::export_uwazi(
                vault,
                &request.selection,
                dest,
                protection,
                progress,
            )?;
            Produced::Written {
                files: stats.files.len(),
            }
        }
        Format::Pdf => {
            let (bytes, _) = custos_report::pdf::case_report_in(
                vault,
                &request.selection,
                request.patterns,
                &request.language,
                progress,
            )?;
            Produced::Bytes { bytes, withheld: 0 }
        }
        Format::Unsr | Format::Observatory | Format::Eu | Format::Achpr | Format::Iachr => {
            let (req, format) = request
                .submission
                .as_ref()
                .filter(|(r, _)| Some(r.mechanism) == request.format.mechanism())
                .ok_or_else(|| Error::Invalid("a submission needs its answers".into()))?;
            if !request.accept_missing && !submission::missing_elements(vault, req)?.is_empty() {
                return Err(Error::MissingElements);
            }
            let (bytes, stats) = submission::submission_with(
                vault,
                req,
                *format,
                request.accept_missing,
                request.patterns,
                progress,
            )?;
            Produced::Bytes {
                bytes,
                withheld: stats.withheld,
            }
        }
    })
}

impl Produced {
    /// Writes what is still in memory to the request's destination.
    pub fn write(self, request: &Request) -> Result<Exported> {
        let (files, withheld) = match self {
            Produced::Written { files } => (files, 0),
            Produced::Bytes { bytes, withheld } => {
                output::write_file(&request.dest, &request.protection, |w| {
                    w.write_all(&bytes)
                        .map_err(|e| custos_vault::Error::io("writing the export", e))
                })?;
                (1, withheld)
            }
        };
        Ok(Exported {
            path: request.dest.clone(),
            bytes: size_of(&request.dest),
            files,
            encrypted: request.protection.is_encrypted(),
            withheld,
        })
    }
}

/// [`produce`] then [`Produced::write`], holding the vault throughout.
pub fn run(
    vault: &Vault,
    request: &Request,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Exported> {
    produce(vault, request, progress)?.write(request)
}

/// Bytes on disk at `path` (a file, or every file of a folder).
fn size_of(path: &Path) -> u64 {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => std::fs::read_dir(path)
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0),
        Ok(m) => m.len(),
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_in_existing_folders_and_new() {
        assert!(destination(Path::new("")).is_err());
        assert!(destination(Path::new("/no/such/folder/file.json")).is_err());
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(destination(tmp.path()).unwrap_err().kind(), "file_exists");
        let ok = tmp.path().join("out.json");
        assert_eq!(destination(&ok).unwrap(), ok);
        std::fs::write(&ok, b"x").unwrap();
        assert_eq!(destination(&ok).unwrap_err().kind(), "file_exists");
        // A bare file name is in the current folder.
        assert!(destination(Path::new("surely-not-here-4f1c.json")).is_ok());
    }

    #[test]
    fn recipients_are_checked_and_never_repeated() {
        assert!(!protection(None).unwrap().is_encrypted());
        assert!(!protection(Some("  ")).unwrap().is_encrypted());
        let e = protection(Some("AGE-SECRET-KEY-1QQQ")).unwrap_err();
        assert_eq!(e.kind(), "invalid_recipient");
        assert!(!e.to_string().contains("AGE-SECRET-KEY"));
        let id = age::x25519::Identity::generate();
        let r = id.to_public().to_string();
        assert!(protection(Some(&format!(" {r} "))).unwrap().is_encrypted());
    }

    #[test]
    fn a_communication_is_about_one_case_of_a_known_type_with_trimmed_texts() {
        let fields = |kind: &str| {
            let mut f = UnsrFields::default();
            f.kind = kind.into();
            f.submitter = "  A. Submitter \n".into();
            f.link_to_work = "\tunion work ".into();
            f.perpetrator_types = HashMap::from([
                (Uuid::nil(), " non_state ".into()),
                (Uuid::from_u128(1), "  ".into()),
            ]);
            f
        };
        let one = [Uuid::new_v4()];
        assert!(fields("urgent_appeal").request(&[]).is_err());
        assert!(fields("urgent_appeal")
            .request(&[Uuid::new_v4(), Uuid::new_v4()])
            .is_err());
        assert!(fields("a letter").request(&one).is_err());
        let r = fields("allegation-letter").request(&one).unwrap();
        assert_eq!(r.kind, CommunicationType::AllegationLetter);
        assert_eq!(
            (r.submitter.as_str(), r.link_to_work.as_str()),
            ("A. Submitter", "union work")
        );
        assert_eq!(
            r.perpetrator_types,
            vec![(Uuid::nil(), PerpetratorType::NonState)]
        );
    }

    #[test]
    fn submission_answers_are_checked_against_the_mechanisms_form_and_language() {
        let one = [Uuid::new_v4()];
        let mut f = SubmissionFields::default();
        f.answers.insert("current_risk".into(), "  high \n".into());
        f.answers.insert("context".into(), "   ".into());
        let r = f.request(Mechanism::Observatory, &one).unwrap();
        assert_eq!(
            r.language, "en",
            "the mechanism's first language by default"
        );
        assert_eq!(r.answer("current_risk"), "high");
        assert!(
            r.answers.iter().all(|a| a.key != "context"),
            "an empty answer is left out"
        );
        f.language = "ar".into();
        let e = f.request(Mechanism::Observatory, &one).unwrap_err();
        assert!(e.to_string().contains("en, fr, es"), "{e}");
        f.language = "ar".into();
        assert_eq!(f.request(Mechanism::Achpr, &one).unwrap().language, "ar");
        f.answers.insert("no_such_question".into(), "x".into());
        let e = f.request(Mechanism::Achpr, &one).unwrap_err();
        assert!(e.to_string().contains("no_such_question"), "{e}");
        assert!(SubmissionFields::default()
            .request(Mechanism::Eu, &[])
            .is_err());
        for m in Mechanism::ALL {
            assert_eq!(Format::of(m).mechanism(), Some(m));
            assert!(Format::of(m).is_single_case());
        }
        assert_eq!(Format::ALL.iter().filter(|f| f.is_single_case()).count(), 5);
    }

    #[test]
    fn a_submissions_answers_are_kept_in_one_draft_per_mechanism() {
        use custos_model::Case;
        let tmp = tempfile::tempdir().unwrap();
        let mut v = Vault::create(
            &tmp.path().join("v"),
            &custos_test_support::pass(),
            custos_vault::Options::insecure_for_tests(),
        )
        .unwrap();
        let case = v
            .add(Record::Case(Case {
                title: "C".into(),
                ..Case::default()
            }))
            .unwrap();
        assert!(saved_submission(&v, case, Mechanism::Iachr)
            .unwrap()
            .is_none());
        let perpetrator = Uuid::new_v4();
        let mut f = SubmissionFields::default();
        f.language = "pt".into();
        f.answers.insert("urgency".into(), "iminente".into());
        f.perpetrator_types.insert(perpetrator, "non_state".into());
        let r = f.request(Mechanism::Iachr, &[case]).unwrap();
        let draft = save_draft(&mut v, &r).unwrap();
        // The same answers again: the same draft, no new version.
        assert_eq!(save_draft(&mut v, &r).unwrap(), draft);
        assert_eq!(v.history(draft).unwrap().len(), 1);
        let saved = saved_submission(&v, case, Mechanism::Iachr)
            .unwrap()
            .unwrap();
        assert_eq!(saved.intervention_id, draft);
        assert_eq!(saved.fields.language, "pt");
        assert_eq!(saved.fields.answers["urgency"], "iminente");
        assert_eq!(saved.fields.perpetrator_types[&perpetrator], "non_state");
        let Some(Record::Intervention(i)) = v.get(draft).unwrap().into_record() else {
            panic!("not an intervention")
        };
        assert_eq!(
            (i.mechanism.as_str(), i.status, i.kind),
            (
                "iachr_hrd_unit",
                InterventionStatus::Draft,
                InterventionType::UrgentAppeal
            )
        );
        assert_eq!(i.title, Mechanism::Iachr.title("pt"));

        // Changed answers update that draft; another mechanism has its own.
        f.answers.insert("urgency".into(), "amanhã".into());
        let r = f.request(Mechanism::Iachr, &[case]).unwrap();
        assert_eq!(save_draft(&mut v, &r).unwrap(), draft);
        assert_eq!(v.history(draft).unwrap().len(), 2);
        let mut g = SubmissionFields::default();
        g.answers.insert("context".into(), "x".into());
        let other = save_draft(&mut v, &g.request(Mechanism::Eu, &[case]).unwrap()).unwrap();
        assert_ne!(other, draft);

        // Once the draft is marked sent, the next export starts a new draft.
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        crate::followup::mark_sent(&mut v, draft, &Default::default(), today).unwrap();
        assert!(saved_submission(&v, case, Mechanism::Iachr)
            .unwrap()
            .is_none());
        let again = save_draft(&mut v, &r).unwrap();
        assert_ne!(again, draft);
    }

    #[test]
    fn an_empty_case_list_is_refused_and_none_means_all() {
        assert!(selection(Some(&[])).is_err());
        assert!(selection(None).unwrap().is_all());
    }
}
