//! The byte formats of the sync protocol, shared by the device and the hub
//! (`docs/sync-protocol.md`): frames, invites, pins, offline bundles and the JSON
//! messages. Nothing here does I/O on the network or knows a key's private half, except
//! the bundle writer that signs with the device key it is given.
//!
//! This is the only crate the hub shares with the devices (`docs/architecture.md`):
//! whatever both sides must agree on byte for byte lives here, and nothing else.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod role;
pub mod roster_log;
mod route;

pub use role::Role;
pub use route::Route;

use std::io::{self, Read, Write};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The API prefix.
pub const API: &str = "/v1";
/// Largest request body the hub reads.
pub const MAX_BODY: usize = 16 << 20;
/// Largest object ciphertext.
pub const MAX_OBJECT: usize = 8 << 20;
/// Most audience entries of one object.
pub const MAX_AUDIENCE: usize = 32;
/// Longest audience entry.
pub const MAX_RECIPIENT: usize = 256;
/// Largest blob chunk in one request.
pub const BLOB_CHUNK: usize = 4 << 20;
/// Most objects in one pull answer.
pub const MAX_PULL: usize = 1000;
/// The media type of a frames body.
pub const FRAMES_TYPE: &str = "application/x-custos-frames";

const INVITE_PREFIX: &str = "custos-invite:";
const BUNDLE_MAGIC: &[u8; 16] = b"custos-bundle-1\n";
const MAX_BUNDLE_HEADER: usize = 16 << 20;

/// A malformed frame, invite, certificate or bundle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WireError(pub String);

fn bad(msg: impl Into<String>) -> WireError {
    WireError(msg.into())
}

/// One object in transit: a version's ciphertext and its routing metadata.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    /// The hub's sequence number (0 in a push).
    pub seq: u64,
    /// The version id.
    pub id: Uuid,
    /// The age recipients it is encrypted to.
    pub audience: Vec<String>,
    /// The age ciphertext.
    pub ciphertext: Vec<u8>,
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("seq", &self.seq)
            .field("id", &self.id)
            .field("audience", &self.audience.len())
            .field("bytes", &self.ciphertext.len())
            .finish()
    }
}

impl Frame {
    /// Bytes this frame takes on the wire.
    pub fn encoded_len(&self) -> usize {
        8 + 16
            + 2
            + self.audience.iter().map(|a| 2 + a.len()).sum::<usize>()
            + 4
            + self.ciphertext.len()
    }

    /// Appends the frame to `out`. Fails on a frame outside the limits.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        self.check()?;
        out.reserve(self.encoded_len());
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(self.id.as_bytes());
        out.extend_from_slice(&(self.audience.len() as u16).to_be_bytes());
        for a in &self.audience {
            out.extend_from_slice(&(a.len() as u16).to_be_bytes());
            out.extend_from_slice(a.as_bytes());
        }
        out.extend_from_slice(&(self.ciphertext.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.ciphertext);
        Ok(())
    }

    fn check(&self) -> Result<(), WireError> {
        if self.audience.is_empty() || self.audience.len() > MAX_AUDIENCE {
            return Err(bad(format!(
                "object {}: 1 to {MAX_AUDIENCE} audience entries, not {}",
                self.id,
                self.audience.len()
            )));
        }
        if let Some(a) = self
            .audience
            .iter()
            .find(|a| a.is_empty() || a.len() > MAX_RECIPIENT)
        {
            return Err(bad(format!(
                "object {}: an audience entry of {} bytes",
                self.id,
                a.len()
            )));
        }
        if self.ciphertext.is_empty() || self.ciphertext.len() > MAX_OBJECT {
            return Err(bad(format!(
                "object {}: {} bytes of ciphertext (at most {MAX_OBJECT})",
                self.id,
                self.ciphertext.len()
            )));
        }
        Ok(())
    }

    /// Reads one frame; `Ok(None)` at a clean end of input.
    pub fn read_from(r: &mut impl Read) -> Result<Option<Frame>, WireError> {
        let mut seq = [0u8; 8];
        if !read_exact_or_eof(r, &mut seq)? {
            return Ok(None);
        }
        let mut id = [0u8; 16];
        read_exact(r, &mut id)?;
        let id = Uuid::from_bytes(id);
        let n = read_u16(r)? as usize;
        if n == 0 || n > MAX_AUDIENCE {
            return Err(bad(format!("object {id}: {n} audience entries")));
        }
        let mut audience = Vec::with_capacity(n);
        for _ in 0..n {
            let len = read_u16(r)? as usize;
            if len == 0 || len > MAX_RECIPIENT {
                return Err(bad(format!(
                    "object {id}: an audience entry of {len} bytes"
                )));
            }
            let mut a = vec![0u8; len];
            read_exact(r, &mut a)?;
            audience.push(
                String::from_utf8(a)
                    .map_err(|_| bad(format!("object {id}: an audience entry is not text")))?,
            );
        }
        let len = read_u32(r)? as usize;
        if len == 0 || len > MAX_OBJECT {
            return Err(bad(format!("object {id}: {len} bytes of ciphertext")));
        }
        let mut ciphertext = vec![0u8; len];
        read_exact(r, &mut ciphertext)?;
        Ok(Some(Frame {
            seq: u64::from_be_bytes(seq),
            id,
            audience,
            ciphertext,
        }))
    }
}

/// Encodes frames into one body.
pub fn encode_frames(frames: &[Frame]) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::with_capacity(frames.iter().map(Frame::encoded_len).sum());
    for f in frames {
        f.encode(&mut out)?;
    }
    Ok(out)
}

/// Decodes a whole body of frames; any malformed byte fails the whole body.
pub fn decode_frames(mut bytes: &[u8]) -> Result<Vec<Frame>, WireError> {
    let mut out = Vec::new();
    while let Some(f) = Frame::read_from(&mut bytes)? {
        out.push(f);
    }
    Ok(out)
}

fn read_exact(r: &mut impl Read, buf: &mut [u8]) -> Result<(), WireError> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => bad("the data ends in the middle of an object"),
        _ => bad(format!("reading: {e}")),
    })
}

/// Fills `buf`; false when the input ended before its first byte.
fn read_exact_or_eof(r: &mut impl Read, buf: &mut [u8]) -> Result<bool, WireError> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) if got == 0 => return Ok(false),
            Ok(0) => return Err(bad("the data ends in the middle of an object")),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(bad(format!("reading: {e}"))),
        }
    }
    Ok(true)
}

fn read_u16(r: &mut impl Read) -> Result<u16, WireError> {
    let mut b = [0u8; 2];
    read_exact(r, &mut b)?;
    Ok(u16::from_be_bytes(b))
}

fn read_u32(r: &mut impl Read) -> Result<u32, WireError> {
    let mut b = [0u8; 4];
    read_exact(r, &mut b)?;
    Ok(u32::from_be_bytes(b))
}

// ----- pins -----

/// The pin of a key: `sha256:` + hex SHA-256 of its SubjectPublicKeyInfo (DER).
pub fn pin_of_spki(spki_der: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(spki_der)))
}

/// The pin of the key in an X.509 certificate (DER), or `None` when the bytes are not a
/// certificate.
pub fn pin_of_cert(cert_der: &[u8]) -> Option<String> {
    spki_of_cert(cert_der).map(pin_of_spki)
}

/// The SubjectPublicKeyInfo of a DER certificate: the seventh element of
/// tbsCertificate when the version is present (`[0]`), else the sixth.
fn spki_of_cert(cert: &[u8]) -> Option<&[u8]> {
    let (tag, body, _) = der_element(cert)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, tbs, _) = der_element(body)?;
    if tag != 0x30 {
        return None;
    }
    let mut rest = tbs;
    let mut index = 0;
    let mut spki_at = 5;
    loop {
        let start = rest;
        let (tag, _, next) = der_element(rest)?;
        if index == 0 && tag == 0xa0 {
            spki_at = 6;
        }
        if index == spki_at {
            if tag != 0x30 {
                return None;
            }
            return Some(&start[..start.len() - next.len()]);
        }
        rest = next;
        index += 1;
    }
}

/// One DER element: (tag, contents, the bytes after it).
fn der_element(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *b.first()?;
    let first = *b.get(1)? as usize;
    let (len, header) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *b.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    if end > b.len() {
        return None;
    }
    Some((tag, &b[header..end], &b[end..]))
}

/// True when a string is a pin as this protocol writes them.
pub fn is_pin(s: &str) -> bool {
    s.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

// ----- invites -----

/// What a device needs to enroll with a hub. Printed by `custos-hub invite`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    /// Format version (1).
    pub v: u32,
    /// The hub's address, `host:port`.
    pub hub: String,
    /// The hub's TLS key pin.
    pub pin: String,
    /// The organisation's coordinator recipients (`age1…`).
    pub coordinators: Vec<String>,
    /// The hub's bundle recipient (`age1…`), for offline bundles.
    pub hub_recipient: String,
    /// The one-time token (base64url, 32 random bytes).
    pub token: String,
    /// When the invite stops working.
    pub expires: chrono::DateTime<chrono::Utc>,
    /// What the enrolled device may read.
    pub role: Role,
    /// The organisation key (base64 Ed25519), once the organisation signs its roster:
    /// the device pins it and shows it as words its user compares with the coordinator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_key: Option<String>,
}

impl std::fmt::Debug for Invite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invite")
            .field("hub", &self.hub)
            .field("pin", &self.pin)
            .field("role", &self.role)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

impl Invite {
    /// The invite as one line of text.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).expect("an invite serializes");
        format!("{INVITE_PREFIX}{}", B64URL.encode(json))
    }

    /// Reads an invite line, checking every field's shape.
    pub fn decode(text: &str) -> Result<Invite, WireError> {
        let body = text.trim().strip_prefix(INVITE_PREFIX).ok_or_else(|| {
            bad("this is not a Custos invite (it should start with custos-invite:)")
        })?;
        let json = B64URL
            .decode(body.trim())
            .map_err(|_| bad("the invite is damaged (it was cut or changed when copied)"))?;
        let invite: Invite = serde_json::from_slice(&json)
            .map_err(|_| bad("the invite is damaged (it was cut or changed when copied)"))?;
        if invite.v != 1 {
            return Err(bad(format!(
                "this invite is of a newer format ({}); update Custos",
                invite.v
            )));
        }
        if !is_pin(&invite.pin) {
            return Err(bad("the invite's hub pin is malformed"));
        }
        if invite
            .hub
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse::<u16>().ok())
            .is_none()
        {
            return Err(bad("the invite's hub address has no port"));
        }
        for r in invite.coordinators.iter().chain([&invite.hub_recipient]) {
            if r.parse::<age::x25519::Recipient>().is_err() {
                return Err(bad("the invite names a recipient that is not an age key"));
            }
        }
        if invite.token.len() < 16 {
            return Err(bad("the invite's token is malformed"));
        }
        if let Some(k) = &invite.org_key {
            if roster_log::parse_key(k).is_none() {
                return Err(bad("the invite's organisation key is malformed"));
            }
        }
        Ok(invite)
    }
}

// ----- JSON messages -----

/// An error answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A stable code (`docs/sync-protocol.md` §3).
    pub error: String,
    /// Plain words.
    pub message: String,
}

/// `POST /v1/enroll/challenge`: the keys a device is about to enroll with. The hub
/// answers with an [`EnrollChallenge`] that only the holder of both keys can answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrollClaim {
    /// The invite's token.
    pub token: String,
    /// The vault's age recipient.
    pub vault_recipient: String,
    /// The device's Ed25519 signing key (base64).
    pub signer: String,
}

/// The hub's challenge: a secret sealed to the claimed vault recipient.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrollChallenge {
    /// The secret, an age ciphertext to the claimed vault recipient (base64url).
    pub sealed: String,
    /// The hub's own note of the challenge, returned unchanged in [`EnrollProof`]
    /// (the hub keeps no state between the two requests).
    pub ticket: String,
}

/// The answer to a challenge: the secret, decrypted, and the device's signature over
/// [`enroll_digest`].
#[derive(Clone, Serialize, Deserialize)]
pub struct EnrollProof {
    /// [`EnrollChallenge::ticket`], unchanged.
    pub ticket: String,
    /// The decrypted secret (base64url).
    pub secret: String,
    /// The Ed25519 signature of [`enroll_digest`] with the claimed signer (base64url).
    pub signature: String,
}

impl std::fmt::Debug for EnrollProof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrollProof").finish_non_exhaustive()
    }
}

/// What a device signs to prove its signing key at enrollment: the secret and every key
/// it binds (its TLS pin, its vault recipient, its signer), so that a signature cannot be
/// replayed for other keys.
pub fn enroll_digest(secret: &[u8], pin: &str, vault_recipient: &str, signer: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"custos enrollment proof v1\n");
    for part in [
        secret,
        pin.as_bytes(),
        vault_recipient.as_bytes(),
        signer.as_bytes(),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finalize().into()
}

/// Encodes bytes for the JSON messages (base64url, no padding).
pub fn b64(bytes: &[u8]) -> String {
    B64URL.encode(bytes)
}

/// Decodes [`b64`].
pub fn unb64(text: &str) -> Option<Vec<u8>> {
    B64URL.decode(text).ok()
}

/// `POST /v1/enroll`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrollRequest {
    /// The invite's token.
    pub token: String,
    /// The vault's age recipient.
    pub vault_recipient: String,
    /// The device's Ed25519 signing key (base64).
    pub signer: String,
    /// A label for the device list.
    pub label: String,
    /// The answer to the hub's challenge for these keys. Devices of before the challenge
    /// send none, and the hub refuses them with the code `update_needed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<EnrollProof>,
}

/// The answer to an enrollment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrollResponse {
    /// The hub's id for this device.
    pub device_id: Uuid,
    /// What it may read.
    pub role: Role,
    /// The organisation's coordinator recipients.
    pub coordinators: Vec<String>,
    /// The hub's bundle recipient.
    pub hub_recipient: String,
}

/// Most ids asked about in one `POST /v1/objects/held`.
pub const MAX_HELD: usize = 1_000;

/// `POST /v1/objects/held`: which of these objects does the hub hold? Asked before
/// travel mode deletes anything, and to find what a hub restored from a backup lost.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HeldRequest {
    /// Object ids, at most [`MAX_HELD`].
    pub ids: Vec<Uuid>,
}

/// The answer: the ids asked about that the hub holds and the device may read (it
/// pushed them, or its vault is in their audience, or it is a coordinator).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HeldResponse {
    /// In the order asked.
    pub held: Vec<Uuid>,
}

/// One device of the roster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterDevice {
    /// The hub's id for it.
    pub device_id: Uuid,
    /// Its label.
    pub label: String,
    /// What it may read.
    pub role: Role,
    /// Its Ed25519 signing key (base64).
    pub signer: String,
    /// Its vault's age recipient.
    pub vault_recipient: String,
    /// When it enrolled.
    pub enrolled_at: chrono::DateTime<chrono::Utc>,
    /// True once revoked.
    pub revoked: bool,
}

/// `GET /v1/roster`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Roster {
    /// The organisation's coordinator recipients.
    pub coordinators: Vec<String>,
    /// The hub's bundle recipient.
    pub hub_recipient: String,
    /// Every enrolled device.
    pub devices: Vec<RosterDevice>,
    /// While a pin rotation is prepared: the pin of the hub's next key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_pin: Option<String>,
    /// The organisation's signed roster, whole (empty until a coordinator creates the
    /// organisation key). Devices that pinned the key verify it and trust only it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log: Vec<roster_log::Entry>,
}

/// `POST /v1/roster/log` (a coordinator's device): entries to append to the signed
/// roster. `after` is the number of the last entry the coordinator had (0 for a new
/// organisation): the hub refuses the append (`roster_conflict`) when its log has moved on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RosterAppend {
    /// The last entry the signer built on.
    pub after: u64,
    /// The new entries, each signed with the organisation key.
    pub entries: Vec<roster_log::Entry>,
}

/// The answer to a push.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PushResult {
    /// Objects stored now.
    pub stored: usize,
    /// Objects the hub had already, with the same bytes.
    pub existing: usize,
    /// Objects refused.
    pub rejected: Vec<Rejected>,
    /// With `?since=S`: whether objects after S wait for this device (then pull them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<bool>,
    /// With `?since=S` and nothing waiting: the cursor to continue from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

/// An object the hub refused.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rejected {
    /// Its id.
    pub id: Uuid,
    /// Why (a code).
    pub error: String,
}

/// `POST /v1/blobs/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlobAnnounce {
    /// Bytes of ciphertext.
    pub size: u64,
    /// SHA-256 of the ciphertext, hex.
    pub sha256: String,
    /// The age recipients it is encrypted to.
    pub audience: Vec<String>,
}

/// A blob's state on the hub.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlobState {
    /// Bytes received so far.
    pub received: u64,
    /// True when every byte arrived and the hash checked.
    pub complete: bool,
}

/// `GET /v1/blobs/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlobInfo {
    /// Bytes of ciphertext.
    pub size: u64,
    /// SHA-256 of the ciphertext, hex.
    pub sha256: String,
    /// Bytes received so far.
    pub received: u64,
    /// True when every byte arrived and the hash checked.
    pub complete: bool,
}

// ----- offline bundles -----

/// A blob carried in a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleBlob {
    /// The blob id.
    pub id: Uuid,
    /// Bytes of ciphertext.
    pub size: u64,
    /// SHA-256 of the ciphertext, hex.
    pub sha256: String,
    /// Its audience.
    pub audience: Vec<String>,
}

/// The header of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleHeader {
    /// The hub's id of the device that wrote it.
    pub device_id: Uuid,
    /// That device's signing key (base64); checked against the roster by the reader.
    pub signer: String,
    /// When it was written.
    pub created: chrono::DateTime<chrono::Utc>,
    /// Number of objects.
    pub objects: u64,
    /// The blobs, in the order of their bytes.
    pub blobs: Vec<BundleBlob>,
}

/// Writes a bundle's plaintext (to be encrypted by the caller), hashing as it goes.
pub struct BundleWriter<W: Write> {
    out: W,
    hash: Sha256,
}

impl<W: Write> BundleWriter<W> {
    /// Starts a bundle with its header.
    pub fn new(mut out: W, header: &BundleHeader) -> io::Result<Self> {
        let json = serde_json::to_vec(header).map_err(io::Error::other)?;
        let mut hash = Sha256::new();
        let len = (json.len() as u32).to_be_bytes();
        for part in [&BUNDLE_MAGIC[..], &len[..], &json[..]] {
            out.write_all(part)?;
            hash.update(part);
        }
        Ok(BundleWriter { out, hash })
    }

    /// Writes bytes of the body (frames, then blob bytes).
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.hash.update(bytes);
        self.out.write_all(bytes)
    }

    /// Signs everything written with `sign` (Ed25519 over the SHA-256) and returns the
    /// underlying writer.
    pub fn finish(mut self, sign: impl FnOnce(&[u8; 32]) -> [u8; 64]) -> io::Result<W> {
        let digest: [u8; 32] = self.hash.finalize().into();
        self.out.write_all(&sign(&digest))?;
        Ok(self.out)
    }
}

/// Reads a bundle's plaintext. The caller reads the header, the frames and the blobs in
/// order, keeps everything provisional, and accepts it only if [`BundleReader::finish`]
/// says the signature verifies.
pub struct BundleReader<R: Read> {
    inner: R,
    hash: Sha256,
    /// The header.
    pub header: BundleHeader,
}

impl<R: Read> BundleReader<R> {
    /// Reads and checks the magic and the header.
    pub fn new(mut inner: R) -> Result<Self, WireError> {
        let mut magic = [0u8; 16];
        read_exact(&mut inner, &mut magic).map_err(|_| bad("this is not a Custos bundle"))?;
        if &magic != BUNDLE_MAGIC {
            return Err(bad("this is not a Custos bundle"));
        }
        let len = read_u32(&mut inner)?;
        if len as usize > MAX_BUNDLE_HEADER {
            return Err(bad("the bundle's header is too large"));
        }
        let mut json = vec![0u8; len as usize];
        read_exact(&mut inner, &mut json)?;
        let header: BundleHeader =
            serde_json::from_slice(&json).map_err(|e| bad(format!("the bundle's header: {e}")))?;
        let mut hash = Sha256::new();
        hash.update(BUNDLE_MAGIC);
        hash.update(len.to_be_bytes());
        hash.update(&json);
        Ok(BundleReader {
            inner,
            hash,
            header,
        })
    }

    /// Reads the next object frame (call exactly `header.objects` times).
    pub fn frame(&mut self) -> Result<Frame, WireError> {
        let mut tee = Tee {
            inner: &mut self.inner,
            hash: &mut self.hash,
        };
        Frame::read_from(&mut tee)?.ok_or_else(|| bad("the bundle ends before its last object"))
    }

    /// Reads exactly `buf.len()` bytes of blob data.
    pub fn blob_bytes(&mut self, buf: &mut [u8]) -> Result<(), WireError> {
        read_exact(&mut self.inner, buf)?;
        self.hash.update(&*buf);
        Ok(())
    }

    /// Reads the signature and checks it with `verify(digest, signature)`; also checks
    /// that nothing follows it.
    pub fn finish(
        mut self,
        verify: impl FnOnce(&[u8; 32], &[u8; 64]) -> bool,
    ) -> Result<(), WireError> {
        let mut sig = [0u8; 64];
        read_exact(&mut self.inner, &mut sig)?;
        let mut extra = [0u8; 1];
        if read_exact_or_eof(&mut self.inner, &mut extra)? {
            return Err(bad("the bundle has bytes after its signature"));
        }
        let digest: [u8; 32] = self.hash.finalize().into();
        if verify(&digest, &sig) {
            Ok(())
        } else {
            Err(bad(
                "the bundle's signature does not verify: it was altered, or not written by an enrolled device",
            ))
        }
    }
}

struct Tee<'a, R: Read> {
    inner: &'a mut R,
    hash: &'a mut Sha256,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(seq: u64, n: usize) -> Frame {
        Frame {
            seq,
            id: Uuid::new_v4(),
            audience: vec!["age1aaaa".into(), "age1bbbb".into()],
            ciphertext: vec![7u8; n],
        }
    }

    #[test]
    fn frames_round_trip_and_refuse_damage() {
        let frames = vec![frame(0, 10), frame(5, 3000)];
        let bytes = encode_frames(&frames).unwrap();
        assert_eq!(
            bytes.len(),
            frames.iter().map(Frame::encoded_len).sum::<usize>()
        );
        assert_eq!(decode_frames(&bytes).unwrap(), frames);
        assert_eq!(decode_frames(&[]).unwrap(), vec![]);
        // Cut anywhere: an error, never a short list.
        for cut in [1, 8, 25, 30, bytes.len() - 1] {
            assert!(decode_frames(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        // A declared ciphertext length above the limit.
        let mut huge = bytes.clone();
        let at = 8 + 16 + 2 + 2 * (2 + 8);
        huge[at..at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(decode_frames(&huge)
            .unwrap_err()
            .0
            .contains("bytes of ciphertext"));
        // No audience.
        let mut none = frame(0, 4);
        none.audience.clear();
        assert!(none.encode(&mut Vec::new()).is_err());
    }

    #[test]
    fn invites_round_trip_and_refuse_damage() {
        let r = age::x25519::Identity::generate().to_public().to_string();
        let invite = Invite {
            v: 1,
            hub: "127.0.0.1:8443".into(),
            pin: format!("sha256:{}", "ab".repeat(32)),
            coordinators: vec![r.clone()],
            hub_recipient: r,
            token: "t".repeat(43),
            expires: chrono::Utc::now(),
            role: Role::Field,
            org_key: None,
        };
        let text = invite.encode();
        assert_eq!(Invite::decode(&format!("  {text}\n")).unwrap(), invite);
        assert!(Invite::decode("hello").is_err());
        assert!(Invite::decode(&text[..text.len() - 5]).is_err());
        let mut wrong = invite.clone();
        wrong.pin = "sha256:xyz".into();
        assert!(Invite::decode(&wrong.encode())
            .unwrap_err()
            .0
            .contains("pin"));
        assert!(!format!("{invite:?}").contains(&invite.token));
    }

    #[test]
    fn the_pin_is_the_certificates_key() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["hub".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let pin = pin_of_cert(cert.der()).unwrap();
        assert_eq!(
            pin,
            pin_of_spki(&rcgen::PublicKeyData::subject_public_key_info(&key))
        );
        assert!(is_pin(&pin));
        assert_eq!(pin_of_cert(b"not a certificate"), None);
        assert_eq!(pin_of_cert(&cert.der()[..40]), None);
    }

    #[test]
    fn bundles_verify_and_refuse_tampering() {
        let header = BundleHeader {
            device_id: Uuid::new_v4(),
            signer: "k".into(),
            created: chrono::Utc::now(),
            objects: 2,
            blobs: vec![BundleBlob {
                id: Uuid::new_v4(),
                size: 5,
                sha256: "0".repeat(64),
                audience: vec!["age1x".into()],
            }],
        };
        let frames = [frame(0, 100), frame(0, 50)];
        let mut w = BundleWriter::new(Vec::new(), &header).unwrap();
        w.write(&encode_frames(&frames).unwrap()).unwrap();
        w.write(b"12345").unwrap();
        let secret = [3u8; 32];
        let key = ed25519_dalek::SigningKey::from_bytes(&secret);
        let bytes = w
            .finish(|d| ed25519_dalek::Signer::sign(&key, d).to_bytes())
            .unwrap();
        let verify = |d: &[u8; 32], s: &[u8; 64]| {
            ed25519_dalek::Verifier::verify(
                &key.verifying_key(),
                d,
                &ed25519_dalek::Signature::from_bytes(s),
            )
            .is_ok()
        };
        let read = |bytes: &[u8]| -> Result<Vec<Frame>, WireError> {
            let mut r = BundleReader::new(bytes)?;
            let mut got = vec![r.frame()?, r.frame()?];
            let mut blob = [0u8; 5];
            r.blob_bytes(&mut blob)?;
            got.push(Frame {
                seq: 0,
                id: Uuid::nil(),
                audience: vec![],
                ciphertext: blob.to_vec(),
            });
            r.finish(verify)?;
            Ok(got)
        };
        let got = read(&bytes).unwrap();
        assert_eq!(got[..2], frames);
        assert_eq!(got[2].ciphertext, b"12345");
        for i in [20, bytes.len() / 2, bytes.len() - 70, bytes.len() - 1] {
            let mut bad = bytes.clone();
            bad[i] ^= 1;
            assert!(read(&bad).is_err(), "flip at {i}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(read(&longer).is_err());
        assert!(read(&bytes[..bytes.len() - 1]).is_err());
    }
}
