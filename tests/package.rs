//! The Linux release as a user gets it: what `scripts/package --test-key` made (the
//! Debian package, SHA256SUMS and its minisign signature, with a throwaway key), checked
//! the two ways a user checks it (`scripts/verify`, and `custos-release`, the app's and
//! the command line's check), tampered with every way an attacker would, then installed
//! with apt on a clean Debian 12 root made here (debootstrap), its two programs run, and
//! the desktop app started under Xvfb to its first screen.
//!
//! Needs `CUSTOS_TEST_PACKAGE`, the folder `scripts/package --test-key --out DIR` wrote
//! (scripts/test makes it), and root (a chroot, mounts in a private mount namespace);
//! without them the tests fail saying so. The Debian root is made once and kept in
//! `target/package/debian12` (each test installs into a copy of it).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use custos_release::{CheckError, ReleaseKey, SIGNATURE, SUMS};
use custos_test_support::release::sha256_hex;
use custos_test_support::window::{start_xvfb, workspace_root, xwd_to_png};

const VERSION: &str = env!("CARGO_PKG_VERSION");

struct Release {
    dir: PathBuf,
    deb: PathBuf,
    public_key: PathBuf,
}

fn release() -> Release {
    let dir = std::env::var_os("CUSTOS_TEST_PACKAGE").map(PathBuf::from).unwrap_or_else(|| {
        panic!(
            "CUSTOS_TEST_PACKAGE is not set: run `scripts/package --test-key --out DIR` and set it to DIR (scripts/test does both)"
        )
    });
    let deb = dir.join(format!("Custos_{VERSION}_amd64.deb"));
    assert!(
        deb.is_file(),
        "{} is missing: run scripts/package --test-key",
        deb.display()
    );
    let public_key = dir.join("test-key/custos-test.pub");
    assert!(public_key.is_file(), "{} is missing", public_key.display());
    Release {
        dir,
        deb,
        public_key,
    }
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("{cmd:?} did not start: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn verify(package: &Path, key: &Path) -> Output {
    run(Command::new(workspace_root().join("scripts/verify"))
        .arg("--key")
        .arg(key)
        .arg(package))
}

/// A copy of the release to tamper with.
fn copy_of(release: &Release) -> tempfile::TempDir {
    let copy = tempfile::tempdir().expect("temp dir");
    for name in [SUMS, SIGNATURE] {
        std::fs::copy(release.dir.join(name), copy.path().join(name)).expect("copy");
    }
    std::fs::copy(
        &release.deb,
        copy.path().join(release.deb.file_name().unwrap()),
    )
    .expect("copy");
    copy
}

fn test_key(release: &Release) -> ReleaseKey {
    let text = std::fs::read_to_string(&release.public_key).expect("the test key");
    ReleaseKey::parse("custos-test", &text).expect("a minisign public key")
}

#[test]
fn the_release_verifies_and_every_tampering_is_refused() {
    let release = release();
    let key = test_key(&release);

    // Genuine: both checks say so.
    let out = verify(&release.deb, &release.public_key);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("VERIFIED: "),
        "{}",
        text(&out.stdout)
    );
    let checked = custos_release::check(&release.deb, std::slice::from_ref(&key), "0.0.1")
        .expect("the package of the release checks");
    assert_eq!(checked.file, format!("Custos_{VERSION}_amd64.deb"));
    assert_eq!(checked.version.as_deref(), Some(VERSION));
    assert!(
        checked
            .comment
            .starts_with(&format!("custos {VERSION} linux-amd64 "))
            && checked.comment.ends_with(" TEST KEY"),
        "{}",
        checked.comment
    );

    let name = release.deb.file_name().unwrap().to_owned();

    // One byte of the package changed.
    let copy = copy_of(&release);
    let deb = copy.path().join(&name);
    let mut bytes = std::fs::read(&deb).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    std::fs::write(&deb, &bytes).unwrap();
    let out = verify(&deb, &release.public_key);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("changed or damaged"),
        "{}",
        text(&out.stderr)
    );
    assert!(matches!(
        custos_release::check(&deb, std::slice::from_ref(&key), VERSION),
        Err(CheckError::Changed { .. })
    ));

    // The package cut short (an interrupted copy to a USB stick).
    let copy = copy_of(&release);
    let deb = copy.path().join(&name);
    let len = std::fs::metadata(&deb).unwrap().len();
    std::fs::File::options()
        .write(true)
        .open(&deb)
        .unwrap()
        .set_len(len / 3)
        .unwrap();
    let out = verify(&deb, &release.public_key);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));

    // A different package with its hash written into the list: the signature fails.
    let copy = copy_of(&release);
    let deb = copy.path().join(&name);
    std::fs::write(&deb, b"#!/bin/sh\necho planted\n").unwrap();
    let forged_hash = sha256_hex(b"#!/bin/sh\necho planted\n");
    let sums = std::fs::read_to_string(copy.path().join(SUMS)).unwrap();
    let genuine_hash = &sums[..64];
    std::fs::write(
        copy.path().join(SUMS),
        sums.replace(genuine_hash, &forged_hash),
    )
    .unwrap();
    let out = verify(&deb, &release.public_key);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("signature does not match"),
        "{}",
        text(&out.stderr)
    );
    assert!(matches!(
        custos_release::check(&deb, std::slice::from_ref(&key), VERSION),
        Err(CheckError::BadSignature)
    ));

    // The same, re-signed with the attacker's own key.
    let attacker = tempfile::tempdir().unwrap();
    let (apub, akey) = (attacker.path().join("a.pub"), attacker.path().join("a.key"));
    let out = run(Command::new("minisign")
        .args(["-G", "-W", "-p"])
        .arg(&apub)
        .arg("-s")
        .arg(&akey));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(Command::new("minisign")
        .args(["-S", "-s"])
        .arg(&akey)
        .arg("-m")
        .arg(copy.path().join(SUMS))
        .arg("-x")
        .arg(copy.path().join(SIGNATURE))
        .args(["-t", &format!("custos {VERSION} linux-amd64")]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = verify(&deb, &release.public_key);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("key you do not trust"),
        "{}",
        text(&out.stderr)
    );
    assert!(matches!(
        custos_release::check(&deb, std::slice::from_ref(&key), VERSION),
        Err(CheckError::UnknownKey { .. })
    ));

    // The signature left behind.
    let copy = copy_of(&release);
    std::fs::remove_file(copy.path().join(SIGNATURE)).unwrap();
    let out = verify(&copy.path().join(&name), &release.public_key);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("SHA256SUMS.minisig not found"),
        "{}",
        text(&out.stderr)
    );

    // A checkout with no release key cannot vouch for anything and says so.
    let out = run(Command::new(workspace_root().join("scripts/verify")).arg(&release.deb));
    if std::fs::read_dir(workspace_root().join("release/keys"))
        .unwrap()
        .flatten()
        .all(|e| e.path().extension().is_none_or(|x| x != "pub"))
    {
        assert_eq!(out.status.code(), Some(1));
        assert!(
            text(&out.stderr).contains("holds no release key"),
            "{}",
            text(&out.stderr)
        );
    } else {
        assert_eq!(
            out.status.code(),
            Some(1),
            "the test key is not a release key"
        );
        assert!(
            text(&out.stderr).contains("key you do not trust"),
            "{}",
            text(&out.stderr)
        );
    }
}

#[test]
fn the_package_holds_both_programs_stripped_with_no_trace_of_the_build_machine() {
    let release = release();
    let out = run(Command::new("dpkg-deb").arg("-f").arg(&release.deb));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let control = text(&out.stdout);
    for field in [
        "Package: custos\n".to_owned(),
        format!("Version: {VERSION}\n"),
        "Architecture: amd64\n".to_owned(),
    ] {
        assert!(control.contains(&field), "{field:?} in\n{control}");
    }
    assert!(control.contains("libwebkit2gtk-4.1-0"), "{control}");

    let out = run(Command::new("dpkg-deb").arg("-c").arg(&release.deb));
    let listing = text(&out.stdout);
    for path in [
        "./usr/bin/custos-desktop",
        "./usr/bin/custos",
        "./usr/share/applications/Custos.desktop",
        "./usr/share/icons/hicolor/128x128/apps/custos-desktop.png",
    ] {
        assert!(
            listing.lines().any(|l| l.ends_with(path)),
            "{path} in\n{listing}"
        );
    }
    // Owned by root, every file with the same time (the commit's): no build time inside.
    let mut times = std::collections::BTreeSet::new();
    for line in listing.lines() {
        assert!(line.contains(" root/root "), "{line}");
        let cols: Vec<&str> = line.split_whitespace().collect();
        times.insert(format!("{} {}", cols[3], cols[4]));
    }
    assert_eq!(times.len(), 1, "one time for every file: {times:?}");

    // The binaries: stripped, and naming no folder of the machine that built them.
    let unpacked = tempfile::tempdir().unwrap();
    let out = run(Command::new("dpkg-deb")
        .arg("-x")
        .arg(&release.deb)
        .arg(unpacked.path()));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let root = workspace_root().canonicalize().unwrap();
    let home = std::env::var("HOME").unwrap_or_default();
    for bin in ["usr/bin/custos-desktop", "usr/bin/custos"] {
        let path = unpacked.path().join(bin);
        let out = run(Command::new("readelf").arg("-S").arg(&path));
        let sections = text(&out.stdout);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            !sections.contains(".debug_info"),
            "{bin} carries debug information"
        );
        assert!(!sections.contains(".symtab"), "{bin} is not stripped");
        let bytes = std::fs::read(&path).unwrap();
        for needle in [
            root.to_string_lossy().into_owned(),
            format!("{home}/.cargo"),
        ] {
            assert!(
                !custos_test_support::window::contains(&bytes, needle.as_bytes()),
                "{bin} names {needle}"
            );
        }
    }
}

/// A clean Debian 12 root (debootstrap, minimal variant), made once and kept.
fn debian12_base() -> PathBuf {
    let base = workspace_root().join("target/package/debian12");
    let done = base.join(".custos-complete");
    if done.is_file() {
        return base;
    }
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    let started = Instant::now();
    let out = run(Command::new("debootstrap")
        .args(["--variant=minbase", "bookworm"])
        .arg(&base)
        .arg("http://deb.debian.org/debian"));
    assert!(
        out.status.success(),
        "debootstrap failed: {}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    eprintln!(
        "debootstrap bookworm minbase: {:.0} s",
        started.elapsed().as_secs_f64()
    );
    std::fs::write(&done, "").unwrap();
    base
}

/// Runs `argv` inside `root`, in a private mount namespace that has /proc, /sys, /dev
/// and the X socket folder mounted (gone when it ends; nothing is left mounted).
fn in_root(root: &Path, argv: &[&str]) -> Command {
    let script = r#"set -e
root=$1; shift
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mkdir -p "$root/tmp/.X11-unix"
[ -d /tmp/.X11-unix ] && mount --bind /tmp/.X11-unix "$root/tmp/.X11-unix"
exec chroot "$root" "$@""#;
    let mut cmd = Command::new("unshare");
    cmd.args([
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        script,
        "sh",
    ])
    .arg(root)
    .args([
        "/usr/bin/env",
        "-i",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME=/root",
        "LANG=C.UTF-8",
    ])
    .args(argv);
    cmd
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|v| v.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

#[test]
fn the_package_installs_on_a_clean_debian_12_and_starts_to_its_first_screen() {
    let release = release();
    assert!(
        is_root(),
        "installing the package into a Debian root needs root (chroot, mounts): run scripts/test as root or with sudo"
    );
    let base = debian12_base();
    let work = tempfile::tempdir_in(workspace_root().join("target/package")).unwrap();
    let root = work.path().join("root");
    let out = run(Command::new("cp").arg("-a").arg(&base).arg(&root));
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::copy("/etc/resolv.conf", root.join("etc/resolv.conf")).unwrap();
    std::fs::copy(&release.deb, root.join("tmp/custos.deb")).unwrap();

    // Nothing of Custos on the clean root.
    let out = run(&mut in_root(
        &root,
        &["sh", "-c", "command -v custos custos-desktop || true"],
    ));
    assert_eq!(text(&out.stdout).trim(), "", "a clean root");

    let started = Instant::now();
    let out = run(&mut in_root(&root, &["apt-get", "-qq", "update"]));
    assert!(
        out.status.success(),
        "apt-get update: {}",
        text(&out.stderr)
    );
    let out = run(in_root(
        &root,
        &[
            "apt-get",
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
            "/tmp/custos.deb",
        ],
    )
    .env("DEBIAN_FRONTEND", "noninteractive"));
    assert!(
        out.status.success(),
        "apt-get install of the package: {}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let installed = started.elapsed();

    let out = run(&mut in_root(
        &root,
        &["dpkg-query", "-W", "-f", "${Status} ${Version}", "custos"],
    ));
    assert_eq!(text(&out.stdout), format!("install ok installed {VERSION}"));
    let out = run(&mut in_root(&root, &["custos", "--version"]));
    assert!(
        out.status.success(),
        "custos --version: {}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout).trim(), format!("custos {VERSION}"));
    let out = run(&mut in_root(&root, &["custos-desktop", "--version"]));
    assert!(
        out.status.success(),
        "custos-desktop --version: {}",
        text(&out.stderr)
    );
    assert_eq!(
        text(&out.stdout).trim(),
        format!("custos-desktop {VERSION}")
    );
    // The installed command checks a package with the key built into it (this test
    // build's throwaway key: `scripts/package --test-key`), with no key given; and
    // refuses a changed copy.
    let deb_name = release
        .deb
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    std::fs::create_dir_all(root.join("tmp/release")).unwrap();
    for name in [deb_name.as_str(), SUMS, SIGNATURE] {
        std::fs::copy(release.dir.join(name), root.join("tmp/release").join(name)).unwrap();
    }
    let inside = format!("/tmp/release/{deb_name}");
    let out = run(&mut in_root(
        &root,
        &["custos", "check-package", "--json", &inside],
    ));
    assert!(
        out.status.success(),
        "the installed custos checks its own package: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let checked: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(checked["file"], deb_name.as_str());
    assert_eq!(checked["update"], "same");
    assert_eq!(checked["test_key"], true, "{checked}");
    let mut bytes = std::fs::read(root.join("tmp/release").join(&deb_name)).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    std::fs::write(root.join("tmp/release").join(&deb_name), bytes).unwrap();
    let out = run(&mut in_root(&root, &["custos", "check-package", &inside]));
    assert_eq!(
        out.status.code(),
        Some(1),
        "a changed package is refused by the installed custos: {}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("changed or damaged"),
        "{}",
        text(&out.stderr)
    );

    // Every library the two programs link is on the installed system.
    for bin in ["/usr/bin/custos", "/usr/bin/custos-desktop"] {
        let out = run(&mut in_root(&root, &["ldd", bin]));
        assert!(
            !text(&out.stdout).contains("not found"),
            "{bin}: {}",
            text(&out.stdout)
        );
    }

    // The desktop app, as installed, under Xvfb: its window is drawn.
    let fb = tempfile::tempdir().unwrap();
    let (_xvfb, display) = start_xvfb(fb.path());
    let shown = Instant::now();
    let mut app = in_root(
        &root,
        &["sh", "-c", &format!("mkdir -p /root/run && chmod 700 /root/run && DISPLAY={display} XDG_RUNTIME_DIR=/root/run exec custos-desktop --vault /root/vault")],
    );
    let mut app = app
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the app starts");
    let deadline = Instant::now() + Duration::from_secs(120);
    let framebuffer = fb.path().join("Xvfb_screen0");
    let mut first_screen = None;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = app.try_wait() {
            let mut err = String::new();
            use std::io::Read;
            let _ = app.stderr.take().unwrap().read_to_string(&mut err);
            panic!("the installed app ended ({status}) before its first screen: {err}");
        }
        let out = run(Command::new("xwininfo").args(["-root", "-tree", "-display", &display]));
        let mapped = text(&out.stdout).contains("\"Custos\"");
        if mapped {
            if let Some(png) = std::fs::read(&framebuffer)
                .ok()
                .and_then(|x| xwd_to_png(&x).ok())
            {
                if distinct_colours(&png) > 16 {
                    first_screen = Some((shown.elapsed(), png));
                    break;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = app.kill();
    let _ = app.wait();
    let (to_screen, png) =
        first_screen.expect("the installed app drew its first screen within 2 minutes");
    let shots = workspace_root().join("target/screenshots");
    let _ = std::fs::create_dir_all(&shots);
    std::fs::write(shots.join("package-first-screen.png"), png).unwrap();
    eprintln!(
        "installed with apt (update + install with its dependencies) in {:.1} s; start to first screen {:.1} s; install to first screen {:.1} s",
        installed.as_secs_f64(),
        to_screen.as_secs_f64(),
        (installed + to_screen).as_secs_f64()
    );
}

/// How many different colours a PNG shows (a blank or a half-drawn window shows one or two).
fn distinct_colours(png_bytes: &[u8]) -> usize {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let Ok(mut reader) = decoder.read_info() else {
        return 0;
    };
    let mut buf = vec![0; reader.output_buffer_size().unwrap_or(0)];
    let Ok(info) = reader.next_frame(&mut buf) else {
        return 0;
    };
    let step = info.color_type.samples();
    let mut seen = std::collections::HashSet::new();
    for px in buf[..info.buffer_size()].chunks(step) {
        seen.insert(px.to_vec());
        if seen.len() > 64 {
            break;
        }
    }
    seen.len()
}
