//! What the hub does, independent of HTTP: each method checks its input, asks the store
//! and the blob files, and answers with the protocol's messages or errors. Every method
//! blocks (disk I/O); the HTTP layer calls them on blocking threads.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::Utc;
use custos_wire::roster_log::{self, Head};
use custos_wire::{
    self as wire, BlobAnnounce, BlobInfo, BlobState, BundleBlob, EnrollChallenge, EnrollClaim,
    EnrollRequest, EnrollResponse, Frame, HeldRequest, HeldResponse, PushResult, Rejected, Roster,
    RosterAppend, RosterDevice,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::blobs::{BlobFiles, BlobRange, BlobStore};
use crate::enrollment::Challenger;
use crate::error::ApiError;
use crate::keys::{DataDir, Keys, KeysError};
use crate::log;
use crate::storage::{Storage, StorageError};
use crate::store::{
    BlobMeta, BlobTurn, Device, EnrollOutcome, LogAppend, PgStore, PullPage, PullQuery,
    PushOutcome, Role, SledStore, Store, StoreError,
};

/// Most objects examined by one pull (delivered or not).
pub const MAX_EXAMINED: usize = 10_000;
/// Longest device label kept.
pub const MAX_LABEL: usize = 100;
/// Longest invite token looked up.
const MAX_TOKEN: usize = 256;
/// Blob lock stripes.
const STRIPES: usize = 64;
/// The setting naming the keys every instance on a shared database must have: the TLS
/// key's pin and the bundle recipient (invites carry both).
pub const KEYS_SETTING: &str = "hub_keys";
/// The setting holding the address the hub last listened on (for invites): written by
/// the server, read by the admin commands.
pub const LISTEN_SETTING: &str = "listen";

/// What one device may keep on the hub, and how fast one address may ask to enroll
/// (`custos-hub serve --quota-objects/--quota-evidence/--enroll-rate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most objects (versions) one device may have pushed.
    pub objects: u64,
    /// Most bytes of evidence files one device may have announced.
    pub evidence_bytes: u64,
    /// Enrollment requests one address may make per minute (and at once).
    pub enrollments_per_minute: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            objects: DEFAULT_QUOTA_OBJECTS,
            evidence_bytes: DEFAULT_QUOTA_EVIDENCE,
            enrollments_per_minute: DEFAULT_ENROLL_RATE,
        }
    }
}

/// Default [`Limits::objects`]: a million versions per device.
pub const DEFAULT_QUOTA_OBJECTS: u64 = 1_000_000;
/// Default [`Limits::evidence_bytes`]: 20 GiB per device.
pub const DEFAULT_QUOTA_EVIDENCE: u64 = 20 << 30;
/// Default [`Limits::enrollments_per_minute`].
pub const DEFAULT_ENROLL_RATE: u32 = 60;
/// Addresses remembered by the enrollment limit; beyond, the ones with a full
/// allowance again are forgotten.
const MAX_ENROLL_ADDRESSES: usize = 10_000;
/// Age after which an upload's part file, untouched, is abandoned and removed.
pub const PART_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(3 * 24 * 3600);

/// The hub: its store, its blob files and its keys.
pub struct Hub {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The data folder.
    pub dir: DataDir,
    /// The hub's keys.
    pub keys: Keys,
    /// The blob bytes (files, or PostgreSQL).
    pub blobs: Arc<dyn BlobStore>,
    /// One blob's chunks are written one at a time.
    blob_locks: Vec<Mutex<()>>,
    /// The next pin, and the modification time of the file it was read from.
    next_pin: Mutex<Option<(Option<std::time::SystemTime>, Option<String>)>>,
    /// Makes and checks enrollment challenges.
    challenger: Challenger,
    /// Where the signed roster stands ([`roster_log::mark`]), and when it was read: sent
    /// on every push and pull so that devices fetch the roster when it changed.
    roster_mark: Mutex<Option<(std::time::Instant, String)>>,
    /// What one device may keep, and how fast one address may enroll.
    pub limits: Limits,
    /// Each address's enrollment allowance: requests left, and when it was counted.
    enroll_gate: Mutex<std::collections::HashMap<std::net::IpAddr, (f64, std::time::Instant)>>,
}

/// How long the roster mark is kept before the store is read again (another instance
/// of the hub may have appended meanwhile).
const ROSTER_MARK_TTL: std::time::Duration = std::time::Duration::from_secs(5);

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("dir", &self.dir)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

/// How a blob from a bundle was taken in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Installed {
    /// Stored now.
    Stored,
    /// The hub had it complete already.
    Existing,
    /// The hub has another blob with this id.
    Mismatch,
}

/// An audience outside the protocol's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AudienceError {
    /// Too few or too many entries: how many there are.
    #[error("1 to {max} audience entries, not {0}", max = wire::MAX_AUDIENCE)]
    Count(usize),
    /// An entry is empty or too long.
    #[error("an audience entry is empty or longer than {max} bytes", max = wire::MAX_RECIPIENT)]
    Entry,
}

/// The system gave no randomness (for an invite token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no randomness: {0}")]
pub struct RandomnessError(pub getrandom::Error);

/// Why a hub cannot open its data folder and storage.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The storage choice is unreadable or inconsistent.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The data folder or its keys.
    #[error(transparent)]
    Keys(#[from] KeysError),
    /// The database cannot be opened or used. The message is the store's own (it names
    /// the folder or the database), without the `storage:` of its 503 log lines.
    #[error("{}", .0.0)]
    Store(StoreError),
    /// The evidence folder (`--blob-dir`) cannot be created: the folder, why.
    #[error("cannot create {path}: {1}", path = .0.display())]
    BlobFolder(PathBuf, io::Error),
    /// A shared database served with other keys: their pin, this folder's pin.
    #[error(
        "the database is served with the hub key {0}, and this folder has the key {1}: \
         copy tls.key, tls.crt and bundle.key from the data folder of an instance already \
         serving it (devices accept only the pin their invite carried). To make this \
         folder's keys the organisation's instead (every device must then enroll again), \
         start once with --adopt-keys"
    )]
    OtherKeys(String, String),
}

/// Why a blob from a bundle was not taken in.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The blob's bytes cannot be put in place: the blob, why.
    #[error("blob {0}: {1}")]
    Bytes(Uuid, io::Error),
}

/// The SHA-256 under which an invite token is kept.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn no_certificate() -> ApiError {
    ApiError::NotEnrolled(
        "enrollment needs the device's TLS certificate on the connection, and it presented \
         none"
            .into(),
    )
}

/// Decodes a device's signing key (base64 of 32 bytes; padding optional).
pub fn signer_key(signer: &str) -> Option<ed25519_dalek::VerifyingKey> {
    let bytes = STANDARD_NO_PAD.decode(signer.trim_end_matches('=')).ok()?;
    let bytes: [u8; 32] = bytes.try_into().ok()?;
    ed25519_dalek::VerifyingKey::from_bytes(&bytes).ok()
}

/// Checks an audience against the protocol's limits.
pub fn check_audience(audience: &[String]) -> Result<(), AudienceError> {
    if audience.is_empty() || audience.len() > wire::MAX_AUDIENCE {
        return Err(AudienceError::Count(audience.len()));
    }
    if audience
        .iter()
        .any(|a| a.is_empty() || a.len() > wire::MAX_RECIPIENT)
    {
        return Err(AudienceError::Entry);
    }
    Ok(())
}

/// True for 64 lowercase hex digits.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A new invite token: 32 random bytes, base64url.
pub fn new_token() -> Result<String, RandomnessError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(RandomnessError)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

fn io_unavailable(what: &str, e: std::io::Error) -> ApiError {
    log::error(&format!("{what}: {e}"));
    ApiError::Unavailable(
        "the hub cannot store or read evidence files right now: try again later".into(),
    )
}

impl Hub {
    /// Opens the hub in `dir` with the storage recorded there ([`Storage::load`]).
    pub fn open(dir: DataDir) -> Result<Hub, OpenError> {
        let storage = Storage::load(&dir)?;
        Hub::open_with(dir, &storage, false)
    }

    /// Opens the hub in `dir` on `storage`: creates the folder and keys if needed and
    /// opens the database (sled: which fails while another process has it; PostgreSQL:
    /// brings the schema up to date). On a shared database the folder's keys must be
    /// the ones the other instances serve with, unless `adopt_keys` makes them the
    /// organisation's.
    pub fn open_with(dir: DataDir, storage: &Storage, adopt_keys: bool) -> Result<Hub, OpenError> {
        storage.check()?;
        let keys = Keys::load_or_create(&dir)?;
        let Some(url) = &storage.postgres else {
            let store = SledStore::open(&dir.db()).map_err(OpenError::Store)?;
            return Ok(Hub::new(Arc::new(store), dir, keys));
        };
        let store = PgStore::open(url).map_err(OpenError::Store)?;
        let blobs: Arc<dyn BlobStore> = match &storage.blob_dir {
            Some(d) => {
                std::fs::create_dir_all(d).map_err(|e| OpenError::BlobFolder(d.clone(), e))?;
                Arc::new(BlobFiles::new(d))
            }
            None => Arc::new(store.blobs()),
        };
        check_keys(&store, &keys, adopt_keys)?;
        Ok(Hub::with_blobs(Arc::new(store), blobs, dir, keys))
    }

    /// A hub over a store, with blob files in the data folder.
    pub fn new(store: Arc<dyn Store>, dir: DataDir, keys: Keys) -> Hub {
        let blobs = Arc::new(BlobFiles::new(dir.blobs()));
        Hub::with_blobs(store, blobs, dir, keys)
    }

    /// A hub over a store and blob bytes.
    pub fn with_blobs(
        store: Arc<dyn Store>,
        blobs: Arc<dyn BlobStore>,
        dir: DataDir,
        keys: Keys,
    ) -> Hub {
        Hub {
            challenger: Challenger::new(keys.bundle_identity()),
            store,
            blobs,
            dir,
            keys,
            blob_locks: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            next_pin: Mutex::new(None),
            roster_mark: Mutex::new(None),
            limits: Limits::default(),
            enroll_gate: Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// Counts an enrollment request from `ip` against its allowance (a token bucket of
    /// [`Limits::enrollments_per_minute`]): `rate_limited` once it is used up.
    pub fn admit_enrollment(&self, ip: std::net::IpAddr) -> Result<(), ApiError> {
        let rate = f64::from(self.limits.enrollments_per_minute.max(1));
        let now = std::time::Instant::now();
        let mut gate = self.enroll_gate.lock().unwrap_or_else(|p| p.into_inner());
        if gate.len() >= MAX_ENROLL_ADDRESSES && !gate.contains_key(&ip) {
            gate.retain(|_, (left, at)| *left + at.elapsed().as_secs_f64() * rate / 60.0 < rate);
            if gate.len() >= MAX_ENROLL_ADDRESSES {
                return Err(ApiError::RateLimited);
            }
        }
        let (left, at) = gate.entry(ip).or_insert((rate, now));
        *left = (*left + now.duration_since(*at).as_secs_f64() * rate / 60.0).min(rate);
        *at = now;
        if *left < 1.0 {
            return Err(ApiError::RateLimited);
        }
        *left -= 1.0;
        Ok(())
    }

    /// Removes the part files of uploads untouched for `max_age`, and the hub's record
    /// of those uploads: the device starts them again from the beginning. → how many.
    pub fn sweep_parts(&self, max_age: std::time::Duration) -> usize {
        let ids = match self.blobs.abandoned(max_age) {
            Ok(ids) => ids,
            Err(e) => {
                log::warn(&format!("cannot look for abandoned uploads: {e}"));
                return 0;
            }
        };
        let mut removed = 0;
        for id in ids {
            let Ok(_turn) = self.blob_lock(id) else {
                continue;
            };
            // Checked again under the blob's lock: a chunk may have arrived meanwhile.
            match self.blobs.abandoned_part(id, max_age) {
                Ok(true) => {}
                _ => continue,
            }
            if let Ok(Some(m)) = self.store.blob(id) {
                if m.complete || self.store.remove_blob(id).is_err() {
                    continue;
                }
            }
            if self.blobs.discard_part(id).is_ok() {
                removed += 1;
            }
        }
        if removed > 0 {
            log::info(&format!("removed {removed} abandoned upload(s)"));
        }
        removed
    }

    /// Where the signed roster stands, for the `custos-roster` header; empty when the
    /// store cannot say (then no header is sent).
    pub fn roster_mark(&self) -> String {
        let mut cached = self.roster_mark.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, mark)) = cached.as_ref() {
            if at.elapsed() < ROSTER_MARK_TTL {
                return mark.clone();
            }
        }
        match self.store.roster_log() {
            Ok(log) => {
                let mark = roster_log::mark(&log);
                *cached = Some((std::time::Instant::now(), mark.clone()));
                mark
            }
            Err(_) => String::new(),
        }
    }

    /// The turn to change a blob: this process's lock, then the store's (other
    /// instances on a shared database).
    fn blob_lock(&self, id: Uuid) -> Result<(MutexGuard<'_, ()>, BlobTurn), StoreError> {
        let stripe = id.as_bytes()[15] as usize % STRIPES;
        // A panic while holding the lock cannot leave the files and the store
        // disagreeing in a way the next chunk does not repair; go on.
        let local = self.blob_locks[stripe]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let shared = self.store.lock_blob(id)?;
        Ok((local, shared))
    }

    /// The enrolled, non-revoked device with this pin.
    pub fn authenticate(&self, pin: Option<&str>) -> Result<Device, ApiError> {
        let pin = pin.ok_or_else(|| {
            ApiError::NotEnrolled(
                "this request needs the device's certificate: the connection presented none".into(),
            )
        })?;
        let device = self.store.device_by_pin(pin)?.ok_or_else(|| {
            ApiError::NotEnrolled("this device is not enrolled with this hub".into())
        })?;
        if device.revoked {
            return Err(ApiError::Revoked);
        }
        Ok(device)
    }

    /// `POST /v1/enroll/challenge` from a connection whose certificate has `pin`: a
    /// secret only the holder of the claimed vault key can read
    /// ([`crate::enrollment`]).
    pub fn enroll_challenge(
        &self,
        pin: Option<String>,
        claim: EnrollClaim,
    ) -> Result<EnrollChallenge, ApiError> {
        let pin = pin.ok_or_else(no_certificate)?;
        if claim.token.is_empty() || claim.token.len() > MAX_TOKEN {
            return Err(ApiError::InvalidInvite);
        }
        self.challenger.challenge(&pin, &claim, Utc::now())
    }

    /// `POST /v1/enroll` from a connection whose certificate has `pin`: with the proof
    /// that the device holds the keys it enrolls with.
    pub fn enroll(
        &self,
        pin: Option<String>,
        req: EnrollRequest,
    ) -> Result<EnrollResponse, ApiError> {
        let pin = pin.ok_or_else(no_certificate)?;
        if req.token.is_empty() || req.token.len() > MAX_TOKEN {
            return Err(ApiError::InvalidInvite);
        }
        let claim = EnrollClaim {
            token: req.token.clone(),
            vault_recipient: req.vault_recipient.clone(),
            signer: req.signer.clone(),
        };
        self.challenger
            .verify(&pin, &claim, req.proof.as_ref(), Utc::now())?;
        let label: String = req
            .label
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_LABEL)
            .collect();
        let label = match label.trim() {
            "" => "device".to_string(),
            l => l.to_string(),
        };
        let now = Utc::now();
        let candidate = Device {
            id: Uuid::new_v4(),
            pin,
            label,
            role: Role::Field,
            signer: req.signer,
            vault_recipient: req.vault_recipient,
            enrolled_at: now,
            revoked: false,
        };
        let device = match self.store.enroll(token_hash(&req.token), candidate, now)? {
            EnrollOutcome::Enrolled(d) if d.revoked => return Err(ApiError::Revoked),
            EnrollOutcome::Enrolled(d) => d,
            EnrollOutcome::UnknownToken => return Err(ApiError::InvalidInvite),
            EnrollOutcome::Expired => return Err(ApiError::InviteExpired),
            EnrollOutcome::Used => return Err(ApiError::InviteUsed),
            EnrollOutcome::PinTaken(d) if d.revoked => return Err(ApiError::Revoked),
            EnrollOutcome::PinTaken(d) => {
                return Err(ApiError::Malformed(format!(
                    "this device is already enrolled with this hub (as {}); the invite was \
                     not used",
                    d.id
                )))
            }
        };
        log::info(&format!(
            "device {} enrolled as {}",
            device.id,
            device.role.as_str()
        ));
        Ok(EnrollResponse {
            device_id: device.id,
            role: device.role,
            coordinators: self.store.coordinators()?,
            hub_recipient: self.keys.hub_recipient.clone(),
        })
    }

    /// `GET /v1/roster`, as `device` may see it: a coordinator's device, everything; a
    /// field device, the coordinators' devices and its own vault's ([`needs_device`]),
    /// and of the signed log every other device's entry and revocation withheld
    /// ([`roster_log::Entry::withheld`]).
    pub fn roster(&self, device: &Device) -> Result<Roster, ApiError> {
        let sees = |role: Role, vault: &str| {
            device.role == Role::Coordinator || needs_device(device, role, vault)
        };
        let devices = self
            .store
            .devices()?
            .into_iter()
            .filter(|d| sees(d.role, &d.vault_recipient))
            .map(|d| RosterDevice {
                device_id: d.id,
                label: d.label,
                role: d.role,
                signer: d.signer,
                vault_recipient: d.vault_recipient,
                enrolled_at: d.enrolled_at,
                revoked: d.revoked,
            })
            .collect();
        Ok(Roster {
            coordinators: self.store.coordinators()?,
            hub_recipient: self.keys.hub_recipient.clone(),
            devices,
            next_pin: self.next_pin(),
            log: self.roster_log_for(device)?,
        })
    }

    /// The signed log as `device` may see it (see [`Hub::roster`]).
    fn roster_log_for(&self, device: &Device) -> Result<Vec<roster_log::Entry>, ApiError> {
        let log = self.store.roster_log()?;
        if device.role == Role::Coordinator {
            return Ok(log);
        }
        let mut shown = std::collections::HashSet::new();
        Ok(log
            .into_iter()
            .map(|e| match &e.change {
                roster_log::Change::Device {
                    signer,
                    vault_recipient,
                    role,
                    ..
                } => {
                    if needs_device(device, *role, vault_recipient) {
                        shown.insert(signer.clone());
                        e
                    } else {
                        e.withheld()
                    }
                }
                roster_log::Change::Revoke { signer, .. } if !shown.contains(signer) => {
                    e.withheld()
                }
                _ => e,
            })
            .collect())
    }

    /// `POST /v1/roster/log`: a coordinator's device appends entries to the
    /// organisation's signed roster. The whole log they make must verify with the
    /// organisation key: the key of the genesis the hub holds, or, for a new log, the key
    /// its own genesis names. The hub holds no organisation key and can neither sign
    /// entries nor, through this, ever change the key.
    pub fn append_roster_log(&self, device: &Device, req: RosterAppend) -> Result<Head, ApiError> {
        if device.role != Role::Coordinator {
            return Err(ApiError::NotCoordinator);
        }
        if req.entries.is_empty() {
            return Err(ApiError::Malformed("no roster entries to append".into()));
        }
        if req.entries.iter().any(roster_log::Entry::is_withheld) {
            return Err(ApiError::RosterInvalid(
                "a withheld entry is not an entry: the organisation signs whole entries".into(),
            ));
        }
        let mut whole = self.store.roster_log()?;
        let last = whole.last().map_or(0, |e| e.seq);
        if req.after != last {
            return Err(ApiError::RosterConflict(last));
        }
        let stored = whole.len();
        let org = if stored == 0 {
            roster_log::genesis_key(&req.entries).ok_or_else(|| {
                ApiError::RosterInvalid(
                    "a new roster starts with a genesis naming the organisation key".into(),
                )
            })?
        } else {
            roster_log::genesis_key(&whole).ok_or_else(|| {
                log::error("the stored roster has no readable organisation key");
                ApiError::Unavailable("the hub holds a damaged roster".into())
            })?
        };
        let first = req.after.saturating_add(1);
        whole.extend(req.entries);
        let head = match roster_log::verify(&org, None, &whole) {
            Ok(v) => v.head,
            Err(e) => {
                log::warn(&format!(
                    "roster entries from {first} sent by device {} were refused: {e}",
                    device.id
                ));
                return Err(ApiError::RosterInvalid(refusal(&e)));
            }
        };
        match self.store.append_roster_log(req.after, &whole[stored..])? {
            LogAppend::Appended => {}
            LogAppend::Conflict(last) => return Err(ApiError::RosterConflict(last)),
        }
        *self.roster_mark.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((std::time::Instant::now(), roster_log::mark(&whole)));
        // A revocation the organisation signed is applied here too: the revoked device
        // is refused from now on, as after `custos-hub devices revoke` (devices keep what
        // it sent before, which came through the hub while it was trusted).
        let revoked: Vec<&str> = whole[stored..]
            .iter()
            .filter_map(|e| match &e.change {
                roster_log::Change::Revoke { signer, .. } => Some(signer.as_str()),
                _ => None,
            })
            .collect();
        if !revoked.is_empty() {
            for d in self.store.devices()? {
                if !d.revoked && revoked.contains(&d.signer.as_str()) {
                    self.store.revoke(d.id)?;
                    log::info(&format!("device {} revoked by the signed roster", d.id));
                }
            }
        }
        log::info(&if head.seq == first {
            format!("roster entry {first} appended")
        } else {
            format!("roster entries {first} to {} appended", head.seq)
        });
        Ok(head)
    }

    /// The pin of the next TLS key while a rotation is prepared (`custos-hub pin next`
    /// takes effect without a restart: the file is looked at, and read again only when
    /// it changed).
    pub fn next_pin(&self) -> Option<String> {
        let stamp = std::fs::metadata(self.dir.tls_next_crt())
            .and_then(|m| m.modified())
            .ok();
        let mut cached = self.next_pin.lock().unwrap_or_else(|p| p.into_inner());
        match cached.as_ref() {
            Some((at, pin)) if *at == stamp => pin.clone(),
            _ => {
                let pin = stamp.and_then(|_| crate::keys::next_pin(&self.dir));
                *cached = Some((stamp, pin.clone()));
                pin
            }
        }
    }

    /// `POST /v1/objects`: stores a decoded batch, atomically.
    pub fn push(&self, device: &Device, frames: &[Frame]) -> Result<PushResult, ApiError> {
        let quota = self.limits.objects;
        let usage = self.store.usage(device.id)?;
        if usage.objects.saturating_add(frames.len() as u64) > quota {
            // Only what the hub does not hold yet counts (a retry is not refused).
            let ids: Vec<Uuid> = frames.iter().map(|f| f.id).collect();
            let held = self.store.held(Uuid::nil(), None, &ids)?.len() as u64;
            let new = (frames.len() as u64).saturating_sub(held);
            if usage.objects.saturating_add(new) > quota {
                return Err(ApiError::QuotaExceeded(format!(
                    "this device has {} of its {quota} objects on the hub, and this sync \
                     brings {new} more: ask the hub's administrator to raise its quota",
                    usage.objects
                )));
            }
        }
        let outcomes = self.store.push(device.id, Utc::now(), frames)?;
        let mut result = PushResult::default();
        for (frame, outcome) in frames.iter().zip(outcomes) {
            match outcome {
                PushOutcome::Stored(_) => result.stored += 1,
                PushOutcome::Existing => result.existing += 1,
                PushOutcome::IdTaken => result.rejected.push(Rejected {
                    id: frame.id,
                    error: "id_taken".into(),
                }),
            }
        }
        Ok(result)
    }

    /// `GET /v1/objects`.
    pub fn pull(&self, device: &Device, since: u64, limit: usize) -> Result<PullPage, ApiError> {
        self.pull_as(device, device.id, since, limit)
    }

    /// Like [`Hub::pull`], with the objects the device pushed itself too.
    pub fn pull_including_own(
        &self,
        device: &Device,
        since: u64,
        limit: usize,
    ) -> Result<PullPage, ApiError> {
        // No device has the nil id: nothing is left out as "pushed by the caller".
        self.pull_as(device, Uuid::nil(), since, limit)
    }

    fn pull_as(
        &self,
        device: &Device,
        pusher: Uuid,
        since: u64,
        limit: usize,
    ) -> Result<PullPage, ApiError> {
        Ok(self.store.pull(&PullQuery {
            since,
            limit,
            max_bytes: wire::MAX_BODY,
            max_examined: MAX_EXAMINED,
            device: pusher,
            recipient: match device.role {
                Role::Coordinator => None,
                Role::Field => Some(device.vault_recipient.clone()),
            },
        })?)
    }

    /// `POST /v1/objects/held`: which of these objects the hub holds and `device` may
    /// read.
    pub fn held(&self, device: &Device, req: HeldRequest) -> Result<HeldResponse, ApiError> {
        if req.ids.len() > wire::MAX_HELD {
            return Err(ApiError::TooLarge(format!(
                "at most {} ids per question, not {}",
                wire::MAX_HELD,
                req.ids.len()
            )));
        }
        let recipient = match device.role {
            Role::Coordinator => None,
            Role::Field => Some(device.vault_recipient.as_str()),
        };
        Ok(HeldResponse {
            held: self.store.held(device.id, recipient, &req.ids)?,
        })
    }

    /// A blob the device may see: its audience includes the device (or the device is a
    /// coordinator), or the device announced it.
    fn visible_blob(&self, device: &Device, id: Uuid) -> Result<BlobMeta, ApiError> {
        match self.store.blob(id)? {
            Some(m) if m.pushed_by == device.id || device.may_read(&m.audience) => Ok(m),
            _ => Err(ApiError::NotFound(format!("the hub has no blob {id}"))),
        }
    }

    /// `POST /v1/blobs/{id}`.
    pub fn announce_blob(
        &self,
        device: &Device,
        id: Uuid,
        a: BlobAnnounce,
    ) -> Result<BlobState, ApiError> {
        if a.size == 0 {
            return Err(ApiError::Malformed("a blob has at least one byte".into()));
        }
        if !is_sha256_hex(&a.sha256) {
            return Err(ApiError::Malformed(
                "sha256 is not 64 lowercase hex digits".into(),
            ));
        }
        check_audience(&a.audience).map_err(|e| ApiError::Malformed(e.to_string()))?;
        let _turn = self.blob_lock(id)?;
        if self.store.blob(id)?.is_none() {
            let quota = self.limits.evidence_bytes;
            let used = self.store.usage(device.id)?.evidence_bytes;
            if used.saturating_add(a.size) > quota {
                return Err(ApiError::QuotaExceeded(format!(
                    "this device has {used} of its {quota} bytes of evidence on the hub, and \
                     this file has {} more: ask the hub's administrator to raise its quota",
                    a.size
                )));
            }
        }
        let meta = BlobMeta {
            size: a.size,
            sha256: a.sha256,
            audience: a.audience,
            received: 0,
            complete: false,
            pushed_by: device.id,
            received_at: Utc::now(),
        };
        let stored = self.store.announce_blob(id, &meta)?;
        if stored.size != meta.size || stored.sha256 != meta.sha256 {
            return Err(ApiError::BlobMismatch);
        }
        Ok(BlobState {
            received: stored.received,
            complete: stored.complete,
        })
    }

    /// `PUT /v1/blobs/{id}/{offset}`.
    pub fn put_chunk(
        &self,
        device: &Device,
        id: Uuid,
        offset: u64,
        bytes: &[u8],
    ) -> Result<BlobState, ApiError> {
        let _turn = self.blob_lock(id)?;
        let mut meta = self.visible_blob(device, id)?;
        if offset != meta.received {
            return Err(ApiError::OffsetMismatch(meta.received));
        }
        let end = offset
            .checked_add(bytes.len() as u64)
            .filter(|&end| end <= meta.size)
            .ok_or_else(|| {
                ApiError::Malformed(format!(
                    "the chunk goes past the blob's announced size of {} bytes",
                    meta.size
                ))
            })?;
        if meta.complete || bytes.is_empty() {
            return Ok(BlobState {
                received: meta.received,
                complete: meta.complete,
            });
        }
        self.blobs
            .write_at(id, offset, bytes)
            .map_err(|e| io_unavailable(&format!("blob {id}"), e))?;
        meta.received = end;
        if end == meta.size {
            let sha = self
                .blobs
                .part_sha256(id, meta.size)
                .map_err(|e| io_unavailable(&format!("blob {id}"), e))?;
            if sha != meta.sha256 {
                self.blobs
                    .discard(id)
                    .map_err(|e| io_unavailable(&format!("blob {id}"), e))?;
                self.store.remove_blob(id)?;
                return Err(ApiError::BlobHashMismatch);
            }
            self.blobs
                .finish(id)
                .map_err(|e| io_unavailable(&format!("blob {id}"), e))?;
            meta.complete = true;
        }
        self.store.put_blob(id, &meta)?;
        Ok(BlobState {
            received: meta.received,
            complete: meta.complete,
        })
    }

    /// `GET /v1/blobs/{id}`.
    pub fn blob_info(&self, device: &Device, id: Uuid) -> Result<BlobInfo, ApiError> {
        let m = self.visible_blob(device, id)?;
        Ok(BlobInfo {
            size: m.size,
            sha256: m.sha256,
            received: m.received,
            complete: m.complete,
        })
    }

    /// `GET /v1/blobs/{id}/data`: the bytes from `offset` (at most `len`, at most `max`,
    /// at most what is left).
    pub fn blob_range(
        &self,
        device: &Device,
        id: Uuid,
        offset: u64,
        len: Option<u64>,
        max: u64,
    ) -> Result<BlobRange, ApiError> {
        let m = self.visible_blob(device, id)?;
        if !m.complete {
            return Err(ApiError::NotFound(format!(
                "blob {id} is not complete on the hub yet"
            )));
        }
        if offset > m.size {
            return Err(ApiError::Malformed(format!(
                "offset {offset} is past the blob's end ({} bytes)",
                m.size
            )));
        }
        let n = (m.size - offset).min(len.unwrap_or(u64::MAX)).min(max);
        self.blobs
            .read_range(id, offset, n)
            .map_err(|e| io_unavailable(&format!("blob {id}"), e))
    }

    /// Takes in a complete, checked blob file from a bundle (`staged`, on the same disk).
    pub fn install_blob(
        &self,
        pushed_by: Uuid,
        blob: &BundleBlob,
        staged: &Path,
    ) -> Result<Installed, InstallError> {
        let _turn = self.blob_lock(blob.id)?;
        let meta = BlobMeta {
            size: blob.size,
            sha256: blob.sha256.clone(),
            audience: blob.audience.clone(),
            received: blob.size,
            complete: true,
            pushed_by,
            received_at: Utc::now(),
        };
        if let Some(old) = self.store.blob(blob.id)? {
            if old.size != blob.size || old.sha256 != blob.sha256 {
                return Ok(Installed::Mismatch);
            }
            if old.complete {
                return Ok(Installed::Existing);
            }
        }
        self.blobs
            .install(blob.id, staged)
            .map_err(|e| InstallError::Bytes(blob.id, e))?;
        self.store.put_blob(blob.id, &meta)?;
        Ok(Installed::Stored)
    }
}

/// Whether a field device needs a device of the roster: a coordinator's device (whose
/// versions it accepts), or one of its own vault's.
fn needs_device(field: &Device, role: Role, vault_recipient: &str) -> bool {
    role == Role::Coordinator || vault_recipient == field.vault_recipient
}

/// Why the hub refuses roster entries, in its own words (a [`roster_log::LogError`]
/// speaks for a device checking the log).
fn refusal(e: &roster_log::LogError) -> String {
    use roster_log::LogError;
    match e {
        LogError::WrongOrganisation => {
            "the roster does not start with a genesis signed by the organisation key it names"
                .into()
        }
        LogError::Forged(n) => format!("entry {n} is not signed by the organisation key"),
        LogError::Broken(n) => {
            format!("entry {n} does not follow the one before it (its number or its link to it)")
        }
        LogError::Malformed(n) => format!(
            "entry {n} is malformed (a second genesis, a key or recipient that is not one, \
             a device named twice, or a revocation of a device the roster does not name)"
        ),
        LogError::Truncated { .. } | LogError::Forked(_) => e.to_string(),
    }
}

/// Refuses to serve a shared database with keys other than the ones the other instances
/// serve with (devices would see another pin there), unless `adopt` makes this folder's
/// keys the organisation's.
fn check_keys(store: &dyn Store, keys: &Keys, adopt: bool) -> Result<(), OpenError> {
    let mine = format!("{} {}", keys.pin, keys.hub_recipient);
    let recorded = store
        .init_setting(KEYS_SETTING, &mine)
        .map_err(OpenError::Store)?;
    if recorded == mine {
        return Ok(());
    }
    if adopt {
        store
            .set_setting(KEYS_SETTING, &mine)
            .map_err(OpenError::Store)?;
        log::warn(&format!(
            "this folder's keys are now the organisation's: pin {}; instances with the \
             old keys are refused at their next start",
            keys.pin
        ));
        return Ok(());
    }
    let theirs = recorded.split(' ').next().unwrap_or("");
    Err(OpenError::OtherKeys(theirs.to_owned(), keys.pin.clone()))
}
