//! The figures drawn as charts. CONTRACT: each function draws one chart of `figures`
//! (exact or published) with `labels`, `width` points wide (height chosen by the chart),
//! mirrored for right-to-left labels (bars grow from the right, axes on the right).
//!
//! Plain charts readable at A4 text width (≈ 515 pt) and on screen (≈ 900 pt): a title,
//! a value axis with a few round ticks, every bar's count written beside it (through
//! [`Labels::count`], so withheld counts read "fewer than 3"; such a bar is drawn at
//! half the threshold in a lighter tint of its colour), a legend of coloured dots for
//! stacked bars. At most [`MAX_BARS`] bars per list: the rest are summed into "other".
//! Colours are the Okabe–Ito palette (told apart with any colour vision, and distinct
//! in grey print). Right to left, the whole chart is mirrored: labels on the right, bars
//! growing leftwards, time running from right to left.
//!
//! The only filled rectangles of a chart are its bars (one per bar segment); legend keys
//! are dots, axes and grid are lines.

use chrono::Datelike;

use crate::figures::Count;
use crate::scene::{Anchor, Item};
use crate::{Figures, Labels, Scene, Shown};

/// Bars in a list at most; beyond, the smallest are summed into one "other" bar.
pub const MAX_BARS: usize = 12;
/// Act types coloured in the timeline; the rest are stacked as one "other".
const MAX_STACKED: usize = 6;

/// Okabe–Ito, ordered so that neighbours differ in lightness too (grey print).
const PALETTE: [&str; 7] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
];
/// The "other" bars.
const OTHER_FILL: &str = "#999999";
const INK: &str = "#222222";
const MUTED: &str = "#555555";
const GRID: &str = "#d0d0d0";
const MARGIN: f64 = 8.0;
const TITLE_SIZE: f64 = 13.0;
const LABEL_SIZE: f64 = 9.5;
const SMALL: f64 = 8.0;

/// Incidents over time: a stacked bar per bin, by act type (the most frequent types
/// coloured, the rest as "other"), with a legend; coarse and undated counts stated
/// beneath.
pub fn timeline(figures: &Figures, labels: &Labels, width: f64) -> Scene {
    timeline_in(figures, labels, width)
}

/// Horizontal bars of one count list of the figures: `which` is `act_types`,
/// `victims_by_sex`, `victims_by_occupation` or `perpetrators_by_type` (any other word
/// draws the "no data" chart).
pub fn bars(figures: &Figures, which: &str, labels: &Labels, width: f64) -> Scene {
    bars_in(figures, which, labels, width)
}

/// Interventions by mechanism: a stacked bar per mechanism (draft, awaiting, answered).
pub fn interventions(figures: &Figures, labels: &Labels, width: f64) -> Scene {
    interventions_in(figures, labels, width)
}

/// Every chart of the figures, in the screen's and the report's order, with the map
/// first: (key, scene), key one of `map`, `timeline`, `act_types`, `victims_by_sex`,
/// `victims_by_occupation`, `perpetrators_by_type`, `interventions`. Charts with no data
/// are left out.
pub fn all(figures: &Figures, labels: &Labels, width: f64) -> Vec<(&'static str, Scene)> {
    let mut out = Vec::new();
    if has_places(figures) {
        out.push(("map", crate::map::draw(figures, labels, width)));
    }
    out.extend(charts_in(figures, labels, width));
    out
}

/// Whether the map has anything to show.
fn has_places(f: &Figures) -> bool {
    let p = &f.places;
    !p.points.is_empty()
        || !p.regions.is_empty()
        || p.countries
            .iter()
            .any(|c| c.key != "unknown" && shown(c.count))
}

/// The charts after the map, those with data.
fn charts_in(f: &Figures, w: &Labels, width: f64) -> Vec<(&'static str, Scene)> {
    let mut out = Vec::new();
    if timeline_has_data(f) {
        out.push(("timeline", timeline_in(f, w, width)));
    }
    for key in LISTS {
        if list_of(f, key).is_some_and(|l| l.iter().any(|c| shown(c.count))) {
            out.push((key, bars_in(f, key, w, width)));
        }
    }
    if f.interventions
        .iter()
        .any(|m| shown(m.draft) || shown(m.awaiting) || shown(m.answered))
    {
        out.push(("interventions", interventions_in(f, w, width)));
    }
    out
}

const LISTS: [&str; 4] = [
    "act_types",
    "victims_by_sex",
    "victims_by_occupation",
    "perpetrators_by_type",
];

fn list_of<'f>(f: &'f Figures, which: &str) -> Option<&'f [Count]> {
    Some(match which {
        "act_types" => &f.act_types,
        "victims_by_sex" => &f.victims_by_sex,
        "victims_by_occupation" => &f.victims_by_occupation,
        "perpetrators_by_type" => &f.perpetrators_by_type,
        _ => return None,
    })
}

/// The vocabulary a list's keys come from, for [`Labels::category`].
fn vocabulary(which: &str) -> &'static str {
    match which {
        "act_types" => "act_types",
        "victims_by_sex" => "sex",
        _ => "text",
    }
}

fn timeline_has_data(f: &Figures) -> bool {
    let t = &f.timeline;
    t.bins
        .iter()
        .any(|b| shown(b.total) || b.by_act.iter().any(|c| shown(c.count)))
        || t.coarse.iter().any(|c| shown(c.count))
        || shown(t.undated)
}

// ----- values -----

/// Whether a count is drawn at all (not zero).
fn shown(s: Shown) -> bool {
    !matches!(s, Shown::Exact(0))
}

/// A count as drawn: its height, its label, whether it is withheld (lighter fill).
#[derive(Debug, Clone, PartialEq)]
struct Val {
    value: f64,
    label: String,
    withheld: bool,
}

/// A count summed from several: exact counts added; each withheld one is at least 1
/// (stated as "≥ n") and drawn at half its threshold.
#[derive(Debug, Clone, Copy, Default)]
struct Sum {
    exact: u64,
    withheld: u64,
    drawn: f64,
    single: Option<Shown>,
    parts: usize,
    /// A part is a range ([`Shown::Between`]): the sum is its least value.
    ranged: bool,
}

impl Sum {
    fn add(&mut self, s: Shown) {
        if !shown(s) {
            return;
        }
        self.parts += 1;
        self.single = Some(s);
        match s {
            Shown::Exact(n) => {
                self.exact += u64::from(n);
                self.drawn += f64::from(n);
            }
            Shown::FewerThan(t) => {
                self.withheld += 1;
                self.drawn += f64::from(t) / 2.0;
            }
            Shown::Between(a, b) => {
                self.exact += u64::from(a);
                self.ranged = true;
                self.drawn += (f64::from(a) + f64::from(b)) / 2.0;
            }
        }
    }

    fn val(&self, w: &Labels) -> Val {
        match (self.parts, self.single) {
            (1, Some(s)) => val(s, w),
            _ if self.withheld == 0 && !self.ranged => Val {
                value: self.exact as f64,
                label: number(self.exact, w),
                withheld: false,
            },
            _ => Val {
                value: self.drawn,
                label: format!("≥ {}", number(self.exact + self.withheld, w)),
                withheld: true,
            },
        }
    }
}

fn number(n: u64, w: &Labels) -> String {
    w.number(n)
}

fn val(s: Shown, w: &Labels) -> Val {
    match s {
        Shown::Exact(n) => Val {
            value: f64::from(n),
            label: w.count(s),
            withheld: false,
        },
        Shown::FewerThan(t) => Val {
            value: f64::from(t.max(1)) / 2.0,
            label: w.count(s),
            withheld: true,
        },
        Shown::Between(a, b) => Val {
            value: (f64::from(a) + f64::from(b)) / 2.0,
            label: w.count(s),
            withheld: true,
        },
    }
}

/// The colour of a withheld count: the bar's colour, lighter.
fn lighter(hex: &str) -> String {
    let h = hex.trim_start_matches('#');
    let c = |i: usize| u8::from_str_radix(h.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0);
    let l = |v: u8| (f64::from(v) + (255.0 - f64::from(v)) * 0.6).round() as u8;
    format!("#{:02x}{:02x}{:02x}", l(c(0)), l(c(2)), l(c(4)))
}

/// Text colour readable on `fill`: white on dark colours, ink on light ones.
fn on(fill: &str) -> &'static str {
    let h = fill.trim_start_matches('#');
    let c =
        |i: usize| f64::from(u8::from_str_radix(h.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0));
    let luma = 0.299 * c(0) + 0.587 * c(2) + 0.114 * c(4);
    if luma < 140.0 {
        "#ffffff"
    } else {
        INK
    }
}

/// Round ticks from 0 covering `max`: (step, top).
fn ticks(max: f64) -> (f64, f64) {
    if !max.is_finite() || max <= 0.0 {
        return (1.0, 1.0);
    }
    let raw = max / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
        .max(1.0);
    (step, (max / step).ceil().max(1.0) * step)
}

/// A tick value as written (whole numbers).
fn tick_label(v: f64, w: &Labels) -> String {
    if v >= 0.0 && v <= f64::from(u32::MAX) {
        w.count(Shown::Exact(v.round() as u32))
    } else {
        w.digits(&format!("{v:.0}"))
    }
}

/// About how wide a text is (see [`crate::scene::text_width`]).
fn text_width(s: &str, size: f64) -> f64 {
    crate::scene::text_width(s, size)
}

/// A label as one clean line: line breaks and control characters become spaces.
fn clean(s: &str) -> Vec<char> {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    clean.trim().chars().collect()
}

fn width_of_chars(cs: &[char], size: f64) -> f64 {
    text_width(&cs.iter().collect::<String>(), size)
}

/// Whether `cs[i]` starts a character as drawn: not a combining mark (an accent, a
/// Burmese vowel sign or medial), not a joiner or selector, not a letter stacked under
/// the one before (after the Burmese virama), not a Burmese letter that closes the
/// syllable before (with asat) or stacks the next. A text cut there keeps its clusters
/// (and Burmese syllables) whole.
fn cluster_starts(cs: &[char], i: usize) -> bool {
    let Some(&c) = cs.get(i) else {
        return true;
    };
    if i == 0 {
        return true;
    }
    let prev = cs[i - 1];
    let next = cs.get(i + 1).copied();
    let joined = unicode_normalization::char::is_combining_mark(c)
        || matches!(c, '\u{200C}' | '\u{200D}' | '\u{FE00}'..='\u{FE0F}')
        || matches!(prev, '\u{1039}' | '\u{200D}')
        || (is_myanmar_letter(c) && matches!(next, Some('\u{103A}' | '\u{1039}')));
    !joined
}

fn is_cjk(c: char) -> bool {
    matches!(u32::from(c), 0x2E80..=0x2FFF | 0x3040..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0xAC00..=0xD7AF | 0x20000..=0x3FFFF)
}

/// A Burmese letter that can begin a syllable (consonant, independent vowel).
fn is_myanmar_letter(c: char) -> bool {
    matches!(u32::from(c), 0x1000..=0x102A | 0x103F | 0x104C..=0x104F | 0x1050..=0x1055 | 0x105A..=0x105D | 0x1061 | 0x1065 | 0x1066 | 0x106E..=0x1070 | 0x1075..=0x1081 | 0x108E)
}

/// Whether a line may break before `cs[i]`: after a space; between Chinese characters
/// (not before a closing mark, not after an opening one); before a Burmese syllable (a
/// letter not stacked under the one before, not closed by asat or stacking the next).
fn breaks_before(cs: &[char], i: usize) -> bool {
    if i == 0 || i >= cs.len() {
        return false;
    }
    let (prev, c) = (cs[i - 1], cs[i]);
    if prev.is_whitespace() || prev == '\u{200B}' {
        return !c.is_whitespace();
    }
    if c.is_whitespace() || !cluster_starts(cs, i) {
        return false;
    }
    const NO_BREAK_BEFORE: &str = "，。、：；！？）」』】》〉〕…·‥,.:;!?)]}%၊။";
    const NO_BREAK_AFTER: &str = "（「『【《〈〔([{";
    if NO_BREAK_BEFORE.contains(c) || NO_BREAK_AFTER.contains(prev) {
        return false;
    }
    if is_cjk(c) || is_cjk(prev) {
        return true;
    }
    is_myanmar_letter(c) && ('\u{1000}'..='\u{109F}').contains(&prev)
}

/// A label on one line cut to `width` points at `size` (on a character boundary, never
/// inside a cluster), "…" marking the cut; line breaks and control characters become
/// spaces.
fn fit(s: &str, width: f64, size: f64) -> String {
    let cs = clean(s);
    if width_of_chars(&cs, size) <= width {
        return cs.into_iter().collect();
    }
    let ellipsis = text_width("…", size);
    let mut cut = 0;
    for j in 1..cs.len() {
        if !cluster_starts(&cs, j) {
            continue;
        }
        let head: String = cs[..j].iter().collect();
        if text_width(head.trim_end(), size) + ellipsis > width {
            break;
        }
        cut = j;
    }
    if cut == 0 {
        // Not even one character and the mark: the first character, marked.
        cut = (1..=cs.len())
            .find(|j| cluster_starts(&cs, *j))
            .unwrap_or(cs.len());
    }
    let mut out: String = cs[..cut].iter().collect::<String>().trim_end().to_owned();
    out.push('…');
    out
}

/// A label on one line, or on two when it is wider than `width` points at `size`:
/// broken between words, between Chinese characters or between Burmese syllables (the
/// latest break that fits), the second line cut with "…" if still too long. A first
/// word wider than a line is cut.
fn wrap2(s: &str, width: f64, size: f64) -> Vec<String> {
    let cs = clean(s);
    if width_of_chars(&cs, size) <= width {
        return vec![cs.into_iter().collect()];
    }
    let mut best = None;
    for i in 1..cs.len() {
        if !breaks_before(&cs, i) {
            continue;
        }
        let first: String = cs[..i].iter().collect();
        if text_width(first.trim_end(), size) > width {
            break;
        }
        best = Some(i);
    }
    let Some(i) = best else {
        return vec![fit(s, width, size)];
    };
    let first: String = cs[..i].iter().collect();
    let rest: String = cs[i..].iter().collect();
    vec![
        first.trim_end().to_owned(),
        fit(rest.trim_start(), width, size),
    ]
}

/// A usable chart width.
fn width_of(width: f64) -> f64 {
    if width.is_finite() {
        width.clamp(240.0, 4000.0)
    } else {
        515.0
    }
}

// ----- drawing, mirrored for right-to-left -----

/// Items laid out left to right, mirrored as they are added when `rtl`.
struct Canvas {
    width: f64,
    rtl: bool,
    items: Vec<Item>,
}

impl Canvas {
    fn new(width: f64, w: &Labels) -> Canvas {
        Canvas {
            width,
            rtl: w.rtl,
            items: Vec::new(),
        }
    }

    fn x(&self, x: f64) -> f64 {
        if self.rtl {
            self.width - x
        } else {
            x
        }
    }

    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str) {
        let x = if self.rtl { self.width - x - w } else { x };
        self.items.push(Item::Rect {
            x,
            y,
            w,
            h,
            fill: fill.to_owned(),
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn text(&mut self, x: f64, y: f64, s: &str, size: f64, anchor: Anchor, bold: bool, fill: &str) {
        let anchor = match (anchor, self.rtl) {
            (Anchor::Start, true) => Anchor::End,
            (Anchor::End, true) => Anchor::Start,
            (a, _) => a,
        };
        self.items.push(Item::Text {
            x: self.x(x),
            y,
            text: s.to_owned(),
            size,
            anchor,
            bold,
            fill: fill.to_owned(),
            rtl: self.rtl,
        });
    }

    fn line(&mut self, points: &[(f64, f64)], stroke: &str, width: f64) {
        let points = points.iter().map(|(x, y)| (self.x(*x), *y)).collect();
        self.items.push(Item::Line {
            points,
            stroke: stroke.to_owned(),
            width,
        });
    }

    fn dot(&mut self, cx: f64, cy: f64, r: f64, fill: &str) {
        self.items.push(Item::Circle {
            cx: self.x(cx),
            cy,
            r,
            fill: fill.to_owned(),
            opacity: 1.0,
        });
    }

    /// The chart's title at the top; returns the y below it.
    fn title(&mut self, title: &str) -> f64 {
        let t = fit(title, self.width - 2.0 * MARGIN, TITLE_SIZE * 1.05);
        self.text(MARGIN, 18.0, &t, TITLE_SIZE, Anchor::Start, true, INK);
        30.0
    }

    /// A legend of coloured dots from `x` at `y`, wrapping; returns the y below it.
    fn legend(&mut self, entries: &[(String, String)], y: f64) -> f64 {
        let mut x = MARGIN;
        let mut y = y + SMALL;
        for (label, fill) in entries {
            let label = fit(label, self.width / 2.0, SMALL);
            let w = 12.0 + text_width(&label, SMALL) + 12.0;
            if x > MARGIN && x + w > self.width - MARGIN {
                x = MARGIN;
                y += SMALL * 1.8;
            }
            self.dot(x + 4.0, y - SMALL * 0.35, 4.0, fill);
            self.text(x + 11.0, y, &label, SMALL, Anchor::Start, false, INK);
            x += w;
        }
        y + SMALL
    }

    fn finish(self, title: String, height: f64) -> Scene {
        Scene {
            width: self.width,
            height,
            title,
            items: self.items,
        }
    }
}

/// The "no data" chart: its title and the words.
fn no_data(title: String, w: &Labels, width: f64) -> Scene {
    let mut c = Canvas::new(width, w);
    let y = c.title(&title);
    c.text(
        MARGIN,
        y + 20.0,
        &w.text("no_data"),
        LABEL_SIZE,
        Anchor::Start,
        false,
        MUTED,
    );
    c.finish(title, y + 34.0)
}

// ----- horizontal bars -----

/// One bar of a horizontal bar chart: its label and its segments (value, fill).
struct Row {
    label: String,
    segments: Vec<(Val, String)>,
    /// The label after the bar: the count, or for stacked bars the total.
    end_label: String,
}

/// Draws rows of horizontal bars under a title; returns the scene.
fn horizontal(
    title: String,
    rows: &[Row],
    legend: &[(String, String)],
    w: &Labels,
    width: f64,
) -> Scene {
    let mut c = Canvas::new(width, w);
    let mut y = c.title(&title);
    if !legend.is_empty() {
        y = c.legend(legend, y) + 4.0;
    }
    let label_w = (width * 0.32).min(200.0);
    let value_w = rows
        .iter()
        .map(|r| text_width(&r.end_label, SMALL))
        .fold(24.0_f64, f64::max)
        .min(width * 0.25)
        + 6.0;
    let x0 = MARGIN + label_w + 6.0;
    let x1 = width - MARGIN - value_w;
    let span = (x1 - x0).max(10.0);
    let max = rows
        .iter()
        .map(|r| r.segments.iter().map(|(v, _)| v.value).sum::<f64>())
        .fold(0.0, f64::max);
    let (step, top) = ticks(max);
    let scale = span / top;
    let labels: Vec<Vec<String>> = rows
        .iter()
        .map(|r| wrap2(&r.label, label_w, LABEL_SIZE))
        .collect();
    // A long label (a mechanism's full name) takes two lines: every row is then taller.
    let row_h = if labels.iter().any(|l| l.len() > 1) {
        26.0
    } else {
        20.0
    };
    let bar_h = 13.0;
    let top_y = y + 4.0;
    let bottom_y = top_y + rows.len() as f64 * row_h;
    // Grid and tick labels.
    let mut t = 0.0;
    while t <= top + step / 2.0 {
        let x = x0 + t * scale;
        c.line(&[(x, top_y), (x, bottom_y)], GRID, 0.5);
        c.text(
            x,
            bottom_y + 11.0,
            &tick_label(t, w),
            SMALL,
            Anchor::Middle,
            false,
            MUTED,
        );
        t += step;
    }
    for (i, (row, lines)) in rows.iter().zip(&labels).enumerate() {
        let ry = top_y + i as f64 * row_h + (row_h - bar_h) / 2.0;
        let first = if lines.len() > 1 {
            ry + 4.5
        } else {
            ry + bar_h - 3.0
        };
        for (k, line) in lines.iter().enumerate() {
            c.text(
                x0 - 6.0,
                first + k as f64 * (LABEL_SIZE + 1.5),
                line,
                LABEL_SIZE,
                Anchor::End,
                false,
                INK,
            );
        }
        let mut x = x0;
        for (v, fill) in &row.segments {
            if v.value <= 0.0 {
                continue;
            }
            let bw = (v.value * scale).max(1.0);
            let fill = if v.withheld {
                lighter(fill)
            } else {
                fill.clone()
            };
            c.rect(x, ry, bw, bar_h, &fill);
            // The segment's own count inside it, where it fits (stacked bars).
            if row.segments.len() > 1 && text_width(&v.label, SMALL) + 4.0 < bw {
                c.text(
                    x + bw / 2.0,
                    ry + bar_h - 3.5,
                    &v.label,
                    SMALL,
                    Anchor::Middle,
                    false,
                    on(&fill),
                );
            }
            x += bw;
        }
        c.text(
            x + 4.0,
            ry + bar_h - 3.0,
            &row.end_label,
            SMALL,
            Anchor::Start,
            false,
            INK,
        );
    }
    c.line(&[(x0, top_y), (x0, bottom_y)], MUTED, 0.8);
    c.finish(title, bottom_y + 20.0)
}

/// A list cut to [`MAX_BARS`] bars, the rest (and any "other" already there) summed
/// into one "other" at the end.
fn folded(list: &[Count]) -> Vec<(String, Sum)> {
    let mut items: Vec<&Count> = list.iter().filter(|c| shown(c.count)).collect();
    // Largest first (withheld counts as their drawn size); stable, so ties keep order.
    let size = |s: Shown| match s {
        Shown::Exact(n) => f64::from(n),
        Shown::FewerThan(t) => f64::from(t) / 2.0,
        Shown::Between(a, b) => (f64::from(a) + f64::from(b)) / 2.0,
    };
    items.sort_by(|a, b| size(b.count).total_cmp(&size(a.count)));
    let mut out: Vec<(String, Sum)> = Vec::new();
    let mut other = Sum::default();
    let room = if items.len() > MAX_BARS {
        MAX_BARS - 1
    } else {
        MAX_BARS
    };
    for c in items {
        if c.key == "other" || out.len() >= room {
            other.add(c.count);
        } else {
            let mut s = Sum::default();
            s.add(c.count);
            out.push((c.key.clone(), s));
        }
    }
    if other.parts > 0 {
        out.push(("other".to_owned(), other));
    }
    out
}

fn category(w: &Labels, list: &str, key: &str) -> String {
    match key {
        "other" | "unknown" => w.text(key),
        _ => w.category(list, key),
    }
}

fn bars_in(f: &Figures, which: &str, w: &Labels, width: f64) -> Scene {
    let width = width_of(width);
    let Some(list) = list_of(f, which) else {
        return no_data(w.text("no_data"), w, width);
    };
    let title = w.text(&format!("title.{which}"));
    let bars = folded(list);
    if bars.is_empty() {
        return no_data(title, w, width);
    }
    let vocab = vocabulary(which);
    let rows: Vec<Row> = bars
        .iter()
        .enumerate()
        .map(|(i, (key, sum))| {
            let v = sum.val(w);
            let fill = if key == "other" {
                OTHER_FILL
            } else if which == "victims_by_sex" {
                PALETTE[i % PALETTE.len()]
            } else {
                PALETTE[0]
            };
            Row {
                label: category(w, vocab, key),
                end_label: v.label.clone(),
                segments: vec![(v, fill.to_owned())],
            }
        })
        .collect();
    horizontal(title, &rows, &[], w, width)
}

fn interventions_in(f: &Figures, w: &Labels, width: f64) -> Scene {
    let width = width_of(width);
    let title = w.text("title.interventions");
    let mut ms: Vec<&crate::figures::Mechanism> = f
        .interventions
        .iter()
        .filter(|m| shown(m.draft) || shown(m.awaiting) || shown(m.answered))
        .collect();
    if ms.is_empty() {
        return no_data(title, w, width);
    }
    let total = |m: &crate::figures::Mechanism| {
        let mut s = Sum::default();
        s.add(m.draft);
        s.add(m.awaiting);
        s.add(m.answered);
        s.drawn
    };
    ms.sort_by(|a, b| total(b).total_cmp(&total(a)));
    let fills = [PALETTE[4], PALETTE[1], PALETTE[0]];
    let room = if ms.len() > MAX_BARS {
        MAX_BARS - 1
    } else {
        MAX_BARS
    };
    let mut groups: Vec<(String, [Sum; 3])> = Vec::new();
    let mut other = [Sum::default(); 3];
    let mut any_other = false;
    for m in ms {
        let parts = [m.draft, m.awaiting, m.answered];
        if m.mechanism == "other" || groups.len() >= room {
            any_other = true;
            for (o, p) in other.iter_mut().zip(parts) {
                o.add(p);
            }
        } else {
            let mut sums = [Sum::default(); 3];
            for (s, p) in sums.iter_mut().zip(parts) {
                s.add(p);
            }
            groups.push((m.mechanism.clone(), sums));
        }
    }
    if any_other {
        groups.push(("other".to_owned(), other));
    }
    let rows: Vec<Row> = groups
        .iter()
        .map(|(key, sums)| {
            let mut all = Sum::default();
            for s in sums {
                all.exact += s.exact;
                all.withheld += s.withheld;
                all.drawn += s.drawn;
                all.parts += s.parts;
                if s.parts > 0 {
                    all.single = s.single;
                }
            }
            Row {
                label: category(w, "mechanisms", key),
                end_label: all.val(w).label,
                segments: sums
                    .iter()
                    .zip(fills)
                    .map(|(s, fill)| (s.val(w), fill.to_owned()))
                    .collect(),
            }
        })
        .collect();
    let legend: Vec<(String, String)> = ["draft", "awaiting", "answered"]
        .iter()
        .zip(fills)
        .map(|(k, fill)| (w.text(&format!("status.{k}")), fill.to_owned()))
        .collect();
    horizontal(title, &rows, &legend, w, width)
}

// ----- the timeline -----

fn timeline_in(f: &Figures, w: &Labels, width: f64) -> Scene {
    let width = width_of(width);
    let title = w.text("title.timeline");
    if !timeline_has_data(f) {
        return no_data(title, w, width);
    }
    let t = &f.timeline;
    // The act types stacked: the most frequent coloured, the rest "other".
    let mut totals: Vec<(String, f64)> = Vec::new();
    for b in &t.bins {
        for c in b.by_act.iter().filter(|c| shown(c.count)) {
            let v = val(c.count, w).value;
            match totals.iter_mut().find(|(k, _)| *k == c.key) {
                Some((_, s)) => *s += v,
                None => totals.push((c.key.clone(), v)),
            }
        }
    }
    totals.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let coloured: Vec<String> = totals
        .iter()
        .filter(|(k, _)| k != "other")
        .take(if totals.len() > MAX_STACKED + 1 {
            MAX_STACKED
        } else {
            MAX_STACKED + 1
        })
        .map(|(k, _)| k.clone())
        .collect();
    let has_other = totals.iter().any(|(k, _)| !coloured.contains(k));
    let mut groups: Vec<(String, String)> = coloured
        .iter()
        .enumerate()
        .map(|(i, k)| (k.clone(), PALETTE[i % PALETTE.len()].to_owned()))
        .collect();
    if has_other {
        groups.push(("other".to_owned(), OTHER_FILL.to_owned()));
    }
    // Each bin's segments, in the groups' order.
    let stacks: Vec<Vec<Val>> = t
        .bins
        .iter()
        .map(|b| {
            let mut sums = vec![Sum::default(); groups.len()];
            for c in &b.by_act {
                let g = coloured
                    .iter()
                    .position(|k| *k == c.key)
                    .unwrap_or(groups.len().saturating_sub(1));
                if let Some(s) = sums.get_mut(g) {
                    s.add(c.count);
                }
            }
            sums.iter().map(|s| s.val(w)).collect()
        })
        .collect();

    let mut c = Canvas::new(width, w);
    let mut y = c.title(&title);
    let legend: Vec<(String, String)> = groups
        .iter()
        .map(|(k, fill)| (category(w, "act_types", k), fill.clone()))
        .collect();
    if !legend.is_empty() {
        y = c.legend(&legend, y) + 6.0;
    }
    let max = stacks
        .iter()
        .map(|s| s.iter().map(|v| v.value).sum::<f64>())
        .fold(0.0, f64::max);
    let (step, top) = ticks(max);
    let axis_w = text_width(&tick_label(top, w), SMALL) + 6.0;
    let x0 = MARGIN + axis_w;
    let x1 = width - MARGIN;
    let plot_h = 150.0;
    let top_y = y + 6.0;
    let base_y = top_y + plot_h;
    let scale = plot_h / top;
    let mut v = 0.0;
    while v <= top + step / 2.0 {
        let gy = base_y - v * scale;
        c.line(&[(x0, gy), (x1, gy)], GRID, 0.5);
        c.text(
            x0 - 3.0,
            gy + 3.0,
            &tick_label(v, w),
            SMALL,
            Anchor::End,
            false,
            MUTED,
        );
        v += step;
    }
    let n = t.bins.len().max(1) as f64;
    let slot = (x1 - x0) / n;
    // Bars no wider than a few labels, even for a timeline of one or two bins.
    let bar_w = (slot * 0.8).clamp(0.3, 48.0);
    for (i, (bin, stack)) in t.bins.iter().zip(&stacks).enumerate() {
        let bx = x0 + i as f64 * slot + (slot - bar_w) / 2.0;
        let mut by = base_y;
        for (v, (_, fill)) in stack.iter().zip(&groups) {
            if v.value <= 0.0 {
                continue;
            }
            let h = v.value * scale;
            let fill = if v.withheld {
                lighter(fill)
            } else {
                fill.clone()
            };
            c.rect(bx, by - h, bar_w, h, &fill);
            by -= h;
        }
        // The bin's total above its bar, where there is room.
        if shown(bin.total) {
            let label = w.count(bin.total);
            if text_width(&label, SMALL) <= slot {
                c.text(
                    bx + bar_w / 2.0,
                    by - 2.0,
                    &label,
                    SMALL,
                    Anchor::Middle,
                    false,
                    INK,
                );
            }
        }
    }
    c.line(&[(x0, base_y), (x1, base_y)], MUTED, 0.8);
    // The time axis: month names (the year under January and under the first bin), or
    // week numbers, as many as fit.
    let months: Vec<String> = w
        .text("months")
        .split(',')
        .map(|m| m.trim().to_owned())
        .collect();
    let label_of = |d: chrono::NaiveDate| match t.period {
        crate::Period::Month => months
            .get(d.month0() as usize)
            .filter(|m| !m.is_empty())
            .cloned()
            .unwrap_or_else(|| w.digits(&format!("{:02}", d.month()))),
        crate::Period::Week => {
            let wk = d.iso_week();
            w.text("week")
                .replace("{n}", &w.number(wk.week()))
                .replace("{year}", &w.number(wk.year()))
        }
    };
    let widest = t
        .bins
        .iter()
        .map(|b| text_width(&label_of(b.start), SMALL))
        .fold(text_width("0000", SMALL), f64::max)
        + 4.0;
    let every = ((widest / slot).ceil().max(1.0)) as usize;
    // The year under the first bin labelled and under the first labelled of each year
    // (January, when every month is labelled).
    let mut year_written = None;
    for (i, bin) in t.bins.iter().enumerate().filter(|(i, _)| i % every == 0) {
        let cx = x0 + (i as f64 + 0.5) * slot;
        c.text(
            cx,
            base_y + 11.0,
            &label_of(bin.start),
            SMALL,
            Anchor::Middle,
            false,
            MUTED,
        );
        let year = bin.start.year();
        if t.period == crate::Period::Month && year_written != Some(year) {
            c.text(
                cx,
                base_y + 21.0,
                &w.number(year),
                SMALL,
                Anchor::Middle,
                true,
                MUTED,
            );
            year_written = Some(year);
        }
    }
    let mut y = base_y + 36.0;
    // Coarse and undated counts, stated in words.
    let line_w = width - 2.0 * MARGIN;
    let mut notes: Vec<String> = Vec::new();
    // A bar stacked higher than its incidents: say why (told by the shown counts alone).
    let least = |s: Shown| match s {
        Shown::Exact(n) | Shown::Between(n, _) => u64::from(n),
        Shown::FewerThan(_) => 1,
    };
    let most = |s: Shown| match s {
        Shown::Exact(n) | Shown::Between(_, n) => u64::from(n),
        Shown::FewerThan(t) => u64::from(t.saturating_sub(1)),
    };
    if t.bins.iter().any(|b| {
        b.by_act
            .iter()
            .filter(|c| shown(c.count))
            .map(|c| least(c.count))
            .sum::<u64>()
            > most(b.total)
    }) {
        notes.push(w.text("several_acts"));
    }
    for k in &t.coarse {
        if !shown(k.count) {
            continue;
        }
        let when = if k.precision == "year" {
            w.number(k.start.year())
        } else {
            format!(
                "{} {}",
                label_of_month(&months, k.start, w),
                w.number(k.start.year())
            )
        };
        let what = if k.precision == "year" {
            "coarse.year"
        } else {
            "coarse.month"
        };
        notes.push(format!("{} {when}: {}", w.text(what), w.count(k.count)));
    }
    if shown(t.undated) {
        notes.push(format!("{}: {}", w.text("undated"), w.count(t.undated)));
    }
    const MAX_NOTES: usize = 4;
    if notes.len() > MAX_NOTES {
        let rest = notes.split_off(MAX_NOTES - 1);
        notes.push(fit(&rest.join("; "), line_w, SMALL));
    }
    for note in notes {
        c.text(
            MARGIN,
            y,
            &fit(&note, line_w, SMALL),
            SMALL,
            Anchor::Start,
            false,
            INK,
        );
        y += SMALL * 1.6;
    }
    c.finish(title, y + 4.0)
}

fn label_of_month(months: &[String], d: chrono::NaiveDate, w: &Labels) -> String {
    months
        .get(d.month0() as usize)
        .filter(|m| !m.is_empty())
        .cloned()
        .unwrap_or_else(|| w.digits(&format!("{:02}", d.month())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_maximum() {
        assert_eq!(ticks(5.0), (2.0, 6.0));
        assert_eq!(ticks(1.0), (1.0, 1.0));
        assert_eq!(ticks(0.0), (1.0, 1.0));
        assert_eq!(ticks(f64::NAN), (1.0, 1.0));
        assert_eq!(ticks(97.0), (50.0, 100.0));
        let (step, top) = ticks(f64::from(u32::MAX));
        assert!(top >= f64::from(u32::MAX) && top / step <= 5.0);
    }

    /// The width of `n` Latin characters at size 1, with a little room.
    fn chars(n: usize) -> f64 {
        n as f64 * 0.6 + 0.01
    }

    #[test]
    fn labels_are_cut_on_a_character_boundary() {
        assert_eq!(fit("abc", chars(5), 1.0), "abc");
        assert_eq!(fit("ضحايا الاعتقال", chars(6), 1.0), "ضحايا…");
        assert_eq!(fit("a\nb\tc", chars(10), 1.0), "a b c");
        assert_eq!(fit("éééééé", chars(3), 1.0).chars().count(), 3);
        // An accent written as a combining mark stays with its letter.
        assert_eq!(
            fit("e\u{301}e\u{301}e\u{301}e\u{301}", chars(3), 1.0),
            "e\u{301}e\u{301}…"
        );
        // Chinese: about 1 em a character.
        assert_eq!(fit("按职业分列的受害者", 4.7, 1.0), "按职业分…");
    }

    #[test]
    fn burmese_is_cut_and_broken_between_syllables_only() {
        // "Victims by occupation": each piece of a break or cut must be whole syllables,
        // never a letter parted from its vowel signs, medials, asat or stacked letter.
        let label = "အလုပ်အကိုင်အလိုက် ထိခိုက်နစ်နာသူများ";
        let syllables = [
            "အ",
            "လုပ်",
            "အ",
            "ကိုင်",
            "အ",
            "လိုက်",
            " ",
            "ထိ",
            "ခိုက်",
            "နစ်",
            "နာ",
            "သူ",
            "များ",
        ];
        assert_eq!(syllables.concat(), label);
        let mut bounds = vec![0];
        for s in syllables {
            bounds.push(bounds[bounds.len() - 1] + s.len());
        }
        let whole = |piece: &str| {
            let piece = piece.trim_end_matches('…').trim();
            let at = label.find(piece).expect("a piece of the label");
            bounds.contains(&at) && bounds.contains(&(at + piece.len()))
        };
        for w in 2..30 {
            for line in wrap2(label, f64::from(w), 1.0) {
                assert!(whole(line.trim()), "{w}: {line}");
            }
            assert!(whole(&fit(label, f64::from(w), 1.0)), "{w}");
        }
        // With room for half, two lines: the break falls between two syllables.
        let lines = wrap2(label, 10.0, 1.0);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(!lines[1].ends_with('…'), "{lines:?}");
    }

    #[test]
    fn chinese_breaks_between_characters_not_before_a_closing_mark() {
        let lines = wrap2("少于（三）人，已记录", 5.0, 1.0);
        assert_eq!(lines, vec!["少于（三）", "人，已记录"]);
        let lines = wrap2("按职业分列的受害者", 5.0, 1.0);
        assert_eq!(lines, vec!["按职业分列", "的受害者"]);
        // Latin: between words, as before.
        assert_eq!(
            wrap2("Special Rapporteur on torture", chars(20), 1.0),
            vec!["Special Rapporteur", "on torture"]
        );
    }

    #[test]
    fn withheld_fills_are_lighter_and_text_stays_readable() {
        assert_eq!(lighter("#000000"), "#999999");
        assert_eq!(lighter("#ffffff"), "#ffffff");
        assert_eq!(on("#0072B2"), "#ffffff");
        assert_eq!(on("#F0E442"), INK);
        assert_eq!(on(&lighter("#0072B2")), INK);
    }

    #[test]
    fn long_lists_fold_into_other_and_withheld_sums_are_a_lower_bound() {
        let list: Vec<Count> = (0..20)
            .map(|i| Count {
                key: format!("k{i}"),
                count: if i < 15 {
                    Shown::Exact(20 - i)
                } else {
                    Shown::FewerThan(3)
                },
            })
            .collect();
        let f = folded(&list);
        assert_eq!(f.len(), MAX_BARS);
        let (key, other) = &f[MAX_BARS - 1];
        assert_eq!(key, "other");
        // k11..k14 exact (9+8+7+6 = 30) and five withheld, each at least 1.
        assert_eq!(other.exact, 30);
        assert_eq!(other.withheld, 5);
        assert!((other.drawn - 37.5).abs() < 1e-9);
        // Zero counts are no bars.
        assert!(folded(&[Count {
            key: "a".into(),
            count: Shown::Exact(0)
        }])
        .is_empty());
    }
}
