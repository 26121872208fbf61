//! A vault's life: created, unlocked (its keys opened, its database and index loaded),
//! locked; the passphrase changed; the folder's files (manifest, lock, atomic writes).

use std::any::Any;
use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, RwLock};

use age::secrecy::SecretString;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::crypto::{self, DeviceKey, VaultIdentity};
use crate::error::{Error, Result};
use crate::index::{Entry, Index};
use crate::store::{self, Store, Write};
use custos_model::hlc::Clock;
use custos_model::passphrase;

use super::*;

impl Vault {
    /// Creates a new vault in `dir` (which must not exist or be empty) and unlocks it.
    ///
    /// Refuses a weak passphrase with the reason.
    pub fn create(dir: &Path, passphrase: &SecretString, options: Options) -> Result<Vault> {
        Self::create_with(dir, passphrase, options, crypto::generate_identity())
    }

    /// Creates a new vault around an existing identity (a key rebuilt from its shares on
    /// a new device).
    pub(super) fn create_with(
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

    pub(super) fn create_in(
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

    pub(super) fn create_keyed(
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
        duress::write_filler(dir, &[identity.to_public()], options.kdf)?;

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
            cache_loaded: std::sync::Once::new(),
            cache_dirty: AtomicBool::new(false),
            clock: Clock::new(),
            unsnapshotted: 0,
            sync: None,
            chain: ChainHead::default(),
            chain_key: None,
            shares: crypto::Shares::default(),
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

    /// A file key made for one file sealed to this vault only (a cache of derived state,
    /// such as the search snapshot), and this device's signature of the digest binding
    /// it to `what` ([`crypto::key_digest`]). The file carries the signature inside;
    /// its reader checks it with [`Vault::verify_own_digest`] against the digest
    /// [`crypto::open_owned_keyed`] gives. Standard age, to the vault's own recipient.
    pub fn key_to_self(&self, what: &[u8]) -> Result<(crypto::SharedKey, [u8; 64])> {
        let key = crypto::SharedKey::new(&self.keys.recipients)?;
        let sig = self.keys.device.sign_bytes(&key.key_digest(what));
        Ok((key, sig))
    }

    /// True when `sig` is this device's signature of `digest` (a cache it wrote itself).
    pub fn verify_own_digest(&self, digest: &[u8; 32], sig: &[u8; 64]) -> bool {
        crypto::verify_digest(&self.keys.signer, digest, sig)
    }

    /// Drops the derived state and the search snapshot (travel mode removed records:
    /// their words must not stay behind, not even as deleted entries of an index).
    pub(super) fn forget_derived(&mut self) -> Result<()> {
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

    pub(super) fn open_unlocked(
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
            cache_loaded: std::sync::Once::new(),
            cache_dirty: AtomicBool::new(false),
            clock: Clock::new(),
            unsnapshotted: 0,
            sync: None,
            chain: ChainHead::default(),
            chain_key: None,
            shares: crypto::Shares::default(),
            derived: Mutex::default(),
            _lock: lock,
        };
        if let Some(sealed) = vault.store.meta(META_CHAIN)? {
            let plain = crypto::open_bytes(&vault.keys.identity, &sealed).map_err(|_| {
                Error::Database(
                    "the vault's version chain is damaged and cannot be decrypted".into(),
                )
            })?;
            vault.chain = serde_json::from_slice(&plain)
                .map_err(|_| Error::Database("the vault's version chain is damaged".into()))?;
        }
        vault.load_sync()?;
        vault.load_index()?;
        *vault.derived.get_mut().unwrap_or_else(|p| p.into_inner()) = derived;
        // An import cut short by a crash leaves an encrypted file without a record.
        vault.remove_orphan_blobs();
        Ok(vault)
    }

    /// Locks the vault: saves the index snapshot, then drops the keys and every
    /// decrypted value (zeroized). After a session that wrote much, the database (only
    /// ciphertext) is then settled, so that the next unlock does not replay its log (see
    /// [`store::settle`](crate::store::settle)); the vault's lock is held until that is done.
    pub fn lock(mut self) -> Result<()> {
        let result = self.save_snapshot();
        let settle = match self.store.settle_due() {
            // A second handle on the lock file keeps the lock (it belongs to the open
            // file, not to the handle) once the vault's own handle is closed.
            true => self
                ._lock
                .try_clone()
                .ok()
                .map(|held| (self.dir.join(DB), self.options.disk_reserve, held)),
            false => None,
        };
        drop(self);
        if let Some((db, reserve, held)) = settle {
            store::settle(&db, reserve);
            drop(held);
        }
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
        replace_identity(&self.dir, &wrapped, device_key.as_deref())?;
        // The duress file moves with the key file (see `duress.rs`). The passphrase has
        // changed already: a failure here leaves the earlier duress file, which works.
        let _ = duress::rewrite_duress(&self.dir, &self.keys.identity, self.options.kdf);
        Ok(())
    }

    // ----- writing -----
}

/// Replaces `identity.age` with `wrapped`: 1. the new file beside the old; 2. the manifest
/// names it (the commit point); 3. the old file is overwritten; 4. the new one takes its
/// name. An interruption at any step is finished or undone at the next unlock.
pub(super) fn replace_identity(dir: &Path, wrapped: &[u8], device_key: Option<&str>) -> Result<()> {
    write_atomic(&dir.join(IDENTITY_NEW), wrapped)?;
    write_manifest(dir, &crypto::sha256_hex(wrapped), device_key)?;
    shred(&dir.join(IDENTITY));
    fs::rename(dir.join(IDENTITY_NEW), dir.join(IDENTITY))
        .map_err(|e| Error::io("replacing identity.age", e))?;
    sync_dir(dir)
}

pub(super) fn read_manifest(dir: &Path) -> Result<Manifest> {
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

pub(super) fn write_manifest(
    dir: &Path,
    identity_sha256: &str,
    device_key: Option<&str>,
) -> Result<()> {
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
pub(super) fn finish_passphrase_change(dir: &Path, manifest: Manifest) -> Result<Manifest> {
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

pub(super) fn take_lock(dir: &Path) -> Result<File> {
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
pub(super) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.partial"));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        crate::durable::sync_dir(dir)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io(format!("writing {name}"), e)
    })
}

/// Overwrites a file with random bytes, then removes it. On SSDs and journaling file
/// systems old blocks may survive; the key file is only ever passphrase-encrypted.
pub(super) fn shred(path: &Path) {
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

pub(super) fn sync_dir(dir: &Path) -> Result<()> {
    crate::durable::sync_dir(dir).map_err(|e| Error::io("saving the vault folder", e))
}

#[cfg(unix)]
pub(super) fn restrict_permissions(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
}

/// Windows has no permission bits: the vault folder keeps the access list it inherits
/// (in the default place, the user's profile: the user, SYSTEM and the Administrators
/// group). Only ciphertext is in it.
#[cfg(not(unix))]
pub(super) fn restrict_permissions(_dir: &Path) {}
