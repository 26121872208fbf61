//! The command line speaks its user's language: the errors, the help, the usage errors,
//! the progress and the counts, chosen from `CUSTOS_LANG`, the locale or the desktop
//! app's setting. The real binary; the expected words are read from the message files, so
//! a test fails when a message is left in English or a language is not chosen.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use custos_vault::{Options, SecretString, Vault};
use serde_json::Value;
use tempfile::TempDir;

const PASS: &str = "lantern orchard velvet quarry 1987 sparrow";
const WRONG_PASS: &str = "granite harbour wicker comet 3310 falcon";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A message of the command line (`crates/cli/locales`) or of the desktop app
/// (`ui/locales`, the errors' sentences).
fn message(dir: &str, lang: &str, key: &str) -> String {
    let path = root().join(dir).join(format!("{lang}.json"));
    let all: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    all[key]
        .as_str()
        .unwrap_or_else(|| panic!("{} has no {key}", path.display()))
        .to_owned()
}

fn cli(lang: &str, key: &str) -> String {
    message("crates/cli/locales", lang, key)
}

/// The part of a message before its first placeholder.
fn head(text: &str) -> &str {
    text.split('{').next().unwrap().trim_end()
}

struct Env {
    tmp: TempDir,
    dir: PathBuf,
}

impl Env {
    fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("vault");
        Vault::create(
            &dir,
            &SecretString::from(PASS.to_owned()),
            Options::insecure_for_tests(),
        )
        .unwrap()
        .lock()
        .unwrap();
        std::fs::write(tmp.path().join("pass.txt"), format!("{PASS}\n")).unwrap();
        std::fs::write(tmp.path().join("wrong.txt"), format!("{WRONG_PASS}\n")).unwrap();
        Env { tmp, dir }
    }

    fn config(&self) -> PathBuf {
        self.tmp.path().join("config")
    }

    /// The CLI with only the given language variables set (none of the machine's).
    fn run(&self, env: &[(&str, &str)], pass: &str, args: &[&str]) -> Output {
        self.run_typing(env, pass, args, "")
    }

    /// The same, with `typed` on standard input.
    fn run_typing(&self, env: &[(&str, &str)], pass: &str, args: &[&str], typed: &str) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_custos"));
        cmd.arg("--vault")
            .arg(&self.dir)
            .arg("--passphrase-file")
            .arg(self.tmp.path().join(pass))
            .args(args)
            .env("HOME", self.tmp.path())
            .env("CUSTOS_CONFIG_DIR", self.config())
            .env("CUSTOS_DEVICE_KEYS", self.tmp.path().join("device-keys"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for var in ["CUSTOS_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"] {
            cmd.env_remove(var);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        // A command that does not read its input may have exited already.
        let _ = std::io::Write::write_all(&mut stdin, typed.as_bytes());
        drop(stdin);
        child.wait_with_output().unwrap()
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn a_vault_error_is_told_in_the_locales_language_with_the_english_detail() {
    let env = Env::new();
    let english = env.run(&[("LANG", "C.UTF-8")], "wrong.txt", &["list"]);
    assert!(!english.status.success());
    assert_eq!(stderr(&english).trim_end(), "custos: wrong passphrase");

    let persian = env.run(&[("LANG", "fa_IR.UTF-8")], "wrong.txt", &["list"]);
    assert!(!persian.status.success());
    let sentence = message("ui/locales", "fa", "error.wrong_passphrase");
    assert_ne!(
        sentence,
        message("ui/locales", "en", "error.wrong_passphrase")
    );
    assert_eq!(
        stderr(&persian).trim_end(),
        format!("custos: {sentence} [wrong passphrase]")
    );
}

#[test]
fn custos_lang_comes_before_the_locale_and_the_settings_after_it() {
    let env = Env::new();
    std::fs::create_dir_all(env.config()).unwrap();
    std::fs::write(env.config().join("settings.json"), r#"{"language": "ar"}"#).unwrap();
    let said = |vars: &[(&str, &str)]| stderr(&env.run(vars, "wrong.txt", &["list"]));
    let sentence = |lang| message("ui/locales", lang, "error.wrong_passphrase");
    // The locale names no language: the desktop app's choice.
    assert!(said(&[("LANG", "C.UTF-8")]).contains(&sentence("ar")));
    assert!(said(&[]).contains(&sentence("ar")));
    // The locale names one: it.
    assert!(said(&[("LANG", "ru_RU.UTF-8")]).contains(&sentence("ru")));
    assert!(said(&[("LANG", "de_DE.UTF-8"), ("LANGUAGE", "de:uk")]).contains(&sentence("uk")));
    // CUSTOS_LANG before all of them; English for scripts.
    assert!(said(&[("LANG", "ru_RU.UTF-8"), ("CUSTOS_LANG", "tr")]).contains(&sentence("tr")));
    assert_eq!(
        said(&[("LANG", "ru_RU.UTF-8"), ("CUSTOS_LANG", "en")]).trim_end(),
        "custos: wrong passphrase"
    );
}

#[test]
fn the_help_is_in_the_users_language_and_nothing_of_it_stays_english() {
    let env = Env::new();
    let english = stdout(&env.run(&[("CUSTOS_LANG", "en")], "pass.txt", &["--help"]));
    assert!(english.contains("Usage: custos"), "{english}");
    assert!(english.contains(&cli("en", "help.custos.about")));

    for lang in ["ru", "fa", "my"] {
        let out = env.run(&[("CUSTOS_LANG", lang)], "pass.txt", &["--help"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let help = stdout(&out);
        for key in [
            "help.custos.about",
            "help.init.about",
            "help.export.about",
            "help.custos.arg.vault",
            "clap.usage",
            "clap.commands",
            "clap.options",
            "clap.help_command",
        ] {
            let text = cli(lang, key);
            assert_ne!(text, cli("en", key), "{lang}: {key} is not translated");
            // The first words (clap wraps long lines).
            let start: String = text.chars().take(12).collect();
            assert!(
                help.contains(&start),
                "{lang}: no {key} ({start}) in\n{help}"
            );
        }
        for english in [
            "Usage:",
            "Print help",
            "Options:",
            "Commands:",
            "Create a new vault",
        ] {
            assert!(!help.contains(english), "{lang}: '{english}' in\n{help}");
        }
        // A command's help, with its arguments.
        let export = stdout(&env.run(&[("CUSTOS_LANG", lang)], "pass.txt", &["export", "--help"]));
        let output = cli(lang, "help.export.arg.output");
        let start: String = output.chars().take(12).collect();
        assert!(export.contains(&start), "{lang}: {export}");
        assert!(
            export.contains(&cli(lang, "clap.arguments"))
                || export.contains(&cli(lang, "clap.options"))
        );
    }
}

#[test]
fn a_usage_error_is_in_the_users_language_and_exits_2() {
    let env = Env::new();
    let out = env.run(&[("LANG", "fr_FR.UTF-8")], "pass.txt", &["--bogus"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    let unknown = cli("fr", "clap.unknown_argument").replace("{arg}", "--bogus");
    assert!(err.contains(&unknown), "{err}");
    assert!(err.contains(&cli("fr", "clap.more")), "{err}");
    assert!(!err.contains("unexpected argument"), "{err}");

    let out = env.run(
        &[("LANG", "es_ES.UTF-8")],
        "pass.txt",
        &["show", "not-an-id"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(head(&cli("es", "clap.invalid_value"))),
        "{err}"
    );
    assert!(err.contains("not-an-id"), "{err}");

    // English: clap's own words, as before.
    let out = env.run(&[], "pass.txt", &["--bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unexpected argument '--bogus'"));
}

#[test]
fn the_command_lines_own_errors_are_translated() {
    let env = Env::new();
    let out = env.run(&[("CUSTOS_LANG", "zh-Hans")], "pass.txt", &["wipe"]);
    assert!(!out.status.success());
    let not_wiped = cli("zh-Hans", "error.cli.not_confirmed");
    assert_ne!(not_wiped, cli("en", "error.cli.not_confirmed"));
    assert!(
        stderr(&out)
            .trim_end()
            .ends_with(&format!("custos: {not_wiped}")),
        "{}",
        stderr(&out)
    );
    assert!(env.dir.join("identity.age").exists(), "nothing wiped");
}

#[test]
fn counts_are_written_in_the_languages_digits_and_ids_stay_as_they_are() {
    let env = Env::new();
    let add = |title: &str| {
        let out = env.run(
            &[("CUSTOS_LANG", "fa")],
            "pass.txt",
            &["add", "case", "--title", title],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out).trim().to_owned()
    };
    let ids: Vec<String> = (0..12).map(|i| add(&format!("Raid {i}"))).collect();
    // An id printed for a script is the id, in ASCII, whatever the language.
    assert!(
        ids.iter().all(|id| uuid::Uuid::parse_str(id).is_ok()),
        "{ids:?}"
    );

    let out = env.run(&[("CUSTOS_LANG", "fa")], "pass.txt", &["search", "raid"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let found = cli("fa", "search.found");
    assert_ne!(found, cli("en", "search.found"));
    assert!(
        stderr(&out).contains(&found.replace("{count}", "۱۲")),
        "{}",
        stderr(&out)
    );
    // The hits (data) keep their ids in ASCII.
    assert!(ids.iter().all(|id| stdout(&out).contains(id.as_str())));

    let out = env.run(&[("CUSTOS_LANG", "en")], "pass.txt", &["search", "raid"]);
    assert!(
        stderr(&out).contains("12 record(s) found"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_wipe_asks_for_the_word_of_the_users_language_and_takes_no_other() {
    let env = Env::new();
    let word = cli("ru", "protect.confirm_word");
    assert_ne!(word, "WIPE");
    let prompt = head(&cli("ru", "protect.wipe_prompt")).to_owned();
    for wrong in ["", "wipe", "yes", "да"] {
        let out = env.run_typing(
            &[("CUSTOS_LANG", "ru")],
            "pass.txt",
            &["wipe"],
            &format!("{wrong}\n"),
        );
        assert!(!out.status.success(), "'{wrong}' wiped the vault");
        assert!(stderr(&out).contains(&prompt), "{}", stderr(&out));
        assert!(
            env.dir.join("identity.age").exists(),
            "'{wrong}' wiped the vault"
        );
    }
    let out = env.run_typing(
        &[("CUSTOS_LANG", "ru")],
        "pass.txt",
        &["wipe"],
        &format!("{word}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !env.dir.join("identity.age").exists(),
        "the Russian word wipes"
    );

    // The English word is always taken (a habit, or a script's).
    let env = Env::new();
    let out = env.run_typing(&[("CUSTOS_LANG", "ru")], "pass.txt", &["wipe"], "WIPE\n");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!env.dir.join("identity.age").exists());
}
