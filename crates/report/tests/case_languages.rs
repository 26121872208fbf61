//! The case report in each of its eleven languages, from a real vault: every locale
//! file has every key the report uses (and no other) with the same placeholders; the
//! report's text and its PDF carry no U+FFFD and no English fixed word where the
//! language has its own; Persian is written with Persian digits; the PDF's text can be
//! extracted; an unknown language code writes English and never fails.

use custos_model::*;
use custos_report::pdf::{case_report_in, case_report_text};
use custos_report::words::{keys_of, language, raw, LANGUAGES};
use custos_report::{no_progress, Selection};
use custos_test_support::{pass, FAST};
use custos_vault::Vault;
use uuid::Uuid;

fn new_vault() -> (tempfile::TempDir, Vault) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let vault = Vault::create(&tmp.path().join("vault"), &pass(), FAST).expect("vault");
    (tmp, vault)
}

fn date(s: &str, precision: Precision) -> Option<FuzzyDate> {
    Some(FuzzyDate {
        date: s.parse().expect("date"),
        precision,
    })
}

/// A case with every kind of record and every kind of fixed word: statuses, roles,
/// consents (refused and not asked), a group, dates of each precision, an intervention,
/// evidence and a note. Its content is made-up words that no language uses.
fn fill(tmp: &tempfile::TempDir, vault: &mut Vault) -> Uuid {
    let case = vault
        .add(Record::Case(Case {
            title: "Qxv-17".into(),
            summary: "Zorblatt quimby.".into(),
            status: CaseStatus::Monitoring,
            confidentiality: Confidentiality::Restricted,
            owner: "Wepp".into(),
            tags: vec!["qx".into(), "vv".into()],
        }))
        .expect("case");
    let person = |name: &str, publish: Consent, group: Option<u32>| Person {
        case_id: case,
        name: name.into(),
        other_names: vec!["Zzq".into()],
        roles: vec![Role::Victim, Role::Witness],
        is_group: group.is_some(),
        group_size: group,
        sex: "f".into(),
        birth_date: date("1990-03-04", Precision::Year),
        occupation: "Blorp".into(),
        organisation: "Quux".into(),
        human_rights_work: "Vexx".into(),
        residence: "Ploo".into(),
        citizenship: "QQ".into(),
        consent: Consents {
            publish,
            share_with_government: Consent::Given,
            ..Consents::default()
        },
        contact: "zz@qq".into(),
    };
    let a = vault
        .add(Record::Person(person("Ynn Qar", Consent::Refused, None)))
        .expect("person");
    let b = vault
        .add(Record::Person(person(
            "Vrr Kol",
            Consent::NotAsked,
            Some(12),
        )))
        .expect("person");
    vault
        .add(Record::Person(person("Xoo Pim", Consent::Given, None)))
        .expect("person");
    let incident = vault
        .add(Record::Incident(Incident {
            case_id: case,
            title: "Qxv-incident".into(),
            description: "Blorp vexx.".into(),
            start: date("2024-05-02", Precision::Day),
            end: date("2024-06-01", Precision::Approximate),
            location: Some(Location {
                place: "Ploo".into(),
                region: "Vv".into(),
                country: "QQ".into(),
                lat: Some(12.5),
                lon: Some(-3.25),
            }),
            act_types: vec!["enforced_disappearance".into()],
            persons: vec![
                Involvement {
                    person_id: a,
                    role: Role::Victim,
                },
                Involvement {
                    person_id: b,
                    role: Role::Perpetrator,
                },
            ],
            related: vec![],
            impact: "Qq.".into(),
        }))
        .expect("incident");
    vault
        .add(Record::Incident(Incident {
            case_id: case,
            title: "Qxv-month".into(),
            description: String::new(),
            start: date("2023-11-01", Precision::Month),
            end: None,
            location: None,
            act_types: vec![],
            persons: vec![],
            related: vec![],
            impact: String::new(),
        }))
        .expect("incident");
    vault
        .add(Record::Intervention(Intervention {
            case_id: case,
            title: "Qxv-appeal".into(),
            mechanism: String::new(),
            kind: InterventionType::UrgentAppeal,
            date: Some("2024-05-10".parse().expect("date")),
            status: InterventionStatus::Acknowledged,
            reference: "UA QQ 1/2024".into(),
            response: "Vexx.".into(),
            incident_ids: vec![incident],
            person_ids: vec![a],
            channel: String::new(),
            follow_up: None,
            language: String::new(),
            form: vec![],
        }))
        .expect("intervention");
    vault
        .add(Record::Note(Note {
            case_id: case,
            text: "Zorblatt.".into(),
            about: vec![],
        }))
        .expect("note");
    let file = tmp.path().join("qq.txt");
    std::fs::write(&file, b"qq").expect("file");
    vault
        .attach(
            &file,
            custos_vault::Attach {
                case_id: case,
                attached_to: vec![],
                description: "Vexx qq.".into(),
                derived_from: None,
            },
        )
        .expect("evidence");
    case
}

/// The text of every page of a PDF, as lopdf extracts it.
fn pdf_text(bytes: &[u8]) -> String {
    let doc = lopdf::Document::load_mem(bytes).expect("a PDF lopdf can read");
    doc.get_pages()
        .keys()
        .map(|p| doc.extract_text(&[*p]).expect("text"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `{name}` placeholders of a text, sorted.
fn placeholders(s: &str) -> Vec<String> {
    let mut out: Vec<String> = s
        .split('{')
        .skip(1)
        .filter_map(|p| p.split_once('}').map(|(n, _)| n.to_owned()))
        .collect();
    out.sort();
    out
}

/// Whether `word` stands in `text` as whole words (not inside a longer word).
fn has_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

#[test]
fn every_locale_file_has_every_key_the_report_uses_with_the_same_placeholders() {
    let en = keys_of("en").expect("en.json");
    // Every key is used by the report's code, and the code uses no key en.json lacks.
    let source = [
        include_str!("../src/pdf.rs"),
        include_str!("../src/words.rs"),
    ]
    .concat();
    let unused: Vec<&String> = en
        .iter()
        .filter(|k| !source.contains(&format!("\"{k}\"")))
        .collect();
    assert!(unused.is_empty(), "keys of en.json never used: {unused:?}");
    let mut problems = Vec::new();
    for lang in LANGUAGES {
        let keys = keys_of(lang).unwrap_or_else(|| panic!("{lang}.json does not parse"));
        let missing: Vec<&String> = en.iter().filter(|k| !keys.contains(k)).collect();
        let unknown: Vec<&String> = keys.iter().filter(|k| !en.contains(k)).collect();
        if !missing.is_empty() || !unknown.is_empty() {
            problems.push(format!("{lang}: missing {missing:?}, unknown {unknown:?}"));
        }
        if keys != en {
            problems.push(format!("{lang}: keys not in the order of en.json"));
        }
        for k in &en {
            let (Some(text), Some(english)) = (raw(lang, k), raw("en", k)) else {
                continue;
            };
            if text.trim().is_empty() {
                problems.push(format!("{lang}: {k} is empty"));
            }
            if placeholders(text) != placeholders(english) {
                problems.push(format!("{lang}: {k} has other placeholders: {text}"));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_report_speaks_each_language_and_draws_every_character() {
    let (tmp, mut vault) = new_vault();
    fill(&tmp, &mut vault);
    let english_keys = keys_of("en").expect("en.json");
    for lang in LANGUAGES {
        let text = case_report_text(&vault, &Selection::all(), lang).expect("text");
        assert!(!text.contains('\u{FFFD}'), "{lang}: {}", text.as_str());
        // The vocabulary's labels are not the report's words (a language without its
        // own labels shows English ones): their lines are left out of the check.
        let vocab_labels = [
            raw(lang, "field.act_types").expect("label"),
            raw(lang, "field.rights").expect("label"),
        ];
        let checked: String = text
            .lines()
            .filter(|l| !vocab_labels.iter().any(|v| l.starts_with(v)))
            .collect::<Vec<_>>()
            .join("\n");
        if lang != "en" {
            for k in &english_keys {
                let (Some(own), Some(english)) = (raw(lang, k), raw("en", k)) else {
                    continue;
                };
                if own == english {
                    continue;
                }
                // The English words between placeholders, where they are words.
                for piece in english.split(['{', '}']).step_by(2) {
                    let piece = piece.trim_matches(|c: char| !c.is_alphanumeric());
                    if piece.chars().filter(|c| c.is_alphabetic()).count() < 4
                        || own.contains(piece)
                    {
                        continue;
                    }
                    assert!(
                        !has_word(&checked, piece),
                        "{lang}: the English of {k} ({piece:?}) is in the report:\n{checked}"
                    );
                }
            }
        }
        // The language's own title is there.
        let title = raw(lang, "report.title")
            .expect("title")
            .replace("{title}", "Qxv-17");
        assert!(
            text.contains(&title),
            "{lang}: {title:?} not in\n{}",
            text.as_str()
        );

        let (bytes, stats) =
            case_report_in(&vault, &Selection::all(), None, lang, &mut no_progress).expect("pdf");
        assert_eq!(stats.cases, 1);
        let pdf = pdf_text(&bytes);
        assert!(!pdf.contains('\u{FFFD}'), "{lang}: {pdf}");
        assert!(pdf.contains("Qxv-17"), "{lang}: {pdf}");
        // Left-to-right scripts read back as written (Arabic and Persian are drawn in
        // presentation forms, right to left).
        if !matches!(lang, "ar" | "fa") {
            let flat: String = pdf.split_whitespace().collect();
            let plain: String = raw(lang, "report.title_plain")
                .expect("title")
                .split_whitespace()
                .collect();
            assert!(flat.contains(&plain), "{lang}: {plain:?} not in {pdf}");
        }
    }
}

#[test]
fn persian_is_written_with_persian_digits_and_joined_letters() {
    let (tmp, mut vault) = new_vault();
    fill(&tmp, &mut vault);
    let text = case_report_text(&vault, &Selection::all(), "fa").expect("text");
    for (persian, ascii) in [
        ("۲۰۲۴-۰۵-۰۲", "2024-05-02"),
        ("۲۰۲۳-۱۱", "2023-11"),
        ("۱۹۹۰", "1990"),
        ("۱۲ نفره", "(12"),
    ] {
        assert!(
            text.contains(persian),
            "{persian} not in\n{}",
            text.as_str()
        );
        assert!(!text.contains(ascii), "{ascii} in\n{}", text.as_str());
    }
    assert!(text.contains("رویدادها (۲)"), "{}", text.as_str());
    // Identifiers stay as they are: record numbers, coordinates.
    assert!(text.contains("12.50000, -3.25000"), "{}", text.as_str());
    let (bytes, _) =
        case_report_in(&vault, &Selection::all(), None, "fa", &mut no_progress).expect("pdf");
    let pdf = pdf_text(&bytes);
    assert!(pdf.contains("۲۰۲۴-۰۵-۰۲"), "{pdf}");
    // Every Persian letter was shaped: none is left in its base (unjoined) form.
    let base: Vec<char> = pdf
        .chars()
        .filter(|c| {
            matches!(
                *c as u32,
                0x0621..=0x064A | 0x067E | 0x0686 | 0x0698 | 0x06A9 | 0x06AF | 0x06CC
            )
        })
        .collect();
    assert!(base.is_empty(), "unshaped letters {base:?} in {pdf}");
    // Arabic keeps the digits its screen shows (Intl's default for ar: ASCII).
    let ar = case_report_text(&vault, &Selection::all(), "ar").expect("text");
    assert!(ar.contains("2024-05-02"), "{}", ar.as_str());
}

#[test]
fn an_unknown_language_writes_english_and_never_fails() {
    let (tmp, mut vault) = new_vault();
    fill(&tmp, &mut vault);
    let english = case_report_text(&vault, &Selection::all(), "en").expect("text");
    for code in [
        "xx",
        "",
        "zh-Hant",
        "en-GB",
        "\u{0}\u{202E}ﷺ",
        "../../etc/passwd",
        "fa-",
    ] {
        let text = case_report_text(&vault, &Selection::all(), code).expect("text");
        let expected = language(code);
        if expected == "en" {
            // The same words as English (the time written may differ by a minute).
            let cut = |t: &str| -> String {
                t.lines()
                    .filter(|l| !l.starts_with("Report written"))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            assert_eq!(cut(&text), cut(&english), "{code:?}");
        }
        let (bytes, _) =
            case_report_in(&vault, &Selection::all(), None, code, &mut no_progress).expect("pdf");
        assert!(bytes.starts_with(b"%PDF-"), "{code:?}");
    }
    assert_eq!(language("fa-"), "fa");
    // An empty selection of a vault without records: "Nothing was selected", translated.
    let (_tmp2, empty) = new_vault();
    let text = case_report_text(&empty, &Selection::all(), "ru").expect("text");
    assert!(text.contains("Ничего не выбрано."), "{}", text.as_str());
}
