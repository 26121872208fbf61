//! Non-sensitive app settings (language, auto-lock minutes), kept in the app's config
//! folder as JSON — never in the webview's storage, and never anything from the vault.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::CommandError;

/// Languages the UI has locales for.
pub const LANGUAGES: &[&str] = &["en", "fr", "es", "ar"];

/// The app's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    /// UI language.
    pub language: String,
    /// Lock after this many idle minutes (1–240).
    pub auto_lock_minutes: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            language: "en".into(),
            auto_lock_minutes: 5,
        }
    }
}

impl Settings {
    /// Checks the values the UI sent.
    pub fn validate(&self) -> Result<(), CommandError> {
        if !LANGUAGES.contains(&self.language.as_str()) {
            return Err(CommandError::BadRequest(format!(
                "unknown language '{}'",
                self.language
            )));
        }
        if !(1..=240).contains(&self.auto_lock_minutes) {
            return Err(CommandError::BadRequest(
                "auto-lock must be between 1 and 240 minutes".into(),
            ));
        }
        Ok(())
    }
}

/// Where settings live.
pub fn path(config_dir: &Path) -> PathBuf {
    config_dir.join("settings.json")
}

/// Reads the settings; a missing or unreadable file gives the defaults.
pub fn load(config_dir: &Path) -> Settings {
    fs::read(path(config_dir))
        .ok()
        .and_then(|b| serde_json::from_slice::<Settings>(&b).ok())
        .filter(|s| s.validate().is_ok())
        .unwrap_or_default()
}

/// Writes the settings atomically.
pub fn save(config_dir: &Path, settings: &Settings) -> Result<(), CommandError> {
    settings.validate()?;
    let io = |e: std::io::Error| CommandError::Internal(format!("saving settings: {e}"));
    fs::create_dir_all(config_dir).map_err(io)?;
    let tmp = config_dir.join(".settings.json.partial");
    let text =
        serde_json::to_vec_pretty(settings).map_err(|e| CommandError::Internal(e.to_string()))?;
    fs::write(&tmp, text).map_err(io)?;
    fs::rename(&tmp, path(config_dir)).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_refuse_bad_values() {
        let dir = std::env::temp_dir().join(format!("custos-settings-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        assert_eq!(load(&dir), Settings::default());
        let s = Settings {
            language: "ar".into(),
            auto_lock_minutes: 10,
        };
        save(&dir, &s).unwrap();
        assert_eq!(load(&dir), s);
        let bad = Settings {
            language: "xx".into(),
            auto_lock_minutes: 10,
        };
        assert_eq!(save(&dir, &bad).unwrap_err().kind(), "bad_request");
        let bad = Settings {
            language: "en".into(),
            auto_lock_minutes: 0,
        };
        assert!(save(&dir, &bad).is_err());
        fs::write(path(&dir), b"{not json").unwrap();
        assert_eq!(load(&dir), Settings::default());
        let _ = fs::remove_dir_all(&dir);
    }
}
