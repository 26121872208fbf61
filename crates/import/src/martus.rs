//! Reading a Martus XML bulletin export.
//!
//! Martus ("File > Export", XML) writes one file, `<MartusBulletins>`, holding a
//! `<MartusBulletin>` for each bulletin: its metadata (author account, local id,
//! version, the local ids of its earlier versions), the specs of its fields (the
//! standard ones and the custom ones: dropdowns, booleans, dates, date ranges, grids,
//! messages), the values, and the names of its attachments. With "include private
//! data" the private section's specs and values are there too; with "include
//! attachments" each attachment is written beside the XML file under the name the
//! XML gives; with "include all versions" a bulletin's earlier versions follow it,
//! each as a bulletin of its own. Dates are `Simple:<yyyy-mm-dd>` or
//! `Range:<begin>,<end>`, an unknown date being `0001-01-01`.
//!
//! Each bulletin (with its versions) becomes a unit: a case (title, summary, keywords
//! as tags, author as owner), an incident when the bulletin has an event date or a
//! location (the public details as its description), a note with the private section
//! marked as such, the attachments as files, and every other field — custom fields,
//! grids as one line a row, Martus's own metadata — kept in the unit's unmapped list.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use custos_model::{
    Case, CaseStatus, Confidentiality, FuzzyDate, Incident, Location, Note, Precision, Record,
};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{Field, FileItem, FileSource, Item, Problem, Sink, Stopped, Tool, Unit};

/// The standard fields Martus puts in every bulletin, with a label for people (Martus
/// exports them with empty labels).
const STANDARD: [(&str, &str); 11] = [
    ("language", "Language"),
    ("author", "Author"),
    ("organization", "Organization"),
    ("title", "Title"),
    ("location", "Location"),
    ("keywords", "Keywords"),
    ("eventdate", "Event date"),
    ("entrydate", "Date entered"),
    ("summary", "Summary"),
    ("publicinfo", "Details"),
    ("privateinfo", "Private details"),
];

/// Reads the Martus XML export at `path` (the attachments beside it) into units.
pub fn read(path: &Path, sink: &mut dyn Sink) -> Result<(), Stopped> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            sink.problem(Problem::new(name, format!("cannot open the export: {e}")));
            return Ok(());
        }
    };
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    if path.is_dir() {
        sink.problem(Problem::new(
            name,
            "this is a folder: choose the .xml file Martus exported (its attachments are beside it)",
        ));
        return Ok(());
    }
    if total == 0 {
        sink.problem(Problem::new(
            name,
            "the file is empty: a Martus export begins with <MartusBulletins>",
        ));
        return Ok(());
    }
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let mut parser = Parser {
        sink,
        file_name: name,
        dir,
        total,
        export: ExportMeta::default(),
        pending: None,
        seen_roots: HashSet::new(),
        contents: HashMap::new(),
        bulletins: 0,
    };
    parser.run(path, file)?;
    Ok(())
}

/// Counts the lines of what the XML reader has consumed, so elements get their line.
struct Lines<R> {
    inner: R,
    newlines: u64,
}

impl<R: BufRead> Read for Lines<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.newlines += count_newlines(&buf[..n]);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Lines<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            let upto = amt.min(buf.len());
            self.newlines += count_newlines(&buf[..upto]);
        }
        self.inner.consume(amt);
    }
}

fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|b| **b == b'\n').count() as u64
}

/// What the export says of itself (`<ExportMetaData>`).
#[derive(Default)]
struct ExportMeta {
    public_only: bool,
    no_attachments: bool,
}

/// A field spec of a bulletin (`<MainFieldSpecs>` or `<PrivateFieldSpecs>`).
#[derive(Default, Clone)]
struct Spec {
    kind: String,
    tag: String,
    label: String,
    message: String,
    private: bool,
    columns: Vec<Spec>,
    reusable: Vec<String>,
}

/// A field value as the export holds it.
enum Value {
    Text(String),
    Grid(Vec<Vec<String>>),
}

struct FieldValue {
    tag: String,
    line: u64,
    value: Value,
}

struct Attachment {
    name: String,
    private: bool,
    line: u64,
}

/// One `<MartusBulletin>` as read.
#[derive(Default)]
struct Bulletin {
    index: usize,
    line: u64,
    account: Option<String>,
    local_id: Option<String>,
    last_saved: Option<String>,
    all_private: bool,
    status: Option<String>,
    version: Option<String>,
    history: Vec<String>,
    extended: Vec<(String, Vec<String>)>,
    specs: Vec<Spec>,
    reusable: HashMap<String, Vec<(String, String)>>,
    values: Vec<FieldValue>,
    attachments: Vec<Attachment>,
    failed_attachments: Vec<(String, u64)>,
    other: Vec<Field>,
}

impl Bulletin {
    fn at(&self) -> String {
        format!("bulletin {} (line {})", self.index, self.line)
    }
}

/// A bulletin made into records, before its versions are put together.
struct Version {
    at: String,
    uid: String,
    local_id: String,
    number: u32,
    key: String,
    history: Vec<String>,
    extended: Vec<(String, Vec<String>)>,
    case: Case,
    incident: Option<Incident>,
    details: Option<String>,
    private: Option<String>,
    unmapped: Vec<Field>,
    files: Vec<(String, bool, PathBuf)>,
}

/// A bulletin and the earlier versions that follow it.
struct Group {
    key: String,
    versions: Vec<Version>,
}

/// The reader of one export: what it says of itself, the bulletin held back until its
/// earlier versions (which follow it) are read, and the bulletins already handed on.
struct Parser<'s> {
    sink: &'s mut dyn Sink,
    file_name: String,
    dir: PathBuf,
    total: u64,
    export: ExportMeta,
    pending: Option<Group>,
    seen_roots: HashSet<Uuid>,
    contents: HashMap<String, u32>,
    bulletins: usize,
}

/// The state of the bulletin being read.
#[derive(Default)]
struct Current {
    b: Bulletin,
    spec: Option<Spec>,
    column: Option<Spec>,
    private_specs: bool,
    reusable: Option<(String, Vec<(String, String)>)>,
    field: Option<(String, u64)>,
    grid: Option<Vec<Vec<String>>>,
    row: Option<Vec<String>>,
    ext_author: String,
    ext_history: Vec<String>,
    attachment_line: u64,
}

impl Parser<'_> {
    fn run(&mut self, path: &Path, file: File) -> Result<(), Stopped> {
        let mut reader = Reader::from_reader(Lines {
            inner: BufReader::new(file),
            newlines: 0,
        });
        reader.config_mut().expand_empty_elements = true;
        let mut buf = Vec::new();
        let mut stack: Vec<(String, u64)> = Vec::new();
        let mut text = String::new();
        let mut cur: Option<Current> = None;
        let mut root_seen = false;
        loop {
            buf.clear();
            let event = match reader.read_event_into(&mut buf) {
                Ok(e) => e,
                Err(e) => {
                    let pos = reader.error_position();
                    let line = line_at(path, pos);
                    let inside = stack
                        .last()
                        .map(|(n, l)| format!(" (inside <{n}> opened on line {l})"))
                        .unwrap_or_default();
                    let what = if root_seen {
                        format!("the XML is broken here{inside}: {e}")
                    } else {
                        format!("not an XML file: {e}")
                    };
                    self.problem(format!("{} line {line}", self.file_name), what);
                    self.drop_pending_on_error();
                    return Ok(());
                }
            };
            let lines_now = reader.get_ref().newlines + 1;
            match event {
                Event::Start(e) => {
                    let name = e.name().as_ref().to_string();
                    let line = lines_now - count_newlines(e.as_bytes());
                    if stack.is_empty() {
                        if root_seen {
                            self.problem(
                                format!("{} line {line}", self.file_name),
                                format!("<{name}> after the end of <MartusBulletins>"),
                            );
                            return Ok(());
                        }
                        root_seen = true;
                        if name != "MartusBulletins" {
                            self.problem(
                                format!("{} line {line}", self.file_name),
                                format!(
                                    "not a Martus bulletin export: it begins with <{name}>, not <MartusBulletins>"
                                ),
                            );
                            return Ok(());
                        }
                    }
                    text.clear();
                    stack.push((name.clone(), line));
                    self.start(&stack, &e, line, &mut cur);
                }
                Event::End(_) => {
                    let Some((name, line)) = stack.pop() else {
                        continue;
                    };
                    let value = std::mem::take(&mut text);
                    self.end(&stack, &name, line, value, &mut cur)?;
                    if name == "MartusBulletin" && stack.len() == 1 {
                        self.sink.progress(reader.buffer_position(), self.total);
                    }
                }
                Event::Text(t) => {
                    if !root_seen
                        && !t
                            .xml10_content()
                            .trim()
                            .trim_start_matches('\u{feff}')
                            .is_empty()
                    {
                        self.problem(
                            format!("{} line 1", self.file_name),
                            "not an XML file: Martus's bulletin export is the .xml file, beginning with <MartusBulletins> (its CSV and JSON exports are not read)",
                        );
                        return Ok(());
                    }
                    text.push_str(&t.xml10_content());
                }
                Event::CData(t) => text.push_str(&t),
                Event::GeneralRef(r) => {
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) => Some(c.to_string()),
                        Ok(None) => match r.xml10_content().as_ref() {
                            "lt" => Some("<".into()),
                            "gt" => Some(">".into()),
                            "amp" => Some("&".into()),
                            "quot" => Some("\"".into()),
                            "apos" => Some("'".into()),
                            _ => None,
                        },
                        Err(_) => None,
                    };
                    match resolved {
                        Some(s) => text.push_str(&s),
                        None => {
                            let at = match &cur {
                                Some(c) => format!("{} line {lines_now}", c.b.at()),
                                None => format!("{} line {lines_now}", self.file_name),
                            };
                            let raw = r.xml10_content().into_owned();
                            self.problem(
                                at,
                                format!("unknown XML entity &{raw}; (kept as written)"),
                            );
                            text.push('&');
                            text.push_str(&raw);
                            text.push(';');
                        }
                    }
                }
                Event::Eof => {
                    if let Some((name, line)) = stack.last() {
                        let of = match &cur {
                            Some(c) if name != "MartusBulletin" => format!(" of {}", c.b.at()),
                            _ => String::new(),
                        };
                        self.problem(
                            format!("{} line {lines_now}", self.file_name),
                            format!(
                                "the file ends inside <{name}> (opened on line {line}){of}: the export is truncated"
                            ),
                        );
                        self.drop_pending_on_error();
                        return Ok(());
                    }
                    if !root_seen {
                        self.problem(
                            self.file_name.clone(),
                            "not a Martus bulletin export: no <MartusBulletins> element",
                        );
                        return Ok(());
                    }
                    break;
                }
                Event::Empty(_)
                | Event::Comment(_)
                | Event::Decl(_)
                | Event::PI(_)
                | Event::DocType(_) => {}
            }
        }
        self.flush()?;
        if self.bulletins == 0 {
            let why = if self.export.public_only {
                " (Martus leaves out all-private bulletins when private data is not exported)"
            } else {
                ""
            };
            self.problem(
                self.file_name.clone(),
                format!("the export holds no bulletins{why}"),
            );
        }
        self.sink.progress(self.total, self.total);
        Ok(())
    }

    fn problem(&mut self, at: impl Into<String>, message: impl Into<String>) {
        self.sink.problem(Problem::new(at, message));
    }

    /// A broken file: the bulletin held back for its versions is not handed on (the
    /// engine refuses the import anyway; this keeps a half-read bulletin out of a preview).
    fn drop_pending_on_error(&mut self) {
        self.pending = None;
    }

    fn start(
        &mut self,
        stack: &[(String, u64)],
        e: &BytesStart,
        line: u64,
        cur: &mut Option<Current>,
    ) {
        let name = stack.last().map(|(n, _)| n.as_str()).unwrap_or("");
        let parent = parent_name(stack, 1);
        if name == "MartusBulletin" && stack.len() == 2 {
            self.bulletins += 1;
            *cur = Some(Current {
                b: Bulletin {
                    index: self.bulletins,
                    line,
                    ..Bulletin::default()
                },
                ..Current::default()
            });
            return;
        }
        let Some(c) = cur.as_mut() else {
            return;
        };
        match name {
            "MainFieldSpecs" => c.private_specs = false,
            "PrivateFieldSpecs" => c.private_specs = true,
            "Field" if parent == "MainFieldSpecs" || parent == "PrivateFieldSpecs" => {
                c.spec = Some(Spec {
                    kind: attr(e, "type"),
                    private: c.private_specs,
                    ..Spec::default()
                });
            }
            "Column" if parent == "GridSpecDetails" => {
                c.column = Some(Spec {
                    kind: attr(e, "type"),
                    ..Spec::default()
                });
            }
            "UseReusableChoices" => {
                if let Some(s) = c.column.as_mut().or(c.spec.as_mut()) {
                    s.reusable.push(attr(e, "code"));
                }
            }
            "ReusableChoices" => c.reusable = Some((attr(e, "code"), Vec::new())),
            "Choice" if parent == "ReusableChoices" => {
                if let Some((_, list)) = c.reusable.as_mut() {
                    list.push((attr(e, "code"), attr(e, "label")));
                }
            }
            "Field" if parent == "FieldValues" => c.field = Some((attr(e, "tag"), line)),
            "GridData" => c.grid = Some(Vec::new()),
            "Row" if parent == "GridData" => c.row = Some(Vec::new()),
            "Attachment" => c.attachment_line = line,
            "ExtendedHistoryEntry" => {
                c.ext_author.clear();
                c.ext_history.clear();
            }
            _ => {}
        }
    }

    fn end(
        &mut self,
        stack: &[(String, u64)],
        name: &str,
        line: u64,
        text: String,
        cur: &mut Option<Current>,
    ) -> Result<(), Stopped> {
        // `stack` no longer holds the element that ends: its parent is the last.
        let parent = parent_name(stack, 0);
        let grand = parent_name(stack, 1);
        if stack.len() == 1 {
            // (`<MartusBulletinExportFormatVersion>`, 2 or 3, changes nothing read here.)
            if name == "MartusBulletin" {
                if let Some(c) = cur.take() {
                    self.bulletin(c.b)?;
                }
            }
            return Ok(());
        }
        if parent == "ExportMetaData" {
            match name {
                "PublicDataOnly" => self.export.public_only = true,
                "NoAttachmentsExported" => self.export.no_attachments = true,
                _ => {}
            }
            return Ok(());
        }
        let Some(c) = cur.as_mut() else {
            return Ok(());
        };
        let value = text.trim().to_string();
        match (name, parent, grand) {
            ("AuthorAccountId", "BulletinMetaData", _) => c.b.account = Some(value),
            ("BulletinLocalId", "BulletinMetaData", _) => c.b.local_id = Some(value),
            ("BulletinLastSavedDateTime", "BulletinMetaData", _) => c.b.last_saved = Some(value),
            ("AllPrivate", "BulletinMetaData", _) => c.b.all_private = true,
            ("BulletinStatus", "BulletinMetaData", _) => c.b.status = Some(value),
            ("BulletinVersion", "BulletinMetaData", _) => c.b.version = Some(value),
            ("Ancestor", "History", "BulletinMetaData") => c.b.history.push(value),
            ("Ancestor", "History", "ExtendedHistoryEntry") => c.ext_history.push(value),
            ("Author", "ExtendedHistoryEntry", _) => c.ext_author = value,
            ("ExtendedHistoryEntry", _, _) => {
                let entry = (
                    std::mem::take(&mut c.ext_author),
                    std::mem::take(&mut c.ext_history),
                );
                c.b.extended.push(entry);
            }
            ("LocalizedBulletinLastSavedDateTime" | "LocalizedBulletinStatus", _, _) => {}
            // Field specs.
            ("Tag", "Column", _) => {
                if let Some(s) = c.column.as_mut() {
                    s.tag = value;
                }
            }
            ("Label", "Column", _) => {
                if let Some(s) = c.column.as_mut() {
                    s.label = value;
                }
            }
            ("Column", "GridSpecDetails", _) => {
                if let (Some(col), Some(s)) = (c.column.take(), c.spec.as_mut()) {
                    s.columns.push(col);
                }
            }
            ("Tag", "Field", _) => {
                if let Some(s) = c.spec.as_mut() {
                    s.tag = value;
                }
            }
            ("Label", "Field", _) => {
                if let Some(s) = c.spec.as_mut() {
                    s.label = value;
                }
            }
            ("Message", "Field", _) => {
                if let Some(s) = c.spec.as_mut() {
                    s.message = value;
                }
            }
            ("Field", "MainFieldSpecs" | "PrivateFieldSpecs", _) => {
                if let Some(s) = c.spec.take() {
                    c.b.specs.push(s);
                }
            }
            ("ReusableChoices", _, _) => {
                if let Some((code, list)) = c.reusable.take() {
                    c.b.reusable.insert(code, list);
                }
            }
            // Values.
            ("Column", "Row", _) => {
                if let Some(r) = c.row.as_mut() {
                    r.push(text);
                }
            }
            ("Row", "GridData", _) => {
                if let (Some(r), Some(g)) = (c.row.take(), c.grid.as_mut()) {
                    g.push(r);
                }
            }
            ("Value", "Field", "FieldValues") => {
                if let Some((tag, line)) = c.field.clone() {
                    let value = match c.grid.take() {
                        Some(rows) => Value::Grid(rows),
                        None => Value::Text(text),
                    };
                    c.b.values.push(FieldValue { tag, line, value });
                }
            }
            ("Field", "FieldValues", _) => {
                // A field without a <Value> (Martus writes message fields so): its spec
                // may still have something to keep.
                if let Some((tag, line)) = c.field.take() {
                    if !c
                        .b
                        .values
                        .last()
                        .is_some_and(|v| v.tag == tag && v.line == line)
                    {
                        c.b.values.push(FieldValue {
                            tag,
                            line,
                            value: Value::Text(String::new()),
                        });
                    }
                }
            }
            ("Filename", "Attachment", list) => {
                let private =
                    list == "BottomAttachmentList" || list == "BottomSectionAttachmentList";
                c.b.attachments.push(Attachment {
                    name: value,
                    private,
                    line: c.attachment_line,
                });
            }
            ("ErrorExportingAttachment", _, _) => c.b.failed_attachments.push((value, line)),
            _ => {
                // Anything else with text of its own, outside the specs, is kept.
                let in_specs = stack
                    .iter()
                    .any(|(n, _)| n == "MainFieldSpecs" || n == "PrivateFieldSpecs");
                if !in_specs && !value.is_empty() && c.field.is_none() {
                    c.b.other.push(Field {
                        name: format!("<{name}>"),
                        value,
                    });
                }
            }
        }
        Ok(())
    }

    /// A bulletin read whole: made into a version, put with its other versions.
    fn bulletin(&mut self, b: Bulletin) -> Result<(), Stopped> {
        let v = self.version(b);
        let root = Tool::Martus.id(&v.key);
        if self.pending.as_ref().is_some_and(|g| g.key == v.key) {
            if let Some(g) = self.pending.as_mut() {
                g.versions.push(v);
            }
            return Ok(());
        }
        self.flush()?;
        if !self.seen_roots.insert(root) {
            self.problem(
                v.at.clone(),
                format!(
                    "another version of bulletin {} appears apart from the others: Martus writes a bulletin's versions one after another",
                    v.uid
                ),
            );
            return Ok(());
        }
        self.pending = Some(Group {
            key: v.key.clone(),
            versions: vec![v],
        });
        Ok(())
    }

    /// Hands on the bulletin held back for its versions.
    fn flush(&mut self) -> Result<(), Stopped> {
        let Some(g) = self.pending.take() else {
            return Ok(());
        };
        let unit = self.unit(g);
        self.sink.unit(unit)
    }

    fn version(&mut self, b: Bulletin) -> Version {
        let at = b.at();
        let field_at = |v: &FieldValue| format!("{at}: <Field tag=\"{}\"> line {}", v.tag, v.line);
        let specs: HashMap<&str, &Spec> = b.specs.iter().map(|s| (s.tag.as_str(), s)).collect();
        let label_of = |tag: &str| -> String {
            let label = specs
                .get(tag)
                .map(|s| s.label.trim().to_string())
                .filter(|l| !l.is_empty())
                .or_else(|| {
                    STANDARD
                        .iter()
                        .find(|(t, _)| *t == tag)
                        .map(|(_, l)| (*l).to_string())
                });
            match label {
                Some(l) => format!("{l} ({tag})"),
                None => tag.to_string(),
            }
        };

        // The bulletin's ids.
        let (uid, local_id, key) = match (&b.account, &b.local_id) {
            (Some(acc), Some(local)) if !acc.is_empty() && !local.is_empty() => {
                let first = b.history.first().unwrap_or(local);
                (
                    format!("{acc}-{local}"),
                    local.clone(),
                    format!("bulletin/{acc}-{first}"),
                )
            }
            _ => {
                // Files Martus imports (and older exports) may lack the metadata: the
                // bulletin's content names it.
                let mut h = Sha256::new();
                for v in &b.values {
                    h.update(v.tag.as_bytes());
                    h.update([0]);
                    match &v.value {
                        Value::Text(t) => h.update(t.as_bytes()),
                        Value::Grid(rows) => {
                            for r in rows {
                                for c in r {
                                    h.update(c.as_bytes());
                                    h.update([1]);
                                }
                                h.update([2]);
                            }
                        }
                    }
                    h.update([0]);
                }
                for a in &b.attachments {
                    h.update(a.name.as_bytes());
                    h.update([u8::from(a.private)]);
                }
                let hex: String = h.finalize().iter().map(|x| format!("{x:02x}")).collect();
                let mut id = format!("sha256:{}", &hex[..32]);
                // The same content twice: the second is named by its place among them.
                let n = self.contents.entry(id.clone()).or_insert(0);
                *n += 1;
                if *n > 1 {
                    id = format!("{id}#{n}");
                }
                (id.clone(), id.clone(), format!("bulletin/{id}"))
            }
        };
        let number = match b.version.as_deref() {
            None => 1,
            Some(s) => match s.trim().parse::<u32>() {
                Ok(n) => n,
                Err(_) => {
                    self.problem(
                        format!("{at}: <BulletinVersion>"),
                        format!("\"{s}\" is not a version number"),
                    );
                    1
                }
            },
        };

        let mut case = Case {
            status: CaseStatus::Open,
            confidentiality: Confidentiality::Restricted,
            ..Case::default()
        };
        let mut unmapped: Vec<Field> = Vec::new();
        let mut details = None;
        let mut private_text = None;
        let mut has_private = b.all_private;
        let mut start = None;
        let mut end = None;
        let mut dated = false;
        let mut location = None;

        for v in &b.values {
            let spec = specs.get(v.tag.as_str()).copied();
            let private = spec.map_or(v.tag == "privateinfo", |s| s.private);
            let kind = spec.map_or("", |s| s.kind.as_str());
            let text = match &v.value {
                Value::Text(t) => t.trim_end().to_string(),
                Value::Grid(rows) => {
                    let lines = match spec {
                        Some(s) => grid_lines(s, rows, &b.reusable),
                        None => rows
                            .iter()
                            .map(|r| r.join(" | "))
                            .filter(|l| !l.trim().is_empty())
                            .collect(),
                    };
                    lines.join("\n")
                }
            };
            let message = spec
                .filter(|s| s.kind == "MESSAGE")
                .map(|s| s.message.clone());
            if text.trim().is_empty() && message.as_deref().is_none_or(str::is_empty) {
                continue;
            }
            if private {
                has_private = true;
            }
            match v.tag.as_str() {
                "title" if !private => case.title = text.trim().to_string(),
                "summary" if !private => case.summary = text,
                "author" if !private => case.owner = text.trim().to_string(),
                "keywords" if !private => {
                    case.tags = text
                        .split([',', ';', '\n'])
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(String::from)
                        .collect();
                }
                "location" if !private => {
                    location = Some(Location {
                        place: text.trim().to_string(),
                        ..Location::default()
                    });
                }
                "publicinfo" if !private => details = Some(text),
                "privateinfo" => private_text = Some(text),
                "eventdate" if !private => match parse_date(&text) {
                    Ok(d) => {
                        if d.placeholder {
                            unmapped.push(Field {
                                name: label_of("eventdate"),
                                value: format!(
                                    "{} (Martus's value for a date left empty)",
                                    text.trim()
                                ),
                            });
                        } else {
                            start = d.start;
                            end = d.end.filter(|e| Some(*e) != d.start);
                            dated = start.is_some() || end.is_some();
                            if d.open_end && d.start.is_some() {
                                unmapped.push(Field {
                                    name: label_of("eventdate"),
                                    value: format!("{}: the end is unknown in Martus", text.trim()),
                                });
                            }
                            if let (Some(s), Some(e)) = (start, end) {
                                if e.date < s.date {
                                    self.problem(
                                        field_at(v),
                                        format!(
                                            "the event ends ({}) before it begins ({})",
                                            e.date, s.date
                                        ),
                                    );
                                }
                            }
                        }
                    }
                    Err(m) => {
                        self.problem(field_at(v), m);
                        unmapped.push(Field {
                            name: label_of("eventdate"),
                            value: text.trim().to_string(),
                        });
                    }
                },
                tag => {
                    let shown = match (kind, &v.value) {
                        ("MESSAGE", _) => match message {
                            Some(m) if !m.is_empty() && text.trim().is_empty() => m,
                            _ => text.clone(),
                        },
                        ("BOOLEAN", _) => boolean(&text),
                        ("DATE" | "DATERANGE", Value::Text(_)) => match parse_date(&text) {
                            Ok(d) if d.placeholder => {
                                format!("{} (Martus's value for a date left empty)", text.trim())
                            }
                            Ok(d) => d.display,
                            Err(m) => {
                                self.problem(field_at(v), m);
                                text.trim().to_string()
                            }
                        },
                        ("DROPDOWN", Value::Text(_)) => choice(spec, &text, &b.reusable),
                        _ => text.clone(),
                    };
                    if !shown.trim().is_empty() {
                        let name = label_of(tag);
                        unmapped.push(Field {
                            name: if private {
                                format!("Private: {name}")
                            } else {
                                name
                            },
                            value: shown,
                        });
                    }
                }
            }
        }
        if b.attachments.iter().any(|a| a.private) {
            has_private = true;
        }
        if has_private {
            case.confidentiality = Confidentiality::Confidential;
        }
        if case.title.is_empty() {
            case.title = format!("Martus bulletin {local_id}");
        }

        // Martus's own metadata.
        if let Some(s) = &b.status {
            unmapped.push(Field {
                name: "Martus status".into(),
                value: s.clone(),
            });
        }
        if b.version.is_some() {
            unmapped.push(Field {
                name: "Martus version".into(),
                value: number.to_string(),
            });
        }
        if let Some(saved) = &b.last_saved {
            let when = saved
                .parse::<i64>()
                .ok()
                .and_then(DateTime::<Utc>::from_timestamp_millis)
                .map(|t| t.to_rfc3339())
                .unwrap_or_else(|| saved.clone());
            unmapped.push(Field {
                name: "Last saved in Martus".into(),
                value: when,
            });
        }
        if b.all_private {
            unmapped.push(Field {
                name: "Martus: all private".into(),
                value: "yes: the whole bulletin was private in Martus".into(),
            });
        }
        unmapped.extend(b.other.iter().cloned());

        // Attachments.
        let mut files = Vec::new();
        for a in &b.attachments {
            let at = format!("{at}: <Attachment> line {}", a.line);
            let Some(file) = attachment_name(&a.name) else {
                self.problem(at, format!("\"{}\" is not a file name", a.name));
                continue;
            };
            let path = self.dir.join(file);
            if !path.is_file() {
                self.problem(
                    at,
                    format!(
                        "the attachment \"{}\" is missing: Martus writes attachments beside the XML file, in {}",
                        a.name,
                        self.dir.display()
                    ),
                );
                continue;
            }
            files.push((a.name.clone(), a.private, path));
        }
        for (name, line) in &b.failed_attachments {
            self.problem(
                format!("{at}: <ErrorExportingAttachment> line {line}"),
                format!(
                    "Martus could not export the attachment \"{name}\": export the bulletin again"
                ),
            );
        }

        let incident = (dated || location.is_some()).then(|| Incident {
            case_id: Uuid::nil(),
            title: case.title.clone(),
            description: details.take().unwrap_or_default(),
            start,
            end,
            location,
            act_types: Vec::new(),
            persons: Vec::new(),
            related: Vec::new(),
            impact: String::new(),
        });
        Version {
            at,
            uid,
            local_id,
            number,
            key,
            history: b.history,
            extended: b.extended,
            case,
            incident,
            details,
            private: private_text,
            unmapped,
            files,
        }
    }

    fn unit(&mut self, g: Group) -> Unit {
        let mut versions = g.versions;
        // The latest version first in the file (Martus writes it before its ancestors);
        // the rest, oldest first.
        let latest_at = versions
            .iter()
            .enumerate()
            .max_by_key(|(i, v)| (v.number, std::cmp::Reverse(*i)))
            .map_or(0, |(i, _)| i);
        let latest = versions.remove(latest_at);
        versions.sort_by_key(|v| v.number);
        let earlier = versions;

        let prefix = &g.key;
        let case_id = Tool::Martus.id(&format!("{prefix}/case"));
        let incident_id = Tool::Martus.id(&format!("{prefix}/incident"));
        let details_id = Tool::Martus.id(&format!("{prefix}/note/details"));
        let private_id = Tool::Martus.id(&format!("{prefix}/note/private"));

        let incident_of = |v: &Version| {
            v.incident.clone().map(|mut i| {
                i.case_id = case_id;
                Record::Incident(i)
            })
        };
        let note_of = |text: &Option<String>, heading: &str, about: &[Uuid]| {
            text.as_ref().map(|t| {
                Record::Note(Note {
                    case_id,
                    text: format!("{heading}\n\n{t}"),
                    about: about.to_vec(),
                })
            })
        };
        let about_of = |v: &Version| {
            if v.incident.is_some() {
                vec![incident_id]
            } else {
                Vec::new()
            }
        };
        const DETAILS: &str = "Details (Martus public section, publicinfo):";
        const PRIVATE: &str =
            "Private details (Martus private section, privateinfo; readable only by the author and their headquarters in Martus):";

        let mut records = vec![Item {
            id: case_id,
            record: Record::Case(latest.case.clone()),
            earlier: earlier
                .iter()
                .map(|v| Record::Case(v.case.clone()))
                .collect(),
        }];
        if let Some(r) = incident_of(&latest) {
            records.push(Item {
                id: incident_id,
                record: r,
                earlier: earlier.iter().filter_map(incident_of).collect(),
            });
        }
        if let Some(r) = note_of(&latest.details, DETAILS, &[]) {
            records.push(Item {
                id: details_id,
                record: r,
                earlier: earlier
                    .iter()
                    .filter_map(|v| note_of(&v.details, DETAILS, &[]))
                    .collect(),
            });
        }
        if let Some(r) = note_of(&latest.private, PRIVATE, &about_of(&latest)) {
            let incident_kept = latest.incident.is_some();
            records.push(Item {
                id: private_id,
                record: r,
                earlier: earlier
                    .iter()
                    .filter_map(|v| {
                        let about = if incident_kept {
                            about_of(v)
                        } else {
                            Vec::new()
                        };
                        note_of(&v.private, PRIVATE, &about)
                    })
                    .collect(),
            });
        }

        let mut unmapped = latest.unmapped.clone();
        // Fields of earlier versions whose value the latest does not have: named
        // "Earlier version: <field>" (the same name in every unit, for the preview), the
        // version in the value.
        for v in &earlier {
            let mut keep = |what: &str, value: &str| {
                if !value.is_empty() {
                    unmapped.push(Field {
                        name: format!("Earlier version: {what}"),
                        value: format!("version {} ({}): {value}", v.number, v.local_id),
                    });
                }
            };
            for f in &v.unmapped {
                if matches!(
                    f.name.as_str(),
                    "Martus status" | "Martus version" | "Last saved in Martus"
                ) {
                    continue;
                }
                if !latest.unmapped.contains(f) {
                    keep(&f.name, &f.value);
                }
            }
            // What an earlier version had where the latest has no record to keep it
            // as history.
            if latest.incident.is_none() {
                if let Some(i) = &v.incident {
                    let when = match (i.start, i.end) {
                        (Some(s), Some(e)) => format!("{} – {}", s.date, e.date),
                        (Some(s), None) => s.date.to_string(),
                        (None, Some(e)) => format!("unknown – {}", e.date),
                        (None, None) => String::new(),
                    };
                    let place = i.location.as_ref().map_or("", |l| l.place.as_str());
                    keep("Event date (eventdate)", &when);
                    keep("Location (location)", place);
                    keep("Details (publicinfo)", &i.description);
                }
            }
            if latest.details.is_none() {
                if let Some(d) = &v.details {
                    keep("Details (publicinfo)", d);
                }
            }
            if latest.private.is_none() {
                if let Some(p) = &v.private {
                    keep("Private: Private details (privateinfo)", p);
                }
            }
        }
        let present: HashSet<&str> = earlier.iter().map(|v| v.local_id.as_str()).collect();
        let absent: Vec<&str> = latest
            .history
            .iter()
            .map(String::as_str)
            .filter(|h| !present.contains(h))
            .collect();
        if !earlier.is_empty() {
            unmapped.push(Field {
                name: "Earlier versions in the export".into(),
                value: earlier
                    .iter()
                    .map(|v| format!("version {}: {}", v.number, v.local_id))
                    .collect::<Vec<_>>()
                    .join("\n"),
            });
        }
        if !absent.is_empty() {
            unmapped.push(Field {
                name: "Earlier versions (local ids; not in this export)".into(),
                value: absent.join("\n"),
            });
        }
        if !latest.extended.is_empty() {
            unmapped.push(Field {
                name: "Earlier versions by other accounts".into(),
                value: latest
                    .extended
                    .iter()
                    .map(|(author, ids)| format!("account {author}: {}", ids.join(", ")))
                    .collect::<Vec<_>>()
                    .join("\n"),
            });
        }
        if self.export.public_only {
            unmapped.push(Field {
                name: "Martus export".into(),
                value: "public data only: the private section was not exported".into(),
            });
        }
        if self.export.no_attachments {
            unmapped.push(Field {
                name: "Martus export attachments".into(),
                value: "not exported: the export was made without attachments".into(),
            });
        }

        // Files: the latest version's, then those of earlier versions.
        let mut files = Vec::new();
        let mut keys = HashSet::new();
        let all = std::iter::once(&latest).chain(earlier.iter());
        for v in all {
            let is_latest = v.local_id == latest.local_id;
            for (name, private, path) in &v.files {
                let section = if *private { "private" } else { "public" };
                let base = format!("{prefix}/file/{}/{section}/{name}", v.local_id);
                let mut key = base.clone();
                let mut n = 1;
                while !keys.insert(key.clone()) {
                    n += 1;
                    key = format!("{base}#{n}");
                }
                let mut description = format!("Martus {section} attachment");
                if !is_latest {
                    description.push_str(&format!(" (version {})", v.number));
                }
                let mut metadata = vec![
                    Field {
                        name: "Martus section".into(),
                        value: section.into(),
                    },
                    Field {
                        name: "Martus bulletin".into(),
                        value: v.uid.clone(),
                    },
                ];
                if !is_latest {
                    metadata.push(Field {
                        name: "Martus version".into(),
                        value: v.number.to_string(),
                    });
                }
                files.push(FileItem {
                    id: Tool::Martus.id(&key),
                    case_id,
                    attached_to: Vec::new(),
                    description,
                    source: FileSource::Path(path.clone()),
                    name: attachment_name(name).unwrap_or(name).to_string(),
                    sha256: None,
                    size: None,
                    original_id: name.clone(),
                    created: None,
                    metadata,
                });
            }
        }

        Unit {
            original_id: latest.uid.clone(),
            at: latest.at.clone(),
            records,
            files,
            unmapped,
        }
    }
}

/// The name of the element `up` levels above the last of `stack` (0: the last).
fn parent_name(stack: &[(String, u64)], up: usize) -> &str {
    stack
        .len()
        .checked_sub(1 + up)
        .and_then(|i| stack.get(i))
        .map_or("", |(n, _)| n.as_str())
}

fn attr(e: &BytesStart, name: &str) -> String {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == name)
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        })
        .unwrap_or_default()
}

/// The line of byte `pos` of the file (read again, a block at a time).
fn line_at(path: &Path, pos: u64) -> u64 {
    let Ok(f) = File::open(path) else {
        return 0;
    };
    let mut r = BufReader::new(f).take(pos);
    let mut block = [0u8; 64 * 1024];
    let mut lines = 1;
    while let Ok(n) = r.read(&mut block) {
        if n == 0 {
            break;
        }
        lines += count_newlines(&block[..n]);
    }
    lines
}

/// An attachment's file name: the last part of what the export names (Martus writes
/// a bare name; files made for its importer may hold a full path).
fn attachment_name(name: &str) -> Option<&str> {
    let last = name.rsplit(['/', '\\']).next()?.trim();
    (!last.is_empty() && last != "." && last != "..").then_some(last)
}

/// A Martus date value read.
struct MartusDate {
    start: Option<FuzzyDate>,
    end: Option<FuzzyDate>,
    open_end: bool,
    placeholder: bool,
    display: String,
}

/// Reads `Simple:<date>`, `Range:<begin>,<end>`, or a stored date
/// (`<date>` or `<date>,<yyyymmdd>+<days>`); `0001-01-01` is Martus's unknown date.
fn parse_date(raw: &str) -> Result<MartusDate, String> {
    let raw = raw.trim();
    let none = MartusDate {
        start: None,
        end: None,
        open_end: false,
        placeholder: false,
        display: String::new(),
    };
    let one = |s: &str| -> Result<Option<FuzzyDate>, String> {
        let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
            format!(
                "\"{raw}\" is not a Martus date (Simple:yyyy-mm-dd or Range:yyyy-mm-dd,yyyy-mm-dd)"
            )
        })?;
        if s.trim().len() != 10 {
            return Err(format!(
                "\"{raw}\" is not a Martus date (Simple:yyyy-mm-dd or Range:yyyy-mm-dd,yyyy-mm-dd)"
            ));
        }
        Ok((d.format("%Y").to_string() != "0001").then_some(FuzzyDate {
            date: d,
            precision: Precision::Day,
        }))
    };
    let show = |d: Option<FuzzyDate>| d.map_or("unknown".to_string(), |d| d.date.to_string());
    if let Some(rest) = raw.strip_prefix("Simple:") {
        if rest.trim().is_empty() {
            return Ok(none);
        }
        let d = one(rest)?;
        return Ok(MartusDate {
            start: d,
            end: None,
            open_end: false,
            placeholder: false,
            display: show(d),
        });
    }
    if let Some(rest) = raw.strip_prefix("Range:") {
        let Some((b, e)) = rest.split_once(',') else {
            return Err(format!(
                "\"{raw}\" is not a Martus date range (Range:yyyy-mm-dd,yyyy-mm-dd)"
            ));
        };
        let (start, end) = (one(b)?, one(e)?);
        let placeholder = b.trim() == "1900-01-01" && e.trim() == "1900-01-01";
        let display = if start == end {
            show(start)
        } else {
            format!("{} – {}", show(start), show(end))
        };
        return Ok(MartusDate {
            start,
            end,
            open_end: end.is_none(),
            placeholder,
            display,
        });
    }
    if raw.is_empty() {
        return Ok(none);
    }
    // The stored form: `1989-12-01` or `1989-12-01,19891201+300`.
    match raw.split_once(',') {
        None => {
            let d = one(raw)?;
            Ok(MartusDate {
                start: d,
                end: None,
                open_end: false,
                placeholder: false,
                display: show(d),
            })
        }
        Some((b, flex)) => {
            let start = one(b)?;
            let days = flex
                .split_once('+')
                .and_then(|(_, n)| n.trim().parse::<i64>().ok())
                .ok_or_else(|| format!("\"{raw}\" is not a Martus date range"))?;
            if days == 999_999 {
                return Ok(MartusDate {
                    start,
                    end: None,
                    open_end: true,
                    placeholder: false,
                    display: format!("{} – unknown", show(start)),
                });
            }
            let end = start.and_then(|s| {
                s.date
                    .checked_add_signed(chrono::Duration::days(days))
                    .map(|date| FuzzyDate {
                        date,
                        precision: Precision::Day,
                    })
            });
            Ok(MartusDate {
                start,
                end,
                open_end: false,
                placeholder: false,
                display: format!("{} – {}", show(start), show(end)),
            })
        }
    }
}

fn boolean(v: &str) -> String {
    match v.trim() {
        "1" | "true" => "yes".into(),
        "0" | "false" => "no".into(),
        other => other.to_string(),
    }
}

/// A dropdown's value, with its label when it is a code of a reusable choices list.
fn choice(
    spec: Option<&Spec>,
    v: &str,
    reusable: &HashMap<String, Vec<(String, String)>>,
) -> String {
    let v = v.trim();
    let lists: Vec<&Vec<(String, String)>> = match spec {
        Some(s) if !s.reusable.is_empty() => {
            s.reusable.iter().filter_map(|c| reusable.get(c)).collect()
        }
        _ => Vec::new(),
    };
    for list in lists {
        if let Some((code, label)) = list.iter().find(|(c, _)| c == v) {
            if label != code && !label.is_empty() {
                return format!("{label} ({code})");
            }
        }
    }
    v.to_string()
}

/// A grid's rows, one line each: `Label: value; Label: value`, empty cells left out.
fn grid_lines(
    spec: &Spec,
    rows: &[Vec<String>],
    reusable: &HashMap<String, Vec<(String, String)>>,
) -> Vec<String> {
    rows.iter()
        .filter_map(|row| {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .filter(|(_, c)| !c.trim().is_empty())
                .map(|(i, c)| {
                    let col = spec.columns.get(i);
                    let label = col
                        .map(|c| c.label.trim())
                        .filter(|l| !l.is_empty())
                        .map_or_else(|| format!("column {}", i + 1), String::from);
                    let kind = col.map_or("", |c| c.kind.as_str());
                    let value = match kind {
                        "BOOLEAN" => boolean(c),
                        "DATE" | "DATERANGE" => match parse_date(c) {
                            Ok(d) if !d.display.is_empty() => d.display,
                            _ => c.trim().to_string(),
                        },
                        "DROPDOWN" => choice(col, c, reusable),
                        _ => c.trim().to_string(),
                    };
                    format!("{label}: {value}")
                })
                .collect();
            (!cells.is_empty()).then(|| cells.join("; "))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_every_form_martus_writes() {
        let d = parse_date("Simple:2005-11-01").unwrap();
        assert_eq!(d.start.unwrap().date.to_string(), "2005-11-01");
        assert!(d.end.is_none());
        let d = parse_date("Range:1970-01-01,1970-01-02").unwrap();
        assert_eq!(d.end.unwrap().date.to_string(), "1970-01-02");
        let d = parse_date("Range:2014-06-01,0001-01-01").unwrap();
        assert!(d.open_end && d.start.is_some() && d.end.is_none());
        let d = parse_date("1989-12-01,19891201+30").unwrap();
        assert_eq!(d.end.unwrap().date.to_string(), "1989-12-31");
        assert!(parse_date("Simple:").unwrap().start.is_none());
        assert!(
            parse_date("Range:1900-01-01,1900-01-01")
                .unwrap()
                .placeholder
        );
        assert!(parse_date("Simple:2005-13-01").is_err());
        assert!(parse_date("Simple:20060504").is_err());
        assert!(parse_date("yesterday").is_err());
        assert!(parse_date("Range:2005-01-01").is_err());
    }

    #[test]
    fn attachment_names_lose_their_folders() {
        assert_eq!(attachment_name("a.txt"), Some("a.txt"));
        assert_eq!(
            attachment_name("C:\\xmltest\\Attachment 5.txt"),
            Some("Attachment 5.txt")
        );
        assert_eq!(attachment_name("../"), None);
        assert_eq!(attachment_name(".."), None);
    }
}
