//! The duress passphrase (decoy or wipe) and drafts kept across a lock.

use custos_test_support::{with_sled, FAST as OPTS, PASS};
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

/// Every file of a vault folder: relative path → (size, modification time). The
/// database's files count as one, `db/` (the newest time, no size): sled's log grows by
/// amounts that depend on when its flusher ran, even in two vaults without a duress
/// passphrase; its content is compared by [`keys`].
fn files(dir: &Path) -> std::collections::BTreeMap<String, (u64, std::time::SystemTime)> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let m = fs::metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                let t = m.modified().unwrap();
                if rel.starts_with("db/") {
                    let db = out.entry("db/".to_string()).or_insert((0, t));
                    db.1 = db.1.max(t);
                } else {
                    out.insert(rel, (m.len(), t));
                }
            }
        }
    }
    out
}

/// The database's trees, every key of the named-value tree, and how many keys each tree
/// holds (other keys are random ids, different in any two vaults). Not the sizes of the
/// values: age adds random filler stanzas to its headers, so two sealings of the same
/// value differ in size anyway.
fn keys(dir: &Path) -> Vec<(String, usize, Vec<Vec<u8>>)> {
    let mut out: Vec<_> = with_sled(&dir.join("db"), |db| {
        db.tree_names()
            .into_iter()
            .map(|name| {
                let tree = db.open_tree(&name).unwrap();
                let keys: Vec<Vec<u8>> = tree.iter().keys().map(|k| k.unwrap().to_vec()).collect();
                let n = keys.len();
                let named = if &name[..] == b"meta" { keys } else { vec![] };
                (String::from_utf8_lossy(&name).into_owned(), n, named)
            })
            .collect()
    });
    out.sort();
    out
}

type Snapshot = std::collections::BTreeMap<String, (u64, std::time::SystemTime)>;

/// What an observer of two images of the folder sees: which files appeared, went, or
/// were rewritten, with their sizes now.
fn changed(before: &Snapshot, after: &Snapshot) -> Vec<(String, Option<u64>)> {
    let mut out = Vec::new();
    for (name, (size, mtime)) in after {
        if before.get(name).map(|(_, t)| t) != Some(mtime) {
            out.push((name.clone(), Some(*size)));
        }
    }
    for name in before.keys() {
        if !after.contains_key(name) {
            out.push((name.clone(), None));
        }
    }
    out
}

fn sizes(s: &Snapshot) -> Vec<(String, u64)> {
    s.iter().map(|(n, (size, _))| (n.clone(), *size)).collect()
}

/// Two vaults, one with a duress passphrase (wipe) and one without, through the same
/// operations: at every step the same files with the same sizes, the same database keys,
/// and the same files rewritten. Setting the duress passphrase leaves the footprint of
/// a passphrase change, and the vault without one did change its passphrase then.
#[test]
fn a_vault_with_a_duress_passphrase_looks_like_one_without() {
    let tmp = tempfile::tempdir().unwrap();
    let with = tmp.path().join("with");
    let without = tmp.path().join("without");
    const NEW: &str = "harbour juniper cobalt 5521 lantern moss";
    let step = |name: &str, a: &mut Snapshot, b: &mut Snapshot| {
        let (na, nb) = (files(&with), files(&without));
        assert_eq!(sizes(&na), sizes(&nb), "{name}: files and sizes differ");
        assert_eq!(
            changed(a, &na),
            changed(b, &nb),
            "{name}: different files were rewritten"
        );
        *a = na;
        *b = nb;
        // Coarse file systems keep one timestamp per 10 ms or so.
        std::thread::sleep(std::time::Duration::from_millis(30));
    };

    let mut va = Vault::create(&with, &s(PASS), OPTS).unwrap();
    let mut vb = Vault::create(&without, &s(PASS), OPTS).unwrap();
    va.add(case("Case one")).unwrap();
    vb.add(case("Case one")).unwrap();
    va.lock().unwrap();
    vb.lock().unwrap();
    let (mut a, mut b) = (files(&with), files(&without));
    assert_eq!(sizes(&a), sizes(&b), "created: files and sizes differ");
    assert_eq!(keys(&with), keys(&without), "created: database keys differ");
    std::thread::sleep(std::time::Duration::from_millis(30));

    // One sets a duress passphrase; the other changes its passphrase.
    let mut va = Vault::unlock(&with, &s(PASS), OPTS).unwrap();
    let mut vb = Vault::unlock(&without, &s(PASS), OPTS).unwrap();
    va.set_duress(&s(DURESS), DuressAction::Wipe).unwrap();
    vb.change_passphrase(&s(PASS), &s(NEW)).unwrap();
    step("duress set / passphrase changed", &mut a, &mut b);

    va.add(case("Case two")).unwrap();
    vb.add(case("Case two")).unwrap();
    step("a record added", &mut a, &mut b);
    va.lock().unwrap();
    vb.lock().unwrap();
    step("locked", &mut a, &mut b);
    assert_eq!(keys(&with), keys(&without), "database keys differ");

    // The same passphrase change on both (the duress file moves with the key file).
    let mut va = Vault::unlock(&with, &s(PASS), OPTS).unwrap();
    let mut vb = Vault::unlock(&without, &s(NEW), OPTS).unwrap();
    step("unlocked", &mut a, &mut b);
    va.change_passphrase(&s(PASS), &s(NEW)).unwrap();
    vb.change_passphrase(&s(NEW), &s(PASS)).unwrap();
    step("passphrase changed", &mut a, &mut b);
    assert_eq!(va.duress_action(), Some(DuressAction::Wipe));
    assert_eq!(vb.duress_action(), None);
    va.lock().unwrap();
    vb.lock().unwrap();
    step("locked again", &mut a, &mut b);
    assert_eq!(keys(&with), keys(&without), "database keys differ");

    // The duress passphrase still works after the passphrase change.
    assert!(matches!(
        Vault::unlock(&with, &s(DURESS), OPTS),
        Err(Error::WrongPassphrase)
    ));
    assert!(!with.exists(), "the duress passphrase wiped the vault");
    assert!(matches!(
        Vault::unlock(&without, &s(DURESS), OPTS),
        Err(Error::WrongPassphrase)
    ));
    assert!(without.exists());
}

/// A duress file of an earlier build (the action alone, sealed with the duress
/// passphrase) still works, and a vault that has one still opens and changes its
/// passphrase.
#[test]
fn a_duress_file_of_an_earlier_build_still_works() {
    use std::io::Write as _;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let mut v = Vault::create(&dir, &s(PASS), OPTS).unwrap();
    v.add(case("Real case")).unwrap();
    v.lock().unwrap();
    let mut recipient = age::scrypt::Recipient::new(s(DURESS));
    recipient.set_work_factor(10);
    let mut sealed = Vec::new();
    let mut w = age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
        .unwrap()
        .wrap_output(&mut sealed)
        .unwrap();
    w.write_all(br#"{"action":"wipe","pad":"------"}"#).unwrap();
    w.finish().unwrap();
    fs::write(dir.join("duress.age"), &sealed).unwrap();

    let mut v = Vault::unlock(&dir, &s(PASS), OPTS).unwrap();
    const NEW: &str = "harbour juniper cobalt 5521 lantern moss";
    v.change_passphrase(&s(PASS), &s(NEW)).unwrap();
    v.lock().unwrap();
    assert_eq!(
        fs::read(dir.join("duress.age")).unwrap(),
        sealed,
        "left as it was"
    );
    assert!(matches!(
        Vault::unlock(&dir, &s(DURESS), OPTS),
        Err(Error::WrongPassphrase)
    ));
    assert!(!dir.exists(), "the earlier duress file's wipe ran");

    // The database key an earlier build kept the action under goes at the next change.
    let mut v = Vault::create(&dir, &s(PASS), OPTS).unwrap();
    v.add(case("Real case")).unwrap();
    v.lock().unwrap();
    with_sled(&dir.join("db"), |db| {
        db.open_tree("meta")
            .unwrap()
            .insert("duress", &b"sealed action"[..])
            .unwrap();
    });
    let named = |dir: &Path| {
        keys(dir)
            .into_iter()
            .find(|(name, _, _)| name == "meta")
            .unwrap()
            .2
    };
    assert!(named(&dir).contains(&b"duress".to_vec()));
    let mut v = Vault::unlock(&dir, &s(PASS), OPTS).unwrap();
    v.clear_duress().unwrap();
    v.lock().unwrap();
    assert!(!named(&dir).contains(&b"duress".to_vec()));
}

/// The duress file has a fixed size: a duress passphrase too long for it is refused with
/// the reason, and nothing changes.
#[test]
fn a_duress_passphrase_too_long_for_the_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let mut v = Vault::create(&dir, &s(PASS), OPTS).unwrap();
    let before = fs::read(dir.join("duress.age")).unwrap();
    let long = format!("{DURESS} {}", "quartz ".repeat(120));
    let err = v.set_duress(&s(&long), DuressAction::Decoy).unwrap_err();
    assert!(err.to_string().contains("too long"), "{err}");
    assert_eq!(fs::read(dir.join("duress.age")).unwrap(), before);
    assert_eq!(v.duress_action(), None);
    assert!(!dir.join(DECOY).exists(), "no decoy made");
}
