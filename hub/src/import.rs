//! `custos-hub import FILE`: an offline bundle (`docs/sync-protocol.md` §7) carried to the
//! hub on a USB stick. Everything is staged on disk first and stored only once the
//! signature of the enrolled, non-revoked device named in the header verifies.

use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use custos_wire::{self as wire, BundleReader, Frame};
use ed25519_dalek::Signature;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::hub::{check_audience, is_sha256_hex, signer_key, Hub, Installed};

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
pub fn import(hub: &Hub, path: &Path) -> Result<ImportReport, String> {
    let refused = |why: String| format!("import refused, nothing was stored: {why}");
    let staging = Staging(hub.dir.staging().join(Uuid::new_v4().to_string()));
    fs::create_dir_all(&staging.0).map_err(|e| format!("{}: {e}", staging.0.display()))?;
    let (device, staged_objects, blobs) = stage(hub, path, &staging.0).map_err(refused)?;

    let mut report = ImportReport::default();
    let file = File::open(&staged_objects).map_err(|e| format!("staged objects: {e}"))?;
    let mut r = BufReader::new(file);
    let mut batch: Vec<Frame> = Vec::new();
    let mut batch_bytes = 0usize;
    let flush = |batch: &mut Vec<Frame>, report: &mut ImportReport| -> Result<(), String> {
        let result = hub.push(&device, batch).map_err(|e| e.to_string())?;
        report.objects_stored += result.stored;
        report.objects_existing += result.existing;
        report.objects_rejected += result.rejected.len();
        batch.clear();
        Ok(())
    };
    loop {
        let frame = Frame::read_from(&mut r).map_err(|e| format!("staged objects: {e}"))?;
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
fn stage(hub: &Hub, path: &Path, dir: &Path) -> Result<Staged, String> {
    let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let decryptor = age::Decryptor::new_buffered(BufReader::new(file))
        .map_err(|e| format!("{} is not an age file ({e})", path.display()))?;
    let plain = decryptor
        .decrypt(std::iter::once(
            hub.keys.bundle_identity() as &dyn age::Identity
        ))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => {
                "this bundle is not addressed to this hub (it is not encrypted to its bundle key)"
                    .to_string()
            }
            e => format!("cannot decrypt the bundle: {e}"),
        })?;
    let mut reader = BundleReader::new(BufReader::new(plain)).map_err(|e| e.0)?;
    let header = reader.header.clone();
    let device = hub
        .store
        .device(header.device_id)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!(
                "the bundle was written by device {}, which is not enrolled with this hub",
                header.device_id
            )
        })?;
    if device.revoked {
        return Err(format!(
            "the bundle was written by device {}, which was revoked",
            device.id
        ));
    }
    if device.signer != header.signer {
        return Err(format!(
            "the bundle's signing key is not the one device {} enrolled with",
            device.id
        ));
    }
    let key = signer_key(&device.signer)
        .ok_or_else(|| format!("device {} has no valid signing key", device.id))?;
    let mut seen = std::collections::HashSet::new();
    for b in &header.blobs {
        if !seen.insert(b.id) || b.size == 0 || !is_sha256_hex(&b.sha256) {
            return Err(format!(
                "the bundle's header describes blob {} wrongly",
                b.id
            ));
        }
        check_audience(&b.audience).map_err(|e| format!("blob {}: {e}", b.id))?;
    }

    let objects = dir.join("objects");
    let mut out = BufWriter::new(File::create(&objects).map_err(|e| e.to_string())?);
    let mut buf = Vec::new();
    for _ in 0..header.objects {
        let frame = reader.frame().map_err(|e| e.0)?;
        buf.clear();
        frame.encode(&mut buf).map_err(|e| e.0)?;
        out.write_all(&buf).map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())?;
    drop(out);

    let mut blobs = Vec::with_capacity(header.blobs.len());
    let mut chunk = vec![0u8; 1 << 20];
    for b in &header.blobs {
        let staged = dir.join(b.id.to_string());
        let mut out = BufWriter::new(File::create(&staged).map_err(|e| e.to_string())?);
        let mut hash = Sha256::new();
        let mut left = b.size;
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            reader.blob_bytes(&mut chunk[..n]).map_err(|e| e.0)?;
            hash.update(&chunk[..n]);
            out.write_all(&chunk[..n]).map_err(|e| e.to_string())?;
            left -= n as u64;
        }
        out.flush().map_err(|e| e.to_string())?;
        if wire::hex(&hash.finalize()) != b.sha256 {
            return Err(format!("blob {} does not match its SHA-256", b.id));
        }
        blobs.push((b.clone(), staged));
    }

    reader
        .finish(|digest, sig| {
            key.verify_strict(digest, &Signature::from_bytes(sig))
                .is_ok()
        })
        .map_err(|e| e.0)?;
    Ok((device, objects, blobs))
}
