//! The harness for driving the real window: Xvfb, tauri-driver (which drives
//! WebKitWebDriver), a minimal WebDriver client, screenshots read from Xvfb's
//! framebuffer, and a scan of everything the app wrote. Shared by the desktop's window
//! tests (`src-tauri/tests/window*.rs`) and its start-up benchmark
//! (`src-tauri/benches/startup.rs`), behind this crate's `window` feature.
//!
//! Needs `Xvfb`, `WebKitWebDriver` (Debian: xvfb, webkit2gtk-driver) and `tauri-driver`
//! (`cargo install tauri-driver --locked`); `scripts/test` installs them.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The workspace's root folder.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The desktop app's binary: `target/<profile>/custos-desktop`, next to the test or
/// benchmark binary running (`target/<profile>/deps/…`), which cargo builds before it
/// runs the desktop's tests and benchmarks.
pub fn app_exe() -> &'static str {
    static EXE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    EXE.get_or_init(|| {
        let me = std::env::current_exe().expect("the test binary's path");
        let exe = me
            .parent()
            .and_then(|deps| deps.parent())
            .expect("the test binary is in target/<profile>/deps")
            .join("custos-desktop");
        assert!(
            exe.is_file(),
            "{} is missing: run the desktop's tests with cargo test -p custos-desktop",
            exe.display()
        );
        exe.display().to_string()
    })
}

/// A child process stopped when dropped: asked to end (SIGTERM, so Xvfb removes its
/// socket and lock file, and tauri-driver its children), killed if it does not.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let asked = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let deadline = Instant::now() + Duration::from_secs(3);
        while asked && Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub use crate::find_tool;

/// Starts Xvfb on a display it picks itself (`-displayfd`: no race with other X
/// servers, stale lock files reclaimed), its framebuffer kept as an XWD file in `fbdir`
/// (screenshots are read from there: what the screen really shows).
pub fn start_xvfb(fbdir: &Path) -> (Proc, String) {
    use std::io::BufRead;
    let mut child = Command::new(find_tool("Xvfb"))
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "1280x800x24",
            "-nolisten",
            "tcp",
        ])
        .arg("-fbdir")
        .arg(fbdir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb starts");
    let stdout = child.stdout.take().expect("Xvfb's stdout");
    let proc = Proc(child);
    // Xvfb writes the display number once it accepts connections.
    let mut line = String::new();
    let _ = std::io::BufReader::new(stdout).read_line(&mut line);
    match line.trim().parse::<u32>() {
        Ok(n) => (proc, format!(":{n}")),
        Err(_) => panic!("Xvfb did not start (it said {line:?})"),
    }
}

/// A minimal WebDriver client.
pub struct Driver {
    pub base: String,
    pub session: String,
    /// Xvfb's framebuffer file.
    pub framebuffer: PathBuf,
}

pub fn call(method: &str, url: &str, body: Option<Value>) -> Value {
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

/// A window scenario's current step: when the scenario fails, the step's name is
/// printed beside the failure and a screenshot of the window at that moment is kept
/// (`target/screenshots/failed-<step>.png`), so that the report says what broke.
pub struct Scenario<'a> {
    driver: &'a Driver,
    step: std::cell::Cell<&'static str>,
}

impl Scenario<'_> {
    /// The scenario is now at step `name`.
    pub fn step(&self, name: &'static str) {
        self.step.set(name);
    }
}

impl Drop for Scenario<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let name = self.step.get();
            eprintln!("window scenario failed in step: {name}");
            let file: String = name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_lowercase()
                    } else {
                        '-'
                    }
                })
                .collect();
            self.driver.screenshot(&format!("failed-{file}"));
        }
    }
}

impl Driver {
    /// A scenario on this window, at its first step `name`.
    pub fn scenario(&self, name: &'static str) -> Scenario<'_> {
        Scenario {
            driver: self,
            step: std::cell::Cell::new(name),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/session/{}{}", self.base, self.session, path)
    }

    pub fn find(&self, css: &str) -> Option<String> {
        let r = call(
            "POST",
            &self.url("/element"),
            Some(json!({ "using": "css selector", "value": css })),
        );
        r["value"][ELEMENT].as_str().map(str::to_owned)
    }

    pub fn wait(&self, css: &str) -> String {
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
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn wait_until(&self, what: &str, mut f: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !f() {
            if Instant::now() > deadline {
                self.screenshot("timeout");
                panic!("timed out waiting for {what}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn type_into(&self, css: &str, text: &str) {
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

    pub fn click(&self, css: &str) {
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

    pub fn enabled(&self, css: &str) -> bool {
        let id = self.wait(css);
        call("GET", &self.url(&format!("/element/{id}/enabled")), None)["value"] == json!(true)
    }

    pub fn text(&self, css: &str) -> String {
        let id = self.wait(css);
        call("GET", &self.url(&format!("/element/{id}/text")), None)["value"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub fn source(&self) -> String {
        call("GET", &self.url("/source"), None)["value"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub fn script(&self, js: &str) -> Value {
        call(
            "POST",
            &self.url("/execute/sync"),
            Some(json!({ "script": js, "args": [] })),
        )["value"]
            .clone()
    }

    /// Sets a control's value as typing or picking would (date inputs, selects: a
    /// native date picker or a GTK popup menu is not something WebDriver can drive).
    pub fn set_value(&self, css: &str, value: &str) {
        self.wait(css);
        let r = self.script(&format!(
            "const el = document.querySelector({css:?}); el.value = {value:?}; \
             el.dispatchEvent(new Event('input', {{bubbles: true}})); \
             el.dispatchEvent(new Event('change', {{bubbles: true}})); return el.value;"
        ));
        assert_eq!(r, json!(value), "{css} did not take {value:?}");
    }

    /// Sends keys (WebDriver key codes allowed) to an element.
    pub fn keys(&self, css: &str, text: &str) {
        let id = self.wait(css);
        let r = call(
            "POST",
            &self.url(&format!("/element/{id}/value")),
            Some(json!({ "text": text })),
        );
        assert!(r.get("error").is_none(), "keys to {css}: {r}");
    }

    /// Resizes the window (outer size, in CSS pixels).
    pub fn set_size(&self, width: u32, height: u32) {
        let r = call(
            "POST",
            &self.url("/window/rect"),
            Some(json!({ "width": width, "height": height })),
        );
        assert!(r.get("error").is_none(), "resizing the window: {r}");
    }

    /// How many CSS pixels the page is wider than the window (0: no sideways scroll).
    pub fn overflow_x(&self) -> i64 {
        self.script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
        )
        .as_i64()
        .unwrap_or(i64::MAX)
    }

    pub fn gone(&self, css: &str) -> bool {
        self.script(&format!("return !document.querySelector({css:?});")) == json!(true)
    }

    pub fn checked(&self, css: &str) -> usize {
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
    pub fn screenshot(&self, name: &str) {
        std::thread::sleep(Duration::from_millis(300));
        let dir = workspace_root().join("target/screenshots");
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
pub fn xwd_to_png(xwd: &[u8]) -> Result<Vec<u8>, String> {
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

/// One line of a process's memory figures in KiB (`VmRSS`, `RssAnon`, `RssFile` …
/// from /proc/PID/status), 0 when it is gone.
pub fn memory_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Asks the app's window to close the way a window manager does when the user clicks
/// the close button: a WM_DELETE_WINDOW message to each viewable top-level window of
/// process `pid` that accepts it. → how many windows were asked.
pub fn request_close(display: &str, pid: u32) -> Result<usize, String> {
    use std::ffi::CString;
    use std::os::raw::{c_int, c_long, c_uchar, c_uint, c_ulong};
    use x11_dl::xlib;

    let x = xlib::Xlib::open().map_err(|e| e.to_string())?;
    let name = CString::new(display).unwrap();
    // SAFETY: plain Xlib calls on a display this function opens and closes; every
    // pointer Xlib returns is checked for null and freed with XFree.
    unsafe {
        let dpy = (x.XOpenDisplay)(name.as_ptr());
        if dpy.is_null() {
            return Err(format!("cannot open display {display}"));
        }
        let atom = |s: &str| {
            let c = CString::new(s).unwrap();
            (x.XInternAtom)(dpy, c.as_ptr(), 0)
        };
        let (wm_protocols, wm_delete, net_pid) = (
            atom("WM_PROTOCOLS"),
            atom("WM_DELETE_WINDOW"),
            atom("_NET_WM_PID"),
        );
        // The CARDINAL/ATOM values of a window property (longs, as Xlib returns them).
        let property = |w: c_ulong, prop: c_ulong| -> Vec<c_ulong> {
            let (mut kind, mut format, mut n, mut after) = (0, 0 as c_int, 0, 0);
            let mut data: *mut c_uchar = std::ptr::null_mut();
            let ok = (x.XGetWindowProperty)(
                dpy,
                w,
                prop,
                0,
                64,
                0,
                xlib::AnyPropertyType as c_ulong,
                &mut kind,
                &mut format,
                &mut n,
                &mut after,
                &mut data,
            );
            let mut out = Vec::new();
            if ok == xlib::Success as c_int && !data.is_null() {
                if format == 32 {
                    out = std::slice::from_raw_parts(data as *const c_ulong, n as usize).to_vec();
                }
                (x.XFree)(data.cast());
            }
            out
        };
        let mut asked = 0;
        let mut stack = vec![(x.XDefaultRootWindow)(dpy)];
        while let Some(w) = stack.pop() {
            let (mut root, mut parent) = (0, 0);
            let mut children: *mut c_ulong = std::ptr::null_mut();
            let mut count: c_uint = 0;
            if (x.XQueryTree)(dpy, w, &mut root, &mut parent, &mut children, &mut count) != 0
                && !children.is_null()
            {
                stack.extend_from_slice(std::slice::from_raw_parts(children, count as usize));
                (x.XFree)(children.cast());
            }
            let mut attrs: xlib::XWindowAttributes = std::mem::zeroed();
            let viewable = (x.XGetWindowAttributes)(dpy, w, &mut attrs) != 0
                && attrs.map_state == xlib::IsViewable;
            if !viewable
                || property(w, net_pid) != [pid as c_ulong]
                || !property(w, wm_protocols).contains(&wm_delete)
            {
                continue;
            }
            let mut data = xlib::ClientMessageData::new();
            data.set_long(0, wm_delete as c_long);
            data.set_long(1, 0); // CurrentTime
            let mut event = xlib::XEvent {
                client_message: xlib::XClientMessageEvent {
                    type_: xlib::ClientMessage,
                    serial: 0,
                    send_event: 1,
                    display: dpy,
                    window: w,
                    message_type: wm_protocols,
                    format: 32,
                    data,
                },
            };
            if (x.XSendEvent)(dpy, w, 0, 0, &mut event) != 0 {
                asked += 1;
            }
        }
        (x.XFlush)(dpy);
        (x.XCloseDisplay)(dpy);
        Ok(asked)
    }
}

pub fn files(dir: &Path) -> Vec<PathBuf> {
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

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The folder of device keys shared by this test process and the apps it starts, so that
/// the test can open a vault the app created (and the other way round). Set once, before
/// any vault is made; these test binaries run a single test each.
pub fn device_keys() -> &'static Path {
    static KEYS: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        std::env::set_var("CUSTOS_DEVICE_KEYS", dir.path());
        dir
    })
    .path()
}

/// The app under WebDriver, with its own HOME, vault and config folders.
pub struct App {
    _tmp: tempfile::TempDir,
    pub home: PathBuf,
    pub vault: PathBuf,
    pub config: PathBuf,
    _xvfb: Proc,
    /// The X display the app runs on.
    pub display: String,
    driver: Option<Proc>,
    pub d: Driver,
    /// When the session (and so the app) was asked to start.
    pub started: Instant,
}

impl App {
    /// Starts Xvfb, tauri-driver and the app (a first run: no vault yet).
    pub fn start() -> App {
        App::start_with(|_| {})
    }

    /// Like `start`, with `prepare(vault_dir)` run before the app is launched (to give
    /// it an existing vault).
    pub fn start_with(prepare: impl FnOnce(&Path)) -> App {
        App::start_with_env(prepare, &[])
    }

    /// Like `start`, with more environment for the app (`DBUS_SESSION_BUS_ADDRESS` …).
    pub fn start_env(env: &[(&str, &str)]) -> App {
        App::start_with_env(|_| {}, env)
    }

    fn start_with_env(prepare: impl FnOnce(&Path), env: &[(&str, &str)]) -> App {
        let keys = device_keys();
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
            .env("CUSTOS_DEVICE_KEYS", keys)
            .envs(env.iter().copied())
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
        prepare(&vault);
        let started = Instant::now();
        let session = call(
            "POST",
            &format!("{base}/session"),
            Some(json!({ "capabilities": { "alwaysMatch": {
                "tauri:options": { "application": app_exe() }
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
            display: display.clone(),
            driver: Some(driver),
            d: Driver {
                base,
                session,
                framebuffer: fbdir.join("Xvfb_screen0"),
            },
            started,
        }
    }

    /// The app's processes: its own, then its WebKit helpers (web content, network),
    /// as (pid, name).
    pub fn processes(&self) -> Vec<(u32, String)> {
        let exe = std::fs::canonicalize(app_exe()).unwrap();
        let wanted = format!("CUSTOS_VAULT_DIR={}", self.vault.display());
        let pids: Vec<u32> = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect();
        let Some(app) = pids.iter().copied().find(|pid| {
            std::fs::read_link(format!("/proc/{pid}/exe")).ok().as_ref() == Some(&exe)
                && std::fs::read(format!("/proc/{pid}/environ"))
                    .map(|env| env.split(|b| *b == 0).any(|v| v == wanted.as_bytes()))
                    .unwrap_or(false)
        }) else {
            return Vec::new();
        };
        let mut out = vec![(app, "custos-desktop".to_owned())];
        for pid in pids {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // pid (comm) state ppid …: the name may hold spaces, so split after ')'.
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                continue;
            };
            let ppid: Option<u32> = stat[close + 1..]
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.parse().ok());
            if ppid == Some(app) {
                out.push((pid, stat[open + 1..close].to_owned()));
            }
        }
        out
    }

    /// Ends the session and the driver (the app with them).
    pub fn stop(&mut self) {
        let _ = call("DELETE", &self.d.url(""), None);
        self.driver.take();
    }

    /// Fails if a marker is in any file of the vault, the config folder, or anything the
    /// webview wrote under HOME (UTF-8 and UTF-16 both ways).
    pub fn scan_for(&self, marker: &str) -> usize {
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

/// The configuration of a test bus: one socket, no service activation, no restrictions.
const BUS_CONFIG: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=SOCKET</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#;

/// A private D-Bus daemon (Debian: dbus) standing in for the session or the system bus:
/// no services to start, everyone may send and listen.
pub struct Bus {
    _daemon: Proc,
    /// The address to give as `DBUS_SESSION_BUS_ADDRESS` or `DBUS_SYSTEM_BUS_ADDRESS`.
    pub address: String,
}

impl Bus {
    /// Starts a bus listening on a socket in `dir`, named after `name`.
    pub fn start(dir: &Path, name: &str) -> Bus {
        use std::io::BufRead;
        let config = dir.join(format!("{name}.conf"));
        let socket = dir.join(format!("{name}.sock"));
        let text = BUS_CONFIG.replace("SOCKET", &socket.display().to_string());
        std::fs::write(&config, text).unwrap();
        let mut child = Command::new(find_tool("dbus-daemon"))
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon starts");
        let stdout = child.stdout.take().unwrap();
        let daemon = Proc(child);
        let mut address = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut address);
        let address = address.trim().to_owned();
        assert!(
            address.starts_with("unix:"),
            "dbus-daemon did not start: {address:?}"
        );
        Bus {
            _daemon: daemon,
            address,
        }
    }

    /// Sends a signal as logind or a screen saver would (`member` is
    /// `interface.Member`; `args` as dbus-send takes them, `boolean:true`).
    pub fn signal(&self, path: &str, member: &str, args: &[&str]) {
        let status = Command::new(find_tool("dbus-send"))
            .arg(format!("--bus={}", self.address))
            .args(["--type=signal", path, member])
            .args(args)
            .status()
            .expect("dbus-send runs");
        assert!(status.success(), "dbus-send {member} failed");
    }
}

/// A real `custos-hub` serving a temporary data folder on a free local port.
pub struct Hub {
    _tmp: tempfile::TempDir,
    /// Its data folder (ciphertext only: the scan looks here).
    pub data: PathBuf,
    /// Where it listens, `127.0.0.1:PORT`.
    pub addr: String,
    /// Its TLS key's pin, `sha256:…`.
    pub pin: String,
    exe: PathBuf,
    serve: Option<Proc>,
}

impl Hub {
    /// The `custos-hub` binary next to this test's (target/debug), built once if absent.
    pub fn exe() -> PathBuf {
        let me = std::env::current_exe().unwrap();
        let debug = me
            .parent()
            .and_then(|deps| deps.parent())
            .expect("the test binary is in target/<profile>/deps");
        let exe = debug.join("custos-hub");
        if !exe.is_file() {
            let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .args(["build", "-p", "custos-hub"])
                .current_dir(workspace_root())
                .status()
                .expect("cargo runs");
            assert!(status.success(), "cargo build -p custos-hub failed");
        }
        assert!(exe.is_file(), "{} is missing", exe.display());
        exe
    }

    /// Starts `custos-hub serve` and reads its address and pin from what it prints.
    pub fn start() -> Hub {
        use std::io::BufRead;
        let exe = Hub::exe();
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("hub");
        let mut child = Command::new(&exe)
            .arg("serve")
            .arg("--data")
            .arg(&data)
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("custos-hub starts");
        let stdout = child.stdout.take().unwrap();
        let serve = Proc(child);
        let mut lines = std::io::BufReader::new(stdout);
        let (mut addr, mut pin) = (None, None);
        while addr.is_none() || pin.is_none() {
            let mut line = String::new();
            if lines.read_line(&mut line).unwrap_or(0) == 0 {
                panic!("custos-hub serve ended before saying where it listens");
            }
            if let Some(a) = line.trim().strip_prefix("listening on ") {
                addr = Some(a.to_owned());
            } else if let Some(p) = line.trim().strip_prefix("pin ") {
                pin = Some(p.to_owned());
            }
        }
        // Whatever else it prints is read, so that it never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = lines.read_to_end(&mut sink);
        });
        Hub {
            _tmp: tmp,
            data,
            addr: addr.unwrap(),
            pin: pin.unwrap(),
            exe,
            serve: Some(serve),
        }
    }

    /// Stops the hub (its data folder stays until the `Hub` is dropped).
    pub fn stop(&mut self) {
        self.serve.take();
    }

    /// Runs an admin command (`invite --role field`, `coordinators add age1…`) against
    /// the running hub; → what it printed, trimmed.
    pub fn admin(&self, args: &[&str]) -> String {
        let out = Command::new(&self.exe)
            .arg("--data")
            .arg(&self.data)
            .args(args)
            .output()
            .expect("custos-hub runs");
        assert!(
            out.status.success(),
            "custos-hub {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }
}

/// Fails if a marker (UTF-8) is in any file under `dir`. → how many files were read.
pub fn assert_absent(dir: &Path, marker: &str) -> usize {
    let all = files(dir);
    for f in &all {
        let bytes = std::fs::read(f).unwrap_or_default();
        assert!(
            !contains(&bytes, marker.as_bytes()),
            "plaintext found in {}",
            f.display()
        );
    }
    all.len()
}
