//! Every `#[tauri::command]` of the app: thin calls into the vault core.
//!
//! How-to: add the function here and its name to the command table
//! (`command_table.rs`): the handler, the ACL manifest and the capability follow. The UI calls commands only
//! through ui/js/api.js.

use custos_model::{CaseStatus, Kind, Record};
use custos_vault::{Filter, ListItem, RecordView, Written};
use custos_vault::{Options, SecretString, Vault};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tauri::{Manager, State};
use uuid::Uuid;

use crate::error::CommandError;
use crate::state::{forget_session, lock_for_exit, with_vault, AppState, Result};
use custos_app::session::Open;
use custos_app::settings::{self, Settings};

/// The model's shape: each kind's fields in display order, and each choice's values
/// (the page keeps no copy of its own).
#[tauri::command]
pub fn schema() -> custos_model::schema::Schema {
    custos_model::schema::schema()
}

/// Whether a vault exists and is unlocked.
#[derive(Serialize)]
pub struct Status {
    exists: bool,
    unlocked: bool,
}

/// Whether a vault exists and is unlocked.
#[tauri::command]
pub fn vault_status(state: State<'_, AppState>) -> Result<Status> {
    let unlocked = state.vault.lock().map(|g| g.is_some()).unwrap_or(false);
    Ok(Status {
        exists: state.vault_dir.join("vault.json").exists(),
        unlocked,
    })
}

/// How strong a candidate passphrase is (for the meter on the first-run screen).
#[tauri::command]
pub fn passphrase_strength(passphrase: String) -> custos_model::passphrase::Strength {
    custos_model::passphrase::strength(&SecretString::from(passphrase), &[])
}

/// Creates the vault and unlocks it.
#[tauri::command]
pub async fn create_vault(
    state: State<'_, AppState>,
    passphrase: String,
    confirmation: String,
) -> Result<()> {
    let pass = SecretString::from(passphrase);
    let confirm = SecretString::from(confirmation);
    {
        use custos_vault::ExposeSecret;
        if pass.expose_secret() != confirm.expose_secret() {
            return Err(custos_vault::Error::PassphraseMismatch.into());
        }
    }
    if state.vault.lock().map(|g| g.is_some()).unwrap_or(false) {
        return Err(CommandError::AlreadyUnlocked);
    }
    let dir = state.vault_dir.clone();
    // scrypt calibration takes about a second: off the main thread.
    let vault = tauri::async_runtime::spawn_blocking(move || {
        Vault::create(&dir, &pass, Options::default())
    })
    .await
    .map_err(|e| CommandError::Internal(e.to_string()))??;
    crate::sync::install(&state, vault)
}

/// Unlocks the vault. Repeated wrong passphrases are answered ever more slowly, and,
/// when the settings ask for it, the vault is wiped after too many in a row.
///
/// One attempt at a time (each holds the count of failures from start to end), and the
/// count is kept in settings.json so that restarting the app resets neither the delay
/// nor the wipe. A duress passphrase is handled by the core: a decoy comes back as an
/// ordinary vault, a wipe as "wrong passphrase".
#[tauri::command]
pub async fn unlock_vault(app: tauri::AppHandle, passphrase: String) -> Result<()> {
    let pass = SecretString::from(passphrase);
    tauri::async_runtime::spawn_blocking(move || attempt_unlock(&app.state::<AppState>(), &pass))
        .await
        .map_err(|e| CommandError::Internal(e.to_string()))?
}

fn attempt_unlock(state: &AppState, pass: &SecretString) -> Result<()> {
    let result = try_unlock(state, pass);
    // The key derivation's and the snapshots' buffers are free now, whatever happened.
    crate::memory::release();
    result
}

fn try_unlock(state: &AppState, pass: &SecretString) -> Result<()> {
    if state.vault.lock().map(|g| g.is_some()).unwrap_or(false) {
        return Err(CommandError::AlreadyUnlocked);
    }
    let vault = state.unlocker.unlock(pass, Open::WithSearch)?;
    crate::sync::install(state, vault)
}

/// The most a draft (an editor's unsaved state, as the page describes it) may weigh.
const DRAFT_MAX: usize = 4 << 20;

/// Locks the vault: keys and every decrypted value are dropped. `draft`, when the page
/// had unsaved changes, is first kept sealed in the vault (offered back after the next
/// unlock). Off the main thread:
/// while an enrollment holds the vault for its one network exchange, the window stays
/// responsive and the lock happens as soon as the enrollment lets go (a sync never
/// holds the vault across a network wait).
#[tauri::command]
pub async fn lock_vault(app: tauri::AppHandle, draft: Option<String>) -> Result<()> {
    let draft = draft.map(zeroize::Zeroizing::new);
    tauri::async_runtime::spawn_blocking(move || {
        let state = app.state::<AppState>();
        forget_session(&state);
        let vault = state
            .vault
            .lock()
            .map_err(|_| CommandError::Internal("the vault state is unavailable".into()))?
            .take();
        let Some(mut v) = vault else {
            return Ok(());
        };
        // The lock happens whatever becomes of the draft.
        let kept = match draft.as_deref() {
            Some(d) if d.len() > DRAFT_MAX => Err(CommandError::DraftNotSaved("too_large")),
            Some(d) => v
                .save_draft(d.as_bytes())
                .map_err(|e| CommandError::DraftNotSaved(e.kind())),
            None => Ok(()),
        };
        let locked = v.lock();
        crate::memory::release();
        locked?;
        kept
    })
    .await
    .map_err(|e| CommandError::Internal(e.to_string()))?
}

/// Closes the app: the UI calls this once nothing unsaved would be lost (or the user
/// chose to discard it). The vault is locked first.
#[tauri::command]
pub fn quit_app(app: tauri::AppHandle, state: State<'_, AppState>) {
    lock_for_exit(&state);
    app.exit(0);
}

/// Which records to list.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ListFilter {
    kind: Option<Kind>,
    case_id: Option<Uuid>,
    status: Option<CaseStatus>,
    tag: Option<String>,
    include_deleted: bool,
}

/// Records matching the filter (from the encrypted index; decrypts nothing).
#[tauri::command]
pub fn list_records(
    state: State<'_, AppState>,
    filter: Option<ListFilter>,
) -> Result<Vec<ListItem>> {
    let f = filter.unwrap_or_default();
    with_vault(&state, |v| {
        Ok(v.list(&Filter {
            kind: f.kind,
            case_id: f.case_id,
            status: f.status,
            tag: f.tag,
            include_deleted: f.include_deleted,
        }))
    })
}

/// A record, current or at a given version.
#[tauri::command]
pub fn get_record(
    state: State<'_, AppState>,
    record_id: Uuid,
    version_id: Option<Uuid>,
) -> Result<RecordView> {
    with_vault(&state, |v| {
        Ok(match version_id {
            Some(ver) => v.get_version(record_id, ver)?,
            None => v.get(record_id)?,
        })
    })
}

/// What a save or delete wrote.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Saved {
    pub(crate) record_id: Uuid,
    pub(crate) version_id: Uuid,
}

impl From<Written> for Saved {
    fn from(w: Written) -> Self {
        Saved {
            record_id: w.record_id,
            version_id: w.version_id,
        }
    }
}

/// Creates a record (`record_id` absent) or writes a new version of one.
#[tauri::command]
pub fn save_record(
    state: State<'_, AppState>,
    record_id: Option<Uuid>,
    record: Value,
) -> Result<Saved> {
    let record = Record::from_json(record)
        .map_err(|e| CommandError::Core(custos_vault::Error::Invalid(e.to_string())))?;
    with_vault(&state, |v| {
        let change = match record_id {
            Some(record_id) => custos_vault::Change::Update { record_id, record },
            None => custos_vault::Change::Create(record),
        };
        let written = v.commit(vec![change])?;
        Ok(written[0].into())
    })
}

/// Deletes a record (a tombstone; history stays).
#[tauri::command]
pub fn delete_record(state: State<'_, AppState>, record_id: Uuid) -> Result<Saved> {
    with_vault(&state, |v| {
        let version_id = v.delete(record_id)?;
        Ok(Saved {
            record_id,
            version_id,
        })
    })
}

/// Every version of a record, oldest first; a damaged one is `{error: {kind, message}}`.
#[tauri::command]
pub fn record_history(state: State<'_, AppState>, record_id: Uuid) -> Result<Vec<Value>> {
    with_vault(&state, |v| {
        let this = v.device_id();
        Ok(v.history(record_id)?
            .into_iter()
            .map(|h| match h {
                Ok(view) => {
                    // Who wrote it: this device, or the device the roster names for the
                    // signer that wrote under that id.
                    let by = v.device_label(view.device);
                    let mut value = serde_json::to_value(&view).unwrap_or(Value::Null);
                    if let Some(o) = value.as_object_mut() {
                        o.insert("by_this_device".into(), Value::Bool(view.device == this));
                        o.insert("by".into(), by.map_or(Value::Null, Value::String));
                    }
                    value
                }
                Err(e) => serde_json::json!({ "error": CommandError::from(e) }),
            })
            .collect())
    })
}

/// One key-backup share as the page shows it: its text and its QR code.
#[derive(Serialize)]
pub struct ShareCard {
    number: usize,
    text: String,
    /// The QR code's side, in modules.
    size: usize,
    /// Its modules, row by row: '1' dark, '0' light.
    modules: String,
}

/// Splits the vault key into `shares` printable shares, any `threshold` of which
/// restore it (see `custos key restore`), each with its QR code. Nothing is stored.
#[tauri::command]
pub fn key_backup(
    state: State<'_, AppState>,
    threshold: usize,
    shares: usize,
) -> Result<Vec<ShareCard>> {
    let lines = with_vault(&state, |v| Ok(v.key_shares(threshold, shares)?))?;
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let (size, modules) = qr_modules(line)?;
            Ok(ShareCard {
                number: i + 1,
                text: line.to_string(),
                size,
                modules,
            })
        })
        .collect()
}

/// A QR code of `text`: its side in modules, and its modules row by row ('1' dark).
pub(crate) fn qr_modules(text: &str) -> Result<(usize, String)> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| CommandError::Internal(format!("QR code: {e}")))?;
    let modules = code
        .to_colors()
        .iter()
        .map(|c| if *c == qrcode::Color::Dark { '1' } else { '0' })
        .collect();
    Ok((code.width(), modules))
}

/// A vocabulary term for a picker.
#[derive(Serialize)]
pub struct TermLabel {
    code: String,
    parent: Option<String>,
    label: String,
}

/// A controlled vocabulary with labels in `lang`.
#[tauri::command]
pub fn vocabulary(name: String, lang: String) -> Result<Vec<TermLabel>> {
    let v = custos_model::vocab::builtin()
        .by_name(&name)
        .ok_or_else(|| CommandError::BadRequest(format!("no vocabulary '{name}'")))?;
    Ok(v.terms
        .iter()
        .map(|t| TermLabel {
            code: t.code.clone(),
            parent: t.parent.clone(),
            label: t.label(&lang).to_owned(),
        })
        .collect())
}

/// The app's settings.
#[tauri::command]
pub fn get_settings(state: State<'_, AppState>) -> Settings {
    settings::load(&state.config_dir)
}

/// Saves the app's settings. "Wipe after N failed unlocks" changes only while unlocked
/// (the language can be chosen on the unlock screen; the wipe cannot be turned off there).
#[tauri::command]
pub fn set_settings(state: State<'_, AppState>, settings: Settings) -> Result<()> {
    let unlocked = state.vault.lock().map(|g| g.is_some()).unwrap_or(false);
    let stored = settings::load(&state.config_dir);
    if !unlocked && settings.wipe_after_failures != stored.wipe_after_failures {
        return Err(CommandError::BadRequest(
            "unlock the vault to change the wipe after failed unlocks".into(),
        ));
    }
    Ok(settings::save(&state.config_dir, &settings)?)
}
