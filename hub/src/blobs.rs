//! Blob bytes (evidence files, ciphertext), behind [`BlobStore`]: in files
//! ([`BlobFiles`]: `<uuid>.part` while they arrive, renamed to `<uuid>` once complete and
//! checked), or in PostgreSQL ([`crate::store::pg::PgBlobs`]). The store keeps their
//! metadata.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A range of a complete blob, to send.
#[derive(Debug)]
pub enum BlobRange {
    /// A file positioned at the range's start, and how many bytes to send from it.
    File(File, u64),
    /// The bytes themselves.
    Bytes(Vec<u8>),
}

/// Where blob bytes are kept. Every write is durable when the method returns. The hub
/// calls one blob's methods one at a time (see [`crate::store::Store::lock_blob`]).
pub trait BlobStore: Send + Sync + std::fmt::Debug {
    /// Writes `bytes` at `offset` of the blob while it arrives, first cutting anything
    /// after `offset` (bytes written before a crash that the store never counted).
    fn write_at(&self, id: Uuid, offset: u64, bytes: &[u8]) -> io::Result<()>;
    /// The SHA-256 (lowercase hex) of the arriving blob's first `size` bytes; an error
    /// when it has fewer.
    fn part_sha256(&self, id: Uuid, size: u64) -> io::Result<String>;
    /// Marks the arrived bytes complete.
    fn finish(&self, id: Uuid) -> io::Result<()>;
    /// Takes in a complete file (a bundle import's staging file), replacing whatever
    /// arrived of the blob before.
    fn install(&self, id: Uuid, from: &Path) -> io::Result<()>;
    /// Deletes whatever the hub has of a blob.
    fn discard(&self, id: Uuid) -> io::Result<()>;
    /// `len` bytes of a complete blob from `offset` (the caller checks the bounds).
    fn read_range(&self, id: Uuid, offset: u64, len: u64) -> io::Result<BlobRange>;
    /// The blobs whose arriving bytes were last written more than `max_age` ago: the
    /// part files of abandoned uploads. None where arriving bytes are kept in a database
    /// (the store's records say what arrived).
    fn abandoned(&self, _max_age: Duration) -> io::Result<Vec<Uuid>> {
        Ok(Vec::new())
    }
    /// Whether this blob's arriving bytes are still untouched for `max_age`.
    fn abandoned_part(&self, _id: Uuid, _max_age: Duration) -> io::Result<bool> {
        Ok(false)
    }
    /// Deletes the arriving bytes of a blob (not a complete one).
    fn discard_part(&self, _id: Uuid) -> io::Result<()> {
        Ok(())
    }
}

/// Whether the file's last change is older than `max_age` (false when it is gone).
fn untouched_for(path: &Path, max_age: Duration) -> io::Result<bool> {
    match fs::metadata(path) {
        Ok(m) => Ok(m.modified()?.elapsed().is_ok_and(|age| age > max_age)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// The blob folder.
#[derive(Debug, Clone)]
pub struct BlobFiles {
    dir: PathBuf,
}

impl BlobFiles {
    /// The blob files in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> BlobFiles {
        BlobFiles { dir: dir.into() }
    }

    fn part(&self, id: Uuid) -> PathBuf {
        self.dir.join(format!("{id}.part"))
    }

    fn done(&self, id: Uuid) -> PathBuf {
        self.dir.join(id.to_string())
    }

    /// Writes `bytes` at `offset` of the blob's part file, first cutting anything after
    /// `offset` (bytes written before a crash that the store never counted), and syncs.
    pub fn write_at(&self, id: Uuid, offset: u64, bytes: &[u8]) -> io::Result<()> {
        let mut f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.part(id))?;
        f.set_len(offset)?;
        f.seek(SeekFrom::Start(offset))?;
        f.write_all(bytes)?;
        f.sync_data()
    }

    /// The SHA-256 (lowercase hex) of the part file's first `size` bytes; an error when it
    /// is shorter.
    pub fn part_sha256(&self, id: Uuid, size: u64) -> io::Result<String> {
        sha256_of(File::open(self.part(id))?.take(size), size)
    }

    /// Marks the part file complete: renamed to its final name, durably.
    pub fn finish(&self, id: Uuid) -> io::Result<()> {
        fs::rename(self.part(id), self.done(id))?;
        sync_dir(&self.dir)
    }

    /// Moves a complete file from elsewhere on the same disk (a bundle import) into place,
    /// replacing any part file.
    pub fn install(&self, id: Uuid, from: &Path) -> io::Result<()> {
        File::open(from)?.sync_all()?;
        fs::rename(from, self.done(id))?;
        match fs::remove_file(self.part(id)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        sync_dir(&self.dir)
    }

    /// Deletes whatever the hub has of a blob.
    pub fn discard(&self, id: Uuid) -> io::Result<()> {
        for p in [self.part(id), self.done(id)] {
            match fs::remove_file(p) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// Opens a complete blob at `offset`.
    pub fn open_at(&self, id: Uuid, offset: u64) -> io::Result<File> {
        let mut f = File::open(self.done(id))?;
        f.seek(SeekFrom::Start(offset))?;
        Ok(f)
    }
}

impl BlobStore for BlobFiles {
    fn write_at(&self, id: Uuid, offset: u64, bytes: &[u8]) -> io::Result<()> {
        BlobFiles::write_at(self, id, offset, bytes)
    }
    fn part_sha256(&self, id: Uuid, size: u64) -> io::Result<String> {
        BlobFiles::part_sha256(self, id, size)
    }
    fn finish(&self, id: Uuid) -> io::Result<()> {
        BlobFiles::finish(self, id)
    }
    fn install(&self, id: Uuid, from: &Path) -> io::Result<()> {
        BlobFiles::install(self, id, from)
    }
    fn discard(&self, id: Uuid) -> io::Result<()> {
        BlobFiles::discard(self, id)
    }
    fn read_range(&self, id: Uuid, offset: u64, len: u64) -> io::Result<BlobRange> {
        Ok(BlobRange::File(self.open_at(id, offset)?, len))
    }
    fn abandoned(&self, max_age: Duration) -> io::Result<Vec<Uuid>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for e in entries {
            let e = e?;
            let name = e.file_name();
            let Some(id) = name
                .to_str()
                .and_then(|n| n.strip_suffix(".part"))
                .and_then(|n| Uuid::parse_str(n).ok())
            else {
                continue;
            };
            if untouched_for(&e.path(), max_age)? {
                out.push(id);
            }
        }
        Ok(out)
    }
    fn abandoned_part(&self, id: Uuid, max_age: Duration) -> io::Result<bool> {
        untouched_for(&self.part(id), max_age)
    }
    fn discard_part(&self, id: Uuid) -> io::Result<()> {
        match fs::remove_file(self.part(id)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => sync_dir(&self.dir),
        }
    }
}

/// The SHA-256 of exactly `size` bytes of `r`; an error when it ends early.
pub fn sha256_of(mut r: impl Read, size: u64) -> io::Result<String> {
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 256 << 10];
    let mut seen = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        seen += n as u64;
    }
    if seen != size {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("{seen} bytes on disk, {size} expected"),
        ));
    }
    Ok(custos_wire::hex(&hash.finalize()))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_overwrite_what_was_never_counted() {
        let tmp = tempfile::tempdir().unwrap();
        let files = BlobFiles::new(tmp.path());
        let id = Uuid::new_v4();
        files.write_at(id, 0, b"hello ").unwrap();
        // A crash after a write the store never counted: the next chunk at the counted
        // offset replaces it.
        files.write_at(id, 6, b"garbage!").unwrap();
        files.write_at(id, 6, b"world").unwrap();
        let want = custos_wire::hex(&Sha256::digest(b"hello world"));
        assert_eq!(files.part_sha256(id, 11).unwrap(), want);
        assert!(files.part_sha256(id, 12).is_err());
        files.finish(id).unwrap();
        let mut rest = String::new();
        files
            .open_at(id, 6)
            .unwrap()
            .read_to_string(&mut rest)
            .unwrap();
        assert_eq!(rest, "world");
        files.discard(id).unwrap();
        assert!(files.open_at(id, 0).is_err());
        files.discard(id).unwrap();
    }
}
