//! Settings → Packages and updates: is a package the user brought (a download, a file on
//! a USB stick) one of the project's own? Checked offline by `custos-release` against
//! the release keys built into this app, and only those: the app has no way to trust
//! another key, and it downloads nothing (updates are files the user brings and
//! installs).

use std::path::PathBuf;

use custos_release::{Checked, ReleaseKey};
use serde::Serialize;

use crate::error::CommandError;

type Result<T> = std::result::Result<T, CommandError>;

/// This app's version, which a package is placed against.
const RUNNING: &str = env!("CARGO_PKG_VERSION");

/// A package that checked, as the Settings panel shows it.
#[derive(Debug, Serialize)]
pub struct PackageCheck {
    /// The release's name for it, its SHA-256, version, how it stands against this
    /// version, the key that signed the list, the signed comment.
    #[serde(flatten)]
    checked: Checked,
    /// This app's version.
    running: &'static str,
    /// The file as the user holds it (its name may differ from the release's: a browser
    /// renames a second download), for the command that installs it.
    path: String,
}

/// Checks the package at `path` against `SHA256SUMS` and `SHA256SUMS.minisig` in its
/// folder, with the release keys built into the app.
#[tauri::command]
pub async fn check_package(path: String) -> Result<PackageCheck> {
    tauri::async_runtime::spawn_blocking(move || {
        check_with_keys(&path, &custos_release::built_in_keys())
    })
    .await
    .map_err(|e| CommandError::Internal(e.to_string()))?
}

/// [`check_package`] with the keys given (the tests' own keys; the app passes only its
/// built-in ones).
fn check_with_keys(path: &str, keys: &[ReleaseKey]) -> Result<PackageCheck> {
    let file = PathBuf::from(path.trim());
    if !file.is_absolute() {
        return Err(CommandError::BadRequest(
            "give the package's full path (it starts with /)".into(),
        ));
    }
    let checked = custos_release::check(&file, keys, RUNNING)?;
    Ok(PackageCheck {
        checked,
        running: RUNNING,
        path: file.to_string_lossy().into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use custos_test_support::release::{sha256_hex as hex, Signer};
    use serde_json::{json, Value};

    use super::*;

    /// The signer's public key as the app reads one.
    fn key_of(signer: &Signer) -> ReleaseKey {
        ReleaseKey::parse("custos-release-test", &signer.public_text()).expect("a key")
    }

    /// A release folder with one package of `version`, signed by `signer`.
    fn release(signer: &Signer, version: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let name = format!("Custos_{version}_amd64.deb");
        let body = format!("the package of {version}");
        signer.write_release(
            dir.path(),
            &[(name.as_str(), body.as_bytes())],
            "custos 99.0.0 linux-amd64",
        );
        let package = dir.path().join(name);
        (dir, package)
    }

    fn as_ui(e: CommandError) -> Value {
        serde_json::to_value(&e).expect("an error serializes")
    }

    fn path(p: &Path) -> &str {
        p.to_str().expect("a UTF-8 path")
    }

    #[test]
    fn a_genuine_package_reaches_the_panel_with_its_version_against_this_one() {
        let signer = Signer::new();
        let (_dir, package) = release(&signer, "99.0.0");
        let checked = check_with_keys(path(&package), &[key_of(&signer)]).expect("it checks");
        let v = serde_json::to_value(&checked).expect("serializes");
        assert_eq!(v["file"], "Custos_99.0.0_amd64.deb");
        assert_eq!(v["version"], "99.0.0");
        assert_eq!(v["update"], "newer");
        assert_eq!(v["running"], RUNNING);
        assert_eq!(v["key"], "custos-release-test");
        assert_eq!(v["key_id"].as_str().map(str::len), Some(16));
        assert_eq!(v["test_key"], false);
        assert_eq!(v["comment"], "custos 99.0.0 linux-amd64");
        assert_eq!(v["path"], path(&package));
        assert_eq!(v["sha256"], hex(b"the package of 99.0.0"));

        let (_old, older) = release(&signer, "0.0.1");
        let v = serde_json::to_value(check_with_keys(path(&older), &[key_of(&signer)]).unwrap())
            .unwrap();
        assert_eq!(v["update"], "older");
    }

    #[test]
    fn a_tampered_package_is_refused_with_a_kind_the_page_translates() {
        let signer = Signer::new();
        let (_dir, package) = release(&signer, "99.0.0");
        let mut bytes = std::fs::read(&package).unwrap();
        bytes[0] ^= 0x01;
        std::fs::write(&package, bytes).unwrap();
        let e = as_ui(check_with_keys(path(&package), &[key_of(&signer)]).unwrap_err());
        assert_eq!(e["kind"], "package_changed");
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .contains("Custos_99.0.0_amd64.deb is in the signed list with another SHA-256"),
            "{e}"
        );

        // Signed by someone else: refused, whatever the list says.
        let (_dir, package) = release(&Signer::new(), "99.0.0");
        let e = as_ui(check_with_keys(path(&package), &[key_of(&signer)]).unwrap_err());
        assert_eq!(e["kind"], "package_unknown_key");
    }

    #[test]
    fn without_keys_nothing_checks_and_the_page_is_told_so() {
        let signer = Signer::new();
        let (_dir, package) = release(&signer, "99.0.0");
        let e = as_ui(check_with_keys(path(&package), &[]).unwrap_err());
        assert_eq!(
            e,
            json!({"kind": "package_no_keys", "message": "this build trusts no release key (release/keys is empty)"})
        );
    }

    #[test]
    fn the_app_checks_with_its_built_in_keys_only() {
        // The command takes no key: this build's keys are the only ones it trusts.
        let signer = Signer::new();
        let (_dir, package) = release(&signer, "99.0.0");
        let e =
            tauri::async_runtime::block_on(check_package(path(&package).to_owned())).unwrap_err();
        let kind = e.kind();
        if custos_release::built_in_keys().is_empty() {
            assert_eq!(kind, "package_no_keys");
        } else {
            assert_eq!(kind, "package_unknown_key");
        }
    }

    #[test]
    fn a_relative_or_empty_path_is_refused() {
        for p in ["", "Custos_99.0.0_amd64.deb", "./x.deb"] {
            let e = check_with_keys(p, &[]).unwrap_err();
            assert_eq!(e.kind(), "bad_request", "{p:?}");
        }
    }
}
