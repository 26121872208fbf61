//! The vault's full-text search: the in-memory index (see [`crate::search`]) kept up to
//! date with the record index, and its encrypted snapshot (`search.age`).

use std::collections::HashSet;
use std::fs;
use std::io::Write as _;
use std::path::Path;

use rayon::prelude::*;
use uuid::Uuid;

use super::Vault;
use crate::crypto::{self, VaultIdentity};
use crate::error::{Error, Result};
use crate::model::Record;
use crate::search::{SearchIndex, SearchQuery, SearchResults};

/// The snapshot file, in the vault folder (age-encrypted to the vault, signed).
pub(super) const SNAPSHOT: &str = "search.age";
const SNAPSHOT_NEW: &str = "search.age.new";

/// Records (re)indexed since the snapshot after which it is saved again. Fewer are
/// caught up at the next unlock instead (cheaper than rewriting the whole snapshot after
/// every edit).
const SAVE_AFTER: usize = 500;

/// Records a search catches up by itself; more than that is left to
/// [`Vault::prepare_search`] (the app builds in steps; the hits say `ready: false`).
const SEARCH_CATCH_UP: usize = 5_000;

/// The search state of an unlocked vault.
#[derive(Default)]
pub(crate) struct SearchState {
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
pub(super) struct Preloaded {
    index: SearchIndex,
    digest: [u8; 32],
    sig: [u8; 64],
}

/// Reads, decrypts and restores the search snapshot of the vault in `dir`; the caller
/// checks the signature (see [`Vault::preloaded_search`]).
pub(super) fn read_snapshot(dir: &Path, identity: &VaultIdentity) -> Option<Preloaded> {
    let ct = fs::read(dir.join(SNAPSHOT)).ok()?;
    let plain = crypto::open_bytes(identity, &ct).ok()?;
    let seen = std::cell::Cell::new(None);
    let index = SearchIndex::from_snapshot(&plain, &|d, s| {
        seen.set(Some((*d, *s)));
        true
    })?;
    let (digest, sig) = seen.get()?;
    Some(Preloaded { index, digest, sig })
}

impl Vault {
    /// Full-text search over every record, with filters (see [`SearchQuery`]). Catches
    /// up with the vault's changes first; on a large vault whose index is still being
    /// built (see [`Vault::prepare_search`]), the hits may be incomplete and say so.
    pub fn search(&self, q: &SearchQuery) -> Result<SearchResults> {
        let mut st = self.search.lock().unwrap_or_else(|p| p.into_inner());
        let (done, total) = self.catch_up(&mut st, SEARCH_CATCH_UP)?;
        let index = st
            .index
            .as_mut()
            .ok_or_else(|| Error::Database("the search index is missing".into()))?;
        let resolve = |id: Uuid| {
            let e = self.index.get(id)?;
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

    /// Builds or catches up the search index, at most `budget` records in this call
    /// (the app calls it in steps after unlock so that the window stays responsive).
    /// Returns (records indexed, records in all). Loads the encrypted snapshot the
    /// first time, and saves it again when much has changed.
    pub fn prepare_search(&self, budget: usize) -> Result<(usize, usize)> {
        let mut st = self.search.lock().unwrap_or_else(|p| p.into_inner());
        self.catch_up(&mut st, budget)
    }

    /// Drops the search index and its snapshot (travel mode removed records: their
    /// words must not stay behind, not even as deleted entries of the index).
    pub(super) fn forget_search(&mut self) -> Result<()> {
        let st = self.search.get_mut().unwrap_or_else(|p| p.into_inner());
        *st = SearchState::default();
        remove_snapshot(&self.dir)
    }

    fn catch_up(&self, st: &mut SearchState, budget: usize) -> Result<(usize, usize)> {
        let changes = self.index.changes();
        if st.index.is_none() {
            let preloaded = st
                .preloaded
                .take()
                .and_then(|h| h.join().ok().flatten())
                .and_then(|p| self.verified(p));
            st.index = Some(match preloaded.or_else(|| self.load_search_snapshot()) {
                Some(index) => index,
                None => SearchIndex::new().map_err(|e| Error::Database(e.to_string()))?,
            });
            st.seen = None;
        }
        let live = match st.live {
            Some((at, n)) if at == changes => n,
            _ => {
                let n = self.index.entries().filter(|e| !e.deleted()).count();
                st.live = Some((changes, n));
                n
            }
        };
        if st.seen.is_none() && self.search_snapshot_current(st) {
            st.seen = Some(changes);
        }
        if st.seen == Some(changes) {
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
        for e in self.index.entries() {
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
                .filter(|r| self.index.get(**r).is_none())
                .copied(),
        );
        let todo = wanted.len();
        wanted.truncate(budget);
        let read: Vec<(Uuid, Uuid, Option<Record>)> = wanted
            .par_iter()
            .map(|&(r, v)| {
                let record = self
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
            if st.index.as_ref().is_some_and(|i| i.unsaved >= SAVE_AFTER) {
                // A cache: failing to save it (a full disk) only slows the next unlock.
                let _ = self.save_search_snapshot(st);
            }
        }
        Ok((live - remaining, live))
    }

    /// True when the search index was just restored from a snapshot saved when the stored
    /// versions were exactly as they are now: then it matches the record index without
    /// comparing them record by record.
    fn search_snapshot_current(&self, st: &SearchState) -> bool {
        let Some(index) = st.index.as_ref() else {
            return false;
        };
        !index.epoch.is_empty()
            && index.unsaved == 0
            && st.unreadable.is_empty()
            && self.index.damaged().next().is_none()
            && self.store.version_epoch().ok().flatten().as_deref() == Some(&index.epoch[..])
    }

    fn load_search_snapshot(&self) -> Option<SearchIndex> {
        self.verified(read_snapshot(&self.dir, &self.keys.identity)?)
    }

    /// Keeps a snapshot read during unlock for the first search, if this device signed it.
    pub(super) fn preloaded_search(
        &mut self,
        preloaded: Option<std::thread::JoinHandle<Option<Preloaded>>>,
    ) {
        self.search
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .preloaded = preloaded;
    }

    fn verified(&self, p: Preloaded) -> Option<SearchIndex> {
        crypto::verify_digest(&self.keys.signer, &p.digest, &p.sig).then_some(p.index)
    }

    fn save_search_snapshot(&self, st: &mut SearchState) -> Result<()> {
        let Some(index) = st.index.as_mut() else {
            return Ok(());
        };
        let device = &self.keys.device;
        // The epoch only when the index matches every stored version (nothing unreadable).
        let epoch = if st.unreadable.is_empty() && self.index.damaged().next().is_none() {
            self.store.version_epoch()?.unwrap_or_default()
        } else {
            Vec::new()
        };
        let plain = index
            .to_snapshot(&epoch, &|d| device.sign_bytes(d))
            .map_err(|e| Error::Database(e.to_string()))?;
        let ct = crypto::seal_bytes(
            self.keys
                .recipients
                .iter()
                .map(|r| r as &dyn age::Recipient),
            &plain,
        )?;
        drop(plain);
        // Ciphertext only: written beside, flushed, then renamed over the old one.
        let new = self.dir.join(SNAPSHOT_NEW);
        let written = fs::File::create(&new)
            .and_then(|mut f| f.write_all(&ct).and_then(|_| f.sync_all()))
            .and_then(|_| fs::rename(&new, self.dir.join(SNAPSHOT)))
            .and_then(|_| fs::File::open(&self.dir).and_then(|d| d.sync_all()));
        if let Err(e) = written {
            let _ = fs::remove_file(&new);
            return Err(Error::io("saving the search index", e));
        }
        index.unsaved = 0;
        index.epoch = epoch;
        Ok(())
    }
}

fn remove_snapshot(dir: &Path) -> Result<()> {
    for name in [SNAPSHOT, SNAPSHOT_NEW] {
        match fs::remove_file(dir.join(name)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("removing the search index", e)),
        }
    }
    Ok(())
}
