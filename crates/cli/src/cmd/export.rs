//! Export (JSON with full history, CSV, the PDF case report, a submission to one of five
//! protection mechanisms) and import (a JSON export, or CSV with a column mapping).
//!
//! A submission written leaves (or updates) a draft intervention on its case holding its
//! answers: `--saved` starts the next export from them, and `custos intervention sent`
//! marks it sent. `--check` and a refused export leave the vault as it was.

use std::path::Path;

use custos_app::export::SubmissionFields;
use custos_report as report;
use custos_report::json as export;
use custos_report::submission::{self, Mechanism, QuestionKind, SubmissionFormat};
use custos_vault::Vault;
use uuid::Uuid;

use super::{read_input, with_progress};
use crate::cli::{ExportArgs, Format, ImportArgs, UnSrArgs};
use crate::error::{CliError, Result};
use crate::session::Session;

pub fn export(session: &Session, args: ExportArgs) -> Result {
    // A bad recipient fails before the vault is opened or anything is written.
    let protection = custos_app::export::protection(args.encrypt_to.as_deref())?;
    if args.unsr.questions {
        return questions(args.format);
    }
    session.with_vault(|vault| run_export(vault, args, &protection))
}

/// `--questions`: what a mechanism's form asks, and in which languages it is written.
fn questions(format: Format) -> Result {
    let Some((m, _)) = format.submission() else {
        return Err(CliError::usage(
            "--questions is for the submissions (--format un-sr, observatory, eu, achpr, iachr)",
        ));
    };
    println!("{}", m.title("en"));
    println!("languages: {}", m.languages().join(", "));
    println!("answers (--answer KEY=TEXT):");
    for q in m.questions() {
        let kind = match q.kind {
            QuestionKind::Line => "one line".to_owned(),
            QuestionKind::Text => "text".to_owned(),
            QuestionKind::Date => "date, YYYY-MM-DD".to_owned(),
            QuestionKind::Choice(c) => format!("one of: {}", c.join(", ")),
            QuestionKind::Choices(c) => format!("any of, comma-separated: {}", c.join(", ")),
        };
        println!(
            "  {:<24} {kind}{}",
            q.key,
            if q.required { "; required" } else { "" }
        );
    }
    Ok(())
}

pub fn import(session: &Session, args: ImportArgs) -> Result {
    if let Some(from) = &args.from {
        let tool = custos_app::import::tool(from)?;
        let Some(path) = args.file.as_deref() else {
            return Err(CliError::usage("give the export's path after --from TOOL"));
        };
        return import_from(session, tool, path, args.preview);
    }
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

/// `import --from TOOL PATH [--preview]`.
fn import_from(
    session: &Session,
    tool: custos_app::import::Tool,
    path: &Path,
    preview_only: bool,
) -> Result {
    use custos_app::import::{self, Phase};
    if !path.exists() {
        // Before the unlock: a typo costs no passphrase.
        return Err(CliError::usage(format!(
            "{} does not exist: nothing was imported",
            path.display()
        )));
    }
    session.with_vault(|vault| {
        let what = if preview_only {
            "checking"
        } else {
            "importing"
        };
        let result = with_progress(what, |tick| {
            // Both reads in one bar: the check is the first half, the write the second.
            let mut step = |phase: Phase, done: u64, total: u64| {
                let total = total.max(1);
                let half = (done.min(total) * 1000 / total) as usize;
                let writing = if phase == Phase::Writing { 1000 } else { 0 };
                tick(writing + half, if preview_only { 1000 } else { 2000 });
            };
            if preview_only {
                import::preview(vault, tool, path, &mut step).map(|p| (p, None))
            } else {
                import::run(vault, tool, path, &mut step).map(|i| (i.preview.clone(), Some(i)))
            }
        });
        let (preview, done) = result?;
        print_preview(tool, path, &preview, done.is_none());
        if let Some(done) = done {
            println!(
                "imported {} new records and {} evidence files from {}",
                done.records,
                done.files,
                tool.name()
            );
        } else if preview.problems.is_empty() {
            println!("nothing was written (--preview); run again without --preview to import");
        } else {
            return Err(CliError::from(custos_app::Error::Import(
                custos_app::import::ImportError::Refused(preview.problems),
            )));
        }
        Ok(())
    })
}

fn print_preview(
    tool: custos_app::import::Tool,
    path: &Path,
    p: &custos_app::import::Preview,
    only: bool,
) {
    println!(
        "{} export {}: {} records read",
        tool.name(),
        path.display(),
        p.units
    );
    let verb = if only { "would make" } else { "made" };
    if p.new.is_empty() {
        println!("{verb}: nothing new");
    } else {
        let kinds: Vec<String> = p
            .new
            .iter()
            .map(|(k, n)| format!("{n} {}", k.as_str()))
            .collect();
        println!("{verb}: {}", kinds.join(", "));
    }
    if p.files > 0 {
        println!(
            "files: {} ({:.1} MB), each checked against the export",
            p.files,
            p.file_bytes as f64 / 1e6
        );
    }
    if p.already > 0 {
        println!(
            "already in the vault from an earlier import, left as they are: {}",
            p.already
        );
    }
    if !p.unmapped.is_empty() {
        println!("source fields with no place in Custos, kept in a note of each record:");
        for (name, n) in &p.unmapped {
            println!("  {name}  ({n} record{})", if *n == 1 { "" } else { "s" });
        }
    }
}

/// Runs one export; prints what was written and the plaintext warning on stderr.
fn run_export(vault: &mut Vault, args: ExportArgs, protection: &report::Protection) -> Result {
    let ExportArgs {
        format,
        output,
        cases,
        records,
        mut unsr,
        patterns,
        threshold,
        ..
    } = args;
    // The case report's language (the submissions read theirs from the same option).
    let lang = if format == Format::Pdf {
        report_language(unsr.language.take().as_deref())?
    } else {
        "en"
    };
    let pdf = format == Format::Pdf || format.submission().is_some_and(|(_, pdf)| pdf);
    if patterns && !pdf {
        return Err(CliError::usage(
            "--patterns is for the PDF formats (pdf and the submissions' -pdf formats)",
        ));
    }
    let patterns = patterns.then_some(report::Patterns { threshold });
    let output = output.unwrap_or_default();
    let output = output.as_path();
    let stdout = output.as_os_str() == "-";
    let text_submission = format.submission().is_some_and(|(_, pdf)| !pdf);
    if stdout && !(format == Format::Json || text_submission) {
        return Err(CliError::usage(
            "only json and the submissions as text (un-sr, observatory, eu, achpr, iachr) can \
             go to standard output; give --output PATH",
        ));
    }
    if format.submission().is_none() && unsr.is_used() {
        return Err(CliError::usage(
            "--type, --submitter, --link-to-work, --current-risk, --context, --answer, --lang, \
             --saved, --perpetrator-type, --allow-missing and --check are for the \
             submissions (--format un-sr, observatory, eu, achpr, iachr)",
        ));
    }
    if output.as_os_str().is_empty() && !unsr.check {
        return Err(CliError::usage("give --output PATH"));
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
        Format::Uwazi => {
            let stats = with_progress("Uwazi", |p| {
                report::uwazi::export_uwazi(vault, &selection, output, protection, p)
            })?;
            format!(
                "wrote {} files ({} rows) in {}; templates.md there says what to make in \
                 Uwazi before importing them",
                stats.files.len(),
                stats.rows,
                output.display()
            )
        }
        Format::Pdf => {
            let stats = with_progress("PDF", |p| {
                report::pdf::export_case_report_in(
                    vault, &selection, patterns, lang, output, protection, p,
                )
            })?;
            format!(
                "wrote the report of {} case(s), {} pages, to {}",
                stats.cases,
                stats.pages,
                output.display()
            )
        }
        _ => {
            let Some((mechanism, pdf)) = format.submission() else {
                return Err(CliError::usage("unknown format"));
            };
            if cases.len() != 1 || !records.is_empty() {
                return Err(CliError::usage(
                    "a submission is about one case: give exactly one --case ID",
                ));
            }
            let fields = unsr.fields(vault, mechanism, cases[0])?;
            let request = fields.request(mechanism, &cases)?;
            if unsr.check {
                let missing = submission::missing_elements(vault, &request)?;
                if missing.is_empty() {
                    println!("nothing is missing");
                    return Ok(());
                }
                for m in &missing {
                    println!("{m}");
                }
                return Err(CliError::MissingElements(missing.len()));
            }
            let fmt = if pdf {
                SubmissionFormat::Pdf
            } else {
                SubmissionFormat::Text
            };
            let stats = if stdout {
                let (bytes, stats) = submission::submission_with(
                    vault,
                    &request,
                    fmt,
                    unsr.allow_missing,
                    patterns,
                    &mut report::no_progress,
                )?;
                let out = std::io::stdout();
                let mut lock = out.lock();
                report::output::write_stream(&mut lock, protection, |w| {
                    w.write_all(&bytes)
                        .map_err(|e| custos_vault::Error::io("writing the submission", e))
                })?;
                stats
            } else {
                with_progress("Submission", |p| {
                    submission::export_submission_with(
                        vault,
                        &request,
                        fmt,
                        unsr.allow_missing,
                        patterns,
                        output,
                        protection,
                        p,
                    )
                })?
            };
            for m in &stats.missing {
                eprintln!("custos: missing: {m}");
            }
            // Written: the answers stay with the case, in its draft intervention.
            let draft = custos_app::export::save_draft(vault, &request)?;
            format!(
                "wrote the {} ({} person(s) named, {} name(s) withheld for lack of consent); \
                 its answers are kept in draft intervention {draft} of the case: once it is \
                 sent, run `custos intervention sent {draft} --channel … --follow-up DATE`",
                if mechanism == Mechanism::UnSr {
                    "communication"
                } else {
                    "submission"
                },
                stats.named,
                stats.withheld
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

/// The case report's language for `--lang` (the messages' language when not given); a
/// code the report is not written in is refused with the list of those it is.
fn report_language(given: Option<&str>) -> Result<&'static str> {
    let Some(code) = given else {
        return Ok(report::words::language(crate::lang::code()));
    };
    let lang = report::words::language(code);
    let english = code.trim().to_ascii_lowercase();
    if lang == "en"
        && !(english == "en" || english.starts_with("en-") || english.starts_with("en_"))
    {
        return Err(CliError::usage(format!(
            "the case report is not written in '{}'; --lang takes one of: {}",
            code.chars().take(16).collect::<String>(),
            report::words::LANGUAGES.join(", ")
        )));
    }
    Ok(lang)
}

impl UnSrArgs {
    /// True when any submission option was given (refused with the other formats).
    fn is_used(&self) -> bool {
        self.communication_type.is_some()
            || self.submitter.is_some()
            || self.link_to_work.is_some()
            || self.current_risk.is_some()
            || self.context.is_some()
            || !self.answers.is_empty()
            || self.language.is_some()
            || self.saved
            || !self.perpetrator_types.is_empty()
            || self.allow_missing
            || self.check
    }

    /// The submission's fields: those kept with the case when `--saved`, then each
    /// option given over them. The request is then checked by the use case the desktop
    /// shares (texts trimmed, an empty perpetrator type left out, unknown keys and
    /// languages refused).
    fn fields(
        &self,
        vault: &Vault,
        mechanism: Mechanism,
        case_id: Uuid,
    ) -> Result<SubmissionFields> {
        let mut fields = match self.saved {
            true => custos_app::export::saved_submission(vault, case_id, mechanism)?
                .map(|s| s.fields)
                .ok_or_else(|| {
                    CliError::usage(format!(
                        "--saved: the case keeps no answers for {} (no draft of it)",
                        mechanism.name()
                    ))
                })?,
            false => SubmissionFields::default(),
        };
        if let Some(l) = &self.language {
            fields.language = l.trim().to_owned();
        }
        if let Some(t) = &self.communication_type {
            if mechanism != Mechanism::UnSr {
                return Err(CliError::usage("--type is for --format un-sr"));
            }
            let t: report::unsr::CommunicationType = t.trim().parse()?;
            let t = match t {
                report::unsr::CommunicationType::UrgentAppeal => "urgent_appeal",
                report::unsr::CommunicationType::AllegationLetter => "allegation_letter",
            };
            fields.answers.insert("type".into(), t.into());
        }
        if mechanism == Mechanism::UnSr && !fields.answers.contains_key("type") {
            return Err(CliError::usage(
                "say which communication: --type urgent-appeal or --type allegation-letter",
            ));
        }
        for (key, value) in [
            ("submitter", &self.submitter),
            ("link_to_work", &self.link_to_work),
            ("current_risk", &self.current_risk),
            ("context", &self.context),
        ] {
            if let Some(v) = value {
                fields.answers.insert(key.into(), v.clone());
            }
        }
        for a in &self.answers {
            let (key, value) = a
                .split_once('=')
                .ok_or_else(|| CliError::usage(format!("--answer needs KEY=TEXT, got '{a}'")))?;
            fields
                .answers
                .insert(key.trim().replace('-', "_"), value.to_owned());
        }
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
        Ok(fields)
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
