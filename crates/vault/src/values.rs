//! Value files: the ciphertexts of a large commit, outside sled.
//!
//! sled 0.34 keeps values in its B-tree's leaves (up to 16 a leaf) and rewrites a leaf
//! whole each time it consolidates or splits it, so a bulk write of 2.6 KB ciphertexts
//! made it write ~2.8 bytes for every byte stored, and a cold read pulled and decoded a
//! leaf of ~40 KB to answer for one value. A commit of at least [`MIN_VERSIONS`]
//! versions (an import, a first sync, a bulk save) now writes its ciphertexts one after
//! the other into a file of their own, `db/values/<id>.vals`, makes that file durable,
//! and stores in sled, under each version's id, a [`Pointer`] of 24 bytes: the file,
//! where the ciphertext starts and how long it is. The ciphertexts are byte for byte
//! what sled held (each still a standard age file); only where they lie changed.
//!
//! A pointer starts with a zero byte, which no age file does (the binary format starts
//! `age-encryption.org/v1`, the armored one `-----BEGIN`), so a stored value is one or
//! the other without a flag. A pointer that names no file, or bytes past a file's end,
//! reads as a missing value: the version is then reported as damaged, like a flipped
//! byte, and nothing is allocated from the pointer's length before it is checked.
//!
//! Durability: the file is written as `<id>.part` and fsynced, and its folder too,
//! before sled sees a pointer; once sled holds the pointers durably, the file is renamed
//! `<id>.vals`. So a `.part` file found at open was cut off by a crash: if sled points
//! into it (the crash fell after sled's checkpoint, before the rename) it is renamed
//! then; if not, its commit was never acknowledged and the file is removed. Reads find
//! a file under either name. The files are never changed after they are written; a
//! rewrite of the database
//! ([`crate::store::Store::rewrite`]) copies the values back into the fresh database and
//! removes the old one, files and all.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::error::{Error, Result};

/// The folder of value files inside the database's folder.
pub(crate) const DIR: &str = "values";

/// The fewest versions a commit writes to a value file; smaller commits keep them in
/// sled (a record saved goes through the journal, and its read is a warm leaf anyway).
pub(crate) const MIN_VERSIONS: usize = 64;

/// What starts a pointer: a zero byte, then "cv" and the format's number.
const MAGIC: [u8; 4] = [0, b'c', b'v', 1];

/// The ending of a value file's name once sled holds its pointers durably, and before.
const DONE: &str = "vals";
const PENDING: &str = "part";

/// A pointer's length in bytes.
const POINTER_LEN: usize = 24;

/// Open value files kept at most; past that, the handles are closed and reopened as
/// they are needed.
const MAX_OPEN: usize = 64;

/// Where one ciphertext lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pointer {
    pub file: u64,
    pub offset: u64,
    pub len: u32,
}

impl Pointer {
    /// The pointer's stored form.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(POINTER_LEN);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&self.file.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.len.to_le_bytes());
        out
    }

    /// The pointer a stored value is, or `None` for a value stored whole.
    pub fn decode(stored: &[u8]) -> Option<Pointer> {
        if stored.len() != POINTER_LEN || stored[..4] != MAGIC {
            return None;
        }
        let u64_at = |at: usize| u64::from_le_bytes(stored[at..at + 8].try_into().expect("8"));
        Some(Pointer {
            file: u64_at(4),
            offset: u64_at(12),
            len: u32::from_le_bytes(stored[20..24].try_into().expect("4")),
        })
    }
}

/// The value files of one database.
pub(crate) struct Values {
    dir: PathBuf,
    /// Open files and their lengths.
    open: RwLock<HashMap<u64, Arc<(File, u64)>>>,
}

impl Values {
    /// The value files of the database in `db` (nothing is opened or created yet).
    pub fn new(db: &Path) -> Values {
        Values {
            dir: db.join(DIR),
            open: RwLock::default(),
        }
    }

    fn path(&self, file: u64) -> PathBuf {
        self.dir.join(format!("{file:016x}.{DONE}"))
    }

    fn pending_path(&self, file: u64) -> PathBuf {
        self.dir.join(format!("{file:016x}.{PENDING}"))
    }

    /// The value files whose commit was cut off (see the module's notes).
    pub fn pending(&self) -> Vec<u64> {
        fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name();
                let id = name.to_str()?.strip_suffix(&format!(".{PENDING}"))?;
                (id.len() == 16).then(|| u64::from_str_radix(id, 16).ok())?
            })
            .collect()
    }

    /// Marks a value file as part of the database: sled holds its pointers durably. Best
    /// effort: until it is done, the file is found under its first name, and the next
    /// open finishes it.
    pub fn settle(&self, file: u64) {
        if fs::rename(self.pending_path(file), self.path(file)).is_ok() {
            let _ = crate::durable::sync_dir(&self.dir);
        }
    }

    /// Finishes the value files of commits cut off by a crash: those sled points into
    /// (`referenced`) are kept, the others removed. Best effort, as [`Values::settle`].
    pub fn finish_pending(&self, referenced: &std::collections::HashSet<u64>) {
        for file in self.pending() {
            if referenced.contains(&file) {
                let _ = fs::rename(self.pending_path(file), self.path(file));
            } else {
                let _ = fs::remove_file(self.pending_path(file));
            }
        }
        let _ = crate::durable::sync_dir(&self.dir);
    }

    /// Writes `values` one after the other into a new file and makes it durable (the
    /// file and the folder that holds it); returns where each one lies. On an error no
    /// file is left behind (as far as it can be removed) and nothing else changed.
    pub fn write(&self, values: &[&[u8]]) -> Result<Vec<Pointer>> {
        let io = |e| Error::io("saving to the database", e);
        if !self.dir.exists() {
            fs::create_dir_all(&self.dir).map_err(io)?;
            if let Some(db) = self.dir.parent() {
                crate::durable::sync_dir(db).map_err(io)?;
            }
        }
        let (file, path, handle) = loop {
            let id = u64::from_le_bytes(*crate::crypto::random_bytes::<8>());
            let path = self.pending_path(id);
            if self.path(id).exists() {
                continue;
            }
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(f) => break (id, path, f),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io(e)),
            }
        };
        let mut pointers = Vec::with_capacity(values.len());
        let written = (|| {
            let mut out = io::BufWriter::with_capacity(1 << 20, &handle);
            let mut offset = 0u64;
            for v in values {
                let len = u32::try_from(v.len()).map_err(|_| {
                    io::Error::new(io::ErrorKind::InvalidInput, "a value over 4 GiB")
                })?;
                out.write_all(v)?;
                pointers.push(Pointer { file, offset, len });
                offset += u64::from(len);
            }
            out.flush()?;
            drop(out);
            handle.sync_all()?;
            crate::durable::sync_dir(&self.dir)
        })();
        if let Err(e) = written {
            drop(handle);
            let _ = fs::remove_file(&path);
            let _ = crate::durable::sync_dir(&self.dir);
            return Err(io(e));
        }
        Ok(pointers)
    }

    /// The ciphertext `p` points to, or `None` when it is not there (no such file, or a
    /// pointer past its end: damage, which the caller reports for that version).
    pub fn read(&self, p: Pointer) -> Result<Option<Vec<u8>>> {
        let Some(handle) = self.handle(p.file)? else {
            return Ok(None);
        };
        let (file, size) = &*handle;
        let end = p.offset.checked_add(u64::from(p.len));
        if end.is_none_or(|end| end > *size) {
            return Ok(None);
        }
        let mut buf = vec![0u8; p.len as usize];
        match read_exact_at(file, &mut buf, p.offset) {
            Ok(()) => Ok(Some(buf)),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(Error::io("reading the database", e)),
        }
    }

    fn handle(&self, file: u64) -> Result<Option<Arc<(File, u64)>>> {
        if let Some(h) = self
            .open
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&file)
        {
            return Ok(Some(h.clone()));
        }
        let opened = match File::open(self.path(file)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => File::open(self.pending_path(file)),
            other => other,
        };
        let opened = opened.and_then(|f| {
            let len = f.metadata()?.len();
            Ok((f, len))
        });
        let handle = match opened {
            Ok(h) => Arc::new(h),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("reading the database", e)),
        };
        let mut open = self.open.write().unwrap_or_else(|p| p.into_inner());
        if open.len() >= MAX_OPEN {
            open.clear();
        }
        open.insert(file, handle.clone());
        Ok(Some(handle))
    }

    /// Bytes the value files take.
    pub fn size(&self) -> u64 {
        fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum()
    }
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pointer_round_trips_and_no_age_file_reads_as_one() {
        let p = Pointer {
            file: 0x0123_4567_89ab_cdef,
            offset: 1 << 40,
            len: 2_700,
        };
        assert_eq!(Pointer::decode(&p.encode()), Some(p));
        let mut age = b"age-encryption.org/v1\n-> X25519 ".to_vec();
        age.resize(POINTER_LEN, b'a');
        assert_eq!(Pointer::decode(&age), None);
        assert_eq!(Pointer::decode(b"-----BEGIN AGE ENCRYPTED"), None);
        // One byte more or less is not a pointer either.
        assert_eq!(Pointer::decode(&p.encode()[..23]), None);
        let mut longer = p.encode();
        longer.push(0);
        assert_eq!(Pointer::decode(&longer), None);
    }

    #[test]
    fn a_file_is_pending_until_settled_and_a_crash_leaves_only_what_sled_names() {
        let tmp = tempfile::tempdir().unwrap();
        let values = Values::new(tmp.path());
        let a = values.write(&[b"kept"]).unwrap()[0];
        let b = values.write(&[b"named by sled"]).unwrap()[0];
        let c = values.write(&[b"cut off"]).unwrap()[0];
        let mut pending = values.pending();
        pending.sort_unstable();
        let mut all = vec![a.file, b.file, c.file];
        all.sort_unstable();
        assert_eq!(pending, all);
        // Readable under either name.
        assert_eq!(values.read(a).unwrap().as_deref(), Some(&b"kept"[..]));
        values.settle(a.file);
        assert!(values.path(a.file).exists() && !values.pending_path(a.file).exists());
        let fresh = Values::new(tmp.path());
        assert_eq!(fresh.read(a).unwrap().as_deref(), Some(&b"kept"[..]));
        fresh.finish_pending(&[b.file].into_iter().collect());
        assert!(fresh.pending().is_empty());
        assert_eq!(
            fresh.read(b).unwrap().as_deref(),
            Some(&b"named by sled"[..])
        );
        assert!(values.path(b.file).exists());
        assert_eq!(Values::new(tmp.path()).read(c).unwrap(), None);
        assert!(!values.path(c.file).exists() && !values.pending_path(c.file).exists());
    }

    #[test]
    fn values_read_back_and_a_bad_pointer_reads_as_missing() {
        let tmp = tempfile::tempdir().unwrap();
        let values = Values::new(tmp.path());
        let (a, b) = (vec![1u8; 3000], vec![2u8; 17]);
        let ps = values.write(&[&a, &b]).unwrap();
        assert_eq!(values.read(ps[0]).unwrap(), Some(a));
        assert_eq!(values.read(ps[1]).unwrap(), Some(b));
        // Past the end, wrapping around, in a file that does not exist: missing, and no
        // allocation of the claimed length.
        let past = Pointer {
            len: u32::MAX,
            ..ps[1]
        };
        assert_eq!(values.read(past).unwrap(), None);
        let wrap = Pointer {
            offset: u64::MAX,
            ..ps[0]
        };
        assert_eq!(values.read(wrap).unwrap(), None);
        let elsewhere = Pointer {
            file: ps[0].file ^ 1,
            ..ps[0]
        };
        assert_eq!(values.read(elsewhere).unwrap(), None);
        // A file cut short after it was written (a damaged disk).
        let path = values.pending_path(ps[0].file);
        let f = OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(3010).unwrap();
        let fresh = Values::new(tmp.path());
        assert_eq!(fresh.read(ps[1]).unwrap(), None);
        assert_eq!(fresh.read(ps[0]).unwrap().map(|v| v.len()), Some(3000));
    }
}
