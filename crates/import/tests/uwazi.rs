//! The Uwazi reader against Uwazi's own test files (samples/uwazi, see SOURCE.md) and
//! against broken exports.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use custos_import::{Collect, FileSource, Problem, Sink, Stopped, Tool, Unit};
use custos_model::{Confidentiality, Precision, Record};

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples/uwazi")
        .join(name)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn case(u: &Unit) -> &custos_model::Case {
    match &u.records[0].record {
        Record::Case(c) => c,
        other => panic!("first record is not the case: {other:?}"),
    }
}

fn incident(u: &Unit) -> Option<&custos_model::Incident> {
    u.records.iter().find_map(|r| match &r.record {
        Record::Incident(i) => Some(i),
        _ => None,
    })
}

fn unmapped<'a>(u: &'a Unit, name: &str) -> Option<&'a str> {
    u.unmapped
        .iter()
        .find(|f| f.name == name)
        .map(|f| f.value.as_str())
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn one_problem(c: &Collect) -> &Problem {
    assert_eq!(c.problems.len(), 1, "{:#?}", c.problems);
    &c.problems[0]
}

#[test]
fn uwazi_own_export_example_reads_every_entity() {
    let c = Collect::read(Tool::Uwazi, &sample("export-example.csv"));
    assert!(c.problems.is_empty(), "{:#?}", c.problems);
    assert_eq!(c.units.len(), 2);

    let star = &c.units[0];
    assert_eq!(star.at, "export-example.csv line 2");
    let k = case(star);
    assert_eq!(k.title, "Star Lord  Wikipedia");
    assert_eq!(k.tags, vec!["Comic character"]);
    assert_eq!(k.confidentiality, Confidentiality::Public);
    let i = incident(star).expect("a geolocation makes an incident");
    let loc = i.location.as_ref().unwrap();
    assert_eq!((loc.lat, loc.lon), (Some(0.01), Some(37.02)));
    assert_eq!(loc.country, "ES");
    // The second geolocation, the thesaurus values, the relationship: kept as written.
    assert_eq!(
        unmapped(star, "Geolocation"),
        Some("45.974236866039696|2.154785156250431")
    );
    assert_eq!(
        unmapped(star, "Super powers"),
        Some("equipment::tricky weapons|ability::fly|equipment::spaceship")
    );
    assert_eq!(unmapped(star, "Nemesis"), Some("Thanos"));
    assert_eq!(unmapped(star, "Date added"), Some("2017-01-05"));
    // The document and the attachment live on the Uwazi server: kept as addresses.
    assert_eq!(
        unmapped(star, "Documents"),
        Some("/files/1483623310306rxeimbblc6u323xr.pdf")
    );
    assert_eq!(
        unmapped(star, "Attachments"),
        Some("https://cejil.uwazi.io/api/files/16636666131855z23xqq4fd8.csv")
    );
    assert!(star.files.is_empty());

    let scarecrow = &c.units[1];
    assert_eq!(case(scarecrow).title, "Scarecrow");
    assert_eq!(case(scarecrow).tags, vec!["Super Villian"]);
    assert!(
        incident(scarecrow).is_none(),
        "nothing of an incident in it"
    );
    assert_eq!(unmapped(scarecrow, "DOB"), Some("1941-09-23"));
    assert_eq!(unmapped(scarecrow, "Planets conquered"), Some("39"));
    assert_eq!(unmapped(scarecrow, "Sidekick"), Some("Man-bat"));

    // Every non-empty cell of the row is somewhere: title, template, published, the
    // location, or unmapped.
    assert_eq!(star.unmapped.len(), 8, "{:#?}", star.unmapped);
}

#[test]
fn ids_come_from_template_title_and_date_added_and_stay_the_same() {
    let a = Collect::read(Tool::Uwazi, &sample("export-example.csv"));
    let b = Collect::read(Tool::Uwazi, &sample("export-example.csv"));
    for (x, y) in a.units.iter().zip(&b.units) {
        assert_eq!(x.original_id, y.original_id);
        let ids = |u: &Unit| u.records.iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(ids(x), ids(y));
        assert!(x.original_id.starts_with("hash:"));
        assert_eq!(
            x.records[0].id,
            Tool::Uwazi.id(&format!("entity/{}/case", x.original_id))
        );
    }
    assert_ne!(a.units[0].original_id, a.units[1].original_id);
}

#[test]
fn uwazi_import_fixture_with_dates_geolocations_and_a_blank_line() {
    let c = Collect::read(Tool::Uwazi, &sample("import-test.csv"));
    assert!(c.problems.is_empty(), "{:#?}", c.problems);
    let lines: Vec<&str> = c.units.iter().map(|u| u.at.as_str()).collect();
    assert_eq!(
        lines,
        vec![
            "import-test.csv line 3",
            "import-test.csv line 4",
            "import-test.csv line 5"
        ]
    );
    // The fixture's date format is dd/MM/yyyy: 03/01/2022 is 3 January.
    let first = &c.units[0];
    let i = incident(first).unwrap();
    assert_eq!(i.start.unwrap().date, ymd(2022, 1, 3));
    assert_eq!(i.start.unwrap().precision, Precision::Day);
    // The order of day and month was assumed: the date stays as written too.
    assert_eq!(
        unmapped(first, "Date label (as written)"),
        Some("03/01/2022")
    );
    let loc = i.location.as_ref().unwrap();
    assert_eq!((loc.lat, loc.lon), (Some(1.0), Some(1.0)));
    assert_eq!(
        unmapped(first, "header.with.dots"),
        Some("header with dots value 1")
    );
    assert_eq!(unmapped(first, "Multi Select Label"), Some("multivalue1"));
    // An empty geolocation: no place.
    assert!(incident(&c.units[1]).unwrap().location.is_none());
    assert_eq!(
        unmapped(&c.units[2], "Multi Select Label"),
        Some("multivalue1|multivalue3")
    );
}

#[test]
fn zip_import_takes_documents_and_attachments_from_the_archive() {
    let zip = sample("import.zip");
    let c = Collect::read(Tool::Uwazi, &zip);
    assert!(c.problems.is_empty(), "{:#?}", c.problems);
    let files: Vec<Vec<&str>> = c
        .units
        .iter()
        .map(|u| u.files.iter().map(|f| f.name.as_str()).collect())
        .collect();
    assert_eq!(
        files,
        vec![
            vec!["1.pdf", "att1.doc"],
            vec!["2.pdf", "att1.doc", "att2.jpg"],
            vec!["3.pdf"]
        ]
    );
    let f = &c.units[0].files[0];
    assert_eq!(
        f.source,
        FileSource::Zip {
            archive: zip.clone(),
            entry: "1.pdf".into()
        }
    );
    assert_eq!(f.case_id, c.units[0].records[0].id);
    assert_eq!(f.original_id, "1.pdf");
    // The same attachment in two entities: two evidence items, two ids.
    assert_ne!(c.units[0].files[1].id, c.units[1].files[1].id);
    // The same files read from the folder they were zipped from.
    let plain = Collect::read(Tool::Uwazi, &sample("zip-data/import.csv"));
    assert!(plain.problems.is_empty(), "{:#?}", plain.problems);
    assert_eq!(
        plain.units[1].files[2].source,
        FileSource::Path(sample("zip-data/att2.jpg"))
    );
}

#[test]
fn translations_are_kept_and_short_rows_read_as_uwazi_reads_them() {
    let c = Collect::read(Tool::Uwazi, &sample("import-languages.zip"));
    assert!(c.problems.is_empty(), "{:#?}", c.problems);
    assert_eq!(c.units.len(), 3);
    let u = &c.units[0];
    assert_eq!(case(u).title, "title_es1");
    assert_eq!(unmapped(u, "Title__en"), Some("title_en1"));
    assert_eq!(unmapped(u, "text_label__es"), Some("text_es1"));
    let langs: Vec<Option<&str>> = u
        .files
        .iter()
        .map(|f| {
            f.metadata
                .iter()
                .find(|m| m.name == "Language")
                .map(|m| m.value.as_str())
        })
        .collect();
    assert_eq!(langs, vec![Some("es"), Some("en"), None, None]);
    let ids: std::collections::HashSet<_> = u.files.iter().map(|f| f.id).collect();
    assert_eq!(
        ids.len(),
        4,
        "a document and an attachment of one name: two ids"
    );
    assert_eq!(case(&c.units[2]).title, "title_es3");
}

#[test]
fn a_zip_without_import_csv_is_refused_as_uwazi_refuses_it() {
    let c = Collect::read(Tool::Uwazi, &sample("zipTest.zip"));
    assert!(c.units.is_empty());
    let p = one_problem(&c);
    assert!(p.message.contains("no import.csv"), "{p}");
    assert!(p.message.contains("test.csv"), "{p}");
}

#[test]
fn human_rights_export_maps_dates_places_acts_and_relationships() {
    let c = Collect::read(Tool::Uwazi, &sample("hr-export/incidents.csv"));
    assert!(c.problems.is_empty(), "{:#?}", c.problems);
    let (arrest, raid) = (&c.units[0], &c.units[1]);
    assert_eq!(
        case(arrest).summary,
        "Detained at the central station; released after three days."
    );
    let i = incident(arrest).unwrap();
    assert_eq!(i.title, "Arrest of Amina K.");
    assert_eq!(i.start.unwrap().date, ymd(2023, 2, 14));
    assert_eq!(i.act_types, vec!["arbitrary_arrest", "torture"]);
    assert_eq!(unmapped(arrest, "Violations"), Some("Threats by phone"));
    assert_eq!(unmapped(arrest, "Perpetrator"), Some("Police"));
    // The document is beside the CSV; the attachment is only a URL.
    assert_eq!(arrest.files.len(), 1);
    assert_eq!(arrest.files[0].name, "1677750000000abc.pdf");
    assert!(arrest.files[0]
        .metadata
        .iter()
        .any(|m| m.value == "/files/1677750000000abc.pdf"));
    assert_eq!(
        unmapped(arrest, "Attachments"),
        Some("https://example.uwazi.io/api/files/1677750000001def.jpg")
    );

    let r = incident(raid).unwrap();
    assert_eq!(r.start.unwrap().date, ymd(2023, 2, 10));
    assert_eq!(r.end.unwrap().date, ymd(2023, 2, 12));
    assert_eq!(
        r.act_types,
        vec!["extrajudicial_execution", "raid_or_search"]
    );
    assert_eq!(case(raid).confidentiality, Confidentiality::Restricted);
    // The relationship names an entity read before: linked, and kept as text.
    assert_eq!(r.related, vec![arrest.records[1].id]);
    assert_eq!(
        unmapped(raid, "Related incidents"),
        Some("Related: Arrest of Amina K.")
    );
}

#[test]
fn relationships_link_only_backwards_and_without_an_incident_through_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "e.csv",
        "Title,Template,Related cases,Date of incident\n\
         First,Case,Third,\n\
         Second,Case,First|Nobody,\n\
         Third,Case,,2024/05/01\n\
         Fourth,Case,Third,2024/05/02\n",
    );
    let c = Collect::read(Tool::Uwazi, &p);
    assert!(c.problems.is_empty(), "{:#?}", c.problems);
    let [first, second, third, fourth] = &c.units[..] else {
        panic!("{} units", c.units.len())
    };
    // "Third" comes later: no link, only the text.
    assert_eq!(first.records.len(), 1);
    assert_eq!(unmapped(first, "Related cases"), Some("Related: Third"));
    // No incident on either side: a note about the earlier case.
    let note = second
        .records
        .iter()
        .find_map(|r| match &r.record {
            Record::Note(n) => Some(n),
            _ => None,
        })
        .expect("a note");
    assert_eq!(note.about, vec![first.records[0].id]);
    assert!(note.text.contains("First | Nobody"), "{}", note.text);
    assert!(incident(third).unwrap().related.is_empty());
    assert_eq!(incident(fourth).unwrap().related, vec![third.records[1].id]);
}

#[test]
fn shared_ids_name_the_entity_and_may_not_repeat() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "import.csv",
        "title,id,description\nOne,abc123,first\nTwo,abc123,second\nThree,,third\n",
    );
    let c = Collect::read(Tool::Uwazi, &p);
    assert_eq!(c.units.len(), 2);
    assert_eq!(c.units[0].original_id, "abc123");
    assert_eq!(
        c.units[0].records[0].id,
        Tool::Uwazi.id("entity/abc123/case")
    );
    assert_eq!(case(&c.units[0]).summary, "first");
    assert!(c.units[1].original_id.starts_with("hash:"));
    let p = one_problem(&c);
    assert_eq!(p.at, "import.csv line 3");
    assert!(p.message.contains("line 2"), "{p}");
}

#[test]
fn rows_alike_in_template_title_and_date_get_distinct_ids() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "e.csv",
        "Title,Date added,Template\nSame,2020-01-01,T\nSame,2020-01-01,T\n",
    );
    let c = Collect::read(Tool::Uwazi, &p);
    assert_eq!(c.units.len(), 2);
    assert_eq!(
        c.units[1].original_id,
        format!("{}#2", c.units[0].original_id)
    );
    assert_ne!(c.units[0].records[0].id, c.units[1].records[0].id);
}

#[test]
fn broken_cells_are_problems_at_their_line_and_column_and_the_rest_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "e.csv",
        "Title,Date of incident,Geolocation,Country\n\
         Good,2024-01-02,10|20,KE\n\
         Bad date,2024-02-30,,\n\
         Bad place,2024-01-02,95|20,\n\
         Too many,2024-01-02,,KE,extra\n\
         Also good,2024/03,,UG\n",
    );
    let c = Collect::read(Tool::Uwazi, &p);
    let titles: Vec<&str> = c.units.iter().map(|u| case(u).title.as_str()).collect();
    assert_eq!(titles, vec!["Good", "Also good"]);
    let at: Vec<&str> = c.problems.iter().map(|p| p.at.as_str()).collect();
    assert_eq!(
        at,
        vec![
            "e.csv line 3, column \"Date of incident\"",
            "e.csv line 4, column \"Geolocation\"",
            "e.csv line 5",
        ],
        "{:#?}",
        c.problems
    );
    assert!(c.problems[0].message.contains("2024-02-30"));
    assert!(c.problems[1].message.contains("95|20"));
    assert!(c.problems[2].message.contains("\"extra\""));
    let month = incident(&c.units[1]).unwrap().start.unwrap();
    assert_eq!(
        (month.date, month.precision),
        (ymd(2024, 3, 1), Precision::Month)
    );
}

#[test]
fn a_file_cut_off_in_its_last_row_is_truncated() {
    let text = std::fs::read_to_string(sample("hr-export/incidents.csv")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Cut inside the second entity's quoted geolocation.
    let cut = text.find("\"-1.28|").unwrap() + 4;
    let p = write(dir.path(), "incidents.csv", &text[..cut]);
    let c = Collect::read(Tool::Uwazi, &p);
    assert_eq!(c.units.len(), 1);
    let p = one_problem(&c);
    assert_eq!(p.at, "incidents.csv line 3");
    assert!(p.message.contains("cut off"), "{p}");
}

#[test]
fn a_missing_file_of_an_import_file_is_a_problem_and_unsafe_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("here.pdf"), b"%PDF").unwrap();
    let p = write(
        dir.path(),
        "import.csv",
        "title,file,attachments\nA,here.pdf,gone.jpg\nB,../secret.txt,\nC,,here.pdf\n",
    );
    let c = Collect::read(Tool::Uwazi, &p);
    let titles: Vec<&str> = c.units.iter().map(|u| case(u).title.as_str()).collect();
    assert_eq!(titles, vec!["C"]);
    assert_eq!(c.problems.len(), 2, "{:#?}", c.problems);
    assert_eq!(
        c.problems[0].at,
        "import.csv line 2, column \"attachments\""
    );
    assert!(c.problems[0].message.contains("gone.jpg"));
    assert_eq!(c.problems[1].at, "import.csv line 3, column \"file\"");
    assert_eq!(
        c.units[0].files[0].source,
        FileSource::Path(dir.path().join("here.pdf"))
    );
}

#[test]
fn empty_and_headless_exports_say_so() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text, says) in [
        ("empty.csv", "", "empty"),
        ("header.csv", "Title,Template\n", "no entity"),
        ("notitle.csv", "Name,Template\nA,B\n", "no Title column"),
    ] {
        let c = Collect::read(Tool::Uwazi, &write(dir.path(), name, text));
        assert!(c.units.is_empty(), "{name}");
        assert!(
            one_problem(&c).message.contains(says),
            "{name}: {:?}",
            c.problems
        );
    }
    let c = Collect::read(Tool::Uwazi, &dir.path().join("absent.csv"));
    assert!(one_problem(&c).message.contains("no such file"));
    let c = Collect::read(Tool::Uwazi, &write(dir.path(), "bad.zip", "not a zip"));
    assert!(one_problem(&c).message.contains("zip"));
}

#[test]
fn a_row_that_is_not_utf8_is_a_problem_and_the_next_row_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("e.csv");
    std::fs::write(&p, b"Title,Country\nOk,KE\nBad\xff\xfe,KE\nAlso ok,UG\n").unwrap();
    let c = Collect::read(Tool::Uwazi, &p);
    let titles: Vec<&str> = c.units.iter().map(|u| case(u).title.as_str()).collect();
    assert_eq!(titles, vec!["Ok", "Also ok"]);
    let p = one_problem(&c);
    assert!(p.at.starts_with("e.csv line 3"), "{p}");
    assert!(p.message.contains("UTF-8"), "{p}");
}

#[test]
fn semicolons_bom_and_an_export_folder_are_read() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "export.csv",
        "\u{feff}Title;Violations;Fecha del incidente\n\"Detención\";Tortura|Detención arbitraria;15/06/2021\n",
    );
    let c = Collect::read(Tool::Uwazi, dir.path());
    assert!(c.problems.is_empty(), "{:#?}", c.problems);
    let i = incident(&c.units[0]).unwrap();
    assert_eq!(i.act_types, vec!["torture", "arbitrary_detention"]);
    assert_eq!(i.start.unwrap().date, ymd(2021, 6, 15));
    assert!(
        c.progress.1 > 0 && c.progress.0 == c.progress.1,
        "{:?}",
        c.progress
    );
}

#[test]
fn a_refused_unit_stops_the_reader_at_once() {
    struct Refuse(usize);
    impl Sink for Refuse {
        fn unit(&mut self, _: Unit) -> Result<(), Stopped> {
            self.0 += 1;
            Err(Stopped)
        }
        fn problem(&mut self, _: Problem) {}
        fn progress(&mut self, _: u64, _: u64) {}
    }
    let mut s = Refuse(0);
    assert_eq!(
        Tool::Uwazi.read(&sample("import-test.csv"), &mut s),
        Err(Stopped)
    );
    assert_eq!(s.0, 1);
}

#[test]
fn entities_of_a_person_template_become_persons() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "e.csv",
        "Title,Template,Sexo,Fecha de nacimiento,Rol,Country\n\
         Ana M.,Víctimas,F,1985,Víctima|Lideresa,CO\n\
         Bad birth,Víctimas,,someday,,\n\
         Event,Incidente,F,,,CO\n",
    );
    let c = Collect::read(Tool::Uwazi, &p);
    let p = one_problem(&c);
    assert_eq!(p.at, "e.csv line 3, column \"Fecha de nacimiento\"");
    let ana = &c.units[0];
    let person = ana
        .records
        .iter()
        .find_map(|r| match &r.record {
            Record::Person(p) => Some(p),
            _ => None,
        })
        .expect("a person");
    assert_eq!(person.name, "Ana M.");
    assert_eq!(person.case_id, ana.records[0].id);
    assert_eq!(person.sex, "F");
    let born = person.birth_date.unwrap();
    assert_eq!(
        (born.date, born.precision),
        (ymd(1985, 1, 1), Precision::Year)
    );
    assert_eq!(person.roles, vec![custos_model::Role::Victim]);
    assert_eq!(unmapped(ana, "Rol"), Some("Lideresa"));
    // Not a person template and one person column only: the sex stays as written.
    let event = &c.units[1];
    assert!(event
        .records
        .iter()
        .all(|r| !matches!(r.record, Record::Person(_))));
    assert_eq!(unmapped(event, "Sexo"), Some("F"));
}

#[test]
fn a_large_export_streams_unit_by_unit_with_progress() {
    struct Count {
        units: usize,
        problems: usize,
        steps: Vec<(u64, u64)>,
    }
    impl Sink for Count {
        fn unit(&mut self, u: Unit) -> Result<(), Stopped> {
            assert!(u.records.len() >= 2);
            self.units += 1;
            Ok(())
        }
        fn problem(&mut self, _: Problem) {
            self.problems += 1;
        }
        fn progress(&mut self, done: u64, total: u64) {
            self.steps.push((done, total));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.csv");
    {
        use std::io::Write;
        let mut w = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
        writeln!(
            w,
            "Title,Date added,Template,Date of incident,Violations,Geolocation"
        )
        .unwrap();
        for n in 0..20_000 {
            writeln!(
                w,
                "Entity {n},2024-01-01,Incident,2023-{:02}-{:02},Torture|Threat,\"{}|{}\"",
                n % 12 + 1,
                n % 28 + 1,
                (n % 90) as f64 * 0.5,
                (n % 180) as f64 * 0.5
            )
            .unwrap();
        }
    }
    let size = std::fs::metadata(&p).unwrap().len();
    let mut s = Count {
        units: 0,
        problems: 0,
        steps: Vec::new(),
    };
    Tool::Uwazi.read(&p, &mut s).unwrap();
    assert_eq!((s.units, s.problems), (20_000, 0));
    assert!(s.steps.len() > 100, "progress now and then");
    assert!(s.steps.windows(2).all(|w| w[0].0 <= w[1].0));
    assert_eq!(*s.steps.last().unwrap(), (size, size));
}

fn intervention(u: &Unit) -> Option<(uuid::Uuid, &custos_model::Intervention)> {
    u.records.iter().find_map(|r| match &r.record {
        Record::Intervention(i) => Some((r.id, i)),
        _ => None,
    })
}

const INTERVENTIONS: &str = "\
Title,Template,Case,Mechanism,Intervention type,Sent on,Intervention status,Reference,Incidents,Date of incident,Status\n\
Raid on the union office,Case,,,,,,,,,Monitoring\n\
Night raid,Incident,,,,,,,,2024/05/02,\n\
Appeal to the Special Rapporteur,Intervention,Raid on the union office,un_sr_hrd,Urgent appeal,2024/05/10,Sent,UA TUN 1/2024,Night raid,,\n\
Letter to the Working Group,Urgent appeal,A case never exported,Grupo de Trabajo de las Naciones Unidas sobre la Detención Arbitraria,allegation_letter,2024/06,Acknowledged,REF 2,,,Open\n\
Petition to parliament,Intervention,,Parliament of Atlantis,Open letter,2024/07/01,Pending,R3,,,\n\
Nour El Houda,Person,Raid on the union office,,,,,,,,\n";

#[test]
fn intervention_entities_become_interventions_with_mechanism_type_status_date_reference() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "search.csv", INTERVENTIONS);
    let c = Collect::read(Tool::Uwazi, &p);
    assert!(c.problems.is_empty(), "{:#?}", c.problems);
    assert_eq!(c.units.len(), 6);
    let raid = c.units[0].records[0].id;
    assert_eq!(case(&c.units[0]).title, "Raid on the union office");
    let night = incident(&c.units[1]).map(|_| c.units[1].records[1].id);

    // Named by its code, into the case read before it, concerning an earlier incident.
    let appeal = &c.units[2];
    let (appeal_id, i) = intervention(appeal).expect("an intervention");
    assert_eq!(appeal.records[0].id, appeal_id, "no case of its own");
    assert_eq!(i.case_id, raid);
    assert_eq!(i.title, "Appeal to the Special Rapporteur");
    assert_eq!(i.mechanism, "un_sr_hrd");
    assert_eq!(i.kind, custos_model::InterventionType::UrgentAppeal);
    assert_eq!(i.status, custos_model::InterventionStatus::Sent);
    assert_eq!(i.date, Some(ymd(2024, 5, 10)));
    assert_eq!(i.reference, "UA TUN 1/2024");
    assert_eq!(i.incident_ids, night.into_iter().collect::<Vec<_>>());
    // What its own case would have taken (the template) is kept in a note about it:
    // the case keeps one note of unmapped fields, its own entity's.
    assert!(appeal.unmapped.is_empty());
    let note = appeal
        .records
        .iter()
        .find_map(|r| match &r.record {
            Record::Note(n) if n.text.contains("with no place in Custos") => Some(n),
            _ => None,
        })
        .expect("a note of the unmapped fields");
    assert_eq!((note.case_id, note.about.clone()), (raid, vec![appeal_id]));
    assert!(
        note.text.contains("Template: Intervention"),
        "{}",
        note.text
    );
    assert!(
        note.text.contains("Incidents: Related: Night raid"),
        "{}",
        note.text
    );

    // Named by a Spanish label, of a template named for appeals, its case unknown: a
    // case of its own, which takes the case's status.
    let letter = &c.units[3];
    let k = case(letter);
    assert_eq!(k.title, "Letter to the Working Group");
    assert_eq!(k.tags, vec!["Urgent appeal"]);
    assert_eq!(k.status, custos_model::CaseStatus::Open);
    let (_, i) = intervention(letter).expect("an intervention");
    assert_eq!(i.case_id, letter.records[0].id);
    assert_eq!(i.mechanism, "un_wgad");
    assert_eq!(i.kind, custos_model::InterventionType::AllegationLetter);
    assert_eq!(i.status, custos_model::InterventionStatus::Acknowledged);
    // A month: its first day, and the date as written kept.
    assert_eq!(i.date, Some(ymd(2024, 6, 1)));
    assert_eq!(unmapped(letter, "Sent on (as written)"), Some("2024/06"));
    assert_eq!(unmapped(letter, "Case"), Some("A case never exported"));

    // No mechanism, type or status of the vocabularies: empty, defaults, kept as written.
    let petition = &c.units[4];
    let (_, i) = intervention(petition).expect("an intervention");
    assert_eq!(i.mechanism, "");
    assert_eq!(i.kind, custos_model::InterventionType::Other);
    assert_eq!(i.status, custos_model::InterventionStatus::Draft);
    assert_eq!(i.reference, "R3");
    assert_eq!(
        unmapped(petition, "Mechanism"),
        Some("Parliament of Atlantis")
    );
    assert_eq!(unmapped(petition, "Intervention type"), Some("Open letter"));
    assert_eq!(unmapped(petition, "Intervention status"), Some("Pending"));

    // A person naming an earlier case goes into it too.
    let nour = &c.units[5];
    match &nour.records[0].record {
        Record::Person(p) => {
            assert_eq!(p.name, "Nour El Houda");
            assert_eq!(p.case_id, raid);
        }
        other => panic!("not a person: {other:?}"),
    }

    // The case and the incident entities are what they were.
    assert!(intervention(&c.units[0]).is_none());
    assert!(intervention(&c.units[1]).is_none());

    // Ids are the same on every read.
    let again = Collect::read(Tool::Uwazi, &p);
    let ids = |c: &Collect| -> Vec<uuid::Uuid> {
        c.units
            .iter()
            .flat_map(|u| u.records.iter().map(|r| r.id))
            .collect()
    };
    assert_eq!(ids(&c), ids(&again));
}

#[test]
fn a_file_named_for_interventions_reads_its_rows_as_interventions() {
    let dir = tempfile::tempdir().unwrap();
    // An import file: property names, no template; the name says what it holds.
    let p = write(
        dir.path(),
        "appeals.csv",
        "title,reference,date\nTo the Rapporteur,UA 7/2025,2025/02/03\n",
    );
    let c = Collect::read(Tool::Uwazi, &p);
    assert!(c.problems.is_empty(), "{:#?}", c.problems);
    let u = &c.units[0];
    assert_eq!(case(u).title, "To the Rapporteur");
    let (_, i) = intervention(u).expect("an intervention");
    assert_eq!(i.reference, "UA 7/2025");
    // Without a column of the date sent, the entity's date is the date sent: no incident.
    assert_eq!(i.date, Some(ymd(2025, 2, 3)));
    assert!(incident(u).is_none());

    // The same columns in a file named for nothing in particular: a case, kept as written.
    let p = write(
        dir.path(),
        "entities.csv",
        "title,reference\nTo the Rapporteur,UA 7/2025\n",
    );
    let c = Collect::read(Tool::Uwazi, &p);
    assert!(intervention(&c.units[0]).is_none());
    assert_eq!(unmapped(&c.units[0], "reference"), Some("UA 7/2025"));
}

#[test]
fn a_bad_date_of_an_intervention_is_a_problem_at_its_cell_and_the_rest_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "interventions.csv",
        "title,mechanism,sent_on,follow_up\n\
         First,un_wgad,someday,\n\
         Second,un_wgad,2024/01/02,2024/13/45\n\
         Third,un_wgad,2024/01/02,2024/03/04\n",
    );
    let c = Collect::read(Tool::Uwazi, &p);
    assert_eq!(c.problems.len(), 2, "{:#?}", c.problems);
    assert_eq!(
        c.problems[0].at,
        "interventions.csv line 2, column \"sent_on\""
    );
    assert!(c.problems[0].message.contains("\"someday\" is not a date"));
    assert_eq!(
        c.problems[1].at,
        "interventions.csv line 3, column \"follow_up\""
    );
    assert_eq!(c.units.len(), 1);
    let (_, i) = intervention(&c.units[0]).expect("an intervention");
    assert_eq!(i.title, "Third");
    assert_eq!(
        (i.date, i.follow_up),
        (Some(ymd(2024, 1, 2)), Some(ymd(2024, 3, 4)))
    );
}

#[test]
fn interventions_import_into_the_case_they_name_and_keep_every_field() {
    use custos_import::engine;
    use custos_model::Kind;
    use custos_vault::{Filter, Vault};

    let tmp = tempfile::tempdir().unwrap();
    let mut vault = Vault::create(
        &tmp.path().join("vault"),
        &custos_test_support::pass(),
        custos_test_support::FAST,
    )
    .unwrap();
    let p = write(tmp.path(), "search.csv", INTERVENTIONS);
    let done = engine::import(&mut vault, Tool::Uwazi, &p, &mut |_, _, _| {}).unwrap();
    assert!(
        done.preview.problems.is_empty(),
        "{:#?}",
        done.preview.problems
    );
    let of = |kind: Kind, case_id: Option<uuid::Uuid>| {
        vault
            .list(&Filter {
                kind: Some(kind),
                case_id,
                ..Filter::default()
            })
            .into_iter()
            .filter_map(|i| vault.get(i.record_id).ok().and_then(|e| e.record.clone()))
            .collect::<Vec<Record>>()
    };
    // The case, the incident's, the letter's and the petition's: the appeal and the
    // person made none.
    assert_eq!(of(Kind::Case, None).len(), 4);
    assert_eq!(of(Kind::Intervention, None).len(), 3);
    let c = Collect::read(Tool::Uwazi, &p);
    let raid = c.units[0].records[0].id;
    let in_raid = of(Kind::Intervention, Some(raid));
    assert!(
        matches!(&in_raid[..], [Record::Intervention(i)] if i.reference == "UA TUN 1/2024"),
        "{in_raid:#?}"
    );
    // The case's own note of unmapped fields and the appeal's both: nothing is lost.
    let notes = of(Kind::Note, Some(raid));
    let texts: Vec<&str> = notes
        .iter()
        .filter_map(|r| match r {
            Record::Note(n) => Some(n.text.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        texts.iter().any(|t| t.contains("Template: Intervention")),
        "{texts:#?}"
    );
    assert!(
        texts.iter().any(|t| t.contains("Template: Person")),
        "{texts:#?}"
    );

    // Imported again: nothing new.
    let again = engine::import(&mut vault, Tool::Uwazi, &p, &mut |_, _, _| {}).unwrap();
    assert_eq!(again.records, 0);
}
