//! Non-sensitive settings (language, auto-lock minutes, wipe after failed unlocks),
//! kept in the config folder as JSON (`~/.config/custos/settings.json`, shared by the
//! desktop app and the command line) — never in the webview's storage, and never
//! anything from the vault.
//!
//! The file also counts failed unlocks in a row (`failedUnlocks`), so that neither the
//! growing delay nor "wipe after N failed unlocks" is reset by restarting the app. Both
//! must be readable before the vault is unlocked, so they are in clear: whoever can edit
//! this file can turn the wipe off or reset the count. It is a deterrent against someone
//! at the keyboard, not a guarantee against someone with the disk.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The languages the UI has locales for: the one list of `custos_model::languages`.
pub use custos_model::languages::LANGUAGES;

/// The fewest and most failed unlocks that "wipe after N" accepts.
pub const WIPE_AFTER: std::ops::RangeInclusive<u32> = 3..=20;

/// The app's settings, as the UI reads and writes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    /// UI language.
    pub language: String,
    /// Lock after this many idle minutes (1–240).
    pub auto_lock_minutes: u32,
    /// Wipe the vault after this many failed unlocks in a row (3–20); off when absent.
    pub wipe_after_failures: Option<u32>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            language: "en".into(),
            auto_lock_minutes: 5,
            wipe_after_failures: None,
        }
    }
}

impl Settings {
    /// Checks the values the UI sent.
    pub fn validate(&self) -> Result<()> {
        if !custos_model::languages::is_supported(&self.language) {
            return Err(Error::Invalid(format!(
                "unknown language '{}'",
                self.language
            )));
        }
        if !(1..=240).contains(&self.auto_lock_minutes) {
            return Err(Error::Invalid(
                "auto-lock must be between 1 and 240 minutes".into(),
            ));
        }
        if let Some(n) = self.wipe_after_failures {
            if !WIPE_AFTER.contains(&n) {
                return Err(Error::Invalid(format!(
                    "wipe after must be between {} and {} failed unlocks",
                    WIPE_AFTER.start(),
                    WIPE_AFTER.end()
                )));
            }
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

/// Failed unlocks in a row, as counted in the file (0 when absent or unreadable).
pub fn failed_unlocks(config_dir: &Path) -> u32 {
    fs::read(path(config_dir))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v.get(FAILED_UNLOCKS)?.as_u64())
        .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
}

const FAILED_UNLOCKS: &str = "failedUnlocks";

/// Writes the settings atomically (the count of failed unlocks is kept).
pub fn save(config_dir: &Path, settings: &Settings) -> Result<()> {
    settings.validate()?;
    write(config_dir, settings, failed_unlocks(config_dir))
}

/// Writes the count of failed unlocks (the settings are kept).
pub fn save_failed_unlocks(config_dir: &Path, count: u32) -> Result<()> {
    write(config_dir, &load(config_dir), count)
}

fn write(config_dir: &Path, settings: &Settings, failures: u32) -> Result<()> {
    let io = |e: std::io::Error| Error::Settings(e.to_string());
    fs::create_dir_all(config_dir).map_err(io)?;
    let mut value = serde_json::to_value(settings).map_err(|e| Error::Settings(e.to_string()))?;
    if failures > 0 {
        value[FAILED_UNLOCKS] = failures.into();
    }
    let text = serde_json::to_vec_pretty(&value).map_err(|e| Error::Settings(e.to_string()))?;
    let tmp = config_dir.join(".settings.json.partial");
    let write = || -> std::io::Result<()> {
        use std::io::Write as _;
        let mut f = fs::File::create(&tmp)?;
        f.write_all(&text)?;
        // The count must survive a power cut right after a failed unlock.
        f.sync_all()?;
        fs::rename(&tmp, path(config_dir))
    };
    write().map_err(io)
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
            wipe_after_failures: Some(5),
        };
        save(&dir, &s).unwrap();
        assert_eq!(load(&dir), s);
        let bad = Settings {
            language: "xx".into(),
            ..s.clone()
        };
        assert_eq!(save(&dir, &bad).unwrap_err().kind(), "bad_request");
        let bad = Settings {
            auto_lock_minutes: 0,
            ..s.clone()
        };
        assert!(save(&dir, &bad).is_err());
        for n in [0, 2, 21] {
            let bad = Settings {
                wipe_after_failures: Some(n),
                ..s.clone()
            };
            assert!(save(&dir, &bad).is_err(), "{n}");
        }
        for code in custos_model::languages::codes() {
            let s = Settings {
                language: code.into(),
                ..s.clone()
            };
            save(&dir, &s).unwrap();
            assert_eq!(load(&dir), s, "{code}");
        }
        for near in ["zh", "zh-hans", "pt-BR", "FR"] {
            let bad = Settings {
                language: near.into(),
                ..s.clone()
            };
            assert!(save(&dir, &bad).is_err(), "{near}");
        }
        fs::write(path(&dir), b"{not json").unwrap();
        assert_eq!(load(&dir), Settings::default());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn failed_unlocks_are_counted_beside_the_settings() {
        let dir = std::env::temp_dir().join(format!("custos-failures-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        assert_eq!(failed_unlocks(&dir), 0);
        save_failed_unlocks(&dir, 2).unwrap();
        assert_eq!(failed_unlocks(&dir), 2);
        let s = Settings {
            language: "fr".into(),
            auto_lock_minutes: 7,
            wipe_after_failures: Some(3),
        };
        // Saving the settings keeps the count, and the count keeps the settings.
        save(&dir, &s).unwrap();
        assert_eq!(failed_unlocks(&dir), 2);
        save_failed_unlocks(&dir, 3).unwrap();
        assert_eq!((load(&dir), failed_unlocks(&dir)), (s.clone(), 3));
        save_failed_unlocks(&dir, 0).unwrap();
        assert_eq!((load(&dir), failed_unlocks(&dir)), (s, 0));
        let _ = fs::remove_dir_all(&dir);
    }
}
