//! The map: country boundaries and region centres from Natural Earth (public domain),
//! shipped in `data/` and read from memory; nothing is fetched.
//!
//! CONTRACT: [`draw`] shades countries by incident count, draws a circle per region
//! (at the region's Natural Earth label point, matched by name within its country) and
//! per coordinate point, sized by count, framed on the incidents' extent (the whole
//! world when they span it), with a legend.
//!
//! The projection is equirectangular with its standard parallel at the frame's middle
//! latitude (plate carrée for the whole world, cut at 58° S and 84° N): straight
//! meridians and parallels, exact for framing and for telling where a point lies, and
//! with little distortion on the regional frames most maps show.
//!
//! Region names match ignoring case, accents, apostrophes and common words ("province",
//! "state", "governorate", "oblast", "ostan", "wilaya" and their kin, "of", "al" …).
//! Names are not transliterated: a region written in Arabic or Persian letters, or in a
//! Latin spelling other than Natural Earth's, matches only if the folded names are equal.

mod data;

use crate::scene::{Anchor, Item};
use crate::{Figures, Labels, Scene, Shown};

pub use data::{country_bounds, country_name, region_point};

/// The five fills of countries with incidents, light to dark.
pub const SHADES: [&str; 5] = ["#fdd49e", "#fdbb84", "#fc8d59", "#e34a33", "#b30000"];
/// The fill of countries with no incident.
pub const NO_DATA_FILL: &str = "#e4e4e4";
/// The fill of the region and point circles.
pub const CIRCLE_FILL: &str = "#08519c";
/// The sea behind the countries.
const SEA: &str = "#f4f8fb";
const BORDER: &str = "#ffffff";
const INK: &str = "#222222";
const MARGIN: f64 = 10.0;
/// How many of the countries with most incidents are named on the map.
const NAMED: usize = 5;

/// The words the map needs, so the drawing can be tested apart from the locales.
trait Words {
    fn text(&self, key: &str) -> String;
    fn count(&self, shown: Shown) -> String;
    fn lang(&self) -> &str;
    fn rtl(&self) -> bool;
}

impl Words for Labels {
    fn text(&self, key: &str) -> String {
        Labels::text(self, key)
    }
    fn count(&self, shown: Shown) -> String {
        Labels::count(self, shown)
    }
    fn lang(&self) -> &str {
        &self.lang
    }
    fn rtl(&self) -> bool {
        self.rtl
    }
}

/// How latitude and longitude become scene points on a map drawn by [`draw`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projection {
    /// West edge of the frame, degrees.
    pub west: f64,
    /// East edge, degrees.
    pub east: f64,
    /// South edge, degrees.
    pub south: f64,
    /// North edge, degrees.
    pub north: f64,
    /// The map area in the scene: left, top, width, height (points).
    pub area: (f64, f64, f64, f64),
    /// True when the frame is the whole world.
    pub world: bool,
}

impl Projection {
    /// Scene point (x, y) of (lat, lon).
    pub fn project(&self, lat: f64, lon: f64) -> (f64, f64) {
        let (x0, y0, w, h) = self.area;
        (
            x0 + (lon - self.west) / (self.east - self.west) * w,
            y0 + (self.north - lat) / (self.north - self.south) * h,
        )
    }

    /// (lat, lon) of a scene point.
    pub fn unproject(&self, x: f64, y: f64) -> (f64, f64) {
        let (x0, y0, w, h) = self.area;
        (
            self.north - (y - y0) / h * (self.north - self.south),
            self.west + (x - x0) / w * (self.east - self.west),
        )
    }

    fn contains(&self, lat: f64, lon: f64) -> bool {
        lat >= self.south && lat <= self.north && lon >= self.west && lon <= self.east
    }
}

/// The projection [`draw`] uses for `figures` at `width`.
pub fn projection(figures: &Figures, width: f64) -> Projection {
    frame(&places(figures), sane_width(width))
}

/// The map of `figures`, `width` points wide.
pub fn draw(figures: &Figures, labels: &Labels, width: f64) -> Scene {
    draw_with(figures, labels, width)
}

fn sane_width(width: f64) -> f64 {
    if width.is_finite() {
        width.clamp(200.0, 20_000.0)
    } else {
        600.0
    }
}

/// A count as a number for shading and sizing: a withheld count ranks below the
/// threshold (as one less than it).
fn value(shown: Shown) -> f64 {
    match shown {
        Shown::Exact(n) => f64::from(n),
        Shown::FewerThan(n) => f64::from(n.saturating_sub(1).max(1)),
        Shown::Between(a, _) => f64::from(a),
    }
}

fn is_zero(shown: Shown) -> bool {
    matches!(shown, Shown::Exact(0))
}

/// What of the figures can be placed on the map.
struct Placed {
    /// (shape index list's ISO, count) of countries with a shape.
    countries: Vec<(String, Shown)>,
    /// (lat, lon, count) of valid points, and of matched regions for the incidents
    /// without coordinates.
    circles: Vec<(f64, f64, Shown)>,
    /// Counts that could not be placed (unknown country, or one with no shape).
    unplaced: Vec<Shown>,
}

fn places(figures: &Figures) -> Placed {
    let mut countries = Vec::new();
    let mut unplaced = Vec::new();
    for c in &figures.places.countries {
        if is_zero(c.count) {
            continue;
        }
        let iso = c.key.trim().to_ascii_uppercase();
        if data::has_shape(&iso) {
            countries.push((iso, c.count));
        } else {
            unplaced.push(c.count);
        }
    }
    let mut circles = Vec::new();
    // An incident is drawn once: at its coordinates, else at its region's point.
    for r in &figures.places.regions_without_points {
        if is_zero(r.count) {
            continue;
        }
        if let Some((lat, lon)) = region_point(&r.country, &r.region) {
            circles.push((lat, lon, r.count));
        }
    }
    for p in &figures.places.points {
        let valid = p.lat.is_finite()
            && p.lon.is_finite()
            && (-90.0..=90.0).contains(&p.lat)
            && (-180.0..=180.0).contains(&p.lon);
        if valid && !is_zero(p.count) {
            circles.push((p.lat, p.lon, p.count));
        }
    }
    Placed {
        countries,
        circles,
        unplaced,
    }
}

const WORLD: (f64, f64, f64, f64) = (-180.0, 180.0, -58.0, 84.0);

fn frame(placed: &Placed, width: f64) -> Projection {
    let mut bounds: Option<(f64, f64, f64, f64)> = None;
    let mut add = |w: f64, e: f64, s: f64, n: f64| {
        bounds = Some(match bounds {
            None => (w, e, s, n),
            Some((a, b, c, d)) => (a.min(w), b.max(e), c.min(s), d.max(n)),
        });
    };
    for (iso, _) in &placed.countries {
        if let Some((w, s, e, n)) = data::country_frame(iso) {
            add(w, e, s, n);
        }
    }
    for &(lat, lon, _) in &placed.circles {
        add(lon, lon, lat, lat);
    }
    let map_w = width - 2.0 * MARGIN;
    let world = |area_h: f64| Projection {
        west: WORLD.0,
        east: WORLD.1,
        south: WORLD.2,
        north: WORLD.3,
        area: (MARGIN, MARGIN, map_w, area_h),
        world: true,
    };
    let world_h = map_w * (WORLD.3 - WORLD.2) / (WORLD.1 - WORLD.0);
    let Some((w, e, s, n)) = bounds else {
        return world(world_h);
    };
    if e - w > 180.0 || n - s > 90.0 {
        return world(world_h);
    }
    // Pad by a tenth each side, at least a few degrees around a single place.
    let (cx, cy) = ((w + e) / 2.0, (s + n) / 2.0);
    let half_w = ((e - w) * 0.6).max(5.0);
    let half_h = ((n - s) * 0.6).max(3.0);
    let mut half_h = half_h.min(85.0);
    let cos = cy.clamp(-60.0, 60.0).to_radians().cos();
    let mut half_w = half_w;
    // Keep the map between 0.45 and 0.9 of its width high: widen or heighten the frame.
    let ratio = |hw: f64, hh: f64| hh / (hw * cos);
    if ratio(half_w, half_h) > 0.9 {
        half_w = half_h / (0.9 * cos);
    } else if ratio(half_w, half_h) < 0.45 {
        half_h = 0.45 * half_w * cos;
    }
    if half_w > 180.0 || half_h > 85.0 {
        return world(world_h);
    }
    let mut west = cx - half_w;
    let mut east = cx + half_w;
    if west < -180.0 {
        east += -180.0 - west;
        west = -180.0;
    }
    if east > 180.0 {
        west -= east - 180.0;
        east = 180.0;
    }
    west = west.max(-180.0);
    let mut south = cy - half_h;
    let mut north = cy + half_h;
    if south < -85.0 {
        north += -85.0 - south;
        south = -85.0;
    }
    if north > 85.0 {
        south -= north - 85.0;
        north = 85.0;
    }
    south = south.max(-85.0);
    let h = map_w * (north - south) / ((east - west) * cos);
    Projection {
        west,
        east,
        south,
        north,
        area: (MARGIN, MARGIN, map_w, h),
        world: false,
    }
}

/// The class (0..5) of each distinct value: withheld counts alone in the lightest class,
/// exact counts in up to five (four when some are withheld) classes of as many distinct
/// values each, the largest always darkest.
struct Classes {
    /// (lowest, highest) shown count of each class used, and its shade index.
    classes: Vec<(Shown, Shown, usize)>,
}

impl Classes {
    fn of(counts: &[Shown]) -> Classes {
        let mut withheld: Vec<Shown> = counts
            .iter()
            .copied()
            .filter(|c| matches!(c, Shown::FewerThan(_)))
            .collect();
        withheld.sort_by_key(|c| match c {
            Shown::FewerThan(n) | Shown::Exact(n) | Shown::Between(n, _) => *n,
        });
        withheld.dedup();
        let mut exact: Vec<u32> = counts
            .iter()
            .filter_map(|c| match c {
                Shown::Exact(n) if *n > 0 => Some(*n),
                _ => None,
            })
            .collect();
        exact.sort_unstable();
        exact.dedup();
        let mut groups: Vec<(Shown, Shown)> = Vec::new();
        if let (Some(first), Some(last)) = (withheld.first(), withheld.last()) {
            groups.push((*first, *last));
        }
        let room = 5 - groups.len();
        let k = exact.len().min(room);
        for i in 0..k {
            let lo = exact[i * exact.len() / k];
            let hi = exact[((i + 1) * exact.len() / k).saturating_sub(1)];
            groups.push((Shown::Exact(lo), Shown::Exact(hi)));
        }
        let n = groups.len();
        let classes = groups
            .into_iter()
            .enumerate()
            .map(|(i, (lo, hi))| {
                let shade = if n <= 1 {
                    4
                } else {
                    (i * 4 + (n - 1) / 2) / (n - 1)
                };
                (lo, hi, shade.min(4))
            })
            .collect();
        Classes { classes }
    }

    fn shade(&self, count: Shown) -> usize {
        let v = value(count);
        let mut best = 0;
        for &(lo, hi, shade) in &self.classes {
            let fits = match (count, lo) {
                (Shown::FewerThan(_), Shown::FewerThan(_)) => true,
                (Shown::FewerThan(_), _) => false,
                (_, Shown::FewerThan(_)) => false,
                _ => v >= value(lo) && v <= value(hi),
            };
            if fits {
                return shade;
            }
            if matches!(count, Shown::Exact(_)) && v >= value(lo) {
                best = shade;
            }
        }
        best
    }
}

/// The sum of counts some of which may be withheld: exact when all are, else "fewer
/// than" the largest the sum can be, plus one.
fn sum(counts: &[Shown]) -> Shown {
    let mut exact: u64 = 0;
    let mut slack: u64 = 0;
    let mut withheld = false;
    for c in counts {
        match c {
            Shown::Exact(n) => exact += u64::from(*n),
            Shown::FewerThan(n) => {
                withheld = true;
                slack += u64::from(n.saturating_sub(1));
            }
            Shown::Between(a, b) => {
                withheld = true;
                exact += u64::from(*a);
                slack += u64::from(b.saturating_sub(*a));
            }
        }
    }
    let clamp = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
    if withheld {
        Shown::FewerThan(clamp(exact + slack + 1))
    } else {
        Shown::Exact(clamp(exact))
    }
}

/// Text laid out left to right, mirrored for right-to-left languages.
struct Layout {
    width: f64,
    rtl: bool,
}

impl Layout {
    fn x(&self, x: f64) -> f64 {
        if self.rtl {
            self.width - x
        } else {
            x
        }
    }
    fn anchor(&self) -> Anchor {
        if self.rtl {
            Anchor::End
        } else {
            Anchor::Start
        }
    }
    /// A rectangle whose left edge is at `x` in left-to-right layout.
    fn rect(&self, x: f64, y: f64, w: f64, h: f64, fill: &str) -> Item {
        let x = if self.rtl { self.width - x - w } else { x };
        Item::Rect {
            x,
            y,
            w,
            h,
            fill: fill.to_string(),
        }
    }
    fn text(&self, x: f64, y: f64, text: String, size: f64) -> Item {
        Item::Text {
            x: self.x(x),
            y,
            text,
            size,
            anchor: self.anchor(),
            bold: false,
            fill: INK.to_string(),
            rtl: self.rtl,
        }
    }
}

/// A rough width of `text` at `size` (no font at hand here): enough to lay out a legend
/// and a name's label box, in any script (see [`crate::scene::text_width`]).
fn text_width(text: &str, size: f64) -> f64 {
    crate::scene::text_width(text, size)
}

fn fill_words(template: String, n: &str) -> String {
    if template.contains("{n}") {
        template.replace("{n}", n)
    } else {
        format!("{template}: {n}")
    }
}

fn draw_with(figures: &Figures, words: &dyn Words, width: f64) -> Scene {
    draw_from(data::get(), figures, words, width)
}

/// The drawing from `shapes` (the shipped data, or why it cannot be read).
fn draw_from(
    shapes: Result<&data::Data, &str>,
    figures: &Figures,
    words: &dyn Words,
    width: f64,
) -> Scene {
    let width = sane_width(width);
    let placed = places(figures);
    let proj = frame(&placed, width);
    let layout = Layout {
        width,
        rtl: words.rtl(),
    };
    let (ax, ay, aw, ah) = proj.area;
    let mut items = vec![Item::Rect {
        x: ax,
        y: ay,
        w: aw,
        h: ah,
        fill: SEA.to_string(),
    }];
    let mut y = ay + ah + 18.0;

    let shapes = match shapes {
        Ok(d) => Some(d),
        Err(why) => {
            items.push(Item::Text {
                x: ax + aw / 2.0,
                y: ay + ah / 2.0,
                text: format!("The map's boundary data cannot be read: {why}"),
                size: 10.0,
                anchor: Anchor::Middle,
                bold: false,
                fill: INK.to_string(),
                rtl: false,
            });
            None
        }
    };

    let counts: Vec<Shown> = placed.countries.iter().map(|(_, c)| *c).collect();
    let classes = Classes::of(&counts);
    let mut by_iso: std::collections::HashMap<&str, Shown> = std::collections::HashMap::new();
    for (iso, c) in &placed.countries {
        by_iso.insert(iso.as_str(), *c);
    }

    if let Some(d) = shapes {
        for country in &d.countries {
            let fill = match by_iso.get(country.iso.as_str()) {
                Some(c) => SHADES[classes.shade(*c)],
                None => NO_DATA_FILL,
            };
            let mut rings = Vec::new();
            for poly in &country.polys {
                if !overlaps(poly.bounds, &proj) {
                    continue;
                }
                for ring in &poly.rings {
                    let pts = project_ring(ring, &proj);
                    let clipped = clip(&pts, (ax, ay, ax + aw, ay + ah));
                    if clipped.len() >= 3 {
                        rings.push(clipped);
                    }
                }
            }
            if !rings.is_empty() {
                items.push(Item::Polygon {
                    rings,
                    fill: fill.to_string(),
                    stroke: Some(BORDER.to_string()),
                    stroke_width: 0.4,
                });
            }
        }
    }

    // Circles: area proportional to count, the largest drawn first.
    let mut circles = placed.circles.clone();
    circles.sort_by(|a, b| value(b.2).total_cmp(&value(a.2)));
    let vmax = circles.first().map(|c| value(c.2)).unwrap_or(1.0).max(1.0);
    // The largest circle a fifth of an inch or so on a page: it marks, never covers.
    let rmax = (width / 48.0).clamp(5.0, 16.0);
    for &(lat, lon, count) in &circles {
        if !proj.contains(lat, lon) {
            continue;
        }
        let (cx, cy) = proj.project(lat, lon);
        let r = (rmax * (value(count) / vmax).sqrt()).max(1.5);
        items.push(Item::Circle {
            cx,
            cy,
            r,
            fill: CIRCLE_FILL.to_string(),
            opacity: 0.6,
        });
    }

    // The names of the countries with most incidents.
    if let Some(d) = shapes {
        let mut top = placed.countries.clone();
        top.sort_by(|a, b| value(b.1).total_cmp(&value(a.1)).then(a.0.cmp(&b.0)));
        for (iso, _) in top.iter().take(NAMED) {
            let Some(country) = d.countries.iter().find(|c| &c.iso == iso) else {
                continue;
            };
            let (lon, lat) = country.label;
            if !proj.contains(lat, lon) {
                continue;
            }
            let (x, y) = proj.project(lat, lon);
            let name = country_name(iso, words.lang()).unwrap_or(iso.as_str());
            // On a white label box, so it reads over any fill and over the neighbours a
            // small country's name spills onto.
            let w = text_width(name, 9.0) * 1.1 + 4.0;
            items.push(Item::Rect {
                x: x - w / 2.0,
                y: y - 9.0,
                w,
                h: 12.0,
                fill: "#ffffff".to_string(),
            });
            items.push(Item::Text {
                x,
                y,
                text: name.to_string(),
                size: 9.0,
                anchor: Anchor::Middle,
                bold: true,
                fill: INK.to_string(),
                rtl: words.rtl(),
            });
        }
    }

    let nothing = placed.countries.is_empty() && placed.circles.is_empty();
    if nothing {
        items.push(Item::Text {
            x: ax + aw / 2.0,
            y: ay + ah / 2.0,
            text: words.text("no_data"),
            size: 14.0,
            anchor: Anchor::Middle,
            bold: true,
            fill: INK.to_string(),
            rtl: words.rtl(),
        });
    }

    // Legend: a swatch per class, then the circles, then what could not be placed.
    if !classes.classes.is_empty() {
        let title = words.text("incidents");
        items.push(layout.text(MARGIN, y, title.clone(), 9.0));
        let mut x = MARGIN + text_width(&title, 9.0) + 10.0;
        for (lo, hi, shade) in &classes.classes {
            let label = if lo == hi {
                words.count(*lo)
            } else {
                format!("{} – {}", words.count(*lo), words.count(*hi))
            };
            let w = 14.0 + text_width(&label, 9.0) + 12.0;
            if x + w > width - MARGIN && x > MARGIN + 60.0 {
                x = MARGIN;
                y += 16.0;
            }
            items.push(layout.rect(x, y - 9.0, 10.0, 10.0, SHADES[*shade]));
            items.push(layout.text(x + 14.0, y, label, 9.0));
            x += w;
        }
        y += 18.0;
    }
    if !circles.is_empty() {
        let r = 4.0;
        items.push(Item::Circle {
            cx: layout.x(MARGIN + r),
            cy: y - 3.5,
            r,
            fill: CIRCLE_FILL.to_string(),
            opacity: 0.6,
        });
        items.push(layout.text(MARGIN + 2.0 * r + 6.0, y, words.text("map.points"), 9.0));
        y += 18.0;
    }
    if !placed.unplaced.is_empty() {
        let n = words.count(sum(&placed.unplaced));
        items.push(layout.text(MARGIN, y, fill_words(words.text("map.unplaced"), &n), 9.0));
        y += 18.0;
    }

    Scene {
        width,
        height: y - 4.0 + MARGIN,
        title: words.text("title.map"),
        items,
    }
}

fn overlaps(b: (f64, f64, f64, f64), proj: &Projection) -> bool {
    let (w, s, e, n) = b;
    e >= proj.west && w <= proj.east && n >= proj.south && s <= proj.north
}

/// Projects a ring, leaving out vertices closer than half a point to the last kept (a
/// world map keeps its shape at a third of the points: smaller SVG, PDF and PNG).
fn project_ring(ring: &[(f64, f64)], proj: &Projection) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(ring.len());
    for &(lon, lat) in ring {
        let p = proj.project(lat, lon);
        if let Some(last) = out.last() {
            if (p.0 - last.0).abs() < 0.5 && (p.1 - last.1).abs() < 0.5 {
                continue;
            }
        }
        out.push(p);
    }
    out
}

/// Sutherland–Hodgman clipping of a ring to a rectangle (x0, y0, x1, y1). The ring may
/// come back with edges along the rectangle; filled, it covers exactly the inside part.
fn clip(ring: &[(f64, f64)], rect: (f64, f64, f64, f64)) -> Vec<(f64, f64)> {
    let (x0, y0, x1, y1) = rect;
    if ring
        .iter()
        .all(|p| p.0 >= x0 && p.0 <= x1 && p.1 >= y0 && p.1 <= y1)
    {
        return ring.to_vec();
    }
    let mut pts = ring.to_vec();
    // Each edge: inside test and intersection.
    for edge in 0..4 {
        if pts.is_empty() {
            break;
        }
        let inside = |p: (f64, f64)| match edge {
            0 => p.0 >= x0,
            1 => p.0 <= x1,
            2 => p.1 >= y0,
            _ => p.1 <= y1,
        };
        let cross = |a: (f64, f64), b: (f64, f64)| -> (f64, f64) {
            match edge {
                0 | 1 => {
                    let x = if edge == 0 { x0 } else { x1 };
                    let t = (x - a.0) / (b.0 - a.0);
                    (x, a.1 + t * (b.1 - a.1))
                }
                _ => {
                    let y = if edge == 2 { y0 } else { y1 };
                    let t = (y - a.1) / (b.1 - a.1);
                    (a.0 + t * (b.0 - a.0), y)
                }
            }
        };
        let mut out = Vec::with_capacity(pts.len() + 4);
        for i in 0..pts.len() {
            let cur = pts[i];
            let prev = pts[(i + pts.len() - 1) % pts.len()];
            match (inside(prev), inside(cur)) {
                (true, true) => out.push(cur),
                (true, false) => out.push(cross(prev, cur)),
                (false, true) => {
                    out.push(cross(prev, cur));
                    out.push(cur);
                }
                (false, false) => {}
            }
        }
        pts = out;
    }
    pts
}

#[cfg(test)]
mod tests;
