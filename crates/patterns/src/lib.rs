//! Patterns you can see: figures of the cases a search selects, and their drawings.
//!
//! Everything here works on records already decrypted in memory and returns values in
//! memory: nothing is cached, nothing is written, nothing is fetched (the map's
//! boundaries ship inside this crate, from Natural Earth, public domain).
//!
//! - [`figures`]: [`compute`] counts incidents over time (by month or week, by act type),
//!   by place (country, region, coordinates), by act type; victims by sex and occupation;
//!   perpetrators by type; interventions by mechanism and status. [`Figures::published`]
//!   is what leaves the app: counts below the user's threshold become "fewer than N" and
//!   free-text categories that rare are folded together, so no one is singled out.
//! - [`facts`]: the part of a record the figures count, kept by the search index so
//!   that [`compute_facts`] counts a vault without decrypting its records.
//! - [`labels`]: the words of the charts in the UI languages.
//! - [`scene`]: a drawing as shapes and text, written as SVG or PNG (and, by the report
//!   crate, as PDF vector graphics).
//! - [`charts`] and [`map`]: the figures drawn.
//!
//! No chart or figure ever carries a person's name: persons are counted, never named.

pub mod charts;
pub mod facts;
pub mod figures;
pub mod labels;
pub mod map;
pub mod scene;

pub use facts::Fact;
pub use figures::{compute, compute_facts, Count, Figures, Options, Period, Shown};
pub use labels::Labels;
pub use scene::Scene;
