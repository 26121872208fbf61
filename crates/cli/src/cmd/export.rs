//! Export (JSON with full history, CSV, the PDF case report, a communication to the UN
//! Special Rapporteur) and import (a JSON export, or CSV with a column mapping).

use std::path::Path;

use custos_report as report;
use custos_report::json as export;
use custos_vault::Vault;
use uuid::Uuid;

use super::{read_input, with_progress};
use crate::cli::{ExportArgs, Format, ImportArgs, UnSrArgs};
use crate::error::{CliError, Result};
use crate::session::Session;

pub fn export(session: &Session, args: ExportArgs) -> Result {
    // A bad recipient fails before the vault is opened or anything is written.
    let protection = custos_app::export::protection(args.encrypt_to.as_deref())?;
    session.with_vault(|vault| run_export(vault, args, &protection))
}

pub fn import(session: &Session, args: ImportArgs) -> Result {
    if let Some(csv) = args.csv {
        let (Some(kind), Some(mapping)) = (args.kind, args.mapping) else {
            return Err(CliError::usage("--csv needs --kind and --mapping"));
        };
        // Both files are read before the vault is opened: a typo costs no unlock.
        let mapping = report::import_csv::Mapping::from_json(&read_input(&mapping)?)?;
        let text = read_input(&csv)?;
        let stats = session.with_vault(|vault| {
            Ok(report::import_csv::import_csv(
                vault, kind, &text, &mapping, args.case,
            )?)
        })?;
        println!("imported {} new {} records", stats.ids.len(), kind.as_str());
        if !stats.ignored_columns.is_empty() {
            eprintln!(
                "columns not in the mapping, not imported: {}",
                stats.ignored_columns.join(", ")
            );
        }
        return Ok(());
    }
    let Some(file) = args.file else {
        return Err(CliError::usage("give the export file, or --csv"));
    };
    session.with_vault(|vault| {
        let text = read_input(&file)?;
        let stats = export::import_json(vault, &text)?;
        println!(
            "imported {} new versions of {} records ({} already in the vault)",
            stats.added, stats.records, stats.skipped
        );
        Ok(())
    })
}

/// Runs one export; prints what was written and the plaintext warning on stderr.
fn run_export(vault: &Vault, args: ExportArgs, protection: &report::Protection) -> Result {
    let ExportArgs {
        format,
        output,
        cases,
        records,
        unsr,
        ..
    } = args;
    let output = output.as_path();
    let stdout = output.as_os_str() == "-";
    if stdout && !matches!(format, Format::Json | Format::UnSr) {
        return Err(CliError::usage(
            "only json and un-sr can go to standard output; give --output PATH",
        ));
    }
    if format != Format::UnSr && format != Format::UnSrPdf && unsr.is_used() {
        return Err(CliError::usage(
            "--type, --submitter, --link-to-work, --current-risk, --context, \
             --perpetrator-type, --allow-missing and --check are for --format un-sr",
        ));
    }
    let selection = report::Selection {
        cases: cases.clone(),
        records: records.clone(),
    };
    let wrote = match format {
        Format::Json => {
            let only = if selection.is_all() {
                None
            } else {
                Some(selection.resolve_with(vault, true)?)
            };
            let stats = if stdout {
                let out = std::io::stdout();
                let mut lock = out.lock();
                report::output::write_stream(&mut lock, protection, |w| {
                    export::export_json(vault, only.as_deref(), w)
                })?
            } else {
                with_progress("JSON", |p| {
                    write_export(vault, only.as_deref(), output, protection, p)
                })?
            };
            format!(
                "exported {} records ({} versions)",
                stats.records, stats.versions
            )
        }
        Format::Csv => {
            let stats = with_progress("CSV", |p| {
                report::csv::export_csv(vault, &selection, output, protection, p)
            })?;
            format!(
                "wrote {} files ({} rows) in {}",
                stats.files.len(),
                stats.rows,
                output.display()
            )
        }
        Format::Pdf => {
            let stats = with_progress("PDF", |p| {
                report::pdf::export_case_report(vault, &selection, output, protection, p)
            })?;
            format!(
                "wrote the report of {} case(s), {} pages, to {}",
                stats.cases,
                stats.pages,
                output.display()
            )
        }
        Format::UnSr | Format::UnSrPdf => {
            if cases.len() != 1 || !records.is_empty() {
                return Err(CliError::usage(
                    "a communication is about one case: give exactly one --case ID",
                ));
            }
            let request = unsr.request(cases[0])?;
            if unsr.check {
                let missing = report::unsr::missing_elements(vault, &request)?;
                if missing.is_empty() {
                    println!("nothing is missing");
                    return Ok(());
                }
                for m in &missing {
                    println!("{m}");
                }
                return Err(CliError::MissingElements(missing.len()));
            }
            let fmt = if format == Format::UnSrPdf {
                report::unsr::UnSrFormat::Pdf
            } else {
                report::unsr::UnSrFormat::Text
            };
            let stats = if stdout {
                let (bytes, stats) = report::unsr::communication(
                    vault,
                    &request,
                    fmt,
                    unsr.allow_missing,
                    &mut report::no_progress,
                )?;
                let out = std::io::stdout();
                let mut lock = out.lock();
                report::output::write_stream(&mut lock, protection, |w| {
                    w.write_all(&bytes)
                        .map_err(|e| custos_vault::Error::io("writing the communication", e))
                })?;
                stats
            } else {
                with_progress("Communication", |p| {
                    report::unsr::export_unsr(
                        vault,
                        &request,
                        fmt,
                        unsr.allow_missing,
                        output,
                        protection,
                        p,
                    )
                })?
            };
            for m in &stats.missing {
                eprintln!("custos: missing: {m}");
            }
            format!(
                "wrote the communication ({} victim(s), {} name(s) withheld for lack of consent)",
                stats.victims, stats.withheld
            )
        }
    };
    match protection {
        report::Protection::Plaintext => {
            eprintln!("{wrote}. {}", report::PLAINTEXT_WARNING)
        }
        report::Protection::AgeRecipient(r) => {
            eprintln!("{wrote}, encrypted with age to {r} (decrypt with: age -d -i KEYFILE FILE).")
        }
    }
    Ok(())
}

impl UnSrArgs {
    /// True when any un-sr option was given (refused with the other formats).
    fn is_used(&self) -> bool {
        self.communication_type.is_some()
            || self.submitter.is_some()
            || self.link_to_work.is_some()
            || self.current_risk.is_some()
            || self.context.is_some()
            || !self.perpetrator_types.is_empty()
            || self.allow_missing
            || self.check
    }

    /// The communication's request, through the use case the desktop shares (the texts
    /// trimmed, an empty perpetrator type left out).
    fn request(&self, case_id: Uuid) -> Result<report::unsr::UnSrRequest> {
        let mut fields = custos_app::export::UnsrFields::default();
        fields.kind = self.communication_type.clone().ok_or_else(|| {
            CliError::usage(
                "say which communication: --type urgent-appeal or --type allegation-letter",
            )
        })?;
        for p in &self.perpetrator_types {
            let (id, t) = p.split_once('=').ok_or_else(|| {
                CliError::usage(format!(
                    "--perpetrator-type needs ID=state or ID=non-state, got '{p}'"
                ))
            })?;
            let id = Uuid::parse_str(id.trim()).map_err(|_| {
                CliError::usage(format!("--perpetrator-type: '{id}' is not a record id"))
            })?;
            fields.perpetrator_types.insert(id, t.to_owned());
        }
        fields.submitter = self.submitter.clone().unwrap_or_default();
        fields.link_to_work = self.link_to_work.clone().unwrap_or_default();
        fields.current_risk = self.current_risk.clone().unwrap_or_default();
        fields.context = self.context.clone().unwrap_or_default();
        Ok(fields.request(&[case_id])?)
    }
}

/// The JSON export to a new file, through the shared output helper (create_new, fsync,
/// removed on error, optionally encrypted).
fn write_export(
    vault: &Vault,
    only: Option<&[Uuid]>,
    path: &Path,
    protection: &report::Protection,
    progress: &mut dyn FnMut(usize, usize),
) -> custos_vault::Result<export::ExportStats> {
    report::output::write_file(path, protection, |w| {
        export::export_json_with_progress(vault, only, w, progress)
    })
}
