//! Submissions to the five protection mechanisms, built from cases in a real vault and
//! read back (the PDF's text extracted with lopdf): what each mechanism asks for, in
//! every language it accepts; the missing elements and the refusal; consent per
//! mechanism (a canary name hidden in every text of every record kind); figures.

use std::path::Path;
use std::time::Instant;

use custos_model::*;
use custos_report::submission::{
    export_submission, missing_elements, submission, withheld_marker, Mechanism, PerpetratorType,
    SubmissionFormat, SubmissionRequest,
};
use custos_report::{no_progress, unsr, Protection};
use custos_test_support::{pass, FAST};
use custos_vault::{Attach, Vault};
use uuid::Uuid;

const CANARY: &str = "Zorblatt Quimby";
const ALIAS: &str = "Quimbo";

fn new_vault() -> (tempfile::TempDir, Vault) {
    let tmp = tempfile::tempdir().unwrap();
    let vault = Vault::create(&tmp.path().join("vault"), &pass(), FAST).unwrap();
    (tmp, vault)
}

fn day(s: &str) -> Option<FuzzyDate> {
    Some(FuzzyDate {
        date: s.parse().unwrap(),
        precision: Precision::Day,
    })
}

fn all_given() -> Consents {
    let mut c = Consents {
        share_with_government: Consent::Given,
        publish: Consent::Given,
        ..Consents::default()
    };
    for code in Consents::MECHANISMS {
        c.set_mechanism(code, Consent::Given);
    }
    c
}

fn person(case_id: Uuid, name: &str, role: Role, consent: Consents) -> Person {
    Person {
        case_id,
        name: name.into(),
        other_names: vec![],
        roles: vec![role],
        is_group: false,
        group_size: None,
        sex: "female".into(),
        birth_date: day("1990-03-04"),
        occupation: "journalist".into(),
        organisation: "Syndicat national".into(),
        human_rights_work: "documents labour rights abuses".into(),
        residence: "Sfax".into(),
        citizenship: "TN".into(),
        consent,
        contact: "via Signal".into(),
    }
}

struct Fixture {
    case: Uuid,
    perpetrator: Uuid,
}

/// A case every mechanism can take as it is: a victim and a perpetrator who consented to
/// everything, an incident, an answered complaint, an evidence file, a note. `text`
/// goes into every free text of every record (the canary test puts a name there).
fn fill(vault: &mut Vault, tmp: &Path, text: &str) -> Fixture {
    let case = vault
        .add(Record::Case(Case {
            title: format!("Raid on the union office {text}"),
            summary: format!("Unionists arrested in Sfax. {text}"),
            tags: vec!["detention".into(), text.to_owned()],
            ..Case::default()
        }))
        .unwrap();
    let mut v = person(case, "Nour El Houda", Role::Victim, all_given());
    v.organisation = format!("Syndicat national {text}");
    v.human_rights_work = format!("documents labour rights abuses {text}");
    let victim = vault.add(Record::Person(v)).unwrap();
    let mut p = person(case, "Brigade 7", Role::Perpetrator, all_given());
    p.organisation = format!("Police {text}");
    let perpetrator = vault.add(Record::Person(p)).unwrap();
    let incident = vault
        .add(Record::Incident(Incident {
            case_id: case,
            title: format!("Night raid {text}"),
            description: format!("The office door was forced open at night. {text}"),
            start: day("2024-05-02"),
            end: None,
            location: Some(Location {
                place: format!("Sfax {text}"),
                region: "Sfax governorate".into(),
                country: "TN".into(),
                lat: None,
                lon: None,
            }),
            act_types: vec!["arbitrary_arrest".into()],
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
            impact: format!("The union stopped meeting. {text}"),
        }))
        .unwrap();
    vault
        .add(Record::Intervention(Intervention {
            case_id: case,
            title: format!("Complaint to the prosecutor {text}"),
            mechanism: String::new(),
            kind: InterventionType::Other,
            date: Some("2024-05-10".parse().unwrap()),
            status: InterventionStatus::Responded,
            reference: format!("PR-2024-77 {text}"),
            response: format!("Complaint dismissed on 2024-06-01 {text}"),
            incident_ids: vec![incident],
            person_ids: vec![victim],
            channel: format!("registered letter {text}"),
            follow_up: None,
            language: String::new(),
            form: vec![],
        }))
        .unwrap();
    vault
        .add(Record::Note(Note {
            case_id: case,
            text: format!("Internal note {text}"),
            about: vec![],
        }))
        .unwrap();
    let name = if text.is_empty() {
        "door.txt".to_owned()
    } else {
        format!("door {text}.txt")
    };
    let file = tmp.join(name);
    std::fs::write(&file, b"a photo of the office door").unwrap();
    vault
        .attach(
            &file,
            Attach {
                case_id: case,
                attached_to: vec![incident],
                description: format!("Door forced open {text}"),
                derived_from: None,
            },
        )
        .unwrap();
    Fixture { case, perpetrator }
}

/// Complete answers for a mechanism: each text answer is `ANS-<key>` (and `text`).
fn answers(m: Mechanism, text: &str) -> Vec<FormField> {
    m.questions()
        .iter()
        .map(|q| {
            let value = match q.key {
                "type" => "urgent_appeal".to_owned(),
                "consent_publish" | "cite_source" | "respectful_language" => "yes".into(),
                "other_procedure" => "no".into(),
                "remedies_status" => "exhausted".into(),
                "beneficiaries_consent" => "given".into(),
                "action_requested" => "raise_with_authorities, trial_observation".into(),
                "trial_date" => "2026-01-15".into(),
                "final_decision_date" => "2025-11-02".into(),
                "consent_absence_reason" => String::new(),
                k => format!("ANS-{k} {text}"),
            };
            FormField {
                key: q.key.into(),
                value,
            }
        })
        .collect()
}

fn request(f: &Fixture, m: Mechanism, lang: &str, text: &str) -> SubmissionRequest {
    SubmissionRequest {
        case_id: f.case,
        mechanism: m,
        language: lang.into(),
        answers: answers(m, text),
        perpetrator_types: vec![(f.perpetrator, PerpetratorType::State)],
    }
}

fn pdf_text(bytes: &[u8]) -> (usize, String) {
    let doc = lopdf::Document::load_mem(bytes).expect("a PDF lopdf can read");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    let text = doc.extract_text(&pages).expect("text");
    (pages.len(), text)
}

fn flat(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The Arabic letters of a text in logical order, whatever the form they are drawn in:
/// the PDF draws Arabic with its presentation forms (Unicode's Arabic Presentation
/// Forms-B) and each line right to left, so a line's letters are read back reversed.
fn letters(s: &str) -> String {
    // The forms in order from U+FE80: each letter and how many forms it has.
    const FORMS: &[(&str, u32)] = &[
        ("ء", 1),
        ("آ", 2),
        ("أ", 2),
        ("ؤ", 2),
        ("إ", 2),
        ("ئ", 4),
        ("ا", 2),
        ("ب", 4),
        ("ة", 2),
        ("ت", 4),
        ("ث", 4),
        ("ج", 4),
        ("ح", 4),
        ("خ", 4),
        ("د", 2),
        ("ذ", 2),
        ("ر", 2),
        ("ز", 2),
        ("س", 4),
        ("ش", 4),
        ("ص", 4),
        ("ض", 4),
        ("ط", 4),
        ("ظ", 4),
        ("ع", 4),
        ("غ", 4),
        ("ف", 4),
        ("ق", 4),
        ("ك", 4),
        ("ل", 4),
        ("م", 4),
        ("ن", 4),
        ("ه", 4),
        ("و", 2),
        ("ى", 2),
        ("ي", 4),
        ("لآ", 2),
        ("لأ", 2),
        ("لإ", 2),
        ("لا", 2),
    ];
    let base = |c: char| -> Option<String> {
        let mut at = 0xFE80;
        for (letter, n) in FORMS {
            if (at..at + n).contains(&(c as u32)) {
                return Some((*letter).to_owned());
            }
            at += n;
        }
        None
    };
    let mut out = String::new();
    for line in s.lines() {
        if line
            .chars()
            .any(|c| (0xFE70..=0xFEFF).contains(&(c as u32)))
        {
            let rev: Vec<char> = line.chars().rev().collect();
            for c in rev {
                if let Some(l) = base(c) {
                    out.push_str(&l);
                }
            }
        } else {
            out.extend(
                line.chars()
                    .filter(|c| matches!(*c as u32, 0x0621..=0x064A)),
            );
        }
    }
    out
}

/// The text of a submission, as written (text) or as extracted (PDF).
fn read(m: Mechanism, lang: &str, f: SubmissionFormat, bytes: &[u8]) -> String {
    match f {
        SubmissionFormat::Text => String::from_utf8(bytes.to_vec()).unwrap(),
        SubmissionFormat::Pdf => {
            assert!(bytes.starts_with(b"%PDF-"), "{m} {lang}: no PDF header");
            pdf_text(bytes).1
        }
    }
}

/// The language line each submission carries, per language.
fn language_line(lang: &str) -> &'static str {
    match lang {
        "en" => "Language of this submission: English",
        "fr" => "Langue de la présente soumission: français",
        "es" => "Idioma de la presente comunicación: español",
        "pt" => "Língua da presente comunicação: português",
        "ar" => "لغة هذا البلاغ: العربية",
        _ => unreachable!(),
    }
}

/// "not stated" in each language.
fn expect_not_stated(lang: &str) -> &'static str {
    match lang {
        "en" => "not stated",
        "fr" => "non précisé",
        "es" => "no indicado",
        "pt" => "não indicado",
        "ar" => "غير مذكور",
        _ => unreachable!(),
    }
}

/// A phrase of the mechanism's own terms in that language.
fn phrase(m: Mechanism, lang: &str) -> &'static str {
    match (m, lang) {
        (Mechanism::UnSr, "en") => "Urgent appeal (the violation is ongoing",
        (Mechanism::UnSr, "fr") => "Appel urgent (la violation est en cours",
        (Mechanism::UnSr, "es") => "Llamamiento urgente (la violación está en curso",
        (Mechanism::Observatory, "en") => "The Observatory's urgent appeals are public",
        (Mechanism::Observatory, "fr") => "Les appels urgents de l'Observatoire sont publics",
        (Mechanism::Observatory, "es") => "Los llamamientos urgentes del Observatorio son públicos",
        (Mechanism::Eu, "en") => "EU Guidelines on Human Rights Defenders",
        (Mechanism::Eu, "fr") => "Orientations de l'UE concernant les défenseurs",
        (Mechanism::Eu, "es") => "Directrices de la UE sobre defensores",
        (Mechanism::Achpr, "en") => "Admissibility (Article 56 of the African Charter)",
        (Mechanism::Achpr, "fr") => "Recevabilité (article 56 de la Charte africaine)",
        (Mechanism::Achpr, "pt") => "Admissibilidade (artigo 56.º da Carta Africana)",
        (Mechanism::Achpr, "ar") => "المقرر الخاص المعني بالمدافعين عن حقوق الإنسان",
        (Mechanism::Iachr, "es") => "medidas cautelares",
        (Mechanism::Iachr, "en") => "precautionary measures",
        (Mechanism::Iachr, "pt") => "Comissão Interamericana de Direitos Humanos",
        (Mechanism::Iachr, "fr") => "mesures conservatoires",
        _ => unreachable!("{m} {lang}"),
    }
}

fn contains(text: &str, lang: &str, needle: &str) -> bool {
    if lang == "ar" && needle.chars().any(|c| matches!(c as u32, 0x0600..=0x06FF)) {
        // Shaped Arabic: compare the letters (the PDF reverses and joins them).
        // A field's label and value are drawn as two runs: each is compared alone.
        let hay = letters(text);
        return needle.split(':').all(|part| hay.contains(&letters(part)));
    }
    flat(text)
        .to_lowercase()
        .contains(&flat(needle).to_lowercase())
}

#[test]
fn every_mechanism_in_every_language_holds_what_it_asks_for_as_text_and_pdf() {
    let (tmp, mut vault) = new_vault();
    let f = fill(&mut vault, tmp.path(), "");
    let mut pdfs = 0;
    for m in Mechanism::ALL {
        for lang in m.languages() {
            let r = request(&f, m, lang, "");
            assert_eq!(missing_elements(&vault, &r).unwrap(), vec![], "{m} {lang}");
            for format in [SubmissionFormat::Text, SubmissionFormat::Pdf] {
                let (bytes, stats) =
                    submission(&vault, &r, format, false, &mut no_progress).unwrap();
                assert_eq!((stats.named, stats.withheld), (2, 0), "{m} {lang}");
                assert_eq!(stats.bytes, bytes.len());
                let text = read(m, lang, format, &bytes);
                let mut expected: Vec<String> = vec![
                    m.title(lang),
                    language_line(lang).into(),
                    phrase(m, lang).into(),
                    "Nour El Houda".into(),
                    "journalist".into(),
                    "Syndicat national".into(),
                    "documents labour rights abuses".into(),
                    "Brigade 7".into(),
                    "Night raid".into(),
                    "The office door was forced open at night.".into(),
                    "2024-05-02".into(),
                    "Sfax governorate".into(),
                    "Complaint dismissed on 2024-06-01".into(),
                    "door.txt".into(),
                    "Door forced open".into(),
                ];
                for q in m.questions() {
                    let v = r.answer(q.key);
                    if v.starts_with("ANS-") || q.key.ends_with("_date") {
                        expected.push(v.to_owned());
                    }
                }
                for e in &expected {
                    assert!(
                        contains(&text, lang, e),
                        "{m} {lang} {format:?}: {e:?} missing:\n{text}"
                    );
                }
                // The documenter's own notes never go out.
                assert!(!text.contains("Internal note"), "{m} {lang}");
                // Nothing is missing, so no alert.
                assert!(!text.contains("INCOMPLETE"), "{m} {lang}");
                if format == SubmissionFormat::Pdf {
                    assert!(stats.pages >= 1);
                    assert_eq!(pdf_text(&bytes).0, stats.pages);
                    pdfs += 1;
                }
            }
        }
    }
    assert_eq!(pdfs, 17, "every accepted language of every mechanism");
}

#[test]
fn vocabulary_labels_come_in_the_submissions_language_where_the_vocabulary_has_it() {
    let (tmp, mut vault) = new_vault();
    let f = fill(&mut vault, tmp.path(), "");
    let term = custos_model::vocab::builtin()
        .act_types
        .get("arbitrary_arrest")
        .unwrap()
        .clone();
    for (m, lang) in [
        (Mechanism::UnSr, "fr"),
        (Mechanism::Iachr, "es"),
        (Mechanism::Achpr, "pt"),
    ] {
        let r = request(&f, m, lang, "");
        let (bytes, _) =
            submission(&vault, &r, SubmissionFormat::Text, false, &mut no_progress).unwrap();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(
            text.contains(term.label(lang)),
            "{m} {lang}: {}",
            term.label(lang)
        );
    }
}

#[test]
fn a_language_a_mechanism_does_not_accept_is_refused_naming_those_it_does() {
    let (tmp, mut vault) = new_vault();
    let f = fill(&mut vault, tmp.path(), "");
    for m in Mechanism::ALL {
        for lang in ["de", "ar", "", "en-GB"] {
            if m.languages().contains(&lang) {
                continue;
            }
            let r = request(&f, m, lang, "");
            let path = tmp.path().join(format!("{}-{lang}.txt", m.name()));
            let e = export_submission(
                &vault,
                &r,
                SubmissionFormat::Text,
                true,
                &path,
                &Protection::Plaintext,
                &mut no_progress,
            )
            .unwrap_err()
            .to_string();
            assert!(e.contains(&m.languages().join(", ")), "{m} {lang}: {e}");
            assert!(missing_elements(&vault, &r).is_err());
            assert!(!path.exists());
        }
    }
}

/// A case that lacks almost everything: a victim never asked for consent, an incident
/// with only a title, no perpetrator, no action, no evidence.
fn thin(vault: &mut Vault) -> (Uuid, Uuid) {
    let case = vault
        .add(Record::Case(Case {
            title: "Thin case".into(),
            ..Case::default()
        }))
        .unwrap();
    let victim = vault
        .add(Record::Person(person(
            case,
            "Someone Unasked",
            Role::Victim,
            Consents::default(),
        )))
        .unwrap();
    vault
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
    (case, victim)
}

#[test]
fn each_mechanism_lists_what_it_lacks_consents_first_and_refuses_until_confirmed() {
    let (tmp, mut vault) = new_vault();
    let (case, victim) = thin(&mut vault);
    // The mechanism, its answers, the codes that must be listed and those that must not.
    type Expect<'a> = (
        Mechanism,
        &'a [(&'a str, &'a str)],
        &'a [&'a str],
        &'a [&'a str],
    );
    let cases: [Expect<'_>; 7] = [
        (
            Mechanism::UnSr,
            &[],
            &[
                "consent_mechanism_not_asked",
                "consent_government_not_asked",
                "consent_publish_not_asked",
                "type",
                "submitter",
                "incident_date",
                "incident_place",
                "incident_description",
                "incident_violation",
                "link_to_work",
                "current_risk",
                "perpetrator",
                "actions_taken",
                "context",
            ],
            &["evidence", "domestic_remedies"],
        ),
        (
            Mechanism::Observatory,
            &[],
            &[
                "consent_mechanism_not_asked",
                "consent_government_not_asked",
                "consent_publish_not_asked",
                "submitter",
                "link_to_work",
                "current_risk",
                "authorities_informed",
                "consent_publish",
                "cite_source",
            ],
            &["perpetrator", "actions_taken", "context"],
        ),
        (
            Mechanism::Eu,
            &[],
            &[
                "consent_mechanism_not_asked",
                "consent_government_not_asked",
                "submitter",
                "action_requested",
                "current_risk",
            ],
            &["consent_publish_not_asked", "trial_date", "perpetrator"],
        ),
        (
            Mechanism::Eu,
            &[("action_requested", "public_statement, trial_observation")],
            &["consent_publish_not_asked", "trial_date"],
            &["action_requested"],
        ),
        (
            Mechanism::Achpr,
            &[
                ("remedies_status", "exhausted"),
                ("respectful_language", "no"),
            ],
            &[
                "consent_mechanism_not_asked",
                "consent_government_not_asked",
                "submitter",
                "link_to_work",
                "perpetrator",
                "domestic_remedies",
                "final_decision_date",
                "evidence",
                "other_procedure",
                "respectful_language",
            ],
            &["remedies_status", "consent_publish_not_asked"],
        ),
        (
            Mechanism::Iachr,
            &[],
            &[
                "consent_mechanism_not_asked",
                "consent_government_not_asked",
                "submitter",
                "seriousness",
                "urgency",
                "irreparable_harm",
                "authorities_informed",
                "beneficiaries_consent",
                "measures_requested",
            ],
            &["consent_absence_reason", "perpetrator", "evidence"],
        ),
        (
            Mechanism::Iachr,
            &[("beneficiaries_consent", "not_possible")],
            &["consent_absence_reason"],
            &["beneficiaries_consent"],
        ),
    ];
    for (n, (m, given, want, not)) in cases.into_iter().enumerate() {
        let lang = *m.languages().last().unwrap();
        let r = SubmissionRequest {
            case_id: case,
            mechanism: m,
            language: lang.into(),
            answers: given
                .iter()
                .map(|(k, v)| FormField {
                    key: (*k).into(),
                    value: (*v).into(),
                })
                .collect(),
            perpetrator_types: vec![],
        };
        let missing = missing_elements(&vault, &r).unwrap();
        let codes: Vec<&str> = missing.iter().map(|x| x.code.as_str()).collect();
        for c in want {
            assert!(codes.contains(c), "{m}: {c} not in {codes:?}");
        }
        for c in not {
            assert!(!codes.contains(c), "{m}: {c} in {codes:?}");
        }
        // Consents first; records named by id, never by name.
        let consent = |c: &&str| c.starts_with("consent_") && c.ends_with("_not_asked");
        assert!(consent(&codes[0]), "{m}: {codes:?}");
        let first_other = codes.iter().position(|c| !consent(c)).unwrap();
        assert!(
            codes[first_other..].iter().all(|c| !consent(c)),
            "{m}: {codes:?}"
        );
        assert!(missing
            .iter()
            .any(|x| x.code == "consent_government_not_asked" && x.record == Some(victim)));
        assert!(missing.iter().all(|x| !x.message.contains("Someone")));
        // A victim without consent: their details are not asked for.
        assert!(!codes.contains(&"victim_age"));

        let path = tmp.path().join(format!("{n}.txt"));
        let e = export_submission(
            &vault,
            &r,
            SubmissionFormat::Pdf,
            false,
            &path,
            &Protection::Plaintext,
            &mut no_progress,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.ends_with("listed first in the document") && e.contains("(--allow-missing)"),
            "{e}"
        );
        for x in &missing {
            assert!(e.contains(&format!("\n  {}: ", x.code)), "{m}: {e}");
        }
        assert!(!path.exists(), "a refused export wrote a file");

        let stats = export_submission(
            &vault,
            &r,
            SubmissionFormat::Text,
            true,
            &path,
            &Protection::Plaintext,
            &mut no_progress,
        )
        .unwrap();
        assert_eq!(stats.missing, missing);
        assert_eq!(stats.withheld, 1);
        let text = std::fs::read_to_string(&path).unwrap();
        let alert = text.find("***").expect("an alert");
        let language = text
            .find(language_line(lang).split(':').next().unwrap())
            .unwrap();
        assert!(
            alert < language,
            "{m}: the missing list is not first:\n{text}"
        );
        for x in &missing {
            let at = text.find(&format!("{}: ", x.code)).unwrap();
            assert!(at < language, "{m}: {} after the body", x.code);
            // Said in the submission's language, naming the record by id.
            assert!(!text.contains(&x.message), "{m} {lang}: {}", x.message);
            if let Some(id) = x.record {
                let line = text[at..].lines().next().unwrap();
                assert!(line.contains(&id.to_string()), "{m}: {line}");
            }
        }
        assert!(!text.contains("Someone"), "{m}");
        // What the case lacks reads "not stated" in the submission's language.
        assert!(
            text.contains(expect_not_stated(lang)),
            "{m} {lang}:\n{text}"
        );
        assert!(
            lang == "en" || !text.contains("not stated"),
            "{m} {lang}:\n{text}"
        );
        assert!(text.contains(withheld_marker(lang)), "{m}");
        // The PDF says the same, first.
        let (pdf, _) =
            submission(&vault, &r, SubmissionFormat::Pdf, true, &mut no_progress).unwrap();
        let t = flat(&pdf_text(&pdf).1);
        let first = t.find(&missing[0].code).expect("the first missing element");
        let body = t
            .find(language_line(lang).split(':').next().unwrap())
            .unwrap();
        assert!(
            first < body,
            "{m}: the PDF lists what is missing after the body"
        );
    }
}

/// Puts the canary and its other name in a case (every text of every record kind and an
/// evidence file name), with the canary as a victim with `consent`.
fn canary_case(vault: &mut Vault, tmp: &Path, consent: Consents) -> (Fixture, Uuid) {
    let text = format!("{CANARY} and {ALIAS}");
    let f = fill(vault, tmp, &text);
    let mut c = person(f.case, CANARY, Role::Victim, consent);
    c.other_names = vec![ALIAS.into()];
    c.contact = "canary-contact@example.org".into();
    c.birth_date = day("1977-07-17");
    c.residence = "Canaryville".into();
    c.organisation = "Canary Collective".into();
    c.occupation = "canarist".into();
    c.human_rights_work = "canary rights".into();
    let id = vault.add(Record::Person(c)).unwrap();
    (f, id)
}

const SECRETS: [&str; 9] = [
    "Zorblatt",
    "Quimby",
    ALIAS,
    "canary-contact",
    "1977",
    "Canaryville",
    "Canary Collective",
    "canarist",
    "canary rights",
];

/// The text with every run of eight or more hex digits (ids, hashes, references) blanked,
/// so a digits-only secret is not "found" inside a random identifier.
fn without_ids(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 8 {
            out.push('#');
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_hexdigit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

fn hay_has(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Whether the canary is named anywhere in the submission to `m` (text and PDF).
fn canary_named(vault: &Vault, f: &Fixture, m: Mechanism, lang: &str) -> (bool, bool) {
    let r = request(f, m, lang, &format!("{CANARY} and {ALIAS}"));
    let mut seen = (false, false);
    for format in [SubmissionFormat::Text, SubmissionFormat::Pdf] {
        let (bytes, _) = submission(vault, &r, format, true, &mut no_progress).unwrap();
        let text = read(m, lang, format, &bytes).to_lowercase();
        let named = text.contains("zorblatt quimby");
        let scrubbed = without_ids(&text);
        for s in SECRETS {
            // Digits can occur in a PDF's binary parts: the raw bytes are searched for
            // the words.
            let in_bytes = s.chars().any(|c| c.is_alphabetic()) && hay_has(&bytes, s);
            let found = in_bytes || scrubbed.contains(&s.to_lowercase());
            if !named {
                assert!(!found, "{m} {lang} {format:?}: {s:?} is in it");
            }
        }
        if !named {
            assert!(contains(&text, lang, withheld_marker(lang)), "{m} {lang}");
        }
        match format {
            SubmissionFormat::Text => seen.0 = named,
            SubmissionFormat::Pdf => seen.1 = named,
        }
    }
    seen
}

#[test]
fn a_person_without_consent_for_the_mechanism_is_named_nowhere_in_it() {
    // Everything but the mechanism's own consent: withheld from each.
    for m in Mechanism::ALL {
        let (tmp, mut vault) = new_vault();
        let mut consent = all_given();
        consent.set_mechanism(m.code(), Consent::NotAsked);
        let (f, _) = canary_case(&mut vault, tmp.path(), consent);
        for lang in m.languages() {
            assert_eq!(
                canary_named(&vault, &f, m, lang),
                (false, false),
                "{m} {lang}"
            );
        }
    }
    // No consent at all: withheld from all five.
    let (tmp, mut vault) = new_vault();
    let (f, _) = canary_case(&mut vault, tmp.path(), Consents::default());
    for m in Mechanism::ALL {
        assert_eq!(
            canary_named(&vault, &f, m, m.languages()[0]),
            (false, false),
            "{m}"
        );
    }
}

#[test]
fn a_person_who_consented_to_everything_is_named_in_all_five() {
    let (tmp, mut vault) = new_vault();
    let (f, _) = canary_case(&mut vault, tmp.path(), all_given());
    for m in Mechanism::ALL {
        assert_eq!(
            canary_named(&vault, &f, m, m.languages()[0]),
            (true, true),
            "{m}"
        );
    }
}

#[test]
fn consent_given_to_one_mechanism_names_the_person_there_only() {
    for named_to in Mechanism::ALL {
        let (tmp, mut vault) = new_vault();
        let mut consent = all_given();
        for m in Mechanism::ALL {
            if m != named_to {
                consent.set_mechanism(m.code(), Consent::Refused);
            }
        }
        let (f, _) = canary_case(&mut vault, tmp.path(), consent);
        for m in Mechanism::ALL {
            let want = m == named_to;
            assert_eq!(
                canary_named(&vault, &f, m, m.languages()[0]),
                (want, want),
                "consent to {named_to}, submission to {m}"
            );
        }
    }
}

#[test]
fn the_government_and_publication_consents_count_where_the_submission_uses_them() {
    let (tmp, mut vault) = new_vault();
    let mut consent = all_given();
    consent.publish = Consent::Refused;
    let (f, _) = canary_case(&mut vault, tmp.path(), consent);
    for m in Mechanism::ALL {
        // Only the Observatory's public appeal needs publication.
        let want = m != Mechanism::Observatory;
        assert_eq!(
            canary_named(&vault, &f, m, m.languages()[0]),
            (want, want),
            "{m}"
        );
    }
    let mut r = request(&f, Mechanism::Eu, "en", "");
    r.answers.retain(|a| a.key != "action_requested");
    r.answers.push(FormField {
        key: "action_requested".into(),
        value: "public_statement".into(),
    });
    let (bytes, stats) =
        submission(&vault, &r, SubmissionFormat::Text, true, &mut no_progress).unwrap();
    assert!(!String::from_utf8(bytes.to_vec())
        .unwrap()
        .contains("Zorblatt"));
    assert_eq!(stats.withheld, 1);

    // Asked not to publish, the Observatory names them, and says it may not publish.
    let mut r = request(&f, Mechanism::Observatory, "fr", "");
    r.answers.retain(|a| a.key != "consent_publish");
    r.answers.push(FormField {
        key: "consent_publish".into(),
        value: "no".into(),
    });
    let (bytes, stats) =
        submission(&vault, &r, SubmissionFormat::Text, true, &mut no_progress).unwrap();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(text.contains(CANARY), "{text}");
    assert!(
        text.contains("prie l'Observatoire de ne pas publier"),
        "{text}"
    );
    assert!(!text.contains("sont publics"), "{text}");
    assert_eq!(stats.withheld, 0);

    let (tmp, mut vault) = new_vault();
    let mut consent = all_given();
    consent.share_with_government = Consent::Refused;
    let (f, _) = canary_case(&mut vault, tmp.path(), consent);
    for m in Mechanism::ALL {
        assert_eq!(
            canary_named(&vault, &f, m, m.languages()[0]),
            (false, false),
            "{m}"
        );
    }
}

#[test]
fn the_un_communication_is_the_english_un_submission() {
    let (tmp, mut vault) = new_vault();
    let f = fill(&mut vault, tmp.path(), "");
    let old = unsr::UnSrRequest {
        case_id: f.case,
        kind: unsr::CommunicationType::AllegationLetter,
        submitter: "Ligue".into(),
        link_to_work: "Link".into(),
        current_risk: "Risk".into(),
        context: "Context".into(),
        perpetrator_types: vec![(f.perpetrator, PerpetratorType::State)],
    };
    let (a, stats) = unsr::communication(
        &vault,
        &old,
        unsr::UnSrFormat::Text,
        false,
        &mut no_progress,
    )
    .unwrap();
    let (b, _) = submission(
        &vault,
        &old.to_submission(),
        SubmissionFormat::Text,
        false,
        &mut no_progress,
    )
    .unwrap();
    assert_eq!(*a, *b);
    assert_eq!((stats.victims, stats.withheld), (1, 0));
    let text = String::from_utf8(a.to_vec()).unwrap();
    assert!(text.contains("Allegation letter (the violation has already happened)"));
    assert!(text.contains("SUBMITTER (CONFIDENTIAL)"));
}

#[test]
fn the_un_communication_names_no_one_who_did_not_consent_to_the_special_rapporteur() {
    use unsr::{communication, CommunicationType, UnSrFormat, UnSrRequest};
    let tmp = tempfile::tempdir().unwrap();
    let mut vault = Vault::create(&tmp.path().join("v"), &pass(), FAST).unwrap();
    let case = vault
        .add(Record::Case(Case {
            title: "C".into(),
            ..Case::default()
        }))
        .unwrap();
    let p = Person {
        case_id: case,
        name: "Zorblatt Quimby".into(),
        other_names: vec![],
        roles: vec![Role::Victim],
        is_group: false,
        group_size: None,
        sex: String::new(),
        birth_date: None,
        occupation: String::new(),
        organisation: String::new(),
        human_rights_work: String::new(),
        residence: String::new(),
        citizenship: String::new(),
        // Named to the government, never asked about the Special Rapporteur.
        consent: Consents {
            share_with_government: Consent::Given,
            publish: Consent::Given,
            ..Consents::default()
        },
        contact: String::new(),
    };
    vault.add(Record::Person(p)).unwrap();
    let req = UnSrRequest {
        case_id: case,
        kind: CommunicationType::UrgentAppeal,
        submitter: "S".into(),
        link_to_work: String::new(),
        current_risk: String::new(),
        context: String::new(),
        perpetrator_types: vec![],
    };
    let (bytes, _) = communication(&vault, &req, UnSrFormat::Text, true, &mut no_progress).unwrap();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(
        !text.contains("Zorblatt"),
        "named without consent to the mandate:\n{text}"
    );
}

#[test]
fn a_person_of_another_case_without_consent_is_not_named_in_this_cases_texts() {
    use custos_report::unsr::{communication, CommunicationType, UnSrFormat, UnSrRequest};
    let tmp = tempfile::tempdir().unwrap();
    let mut vault = Vault::create(&tmp.path().join("v"), &pass(), FAST).unwrap();
    let other = vault
        .add(Record::Case(Case {
            title: "Other case".into(),
            ..Case::default()
        }))
        .unwrap();
    // A person recorded in another case, who refused to be named to anyone.
    let stranger = vault
        .add(Record::Person(Person {
            case_id: other,
            name: "Zorblatt Quimby".into(),
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
            consent: Consents {
                share_with_government: Consent::Refused,
                publish: Consent::Refused,
                ..Consents::default()
            },
            contact: String::new(),
        }))
        .unwrap();
    let case = vault
        .add(Record::Case(Case {
            title: "This case".into(),
            ..Case::default()
        }))
        .unwrap();
    // This case's incident names them, as a witness and in its text.
    vault
        .add(Record::Incident(Incident {
            case_id: case,
            title: "Raid".into(),
            description: "Zorblatt Quimby saw the raid.".into(),
            start: None,
            end: None,
            location: None,
            act_types: vec![],
            persons: vec![Involvement {
                person_id: stranger,
                role: Role::Witness,
            }],
            related: vec![],
            impact: String::new(),
        }))
        .unwrap();
    let req = UnSrRequest {
        case_id: case,
        kind: CommunicationType::UrgentAppeal,
        submitter: "S".into(),
        link_to_work: String::new(),
        current_risk: String::new(),
        context: String::new(),
        perpetrator_types: vec![],
    };
    let (bytes, _) = communication(&vault, &req, UnSrFormat::Text, true, &mut no_progress).unwrap();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(
        !text.contains("Zorblatt"),
        "a person who refused is named:\n{text}"
    );
    // Nor in any submission of this case.
    for m in Mechanism::ALL {
        for lang in m.languages() {
            let r = SubmissionRequest {
                case_id: case,
                mechanism: m,
                language: (*lang).into(),
                answers: vec![],
                perpetrator_types: vec![],
            };
            let (bytes, _) =
                submission(&vault, &r, SubmissionFormat::Text, true, &mut no_progress).unwrap();
            let text = String::from_utf8(bytes.to_vec()).unwrap();
            assert!(!text.contains("Zorblatt"), "{m} {lang}:\n{text}");
            // "[name withheld] saw the raid." in the submission's language.
            let short = withheld_marker(lang).split(':').next().unwrap().trim_end();
            assert!(
                text.contains(&format!("{short}] saw the raid.")),
                "{m} {lang}:\n{text}"
            );
        }
    }
}

/// Figures: the time to build each submission of a case of 50 records, and the PDF's
/// bytes per page. `cargo test -p custos-report --release --test submissions --
/// --ignored --nocapture submission_figures`
#[test]
#[ignore]
fn submission_figures() {
    let (tmp, mut vault) = new_vault();
    let f = fill(&mut vault, tmp.path(), "");
    // fill wrote 7 records (case, 2 persons, incident, intervention, note, evidence).
    for n in 0..43 {
        let rec = match n % 4 {
            0 => Record::Person(person(
                f.case,
                &format!("Victim {n}"),
                Role::Victim,
                all_given(),
            )),
            1 => Record::Incident(Incident {
                case_id: f.case,
                title: format!("Incident {n}"),
                description: "Threatened at a checkpoint; phone searched. ".repeat(8),
                start: day("2024-06-01"),
                end: None,
                location: Some(Location {
                    place: "Gabès".into(),
                    ..Location::default()
                }),
                act_types: vec!["threat".into()],
                persons: vec![],
                related: vec![],
                impact: "Stopped travelling.".into(),
            }),
            2 => Record::Intervention(Intervention {
                case_id: f.case,
                title: format!("Appeal {n}"),
                mechanism: String::new(),
                kind: InterventionType::Other,
                date: Some("2024-07-01".parse().unwrap()),
                status: InterventionStatus::Sent,
                reference: format!("REF-{n}"),
                response: String::new(),
                incident_ids: vec![],
                person_ids: vec![],
                channel: "e-mail".into(),
                follow_up: None,
                language: "en".into(),
                form: vec![],
            }),
            _ => Record::Note(Note {
                case_id: f.case,
                text: format!("Note {n}"),
                about: vec![],
            }),
        };
        vault.add(rec).unwrap();
    }
    let total = vault
        .list(&custos_vault::Filter {
            case_id: Some(f.case),
            ..Default::default()
        })
        .len();
    println!("records in the case: {total}");
    for m in Mechanism::ALL {
        for lang in m.languages() {
            let r = request(&f, m, lang, "");
            let t = Instant::now();
            let (text, _) =
                submission(&vault, &r, SubmissionFormat::Text, true, &mut no_progress).unwrap();
            let text_ms = t.elapsed().as_secs_f64() * 1000.0;
            let t = Instant::now();
            let (pdf, stats) =
                submission(&vault, &r, SubmissionFormat::Pdf, true, &mut no_progress).unwrap();
            let pdf_ms = t.elapsed().as_secs_f64() * 1000.0;
            println!(
                "{:<12} {lang}: text {:>7.1} ms ({:>6} B), PDF {:>7.1} ms, {:>2} pages, {:>7} B, {:>6} B/page",
                m.name(),
                text_ms,
                text.len(),
                pdf_ms,
                stats.pages,
                pdf.len(),
                pdf.len() / stats.pages.max(1)
            );
        }
    }
}
