//! `vault.json` is a plain file anyone with the disk can edit: the device key id it names
//! is parsed as a key id, never joined into a path as it stands. A planted value cannot
//! make a panic wipe (or an unlock) touch a file outside the device key folder.

use custos_test_support::{pass, FAST};
use std::fs;

use custos_vault::{Error, Vault};

/// Replaces the manifest's device key id with `value`.
fn plant(dir: &std::path::Path, value: &str) {
    let path = dir.join("vault.json");
    let mut m: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    m["device_key"] = serde_json::Value::String(value.into());
    fs::write(&path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
}

#[test]
fn a_planted_device_key_id_cannot_reach_outside_the_key_folder() {
    let tmp = tempfile::tempdir().unwrap();
    // The key folder is two levels down: `../../outside` from it is `tmp/outside.key`.
    let keys = tmp.path().join("data").join("device-keys");
    fs::create_dir_all(&keys).unwrap();
    std::env::set_var("CUSTOS_DEVICE_KEYS", &keys);
    let outside = tmp.path().join("outside.key");
    fs::write(&outside, b"a file the vault must never touch").unwrap();

    // Panic wipe of the locked folder: the vault is gone, the outside file is not, and
    // the caller hears why the device key was left alone.
    let dir = tmp.path().join("vault");
    Vault::create(&dir, &pass(), FAST).unwrap().lock().unwrap();
    plant(&dir, "../../outside");
    let wiped = Vault::wipe_folder(&dir);
    assert!(!dir.exists(), "the vault folder was not wiped");
    assert_eq!(
        fs::read(&outside).ok().as_deref(),
        Some(&b"a file the vault must never touch"[..]),
        "the panic wipe destroyed a file outside the vault"
    );
    let err = wiped.unwrap_err();
    assert!(
        matches!(&err, Error::Database(m) if m.contains("vault.json") && m.contains("device key")),
        "wipe_folder: {err}"
    );

    // Unlock: a clear error, nothing touched.
    Vault::create(&dir, &pass(), FAST).unwrap().lock().unwrap();
    plant(&dir, "../../outside");
    let err = Vault::unlock(&dir, &pass(), FAST).unwrap_err();
    assert!(
        err.to_string().contains("vault.json") && err.to_string().contains("device key"),
        "unlock: {err}"
    );
    assert!(outside.exists());
    Vault::wipe_folder(&dir).unwrap_err();

    // Panic wipe of an unlocked vault whose manifest was changed behind its back.
    let dir = tmp.path().join("vault2");
    let v = Vault::create(&dir, &pass(), FAST).unwrap();
    plant(&dir, "../../outside");
    let err = v.wipe().unwrap_err();
    assert!(
        matches!(&err, Error::Database(m) if m.contains("device key")),
        "wipe: {err}"
    );
    assert!(!dir.exists(), "the vault folder was not wiped");
    assert!(
        outside.exists(),
        "the panic wipe destroyed a file outside the vault"
    );

    // An absolute path and a name that only looks like an id are refused the same way.
    for planted in ["/tmp/x", "0d4f7c62-0000-4000-8000-00000000000/../x", ""] {
        let dir = tmp.path().join("vault3");
        Vault::create(&dir, &pass(), FAST).unwrap().lock().unwrap();
        plant(&dir, planted);
        assert!(Vault::unlock(&dir, &pass(), FAST).is_err(), "{planted:?}");
        assert!(Vault::wipe_folder(&dir).is_err(), "{planted:?}");
        assert!(!dir.exists());
    }
}
