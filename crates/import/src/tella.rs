//! Reading files exported from Tella's vault, with their verification information.
//!
//! What Tella writes (Tella Android `MediaFileHandler.exportMediaFile` and
//! `maybeCreateMetadataMediaFile`, `PublicMetadataMapper.transformToMap`):
//!
//! - each exported file under its vault name (or, when no folder was picked, under its
//!   vault id and extension), a clash renamed `name (1).ext`;
//! - when the user exports "with verification information", beside it a CSV named after
//!   the file without its extension (`IMG_0001.jpg` → `IMG_0001.csv`): one header line
//!   and one value line, joined with commas and never quoted (commas inside values are
//!   replaced by spaces), each line ended by a newline. Columns: `File hash` (SHA-256,
//!   upper-case hex), `File path`, `File name`, then where known `Cells`, `WiFis`,
//!   `Timestamp` (capture time, milliseconds since 1970 UTC), `Ambient temperature`,
//!   `Light`, the `Location …` columns (accuracy, altitude, latitude, longitude,
//!   timestamp, provider, speed), `Locale`, `IPv6`, `IPv4`, `Language`, `Network type`,
//!   `Network`, `Manufacturer`, `Data type`, `Hardware`, `Screen size`, `WiFi MAC`,
//!   `Device ID`.
//!
//! Tella iOS exports files alone; Tella Desktop exports a folder as `<folder>.zip`
//! holding its files. All three are read here: PATH is a folder of exported files or a
//! zip of one.
//!
//! The mapping: one unit per exported file, in name order. The export is one case,
//! "Tella export <folder>", carried by the first unit; later units carry only their
//! file, whose `case_id` is that case. A file's metadata CSV gives the file its stated
//! hash (checked by the engine), its capture time, its original name, and every other
//! column as file metadata. Memory: the reader keeps the list of the export's file names
//! (sorted, to pair files with their metadata: some hundred bytes a file) and one
//! metadata file at a time; it never reads an exported file's content.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use custos_model::{Case, Record};

use crate::{Field, FileItem, FileSource, Item, Problem, Sink, Stopped, Tool, Unit};

/// How every metadata file Tella writes begins (its first column; then `File path`,
/// `File name`).
const HEADER_START: &str = "File hash";
/// A metadata file is two short lines; anything bigger is not one.
const META_LIMIT: u64 = 1 << 20;

/// Reads the export at `path` (a folder of exported files, or a zip of them) into units.
pub fn read(path: &Path, sink: &mut dyn Sink) -> Result<(), Stopped> {
    let mut export = match Export::open(path) {
        Ok(e) => e,
        Err(message) => {
            sink.problem(Problem::new(path.display().to_string(), message));
            return Ok(());
        }
    };
    for (at, message) in std::mem::take(&mut export.listing_problems) {
        sink.problem(Problem::new(at, message));
    }
    if export.entries.is_empty() {
        sink.problem(Problem::new(
            path.display().to_string(),
            "the export holds no files",
        ));
        return Ok(());
    }
    let total: u64 = export.entries.iter().map(|e| e.size).sum();
    sink.progress(0, total);

    // Pass 1: find the metadata files, check them, and pair each with its file.
    let mut done = 0u64;
    for i in 0..export.entries.len() {
        let entry = export.entries[i].clone();
        if !entry.name.to_ascii_lowercase().ends_with(".csv") {
            continue;
        }
        let bytes = match export.head(&entry) {
            Ok(Some(b)) => b,
            Ok(None) => continue,
            Err(message) => {
                export.entries[i].meta = true;
                sink.problem(Problem::new(entry.name.clone(), message));
                continue;
            }
        };
        export.entries[i].meta = true;
        done += entry.size;
        let meta = Meta::parse(&entry.name, &bytes);
        for p in &meta.problems {
            sink.problem(p.clone());
        }
        let Some(file_name) = meta.value("File name").filter(|v| !v.trim().is_empty()) else {
            if meta.problems.is_empty() {
                sink.problem(Problem::new(
                    format!("{} line 2", entry.name),
                    "has no File name: which file it describes is unknown",
                ));
            }
            continue;
        };
        match pair(&entry.name, file_name, &export.entries) {
            Some(target) => match export.entries[target].described_by {
                Some(other) => sink.problem(Problem::new(
                    format!("{} line 2", entry.name),
                    format!(
                        "describes {}, which {} already describes",
                        export.entries[target].name, export.entries[other].name
                    ),
                )),
                None => export.entries[target].described_by = Some(i),
            },
            None => sink.problem(Problem::new(
                format!("{} line 2", entry.name),
                format!("names the file {file_name}, which is not in the export"),
            )),
        }
    }
    sink.progress(done, total);

    // Pass 2: one unit per exported file, in name order.
    let folder = export.folder.clone();
    let case_id = Tool::Tella.id(&format!("export/{folder}/case"));
    let mut case_given = false;
    for i in 0..export.entries.len() {
        let entry = export.entries[i].clone();
        if entry.meta {
            if let Some(m) = entry.described_by {
                sink.problem(Problem::new(
                    format!("{} line 2", export.entries[m].name),
                    format!("names {}, which is itself a metadata file", entry.name),
                ));
            }
            continue;
        }
        let mut at = entry.name.clone();
        let mut file = FileItem {
            id: Tool::Tella.id(&format!("export/{folder}/file/{}", entry.name)),
            case_id,
            attached_to: Vec::new(),
            description: "File exported from Tella".into(),
            source: export.source(&entry),
            name: base_name(&entry.name).to_string(),
            sha256: None,
            size: None,
            original_id: base_name(&entry.name).to_string(),
            created: None,
            metadata: Vec::new(),
        };
        if let Some(m) = entry.described_by {
            let meta_entry = export.entries[m].clone();
            at = format!("{} ({})", entry.name, meta_entry.name);
            // Checked in pass 1, where its problems were reported.
            match export.head(&meta_entry) {
                Ok(Some(bytes)) => {
                    let meta = Meta::parse(&meta_entry.name, &bytes);
                    apply(&meta, &meta_entry.name, &mut file);
                }
                Ok(None) | Err(_) => sink.problem(Problem::new(
                    meta_entry.name.clone(),
                    "changed while the export was read: it is no longer a readable \
                     metadata file",
                )),
            }
        }
        let mut records = Vec::new();
        if !case_given {
            records.push(Item {
                id: case_id,
                record: Record::Case(Case {
                    title: format!("Tella export {folder}"),
                    summary: format!(
                        "Files exported from Tella's vault (export \"{folder}\"), each with \
                         the verification information the export carries."
                    ),
                    tags: vec!["tella".into()],
                    ..Case::default()
                }),
                earlier: Vec::new(),
            });
            case_given = true;
        }
        done += entry.size;
        sink.unit(Unit {
            original_id: file.original_id.clone(),
            at,
            records,
            files: vec![file],
            unmapped: Vec::new(),
        })?;
        sink.progress(done, total);
    }
    if !case_given {
        sink.problem(Problem::new(
            path.display().to_string(),
            "the export holds metadata files but none of the files they describe",
        ));
    }
    Ok(())
}

/// The exported file a metadata file describes: `<its own stem><the named file's
/// extension>` beside it (Tella renames both the same way on a clash), else the named
/// file beside it.
fn pair(meta_name: &str, file_name: &str, entries: &[Entry]) -> Option<usize> {
    let (dir, meta_base) = split_dir(meta_name);
    let stem = &meta_base[..meta_base.len().saturating_sub(4)];
    let ext = file_name.rfind('.').map(|i| &file_name[i..]).unwrap_or("");
    [format!("{dir}{stem}{ext}"), format!("{dir}{file_name}")]
        .into_iter()
        .filter(|name| name != meta_name)
        .find_map(|name| {
            entries
                .binary_search_by(|e| e.name.as_str().cmp(&name))
                .ok()
        })
}

/// Fills a file's hash, time, original name and metadata from its metadata file.
fn apply(meta: &Meta, meta_name: &str, file: &mut FileItem) {
    file.description = "File exported from Tella with its verification information".into();
    file.metadata.push(Field {
        name: "Tella metadata file".into(),
        value: meta_name.to_string(),
    });
    for (name, value) in meta.header.iter().zip(meta.values.iter()) {
        let value = value.trim();
        match name.as_str() {
            "File hash" => {
                if is_sha256(value) {
                    file.sha256 = Some(value.to_ascii_lowercase());
                }
                continue;
            }
            "File name" if !value.is_empty() => file.original_id = value.to_string(),
            "Timestamp" => file.created = millis(value),
            _ => {}
        }
        if value.is_empty() {
            continue;
        }
        let shown = match name.as_str() {
            "Timestamp" | "Location timestamp" => match millis(value) {
                Some(t) => format!("{} ({value})", t.to_rfc3339()),
                None => value.to_string(),
            },
            _ => value.to_string(),
        };
        file.metadata.push(Field {
            name: name.clone(),
            value: shown,
        });
    }
}

/// A time Tella wrote as milliseconds since 1970 (UTC); 0 and -1 mean unknown.
fn millis(value: &str) -> Option<DateTime<Utc>> {
    let ms: i64 = value.trim().parse().ok()?;
    if ms <= 0 {
        return None;
    }
    DateTime::from_timestamp_millis(ms)
}

fn is_sha256(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `a/b/c.jpg` → (`a/b/`, `c.jpg`).
fn split_dir(name: &str) -> (&str, &str) {
    match name.rfind('/') {
        Some(i) => (&name[..=i], &name[i + 1..]),
        None => ("", name),
    }
}

fn base_name(name: &str) -> &str {
    split_dir(name).1
}

/// One metadata file read: its columns, its values, what is wrong with it.
struct Meta {
    header: Vec<String>,
    values: Vec<String>,
    problems: Vec<Problem>,
}

impl Meta {
    /// Reads a metadata file the way Tella writes it: a header line and a value line,
    /// comma-separated, unquoted, each ended by a newline.
    fn parse(name: &str, bytes: &[u8]) -> Meta {
        let mut meta = Meta {
            header: Vec::new(),
            values: Vec::new(),
            problems: Vec::new(),
        };
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let line = bytes[..e.valid_up_to()]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
                    + 1;
                meta.problems.push(Problem::new(
                    format!("{name} line {line}"),
                    "is not UTF-8 text",
                ));
                return meta;
            }
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let lines: Vec<&str> = text.split('\n').collect();
        let line = |i: usize| lines.get(i).map(|l| l.strip_suffix('\r').unwrap_or(l));
        meta.header = line(0)
            .unwrap_or("")
            .split(',')
            .map(|s| s.trim().to_string())
            .collect();
        match line(1) {
            None | Some("") => {
                meta.problems.push(Problem::new(
                    format!("{name} line 2"),
                    "the line of values is missing: the metadata file is truncated",
                ));
                return meta;
            }
            Some(values) => {
                meta.values = values.split(',').map(str::to_string).collect();
            }
        }
        if lines.len() == 2 {
            meta.problems.push(Problem::new(
                format!("{name} line 2"),
                "ends in the middle of its line of values: the metadata file is truncated",
            ));
        }
        for (i, extra) in lines.iter().enumerate().skip(2) {
            if !extra.trim().is_empty() {
                meta.problems.push(Problem::new(
                    format!("{name} line {}", i + 1),
                    "a line after the line of values: Tella writes one file's metadata, \
                     two lines",
                ));
            }
        }
        if meta.values.len() != meta.header.len() {
            meta.problems.push(Problem::new(
                format!("{name} line 2"),
                format!(
                    "{} values for {} columns",
                    meta.values.len(),
                    meta.header.len()
                ),
            ));
        }
        meta.check(name);
        meta
    }

    fn value(&self, column: &str) -> Option<&str> {
        let i = self.header.iter().position(|h| h == column)?;
        self.values.get(i).map(String::as_str)
    }

    /// Checks the values whose form Tella fixes.
    fn check(&mut self, name: &str) {
        let at = format!("{name} line 2");
        let mut problems = Vec::new();
        for (column, value) in self.header.iter().zip(self.values.iter()) {
            let value = value.trim();
            let wrong = |what: &str| {
                Problem::new(
                    at.clone(),
                    format!("column {column}: \"{value}\" is not {what}"),
                )
            };
            match column.as_str() {
                "File hash" if !value.is_empty() && !is_sha256(value) => {
                    problems.push(wrong("a SHA-256 hash (64 hexadecimal digits)"))
                }
                "Timestamp" | "Location timestamp"
                    if !value.is_empty() && value.parse::<i64>().is_err() =>
                {
                    problems.push(wrong("a time in milliseconds"))
                }
                "Location latitude" | "Location longitude" if !value.is_empty() => {
                    let limit = if column == "Location latitude" {
                        90.0
                    } else {
                        180.0
                    };
                    match value.parse::<f64>() {
                        Ok(v) if v.is_finite() && v.abs() <= limit => {}
                        _ => problems.push(wrong("a coordinate in degrees")),
                    }
                }
                "Location accuracy"
                | "Location altitude"
                | "Location speed"
                | "Ambient temperature"
                | "Light"
                    if !value.is_empty() && value.parse::<f64>().is_err() =>
                {
                    problems.push(wrong("a number"))
                }
                _ => {}
            }
        }
        if self.value("File hash").is_some_and(|v| v.trim().is_empty()) {
            problems.push(Problem::new(
                at.clone(),
                "column File hash is empty: the file's hash cannot be checked",
            ));
        }
        self.problems.extend(problems);
    }
}

/// One file of the export.
#[derive(Debug, Clone)]
struct Entry {
    /// Its path in the export, `/`-separated.
    name: String,
    size: u64,
    /// Whether it is a metadata file (found in the first pass).
    meta: bool,
    /// Its metadata file, by index (found in the first pass).
    described_by: Option<usize>,
}

enum Store {
    Dir(PathBuf),
    Zip(PathBuf, zip::ZipArchive<File>),
}

/// An export opened: where its files are and their names, in order.
struct Export {
    store: Store,
    /// The export's name (its folder's, or its zip's without `.zip`).
    folder: String,
    entries: Vec<Entry>,
    listing_problems: Vec<(String, String)>,
}

impl Export {
    fn open(path: &Path) -> Result<Export, String> {
        let md = std::fs::metadata(path).map_err(|e| format!("cannot be read: {e}"))?;
        let full = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if md.is_dir() {
            let folder = full
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "export".into());
            let mut export = Export {
                store: Store::Dir(path.to_path_buf()),
                folder,
                entries: Vec::new(),
                listing_problems: Vec::new(),
            };
            export.walk(path, "");
            export.entries.sort_by(|a, b| a.name.cmp(&b.name));
            return Ok(export);
        }
        let file = File::open(path).map_err(|e| format!("cannot be read: {e}"))?;
        let mut archive = zip::ZipArchive::new(file).map_err(|e| {
            format!(
                "is neither a folder of files exported from Tella nor a readable zip of one \
                 ({e}); a truncated zip cannot be read"
            )
        })?;
        let folder = full
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "export".into());
        let mut entries = Vec::new();
        let mut listing_problems = Vec::new();
        for i in 0..archive.len() {
            match archive.by_index_raw(i) {
                Ok(f) => {
                    if f.is_dir() {
                        continue;
                    }
                    let name = match f.name() {
                        Ok(n) => n.into_owned(),
                        Err(e) => {
                            listing_problems.push((
                                format!("zip entry {}", i + 1),
                                format!("has a name that cannot be read: {e}"),
                            ));
                            continue;
                        }
                    };
                    if skipped(&name) {
                        continue;
                    }
                    entries.push(Entry {
                        name,
                        size: f.size(),
                        meta: false,
                        described_by: None,
                    });
                }
                Err(e) => listing_problems.push((
                    format!("zip entry {}", i + 1),
                    format!("cannot be read: {e}"),
                )),
            }
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        for w in entries.windows(2) {
            if w[0].name == w[1].name {
                listing_problems.push((
                    w[1].name.clone(),
                    "the zip holds two entries of this name".into(),
                ));
            }
        }
        entries.dedup_by(|a, b| a.name == b.name);
        Ok(Export {
            store: Store::Zip(path.to_path_buf(), archive),
            folder,
            entries,
            listing_problems,
        })
    }

    /// Lists a folder's files, its subfolders' too.
    fn walk(&mut self, dir: &Path, prefix: &str) {
        let rd = match std::fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) => {
                self.listing_problems
                    .push((dir.display().to_string(), format!("cannot be read: {e}")));
                return;
            }
        };
        for de in rd {
            let de = match de {
                Ok(de) => de,
                Err(e) => {
                    self.listing_problems
                        .push((dir.display().to_string(), format!("cannot be listed: {e}")));
                    continue;
                }
            };
            let name = de.file_name().to_string_lossy().into_owned();
            let rel = format!("{prefix}{name}");
            if skipped(&rel) {
                continue;
            }
            let path = de.path();
            let is_link = de.file_type().map(|t| t.is_symlink()).unwrap_or(false);
            match std::fs::metadata(&path) {
                Ok(md) if md.is_dir() && is_link => self.listing_problems.push((
                    rel,
                    "is a link to a folder: copy the folder into the export instead".into(),
                )),
                Ok(md) if md.is_dir() => self.walk(&path, &format!("{rel}/")),
                Ok(md) => self.entries.push(Entry {
                    name: rel,
                    size: md.len(),
                    meta: false,
                    described_by: None,
                }),
                Err(e) => self
                    .listing_problems
                    .push((rel, format!("cannot be read: {e}"))),
            }
        }
    }

    fn source(&self, entry: &Entry) -> FileSource {
        match &self.store {
            Store::Dir(root) => FileSource::Path(root.join(&entry.name)),
            Store::Zip(archive, _) => FileSource::Zip {
                archive: archive.clone(),
                entry: entry.name.clone(),
            },
        }
    }

    /// The content of a metadata file: `None` if the entry is not one (a CSV document
    /// exported from the vault is a file like any other).
    fn head(&mut self, entry: &Entry) -> Result<Option<Vec<u8>>, String> {
        let mut bytes = Vec::new();
        let result = match &mut self.store {
            Store::Dir(root) => File::open(root.join(&entry.name))
                .and_then(|f| f.take(META_LIMIT + 1).read_to_end(&mut bytes)),
            Store::Zip(_, archive) => match archive.by_name(&entry.name) {
                Ok(f) => f.take(META_LIMIT + 1).read_to_end(&mut bytes),
                Err(e) => return Err(format!("cannot be read from the zip: {e}")),
            },
        };
        if let Err(e) = result {
            // What was read may still show it is a metadata file: say so either way.
            if bytes.starts_with(HEADER_START.as_bytes()) || bytes.is_empty() {
                return Err(format!("cannot be read: {e}"));
            }
            return Ok(None);
        }
        let text = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&bytes);
        if !text.starts_with(HEADER_START.as_bytes()) {
            return Ok(None);
        }
        if bytes.len() as u64 > META_LIMIT {
            return Err(format!(
                "starts like a Tella metadata file but is bigger than {META_LIMIT} bytes"
            ));
        }
        Ok(Some(bytes))
    }
}

/// Files the operating system adds to folders and zips, not part of any export.
fn skipped(name: &str) -> bool {
    let base = base_name(name);
    name.starts_with("__MACOSX/") || base == ".DS_Store" || base == "Thumbs.db"
}
