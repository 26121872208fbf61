//! Evidence files: import (encrypted, hashed, custody started), list, show with the
//! chain of custody, verify, and export a decrypted copy with its reports.

use serde_json::{json, Value};

use custos_vault::{Attach, Vault};

use super::print_json;
use crate::cli::EvidenceCommand;
use crate::error::{CliError, Result};
use crate::session::Session;

/// What deleting an imported original can and cannot do.
const DELETION_WARNING: &str = "Deleting a file removes its name; on SSDs, journaling file \
systems, backups and synced folders, copies of its content may survive and be recovered.";

pub fn run(session: &Session, cmd: EvidenceCommand) -> Result {
    session.with_vault(|vault| evidence_command(vault, cmd))
}

fn evidence_command(vault: &mut Vault, cmd: EvidenceCommand) -> Result {
    match cmd {
        EvidenceCommand::Add {
            file,
            case,
            to,
            description,
            derived_from,
            delete_original,
        } => {
            let id = vault.attach(
                &file,
                Attach {
                    case_id: case,
                    attached_to: to,
                    description: description.unwrap_or_default(),
                    derived_from,
                },
            )?;
            let e = vault.evidence(id)?;
            println!("{id}");
            eprintln!("sha256 {}  {} bytes  {}", e.sha256, e.size, e.media_type);
            if delete_original {
                std::fs::remove_file(&file).map_err(|err| {
                    CliError::io(
                        format!(
                            "the evidence is saved, but {} could not be deleted",
                            file.display()
                        ),
                        err,
                    )
                })?;
                eprintln!("Deleted {}. {DELETION_WARNING}", file.display());
            } else {
                eprintln!(
                    "The original is still at {}. Delete it with --delete-original next time, \
                     or yourself. {DELETION_WARNING}",
                    file.display()
                );
            }
            Ok(())
        }
        EvidenceCommand::List { case, json } => {
            let mut items = Vec::new();
            for id in vault.evidence_ids(case) {
                items.push((id, vault.evidence(id)?));
            }
            items.sort_by_key(|(_, e)| std::cmp::Reverse(e.imported_at));
            if json {
                let list: Vec<Value> = items
                    .iter()
                    .map(|(id, e)| json!({ "evidence_id": id, "evidence": e }))
                    .collect();
                print_json(&Value::Array(list))
            } else {
                for (id, e) in &items {
                    println!(
                        "{id}  {}  {:>12}  {:<24} {}",
                        &e.sha256[..16],
                        e.size,
                        e.media_type,
                        e.file_name
                    );
                }
                Ok(())
            }
        }
        EvidenceCommand::Show { id, json } => {
            let e = vault.evidence(id)?;
            let custody = vault.custody(id)?;
            if json {
                return print_json(
                    &json!({ "evidence_id": id, "evidence": e, "custody": custody }),
                );
            }
            println!("evidence      {id}");
            println!("case          {}", e.case_id);
            println!("file name     {}", e.file_name);
            println!("media type    {}", e.media_type);
            println!("size          {} bytes", e.size);
            println!("sha256        {}", e.sha256);
            println!(
                "imported      {} on device {}",
                e.imported_at.to_rfc3339(),
                e.imported_by
            );
            if let Some(o) = e.derived_from {
                println!("working copy of {o}");
            }
            if !e.description.is_empty() {
                println!("description   {}", e.description);
            }
            println!("custody:");
            for c in custody {
                println!(
                    "  {:>3}  {}  {:<9}  {}",
                    c.seq,
                    c.at.to_rfc3339(),
                    serde_json::to_value(c.action)?.as_str().unwrap_or(""),
                    c.detail
                );
            }
            Ok(())
        }
        EvidenceCommand::Verify { id, json } => {
            let v = vault.verify_evidence(id)?;
            if json {
                print_json(&serde_json::to_value(&v)?)?;
            } else if v.ok {
                println!(
                    "ok: content sha256 {} and {} custody entries check",
                    v.sha256, v.custody_entries
                );
            } else {
                for p in &v.problems {
                    println!("problem: {p}");
                }
            }
            if v.ok {
                Ok(())
            } else {
                Err(CliError::Unverified {
                    id,
                    problems: v.problems.len(),
                })
            }
        }
        EvidenceCommand::Export { id, output } => {
            let out = vault.export_evidence(id, &output)?;
            eprintln!(
                "Wrote {} (NOT encrypted) and its reports {} and {}; sha256 {}",
                out.file.display(),
                out.report_json.display(),
                out.report_text.display(),
                out.sha256
            );
            Ok(())
        }
    }
}
