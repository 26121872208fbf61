//! Custos desktop: a Tauri 2 window over the vault core.
//!
//! The shell is thin: `commands.rs` holds the vault's commands, `evidence.rs` and
//! `sync.rs` those of evidence and sync (with the background sync scheduler),
//! `search.rs` full-text search (with the index's warm-up after unlock), `export.rs`
//! the export dialog's commands, `patterns.rs` the patterns screen's figures, charts
//! and their export,
//! `package.rs` checks a package the user brings against the release keys,
//! `protect.rs` the panic wipe, the duress passphrase and drafts kept across a lock,
//! `autolock.rs` locks when the session locks or the machine sleeps,
//! `error.rs` turns errors into `{kind, message}`, `custos_app::settings` keeps the
//! non-sensitive settings. The UI (ui/) is embedded in the binary and may talk to
//! nothing but these commands; navigation to any other URL is refused.
//!
//! `--vault DIR` (or `CUSTOS_VAULT_DIR`) chooses the vault folder; the default is the
//! user's data folder, `custos/vault`, as for the CLI.

// Unsafe only in memory.rs (two allocator calls), allowed there by name.
#![deny(unsafe_code)]
// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

#[macro_use]
mod command_table;

mod autolock;
mod commands;
mod error;
mod evidence;
mod export;
mod followup;
mod idle;
mod import;
mod memory;
mod package;
mod patterns;
mod protect;
mod search;
mod state;
mod sync;

use std::path::PathBuf;
use std::sync::Mutex;

use custos_app::session::Unlocker;
use custos_vault::Options;
use state::AppState;
use tauri::Manager;

fn arg_value(name: &str) -> Option<String> {
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == name {
            return args.next();
        }
        if let Some(v) = a.strip_prefix(&format!("{name}=")) {
            return Some(v.to_owned());
        }
    }
    None
}

fn vault_dir() -> PathBuf {
    arg_value("--vault")
        .or_else(|| std::env::var("CUSTOS_VAULT_DIR").ok())
        .map(PathBuf::from)
        .or_else(|| dirs::data_dir().map(|d| d.join("custos").join("vault")))
        .unwrap_or_else(|| PathBuf::from("custos-vault"))
}

fn config_dir() -> PathBuf {
    std::env::var("CUSTOS_CONFIG_DIR")
        .ok()
        .map(PathBuf::from)
        .or_else(|| dirs::config_dir().map(|d| d.join("custos")))
        .unwrap_or_else(|| PathBuf::from("custos-config"))
}

/// True for the app's own pages: the embedded UI, served by Tauri's custom protocol;
/// the frame that shows a PDF evidence item (`evidence://localhost/frame/<token>`, the
/// only `evidence:` URL that may be navigated to — images and media are loaded, not
/// navigated to, so a dropped or clicked image cannot replace the app); and the
/// webview's built-in PDF viewer inside that frame.
fn is_app_url(url: &tauri::Url) -> bool {
    let frame = url.path().starts_with("/frame/");
    match (url.scheme(), url.host_str()) {
        ("tauri", Some("localhost")) => true,
        ("http" | "https", Some("tauri.localhost")) => true,
        ("evidence", Some("localhost")) => frame,
        ("http" | "https", Some("evidence.localhost")) => frame,
        ("webkit-pdfjs-viewer", _) => true,
        _ => false,
    }
}

/// `tauri::generate_handler!` over the command table (`command_table.rs`).
macro_rules! handler {
    ($($module:ident: $($name:ident),+;)+) => {
        tauri::generate_handler![$($($module::$name),+),+]
    };
}

/// `--version` and `--help` answer without opening a window (an installed package is
/// checked with them; they need no display).
fn answer_without_window() -> bool {
    let Some(first) = std::env::args().nth(1) else {
        return false;
    };
    match first.as_str() {
        "--version" | "-V" => {
            println!("custos-desktop {}", env!("CARGO_PKG_VERSION"));
            true
        }
        "--help" | "-h" => {
            println!(
                "custos-desktop {}: the Custos desktop app\n\n\
                 Usage: custos-desktop [--vault DIR]\n\n  \
                 --vault DIR   the vault folder (default: CUSTOS_VAULT_DIR, else the data folder's custos/vault)\n  \
                 -V, --version print the version\n  \
                 -h, --help    print this help\n\n\
                 The command line over the same vault is `custos` (custos --help).",
                env!("CARGO_PKG_VERSION")
            );
            true
        }
        _ => false,
    }
}

fn main() {
    if answer_without_window() {
        return;
    }
    // Before anything holds a key: no core dumps, memory out of swap where allowed.
    let hardening = custos_process::harden(true);
    if !hardening.no_core_dumps {
        eprintln!("custos-desktop: core dumps could not be turned off");
    }
    if hardening.memory != custos_process::Memory::Locked {
        eprintln!("custos-desktop: memory {}", hardening.memory);
    }
    memory::tune();
    let config_dir = config_dir();
    let vault_dir = vault_dir();
    let state = AppState {
        // Failed unlocks are counted across restarts (the delay and the wipe go on).
        unlocker: Unlocker::new(&config_dir, &vault_dir, Options::default())
            .missing_vault_is_wrong_passphrase(),
        vault_dir,
        config_dir,
        vault: Mutex::new(None),
        views: Mutex::default(),
        originals: Mutex::default(),
        sync: state::SyncControl::default(),
        activity: idle::Activity::default(),
    };
    let result = tauri::Builder::default()
        .manage(state)
        // Evidence is shown from memory: decrypted on request, never written to disk.
        .register_asynchronous_uri_scheme_protocol("evidence", |ctx, request, responder| {
            let app = ctx.app_handle().clone();
            std::thread::spawn(move || {
                responder.respond(evidence::serve(&app.state::<AppState>(), &request));
            });
        })
        .setup(|app| {
            tauri::WebviewWindowBuilder::new(
                app,
                "main",
                tauri::WebviewUrl::App("index.html".into()),
            )
            .title("Custos")
            .inner_size(1100.0, 760.0)
            .min_inner_size(1024.0, 700.0)
            .on_navigation(is_app_url)
            // No downloads (the PDF viewer's save button, a link): decrypted content
            // leaves the vault only through Export, which is logged and reported.
            .on_download(|_, _| false)
            .build()?;
            // Syncs in the background while the vault is unlocked, enrolled, not paused.
            sync::start_scheduler(app.handle().clone());
            // Builds the search index in small steps after each unlock.
            search::start_warmup(app.handle().clone());
            // Locks when the session locks or the machine is about to sleep.
            autolock::start(app.handle().clone());
            // Locks after the idle minutes even when the page cannot.
            idle::start(app.handle().clone());
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing the window asks the page first: it may hold unsaved changes. The
            // page answers by calling `quit_app` (at once, or after the user confirms).
            if let tauri::WindowEvent::CloseRequested { api, .. } = event {
                if let Some(webview) = window.get_webview_window(window.label()) {
                    if webview.eval(CLOSE_REQUEST).is_ok() {
                        api.prevent_close();
                    }
                }
            }
        })
        .invoke_handler(command_table!(handler))
        .build(tauri::generate_context!());
    match result {
        Ok(app) => app.run(|handle, event| {
            // However the app ends (window closed, session ending), the vault is locked.
            if let tauri::RunEvent::Exit = event {
                state::lock_for_exit(&handle.state::<AppState>());
            }
        }),
        Err(e) => {
            eprintln!("custos-desktop: {e}");
            std::process::exit(1);
        }
    }
}

/// What the page runs when the window is asked to close (see ui/js/app.js). A page that
/// never loaded its script closes at once.
const CLOSE_REQUEST: &str =
    "window.custosCloseRequested ? window.custosCloseRequested() : window.__TAURI__.core.invoke('quit_app')";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_app_itself_is_navigable() {
        for ok in [
            "tauri://localhost/index.html",
            "http://tauri.localhost/x",
            "evidence://localhost/frame/0123abcd",
        ] {
            assert!(is_app_url(&ok.parse().unwrap()), "{ok}");
        }
        for bad in [
            "https://example.org/",
            "http://localhost:8080/",
            "file:///etc/passwd",
            "http://tauri.localhost.evil.org/",
            "data:text/html,hi",
            "evidence://example.org/frame/x",
            "evidence://localhost/0123abcd",
        ] {
            assert!(!is_app_url(&bad.parse().unwrap()), "{bad}");
        }
    }
}
