//! The device key and the panic wipe.
//!
//! A vault created by the app (or the CLI) is **bound to its device**: `identity.age` is
//! the passphrase-protected identity file (scrypt) encrypted once more to a device key —
//! an age X25519 key kept *outside* the vault folder, in the user's data folder
//! (`~/.local/share/custos/device-keys/<id>.key`, or `$CUSTOS_DEVICE_KEYS`). With
//! standard tools: `age -d -i <id>.key identity.age | age -d` (passphrase).
//!
//! A copy of the vault folder alone (a backup, a synced folder, an image of the folder)
//! is not enough to open the vault, even with the passphrase. And the panic wipe
//! destroys the device key and `identity.age` first — a few milliseconds — then the data:
//! after it, a copy of the folder taken before the wipe cannot be opened on this device
//! either. The vault's key can still be rebuilt from its key backup shares
//! (`custos key restore`), which is the way to move a vault to another device.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::iter;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use age::secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::{read_manifest, shred, take_lock, Vault, BLOBS, DB, IDENTITY, IDENTITY_NEW, LOCK};
use crate::crypto::{self, KdfCost, VaultIdentity};
use crate::error::{Error, Result};

/// The folder of device keys: `$CUSTOS_DEVICE_KEYS`, else the user's data folder.
pub fn keys_dir() -> PathBuf {
    match std::env::var_os("CUSTOS_DEVICE_KEYS") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => dirs::data_local_dir()
            .unwrap_or_else(std::env::temp_dir)
            .join("custos")
            .join("device-keys"),
    }
}

/// The file of a device key. `id` comes from `vault.json`, which anyone with the disk can
/// edit: it is parsed as a key id (a UUID) and the path is built from the parsed value,
/// so no stored text ever becomes part of a path (`../../x` names no file).
fn key_path(id: &str) -> Result<PathBuf> {
    let id = Uuid::try_parse(id).map_err(|_| {
        Error::Database(
            "vault.json is damaged: the device key it names is not a key id (it was edited \
             by hand or by someone else); no file outside the vault was touched"
                .into(),
        )
    })?;
    Ok(keys_dir().join(format!("{}.key", id.hyphenated())))
}

/// True when the device key `id` names is on this computer (false for a malformed id).
pub(super) fn key_exists(id: &str) -> bool {
    key_path(id).is_ok_and(|p| p.exists())
}

/// Makes a new device key; returns its id.
pub(super) fn new_device_key() -> Result<String> {
    let id = Uuid::new_v4().to_string();
    let dir = keys_dir();
    fs::create_dir_all(&dir).map_err(|e| Error::io("creating the device key folder", e))?;
    restrict(&dir, 0o700);
    let key = VaultIdentity::generate();
    let mut text = Zeroizing::new(String::from(
        "# custos device key: without it, the vault bound to this device does not open here\n",
    ));
    text.push_str(key.to_string().expose_secret());
    text.push('\n');
    let path = key_path(&id)?;
    let write = || -> std::io::Result<()> {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&path)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        crate::durable::sync_dir(&dir)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&path);
        Error::io("writing the device key", e)
    })?;
    Ok(id)
}

/// Removes a device key made for a vault whose creation failed.
pub(super) fn forget_device_key(id: &str) {
    if let Ok(path) = key_path(id) {
        shred(&path);
    }
}

fn device_identity(id: &str) -> Result<VaultIdentity> {
    let path = key_path(id)?;
    let text = Zeroizing::new(fs::read_to_string(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::DeviceKeyMissing,
        _ => Error::io("reading the device key", e),
    })?);
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .and_then(|l| VaultIdentity::from_str(l).ok())
        .ok_or(Error::DeviceKeyMissing)
}

/// The bytes of `identity.age`: the passphrase-wrapped identity, encrypted to the device
/// key when the vault has one.
pub(super) fn seal_identity(
    identity: &VaultIdentity,
    passphrase: &SecretString,
    kdf: KdfCost,
    device_key: Option<&str>,
) -> Result<Vec<u8>> {
    let inner = crypto::wrap_identity(identity, passphrase, kdf)?;
    match device_key {
        None => Ok(inner),
        Some(id) => {
            let device = device_identity(id)?.to_public();
            crypto::seal_bytes(iter::once(&device as &dyn age::Recipient), &inner)
        }
    }
}

/// Opens `identity.age` with the device key (when the vault has one) and the passphrase.
pub(super) fn open_identity(
    bytes: &[u8],
    passphrase: &SecretString,
    device_key: Option<&str>,
) -> Result<VaultIdentity> {
    match device_key {
        None => crypto::unwrap_identity(bytes, passphrase),
        Some(id) => {
            let device = device_identity(id)?;
            let inner = crypto::open_bytes(&device, bytes).map_err(|_| Error::IdentityDamaged)?;
            crypto::unwrap_identity(&inner, passphrase)
        }
    }
}

/// What a panic wipe did, and how long it took.
#[derive(Debug, Clone, Copy)]
pub struct Wiped {
    /// Time until the key material was destroyed (the vault unreadable from then on).
    pub keys_destroyed: Duration,
    /// Time until everything was removed.
    pub total: Duration,
    /// Files removed.
    pub files: usize,
}

impl Vault {
    /// Panic wipe: destroys the key material (the device key, `identity.age`), then
    /// removes the vault folder. The vault cannot be opened again on this device, even
    /// from a copy of the folder taken before; only its key backup shares can rebuild its
    /// key. Needs no passphrase.
    pub fn wipe(mut self) -> Result<Wiped> {
        let start = Instant::now();
        let dir = self.dir.clone();
        let manifest = read_manifest(&dir).ok();
        let keys = destroy_keys(
            &dir,
            manifest.as_ref().and_then(|m| m.device_key.as_deref()),
        );
        let keys_destroyed = start.elapsed();
        run_wipe_hooks();
        // Nothing more is saved: the index snapshot would be unreadable anyway.
        self.unsnapshotted = 0;
        self.cache_dirty
            .store(false, std::sync::atomic::Ordering::Relaxed);
        drop(self);
        let files = remove_data(&dir)?;
        keys?;
        Ok(Wiped {
            keys_destroyed,
            total: start.elapsed(),
            files,
        })
    }

    /// Panic wipe of a locked vault (see [`Vault::wipe`]). Works even when another
    /// process has the vault open: the keys are destroyed first regardless.
    pub fn wipe_folder(dir: &Path) -> Result<Wiped> {
        let start = Instant::now();
        let manifest = read_manifest(dir)?;
        let keys = destroy_keys(dir, manifest.device_key.as_deref());
        let keys_destroyed = start.elapsed();
        run_wipe_hooks();
        // If another process holds the vault, its files are still removed (it can no
        // longer read them without the keys).
        let _lock = take_lock(dir).ok();
        let files = remove_data(dir)?;
        keys?;
        Ok(Wiped {
            keys_destroyed,
            total: start.elapsed(),
            files,
        })
    }
}

/// Destroys the device key and the key files. A device key id that is not a key id is
/// left alone (it could name any file) and reported once everything else is destroyed.
fn destroy_keys(dir: &Path, device_key: Option<&str>) -> Result<()> {
    let mut result = Ok(());
    if let Some(id) = device_key {
        match key_path(id) {
            Ok(path) => shred(&path),
            Err(e) => result = Err(e),
        }
    }
    // A decoy inside the vault goes with it.
    let decoy = dir.join(super::DECOY);
    if let Ok(m) = read_manifest(&decoy) {
        let decoy_keys = destroy_keys(&decoy, m.device_key.as_deref());
        result = result.and(decoy_keys);
    }
    shred(&dir.join(IDENTITY));
    shred(&dir.join(IDENTITY_NEW));
    let _ = crate::durable::sync_dir(dir);
    result
}

/// Removes what is left (ciphertext without its key): the database, the evidence files,
/// the manifest, the folder.
fn remove_data(dir: &Path) -> Result<usize> {
    let mut files = 0;
    let mut count = |p: &Path| {
        let mut stack = vec![p.to_owned()];
        while let Some(d) = stack.pop() {
            if let Ok(entries) = fs::read_dir(&d) {
                for e in entries.flatten() {
                    if e.path().is_dir() {
                        stack.push(e.path());
                    } else {
                        files += 1;
                    }
                }
            }
        }
    };
    count(dir);
    for sub in [DB, BLOBS] {
        let p = dir.join(sub);
        if p.exists() {
            fs::remove_dir_all(&p).map_err(|e| Error::io(format!("removing {sub}"), e))?;
        }
    }
    for f in [super::MANIFEST, LOCK] {
        let _ = fs::remove_file(dir.join(f));
    }
    // Anything else left in the folder (partial files) goes too.
    fs::remove_dir_all(dir).map_err(|e| Error::io("removing the vault folder", e))?;
    Ok(files)
}

#[cfg(unix)]
fn restrict(dir: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(mode));
}

/// Windows has no permission bits: the folder keeps the access list it inherits. In
/// the default place (`%LOCALAPPDATA%\custos\device-keys`) that is the user's profile's:
/// the user, SYSTEM and the Administrators group, as on Linux root can read a 0700
/// folder. A `CUSTOS_DEVICE_KEYS` elsewhere keeps whatever that place allows.
#[cfg(not(unix))]
fn restrict(_dir: &Path, _mode: u32) {}

/// What crates above the vault keep in memory on a vault's behalf and must forget when
/// it is wiped (the sync client's TLS sessions, which let their holder resume as this
/// device). The vault cannot call them by name: they sit above it in the crate graph.
static WIPE_HOOKS: std::sync::Mutex<Vec<fn()>> = std::sync::Mutex::new(Vec::new());

/// Registers `hook` to run when a vault is wiped (once, however often it is registered).
pub fn on_wipe(hook: fn()) {
    let mut hooks = WIPE_HOOKS.lock().unwrap_or_else(|p| p.into_inner());
    if !hooks.iter().any(|h| std::ptr::fn_addr_eq(*h, hook)) {
        hooks.push(hook);
    }
}

fn run_wipe_hooks() {
    let hooks = WIPE_HOOKS.lock().unwrap_or_else(|p| p.into_inner()).clone();
    for hook in hooks {
        hook();
    }
}
