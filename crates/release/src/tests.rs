//! Every way a package can fail the check, with throwaway keys made and used the way the
//! release step's `minisign` makes and uses them.

use std::path::{Path, PathBuf};

use custos_test_support::release::{sha256_hex as hex, Signer};

use super::*;

/// The signer's public key as this crate reads it.
fn public(signer: &Signer, name: &str) -> ReleaseKey {
    ReleaseKey::parse(name, &signer.public_text()).expect("a minisign public key parses")
}

/// A release folder: two packages, their list of hashes, its signature.
struct Release {
    dir: tempfile::TempDir,
}

impl Release {
    fn new(signer: &Signer) -> Release {
        let dir = tempfile::tempdir().expect("temp dir");
        signer.write_release(
            dir.path(),
            &[
                ("Custos_0.2.0_amd64.deb", b"a debian package"),
                ("Custos_0.2.0_x64-setup.exe", b"a windows installer"),
            ],
            "custos 0.2.0 linux-amd64",
        );
        Release { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn deb(&self) -> PathBuf {
        self.path("Custos_0.2.0_amd64.deb")
    }
}

fn flip_byte(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).expect("read");
    bytes[at] ^= 0x01;
    std::fs::write(path, bytes).expect("write");
}

#[test]
fn a_package_of_the_release_checks_and_says_which_key_and_version() {
    let signer = Signer::new();
    let release = Release::new(&signer);
    let key = public(&signer, "custos-release-2027");
    let checked = check(&release.deb(), std::slice::from_ref(&key), "0.1.0").expect("it checks");
    assert_eq!(checked.file, "Custos_0.2.0_amd64.deb");
    assert_eq!(checked.sha256, hex(b"a debian package"));
    assert_eq!(checked.version.as_deref(), Some("0.2.0"));
    assert_eq!(checked.update, Update::Newer);
    assert_eq!(checked.key, "custos-release-2027");
    assert_eq!(checked.key_id, key.id());
    assert_eq!(checked.key_id.len(), 16);
    assert!(!checked.test_key);
    assert_eq!(checked.comment, "custos 0.2.0 linux-amd64");

    assert_eq!(
        check(&release.deb(), std::slice::from_ref(&key), "0.2.0")
            .expect("checks")
            .update,
        Update::Same
    );
    assert_eq!(
        check(&release.deb(), &[key], "0.3.1")
            .expect("checks")
            .update,
        Update::Older,
        "an older release is genuine, and said to be older"
    );
}

#[test]
fn a_renamed_download_still_checks_by_its_hash() {
    let signer = Signer::new();
    let release = Release::new(&signer);
    let renamed = release.path("Custos_0.2.0_amd64 (1).deb");
    std::fs::rename(release.deb(), &renamed).expect("rename");
    let checked = check(&renamed, &[public(&signer, "k")], "0.1.0").expect("it checks");
    assert_eq!(
        checked.file, "Custos_0.2.0_amd64.deb",
        "the name the release gave it"
    );
}

#[test]
fn a_changed_package_is_refused() {
    let signer = Signer::new();
    let release = Release::new(&signer);
    flip_byte(&release.deb(), 3);
    let err = check(&release.deb(), &[public(&signer, "k")], "0.1.0").expect_err("refused");
    assert!(
        matches!(&err, CheckError::Changed { file } if file == "Custos_0.2.0_amd64.deb"),
        "{err}"
    );
    assert_eq!(err.kind(), "package_changed");

    let stranger = release.path("installer.deb");
    std::fs::write(&stranger, b"something else entirely").expect("write");
    let err = check(&stranger, &[public(&signer, "k")], "0.1.0").expect_err("refused");
    assert!(matches!(err, CheckError::NotInRelease { .. }), "{err}");
    assert!(err.to_string().contains(&hex(b"something else entirely")));
}

#[test]
fn a_list_changed_to_match_a_changed_package_fails_its_signature() {
    let signer = Signer::new();
    let release = Release::new(&signer);
    // The attacker swaps the package and writes its hash into the list.
    std::fs::write(release.deb(), b"spyware").expect("write");
    let sums = std::fs::read_to_string(release.path(SUMS)).expect("read");
    let forged = sums.replace(&hex(b"a debian package"), &hex(b"spyware"));
    std::fs::write(release.path(SUMS), forged).expect("write");
    let err = check(&release.deb(), &[public(&signer, "k")], "0.1.0").expect_err("refused");
    assert!(matches!(err, CheckError::BadSignature), "{err}");
}

#[test]
fn a_changed_trusted_comment_fails_the_signature() {
    let signer = Signer::new();
    let release = Release::new(&signer);
    let sig = std::fs::read_to_string(release.path(SIGNATURE)).expect("read");
    let forged = sig.replace("custos 0.2.0 linux-amd64", "custos 9.9.9 linux-amd64");
    assert_ne!(sig, forged);
    std::fs::write(release.path(SIGNATURE), forged).expect("write");
    let err = check(&release.deb(), &[public(&signer, "k")], "0.1.0").expect_err("refused");
    assert!(matches!(err, CheckError::BadSignature), "{err}");
}

#[test]
fn a_list_signed_by_another_key_is_refused_and_its_key_named() {
    let signer = Signer::new();
    let attacker = Signer::new();
    let release = Release::new(&attacker);
    let err = check(&release.deb(), &[public(&signer, "k")], "0.1.0").expect_err("refused");
    match &err {
        CheckError::UnknownKey { key_id } => assert_eq!(key_id, public(&attacker, "a").id()),
        other => panic!("{other}"),
    }
    // With both keys trusted (a rotation), either key's signature checks.
    let checked = check(
        &release.deb(),
        &[public(&signer, "old"), public(&attacker, "new")],
        "0.1.0",
    )
    .expect("checks with the second key");
    assert_eq!(checked.key, "new");
}

#[test]
fn missing_truncated_or_garbled_files_are_clear_errors() {
    let signer = Signer::new();
    let key = public(&signer, "k");

    let release = Release::new(&signer);
    std::fs::remove_file(release.path(SIGNATURE)).expect("rm");
    let err = check(&release.deb(), std::slice::from_ref(&key), "0.1.0").expect_err("refused");
    assert!(
        matches!(&err, CheckError::MissingFile(p) if p.ends_with(SIGNATURE)),
        "{err}"
    );

    let release = Release::new(&signer);
    std::fs::remove_file(release.path(SUMS)).expect("rm");
    let err = check(&release.deb(), std::slice::from_ref(&key), "0.1.0").expect_err("refused");
    assert!(
        matches!(&err, CheckError::MissingFile(p) if p.ends_with(SUMS)),
        "{err}"
    );

    let release = Release::new(&signer);
    let sig = std::fs::read_to_string(release.path(SIGNATURE)).expect("read");
    std::fs::write(release.path(SIGNATURE), &sig[..sig.len() / 2]).expect("write");
    let err = check(&release.deb(), std::slice::from_ref(&key), "0.1.0").expect_err("refused");
    assert!(matches!(err, CheckError::MalformedSignature(_)), "{err}");

    let release = Release::new(&signer);
    std::fs::write(release.path(SIGNATURE), [0xff, 0xfe, 0x00]).expect("write");
    let err = check(&release.deb(), std::slice::from_ref(&key), "0.1.0").expect_err("refused");
    assert!(matches!(err, CheckError::MalformedSignature(_)), "{err}");

    let release = Release::new(&signer);
    let err = check(
        &release.path("nowhere.deb"),
        std::slice::from_ref(&key),
        "0.1.0",
    )
    .expect_err("no file");
    assert!(matches!(err, CheckError::MissingFile(_)), "{err}");

    let err = check(&release.deb(), &[], "0.1.0").expect_err("no keys");
    assert!(matches!(err, CheckError::NoKeys), "{err}");
}

#[test]
fn a_signed_list_that_is_not_sha256sum_lines_is_refused() {
    let signer = Signer::new();
    let key = public(&signer, "k");
    for body in [
        "not a hash  Custos_0.2.0_amd64.deb\n",
        &format!("{}Custos_0.2.0_amd64.deb\n", hex(b"a debian package")),
        &format!("{}  \n", hex(b"a debian package")),
        &format!("{}  x\n", "z".repeat(64)),
    ] {
        let release = Release::new(&signer);
        std::fs::write(release.path(SUMS), body).expect("write");
        std::fs::write(
            release.path(SIGNATURE),
            signer.sign(body.as_bytes(), "custos"),
        )
        .expect("write");
        let err = check(&release.deb(), std::slice::from_ref(&key), "0.1.0").expect_err("refused");
        assert!(
            matches!(err, CheckError::MalformedSums { line: 1, .. }),
            "{body:?}: {err}"
        );
    }
}

#[test]
fn a_legacy_signature_of_the_whole_file_is_refused() {
    // minisign -l signs the bytes themselves ("Ed"), not their BLAKE2b ("ED"); the
    // release step never makes one, and the check takes only the pre-hashed form.
    let signer = Signer::new();
    let release = Release::new(&signer);
    let sig = std::fs::read_to_string(release.path(SIGNATURE)).expect("read");
    let mut lines: Vec<String> = sig.lines().map(str::to_owned).collect();
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::STANDARD;
    let mut bin = engine.decode(&lines[1]).expect("base64");
    assert_eq!(&bin[..2], b"ED");
    bin[1] = b'd';
    lines[1] = engine.encode(&bin);
    std::fs::write(release.path(SIGNATURE), lines.join("\n") + "\n").expect("write");
    let err = check(&release.deb(), &[public(&signer, "k")], "0.1.0").expect_err("refused");
    assert!(matches!(err, CheckError::BadSignature), "{err}");
}

#[test]
fn key_files_parse_or_say_which_one_is_bad() {
    let signer = Signer::new();
    let text = signer.public_text();
    let key = ReleaseKey::parse("custos-release-2027", &text).expect("parses");
    // minisign writes the id into the key's comment; ours reads it the same way.
    assert!(text.contains(key.id()), "{text} / {}", key.id());
    assert!(format!("{key:?}").contains(key.id()));
    let err = ReleaseKey::parse("broken", "untrusted comment: x\nAAAA\n").expect_err("bad");
    assert!(matches!(&err, CheckError::BadKey { name } if name == "broken"));
}

#[test]
fn the_versions_in_tauri_bundle_names() {
    for (name, version) in [
        ("Custos_0.2.0_amd64.deb", Some("0.2.0")),
        ("Custos_1.10.3_x64-setup.exe", Some("1.10.3")),
        ("Custos_2.0.0-rc.1_aarch64.dmg", Some("2.0.0-rc.1")),
        ("custos.deb", None),
        ("Custos_latest_amd64.deb", None),
    ] {
        assert_eq!(
            version_of(name).map(|v| v.to_string()).as_deref(),
            version,
            "{name}"
        );
    }
}
