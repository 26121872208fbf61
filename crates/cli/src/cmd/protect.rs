//! Protection under threat: the panic wipe, and travel mode (cases the hub holds are
//! removed before a border and brought back after).

use crate::cli::TravelCommand;
use crate::error::{CliError, Result};
use crate::session::Session;
use custos_vault::Vault;

pub fn wipe(session: &Session, yes: bool) -> Result {
    let dir = session.dir();
    if !yes {
        eprintln!(
            "This destroys the vault at {} for good: its keys first, then its data. \
             Only its key backup shares and the hub's copy can bring its cases back.",
            dir.display()
        );
        eprint!("Type WIPE to go on: ");
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| CliError::io("reading the answer", e))?;
        if answer.trim() != "WIPE" {
            return Err(CliError::NotConfirmed);
        }
    }
    let w = Vault::wipe_folder(dir)?;
    // As the desktop's panic wipe does: failures counted against the wiped vault do not
    // carry over to the next one.
    session.forget_failed_unlocks();
    println!(
        "wiped: keys destroyed in {:.1} ms, {} files removed in {:.1} ms",
        w.keys_destroyed.as_secs_f64() * 1e3,
        w.files,
        w.total.as_secs_f64() * 1e3
    );
    Ok(())
}

pub fn travel(session: &Session, cmd: TravelCommand) -> Result {
    session.with_vault(|vault| match cmd {
        TravelCommand::Remove { cases, all } => {
            if cases.is_empty() && !all {
                return Err(CliError::usage("name cases with --case ID, or give --all"));
            }
            // The hub confirms, just before, that it holds everything removed.
            let r = custos_sync::travel_remove(
                &custos_sync::Held::new(vault),
                if all { None } else { Some(&cases) },
            )?;
            println!(
                "removed {} case(s): {} records, {} versions, {} evidence files; sync is paused",
                r.cases, r.records, r.versions, r.files
            );
            Ok(())
        }
        TravelCommand::Restore => {
            let r = custos_sync::restore(&custos_sync::Held::new(vault))?;
            println!(
                "brought back {} versions and {} evidence files; sync resumed",
                r.pulled, r.blobs_down
            );
            Ok(())
        }
    })
}
