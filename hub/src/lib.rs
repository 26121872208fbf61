//! `custos-hub`, the organisation's sync hub of Custos.
//!
//! Devices push and pull age ciphertexts the hub cannot read (`docs/sync-protocol.md`);
//! the hub keeps them with their routing metadata, authenticates devices by the pins of
//! their TLS keys, and takes in offline bundles. Operators' guide: `docs/hub.md`.
//!
//! Errors are `thiserror` types, one per module or operation. Their messages already
//! carry their cause's words (the command and the admin socket print one line), so the
//! cause is not chained again as a `source`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod admin;
pub mod api;
pub mod blobs;
pub mod cli;
pub mod enrollment;
pub mod error;
pub mod hub;
pub mod import;
pub mod keys;
pub mod log;
pub mod server;
pub mod storage;
pub mod store;
pub mod tls;
