//! Lock and panic-wipe benchmark: a vault of N records with M bytes of evidence, bound
//! to a device key like the app's vaults.
//!
//! - lock: `Vault::lock` after a session that wrote the records (the index snapshot and
//!   key cache are sealed and saved, then every key and decrypted value is dropped);
//! - lock, nothing changed since unlock (what an idle auto-lock costs);
//! - wipe: `Vault::wipe` — time until the keys are destroyed (the vault is unreadable
//!   from then on), and until the folder is gone;
//! - baseline: `rm -rf` of a copy of the same folder (the file system's own cost of
//!   removing that much).
//!
//! `cargo bench --bench protect` (optionally `-- --records N --evidence-mb M --runs R`;
//! defaults 10,000 records, 1024 MB, 3 runs). `cargo test --all-targets` runs a smoke
//! version (500 records, 8 MB, 1 run). Medians with the spread (min–max).

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use custos_model::{Case, Record};
use custos_vault::Attach;
use custos_vault::{Change, Options, SecretString, Vault};

const PASS: &str = "lantern orchard velvet quarry 1987 sparrow";

struct Args {
    records: usize,
    evidence_mb: usize,
    runs: usize,
}

fn args() -> Args {
    let argv: Vec<String> = std::env::args().collect();
    let mut a = if argv.iter().any(|a| a == "--bench") {
        Args {
            records: 10_000,
            evidence_mb: 1024,
            runs: 3,
        }
    } else {
        Args {
            records: 500,
            evidence_mb: 8,
            runs: 1,
        }
    };
    let mut it = argv.iter();
    while let Some(x) = it.next() {
        let mut value = || -> usize { it.next().and_then(|v| v.parse().ok()).expect("a number") };
        match x.as_str() {
            "--records" => a.records = value(),
            "--evidence-mb" => a.evidence_mb = value(),
            "--runs" => a.runs = value(),
            _ => {}
        }
    }
    a
}

struct Run {
    lock_after_writes_ms: f64,
    lock_idle_ms: f64,
    keys_destroyed_ms: f64,
    wipe_total_ms: f64,
    rm_baseline_ms: f64,
}

fn options() -> Options {
    Options {
        bind_to_device: true,
        ..Options::insecure_for_tests()
    }
}

fn one_run(a: &Args, root: &Path, n: usize) -> Run {
    let pass = SecretString::from(PASS.to_owned());
    let dir = root.join(format!("vault-{n}"));
    let mut v = Vault::create(&dir, &pass, options()).unwrap();
    let mut case_id = None;
    for chunk in (0..a.records).collect::<Vec<_>>().chunks(1000) {
        let written = v
            .commit(
                chunk
                    .iter()
                    .map(|i| {
                        Change::Create(Record::Case(Case {
                            title: format!("case {i}"),
                            summary: "s".repeat(1800),
                            ..Case::default()
                        }))
                    })
                    .collect(),
            )
            .unwrap();
        case_id.get_or_insert(written[0].record_id);
    }
    // The evidence: files of up to 256 MB.
    let mut left = a.evidence_mb;
    let mut k = 0;
    while left > 0 {
        let mb = left.min(256);
        let path = root.join(format!("evidence-{n}-{k}.bin"));
        let mut f = File::create(&path).unwrap();
        let block: Vec<u8> = (0..1u32 << 20)
            .map(|i| (i.wrapping_mul(2654435761) >> 11) as u8)
            .collect();
        for _ in 0..mb {
            f.write_all(&block).unwrap();
        }
        drop(f);
        v.attach(
            &path,
            Attach {
                case_id: case_id.unwrap(),
                attached_to: vec![],
                description: "evidence".into(),
                derived_from: None,
            },
        )
        .unwrap();
        fs::remove_file(&path).unwrap();
        left -= mb;
        k += 1;
    }
    let t = Instant::now();
    v.lock().unwrap();
    let lock_after_writes_ms = t.elapsed().as_secs_f64() * 1e3;

    let v = Vault::unlock(&dir, &pass, options()).unwrap();
    let t = Instant::now();
    v.lock().unwrap();
    let lock_idle_ms = t.elapsed().as_secs_f64() * 1e3;

    // Baseline: remove a copy of the same folder.
    let copy = root.join(format!("copy-{n}"));
    let status = Command::new("cp")
        .arg("-r")
        .arg(&dir)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(status.success());
    let _ = Command::new("sync").status();
    let t = Instant::now();
    fs::remove_dir_all(&copy).unwrap();
    let rm_baseline_ms = t.elapsed().as_secs_f64() * 1e3;

    let _ = Command::new("sync").status();
    let v = Vault::unlock(&dir, &pass, options()).unwrap();
    let w = v.wipe().unwrap();
    assert!(!dir.exists());
    Run {
        lock_after_writes_ms,
        lock_idle_ms,
        keys_destroyed_ms: w.keys_destroyed.as_secs_f64() * 1e3,
        wipe_total_ms: w.total.as_secs_f64() * 1e3,
        rm_baseline_ms,
    }
}

fn main() {
    let a = args();
    let tmp = tempfile::tempdir().unwrap();
    std::env::set_var("CUSTOS_DEVICE_KEYS", tmp.path().join("device-keys"));
    println!(
        "protect benchmark: {} records, {} MB of evidence, {} run(s)",
        a.records, a.evidence_mb, a.runs
    );
    let runs: Vec<Run> = (0..a.runs).map(|n| one_run(&a, tmp.path(), n)).collect();
    let med = |g: fn(&Run) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(g).collect();
        v.sort_by(|x, y| x.total_cmp(y));
        (v[v.len() / 2], v[0], v[v.len() - 1])
    };
    println!("| what | ms, median (min–max) |");
    println!("|---|---|");
    for (name, g) in [
        (
            "lock after writing everything",
            (|r: &Run| r.lock_after_writes_ms) as fn(&Run) -> f64,
        ),
        ("lock, nothing new (auto-lock)", |r| r.lock_idle_ms),
        ("panic wipe: keys destroyed", |r| r.keys_destroyed_ms),
        ("panic wipe: folder gone", |r| r.wipe_total_ms),
        ("baseline: rm -rf of a copy", |r| r.rm_baseline_ms),
    ] {
        let (m, lo, hi) = med(g);
        println!("| {name} | {m:.1} ({lo:.1}–{hi:.1}) |");
    }
}
