//! Exports, written once for the desktop app and the command line: which format, which
//! cases, where, encrypted or not, and for a communication to the UN Special Rapporteur
//! its own texts and the "export anyway" the user gave after seeing what it lacks.
//!
//! - The file goes where the user chose, written by `custos-report`'s output helper: no
//!   temporary file, never over an existing file, nothing partial left on failure.
//! - It is plaintext unless an age recipient (`age1…`) is given.
//! - In two steps, so that a shell can let go of the vault early: [`produce`] reads the
//!   vault (JSON and CSV are written as they are read), [`Produced::write`] writes a
//!   report or a communication from memory afterwards.
//! - The communication's texts are trimmed, and an empty perpetrator type means "not
//!   said" (the desktop's behaviour; the command line used to keep the spaces).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use custos_report::unsr::{self, CommunicationType, PerpetratorType, UnSrFormat, UnSrRequest};
use custos_report::{output, Protection, Selection};
use custos_vault::Vault;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};

/// What to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Every version of every record (can be imported again).
    Json,
    /// A new folder of CSV files, HURIDOCS columns.
    Csv,
    /// The case report (PDF).
    Pdf,
    /// A communication to the UN Special Rapporteur on human rights defenders (one
    /// case; text or PDF).
    Unsr,
}

impl Format {
    /// Every format, in the order a chooser shows them.
    pub const ALL: [Format; 4] = [Format::Json, Format::Csv, Format::Pdf, Format::Unsr];

    /// True when it writes a folder (named by the path) rather than a file.
    pub fn is_folder(self) -> bool {
        self == Format::Csv
    }

    /// True when it is about exactly one case.
    pub fn is_single_case(self) -> bool {
        self == Format::Unsr
    }
}

/// What the user gives for a communication (nothing of it is stored). Dropped zeroized.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnsrFields {
    /// `urgent_appeal` or `allegation_letter` (also with dashes).
    #[serde(default)]
    pub kind: String,
    /// Who submits it (name, organisation, contact).
    #[serde(default)]
    pub submitter: String,
    /// How the events are linked to the victims' human rights work.
    #[serde(default)]
    pub link_to_work: String,
    /// The risk the victims face now.
    #[serde(default)]
    pub current_risk: String,
    /// Context and patterns.
    #[serde(default)]
    pub context: String,
    /// Per alleged perpetrator (person id): `state` or `non_state`; empty: not said.
    #[serde(default)]
    pub perpetrator_types: HashMap<Uuid, String>,
}

impl Drop for UnsrFields {
    fn drop(&mut self) {
        self.submitter.zeroize();
        self.link_to_work.zeroize();
        self.current_risk.zeroize();
        self.context.zeroize();
    }
}

impl UnsrFields {
    /// The communication's request for the one case it is about.
    pub fn request(&self, case_ids: &[Uuid]) -> Result<UnSrRequest> {
        let case_id = match case_ids {
            [one] => *one,
            _ => {
                return Err(Error::Invalid(
                    "a communication is about exactly one case".into(),
                ))
            }
        };
        let kind: CommunicationType = self.kind.trim().parse()?;
        let mut perpetrator_types = Vec::new();
        for (id, t) in &self.perpetrator_types {
            if t.trim().is_empty() {
                continue;
            }
            let t: PerpetratorType = t.trim().parse()?;
            perpetrator_types.push((*id, t));
        }
        perpetrator_types.sort_by_key(|(id, _)| *id);
        Ok(UnSrRequest {
            case_id,
            kind,
            submitter: self.submitter.trim().to_owned(),
            link_to_work: self.link_to_work.trim().to_owned(),
            current_risk: self.current_risk.trim().to_owned(),
            context: self.context.trim().to_owned(),
            perpetrator_types,
        })
    }
}

/// One export, checked.
#[derive(Debug)]
pub struct Request {
    /// What to write.
    pub format: Format,
    /// Which records (whole cases, or all).
    pub selection: Selection,
    /// Where: a new file, or for CSV a new folder.
    pub dest: PathBuf,
    /// Plaintext, or encrypted to an age recipient.
    pub protection: Protection,
    /// For a communication: its request and whether text or PDF.
    pub unsr: Option<(UnSrRequest, UnSrFormat)>,
    /// A communication is written even though elements are missing (the user saw the
    /// list and confirmed).
    pub accept_missing: bool,
}

/// The selection: whole cases, or (none given) the whole vault.
pub fn selection(case_ids: Option<&[Uuid]>) -> Result<Selection> {
    match case_ids {
        None => Ok(Selection::all()),
        Some([]) => Err(Error::Invalid("no case to export".into())),
        Some(ids) => Ok(Selection::cases(ids.iter().copied())),
    }
}

/// How the file is written: plain (no recipient, or an empty one), or encrypted to the
/// recipient, which must be an age public key. A pasted secret key is refused without
/// being repeated.
pub fn protection(recipient: Option<&str>) -> Result<Protection> {
    match recipient.map(str::trim) {
        None | Some("") => Ok(Protection::Plaintext),
        Some(r) => output::parse_recipient(r)
            .map(Protection::AgeRecipient)
            .map_err(|e| Error::InvalidRecipient(e.to_string())),
    }
}

/// The destination, checked: in an existing folder, nothing there yet (an export never
/// replaces a file).
pub fn destination(path: &Path) -> Result<PathBuf> {
    if path.as_os_str().is_empty() {
        return Err(Error::Invalid("give the path of the file to write".into()));
    }
    if path.symlink_metadata().is_ok() {
        return Err(Error::FileExists(path.to_owned()));
    }
    match path.parent() {
        Some(p) if p.as_os_str().is_empty() || p.is_dir() => Ok(path.to_owned()),
        _ => Err(Error::Invalid(format!(
            "the folder of {} does not exist",
            path.display()
        ))),
    }
}

/// What a communication would lack, before anything is written.
pub fn missing(vault: &Vault, request: &UnSrRequest) -> Result<Vec<unsr::Missing>> {
    Ok(unsr::missing_elements(vault, request)?)
}

/// What reading the vault produced.
pub enum Produced {
    /// Written already (JSON is written as it is read; CSV writes a file per table).
    Written {
        /// Files written.
        files: usize,
    },
    /// The bytes of a report or communication, to write once the vault is let go.
    Bytes {
        /// The document.
        bytes: Zeroizing<Vec<u8>>,
        /// Persons whose name was withheld (no consent).
        withheld: usize,
    },
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exported {
    /// Where.
    pub path: PathBuf,
    /// Bytes on disk (all files of a CSV folder).
    pub bytes: u64,
    /// Files written (1, or one per table for CSV).
    pub files: usize,
    /// True when encrypted to a recipient.
    pub encrypted: bool,
    /// Communication: persons whose name was withheld (no consent).
    pub withheld: usize,
}

/// Reads the vault for the export (and writes JSON and CSV as it reads). A communication
/// that lacks elements is refused unless the request accepts it.
pub fn produce(
    vault: &Vault,
    request: &Request,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Produced> {
    let dest = &request.dest;
    let protection = &request.protection;
    Ok(match request.format {
        Format::Json => {
            let ids = request.selection.resolve_with(vault, true)?;
            let chosen = (!request.selection.is_all()).then_some(ids.as_slice());
            output::write_file(dest, protection, |w: &mut dyn std::io::Write| {
                custos_report::json::export_json_with_progress(vault, chosen, w, progress)
            })?;
            Produced::Written { files: 1 }
        }
        Format::Csv => {
            let stats = custos_report::csv::export_csv(
                vault,
                &request.selection,
                dest,
                protection,
                progress,
            )?;
            Produced::Written {
                files: stats.files.len(),
            }
        }
        Format::Pdf => {
            let (bytes, _) = custos_report::pdf::case_report(vault, &request.selection, progress)?;
            Produced::Bytes { bytes, withheld: 0 }
        }
        Format::Unsr => {
            let (req, format) = request
                .unsr
                .as_ref()
                .ok_or_else(|| Error::Invalid("a communication needs its type".into()))?;
            if !request.accept_missing && !unsr::missing_elements(vault, req)?.is_empty() {
                return Err(Error::MissingElements);
            }
            let (bytes, stats) =
                unsr::communication(vault, req, *format, request.accept_missing, progress)?;
            Produced::Bytes {
                bytes,
                withheld: stats.withheld,
            }
        }
    })
}

impl Produced {
    /// Writes what is still in memory to the request's destination.
    pub fn write(self, request: &Request) -> Result<Exported> {
        let (files, withheld) = match self {
            Produced::Written { files } => (files, 0),
            Produced::Bytes { bytes, withheld } => {
                output::write_file(&request.dest, &request.protection, |w| {
                    w.write_all(&bytes)
                        .map_err(|e| custos_vault::Error::io("writing the export", e))
                })?;
                (1, withheld)
            }
        };
        Ok(Exported {
            path: request.dest.clone(),
            bytes: size_of(&request.dest),
            files,
            encrypted: request.protection.is_encrypted(),
            withheld,
        })
    }
}

/// [`produce`] then [`Produced::write`], holding the vault throughout.
pub fn run(
    vault: &Vault,
    request: &Request,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Exported> {
    produce(vault, request, progress)?.write(request)
}

/// Bytes on disk at `path` (a file, or every file of a folder).
fn size_of(path: &Path) -> u64 {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => std::fs::read_dir(path)
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0),
        Ok(m) => m.len(),
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_in_existing_folders_and_new() {
        assert!(destination(Path::new("")).is_err());
        assert!(destination(Path::new("/no/such/folder/file.json")).is_err());
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(destination(tmp.path()).unwrap_err().kind(), "file_exists");
        let ok = tmp.path().join("out.json");
        assert_eq!(destination(&ok).unwrap(), ok);
        std::fs::write(&ok, b"x").unwrap();
        assert_eq!(destination(&ok).unwrap_err().kind(), "file_exists");
        // A bare file name is in the current folder.
        assert!(destination(Path::new("surely-not-here-4f1c.json")).is_ok());
    }

    #[test]
    fn recipients_are_checked_and_never_repeated() {
        assert!(!protection(None).unwrap().is_encrypted());
        assert!(!protection(Some("  ")).unwrap().is_encrypted());
        let e = protection(Some("AGE-SECRET-KEY-1QQQ")).unwrap_err();
        assert_eq!(e.kind(), "invalid_recipient");
        assert!(!e.to_string().contains("AGE-SECRET-KEY"));
        let id = age::x25519::Identity::generate();
        let r = id.to_public().to_string();
        assert!(protection(Some(&format!(" {r} "))).unwrap().is_encrypted());
    }

    #[test]
    fn a_communication_is_about_one_case_of_a_known_type_with_trimmed_texts() {
        let fields = |kind: &str| {
            let mut f = UnsrFields::default();
            f.kind = kind.into();
            f.submitter = "  A. Submitter \n".into();
            f.link_to_work = "\tunion work ".into();
            f.perpetrator_types = HashMap::from([
                (Uuid::nil(), " non_state ".into()),
                (Uuid::from_u128(1), "  ".into()),
            ]);
            f
        };
        let one = [Uuid::new_v4()];
        assert!(fields("urgent_appeal").request(&[]).is_err());
        assert!(fields("urgent_appeal")
            .request(&[Uuid::new_v4(), Uuid::new_v4()])
            .is_err());
        assert!(fields("a letter").request(&one).is_err());
        let r = fields("allegation-letter").request(&one).unwrap();
        assert_eq!(r.kind, CommunicationType::AllegationLetter);
        assert_eq!(
            (r.submitter.as_str(), r.link_to_work.as_str()),
            ("A. Submitter", "union work")
        );
        assert_eq!(
            r.perpetrator_types,
            vec![(Uuid::nil(), PerpetratorType::NonState)]
        );
    }

    #[test]
    fn an_empty_case_list_is_refused_and_none_means_all() {
        assert!(selection(Some(&[])).is_err());
        assert!(selection(None).unwrap().is_all());
    }
}
