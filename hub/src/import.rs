//! `custos-hub import FILE`: an offline bundle (`docs/sync-protocol.md` §7) carried to the
//! hub on a USB stick. Everything is staged on disk first and stored only once the
//! signature of the enrolled, non-revoked device named in the header verifies.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use custos_wire::{self as wire, BundleReader, Frame, WireError};
use ed25519_dalek::Signature;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::ApiError;
use crate::hub::{
    check_audience, is_sha256_hex, signer_key, AudienceError, Hub, InstallError, Installed,
};
use crate::store::StoreError;

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The bundle was refused before anything was stored.
    #[error("import refused, nothing was stored: {0}")]
    Refused(Refused),
    /// The staging folder cannot be created: the folder, why.
    #[error("{path}: {1}", path = .0.display())]
    Staging(PathBuf, io::Error),
    /// The staged objects cannot be opened again.
    #[error("staged objects: {0}")]
    StagedFile(io::Error),
    /// The staged objects cannot be read back.
    #[error("staged objects: {0}")]
    StagedFrame(WireError),
    /// Storing a batch of objects failed.
    #[error(transparent)]
    Push(ApiError),
    /// Taking in a blob failed.
    #[error(transparent)]
    Blob(#[from] InstallError),
}

/// Why a bundle was refused (nothing of it was stored).
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// The bundle file cannot be opened: the file, why.
    #[error("cannot open {path}: {1}", path = .0.display())]
    Open(PathBuf, io::Error),
    /// The file is not age-encrypted: the file, why.
    #[error("{path} is not an age file ({1})", path = .0.display())]
    NotAge(PathBuf, age::DecryptError),
    /// The bundle is encrypted to other recipients than the hub's bundle key.
    #[error("this bundle is not addressed to this hub (it is not encrypted to its bundle key)")]
    NotAddressed,
    /// Decryption failed otherwise.
    #[error("cannot decrypt the bundle: {0}")]
    Decrypt(age::DecryptError),
    /// The decrypted bundle is malformed.
    #[error(transparent)]
    Malformed(#[from] WireError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The device named in the header is not enrolled.
    #[error("the bundle was written by device {0}, which is not enrolled with this hub")]
    NotEnrolled(Uuid),
    /// The device named in the header was revoked.
    #[error("the bundle was written by device {0}, which was revoked")]
    Revoked(Uuid),
    /// The header's signing key is not the device's.
    #[error("the bundle's signing key is not the one device {0} enrolled with")]
    OtherSigner(Uuid),
    /// The device's recorded signing key cannot be decoded.
    #[error("device {0} has no valid signing key")]
    NoSigningKey(Uuid),
    /// A blob listed twice, empty, or with a malformed hash.
    #[error("the bundle's header describes blob {0} wrongly")]
    BlobHeader(Uuid),
    /// A blob's audience is outside the protocol's limits.
    #[error("blob {0}: {1}")]
    BlobAudience(Uuid, AudienceError),
    /// A blob's bytes differ from its hash.
    #[error("blob {0} does not match its SHA-256")]
    BlobHash(Uuid),
    /// Staging on disk failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// What an import stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Objects stored now.
    pub objects_stored: usize,
    /// Objects the hub had already.
    pub objects_existing: usize,
    /// Objects refused (another object has the id).
    pub objects_rejected: usize,
    /// Blobs stored now.
    pub blobs_stored: usize,
    /// Blobs the hub had complete already.
    pub blobs_existing: usize,
    /// Blobs refused (another blob has the id).
    pub blobs_rejected: usize,
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "objects: {} stored, {} existing, {} rejected",
            self.objects_stored, self.objects_existing, self.objects_rejected
        )?;
        writeln!(
            f,
            "blobs: {} stored, {} existing, {} rejected",
            self.blobs_stored, self.blobs_existing, self.blobs_rejected
        )
    }
}

/// A staging folder, removed with everything in it when dropped.
struct Staging(PathBuf);

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Imports the bundle at `path` into `hub`.
pub fn import(hub: &Hub, path: &Path) -> Result<ImportReport, ImportError> {
    let staging = Staging(hub.dir.staging().join(Uuid::new_v4().to_string()));
    fs::create_dir_all(&staging.0).map_err(|e| ImportError::Staging(staging.0.clone(), e))?;
    let (device, staged_objects, blobs) =
        stage(hub, path, &staging.0).map_err(ImportError::Refused)?;

    let mut report = ImportReport::default();
    let file = File::open(&staged_objects).map_err(ImportError::StagedFile)?;
    let mut r = BufReader::new(file);
    let mut batch: Vec<Frame> = Vec::new();
    let mut batch_bytes = 0usize;
    let flush = |batch: &mut Vec<Frame>, report: &mut ImportReport| -> Result<(), ImportError> {
        let result = hub.push(&device, batch).map_err(ImportError::Push)?;
        report.objects_stored += result.stored;
        report.objects_existing += result.existing;
        report.objects_rejected += result.rejected.len();
        batch.clear();
        Ok(())
    };
    loop {
        let frame = Frame::read_from(&mut r).map_err(ImportError::StagedFrame)?;
        let Some(frame) = frame else { break };
        if batch_bytes + frame.encoded_len() > wire::MAX_BODY && !batch.is_empty() {
            flush(&mut batch, &mut report)?;
            batch_bytes = 0;
        }
        batch_bytes += frame.encoded_len();
        batch.push(frame);
    }
    if !batch.is_empty() {
        flush(&mut batch, &mut report)?;
    }
    for (blob, staged) in &blobs {
        match hub.install_blob(device.id, blob, staged)? {
            Installed::Stored => report.blobs_stored += 1,
            Installed::Existing => report.blobs_existing += 1,
            Installed::Mismatch => report.blobs_rejected += 1,
        }
    }
    crate::log::info(&format!(
        "bundle from device {} imported: {} objects and {} blobs stored",
        device.id, report.objects_stored, report.blobs_stored
    ));
    Ok(report)
}

type Staged = (
    crate::store::Device,
    PathBuf,
    Vec<(wire::BundleBlob, PathBuf)>,
);

/// Decrypts, reads and checks a bundle into `dir`: the objects' frames in one file, each
/// blob in its own. Succeeds only when the signature verifies.
fn stage(hub: &Hub, path: &Path, dir: &Path) -> Result<Staged, Refused> {
    let file = File::open(path).map_err(|e| Refused::Open(path.to_owned(), e))?;
    let decryptor = age::Decryptor::new_buffered(BufReader::new(file))
        .map_err(|e| Refused::NotAge(path.to_owned(), e))?;
    let plain = decryptor
        .decrypt(std::iter::once(
            hub.keys.bundle_identity() as &dyn age::Identity
        ))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => Refused::NotAddressed,
            e => Refused::Decrypt(e),
        })?;
    let mut reader = BundleReader::new(BufReader::new(plain))?;
    let header = reader.header.clone();
    let device = hub
        .store
        .device(header.device_id)?
        .ok_or(Refused::NotEnrolled(header.device_id))?;
    if device.revoked {
        return Err(Refused::Revoked(device.id));
    }
    if device.signer != header.signer {
        return Err(Refused::OtherSigner(device.id));
    }
    let key = signer_key(&device.signer).ok_or(Refused::NoSigningKey(device.id))?;
    let mut seen = std::collections::HashSet::new();
    for b in &header.blobs {
        if !seen.insert(b.id) || b.size == 0 || !is_sha256_hex(&b.sha256) {
            return Err(Refused::BlobHeader(b.id));
        }
        check_audience(&b.audience).map_err(|e| Refused::BlobAudience(b.id, e))?;
    }

    let objects = dir.join("objects");
    let mut out = BufWriter::new(File::create(&objects)?);
    let mut buf = Vec::new();
    for _ in 0..header.objects {
        let frame = reader.frame()?;
        buf.clear();
        frame.encode(&mut buf)?;
        out.write_all(&buf)?;
    }
    out.flush()?;
    drop(out);

    let mut blobs = Vec::with_capacity(header.blobs.len());
    let mut chunk = vec![0u8; 1 << 20];
    for b in &header.blobs {
        let staged = dir.join(b.id.to_string());
        let mut out = BufWriter::new(File::create(&staged)?);
        let mut hash = Sha256::new();
        let mut left = b.size;
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            reader.blob_bytes(&mut chunk[..n])?;
            hash.update(&chunk[..n]);
            out.write_all(&chunk[..n])?;
            left -= n as u64;
        }
        out.flush()?;
        if wire::hex(&hash.finalize()) != b.sha256 {
            return Err(Refused::BlobHash(b.id));
        }
        blobs.push((b.clone(), staged));
    }

    reader.finish(|digest, sig| {
        key.verify_strict(digest, &Signature::from_bytes(sig))
            .is_ok()
    })?;
    Ok((device, objects, blobs))
}
