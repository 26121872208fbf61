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
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use custos_report::unsr::{self, CommunicationType, PerpetratorType, UnSrFormat, UnSrRequest};
use custos_report::{output, Protection, Selection};
use custos_vault::Filter;
use custos_vault::Vault;
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter, Manager};
use uuid::Uuid;
use zeroize::{Zeroize, Zeroizing};

use crate::error::CommandError;
use crate::state::AppState;

type Result<T> = std::result::Result<T, CommandError>;

/// The event the window listens to during an export.
pub const EVENT: &str = "export-progress";

/// True while an export runs.
static RUNNING: AtomicBool = AtomicBool::new(false);

/// The least time between two progress events (the last one always goes).
const PROGRESS_EVERY: Duration = Duration::from_millis(50);

/// The formats the page may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Every version of every record, as the core's JSON export (can be imported).
    Json,
    /// A new folder of CSV files, HURIDOCS columns.
    Csv,
    /// The case report (PDF).
    Pdf,
    /// A communication to the UN Special Rapporteur on human rights defenders (one
    /// case; text or PDF).
    Unsr,
}

impl Format {
    const ALL: [Format; 4] = [Format::Json, Format::Csv, Format::Pdf, Format::Unsr];
}

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
            folder: format == Format::Csv,
            single_case: format == Format::Unsr,
        })
        .collect()
}

/// What the user gives for a UN-SR communication (nothing of it is stored).
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnsrFields {
    /// `urgent_appeal` or `allegation_letter`.
    #[serde(default)]
    kind: String,
    #[serde(default)]
    submitter: String,
    #[serde(default)]
    link_to_work: String,
    #[serde(default)]
    current_risk: String,
    #[serde(default)]
    context: String,
    /// Per alleged perpetrator (person id): `state` or `non_state`.
    #[serde(default)]
    perpetrator_types: HashMap<Uuid, String>,
    /// PDF rather than plain text.
    #[serde(default)]
    pdf: bool,
}

impl Drop for UnsrFields {
    fn drop(&mut self) {
        self.submitter.zeroize();
        self.link_to_work.zeroize();
        self.current_risk.zeroize();
        self.context.zeroize();
    }
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
    unsr: UnsrFields,
    /// UN-SR communication: written even though elements are missing (the user saw
    /// the list and confirmed).
    #[serde(default)]
    accept_missing: bool,
}

impl ExportRequest {
    fn selection(&self) -> Result<Selection> {
        match &self.case_ids {
            None => Ok(Selection::all()),
            Some(ids) if ids.is_empty() => {
                Err(CommandError::BadRequest("no case to export".into()))
            }
            Some(ids) => Ok(Selection::cases(ids.iter().copied())),
        }
    }

    /// The communication's request (one case, its type, the user's texts).
    fn unsr_request(&self) -> Result<UnSrRequest> {
        let case_id = match self.case_ids.as_deref() {
            Some([one]) => *one,
            _ => {
                return Err(CommandError::BadRequest(
                    "a communication is about exactly one case".into(),
                ))
            }
        };
        let kind: CommunicationType = self.unsr.kind.parse().map_err(CommandError::Core)?;
        let mut perpetrator_types = Vec::new();
        for (id, t) in &self.unsr.perpetrator_types {
            if t.trim().is_empty() {
                continue;
            }
            let t: PerpetratorType = t.parse().map_err(CommandError::Core)?;
            perpetrator_types.push((*id, t));
        }
        perpetrator_types.sort_by_key(|(id, _)| *id);
        Ok(UnSrRequest {
            case_id,
            kind,
            submitter: self.unsr.submitter.trim().to_owned(),
            link_to_work: self.unsr.link_to_work.trim().to_owned(),
            current_risk: self.unsr.current_risk.trim().to_owned(),
            context: self.unsr.context.trim().to_owned(),
            perpetrator_types,
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

/// What an export wrote.
#[derive(Debug, Serialize)]
pub struct Exported {
    path: String,
    /// Bytes on disk (all files of a CSV folder).
    bytes: u64,
    /// Files written (1, or one per table for CSV).
    files: usize,
    encrypted: bool,
    /// UN-SR: persons whose name was withheld (no consent).
    withheld: usize,
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

/// How the file is written: plain, or encrypted to the recipient (checked).
fn protection_of(text: Option<&str>) -> Result<Protection> {
    match text.map(str::trim) {
        None | Some("") => Ok(Protection::Plaintext),
        Some(r) => output::parse_recipient(r)
            .map(Protection::AgeRecipient)
            .map_err(|_| {
                refuse(
                    "invalid_recipient",
                    "not an age recipient (a public key that starts with age1)",
                )
            }),
    }
}

/// The destination, checked: absolute, in an existing folder, nothing there yet (an
/// export never replaces a file).
fn destination(path: &str) -> Result<PathBuf> {
    let dest = PathBuf::from(path.trim());
    if path.trim().is_empty() || !dest.is_absolute() {
        return Err(CommandError::BadRequest(
            "give the full path of the file (it starts with /)".into(),
        ));
    }
    if dest.symlink_metadata().is_ok() {
        return Err(refuse(
            "file_exists",
            format!(
                "{} already exists; choose a new name (an export never replaces a file)",
                dest.display()
            ),
        ));
    }
    match dest.parent() {
        Some(p) if p.is_dir() => Ok(dest),
        _ => Err(CommandError::BadRequest(format!(
            "the folder of {} does not exist",
            dest.display()
        ))),
    }
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
    let missing = unsr::missing_elements(v, request)?;
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

/// What the vault-holding part of an export produced.
enum Produced {
    /// Written already (JSON reads as it writes; CSV writes a file per table).
    Written { files: usize },
    /// The bytes of a report or communication, to write once the vault is let go.
    Bytes {
        bytes: Zeroizing<Vec<u8>>,
        withheld: usize,
    },
}

/// Writes an export to the chosen path. → where, how much, whether encrypted.
#[tauri::command]
pub async fn export_run(app: AppHandle, request: ExportRequest) -> Result<Exported> {
    let dest = destination(&request.path)?;
    let protection = protection_of(request.recipient.as_deref())?;
    let selection = request.selection()?;
    let unsr_request = match request.format {
        Format::Unsr => Some(request.unsr_request()?),
        _ => None,
    };
    let turn = Turn::take()?;
    let format = request.format;
    let accept_missing = request.accept_missing;
    let unsr_format = if request.unsr.pdf {
        UnSrFormat::Pdf
    } else {
        UnSrFormat::Text
    };
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
            let guard = state.vault.lock().map_err(|_| state_error())?;
            let v = guard.as_ref().ok_or(CommandError::Locked)?;
            match format {
                Format::Json => {
                    let ids = selection.resolve_with(v, true)?;
                    let chosen = (!selection.is_all()).then_some(ids.as_slice());
                    // The JSON export reads as it writes: the vault is held to the end.
                    output::write_file(&dest, &protection, |w: &mut dyn Write| {
                        custos_report::json::export_json_with_progress(v, chosen, w, &mut progress)
                    })?;
                    Produced::Written { files: 1 }
                }
                Format::Csv => {
                    let stats = custos_report::csv::export_csv(
                        v,
                        &selection,
                        &dest,
                        &protection,
                        &mut progress,
                    )?;
                    Produced::Written {
                        files: stats.files.len(),
                    }
                }
                Format::Pdf => {
                    let (bytes, _) = custos_report::pdf::case_report(v, &selection, &mut progress)?;
                    Produced::Bytes { bytes, withheld: 0 }
                }
                Format::Unsr => {
                    let req = unsr_request
                        .as_ref()
                        .ok_or_else(|| CommandError::Internal("no communication".into()))?;
                    if !accept_missing && !unsr::missing_elements(v, req)?.is_empty() {
                        return Err(refuse(
                            "missing_elements",
                            "the communication lacks elements the Special Rapporteur asks \
                             for; confirm to export anyway",
                        ));
                    }
                    let (bytes, stats) =
                        unsr::communication(v, req, unsr_format, accept_missing, &mut progress)?;
                    Produced::Bytes {
                        bytes,
                        withheld: stats.withheld,
                    }
                }
            }
        };
        // The vault is free again: a report or communication is written from memory.
        let (files, withheld) = match produced {
            Produced::Written { files } => (files, 0),
            Produced::Bytes { bytes, withheld } => {
                output::write_file(&dest, &protection, |w| {
                    w.write_all(&bytes)
                        .map_err(|e| custos_vault::Error::io("writing the export", e))
                })?;
                (1, withheld)
            }
        };
        Ok(Exported {
            path: dest.display().to_string(),
            bytes: size_of(&dest),
            files,
            encrypted: protection.is_encrypted(),
            withheld,
        })
    })
    .await
    .map_err(|e| CommandError::Internal(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_full_paths_in_existing_folders_and_new() {
        assert!(destination("").is_err());
        assert!(destination("relative/file.json").is_err());
        assert!(destination("/no/such/folder/file.json").is_err());
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(
            destination(&tmp.path().display().to_string())
                .unwrap_err()
                .kind(),
            "file_exists"
        );
        let ok = tmp.path().join("out.json");
        assert_eq!(destination(&ok.display().to_string()).unwrap(), ok);
        std::fs::write(&ok, b"x").unwrap();
        assert_eq!(
            destination(&ok.display().to_string()).unwrap_err().kind(),
            "file_exists"
        );
    }

    #[test]
    fn recipients_are_checked() {
        assert!(!protection_of(None).unwrap().is_encrypted());
        assert!(!protection_of(Some("  ")).unwrap().is_encrypted());
        assert_eq!(
            protection_of(Some("age1nope")).unwrap_err().kind(),
            "invalid_recipient"
        );
        let id = age::x25519::Identity::generate();
        let r = id.to_public().to_string();
        assert!(protection_of(Some(&format!(" {r} ")))
            .unwrap()
            .is_encrypted());
    }

    #[test]
    fn a_communication_is_about_one_case_of_a_known_type() {
        let request = |ids: Option<Vec<Uuid>>, kind: &str| ExportRequest {
            format: Format::Unsr,
            case_ids: ids,
            path: String::new(),
            recipient: None,
            unsr: UnsrFields {
                kind: kind.into(),
                submitter: String::new(),
                link_to_work: String::new(),
                current_risk: String::new(),
                context: String::new(),
                perpetrator_types: HashMap::from([(Uuid::nil(), "non_state".into())]),
                pdf: false,
            },
            accept_missing: false,
        };
        let one = Some(vec![Uuid::new_v4()]);
        assert!(request(None, "urgent_appeal").unsr_request().is_err());
        assert!(
            request(Some(vec![Uuid::new_v4(), Uuid::new_v4()]), "urgent_appeal")
                .unsr_request()
                .is_err()
        );
        assert!(request(one.clone(), "a letter").unsr_request().is_err());
        let r = request(one, "allegation_letter").unsr_request().unwrap();
        assert_eq!(r.kind, CommunicationType::AllegationLetter);
        assert_eq!(
            r.perpetrator_types,
            vec![(Uuid::nil(), PerpetratorType::NonState)]
        );
    }
}
