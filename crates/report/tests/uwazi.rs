//! The Uwazi export: a vault's cases written as Uwazi import CSVs, parsed back with the
//! csv crate, and read back with the Uwazi importer (titles, dates, places and act
//! types survive the round trip).

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use custos_import::{Collect, Tool};
use custos_model::*;
use custos_report::uwazi::{columns, export_uwazi, ACT_TYPES_FILE, README, TEMPLATES};
use custos_report::{no_progress, Protection, Selection};
use custos_test_support::{pass, FAST};
use custos_vault::Vault;
use uuid::Uuid;

fn day(s: &str, precision: Precision) -> Option<FuzzyDate> {
    Some(FuzzyDate {
        date: s.parse().unwrap(),
        precision,
    })
}

struct Fixture {
    _tmp: tempfile::TempDir,
    vault: Vault,
    dir: PathBuf,
    raid: Uuid,
    other: Uuid,
}

fn person(case_id: Uuid, name: &str, role: Role) -> Person {
    Person {
        case_id,
        name: name.into(),
        other_names: vec!["N. H.".into()],
        roles: vec![role],
        is_group: false,
        group_size: None,
        sex: "female".into(),
        birth_date: day("1990-03-04", Precision::Day),
        occupation: "journalist".into(),
        organisation: "Syndicat national".into(),
        human_rights_work: "labour rights".into(),
        residence: "Sfax".into(),
        citizenship: "TN".into(),
        consent: Consents::default(),
        contact: "via Signal +216 555".into(),
    }
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let mut vault = Vault::create(&tmp.path().join("vault"), &pass(), FAST).unwrap();
    let raid = vault
        .add(Record::Case(Case {
            title: "Raid on the union office".into(),
            summary: "Unionists arrested in Sfax.".into(),
            status: CaseStatus::Monitoring,
            tags: vec!["detention".into(), "union".into()],
            confidentiality: Confidentiality::Confidential,
            owner: "Leila".into(),
        }))
        .unwrap();
    let victim = vault
        .add(Record::Person(person(raid, "Nour El Houda", Role::Victim)))
        .unwrap();
    let perpetrator = vault
        .add(Record::Person(person(raid, "Brigade 7", Role::Perpetrator)))
        .unwrap();
    let night = vault
        .add(Record::Incident(Incident {
            case_id: raid,
            title: "Night raid".into(),
            description: "The door was forced open.".into(),
            start: day("2024-05-02", Precision::Day),
            end: None,
            location: Some(Location {
                place: "Sfax".into(),
                region: "Sfax governorate".into(),
                country: "TN".into(),
                lat: Some(34.74),
                lon: Some(10.76),
            }),
            act_types: vec!["arbitrary_arrest".into(), "raid_or_search".into()],
            persons: vec![
                Involvement {
                    person_id: victim,
                    role: Role::Victim,
                },
                Involvement {
                    person_id: perpetrator,
                    role: Role::Perpetrator,
                },
            ],
            related: vec![],
            impact: "The union stopped meeting.".into(),
        }))
        .unwrap();
    vault
        .add(Record::Incident(Incident {
            case_id: raid,
            title: "Detention | questioning".into(),
            description: String::new(),
            start: day("2024-06-01", Precision::Month),
            end: day("2024-07-01", Precision::Month),
            location: Some(Location {
                place: "Gabès".into(),
                ..Location::default()
            }),
            act_types: vec!["torture".into()],
            persons: vec![],
            related: vec![night],
            impact: String::new(),
        }))
        .unwrap();
    vault
        .add(Record::Intervention(Intervention {
            case_id: raid,
            title: "Appeal to the Special Rapporteur".into(),
            mechanism: "un_sr_hrd".into(),
            kind: InterventionType::UrgentAppeal,
            date: "2024-05-10".parse().ok(),
            status: InterventionStatus::Sent,
            reference: "UA TUN 1/2024".into(),
            response: String::new(),
            incident_ids: vec![night],
            person_ids: vec![victim],
            channel: "e-mail".into(),
            follow_up: None,
            language: "en".into(),
            form: vec![],
        }))
        .unwrap();
    let other = vault
        .add(Record::Case(Case {
            title: "=HYPERLINK(\"https://x.example\",\"Open\")".into(),
            ..Case::default()
        }))
        .unwrap();
    // A second case of the same title: relationships must name one of them.
    vault
        .add(Record::Case(Case {
            title: "Raid on the union office".into(),
            ..Case::default()
        }))
        .unwrap();
    let dir = tmp.path().join("out");
    Fixture {
        _tmp: tmp,
        vault,
        dir,
        raid,
        other,
    }
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers = r.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = r
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (headers, rows)
}

fn cell<'a>(headers: &[String], row: &'a [String], name: &str) -> &'a str {
    let i = headers
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"));
    &row[i]
}

#[test]
fn every_template_file_is_written_with_uwazi_columns_and_values() {
    let f = fixture();
    let stats = export_uwazi(
        &f.vault,
        &Selection::all(),
        &f.dir,
        &Protection::Plaintext,
        &mut no_progress,
    )
    .unwrap();
    let names: Vec<String> = stats
        .files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        vec![
            "cases.csv",
            "persons.csv",
            "incidents.csv",
            "interventions.csv",
            ACT_TYPES_FILE,
            README
        ]
    );
    assert_eq!(stats.rows, 3 + 2 + 2 + 1);
    for (file, _, _) in TEMPLATES {
        let (headers, _) = read_csv(&f.dir.join(file));
        assert_eq!(headers, columns(file).unwrap(), "{file}");
        assert_eq!(headers[0], "title");
    }

    let (h, cases) = read_csv(&f.dir.join("cases.csv"));
    let titles: Vec<&str> = cases.iter().map(|r| cell(&h, r, "title")).collect();
    assert!(
        titles.contains(&"'=HYPERLINK(\"https://x.example\",\"Open\")"),
        "a formula is neutralised: {titles:?}"
    );
    assert!(titles.contains(&"Raid on the union office"));
    assert!(
        titles.contains(&"Raid on the union office (2)"),
        "{titles:?}"
    );
    let raid = cases
        .iter()
        .find(|r| cell(&h, r, "custos_id") == f.raid.to_string())
        .unwrap();
    assert_eq!(cell(&h, raid, "tags"), "detention|union");
    assert_eq!(cell(&h, raid, "status"), "Monitoring");
    assert_eq!(cell(&h, raid, "confidentiality"), "Confidential");
    let raid_title = cell(&h, raid, "title").to_owned();

    let (h, incidents) = read_csv(&f.dir.join("incidents.csv"));
    let night = &incidents[0];
    assert_eq!(cell(&h, night, "title"), "Night raid");
    assert_eq!(cell(&h, night, "case"), raid_title);
    assert_eq!(cell(&h, night, "start_date"), "2024/05/02");
    assert_eq!(cell(&h, night, "end_date"), "");
    assert_eq!(cell(&h, night, "date_precision"), "Day");
    assert_eq!(cell(&h, night, "geolocation_geolocation"), "34.74|10.76");
    assert_eq!(
        cell(&h, night, "act_types"),
        "Arbitrary arrest|Raid or search"
    );
    assert_eq!(
        cell(&h, night, "persons_involved"),
        "Nour El Houda|Brigade 7"
    );
    let second = &incidents[1];
    // A `|` inside a title would split the relationship: written as `/`.
    assert_eq!(cell(&h, second, "title"), "Detention / questioning");
    assert_eq!(cell(&h, second, "related_incidents"), "Night raid");
    assert_eq!(cell(&h, second, "date_precision"), "Month");
    assert_eq!(cell(&h, second, "act_types"), "Torture");

    let (h, persons) = read_csv(&f.dir.join("persons.csv"));
    let nour = persons
        .iter()
        .find(|r| cell(&h, r, "title") == "Nour El Houda")
        .unwrap();
    assert_eq!(cell(&h, nour, "roles"), "Victim");
    assert_eq!(cell(&h, nour, "birth_date"), "1990/03/04");
    assert_eq!(cell(&h, nour, "consent_to_publish"), "Not asked");
    // Contact details never leave for Uwazi.
    let all = std::fs::read_to_string(f.dir.join("persons.csv")).unwrap();
    assert!(!all.contains("Signal"));

    let (h, interventions) = read_csv(&f.dir.join("interventions.csv"));
    let i = &interventions[0];
    assert_eq!(cell(&h, i, "incidents"), "Night raid");
    assert_eq!(cell(&h, i, "on_behalf_of"), "Nour El Houda");
    assert_eq!(cell(&h, i, "sent_on"), "2024/05/10");
    assert_eq!(cell(&h, i, "intervention_type"), "Urgent appeal");

    let (h, acts) = read_csv(&f.dir.join(ACT_TYPES_FILE));
    assert_eq!(
        h,
        vec!["English", "Spanish", "French", "Arabic", "Persian (Farsi)"]
    );
    assert_eq!(
        acts.len(),
        custos_model::vocab::builtin().act_types.terms.len()
    );
    assert!(acts.iter().any(|r| r[0] == "Torture" && r[1] == "Tortura"));

    let readme = std::fs::read_to_string(f.dir.join(README)).unwrap();
    for (file, template, props) in TEMPLATES {
        assert!(readme.contains(&format!("Template \"{template}\" — `{file}`")));
        for p in *props {
            assert!(readme.contains(&format!("| `{}` | {} |", p.name, p.label)));
        }
    }
}

#[test]
fn the_export_reads_back_with_the_uwazi_importer() {
    let f = fixture();
    export_uwazi(
        &f.vault,
        &Selection::cases([f.raid]),
        &f.dir,
        &Protection::Plaintext,
        &mut no_progress,
    )
    .unwrap();

    let c = Collect::read(Tool::Uwazi, &f.dir.join("incidents.csv"));
    assert!(c.problems.is_empty(), "{:#?}", c.problems);
    let incidents: Vec<&Incident> = c
        .units
        .iter()
        .map(|u| {
            u.records
                .iter()
                .find_map(|r| match &r.record {
                    Record::Incident(i) => Some(i),
                    _ => None,
                })
                .expect("an incident")
        })
        .collect();
    let night = incidents[0];
    assert_eq!(night.title, "Night raid");
    let start = night.start.unwrap();
    assert_eq!(
        (start.date, start.precision),
        (NaiveDate::from_ymd_opt(2024, 5, 2).unwrap(), Precision::Day)
    );
    let loc = night.location.as_ref().unwrap();
    assert_eq!((loc.lat, loc.lon), (Some(34.74), Some(10.76)));
    assert_eq!(
        (
            loc.place.as_str(),
            loc.region.as_str(),
            loc.country.as_str()
        ),
        ("Sfax", "Sfax governorate", "TN")
    );
    assert_eq!(night.act_types, vec!["arbitrary_arrest", "raid_or_search"]);
    let second = incidents[1];
    assert_eq!(second.start.unwrap().precision, Precision::Month);
    assert_eq!(
        second.start.unwrap().date,
        NaiveDate::from_ymd_opt(2024, 6, 1).unwrap()
    );
    assert_eq!(second.location.as_ref().unwrap().place, "Gabès");
    assert_eq!(second.act_types, vec!["torture"]);
    // The related incident was read first: linked again.
    assert_eq!(second.related, vec![c.units[0].records[1].id]);

    let c = Collect::read(Tool::Uwazi, &f.dir.join("cases.csv"));
    assert!(c.problems.is_empty(), "{:#?}", c.problems);
    let Record::Case(case) = &c.units[0].records[0].record else {
        panic!("no case")
    };
    assert_eq!(case.title, "Raid on the union office");
    assert_eq!(case.summary, "Unionists arrested in Sfax.");
    assert_eq!(case.tags, vec!["detention", "union"]);
    assert_eq!(case.status, CaseStatus::Monitoring);
    assert_eq!(case.confidentiality, Confidentiality::Confidential);
    assert_eq!(case.owner, "Leila");
    // Nothing else is lost: the id is kept with the unmapped fields.
    assert!(c.units[0]
        .unmapped
        .iter()
        .any(|x| x.name == "custos_id" && x.value == f.raid.to_string()));

    // A person file: each entity becomes a person (in a case of its own).
    let c = Collect::read(Tool::Uwazi, &f.dir.join("persons.csv"));
    assert!(c.problems.is_empty(), "{:#?}", c.problems);
    let persons: Vec<&Person> = c
        .units
        .iter()
        .filter_map(|u| {
            u.records.iter().find_map(|r| match &r.record {
                Record::Person(p) => Some(p),
                _ => None,
            })
        })
        .collect();
    assert_eq!(persons.len(), 2);
    let nour = persons.iter().find(|p| p.name == "Nour El Houda").unwrap();
    assert_eq!(nour.roles, vec![Role::Victim]);
    assert_eq!(
        nour.birth_date.unwrap().date,
        NaiveDate::from_ymd_opt(1990, 3, 4).unwrap()
    );
    assert_eq!(nour.other_names, vec!["N. H."]);
    assert_eq!(
        (nour.occupation.as_str(), nour.citizenship.as_str()),
        ("journalist", "TN")
    );
    assert!(!nour.is_group);

    // The interventions: each an intervention again, with its mechanism, type, status,
    // date, reference and channel. Read alone, the case it names was not read before it:
    // it comes in a case of its own, the name of its case kept.
    let c = Collect::read(Tool::Uwazi, &f.dir.join("interventions.csv"));
    assert!(c.problems.is_empty(), "{:#?}", c.problems);
    assert_eq!(c.units.len(), 1);
    let u = &c.units[0];
    let Record::Case(own) = &u.records[0].record else {
        panic!("no case")
    };
    assert_eq!(own.title, "Appeal to the Special Rapporteur");
    let appeal = u
        .records
        .iter()
        .find_map(|r| match &r.record {
            Record::Intervention(i) => Some(i),
            _ => None,
        })
        .expect("an intervention");
    assert_eq!(appeal.case_id, u.records[0].id);
    assert_eq!(appeal.title, "Appeal to the Special Rapporteur");
    assert_eq!(appeal.mechanism, "un_sr_hrd");
    assert_eq!(appeal.kind, InterventionType::UrgentAppeal);
    assert_eq!(appeal.status, InterventionStatus::Sent);
    assert_eq!(appeal.date, NaiveDate::from_ymd_opt(2024, 5, 10));
    assert_eq!(appeal.reference, "UA TUN 1/2024");
    assert_eq!(appeal.channel, "e-mail");
    let kept = |name: &str| {
        u.unmapped
            .iter()
            .find(|x| x.name == name)
            .map(|x| x.value.clone())
    };
    assert_eq!(kept("case").as_deref(), Some("Raid on the union office"));
    assert_eq!(kept("incidents").as_deref(), Some("Night raid"));
    assert_eq!(kept("on_behalf_of").as_deref(), Some("Nour El Houda"));
    assert!(kept("mechanism").is_none() && kept("intervention_status").is_none());
}

#[test]
fn an_intervention_after_its_case_in_one_file_comes_back_in_that_case() {
    let f = fixture();
    export_uwazi(
        &f.vault,
        &Selection::cases([f.raid]),
        &f.dir,
        &Protection::Plaintext,
        &mut no_progress,
    )
    .unwrap();
    // Uwazi's own export of a search holds entities of every template in one file, with
    // a Template column: the case's row, then the intervention's, as the export wrote
    // them (their columns side by side).
    let (case_headers, cases) = read_csv(&f.dir.join("cases.csv"));
    let (int_headers, ints) = read_csv(&f.dir.join("interventions.csv"));
    let mut headers = vec!["Template".to_owned()];
    headers.extend(case_headers.iter().cloned());
    let extra: Vec<&String> = int_headers
        .iter()
        .filter(|h| !case_headers.contains(h))
        .collect();
    headers.extend(extra.iter().map(|h| (*h).clone()));
    let mut w = csv::Writer::from_path(f.dir.join("search.csv")).unwrap();
    w.write_record(&headers).unwrap();
    let raid_row = cases
        .iter()
        .find(|r| cell(&case_headers, r, "title") == "Raid on the union office")
        .unwrap();
    let mut row = vec!["Case".to_owned()];
    row.extend(raid_row.iter().cloned());
    row.extend(extra.iter().map(|_| String::new()));
    w.write_record(&row).unwrap();
    let int_row = &ints[0];
    let mut row = vec!["Intervention".to_owned()];
    row.extend(case_headers.iter().map(|h| {
        int_headers
            .iter()
            .position(|x| x == h)
            .map(|i| int_row[i].clone())
            .unwrap_or_default()
    }));
    row.extend(
        extra
            .iter()
            .map(|h| cell(&int_headers, int_row, h).to_owned()),
    );
    w.write_record(&row).unwrap();
    w.flush().unwrap();

    let c = Collect::read(Tool::Uwazi, &f.dir.join("search.csv"));
    assert!(c.problems.is_empty(), "{:#?}", c.problems);
    assert_eq!(c.units.len(), 2);
    let raid = c.units[0].records[0].id;
    let Record::Case(case) = &c.units[0].records[0].record else {
        panic!("no case")
    };
    assert_eq!(case.title, "Raid on the union office");
    let Record::Intervention(appeal) = &c.units[1].records[0].record else {
        panic!("no intervention first: {:#?}", c.units[1].records)
    };
    assert_eq!(appeal.case_id, raid);
    assert_eq!(appeal.mechanism, "un_sr_hrd");
    assert_eq!(appeal.status, InterventionStatus::Sent);
    assert_eq!(appeal.date, NaiveDate::from_ymd_opt(2024, 5, 10));
    assert_eq!(appeal.reference, "UA TUN 1/2024");
    // Nothing of the row is lost: what has no home is a note about the intervention.
    let note = c.units[1]
        .records
        .iter()
        .find_map(|r| match &r.record {
            Record::Note(n) => Some(n),
            _ => None,
        })
        .expect("a note");
    assert_eq!(note.case_id, raid);
    assert!(
        note.text.contains("on_behalf_of: Nour El Houda"),
        "{}",
        note.text
    );
}

#[test]
fn a_selection_exports_only_its_cases() {
    let f = fixture();
    let stats = export_uwazi(
        &f.vault,
        &Selection::cases([f.other]),
        &f.dir,
        &Protection::Plaintext,
        &mut no_progress,
    )
    .unwrap();
    assert_eq!(stats.rows, 1);
    let (_, incidents) = read_csv(&f.dir.join("incidents.csv"));
    assert!(incidents.is_empty());
}

#[test]
fn an_existing_folder_is_refused_and_left_alone() {
    let f = fixture();
    std::fs::create_dir(&f.dir).unwrap();
    std::fs::write(f.dir.join("keep.txt"), "mine").unwrap();
    let e = export_uwazi(
        &f.vault,
        &Selection::all(),
        &f.dir,
        &Protection::Plaintext,
        &mut no_progress,
    )
    .unwrap_err();
    assert!(e.to_string().contains("already exists"), "{e}");
    assert_eq!(std::fs::read_dir(&f.dir).unwrap().count(), 1);
    // An unknown case: an error, and no folder left behind.
    let dest = f.dir.with_file_name("out2");
    assert!(export_uwazi(
        &f.vault,
        &Selection::cases([Uuid::from_u128(7)]),
        &dest,
        &Protection::Plaintext,
        &mut no_progress,
    )
    .is_err());
    assert!(!dest.exists());
}

#[test]
fn encrypted_every_file_is_an_age_file_that_decrypts_to_the_csv() {
    let f = fixture();
    let key = age::x25519::Identity::generate();
    let protection = Protection::AgeRecipient(key.to_public());
    let mut steps = Vec::new();
    let stats = export_uwazi(
        &f.vault,
        &Selection::all(),
        &f.dir,
        &protection,
        &mut |d, t| steps.push((d, t)),
    )
    .unwrap();
    assert_eq!(stats.files.len(), 6);
    let last = *steps.last().unwrap();
    assert_eq!(last.0, last.1, "progress ends at its total");
    for p in &stats.files {
        assert!(p.to_string_lossy().ends_with(".age"), "{}", p.display());
        let bytes = std::fs::read(p).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains("Night raid"));
    }
    let bytes = std::fs::read(f.dir.join("incidents.csv.age")).unwrap();
    let plain = age::decrypt(&key, &bytes).unwrap();
    assert!(String::from_utf8(plain).unwrap().starts_with("title,case,"));
}
