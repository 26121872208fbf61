//! What the app holds while it runs, in one place: the vault (when unlocked), the
//! unlocker, the session's evidence viewers, and the sync scheduler's controls. Every
//! other module depends on this one and on nothing of each other's state, so the
//! modules form no circle (`commands` → `sync` → `search`, each → `state`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use custos_app::session::Unlocker;
use custos_vault::Vault;
use uuid::Uuid;

use crate::error::CommandError;

/// What the app holds while it runs.
pub struct AppState {
    /// The vault folder.
    pub vault_dir: PathBuf,
    /// The app's settings folder.
    pub config_dir: PathBuf,
    /// The unlocked vault, if any.
    pub vault: Mutex<Option<Vault>>,
    /// Unlocks the vault: the delay after failed unlocks, the wipe after too many.
    pub unlocker: Unlocker,
    /// Open evidence viewers: token (in the `evidence:` URL) → evidence id. Emptied at
    /// lock; a token exists only after the view was recorded in the custody log.
    pub views: Mutex<HashMap<String, Uuid>>,
    /// The file each evidence item was imported from in this session, to offer
    /// deleting the original (and only that file, only if it is unchanged).
    pub originals: Mutex<HashMap<Uuid, PathBuf>>,
    /// Sync: the one running sync, the scheduler's wake-ups, the last failure.
    pub sync: SyncControl,
    /// When the user was last seen, for the backend's auto-lock (`idle.rs`).
    pub activity: crate::idle::Activity,
}

/// What a command answers: a value, or an error the UI can show.
pub type Result<T> = std::result::Result<T, CommandError>;

/// Runs `f` on the unlocked vault; [`CommandError::Locked`] when it is locked.
pub fn with_vault<T>(state: &AppState, f: impl FnOnce(&mut Vault) -> Result<T>) -> Result<T> {
    let mut guard = state
        .vault
        .lock()
        .map_err(|_| CommandError::Internal("the vault state is unavailable".into()))?;
    match guard.as_mut() {
        Some(v) => f(v),
        None => Err(CommandError::Locked),
    }
}

/// Forgets what an unlocked session knew: viewer tokens, imported files' paths, and the
/// TLS sessions kept to resume the next sync.
pub fn forget_session(state: &AppState) {
    custos_sync::net::forget_sessions();
    if let Ok(mut v) = state.views.lock() {
        v.clear();
    }
    if let Ok(mut o) = state.originals.lock() {
        o.clear();
    }
}

/// Locks the vault if it is unlocked (closing the window, leaving the app).
pub fn lock_for_exit(state: &AppState) {
    forget_session(state);
    let vault = match state.vault.lock() {
        Ok(mut g) => g.take(),
        Err(poisoned) => poisoned.into_inner().take(),
    };
    if let Some(v) = vault {
        if let Err(e) = v.lock() {
            // Only the kind: nothing of the vault's content is ever printed.
            eprintln!("custos-desktop: locking at exit failed ({})", e.kind());
        }
    }
}

pub use custos_app::schedule::Kick;

/// The state of sync that the app holds while it runs.
#[derive(Default)]
pub struct SyncControl {
    /// Held for the whole of a sync.
    pub(crate) run: Mutex<()>,
    /// True while a sync runs.
    pub(crate) running: AtomicBool,
    /// Bumped at every unlock, while the vault's mutex is held.
    pub(crate) session: AtomicU64,
    /// Why the scheduler should plan again (set, then the scheduler is woken).
    pub(crate) kick: Mutex<Option<Kick>>,
    pub(crate) wake: Condvar,
    /// When the last sync of this session ended.
    pub(crate) last_run: Mutex<Option<Instant>>,
    /// The last failure of this session: (kind, message). The vault keeps the message
    /// only; the kind lets the window say it in the user's language.
    pub(crate) last_failure: Mutex<Option<(&'static str, String)>>,
}

impl SyncControl {
    /// Wakes the scheduler. A `Soon` is not downgraded by a `Settings` that follows.
    pub fn kick(&self, kick: Kick) {
        if let Ok(mut k) = self.kick.lock() {
            if *k != Some(Kick::Soon) {
                *k = Some(kick);
            }
        }
        self.wake.notify_all();
    }

    pub(crate) fn take_kick(&self) -> Option<Kick> {
        self.kick.lock().ok().and_then(|mut k| k.take())
    }

    /// Sleeps until `timeout` passes or the scheduler is kicked.
    pub(crate) fn sleep(&self, timeout: Duration) {
        if let Ok(k) = self.kick.lock() {
            let _ = self.wake.wait_timeout_while(k, timeout, |k| k.is_none());
        }
    }

    pub(crate) fn last_run(&self) -> Option<Instant> {
        self.last_run.lock().ok().and_then(|t| *t)
    }

    /// Forgets this session's schedule (the vault was unlocked again).
    pub(crate) fn new_session(&self) {
        if let Ok(mut t) = self.last_run.lock() {
            *t = None;
        }
    }

    pub(crate) fn is_running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }
}
