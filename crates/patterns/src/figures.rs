//! The figures of a selection of records.
//!
//! CONTRACT (shared by the figures, drawing, map and screen work; change it only
//! together): the types below are what every consumer reads. `compute` is the only way
//! figures are made. All counts are `u32`. Lists are sorted by count, descending, then by
//! key (so output is deterministic); the timeline is sorted by period start.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use custos_model::Record;
use serde::{Deserialize, Serialize};

/// The width of a timeline bin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// Calendar months.
    #[default]
    Month,
    /// ISO weeks (Monday to Sunday).
    Week,
}

/// What to compute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Options {
    /// Timeline bins.
    pub period: Period,
    /// Counts below this are shown as "fewer than N" in published figures
    /// ([`Figures::published`]); the user sets it, default 3; 1 shows every count.
    pub threshold: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            period: Period::Month,
            threshold: 3,
        }
    }
}

/// A count as it may be shown: exact, or withheld below the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "shown", content = "n")]
pub enum Shown {
    /// The exact count.
    Exact(u32),
    /// Fewer than this many (1 or more): the exact count is withheld.
    FewerThan(u32),
}

impl Default for Shown {
    fn default() -> Self {
        Shown::Exact(0)
    }
}

/// One category and its count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    /// The category: a vocabulary code (act types, mechanisms), a fixed code (`female`,
    /// `male`, `unknown` …), an ISO country code, or free text as the documenter wrote it
    /// (occupation, perpetrator type, region) after trimming and case folding for
    /// grouping (the first spelling met is kept for display). `""` never appears:
    /// missing values are counted under `"unknown"`. `"other"` is the folded rare
    /// free-text categories of published figures.
    pub key: String,
    /// How many.
    pub count: Shown,
}

/// One bin of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bin {
    /// First day of the month, or the Monday of the ISO week.
    pub start: NaiveDate,
    /// Incidents starting in the bin, per act type code (an incident with several act
    /// types counts once under each; one with none under `"unknown"`).
    pub by_act: Vec<Count>,
    /// Incidents starting in the bin (each once).
    pub total: Shown,
}

/// Incidents whose date is too coarse for the bins: a year-only date in a month
/// timeline, a month-only (or year-only) date in a week timeline. Counted, never
/// spread or dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coarse {
    /// The first day of the month or year they are known to.
    pub start: NaiveDate,
    /// `month` or `year`.
    pub precision: String,
    /// How many incidents.
    pub count: Shown,
}

/// Incidents over time.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Timeline {
    /// The bins' width.
    pub period: Period,
    /// Every bin from the first to the last dated incident, empty bins included.
    pub bins: Vec<Bin>,
    /// Dates too coarse for the bins.
    pub coarse: Vec<Coarse>,
    /// Incidents with no start date.
    pub undated: Shown,
}

/// A region within a country.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Region {
    /// ISO 3166-1 alpha-2 of the country (upper case), or `"unknown"`.
    pub country: String,
    /// The region as written on the first incident met (trimmed).
    pub region: String,
    /// Incidents there.
    pub count: Shown,
}

/// Incidents at coordinates (rounded; see [`Figures::published`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Latitude, WGS 84.
    pub lat: f64,
    /// Longitude, WGS 84.
    pub lon: f64,
    /// Incidents at that point.
    pub count: Shown,
}

/// Incidents by place.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Places {
    /// Per country (ISO alpha-2 upper case; `"unknown"` for none).
    pub countries: Vec<Count>,
    /// Per (country, region) where a region is written.
    pub regions: Vec<Region>,
    /// Per coordinates, where an incident has them.
    pub points: Vec<Point>,
}

/// Interventions to one mechanism, by where they stand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mechanism {
    /// Mechanism vocabulary code (or the text written, or `"unknown"`).
    pub mechanism: String,
    /// Being written.
    pub draft: Shown,
    /// Sent or acknowledged: awaiting a response.
    pub awaiting: Shown,
    /// Responded or closed.
    pub answered: Shown,
}

/// The figures of a selection.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Figures {
    /// Cases in the selection.
    pub cases: u32,
    /// Incidents in the selection.
    pub incidents: u32,
    /// Victims counted (a group counts its stated size, or 1).
    pub victims: u32,
    /// Persons in the selection who have not consented to be published: counted in the
    /// figures like everyone, never named anywhere.
    pub without_publish_consent: u32,
    /// Incidents over time.
    pub timeline: Timeline,
    /// Incidents by place.
    pub places: Places,
    /// Incidents per act type code (an incident counts once under each of its types).
    pub act_types: Vec<Count>,
    /// Victims by sex (`female`, `male`, `other`, `unknown` as stored).
    pub victims_by_sex: Vec<Count>,
    /// Victims by occupation (free text, grouped).
    pub victims_by_occupation: Vec<Count>,
    /// Perpetrators by type: the perpetrator's organisation, else its occupation, else
    /// `"unknown"` (free text, grouped).
    pub perpetrators_by_type: Vec<Count>,
    /// Interventions by mechanism and status.
    pub interventions: Vec<Mechanism>,
    /// Set by [`Figures::published`]: the threshold applied (None: exact figures).
    pub threshold: Option<u32>,
}

/// Computes the figures of `records` (every record of the selected cases: cases,
/// incidents, persons, interventions; others are ignored).
pub fn compute<'a>(records: impl IntoIterator<Item = &'a Record>, options: &Options) -> Figures {
    let _ = (
        records.into_iter().count(),
        options,
        BTreeMap::<u8, u8>::new(),
    );
    todo!("figures: compute")
}

impl Figures {
    /// The figures as they may leave the app (exports, reports, submissions, SVG/PNG):
    /// every count below `threshold` becomes [`Shown::FewerThan`]`(threshold)`; free-text
    /// categories (occupation, perpetrator type, region) below it are folded into one
    /// `"other"` entry (its count summed, then thresholded); coordinates are rounded to
    /// 0.1° and merged. Idempotent.
    pub fn published(&self, threshold: u32) -> Figures {
        let _ = threshold;
        todo!("figures: published")
    }
}
