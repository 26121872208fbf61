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

/// DejaVu Sans, regular: the one font of the charts' PNG images and of the PDF reports
/// (which embed a subset of it). Bitstream Vera licence, `fonts/LICENSE`.
pub const FONT_REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
/// DejaVu Sans, bold (see [`FONT_REGULAR`]).
pub const FONT_BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// The font family every text of a drawing asks for.
const FAMILY: &str = "DejaVu Sans";

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
        let (w, h) = (extent(self.width), extent(self.height));
        let mut out = String::with_capacity(256 + self.items.len() * 96);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        out.push_str(&format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" font-family=\"{FAMILY}, sans-serif\" style=\"background:#ffffff\">\n",
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
            write_item(&mut out, item, widths.get(&i).copied());
        }
        out.push_str("</svg>\n");
        out
    }

    /// The drawing as a PNG image, `scale` pixels per point (2.0 for a sharp image),
    /// text set in the fonts the reports embed (DejaVu Sans), so Latin, Cyrillic, Greek
    /// and Arabic print. An error names what failed (never content).
    ///
    /// Rendered by resvg from [`Scene::to_svg`] on a white ground, with a font database
    /// that holds only the two embedded fonts: never a system font, so the image is the
    /// same on every machine.
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
        let options = resvg::usvg::Options {
            fontdb: font_db(),
            font_family: FAMILY.to_owned(),
            ..Default::default()
        };
        let svg = self.to_svg();
        let tree = resvg::usvg::Tree::from_str(&svg, &options)
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
}

/// The font database of the PNG images: the embedded DejaVu Sans only, built once.
fn font_db() -> std::sync::Arc<resvg::usvg::fontdb::Database> {
    use std::sync::{Arc, OnceLock};
    static DB: OnceLock<Arc<resvg::usvg::fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = resvg::usvg::fontdb::Database::new();
        db.load_font_data(FONT_REGULAR.to_vec());
        db.load_font_data(FONT_BOLD.to_vec());
        db.set_sans_serif_family(FAMILY);
        db.set_serif_family(FAMILY);
        Arc::new(db)
    })
    .clone()
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
                escape(text)
            ));
        }
    }
    if wanted.is_empty() {
        return out;
    }
    svg.push_str("</svg>");
    let options = resvg::usvg::Options {
        fontdb: font_db(),
        font_family: FAMILY.to_owned(),
        ..Default::default()
    };
    if let Ok(tree) = resvg::usvg::Tree::from_str(&svg, &options) {
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

fn write_item(out: &mut String, item: &Item, rtl_width: Option<f64>) {
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
            out.push_str(&escape(text));
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
