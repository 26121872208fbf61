//! One command's session: the vault folder, the config folder it shares with the desktop
//! app, the passphrase (from a file or a prompt), and the one way to use a vault —
//! unlock it through the shared use case ([`custos_app::session::Unlocker`]: the growing
//! delay and the wipe after failed unlocks), act on it, lock it.

use std::path::{Path, PathBuf};

use custos_app::session::{unlock_delay, Open, Unlocker};
use custos_app::settings;
use custos_vault::{ExposeSecret, Options, SecretString, Vault};

use crate::error::{CliError, Result};
use crate::{lang, tr};

/// Where the command works, and how it gets the passphrase.
pub struct Session {
    dir: PathBuf,
    pass_file: Option<PathBuf>,
    config_dir: PathBuf,
}

impl Session {
    /// The session of `--vault` (default: the user's data folder) and
    /// `--passphrase-file` (default: a prompt).
    pub fn new(vault: Option<PathBuf>, pass_file: Option<PathBuf>) -> Result<Session> {
        let dir = match vault {
            Some(d) => d,
            None => default_vault()?,
        };
        Ok(Session {
            dir,
            pass_file,
            config_dir: config_dir(),
        })
    }

    /// The vault folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `--passphrase-file`, when given.
    pub fn pass_file(&self) -> Option<&Path> {
        self.pass_file.as_deref()
    }

    /// Unlocks the vault with the session's passphrase, runs `f`, and locks the vault
    /// again whether `f` succeeded or not; the first error wins.
    pub fn with_vault<T>(&self, f: impl FnOnce(&mut Vault) -> Result<T>) -> Result<T> {
        // No prompt for a vault that is not there.
        if self.pass_file.is_none() && !self.dir.join("vault.json").exists() {
            return Err(custos_vault::Error::NoVault(self.dir.clone()).into());
        }
        let pass = self.passphrase(&tr!("session.prompt_passphrase"))?;
        self.with_vault_unlocked_by(&pass, f)
    }

    /// The current passphrase, for `passwd`: the file's, or typed.
    pub fn current_passphrase(&self) -> Result<SecretString> {
        self.passphrase(&tr!("session.prompt_current"))
    }

    fn passphrase(&self, label: &str) -> Result<SecretString> {
        match &self.pass_file {
            Some(file) => read_passphrase_file(file),
            None => {
                self.announce_throttle();
                prompt(label)
            }
        }
    }

    /// [`Session::with_vault`] with a passphrase the caller read (`passwd` needs it
    /// again to change it).
    pub fn with_vault_unlocked_by<T>(
        &self,
        pass: &SecretString,
        f: impl FnOnce(&mut Vault) -> Result<T>,
    ) -> Result<T> {
        let vault = self.unlocker().unlock(pass, Open::Plain)?;
        act_then_lock(vault, f)
    }

    /// Forgets the failed unlocks counted so far (the vault they were counted against is
    /// gone, or its key was just rebuilt from the backup shares).
    pub fn forget_failed_unlocks(&self) {
        // Only when there is a count: a panic wipe must not leave a new settings file.
        if settings::failed_unlocks(&self.config_dir) > 0 {
            self.unlocker().reset();
        }
    }

    /// Every unlock goes through this, as the desktop app's does: the same config
    /// folder, so one count of failures for both.
    fn unlocker(&self) -> Unlocker {
        Unlocker::new(&self.config_dir, &self.dir, Options::default())
    }

    /// Before a prompt at a terminal, says what the failures so far mean for this
    /// attempt, as the desktop's unlock screen does (a script sees only the delay and
    /// the one-line error).
    fn announce_throttle(&self) {
        use std::io::IsTerminal as _;
        let failures = settings::failed_unlocks(&self.config_dir);
        if failures == 0 || !std::io::stderr().is_terminal() {
            return;
        }
        let delay = unlock_delay(failures).as_secs();
        let wipe_after = settings::load(&self.config_dir).wipe_after_failures;
        if delay == 0 && wipe_after.is_none() {
            return;
        }
        let mut line = tr!("session.throttle_failures", count = lang::n(failures));
        if delay > 0 {
            line.push_str(&tr!("session.throttle_delay", seconds = lang::n(delay)));
        }
        if let Some(n) = wipe_after {
            line.push_str(&tr!("session.throttle_wipe", count = lang::n(n)));
        }
        eprintln!("{line}");
    }
}

/// Runs `f` on an open vault, then locks it even when `f` failed; `f`'s error comes
/// first, the lock's after.
pub fn act_then_lock<T>(mut vault: Vault, f: impl FnOnce(&mut Vault) -> Result<T>) -> Result<T> {
    let result = f(&mut vault);
    let locked = vault.lock();
    let value = result?;
    locked?;
    Ok(value)
}

fn default_vault() -> Result<PathBuf> {
    dirs::data_dir()
        .map(|d| d.join("custos").join("vault"))
        .ok_or_else(|| CliError::usage(tr!("session.no_data_folder")))
}

/// The folder of settings.json (and the count of failed unlocks), exactly as the
/// desktop app finds it (src-tauri's `config_dir`): were they to differ, switching to
/// the command line would reset the delay and the wipe.
fn config_dir() -> PathBuf {
    std::env::var("CUSTOS_CONFIG_DIR")
        .ok()
        .map(PathBuf::from)
        .or_else(|| dirs::config_dir().map(|d| d.join("custos")))
        .unwrap_or_else(|| PathBuf::from("custos-config"))
}

/// The language chosen in the desktop app, if settings.json says one (read before the
/// arguments, so the configuration folder is the default or `CUSTOS_CONFIG_DIR`).
pub fn settings_language() -> Option<String> {
    let dir = config_dir();
    settings::path(&dir)
        .exists()
        .then(|| settings::load(&dir).language)
}

/// A new passphrase: from a file, or typed twice at the prompt.
pub fn new_passphrase(file: Option<&Path>) -> Result<SecretString> {
    if let Some(f) = file {
        return read_passphrase_file(f);
    }
    let a = prompt(&tr!("session.prompt_new"))?;
    let b = prompt(&tr!("session.prompt_repeat"))?;
    if a.expose_secret() != b.expose_secret() {
        return Err(CliError::PassphraseMismatch);
    }
    Ok(a)
}

/// The first line of `path` (a passphrase file for scripts).
fn read_passphrase_file(path: &Path) -> Result<SecretString> {
    let bytes = zeroize::Zeroizing::new(
        std::fs::read(path)
            .map_err(|e| CliError::io(tr!("cmd.reading_file", path = path.display()), e))?,
    );
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| CliError::usage(tr!("session.not_utf8", path = path.display())))?;
    let line = text.lines().next().unwrap_or("");
    if line.is_empty() {
        return Err(CliError::usage(tr!(
            "session.no_passphrase",
            path = path.display()
        )));
    }
    Ok(SecretString::from(line.to_owned()))
}

fn prompt(label: &str) -> Result<SecretString> {
    rpassword::prompt_password(label)
        .map(SecretString::from)
        .map_err(|e| CliError::io(tr!("session.reading_passphrase"), e))
}
