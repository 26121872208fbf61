//! Custos core: an encrypted, offline-first vault of human rights case records.
//!
//! Every record version is serialized with serde, signed with the device's Ed25519 key,
//! encrypted with age to the vault's recipients and stored in sled under a random UUID.
//! Nothing is ever written in plaintext; the vault identity is an age X25519 key kept in
//! a passphrase-encrypted (scrypt) standard age file.
//!
//! How-to for the next developer:
//! - [`vault::Vault`] is the entry point: create, unlock, commit changes, read, lock.
//! - All age and Ed25519 calls are in [`crypto`], all sled calls in [`store`].
//! - The data model is [`model`]; vocabularies (act types, instruments, mechanisms) are
//!   data files in `vocab/`, loaded by [`vocab`].
//! - Errors are one type, [`Error`], with messages a defender can act on.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod crypto;
pub mod error;
pub mod export;
pub mod hlc;
pub mod index;
pub mod model;
pub mod passphrase;
pub mod report;
pub mod search;
pub mod store;
pub mod sync;
pub mod vault;
pub mod vocab;

pub use age::secrecy::{ExposeSecret, SecretString};
pub use error::{Error, Result};
pub use vault::{Change, Filter, Options, Vault};
