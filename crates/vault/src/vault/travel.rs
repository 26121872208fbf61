//! Travel mode: before a border, cases the hub holds are removed from the device, and sync
//! is paused (so nothing of them comes back by itself); after it, they are pulled back
//! from the hub (`crate::sync::restore`). Nothing is removed that the hub has not
//! confirmed: every version of every record of the case, and every evidence file.
//!
//! The vault keeps no list of what it removed (a list would tell a searcher what to ask
//! for): the restore asks the hub for everything this vault may read. Nor does it keep
//! any other trace of them: their chains of custody, the marks of what the hub holds,
//! their keys in the key cache, their words in the search index go with them, and the
//! database is rewritten afresh so that its files keep no removed value in free space.

use std::collections::HashSet;
use std::fs;

use uuid::Uuid;

use super::Vault;
use crate::error::{Error, Result};
use custos_model::{Body, Kind, Record};

/// What travel mode removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Removed {
    /// Cases.
    pub cases: usize,
    /// Records (cases and everything in them).
    pub records: usize,
    /// Versions.
    pub versions: usize,
    /// Evidence files.
    pub files: usize,
}

/// What travel mode would remove ([`Vault::travel_plan`]).
#[derive(Debug, Clone, Default)]
pub struct TravelPlan {
    /// Cases.
    pub cases: usize,
    /// Their records.
    pub records: Vec<Uuid>,
    /// Every version of them.
    pub versions: Vec<Uuid>,
    /// Every evidence file of them in the vault.
    pub blobs: Vec<Uuid>,
}

/// What the hub confirmed holding, just before travel mode removes anything.
#[derive(Debug, Clone, Default)]
pub struct Confirmed {
    /// Versions.
    pub versions: HashSet<Uuid>,
    /// Evidence files.
    pub blobs: HashSet<Uuid>,
}

impl Vault {
    /// The case a record belongs to (its own id for a case), from its newest version that
    /// is not a deletion.
    fn case_of(&self, record: Uuid) -> Option<Uuid> {
        let entry = self.index.get(record)?;
        if entry.kind == Kind::Case {
            return Some(record);
        }
        if let Some(c) = entry.summary.case_id {
            return Some(c);
        }
        entry.versions.iter().rev().find_map(|m| {
            let v = self.read_version(m.id, Some(record)).ok()?;
            match &v.body {
                Body::Record(r) => r.case_id(),
                Body::Tombstone => None,
            }
        })
    }

    /// What travel mode would remove for the given cases (all when `None`): every
    /// version of every record in them and every evidence file in the vault. Refused
    /// when anything of it is not on the hub yet, as far as this vault knows: then
    /// [`Vault::travel_remove`] would refuse too.
    pub fn travel_plan(&self, cases: Option<&[Uuid]>) -> Result<TravelPlan> {
        if !self.is_enrolled() {
            return Err(Error::Invalid(
                "travel mode needs the hub: enroll this vault and sync first".into(),
            ));
        }
        let chosen: HashSet<Uuid> = match cases {
            Some(list) => {
                for id in list {
                    match self.index.get(*id) {
                        Some(e) if e.kind == Kind::Case => {}
                        _ => return Err(Error::Invalid(format!("{id} is not a case"))),
                    }
                }
                list.iter().copied().collect()
            }
            None => self
                .index
                .entries()
                .filter(|e| e.kind == Kind::Case)
                .map(|e| e.record_id)
                .collect(),
        };
        let records: Vec<Uuid> = self
            .index
            .entries()
            .map(|e| e.record_id)
            .filter(|r| self.case_of(*r).is_some_and(|c| chosen.contains(&c)))
            .collect();
        // Everything must be on the hub.
        let mut versions = Vec::new();
        let mut blobs = Vec::new();
        let mut missing = 0;
        for r in &records {
            let entry = self.index.get(*r).ok_or(Error::RecordNotFound(*r))?;
            for m in &entry.versions {
                if !self.store.is_synced(m.id)? {
                    missing += 1;
                }
                versions.push(m.id);
                if entry.kind == Kind::Evidence {
                    if let Ok(v) = self.read_version(m.id, Some(*r)) {
                        if let Body::Record(Record::Evidence(ev)) = &v.body {
                            if self.blob_path(ev.blob_id).exists() {
                                if !self.store.blob_synced(ev.blob_id)? {
                                    missing += 1;
                                }
                                blobs.push(ev.blob_id);
                            }
                        }
                    }
                }
            }
        }
        if missing > 0 {
            return Err(Error::Invalid(format!(
                "{missing} change(s) or file(s) of these cases are not on the hub yet: \
                 nothing was removed; sync first, then try again"
            )));
        }
        blobs.sort_unstable();
        blobs.dedup();
        Ok(TravelPlan {
            cases: chosen.len(),
            records,
            versions,
            blobs,
        })
    }

    /// Removes the given cases (all when `None`) with every record in them from this
    /// device, and pauses sync — once the hub has confirmed, just before, that it holds
    /// all of it (`confirmed`, from `custos_sync::travel_remove`). Refused, with nothing
    /// removed, when anything of them is not on the hub, or not confirmed.
    pub fn travel_remove(
        &mut self,
        cases: Option<&[Uuid]>,
        confirmed: &Confirmed,
    ) -> Result<Removed> {
        let plan = self.travel_plan(cases)?;
        let unconfirmed = plan
            .versions
            .iter()
            .filter(|v| !confirmed.versions.contains(v))
            .count()
            + plan
                .blobs
                .iter()
                .filter(|b| !confirmed.blobs.contains(b))
                .count();
        if unconfirmed > 0 {
            return Err(Error::Invalid(format!(
                "the hub has not confirmed that it holds {unconfirmed} change(s) or file(s) \
                 of these cases: nothing was removed; sync, then try again"
            )));
        }
        let TravelPlan {
            cases: chosen,
            records,
            versions,
            blobs,
        } = plan;
        // Pause first: from now on nothing of these cases comes back by itself.
        self.set_sync_paused(true)?;
        let files = self.purge(&versions, &records, &blobs)?;
        self.rewrite_traces("the cases were removed")?;
        Ok(Removed {
            cases: chosen,
            records: records.len(),
            versions: versions.len(),
            files,
        })
    }

    /// Removes versions, the custody logs of `records` and the evidence files `blobs`
    /// from this device with every trace the vault keeps of them (index, key cache,
    /// snapshots, search index); [`Vault::rewrite_traces`] then clears the database's
    /// free space. → evidence files removed.
    pub(super) fn purge(
        &mut self,
        versions: &[Uuid],
        records: &[Uuid],
        blobs: &[Uuid],
    ) -> Result<usize> {
        self.store.remove_versions(versions, records, blobs)?;
        let mut files = 0;
        for b in blobs {
            if fs::remove_file(self.blob_path(*b)).is_ok() {
                files += 1;
            }
        }
        for r in records {
            self.index.remove(*r);
        }
        // The key cache keeps only the keys of versions still stored.
        let mut kept = HashSet::new();
        for v in self.store.versions() {
            kept.insert(crate::crypto::ciphertext_digest(&v?.1));
        }
        self.key_cache_get_mut().retain(&kept);
        self.cache_dirty
            .store(true, std::sync::atomic::Ordering::Relaxed);
        // The index snapshot must not name them any more, nor the search index hold
        // their words.
        self.unsnapshotted += 1;
        self.save_snapshot()?;
        self.forget_derived()?;
        Ok(files)
    }

    /// Nothing of what was removed may stay in the database's free space either
    /// (removed values, earlier snapshots of the index): it is written afresh. Failing
    /// (a full disk), what was removed stays removed and the next unlock tries again.
    pub(super) fn rewrite_traces(&mut self, done: &str) -> Result<()> {
        self.store.rewrite().map_err(|e| {
            Error::Invalid(format!(
                "{done}, but the database could not be rewritten without their traces \
                 ({e}); it will be at the next unlock"
            ))
        })
    }
}
