//! The one error type of the core.
//!
//! Every message is written for the person using the app: it says what went wrong and,
//! where there is one, what to do. No message ever carries record content, a passphrase
//! or key material — only ids, paths the user gave, and counts.

use std::fmt;
use std::io;
use std::path::PathBuf;

use uuid::Uuid;

/// A result with the core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the vault core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The passphrase does not open the vault.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// The passphrase was refused when creating a vault or changing the passphrase.
    #[error("passphrase too weak: {0}")]
    WeakPassphrase(String),
    /// The two entries of a new passphrase differ.
    #[error("the passphrases do not match")]
    PassphraseMismatch,
    /// The identity file does not match the checksum written with it.
    #[error("the vault's key file (identity.age) is damaged; restore it from a key backup")]
    IdentityDamaged,
    /// The vault is bound to a device key that is not on this computer.
    #[error("this vault cannot be opened on this computer: its device key is not here (the vault was wiped here, or copied from another device); rebuild its key from the key backup shares (custos key restore)")]
    DeviceKeyMissing,
    /// No vault exists in the folder.
    #[error("no vault at {0}")]
    NoVault(PathBuf),
    /// A vault already exists where a new one was to be created.
    #[error("a vault already exists at {0}")]
    VaultExists(PathBuf),
    /// The vault was written by a newer version of the app.
    #[error("this vault was written by a newer version of Custos (format {0}); update the app")]
    NewerFormat(u32),
    /// Another process has the vault open.
    #[error("the vault is open in another process; close it there first")]
    VaultBusy,
    /// No record with that id.
    #[error("no record {0}")]
    RecordNotFound(Uuid),
    /// A stored version failed to decrypt or verify. Names the record when it is known.
    #[error("{}", damaged_message(.record, .version, .reason))]
    Damaged {
        /// The record the version belongs to, when the index knows it.
        record: Option<Uuid>,
        /// The version whose ciphertext is damaged.
        version: Uuid,
        /// Why it was rejected (never contains plaintext).
        reason: Damage,
    },
    /// The disk is full: the write was not made.
    #[error("the disk is full: nothing was saved; free some space and try again")]
    DiskFull,
    /// The store failed earlier in this session; it must be reopened.
    #[error(
        "the vault's storage failed earlier in this session; nothing more was saved — close Custos and open it again (what was saved before is safe)"
    )]
    StoreFailed,
    /// The database could not be read or written.
    #[error("database error: {0}")]
    Database(String),
    /// A file could not be read or written.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// Input that the vault refuses (a missing title, an unknown case …).
    #[error("{0}")]
    Invalid(String),
    /// An import file with problems; nothing was imported.
    #[error("{}", import_message(.0))]
    Import(Vec<Problem>),
    /// An evidence file could not be imported, read back or exported as it should.
    #[error("{0}")]
    Evidence(String),
    /// An encryption step failed (should not happen with valid keys).
    #[error("encryption failed: {0}")]
    Encrypt(String),
    /// The roster the hub served does not verify against the organisation key this
    /// vault pinned (forged, reordered, truncated, forked, or another key): nothing of
    /// it was taken, and sync stops until it does.
    #[error("{0}")]
    RosterRefused(String),
}

/// Why a stored version was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// age refused it: truncated, altered, or not encrypted to this vault.
    Decrypt,
    /// It decrypted, but its content is not a valid version.
    Format,
    /// It decrypted, but the ids inside differ from the key it was stored under.
    Moved,
    /// The signature does not verify, or the signer is unknown to this vault.
    Signature,
    /// It was written by a newer schema than this app knows.
    NewerSchema,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Damage::Decrypt => "it cannot be decrypted (truncated, altered or not for this vault)",
            Damage::Format => "its content is not a valid record version",
            Damage::Moved => "it was stored under another id (moved or swapped ciphertext)",
            Damage::Signature => "its signature does not verify",
            Damage::NewerSchema => "it was written by a newer version of Custos",
        })
    }
}

fn damaged_message(record: &Option<Uuid>, version: &Uuid, reason: &Damage) -> String {
    match record {
        Some(r) => format!("record {r}: version {version} is damaged: {reason}"),
        None => format!("stored version {version} is damaged: {reason}"),
    }
}

/// One problem found in an import file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line in the file, when known.
    pub line: Option<usize>,
    /// Path of the field, such as `records[2].versions[0].body.title`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

fn import_message(problems: &[Problem]) -> String {
    let mut out = format!(
        "import refused, nothing was imported ({} problem{}):",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        out.push_str("\n  ");
        out.push_str(&p.to_string());
    }
    out
}

impl From<custos_model::passphrase::WeakPassphrase> for Error {
    fn from(e: custos_model::passphrase::WeakPassphrase) -> Self {
        Error::WeakPassphrase(e.0)
    }
}

impl Error {
    /// Wraps an I/O error with what was being done; a full disk gets its own variant.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        if is_disk_full(&source) {
            Error::DiskFull
        } else {
            Error::Io {
                context: context.into(),
                source,
            }
        }
    }

    /// A stable, machine-readable name for the kind of error (for the UI and scripts).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::WrongPassphrase => "wrong_passphrase",
            Error::WeakPassphrase(_) => "weak_passphrase",
            Error::PassphraseMismatch => "passphrase_mismatch",
            Error::IdentityDamaged => "identity_damaged",
            Error::DeviceKeyMissing => "device_key_missing",
            Error::NoVault(_) => "no_vault",
            Error::VaultExists(_) => "vault_exists",
            Error::NewerFormat(_) => "newer_format",
            Error::VaultBusy => "vault_busy",
            Error::RecordNotFound(_) => "not_found",
            Error::Damaged { .. } => "damaged",
            Error::DiskFull => "disk_full",
            Error::StoreFailed => "store_failed",
            Error::Database(_) => "database",
            Error::Io { .. } => "io",
            Error::Invalid(_) => "invalid",
            Error::Import(_) => "import",
            Error::Encrypt(_) => "encrypt",
            Error::Evidence(_) => "evidence",
            Error::RosterRefused(_) => "roster_refused",
        }
    }
}

/// True when the OS reports that the disk (or a quota, or a file size limit) is full.
pub(crate) fn is_disk_full(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded | io::ErrorKind::FileTooLarge
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_disk_is_its_own_error() {
        let e = Error::io("writing", io::Error::from(io::ErrorKind::StorageFull));
        assert_eq!(e.kind(), "disk_full");
        let e = Error::io("writing", io::Error::from(io::ErrorKind::PermissionDenied));
        assert_eq!(e.kind(), "io");
        assert!(e.to_string().starts_with("writing: "));
    }

    #[test]
    fn damaged_names_the_record_when_known() {
        let r = Uuid::from_u128(1);
        let v = Uuid::from_u128(2);
        let e = Error::Damaged {
            record: Some(r),
            version: v,
            reason: Damage::Decrypt,
        };
        assert!(e.to_string().contains(&r.to_string()));
        assert!(e.to_string().contains(&v.to_string()));
        let e = Error::Damaged {
            record: None,
            version: v,
            reason: Damage::Moved,
        };
        assert!(e.to_string().starts_with("stored version"));
    }

    #[test]
    fn import_lists_every_problem() {
        let e = Error::Import(vec![
            Problem {
                line: Some(3),
                field: "records[0].kind".into(),
                message: "unknown kind".into(),
            },
            Problem {
                line: None,
                field: String::new(),
                message: "empty".into(),
            },
        ]);
        let s = e.to_string();
        assert!(s.contains("2 problems"));
        assert!(s.contains("line 3: records[0].kind: unknown kind"));
        assert!(s.ends_with("  empty"));
    }
}
