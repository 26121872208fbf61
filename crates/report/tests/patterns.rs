//! The charts of the patterns in the PDF case report and in a submission's context
//! section, from cases in a real vault, read back from the PDF with lopdf: the charts'
//! titles and value labels are text on the page, each chart's bars are filled
//! rectangles (counted per chart: each chart is a marked "Figure" in the page content),
//! withheld counts read "fewer than 3", and a person without consent to publish is
//! never named there.

use custos_model::*;
use custos_report::pdf::case_report_with;
use custos_report::submission::{submission_with, Mechanism, SubmissionFormat, SubmissionRequest};
use custos_report::{no_progress, pdf, Patterns, Selection};
use custos_test_support::{pass, FAST};
use custos_vault::Vault;
use lopdf::content::Content;
use uuid::Uuid;

const CANARY: &str = "Zorblatt Quimby";

fn new_vault() -> (tempfile::TempDir, Vault) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let vault = Vault::create(&tmp.path().join("vault"), &pass(), FAST).expect("vault");
    (tmp, vault)
}

fn day(s: &str) -> Option<FuzzyDate> {
    Some(FuzzyDate {
        date: s.parse().expect("date"),
        precision: Precision::Day,
    })
}

fn person(case_id: Uuid, name: &str, sex: &str, role: Role, publish: Consent) -> Person {
    Person {
        case_id,
        name: name.into(),
        other_names: vec![],
        roles: vec![role],
        is_group: false,
        group_size: None,
        sex: sex.into(),
        birth_date: None,
        occupation: "journalist".into(),
        organisation: String::new(),
        human_rights_work: String::new(),
        residence: String::new(),
        citizenship: String::new(),
        consent: Consents {
            publish,
            ..Consents::default()
        },
        contact: String::new(),
    }
}

fn incident(case_id: Uuid, date: &str, acts: &[&str], victims: &[Uuid]) -> Incident {
    Incident {
        case_id,
        title: format!("Incident of {date}"),
        description: String::new(),
        start: day(date),
        end: None,
        // No place: the map is not part of these charts.
        location: None,
        act_types: acts.iter().map(|a| (*a).to_owned()).collect(),
        persons: victims
            .iter()
            .map(|v| Involvement {
                person_id: *v,
                role: Role::Victim,
            })
            .collect(),
        related: vec![],
        impact: String::new(),
    }
}

/// One case: five arrests in January 2024 (the same four journalists and a canary
/// without consent to publish), an arrest and a threat in March 2024, an answered
/// intervention.
fn fill(vault: &mut Vault) -> Uuid {
    let case = vault
        .add(Record::Case(Case {
            title: "Arrests of journalists".into(),
            summary: "Journalists arrested in the capital.".into(),
            ..Case::default()
        }))
        .expect("case");
    let mut victims = Vec::new();
    for (i, sex) in ["female", "female", "female", "male"].iter().enumerate() {
        let p = person(
            case,
            &format!("Victim {i}"),
            sex,
            Role::Victim,
            Consent::Given,
        );
        victims.push(vault.add(Record::Person(p)).expect("person"));
    }
    let canary = person(case, CANARY, "male", Role::Victim, Consent::Refused);
    let canary = vault.add(Record::Person(canary)).expect("person");
    for d in ["2024-01-03", "2024-01-09", "2024-01-15", "2024-01-20"] {
        let i = incident(case, d, &["arbitrary_arrest"], &victims);
        vault.add(Record::Incident(i)).expect("incident");
    }
    let i = incident(case, "2024-01-28", &["arbitrary_arrest"], &[canary]);
    let first = vault.add(Record::Incident(i)).expect("incident");
    let i = incident(
        case,
        "2024-03-02",
        &["arbitrary_arrest", "threat"],
        &[canary],
    );
    vault.add(Record::Incident(i)).expect("incident");
    vault
        .add(Record::Intervention(Intervention {
            case_id: case,
            title: "Appeal".into(),
            mechanism: "un_sr_hrd".into(),
            kind: InterventionType::Other,
            date: Some("2024-02-01".parse().expect("date")),
            status: InterventionStatus::Responded,
            reference: String::new(),
            response: String::new(),
            incident_ids: vec![first],
            person_ids: vec![canary],
            channel: String::new(),
            follow_up: None,
            language: String::new(),
            form: vec![],
        }))
        .expect("intervention");
    case
}

/// Each page's text.
fn page_texts(bytes: &[u8]) -> Vec<String> {
    let doc = lopdf::Document::load_mem(bytes).expect("a PDF lopdf can read");
    doc.get_pages()
        .keys()
        .map(|p| doc.extract_text(&[*p]).expect("text"))
        .collect()
}

/// The operators of each chart (marked "Figure") in the document, in order.
fn figures(bytes: &[u8]) -> Vec<Vec<String>> {
    let doc = lopdf::Document::load_mem(bytes).expect("a PDF lopdf can read");
    let mut out = Vec::new();
    for (_, page) in doc.get_pages() {
        let content = Content::decode(&doc.get_page_content(page)).expect("content stream");
        let mut cur: Option<Vec<String>> = None;
        for op in content.operations {
            match op.operator.as_str() {
                "BMC" if op.operands.first().and_then(|o| o.as_name().ok()) == Some(b"Figure") => {
                    cur = Some(Vec::new());
                }
                "EMC" => out.extend(cur.take()),
                o => {
                    if let Some(c) = cur.as_mut() {
                        c.push(o.to_owned());
                    }
                }
            }
        }
    }
    out
}

/// Filled rectangles: an `re` followed by a fill.
fn filled_rects(ops: &[String]) -> usize {
    ops.windows(2)
        .filter(|w| w[0] == "re" && (w[1] == "f" || w[1] == "f*"))
        .count()
}

fn flat(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn the_case_report_draws_the_patterns_of_its_cases_as_vector_charts() {
    let (_tmp, mut vault) = new_vault();
    fill(&mut vault);
    // Off by default: no chart, no "Patterns".
    let (plain, _) = pdf::case_report(&vault, &Selection::all(), &mut no_progress).expect("pdf");
    assert!(figures(&plain).is_empty());
    assert!(!page_texts(&plain).iter().any(|t| t.contains("Patterns")));

    let (bytes, stats) = case_report_with(
        &vault,
        &Selection::all(),
        Some(Patterns::default()),
        &mut no_progress,
    )
    .expect("pdf");
    assert_eq!(stats.cases, 1);
    let pages = page_texts(&bytes);
    let first = pages
        .iter()
        .position(|t| t.contains("Patterns"))
        .expect("a Patterns section");
    let patterns = flat(&pages[first..].join("\n"));
    let labels = custos_patterns::Labels::of("en");
    for key in [
        "title.timeline",
        "title.act_types",
        "title.victims_by_sex",
        "title.interventions",
    ] {
        let title = flat(&labels.text(key));
        assert!(patterns.contains(&title), "{title} in {patterns}");
    }
    // Counts as labels: six arrests (exact), one threat (withheld).
    assert!(patterns.contains("fewer than 3"), "{patterns}");
    assert!(patterns.contains('6'), "{patterns}");
    // The person without consent to publish is counted, never named (the report names
    // them elsewhere, for the documenter).
    assert!(!patterns.contains(CANARY) && !patterns.contains("Zorblatt"));
    assert!(pages[..first].iter().any(|t| t.contains("Zorblatt")));

    let charts = figures(&bytes);
    assert!(charts.len() >= 4, "{}", charts.len());
    // The timeline first (no place, no map): January 2024 (arrests) and March 2024
    // (arrests, threats): three non-empty bins × segments, February empty.
    assert_eq!(filled_rects(&charts[0]), 3, "{:?}", charts[0]);
    // Types of act: two bars.
    assert_eq!(filled_rects(&charts[1]), 2);
    // Every chart draws text and its legend dots as curves where it has a legend.
    assert!(charts
        .iter()
        .all(|c| c.iter().any(|o| o == "Tj" || o == "TJ")));
    assert!(charts[0].iter().any(|o| o == "c"), "legend dots");
}

#[test]
fn a_threshold_of_one_shows_every_count() {
    let (_tmp, mut vault) = new_vault();
    fill(&mut vault);
    let (bytes, _) = case_report_with(
        &vault,
        &Selection::all(),
        Some(Patterns { threshold: 1 }),
        &mut no_progress,
    )
    .expect("pdf");
    let text = flat(&page_texts(&bytes).join("\n"));
    assert!(!text.contains("fewer than"), "{text}");
}

#[test]
fn a_submission_carries_the_charts_in_its_context_section_in_arabic_too() {
    let (_tmp, mut vault) = new_vault();
    let case = fill(&mut vault);
    for lang in ["en", "ar"] {
        let r = SubmissionRequest {
            case_id: case,
            mechanism: Mechanism::Achpr,
            language: lang.into(),
            answers: vec![],
            perpetrator_types: vec![],
        };
        // Without the option: no chart.
        let (plain, _) = submission_with(
            &vault,
            &r,
            SubmissionFormat::Pdf,
            true,
            None,
            &mut no_progress,
        )
        .expect("pdf");
        assert!(figures(&plain).is_empty());
        let (bytes, stats) = submission_with(
            &vault,
            &r,
            SubmissionFormat::Pdf,
            true,
            Some(Patterns::default()),
            &mut no_progress,
        )
        .expect("pdf");
        assert!(stats.pages >= 1);
        let charts = figures(&bytes);
        assert!(charts.len() >= 4, "{lang}: {}", charts.len());
        assert_eq!(filled_rects(&charts[0]), 3);
        let text = page_texts(&bytes).join("\n");
        assert!(!text.contains("Zorblatt"), "{lang}");
        if lang == "en" {
            assert!(flat(&text).contains(&custos_patterns::Labels::of("en").text("title.timeline")));
        } else {
            // Arabic is drawn in its presentation forms (Arabic Presentation Forms-B).
            assert!(
                text.chars().any(|c| ('\u{FE70}'..='\u{FEFF}').contains(&c)),
                "{text}"
            );
        }
        // A text submission has no charts and still works.
        let (txt, _) = submission_with(
            &vault,
            &r,
            SubmissionFormat::Text,
            true,
            Some(Patterns::default()),
            &mut no_progress,
        )
        .expect("text");
        assert!(!String::from_utf8_lossy(&txt).contains("Zorblatt"));
    }
}
