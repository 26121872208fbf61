//! Protection under threat: the panic wipe, and travel mode (cases the hub holds are
//! removed before a border and brought back after).

use crate::cli::TravelCommand;
use crate::error::{CliError, Result};
use crate::session::Session;
use crate::{lang, tr};
use custos_vault::Vault;

pub fn wipe(session: &Session, yes: bool) -> Result {
    let dir = session.dir();
    if !yes {
        eprintln!("{}", tr!("protect.wipe_warning", path = dir.display()));
        // The word to type: the English one is always accepted too (a script's, or
        // the user's habit).
        let word = tr!("protect.confirm_word");
        eprint!("{}", tr!("protect.wipe_prompt", word = word));
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| CliError::io(tr!("protect.reading_answer"), e))?;
        let answer = answer.trim();
        // An empty word (a damaged translation) never confirms.
        let typed_word = !word.trim().is_empty() && answer == word.trim();
        if answer != "WIPE" && !typed_word {
            return Err(CliError::NotConfirmed);
        }
    }
    let w = Vault::wipe_folder(dir)?;
    // As the desktop's panic wipe does: failures counted against the wiped vault do not
    // carry over to the next one.
    session.forget_failed_unlocks();
    println!(
        "{}",
        tr!(
            "protect.wiped",
            keys_ms = lang::n(format!("{:.1}", w.keys_destroyed.as_secs_f64() * 1e3)),
            count = lang::n(w.files),
            total_ms = lang::n(format!("{:.1}", w.total.as_secs_f64() * 1e3))
        )
    );
    Ok(())
}

pub fn travel(session: &Session, cmd: TravelCommand) -> Result {
    session.with_vault(|vault| match cmd {
        TravelCommand::Remove { cases, all } => {
            if cases.is_empty() && !all {
                return Err(CliError::usage(tr!("protect.travel_needs_cases")));
            }
            // The hub confirms, just before, that it holds everything removed.
            let r = custos_sync::travel_remove(
                &custos_sync::Held::new(vault),
                if all { None } else { Some(&cases) },
            )?;
            println!(
                "{}",
                tr!(
                    "protect.travel_removed",
                    cases = lang::n(r.cases),
                    records = lang::n(r.records),
                    versions = lang::n(r.versions),
                    files = lang::n(r.files)
                )
            );
            Ok(())
        }
        TravelCommand::Restore => {
            let r = custos_sync::restore(&custos_sync::Held::new(vault))?;
            println!(
                "{}",
                tr!(
                    "protect.travel_restored",
                    versions = lang::n(r.pulled),
                    files = lang::n(r.blobs_down)
                )
            );
            Ok(())
        }
    })
}
