//! Full-text search in the desktop app: the `search` command, and the warm-up that
//! builds the vault's in-memory search index in the background after every unlock.
//!
//! - The index lives in the core's memory only (never a file) and goes with the keys at
//!   lock.
//! - The warm-up takes the vault's mutex for one small step at a time
//!   (`Vault::prepare_search` with a budget of records), so commands that come in
//!   meanwhile wait at most one step: the window stays responsive while a large vault is
//!   indexed. After each step the window gets a `search-index` event (`{done, total}`,
//!   counts only, nothing of the content), so a search answered while the index was not
//!   ready yet can be asked again.
//! - A search asked before the warm-up is done is answered from what is indexed so far,
//!   with `ready: false`.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

use custos_search::VaultSearch;
use custos_search::{SearchQuery, SearchResults};
use tauri::{AppHandle, Emitter, Manager};

use crate::error::CommandError;
use crate::state::{with_vault, AppState};

type Result<T> = std::result::Result<T, CommandError>;

/// The event the window listens to while the index is being built.
pub const EVENT: &str = "search-index";

/// Records indexed per step (each step holds the vault's mutex: ~0.1 s for 500 records
/// here; each step is one commit of the index, so much smaller steps make a first build
/// of a large vault many times slower).
const BUDGET: usize = 500;
/// The pause between two steps, so that a waiting command gets the vault first.
const BREATHE: Duration = Duration::from_millis(3);
/// The most hits one search returns.
const MAX_LIMIT: usize = 500;
/// The longest search text accepted (a pasted page is cut, not refused).
const MAX_TEXT: usize = 1000;

/// Wakes the warm-up thread (set at every unlock).
struct Warmup {
    pending: Mutex<bool>,
    wake: Condvar,
}

static WARMUP: Warmup = Warmup {
    pending: Mutex::new(false),
    wake: Condvar::new(),
};

/// Asks for the index to be built (called when a vault is unlocked or created).
pub fn kick() {
    if let Ok(mut p) = WARMUP.pending.lock() {
        *p = true;
    }
    WARMUP.wake.notify_all();
}

/// Starts the warm-up thread (at app setup). It sleeps until an unlock.
pub fn start_warmup(app: AppHandle) {
    let spawned = std::thread::Builder::new()
        .name("search-warmup".into())
        .spawn(move || loop {
            wait_for_kick();
            warm(&app);
        });
    if spawned.is_err() {
        eprintln!("custos-desktop: the search warm-up could not start; the index is built on the first search");
    }
}

fn wait_for_kick() {
    let Ok(guard) = WARMUP.pending.lock() else {
        // A poisoned flag: never spin.
        std::thread::sleep(Duration::from_secs(60));
        return;
    };
    if let Ok(mut p) = WARMUP.wake.wait_while(guard, |p| !*p) {
        *p = false;
    }
}

/// Builds the index step by step while the vault stays unlocked, then gives the
/// indexing's freed memory back.
fn warm(app: &AppHandle) {
    warm_steps(app);
    crate::memory::release();
}

fn warm_steps(app: &AppHandle) {
    let state = app.state::<AppState>();
    loop {
        let step = {
            let Ok(guard) = state.vault.lock() else {
                return;
            };
            match guard.as_ref() {
                Some(v) => v.prepare_search(BUDGET),
                // Locked meanwhile: the next unlock kicks again.
                None => return,
            }
        };
        match step {
            Ok((done, total)) => {
                let _ = app.emit(EVENT, serde_json::json!({ "done": done, "total": total }));
                if done >= total {
                    return;
                }
            }
            // Only the kind: nothing of the vault's content is ever printed. The first
            // search builds what is missing.
            Err(e) => {
                eprintln!(
                    "custos-desktop: preparing the search index failed ({})",
                    e.kind()
                );
                return;
            }
        }
        std::thread::sleep(BREATHE);
    }
}

/// Tidies a query from the page: a bounded text and limit.
fn bounded(mut q: SearchQuery) -> SearchQuery {
    if q.text.len() > MAX_TEXT {
        let mut end = MAX_TEXT;
        while !q.text.is_char_boundary(end) {
            end -= 1;
        }
        q.text.truncate(end);
    }
    q.limit = q.limit.min(MAX_LIMIT);
    q.tags.retain(|t| !t.trim().is_empty());
    if q.location.as_deref().is_some_and(|l| l.trim().is_empty()) {
        q.location = None;
    }
    if q.act_type.as_deref().is_some_and(|a| a.trim().is_empty()) {
        q.act_type = None;
    }
    q
}

/// Searches the vault: words (diacritics and case ignored), "a quoted phrase", the last
/// word as a prefix while typing, and filters on cases. → hits, best first.
#[tauri::command]
pub async fn search(app: AppHandle, query: SearchQuery) -> Result<SearchResults> {
    let query = bounded(query);
    tauri::async_runtime::spawn_blocking(move || {
        let state = app.state::<AppState>();
        with_vault(&state, |v| Ok(v.search(&query)?))
    })
    .await
    .map_err(|e| CommandError::Internal(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_bounded_not_refused() {
        let q = bounded(SearchQuery {
            text: "é".repeat(MAX_TEXT),
            limit: usize::MAX,
            tags: vec![" ".into(), "journalists".into()],
            location: Some("  ".into()),
            act_type: Some(String::new()),
            ..SearchQuery::default()
        });
        assert!(q.text.len() <= MAX_TEXT && q.text.chars().all(|c| c == 'é'));
        assert_eq!(q.limit, MAX_LIMIT);
        assert_eq!(q.tags, vec!["journalists".to_owned()]);
        assert_eq!(q.location, None);
        assert_eq!(q.act_type, None);
    }
}
