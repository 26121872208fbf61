//! Patterns: the figures of the cases a search selects, and the charts written to a
//! path the user chose.
//!
//! CONTRACT (the figures helper implements it; the desktop screen and the CLI call it).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use custos_model::Kind;
use custos_patterns::{charts, compute_facts, Fact, Figures, Labels, Options};
use custos_report::{output, Protection};
use custos_search::{SearchQuery, VaultSearch};
use custos_vault::Vault;
use rayon::prelude::*;
use uuid::Uuid;
use zeroize::Zeroize;

use crate::{Error, Result};

/// The width, in points, of an exported chart (a PDF page's text width, about).
pub const CHART_WIDTH: f64 = 640.0;

/// Pixels per point of an exported PNG.
pub const PNG_SCALE: f32 = 2.0;

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
///
/// The query's `kinds` and `limit` are not used to select cases: a query with neither
/// words nor filters selects every case. What the figures count of each record (its
/// [`Fact`]) comes from the search index when the index holds the record's current
/// version; the others (not indexed yet, changed since) are decrypted on every core,
/// only in memory, and wiped once counted. A record that cannot be read (damaged) is an
/// error naming it, never silently left out of the counts.
pub fn figures(vault: &mut Vault, query: &SearchQuery, options: &Options) -> Result<Figures> {
    let cases = selected_cases(vault, query)?;
    let ids = records_of(vault, cases.as_ref());
    vault.with_facts(&ids, |known| {
        let unknown: Vec<Uuid> = ids
            .iter()
            .zip(known)
            .filter(|(_, f)| f.is_none())
            .map(|(id, _)| *id)
            .collect();
        // One answer per unknown id, in their order: each read fact stays with its id.
        let read = read_facts(vault, &unknown)?;
        let mut read = read.iter();
        // In the order of `ids`, whichever way each fact came.
        let facts = ids.iter().zip(known).filter_map(|(id, f)| match f {
            Some(f) => Some((*id, *f)),
            None => read.next().and_then(Option::as_ref).map(|f| (*id, f)),
        });
        Ok(compute_facts(facts, options))
    })?
}

/// The fact of each record of `ids` (the search index does not hold them as they are
/// now), in their order — `None` for a record that has none — read from the vault on
/// every core (the records wiped as soon as their facts are taken).
fn read_facts(vault: &Vault, ids: &[Uuid]) -> Result<Vec<Option<Fact>>> {
    let read: Vec<_> = vault
        .get_many(ids)
        .into_par_iter()
        .map(|view| -> std::result::Result<_, custos_vault::Error> {
            let mut record = view?.into_record();
            let fact = record.as_ref().and_then(Fact::of);
            // Wiped on every core: one byte at a time, 100,000 records take as long
            // to wipe as to count.
            record.zeroize();
            Ok(fact)
        })
        .collect();
    read.into_iter()
        .map(|fact| fact.map_err(Error::Vault))
        .collect()
}

/// True when the query has neither words nor a filter: it selects every case.
fn selects_everything(q: &SearchQuery) -> bool {
    q.text.trim().is_empty()
        && q.status.is_none()
        && q.tags.is_empty()
        && q.act_type.is_none()
        && q.from.is_none()
        && q.to.is_none()
        && q.location.as_deref().is_none_or(|l| l.trim().is_empty())
        && q.role.is_none()
        && !q.awaiting_response
        && q.follow_up_due.is_none()
}

/// The cases the query selects (`None`: every case), from the search index brought up
/// to date first (every match, no hit limit).
fn selected_cases(vault: &Vault, query: &SearchQuery) -> Result<Option<HashSet<Uuid>>> {
    if selects_everything(query) {
        return Ok(None);
    }
    let mut q = query.clone();
    q.kinds.clear();
    let mut before = None;
    loop {
        let (done, total) = vault.prepare_search(20_000)?;
        // Done, or no further (records that cannot be read are not indexed).
        if done >= total || before == Some(done) {
            break;
        }
        before = Some(done);
    }
    let (cases, _complete) = vault.search_cases(&q)?;
    Ok(Some(cases.into_iter().collect()))
}

/// The live cases, incidents, persons and interventions of the selected cases (`None`:
/// every live case), from the vault's index (nothing decrypted). The records of a
/// deleted case are not counted.
fn records_of(vault: &Vault, cases: Option<&HashSet<Uuid>>) -> Vec<Uuid> {
    let every: HashSet<Uuid>;
    let cases = match cases {
        Some(c) => c,
        None => {
            every = vault
                .entries()
                .filter(|e| e.kind == Kind::Case && !e.deleted())
                .map(|e| e.record_id)
                .collect();
            &every
        }
    };
    let chosen = |case: Uuid| cases.contains(&case);
    vault
        .entries()
        .filter(|e| !e.deleted())
        .filter(|e| match e.kind {
            Kind::Case => chosen(e.record_id),
            Kind::Incident | Kind::Person | Kind::Intervention => {
                e.summary.case_id.is_some_and(chosen)
            }
            Kind::Note | Kind::Evidence => false,
        })
        .map(|e| e.record_id)
        .collect()
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
///
/// A folder `dest` (it must exist) receives one file per chart, named by its key
/// (`timeline.svg`, `map.png` …, `.age` added when encrypted), or the one chart `which`
/// names; another `dest` is the file of the one chart `which` names. A file is never
/// replaced; if one file fails, the files this export wrote are removed.
pub fn export(vault: &mut Vault, request: &ExportRequest<'_>) -> Result<Written> {
    let ext = match request.format {
        ImageFormat::Svg => "svg",
        ImageFormat::Png => "png",
    };
    let encrypted = matches!(request.protection, Protection::AgeRecipient(_));
    let folder = request.dest.is_dir();
    if !folder && request.which.is_none() {
        return Err(Error::Invalid(format!(
            "{} is not a folder: give a folder for every chart, or name the one chart to write",
            request.dest.display()
        )));
    }
    if let Some(w) = request.which {
        if !CHART_KEYS.contains(&w) {
            return Err(Error::Invalid(format!(
                "there is no chart '{w}' (one of: {})",
                CHART_KEYS.join(", ")
            )));
        }
    }
    let mut chosen: Vec<PathBuf> = Vec::new();
    let figures = figures(vault, request.query, request.options)?;
    let published = figures.published(request.options.threshold);
    drop(figures);
    let labels = Labels::of(request.lang);
    let scenes: Vec<(&'static str, custos_patterns::Scene)> =
        charts::all(&published, &labels, CHART_WIDTH)
            .into_iter()
            .filter(|(key, _)| request.which.is_none_or(|w| w == *key))
            .collect();
    if scenes.is_empty() {
        return Err(Error::Invalid(match request.which {
            Some(w) => format!("the chart '{w}' has no data for these cases"),
            None => "there is nothing to draw for these cases".into(),
        }));
    }
    for (key, _) in &scenes {
        let path = if folder {
            let name = if encrypted {
                format!("{key}.{ext}.age")
            } else {
                format!("{key}.{ext}")
            };
            request.dest.join(name)
        } else {
            request.dest.to_owned()
        };
        chosen.push(crate::export::destination(&path)?);
    }
    let mut written: Vec<PathBuf> = Vec::with_capacity(scenes.len());
    for ((_, scene), path) in scenes.iter().zip(&chosen) {
        let bytes = match request.format {
            ImageFormat::Svg => Ok(scene.to_svg().into_bytes()),
            ImageFormat::Png => scene
                .to_png(PNG_SCALE)
                .map_err(|e| Error::Invalid(format!("drawing the chart: {e}"))),
        };
        let done = bytes.and_then(|bytes| {
            output::write_file(path, request.protection, |w| {
                w.write_all(&bytes)
                    .map_err(|e| custos_vault::Error::io("writing the chart", e))
            })
            .map_err(Error::from)
        });
        if let Err(e) = done {
            for p in &written {
                let _ = std::fs::remove_file(p);
            }
            return Err(e);
        }
        written.push(path.clone());
    }
    Ok(Written {
        files: written,
        encrypted,
    })
}

/// The keys of the charts, in the order [`charts::all`] gives them.
pub const CHART_KEYS: [&str; 7] = [
    "map",
    "timeline",
    "act_types",
    "victims_by_sex",
    "victims_by_occupation",
    "perpetrators_by_type",
    "interventions",
];
