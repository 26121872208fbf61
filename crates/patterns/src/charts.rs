//! The figures drawn as charts. CONTRACT: each function draws one chart of `figures`
//! (exact or published) with `labels`, `width` points wide (height chosen by the chart),
//! mirrored for right-to-left labels (bars grow from the right, axes on the right).

use crate::{Figures, Labels, Scene};

/// Incidents over time: a stacked bar per bin, by act type (the most frequent types
/// coloured, the rest as "other"), with a legend; coarse and undated counts stated
/// beneath.
pub fn timeline(figures: &Figures, labels: &Labels, width: f64) -> Scene {
    let _ = (figures, labels, width);
    todo!("charts: timeline")
}

/// Horizontal bars of one count list of the figures: `which` is `act_types`,
/// `victims_by_sex`, `victims_by_occupation` or `perpetrators_by_type`.
pub fn bars(figures: &Figures, which: &str, labels: &Labels, width: f64) -> Scene {
    let _ = (figures, which, labels, width);
    todo!("charts: bars")
}

/// Interventions by mechanism: a stacked bar per mechanism (draft, awaiting, answered).
pub fn interventions(figures: &Figures, labels: &Labels, width: f64) -> Scene {
    let _ = (figures, labels, width);
    todo!("charts: interventions")
}

/// Every chart of the figures, in the screen's and the report's order, with the map
/// first: (key, scene), key one of `map`, `timeline`, `act_types`, `victims_by_sex`,
/// `victims_by_occupation`, `perpetrators_by_type`, `interventions`. Charts with no data
/// are left out.
pub fn all(figures: &Figures, labels: &Labels, width: f64) -> Vec<(&'static str, Scene)> {
    // TEMPORARY SHIM
    use crate::scene::{Anchor, Item};
    let keys = ["map", "timeline", "act_types", "victims_by_sex", "victims_by_occupation", "perpetrators_by_type", "interventions"];
    keys.iter().map(|k| {
        let mut items = vec![Item::Rect { x: 0.0, y: 0.0, w: width, h: 160.0, fill: "#eef2f6".into() }];
        let x = if labels.rtl { width - 10.0 } else { 10.0 };
        let anchor = if labels.rtl { Anchor::End } else { Anchor::Start };
        items.push(Item::Text { x, y: 30.0, text: labels.text(&format!("title.{k}")), size: 16.0, anchor, bold: true, fill: "#17202b".into(), rtl: labels.rtl });
        let mut y = 60.0;
        for c in &figures.act_types {
            items.push(Item::Rect { x: if labels.rtl { width - 170.0 - 10.0 * f64::from(figures.cases) } else { 160.0 }, y: y - 14.0, w: 10.0 * f64::from(figures.cases), h: 16.0, fill: "#1d5a84".into() });
            items.push(Item::Text { x, y, text: labels.category("act_types", &c.key), size: 12.0, anchor, bold: false, fill: "#17202b".into(), rtl: labels.rtl });
            items.push(Item::Text { x: width / 2.0, y, text: labels.count(c.count), size: 12.0, anchor: Anchor::Middle, bold: false, fill: "#17202b".into(), rtl: false });
            y += 30.0;
        }
        (*k, Scene { width, height: 160.0, title: k.to_string(), items })
    }).collect()
}
