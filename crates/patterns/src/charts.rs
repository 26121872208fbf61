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
    let _ = (figures, labels, width);
    todo!("charts: all")
}
