//! The organisation key and its signed roster: create it (a coordinator, once), follow
//! it (every other device, after comparing its words), approve and revoke devices, add
//! and remove coordinators. The hub only stores and relays what the key signed.

use std::io::{BufRead, Write};
use std::sync::OnceLock;

use custos_sync::Held;
use custos_vault::Vault;
use custos_wire::roster_log::{self, Change};

use super::print_json;
use crate::cli::OrgCommand;
use crate::error::{CliError, Result};
use crate::lang;
use crate::session::Session;
use crate::tr;

pub fn run(session: &Session, cmd: OrgCommand) -> Result {
    session.with_vault(|vault| org_command(vault, cmd))
}

/// A signing key (base64) as the words people compare.
fn words_of(signer: &str) -> String {
    roster_log::words_of(signer).unwrap_or_else(|| tr!("org.not_a_signing_key"))
}

fn org_command(vault: &mut Vault, cmd: OrgCommand) -> Result {
    match cmd {
        OrgCommand::Create { name, yes } => {
            let held = Held::new(vault);
            let created = custos_sync::org_create(&held, &name, |roster| {
                println!("{}", tr!("org.create.roster_to_sign"));
                // The entries' labels, padded to the longer one and two spaces.
                let (coordinator, device) =
                    (tr!("org.create.coordinator"), tr!("org.create.device"));
                let width = coordinator.chars().count().max(device.chars().count()) + 2;
                for c in &roster.coordinators {
                    println!("  {coordinator:<width$}{c}");
                }
                for d in &roster.devices {
                    println!(
                        "  {device:<width$}{}  {:<24} {:<11} {}{}",
                        d.device_id,
                        d.label,
                        d.role.as_str(),
                        words_of(&d.signer),
                        if d.revoked {
                            format!("  {}", tr!("org.create.revoked"))
                        } else {
                            String::new()
                        }
                    );
                }
                println!("{}", tr!("org.create.compare"));
                yes || ask(&tr!("org.create.ask"))
            })?;
            let Some(created) = created else {
                println!("{}", tr!("org.create.nothing_signed"));
                return Ok(());
            };
            println!(
                "{}",
                tr!("org.create.signed", count = lang::n(created.entries))
            );
            println!("{}", tr!("org.create.words", words = created.words));
            println!("{}", tr!("org.create.read_words"));
            Ok(())
        }
        OrgCommand::Confirm { words } => {
            vault.confirm_org_key(&words.join(" "))?;
            println!("{}", tr!("org.confirmed"));
            Ok(())
        }
        OrgCommand::Approve { device, words } => {
            let entries = custos_sync::org_approve(&Held::new(vault), &device, &words)?;
            println!(
                "{}",
                tr!("org.approved", device = device, count = lang::n(entries))
            );
            Ok(())
        }
        OrgCommand::Revoke { device } => {
            let entries = custos_sync::org_revoke(&Held::new(vault), &device)?;
            println!(
                "{}",
                tr!("org.revoked", device = device, count = lang::n(entries))
            );
            Ok(())
        }
        OrgCommand::AddCoordinator { recipient } => {
            if recipient
                .parse::<custos_vault::crypto::VaultRecipient>()
                .is_err()
            {
                return Err(CliError::usage(tr!(
                    "org.not_a_recipient",
                    recipient = recipient
                )));
            }
            let held = Held::new(vault);
            let entries = custos_sync::org_change(&held, |_| {
                Ok(vec![Change::Coordinator {
                    recipient: recipient.clone(),
                }])
            })?;
            println!("{}", tr!("org.coordinator_added", count = lang::n(entries)));
            Ok(())
        }
        OrgCommand::RemoveCoordinator { recipient } => {
            let held = Held::new(vault);
            let entries = custos_sync::org_change(&held, |_| {
                Ok(vec![Change::RemoveCoordinator {
                    recipient: recipient.clone(),
                }])
            })?;
            println!(
                "{}",
                tr!("org.coordinator_removed", count = lang::n(entries))
            );
            Ok(())
        }
        OrgCommand::Give { to, out } => {
            let sealed = vault.give_org_key(&to)?;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&out)
                .map_err(|e| CliError::io(tr!("org.creating", path = out.display()), e))?;
            f.write_all(&sealed)
                .and_then(|()| f.sync_all())
                .map_err(|e| CliError::io(tr!("org.writing", path = out.display()), e))?;
            println!("{}", tr!("org.given", to = to, path = out.display()));
            Ok(())
        }
        OrgCommand::Take { file } => {
            let sealed = std::fs::read(&file)
                .map_err(|e| CliError::io(tr!("org.reading", path = file.display()), e))?;
            let words = vault.take_org_key(&sealed)?;
            println!("{}", tr!("org.taken", words = words));
            Ok(())
        }
        OrgCommand::Show { json } => {
            let info = vault.sync_info();
            if json {
                return print_json(&serde_json::to_value(&info.org)?);
            }
            if !info.enrolled {
                println!("{}", tr!("sync.not_enrolled"));
                return Ok(());
            }
            print_org(&info.org);
            Ok(())
        }
    }
}

/// The labels of the status column of `custos sync status` and `custos org show`, whose
/// values start at one column: the longest label's length and two spaces (in English 14,
/// as the lines always were).
fn status_width() -> usize {
    static WIDTH: OnceLock<usize> = OnceLock::new();
    *WIDTH.get_or_init(|| {
        [
            tr!("sync.status.hub"),
            tr!("sync.status.role"),
            tr!("sync.status.route"),
            tr!("sync.status.state"),
            tr!("sync.status.every"),
            tr!("sync.status.last_success"),
            tr!("sync.status.last_attempt"),
            tr!("sync.status.last_error"),
            tr!("sync.status.pending"),
            tr!("sync.status.conflicts"),
            tr!("sync.status.change"),
            tr!("org.status.organisation"),
            tr!("org.status.this_device"),
        ]
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
            + 2
    })
}

/// A label of the status column, padded to the column of the values.
pub(super) fn status_label(label: &str) -> String {
    format!("{label:<width$}", width = status_width())
}

/// The organisation lines of `custos org show` and `custos sync status`.
pub fn print_org(org: &custos_vault::OrgInfo) {
    let organisation = status_label(&tr!("org.status.organisation"));
    match (&org.words, org.signed) {
        (Some(words), true) => {
            let name = org
                .name
                .clone()
                .unwrap_or_else(|| tr!("org.status.roster_not_fetched"));
            println!(
                "{organisation}{}",
                tr!("org.status.key_words", name = name, words = words)
            );
            let entries = lang::n(org.entries);
            let roster = if org.holds_key {
                tr!("org.status.signed_roster_key_held", count = entries)
            } else {
                tr!("org.status.signed_roster", count = entries)
            };
            println!("{}{roster}", status_label(""));
        }
        _ => println!("{organisation}{}", tr!("org.status.unsigned")),
    }
    println!(
        "{}{}",
        status_label(&tr!("org.status.this_device")),
        tr!("org.status.device_words", words = org.device_words)
    );
    if org.awaiting_approval {
        println!("{}", tr!("org.status.awaiting_approval"));
    }
    if let Some(offered) = &org.offered_words {
        println!("{}", tr!("org.status.key_offered", words = offered));
        println!("  {}", tr!("org.status.key_offered_confirm"));
    }
    for u in &org.unapproved {
        println!(
            "{}",
            tr!(
                "org.status.unapproved",
                device = u.device_id,
                label = u.label,
                role = u.role.as_str(),
                words = u.words
            )
        );
    }
}

/// Asks a yes/no question on the terminal; no answer is no (see [`is_yes`]).
fn ask(question: &str) -> bool {
    print!("{question} ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return false;
    }
    is_yes(line.trim(), &tr!("org.yes"), &tr!("org.yes_word"))
}

/// Whether an answer is yes: `y`, `Y` or `yes`, or the language's short yes (`org.yes`:
/// д, ب, o…) or its word (`org.yes_word`: да, بله, oui…), in either case. Nothing else:
/// the question signs the organisation's roster. An empty translation never matches.
fn is_yes(answer: &str, short: &str, word: &str) -> bool {
    let answer = answer.to_lowercase();
    matches!(answer.as_str(), "y" | "yes")
        || [short, word]
            .iter()
            .map(|w| w.trim().to_lowercase())
            .any(|w| !w.is_empty() && w == answer)
}

#[cfg(test)]
mod tests {
    use super::is_yes;

    #[test]
    fn yes_is_the_english_or_the_languages_own_yes_and_nothing_else() {
        for answer in ["y", "Y", "yes", "YES", "д", "Д", "да", "ДА"] {
            assert!(is_yes(answer, "д", "да"), "{answer}");
        }
        for answer in ["", "n", "no", "нет", "дальше", "yes please", "o"] {
            assert!(!is_yes(answer, "д", "да"), "{answer}");
        }
        // A damaged (empty) translation: only the English yes.
        assert!(!is_yes("", "", ""));
        assert!(is_yes("y", "", ""));
    }
}
