//! Every value a vault stores is a standard age file, read by a second implementation:
//! the Go `age` binary from Debian's `age` package (scripts/test installs it), not only
//! the Rust crate the vault writes with. The identity file opens with the passphrase at
//! `age`'s own prompt (a terminal, given by util-linux's `script`); then every stored
//! version, every evidence file and every sealed chain-of-custody entry decrypts with
//! `age -d -i`, to the very bytes the Rust crate reads.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use custos_model::{Case, Record};
use custos_test_support::{find_tool, secret, FAST as OPTS, PASS};
use custos_vault::crypto::SHARES_DEPTH;
use custos_vault::store::Store;
use custos_vault::{Attach, Vault, BLOBS};

const HEADER: &[u8] = b"age-encryption.org/v1\n";

/// Runs the Go `age` with `args` on a terminal, typing `typed` at its prompt.
fn age_on_a_terminal(args: &[&Path], typed: &str) -> std::process::Output {
    let age = find_tool("age");
    let script = find_tool("script");
    let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', r"'\''"));
    let line = std::iter::once(quote(&age))
        .chain(args.iter().map(|a| quote(a)))
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Command::new(script)
        .args(["-qec", &line, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{typed}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Decrypts `file` with the Go `age` and the identity file `key`.
fn go_age_decrypt(key: &Path, file: &Path) -> Result<Vec<u8>, String> {
    let out = Command::new(find_tool("age"))
        .arg("-d")
        .arg("-i")
        .arg(key)
        .arg(file)
        .output()
        .expect("age runs");
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn every_stored_value_decrypts_with_the_go_age_binary() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let work = tmp.path().join("work");
    fs::create_dir_all(&work).unwrap();

    let mut vault = Vault::create(&dir, &secret(PASS), OPTS).unwrap();
    let case = vault
        .add(Record::Case(Case {
            title: "Arrest of a journalist — توقيف صحفي".into(),
            ..Case::default()
        }))
        .unwrap();
    let second = vault
        .add(Record::Case(Case {
            title: "Witness Ёлка 証人".into(),
            ..Case::default()
        }))
        .unwrap();
    vault
        .update(
            second,
            Record::Case(Case {
                title: "Witness, renamed".into(),
                ..Case::default()
            }),
        )
        .unwrap();
    // More saves than the queue of prepared X25519 shares holds (custos_vault::crypto::
    // Shares): some values are sealed with a share made ahead, the rest inline.
    for i in 0..(2 * SHARES_DEPTH + 10) {
        vault
            .add(Record::Case(Case {
                title: format!("Case {i}"),
                ..Case::default()
            }))
            .unwrap();
    }
    // A commit larger than that queue (an import): its versions share one file key,
    // each behind the same header with a payload key of its own. Larger than the
    // journal takes too (~1.8 MB): its ciphertexts lie in a value file, not in sled.
    vault
        .commit(
            (0..SHARES_DEPTH + 20)
                .map(|i| {
                    custos_vault::Change::Create(Record::Case(Case {
                        title: format!("Imported {i}"),
                        summary: "Statement taken at the border. ".repeat(700),
                        ..Case::default()
                    }))
                })
                .collect(),
        )
        .unwrap();
    let value_files = fs::read_dir(dir.join("db").join("values"))
        .map(|d| d.flatten().count())
        .unwrap_or(0);
    assert_eq!(value_files, 1, "the import's values lie in a value file");
    let content: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let evidence = vault
        .attach(
            &write(&work, "scan.bin", &content),
            Attach {
                case_id: case,
                ..Attach::default()
            },
        )
        .unwrap();
    vault.verify_evidence(evidence).unwrap();
    let blob = dir
        .join(BLOBS)
        .join(format!("{}.age", vault.evidence(evidence).unwrap().blob_id));
    vault.lock().unwrap();

    // The identity: the passphrase typed at the Go age's prompt.
    let identity = work.join("identity.txt");
    let wrong = age_on_a_terminal(
        &[
            Path::new("-d"),
            Path::new("-o"),
            &identity,
            &dir.join("identity.age"),
        ],
        "not the passphrase at all",
    );
    assert!(
        !wrong.status.success() && !identity.exists(),
        "a wrong passphrase opens nothing"
    );
    let opened = age_on_a_terminal(
        &[
            Path::new("-d"),
            Path::new("-o"),
            &identity,
            &dir.join("identity.age"),
        ],
        PASS,
    );
    assert!(
        opened.status.success(),
        "{}",
        String::from_utf8_lossy(&opened.stdout)
    );
    let key_text = fs::read_to_string(&identity).unwrap();
    let key_line = key_text
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .expect("an age X25519 identity");
    let rust_identity: age::x25519::Identity = key_line.parse().unwrap();

    let store = Store::open(&dir.join("db"), 0).unwrap();
    let mut checked = 0;
    let mut texts = Vec::new();
    let mut check = |name: String, ct: Vec<u8>| {
        assert!(ct.starts_with(HEADER), "{name} is an age file");
        let file = write(&work, "value.age", &ct);
        let go = go_age_decrypt(&identity, &file).unwrap_or_else(|e| panic!("{name}: {e}"));
        let rust = age::decrypt(&rust_identity, &ct).unwrap();
        assert_eq!(go, rust, "{name}: both implementations read the same bytes");
        checked += 1;
        go
    };
    let versions: Vec<_> = store.versions().map(Result::unwrap).collect();
    // A case, a second case twice, the many cases, the import, an evidence item's record.
    assert!(
        versions.len() >= 4 + 3 * SHARES_DEPTH + 20,
        "{} versions",
        versions.len()
    );
    // Each saved on its own has an ephemeral X25519 key of its own; the import's
    // versions share one, which no other value uses.
    let mut shares = std::collections::HashSet::new();
    let mut imported = std::collections::HashSet::new();
    for (id, ct) in versions {
        let header = String::from_utf8_lossy(&ct[..ct.len().min(400)]).into_owned();
        let share = header
            .lines()
            .find_map(|l| l.strip_prefix("-> X25519 "))
            .expect("an X25519 stanza")
            .to_owned();
        let text = String::from_utf8(check(format!("version {id}"), ct)).unwrap();
        if text.contains("\"Imported ") {
            imported.insert(share);
        } else {
            assert!(shares.insert(share), "an ephemeral share used twice");
        }
        texts.push(text);
    }
    assert_eq!(
        imported.len(),
        1,
        "the import's versions share one file key"
    );
    assert!(shares.is_disjoint(&imported));
    // The head of this device's chain of versions, sealed with every save.
    check(
        "the chain head".into(),
        store.meta("chain").unwrap().expect("a chain head"),
    );
    let custody = store.custody(evidence).unwrap();
    // Imported, then verified.
    assert!(custody.len() >= 2, "{} custody entries", custody.len());
    for (seq, ct) in custody {
        check(format!("custody entry {seq}"), ct);
    }
    assert_eq!(
        check("the evidence file".into(), fs::read(&blob).unwrap()),
        content
    );
    assert!(checked >= 8 + 3 * SHARES_DEPTH + 20, "{checked} values");
    for name in [
        "Arrest of a journalist — توقيف صحفي",
        "Witness Ёлка 証人",
        "Witness, renamed",
        "Imported 0",
        &format!("Imported {}", SHARES_DEPTH + 19),
    ] {
        assert!(
            texts.iter().any(|t| t.contains(name)),
            "no version holds {name}"
        );
    }

    // A damaged value is refused by the Go age as well, not read wrongly.
    let (_, mut ct) = store.versions().next().unwrap().unwrap();
    let last = ct.len() - 1;
    ct[last] ^= 1;
    assert!(go_age_decrypt(&identity, &write(&work, "flipped.age", &ct)).is_err());
    ct.truncate(ct.len() - 40);
    assert!(go_age_decrypt(&identity, &write(&work, "cut.age", &ct)).is_err());
}
