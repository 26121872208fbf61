//! The user guide in the real window: opened from the header before any vault exists
//! (it holds no record), in English then in Arabic (right to left); its chapters,
//! screenshots and the path of its PDF are there, every link stays inside the guide,
//! nothing was fetched from outside the app (the CSP would refuse it, and the page names
//! no outside address), and the way back returns to the screen it was opened from.
//!
//! Screenshots: `target/screenshots/guide-01-en.png`, `guide-02-ar.png`.

use custos_test_support::window as support;

use serde_json::json;
use support::{App, Driver};

/// Opens the guide from the header and waits for its chapters.
fn open_guide(d: &Driver) {
    d.click("#nav-guide");
    d.wait("#screen-guide");
    d.wait_until("the guide's chapters", || {
        d.script("return document.querySelectorAll('#guide-content h2').length;")
            .as_u64()
            .is_some_and(|n| n >= 8)
    });
}

/// What the guide shows: its language and direction, its images (all, and those
/// loaded), its links that leave the guide, and the resources the page loaded from
/// outside the app's origin.
fn state(d: &Driver) -> serde_json::Value {
    d.script(
        "const g = document.querySelector('#guide-content'); \
         const imgs = [...g.querySelectorAll('img')]; \
         const links = [...g.querySelectorAll('a')].map((a) => a.getAttribute('href')) \
           .filter((h) => !/^#guide-s[0-9]+$/.test(h)); \
         const outside = performance.getEntriesByType('resource').map((r) => r.name) \
           .filter((u) => new URL(u).host !== location.host); \
         return [g.lang, g.dir, imgs.length, imgs.filter((i) => i.complete && i.naturalWidth > 0).length, \
           links, outside];",
    )
}

#[test]
fn the_guide_opens_offline_in_the_window_and_returns() {
    let app = App::start();
    let d = &app.d;
    d.wait("#create-passphrase");
    d.set_size(1024, 700);

    let scenario = d.scenario("the English guide from the first screen");
    open_guide(d);
    assert!(d.text("#guide-content h1").contains("Custos user guide"));
    assert!(d.text("#guide-pdf").contains("ui/guide/en.pdf"));
    d.wait_until("the guide's images to load", || {
        let s = state(d);
        s[2].as_u64().is_some_and(|n| n > 10) && s[2] == s[3]
    });
    let s = state(d);
    assert_eq!((&s[0], &s[1]), (&json!("en"), &json!("ltr")));
    assert_eq!(s[4], json!([]), "links that leave the guide");
    assert_eq!(s[5], json!([]), "resources from outside the app");
    d.screenshot("guide-01-en");

    scenario.step("a chapter from the table of contents, then back");
    d.click("#guide-content nav a[href='#guide-s5']");
    d.wait_until("the chapter scrolled into view", || {
        d.script("return document.querySelector('#guide-s5').getBoundingClientRect().top < 200;")
            == json!(true)
    });
    d.click("#guide-back");
    d.wait("#create-passphrase");

    scenario.step("the Arabic guide, right to left");
    d.set_value("#language-locked", "ar");
    d.wait_until("the Arabic interface", || {
        d.script("return document.documentElement.dir;") == json!("rtl")
    });
    open_guide(d);
    let s = state(d);
    assert_eq!((&s[0], &s[1]), (&json!("ar"), &json!("rtl")));
    assert!(d.text("#guide-pdf").contains("ui/guide/ar.pdf"));
    assert!(d
        .text("#guide-content h1")
        .chars()
        .any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)));
    assert_eq!(d.overflow_x(), 0, "the Arabic guide scrolls sideways");
    d.screenshot("guide-02-ar");
    d.click("#guide-back");
    d.wait("#create-passphrase");
}
