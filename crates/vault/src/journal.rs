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
//! custos-journal 2\n                 the format, 16 bytes
//! salt                                16 random bytes, new at every emptying
//! then records, each:
//!   length of the body, u32 little-endian
//!   the record's number in the file (1, 2, …), u64 little-endian
//!   SHA-256 of the salt, the length, the number and the body, 32 bytes
//!   body: the commit's operations (postcard)
//! ```
//!
//! **Appended, always.** Each record goes at the end of the file, so the `fdatasync`
//! that acknowledges it must make the file's new size durable, which commits the file
//! system's own journal; that commit also makes durable what sled wrote since the last
//! checkpoint (sled writes its log with `sync_file_range`, which commits no metadata),
//! and sled's recovery after a power cut depends on it. Records written in place over
//! zeros laid out ahead made the acknowledgement a third cheaper (`fdatasync` 126
//! against 187 µs at the median here) but committed nothing of the file system's: the
//! power-cut test (`tests/power_cut.rs`) then found sled's files in a state its
//! recovery refused, three runs of three, and the vault did not open.
//!
//! **The salt ends a generation.** Emptying the journal first writes a new salt (one
//! sector, fsynced): from then on no earlier record checks, whatever of them is still in
//! the file; then the records are overwritten with zeros, so that no removed value stays
//! in their blocks, and the file is cut back to its header. A crash between the steps,
//! or halfway through the zeros, leaves records of the old generation that an open
//! ignores and cuts away. The format before (`custos-journal 1`) had no salt: a crash
//! while its zeros were written could leave a later record whole behind a zeroed one,
//! which an open took for damage, and the vault did not open. Such a journal is read as
//! it was written and replaced by this format at its first emptying, which the store
//! does as it opens.
//!
//! Only the last record can be cut short or left half-written by a crash (each append
//! returns only once it is fsynced, so that record was never acknowledged): it is
//! dropped — whatever its bytes became (a file system may leave zeros or old blocks
//! there) — and cut away. A record that does not check with a whole record of the next
//! number after it is damage instead, and the store says so rather than drop
//! acknowledged commits.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

const MAGIC: &[u8; 16] = b"custos-journal 2";
/// The format before, read (and replaced) at open.
const MAGIC_1: &[u8; 16] = b"custos-journal 1";
/// The format line and the salt.
const HEADER: usize = 16 + 16;
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

/// How records of a file are checked: with the salt of its generation, or (format 1)
/// without one.
type Salt = Option<[u8; 16]>;

/// The open journal.
pub(crate) struct Journal {
    file: File,
    /// Bytes in the file: the header and the whole records.
    len: u64,
    /// Records in the file.
    records: u64,
    /// The salt of the records; `None` while the file is still in format 1 (it is then
    /// emptied before anything is appended).
    salt: Salt,
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
        let mut journal = Journal {
            file,
            len: 0,
            records: 0,
            salt: None,
        };
        let Some(salt) = salt_of(&bytes)? else {
            // Absent, or cut short while it was created: nothing was ever acknowledged
            // through it.
            journal.start().map_err(io)?;
            crate::durable::sync_dir(dir).map_err(io)?;
            return Ok((journal, Vec::new()));
        };
        let start = if salt.is_some() {
            HEADER
        } else {
            MAGIC_1.len()
        };
        let (commits, whole) = parse(&bytes, start, salt)?;
        journal.len = whole as u64;
        journal.records = commits.len() as u64;
        journal.salt = salt;
        if salt.is_none() && commits.is_empty() {
            // Format 1 with nothing to replay: this format now.
            journal.start().map_err(io)?;
        } else if salt.is_some() && whole < bytes.len() {
            // A record cut short or half-written by a crash (never acknowledged), or
            // records of a generation whose emptying a crash stopped: cut away, so that
            // the next record does not follow them.
            journal
                .file
                .set_len(whole as u64)
                .and_then(|()| journal.file.sync_all())
                .map_err(io)?;
        }
        Ok((journal, commits))
    }

    /// Bytes of records held (the header not counted).
    pub(crate) fn held(&self) -> u64 {
        let header = if self.salt.is_some() {
            HEADER
        } else {
            MAGIC_1.len()
        };
        self.len.saturating_sub(header as u64)
    }

    /// Appends one commit and fsyncs the file: once this returns, the commit survives a
    /// crash. On an error the file is cut back to what it held before (as far as it
    /// can be; a record left torn is dropped at the next open).
    ///
    /// At the end of the file, always: the `fdatasync` must then make the file's new size
    /// durable, which commits the file system's own journal — and that commit also
    /// makes durable what sled wrote since the last checkpoint (sled's background flush
    /// writes its log with `sync_file_range`, which commits no metadata). Without it a
    /// power cut can leave sled's files in a state its recovery refuses: the power-cut
    /// test showed it when records were written in place (see the module's notes).
    pub(crate) fn append(&mut self, ops: &[Op]) -> Result<()> {
        let Some(salt) = self.salt else {
            return Err(Error::Database(
                "the write journal must be emptied before it takes a commit".into(),
            ));
        };
        let body = postcard::to_stdvec(ops)
            .map_err(|e| Error::Database(format!("writing the journal: {e}")))?;
        let len = u32::try_from(body.len())
            .map_err(|_| Error::Database("a commit too large for the journal".into()))?;
        let number = self.records + 1;
        let mut record = Vec::with_capacity(HEAD + body.len());
        record.extend_from_slice(&len.to_le_bytes());
        record.extend_from_slice(&number.to_le_bytes());
        record.extend_from_slice(&digest(Some(salt), len, number, &body));
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
                    .and_then(|()| self.file.sync_all());
                Err(Error::io("saving to the write journal", e))
            }
        }
    }

    /// Empties the journal once sled holds everything it held durably: a new salt first
    /// (no record written before it checks any more), then zeros over the records, so
    /// that no removed value stays in their blocks, then the file is cut back to its
    /// header. A journal still in format 1 is rewritten in this one.
    pub(crate) fn reset(&mut self) -> Result<()> {
        if self.salt.is_some() && self.len == HEADER as u64 {
            return Ok(());
        }
        let io = |e| Error::io("emptying the write journal", e);
        let salt = self.new_generation().map_err(io)?;
        // Format 1 may end with a record a crash cut short: zeros over it too.
        let end = self.file.metadata().map_err(io)?.len().max(self.len);
        self.zero(HEADER as u64, end)
            .and_then(|()| self.file.sync_data())
            .and_then(|()| self.file.set_len(HEADER as u64))
            .and_then(|()| self.file.sync_all())
            .map_err(io)?;
        self.salt = Some(salt);
        self.len = HEADER as u64;
        self.records = 0;
        Ok(())
    }

    /// The first step of emptying: a new salt in the header, fsynced. Returns it; the
    /// journal's state is the caller's to change.
    fn new_generation(&mut self) -> std::io::Result<[u8; 16]> {
        let salt = fresh_salt();
        self.file.seek(SeekFrom::Start(0))?;
        self.file.write_all(MAGIC)?;
        self.file.write_all(&salt)?;
        self.file.sync_data()?;
        Ok(salt)
    }

    /// A new, empty journal in this format, over whatever the file held (which holds no
    /// acknowledged commit).
    fn start(&mut self) -> std::io::Result<()> {
        let salt = fresh_salt();
        self.file.set_len(0)?;
        self.file.seek(SeekFrom::Start(0))?;
        self.file.write_all(MAGIC)?;
        self.file.write_all(&salt)?;
        self.file.sync_all()?;
        self.salt = Some(salt);
        self.len = HEADER as u64;
        self.records = 0;
        Ok(())
    }

    /// Writes zeros from `from` to `to` (nothing when `to <= from`).
    fn zero(&mut self, from: u64, to: u64) -> std::io::Result<()> {
        if to <= from {
            return Ok(());
        }
        let zeros = vec![0u8; 1 << 16];
        self.file.seek(SeekFrom::Start(from))?;
        let mut at = from;
        while at < to {
            let n = (to - at).min(zeros.len() as u64) as usize;
            self.file.write_all(&zeros[..n])?;
            at += n as u64;
        }
        Ok(())
    }
}

fn fresh_salt() -> [u8; 16] {
    *crate::crypto::random_bytes::<16>()
}

/// The salt a journal's bytes check their records with: `Some(Some(salt))` in this
/// format, `Some(None)` in format 1, `None` when the file is empty or was cut short
/// while it was created.
fn salt_of(bytes: &[u8]) -> Result<Option<Salt>> {
    if bytes.starts_with(MAGIC_1) {
        return Ok(Some(None));
    }
    if bytes.starts_with(MAGIC) {
        // Cut inside its salt while it was created: nothing was written after it.
        let Some(salt) = bytes.get(16..HEADER) else {
            return Ok(None);
        };
        let salt: [u8; 16] = salt.try_into().expect("16 bytes");
        return Ok(Some(Some(salt)));
    }
    // Cut short while it was created, or its blocks never written (a file system may
    // show zeros there after a crash): no record was ever acknowledged through it.
    let used = &bytes[..last_nonzero(bytes)];
    if MAGIC.starts_with(used) || MAGIC_1.starts_with(used) {
        return Ok(None);
    }
    if bytes.starts_with(b"custos-journal ") {
        return Err(Error::Database(
            "the write journal was written by a newer version of Custos; update the app".into(),
        ));
    }
    Err(Error::Database(
        "the write journal is damaged (not a journal)".into(),
    ))
}

fn digest(salt: Salt, len: u32, number: u64, body: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    if let Some(salt) = salt {
        hash.update(salt);
    }
    hash.chain_update(len.to_le_bytes())
        .chain_update(number.to_le_bytes())
        .chain_update(body)
        .finalize()
        .into()
}

/// The body of the whole record numbered `number` at `at`, and where the next starts.
fn record_at(bytes: &[u8], at: usize, number: u64, salt: Salt) -> Option<(&[u8], usize)> {
    let head = bytes.get(at..at.checked_add(HEAD)?)?;
    let stored = u64::from_le_bytes(head[4..12].try_into().ok()?);
    if stored != number {
        return None;
    }
    let len = u32::from_le_bytes(head[..4].try_into().ok()?);
    let end = (at + HEAD).checked_add(len as usize)?;
    let body = bytes.get(at + HEAD..end)?;
    (digest(salt, len, number, body)[..] == head[12..]).then_some((body, end))
}

/// One past the last byte of `bytes` that is not zero (0 when all are).
fn last_nonzero(bytes: &[u8]) -> usize {
    let mut end = bytes.len();
    for chunk in bytes.rchunks(4096) {
        // An OR over the whole chunk (no early exit): vectorised.
        if chunk.iter().fold(0u8, |a, &b| a | b) != 0 {
            return end - chunk.iter().rev().position(|&b| b != 0).unwrap_or(0);
        }
        end -= chunk.len();
    }
    0
}

/// The commits in a journal's bytes from `start` on, and where they end (a last record
/// cut short or half-written is not counted).
fn parse(bytes: &[u8], start: usize, salt: Salt) -> Result<(Vec<Vec<Op>>, usize)> {
    let damaged = |what: &str| Error::Database(format!("the write journal is damaged ({what})"));
    // A crash can leave zeros after the records (blocks given to the file, never
    // written; or the zeros of an emptying): past the last byte that is not zero no
    // record can start.
    let end = last_nonzero(bytes).max(start);
    let mut commits = Vec::new();
    let mut at = start;
    while at < end {
        let number = commits.len() as u64 + 1;
        let Some((body, next)) = record_at(bytes, at, number, salt) else {
            // The last record, never acknowledged — unless a whole record of the next
            // number follows, which only damage could explain.
            if (at + 1..end).any(|p| record_at(bytes, p, number + 1, salt).is_some()) {
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

/// Bytes of records the journal in `dir` holds, read without changing it.
#[cfg(test)]
pub(crate) fn held_in(dir: &Path) -> u64 {
    let bytes = std::fs::read(dir.join(FILE)).unwrap();
    match salt_of(&bytes).unwrap() {
        None => 0,
        Some(salt) => {
            let start = if salt.is_some() {
                HEADER
            } else {
                MAGIC_1.len()
            };
            (parse(&bytes, start, salt).unwrap().1 - start) as u64
        }
    }
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

    /// A commit larger than a block of the file system.
    fn big(n: u8) -> Vec<Op> {
        vec![Op::Insert {
            tree: "versions".into(),
            key: vec![n; 16],
            value: vec![n; 5000],
        }]
    }

    fn file(dir: &Path) -> Vec<u8> {
        std::fs::read(dir.join(FILE)).unwrap()
    }

    fn write(dir: &Path, bytes: &[u8]) {
        std::fs::write(dir.join(FILE), bytes).unwrap();
    }

    /// The file is a header of this format and nothing else.
    fn empty_past_header(bytes: &[u8]) -> bool {
        bytes.starts_with(MAGIC) && bytes.len() == HEADER
    }

    /// Where the records of a format-2 file end.
    fn records_end(dir: &Path) -> usize {
        HEADER + held_in(dir) as usize
    }

    #[test]
    fn commits_come_back_in_order_and_a_reset_leaves_zeros_under_a_new_salt() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut j, none) = Journal::open(tmp.path()).unwrap();
        assert!(none.is_empty());
        assert_eq!(j.held(), 0);
        assert!(empty_past_header(&file(tmp.path())));
        j.append(&op(1)).unwrap();
        j.append(&op(2)).unwrap();
        assert!(j.held() > 600);
        drop(j);
        let before = file(tmp.path());
        let (mut j, commits) = Journal::open(tmp.path()).unwrap();
        assert_eq!(commits, vec![op(1), op(2)]);
        assert_eq!(
            file(tmp.path()),
            before,
            "an open changes nothing that checks"
        );
        j.reset().unwrap();
        let after = file(tmp.path());
        assert!(empty_past_header(&after));
        assert_ne!(after[16..HEADER], before[16..HEADER], "a new salt");
        let (_, commits) = Journal::open(tmp.path()).unwrap();
        assert!(commits.is_empty());
    }

    /// Records are appended and the file fsynced; emptied, the file is its header again.
    #[test]
    fn records_are_appended_and_an_emptied_journal_is_its_header() {
        let tmp = tempfile::tempdir().unwrap();
        let size = |dir: &Path| std::fs::metadata(dir.join(FILE)).unwrap().len();
        let (mut j, _) = Journal::open(tmp.path()).unwrap();
        assert_eq!(size(tmp.path()), HEADER as u64);
        for n in 1..=3 {
            j.append(&big(n)).unwrap();
            assert_eq!(size(tmp.path()), records_end(tmp.path()) as u64);
        }
        drop(j);
        let (mut j, commits) = Journal::open(tmp.path()).unwrap();
        assert_eq!(commits, vec![big(1), big(2), big(3)]);
        j.reset().unwrap();
        assert_eq!(size(tmp.path()), HEADER as u64);
        drop(j);
        assert!(Journal::open(tmp.path()).unwrap().1.is_empty());
    }

    /// A crash while a record was written (never acknowledged): the record is dropped
    /// and cut away, and the next record follows the last whole one.
    #[test]
    fn a_record_cut_short_or_half_written_is_dropped_and_cut_away() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(tmp.path()).unwrap();
        j.append(&op(1)).unwrap();
        let whole = records_end(tmp.path());
        j.append(&op(2)).unwrap();
        let second = records_end(tmp.path());
        drop(j);
        let full = file(tmp.path());
        // The file cut, or the record's blocks not all written (zeros, or anything,
        // where the rest of it should be).
        let mut damaged = Vec::new();
        for cut in [whole + 1, whole + HEAD, second - 1] {
            damaged.push(full[..cut].to_vec());
            let mut zeros = full.clone();
            zeros[cut..second].fill(0);
            damaged.push(zeros);
        }
        let mut junk = full.clone();
        junk[whole + 10..whole + 110].fill(0xee);
        damaged.push(junk);
        for (i, bytes) in damaged.iter().enumerate() {
            write(tmp.path(), bytes);
            let (mut j, commits) = Journal::open(tmp.path()).unwrap();
            assert_eq!(commits, vec![op(1)], "case {i}");
            assert_eq!(file(tmp.path()).len(), whole, "case {i}: cut away");
            j.append(&op(3)).unwrap();
            drop(j);
            let (_, commits) = Journal::open(tmp.path()).unwrap();
            assert_eq!(commits, vec![op(1), op(3)], "case {i}");
        }
        // Cut inside the format line or the salt, or zeros where the format line was
        // to be: created, never used.
        for cut in [0, 5, 16, 20] {
            write(tmp.path(), &full[..cut]);
            let (mut j, commits) = Journal::open(tmp.path()).unwrap();
            assert!(commits.is_empty(), "cut at {cut}");
            j.append(&op(4)).unwrap();
            drop(j);
            assert_eq!(Journal::open(tmp.path()).unwrap().1, vec![op(4)]);
            let mut zeros = full[..cut].to_vec();
            zeros.resize(4096, 0);
            write(tmp.path(), &zeros);
            let (mut j, commits) = Journal::open(tmp.path()).unwrap();
            assert!(commits.is_empty(), "zeros after {cut}");
            j.append(&op(4)).unwrap();
            drop(j);
            assert_eq!(Journal::open(tmp.path()).unwrap().1, vec![op(4)]);
        }
    }

    /// Emptying is a new salt, fsynced, then zeros, then the cut. A crash after the salt,
    /// before or halfway through the zeros, leaves records of the old generation: none is
    /// replayed, none is taken for damage, and the open cuts them away. (In format 1
    /// a crash halfway through the zeros left a whole record behind a zeroed one, which
    /// an open refused as damage: the vault did not open.) A crash before the salt
    /// reached the disk replays the old records again, which sled already holds.
    #[test]
    fn a_crash_while_the_journal_is_emptied_leaves_it_readable() {
        let tmp = tempfile::tempdir().unwrap();
        for zeroed in [0, 4096 - HEADER, 9000] {
            let (mut j, _) = Journal::open(tmp.path()).unwrap();
            j.reset().unwrap();
            for n in 1..=3 {
                j.append(&big(n)).unwrap();
            }
            let end = records_end(tmp.path());
            let before_salt = file(tmp.path());
            j.new_generation().unwrap();
            // The crash: the first `zeroed` bytes of the records reached the disk.
            let mut bytes = file(tmp.path());
            bytes[HEADER..HEADER + zeroed].fill(0);
            drop(j);
            write(tmp.path(), &bytes);
            let (_, commits) = Journal::open(tmp.path()).unwrap();
            assert!(commits.is_empty(), "{zeroed} bytes zeroed");
            assert!(
                empty_past_header(&file(tmp.path())),
                "{zeroed}: the open cut them away"
            );
            // The salt never reached the disk: the records are replayed again.
            write(tmp.path(), &before_salt);
            let (mut j, commits) = Journal::open(tmp.path()).unwrap();
            assert_eq!(commits, vec![big(1), big(2), big(3)]);
            assert_eq!(records_end(tmp.path()), end);
            j.reset().unwrap();
        }
    }

    /// Format 1 (before the salt): its records are read as they were written, nothing
    /// is appended to it, and its emptying writes this format. One with nothing in it
    /// becomes this format at once.
    #[test]
    fn a_journal_of_format_1_is_replayed_then_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        let mut bytes = MAGIC_1.to_vec();
        for (n, ops) in [op(1), op(2)].iter().enumerate() {
            let body = postcard::to_stdvec(ops).unwrap();
            let number = n as u64 + 1;
            bytes.extend_from_slice(&(body.len() as u32).to_le_bytes());
            bytes.extend_from_slice(&number.to_le_bytes());
            bytes.extend_from_slice(&digest(None, body.len() as u32, number, &body));
            bytes.extend_from_slice(&body);
        }
        // and a record a crash cut short
        bytes.extend_from_slice(&[7; 30]);
        write(tmp.path(), &bytes);
        let (mut j, commits) = Journal::open(tmp.path()).unwrap();
        assert_eq!(commits, vec![op(1), op(2)]);
        assert!(j.held() > 600);
        let err = j.append(&op(3)).unwrap_err();
        assert!(err.to_string().contains("emptied"), "{err}");
        assert_eq!(file(tmp.path()), bytes, "refused: nothing written");
        j.reset().unwrap();
        assert!(empty_past_header(&file(tmp.path())));
        j.append(&op(3)).unwrap();
        drop(j);
        assert_eq!(Journal::open(tmp.path()).unwrap().1, vec![op(3)]);

        write(tmp.path(), MAGIC_1);
        let (_, commits) = Journal::open(tmp.path()).unwrap();
        assert!(commits.is_empty());
        assert!(empty_past_header(&file(tmp.path())));
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
        bytes[HEADER + HEAD + 10] ^= 1;
        write(tmp.path(), &bytes);
        let err = Journal::open(tmp.path()).err().unwrap();
        assert!(err.to_string().contains("journal is damaged"), "{err}");
        assert_eq!(file(tmp.path()), bytes);
        // The salt changed under the records: the first no longer checks, the second
        // neither — nothing is replayed that was not written with this salt.
        let mut bytes = file(tmp.path());
        bytes[HEADER + HEAD + 10] ^= 1;
        bytes[20] ^= 1;
        write(tmp.path(), &bytes);
        let (_, commits) = Journal::open(tmp.path()).unwrap();
        assert!(commits.is_empty());
        // Not a journal at all.
        write(tmp.path(), b"something else entirely");
        let err = Journal::open(tmp.path()).err().unwrap();
        assert!(err.to_string().contains("journal is damaged"), "{err}");
        // One of a newer build.
        write(tmp.path(), b"custos-journal 3");
        let err = Journal::open(tmp.path()).err().unwrap();
        assert!(err.to_string().contains("update the app"), "{err}");
    }
}
