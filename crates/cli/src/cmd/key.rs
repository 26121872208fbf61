//! The vault's passphrase and key: `init` (a new vault), `passwd`, and the key backup
//! (`key backup` splits the key into shares, `key restore` rebuilds it from them).

use std::path::Path;

use custos_vault::{Options, Vault};

use super::read_input;
use crate::cli::KeyCommand;
use crate::error::{CliError, Result};
use crate::session::{act_then_lock, new_passphrase, Session};
use crate::{lang, tr};

pub fn init(session: &Session) -> Result {
    if session.pass_file().is_none() {
        eprintln!("{}", tr!("key.lost_passphrase_warning"));
    }
    let pass = new_passphrase(session.pass_file())?;
    let vault = Vault::create(session.dir(), &pass, Options::default())?;
    act_then_lock(vault, |_| {
        println!("{}", session.dir().display());
        Ok(())
    })
}

pub fn passwd(session: &Session, new_passphrase_file: Option<&Path>) -> Result {
    // Unlocking with the old passphrase counts as an unlock attempt like any other.
    let old = session.current_passphrase()?;
    session.with_vault_unlocked_by(&old, |vault| {
        let new = new_passphrase(new_passphrase_file)?;
        vault.change_passphrase(&old, &new)?;
        eprintln!("{}", tr!("key.passphrase_changed"));
        Ok(())
    })
}

pub fn run(session: &Session, cmd: KeyCommand) -> Result {
    match cmd {
        KeyCommand::Backup { shares, threshold } => {
            let lines = session.with_vault(|vault| Ok(vault.key_shares(threshold, shares)?))?;
            eprintln!(
                "{}",
                tr!(
                    "key.backup_notice",
                    shares = lang::n(shares),
                    threshold = lang::n(threshold)
                )
            );
            for l in &lines {
                println!("{}", l.as_str());
            }
            Ok(())
        }
        KeyCommand::Restore {
            file,
            new_passphrase_file,
            new_vault,
        } => {
            let input =
                zeroize::Zeroizing::new(read_input(file.as_deref().unwrap_or(Path::new("-")))?);
            let text = std::str::from_utf8(&input)
                .map_err(|_| CliError::usage(tr!("key.shares_not_text")))?;
            let lines: Vec<&str> = text.lines().collect();
            let new = new_passphrase(new_passphrase_file.as_deref())?;
            let dir = session.dir();
            if new_vault {
                Vault::restore_into_new(dir, &lines, &new, Options::default())?.lock()?;
            } else {
                Vault::restore_key(dir, &lines, &new, Options::default())?;
            }
            // Whoever holds enough shares holds the key: wrong passphrases typed before
            // the restore no longer count towards the delay or the wipe.
            session.forget_failed_unlocks();
            if new_vault {
                eprintln!("{}", tr!("key.restored_new_vault", path = dir.display()));
            } else {
                eprintln!("{}", tr!("key.restored"));
            }
            Ok(())
        }
    }
}
