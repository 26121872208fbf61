//! `custos check-package`: the real binary on a release folder made here, signed with a
//! throwaway key the way the release step's minisign signs (`--key` names it: this build
//! trusts no release key of its own). Genuine, older, changed, forged, unknown key,
//! missing signature, and no key at all.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use custos_test_support::release::{sha256_hex as hex, Signer};
use serde_json::Value;
use tempfile::TempDir;

/// A release folder (packages, SHA256SUMS, SHA256SUMS.minisig) and the key that signed it.
struct Release {
    tmp: TempDir,
    signer: Signer,
}

const NEWER: &str = "Custos_99.0.0_amd64.deb";
const OLDER: &str = "Custos_0.0.1_amd64.deb";
const OTHER: &str = "Custos_99.0.0_x64-setup.exe";

impl Release {
    fn new() -> Release {
        let release = Release {
            tmp: tempfile::tempdir().expect("temp dir"),
            signer: Signer::new(),
        };
        std::fs::create_dir(release.dir()).expect("release folder");
        release.signer.write_release(
            &release.dir(),
            &[
                (NEWER, b"a newer debian package"),
                (OLDER, b"an older debian package"),
                (OTHER, b"a windows installer"),
            ],
            "custos 99.0.0 linux-amd64",
        );
        release.signer.write_public(&release.key());
        release
    }

    fn dir(&self) -> PathBuf {
        self.tmp.path().join("release")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir().join(name)
    }

    /// The release key's file, outside the release folder.
    fn key(&self) -> PathBuf {
        self.tmp.path().join("custos-release-test.pub")
    }

    fn sign_sums(&self, signer: &Signer, sums: &str) {
        std::fs::write(self.path("SHA256SUMS"), sums).expect("write sums");
        let sig = signer.sign(sums.as_bytes(), "custos 99.0.0 linux-amd64");
        std::fs::write(self.path("SHA256SUMS.minisig"), sig).expect("write signature");
    }

    /// `custos check-package ARGS…` in English (or `lang`), with no vault anywhere.
    fn run_in(&self, lang: &str, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_custos"))
            .arg("check-package")
            .args(args)
            .env("HOME", self.tmp.path())
            .env("XDG_DATA_HOME", self.tmp.path().join("data"))
            .env("CUSTOS_CONFIG_DIR", self.tmp.path().join("config"))
            .env("CUSTOS_LANG", lang)
            .stdin(Stdio::null())
            .output()
            .expect("run custos")
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_in("en", args)
    }

    /// With `--key` the release's own key.
    fn check(&self, name: &str, more: &[&str]) -> Output {
        let package = self.path(name);
        let key = self.key();
        let mut args = vec![package.to_str().unwrap(), "--key", key.to_str().unwrap()];
        args.extend(more);
        self.run(&args)
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("stderr is UTF-8")
}

/// Asserts a refusal: exit code 1, nothing on stdout, one `custos: ` line on stderr.
fn refused(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
    assert_eq!(stdout(out), "", "a refused package printed a result");
    let err = stderr(out);
    assert!(err.starts_with("custos: "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    err
}

/// A message of the desktop app's catalogue (`ui/locales`), where the errors' sentences are.
fn app_message(lang: &str, key: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../ui/locales")
        .join(format!("{lang}.json"));
    let all: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    all[key].as_str().expect("the sentence").to_owned()
}

#[test]
fn a_genuine_newer_package_checks_and_says_what_it_is() {
    let release = Release::new();
    let out = release.check(NEWER, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for expected in [
        format!("genuine: {NEWER} is a package of a Custos release"),
        format!("SHA-256: {}", hex(b"a newer debian package")),
        format!(
            "version 99.0.0: newer than this custos ({})",
            env!("CARGO_PKG_VERSION")
        ),
        "signed with the release key custos-release-test (ID ".to_owned(),
        format!(
            "checked against the key in {}, not the keys built into Custos",
            release.key().display()
        ),
        "signed comment: custos 99.0.0 linux-amd64".to_owned(),
    ] {
        assert!(text.contains(&expected), "{expected:?} not in:\n{text}");
    }
    assert!(!text.contains("test key"), "{text}");
}

#[test]
fn a_renamed_download_still_checks_under_its_release_name() {
    let release = Release::new();
    std::fs::rename(release.path(OTHER), release.path("download (1).exe")).unwrap();
    let out = release.check("download (1).exe", &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let checked: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(checked["file"], OTHER);
    assert_eq!(checked["sha256"], hex(b"a windows installer"));
    assert_eq!(checked["version"], "99.0.0");
    assert_eq!(checked["update"], "newer");
    assert_eq!(checked["key"], "custos-release-test");
    assert_eq!(checked["key_id"].as_str().map(str::len), Some(16));
    assert_eq!(checked["test_key"], false);
    assert_eq!(checked["comment"], "custos 99.0.0 linux-amd64");
}

#[test]
fn an_older_package_is_genuine_but_exits_3_and_says_not_to_install_it() {
    let release = Release::new();
    let out = release.check(OLDER, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("version 0.0.1: OLDER than this custos")
            && text.contains("installing it would undo fixes: do not install it"),
        "{text}"
    );
    let json = release.check(OLDER, &["--json"]);
    assert_eq!(json.status.code(), Some(3));
    let checked: Value = serde_json::from_str(&stdout(&json)).expect("JSON");
    assert_eq!(checked["update"], "older");
}

#[test]
fn one_flipped_byte_in_the_package_is_refused_as_changed() {
    let release = Release::new();
    let path = release.path(NEWER);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[3] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    let err = refused(&release.check(NEWER, &[]));
    assert!(
        err.contains(&app_message("en", "error.package_changed"))
            && err.contains(&format!(
                "{NEWER} is in the signed list with another SHA-256"
            )),
        "{err}"
    );
}

#[test]
fn a_forged_list_of_hashes_is_refused() {
    let release = Release::new();
    // Someone puts their own file's hash in the list under the release's name.
    std::fs::write(release.path(NEWER), b"something else entirely").unwrap();
    let sums = std::fs::read_to_string(release.path("SHA256SUMS")).unwrap();
    let forged = sums.replace(
        &hex(b"a newer debian package"),
        &hex(b"something else entirely"),
    );
    assert_ne!(sums, forged);
    std::fs::write(release.path("SHA256SUMS"), forged).unwrap();
    let err = refused(&release.check(NEWER, &[]));
    assert!(
        err.contains(&app_message("en", "error.package_bad_signature")),
        "{err}"
    );
}

#[test]
fn a_list_signed_by_a_key_not_trusted_is_refused() {
    let release = Release::new();
    let sums = std::fs::read_to_string(release.path("SHA256SUMS")).unwrap();
    release.sign_sums(&Signer::new(), &sums);
    let err = refused(&release.check(NEWER, &[]));
    assert!(
        err.contains(&app_message("en", "error.package_unknown_key"))
            && err.contains("which this build does not trust"),
        "{err}"
    );
}

#[test]
fn a_missing_signature_is_refused_with_the_file_named() {
    let release = Release::new();
    std::fs::remove_file(release.path("SHA256SUMS.minisig")).unwrap();
    let err = refused(&release.check(NEWER, &[]));
    assert!(
        err.contains(&app_message("en", "error.package_missing_file"))
            && err.contains(&format!(
                "{} not found",
                release.path("SHA256SUMS.minisig").display()
            )),
        "{err}"
    );
}

#[test]
fn the_list_and_its_signature_may_be_elsewhere() {
    let release = Release::new();
    let elsewhere = release.tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    for name in ["SHA256SUMS", "SHA256SUMS.minisig"] {
        std::fs::rename(release.path(name), elsewhere.join(name)).unwrap();
    }
    refused(&release.check(NEWER, &[]));
    let sums = elsewhere.join("SHA256SUMS");
    let sig = elsewhere.join("SHA256SUMS.minisig");
    let out = release.check(
        NEWER,
        &[
            "--sums",
            sums.to_str().unwrap(),
            "--signature",
            sig.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn without_a_key_this_build_says_it_trusts_no_release_key() {
    let release = Release::new();
    let package = release.path(NEWER);
    let out = release.run(&[package.to_str().unwrap()]);
    let err = refused(&out);
    if custos_release::built_in_keys().is_empty() {
        assert!(
            err.contains(
                "This build of Custos trusts no release key, so it cannot check a package"
            ),
            "{err}"
        );
        // In the user's language too.
        let fr = refused(&release.run_in("fr", &[package.to_str().unwrap()]));
        assert!(
            fr.contains(&app_message("fr", "error.package_no_keys")),
            "{fr}"
        );
    } else {
        // A test package's build trusts its throwaway key, which did not sign this.
        assert!(
            err.contains(&app_message("en", "error.package_unknown_key")),
            "{err}"
        );
    }
}

#[test]
fn a_key_file_that_is_not_a_key_is_refused() {
    let release = Release::new();
    std::fs::write(release.key(), "untrusted comment: nothing\nnot a key\n").unwrap();
    let err = refused(&release.check(NEWER, &[]));
    assert!(
        err.contains(&app_message("en", "error.package_bad_key")),
        "{err}"
    );
}
