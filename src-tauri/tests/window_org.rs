//! The organisation key in the real window: a coordinator creates it from the sync
//! screen (a name, the hub's roster shown with each device's words, then signed), and a
//! field device is offered the same words. Its own test binary: window tests run one at
//! a time.

use custos_test_support::window as support;

use custos_sync::{Held, Route};
use custos_vault::{Options, SecretString, Vault};
use support::{App, Driver, Hub};

const PASS: &str = "lantern orchard velvet quarry 1987 sparrow";

/// The text of an element when it is shown, else empty.
fn shown_text(d: &Driver, css: &str) -> String {
    d.script(&format!(
        "const e = document.querySelector({css:?}); return e && !e.hidden ? e.textContent : '';"
    ))
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

/// A coordinator creates the organisation key in the app: a name, the hub's roster shown
/// with each device's words, then signed. A field device offered the key sees the same
/// words.
#[test]
fn a_coordinator_creates_the_organisation_key_in_the_real_window() {
    let mut hub = Hub::start();
    let ftmp = tempfile::tempdir().unwrap();
    let mut field = Vault::create(
        &ftmp.path().join("vault"),
        &SecretString::from(PASS.to_owned()),
        Options::insecure_for_tests(),
    )
    .unwrap();
    // The app's vault: made, named a coordinator and enrolled before the app starts.
    let mut app = App::start_with(|dir| {
        let mut v = Vault::create(
            dir,
            &SecretString::from(PASS.to_owned()),
            Options::insecure_for_tests(),
        )
        .unwrap();
        hub.admin(&["coordinators", "add", &v.recipient()]);
        let invite = hub.admin(&["invite", "--role", "coordinator", "--expires", "1h"]);
        custos_sync::enroll(&mut v, &invite, "coordinator laptop", Route::Direct)
            .expect("the coordinator enrolls");
    });
    let invite = hub.admin(&["invite", "--role", "field", "--expires", "1h"]);
    custos_sync::enroll(&mut field, &invite, "field laptop", Route::Direct).unwrap();
    custos_sync::run(&Held::new(&mut field)).unwrap();
    let field_words = field.sync_info().org.device_words;

    let d = &app.d;
    let scenario = d.scenario("a coordinator unlocks and opens the sync screen");
    d.type_into("#unlock-passphrase", PASS);
    d.click("#unlock-submit");
    d.wait("#screen-cases");
    d.click("#sync-indicator");
    d.wait("#sync-org-create-name");

    scenario.step("no name: refused; then the roster, each device with its words");
    d.click("#sync-org-preview-show");
    d.wait_until("the name asked for", || {
        !shown_text(d, "#sync-org-create-error").is_empty()
    });
    d.type_into("#sync-org-create-name", "Observatory");
    d.click("#sync-org-preview-show");
    d.wait("#sync-org-sign");
    let devices = d.text("#sync-org-preview-devices");
    assert!(
        devices.contains("field laptop") && devices.contains(&field_words),
        "{devices}"
    );
    assert!(devices.contains("coordinator laptop"), "{devices}");
    assert_eq!(d.overflow_x(), 0, "the roster preview scrolls sideways");
    d.script("document.querySelector('#sync-org-preview').scrollIntoView(); return null;");
    d.screenshot("sync-13-org-create-preview");

    scenario.step("signed: the key's words and QR code");
    d.click("#sync-org-sign");
    d.wait("#confirm-ok");
    d.click("#confirm-ok");
    d.wait("#sync-org-words");
    let words: Vec<String> = serde_json::from_value(d.script(
        "return [...document.querySelectorAll('#sync-org-words li')].map((l) => l.textContent);",
    ))
    .unwrap();
    assert_eq!(words.len(), 8);
    assert!(d.find("#sync-org-card svg.qr").is_some());
    assert!(
        d.find("#sync-org-create").is_none(),
        "the form is still there"
    );
    d.script("document.querySelector('#sync-org-card').scrollIntoView(); return null;");
    d.screenshot("sync-14-org-created");

    scenario.step("the field device is offered the same words");
    custos_sync::run(&Held::new(&mut field)).unwrap();
    assert_eq!(field.sync_info().org.offered_words, Some(words.join(" ")));
    drop(scenario);
    app.stop();
    hub.stop();
}
