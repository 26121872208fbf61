//! The one place where errors become what the UI receives: `{kind, message}`, with a
//! stable `kind` the UI can switch on and a message a person can act on. Never a Rust
//! debug string, never record content or a passphrase.

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

/// An error as the UI sees it.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// An error of the vault core.
    #[error(transparent)]
    Core(#[from] custos_vault::Error),
    /// The vault is locked (or not created yet).
    #[error("the vault is locked")]
    Locked,
    /// The vault is already unlocked.
    #[error("the vault is already unlocked")]
    AlreadyUnlocked,
    /// Input the UI should not have sent.
    #[error("{0}")]
    BadRequest(String),
    /// Sync refused or failed: a stable kind (`hub_unreachable`, `wrong_pin`,
    /// `invite_expired` …) and the plain words of the core.
    #[error("{message}")]
    Sync {
        /// The stable code.
        kind: &'static str,
        /// What happened.
        message: String,
    },
    /// A package did not check (Settings → Packages and updates): a stable kind
    /// (`package_changed`, `package_no_keys` …) and the check's words, which name the
    /// file or the key.
    #[error(transparent)]
    Package(#[from] custos_release::CheckError),
    /// Too many failed unlocks in a row: the vault was wiped, as the settings asked.
    #[error("the vault was wiped after {0} failed unlocks")]
    WipedAfterFailures(u32),
    /// The vault locked, but the unsaved changes could not be kept in it.
    #[error("the unsaved changes could not be kept ({0})")]
    DraftNotSaved(&'static str),
    /// Something the app itself failed at (a settings file, a worker thread).
    #[error("{0}")]
    Internal(String),
}

impl From<custos_app::Error> for CommandError {
    fn from(e: custos_app::Error) -> Self {
        match e {
            custos_app::Error::Vault(e) => CommandError::Core(e),
            custos_app::Error::WipedAfterFailures(n) => CommandError::WipedAfterFailures(n),
            custos_app::Error::Invalid(m) => CommandError::BadRequest(m),
            custos_app::Error::Settings(m) => {
                CommandError::Internal(format!("saving settings: {m}"))
            }
            // Refusals the page words by their stable kind.
            other => CommandError::Sync {
                kind: other.kind(),
                message: other.to_string(),
            },
        }
    }
}

impl CommandError {
    /// The stable code the UI switches on.
    pub fn kind(&self) -> &'static str {
        match self {
            CommandError::Core(e) => e.kind(),
            CommandError::Locked => "locked",
            CommandError::AlreadyUnlocked => "already_unlocked",
            CommandError::BadRequest(_) => "bad_request",
            CommandError::Sync { kind, .. } => kind,
            CommandError::Package(e) => e.kind(),
            CommandError::WipedAfterFailures(_) => "wiped_after_failures",
            CommandError::DraftNotSaved(_) => "draft_not_saved",
            CommandError::Internal(_) => "internal",
        }
    }
}

impl Serialize for CommandError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("CommandError", 2)?;
        st.serialize_field("kind", self.kind())?;
        st.serialize_field("message", &self.to_string())?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_reach_the_ui_as_kind_and_message() {
        let e = CommandError::from(custos_vault::Error::WrongPassphrase);
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({"kind": "wrong_passphrase", "message": "wrong passphrase"})
        );
        assert_eq!(
            serde_json::to_value(CommandError::Locked).unwrap(),
            json!({"kind": "locked", "message": "the vault is locked"})
        );
        let e = CommandError::from(custos_vault::Error::Invalid("title is required".into()));
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({"kind": "invalid", "message": "title is required"})
        );
    }

    #[test]
    fn every_error_has_exactly_two_fields() {
        for e in [
            CommandError::from(custos_vault::Error::DiskFull),
            CommandError::AlreadyUnlocked,
            CommandError::BadRequest("x".into()),
            CommandError::WipedAfterFailures(3),
            CommandError::DraftNotSaved("disk_full"),
            CommandError::Internal("y".into()),
        ] {
            let v = serde_json::to_value(&e).unwrap();
            let obj = v.as_object().unwrap();
            assert_eq!(obj.len(), 2);
            assert!(obj["kind"]
                .as_str()
                .unwrap()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_'));
        }
    }
}
