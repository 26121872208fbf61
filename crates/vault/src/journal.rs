//! The write journal in front of sled: a small commit is acknowledged once it is in this
//! file and the file is fsynced — one short sequential write — and applied to sled in
//! memory at the same time; sled writes it out later, at the next checkpoint (see
//! [`crate::store`]). An open replays what the journal holds into sled before anything
//! reads, so a crash loses nothing the journal acknowledged.
//!
//! The file (`journal`, inside the database's folder, so that a rewrite, a wipe and a
//! copy treat it with the database) holds only what sled's own log holds: tree names,
//! keys (random ids) and values (ciphertext).
//!
//! ```text
//! custos-journal 1\n                 the format, 16 bytes
//! then records, each:
//!   length of the body, u32 little-endian
//!   the record's number in the file (1, 2, …), u64 little-endian
//!   SHA-256 of the length, the number and the body, 32 bytes
//!   body: the commit's operations (postcard)
//! ```
//!
//! Only the last record can be cut short or left half-written by a crash (each append
//! returns only once it is fsynced, so that record was never acknowledged): it is
//! dropped — whatever its bytes became (a file system may leave zeros or old blocks
//! there). A record that does not check with a whole record of the next number after it
//! is damage instead, and the store says so rather than drop acknowledged commits.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

const MAGIC: &[u8; 16] = b"custos-journal 1";
/// Length, number and hash before each body.
const HEAD: usize = 4 + 8 + 32;

/// The journal's file name, inside the database's folder.
pub(crate) const FILE: &str = "journal";

/// One change to one tree of the database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Op {
    /// `tree`: the tree's name.
    Insert {
        tree: String,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Remove {
        tree: String,
        key: Vec<u8>,
    },
}

/// The open journal.
pub(crate) struct Journal {
    file: File,
    /// Bytes in the file (the format line and the whole records).
    len: u64,
    /// Records in the file.
    records: u64,
}

impl Journal {
    /// Opens the journal in the database folder `dir` (created empty when absent) and
    /// returns the commits it holds, oldest first.
    pub(crate) fn open(dir: &Path) -> Result<(Journal, Vec<Vec<Op>>)> {
        let path = dir.join(FILE);
        let io = |e| Error::io("opening the write journal", e);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        if bytes.is_empty() {
            file.write_all(MAGIC).map_err(io)?;
            file.sync_all().map_err(io)?;
            crate::durable::sync_dir(dir).map_err(io)?;
            let len = MAGIC.len() as u64;
            return Ok((
                Journal {
                    file,
                    len,
                    records: 0,
                },
                Vec::new(),
            ));
        }
        let (commits, whole) = parse(&bytes)?;
        let mut journal = Journal {
            file,
            len: whole as u64,
            records: commits.len() as u64,
        };
        if whole < bytes.len() || whole < MAGIC.len() {
            // A record (or the format line) cut short by a crash: never acknowledged.
            // Cut away, so that the next record does not follow it.
            let fixed = if whole < MAGIC.len() {
                journal.file.set_len(0).map_err(io)?;
                journal.file.seek(SeekFrom::Start(0)).map_err(io)?;
                journal.file.write_all(MAGIC).map_err(io)?;
                MAGIC.len()
            } else {
                journal.file.set_len(whole as u64).map_err(io)?;
                whole
            };
            journal.file.sync_all().map_err(io)?;
            journal.len = fixed as u64;
        }
        Ok((journal, commits))
    }

    /// Bytes of records held (the format line not counted).
    pub(crate) fn held(&self) -> u64 {
        self.len - MAGIC.len() as u64
    }

    /// Appends one commit and fsyncs the file: once this returns, the commit survives a
    /// crash. On an error the file is cut back to what it held before (as far as it
    /// can be; a record left torn is dropped at the next open).
    pub(crate) fn append(&mut self, ops: &[Op]) -> Result<()> {
        let body = postcard::to_stdvec(ops)
            .map_err(|e| Error::Database(format!("writing the journal: {e}")))?;
        let len = u32::try_from(body.len())
            .map_err(|_| Error::Database("a commit too large for the journal".into()))?;
        let number = self.records + 1;
        let mut record = Vec::with_capacity(HEAD + body.len());
        record.extend_from_slice(&len.to_le_bytes());
        record.extend_from_slice(&number.to_le_bytes());
        record.extend_from_slice(&digest(len, number, &body));
        record.extend_from_slice(&body);
        let written = self
            .file
            .seek(SeekFrom::Start(self.len))
            .and_then(|_| self.file.write_all(&record))
            .and_then(|()| self.file.sync_data());
        match written {
            Ok(()) => {
                self.len += record.len() as u64;
                self.records = number;
                Ok(())
            }
            Err(e) => {
                // What was written of the record goes, so that a later record never
                // follows a torn one.
                let _ = self
                    .file
                    .set_len(self.len)
                    .and_then(|()| self.file.sync_data());
                Err(Error::io("saving to the write journal", e))
            }
        }
    }

    /// Empties the journal once sled holds everything it held durably. What it held is
    /// overwritten with zeros first, so that no removed value stays in its blocks.
    pub(crate) fn reset(&mut self) -> Result<()> {
        if self.len == MAGIC.len() as u64 {
            return Ok(());
        }
        let io = |e| Error::io("emptying the write journal", e);
        let zeros = vec![0u8; 1 << 16];
        let mut at = MAGIC.len() as u64;
        self.file.seek(SeekFrom::Start(at)).map_err(io)?;
        while at < self.len {
            let n = (self.len - at).min(zeros.len() as u64) as usize;
            self.file.write_all(&zeros[..n]).map_err(io)?;
            at += n as u64;
        }
        self.file.sync_data().map_err(io)?;
        self.file.set_len(MAGIC.len() as u64).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.len = MAGIC.len() as u64;
        self.records = 0;
        Ok(())
    }
}

fn digest(len: u32, number: u64, body: &[u8]) -> [u8; 32] {
    Sha256::new()
        .chain_update(len.to_le_bytes())
        .chain_update(number.to_le_bytes())
        .chain_update(body)
        .finalize()
        .into()
}

/// The body of the whole record numbered `number` at `at`, and where the next starts.
fn record_at(bytes: &[u8], at: usize, number: u64) -> Option<(&[u8], usize)> {
    let head = bytes.get(at..at.checked_add(HEAD)?)?;
    let stored = u64::from_le_bytes(head[4..12].try_into().ok()?);
    if stored != number {
        return None;
    }
    let len = u32::from_le_bytes(head[..4].try_into().ok()?);
    let end = (at + HEAD).checked_add(len as usize)?;
    let body = bytes.get(at + HEAD..end)?;
    (digest(len, number, body)[..] == head[12..]).then_some((body, end))
}

/// The commits in a journal's bytes, and how many bytes they fill (a last record cut
/// short or half-written is not counted).
fn parse(bytes: &[u8]) -> Result<(Vec<Vec<Op>>, usize)> {
    let damaged = |what: &str| Error::Database(format!("the write journal is damaged ({what})"));
    if !bytes.starts_with(&MAGIC[..]) {
        if bytes.starts_with(b"custos-journal ") {
            return Err(Error::Database(
                "the write journal was written by a newer version of Custos; update the app".into(),
            ));
        }
        // Cut short while it was created: nothing was ever acknowledged through it.
        if MAGIC.starts_with(bytes) {
            return Ok((Vec::new(), 0));
        }
        return Err(damaged("not a journal"));
    }
    let mut commits = Vec::new();
    let mut at = MAGIC.len();
    while at < bytes.len() {
        let number = commits.len() as u64 + 1;
        let Some((body, next)) = record_at(bytes, at, number) else {
            // The last record, never acknowledged — unless a whole record of the next
            // number follows, which only damage could explain.
            if (at + 1..bytes.len()).any(|p| record_at(bytes, p, number + 1).is_some()) {
                return Err(damaged("a record does not match its hash"));
            }
            break;
        };
        let ops: Vec<Op> = postcard::from_bytes(body).map_err(|_| damaged("unreadable record"))?;
        commits.push(ops);
        at = next;
    }
    Ok((commits, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(n: u8) -> Vec<Op> {
        vec![
            Op::Insert {
                tree: "versions".into(),
                key: vec![n; 16],
                value: vec![n; 300],
            },
            Op::Remove {
                tree: "synced".into(),
                key: vec![n; 16],
            },
        ]
    }

    fn file(dir: &Path) -> Vec<u8> {
        std::fs::read(dir.join(FILE)).unwrap()
    }

    #[test]
    fn commits_come_back_in_order_and_a_reset_leaves_the_format_line_only() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut j, none) = Journal::open(tmp.path()).unwrap();
        assert!(none.is_empty());
        assert_eq!(j.held(), 0);
        j.append(&op(1)).unwrap();
        j.append(&op(2)).unwrap();
        assert!(j.held() > 600);
        drop(j);
        let (mut j, commits) = Journal::open(tmp.path()).unwrap();
        assert_eq!(commits, vec![op(1), op(2)]);
        j.reset().unwrap();
        assert_eq!(file(tmp.path()), MAGIC);
        let (_, commits) = Journal::open(tmp.path()).unwrap();
        assert!(commits.is_empty());
    }

    /// A crash while a record was written (never acknowledged): the record is dropped
    /// and cut away, and the next record follows the last whole one.
    #[test]
    fn a_record_cut_short_is_dropped_and_cut_away() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(tmp.path()).unwrap();
        j.append(&op(1)).unwrap();
        let whole = file(tmp.path()).len();
        j.append(&op(2)).unwrap();
        drop(j);
        let full = file(tmp.path());
        for cut in [whole + 1, whole + HEAD, full.len() - 1] {
            std::fs::write(tmp.path().join(FILE), &full[..cut]).unwrap();
            let (mut j, commits) = Journal::open(tmp.path()).unwrap();
            assert_eq!(commits, vec![op(1)], "cut at {cut}");
            assert_eq!(file(tmp.path()).len(), whole, "cut at {cut}");
            j.append(&op(3)).unwrap();
            drop(j);
            let (_, commits) = Journal::open(tmp.path()).unwrap();
            assert_eq!(commits, vec![op(1), op(3)], "cut at {cut}");
        }
        // Half-written: the last record's blocks zeros (or anything) on disk.
        for junk in [vec![0u8; 4096], vec![0xee; 100]] {
            let mut bytes = full[..whole].to_vec();
            bytes.extend_from_slice(&junk);
            std::fs::write(tmp.path().join(FILE), &bytes).unwrap();
            let (_, commits) = Journal::open(tmp.path()).unwrap();
            assert_eq!(commits, vec![op(1)]);
            assert_eq!(file(tmp.path()).len(), whole);
        }
        // Cut inside the format line: created, never used.
        std::fs::write(tmp.path().join(FILE), &MAGIC[..5]).unwrap();
        let (mut j, commits) = Journal::open(tmp.path()).unwrap();
        assert!(commits.is_empty());
        j.append(&op(4)).unwrap();
        drop(j);
        assert_eq!(Journal::open(tmp.path()).unwrap().1, vec![op(4)]);
    }

    /// Damage before the last record is not a crash: the store says so, and the file is
    /// left as it is.
    #[test]
    fn damage_before_the_last_record_is_an_error_and_changes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(tmp.path()).unwrap();
        j.append(&op(1)).unwrap();
        j.append(&op(2)).unwrap();
        drop(j);
        let mut bytes = file(tmp.path());
        bytes[MAGIC.len() + HEAD + 10] ^= 1;
        std::fs::write(tmp.path().join(FILE), &bytes).unwrap();
        let err = Journal::open(tmp.path()).err().unwrap();
        assert!(err.to_string().contains("journal is damaged"), "{err}");
        assert_eq!(file(tmp.path()), bytes);
        // Not a journal at all.
        std::fs::write(tmp.path().join(FILE), b"something else entirely").unwrap();
        let err = Journal::open(tmp.path()).err().unwrap();
        assert!(err.to_string().contains("journal is damaged"), "{err}");
        // One of a newer build.
        std::fs::write(tmp.path().join(FILE), b"custos-journal 2").unwrap();
        let err = Journal::open(tmp.path()).err().unwrap();
        assert!(err.to_string().contains("update the app"), "{err}");
    }
}
