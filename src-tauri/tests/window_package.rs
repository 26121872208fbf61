//! Settings → Packages and updates in the real window: a release folder made here (a
//! package, SHA256SUMS, its minisign signature by a throwaway key), the package's path
//! given to the panel, the result drawn. The app trusts only the release keys built into
//! it, and this build has none (`release/keys` holds no project key yet), so the panel
//! must say plainly that it cannot check a package — never "genuine". The genuine and
//! tampered paths are the command's unit tests (`src/package.rs`) and the command line's
//! (`crates/cli/tests/check_package.rs`), with keys passed in.
//!
//! Screenshots: `target/screenshots/package-01-en.png`, `package-02-ar.png`.

use custos_test_support::window as support;

use std::path::{Path, PathBuf};

use custos_test_support::release::Signer;
use custos_vault::{Options, SecretString, Vault};
use serde_json::{json, Value};
use support::{App, Driver};

const PASS: &str = "lantern orchard velvet quarry 1987 sparrow";
const PACKAGE: &str = "Custos_99.0.0_amd64.deb";

/// A release folder in `dir`: one package, its list of hashes, signed.
fn release(dir: &Path) -> PathBuf {
    Signer::new().write_release(
        dir,
        &[(PACKAGE, b"a newer debian package")],
        "custos 99.0.0 linux-amd64",
    );
    dir.join(PACKAGE)
}

/// The English (or other) sentence of a key in `ui/locales`.
fn message(lang: &str, key: &str) -> String {
    let path = support::workspace_root()
        .join("ui/locales")
        .join(format!("{lang}.json"));
    let all: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    all[key].as_str().expect("the sentence").to_owned()
}

/// Gives the panel a path and waits for a new result; → (outcome, kind, text).
fn check(d: &Driver, path: &str) -> Value {
    d.script("const r = document.querySelector('#package-result'); r.hidden = true; delete r.dataset.outcome;");
    d.type_into("#package-path", path);
    d.click("#package-check");
    d.wait_until("the package's result", || {
        d.script(
            "const r = document.querySelector('#package-result'); return !r.hidden && Boolean(r.dataset.outcome);",
        ) == json!(true)
    });
    d.script(
        "const r = document.querySelector('#package-result'); \
         return [r.dataset.outcome, r.dataset.kind || null, r.textContent, r.className];",
    )
}

fn open_panel(d: &Driver) {
    d.click("#nav-settings");
    d.wait("#package-card");
    show_panel(d);
}

/// Scrolls the panel's title to just under the header.
fn show_panel(d: &Driver) {
    d.script(
        "document.querySelector('#package-card').scrollIntoView(); \
         window.scrollBy(0, -document.querySelector('#app-header').offsetHeight - 8);",
    );
}

#[test]
fn the_package_panel_says_this_build_cannot_check_a_package() {
    let folder = tempfile::tempdir().unwrap();
    let package = release(folder.path());
    let package = package.to_str().unwrap();
    let no_keys = custos_release_has_no_keys();

    let app = App::start_with(|dir| {
        Vault::create(
            dir,
            &SecretString::from(PASS.to_owned()),
            Options::insecure_for_tests(),
        )
        .unwrap()
        .lock()
        .unwrap();
    });
    let d = &app.d;
    d.set_size(1024, 700);
    let scenario = d.scenario("unlock, then Settings → Packages and updates");
    d.type_into("#unlock-passphrase", PASS);
    d.click("#unlock-submit");
    d.wait("#screen-cases");
    open_panel(d);
    assert_eq!(
        d.text("#package-title"),
        message("en", "settings.package.title")
    );
    assert_eq!(
        d.text("#package-choose"),
        message("en", "settings.package.choose")
    );
    assert!(d.enabled("#package-choose"));

    scenario.step("a signed package: refused, because no release key is built in");
    let r = check(d, package);
    assert_eq!(r[0], json!("refused"), "{r}");
    assert!(r[3].as_str().unwrap().contains("refused"), "{r}");
    let text = r[2].as_str().unwrap();
    assert!(
        text.contains(&message("en", "settings.package.refused")),
        "{r}"
    );
    if no_keys {
        assert_eq!(r[1], json!("package_no_keys"), "{r}");
        assert_eq!(
            d.text("[data-testid=package-error]"),
            message("en", "error.package_no_keys")
        );
        // The check's own words, apart and isolated (they stay English in every language).
        assert_eq!(
            d.text("[data-testid=package-detail]"),
            "this build trusts no release key (release/keys is empty)"
        );
        assert!(
            text.contains(
                "This build of Custos trusts no release key, so it cannot check a package."
            ),
            "{r}"
        );
    } else {
        // A test package's build trusts its throwaway key, which did not sign this.
        assert_eq!(r[1], json!("package_unknown_key"), "{r}");
    }
    assert!(
        !text.contains(&message("en", "settings.package.genuine")),
        "{r}"
    );
    assert_eq!(d.overflow_x(), 0, "the Settings screen scrolls sideways");
    show_panel(d);
    d.screenshot("package-01-en");

    scenario.step("a path that is not a full path is refused before anything is read");
    let r = check(d, PACKAGE);
    assert_eq!(
        (&r[0], &r[1]),
        (&json!("refused"), &json!("bad_request")),
        "{r}"
    );

    scenario.step("the same panel in Arabic, right to left");
    d.set_value("#language", "ar");
    d.wait_until("right-to-left", || {
        d.script("return document.documentElement.dir;") == json!("rtl")
    });
    open_panel(d);
    assert_eq!(
        d.text("#package-title"),
        message("ar", "settings.package.title")
    );
    let r = check(d, package);
    assert_eq!(r[0], json!("refused"), "{r}");
    if no_keys {
        assert_eq!(
            d.text("[data-testid=package-error]"),
            message("ar", "error.package_no_keys")
        );
    }
    assert_eq!(
        d.overflow_x(),
        0,
        "the Arabic Settings screen scrolls sideways"
    );
    show_panel(d);
    d.screenshot("package-02-ar");
}

/// Whether the app under test was built with no release key (a normal build today).
fn custos_release_has_no_keys() -> bool {
    custos_release::built_in_keys().is_empty()
}
