//! Sync in the desktop app: enrolling with the organisation's hub, "sync now", the
//! background schedule, and resolving concurrent edits.
//!
//! - A sync borrows the vault only between network steps (`custos_sync::Access` for
//!   the app's `Mutex<Option<Vault>>`): the window stays usable while it waits on the
//!   network, and locking stops it at its next step instead of waiting for a timeout.
//! - A sync belongs to the session it started in: once the vault is locked, the sync
//!   gets no further step, even if the vault is unlocked again while it waits on the
//!   network ([`Session`]).
//! - One sync at a time: every sync holds [`SyncControl::run`] from start to end. The
//!   scheduler skips a turn when one is running; "sync now" waits for it, then runs.
//! - The scheduler runs while the vault is unlocked, enrolled and not paused: a first
//!   sync 5–20 s after unlock (or enrollment, or resuming), then every
//!   `interval_minutes` ± 20 %. It never starts a sync while the vault is locked.
//! - After every sync (and every change of the sync settings) the window gets a
//!   `sync-status` event (no payload but whether a sync is running) and asks
//!   `sync_status` again.
//! - Nothing here writes a log line: not the invite (it holds a one-time secret), not
//!   the device's TLS key (it never leaves the vault), not what a sync carried.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use custos_sync::{Route, SyncError};
use custos_vault::{ExposeSecret, SecretString, Vault};
use custos_vault::{MergeProposal, SyncInfo};
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, State};
use uuid::Uuid;

use crate::error::CommandError;
use crate::state::{with_vault, AppState, Kick};
use custos_app::schedule::{jittered, plan_next};

use crate::state::Result;

/// The event the window listens to.
pub const EVENT: &str = "sync-status";

/// How long the scheduler sleeps when there is nothing to schedule (it is woken sooner
/// by an unlock or a change of the settings; this is only a safety net).
const IDLE: Duration = Duration::from_secs(60);

/// The unlocked vault for one sync: each step takes the vault's mutex (never across a
/// network wait), and gets the vault only while it is still the session the sync began
/// in. A lock stops the sync at its next step; an unlock after it does not revive it.
struct Session<'a> {
    state: &'a AppState,
    id: u64,
}

impl custos_sync::Access for Session<'_> {
    fn with<R>(&self, f: impl FnOnce(&mut Vault) -> R) -> Option<R> {
        let mut guard = self.state.vault.lock().unwrap_or_else(|p| p.into_inner());
        if self.state.sync.session.load(Ordering::SeqCst) != self.id {
            return None;
        }
        guard.as_mut().map(f)
    }
}

/// Puts a freshly unlocked (or created) vault in place: a new session, and the
/// scheduler plans its first sync.
pub fn install(state: &AppState, vault: Vault) -> Result<()> {
    {
        let mut guard = state
            .vault
            .lock()
            .map_err(|_| CommandError::Internal("the vault state is unavailable".into()))?;
        state.sync.session.fetch_add(1, Ordering::SeqCst);
        *guard = Some(vault);
    }
    state.sync.new_session();
    // The idle minutes start at the unlock.
    state.activity.touch();
    state.sync.kick(Kick::Soon);
    crate::search::kick();
    Ok(())
}

/// Clears the running flag however a sync ends.
struct Running<'a>(&'a AtomicBool);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// A random fraction in [0, 1).
fn random_unit() -> f64 {
    let n = getrandom::u32().unwrap_or(u32::MAX / 2);
    f64::from(n) / (f64::from(u32::MAX) + 1.0)
}

/// Starts the background scheduler (at app setup).
pub fn start_scheduler(app: AppHandle) {
    let spawned = std::thread::Builder::new()
        .name("sync-scheduler".into())
        .spawn(move || scheduler(&app));
    if spawned.is_err() {
        eprintln!("custos-desktop: the sync scheduler could not start; sync runs only on request");
    }
}

fn scheduler(app: &AppHandle) {
    let state = app.state::<AppState>();
    let control = &state.sync;
    let mut next: Option<Instant> = None;
    loop {
        let kick = control.take_kick();
        // Whether sync may run now; the vault is borrowed only for this look.
        let settings = state
            .vault
            .lock()
            .ok()
            .and_then(|g| g.as_ref().map(|v| v.sync_info()))
            .filter(|i| i.enrolled && !i.paused)
            .map(|i| Duration::from_secs(u64::from(i.interval_minutes.max(1)) * 60));
        let interval = settings.unwrap_or(IDLE);
        next = plan_next(
            Instant::now(),
            settings.is_some(),
            next,
            control.last_run(),
            kick,
            interval,
            random_unit(),
        );
        let now = Instant::now();
        match next {
            Some(due) if due <= now => {
                // A sync already running (sync now) counts as this turn.
                if let Ok(guard) = control.run.try_lock() {
                    let _ = perform(app, &state, guard);
                }
                next = Some(Instant::now() + jittered(interval, random_unit()));
            }
            Some(due) => control.sleep(due - now),
            None => control.sleep(IDLE),
        }
    }
}

/// One sync, while holding the run lock. The outcome goes to the vault's sync status
/// (the core records it), the session's last failure, and the window (an event).
fn perform(
    app: &AppHandle,
    state: &AppState,
    _run: std::sync::MutexGuard<'_, ()>,
) -> Result<Summary> {
    state.sync.running.store(true, Ordering::SeqCst);
    let running = Running(&state.sync.running);
    notify(app, true);
    let session = Session {
        state,
        id: state.sync.session.load(Ordering::SeqCst),
    };
    let mut result = custos_sync::run(&session);
    if state.sync.session.load(Ordering::SeqCst) != session.id {
        // Locked meanwhile: whatever the network said, this sync is over.
        result = Err(SyncError::Locked);
    }
    if let Ok(mut t) = state.sync.last_run.lock() {
        *t = Some(Instant::now());
    }
    drop(running);
    let outcome = match result {
        Ok(report) => {
            if let Ok(mut f) = state.sync.last_failure.lock() {
                *f = None;
            }
            Ok(Summary::of(state, &report))
        }
        Err(e) => {
            let locked = matches!(e, SyncError::Locked);
            let e = sync_error(e);
            if !locked {
                if let Ok(mut f) = state.sync.last_failure.lock() {
                    *f = Some((e.kind(), e.to_string()));
                }
            }
            Err(e)
        }
    };
    state.sync.kick(Kick::Settings);
    notify(app, false);
    outcome
}

/// Tells the window that the sync status changed.
fn notify(app: &AppHandle, running: bool) {
    let _ = app.emit(EVENT, serde_json::json!({ "running": running }));
}

/// A sync error as the window receives it: a stable kind, and the core's plain words.
pub fn sync_error(e: SyncError) -> CommandError {
    let e = match e {
        SyncError::Vault(inner) => return CommandError::Core(inner),
        other => other,
    };
    let kind = e.kind();
    CommandError::Sync {
        kind,
        message: e.to_string(),
    }
}

/// What one sync did, for the window.
#[derive(Debug, Serialize)]
pub struct Summary {
    pushed: usize,
    existing: usize,
    pulled: usize,
    blobs_up: usize,
    blobs_down: usize,
    /// Items the hub or this vault refused (skipped).
    refused: usize,
    warning: Option<String>,
    requests: u64,
    bytes_sent: u64,
    bytes_received: u64,
    /// Records with concurrent edits after the sync.
    conflicts: usize,
}

impl Summary {
    /// What a sync did, and the conflicts left after it.
    fn of(state: &AppState, report: &custos_sync::Report) -> Summary {
        let conflicts = with_vault(state, |v| Ok(v.conflict_count())).unwrap_or(0);
        Summary {
            pushed: report.pushed,
            existing: report.existing,
            pulled: report.pulled,
            blobs_up: report.blobs_up,
            blobs_down: report.blobs_down,
            refused: report.push_rejected.len()
                + report.pull_rejected.len()
                + report.blob_rejected.len(),
            warning: report.warning(),
            requests: report.requests,
            bytes_sent: report.bytes_sent,
            bytes_received: report.bytes_received,
            conflicts,
        }
    }
}

/// The sync status: the vault's, whether a sync runs now, and the kind of the last
/// failure when this session saw it (for a message in the user's language).
#[derive(Debug, Serialize)]
pub struct Status {
    #[serde(flatten)]
    info: SyncInfo,
    running: bool,
    last_error_kind: Option<&'static str>,
    /// The organisation key as a QR code (side, modules row by row), beside its words.
    org_qr: Option<(usize, String)>,
}

fn status_of(state: &AppState, info: SyncInfo) -> Status {
    let last_error_kind = state
        .sync
        .last_failure
        .lock()
        .ok()
        .and_then(|f| f.clone())
        .filter(|(_, m)| info.last_error.as_deref() == Some(m.as_str()))
        .map(|(k, _)| k);
    let org_qr = info
        .org
        .key
        .as_deref()
        .and_then(|k| crate::commands::qr_modules(&format!("custos-org-key:{k}")).ok());
    Status {
        info,
        running: state.sync.is_running(),
        last_error_kind,
        org_qr,
    }
}

/// The sync status. Off the main thread: the page asks for it whenever a sync starts or
/// ends, and a long export may hold the vault meanwhile; the window must not wait.
#[tauri::command(async)]
pub fn sync_status(state: State<'_, AppState>) -> Result<Status> {
    let info = with_vault(&state, |v| Ok(v.sync_info()))?;
    Ok(status_of(&state, info))
}

fn refuse(kind: &'static str, message: impl Into<String>) -> CommandError {
    CommandError::Sync {
        kind,
        message: message.into(),
    }
}

fn parse_route(route: &str) -> Result<Route> {
    Route::parse(route).map_err(|m| refuse("invalid_route", m))
}

/// Enrolls the vault with the hub named in the invite. The invite is checked first
/// (its shape, its expiry), so that a bad one is refused without a connection. The
/// invite holds a one-time secret: it is wiped from memory after use, never logged,
/// never sent back.
#[tauri::command]
pub async fn sync_enroll(
    app: AppHandle,
    invite: String,
    label: String,
    route: String,
) -> Result<Status> {
    let invite = SecretString::from(invite);
    let label = label.trim().to_owned();
    if label.is_empty() {
        return Err(custos_vault::Error::Invalid("label is required".into()).into());
    }
    let route = parse_route(&route)?;
    {
        let parsed = custos_wire::Invite::decode(invite.expose_secret()).map_err(|e| {
            let kind = if e.0.contains("newer format") {
                "invite_newer"
            } else {
                "invite_malformed"
            };
            refuse(kind, e.0)
        })?;
        if parsed.expires < chrono::Utc::now() {
            return Err(refuse(
                "invite_expired",
                format!(
                    "this invite expired on {}; ask your organisation for a new one",
                    parsed.expires.format("%Y-%m-%d %H:%M UTC")
                ),
            ));
        }
    }
    let worker = app.clone();
    let info = tauri::async_runtime::spawn_blocking(move || {
        let state = worker.state::<AppState>();
        if with_vault(&state, |v| Ok(v.is_enrolled()))? {
            return Err(refuse(
                "already_enrolled",
                "this vault is already enrolled with a hub",
            ));
        }
        // The vault is not held while the hub is waited on.
        let session = Session {
            state: &state,
            id: state.sync.session.load(Ordering::SeqCst),
        };
        custos_sync::enroll_with(&session, invite.expose_secret(), &label, route)
            .map_err(sync_error)?;
        with_vault(&state, |v| Ok(v.sync_info()))
    })
    .await
    .map_err(|e| CommandError::Internal(e.to_string()))??;
    let state = app.state::<AppState>();
    state.sync.kick(Kick::Soon);
    notify(&app, false);
    Ok(status_of(&state, info))
}

/// Syncs now (after the sync that may be running ends: never two at once).
#[tauri::command]
pub async fn sync_now(app: AppHandle) -> Result<Summary> {
    let state = app.state::<AppState>();
    let info = with_vault(&state, |v| Ok(v.sync_info()))?;
    if !info.enrolled {
        return Err(refuse(
            "not_enrolled",
            "this vault is not enrolled with a hub",
        ));
    }
    if info.paused {
        return Err(refuse("sync_paused", "sync is paused; resume it to sync"));
    }
    let worker = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let state = worker.state::<AppState>();
        let guard = state
            .sync
            .run
            .lock()
            .map_err(|_| CommandError::Internal("the sync state is unavailable".into()))?;
        perform(&worker, &state, guard)
    })
    .await
    .map_err(|e| CommandError::Internal(e.to_string()))?
}

/// Changes the sync settings: pause or resume, the route, the minutes between syncs.
/// Every value is checked before any is saved.
#[tauri::command]
pub fn sync_set(
    app: AppHandle,
    state: State<'_, AppState>,
    paused: Option<bool>,
    route: Option<String>,
    interval_minutes: Option<u32>,
) -> Result<Status> {
    let route = route.as_deref().map(parse_route).transpose()?;
    if let Some(m) = interval_minutes {
        if !(1..=1440).contains(&m) {
            return Err(refuse(
                "invalid_interval",
                "the sync interval is between 1 and 1440 minutes",
            ));
        }
    }
    let info = with_vault(&state, |v| {
        if let Some(r) = route {
            v.set_sync_route(r)?;
        }
        if let Some(m) = interval_minutes {
            v.set_sync_interval(m)?;
        }
        if let Some(p) = paused {
            v.set_sync_paused(p)?;
        }
        Ok(v.sync_info())
    })?;
    state.sync.kick(Kick::Settings);
    notify(&app, state.sync.is_running());
    Ok(status_of(&state, info))
}

/// Runs `work` off the main thread, holding the sync turn (never beside a sync), with a
/// session that stops at a lock: what travel mode and the organisation key's commands
/// share.
async fn in_sync_turn<T: Send + 'static>(
    app: &AppHandle,
    work: impl FnOnce(&AppState, &Session) -> Result<T> + Send + 'static,
) -> Result<T> {
    let worker = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let state = worker.state::<AppState>();
        let _turn = state
            .sync
            .run
            .lock()
            .map_err(|_| CommandError::Internal("the sync state is unavailable".into()))?;
        let session = Session {
            state: &state,
            id: state.sync.session.load(Ordering::SeqCst),
        };
        work(&state, &session)
    })
    .await
    .map_err(|e| CommandError::Internal(e.to_string()))?
}

/// What travel mode removed.
#[derive(Serialize)]
pub struct TravelRemoved {
    cases: usize,
    records: usize,
    files: usize,
}

/// Confirms (`confirm`) or refuses a coordinator the hub announced since enrollment.
/// Confirmed, new records and evidence are encrypted to it too; until then, and if
/// refused, never. → the new status.
#[tauri::command]
pub fn coordinator_decide(
    app: AppHandle,
    state: State<'_, AppState>,
    recipient: String,
    confirm: bool,
) -> Result<Status> {
    let info = with_vault(&state, |v| {
        if confirm {
            v.confirm_coordinator(&recipient)?;
        } else {
            v.refuse_coordinator(&recipient)?;
        }
        Ok(v.sync_info())
    })?;
    notify(&app, state.sync.is_running());
    Ok(status_of(&state, info))
}

/// The hub's roster as a coordinator compares it before signing it with a new
/// organisation key: the coordinators this vault encrypts to, and every device.
#[derive(Serialize)]
pub struct RosterPreview {
    coordinators: Vec<String>,
    devices: Vec<PreviewDevice>,
}

/// One device of the roster preview.
#[derive(Serialize)]
pub struct PreviewDevice {
    label: String,
    role: custos_wire::Role,
    /// Its signing key as the words its user reads from it.
    words: String,
    signer: String,
    revoked: bool,
}

/// Fetches the hub's roster for the organisation key's creation (a coordinator's
/// vault). Nothing is signed.
#[tauri::command]
pub async fn org_preview(app: AppHandle) -> Result<RosterPreview> {
    in_sync_turn(&app, |state, session| {
        let roster = custos_sync::roster(session).map_err(sync_error)?;
        let coordinators = with_vault(state, |v| Ok(v.sync_info().coordinators))?;
        Ok(RosterPreview {
            coordinators,
            devices: roster
                .devices
                .iter()
                .map(|d| PreviewDevice {
                    label: d.label.clone(),
                    role: d.role,
                    words: custos_wire::roster_log::words_of(&d.signer).unwrap_or_default(),
                    signer: d.signer.clone(),
                    revoked: d.revoked,
                })
                .collect(),
        })
    })
    .await
}

/// Creates the organisation key in this (coordinator's) vault and signs the roster the
/// user saw — refused, with nothing signed, when the hub's devices changed since
/// (`signers`: the devices' signing keys as the preview showed them). → the new status.
#[tauri::command]
pub async fn org_create(app: AppHandle, name: String, signers: Vec<String>) -> Result<Status> {
    let created = in_sync_turn(&app, move |_, session| {
        custos_sync::org_create(session, &name, |roster| {
            roster
                .devices
                .iter()
                .map(|d| d.signer.as_str())
                .eq(signers.iter().map(String::as_str))
        })
        .map_err(sync_error)
    })
    .await?;
    if created.is_none() {
        return Err(refuse(
            "roster_changed",
            "the hub's devices changed since the roster was shown; look at it again",
        ));
    }
    let state = app.state::<AppState>();
    let info = with_vault(&state, |v| Ok(v.sync_info()))?;
    notify(&app, state.sync.is_running());
    Ok(status_of(&state, info))
}

/// Follows the organisation key the hub offers (or a changed one) once the user typed
/// the words a coordinator read out to them; other words are refused. → the new status.
#[tauri::command]
pub fn org_confirm(app: AppHandle, state: State<'_, AppState>, words: String) -> Result<Status> {
    let info = with_vault(&state, |v| {
        v.confirm_org_key(&words)?;
        Ok(v.sync_info())
    })?;
    notify(&app, state.sync.is_running());
    Ok(status_of(&state, info))
}

/// Travel mode: removes the given cases (all when none are named) from this device —
/// refused with nothing removed unless the hub confirms, just before, that it holds all
/// of them — and pauses sync. Never while a sync runs.
#[tauri::command]
pub async fn travel_remove(app: AppHandle, case_ids: Option<Vec<Uuid>>) -> Result<TravelRemoved> {
    let removed = in_sync_turn(&app, move |_, session| {
        custos_sync::travel_remove(session, case_ids.as_deref()).map_err(sync_error)
    })
    .await?;
    let state = app.state::<AppState>();
    state.sync.kick(Kick::Settings);
    notify(&app, false);
    Ok(TravelRemoved {
        cases: removed.cases,
        records: removed.records,
        files: removed.files,
    })
}

/// After travel: resumes sync and brings back from the hub everything this vault may
/// read, with the evidence files.
#[tauri::command]
pub async fn travel_restore(app: AppHandle) -> Result<Summary> {
    let result = in_sync_turn(&app, |state, session| {
        let report = custos_sync::restore(session).map_err(sync_error)?;
        Ok(Summary::of(state, &report))
    })
    .await;
    let state = app.state::<AppState>();
    state.sync.kick(Kick::Settings);
    notify(&app, false);
    result
}

/// A proposed merge of a record's concurrent versions, and this device's id (to tell
/// its own versions).
#[derive(Serialize)]
pub struct Proposal {
    #[serde(flatten)]
    proposal: MergeProposal,
    this_device: Uuid,
}

/// Proposes a merge of a conflicted record's heads.
#[tauri::command]
pub fn merge_proposal(state: State<'_, AppState>, record_id: Uuid) -> Result<Proposal> {
    with_vault(&state, |v| {
        Ok(Proposal {
            proposal: v.merge_proposal(record_id)?,
            this_device: v.device_id(),
        })
    })
}

/// What a resolve wrote.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resolved {
    record_id: Uuid,
    version_id: Uuid,
}

/// Resolves a conflicted record with the user's choices (`[field, head version]` pairs;
/// the other fields as proposed): a version whose parents are every head, or the
/// record's deletion when that is what was chosen (custos-app's use case, as the command
/// line's).
#[tauri::command]
pub fn resolve(
    app: AppHandle,
    state: State<'_, AppState>,
    record_id: Uuid,
    takes: Vec<(String, Uuid)>,
) -> Result<Resolved> {
    let (_, version_id) = with_vault(&state, |v| {
        Ok(custos_app::resolve::resolve(v, record_id, &takes)?)
    })?;
    notify(&app, state.sync.is_running());
    Ok(Resolved {
        record_id,
        version_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::SyncControl;
    use custos_sync::NetError;
    use std::sync::Mutex;

    #[test]
    fn a_sync_gets_no_step_after_a_lock_even_if_unlocked_again() {
        use custos_sync::Access;
        let tmp = tempfile::tempdir().unwrap();
        let vault = Vault::create(
            &tmp.path().join("vault"),
            &SecretString::from("lantern orchard velvet quarry 1987 sparrow".to_owned()),
            custos_vault::Options::insecure_for_tests(),
        )
        .unwrap();
        let state = AppState {
            vault_dir: tmp.path().join("vault"),
            config_dir: tmp.path().join("config"),
            vault: Mutex::new(None),
            unlocker: custos_app::session::Unlocker::new(
                &tmp.path().join("config"),
                &tmp.path().join("vault"),
                custos_vault::Options::insecure_for_tests(),
            ),
            views: Mutex::default(),
            originals: Mutex::default(),
            sync: SyncControl::default(),
            activity: crate::idle::Activity::default(),
        };
        install(&state, vault).unwrap();
        assert_eq!(state.sync.take_kick(), Some(Kick::Soon));
        let session = Session {
            state: &state,
            id: state.sync.session.load(Ordering::SeqCst),
        };
        assert_eq!(session.with(|_| 1), Some(1));
        // Locked: no step.
        let vault = state.vault.lock().unwrap().take().unwrap();
        assert_eq!(session.with(|_| 2), None);
        // Unlocked again: a new session, still no step for the old sync.
        install(&state, vault).unwrap();
        assert_eq!(session.with(|_| 3), None);
        let fresh = Session {
            state: &state,
            id: state.sync.session.load(Ordering::SeqCst),
        };
        assert_eq!(fresh.with(|_| 4), Some(4));
        let last = state.vault.lock().unwrap().take();
        last.unwrap().lock().unwrap();
    }

    #[test]
    fn a_soon_kick_is_not_downgraded() {
        let c = SyncControl::default();
        c.kick(Kick::Soon);
        c.kick(Kick::Settings);
        assert_eq!(c.take_kick(), Some(Kick::Soon));
        assert_eq!(c.take_kick(), None);
        c.kick(Kick::Settings);
        assert_eq!(c.take_kick(), Some(Kick::Settings));
    }

    /// The kinds themselves are custos-sync's (its own test lists them): the window
    /// gets that kind and the core's words, and a vault error stays the vault's.
    #[test]
    fn sync_errors_reach_the_window_with_their_kind_and_words() {
        for e in [
            SyncError::Net(NetError::WrongPin),
            SyncError::Locked,
            SyncError::Vault(custos_vault::Error::DiskFull),
        ] {
            let (kind, words) = (e.kind(), e.to_string());
            let c = sync_error(e);
            assert_eq!((c.kind(), c.to_string()), (kind, words));
        }
    }
}
