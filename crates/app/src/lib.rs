//! Each Custos use case, written once below the command line (`custos-cli`) and the
//! desktop app (`src-tauri`): the shells parse, call these, and display.
//!
//! - [`export`]: exports and communications to protection mechanisms, checked and written.
//! - [`followup`]: what awaits a response or is due for a follow-up; marking a draft sent.
//! - [`patterns`]: the figures of the selected cases and their charts.
//! - [`import`]: what another tool exported (Martus, ODK, Uwazi, Tella), previewed, then
//!   imported all or nothing.
//! - [`resolve`]: resolving concurrent edits with the user's choices.
//! - [`schedule`]: when the background sync runs next.
//! - [`session`]: unlocking with the growing delay and the wipe after failed unlocks.
//! - [`settings`]: the settings file both shells share (and the failure count).
//! - [`error`]: the use cases' errors and their stable kinds.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod error;
pub mod export;
pub mod followup;
pub mod import;
pub mod patterns;
pub mod resolve;
pub mod schedule;
pub mod session;
pub mod settings;

pub use error::{Error, Result};
