//! Key backup with shares: k shares restore the key (and the vault opens with a new
//! passphrase, records intact), k-1 do not, shares of another vault or another backup
//! are refused with a clear error, and a mistyped or damaged share is named.

use custos_test_support::{secret, FAST as OPTS, PASS};
use std::path::PathBuf;

use custos_model::{Case, Record};
use custos_vault::{Error, Vault};
use uuid::Uuid;

const NEW: &str = "cobalt meadow thunder violin 2041 heron";

/// A vault with one case; its shares (k of n); the case id.
fn vault_with_shares(k: usize, n: usize) -> (tempfile::TempDir, PathBuf, Vec<String>, Uuid) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let mut vault = Vault::create(&dir, &secret(PASS), OPTS).unwrap();
    let id = vault
        .add(Record::Case(Case {
            title: "Detention of a lawyer".into(),
            ..Case::default()
        }))
        .unwrap();
    let shares = vault
        .key_shares(k, n)
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    vault.lock().unwrap();
    (tmp, dir, shares, id)
}

fn restore(dir: &std::path::Path, shares: &[&str]) -> custos_vault::Result<()> {
    Vault::restore_key(dir, shares, &secret(NEW), OPTS)
}

#[test]
fn any_k_shares_restore_the_key_and_the_vault_opens_with_a_new_passphrase() {
    let (_t, dir, shares, id) = vault_with_shares(3, 5);
    assert_eq!(shares.len(), 5);
    assert!(shares.iter().all(|s| s.starts_with("custos-share-1:")));
    // Shares 2, 4 and 5 (any three), given with blank lines and spaces around them.
    let chosen = ["", &format!("  {}  ", shares[1]), &shares[3], &shares[4]];
    restore(&dir, &chosen).unwrap();
    assert!(matches!(
        Vault::unlock(&dir, &secret(PASS), OPTS),
        Err(Error::WrongPassphrase)
    ));
    let vault = Vault::unlock(&dir, &secret(NEW), OPTS).unwrap();
    let case = vault.get(id).unwrap();
    assert_eq!(
        case.record.as_ref().unwrap().title(),
        "Detention of a lawyer"
    );
    drop(case);
    vault.lock().unwrap();
}

#[test]
fn k_minus_one_shares_do_not_restore_and_change_nothing() {
    let (_t, dir, shares, _) = vault_with_shares(3, 5);
    let identity_before = std::fs::read(dir.join("identity.age")).unwrap();
    let err = restore(&dir, &[&shares[0], &shares[2]]).unwrap_err();
    assert!(err.to_string().contains("needs 3 of its 5"), "{err}");
    // The same share twice is still one share.
    let err = restore(&dir, &[&shares[0], &shares[2], &shares[0]]).unwrap_err();
    assert!(err.to_string().contains("2 different shares"), "{err}");
    assert_eq!(
        std::fs::read(dir.join("identity.age")).unwrap(),
        identity_before
    );
    Vault::unlock(&dir, &secret(PASS), OPTS)
        .unwrap()
        .lock()
        .unwrap();
}

#[test]
fn shares_of_another_vault_or_another_backup_are_refused_clearly() {
    let (_t, dir, shares, _) = vault_with_shares(2, 3);
    let (_t2, _dir2, other, _) = vault_with_shares(2, 3);
    // All shares of another vault: they combine, but not into this vault's key.
    let err = restore(&dir, &[&other[0], &other[1]]).unwrap_err();
    assert!(err.to_string().contains("key of another vault"), "{err}");
    // Mixed with this vault's.
    let err = restore(&dir, &[&shares[0], &other[1]]).unwrap_err();
    assert!(
        err.to_string().contains("share 2 belongs to another vault"),
        "{err}"
    );
    // Two backups of the same vault.
    let vault = Vault::unlock(&dir, &secret(PASS), OPTS).unwrap();
    let second: Vec<String> = vault
        .key_shares(2, 3)
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    vault.lock().unwrap();
    let err = restore(&dir, &[&shares[0], &second[1]]).unwrap_err();
    assert!(err.to_string().contains("another backup"), "{err}");
    Vault::unlock(&dir, &secret(PASS), OPTS)
        .unwrap()
        .lock()
        .unwrap();
}

#[test]
fn a_mistyped_or_damaged_share_is_named() {
    let (_t, dir, shares, _) = vault_with_shares(2, 3);
    // A typo: one hex digit of the data changed.
    let mut typo = shares[1].clone().into_bytes();
    let at = typo.len() - 20;
    typo[at] = if typo[at] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    let err = restore(&dir, &[&shares[0], &typo]).unwrap_err();
    assert!(
        err.to_string()
            .contains("share 2: its check digits do not match"),
        "{err}"
    );
    // Not a share at all.
    let err = restore(&dir, &["hello", &shares[0]]).unwrap_err();
    assert!(
        err.to_string().contains("share 1: not a Custos key share"),
        "{err}"
    );
    // A share whose data was changed and whose check was recomputed (a forged or badly
    // repaired share): the rebuilt key is not the one the shares name.
    let (body, _) = shares[1].rsplit_once(':').unwrap();
    let (head, data) = body.rsplit_once(':').unwrap();
    let mut data = data.to_owned().into_bytes();
    data[10] = if data[10] == b'0' { b'1' } else { b'0' };
    let body = format!("{head}:{}", String::from_utf8(data).unwrap());
    let sum: String = {
        use sha2::Digest;
        sha2::Sha256::digest(body.as_bytes())[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let forged = format!("{body}:{sum}");
    let err = restore(&dir, &[&shares[0], &forged]).unwrap_err();
    assert!(err.to_string().contains("one of them is damaged"), "{err}");
    // Bad parameters are refused before anything is split.
    let vault = Vault::unlock(&dir, &secret(PASS), OPTS).unwrap();
    assert!(vault.key_shares(1, 3).is_err());
    assert!(vault.key_shares(4, 3).is_err());
    assert!(vault.key_shares(2, 256).is_err());
    vault.lock().unwrap();
}
