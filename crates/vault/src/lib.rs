//! The Custos vault: an encrypted, offline-first store of human rights case records.
//!
//! Every record version is serialized with serde, signed with the device's Ed25519 key,
//! encrypted with age to the vault's recipients and stored in sled under a random UUID.
//! Nothing is ever written in plaintext; the vault identity is an age X25519 key kept in
//! a passphrase-encrypted (scrypt) standard age file.
//!
//! How-to for the next developer:
//! - [`Vault`] is the entry point: create, unlock, commit changes, read, lock.
//! - All age and Ed25519 calls are in [`crypto`], all sled calls in [`store`]: this is
//!   the only crate of the workspace that names sled (`docs/architecture.md`).
//! - The records themselves are `custos-model`'s; the byte formats shared with the hub
//!   are `custos-wire`'s. Search, reports and the sync client sit above this crate and
//!   use its public API only.
//! - Errors are one type, [`Error`], with messages a defender can act on.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod crypto;
pub mod durable;
pub mod error;
pub mod index;
mod journal;
pub mod store;
mod values;
mod vault;

pub use age::secrecy::{ExposeSecret, SecretString};
pub use error::{Damage, Error, Problem, Result};
pub use vault::*;
