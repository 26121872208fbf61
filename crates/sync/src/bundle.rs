//! Offline bundles (`docs/sync-protocol.md` §7): what the hub does not hold yet, as one
//! age file for a USB stick, signed by the device.

use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Write};
use std::iter;
use std::path::{Path, PathBuf};

use chrono::Utc;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use custos_vault::crypto;
use custos_vault::error::{Error, Result};
use custos_vault::Exchange;
use custos_vault::{Ingested, Vault};
use custos_wire::{self as wire, BundleBlob, BundleHeader, BundleReader, BundleWriter};

/// What a bundle carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BundleStats {
    /// Versions.
    pub objects: usize,
    /// Evidence files.
    pub blobs: usize,
    /// Bytes of the bundle file.
    pub bytes: u64,
}

/// Writes every version and evidence file the hub does not hold yet to `dest`, encrypted
/// to the hub, this vault and the coordinators, and signed by this device. The file
/// appears complete or not at all.
pub fn export(vault: &Vault, dest: &Path) -> Result<BundleStats> {
    let (device_id, signer, recipients) = vault.bundle_identity()?;
    let frames = vault.pending_frames(&Default::default(), usize::MAX, usize::MAX)?;
    let jobs = vault.pending_blobs()?;
    let mut blobs = Vec::with_capacity(jobs.len());
    for j in &jobs {
        let size = fs::metadata(&j.path)
            .map_err(|e| Error::io("reading an evidence file", e))?
            .len();
        blobs.push(BundleBlob {
            id: j.blob_id,
            size,
            sha256: j.sha256.clone(),
            audience: j.audience.clone(),
        });
    }
    let header = BundleHeader {
        device_id,
        signer,
        created: Utc::now(),
        objects: frames.len() as u64,
        blobs,
    };
    let partial = partial_path(dest);
    let io = |e| Error::io(format!("writing {}", dest.display()), e);
    let result = (|| -> Result<()> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&partial)
            .map_err(io)?;
        let encryptor =
            age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
                .map_err(|e| Error::Encrypt(e.to_string()))?;
        let sealed = encryptor.wrap_output(BufWriter::new(file)).map_err(io)?;
        let mut w = BundleWriter::new(sealed, &header).map_err(io)?;
        for f in &frames {
            let mut buf = Vec::with_capacity(f.encoded_len());
            f.encode(&mut buf).map_err(|e| Error::Invalid(e.0))?;
            w.write(&buf).map_err(io)?;
        }
        let mut buf = vec![0u8; 1 << 20];
        for (job, meta) in jobs.iter().zip(&header.blobs) {
            let mut src =
                File::open(&job.path).map_err(|e| Error::io("reading an evidence file", e))?;
            let mut left = meta.size;
            while left > 0 {
                let n = (left as usize).min(buf.len());
                src.read_exact(&mut buf[..n])
                    .map_err(|e| Error::io("reading an evidence file", e))?;
                w.write(&buf[..n]).map_err(io)?;
                left -= n as u64;
            }
        }
        let sealed = w.finish(|d| vault.sign_digest(d)).map_err(io)?;
        let file = sealed.finish().map_err(io)?;
        let file = file.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        fs::rename(&partial, dest).map_err(io)?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&partial);
        return Err(e);
    }
    let bytes = fs::metadata(dest).map(|m| m.len()).unwrap_or(0);
    Ok(BundleStats {
        objects: header.objects as usize,
        blobs: header.blobs.len(),
        bytes,
    })
}

/// Reads a bundle written by a device of this vault (or, for a coordinator, of the
/// organisation): every object is checked like a pulled one; nothing is taken unless
/// the bundle's signature verifies with a device this vault trusts.
pub fn import(vault: &mut Vault, src: &Path) -> Result<(Ingested, usize)> {
    let bad = |m: String| Error::Invalid(format!("{}: {m}", src.display()));
    let file = File::open(src).map_err(|e| Error::io(format!("reading {}", src.display()), e))?;
    let decryptor = age::Decryptor::new(BufReader::new(file))
        .map_err(|_| bad("this is not a Custos bundle (not an age file)".into()))?;
    let reader = decryptor
        .decrypt(iter::once(vault.identity() as &dyn age::Identity))
        .map_err(|_| bad("this bundle is not for this vault, or it is damaged".into()))?;
    let mut r = BundleReader::new(reader).map_err(|e| bad(e.0))?;
    let signer = r.header.signer.clone();
    if !vault.trusts(&signer) {
        return Err(bad(
            "this bundle is signed by a device this vault does not know; sync with the hub once, then try again"
                .into(),
        ));
    }
    let mut frames = Vec::new();
    for _ in 0..r.header.objects {
        frames.push(r.frame().map_err(|e| bad(e.0))?);
    }
    // Evidence files are staged next to their final place, checked, and moved in only
    // after the signature verifies.
    let blobs_dir = vault.dir().join(custos_vault::BLOBS);
    fs::create_dir_all(&blobs_dir).map_err(|e| Error::io("creating the evidence folder", e))?;
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let cleanup = |staged: &[(PathBuf, PathBuf)]| {
        for (p, _) in staged {
            let _ = fs::remove_file(p);
        }
    };
    let mut buf = vec![0u8; 1 << 20];
    let r_blobs = r.header.blobs.clone();
    for b in r_blobs.clone() {
        let tmp = blobs_dir.join(format!(".{}.partial", b.id));
        let dest = blobs_dir.join(format!("{}.age", b.id));
        let mut out = match File::create(&tmp) {
            Ok(f) => f,
            Err(e) => {
                cleanup(&staged);
                return Err(Error::io("saving an evidence file from a bundle", e));
            }
        };
        staged.push((tmp.clone(), dest));
        let mut hash = Sha256::new();
        let mut left = b.size;
        while left > 0 {
            let n = (left as usize).min(buf.len());
            if let Err(e) = r.blob_bytes(&mut buf[..n]) {
                cleanup(&staged);
                return Err(bad(e.0));
            }
            hash.update(&buf[..n]);
            if let Err(e) = out.write_all(&buf[..n]) {
                cleanup(&staged);
                return Err(Error::io("saving an evidence file from a bundle", e));
            }
            left -= n as u64;
        }
        if wire::hex(&hash.finalize()) != b.sha256 || out.sync_all().is_err() {
            cleanup(&staged);
            return Err(bad(format!(
                "evidence file {} in the bundle is damaged",
                b.id
            )));
        }
    }
    let verified = r.finish(|digest, sig| crypto::verify_digest(&signer, digest, sig));
    if let Err(e) = verified {
        cleanup(&staged);
        return Err(bad(e.0));
    }
    let took = match vault.ingest(frames, None) {
        Ok(t) => t,
        Err(e) => {
            cleanup(&staged);
            return Err(e);
        }
    };
    let mut blobs = 0;
    for (tmp, dest) in &staged {
        if dest.exists() {
            let _ = fs::remove_file(tmp);
        } else if fs::rename(tmp, dest).is_ok() {
            blobs += 1;
        }
    }
    // The files now here are logged in their chain of custody.
    let arrived: Vec<Uuid> = r_blobs.iter().map(|b| b.id).collect();
    for job in vault.pending_blobs()? {
        if arrived.contains(&job.blob_id) {
            vault.log_received_or_sent(job.evidence_id, "received in an offline bundle")?;
        }
    }
    Ok((took, blobs))
}

fn partial_path(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "bundle".into());
    dest.with_file_name(format!(".{name}.partial"))
}
