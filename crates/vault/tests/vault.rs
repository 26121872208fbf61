//! Proofs about the vault core: round trip, history, tamper and swap detection, the
//! canary scan, standard age, and the failure paths of opening a vault.

use custos_test_support::{secret as pass, FAST as OPTS, PASS};
use std::fs;
use std::path::{Path, PathBuf};

use custos_model::*;
use custos_vault::error::Damage;
use custos_vault::store::{Store, Write};
use custos_vault::{Change, Error, Filter, Options, Vault};
use uuid::Uuid;

fn new_vault() -> (tempfile::TempDir, PathBuf, Vault) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let vault = Vault::create(&dir, &pass(PASS), OPTS).unwrap();
    (tmp, dir, vault)
}

fn case(title: &str) -> Record {
    Record::Case(Case {
        title: title.into(),
        summary: format!("summary of {title}"),
        tags: vec!["detention".into()],
        ..Case::default()
    })
}

fn title_of(v: &custos_vault::RecordView) -> String {
    v.record.as_ref().unwrap().title().to_owned()
}

#[test]
fn round_trip_of_every_kind_survives_lock_and_unlock() {
    let (_t, dir, mut vault) = new_vault();
    let case_id = vault.add(case("Arrest of a union leader")).unwrap();
    let victim = Person {
        case_id,
        name: "نور الهدى".into(),
        other_names: vec!["Nour".into()],
        roles: vec![Role::Victim],
        is_group: false,
        group_size: None,
        sex: "f".into(),
        birth_date: None,
        occupation: "journalist".into(),
        organisation: "Union".into(),
        human_rights_work: "labour rights".into(),
        residence: "Sfax".into(),
        citizenship: "TN".into(),
        consent: Consents {
            share_with_government: Consent::Refused,
            publish: Consent::Given,
            ..Consents::default()
        },
        contact: "via lawyer".into(),
    };
    let written = vault
        .commit(vec![Change::Create(Record::Person(victim.clone()))])
        .unwrap();
    let person_id = written[0].record_id;
    let incident = Incident {
        case_id,
        title: "Night arrest".into(),
        description: "Taken from home at 2 am".into(),
        start: Some(FuzzyDate {
            date: "2024-05-01".parse().unwrap(),
            precision: Precision::Day,
        }),
        end: None,
        location: Some(Location {
            place: "Sfax".into(),
            country: "TN".into(),
            lat: Some(34.74),
            lon: Some(10.76),
            ..Location::default()
        }),
        act_types: vec!["arbitrary_arrest".into()],
        persons: vec![Involvement {
            person_id,
            role: Role::Victim,
        }],
        related: vec![],
        impact: String::new(),
    };
    let incident_id = vault.add(Record::Incident(incident.clone())).unwrap();
    let intervention = Intervention {
        case_id,
        title: "Urgent appeal".into(),
        mechanism: "un_sr_hrd".into(),
        kind: InterventionType::UrgentAppeal,
        date: Some("2024-05-03".parse().unwrap()),
        status: InterventionStatus::Sent,
        reference: "UA TUN 1/2024".into(),
        response: String::new(),
        incident_ids: vec![incident_id],
        person_ids: vec![person_id],
        channel: String::new(),
        follow_up: None,
        language: String::new(),
        form: vec![],
    };
    let intervention_id = vault
        .add(Record::Intervention(intervention.clone()))
        .unwrap();
    let note = Note {
        case_id,
        text: "Lawyer denied access".into(),
        about: vec![incident_id],
    };
    let note_id = vault.add(Record::Note(note.clone())).unwrap();
    vault.lock().unwrap();

    let vault = Vault::unlock(&dir, &pass(PASS), OPTS).unwrap();
    assert_eq!(
        vault.get(case_id).unwrap().record,
        Some(case("Arrest of a union leader"))
    );
    assert_eq!(
        vault.get(person_id).unwrap().record,
        Some(Record::Person(victim))
    );
    assert_eq!(
        vault.get(incident_id).unwrap().record,
        Some(Record::Incident(incident))
    );
    assert_eq!(
        vault.get(intervention_id).unwrap().record,
        Some(Record::Intervention(intervention))
    );
    assert_eq!(vault.get(note_id).unwrap().record, Some(Record::Note(note)));
    let of_case = vault.list(&Filter {
        case_id: Some(case_id),
        ..Filter::default()
    });
    assert_eq!(of_case.len(), 5);
    assert!(vault.damaged().is_empty());
}

#[test]
fn one_action_is_one_batch_and_a_refused_change_writes_nothing() {
    let (_t, _dir, mut vault) = new_vault();
    let before = vault.version_count();
    // The second change links to a case that does not exist: the whole action is refused.
    let err = vault
        .commit(vec![
            Change::Create(case("fine")),
            Change::Create(Record::Note(Note {
                case_id: Uuid::new_v4(),
                text: "orphan".into(),
                about: vec![],
            })),
        ])
        .unwrap_err();
    assert_eq!(err.kind(), "invalid");
    assert_eq!(vault.version_count(), before);
    assert!(vault.list(&Filter::default()).is_empty());

    // Records created earlier in the same action can be linked to — but only by id,
    // which the caller does not know yet; a case and its note need two actions, or the
    // note links to an existing case.
    let case_id = vault.add(case("the case")).unwrap();
    let w = vault
        .commit(vec![
            Change::Create(Record::Note(Note {
                case_id,
                text: "a".into(),
                about: vec![],
            })),
            Change::Update {
                record_id: case_id,
                record: case("the case, renamed"),
            },
        ])
        .unwrap();
    assert_eq!(w.len(), 2);
    assert_eq!(title_of(&vault.get(case_id).unwrap()), "the case, renamed");
}

#[test]
fn history_is_immutable_and_delete_is_a_tombstone() {
    let (_t, dir, mut vault) = new_vault();
    let id = vault.add(case("v1")).unwrap();
    let v2 = vault.update(id, case("v2")).unwrap();
    let v3 = vault.delete(id).unwrap();
    assert!(vault.list(&Filter::default()).is_empty());
    let all = vault.list(&Filter {
        include_deleted: true,
        ..Filter::default()
    });
    assert_eq!(all.len(), 1);
    assert!(all[0].deleted);
    assert!(matches!(vault.delete(id), Err(Error::Invalid(_))));
    vault.lock().unwrap();

    let mut vault = Vault::unlock(&dir, &pass(PASS), OPTS).unwrap();
    let history: Vec<_> = vault
        .history(id)
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(history.len(), 3);
    assert_eq!(title_of(&history[0]), "v1");
    assert_eq!(title_of(&history[1]), "v2");
    assert!(history[2].record.is_none());
    assert_eq!(history[1].version_id, v2);
    assert_eq!(history[1].parents, vec![history[0].version_id]);
    assert_eq!(history[2].parents, vec![v2]);
    assert_eq!(history[2].version_id, v3);
    assert!(history[0].hlc < history[1].hlc && history[1].hlc < history[2].hlc);

    // Restoring writes a fourth version; nothing earlier changes.
    vault.update(id, case("restored")).unwrap();
    assert_eq!(title_of(&vault.get(id).unwrap()), "restored");
    assert_eq!(vault.history(id).unwrap().len(), 4);
    assert_eq!(title_of(&vault.get_version(id, v2).unwrap()), "v2");
}

#[test]
fn a_record_cannot_change_kind_or_link_to_the_wrong_kind() {
    let (_t, _dir, mut vault) = new_vault();
    let case_id = vault.add(case("c")).unwrap();
    let note_id = vault
        .add(Record::Note(Note {
            case_id,
            text: "n".into(),
            about: vec![],
        }))
        .unwrap();
    let err = vault.update(note_id, case("now a case")).unwrap_err();
    assert!(err.to_string().contains("is a note, not a case"), "{err}");
    let err = vault
        .add(Record::Note(Note {
            case_id: note_id,
            text: "n".into(),
            about: vec![],
        }))
        .unwrap_err();
    assert!(err.to_string().contains("case_id"), "{err}");
    let err = vault
        .add(Record::Intervention(Intervention {
            case_id,
            title: "x".into(),
            mechanism: "no_such_body".into(),
            kind: InterventionType::Other,
            date: None,
            status: InterventionStatus::Draft,
            reference: String::new(),
            response: String::new(),
            incident_ids: vec![],
            person_ids: vec![],
            channel: String::new(),
            follow_up: None,
            language: String::new(),
            form: vec![],
        }))
        .unwrap_err();
    assert!(err.to_string().contains("unknown mechanism"), "{err}");
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn utf16(s: &str, big_endian: bool) -> Vec<u8> {
    s.encode_utf16()
        .flat_map(|u| {
            if big_endian {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            }
        })
        .collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn canary_scan_no_plaintext_anywhere_under_the_vault() {
    let (_t, dir, mut vault) = new_vault();
    let marker = format!("CANARY-{}-شاهد", Uuid::new_v4().simple());
    let case_id = vault.add(case(&format!("{marker} title"))).unwrap();
    vault
        .add(Record::Person(Person {
            case_id,
            name: marker.clone(),
            other_names: vec![],
            roles: vec![Role::Witness],
            is_group: false,
            group_size: None,
            sex: String::new(),
            birth_date: None,
            occupation: String::new(),
            organisation: String::new(),
            human_rights_work: String::new(),
            residence: String::new(),
            citizenship: String::new(),
            consent: Consents::default(),
            contact: marker.clone(),
        }))
        .unwrap();
    vault
        .update(case_id, case(&format!("{marker} renamed")))
        .unwrap();
    // Many more versions so sled writes several segments, the snapshot and key cache.
    for i in 0..300 {
        vault
            .add(Record::Note(Note {
                case_id,
                text: format!("{marker} note {i}"),
                about: vec![],
            }))
            .unwrap();
    }
    vault.lock().unwrap();

    let needles = [
        marker.as_bytes().to_vec(),
        utf16(&marker, false),
        utf16(&marker, true),
        // The ASCII part alone, in case a serializer escaped the Arabic.
        marker
            .split('-')
            .take(2)
            .collect::<Vec<_>>()
            .join("-")
            .into_bytes(),
    ];
    let all = files(&dir);
    assert!(all.len() >= 4, "expected the vault's files, found {all:?}");
    for f in &all {
        let bytes = fs::read(f).unwrap();
        for n in &needles {
            assert!(
                !contains(&bytes, n),
                "plaintext marker found in {}",
                f.display()
            );
        }
    }
    // The scan itself can find the marker: the same records exported show it.
    let vault = Vault::unlock(&dir, &pass(PASS), OPTS).unwrap();
    let mut out = Vec::new();
    custos_report::json::export_json(&vault, None, &mut out).unwrap();
    assert!(contains(&out, needles[0].as_slice()));
}

#[test]
fn a_stored_version_decrypts_with_the_plain_age_api() {
    let (_t, dir, mut vault) = new_vault();
    let id = vault.add(case("readable without custos")).unwrap();
    let version = vault.get(id).unwrap().version_id;
    vault.lock().unwrap();

    // The identity file opens with age's passphrase API alone.
    let wrapped = fs::read(dir.join("identity.age")).unwrap();
    let scrypt = age::scrypt::Identity::new(pass(PASS));
    let identity_text = age::decrypt(&scrypt, &wrapped).unwrap();
    let identity_text = String::from_utf8(identity_text).unwrap();
    let key_line = identity_text
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap();
    let identity: age::x25519::Identity = key_line.parse().unwrap();

    // The stored ciphertext (read through the store, so the test needs no sled) opens
    // with age::decrypt and holds JSON with the record.
    let store = Store::open(&dir.join("db"), 0).unwrap();
    let ct = store.version(version).unwrap().unwrap();
    let plain = age::decrypt(&identity, &ct).unwrap();
    let envelope: serde_json::Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(envelope["body"]["record_id"], id.to_string());
    assert_eq!(envelope["body"]["version_id"], version.to_string());
    assert_eq!(
        envelope["body"]["body"]["record"]["title"],
        "readable without custos"
    );
    assert!(envelope["sig"].is_string() && envelope["signer"].is_string());
}

/// Rewrites one stored version's ciphertext directly in the database.
fn poke(dir: &Path, version: Uuid, f: impl FnOnce(Vec<u8>) -> Vec<u8>) {
    let store = Store::open(&dir.join("db"), 0).unwrap();
    let ct = store.version(version).unwrap().unwrap();
    store.commit(vec![Write::Version(version, f(ct))]).unwrap();
}

#[test]
fn a_bit_flip_or_truncation_damages_only_that_record_and_names_it() {
    let (_t, dir, mut vault) = new_vault();
    let ids: Vec<Uuid> = (0..5)
        .map(|i| vault.add(case(&format!("c{i}"))).unwrap())
        .collect();
    let flipped = vault.get(ids[1]).unwrap().version_id;
    let cut = vault.get(ids[3]).unwrap().version_id;
    vault.lock().unwrap();

    poke(&dir, flipped, |mut ct| {
        let n = ct.len();
        ct[n - 40] ^= 0x01;
        ct
    });
    poke(&dir, cut, |ct| ct[..ct.len() / 2].to_vec());

    let vault = Vault::unlock(&dir, &pass(PASS), OPTS).unwrap();
    for (i, id) in ids.iter().enumerate() {
        let r = vault.get(*id);
        if i == 1 || i == 3 {
            let e = r.unwrap_err();
            match &e {
                Error::Damaged { record, reason, .. } => {
                    assert_eq!(*record, Some(*id));
                    assert_eq!(*reason, Damage::Decrypt);
                }
                other => panic!("expected damage, got {other}"),
            }
            assert!(e.to_string().contains(&id.to_string()));
        } else {
            assert_eq!(title_of(&r.unwrap()), format!("c{i}"));
        }
    }
    // The list still shows all five (from the encrypted index), and history reports the
    // damaged version as an error without hiding the others.
    assert_eq!(vault.list(&Filter::default()).len(), 5);
    let h = vault.history(ids[1]).unwrap();
    assert_eq!(h.len(), 1);
    assert!(h[0].is_err());
}

/// A large commit: `n` cases of ~16 KB each (more than the journal takes).
fn bulk(vault: &mut Vault, n: usize) -> Vec<Uuid> {
    let changes = (0..n)
        .map(|i| {
            Change::Create(Record::Case(Case {
                title: format!("Bulk {i}"),
                summary: format!("Testimony {i}. ").repeat(1200),
                ..Case::default()
            }))
        })
        .collect();
    let written = vault.commit(changes).unwrap();
    written.iter().map(|w| w.record_id).collect()
}

fn value_files(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir.join("db").join("values"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// Every file of sled's database, read whole (the journal and the value files aside).
fn sled_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    let mut stack = vec![dir.join("db")];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                if e.file_name() != "values" {
                    stack.push(p);
                }
            } else if e.file_name() != "journal" {
                out.extend(fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// A large commit's ciphertexts lie in a value file beside sled's files, sled holding
/// where each one is: they read back after a lock, and sled's own files do not hold
/// them (what made a bulk write cost ~2.8 bytes written per byte stored).
#[test]
fn a_large_commit_lies_in_a_value_file_and_reads_back() {
    let (_t, dir, mut vault) = new_vault();
    let alone = vault.add(case("saved alone")).unwrap();
    let ids = bulk(&mut vault, 100);
    let versions: Vec<Uuid> = ids
        .iter()
        .map(|id| vault.get(*id).unwrap().version_id)
        .collect();
    vault.lock().unwrap();

    let files = value_files(&dir);
    assert_eq!(files.len(), 1, "{files:?}");
    let stored = fs::read(&files[0]).unwrap();
    {
        let store = Store::open(&dir.join("db"), 0).unwrap();
        let sled = sled_bytes(&dir);
        for v in &versions {
            let ct = store.version(*v).unwrap().expect("stored");
            assert!(ct.starts_with(b"age-encryption.org/v1\n"));
            let tail = &ct[ct.len() - 64..];
            assert!(
                stored.windows(64).any(|w| w == tail),
                "the ciphertext is in the value file"
            );
            assert!(
                !sled.windows(64).any(|w| w == tail),
                "the ciphertext is not in sled's files"
            );
        }
    }

    let vault = Vault::unlock(&dir, &pass(PASS), OPTS).unwrap();
    assert!(vault.damaged().is_empty(), "{:?}", vault.damaged());
    for (i, id) in ids.iter().enumerate() {
        let r = vault.get(*id).unwrap();
        assert_eq!(title_of(&r), format!("Bulk {i}"));
        match &r.record {
            Some(Record::Case(c)) => assert!(c.summary.starts_with(&format!("Testimony {i}."))),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(title_of(&vault.get(alone).unwrap()), "saved alone");
    let all: Vec<Uuid> = ids.iter().rev().copied().collect();
    for (view, id) in vault.get_many(&all).into_iter().zip(&all) {
        assert_eq!(view.unwrap().record_id, *id);
    }
}

/// A value file cut short or gone (a damaged disk, a file removed by hand): exactly the
/// versions it held are reported as damaged, by record, and the vault still opens and
/// reads everything else. A pointer is never trusted for more than the file holds.
#[test]
fn a_damaged_or_missing_value_file_damages_only_its_versions() {
    let (_t, dir, mut vault) = new_vault();
    let alone = vault.add(case("saved alone")).unwrap();
    let ids = bulk(&mut vault, 80);
    vault.lock().unwrap();
    let file = value_files(&dir).pop().expect("a value file");
    let len = fs::metadata(&file).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .unwrap()
        .set_len(len / 2)
        .unwrap();

    let vault = Vault::unlock(&dir, &pass(PASS), OPTS).unwrap();
    let (mut good, mut damaged) = (0, 0);
    for id in &ids {
        match vault.get(*id) {
            Ok(_) => good += 1,
            Err(Error::Damaged { record, .. }) => {
                assert_eq!(record, Some(*id));
                damaged += 1;
            }
            Err(e) => panic!("expected damage, got {e}"),
        }
    }
    assert!(
        good >= 30 && damaged >= 30,
        "{good} read, {damaged} damaged"
    );
    assert_eq!(title_of(&vault.get(alone).unwrap()), "saved alone");
    assert_eq!(vault.list(&Filter::default()).len(), 81);
    vault.lock().unwrap();

    fs::remove_file(&file).unwrap();
    let vault = Vault::unlock(&dir, &pass(PASS), OPTS).unwrap();
    for id in &ids {
        assert!(
            matches!(vault.get(*id), Err(Error::Damaged { record, .. }) if record == Some(*id))
        );
    }
    assert_eq!(title_of(&vault.get(alone).unwrap()), "saved alone");
}

/// A rewrite of the database (what travel mode's forgetting runs) takes the values of
/// the value files into the fresh database and removes the files with the old one.
#[test]
fn a_rewrite_takes_the_values_back_and_removes_the_value_files() {
    let (_t, dir, mut vault) = new_vault();
    let ids = bulk(&mut vault, 70);
    vault.lock().unwrap();
    assert_eq!(value_files(&dir).len(), 1);
    {
        let mut store = Store::open(&dir.join("db"), 0).unwrap();
        store.rewrite().unwrap();
        assert!(value_files(&dir).is_empty());
        assert!(store.size_on_disk().unwrap() > 70 * 16_000);
    }
    let vault = Vault::unlock(&dir, &pass(PASS), OPTS).unwrap();
    assert!(vault.damaged().is_empty(), "{:?}", vault.damaged());
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(title_of(&vault.get(*id).unwrap()), format!("Bulk {i}"));
    }
}

/// A crash during a large commit, on either side of sled's checkpoint: a value file
/// still under its first name (`.part`) that sled points into is kept and renamed at
/// the next open; one that sled does not point into (its commit was never acknowledged)
/// is removed.
#[test]
fn a_value_file_cut_off_by_a_crash_is_kept_if_named_and_removed_if_not() {
    let (_t, dir, mut vault) = new_vault();
    let ids = bulk(&mut vault, 65);
    vault.lock().unwrap();
    let done = value_files(&dir).pop().unwrap();
    assert_eq!(done.extension().unwrap(), "vals");
    let named = done.with_extension("part");
    fs::rename(&done, &named).unwrap();
    let orphan = done.with_file_name("00000000000000ff.part");
    fs::copy(&named, &orphan).unwrap();

    let vault = Vault::unlock(&dir, &pass(PASS), OPTS).unwrap();
    let mut files = value_files(&dir);
    files.sort();
    assert_eq!(
        files,
        vec![done],
        "kept under its final name, the orphan gone"
    );
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(title_of(&vault.get(*id).unwrap()), format!("Bulk {i}"));
    }
}

#[test]
fn damage_before_the_index_snapshot_is_reported_by_version() {
    let (_t, dir, mut vault) = new_vault();
    let good = vault.add(case("good")).unwrap();
    let bad = vault.add(case("bad")).unwrap();
    let bad_version = vault.get(bad).unwrap().version_id;
    vault.lock().unwrap();
    // Remove the snapshot and key cache: unlock must decrypt every version itself.
    {
        let store = Store::open(&dir.join("db"), 0).unwrap();
        store
            .commit(vec![
                Write::Meta("index", b"garbage".to_vec()),
                Write::Meta("keycache", b"garbage".to_vec()),
            ])
            .unwrap();
    }
    poke(&dir, bad_version, |mut ct| {
        ct[60] ^= 0x80;
        ct
    });
    let vault = Vault::unlock(&dir, &pass(PASS), OPTS).unwrap();
    assert_eq!(title_of(&vault.get(good).unwrap()), "good");
    let damaged = vault.damaged();
    assert_eq!(damaged.len(), 1);
    assert!(damaged[0].to_string().contains(&bad_version.to_string()));
    assert_eq!(vault.list(&Filter::default()).len(), 1);
}

/// Where the payload of an age file starts (after the header's MAC line).
fn payload_at(ct: &[u8]) -> usize {
    let mac = ct.windows(5).position(|w| w == b"\n--- ").unwrap() + 1;
    mac + ct[mac..].iter().position(|b| *b == b'\n').unwrap() + 1
}

#[test]
fn versions_that_share_a_file_key_are_each_checked_on_their_own() {
    use custos_vault::crypto::SHARES_DEPTH;
    let (_t, dir, mut vault) = new_vault();
    // An import: its versions share one age header (one file key).
    let written = vault
        .commit(
            (0..SHARES_DEPTH + 6)
                .map(|i| Change::Create(case(&format!("imported {i}"))))
                .collect(),
        )
        .unwrap();
    let lone = vault.add(case("saved alone")).unwrap();
    let lone_v = vault.get(lone).unwrap().version_id;
    vault.lock().unwrap();

    let v = |i: usize| written[i].version_id;
    let store = Store::open(&dir.join("db"), 0).unwrap();
    let ct = |id: Uuid| store.version(id).unwrap().unwrap();
    let (c0, c2, c3, c4, lone_ct) = (ct(v(0)), ct(v(2)), ct(v(3)), ct(v(4)), ct(lone_v));
    assert_eq!(c0[..payload_at(&c0)], c2[..payload_at(&c2)], "one header");
    let mut spliced = lone_ct[..payload_at(&lone_ct)].to_vec();
    spliced.extend_from_slice(&c2[payload_at(&c2)..]);
    let mut flipped = c3.clone();
    let n = flipped.len();
    flipped[n - 40] ^= 1;
    let mut nonce = c4.clone();
    nonce[payload_at(&c4)] ^= 1;
    store
        .commit(vec![
            // A sibling's whole ciphertext (same header, same key) under another id.
            Write::Version(v(1), c0),
            // A payload behind the header of another file key (a valid header).
            Write::Version(v(2), spliced),
            // A flipped payload byte, a flipped nonce byte.
            Write::Version(v(3), flipped),
            Write::Version(v(4), nonce),
        ])
        .unwrap();
    drop(store);

    let vault = Vault::unlock(&dir, &pass(PASS), OPTS).unwrap();
    let reason = |i: usize| match vault.get(written[i].record_id) {
        Err(Error::Damaged { record, reason, .. }) => {
            assert_eq!(record, Some(written[i].record_id));
            reason
        }
        other => panic!("version {i}: expected damage, got {other:?}"),
    };
    assert_eq!(reason(1), Damage::Moved);
    for i in 2..=4 {
        assert_eq!(reason(i), Damage::Decrypt, "version {i}");
    }
    // Every other version of the import, and the lone save, still read.
    for (i, w) in written
        .iter()
        .enumerate()
        .filter(|(i, _)| !(1..=4).contains(i))
    {
        assert_eq!(
            title_of(&vault.get(w.record_id).unwrap()),
            format!("imported {i}")
        );
    }
    assert_eq!(title_of(&vault.get(lone).unwrap()), "saved alone");
}

#[test]
fn a_ciphertext_moved_to_another_key_is_rejected() {
    let (_t, dir, mut vault) = new_vault();
    let a = vault.add(case("a")).unwrap();
    let b = vault.add(case("b")).unwrap();
    let va = vault.get(a).unwrap().version_id;
    let vb = vault.get(b).unwrap().version_id;
    vault.lock().unwrap();

    // Put a's ciphertext under b's version id.
    let store = Store::open(&dir.join("db"), 0).unwrap();
    let ct_a = store.version(va).unwrap().unwrap();
    store.commit(vec![Write::Version(vb, ct_a)]).unwrap();
    drop(store);

    let vault = Vault::unlock(&dir, &pass(PASS), OPTS).unwrap();
    assert_eq!(title_of(&vault.get(a).unwrap()), "a");
    match vault.get(b).unwrap_err() {
        Error::Damaged { record, reason, .. } => {
            assert_eq!(record, Some(b));
            assert_eq!(reason, Damage::Moved);
        }
        other => panic!("expected a moved ciphertext, got {other}"),
    }
}

#[test]
fn a_version_from_another_vault_is_rejected() {
    let (_t, dir, mut vault) = new_vault();
    let mine = vault.add(case("mine")).unwrap();
    let my_version = vault.get(mine).unwrap().version_id;
    vault.lock().unwrap();
    let (_t2, dir2, mut other) = new_vault();
    let theirs = other.add(case("theirs")).unwrap();
    let their_version = other.get(theirs).unwrap().version_id;
    other.lock().unwrap();

    let ct = Store::open(&dir2.join("db"), 0)
        .unwrap()
        .version(their_version)
        .unwrap()
        .unwrap();
    poke(&dir, my_version, |_| ct);
    let vault = Vault::unlock(&dir, &pass(PASS), OPTS).unwrap();
    assert!(matches!(
        vault.get(mine),
        Err(Error::Damaged {
            reason: Damage::Decrypt,
            ..
        })
    ));
}

#[test]
fn wrong_passphrase_is_a_clear_error_and_changes_nothing() {
    let (_t, dir, vault) = new_vault();
    vault.lock().unwrap();
    let before = fs::read(dir.join("identity.age")).unwrap();
    let err = Vault::unlock(&dir, &pass("not the passphrase at all"), OPTS).unwrap_err();
    assert!(matches!(err, Error::WrongPassphrase));
    assert_eq!(err.to_string(), "wrong passphrase");
    assert_eq!(fs::read(dir.join("identity.age")).unwrap(), before);
    Vault::unlock(&dir, &pass(PASS), OPTS).unwrap();
}

#[test]
fn a_corrupted_or_missing_identity_file_is_named_as_such() {
    let (_t, dir, vault) = new_vault();
    vault.lock().unwrap();
    let path = dir.join("identity.age");
    let good = fs::read(&path).unwrap();

    let mut bad = good.clone();
    let n = bad.len();
    bad[n - 10] ^= 0x04;
    fs::write(&path, &bad).unwrap();
    let err = Vault::unlock(&dir, &pass(PASS), OPTS).unwrap_err();
    assert!(matches!(err, Error::IdentityDamaged), "{err}");

    fs::write(&path, &good[..good.len() / 3]).unwrap();
    assert!(matches!(
        Vault::unlock(&dir, &pass(PASS), OPTS),
        Err(Error::IdentityDamaged)
    ));

    fs::remove_file(&path).unwrap();
    assert!(matches!(
        Vault::unlock(&dir, &pass(PASS), OPTS),
        Err(Error::IdentityDamaged)
    ));

    fs::write(&path, &good).unwrap();
    Vault::unlock(&dir, &pass(PASS), OPTS).unwrap();
}

#[test]
fn a_vault_open_elsewhere_is_refused_until_it_is_closed() {
    let (_t, dir, vault) = new_vault();
    let err = Vault::unlock(&dir, &pass(PASS), OPTS).unwrap_err();
    assert!(matches!(err, Error::VaultBusy), "{err}");
    vault.lock().unwrap();
    Vault::unlock(&dir, &pass(PASS), OPTS).unwrap();
}

#[test]
fn creation_refuses_weak_passphrases_and_existing_vaults() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    let err = Vault::create(&dir, &pass("password123"), OPTS).unwrap_err();
    assert!(matches!(err, Error::WeakPassphrase(_)));
    assert!(!dir.join("vault.json").exists());

    Vault::create(&dir, &pass(PASS), OPTS)
        .unwrap()
        .lock()
        .unwrap();
    assert!(matches!(
        Vault::create(&dir, &pass(PASS), OPTS),
        Err(Error::VaultExists(_))
    ));
    let nothing = tmp.path().join("nothing");
    assert!(matches!(
        Vault::unlock(&nothing, &pass(PASS), OPTS),
        Err(Error::NoVault(_))
    ));
    let full = tmp.path().join("full");
    fs::create_dir(&full).unwrap();
    fs::write(full.join("photo.jpg"), b"x").unwrap();
    assert!(matches!(
        Vault::create(&full, &pass(PASS), OPTS),
        Err(Error::Invalid(_))
    ));
}

#[test]
fn a_failed_creation_leaves_the_folder_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    // A reserve no disk can satisfy: the first database write is refused as disk full.
    let impossible = Options {
        disk_reserve: u64::MAX / 4,
        ..OPTS
    };
    let err = Vault::create(&dir, &pass(PASS), impossible).unwrap_err();
    assert!(matches!(err, Error::DiskFull), "{err}");
    assert!(!dir.exists(), "a half-created vault was left behind");

    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    assert!(Vault::create(&empty, &pass(PASS), impossible).is_err());
    assert!(empty.exists() && fs::read_dir(&empty).unwrap().next().is_none());
    // The retry works once the disk has room.
    Vault::create(&empty, &pass(PASS), OPTS)
        .unwrap()
        .lock()
        .unwrap();
    Vault::unlock(&empty, &pass(PASS), OPTS).unwrap();
}

#[test]
fn change_passphrase_rewraps_the_identity_only() {
    let (_t, dir, mut vault) = new_vault();
    let id = vault.add(case("kept")).unwrap();
    let version = vault.get(id).unwrap().version_id;
    let new = "copper meadow thunder 4412 kettle fjord";
    assert!(matches!(
        vault.change_passphrase(&pass("wrong old passphrase"), &pass(new)),
        Err(Error::WrongPassphrase)
    ));
    assert!(matches!(
        vault.change_passphrase(&pass(PASS), &pass("password")),
        Err(Error::WeakPassphrase(_))
    ));
    vault.lock().unwrap();
    let before = Store::open(&dir.join("db"), 0)
        .unwrap()
        .version(version)
        .unwrap()
        .unwrap();

    let mut vault = Vault::unlock(&dir, &pass(PASS), OPTS).unwrap();
    vault.change_passphrase(&pass(PASS), &pass(new)).unwrap();
    vault.lock().unwrap();
    assert!(matches!(
        Vault::unlock(&dir, &pass(PASS), OPTS),
        Err(Error::WrongPassphrase)
    ));
    let vault = Vault::unlock(&dir, &pass(new), OPTS).unwrap();
    assert_eq!(title_of(&vault.get(id).unwrap()), "kept");
    vault.lock().unwrap();
    let after = Store::open(&dir.join("db"), 0)
        .unwrap()
        .version(version)
        .unwrap()
        .unwrap();
    assert_eq!(before, after, "a record was re-encrypted");
    assert!(!dir.join("identity.age.new").exists());
}

#[test]
fn an_interrupted_passphrase_change_is_finished_or_undone() {
    let (_t, dir, vault) = new_vault();
    vault.lock().unwrap();
    // Interrupted before the manifest named the new file: the stray file is removed and
    // the old passphrase still works.
    fs::write(dir.join("identity.age.new"), b"half-written").unwrap();
    Vault::unlock(&dir, &pass(PASS), OPTS)
        .unwrap()
        .lock()
        .unwrap();
    assert!(!dir.join("identity.age.new").exists());

    // Interrupted after the manifest named it: the change is completed.
    let new = "copper meadow thunder 4412 kettle fjord";
    let mut vault = Vault::unlock(&dir, &pass(PASS), OPTS).unwrap();
    vault.change_passphrase(&pass(PASS), &pass(new)).unwrap();
    vault.lock().unwrap();
    let committed = fs::read(dir.join("identity.age")).unwrap();
    fs::rename(dir.join("identity.age"), dir.join("identity.age.new")).unwrap();
    fs::write(dir.join("identity.age"), b"old file, partly overwritten").unwrap();
    Vault::unlock(&dir, &pass(new), OPTS)
        .unwrap()
        .lock()
        .unwrap();
    assert_eq!(fs::read(dir.join("identity.age")).unwrap(), committed);
}

#[test]
fn a_version_from_a_newer_schema_is_refused_clearly() {
    let json = serde_json::json!({
        "schema_version": 99, "record_id": Uuid::new_v4(), "version_id": Uuid::new_v4(),
        "kind": "case", "parents": [], "hlc": {"ms": 1, "counter": 0},
        "device": Uuid::new_v4(), "body": "tombstone"
    });
    // Importing it is refused, naming the field and the schema.
    let (_t, _dir, mut vault) = new_vault();
    let doc = serde_json::json!({
        "format": "custos-export", "format_version": 1,
        "records": [{"record_id": json["record_id"], "kind": "case", "versions": [json]}]
    });
    let err =
        custos_report::json::import_json(&mut vault, &serde_json::to_vec_pretty(&doc).unwrap())
            .unwrap_err();
    assert!(err.to_string().contains("schema_version"), "{err}");
    assert!(err.to_string().contains("newer"), "{err}");
    assert_eq!(vault.version_count(), 0);
}

#[test]
fn reads_after_unlock_use_the_key_cache_and_still_check_everything() {
    // Write, lock, unlock: the first read of each version is served from the encrypted
    // key cache. A version altered on disk after that must still be caught.
    let (_t, dir, mut vault) = new_vault();
    let id = vault.add(case("cached")).unwrap();
    let v = vault.get(id).unwrap().version_id;
    vault.lock().unwrap();
    let vault = Vault::unlock(&dir, &pass(PASS), OPTS).unwrap();
    assert_eq!(title_of(&vault.get(id).unwrap()), "cached");
    vault.lock().unwrap();
    poke(&dir, v, |mut ct| {
        let n = ct.len();
        ct[n - 1] ^= 0x10;
        ct
    });
    let vault = Vault::unlock(&dir, &pass(PASS), OPTS).unwrap();
    assert!(matches!(vault.get(id), Err(Error::Damaged { .. })));
}

#[test]
fn list_lines_carry_an_incidents_act_types_and_date_across_a_lock() {
    let (_t, dir, mut vault) = new_vault();
    let case_id = vault.add(case("Raid on an office")).unwrap();
    let incident = |acts: &[&str], day: &str| {
        Record::Incident(Incident {
            case_id,
            title: "Raid".into(),
            description: String::new(),
            start: Some(FuzzyDate {
                date: day.parse().unwrap(),
                precision: Precision::Day,
            }),
            end: None,
            location: None,
            act_types: acts.iter().map(|s| s.to_string()).collect(),
            persons: vec![],
            related: vec![],
            impact: String::new(),
        })
    };
    let inc = vault
        .add(incident(&["arbitrary_detention"], "2026-03-14"))
        .unwrap();
    let line = |vault: &Vault| {
        let items = vault.list(&Filter {
            case_id: Some(case_id),
            ..Filter::default()
        });
        let item = items.iter().find(|i| i.record_id == inc).unwrap();
        serde_json::to_value(item).unwrap()
    };
    let json = line(&vault);
    assert_eq!(
        json["act_types"],
        serde_json::json!(["arbitrary_detention"])
    );
    assert_eq!(json["date"], "2026-03-14");

    // An edit changes the list line; a lock and unlock (index snapshot) keep it.
    vault
        .update(inc, incident(&["torture", "death_threat"], "2026-04-01"))
        .unwrap();
    vault.lock().unwrap();
    let vault = Vault::unlock(&dir, &pass(PASS), OPTS).unwrap();
    let json = line(&vault);
    assert_eq!(
        json["act_types"],
        serde_json::json!(["torture", "death_threat"])
    );
    assert_eq!(json["date"], "2026-04-01");
    // A case's line has none.
    let items = vault.list(&Filter::default());
    let c = items.iter().find(|i| i.record_id == case_id).unwrap();
    let c = serde_json::to_value(c).unwrap();
    assert_eq!(c["act_types"], serde_json::json!([]));
    assert!(c["date"].is_null());
}

/// A version of `record` with the id `version`, titled "forged", signed by a stranger's
/// key and sealed to `recipient` (what someone who knows the vault's public recipient
/// can make).
fn stranger_version(
    record: Uuid,
    version: Uuid,
    recipient: &custos_vault::crypto::VaultRecipient,
) -> custos_vault::crypto::Sealed {
    let stranger = custos_vault::crypto::DeviceKey::generate();
    let forged = Version {
        schema_version: SCHEMA_VERSION,
        record_id: record,
        version_id: version,
        kind: Kind::Case,
        parents: vec![],
        hlc: Default::default(),
        device: Uuid::new_v4(),
        audience: vec![],
        chain: None,
        body: Body::Record(case("forged")),
    };
    custos_vault::crypto::seal(
        std::slice::from_ref(recipient),
        &stranger,
        &stranger.public(),
        &serde_json::to_vec(&forged).unwrap(),
    )
    .unwrap()
}

#[test]
fn a_key_cache_forged_with_the_public_recipient_does_not_let_an_unsigned_version_in() {
    let (_t, dir, mut vault) = new_vault();
    let id = vault.add(case("genuine")).unwrap();
    let version = vault.get(id).unwrap().version_id;
    let recipient: custos_vault::crypto::VaultRecipient = vault.recipient().parse().unwrap();
    vault.lock().unwrap();

    // Someone who knows the vault's public recipient (the hub does) swaps the version for
    // one signed by their own key, and puts its file key in a cache they encrypt to the
    // vault: a cache hit skips the signature check.
    let sealed = stranger_version(id, version, &recipient);
    let mut cache = custos_vault::crypto::KeyCache::default();
    cache.insert(sealed.learned);
    let cache_ct = custos_vault::crypto::seal_bytes(
        std::iter::once(&recipient as &dyn age::Recipient),
        &cache.to_bytes(),
    )
    .unwrap();
    let store = Store::open(&dir.join("db"), 0).unwrap();
    store
        .commit(vec![
            Write::Version(version, sealed.ciphertext),
            Write::Meta("keycache", cache_ct),
        ])
        .unwrap();
    drop(store);

    let vault = Vault::unlock(&dir, &pass(PASS), OPTS).unwrap();
    match vault.get(id) {
        Ok(v) => panic!("the forged version was taken: {}", title_of(&v)),
        Err(e) => assert!(matches!(e, Error::Damaged { .. }), "{e}"),
    }
}

/// The record index's snapshot and the key cache carry this device's signature of a
/// digest of their file's own key, not of their plaintext. Someone who knows the vault's
/// public recipient (the hub does), and even the plaintext of a snapshot with its
/// genuine signature, cannot change it: sealed again under a file key of their own, the
/// signature no longer matches, and the vault takes neither.
#[test]
fn snapshots_sealed_again_under_another_file_key_are_refused_though_their_signature_is_genuine() {
    let (_t, dir, mut vault) = new_vault();
    let id = vault.add(case("genuine")).unwrap();
    let version = vault.get(id).unwrap().version_id;
    let identity = vault.identity().clone();
    let recipient: custos_vault::crypto::VaultRecipient = vault.recipient().parse().unwrap();
    vault.lock().unwrap();

    let reseal = |plain: &[u8]| {
        custos_vault::crypto::seal_bytes(std::iter::once(&recipient as &dyn age::Recipient), plain)
            .unwrap()
    };
    let store = Store::open(&dir.join("db"), 0).unwrap();
    // The index: a title changed in the signed plaintext.
    let ct = store.meta("index").unwrap().unwrap();
    let mut index = custos_vault::crypto::open_bytes(&identity, &ct)
        .unwrap()
        .to_vec();
    assert!(index.starts_with(b"custos-signed 2\n"));
    let at = index.windows(7).position(|w| w == b"genuine").unwrap();
    index[at..at + 7].copy_from_slice(b"forged!");
    // The key cache: the file key of a version signed by a stranger added to the
    // signed plaintext (a cache hit skips the version's signature check).
    let sealed = stranger_version(id, version, &recipient);
    let mut extra = custos_vault::crypto::KeyCache::default();
    extra.insert(sealed.learned);
    let ct = store.meta("keycache").unwrap().unwrap();
    let mut cache = custos_vault::crypto::open_bytes(&identity, &ct)
        .unwrap()
        .to_vec();
    assert!(cache.starts_with(b"custos-signed 2\n"));
    cache.extend_from_slice(&extra.to_bytes());
    store
        .commit(vec![
            Write::Version(version, sealed.ciphertext),
            Write::Meta("index", reseal(&index)),
            Write::Meta("keycache", reseal(&cache)),
        ])
        .unwrap();
    drop(store);

    let vault = Vault::unlock(&dir, &pass(PASS), OPTS).unwrap();
    // Both refused: the index is rebuilt from the versions, the stranger's is damaged.
    if let Ok(v) = vault.get(id) {
        panic!("the forged version was taken: {}", title_of(&v));
    }
    assert!(
        vault
            .damaged()
            .iter()
            .any(|e| matches!(e, Error::Damaged { version: v, .. } if *v == version)),
        "{:?}",
        vault.damaged()
    );
    let titles: Vec<String> = vault
        .list(&Filter {
            include_deleted: true,
            ..Filter::default()
        })
        .into_iter()
        .map(|i| i.summary.title.clone())
        .collect();
    assert!(
        !titles.iter().any(|t| t == "forged!"),
        "the changed index snapshot was taken: {titles:?}"
    );
}

#[test]
fn get_many_answers_in_order_and_names_each_damaged_or_missing_record() {
    let (_t, dir, mut vault) = new_vault();
    let ids: Vec<Uuid> = (0..40)
        .map(|i| vault.add(case(&format!("many {i}"))).unwrap())
        .collect();
    let damaged = vault.get(ids[7]).unwrap().version_id;
    vault.lock().unwrap();
    poke(&dir, damaged, |mut ct| {
        let n = ct.len();
        ct[n - 20] ^= 0x04;
        ct
    });
    let vault = Vault::unlock(&dir, &pass(PASS), OPTS).unwrap();
    let missing = Uuid::new_v4();
    let mut asked = ids.clone();
    asked.insert(20, missing);
    let got = vault.get_many(&asked);
    assert_eq!(got.len(), asked.len());
    for (id, r) in asked.iter().zip(&got) {
        if *id == missing {
            assert!(matches!(r, Err(Error::RecordNotFound(m)) if *m == missing));
        } else if *id == ids[7] {
            assert!(
                matches!(r, Err(Error::Damaged { record: Some(d), .. }) if d == id),
                "the damaged record is named"
            );
        } else {
            // The same answer as a single get, in the order asked.
            let view = r.as_ref().unwrap();
            assert_eq!(view.record_id, *id);
            assert_eq!(title_of(view), title_of(&vault.get(*id).unwrap()));
        }
    }
    let titles: Vec<String> = got
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(title_of)
        .collect();
    let expected: Vec<String> = (0..40)
        .filter(|i| *i != 7)
        .map(|i| format!("many {i}"))
        .collect();
    assert_eq!(titles, expected);
}

#[test]
fn get_many_over_several_chunks_keeps_the_order_asked_and_each_error_in_its_place() {
    let (_t, dir, mut vault) = new_vault();
    let n = custos_vault::READ_CHUNK * 2 + 37;
    let written = vault
        .commit(
            (0..n)
                .map(|i| Change::Create(case(&format!("bulk {i}"))))
                .collect(),
        )
        .unwrap();
    let ids: Vec<Uuid> = written.iter().map(|w| w.record_id).collect();
    let version = |i: usize| written[i].version_id;
    // One damaged early in the asked order, one late; one value moved under another key.
    let (flipped, cut, moved) = (3, n - 5, n / 2);
    vault.lock().unwrap();
    poke(&dir, version(flipped), |mut ct| {
        let n = ct.len();
        ct[n - 30] ^= 0x10;
        ct
    });
    poke(&dir, version(cut), |ct| ct[..ct.len() - 7].to_vec());
    let elsewhere = Store::open(&dir.join("db"), 0)
        .unwrap()
        .version(version(0))
        .unwrap()
        .unwrap();
    poke(&dir, version(moved), |_| elsewhere);
    // Without the key cache, every value takes the full check (X25519 and signature).
    Store::open(&dir.join("db"), 0)
        .unwrap()
        .remove_meta("keycache")
        .unwrap();

    let vault = Vault::unlock(&dir, &pass(PASS), OPTS).unwrap();
    // Asked in an order unlike the database's (reversed, a missing id in the middle, one
    // id twice).
    let missing = Uuid::new_v4();
    let mut asked: Vec<Uuid> = ids.iter().rev().copied().collect();
    asked.insert(n / 3, missing);
    asked.push(ids[10]);
    for round in 0..2 {
        // The second round reads with the file keys the first one learned.
        let got = vault.get_many(&asked);
        assert_eq!(got.len(), asked.len());
        for (at, (id, r)) in asked.iter().zip(&got).enumerate() {
            let i = ids.iter().position(|x| x == id);
            match i {
                None => assert!(
                    matches!(r, Err(Error::RecordNotFound(m)) if m == id),
                    "round {round}, position {at}: the missing id"
                ),
                Some(i) if i == flipped || i == cut => assert!(
                    matches!(r, Err(Error::Damaged { record: Some(d), version: v, reason: Damage::Decrypt })
                        if d == id && *v == version(i)),
                    "round {round}, position {at}: damaged value of record {i}: {r:?}"
                ),
                Some(i) if i == moved => assert!(
                    matches!(r, Err(Error::Damaged { record: Some(d), reason: Damage::Moved, .. })
                        if d == id),
                    "round {round}, position {at}: moved value: {r:?}"
                ),
                Some(i) => {
                    let view = r.as_ref().unwrap();
                    assert_eq!(view.record_id, *id, "round {round}, position {at}");
                    assert_eq!(view.version_id, version(i));
                    assert_eq!(title_of(view), format!("bulk {i}"));
                }
            }
        }
    }
    // A single read agrees with the bulk one.
    assert!(matches!(
        vault.get(ids[flipped]),
        Err(Error::Damaged {
            reason: Damage::Decrypt,
            ..
        })
    ));
    assert_eq!(title_of(&vault.get(ids[1]).unwrap()), "bulk 1");
    vault.lock().unwrap();
}

/// The log position of sled's newest page-table snapshot (`snap.<position in hex>`); 0
/// when there is none yet.
fn snapshot_position(db: &Path) -> u64 {
    fs::read_dir(db)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().ok()?;
            u64::from_str_radix(name.strip_prefix("snap.")?, 16).ok()
        })
        .max()
        .unwrap_or(0)
}

/// A session whose large commits went to value files left little in sled's log (a
/// pointer a version): its lock does not open the database again, however many bytes
/// it stored.
#[test]
fn a_lock_after_large_commits_into_value_files_does_not_settle() {
    let (_tmp, dir, mut v) = new_vault();
    let db = dir.join("db");
    // ~19 MB of ciphertext, more than a settle is due after.
    let ids = bulk(&mut v, 1_200);
    assert!(
        value_files(&dir)
            .iter()
            .map(|f| fs::metadata(f).unwrap().len())
            .sum::<u64>()
            > custos_vault::store::SETTLE_AFTER
    );
    let before = snapshot_position(&db);
    v.lock().unwrap();
    assert_eq!(snapshot_position(&db), before, "no second open at lock");
    let v = Vault::unlock(&dir, &pass(PASS), OPTS).unwrap();
    assert_eq!(title_of(&v.get(ids[1_199]).unwrap()), "Bulk 1199");
}

/// sled saves its page table only when a database opens, and an open replays the log
/// written since. A lock after a session that wrote much settles the database (opens it
/// once more, keys already gone), so that the next unlock starts from a current
/// snapshot; a lock after a small session does not, and stays as cheap as before.
#[test]
fn a_lock_after_a_large_session_leaves_the_database_settled_for_the_next_unlock() {
    let (_tmp, dir, mut v) = new_vault();
    let db = dir.join("db");
    let text = "word ".repeat(600);
    let mut ids = Vec::new();
    // Past the threshold, in commits of several records — fewer than a value file takes
    // (see `a_large_commit_lies_in_a_value_file_and_reads_back`), so that their
    // ciphertexts go into sled's log, which its next open would replay.
    let per_record = text.len() as u64;
    let n = (custos_vault::store::SETTLE_AFTER / per_record) as usize + 200;
    for chunk in 0..n.div_ceil(50) {
        let count = 50.min(n - chunk * 50);
        let written = v
            .commit(
                (0..count)
                    .map(|i| {
                        Change::Create(Record::Case(Case {
                            title: format!("case {}", chunk * 50 + i),
                            summary: text.clone(),
                            ..Case::default()
                        }))
                    })
                    .collect(),
            )
            .unwrap();
        ids.extend(written.iter().map(|w| w.record_id));
    }
    let before = snapshot_position(&db);
    v.lock().unwrap();
    let settled = snapshot_position(&db);
    assert!(
        settled > before,
        "the lock after {n} records saved a new page-table snapshot ({before:#x} → {settled:#x})"
    );

    // A small session: the lock leaves the snapshot its unlock wrote.
    let mut v = Vault::unlock(&dir, &pass(PASS), OPTS).unwrap();
    let at_unlock = snapshot_position(&db);
    v.add(case("one more")).unwrap();
    v.lock().unwrap();
    assert_eq!(
        snapshot_position(&db),
        at_unlock,
        "a lock after one record does not open the database again"
    );

    // Everything is there after the settled database opens.
    let v = Vault::unlock(&dir, &pass(PASS), OPTS).unwrap();
    assert!(v.damaged().is_empty());
    assert_eq!(v.list(&Filter::default()).len(), n + 1);
    for (i, id) in ids.iter().enumerate().step_by(97) {
        assert_eq!(title_of(&v.get(*id).unwrap()), format!("case {i}"));
    }
    v.lock().unwrap();

    // A settle that cannot run (no room for the snapshot) changes nothing.
    let position = snapshot_position(&db);
    custos_vault::store::settle(&db, u64::MAX / 2);
    assert_eq!(snapshot_position(&db), position);
    Vault::unlock(&dir, &pass(PASS), OPTS)
        .unwrap()
        .lock()
        .unwrap();
}

#[test]
fn the_list_shows_the_newest_change_first_and_the_same_order_after_an_unlock() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let mut vault = Vault::create(&dir, &pass(PASS), OPTS).unwrap();
    // One commit of several (one clock tick each), then saves on their own.
    let batch: Vec<Uuid> = vault
        .commit(
            (0..20)
                .map(|i| Change::Create(case(&format!("batch {i}"))))
                .collect(),
        )
        .unwrap()
        .iter()
        .map(|w| w.record_id)
        .collect();
    let alone = vault.add(case("alone")).unwrap();
    vault.update(batch[3], case("batch 3, edited")).unwrap();
    vault.delete(batch[7]).unwrap();

    let order = |v: &Vault| -> Vec<(Uuid, String)> {
        v.list(&Filter::default())
            .into_iter()
            .map(|i| (i.record_id, i.summary.title.clone()))
            .collect()
    };
    let items = vault.list(&Filter::default());
    assert_eq!(items.len(), 20, "the deleted record is not listed");
    assert_eq!(items[0].record_id, batch[3], "the last edit comes first");
    assert_eq!(items[0].summary.title, "batch 3, edited");
    assert_eq!(items[1].record_id, alone);
    assert!(items.iter().all(|i| i.record_id != batch[7]));
    // Newest change first; equal times (none here, but records synced from two devices
    // can share one) by record id: every pair in order.
    for pair in items.windows(2) {
        assert!(
            pair[0].updated > pair[1].updated
                || (pair[0].updated == pair[1].updated && pair[0].record_id < pair[1].record_id),
            "out of order"
        );
    }
    let before = order(&vault);
    vault.lock().unwrap();
    let vault = Vault::unlock(&dir, &pass(PASS), OPTS).unwrap();
    assert_eq!(order(&vault), before);
    let with_deleted = vault.list(&Filter {
        include_deleted: true,
        ..Filter::default()
    });
    assert_eq!(with_deleted.len(), 21);
    assert_eq!(
        with_deleted[0].record_id, batch[7],
        "the deletion is the newest change"
    );
}
