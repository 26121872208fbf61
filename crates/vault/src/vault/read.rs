//! Reading: records, versions, history and lists, from the index and the key cache.

use std::sync::atomic::Ordering;

use rayon::prelude::*;
use uuid::Uuid;

use crate::crypto::{self, KeyCache};
use crate::error::{Damage, Error, Result};
use crate::index::Entry;
use custos_model::{Body, Version};

use super::*;

impl Vault {
    /// The current version of a record (for a conflict: the newest head; `heads` lists
    /// all of them).
    pub fn get(&self, record_id: Uuid) -> Result<RecordView> {
        let entry = self.entry(record_id)?;
        let head = entry.head().id;
        self.view(entry, head)
    }

    /// The current versions of many records, decrypted on every core: what a full read
    /// (an export, a report) uses instead of `get` in a loop. The answers are in the order
    /// of `ids`; a missing or damaged record is its own `Err` and does not stop the others.
    ///
    /// Every value is decrypted and verified exactly as `get` does it. What a loop of `get`
    /// would repeat is done once: the versions are read from the database in key order
    /// (neighbouring values share its pages), in chunks of [`READ_CHUNK`] that each take
    /// the key cache once, and the file keys learned are remembered in one write at the
    /// end.
    pub fn get_many(&self, ids: &[Uuid]) -> Vec<Result<RecordView>> {
        // The index answers which version each id shows (nothing decrypted); the
        // positions are then sorted by version id, the database's key order.
        let mut heads: Vec<(Uuid, usize)> = Vec::with_capacity(ids.len());
        let mut out: Vec<Option<Result<RecordView>>> = Vec::with_capacity(ids.len());
        for (at, &id) in ids.iter().enumerate() {
            match self.entry(id) {
                Ok(entry) => {
                    heads.push((entry.head().id, at));
                    out.push(None);
                }
                Err(e) => out.push(Some(Err(e))),
            }
        }
        heads.sort_unstable();
        let read: Vec<ChunkRead> = heads
            .par_chunks(READ_CHUNK)
            .map(|chunk| {
                let cache = self.key_cache();
                let mut learned = Vec::new();
                let views = chunk
                    .iter()
                    .map(|&(version, at)| {
                        let entry = self.entry(ids[at]).expect("looked up above");
                        let view =
                            self.decode(&cache, version, Some(entry.record_id))
                                .map(|(v, l)| {
                                    learned.extend(l);
                                    view_of(entry, v)
                                });
                        (at, view)
                    })
                    .collect();
                (views, learned)
            })
            .collect();
        let mut learned_any = false;
        {
            let mut cache = None;
            for (views, learned) in read {
                for (at, view) in views {
                    out[at] = Some(view);
                }
                for l in learned {
                    cache.get_or_insert_with(|| self.key_cache_mut()).insert(l);
                    learned_any = true;
                }
            }
        }
        if learned_any {
            self.cache_dirty.store(true, Ordering::Relaxed);
        }
        out.into_iter()
            .map(|r| r.expect("every position was answered"))
            .collect()
    }

    /// A record at a given version.
    pub fn get_version(&self, record_id: Uuid, version_id: Uuid) -> Result<RecordView> {
        let entry = self.entry(record_id)?;
        if !entry.versions.iter().any(|v| v.id == version_id) {
            return Err(Error::Invalid(format!(
                "record {record_id} has no version {version_id}"
            )));
        }
        self.view(entry, version_id)
    }

    pub(super) fn view(&self, entry: &Entry, version_id: Uuid) -> Result<RecordView> {
        Ok(view_of(
            entry,
            self.read_version(version_id, Some(entry.record_id))?,
        ))
    }

    /// Every version of a record, oldest first. A damaged version is an `Err` naming it;
    /// the others are still returned.
    pub fn history(&self, record_id: Uuid) -> Result<Vec<Result<RecordView>>> {
        let entry = self.entry(record_id)?;
        Ok(entry
            .versions
            .iter()
            .map(|meta| self.view(entry, meta.id))
            .collect())
    }

    /// Records matching the filter, most recently changed first. Decrypts nothing.
    pub fn list(&self, filter: &Filter) -> Vec<ListItem> {
        let mut items: Vec<ListItem> = self
            .index
            .entries()
            .filter(|e| filter.include_deleted || !e.deleted())
            .filter(|e| filter.kind.is_none_or(|k| e.kind == k))
            .filter(|e| {
                filter
                    .case_id
                    .is_none_or(|c| e.summary.case_id == Some(c) || e.record_id == c)
            })
            .filter(|e| filter.status.is_none_or(|s| e.summary.status == Some(s)))
            .filter(|e| {
                filter
                    .tag
                    .as_ref()
                    .is_none_or(|t| e.summary.tags.iter().any(|x| x == t))
            })
            .map(|e| ListItem {
                record_id: e.record_id,
                kind: e.kind,
                summary: e.summary.clone(),
                updated: e.head().hlc,
                versions: e.versions.len(),
                deleted: e.deleted(),
                conflict: e.conflict(),
            })
            .collect();
        items.sort_unstable_by(|a, b| {
            b.updated
                .cmp(&a.updated)
                .then(a.record_id.cmp(&b.record_id))
        });
        items
    }

    /// Stored versions that could not be decrypted or verified at unlock, with the
    /// record they belong to when known. Reading other records is not affected.
    pub fn damaged(&self) -> Vec<Error> {
        self.index
            .damaged()
            .map(|(version, record, reason)| Error::Damaged {
                record,
                version,
                reason,
            })
            .collect()
    }

    /// Number of stored versions.
    pub fn version_count(&self) -> usize {
        self.store.version_count()
    }

    /// Decrypts, verifies and parses one stored version.
    pub fn read_version(&self, version_id: Uuid, record: Option<Uuid>) -> Result<Version> {
        let record = record.or_else(|| self.index.owner(version_id));
        let (v, learned) = {
            let cache = self.key_cache();
            self.decode(&cache, version_id, record)?
        };
        if let Some(l) = learned {
            self.key_cache_mut().insert(l);
            self.cache_dirty.store(true, Ordering::Relaxed);
        }
        Ok(v)
    }

    /// Reads, decrypts, verifies and parses one stored version (of `record`, when
    /// known: a version stored under another record is damage), with the key cache the
    /// caller holds; also the file key to remember, if one was learned.
    fn decode(
        &self,
        cache: &KeyCache,
        version_id: Uuid,
        record: Option<Uuid>,
    ) -> Result<(Version, Option<crypto::Learned>)> {
        let damaged = |reason| Error::Damaged {
            record,
            version: version_id,
            reason,
        };
        let ct = self
            .store
            .version(version_id)?
            .ok_or(damaged(Damage::Decrypt))?;
        let (v, learned, _) =
            decode_version(&self.keys, cache, version_id, &ct).map_err(damaged)?;
        if record.is_some_and(|r| r != v.record_id) {
            return Err(damaged(Damage::Moved));
        }
        Ok((v, learned))
    }

    /// True when a version with this id is stored.
    pub fn has_version(&self, version_id: Uuid) -> Result<bool> {
        self.store.has_version(version_id)
    }

    /// The index entry of a record, if any.
    pub fn entry_of(&self, record_id: Uuid) -> Option<&Entry> {
        self.index.get(record_id)
    }

    /// Every record id, in id order.
    pub fn record_ids(&self) -> Vec<Uuid> {
        self.index.entries().map(|e| e.record_id).collect()
    }

    // ----- the index snapshot -----
}

/// What one task of [`Vault::get_many`] read: each answer with its position in the ids
/// asked, and the file keys it learned.
type ChunkRead = (Vec<(usize, Result<RecordView>)>, Vec<crypto::Learned>);

/// How many records one task of [`Vault::get_many`] reads: enough to take the key cache
/// once for many records, few enough that every core gets several tasks.
pub const READ_CHUNK: usize = 256;

/// The view of a record at version `v` (moved, not copied: its content is wiped when the
/// view is dropped).
fn view_of(entry: &Entry, mut v: Version) -> RecordView {
    let record = match std::mem::replace(&mut v.body, Body::Tombstone) {
        Body::Record(r) => Some(r),
        Body::Tombstone => None,
    };
    RecordView {
        record_id: v.record_id,
        version_id: v.version_id,
        kind: v.kind,
        parents: std::mem::take(&mut v.parents),
        hlc: v.hlc,
        device: v.device,
        record,
        heads: entry.heads.clone(),
    }
}
