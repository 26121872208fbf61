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
//! - A communication's missing elements are listed first (`export_check`); writing it
//!   while some are missing needs `acceptMissing` (the user's "export anyway").
//! - Progress goes to the window as `export-progress` events (`{done, total}`: counts
//!   only). One export at a time. The vault is held while records are read (and for
//!   JSON while it is written); a PDF or a communication is written after letting go.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use custos_app::export::{self, Exported, Format, UnsrFields};
use custos_report::unsr::{UnSrFormat, UnSrRequest};
use custos_vault::Filter;
use custos_vault::Vault;
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter, Manager};
use uuid::Uuid;

use crate::error::CommandError;
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
        })
        .collect()
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
    /// The UN-SR communication's own fields.
    #[serde(default)]
    unsr: UnsrPage,
    /// UN-SR communication: written even though elements are missing (the user saw
    /// the list and confirmed).
    #[serde(default)]
    accept_missing: bool,
}

impl ExportRequest {
    /// The communication's request (one case, its type, the user's texts).
    fn unsr_request(&self) -> Result<UnSrRequest> {
        Ok(self
            .unsr
            .fields
            .request(self.case_ids.as_deref().unwrap_or_default())?)
    }

    /// The export, checked: where (a full path), how, which cases, what.
    fn checked(&self) -> Result<export::Request> {
        let path = self.path.trim();
        if path.is_empty() || !Path::new(path).is_absolute() {
            return Err(CommandError::BadRequest(
                "give the full path of the file (it starts with /)".into(),
            ));
        }
        let unsr = match self.format {
            Format::Unsr => Some((
                self.unsr_request()?,
                if self.unsr.pdf {
                    UnSrFormat::Pdf
                } else {
                    UnSrFormat::Text
                },
            )),
            _ => None,
        };
        Ok(export::Request {
            format: self.format,
            dest: export::destination(Path::new(path))?,
            protection: export::protection(self.recipient.as_deref())?,
            selection: export::selection(self.case_ids.as_deref())?,
            unsr,
            accept_missing: self.accept_missing,
        })
    }
}

/// An element a communication lacks, as the page shows it.
#[derive(Debug, Serialize)]
pub struct Missing {
    /// The stable code (`victim_age` …): the page words it in the user's language.
    element: &'static str,
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

fn missing_of(v: &Vault, request: &UnSrRequest) -> Result<Vec<Missing>> {
    let missing = export::missing(v, request)?;
    let titles = if missing.iter().any(|m| m.record.is_some()) {
        titles(v)
    } else {
        HashMap::new()
    };
    Ok(missing
        .into_iter()
        .map(|m| Missing {
            element: m.code.as_str(),
            record_id: m.record,
            record_title: m.record.and_then(|id| titles.get(&id).cloned()),
            message: m.message.clone(),
        })
        .collect())
}

/// What a UN Special Rapporteur communication of this case would lack, before anything
/// is written. Other formats lack nothing.
#[tauri::command]
pub async fn export_check(app: AppHandle, request: ExportRequest) -> Result<Check> {
    if request.format != Format::Unsr {
        return Ok(Check {
            missing: Vec::new(),
        });
    }
    let req = request.unsr_request()?;
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
    let request = request.checked()?;
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
            let guard = state.vault.lock().map_err(|_| state_error())?;
            let v = guard.as_ref().ok_or(CommandError::Locked)?;
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
    use custos_report::unsr::{CommunicationType, PerpetratorType};

    fn request(path: &str, recipient: Option<&str>) -> ExportRequest {
        ExportRequest {
            format: Format::Json,
            case_ids: None,
            path: path.into(),
            recipient: recipient.map(str::to_owned),
            unsr: UnsrPage::default(),
            accept_missing: false,
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
        let r = page.unsr_request().unwrap();
        assert_eq!(r.kind, CommunicationType::AllegationLetter);
        assert_eq!(r.submitter, "me");
        assert_eq!(
            r.perpetrator_types,
            vec![(Uuid::nil(), PerpetratorType::NonState)]
        );
        assert!(page.unsr.pdf && page.accept_missing);
    }
}
