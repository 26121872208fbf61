//! The way in from the tools defenders leave: Martus, ODK, Uwazi and Tella exports read
//! into Custos records, all or nothing, without duplicates, at constant memory.
//!
//! Each source has a reader ([`martus`], [`odk`], [`uwazi`], [`tella`]) that streams
//! the export into [`Unit`]s — one source record (a Martus bulletin, an ODK submission,
//! an Uwazi entity, a Tella file) made into a case and its records, the files it
//! carries, and the source fields with no home in the model — and reports every
//! [`Problem`] with its line or element. The readers know formats; [`engine`] knows the
//! vault: it reads an export twice, first to check it whole and preview it (nothing is
//! written if anything is wrong), then to write it unit by unit, taking back what it
//! wrote if a write fails.
//!
//! Record ids are derived from the source's own ids ([`Tool::id`]): importing the same
//! export twice finds its records already there and creates no duplicates.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::fmt;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use custos_model::Record;
use uuid::Uuid;

pub mod engine;
pub mod martus;
pub mod odk;
pub mod tella;
pub mod uwazi;

mod text;
pub use text::unmapped_note;

/// The tool an export comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tool {
    /// Martus: its XML bulletin export.
    Martus,
    /// ODK: a Briefcase or Central CSV export with its media.
    Odk,
    /// Uwazi: its CSV export.
    Uwazi,
    /// Tella: its exported files with their metadata.
    Tella,
}

impl Tool {
    /// Every tool, in the order menus show them.
    pub const ALL: [Tool; 4] = [Tool::Martus, Tool::Odk, Tool::Uwazi, Tool::Tella];

    /// The code the CLI and the app use (`--from martus`).
    pub fn code(self) -> &'static str {
        match self {
            Tool::Martus => "martus",
            Tool::Odk => "odk",
            Tool::Uwazi => "uwazi",
            Tool::Tella => "tella",
        }
    }

    /// The tool's name, for people.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Martus => "Martus",
            Tool::Odk => "ODK",
            Tool::Uwazi => "Uwazi",
            Tool::Tella => "Tella",
        }
    }

    /// The tool named by a code.
    pub fn from_code(code: &str) -> Option<Tool> {
        Tool::ALL.into_iter().find(|t| t.code() == code)
    }

    /// The id a record imported from this tool gets: the same source key always gives
    /// the same id, so a second import of an export finds its records already there.
    /// `key` names the record within the tool's world uniquely and stably, for example
    /// `"bulletin/<account>-<local id>/case"` or `"submission/<instanceID>/person/2"`.
    pub fn id(self, key: &str) -> Uuid {
        // A namespace of our own (a v5 UUID of the project's name in the URL space).
        const NS: Uuid = Uuid::from_u128(0x6a1f_6c3e_2f0b_5d8e_9c4a_1b7e_3d2f_8a90);
        Uuid::new_v5(
            &NS,
            format!("custos-import:{}:{key}", self.code()).as_bytes(),
        )
    }

    /// Reads an export, handing each unit, problem and progress step to `sink`.
    pub fn read(self, path: &std::path::Path, sink: &mut dyn Sink) -> Result<(), Stopped> {
        match self {
            Tool::Martus => martus::read(path, sink),
            Tool::Odk => odk::read(path, sink),
            Tool::Uwazi => uwazi::read(path, sink),
            Tool::Tella => tella::read(path, sink),
        }
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Something wrong in an export: where, and what.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// Where: a file and a line (`"form.csv line 12"`), an element (`"bulletin 3
    /// (line 120): <Field tag=\"eventdate\">"`), or a file alone.
    pub at: String,
    /// What is wrong, in words a user can act on.
    pub message: String,
}

impl Problem {
    /// A problem at a place.
    pub fn new(at: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            at: at.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.at.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.at, self.message)
        }
    }
}

/// One source record made into Custos records: a case first, then the records of that
/// case, the files it carries, and the source fields with no home in the model.
#[derive(Debug, Clone)]
pub struct Unit {
    /// The source's own id for it (a bulletin's universal id, an ODK instanceID, an
    /// Uwazi entity's sharedId or title, a Tella file's id).
    pub original_id: String,
    /// Where it is in the export, for messages (`"bulletin 3 (line 120)"`).
    pub at: String,
    /// The records, the case first; empty when the unit's files belong to a case an
    /// earlier unit carried (Tella: one case for the export, one unit per file). Every
    /// id comes from [`Tool::id`]. A record may link to records of this unit and of
    /// units read before it, not to later ones.
    pub records: Vec<Item>,
    /// The files it carries, imported as evidence of the case.
    pub files: Vec<FileItem>,
    /// Source fields with no home in the model: kept, in a note of the case, never
    /// dropped ([`unmapped_note`]).
    pub unmapped: Vec<Field>,
}

/// One record of a unit.
#[derive(Debug, Clone)]
pub struct Item {
    /// Its id, from [`Tool::id`].
    pub id: Uuid,
    /// Its content (never `Record::Evidence`: files are [`FileItem`]s).
    pub record: Record,
    /// Earlier versions the export keeps, oldest first: written first, so the record
    /// has its history.
    pub earlier: Vec<Record>,
}

/// A source field and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The field's name in the source (its label, where it has one, with its tag).
    pub name: String,
    /// Its value, as text.
    pub value: String,
}

/// A file a unit carries.
#[derive(Debug, Clone)]
pub struct FileItem {
    /// The evidence record's id, from [`Tool::id`].
    pub id: Uuid,
    /// The case: of this unit or of an earlier one.
    pub case_id: Uuid,
    /// Records of the unit it documents; empty: the case.
    pub attached_to: Vec<Uuid>,
    /// What it shows (the source's caption or label, if any).
    pub description: String,
    /// Where its bytes are.
    pub source: FileSource,
    /// Its file name as the source knew it.
    pub name: String,
    /// The SHA-256 (hex) the export states for it: checked before anything is written.
    pub sha256: Option<String>,
    /// The size the export states for it: checked too.
    pub size: Option<u64>,
    /// The source's id for the file, for the custody entry.
    pub original_id: String,
    /// When the source says the file was made or captured.
    pub created: Option<DateTime<Utc>>,
    /// Other metadata the source keeps with the file (location, device …), written into
    /// the custody entry and the evidence description.
    pub metadata: Vec<Field>,
}

/// Where a file's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileSource {
    /// A file on disk.
    Path(PathBuf),
    /// An entry of a zip archive.
    Zip {
        /// The archive.
        archive: PathBuf,
        /// The entry's name in it.
        entry: String,
    },
}

/// The reader asked to stop: the sink refused a unit (a write failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped;

/// What a reader hands its units, problems and progress to.
pub trait Sink {
    /// One unit, in the export's order (the same order on every read).
    fn unit(&mut self, unit: Unit) -> Result<(), Stopped>;
    /// Something wrong; the reader goes on to find the rest.
    fn problem(&mut self, problem: Problem);
    /// Bytes of the export read so far, of how many (for the progress bar).
    fn progress(&mut self, done: u64, total: u64);
}

/// A sink that keeps everything: for tests and small exports.
#[derive(Debug, Default)]
pub struct Collect {
    /// The units read.
    pub units: Vec<Unit>,
    /// The problems found.
    pub problems: Vec<Problem>,
    /// The last progress step.
    pub progress: (u64, u64),
}

impl Sink for Collect {
    fn unit(&mut self, unit: Unit) -> Result<(), Stopped> {
        self.units.push(unit);
        Ok(())
    }
    fn problem(&mut self, problem: Problem) {
        self.problems.push(problem);
    }
    fn progress(&mut self, done: u64, total: u64) {
        self.progress = (done, total);
    }
}

impl Collect {
    /// Reads an export whole.
    pub fn read(tool: Tool, path: &std::path::Path) -> Collect {
        let mut c = Collect::default();
        let _ = tool.read(path, &mut c);
        c
    }
}
