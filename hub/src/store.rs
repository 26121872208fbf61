//! What the hub keeps, behind one narrow trait with two implementations: sled, embedded
//! in the data folder (the default, nothing to set up), and PostgreSQL, for
//! organisations running several hub instances on one database.
//!
//! The store holds routing metadata and object ciphertexts. Blob bytes live in a
//! [`crate::blobs::BlobStore`] beside it (files, or PostgreSQL); the store keeps their
//! metadata only.

use chrono::{DateTime, Utc};
use custos_wire::roster_log::Entry;
use custos_wire::Frame;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(test)]
mod contract;
pub mod pg;
pub mod sled;

pub use self::pg::PgStore;
pub use self::sled::SledStore;

/// A storage fault: the hub answers `503 unavailable` and logs the cause.
#[derive(Debug, thiserror::Error)]
#[error("storage: {0}")]
pub struct StoreError(pub String);

impl StoreError {
    /// Wraps any error's text.
    pub fn from_display(e: impl std::fmt::Display) -> Self {
        StoreError(e.to_string())
    }
}

/// A store result.
pub type StoreResult<T> = Result<T, StoreError>;

pub use custos_wire::Role;

/// An enrolled device, found by the pin of its TLS key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// The hub's id for it.
    pub id: Uuid,
    /// The pin of its TLS key.
    pub pin: String,
    /// Its label.
    pub label: String,
    /// What it may read.
    pub role: Role,
    /// Its Ed25519 signing key (base64).
    pub signer: String,
    /// Its vault's age recipient.
    pub vault_recipient: String,
    /// When it enrolled.
    pub enrolled_at: DateTime<Utc>,
    /// True once revoked.
    pub revoked: bool,
}

impl Device {
    /// True when the device may read an object or blob with this audience.
    pub fn may_read(&self, audience: &[String]) -> bool {
        self.role == Role::Coordinator || audience.iter().any(|a| a == &self.vault_recipient)
    }
}

/// An invite as the hub keeps it: never the token, only its SHA-256 (the key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteRecord {
    /// The role a device enrolled with it gets.
    pub role: Role,
    /// When it was made.
    pub created: DateTime<Utc>,
    /// When it stops working.
    pub expires: DateTime<Utc>,
    /// The pin of the device that used it.
    pub used_by: Option<String>,
}

/// The result of an enrollment attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnrollOutcome {
    /// The device is enrolled (now, or already by an earlier try with this token and pin).
    Enrolled(Device),
    /// No invite has this token.
    UnknownToken,
    /// The invite expired.
    Expired,
    /// Another device used the invite.
    Used,
    /// This pin is already an enrolled device (through another invite).
    PinTaken(Device),
}

/// What happened to one pushed object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// Stored now under this sequence number.
    Stored(u64),
    /// The hub had it already with the same bytes.
    Existing,
    /// The hub has another object with this id.
    IdTaken,
}

/// A pull: which objects a device receives.
#[derive(Debug, Clone)]
pub struct PullQuery {
    /// Only objects with a higher sequence number.
    pub since: u64,
    /// At most this many objects delivered.
    pub limit: usize,
    /// At most this many bytes of frames delivered (at least one object is, if any).
    pub max_bytes: usize,
    /// At most this many objects examined.
    pub max_examined: usize,
    /// The device pulling: never receives what it pushed.
    pub device: Uuid,
    /// Its vault recipient; `None` for a coordinator (receives every audience).
    pub recipient: Option<String>,
}

/// One page of a pull.
#[derive(Debug, Clone, Default)]
pub struct PullPage {
    /// The objects delivered, in sequence order.
    pub frames: Vec<Frame>,
    /// The highest sequence number examined (the `since` of the next pull).
    pub next: u64,
    /// True when objects after `next` exist.
    pub more: bool,
}

/// A blob's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobMeta {
    /// Bytes of ciphertext.
    pub size: u64,
    /// SHA-256 of the ciphertext, lowercase hex.
    pub sha256: String,
    /// The age recipients it is encrypted to.
    pub audience: Vec<String>,
    /// Bytes received so far (durably, in the blob's file).
    pub received: u64,
    /// True when every byte arrived and the hash checked.
    pub complete: bool,
    /// The device that announced it.
    pub pushed_by: Uuid,
    /// When it was announced.
    pub received_at: DateTime<Utc>,
}

/// What a device keeps on the hub, for its quotas.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Objects it pushed.
    pub objects: u64,
    /// Bytes of the evidence files it announced (complete or not).
    pub evidence_bytes: u64,
}

/// What became of an append to the organisation's signed roster log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogAppend {
    /// The entries are stored.
    Appended,
    /// The log had moved on (its last entry is this one, 0 when empty): nothing stored.
    Conflict(u64),
}

/// Checks that `entries` are numbered `after + 1`, `after + 2`… (what both stores
/// require of an append).
fn check_numbering(after: u64, entries: &[Entry]) -> StoreResult<()> {
    for (i, e) in entries.iter().enumerate() {
        if Some(e.seq) != after.checked_add(i as u64 + 1) {
            return Err(StoreError(format!(
                "roster entry {} appended where entry {} belongs",
                e.seq,
                after.saturating_add(i as u64 + 1)
            )));
        }
    }
    Ok(())
}

/// Held while one blob's bytes and metadata change: the other hub instances on the same
/// database wait for it (within one process the hub also takes a lock of its own).
pub struct BlobTurn(pub Option<Box<dyn Send>>);

impl std::fmt::Debug for BlobTurn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobTurn").finish_non_exhaustive()
    }
}

/// The hub's storage. Every write is durable when the method returns.
pub trait Store: Send + Sync {
    // ----- devices and invites -----

    /// The device with this TLS key pin.
    fn device_by_pin(&self, pin: &str) -> StoreResult<Option<Device>>;
    /// The device with this id.
    fn device(&self, id: Uuid) -> StoreResult<Option<Device>>;
    /// Every device, in enrollment order.
    fn devices(&self) -> StoreResult<Vec<Device>>;
    /// Marks a device revoked; returns it, or `None` when the id is unknown.
    fn revoke(&self, id: Uuid) -> StoreResult<Option<Device>>;
    /// Keeps a new invite under the SHA-256 of its token.
    fn add_invite(&self, token_sha256: [u8; 32], invite: &InviteRecord) -> StoreResult<()>;
    /// Enrolls `candidate` (its pin, keys and label; id and role are set here) with the
    /// invite whose token hashes to `token_sha256`, atomically: the invite is marked used
    /// by the candidate's pin and the device stored, or nothing changes.
    fn enroll(
        &self,
        token_sha256: [u8; 32],
        candidate: Device,
        now: DateTime<Utc>,
    ) -> StoreResult<EnrollOutcome>;

    // ----- organisation settings -----

    /// The organisation's coordinator recipients, in the order they were added.
    fn coordinators(&self) -> StoreResult<Vec<String>>;
    /// Adds a coordinator recipient; false when it was there already.
    fn add_coordinator(&self, recipient: &str) -> StoreResult<bool>;
    /// A setting (such as the address the hub last listened on).
    fn setting(&self, key: &str) -> StoreResult<Option<String>>;
    /// Sets a setting.
    fn set_setting(&self, key: &str, value: &str) -> StoreResult<()>;
    /// Sets a setting unless it is set, atomically; returns the value it has afterwards.
    fn init_setting(&self, key: &str, value: &str) -> StoreResult<String>;

    // ----- the organisation's signed roster -----

    /// The organisation's signed roster log, whole, in entry order (empty until a
    /// coordinator creates the organisation key). The hub checked every entry before it
    /// stored it; it keeps them byte for byte as JSON.
    fn roster_log(&self) -> StoreResult<Vec<Entry>>;
    /// Appends `entries` to the log, atomically and only when its last entry is `after`
    /// (0: the log is empty): all of them, or none and [`LogAppend::Conflict`]. The
    /// entries must be numbered `after + 1`, `after + 2`…, else nothing is stored and it
    /// is an error (the hub checks the log before it appends).
    fn append_roster_log(&self, after: u64, entries: &[Entry]) -> StoreResult<LogAppend>;

    // ----- objects -----

    /// Stores a batch of objects pushed by a device, atomically: one outcome per frame,
    /// in order. Sequence numbers strictly increase across batches and restarts, and are
    /// never below `received` in microseconds since 1970, so that a hub restored from a
    /// backup numbers new objects above the cursors its devices already hold.
    fn push(
        &self,
        pushed_by: Uuid,
        received: DateTime<Utc>,
        frames: &[Frame],
    ) -> StoreResult<Vec<PushOutcome>>;
    /// The objects a device receives after a cursor.
    fn pull(&self, query: &PullQuery) -> StoreResult<PullPage>;
    /// The highest sequence number given so far (0 when none).
    fn last_seq(&self) -> StoreResult<u64>;
    /// Of `ids`, those the hub holds and `device` may read (it pushed them, or
    /// `recipient` is in their audience; every object for a coordinator, whose
    /// `recipient` is `None`), in the order asked.
    fn held(&self, device: Uuid, recipient: Option<&str>, ids: &[Uuid]) -> StoreResult<Vec<Uuid>>;

    // ----- blob metadata -----

    /// A blob's metadata.
    fn blob(&self, id: Uuid) -> StoreResult<Option<BlobMeta>>;
    /// Stores `meta` for a blob unless one exists; returns what is stored afterwards.
    fn announce_blob(&self, id: Uuid, meta: &BlobMeta) -> StoreResult<BlobMeta>;
    /// Replaces a blob's metadata.
    fn put_blob(&self, id: Uuid, meta: &BlobMeta) -> StoreResult<()>;
    /// Forgets a blob.
    fn remove_blob(&self, id: Uuid) -> StoreResult<()>;
    /// Waits for the turn to change a blob across every process using this store. A
    /// store that only one process opens needs nothing beyond the hub's own lock.
    fn lock_blob(&self, _id: Uuid) -> StoreResult<BlobTurn> {
        Ok(BlobTurn(None))
    }

    /// Writes everything to disk (also done by every write method).
    fn flush(&self) -> StoreResult<()>;
    /// What `device` keeps on the hub: its objects and its evidence bytes.
    fn usage(&self, device: Uuid) -> StoreResult<Usage>;
}
