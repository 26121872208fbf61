//! The duress passphrase, and drafts kept across a lock.
//!
//! A vault may have a second passphrase for when its owner is forced to unlock it. Typed
//! at the unlock prompt it either opens a **decoy** — an ordinary vault in the `decoy/`
//! sub-folder that the owner fills with innocuous cases by unlocking it the same way — or
//! **wipes** the vault (see `device.rs`) and answers "wrong passphrase".
//!
//! `duress.age` holds the action, encrypted with the duress passphrase (scrypt, the same
//! work factor as the real key file). Every vault this build creates has one: without a
//! duress passphrase it is filler encrypted with a random passphrase, so its presence says
//! nothing. The decoy's folder does say that a decoy exists; `docs/threat-model.md` says
//! what this does and does not protect against.

use std::fs;

use age::secrecy::SecretString;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{read_manifest, write_atomic, Options, Vault, IDENTITY};
use crate::crypto::{self, KdfCost};
use crate::error::{Error, Result};
use crate::store::Write;
use custos_model::passphrase;

const DURESS: &str = "duress.age";
/// The decoy vault's folder, inside the real vault's.
pub const DECOY: &str = "decoy";
const META_DURESS: &str = "duress";
const META_DRAFT: &str = "draft";

/// What the duress passphrase does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuressAction {
    /// Opens the decoy vault.
    Decoy,
    /// Wipes the vault, then answers "wrong passphrase".
    Wipe,
}

#[derive(Serialize, Deserialize)]
struct DuressFile {
    action: Option<DuressAction>,
    /// Filler, so that a set and an unset file have the same size.
    pad: String,
}

/// Writes `duress.age`: the action (or none) sealed with `passphrase`.
pub(super) fn write_duress_file(
    dir: &std::path::Path,
    passphrase: &SecretString,
    action: Option<DuressAction>,
    kdf: KdfCost,
) -> Result<()> {
    let body = DuressFile {
        action,
        pad: match action {
            None => "-".repeat(6),
            Some(DuressAction::Wipe) => "-".repeat(6),
            Some(DuressAction::Decoy) => "-".repeat(5),
        },
    };
    let plain =
        Zeroizing::new(serde_json::to_vec(&body).map_err(|e| Error::Encrypt(e.to_string()))?);
    let mut recipient = age::scrypt::Recipient::new(passphrase.clone());
    if let KdfCost::InsecureTestOnly(log_n) = kdf {
        recipient.set_work_factor(log_n.clamp(1, 30));
    }
    let sealed = crypto::seal_bytes(std::iter::once(&recipient as &dyn age::Recipient), &plain)?;
    write_atomic(&dir.join(DURESS), &sealed)
}

/// Filler for a vault without a duress passphrase: a random passphrase nobody knows.
pub(super) fn write_filler(dir: &std::path::Path, kdf: KdfCost) -> Result<()> {
    let random = crypto::random_bytes::<24>();
    let pass = SecretString::from(custos_wire::hex(&random[..]));
    write_duress_file(dir, &pass, None, kdf)
}

/// The action the duress passphrase names, if `passphrase` is the duress passphrase.
pub(super) fn duress_action_for(
    dir: &std::path::Path,
    passphrase: &SecretString,
) -> Option<DuressAction> {
    let bytes = fs::read(dir.join(DURESS)).ok()?;
    let decryptor = age::Decryptor::new_buffered(&bytes[..]).ok()?;
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
        write_duress_file(&self.dir, passphrase, Some(action), self.options.kdf)?;
        let sealed = super::seal_json(&self.keys.recipients, &action)?;
        self.store.commit(vec![Write::Meta(META_DURESS, sealed)])
    }

    /// Removes the duress passphrase (and the decoy).
    pub fn clear_duress(&mut self) -> Result<()> {
        let decoy = self.dir.join(DECOY);
        if decoy.exists() {
            remove_decoy(&decoy)?;
        }
        write_filler(&self.dir, self.options.kdf)?;
        self.store
            .commit(vec![Write::Meta(META_DURESS, Vec::new())])
    }

    /// What the duress passphrase does, when one is set (known to the real vault only).
    pub fn duress_action(&self) -> Option<DuressAction> {
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
