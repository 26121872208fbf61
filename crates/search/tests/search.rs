//! Full-text search: words in four languages without their diacritics, phrases,
//! prefixes, every filter, edits and deletions, the encrypted snapshot (fresh, stale,
//! tampered), building in steps, and no plaintext on disk.

use custos_search::VaultSearch;
use custos_test_support::{files_under, pass, FAST as OPTS};
use std::fs;
use std::path::PathBuf;

use chrono::NaiveDate;
use custos_model::{CaseStatus, Kind, Record, Role};
use custos_search::SearchQuery;
use custos_vault::{Change, Vault};
use serde_json::json;
use uuid::Uuid;

fn record(v: serde_json::Value) -> Record {
    serde_json::from_value(v).expect("a valid record")
}

fn q(text: &str) -> SearchQuery {
    SearchQuery {
        text: text.into(),
        ..Default::default()
    }
}

fn ids(vault: &Vault, query: &SearchQuery) -> Vec<Uuid> {
    let mut found: Vec<Uuid> = vault
        .search(query)
        .unwrap()
        .hits
        .iter()
        .map(|h| h.record_id)
        .collect();
    found.sort();
    found
}

fn sorted(mut v: Vec<Uuid>) -> Vec<Uuid> {
    v.sort();
    v
}

/// Three cases in four languages, with incidents, persons and an intervention.
struct Seeded {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    vault: Vault,
    fr: Uuid,
    ar: Uuid,
    es: Uuid,
    fr_incident: Uuid,
    ar_person: Uuid,
    es_intervention: Uuid,
}

fn seeded() -> Seeded {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let mut vault = Vault::create(&dir, &pass(), OPTS).unwrap();
    let fr = vault
        .add(record(
            json!({"kind": "case", "title": "Arrestation devant l'École normale",
            "summary": "Élèves détenus après la manifestation", "status": "open",
            "tags": ["détention", "étudiants"]}),
        ))
        .unwrap();
    let ar = vault
        .add(record(
            json!({"kind": "case", "title": "تهديد صحفية في مَدْرَسَة البنات",
            "summary": "رسائل تهديد بعد نشر التحقيق", "status": "monitoring",
            "tags": ["تهديد"]}),
        ))
        .unwrap();
    let es = vault
        .add(record(
            json!({"kind": "case", "title": "Detención de defensora en Querétaro",
            "summary": "Allanamiento nocturno de la oficina", "status": "closed",
            "tags": ["detención"]}),
        ))
        .unwrap();
    let ar_person = vault
        .add(record(
            json!({"kind": "person", "case_id": ar, "name": "نُور الهُدى",
            "roles": ["victim"], "occupation": "صحفية"}),
        ))
        .unwrap();
    let fr_person = vault
        .add(record(
            json!({"kind": "person", "case_id": fr, "name": "Amélie Durand",
            "roles": ["witness"]}),
        ))
        .unwrap();
    let fr_incident = vault
        .add(record(json!({"kind": "incident", "case_id": fr,
            "title": "Garde à vue prolongée", "description": "Interrogatoire de nuit sans avocat",
            "start": {"date": "2024-03-02"}, "end": {"date": "2024-03-05"},
            "location": {"place": "Commissariat central", "region": "Rhône", "country": "FR"},
            "act_types": ["arbitrary_arrest"],
            "persons": [{"person_id": fr_person, "role": "witness"}]})))
        .unwrap();
    vault
        .add(record(
            json!({"kind": "incident", "case_id": ar, "title": "رسالة تهديد",
            "start": {"date": "2023-11-20"},
            "location": {"place": "حلب", "country": "SY"},
            "act_types": ["threat"]}),
        ))
        .unwrap();
    let es_intervention = vault
        .add(record(json!({"kind": "intervention", "case_id": es,
            "title": "Llamamiento urgente al Relator Especial", "type": "urgent_appeal",
            "date": "2024-06-10", "reference": "UA MEX 4/2024"})))
        .unwrap();
    vault
        .add(record(json!({"kind": "note", "case_id": es,
            "text": "La defensora pidió medidas cautelares a la CIDH"})))
        .unwrap();
    Seeded {
        _tmp: tmp,
        dir,
        vault,
        fr,
        ar,
        es,
        fr_incident,
        ar_person,
        es_intervention,
    }
}

#[test]
fn words_match_without_case_or_diacritics_in_four_languages() {
    let s = seeded();
    let v = &s.vault;
    // French: accents and capitals do not matter, both ways.
    assert_eq!(ids(v, &q("ecole")), vec![s.fr]);
    assert_eq!(ids(v, &q("ÉCOLE élèves")), vec![s.fr]);
    // Spanish.
    assert_eq!(ids(v, &q("queretaro detencion")), vec![s.es]);
    // Arabic: without the short vowels, with ta marbuta written as ha.
    assert_eq!(ids(v, &q("مدرسه")), vec![s.ar]);
    assert_eq!(ids(v, &q("نور الهدى")), vec![s.ar_person]);
    // English and every field: an incident's description, an intervention's reference.
    assert_eq!(ids(v, &q("avocat")), vec![s.fr_incident]);
    assert_eq!(ids(v, &q("4/2024")), vec![s.es_intervention]);
    // Every word must match.
    assert!(ids(v, &q("ecole queretaro")).is_empty());
    // Nothing: no hits, and an empty query finds nothing.
    assert!(ids(v, &q("tortue")).is_empty());
    assert_eq!(v.search(&q("   ")).unwrap().total, 0);
}

#[test]
fn phrases_keep_word_order_and_the_last_word_can_be_a_prefix() {
    let s = seeded();
    let v = &s.vault;
    assert_eq!(ids(v, &q("\"garde a vue\"")), vec![s.fr_incident]);
    assert!(ids(v, &q("\"vue a garde\"")).is_empty());
    // While typing: "interro" finds "Interrogatoire" only as a prefix.
    assert!(ids(v, &q("interro")).is_empty());
    let typing = SearchQuery {
        text: "nuit interro".into(),
        prefix: true,
        ..Default::default()
    };
    assert_eq!(ids(v, &typing), vec![s.fr_incident]);
}

#[test]
fn filters_select_cases_and_words_select_their_records() {
    let s = seeded();
    let v = &s.vault;
    let filtered = |f: SearchQuery| ids(v, &f);
    // Filters alone list the matching cases.
    assert_eq!(
        filtered(SearchQuery {
            status: Some(CaseStatus::Open),
            ..Default::default()
        }),
        vec![s.fr]
    );
    assert_eq!(
        filtered(SearchQuery {
            tags: vec!["تهديد".into()],
            ..Default::default()
        }),
        vec![s.ar]
    );
    assert_eq!(
        filtered(SearchQuery {
            act_type: Some("arbitrary_arrest".into()),
            ..Default::default()
        }),
        vec![s.fr]
    );
    assert_eq!(
        filtered(SearchQuery {
            role: Some(Role::Victim),
            ..Default::default()
        }),
        vec![s.ar]
    );
    assert_eq!(
        filtered(SearchQuery {
            location: Some("RHONE".into()),
            ..Default::default()
        }),
        vec![s.fr]
    );
    // Dates: an incident counts when its period overlaps; interventions by their date.
    let day = |s: &str| Some(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap());
    assert_eq!(
        filtered(SearchQuery {
            from: day("2024-03-04"),
            to: day("2024-03-31"),
            ..Default::default()
        }),
        vec![s.fr]
    );
    assert_eq!(
        filtered(SearchQuery {
            from: day("2024-06-01"),
            ..Default::default()
        }),
        vec![s.es]
    );
    assert_eq!(
        filtered(SearchQuery {
            to: day("2023-12-31"),
            ..Default::default()
        }),
        vec![s.ar]
    );
    // Filters combine (and), and with words they narrow the records.
    assert!(filtered(SearchQuery {
        status: Some(CaseStatus::Open),
        role: Some(Role::Victim),
        ..Default::default()
    })
    .is_empty());
    assert_eq!(
        filtered(SearchQuery {
            text: "nuit".into(),
            act_type: Some("arbitrary_arrest".into()),
            ..Default::default()
        }),
        vec![s.fr_incident]
    );
    // "nocturno" is in the Spanish case, which is closed: not with status open.
    assert!(filtered(SearchQuery {
        text: "nocturno".into(),
        status: Some(CaseStatus::Open),
        ..Default::default()
    })
    .is_empty());
    // Kinds.
    let persons = SearchQuery {
        kinds: vec![Kind::Person],
        status: Some(CaseStatus::Monitoring),
        ..Default::default()
    };
    assert_eq!(filtered(persons), vec![s.ar_person]);
    // The hit says what it is and where it belongs.
    let hit = &v.search(&q("avocat")).unwrap().hits[0];
    assert_eq!(
        (hit.kind, hit.case_id, hit.title.as_str()),
        (Kind::Incident, Some(s.fr), "Garde à vue prolongée")
    );
}

#[test]
fn edits_and_deletions_are_found_at_the_next_search() {
    let mut s = seeded();
    assert_eq!(ids(&s.vault, &q("ecole")), vec![s.fr]);
    let mut case = s.vault.get(s.fr).unwrap().into_record().unwrap();
    if let Record::Case(c) = &mut case {
        c.title = "Arrestation devant le lycée".into();
        c.status = CaseStatus::Closed;
    }
    s.vault.update(s.fr, case).unwrap();
    assert!(
        ids(&s.vault, &q("ecole")).is_empty(),
        "the old words are gone"
    );
    assert_eq!(ids(&s.vault, &q("lycee")), vec![s.fr]);
    let closed = SearchQuery {
        status: Some(CaseStatus::Closed),
        ..Default::default()
    };
    assert_eq!(ids(&s.vault, &closed), sorted(vec![s.fr, s.es]));
    s.vault.delete(s.ar_person).unwrap();
    assert!(ids(&s.vault, &q("الهدى")).is_empty());
    // A record added in a batch is found too.
    let new = s
        .vault
        .commit(vec![Change::Create(record(json!({"kind": "note",
            "case_id": s.es, "text": "Nueva amenaza telefónica"})))])
        .unwrap()[0]
        .record_id;
    assert_eq!(ids(&s.vault, &q("telefonica")), vec![new]);
}

fn many_notes(vault: &mut Vault, case: Uuid, n: usize, word: &str) -> Vec<Uuid> {
    let changes = (0..n)
        .map(|i| {
            Change::Create(record(json!({"kind": "note", "case_id": case,
                "text": format!("{word} numéro {i} témoignage recueilli")})))
        })
        .collect();
    vault
        .commit(changes)
        .unwrap()
        .iter()
        .map(|w| w.record_id)
        .collect()
}

#[test]
fn the_snapshot_is_encrypted_reused_caught_up_and_rebuilt_when_tampered() {
    let mut s = seeded();
    let canary = "zanzibarcanary";
    let notes = many_notes(&mut s.vault, s.fr, 600, canary);
    // The first search builds the index; that many new records save its snapshot.
    let all = SearchQuery {
        text: canary.into(),
        limit: 1000,
        ..Default::default()
    };
    assert_eq!(s.vault.search(&all).unwrap().total, 600);
    let snapshot = s.dir.join("search.age");
    let bytes = fs::read(&snapshot).expect("the snapshot was saved");
    assert!(bytes.starts_with(b"age-encryption.org/v1\n"));
    // No plaintext anywhere in the vault folder: not the canary, not a folded word.
    for f in files_under(&s.dir) {
        let content = fs::read(&f).unwrap();
        for needle in [
            canary.as_bytes(),
            "temoignage".as_bytes(),
            "témoignage".as_bytes(),
        ] {
            assert!(
                !content.windows(needle.len()).any(|w| w == needle),
                "{} holds plaintext",
                f.display()
            );
        }
    }

    // Reopened: the snapshot is used (no record needs indexing), and it is current.
    let dir = s.dir.clone();
    s.vault.lock().unwrap();
    let mut vault = Vault::unlock(&dir, &pass(), OPTS).unwrap();
    let total = vault.list(&Default::default()).len();
    assert_eq!(vault.prepare_search(0).unwrap(), (total, total));
    assert_eq!(vault.search(&all).unwrap().total, 600);

    // Changed since the snapshot: caught up at the next search.
    vault.delete(notes[0]).unwrap();
    let late = many_notes(&mut vault, s.es, 3, canary);
    vault.lock().unwrap();
    let vault = Vault::unlock(&dir, &pass(), OPTS).unwrap();
    let found = vault.search(&all).unwrap();
    assert_eq!(found.total, 602);
    assert!(found.hits.iter().all(|h| h.record_id != notes[0]));
    assert!(late
        .iter()
        .all(|l| found.hits.iter().any(|h| h.record_id == *l)));
    vault.lock().unwrap();

    // Tampered, cut, or replaced by a well-formed age file to the vault that it did not
    // sign: refused, and rebuilt from the records (same answers).
    let good = fs::read(&snapshot).unwrap();
    let mut flipped = good.clone();
    let at = flipped.len() / 2;
    flipped[at] ^= 0x20;
    for bad in [
        flipped,
        good[..good.len() / 3].to_vec(),
        b"garbage".to_vec(),
    ] {
        fs::write(&snapshot, &bad).unwrap();
        let vault = Vault::unlock(&dir, &pass(), OPTS).unwrap();
        let total = vault.list(&Default::default()).len();
        let (done, all_records) = vault.prepare_search(10).unwrap();
        assert!(done < all_records, "the damaged snapshot was not used");
        assert_eq!(all_records, total);
        assert_eq!(vault.search(&all).unwrap().total, 602);
        assert_eq!(ids(&vault, &q("ecole")), vec![s.fr]);
        vault.lock().unwrap();
    }
}

#[test]
fn a_large_build_goes_in_steps_and_a_search_meanwhile_says_it_is_not_ready() {
    let mut s = seeded();
    many_notes(&mut s.vault, s.es, 7_000, "lote");
    let dir = s.dir.clone();
    s.vault.lock().unwrap();
    assert!(
        !dir.join("search.age").exists(),
        "no search yet, no snapshot"
    );
    let vault = Vault::unlock(&dir, &pass(), OPTS).unwrap();
    let (done, total) = vault.prepare_search(1_000).unwrap();
    assert_eq!((done, total), (1_000, 7_009));
    // More than a search catches up by itself is left: the answer says so.
    let partial = vault.search(&q("lote")).unwrap();
    assert!(!partial.ready);
    let mut steps = 0;
    while vault.prepare_search(1_000).unwrap().0 < total {
        steps += 1;
        assert!(steps < 10);
    }
    let full = vault.search(&q("lote")).unwrap();
    assert!(full.ready);
    assert_eq!(full.total, 7_000);
    assert_eq!(full.hits.len(), 50, "the default limit");
}

/// A case's interventions as the follow-up filters see them.
fn intervention(case: Uuid, status: &str, follow_up: Option<&str>) -> Record {
    record(json!({"kind": "intervention", "case_id": case,
        "title": "Communication", "status": status, "follow_up": follow_up}))
}

#[test]
fn awaiting_a_response_follows_each_interventions_status() {
    let mut s = seeded();
    let awaiting = SearchQuery {
        awaiting_response: true,
        ..Default::default()
    };
    // The Spanish case's intervention is a draft (no status given): nothing awaits.
    assert!(ids(&s.vault, &awaiting).is_empty());
    let sent = s.vault.add(intervention(s.fr, "sent", None)).unwrap();
    assert_eq!(ids(&s.vault, &awaiting), vec![s.fr]);
    let acknowledged = s
        .vault
        .add(intervention(s.ar, "acknowledged", None))
        .unwrap();
    assert_eq!(ids(&s.vault, &awaiting), sorted(vec![s.fr, s.ar]));
    // An answer came: out; a closed one is not awaited either.
    s.vault
        .update(sent, intervention(s.fr, "responded", None))
        .unwrap();
    assert_eq!(ids(&s.vault, &awaiting), vec![s.ar]);
    s.vault
        .update(acknowledged, intervention(s.ar, "closed", None))
        .unwrap();
    assert!(ids(&s.vault, &awaiting).is_empty());
    // Back in when sent again; out when the intervention is deleted.
    s.vault
        .update(sent, intervention(s.fr, "sent", None))
        .unwrap();
    assert_eq!(ids(&s.vault, &awaiting), vec![s.fr]);
    s.vault.delete(sent).unwrap();
    assert!(ids(&s.vault, &awaiting).is_empty());
    // With other filters, and words: the filter selects cases, words their records.
    let es_sent = s.vault.add(intervention(s.es, "sent", None)).unwrap();
    assert!(ids(
        &s.vault,
        &SearchQuery {
            status: Some(CaseStatus::Open),
            awaiting_response: true,
            ..Default::default()
        }
    )
    .is_empty());
    assert_eq!(
        ids(
            &s.vault,
            &SearchQuery {
                text: "Communication".into(),
                awaiting_response: true,
                ..Default::default()
            }
        ),
        vec![es_sent]
    );
}

#[test]
fn follow_up_due_is_on_or_before_the_day_and_never_for_a_closed_one() {
    let mut s = seeded();
    let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let due = |on: &str| SearchQuery {
        follow_up_due: Some(day(on)),
        ..Default::default()
    };
    assert!(ids(&s.vault, &due("2100-01-01")).is_empty());
    let fr = s
        .vault
        .add(intervention(s.fr, "sent", Some("2026-03-10")))
        .unwrap();
    // The day before: not due; on the day and after: due.
    assert!(ids(&s.vault, &due("2026-03-09")).is_empty());
    assert_eq!(ids(&s.vault, &due("2026-03-10")), vec![s.fr]);
    assert_eq!(ids(&s.vault, &due("2026-04-01")), vec![s.fr]);
    // Any status but closed: a draft or an answered one can be due too.
    let ar = s
        .vault
        .add(intervention(s.ar, "draft", Some("2026-01-01")))
        .unwrap();
    assert_eq!(ids(&s.vault, &due("2026-03-10")), sorted(vec![s.fr, s.ar]));
    assert_eq!(ids(&s.vault, &due("2026-02-01")), vec![s.ar]);
    s.vault
        .update(fr, intervention(s.fr, "responded", Some("2026-03-10")))
        .unwrap();
    assert_eq!(ids(&s.vault, &due("2026-03-10")), sorted(vec![s.fr, s.ar]));
    // Closed: out. Moved later: out until then. Removed: out.
    s.vault
        .update(fr, intervention(s.fr, "closed", Some("2026-03-10")))
        .unwrap();
    assert_eq!(ids(&s.vault, &due("2026-03-10")), vec![s.ar]);
    s.vault
        .update(ar, intervention(s.ar, "sent", Some("2026-05-01")))
        .unwrap();
    assert!(ids(&s.vault, &due("2026-03-10")).is_empty());
    assert_eq!(ids(&s.vault, &due("2026-05-01")), vec![s.ar]);
    s.vault
        .update(ar, intervention(s.ar, "sent", None))
        .unwrap();
    assert!(ids(&s.vault, &due("2100-01-01")).is_empty());
    // Both filters together: a case with one intervention awaiting and due.
    s.vault
        .update(ar, intervention(s.ar, "acknowledged", Some("2026-05-01")))
        .unwrap();
    s.vault
        .add(intervention(s.es, "responded", Some("2026-04-01")))
        .unwrap();
    let both = SearchQuery {
        awaiting_response: true,
        follow_up_due: Some(day("2026-06-01")),
        ..Default::default()
    };
    assert_eq!(ids(&s.vault, &both), vec![s.ar]);
    assert_eq!(ids(&s.vault, &due("2026-06-01")), sorted(vec![s.ar, s.es]));
}

#[test]
fn the_follow_up_filters_survive_the_snapshot() {
    let mut s = seeded();
    s.vault
        .add(intervention(s.fr, "sent", Some("2026-03-10")))
        .unwrap();
    many_notes(&mut s.vault, s.es, 600, "relleno");
    let due = SearchQuery {
        follow_up_due: Some(NaiveDate::from_ymd_opt(2026, 3, 10).unwrap()),
        awaiting_response: true,
        ..Default::default()
    };
    assert_eq!(ids(&s.vault, &due), vec![s.fr]);
    assert!(s.dir.join("search.age").exists(), "the snapshot was saved");
    let dir = s.dir.clone();
    s.vault.lock().unwrap();
    let vault = Vault::unlock(&dir, &pass(), OPTS).unwrap();
    let total = vault.list(&Default::default()).len();
    assert_eq!(vault.prepare_search(0).unwrap(), (total, total), "reused");
    assert_eq!(ids(&vault, &due), vec![s.fr]);
}

#[test]
fn persian_is_found_whichever_keyboard_digits_or_joiner_it_was_typed_with() {
    let tmp = tempfile::tempdir().unwrap();
    let mut vault = Vault::create(&tmp.path().join("vault"), &pass(), OPTS).unwrap();
    // Written on a Persian keyboard: Persian kaf (ک) and yeh (ی), a zero-width
    // non-joiner inside "نامه‌های", Persian digits.
    let fa = vault
        .add(record(json!({"kind": "case",
            "title": "بازداشت خبرنگار در کرمانشاه",
            "summary": "نامه‌های تهدیدآمیز در سال ۱۴۰۲", "status": "open"})))
        .unwrap();
    // Arabic text, searched for from a Persian keyboard.
    let ar = vault
        .add(record(
            json!({"kind": "case", "title": "اعتقال كاتب في الكويت",
            "status": "open"}),
        ))
        .unwrap();
    let v = &vault;
    // Arabic kaf and yeh for Persian kaf and yeh, both ways.
    assert_eq!(ids(v, &q("كرمانشاه")), vec![fa]);
    assert_eq!(ids(v, &q("تهديدآميز")), vec![fa]);
    assert_eq!(ids(v, &q("کاتب الکویت")), vec![ar]);
    // The non-joiner typed, left out, or the word typed on a keyboard without it.
    assert_eq!(ids(v, &q("نامه‌های")), vec![fa]);
    assert_eq!(ids(v, &q("نامههای")), vec![fa]);
    // Persian, Arabic-Indic and ASCII digits are one.
    for year in ["1402", "۱۴۰۲", "١٤٠٢"] {
        assert_eq!(ids(v, &q(year)), vec![fa], "{year}");
    }
    // A word that is not there finds nothing.
    assert!(ids(v, &q("تهران")).is_empty());
}

/// A copy of a vault an earlier build wrote (`crates/vault/tests/fixtures`, see its
/// README) in a fresh folder.
fn fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../vault/tests/fixtures")
        .join(name);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(&src)
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success(), "copying {}", src.display());
    (tmp, dir)
}

/// The first line of the search snapshot's plaintext.
fn snapshot_magic(
    dir: &std::path::Path,
    identity: &custos_vault::crypto::VaultIdentity,
) -> Vec<u8> {
    let ct = fs::read(dir.join(custos_vault::SEARCH_SNAPSHOT)).unwrap();
    let plain = custos_vault::crypto::open_bytes(identity, &ct).unwrap();
    let end = plain.iter().position(|b| *b == b'\n').unwrap() + 1;
    plain[..end].to_vec()
}

fn ready(vault: &Vault) {
    while {
        let (done, all) = vault.prepare_search(usize::MAX).unwrap();
        done < all
    } {}
}

/// Until 0d38b43 the search snapshot was format 4, signed over a SHA-256 of its whole
/// plaintext (58 MB at 100k records, hashed at every unlock); format 5 is signed over a
/// digest of its file's own key. A vault that build wrote searches at once from its
/// format-4 snapshot (taken, not rebuilt: a version damaged since is still found), saves
/// it again as format 5, and takes that as it is at the next unlock.
#[test]
fn a_search_snapshot_of_format_4_is_taken_and_saved_again_as_format_5() {
    let name = "vault-before-key-signed-snapshots";
    let (identity, damaged) = {
        let (_tmp, other) = fixture(name);
        let v = Vault::unlock(&other, &pass(), OPTS).unwrap();
        let item = v
            .list(&Default::default())
            .into_iter()
            .find(|i| i.summary.title == "Case 05")
            .unwrap();
        (
            v.identity().clone(),
            v.get(item.record_id).unwrap().version_id,
        )
    };
    let (_tmp, dir) = fixture(name);
    assert_eq!(snapshot_magic(&dir, &identity), b"custos-search 4\n");
    // One version damaged in the database's own tree (its version epoch unchanged): an
    // index rebuilt from the records could not read it, so would not find it.
    custos_test_support::with_sled(&dir.join("db"), |db| {
        let tree = db.open_tree("versions").unwrap();
        let mut ct = tree.get(damaged.as_bytes()).unwrap().unwrap().to_vec();
        let n = ct.len();
        ct[n - 20] ^= 0x01;
        tree.insert(damaged.as_bytes(), ct).unwrap();
    });

    let v = custos_search::unlock(&dir, &pass(), OPTS).unwrap();
    ready(&v);
    // Cases 00 to 10 (11 was deleted), 05 among them.
    assert_eq!(v.search(&q("checkpoint")).unwrap().total, 11);
    assert_eq!(v.search(&q("released")).unwrap().total, 1);
    v.lock().unwrap();
    assert_eq!(snapshot_magic(&dir, &identity), b"custos-search 5\n");
    let saved = fs::read(dir.join(custos_vault::SEARCH_SNAPSHOT)).unwrap();

    let v = custos_search::unlock(&dir, &pass(), OPTS).unwrap();
    ready(&v);
    assert_eq!(v.search(&q("checkpoint")).unwrap().total, 11);
    v.lock().unwrap();
    assert_eq!(
        fs::read(dir.join(custos_vault::SEARCH_SNAPSHOT)).unwrap(),
        saved,
        "format 5 was written again"
    );
}
