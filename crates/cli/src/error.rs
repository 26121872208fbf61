//! The command line's own errors: what it refuses itself (arguments, prompts, checks
//! that fail), and the errors of the libraries it calls, whose messages pass through
//! unchanged. `main` prints any of them as one line, `custos: {error}`, in the user's
//! language ([`CliError::localized`]).

use std::io;

use uuid::Uuid;

use crate::lang;
use crate::tr;

/// A result with the command line's [`CliError`].
pub type Result<T = (), E = CliError> = std::result::Result<T, E>;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Arguments or input the command refuses (a missing flag, a malformed value).
    #[error("{0}")]
    Usage(String),
    /// The two entries of a new passphrase differ.
    #[error("the passphrases do not match")]
    PassphraseMismatch,
    /// The panic wipe was not confirmed.
    #[error("not wiped")]
    NotConfirmed,
    /// `export --check` found elements of a communication missing (listed on stdout).
    #[error("{0} element(s) missing")]
    MissingElements(usize),
    /// An evidence item failed its check (the problems are listed on stdout); scripts
    /// rely on the exit code.
    #[error("evidence {id} did not verify: {problems} problem(s)")]
    Unverified {
        /// The evidence item.
        id: Uuid,
        /// How many problems were found.
        problems: usize,
    },
    /// A file, a prompt or standard input/output failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The vault refused.
    #[error(transparent)]
    Vault(#[from] custos_vault::Error),
    /// A use case refused (the unlock throttle, the wipe after failed unlocks).
    #[error(transparent)]
    App(#[from] custos_app::Error),
    /// A package did not check (`check-package`).
    #[error(transparent)]
    Package(#[from] custos_release::CheckError),
    /// Enrolling or syncing with the hub failed.
    #[error(transparent)]
    Sync(#[from] custos_sync::SyncError),
    /// A value could not be turned into JSON for output (the vault's own types: not
    /// expected to happen).
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

impl CliError {
    /// An argument or input error.
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError::Usage(message.into())
    }

    /// An I/O error, with what was being done.
    pub fn io(context: impl Into<String>, source: io::Error) -> CliError {
        CliError::Io {
            context: context.into(),
            source,
        }
    }
}

impl CliError {
    /// The error in the user's language. The command line's own messages are
    /// translated where they are made (a usage error, an I/O error's context) or here;
    /// the vault's, the use cases' and sync's errors are told by their kind, in the
    /// desktop app's words for it, with the English message after it in brackets (it
    /// names the record, file or value, which a translation of the kind alone cannot).
    /// In English, the error's own message.
    pub fn localized(&self) -> String {
        let kind = match self {
            CliError::Usage(m) => return m.clone(),
            CliError::PassphraseMismatch => return tr!("error.cli.passphrase_mismatch"),
            CliError::NotConfirmed => return tr!("error.cli.not_confirmed"),
            CliError::MissingElements(n) => {
                return tr!("error.cli.missing_elements", count = lang::n(n))
            }
            CliError::Unverified { id, problems } => {
                return tr!("error.cli.unverified", id = id, count = lang::n(problems))
            }
            CliError::Io { context, source } => return format!("{context}: {source}"),
            CliError::Vault(e) => e.kind(),
            CliError::App(e) => e.kind(),
            CliError::Sync(e) => e.kind(),
            // A refused package is told in words a user acts on, in English too (the
            // check's own message, after it, names the file or the key).
            CliError::Package(e) => return sentence_then_detail(e.kind(), e.to_string()),
            CliError::Json(_) => "internal",
        };
        by_kind(kind, self.to_string())
    }
}

/// A vault error shown without failing the command (a damaged record listed, a version
/// of a history that cannot be read), in the user's language as [`CliError::localized`].
pub fn told(e: &custos_vault::Error) -> String {
    by_kind(e.kind(), e.to_string())
}

/// The desktop app's sentence for an error kind, the English message after it.
fn by_kind(kind: &str, english: String) -> String {
    if lang::is_source() {
        return english;
    }
    sentence_then_detail(kind, english)
}

/// The desktop app's sentence for an error kind in the language in use (English
/// included), the English message after it in brackets.
fn sentence_then_detail(kind: &str, english: String) -> String {
    match lang::lookup(&format!("error.{kind}")) {
        Some(sentence) => format!("{sentence} [{english}]"),
        None => english,
    }
}
