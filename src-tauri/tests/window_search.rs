//! Search and export in the real window: a vault with cases written in French, Arabic
//! and Spanish (accents, Arabic short vowels) is searched as one types — without the
//! diacritics — and narrowed by filters; then exported through the export dialog: JSON
//! of the cases a search shows, JSON of one case encrypted to an age recipient that has
//! nothing to do with the vault, a communication to the UN Special Rapporteur (missing
//! elements first, a victim without consent not named), every case as the PDF report
//! and as CSV, and the dialog in Arabic.
//!
//! The harness is in support/mod.rs; screenshots go to `target/screenshots/search-*.png`.

use custos_test_support::window as support;

use std::path::Path;

use custos_model::Record;
use custos_vault::{Options, SecretString, Vault};
use serde_json::{json, Value};
use support::{App, Driver};

const PASS: &str = "lantern orchard velvet quarry 1987 sparrow";

fn add(v: &mut Vault, record: Value) -> uuid::Uuid {
    v.add(Record::from_json(record).expect("a valid record"))
        .expect("the record is written")
}

/// The ids of the seeded cases: (school in French, school in Arabic, threats in Spanish).
struct Seeded {
    school: String,
    madrasa: String,
    threats: String,
}

/// Writes three cases, with their records, into a new vault at `dir`.
fn seed(dir: &Path, marker: &str, redacted: &str) -> Seeded {
    let mut v = Vault::create(
        dir,
        &SecretString::from(PASS.to_owned()),
        Options::insecure_for_tests(),
    )
    .unwrap();
    let school = add(
        &mut v,
        json!({"kind": "case", "title": format!("Fermeture de l’École Ibn Khaldoun {marker}"),
               "summary": "Les élèves ont été expulsés par la police.", "status": "open",
               "tags": ["éducation"]}),
    );
    let teacher = add(
        &mut v,
        json!({"kind": "person", "case_id": school, "name": "Hélène Dubois",
               "roles": ["victim"], "occupation": "institutrice"}),
    );
    add(
        &mut v,
        json!({"kind": "incident", "case_id": school, "title": "Expulsion des élèves",
               "description": "La police a fermé l’école et arrêté l’institutrice.",
               "start": {"date": "2026-02-10", "precision": "day"},
               "location": {"place": "Tizi Ouzou", "region": "Kabylie", "country": "DZ"},
               "act_types": ["arbitrary_arrest"],
               "persons": [{"person_id": teacher, "role": "victim"}]}),
    );

    let madrasa = add(
        &mut v,
        json!({"kind": "case", "title": format!("اعتقال الصحفي {marker}"),
               "summary": "اعتقال صحفي بعد تقرير عن المدارس.", "status": "monitoring"}),
    );
    let witness = add(
        &mut v,
        json!({"kind": "person", "case_id": madrasa, "name": "سلمى يوسف", "roles": ["witness"]}),
    );
    add(
        &mut v,
        json!({"kind": "incident", "case_id": madrasa, "title": "مداهمة مَدْرَسَة البنات",
               "description": "دخلت قوات الأمن مَدْرَسَة البنات واعتقلت الصحفي.",
               "start": {"date": "2026-03-05", "precision": "day"},
               "location": {"place": "الخليل", "country": "PS"},
               "act_types": ["arbitrary_arrest"],
               "persons": [{"person_id": witness, "role": "witness"}]}),
    );

    let threats = add(
        &mut v,
        json!({"kind": "case", "title": format!("Amenazas a defensora en Cúcuta {marker}"),
               "summary": "Amenazas de muerte por teléfono.", "status": "open",
               "tags": ["defensoras"]}),
    );
    let victim = add(
        &mut v,
        json!({"kind": "person", "case_id": threats, "name": redacted, "roles": ["victim"],
               "consent": {"share_with_government": "refused", "publish": "refused"},
               "contact": format!("+57 300 {marker}")}),
    );
    add(
        &mut v,
        json!({"kind": "incident", "case_id": threats, "title": "Amenaza de muerte",
               "description": "Llamada anónima con amenazas de muerte.",
               "start": {"date": "2026-04-20", "precision": "day"},
               "location": {"place": "Cúcuta", "region": "Norte de Santander", "country": "CO"},
               "act_types": ["death_threat"],
               "persons": [{"person_id": victim, "role": "victim"}]}),
    );
    add(
        &mut v,
        json!({"kind": "note", "case_id": threats,
               "text": "Pedir medidas cautelares a la Comisión Interamericana."}),
    );
    v.lock().unwrap();
    Seeded {
        school: school.to_string(),
        madrasa: madrasa.to_string(),
        threats: threats.to_string(),
    }
}

fn rows(d: &Driver) -> Vec<String> {
    d.script(
        "return [...document.querySelectorAll('[data-testid=case-row]')].map(r => r.dataset.recordId);",
    )
    .as_array()
    .unwrap()
    .iter()
    .map(|v| v.as_str().unwrap().to_owned())
    .collect()
}

/// Types into the search box and waits until exactly `want` cases are listed (in any
/// order) and no search is pending.
fn search_for(d: &Driver, text: &str, want: &[&str]) {
    d.type_into("#search", text);
    wait_rows(d, &format!("the search {text:?}"), want);
}

fn wait_rows(d: &Driver, what: &str, want: &[&str]) {
    let mut want: Vec<String> = want.iter().map(|s| (*s).to_owned()).collect();
    want.sort();
    d.wait_until(what, || {
        let mut got = rows(d);
        got.sort();
        got == want
            && d.script("return document.querySelector('#case-list').hasAttribute('aria-busy');")
                == json!(false)
    });
}

/// What a case's row says matched: [[kind, title]].
fn matches(d: &Driver, case: &str) -> Value {
    d.script(&format!(
        "return [...document.querySelectorAll(\"[data-record-id='{case}'] [data-testid=case-match]\")]\
         .map(m => [m.dataset.kind, m.querySelector('.match-title').textContent]);"
    ))
}

fn shown(d: &Driver, css: &str) -> bool {
    d.script(&format!(
        "const e = document.querySelector({css:?}); \
         return !!e && !e.hidden && e.getClientRects().length > 0;"
    )) == json!(true)
}

/// Runs the open export dialog to `path` and waits for its result.
fn run_export(d: &Driver, path: &Path) {
    d.type_into("#export-file", &path.display().to_string());
    d.wait_until("the export button", || d.enabled("#export-run"));
    d.click("#export-run");
    d.wait_until("the export to end", || {
        shown(d, "#export-result") || shown(d, "#export-error")
    });
    assert!(
        shown(d, "#export-result"),
        "the export failed: {}",
        d.text("#export-error")
    );
    let progress = d.script(
        "const p = document.querySelector('#export-progress'); return [p.dataset.done, p.dataset.total];",
    );
    assert_eq!(
        progress[0], progress[1],
        "the progress bar did not reach its end"
    );
}

fn record_titles(export: &Value) -> Vec<String> {
    export["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| {
            let body = &r["versions"].as_array()?.last()?["body"]["record"];
            body["title"]
                .as_str()
                .or(body["name"].as_str())
                .map(str::to_owned)
        })
        .collect()
}

#[test]
fn search_as_you_type_filters_and_exports_in_the_real_window() {
    let marker = format!("CANARY{}", std::process::id());
    let redacted = format!("Redactada{} Gómez", std::process::id());
    let out = tempfile::tempdir().unwrap();
    let mut ids = None;
    let mut app = App::start_with(|dir| ids = Some(seed(dir, &marker, &redacted)));
    let ids = ids.unwrap();
    let d = &app.d;

    let scenario = d.scenario("unlock to the three seeded cases");
    d.type_into("#unlock-passphrase", PASS);
    d.click("#unlock-submit");
    d.wait("#screen-cases");
    wait_rows(
        d,
        "the three cases",
        &[&ids.school, &ids.madrasa, &ids.threats],
    );

    scenario.step("accents and case do not matter");
    // Accents and case do not matter: "ecole" finds "École", "eleves" the incident
    // "Expulsion des élèves" (and the row says so).
    search_for(d, "ecole", &[&ids.school]);
    search_for(d, "ELEVES", &[&ids.school]);
    let m = matches(d, &ids.school);
    assert!(
        m.as_array()
            .unwrap()
            .contains(&json!(["incident", "Expulsion des élèves"])),
        "the matching incident is not shown: {m}"
    );
    assert!(d.text("#case-list").contains("Incident"));
    scenario.step("Arabic without short vowels");
    // Arabic without its short vowels finds the word written with them.
    search_for(d, "مدرسة", &[&ids.madrasa]);
    let m = matches(d, &ids.madrasa);
    assert!(
        m.as_array()
            .unwrap()
            .iter()
            .any(|x| x[0] == json!("incident") && x[1] == json!("مداهمة مَدْرَسَة البنات")),
        "the Arabic incident is not shown: {m}"
    );
    d.screenshot("search-01-arabic-word");
    scenario.step("search as you type: the last word is a prefix");
    // As one types: the last word is a prefix. A person's name, a note's words.
    search_for(d, "cucu", &[&ids.threats]);
    search_for(d, "helene", &[&ids.school]);
    search_for(d, "medidas cautelares", &[&ids.threats]);
    assert_eq!(matches(d, &ids.threats)[0][0], json!("note"));
    scenario.step("a quoted phrase");
    // A quoted phrase must appear as written.
    search_for(d, "\"amenaza de muerte\"", &[&ids.threats]);
    search_for(d, "\"muerte de amenaza\"", &[]);
    d.wait("#case-list-empty");
    scenario.step("common words narrowed by filters");
    // Words common to two cases, then narrowed by the filters.
    search_for(d, "police", &[&ids.school]);
    search_for(d, "arret", &[&ids.school]);
    d.click("#clear-filters");
    wait_rows(
        d,
        "every case again",
        &[&ids.school, &ids.madrasa, &ids.threats],
    );

    scenario.step("filters alone");
    // Filters alone: a person's role, the place of an incident, and with words.
    d.set_value("#filter-role", "witness");
    wait_rows(d, "the role filter", &[&ids.madrasa]);
    d.set_value("#filter-role", "victim");
    wait_rows(d, "victims", &[&ids.school, &ids.threats]);
    d.type_into("#filter-location", "kabylie");
    wait_rows(d, "the place filter", &[&ids.school]);
    d.set_value("#filter-location", "");
    wait_rows(d, "victims again", &[&ids.school, &ids.threats]);
    d.set_value("#filter-role", "");
    d.set_value("#filter-act", "arbitrary_arrest");
    wait_rows(d, "arrests", &[&ids.school, &ids.madrasa]);
    search_for(d, "journalist", &[]);
    search_for(d, "الصحفي", &[&ids.madrasa]);
    d.set_value("#filter-status", "open");
    wait_rows(d, "the status filter with words", &[]);
    d.click("#clear-filters");
    wait_rows(d, "every case", &[&ids.school, &ids.madrasa, &ids.threats]);
    d.type_into("#filter-location", "cucuta");
    wait_rows(d, "Cúcuta", &[&ids.threats]);
    assert_eq!(d.overflow_x(), 0, "the case list scrolls sideways");
    d.screenshot("search-02-filters");

    scenario.step("export the cases shown as JSON");
    // Export the cases shown (one), as JSON: the warning first, the file at the path.
    d.click("#export-cases");
    d.wait("#export-dialog");
    assert!(
        shown(d, "#export-warning"),
        "no warning that the file is plain"
    );
    assert!(d.text("#export-warning").contains("not encrypted"));
    assert_eq!(d.checked("#export-scope-shown"), 1);
    assert_eq!(d.checked("#export-format-json"), 1);
    d.screenshot("search-03-export-dialog");
    let shown_json = out.path().join("shown.json");
    run_export(d, &shown_json);
    d.screenshot("search-04-exported");
    let export: Value = serde_json::from_slice(&std::fs::read(&shown_json).unwrap()).unwrap();
    assert_eq!(export["format"], json!("custos-export"));
    let titles = record_titles(&export);
    assert!(titles.iter().any(|t| t.starts_with("Amenazas a defensora")));
    assert!(titles.contains(&"Amenaza de muerte".to_owned()));
    assert!(
        !titles.iter().any(|t| t.contains("École")),
        "a case the filters hid was exported: {titles:?}"
    );
    scenario.step("an export never replaces a file");
    // Asked again at the same path: an export never replaces a file.
    let before = std::fs::read(&shown_json).unwrap();
    d.click("#export-run");
    d.wait_until("the existing file to be refused", || {
        shown(d, "#field-error-export-file")
    });
    assert!(d.text("#field-error-export-file").contains("already"));
    assert_eq!(std::fs::read(&shown_json).unwrap(), before);
    d.click("#export-close");
    d.wait_until("the dialog to close", || d.gone("#export-dialog"));
    d.click("#clear-filters");
    wait_rows(d, "every case", &[&ids.school, &ids.madrasa, &ids.threats]);

    scenario.step("one case encrypted to an age recipient");
    // One case, encrypted to an age recipient the vault knows nothing of.
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    d.click(&format!(
        "[data-record-id='{}'] [data-testid=case-open]",
        ids.madrasa
    ));
    d.wait("#case-export");
    d.click("#case-export");
    d.wait("#export-dialog");
    d.click("#export-encrypt");
    d.type_into("#export-recipient", "age1notarecipient");
    d.type_into(
        "#export-file",
        &out.path().join("case.json.age").display().to_string(),
    );
    d.click("#export-run");
    d.wait_until("the recipient to be refused", || {
        shown(d, "#field-error-export-recipient")
    });
    d.type_into("#export-recipient", &recipient);
    let sealed_path = out.path().join("case.json.age");
    run_export(d, &sealed_path);
    assert_eq!(
        d.script("return document.querySelector('#export-result').dataset.encrypted;"),
        json!("true")
    );
    let sealed = std::fs::read(&sealed_path).unwrap();
    assert!(!support::contains(&sealed, marker.as_bytes()));
    assert!(!support::contains(&sealed, "اعتقال".as_bytes()));
    let plain = age::decrypt(&identity, &sealed).expect("the export opens with the identity");
    let export: Value = serde_json::from_slice(&plain).unwrap();
    let titles = record_titles(&export);
    assert!(titles.iter().any(|t| t.starts_with("اعتقال الصحفي")));
    assert!(titles.contains(&"مداهمة مَدْرَسَة البنات".to_owned()));
    assert_eq!(titles.len(), 3, "{titles:?}");
    d.click("#export-close");
    d.wait_until("the dialog to close", || d.gone("#export-dialog"));

    scenario.step("the UN communication: what it lacks first, no name without consent");
    // A communication to the UN Special Rapporteur: what it lacks comes first, and
    // nothing is written without an explicit "export anyway"; the victim who refused
    // to be named to the government is not named.
    d.click("#back-to-cases");
    d.click(&format!(
        "[data-record-id='{}'] [data-testid=case-open]",
        ids.threats
    ));
    d.wait("#case-export");
    d.click("#case-export");
    d.wait("#export-dialog");
    d.click("#export-format-unsr");
    d.wait("[data-testid=missing-item]");
    let missing = d.script(
        "return [...document.querySelectorAll('[data-testid=missing-item]')].map(m => m.dataset.element);",
    );
    for code in [
        "submitter",
        "victim_withheld",
        "link_to_work",
        "current_risk",
    ] {
        assert!(
            missing.as_array().unwrap().contains(&json!(code)),
            "{code} is not listed as missing: {missing}"
        );
    }
    assert!(shown(d, "#export-missing") && shown(d, "#export-anyway"));
    assert!(
        !d.enabled("#export-run"),
        "a communication with missing elements can be written without confirming"
    );
    scenario.step("the submitter given leaves the list");
    // Giving the submitter takes it off the list.
    d.type_into("#export-submitter", "Red de Defensoras del Norte");
    d.wait_until("the submitter to be no longer missing", || {
        d.find("[data-testid=missing-item][data-element=submitter]")
            .is_none()
            && d.find("[data-testid=missing-item]").is_some()
    });
    d.screenshot("search-05-unsr-missing");
    let letter = out.path().join("communication.txt");
    d.type_into("#export-file", &letter.display().to_string());
    assert!(!d.enabled("#export-run"));
    assert!(!letter.exists());
    d.click("#export-anyway");
    d.wait_until("export anyway", || d.enabled("#export-run"));
    run_export(d, &letter);
    assert_eq!(
        d.script("return document.querySelector('#export-result').dataset.withheld;"),
        json!("1")
    );
    let text = std::fs::read_to_string(&letter).unwrap();
    assert!(text.contains("Cúcuta") && text.contains("Red de Defensoras del Norte"));
    assert!(text.contains("[name withheld: no consent]"));
    let surname = redacted.split(' ').next().unwrap();
    assert!(
        !text.contains(surname),
        "the person who did not consent is named in the communication"
    );
    d.click("#export-close");
    d.wait_until("the dialog to close", || d.gone("#export-dialog"));
    d.click("#back-to-cases");

    scenario.step("every case as PDF, then CSV, with progress");
    // Every case as the PDF report, then as CSV (a new folder, HURIDOCS columns): the
    // progress bar counts the records read.
    d.click("#export-cases");
    d.wait("#export-dialog");
    d.click("#export-format-pdf");
    let report = out.path().join("report.pdf");
    run_export(d, &report);
    let total =
        d.script("return Number(document.querySelector('#export-progress').dataset.total);");
    assert!(total.as_u64().unwrap() > 3, "no progress counted: {total}");
    assert!(std::fs::read(&report).unwrap().starts_with(b"%PDF"));
    d.click("#export-format-csv");
    assert!(
        shown(d, "#export-file-hint"),
        "CSV does not say it writes a folder"
    );
    let folder = out.path().join("csv");
    run_export(d, &folder);
    let events = std::fs::read_to_string(folder.join("events.csv")).unwrap();
    assert!(events.contains("Expulsion des élèves") && events.contains("Amenaza de muerte"));
    assert!(
        shown(d, "#status-message"),
        "the export's message is not shown"
    );
    d.click("#export-close");
    d.wait_until("the dialog to close", || d.gone("#export-dialog"));

    scenario.step("the export dialog in Arabic");
    // The dialog in Arabic: right to left, in Arabic words. The English message of the
    // export just made does not stay on screen once the language has changed.
    d.click("#nav-settings");
    d.set_value("#language", "ar");
    d.click("#settings-save");
    d.wait_until("right-to-left", || {
        d.script("return document.documentElement.dir;") == json!("rtl")
    });
    assert!(
        !shown(d, "#status-message"),
        "a message in the old language is left on screen"
    );
    d.click("#nav-cases");
    d.wait("#export-cases");
    d.click("#export-cases");
    d.wait("#export-dialog");
    let layout = d.script(
        "const dlg = document.querySelector('#export-dialog'); \
         const w = document.querySelector('#export-warning'); \
         return [getComputedStyle(dlg).direction, w.textContent];",
    );
    assert_eq!(layout[0], json!("rtl"));
    assert!(
        layout[1]
            .as_str()
            .unwrap()
            .chars()
            .any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)),
        "the warning is not in Arabic: {layout}"
    );
    d.click("#export-encrypt");
    d.wait("#export-recipient");
    d.screenshot("search-06-export-arabic");
    d.click("#export-close");
    d.wait_until("the dialog to close", || d.gone("#export-dialog"));
    search_for(d, "مدرسه", &[&ids.madrasa]);
    d.screenshot("search-07-cases-arabic");

    scenario.step("nothing readable left behind");
    // Nothing in the webview's own storage; nothing readable left by the app.
    let storage = d.script("return [localStorage.length, sessionStorage.length, document.cookie];");
    assert_eq!(storage, json!([0, 0, ""]), "webview storage used");
    drop(scenario);
    app.stop();
    let scanned = app.scan_for(&marker);
    app.scan_for(&redacted);
    eprintln!("scanned {scanned} files, no plaintext");
}

/// A case with one victim, for the submission and follow-up test. → the case id.
fn seed_submission(dir: &Path, marker: &str) -> String {
    let mut v = Vault::create(
        dir,
        &SecretString::from(PASS.to_owned()),
        Options::insecure_for_tests(),
    )
    .unwrap();
    let case = add(
        &mut v,
        json!({"kind": "case", "title": format!("Avocate menacée à Bamako {marker}"),
               "summary": "Menaces après une plaidoirie.", "status": "open"}),
    );
    add(
        &mut v,
        json!({"kind": "incident", "case_id": case, "title": "Menaces de mort",
               "description": "Appels anonymes la nuit après l’audience.",
               "start": {"date": "2026-09-14", "precision": "day"},
               "location": {"place": "Bamako", "country": "ML"},
               "act_types": ["death_threat"]}),
    );
    v.lock().unwrap();
    case.to_string()
}

/// Switches the UI language in the settings and waits for the page to follow.
fn set_language(d: &Driver, lang: &str, dir: &str) {
    d.click("#nav-settings");
    d.set_value("#language", lang);
    d.click("#settings-save");
    d.wait_until("the new language", || {
        d.script("return document.documentElement.dir;") == json!(dir)
    });
}

/// Clicks through a script (in right-to-left layouts WebDriver's pointer can miss).
fn script_click(d: &Driver, css: &str) {
    d.wait(css);
    d.script(&format!("document.querySelector({css:?}).click();"));
}

/// Brings an element to the middle of the window before a screenshot.
fn into_view(d: &Driver, css: &str) {
    d.wait(css);
    d.script(&format!(
        "document.querySelector({css:?}).scrollIntoView({{block: 'center'}});"
    ));
}

#[test]
fn a_submission_to_a_mechanism_is_exported_marked_sent_and_followed_up_in_the_real_window() {
    let marker = format!("FOLLOWUP{}", std::process::id());
    let victim = format!("Aminata{} Traoré", std::process::id());
    let out = tempfile::tempdir().unwrap();
    let mut case = None;
    let mut app = App::start_with(|dir| case = Some(seed_submission(dir, &marker)));
    let case = case.unwrap();
    let d = &app.d;
    let row = format!("[data-record-id='{case}'] [data-testid=case-open]");

    let scenario = d.scenario("unlock: nothing is due yet");
    d.type_into("#unlock-passphrase", PASS);
    d.click("#unlock-submit");
    d.wait("#screen-cases");
    wait_rows(d, "the case", &[&case]);
    assert!(
        d.gone("#followup-due"),
        "a follow-up panel with nothing due"
    );

    scenario.step("a victim, with consent for each use");
    d.click(&row);
    d.wait("#add-person");
    d.click("#add-person");
    d.type_into("#person-name", &victim);
    d.click("#person-role-victim");
    for (id, consent) in [
        ("#person-consent-government", "refused"),
        ("#person-consent-publish", "given"),
        ("#person-consent-un-sr-hrd", "given"),
        ("#person-consent-omct-fidh-observatory", "given"),
        ("#person-consent-eu-delegation", "refused"),
        ("#person-consent-achpr-sr-hrd", "given"),
        ("#person-consent-iachr-hrd-unit", "not_asked"),
    ] {
        d.set_value(id, consent);
    }
    assert!(
        d.text("#person-consent-uses")
            .contains("Consent, for each use"),
        "no heading over the consents per use"
    );
    assert!(d
        .text("#person-consent-uses")
        .contains("UN Special Rapporteur on human rights defenders"));
    into_view(d, "#person-consent-uses");
    d.screenshot("followup-01-person-consents");
    d.click("#person-save");
    d.wait("[data-testid=person-row]");
    // Saved as given, per mechanism.
    d.click("[data-testid=person-edit]");
    d.wait("#person-consent-uses");
    assert_eq!(
        d.script(
            "return ['eu-delegation', 'omct-fidh-observatory', 'iachr-hrd-unit']\
             .map(c => document.querySelector('#person-consent-' + c).value);"
        ),
        json!(["refused", "given", "not_asked"])
    );
    d.click("#person-cancel");

    scenario.step("the export dialog: one form per mechanism");
    d.click("#case-export");
    d.wait("#export-dialog");
    let languages = |format: &str| {
        d.wait(&format!(".submission-form[data-format={format}]"));
        d.script(
            "return [...document.querySelectorAll('#export-submission-language option')]\
             .map(o => o.value);",
        )
    };
    d.click("#export-format-iachr");
    assert_eq!(languages("iachr"), json!(["es", "en", "pt", "fr"]));
    for q in [
        "seriousness",
        "urgency",
        "irreparable-harm",
        "measures-requested",
    ] {
        assert!(shown(d, &format!("#export-q-{q}")), "no question {q}");
    }
    d.wait("[data-testid=missing-item]");
    into_view(d, "#export-submission-title");
    d.screenshot("followup-02-export-iachr");
    d.click("#export-format-observatory");
    assert_eq!(languages("observatory"), json!(["en", "fr", "es"]));
    assert!(d
        .text("#export-submission")
        .contains("Consent to a public urgent appeal"));
    // What it lacks comes first: nothing is written without "export anyway".
    d.type_into("#export-q-submitter", "Réseau des défenseurs du Sahel");
    d.type_into(
        "#export-q-link-to-work",
        "Elle plaide pour des victimes de torture.",
    );
    d.type_into("#export-q-current-risk", "Menaces de mort répétées.");
    d.set_value("#export-q-consent-publish", "yes");
    d.set_value("#export-submission-language", "fr");
    d.click("#export-submission-pdf");
    d.wait_until("the check of what is typed", || {
        d.find("[data-testid=missing-item][data-element=authorities_informed]")
            .is_some()
            && d.find("[data-testid=missing-item][data-element=submitter]")
                .is_none()
    });
    assert!(!d.enabled("#export-run"));
    into_view(d, "#export-missing");
    d.screenshot("followup-02-export-observatory");
    let pdf = out.path().join("observatory.pdf");
    d.type_into("#export-file", &pdf.display().to_string());
    assert!(!d.enabled("#export-run") && !pdf.exists());
    d.click("#export-anyway");
    d.wait_until("export anyway", || d.enabled("#export-run"));
    run_export(d, &pdf);
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF"));
    d.click("#export-close");
    d.wait_until("the dialog to close", || d.gone("#export-dialog"));

    scenario.step("the export left a draft intervention, and its answers");
    d.wait("[data-testid=intervention-edit]");
    d.click("[data-testid=intervention-edit]");
    d.wait("#intervention-mark-sent");
    let draft = d.script(
        "return [document.querySelector('#intervention-status').value, \
                 document.querySelector('#intervention-mechanism').value, \
                 document.querySelector('#intervention-language').dataset.language, \
                 !!document.querySelector('#intervention-form [id*=submitter]')];",
    );
    assert_eq!(
        draft,
        json!(["draft", "omct_fidh_observatory", "fr", false]),
        "the draft, its language shown, its answers not"
    );
    d.click("#intervention-cancel");
    // The next export of the same submission starts from them.
    d.click("#case-export");
    d.wait("#export-dialog");
    d.click("#export-format-observatory");
    d.wait(".submission-form[data-format=observatory]");
    let kept = d.script(
        "return [document.querySelector('#export-q-submitter').value, \
                 document.querySelector('#export-submission-language').value, \
                 document.querySelector('#export-q-consent-publish').value];",
    );
    assert_eq!(kept, json!(["Réseau des défenseurs du Sahel", "fr", "yes"]));
    d.click("#export-close");
    d.wait_until("the dialog to close", || d.gone("#export-dialog"));

    scenario.step("a draft intervention is marked sent");
    d.wait("[data-testid=intervention-edit]");
    d.click("[data-testid=intervention-edit]");
    d.wait("#intervention-mark-sent");
    d.click("#intervention-mark-sent");
    d.wait("#mark-sent-dialog");
    // Today, and a follow-up thirty days on, are proposed.
    let proposed = d.script(
        "return [document.querySelector('#mark-sent-date').value, \
                 document.querySelector('#mark-sent-follow-up').value];",
    );
    let today = proposed[0].as_str().unwrap().to_owned();
    assert_eq!(today.len(), 10, "no date proposed: {proposed}");
    assert!(proposed[1].as_str().unwrap() > today.as_str());
    // A follow-up before the day sent is refused, next to nothing lost.
    d.set_value("#mark-sent-date", "2026-03-02");
    d.set_value("#mark-sent-follow-up", "2026-03-01");
    d.set_value("#mark-sent-channel", "email");
    d.type_into("#mark-sent-reference", "OBS-MLI-2026-03");
    d.screenshot("followup-03-mark-sent");
    d.click("#mark-sent-save");
    d.wait_until("the refusal", || shown(d, "#mark-sent-error"));
    assert!(d.text("#mark-sent-error").contains("follow-up"));
    d.set_value("#mark-sent-follow-up", "2026-04-01");
    d.click("#mark-sent-save");
    d.wait_until("the dialog to close", || d.gone("#mark-sent-dialog"));
    d.wait_until("the editor to close", || d.gone("#intervention-form"));
    d.click("[data-testid=intervention-edit]");
    d.wait("#intervention-status");
    let stored = d.script(
        "return ['status', 'date', 'channel', 'reference', 'follow-up']\
         .map(f => document.querySelector('#intervention-' + f).value);",
    );
    assert_eq!(
        stored,
        json!([
            "sent",
            "2026-03-02",
            "email",
            "OBS-MLI-2026-03",
            "2026-04-01"
        ])
    );
    assert!(
        d.gone("#intervention-mark-sent"),
        "a sent one offers to be sent again"
    );
    d.click("#intervention-cancel");

    scenario.step("the follow-up due shows on the case list");
    d.click("#back-to-cases");
    d.wait("#followup-due");
    let item = d.script(
        "const i = document.querySelectorAll('[data-testid=followup-item]'); \
         return [i.length, i[0].dataset.caseId, i[0].textContent];",
    );
    assert_eq!(item[0], json!(1));
    assert_eq!(item[1], json!(case));
    assert!(item[2].as_str().unwrap().contains(&marker), "{item}");
    assert_eq!(
        d.script("return document.querySelector('#followup-awaiting').dataset.count;"),
        json!("1")
    );
    d.screenshot("followup-04-due-panel");

    scenario.step("the follow-up filters list the case");
    d.click("#filter-due");
    wait_rows(d, "follow-up due", &[&case]);
    d.click("#filter-awaiting");
    wait_rows(d, "awaiting and due", &[&case]);
    d.click("#clear-filters");
    wait_rows(d, "every case", &[&case]);
    // The panel's link opens the case.
    d.click("[data-testid=followup-open]");
    d.wait(&format!("#screen-case[data-record-id='{case}']"));
    d.click("#back-to-cases");

    scenario.step("in Arabic: the panel, the consents, the dialogs");
    set_language(d, "ar", "rtl");
    d.click("#nav-cases");
    d.wait("#followup-due");
    assert!(d
        .text("#followup-due")
        .chars()
        .any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)));
    d.screenshot("followup-04-due-panel-ar");
    script_click(d, &row);
    d.wait("[data-testid=person-edit]");
    script_click(d, "[data-testid=person-edit]");
    into_view(d, "#person-consent-uses");
    d.screenshot("followup-01-person-consents-ar");
    script_click(d, "#person-cancel");
    script_click(d, "#case-export");
    d.wait("#export-dialog");
    script_click(d, "#export-format-achpr");
    assert_eq!(
        languages("achpr").as_array().unwrap().len(),
        4,
        "the African Commission's four languages"
    );
    d.set_value("#export-submission-language", "ar");
    d.wait("[data-testid=missing-item]");
    into_view(d, "#export-submission-title");
    d.screenshot("followup-02-export-achpr-ar");
    script_click(d, "#export-format-observatory");
    d.wait(".submission-form[data-format=observatory]");
    d.wait("[data-testid=missing-item]");
    into_view(d, "#export-missing");
    d.screenshot("followup-02-export-observatory-ar");
    script_click(d, "#export-close");
    d.wait_until("the dialog to close", || d.gone("#export-dialog"));
    // A new draft, to show its "mark as sent" in Arabic.
    script_click(d, "#add-intervention");
    d.type_into("#intervention-title", "نداء عاجل");
    script_click(d, "#intervention-save");
    d.wait_until("the draft", || {
        d.script("return document.querySelectorAll('[data-testid=intervention-row]').length;")
            == json!(2)
    });
    d.script(
        "[...document.querySelectorAll('[data-testid=intervention-row]')]\
         .find(r => r.textContent.includes('نداء عاجل'))\
         .querySelector('[data-testid=intervention-edit]').click();",
    );
    script_click(d, "#intervention-mark-sent");
    d.wait("#mark-sent-dialog");
    d.screenshot("followup-03-mark-sent-ar");
    // A lock takes the open dialog away with the screen.
    script_click(d, "#lock-button");
    d.wait("#unlock-passphrase");
    assert!(d.gone("#mark-sent-dialog"), "the dialog outlived the lock");
    d.type_into("#unlock-passphrase", PASS);
    script_click(d, "#unlock-submit");

    scenario.step("the panel, dismissed, stays away for the session");
    d.wait("#followup-due");
    script_click(d, "#followup-dismiss");
    d.wait_until("the panel to go", || d.gone("#followup-due"));
    script_click(d, &row);
    d.wait("#back-to-cases");
    script_click(d, "#back-to-cases");
    d.wait("#screen-cases");
    wait_rows(d, "the case", &[&case]);
    assert!(d.gone("#followup-due"), "the dismissed panel came back");
    // For this session only: after a lock, the next unlock shows it again.
    script_click(d, "#lock-button");
    d.wait("#unlock-passphrase");
    d.type_into("#unlock-passphrase", PASS);
    script_click(d, "#unlock-submit");
    d.wait("#followup-due");

    scenario.step("nothing readable left behind");
    let storage = d.script("return [localStorage.length, sessionStorage.length, document.cookie];");
    assert_eq!(storage, json!([0, 0, ""]), "webview storage used");
    drop(scenario);
    app.stop();
    app.scan_for(&marker);
    app.scan_for(&victim);
    let _ = out;
}

/// Copies Martus's sample export (the XML and the attachments beside it) into `to`,
/// with `marker` in one bulletin's title; and a second copy cut off half-way.
fn martus_exports(to: &Path, marker: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let samples = support::workspace_root().join("crates/import/samples/martus/exported");
    let good = to.join("martus-export");
    let broken = to.join("martus-broken");
    for dir in [&good, &broken] {
        std::fs::create_dir_all(dir).unwrap();
        for entry in std::fs::read_dir(&samples).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
        }
    }
    let xml = std::fs::read_to_string(good.join("bulletins.xml")).unwrap();
    let marked = xml.replace(
        "Threats against a journalist",
        &format!("Threats against a journalist {marker}"),
    );
    assert_ne!(marked, xml, "the sample changed: no title to mark");
    std::fs::write(good.join("bulletins.xml"), &marked).unwrap();
    std::fs::write(broken.join("bulletins.xml"), &marked[..marked.len() / 2]).unwrap();
    (good.join("bulletins.xml"), broken.join("bulletins.xml"))
}

/// Checks the export at `path` in the open import dialog and waits for the preview.
fn check_import(d: &Driver, source: &str, path: &Path) {
    d.set_value("#import-source", source);
    d.type_into("#import-path", path.to_str().unwrap());
    script_click(d, "#import-check");
    d.wait("#import-preview:not([hidden])");
}

fn preview_data(d: &Driver, key: &str) -> i64 {
    d.script(&format!(
        "return Number(document.querySelector('#import-preview').dataset.{key});"
    ))
    .as_i64()
    .unwrap()
}

#[test]
fn another_tool_s_export_is_checked_then_imported_in_the_real_window() {
    let marker = format!("IMPORTED{}", std::process::id());
    let out = tempfile::tempdir().unwrap();
    let (good, broken) = martus_exports(out.path(), &marker);
    let mut case = None;
    let mut app = App::start_with(|dir| case = Some(seed_submission(dir, "ALREADY")));
    let case = case.unwrap();
    let d = &app.d;

    let scenario = d.scenario("unlock");
    d.type_into("#unlock-passphrase", PASS);
    d.click("#unlock-submit");
    d.wait("#screen-cases");
    wait_rows(d, "the case of the vault", &[&case]);

    scenario.step("a truncated export: every problem, nothing to import");
    d.click("#import-cases");
    d.wait("#import-dialog");
    assert_eq!(
        d.script(
            "return [...document.querySelectorAll('#import-source option')].map(o => o.value);"
        ),
        json!(["martus", "odk", "uwazi", "tella"])
    );
    assert!(!d.enabled("#import-run"), "import before any check");
    check_import(d, "martus", &broken);
    d.wait("[data-testid=import-problem]");
    assert!(preview_data(d, "problems") >= 1);
    assert!(
        d.text("#import-problems").contains("line"),
        "a problem without its line: {}",
        d.text("#import-problems")
    );
    assert!(
        !d.enabled("#import-run"),
        "a refused export can be imported"
    );
    assert_eq!(
        d.script("return document.querySelector('#import-dialog').dataset.state;"),
        json!("refused")
    );
    into_view(d, "#import-problems");
    d.screenshot("import-01-refused");

    scenario.step("the whole export: what it makes, the fields kept in a note");
    check_import(d, "martus", &good);
    d.wait_until("a clean preview", || preview_data(d, "problems") == 0);
    assert_eq!(
        preview_data(d, "units"),
        3,
        "three bulletins read (one in three versions)"
    );
    assert!(preview_data(d, "new") > 3);
    assert!(preview_data(d, "files") >= 1);
    assert_eq!(
        d.script(
            "return document.querySelector('#import-counts [data-kind=case] td').textContent;"
        ),
        json!("3"),
        "three bulletins, one of them in three versions"
    );
    assert!(
        d.find("[data-testid=unmapped-field]").is_some(),
        "no unmapped field listed"
    );
    assert!(d.enabled("#import-run"));
    into_view(d, "#import-preview");
    d.screenshot("import-02-preview");
    // Changing the path forgets the preview.
    d.type_into("#import-path", broken.to_str().unwrap());
    d.wait_until("the preview to go", || !shown(d, "#import-preview"));
    assert!(!d.enabled("#import-run"));
    check_import(d, "martus", &good);
    d.wait_until("a clean preview", || preview_data(d, "problems") == 0);

    scenario.step("imported, all of it");
    d.click("#import-run");
    d.wait("#import-result:not([hidden])");
    let records = d
        .script("return Number(document.querySelector('#import-result').dataset.records);")
        .as_i64()
        .unwrap();
    assert!(records > 3, "{records} records imported");
    assert!(d.text("#import-result").contains("Martus"));
    d.screenshot("import-03-done");
    d.click("#import-close");
    d.wait_until("the dialog to close", || d.gone("#import-dialog"));
    d.wait_until("the imported cases in the list", || rows(d).len() == 4);
    assert!(
        d.text("#case-list").contains(&marker),
        "the marked bulletin is not listed"
    );

    scenario.step("the same export again: nothing new");
    d.click("#import-cases");
    d.wait("#import-dialog");
    check_import(d, "martus", &good);
    d.wait("#import-nothing-new");
    assert_eq!(preview_data(d, "new"), 0);
    assert!(preview_data(d, "already") > 3);
    assert!(
        !d.enabled("#import-run"),
        "a second import of the same export"
    );
    d.click("#import-close");
    d.wait_until("the dialog to close", || d.gone("#import-dialog"));

    scenario.step("in Arabic");
    set_language(d, "ar", "rtl");
    d.click("#nav-cases");
    d.wait("#screen-cases");
    script_click(d, "#import-cases");
    d.wait("#import-dialog");
    check_import(d, "martus", &broken);
    d.wait("[data-testid=import-problem]");
    assert!(d
        .text("#import-dialog h2")
        .chars()
        .any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)));
    into_view(d, "#import-problems");
    d.screenshot("import-01-refused-ar");
    check_import(
        d,
        "odk",
        &support::workspace_root().join("crates/import/samples/odk/central/incident_report.zip"),
    );
    d.wait_until("a clean preview", || preview_data(d, "problems") == 0);
    into_view(d, "#import-preview");
    d.screenshot("import-02-preview-ar");
    // A lock takes the open dialog with it.
    script_click(d, "#lock-button");
    d.wait("#unlock-passphrase");
    assert!(d.gone("#import-dialog"), "the dialog outlived the lock");

    scenario.step("nothing readable left behind");
    let storage = d.script("return [localStorage.length, sessionStorage.length, document.cookie];");
    assert_eq!(storage, json!([0, 0, ""]), "webview storage used");
    drop(scenario);
    app.stop();
    app.scan_for(&marker);
}
