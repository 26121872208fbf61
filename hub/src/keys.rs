//! The hub's data folder and its keys: created on first start, never printed.
//!
//! ```text
//! DIR/                 mode 0700
//!   tls.key            the TLS key (ECDSA P-256, PKCS#8 PEM), mode 0600
//!   tls.crt            its self-signed certificate (PEM); the pin is its key's
//!   bundle.key         the age identity for offline bundles, mode 0600
//!   db/                the database
//!   blobs/             blob files: <uuid>.part while uploading, <uuid> when complete
//!   staging/           bundle imports in progress (emptied at start)
//!   storage.json       where the data is when not in db/ (PostgreSQL), mode 0600
//!   serve.lock         held by the `serve` process using the folder
//!   admin.sock         the admin socket while the hub runs, mode 0600
//! ```

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use age::secrecy::ExposeSecret;
use custos_wire as wire;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A fault of the data folder or of the keys in it.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// The folder (or a sub-folder) cannot be created or given its mode: the folder, why.
    #[error("cannot create {path}: {1}", path = .0.display())]
    CreateFolder(PathBuf, io::Error),
    /// A file cannot be read: the file, why.
    #[error("cannot read {path}: {1}", path = .0.display())]
    Read(PathBuf, io::Error),
    /// A file cannot be written.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// No new TLS key could be made.
    #[error("TLS key: {0}")]
    NewKey(rcgen::Error),
    /// The TLS key file holds no key: the file, why.
    #[error("{path}: {1}", path = .0.display())]
    BadKey(PathBuf, rcgen::Error),
    /// A key or certificate file holds no PEM of its kind: the file, why.
    #[error("{path}: {1}", path = .0.display())]
    BadPem(PathBuf, rustls::pki_types::pem::Error),
    /// The self-signed certificate could not be made.
    #[error("TLS certificate: {0}")]
    Certificate(rcgen::Error),
    /// The certificate file holds no certificate with a key the hub can pin.
    #[error("{} is not a certificate", .0.display())]
    NotACertificate(PathBuf),
    /// The TLS key is gone but its certificate is there: the key, the certificate. A new
    /// key would change the pin every device holds, so the hub does not make one.
    #[error(
        "{} is missing but {} is there: restore the key from a backup (a new key \
         would change the hub's pin, and every device would have to enroll again), \
         or remove the certificate to start with a new key",
        .0.display(),
        .1.display()
    )]
    KeyMissing(PathBuf, PathBuf),
    /// The bundle key file holds no age identity.
    #[error("{} holds no age identity", .0.display())]
    NoBundleIdentity(PathBuf),
    /// `pin switch` before `pin next`.
    #[error("no next key: run `custos-hub pin next` first")]
    NoNextKey,
}

/// A file that cannot be written (whole): the file, why.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {1}", path = .0.display())]
pub struct WriteError(pub PathBuf, pub io::Error);

/// The hub's data folder.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The folder at `root`.
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir { root: root.into() }
    }

    /// `$XDG_DATA_HOME/custos-hub`, else `~/.local/share/custos-hub`.
    pub fn default_root() -> PathBuf {
        let base = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| dirs::home_dir().map(|h| h.join(".local/share")))
            .unwrap_or_else(|| PathBuf::from("."));
        base.join("custos-hub")
    }

    /// The folder itself.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// The database folder.
    pub fn db(&self) -> PathBuf {
        self.root.join("db")
    }
    /// The blob files.
    pub fn blobs(&self) -> PathBuf {
        self.root.join("blobs")
    }
    /// Bundle imports in progress.
    pub fn staging(&self) -> PathBuf {
        self.root.join("staging")
    }
    /// The admin socket.
    pub fn admin_socket(&self) -> PathBuf {
        self.root.join("admin.sock")
    }
    /// Where the data is kept, when not in `db/` ([`crate::storage::Storage`]).
    pub fn storage_file(&self) -> PathBuf {
        self.root.join("storage.json")
    }
    /// Locked by the `serve` process using the folder.
    pub fn serve_lock(&self) -> PathBuf {
        self.root.join("serve.lock")
    }
    /// The TLS key.
    pub fn tls_key(&self) -> PathBuf {
        self.root.join("tls.key")
    }
    /// The TLS certificate.
    pub fn tls_crt(&self) -> PathBuf {
        self.root.join("tls.crt")
    }

    /// The next TLS key, while a pin rotation is prepared.
    pub fn tls_next_key(&self) -> PathBuf {
        self.root.join("tls.next.key")
    }

    /// Its certificate.
    pub fn tls_next_crt(&self) -> PathBuf {
        self.root.join("tls.next.crt")
    }
    /// The bundle identity.
    pub fn bundle_key(&self) -> PathBuf {
        self.root.join("bundle.key")
    }

    /// Creates the folder (mode 0700) and its sub-folders when missing.
    pub fn create(&self) -> Result<(), KeysError> {
        let what = |e: io::Error| KeysError::CreateFolder(self.root.clone(), e);
        fs::create_dir_all(&self.root).map_err(what)?;
        fs::set_permissions(&self.root, fs::Permissions::from_mode(0o700)).map_err(what)?;
        for sub in [self.blobs(), self.staging()] {
            fs::create_dir_all(&sub).map_err(what)?;
            fs::set_permissions(&sub, fs::Permissions::from_mode(0o700)).map_err(what)?;
        }
        Ok(())
    }
}

/// The hub's keys. `Debug` shows only public parts.
pub struct Keys {
    /// The TLS certificate (DER).
    pub cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
    /// The pin of the TLS key.
    pub pin: String,
    bundle: age::x25519::Identity,
    /// The bundle identity's recipient (`age1…`).
    pub hub_recipient: String,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("pin", &self.pin)
            .field("hub_recipient", &self.hub_recipient)
            .finish_non_exhaustive()
    }
}

impl Keys {
    /// Loads the keys of `dir`, creating the folder and any missing key first.
    pub fn load_or_create(dir: &DataDir) -> Result<Keys, KeysError> {
        dir.create()?;
        let (key_path, crt_path) = (dir.tls_key(), dir.tls_crt());
        match (key_path.exists(), crt_path.exists()) {
            (false, false) => {
                let key = rcgen::KeyPair::generate().map_err(KeysError::NewKey)?;
                write_private(&key_path, key.serialize_pem().as_bytes())?;
                write_cert(&crt_path, &key)?;
            }
            // The pin names the key: a lost certificate is made again from it.
            (true, false) => {
                let pem = read_text(&key_path)?;
                let key = rcgen::KeyPair::from_pem(&pem)
                    .map_err(|e| KeysError::BadKey(key_path.clone(), e))?;
                write_cert(&crt_path, &key)?;
            }
            (false, true) => return Err(KeysError::KeyMissing(key_path, crt_path)),
            // A certificate of an older hub names the product: made again from the same
            // key (the same pin), naming nothing.
            (true, true) => {
                let named = fs::read(&crt_path)
                    .ok()
                    .and_then(|pem| CertificateDer::from_pem_slice(&pem).ok())
                    .is_some_and(|der| names_product(der.as_ref()));
                if named {
                    let pem = read_text(&key_path)?;
                    let key = rcgen::KeyPair::from_pem(&pem)
                        .map_err(|e| KeysError::BadKey(key_path.clone(), e))?;
                    write_cert(&crt_path, &key)?;
                }
            }
        }
        let cert = CertificateDer::from_pem_file(&crt_path)
            .map_err(|e| KeysError::BadPem(crt_path.clone(), e))?;
        let key = PrivateKeyDer::from_pem_file(&key_path)
            .map_err(|e| KeysError::BadPem(key_path.clone(), e))?;
        let pin = wire::pin_of_cert(&cert).ok_or(KeysError::NotACertificate(crt_path))?;

        let bundle_path = dir.bundle_key();
        if !bundle_path.exists() {
            let id = age::x25519::Identity::generate();
            let text = format!(
                "# custos-hub bundle key: decrypts offline bundles sent to this hub\n\
                 # public key: {}\n{}\n",
                id.to_public(),
                id.to_string().expose_secret()
            );
            write_private(&bundle_path, text.as_bytes())?;
        }
        let text = read_text(&bundle_path)?;
        let bundle = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .and_then(|l| l.parse::<age::x25519::Identity>().ok())
            .ok_or(KeysError::NoBundleIdentity(bundle_path))?;
        let hub_recipient = bundle.to_public().to_string();
        Ok(Keys {
            cert,
            key,
            pin,
            bundle,
            hub_recipient,
        })
    }

    /// A copy of the TLS private key, for the TLS configuration.
    pub fn tls_key(&self) -> PrivateKeyDer<'static> {
        self.key.clone_key()
    }

    /// The bundle identity.
    pub fn bundle_identity(&self) -> &age::x25519::Identity {
        &self.bundle
    }
}

/// Prepares a pin rotation: makes the next TLS key (once) and returns its pin. While it
/// exists, the hub announces the pin to devices (they then accept either key).
pub fn prepare_next(dir: &DataDir) -> Result<String, KeysError> {
    let (key_path, crt_path) = (dir.tls_next_key(), dir.tls_next_crt());
    if !key_path.exists() {
        let key = rcgen::KeyPair::generate().map_err(KeysError::NewKey)?;
        write_private(&key_path, key.serialize_pem().as_bytes())?;
        write_cert(&crt_path, &key)?;
    }
    next_pin(dir).ok_or(KeysError::NotACertificate(crt_path))
}

/// The pin of the prepared next key, if any.
pub fn next_pin(dir: &DataDir) -> Option<String> {
    let cert = CertificateDer::from_pem_file(dir.tls_next_crt()).ok()?;
    wire::pin_of_cert(&cert)
}

/// Completes a pin rotation: the next key becomes the key (the old one is overwritten).
/// Takes effect when the hub starts again. Returns the new pin.
pub fn switch_to_next(dir: &DataDir) -> Result<String, KeysError> {
    let pin = next_pin(dir).ok_or(KeysError::NoNextKey)?;
    let key = fs::read(dir.tls_next_key()).map_err(|e| KeysError::Read(dir.tls_next_key(), e))?;
    let crt = fs::read(dir.tls_next_crt()).map_err(|e| KeysError::Read(dir.tls_next_crt(), e))?;
    write_private(&dir.tls_key(), &key)?;
    write_atomic(&dir.tls_crt(), &crt, 0o644)?;
    let _ = fs::remove_file(dir.tls_next_key());
    let _ = fs::remove_file(dir.tls_next_crt());
    Ok(pin)
}

fn read_text(path: &Path) -> Result<String, KeysError> {
    fs::read_to_string(path).map_err(|e| KeysError::Read(path.to_owned(), e))
}

/// Whether certificate bytes name the product (the certificates of older hubs did).
fn names_product(der: &[u8]) -> bool {
    der.windows(6).any(|w| w.eq_ignore_ascii_case(b"custos"))
}

/// The hub's self-signed certificate: devices pin its key, so its names matter to no
/// one, and it gives none — no product, no organisation — to whoever connects.
fn write_cert(path: &Path, key: &rcgen::KeyPair) -> Result<(), KeysError> {
    let cert = rcgen::CertificateParams::new(vec!["hub".to_string()])
        .and_then(|mut p| {
            p.distinguished_name = rcgen::DistinguishedName::new();
            p.self_signed(key)
        })
        .map_err(KeysError::Certificate)?;
    Ok(write_atomic(path, cert.pem().as_bytes(), 0o644)?)
}

/// Writes a file only its owner reads, whole or not at all.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_atomic(path, bytes, 0o600)
}

/// Writes a file whole or not at all: a temporary file with `mode`, synced, renamed.
fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), WriteError> {
    let what = |e: io::Error| WriteError(path.to_owned(), e);
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(what)?;
    f.write_all(bytes).map_err(what)?;
    f.sync_all().map_err(what)?;
    drop(f);
    fs::rename(&tmp, path).map_err(what)?;
    if let Some(parent) = path.parent() {
        fs::File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(what)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_created_once_with_private_modes() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path().join("hub"));
        let k1 = Keys::load_or_create(&dir).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(dir.root()), 0o700);
        assert_eq!(mode(&dir.tls_key()), 0o600);
        assert_eq!(mode(&dir.bundle_key()), 0o600);
        assert!(wire::is_pin(&k1.pin));
        let k2 = Keys::load_or_create(&dir).unwrap();
        assert_eq!(
            (k1.pin.clone(), &k1.hub_recipient),
            (k2.pin, &k2.hub_recipient)
        );
        // A lost certificate comes back with the same pin.
        fs::remove_file(dir.tls_crt()).unwrap();
        assert_eq!(Keys::load_or_create(&dir).unwrap().pin, k1.pin);
        assert!(!names_product(
            Keys::load_or_create(&dir).unwrap().cert.as_ref()
        ));
        // An older hub's certificate, naming the product, is made again: the same pin.
        let key = rcgen::KeyPair::from_pem(&fs::read_to_string(dir.tls_key()).unwrap()).unwrap();
        let old = rcgen::CertificateParams::new(vec!["custos-hub".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        fs::write(dir.tls_crt(), old.pem()).unwrap();
        let k3 = Keys::load_or_create(&dir).unwrap();
        assert_eq!(k3.pin, k1.pin);
        assert!(!names_product(k3.cert.as_ref()));
        // A lost key is an error, not a silent new pin.
        fs::remove_file(dir.tls_key()).unwrap();
        let e = Keys::load_or_create(&dir).unwrap_err();
        assert!(matches!(e, KeysError::KeyMissing(..)), "{e}");
        assert!(e.to_string().contains("restore"), "{e}");
        let shown = format!("{k1:?}");
        assert!(!shown.contains("AGE-SECRET-KEY") && !shown.contains("PRIVATE"));
    }
}
