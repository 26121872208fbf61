//! Full-fidelity JSON export and import (with history).
//!
//! The export is plaintext: it leaves the vault only when the user names a path for it.
//! Its format:
//!
//! ```json
//! { "format": "custos-export", "format_version": 1, "exported_at": "…",
//!   "records": [ { "record_id": "…", "kind": "case",
//!                  "versions": [ { "schema_version": 1, "record_id": "…", "version_id": "…",
//!                                  "kind": "case", "parents": [], "hlc": {…},
//!                                  "device": "…", "body": { "record": { … } } } ] } ] }
//! ```
//!
//! Import is all or nothing: the whole file is checked first and every problem is
//! reported with its line and field; only a file without problems is written, in one
//! batch. Histories merge: a version already in the vault is skipped, nothing is
//! overwritten.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use custos_model::{Body, FieldError, Kind, Record, Version, SCHEMA_VERSION};
use custos_vault::error::{Error, Problem, Result};
use custos_vault::Vault;

const FORMAT: &str = "custos-export";
const FORMAT_VERSION: u32 = 1;

#[derive(Serialize)]
struct ExportOut<'a> {
    format: &'a str,
    format_version: u32,
    exported_at: String,
    records: Vec<RecordOut>,
}

#[derive(Serialize)]
struct RecordOut {
    record_id: Uuid,
    kind: Kind,
    versions: Vec<Version>,
}

/// What an export wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportStats {
    /// Records exported.
    pub records: usize,
    /// Versions exported.
    pub versions: usize,
}

/// Exports the given records (all when `None`) with their whole history as JSON.
/// Fails on the first damaged version, naming it: an export is never silently partial.
pub fn export_json(
    vault: &Vault,
    records: Option<&[Uuid]>,
    out: &mut dyn std::io::Write,
) -> Result<ExportStats> {
    export_json_with_progress(vault, records, out, &mut |_, _| {})
}

/// [`export_json`], telling `progress` (records read, records in all) as it goes; the
/// last call is (all, all) once the file is written.
pub fn export_json_with_progress(
    vault: &Vault,
    records: Option<&[Uuid]>,
    out: &mut dyn std::io::Write,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ExportStats> {
    let ids: Vec<Uuid> = match records {
        Some(ids) => ids.to_vec(),
        None => vault.record_ids(),
    };
    let total = ids.len();
    // Reading is most of the work; writing the document is counted as the last step.
    let step = (total / 100).max(1);
    progress(0, total + 1);
    let mut stats = ExportStats {
        records: 0,
        versions: 0,
    };
    let mut list = Vec::with_capacity(ids.len());
    // Decrypted on every core, a chunk at a time for the progress.
    for chunk in ids.chunks(step.min(1024)) {
        use rayon::prelude::*;
        let read: Vec<Result<RecordOut>> = chunk
            .par_iter()
            .map(|&id| {
                let entry = vault.entry_of(id).ok_or(Error::RecordNotFound(id))?;
                let versions = entry
                    .versions
                    .iter()
                    .map(|meta| vault.read_version(meta.id, Some(id)))
                    .collect::<Result<Vec<_>>>()?;
                Ok(RecordOut {
                    record_id: id,
                    kind: entry.kind,
                    versions,
                })
            })
            .collect();
        for r in read {
            let r = r?;
            stats.records += 1;
            stats.versions += r.versions.len();
            list.push(r);
        }
        progress(stats.records, total + 1);
    }
    let doc = ExportOut {
        format: FORMAT,
        format_version: FORMAT_VERSION,
        exported_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        records: list,
    };
    serde_json::to_writer_pretty(&mut *out, &doc)
        .map_err(|e| Error::io("writing the export", e.into()))?;
    out.write_all(b"\n")
        .and_then(|_| out.flush())
        .map_err(|e| Error::io("writing the export", e))?;
    progress(total + 1, total + 1);
    Ok(stats)
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImportStats {
    /// Versions written.
    pub added: usize,
    /// Versions the vault already had.
    pub skipped: usize,
    /// Records the file holds.
    pub records: usize,
}

/// Imports a JSON export. Nothing is written unless the whole file checks out.
pub fn import_json(vault: &mut Vault, text: &[u8]) -> Result<ImportStats> {
    let mut problems = Vec::new();
    let doc: serde_json::Value = match serde_json::from_slice(text) {
        Ok(v) => v,
        Err(e) => {
            return Err(Error::Import(vec![Problem {
                line: Some(e.line()),
                field: String::new(),
                message: format!("not valid JSON: {}", strip_position(&e.to_string())),
            }]))
        }
    };
    let locate = Locator::new(text);

    let top = |field: &str, message: String| Problem {
        line: locate.key(field),
        field: field.into(),
        message,
    };
    match doc.get("format").and_then(|f| f.as_str()) {
        Some(FORMAT) => {}
        _ => problems.push(top("format", format!("must be \"{FORMAT}\""))),
    }
    match doc.get("format_version").and_then(|f| f.as_u64()) {
        Some(v) if v as u32 <= FORMAT_VERSION => {}
        Some(v) => problems.push(top(
            "format_version",
            format!("{v} is newer than this app understands ({FORMAT_VERSION})"),
        )),
        None => problems.push(top("format_version", "missing".into())),
    }
    let Some(records) = doc.get("records").and_then(|r| r.as_array()) else {
        problems.push(top("records", "must be a list of records".into()));
        return Err(Error::Import(problems));
    };

    // Parse every version, collecting every problem.
    let mut parsed: Vec<Version> = Vec::new();
    let mut file_versions: HashMap<Uuid, Uuid> = HashMap::new();
    let mut file_kinds: HashMap<Uuid, Kind> = HashMap::new();
    for (ri, rec) in records.iter().enumerate() {
        let at = format!("records[{ri}]");
        let record_id = rec
            .get("record_id")
            .and_then(|v| v.as_str())
            .and_then(|s| Uuid::parse_str(s).ok());
        let line = record_id.and_then(|id| locate.id(id));
        let Some(record_id) = record_id else {
            problems.push(Problem {
                line,
                field: format!("{at}.record_id"),
                message: "missing or not a UUID".into(),
            });
            continue;
        };
        let kind = match rec
            .get("kind")
            .map(|k| serde_json::from_value::<Kind>(k.clone()))
        {
            Some(Ok(k)) => k,
            _ => {
                problems.push(Problem {
                    line,
                    field: format!("{at}.kind"),
                    message: "missing or not one of case, incident, person, intervention, note"
                        .into(),
                });
                continue;
            }
        };
        if file_kinds.insert(record_id, kind).is_some() {
            problems.push(Problem {
                line,
                field: format!("{at}.record_id"),
                message: format!("record {record_id} appears twice"),
            });
        }
        let versions = match rec.get("versions").and_then(|v| v.as_array()) {
            Some(v) if !v.is_empty() => v,
            _ => {
                problems.push(Problem {
                    line,
                    field: format!("{at}.versions"),
                    message: "must be a non-empty list".into(),
                });
                continue;
            }
        };
        for (vi, value) in versions.iter().enumerate() {
            let vat = format!("{at}.versions[{vi}]");
            let vline = value
                .get("version_id")
                .and_then(|v| v.as_str())
                .and_then(|s| Uuid::parse_str(s).ok())
                .and_then(|id| locate.id(id))
                .or(line);
            let mut problem = |field: String, message: String| {
                problems.push(Problem {
                    line: vline,
                    field,
                    message,
                })
            };
            if let Some(n) = value.get("schema_version").and_then(|n| n.as_u64()) {
                if n as u32 > SCHEMA_VERSION {
                    problem(
                        format!("{vat}.schema_version"),
                        format!("{n} is newer than this app understands ({SCHEMA_VERSION})"),
                    );
                    continue;
                }
            }
            let v = match read_version(value) {
                Ok(v) => v,
                Err(e) => {
                    let field = if e.path.is_empty() {
                        vat
                    } else {
                        format!("{vat}.{}", e.path)
                    };
                    problem(field, strip_position(&e.message));
                    continue;
                }
            };
            if v.record_id != record_id {
                problem(
                    format!("{vat}.record_id"),
                    format!(
                        "is {} but the version sits under record {record_id}",
                        v.record_id
                    ),
                );
            }
            if v.kind != kind {
                problem(
                    format!("{vat}.kind"),
                    format!(
                        "is {} but the record is a {}",
                        v.kind.as_str(),
                        kind.as_str()
                    ),
                );
            }
            if let Body::Record(r) = &v.body {
                if r.kind() != kind {
                    problem(
                        format!("{vat}.body"),
                        format!(
                            "holds a {} but the record is a {}",
                            r.kind().as_str(),
                            kind.as_str()
                        ),
                    );
                }
                if let Err(m) = r.validate() {
                    problem(format!("{vat}.body"), m);
                }
            }
            if file_versions.insert(v.version_id, record_id).is_some() {
                problem(
                    format!("{vat}.version_id"),
                    format!("version {} appears twice", v.version_id),
                );
            }
            parsed.push(v);
        }
    }

    // Check against the vault: kinds, parents, links, and versions it already has.
    let mut new_versions = Vec::new();
    let mut skipped = 0;
    let mut seen_new: HashSet<Uuid> = HashSet::new();
    for v in &parsed {
        let line = locate.id(v.version_id);
        let field = format!("version {}", v.version_id);
        let mut problem = |message: String| {
            problems.push(Problem {
                line,
                field: field.clone(),
                message,
            })
        };
        if let Some(entry) = vault.entry_of(v.record_id) {
            if entry.kind != v.kind {
                problem(format!(
                    "record {} is a {} in this vault, not a {}",
                    v.record_id,
                    entry.kind.as_str(),
                    v.kind.as_str()
                ));
            }
        }
        for p in &v.parents {
            let in_file = file_versions.get(p) == Some(&v.record_id);
            let in_vault = vault
                .entry_of(v.record_id)
                .is_some_and(|e| e.versions.iter().any(|m| m.id == *p));
            if !in_file && !in_vault {
                problem(format!(
                    "parent {p} is neither in the file nor in the vault"
                ));
            }
        }
        if let Body::Record(r) = &v.body {
            for (name, id) in r.links() {
                if !file_kinds.contains_key(&id) && vault.entry_of(id).is_none() {
                    problem(format!("{name}: no record {id} in the file or the vault"));
                }
            }
        }
        match vault.has_version(v.version_id) {
            Ok(true) => match vault.read_version(v.version_id, None) {
                // The chain number is where the writing device counted it, not content.
                Ok(mut stored) => {
                    stored.chain = None;
                    if &stored == v {
                        skipped += 1;
                    } else {
                        problem("differs from the version with the same id in the vault".into());
                    }
                }
                Err(e) => problem(format!("the vault's copy cannot be compared: {e}")),
            },
            Ok(false) => {
                if seen_new.insert(v.version_id) {
                    new_versions.push(v.clone());
                }
            }
            Err(e) => return Err(e),
        }
    }
    if !problems.is_empty() {
        return Err(Error::Import(problems));
    }
    let added = new_versions.len();
    vault.write_versions(new_versions)?;
    Ok(ImportStats {
        added,
        skipped,
        records: file_kinds.len(),
    })
}

/// Reads one version of an export, naming the exact field of a problem.
fn read_version(value: &serde_json::Value) -> Result<Version, FieldError> {
    #[derive(Deserialize)]
    struct Head {
        schema_version: u32,
        record_id: Uuid,
        version_id: Uuid,
        kind: Kind,
        parents: Vec<Uuid>,
        hlc: custos_model::hlc::Hlc,
        device: Uuid,
        body: serde_json::Value,
    }
    let head: Head = serde_path_to_error::deserialize(value).map_err(|e| FieldError {
        path: e.path().to_string(),
        message: e.into_inner().to_string(),
    })?;
    let body = match head.body {
        serde_json::Value::String(s) if s == "tombstone" => Body::Tombstone,
        serde_json::Value::Object(mut o) if o.len() == 1 && o.contains_key("record") => {
            let mut record = o.remove("record").unwrap_or_default();
            if let Some(r) = record.as_object_mut() {
                // The record's kind is the version's unless it says otherwise.
                r.entry("kind")
                    .or_insert(serde_json::json!(head.kind.as_str()));
            }
            Body::Record(Record::from_json(record).map_err(|e| FieldError {
                path: if e.path.is_empty() {
                    "body.record".into()
                } else {
                    format!("body.record.{}", e.path)
                },
                message: e.message,
            })?)
        }
        _ => {
            return Err(FieldError {
                path: "body".into(),
                message: "must be \"tombstone\" or {\"record\": {…}}".into(),
            })
        }
    };
    Ok(Version {
        schema_version: head.schema_version,
        record_id: head.record_id,
        version_id: head.version_id,
        kind: head.kind,
        parents: head.parents,
        hlc: head.hlc,
        device: head.device,
        audience: Vec::new(),
        chain: None,
        body,
    })
}

/// serde_json appends " at line L column C"; the problem carries the line already.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// Finds lines in the source text, for problem reports.
struct Locator<'a> {
    text: &'a str,
}

impl<'a> Locator<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Locator {
            text: std::str::from_utf8(bytes).unwrap_or(""),
        }
    }

    fn line_of(&self, offset: usize) -> usize {
        self.text[..offset].bytes().filter(|&b| b == b'\n').count() + 1
    }

    /// The line where `"version_id": "<id>"` or `"record_id": "<id>"` first names `id`.
    fn id(&self, id: Uuid) -> Option<usize> {
        let needle = format!("\"{id}\"");
        self.text.find(&needle).map(|o| self.line_of(o))
    }

    fn key(&self, key: &str) -> Option<usize> {
        let needle = format!("\"{key}\"");
        self.text.find(&needle).map(|o| self.line_of(o))
    }
}
