//! `check-package`: is a package the user was given one of the project's own? Offline,
//! against the release keys built into this custos (or, for one check, a key file the
//! user names). Needs no vault.

use std::path::Path;
use std::process::ExitCode;

use custos_release::{ReleaseKey, Update};

use super::print_json;
use crate::cli::CheckPackageArgs;
use crate::error::{CliError, Result};
use crate::tr;

/// The exit code of a genuine package older than this custos: scripts notice it.
const OLDER: u8 = 3;

/// This program's version, which a package is placed against.
const RUNNING: &str = env!("CARGO_PKG_VERSION");

pub fn check(args: CheckPackageArgs) -> Result<ExitCode> {
    let keys = match &args.key {
        Some(path) => vec![key_file(path)?],
        None => custos_release::built_in_keys(),
    };
    let dir = args.file.parent().unwrap_or(Path::new("."));
    let sums = args
        .sums
        .clone()
        .unwrap_or_else(|| dir.join(custos_release::SUMS));
    let signature = args
        .signature
        .clone()
        .unwrap_or_else(|| dir.join(custos_release::SIGNATURE));
    let checked = custos_release::check_with(&args.file, &sums, &signature, &keys, RUNNING)?;
    let code = if checked.update == Update::Older {
        ExitCode::from(OLDER)
    } else {
        ExitCode::SUCCESS
    };
    if args.json {
        print_json(&serde_json::to_value(&checked)?)?;
        return Ok(code);
    }
    println!("{}", tr!("package.genuine", file = checked.file));
    println!("{}", tr!("package.sha256", sha256 = checked.sha256));
    let version = checked.version.as_deref().unwrap_or_default();
    println!(
        "{}",
        match checked.update {
            Update::Newer => tr!("package.newer", version = version, running = RUNNING),
            Update::Same => tr!("package.same", version = version),
            Update::Older => tr!("package.older", version = version, running = RUNNING),
            Update::Unknown => tr!("package.unknown_version"),
        }
    );
    println!(
        "{}",
        tr!("package.key", key = checked.key, id = checked.key_id)
    );
    if let Some(path) = &args.key {
        println!("{}", tr!("package.key_file", path = path.display()));
    }
    if checked.test_key {
        println!("{}", tr!("package.test_key"));
    }
    println!("{}", tr!("package.comment", comment = checked.comment));
    Ok(code)
}

/// A release key from a file (`minisign -G`'s .pub), named by the file's name.
fn key_file(path: &Path) -> Result<ReleaseKey> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::io(tr!("cmd.reading_file", path = path.display()), e))?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(ReleaseKey::parse(&name, &text)?)
}
