//! The app downloads nothing behind its user's back: no updater (an update is a file the
//! user brings and checks in Settings → Packages and updates), and no HTTP client among
//! what it is built from — the one network crate in it is the sync client's pinned TLS
//! (`rustls`, in `custos-sync`), which talks only to the organisation's hub.
//!
//! Read from Cargo.lock and the manifests, so the test fails the day a dependency brings
//! one in, before anything runs. What the app is built from: its own `[dependencies]`
//! (not its dev-dependencies: the window tests' WebDriver client), the workspace crates'
//! `[dependencies]` under it, and every package they pull in according to Cargo.lock
//! (which lists every target's packages, so more than a Linux build has: never less).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Crates that fetch over HTTP (or open TLS, or update an app) when called.
const NETWORK: &[&str] = &[
    "reqwest",
    "ureq",
    "hyper",
    "hyper-util",
    "h2",
    "isahc",
    "curl",
    "attohttpc",
    "minreq",
    "surf",
    "awc",
    "tungstenite",
    "tokio-tungstenite",
    "async-tungstenite",
    "native-tls",
    "openssl",
    "rustls",
    "tokio-rustls",
    "tauri-plugin-updater",
    "tauri-plugin-http",
    "tauri-plugin-upload",
    "tauri-plugin-websocket",
];

/// Every package of Cargo.lock by name → the names of its dependencies.
fn lock() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(root().join("Cargo.lock")).expect("Cargo.lock");
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for block in text.split("[[package]]").skip(1) {
        let mut name = None;
        let mut deps = BTreeSet::new();
        let mut in_deps = false;
        for line in block.lines() {
            let line = line.trim();
            if let Some(v) = line.strip_prefix("name = ") {
                name = Some(v.trim_matches('"').to_owned());
            } else if line.starts_with("dependencies = [") {
                in_deps = true;
            } else if in_deps && line.starts_with(']') {
                in_deps = false;
            } else if in_deps {
                // "name", or "name version" when several versions are locked.
                let dep = line.trim_matches([',', '"']);
                if let Some(n) = dep.split(' ').next().filter(|n| !n.is_empty()) {
                    deps.insert(n.to_owned());
                }
            }
        }
        let name = name.expect("every package has a name");
        out.entry(name).or_default().extend(deps);
    }
    out
}

/// The names in a manifest's normal dependency tables (`[dependencies]`,
/// `[target.'…'.dependencies]`, `[target.'…'.dependencies.NAME]`), not dev or build.
fn normal_dependencies(manifest: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(manifest).expect("a manifest");
    let mut names = BTreeSet::new();
    let mut in_table = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            let header = line.trim_matches(['[', ']']);
            let last = header.rsplit('.').next().unwrap_or_default();
            in_table = header == "dependencies" || header.ends_with(".dependencies");
            if !in_table && header.contains(".dependencies.") && !header.contains("dev-") {
                // `[target.'cfg(…)'.dependencies.zbus]`: the table is one dependency.
                if !header.contains("build-dependencies") {
                    names.insert(last.to_owned());
                }
            }
            continue;
        }
        if in_table && !line.is_empty() && !line.starts_with('#') {
            if let Some(key) = line.split(['=', '.', ' ']).next() {
                names.insert(key.trim().to_owned());
            }
        }
    }
    names
}

/// The workspace's crates by package name → their manifest.
fn workspace() -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut manifests = vec![root().join("src-tauri/Cargo.toml")];
    for entry in std::fs::read_dir(root().join("crates")).expect("crates/") {
        manifests.push(entry.expect("entry").path().join("Cargo.toml"));
    }
    for m in manifests {
        let text = std::fs::read_to_string(&m).expect("a manifest");
        let name = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("name = "))
            .expect("a package name")
            .trim_matches('"')
            .to_owned();
        out.insert(name, m);
    }
    out
}

/// Everything the app is built from, each with the package that brought it in.
fn built_from() -> BTreeMap<String, String> {
    let lock = lock();
    let workspace = workspace();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut todo = vec![("custos-desktop".to_owned(), String::new())];
    while let Some((name, parent)) = todo.pop() {
        if seen.contains_key(&name) {
            continue;
        }
        let next = match workspace.get(&name) {
            Some(manifest) => normal_dependencies(manifest),
            None => lock.get(&name).cloned().unwrap_or_default(),
        };
        seen.insert(name.clone(), parent);
        todo.extend(next.into_iter().map(|n| (n, name.clone())));
    }
    seen
}

#[test]
fn there_is_no_updater_nor_any_tauri_plugin() {
    let lock = lock();
    assert!(
        !lock.contains_key("tauri-plugin-updater"),
        "Cargo.lock has tauri-plugin-updater: the app updates only from a file its user brings"
    );
    let plugins: Vec<&String> = lock
        .keys()
        .filter(|n| n.starts_with("tauri-plugin"))
        .collect();
    assert!(
        plugins.is_empty(),
        "the app uses no Tauri plugin (its window may call only its own commands): {plugins:?}"
    );
}

#[test]
fn the_only_network_crates_are_the_sync_clients_tls_and_tauris_mobile_http() {
    let all = built_from();
    assert!(
        all.contains_key("tauri") && all.contains_key("custos-sync"),
        "the walk found the app's dependencies"
    );
    let found: BTreeMap<&str, &str> = NETWORK
        .iter()
        .filter_map(|n| all.get(*n).map(|parent| (*n, parent.as_str())))
        .collect();
    // rustls: the sync client's pinned mutual TLS to the hub (docs/architecture.md).
    // reqwest: Tauri's, which its manifest takes only on Android and iOS
    // (`[target.'cfg(any(target_os = "android", …))'.dependencies.reqwest]`): Cargo.lock
    // lists every target's packages; hyper and hyper-util are reqwest's own.
    let expected: BTreeMap<&str, &str> = [
        ("rustls", "custos-sync"),
        ("reqwest", "tauri"),
        ("hyper-util", "reqwest"),
        ("hyper", "hyper-util"),
    ]
    .into_iter()
    .collect();
    let reached_by = |n: &str| {
        let mut chain = vec![n.to_owned()];
        while let Some(p) = all.get(chain.last().unwrap()).filter(|p| !p.is_empty()) {
            chain.push(p.clone());
        }
        chain.join(" ← ")
    };
    for (name, parent) in &found {
        assert_eq!(
            expected.get(name),
            Some(parent),
            "the app is now built with {name} ({}): an HTTP client or TLS outside the sync client",
            reached_by(name)
        );
    }
    // Who depends on reqwest, hyper or rustls at all, among what the app is built from.
    let lock = lock();
    let workspace = workspace();
    for (client, allowed) in [
        ("reqwest", &["tauri"][..]),
        ("rustls", &["custos-sync", "tokio-rustls"][..]),
    ] {
        let users: Vec<&String> = all
            .keys()
            .filter(|n| {
                let deps = match workspace.get(*n) {
                    Some(m) => normal_dependencies(m),
                    None => lock.get(*n).cloned().unwrap_or_default(),
                };
                deps.contains(client)
            })
            .collect();
        for user in users {
            assert!(
                allowed.contains(&user.as_str()),
                "{user} brings {client} into the app ({})",
                reached_by(user)
            );
        }
    }
}

#[test]
fn the_manifest_reader_sees_normal_dependencies_only() {
    let names = normal_dependencies(&root().join("src-tauri/Cargo.toml"));
    for n in [
        "tauri",
        "custos-sync",
        "custos-release",
        "gtk",
        "zbus",
        "libc",
    ] {
        assert!(names.contains(n), "{n} missing from {names:?}");
    }
    for n in ["ureq", "tauri-build", "minisign", "tempfile"] {
        assert!(
            !names.contains(n),
            "{n} is not a normal dependency: {names:?}"
        );
    }
}
