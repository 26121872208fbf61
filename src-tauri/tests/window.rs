//! The real window: the built app in a real WebKitGTK webview under Xvfb, driven over
//! WebDriver by tauri-driver (which drives WebKitWebDriver). Nothing is mocked: the app
//! creates a real vault with the calibrated KDF in a temporary folder.
//!
//! Needs `Xvfb`, `WebKitWebDriver` (Debian: xvfb, webkit2gtk-driver) and `tauri-driver`
//! (`cargo install tauri-driver --locked`); `scripts/test` installs them. Screenshots go
//! to `target/screenshots/`.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const PASS: &str = "lantern orchard velvet quarry 1987 sparrow";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn find_tool(name: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".cargo/bin"));
    }
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} is not installed (scripts/test installs it)"))
}

/// Starts Xvfb on a free display, its framebuffer kept as an XWD file in `fbdir`
/// (screenshots are read from there: what the screen really shows).
fn start_xvfb(fbdir: &Path) -> (Proc, String) {
    for n in 90..140 {
        if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
            continue;
        }
        let display = format!(":{n}");
        let child = Command::new(find_tool("Xvfb"))
            .args([&display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
            .arg("-fbdir")
            .arg(fbdir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb starts");
        let mut proc = Proc(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
                return (proc, display);
            }
            if let Ok(Some(_)) = proc.0.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("no X display could be started");
}

/// A minimal WebDriver client.
struct Driver {
    base: String,
    session: String,
    /// Xvfb's framebuffer file.
    framebuffer: PathBuf,
}

fn call(method: &str, url: &str, body: Option<Value>) -> Value {
    let req = ureq::request(method, url).timeout(Duration::from_secs(60));
    let resp = match body {
        Some(b) => req.send_json(b),
        None => req.call(),
    };
    match resp {
        Ok(r) => r.into_json().unwrap(),
        Err(ureq::Error::Status(code, r)) => {
            let mut text = String::new();
            let _ = r.into_reader().read_to_string(&mut text);
            json!({ "error": code, "value": serde_json::from_str::<Value>(&text).unwrap_or(json!(text)) })
        }
        Err(e) => json!({ "error": 0, "value": e.to_string() }),
    }
}

impl Driver {
    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{}", self.base, self.session, path)
    }

    fn find(&self, css: &str) -> Option<String> {
        let r = call(
            "POST",
            &self.url("/element"),
            Some(json!({ "using": "css selector", "value": css })),
        );
        r["value"][ELEMENT].as_str().map(str::to_owned)
    }

    fn wait(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(id) = self.find(css) {
                let shown = call("GET", &self.url(&format!("/element/{id}/displayed")), None);
                if shown["value"] == json!(true) {
                    return id;
                }
            }
            if Instant::now() > deadline {
                self.screenshot("timeout");
                panic!("{css} did not appear; page:\n{}", self.source());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_until(&self, what: &str, mut f: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !f() {
            if Instant::now() > deadline {
                self.screenshot("timeout");
                panic!("timed out waiting for {what}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn type_into(&self, css: &str, text: &str) {
        let value = || self.script(&format!("return document.querySelector({css:?}).value;"));
        // WebDriver's clear is not always honoured by WebKitWebDriver: check it, and
        // fall back to selecting everything and deleting it, as a user would.
        for _ in 0..5 {
            let id = self.wait(css);
            let _ = call(
                "POST",
                &self.url(&format!("/element/{id}/clear")),
                Some(json!({})),
            );
            if value() == json!("") {
                break;
            }
            self.keys(css, "\u{E009}a\u{E000}\u{E003}");
        }
        assert_eq!(value(), json!(""), "{css} could not be cleared");
        self.keys(css, text);
        self.wait_until(&format!("{css} to hold what was typed"), || {
            value() == json!(text)
        });
    }

    fn click(&self, css: &str) {
        // A screen that re-renders (a language switch) replaces its elements: find the
        // element again when the one found has gone stale.
        for _ in 0..20 {
            let id = self.wait(css);
            let r = call(
                "POST",
                &self.url(&format!("/element/{id}/click")),
                Some(json!({})),
            );
            match r["value"]["value"]["error"].as_str() {
                None if r.get("error").is_none() => return,
                Some("stale element reference") => std::thread::sleep(Duration::from_millis(100)),
                // WebKitWebDriver scrolls an element just into view, where the sticky
                // header can cover it: bring it to the middle and click again.
                Some("element click intercepted") => {
                    self.script(&format!(
                        "document.querySelector({css:?}).scrollIntoView({{block: 'center'}});"
                    ));
                }
                _ => panic!("clicking {css}: {r}"),
            }
        }
        panic!("{css} kept going stale");
    }

    fn enabled(&self, css: &str) -> bool {
        let id = self.wait(css);
        call("GET", &self.url(&format!("/element/{id}/enabled")), None)["value"] == json!(true)
    }

    fn text(&self, css: &str) -> String {
        let id = self.wait(css);
        call("GET", &self.url(&format!("/element/{id}/text")), None)["value"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn source(&self) -> String {
        call("GET", &self.url("/source"), None)["value"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn script(&self, js: &str) -> Value {
        call(
            "POST",
            &self.url("/execute/sync"),
            Some(json!({ "script": js, "args": [] })),
        )["value"]
            .clone()
    }

    /// Sets a control's value as typing or picking would (date inputs, selects: a
    /// native date picker or a GTK popup menu is not something WebDriver can drive).
    fn set_value(&self, css: &str, value: &str) {
        self.wait(css);
        let r = self.script(&format!(
            "const el = document.querySelector({css:?}); el.value = {value:?}; \
             el.dispatchEvent(new Event('input', {{bubbles: true}})); \
             el.dispatchEvent(new Event('change', {{bubbles: true}})); return el.value;"
        ));
        assert_eq!(r, json!(value), "{css} did not take {value:?}");
    }

    /// Sends keys (WebDriver key codes allowed) to an element.
    fn keys(&self, css: &str, text: &str) {
        let id = self.wait(css);
        let r = call(
            "POST",
            &self.url(&format!("/element/{id}/value")),
            Some(json!({ "text": text })),
        );
        assert!(r.get("error").is_none(), "keys to {css}: {r}");
    }

    fn gone(&self, css: &str) -> bool {
        self.script(&format!("return !document.querySelector({css:?});")) == json!(true)
    }

    fn checked(&self, css: &str) -> usize {
        self.script(&format!(
            "return document.querySelectorAll({:?}).length;",
            format!("{css}:checked")
        ))
        .as_u64()
        .unwrap_or(0) as usize
    }

    /// Saves what the screen shows as `target/screenshots/<name>.png`. Read from Xvfb's
    /// framebuffer: WebKitWebDriver's own screenshot command can wait forever for a
    /// repaint that an idle page never makes.
    fn screenshot(&self, name: &str) {
        std::thread::sleep(Duration::from_millis(300));
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
        let _ = std::fs::create_dir_all(&dir);
        match std::fs::read(&self.framebuffer)
            .map_err(|e| e.to_string())
            .and_then(|xwd| xwd_to_png(&xwd))
        {
            Ok(png) => {
                let _ = std::fs::write(dir.join(format!("{name}.png")), png);
            }
            Err(e) => eprintln!("screenshot {name} failed: {e}"),
        }
    }
}

/// Turns an XWD image (Xvfb's framebuffer file: 24-bit TrueColor, 32 bits per pixel)
/// into a PNG.
fn xwd_to_png(xwd: &[u8]) -> Result<Vec<u8>, String> {
    let word = |i: usize, big: bool| -> Result<u32, String> {
        let b: [u8; 4] = xwd
            .get(i * 4..i * 4 + 4)
            .ok_or("short XWD header")?
            .try_into()
            .unwrap();
        Ok(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    // The header is in the writer's byte order: its version field must read 7.
    let big = word(1, true)? == 7;
    let f = |i| word(i, big);
    let (header, width, height) = (f(0)? as usize, f(4)? as usize, f(5)? as usize);
    let (lsb_first, bpp, stride) = (f(7)? == 0, f(11)?, f(12)? as usize);
    let (masks, ncolors) = ([f(14)?, f(15)?, f(16)?], f(19)? as usize);
    if masks.iter().any(|m| m.count_ones() != 8) {
        return Err(format!("unexpected XWD colour masks {masks:x?}"));
    }
    if bpp != 32 || width == 0 || height == 0 || width > 10_000 || height > 10_000 {
        return Err(format!(
            "unexpected XWD image: {width}x{height}, {bpp} bits"
        ));
    }
    let start = header + ncolors * 12;
    let pixels = xwd
        .get(start..start + stride * height)
        .ok_or("short XWD image")?;
    let mut rgb = Vec::with_capacity(width * height * 3);
    for row in pixels.chunks(stride) {
        for px in row[..width * 4].chunks(4) {
            let b: [u8; 4] = px.try_into().unwrap();
            let p = if lsb_first {
                u32::from_le_bytes(b)
            } else {
                u32::from_be_bytes(b)
            };
            for m in masks {
                rgb.push(((p & m) >> m.trailing_zeros()) as u8);
            }
        }
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, width as u32, height as u32);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().map_err(|e| e.to_string())?;
    w.write_image_data(&rgb).map_err(|e| e.to_string())?;
    w.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The app under WebDriver, with its own HOME, vault and config folders.
struct App {
    _tmp: tempfile::TempDir,
    home: PathBuf,
    vault: PathBuf,
    config: PathBuf,
    _xvfb: Proc,
    driver: Option<Proc>,
    d: Driver,
    started: Instant,
}

impl App {
    fn start() -> App {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        let vault = tmp.path().join("vault");
        let config = tmp.path().join("config");
        std::fs::create_dir_all(&home).unwrap();
        let fbdir = tmp.path().join("fb");
        std::fs::create_dir_all(&fbdir).unwrap();
        let (xvfb, display) = start_xvfb(&fbdir);
        let port = free_port();
        let native = free_port();
        let driver = Command::new(find_tool("tauri-driver"))
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .env("DISPLAY", &display)
            .env("HOME", &home)
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("WEBKIT_DISABLE_DMABUF_RENDERER", "1")
            .env("NO_AT_BRIDGE", "1")
            .env("LANGUAGE", "en")
            .env("CUSTOS_VAULT_DIR", &vault)
            .env("CUSTOS_CONFIG_DIR", &config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tauri-driver starts");
        let driver = Proc(driver);
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while call("GET", &format!("{base}/status"), None)["value"]["ready"] != json!(true) {
            assert!(Instant::now() < deadline, "tauri-driver never became ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        let started = Instant::now();
        let session = call(
            "POST",
            &format!("{base}/session"),
            Some(json!({ "capabilities": { "alwaysMatch": {
                "tauri:options": { "application": env!("CARGO_BIN_EXE_custos-desktop") }
            }}})),
        );
        let session = session["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {session}"))
            .to_owned();
        App {
            _tmp: tmp,
            home,
            vault,
            config,
            _xvfb: xvfb,
            driver: Some(driver),
            d: Driver {
                base,
                session,
                framebuffer: fbdir.join("Xvfb_screen0"),
            },
            started,
        }
    }

    /// Ends the session and the driver (the app with them).
    fn stop(&mut self) {
        let _ = call("DELETE", &self.d.url(""), None);
        self.driver.take();
    }

    /// Fails if a marker is in any file of the vault, the config folder, or anything the
    /// webview wrote under HOME (UTF-8 and UTF-16 both ways).
    fn scan_for(&self, marker: &str) -> usize {
        let needles = [
            marker.as_bytes().to_vec(),
            marker
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect::<Vec<u8>>(),
            marker
                .encode_utf16()
                .flat_map(u16::to_be_bytes)
                .collect::<Vec<u8>>(),
        ];
        let scanned: Vec<PathBuf> = files(&self.vault)
            .into_iter()
            .chain(files(&self.home))
            .chain(files(&self.config))
            .collect();
        assert!(files(&self.vault).len() >= 4, "the vault was not created");
        for f in &scanned {
            let bytes = std::fs::read(f).unwrap_or_default();
            for n in &needles {
                assert!(!contains(&bytes, n), "plaintext found in {}", f.display());
            }
        }
        scanned.len()
    }
}

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

    // First run.
    d.wait("#create-passphrase");
    eprintln!("first screen after {:?}", app.started.elapsed());
    d.screenshot("01-create");
    create_vault(d);
    d.screenshot("02-cases-empty");

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
    d.screenshot("03-incident-form");
    d.click("#incident-save");
    d.wait("#add-incident");
    d.wait_until("the incident in the list", || {
        d.text("#incident-list").contains("northern checkpoint")
    });
    d.screenshot("04-case");

    // Reopened, the incident still names both persons in their roles.
    d.click("[data-testid=incident-edit]");
    d.wait("#incident-persons");
    assert_eq!(d.checked(&format!("#incident-persons-{v}-victim")), 1);
    assert_eq!(d.checked(&format!("#incident-persons-{w}-witness")), 1);
    assert_eq!(d.checked("#incident-persons input"), 2);
    assert_eq!(d.checked("#incident-act-types input"), 1);
    d.click("#incident-cancel");

    // Unsaved changes: leaving asks, and "keep editing" keeps them.
    d.type_into("#case-summary", &format!("{marker} summary, edited"));
    d.click("#nav-cases");
    d.wait("#confirm-dialog");
    d.screenshot("05-unsaved-guard");
    d.click("#confirm-cancel");
    d.wait_until("the dialog to close", || d.gone("#confirm-dialog"));
    assert!(d.find("#screen-case").is_some(), "left the case anyway");
    // Closing the window asks the same question.
    d.script("window.custosCloseRequested();");
    d.wait("#confirm-dialog");
    assert!(d.text("#confirm-message").contains("close"));
    d.click("#confirm-cancel");
    d.wait_until("the dialog to close", || d.gone("#confirm-dialog"));
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
    d.screenshot("06-history");

    // Quick entry: what, when, where, who — then the case it made.
    d.click("#quick-entry");
    d.set_value("#quick-act", "death_threat");
    d.type_into("#quick-place", "Home");
    d.type_into("#quick-who", &format!("{marker} Self"));
    d.screenshot("07-quick");
    d.click("#quick-submit");
    d.wait("#screen-case");
    d.wait_until("the quick case's incident and person", || {
        d.text("#incident-list").contains("threat") && d.text("#person-list").contains("Self")
    });

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
    d.screenshot("08-cases-filtered");
    d.click("#clear-filters");
    d.wait_until("both cases back", || rows() == 2);

    // Nothing in the webview's own storage.
    let storage = d.script("return [localStorage.length, sessionStorage.length, document.cookie];");
    assert_eq!(storage, json!([0, 0, ""]), "webview storage used");

    // The shortcut locks; the screen no longer shows any case.
    d.keys("#search", "\u{E009}l\u{E000}");
    d.wait("#unlock-passphrase");
    assert!(
        !d.source().contains(&marker),
        "case text still on screen after lock"
    );
    // Wrong passphrases: a clear message, and the third answer comes slower.
    let first = try_unlock(d, "not the right passphrase at all");
    assert!(d.text("#unlock-error").contains("passphrase"));
    d.screenshot("09-unlock-wrong");
    try_unlock(d, "still not the right passphrase");
    let third = try_unlock(d, "and again not the right one");
    assert!(
        third >= first + Duration::from_millis(800),
        "no growing delay: first {first:?}, third {third:?}"
    );
    try_unlock(d, PASS);
    d.wait_until("the cases after unlocking", || {
        d.text("#case-list").contains(&marker)
    });
    d.type_into("#search", "amal");
    d.wait_until("search after unlock", || rows() == 1);

    // Arabic switches the whole layout to right-to-left.
    d.click("#nav-settings");
    d.screenshot("10-settings");
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
    d.screenshot("11-cases-arabic");
    let case = row_id(d, "#case-list", "arrest at checkpoint");
    d.click(&format!(
        "[data-record-id='{case}'] [data-testid=case-open]"
    ));
    d.wait("#incident-list");
    d.screenshot("12-case-arabic");

    app.stop();
    let scanned = app.scan_for(&marker);
    eprintln!("scanned {scanned} files, no plaintext");
}
