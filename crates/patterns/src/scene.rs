//! A drawing as shapes and text, in a coordinate space of `width` × `height` points
//! (1 point = 1/72 inch = 1 SVG user unit), origin top left, y down.
//!
//! CONTRACT: charts and the map build a [`Scene`]; it is written as SVG here
//! ([`Scene::to_svg`], self-contained, no external references, every text escaped), as
//! PNG here ([`Scene::to_png`], through resvg with the font given), and as PDF vector
//! graphics by `custos-report` (it reads the items directly). Colours are `#rrggbb`.

use serde::{Deserialize, Serialize};

/// How text is anchored at its point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    /// The point is the text's left end.
    Start,
    /// The point is its centre.
    Middle,
    /// The point is its right end.
    End,
}

/// One thing drawn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "item")]
pub enum Item {
    /// A filled rectangle (x, y top left).
    Rect {
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        fill: String,
    },
    /// A closed polygon set (several rings, even-odd fill), optionally stroked.
    Polygon {
        rings: Vec<Vec<(f64, f64)>>,
        fill: String,
        stroke: Option<String>,
        stroke_width: f64,
    },
    /// An open line.
    Line {
        points: Vec<(f64, f64)>,
        stroke: String,
        width: f64,
    },
    /// A filled circle.
    Circle {
        cx: f64,
        cy: f64,
        r: f64,
        fill: String,
        opacity: f64,
    },
    /// One line of text at its baseline point. `rtl`: the text's base direction is
    /// right to left (Arabic, Persian): renderers shape and order it accordingly.
    Text {
        x: f64,
        y: f64,
        text: String,
        size: f64,
        anchor: Anchor,
        bold: bool,
        fill: String,
        rtl: bool,
    },
}

/// A drawing.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Scene {
    /// Width in points.
    pub width: f64,
    /// Height in points.
    pub height: f64,
    /// A title for accessibility (SVG `<title>`).
    pub title: String,
    /// What is drawn, in order.
    pub items: Vec<Item>,
}

/// DejaVu Sans, regular: the main font of the charts' PNG images and of the PDF reports
/// (which embed a subset of it): Latin, Cyrillic, Greek, Arabic and Persian, digits.
/// Bitstream Vera licence, `fonts/LICENSE`.
pub const FONT_REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
/// DejaVu Sans, bold (see [`FONT_REGULAR`]).
pub const FONT_BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");
/// Droid Sans Fallback: Chinese (simplified and traditional), Japanese and Korean
/// characters, no Latin letters and no digits (those come from DejaVu Sans). One weight:
/// bold Chinese is drawn regular. Apache License 2.0,
/// `fonts/LICENSE-DroidSansFallback.txt`.
pub const FONT_CJK: &[u8] = include_bytes!("../fonts/DroidSansFallbackFull.ttf");
/// Noto Sans Myanmar, regular: Burmese (the Myanmar script, shaped), no Latin letters
/// and no ASCII digits. SIL Open Font License 1.1, `fonts/LICENSE-NotoSansMyanmar.txt`.
pub const FONT_MYANMAR_REGULAR: &[u8] = include_bytes!("../fonts/NotoSansMyanmar-Regular.ttf");
/// Noto Sans Myanmar, bold (see [`FONT_MYANMAR_REGULAR`]).
pub const FONT_MYANMAR_BOLD: &[u8] = include_bytes!("../fonts/NotoSansMyanmar-Bold.ttf");

/// The font family of the text of a drawing drawn here (PNG): DejaVu Sans.
const FAMILY: &str = "DejaVu Sans";
/// The family of the Chinese (and Japanese, Korean) runs in a PNG image.
const FAMILY_CJK: &str = "Droid Sans Fallback";
/// The family of the Burmese runs in a PNG image.
const FAMILY_MYANMAR: &str = "Noto Sans Myanmar";
/// The font families an SVG document names, in order: the embedded ones first, then
/// those a viewer is likely to have for Burmese and Chinese (a browser takes each
/// character from the first family that has it).
const FAMILIES: &str = "DejaVu Sans, Noto Sans Myanmar, Myanmar Text, Padauk, Noto Sans CJK SC, Noto Sans SC, Source Han Sans SC, Microsoft YaHei, PingFang SC, Droid Sans Fallback, sans-serif";

/// Coordinates beyond this (in points) are clamped when written: far outside any page.
const FAR: f64 = 1.0e6;

/// Pixels on a side of a PNG image at most, and pixels in all.
const MAX_SIDE: u32 = 16_384;
const MAX_PIXELS: u64 = 64 * 1024 * 1024;

impl Scene {
    /// The drawing as a standalone SVG document (UTF-8).
    ///
    /// SVG 1.1, `viewBox` in points, the title as `<title>`, every text escaped, no
    /// reference to anything outside the document (fonts are named, never fetched).
    /// Items with a coordinate that is not a finite number are left out; colours that
    /// are not `#rgb`/`#rrggbb` are drawn black.
    pub fn to_svg(&self) -> String {
        self.svg(false)
    }

    /// The SVG document; with `runs`, each Burmese or Chinese run of a text is a
    /// `<tspan>` naming its embedded font, for resvg: left to its own fallback it takes
    /// a missing character from the first font that has it (regular Burmese in a bold
    /// title) and merges the glyphs of two fonts by position, which holds only while
    /// both shape the text into as many glyphs.
    fn svg(&self, runs: bool) -> String {
        let (w, h) = (extent(self.width), extent(self.height));
        let mut out = String::with_capacity(256 + self.items.len() * 96);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        out.push_str(&format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" font-family=\"{FAMILIES}\" style=\"background:#ffffff\">\n",
            num(w),
            num(h),
            num(w),
            num(h)
        ));
        out.push_str("<title>");
        out.push_str(&escape(&self.title));
        out.push_str("</title>\n");
        let widths = rtl_widths(&self.items);
        for (i, item) in self.items.iter().enumerate() {
            write_item(&mut out, item, widths.get(&i).copied(), runs);
        }
        out.push_str("</svg>\n");
        out
    }

    /// The drawing as a PNG image, `scale` pixels per point (2.0 for a sharp image),
    /// text set in the embedded fonts: DejaVu Sans (Latin, Cyrillic, Greek, Arabic,
    /// Persian, digits), Noto Sans Myanmar (Burmese) and Droid Sans Fallback (Chinese).
    /// An error names what failed (never content).
    ///
    /// Rendered by resvg from the SVG of [`Scene::to_svg`] (each Burmese or Chinese run
    /// of a text set in its own font) on a white ground, with a font database that holds
    /// only the embedded fonts: never a system font, so the image is the same on every
    /// machine.
    pub fn to_png(&self, scale: f32) -> Result<Vec<u8>, String> {
        if !scale.is_finite() || scale <= 0.0 {
            return Err("png: the scale must be a positive number".into());
        }
        let (w, h) = (extent(self.width), extent(self.height));
        let px = |v: f64| (v * f64::from(scale)).ceil().max(1.0);
        let (pw, ph) = (px(w), px(h));
        if pw > f64::from(MAX_SIDE) || ph > f64::from(MAX_SIDE) || pw * ph > MAX_PIXELS as f64 {
            return Err("png: the image would be too large".into());
        }
        // Bounded above: the casts are exact.
        let (pw, ph) = (pw as u32, ph as u32);
        let tree = self
            .tree()
            .map_err(|e| format!("png: reading the drawing: {e}"))?;
        let mut pixmap = resvg::tiny_skia::Pixmap::new(pw, ph)
            .ok_or_else(|| "png: allocating the image".to_owned())?;
        pixmap.fill(resvg::tiny_skia::Color::WHITE);
        let size = tree.size();
        let transform = resvg::tiny_skia::Transform::from_scale(
            pw as f32 / size.width(),
            ph as f32 / size.height(),
        );
        resvg::render(&tree, transform, &mut pixmap.as_mut());
        pixmap
            .encode_png()
            .map_err(|e| format!("png: encoding the image: {e}"))
    }

    /// The texts of the drawing that its PNG image would draw with a missing glyph (an
    /// empty box, "tofu"): each such text once, in order. Empty when every character of
    /// every text is in an embedded font.
    pub fn tofu(&self) -> Vec<String> {
        // The texts alone: a map's thousands of points need not be read for this.
        let texts = Scene {
            items: self
                .items
                .iter()
                .filter(|i| matches!(i, Item::Text { .. }))
                .cloned()
                .collect(),
            ..self.clone()
        };
        let Ok(tree) = texts.tree() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        missing_glyphs(tree.root(), &mut out);
        out
    }

    /// The drawing as resvg reads it, with the embedded fonts.
    fn tree(&self) -> Result<resvg::usvg::Tree, resvg::usvg::Error> {
        resvg::usvg::Tree::from_str(&self.svg(true), &options())
    }
}

/// The texts under `group` with a glyph missing from its font.
fn missing_glyphs(group: &resvg::usvg::Group, out: &mut Vec<String>) {
    for node in group.children() {
        match node {
            resvg::usvg::Node::Group(g) => missing_glyphs(g, out),
            resvg::usvg::Node::Text(t) => {
                let missing = t
                    .layouted()
                    .iter()
                    .flat_map(|span| &span.positioned_glyphs)
                    .any(|g| g.id.0 == 0);
                let text: String = t.chunks().iter().map(|c| c.text()).collect();
                if missing && !out.contains(&text) {
                    out.push(text);
                }
            }
            _ => {}
        }
    }
}

/// The options resvg reads a drawing with: the embedded fonts, DejaVu Sans by default.
fn options() -> resvg::usvg::Options<'static> {
    resvg::usvg::Options {
        fontdb: font_db(),
        font_family: FAMILY.to_owned(),
        ..Default::default()
    }
}

/// The font database of the PNG images: the embedded fonts only, built once. DejaVu
/// Sans is the default; the Burmese and Chinese fonts are named by the runs that need
/// them, and are the fallbacks of any other character DejaVu Sans lacks.
fn font_db() -> std::sync::Arc<resvg::usvg::fontdb::Database> {
    use std::sync::{Arc, OnceLock};
    static DB: OnceLock<Arc<resvg::usvg::fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = resvg::usvg::fontdb::Database::new();
        // `Source::Binary` borrows the static bytes: no copy of the 4 MB CJK font.
        for font in [
            FONT_REGULAR,
            FONT_BOLD,
            FONT_MYANMAR_REGULAR,
            FONT_MYANMAR_BOLD,
            FONT_CJK,
        ] {
            db.load_font_source(resvg::usvg::fontdb::Source::Binary(Arc::new(font)));
        }
        db.set_sans_serif_family(FAMILY);
        db.set_serif_family(FAMILY);
        Arc::new(db)
    })
    .clone()
}

/// About how wide `text` is drawn at `size` (points), for laying out labels without
/// shaping them: a Chinese character (or a full-width form) 1 em, a Burmese letter
/// 0.95 em, a Burmese sign written beside its letter 0.4 em, one above or below it
/// (or any other combining mark) none, anything else 0.6 em (DejaVu Sans's average,
/// bold included, with room to spare). Measured on the chart words of the locales, it
/// is a little wide, rarely narrow.
pub fn text_width(text: &str, size: f64) -> f64 {
    text.chars().map(em).sum::<f64>() * size
}

/// The estimated advance of a character, in ems (see [`text_width`]).
fn em(c: char) -> f64 {
    match script(c) {
        Some(Script::Cjk) => 1.0,
        Some(Script::Myanmar) => match u32::from(c) {
            // Vowel signs aa and tall aa, e, visarga, medials ya and ra: beside the letter.
            0x102B | 0x102C | 0x1031 | 0x1038 | 0x103B | 0x103C => 0.4,
            // Other signs: above or below the letter.
            0x102D..=0x103E | 0x1056..=0x1059 | 0x105E..=0x1060 | 0x1062..=0x1064 => 0.0,
            0x1067..=0x106D | 0x1071..=0x1074 | 0x1082..=0x108D | 0x108F | 0x109A..=0x109D => 0.0,
            _ => 0.95,
        },
        None if c == ' ' || c == '\u{A0}' => 0.6,
        None => 0.0,
        Some(Script::Other) if unicode_normalization::char::is_combining_mark(c) => 0.0,
        Some(Script::Other) => 0.6,
    }
}

/// A width or height usable as a viewBox side: positive, finite, bounded.
fn extent(v: f64) -> f64 {
    if v.is_finite() && v >= 1.0 {
        v.min(FAR)
    } else {
        1.0
    }
}

/// A number with at most two decimals, no trailing zeros, clamped to ±[`FAR`].
fn num(v: f64) -> String {
    let v = v.clamp(-FAR, FAR);
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" || s.is_empty() {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

fn finite(vs: &[f64]) -> bool {
    vs.iter().all(|v| v.is_finite())
}

/// `#rgb` or `#rrggbb` (or `none`) as given; anything else black.
pub(crate) fn colour(c: &str) -> &str {
    let hex = c.strip_prefix('#').unwrap_or("");
    if c == "none" || (matches!(hex.len(), 3 | 6) && hex.chars().all(|x| x.is_ascii_hexdigit())) {
        c
    } else {
        "#000000"
    }
}

/// Text as XML character data or attribute value: the five special characters escaped,
/// characters XML 1.0 does not allow dropped.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// The script of a character, as far as the choice of font goes: `None` for a
/// character that takes the font of its neighbours (spaces, joiners).
fn script(c: char) -> Option<Script> {
    match u32::from(c) {
        0x20 | 0xA0 | 0x200B..=0x200D | 0x2060 | 0xFE00..=0xFE0F => None,
        0x1000..=0x109F | 0xA9E0..=0xA9FF | 0xAA60..=0xAA7F => Some(Script::Myanmar),
        0x1100..=0x11FF
        | 0x2E80..=0x2FFF
        | 0x3000..=0x303F
        | 0x3040..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA960..=0xA97F
        | 0xAC00..=0xD7FF
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFFEF
        | 0x20000..=0x3FFFF => Some(Script::Cjk),
        _ => Some(Script::Other),
    }
}

/// Which embedded font a run of text is set in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    /// DejaVu Sans (and whatever it lacks, from the fallbacks).
    Other,
    /// Noto Sans Myanmar.
    Myanmar,
    /// Droid Sans Fallback.
    Cjk,
}

/// A text as SVG character data, each Burmese or Chinese run in a `<tspan>` naming
/// its font; spaces and joiners stay in the run they are in (or start the next). A
/// text with neither is only escaped.
fn in_runs(text: &str) -> String {
    let mut runs: Vec<(Script, String)> = Vec::new();
    let mut pending = String::new();
    for c in text.chars() {
        match script(c) {
            None => match runs.last_mut() {
                Some((_, run)) => run.push(c),
                None => pending.push(c),
            },
            Some(s) => match runs.last_mut() {
                Some((last, run)) if *last == s => run.push(c),
                _ => {
                    let mut run = std::mem::take(&mut pending);
                    run.push(c);
                    runs.push((s, run));
                }
            },
        }
    }
    if runs.iter().all(|(s, _)| *s == Script::Other) {
        return escape(text);
    }
    let mut out = escape(&pending);
    for (s, run) in runs {
        match s {
            Script::Other => out.push_str(&escape(&run)),
            Script::Myanmar | Script::Cjk => {
                let family = if s == Script::Myanmar {
                    FAMILY_MYANMAR
                } else {
                    FAMILY_CJK
                };
                out.push_str(&format!(
                    "<tspan font-family=\"{family}\">{}</tspan>",
                    escape(&run)
                ));
            }
        }
    }
    out
}

/// The finite points of a list, written `x,y x,y …`, and how many.
fn points(ps: &[(f64, f64)]) -> (String, usize) {
    let mut out = String::new();
    let mut n = 0;
    for (x, y) in ps.iter().filter(|(x, y)| finite(&[*x, *y])) {
        if n > 0 {
            out.push(' ');
        }
        out.push_str(&num(*x));
        out.push(',');
        out.push_str(&num(*y));
        n += 1;
    }
    (out, n)
}

/// The width (points) of each right-to-left text anchored at an end, shaped and measured
/// by usvg in the embedded font, by item index. Such a text is then written centred on
/// its middle: engines disagree on which end `start` and `end` mean in right-to-left
/// text, never on the middle. A text usvg cannot measure is estimated.
fn rtl_widths(items: &[Item]) -> std::collections::HashMap<usize, f64> {
    let mut out = std::collections::HashMap::new();
    let mut svg = String::from(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 1000 1000\" width=\"1000\" height=\"1000\">",
    );
    let mut wanted = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if let Item::Text {
            text,
            size,
            anchor: Anchor::Start | Anchor::End,
            bold,
            rtl: true,
            ..
        } = item
        {
            if !size.is_finite() || *size <= 0.0 || text.trim().is_empty() {
                continue;
            }
            // An estimate first (DejaVu Sans averages about 0.55 em).
            out.insert(i, text.chars().count() as f64 * size * 0.55);
            wanted.push(i);
            svg.push_str(&format!(
                "<text id=\"m{i}\" x=\"10\" y=\"500\" font-family=\"{FAMILY}\" font-size=\"{}\"{} direction=\"rtl\" unicode-bidi=\"embed\">{}</text>",
                num(*size),
                if *bold { " font-weight=\"bold\"" } else { "" },
                in_runs(text)
            ));
        }
    }
    if wanted.is_empty() {
        return out;
    }
    svg.push_str("</svg>");
    if let Ok(tree) = resvg::usvg::Tree::from_str(&svg, &options()) {
        for i in wanted {
            if let Some(node) = tree.node_by_id(&format!("m{i}")) {
                let w = f64::from(node.bounding_box().width());
                if w.is_finite() && w > 0.0 {
                    out.insert(i, w);
                }
            }
        }
    }
    out
}

fn write_item(out: &mut String, item: &Item, rtl_width: Option<f64>, runs: bool) {
    match item {
        Item::Rect { x, y, w, h, fill } => {
            if !finite(&[*x, *y, *w, *h]) || *w <= 0.0 || *h <= 0.0 {
                return;
            }
            out.push_str(&format!(
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>\n",
                num(*x),
                num(*y),
                num(*w),
                num(*h),
                colour(fill)
            ));
        }
        Item::Polygon {
            rings,
            fill,
            stroke,
            stroke_width,
        } => {
            let mut d = String::new();
            for ring in rings {
                let (ps, n) = points(ring);
                if n >= 3 {
                    if !d.is_empty() {
                        d.push(' ');
                    }
                    // Pairs after a moveto are linetos.
                    d.push_str("M ");
                    d.push_str(&ps);
                    d.push_str(" Z");
                }
            }
            if d.is_empty() {
                return;
            }
            out.push_str(&format!(
                "<path d=\"{d}\" fill=\"{}\" fill-rule=\"evenodd\"",
                colour(fill)
            ));
            if let Some(s) = stroke {
                if stroke_width.is_finite() && *stroke_width > 0.0 {
                    out.push_str(&format!(
                        " stroke=\"{}\" stroke-width=\"{}\" stroke-linejoin=\"round\"",
                        colour(s),
                        num(*stroke_width)
                    ));
                }
            }
            out.push_str("/>\n");
        }
        Item::Line {
            points: ps,
            stroke,
            width,
        } => {
            let (ps, n) = points(ps);
            if n < 2 || !width.is_finite() || *width <= 0.0 {
                return;
            }
            out.push_str(&format!(
                "<polyline points=\"{ps}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\"/>\n",
                colour(stroke),
                num(*width)
            ));
        }
        Item::Circle {
            cx,
            cy,
            r,
            fill,
            opacity,
        } => {
            if !finite(&[*cx, *cy, *r]) || *r <= 0.0 {
                return;
            }
            let opacity = if opacity.is_finite() {
                opacity.clamp(0.0, 1.0)
            } else {
                1.0
            };
            out.push_str(&format!(
                "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\" fill-opacity=\"{}\"/>\n",
                num(*cx),
                num(*cy),
                num(*r),
                colour(fill),
                num(opacity)
            ));
        }
        Item::Text {
            x,
            y,
            text,
            size,
            anchor,
            bold,
            fill,
            rtl,
        } => {
            if !finite(&[*x, *y, *size]) || *size <= 0.0 || text.trim().is_empty() {
                return;
            }
            // A right-to-left text anchored at an end is written centred on its middle
            // (measured): engines read `start`/`end` of right-to-left text differently.
            let (x, anchor) = match (anchor, rtl_width) {
                (Anchor::Middle, _) => (*x, "middle"),
                (Anchor::Start, Some(w)) => (x + w / 2.0, "middle"),
                (Anchor::End, Some(w)) => (x - w / 2.0, "middle"),
                (Anchor::Start, None) => (*x, "start"),
                (Anchor::End, None) => (*x, "end"),
            };
            out.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" font-size=\"{}\" text-anchor=\"{anchor}\" fill=\"{}\"",
                num(x),
                num(*y),
                num(*size),
                colour(fill)
            ));
            if *bold {
                out.push_str(" font-weight=\"bold\"");
            }
            if *rtl {
                out.push_str(" direction=\"rtl\" unicode-bidi=\"embed\"");
            }
            out.push('>');
            if runs {
                out.push_str(&in_runs(text));
            } else {
                out.push_str(&escape(text));
            }
            out.push_str("</text>\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(x: f64, text: &str, anchor: Anchor, rtl: bool) -> Item {
        Item::Text {
            x,
            y: 30.0,
            text: text.into(),
            size: 16.0,
            anchor,
            bold: false,
            fill: "#000000".into(),
            rtl,
        }
    }

    /// The columns (at scale 1) where the image has dark pixels.
    fn dark_columns(png: &[u8]) -> Vec<u32> {
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().expect("png header");
        let mut buf = vec![0; reader.output_buffer_size().expect("size")];
        let info = reader.next_frame(&mut buf).expect("png frame");
        assert_eq!(info.color_type, png::ColorType::Rgba);
        let mut cols = Vec::new();
        for x in 0..info.width {
            let dark = (0..info.height).any(|y| {
                let i = ((y * info.width + x) * 4) as usize;
                buf[i] < 128 && buf[i + 1] < 128 && buf[i + 2] < 128
            });
            if dark {
                cols.push(x);
            }
        }
        cols
    }

    #[test]
    fn numbers_have_two_decimals_at_most_and_non_finite_items_are_left_out() {
        assert_eq!(num(1.0), "1");
        assert_eq!(num(1.23456), "1.23");
        assert_eq!(num(-0.001), "0");
        assert_eq!(num(1e300), "1000000");
        let scene = Scene {
            width: f64::NAN,
            height: 100.0,
            title: "t".into(),
            items: vec![
                Item::Rect {
                    x: f64::INFINITY,
                    y: 0.0,
                    w: 1.0,
                    h: 1.0,
                    fill: "#000".into(),
                },
                Item::Circle {
                    cx: 1.0,
                    cy: f64::NAN,
                    r: 1.0,
                    fill: "#000".into(),
                    opacity: 1.0,
                },
                Item::Line {
                    points: vec![(0.0, 0.0), (f64::NAN, 1.0)],
                    stroke: "#000".into(),
                    width: 1.0,
                },
                Item::Polygon {
                    rings: vec![vec![
                        (0.0, 0.0),
                        (10.0, 0.0),
                        (f64::NEG_INFINITY, 5.0),
                        (0.0, 10.0),
                    ]],
                    fill: "url(http://example.org/x)".into(),
                    stroke: None,
                    stroke_width: 0.0,
                },
            ],
        };
        let svg = scene.to_svg();
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        assert!(!svg.contains("<rect") && !svg.contains("<circle"), "{svg}");
        assert!(!svg.contains("<polyline"), "{svg}");
        // The polygon keeps its three finite points; its bogus colour is black.
        assert!(
            svg.contains("<path d=\"M 0,0 10,0 0,10 Z\" fill=\"#000000\""),
            "{svg}"
        );
        assert!(!svg.contains("http://example"), "{svg}");
        assert!(svg.contains("viewBox=\"0 0 1 100\""), "{svg}");
    }

    #[test]
    fn every_text_is_escaped() {
        let nasty = "a<b & \"c\" 'd' ]]> <script>\u{0}";
        let scene = Scene {
            width: 100.0,
            height: 50.0,
            title: nasty.into(),
            items: vec![text(10.0, nasty, Anchor::Start, true)],
        };
        let svg = scene.to_svg();
        assert!(!svg.contains("]]>") && !svg.contains("<script") && !svg.contains('\u{0}'));
        assert_eq!(
            svg.matches("a&lt;b &amp; &quot;c&quot; &apos;d&apos; ]]&gt; &lt;script&gt;")
                .count(),
            2,
            "{svg}"
        );
        // Right to left, centred on its measured middle (the text starts at 10).
        assert!(
            svg.contains("direction=\"rtl\" unicode-bidi=\"embed\">a&lt;b"),
            "{svg}"
        );
        assert!(svg.contains("text-anchor=\"middle\""), "{svg}");
        assert!(!svg.contains("<text x=\"10\""), "{svg}");
    }

    #[test]
    fn arabic_is_shaped_its_letters_joined() {
        // Joined (initial, medial, final) forms of beh are narrower than the isolated
        // one: four joined are drawn narrower than four times one alone.
        let width = |t: &str| {
            let scene = Scene {
                width: 300.0,
                height: 50.0,
                title: String::new(),
                items: vec![text(20.0, t, Anchor::Start, true)],
            };
            let cols = dark_columns(&scene.to_png(1.0).expect("png"));
            cols.last().copied().unwrap_or(0) - cols.first().copied().unwrap_or(0)
        };
        let one = width("ب");
        let four = width("بببب");
        assert!(one > 0 && four > 0);
        assert!(four < 3 * one, "one {one}, four {four}");
    }

    /// Dark pixels of a PNG image.
    fn ink(png: &[u8]) -> usize {
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().expect("png header");
        let mut buf = vec![0; reader.output_buffer_size().expect("size")];
        let info = reader.next_frame(&mut buf).expect("png frame");
        buf[..info.buffer_size()]
            .chunks(4)
            .filter(|p| p[0] < 128 && p[1] < 128 && p[2] < 128)
            .count()
    }

    fn one_text(t: &str, bold: bool) -> Scene {
        let mut item = text(10.0, t, Anchor::Start, false);
        if let Item::Text { bold: b, .. } = &mut item {
            *b = bold;
        }
        Scene {
            width: 400.0,
            height: 50.0,
            title: String::new(),
            items: vec![item],
        }
    }

    #[test]
    fn burmese_and_chinese_are_drawn_in_their_fonts_next_to_digits_and_latin() {
        for t in [
            "၃ ထက်နည်း",
            "3 ထက်နည်း",
            "လအလိုက်သာ သိသည် ဇန် 2024: ၃",
            "少于 3",
            "2024年第12周",
            "Arbitrary detention 任意拘留",
        ] {
            for bold in [false, true] {
                let scene = one_text(t, bold);
                assert_eq!(scene.tofu(), Vec::<String>::new(), "{t}");
                assert!(ink(&scene.to_png(1.0).expect("png")) > 60, "{t}");
            }
        }
        // Each run in its own font in the PNG's SVG; the SVG written names families only.
        let scene = one_text("2024: ၃", false);
        assert!(scene
            .svg(true)
            .contains("2024: <tspan font-family=\"Noto Sans Myanmar\">၃</tspan>"));
        let svg = scene.to_svg();
        assert!(
            !svg.contains("<tspan") && svg.contains(">2024: ၃</text>"),
            "{svg}"
        );
        assert!(
            svg.contains("font-family=\"DejaVu Sans, Noto Sans Myanmar,"),
            "{svg}"
        );
    }

    #[test]
    fn bold_burmese_is_drawn_bold() {
        // resvg's own fallback would take the regular face for a bold Burmese text.
        let t = "အလုပ်အကိုင်အလိုက် ထိခိုက်နစ်နာသူများ";
        let regular = ink(&one_text(t, false).to_png(2.0).expect("png"));
        let bold = ink(&one_text(t, true).to_png(2.0).expect("png"));
        assert!(bold * 10 > regular * 12, "regular {regular}, bold {bold}");
    }

    #[test]
    fn a_character_no_embedded_font_has_is_reported_as_tofu() {
        // Tibetan: in none of the embedded fonts.
        let scene = one_text("ཀ ok", false);
        assert_eq!(scene.tofu(), vec!["ཀ ok".to_owned()]);
        assert!(one_text("ok", false).tofu().is_empty());
    }

    #[test]
    fn png_rejects_a_bad_scale_and_a_giant_image() {
        let scene = Scene {
            width: 100.0,
            height: 100.0,
            ..Default::default()
        };
        assert!(scene.to_png(f32::NAN).unwrap_err().starts_with("png:"));
        assert!(scene.to_png(0.0).is_err());
        let big = Scene {
            width: 1.0e6,
            height: 1.0e6,
            ..Default::default()
        };
        assert_eq!(
            big.to_png(1.0).unwrap_err(),
            "png: the image would be too large"
        );
    }

    #[test]
    fn arabic_text_is_drawn_and_anchors_mean_left_and_right_ends_in_both_directions() {
        for rtl in [false, true] {
            let word = if rtl {
                "حقوق الإنسان"
            } else {
                "Human rights"
            };
            // Start: the point is the left end; End: the right end.
            for (anchor, left_of_point) in [(Anchor::Start, false), (Anchor::End, true)] {
                let scene = Scene {
                    width: 300.0,
                    height: 50.0,
                    title: "t".into(),
                    items: vec![text(150.0, word, anchor, rtl)],
                };
                let cols = dark_columns(&scene.to_png(1.0).expect("png"));
                assert!(cols.len() > 40, "{word}: too few pixels {}", cols.len());
                if left_of_point {
                    assert!(
                        cols.iter().all(|c| *c <= 152),
                        "{word} {anchor:?}: {cols:?}"
                    );
                } else {
                    assert!(
                        cols.iter().all(|c| *c >= 148),
                        "{word} {anchor:?}: {cols:?}"
                    );
                }
            }
        }
    }
}
