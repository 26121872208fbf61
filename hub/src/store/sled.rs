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
//!
//! Every write is followed by a flush, so it is on disk before the caller answers.

use std::path::Path;
use std::sync::Mutex;

use ::sled::transaction::{
    ConflictableTransactionError, TransactionError, TransactionalTree, UnabortableTransactionError,
};
use ::sled::{Db, Transactional, Tree};
use chrono::{DateTime, Utc};
use custos_wire::Frame;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{
    BlobMeta, Device, EnrollOutcome, InviteRecord, PullPage, PullQuery, PushOutcome, Store,
    StoreError, StoreResult,
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
    blobs: Tree,
    /// Pushes take turns, so that sequence numbers become visible in order (a pull never
    /// sees seq n+1 before seq n).
    push_lock: Mutex<()>,
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
        Ok(SledStore {
            devices: tree("devices")?,
            device_ids: tree("device_ids")?,
            invites: tree("invites")?,
            config: tree("config")?,
            obj_meta: tree("obj_meta")?,
            obj_data: tree("obj_data")?,
            obj_ids: tree("obj_ids")?,
            blobs: tree("blobs")?,
            db,
            push_lock: Mutex::new(()),
        })
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
        let r = (&self.config, &self.obj_meta, &self.obj_data, &self.obj_ids).transaction(
            |(config, meta, data, ids)| {
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
                Ok(outcomes)
            },
        );
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

    fn flush(&self) -> StoreResult<()> {
        self.sync()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Role;
    use chrono::Duration;

    /// Pushes received "at 1970" are numbered 1, 2, 3…
    const EPOCH: DateTime<Utc> = DateTime::UNIX_EPOCH;

    fn frame(n: u8, audience: &[&str]) -> Frame {
        Frame {
            seq: 0,
            id: Uuid::new_v4(),
            audience: audience.iter().map(|s| s.to_string()).collect(),
            ciphertext: vec![n; 10 + n as usize],
        }
    }

    fn device(pin: &str) -> Device {
        Device {
            id: Uuid::new_v4(),
            pin: pin.into(),
            label: "phone".into(),
            role: Role::Field,
            signer: "signer".into(),
            vault_recipient: format!("age1{pin}"),
            enrolled_at: Utc::now(),
            revoked: false,
        }
    }

    fn query(since: u64, device: Uuid, recipient: Option<&str>) -> PullQuery {
        PullQuery {
            since,
            limit: 500,
            max_bytes: 1 << 20,
            max_examined: 10_000,
            device,
            recipient: recipient.map(String::from),
        }
    }

    #[test]
    fn push_is_idempotent_and_atomic_per_batch() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let a = Uuid::new_v4();
        let f1 = frame(1, &["age1x"]);
        let f2 = frame(2, &["age1y"]);
        let out = store.push(a, EPOCH, &[f1.clone(), f2.clone()]).unwrap();
        assert_eq!(out, vec![PushOutcome::Stored(1), PushOutcome::Stored(2)]);
        let mut other = f1.clone();
        other.ciphertext.push(0);
        let f3 = frame(3, &["age1x"]);
        let out = store
            .push(a, EPOCH, &[f1.clone(), other, f3.clone(), f3.clone()])
            .unwrap();
        assert_eq!(
            out,
            vec![
                PushOutcome::Existing,
                PushOutcome::IdTaken,
                PushOutcome::Stored(3),
                PushOutcome::Existing
            ]
        );
        assert_eq!(store.last_seq().unwrap(), 3);
        // Another audience for the same bytes is another object.
        let mut moved = f2.clone();
        moved.audience = vec!["age1z".into()];
        assert_eq!(
            store.push(a, EPOCH, &[moved]).unwrap(),
            vec![PushOutcome::IdTaken]
        );
    }

    #[test]
    fn pull_filters_by_audience_and_pusher_and_pages() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let frames: Vec<Frame> = (0..10)
            .map(|i| frame(i, if i % 2 == 0 { &["age1b"] } else { &["age1c"] }))
            .collect();
        store.push(a, EPOCH, &frames).unwrap();
        store.push(b, EPOCH, &[frame(50, &["age1b"])]).unwrap();

        // b reads the even ones, not its own.
        let page = store.pull(&query(0, b, Some("age1b"))).unwrap();
        let ids: Vec<Uuid> = page.frames.iter().map(|f| f.id).collect();
        let even: Vec<Uuid> = frames.iter().step_by(2).map(|f| f.id).collect();
        assert_eq!(ids, even);
        assert_eq!((page.next, page.more), (11, false));
        assert_eq!(page.frames[1].seq, 3);
        assert_eq!(page.frames[1].ciphertext, frames[2].ciphertext);

        // A coordinator reads all but its own; the author reads nothing of its own.
        let page = store.pull(&query(0, c, None)).unwrap();
        assert_eq!(page.frames.len(), 11);
        let page = store.pull(&query(0, a, None)).unwrap();
        assert_eq!(page.frames.len(), 1);

        // Pages: limit, examined and byte budgets.
        let mut q = query(0, c, None);
        q.limit = 4;
        let page = store.pull(&q).unwrap();
        assert_eq!((page.frames.len(), page.next, page.more), (4, 4, true));
        q.since = page.next;
        q.limit = 500;
        q.max_examined = 3;
        let page = store.pull(&q).unwrap();
        assert_eq!((page.frames.len(), page.next, page.more), (3, 7, true));
        let mut q = query(7, b, Some("age1b"));
        q.max_examined = 1;
        let page = store.pull(&q).unwrap();
        // seq 8 is odd (age1c): examined, not delivered.
        assert_eq!((page.frames.len(), page.next, page.more), (0, 8, true));
        let mut q = query(0, c, None);
        q.max_bytes = 1;
        let page = store.pull(&q).unwrap();
        assert_eq!((page.frames.len(), page.next, page.more), (1, 1, true));
        let page = store.pull(&query(11, c, None)).unwrap();
        assert_eq!((page.frames.len(), page.next, page.more), (0, 11, false));
        let page = store.pull(&query(u64::MAX, c, None)).unwrap();
        assert_eq!(
            (page.frames.len(), page.next, page.more),
            (0, u64::MAX, false)
        );
    }

    #[test]
    fn sequence_numbers_are_never_below_the_receive_time() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let a = Uuid::new_v4();
        let now = Utc::now();
        let us = now.timestamp_micros() as u64;
        let out = store
            .push(a, now, &[frame(1, &["age1x"]), frame(2, &["age1x"])])
            .unwrap();
        assert_eq!(
            out,
            vec![PushOutcome::Stored(us), PushOutcome::Stored(us + 1)]
        );
        // A clock that goes back does not make them go back.
        let out = store.push(a, EPOCH, &[frame(3, &["age1x"])]).unwrap();
        assert_eq!(out, vec![PushOutcome::Stored(us + 2)]);
        assert_eq!(store.last_seq().unwrap(), us + 2);
    }

    #[test]
    fn sequence_numbers_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(dir.path()).unwrap();
            store
                .push(
                    Uuid::new_v4(),
                    EPOCH,
                    &[frame(1, &["age1x"]), frame(2, &["age1x"])],
                )
                .unwrap();
            // A second open of the same folder is refused while the first is open.
            assert!(SledStore::open(dir.path()).is_err());
        }
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.last_seq().unwrap(), 2);
        let out = store
            .push(Uuid::new_v4(), EPOCH, &[frame(3, &["age1x"])])
            .unwrap();
        assert_eq!(out, vec![PushOutcome::Stored(3)]);
    }

    #[test]
    fn enrollment_uses_an_invite_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let now = Utc::now();
        let token = [7u8; 32];
        let invite = InviteRecord {
            role: Role::Coordinator,
            created: now,
            expires: now + Duration::hours(1),
            used_by: None,
        };
        store.add_invite(token, &invite).unwrap();
        assert_eq!(
            store.enroll([8u8; 32], device("p1"), now).unwrap(),
            EnrollOutcome::UnknownToken
        );
        let EnrollOutcome::Enrolled(d) = store.enroll(token, device("p1"), now).unwrap() else {
            panic!("not enrolled")
        };
        assert_eq!(d.role, Role::Coordinator);
        // The same pin again (a retry): the same device, even later.
        let later = now + Duration::hours(2);
        assert_eq!(
            store.enroll(token, device("p1"), later).unwrap(),
            EnrollOutcome::Enrolled(d.clone())
        );
        assert_eq!(
            store.enroll(token, device("p2"), now).unwrap(),
            EnrollOutcome::Used
        );
        assert_eq!(store.device_by_pin("p1").unwrap(), Some(d.clone()));
        assert_eq!(store.device(d.id).unwrap(), Some(d.clone()));
        assert!(store.device_by_pin("p2").unwrap().is_none());

        // Expired; a pin enrolled already.
        let t2 = [9u8; 32];
        store
            .add_invite(
                t2,
                &InviteRecord {
                    expires: now,
                    ..invite.clone()
                },
            )
            .unwrap();
        assert_eq!(
            store.enroll(t2, device("p3"), now).unwrap(),
            EnrollOutcome::Expired
        );
        let t3 = [10u8; 32];
        store.add_invite(t3, &invite).unwrap();
        assert!(matches!(
            store.enroll(t3, device("p1"), now).unwrap(),
            EnrollOutcome::PinTaken(_)
        ));

        // Revocation.
        assert!(store.revoke(Uuid::new_v4()).unwrap().is_none());
        assert!(store.revoke(d.id).unwrap().unwrap().revoked);
        assert!(store.device_by_pin("p1").unwrap().unwrap().revoked);
        assert_eq!(store.devices().unwrap().len(), 1);
    }

    #[test]
    fn coordinators_settings_and_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        assert!(store.coordinators().unwrap().is_empty());
        assert!(store.add_coordinator("age1a").unwrap());
        assert!(!store.add_coordinator("age1a").unwrap());
        assert!(store.add_coordinator("age1b").unwrap());
        assert_eq!(store.coordinators().unwrap(), vec!["age1a", "age1b"]);

        assert_eq!(store.setting("listen").unwrap(), None);
        store.set_setting("listen", "127.0.0.1:1").unwrap();
        assert_eq!(
            store.setting("listen").unwrap().as_deref(),
            Some("127.0.0.1:1")
        );

        let id = Uuid::new_v4();
        let meta = BlobMeta {
            size: 10,
            sha256: "0".repeat(64),
            audience: vec!["age1a".into()],
            received: 0,
            complete: false,
            pushed_by: Uuid::new_v4(),
            received_at: Utc::now(),
        };
        assert_eq!(store.announce_blob(id, &meta).unwrap(), meta);
        let other = BlobMeta {
            size: 11,
            ..meta.clone()
        };
        assert_eq!(store.announce_blob(id, &other).unwrap(), meta);
        let progressed = BlobMeta {
            received: 5,
            ..meta.clone()
        };
        store.put_blob(id, &progressed).unwrap();
        assert_eq!(store.blob(id).unwrap(), Some(progressed));
        store.remove_blob(id).unwrap();
        assert_eq!(store.blob(id).unwrap(), None);
    }
}
