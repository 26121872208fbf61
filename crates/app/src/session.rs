//! Unlocking a vault, written once for the desktop app and the command line: repeated
//! wrong passphrases are answered ever more slowly, and, when the settings ask for it,
//! the vault is wiped after too many in a row.
//!
//! The count of failures is kept in settings.json (see [`crate::settings`]), so that
//! neither restarting the app nor switching to the command line resets the delay or
//! the wipe. One attempt at a time per [`Unlocker`] (each holds the count from start to
//! end). A duress passphrase is handled by the vault: a decoy comes back as an ordinary
//! vault, a wipe as "wrong passphrase".

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use custos_vault::{Options, SecretString, Vault};

use crate::error::{Error, Result};
use crate::settings;

/// The delay before the next unlock attempt after `failures` wrong passphrases:
/// none after the first, then 1 s, 2 s, 4 s … at most 30 s.
pub fn unlock_delay(failures: u32) -> Duration {
    match failures {
        0 | 1 => Duration::ZERO,
        n => Duration::from_secs((1u64 << (n - 2).min(5)).min(30)),
    }
}

/// How a vault is opened once the passphrase is through the throttle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// Only the vault.
    Plain,
    /// The vault, and the search index's snapshot read meanwhile (the desktop app).
    WithSearch,
}

/// Unlocks one vault folder with the throttle and the wipe after failures.
#[derive(Debug)]
pub struct Unlocker {
    config_dir: PathBuf,
    vault_dir: PathBuf,
    options: Options,
    /// A vault that vanished is answered as a wrong passphrase (the desktop: its unlock
    /// screen was up for a vault that existed).
    missing_is_wrong: bool,
    /// Failures in a row as this process counted them: the file's count, unless the
    /// file could not be written (then this one still grows).
    failures: Mutex<u32>,
}

impl Unlocker {
    /// The unlocker of the vault in `vault_dir`, counting failures in `config_dir`.
    pub fn new(config_dir: &Path, vault_dir: &Path, options: Options) -> Unlocker {
        Unlocker {
            failures: Mutex::new(settings::failed_unlocks(config_dir)),
            config_dir: config_dir.to_owned(),
            vault_dir: vault_dir.to_owned(),
            options,
            missing_is_wrong: false,
        }
    }

    /// Answers a vault that went while the passphrase was typed (a duress wipe from
    /// elsewhere) like any wrong passphrase, instead of "no vault": for an unlock screen
    /// that was shown because the vault existed.
    pub fn missing_vault_is_wrong_passphrase(mut self) -> Unlocker {
        self.missing_is_wrong = true;
        self
    }

    /// The vault's folder.
    pub fn vault_dir(&self) -> &Path {
        &self.vault_dir
    }

    /// Tries `passphrase`, after the delay that the failures so far call for.
    pub fn unlock(&self, passphrase: &SecretString, open: Open) -> Result<Vault> {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        // Another process (the app, or another command) may have failed meanwhile.
        *failures = (*failures).max(settings::failed_unlocks(&self.config_dir));
        let wipe_after = settings::load(&self.config_dir).wipe_after_failures;
        std::thread::sleep(unlock_delay(*failures));
        let opened = match open {
            Open::Plain => Vault::unlock(&self.vault_dir, passphrase, self.options),
            Open::WithSearch => custos_search::unlock(&self.vault_dir, passphrase, self.options),
        };
        let result = match opened {
            // The vault went while the passphrase was being typed (a duress wipe):
            // answered like any wrong passphrase, in about the time a key derivation takes.
            Err(custos_vault::Error::NoVault(_)) if self.missing_is_wrong => {
                std::thread::sleep(Duration::from_secs(1));
                Err(custos_vault::Error::WrongPassphrase)
            }
            other => other,
        };
        match result {
            Ok(vault) => {
                // Written only when there was a count to forget: an unlock leaves no
                // settings file where there was none. The vault opens whatever happens
                // to the counter's file.
                if *failures > 0 {
                    let _ = settings::save_failed_unlocks(&self.config_dir, 0);
                }
                *failures = 0;
                Ok(vault)
            }
            Err(custos_vault::Error::WrongPassphrase) => {
                *failures = failures.saturating_add(1);
                let _ = settings::save_failed_unlocks(&self.config_dir, *failures);
                match wipe_after {
                    Some(n) if *failures >= n => {
                        if self.vault_dir.join("vault.json").exists() {
                            Vault::wipe_folder(&self.vault_dir)?;
                        }
                        *failures = 0;
                        let _ = settings::save_failed_unlocks(&self.config_dir, 0);
                        Err(Error::WipedAfterFailures(n))
                    }
                    _ => Err(custos_vault::Error::WrongPassphrase.into()),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Failed unlocks in a row so far (waits while an attempt is under way).
    pub fn failures(&self) -> u32 {
        *self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets the failures (a vault created or restored anew here).
    pub fn reset(&self) {
        *self.failures.lock().unwrap_or_else(|p| p.into_inner()) = 0;
        let _ = settings::save_failed_unlocks(&self.config_dir, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlock_delay_grows_and_is_capped() {
        assert_eq!(unlock_delay(0), Duration::ZERO);
        assert_eq!(unlock_delay(1), Duration::ZERO);
        assert_eq!(unlock_delay(2), Duration::from_secs(1));
        assert_eq!(unlock_delay(3), Duration::from_secs(2));
        assert_eq!(unlock_delay(6), Duration::from_secs(16));
        assert_eq!(unlock_delay(7), Duration::from_secs(30));
        assert_eq!(unlock_delay(1000), Duration::from_secs(30));
    }
}
