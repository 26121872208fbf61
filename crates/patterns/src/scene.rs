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

impl Scene {
    /// The drawing as a standalone SVG document (UTF-8).
    pub fn to_svg(&self) -> String {
        todo!("scene: to_svg")
    }

    /// The drawing as a PNG image, `scale` pixels per point (2.0 for a sharp image),
    /// text set in the fonts the reports embed (DejaVu Sans), so Latin, Cyrillic, Greek
    /// and Arabic print. An error names what failed (never content).
    pub fn to_png(&self, scale: f32) -> Result<Vec<u8>, String> {
        let _ = scale;
        todo!("scene: to_png")
    }
}
