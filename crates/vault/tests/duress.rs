//! The duress passphrase (decoy or wipe) and drafts kept across a lock.

use custos_test_support::{FAST as OPTS, PASS};
use std::fs;
use std::path::Path;

use custos_model::{Case, Record};
use custos_vault::{DuressAction, DECOY};
use custos_vault::{Error, Filter, SecretString, Vault};

const DURESS: &str = "meadow trumpet basalt 4412 gondola fern";

fn s(p: &str) -> SecretString {
    SecretString::from(p.to_owned())
}

fn titles(v: &Vault) -> Vec<String> {
    v.list(&Filter::default())
        .into_iter()
        .map(|i| i.summary.title.clone())
        .collect()
}

fn case(title: &str) -> Record {
    Record::Case(Case {
        title: title.into(),
        ..Case::default()
    })
}

fn contains(dir: &Path, needle: &[u8]) -> bool {
    fs::read_dir(dir).unwrap().flatten().any(|e| {
        let p = e.path();
        if p.is_dir() {
            contains(&p, needle)
        } else {
            fs::read(&p).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle))
        }
    })
}

#[test]
fn the_duress_passphrase_opens_a_decoy_that_knows_nothing_of_the_real_vault() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let mut v = Vault::create(&dir, &s(PASS), OPTS).unwrap();
    assert!(
        dir.join("duress.age").exists(),
        "every vault has a duress file"
    );
    v.add(case("Real: names of the witnesses")).unwrap();
    assert_eq!(v.duress_action(), None);
    // Refused: the vault's own passphrase, a weak one.
    assert!(v.set_duress(&s(PASS), DuressAction::Decoy).is_err());
    assert!(matches!(
        v.set_duress(&s("password1"), DuressAction::Decoy),
        Err(Error::WeakPassphrase(_))
    ));
    v.set_duress(&s(DURESS), DuressAction::Decoy).unwrap();
    assert_eq!(v.duress_action(), Some(DuressAction::Decoy));
    v.lock().unwrap();

    // Under duress: the decoy, empty at first; its owner fills it the same way.
    let mut decoy = Vault::unlock(&dir, &s(DURESS), OPTS).unwrap();
    assert!(titles(&decoy).is_empty());
    assert_eq!(
        decoy.duress_action(),
        None,
        "the decoy does not know it is one"
    );
    decoy.add(case("Training workshop, March")).unwrap();
    decoy.lock().unwrap();
    let decoy = Vault::unlock(&dir, &s(DURESS), OPTS).unwrap();
    assert_eq!(titles(&decoy), vec!["Training workshop, March".to_string()]);
    drop(decoy);

    // The real passphrase: the real vault, not the decoy's cases.
    let mut v = Vault::unlock(&dir, &s(PASS), OPTS).unwrap();
    assert_eq!(titles(&v), vec!["Real: names of the witnesses".to_string()]);
    // A wrong passphrase is just wrong.
    drop(v);
    assert!(matches!(
        Vault::unlock(&dir, &s("not the passphrase at all 77"), OPTS),
        Err(Error::WrongPassphrase)
    ));

    // Removing it: the duress passphrase is then wrong, and the decoy is gone.
    v = Vault::unlock(&dir, &s(PASS), OPTS).unwrap();
    v.clear_duress().unwrap();
    assert_eq!(v.duress_action(), None);
    v.lock().unwrap();
    assert!(!dir.join(DECOY).exists());
    assert!(matches!(
        Vault::unlock(&dir, &s(DURESS), OPTS),
        Err(Error::WrongPassphrase)
    ));
}

#[test]
fn the_duress_passphrase_can_wipe_instead() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let mut v = Vault::create(&dir, &s(PASS), OPTS).unwrap();
    v.add(case("Real case")).unwrap();
    v.set_duress(&s(DURESS), DuressAction::Wipe).unwrap();
    assert!(!dir.join(DECOY).exists());
    v.lock().unwrap();
    assert!(matches!(
        Vault::unlock(&dir, &s(DURESS), OPTS),
        Err(Error::WrongPassphrase)
    ));
    assert!(!dir.exists(), "wiped");
    assert!(matches!(
        Vault::unlock(&dir, &s(PASS), OPTS),
        Err(Error::NoVault(_))
    ));
}

#[test]
fn a_draft_survives_a_lock_sealed_and_is_taken_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let mut v = Vault::create(&dir, &s(PASS), OPTS).unwrap();
    assert!(v.take_draft().unwrap().is_none());
    let draft = br#"{"screen":"case","summary":"Kestrel-draft-canary"}"#;
    v.save_draft(draft).unwrap();
    v.lock().unwrap();
    assert!(
        !contains(&dir, b"Kestrel-draft-canary"),
        "the draft is sealed"
    );
    let mut v = Vault::unlock(&dir, &s(PASS), OPTS).unwrap();
    assert_eq!(&v.take_draft().unwrap().unwrap()[..], &draft[..]);
    assert!(v.take_draft().unwrap().is_none());
    v.lock().unwrap();
    let mut v = Vault::unlock(&dir, &s(PASS), OPTS).unwrap();
    assert!(v.take_draft().unwrap().is_none(), "taken means gone");
}
