//! Sync benchmark, over loopback TLS against a real `custos-hub` process:
//!
//! - initial sync of N records (~2 KB each) from a field device: wall time, requests,
//!   bytes on the wire;
//! - the coordinator's initial pull of the same N records;
//! - a delta of one changed record and one of 100: wall time, requests, bytes on the
//!   wire per changed record against the records' ciphertext size;
//! - the baseline, in the same run: the same number of objects of the same sizes pushed
//!   over one pinned TLS connection in batches of 500 with no vault work (the wire and
//!   the hub's storage alone).
//!
//! - enrolling a field device (the hub's challenge, then the enrollment): wall time and
//!   requests;
//!
//! `cargo bench -p custos-benches --bench sync` (optionally `-- --records N --runs R --json
//! PATH`; defaults 10,000 and 3; `--json` writes the figures for `cargo xtask bench`). `cargo test --all-targets` runs a smoke version (300 records,
//! 1 run). Each figure is the median of R runs with the spread (min–max).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use custos_model::{Case, Record};
use custos_sync::net::Connection;
use custos_sync::{self as sync, Held, Route};
use custos_vault::Exchange;
use custos_vault::{Change, Options, SecretString, Vault};
use custos_wire::{self as wire, Frame};
use uuid::Uuid;

#[path = "common/report.rs"]
mod report;
use report::{Better, Report};

const PASS: &str = "lantern orchard velvet quarry 1987 sparrow";

struct Args {
    records: usize,
    runs: usize,
}

fn args() -> Args {
    let argv: Vec<String> = std::env::args().collect();
    let full = argv.iter().any(|a| a == "--bench");
    let mut a = if full {
        Args {
            records: 10_000,
            runs: 3,
        }
    } else {
        Args {
            records: 300,
            runs: 1,
        }
    };
    let mut it = argv.iter();
    while let Some(x) = it.next() {
        let value = |it: &mut std::slice::Iter<String>| -> usize {
            it.next().and_then(|v| v.parse().ok()).expect("a number")
        };
        match x.as_str() {
            "--records" => a.records = value(&mut it),
            "--runs" => a.runs = value(&mut it),
            _ => {}
        }
    }
    a
}

struct Hub {
    child: Child,
    addr: String,
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn hub(data: &Path) -> Hub {
    let mut child = Command::new(env!("CARGO_BIN_EXE_custos-hub-under-bench"))
        .arg("--data")
        .arg(data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("custos-hub starts");
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take();
    std::thread::spawn(move || {
        for l in out
            .into_iter()
            .flat_map(|o| BufReader::new(o).lines().map_while(Result::ok))
        {
            let _ = tx.send(l);
        }
    });
    let mut hub = Hub {
        child,
        addr: String::new(),
    };
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) {
        if let Some(a) = line.strip_prefix("listening on ") {
            hub.addr = a.trim().to_owned();
            return hub;
        }
    }
    panic!("the hub did not print its address");
}

fn admin(data: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_custos-hub-under-bench"))
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn vault(dir: &Path) -> Vault {
    Vault::create(
        dir,
        &SecretString::from(PASS.to_owned()),
        Options::insecure_for_tests(),
    )
    .unwrap()
}

#[derive(Default, Clone, Copy)]
struct Figures {
    initial_s: f64,
    initial_requests: f64,
    initial_mb: f64,
    pull_s: f64,
    pull_baseline_s: f64,
    delta_ms: f64,
    delta_requests: f64,
    delta_bytes: f64,
    delta_sent: f64,
    delta_ciphertext: f64,
    delta100_ms: f64,
    delta100_requests: f64,
    delta100_bytes_per_record: f64,
    delta100_ciphertext_per_record: f64,
    baseline_s: f64,
    enroll_ms: f64,
    enroll_requests: f64,
}

fn one_run(n: usize, seed: usize) -> Figures {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("hub");
    let h = hub(&data);
    let mut coord = vault(&tmp.path().join("coord"));
    admin(&data, &["coordinators", "add", &coord.recipient()]);
    let invite = admin(
        &data,
        &["invite", "--role", "coordinator", "--expires", "1h"],
    );
    sync::enroll(&mut coord, &invite, "coordinator", Route::Direct).unwrap();
    let mut dev = vault(&tmp.path().join("field"));
    let invite = admin(&data, &["invite", "--role", "field", "--expires", "1h"]);
    let t = Instant::now();
    let enrolled = sync::enroll(&mut dev, &invite, "field", Route::Direct).unwrap();
    let enroll_ms = t.elapsed().as_secs_f64() * 1e3;
    let summary: String = (0..1900)
        .map(|i| (b'a' + ((i * 7 + seed) % 26) as u8) as char)
        .collect();
    let changes = (0..n)
        .map(|i| {
            Change::Create(Record::Case(Case {
                title: format!("case {i}"),
                summary: summary.clone(),
                ..Case::default()
            }))
        })
        .collect();
    let ids: Vec<Uuid> = dev
        .commit(changes)
        .unwrap()
        .into_iter()
        .map(|w| w.record_id)
        .collect();
    let mut f = Figures {
        enroll_ms,
        enroll_requests: enrolled.requests as f64,
        ..Figures::default()
    };

    // Initial sync.
    let t = Instant::now();
    let r = sync::run(&Held::new(&mut dev)).unwrap();
    f.initial_s = t.elapsed().as_secs_f64();
    assert_eq!(r.pushed, n);
    f.initial_requests = r.requests as f64;
    f.initial_mb = (r.bytes_sent + r.bytes_received) as f64 / 1e6;

    // The coordinator's initial pull.
    let t = Instant::now();
    let r = sync::run(&Held::new(&mut coord)).unwrap();
    f.pull_s = t.elapsed().as_secs_f64();
    assert_eq!(r.pulled, n);

    // Baseline for the pull: the same objects pulled by the coordinator over one TLS
    // connection, no vault work.
    let cplan = coord.sync_plan().unwrap();
    let mut conn = Connection::open(&h.addr, &Route::Direct, &cplan.credentials).unwrap();
    let t = Instant::now();
    let (mut since, mut got) = (0u64, 0usize);
    loop {
        let r = conn
            .request(
                "GET",
                &format!("/v1/objects?since={since}&limit=500"),
                None,
                &[],
            )
            .unwrap();
        got += wire::decode_frames(&r.body).unwrap().len();
        since = r.header("custos-next").unwrap().parse().unwrap();
        if r.header("custos-more") != Some("true") {
            break;
        }
    }
    f.pull_baseline_s = t.elapsed().as_secs_f64();
    assert_eq!(got, n);
    drop(conn);

    // A delta of one changed record.
    let id = ids[n / 2];
    let Some(Record::Case(mut c)) = dev.get(id).unwrap().into_record() else {
        panic!("a case")
    };
    c.title.push_str(" (updated)");
    dev.update(id, Record::Case(c)).unwrap();
    f.delta_ciphertext = dev.sync_info().pending_bytes as f64;
    let t = Instant::now();
    let r = sync::run(&Held::new(&mut dev)).unwrap();
    f.delta_ms = t.elapsed().as_secs_f64() * 1e3;
    assert_eq!(r.pushed, 1);
    f.delta_requests = r.requests as f64;
    f.delta_bytes = (r.bytes_sent + r.bytes_received) as f64;
    f.delta_sent = r.bytes_sent as f64;

    // A delta of 100 changed records (or every record, if fewer), in one commit.
    let k = n.min(100);
    let changes = ids
        .iter()
        .step_by((n / k).max(1))
        .take(k)
        .map(|&record_id| {
            let Some(Record::Case(mut c)) = dev.get(record_id).unwrap().into_record() else {
                panic!("a case")
            };
            c.title.push_str(" (revised)");
            Change::Update {
                record_id,
                record: Record::Case(c),
            }
        })
        .collect();
    dev.commit(changes).unwrap();
    f.delta100_ciphertext_per_record = dev.sync_info().pending_bytes as f64 / k as f64;
    let t = Instant::now();
    let r = sync::run(&Held::new(&mut dev)).unwrap();
    f.delta100_ms = t.elapsed().as_secs_f64() * 1e3;
    assert_eq!(r.pushed, k);
    f.delta100_requests = r.requests as f64;
    f.delta100_bytes_per_record = (r.bytes_sent + r.bytes_received) as f64 / k as f64;

    // Baseline: the same number of objects of the same size over one TLS connection,
    // no vault work.
    let plan = dev.sync_plan().unwrap();
    let size = (f.delta_ciphertext as usize).max(1);
    let audience = vec![dev.recipient(), coord.recipient()];
    let mut conn = Connection::open(&h.addr, &Route::Direct, &plan.credentials).unwrap();
    let t = Instant::now();
    let mut left = n;
    while left > 0 {
        let batch = left.min(500);
        let frames: Vec<Frame> = (0..batch)
            .map(|_| Frame {
                seq: 0,
                id: Uuid::new_v4(),
                audience: audience.clone(),
                ciphertext: vec![0x5a; size],
            })
            .collect();
        let body = wire::encode_frames(&frames).unwrap();
        conn.request("POST", "/v1/objects", Some(wire::FRAMES_TYPE), &body)
            .unwrap();
        left -= batch;
    }
    f.baseline_s = t.elapsed().as_secs_f64();
    f
}

fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// The figures as JSON (`--json PATH`). Custos beside the baseline (the same objects
/// over one TLS connection with no vault work) where the run has one.
fn write_json(a: &Args, runs: &[Figures]) {
    let mut json = Report::new("sync");
    json.param("records", a.records);
    json.param("runs", a.runs);
    let group = format!("sync {} records, loopback TLS", a.records);
    let col = |g: fn(&Figures) -> f64| runs.iter().map(g).collect::<Vec<f64>>();
    let baseline = "baseline (wire + hub, no vault work)";
    let mut add = |name: &str, system: &str, unit: &str, better: Better, g: fn(&Figures) -> f64| {
        json.add(&group, name, system, unit, better, &col(g))
    };
    add("initial push", "custos", "s", Better::Lower, |f| {
        f.initial_s
    });
    add("initial push", baseline, "s", Better::Lower, |f| {
        f.baseline_s
    });
    add(
        "initial push requests",
        "custos",
        "requests",
        Better::Lower,
        |f| f.initial_requests,
    );
    add(
        "initial push on the wire",
        "custos",
        "MB",
        Better::Lower,
        |f| f.initial_mb,
    );
    add("enrollment", "custos", "ms", Better::Lower, |f| f.enroll_ms);
    add(
        "enrollment requests",
        "custos",
        "requests",
        Better::Lower,
        |f| f.enroll_requests,
    );
    add("initial pull", "custos", "s", Better::Lower, |f| f.pull_s);
    add("initial pull", baseline, "s", Better::Lower, |f| {
        f.pull_baseline_s
    });
    add("delta of 1", "custos", "ms", Better::Lower, |f| f.delta_ms);
    add(
        "delta of 1 requests",
        "custos",
        "requests",
        Better::Lower,
        |f| f.delta_requests,
    );
    add(
        "delta of 1 bytes per changed record",
        "custos",
        "B",
        Better::Lower,
        |f| f.delta_bytes,
    );
    add(
        "delta of 1 bytes per changed record",
        "ciphertext alone",
        "B",
        Better::Lower,
        |f| f.delta_ciphertext,
    );
    add("delta of 100", "custos", "ms", Better::Lower, |f| {
        f.delta100_ms
    });
    add(
        "delta of 100 requests",
        "custos",
        "requests",
        Better::Lower,
        |f| f.delta100_requests,
    );
    add(
        "delta of 100 bytes per changed record",
        "custos",
        "B",
        Better::Lower,
        |f| f.delta100_bytes_per_record,
    );
    add(
        "delta of 100 bytes per changed record",
        "ciphertext alone",
        "B",
        Better::Lower,
        |f| f.delta100_ciphertext_per_record,
    );
    json.finish();
}

fn main() {
    let a = args();
    println!(
        "sync benchmark: {} records of ~2 KB, {} run(s), loopback TLS 1.3, real custos-hub (sled)",
        a.records, a.runs
    );
    let runs: Vec<Figures> = (0..a.runs).map(|i| one_run(a.records, i)).collect();
    let col = |g: fn(&Figures) -> f64| median(runs.iter().map(g).collect());
    let row = |name: &str, (m, lo, hi): (f64, f64, f64), unit: &str| {
        println!("| {name} | {m:.2} ({lo:.2}–{hi:.2}) {unit} |");
    };
    println!("| what | median (min–max) |");
    println!("|---|---|");
    row(
        "initial sync, field device → hub",
        col(|f| f.initial_s),
        "s",
    );
    row("  requests", col(|f| f.initial_requests), "");
    row("  MB on the wire (both ways)", col(|f| f.initial_mb), "MB");
    row("initial pull, coordinator ← hub", col(|f| f.pull_s), "s");
    row(
        "baseline: same objects pulled, no vault work",
        col(|f| f.pull_baseline_s),
        "s",
    );
    row(
        "baseline: same objects pushed, no vault work",
        col(|f| f.baseline_s),
        "s",
    );
    row(
        "enrollment (challenge + enroll)",
        col(|f| f.enroll_ms),
        "ms",
    );
    row("  requests", col(|f| f.enroll_requests), "");
    row("delta of 1 record", col(|f| f.delta_ms), "ms");
    row("  requests", col(|f| f.delta_requests), "");
    row(
        "  bytes on the wire (both ways)",
        col(|f| f.delta_bytes),
        "B",
    );
    row("  of which sent", col(|f| f.delta_sent), "B");
    row(
        "  the record's ciphertext",
        col(|f| f.delta_ciphertext),
        "B",
    );
    row("delta of 100 records", col(|f| f.delta100_ms), "ms");
    row("  requests", col(|f| f.delta100_requests), "");
    row(
        "  bytes on the wire per changed record (both ways)",
        col(|f| f.delta100_bytes_per_record),
        "B",
    );
    row(
        "  a record's ciphertext (mean)",
        col(|f| f.delta100_ciphertext_per_record),
        "B",
    );
    write_json(&a, &runs);
    let (initial, _, _) = col(|f| f.initial_s);
    let (base, _, _) = col(|f| f.baseline_s);
    let (pull, _, _) = col(|f| f.pull_s);
    let (pull_base, _, _) = col(|f| f.pull_baseline_s);
    println!("initial pull / baseline = {:.2}", pull / pull_base);
    let (bytes, _, _) = col(|f| f.delta_bytes);
    let (ct, _, _) = col(|f| f.delta_ciphertext);
    println!(
        "initial sync / baseline = {:.2}; delta overhead = {:.0} B over the ciphertext",
        initial / base,
        bytes - ct
    );
}
