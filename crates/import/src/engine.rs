//! Checking, previewing and writing an export into the vault.
//!
//! An import reads the export twice. The first read ([`preview`]) checks it whole —
//! every record valid, every link to a record read before it, every vocabulary code
//! known, every file present with the hash and size the export states — counts what
//! would be made of each kind, and lists the source fields with no home. Nothing is
//! written when anything is wrong: [`import`] then refuses with every problem.
//!
//! The second read writes, a few hundred records per durable commit (so memory stays
//! constant, whatever the export's size), and files one by one through the vault's
//! streaming evidence import. A record already in the vault (the same export imported
//! before: ids derive from the source's own) is left as it is. Should a write fail
//! part-way — a full disk, a file changed since the check — everything this import wrote
//! is taken back ([`Vault::roll_back`]) and the error says so.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use custos_model::{vocab, Kind, Note, Record};
use custos_vault::{Attach, Change, ImportedFile, Vault};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{unmapped_note, FileItem, FileSource, Item, Problem, Sink, Stopped, Tool, Unit};

/// Records per durable commit while writing.
const BATCH: usize = 256;

/// Which read a progress step belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Reading the export to check it.
    Checking,
    /// Writing it into the vault.
    Writing,
}

/// A progress step: the phase, bytes of the export done, of how many.
pub type Progress<'a> = &'a mut dyn FnMut(Phase, u64, u64);

/// What an import will make (or made), before anything is written.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Preview {
    /// Source records read (bulletins, submissions, entities, files).
    pub units: usize,
    /// New records of each kind it makes (the notes that keep unmapped fields
    /// included, evidence items included).
    pub new: BTreeMap<Kind, usize>,
    /// Records already in the vault from an earlier import of the same records: left as
    /// they are.
    pub already: usize,
    /// Source fields with no home in the model (kept in a note of each record), with the
    /// number of records that have them.
    pub unmapped: Vec<(String, usize)>,
    /// Files it carries, and their bytes.
    pub files: usize,
    /// Bytes of the files.
    pub file_bytes: u64,
    /// Everything wrong with the export; empty when it can be imported.
    pub problems: Vec<Problem>,
}

impl Preview {
    /// New records, all kinds together.
    pub fn new_total(&self) -> usize {
        self.new.values().sum()
    }
}

/// Why an import did not happen.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The export is not right: nothing was imported.
    #[error("{}", refused(.0))]
    Refused(Vec<Problem>),
    /// A write failed part-way; what the import had written was taken back.
    #[error("the import stopped ({0}); nothing of it was kept")]
    TakenBack(custos_vault::Error),
    /// A write failed part-way and taking back what was written failed too.
    #[error("the import stopped ({0}), and what it had written could not be taken back ({1})")]
    Partial(custos_vault::Error, custos_vault::Error),
}

fn refused(problems: &[Problem]) -> String {
    let mut s = format!(
        "the export was refused: nothing was imported ({} problem{})",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        s.push_str("\n  ");
        s.push_str(&p.to_string());
    }
    s
}

/// A reader of an export: called once to check it and once to write it, it must hand
/// the sink the same units in the same order each time.
pub type Reader<'r> = &'r mut dyn FnMut(&mut dyn Sink) -> Result<(), Stopped>;

/// Reads an export whole and says what importing it would make: nothing is written.
pub fn preview(vault: &Vault, tool: Tool, path: &Path, progress: Progress<'_>) -> Preview {
    preview_with(
        vault,
        tool,
        path,
        &mut |sink| tool.read(path, sink),
        progress,
    )
    .0
}

/// [`preview`] with a reader of the caller's; also returns what the check hashed.
pub fn preview_with(
    vault: &Vault,
    tool: Tool,
    path: &Path,
    read: Reader<'_>,
    progress: Progress<'_>,
) -> (Preview, Hashes) {
    let mut check = Check::new(vault, progress);
    let _ = read(&mut check);
    if check.units == 0 && check.preview.problems.is_empty() {
        check.preview.problems.push(Problem::new(
            path.display().to_string(),
            format!(
                "no {} records in it: is this the right export?",
                tool.name()
            ),
        ));
    }
    check.finish()
}

/// The SHA-256 and size of each file as the check read it: the write checks the file is
/// still the same, even where the export states no hash.
#[derive(Debug, Default)]
pub struct Hashes(HashMap<Uuid, (String, u64)>);

/// What an import wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Imported {
    /// What it found (the preview of the export).
    pub preview: Preview,
    /// Records written.
    pub records: usize,
    /// Evidence files imported.
    pub files: usize,
}

/// Imports an export: checked whole first (refused with every problem, nothing
/// written, when anything is wrong), then written; records already in the vault are
/// left as they are.
pub fn import(
    vault: &mut Vault,
    tool: Tool,
    path: &Path,
    progress: Progress<'_>,
) -> Result<Imported, Error> {
    import_with(
        vault,
        tool,
        path,
        &mut |sink| tool.read(path, sink),
        progress,
    )
}

/// [`import`] with a reader of the caller's.
pub fn import_with(
    vault: &mut Vault,
    tool: Tool,
    path: &Path,
    read: Reader<'_>,
    progress: Progress<'_>,
) -> Result<Imported, Error> {
    let (preview, hashes) = preview_with(vault, tool, path, &mut *read, &mut *progress);
    if !preview.problems.is_empty() {
        return Err(Error::Refused(preview.problems));
    }
    let checkpoint = vault.checkpoint();
    let mut write = Write {
        vault,
        tool,
        export: export_name(path),
        progress,
        hashes,
        pending: Vec::new(),
        pending_ids: Vec::new(),
        written: Vec::new(),
        files: 0,
        zip: None,
        failed: None,
        changed: None,
    };
    let read = read(&mut write);
    let flushed = if read.is_ok() && write.failed.is_none() {
        write.flush()
    } else {
        Ok(())
    };
    let failure = write.failed.take().or(flushed.err()).or(write
        .changed
        .take()
        .map(|p| custos_vault::Error::Invalid(p.to_string())));
    if let Some(e) = failure {
        let written = std::mem::take(&mut write.written);
        return match write.vault.roll_back(checkpoint, &written) {
            Ok(_) => Err(Error::TakenBack(e)),
            Err(r) => Err(Error::Partial(e, r)),
        };
    }
    Ok(Imported {
        records: write.written.len() - write.files,
        files: write.files,
        preview,
    })
}

fn export_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// The line of a unit's note that names an empty file of the export.
fn empty_file(file: &FileItem) -> crate::Field {
    crate::Field {
        name: "Empty file in the export, not kept as evidence".into(),
        value: file.name.clone(),
    }
}

/// The id of the note keeping a unit's unmapped fields: one per case the unit carries;
/// a unit that adds to an earlier unit's case (a Tella file, an Uwazi intervention
/// naming its case) has a note of its own in that case, by its original id.
fn note_id(case_id: Uuid, unit: &Unit) -> Uuid {
    match unit.records.first() {
        Some(Item {
            record: Record::Case(_),
            ..
        }) => Uuid::new_v5(&case_id, b"custos-import:unmapped"),
        _ => Uuid::new_v5(
            &case_id,
            format!("custos-import:unmapped/{}", unit.original_id).as_bytes(),
        ),
    }
}

/// The case a unit's records belong to.
fn unit_case(unit: &Unit) -> Option<Uuid> {
    match unit.records.first() {
        Some(Item {
            id,
            record: Record::Case(_),
            ..
        }) => Some(*id),
        Some(item) => item.record.case_id(),
        None => unit.files.first().map(|f| f.case_id),
    }
}

/// The first read: checks and counts.
struct Check<'a, 'p> {
    vault: &'a Vault,
    progress: Progress<'p>,
    preview: Preview,
    units: usize,
    /// Ids read so far: links may point to them; a second use is a problem.
    seen: HashSet<Uuid>,
    unmapped: HashMap<String, usize>,
    zip: Option<(PathBuf, zip::ZipArchive<File>)>,
    hashes: Hashes,
}

impl<'a, 'p> Check<'a, 'p> {
    fn new(vault: &'a Vault, progress: Progress<'p>) -> Self {
        Check {
            vault,
            progress,
            hashes: Hashes::default(),
            preview: Preview::default(),
            units: 0,
            seen: HashSet::new(),
            unmapped: HashMap::new(),
            zip: None,
        }
    }

    fn finish(mut self) -> (Preview, Hashes) {
        self.preview.units = self.units;
        let mut unmapped: Vec<(String, usize)> = self.unmapped.into_iter().collect();
        unmapped.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        self.preview.unmapped = unmapped;
        (self.preview, self.hashes)
    }

    fn known(&self, id: Uuid) -> bool {
        self.seen.contains(&id) || self.vault.has_record(id)
    }

    fn problem(&mut self, at: &str, message: String) {
        self.preview.problems.push(Problem::new(at, message));
    }

    fn check_record(&mut self, at: &str, id: Uuid, record: &Record) {
        if let Err(e) = record.validate() {
            self.problem(at, format!("{} {id}: {e}", record.kind().as_str()));
        }
        if matches!(record, Record::Evidence(_)) {
            self.problem(at, "evidence comes with its file, not as a record".into());
        }
        for (field, target) in record.links() {
            if !self.known(target) {
                self.problem(
                    at,
                    format!(
                        "{} {id}: {field} names {target}, which is not in the export before it",
                        record.kind().as_str()
                    ),
                );
            }
        }
        let v = vocab::builtin();
        match record {
            Record::Incident(i) => {
                for code in &i.act_types {
                    if !v.act_types.contains(code) {
                        self.problem(at, format!("incident {id}: unknown act type {code:?}"));
                    }
                }
            }
            Record::Intervention(i)
                if !i.mechanism.is_empty() && !v.mechanisms.contains(&i.mechanism) =>
            {
                self.problem(
                    at,
                    format!("intervention {id}: unknown mechanism {:?}", i.mechanism),
                );
            }
            _ => {}
        }
    }

    /// Checks a file against what the export states; → true when it is empty (kept as
    /// a line of the unit's note: there is nothing to keep as evidence).
    fn check_file(&mut self, at: &str, file: &FileItem) -> bool {
        if !self.known(file.case_id) {
            self.problem(
                at,
                format!("{}: its case is not in the export before it", file.name),
            );
        }
        let hashed = match open(&mut self.zip, &file.source) {
            Ok(mut r) => hash(&mut r),
            Err(e) => Err(e),
        };
        match hashed {
            Err(e) => self.problem(at, format!("{}: cannot be read ({e})", file.name)),
            Ok((sha, 0)) => {
                if file
                    .sha256
                    .as_ref()
                    .is_some_and(|s| !s.eq_ignore_ascii_case(&sha))
                    || file.size.is_some_and(|s| s != 0)
                {
                    self.problem(
                        at,
                        format!(
                            "{}: the file is empty, but the export describes content",
                            file.name
                        ),
                    );
                }
                self.hashes.0.insert(file.id, (sha, 0));
                return true;
            }
            Ok((sha, size)) => {
                if let Some(stated) = file.size.filter(|s| *s != size) {
                    self.problem(
                        at,
                        format!(
                            "{}: the export says {stated} bytes, the file has {size}",
                            file.name
                        ),
                    );
                } else if let Some(stated) = file
                    .sha256
                    .as_ref()
                    .filter(|s| !s.eq_ignore_ascii_case(&sha))
                {
                    self.problem(
                        at,
                        format!(
                            "{}: its SHA-256 is {sha}, not {stated} as the export says: \
                             the file is not the one the export describes",
                            file.name
                        ),
                    );
                }
                self.preview.file_bytes += size;
                self.hashes.0.insert(file.id, (sha, size));
            }
        }
        false
    }
}

impl Sink for Check<'_, '_> {
    fn unit(&mut self, unit: Unit) -> Result<(), Stopped> {
        self.units += 1;
        let at = unit.at.clone();
        let case = unit_case(&unit);
        if case.is_none() {
            self.problem(&at, "it makes no case and names none".into());
        }
        for item in &unit.records {
            let fresh = !self.vault.has_record(item.id);
            if !self.seen.insert(item.id) {
                self.problem(
                    &at,
                    format!(
                        "{} {} appears twice in the export",
                        item.record.kind().as_str(),
                        item.id
                    ),
                );
                continue;
            }
            for earlier in &item.earlier {
                self.check_record(&at, item.id, earlier);
            }
            self.check_record(&at, item.id, &item.record);
            if fresh {
                *self.preview.new.entry(item.record.kind()).or_default() += 1;
            } else {
                self.preview.already += 1;
            }
        }
        let mut empties = Vec::new();
        for file in &unit.files {
            if !self.seen.insert(file.id) {
                self.problem(&at, format!("{} appears twice in the export", file.name));
                continue;
            }
            if self.vault.has_record(file.id) {
                self.preview.already += 1;
                continue;
            }
            if self.check_file(&at, file) {
                empties.push(empty_file(file));
                continue;
            }
            self.preview.files += 1;
            *self.preview.new.entry(Kind::Evidence).or_default() += 1;
        }
        if !unit.unmapped.is_empty() || !empties.is_empty() {
            for f in unit.unmapped.iter().chain(&empties) {
                *self.unmapped.entry(f.name.clone()).or_default() += 1;
            }
            if let Some(case) = case {
                let id = note_id(case, &unit);
                if self.seen.insert(id) {
                    if !self.vault.has_record(id) {
                        *self.preview.new.entry(Kind::Note).or_default() += 1;
                    } else {
                        self.preview.already += 1;
                    }
                }
            }
        }
        Ok(())
    }

    fn problem(&mut self, problem: Problem) {
        self.preview.problems.push(problem);
    }

    fn progress(&mut self, done: u64, total: u64) {
        (self.progress)(Phase::Checking, done, total);
    }
}

/// The second read: writes.
struct Write<'a, 'p> {
    vault: &'a mut Vault,
    tool: Tool,
    export: String,
    progress: Progress<'p>,
    hashes: Hashes,
    pending: Vec<Change>,
    /// The ids of `pending`, written once it is.
    pending_ids: Vec<Uuid>,
    /// Every record this import wrote (to take back if it cannot finish).
    written: Vec<Uuid>,
    files: usize,
    zip: Option<(PathBuf, zip::ZipArchive<File>)>,
    failed: Option<custos_vault::Error>,
    /// The export differs from what the check read (it changed in between).
    changed: Option<Problem>,
}

impl Write<'_, '_> {
    fn flush(&mut self) -> Result<(), custos_vault::Error> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let changes = std::mem::take(&mut self.pending);
        self.vault.commit(changes)?;
        self.written.append(&mut self.pending_ids);
        Ok(())
    }

    fn push(&mut self, change: Change, id: Uuid) -> Result<(), custos_vault::Error> {
        self.pending.push(change);
        self.pending_ids.push(id);
        if self.pending.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn write_unit(&mut self, mut unit: Unit) -> Result<(), custos_vault::Error> {
        let case = unit_case(&unit);
        // An empty file has nothing to keep as evidence: its name goes into the note.
        let hashes = &self.hashes;
        let (empty, files): (Vec<FileItem>, Vec<FileItem>) = std::mem::take(&mut unit.files)
            .into_iter()
            .partition(|f| hashes.0.get(&f.id).is_some_and(|(_, size)| *size == 0));
        unit.files = files;
        unit.unmapped.extend(empty.iter().map(empty_file));
        let note = case.map(|c| note_id(c, &unit));
        let mut histories = Vec::new();
        for item in unit.records {
            if self.vault.has_record(item.id) {
                continue;
            }
            let mut versions = item.earlier;
            versions.push(item.record);
            let first = versions.remove(0);
            self.push(
                Change::Import {
                    record_id: item.id,
                    record: first,
                },
                item.id,
            )?;
            if !versions.is_empty() {
                histories.push((item.id, versions));
            }
        }
        if let (false, Some(case), Some(id)) = (unit.unmapped.is_empty(), case, note) {
            if !self.vault.has_record(id) && !self.pending_ids.contains(&id) {
                let text = unmapped_note(self.tool, &unit.original_id, &unit.unmapped);
                let note = Note {
                    case_id: case,
                    text,
                    about: Vec::new(),
                };
                self.push(
                    Change::Import {
                        record_id: id,
                        record: Record::Note(note),
                    },
                    id,
                )?;
            }
        }
        if !histories.is_empty() || !unit.files.is_empty() {
            self.flush()?;
        }
        // Later versions, oldest first: one commit each (a record changes once a commit).
        for (id, versions) in histories {
            for record in versions {
                self.vault.commit(vec![Change::Update {
                    record_id: id,
                    record,
                }])?;
            }
        }
        for file in unit.files {
            if self.vault.has_record(file.id) {
                continue;
            }
            self.write_file(&unit.at, file)?;
        }
        Ok(())
    }

    fn write_file(&mut self, at: &str, file: FileItem) -> Result<(), custos_vault::Error> {
        let mut custody = format!(
            "imported from {} export {:?}, original id {:?}",
            self.tool.name(),
            self.export,
            file.original_id
        );
        custody.push_str(match &file.sha256 {
            Some(_) => "; the SHA-256 the export states matched",
            None => "; the export states no hash for it",
        });
        for m in &file.metadata {
            custody.push_str(&format!("; {}: {}", m.name, m.value));
        }
        let mut description = file.description.clone();
        if !file.metadata.is_empty() {
            if !description.is_empty() {
                description.push_str("\n\n");
            }
            description.push_str(&format!("{} metadata:", self.tool.name()));
            for m in &file.metadata {
                description.push_str(&format!("\n{}: {}", m.name, m.value));
            }
        }
        let mut content = match open(&mut self.zip, &file.source) {
            Ok(c) => c,
            Err(e) => {
                self.changed = Some(Problem::new(
                    at,
                    format!("{}: cannot be read any more ({e})", file.name),
                ));
                return Err(custos_vault::Error::Invalid(format!(
                    "{at}: {} could not be read any more",
                    file.name
                )));
            }
        };
        // As the check read it: a file changed since is refused.
        let (sha256, size) = match self.hashes.0.get(&file.id) {
            Some((sha, size)) => (Some(sha.clone()), Some(*size)),
            None => (file.sha256, file.size),
        };
        let id = self.vault.attach_import(
            &mut content,
            ImportedFile {
                id: file.id,
                file_name: file.name,
                sha256,
                size,
                created: file.created,
                modified: None,
                custody,
            },
            Attach {
                case_id: file.case_id,
                attached_to: file.attached_to,
                description,
                derived_from: None,
            },
        )?;
        self.written.push(id);
        self.files += 1;
        Ok(())
    }
}

impl Sink for Write<'_, '_> {
    fn unit(&mut self, unit: Unit) -> Result<(), Stopped> {
        match self.write_unit(unit) {
            Ok(()) => Ok(()),
            Err(e) => {
                // What is pending was not written: nothing of it to take back.
                self.pending.clear();
                self.pending_ids.clear();
                self.failed = Some(e);
                Err(Stopped)
            }
        }
    }

    fn problem(&mut self, problem: Problem) {
        // The check found none: the export changed since.
        if self.changed.is_none() {
            self.changed = Some(Problem::new(
                problem.at,
                format!(
                    "the export changed since it was checked: {}",
                    problem.message
                ),
            ));
        }
    }

    fn progress(&mut self, done: u64, total: u64) {
        (self.progress)(Phase::Writing, done, total);
    }
}

/// Opens a file's bytes (a zip archive stays open for the next entry of it).
fn open<'z>(
    zip: &'z mut Option<(PathBuf, zip::ZipArchive<File>)>,
    source: &FileSource,
) -> io::Result<Box<dyn Read + 'z>> {
    match source {
        FileSource::Path(p) => {
            // Only a regular file of the export: a link could bring in any file of
            // the user's (a key, a password store) as "evidence" bound for the hub,
            // and a pipe or a device would be read for ever.
            let kind = std::fs::symlink_metadata(p)?.file_type();
            if kind.is_symlink() {
                return Err(io::Error::other(
                    "it is a link to another file, which an import never follows",
                ));
            }
            if !kind.is_file() {
                return Err(io::Error::other("it is not a regular file"));
            }
            Ok(Box::new(BufReader::new(File::open(p)?)))
        }
        FileSource::Zip { archive, entry } => {
            if zip.as_ref().is_none_or(|(p, _)| p != archive) {
                let a = zip::ZipArchive::new(File::open(archive)?).map_err(io::Error::other)?;
                *zip = Some((archive.clone(), a));
            }
            let Some((_, a)) = zip.as_mut() else {
                return Err(io::Error::other("the archive could not be opened"));
            };
            let f = a.by_name(entry).map_err(|e| match e {
                zip::result::ZipError::FileNotFound => io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{entry} is not in the archive"),
                ),
                e => io::Error::other(e),
            })?;
            Ok(Box::new(f))
        }
    }
}

/// SHA-256 (hex) and size of a stream.
fn hash(r: &mut dyn Read) -> io::Result<(String, u64)> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(&buf[..n]);
        total += n as u64;
    }
    let hex = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok((hex, total))
}
