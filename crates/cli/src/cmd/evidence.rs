//! Evidence files: import (encrypted, hashed, custody started), list, show with the
//! chain of custody, verify, and export a decrypted copy with its reports.

use serde_json::{json, Value};

use custos_vault::{Attach, Vault};

use super::print_json;
use crate::cli::EvidenceCommand;
use crate::error::{CliError, Result};
use crate::session::Session;
use crate::{lang, tr};

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
            eprintln!(
                "{}",
                tr!(
                    "evidence.added",
                    sha256 = e.sha256,
                    size = lang::n(e.size),
                    media_type = e.media_type
                )
            );
            // What deleting an imported original can and cannot do.
            let warning = tr!("evidence.deletion_warning");
            if delete_original {
                std::fs::remove_file(&file).map_err(|err| {
                    CliError::io(tr!("evidence.not_deleted", path = file.display()), err)
                })?;
                eprintln!(
                    "{}",
                    tr!("evidence.deleted", path = file.display(), warning = warning)
                );
            } else {
                eprintln!(
                    "{}",
                    tr!(
                        "evidence.original_kept",
                        path = file.display(),
                        warning = warning
                    )
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
                        lang::n(e.size),
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
            let labels = [
                lang::text("evidence.label_evidence"),
                lang::text("evidence.label_case"),
                lang::text("evidence.label_file_name"),
                lang::text("evidence.label_media_type"),
                lang::text("evidence.label_size"),
                lang::text("evidence.label_sha256"),
                lang::text("evidence.label_imported"),
                lang::text("evidence.label_description"),
            ];
            // The values line up three spaces after the longest label (in English,
            // `description`).
            let width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0) + 3;
            let [evidence, case, file_name, media_type, size, sha256, imported, description] =
                labels;
            println!("{evidence:<width$}{id}");
            println!("{case:<width$}{}", e.case_id);
            println!("{file_name:<width$}{}", e.file_name);
            println!("{media_type:<width$}{}", e.media_type);
            println!(
                "{size:<width$}{}",
                tr!("evidence.size_bytes", size = lang::n(e.size))
            );
            println!("{sha256:<width$}{}", e.sha256);
            println!(
                "{imported:<width$}{}",
                tr!(
                    "evidence.imported_on",
                    time = e.imported_at.to_rfc3339(),
                    device = e.imported_by
                )
            );
            if let Some(o) = e.derived_from {
                println!("{}", tr!("evidence.working_copy_of", id = o));
            }
            if !e.description.is_empty() {
                println!("{description:<width$}{}", e.description);
            }
            println!("{}", tr!("evidence.custody_heading"));
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
                    "{}",
                    tr!(
                        "evidence.verify_ok",
                        sha256 = v.sha256,
                        count = lang::n(v.custody_entries)
                    )
                );
            } else {
                for p in &v.problems {
                    println!("{}", tr!("evidence.problem", problem = p));
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
                "{}",
                tr!(
                    "evidence.exported",
                    file = out.file.display(),
                    report_json = out.report_json.display(),
                    report_text = out.report_text.display(),
                    sha256 = out.sha256
                )
            );
            Ok(())
        }
    }
}
