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

use base64::Engine;
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

fn start_xvfb() -> (Proc, String) {
    for n in 90..140 {
        if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
            continue;
        }
        let display = format!(":{n}");
        let child = Command::new(find_tool("Xvfb"))
            .args([&display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
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
}

fn call(method: &str, url: &str, body: Option<Value>) -> Value {
    call_within(method, url, body, Duration::from_secs(60))
}

fn call_within(method: &str, url: &str, body: Option<Value>, limit: Duration) -> Value {
    let req = ureq::request(method, url).timeout(limit);
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
        let id = self.wait(css);
        let _ = call(
            "POST",
            &self.url(&format!("/element/{id}/clear")),
            Some(json!({})),
        );
        let r = call(
            "POST",
            &self.url(&format!("/element/{id}/value")),
            Some(json!({ "text": text })),
        );
        assert!(r.get("error").is_none(), "typing into {css}: {r}");
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

    fn screenshot(&self, name: &str) {
        // Screenshots are for people to look at; one that does not come back in time is
        // reported, not waited for.
        let r = call_within(
            "GET",
            &self.url("/screenshot"),
            None,
            Duration::from_secs(15),
        );
        if r.get("error").is_some() {
            eprintln!("screenshot {name} failed: {r}");
        }
        if let Some(b64) = r["value"].as_str() {
            if let Ok(png) = base64::engine::general_purpose::STANDARD.decode(b64) {
                let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
                let _ = std::fs::create_dir_all(&dir);
                let _ = std::fs::write(dir.join(format!("{name}.png")), png);
            }
        }
    }
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

#[test]
fn the_real_window_creates_a_vault_saves_a_case_locks_and_leaks_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let vault = tmp.path().join("vault");
    let config = tmp.path().join("config");
    std::fs::create_dir_all(&home).unwrap();
    let marker = format!("CANARY{}", std::process::id());

    let (_xvfb, display) = start_xvfb();
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
        .env("CUSTOS_VAULT_DIR", &vault)
        .env("CUSTOS_CONFIG_DIR", &config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tauri-driver starts");
    let _driver = Proc(driver);
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
    let d = Driver { base, session };

    // First run: create the vault. The button waits for a strong, matching passphrase.
    d.wait("#create-passphrase");
    eprintln!("first screen after {:?}", started.elapsed());
    d.screenshot("01-create");
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

    // A new case: an empty title is refused next to the field, then saved.
    d.click("#new-case");
    d.click("#case-save");
    d.wait_until("the title error", || {
        !d.text("#field-error-title").is_empty()
    });
    d.type_into("#case-title", &format!("{marker} arrest at checkpoint"));
    d.type_into("#case-summary", &format!("{marker} summary"));
    d.click("#case-save");
    d.wait_until("the case to be saved", || vault.join("db").exists());
    d.click("#nav-cases");
    d.wait_until("the case in the list", || {
        d.text("#case-list").contains(&marker)
    });
    d.screenshot("02-cases");

    // Nothing in the webview's own storage.
    let storage = d.script("return [localStorage.length, sessionStorage.length, document.cookie];");
    assert_eq!(storage, json!([0, 0, ""]), "webview storage used");

    // Arabic switches the whole layout to right-to-left.
    d.click("#nav-settings");
    d.click("#language option[value=ar]");
    d.click("#settings-save");
    d.wait_until("right-to-left", || {
        d.script("return document.documentElement.dir;") == json!("rtl")
    });
    d.click("#nav-cases");
    d.wait_until("the case list in Arabic", || {
        d.text("#case-list").contains(&marker)
    });

    // Lock: the screen no longer shows the case. A wrong passphrase is refused clearly.
    d.click("#lock-button");
    d.wait("#unlock-passphrase");
    assert!(
        !d.source().contains(&marker),
        "case text still on screen after lock"
    );
    d.type_into("#unlock-passphrase", "not the right passphrase at all");
    d.click("#unlock-submit");
    d.wait_until("the wrong-passphrase message", || {
        !d.text("#unlock-error").is_empty()
    });
    d.type_into("#unlock-passphrase", PASS);
    d.click("#unlock-submit");
    d.wait_until("the case after unlocking", || {
        d.text("#case-list").contains(&marker)
    });

    let _ = call("DELETE", &d.url(""), None);
    drop(_driver);

    // Canary scan: the vault folder and everything the webview wrote under HOME.
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
    let scanned: Vec<PathBuf> = files(&vault)
        .into_iter()
        .chain(files(&home))
        .chain(files(&config))
        .collect();
    assert!(files(&vault).len() >= 4, "the vault was not created");
    for f in &scanned {
        let bytes = std::fs::read(f).unwrap_or_default();
        for n in &needles {
            assert!(!contains(&bytes, n), "plaintext found in {}", f.display());
        }
    }
    eprintln!("scanned {} files, no plaintext", scanned.len());
}
