//! Patterns: the figures of the cases a search selects, and the charts written to a
//! path the user chose.
//!
//! CONTRACT (the figures helper implements it; the desktop screen and the CLI call it).

use std::path::{Path, PathBuf};

use custos_patterns::{Figures, Options};
use custos_report::Protection;
use custos_search::SearchQuery;
use custos_vault::Vault;

use crate::Result;

/// The image format of an exported chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// Scalable vector graphics.
    Svg,
    /// A PNG image.
    Png,
}

/// What an export of charts wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The files written, in order.
    pub files: Vec<PathBuf>,
    /// Whether they were encrypted to a recipient.
    pub encrypted: bool,
}

/// The exact figures of the cases `query` selects (every case it matches, no hit
/// limit; an empty query selects every case), read from the vault in memory.
pub fn figures(vault: &mut Vault, query: &SearchQuery, options: &Options) -> Result<Figures> {
    let _ = (vault, query, options);
    todo!("app patterns: figures")
}

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportRequest<'a> {
    /// The cases: what the search selects.
    pub query: &'a SearchQuery,
    /// Period and threshold (the published figures use its threshold).
    pub options: &'a Options,
    /// The language of the charts' words.
    pub lang: &'a str,
    /// One chart (a key of `custos_patterns::charts::all`), or every chart.
    pub which: Option<&'a str>,
    /// SVG or PNG.
    pub format: ImageFormat,
    /// A file (one chart) or a folder (every chart, one file each named by key).
    pub dest: &'a Path,
    /// Encrypted to a recipient, or not.
    pub protection: &'a Protection,
}

/// Writes the charts of the PUBLISHED figures of `request` (see [`ExportRequest`]).
pub fn export(vault: &mut Vault, request: &ExportRequest<'_>) -> Result<Written> {
    let _ = (vault, request);
    todo!("app patterns: export")
}
