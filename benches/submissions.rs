//! Submissions benchmark: how long building each of the five submissions takes for one
//! case, as text and as PDF, beside the PDF case report of the same case (the baseline,
//! measured in the same run), and how many bytes a page of each PDF costs.
//!
//! The case: `--records N` records (default 50): a case, its persons (victims and perpetrators,
//! every consent given, so that nothing is missing), incidents, interventions and notes, with realistic
//! text lengths, and a few evidence files. The submission is built in memory (what the
//! export then writes as it is), in each mechanism's first language and in Arabic or
//! Portuguese where it accepts them.
//!
//! `cargo bench --bench submissions` (optionally `-- --records N --runs R`; defaults 50
//! records, 15 runs). `cargo test --all-targets` runs a smoke version (1 run).

use std::time::Instant;

use custos_model::{
    Case, Consent, Consents, FuzzyDate, Incident, Intervention, InterventionStatus,
    InterventionType, Involvement, Location, Note, Person, Precision, Record, Role,
};
use custos_report::submission::{
    self, Mechanism, PerpetratorType, SubmissionFormat, SubmissionRequest,
};
use custos_report::{no_progress, pdf, Selection};
use custos_vault::{Attach, Change, Options, SecretString, Vault};
use uuid::Uuid;

const PASS: &str = "lantern orchard velvet quarry 1987 sparrow";

struct Args {
    records: usize,
    runs: usize,
}

fn args() -> Args {
    let argv: Vec<String> = std::env::args().collect();
    let mut a = Args {
        records: 50,
        runs: if argv.iter().any(|a| a == "--bench") {
            15
        } else {
            1
        },
    };
    let mut it = argv.iter();
    while let Some(x) = it.next() {
        let mut value = || -> usize { it.next().and_then(|v| v.parse().ok()).expect("a number") };
        match x.as_str() {
            "--records" => a.records = value(),
            "--runs" => a.runs = value(),
            _ => {}
        }
    }
    a
}

const TEXT: &str = "Plain-clothes officers came to the union office at night, seized the \
    computers and took two members to an unknown place; their families were not told \
    where they were held for three days. ";

fn day(y: i32, m: u32, d: u32) -> Option<FuzzyDate> {
    Some(FuzzyDate {
        date: chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap(),
        precision: Precision::Day,
    })
}

const ALL_GIVEN: Consents = Consents {
    share_with_government: Consent::Given,
    publish: Consent::Given,
    un_sr_hrd: Consent::Given,
    omct_fidh_observatory: Consent::Given,
    eu_delegation: Consent::Given,
    achpr_sr_hrd: Consent::Given,
    iachr_hrd_unit: Consent::Given,
};

/// One case of `records` records; returns its id and its perpetrators.
fn fill(vault: &mut Vault, dir: &std::path::Path, records: usize) -> (Uuid, Vec<Uuid>) {
    let case = vault
        .add(Record::Case(Case {
            title: "Raid on the teachers' union".into(),
            summary: TEXT.repeat(2),
            tags: vec!["detention".into(), "union".into()],
            ..Case::default()
        }))
        .unwrap();
    let rest = records.saturating_sub(1);
    let (persons, incidents, interventions) = (rest / 4, rest / 4, rest / 8);
    let notes = rest - persons - incidents - interventions;
    let mut people = Vec::new();
    let mut perpetrators = Vec::new();
    let mut changes = Vec::new();
    for n in 0..persons {
        let role = match n % 3 {
            0 | 1 => Role::Victim,
            _ => Role::Perpetrator,
        };
        let person = Person {
            case_id: case,
            name: format!("Person {n} Haddad"),
            other_names: vec![format!("P{n}")],
            roles: vec![role],
            is_group: false,
            group_size: None,
            sex: "female".into(),
            birth_date: day(1980, 3, 1 + (n % 27) as u32),
            occupation: "teacher".into(),
            organisation: "Teachers' union".into(),
            human_rights_work: "documents arrests of union members".into(),
            residence: "Sfax".into(),
            citizenship: "TN".into(),
            consent: ALL_GIVEN,
            contact: "via the union".into(),
        };
        // Added one by one: the incidents name them.
        let id = vault.add(Record::Person(person)).unwrap();
        if role == Role::Perpetrator {
            perpetrators.push(id);
        }
        people.push((id, role));
    }
    for n in 0..incidents {
        changes.push(Change::Create(Record::Incident(Incident {
            case_id: case,
            title: format!("Incident {n}: night raid"),
            description: TEXT.repeat(3),
            start: day(2024, 1 + (n % 12) as u32, 2),
            end: None,
            location: Some(Location {
                place: "Union office".into(),
                region: "Sfax".into(),
                country: "TN".into(),
                lat: None,
                lon: None,
            }),
            act_types: vec!["arbitrary_arrest".into(), "threat".into()],
            persons: people
                .iter()
                .take(4)
                .map(|(id, role)| Involvement {
                    person_id: *id,
                    role: *role,
                })
                .collect(),
            related: vec![],
            impact: "The union stopped meeting.".into(),
        })));
    }
    for n in 0..interventions {
        changes.push(Change::Create(Record::Intervention(Intervention {
            case_id: case,
            title: format!("Complaint {n} to the prosecutor"),
            mechanism: String::new(),
            kind: InterventionType::Other,
            date: Some(chrono::NaiveDate::from_ymd_opt(2024, 5, 10).unwrap()),
            status: InterventionStatus::Responded,
            reference: format!("PR-2024-{n}"),
            response: "Dismissed without an investigation.".into(),
            incident_ids: vec![],
            person_ids: vec![],
            channel: "registered letter".into(),
            follow_up: None,
            language: String::new(),
            form: vec![],
        })));
    }
    for n in 0..notes {
        changes.push(Change::Create(Record::Note(Note {
            case_id: case,
            text: format!("Note {n}: {}", TEXT.repeat(2)),
            about: vec![],
        })));
    }
    vault.commit(changes).unwrap();
    for n in 0..3 {
        let file = dir.join(format!("photo-{n}.jpg"));
        std::fs::write(&file, vec![n as u8; 64 * 1024]).unwrap();
        vault
            .attach(
                &file,
                Attach {
                    case_id: case,
                    attached_to: vec![],
                    description: format!("Photo {n} of the office after the raid"),
                    derived_from: None,
                },
            )
            .unwrap();
    }
    (case, perpetrators)
}

/// Every answer the mechanism's form asks for, so that nothing is missing.
fn request(m: Mechanism, case: Uuid, lang: &str, perpetrators: &[Uuid]) -> SubmissionRequest {
    use custos_report::submission::QuestionKind;
    let answers = m
        .questions()
        .iter()
        .map(|q| custos_model::FormField {
            key: q.key.into(),
            value: match q.kind {
                QuestionKind::Choice(c) | QuestionKind::Choices(c) => c[0].into(),
                QuestionKind::Date => "2024-01-01".into(),
                QuestionKind::Line => "Ligue de défense, contact via Signal".into(),
                QuestionKind::Text => TEXT.into(),
            },
        })
        .collect();
    SubmissionRequest {
        case_id: case,
        mechanism: m,
        language: lang.into(),
        answers,
        perpetrator_types: perpetrators
            .iter()
            .map(|p| (*p, PerpetratorType::State))
            .collect(),
    }
}

/// Median and spread of `runs` timings of `f`, in milliseconds.
fn time(runs: usize, mut f: impl FnMut()) -> (f64, f64, f64) {
    let mut ms: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    (ms[ms.len() / 2], ms[0], ms[ms.len() - 1])
}

fn main() {
    let a = args();
    let tmp = tempfile::tempdir().unwrap();
    let pass = SecretString::from(PASS.to_owned());
    let mut vault = Vault::create(&tmp.path().join("vault"), &pass, Options::default()).unwrap();
    let (case, perpetrators) = fill(&mut vault, tmp.path(), a.records);
    let selection = Selection::cases([case]);

    println!(
        "Submissions of one case of {} records (+3 evidence files), {} run(s); medians \
         (min–max). Baseline: the PDF case report of the same case, same run.\n",
        a.records, a.runs
    );
    let mut pages = 0;
    let (base, lo, hi) = time(a.runs, || {
        let (bytes, stats) = pdf::case_report(&vault, &selection, &mut no_progress).unwrap();
        pages = stats.pages;
        assert!(bytes.starts_with(b"%PDF"));
    });
    let base_bytes = pdf::case_report(&vault, &selection, &mut no_progress)
        .unwrap()
        .0
        .len();
    println!("| what | ms, median (min–max) | × baseline | PDF pages | PDF bytes per page |");
    println!("|---|---|---|---|---|");
    println!(
        "| case report (PDF), baseline | {base:.1} ({lo:.1}–{hi:.1}) | 1.00 | {pages} | {} |",
        base_bytes / pages.max(1)
    );
    for m in Mechanism::ALL {
        let mut langs = vec![m.languages()[0]];
        langs.extend(m.languages().iter().filter(|l| ["ar", "pt"].contains(l)));
        for lang in langs {
            let r = request(m, case, lang, &perpetrators);
            assert!(
                submission::missing_elements(&vault, &r).unwrap().is_empty(),
                "{m} lacks something"
            );
            for format in [SubmissionFormat::Text, SubmissionFormat::Pdf] {
                let mut stats = None;
                let (ms, lo, hi) = time(a.runs, || {
                    let (_, s) =
                        submission::submission(&vault, &r, format, false, &mut no_progress)
                            .unwrap();
                    stats = Some(s);
                });
                let s = stats.unwrap();
                let (pages, per_page) = match format {
                    SubmissionFormat::Pdf => {
                        (s.pages.to_string(), (s.bytes / s.pages.max(1)).to_string())
                    }
                    SubmissionFormat::Text => ("–".into(), "–".into()),
                };
                println!(
                    "| {} ({lang}, {}) | {ms:.1} ({lo:.1}–{hi:.1}) | {:.2} | {pages} | {per_page} |",
                    m.name(),
                    match format {
                        SubmissionFormat::Pdf => "PDF",
                        SubmissionFormat::Text => "text",
                    },
                    ms / base
                );
            }
        }
    }
    vault.lock().unwrap();
}
