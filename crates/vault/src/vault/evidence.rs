//! Evidence: files of any size kept encrypted in the vault, their hashes, and a signed,
//! hash-chained chain of custody (Berkeley Protocol: the file presented later is the
//! one collected, and every hand it went through is on record).
//!
//! - The content goes through age's STREAM format (64 KiB chunks) into
//!   `blobs/<blob id>.age`, a standard age file for the vault's recipients; the SHA-256
//!   of the plaintext is computed in the same pass, with constant memory whatever the
//!   size. The blob is written under a temporary name, fsynced, and renamed; only then
//!   is the evidence record written — together with the first custody entry, in one
//!   database transaction. A failure anywhere leaves no record and no blob.
//! - The evidence record (an ordinary, signed and encrypted record version) keeps the
//!   hashes, size, media type, file name and times, import time and device. Its import
//!   fields never change; working copies are new items with `derived_from`.
//! - Custody entries (imported, viewed, exported, synced, verified) are sealed like
//!   versions (signed with the device key, encrypted to the vault), numbered, and each
//!   holds the SHA-256 of the previous entry's exact signed bytes.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::{sync_dir, Change, Vault};
use crate::crypto::{self, KeyCache};
use crate::error::{Error, Result};
use crate::store::Write;
use custos_model::{Evidence, Kind, Record};

/// The folder of encrypted evidence files, inside the vault folder.
pub const BLOBS: &str = "blobs";
const CHUNK: usize = 64 * 1024;

/// Where an imported file goes.
#[derive(Debug, Clone, Default)]
pub struct Attach {
    /// The case.
    pub case_id: Uuid,
    /// Records of the case it documents (incidents, persons); empty: the case itself.
    pub attached_to: Vec<Uuid>,
    /// What it shows.
    pub description: String,
    /// For a working copy: the original evidence item.
    pub derived_from: Option<Uuid>,
}

/// What happened to an evidence item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Imported into the vault.
    Imported,
    /// Opened for viewing.
    Viewed,
    /// A decrypted copy was written out.
    Exported,
    /// Sent to, or received from, the organisation's hub.
    Synced,
    /// Its content and custody were checked.
    Verified,
}

/// One entry of an evidence item's chain of custody.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustodyEntry {
    /// The evidence item.
    pub evidence_id: Uuid,
    /// Its place in the log: 0 for the import, then 1, 2 …
    pub seq: u32,
    /// What happened.
    pub action: Action,
    /// When.
    pub at: DateTime<Utc>,
    /// On which device.
    pub device: Uuid,
    /// The content's SHA-256 as this step knew it (hex).
    pub sha256: String,
    /// Details (the exported file's name, a verification's result).
    pub detail: String,
    /// SHA-256 (hex) of the previous entry's signed bytes; empty for the first.
    pub prev: String,
}

/// The result of checking an evidence item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    /// The evidence item.
    pub evidence_id: Uuid,
    /// True when nothing is wrong.
    pub ok: bool,
    /// The content's SHA-256 recorded at import.
    pub sha256: String,
    /// The SHA-256 of the content as read now (absent when it could not be read).
    pub sha256_now: Option<String>,
    /// Size recorded at import, and as read now.
    pub size: u64,
    /// Size as read now.
    pub size_now: Option<u64>,
    /// How many custody entries were read.
    pub custody_entries: usize,
    /// Everything found wrong, each precisely.
    pub problems: Vec<String>,
}

/// What an export wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Exported {
    /// The decrypted copy.
    pub file: PathBuf,
    /// The verification report, as JSON.
    pub report_json: PathBuf,
    /// The verification report, for people.
    pub report_text: PathBuf,
    /// The content's SHA-256 (checked while writing).
    pub sha256: String,
    /// Bytes written.
    pub size: u64,
}

fn evidence_error(message: impl Into<String>) -> Error {
    Error::Evidence(message.into())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A writer that hands what it is given to a second thread, which hashes it (SHA-256)
/// and writes it to a file: encryption (or decryption) on one core, hashing and disk
/// writes on the other. Chunks are wiped after use (an export's chunks are plaintext).
struct HashingPipe {
    buf: Zeroizing<Vec<u8>>,
    tx: Option<std::sync::mpsc::SyncSender<Zeroizing<Vec<u8>>>>,
    worker: Option<std::thread::JoinHandle<io::Result<(String, u64, File)>>>,
}

const PIPE_CHUNK: usize = 256 * 1024;

impl HashingPipe {
    fn new(file: File) -> HashingPipe {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Zeroizing<Vec<u8>>>(4);
        let worker = std::thread::spawn(move || {
            let mut out = BufWriter::with_capacity(PIPE_CHUNK, file);
            let mut hash = Sha256::new();
            let mut bytes = 0u64;
            for chunk in rx {
                hash.update(&chunk[..]);
                out.write_all(&chunk)?;
                bytes += chunk.len() as u64;
            }
            let file = out.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            Ok((hex(&hash.finalize()), bytes, file))
        });
        HashingPipe {
            buf: Zeroizing::new(Vec::with_capacity(PIPE_CHUNK)),
            tx: Some(tx),
            worker: Some(worker),
        }
    }

    /// The worker's own error, once it has stopped (a send failed because it did).
    fn worker_error(&mut self) -> io::Error {
        self.tx = None;
        match self.worker.take().map(|w| w.join()) {
            Some(Ok(Err(e))) => e,
            _ => io::Error::other("the evidence writer stopped"),
        }
    }

    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(
            &mut self.buf,
            Zeroizing::new(Vec::with_capacity(PIPE_CHUNK)),
        );
        let sent = self.tx.as_ref().map(|tx| tx.send(chunk).is_ok());
        if sent == Some(true) {
            Ok(())
        } else {
            Err(self.worker_error())
        }
    }

    /// Writes what is left, waits for the worker, fsyncs. → (SHA-256 hex, bytes, file)
    fn finish(mut self) -> io::Result<(String, u64, File)> {
        self.send()?;
        self.tx = None;
        match self.worker.take().map(|w| w.join()) {
            Some(Ok(result)) => result,
            _ => Err(io::Error::other("the evidence writer stopped")),
        }
    }
}

impl io::Write for HashingPipe {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = PIPE_CHUNK - self.buf.len();
        let n = data.len().min(room);
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() >= PIPE_CHUNK {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for HashingPipe {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

/// A custody log as read: the entries that could be read (each with the SHA-256 of its
/// signed bytes), and every problem found.
type CustodyRead = (Vec<(CustodyEntry, String)>, Vec<String>);

/// Removes a file when dropped, unless disarmed (partial blobs and exports).
struct Cleanup(Option<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_file(p);
        }
    }
}

/// A blob written under its temporary name, not yet in place.
struct StoredBlob {
    blob_id: Uuid,
    /// The temporary file, removed if the blob is never kept.
    partial: Cleanup,
    blob_sha256: String,
    sha256: String,
    size: u64,
    head: Vec<u8>,
}

/// A file another tool exported, as the importer describes it.
#[derive(Debug, Clone, Default)]
pub struct ImportedFile {
    /// The evidence record's id (stable: derived from the source's ids).
    pub id: Uuid,
    /// Its file name.
    pub file_name: String,
    /// The SHA-256 (hex) the export states, checked; `None` when it states none.
    pub sha256: Option<String>,
    /// The size the export states, checked.
    pub size: Option<u64>,
    /// When the source says the file was made.
    pub created: Option<DateTime<Utc>>,
    /// When the source says it was last changed.
    pub modified: Option<DateTime<Utc>>,
    /// The first custody entry's detail: where it came from (tool, export file, the
    /// source's id for it).
    pub custody: String,
}

/// A file's identity for "did it change while we read it".
fn stamp(m: &fs::Metadata) -> (u64, Option<std::time::SystemTime>) {
    (m.len(), m.modified().ok())
}

/// An evidence item's decrypted content, read as a stream (it is never all in memory);
/// it can seek, for the media player's range requests.
pub struct EvidenceReader {
    inner: age::stream::StreamReader<BufReader<File>>,
}

impl Read for EvidenceReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl Seek for EvidenceReader {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

impl Vault {
    pub(super) fn blob_path(&self, blob: Uuid) -> PathBuf {
        self.dir.join(BLOBS).join(format!("{blob}.age"))
    }

    /// The evidence record with this id, current version.
    pub fn evidence(&self, evidence_id: Uuid) -> Result<Evidence> {
        match self.get(evidence_id)?.into_record() {
            Some(Record::Evidence(e)) => Ok(e),
            Some(other) => Err(Error::Invalid(format!(
                "record {evidence_id} is a {}, not evidence",
                other.kind().as_str()
            ))),
            None => Err(Error::Invalid(format!("evidence {evidence_id} is deleted"))),
        }
    }

    /// Imports a file as evidence: encrypted into the vault with its hash, an evidence
    /// record, and the first custody entry. Returns the evidence record's id. The file
    /// itself is left where it is (deleting it is the caller's choice to offer).
    pub fn attach(&mut self, path: &Path, to: Attach) -> Result<Uuid> {
        // The links are checked before any work: a wrong case fails at once.
        let mut evidence = draft_from(to, self.keys.device_id);
        self.check_record(&Record::Evidence(evidence.clone()), &Default::default())?;

        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| evidence_error(format!("{} is not a file", path.display())))?;
        let mut file = File::open(path)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        let before = file
            .metadata()
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        if !before.is_file() {
            return Err(evidence_error(format!(
                "{} is not a regular file",
                path.display()
            )));
        }
        if before.len() == 0 {
            return Err(evidence_error(format!(
                "{} is empty: there is nothing to keep as evidence",
                path.display()
            )));
        }
        self.check_disk_for(before.len())?;
        let stored = self.store_blob(&mut file, &path.display().to_string())?;

        // The file must be what it was when we started: same size, same time, all read.
        let after = fs::metadata(path).map_err(|_| {
            evidence_error(format!(
                "{} was moved or removed while it was imported; nothing was kept",
                path.display()
            ))
        })?;
        if stamp(&after) != stamp(&before) || stored.size != before.len() {
            return Err(evidence_error(format!(
                "{} changed while it was imported; nothing was kept — import it again once \
                 nothing is writing to it",
                path.display()
            )));
        }
        evidence.file_name = file_name;
        evidence.file_modified = before.modified().ok().map(DateTime::<Utc>::from);
        evidence.file_created = before.created().ok().map(DateTime::<Utc>::from);
        self.keep_blob(stored, evidence, None, "")
    }

    /// Imports a file another tool exported, read from `content`, as evidence with the
    /// id `file.id`: the content is checked against the hash and size the export
    /// states, and the first custody entry says where it came from (`file.custody`).
    /// Refused, with nothing kept, when the id is already in the vault or the content is
    /// not what the export says.
    pub fn attach_import(
        &mut self,
        content: &mut dyn Read,
        file: ImportedFile,
        to: Attach,
    ) -> Result<Uuid> {
        let mut evidence = draft_from(to, self.keys.device_id);
        evidence.file_name = file.file_name.clone();
        self.check_record(&Record::Evidence(evidence.clone()), &Default::default())?;
        if self.index.get(file.id).is_some() {
            return Err(Error::Invalid(format!(
                "evidence {} is already in the vault",
                file.id
            )));
        }
        if let Some(size) = file.size {
            self.check_disk_for(size)?;
        }
        let stored = self.store_blob(content, &file.file_name)?;
        if let Some(size) = file.size {
            if stored.size != size {
                return Err(evidence_error(format!(
                    "{}: the export says {size} bytes, the file has {}; nothing was kept",
                    file.file_name, stored.size
                )));
            }
        }
        if let Some(expected) = &file.sha256 {
            if !expected.eq_ignore_ascii_case(&stored.sha256) {
                return Err(evidence_error(format!(
                    "{}: its SHA-256 is {}, not {expected} as the export says; nothing was \
                     kept",
                    file.file_name, stored.sha256
                )));
            }
        }
        evidence.file_created = file.created;
        evidence.file_modified = file.modified;
        self.keep_blob(stored, evidence, Some(file.id), &file.custody)
    }

    /// Refuses a file of `size` bytes when the disk would keep less than the reserve.
    fn check_disk_for(&self, size: u64) -> Result<()> {
        // age adds 16 bytes per 64 KiB chunk and a small header.
        let needed = size + size / 4096 + 4096;
        if self.options.disk_reserve > 0 {
            let free = fs4::available_space(&self.dir)
                .map_err(|e| Error::io("checking free disk space", e))?;
            if free < self.options.disk_reserve + needed {
                return Err(Error::DiskFull);
            }
        }
        Ok(())
    }

    /// Encrypts `content` into a new blob, hashing it on the way (constant memory).
    fn store_blob(&mut self, content: &mut dyn Read, name: &str) -> Result<StoredBlob> {
        let blobs = self.dir.join(BLOBS);
        fs::create_dir_all(&blobs).map_err(|e| Error::io("creating the evidence folder", e))?;
        let blob_id = Uuid::new_v4();
        let partial = blobs.join(format!(".{blob_id}.partial"));
        let mut cleanup = Cleanup(Some(partial.clone()));
        let out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&partial)
            .map_err(|e| Error::io("writing the evidence file", e))?;
        // The file is for the vault and, once enrolled, the organisation's coordinators.
        let encryptor = age::Encryptor::with_recipients(
            self.keys
                .recipients
                .iter()
                .chain(&self.keys.org)
                .map(|r| r as &dyn age::Recipient),
        )
        .map_err(|e| Error::Encrypt(e.to_string()))?;
        let mut writer = encryptor
            .wrap_output(HashingPipe::new(out))
            .map_err(|e| Error::io("writing the evidence file", e))?;
        let mut content_hash = Sha256::new();
        let mut buf = Zeroizing::new(vec![0u8; CHUNK]);
        let mut head: Vec<u8> = Vec::new();
        let mut total: u64 = 0;
        loop {
            let n = match content.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io(format!("reading {name} failed part-way"), e)),
            };
            if head.len() < 8192 {
                head.extend_from_slice(&buf[..n.min(8192 - head.len())]);
            }
            content_hash.update(&buf[..n]);
            total += n as u64;
            writer
                .write_all(&buf[..n])
                .map_err(|e| Error::io("writing the evidence file", e))?;
        }
        if total == 0 {
            return Err(evidence_error(format!(
                "{name} is empty: there is nothing to keep as evidence"
            )));
        }
        let (blob_sha256, _, out) = writer
            .finish()
            .and_then(HashingPipe::finish)
            .map_err(|e| Error::io("writing the evidence file", e))?;
        drop(out);
        cleanup.0 = None;
        Ok(StoredBlob {
            blob_id,
            partial: Cleanup(Some(partial)),
            blob_sha256,
            sha256: hex(&content_hash.finalize()),
            size: total,
            head,
        })
    }

    /// Moves a stored blob into place and writes its evidence record (with `id`, or a
    /// new one) and the first custody entry in one transaction.
    fn keep_blob(
        &mut self,
        mut stored: StoredBlob,
        mut evidence: Evidence,
        id: Option<Uuid>,
        custody: &str,
    ) -> Result<Uuid> {
        let blobs = self.dir.join(BLOBS);
        let blob = self.blob_path(stored.blob_id);
        let partial = stored.partial.0.take().unwrap_or_default();
        let mut cleanup = Cleanup(Some(partial.clone()));
        fs::rename(&partial, &blob).map_err(|e| Error::io("saving the evidence file", e))?;
        cleanup.0 = Some(blob.clone());
        sync_dir(&blobs)?;

        let media_type = infer::get(&stored.head)
            .map(|t| t.mime_type().to_owned())
            .unwrap_or_else(|| "application/octet-stream".to_owned());
        evidence.media_type = media_type;
        evidence.size = stored.size;
        evidence.sha256 = stored.sha256.clone();
        evidence.blob_id = stored.blob_id;
        evidence.blob_sha256 = std::mem::take(&mut stored.blob_sha256);
        evidence.imported_at = Utc::now();
        let versions = match id {
            Some(record_id) => self.plan_checked(
                vec![Change::Import {
                    record_id,
                    record: Record::Evidence(evidence),
                }],
                true,
            )?,
            None => self.plan_evidence(Record::Evidence(evidence))?,
        };
        let evidence_id = versions[0].record_id;
        let entry = self.seal_custody(
            evidence_id,
            0,
            Action::Imported,
            &stored.sha256,
            custody,
            "",
        )?;
        self.write_versions_with(versions, vec![Write::Custody(evidence_id, 0, entry)])?;
        cleanup.0 = None;
        Ok(evidence_id)
    }

    fn seal_custody(
        &mut self,
        evidence_id: Uuid,
        seq: u32,
        action: Action,
        sha256: &str,
        detail: &str,
        prev: &str,
    ) -> Result<Vec<u8>> {
        let entry = CustodyEntry {
            evidence_id,
            seq,
            action,
            at: Utc::now(),
            device: self.keys.device_id,
            sha256: sha256.to_owned(),
            detail: detail.to_owned(),
            prev: prev.to_owned(),
        };
        let body =
            Zeroizing::new(serde_json::to_vec(&entry).map_err(|e| Error::Encrypt(e.to_string()))?);
        let sealed = crypto::seal(
            &self.keys.recipients,
            &self.keys.device,
            &self.keys.signer,
            &body,
        )?;
        Ok(sealed.ciphertext)
    }

    /// Reads and checks the custody log: (entries that could be read, problems).
    fn read_custody(&self, evidence_id: Uuid) -> Result<CustodyRead> {
        let stored = self.store.custody(evidence_id)?;
        let empty = KeyCache::default();
        let mut entries: Vec<(CustodyEntry, String)> = Vec::new();
        let mut problems = Vec::new();
        let mut prev_hash = String::new();
        for (position, (key_seq, ct)) in stored.iter().enumerate() {
            let position = position as u32;
            if *key_seq != position
                && (position == 0 || stored[position as usize - 1].0 + 1 != *key_seq)
            {
                problems.push(format!(
                    "custody entry {position} is missing (the next stored entry is number {key_seq})"
                ));
            }
            let opened = match crypto::open(&self.keys.identity, &self.keys.trusted, &empty, ct) {
                Ok(o) => o,
                Err(damage) => {
                    problems.push(format!("custody entry {key_seq}: {damage}"));
                    prev_hash.clear();
                    continue;
                }
            };
            let hash = hex(&Sha256::digest(&opened.body));
            let entry: CustodyEntry = match serde_json::from_slice(&opened.body) {
                Ok(e) => e,
                Err(_) => {
                    problems.push(format!("custody entry {key_seq}: not a custody entry"));
                    continue;
                }
            };
            if entry.evidence_id != evidence_id {
                problems.push(format!(
                    "custody entry {key_seq} belongs to another evidence item ({}): entries were moved",
                    entry.evidence_id
                ));
            } else if entry.seq != *key_seq {
                problems.push(format!(
                    "custody entry stored as number {key_seq} says it is number {}: entries were reordered",
                    entry.seq
                ));
            } else if *key_seq > 0 && !prev_hash.is_empty() && entry.prev != prev_hash {
                problems.push(format!(
                    "custody entry {key_seq} does not follow entry {} (the hash chain is broken: \
                     an entry was changed, removed or reordered)",
                    key_seq - 1
                ));
            } else if *key_seq == 0
                && (!entry.prev.is_empty()
                    || !matches!(entry.action, Action::Imported | Action::Synced))
            {
                // The log starts with the import, or — on a device that received the
                // item from the hub — with its receipt.
                problems.push("custody entry 0 is neither the import nor the receipt".into());
            }
            prev_hash = hash.clone();
            entries.push((entry, hash));
        }
        if stored.is_empty() {
            problems.push("the custody log is empty".into());
        }
        Ok((entries, problems))
    }

    /// The chain of custody of an evidence item, oldest first. A damaged log is an
    /// error naming what is wrong (see [`Vault::verify_evidence`] for the full check).
    pub fn custody(&self, evidence_id: Uuid) -> Result<Vec<CustodyEntry>> {
        self.evidence(evidence_id)?;
        let (entries, problems) = self.read_custody(evidence_id)?;
        if let Some(p) = problems.first() {
            return Err(evidence_error(format!("evidence {evidence_id}: {p}")));
        }
        Ok(entries.into_iter().map(|(e, _)| e).collect())
    }

    /// Appends a custody entry (after the last one, chained to it).
    pub fn log_custody(
        &mut self,
        evidence_id: Uuid,
        action: Action,
        detail: &str,
    ) -> Result<CustodyEntry> {
        let evidence = self.evidence(evidence_id)?;
        self.append_custody(evidence_id, action, &evidence.sha256, detail)
    }

    pub(super) fn append_custody(
        &mut self,
        evidence_id: Uuid,
        action: Action,
        sha256: &str,
        detail: &str,
    ) -> Result<CustodyEntry> {
        let stored = self.store.custody(evidence_id)?;
        let (seq, prev) = match stored.last() {
            Some((seq, ct)) => {
                let opened = crypto::open(
                    &self.keys.identity,
                    &self.keys.trusted,
                    &KeyCache::default(),
                    ct,
                )
                .map_err(|d| {
                    evidence_error(format!(
                        "evidence {evidence_id}: custody entry {seq}: {d}; the log cannot be extended"
                    ))
                })?;
                (seq + 1, hex(&Sha256::digest(&opened.body)))
            }
            None => (0, String::new()),
        };
        let ct = self.seal_custody(evidence_id, seq, action, sha256, detail, &prev)?;
        self.store
            .commit(vec![Write::Custody(evidence_id, seq, ct)])?;
        let (entries, _) = self.read_custody(evidence_id)?;
        entries
            .into_iter()
            .map(|(e, _)| e)
            .find(|e| e.seq == seq)
            .ok_or_else(|| evidence_error("the custody entry was not saved"))
    }

    fn decrypt_blob(&self, evidence: &Evidence) -> Result<EvidenceReader> {
        let path = self.blob_path(evidence.blob_id);
        let file = File::open(&path).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                evidence_error(format!(
                    "the encrypted file {BLOBS}/{}.age is missing",
                    evidence.blob_id
                ))
            } else {
                Error::io("reading the evidence file", e)
            }
        })?;
        let decryptor = age::Decryptor::new_buffered(BufReader::with_capacity(CHUNK * 2, file))
            .map_err(|e| evidence_error(format!("the encrypted file cannot be read: {e}")))?;
        let inner = decryptor
            .decrypt(std::iter::once(&self.keys.identity as &dyn age::Identity))
            .map_err(|e| evidence_error(format!("the encrypted file cannot be decrypted: {e}")))?;
        Ok(EvidenceReader { inner })
    }

    /// An evidence item's content as a stream, **without** recording a view: for the
    /// range requests of a viewer that recorded its view once with
    /// [`Vault::view_evidence`] or [`Vault::log_custody`].
    pub fn read_evidence(&self, evidence_id: Uuid) -> Result<(Evidence, EvidenceReader)> {
        let evidence = self.evidence(evidence_id)?;
        let reader = self.decrypt_blob(&evidence)?;
        Ok((evidence, reader))
    }

    /// Opens an evidence item's content for viewing (a stream: never all in memory,
    /// never written to disk) and records the view in its custody log.
    pub fn view_evidence(&mut self, evidence_id: Uuid) -> Result<(Evidence, EvidenceReader)> {
        let evidence = self.evidence(evidence_id)?;
        let reader = self.decrypt_blob(&evidence)?;
        self.append_custody(evidence_id, Action::Viewed, &evidence.sha256, "")?;
        Ok((evidence, reader))
    }

    /// Re-hashes the content and checks the whole chain of custody, then records the
    /// check (with its result) in the log. Problems are reported, not returned as an
    /// error: a damaged item is exactly what this is for.
    pub fn verify_evidence(&mut self, evidence_id: Uuid) -> Result<Verification> {
        let evidence = self.evidence(evidence_id)?;
        let mut problems = Vec::new();
        // The encrypted file as stored.
        let path = self.blob_path(evidence.blob_id);
        match File::open(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => problems.push(format!(
                "the encrypted file {BLOBS}/{}.age is missing",
                evidence.blob_id
            )),
            Err(e) => return Err(Error::io("reading the evidence file", e)),
            Ok(mut f) => {
                let mut h = Sha256::new();
                io::copy(&mut f, &mut h).map_err(|e| Error::io("reading the evidence file", e))?;
                if hex(&h.finalize()) != evidence.blob_sha256 {
                    problems.push(
                        "the encrypted file was altered, truncated or replaced since import \
                         (its SHA-256 differs from the one recorded)"
                            .into(),
                    );
                }
            }
        }
        // The content, decrypted.
        let (mut sha256_now, mut size_now) = (None, None);
        if problems.is_empty() || path.exists() {
            match self.decrypt_blob(&evidence) {
                Err(e) => problems.push(e.to_string()),
                Ok(mut reader) => {
                    let mut h = Sha256::new();
                    let mut buf = Zeroizing::new(vec![0u8; CHUNK]);
                    let mut n_total = 0u64;
                    let result = loop {
                        match reader.read(&mut buf) {
                            Ok(0) => break Ok(()),
                            Ok(n) => {
                                h.update(&buf[..n]);
                                n_total += n as u64;
                            }
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(e) => break Err(e),
                        }
                    };
                    match result {
                        Err(e) => problems.push(format!(
                            "the content cannot be decrypted past byte {n_total}: {e}"
                        )),
                        Ok(()) => {
                            let now = hex(&h.finalize());
                            if now != evidence.sha256 {
                                problems.push(format!(
                                    "the content's SHA-256 is {now}, not {} as recorded at import",
                                    evidence.sha256
                                ));
                            }
                            if n_total != evidence.size {
                                problems.push(format!(
                                    "the content is {n_total} bytes, not {} as recorded at import",
                                    evidence.size
                                ));
                            }
                            sha256_now = Some(now);
                            size_now = Some(n_total);
                        }
                    }
                }
            }
        }
        // The chain of custody.
        let (entries, custody_problems) = self.read_custody(evidence_id)?;
        if let Some((first, _)) = entries.iter().find(|(e, _)| e.seq == 0) {
            if first.sha256 != evidence.sha256 {
                problems
                    .push("the import entry of the custody log names another content hash".into());
            }
        }
        problems.extend(custody_problems);
        let detail = if problems.is_empty() {
            "content and custody log intact".to_owned()
        } else {
            format!("{} problem(s) found", problems.len())
        };
        let sha = sha256_now.clone().unwrap_or_default();
        // A log whose last entry is damaged cannot be extended: the report still comes
        // back, saying so, rather than an error in place of it.
        if let Err(e) = self.append_custody(evidence_id, Action::Verified, &sha, &detail) {
            problems.push(format!(
                "this check could not be recorded in the custody log: {e}"
            ));
        }
        Ok(Verification {
            evidence_id,
            ok: problems.is_empty(),
            sha256: evidence.sha256,
            sha256_now,
            size: evidence.size,
            size_now,
            custody_entries: entries.len() + 1,
            problems,
        })
    }

    /// Writes a decrypted copy to `dest` (which must not exist), checking its hash
    /// while writing, records the export in the custody log, and writes a verification
    /// report beside it (`<dest>.custody.json` and `<dest>.custody.txt`).
    /// **The copy is not encrypted.**
    pub fn export_evidence(&mut self, evidence_id: Uuid, dest: &Path) -> Result<Exported> {
        let evidence = self.evidence(evidence_id)?;
        let with_suffix = |s: &str| {
            let mut p = dest.as_os_str().to_owned();
            p.push(s);
            PathBuf::from(p)
        };
        let (report_json, report_text) =
            (with_suffix(".custody.json"), with_suffix(".custody.txt"));
        for p in [dest, &report_json, &report_text] {
            if p.exists() {
                return Err(evidence_error(format!(
                    "{} exists already; choose another name",
                    p.display()
                )));
            }
        }
        let mut reader = self.decrypt_blob(&evidence)?;
        let out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dest)
            .map_err(|e| Error::io(format!("cannot write {}", dest.display()), e))?;
        let mut cleanup = Cleanup(Some(dest.to_owned()));
        let mut writer = HashingPipe::new(out);
        let mut buf = Zeroizing::new(vec![0u8; CHUNK]);
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(evidence_error(format!(
                        "the encrypted file is damaged ({e}); run verify for details"
                    )))
                }
            };
            writer
                .write_all(&buf[..n])
                .map_err(|e| Error::io(format!("cannot write {}", dest.display()), e))?;
        }
        let (sha256, size, _) = writer
            .finish()
            .map_err(|e| Error::io(format!("cannot write {}", dest.display()), e))?;
        if sha256 != evidence.sha256 || size != evidence.size {
            return Err(evidence_error(
                "the decrypted content does not match the hash recorded at import; nothing was \
                 exported — run verify for details",
            ));
        }
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.append_custody(
            evidence_id,
            Action::Exported,
            &sha256,
            &format!("decrypted copy written as {name}"),
        )?;
        let custody = self.custody(evidence_id)?;
        let report = Report {
            evidence_id,
            evidence: &evidence,
            exported_sha256: &sha256,
            custody: &custody,
        };
        let json = serde_json::to_vec_pretty(&report).map_err(|e| Error::Encrypt(e.to_string()))?;
        write_new(&report_json, &json)?;
        write_new(&report_text, report.text().as_bytes())?;
        cleanup.0 = None;
        Ok(Exported {
            file: dest.to_owned(),
            report_json,
            report_text,
            sha256,
            size,
        })
    }

    /// Every evidence item of a case (or of the vault), as list lines.
    pub fn evidence_ids(&self, case_id: Option<Uuid>) -> Vec<Uuid> {
        self.index
            .entries()
            .filter(|e| e.kind == Kind::Evidence && !e.deleted())
            .filter(|e| case_id.is_none_or(|c| e.summary.case_id == Some(c)))
            .map(|e| e.record_id)
            .collect()
    }

    /// Removes what an import interrupted by a crash left in `blobs/`: partial files,
    /// and encrypted files no evidence record names (the crash came between the file
    /// and its record). If any evidence version cannot be read, named files cannot be
    /// told apart, and only partial files are removed. Returns how many were removed.
    pub fn remove_orphan_blobs(&self) -> usize {
        let Ok(dir) = fs::read_dir(self.dir.join(BLOBS)) else {
            return 0;
        };
        let mut named = std::collections::HashSet::new();
        let mut all_read = self.index.damaged().next().is_none();
        for entry in self.index.entries().filter(|e| e.kind == Kind::Evidence) {
            for v in &entry.versions {
                match self.read_version(v.id, Some(entry.record_id)) {
                    Ok(version) => {
                        if let custos_model::Body::Record(Record::Evidence(ev)) = &version.body {
                            named.insert(ev.blob_id);
                        }
                    }
                    Err(_) => all_read = false,
                }
            }
        }
        let mut removed = 0;
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let orphan = if let Some(id) = name.strip_suffix(".age") {
                all_read && Uuid::parse_str(id).is_ok_and(|id| !named.contains(&id))
            } else {
                name.ends_with(".partial")
            };
            if orphan && fs::remove_file(e.path()).is_ok() {
                removed += 1;
            }
        }
        removed
    }
}

/// An evidence record before its file is read (placeholders that pass validation, so
/// the links can be checked first).
fn draft_from(to: Attach, device: Uuid) -> Evidence {
    Evidence {
        case_id: to.case_id,
        attached_to: to.attached_to,
        description: to.description,
        file_name: "-".into(),
        media_type: String::new(),
        size: 0,
        sha256: "0".repeat(64),
        blob_id: Uuid::nil(),
        blob_sha256: "0".repeat(64),
        file_modified: None,
        file_created: None,
        imported_at: Utc::now(),
        imported_by: device,
        derived_from: to.derived_from,
    }
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}

/// The verification report written beside an export.
#[derive(Serialize)]
struct Report<'a> {
    evidence_id: Uuid,
    evidence: &'a Evidence,
    exported_sha256: &'a str,
    custody: &'a [CustodyEntry],
}

impl Report<'_> {
    fn text(&self) -> String {
        let e = self.evidence;
        let mut s = String::new();
        let time = |t: &Option<DateTime<Utc>>| {
            t.map(|t| t.to_rfc3339())
                .unwrap_or_else(|| "unknown".into())
        };
        s.push_str("Custos evidence verification report\n\n");
        s.push_str(&format!("Evidence id:     {}\n", self.evidence_id));
        s.push_str(&format!("File name:       {}\n", e.file_name));
        s.push_str(&format!("Media type:      {}\n", e.media_type));
        s.push_str(&format!("Size:            {} bytes\n", e.size));
        s.push_str(&format!("SHA-256:         {}\n", e.sha256));
        s.push_str(&format!(
            "Exported copy:   SHA-256 {} ({})\n",
            self.exported_sha256,
            if self.exported_sha256 == e.sha256 {
                "matches"
            } else {
                "DOES NOT MATCH"
            }
        ));
        s.push_str(&format!("File modified:   {}\n", time(&e.file_modified)));
        s.push_str(&format!("File created:    {}\n", time(&e.file_created)));
        s.push_str(&format!(
            "Imported:        {} on device {}\n",
            e.imported_at.to_rfc3339(),
            e.imported_by
        ));
        if let Some(o) = e.derived_from {
            s.push_str(&format!("Working copy of: {o}\n"));
        }
        s.push_str("\nChain of custody (each entry signed by the device and chained to the previous one by SHA-256):\n");
        for c in self.custody {
            s.push_str(&format!(
                "  {:>3}  {}  {:<9} device {}  {}{}\n",
                c.seq,
                c.at.to_rfc3339(),
                format!("{:?}", c.action).to_lowercase(),
                c.device,
                if c.sha256.is_empty() {
                    "-".to_owned()
                } else {
                    c.sha256.clone()
                },
                if c.detail.is_empty() {
                    String::new()
                } else {
                    format!("  ({})", c.detail)
                },
            ));
        }
        s
    }
}
