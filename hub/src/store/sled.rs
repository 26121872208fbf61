//! The embedded store: one sled database in `DIR/db`.
//!
//! Trees:
//!
//! | tree | key | value |
//! |---|---|---|
//! | `devices` | pin | JSON [`Device`] |
//! | `device_ids` | device UUID (16 bytes) | pin |
//! | `invites` | SHA-256 of the token | JSON [`InviteRecord`] |
//! | `config` | name | `seq` (u64 big-endian), `coordinators` (JSON list), settings |
//! | `obj_meta` | seq (u64 big-endian) | JSON [`ObjectMeta`] |
//! | `obj_data` | seq (u64 big-endian) | the ciphertext |
//! | `obj_ids` | object UUID | seq (u64 big-endian) |
//! | `blobs` | blob UUID | JSON [`BlobMeta`] |
//! | `roster_log` | entry number (u64 big-endian) | the signed roster entry, JSON |
//!
//! Every write is followed by a flush, so it is on disk before the caller answers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ::sled::transaction::{
    ConflictableTransactionError, TransactionError, TransactionalTree, UnabortableTransactionError,
};
use ::sled::{Db, Transactional, Tree};
use chrono::{DateTime, Utc};
use custos_wire::roster_log::Entry;
use custos_wire::Frame;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{
    BlobMeta, Device, EnrollOutcome, InviteRecord, LogAppend, PullPage, PullQuery, PushOutcome,
    Store, StoreError, StoreResult, Usage,
};

const SEQ: &[u8] = b"seq";
const COORDINATORS: &[u8] = b"coordinators";
const SETTING_PREFIX: &str = "setting.";

/// The routing metadata of a stored object (its ciphertext is in `obj_data`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ObjectMeta {
    id: Uuid,
    audience: Vec<String>,
    pushed_by: Uuid,
    received: DateTime<Utc>,
    len: u64,
    sha256: String,
}

/// The sled implementation of [`Store`].
pub struct SledStore {
    db: Db,
    devices: Tree,
    device_ids: Tree,
    invites: Tree,
    config: Tree,
    obj_meta: Tree,
    obj_data: Tree,
    obj_ids: Tree,
    /// How many objects each device pushed (device id → count, big-endian): its quota.
    obj_counts: Tree,
    blobs: Tree,
    roster_log: Tree,
    /// Pushes take turns, so that sequence numbers become visible in order (a pull never
    /// sees seq n+1 before seq n).
    push_lock: Mutex<()>,
    /// Declared last, so dropped after the database and its trees.
    _released: Released,
}

/// Waits, when the store is dropped, until sled's lock on `DIR/db` is free (a few seconds
/// at most). sled's own threads can hold the database a moment after its last handle is
/// dropped (a log write handed to its thread pool, the flusher); without this, an open
/// right after a drop in the same process (a restart of the store, the tests) could find
/// the folder "in use by another custos-hub".
struct Released(PathBuf);

impl Drop for Released {
    fn drop(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let Ok(file) = std::fs::File::open(&self.0) else {
                return;
            };
            match file.try_lock() {
                // Closing the file releases our lock at once.
                Ok(()) => return,
                Err(std::fs::TryLockError::WouldBlock) => {
                    std::thread::sleep(Duration::from_millis(2))
                }
                Err(std::fs::TryLockError::Error(_)) => return,
            }
        }
    }
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore").finish_non_exhaustive()
    }
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::from_display(e)
}

fn json<T: Serialize>(v: &T) -> StoreResult<Vec<u8>> {
    serde_json::to_vec(v).map_err(err)
}

fn unjson<T: for<'a> Deserialize<'a>>(b: &[u8], what: &str) -> StoreResult<T> {
    serde_json::from_slice(b).map_err(|e| StoreError(format!("a damaged {what} record: {e}")))
}

fn seq_of(b: &[u8]) -> StoreResult<u64> {
    let a: [u8; 8] = b
        .try_into()
        .map_err(|_| StoreError("a damaged sequence number".into()))?;
    Ok(u64::from_be_bytes(a))
}

fn sha256_hex(b: &[u8]) -> String {
    custos_wire::hex(&Sha256::digest(b))
}

/// Turns a transaction's outcome into a store result.
fn tx<T>(r: Result<T, TransactionError<StoreError>>) -> StoreResult<T> {
    r.map_err(|e| match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => err(e),
    })
}

/// Aborts a transaction with a store error.
fn abort(e: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(e)
}

fn unabortable(e: UnabortableTransactionError) -> ConflictableTransactionError<StoreError> {
    e.into()
}

impl SledStore {
    /// Opens (or creates) the database in `dir`. Fails when another process has it open.
    pub fn open(dir: &Path) -> StoreResult<SledStore> {
        let db = ::sled::Config::new().path(dir).open().map_err(|e| {
            StoreError(format!(
                "cannot open the database in {} ({e}); is another custos-hub using it?",
                dir.display()
            ))
        })?;
        let tree = |name: &str| db.open_tree(name).map_err(err);
        SledStore {
            devices: tree("devices")?,
            device_ids: tree("device_ids")?,
            invites: tree("invites")?,
            config: tree("config")?,
            obj_meta: tree("obj_meta")?,
            obj_data: tree("obj_data")?,
            obj_ids: tree("obj_ids")?,
            obj_counts: tree("obj_counts")?,
            blobs: tree("blobs")?,
            roster_log: tree("roster_log")?,
            db,
            push_lock: Mutex::new(()),
            _released: Released(dir.join("db")),
        }
        .with_counts()
    }

    /// Counts each device's objects once, in a database of before the counts.
    fn with_counts(self) -> StoreResult<SledStore> {
        if self.config.get(COUNTED).map_err(err)?.is_some() {
            return Ok(self);
        }
        let mut counts: HashMap<Uuid, u64> = HashMap::new();
        for kv in self.obj_meta.iter() {
            let (_, v) = kv.map_err(err)?;
            let m: ObjectMeta = unjson(&v, "object")?;
            *counts.entry(m.pushed_by).or_default() += 1;
        }
        for (device, n) in counts {
            self.obj_counts
                .insert(device.as_bytes(), &n.to_be_bytes())
                .map_err(err)?;
        }
        self.config.insert(COUNTED, b"1").map_err(err)?;
        self.sync()?;
        Ok(self)
    }

    fn sync(&self) -> StoreResult<()> {
        self.db.flush().map(|_| ()).map_err(err)
    }
}

/// Reads a device by pin inside a transaction.
fn tx_device(
    devices: &TransactionalTree,
    pin: &str,
) -> Result<Option<Device>, ConflictableTransactionError<StoreError>> {
    match devices.get(pin.as_bytes()).map_err(unabortable)? {
        None => Ok(None),
        Some(b) => unjson(&b, "device").map(Some).map_err(abort),
    }
}

impl Store for SledStore {
    fn device_by_pin(&self, pin: &str) -> StoreResult<Option<Device>> {
        match self.devices.get(pin.as_bytes()).map_err(err)? {
            None => Ok(None),
            Some(b) => unjson(&b, "device").map(Some),
        }
    }

    fn device(&self, id: Uuid) -> StoreResult<Option<Device>> {
        match self.device_ids.get(id.as_bytes()).map_err(err)? {
            None => Ok(None),
            Some(pin) => {
                let pin = String::from_utf8(pin.to_vec()).map_err(err)?;
                self.device_by_pin(&pin)
            }
        }
    }

    fn devices(&self) -> StoreResult<Vec<Device>> {
        let mut out = Vec::new();
        for item in self.devices.iter() {
            let (_, v) = item.map_err(err)?;
            out.push(unjson::<Device>(&v, "device")?);
        }
        out.sort_by(|a, b| {
            a.enrolled_at
                .cmp(&b.enrolled_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(out)
    }

    fn revoke(&self, id: Uuid) -> StoreResult<Option<Device>> {
        let r = (&self.devices, &self.device_ids).transaction(|(devices, ids)| {
            let Some(pin) = ids.get(id.as_bytes())? else {
                return Ok(None);
            };
            let pin = String::from_utf8(pin.to_vec()).map_err(|e| abort(err(e)))?;
            let Some(mut device) = tx_device(devices, &pin)? else {
                return Ok(None);
            };
            device.revoked = true;
            devices.insert(pin.as_bytes(), json(&device).map_err(abort)?)?;
            Ok(Some(device))
        });
        let r = tx(r)?;
        self.sync()?;
        Ok(r)
    }

    fn add_invite(&self, token_sha256: [u8; 32], invite: &InviteRecord) -> StoreResult<()> {
        self.invites
            .insert(token_sha256, json(invite)?)
            .map_err(err)?;
        self.sync()
    }

    fn enroll(
        &self,
        token_sha256: [u8; 32],
        candidate: Device,
        now: DateTime<Utc>,
    ) -> StoreResult<EnrollOutcome> {
        let r = (&self.invites, &self.devices, &self.device_ids).transaction(
            |(invites, devices, ids)| {
                let Some(b) = invites.get(token_sha256)? else {
                    return Ok(EnrollOutcome::UnknownToken);
                };
                let mut invite: InviteRecord = unjson(&b, "invite").map_err(abort)?;
                let existing = tx_device(devices, &candidate.pin)?;
                match (&invite.used_by, existing) {
                    // A retry after a lost answer: the same device.
                    (Some(by), Some(device)) if by == &candidate.pin => {
                        return Ok(EnrollOutcome::Enrolled(device))
                    }
                    (Some(_), _) => return Ok(EnrollOutcome::Used),
                    (None, _) if invite.expires <= now => return Ok(EnrollOutcome::Expired),
                    (None, Some(device)) => return Ok(EnrollOutcome::PinTaken(device)),
                    (None, None) => {}
                }
                let device = Device {
                    role: invite.role,
                    enrolled_at: now,
                    revoked: false,
                    ..candidate.clone()
                };
                invite.used_by = Some(device.pin.clone());
                invites.insert(&token_sha256, json(&invite).map_err(abort)?)?;
                devices.insert(device.pin.as_bytes(), json(&device).map_err(abort)?)?;
                ids.insert(device.id.as_bytes(), device.pin.as_bytes())?;
                Ok(EnrollOutcome::Enrolled(device))
            },
        );
        let r = tx(r)?;
        self.sync()?;
        Ok(r)
    }

    fn coordinators(&self) -> StoreResult<Vec<String>> {
        match self.config.get(COORDINATORS).map_err(err)? {
            None => Ok(Vec::new()),
            Some(b) => unjson(&b, "coordinator list"),
        }
    }

    fn add_coordinator(&self, recipient: &str) -> StoreResult<bool> {
        let r = self.config.transaction(|config| {
            let mut list: Vec<String> = match config.get(COORDINATORS)? {
                None => Vec::new(),
                Some(b) => unjson(&b, "coordinator list").map_err(abort)?,
            };
            if list.iter().any(|r| r == recipient) {
                return Ok(false);
            }
            list.push(recipient.to_owned());
            config.insert(COORDINATORS, json(&list).map_err(abort)?)?;
            Ok(true)
        });
        let r = tx(r)?;
        self.sync()?;
        Ok(r)
    }

    fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        match self
            .config
            .get(format!("{SETTING_PREFIX}{key}"))
            .map_err(err)?
        {
            None => Ok(None),
            Some(b) => String::from_utf8(b.to_vec()).map(Some).map_err(err),
        }
    }

    fn set_setting(&self, key: &str, value: &str) -> StoreResult<()> {
        self.config
            .insert(format!("{SETTING_PREFIX}{key}"), value.as_bytes())
            .map_err(err)?;
        self.sync()
    }

    fn init_setting(&self, key: &str, value: &str) -> StoreResult<String> {
        let key = format!("{SETTING_PREFIX}{key}");
        match self
            .config
            .compare_and_swap(&key, None as Option<&[u8]>, Some(value.as_bytes()))
            .map_err(err)?
        {
            Ok(()) => {
                self.sync()?;
                Ok(value.to_owned())
            }
            Err(cas) => match cas.current {
                Some(b) => String::from_utf8(b.to_vec()).map_err(err),
                None => Err(StoreError("a setting changed while it was set".into())),
            },
        }
    }

    fn roster_log(&self) -> StoreResult<Vec<Entry>> {
        let mut out = Vec::new();
        for item in self.roster_log.iter() {
            let (k, v) = item.map_err(err)?;
            let seq = seq_of(&k)?;
            let entry: Entry = unjson(&v, "roster entry")?;
            if entry.seq != seq {
                return Err(StoreError(format!(
                    "roster entry {} is stored as entry {seq}",
                    entry.seq
                )));
            }
            out.push(entry);
        }
        Ok(out)
    }

    fn append_roster_log(&self, after: u64, entries: &[Entry]) -> StoreResult<LogAppend> {
        super::check_numbering(after, entries)?;
        let values = entries.iter().map(json).collect::<StoreResult<Vec<_>>>()?;
        let r = self.roster_log.transaction(|log| {
            // The log is numbered from 1 without gaps: its last entry is `after` when
            // entry `after` is there (or `after` is 0) and entry `after + 1` is not.
            let there = after == 0 || log.get(after.to_be_bytes())?.is_some();
            let next = after.saturating_add(1);
            if !there || log.get(next.to_be_bytes())?.is_some() {
                return Ok(false);
            }
            for (entry, value) in entries.iter().zip(&values) {
                log.insert(&entry.seq.to_be_bytes(), value.as_slice())?;
            }
            Ok(true)
        });
        if !tx(r)? {
            let last = match self.roster_log.last().map_err(err)? {
                None => 0,
                Some((k, _)) => seq_of(&k)?,
            };
            return Ok(LogAppend::Conflict(last));
        }
        self.sync()?;
        Ok(LogAppend::Appended)
    }

    fn push(
        &self,
        pushed_by: Uuid,
        received: DateTime<Utc>,
        frames: &[Frame],
    ) -> StoreResult<Vec<PushOutcome>> {
        if frames.is_empty() {
            return Ok(Vec::new());
        }
        let hashes: Vec<String> = frames.iter().map(|f| sha256_hex(&f.ciphertext)).collect();
        let floor = u64::try_from(received.timestamp_micros()).unwrap_or(0);
        let _turn = self
            .push_lock
            .lock()
            .map_err(|_| StoreError("a push failed halfway; restart the hub".into()))?;
        let r = (
            &self.config,
            &self.obj_meta,
            &self.obj_data,
            &self.obj_ids,
            &self.obj_counts,
        )
            .transaction(|(config, meta, data, ids, counts)| {
                let mut seq = match config.get(SEQ)? {
                    None => 0,
                    Some(b) => seq_of(&b).map_err(abort)?,
                };
                let mut outcomes = Vec::with_capacity(frames.len());
                for (frame, sha) in frames.iter().zip(&hashes) {
                    // Reads inside the transaction see its own writes, so a duplicate
                    // within the batch is found too.
                    if let Some(at) = ids.get(frame.id.as_bytes())? {
                        let old = meta.get(at)?.ok_or_else(|| {
                            abort(StoreError("an object id without its object".into()))
                        })?;
                        let old: ObjectMeta = unjson(&old, "object").map_err(abort)?;
                        let same = old.sha256 == *sha
                            && old.len == frame.ciphertext.len() as u64
                            && old.audience == frame.audience;
                        outcomes.push(if same {
                            PushOutcome::Existing
                        } else {
                            PushOutcome::IdTaken
                        });
                        continue;
                    }
                    // Never below the receive time in microseconds: a hub restored from
                    // a backup goes on above every cursor its devices already hold.
                    seq = seq.saturating_add(1).max(floor);
                    let key = seq.to_be_bytes();
                    let m = ObjectMeta {
                        id: frame.id,
                        audience: frame.audience.clone(),
                        pushed_by,
                        received,
                        len: frame.ciphertext.len() as u64,
                        sha256: sha.clone(),
                    };
                    meta.insert(&key, json(&m).map_err(abort)?)?;
                    data.insert(&key, frame.ciphertext.as_slice())?;
                    ids.insert(frame.id.as_bytes(), &key)?;
                    outcomes.push(PushOutcome::Stored(seq));
                }
                config.insert(SEQ, &seq.to_be_bytes())?;
                let stored = outcomes
                    .iter()
                    .filter(|o| matches!(o, PushOutcome::Stored(_)))
                    .count() as u64;
                if stored > 0 {
                    let had = match counts.get(pushed_by.as_bytes())? {
                        None => 0,
                        Some(b) => seq_of(&b).map_err(abort)?,
                    };
                    counts.insert(
                        pushed_by.as_bytes(),
                        &had.saturating_add(stored).to_be_bytes(),
                    )?;
                }
                Ok(outcomes)
            });
        let r = tx(r)?;
        self.sync()?;
        Ok(r)
    }

    fn pull(&self, q: &PullQuery) -> StoreResult<PullPage> {
        let start = q.since.saturating_add(1);
        let mut page = PullPage {
            frames: Vec::new(),
            next: q.since,
            more: false,
        };
        if q.since == u64::MAX {
            return Ok(page);
        }
        let mut bytes = 0usize;
        for (examined, item) in self.obj_meta.range(start.to_be_bytes()..).enumerate() {
            let (k, v) = item.map_err(err)?;
            let seq = seq_of(&k)?;
            if examined >= q.max_examined || page.frames.len() >= q.limit {
                page.more = true;
                break;
            }
            let m: ObjectMeta = unjson(&v, "object")?;
            let deliver = m.pushed_by != q.device
                && q.recipient
                    .as_ref()
                    .is_none_or(|r| m.audience.iter().any(|a| a == r));
            if deliver {
                let frame_len = 8
                    + 16
                    + 2
                    + m.audience.iter().map(|a| 2 + a.len()).sum::<usize>()
                    + 4
                    + m.len as usize;
                if !page.frames.is_empty() && bytes + frame_len > q.max_bytes {
                    page.more = true;
                    break;
                }
                let Some(ct) = self.obj_data.get(k).map_err(err)? else {
                    return Err(StoreError(format!("object {seq} has no ciphertext")));
                };
                bytes += frame_len;
                page.frames.push(Frame {
                    seq,
                    id: m.id,
                    audience: m.audience,
                    ciphertext: ct.to_vec(),
                });
            }
            page.next = seq;
        }
        Ok(page)
    }

    fn last_seq(&self) -> StoreResult<u64> {
        match self.config.get(SEQ).map_err(err)? {
            None => Ok(0),
            Some(b) => seq_of(&b),
        }
    }

    fn held(&self, device: Uuid, recipient: Option<&str>, ids: &[Uuid]) -> StoreResult<Vec<Uuid>> {
        let mut out = Vec::new();
        for id in ids {
            let Some(at) = self.obj_ids.get(id.as_bytes()).map_err(err)? else {
                continue;
            };
            let Some(meta) = self.obj_meta.get(at).map_err(err)? else {
                return Err(StoreError(format!("object {id} has no metadata")));
            };
            let m: ObjectMeta = unjson(&meta, "object")?;
            if m.pushed_by == device || recipient.is_none_or(|r| m.audience.iter().any(|a| a == r))
            {
                out.push(*id);
            }
        }
        Ok(out)
    }

    fn blob(&self, id: Uuid) -> StoreResult<Option<BlobMeta>> {
        match self.blobs.get(id.as_bytes()).map_err(err)? {
            None => Ok(None),
            Some(b) => unjson(&b, "blob").map(Some),
        }
    }

    fn announce_blob(&self, id: Uuid, meta: &BlobMeta) -> StoreResult<BlobMeta> {
        let new = json(meta)?;
        match self
            .blobs
            .compare_and_swap(id.as_bytes(), None as Option<&[u8]>, Some(new))
            .map_err(err)?
        {
            Ok(()) => {
                self.sync()?;
                Ok(meta.clone())
            }
            Err(cas) => match cas.current {
                Some(b) => unjson(&b, "blob"),
                None => Err(StoreError("a blob changed while it was announced".into())),
            },
        }
    }

    fn put_blob(&self, id: Uuid, meta: &BlobMeta) -> StoreResult<()> {
        self.blobs.insert(id.as_bytes(), json(meta)?).map_err(err)?;
        self.sync()
    }

    fn remove_blob(&self, id: Uuid) -> StoreResult<()> {
        self.blobs.remove(id.as_bytes()).map_err(err)?;
        self.sync()
    }

    fn usage(&self, device: Uuid) -> StoreResult<Usage> {
        let objects = match self.obj_counts.get(device.as_bytes()).map_err(err)? {
            None => 0,
            Some(b) => seq_of(&b)?,
        };
        let mut evidence_bytes = 0u64;
        for kv in self.blobs.iter() {
            let (_, v) = kv.map_err(err)?;
            let m: BlobMeta = unjson(&v, "blob")?;
            if m.pushed_by == device {
                evidence_bytes = evidence_bytes.saturating_add(m.size);
            }
        }
        Ok(Usage {
            objects,
            evidence_bytes,
        })
    }

    fn flush(&self) -> StoreResult<()> {
        self.sync()
    }
}

/// Set once each device's objects are counted in `obj_counts`.
const COUNTED: &[u8] = b"obj_counts_v1";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::contract::{store_contract, Fixture};

    /// A temporary folder.
    struct Folder(tempfile::TempDir);

    impl Fixture for Folder {
        type Store = SledStore;
        const SHARED: bool = false;
        fn new() -> Self {
            Folder(tempfile::tempdir().unwrap())
        }
        fn open(&self) -> SledStore {
            SledStore::open(self.0.path()).unwrap()
        }
    }

    /// The [`Store`] contract, on sled.
    mod contract {
        super::store_contract!(super::Folder);
    }

    /// Not in the contract: PostgreSQL serves several instances at once, while sled
    /// locks its folder to one process (admin commands reach a running hub through its
    /// socket for that reason).
    #[test]
    fn a_second_open_of_the_folder_is_refused_while_the_first_is_open() {
        let folder = Folder::new();
        {
            let store = folder.open();
            let f = Frame {
                seq: 0,
                id: Uuid::new_v4(),
                audience: vec!["age1x".into()],
                ciphertext: vec![1; 11],
            };
            store
                .push(Uuid::new_v4(), DateTime::UNIX_EPOCH, &[f])
                .unwrap();
            let e = SledStore::open(folder.0.path()).unwrap_err();
            assert!(e.0.contains("is another custos-hub using it?"), "{e}");
        }
        assert_eq!(folder.open().last_seq().unwrap(), 1);
    }

    /// sled's own threads can hold the folder's lock a moment after the store is dropped
    /// (a log write handed to its thread pool, the flusher): a store dropped is released,
    /// so that the next open, at once, finds the folder free.
    #[test]
    fn a_dropped_store_can_be_opened_again_at_once() {
        let folder = Folder::new();
        let a = Uuid::new_v4();
        for round in 0..200u64 {
            let store =
                SledStore::open(folder.0.path()).unwrap_or_else(|e| panic!("round {round}: {e}"));
            assert_eq!(store.last_seq().unwrap(), round);
            let f = Frame {
                seq: 0,
                id: Uuid::new_v4(),
                audience: vec!["age1x".into()],
                ciphertext: vec![1; 11],
            };
            store.push(a, DateTime::UNIX_EPOCH, &[f]).unwrap();
        }
    }

    /// A database of before the quotas: its devices' objects are counted once, at the
    /// first open.
    #[test]
    fn objects_stored_before_the_counts_are_counted_at_open() {
        let folder = Folder::new();
        let a = Uuid::new_v4();
        {
            let store = folder.open();
            let frames: Vec<Frame> = (0..3u8)
                .map(|n| Frame {
                    seq: 0,
                    id: Uuid::new_v4(),
                    audience: vec!["age1x".into()],
                    ciphertext: vec![n; 11],
                })
                .collect();
            store.push(a, DateTime::UNIX_EPOCH, &frames).unwrap();
            // As a hub of before left it.
            store.db.drop_tree("obj_counts").unwrap();
            store.config.remove(COUNTED).unwrap();
            store.sync().unwrap();
        }
        assert_eq!(folder.open().usage(a).unwrap().objects, 3);
        assert_eq!(folder.open().usage(a).unwrap().objects, 3);
    }
}
