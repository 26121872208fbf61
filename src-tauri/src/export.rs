//! Exports from the desktop app: one case, every case, or the cases a search shows, as
//! JSON (complete, with history), CSV (HURIDOCS columns, a new folder), the PDF case
//! report, or a communication to the UN Special Rapporteur on human rights defenders
//! (one case) — all through the core's `custos_report` and `custos_report::json`.
//!
//! - The file goes to the path the user chose (typed, or picked with the system's save
//!   dialog: `evidence_pick_destination`), written directly by the core's output helper:
//!   no temporary file, never over an existing file, nothing partial left on failure.
//! - It is plaintext unless an age recipient (`age1…`) is given: then it is encrypted
//!   as it is written, and nothing readable reaches the disk.
//! - A PDF (the case report, a submission as PDF) may include the patterns (`patterns`:
//!   the small-count threshold): the charts and map of the exported cases — the
//!   selection, or a submission's one case — from their published figures.
//! - A communication's missing elements are listed first (`export_check`); writing it
//!   while some are missing needs `acceptMissing` (the user's "export anyway").
//! - Progress goes to the window as `export-progress` events (`{done, total}`: counts
//!   only). One export at a time. The vault is held while records are read (and for
//!   JSON while it is written); a PDF or a communication is written after letting go.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use custos_app::export::{self, Exported, Format, SubmissionFields, UnsrFields};
use custos_report::submission::{Mechanism, Question, SubmissionFormat, SubmissionRequest};
use custos_report::Patterns;
use custos_vault::Filter;
use custos_vault::Vault;
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter, Manager};
use uuid::Uuid;

use crate::error::CommandError;
use crate::patterns::MAX_THRESHOLD;
use crate::state::AppState;

type Result<T> = std::result::Result<T, CommandError>;

/// The event the window listens to during an export.
pub const EVENT: &str = "export-progress";

/// True while an export runs.
static RUNNING: AtomicBool = AtomicBool::new(false);

/// The least time between two progress events (the last one always goes).
const PROGRESS_EVERY: Duration = Duration::from_millis(50);

/// A format the app can write.
#[derive(Serialize)]
pub struct FormatInfo {
    format: Format,
    /// True when it writes a folder (named by the path) rather than a file.
    folder: bool,
    /// True when it is about exactly one case.
    single_case: bool,
    /// For a submission, the mechanism it goes to (its `mechanisms` code).
    mechanism: Option<&'static str>,
}

/// The formats this app can export.
#[tauri::command]
pub fn export_formats() -> Vec<FormatInfo> {
    Format::ALL
        .into_iter()
        .map(|format| FormatInfo {
            format,
            folder: format.is_folder(),
            single_case: format.is_single_case(),
            mechanism: format.mechanism().map(Mechanism::code),
        })
        .collect()
}

/// A submission's form as the export dialog shows it: the mechanism's questions and
/// languages, and the answers the case keeps for it (its latest draft intervention).
#[derive(Debug, Serialize)]
pub struct SubmissionForm {
    format: Format,
    /// The `mechanisms` code.
    mechanism: &'static str,
    questions: &'static [Question],
    /// The languages it accepts, the default first.
    languages: &'static [&'static str],
    /// True when the answers come from a draft the case keeps.
    saved: bool,
    /// The saved language (or the default), answers and perpetrator types.
    #[serde(flatten)]
    fields: SubmissionFields,
}

fn submission_form_of(v: &Vault, case_id: Uuid, format: Format) -> Result<SubmissionForm> {
    let Some(mechanism) = format.mechanism() else {
        return Err(CommandError::BadRequest(format!(
            "{} is not a submission to a mechanism",
            serde_json::to_string(&format).unwrap_or_default()
        )));
    };
    let saved = export::saved_submission(v, case_id, mechanism)?;
    let (saved, mut fields) = match saved {
        Some(s) => (true, s.fields),
        None => (false, SubmissionFields::default()),
    };
    if !mechanism.languages().contains(&fields.language.as_str()) {
        fields.language = mechanism.languages()[0].to_owned();
    }
    Ok(SubmissionForm {
        format,
        mechanism: mechanism.code(),
        questions: mechanism.questions(),
        languages: mechanism.languages(),
        saved,
        fields,
    })
}

/// The form of a submission of one case to a mechanism, prefilled from the answers the
/// case keeps for it.
#[tauri::command]
pub fn submission_form(
    state: tauri::State<'_, AppState>,
    case_id: Uuid,
    format: Format,
) -> Result<SubmissionForm> {
    crate::state::with_vault(&state, |v| submission_form_of(v, case_id, format))
}

/// What the page gives for a UN-SR communication (nothing of it is stored): the
/// communication's texts, and PDF rather than plain text.
#[derive(Default, Deserialize)]
pub struct UnsrPage {
    #[serde(flatten)]
    fields: UnsrFields,
    #[serde(default)]
    pdf: bool,
}

/// What the page gives for a submission to any of the five mechanisms: its language,
/// answers and perpetrator types (kept with the case in its draft intervention), and PDF
/// rather than plain text.
#[derive(Default, Deserialize)]
pub struct SubmissionPage {
    #[serde(flatten)]
    fields: SubmissionFields,
    #[serde(default)]
    pdf: bool,
}

/// What the page asks to export (or to check).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportRequest {
    format: Format,
    /// The cases (with all their records); none: the whole vault.
    #[serde(default)]
    case_ids: Option<Vec<Uuid>>,
    /// Where to write (absolute): a new file, or for CSV a new folder.
    #[serde(default)]
    path: String,
    /// An age recipient to encrypt to; none: plaintext.
    #[serde(default)]
    recipient: Option<String>,
    /// The UN-SR communication's own fields (the first version's form; `submission`
    /// takes precedence when given).
    #[serde(default)]
    unsr: UnsrPage,
    /// A submission's language, answers and perpetrator types.
    #[serde(default)]
    submission: Option<SubmissionPage>,
    /// UN-SR communication: written even though elements are missing (the user saw
    /// the list and confirmed).
    #[serde(default)]
    accept_missing: bool,
    /// A PDF (the case report, a submission as PDF): include the charts and map of the
    /// patterns of the exported cases, from the figures published with this
    /// small-count threshold (1 or more). None: no charts.
    #[serde(default)]
    patterns: Option<u32>,
}

impl ExportRequest {
    /// The submission's request (one case, its answers) and whether text or PDF; `None`
    /// for the formats that are not submissions.
    fn submission_request(&self) -> Result<Option<(SubmissionRequest, SubmissionFormat)>> {
        let Some(mechanism) = self.format.mechanism() else {
            return Ok(None);
        };
        let cases = self.case_ids.as_deref().unwrap_or_default();
        let (request, pdf) = match &self.submission {
            Some(page) => (page.fields.request(mechanism, cases)?, page.pdf),
            None if self.format == Format::Unsr => {
                // The first version's form: checked as before, then as a submission.
                self.unsr.fields.request(cases)?;
                let fields = self.unsr.fields.submission_fields()?;
                (fields.request(mechanism, cases)?, self.unsr.pdf)
            }
            None => {
                return Err(CommandError::BadRequest(
                    "a submission needs its answers".into(),
                ))
            }
        };
        let format = if pdf {
            SubmissionFormat::Pdf
        } else {
            SubmissionFormat::Text
        };
        Ok(Some((request, format)))
    }

    /// The patterns asked for, checked: a threshold from 1 to `MAX_THRESHOLD`, and a
    /// PDF to draw them in (the case report, or a submission written as PDF).
    fn patterns(
        &self,
        submission: Option<&(SubmissionRequest, SubmissionFormat)>,
    ) -> Result<Option<Patterns>> {
        let Some(threshold) = self.patterns else {
            return Ok(None);
        };
        if threshold == 0 || threshold > MAX_THRESHOLD {
            return Err(CommandError::BadRequest(format!(
                "the threshold is a whole number from 1 to {MAX_THRESHOLD}"
            )));
        }
        let pdf = self.format == Format::Pdf
            || submission.is_some_and(|(_, f)| *f == SubmissionFormat::Pdf);
        if !pdf {
            return Err(CommandError::BadRequest(
                "the patterns' charts go into a PDF only (the case report or a submission as PDF)"
                    .into(),
            ));
        }
        Ok(Some(Patterns { threshold }))
    }

    /// The export, checked: where (a full path), how, which cases, what.
    fn checked(&self) -> Result<export::Request> {
        let path = self.path.trim();
        if path.is_empty() || !Path::new(path).is_absolute() {
            return Err(CommandError::BadRequest(
                "give the full path of the file (it starts with /)".into(),
            ));
        }
        let submission = self.submission_request()?;
        let patterns = self.patterns(submission.as_ref())?;
        Ok(export::Request {
            format: self.format,
            dest: export::destination(Path::new(path))?,
            protection: export::protection(self.recipient.as_deref())?,
            selection: export::selection(self.case_ids.as_deref())?,
            submission,
            accept_missing: self.accept_missing,
            patterns,
            // The settings' language is set by the caller, which can read them.
            language: "en".into(),
        })
    }
}

/// An element a communication lacks, as the page shows it.
#[derive(Debug, Serialize)]
pub struct Missing {
    /// The stable code (`victim_age` …): the page words it in the user's language.
    element: String,
    /// The record it is about, when there is one, and that record's title or name
    /// (shown in the window only).
    record_id: Option<Uuid>,
    record_title: Option<String>,
    /// The core's plain English.
    message: String,
}

/// What a check found.
#[derive(Debug, Serialize)]
pub struct Check {
    missing: Vec<Missing>,
}

fn refuse(kind: &'static str, message: impl Into<String>) -> CommandError {
    CommandError::Sync {
        kind,
        message: message.into(),
    }
}

fn state_error() -> CommandError {
    CommandError::Internal("the vault state is unavailable".into())
}

/// Clears the running flag however an export ends.
struct Turn;

impl Turn {
    fn take() -> Result<Turn> {
        if RUNNING.swap(true, Ordering::SeqCst) {
            return Err(refuse(
                "export_running",
                "an export is already running; wait for it to end",
            ));
        }
        Ok(Turn)
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        RUNNING.store(false, Ordering::SeqCst);
    }
}

/// Sends progress to the window: at most every `PROGRESS_EVERY`, and always the end.
struct Reporter {
    app: AppHandle,
    last: Option<Instant>,
}

impl Reporter {
    fn report(&mut self, done: usize, total: usize) {
        let now = Instant::now();
        let due = self.last.is_none_or(|t| now - t >= PROGRESS_EVERY);
        if due || done >= total {
            self.last = Some(now);
            let _ = self
                .app
                .emit(EVENT, serde_json::json!({ "done": done, "total": total }));
        }
    }
}

/// The title (or name) of a record, from the index (decrypts nothing).
fn titles(v: &Vault) -> HashMap<Uuid, String> {
    v.list(&Filter {
        include_deleted: true,
        ..Filter::default()
    })
    .iter()
    .map(|i| (i.record_id, i.summary.title.clone()))
    .collect()
}

fn missing_of(v: &Vault, request: &SubmissionRequest) -> Result<Vec<Missing>> {
    let missing = export::missing(v, request)?;
    let titles = if missing.iter().any(|m| m.record.is_some()) {
        titles(v)
    } else {
        HashMap::new()
    };
    Ok(missing
        .into_iter()
        .map(|m| Missing {
            element: m.code.clone(),
            record_id: m.record,
            record_title: m.record.and_then(|id| titles.get(&id).cloned()),
            message: m.message.clone(),
        })
        .collect())
}

/// What a submission of this case would lack, before anything is written. Other formats
/// lack nothing.
#[tauri::command]
pub async fn export_check(app: AppHandle, request: ExportRequest) -> Result<Check> {
    let Some((req, _)) = request.submission_request()? else {
        return Ok(Check {
            missing: Vec::new(),
        });
    };
    tauri::async_runtime::spawn_blocking(move || {
        let state = app.state::<AppState>();
        let guard = state.vault.lock().map_err(|_| state_error())?;
        let v = guard.as_ref().ok_or(CommandError::Locked)?;
        Ok(Check {
            missing: missing_of(v, &req)?,
        })
    })
    .await
    .map_err(|e| CommandError::Internal(e.to_string()))?
}

/// Writes an export to the chosen path. → where, how much, whether encrypted.
#[tauri::command]
pub async fn export_run(app: AppHandle, request: ExportRequest) -> Result<Exported> {
    let mut request = request.checked()?;
    // The case report speaks the language the user chose for the app.
    request.language = custos_app::settings::load(&app.state::<AppState>().config_dir).language;
    let turn = Turn::take()?;
    let worker = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let _turn = turn;
        let state = worker.state::<AppState>();
        let mut reporter = Reporter {
            app: worker.clone(),
            last: None,
        };
        let mut progress = |done: usize, total: usize| reporter.report(done, total);
        let produced = {
            // The vault is held while records are read (and JSON and CSV written) …
            let mut guard = state.vault.lock().map_err(|_| state_error())?;
            let v = guard.as_mut().ok_or(CommandError::Locked)?;
            // A submission's answers stay with the case (its draft intervention), also
            // when the export is then refused for what it lacks.
            if let Some((submission, _)) = &request.submission {
                export::save_draft(v, submission)?;
            }
            export::produce(v, &request, &mut progress)?
        };
        // … and free again while a report or communication is written from memory.
        Ok(produced.write(&request)?)
    })
    .await
    .map_err(|e| CommandError::Internal(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use custos_report::submission::{Mechanism, PerpetratorType};

    fn request(path: &str, recipient: Option<&str>) -> ExportRequest {
        ExportRequest {
            format: Format::Json,
            case_ids: None,
            path: path.into(),
            recipient: recipient.map(str::to_owned),
            unsr: UnsrPage::default(),
            submission: None,
            accept_missing: false,
            patterns: None,
        }
    }

    #[test]
    fn destinations_are_full_paths_in_existing_folders_and_new() {
        let bad = |p: &str| request(p, None).checked().unwrap_err().kind();
        assert_eq!(bad(""), "bad_request");
        assert_eq!(bad("relative/file.json"), "bad_request");
        assert_eq!(bad("/no/such/folder/file.json"), "bad_request");
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(bad(&tmp.path().display().to_string()), "file_exists");
        let ok = tmp.path().join("out.json");
        let checked = request(&ok.display().to_string(), None).checked().unwrap();
        assert_eq!(checked.dest, ok);
        std::fs::write(&ok, b"x").unwrap();
        assert_eq!(bad(&ok.display().to_string()), "file_exists");
    }

    #[test]
    fn patterns_need_a_threshold_of_one_or_more_and_a_pdf() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("out.pdf").display().to_string();
        let mut r = request(&path, None);
        r.format = Format::Pdf;
        assert_eq!(r.checked().unwrap().patterns, None, "off unless asked for");
        r.patterns = Some(1);
        assert_eq!(
            r.checked().unwrap().patterns,
            Some(Patterns { threshold: 1 })
        );
        for wrong in [0, MAX_THRESHOLD + 1] {
            r.patterns = Some(wrong);
            assert_eq!(r.checked().unwrap_err().kind(), "bad_request", "{wrong}");
        }
        // Not a PDF: JSON, and a submission written as text.
        r.patterns = Some(3);
        r.format = Format::Json;
        assert_eq!(r.checked().unwrap_err().kind(), "bad_request");
        let one = Uuid::new_v4();
        let page = |pdf: bool| -> ExportRequest {
            serde_json::from_value(serde_json::json!({
                "format": "achpr", "caseIds": [one], "path": path, "patterns": 3,
                "submission": {"language": "fr", "answers": {}, "pdf": pdf}
            }))
            .unwrap()
        };
        assert_eq!(page(false).checked().unwrap_err().kind(), "bad_request");
        assert_eq!(
            page(true).checked().unwrap().patterns,
            Some(Patterns { threshold: 3 })
        );
    }

    #[test]
    fn recipients_are_checked() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("out.json").display().to_string();
        assert_eq!(
            request(&path, Some("age1nope"))
                .checked()
                .unwrap_err()
                .kind(),
            "invalid_recipient"
        );
        let r = age::x25519::Identity::generate().to_public().to_string();
        let checked = request(&path, Some(&format!(" {r} "))).checked().unwrap();
        assert!(checked.protection.is_encrypted());
    }

    #[test]
    fn the_page_sends_a_communication_with_its_own_fields() {
        let one = Uuid::new_v4();
        let page: ExportRequest = serde_json::from_value(serde_json::json!({
            "format": "unsr",
            "caseIds": [one],
            "path": "/nonexistent/communication.txt",
            "unsr": {
                "kind": "allegation_letter",
                "submitter": "  me ",
                "perpetratorTypes": { (Uuid::nil().to_string()): "non_state" },
                "pdf": true
            },
            "acceptMissing": true
        }))
        .unwrap();
        let (r, format) = page.submission_request().unwrap().unwrap();
        assert_eq!(r.mechanism, Mechanism::UnSr);
        assert_eq!(r.answer("type"), "allegation_letter");
        assert_eq!(r.answer("submitter"), "me");
        assert_eq!(r.language, "en");
        assert_eq!(
            r.perpetrator_types,
            vec![(Uuid::nil(), PerpetratorType::NonState)]
        );
        assert_eq!(format, SubmissionFormat::Pdf);
        assert!(page.accept_missing);
        // An unknown type is refused as before.
        let mut bad = page;
        bad.unsr.fields.kind = "a letter".into();
        assert!(bad.submission_request().is_err());
    }

    #[test]
    fn the_page_sends_a_submission_to_any_mechanism() {
        let one = Uuid::new_v4();
        let page: ExportRequest = serde_json::from_value(serde_json::json!({
            "format": "achpr",
            "caseIds": [one],
            "path": "/nonexistent/communication.pdf",
            "submission": {
                "language": "ar",
                "answers": { "current_risk": " high " },
                "perpetratorTypes": {},
                "pdf": true
            }
        }))
        .unwrap();
        let (r, format) = page.submission_request().unwrap().unwrap();
        assert_eq!((r.mechanism, r.language.as_str()), (Mechanism::Achpr, "ar"));
        assert_eq!(r.answer("current_risk"), "high");
        assert_eq!(format, SubmissionFormat::Pdf);
        // Without its answers a submission other than the UN-SR's is refused; a format
        // that is not a submission has none.
        let mut bare = page;
        bare.submission = None;
        assert!(bare.submission_request().is_err());
        bare.format = Format::Csv;
        assert!(bare.submission_request().unwrap().is_none());
    }

    #[test]
    fn a_submission_form_lists_its_questions_and_starts_from_the_saved_draft() {
        use custos_model::Record;
        let tmp = tempfile::tempdir().unwrap();
        let mut v = Vault::create(
            &tmp.path().join("v"),
            &custos_test_support::pass(),
            custos_test_support::FAST,
        )
        .unwrap();
        let case = v
            .add(Record::from_json(serde_json::json!({"kind": "case", "title": "C"})).unwrap())
            .unwrap();
        // Not a submission: refused.
        let err = submission_form_of(&v, case, Format::Csv).unwrap_err();
        assert_eq!(err.kind(), "bad_request");
        // Nothing kept yet: the mechanism's first language, no answers.
        let form = submission_form_of(&v, case, Format::Iachr).unwrap();
        assert!(!form.saved);
        assert_eq!(form.mechanism, "iachr_hrd_unit");
        assert_eq!(form.fields.language, "es");
        assert!(form.fields.answers.is_empty());
        let keys: Vec<&str> = form.questions.iter().map(|q| q.key).collect();
        assert!(keys.contains(&"irreparable_harm") && keys.contains(&"measures_requested"));
        // What a written export kept comes back; another mechanism's stays apart.
        let mut fields = SubmissionFields::default();
        fields.language = "fr".into();
        fields
            .answers
            .insert("urgency".into(), "Audience demain".into());
        let request = fields.request(Mechanism::Iachr, &[case]).unwrap();
        export::save_draft(&mut v, &request).unwrap();
        let form = submission_form_of(&v, case, Format::Iachr).unwrap();
        assert!(form.saved);
        assert_eq!(form.fields.language, "fr");
        assert_eq!(form.fields.answers["urgency"], "Audience demain");
        let page = serde_json::to_value(&form).unwrap();
        assert_eq!(page["answers"]["urgency"], "Audience demain");
        assert_eq!(page["questions"][0]["kind"]["type"], "text");
        let other = submission_form_of(&v, case, Format::Eu).unwrap();
        assert!(!other.saved && other.fields.answers.is_empty());
        assert_eq!(other.fields.language, "en");
    }
}
