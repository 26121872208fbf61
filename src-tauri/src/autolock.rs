//! Locking when the desktop says the user has gone: the session is locked, the screen
//! saver started, or the machine is about to sleep. (Idle minutes, the Lock button and
//! Ctrl+L are the page's: see ui/js/app.js.)
//!
//! On Linux the app listens on D-Bus:
//! - the system bus: `org.freedesktop.login1.Manager.PrepareForSleep(true)` and
//!   `org.freedesktop.login1.Session.Lock` (`loginctl lock-session`);
//! - the session bus: `ActiveChanged(true)` of `org.freedesktop.ScreenSaver` (KDE and
//!   others) and `org.gnome.ScreenSaver` (GNOME).
//!
//! Signals are matched on interface and member only, not on the sender owning the
//! well-known name: a test bus without logind works the same, and a signal from anyone
//! else on the bus can do no more than lock the vault. Any session's `Lock` locks (on a
//! shared machine, another user's lock locks this app too: harmless).
//!
//! A lock asked for this way goes through the page first (the `lock-request` event), so
//! that an editor's unsaved changes are kept, sealed in the vault, before the keys are
//! dropped; if the page has not locked within [`GRACE`], the backend locks by itself and
//! tells the page. Before sleep, the app holds a logind "delay" inhibitor, so the
//! machine waits (at most logind's `InhibitDelayMaxSec`, 5 s by default) until the vault
//! is locked.
//!
//! No bus (or a bus that goes away) only means these locks do not happen: the app runs
//! on, and says so once on stderr, without anything of the vault.
//!
//! On Windows and macOS nothing listens yet: the app does **not** lock when the session
//! locks or the machine sleeps there, only after the idle minutes, on the Lock button
//! and on `Ctrl+L` (`⌘L`). `docs/install.md` says so.

use std::time::{Duration, Instant};

use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager};

use crate::state::AppState;

/// The event the page listens to.
pub const EVENT: &str = "lock-request";

/// How long the page has to keep its unsaved changes and lock.
pub const GRACE: Duration = Duration::from_secs(2);

/// Why the desktop asked for a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
// Only Linux's listeners lock for a suspend or a session lock (see the module's notes).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub enum Reason {
    /// The machine is about to sleep.
    Suspend,
    /// The session was locked, or the screen saver started.
    Session,
    /// The user was away for the auto-lock minutes and the page did not lock
    /// (`idle.rs`).
    Idle,
}

/// What the page is told.
#[derive(Clone, Serialize)]
struct Request {
    reason: Reason,
    /// True when the backend already locked (the page only has to forget).
    locked: bool,
}

fn unlocked(app: &AppHandle) -> bool {
    let state = app.state::<AppState>();
    let unlocked = state.vault.lock().map(|g| g.is_some()).unwrap_or(false);
    unlocked
}

/// Locks because the desktop asked: the page first (it keeps unsaved work), the backend
/// itself after [`GRACE`]. Blocks until the vault is locked: call it off the runtime's
/// threads.
pub fn lock_now(app: &AppHandle, reason: Reason) {
    if !unlocked(app) {
        return;
    }
    let _ = app.emit(
        EVENT,
        Request {
            reason,
            locked: false,
        },
    );
    let deadline = Instant::now() + GRACE;
    while Instant::now() < deadline {
        if !unlocked(app) {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    if unlocked(app) {
        crate::state::lock_for_exit(&app.state::<AppState>());
        let _ = app.emit(
            EVENT,
            Request {
                reason,
                locked: true,
            },
        );
    }
}

/// Starts listening (at app setup).
pub fn start(app: AppHandle) {
    #[cfg(target_os = "linux")]
    linux::start(app);
    // No listener on this system: the app does not lock on a session lock or a suspend.
    #[cfg(not(target_os = "linux"))]
    let _ = app;
}

#[cfg(target_os = "linux")]
mod linux {
    use futures_util::StreamExt;
    use tauri::AppHandle;
    use zbus::message::Type;
    use zbus::zvariant::OwnedFd;
    use zbus::{Connection, MatchRule, MessageStream};

    use super::{lock_now, Reason};

    const LOGIN_MANAGER: &str = "org.freedesktop.login1.Manager";
    const LOGIN_SESSION: &str = "org.freedesktop.login1.Session";
    const SCREEN_SAVERS: &[&str] = &["org.freedesktop.ScreenSaver", "org.gnome.ScreenSaver"];

    pub fn start(app: AppHandle) {
        tauri::async_runtime::spawn(system_bus(app.clone()));
        tauri::async_runtime::spawn(session_bus(app));
    }

    /// A signal's match rule: interface and member, any sender, any path.
    fn signal(interface: &'static str, member: &'static str) -> zbus::Result<MatchRule<'static>> {
        Ok(MatchRule::builder()
            .msg_type(Type::Signal)
            .interface(interface)?
            .member(member)?
            .build())
    }

    async fn stream(
        conn: &Connection,
        interface: &'static str,
        member: &'static str,
    ) -> Option<MessageStream> {
        let rule = signal(interface, member).ok()?;
        MessageStream::for_match_rule(rule, conn, Some(64))
            .await
            .ok()
    }

    /// Runs `lock_now` on a blocking thread and waits for it.
    async fn lock(app: &AppHandle, reason: Reason) {
        let app = app.clone();
        let _ = tauri::async_runtime::spawn_blocking(move || lock_now(&app, reason)).await;
    }

    /// A logind delay inhibitor for sleep: the machine waits until it is closed (or
    /// logind's maximum delay). None without logind (a test bus, another init system).
    async fn inhibit(conn: &Connection) -> Option<OwnedFd> {
        let reply = conn
            .call_method(
                Some("org.freedesktop.login1"),
                "/org/freedesktop/login1",
                Some(LOGIN_MANAGER),
                "Inhibit",
                &("sleep", "Custos", "Locking the vault before sleep", "delay"),
            )
            .await
            .ok()?;
        reply.body().deserialize::<OwnedFd>().ok()
    }

    async fn system_bus(app: AppHandle) {
        let conn = match Connection::system().await {
            Ok(c) => c,
            Err(_) => {
                eprintln!("custos-desktop: no system D-Bus: the vault will not lock on suspend or session lock");
                return;
            }
        };
        let (Some(mut sleep), Some(mut locks)) = (
            stream(&conn, LOGIN_MANAGER, "PrepareForSleep").await,
            stream(&conn, LOGIN_SESSION, "Lock").await,
        ) else {
            eprintln!("custos-desktop: the system D-Bus refused to pass on logind's signals");
            return;
        };
        let session_locks = {
            let (app, _conn) = (app.clone(), conn.clone());
            async move {
                while let Some(Ok(_)) = locks.next().await {
                    lock(&app, Reason::Session).await;
                }
            }
        };
        tauri::async_runtime::spawn(session_locks);
        let mut inhibitor = inhibit(&conn).await;
        while let Some(Ok(msg)) = sleep.next().await {
            match msg.body().deserialize::<bool>() {
                Ok(true) => {
                    lock(&app, Reason::Suspend).await;
                    // Locked: the machine may sleep now.
                    drop(inhibitor.take());
                }
                // Woken up: hold the next sleep until the vault is locked again.
                Ok(false) => {
                    if inhibitor.is_none() {
                        inhibitor = inhibit(&conn).await;
                    }
                }
                Err(_) => {}
            }
        }
    }

    async fn session_bus(app: AppHandle) {
        let conn = match Connection::session().await {
            Ok(c) => c,
            Err(_) => {
                eprintln!("custos-desktop: no session D-Bus: the vault will not lock when the screen locks");
                return;
            }
        };
        for interface in SCREEN_SAVERS {
            let Some(mut active) = stream(&conn, interface, "ActiveChanged").await else {
                continue;
            };
            let (app, _conn) = (app.clone(), conn.clone());
            tauri::async_runtime::spawn(async move {
                while let Some(Ok(msg)) = active.next().await {
                    if matches!(msg.body().deserialize::<bool>(), Ok(true)) {
                        lock(&app, Reason::Session).await;
                    }
                }
            });
        }
    }
}
