//! The organisation key and its signed roster: create it (a coordinator, once), follow
//! it (every other device, after comparing its words), approve and revoke devices, add
//! and remove coordinators. The hub only stores and relays what the key signed.

use std::io::{BufRead, Write};

use custos_sync::Held;
use custos_vault::Vault;
use custos_wire::roster_log::{self, Change};

use super::print_json;
use crate::cli::OrgCommand;
use crate::error::{CliError, Result};
use crate::session::Session;

pub fn run(session: &Session, cmd: OrgCommand) -> Result {
    session.with_vault(|vault| org_command(vault, cmd))
}

/// A signing key (base64) as the words people compare.
fn words_of(signer: &str) -> String {
    roster_log::words_of(signer).unwrap_or_else(|| "(not a signing key)".into())
}

fn org_command(vault: &mut Vault, cmd: OrgCommand) -> Result {
    match cmd {
        OrgCommand::Create { name, yes } => {
            let held = Held::new(vault);
            let created = custos_sync::org_create(&held, &name, |roster| {
                println!("The roster to sign, as the hub lists it now:");
                for c in &roster.coordinators {
                    println!("  coordinator  {c}");
                }
                for d in &roster.devices {
                    println!(
                        "  device       {}  {:<24} {:<11} {}{}",
                        d.device_id,
                        d.label,
                        d.role.as_str(),
                        words_of(&d.signer),
                        if d.revoked { "  (revoked)" } else { "" }
                    );
                }
                println!(
                    "Only coordinators this vault already encrypts to are signed; compare the \
                     devices with your organisation's own list."
                );
                yes || ask("Sign this roster with a new organisation key? [y/N] ")
            })?;
            let Some(created) = created else {
                println!("nothing was signed");
                return Ok(());
            };
            println!(
                "the organisation key signs the roster now ({} entries)",
                created.entries
            );
            println!("its words: {}", created.words);
            println!(
                "Read these words to every colleague in person: each confirms them with \
                 `custos org confirm WORDS…`. Make a new key backup (custos key backup): its \
                 shares now carry the organisation key too."
            );
            Ok(())
        }
        OrgCommand::Confirm { words } => {
            vault.confirm_org_key(&words.join(" "))?;
            println!(
                "this device follows the organisation key now: only the roster it signs \
                 decides whom this vault encrypts to and whose changes it takes in (sync to \
                 fetch it)"
            );
            Ok(())
        }
        OrgCommand::Approve { device, words } => {
            let entries = custos_sync::org_approve(&Held::new(vault), &device, &words)?;
            println!("approved '{device}': the roster has {entries} entries");
            Ok(())
        }
        OrgCommand::Revoke { device } => {
            let entries = custos_sync::org_revoke(&Held::new(vault), &device)?;
            println!("revoked '{device}': the roster has {entries} entries");
            Ok(())
        }
        OrgCommand::AddCoordinator { recipient } => {
            if recipient
                .parse::<custos_vault::crypto::VaultRecipient>()
                .is_err()
            {
                return Err(CliError::usage(format!(
                    "'{recipient}' is not an age recipient (age1…)"
                )));
            }
            let held = Held::new(vault);
            let entries = custos_sync::org_change(&held, |_| {
                Ok(vec![Change::Coordinator {
                    recipient: recipient.clone(),
                }])
            })?;
            println!("coordinator added: the roster has {entries} entries");
            Ok(())
        }
        OrgCommand::RemoveCoordinator { recipient } => {
            let held = Held::new(vault);
            let entries = custos_sync::org_change(&held, |_| {
                Ok(vec![Change::RemoveCoordinator {
                    recipient: recipient.clone(),
                }])
            })?;
            println!("coordinator removed: the roster has {entries} entries");
            Ok(())
        }
        OrgCommand::Give { to, out } => {
            let sealed = vault.give_org_key(&to)?;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&out)
                .map_err(|e| CliError::io(format!("creating {}", out.display()), e))?;
            f.write_all(&sealed)
                .and_then(|()| f.sync_all())
                .map_err(|e| CliError::io(format!("writing {}", out.display()), e))?;
            println!(
                "the organisation key, sealed to {to}, is in {}: give it to that coordinator \
                 (custos org take FILE), then delete it",
                out.display()
            );
            Ok(())
        }
        OrgCommand::Take { file } => {
            let sealed = std::fs::read(&file)
                .map_err(|e| CliError::io(format!("reading {}", file.display()), e))?;
            let words = vault.take_org_key(&sealed)?;
            println!(
                "this vault holds the organisation key now ({words}): make a new key backup, \
                 its shares carry it"
            );
            Ok(())
        }
        OrgCommand::Show { json } => {
            let info = vault.sync_info();
            if json {
                return print_json(&serde_json::to_value(&info.org)?);
            }
            if !info.enrolled {
                println!("not enrolled with a hub (see `custos enroll`)");
                return Ok(());
            }
            print_org(&info.org);
            Ok(())
        }
    }
}

/// The organisation lines of `custos org show` and `custos sync status`.
pub fn print_org(org: &custos_vault::OrgInfo) {
    match (&org.words, org.signed) {
        (Some(words), true) => {
            println!(
                "organisation  {} — key words: {words}",
                org.name.as_deref().unwrap_or("(roster not fetched yet)")
            );
            println!(
                "              signed roster: {} entries verified{}",
                org.entries,
                if org.holds_key {
                    "; this vault holds the key"
                } else {
                    ""
                }
            );
        }
        _ => println!("organisation  does not sign its roster (the hub's list is used)"),
    }
    println!("this device   words: {}", org.device_words);
    if org.awaiting_approval {
        println!(
            "WAITING for a coordinator's approval: read them this device's words; what you \
             write stays on this device until then"
        );
    }
    if let Some(offered) = &org.offered_words {
        println!(
            "ORGANISATION KEY offered by the hub: {offered}\n  not used until you confirm \
             it: compare the words with a coordinator in person, then run `custos org \
             confirm WORDS…`"
        );
    }
    for u in &org.unapproved {
        println!(
            "not in the signed roster: device {} '{}' ({}) words: {}",
            u.device_id,
            u.label,
            u.role.as_str(),
            u.words
        );
    }
}

/// Asks a yes/no question on the terminal; no answer is no.
fn ask(question: &str) -> bool {
    print!("{question}");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim(), "y" | "Y" | "yes")
}
