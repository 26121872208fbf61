//! The patterns screen in the real window: a vault whose counts are known (incidents in
//! two countries with regions and coordinates, two act types, victims of each sex and
//! two occupations, one person without consent to be published whose name is a marker,
//! interventions to two mechanisms in each status, a month-only date, and one case the
//! filter leaves out) is opened from the case list with a filter set. The totals and the
//! charts' texts are checked against the seed; the timeline is switched to weeks; one
//! chart is exported as SVG and every chart as PNG to a folder (counts below 3 read
//! "fewer than 3", the marker never appears); then in Arabic (right to left); a lock
//! takes the screen and its drawings away; nothing is left in web storage or in the
//! app's files. Through the export dialog, the PDF case report of the cases the filter
//! shows, with and without "Include patterns" (read back with lopdf: its charts and
//! their titles, small counts withheld; none without the box), and in Arabic a
//! submission to the African Commission as PDF with and without them.
//!
//! Screenshots: `target/screenshots/patterns-01-en.png`, `patterns-02-week.png`,
//! `patterns-03-ar.png`, `patterns-04-export-pdf.png`, `patterns-05-export-ar.png`.

use custos_test_support::window as support;

use std::path::Path;

use custos_model::Record;
use custos_vault::{Options, SecretString, Vault};
use serde_json::{json, Value};
use support::{App, Driver};

const PASS: &str = "lantern orchard velvet quarry 1987 sparrow";

/// Every chart the seed has data for, in the screen's order.
const CHARTS: [&str; 7] = [
    "map",
    "timeline",
    "act_types",
    "victims_by_sex",
    "victims_by_occupation",
    "perpetrators_by_type",
    "interventions",
];

fn add(v: &mut Vault, record: Value) -> String {
    v.add(Record::from_json(record).expect("a valid record"))
        .expect("the record is written")
        .to_string()
}

/// A person of `case` with publish consent given (unless `publish` says otherwise).
fn person(v: &mut Vault, case: &str, name: &str, role: &str, extra: Value) -> String {
    let mut p = json!({"kind": "person", "case_id": case, "name": name, "roles": [role],
                       "consent": {"publish": "given", "share_with_government": "given"}});
    for (k, val) in extra.as_object().unwrap() {
        p[k] = val.clone();
    }
    add(v, p)
}

fn incident(
    v: &mut Vault,
    case: &str,
    title: &str,
    start: Value,
    location: Value,
    acts: &[&str],
    persons: &[(&str, &str)],
) {
    let persons: Vec<Value> = persons
        .iter()
        .map(|(id, role)| json!({"person_id": id, "role": role}))
        .collect();
    add(
        v,
        json!({"kind": "incident", "case_id": case, "title": title, "start": start,
               "location": location, "act_types": acts, "persons": persons}),
    );
}

fn intervention(v: &mut Vault, case: &str, mechanism: &str, status: &str) {
    add(
        v,
        json!({"kind": "intervention", "case_id": case, "title": format!("{mechanism} {status}"),
               "mechanism": mechanism, "status": status, "type": "urgent_appeal"}),
    );
}

/// The ids of the seeded cases: the three the filter selects, and the one it leaves out.
struct Seeded {
    selected: [String; 3],
    other: String,
}

/// Writes the vault. Selected (tag "journalists"): 3 cases, 5 incidents (DZ 3: Kabylie
/// 2, Alger 1; CO 2: Norte de Santander 1, Antioquia 1; two with coordinates; one dated
/// to its month only, March 2026), act types arbitrary_arrest 3 and death_threat 3;
/// 5 victims (female 3, male 2; journalist 4, lawyer 1), one of them without consent to
/// publish (named `hidden`); 2 perpetrators (Police); interventions un_sr_hrd draft 1,
/// awaiting 1, answered 1, omct_fidh_observatory draft 1, awaiting 2, answered 2.
fn seed(dir: &Path, marker: &str, hidden: &str) -> Seeded {
    let mut v = Vault::create(
        dir,
        &SecretString::from(PASS.to_owned()),
        Options::insecure_for_tests(),
    )
    .unwrap();
    let day = |d: &str| json!({"date": d, "precision": "day"});

    // Algeria: two incidents in February.
    let a = add(
        &mut v,
        json!({"kind": "case", "title": format!("Arrests of journalists in Kabylie {marker}"),
               "status": "open", "tags": ["journalists"]}),
    );
    let amina = person(
        &mut v,
        &a,
        "Amina Belkacem",
        "victim",
        json!({"sex": "female", "occupation": "journalist"}),
    );
    let karim = person(
        &mut v,
        &a,
        "Karim Haddad",
        "victim",
        json!({"sex": "male", "occupation": "Journalist "}),
    );
    let police_a = person(
        &mut v,
        &a,
        "Officer unknown",
        "perpetrator",
        json!({"organisation": "Police"}),
    );
    incident(
        &mut v,
        &a,
        "Arrest at the newspaper",
        day("2026-02-10"),
        json!({"place": "Tizi Ouzou", "region": "Kabylie", "country": "DZ",
                    "lat": 36.7169, "lon": 4.0497}),
        &["arbitrary_arrest"],
        &[(&amina, "victim"), (&police_a, "perpetrator")],
    );
    incident(
        &mut v,
        &a,
        "Threats and arrest in Algiers",
        day("2026-02-20"),
        json!({"place": "Alger centre", "region": "Alger", "country": "DZ"}),
        &["arbitrary_arrest", "death_threat"],
        &[(&karim, "victim")],
    );
    intervention(&mut v, &a, "un_sr_hrd", "draft");
    intervention(&mut v, &a, "un_sr_hrd", "sent");
    intervention(&mut v, &a, "un_sr_hrd", "responded");

    // Colombia: a month-only date in March, and a day in March.
    let b = add(
        &mut v,
        json!({"kind": "case", "title": format!("Threats in Norte de Santander {marker}"),
               "status": "open", "tags": ["journalists", "colombia"]}),
    );
    let lucia = person(
        &mut v,
        &b,
        "Lucía Pérez",
        "victim",
        json!({"sex": "female", "occupation": "journalist"}),
    );
    let secret = person(
        &mut v,
        &b,
        hidden,
        "victim",
        json!({"sex": "female", "occupation": "lawyer",
                               "consent": {"publish": "refused", "share_with_government": "refused"}}),
    );
    let police_b = person(
        &mut v,
        &b,
        "Patrol",
        "perpetrator",
        json!({"organisation": "police"}),
    );
    incident(
        &mut v,
        &b,
        "Threats by telephone",
        json!({"date": "2026-03-01", "precision": "month"}),
        json!({"place": "Cúcuta", "region": "Norte de Santander", "country": "CO",
                    "lat": 7.8939, "lon": -72.5078}),
        &["death_threat"],
        &[(&lucia, "victim")],
    );
    incident(
        &mut v,
        &b,
        "Threats at the office",
        day("2026-03-15"),
        json!({"place": "Medellín", "region": "Antioquia", "country": "CO"}),
        &["death_threat"],
        &[(&secret, "victim"), (&police_b, "perpetrator")],
    );
    intervention(&mut v, &b, "omct_fidh_observatory", "draft");
    intervention(&mut v, &b, "omct_fidh_observatory", "sent");
    intervention(&mut v, &b, "omct_fidh_observatory", "acknowledged");
    intervention(&mut v, &b, "omct_fidh_observatory", "closed");

    // Algeria again, in April.
    let c = add(
        &mut v,
        json!({"kind": "case", "title": format!("Detention of a reporter {marker}"),
               "status": "monitoring", "tags": ["journalists"]}),
    );
    let yacine = person(
        &mut v,
        &c,
        "Yacine Amrani",
        "victim",
        json!({"sex": "male", "occupation": "journalist"}),
    );
    incident(
        &mut v,
        &c,
        "Detention at the checkpoint",
        day("2026-04-02"),
        json!({"place": "Béjaïa", "region": "Kabylie", "country": "DZ"}),
        &["arbitrary_arrest"],
        &[(&yacine, "victim")],
    );
    intervention(&mut v, &c, "omct_fidh_observatory", "responded");

    // Left out by the filter: none of this may be counted.
    let other = add(
        &mut v,
        json!({"kind": "case", "title": format!("Unrelated land dispute {marker}"),
               "status": "open"}),
    );
    let farmer = person(
        &mut v,
        &other,
        "Jean Dupont",
        "victim",
        json!({"sex": "male", "occupation": "farmer"}),
    );
    incident(
        &mut v,
        &other,
        "Eviction",
        day("2026-01-05"),
        json!({"place": "Lyon", "country": "FR"}),
        &["destruction_of_property"],
        &[(&farmer, "victim")],
    );
    intervention(&mut v, &other, "un_sr_hrd", "sent");
    v.lock().unwrap();
    Seeded {
        selected: [a, b, c],
        other,
    }
}

fn rows(d: &Driver) -> Vec<String> {
    let mut got: Vec<String> = d
        .script(
            "return [...document.querySelectorAll('[data-testid=case-row]')].map(r => r.dataset.recordId);",
        )
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    got.sort();
    got
}

fn wait_rows(d: &Driver, what: &str, want: &[&String]) {
    let mut want: Vec<String> = want.iter().map(|s| (*s).clone()).collect();
    want.sort();
    d.wait_until(what, || {
        rows(d) == want
            && d.script("return document.querySelector('#case-list').hasAttribute('aria-busy');")
                == json!(false)
    });
}

/// Waits for the patterns screen to show the figures of `period`.
fn wait_ready(d: &Driver, period: &str) {
    d.wait("#screen-patterns");
    d.wait_until("the figures", || {
        d.script(
            "const s = document.querySelector('#screen-patterns'); \
             return !!s && [s.dataset.state, s.dataset.period || ''];",
        ) == json!(["ready", period])
    });
    assert!(
        d.gone("#screen-patterns[aria-busy]"),
        "the screen still says it is busy"
    );
}

/// The totals as shown: [cases, incidents, victims, without consent].
fn totals(d: &Driver) -> Value {
    d.script(
        "return ['cases', 'incidents', 'victims', 'without_consent']\
         .map(k => Number(document.querySelector(`#patterns-totals [data-total=${k}]`).dataset.n));",
    )
}

/// The texts of one chart's drawing (its SVG text nodes).
fn chart_texts(d: &Driver, key: &str) -> Vec<String> {
    d.script(&format!(
        "return [...document.querySelectorAll('#chart-{key} svg text')].map(t => t.textContent);"
    ))
    .as_array()
    .unwrap_or_else(|| panic!("no chart {key}"))
    .iter()
    .map(|v| v.as_str().unwrap_or_default().to_owned())
    .collect()
}

/// The texts of the charts (the map aside: a country's name may run over its edge) that
/// stick out of their drawing, as [chart, text].
fn cut_texts(d: &Driver) -> Value {
    d.script(
        "return [...document.querySelectorAll('#patterns-charts .chart:not([data-key=map]) svg')]\
         .flatMap(svg => { const w = svg.viewBox.baseVal.width; \
           return [...svg.querySelectorAll('text')].filter(t => { const b = t.getBBox(); \
             return b.x < -1 || b.x + b.width > w + 1; }) \
           .map(t => [svg.closest('.chart').dataset.key, t.textContent]); });",
    )
}

fn chart_keys(d: &Driver) -> Value {
    d.script(
        "return [...document.querySelectorAll('#patterns-charts .chart')]\
         .filter(c => c.querySelector('svg')).map(c => c.dataset.key);",
    )
}

/// The text nodes of an SVG document (a crude reader: enough for our own writer).
fn svg_texts(svg: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = svg;
    while let Some(open) = rest.find("<text") {
        rest = &rest[open..];
        let Some(start) = rest.find('>') else { break };
        let Some(end) = rest.find("</text>") else {
            break;
        };
        if start < end {
            out.push(
                rest[start + 1..end]
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&quot;", "\"")
                    .replace("&#39;", "'")
                    .replace("&amp;", "&"),
            );
        }
        rest = &rest[end + 7..];
    }
    out
}

fn shown(d: &Driver, css: &str) -> bool {
    d.script(&format!(
        "const e = document.querySelector({css:?}); \
         return !!e && !e.hidden && e.getClientRects().length > 0;"
    )) == json!(true)
}

/// Runs an open export dialog whose ids start with `prefix` (`export`, `patterns-export`:
/// the parts the two dialogs share) to `path`, typed into `#<prefix>-<field>`. What a
/// communication lacks is confirmed ("export anyway"), also when it was checked again.
fn export_through(d: &Driver, prefix: &str, field: &str, path: &Path) {
    d.type_into(&format!("#{prefix}-{field}"), &path.display().to_string());
    d.wait_until("the export button", || {
        if shown(d, "#export-anyway") && d.checked("#export-anyway") == 0 {
            d.script("document.querySelector('#export-anyway').click();");
        }
        d.enabled(&format!("#{prefix}-run"))
    });
    script_click(d, &format!("#{prefix}-run"));
    let result = format!("#{prefix}-result");
    let error = format!("#{prefix}-error");
    let path_error = format!("#field-error-{prefix}-{field}");
    d.wait_until("the export to end", || {
        shown(d, &result)
            || shown(d, &error)
            || shown(d, &path_error)
            || shown(d, "#field-error-export-patterns-threshold")
    });
    assert!(
        shown(d, &result),
        "the export failed: {} {}",
        d.script(&format!(
            "return document.querySelector('{error}').textContent;"
        )),
        d.script(&format!(
            "return document.querySelector('{path_error}').textContent;"
        ))
    );
}

fn close_dialog(d: &Driver, prefix: &str) {
    script_click(d, &format!("#{prefix}-close"));
    d.wait_until("the dialog to close", || {
        d.gone(&format!("#{prefix}-dialog"))
    });
}

/// Runs the open patterns export dialog to `path`; → the number of files it wrote.
fn run_export(d: &Driver, path: &Path) -> i64 {
    d.wait("#patterns-export-dialog");
    export_through(d, "patterns-export", "path", path);
    assert_eq!(
        d.script("return document.querySelector('#patterns-export-result').dataset.encrypted;"),
        json!("false")
    );
    d.script("return Number(document.querySelector('#patterns-export-result').dataset.count);")
        .as_i64()
        .unwrap()
}

fn close_export(d: &Driver) {
    close_dialog(d, "patterns-export");
}

/// Runs the open export dialog (the case list's or a case's) to `path`.
fn run_file_export(d: &Driver, path: &Path) {
    export_through(d, "export", "file", path);
}

fn close_file_export(d: &Driver) {
    close_dialog(d, "export");
}

/// Each page's text, read back with lopdf (which fails on anything but a PDF).
fn pdf_pages(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).expect("the PDF is written");
    assert!(
        bytes.starts_with(b"%PDF-"),
        "{} is not a PDF",
        path.display()
    );
    let doc = lopdf::Document::load_mem(&bytes).expect("a PDF lopdf can read");
    doc.get_pages()
        .keys()
        .map(|p| doc.extract_text(&[*p]).expect("the page's text"))
        .collect()
}

/// How many charts a PDF draws (each is marked content tagged `Figure`).
fn pdf_charts(path: &Path) -> usize {
    let doc = lopdf::Document::load(path).expect("a PDF lopdf can read");
    doc.get_pages()
        .values()
        .map(|page| {
            let content = lopdf::content::Content::decode(&doc.get_page_content(*page))
                .expect("the page's content");
            content
                .operations
                .iter()
                .filter(|op| {
                    op.operator == "BMC"
                        && op.operands.first().and_then(|o| o.as_name().ok()) == Some(b"Figure")
                })
                .count()
        })
        .sum()
}

fn flat(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn set_language(d: &Driver, lang: &str, dir: &str) {
    d.click("#nav-settings");
    d.set_value("#language", lang);
    d.click("#settings-save");
    d.wait_until("the new language", || {
        d.script("return document.documentElement.dir;") == json!(dir)
    });
}

fn script_click(d: &Driver, css: &str) {
    d.wait(css);
    d.script(&format!("document.querySelector({css:?}).click();"));
}

fn is_arabic(s: &str) -> bool {
    s.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c))
}

#[test]
fn patterns_of_the_cases_a_filter_selects_in_the_real_window() {
    let marker = format!("PATTERN{}", std::process::id());
    let hidden = format!("Escondida{} Ruiz", std::process::id());
    let out = tempfile::tempdir().unwrap();
    let mut ids = None;
    let mut app = App::start_with(|dir| ids = Some(seed(dir, &marker, &hidden)));
    let ids = ids.unwrap();
    let d = &app.d;
    let [a, b, c] = &ids.selected;

    let scenario = d.scenario("unlock, filter the list, open the patterns");
    d.type_into("#unlock-passphrase", PASS);
    d.click("#unlock-submit");
    d.wait("#screen-cases");
    wait_rows(d, "every case", &[a, b, c, &ids.other]);
    d.set_value("#filter-tag", "journalists");
    wait_rows(d, "the tag filter", &[a, b, c]);
    d.click("#open-patterns");
    wait_ready(d, "month");
    let scope = d.text("#patterns-scope");
    assert!(
        scope.contains("journalists"),
        "the filter is not said: {scope}"
    );
    assert_eq!(
        d.script("return document.querySelector('#patterns-scope').dataset.cases;"),
        json!("3")
    );
    assert_eq!(
        d.script("return document.querySelector('#nav-cases').getAttribute('aria-current');"),
        json!("page"),
        "the patterns are part of the cases section"
    );

    scenario.step("drawings are inserted inert: anything active is taken out");
    d.script(
        r#"window.patternsSafe = null;
        import('./js/screens/patterns.js').then((m) => {
          const NS = 'xmlns="http://www.w3.org/2000/svg"';
          const el = m.safeSvg(`<svg ${NS} width="40" height="20" onload="x()" style="fill:red">
            <script>alert(1)</script>
            <foreignObject><div xmlns="http://www.w3.org/1999/xhtml">html</div></foreignObject>
            <a href="https://example.org/"><text x="1" y="9">link</text></a>
            <rect width="5" height="5" fill="url(https://example.org/p)" onclick="y()"/>
            <text x="2" y="19">kept</text></svg>`);
          const attrs = [el, ...el.querySelectorAll('*')].flatMap((e) => [...e.attributes].map((a) => a.name));
          window.patternsSafe = [
            el.localName,
            el.querySelectorAll('script, foreignObject, a, div').length,
            attrs.filter((a) => a.startsWith('on') || a === 'style').length,
            el.querySelector('rect').hasAttribute('fill'),
            el.textContent.includes('kept') && !el.textContent.includes('link'),
            el.getAttribute('viewBox'),
            m.safeSvg('<html xmlns="http://www.w3.org/1999/xhtml"></html>'),
            m.safeSvg('not a drawing'),
            m.safeSvg(`<svg ${NS}><text>unclosed`),
            m.safeSvg(''),
          ];
        });"#,
    );
    d.wait_until("the check of the sanitiser", || {
        d.script("return window.patternsSafe !== null;") == json!(true)
    });
    assert_eq!(
        d.script("return window.patternsSafe;"),
        json!([
            "svg",
            0,
            0,
            false,
            true,
            "0 0 40 20",
            null,
            null,
            null,
            null
        ])
    );

    scenario.step("the totals and the charts' texts match the seed");
    assert_eq!(
        totals(d),
        json!([3, 5, 5, 1]),
        "cases, incidents, victims, without consent"
    );
    assert!(d.text("#patterns-totals").contains("never named"));
    assert_eq!(chart_keys(d), json!(CHARTS));
    let acts = chart_texts(d, "act_types");
    assert!(
        acts.iter().any(|t| t.contains("Arbitrary arrest")),
        "{acts:?}"
    );
    assert!(acts.iter().any(|t| t.contains("Death threat")), "{acts:?}");
    assert!(
        !acts.iter().any(|t| t.contains("Destruction")),
        "a case left out is counted: {acts:?}"
    );
    assert!(acts.iter().any(|t| t.trim() == "3"), "{acts:?}");
    let sex = chart_texts(d, "victims_by_sex");
    assert!(sex.iter().any(|t| t.trim() == "3"), "three women: {sex:?}");
    assert!(sex.iter().any(|t| t.trim() == "2"), "two men: {sex:?}");
    let jobs = chart_texts(d, "victims_by_occupation");
    assert!(
        jobs.iter().any(|t| t.to_lowercase().contains("journalist")),
        "{jobs:?}"
    );
    assert!(
        jobs.iter().any(|t| t.trim() == "4"),
        "four journalists: {jobs:?}"
    );
    assert!(jobs.iter().any(|t| t.contains("lawyer")), "{jobs:?}");
    let perps = chart_texts(d, "perpetrators_by_type");
    assert!(
        perps.iter().any(|t| t.to_lowercase().contains("police")),
        "{perps:?}"
    );
    assert!(perps.iter().any(|t| t.trim() == "2"), "{perps:?}");
    let interventions = chart_texts(d, "interventions").join(" | ");
    assert!(
        interventions.contains("UN Special Rapporteur"),
        "{interventions}"
    );
    assert!(interventions.contains("Observatory"), "{interventions}");
    let timeline = chart_texts(d, "timeline").join(" | ");
    assert!(timeline.contains("2026"), "{timeline}");
    let map = chart_texts(d, "map").join(" | ");
    assert!(!map.is_empty(), "the map has no legend");
    // Its drawing has no title: the screen shows one.
    assert_eq!(d.text("#chart-title-map"), "Where incidents happened");
    // The marker name is nowhere on the screen.
    assert!(
        !d.source().contains(&hidden),
        "a person without consent is named"
    );
    // The drawings were inserted inert.
    assert_eq!(
        d.script(
            "return document.querySelectorAll('#patterns-charts script, #patterns-charts foreignObject').length;"
        ),
        json!(0)
    );
    assert_eq!(d.overflow_x(), 0, "the screen scrolls sideways");
    assert_eq!(cut_texts(d), json!([]), "texts cut off");
    d.screenshot("patterns-01-en");

    scenario.step("by week: the timeline redrawn, the totals the same");
    let month_timeline = chart_texts(d, "timeline");
    // What the screen says while it computes, recorded as it changes.
    d.script(
        "const s = document.querySelector('#screen-patterns'); window.patternsSeen = []; \
         new MutationObserver(() => window.patternsSeen.push([s.dataset.state, \
           !document.querySelector('#patterns-busy').hidden, s.hasAttribute('aria-busy')])) \
         .observe(s, {attributes: true, attributeFilter: ['data-state']});",
    );
    d.click("#patterns-period-week");
    wait_ready(d, "week");
    assert_eq!(
        d.script("return window.patternsSeen;"),
        json!([["busy", true, true], ["ready", false, false]]),
        "no busy state while computing"
    );
    let week_timeline = chart_texts(d, "timeline");
    assert_ne!(week_timeline, month_timeline, "the timeline did not change");
    assert_eq!(totals(d), json!([3, 5, 5, 1]));
    d.script("document.querySelector('#chart-timeline').scrollIntoView({block: 'start'});");
    d.screenshot("patterns-02-week");

    scenario.step("one chart as SVG: small counts withheld, nobody named");
    d.script("document.querySelector('#patterns-threshold').scrollIntoView({block: 'center'});");
    assert_eq!(
        d.script("return document.querySelector('#patterns-threshold').value;"),
        json!("3")
    );
    script_click(d, "#chart-victims_by_sex [data-testid=chart-export-svg]");
    let one = out.path().join("victims-by-sex.svg");
    assert_eq!(run_export(d, &one), 1);
    let svg = std::fs::read_to_string(&one).expect("the SVG is written");
    assert!(svg.contains("<svg"), "not an SVG");
    let texts = svg_texts(&svg);
    assert!(
        texts.iter().any(|t| t.contains("fewer than 3")),
        "two men are not withheld: {texts:?}"
    );
    // Only the two men are withheld; the three women are not.
    assert_eq!(
        texts.iter().filter(|t| t.contains("fewer than")).count(),
        1,
        "{texts:?}"
    );
    assert!(!svg.contains(&hidden) && !svg.contains(&marker));
    // Never over an existing file.
    d.script("document.querySelector('#patterns-export-run').click();");
    d.wait_until("the existing file to be refused", || {
        shown(d, "#field-error-patterns-export-path")
    });
    assert_eq!(std::fs::read_to_string(&one).unwrap(), svg);
    close_export(d);

    scenario.step("a threshold of 0 is refused; 1 shows every count, encrypted");
    d.set_value("#patterns-threshold", "0");
    d.script("document.querySelector('#patterns-threshold').dispatchEvent(new Event('input'));");
    assert!(
        shown(d, "#field-error-patterns-threshold"),
        "0 is taken as a threshold"
    );
    script_click(d, "#chart-victims_by_sex [data-testid=chart-export-svg]");
    assert!(
        d.gone("#patterns-export-dialog"),
        "an export with no threshold"
    );
    d.set_value("#patterns-threshold", "1");
    d.script("document.querySelector('#patterns-threshold').dispatchEvent(new Event('input'));");
    assert!(!shown(d, "#field-error-patterns-threshold"));
    script_click(d, "#chart-victims_by_sex [data-testid=chart-export-svg]");
    d.wait("#patterns-export-dialog");
    let identity = age::x25519::Identity::generate();
    script_click(d, "#patterns-export-encrypt");
    d.type_into(
        "#patterns-export-recipient",
        &identity.to_public().to_string(),
    );
    let sealed = out.path().join("victims-by-sex.svg.age");
    d.type_into("#patterns-export-path", &sealed.display().to_string());
    d.script("document.querySelector('#patterns-export-run').click();");
    d.wait_until("the encrypted export", || {
        shown(d, "#patterns-export-result")
    });
    assert_eq!(
        d.script("return document.querySelector('#patterns-export-result').dataset.encrypted;"),
        json!("true")
    );
    let bytes = std::fs::read(&sealed).expect("the encrypted SVG is written");
    assert!(!support::contains(&bytes, b"<svg"), "written in the clear");
    let plain = String::from_utf8(age::decrypt(&identity, &bytes).expect("it opens")).unwrap();
    let texts = svg_texts(&plain);
    assert!(texts.iter().any(|t| t.trim() == "2"), "{texts:?}");
    assert!(
        !texts.iter().any(|t| t.contains("fewer than")),
        "a threshold of 1 withholds: {texts:?}"
    );
    close_export(d);
    d.set_value("#patterns-threshold", "3");
    d.script("document.querySelector('#patterns-threshold').dispatchEvent(new Event('input'));");

    scenario.step("every chart as PNG into a new folder");
    script_click(d, "#patterns-export-all-png");
    let folder = out.path().join("charts");
    let written = run_export(d, &folder);
    assert_eq!(written, CHARTS.len() as i64);
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .expect("the folder is written")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), CHARTS.len(), "{names:?}");
    for key in CHARTS {
        assert!(
            names.iter().any(|n| n.contains(key) && n.ends_with(".png")),
            "no {key}.png in {names:?}"
        );
    }
    for name in &names {
        let bytes = std::fs::read(folder.join(name)).unwrap();
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{name} is not a PNG"
        );
        assert!(!support::contains(&bytes, hidden.as_bytes()));
    }
    close_export(d);

    scenario.step("back to the list, the filter kept");
    d.click("#patterns-back");
    wait_rows(d, "the filtered list", &[a, b, c]);

    scenario.step("the case report of the cases shown, as PDF with their patterns");
    d.click("#export-cases");
    d.wait("#export-dialog");
    assert_eq!(d.checked("#export-scope-shown"), 1);
    // Only a PDF can hold the charts: not offered for JSON.
    assert_eq!(d.checked("#export-format-json"), 1);
    assert!(!shown(d, "#export-patterns"), "patterns offered for JSON");
    script_click(d, "#export-format-pdf");
    d.wait("#export-patterns");
    assert_eq!(d.checked("#export-patterns"), 0, "on by default");
    assert!(d.text("#export-patterns-hint").contains("cases shown"));
    assert!(!shown(d, "#export-patterns-threshold"));
    script_click(d, "#export-patterns");
    d.wait("#export-patterns-threshold");
    assert_eq!(
        d.script("return document.querySelector('#export-patterns-threshold').value;"),
        json!("3")
    );
    // A threshold of 0 is refused before anything is written.
    let refused = out.path().join("refused.pdf");
    d.set_value("#export-patterns-threshold", "0");
    d.type_into("#export-file", &refused.display().to_string());
    script_click(d, "#export-run");
    d.wait_until("the threshold to be refused", || {
        shown(d, "#field-error-export-patterns-threshold")
    });
    assert!(!shown(d, "#export-result") && !refused.exists());
    d.set_value("#export-patterns-threshold", "3");
    assert!(!shown(d, "#field-error-export-patterns-threshold"));
    assert_eq!(d.overflow_x(), 0, "the export dialog scrolls sideways");
    d.screenshot("patterns-04-export-pdf");
    let with = out.path().join("report-patterns.pdf");
    run_file_export(d, &with);
    assert_eq!(
        d.script("return document.querySelector('#export-result').dataset.patterns;"),
        json!("3")
    );
    // The last section, on the three cases the filter shows.
    let report = flat(&pdf_pages(&with).join("\n"));
    let at = report
        .find("Figures of the 3 case(s) of this report")
        .unwrap_or_else(|| panic!("no Patterns section of the 3 cases: {report}"));
    let section = &report[at..];
    let labels = custos_patterns::Labels::of("en");
    for key in [
        "title.act_types",
        "title.victims_by_sex",
        "title.interventions",
    ] {
        let title = flat(&labels.text(key));
        assert!(section.contains(&title), "no {title} in {section}");
    }
    // Two men, two perpetrators: below 3, withheld; the case left out is not counted.
    assert!(section.contains("fewer than 3"), "{section}");
    assert!(!section.contains("Destruction"), "{section}");
    assert!(
        !section.contains(&hidden),
        "a person without consent is named"
    );
    assert!(pdf_charts(&with) >= 6, "{} charts", pdf_charts(&with));

    scenario.step("without the box: the same report, no chart");
    script_click(d, "#export-patterns");
    assert!(!shown(d, "#export-patterns-threshold"));
    let without = out.path().join("report.pdf");
    run_file_export(d, &without);
    assert_eq!(
        d.script("return document.querySelector('#export-result').dataset.patterns;"),
        json!("")
    );
    assert_eq!(pdf_charts(&without), 0);
    let text = flat(&pdf_pages(&without).join("\n"));
    assert!(
        !text.contains("Patterns"),
        "a Patterns section without the box"
    );
    assert!(!text.contains(&flat(&labels.text("title.act_types"))));
    assert!(text.contains(&marker), "not the case report: {text}");
    // Back to a format that holds no charts: the option goes.
    script_click(d, "#export-format-csv");
    assert!(!shown(d, "#export-patterns"), "patterns offered for CSV");
    close_file_export(d);

    scenario.step("a search that selects nothing: nothing drawn, nothing to export");
    d.type_into("#search", "zzzqqq");
    wait_rows(d, "no case", &[]);
    d.click("#open-patterns");
    wait_ready(d, "week");
    assert_eq!(totals(d), json!([0, 0, 0, 0]));
    assert!(
        shown(d, "#patterns-empty"),
        "no word for an empty selection"
    );
    assert_eq!(chart_keys(d), json!([]));
    assert!(!d.enabled("#patterns-export-all-png"));
    assert!(d.text("#patterns-scope").contains("zzzqqq"));
    d.click("#patterns-back");
    d.set_value("#search", "");
    wait_rows(d, "the filtered list", &[a, b, c]);

    scenario.step("in Arabic, right to left");
    set_language(d, "ar", "rtl");
    script_click(d, "#nav-cases");
    wait_rows(d, "the filtered list", &[a, b, c]);
    script_click(d, "#open-patterns");
    wait_ready(d, "week");
    assert_eq!(
        d.script("return [document.documentElement.dir, document.documentElement.lang];"),
        json!(["rtl", "ar"])
    );
    assert!(is_arabic(&d.text("#patterns-title")));
    assert!(is_arabic(&d.text("#patterns-totals")));
    assert!(
        chart_texts(d, "act_types").iter().any(|t| is_arabic(t)),
        "the charts are not in Arabic"
    );
    assert_eq!(totals(d), json!([3, 5, 5, 1]));
    assert_eq!(d.overflow_x(), 0, "the Arabic screen scrolls sideways");
    assert_eq!(cut_texts(d), json!([]), "Arabic texts cut off");
    script_click(d, "#patterns-period-month");
    wait_ready(d, "month");
    d.screenshot("patterns-03-ar");

    scenario.step("in Arabic: a submission as PDF with the patterns of its one case");
    script_click(d, "#patterns-back");
    wait_rows(d, "the filtered list", &[a, b, c]);
    d.click(&format!("[data-record-id='{a}'] [data-testid=case-open]"));
    d.wait("#case-export");
    d.click("#case-export");
    d.wait("#export-dialog");
    script_click(d, "#export-format-achpr");
    d.wait("#export-submission-language");
    // A text submission holds no charts: offered once it is a PDF.
    assert!(!shown(d, "#export-patterns"), "patterns offered for text");
    d.set_value("#export-submission-language", "ar");
    script_click(d, "#export-submission-pdf");
    d.wait("#export-patterns");
    assert!(is_arabic(&d.text("#export-patterns-option")));
    script_click(d, "#export-patterns");
    d.wait("#export-patterns-threshold");
    // What the case lacks is listed first (then confirmed: see export_through).
    d.wait("[data-testid=missing-item]");
    assert_eq!(
        d.script(
            "return getComputedStyle(document.querySelector('#export-patterns-option')).direction;"
        ),
        json!("rtl")
    );
    // The dialog scrolled to the option once the list above it is checked again (the
    // form's answers are checked 300 ms after they change).
    std::thread::sleep(std::time::Duration::from_millis(400));
    d.wait_until("what the submission lacks, checked", || {
        shown(d, "#export-anyway")
    });
    d.wait_until("the patterns option in view", || {
        d.script(
            "const dlg = document.querySelector('#export-dialog'); \
             const top = () => document.querySelector('#export-patterns-option') \
               .getBoundingClientRect().top - dlg.getBoundingClientRect().top - 24; \
             dlg.scrollTop += top(); \
             return Math.abs(top()) < 2 || dlg.scrollTop + dlg.clientHeight >= dlg.scrollHeight - 1;",
        ) == json!(true)
    });
    d.screenshot("patterns-05-export-ar");
    let submission = out.path().join("achpr-patterns.pdf");
    run_file_export(d, &submission);
    let charts = pdf_charts(&submission);
    assert!(charts >= 4, "{charts} charts");
    let text = flat(&pdf_pages(&submission).join("\n"));
    // Its charts are worded in Arabic (drawn in presentation forms), not in English.
    assert!(
        text.chars().any(|c| ('\u{FE70}'..='\u{FEFF}').contains(&c)),
        "{text}"
    );
    assert!(!text.contains(&flat(&labels.text("title.act_types"))));
    assert!(!text.contains(&hidden));
    script_click(d, "#export-patterns");
    let plain = out.path().join("achpr.pdf");
    run_file_export(d, &plain);
    assert_eq!(pdf_charts(&plain), 0, "charts without the box");
    close_file_export(d);
    script_click(d, "#back-to-cases");
    wait_rows(d, "the filtered list", &[a, b, c]);

    // Back to the patterns (now with the submission's draft intervention), for the lock.
    script_click(d, "#open-patterns");
    wait_ready(d, "month");

    scenario.step("a lock takes the screen and its drawings away");
    script_click(d, "#chart-map [data-testid=chart-export-png]");
    d.wait("#patterns-export-dialog");
    script_click(d, "#lock-button");
    d.wait("#unlock-passphrase");
    assert!(d.gone("#screen-patterns"), "the screen outlived the lock");
    assert!(
        d.gone("#patterns-export-dialog"),
        "the dialog outlived the lock"
    );
    assert_eq!(
        d.script("return document.querySelectorAll('svg text, .chart').length;"),
        json!(0),
        "drawings outlived the lock"
    );
    assert!(
        !d.source().contains("journalist"),
        "figures outlived the lock"
    );

    scenario.step("nothing readable left behind");
    let storage = d.script("return [localStorage.length, sessionStorage.length, document.cookie];");
    assert_eq!(storage, json!([0, 0, ""]), "webview storage used");
    drop(scenario);
    app.stop();
    app.scan_for(&marker);
    app.scan_for(&hidden);
    app.scan_for("Belkacem");
}
