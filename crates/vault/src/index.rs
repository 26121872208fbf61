//! The record index: which versions belong to which record, the heads, and what a list
//! shows. It lives in memory while the vault is unlocked and is stored only as an
//! age-encrypted, signed snapshot (a cache: rebuilt from the versions when missing or
//! damaged), so that unlocking does not decrypt every version.

use std::collections::BTreeMap;

use foldhash::HashMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::Zeroize;

use crate::error::Damage;
use custos_model::hlc::Hlc;
use custos_model::{Body, CaseStatus, Kind, Version};

/// What the index keeps of one version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionMeta {
    /// The version.
    pub id: Uuid,
    /// Its parents.
    pub parents: Vec<Uuid>,
    /// When it was written.
    pub hlc: Hlc,
    /// The device that wrote it.
    pub device: Uuid,
    /// True for a tombstone.
    pub deleted: bool,
}

/// What a list shows of a record, taken from its current head.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Zeroize)]
pub struct Summary {
    /// Title, name, or first line of a note.
    pub title: String,
    /// The case it belongs to.
    #[zeroize(skip)]
    pub case_id: Option<Uuid>,
    /// For a case, its status.
    #[zeroize(skip)]
    pub status: Option<CaseStatus>,
    /// For a case, its tags.
    pub tags: Vec<String>,
    /// For an incident, its act type codes (the case list filters on them).
    #[serde(default)]
    pub act_types: Vec<String>,
    /// For an incident, the day it started; for an intervention, its date.
    #[serde(default)]
    #[zeroize(skip)]
    pub date: Option<chrono::NaiveDate>,
}

impl Summary {
    fn of(v: &Version) -> Summary {
        match &v.body {
            Body::Tombstone => Summary::default(),
            Body::Record(r) => Summary {
                title: short(r.title()),
                case_id: r.case_id(),
                status: match r {
                    custos_model::Record::Case(c) => Some(c.status),
                    _ => None,
                },
                tags: match r {
                    custos_model::Record::Case(c) => c.tags.clone(),
                    _ => Vec::new(),
                },
                act_types: match r {
                    custos_model::Record::Incident(i) => i.act_types.clone(),
                    _ => Vec::new(),
                },
                date: match r {
                    custos_model::Record::Incident(i) => i.start.as_ref().map(|d| d.date),
                    custos_model::Record::Intervention(i) => i.date,
                    _ => None,
                },
            },
        }
    }
}

/// A list line: at most [`TITLE_CHARS`] characters (a note's title is its first line,
/// which can be long).
fn short(title: &str) -> String {
    match title.char_indices().nth(TITLE_CHARS) {
        Some((end, _)) => format!("{}…", &title[..end]),
        None => title.to_owned(),
    }
}

/// The longest title the index keeps.
pub const TITLE_CHARS: usize = 160;

/// One record in the index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The record.
    pub record_id: Uuid,
    /// Its kind.
    pub kind: Kind,
    /// Every version, oldest first (by clock, then id).
    pub versions: Vec<VersionMeta>,
    /// Versions no other version names as parent. More than one: a conflict.
    pub heads: Vec<Uuid>,
    /// Of the current head (see [`Entry::head`]); empty when it is deleted.
    pub summary: Summary,
    /// The current head's version id the summary was taken from.
    pub summary_of: Uuid,
}

impl Entry {
    /// The current head: the newest of the heads.
    pub fn head(&self) -> &VersionMeta {
        self.versions
            .iter()
            .rev()
            .find(|v| self.heads.contains(&v.id))
            .expect("an entry has at least one version and one head")
    }

    /// True when the current head is a tombstone.
    pub fn deleted(&self) -> bool {
        self.head().deleted
    }

    /// True when concurrent edits left more than one head.
    pub fn conflict(&self) -> bool {
        self.heads.len() > 1
    }

    fn recompute_heads(&mut self) {
        self.versions.sort_by_key(|v| (v.hlc, v.id));
        let versions = &self.versions;
        // Most records have one version or a few (all read at every unlock): a search
        // of their parents costs less than a set.
        // The heads' vector is kept (a snapshot brings one per record).
        self.heads.clear();
        if versions.len() <= 16 {
            let named = |id: &Uuid| versions.iter().any(|v| v.parents.contains(id));
            self.heads
                .extend(versions.iter().filter(|v| !named(&v.id)).map(|v| v.id));
        } else {
            let named: std::collections::HashSet<Uuid> = versions
                .iter()
                .flat_map(|v| v.parents.iter().copied())
                .collect();
            self.heads.extend(
                versions
                    .iter()
                    .filter(|v| !named.contains(&v.id))
                    .map(|v| v.id),
            );
        }
    }
}

/// The in-memory index.
#[derive(Debug, Default)]
pub struct Index {
    records: BTreeMap<Uuid, Entry>,
    owner: HashMap<Uuid, Uuid>,
    /// Stored versions that could not be read, with the record when known.
    damaged: BTreeMap<Uuid, (Option<Uuid>, Damage)>,
    /// Bumped by every change, so that what is derived from the index (the search
    /// index) knows cheaply whether it must look again.
    changes: u64,
}

/// The snapshot's format: a snapshot of another format is rebuilt from the versions
/// (2: list lines carry an incident's act types and date; 3: binary, with the store's
/// version epoch).
const SNAPSHOT_VERSION: u32 = 3;

/// The stored form of the index.
#[derive(Serialize, Deserialize)]
struct Snapshot {
    schema_version: u32,
    epoch: Vec<u8>,
    records: Vec<Entry>,
}

/// A snapshot refused halfway leaves no list line behind in freed memory.
impl Drop for Snapshot {
    fn drop(&mut self) {
        for e in &mut self.records {
            e.summary.zeroize();
        }
    }
}

impl Index {
    /// Adds a version (decrypted and verified) to the index.
    pub fn add(&mut self, v: &Version) {
        if self.owner.contains_key(&v.version_id) {
            return;
        }
        self.changes += 1;
        self.owner.insert(v.version_id, v.record_id);
        let meta = VersionMeta {
            id: v.version_id,
            parents: v.parents.clone(),
            hlc: v.hlc,
            device: v.device,
            deleted: matches!(v.body, Body::Tombstone),
        };
        let entry = self.records.entry(v.record_id).or_insert_with(|| Entry {
            record_id: v.record_id,
            kind: v.kind,
            versions: Vec::new(),
            heads: Vec::new(),
            summary: Summary::default(),
            summary_of: v.version_id,
        });
        entry.versions.push(meta);
        entry.recompute_heads();
        if entry.head().id == v.version_id {
            entry.summary.zeroize();
            entry.summary = Summary::of(v);
            entry.summary_of = v.version_id;
        }
    }

    /// Marks a stored version as unreadable.
    pub fn add_damaged(&mut self, version: Uuid, reason: Damage) {
        let record = self.owner.get(&version).copied();
        self.changes += 1;
        self.damaged.insert(version, (record, reason));
    }

    /// Removes a record and its versions from the index (travel mode: the versions were
    /// removed from the device).
    pub fn remove(&mut self, record: Uuid) -> Option<Entry> {
        let entry = self.records.remove(&record)?;
        self.changes += 1;
        for v in &entry.versions {
            self.owner.remove(&v.id);
            self.damaged.remove(&v.id);
        }
        Some(entry)
    }

    /// A number that changes whenever the index does.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// The entry of a record.
    pub fn get(&self, record: Uuid) -> Option<&Entry> {
        self.records.get(&record)
    }

    /// The record a version belongs to.
    pub fn owner(&self, version: Uuid) -> Option<Uuid> {
        self.owner.get(&version).copied()
    }

    /// True when the version is indexed.
    pub fn contains_version(&self, version: Uuid) -> bool {
        self.owner.contains_key(&version)
    }

    /// Every record, by id.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.records.values()
    }

    /// Versions that could not be read.
    pub fn damaged(&self) -> impl Iterator<Item = (Uuid, Option<Uuid>, Damage)> + '_ {
        self.damaged.iter().map(|(v, (r, d))| (*v, *r, *d))
    }

    /// Number of indexed versions.
    pub fn version_count(&self) -> usize {
        self.owner.len()
    }

    /// Every indexed version id.
    pub fn version_ids(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.owner.keys().copied()
    }

    /// The newest clock reading in the index.
    pub fn max_hlc(&self) -> Hlc {
        self.records
            .values()
            .filter_map(|e| e.versions.last().map(|v| v.hlc))
            .max()
            .unwrap_or_default()
    }

    /// The index as the plaintext of its snapshot (a compact binary encoding: it is
    /// decoded at every unlock), with the store's version epoch it matches.
    pub fn to_snapshot(&self, epoch: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>, String> {
        #[derive(Serialize)]
        struct Out<'a> {
            schema_version: u32,
            epoch: &'a [u8],
            records: Vec<&'a Entry>,
        }
        postcard::to_stdvec(&Out {
            schema_version: SNAPSHOT_VERSION,
            epoch,
            records: self.records.values().collect(),
        })
        .map(zeroize::Zeroizing::new)
        .map_err(|e| e.to_string())
    }

    /// Restores an index from a snapshot, with the version epoch it was saved at;
    /// `None` when it is not a valid snapshot.
    pub fn from_snapshot(bytes: &[u8]) -> Option<(Index, Vec<u8>)> {
        let mut snap: Snapshot = postcard::from_bytes(bytes).ok()?;
        if snap.schema_version != SNAPSHOT_VERSION {
            return None;
        }
        // Sized once: at 100k records, growing the map step by step cost a tenth of an
        // unlock.
        let versions = snap.records.iter().map(|e| e.versions.len()).sum();
        let mut owner = HashMap::with_capacity_and_hasher(versions, Default::default());
        for e in &mut snap.records {
            if e.versions.is_empty() {
                return None;
            }
            for v in &e.versions {
                if owner.insert(v.id, e.record_id).is_some() {
                    return None;
                }
            }
            e.recompute_heads();
            // Versions that all name each other as parents leave no head to show.
            if e.heads.is_empty() {
                return None;
            }
        }
        // Saved in record order (see `to_snapshot`); out of order, or a record listed
        // twice (it would leave versions owned by an entry that is gone), it is not a
        // snapshot this wrote. In order, the map is built in one pass.
        if snap
            .records
            .windows(2)
            .any(|w| w[0].record_id >= w[1].record_id)
        {
            return None;
        }
        let records = snap.records.drain(..).map(|e| (e.record_id, e)).collect();
        let mut index = Index::default();
        index.records = records;
        index.owner = owner;
        Some((index, std::mem::take(&mut snap.epoch)))
    }
}

impl Drop for Index {
    fn drop(&mut self) {
        for e in self.records.values_mut() {
            e.summary.zeroize();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_titles_are_cut_on_a_character_boundary() {
        let long = "ش".repeat(500);
        let s = short(&long);
        assert_eq!(s.chars().count(), TITLE_CHARS + 1);
        assert!(s.ends_with('…'));
        assert_eq!(short("brief"), "brief");
    }

    /// An entry of `n` versions: a chain, then the last two branch off the same parent
    /// (a conflict), given oldest last so that sorting matters.
    fn branched(n: usize) -> Entry {
        let ids: Vec<Uuid> = (0..n).map(|_| Uuid::new_v4()).collect();
        let versions = (0..n)
            .rev()
            .map(|i| VersionMeta {
                id: ids[i],
                parents: match i {
                    0 => Vec::new(),
                    i if i + 1 == n && n > 2 => vec![ids[i - 2]],
                    i => vec![ids[i - 1]],
                },
                hlc: Hlc {
                    ms: 1_000 + i as u64,
                    counter: 0,
                },
                device: Uuid::nil(),
                deleted: false,
            })
            .collect();
        Entry {
            record_id: Uuid::new_v4(),
            kind: Kind::Case,
            versions,
            heads: Vec::new(),
            summary: Summary::default(),
            summary_of: Uuid::nil(),
        }
    }

    fn encoded(records: &[Entry]) -> Vec<u8> {
        #[derive(Serialize)]
        struct Out<'a> {
            schema_version: u32,
            epoch: &'a [u8],
            records: &'a [Entry],
        }
        postcard::to_stdvec(&Out {
            schema_version: SNAPSHOT_VERSION,
            epoch: b"epoch",
            records,
        })
        .unwrap()
    }

    #[test]
    fn a_snapshot_in_record_order_is_read_and_any_other_is_refused() {
        let mut records: Vec<Entry> = (1..6).map(branched).collect();
        records.sort_by_key(|e| e.record_id);
        for e in &mut records {
            e.recompute_heads();
        }
        let (index, epoch) = Index::from_snapshot(&encoded(&records)).unwrap();
        assert_eq!(epoch, b"epoch");
        assert_eq!(index.entries().count(), 5);
        for e in &records {
            let got = index.records.get(&e.record_id).unwrap();
            assert_eq!(got.versions.len(), e.versions.len());
            assert_eq!(
                got.head().id,
                e.versions.iter().max_by_key(|v| v.hlc).unwrap().id
            );
            for v in &e.versions {
                assert_eq!(index.owner.get(&v.id), Some(&e.record_id));
            }
        }
        assert_eq!(
            &index.to_snapshot(b"epoch").unwrap()[..],
            &encoded(&records)[..]
        );
        // Out of order, or a record twice: not a snapshot this wrote.
        let mut swapped = records.clone();
        swapped.swap(1, 3);
        assert!(Index::from_snapshot(&encoded(&swapped)).is_none());
        let mut twice = records.clone();
        twice.insert(2, records[2].clone());
        assert!(Index::from_snapshot(&encoded(&twice)).is_none());
        // Two records claiming one version.
        let mut shared = records.clone();
        shared[4].versions[0].id = shared[0].versions[0].id;
        assert!(Index::from_snapshot(&encoded(&shared)).is_none());
    }

    #[test]
    fn heads_are_the_versions_no_other_names_few_or_many() {
        for n in [1, 2, 3, 16, 17, 40] {
            let mut e = branched(n);
            e.recompute_heads();
            let ids: Vec<Uuid> = e.versions.iter().map(|v| v.id).collect();
            let expected = match n {
                1 | 2 => vec![ids[n - 1]],
                _ => vec![ids[n - 2], ids[n - 1]],
            };
            assert_eq!(e.heads, expected, "{n} versions");
            assert_eq!(e.head().id, ids[n - 1]);
        }
        // Versions that all name each other (a ring) leave no head, few or many.
        for n in [3, 20] {
            let mut e = branched(n);
            let ids: Vec<Uuid> = e.versions.iter().map(|v| v.id).collect();
            for (i, v) in e.versions.iter_mut().enumerate() {
                v.parents = vec![ids[(i + 1) % n]];
            }
            e.recompute_heads();
            assert!(e.heads.is_empty(), "{n} versions");
        }
    }
}
