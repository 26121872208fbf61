//! The figures of a selection of records.
//!
//! CONTRACT (shared by the figures, drawing, map and screen work; change it only
//! together): the types below are what every consumer reads. `compute` is the only way
//! figures are made. All counts are `u32`. Lists are sorted by count, descending, then by
//! key (so output is deterministic); the timeline is sorted by period start.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use custos_model::{Precision, Record};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::facts::{Fact, IncidentFact, PersonFact};

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
    /// A total given as the range its published parts already imply (both ends
    /// included): where some of its parts are withheld, an exact total would let a
    /// reader subtract the shown parts and find a withheld count.
    Between(u32, u32),
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
    /// grouping (the spelling written most often is kept for display, ties to
    /// the first in code point order). `""` never appears:
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
    /// Per (country, region) of the incidents that have a region but no coordinates:
    /// what the map places at the region, so that no incident is drawn twice.
    #[serde(default)]
    pub regions_without_points: Vec<Region>,
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
    /// Cases in the selection (always exact).
    pub cases: Shown,
    /// Incidents in the selection.
    pub incidents: Shown,
    /// Victims counted (a group counts its stated size, or 1).
    pub victims: Shown,
    /// Persons in the selection who have not consented to be published: counted in the
    /// figures like everyone, never named anywhere.
    pub without_publish_consent: Shown,
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
///
/// Records carry no id of their own, so an incident's involvements cannot be matched to
/// its persons here: a person counts as a victim or perpetrator through the roles on
/// their own record only. The app passes record ids with [`compute_with_ids`], which
/// also counts a person involved in an incident as a victim (or perpetrator) there.
pub fn compute<'a>(records: impl IntoIterator<Item = &'a Record>, options: &Options) -> Figures {
    compute_with_ids(records.into_iter().map(|r| (Uuid::nil(), r)), options)
}

/// The longest timeline, in bins: beyond it, the earliest bins are counted in
/// [`Timeline::coarse`] by year (a century of months; 23 years of weeks).
pub const MAX_BINS: usize = 1_200;

/// [`compute`] over `(record id, record)` pairs: a person involved as a victim or
/// perpetrator in a selected incident counts as one, as well as a person carrying that
/// role. Each person counts once, whatever the number of incidents.
pub fn compute_with_ids<'a>(
    records: impl IntoIterator<Item = (Uuid, &'a Record)>,
    options: &Options,
) -> Figures {
    let facts: Vec<(Uuid, Fact)> = records
        .into_iter()
        .filter_map(|(id, r)| Fact::of(r).map(|f| (id, f)))
        .collect();
    compute_facts(facts.iter().map(|(id, f)| (*id, f)), options)
}

/// [`compute_with_ids`] over the records' [`Fact`]s (what the search index keeps): the
/// same figures, without the records.
pub fn compute_facts<'a>(
    facts: impl IntoIterator<Item = (Uuid, &'a Fact)>,
    options: &Options,
) -> Figures {
    let mut cases = 0u32;
    let mut persons: Vec<(Uuid, &'a PersonFact)> = Vec::new();
    let mut involved_victims: HashSet<Uuid> = HashSet::new();
    let mut involved_perpetrators: HashSet<Uuid> = HashSet::new();
    let mut incidents = 0u32;
    let mut time = TimeTally::new(options.period);
    let mut countries: HashMap<String, u32> = HashMap::new();
    let mut regions = FreeText::default();
    let mut unpointed = FreeText::default();
    let mut points: HashMap<(u64, u64), u32> = HashMap::new();
    let mut acts: HashMap<&'a str, u32> = HashMap::new();
    let mut mechanisms: HashMap<&'a str, [u32; 3]> = HashMap::new();

    for (id, fact) in facts {
        match fact {
            Fact::Case => cases = cases.saturating_add(1),
            Fact::Person(p) => persons.push((id, p)),
            Fact::Incident(i) => {
                incidents = incidents.saturating_add(1);
                involved_victims.extend(i.victims.iter().copied());
                involved_perpetrators.extend(i.perpetrators.iter().copied());
                let types = act_types_of(&i.act_types);
                time.add(i.start.as_ref(), &types);
                for t in types {
                    bump(acts.entry(t).or_default(), 1);
                }
                let (country, region, point) = place_of(i);
                if let Some(r) = region {
                    regions.add_region(&country, r, 1);
                    if point.is_none() {
                        unpointed.add_region(&country, r, 1);
                    }
                }
                bump(countries.entry(country).or_default(), 1);
                if let Some(pt) = point {
                    bump(points.entry(pt).or_default(), 1);
                }
            }
            Fact::Intervention(i) => {
                let m = i.mechanism.trim();
                let m = if m.is_empty() { UNKNOWN } else { m };
                let slot = usize::from(i.status.min(2));
                bump(&mut mechanisms.entry(m).or_default()[slot], 1);
            }
        }
    }

    let mut victims = 0u32;
    let mut without_consent = 0u32;
    let mut sexes: HashMap<&'static str, u32> = HashMap::new();
    let mut occupations = FreeText::default();
    let mut perpetrators = FreeText::default();
    let mut seen: HashSet<Uuid> = HashSet::new();
    for (id, p) in persons {
        // The same person given twice (the same id) counts once.
        if !id.is_nil() && !seen.insert(id) {
            continue;
        }
        if !p.publish_consent {
            bump(&mut without_consent, 1);
        }
        let known = !id.is_nil();
        if p.victim || (known && involved_victims.contains(&id)) {
            bump(&mut victims, p.weight);
            bump(sexes.entry(sex_of(&p.sex)).or_default(), p.weight);
            occupations.add(&p.occupation, p.weight);
        }
        if p.perpetrator || (known && involved_perpetrators.contains(&id)) {
            let org = p.organisation.trim();
            let kind = if org.is_empty() { &p.occupation } else { org };
            perpetrators.add(kind, 1);
        }
    }

    let mut interventions: Vec<(u64, Mechanism)> = mechanisms
        .into_iter()
        .map(|(m, [d, a, r])| {
            let total = u64::from(d) + u64::from(a) + u64::from(r);
            (
                total,
                Mechanism {
                    mechanism: m.to_owned(),
                    draft: Shown::Exact(d),
                    awaiting: Shown::Exact(a),
                    answered: Shown::Exact(r),
                },
            )
        })
        .collect();
    interventions.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| a.1.mechanism.cmp(&b.1.mechanism))
    });

    let mut points: Vec<Point> = points
        .into_iter()
        .map(|((lat, lon), n)| Point {
            lat: f64::from_bits(lat),
            lon: f64::from_bits(lon),
            count: Shown::Exact(n),
        })
        .collect();
    sort_points(&mut points);

    Figures {
        cases: Shown::Exact(cases),
        incidents: Shown::Exact(incidents),
        victims: Shown::Exact(victims),
        without_publish_consent: Shown::Exact(without_consent),
        timeline: time.finish(),
        places: Places {
            countries: counts(countries),
            regions: regions.into_regions(),
            points,
            regions_without_points: unpointed.into_regions(),
        },
        act_types: counts(acts),
        victims_by_sex: counts(sexes),
        victims_by_occupation: occupations.into_counts(),
        perpetrators_by_type: perpetrators.into_counts(),
        interventions: interventions.into_iter().map(|(_, m)| m).collect(),
        threshold: None,
    }
}

/// The key of missing values.
const UNKNOWN: &str = "unknown";
/// The key of folded rare free-text values.
const OTHER: &str = "other";

fn bump(slot: &mut u32, by: u32) {
    *slot = slot.saturating_add(by);
}

/// An incident's act types, each once; `unknown` when it has none.
fn act_types_of(types: &[String]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::with_capacity(types.len().max(1));
    for t in types {
        let t = t.trim();
        if !t.is_empty() && !out.contains(&t) {
            out.push(t);
        }
    }
    if out.is_empty() {
        out.push(UNKNOWN);
    }
    out
}

/// The country key, the region (trimmed, when written) and the coordinates' bits (when
/// both are finite and in range) of an incident.
fn place_of(i: &IncidentFact) -> (String, Option<&str>, Option<(u64, u64)>) {
    let region = Some(i.region.trim()).filter(|r| !r.is_empty());
    let point = match (i.lat, i.lon) {
        (Some(lat), Some(lon)) if valid_point(lat, lon) => Some(point_key(lat, lon)),
        _ => None,
    };
    (country_key(&i.country), region, point)
}

/// An ISO alpha-2 code upper-cased, other text trimmed, `unknown` for none.
pub(crate) fn country_key(country: &str) -> String {
    let c = country.trim();
    if c.is_empty() {
        UNKNOWN.to_owned()
    } else if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) {
        c.to_ascii_uppercase()
    } else {
        c.to_owned()
    }
}

fn valid_point(lat: f64, lon: f64) -> bool {
    lat.is_finite()
        && lon.is_finite()
        && (-90.0..=90.0).contains(&lat)
        && (-180.0..=180.0).contains(&lon)
}

/// Coordinates as a hash key (-0.0 and 0.0 are one place).
fn point_key(lat: f64, lon: f64) -> (u64, u64) {
    ((lat + 0.0).to_bits(), (lon + 0.0).to_bits())
}

/// A person's sex or gender as written, as one of `female`, `male`, `other`, `unknown`.
pub fn sex_of(written: &str) -> &'static str {
    let s = fold_key(written);
    match s.trim_end_matches('.') {
        "" | "unknown" | "?" | "n/a" | "na" | "u" | "inconnu" | "inconnue" | "desconocido"
        | "desconocida" | "غير معروف" | "مجهول" => UNKNOWN,
        "female" | "f" | "woman" | "women" | "girl" | "w" | "femme" | "femmes" | "fille"
        | "féminin" | "feminin" | "mujer" | "mujeres" | "femenino" | "femenina" | "niña"
        | "nina" | "أنثى" | "انثى" | "امرأة" | "إمرأة" | "نساء" | "فتاة" => {
            "female"
        }
        "male" | "m" | "man" | "men" | "boy" | "homme" | "hommes" | "garçon" | "garcon"
        | "masculin" | "hombre" | "hombres" | "masculino" | "niño" | "nino" | "h" | "ذكر"
        | "رجل" | "رجال" | "فتى" => "male",
        _ => "other",
    }
}

/// Free text as a grouping key: trimmed, lower case, inner spaces collapsed.
pub fn fold_key(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

/// Free-text categories grouped by their folded key, shown in their most written
/// spelling (ties to the first in code point order), so the label does not depend on
/// the order the records are read in.
#[derive(Default)]
struct FreeText {
    /// (country for regions, folded key) → the spellings met, each with its count.
    groups: HashMap<(String, String), Spellings>,
}

/// The spellings of one free-text group, with how often each was written.
#[derive(Default)]
struct Spellings(Vec<(String, u32)>);

impl Spellings {
    fn add(&mut self, text: &str, by: u32) {
        match self.0.iter_mut().find(|(s, _)| s == text) {
            Some((_, n)) => bump(n, by),
            None => self.0.push((text.to_owned(), by)),
        }
    }

    /// The spelling shown and the group's total.
    fn settle(self) -> (String, u32) {
        let total = self.0.iter().fold(0u32, |t, (_, n)| t.saturating_add(*n));
        let shown = self
            .0
            .into_iter()
            .max_by(|(a, na), (b, nb)| na.cmp(nb).then_with(|| b.cmp(a)))
            .map(|(s, _)| s)
            .unwrap_or_default();
        (shown, total)
    }
}

impl FreeText {
    fn add(&mut self, text: &str, by: u32) {
        self.add_region("", text, by);
    }

    fn add_region(&mut self, country: &str, text: &str, by: u32) {
        let mut key = fold_key(text);
        if key.is_empty() {
            key = UNKNOWN.to_owned();
        }
        let shown = if key == UNKNOWN { UNKNOWN } else { text.trim() };
        self.groups
            .entry((country.to_owned(), key))
            .or_default()
            .add(shown, by);
    }

    fn into_counts(self) -> Vec<Count> {
        counts(self.groups.into_values().map(Spellings::settle))
    }

    fn into_regions(self) -> Vec<Region> {
        let mut out: Vec<Region> = self
            .groups
            .into_iter()
            .map(|((country, _), spellings)| {
                let (region, n) = spellings.settle();
                Region {
                    country,
                    region,
                    count: Shown::Exact(n),
                }
            })
            .collect();
        sort_regions(&mut out);
        out
    }
}

/// Sorted by count, descending, then key.
fn counts<K: Into<String> + AsRef<str>>(items: impl IntoIterator<Item = (K, u32)>) -> Vec<Count> {
    let mut out: Vec<Count> = items
        .into_iter()
        .map(|(k, n)| Count {
            key: k.into(),
            count: Shown::Exact(n),
        })
        .collect();
    sort_counts(&mut out);
    out
}

/// The count of a [`Shown`] for ordering: a withheld count sorts as its least value.
fn order_value(s: Shown) -> u32 {
    match s {
        Shown::Exact(n) | Shown::Between(n, _) => n,
        Shown::FewerThan(_) => 1,
    }
}

fn sort_counts(list: &mut [Count]) {
    list.sort_by(|a, b| {
        order_value(b.count)
            .cmp(&order_value(a.count))
            .then_with(|| a.key.cmp(&b.key))
    });
}

fn sort_regions(list: &mut [Region]) {
    list.sort_by(|a, b| {
        order_value(b.count)
            .cmp(&order_value(a.count))
            .then_with(|| a.country.cmp(&b.country))
            .then_with(|| a.region.cmp(&b.region))
    });
}

fn sort_points(list: &mut [Point]) {
    list.sort_by(|a, b| {
        order_value(b.count)
            .cmp(&order_value(a.count))
            .then_with(|| a.lat.total_cmp(&b.lat))
            .then_with(|| a.lon.total_cmp(&b.lon))
    });
}

/// The timeline being counted.
struct TimeTally<'a> {
    period: Period,
    /// bin index → (incidents, per act type).
    bins: HashMap<i64, (u32, HashMap<&'a str, u32>)>,
    /// (first day, precision) → incidents.
    coarse: HashMap<(NaiveDate, &'static str), u32>,
    undated: u32,
}

impl<'a> TimeTally<'a> {
    fn new(period: Period) -> Self {
        TimeTally {
            period,
            bins: HashMap::new(),
            coarse: HashMap::new(),
            undated: 0,
        }
    }

    fn add(&mut self, start: Option<&custos_model::FuzzyDate>, types: &[&'a str]) {
        let Some(start) = start else {
            bump(&mut self.undated, 1);
            return;
        };
        let date = start.date;
        let bin = match (start.precision, self.period) {
            (Precision::Year, _) => None,
            (Precision::Month, Period::Week) => {
                self.add_coarse(month_start(date), "month");
                return;
            }
            (Precision::Month, Period::Month) | (Precision::Day | Precision::Approximate, _) => {
                bin_index(self.period, date)
            }
        };
        match bin {
            Some(b) => {
                let (total, acts) = self.bins.entry(b).or_default();
                bump(total, 1);
                for t in types {
                    bump(acts.entry(t).or_default(), 1);
                }
            }
            None => self.add_coarse(year_start(date), "year"),
        }
    }

    fn add_coarse(&mut self, start: NaiveDate, precision: &'static str) {
        bump(self.coarse.entry((start, precision)).or_default(), 1);
    }

    fn finish(mut self) -> Timeline {
        let mut bins = Vec::new();
        let first = self.bins.keys().min().copied();
        let last = self.bins.keys().max().copied();
        if let (Some(first), Some(last)) = (first, last) {
            let from = first.max(last.saturating_sub(MAX_BINS as i64 - 1));
            // The bins before the cap: counted by year instead.
            let early: Vec<i64> = self.bins.keys().copied().filter(|b| *b < from).collect();
            for b in early {
                if let (Some((n, _)), Some(start)) =
                    (self.bins.remove(&b), bin_start(self.period, b))
                {
                    bump(
                        self.coarse.entry((year_start(start), "year")).or_default(),
                        n,
                    );
                }
            }
            for b in from..=last {
                let Some(start) = bin_start(self.period, b) else {
                    continue;
                };
                let (total, acts) = self.bins.remove(&b).unwrap_or_default();
                bins.push(Bin {
                    start,
                    by_act: counts(acts),
                    total: Shown::Exact(total),
                });
            }
        }
        let mut coarse: Vec<Coarse> = self
            .coarse
            .into_iter()
            .map(|((start, precision), n)| Coarse {
                start,
                precision: precision.to_owned(),
                count: Shown::Exact(n),
            })
            .collect();
        coarse.sort_by(|a, b| {
            a.start
                .cmp(&b.start)
                .then_with(|| a.precision.cmp(&b.precision))
        });
        Timeline {
            period: self.period,
            bins,
            coarse,
            undated: Shown::Exact(self.undated),
        }
    }
}

fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

fn year_start(d: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year(), 1, 1).unwrap_or(d)
}

/// The index of the bin holding `d`: months since year 0, or weeks since the Monday
/// 0001-01-01. `None` when the bin's first day is outside the calendar's range.
fn bin_index(period: Period, d: NaiveDate) -> Option<i64> {
    match period {
        Period::Month => Some(i64::from(d.year()) * 12 + i64::from(d.month0())),
        Period::Week => {
            let days = i64::from(d.num_days_from_ce()) - 1;
            let idx = days.div_euclid(7);
            bin_start(period, idx).map(|_| idx)
        }
    }
}

/// The first day of bin `b` (see [`bin_index`]).
fn bin_start(period: Period, b: i64) -> Option<NaiveDate> {
    match period {
        Period::Month => {
            let year = i32::try_from(b.div_euclid(12)).ok()?;
            let month = u32::try_from(b.rem_euclid(12)).ok()? + 1;
            NaiveDate::from_ymd_opt(year, month, 1)
        }
        Period::Week => {
            let days = i32::try_from(b.checked_mul(7)?.checked_add(1)?).ok()?;
            NaiveDate::from_num_days_from_ce_opt(days)
        }
    }
}

/// A count summed while publishing: exact part, and how many withheld counts it holds.
#[derive(Default, Clone, Copy)]
struct Sum {
    exact: u64,
    withheld: u32,
    /// The largest threshold a withheld part was below.
    below: u32,
}

impl Sum {
    fn add(&mut self, s: Shown) {
        match s {
            // A range counts as its least value, as a withheld count does.
            Shown::Exact(n) | Shown::Between(n, _) => self.exact += u64::from(n),
            Shown::FewerThan(t) => {
                self.withheld += 1;
                self.below = self.below.max(t);
            }
        }
    }

    /// The sum, thresholded. A withheld part counts as its least value (1): it can only
    /// meet a count withheld at another threshold.
    fn shown(self, threshold: u32) -> Shown {
        if self.withheld == 0 {
            return withhold(
                Shown::Exact(u32::try_from(self.exact).unwrap_or(u32::MAX)),
                threshold,
            );
        }
        let least = self.exact + u64::from(self.withheld);
        if least < u64::from(threshold.max(self.below)) {
            Shown::FewerThan(threshold.max(self.below))
        } else {
            Shown::Exact(u32::try_from(least).unwrap_or(u32::MAX))
        }
    }
}

/// One count as published at `threshold`.
fn withhold(s: Shown, threshold: u32) -> Shown {
    match s {
        Shown::Exact(0) => Shown::Exact(0),
        Shown::Exact(n) if n < threshold => Shown::FewerThan(threshold),
        Shown::Exact(n) => Shown::Exact(n),
        Shown::FewerThan(t) => Shown::FewerThan(t.max(threshold)),
        Shown::Between(a, b) => Shown::Between(a, b),
    }
}

/// A bin's total as published, beside its act types (already published). An incident
/// with several act types counts under each, so the act types may add up to more than
/// the total: the range shown is the one they imply, stretched to hold the total.
fn publish_bin_total(total: Shown, by_act: &[Count], threshold: u32) -> Shown {
    let shown = withhold(total, threshold);
    let Shown::Exact(n) = shown else {
        return shown;
    };
    if n == 0 || by_act.iter().all(|c| matches!(c.count, Shown::Exact(_))) {
        return shown;
    }
    let (lo, hi) = implied(by_act.iter().map(|c| &c.count));
    let (lo, hi) = (lo.min(u64::from(n)), hi.max(u64::from(n)));
    if lo == hi {
        return shown;
    }
    let clamp = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
    Shown::Between(clamp(lo), clamp(hi))
}

/// The least and the greatest value a published count can stand for.
fn range_of(s: Shown) -> (u64, u64) {
    match s {
        Shown::Exact(n) => (u64::from(n), u64::from(n)),
        Shown::FewerThan(t) => (1, u64::from(t.saturating_sub(1).max(1))),
        Shown::Between(a, b) => (u64::from(a), u64::from(b)),
    }
}

/// The range a list of published parts implies for their sum.
fn implied<'a>(parts: impl IntoIterator<Item = &'a Shown>) -> (u64, u64) {
    parts.into_iter().fold((0, 0), |(lo, hi), s| {
        let (a, b) = range_of(*s);
        (lo + a, hi + b)
    })
}

/// A total as published at `threshold`, given the ranges its published partitions (lists
/// whose parts add up to it) imply: below the threshold it is withheld; where a partition
/// withholds a part, it is the range the partitions already imply together (so nothing is
/// learnt by subtracting the shown parts from it); otherwise exact.
fn publish_total(total: Shown, partitions: &[(u64, u64)], threshold: u32) -> Shown {
    let n = match total {
        Shown::Exact(n) => n,
        other => return withhold(other, threshold),
    };
    if n == 0 || n < threshold {
        return withhold(total, threshold);
    }
    let exact = u64::from(n);
    // Each partition's range holds the total: together they imply the narrowest.
    let lo = partitions
        .iter()
        .map(|p| p.0)
        .filter(|a| *a <= exact)
        .max()
        .unwrap_or(exact);
    let hi = partitions
        .iter()
        .map(|p| p.1)
        .filter(|b| *b >= exact)
        .min()
        .unwrap_or(exact);
    if lo == hi {
        return Shown::Exact(n);
    }
    let clamp = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
    Shown::Between(clamp(lo), clamp(hi))
}

/// Below the threshold: an exact count under it (0 excepted), or any withheld count.
fn is_rare(s: Shown, threshold: u32) -> bool {
    match s {
        Shown::Exact(n) | Shown::Between(n, _) => n < threshold,
        Shown::FewerThan(_) => true,
    }
}

/// A fixed-category list published: every count thresholded, then sorted again (so
/// that the order of withheld counts does not tell which is larger).
fn publish_counts(list: &[Count], threshold: u32) -> Vec<Count> {
    let mut out: Vec<Count> = list
        .iter()
        .map(|c| Count {
            key: c.key.clone(),
            count: withhold(c.count, threshold),
        })
        .collect();
    sort_counts(&mut out);
    out
}

/// Regions published: rare ones folded into one whose country is `unknown` and region
/// `other`, then thresholded.
fn publish_regions(list: &[Region], t: u32) -> Vec<Region> {
    let mut regions = Vec::with_capacity(list.len());
    let mut other = Sum::default();
    let mut folded = false;
    for r in list {
        let is_other = r.region == OTHER && r.country == UNKNOWN;
        if is_other || is_rare(r.count, t) {
            if r.count != Shown::Exact(0) {
                other.add(r.count);
                folded = true;
            }
        } else {
            regions.push(r.clone());
        }
    }
    if folded {
        regions.push(Region {
            country: UNKNOWN.to_owned(),
            region: OTHER.to_owned(),
            count: other.shown(t),
        });
    }
    sort_regions(&mut regions);
    regions
}

/// A free-text list published: rare entries folded into `other`, then thresholded.
fn publish_free(list: &[Count], threshold: u32) -> Vec<Count> {
    let mut out = Vec::with_capacity(list.len());
    let mut other = Sum::default();
    let mut folded = false;
    for c in list {
        if c.key == OTHER || is_rare(c.count, threshold) {
            if c.count != Shown::Exact(0) {
                other.add(c.count);
                folded = true;
            }
        } else {
            out.push(c.clone());
        }
    }
    if folded {
        out.push(Count {
            key: OTHER.to_owned(),
            count: other.shown(threshold),
        });
    }
    sort_counts(&mut out);
    out
}

impl Figures {
    /// The figures as they may leave the app (exports, reports, submissions, SVG/PNG):
    /// every count below `threshold` becomes [`Shown::FewerThan`]`(threshold)`; free-text
    /// categories (occupation, perpetrator type, region) below it are folded into one
    /// `"other"` entry (its count summed, then thresholded); coordinates are rounded to
    /// 0.1° and merged. Idempotent.
    ///
    /// A count of 0 stays `Exact(0)`; `FewerThan(t)` means 1 to t − 1. Regions fold into
    /// one entry whose country is `unknown` and region `other`. `cases` stays exact;
    /// `without_publish_consent` is thresholded like any count; `incidents` and `victims`
    /// too, and where a list that adds up to them (countries and the timeline for
    /// incidents, sex and occupation for victims) withholds a part, they are given as the
    /// range those lists already imply ([`Shown::Between`]): an exact total would let a
    /// reader subtract the shown parts and find the withheld one. A bin's total likewise,
    /// beside its act types. A threshold of 0 or 1 withholds
    /// nothing (the free-text lists are still not folded, the points still rounded).
    pub fn published(&self, threshold: u32) -> Figures {
        let t = threshold;
        let timeline = Timeline {
            period: self.timeline.period,
            bins: self
                .timeline
                .bins
                .iter()
                .map(|b| {
                    let by_act = publish_counts(&b.by_act, t);
                    Bin {
                        start: b.start,
                        total: publish_bin_total(b.total, &by_act, t),
                        by_act,
                    }
                })
                .collect(),
            coarse: self
                .timeline
                .coarse
                .iter()
                .map(|c| Coarse {
                    start: c.start,
                    precision: c.precision.clone(),
                    count: withhold(c.count, t),
                })
                .collect(),
            undated: withhold(self.timeline.undated, t),
        };

        let regions = publish_regions(&self.places.regions, t);
        let regions_without_points = publish_regions(&self.places.regions_without_points, t);

        // Rounded to 0.1° and merged, in the order first met (then sorted).
        let mut merged: Vec<((u64, u64), f64, f64, Sum)> = Vec::new();
        let mut at: HashMap<(u64, u64), usize> = HashMap::new();
        for p in &self.places.points {
            if !valid_point(p.lat, p.lon) {
                continue;
            }
            let (lat, lon) = (round_tenth(p.lat), round_tenth(p.lon));
            let key = point_key(lat, lon);
            let i = *at.entry(key).or_insert_with(|| {
                merged.push((key, lat, lon, Sum::default()));
                merged.len() - 1
            });
            merged[i].3.add(p.count);
        }
        let mut points: Vec<Point> = merged
            .into_iter()
            .map(|(_, lat, lon, sum)| Point {
                lat,
                lon,
                count: sum.shown(t),
            })
            .collect();
        sort_points(&mut points);

        let act_types = publish_counts(&self.act_types, t);
        let countries = publish_counts(&self.places.countries, t);
        let victims_by_sex = publish_counts(&self.victims_by_sex, t);
        let mut interventions: Vec<Mechanism> = self
            .interventions
            .iter()
            .map(|m| Mechanism {
                mechanism: m.mechanism.clone(),
                draft: withhold(m.draft, t),
                awaiting: withhold(m.awaiting, t),
                answered: withhold(m.answered, t),
            })
            .collect();
        let total = |m: &Mechanism| {
            [m.draft, m.awaiting, m.answered]
                .map(|s| u64::from(order_value(s)))
                .iter()
                .sum::<u64>()
        };
        interventions.sort_by(|a, b| {
            total(b)
                .cmp(&total(a))
                .then_with(|| a.mechanism.cmp(&b.mechanism))
        });

        let victims_by_occupation = publish_free(&self.victims_by_occupation, t);
        let over_time = implied(
            timeline
                .bins
                .iter()
                .map(|b| &b.total)
                .chain(timeline.coarse.iter().map(|c| &c.count))
                .chain([&timeline.undated]),
        );
        let incidents = publish_total(
            self.incidents,
            &[implied(countries.iter().map(|c| &c.count)), over_time],
            t,
        );
        let victims = publish_total(
            self.victims,
            &[
                implied(victims_by_sex.iter().map(|c| &c.count)),
                implied(victims_by_occupation.iter().map(|c| &c.count)),
            ],
            t,
        );

        Figures {
            cases: self.cases,
            incidents,
            victims,
            without_publish_consent: withhold(self.without_publish_consent, t),
            timeline,
            places: Places {
                countries,
                regions,
                points,
                regions_without_points,
            },
            act_types,
            victims_by_sex,
            victims_by_occupation,
            perpetrators_by_type: publish_free(&self.perpetrators_by_type, t),
            interventions,
            threshold: Some(t),
        }
    }
}

/// Rounded to a tenth of a degree (about 11 km): a point no longer marks a house.
fn round_tenth(x: f64) -> f64 {
    let r = (x * 10.0).round() / 10.0;
    // Rounding cannot leave the range, but keep the sign of zero out of the key.
    r + 0.0
}
