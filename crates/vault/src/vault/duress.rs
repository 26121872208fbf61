//! The duress passphrase, and drafts kept across a lock.
//!
//! A vault may have a second passphrase for when its owner is forced to unlock it. Typed
//! at the unlock prompt it either opens a **decoy** — an ordinary vault in the `decoy/`
//! sub-folder that the owner fills with innocuous cases by unlocking it the same way — or
//! **wipes** the vault (see `device.rs`) and answers "wrong passphrase".
//!
//! `duress.age` looks the same in every vault, with a duress passphrase or without: the
//! same size, rewritten at the same moments, and nothing about it in the database.
//!
//! ```text
//! "custos-duress-1" | u32 length of A | A | u32 length of B | B | zeros, to 4 KiB
//! A  age, scrypt (the duress passphrase, the real key file's work factor):
//!    {"action": …, "pad": …}, padded to a fixed size
//! B  age, to the vault's own recipient: the action and the duress passphrase (so that the
//!    vault can rewrite A), padded to a fixed size
//! ```
//!
//! (Lengths big-endian. age adds a random filler stanza to headers without a passphrase,
//! so B's length varies from one writing to the next, in every vault alike; the file's
//! does not.)
//!
//! Without a duress passphrase, A is sealed with a random passphrase nobody knows and B
//! names no action. The file is rewritten whenever the key file is (a passphrase change,
//! a key restored from shares), with a fresh random passphrase when there is no duress
//! passphrase; setting or removing the duress passphrase rewrites the key file (the same
//! key, the same passphrase) and the manifest as a passphrase change does. So an image of
//! the folder, or two images taken before and after, cannot tell a vault with a duress
//! passphrase from one without. Files of an earlier build (A alone, the action also in
//! the database) are still read. The decoy's folder does say that a decoy exists;
//! `docs/threat-model.md` says what this does and does not protect against.

use std::fs;

use age::secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use super::{read_manifest, write_atomic, Options, Vault, IDENTITY};
use crate::crypto::{self, KdfCost, VaultIdentity, VaultRecipient};
use crate::error::{Error, Result};
use crate::store::Write;
use custos_model::passphrase;

const DURESS: &str = "duress.age";
/// The decoy vault's folder, inside the real vault's.
pub const DECOY: &str = "decoy";
/// Where an earlier build kept the action (read when the file is of that build).
const META_DURESS: &str = "duress";
const META_DRAFT: &str = "draft";
const MAGIC: &[u8] = b"custos-duress-1";
/// The plaintext size of part A.
const OPEN_SIZE: usize = 64;
/// The plaintext size of part B.
const KNOWN_SIZE: usize = 1024;
/// The longest duress passphrase (bytes): part B has a fixed size.
const MAX_PASSPHRASE: usize = 768;
/// The size of every duress file.
const FILE_SIZE: usize = 4096;

/// What the duress passphrase does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuressAction {
    /// Opens the decoy vault.
    Decoy,
    /// Wipes the vault, then answers "wrong passphrase".
    Wipe,
}

/// Part A: what the duress passphrase opens.
#[derive(Serialize, Deserialize)]
struct DuressFile {
    action: Option<DuressAction>,
    /// Filler, so that every file has the same size.
    pad: String,
}

/// Part B: what the vault itself knows.
#[derive(Serialize, Deserialize)]
struct Known {
    action: Option<DuressAction>,
    passphrase: Option<String>,
    pad: String,
}

impl Drop for Known {
    fn drop(&mut self) {
        if let Some(p) = &mut self.passphrase {
            p.zeroize();
        }
    }
}

/// `value` as JSON of exactly `size` bytes (its `pad` field filled).
fn padded<T: Serialize>(size: usize, make: impl Fn(String) -> T) -> Result<Zeroizing<Vec<u8>>> {
    let bare = Zeroizing::new(
        serde_json::to_vec(&make(String::new())).map_err(|e| Error::Encrypt(e.to_string()))?,
    );
    let fill = size
        .checked_sub(bare.len())
        .ok_or_else(|| Error::Invalid("the duress passphrase is too long".into()))?;
    let out = Zeroizing::new(
        serde_json::to_vec(&make("-".repeat(fill))).map_err(|e| Error::Encrypt(e.to_string()))?,
    );
    debug_assert_eq!(out.len(), size);
    Ok(out)
}

/// Writes `duress.age`: `action` sealed with `passphrase` (a random one when `None`),
/// and what the vault knows of it sealed to `recipients`.
fn write_duress_file(
    dir: &std::path::Path,
    recipients: &[VaultRecipient],
    passphrase: Option<&SecretString>,
    action: Option<DuressAction>,
    kdf: KdfCost,
) -> Result<()> {
    let filler;
    let (passphrase, action) = match passphrase {
        Some(p) => (p, action),
        None => {
            let random = crypto::random_bytes::<24>();
            filler = SecretString::from(custos_wire::hex(&random[..]));
            (&filler, None)
        }
    };
    if passphrase.expose_secret().len() > MAX_PASSPHRASE {
        return Err(Error::Invalid(format!(
            "the duress passphrase is too long (at most {MAX_PASSPHRASE} bytes)"
        )));
    }
    let open = padded(OPEN_SIZE, |pad| DuressFile { action, pad })?;
    let mut recipient = age::scrypt::Recipient::new(passphrase.clone());
    if let KdfCost::InsecureTestOnly(log_n) = kdf {
        recipient.set_work_factor(log_n.clamp(1, 30));
    }
    let a = crypto::seal_bytes(std::iter::once(&recipient as &dyn age::Recipient), &open)?;
    let known = padded(KNOWN_SIZE, |pad| Known {
        action,
        passphrase: action.map(|_| passphrase.expose_secret().to_owned()),
        pad,
    })?;
    let b = crypto::seal_bytes(recipients.iter().map(|r| r as &dyn age::Recipient), &known)?;
    let mut file = Vec::with_capacity(FILE_SIZE);
    file.extend_from_slice(MAGIC);
    for part in [&a, &b] {
        let len = u32::try_from(part.len()).map_err(|_| Error::Encrypt("duress file".into()))?;
        file.extend_from_slice(&len.to_be_bytes());
        file.extend_from_slice(part);
    }
    if file.len() > FILE_SIZE {
        return Err(Error::Encrypt("the duress file came out too large".into()));
    }
    file.resize(FILE_SIZE, 0);
    write_atomic(&dir.join(DURESS), &file)
}

/// The two parts of `duress.age`; `None` for part B of a file of an earlier build.
fn parts(bytes: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let Some(rest) = bytes.strip_prefix(MAGIC) else {
        return Some((bytes, None));
    };
    fn take(rest: &[u8]) -> Option<(&[u8], &[u8])> {
        let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let rest = &rest[4..];
        (len <= rest.len()).then(|| rest.split_at(len))
    }
    let (a, rest) = take(rest)?;
    let (b, _) = take(rest)?;
    Some((a, Some(b)))
}

/// A new vault's duress file: no duress passphrase.
pub(super) fn write_filler(
    dir: &std::path::Path,
    recipients: &[VaultRecipient],
    kdf: KdfCost,
) -> Result<()> {
    write_duress_file(dir, recipients, None, None, kdf)
}

/// Rewrites `duress.age` with what it holds (fresh filler when it holds no duress
/// passphrase), as every rewrite of the key file does. A file of an earlier build is
/// left as it is (its duress passphrase is not known to the vault).
pub(super) fn rewrite_duress(
    dir: &std::path::Path,
    identity: &VaultIdentity,
    kdf: KdfCost,
) -> Result<()> {
    let bytes = fs::read(dir.join(DURESS)).map_err(|e| Error::io("reading duress.age", e))?;
    let known = match parts(&bytes) {
        Some((_, Some(b))) => crypto::open_bytes(identity, b)
            .ok()
            .and_then(|plain| serde_json::from_slice::<Known>(&plain).ok()),
        _ => return Ok(()),
    };
    let passphrase = known
        .as_ref()
        .and_then(|k| k.passphrase.as_ref())
        .map(|p| SecretString::from(p.clone()));
    let action = known.as_ref().and_then(|k| k.action);
    write_duress_file(
        dir,
        &[identity.to_public()],
        passphrase.as_ref(),
        action,
        kdf,
    )
}

/// The action the duress passphrase names, if `passphrase` is the duress passphrase.
pub(super) fn duress_action_for(
    dir: &std::path::Path,
    passphrase: &SecretString,
) -> Option<DuressAction> {
    let bytes = fs::read(dir.join(DURESS)).ok()?;
    let (a, _) = parts(&bytes)?;
    let decryptor = age::Decryptor::new_buffered(a).ok()?;
    let identity = age::scrypt::Identity::new(passphrase.clone());
    let mut reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .ok()?;
    let mut plain = Zeroizing::new(Vec::new());
    std::io::Read::read_to_end(&mut reader, &mut plain).ok()?;
    serde_json::from_slice::<DuressFile>(&plain).ok()?.action
}

impl Vault {
    /// Sets the duress passphrase and what it does. It must differ from the vault's
    /// passphrase and be as strong. With [`DuressAction::Decoy`], an empty decoy vault is
    /// made (replacing an earlier decoy): unlock with the duress passphrase to fill it.
    pub fn set_duress(&mut self, passphrase: &SecretString, action: DuressAction) -> Result<()> {
        passphrase::require_strong(passphrase)?;
        if passphrase.expose_secret().len() > MAX_PASSPHRASE {
            return Err(Error::Invalid(format!(
                "the duress passphrase is too long (at most {MAX_PASSPHRASE} bytes)"
            )));
        }
        let current =
            fs::read(self.dir.join(IDENTITY)).map_err(|e| Error::io("reading identity.age", e))?;
        let device_key = read_manifest(&self.dir)?.device_key;
        if super::device::open_identity(&current, passphrase, device_key.as_deref()).is_ok() {
            return Err(Error::Invalid(
                "the duress passphrase must differ from the vault's passphrase".into(),
            ));
        }
        let decoy = self.dir.join(DECOY);
        if decoy.exists() {
            remove_decoy(&decoy)?;
        }
        if action == DuressAction::Decoy {
            let options = Options {
                bind_to_device: self.options.bind_to_device,
                ..self.options
            };
            Vault::create(&decoy, passphrase, options)?.lock()?;
        }
        write_duress_file(
            &self.dir,
            &self.keys.recipients,
            Some(passphrase),
            Some(action),
            self.options.kdf,
        )?;
        self.touch_identity()
    }

    /// Removes the duress passphrase (and the decoy).
    pub fn clear_duress(&mut self) -> Result<()> {
        let decoy = self.dir.join(DECOY);
        if decoy.exists() {
            remove_decoy(&decoy)?;
        }
        write_filler(&self.dir, &self.keys.recipients, self.options.kdf)?;
        self.touch_identity()
    }

    /// Rewrites the key file and the manifest with what they hold, the way a passphrase
    /// change writes them: what setting the duress passphrase wrote looks like one. The
    /// database key an earlier build kept the action under goes.
    fn touch_identity(&self) -> Result<()> {
        if self.store.meta(META_DURESS)?.is_some() {
            self.store.remove_meta(META_DURESS)?;
        }
        let current =
            fs::read(self.dir.join(IDENTITY)).map_err(|e| Error::io("reading identity.age", e))?;
        let device_key = read_manifest(&self.dir)?.device_key;
        super::replace_identity(&self.dir, &current, device_key.as_deref())
    }

    /// What the duress passphrase does, when one is set (known to the real vault only).
    pub fn duress_action(&self) -> Option<DuressAction> {
        let bytes = fs::read(self.dir.join(DURESS)).ok()?;
        if let (_, Some(b)) = parts(&bytes)? {
            let plain = crypto::open_bytes(&self.keys.identity, b).ok()?;
            return serde_json::from_slice::<Known>(&plain).ok()?.action;
        }
        // A file of an earlier build: the action is in the database.
        let sealed = self.store.meta(META_DURESS).ok()??;
        if sealed.is_empty() {
            return None;
        }
        let plain = crypto::open_bytes(&self.keys.identity, &sealed).ok()?;
        serde_json::from_slice(&plain).ok()
    }

    /// Keeps unsaved work (an editor's state) sealed in the vault across a lock; replaces
    /// an earlier draft.
    pub fn save_draft(&mut self, draft: &[u8]) -> Result<()> {
        let sealed = crypto::seal_bytes(
            self.keys
                .recipients
                .iter()
                .map(|r| r as &dyn age::Recipient),
            draft,
        )?;
        self.store.commit(vec![Write::Meta(META_DRAFT, sealed)])
    }

    /// The draft kept by [`Vault::save_draft`], removed from the vault as it is returned.
    pub fn take_draft(&mut self) -> Result<Option<Zeroizing<Vec<u8>>>> {
        let Some(sealed) = self.store.meta(META_DRAFT)? else {
            return Ok(None);
        };
        if sealed.is_empty() {
            return Ok(None);
        }
        let plain = crypto::open_bytes(&self.keys.identity, &sealed)
            .map_err(|_| Error::Database("the saved draft is damaged".into()))?;
        self.store
            .commit(vec![Write::Meta(META_DRAFT, Vec::new())])?;
        Ok(Some(plain))
    }
}

fn remove_decoy(decoy: &std::path::Path) -> Result<()> {
    match Vault::wipe_folder(decoy) {
        Ok(_) => Ok(()),
        // Not a vault (a half-made decoy): remove it all the same.
        Err(_) => fs::remove_dir_all(decoy).map_err(|e| Error::io("removing the decoy", e)),
    }
}
