//! Every sled call of the project lives here.
//!
//! sled 0.34 is the last release and is no longer maintained; keeping it behind this
//! small interface means the rest of the code never sees it and it can be replaced.
//!
//! The store only ever holds ciphertext: the `versions` tree maps a version's random
//! UUID to its age ciphertext, or, for the versions of a large commit, to where that
//! ciphertext lies in a value file beside sled's (see [`crate::values`]); the `custody`
//! tree holds each evidence item's chain of custody (evidence id + entry number → sealed
//! entry); the `meta` tree holds a few small named, encrypted values (keyring, version
//! chain, settings); the `snapshots` tree the two large ones, the index snapshot and the
//! key cache (see [`SNAPSHOTS`]).
//!
//! Forgetting: sled 0.34 never overwrites the log space a removed value freed, so after
//! travel mode the database is rewritten ([`Store::rewrite`]): its trees are copied into
//! a fresh database beside it (`db.new`), the values of its value files taken back into
//! it, and it takes the old one's place; the old one, value files and all, is
//! overwritten and removed. A crash at any point leaves either database whole, and the
//! next open finishes the job (see [`recover`]).
//!
//! Durability: sled's `flush()` writes the log with `sync_file_range`, which does not
//! flush the drive's cache (sled issues #1351, #1452). A write is acknowledged only after
//! `flush()` *and* an `fsync` of every file of the database.
//!
//! The journal: a small commit (a record saved, a sync mark) is first appended to a
//! journal of its own (`db/journal`, see [`crate::journal`]) and fsynced — one short
//! sequential write, acknowledged then — and applied to sled in memory; sled's flush and
//! the fsync of its files come at a checkpoint: when the journal holds
//! [`CHECKPOINT_AFTER`] bytes, before and after any other write, and when the store
//! closes. An open replays the journal into sled before anything reads it. After a
//! bulk write sled's flush costs milliseconds (it writes out pages the bulk left), so
//! without the journal every single save after it paid that (505 durable saves a
//! second on plain sled after 100k values, 3,797 through a journal).
//!
//! Settling: sled 0.34 writes its page-table snapshot only when a database opens, and an
//! open replays, record by record, all the log written since the last one. After a
//! session that wrote much (an import, 100k records: ~400 ms), that replay would fall on
//! the next unlock. So a store that wrote more than [`SETTLE_AFTER`] bytes is opened once
//! more when it closes ([`settle`]), and the next unlock finds a current snapshot. The
//! database holds only ciphertext, so this needs no key and runs after the vault's keys
//! are gone.

use std::collections::HashSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use uuid::Uuid;

use crate::error::{is_disk_full, Error, Result};
use crate::journal::{Journal, Op};
use crate::values::{self, Pointer, Values};

const VERSIONS: &str = "versions";
const META: &str = "meta";
const CUSTODY: &str = "custody";
const SYNCED: &str = "synced";
const SYNCED_BLOBS: &str = "synced_blobs";
/// The version epoch's own tree (see [`Store::version_epoch`]). Not in `meta`: the epoch
/// changes at every commit, and each change appends to the sled page that holds it;
/// when sled consolidates that page it rewrites it whole, and in `meta` that page also
/// holds the index snapshot and the key cache (megabytes, stored as separate blob files
/// that must be fsynced). At 100k records that made a single save cost ~9 ms.
const EPOCH: &str = "epoch";
/// The key of the version epoch (in `EPOCH`; in `meta` before it had its own tree).
const EPOCH_KEY: &str = "version_epoch";
/// The tree of the named values that grow with the vault: the record index's snapshot
/// and the key cache (megabytes at 100k records), written together and rarely. In `meta`
/// before: a sled page is rewritten whole when sled consolidates it, and `meta` also
/// holds the version chain, written at every commit — so every few commits rewrote
/// those megabytes (15 ms per single save at 100k records instead of ~2). A vault whose
/// `meta` still holds them has them moved at open.
const SNAPSHOTS: &str = "snapshots";
/// The names of the values kept in [`SNAPSHOTS`]; every other name is in `meta`.
const SNAPSHOT_KEYS: [&str; 2] = ["index", "keycache"];
/// Where, in `meta`, the database says how it is laid out (a big-endian `u32`; absent:
/// layout 1). A build refuses a database laid out by a newer one.
const LAYOUT_KEY: &str = "store_layout";
/// The layout this build writes. 1: everything named in `meta`. 2: the large named
/// values in [`SNAPSHOTS`]. 3: a write journal (`db/journal`) may hold acknowledged
/// commits sled has not written yet — a build of before would not replay them, so it
/// must refuse the database. 4: a version's stored value may be a pointer into a value
/// file (`db/values`, see [`crate::values`]), which a build of before would read as a
/// damaged ciphertext.
pub const LAYOUT: u32 = 4;
/// Commits up to this size go through the journal; larger ones (a bulk write, the
/// snapshots) are written to sled and made durable directly.
const JOURNAL_COMMIT_MAX: u64 = 1 << 20;
/// Journal bytes after which a commit checkpoints (sled flushed and fsynced, the
/// journal emptied): what the next open would replay at most.
pub const CHECKPOINT_AFTER: u64 = 8 << 20;
/// Bytes written in one session after which the database is settled at close (see the
/// module's notes): below it, the replay at the next open costs less than a settle.
pub const SETTLE_AFTER: u64 = 16 << 20;

/// The encrypted key–value store of a vault.
pub struct Store {
    /// Always `Some` until dropped (see `Drop`).
    sled: Option<Sled>,
    dir: PathBuf,
    /// Files already fsynced once (sled never rewrites them in place).
    synced: Mutex<HashSet<PathBuf>>,
    /// Free space kept in reserve (bytes).
    reserve: u64,
    /// Set when a write failed: sled may hold in memory what is not on disk, so nothing
    /// more is written or read until the store is reopened.
    failed: AtomicBool,
    /// Bytes written to sled's log since the database opened (about: values and keys,
    /// not the snapshots), which its next open would replay.
    written: AtomicU64,
    /// Small commits, durable before sled writes them (see the module's notes). Held
    /// by every write, so that a checkpoint never empties it under a commit.
    journal: Mutex<Journal>,
    /// True when the next change to the versions must replace the version epoch: at
    /// open, and whenever the epoch was read (a snapshot saved at it). A run of saves
    /// with no read between them shares one new epoch (see [`Store::version_epoch`]).
    epoch_due: AtomicBool,
    /// The ciphertexts of large commits (see [`crate::values`]).
    values: Values,
}

struct Sled {
    db: sled::Db,
    versions: sled::Tree,
    meta: sled::Tree,
    custody: sled::Tree,
    /// Version ids the hub holds (pushed and confirmed, or pulled from it).
    synced: sled::Tree,
    /// Evidence file ids the hub holds completely.
    synced_blobs: sled::Tree,
    /// The version epoch alone.
    epoch: sled::Tree,
    /// The large named values (see [`SNAPSHOTS`]).
    snapshots: sled::Tree,
}

impl Sled {
    /// The tree that holds the named value `key`.
    fn named(&self, key: &str) -> &sled::Tree {
        if SNAPSHOT_KEYS.contains(&key) {
            &self.snapshots
        } else {
            &self.meta
        }
    }
}

/// One write in a batch.
pub enum Write {
    /// Adds a version's ciphertext under its id.
    Version(Uuid, Vec<u8>),
    /// Sets a named meta value.
    Meta(&'static str, Vec<u8>),
    /// Appends an entry to an evidence item's chain of custody (never replaces one).
    Custody(Uuid, u32, Vec<u8>),
    /// Notes that the hub holds a version.
    Synced(Uuid),
    /// Notes that the hub holds an evidence file.
    SyncedBlob(Uuid),
    /// Forgets that the hub holds a version: it lost it, and the next push sends it again.
    Unsynced(Uuid),
    /// Forgets that the hub holds an evidence file: it is uploaded again.
    UnsyncedBlob(Uuid),
}

fn custody_key(evidence: Uuid, seq: u32) -> [u8; 20] {
    let mut k = [0u8; 20];
    k[..16].copy_from_slice(evidence.as_bytes());
    k[16..].copy_from_slice(&seq.to_be_bytes());
    k
}

impl Store {
    /// Opens (or creates) the database in `dir`. Writes are refused (as a full disk)
    /// while less than `reserve` bytes plus twice the batch would stay free.
    pub fn open(dir: &Path, reserve: u64) -> Result<Store> {
        if failed_dirs().contains(&canonical(dir)) {
            return Err(Error::StoreFailed);
        }
        recover(dir)?;
        let mut store = Self::open_only(dir, reserve)?;
        if sibling(dir, REWRITE).exists() {
            // A rewrite was cut short: done again now. Failing (a full disk), the vault
            // opens all the same and tries at the next open — unless the database could
            // not even be opened again.
            if let Err(e) = store.rewrite() {
                if store.sled.is_none() {
                    return Err(e);
                }
            }
        }
        Ok(store)
    }

    fn open_only(dir: &Path, reserve: u64) -> Result<Store> {
        let db = config(dir)
            .flush_every_ms(Some(1000))
            .open()
            .map_err(|e| from_sled("opening the database", e))?;
        // A database refused here (laid out by a newer build, damaged) is closed before
        // the error is returned, and sled's threads have let go of it: trying again at
        // once finds the real error again, not "open elsewhere".
        let sled = Self::prepare(db).inspect_err(|_| wait_released(dir))?;
        let (journal, commits) = match Journal::open(dir) {
            Ok(opened) => opened,
            Err(e) => {
                drop(sled);
                wait_released(dir);
                return Err(e);
            }
        };
        let store = Store {
            sled: Some(sled),
            dir: dir.to_owned(),
            reserve,
            synced: Mutex::default(),
            failed: AtomicBool::new(false),
            written: AtomicU64::new(0),
            journal: Mutex::new(journal),
            epoch_due: AtomicBool::new(true),
            values: Values::new(dir),
        };
        if !commits.is_empty() {
            // What was acknowledged through the journal goes into sled, in order, and
            // sled is made durable before the journal is emptied.
            for op in commits.iter().flatten() {
                store.apply(op).map_err(|e| store.fail(e))?;
            }
            store.sync()?;
        }
        let pending = store.values.pending();
        if !pending.is_empty() {
            // A large commit was cut off by a crash: its value file stays if sled points
            // into it, and goes if not (its commit was never acknowledged).
            let mut referenced = HashSet::new();
            for v in store.sled().versions.iter().values() {
                let v = v.map_err(|e| from_sled("opening the database", e))?;
                if let Some(p) = Pointer::decode(&v).filter(|p| pending.contains(&p.file)) {
                    referenced.insert(p.file);
                }
            }
            store.values.finish_pending(&referenced);
        }
        Ok(store)
    }

    /// Opens the trees of `db` and brings it to [`LAYOUT`]; on an error, `db` is closed.
    fn prepare(db: sled::Db) -> Result<Sled> {
        let versions = db
            .open_tree(VERSIONS)
            .map_err(|e| from_sled("opening the database", e))?;
        let meta = db
            .open_tree(META)
            .map_err(|e| from_sled("opening the database", e))?;
        let custody = db
            .open_tree(CUSTODY)
            .map_err(|e| from_sled("opening the database", e))?;
        let synced = db
            .open_tree(SYNCED)
            .map_err(|e| from_sled("opening the database", e))?;
        let synced_blobs = db
            .open_tree(SYNCED_BLOBS)
            .map_err(|e| from_sled("opening the database", e))?;
        let epoch = db
            .open_tree(EPOCH)
            .map_err(|e| from_sled("opening the database", e))?;
        let snapshots = db
            .open_tree(SNAPSHOTS)
            .map_err(|e| from_sled("opening the database", e))?;
        upgrade_layout(&meta, &snapshots)?;
        // An epoch kept in `meta` by an earlier version is dropped: no snapshot matches
        // the new tree's (absent) epoch, so the next unlock reads the versions once.
        if meta
            .contains_key(EPOCH_KEY)
            .map_err(|e| from_sled("opening the database", e))?
        {
            meta.remove(EPOCH_KEY)
                .map_err(|e| from_sled("opening the database", e))?;
        }
        Ok(Sled {
            db,
            versions,
            meta,
            custody,
            synced,
            synced_blobs,
            epoch,
            snapshots,
        })
    }

    /// True when this session wrote enough that the database should be settled once it
    /// is closed (see [`settle`]).
    pub fn settle_due(&self) -> bool {
        !self.failed.load(Ordering::SeqCst) && self.written.load(Ordering::Relaxed) >= SETTLE_AFTER
    }

    fn sled(&self) -> &Sled {
        self.sled.as_ref().expect("the store is open until dropped")
    }

    fn check(&self) -> Result<()> {
        if self.failed.load(Ordering::SeqCst) {
            Err(Error::StoreFailed)
        } else {
            Ok(())
        }
    }

    fn fail(&self, e: Error) -> Error {
        self.failed.store(true, Ordering::SeqCst);
        e
    }

    /// Applies all writes atomically, then makes them durable. Returns only once they are
    /// on disk. On error nothing is acknowledged and the store refuses further use.
    pub fn commit(&self, writes: Vec<Write>) -> Result<()> {
        self.check()?;
        // sled 0.34 does not recover from a failed write in the same process (its flush
        // can block forever afterwards), so a write that might not fit is refused
        // before sled sees it, and the vault stays usable once space is freed.
        let bytes: u64 = writes
            .iter()
            .map(|w| match w {
                Write::Version(_, v) | Write::Meta(_, v) | Write::Custody(_, _, v) => {
                    v.len() as u64 + 64
                }
                Write::Synced(_)
                | Write::SyncedBlob(_)
                | Write::Unsynced(_)
                | Write::UnsyncedBlob(_) => 64,
            })
            .sum();
        if self.reserve > 0 {
            let free = fs4::available_space(&self.dir)
                .map_err(|e| Error::io("checking free disk space", e))?;
            if free < self.reserve + 2 * bytes {
                return Err(Error::DiskFull);
            }
        }
        // What the next open would replay: the snapshots are large but written rarely,
        // and sled keeps values that large in files of their own, not in its log; nor
        // does it log the ciphertexts of a large commit (a value file holds them).
        let to_values = bytes > JOURNAL_COMMIT_MAX && values_file_takes(&writes);
        let logged: u64 = writes
            .iter()
            .map(|w| match w {
                Write::Meta(key, _) if SNAPSHOT_KEYS.contains(key) => 0,
                Write::Version(..) if to_values => 64,
                Write::Version(_, v) | Write::Meta(_, v) | Write::Custody(_, _, v) => {
                    v.len() as u64 + 64
                }
                _ => 64,
            })
            .sum();
        self.written.fetch_add(logged, Ordering::Relaxed);
        let mut journal = self.journal.lock().unwrap_or_else(|p| p.into_inner());
        let snapshot = writes
            .iter()
            .any(|w| matches!(w, Write::Meta(key, _) if SNAPSHOT_KEYS.contains(key)));
        if bytes <= JOURNAL_COMMIT_MAX && !snapshot {
            return self.commit_journaled(&mut journal, &writes);
        }
        // Written directly: what the journal holds goes into sled first, so that a
        // replay never lands on top of this commit.
        self.empty(&mut journal)?;
        let mut versions: Vec<(Uuid, Vec<u8>)> = Vec::new();
        let mut meta: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut snapshots: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut custody = Vec::new();
        let mut synced: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut synced_blobs: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut unsynced = sled::Batch::default();
        let mut unsynced_blobs = sled::Batch::default();
        let mut forgets = false;
        let mut value_file = None;
        for w in writes {
            match w {
                Write::Version(id, ct) => versions.push((id, ct)),
                Write::Meta(key, value) if SNAPSHOT_KEYS.contains(&key) => {
                    snapshots.push((key.as_bytes().to_vec(), value))
                }
                Write::Meta(key, value) => meta.push((key.as_bytes().to_vec(), value)),
                Write::Custody(evidence, seq, entry) => custody.push((evidence, seq, entry)),
                Write::Synced(id) => synced.push((id.as_bytes().to_vec(), Vec::new())),
                Write::SyncedBlob(id) => synced_blobs.push((id.as_bytes().to_vec(), Vec::new())),
                Write::Unsynced(id) => {
                    unsynced.remove(id.as_bytes());
                    forgets = true;
                }
                Write::UnsyncedBlob(id) => {
                    unsynced_blobs.remove(id.as_bytes());
                    forgets = true;
                }
            }
        }
        if !custody.is_empty() {
            // A custody entry and the versions written with it (an evidence record and
            // its "imported" entry) land together or not at all; an entry that exists
            // already is never replaced.
            use sled::transaction::{ConflictableTransactionError, TransactionError};
            use sled::Transactional;
            let _ = self.new_version_epoch()?;
            let sled = self.sled();
            let result = (&sled.versions, &sled.custody).transaction(|(tv, tc)| {
                for (id, ct) in &versions {
                    tv.insert(id.as_bytes(), ct.as_slice())?;
                }
                for (evidence, seq, entry) in &custody {
                    let key = custody_key(*evidence, *seq);
                    if tc.get(key)?.is_some() {
                        return Err(ConflictableTransactionError::Abort(()));
                    }
                    tc.insert(&key, entry.as_slice())?;
                }
                Ok(())
            });
            match result {
                Ok(()) => {}
                Err(TransactionError::Abort(())) => {
                    return Err(Error::Invalid(
                        "that custody entry exists already; the log is append-only".into(),
                    ))
                }
                Err(TransactionError::Storage(e)) => return Err(self.fail(from_sled("saving", e))),
            }
            versions.clear();
        }
        // Versions first, then meta: a meta value (the index snapshot) may name versions,
        // never the other way round, and the snapshot is only a cache.
        if !versions.is_empty() {
            // A large commit's ciphertexts go to a value file of their own, durable before
            // sled holds a pointer to any of them (see `crate::values`).
            let items: Vec<(Vec<u8>, Vec<u8>)> = if to_values {
                let cts: Vec<&[u8]> = versions.iter().map(|(_, ct)| ct.as_slice()).collect();
                let pointers = self.values.write(&cts)?;
                value_file = pointers.first().map(|p| p.file);
                versions
                    .iter()
                    .zip(&pointers)
                    .map(|((id, _), p)| (id.as_bytes().to_vec(), p.encode()))
                    .collect()
            } else {
                versions
                    .into_iter()
                    .map(|(id, ct)| (id.as_bytes().to_vec(), ct))
                    .collect()
            };
            let _ = self.new_version_epoch()?;
            self.put(&self.sled().versions, items)?;
        }
        // Then the sync marks: a mark never names a version that is not stored.
        self.put(&self.sled().synced, synced)?;
        self.put(&self.sled().synced_blobs, synced_blobs)?;
        if forgets {
            self.sled()
                .synced
                .apply_batch(unsynced)
                .and_then(|()| self.sled().synced_blobs.apply_batch(unsynced_blobs))
                .map_err(|e| self.fail(from_sled("saving", e)))?;
        }
        self.put(&self.sled().snapshots, snapshots)?;
        self.put(&self.sled().meta, meta)?;
        self.checkpoint(&mut journal)?;
        if let Some(file) = value_file {
            self.values.settle(file);
        }
        Ok(())
    }

    /// A small commit: appended to the journal (durable once that returns), then applied
    /// to sled in memory, in the order the direct path writes — a new epoch, versions
    /// and custody entries, sync marks, named values.
    fn commit_journaled(&self, journal: &mut Journal, writes: &[Write]) -> Result<()> {
        let mut ops = Vec::with_capacity(writes.len() + 1);
        let insert = |tree: &str, key: &[u8], value: &[u8]| Op::Insert {
            tree: tree.to_owned(),
            key: key.to_vec(),
            value: value.to_vec(),
        };
        // A new epoch only for the first change since the epoch was last read: what a
        // snapshot saved then holds is out of date from that change on, and every later
        // change before the next read is out of date with it (the journal's records
        // replay in order, so a change never survives without the epoch before it).
        let changes_versions = writes
            .iter()
            .any(|w| matches!(w, Write::Version(..) | Write::Custody(..)));
        let new_epoch = changes_versions && self.epoch_due.swap(false, Ordering::AcqRel);
        if new_epoch {
            let epoch = crate::crypto::random_bytes::<16>();
            ops.push(insert(EPOCH, EPOCH_KEY.as_bytes(), &epoch[..]));
        }
        for w in writes {
            if let Write::Version(id, ct) = w {
                ops.push(insert(VERSIONS, id.as_bytes(), ct));
            }
        }
        let mut keys = HashSet::new();
        for w in writes {
            if let Write::Custody(evidence, seq, entry) = w {
                let key = custody_key(*evidence, *seq);
                let exists = self
                    .sled()
                    .custody
                    .contains_key(key)
                    .map_err(|e| from_sled("reading", e))?;
                if exists || !keys.insert(key) {
                    return Err(Error::Invalid(
                        "that custody entry exists already; the log is append-only".into(),
                    ));
                }
                ops.push(insert(CUSTODY, &key, entry));
            }
        }
        for w in writes {
            let remove = |tree: &str, id: &Uuid| Op::Remove {
                tree: tree.to_owned(),
                key: id.as_bytes().to_vec(),
            };
            match w {
                Write::Synced(id) => ops.push(insert(SYNCED, id.as_bytes(), &[])),
                Write::SyncedBlob(id) => ops.push(insert(SYNCED_BLOBS, id.as_bytes(), &[])),
                Write::Unsynced(id) => ops.push(remove(SYNCED, id)),
                Write::UnsyncedBlob(id) => ops.push(remove(SYNCED_BLOBS, id)),
                _ => {}
            }
        }
        for w in writes {
            if let Write::Meta(key, value) = w {
                ops.push(insert(META, key.as_bytes(), value));
            }
        }
        if let Err(e) = journal.append(&ops) {
            // Nothing reached sled, and the record was cut back; but a disk that could
            // not take a record is not trusted with the next one either — as after any
            // failed write, the store takes no more until it is reopened (and a reopened
            // store replaces the epoch at its first change anyway).
            return Err(self.fail(e));
        }
        for op in &ops {
            self.apply(op).map_err(|e| self.fail(e))?;
        }
        if journal.held() >= CHECKPOINT_AFTER {
            self.checkpoint(journal)?;
        }
        Ok(())
    }

    /// Applies one journalled change to sled (in memory).
    fn apply(&self, op: &Op) -> Result<()> {
        let sled = self.sled();
        let tree = |name: &str| match name {
            VERSIONS => Ok(&sled.versions),
            META => Ok(&sled.meta),
            CUSTODY => Ok(&sled.custody),
            SYNCED => Ok(&sled.synced),
            SYNCED_BLOBS => Ok(&sled.synced_blobs),
            EPOCH => Ok(&sled.epoch),
            SNAPSHOTS => Ok(&sled.snapshots),
            _ => Err(Error::Database(
                "the write journal names a part of the database this build does not know".into(),
            )),
        };
        match op {
            Op::Insert {
                tree: t,
                key,
                value,
            } => tree(t)?
                .insert(key.as_slice(), value.as_slice())
                .map(|_| ()),
            Op::Remove { tree: t, key } => tree(t)?.remove(key.as_slice()).map(|_| ()),
        }
        .map_err(|e| from_sled("saving", e))
    }

    /// Makes sled durable (its flush, then an fsync of its files), then empties the
    /// journal: everything it held is in sled's files now.
    fn checkpoint(&self, journal: &mut Journal) -> Result<()> {
        self.check()?;
        self.sled()
            .db
            .flush()
            .map_err(|e| self.fail(from_sled("saving", e)))?;
        let mut known = self.synced.lock().unwrap_or_else(|p| p.into_inner());
        sync_files(&self.dir, &mut known).map_err(|e| self.fail(Error::io("saving to disk", e)))?;
        journal.reset().map_err(|e| self.fail(e))
    }

    /// Writes key-value pairs to one tree, all or none. A single pair is a plain insert:
    /// a sled batch seals its log buffer, so it costs one more write and wait at the
    /// next flush (three instead of one for a record saved on its own).
    fn put(&self, tree: &sled::Tree, items: Vec<(Vec<u8>, Vec<u8>)>) -> Result<()> {
        let result = match items.len() {
            0 => return Ok(()),
            1 => {
                let (k, v) = items.into_iter().next().expect("one item");
                tree.insert(k, v).map(|_| ())
            }
            _ => {
                let mut batch = sled::Batch::default();
                for (k, v) in items {
                    batch.insert(k, v);
                }
                tree.apply_batch(batch)
            }
        };
        result.map_err(|e| self.fail(from_sled("saving", e)))
    }

    fn wait_released(&self) {
        wait_released(&self.dir);
    }

    /// Rewrites the database into a fresh one that holds only what this one holds now,
    /// so that nothing removed from it survives in its files (see the module's notes).
    /// The store stays open; on an error it holds what it held, and the rewrite is done
    /// again at the next open.
    pub fn rewrite(&mut self) -> Result<()> {
        self.check()?;
        self.sync()?;
        let marker = sibling(&self.dir, REWRITE);
        File::create(&marker)
            .and_then(|f| f.sync_all())
            .and_then(|()| sync_parent(&self.dir))
            .map_err(|e| Error::io("rewriting the database", e))?;
        // Room for a second copy beside the first.
        let size = dir_size(&self.dir);
        let parent = self.dir.parent().unwrap_or(Path::new("."));
        let free =
            fs4::available_space(parent).map_err(|e| Error::io("checking free disk space", e))?;
        if free < self.reserve + size + (1 << 20) {
            return Err(Error::DiskFull);
        }
        drop(self.sled.take());
        // The value files go with the old database (their values into the fresh one):
        // no handle of this store keeps them open.
        self.values = Values::new(&self.dir);
        self.wait_released();
        let result = rewrite_dir(&self.dir, None);
        let reopened = recover(&self.dir).and_then(|()| Self::open_only(&self.dir, self.reserve));
        match reopened {
            Ok(mut fresh) => {
                self.sled = fresh.sled.take();
                std::mem::swap(
                    self.journal.get_mut().unwrap_or_else(|p| p.into_inner()),
                    fresh.journal.get_mut().unwrap_or_else(|p| p.into_inner()),
                );
                self.synced
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clear();
            }
            Err(e) => return Err(self.fail(e)),
        }
        result
    }

    /// Flushes sled's log and fsyncs every database file.
    pub fn sync(&self) -> Result<()> {
        self.check()?;
        let mut journal = self.journal.lock().unwrap_or_else(|p| p.into_inner());
        self.checkpoint(&mut journal)
    }

    /// The ciphertext of a version, if stored.
    pub fn version(&self, id: Uuid) -> Result<Option<Vec<u8>>> {
        self.check()?;
        let stored = self
            .sled()
            .versions
            .get(id.as_bytes())
            .map_err(|e| from_sled("reading", e))?;
        match stored {
            None => Ok(None),
            Some(v) => self.resolve(&v),
        }
    }

    /// A stored value's ciphertext: the value itself, or what its pointer names (`None`
    /// when that is not there: damage, reported as for a missing version).
    fn resolve(&self, stored: &[u8]) -> Result<Option<Vec<u8>>> {
        match Pointer::decode(stored) {
            Some(p) => self.values.read(p),
            None => Ok(Some(stored.to_vec())),
        }
    }

    /// True when a version with this id is stored.
    pub fn has_version(&self, id: Uuid) -> Result<bool> {
        self.check()?;
        self.sled()
            .versions
            .contains_key(id.as_bytes())
            .map_err(|e| from_sled("reading", e))
    }

    /// Every stored version id (reads keys only, decrypts nothing).
    pub fn version_ids(&self) -> Result<Vec<Uuid>> {
        self.check()?;
        let mut ids = Vec::new();
        for key in self.sled().versions.iter().keys() {
            let key = key.map_err(|e| from_sled("reading", e))?;
            match Uuid::from_slice(&key) {
                Ok(id) => ids.push(id),
                Err(_) => return Err(Error::Database("a stored key is not a version id".into())),
            }
        }
        Ok(ids)
    }

    /// Every stored version, id and ciphertext, in key order.
    pub fn versions(&self) -> impl Iterator<Item = Result<(Uuid, Vec<u8>)>> + '_ {
        // None after a rewrite whose reopening failed (the store has failed then).
        let tree = self.sled.as_ref().map(|s| s.versions.iter());
        tree.into_iter().flatten().map(|kv| {
            let (k, v) = kv.map_err(|e| from_sled("reading", e))?;
            let id = Uuid::from_slice(&k)
                .map_err(|_| Error::Database("a stored key is not a version id".into()))?;
            // A pointer to nothing reads as an empty ciphertext: that version is damaged.
            Ok((id, self.resolve(&v)?.unwrap_or_default()))
        })
    }

    /// Ids of stored versions the hub does not hold yet, in key order.
    pub fn unsynced_versions(&self) -> Result<Vec<Uuid>> {
        self.check()?;
        let sled = self.sled();
        let mut out = Vec::new();
        for key in sled.versions.iter().keys() {
            let key = key.map_err(|e| from_sled("reading", e))?;
            if !sled
                .synced
                .contains_key(&key)
                .map_err(|e| from_sled("reading", e))?
            {
                if let Ok(id) = Uuid::from_slice(&key) {
                    out.push(id);
                }
            }
        }
        Ok(out)
    }

    /// Ids of stored versions the hub was seen to hold, in key order.
    pub fn synced_versions(&self) -> Result<Vec<Uuid>> {
        self.check()?;
        let sled = self.sled();
        let mut out = Vec::new();
        for key in sled.synced.iter().keys() {
            let key = key.map_err(|e| from_sled("reading", e))?;
            if sled
                .versions
                .contains_key(&key)
                .map_err(|e| from_sled("reading", e))?
            {
                if let Ok(id) = Uuid::from_slice(&key) {
                    out.push(id);
                }
            }
        }
        Ok(out)
    }

    /// True when the hub holds this version.
    pub fn is_synced(&self, id: Uuid) -> Result<bool> {
        self.check()?;
        self.sled()
            .synced
            .contains_key(id.as_bytes())
            .map_err(|e| from_sled("reading", e))
    }

    /// Removes versions (and their sync marks), the chains of custody of the given
    /// records, and the marks of the given evidence files, durably. Travel mode only: the
    /// hub holds every one of them. What they took stays in the database's files until
    /// [`Store::rewrite`].
    pub fn remove_versions(&self, ids: &[Uuid], records: &[Uuid], blobs: &[Uuid]) -> Result<()> {
        self.check()?;
        let mut journal = self.journal_emptied()?;
        let _ = self.new_version_epoch()?;
        let mut versions = sled::Batch::default();
        let mut synced = sled::Batch::default();
        for id in ids {
            versions.remove(id.as_bytes());
            synced.remove(id.as_bytes());
        }
        let mut custody = sled::Batch::default();
        for r in records {
            for key in self.sled().custody.scan_prefix(r.as_bytes()).keys() {
                custody.remove(key.map_err(|e| from_sled("reading", e))?);
            }
        }
        let mut synced_blobs = sled::Batch::default();
        for b in blobs {
            synced_blobs.remove(b.as_bytes());
        }
        let sled = self.sled();
        sled.versions
            .apply_batch(versions)
            .and_then(|()| sled.synced.apply_batch(synced))
            .and_then(|()| sled.custody.apply_batch(custody))
            .and_then(|()| sled.synced_blobs.apply_batch(synced_blobs))
            .map_err(|e| self.fail(from_sled("saving", e)))?;
        self.checkpoint(&mut journal)
    }

    /// The journal, emptied into sled first when it holds anything: a write that does
    /// not go through it holds it until that write is durable, so that a replay never
    /// lands on top of that write.
    fn journal_emptied(&self) -> Result<std::sync::MutexGuard<'_, Journal>> {
        let mut journal = self.journal.lock().unwrap_or_else(|p| p.into_inner());
        self.empty(&mut journal)?;
        Ok(journal)
    }

    /// A checkpoint, when the journal holds anything.
    fn empty(&self, journal: &mut Journal) -> Result<()> {
        if journal.held() > 0 {
            self.checkpoint(journal)?;
        }
        Ok(())
    }

    /// A random value replaced before a change to the stored versions (written first:
    /// sled recovers a prefix of its log, and the journal replays whole commits in
    /// order, so a change that survived a crash always comes with a new epoch). A cache
    /// saved at the current epoch (the index snapshot) matches the versions without
    /// reading them.
    ///
    /// Reading it makes the next change replace it: a cache saved at the epoch read
    /// lacks that change. Taken under the journal's lock, so that the read falls wholly
    /// before or after a commit; a run of saves with no read between them (a record
    /// saved at a time) writes one new epoch, not one each.
    pub fn version_epoch(&self) -> Result<Option<Vec<u8>>> {
        self.check()?;
        let _journal = self.journal.lock().unwrap_or_else(|p| p.into_inner());
        self.epoch_due.store(true, Ordering::Release);
        self.sled()
            .epoch
            .get(EPOCH_KEY.as_bytes())
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(|e| from_sled("reading", e))
    }

    /// Replaces the version epoch; returns the new one.
    pub(crate) fn new_version_epoch(&self) -> Result<Vec<u8>> {
        let epoch = crate::crypto::random_bytes::<16>();
        self.sled()
            .epoch
            .insert(EPOCH_KEY.as_bytes(), &epoch[..])
            .map_err(|e| self.fail(from_sled("saving", e)))?;
        Ok(epoch.to_vec())
    }

    /// True when the hub holds this evidence file.
    pub fn blob_synced(&self, blob: Uuid) -> Result<bool> {
        self.check()?;
        self.sled()
            .synced_blobs
            .contains_key(blob.as_bytes())
            .map_err(|e| from_sled("reading", e))
    }

    /// Number of stored versions.
    pub fn version_count(&self) -> usize {
        self.sled.as_ref().map_or(0, |s| s.versions.len())
    }

    /// An evidence item's custody entries, in order: (entry number, sealed entry).
    pub fn custody(&self, evidence: Uuid) -> Result<Vec<(u32, Vec<u8>)>> {
        self.check()?;
        let mut out = Vec::new();
        for kv in self.sled().custody.scan_prefix(evidence.as_bytes()) {
            let (k, v) = kv.map_err(|e| from_sled("reading", e))?;
            let seq = k
                .get(16..20)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(u32::from_be_bytes)
                .ok_or_else(|| Error::Database("a custody key is malformed".into()))?;
            out.push((seq, v.to_vec()));
        }
        Ok(out)
    }

    /// Replaces or removes a stored custody entry. For tests that play an attacker with
    /// write access to the disk; the vault never calls it.
    #[doc(hidden)]
    pub fn tamper_custody(&self, evidence: Uuid, seq: u32, value: Option<Vec<u8>>) -> Result<()> {
        self.check()?;
        let mut journal = self.journal_emptied()?;
        let key = custody_key(evidence, seq);
        match value {
            Some(v) => self.sled().custody.insert(key, v).map(|_| ()),
            None => self.sled().custody.remove(key).map(|_| ()),
        }
        .map_err(|e| from_sled("saving", e))?;
        self.checkpoint(&mut journal)
    }

    /// A named meta value.
    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.check()?;
        self.sled()
            .named(key)
            .get(key.as_bytes())
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(|e| from_sled("reading", e))
    }

    /// Removes a named meta value, durably.
    pub fn remove_meta(&self, key: &str) -> Result<()> {
        self.check()?;
        let mut journal = self.journal_emptied()?;
        self.sled()
            .named(key)
            .remove(key.as_bytes())
            .map_err(|e| self.fail(from_sled("saving", e)))?;
        self.checkpoint(&mut journal)
    }

    /// Bytes the database takes on disk.
    pub fn size_on_disk(&self) -> Result<u64> {
        self.check()?;
        let sled = self
            .sled()
            .db
            .size_on_disk()
            .map_err(|e| from_sled("reading", e))?;
        Ok(sled + self.values.size())
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if self.sled.is_none() {
            return;
        }
        // Closed with commits in the journal: they go into sled now (best effort — the
        // next open replays them otherwise), so that a closed vault's journal is empty.
        let held = self.journal.get_mut().map_or(0, |j| j.held());
        if held > 0 && !self.failed.load(Ordering::SeqCst) {
            let _ = self.sync();
        }
        let Some(sled) = self.sled.take() else { return };
        if self.failed.load(Ordering::SeqCst) {
            // sled 0.34 flushes a database when it is dropped, and the flush of one whose
            // write failed (a full disk) waits forever for a log that can no longer
            // become durable — while holding a read guard of sled's process-wide
            // concurrency lock, which every batch and transaction of *every* database in
            // the process takes exclusively: the next vault opened would hang at its
            // first write. So a failed database is never dropped: it stays open, idle,
            // until the process exits, and opening its folder again says to restart.
            failed_dirs().push(canonical(&self.dir));
            std::mem::forget(sled);
        } else {
            drop(sled);
            self.wait_released();
        }
    }
}

/// True when the versions of a commit written to sled directly go to a value file: at
/// least [`values::MIN_VERSIONS`] of them, and no custody entry (a version written with
/// one lands in the same sled transaction as the entry).
fn values_file_takes(writes: &[Write]) -> bool {
    let versions = writes
        .iter()
        .filter(|w| matches!(w, Write::Version(..)))
        .count();
    versions >= values::MIN_VERSIONS && !writes.iter().any(|w| matches!(w, Write::Custody(..)))
}

/// Brings a database laid out by an earlier build to [`LAYOUT`], in one transaction (a
/// crash leaves it as it was, and the next open does it again); refuses one laid out by
/// a newer build.
///
/// Layout 1 → 2 moves the large named values from `meta` to [`SNAPSHOTS`]. A value found
/// in `meta` at a later open was written there by an earlier build after the move (the
/// app was downgraded, then upgraded again): it is the later write, so it replaces the
/// one in `snapshots`. Either way they are only caches, checked when read.
fn upgrade_layout(meta: &sled::Tree, snapshots: &sled::Tree) -> Result<()> {
    use sled::transaction::{ConflictableTransactionError, TransactionError};
    use sled::Transactional;
    let err = |e| from_sled("opening the database", e);
    let stored = match meta.get(LAYOUT_KEY).map_err(err)? {
        None => 1,
        Some(v) => <[u8; 4]>::try_from(v.as_ref())
            .map(u32::from_be_bytes)
            .map_err(|_| Error::Database("the database's layout number is damaged".into()))?,
    };
    if stored > LAYOUT {
        return Err(Error::NewerFormat(stored));
    }
    let mut in_meta = false;
    for key in SNAPSHOT_KEYS {
        in_meta |= meta.contains_key(key).map_err(err)?;
    }
    if stored == LAYOUT && !in_meta {
        return Ok(());
    }
    (meta, snapshots)
        .transaction(|(m, s)| {
            for key in SNAPSHOT_KEYS {
                if let Some(value) = m.remove(key)? {
                    s.insert(key, value)?;
                }
            }
            m.insert(LAYOUT_KEY, &LAYOUT.to_be_bytes())?;
            Ok::<(), ConflictableTransactionError<()>>(())
        })
        .map_err(|e| match e {
            TransactionError::Storage(e) => err(e),
            TransactionError::Abort(()) => {
                Error::Database("upgrading the database's layout failed".into())
            }
        })
}

/// sled's settings for a vault's database (the same at every open: sled refuses a
/// database opened with a different segment size).
fn config(dir: &Path) -> sled::Config {
    sled::Config::new()
        .path(dir)
        .cache_capacity(cache_capacity())
}

/// The size of sled's page cache on this machine ([`cache_bytes`]).
pub fn cache_capacity() -> u64 {
    cache_bytes(physical_memory())
}

const MIB: u64 = 1024 * 1024;

/// The size of sled's cache of database pages — ciphertext only, filled only as far as
/// the database is read or written: a sixteenth of the machine's memory, from 64 MiB to
/// 512 MiB. sled's segment cleaner runs inline with writes and reads back whole the pages
/// it moves; with a cache smaller than what a large commit touches, it reads back pages
/// it has just evicted, again and again: one commit of 100k records (~260 MB of
/// ciphertext) took 17 s to store with 64 MiB, 2.1 s with 192 MiB, 1.9 s with 256 MiB.
/// A larger cache also serves a full read of a large vault from memory (docs/performance.md).
fn cache_bytes(memory: Option<u64>) -> u64 {
    memory.map_or(64 * MIB, |m| (m / 16).clamp(64 * MIB, 512 * MIB))
}

/// The machine's physical memory, when the system says (Linux: `MemTotal` in
/// `/proc/meminfo`).
fn physical_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    mem_total(&info)
}

/// `MemTotal` of a `/proc/meminfo` text, in bytes.
fn mem_total(info: &str) -> Option<u64> {
    let line = info.lines().find_map(|l| l.strip_prefix("MemTotal:"))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    kib.checked_mul(1024)
}

/// Opens the closed database in `dir` once and closes it again: sled replays the log
/// written since its last open and saves its page table (see the module's notes), so
/// that the next open does not. The caller holds the vault's lock. Best effort: on any
/// failure — a full disk, a database that does not open — nothing is changed and the
/// next open replays the log as it would have.
pub fn settle(dir: &Path, reserve: u64) {
    if failed_dirs().contains(&canonical(dir)) {
        return;
    }
    // The page table's snapshot is small (~0.5 MB at 100k records); the reserve stays.
    match fs4::available_space(dir) {
        Ok(free) if free >= reserve + (8 << 20) => {}
        _ => return,
    }
    if let Ok(db) = config(dir).flush_every_ms(None).open() {
        drop(db);
        wait_released(dir);
    }
}

/// Databases whose write failed in this process, left open (see `Drop for Store`).
fn failed_dirs() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    static FAILED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    FAILED.lock().unwrap_or_else(|p| p.into_inner())
}

fn canonical(dir: &Path) -> PathBuf {
    fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned())
}

/// Beside the database: the fresh copy being written, the old one being removed, and the
/// mark that a rewrite is under way.
const NEW: &str = "new";
const OLD: &str = "old";
const REWRITE: &str = "rewrite";

/// `db` → `db.<suffix>`, in the same folder.
fn sibling(db: &Path, suffix: &str) -> PathBuf {
    let name = db
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "db".into());
    db.with_file_name(format!("{name}.{suffix}"))
}

fn sync_parent(db: &Path) -> std::io::Result<()> {
    crate::durable::sync_dir(db.parent().unwrap_or(Path::new(".")))
}

/// Waits (a few seconds at most) until sled's lock on the database in `dir` is free.
/// sled's own threads can hold the database a moment after it is dropped (a log write
/// handed to its thread pool); without this, a lock followed at once by an unlock could
/// find the vault "open elsewhere". Public for the tests that write a database with sled
/// itself.
pub fn wait_released(dir: &Path) {
    let path = dir.join("db");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        let Ok(file) = File::open(&path) else { return };
        match file.try_lock() {
            // Closing the file releases the lock at once.
            Ok(()) => return,
            Err(std::fs::TryLockError::WouldBlock) => {
                std::thread::sleep(std::time::Duration::from_millis(2))
            }
            Err(_) => return,
        }
    }
}

fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// Finishes or undoes a rewrite cut short, before the database is opened:
/// - no database but a complete copy (the crash fell between the two renames; the copy
///   is renamed only once it is whole and durable): the copy becomes the database;
/// - a copy beside the database: it may be partial, and is removed;
/// - the old database beside the new one: overwritten and removed.
///
/// The mark stays: the caller rewrites again.
fn recover(db: &Path) -> Result<()> {
    let (new, old) = (sibling(db, NEW), sibling(db, OLD));
    let io = |e| Error::io("finishing an interrupted rewrite of the database", e);
    if !db.exists() {
        if new.exists() {
            fs::rename(&new, db).map_err(io)?;
        } else if old.exists() {
            fs::rename(&old, db).map_err(io)?;
        } else {
            return Ok(());
        }
        sync_parent(db).map_err(io)?;
    }
    if new.exists() {
        fs::remove_dir_all(&new).map_err(io)?;
    }
    if old.exists() {
        overwrite_all(&old);
        fs::remove_dir_all(&old).map_err(io)?;
    }
    sync_parent(db).map_err(io)
}

/// Overwrites every file under `dir` with zeros (best effort: on SSDs and journaling
/// file systems old blocks may survive; what they hold is ciphertext).
fn overwrite_all(dir: &Path) {
    use std::io::Write as _;
    let mut stack = vec![dir.to_owned()];
    let zeros = vec![0u8; 1 << 16];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(p),
                Ok(m) => {
                    if let Ok(mut f) = fs::OpenOptions::new().write(true).open(&p) {
                        let mut left = m.len();
                        while left > 0 {
                            let n = left.min(zeros.len() as u64) as usize;
                            if f.write_all(&zeros[..n]).is_err() {
                                break;
                            }
                            left -= n as u64;
                        }
                        let _ = f.sync_data();
                    }
                }
                Err(_) => {}
            }
        }
    }
}

/// Copies every tree of the (closed) database in `from` into a new database in `to`.
/// With `partial`, stops after the first tree (a crash mid-copy, for tests).
fn copy_db(from: &Path, to: &Path, partial: bool) -> Result<()> {
    let err = |e| from_sled("rewriting", e);
    let src = sled::Config::new().path(from).open().map_err(err)?;
    let dst = sled::Config::new()
        .path(to)
        .create_new(true)
        .flush_every_ms(None)
        .open()
        .map_err(err)?;
    let old_values = Values::new(from);
    let copied = (|| -> Result<()> {
        for name in src.tree_names() {
            let (a, b) = (
                src.open_tree(&name).map_err(err)?,
                dst.open_tree(&name).map_err(err)?,
            );
            let versions = name == VERSIONS.as_bytes();
            let mut batch = sled::Batch::default();
            let mut n = 0;
            for kv in a.iter() {
                let (k, v) = kv.map_err(err)?;
                // The values the old database kept in value files are copied into the
                // fresh one (the files go with the old database); a pointer to nothing
                // stays as it is, as damaged as before.
                let v = match Pointer::decode(&v).filter(|_| versions) {
                    Some(p) => old_values.read(p)?.map_or(v, sled::IVec::from),
                    None => v,
                };
                batch.insert(k, v);
                n += 1;
                if n % 1024 == 0 {
                    b.apply_batch(std::mem::take(&mut batch)).map_err(err)?;
                }
            }
            b.apply_batch(batch).map_err(err)?;
            if partial {
                break;
            }
        }
        dst.flush().map(|_| ()).map_err(err)
    })();
    drop(old_values);
    drop(src);
    if let Err(e) = copied {
        // A copy that failed to write is never dropped (see `Drop for Store`).
        std::mem::forget(dst);
        return Err(e);
    }
    drop(dst);
    wait_released(from);
    wait_released(to);
    Ok(())
}

/// The rewrite itself, on the closed database in `db` (see [`Store::rewrite`]). With
/// `stop_after`, returns after that step as if the process had died there (tests).
fn rewrite_dir(db: &Path, stop_after: Option<u8>) -> Result<()> {
    let (new, old, marker) = (sibling(db, NEW), sibling(db, OLD), sibling(db, REWRITE));
    let io = |e| Error::io("rewriting the database", e);
    let stop = |step: u8| stop_after == Some(step);
    // 0. The mark: from here on, an open finishes the rewrite.
    File::create(&marker)
        .and_then(|f| f.sync_all())
        .and_then(|()| sync_parent(db))
        .map_err(io)?;
    if stop(0) {
        return Ok(());
    }
    if new.exists() {
        fs::remove_dir_all(&new).map_err(io)?;
    }
    // 1. The copy, made durable before anything is renamed.
    if let Err(e) = copy_db(db, &new, stop(1)) {
        let _ = fs::remove_dir_all(&new);
        return Err(e);
    }
    if stop(1) {
        return Ok(());
    }
    sync_files(&new, &mut HashSet::new())
        .and_then(|()| sync_parent(db))
        .map_err(io)?;
    if stop(2) {
        return Ok(());
    }
    // 3.–4. The swap: two renames, each made durable.
    fs::rename(db, &old)
        .and_then(|()| sync_parent(db))
        .map_err(io)?;
    if stop(3) {
        return Ok(());
    }
    fs::rename(&new, db)
        .and_then(|()| sync_parent(db))
        .map_err(io)?;
    if stop(4) {
        return Ok(());
    }
    // 5. The old database: overwritten, removed.
    overwrite_all(&old);
    fs::remove_dir_all(&old)
        .and_then(|()| sync_parent(db))
        .map_err(io)?;
    if stop(5) {
        return Ok(());
    }
    fs::remove_file(&marker)
        .and_then(|()| sync_parent(db))
        .map_err(io)
}

/// Runs a rewrite of the closed database in `db` and stops after step `step` (0–5) as a
/// crash would: for tests of the recovery at the next open.
#[doc(hidden)]
pub fn rewrite_interrupted(db: &Path, step: u8) -> Result<()> {
    rewrite_dir(db, Some(step))
}

/// Makes sled's files durable: fdatasync of the log (`db`) every time, and an fsync of
/// each file sled created since the last call (its blob files are written without one)
/// together with the folder that holds it. Files sled removed meanwhile (old snapshots)
/// are skipped.
fn sync_files(dir: &Path, known: &mut HashSet<PathBuf>) -> std::io::Result<()> {
    let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
    let mut changed_dirs: Vec<PathBuf> = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d)? {
            let entry = entry?;
            let path = entry.path();
            let result = match entry.file_type() {
                Ok(ty) if ty.is_dir() => {
                    stack.push(path);
                    continue;
                }
                Ok(ty) if ty.is_file() && entry.file_name() == "db" => {
                    crate::durable::sync_file_data(&path)
                }
                Ok(ty) if ty.is_file() && !known.contains(&path) => {
                    let r = crate::durable::sync_file(&path);
                    if r.is_ok() {
                        known.insert(path);
                        if !changed_dirs.contains(&d) {
                            changed_dirs.push(d.clone());
                        }
                    }
                    r
                }
                Ok(_) => Ok(()),
                Err(e) => Err(e),
            };
            match result {
                Err(e) if !gone(&e) => return Err(e),
                _ => {}
            }
        }
    }
    for d in changed_dirs {
        crate::durable::sync_dir(&d)?;
    }
    Ok(())
}

fn from_sled(context: &str, e: sled::Error) -> Error {
    match e {
        sled::Error::Io(io) if is_disk_full(&io) => Error::DiskFull,
        sled::Error::Io(io)
            if io.kind() == std::io::ErrorKind::WouldBlock
                || io.to_string().contains("could not acquire lock") =>
        {
            Error::VaultBusy
        }
        sled::Error::Io(io) => Error::io(format!("{context} the database"), io),
        sled::Error::Corruption { .. } => {
            Error::Database(format!("{context}: the database file is corrupted"))
        }
        other => Error::Database(format!("{context}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_cache_is_a_sixteenth_of_memory_within_bounds() {
        const GIB: u64 = 1024 * MIB;
        assert_eq!(cache_bytes(None), 64 * MIB);
        assert_eq!(cache_bytes(Some(512 * MIB)), 64 * MIB);
        assert_eq!(cache_bytes(Some(2 * GIB)), 128 * MIB);
        assert_eq!(cache_bytes(Some(4 * GIB)), 256 * MIB);
        assert_eq!(cache_bytes(Some(24 * GIB)), 512 * MIB);
        let info = "MemTotal:       24542208 kB\nMemFree:         1234 kB\n";
        assert_eq!(mem_total(info), Some(24_542_208 * 1024));
        for bad in ["", "MemFree: 1 kB", "MemTotal: lots kB", "MemTotal: 5 MB"] {
            assert_eq!(mem_total(bad), None, "{bad}");
        }
        // This machine's, when it says.
        if let Some(m) = physical_memory() {
            assert!(m > 64 * MIB);
        }
    }

    #[test]
    fn commit_then_read_back_after_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let id = Uuid::new_v4();
        {
            let store = Store::open(dir.path(), 0).unwrap();
            store
                .commit(vec![
                    Write::Version(id, b"ciphertext".to_vec()),
                    Write::Meta("index", b"snapshot".to_vec()),
                ])
                .unwrap();
        }
        let store = Store::open(dir.path(), 0).unwrap();
        assert_eq!(store.version(id).unwrap().unwrap(), b"ciphertext");
        assert!(store.has_version(id).unwrap());
        assert!(!store.has_version(Uuid::new_v4()).unwrap());
        assert_eq!(store.version_ids().unwrap(), vec![id]);
        assert_eq!(store.meta("index").unwrap().unwrap(), b"snapshot");
        assert_eq!(store.meta("nothing").unwrap(), None);
        assert_eq!(store.version_count(), 1);
    }

    /// Bytes of records in the journal.
    fn journal_len(dir: &Path) -> u64 {
        crate::journal::held_in(dir)
    }

    /// A small commit is durable in the journal, not yet in sled's files; a checkpoint
    /// empties the journal; an open replays what a crash left in it, in order, before
    /// anything reads.
    #[test]
    fn small_commits_go_through_the_journal_and_an_open_replays_it() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let empty = {
            let store = Store::open(dir.path(), 0).unwrap();
            let empty = journal_len(dir.path());
            store.commit(vec![Write::Version(a, vec![1; 500])]).unwrap();
            assert!(journal_len(dir.path()) > empty + 500);
            assert_eq!(store.version(a).unwrap().unwrap(), vec![1; 500]);
            store.sync().unwrap();
            assert_eq!(journal_len(dir.path()), empty);
            store.commit(vec![Write::Synced(a)]).unwrap();
            empty
        };
        // Closed: the journal went into sled.
        assert_eq!(journal_len(dir.path()), empty);
        // What a crash leaves: commits in the journal that sled never wrote.
        {
            let (mut j, _) = Journal::open(dir.path()).unwrap();
            let insert = |tree: &str, key: &[u8], value: &[u8]| Op::Insert {
                tree: tree.into(),
                key: key.to_vec(),
                value: value.to_vec(),
            };
            j.append(&[insert(VERSIONS, b.as_bytes(), &[2; 40])])
                .unwrap();
            j.append(&[
                insert(VERSIONS, b.as_bytes(), &[3; 40]),
                Op::Remove {
                    tree: SYNCED.into(),
                    key: a.as_bytes().to_vec(),
                },
            ])
            .unwrap();
        }
        let store = Store::open(dir.path(), 0).unwrap();
        assert_eq!(store.version(b).unwrap().unwrap(), vec![3; 40]);
        assert!(!store.is_synced(a).unwrap());
        assert_eq!(journal_len(dir.path()), empty);
        drop(store);
        let store = Store::open(dir.path(), 0).unwrap();
        assert_eq!(store.version(b).unwrap().unwrap(), vec![3; 40]);
    }

    /// A journal that names a tree this build does not have is not replayed by guess:
    /// the open fails with a clear error, and the journal stays for a build that knows.
    #[test]
    fn a_journal_naming_an_unknown_tree_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path(), 0).unwrap());
        let (mut j, _) = Journal::open(dir.path()).unwrap();
        j.append(&[Op::Remove {
            tree: "elsewhere".into(),
            key: vec![1],
        }])
        .unwrap();
        drop(j);
        let held = fs::read(dir.path().join(crate::journal::FILE)).unwrap();
        let err = Store::open(dir.path(), 0).err().unwrap();
        assert!(err.to_string().contains("journal"), "{err}");
        assert_eq!(
            fs::read(dir.path().join(crate::journal::FILE)).unwrap(),
            held
        );
    }

    /// A custody entry is never replaced, through the journal as directly: refused, and
    /// nothing of the commit lands.
    #[test]
    fn a_custody_entry_written_twice_through_the_journal_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 0).unwrap();
        let (ev, v) = (Uuid::new_v4(), Uuid::new_v4());
        store
            .commit(vec![Write::Custody(ev, 0, b"first".to_vec())])
            .unwrap();
        let before = journal_len(dir.path());
        let err = store
            .commit(vec![
                Write::Version(v, b"ct".to_vec()),
                Write::Custody(ev, 0, b"second".to_vec()),
            ])
            .unwrap_err();
        assert!(matches!(err, Error::Invalid(_)), "{err:?}");
        assert!(!store.has_version(v).unwrap());
        assert_eq!(journal_len(dir.path()), before);
        let twice = store.commit(vec![
            Write::Custody(ev, 1, b"a".to_vec()),
            Write::Custody(ev, 1, b"b".to_vec()),
        ]);
        assert!(matches!(twice, Err(Error::Invalid(_))), "{twice:?}");
        assert_eq!(journal_len(dir.path()), before);
    }

    #[test]
    fn one_write_and_many_land_alike_and_a_version_change_after_a_read_moves_the_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let (one, many) = (
            Uuid::new_v4(),
            [Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4()],
        );
        let epochs = {
            let store = Store::open(dir.path(), 0).unwrap();
            // A single version (a plain insert) …
            store
                .commit(vec![Write::Version(one, b"one".to_vec())])
                .unwrap();
            let e1 = store.version_epoch().unwrap();
            // … and several, with marks and meta (batches).
            let mut writes: Vec<Write> = many
                .iter()
                .map(|id| Write::Version(*id, id.as_bytes().to_vec()))
                .collect();
            writes.push(Write::Synced(one));
            writes.push(Write::Synced(many[0]));
            writes.push(Write::Meta("a", b"1".to_vec()));
            writes.push(Write::Meta("b", b"2".to_vec()));
            store.commit(writes).unwrap();
            let e2 = store.version_epoch().unwrap();
            // Marks alone change no version: the epoch stays.
            store.commit(vec![Write::Synced(many[1])]).unwrap();
            let e3 = store.version_epoch().unwrap();
            (e1, e2, e3)
        };
        assert!(epochs.0.is_some());
        assert_ne!(epochs.0, epochs.1);
        assert_eq!(epochs.1, epochs.2);
        let store = Store::open(dir.path(), 0).unwrap();
        assert_eq!(store.version(one).unwrap().unwrap(), b"one");
        for id in many {
            assert_eq!(store.version(id).unwrap().unwrap(), id.as_bytes());
        }
        assert_eq!(store.version_count(), 4);
        assert!(store.is_synced(one).unwrap());
        assert!(store.is_synced(many[0]).unwrap());
        assert!(store.is_synced(many[1]).unwrap());
        assert!(!store.is_synced(many[2]).unwrap());
        assert_eq!(store.meta("a").unwrap().unwrap(), b"1");
        assert_eq!(store.meta("b").unwrap().unwrap(), b"2");
        assert_eq!(store.version_epoch().unwrap(), epochs.2);
    }

    #[test]
    fn saves_with_no_read_of_the_epoch_between_them_share_one_new_epoch() {
        let dir = tempfile::tempdir().unwrap();
        // The epoch as stored, without reading it the way a snapshot does.
        let peek = |s: &Store| {
            s.sled()
                .epoch
                .get(EPOCH_KEY.as_bytes())
                .unwrap()
                .map(|v| v.to_vec())
        };
        let save = |s: &Store| {
            s.commit(vec![Write::Version(Uuid::new_v4(), b"v".to_vec())])
                .unwrap()
        };
        let last = {
            let store = Store::open(dir.path(), 0).unwrap();
            save(&store);
            let first = peek(&store);
            assert!(first.is_some());
            // No read since: the next saves keep the epoch the first one wrote.
            save(&store);
            save(&store);
            assert_eq!(peek(&store), first);
            // A snapshot saved now holds all three; the next save is not in it, so it
            // moves the epoch.
            assert_eq!(store.version_epoch().unwrap(), first);
            save(&store);
            let second = peek(&store);
            assert_ne!(second, first);
            // Marks change no version: they move nothing, read or not.
            assert_eq!(store.version_epoch().unwrap(), second);
            store.commit(vec![Write::Synced(Uuid::new_v4())]).unwrap();
            assert_eq!(peek(&store), second);
            // The read before the marks still stands: the next version moves the epoch.
            save(&store);
            assert_ne!(peek(&store), second);
            peek(&store)
        };
        // Replayed from the journal as written; and the first save after an open moves
        // the epoch whatever was read before it (a snapshot saved in the last session).
        let store = Store::open(dir.path(), 0).unwrap();
        assert_eq!(peek(&store), last);
        assert_eq!(store.version_count(), 5);
        save(&store);
        assert_ne!(peek(&store), last);
    }

    #[test]
    fn an_epoch_left_in_meta_by_an_earlier_version_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path(), 0).unwrap();
            store
                .commit(vec![Write::Meta(EPOCH_KEY, b"old epoch".to_vec())])
                .unwrap();
            assert_eq!(store.meta(EPOCH_KEY).unwrap().unwrap(), b"old epoch");
            assert_eq!(store.version_epoch().unwrap(), None);
        }
        let store = Store::open(dir.path(), 0).unwrap();
        assert_eq!(store.meta(EPOCH_KEY).unwrap(), None);
        assert_eq!(store.version_epoch().unwrap(), None);
        store
            .commit(vec![Write::Version(Uuid::new_v4(), b"v".to_vec())])
            .unwrap();
        assert!(store.version_epoch().unwrap().is_some());
        assert_eq!(store.meta(EPOCH_KEY).unwrap(), None);
    }

    #[test]
    fn a_second_open_of_the_same_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Store::open(dir.path(), 0).unwrap();
        let second = Store::open(dir.path(), 0);
        assert!(second.is_err());
    }
}
