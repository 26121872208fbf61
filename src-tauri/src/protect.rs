//! The laptop in the wrong hands: the panic wipe, the duress passphrase, the count of
//! failed unlocks the unlock screen shows, and the draft kept across a lock.
//!
//! How-to: the wipe after N failed unlocks is in `commands::unlock_vault` (it must see
//! every attempt); locking when the session locks or the machine sleeps is in
//! `autolock.rs`; the draft is saved by `commands::lock_vault` and taken back here.
//!
//! A decoy (what the duress passphrase opens) is an ordinary vault in a sub-folder of
//! the real one; nothing here tells the page which of the two is open. `duress_status`
//! of a decoy says "none", as for any vault without a duress passphrase.

use std::time::Instant;

use custos_vault::DuressAction;
use custos_vault::{ExposeSecret, SecretString, Vault};
use serde::Serialize;
use tauri::{AppHandle, Manager, State};

use crate::error::CommandError;
use crate::state::{forget_session, with_vault, AppState};
use custos_app::session::unlock_delay;
use custos_app::settings;

type Result<T> = std::result::Result<T, CommandError>;

fn unavailable<T>(_: T) -> CommandError {
    CommandError::Internal("the vault state is unavailable".into())
}

/// What the unlock screen says about failed unlocks.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UnlockState {
    /// Failed unlocks in a row (kept across restarts).
    failures: u32,
    /// The vault is wiped at this many; `None` when the setting is off.
    wipe_after: Option<u32>,
    /// Seconds the next attempt waits before it is checked.
    delay_seconds: u64,
}

/// How many unlocks failed in a row, and what comes next.
#[tauri::command]
pub fn unlock_state(state: State<'_, AppState>) -> UnlockState {
    let failures = state.unlocker.failures();
    UnlockState {
        failures,
        wipe_after: settings::load(&state.config_dir).wipe_after_failures,
        delay_seconds: unlock_delay(failures).as_secs(),
    }
}

/// How long a panic wipe took.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WipeReport {
    /// Until the keys were destroyed (the vault unreadable from then on), in ms.
    keys_destroyed_ms: f64,
    /// Until everything was removed, in ms.
    total_ms: f64,
    /// Files removed.
    files: usize,
}

fn ms(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

/// Panic wipe: the vault, unlocked or not, is destroyed — its device key and
/// `identity.age` first, then its data. Needs no passphrase (the page asks for a
/// deliberate second step first). When a decoy is open, the decoy goes first, then the
/// real vault that holds it: the page sees the same thing either way.
#[tauri::command]
pub async fn wipe_vault(app: AppHandle) -> Result<WipeReport> {
    tauri::async_runtime::spawn_blocking(move || {
        let state = app.state::<AppState>();
        let start = Instant::now();
        forget_session(&state);
        let open = state.vault.lock().map_err(unavailable)?.take();
        let real = state.vault_dir.clone();
        let report = match open {
            Some(vault) if vault.dir() == real => {
                let w = vault.wipe()?;
                WipeReport {
                    keys_destroyed_ms: ms(w.keys_destroyed),
                    total_ms: ms(w.total),
                    files: w.files,
                }
            }
            other => {
                // A decoy, then the real vault; or the real vault, locked.
                let mut files = 0;
                if let Some(decoy) = other {
                    files += decoy.wipe().map(|w| w.files).unwrap_or(0);
                }
                let before = start.elapsed();
                let w = Vault::wipe_folder(&real)?;
                WipeReport {
                    keys_destroyed_ms: ms(before + w.keys_destroyed),
                    total_ms: ms(start.elapsed()),
                    files: files + w.files,
                }
            }
        };
        // Only now the count (an unlock attempt may hold it, waiting out its delay: the
        // wipe does not wait for it).
        state.unlocker.reset();
        Ok(report)
    })
    .await
    .map_err(|e| CommandError::Internal(e.to_string()))?
}

/// The unsaved work kept at the last lock (JSON, as the page wrote it), removed from the
/// vault as it is returned; `None` when there is none.
#[tauri::command]
pub fn take_draft(state: State<'_, AppState>) -> Result<Option<String>> {
    with_vault(&state, |v| {
        Ok(v.take_draft()?
            .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok()))
    })
}

/// The duress passphrase of the open vault: what it does, if one is set.
#[derive(Serialize)]
pub struct DuressStatus {
    action: Option<DuressAction>,
}

/// Whether the open vault has a duress passphrase, and what it does.
#[tauri::command]
pub fn duress_status(state: State<'_, AppState>) -> Result<DuressStatus> {
    with_vault(&state, |v| {
        Ok(DuressStatus {
            action: v.duress_action(),
        })
    })
}

/// Sets (or replaces) the duress passphrase. It must be strong and differ from the
/// vault's; with `decoy` a new, empty decoy vault is made (replacing an earlier one).
/// Takes a few seconds (key derivations): off the main thread.
#[tauri::command]
pub async fn set_duress(
    app: AppHandle,
    passphrase: String,
    confirmation: String,
    action: DuressAction,
) -> Result<DuressStatus> {
    let pass = SecretString::from(passphrase);
    let confirm = SecretString::from(confirmation);
    if pass.expose_secret() != confirm.expose_secret() {
        return Err(custos_vault::Error::PassphraseMismatch.into());
    }
    tauri::async_runtime::spawn_blocking(move || {
        let state = app.state::<AppState>();
        with_vault(&state, |v| {
            v.set_duress(&pass, action)?;
            Ok(DuressStatus {
                action: v.duress_action(),
            })
        })
    })
    .await
    .map_err(|e| CommandError::Internal(e.to_string()))?
}

/// Removes the duress passphrase (and its decoy).
#[tauri::command]
pub async fn clear_duress(app: AppHandle) -> Result<DuressStatus> {
    tauri::async_runtime::spawn_blocking(move || {
        let state = app.state::<AppState>();
        with_vault(&state, |v| {
            v.clear_duress()?;
            Ok(DuressStatus {
                action: v.duress_action(),
            })
        })
    })
    .await
    .map_err(|e| CommandError::Internal(e.to_string()))?
}
