//! What each command does, one module per family, and the helpers they share (reading
//! input, printing JSON, progress bars).
//!
//! - [`records`]: add, list, show, edit, delete, history.
//! - [`search`]: full-text search.
//! - [`stats`]: the figures of the cases a search selects, as tables, JSON or charts.
//! - [`export`]: export (JSON, CSV, PDF, UN communications) and import.
//! - [`key`]: init, passwd, key backup and restore.
//! - [`evidence`]: evidence files and their chain of custody.
//! - [`sync`]: enroll, sync, bundles, conflicts and resolve.
//! - [`org`]: the organisation key and its signed roster.
//! - [`protect`]: the panic wipe and travel mode.
//! - [`intervention`]: following up submissions (mark sent, what is due).
//! - [`vocab`]: the controlled vocabularies.
//! - [`package`]: checks a package offline against the release keys (no vault).

mod evidence;
mod export;
mod intervention;
mod key;
mod org;
mod package;
mod protect;
mod records;
mod search;
pub mod stats;
mod sync;
mod vocab;

use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;

use custos_model::Record;
use serde_json::{json, Value};

use crate::cli::Command;
use crate::error::{CliError, Result};
use crate::session::Session;
use crate::{lang, tr};

/// Runs one command. → the exit code of a command that ran (0, or `check-package`'s 3).
pub fn run(session: &Session, command: Command) -> Result<ExitCode> {
    let done = match command {
        Command::Init => key::init(session),
        Command::Add(args) => records::add(session, args),
        Command::List(args) => records::list(session, args),
        Command::Search(args) => search::search(session, args),
        Command::Stats(args) => stats::stats(session, *args),
        Command::Show(args) => records::show(session, args),
        Command::Edit(args) => records::edit(session, args),
        Command::Delete { id } => records::delete(session, id),
        Command::History(args) => records::history(session, args),
        Command::Export(args) => export::export(session, args),
        Command::Import(args) => export::import(session, args),
        Command::Passwd {
            new_passphrase_file,
        } => key::passwd(session, new_passphrase_file.as_deref()),
        Command::Evidence(cmd) => evidence::run(session, cmd),
        Command::Key(cmd) => key::run(session, cmd),
        Command::Wipe { yes } => protect::wipe(session, yes),
        Command::Enroll(args) => sync::enroll(session, args),
        Command::Sync(cmd) => sync::run(session, cmd),
        Command::Bundle(cmd) => sync::bundle(session, cmd),
        Command::Org(cmd) => org::run(session, cmd),
        Command::Travel(cmd) => protect::travel(session, cmd),
        Command::Conflicts { json } => sync::conflicts(session, json),
        Command::Resolve(args) => sync::resolve(session, args),
        Command::Vocab(args) => vocab::show(args),
        Command::Intervention(cmd) => intervention::run(session, cmd),
        // Needs no vault: the session is not used.
        Command::CheckPackage(args) => return package::check(args),
    };
    done.map(|()| ExitCode::SUCCESS)
}

/// A record from its JSON, refused with the model's reason.
fn to_record(value: Value) -> Result<Record> {
    Record::from_json(value).map_err(|e| CliError::usage(e.to_string()))
}

/// A value of one of the model's enums (a status, a role) from its name; `what` says
/// which (`"status"`, `"role"`), and so which message refuses an unknown one.
fn parse_enum<T: serde::de::DeserializeOwned>(s: &str, what: &str) -> Result<T> {
    serde_json::from_value(json!(s)).map_err(|_| {
        CliError::usage(match what {
            "status" => tr!("cmd.unknown_status", value = s),
            "role" => tr!("cmd.unknown_role", value = s),
            _ => tr!("cmd.unknown_value", what = what, value = s),
        })
    })
}

fn print_json(v: &Value) -> Result {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    serde_json::to_writer_pretty(&mut out, v)?;
    writeln!(out).map_err(|e| CliError::io(tr!("cmd.writing_output"), e))
}

/// The bytes of a file, or of standard input for "-".
fn read_input(path: &Path) -> Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| CliError::io(tr!("cmd.reading_stdin"), e))?;
        Ok(buf)
    } else {
        std::fs::read(path)
            .map_err(|e| CliError::io(tr!("cmd.reading_file", path = path.display()), e))
    }
}

fn read_json(path: &Path) -> Result<Value> {
    let text = read_input(path)?;
    serde_json::from_slice(&text).map_err(|e| {
        CliError::usage(tr!(
            "cmd.invalid_json",
            path = path.display(),
            line = lang::n(e.line()),
            error = e
        ))
    })
}

/// Runs `f` with a progress callback that draws a bar on stderr when it is a terminal.
fn with_progress<T>(what: &str, f: impl FnOnce(&mut dyn FnMut(usize, usize)) -> T) -> T {
    use std::io::IsTerminal;
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{msg:>14} [{bar:30}] {pos}/{len}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_owned());
        bar
    });
    let mut tick = |done: usize, total: usize| {
        if let Some(b) = &bar {
            b.set_length(total as u64);
            b.set_position(done as u64);
        }
    };
    let result = f(&mut tick);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    result
}
