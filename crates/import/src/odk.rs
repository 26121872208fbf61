//! Reading an ODK export: a Briefcase CSV export (a folder with `<form>.csv`, one
//! `<form>-<repeat>.csv` a repeat group and a `media/` folder) or ODK Central's zip of
//! the same (`<form>.csv`, `<form>-<repeat>.csv`, `media/…`).
//!
//! One submission (a row of the main CSV) is one [`Unit`]: a case, an incident when the
//! form has a date or a place, persons from repeat groups named for persons (victims,
//! witnesses, perpetrators …), the media files its cells name, and every other non-empty
//! cell kept as an unmapped field under its column path. ODK forms are free-form, so
//! columns are mapped by well-known names only.
//!
//! Memory: the main CSV is streamed row by row, and each repeat file beside it. Both
//! exporters write repeat rows in the order of the main file (Central while it streams
//! each submission, Briefcase sorting both by submission date), so a repeat file is
//! first checked to be in that order (both files read once, nothing kept) and then read
//! straight through beside the main file, at constant memory. A repeat file out of that
//! order (edited by hand, or with rows of no submission) is indexed instead: one pass
//! keeps, for each submission, where its runs of rows start (byte offset, line, count —
//! never the rows), and the rows are read by seeking there. A zip entry cannot seek: if
//! its rows come before their submission's place, that is a problem (unzip the export
//! and import the folder).

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use csv::{Position, StringRecord};
use custos_model::{
    Case, Consents, FuzzyDate, Incident, Involvement, Location, Person, Precision, Record, Role,
};
use zip::ZipArchive;

use crate::{Field, FileItem, FileSource, Item, Problem, Sink, Stopped, Tool, Unit};

/// Reads the export at `path` (the main CSV, a folder holding it, or Central's zip)
/// into units, one a submission.
pub fn read(path: &Path, sink: &mut dyn Sink) -> Result<(), Stopped> {
    let Some(export) = locate(path, sink) else {
        return Ok(());
    };
    Reader::new(export, sink).run()
}

// ---------------------------------------------------------------------------------
// Finding the files of an export.

/// Where the export's files are.
enum Place {
    /// A folder (Briefcase's export folder, or Central's zip unpacked).
    Dir(PathBuf),
    /// Central's zip.
    Zip(PathBuf),
}

/// The export: its place, its main CSV and its repeat CSVs (names relative to the
/// folder, or zip entry names).
struct Export {
    place: Place,
    main: String,
    repeats: Vec<String>,
}

impl Export {
    /// The form id: the main file's name without `.csv`.
    fn form_id(&self) -> &str {
        let base = self.main.rsplit('/').next().unwrap_or(&self.main);
        strip_csv(base).unwrap_or(base)
    }
}

fn strip_csv(name: &str) -> Option<&str> {
    let n = name.len();
    if n > 4 && name.is_char_boundary(n - 4) && name[n - 4..].eq_ignore_ascii_case(".csv") {
        Some(&name[..n - 4])
    } else {
        None
    }
}

fn is_zip(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
}

/// What a CSV's header says it is.
#[derive(PartialEq)]
enum CsvKind {
    /// A form's main file (a `KEY` column and no `PARENT_KEY`).
    Main,
    /// A repeat group's file (`PARENT_KEY` and `KEY`).
    Repeat,
    /// Neither.
    Other,
}

fn kind_of(header: &[String]) -> CsvKind {
    let has = |n: &str| header.iter().any(|h| h == n);
    match (has("KEY"), has("PARENT_KEY")) {
        (true, true) => CsvKind::Repeat,
        (true, false) => CsvKind::Main,
        _ => CsvKind::Other,
    }
}

/// The header of a CSV (its first record), the BOM taken off.
fn header_of<R: Read>(r: R) -> Option<Vec<String>> {
    let mut rdr = csv_reader(r);
    let mut rec = StringRecord::new();
    match rdr.read_record(&mut rec) {
        Ok(true) => Some(
            rec.iter()
                .enumerate()
                .map(|(i, h)| {
                    if i == 0 {
                        h.trim_start_matches('\u{feff}').to_string()
                    } else {
                        h.to_string()
                    }
                })
                .collect(),
        ),
        _ => None,
    }
}

fn csv_reader<R: Read>(r: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(r)
}

/// Finds the main CSV and its repeat CSVs, or says why not.
fn locate(path: &Path, sink: &mut dyn Sink) -> Option<Export> {
    let at = path.display().to_string();
    if !path.exists() {
        sink.problem(Problem::new(at, "no such file or folder"));
        return None;
    }
    if path.is_file() && is_zip(path) {
        return locate_zip(path, sink);
    }
    let (dir, main) = if path.is_dir() {
        (path.to_path_buf(), None)
    } else {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            sink.problem(Problem::new(at, "the file name is not readable text"));
            return None;
        };
        if strip_csv(name).is_none() {
            sink.problem(Problem::new(
                at,
                "not an ODK export: give the main CSV file, the folder holding it, or Central's zip",
            ));
            return None;
        }
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        (dir, Some(name.to_string()))
    };
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) => {
            sink.problem(Problem::new(dir.display().to_string(), e.to_string()));
            return None;
        }
    };
    let mut csvs: Vec<(String, CsvKind)> = Vec::new();
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if strip_csv(&name).is_none() || !entry.path().is_file() {
            continue;
        }
        let kind = File::open(entry.path())
            .ok()
            .and_then(header_of)
            .map(|h| kind_of(&h))
            .unwrap_or(CsvKind::Other);
        csvs.push((name, kind));
    }
    csvs.sort_by(|a, b| a.0.cmp(&b.0));
    let main = match main {
        Some(m) => m,
        None => {
            let mains: Vec<&String> = csvs
                .iter()
                .filter(|(_, k)| *k == CsvKind::Main)
                .map(|(n, _)| n)
                .collect();
            match mains.as_slice() {
                [one] => (*one).clone(),
                [] => {
                    sink.problem(Problem::new(
                        at,
                        "no main CSV of an ODK form here (a CSV with a KEY column and no PARENT_KEY)",
                    ));
                    return None;
                }
                many => {
                    let names: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
                    sink.problem(Problem::new(
                        at,
                        format!(
                            "several forms' CSVs here ({}): give the main CSV file of one",
                            names.join(", ")
                        ),
                    ));
                    return None;
                }
            }
        }
    };
    let repeats = repeats_of(&main, &csvs);
    Some(Export {
        place: Place::Dir(dir),
        main,
        repeats,
    })
}

/// The repeat files of a main file: `<form>-<repeat>.csv` with a repeat header.
fn repeats_of(main: &str, csvs: &[(String, CsvKind)]) -> Vec<String> {
    let stem = strip_csv(main).unwrap_or(main);
    let prefix = format!("{stem}-");
    csvs.iter()
        .filter(|(n, k)| *k == CsvKind::Repeat && n.starts_with(&prefix))
        .map(|(n, _)| n.clone())
        .collect()
}

fn open_zip(path: &Path) -> io::Result<ZipArchive<File>> {
    ZipArchive::new(File::open(path)?).map_err(io::Error::other)
}

fn locate_zip(path: &Path, sink: &mut dyn Sink) -> Option<Export> {
    let at = path.display().to_string();
    let mut zip = match open_zip(path) {
        Ok(z) => z,
        Err(e) => {
            sink.problem(Problem::new(at, format!("not a readable zip: {e}")));
            return None;
        }
    };
    let names: Vec<String> = zip
        .file_names()
        .filter_map(Result::ok)
        .map(|n| n.into_owned())
        .filter(|n| strip_csv(n).is_some() && !n.starts_with("media/") && !n.contains("/media/"))
        .collect();
    let mut csvs: Vec<(String, CsvKind)> = Vec::new();
    for name in names {
        let kind = match zip.by_name(&name) {
            Ok(f) => header_of(f).map(|h| kind_of(&h)).unwrap_or(CsvKind::Other),
            Err(_) => CsvKind::Other,
        };
        csvs.push((name, kind));
    }
    csvs.sort_by(|a, b| a.0.cmp(&b.0));
    let mains: Vec<&String> = csvs
        .iter()
        .filter(|(_, k)| *k == CsvKind::Main)
        .map(|(n, _)| n)
        .collect();
    let main = match mains.as_slice() {
        [one] => (*one).clone(),
        [] => {
            sink.problem(Problem::new(
                at,
                "the zip holds no main CSV of an ODK form (a CSV with a KEY column and no PARENT_KEY)",
            ));
            return None;
        }
        many => {
            let names: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
            sink.problem(Problem::new(
                at,
                format!("the zip holds several forms' CSVs ({})", names.join(", ")),
            ));
            return None;
        }
    };
    let repeats = repeats_of(&main, &csvs);
    Some(Export {
        place: Place::Zip(path.to_path_buf()),
        main,
        repeats,
    })
}

// ---------------------------------------------------------------------------------
// Reading CSVs: counting bytes and quotes (an odd count of quotes at the end is a
// truncated file), seeking where the file can.

/// A reader that counts the bytes and the double quotes going through it.
struct Counted<R> {
    inner: R,
    bytes: u64,
    quotes: u64,
    last: Option<u8>,
}

impl<R> Counted<R> {
    fn new(inner: R) -> Counted<R> {
        Counted {
            inner,
            bytes: 0,
            quotes: 0,
            last: None,
        }
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let got = &buf[..n];
        self.bytes += n as u64;
        self.quotes += got.iter().filter(|b| **b == b'"').count() as u64;
        if let Some(l) = got.last() {
            self.last = Some(*l);
        }
        Ok(n)
    }
}

impl<R: Seek> Seek for Counted<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// Rows of one CSV, from a file or a zip entry.
enum Rows<'a> {
    Disk(csv::Reader<Counted<File>>),
    Zip(csv::Reader<Counted<zip::read::ZipFile<'a, File>>>),
}

impl Rows<'_> {
    fn read(&mut self, rec: &mut StringRecord) -> csv::Result<bool> {
        match self {
            Rows::Disk(r) => r.read_record(rec),
            Rows::Zip(r) => r.read_record(rec),
        }
    }
    fn position(&self) -> Position {
        match self {
            Rows::Disk(r) => r.position().clone(),
            Rows::Zip(r) => r.position().clone(),
        }
    }
    /// Goes back to a position; false where the source cannot (a zip entry).
    fn seek(&mut self, pos: Position) -> bool {
        match self {
            Rows::Disk(r) => r.seek(pos).is_ok(),
            Rows::Zip(_) => false,
        }
    }
    fn counts(&self) -> (u64, u64, Option<u8>) {
        let c = match self {
            Rows::Disk(r) => (r.get_ref().bytes, r.get_ref().quotes, r.get_ref().last),
            Rows::Zip(r) => (r.get_ref().bytes, r.get_ref().quotes, r.get_ref().last),
        };
        c
    }
}

/// Opens the CSVs of an export and finds its media.
struct Opener {
    place: Place,
    /// Central's zip, kept open to look its entries up.
    zip: Option<ZipArchive<File>>,
    /// The folder of the main CSV inside the zip (`""` at its root, `"export/"` …).
    zip_dir: String,
}

impl Opener {
    fn new(place: Place, main: &str) -> io::Result<Opener> {
        let zip = match &place {
            Place::Zip(p) => Some(open_zip(p)?),
            Place::Dir(_) => None,
        };
        let zip_dir = match main.rfind('/') {
            Some(i) => main[..=i].to_string(),
            None => String::new(),
        };
        Ok(Opener {
            place,
            zip,
            zip_dir,
        })
    }

    /// A fresh archive for reading entries beside others (`None` for a folder).
    fn archive(&self) -> io::Result<Option<ZipArchive<File>>> {
        match &self.place {
            Place::Zip(p) => open_zip(p).map(Some),
            Place::Dir(_) => Ok(None),
        }
    }

    /// The size of a CSV, for progress.
    fn size(&self, name: &str) -> u64 {
        match &self.place {
            Place::Dir(d) => std::fs::metadata(d.join(name))
                .map(|m| m.len())
                .unwrap_or(0),
            Place::Zip(_) => self
                .zip
                .as_ref()
                .and_then(|z| z.index_for_name(name).map(|i| (z, i)))
                .and_then(|(z, i)| z.by_index_data(i).ok().map(|d| d.size()))
                .unwrap_or(0),
        }
    }

    /// Opens a CSV: from the folder, or from `archive` (one of [`Opener::archive`]).
    fn rows<'a>(
        &self,
        name: &str,
        archive: Option<&'a mut ZipArchive<File>>,
    ) -> io::Result<Rows<'a>> {
        match (&self.place, archive) {
            (Place::Dir(d), _) => Ok(Rows::Disk(csv_reader(Counted::new(File::open(
                d.join(name),
            )?)))),
            (Place::Zip(_), Some(z)) => {
                let f = z.by_name(name).map_err(io::Error::other)?;
                Ok(Rows::Zip(csv_reader(Counted::new(f))))
            }
            (Place::Zip(_), None) => Err(io::Error::other("the zip is not open")),
        }
    }

    /// Where a file a cell names is, if the export has it: `media/<name>` (or the
    /// cell's own relative path, as Briefcase writes `media/<name>`), or the
    /// submission's folder in Briefcase's storage, `instances/<instanceID without
    /// colons>/<name>` (where the files stay when Briefcase exports without media).
    fn media(&self, value: &str, instance: &str) -> Option<FileSource> {
        let rel = safe_relative(value)?;
        let bare = rel.strip_prefix("media/").unwrap_or(&rel);
        let mut candidates = vec![format!("media/{bare}"), rel.clone()];
        if let Some(dir) = safe_relative(&instance.replace(':', "")) {
            if !dir.contains('/') {
                candidates.push(format!("instances/{dir}/{bare}"));
            }
        }
        match &self.place {
            Place::Dir(d) => candidates
                .iter()
                .map(|c| d.join(c))
                .find(|p| p.is_file())
                .map(FileSource::Path),
            Place::Zip(p) => {
                let z = self.zip.as_ref()?;
                candidates
                    .iter()
                    .map(|c| format!("{}{c}", self.zip_dir))
                    .find(|c| z.index_for_name(c).is_some())
                    .map(|c| FileSource::Zip {
                        archive: p.clone(),
                        entry: c,
                    })
            }
        }
    }
}

/// A cell's value as a relative path inside the export (`/` separated), or `None`
/// when it leaves the export (absolute, `..`) or is not a plain name.
fn safe_relative(value: &str) -> Option<String> {
    let v = value.trim().replace('\\', "/");
    if v.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    for c in Path::new(&v).components() {
        match c {
            Component::Normal(p) => parts.push(p.to_str()?.to_string()),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if parts.is_empty() {
        None
    } else {
        Some(parts.join("/"))
    }
}

// ---------------------------------------------------------------------------------
// Columns and their meanings.

/// Metadata columns of the exporters: kept as unmapped fields, never mapped.
const META: [&str; 14] = [
    "SubmissionDate",
    "KEY",
    "meta-instanceID",
    "meta:instanceID",
    "SubmitterID",
    "SubmitterName",
    "AttachmentsPresent",
    "AttachmentsExpected",
    "Status",
    "ReviewState",
    "DeviceID",
    "Edits",
    "FormVersion",
    "isValidated",
];

/// A column's own name: the last part of its group path, lowercase.
fn leaf(col: &str) -> String {
    col.rsplit(['-', ':']).next().unwrap_or(col).to_lowercase()
}

fn leaf_in(col: &str, names: &[&str]) -> bool {
    let l = leaf(col);
    names.iter().any(|n| *n == l)
}

const TITLE: [&str; 9] = [
    "title",
    "case_title",
    "incident_title",
    "event_title",
    "name_of_event",
    "event_name",
    "case_name",
    "subject",
    "headline",
];
const SUMMARY: [&str; 9] = [
    "description",
    "summary",
    "narrative",
    "details",
    "incident_description",
    "event_description",
    "what_happened",
    "story",
    "account",
];
const DATE: [&str; 8] = [
    "date",
    "incident_date",
    "event_date",
    "date_of_incident",
    "date_of_event",
    "incident_datetime",
    "event_datetime",
    "when",
];
const PLACE: [&str; 10] = [
    "place",
    "place_name",
    "location_name",
    "location",
    "village",
    "town",
    "city",
    "locality",
    "address",
    "site",
];
const REGION: [&str; 6] = [
    "region",
    "province",
    "state",
    "district",
    "department",
    "county",
];
const COUNTRY: [&str; 3] = ["country", "country_code", "nation"];
const ACTS: [&str; 9] = [
    "act_type",
    "act_types",
    "acts",
    "violation",
    "violations",
    "violation_type",
    "violation_types",
    "type_of_violation",
    "abuse_type",
];

/// Column names of a file whose values are files.
fn media_column(col: &str) -> bool {
    let l = leaf(col);
    [
        "image",
        "photo",
        "picture",
        "audio",
        "video",
        "file",
        "signature",
        "attachment",
        "document",
        "recording",
        "media",
    ]
    .iter()
    .any(|m| l.contains(m))
}

/// Whether a value looks like a file name (`name.ext`, the extension with a letter).
fn looks_like_file(value: &str) -> bool {
    let v = value.trim();
    if v.contains('\n') || v.len() > 255 {
        return false;
    }
    match v.rsplit_once('.') {
        Some((stem, ext)) => {
            !stem.is_empty()
                && (1..=5).contains(&ext.len())
                && ext.chars().all(|c| c.is_ascii_alphanumeric())
                && ext.chars().any(|c| c.is_ascii_alphabetic())
        }
        None => false,
    }
}

/// The role a repeat group's name suggests for the persons in it, if it names persons:
/// `Some(None)` for persons without a stated role.
fn person_repeat(name: &str) -> Option<Option<Role>> {
    let n = name.to_lowercase();
    if n.contains("victim") || n.contains("survivor") {
        Some(Some(Role::Victim))
    } else if n.contains("witness") {
        Some(Some(Role::Witness))
    } else if n.contains("perpetrator") || n.contains("suspect") || n.contains("offender") {
        Some(Some(Role::Perpetrator))
    } else if n.contains("person") || n.contains("people") || n.contains("individual") {
        Some(None)
    } else {
        None
    }
}

/// The main file's columns, sorted by what they map to.
struct MainColumns {
    header: Vec<String>,
    key: usize,
    instance_id: Option<usize>,
    submission_date: Option<usize>,
    title: Option<usize>,
    summary: Option<usize>,
    date: Option<usize>,
    place: Option<usize>,
    region: Option<usize>,
    country: Option<usize>,
    /// Central's Status (set for encrypted submissions it could not decrypt).
    status: Option<usize>,
    /// Acts (a select-multiple of `act_types` codes, space-separated as ODK writes).
    acts: Option<usize>,
    /// The first geopoint: its latitude and longitude columns.
    geo: Option<(usize, usize)>,
}

fn first(header: &[String], pick: impl Fn(&str) -> bool) -> Option<usize> {
    header
        .iter()
        .position(|h| !META.contains(&h.as_str()) && pick(h))
}

impl MainColumns {
    fn new(header: Vec<String>) -> Option<MainColumns> {
        let key = header.iter().position(|h| h == "KEY")?;
        let find = |n: &str| header.iter().position(|h| h == n);
        let instance_id = find("meta-instanceID")
            .or_else(|| find("meta:instanceID"))
            .or_else(|| find("instanceID"));
        let geo = header.iter().enumerate().find_map(|(i, h)| {
            let base = h
                .strip_suffix("-Latitude")
                .or_else(|| h.strip_suffix(":Latitude"))?;
            let sep = &h[base.len()..base.len() + 1];
            let lon = header
                .iter()
                .position(|x| *x == format!("{base}{sep}Longitude"))?;
            Some((i, lon))
        });
        let is_geo = |h: &str| {
            ["Latitude", "Longitude", "Altitude", "Accuracy"]
                .iter()
                .any(|s| h.ends_with(&format!("-{s}")) || h.ends_with(&format!(":{s}")))
        };
        let date = first(&header, |h| {
            let l = leaf(h);
            !is_geo(h)
                && (leaf_in(h, &DATE)
                    || ((l.ends_with("_date") || l.starts_with("date_of_"))
                        && [
                            "incident",
                            "event",
                            "violation",
                            "attack",
                            "arrest",
                            "abuse",
                        ]
                        .iter()
                        .any(|w| l.contains(w))))
        });
        Some(MainColumns {
            key,
            instance_id,
            submission_date: find("SubmissionDate"),
            title: first(&header, |h| leaf_in(h, &TITLE)),
            summary: first(&header, |h| leaf_in(h, &SUMMARY)),
            date,
            place: first(&header, |h| !is_geo(h) && leaf_in(h, &PLACE)),
            region: first(&header, |h| leaf_in(h, &REGION)),
            country: first(&header, |h| leaf_in(h, &COUNTRY)),
            acts: first(&header, |h| leaf_in(h, &ACTS)),
            status: find("Status"),
            geo,
            header,
        })
    }
}

// ---------------------------------------------------------------------------------
// Dates and places.

/// A date as the exporters write it: ISO (`2018-04-26`, `2018-04-26T08:56:00.000Z`),
/// Briefcase's (`Apr 26, 2018`, `Apr 26, 2018 8:56:00 AM`), or a month or a year.
fn parse_date(value: &str) -> Option<FuzzyDate> {
    let v = value.trim();
    let day = |date| {
        Some(FuzzyDate {
            date,
            precision: Precision::Day,
        })
    };
    // A moment with its offset: the day where it happened, not in UTC.
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return day(t.date_naive());
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(v, f) {
            return day(t.date_naive());
        }
    }
    if let Some(dt) = parse_datetime(v) {
        return day(dt.date_naive());
    }
    for f in ["%Y-%m-%d", "%b %d, %Y", "%d/%m/%Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(v, f) {
            return day(d);
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(&format!("{v}-01"), "%Y-%m-%d") {
        return Some(FuzzyDate {
            date: d,
            precision: Precision::Month,
        });
    }
    if v.len() == 4 && v.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(d) = NaiveDate::parse_from_str(&format!("{v}-01-01"), "%Y-%m-%d") {
            return Some(FuzzyDate {
                date: d,
                precision: Precision::Year,
            });
        }
    }
    None
}

/// A moment as the exporters write it: ISO 8601 with an offset (Central, ODK XML), or
/// Briefcase's `Apr 26, 2018 8:56:00 AM` (in UTC).
fn parse_datetime(value: &str) -> Option<DateTime<Utc>> {
    let v = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Some(t.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(v, f) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for f in [
        "%b %d, %Y %I:%M:%S %p",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(v, f) {
            return Some(t.and_utc());
        }
    }
    None
}

fn parse_coord(value: &str, limit: f64) -> Option<f64> {
    let x: f64 = value.trim().parse().ok()?;
    (x.is_finite() && (-limit..=limit).contains(&x)).then_some(x)
}

// ---------------------------------------------------------------------------------
// The repeat files: indexed by submission, then read beside the main file.

/// A run of rows of a repeat file belonging to one submission.
struct Run {
    pos: Position,
    count: u64,
}

/// A repeat file: its name, header, and the runs of rows each submission has in it.
struct RepeatFile {
    name: String,
    /// The repeat group's name (`child` of `form-child.csv`).
    group: String,
    header: Vec<String>,
    parent_key: usize,
    key: usize,
    role: Option<Option<Role>>,
    /// Rows in the main file's order: read straight through beside it, no index.
    in_step: bool,
    /// In step: the row read but not yet claimed (it belongs to a later submission).
    pending: Option<(u64, StringRecord)>,
    /// In step: the line of the last row read, for a truncation problem.
    last_line: u64,
    /// Out of step: the runs of rows of each submission.
    runs: HashMap<String, Vec<Run>>,
}

/// The submission a repeat row belongs to: its PARENT_KEY up to the first `/` (the
/// submission's instanceID; nested groups add `/group[n]` parts).
fn root_of(parent_key: &str) -> &str {
    parent_key.split('/').next().unwrap_or(parent_key)
}

/// A problem for a CSV read error.
fn csv_problem(file: &str, e: &csv::Error) -> Problem {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    let what = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "a cell is not UTF-8 text".to_string(),
        _ => e.to_string(),
    };
    if line > 0 {
        Problem::new(format!("{file} line {line}"), what)
    } else {
        Problem::new(file.to_string(), what)
    }
}

/// After a whole file is read: an odd number of quotes means a quoted cell never ends
/// (the file is cut off).
fn truncation(file: &str, rows: &Rows<'_>, last_line: u64, sink: &mut dyn Sink) {
    let (_, quotes, _) = rows.counts();
    if quotes % 2 == 1 {
        sink.problem(Problem::new(
            format!("{file} line {last_line}"),
            "a quoted cell never ends: the file is cut off (truncated)",
        ));
    }
}

// ---------------------------------------------------------------------------------
// The reader.

struct Reader<'s> {
    export: Export,
    sink: &'s mut dyn Sink,
}

impl<'s> Reader<'s> {
    fn new(export: Export, sink: &'s mut dyn Sink) -> Reader<'s> {
        Reader { export, sink }
    }

    fn run(self) -> Result<(), Stopped> {
        let Reader { export, sink } = self;
        let opener = match Opener::new(
            match &export.place {
                Place::Dir(d) => Place::Dir(d.clone()),
                Place::Zip(p) => Place::Zip(p.clone()),
            },
            &export.main,
        ) {
            Ok(o) => o,
            Err(e) => {
                sink.problem(Problem::new(export.main.clone(), e.to_string()));
                return Ok(());
            }
        };
        let total: u64 =
            opener.size(&export.main) + export.repeats.iter().map(|r| opener.size(r)).sum::<u64>();
        // First: index the repeat files.
        let mut done = 0u64;
        let mut repeats = Vec::new();
        for name in &export.repeats {
            let step = in_step(&export, &opener, name);
            if let Some(r) = index_repeat(&export, &opener, name, !step, sink) {
                repeats.push(r);
            }
            done += opener.size(name);
            sink.progress(done, total);
        }
        // Then: the main file, with each submission's repeat rows.
        let mut main_zip = match opener.archive() {
            Ok(z) => z,
            Err(e) => {
                sink.problem(Problem::new(export.main.clone(), e.to_string()));
                return Ok(());
            }
        };
        let mut main = match opener.rows(&export.main, main_zip.as_mut()) {
            Ok(r) => r,
            Err(e) => {
                sink.problem(Problem::new(export.main.clone(), e.to_string()));
                return Ok(());
            }
        };
        let mut archives = Vec::new();
        for _ in &repeats {
            match opener.archive() {
                Ok(a) => archives.push(a),
                Err(e) => {
                    sink.problem(Problem::new(export.main.clone(), e.to_string()));
                    return Ok(());
                }
            }
        }
        let mut cursors = Vec::new();
        for (r, a) in repeats.iter().zip(archives.iter_mut()) {
            match opener.rows(&r.name, a.as_mut()) {
                Ok(mut rows) => {
                    if r.in_step {
                        // Past the header, which was read when the file was opened.
                        let _ = rows.read(&mut StringRecord::new());
                    }
                    cursors.push(Some(rows))
                }
                Err(e) => {
                    sink.problem(Problem::new(r.name.clone(), e.to_string()));
                    cursors.push(None);
                }
            }
        }
        let mut mapper = Mapper {
            export: &export,
            opener: &opener,
            repeats: &mut repeats,
            cursors,
        };
        mapper.main_pass(&mut main, sink, done, total)?;
        // In-step files: rows left after the last submission belong to none.
        for (rf, cursor) in mapper.repeats.iter_mut().zip(mapper.cursors.iter_mut()) {
            let Some(cursor) = cursor.as_mut() else {
                continue;
            };
            if !rf.in_step {
                continue;
            }
            while let Some((line, rec)) = next_row(rf, cursor, sink) {
                let parent = rec.get(rf.parent_key).unwrap_or("").trim().to_string();
                sink.problem(Problem::new(
                    format!("{} line {line}", rf.name),
                    format!(
                        "PARENT_KEY {} matches no submission in {}",
                        root_of(&parent),
                        export.main
                    ),
                ));
            }
            let last = rf.last_line;
            truncation(&rf.name, cursor, last, sink);
        }
        // Repeat rows no submission claimed.
        let mut left: Vec<(u64, String, String)> = Vec::new();
        for r in mapper.repeats.iter() {
            for (root, runs) in &r.runs {
                for run in runs {
                    left.push((run.pos.line(), r.name.clone(), root.clone()));
                }
            }
        }
        left.sort();
        for (line, file, root) in left {
            sink.problem(Problem::new(
                format!("{file} line {line}"),
                format!("PARENT_KEY {root} matches no submission in {}", export.main),
            ));
        }
        sink.progress(total, total);
        Ok(())
    }
}

/// Reads a repeat file once, checking it and indexing its rows by submission.
fn index_repeat(
    export: &Export,
    opener: &Opener,
    name: &str,
    index: bool,
    sink: &mut dyn Sink,
) -> Option<RepeatFile> {
    let mut archive = match opener.archive() {
        Ok(a) => a,
        Err(e) => {
            sink.problem(Problem::new(name.to_string(), e.to_string()));
            return None;
        }
    };
    let mut rows = match opener.rows(name, archive.as_mut()) {
        Ok(r) => r,
        Err(e) => {
            sink.problem(Problem::new(name.to_string(), e.to_string()));
            return None;
        }
    };
    let mut rec = StringRecord::new();
    let header: Vec<String> = match rows.read(&mut rec) {
        Ok(true) => rec
            .iter()
            .enumerate()
            .map(|(i, h)| {
                if i == 0 {
                    h.trim_start_matches('\u{feff}').to_string()
                } else {
                    h.to_string()
                }
            })
            .collect(),
        Ok(false) => {
            sink.problem(Problem::new(name.to_string(), "the file is empty"));
            return None;
        }
        Err(e) => {
            sink.problem(csv_problem(name, &e));
            return None;
        }
    };
    let (Some(parent_key), Some(key)) = (
        header.iter().position(|h| h == "PARENT_KEY"),
        header.iter().position(|h| h == "KEY"),
    ) else {
        sink.problem(Problem::new(
            format!("{name} line 1"),
            "a repeat file needs PARENT_KEY and KEY columns",
        ));
        return None;
    };
    let stem = strip_csv(&export.main).unwrap_or(&export.main);
    let file_base = strip_csv(name).unwrap_or(name);
    let group = file_base
        .strip_prefix(stem)
        .and_then(|g| g.strip_prefix('-'))
        .unwrap_or(file_base);
    let group = group.split('~').next().unwrap_or(group).to_string();
    let mut runs: HashMap<String, Vec<Run>> = HashMap::new();
    if !index {
        // In step with the main file: its rows are checked as they are read beside it.
        return Some(RepeatFile {
            name: name.to_string(),
            role: person_repeat(&group),
            group,
            header,
            parent_key,
            key,
            in_step: true,
            pending: None,
            last_line: 1,
            runs,
        });
    }
    let mut last_root: Option<String> = None;
    let mut last_line = 1;
    loop {
        let pos = rows.position();
        match rows.read(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                sink.problem(csv_problem(name, &e));
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
                last_root = None;
                continue;
            }
        }
        last_line = pos.line();
        let at = format!("{name} line {}", pos.line());
        if rec.len() != header.len() {
            sink.problem(Problem::new(
                at,
                format!("{} cells where the header has {}", rec.len(), header.len()),
            ));
            last_root = None;
            continue;
        }
        let parent = rec.get(parent_key).unwrap_or("").trim();
        if parent.is_empty() {
            sink.problem(Problem::new(at, "the row has no PARENT_KEY"));
            last_root = None;
            continue;
        }
        let root = root_of(parent);
        if last_root.as_deref() == Some(root) {
            if let Some(run) = runs.get_mut(root).and_then(|v| v.last_mut()) {
                run.count += 1;
                continue;
            }
        }
        runs.entry(root.to_string())
            .or_default()
            .push(Run { pos, count: 1 });
        last_root = Some(root.to_string());
    }
    truncation(name, &rows, last_line, sink);
    Some(RepeatFile {
        name: name.to_string(),
        role: person_repeat(&group),
        group,
        header,
        parent_key,
        key,
        in_step: false,
        pending: None,
        last_line,
        runs,
    })
}

/// Whether a repeat file's rows come in the main file's order (as both exporters write
/// them): every run of rows of one submission found, in turn, further down the main
/// file. Reads both files once, keeping nothing; says nothing of problems (they are
/// found when the files are read for their content).
fn in_step(export: &Export, opener: &Opener, name: &str) -> bool {
    let (Ok(mut za), Ok(mut zb)) = (opener.archive(), opener.archive()) else {
        return false;
    };
    let (Ok(mut main), Ok(mut rows)) = (
        opener.rows(&export.main, za.as_mut()),
        opener.rows(name, zb.as_mut()),
    ) else {
        return false;
    };
    let mut rec = StringRecord::new();
    let header = |rows: &mut Rows<'_>, rec: &mut StringRecord| match rows.read(rec) {
        Ok(true) => Some(
            rec.iter()
                .map(|h| h.trim_start_matches('\u{feff}').to_string())
                .collect::<Vec<_>>(),
        ),
        _ => None,
    };
    let (Some(mh), Some(rh)) = (header(&mut main, &mut rec), header(&mut rows, &mut rec)) else {
        return false;
    };
    let (Some(mkey), Some(pkey)) = (
        mh.iter().position(|h| h == "KEY"),
        rh.iter().position(|h| h == "PARENT_KEY"),
    ) else {
        return false;
    };
    let mut last: Option<String> = None;
    let mut mrec = StringRecord::new();
    loop {
        match rows.read(&mut rec) {
            Ok(true) => {}
            Ok(false) => return true,
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => return false,
            Err(_) => continue,
        }
        let parent = rec.get(pkey).unwrap_or("").trim();
        if rec.len() != rh.len() || parent.is_empty() {
            continue;
        }
        let root = root_of(parent);
        if last.as_deref() == Some(root) {
            continue;
        }
        loop {
            match main.read(&mut mrec) {
                Ok(true) => {}
                Ok(false) => return false,
                Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => return false,
                Err(_) => continue,
            }
            if mrec.len() == mh.len() && mrec.get(mkey).map(str::trim) == Some(root) {
                break;
            }
        }
        last = Some(root.to_string());
    }
}

struct Mapper<'e, 'a> {
    export: &'e Export,
    opener: &'e Opener,
    repeats: &'e mut Vec<RepeatFile>,
    cursors: Vec<Option<Rows<'a>>>,
}

impl Mapper<'_, '_> {
    fn main_pass(
        &mut self,
        main: &mut Rows<'_>,
        sink: &mut dyn Sink,
        base: u64,
        total: u64,
    ) -> Result<(), Stopped> {
        let file = self.export.main.clone();
        let mut rec = StringRecord::new();
        let header: Vec<String> = match main.read(&mut rec) {
            Ok(true) => rec
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    if i == 0 {
                        h.trim_start_matches('\u{feff}').to_string()
                    } else {
                        h.to_string()
                    }
                })
                .collect(),
            Ok(false) => {
                sink.problem(Problem::new(file, "the file is empty: not even a header"));
                return Ok(());
            }
            Err(e) => {
                sink.problem(csv_problem(&file, &e));
                return Ok(());
            }
        };
        let Some(cols) = MainColumns::new(header) else {
            sink.problem(Problem::new(
                format!("{file} line 1"),
                "no KEY column: not an ODK export's main CSV",
            ));
            return Ok(());
        };
        let mut last_line = 1;
        let mut n = 0u64;
        loop {
            let pos = main.position();
            match main.read(&mut rec) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    sink.problem(csv_problem(&file, &e));
                    if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                        break;
                    }
                    continue;
                }
            }
            last_line = pos.line();
            n += 1;
            if n.is_multiple_of(64) {
                sink.progress(base + main.counts().0, total);
            }
            let at = format!("{file} line {}", pos.line());
            if rec.len() != cols.header.len() {
                sink.problem(Problem::new(
                    at,
                    format!(
                        "{} cells where the header has {}",
                        rec.len(),
                        cols.header.len()
                    ),
                ));
                // Its repeat rows are not orphans: the row is wrong, not they.
                for r in self.repeats.iter_mut() {
                    for v in rec.iter() {
                        r.runs.remove(v.trim());
                    }
                }
                continue;
            }
            if let Some(unit) = self.submission(&cols, &rec, at, sink) {
                sink.unit(unit)?;
            }
        }
        truncation(&file, main, last_line, sink);
        Ok(())
    }

    /// One submission made into a unit (`None` when it has no KEY: a problem).
    fn submission(
        &mut self,
        cols: &MainColumns,
        rec: &StringRecord,
        at: String,
        sink: &mut dyn Sink,
    ) -> Option<Unit> {
        let cell = |i: Option<usize>| {
            i.and_then(|i| rec.get(i))
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let Some(key) = cell(Some(cols.key)).map(str::to_string) else {
            sink.problem(Problem::new(at, "the row has no KEY (instanceID)"));
            return None;
        };
        let instance = cell(cols.instance_id).unwrap_or(&key).to_string();
        let tool = Tool::Odk;
        let case_id = tool.id(&format!("submission/{instance}/case"));
        let form_id = self.export.form_id().to_string();
        let submitted_raw = cell(cols.submission_date);
        let submitted = submitted_raw.and_then(parse_datetime);
        if let (Some(raw), None) = (submitted_raw, submitted) {
            sink.problem(Problem::new(
                at.clone(),
                format!("SubmissionDate \"{raw}\" is not a date and time"),
            ));
        }
        // Central writes an encrypted submission it could not decrypt as its metadata
        // alone: its data is not in the export.
        if let Some(status) = cell(cols.status) {
            if status == "not decrypted" || status == "missing encrypted form data" {
                sink.problem(Problem::new(
                    at.clone(),
                    format!(
                        "submission {instance} is encrypted and its data is not in the export \
                         (Status: {status}): export it again with the form's passphrase"
                    ),
                ));
            }
        }

        let mut used: HashSet<usize> = HashSet::new();
        let mut unmapped = Vec::new();
        let mut files = Vec::new();

        // Case.
        let title = match cell(cols.title) {
            Some(t) => {
                used.extend(cols.title);
                t.to_string()
            }
            None => match (submitted, submitted_raw) {
                (Some(d), _) => format!("{form_id} submission {}", d.format("%Y-%m-%d %H:%M")),
                (None, Some(raw)) => format!("{form_id} submission {raw}"),
                (None, None) => format!("{form_id} submission {instance}"),
            },
        };
        let summary = match cell(cols.summary) {
            Some(s) => {
                used.extend(cols.summary);
                s.to_string()
            }
            None => String::new(),
        };
        let case = Case {
            title: title.clone(),
            summary,
            tags: vec![form_id],
            ..Case::default()
        };

        // Incident: a date, a geopoint, a place.
        let mut start = None;
        if let Some(v) = cell(cols.date) {
            match parse_date(v) {
                Some(d) => {
                    start = Some(d);
                    used.extend(cols.date);
                }
                None => sink.problem(Problem::new(
                    at.clone(),
                    format!(
                        "{} \"{v}\" is not a date",
                        cols.header[cols.date.unwrap_or(0)]
                    ),
                )),
            }
        }
        // Acts: the values that are codes of the vocabulary; the others stay in the
        // column, kept as an unmapped field.
        let mut act_types: Vec<String> = Vec::new();
        let mut acts_left: Option<(String, String)> = None;
        if let (Some(i), Some(v)) = (cols.acts, cell(cols.acts)) {
            let vocab = &custos_model::vocab::builtin().act_types;
            let (known, other): (Vec<&str>, Vec<&str>) =
                v.split_whitespace().partition(|t| vocab.contains(t));
            for k in known {
                if !act_types.iter().any(|a| a == k) {
                    act_types.push(k.to_string());
                }
            }
            used.insert(i);
            if !other.is_empty() {
                acts_left = Some((cols.header[i].clone(), other.join(" ")));
            }
        }
        let mut location = Location::default();
        let mut has_location = false;
        if let Some((lat_i, lon_i)) = cols.geo {
            match (cell(Some(lat_i)), cell(Some(lon_i))) {
                (None, None) => {}
                (lat, lon) => {
                    let la = lat.and_then(|v| parse_coord(v, 90.0));
                    let lo = lon.and_then(|v| parse_coord(v, 180.0));
                    match (la, lo) {
                        (Some(la), Some(lo)) => {
                            location.lat = Some(la);
                            location.lon = Some(lo);
                            has_location = true;
                            used.insert(lat_i);
                            used.insert(lon_i);
                        }
                        _ => sink.problem(Problem::new(
                            at.clone(),
                            format!(
                                "{} / {}: \"{}\" \"{}\" is not a point (latitude -90..90, longitude -180..180)",
                                cols.header[lat_i],
                                cols.header[lon_i],
                                lat.unwrap_or(""),
                                lon.unwrap_or("")
                            ),
                        )),
                    }
                }
            }
        }
        for (slot, idx) in [
            (&mut location.place, cols.place),
            (&mut location.region, cols.region),
            (&mut location.country, cols.country),
        ] {
            if let Some(v) = cell(idx) {
                *slot = v.to_string();
                used.extend(idx);
                has_location = true;
            }
        }

        // Persons named in the form itself (`victim_name`, `name_of_witness` …).
        let mut persons: Vec<Item> = Vec::new();
        let mut involvements = Vec::new();
        for (i, name) in cols.header.iter().enumerate() {
            if META.contains(&name.as_str()) {
                continue;
            }
            let l = leaf(name);
            let Some(who) = l
                .strip_suffix("_name")
                .or_else(|| l.strip_prefix("name_of_"))
            else {
                continue;
            };
            let (Some(Some(role)), Some(v)) = (person_repeat(who), cell(Some(i))) else {
                continue;
            };
            used.insert(i);
            let id = tool.id(&format!("submission/{instance}/person/{name}"));
            persons.push(Item {
                id,
                record: Record::Person(person(case_id, v.to_string(), Some(role))),
                earlier: vec![],
            });
            involvements.push(Involvement {
                person_id: id,
                role,
            });
        }

        // The other cells: media files, or unmapped fields.
        for (i, name) in cols.header.iter().enumerate() {
            if used.contains(&i) || name.starts_with("SET-OF-") {
                continue;
            }
            let Some(v) = cell(Some(i)) else { continue };
            if i == cols.key && Some(v) == cell(cols.instance_id) {
                continue;
            }
            if !META.contains(&name.as_str()) {
                match self.file_cell(
                    name,
                    v,
                    &instance,
                    "",
                    case_id,
                    vec![],
                    submitted,
                    &at,
                    sink,
                ) {
                    Cell::File(f) => {
                        files.push(*f);
                        continue;
                    }
                    Cell::Missing => continue,
                    Cell::Value => {}
                }
            }
            unmapped.push(Field {
                name: name.clone(),
                value: v.to_string(),
            });
        }

        // Repeat rows.
        for r in 0..self.repeats.len() {
            self.repeat_rows(
                r,
                &key,
                &instance,
                case_id,
                submitted,
                sink,
                &mut persons,
                &mut involvements,
                &mut files,
                &mut unmapped,
            );
        }

        let mut records = vec![Item {
            id: case_id,
            record: Record::Case(case),
            earlier: vec![],
        }];
        records.extend(persons);
        if let Some((name, value)) = acts_left {
            unmapped.push(Field { name, value });
        }
        if start.is_some() || has_location || !act_types.is_empty() {
            records.push(Item {
                id: tool.id(&format!("submission/{instance}/incident")),
                record: Record::Incident(Incident {
                    case_id,
                    title,
                    description: String::new(),
                    start,
                    end: None,
                    location: has_location.then_some(location),
                    act_types,
                    persons: involvements,
                    related: vec![],
                    impact: String::new(),
                }),
                earlier: vec![],
            });
        }
        Some(Unit {
            original_id: instance,
            at,
            records,
            files,
            unmapped,
        })
    }

    /// A cell that may name a file: the file, a problem (named but missing), or a
    /// plain value.
    #[allow(clippy::too_many_arguments)]
    fn file_cell(
        &self,
        column: &str,
        value: &str,
        instance: &str,
        row_label: &str,
        case_id: uuid::Uuid,
        attached_to: Vec<uuid::Uuid>,
        submitted: Option<DateTime<Utc>>,
        at: &str,
        sink: &mut dyn Sink,
    ) -> Cell {
        if !looks_like_file(value) {
            return Cell::Value;
        }
        let named = value.starts_with("media/") || media_column(column);
        match self.opener.media(value, instance) {
            Some(source) => {
                let file_name = value.rsplit('/').next().unwrap_or(value).to_string();
                let key = if row_label.is_empty() {
                    format!("submission/{instance}/file/{column}")
                } else {
                    format!("submission/{instance}/file/{row_label}/{column}")
                };
                let column_name = if row_label.is_empty() {
                    column.to_string()
                } else {
                    format!("{row_label} {column}")
                };
                Cell::File(Box::new(FileItem {
                    id: Tool::Odk.id(&key),
                    case_id,
                    attached_to,
                    description: String::new(),
                    source,
                    name: file_name.clone(),
                    sha256: None,
                    size: None,
                    original_id: format!("{instance}/{file_name}"),
                    created: submitted,
                    metadata: vec![
                        Field {
                            name: "form".into(),
                            value: self.export.form_id().to_string(),
                        },
                        Field {
                            name: "column".into(),
                            value: column_name,
                        },
                        Field {
                            name: "instanceID".into(),
                            value: instance.to_string(),
                        },
                    ],
                }))
            }
            None if named => {
                let bare = value.strip_prefix("media/").unwrap_or(value);
                sink.problem(Problem::new(
                    at.to_string(),
                    format!("{bare} is not in media/ (named in {column})"),
                ));
                Cell::Missing
            }
            None => Cell::Value,
        }
    }

    /// The rows of repeat file `r` that belong to submission `key`: persons, files,
    /// unmapped fields.
    #[allow(clippy::too_many_arguments)]
    fn repeat_rows(
        &mut self,
        r: usize,
        key: &str,
        instance: &str,
        case_id: uuid::Uuid,
        submitted: Option<DateTime<Utc>>,
        sink: &mut dyn Sink,
        persons: &mut Vec<Item>,
        involvements: &mut Vec<Involvement>,
        files: &mut Vec<FileItem>,
        unmapped: &mut Vec<Field>,
    ) {
        let name = self.repeats[r].name.clone();
        let Some(cursor) = self.cursors.get_mut(r).and_then(Option::as_mut) else {
            return;
        };
        let mut rows: Vec<(u64, StringRecord)> = Vec::new();
        if self.repeats[r].in_step {
            let rf = &mut self.repeats[r];
            while let Some((line, rec)) = next_row(rf, cursor, sink) {
                if root_of(rec.get(rf.parent_key).unwrap_or("").trim()) == key {
                    rows.push((line, rec));
                } else {
                    rf.pending = Some((line, rec));
                    break;
                }
            }
        }
        let runs = if self.repeats[r].in_step {
            Vec::new()
        } else {
            match self.repeats[r].runs.remove(key) {
                Some(runs) => runs,
                None => return,
            }
        };
        let mut order_problem = false;
        for run in runs {
            let here = cursor.position();
            if run.pos.byte() < here.byte() && !cursor.seek(run.pos.clone()) {
                order_problem = true;
                sink.problem(Problem::new(
                    format!("{name} line {}", run.pos.line()),
                    format!(
                        "the rows of submission {key} come before the submission's place in the main file, \
                         and a zip entry cannot be read backwards: unzip the export and import the folder"
                    ),
                ));
                continue;
            }
            // Forward to the run (rows of other submissions are read later).
            let mut rec = StringRecord::new();
            while cursor.position().byte() < run.pos.byte() {
                match cursor.read(&mut rec) {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => break,
                    Err(_) => {}
                }
            }
            // A seek lands on the run; skipping forward can only land on it too, as
            // the run starts where a record starts.
            for _ in 0..run.count {
                let line = cursor.position().line();
                match cursor.read(&mut rec) {
                    Ok(true) => rows.push((line, rec.clone())),
                    Ok(false) => break,
                    Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => break,
                    Err(_) => {}
                }
            }
        }
        if order_problem {
            return;
        }
        let rf = &self.repeats[r];
        let (header, parent_key, key_col, group, role) = (
            rf.header.clone(),
            rf.parent_key,
            rf.key,
            rf.group.clone(),
            rf.role,
        );
        for (i, (line, rec)) in rows.into_iter().enumerate() {
            let n = i + 1;
            if rec.len() != header.len() {
                // Reported when indexed.
                continue;
            }
            let at = format!("{name} line {line}");
            let row_key = rec.get(key_col).unwrap_or("").trim();
            let label = row_key
                .strip_prefix(instance)
                .or_else(|| row_key.strip_prefix(key))
                .and_then(|l| l.strip_prefix('/'))
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .unwrap_or_else(|| format!("{group}[{n}]"));
            let cell = |i: usize| rec.get(i).map(str::trim).filter(|v| !v.is_empty());
            let data: Vec<usize> = (0..header.len())
                .filter(|i| *i != parent_key && *i != key_col && !header[*i].starts_with("SET-OF-"))
                .collect();
            let mut used: HashSet<usize> = HashSet::new();
            let mut person_id = None;
            if let Some(role) = role {
                let name_cols: Vec<usize> = data
                    .iter()
                    .copied()
                    .filter(|i| {
                        let l = leaf(&header[*i]);
                        l.ends_with("name") && !l.contains("file")
                    })
                    .collect();
                let names: Vec<&str> = name_cols.iter().filter_map(|i| cell(*i)).collect();
                if !names.is_empty() {
                    used.extend(name_cols.iter().copied());
                    let mut take = |names: &[&str]| {
                        let i = data.iter().copied().find(|i| {
                            !used.contains(i) && leaf_in(&header[*i], names) && cell(*i).is_some()
                        })?;
                        used.insert(i);
                        cell(i).map(str::to_string)
                    };
                    let sex = take(&["sex", "gender"]).unwrap_or_default();
                    let occupation = take(&["occupation", "profession", "job"]).unwrap_or_default();
                    let organisation =
                        take(&["organisation", "organization", "affiliation"]).unwrap_or_default();
                    let id = Tool::Odk.id(&format!("submission/{instance}/person/{label}"));
                    persons.push(Item {
                        id,
                        record: Record::Person(Person {
                            sex,
                            occupation,
                            organisation,
                            ..person(case_id, names.join(" "), role)
                        }),
                        earlier: vec![],
                    });
                    if let Some(role) = role {
                        involvements.push(Involvement {
                            person_id: id,
                            role,
                        });
                    }
                    person_id = Some(id);
                }
            }
            for i in data {
                if used.contains(&i) {
                    continue;
                }
                let Some(v) = cell(i) else { continue };
                let column = &header[i];
                match self.file_cell(
                    column,
                    v,
                    instance,
                    &label,
                    case_id,
                    person_id.into_iter().collect(),
                    submitted,
                    &at,
                    sink,
                ) {
                    Cell::File(f) => files.push(*f),
                    Cell::Missing => {}
                    Cell::Value => unmapped.push(Field {
                        name: format!("{label} {column}"),
                        value: v.to_string(),
                    }),
                }
            }
        }
    }
}

/// The next well-formed row of an in-step repeat file (the pending one first),
/// reporting the malformed ones on the way.
fn next_row(
    rf: &mut RepeatFile,
    cursor: &mut Rows<'_>,
    sink: &mut dyn Sink,
) -> Option<(u64, StringRecord)> {
    if let Some(p) = rf.pending.take() {
        return Some(p);
    }
    let mut rec = StringRecord::new();
    loop {
        let line = cursor.position().line();
        match cursor.read(&mut rec) {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => {
                sink.problem(csv_problem(&rf.name, &e));
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    return None;
                }
                continue;
            }
        }
        rf.last_line = line;
        let at = format!("{} line {line}", rf.name);
        if rec.len() != rf.header.len() {
            sink.problem(Problem::new(
                at,
                format!(
                    "{} cells where the header has {}",
                    rec.len(),
                    rf.header.len()
                ),
            ));
            continue;
        }
        if rec.get(rf.parent_key).unwrap_or("").trim().is_empty() {
            sink.problem(Problem::new(at, "the row has no PARENT_KEY"));
            continue;
        }
        return Some((line, rec));
    }
}

/// A person of a case, with a name and perhaps a role, nothing else known yet.
fn person(case_id: uuid::Uuid, name: String, role: Option<Role>) -> Person {
    Person {
        case_id,
        name,
        other_names: vec![],
        roles: role.into_iter().collect(),
        is_group: false,
        group_size: None,
        sex: String::new(),
        birth_date: None,
        occupation: String::new(),
        organisation: String::new(),
        human_rights_work: String::new(),
        residence: String::new(),
        citizenship: String::new(),
        consent: Consents::default(),
        contact: String::new(),
    }
}

/// What a cell that may name a file turned out to be.
enum Cell {
    File(Box<FileItem>),
    Missing,
    Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_as_the_exporters_write_them() {
        let d = |s: &str| parse_date(s).map(|d| (d.date.to_string(), d.precision));
        assert_eq!(d("2018-04-26"), Some(("2018-04-26".into(), Precision::Day)));
        assert_eq!(
            d("Apr 26, 2018"),
            Some(("2018-04-26".into(), Precision::Day))
        );
        assert_eq!(
            d("Apr 1, 2018"),
            Some(("2018-04-01".into(), Precision::Day))
        );
        assert_eq!(
            d("Apr 26, 2018 8:56:00 AM"),
            Some(("2018-04-26".into(), Precision::Day))
        );
        assert_eq!(
            d("2018-04-26T23:56:00.000-02:00"),
            Some(("2018-04-26".into(), Precision::Day))
        );
        assert_eq!(d("2018-04"), Some(("2018-04-01".into(), Precision::Month)));
        assert_eq!(d("2018"), Some(("2018-01-01".into(), Precision::Year)));
        assert_eq!(d("last tuesday"), None);
        assert_eq!(
            parse_datetime("Apr 26, 2018 8:58:20 PM").map(|t| t.to_rfc3339()),
            Some("2018-04-26T20:58:20+00:00".into())
        );
        assert_eq!(
            parse_datetime("2018-01-01T00:00:00.000Z").map(|t| t.to_rfc3339()),
            Some("2018-01-01T00:00:00+00:00".into())
        );
    }

    #[test]
    fn names_and_paths() {
        assert_eq!(leaf("group1-incident_date"), "incident_date");
        assert_eq!(leaf("group1:Title"), "title");
        assert!(looks_like_file("1524644764247.jpg"));
        assert!(looks_like_file("media/my_file1.mp4"));
        assert!(!looks_like_file("123.456"));
        assert!(!looks_like_file("plain text"));
        assert_eq!(safe_relative("media/a.jpg").as_deref(), Some("media/a.jpg"));
        assert_eq!(safe_relative("../secret.jpg"), None);
        assert_eq!(safe_relative("/etc/passwd"), None);
        assert_eq!(person_repeat("victims"), Some(Some(Role::Victim)));
        assert_eq!(person_repeat("persons"), Some(None));
        assert_eq!(person_repeat("g1"), None);
        assert_eq!(root_of("uuid:1/g1[1]"), "uuid:1");
    }
}
