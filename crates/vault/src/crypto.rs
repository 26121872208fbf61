//! Every age and Ed25519 call of the core lives here.
//!
//! - The vault identity is a standard age X25519 key. On disk it is a standard age file
//!   encrypted with the passphrase (scrypt recipient), so `age -d` opens it too.
//! - A stored value is `age(recipients, envelope)` where the envelope is JSON:
//!   `{"body": <exact JSON bytes>, "signer": <Ed25519 public key>, "sig": <signature>}`.
//!   age gives confidentiality and integrity, but anyone who knows a recipient's public
//!   key can encrypt to it; the signature, checked against device keys the vault knows,
//!   stops forged records.
//! - Decrypted bytes are returned in [`Zeroizing`] buffers.

use std::io::{Read, Write};
use std::iter;
use std::str::FromStr;

use age::secrecy::{ExposeSecret, SecretString};
use age_core::format::FileKey;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Damage, Error, Result};

pub use age::x25519::{Identity as VaultIdentity, Recipient as VaultRecipient};

mod payload;
mod shares;
pub use shares::DEPTH as SHARES_DEPTH;
pub(crate) use shares::{Prepared, Shares};

/// How hard the passphrase key derivation (scrypt) works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KdfCost {
    /// Calibrated by age to about one second on this machine. Always use this.
    #[default]
    Calibrated,
    /// A fixed, low work factor `N = 2^log_n`, so that test suites can create many
    /// vaults quickly. Never use it for a real vault: a low factor makes guessing the
    /// passphrase cheap.
    InsecureTestOnly(u8),
}

/// Generates a fresh vault identity.
pub fn generate_identity() -> VaultIdentity {
    VaultIdentity::generate()
}

/// Encrypts the identity with the passphrase (age scrypt recipient).
pub fn wrap_identity(
    identity: &VaultIdentity,
    passphrase: &SecretString,
    cost: KdfCost,
) -> Result<Vec<u8>> {
    let mut recipient = age::scrypt::Recipient::new(passphrase.clone());
    if let KdfCost::InsecureTestOnly(log_n) = cost {
        recipient.set_work_factor(log_n.clamp(1, 30));
    }
    let secret = identity.to_string();
    let mut file = Zeroizing::new(String::new());
    file.push_str("# custos vault identity\n");
    file.push_str(secret.expose_secret());
    file.push('\n');
    seal_bytes(
        iter::once(&recipient as &dyn age::Recipient),
        file.as_bytes(),
    )
}

/// Decrypts the identity file with the passphrase.
///
/// A passphrase that does not decrypt it gives [`Error::WrongPassphrase`]; a file that
/// is not a valid age file at all gives [`Error::IdentityDamaged`].
pub fn unwrap_identity(bytes: &[u8], passphrase: &SecretString) -> Result<VaultIdentity> {
    let decryptor = age::Decryptor::new_buffered(bytes).map_err(|_| Error::IdentityDamaged)?;
    let identity = age::scrypt::Identity::new(passphrase.clone());
    let mut reader = match decryptor.decrypt(iter::once(&identity as &dyn age::Identity)) {
        Ok(r) => r,
        Err(age::DecryptError::DecryptionFailed) | Err(age::DecryptError::NoMatchingKeys) => {
            return Err(Error::WrongPassphrase)
        }
        Err(_) => return Err(Error::IdentityDamaged),
    };
    let mut text = Zeroizing::new(Vec::with_capacity(bytes.len()));
    reader
        .read_to_end(&mut text)
        .map_err(|_| Error::IdentityDamaged)?;
    let text = std::str::from_utf8(&text).map_err(|_| Error::IdentityDamaged)?;
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .and_then(|l| VaultIdentity::from_str(l).ok())
        .ok_or(Error::IdentityDamaged)
}

/// SHA-256 of a byte string, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Fills a buffer from the operating system's random source.
pub fn random_bytes<const N: usize>() -> Zeroizing<[u8; N]> {
    let mut buf = Zeroizing::new([0u8; N]);
    getrandom::fill(buf.as_mut()).expect("the OS random source is available");
    buf
}

/// The device's Ed25519 signing key.
pub struct DeviceKey {
    signing: SigningKey,
}

impl DeviceKey {
    /// Generates a new key from the OS random source.
    pub fn generate() -> Self {
        DeviceKey {
            signing: SigningKey::from_bytes(&random_bytes::<32>()),
        }
    }

    /// Restores the key from its 32 secret bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        DeviceKey {
            signing: SigningKey::from_bytes(bytes),
        }
    }

    /// The secret bytes, for storing the key encrypted.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.signing.to_bytes())
    }

    /// Signs bytes (an offline bundle's digest).
    pub fn sign_bytes(&self, bytes: &[u8]) -> [u8; 64] {
        self.signing.sign(bytes).to_bytes()
    }

    /// The public half, as base64.
    pub fn public(&self) -> String {
        B64.encode(self.signing.verifying_key().as_bytes())
    }
}

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceKey")
            .field("public", &self.public())
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct EnvelopeOut<'a> {
    body: &'a RawValue,
    signer: &'a str,
    sig: String,
}

#[derive(Deserialize)]
struct EnvelopeIn<'a> {
    #[serde(borrow)]
    body: &'a RawValue,
    signer: &'a str,
    sig: &'a str,
}

/// Signs `body` (JSON) with the device key and encrypts the envelope to `recipients`
/// (age X25519 recipients: [`VaultRecipient`]s, or [`Prepared`] ones).
pub fn seal<R: age::Recipient>(
    recipients: &[R],
    device: &DeviceKey,
    signer: &str,
    body: &[u8],
) -> Result<Sealed> {
    let plaintext = envelope(device, signer, body)?;
    let (ciphertext, key) = seal_remembering(recipients, &plaintext)?;
    Ok(Sealed {
        learned: (digest(&ciphertext), key),
        ciphertext,
    })
}

/// The signed envelope of `body` (JSON), as stored inside the age file.
fn envelope(device: &DeviceKey, signer: &str, body: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let text = std::str::from_utf8(body).map_err(|e| Error::Encrypt(e.to_string()))?;
    let raw: &RawValue =
        serde_json::from_str(text).map_err(|e| Error::Encrypt(format!("body: {e}")))?;
    // Signed as stored: the envelope keeps the body without the whitespace around it.
    let sig = device.signing.sign(raw.get().as_bytes());
    let envelope = EnvelopeOut {
        body: raw,
        signer,
        sig: B64.encode(sig.to_bytes()),
    };
    serde_json::to_vec(&envelope)
        .map(Zeroizing::new)
        .map_err(|e| Error::Encrypt(e.to_string()))
}

/// `plaintext` sealed by the age crate to `recipients`, and the file key it chose.
fn seal_remembering<R: age::Recipient>(
    recipients: &[R],
    plaintext: &[u8],
) -> Result<(Vec<u8>, KeyBytes)> {
    let (first, rest) = recipients
        .split_first()
        .ok_or_else(|| Error::Encrypt("no recipients".into()))?;
    let remember = Remember {
        inner: first,
        key: std::cell::RefCell::new(None),
    };
    let all = iter::once(&remember as &dyn age::Recipient)
        .chain(rest.iter().map(|r| r as &dyn age::Recipient));
    let ciphertext = seal_bytes(all, plaintext)?;
    let key = remember
        .key
        .into_inner()
        .ok_or_else(|| Error::Encrypt("no file key".into()))?;
    Ok((ciphertext, key))
}

/// One age file key wrapped to some recipients, for the versions of one large commit
/// that go to the same readers: each is sealed behind the same header (the same
/// stanzas and MAC, written once by the age crate) with a nonce, so a payload key, of
/// its own — a standard age file, without an X25519 per version.
///
/// Who sees the ciphertexts (the hub, a copy of the database) sees which versions share
/// a header, so which were written together; whoever can read one of them can read all,
/// as they could anyway (they are recipients of all of them). `docs/threat-model.md`.
pub struct SharedKey {
    key: KeyBytes,
    header: Vec<u8>,
}

impl SharedKey {
    /// A fresh file key, wrapped to `recipients` by the age crate.
    pub fn new<R: age::Recipient>(recipients: &[R]) -> Result<SharedKey> {
        let (file, key) = seal_remembering(recipients, b"")?;
        let header = payload::header(&file)
            .ok_or_else(|| Error::Encrypt("age wrote no header".into()))?
            .to_vec();
        Ok(SharedKey { key, header })
    }

    /// [`seal`] with this file key.
    pub fn seal(&self, device: &DeviceKey, signer: &str, body: &[u8]) -> Result<Sealed> {
        let plaintext = envelope(device, signer, body)?;
        let ciphertext = payload::seal(&self.key, &self.header, &plaintext)
            .map_err(|()| Error::Encrypt("sealing with a shared file key".into()))?;
        Ok(Sealed {
            learned: (digest(&ciphertext), self.key.clone()),
            ciphertext,
        })
    }

    /// `plaintext` sealed with this file key, without a signed envelope: what
    /// [`seal_bytes`] writes, without the age crate's X25519 and header for each value.
    pub fn seal_bytes(&self, plaintext: &[u8]) -> Result<Vec<u8>> {
        payload::seal(&self.key, &self.header, plaintext)
            .map_err(|()| Error::Encrypt("sealing with a shared file key".into()))
    }

    /// What a signature binds this file key with, for a file of `what`: see
    /// [`key_digest`].
    pub fn key_digest(&self, what: &[u8]) -> [u8; 32] {
        key_digest(what, &self.key)
    }
}

/// The digest that binds a file key to what its file holds: SHA-256 of a label, `what`,
/// a zero byte and the key. A cache this vault seals to itself (the record index, the
/// key cache, the search snapshot) carries its device's signature of this digest inside
/// the plaintext, instead of a signature of a digest of the whole plaintext: the file
/// key is made for that one file and known only to this vault (it is wrapped to the
/// vault's own recipient), so no one else can seal other bytes under it, and a file
/// sealed under any other key does not carry a signature of its key. Checking it costs
/// one SHA-256 block and one signature check, where hashing the search snapshot cost
/// 15 % of an unlock's CPU at 100k records.
pub fn key_digest(what: &[u8], key: &[u8; 16]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"custos file key 1\n");
    h.update(what);
    h.update([0u8]);
    h.update(key);
    h.finalize().into()
}

impl std::fmt::Debug for SharedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedKey").finish_non_exhaustive()
    }
}

/// Seals an already sealed value again behind `to`'s header (so to its recipients),
/// without changing its signed envelope (so its signature stays valid). For a vault that
/// starts syncing: its earlier versions are sealed for the organisation's coordinators
/// too, each batch with one file key, as the versions of a large commit are.
pub fn reseal(
    identity: &VaultIdentity,
    cache: &KeyCache,
    ciphertext: &[u8],
    to: &SharedKey,
) -> Result<Sealed, Damage> {
    let plaintext = match cache.map.get(&digest(ciphertext)) {
        Some(key) => payload::open(key, ciphertext),
        None => decrypt_with(identity, ciphertext).map(|(plain, _)| plain),
    }
    .map_err(|_| Damage::Decrypt)?;
    let out = payload::seal(&to.key, &to.header, &plaintext).map_err(|()| Damage::Decrypt)?;
    Ok(Sealed {
        learned: (digest(&out), to.key.clone()),
        ciphertext: out,
    })
}

/// Checks an Ed25519 signature over a digest by a signer (base64 public key).
pub fn verify_digest(signer: &str, digest: &[u8; 32], sig: &[u8; 64]) -> bool {
    B64.decode(signer)
        .ok()
        .and_then(|k| <[u8; 32]>::try_from(k).ok())
        .and_then(|k| VerifyingKey::from_bytes(&k).ok())
        .is_some_and(|k| k.verify(digest, &Signature::from_bytes(sig)).is_ok())
}

/// True when a string is an Ed25519 public key in base64 (a device signer).
pub fn is_signer(s: &str) -> bool {
    B64.decode(s)
        .ok()
        .and_then(|k| <[u8; 32]>::try_from(k).ok())
        .is_some_and(|k| VerifyingKey::from_bytes(&k).is_ok())
}

/// Decrypts a sealed value and checks its signature against `trusted` signer keys.
/// Returns the body's exact JSON bytes, and the file key to remember when `cache` did
/// not know this ciphertext.
///
/// A ciphertext whose exact bytes are in `cache` (we wrote it, or verified it before)
/// is decrypted with the remembered file key — no X25519 — and its signature is not
/// checked again. Anything else takes the full path.
pub fn open(
    identity: &VaultIdentity,
    trusted: &[String],
    cache: &KeyCache,
    ciphertext: &[u8],
) -> Result<Opened, Damage> {
    let digest = digest(ciphertext);
    if let Some(plaintext) = open_known_digest(cache, &digest, ciphertext) {
        let plaintext = plaintext?;
        let envelope: EnvelopeIn<'_> =
            serde_json::from_slice(&plaintext).map_err(|_| Damage::Format)?;
        return Ok(Opened {
            body: Zeroizing::new(envelope.body.get().as_bytes().to_vec()),
            signer: envelope.signer.to_owned(),
            learned: None,
        });
    }
    let (plaintext, key) = decrypt_with(identity, ciphertext).map_err(|_| Damage::Decrypt)?;
    let envelope: EnvelopeIn<'_> =
        serde_json::from_slice(&plaintext).map_err(|_| Damage::Format)?;
    if !trusted.iter().any(|t| t == envelope.signer) {
        return Err(Damage::Signature);
    }
    verify(
        envelope.signer,
        envelope.sig,
        envelope.body.get().as_bytes(),
    )?;
    Ok(Opened {
        body: Zeroizing::new(envelope.body.get().as_bytes().to_vec()),
        signer: envelope.signer.to_owned(),
        learned: Some((digest, key)),
    })
}

/// The decrypted envelope (`{"body": …, "signer": …, "sig": …}`) of a ciphertext whose
/// exact bytes are in `cache` — verified when it was first read or written — or `None`
/// when the cache does not know it (then [`open`] must take the full path). The caller
/// parses the body straight from the envelope: one pass over the JSON instead of three.
pub fn open_known(
    cache: &KeyCache,
    ciphertext: &[u8],
) -> Option<Result<Zeroizing<Vec<u8>>, Damage>> {
    open_known_digest(cache, &digest(ciphertext), ciphertext)
}

fn open_known_digest(
    cache: &KeyCache,
    digest: &[u8; 32],
    ciphertext: &[u8],
) -> Option<Result<Zeroizing<Vec<u8>>, Damage>> {
    let key = cache.map.get(digest)?;
    // Its exact bytes were read whole before: the payload alone is read again (see
    // `payload`).
    Some(payload::open(key, ciphertext).map_err(|()| Damage::Decrypt))
}

/// A ciphertext's digest and file key, for the [`KeyCache`].
pub type Learned = ([u8; 32], Zeroizing<[u8; 16]>);

/// A decrypted, verified value.
pub struct Opened {
    /// The body's exact JSON bytes.
    pub body: Zeroizing<Vec<u8>>,
    /// The signer (base64 Ed25519) whose signature was verified.
    pub signer: String,
    /// The ciphertext's digest and file key, to add to the [`KeyCache`].
    pub learned: Option<Learned>,
}

/// What [`seal`] produced.
pub struct Sealed {
    /// The age ciphertext.
    pub ciphertext: Vec<u8>,
    /// Its digest and file key, for the [`KeyCache`].
    pub learned: Learned,
}

/// File keys of ciphertexts this vault wrote or verified, by SHA-256 of the exact
/// ciphertext bytes. It turns a repeated read from an X25519 operation plus a signature
/// check (~0.3 ms) into a ChaCha20 decrypt; it is stored age-encrypted like everything
/// else and wiped on lock.
#[derive(Default)]
pub struct KeyCache {
    map: foldhash::HashMap<[u8; 32], Zeroizing<[u8; 16]>>,
}

impl KeyCache {
    const ENTRY: usize = 48;

    /// Remembers a file key.
    pub fn insert(&mut self, learned: Learned) {
        self.map.insert(learned.0, learned.1);
    }

    /// Number of remembered keys.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Keeps only the keys of the ciphertexts whose digest ([`ciphertext_digest`]) is in
    /// `digests`: the others were removed from the vault.
    pub fn retain(&mut self, digests: &std::collections::HashSet<[u8; 32]>) {
        self.map.retain(|d, _| digests.contains(d));
    }

    /// Serializes the cache (to be encrypted before storing).
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(self.map.len() * Self::ENTRY));
        for (d, k) in &self.map {
            out.extend_from_slice(d);
            out.extend_from_slice(&k[..]);
        }
        out
    }

    /// Restores a cache; `None` when the bytes are not a cache.
    pub fn from_bytes(bytes: &[u8]) -> Option<KeyCache> {
        if !bytes.len().is_multiple_of(Self::ENTRY) {
            return None;
        }
        let mut map = <foldhash::HashMap<_, _> as foldhash::HashMapExt>::with_capacity(
            bytes.len() / Self::ENTRY,
        );
        for chunk in bytes.chunks_exact(Self::ENTRY) {
            let d: [u8; 32] = chunk[..32].try_into().ok()?;
            let k: [u8; 16] = chunk[32..].try_into().ok()?;
            map.insert(d, Zeroizing::new(k));
        }
        Some(KeyCache { map })
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The digest the [`KeyCache`] knows a ciphertext by.
pub fn ciphertext_digest(ciphertext: &[u8]) -> [u8; 32] {
    digest(ciphertext)
}

/// The vault identity, remembering the file key it unwrapped.
struct Capture<'a> {
    identity: &'a VaultIdentity,
    key: std::cell::RefCell<Option<Zeroizing<[u8; 16]>>>,
}

impl<'a> Capture<'a> {
    fn new(identity: &'a VaultIdentity) -> Self {
        Capture {
            identity,
            key: std::cell::RefCell::new(None),
        }
    }
}

impl age::Identity for Capture<'_> {
    fn unwrap_stanza(
        &self,
        stanza: &age_core::format::Stanza,
    ) -> Option<Result<FileKey, age::DecryptError>> {
        let r = self.identity.unwrap_stanza(stanza);
        if let Some(Ok(k)) = &r {
            *self.key.borrow_mut() = Some(Zeroizing::new(*k.expose_secret()));
        }
        r
    }
}

/// A recipient that remembers the file key it was asked to wrap.
struct Remember<'a> {
    inner: &'a dyn age::Recipient,
    key: std::cell::RefCell<Option<Zeroizing<[u8; 16]>>>,
}

impl age::Recipient for Remember<'_> {
    fn wrap_file_key(
        &self,
        file_key: &FileKey,
    ) -> Result<
        (
            Vec<age_core::format::Stanza>,
            std::collections::HashSet<String>,
        ),
        age::EncryptError,
    > {
        *self.key.borrow_mut() = Some(Zeroizing::new(*file_key.expose_secret()));
        self.inner.wrap_file_key(file_key)
    }
}

fn verify(signer: &str, sig: &str, body: &[u8]) -> Result<(), Damage> {
    let key: [u8; 32] = B64
        .decode(signer)
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or(Damage::Signature)?;
    let key = VerifyingKey::from_bytes(&key).map_err(|_| Damage::Signature)?;
    let sig: [u8; 64] = B64
        .decode(sig)
        .ok()
        .and_then(|s| s.try_into().ok())
        .ok_or(Damage::Signature)?;
    key.verify(body, &Signature::from_bytes(&sig))
        .map_err(|_| Damage::Signature)
}

/// Encrypts bytes to the given age recipients (no signature).
pub fn seal_bytes<'a>(
    recipients: impl Iterator<Item = &'a dyn age::Recipient>,
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let encryptor =
        age::Encryptor::with_recipients(recipients).map_err(|e| Error::Encrypt(e.to_string()))?;
    // age adds a header (~200 bytes) and 16 bytes per 64 KiB chunk.
    let mut out = Vec::with_capacity(plaintext.len() + 256 + plaintext.len() / 4096);
    let mut writer = encryptor
        .wrap_output(&mut out)
        .map_err(|e| Error::Encrypt(e.to_string()))?;
    writer
        .write_all(plaintext)
        .and_then(|_| writer.finish().map(|_| ()))
        .map_err(|e| Error::Encrypt(e.to_string()))?;
    Ok(out)
}

/// Decrypts bytes with the vault identity into a zeroizing buffer.
pub fn open_bytes(identity: &VaultIdentity, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    decrypt_with(identity, ciphertext)
        .map(|(plain, _)| plain)
        .map_err(|_| Error::Encrypt("decryption failed".into()))
}

/// Decrypts an age file: the age crate parses its header, unwraps the file key with
/// `identity` and checks the header's MAC with it; the payload is then read in one pass
/// with that key, on every core when it is large (see [`payload`]). Returns the
/// plaintext and the file key.
fn decrypt_with(
    identity: &VaultIdentity,
    ciphertext: &[u8],
) -> std::result::Result<(Zeroizing<Vec<u8>>, KeyBytes), ()> {
    let key = file_key(identity, ciphertext)?;
    Ok((payload::open(&key, ciphertext)?, key))
}

/// [`open_bytes`] of a ciphertext the caller owns (read from a file or the database):
/// decrypted in its own buffer, which a large file (the search snapshot) is not copied
/// out of. The buffer is wiped if it fails halfway.
pub fn open_owned(identity: &VaultIdentity, ciphertext: Vec<u8>) -> Result<Zeroizing<Vec<u8>>> {
    let ciphertext = Zeroizing::new(ciphertext);
    file_key(identity, &ciphertext)
        .and_then(|key| payload::open_in_place(&key, ciphertext))
        .map_err(|()| Error::Encrypt("decryption failed".into()))
}

/// [`open_owned`], with the digest binding the file's key to `what` ([`key_digest`]).
pub fn open_owned_keyed(
    identity: &VaultIdentity,
    ciphertext: Vec<u8>,
    what: &[u8],
) -> Result<(Zeroizing<Vec<u8>>, [u8; 32])> {
    let ciphertext = Zeroizing::new(ciphertext);
    file_key(identity, &ciphertext)
        .and_then(|key| {
            let bound = key_digest(what, &key);
            payload::open_in_place(&key, ciphertext).map(|plain| (plain, bound))
        })
        .map_err(|()| Error::Encrypt("decryption failed".into()))
}

/// An age file key's bytes.
type KeyBytes = Zeroizing<[u8; 16]>;

/// The file key of an age file to `identity`, once the age crate has parsed the header
/// and checked its MAC with it.
fn file_key(identity: &VaultIdentity, ciphertext: &[u8]) -> std::result::Result<KeyBytes, ()> {
    let capture = Capture::new(identity);
    let decryptor = age::Decryptor::new_buffered(ciphertext).map_err(|_| ())?;
    // `decrypt` returns only once the header's MAC is checked; its reader is not used.
    drop(
        decryptor
            .decrypt(iter::once(&capture as &dyn age::Identity))
            .map_err(|_| ())?,
    );
    capture.key.into_inner().ok_or(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn identity_round_trip_and_wrong_passphrase() {
        let id = generate_identity();
        let wrapped = wrap_identity(&id, &pass("right one"), KdfCost::InsecureTestOnly(4)).unwrap();
        let back = unwrap_identity(&wrapped, &pass("right one")).unwrap();
        assert_eq!(back.to_public().to_string(), id.to_public().to_string());
        assert!(matches!(
            unwrap_identity(&wrapped, &pass("wrong one")),
            Err(Error::WrongPassphrase)
        ));
        assert!(matches!(
            unwrap_identity(b"not an age file", &pass("right one")),
            Err(Error::IdentityDamaged)
        ));
    }

    fn open_plain(id: &VaultIdentity, trusted: &str, ct: &[u8]) -> Result<Opened, Damage> {
        open(id, &[trusted.to_owned()], &KeyCache::default(), ct)
    }

    #[test]
    fn sealed_values_verify_and_reject_tampering() {
        let id = generate_identity();
        let dev = DeviceKey::generate();
        let signer = dev.public();
        let ct = seal(&[id.to_public()], &dev, &signer, br#"{"a":1}"#)
            .unwrap()
            .ciphertext;
        let opened = open_plain(&id, &signer, &ct).unwrap();
        assert_eq!(&opened.body[..], br#"{"a":1}"#);
        assert!(opened.learned.is_some());

        // Unknown signer.
        assert_eq!(
            open_plain(&id, &DeviceKey::generate().public(), &ct).err(),
            Some(Damage::Signature)
        );
        // A flipped bit anywhere in the ciphertext.
        for i in [10, ct.len() / 2, ct.len() - 1] {
            let mut bad = ct.clone();
            bad[i] ^= 0x40;
            assert_eq!(open_plain(&id, &signer, &bad).err(), Some(Damage::Decrypt));
        }
        // Truncated.
        assert_eq!(
            open_plain(&id, &signer, &ct[..ct.len() - 5]).err(),
            Some(Damage::Decrypt)
        );
        // Another vault's identity.
        assert_eq!(
            open_plain(&generate_identity(), &signer, &ct).err(),
            Some(Damage::Decrypt)
        );
    }

    #[test]
    fn the_key_cache_opens_known_bytes_and_nothing_else() {
        let id = generate_identity();
        let dev = DeviceKey::generate();
        let signer = dev.public();
        let sealed = seal(&[id.to_public()], &dev, &signer, br#"{"b":2}"#).unwrap();
        let mut cache = KeyCache::default();
        cache.insert(sealed.learned);
        let cache = KeyCache::from_bytes(&cache.to_bytes()).unwrap();
        assert_eq!(cache.len(), 1);

        // A cache hit needs neither the identity nor a trusted signer list.
        let stranger = generate_identity();
        let opened = open(&stranger, &[], &cache, &sealed.ciphertext).unwrap();
        assert_eq!(&opened.body[..], br#"{"b":2}"#);
        assert!(opened.learned.is_none());

        // Altered bytes miss the cache and then fail the full check.
        let mut bad = sealed.ciphertext.clone();
        let n = bad.len();
        bad[n - 3] ^= 1;
        assert_eq!(
            open(&id, std::slice::from_ref(&signer), &cache, &bad).err(),
            Some(Damage::Decrypt)
        );
        assert!(KeyCache::from_bytes(&[0u8; 47]).is_none());
    }

    #[test]
    fn bytes_read_through_a_borrowed_or_an_owned_buffer_alike() {
        let id = generate_identity();
        let other = generate_identity();
        for n in [0, 5, 70_000, 3_000_000] {
            let plain: Vec<u8> = (0..n).map(|i| (i % 253) as u8).collect();
            let ct =
                seal_bytes(iter::once(&id.to_public() as &dyn age::Recipient), &plain).unwrap();
            assert_eq!(&open_bytes(&id, &ct).unwrap()[..], &plain[..], "{n}");
            assert_eq!(&open_owned(&id, ct.clone()).unwrap()[..], &plain[..], "{n}");
            // Not ours, flipped in the header, in the payload, cut: a clear error each.
            assert!(open_owned(&other, ct.clone()).is_err());
            for at in [30, ct.len() - 1] {
                let mut bad = ct.clone();
                bad[at] ^= 1;
                assert!(
                    open_owned(&id, bad.clone()).is_err(),
                    "{n}, flipped at {at}"
                );
                assert!(open_bytes(&id, &bad).is_err());
            }
            assert!(open_owned(&id, ct[..ct.len() - 1].to_vec()).is_err());
        }
    }

    #[test]
    fn a_forged_envelope_with_a_valid_age_layer_is_rejected() {
        // Someone who knows the vault's public key can encrypt anything to it; without
        // the device key they cannot sign it.
        let id = generate_identity();
        let dev = DeviceKey::generate();
        let signer = dev.public();
        let forged = format!(
            r#"{{"body":{{"a":2}},"signer":"{signer}","sig":"{}"}}"#,
            "A".repeat(86)
        );
        let ct = seal_bytes(
            iter::once(&id.to_public() as &dyn age::Recipient),
            forged.as_bytes(),
        )
        .unwrap();
        assert_eq!(open_plain(&id, &signer, &ct).err(), Some(Damage::Signature));
    }

    #[test]
    fn device_key_debug_shows_no_secret() {
        let dev = DeviceKey::generate();
        let secret = B64.encode(*dev.to_bytes());
        let dbg = format!("{dev:?}");
        assert!(!dbg.contains(&secret));
        assert!(dbg.contains(&dev.public()));
    }

    #[test]
    fn sha256_matches_known_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
