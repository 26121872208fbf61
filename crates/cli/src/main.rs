//! `custos`: the vault from the command line, for headless and scripted use.
//!
//! The passphrase is never an argument (it would show in the process list and the shell
//! history): it is asked for at a prompt, or read from `--passphrase-file`. Unlocking
//! goes through the same use case as the desktop app's, so repeated wrong passphrases
//! are slowed down, and wipe the vault when the shared settings ask, whichever of the
//! two they are typed into.
//!
//! - `cli`: the command-line types (clap).
//! - `cmd`: what each command does, one module per family.
//! - `session`: the vault and config folders, the passphrase, open → act → lock.
//! - `error`: the command line's errors.
//! - `lang`, `help`: the messages and the help in the user's language.

#![forbid(unsafe_code)]

mod cli;
mod cmd;
mod error;
mod help;
mod lang;
#[cfg(test)]
mod locale_tests;
mod session;

use std::process::ExitCode;

use crate::cli::Cli;
use crate::error::Result;
use crate::session::Session;

fn main() -> ExitCode {
    // Before anything holds a key: no core dumps, memory out of swap where allowed
    // (where not, nothing is printed: scripts read stderr; `docs/threat-model.md` says
    // what to do instead).
    custos_process::harden(true);
    // `custos list | head` ends quietly when head has read enough.
    custos_process::default_sigpipe();
    // Before parsing: the help and the usage errors are in the chosen language too.
    lang::init(session::settings_language);
    let cli = match help::parse() {
        help::Parsed::Run(cli) => *cli,
        help::Parsed::Exit(code) => return ExitCode::from(code),
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            // One line, which scripts and the tests match on.
            eprintln!("custos: {}", e.localized());
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let session = Session::new(cli.vault, cli.passphrase_file)?;
    cmd::run(&session, cli.command)
}
