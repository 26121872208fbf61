//! The vault: a folder on the device holding case records as age ciphertext.
//!
//! ```text
//! vault.json      plaintext: format, format version, SHA-256 of identity.age
//! identity.age    the vault's age X25519 identity, encrypted with the passphrase (scrypt)
//! db/             sled: `versions` (version id → ciphertext), `meta` (keyring, index)
//! vault.lock      advisory lock: one process at a time
//! ```
//!
//! How-to: `Vault::create` or `Vault::unlock` gives an unlocked vault; `commit` (or
//! `add`, `update`, `delete`) writes a
//! user action (one or more [`Change`]s) as one durable batch; `get`, `history`, `list`
//! read; `lock` drops every key and decrypted value.

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, RwLock};

use age::secrecy::SecretString;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::{Zeroize, Zeroizing};

use crate::crypto::{self, DeviceKey, KdfCost, KeyCache, VaultIdentity, VaultRecipient};
use crate::error::{Damage, Error, Result};
use crate::index::{Entry, Index, Summary};
use crate::store::{Store, Write};
use custos_model::hlc::{Clock, Hlc};
use custos_model::passphrase;
use custos_model::vocab;
use custos_model::{Body, CaseStatus, Kind, Record, Version, SCHEMA_VERSION};

mod backup;
mod device;
mod duress;
mod evidence;
mod merge;
mod sync;
mod travel;
pub use backup::fingerprint;
pub use device::{keys_dir, on_wipe, Wiped};
pub use duress::{DuressAction, DECOY};
pub use evidence::{Action, Attach, CustodyEntry, EvidenceReader, Exported, Verification, BLOBS};
pub use merge::{FieldConflict, MergeProposal};
pub use sync::{BlobJob, Credentials, Ingested, SyncInfo, SyncPlan};
pub use travel::Removed;

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
    /// when one is learned.
    cache: RwLock<KeyCache>,
    cache_dirty: AtomicBool,
    clock: Clock,
    unsnapshotted: usize,
    /// The hub settings, once enrolled.
    sync: Option<sync::SyncState>,
    /// State a crate above derives from the records (the search index): held and dropped
    /// with the unlocked vault, cleared when travel mode removes records.
    derived: Mutex<Option<Box<dyn Any + Send>>>,
    // Last, so that the advisory lock is released after the store is closed.
    _lock: File,
}

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

impl Vault {
    /// Creates a new vault in `dir` (which must not exist or be empty) and unlocks it.
    ///
    /// Refuses a weak passphrase with the reason.
    pub fn create(dir: &Path, passphrase: &SecretString, options: Options) -> Result<Vault> {
        Self::create_with(dir, passphrase, options, crypto::generate_identity())
    }

    /// Creates a new vault around an existing identity (a key rebuilt from its shares on
    /// a new device).
    fn create_with(
        dir: &Path,
        passphrase: &SecretString,
        options: Options,
        identity: VaultIdentity,
    ) -> Result<Vault> {
        passphrase::require_strong(passphrase)?;
        if dir.join(MANIFEST).exists() {
            return Err(Error::VaultExists(dir.to_owned()));
        }
        if dir.exists() {
            let mut entries = fs::read_dir(dir)
                .map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
            if entries.next().is_some() {
                return Err(Error::Invalid(format!(
                    "{} is not empty; choose an empty or new folder for the vault",
                    dir.display()
                )));
            }
        }
        let existed = dir.exists();
        fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        restrict_permissions(dir);
        let result = Self::create_in(dir, passphrase, options, identity);
        if result.is_err() {
            // The folder was empty or new: leave it as it was, so that a retry (after
            // freeing space, say) is not refused as "not empty".
            if let Ok(entries) = fs::read_dir(dir) {
                for e in entries.flatten() {
                    let p = e.path();
                    let _ = if p.is_dir() {
                        fs::remove_dir_all(&p)
                    } else {
                        fs::remove_file(&p)
                    };
                }
            }
            if !existed {
                let _ = fs::remove_dir(dir);
            }
        }
        result
    }

    fn create_in(
        dir: &Path,
        passphrase: &SecretString,
        options: Options,
        identity: VaultIdentity,
    ) -> Result<Vault> {
        let lock = take_lock(dir)?;

        let device_key = if options.bind_to_device {
            Some(device::new_device_key()?)
        } else {
            None
        };
        let result =
            Self::create_keyed(dir, passphrase, options, identity, lock, device_key.clone());
        if result.is_err() {
            if let Some(id) = &device_key {
                device::forget_device_key(id);
            }
        }
        result
    }

    fn create_keyed(
        dir: &Path,
        passphrase: &SecretString,
        options: Options,
        identity: VaultIdentity,
        lock: File,
        device_key: Option<String>,
    ) -> Result<Vault> {
        let wrapped =
            device::seal_identity(&identity, passphrase, options.kdf, device_key.as_deref())?;
        write_atomic(&dir.join(IDENTITY), &wrapped)?;
        // Every vault has a duress file; without a duress passphrase it is filler.
        duress::write_filler(dir, options.kdf)?;

        let store = Store::open(&dir.join(DB), options.disk_reserve)?;
        let device = DeviceKey::generate();
        let keyring = KeyringFile {
            device_id: Uuid::new_v4(),
            signing_key: base64_encode(&device.to_bytes()[..]),
            trusted_signers: vec![device.public()],
        };
        let recipients = vec![identity.to_public()];
        let sealed_keyring = seal_json(&recipients, &keyring)?;
        store.commit(vec![Write::Meta(META_KEYRING, sealed_keyring)])?;

        // The manifest is written last: a folder without it is not a vault, so an
        // interrupted creation never looks like a damaged vault.
        write_manifest(dir, &crypto::sha256_hex(&wrapped), device_key.as_deref())?;

        let keys = Keys {
            signer: device.public(),
            trusted: keyring.trusted_signers.clone(),
            device_id: keyring.device_id,
            identity,
            recipients,
            org: Vec::new(),
            device,
        };
        Ok(Vault {
            dir: dir.to_owned(),
            options,
            store,
            keys,
            index: Index::default(),
            cache: RwLock::default(),
            cache_dirty: AtomicBool::new(false),
            clock: Clock::new(),
            unsnapshotted: 0,
            sync: None,
            derived: Mutex::default(),
            _lock: lock,
        })
    }

    /// Opens the vault in `dir` with its passphrase.
    pub fn unlock(dir: &Path, passphrase: &SecretString, options: Options) -> Result<Vault> {
        Self::open_unlocked(dir, passphrase, options, None)
    }

    /// Opens the vault like [`Vault::unlock`], and starts deriving state from it as soon
    /// as its identity is known, while the database opens: `start` is called with the
    /// vault's folder and identity (the search crate reads its snapshot on another
    /// thread), and what it returns is kept as the vault's derived state
    /// ([`Vault::with_derived`]).
    pub fn unlock_deriving<T: Send + 'static>(
        dir: &Path,
        passphrase: &SecretString,
        options: Options,
        start: fn(&Path, &VaultIdentity) -> T,
    ) -> Result<Vault> {
        Self::open_unlocked(
            dir,
            passphrase,
            options,
            Some(&|dir, identity| Box::new(start(dir, identity)) as Box<dyn Any + Send>),
        )
    }

    /// Runs `f` on the state of type `T` derived from this vault's records (created with
    /// `T::default()` the first time). One state per vault; the search crate keeps its
    /// index here so that it lives and dies with the unlocked vault.
    pub fn with_derived<T: Default + Send + 'static, R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let mut slot = self.derived.lock().unwrap_or_else(|p| p.into_inner());
        if !slot.as_ref().is_some_and(|d| d.is::<T>()) {
            *slot = Some(Box::new(T::default()));
        }
        let state = slot
            .as_mut()
            .and_then(|d| d.downcast_mut::<T>())
            .expect("the derived state was just set to this type");
        f(state)
    }

    /// The record index's change counter: bumped by every change, so that derived state
    /// knows when it must catch up.
    pub fn changes(&self) -> u64 {
        self.index.changes()
    }

    /// Every record's index entry, deleted ones included.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.index.entries()
    }

    /// True when some stored version failed to decrypt or verify at unlock.
    pub fn has_damaged(&self) -> bool {
        self.index.damaged().next().is_some()
    }

    /// The store's version epoch: replaced before every change to the stored versions,
    /// so that a cache saved at this epoch matches them exactly.
    pub fn version_epoch(&self) -> Result<Option<Vec<u8>>> {
        self.store.version_epoch()
    }

    /// Seals bytes to this vault only (a cache of derived state, such as the search
    /// snapshot): standard age, to the vault's own recipient.
    pub fn seal_to_self(&self, plain: &[u8]) -> Result<Vec<u8>> {
        crypto::seal_bytes(
            self.keys
                .recipients
                .iter()
                .map(|r| r as &dyn age::Recipient),
            plain,
        )
    }

    /// True when `sig` is this device's signature of `digest` (a cache it wrote itself).
    pub fn verify_own_digest(&self, digest: &[u8; 32], sig: &[u8; 64]) -> bool {
        crypto::verify_digest(&self.keys.signer, digest, sig)
    }

    /// Drops the derived state and the search snapshot (travel mode removed records:
    /// their words must not stay behind, not even as deleted entries of an index).
    fn forget_derived(&mut self) -> Result<()> {
        *self.derived.get_mut().unwrap_or_else(|p| p.into_inner()) = None;
        for name in [SEARCH_SNAPSHOT, SEARCH_SNAPSHOT_NEW] {
            match fs::remove_file(self.dir.join(name)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("removing the search index", e)),
            }
        }
        Ok(())
    }

    fn open_unlocked(
        dir: &Path,
        passphrase: &SecretString,
        options: Options,
        derive: Option<&DeriveStart<'_>>,
    ) -> Result<Vault> {
        let manifest = read_manifest(dir)?;
        let lock = take_lock(dir)?;
        let manifest = finish_passphrase_change(dir, manifest)?;

        let identity_path = dir.join(IDENTITY);
        let wrapped = fs::read(&identity_path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::IdentityDamaged,
            _ => Error::io("reading identity.age", e),
        })?;
        if crypto::sha256_hex(&wrapped) != manifest.identity_sha256 {
            return Err(Error::IdentityDamaged);
        }
        let identity =
            match device::open_identity(&wrapped, passphrase, manifest.device_key.as_deref()) {
                Ok(identity) => identity,
                Err(Error::WrongPassphrase) => {
                    return match duress::duress_action_for(dir, passphrase) {
                        None => Err(Error::WrongPassphrase),
                        Some(action) => {
                            drop(lock);
                            match action {
                                duress::DuressAction::Decoy => Vault::open_unlocked(
                                    &dir.join(duress::DECOY),
                                    passphrase,
                                    options,
                                    derive,
                                ),
                                duress::DuressAction::Wipe => {
                                    // Whatever happens, the answer is the same.
                                    let _ = Vault::wipe_folder(dir);
                                    Err(Error::WrongPassphrase)
                                }
                            }
                        }
                    };
                }
                Err(e) => return Err(e),
            };

        // Derived state starts while the database opens (the search crate reads its
        // snapshot on another thread; the first search waits for it, and so does a lock).
        let derived = derive.map(|start| start(dir, &identity));
        let store = Store::open(&dir.join(DB), options.disk_reserve)?;
        let keyring: KeyringFile = {
            let sealed = store.meta(META_KEYRING)?.ok_or_else(|| {
                Error::Database("the vault's keyring is missing from the database".into())
            })?;
            let plain = crypto::open_bytes(&identity, &sealed).map_err(|_| {
                Error::Database("the vault's keyring is damaged and cannot be decrypted".into())
            })?;
            serde_json::from_slice(&plain)
                .map_err(|_| Error::Database("the vault's keyring is damaged".into()))?
        };
        let secret: Zeroizing<[u8; 32]> = base64_decode(&keyring.signing_key)
            .and_then(|b| <[u8; 32]>::try_from(&b[..]).ok())
            .map(Zeroizing::new)
            .ok_or_else(|| Error::Database("the vault's keyring is damaged".into()))?;
        let device = DeviceKey::from_bytes(&secret);
        let keys = Keys {
            recipients: vec![identity.to_public()],
            org: Vec::new(),
            signer: device.public(),
            trusted: keyring.trusted_signers.clone(),
            device_id: keyring.device_id,
            identity,
            device,
        };

        let mut vault = Vault {
            dir: dir.to_owned(),
            options,
            store,
            keys,
            index: Index::default(),
            cache: RwLock::default(),
            cache_dirty: AtomicBool::new(false),
            clock: Clock::new(),
            unsnapshotted: 0,
            sync: None,
            derived: Mutex::default(),
            _lock: lock,
        };
        vault.load_sync()?;
        vault.load_index()?;
        *vault.derived.get_mut().unwrap_or_else(|p| p.into_inner()) = derived;
        // An import cut short by a crash leaves an encrypted file without a record.
        vault.remove_orphan_blobs();
        Ok(vault)
    }

    /// Locks the vault: saves the index snapshot, then drops the keys and every
    /// decrypted value (zeroized).
    pub fn lock(mut self) -> Result<()> {
        let result = self.save_snapshot();
        drop(self);
        result
    }

    /// The vault folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// This device's id.
    pub fn device_id(&self) -> Uuid {
        self.keys.device_id
    }

    /// The vault's age recipient (public key): anyone can encrypt to it, only this vault
    /// can decrypt.
    pub fn recipient(&self) -> String {
        self.keys.identity.to_public().to_string()
    }

    /// This device's signing key (public half, base64).
    pub fn signer(&self) -> String {
        self.keys.signer.clone()
    }

    /// Changes the passphrase. Only the identity file is re-encrypted; no record is.
    pub fn change_passphrase(&mut self, old: &SecretString, new: &SecretString) -> Result<()> {
        let current =
            fs::read(self.dir.join(IDENTITY)).map_err(|e| Error::io("reading identity.age", e))?;
        let device_key = read_manifest(&self.dir)?.device_key;
        device::open_identity(&current, old, device_key.as_deref())?;
        passphrase::require_strong(new)?;
        let wrapped = device::seal_identity(
            &self.keys.identity,
            new,
            self.options.kdf,
            device_key.as_deref(),
        )?;
        // 1. the new file beside the old; 2. the manifest names it (the commit point);
        // 3. the old file is overwritten; 4. the new one takes its name. An interruption
        // at any step is finished or undone at the next unlock.
        write_atomic(&self.dir.join(IDENTITY_NEW), &wrapped)?;
        write_manifest(
            &self.dir,
            &crypto::sha256_hex(&wrapped),
            device_key.as_deref(),
        )?;
        shred(&self.dir.join(IDENTITY));
        fs::rename(self.dir.join(IDENTITY_NEW), self.dir.join(IDENTITY))
            .map_err(|e| Error::io("replacing identity.age", e))?;
        sync_dir(&self.dir)
    }

    // ----- writing -----

    /// Writes one user action: every change becomes a new version, all of them in one
    /// durable batch. Nothing is written if any change is refused.
    pub fn commit(&mut self, changes: Vec<Change>) -> Result<Vec<Written>> {
        let versions = self.plan(changes)?;
        self.write_versions(versions)
    }

    /// Adds one new record; returns its id.
    pub fn add(&mut self, record: Record) -> Result<Uuid> {
        Ok(self.commit(vec![Change::Create(record)])?[0].record_id)
    }

    /// Writes a new version of a record; returns the version id.
    pub fn update(&mut self, record_id: Uuid, record: Record) -> Result<Uuid> {
        Ok(self.commit(vec![Change::Update { record_id, record }])?[0].version_id)
    }

    /// Deletes a record (a tombstone version).
    pub fn delete(&mut self, record_id: Uuid) -> Result<Uuid> {
        Ok(self.commit(vec![Change::Delete { record_id }])?[0].version_id)
    }

    fn plan(&mut self, changes: Vec<Change>) -> Result<Vec<Version>> {
        self.plan_checked(changes, false)
    }

    /// Plans the version of a new evidence record (its file is already in `blobs/`).
    fn plan_evidence(&mut self, record: Record) -> Result<Vec<Version>> {
        self.plan_checked(vec![Change::Create(record)], true)
    }

    fn plan_checked(&mut self, changes: Vec<Change>, new_evidence: bool) -> Result<Vec<Version>> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        // Records created earlier in the same action can be linked to.
        let mut batch_kinds: HashMap<Uuid, Kind> = HashMap::new();
        let mut touched: HashSet<Uuid> = HashSet::new();
        let mut out = Vec::with_capacity(changes.len());
        for change in changes {
            let (record_id, parents, body, kind) = match change {
                Change::Create(Record::Evidence(_)) if !new_evidence => {
                    return Err(Error::Invalid(
                        "evidence is added by importing its file (custos evidence add)".into(),
                    ));
                }
                Change::Create(record) => {
                    let id = Uuid::new_v4();
                    let kind = record.kind();
                    (id, Vec::new(), Body::Record(record), kind)
                }
                Change::Update { record_id, record } => {
                    let entry = self.entry(record_id)?;
                    if entry.kind != record.kind() {
                        return Err(Error::Invalid(format!(
                            "record {record_id} is a {}, not a {}",
                            entry.kind.as_str(),
                            record.kind().as_str()
                        )));
                    }
                    if let Record::Evidence(new) = &record {
                        let current = self.get(record_id)?;
                        let same = match &current.record {
                            Some(Record::Evidence(old)) => old.same_import(new),
                            _ => false,
                        };
                        if !same {
                            return Err(Error::Invalid(format!(
                                "evidence {record_id}: only its description and links can change;                                  its file, hashes and import details are fixed"
                            )));
                        }
                    }
                    (
                        record_id,
                        entry.heads.clone(),
                        Body::Record(record),
                        entry.kind,
                    )
                }
                Change::Delete { record_id } => {
                    let entry = self.entry(record_id)?;
                    if entry.deleted() && !entry.conflict() {
                        return Err(Error::Invalid(format!(
                            "record {record_id} is already deleted"
                        )));
                    }
                    (record_id, entry.heads.clone(), Body::Tombstone, entry.kind)
                }
            };
            if !touched.insert(record_id) {
                return Err(Error::Invalid(format!(
                    "record {record_id} is changed twice in one action"
                )));
            }
            if let Body::Record(r) = &body {
                self.check_record(r, &batch_kinds)?;
            }
            batch_kinds.insert(record_id, kind);
            let audience = self.audience_for(record_id, &parents);
            out.push(Version {
                schema_version: SCHEMA_VERSION,
                record_id,
                version_id: Uuid::new_v4(),
                kind,
                parents,
                hlc: self.clock.tick(),
                device: self.keys.device_id,
                audience,
                body,
            });
        }
        Ok(out)
    }

    fn entry(&self, record_id: Uuid) -> Result<&Entry> {
        self.index
            .get(record_id)
            .ok_or(Error::RecordNotFound(record_id))
    }

    /// Checks a record's content and links before it is written.
    fn check_record(&self, r: &Record, batch: &HashMap<Uuid, Kind>) -> Result<()> {
        r.validate().map_err(Error::Invalid)?;
        let kind_of = |id: Uuid| -> Option<Kind> {
            batch
                .get(&id)
                .copied()
                .or_else(|| self.index.get(id).filter(|e| !e.deleted()).map(|e| e.kind))
        };
        for (field, id) in r.links() {
            let expected = match field {
                "case_id" => Some(Kind::Case),
                "persons" | "person_ids" => Some(Kind::Person),
                "related" | "incident_ids" => Some(Kind::Incident),
                "derived_from" => Some(Kind::Evidence),
                _ => None,
            };
            match (kind_of(id), expected) {
                (None, _) => {
                    return Err(Error::Invalid(format!("{field}: no record {id}")));
                }
                (Some(k), Some(e)) if k != e => {
                    return Err(Error::Invalid(format!(
                        "{field}: record {id} is {}, not {}",
                        a_kind(k),
                        a_kind(e)
                    )));
                }
                _ => {}
            }
        }
        let vocab = vocab::builtin();
        match r {
            Record::Incident(i) => {
                for code in &i.act_types {
                    if !vocab.act_types.contains(code) {
                        return Err(Error::Invalid(format!(
                            "act_types: unknown act type '{code}'"
                        )));
                    }
                }
            }
            Record::Intervention(i)
                if !i.mechanism.is_empty() && !vocab.mechanisms.contains(&i.mechanism) =>
            {
                return Err(Error::Invalid(format!(
                    "mechanism: unknown mechanism '{}'",
                    i.mechanism
                )));
            }
            _ => {}
        }
        Ok(())
    }

    /// Encrypts versions (in parallel), writes them in one durable batch, indexes them.
    pub fn write_versions(&mut self, versions: Vec<Version>) -> Result<Vec<Written>> {
        self.write_versions_with(versions, Vec::new())
    }

    /// Writes versions together with other writes (custody entries) in one batch.
    fn write_versions_with(
        &mut self,
        versions: Vec<Version>,
        extra: Vec<Write>,
    ) -> Result<Vec<Written>> {
        if versions.is_empty() {
            return Ok(Vec::new());
        }
        let keys = &self.keys;
        let recipients: Vec<Vec<VaultRecipient>> = versions
            .iter()
            .map(|v| self.recipients_of(&v.audience))
            .collect::<Result<_>>()?;
        let seal = |(v, to): (&Version, &Vec<VaultRecipient>)| {
            let body =
                Zeroizing::new(serde_json::to_vec(v).map_err(|e| Error::Encrypt(e.to_string()))?);
            crypto::seal(to, &keys.device, &keys.signer, &body)
        };
        // One version (a record saved on its own) is sealed here: handing it to another
        // thread costs more than it saves.
        let sealed: Vec<Result<crypto::Sealed>> = if versions.len() == 1 {
            versions.iter().zip(&recipients).map(seal).collect()
        } else {
            versions
                .par_iter()
                .zip(recipients.par_iter())
                .map(seal)
                .collect()
        };
        let mut writes = Vec::with_capacity(versions.len());
        let mut learned = Vec::with_capacity(versions.len());
        for (v, sealed) in versions.iter().zip(sealed) {
            let sealed = sealed?;
            learned.push(sealed.learned);
            writes.push(Write::Version(v.version_id, sealed.ciphertext));
        }
        writes.extend(extra);
        self.store.commit(writes)?;
        let cache = self.cache.get_mut().unwrap_or_else(|p| p.into_inner());
        for l in learned {
            cache.insert(l);
        }
        let written = versions
            .iter()
            .map(|v| {
                self.clock.observe(v.hlc);
                self.index.add(v);
                Written {
                    record_id: v.record_id,
                    version_id: v.version_id,
                }
            })
            .collect();
        self.unsnapshotted += versions.len();
        // The snapshot is a cache, saved at lock. Also save it once so much is new that
        // rebuilding it after a crash would delay the next unlock noticeably.
        if self.unsnapshotted > SNAPSHOT_AFTER {
            self.save_snapshot()?;
        }
        Ok(written)
    }

    // ----- reading -----

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
    pub fn get_many(&self, ids: &[Uuid]) -> Vec<Result<RecordView>> {
        ids.par_iter().map(|&id| self.get(id)).collect()
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

    fn view(&self, entry: &Entry, version_id: Uuid) -> Result<RecordView> {
        let mut v = self.read_version(version_id, Some(entry.record_id))?;
        let record = match std::mem::replace(&mut v.body, Body::Tombstone) {
            Body::Record(r) => Some(r),
            Body::Tombstone => None,
        };
        Ok(RecordView {
            record_id: v.record_id,
            version_id: v.version_id,
            kind: v.kind,
            parents: v.parents.clone(),
            hlc: v.hlc,
            device: v.device,
            record,
            heads: entry.heads.clone(),
        })
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
        items.sort_by(|a, b| {
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
        let damaged = |reason| Error::Damaged {
            record,
            version: version_id,
            reason,
        };
        let ct = self
            .store
            .version(version_id)?
            .ok_or(damaged(Damage::Decrypt))?;
        let (v, learned) = {
            let cache = self.cache.read().unwrap_or_else(|p| p.into_inner());
            decode_version(&self.keys, &cache, version_id, &ct).map_err(damaged)?
        };
        if let Some(l) = learned {
            self.cache
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(l);
            self.cache_dirty.store(true, Ordering::Relaxed);
        }
        if record.is_some_and(|r| r != v.record_id) {
            return Err(damaged(Damage::Moved));
        }
        Ok(v)
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

    fn load_index(&mut self) -> Result<()> {
        let cache = self
            .store
            .meta(META_KEYCACHE)?
            .and_then(|ct| crypto::open_bytes(&self.keys.identity, &ct).ok())
            .and_then(|plain| {
                // Signed: a cache entry lets a ciphertext skip its signature check, so a
                // cache anyone could encrypt to the vault must not be taken.
                let signer = &self.keys.signer;
                signed_body(&plain, &|d, s| crypto::verify_digest(signer, d, s))
                    .and_then(KeyCache::from_bytes)
            })
            .unwrap_or_default();
        let epoch = self.store.version_epoch()?;
        let (mut index, saved_at) = self
            .store
            .meta(META_INDEX)?
            .and_then(|ct| crypto::open_bytes(&self.keys.identity, &ct).ok())
            .and_then(|plain| {
                let signer = &self.keys.signer;
                signed_body(&plain, &|d, s| crypto::verify_digest(signer, d, s))
                    .and_then(Index::from_snapshot)
            })
            .map(|(index, at)| (index, Some(at)))
            .unwrap_or_default();
        // The snapshot was saved when the versions were as they are now (no version
        // written or removed since): nothing to check, nothing to read.
        let current = saved_at.is_some() && saved_at == epoch;
        let stored = if current {
            Vec::new()
        } else {
            let stored = self.store.version_ids()?;
            let stored_set: HashSet<Uuid> = stored.iter().copied().collect();
            if index.version_ids().any(|v| !stored_set.contains(&v)) {
                // The snapshot names versions the database does not have: do not trust it.
                index = Index::default();
            }
            stored
        };
        let missing: Vec<Uuid> = stored
            .into_iter()
            .filter(|v| !index.contains_version(*v))
            .collect();
        let keys = &self.keys;
        let store = &self.store;
        let cache_ref = &cache;
        type Decoded = std::result::Result<(Version, Option<crypto::Learned>), Damage>;
        let decoded: Vec<(Uuid, Decoded)> = missing
            .par_iter()
            .map(|&id| {
                let r = match store.version(id) {
                    Ok(Some(ct)) => decode_version(keys, cache_ref, id, &ct),
                    _ => Err(Damage::Decrypt),
                };
                (id, r)
            })
            .collect();
        let fresh = decoded.len();
        let mut cache = cache;
        for (id, r) in decoded {
            match r {
                Ok((v, learned)) => {
                    index.add(&v);
                    if let Some(l) = learned {
                        cache.insert(l);
                    }
                }
                Err(d) => index.add_damaged(id, d),
            }
        }
        *self.cache.get_mut().unwrap_or_else(|p| p.into_inner()) = cache;
        self.clock.observe(index.max_hlc());
        self.index = index;
        // Saved at lock (or after many writes): unlocking writes nothing, so it works
        // on a full disk too. A snapshot that had to be checked is saved again at lock,
        // with the current epoch, so that the next unlock need not check it.
        self.unsnapshotted = if current { fresh } else { fresh.max(1) };
        Ok(())
    }

    fn save_snapshot(&mut self) -> Result<()> {
        if self.unsnapshotted == 0 && !self.cache_dirty.load(Ordering::Relaxed) {
            return Ok(());
        }
        // A vault written before epochs existed gets one now. With damaged versions, no
        // epoch: the next unlock reads every version again and reports them.
        let epoch = if self.index.damaged().next().is_some() {
            Vec::new()
        } else {
            match self.store.version_epoch()? {
                Some(epoch) => epoch,
                None => self.store.new_version_epoch()?,
            }
        };
        let plain = self.index.to_snapshot(&epoch).map_err(Error::Encrypt)?;
        let index = crypto::seal_bytes(
            self.keys
                .recipients
                .iter()
                .map(|r| r as &dyn age::Recipient),
            &sign_body(&self.keys.device, &plain),
        )?;
        let cache = {
            let cache = self.cache.get_mut().unwrap_or_else(|p| p.into_inner());
            let plain = cache.to_bytes();
            crypto::seal_bytes(
                self.keys
                    .recipients
                    .iter()
                    .map(|r| r as &dyn age::Recipient),
                &sign_body(&self.keys.device, &plain),
            )?
        };
        self.store.commit(vec![
            Write::Meta(META_INDEX, index),
            Write::Meta(META_KEYCACHE, cache),
        ])?;
        self.unsnapshotted = 0;
        self.cache_dirty.store(false, Ordering::Relaxed);
        Ok(())
    }
}

impl Vault {
    /// The keyring (device key, trusted signers) as a write, sealed to the vault.
    fn keyring_write(&self) -> Result<Write> {
        let keyring = KeyringFile {
            device_id: self.keys.device_id,
            signing_key: base64_encode(&self.keys.device.to_bytes()[..]),
            trusted_signers: self.keys.trusted.clone(),
        };
        Ok(Write::Meta(
            META_KEYRING,
            seal_json(&self.keys.recipients, &keyring)?,
        ))
    }
}

impl Drop for Vault {
    fn drop(&mut self) {
        // Best effort: a lost snapshot only makes the next unlock slower.
        let _ = self.save_snapshot();
    }
}

/// What starts a signed cache (the index snapshot): the magic, then an Ed25519
/// signature of the body's SHA-256 by the device that wrote it, then the body.
const SIGNED_MAGIC: &[u8] = b"custos-signed 1\n";

fn sign_body(device: &DeviceKey, body: &[u8]) -> Zeroizing<Vec<u8>> {
    use sha2::Digest as _;
    let digest: [u8; 32] = sha2::Sha256::digest(body).into();
    let mut out = Zeroizing::new(Vec::with_capacity(SIGNED_MAGIC.len() + 64 + body.len()));
    out.extend_from_slice(SIGNED_MAGIC);
    out.extend_from_slice(&device.sign_bytes(&digest));
    out.extend_from_slice(body);
    out
}

/// The body of a signed cache when its signature checks.
fn signed_body<'a>(
    bytes: &'a [u8],
    verify: &dyn Fn(&[u8; 32], &[u8; 64]) -> bool,
) -> Option<&'a [u8]> {
    use sha2::Digest as _;
    let rest = bytes.strip_prefix(SIGNED_MAGIC)?;
    let sig: [u8; 64] = rest.get(..64)?.try_into().ok()?;
    let body = &rest[64..];
    let digest: [u8; 32] = sha2::Sha256::digest(body).into();
    verify(&digest, &sig).then_some(body)
}

/// Decrypts, verifies, checks ids and upgrades one stored version. Also returns the
/// file key to remember when the cache did not know the ciphertext.
fn decode_version(
    keys: &Keys,
    cache: &KeyCache,
    version_id: Uuid,
    ct: &[u8],
) -> std::result::Result<(Version, Option<crypto::Learned>), Damage> {
    if let Some(envelope) = crypto::open_known(cache, ct) {
        // Verified before: the version is read straight from the envelope.
        #[derive(Deserialize)]
        struct Envelope {
            body: Version,
        }
        let envelope = envelope?;
        let v = match serde_json::from_slice::<Envelope>(&envelope) {
            Ok(e) if e.body.schema_version == SCHEMA_VERSION => e.body,
            // Another schema, or not a version: the full path says which.
            _ => return decode_version(keys, &KeyCache::default(), version_id, ct),
        };
        if v.version_id != version_id {
            return Err(Damage::Moved);
        }
        return Ok((v, None));
    }
    let opened = crypto::open(&keys.identity, &keys.trusted, cache, ct)?;
    let v = parse_version(&opened.body)?;
    if v.version_id != version_id {
        return Err(Damage::Moved);
    }
    Ok((v, opened.learned))
}

/// Parses a version's JSON, upgrading an older schema.
pub fn parse_version(json: &[u8]) -> std::result::Result<Version, Damage> {
    #[derive(Deserialize)]
    struct Peek {
        schema_version: u32,
    }
    // The current schema is read in one pass; anything else is classified below.
    if let Ok(v) = serde_json::from_slice::<Version>(json) {
        if v.schema_version == SCHEMA_VERSION {
            return Ok(v);
        }
    }
    let peek: Peek = serde_json::from_slice(json).map_err(|_| Damage::Format)?;
    match peek.schema_version {
        // The current schema that did not parse above.
        SCHEMA_VERSION => Err(Damage::Format),
        n if n > SCHEMA_VERSION => Err(Damage::NewerSchema),
        // Schema 1 is the first; an upgrade step from n to n+1 goes here when schema 2
        // exists (docs/data-model.md).
        _ => Err(Damage::Format),
    }
}

fn seal_json<T: Serialize>(recipients: &[VaultRecipient], value: &T) -> Result<Vec<u8>> {
    let plain =
        Zeroizing::new(serde_json::to_vec(value).map_err(|e| Error::Encrypt(e.to_string()))?);
    crypto::seal_bytes(recipients.iter().map(|r| r as &dyn age::Recipient), &plain)
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
}

fn base64_decode(s: &str) -> Option<Zeroizing<Vec<u8>>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(s)
        .ok()
        .map(Zeroizing::new)
}

fn read_manifest(dir: &Path) -> Result<Manifest> {
    let text = match fs::read(dir.join(MANIFEST)) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NoVault(dir.to_owned()))
        }
        Err(e) => return Err(Error::io("reading vault.json", e)),
    };
    let m: Manifest = serde_json::from_slice(&text)
        .map_err(|_| Error::Database("vault.json is damaged".into()))?;
    if m.format != FORMAT_NAME {
        return Err(Error::NoVault(dir.to_owned()));
    }
    if m.format_version > FORMAT_VERSION {
        return Err(Error::NewerFormat(m.format_version));
    }
    Ok(m)
}

fn write_manifest(dir: &Path, identity_sha256: &str, device_key: Option<&str>) -> Result<()> {
    let m = Manifest {
        format: FORMAT_NAME.into(),
        format_version: FORMAT_VERSION,
        identity_sha256: identity_sha256.into(),
        device_key: device_key.map(str::to_owned),
    };
    let mut text = serde_json::to_vec_pretty(&m).map_err(|e| Error::Encrypt(e.to_string()))?;
    text.push(b'\n');
    write_atomic(&dir.join(MANIFEST), &text)
}

/// Completes or rolls back a passphrase change that was interrupted.
fn finish_passphrase_change(dir: &Path, manifest: Manifest) -> Result<Manifest> {
    let new = dir.join(IDENTITY_NEW);
    let Ok(bytes) = fs::read(&new) else {
        return Ok(manifest);
    };
    if crypto::sha256_hex(&bytes) == manifest.identity_sha256 {
        fs::rename(&new, dir.join(IDENTITY)).map_err(|e| Error::io("replacing identity.age", e))?;
    } else {
        shred(&new);
    }
    sync_dir(dir)?;
    Ok(manifest)
}

fn take_lock(dir: &Path) -> Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK))
        .map_err(|e| Error::io("opening vault.lock", e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(Error::VaultBusy),
        Err(fs::TryLockError::Error(e)) => Err(Error::io("locking the vault", e)),
    }
}

/// Writes a file so that it is either entirely the old or entirely the new content.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.partial"));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io(format!("writing {name}"), e)
    })
}

/// Overwrites a file with random bytes, then removes it. On SSDs and journaling file
/// systems old blocks may survive; the key file is only ever passphrase-encrypted.
fn shred(path: &Path) {
    if let Ok(meta) = fs::metadata(path) {
        if let Ok(mut f) = OpenOptions::new().write(true).open(path) {
            let noise = crypto::random_bytes::<4096>();
            let mut left = meta.len() as usize;
            while left > 0 {
                let n = left.min(noise.len());
                if f.write_all(&noise[..n]).is_err() {
                    break;
                }
                left -= n;
            }
            let _ = f.sync_all();
        }
        let _ = fs::remove_file(path);
    }
}

/// "a case", "an incident", "an evidence item" — for messages.
fn a_kind(k: Kind) -> String {
    match k {
        Kind::Evidence => "an evidence item".into(),
        Kind::Incident | Kind::Intervention => format!("an {}", k.as_str()),
        _ => format!("a {}", k.as_str()),
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("saving the vault folder", e))
}

#[cfg(unix)]
fn restrict_permissions(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
}

#[cfg(not(unix))]
fn restrict_permissions(_dir: &Path) {}
