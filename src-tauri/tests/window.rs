//! The real window: the built app in a real WebKitGTK webview under Xvfb, driven over
//! WebDriver by tauri-driver (which drives WebKitWebDriver). Nothing is mocked: the app
//! creates a real vault with the calibrated KDF in a temporary folder.
//!
//! The harness is in support/mod.rs. Screenshots of each screen go to
//! `target/screenshots/`.

use custos_test_support::window as support;

use std::time::{Duration, Instant};

use custos_model::Kind;
use custos_vault::Filter;
use custos_vault::{Options, SecretString, Vault};
use serde_json::{json, Value};
use support::{request_close, App, Driver};

const PASS: &str = "lantern orchard velvet quarry 1987 sparrow";

/// The record id of the list row (in `list`) whose text contains `text`.
fn row_id(d: &Driver, list: &str, text: &str) -> String {
    let mut id = Value::Null;
    d.wait_until(&format!("a row with {text} in {list}"), || {
        id = d.script(&format!(
            "const r = [...document.querySelectorAll('{list} [data-record-id]')]\
               .find((r) => r.textContent.includes({text:?})); return r ? r.dataset.recordId : null;"
        ));
        id.is_string()
    });
    id.as_str().unwrap().to_owned()
}

/// A small PNG (a red rectangle) carrying `text` in a tEXt chunk.
fn png_with_text(width: u32, height: u32, text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, width, height);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.add_text_chunk("Comment".into(), text.into()).unwrap();
    let mut w = enc.write_header().unwrap();
    let pixels: Vec<u8> = (0..width * height).flat_map(|_| [200u8, 30, 30]).collect();
    w.write_image_data(&pixels).unwrap();
    w.finish().unwrap();
    out
}

/// A one-page PDF showing `text` (xref offsets computed, so any reader accepts it).
fn minimal_pdf(text: &str) -> Vec<u8> {
    let content = format!("BT /F1 24 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_owned(),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for off in offsets {
        out.extend(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The person id of an involvement row (incident form) by name.
fn involvement_id(d: &Driver, name: &str) -> String {
    d.script(&format!(
        "const r = [...document.querySelectorAll('#incident-persons tr[data-person-id]')]\
           .find((r) => r.textContent.includes({name:?})); return r ? r.dataset.personId : null;"
    ))
    .as_str()
    .unwrap_or_else(|| panic!("no involvement row for {name}"))
    .to_owned()
}

fn create_vault(d: &Driver) {
    // The button waits for a strong, matching passphrase.
    d.type_into("#create-passphrase", "password");
    d.type_into("#create-confirm", "password");
    std::thread::sleep(Duration::from_millis(600));
    assert!(
        !d.enabled("#create-submit"),
        "a weak passphrase was accepted"
    );
    d.type_into("#create-passphrase", PASS);
    d.type_into("#create-confirm", PASS);
    d.wait_until("the create button to enable", || {
        d.enabled("#create-submit")
    });
    d.click("#create-submit");
    d.wait("#screen-cases");
}

/// Submits the unlock form and returns how long the answer took.
fn try_unlock(d: &Driver, passphrase: &str) -> Duration {
    let form = || {
        d.script(
            "const b = document.querySelector('#unlock-submit'); \
             if (!b) return 'gone'; if (b.disabled) return 'busy'; \
             const e = document.querySelector('#unlock-error'); \
             return e.hidden || !e.textContent ? 'idle' : 'refused';",
        )
    };
    d.type_into("#unlock-passphrase", passphrase);
    let t0 = Instant::now();
    d.click("#unlock-submit");
    // The key derivation alone takes about a second: the busy state is always seen.
    d.wait_until("the unlock form to be busy", || form() != json!("refused"));
    d.wait_until("the unlock answer", || {
        form() == json!("gone") || form() == json!("refused")
    });
    t0.elapsed()
}

/// Waits for the status line to say exactly `text`.
fn wait_notice(d: &Driver, text: &str) {
    d.wait_until(&format!("the notice {text:?}"), || {
        d.script(
            "const s = document.querySelector('#status-message'); return s.hidden ? '' : s.textContent;",
        ) == json!(text)
    });
}

fn add_person(d: &Driver, name: &str, role: &str) {
    d.click("#add-person");
    d.type_into("#person-name", name);
    d.click(&format!("#person-role-{role}"));
    d.click("#person-save");
    d.wait("#add-person");
    d.wait_until(&format!("{name} in the persons"), || {
        d.text("#person-list").contains(name)
    });
}

#[test]
fn the_case_workflow_in_the_real_window() {
    let mut app = App::start();
    let d = &app.d;
    let marker = format!("CANARY{}", std::process::id());
    let victim = format!("{marker} Amal");
    let witness = format!("{marker} Karim");

    let scenario = d.scenario("first run at the smallest window size");
    // First run. The whole workflow runs at the smallest window size the app allows.
    d.wait("#create-passphrase");
    eprintln!("first screen after {:?}", app.started.elapsed());
    d.set_size(1024, 700);
    d.wait_until("the window at 1024×700", || {
        d.script("return [window.innerWidth, window.innerHeight];") == json!([1024, 700])
    });
    d.screenshot("01-create");
    create_vault(d);
    d.screenshot("02-cases-empty");

    scenario.step("a new case: empty title refused, then saved");
    // A new case: an empty title is refused next to the field, then it is saved.
    d.click("#new-case");
    d.click("#case-save");
    d.wait_until("the title error", || {
        !d.text("#field-error-title").is_empty()
    });
    d.type_into("#case-title", &format!("{marker} arrest at checkpoint"));
    d.type_into("#case-summary", &format!("{marker} summary"));
    d.type_into("#case-tags", "detention, journalists");
    d.click("#case-save");
    d.wait("#add-incident");

    scenario.step("two persons and an incident naming both");
    // Two persons, then an incident naming both with their roles.
    add_person(d, &victim, "victim");
    add_person(d, &witness, "witness");
    d.click("#add-incident");
    d.type_into("#incident-title", "Arrest at the northern checkpoint");
    d.set_value("#incident-date", "2026-03-14");
    d.type_into("#incident-place", "Northern checkpoint");
    d.click("#incident-act-arbitrary-arrest");
    let v = involvement_id(d, &victim);
    let w = involvement_id(d, &witness);
    d.click(&format!("#incident-persons-{v}-victim"));
    d.click(&format!("#incident-persons-{w}-witness"));
    assert_eq!(d.overflow_x(), 0, "the incident form scrolls sideways");
    d.screenshot("03-incident-form");
    d.click("#incident-save");
    d.wait("#add-incident");
    d.wait_until("the incident in the list", || {
        d.text("#incident-list").contains("northern checkpoint")
    });
    d.screenshot("04-case");

    scenario.step("the reopened incident keeps both persons");
    // Reopened, the incident still names both persons in their roles.
    d.click("[data-testid=incident-edit]");
    d.wait("#incident-persons");
    assert_eq!(d.checked(&format!("#incident-persons-{v}-victim")), 1);
    assert_eq!(d.checked(&format!("#incident-persons-{w}-witness")), 1);
    assert_eq!(d.checked("#incident-persons input"), 2);
    assert_eq!(d.checked("#incident-act-types input"), 1);
    d.click("#incident-cancel");

    scenario.step("evidence attached, original deleted, viewed, verified, exported");
    // Evidence: a photo attached to the incident, the original deleted on request, then
    // shown from memory, verified and exported with its report.
    let photo = app.home.join(format!("{marker}-checkpoint.png"));
    let png = png_with_text(40, 30, &marker);
    std::fs::write(&photo, &png).unwrap();
    let incident = row_id(d, "#incident-list", "northern checkpoint");
    d.click("#add-evidence");
    d.type_into("#evidence-path", photo.to_str().unwrap());
    d.click(&format!("#evidence-attached-to-{incident}"));
    d.screenshot("05-evidence-form");
    d.click("#evidence-submit");
    d.wait("#confirm-dialog");
    assert!(d.text("#confirm-message").contains("may survive"));
    d.click("#confirm-ok");
    d.wait_until("the original to be deleted", || !photo.exists());
    d.wait_until("the evidence in the list", || {
        d.text("#evidence-list").contains("checkpoint.png")
    });
    d.click("[data-testid=evidence-open]");
    d.wait("#screen-evidence");
    d.wait_until("the photo shown from memory", || {
        d.script("const i = document.querySelector('#evidence-viewer'); return i && i.complete ? i.naturalWidth : 0;")
            == json!(40)
    });
    scenario.step("a link to evidence content neither navigates nor downloads");
    // A click on a link to the content neither replaces the app nor downloads it (the
    // marker inside the PNG would otherwise land under HOME, where the final scan looks).
    d.script(
        "const a = document.createElement('a'); a.href = document.querySelector('#evidence-viewer').src; \
         a.download = 'leak.png'; document.body.append(a); a.click(); a.remove();",
    );
    let sha = d.text("#evidence-sha256");
    assert_eq!(sha, sha256_hex(&png));
    d.click("#evidence-verify");
    d.wait_until("the verification", || {
        d.script("return document.querySelector('#verify-result').dataset.ok || null;")
            == json!("true")
    });
    let exported = app.home.join("exported copy.png");
    d.type_into("#export-path", exported.to_str().unwrap());
    d.click("#export-submit");
    d.wait("#export-result");
    assert_eq!(std::fs::read(&exported).unwrap(), png);
    assert!(app.home.join("exported copy.png.custody.txt").exists());
    let actions = || {
        d.script("return [...document.querySelectorAll('[data-testid=custody-row]')].map((r) => r.dataset.action);")
    };
    d.wait_until("the custody log", || {
        actions() == json!(["imported", "viewed", "verified", "exported"])
    });
    d.screenshot("06-evidence");
    scenario.step("the exported copy is plaintext by choice");
    // The exported copy and its reports are plaintext by the user's choice: out of the scan.
    for f in [
        "exported copy.png",
        "exported copy.png.custody.txt",
        "exported copy.png.custody.json",
    ] {
        std::fs::remove_file(app.home.join(f)).unwrap();
    }
    d.click("#evidence-back");
    d.wait("#add-evidence");
    scenario.step("a PDF shown in a frame");
    // A PDF is shown in a frame (whether it renders is for the screenshot to tell).
    let pdf = app.home.join("statement.pdf");
    std::fs::write(&pdf, minimal_pdf("Statement of the witness")).unwrap();
    d.click("#add-evidence");
    d.type_into("#evidence-path", pdf.to_str().unwrap());
    d.click("#evidence-submit");
    d.wait("#confirm-dialog");
    d.click("#confirm-ok");
    d.wait_until("the PDF in the list", || {
        d.text("#evidence-list").contains("statement.pdf")
    });
    let pdf_id = row_id(d, "#evidence-list", "statement.pdf");
    d.click(&format!(
        "[data-record-id='{pdf_id}'] [data-testid=evidence-open]"
    ));
    d.wait("iframe#evidence-viewer");
    std::thread::sleep(Duration::from_secs(2));
    d.screenshot("06b-evidence-pdf");
    d.click("#evidence-back");
    d.wait("#add-evidence");

    scenario.step("unsaved changes: leaving asks");
    // Unsaved changes: leaving asks, and "keep editing" keeps them.
    d.type_into("#case-summary", &format!("{marker} summary, edited"));
    d.click("#nav-cases");
    d.wait("#confirm-dialog");
    d.screenshot("07-unsaved-guard");
    d.click("#confirm-cancel");
    d.wait_until("the dialog to close", || d.gone("#confirm-dialog"));
    assert!(d.find("#screen-case").is_some(), "left the case anyway");
    scenario.step("closing the window asks the same");
    // Closing the window asks the same question.
    d.script("window.custosCloseRequested();");
    d.wait("#confirm-dialog");
    assert!(d.text("#confirm-message").contains("close"));
    d.click("#confirm-cancel");
    d.wait_until("the dialog to close", || d.gone("#confirm-dialog"));
    scenario.step("a saved edit is a new version with its changes in history");
    // Saved, the edit is a new version; history shows what changed.
    d.click("#case-save");
    wait_notice(d, "Case saved.");
    d.click("#case-history");
    d.wait("#diff-table");
    let diff = d.text("#diff-table");
    assert!(
        diff.contains("summary, edited"),
        "the history does not show the change: {diff}"
    );
    assert!(
        d.find("[data-testid=diff-row][data-field=summary]")
            .is_some()
            && d.find("[data-testid=diff-row][data-field=title]").is_none(),
        "the diff lists fields that did not change"
    );
    d.screenshot("08-history");

    scenario.step("quick entry makes a case");
    // Quick entry: what, when, where, who — then the case it made.
    d.click("#quick-entry");
    d.set_value("#quick-act", "death_threat");
    d.type_into("#quick-place", "Home");
    d.type_into("#quick-who", &format!("{marker} Self"));
    d.screenshot("09-quick");
    d.click("#quick-submit");
    d.wait("#screen-case");
    d.wait_until("the quick case's incident and person", || {
        d.text("#incident-list").contains("threat") && d.text("#person-list").contains("Self")
    });

    scenario.step("the case list: search, filters, nothing found");
    // The list: search (a person's name finds its case), filters, and nothing found.
    d.click("#nav-cases");
    d.wait_until("two cases", || {
        d.script("return document.querySelectorAll('[data-testid=case-row]').length;") == json!(2)
    });
    let rows = || {
        d.script("return document.querySelectorAll('[data-testid=case-row]').length;")
            .as_u64()
            .unwrap()
    };
    d.type_into("#search", "karim");
    d.wait_until("the search to find one case", || rows() == 1);
    assert!(d.text("#case-list").contains("arrest at checkpoint"));
    d.type_into("#search", "nothing like this");
    d.wait("#case-list-empty");
    d.click("#clear-filters");
    d.wait_until("both cases back", || rows() == 2);
    d.set_value("#filter-act", "arbitrary_arrest");
    d.wait_until("the act filter", || rows() == 1);
    d.set_value("#filter-from", "2026-04-01");
    d.wait_until("the date filter to exclude the March incident", || {
        rows() == 0
    });
    d.set_value("#filter-from", "2026-03-01");
    d.set_value("#filter-to", "2026-03-31");
    d.wait_until("the date filter to include it", || rows() == 1);
    d.set_value("#filter-tag", "journalists");
    d.wait_until("the tag filter", || rows() == 1);
    assert_eq!(d.overflow_x(), 0, "the case list scrolls sideways");
    d.screenshot("10-cases-filtered");
    d.click("#clear-filters");
    d.wait_until("both cases back", || rows() == 2);

    scenario.step("nothing in the webview's storage");
    // Nothing in the webview's own storage.
    let storage = d.script("return [localStorage.length, sessionStorage.length, document.cookie];");
    assert_eq!(storage, json!([0, 0, ""]), "webview storage used");

    scenario.step("the shortcut locks and hides every case");
    // The shortcut locks; the screen no longer shows any case.
    d.keys("#search", "\u{E009}l\u{E000}");
    d.wait("#unlock-passphrase");
    assert!(
        !d.source().contains(&marker),
        "case text still on screen after lock"
    );
    scenario.step("wrong passphrases are answered more slowly");
    // Wrong passphrases: a clear message, and the answers come ever slower (no delay
    // for the first two, then 1 s, 2 s, 4 s before the passphrase is checked). The
    // fourth is compared with the quicker of the first two (wrong passphrases, no
    // delay), the fifth — the right passphrase after four wrong ones — with an unlock
    // by the right passphrase with no failure before it; each may be a second quicker
    // than its delay, the room the key derivation's own time needs under load: at
    // least 1 s more for the fourth (its delay is 2 s), 3 s more for the fifth (4 s).
    let plain = try_unlock(d, PASS);
    d.wait_until("the cases after unlocking", || {
        d.text("#case-list").contains(&marker)
    });
    d.keys("#search", "\u{E009}l\u{E000}");
    d.wait("#unlock-passphrase");
    let first = try_unlock(d, "not the right passphrase at all");
    assert!(d.text("#unlock-error").contains("passphrase"));
    d.screenshot("11-unlock-wrong");
    let second = try_unlock(d, "still not the right passphrase");
    try_unlock(d, "and again not the right one");
    assert!(
        d.text("#unlock-error").contains("more slowly"),
        "the slower answer is not explained"
    );
    let fourth = try_unlock(d, "nor is this one");
    let fifth = try_unlock(d, PASS);
    let quickest = first.min(second);
    assert!(
        fourth >= quickest + Duration::from_secs(1) && fifth >= plain + Duration::from_secs(3),
        "no growing delay: first {first:?}, second {second:?}, fourth {fourth:?}; \
         unlocked {plain:?}, after four failures {fifth:?}"
    );
    d.wait_until("the cases after unlocking", || {
        d.text("#case-list").contains(&marker)
    });
    d.type_into("#search", "amal");
    d.wait_until("search after unlock", || rows() == 1);

    scenario.step("Arabic switches the layout to right-to-left");
    // Arabic switches the whole layout to right-to-left.
    d.click("#nav-settings");
    d.screenshot("12-settings");
    scenario.step("key backup: three shares");
    // Key backup: three shares, any two restore the key (checked after the app closes).
    d.type_into("#backup-shares", "3");
    d.type_into("#backup-threshold", "2");
    d.click("#backup-make");
    d.wait("#backup-cards");
    // One share at a time: what Print prints is the page, so the page never holds two
    // (all shares in one print job would sit together in a spool or a printer's memory).
    let on_screen = || {
        d.script(
            "return [...document.querySelectorAll('[data-testid=share-text]')].map((c) => c.textContent);",
        )
    };
    let mut shares: Vec<String> = Vec::new();
    for n in 0..3 {
        if n > 0 {
            d.script("document.querySelector('#backup-next').click();");
            let before = shares.last().cloned();
            d.wait_until("the next share", || {
                serde_json::from_value::<Vec<String>>(on_screen())
                    .is_ok_and(|v| v.len() == 1 && Some(&v[0]) != before.as_ref())
            });
        }
        let shown: Vec<String> = serde_json::from_value(on_screen()).unwrap();
        assert_eq!(
            shown.len(),
            1,
            "share {n}: {} shares in the page",
            shown.len()
        );
        let qr_modules = d.script(
            "return [...document.querySelectorAll('#backup-cards svg.qr path')].map((p) => p.getAttribute('d').split('M').length - 1);",
        );
        assert!(
            qr_modules.as_array().unwrap().len() == 1 && qr_modules[0].as_u64().unwrap() > 200,
            "QR code not drawn, or more than one: {qr_modules}"
        );
        if n == 0 {
            assert_eq!(
                d.script("return document.querySelector('#backup-previous').disabled;"),
                json!(true)
            );
            d.script("document.querySelector('[data-testid=share-card]').scrollIntoView();");
            d.screenshot("12b-key-backup");
        }
        shares.extend(shown);
    }
    assert_eq!(
        d.script("return document.querySelector('#backup-next').disabled;"),
        json!(true),
        "the last share has no next"
    );
    assert!(shares.iter().all(|s| s.starts_with("custos-share-1:")));
    let distinct: std::collections::HashSet<&String> = shares.iter().collect();
    assert_eq!(distinct.len(), 3, "three different shares");
    d.click("#backup-hide");
    d.wait_until("the shares to be hidden", || {
        d.script("return document.querySelectorAll('[data-testid=share-card]').length;") == json!(0)
    });
    d.set_value("#language", "ar");
    d.click("#settings-save");
    d.wait_until("right-to-left", || {
        d.script("return document.documentElement.dir;") == json!("rtl")
    });
    d.click("#nav-cases");
    d.wait_until("the case list in Arabic", || {
        d.text("#case-list").contains(&marker)
    });
    let layout = d.script(
        "const b = document.querySelector('.brand').getBoundingClientRect(); \
         const n = document.querySelector('#main-nav').getBoundingClientRect(); \
         const th = getComputedStyle(document.querySelector('#case-list th')).textAlign; \
         return [b.left > n.left, document.documentElement.lang, th];",
    );
    assert_eq!(
        layout,
        json!([true, "ar", "start"]),
        "the layout is not right-to-left"
    );
    assert!(d
        .text("#nav-cases")
        .chars()
        .any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)));
    d.screenshot("13-cases-arabic");
    let case = row_id(d, "#case-list", "arrest at checkpoint");
    d.click(&format!(
        "[data-record-id='{case}'] [data-testid=case-open]"
    ));
    d.wait("#incident-list");
    assert_eq!(d.overflow_x(), 0, "the Arabic case screen scrolls sideways");
    d.screenshot("14-case-arabic");

    scenario.step("closing with unsaved changes asks, then locks");
    // The window's close button, with unsaved changes: the app asks first (in Arabic
    // now); "keep editing" keeps it open, "discard" closes it and locks the vault.
    d.type_into("#case-summary", &format!("{marker} never saved"));
    let pid = app
        .processes()
        .first()
        .map(|p| p.0)
        .expect("the app's process");
    assert_eq!(request_close(&app.display, pid), Ok(1));
    d.wait("#confirm-dialog");
    d.screenshot("15-close-guard-arabic");
    d.click("#confirm-cancel");
    d.wait_until("the dialog to close", || d.gone("#confirm-dialog"));
    assert_eq!(
        app.processes().first().map(|p| p.0),
        Some(pid),
        "the app closed anyway"
    );
    assert_eq!(request_close(&app.display, pid), Ok(1));
    d.wait("#confirm-dialog");
    scenario.step("the app is gone");
    // The app is gone before WebDriver can answer the click: its answer is not awaited.
    d.script("setTimeout(() => document.querySelector('#confirm-ok').click(), 50);");
    d.wait_until("the app to exit", || app.processes().is_empty());
    drop(scenario);
    app.stop();

    // The vault was let go and holds what was saved, not the discarded edit.
    let vault = Vault::unlock(
        &app.vault,
        &SecretString::from(PASS.to_owned()),
        Options::default(),
    )
    .expect("the vault opens after the app closed");
    let cases = vault.list(&Filter {
        kind: Some(Kind::Case),
        ..Filter::default()
    });
    assert_eq!(cases.len(), 2);
    let case = vault.get(case.parse().unwrap()).unwrap();
    let json = serde_json::to_string(&case).unwrap();
    assert!(json.contains("summary, edited") && !json.contains("never saved"));
    drop((case, json, cases));
    vault.lock().unwrap();

    // Two of the app's shares restore the key: the vault opens with a new passphrase.
    let fresh = "cobalt meadow thunder violin 2041 heron";
    Vault::restore_key(
        &app.vault,
        &[&shares[2], &shares[0]],
        &SecretString::from(fresh.to_owned()),
        Options::insecure_for_tests(),
    )
    .expect("the shares shown in the app restore the key");
    Vault::unlock(
        &app.vault,
        &SecretString::from(fresh.to_owned()),
        Options::insecure_for_tests(),
    )
    .unwrap()
    .lock()
    .unwrap();

    let scanned = app.scan_for(&marker);
    eprintln!("scanned {scanned} files, no plaintext");
}

/// What on screen is wider than its box: buttons, labels, legends, table headers and
/// navigation whose text runs past their edge (scrollWidth > clientWidth), as
/// "tag#id text" lines. Text for screen readers only (.visually-hidden) is left out.
fn overflowing(d: &Driver) -> Vec<String> {
    let found = d.script(
        "return [...document.querySelectorAll('button, label, legend, th, .nav-button, select, h1, h2')] \
           .filter((e) => e.offsetParent !== null && e.clientWidth > 0 && !e.closest('.visually-hidden') \
                          && e.scrollWidth > e.clientWidth + 1) \
           .map((e) => `${e.tagName.toLowerCase()}#${e.id} ${e.textContent.trim().slice(0, 60)} \
                        (${e.scrollWidth} > ${e.clientWidth})`);",
    );
    found
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Persian (right to left) and Russian (long words) on every main screen at the
/// smallest window size: nothing runs out of its box, nothing scrolls sideways, and
/// Persian lays the page out right to left. Screenshots: `lang-<code>-<screen>.png`.
#[test]
fn persian_and_russian_fit_every_main_screen() {
    let mut app = App::start();
    let d = &app.d;
    d.wait("#create-passphrase");
    d.set_size(1024, 700);
    d.wait_until("the window at 1024×700", || {
        d.script("return [window.innerWidth, window.innerHeight];") == json!([1024, 700])
    });
    create_vault(d);
    // A case with a person and an incident, so that the case screen has its lists.
    d.click("#new-case");
    d.type_into("#case-title", "Arrest at the checkpoint");
    d.click("#case-save");
    d.wait("#add-incident");
    add_person(d, "Amal", "victim");
    d.click("#add-incident");
    d.type_into("#incident-title", "Arrest");
    d.set_value("#incident-date", "2026-03-14");
    d.click("#incident-act-arbitrary-arrest");
    d.click("#incident-save");
    d.wait("#add-incident");

    for (lang, dir) in [("fa", "rtl"), ("ru", "ltr")] {
        d.click("#nav-settings");
        d.wait("#screen-settings");
        d.set_value("#language", lang);
        d.click("#settings-save");
        d.wait_until(&format!("the page in {lang}"), || {
            d.script("return [document.documentElement.lang, document.documentElement.dir];")
                == json!([lang, dir])
        });
        let check = |screen: &str| {
            assert_eq!(
                d.overflow_x(),
                0,
                "{lang}: the {screen} screen scrolls sideways"
            );
            let over = overflowing(d);
            d.screenshot(&format!("lang-{lang}-{screen}"));
            assert!(
                over.is_empty(),
                "{lang}, {screen}: text runs out of its box: {over:#?}"
            );
        };
        // Settings: the menu marks the language as not reviewed, and says so below.
        d.click("#nav-settings");
        d.wait("#language-not-reviewed");
        let native = custos_model::languages::get(lang).unwrap().native;
        let option = d.script(&format!(
            "const o = document.querySelector('#language option[value={lang}]'); \
             return [o.lang, o.dir, o.textContent.includes({native:?}), o.textContent !== {native:?}];"
        ));
        assert_eq!(
            option,
            json!([lang, dir, true, true]),
            "{lang}: its menu entry is not marked as not reviewed"
        );
        check("settings");
        d.click("#open-sync");
        d.wait("#screen-sync");
        check("sync");
        d.click("#nav-cases");
        d.wait("#screen-cases");
        d.wait_until("the case list", || {
            d.text("#case-list").contains("Arrest at the checkpoint")
        });
        if lang == "fa" {
            let layout = d.script(
                "const b = document.querySelector('.brand').getBoundingClientRect(); \
                 const n = document.querySelector('#main-nav').getBoundingClientRect(); \
                 return b.left > n.left;",
            );
            assert_eq!(layout, json!(true), "the Persian page is not right to left");
        }
        check("cases");
        let case = row_id(d, "#case-list", "Arrest at the checkpoint");
        d.click(&format!(
            "[data-record-id='{case}'] [data-testid=case-open]"
        ));
        d.wait("#incident-list");
        check("case");
        d.click("#case-history");
        d.wait("#screen-history");
        check("history");
        d.click("#quick-entry");
        d.wait("#screen-quick");
        check("quick");
        d.click("#nav-cases");
        d.wait("#screen-cases");
        d.click("#open-patterns");
        d.wait("#screen-patterns");
        d.wait_until("the figures", || d.gone("#screen-patterns[aria-busy]"));
        check("patterns");
    }
    // Locked, the language menu of the unlock screen marks unreviewed languages too.
    d.click("#lock-button");
    d.wait("#unlock-passphrase");
    let marked = d.script(
        "const o = (c) => document.querySelector(`#language-locked option[value=\"${c}\"]`).textContent; \
         return [o('en'), o('fa') !== 'فارسی' && o('fa').includes('فارسی')];",
    );
    assert_eq!(marked, json!(["English", true]), "the unlock screen's menu");
    app.stop();
}
