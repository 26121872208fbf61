//! The ODK importer against Briefcase's and Central's exports (samples/odk, see its
//! SOURCE.md), and every way an export can be wrong.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use custos_import::{Collect, Field, FileSource, Problem, Tool, Unit};
use custos_model::{Precision, Record, Role};

fn sample(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples/odk")
        .join(rel)
}

fn read(path: &Path) -> Collect {
    Collect::read(Tool::Odk, path)
}

fn field<'a>(unit: &'a Unit, name: &str) -> Option<&'a str> {
    unit.unmapped
        .iter()
        .find(|f| f.name == name)
        .map(|f| f.value.as_str())
}

fn case(unit: &Unit) -> &custos_model::Case {
    match &unit.records[0].record {
        Record::Case(c) => c,
        other => panic!("the first record is not the case: {other:?}"),
    }
}

fn kinds(unit: &Unit) -> Vec<&'static str> {
    unit.records
        .iter()
        .map(|i| i.record.kind().as_str())
        .collect()
}

fn problems(c: &Collect) -> Vec<String> {
    c.problems.iter().map(Problem::to_string).collect()
}

/// Copies a sample folder into a temporary one, to spoil it.
fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// Writes a zip of (name, bytes) entries.
fn write_zip(path: &Path, entries: &[(&str, &[u8])]) {
    let mut z = zip::ZipWriter::new(fs::File::create(path).unwrap());
    for (name, bytes) in entries {
        z.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap();
}

/// The entries of a sample zip.
fn zip_entries(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(fs::File::open(path).unwrap()).unwrap();
    let mut out = Vec::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).unwrap();
        if f.is_dir() {
            continue;
        }
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut b).unwrap();
        out.push((f.name().unwrap().to_string(), b));
    }
    out
}

// ---------------------------------------------------------------------------------
// Briefcase's own export fixtures.

#[test]
fn briefcase_nested_repeats_keep_every_row_under_its_path() {
    let c = read(&sample("briefcase/nested-repeats"));
    assert_eq!(problems(&c), Vec::<String>::new());
    assert_eq!(c.units.len(), 1);
    let u = &c.units[0];
    assert_eq!(u.original_id, "uuid:0a1b861f-a5fd-4f49-846a-78dcf06cfc1b");
    assert_eq!(u.at, "nested-repeats.csv line 2");
    assert_eq!(kinds(u), ["case"]);
    let case = case(u);
    assert_eq!(case.title, "nested-repeats submission 2018-02-01 11:35");
    assert_eq!(case.tags, ["nested-repeats"]);
    // 3 + 4 + 5 rows of the three levels, each under its KEY path.
    assert_eq!(field(u, "g1[1] t1"), Some("some text 1"));
    assert_eq!(field(u, "g1[3] t1"), Some("some text 3"));
    assert_eq!(field(u, "g1[1]/g2[2] t2"), Some("some text 1.2"));
    assert_eq!(field(u, "g1[3]/g2[1]/g3[4] t3"), Some("some text 3.1.4"));
    let repeat_fields = u.unmapped.iter().filter(|f| f.name.contains('[')).count();
    assert_eq!(repeat_fields, 3 + 4 + 5);
    // Provenance kept; the structural SET-OF columns and KEY (= instanceID) are not.
    assert_eq!(field(u, "SubmissionDate"), Some("Feb 1, 2018 11:35:19 AM"));
    assert_eq!(
        field(u, "meta-instanceID"),
        Some("uuid:0a1b861f-a5fd-4f49-846a-78dcf06cfc1b")
    );
    assert!(u.unmapped.iter().all(|f| !f.name.starts_with("SET-OF")));
    assert_eq!(field(u, "KEY"), None);
    assert_eq!(c.progress.0, c.progress.1);
    assert!(c.progress.1 > 0);
}

#[test]
fn briefcase_media_file_becomes_evidence_of_the_case() {
    let dir = sample("briefcase/media-files");
    let c = read(&dir.join("media-files.csv"));
    assert_eq!(problems(&c), Vec::<String>::new());
    assert_eq!(c.units.len(), 1);
    let u = &c.units[0];
    assert_eq!(u.files.len(), 1);
    let f = &u.files[0];
    assert_eq!(f.name, "1524644764247.jpg");
    assert_eq!(
        f.source,
        FileSource::Path(dir.join("media/1524644764247.jpg"))
    );
    assert_eq!(
        f.original_id,
        "uuid:98a1380a-0b3d-40f2-be44-ca8d107d4528/1524644764247.jpg"
    );
    assert_eq!(f.case_id, u.records[0].id);
    assert!(f.attached_to.is_empty());
    assert_eq!(
        f.created.map(|t| t.to_rfc3339()),
        Some("2018-04-18T07:34:28+00:00".to_string())
    );
    assert!(f.metadata.contains(&Field {
        name: "column".into(),
        value: "image".into()
    }));
    // The file has its home: the cell is not also an unmapped field.
    assert_eq!(field(u, "image"), None);
    // The KEY is the instanceID when the form has no meta-instanceID column: kept.
    assert_eq!(
        field(u, "KEY"),
        Some("uuid:98a1380a-0b3d-40f2-be44-ca8d107d4528")
    );
}

#[test]
fn briefcase_media_missing_from_the_export_is_a_problem() {
    // Briefcase's own "tt-missing" fixture: the CSV names media/1524644764247.jpg, the
    // media folder is empty.
    let c = read(&sample("briefcase/media-files-missing"));
    assert_eq!(
        problems(&c),
        ["media-files.csv line 2: 1524644764247.jpg is not in media/ (named in image)"]
    );
    assert!(c.units[0].files.is_empty());
}

#[test]
fn briefcase_all_data_types_keep_their_values_and_the_point_makes_an_incident() {
    let c = read(&sample("briefcase/all-data-types"));
    assert_eq!(problems(&c), Vec::<String>::new());
    let u = &c.units[0];
    assert_eq!(kinds(u), ["case", "incident"]);
    let Record::Incident(inc) = &u.records[1].record else {
        panic!()
    };
    let loc = inc.location.as_ref().unwrap();
    assert_eq!(loc.lat, Some(43.3149254));
    assert_eq!(loc.lon, Some(-1.9869671));
    // "some_date" names no incident's date: kept as it was.
    assert_eq!(inc.start, None);
    assert_eq!(field(u, "some_date"), Some("Apr 26, 2018"));
    assert_eq!(field(u, "some_date_time"), Some("Apr 26, 2018 8:56:00 AM"));
    // Everything else kept as it was.
    assert_eq!(field(u, "some_string"), Some("Hola"));
    assert_eq!(field(u, "some_decimal"), Some("123.456"));
    assert_eq!(field(u, "some_time"), Some("8:56:00 AM"));
    assert_eq!(
        field(u, "some_geopoint-Altitude"),
        Some("71.80000305175781")
    );
    assert_eq!(field(u, "some_geopoint-Accuracy"), Some("15.478"));
    assert!(field(u, "some_geotrace")
        .unwrap()
        .starts_with("43.314926 -1.9869713"));
    assert_eq!(field(u, "some_barcode"), Some("000049499094"));
    assert_eq!(field(u, "some_geopoint-Latitude"), None);
}

#[test]
fn briefcase_colon_groups_witness_repeat_and_recording() {
    let dir = sample("briefcase/witness_report");
    let c = read(&dir);
    assert_eq!(problems(&c), Vec::<String>::new());
    let u = &c.units[0];
    assert_eq!(u.original_id, "uuid:5d1e9b2a-8c3f-4e7d-a6b1-0f2e3d4c5b61");
    assert_eq!(kinds(u), ["case", "person", "incident"]);
    let case = case(u);
    assert_eq!(
        case.summary,
        "Soldiers beat two traders and took their goods."
    );
    let Record::Person(p) = &u.records[1].record else {
        panic!()
    };
    assert_eq!(p.name, "Okello James");
    assert_eq!(p.roles, [Role::Witness]);
    let Record::Incident(inc) = &u.records[2].record else {
        panic!()
    };
    assert_eq!(inc.start.unwrap().date.to_string(), "2024-03-01");
    assert_eq!(inc.location.as_ref().unwrap().place, "Gulu market");
    assert_eq!(inc.persons.len(), 1);
    assert_eq!(inc.persons[0].person_id, u.records[1].id);
    assert_eq!(inc.persons[0].role, Role::Witness);
    assert_eq!(
        field(u, "witness[1] statement"),
        Some("I saw it from my stall.")
    );
    assert_eq!(u.files.len(), 1);
    assert_eq!(u.files[0].name, "1709374500123.m4a");
    assert_eq!(u.files[0].attached_to, [u.records[1].id]);
    assert_eq!(
        u.files[0].source,
        FileSource::Path(dir.join("media/1709374500123.m4a"))
    );
}

// ---------------------------------------------------------------------------------
// Central's exports (built exactly as central-backend's exporter and tests state).

#[test]
fn central_repeat_rows_follow_their_submissions() {
    let c = read(&sample("central/withrepeat.zip"));
    assert_eq!(problems(&c), Vec::<String>::new());
    let ids: Vec<&str> = c.units.iter().map(|u| u.original_id.as_str()).collect();
    assert_eq!(ids, ["rthree", "rtwo", "rone"]);
    let two = &c.units[1];
    assert_eq!(field(two, "name"), Some("Bob"));
    assert_eq!(field(two, "age"), Some("34"));
    assert_eq!(field(two, "children/child[1] name"), Some("Billy"));
    assert_eq!(field(two, "children/child[2] age"), Some("6"));
    assert_eq!(field(two, "SubmitterName"), Some("Alice"));
    assert_eq!(field(two, "SubmitterID"), Some("5"));
    assert_eq!(field(two, "FormVersion"), Some("1.0"));
    assert_eq!(field(two, "Edits"), Some("0"));
    // "child" names no person: no person records.
    assert_eq!(kinds(two), ["case"]);
    assert_eq!(case(two).title, "withrepeat submission 2018-01-02 00:00");
    assert!(c.units[2]
        .unmapped
        .iter()
        .all(|f| !f.name.contains("child")));
}

#[test]
fn central_media_come_from_the_zip() {
    let zip = sample("central/binaryType.zip");
    let c = read(&zip);
    assert_eq!(problems(&c), Vec::<String>::new());
    let u = &c.units[0];
    let names: Vec<&str> = u.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["my_file1.mp4", "here_is_file2.jpg"]);
    assert_eq!(
        u.files[0].source,
        FileSource::Zip {
            archive: zip.clone(),
            entry: "media/my_file1.mp4".into()
        }
    );
    assert_eq!(u.files[1].original_id, "both/here_is_file2.jpg");
    assert_eq!(field(u, "AttachmentsPresent"), Some("2"));
    assert_ne!(u.files[0].id, u.files[1].id);
}

#[test]
fn central_incident_report_maps_case_incident_victims_and_photos() {
    let zip = sample("central/incident_report.zip");
    let c = read(&zip);
    assert_eq!(problems(&c), Vec::<String>::new());
    assert_eq!(c.units.len(), 2);
    let u = &c.units[0];
    assert_eq!(kinds(u), ["case", "person", "person", "incident"]);
    let case = case(u);
    assert_eq!(case.title, "Raid on the Kisumu office");
    assert_eq!(
        case.summary,
        "Police entered the office,\ntook two laptops and the visitors' book"
    );
    assert_eq!(case.tags, ["incident_report"]);
    let Record::Incident(inc) = &u.records[3].record else {
        panic!()
    };
    assert_eq!(inc.title, "Raid on the Kisumu office");
    assert_eq!(inc.start.unwrap().date.to_string(), "2024-03-01");
    let loc = inc.location.as_ref().unwrap();
    assert_eq!((loc.lat, loc.lon), (Some(-0.0917), Some(34.768)));
    assert_eq!(loc.country, "KE");
    assert_eq!(
        inc.act_types,
        ["raid_or_search", "confiscation_of_property"]
    );
    assert_eq!(inc.persons.len(), 2);
    assert!(inc.persons.iter().all(|p| p.role == Role::Victim));
    let Record::Person(p) = &u.records[1].record else {
        panic!()
    };
    assert_eq!(p.name, "Joseph Otieno");
    assert_eq!(p.sex, "male");
    assert_eq!(p.roles, [Role::Victim]);
    // The victim's photo documents the victim; the office photo the case.
    let files: Vec<(&str, usize)> = u
        .files
        .iter()
        .map(|f| (f.name.as_str(), f.attached_to.len()))
        .collect();
    assert_eq!(files, [("office.jpg", 0), ("victim1.jpg", 1)]);
    assert_eq!(u.files[1].attached_to, [u.records[1].id]);
    // The act that is no code of the vocabulary is kept, with the metadata.
    assert_eq!(field(u, "details-act_type"), Some("office_break_in"));
    assert_eq!(field(u, "location-Altitude"), Some("1150.2"));
    assert_eq!(field(u, "ReviewState"), Some("approved"));
    assert_eq!(field(u, "DeviceID"), Some("collect:abc123"));
    assert_eq!(field(u, "SubmissionDate"), Some("2024-03-02T10:15:00.000Z"));
    assert_eq!(field(u, "title"), None);
    // The second submission: a month, no title.
    let v = &c.units[1];
    assert_eq!(kinds(v), ["case", "incident"]);
    assert_eq!(
        crate::case(v).title,
        "incident_report submission 2024-03-05 08:00"
    );
    let Record::Incident(inc) = &v.records[1].record else {
        panic!()
    };
    assert_eq!(inc.start.unwrap().precision, Precision::Month);
    assert!(inc.location.is_none());
}

#[test]
fn ids_are_stable_across_reads_and_records_validate() {
    for s in [
        "central/incident_report.zip",
        "central/withrepeat.zip",
        "briefcase/witness_report",
        "briefcase/nested-repeats",
    ] {
        let a = read(&sample(s));
        let b = read(&sample(s));
        let ids = |c: &Collect| -> Vec<uuid::Uuid> {
            c.units
                .iter()
                .flat_map(|u| {
                    u.records
                        .iter()
                        .map(|i| i.id)
                        .chain(u.files.iter().map(|f| f.id))
                })
                .collect()
        };
        assert_eq!(ids(&a), ids(&b), "{s}");
        for u in &a.units {
            for i in &u.records {
                assert_eq!(i.record.validate(), Ok(()), "{s}: {:?}", i.record);
            }
        }
    }
    let c = read(&sample("central/incident_report.zip"));
    assert_eq!(
        c.units[0].records[0].id,
        Tool::Odk.id("submission/uuid:7c0f2f4e-1d0a-4a5b-9b8e-2f1c3d4e5a01/case")
    );
}

#[test]
fn an_unpacked_central_zip_reads_the_same_from_its_folder() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, bytes) in zip_entries(&sample("central/incident_report.zip")) {
        let p = tmp.path().join(&name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, bytes).unwrap();
    }
    let c = read(tmp.path());
    assert_eq!(problems(&c), Vec::<String>::new());
    assert_eq!(c.units.len(), 2);
    assert_eq!(kinds(&c.units[0]), ["case", "person", "person", "incident"]);
    assert_eq!(
        c.units[0].files[1].source,
        FileSource::Path(tmp.path().join("media/victim1.jpg"))
    );
}

// ---------------------------------------------------------------------------------
// Failure paths.

/// The incident report's two CSVs, for spoiling.
fn report_csvs() -> (String, String) {
    let mut main = String::new();
    let mut victim = String::new();
    for (name, bytes) in zip_entries(&sample("central/incident_report.zip")) {
        match name.as_str() {
            "incident_report.csv" => main = String::from_utf8(bytes).unwrap(),
            "incident_report-victim.csv" => victim = String::from_utf8(bytes).unwrap(),
            _ => {}
        }
    }
    (main, victim)
}

fn write_report(dir: &Path, main: &str, victim: &str, media: bool) {
    fs::write(dir.join("incident_report.csv"), main).unwrap();
    fs::write(dir.join("incident_report-victim.csv"), victim).unwrap();
    if media {
        fs::create_dir_all(dir.join("media")).unwrap();
        fs::write(dir.join("media/office.jpg"), b"office").unwrap();
        fs::write(dir.join("media/victim1.jpg"), b"victim").unwrap();
    }
}

#[test]
fn a_missing_path_or_main_csv_is_a_problem() {
    let c = read(Path::new("/nonexistent/odk-export"));
    assert_eq!(c.units.len(), 0);
    assert_eq!(
        problems(&c),
        ["/nonexistent/odk-export: no such file or folder"]
    );

    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("notes.txt"), "hello").unwrap();
    let c = read(tmp.path());
    assert_eq!(c.units.len(), 0);
    assert_eq!(c.problems.len(), 1);
    assert!(
        c.problems[0].message.contains("no main CSV"),
        "{:?}",
        c.problems
    );

    let z = tmp.path().join("empty.zip");
    write_zip(&z, &[("media/a.jpg", b"x")]);
    let c = read(&z);
    assert_eq!(c.problems.len(), 1);
    assert!(
        c.problems[0].message.contains("no main CSV"),
        "{:?}",
        c.problems
    );

    let z = tmp.path().join("broken.zip");
    fs::write(&z, b"PK\x03\x04 not really a zip").unwrap();
    let c = read(&z);
    assert_eq!(c.problems.len(), 1);
    assert!(c.problems[0].message.contains("not a readable zip"));
}

#[test]
fn an_empty_export_has_no_units_and_no_problems() {
    // Briefcase writes a header alone when a form has no submissions.
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join("simple.csv"),
        "SubmissionDate,meta-instanceID,some_text,KEY\n",
    )
    .unwrap();
    let c = read(tmp.path());
    assert_eq!(problems(&c), Vec::<String>::new());
    assert!(c.units.is_empty());
}

#[test]
fn a_row_with_the_wrong_number_of_cells_is_a_problem_and_the_rest_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let (main, victim) = report_csvs();
    let main = main.replacen(",KE,", ",KE,extra,", 1);
    let victim = victim.replacen("Grace Achieng,female,", "Grace Achieng,", 1);
    write_report(tmp.path(), &main, &victim, true);
    let c = read(tmp.path());
    assert_eq!(
        problems(&c),
        [
            "incident_report-victim.csv line 3: 4 cells where the header has 5",
            "incident_report.csv line 2: 23 cells where the header has 22",
        ]
    );
    // The second submission is still read.
    assert_eq!(c.units.len(), 1);
}

#[test]
fn a_repeat_row_of_no_submission_is_a_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let (main, mut victim) = report_csvs();
    victim.push_str("Nobody,male,,uuid:gone,uuid:gone/victims/victim[1]\n");
    write_report(tmp.path(), &main, &victim, true);
    let c = read(&tmp.path().join("incident_report.csv"));
    assert_eq!(
        problems(&c),
        ["incident_report-victim.csv line 4: PARENT_KEY uuid:gone matches no submission in incident_report.csv"]
    );
}

#[test]
fn repeat_rows_out_of_order_are_found_in_a_folder_and_refused_in_a_zip() {
    let (main, victim) = report_csvs();
    // A row of the second submission first in the repeat file.
    let mut lines: Vec<&str> = victim.lines().collect();
    lines.push("Peter Oduya,male,,uuid:7c0f2f4e-1d0a-4a5b-9b8e-2f1c3d4e5b02,uuid:7c0f2f4e-1d0a-4a5b-9b8e-2f1c3d4e5b02/victims/victim[1]");
    let later = lines.pop().unwrap();
    lines.insert(1, later);
    let victim = lines.join("\n") + "\n";
    // The main file keeps submission 1 (lines 2-3) before submission 2 (line 4): its
    // rows are reached by skipping forward, submission 2's by going back.
    let tmp = tempfile::tempdir().unwrap();
    write_report(tmp.path(), &main, &victim, true);
    let c = read(tmp.path());
    assert_eq!(problems(&c), Vec::<String>::new());
    assert_eq!(kinds(&c.units[0]), ["case", "person", "person", "incident"]);
    assert_eq!(kinds(&c.units[1]), ["case", "person", "incident"]);

    let z = tmp.path().join("report.zip");
    write_zip(
        &z,
        &[
            ("incident_report.csv", main.as_bytes()),
            ("incident_report-victim.csv", victim.as_bytes()),
            ("media/office.jpg", b"o"),
            ("media/victim1.jpg", b"v"),
        ],
    );
    let c = read(&z);
    assert_eq!(c.problems.len(), 1, "{:?}", c.problems);
    assert_eq!(c.problems[0].at, "incident_report-victim.csv line 2");
    assert!(c.problems[0].message.contains("unzip the export"));
}

#[test]
fn bad_dates_and_points_are_problems_with_their_line() {
    let tmp = tempfile::tempdir().unwrap();
    let (main, victim) = report_csvs();
    let main = main
        .replacen(",2024-03-01,", ",the first of March,", 1)
        .replacen(",2024-03,", ",2024-13,", 1)
        .replacen("-0.0917,34.768", "-95.5,34.768", 1)
        .replacen("2024-03-05T08:00:00.000Z", "yesterday", 1);
    write_report(tmp.path(), &main, &victim, true);
    let c = read(tmp.path());
    assert_eq!(
        problems(&c),
        [
            "incident_report.csv line 2: incident_date \"the first of March\" is not a date",
            "incident_report.csv line 2: location-Latitude / location-Longitude: \"-95.5\" \"34.768\" is not a point (latitude -90..90, longitude -180..180)",
            "incident_report.csv line 4: SubmissionDate \"yesterday\" is not a date and time",
            "incident_report.csv line 4: incident_date \"2024-13\" is not a date",
        ]
    );
    // The values are not lost.
    assert_eq!(
        field(&c.units[0], "incident_date"),
        Some("the first of March")
    );
    assert_eq!(field(&c.units[0], "location-Latitude"), Some("-95.5"));
}

#[test]
fn media_named_but_missing_are_problems_in_a_folder_and_a_zip() {
    let tmp = tempfile::tempdir().unwrap();
    let (main, victim) = report_csvs();
    write_report(tmp.path(), &main, &victim, false);
    let c = read(tmp.path());
    assert_eq!(
        problems(&c),
        [
            "incident_report.csv line 2: office.jpg is not in media/ (named in photo)",
            "incident_report-victim.csv line 2: victim1.jpg is not in media/ (named in photo)",
        ]
    );
    let z = tmp.path().join("report.zip");
    write_zip(
        &z,
        &[
            ("incident_report.csv", main.as_bytes()),
            ("incident_report-victim.csv", victim.as_bytes()),
            ("media/office.jpg", b"o"),
        ],
    );
    let c = read(&z);
    assert_eq!(
        problems(&c),
        ["incident_report-victim.csv line 2: victim1.jpg is not in media/ (named in photo)"]
    );
}

#[test]
fn a_truncated_file_is_a_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let (main, victim) = report_csvs();
    // Cut inside the quoted two-line description.
    let cut = main.find("took two laptops").unwrap();
    write_report(tmp.path(), &main[..cut], &victim, true);
    let c = read(tmp.path());
    let p = problems(&c);
    assert!(
        p.contains(&"incident_report.csv line 2: a quoted cell never ends: the file is cut off (truncated)".to_string()),
        "{p:?}"
    );
    // A cut repeat file too, in a zip.
    let cut = victim.find("Grace").unwrap() + 3;
    let spoiled = format!("{}\"Gra", &victim[..cut - 3]);
    let z = tmp.path().join("report.zip");
    write_zip(
        &z,
        &[
            ("incident_report.csv", main.as_bytes()),
            ("incident_report-victim.csv", spoiled.as_bytes()),
            ("media/office.jpg", b"o"),
            ("media/victim1.jpg", b"v"),
        ],
    );
    let c = read(&z);
    let p = problems(&c);
    assert!(
        p.contains(&"incident_report-victim.csv line 3: a quoted cell never ends: the file is cut off (truncated)".to_string()),
        "{p:?}"
    );
}

#[test]
fn a_row_without_key_and_a_file_leaving_the_export_are_problems() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join("f.csv"),
        "SubmissionDate,photo,meta-instanceID,KEY\n\
         2018-01-01T00:00:00.000Z,,,\n\
         2018-01-01T00:00:00.000Z,../../etc/passwd.jpg,uuid:1,uuid:1\n",
    )
    .unwrap();
    let c = read(tmp.path());
    assert_eq!(
        problems(&c),
        [
            "f.csv line 2: the row has no KEY (instanceID)",
            "f.csv line 3: ../../etc/passwd.jpg is not in media/ (named in photo)",
        ]
    );
    assert_eq!(c.units.len(), 1);
}

#[test]
fn several_forms_in_one_folder_ask_for_the_main_file() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&sample("briefcase/nested-repeats"), tmp.path());
    copy_dir(&sample("briefcase/all-data-types"), tmp.path());
    let c = read(tmp.path());
    assert_eq!(c.problems.len(), 1);
    assert!(c.problems[0].message.contains("several forms"));
    // Naming the main file reads that form only, with its repeats.
    let c = read(&tmp.path().join("nested-repeats.csv"));
    assert_eq!(problems(&c), Vec::<String>::new());
    assert_eq!(c.units.len(), 1);
    assert!(field(&c.units[0], "g1[1] t1").is_some());
    assert!(field(&c.units[0], "some_string").is_none());
}

#[test]
fn a_sink_that_stops_stops_the_reader() {
    struct StopAtFirst(usize);
    impl custos_import::Sink for StopAtFirst {
        fn unit(&mut self, _: Unit) -> Result<(), custos_import::Stopped> {
            self.0 += 1;
            Err(custos_import::Stopped)
        }
        fn problem(&mut self, _: Problem) {}
        fn progress(&mut self, _: u64, _: u64) {}
    }
    let mut s = StopAtFirst(0);
    let r = Tool::Odk.read(&sample("central/withrepeat.zip"), &mut s);
    assert_eq!(r, Err(custos_import::Stopped));
    assert_eq!(s.0, 1);
}

/// Figures for a large export: records a second and peak memory. Run with
/// `cargo test -p custos-import --test odk -- --ignored --nocapture large_export`
/// (`ODK_FIGURES_ROWS` sets the number of submissions).
#[test]
#[ignore]
fn large_export_reads_at_constant_memory() {
    struct Count {
        units: u64,
        records: u64,
        problems: Vec<Problem>,
    }
    impl custos_import::Sink for Count {
        fn unit(&mut self, u: Unit) -> Result<(), custos_import::Stopped> {
            self.units += 1;
            self.records += (u.records.len() + u.files.len()) as u64;
            Ok(())
        }
        fn problem(&mut self, p: Problem) {
            self.problems.push(p);
        }
        fn progress(&mut self, _: u64, _: u64) {}
    }
    fn peak_kib() -> u64 {
        fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
            })
            .unwrap_or(0)
    }
    let rows: u64 = std::env::var("ODK_FIGURES_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let tmp = tempfile::tempdir().unwrap();
    {
        let mut main =
            std::io::BufWriter::new(fs::File::create(tmp.path().join("big.csv")).unwrap());
        let mut rep =
            std::io::BufWriter::new(fs::File::create(tmp.path().join("big-victim.csv")).unwrap());
        writeln!(main, "SubmissionDate,meta-instanceID,title,incident_date,location-Latitude,location-Longitude,location-Altitude,location-Accuracy,details-description,KEY,SubmitterID,SubmitterName,AttachmentsPresent,AttachmentsExpected,Status,ReviewState,DeviceID,Edits,FormVersion").unwrap();
        writeln!(rep, "name,sex,notes,PARENT_KEY,KEY").unwrap();
        for i in 0..rows {
            let id = format!("uuid:{i:08}-0000-4000-8000-000000000000");
            writeln!(main, "2024-03-02T10:15:00.000Z,{id},Report {i},2024-03-01,-0.09,34.76,1150,4.5,\"A description of what happened, with a comma and\na second line\",{id},7,Amina,0,0,,approved,collect:abc,0,1").unwrap();
            for v in 1..=2 {
                writeln!(
                    rep,
                    "Person {i} {v},female,some notes,{id},{id}/victims/victim[{v}]"
                )
                .unwrap();
            }
        }
    }
    let size = fs::metadata(tmp.path().join("big.csv")).unwrap().len()
        + fs::metadata(tmp.path().join("big-victim.csv"))
            .unwrap()
            .len();
    let before = peak_kib();
    let mut sink = Count {
        units: 0,
        records: 0,
        problems: vec![],
    };
    let t = std::time::Instant::now();
    Tool::Odk.read(tmp.path(), &mut sink).unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert!(sink.problems.is_empty(), "{:?}", &sink.problems[..1]);
    assert_eq!(sink.units, rows);
    println!(
        "ODK: {} submissions, {} records, {:.1} MB in {secs:.2} s: {:.0} submissions/s, {:.0} records/s; peak memory {} KiB before, {} KiB after",
        sink.units,
        sink.records,
        size as f64 / 1e6,
        sink.units as f64 / secs,
        sink.records as f64 / secs,
        before,
        peak_kib()
    );
}

#[test]
fn central_submissions_it_could_not_decrypt_are_problems() {
    let c = read(&sample("central/simple-encrypted.zip"));
    assert_eq!(
        problems(&c),
        [
            "simple.csv line 2: submission three is encrypted and its data is not in the export (Status: not decrypted): export it again with the form's passphrase",
            "simple.csv line 3: submission two is encrypted and its data is not in the export (Status: not decrypted): export it again with the form's passphrase",
        ]
    );
    assert_eq!(field(&c.units[2], "name"), Some("Alice"));
}

#[test]
fn a_zip_of_a_folder_finds_its_media_in_that_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let entries = zip_entries(&sample("central/incident_report.zip"));
    let named: Vec<(String, Vec<u8>)> = entries
        .into_iter()
        .map(|(n, b)| (format!("export/{n}"), b))
        .collect();
    let refs: Vec<(&str, &[u8])> = named
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let z = tmp.path().join("export.zip");
    write_zip(&z, &refs);
    let c = read(&z);
    assert_eq!(problems(&c), Vec::<String>::new());
    assert_eq!(
        c.units[0].files[0].source,
        FileSource::Zip {
            archive: z.clone(),
            entry: "export/media/office.jpg".into()
        }
    );
    assert_eq!(kinds(&c.units[0]), ["case", "person", "person", "incident"]);
}

#[test]
fn briefcase_export_without_media_finds_files_in_the_submission_folder() {
    let dir = sample("briefcase/media-files-instances");
    let c = read(&dir);
    assert_eq!(problems(&c), Vec::<String>::new());
    let f = &c.units[0].files[0];
    assert_eq!(
        f.source,
        FileSource::Path(
            dir.join("instances/uuid98a1380a-0b3d-40f2-be44-ca8d107d4528/1524644764247.jpg")
        )
    );
    assert_eq!(
        f.original_id,
        "uuid:98a1380a-0b3d-40f2-be44-ca8d107d4528/1524644764247.jpg"
    );
}

#[test]
fn persons_named_in_the_form_itself_get_their_role() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join("report.csv"),
        "SubmissionDate,victim_name,perpetrator_name,reporter_name,incident_date,meta-instanceID,KEY\n\
         2024-01-01T00:00:00.000Z,Ana Diaz,Unit 7,Luis,2023-12-30,uuid:a,uuid:a\n",
    )
    .unwrap();
    let c = read(tmp.path());
    assert_eq!(problems(&c), Vec::<String>::new());
    let u = &c.units[0];
    assert_eq!(kinds(u), ["case", "person", "person", "incident"]);
    let Record::Incident(inc) = &u.records[3].record else {
        panic!()
    };
    let roles: Vec<Role> = inc.persons.iter().map(|p| p.role).collect();
    assert_eq!(roles, [Role::Victim, Role::Perpetrator]);
    assert_eq!(u.records[1].record.title(), "Ana Diaz");
    assert_eq!(field(u, "reporter_name"), Some("Luis"));
    assert_eq!(field(u, "victim_name"), None);
}

// ---------------------------------------------------------------------------------
// Through the engine into a vault.

/// Imports a sample into a new vault: what the preview counts is written, every file
/// verifies with a custody entry naming ODK, and a second import writes nothing.
fn through_the_engine(rel: &str) -> (tempfile::TempDir, custos_vault::Vault) {
    use custos_import::engine;
    use custos_model::Kind;
    let path = sample(rel);
    let tmp = tempfile::tempdir().unwrap();
    let mut vault = custos_vault::Vault::create(
        &tmp.path().join("vault"),
        &custos_test_support::pass(),
        custos_test_support::FAST,
    )
    .unwrap();
    let preview = engine::preview(&vault, Tool::Odk, &path, &mut |_, _, _| {});
    assert!(preview.problems.is_empty(), "{rel}: {:?}", preview.problems);
    let done = engine::import(&mut vault, Tool::Odk, &path, &mut |_, _, _| {}).unwrap();
    assert_eq!(done.preview, preview);
    for kind in Kind::ALL {
        let n = vault
            .list(&custos_vault::Filter {
                kind: Some(kind),
                ..custos_vault::Filter::default()
            })
            .len();
        assert_eq!(
            n,
            preview.new.get(&kind).copied().unwrap_or(0),
            "{rel}: {kind:?}"
        );
    }
    for id in vault.evidence_ids(None) {
        let v = vault.verify_evidence(id).unwrap();
        assert!(v.ok, "{rel}: {:?}", v.problems);
        let custody = vault.custody(id).unwrap();
        assert!(custody[0].detail.contains("ODK"), "{}", custody[0].detail);
    }
    let again = engine::import(&mut vault, Tool::Odk, &path, &mut |_, _, _| {}).unwrap();
    assert_eq!((again.records, again.files), (0, 0), "{rel}: duplicates");
    (tmp, vault)
}

#[test]
fn every_clean_sample_imports_through_the_engine_once() {
    use custos_model::Kind;
    for (rel, cases, persons, incidents, files) in [
        ("central/incident_report.zip", 2, 2, 2, 2),
        ("central/withrepeat.zip", 3, 0, 0, 0),
        ("central/binaryType.zip", 1, 0, 0, 2),
        ("briefcase/nested-repeats", 1, 0, 0, 0),
        ("briefcase/media-files", 1, 0, 0, 1),
        ("briefcase/media-files-instances", 1, 0, 0, 1),
        ("briefcase/all-data-types", 1, 0, 1, 0),
        ("briefcase/witness_report", 1, 1, 1, 1),
    ] {
        let (_tmp, vault) = through_the_engine(rel);
        let n = |kind| {
            vault
                .list(&custos_vault::Filter {
                    kind: Some(kind),
                    ..custos_vault::Filter::default()
                })
                .len()
        };
        assert_eq!(
            (
                n(Kind::Case),
                n(Kind::Person),
                n(Kind::Incident),
                n(Kind::Evidence)
            ),
            (cases, persons, incidents, files),
            "{rel}"
        );
        // Every submission keeps its unmapped fields in a note.
        assert!(n(Kind::Note) >= cases, "{rel}");
    }
}

#[test]
fn a_spoiled_export_is_refused_whole_by_the_engine() {
    let tmp = tempfile::tempdir().unwrap();
    let (main, victim) = report_csvs();
    write_report(tmp.path(), &main, &victim, false);
    let mut vault = custos_vault::Vault::create(
        &tmp.path().join("vault"),
        &custos_test_support::pass(),
        custos_test_support::FAST,
    )
    .unwrap();
    let r = custos_import::engine::import(&mut vault, Tool::Odk, tmp.path(), &mut |_, _, _| {});
    assert!(r.is_err());
    assert_eq!(vault.version_count(), 0);
}
