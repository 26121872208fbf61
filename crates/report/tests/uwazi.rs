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

    for file in ["persons.csv", "interventions.csv"] {
        let c = Collect::read(Tool::Uwazi, &f.dir.join(file));
        assert!(c.problems.is_empty(), "{file}: {:#?}", c.problems);
        assert!(!c.units.is_empty(), "{file}");
    }
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
