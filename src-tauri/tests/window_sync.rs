//! Sync in the real window, against a real hub: a field laptop (the app, driven over
//! WebDriver) and a coordinator (a vault of the `custos` library in this process) share
//! a case through `custos-hub`, edit it apart, and the app resolves the concurrent
//! edits; then sync goes through a SOCKS5 proxy that never answers, and locking does not
//! wait for it. Nothing is mocked; the hub listens on a local port.
//!
//! The harness is in support/mod.rs; screenshots go to `target/screenshots/sync-*.png`.

use custos_test_support::window as support;

use std::time::Instant;

use custos_model::{CaseStatus, Record};
use custos_sync::{Held, Route};
use custos_vault::{Options, SecretString, Vault};
use serde_json::{json, Value};
use support::{assert_absent, App, Driver, Hub};

const PASS: &str = "lantern orchard velvet quarry 1987 sparrow";

fn create_vault(d: &Driver) {
    d.type_into("#create-passphrase", PASS);
    d.type_into("#create-confirm", PASS);
    d.wait_until("the create button to enable", || {
        d.enabled("#create-submit")
    });
    d.click("#create-submit");
    d.wait("#screen-cases");
}

/// What the header's sync indicator says: [state, text].
fn indicator(d: &Driver) -> Value {
    d.script(
        "const b = document.querySelector('#sync-indicator'); \
         return b ? [b.dataset.state || '', b.textContent] : null;",
    )
}

/// The text of an element, or '' when it is absent or hidden.
fn shown_text(d: &Driver, css: &str) -> String {
    d.script(&format!(
        "const e = document.querySelector({css:?}); return e && !e.hidden ? e.textContent : '';"
    ))
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

/// Opens the Sync screen from the header, clicks "Sync now" and waits for its answer
/// (a result or an error); → [result, error].
fn sync_now(d: &Driver) -> (String, String) {
    d.click("#sync-indicator");
    d.wait("#sync-now");
    d.wait_until("Sync now to be enabled", || d.enabled("#sync-now"));
    d.click("#sync-now");
    let mut out = (String::new(), String::new());
    d.wait_until("the answer to Sync now", || {
        out = (shown_text(d, "#sync-result"), shown_text(d, "#sync-error"));
        (!out.0.is_empty() || !out.1.is_empty()) && d.enabled("#sync-now")
    });
    out
}

fn open_case(d: &Driver, id: &str) {
    d.click("#nav-cases");
    d.click(&format!("[data-record-id='{id}'] [data-testid=case-open]"));
    d.wait("#case-title");
}

fn case_of(vault: &Vault, id: uuid::Uuid) -> (custos_model::Case, usize) {
    let view = vault.get(id).unwrap();
    let heads = view.heads.len();
    match view.into_record() {
        Some(Record::Case(c)) => (c, heads),
        other => panic!("not a case: {other:?}"),
    }
}

#[test]
fn a_case_syncs_conflicts_and_is_resolved_in_the_real_window() {
    let t0 = Instant::now();
    let marker = format!("CANARY{}", std::process::id());

    // The hub, its coordinator (added before the field invite is made, so that the
    // invite names it), and the coordinator's own vault, enrolled.
    let mut hub = Hub::start();
    let ctmp = tempfile::tempdir().unwrap();
    let mut coord = Vault::create(
        &ctmp.path().join("vault"),
        &SecretString::from(PASS.to_owned()),
        Options::insecure_for_tests(),
    )
    .unwrap();
    hub.admin(&["coordinators", "add", &coord.recipient()]);
    let coord_invite = hub.admin(&["invite", "--role", "coordinator", "--expires", "1h"]);
    let field_invite = hub.admin(&["invite", "--role", "field", "--expires", "1h"]);
    assert!(field_invite.starts_with("custos-invite:"));
    let enrolled = custos_sync::enroll(&mut coord, &coord_invite, "coordinator", Route::Direct)
        .expect("the coordinator enrolls");
    assert_eq!(enrolled.role, custos_wire::Role::Coordinator);

    // The app: a new vault; sync is off until enrolled.
    let mut app = App::start();
    let d = &app.d;
    let scenario = d.scenario("a new vault: sync off until enrolled");
    d.wait("#create-passphrase");
    scenario.step("the header and screens fit the smallest window");
    // At the smallest window the app allows, the header and the screens fit.
    d.set_size(1024, 700);
    d.wait_until("the window at 1024×700", || {
        d.script("return [window.innerWidth, window.innerHeight];") == json!([1024, 700])
    });
    create_vault(d);
    d.wait_until("the sync indicator", || indicator(d)[0] == json!("off"));

    scenario.step("enrollment: a malformed invite refused, then the real one");
    // Enrollment: a malformed invite is refused next to the field, then the real one.
    d.click("#sync-indicator");
    d.wait("#sync-enroll-form");
    assert!(d.text("#sync-trust").contains("never tried"));
    d.type_into("#sync-label", "Field laptop 2");
    d.set_value("#sync-invite", "custos-invite:this-was-cut-when-copied");
    d.click("#sync-enroll-submit");
    d.wait_until("the malformed invite error", || {
        shown_text(d, "#field-error-sync-invite").contains("not a valid invite")
    });
    d.screenshot("sync-01-enroll-malformed");
    scenario.step("changed invites refused without using it up");
    // The same invite changed on the way: expired, another hub key, a hub that is not
    // there. Each is refused in plain words, and none of them uses up the invite.
    let real = custos_wire::Invite::decode(&field_invite).unwrap();
    let mut expired = real.clone();
    expired.expires = chrono::Utc::now() - chrono::Duration::hours(1);
    let mut other_key = real.clone();
    other_key.pin = format!("sha256:{}", "ab".repeat(32));
    let mut nowhere = real.clone();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    nowhere.hub = closed.local_addr().unwrap().to_string();
    drop(closed);
    for (invite, words) in [
        (expired, "This invite has expired."),
        (
            other_key,
            "The server did not prove the hub key named in the invite",
        ),
        (nowhere, "The hub could not be reached."),
    ] {
        d.set_value("#sync-invite", &invite.encode());
        d.click("#sync-enroll-submit");
        d.wait_until(words, || {
            shown_text(d, "#sync-enroll-error").starts_with(words)
        });
        d.wait_until("the form to be ready again", || {
            d.enabled("#sync-enroll-submit")
        });
    }
    d.screenshot("sync-01b-enroll-unreachable");
    d.set_value("#sync-invite", &field_invite);
    d.click("#sync-enroll-submit");
    d.wait("#sync-details");
    assert_eq!(d.text("#sync-hub"), hub.addr);
    assert_eq!(d.text("#sync-pin"), hub.pin);
    assert!(d.text("#sync-role").starts_with("Field device"));
    assert!(
        !d.source().contains(&field_invite[14..]),
        "the invite is still on screen after enrolling"
    );
    assert_eq!(d.overflow_x(), 0, "the sync screen scrolls sideways");
    d.screenshot("sync-02-enrolled");

    scenario.step("a case synced: nothing pending");
    // Two coordinator keys the hub lists after enrollment (the operator's, say): the
    // first sync shows them announced, used for nothing until the user decides.
    let announced: Vec<String> = (0..2)
        .map(|_| age::x25519::Identity::generate().to_public().to_string())
        .collect();
    for key in &announced {
        hub.admin(&["coordinators", "add", key]);
    }
    // A case with the canary in its summary, then Sync now: success, nothing pending.
    d.click("#nav-cases");
    d.click("#new-case");
    d.type_into("#case-title", "Detention of a reporter");
    d.type_into(
        "#case-summary",
        &format!("{marker} taken at the northern checkpoint"),
    );
    d.click("#case-save");
    d.wait("#add-incident");
    let mut case_id = Value::Null;
    d.wait_until("the new case's id", || {
        case_id =
            d.script("return document.querySelector('#screen-case').dataset.recordId || null;");
        case_id.is_string()
    });
    let case_id = case_id.as_str().unwrap().to_owned();
    let (result, error) = sync_now(d);
    assert_eq!(error, "", "sync failed");
    assert!(
        result.starts_with("Sync complete. Versions sent: 1, received: 0."),
        "{result}"
    );
    d.wait_until("nothing pending and no error", || {
        d.script(
            "return [document.querySelector('#sync-pending').dataset.versions, \
                     document.querySelector('#sync-last-error').textContent];",
        ) == json!(["0", "None"])
    });
    assert_ne!(d.text("#sync-last-success"), "Never");
    d.wait_until("the header to say synced", || {
        indicator(d)[0] == json!("synced")
    });
    d.screenshot("sync-03-synced");

    scenario.step("coordinator keys the hub announced wait for the user");
    d.wait_until("the announced keys", || {
        !d.text("#sync-announced").is_empty()
            && d.script("return document.querySelector('#sync-announced').hidden;") == json!(false)
    });
    assert!(d.text("#sync-announced-0").contains(&announced[0]));
    assert!(d.text("#sync-announced-1").contains(&announced[1]));
    let readers = d.text("#sync-readers");
    assert!(readers.contains(&coord.recipient()), "{readers}");
    assert!(!readers.contains(&announced[0]), "{readers}");
    // The change is listed with the others of whom this vault trusts.
    let changes = d.text("#sync-changes");
    assert!(
        changes.contains(&announced[0]) && changes.contains(&announced[1]),
        "{changes}"
    );
    assert_eq!(d.overflow_x(), 0, "the announced keys scroll sideways");
    d.script("document.querySelector('#sync-readers-card').scrollIntoView(); return null;");
    d.screenshot("sync-03b-announced");
    d.click("#sync-announced-refuse-0");
    d.wait_until("the refused key gone", || {
        !d.text("#sync-announced").contains(&announced[0])
    });
    assert!(d.text("#sync-announced-0").contains(&announced[1]));
    assert!(!d.text("#sync-readers").contains(&announced[0]));

    scenario.step("the coordinator edits and syncs");
    // The coordinator reads the case, edits its summary and status, and syncs.
    let id: uuid::Uuid = case_id.parse().unwrap();
    let report = custos_sync::run(&Held::new(&mut coord)).expect("the coordinator syncs");
    assert_eq!(report.pulled, 1);
    let (mut case, _) = case_of(&coord, id);
    assert!(
        case.summary.contains(&marker),
        "the coordinator cannot read the case"
    );
    let coordinator_summary =
        format!("{marker} taken at the northern checkpoint; released on bail");
    case.summary = coordinator_summary.clone();
    case.status = CaseStatus::Closed;
    coord.update(id, Record::Case(case)).unwrap();
    assert_eq!(custos_sync::run(&Held::new(&mut coord)).unwrap().pushed, 1);

    scenario.step("offline edits on the app");
    // Meanwhile, offline, the app edits the title and the status.
    let app_title = "Detention of a reporter (court date set)";
    open_case(d, &case_id);
    d.type_into("#case-title", app_title);
    d.set_value("#case-status", "monitoring");
    d.click("#case-save");
    d.wait_until("the save", || {
        shown_text(d, "#status-message") == "Case saved."
    });

    scenario.step("sync brings a conflict: two heads, flagged");
    // Sync now brings the coordinator's edit: two heads, the case is flagged.
    let (result, error) = sync_now(d);
    assert_eq!(error, "");
    assert!(
        result.contains("Records also changed elsewhere: 1."),
        "{result}"
    );
    d.click("#nav-cases");
    let marker_css = format!("[data-record-id='{case_id}'] [data-testid=conflict-marker]");
    d.wait(&marker_css);
    d.screenshot("sync-04-conflict-list");
    open_case(d, &case_id);
    d.wait("#conflict-banner");
    d.screenshot("sync-04b-conflict-case");
    d.click("#conflict-resolve");

    scenario.step("the Resolve screen merges and chooses");
    // The Resolve screen: both heads; title and summary taken automatically; the
    // status, changed on both sides, is a choice: the coordinator's is taken.
    d.wait("#resolve-heads");
    let heads = d.script(
        "return [...document.querySelectorAll('[data-testid=resolve-head]')].map((h) => h.textContent);",
    );
    let heads: Vec<String> = serde_json::from_value(heads).unwrap();
    assert_eq!(heads.len(), 2, "{heads:?}");
    assert_eq!(
        heads.iter().filter(|h| h.contains("this device")).count(),
        1,
        "{heads:?}"
    );
    let merged = |field: &str| d.text(&format!("[data-testid=merged-field][data-field={field}]"));
    assert!(merged("title").contains(app_title));
    assert!(merged("summary").contains("released on bail"));
    let choices = d.script(
        "return [...document.querySelectorAll('[data-testid=conflict-field]')].map((f) => f.dataset.field);",
    );
    assert_eq!(choices, json!(["status"]));
    let closed = d.script(
        "const l = [...document.querySelectorAll('[data-field=status] label')].find((l) => l.textContent.includes('Closed')); \
         return l ? l.htmlFor : null;",
    );
    let closed = closed.as_str().expect("a 'Closed' choice").to_owned();
    d.click(&format!("#{closed}"));
    d.script("document.querySelector('#resolve-merged').scrollIntoView({block: 'start'});");
    assert_eq!(d.overflow_x(), 0, "the resolve screen scrolls sideways");
    d.screenshot("sync-05-resolve");
    d.click("#resolve-save");

    scenario.step("resolved: both edits shown");
    // Resolved: the badge is gone and the case shows both edits.
    d.wait("#case-title");
    d.wait_until("the conflict banner to go", || {
        d.script("return document.querySelector('#conflict-banner').hidden;") == json!(true)
    });
    assert_eq!(
        d.script("return [document.querySelector('#case-title').value, document.querySelector('#case-status').value];"),
        json!([app_title, "closed"])
    );
    assert!(
        d.text("#case-summary").contains("released on bail")
            || d.script("return document.querySelector('#case-summary').value;")
                .as_str()
                .unwrap_or_default()
                .contains("released on bail")
    );
    d.click("#nav-cases");
    d.wait(&format!("[data-record-id='{case_id}']"));
    assert!(d.find(&marker_css).is_none(), "the conflict badge stayed");
    d.screenshot("sync-06-resolved");

    scenario.step("the merge reaches the coordinator");
    // The merge goes to the hub; the coordinator sees one head with both edits.
    let (_, error) = sync_now(d);
    assert_eq!(error, "");
    d.wait_until("nothing pending", || {
        d.script("return document.querySelector('#sync-pending').dataset.versions;") == json!("0")
    });
    custos_sync::run(&Held::new(&mut coord)).unwrap();
    let (case, heads) = case_of(&coord, id);
    assert_eq!(heads, 1, "the coordinator still sees a conflict");
    assert_eq!(case.title, app_title);
    assert_eq!(case.summary, coordinator_summary);
    assert_eq!(case.status, CaseStatus::Closed);
    drop(case);

    scenario.step("travel mode removes and restores the case");
    // Travel mode: the case is on the hub, so it can be removed from the laptop (sync
    // pauses); after the crossing it comes back from the hub.
    d.wait(&format!("#travel-case-{case_id}"));
    d.click(&format!("#travel-case-{case_id}"));
    d.click("#travel-remove");
    d.wait("#confirm-dialog");
    d.click("#confirm-ok");
    d.wait_until("the removal", || {
        !shown_text(d, "#travel-result").is_empty() || !shown_text(d, "#travel-error").is_empty()
    });
    assert_eq!(shown_text(d, "#travel-error"), "");
    assert!(
        shown_text(d, "#travel-result").starts_with("Removed 1 case(s)"),
        "{}",
        shown_text(d, "#travel-result")
    );
    d.wait_until("sync to pause", || {
        d.script("return document.querySelector('#sync-state').dataset.paused;") == json!("true")
    });
    assert!(d.find(&format!("#travel-case-{case_id}")).is_none());
    d.screenshot("sync-06b-travel-removed");
    d.click("#nav-cases");
    d.wait("#screen-cases");
    assert!(
        d.find(&format!("[data-record-id='{case_id}']")).is_none(),
        "the removed case is still listed"
    );
    d.click("#sync-indicator");
    d.wait("#travel-restore");
    d.click("#travel-restore");
    d.wait_until("the cases to come back", || {
        shown_text(d, "#travel-result").starts_with("Brought back")
            || !shown_text(d, "#travel-error").is_empty()
    });
    assert_eq!(shown_text(d, "#travel-error"), "");
    d.wait_until("sync to resume", || {
        d.script("return document.querySelector('#sync-state').dataset.paused;") == json!("false")
    });
    d.wait(&format!("#travel-case-{case_id}"));
    d.click("#nav-cases");
    d.wait(&format!("[data-record-id='{case_id}']"));
    d.click("#sync-indicator");
    d.wait("#sync-details");

    scenario.step("Tor-only: a silent proxy, and a lock that does not wait");
    // Only through SOCKS5: a "proxy" that takes the connection and never answers. The
    // sync waits on it (never on the hub directly), and locking does not wait for it.
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_addr = proxy.local_addr().unwrap().to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // One connection is held open; the listener closes after it.
        if let Ok((conn, _)) = proxy.accept() {
            let _ = tx.send(conn);
        }
    });
    d.click("#sync-set-route-socks5");
    d.type_into("#sync-set-proxy", &proxy_addr);
    d.click("#sync-settings-save");
    d.wait_until("the SOCKS5 route", || {
        d.text("#sync-route-value").contains(&proxy_addr)
    });
    d.click("#sync-now");
    let held = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the sync went to the proxy");
    d.wait_until("the header to say syncing", || {
        indicator(d)[0] == json!("running")
    });
    assert!(!d.enabled("#sync-now"), "Sync now is not busy");
    d.screenshot("sync-07-waiting-on-proxy");
    let locking = Instant::now();
    d.click("#lock-button");
    d.wait("#unlock-passphrase");
    let took = locking.elapsed();
    assert!(
        took < std::time::Duration::from_secs(3),
        "locking waited for the network: {took:?}"
    );
    eprintln!("locked in {took:?} while the sync waited on the proxy");
    d.type_into("#unlock-passphrase", PASS);
    d.click("#unlock-submit");
    d.wait("#screen-cases");
    scenario.step("the old sync ends without touching the new session");
    // The proxy gives up; the old sync ends without touching the new session.
    drop(held);
    d.wait_until("the old sync to end", || {
        indicator(d)[0] != json!("running")
    });
    d.click("#sync-indicator");
    d.wait("#sync-details");
    assert_eq!(d.text("#sync-last-error"), "None");
    d.click("#sync-set-route-direct");
    d.click("#sync-settings-save");
    d.wait_until("the direct route", || {
        d.text("#sync-route-value") == "Direct connection"
    });

    scenario.step("paused: Sync now refused in plain words");
    // Paused: the status says so, and Sync now is refused in plain words.
    d.click("#sync-paused");
    d.wait_until("the paused state", || {
        d.script("return document.querySelector('#sync-state').dataset.paused;") == json!("true")
    });
    d.wait_until("the header to say paused", || {
        indicator(d) == json!(["paused", "Sync paused"])
    });
    d.click("#sync-now");
    d.wait_until("the refusal", || {
        shown_text(d, "#sync-error") == "Sync is paused. Resume it to sync."
    });
    d.screenshot("sync-08-paused");

    scenario.step("the header fits in French and Arabic");
    // In French (longer words) and in Arabic (right to left), the header still fits.
    let header_fits = || {
        d.script(
            "const n = document.querySelector('#main-nav').getBoundingClientRect(); \
             return n.left >= 0 && n.right <= document.documentElement.clientWidth;",
        ) == json!(true)
    };
    assert!(header_fits(), "the header does not fit");
    d.click("#sync-paused");
    d.wait_until("sync resumed", || indicator(d)[0] == json!("synced"));
    d.click("#nav-settings");
    d.set_value("#language", "fr");
    d.wait_until("French", || {
        d.script("return document.documentElement.lang;") == json!("fr")
    });
    d.click("#nav-cases");
    d.wait("#case-list");
    assert!(
        indicator(d)[1].as_str().unwrap().starts_with("Synchronisé"),
        "{}",
        indicator(d)
    );
    assert!(header_fits(), "the French header does not fit");
    d.screenshot("sync-09-cases-french");
    d.click("#nav-settings");
    d.set_value("#language", "ar");
    d.wait_until("right-to-left", || {
        d.script("return document.documentElement.dir;") == json!("rtl")
    });
    d.click("#sync-indicator");
    d.wait("#sync-details");
    assert_eq!(d.overflow_x(), 0, "the Arabic sync screen scrolls sideways");
    assert!(header_fits(), "the Arabic header does not fit");
    // The key still announced, in Arabic: its text stays left to right.
    assert!(d.text("#sync-announced-0").contains(&announced[1]));
    assert_eq!(
        d.script(
            "return getComputedStyle(document.querySelector('#sync-announced-0 code')).direction;"
        ),
        json!("ltr")
    );
    d.screenshot("sync-10-sync-arabic");
    d.script("document.querySelector('#sync-readers-card').scrollIntoView(); return null;");
    d.screenshot("sync-10b-readers-arabic");

    scenario.step("the organisation key: offered, confirmed by its words, shown");
    // The coordinator creates the organisation key. The app (sync resumed) learns that
    // the roster moved from the hub's next answer: the key is offered, used for nothing
    // until the user types the words the coordinator reads out.
    let created = custos_sync::org_create(&Held::new(&mut coord), "Observatory", |_| true)
        .expect("the coordinator creates the organisation key")
        .expect("signed");
    // Sync resumed, if it is still paused from before.
    if d.script("return document.querySelector('#sync-state').dataset.paused;") == json!("true") {
        d.script("document.querySelector('#sync-paused').click(); return null;");
    }
    d.wait_until("sync resumed", || {
        d.script("return document.querySelector('#sync-state').dataset.paused;") == json!("false")
    });
    let (_, error) = sync_now(d);
    assert_eq!(error, "", "sync failed");
    d.wait("#sync-org-offer");
    d.script("document.querySelector('#sync-org-card').scrollIntoView(); return null;");
    assert_eq!(d.overflow_x(), 0, "the organisation card scrolls sideways");
    d.screenshot("sync-11-org-offered-arabic");
    d.type_into(
        "#sync-org-confirm-words",
        "abandon ability able about above absent absorb abstract",
    );
    d.click("#sync-org-confirm");
    d.wait_until("the wrong words refused", || {
        !shown_text(d, "#sync-org-error").is_empty()
    });
    assert!(d.find("#sync-org-offer").is_some(), "the offer went away");
    d.set_value("#sync-org-confirm-words", &created.words.to_uppercase());
    d.click("#sync-org-confirm");
    d.wait_until("the key followed", || d.find("#sync-org-offer").is_none());
    let (_, error) = sync_now(d);
    assert_eq!(error, "", "sync failed after confirming the key");
    d.wait_until("the verified roster", || {
        d.text("#sync-org-name").contains("Observatory")
    });
    let words: Vec<String> = serde_json::from_value(d.script(
        "return [...document.querySelectorAll('#sync-org-words li')].map((l) => l.textContent);",
    ))
    .unwrap();
    assert_eq!(words.join(" "), created.words);
    assert_eq!(
        d.script("return getComputedStyle(document.querySelector('#sync-org-words')).direction;"),
        json!("ltr")
    );
    assert!(
        d.find("#sync-org-card svg.qr").is_some(),
        "no QR code of the key"
    );
    assert!(
        d.find("#sync-org-waiting").is_none(),
        "the app's device is in the roster"
    );
    d.script("document.querySelector('#sync-org-card').scrollIntoView(); return null;");
    assert_eq!(d.overflow_x(), 0, "the organisation card scrolls sideways");
    d.screenshot("sync-12-org-confirmed-arabic");

    scenario.step("nothing readable anywhere");
    // Nothing readable anywhere: not in the hub's folder, not in what the app wrote.
    drop(scenario);
    app.stop();
    drop(coord);
    hub.stop();
    let n = assert_absent(&hub.data, &marker);
    assert!(n > 3, "the hub's folder is nearly empty ({n} files)");
    let m = app.scan_for(&marker);
    eprintln!(
        "sync test: {n} hub files and {m} app files scanned, no plaintext; {:?} in all",
        t0.elapsed()
    );
}
