//! Importing another tool's export from the desktop app (Martus, ODK, Uwazi, Tella):
//! the preview — what it would make, which source fields have no place and are kept in
//! a note, every problem — and then the import, all or nothing, through the core's
//! `custos_app::import`.
//!
//! - The path is the one the user chose (typed, or picked with the system's dialog).
//!   Nothing of the export passes through the page: the backend reads it and writes the
//!   vault; the page receives counts, field names and problems only.
//! - Progress goes to the window as `import-progress` events (`{phase, done, total}`:
//!   counts only). One import at a time; the vault is held while it runs.
//! - A refused export comes back as `import_refused` with every problem in the message;
//!   a write that failed part-way as `import_failed` (and nothing of it is kept).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use custos_app::import::{self, Imported, Phase, Preview, Source};
use serde::Deserialize;
use tauri::{AppHandle, Emitter, Manager};

use crate::error::CommandError;
use crate::state::AppState;

type Result<T> = std::result::Result<T, CommandError>;

/// The event the window listens to during a preview or an import.
pub const EVENT: &str = "import-progress";

/// True while an import or a preview runs.
static RUNNING: AtomicBool = AtomicBool::new(false);

/// The least time between two progress events (the last one always goes).
const PROGRESS_EVERY: Duration = Duration::from_millis(50);

/// What the page asks for.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportRequest {
    /// The tool's code: martus, odk, uwazi or tella.
    source: String,
    /// The export: a file, a folder or a zip, as the user chose it.
    path: String,
}

impl ImportRequest {
    fn checked(&self) -> Result<(import::Tool, PathBuf)> {
        let tool = import::tool(&self.source)?;
        let path = PathBuf::from(self.path.trim());
        if path.as_os_str().is_empty() {
            return Err(CommandError::BadRequest(
                "choose the export to import".into(),
            ));
        }
        if !path.is_absolute() {
            return Err(CommandError::BadRequest(
                "give the export's full path (it starts with /)".into(),
            ));
        }
        Ok((tool, path))
    }
}

/// The tools the app imports from, with what to choose for each.
#[tauri::command]
pub fn import_sources() -> Vec<Source> {
    import::sources()
}

/// Clears the running flag however a run ends.
struct Turn;

impl Turn {
    fn take() -> Result<Turn> {
        if RUNNING.swap(true, Ordering::SeqCst) {
            return Err(CommandError::Sync {
                kind: "import_running",
                message: "an import is already running; wait for it to end".into(),
            });
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
    fn report(&mut self, phase: Phase, done: u64, total: u64) {
        let now = Instant::now();
        let due = self.last.is_none_or(|t| now - t >= PROGRESS_EVERY);
        if due || done >= total {
            self.last = Some(now);
            let _ = self.app.emit(
                EVENT,
                serde_json::json!({ "phase": phase, "done": done, "total": total }),
            );
        }
    }
}

/// Reads the export whole and says what importing it would make; writes nothing.
#[tauri::command]
pub async fn import_preview(app: AppHandle, request: ImportRequest) -> Result<Preview> {
    let (tool, path) = request.checked()?;
    let turn = Turn::take()?;
    let worker = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let _turn = turn;
        let state = worker.state::<AppState>();
        let mut reporter = Reporter {
            app: worker.clone(),
            last: None,
        };
        let guard = state
            .vault
            .lock()
            .map_err(|_| CommandError::Internal("the vault state is unavailable".into()))?;
        let v = guard.as_ref().ok_or(CommandError::Locked)?;
        Ok(import::preview(v, tool, &path, &mut |p, d, t| {
            reporter.report(p, d, t)
        })?)
    })
    .await
    .map_err(|e| CommandError::Internal(e.to_string()))?
}

/// Imports the export: refused with every problem when anything in it is wrong;
/// records already in the vault are left as they are.
#[tauri::command]
pub async fn import_run(app: AppHandle, request: ImportRequest) -> Result<Imported> {
    let (tool, path) = request.checked()?;
    let turn = Turn::take()?;
    let worker = app.clone();
    let done = tauri::async_runtime::spawn_blocking(move || {
        let _turn = turn;
        let state = worker.state::<AppState>();
        let mut reporter = Reporter {
            app: worker.clone(),
            last: None,
        };
        let mut guard = state
            .vault
            .lock()
            .map_err(|_| CommandError::Internal("the vault state is unavailable".into()))?;
        let v = guard.as_mut().ok_or(CommandError::Locked)?;
        Ok::<_, CommandError>(import::run(v, tool, &path, &mut |p, d, t| {
            reporter.report(p, d, t)
        })?)
    })
    .await
    .map_err(|e| CommandError::Internal(e.to_string()))??;
    // The new records go into the search index in the background.
    crate::search::kick();
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(source: &str, path: &str) -> ImportRequest {
        ImportRequest {
            source: source.into(),
            path: path.into(),
        }
    }

    #[test]
    fn requests_name_a_known_tool_and_a_full_path() {
        let (tool, path) = request("odk", " /tmp/form.csv ").checked().unwrap();
        assert_eq!(tool, import::Tool::Odk);
        assert_eq!(path, PathBuf::from("/tmp/form.csv"));
        let e = request("kobo", "/tmp/x.csv").checked().unwrap_err();
        assert_eq!(e.kind(), "bad_request");
        assert!(e.to_string().contains("martus, odk, uwazi, tella"), "{e}");
        assert_eq!(
            request("martus", "").checked().unwrap_err().kind(),
            "bad_request"
        );
        assert!(request("tella", "exports/tella")
            .checked()
            .unwrap_err()
            .to_string()
            .contains("full path"));
    }

    #[test]
    fn the_page_sends_only_the_source_and_the_path() {
        let ok: ImportRequest =
            serde_json::from_value(serde_json::json!({"source": "uwazi", "path": "/x.csv"}))
                .unwrap();
        assert_eq!(ok.source, "uwazi");
        assert!(serde_json::from_value::<ImportRequest>(
            serde_json::json!({"source": "uwazi", "path": "/x.csv", "content": "…"})
        )
        .is_err());
    }

    #[test]
    fn every_tool_is_offered_with_what_to_choose() {
        let sources = import_sources();
        let codes: Vec<&str> = sources.iter().map(|s| s.code).collect();
        assert_eq!(codes, ["martus", "odk", "uwazi", "tella"]);
        assert!(sources.iter().all(|s| !s.choose.is_empty()));
    }
}
