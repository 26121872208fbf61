//! Importing what another tool exported (Martus, ODK, Uwazi, Tella): the preview shown
//! before anything is written, and the import itself — all or nothing, no duplicates
//! (`custos_import` does the work; this is the use case both shells call).

use std::path::Path;

use custos_vault::Vault;

pub use custos_import::engine::{Error as ImportError, Imported, Phase, Preview};
pub use custos_import::{Problem, Tool};

use crate::error::{Error, Result};

/// What a tool's export is, for the user choosing it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Source {
    /// The code (`martus`).
    pub code: &'static str,
    /// The tool's name.
    pub name: &'static str,
    /// What to choose: the export file or folder, in a few words.
    pub choose: &'static str,
    /// True when the export is a folder (Tella's exported files; an ODK Briefcase
    /// export may be either: its CSV file is chosen).
    pub folder: bool,
}

/// The tools Custos imports from.
pub fn sources() -> Vec<Source> {
    Tool::ALL
        .into_iter()
        .map(|t| Source {
            code: t.code(),
            name: t.name(),
            choose: match t {
                Tool::Martus => "the XML file of a bulletin export (attachments beside it)",
                Tool::Odk => "the CSV file of a Briefcase export, or ODK Central's zip",
                Tool::Uwazi => "the CSV file (or zip) of an Uwazi export",
                Tool::Tella => "the folder (or zip) of files exported from Tella",
            },
            folder: t == Tool::Tella,
        })
        .collect()
}

/// The tool named by a code; an unknown one is refused with the list.
pub fn tool(code: &str) -> Result<Tool> {
    Tool::from_code(code).ok_or_else(|| {
        Error::Invalid(format!(
            "unknown source {code:?}: Custos imports from {}",
            Tool::ALL.map(|t| t.code()).join(", ")
        ))
    })
}

/// Reads the export whole and says what importing it would make; nothing is written.
pub fn preview(
    vault: &Vault,
    tool: Tool,
    path: &Path,
    progress: &mut dyn FnMut(Phase, u64, u64),
) -> Result<Preview> {
    exists(path)?;
    Ok(custos_import::engine::preview(vault, tool, path, progress))
}

/// Imports the export: refused with every problem (nothing written) when anything in it
/// is wrong; records already in the vault are left as they are.
pub fn run(
    vault: &mut Vault,
    tool: Tool,
    path: &Path,
    progress: &mut dyn FnMut(Phase, u64, u64),
) -> Result<Imported> {
    exists(path)?;
    custos_import::engine::import(vault, tool, path, progress).map_err(Error::Import)
}

fn exists(path: &Path) -> Result<()> {
    if path.exists() {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{} does not exist: nothing was imported",
            path.display()
        )))
    }
}
