//! The errors of the use cases, with the stable kinds the desktop app and scripts switch
//! on. Messages are for the person using Custos: never record content, a passphrase or
//! key material.

/// A result with the use cases' [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a use case can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The vault refused (wrong passphrase, damaged record, full disk …).
    #[error(transparent)]
    Vault(#[from] custos_vault::Error),
    /// Too many failed unlocks in a row: the vault was wiped, as the settings asked.
    #[error("the vault was wiped after {0} failed unlocks")]
    WipedAfterFailures(u32),
    /// A request the use case refuses (an unknown language, an option out of range).
    #[error("{0}")]
    Invalid(String),
    /// An export would replace a file (it never does).
    #[error("{} already exists; choose a new name (an export never replaces a file)", .0.display())]
    FileExists(std::path::PathBuf),
    /// An export's recipient is not an age public key: the vault's words, which never
    /// repeat what was given (it may be a pasted secret key).
    #[error("{0}")]
    InvalidRecipient(String),
    /// A submission lacks elements the mechanism asks for, and the user has not
    /// confirmed to export it anyway.
    #[error("the submission lacks elements the mechanism asks for; confirm to export anyway")]
    MissingElements,
    /// An import was refused (every problem listed) or taken back.
    #[error(transparent)]
    Import(custos_import::engine::Error),
    /// The settings file could not be written.
    #[error("saving settings: {0}")]
    Settings(String),
}

impl Error {
    /// The stable code of this error (the vault's own kinds pass through unchanged).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Vault(e) => e.kind(),
            Error::WipedAfterFailures(_) => "wiped_after_failures",
            Error::Invalid(_) => "bad_request",
            Error::FileExists(_) => "file_exists",
            Error::InvalidRecipient(_) => "invalid_recipient",
            Error::MissingElements => "missing_elements",
            Error::Import(custos_import::engine::Error::Refused(_)) => "import_refused",
            Error::Import(_) => "import_failed",
            Error::Settings(_) => "internal",
        }
    }
}
