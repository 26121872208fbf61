//! The map: country boundaries and region centres from Natural Earth (public domain),
//! shipped in `data/` and read from memory; nothing is fetched.
//!
//! CONTRACT: [`draw`] shades countries by incident count, draws a circle per region
//! (at the region's Natural Earth label point, matched by name within its country) and
//! per coordinate point, sized by count, framed on the incidents' extent (the whole
//! world when they span it), with a legend.

use crate::{Figures, Labels, Scene};

/// The map of `figures`, `width` points wide.
pub fn draw(figures: &Figures, labels: &Labels, width: f64) -> Scene {
    let _ = (figures, labels, width);
    todo!("map: draw")
}

/// Where a region of `country` (ISO alpha-2) lies, if Natural Earth knows it by that name
/// (case, accents and common prefixes such as "Province of" ignored): (lat, lon).
pub fn region_point(country: &str, region: &str) -> Option<(f64, f64)> {
    let _ = (country, region);
    todo!("map: region_point")
}
