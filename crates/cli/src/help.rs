//! The arguments parsed, with the help and the usage errors in the user's language.
//!
//! The English help is the commands' doc comments, as clap derives them; its text is also
//! in `locales/en.json` under `help.…` keys (a test keeps the two equal), which is what a
//! translator translates. In another language every `about` of a command and `help` of
//! an argument is replaced by its translation, as are clap's own words (the headings, the
//! help and version flags, the usage errors). In English nothing is replaced: the output
//! is clap's, byte for byte.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, Command, CommandFactory, FromArgMatches};

use crate::cli::Cli;
use crate::lang;
use crate::tr;

/// What parsing the arguments came to.
pub enum Parsed {
    /// Arguments to run.
    Run(Box<Cli>),
    /// Help or the version was asked for, or the arguments were refused: printed already;
    /// exit with this code.
    Exit(u8),
}

/// The command line parsed: help, version and usage errors printed in the user's language.
pub fn parse() -> Parsed {
    if lang::is_source() {
        return Parsed::Run(Box::new(<Cli as clap::Parser>::parse()));
    }
    let mut cmd = command();
    let parsed = cmd
        .try_get_matches_from_mut(std::env::args_os())
        .and_then(|m| Cli::from_arg_matches(&m));
    match parsed {
        Ok(cli) => Parsed::Run(Box::new(cli)),
        Err(e) => Parsed::Exit(refused(&mut cmd, &e)),
    }
}

/// The command, its help translated when the language is not English.
pub fn command() -> Command {
    let mut cmd = Cli::command();
    if lang::is_source() {
        return cmd;
    }
    // Built first, so the help and version flags and the help command exist to translate.
    cmd.build();
    translate(cmd, "")
}

/// The key of a command's path: `custos`, `evidence`, `evidence add`.
fn path_key(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        "custos".to_owned()
    } else if parent == "custos" {
        name.to_owned()
    } else {
        format!("{parent} {name}")
    }
}

fn translate(cmd: Command, parent: &str) -> Command {
    let path = path_key(parent, cmd.get_name());
    let key = |what: &str| format!("help.{path}.{what}");
    let mut cmd = cmd
        .help_template(format!(
            "{{before-help}}{{about-with-newline}}\n{} {{usage}}\n\n{{all-args}}{{after-help}}",
            tr!("clap.usage")
        ))
        .subcommand_help_heading(lang::text("clap.commands"));
    if cmd.get_name() == "help" {
        // clap's own help command (the CLI defines none of that name).
        cmd = cmd.about(tr!("clap.help_command"));
    } else {
        if cmd.get_about().is_some() {
            cmd = cmd.about(lang::text(&key("about")));
        }
        if cmd.get_long_about().is_some() {
            cmd = cmd.long_about(lang::text(&key("long_about")));
        }
    }
    let cmd = cmd.mut_args(|arg| translate_arg(arg, &path));
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    names.into_iter().fold(cmd, |cmd, name| {
        cmd.mut_subcommand(&name, |sub| translate(sub, &path))
    })
}

fn translate_arg(arg: Arg, path: &str) -> Arg {
    let id = arg.get_id().as_str().to_owned();
    let heading = if arg.is_positional() {
        lang::text("clap.arguments")
    } else {
        lang::text("clap.options")
    };
    let arg = match arg.get_help_heading() {
        Some(_) => arg,
        None => arg.help_heading(heading),
    };
    let long = arg.get_long_help().is_some();
    match id.as_str() {
        "help" if long => arg
            .help(tr!("clap.help_flag_more"))
            .long_help(tr!("clap.help_flag_summary")),
        "help" => arg.help(tr!("clap.help_flag")),
        "version" => arg.help(tr!("clap.version_flag")),
        "subcommand" if path == "help" || path.ends_with(" help") => arg.help(tr!("clap.help_for")),
        _ => {
            // A global option (--vault) is copied into every command: its words are the
            // top command's.
            let owner = if arg.is_global_set() { "custos" } else { path };
            let key = format!("help.{owner}.arg.{id}");
            let arg = if arg.get_help().is_some() {
                arg.help(lang::text(&key))
            } else {
                arg
            };
            let arg = if long {
                arg.long_help(lang::text(&format!("{key}.long")))
            } else {
                arg
            };
            translate_values(arg, &key)
        }
    }
}

/// What clap adds after an option's help in English — `[default: …]`, `[possible
/// values: …]`, and in the long help each value's own help (`--format`'s) — hidden from
/// clap and written here in the user's words.
fn translate_values(arg: Arg, key: &str) -> Arg {
    let values: Vec<_> = arg
        .get_possible_values()
        .into_iter()
        .filter(|v| !v.is_hide_set())
        .collect();
    let values = if arg.is_hide_possible_values_set() || !arg.get_action().takes_values() {
        Vec::new()
    } else {
        values
    };
    let defaults: Vec<String> =
        if arg.is_hide_default_value_set() || !arg.get_action().takes_values() {
            Vec::new()
        } else {
            arg.get_default_values()
                .iter()
                .map(|v| v.to_string_lossy().into_owned())
                .collect()
        };
    if values.is_empty() && defaults.is_empty() {
        return arg;
    }
    let mut notes = Vec::new();
    if !defaults.is_empty() {
        notes.push(format!(
            "[{}: {}]",
            lang::text("clap.default"),
            defaults.join(", ")
        ));
    }
    let names: Vec<&str> = values.iter().map(|v| v.get_name()).collect();
    let explained = values.iter().any(|v| v.get_help().is_some());
    let listed = (!names.is_empty()).then(|| {
        format!(
            "[{}: {}]",
            lang::text("clap.possible_values"),
            names.join(", ")
        )
    });
    let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
    let short = [help.clone()]
        .into_iter()
        .chain(notes.iter().cloned())
        .chain(listed.clone())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let arg = arg.hide_default_value(true).hide_possible_values(true);
    if !explained && arg.get_long_help().is_none() {
        return arg.help(short);
    }
    let mut long = arg.get_long_help().map(ToString::to_string).unwrap_or(help);
    if explained {
        let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0) + 1;
        let list: Vec<String> = values
            .iter()
            .map(|v| {
                let text = match v.get_help() {
                    Some(_) => lang::text(&format!("{key}.value.{}", v.get_name())),
                    None => "",
                };
                format!("- {:<width$} {text}", format!("{}:", v.get_name()))
            })
            .collect();
        long = format!(
            "{long}\n\n{}:\n{}",
            lang::text("clap.possible_values"),
            list.join("\n")
        );
    } else if let Some(listed) = listed {
        notes.push(listed);
    }
    if !notes.is_empty() {
        long = format!("{long}\n\n{}", notes.join(" "));
    }
    arg.help(short).long_help(long)
}

/// Prints a clap error (or the help or version it carries) in the user's language;
/// the exit code.
fn refused(cmd: &mut Command, e: &clap::Error) -> u8 {
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // The help and version, already in the command's (translated) words.
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
        _ => {}
    }
    let get = |kind: ContextKind| match e.get(kind) {
        Some(ContextValue::String(s)) => s.clone(),
        Some(ContextValue::Strings(v)) => v.join(", "),
        Some(ContextValue::StyledStr(s)) => s.to_string(),
        Some(ContextValue::StyledStrs(v)) => v
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        Some(ContextValue::Number(n)) => n.to_string(),
        Some(ContextValue::Bool(b)) => b.to_string(),
        Some(ContextValue::None) | None => String::new(),
        Some(_) => String::new(),
    };
    let arg = get(ContextKind::InvalidArg);
    let message = match e.kind() {
        ErrorKind::UnknownArgument => tr!("clap.unknown_argument", arg = arg),
        ErrorKind::InvalidSubcommand => tr!(
            "clap.unknown_command",
            command = get(ContextKind::InvalidSubcommand)
        ),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => tr!(
            "clap.invalid_value",
            value = get(ContextKind::InvalidValue),
            arg = arg
        ),
        ErrorKind::MissingRequiredArgument => tr!("clap.missing_argument", arg = arg),
        ErrorKind::MissingSubcommand => tr!("clap.missing_command"),
        ErrorKind::ArgumentConflict => tr!(
            "clap.conflict",
            arg = arg,
            other = get(ContextKind::PriorArg)
        ),
        _ if !arg.is_empty() => tr!("clap.bad_use", arg = arg),
        _ => tr!("clap.refused"),
    };
    // The usage of the command the error is about (clap's, whose heading is replaced).
    let usage = match e.get(ContextKind::Usage) {
        Some(ContextValue::StyledStr(s)) => s.to_string(),
        _ => cmd.render_usage().to_string(),
    };
    let usage = usage.trim().strip_prefix("Usage:").unwrap_or(&usage).trim();
    eprintln!(
        "{}: {message}\n\n{} {usage}\n\n{}",
        tr!("clap.error"),
        tr!("clap.usage"),
        tr!("clap.more")
    );
    2
}

/// Every text of the English help, by key: what `locales/en.json` must hold under
/// `help.…`.
#[cfg(test)]
pub fn english() -> std::collections::BTreeMap<String, String> {
    fn walk(cmd: &Command, parent: &str, out: &mut std::collections::BTreeMap<String, String>) {
        let path = path_key(parent, cmd.get_name());
        if let Some(a) = cmd.get_about() {
            out.insert(format!("help.{path}.about"), a.to_string());
        }
        if let Some(a) = cmd.get_long_about() {
            out.insert(format!("help.{path}.long_about"), a.to_string());
        }
        for arg in cmd.get_arguments() {
            let key = format!("help.{path}.arg.{}", arg.get_id());
            if let Some(h) = arg.get_help() {
                out.insert(key.clone(), h.to_string());
            }
            if let Some(h) = arg.get_long_help() {
                out.insert(format!("{key}.long"), h.to_string());
            }
            for v in arg.get_possible_values() {
                if let (Some(h), false) = (v.get_help(), v.is_hide_set()) {
                    out.insert(format!("{key}.value.{}", v.get_name()), h.to_string());
                }
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, &path, out);
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(&Cli::command(), "", &mut out);
    out
}
