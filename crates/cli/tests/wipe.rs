//! The device key and the panic wipe: a copy of the vault folder does not open without
//! the device key; after a wipe, a copy taken before it does not open on this device,
//! and the wiped folder is gone; the key backup shares still rebuild the key.
//!
//! One test, because the device key folder is chosen per process (environment).

use std::fs;
use std::path::Path;
use std::process::Command;

use custos_model::{Case, Record};
use custos_vault::Attach;
use custos_vault::{Error, Options, SecretString, Vault};

const PASS: &str = "lantern orchard velvet quarry 1987 sparrow";
const CANARY: &str = "Quetzal-canary-51K";

fn pass() -> SecretString {
    SecretString::from(PASS.to_owned())
}

fn bound() -> Options {
    Options {
        bind_to_device: true,
        ..Options::insecure_for_tests()
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap().flatten() {
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            fs::copy(e.path(), dest).unwrap();
        }
    }
}

fn files_under(dir: &Path) -> usize {
    fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        files_under(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn a_wiped_vault_does_not_open_again_here_even_from_a_copy_taken_before() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("device-keys");
    std::env::set_var("CUSTOS_DEVICE_KEYS", &keys);
    let dir = tmp.path().join("vault");

    let mut vault = Vault::create(&dir, &pass(), bound()).unwrap();
    assert_eq!(
        files_under(&keys),
        1,
        "one device key, outside the vault folder"
    );
    let case = vault
        .add(Record::Case(Case {
            title: "Arrest".into(),
            summary: CANARY.into(),
            ..Case::default()
        }))
        .unwrap();
    let photo = tmp.path().join("photo.jpg");
    fs::write(&photo, vec![0x42u8; 300_000]).unwrap();
    vault
        .attach(
            &photo,
            Attach {
                case_id: case,
                attached_to: vec![],
                description: "photo".into(),
                derived_from: None,
            },
        )
        .unwrap();
    let shares = vault.key_shares(2, 3).unwrap();
    vault.lock().unwrap();

    // The identity file does not open with the passphrase alone.
    let identity = fs::read(dir.join("identity.age")).unwrap();
    assert!(custos_vault::crypto::unwrap_identity(&identity, &pass()).is_err());

    // A copy of the folder opens here (this device has the key) …
    let before = tmp.path().join("copy-before-wipe");
    copy_dir(&dir, &before);
    Vault::unlock(&before, &pass(), bound())
        .unwrap()
        .lock()
        .unwrap();
    // … and not on another device.
    std::env::set_var("CUSTOS_DEVICE_KEYS", tmp.path().join("another-laptop"));
    assert!(matches!(
        Vault::unlock(&before, &pass(), bound()),
        Err(Error::DeviceKeyMissing)
    ));
    std::env::set_var("CUSTOS_DEVICE_KEYS", &keys);

    // Panic wipe of the unlocked vault.
    let vault = Vault::unlock(&dir, &pass(), bound()).unwrap();
    let wiped = vault.wipe().unwrap();
    assert!(wiped.files > 3);
    assert!(wiped.keys_destroyed <= wiped.total);
    assert!(!dir.exists(), "the vault folder is gone");
    assert_eq!(files_under(&keys), 0, "the device key is gone");

    // The copy taken before the wipe, with the right passphrase, no longer opens here.
    let err = Vault::unlock(&before, &pass(), bound()).unwrap_err();
    assert!(matches!(err, Error::DeviceKeyMissing), "{err}");
    assert!(err.to_string().contains("key backup"));

    // The key backup shares still rebuild the key (bound to a new device key).
    let lines: Vec<&str> = shares.iter().take(2).map(|s| s.as_str()).collect();
    Vault::restore_key(&before, &lines, &pass(), bound()).unwrap();
    let back = Vault::unlock(&before, &pass(), bound()).unwrap();
    assert_eq!(back.get(case).unwrap().heads.len(), 1);
    drop(back);

    // The command line wipes a locked vault, after a confirmation.
    let cli = env!("CARGO_BIN_EXE_custos");
    // Its own config folder: a wipe forgets the failed unlocks counted there.
    let config = tmp.path().join("config");
    let refused = Command::new(cli)
        .arg("--vault")
        .arg(&before)
        .arg("wipe")
        .env("CUSTOS_CONFIG_DIR", &config)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        before.join("identity.age").exists(),
        "nothing wiped without the answer"
    );
    // Failed unlocks counted against the wiped vault are forgotten (as by the desktop's
    // panic wipe), and the settings stay.
    fs::create_dir_all(&config).unwrap();
    fs::write(
        config.join("settings.json"),
        r#"{"wipeAfterFailures": 5, "failedUnlocks": 2}"#,
    )
    .unwrap();
    let out = Command::new(cli)
        .arg("--vault")
        .arg(&before)
        .args(["wipe", "--yes"])
        .env("CUSTOS_DEVICE_KEYS", &keys)
        .env("CUSTOS_CONFIG_DIR", &config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("keys destroyed"));
    assert!(!before.exists());
    assert_eq!(files_under(&keys), 0);
    let settings: serde_json::Value =
        serde_json::from_slice(&fs::read(config.join("settings.json")).unwrap()).unwrap();
    assert_eq!(settings.get("failedUnlocks"), None, "{settings}");
    assert_eq!(settings["wipeAfterFailures"], 5, "{settings}");
}
