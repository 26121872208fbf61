//! The auto-lock, enforced here rather than trusted to the page.
//!
//! The page locks after the idle minutes the settings give (it checks every 15 seconds,
//! and it keeps an editor's unsaved changes first). But a page whose script hangs, or
//! whose timers stop, would keep the vault open for as long as the app runs. So the
//! page also reports the user's activity here (at most every few seconds, from input
//! events only: a background refresh is not the user), and a thread of the app locks
//! through [`crate::autolock::lock_now`] when the idle minutes and [`PAGE_FIRST`] have
//! passed with no report: the page is asked first and given its grace; a page that
//! does not answer is locked by the backend all the same.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tauri::{AppHandle, Manager, State};

use crate::autolock::{lock_now, Reason};
use crate::state::AppState;

/// How much longer than the page the backend waits: the page's own check comes first
/// when the page runs.
pub const PAGE_FIRST: Duration = Duration::from_secs(20);

/// How often the backend looks.
const CHECK: Duration = Duration::from_secs(2);

/// When the user last did something in the window (or unlocked).
#[derive(Debug)]
pub struct Activity {
    last: Mutex<Instant>,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            last: Mutex::new(Instant::now()),
        }
    }
}

impl Activity {
    /// The user is here.
    pub fn touch(&self) {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        *last = Instant::now();
    }

    /// How long since the user was last seen, at `now`.
    pub fn idle_at(&self, now: Instant) -> Duration {
        let last = *self.last.lock().unwrap_or_else(|p| p.into_inner());
        now.saturating_duration_since(last)
    }
}

/// Whether the backend locks after `idle`, with auto-lock after `minutes`.
pub fn due(idle: Duration, minutes: u32) -> bool {
    idle >= Duration::from_secs(u64::from(minutes.max(1)) * 60) + PAGE_FIRST
}

/// The page says the user is here (keys, pointer, wheel, touch).
#[tauri::command]
pub fn user_active(state: State<'_, AppState>) {
    state.activity.touch();
}

/// Starts the backend's auto-lock (at app setup).
pub fn start(app: AppHandle) {
    let spawned = std::thread::Builder::new()
        .name("auto-lock".into())
        .spawn(move || loop {
            std::thread::sleep(CHECK);
            let state = app.state::<AppState>();
            let unlocked = state.vault.lock().map(|g| g.is_some()).unwrap_or(false);
            if !unlocked {
                continue;
            }
            // Read each time: the settings screen and the command line both write them.
            let minutes = custos_app::settings::load(&state.config_dir).auto_lock_minutes;
            if due(state.activity.idle_at(Instant::now()), minutes) {
                lock_now(&app, Reason::Idle);
            }
        });
    if spawned.is_err() {
        eprintln!("custos-desktop: the auto-lock thread could not start");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backend_locks_only_after_the_idle_minutes_and_the_pages_turn() {
        assert!(!due(Duration::from_secs(60), 1));
        assert!(!due(Duration::from_secs(79), 1));
        assert!(due(Duration::from_secs(80), 1));
        assert!(!due(Duration::from_secs(5 * 60), 5));
        assert!(due(Duration::from_secs(5 * 60 + 20), 5));
        // A setting of 0 (never valid, but a hand-edited file) still locks.
        assert!(due(Duration::from_secs(80), 0));
    }

    #[test]
    fn activity_resets_the_idle_time() {
        let a = Activity::default();
        let later = Instant::now() + Duration::from_secs(90);
        assert!(a.idle_at(later) >= Duration::from_secs(89));
        a.touch();
        assert!(a.idle_at(Instant::now()) < Duration::from_secs(5));
    }
}
