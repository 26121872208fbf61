//! The command line's own errors: what it refuses itself (arguments, prompts, checks
//! that fail), and the errors of the libraries it calls, whose messages pass through
//! unchanged. `main` prints any of them as one line, `custos: {error}`.

use std::io;

use uuid::Uuid;

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
