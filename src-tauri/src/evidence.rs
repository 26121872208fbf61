//! Evidence in the desktop app: attach (with the native file chooser), list, view from
//! memory through the `evidence:` protocol, custody log, verify, export.
//!
//! Viewing: `evidence_view` records the view in the custody log and returns a token;
//! the page then loads `evidence://localhost/<token>` (images, audio, video, PDF). Each
//! request is answered by decrypting the blob as a stream (seeking for range requests),
//! so nothing decrypted is written to disk. Tokens die at lock.

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

use custos_model::Evidence;
use custos_vault::Vault;
use custos_vault::{Attach, CustodyEntry, Exported, Verification};
use serde::Serialize;
use tauri::http::{header, Request, Response, StatusCode};
use tauri::{AppHandle, Manager};
use uuid::Uuid;

use crate::error::CommandError;
use crate::state::AppState;

type Result<T> = std::result::Result<T, CommandError>;

fn state_error() -> CommandError {
    CommandError::Internal("the vault state is unavailable".into())
}

/// Runs `f` with the unlocked vault on a worker thread (long work never blocks the
/// window).
async fn blocking<T: Send + 'static>(
    app: &AppHandle,
    f: impl FnOnce(&mut Vault) -> Result<T> + Send + 'static,
) -> Result<T> {
    let app = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let state = app.state::<AppState>();
        let mut guard = state.vault.lock().map_err(|_| state_error())?;
        match guard.as_mut() {
            Some(v) => f(v),
            None => Err(CommandError::Locked),
        }
    })
    .await
    .map_err(|e| CommandError::Internal(e.to_string()))?
}

/// An evidence item as the UI lists it.
#[derive(Serialize)]
pub struct Item {
    evidence_id: Uuid,
    evidence: Evidence,
}

/// The evidence items of a case, newest import first.
#[tauri::command]
pub async fn evidence_list(app: AppHandle, case_id: Uuid) -> Result<Vec<Item>> {
    blocking(&app, move |v| {
        let mut items = Vec::new();
        for id in v.evidence_ids(Some(case_id)) {
            items.push(Item {
                evidence_id: id,
                evidence: v.evidence(id)?,
            });
        }
        items.sort_by_key(|i| std::cmp::Reverse(i.evidence.imported_at));
        Ok(items)
    })
    .await
}

/// Asks the user for a file with the system's file chooser. → its path, or none.
#[tauri::command]
pub async fn evidence_pick_file(app: AppHandle, title: String) -> Result<Option<String>> {
    choose(&app, title, false).await
}

/// Asks the user where to write an export. → the path, or none.
#[tauri::command]
pub async fn evidence_pick_destination(
    app: AppHandle,
    title: String,
    suggested: String,
) -> Result<Option<String>> {
    let _ = &suggested;
    #[cfg(target_os = "linux")]
    return choose_linux(&app, title, true, suggested).await;
    #[cfg(not(target_os = "linux"))]
    return choose(&app, title, true).await;
}

#[cfg(target_os = "linux")]
async fn choose(app: &AppHandle, title: String, save: bool) -> Result<Option<String>> {
    choose_linux(app, title, save, String::new()).await
}

#[cfg(not(target_os = "linux"))]
async fn choose(_app: &AppHandle, _title: String, _save: bool) -> Result<Option<String>> {
    Err(CommandError::BadRequest(
        "no file chooser on this system: type the file's path".into(),
    ))
}

/// GTK's native file chooser, run on the main thread (where GTK lives).
#[cfg(target_os = "linux")]
async fn choose_linux(
    app: &AppHandle,
    title: String,
    save: bool,
    suggested: String,
) -> Result<Option<String>> {
    use gtk::prelude::*;
    let window = app
        .get_webview_window("main")
        .ok_or_else(|| CommandError::Internal("no window".into()))?;
    let (tx, rx) = tauri::async_runtime::channel::<Option<String>>(1);
    app.run_on_main_thread(move || {
        let parent = window.gtk_window().ok();
        let action = if save {
            gtk::FileChooserAction::Save
        } else {
            gtk::FileChooserAction::Open
        };
        let dialog = gtk::FileChooserNative::new(Some(&title), parent.as_ref(), action, None, None);
        dialog.set_modal(true);
        if save {
            dialog.set_do_overwrite_confirmation(true);
            if !suggested.is_empty() {
                dialog.set_current_name(&suggested);
            }
        }
        let chosen = if dialog.run() == gtk::ResponseType::Accept {
            dialog.filename().map(|p| p.to_string_lossy().into_owned())
        } else {
            None
        };
        dialog.destroy();
        let _ = tx.blocking_send(chosen);
    })
    .map_err(|e| CommandError::Internal(e.to_string()))?;
    let mut rx = rx;
    Ok(rx.recv().await.flatten())
}

/// Imports a file as evidence. → the evidence id.
#[tauri::command]
pub async fn evidence_attach(
    app: AppHandle,
    path: String,
    case_id: Uuid,
    attached_to: Vec<Uuid>,
    description: String,
    derived_from: Option<Uuid>,
) -> Result<Uuid> {
    let file = PathBuf::from(path.trim());
    if !file.is_absolute() {
        return Err(CommandError::BadRequest(
            "give the file's full path (it starts with /)".into(),
        ));
    }
    let source = file.clone();
    let id = blocking(&app, move |v| {
        Ok(v.attach(
            &source,
            Attach {
                case_id,
                attached_to,
                description,
                derived_from,
            },
        )?)
    })
    .await?;
    if let Ok(mut o) = app.state::<AppState>().originals.lock() {
        o.insert(id, file);
    }
    Ok(id)
}

/// Deletes the file an evidence item was just imported from — only that file, and
/// only if its size and time are still those recorded at import.
#[tauri::command]
pub async fn evidence_delete_original(app: AppHandle, evidence_id: Uuid) -> Result<()> {
    let path = app
        .state::<AppState>()
        .originals
        .lock()
        .map_err(|_| state_error())?
        .get(&evidence_id)
        .cloned()
        .ok_or_else(|| {
            CommandError::BadRequest("that file was not imported in this session".into())
        })?;
    let evidence = blocking(&app, move |v| Ok(v.evidence(evidence_id)?)).await?;
    let meta = std::fs::metadata(&path).map_err(|e| {
        CommandError::Core(custos_vault::Error::io(
            format!("cannot find {}", path.display()),
            e,
        ))
    })?;
    let modified = meta
        .modified()
        .ok()
        .map(chrono::DateTime::<chrono::Utc>::from);
    if meta.len() != evidence.size || modified != evidence.file_modified {
        return Err(CommandError::BadRequest(format!(
            "{} changed since it was imported; it was not deleted",
            path.display()
        )));
    }
    std::fs::remove_file(&path).map_err(|e| {
        CommandError::Core(custos_vault::Error::io(
            format!("cannot delete {}", path.display()),
            e,
        ))
    })?;
    if let Ok(mut o) = app.state::<AppState>().originals.lock() {
        o.remove(&evidence_id);
    }
    Ok(())
}

/// Records a view in the custody log. → the token for `evidence://localhost/<token>`.
#[tauri::command]
pub async fn evidence_view(app: AppHandle, evidence_id: Uuid) -> Result<String> {
    blocking(&app, move |v| {
        v.log_custody(
            evidence_id,
            custos_vault::Action::Viewed,
            "shown in the app",
        )?;
        Ok(())
    })
    .await?;
    let bytes: [u8; 16] = {
        let mut b = [0u8; 16];
        getrandom::fill(&mut b).map_err(|e| CommandError::Internal(e.to_string()))?;
        b
    };
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    app.state::<AppState>()
        .views
        .lock()
        .map_err(|_| state_error())?
        .insert(token.clone(), evidence_id);
    Ok(token)
}

/// An evidence item's chain of custody.
#[tauri::command]
pub async fn evidence_custody(app: AppHandle, evidence_id: Uuid) -> Result<Vec<CustodyEntry>> {
    blocking(&app, move |v| Ok(v.custody(evidence_id)?)).await
}

/// Re-hashes the content and checks the custody log (recorded in the log).
#[tauri::command]
pub async fn evidence_verify(app: AppHandle, evidence_id: Uuid) -> Result<Verification> {
    blocking(&app, move |v| Ok(v.verify_evidence(evidence_id)?)).await
}

/// Writes a decrypted copy and its verification reports to a path the user chose.
#[tauri::command]
pub async fn evidence_export(app: AppHandle, evidence_id: Uuid, path: String) -> Result<Exported> {
    let dest = PathBuf::from(path.trim());
    if !dest.is_absolute() {
        return Err(CommandError::BadRequest(
            "give the full path of the copy (it starts with /)".into(),
        ));
    }
    blocking(&app, move |v| Ok(v.export_evidence(evidence_id, &dest)?)).await
}

/// The most a single response carries; a media element asks for the rest by range.
const MAX_RANGE: u64 = 4 << 20;

fn plain(status: StatusCode, text: &str) -> Response<Vec<u8>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .body(text.as_bytes().to_vec())
        .unwrap_or_default()
}

/// `bytes=a-b`, `bytes=a-`, `bytes=-n` → (first, last) within `size`.
fn parse_range(value: &str, size: u64) -> Option<(u64, u64)> {
    let spec = value.strip_prefix("bytes=")?.split(',').next()?.trim();
    let (a, b) = spec.split_once('-')?;
    let (first, last) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (size.saturating_sub(n), size.checked_sub(1)?)
        }
        (a, "") => (a.parse().ok()?, size.checked_sub(1)?),
        (a, b) => (
            a.parse().ok()?,
            b.parse::<u64>().ok()?.min(size.checked_sub(1)?),
        ),
    };
    (first <= last && last < size).then_some((first, last))
}

/// Answers an `evidence:` request: the decrypted bytes asked for, from memory.
pub fn serve(state: &AppState, request: &Request<Vec<u8>>) -> Response<Vec<u8>> {
    // `/<token>` (images, media) or `/frame/<token>` (a PDF shown in a frame).
    let path = request.uri().path().trim_start_matches('/');
    let token = path.strip_prefix("frame/").unwrap_or(path);
    let Some(id) = state.views.lock().ok().and_then(|v| v.get(token).copied()) else {
        return plain(StatusCode::FORBIDDEN, "not an open evidence view");
    };
    let opened = match state.vault.lock() {
        Ok(guard) => match guard.as_ref() {
            Some(v) => v.read_evidence(id).map_err(|e| e.to_string()),
            None => Err("the vault is locked".into()),
        },
        Err(_) => Err("the vault state is unavailable".into()),
    };
    // The vault is free again: the reader holds only the blob's own key.
    let (evidence, mut reader) = match opened {
        Ok(o) => o,
        Err(e) => return plain(StatusCode::INTERNAL_SERVER_ERROR, &e),
    };
    let size = evidence.size;
    let range = request
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|v| parse_range(v, size));
    let (first, last, partial) = match range {
        Some(None) => {
            return Response::builder()
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{size}"))
                .body(Vec::new())
                .unwrap_or_default()
        }
        Some(Some((a, b))) => (a, b.min(a + MAX_RANGE - 1), true),
        // No range: the whole item when it is small; else its first part, by range.
        None if size <= 8 * MAX_RANGE => (0, size.saturating_sub(1), false),
        None => (0, MAX_RANGE - 1, true),
    };
    let len = last + 1 - first;
    let mut body = vec![0u8; len as usize];
    if let Err(e) = reader
        .seek(SeekFrom::Start(first))
        .and_then(|_| reader.read_exact(&mut body))
    {
        return plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("the evidence file cannot be read ({e}); verify it"),
        );
    }
    let mut response = Response::builder()
        .status(if partial {
            StatusCode::PARTIAL_CONTENT
        } else {
            StatusCode::OK
        })
        .header(header::CONTENT_TYPE, evidence.media_type.as_str())
        .header(header::CONTENT_LENGTH, len.to_string())
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CACHE_CONTROL, "no-store")
        .header("X-Content-Type-Options", "nosniff");
    if partial {
        response = response.header(
            header::CONTENT_RANGE,
            format!("bytes {first}-{last}/{size}"),
        );
    }
    response.body(body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges_are_read_as_http_says_and_bad_ones_refused() {
        assert_eq!(parse_range("bytes=0-99", 1000), Some((0, 99)));
        assert_eq!(parse_range("bytes=900-", 1000), Some((900, 999)));
        assert_eq!(parse_range("bytes=-100", 1000), Some((900, 999)));
        assert_eq!(parse_range("bytes=990-2000", 1000), Some((990, 999)));
        assert_eq!(parse_range("bytes=1000-", 1000), None);
        assert_eq!(parse_range("bytes=5-1", 1000), None);
        assert_eq!(parse_range("items=0-1", 1000), None);
        assert_eq!(parse_range("bytes=0-0", 0), None);
    }
}
