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
use crate::{lang, tr};

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
        return Err(CliError::usage(tr!("export.questions_for_submissions")));
    };
    println!("{}", m.title("en"));
    println!(
        "{}",
        tr!(
            "export.questions_languages",
            languages = m.languages().join(", ")
        )
    );
    println!("{}", tr!("export.questions_answers"));
    for q in m.questions() {
        let kind = match q.kind {
            QuestionKind::Line => tr!("export.question_line"),
            QuestionKind::Text => tr!("export.question_text"),
            QuestionKind::Date => tr!("export.question_date"),
            QuestionKind::Choice(c) => tr!("export.question_choice", choices = c.join(", ")),
            QuestionKind::Choices(c) => tr!("export.question_choices", choices = c.join(", ")),
        };
        let required = if q.required {
            tr!("export.question_required")
        } else {
            String::new()
        };
        println!("  {:<24} {kind}{required}", q.key);
    }
    Ok(())
}

pub fn import(session: &Session, args: ImportArgs) -> Result {
    if let Some(from) = &args.from {
        let tool = custos_app::import::tool(from)?;
        let Some(path) = args.file.as_deref() else {
            return Err(CliError::usage(tr!("import.from_needs_path")));
        };
        return import_from(session, tool, path, args.preview);
    }
    if let Some(csv) = args.csv {
        let (Some(kind), Some(mapping)) = (args.kind, args.mapping) else {
            return Err(CliError::usage(tr!("import.csv_needs_kind_and_mapping")));
        };
        // Both files are read before the vault is opened: a typo costs no unlock.
        let mapping = report::import_csv::Mapping::from_json(&read_input(&mapping)?)?;
        let text = read_input(&csv)?;
        let stats = session.with_vault(|vault| {
            Ok(report::import_csv::import_csv(
                vault, kind, &text, &mapping, args.case,
            )?)
        })?;
        println!(
            "{}",
            tr!(
                "import.csv_imported",
                count = lang::n(stats.ids.len()),
                kind = kind.as_str()
            )
        );
        if !stats.ignored_columns.is_empty() {
            eprintln!(
                "{}",
                tr!(
                    "import.csv_ignored_columns",
                    columns = stats.ignored_columns.join(", ")
                )
            );
        }
        return Ok(());
    }
    let Some(file) = args.file else {
        return Err(CliError::usage(tr!("import.needs_file")));
    };
    session.with_vault(|vault| {
        let text = read_input(&file)?;
        let stats = export::import_json(vault, &text)?;
        println!(
            "{}",
            tr!(
                "import.json_imported",
                added = lang::n(stats.added),
                records = lang::n(stats.records),
                skipped = lang::n(stats.skipped)
            )
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
        return Err(CliError::usage(tr!(
            "import.path_missing",
            path = path.display()
        )));
    }
    session.with_vault(|vault| {
        let what = if preview_only {
            tr!("import.progress_checking")
        } else {
            tr!("import.progress_importing")
        };
        let result = with_progress(&what, |tick| {
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
                "{}",
                tr!(
                    "import.from_imported",
                    records = lang::n(done.records),
                    files = lang::n(done.files),
                    tool = tool.name()
                )
            );
        } else if preview.problems.is_empty() {
            println!("{}", tr!("import.preview_nothing_written"));
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
        "{}",
        tr!(
            "import.preview_read",
            tool = tool.name(),
            path = path.display(),
            count = lang::n(p.units)
        )
    );
    if p.new.is_empty() {
        match only {
            true => println!("{}", tr!("import.preview_would_make_nothing")),
            false => println!("{}", tr!("import.preview_made_nothing")),
        }
    } else {
        let kinds: Vec<String> = p
            .new
            .iter()
            .map(|(k, n)| {
                tr!(
                    "import.preview_kind_count",
                    count = lang::n(n),
                    kind = k.as_str()
                )
            })
            .collect();
        let kinds = kinds.join(", ");
        match only {
            true => println!("{}", tr!("import.preview_would_make", kinds = kinds)),
            false => println!("{}", tr!("import.preview_made", kinds = kinds)),
        }
    }
    if p.files > 0 {
        println!(
            "{}",
            tr!(
                "import.preview_files",
                count = lang::n(p.files),
                megabytes = lang::n(format!("{:.1}", p.file_bytes as f64 / 1e6))
            )
        );
    }
    if p.already > 0 {
        println!(
            "{}",
            tr!("import.preview_already", count = lang::n(p.already))
        );
    }
    if !p.unmapped.is_empty() {
        println!("{}", tr!("import.preview_unmapped"));
        for (name, n) in &p.unmapped {
            let line = if *n == 1 {
                tr!(
                    "import.preview_unmapped_field_one",
                    name = name,
                    count = lang::n(n)
                )
            } else {
                tr!(
                    "import.preview_unmapped_field_other",
                    name = name,
                    count = lang::n(n)
                )
            };
            println!("  {line}");
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
        return Err(CliError::usage(tr!("export.patterns_pdf_only")));
    }
    let patterns = patterns.then_some(report::Patterns { threshold });
    let output = output.unwrap_or_default();
    let output = output.as_path();
    let stdout = output.as_os_str() == "-";
    let text_submission = format.submission().is_some_and(|(_, pdf)| !pdf);
    if stdout && !(format == Format::Json || text_submission) {
        return Err(CliError::usage(tr!("export.stdout_formats")));
    }
    if format.submission().is_none() && unsr.is_used() {
        return Err(CliError::usage(tr!("export.submission_options_only")));
    }
    if output.as_os_str().is_empty() && !unsr.check {
        return Err(CliError::usage(tr!("export.needs_output")));
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
            tr!(
                "export.json_done",
                records = lang::n(stats.records),
                versions = lang::n(stats.versions)
            )
        }
        Format::Csv => {
            let stats = with_progress("CSV", |p| {
                report::csv::export_csv(vault, &selection, output, protection, p)
            })?;
            tr!(
                "export.csv_done",
                files = lang::n(stats.files.len()),
                rows = lang::n(stats.rows),
                path = output.display()
            )
        }
        Format::Uwazi => {
            let stats = with_progress("Uwazi", |p| {
                report::uwazi::export_uwazi(vault, &selection, output, protection, p)
            })?;
            tr!(
                "export.uwazi_done",
                files = lang::n(stats.files.len()),
                rows = lang::n(stats.rows),
                path = output.display()
            )
        }
        Format::Pdf => {
            let stats = with_progress("PDF", |p| {
                report::pdf::export_case_report_in(
                    vault, &selection, patterns, lang, output, protection, p,
                )
            })?;
            tr!(
                "export.pdf_done",
                cases = lang::n(stats.cases),
                pages = lang::n(stats.pages),
                path = output.display()
            )
        }
        _ => {
            let Some((mechanism, pdf)) = format.submission() else {
                return Err(CliError::usage(tr!("export.unknown_format")));
            };
            if cases.len() != 1 || !records.is_empty() {
                return Err(CliError::usage(tr!("export.submission_one_case")));
            }
            let fields = unsr.fields(vault, mechanism, cases[0])?;
            let request = fields.request(mechanism, &cases)?;
            if unsr.check {
                let missing = submission::missing_elements(vault, &request)?;
                if missing.is_empty() {
                    println!("{}", tr!("export.nothing_missing"));
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
                with_progress(&tr!("export.progress_submission"), |p| {
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
                eprintln!("custos: {}", tr!("export.missing", element = m));
            }
            // Written: the answers stay with the case, in its draft intervention.
            let draft = custos_app::export::save_draft(vault, &request)?;
            let named = lang::n(stats.named);
            let withheld = lang::n(stats.withheld);
            if mechanism == Mechanism::UnSr {
                tr!(
                    "export.communication_done",
                    named = named,
                    withheld = withheld,
                    draft = draft
                )
            } else {
                tr!(
                    "export.submission_done",
                    named = named,
                    withheld = withheld,
                    draft = draft
                )
            }
        }
    };
    match protection {
        report::Protection::Plaintext => eprintln!(
            "{}",
            tr!(
                "export.written_plaintext",
                done = wrote,
                warning = tr!("export.plaintext_warning")
            )
        ),
        report::Protection::AgeRecipient(r) => eprintln!(
            "{}",
            tr!("export.written_encrypted", done = wrote, recipient = r)
        ),
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
        return Err(CliError::usage(tr!(
            "export.report_language_unknown",
            code = code.chars().take(16).collect::<String>(),
            languages = report::words::LANGUAGES.join(", ")
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
                    CliError::usage(tr!("export.saved_none", mechanism = mechanism.name()))
                })?,
            false => SubmissionFields::default(),
        };
        if let Some(l) = &self.language {
            fields.language = l.trim().to_owned();
        }
        if let Some(t) = &self.communication_type {
            if mechanism != Mechanism::UnSr {
                return Err(CliError::usage(tr!("export.type_un_sr_only")));
            }
            let t: report::unsr::CommunicationType = t.trim().parse()?;
            let t = match t {
                report::unsr::CommunicationType::UrgentAppeal => "urgent_appeal",
                report::unsr::CommunicationType::AllegationLetter => "allegation_letter",
            };
            fields.answers.insert("type".into(), t.into());
        }
        if mechanism == Mechanism::UnSr && !fields.answers.contains_key("type") {
            return Err(CliError::usage(tr!("export.un_sr_needs_type")));
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
                .ok_or_else(|| CliError::usage(tr!("export.answer_needs_key", given = a)))?;
            fields
                .answers
                .insert(key.trim().replace('-', "_"), value.to_owned());
        }
        for p in &self.perpetrator_types {
            let (id, t) = p.split_once('=').ok_or_else(|| {
                CliError::usage(tr!("export.perpetrator_type_needs_id", given = p))
            })?;
            let id = Uuid::parse_str(id.trim())
                .map_err(|_| CliError::usage(tr!("export.perpetrator_type_not_an_id", id = id)))?;
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

#[cfg(test)]
mod tests {
    /// The plaintext warning is the report crate's own, word for word, in English.
    #[test]
    fn the_english_plaintext_warning_is_the_reports() {
        assert_eq!(
            crate::lang::text("export.plaintext_warning"),
            custos_report::PLAINTEXT_WARNING
        );
    }
}
