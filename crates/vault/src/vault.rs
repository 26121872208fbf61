//! The vault: a folder on the device holding case records as age ciphertext.
//!
//! ```text
//! vault.json      plaintext: format, format version, SHA-256 of identity.age
//! identity.age    the vault's age X25519 identity, encrypted with the passphrase (scrypt)
//! db/             sled: `versions` (version id → ciphertext), `meta` (keyring, index)
//! db/values/      the ciphertexts of large commits, which `versions` points to
//! vault.lock      advisory lock: one process at a time
//! ```
//!
//! How-to: `Vault::create` or `Vault::unlock` gives an unlocked vault; `commit` (or
//! `add`, `update`, `delete`) writes a
//! user action (one or more [`Change`]s) as one durable batch; `get`, `history`, `list`
//! read; `lock` drops every key and decrypted value.

use std::any::Any;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, RwLock};

use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::Zeroize;

use crate::crypto::{DeviceKey, KdfCost, KeyCache, VaultIdentity, VaultRecipient};
use crate::index::{Index, Summary};
use crate::store::Store;
use custos_model::hlc::{Clock, Hlc};
use custos_model::{CaseStatus, Kind, Record};

mod backup;
mod codec;
mod commit;
mod device;
mod duress;
mod evidence;
mod lifecycle;
mod merge;
mod read;
mod rollback;
mod snapshot;
mod sync;
mod travel;
pub use backup::fingerprint;
pub use device::{keys_dir, on_wipe, Wiped};
pub use duress::{DuressAction, DECOY};
pub use evidence::{
    Action, Attach, CustodyEntry, EvidenceReader, Exported, ImportedFile, Verification, BLOBS,
};
pub use merge::{FieldConflict, MergeProposal};
pub use read::READ_CHUNK;
pub use rollback::Checkpoint;
pub use sync::{
    BlobJob, Credentials, Exchange, Gap, Ingested, OrgInfo, PendingCoordinator, Reader, SyncInfo,
    SyncPlan, TrustChange, Unapproved,
};
pub use travel::{Confirmed, Removed, TravelPlan};

pub use codec::parse_version;
// The layers' shared helpers, for every module of the vault.
use codec::*;
use lifecycle::*;

/// The vault folder format this build writes.
pub const FORMAT_VERSION: u32 = 1;
const FORMAT_NAME: &str = "custos-vault";
const IDENTITY: &str = "identity.age";
const IDENTITY_NEW: &str = "identity.age.new";
const MANIFEST: &str = "vault.json";
const LOCK: &str = "vault.lock";
const DB: &str = "db";
const META_KEYRING: &str = "keyring";
const META_INDEX: &str = "index";
const META_KEYCACHE: &str = "keycache";
/// The search index's snapshot (written by `custos-search`, age-encrypted to the vault
/// and signed): the vault names it only to remove it with the records it indexed.
pub const SEARCH_SNAPSHOT: &str = "search.age";
/// The snapshot being written, renamed over [`SEARCH_SNAPSHOT`] when complete.
pub const SEARCH_SNAPSHOT_NEW: &str = "search.age.new";
/// Versions written since the last snapshot after which it is saved without waiting for
/// lock: at most this many versions are decrypted the slow way after a crash (~1 s).
const SNAPSHOT_AFTER: usize = 20_000;

/// Options for creating or opening a vault.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Passphrase key derivation cost for new identity files.
    pub kdf: KdfCost,
    /// Free disk space (bytes) that writes leave untouched; a write that would eat into
    /// it is refused as "disk full" before the database sees it.
    pub disk_reserve: u64,
    /// Bind a new vault to this device: its key file is also encrypted to a device key
    /// kept outside the vault folder (`device.rs`), so a copy of the folder does not open
    /// elsewhere, and a panic wipe makes earlier copies useless here too.
    pub bind_to_device: bool,
}

/// The default free-space reserve: 16 MiB.
pub const DISK_RESERVE: u64 = 16 << 20;

impl Default for Options {
    fn default() -> Self {
        Options {
            kdf: KdfCost::Calibrated,
            disk_reserve: DISK_RESERVE,
            bind_to_device: true,
        }
    }
}

impl Options {
    /// Options for test suites: a fast, insecure KDF (never for a real vault), and no
    /// device key (test vaults are copied around and leave nothing outside their folder).
    pub const fn insecure_for_tests() -> Options {
        Options {
            kdf: KdfCost::InsecureTestOnly(10),
            disk_reserve: DISK_RESERVE,
            bind_to_device: false,
        }
    }
}

/// The plaintext manifest (`vault.json`). It holds nothing secret.
#[derive(Serialize, Deserialize)]
struct Manifest {
    format: String,
    format_version: u32,
    identity_sha256: String,
    /// The id of the device key `identity.age` is also encrypted to (none: not bound).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    device_key: Option<String>,
}

/// The device's keys, stored age-encrypted in the `meta` tree.
#[derive(Serialize, Deserialize)]
struct KeyringFile {
    device_id: Uuid,
    signing_key: String,
    trusted_signers: Vec<String>,
}

impl Drop for KeyringFile {
    fn drop(&mut self) {
        self.signing_key.zeroize();
    }
}

struct Keys {
    identity: VaultIdentity,
    /// The vault's own recipient: local values (keyring, index, caches) are sealed to it.
    recipients: Vec<VaultRecipient>,
    /// The organisation's coordinators, once enrolled with a hub: versions and evidence
    /// files are sealed to them too.
    org: Vec<VaultRecipient>,
    device: DeviceKey,
    device_id: Uuid,
    signer: String,
    trusted: Vec<String>,
}

/// One change in a user action.
#[derive(Debug, Clone)]
pub enum Change {
    /// A new record.
    Create(Record),
    /// A new record with an id chosen by the caller (an import: the id derives from the
    /// source's own id, so a second import of the same export finds it). Refused when a
    /// record with that id is already in the vault.
    Import {
        /// The id it is to have.
        record_id: Uuid,
        /// Its content.
        record: Record,
    },
    /// A new version of an existing record (restores a deleted one).
    Update {
        /// The record.
        record_id: Uuid,
        /// Its new content.
        record: Record,
    },
    /// Deletes a record (a tombstone version; history stays).
    Delete {
        /// The record.
        record_id: Uuid,
    },
}

/// What a change wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// The record.
    pub record_id: Uuid,
    /// The new version.
    pub version_id: Uuid,
}

/// A record at one version, decrypted.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordView {
    /// The record.
    pub record_id: Uuid,
    /// The version shown.
    pub version_id: Uuid,
    /// The record's kind.
    pub kind: Kind,
    /// Its parents.
    pub parents: Vec<Uuid>,
    /// When it was written.
    pub hlc: Hlc,
    /// Which device wrote it.
    pub device: Uuid,
    /// The content; `None` for a tombstone.
    pub record: Option<Record>,
    /// Every head's version id; more than one is a conflict.
    pub heads: Vec<Uuid>,
}

impl RecordView {
    /// Takes the content out (the view wipes whatever it still holds when dropped).
    pub fn into_record(mut self) -> Option<Record> {
        self.record.take()
    }
}

impl Drop for RecordView {
    fn drop(&mut self) {
        if let Some(r) = &mut self.record {
            r.zeroize();
        }
    }
}

/// A line of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct ListItem {
    /// The record.
    pub record_id: Uuid,
    /// Its kind.
    pub kind: Kind,
    /// What the list shows.
    pub summary: Summary,
    /// When it last changed.
    pub updated: Hlc,
    /// How many versions it has.
    pub versions: usize,
    /// True when it is deleted.
    pub deleted: bool,
    /// True when concurrent edits left more than one head.
    pub conflict: bool,
}

/// The JSON shape of a list line (CLI `list --json`, the desktop app).
impl Serialize for ListItem {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Out<'a> {
            record_id: Uuid,
            kind: Kind,
            title: &'a str,
            case_id: Option<Uuid>,
            status: Option<CaseStatus>,
            tags: &'a [String],
            act_types: &'a [String],
            date: Option<chrono::NaiveDate>,
            updated: String,
            versions: usize,
            deleted: bool,
            conflict: bool,
        }
        Out {
            record_id: self.record_id,
            kind: self.kind,
            title: &self.summary.title,
            case_id: self.summary.case_id,
            status: self.summary.status,
            tags: &self.summary.tags,
            act_types: &self.summary.act_types,
            date: self.summary.date,
            updated: self.updated.to_rfc3339(),
            versions: self.versions,
            deleted: self.deleted,
            conflict: self.conflict,
        }
        .serialize(s)
    }
}

/// The JSON shape of a record at one version (CLI `show --json`, the desktop app).
impl Serialize for RecordView {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Out<'a> {
            record_id: Uuid,
            version_id: Uuid,
            kind: Kind,
            parents: &'a [Uuid],
            updated: String,
            device: Uuid,
            deleted: bool,
            conflict: bool,
            heads: &'a [Uuid],
            record: Option<&'a Record>,
        }
        Out {
            record_id: self.record_id,
            version_id: self.version_id,
            kind: self.kind,
            parents: &self.parents,
            updated: self.hlc.to_rfc3339(),
            device: self.device,
            deleted: self.record.is_none(),
            conflict: self.heads.len() > 1,
            heads: &self.heads,
            record: self.record.as_ref(),
        }
        .serialize(s)
    }
}

impl Drop for ListItem {
    fn drop(&mut self) {
        self.summary.zeroize();
    }
}

/// Which records a list shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this kind.
    pub kind: Option<Kind>,
    /// Only records of this case (and the case itself).
    pub case_id: Option<Uuid>,
    /// Only cases with this status.
    pub status: Option<CaseStatus>,
    /// Only cases with this tag.
    pub tag: Option<String>,
    /// Include deleted records.
    pub include_deleted: bool,
}

/// An unlocked vault.
pub struct Vault {
    dir: PathBuf,
    options: Options,
    store: Store,
    keys: Keys,
    index: Index,
    /// File keys of verified ciphertexts: read by every decode (in parallel), written
    /// when one is learned. Read from its snapshot at its first use, not at unlock
    /// (`Vault::key_cache`): listing and searching need none of it.
    cache: RwLock<KeyCache>,
    /// Done once the stored key cache was read into `cache` (or there was none).
    cache_loaded: std::sync::Once,
    cache_dirty: AtomicBool,
    clock: Clock,
    unsnapshotted: usize,
    /// The hub settings, once enrolled.
    sync: Option<sync::SyncState>,
    /// The last version this device wrote, and its number.
    chain: ChainHead,
    /// The file key the chain head is sealed with while the vault is unlocked
    /// ([`Vault::seal_chain`]); made at the first save, dropped (zeroized) at lock.
    chain_key: Option<crate::crypto::SharedKey>,
    /// X25519 shares prepared ahead for the recipients this vault seals to, so that a
    /// save does no X25519 on its path (`crypto::Shares`; zeroized at lock).
    shares: crate::crypto::Shares,
    /// State a crate above derives from the records (the search index): held and dropped
    /// with the unlocked vault, cleared when travel mode removes records.
    derived: Mutex<Option<Box<dyn Any + Send>>>,
    // Last, so that the advisory lock is released after the store is closed.
    _lock: File,
}

/// Where this device's chain of versions stands (sealed in the `meta` tree as
/// [`META_CHAIN`]).
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
struct ChainHead {
    seq: u64,
    last: Option<Uuid>,
}

/// The meta key of [`ChainHead`].
const META_CHAIN: &str = "chain";

/// Starts the derived state of a vault being unlocked (see [`Vault::unlock_deriving`]).
type DeriveStart<'a> = dyn Fn(&Path, &VaultIdentity) -> Box<dyn Any + Send> + 'a;

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("dir", &self.dir)
            .field("records", &self.index.entries().count())
            .finish_non_exhaustive()
    }
}

impl Drop for Vault {
    fn drop(&mut self) {
        // Best effort: a lost snapshot only makes the next unlock slower.
        let _ = self.save_snapshot();
    }
}
