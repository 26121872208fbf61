//! The laptop in the wrong hands, in the real window: the desktop's lock signals (a
//! private system bus and session bus stand in for logind and the screen saver), work
//! in progress kept across a lock, the duress passphrase and its decoy, the wipe after
//! failed unlocks, and the panic wipe. Screenshots go to `target/screenshots/protect-*`.
//!
//! Needs `dbus-daemon` and `dbus-send` (Debian: dbus) besides what tests/window.rs
//! needs; `scripts/test` installs them.

use custos_test_support::window as support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{App, Bus, Driver};

const PASS: &str = "lantern orchard velvet quarry 1987 sparrow";
const DURESS: &str = "harbor minnow lattice crimson 2033 tundra";

/// Submits the unlock form; waits for the answer (the form gone, refused, or another
/// screen).
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
    d.wait_until("the unlock form to be busy", || form() != json!("refused"));
    d.wait_until("the unlock answer", || {
        form() == json!("gone") || form() == json!("refused")
    });
    t0.elapsed()
}

fn unlock(d: &Driver, passphrase: &str) {
    try_unlock(d, passphrase);
    d.wait("#screen-cases");
}

fn create_vault(d: &Driver) {
    d.wait("#create-passphrase");
    d.type_into("#create-passphrase", PASS);
    d.type_into("#create-confirm", PASS);
    d.wait_until("the create button to enable", || {
        d.enabled("#create-submit")
    });
    d.click("#create-submit");
    // The optional step right after creation, atop the case list: a duress passphrase.
    d.wait("#screen-cases .duress-offer");
}

/// Waits until the app shows the unlock screen; → how long it took from `since`.
fn wait_locked(d: &Driver, since: Instant, marker: &str) -> Duration {
    d.wait("#unlock-passphrase");
    let took = since.elapsed();
    assert!(
        !d.source().contains(marker),
        "case text still in the page after the lock"
    );
    took
}

fn value(d: &Driver, css: &str) -> Value {
    d.script(&format!(
        "return document.querySelector({css:?})?.value ?? null;"
    ))
}

fn rows(d: &Driver) -> u64 {
    d.script("return document.querySelectorAll('[data-testid=case-row]').length;")
        .as_u64()
        .unwrap()
}

fn wait_notice(d: &Driver, text: &str) {
    d.wait_until(&format!("the notice {text:?}"), || {
        d.script(
            "const s = document.querySelector('#status-message'); return s.hidden ? '' : s.textContent;",
        ) == json!(text)
    });
}

/// The device key file a vault is bound to (from its vault.json).
fn device_key(vault: &Path) -> std::path::PathBuf {
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(vault.join("vault.json")).unwrap()).unwrap();
    let id = manifest["device_key"]
        .as_str()
        .expect("the vault is bound to a device key");
    support::device_keys().join(format!("{id}.key"))
}

fn set_language(d: &Driver, code: &str) {
    if d.find("#screen-settings").is_none() {
        d.click("#nav-settings");
    }
    d.set_value("#language", code);
    d.wait_until("the language to switch", || {
        d.script("return document.documentElement.lang;") == json!(code)
    });
}

#[test]
fn locks_drafts_duress_and_wipes_in_the_real_window() {
    let began = Instant::now();
    let buses = tempfile::tempdir().unwrap();
    let session = Bus::start(buses.path(), "session");
    let system = Bus::start(buses.path(), "system");
    let mut app = App::start_env(&[
        ("DBUS_SESSION_BUS_ADDRESS", &session.address),
        ("DBUS_SYSTEM_BUS_ADDRESS", &system.address),
    ]);
    let d = &app.d;
    let marker = format!("GUARDED{}", std::process::id());
    let decoy_title = "Community garden meeting notes";

    let scenario = d.scenario("a new vault with a duress passphrase");
    // A new vault, then a duress passphrase that opens a decoy (the optional step).
    create_vault(d);
    d.screenshot("protect-01-duress-offer");
    d.click("#duress-open");
    d.type_into("#duress-passphrase", DURESS);
    d.type_into("#duress-confirm", DURESS);
    assert_eq!(d.checked("#duress-action-decoy"), 1, "decoy is the default");
    let t0 = Instant::now();
    d.click("#duress-save");
    d.wait_until("the duress offer to go", || d.gone("#duress-card"));
    eprintln!("duress passphrase and decoy set up in {:?}", t0.elapsed());

    eprintln!("{:>5.1?} duress set", began.elapsed());
    scenario.step("a case edited and a note half-written");
    // A case; its editor changed and a note half-written, nothing saved.
    d.click("#new-case");
    d.type_into("#case-title", &format!("{marker} detention of a lawyer"));
    d.click("#case-save");
    d.wait("#add-note");
    d.type_into("#case-summary", &format!("{marker} unsaved summary"));
    d.click("#add-note");
    d.type_into("#note-text", &format!("{marker} note in progress"));

    scenario.step("suspend locks and keeps the unsaved work");
    // The machine is about to sleep: the app locks, keeping the unsaved work.
    let t0 = Instant::now();
    system.signal(
        "/org/freedesktop/login1",
        "org.freedesktop.login1.Manager.PrepareForSleep",
        &["boolean:true"],
    );
    let took = wait_locked(d, t0, &marker);
    eprintln!("locked {took:?} after PrepareForSleep(true)");
    assert!(d.text("#unlock-notice").contains("sleep"));
    d.screenshot("protect-02-locked-on-suspend");

    scenario.step("the kept changes are offered back and restored");
    // Unlocked: the app offers the kept changes back; restored, they are all there.
    unlock(d, PASS);
    d.wait("#confirm-dialog[data-purpose=draft]");
    assert!(d.text("#confirm-message").contains("detention of a lawyer"));
    d.screenshot("protect-03-draft-offer");
    d.click("#confirm-ok");
    d.wait("#note-text");
    assert_eq!(
        value(d, "#case-summary"),
        json!(format!("{marker} unsaved summary"))
    );
    assert_eq!(
        value(d, "#note-text"),
        json!(format!("{marker} note in progress"))
    );
    d.screenshot("protect-04-draft-restored");
    d.click("#note-save");
    d.wait_until("the note in the list", || {
        d.text("#note-list").contains("note in progress")
    });
    d.click("#case-save");
    wait_notice(d, "Case saved.");

    eprintln!("{:>5.1?} draft restored", began.elapsed());
    scenario.step("the duress passphrase opens the decoy");
    // The duress passphrase opens the decoy: none of the real cases, nothing that says
    // a real vault exists. A harmless case goes into it.
    d.click("#lock-button");
    d.wait("#unlock-passphrase");
    let t0 = Instant::now();
    unlock(d, DURESS);
    eprintln!("decoy opened in {:?}", t0.elapsed());
    d.wait("#case-list-empty");
    assert!(!d.source().contains(&marker), "the decoy shows a real case");
    assert!(
        d.gone("#confirm-dialog"),
        "the decoy offered the real vault's draft"
    );
    d.click("#new-case");
    d.type_into("#case-title", decoy_title);
    d.click("#case-save");
    d.wait("#add-note");
    d.click("#nav-settings");
    d.wait("#duress-status");
    assert_eq!(
        d.script("return document.querySelector('#duress-status').dataset.action;"),
        json!(""),
        "the decoy's settings show a duress passphrase"
    );
    assert!(!d.source().contains(&marker));
    d.click("#nav-cases");
    d.wait_until("the decoy's case", || {
        d.text("#case-list").contains(decoy_title)
    });
    d.screenshot("protect-05-decoy");
    d.click("#lock-button");
    d.wait("#unlock-passphrase");

    eprintln!("{:>5.1?} decoy", began.elapsed());
    scenario.step("the real passphrase opens the real vault");
    // The real passphrase: the real case, not the decoy's.
    unlock(d, PASS);
    d.wait_until("the real case", || d.text("#case-list").contains(&marker));
    assert!(!d.text("#case-list").contains(decoy_title));
    assert_eq!(rows(d), 1);
    d.click("#nav-settings");
    d.wait_until("the duress status", || {
        d.script("return document.querySelector('#duress-status').dataset.action;")
            == json!("decoy")
    });

    eprintln!("{:>5.1?} real again", began.elapsed());
    scenario.step("the screen saver locks (Arabic, edit discarded)");
    // The screen saver starts (session bus): the app locks. In Arabic, with an edit
    // pending, to see the offer in right-to-left; this time it is discarded.
    set_language(d, "ar");
    d.click("#nav-cases");
    d.click("[data-testid=case-open]");
    d.type_into("#case-summary", &format!("{marker} edit to discard"));
    let t0 = Instant::now();
    session.signal(
        "/org/freedesktop/ScreenSaver",
        "org.freedesktop.ScreenSaver.ActiveChanged",
        &["boolean:true"],
    );
    let took = wait_locked(d, t0, &marker);
    eprintln!("locked {took:?} after ScreenSaver.ActiveChanged(true)");
    unlock(d, PASS);
    d.wait("#confirm-dialog[data-purpose=draft]");
    d.screenshot("protect-06-draft-offer-arabic");
    d.click("#confirm-cancel");
    d.wait_until("the dialog to close", || d.gone("#confirm-dialog"));
    d.click("[data-testid=case-open]");
    d.wait("#case-summary");
    assert_eq!(
        value(d, "#case-summary"),
        json!(format!("{marker} unsaved summary")),
        "the discarded edit came back"
    );
    eprintln!("{:>5.1?} draft discarded", began.elapsed());
    scenario.step("GNOME's screen saver locks, keeping a quick entry");
    // GNOME's screen saver locks too, keeping a quick entry half-typed.
    d.click("#quick-entry");
    d.type_into("#quick-who", &format!("{marker} Samira"));
    session.signal(
        "/org/gnome/ScreenSaver",
        "org.gnome.ScreenSaver.ActiveChanged",
        &["boolean:true"],
    );
    wait_locked(d, Instant::now(), &marker);
    unlock(d, PASS);
    d.wait("#confirm-dialog[data-purpose=draft]");
    d.click("#confirm-ok");
    d.wait("#screen-quick");
    assert_eq!(value(d, "#quick-who"), json!(format!("{marker} Samira")));
    scenario.step("logind's session lock");
    // And logind's session lock.
    let t0 = Instant::now();
    system.signal(
        "/org/freedesktop/login1/session/_32",
        "org.freedesktop.login1.Session.Lock",
        &[],
    );
    let took = wait_locked(d, t0, &marker);
    eprintln!("locked {took:?} after login1.Session.Lock");

    eprintln!("{:>5.1?} other signals", began.elapsed());
    scenario.step("the panic wipe dialog dismissed does nothing");
    // The panic wipe's dialog on the unlock screen, in Arabic: dismissed, nothing happens.
    d.click("#unlock-wipe");
    d.wait("#confirm-dialog[data-purpose=wipe]");
    assert!(!d.enabled("#confirm-ok"), "one click could wipe");
    d.screenshot("protect-07-wipe-dialog-arabic");
    d.click("#confirm-cancel");
    assert!(app.vault.join("vault.json").exists());
    scenario.step("the kept quick entry discarded");
    // The quick entry, kept again at that lock, is discarded this time.
    unlock(d, PASS);
    d.wait("#confirm-dialog[data-purpose=draft]");
    d.click("#confirm-cancel");
    d.wait_until("the dialog to close", || d.gone("#confirm-dialog"));
    d.click("#nav-settings");
    d.wait("#wipe-card");
    d.script("document.querySelector('#duress-card').scrollIntoView();");
    d.screenshot("protect-08-settings-arabic");
    // The key backup in Arabic: one share in the page at a time.
    d.type_into("#backup-shares", "3");
    d.type_into("#backup-threshold", "2");
    d.script("document.querySelector('#backup-make').click();");
    d.wait("[data-testid=share-card]");
    d.script("document.querySelector('#backup-next').click();");
    d.wait_until("the second share", || {
        d.text("[data-testid=share-card] h3").contains('2')
            || d.text("[data-testid=share-card] h3").contains('٢')
    });
    assert_eq!(
        d.script("return document.querySelectorAll('[data-testid=share-card]').length;"),
        json!(1)
    );
    d.script("document.querySelector('[data-testid=share-card]').scrollIntoView();");
    d.screenshot("protect-08a-key-backup-arabic");
    d.script("document.querySelector('#backup-hide').click();");
    // By its label (WebKitWebDriver calls the right-to-left checkbox not interactable).
    d.click("label[for=wipe-after-enabled]");
    d.wait("#wipe-after-warning");
    d.script("document.querySelector('#wipe-after').scrollIntoView();");
    d.screenshot("protect-08b-wipe-after-arabic");
    d.script("document.querySelector('#wipe-card').scrollIntoView();");
    d.screenshot("protect-08c-wipe-card-arabic");
    set_language(d, "en");

    eprintln!("{:>5.1?} arabic dialogs", began.elapsed());
    scenario.step("wipe after 3 failed unlocks: the warning");
    // Wipe after 3 failed unlocks: a warning as soon as it is ticked, and once more.
    d.wait("#wipe-after-enabled");
    assert!(!d
        .script("return !document.querySelector('#wipe-after-warning').hidden;")
        .as_bool()
        .unwrap());
    d.click("label[for=wipe-after-enabled]");
    d.wait("#wipe-after-warning");
    assert!(d.text("#wipe-after-warning").contains("cannot be undone"));
    d.type_into("#wipe-after-count", "3");
    d.script("document.querySelector('#wipe-after').scrollIntoView();");
    d.screenshot("protect-09-wipe-after-warning");
    d.click("#settings-save");
    d.wait("#confirm-dialog[data-purpose=wipe-after]");
    d.click("#confirm-ok");
    d.wait_until("the settings saved", || {
        d.text("#settings-status") == "Settings saved."
    });
    let settings_file = app.config.join("settings.json");
    let settings =
        || -> Value { serde_json::from_slice(&std::fs::read(&settings_file).unwrap()).unwrap() };
    assert_eq!(settings()["wipeAfterFailures"], json!(3));

    eprintln!("{:>5.1?} wipe-after set", began.elapsed());
    scenario.step("three wrong passphrases wipe the vault");
    // Three wrong passphrases: the first two are counted (in settings.json, so a restart
    // does not reset them) and the screen warns; the third wipes.
    let key = device_key(&app.vault);
    assert!(key.exists());
    d.click("#lock-button");
    let first = try_unlock(d, "not the passphrase");
    assert!(d.text("#unlock-wipe-warning").contains("2 more"));
    let second = try_unlock(d, "still not the passphrase");
    eprintln!("wrong passphrases answered in {first:?}, {second:?}");
    assert_eq!(settings()["failedUnlocks"], json!(2));
    assert!(d.text("#unlock-wipe-warning").contains("One more"));
    d.screenshot("protect-10-last-attempt");
    d.type_into("#unlock-passphrase", "and not this one");
    let t0 = Instant::now();
    d.click("#unlock-submit");
    d.wait("#wipe-result");
    eprintln!(
        "third wrong passphrase: wiped, first-run screen after {:?}",
        t0.elapsed()
    );
    assert!(d.text("#wipe-result").contains("3 wrong passphrases"));
    assert!(!app.vault.exists(), "the vault folder is still there");
    assert!(!key.exists(), "the device key is still there");
    assert_eq!(settings().get("failedUnlocks"), None);
    d.screenshot("protect-11-wiped-after-failures");

    eprintln!("{:>5.1?} wiped after failures", began.elapsed());
    scenario.step("the panic wipe from Settings");
    // A new vault; the panic wipe from Settings. The first step alone does nothing.
    create_vault(d);
    d.click("#duress-skip");
    d.wait_until("the duress offer to go", || d.gone("#duress-card"));
    let key = device_key(&app.vault);
    d.click("#nav-settings");
    d.click("#wipe-vault");
    d.wait("#confirm-dialog[data-purpose=wipe]");
    d.click("#confirm-cancel");
    d.wait_until("the dialog to close", || d.gone("#confirm-dialog"));
    assert!(app.vault.join("vault.json").exists() && key.exists());
    d.click("#wipe-vault");
    d.wait("#confirm-dialog[data-purpose=wipe]");
    d.type_into("#confirm-word", "erase it");
    assert!(!d.enabled("#confirm-ok"), "a wrong word enables the wipe");
    d.script("document.querySelector('#confirm-ok').click();");
    std::thread::sleep(Duration::from_millis(300));
    assert!(app.vault.join("vault.json").exists());
    d.type_into("#confirm-word", "ERASE");
    d.wait_until("the wipe button to enable", || d.enabled("#confirm-ok"));
    let t0 = Instant::now();
    d.click("#confirm-ok");
    d.wait("#wipe-result");
    eprintln!(
        "panic wipe: first-run screen {:?} after the click; {}",
        t0.elapsed(),
        d.text("#wipe-result")
    );
    assert!(d.text("#wipe-result").contains(" ms"));
    assert!(!app.vault.exists() && !key.exists());
    d.screenshot("protect-12-wiped");

    drop(scenario);
    app.stop();
    eprintln!("the whole test took {:?}", began.elapsed());
}

/// The page's timers stop (a hung script, a throttled or frozen web process): the
/// backend locks all the same once the idle minutes have passed, and nothing decrypted
/// stays reachable. And neither the app nor its web processes can write a core dump.
#[test]
fn the_backend_locks_when_the_pages_timers_stop_and_no_process_dumps_core() {
    // A vault that locks after one idle minute.
    let mut app = App::start_with(|dir| {
        let config = dir.parent().unwrap().join("config");
        std::fs::create_dir_all(&config).unwrap();
        std::fs::write(
            config.join("settings.json"),
            r#"{"language": "en", "autoLockMinutes": 1}"#,
        )
        .unwrap();
    });
    let d = &app.d;
    let scenario = d.scenario("a vault is made; the app's processes cannot dump core");
    create_vault(d);
    let processes = app.processes();
    assert!(
        processes.len() >= 2,
        "the app and its web process: {processes:?}"
    );
    for (pid, name) in &processes {
        assert_eq!(
            custos_test_support::core_limit(*pid),
            ("0".to_owned(), "0".to_owned()),
            "{name} may write a core dump"
        );
    }
    // Where the system lets it (CAP_IPC_LOCK, as in CI), the app's own memory is locked
    // out of swap.
    let (app_pid, _) = processes[0];
    if custos_test_support::can_lock_memory() {
        let locked = support::memory_kib(app_pid, "VmLck");
        assert!(
            locked > 0,
            "the app's memory is not locked: VmLck {locked} kB"
        );
    }

    scenario.step("the page's timers stop; the backend locks after the idle minute");
    d.click("#nav-settings");
    d.wait("#screen-settings");
    // Every timer the page has is cleared, and no new one can start: the page's own
    // idle check never runs again.
    d.script(
        "const last = setTimeout(() => {}, 0); \
         for (let i = 0; i <= last + 1000; i++) { clearTimeout(i); clearInterval(i); } \
         window.setTimeout = () => 0; window.setInterval = () => 0; return null;",
    );
    let stopped = Instant::now();
    let state = || {
        d.script(
            "return window.__TAURI__.core.invoke('list_records', {}).then(() => 'open', (e) => e.kind);",
        )
    };
    // Not before the idle minute: the lock below is the auto-lock, nothing else.
    std::thread::sleep(Duration::from_secs(50));
    assert_eq!(state(), json!("open"), "locked before the idle minute");
    let deadline = stopped + Duration::from_secs(120);
    while state() != json!("locked") {
        assert!(
            Instant::now() < deadline,
            "the vault was still open {:?} after the page's timers stopped",
            stopped.elapsed()
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    let took = stopped.elapsed();
    assert!(took >= Duration::from_secs(60), "locked after {took:?}");
    d.wait("#unlock-passphrase");
    d.screenshot("protect-20-auto-locked-by-the-backend");
    drop(scenario);
    app.stop();
}
