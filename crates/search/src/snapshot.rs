//! The vault's full-text search: the in-memory index (see [`crate::SearchIndex`]) kept up
//! to date with the vault's record index, and its encrypted snapshot (`search.age`).
//!
//! The index lives in the unlocked vault's derived state ([`Vault::with_derived`]), so it
//! is dropped with the vault and cleared when travel mode removes records;
//! [`unlock`] starts reading the snapshot while the vault opens.

use std::collections::HashSet;
use std::fs;
use std::io::Write as _;
use std::path::Path;

use rayon::prelude::*;
use uuid::Uuid;

use crate::{SearchIndex, SearchQuery, SearchResults};
use custos_model::Record;
use custos_patterns::Fact;
use custos_vault::crypto::{self, VaultIdentity};
use custos_vault::SEARCH_SNAPSHOT_NEW;
use custos_vault::{Error, Options, Result, SecretString, Vault, SEARCH_SNAPSHOT};

/// What the search snapshot holds, for the digest binding its file key
/// ([`crypto::key_digest`]).
const SNAPSHOT_OF: &[u8] = b"search index";

/// Records (re)indexed since the snapshot after which it is saved again. Fewer are
/// caught up at the next unlock instead (cheaper than rewriting the whole snapshot after
/// every edit).
const SAVE_AFTER: usize = 500;

/// Records a search catches up by itself; more than that is left to
/// [`VaultSearch::prepare_search`] (the app builds in steps; the hits say `ready: false`).
const SEARCH_CATCH_UP: usize = 5_000;

/// The search state of an unlocked vault (its derived state).
#[derive(Default)]
struct SearchState {
    index: Option<SearchIndex>,
    /// The record index's change counter when the search index last matched it.
    seen: Option<u64>,
    /// Records whose head could not be read (damaged): not indexed, not retried.
    unreadable: HashSet<(Uuid, Uuid)>,
    /// Records not deleted, at a change count of the record index (counted once per
    /// change, not per search).
    live: Option<(u64, usize)>,
    /// The snapshot being read while the vault unlocks, its signature not checked yet.
    preloaded: Option<std::thread::JoinHandle<Option<Preloaded>>>,
}

impl Drop for SearchState {
    fn drop(&mut self) {
        // Nothing decrypted may outlive the vault: wait for the reading thread.
        if let Some(h) = self.preloaded.take() {
            let _ = h.join();
        }
    }
}

/// A search snapshot decrypted and restored, with the digest and signature to check.
struct Preloaded {
    index: SearchIndex,
    digest: [u8; 32],
    sig: [u8; 64],
}

/// Opens the vault like [`Vault::unlock`], and loads the search index's snapshot
/// meanwhile, on another thread (the app: search is ready as soon as the vault is).
pub fn unlock(dir: &Path, passphrase: &SecretString, options: Options) -> Result<Vault> {
    Vault::unlock_deriving(dir, passphrase, options, start_preload)
}

/// Starts reading the snapshot on another thread; its signature is checked at the first
/// search, once the vault's keyring is known.
fn start_preload(dir: &Path, identity: &VaultIdentity) -> SearchState {
    let (dir, identity) = (dir.to_owned(), identity.clone());
    let mut state = SearchState::default();
    state.preloaded = Some(std::thread::spawn(move || read_snapshot(&dir, &identity)));
    state
}

/// Reads, decrypts and restores the search snapshot of the vault in `dir`; the caller
/// checks the signature.
fn read_snapshot(dir: &Path, identity: &VaultIdentity) -> Option<Preloaded> {
    let ct = fs::read(dir.join(SEARCH_SNAPSHOT)).ok()?;
    let (plain, bound) = crypto::open_owned_keyed(identity, ct, SNAPSHOT_OF).ok()?;
    let seen = std::cell::Cell::new(None);
    let index = SearchIndex::from_snapshot(plain, &bound, &|d, s| {
        seen.set(Some((*d, *s)));
        true
    })?;
    let (digest, sig) = seen.get()?;
    Some(Preloaded { index, digest, sig })
}

/// Full-text search of a vault: `use custos_search::VaultSearch` and call it on the
/// unlocked [`Vault`].
pub trait VaultSearch {
    /// Full-text search over every record, with filters (see [`SearchQuery`]). Catches
    /// up with the vault's changes first; on a large vault whose index is still being
    /// built (see [`VaultSearch::prepare_search`]), the hits may be incomplete and say
    /// so.
    fn search(&self, q: &SearchQuery) -> Result<SearchResults>;

    /// Builds or catches up the search index, at most `budget` records in this call
    /// (the app calls it in steps after unlock so that the window stays responsive).
    /// Returns (records indexed, records in all). Loads the encrypted snapshot the
    /// first time, and saves it again when much has changed.
    fn prepare_search(&self, budget: usize) -> Result<(usize, usize)>;

    /// Every case `q` selects, with no hit limit (what the figures of a search count):
    /// the cases of the records its words match that pass its filters, in id order, and
    /// whether the index was complete (see [`VaultSearch::search`]). An empty query
    /// selects none.
    fn search_cases(&self, q: &SearchQuery) -> Result<(Vec<Uuid>, bool)>;

    /// Calls `f` with the [`Fact`] the index keeps of each record of `ids`, in order:
    /// `Some` only when it was made from the record's current head version, `None` for a
    /// record the index does not hold as it is now (not indexed yet, changed since,
    /// unreadable, deleted, or a note or evidence) — read that one instead. Loads the
    /// encrypted snapshot the first time; indexes nothing itself.
    fn with_facts<R>(&self, ids: &[Uuid], f: impl FnOnce(&[Option<&Fact>]) -> R) -> Result<R>;
}

impl VaultSearch for Vault {
    fn search(&self, q: &SearchQuery) -> Result<SearchResults> {
        self.with_derived(|st: &mut SearchState| search(self, st, q))
    }

    fn prepare_search(&self, budget: usize) -> Result<(usize, usize)> {
        self.with_derived(|st: &mut SearchState| catch_up(self, st, budget))
    }

    fn search_cases(&self, q: &SearchQuery) -> Result<(Vec<Uuid>, bool)> {
        self.with_derived(|st: &mut SearchState| search_cases(self, st, q))
    }

    fn with_facts<R>(&self, ids: &[Uuid], f: impl FnOnce(&[Option<&Fact>]) -> R) -> Result<R> {
        self.with_derived(|st: &mut SearchState| {
            // A budget of none: the snapshot is loaded and what was deleted dropped.
            catch_up(self, st, 0)?;
            let index = st.index.as_ref();
            let facts: Vec<Option<&Fact>> = ids
                .iter()
                .map(|id| {
                    let index = index?;
                    let entry = self.entry_of(*id).filter(|e| !e.deleted())?;
                    (index.covered().get(id) == Some(&entry.head().id))
                        .then(|| index.facts().get(id))
                        .flatten()
                })
                .collect();
            Ok(f(&facts))
        })
    }
}

fn search_cases(vault: &Vault, st: &mut SearchState, q: &SearchQuery) -> Result<(Vec<Uuid>, bool)> {
    let (done, total) = catch_up(vault, st, SEARCH_CATCH_UP)?;
    let index = st
        .index
        .as_mut()
        .ok_or_else(|| Error::Database("the search index is missing".into()))?;
    let keys = index
        .matching_case_keys(q)
        .map_err(|e| Error::Database(e.to_string()))?;
    let mut cases: Vec<Uuid> = vault
        .entries()
        .filter(|e| e.kind == custos_model::Kind::Case && !e.deleted())
        .map(|e| e.record_id)
        .filter(|id| keys.contains(&crate::case_key(*id)))
        .collect();
    cases.sort();
    Ok((cases, done == total))
}

fn search(vault: &Vault, st: &mut SearchState, q: &SearchQuery) -> Result<SearchResults> {
    let (done, total) = catch_up(vault, st, SEARCH_CATCH_UP)?;
    let index = st
        .index
        .as_mut()
        .ok_or_else(|| Error::Database("the search index is missing".into()))?;
    let resolve = |id: Uuid| {
        let e = vault.entry_of(id)?;
        (!e.deleted()).then(|| (e.kind, e.summary.case_id, e.summary.title.clone()))
    };
    let (hits, total_hits) = index
        .search(q, &resolve)
        .map_err(|e| Error::Database(e.to_string()))?;
    Ok(SearchResults {
        hits,
        total: total_hits,
        ready: done == total,
    })
}

fn catch_up(vault: &Vault, st: &mut SearchState, budget: usize) -> Result<(usize, usize)> {
    let changes = vault.changes();
    if st.index.is_none() {
        let preloaded = st
            .preloaded
            .take()
            .and_then(|h| h.join().ok().flatten())
            .and_then(|p| verified(vault, p));
        st.index = Some(match preloaded.or_else(|| load_snapshot(vault)) {
            Some(index) => index,
            None => SearchIndex::new().map_err(|e| Error::Database(e.to_string()))?,
        });
        st.seen = None;
    }
    let live = match st.live {
        Some((at, n)) if at == changes => n,
        _ => {
            let n = vault.entries().filter(|e| !e.deleted()).count();
            st.live = Some((changes, n));
            n
        }
    };
    if st.seen.is_none() && snapshot_current(vault, st) {
        st.seen = Some(changes);
    }
    if st.seen == Some(changes) {
        if st.index.as_ref().is_some_and(SearchIndex::earlier_format) {
            // Restored from format 4: written again as format 5 (a cache: failing to
            // save it only slows the next unlock).
            let _ = save_snapshot(vault, st);
        }
        return Ok((live, live));
    }
    let SearchState {
        index, unreadable, ..
    } = st;
    let Some(index) = index.as_mut() else {
        return Ok((0, live));
    };
    let covered = index.covered();
    let mut wanted: Vec<(Uuid, Uuid)> = Vec::new();
    let mut removals: Vec<Uuid> = Vec::new();
    for e in vault.entries() {
        let head = e.head().id;
        let have = covered.get(&e.record_id);
        if e.deleted() {
            if have.is_some() {
                removals.push(e.record_id);
            }
            continue;
        }
        if have != Some(&head) && !unreadable.contains(&(e.record_id, head)) {
            wanted.push((e.record_id, head));
        }
    }
    removals.extend(
        covered
            .keys()
            .filter(|r| vault.entry_of(**r).is_none())
            .copied(),
    );
    let todo = wanted.len();
    wanted.truncate(budget);
    let read: Vec<(Uuid, Uuid, Option<Record>)> = wanted
        .par_iter()
        .map(|&(r, v)| {
            let record = vault
                .get_version(r, v)
                .ok()
                .and_then(|view| view.into_record());
            (r, v, record)
        })
        .collect();
    let mut upserts = Vec::with_capacity(read.len());
    for (r, v, record) in read {
        match record {
            Some(rec) => upserts.push((r, v, rec)),
            None => {
                unreadable.insert((r, v));
                // An older version of it may be indexed: drop that too.
                removals.push(r);
            }
        }
    }
    index
        .apply(&upserts, &removals)
        .map_err(|e| Error::Database(e.to_string()))?;
    let remaining = todo - wanted.len();
    if remaining == 0 {
        st.seen = Some(changes);
        // Saved after many changes, and whenever there is none (travel mode removed it
        // with the records it held: it is written again without them).
        let missing = !vault.dir().join(SEARCH_SNAPSHOT).exists();
        if st.index.as_ref().is_some_and(|i| {
            i.unsaved >= SAVE_AFTER || (missing && i.unsaved > 0) || i.earlier_format
        }) {
            // A cache: failing to save it (a full disk) only slows the next unlock.
            let _ = save_snapshot(vault, st);
        }
    }
    Ok((live - remaining, live))
}

/// True when the search index was just restored from a snapshot saved when the stored
/// versions were exactly as they are now: then it matches the record index without
/// comparing them record by record.
fn snapshot_current(vault: &Vault, st: &SearchState) -> bool {
    let Some(index) = st.index.as_ref() else {
        return false;
    };
    !index.epoch.is_empty()
        && index.unsaved == 0
        && st.unreadable.is_empty()
        && !vault.has_damaged()
        && vault.version_epoch().ok().flatten().as_deref() == Some(&index.epoch[..])
}

fn load_snapshot(vault: &Vault) -> Option<SearchIndex> {
    verified(vault, read_snapshot(vault.dir(), vault.identity())?)
}

/// The snapshot's index, if this device signed it.
fn verified(vault: &Vault, p: Preloaded) -> Option<SearchIndex> {
    vault
        .verify_own_digest(&p.digest, &p.sig)
        .then_some(p.index)
}

fn save_snapshot(vault: &Vault, st: &mut SearchState) -> Result<()> {
    let Some(index) = st.index.as_mut() else {
        return Ok(());
    };
    // The epoch only when the index matches every stored version (nothing unreadable).
    let epoch = if st.unreadable.is_empty() && !vault.has_damaged() {
        vault.version_epoch()?.unwrap_or_default()
    } else {
        Vec::new()
    };
    let (key, sig) = vault.key_to_self(SNAPSHOT_OF)?;
    let plain = index
        .to_snapshot(&epoch, &sig)
        .map_err(|e| Error::Database(e.to_string()))?;
    let ct = key.seal_bytes(&plain)?;
    drop(plain);
    // Ciphertext only: written beside, flushed, then renamed over the old one.
    let dir = vault.dir();
    let new = dir.join(SEARCH_SNAPSHOT_NEW);
    let written = fs::File::create(&new)
        .and_then(|mut f| f.write_all(&ct).and_then(|_| f.sync_all()))
        .and_then(|_| fs::rename(&new, dir.join(SEARCH_SNAPSHOT)))
        .and_then(|_| custos_vault::durable::sync_dir(dir));
    if let Err(e) = written {
        let _ = fs::remove_file(&new);
        return Err(Error::io("saving the search index", e));
    }
    index.unsaved = 0;
    index.epoch = epoch;
    index.earlier_format = false;
    Ok(())
}
