//! Patterns: the figures of the cases the case list's search and filters select, drawn
//! as charts and a map, for the patterns screen; and those charts exported to a path
//! the user chose.
//!
//! - `patterns_figures` answers the EXACT figures (the user's own screen) and their
//!   drawings as SVG text. The work runs on a blocking thread: the window stays usable
//!   while it computes, and the vault's mutex is held only while records are read (the
//!   drawing happens after letting go). Nothing is cached: every call computes again,
//!   and what it answers lives in the page's memory only until the screen goes.
//! - `patterns_export` writes the charts of the PUBLISHED figures (counts below the
//!   user's threshold shown as "fewer than N", rare free-text categories folded) as SVG
//!   or PNG: one chart to a new file, or every chart into a folder (an existing one, or
//!   one made for it; every file in it new, named by the chart's key). Plaintext leaves
//!   only to the path the user typed or chose in the system's save dialog
//!   (`evidence_pick_destination`); with an age recipient it is encrypted as written.
//! - Persons are counted, never named: the figures hold counts and categories only.

use std::path::{Path, PathBuf};

use custos_app::patterns::{self as core, ExportRequest, ImageFormat};
use custos_patterns::{charts, Figures, Labels, Options, Period};
use custos_search::SearchQuery;
use serde::Serialize;
use tauri::{AppHandle, Manager};

use crate::error::CommandError;
use crate::state::{with_vault, AppState};

type Result<T> = std::result::Result<T, CommandError>;

/// The narrowest and widest drawing the page may ask for, in points.
const MIN_WIDTH: f64 = 280.0;
const MAX_WIDTH: f64 = 2400.0;
/// The width drawn when the page sends none that makes sense.
const DEFAULT_WIDTH: f64 = 640.0;
/// The highest threshold accepted (a larger one would hide every figure), here and for
/// the patterns of a PDF export.
pub(crate) const MAX_THRESHOLD: u32 = 10_000;
/// The longest search text accepted (as for `search`: a pasted page is cut).
const MAX_TEXT: usize = 1000;

/// One chart as the screen shows it.
#[derive(Debug, Serialize)]
pub struct Chart {
    /// `map`, `timeline`, `act_types`, `victims_by_sex`, `victims_by_occupation`,
    /// `perpetrators_by_type` or `interventions`.
    key: &'static str,
    /// The drawing, a standalone SVG document (every text escaped by the renderer).
    svg: String,
}

/// What the screen gets.
#[derive(Debug, Serialize)]
pub struct Patterns {
    /// The exact figures.
    figures: Figures,
    /// Always false here: the screen shows the user's own exact figures; only exports
    /// are published (thresholded).
    published: bool,
    /// The drawings, map first, charts without data left out.
    charts: Vec<Chart>,
}

/// What an export wrote.
#[derive(Debug, Serialize)]
pub struct Written {
    /// How many files.
    count: usize,
    /// Their paths, in order.
    files: Vec<String>,
    /// Whether they were encrypted to a recipient.
    encrypted: bool,
}

/// The query as the page sent it, bounded: a cut text; the hit limit is not used
/// (figures count every case the query selects).
fn bounded(mut q: SearchQuery) -> SearchQuery {
    if q.text.len() > MAX_TEXT {
        let mut end = MAX_TEXT;
        while !q.text.is_char_boundary(end) {
            end -= 1;
        }
        q.text.truncate(end);
    }
    q.tags.retain(|t| !t.trim().is_empty());
    if q.location.as_deref().is_some_and(|l| l.trim().is_empty()) {
        q.location = None;
    }
    if q.act_type.as_deref().is_some_and(|a| a.trim().is_empty()) {
        q.act_type = None;
    }
    q
}

/// `month` or `week`.
fn period(text: &str) -> Result<Period> {
    match text {
        "month" => Ok(Period::Month),
        "week" => Ok(Period::Week),
        _ => Err(CommandError::BadRequest(
            "the period is \"month\" or \"week\"".into(),
        )),
    }
}

/// The options, checked: a known period, a threshold of 1 or more.
fn options(period_text: &str, threshold: u32) -> Result<Options> {
    if threshold == 0 || threshold > MAX_THRESHOLD {
        return Err(CommandError::BadRequest(format!(
            "the threshold is a whole number from 1 to {MAX_THRESHOLD}"
        )));
    }
    Ok(Options {
        period: period(period_text)?,
        threshold,
    })
}

/// A language of the app (`custos_model::languages`, the charts are worded in each),
/// else English.
fn language(lang: &str) -> &'static str {
    custos_model::languages::get(lang.trim()).map_or(custos_model::languages::SOURCE, |l| l.code)
}

/// A sane drawing width (NaN, infinite and absurd widths are brought into range).
fn width(w: f64) -> f64 {
    if w.is_finite() {
        w.clamp(MIN_WIDTH, MAX_WIDTH)
    } else {
        DEFAULT_WIDTH
    }
}

/// `svg` or `png`.
fn format(text: &str) -> Result<ImageFormat> {
    match text {
        "svg" => Ok(ImageFormat::Svg),
        "png" => Ok(ImageFormat::Png),
        _ => Err(CommandError::BadRequest(
            "the format is \"svg\" or \"png\"".into(),
        )),
    }
}

/// One chart's key, as `charts::all` names them; none: every chart.
fn which(key: Option<&str>) -> Result<Option<&'static str>> {
    const KEYS: [&str; 7] = [
        "map",
        "timeline",
        "act_types",
        "victims_by_sex",
        "victims_by_occupation",
        "perpetrators_by_type",
        "interventions",
    ];
    match key {
        None => Ok(None),
        Some(k) => KEYS
            .into_iter()
            .find(|known| *known == k)
            .map(Some)
            .ok_or_else(|| CommandError::BadRequest("no such chart".into())),
    }
}

/// The drawings of `figures` as SVG.
fn drawings(figures: &Figures, lang: &str, width: f64) -> Vec<Chart> {
    charts::all(figures, &Labels::of(lang), width)
        .into_iter()
        .map(|(key, scene)| Chart {
            key,
            svg: scene.to_svg(),
        })
        .collect()
}

/// The exact figures of the cases `query` selects (the search command's shape; every
/// case it matches), by `period` (`month` | `week`), with their charts worded in `lang`
/// and drawn `width` points wide. `threshold` is checked here (1 or more) but only
/// exports apply it.
#[tauri::command]
pub async fn patterns_figures(
    app: AppHandle,
    query: SearchQuery,
    period: String,
    threshold: u32,
    lang: String,
    width: f64,
) -> Result<Patterns> {
    let query = bounded(query);
    let options = options(&period, threshold)?;
    let lang = language(&lang);
    let width = self::width(width);
    tauri::async_runtime::spawn_blocking(move || {
        let state = app.state::<AppState>();
        // The vault is held while its records are read and counted …
        let figures = with_vault(&state, |v| Ok(core::figures(v, &query, &options)?))?;
        // … and free again while the charts are drawn.
        let charts = drawings(&figures, lang, width);
        Ok(Patterns {
            figures,
            published: false,
            charts,
        })
    })
    .await
    .map_err(|e| CommandError::Internal(e.to_string()))?
}

/// Writes the charts of the PUBLISHED figures of the cases `query` selects: one chart
/// (`which`, a chart's key) to the new file `path`, or every chart (`which` null) into
/// the folder `path` (made when it does not exist yet; its parent must), as `svg` or
/// `png`; encrypted to `recipient` (age1…) when given. → how many files, where, whether
/// encrypted.
#[tauri::command]
#[allow(clippy::too_many_arguments)] // the page's fields, one by one, as for figures
pub async fn patterns_export(
    app: AppHandle,
    query: SearchQuery,
    period: String,
    threshold: u32,
    lang: String,
    which: Option<String>,
    format: String,
    path: String,
    recipient: Option<String>,
) -> Result<Written> {
    let query = bounded(query);
    let options = options(&period, threshold)?;
    let lang = language(&lang);
    let which = self::which(which.as_deref())?;
    let format = self::format(&format)?;
    let path = path.trim().to_owned();
    if path.is_empty() || !Path::new(&path).is_absolute() {
        return Err(CommandError::BadRequest(
            "give the full path of the file (it starts with /)".into(),
        ));
    }
    // Checked before any record is read: a recipient that is an age public key; one
    // chart goes to a new file in an existing folder; every chart into a folder that
    // exists or is made now (each file in it new).
    let protection = custos_app::export::protection(recipient.as_deref())?;
    let folder = which.is_none() && Path::new(&path).is_dir();
    let dest = if folder {
        PathBuf::from(&path)
    } else {
        custos_app::export::destination(Path::new(&path))?
    };
    tauri::async_runtime::spawn_blocking(move || {
        let made = which.is_none() && !folder;
        if made {
            std::fs::create_dir(&dest).map_err(|e| {
                CommandError::BadRequest(format!("the folder could not be made ({})", e.kind()))
            })?;
        }
        let state = app.state::<AppState>();
        let written = with_vault(&state, |v| {
            Ok(core::export(
                v,
                &ExportRequest {
                    query: &query,
                    options: &options,
                    lang,
                    which,
                    format,
                    dest: &dest,
                    protection: &protection,
                },
            )?)
        });
        // A folder made for an export that wrote nothing goes again (only if empty).
        if made && written.is_err() {
            let _ = std::fs::remove_dir(&dest);
        }
        let written = written?;
        Ok(Written {
            count: written.files.len(),
            files: written
                .files
                .iter()
                .map(|f| f.display().to_string())
                .collect(),
            encrypted: written.encrypted,
        })
    })
    .await
    .map_err(|e| CommandError::Internal(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_need_a_known_period_and_a_threshold_of_one_or_more() {
        let o = options("week", 1).unwrap();
        assert_eq!((o.period, o.threshold), (Period::Week, 1));
        assert_eq!(options("month", 3).unwrap().period, Period::Month);
        for (p, t) in [
            ("month", 0),
            ("year", 3),
            ("", 3),
            ("Month", 3),
            ("week", u32::MAX),
        ] {
            assert_eq!(options(p, t).unwrap_err().kind(), "bad_request", "{p} {t}");
        }
    }

    #[test]
    fn widths_and_languages_are_brought_into_range() {
        assert_eq!(width(f64::NAN), 640.0);
        assert_eq!(width(f64::INFINITY), 640.0);
        assert_eq!(width(-5.0), MIN_WIDTH);
        assert_eq!(width(1e12), MAX_WIDTH);
        assert_eq!(width(720.0), 720.0);
        assert_eq!(language("ar"), "ar");
        assert_eq!(language(" fr "), "fr");
        assert_eq!(language("xx"), "en");
        assert_eq!(language("zh-Hans"), "zh-Hans");
        assert_eq!(language("fa"), "fa");
        assert_eq!(language("../../etc"), "en");
    }

    #[test]
    fn formats_and_chart_keys_are_checked() {
        assert_eq!(format("svg").unwrap(), ImageFormat::Svg);
        assert_eq!(format("png").unwrap(), ImageFormat::Png);
        assert_eq!(format("pdf").unwrap_err().kind(), "bad_request");
        assert_eq!(which(None).unwrap(), None);
        assert_eq!(which(Some("timeline")).unwrap(), Some("timeline"));
        assert_eq!(which(Some("../x")).unwrap_err().kind(), "bad_request");
    }

    #[test]
    fn queries_are_bounded_and_not_limited() {
        let q = bounded(SearchQuery {
            text: "é".repeat(MAX_TEXT),
            tags: vec![" ".into(), "journalists".into()],
            location: Some(" ".into()),
            act_type: Some(String::new()),
            ..SearchQuery::default()
        });
        assert!(q.text.len() <= MAX_TEXT && q.text.chars().all(|c| c == 'é'));
        assert_eq!(q.tags, vec!["journalists".to_owned()]);
        assert_eq!((q.location, q.act_type), (None, None));
    }
}
