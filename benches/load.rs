//! Load test: many devices pushing and pulling at once against two hub instances on one
//! PostgreSQL database, on loopback.
//!
//! `cargo bench -p custos-hub --bench load` (optionally `-- --devices N --rounds R
//! --batch B --bytes S --time-limit SECS`; defaults: 500 devices, 5 rounds of 4 objects
//! of 1,500 bytes, at most 120 s of rounds; `--json PATH` writes the figures for
//! `cargo xtask bench`). `cargo test --all-targets` runs a smoke
//! version (20 devices, 2 rounds) so the test suite proves the load test still works.
//! Needs the PostgreSQL server named by `CUSTOS_TEST_POSTGRES` (scripts/test starts one;
//! a fresh database is made on it for the run and dropped after).
//!
//! Two `custos-hub serve --postgres` processes share the database (the second with the
//! first's keys). N devices enroll (half through each instance) and then, all at once,
//! each runs R rounds of: push a batch (with its cursor, so the answer says whether
//! anything waits), then pull until nothing more waits. Device i's objects are addressed
//! to device i+1, so every device also receives. A failed request is counted and tried
//! again (a push is idempotent). After the last round every device drains what is left.
//!
//! Reported: requests, requests/s over the rounds, p50/p99 latency of pushes, of pulls
//! and of all, errors; and the final check that every pushed object is in the database
//! exactly once and that every device received each object addressed to it exactly
//! once. The run fails if the check does not hold.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use custos_hub::admin::{self, AdminRequest};
use custos_hub::keys::DataDir;
use custos_sync::NetError;
use custos_wire::Frame;
use support::{random_frame, Backend, Hub, SimDevice};
use uuid::Uuid;

#[path = "common/report.rs"]
mod report;
use report::{Better, Report};

struct Args {
    devices: usize,
    rounds: usize,
    batch: usize,
    bytes: usize,
    time_limit: Duration,
}

fn args() -> Args {
    let mut a = Args {
        devices: 500,
        rounds: 5,
        batch: 4,
        bytes: 1500,
        time_limit: Duration::from_secs(120),
    };
    let argv: Vec<String> = std::env::args().collect();
    // `cargo bench` passes --bench; `cargo test --all-targets` does not: there, run a
    // small smoke version so the test suite proves the load test still works.
    if !argv.iter().any(|a| a == "--bench") {
        a.devices = 20;
        a.rounds = 2;
        a.time_limit = Duration::from_secs(60);
    }
    let mut i = 1;
    while i < argv.len() {
        let next = argv.get(i + 1).and_then(|v| v.parse::<usize>().ok());
        match (argv[i].as_str(), next) {
            ("--devices", Some(n)) if n >= 2 => a.devices = n,
            ("--rounds", Some(n)) if n >= 1 => a.rounds = n,
            ("--batch", Some(n)) if n >= 1 => a.batch = n,
            ("--bytes", Some(n)) if n >= 1 => a.bytes = n,
            ("--time-limit", Some(n)) => a.time_limit = Duration::from_secs(n as u64),
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

#[derive(Default)]
struct Tally {
    push: Vec<Duration>,
    pull: Vec<Duration>,
    /// Failed requests, by what failed.
    errors: BTreeMap<String, usize>,
}

impl Tally {
    fn error(&mut self, e: &NetError) {
        let kind = match e {
            NetError::Refused { status, code, .. } => format!("{status} {code}"),
            NetError::Dropped(_) => "connection lost".into(),
            NetError::Unreachable(_) => "unreachable".into(),
            NetError::Tls(_) => "TLS".into(),
            NetError::WrongPin => "pin".into(),
            NetError::Protocol(_) => "protocol".into(),
        };
        *self.errors.entry(kind).or_default() += 1;
    }
}

/// Tries a request until it succeeds (at most 20 times), timing each try.
fn timed<T>(
    tally: &mut Tally,
    push: bool,
    mut f: impl FnMut() -> Result<T, NetError>,
) -> Result<T, NetError> {
    let mut tries = 0;
    loop {
        let started = Instant::now();
        let r = f();
        let took = started.elapsed();
        if push {
            tally.push.push(took);
        } else {
            tally.pull.push(took);
        }
        match r {
            Ok(v) => return Ok(v),
            Err(e) => {
                tally.error(&e);
                tries += 1;
                if tries >= 20 {
                    return Err(e);
                }
                thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// Pulls until nothing more waits.
fn drain(d: &mut SimDevice, tally: &mut Tally, got: &mut Vec<Uuid>) -> Result<(), NetError> {
    loop {
        let (frames, more) = timed(tally, false, || d.pull(500))?;
        got.extend(frames.iter().map(|f: &Frame| f.id));
        if !more {
            return Ok(());
        }
    }
}

fn percentile_ms(sorted: &[Duration], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    Some(sorted[i].as_secs_f64() * 1000.0)
}

fn percentile(sorted: &[Duration], p: f64) -> String {
    if sorted.is_empty() {
        return "-".into();
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    format!("{:.1} ms", sorted[i].as_secs_f64() * 1000.0)
}

fn main() {
    let a = args();
    let backend = Backend::postgres();
    let tmp = tempfile::tempdir().unwrap();
    let hub_a = Hub::start(&tmp.path().join("a"), &backend);
    let hub_b = hub_a.another_instance(&tmp.path().join("b"));
    let hubs = [hub_a.addr.clone(), hub_b.addr.clone()];
    println!(
        "load: {} devices on 2 hub instances (PostgreSQL), {} rounds of {} objects of {} bytes",
        a.devices, a.rounds, a.batch, a.bytes
    );

    // Invites through the first instance's admin socket; enrollment on both, at once.
    let admin_dir = DataDir::new(hub_a.data.clone());
    let started = Instant::now();
    let invites: Vec<String> = (0..a.devices)
        .map(|i| {
            let reply = admin::send(
                &admin_dir,
                AdminRequest::Invite {
                    role: "field".into(),
                    expires_secs: 3600,
                    address: Some(hubs[i % 2].clone()),
                },
            );
            assert!(reply.ok, "invite: {}", reply.stderr);
            reply.stdout.trim().to_owned()
        })
        .collect();
    let enrolling: Vec<_> = invites
        .chunks(a.devices.div_ceil(16))
        .map(|chunk| {
            let chunk = chunk.to_vec();
            thread::spawn(move || {
                chunk
                    .iter()
                    .map(|inv| SimDevice::enroll(inv, None, "load").expect("enrolls"))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let devices: Vec<SimDevice> = enrolling
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    println!(
        "  enrollment: {} devices in {:.1} s",
        devices.len(),
        started.elapsed().as_secs_f64()
    );

    let recipients: Vec<String> = devices.iter().map(|d| d.recipient.clone()).collect();
    let n = devices.len();
    let go = Arc::new(Barrier::new(n + 1));
    let pushed_all = Arc::new(Barrier::new(n + 1));
    let deadline = Arc::new(Mutex::new(None::<Instant>));
    let rounds_done = Arc::new(Mutex::new(Vec::<usize>::new()));
    let workers: Vec<_> = devices
        .into_iter()
        .enumerate()
        .map(|(i, mut d)| {
            let to = recipients[(i + 1) % n].clone();
            let (go, pushed_all, deadline, rounds_done) = (
                go.clone(),
                pushed_all.clone(),
                deadline.clone(),
                rounds_done.clone(),
            );
            let (rounds, batch, bytes) = (a.rounds, a.batch, a.bytes);
            thread::Builder::new()
                .stack_size(256 << 10)
                .spawn(move || {
                    let mut tally = Tally::default();
                    let mut pushed = Vec::new();
                    let mut got = Vec::new();
                    go.wait();
                    let end = deadline.lock().unwrap().expect("a deadline");
                    let mut done = 0;
                    for _ in 0..rounds {
                        if Instant::now() > end {
                            break;
                        }
                        let frames: Vec<Frame> =
                            (0..batch).map(|_| random_frame(&to, bytes)).collect();
                        let r = timed(&mut tally, true, || d.push(&frames));
                        match r {
                            Ok(r) => {
                                assert!(r.rejected.is_empty(), "{:?}", r.rejected);
                                pushed.extend(frames.iter().map(|f| f.id));
                                if r.waiting == Some(true) {
                                    let _ = drain(&mut d, &mut tally, &mut got);
                                }
                            }
                            Err(e) => panic!("device {i}: a push failed 20 times: {e}"),
                        }
                        done += 1;
                    }
                    rounds_done.lock().unwrap().push(done);
                    pushed_all.wait();
                    drain(&mut d, &mut tally, &mut got)
                        .unwrap_or_else(|e| panic!("device {i}: the last pull failed: {e}"));
                    (pushed, got, tally)
                })
                .unwrap()
        })
        .collect();

    *deadline.lock().unwrap() = Some(Instant::now() + a.time_limit);
    let started = Instant::now();
    go.wait();
    pushed_all.wait();
    let rounds_time = started.elapsed();
    let mut results = Vec::with_capacity(n);
    for w in workers {
        results.push(w.join().unwrap());
    }
    let total_time = started.elapsed();

    let mut tally = Tally::default();
    let mut pushed_by: Vec<Vec<Uuid>> = Vec::with_capacity(n);
    let mut received: Vec<Vec<Uuid>> = Vec::with_capacity(n);
    for (p, g, t) in results {
        pushed_by.push(p);
        received.push(g);
        tally.push.extend(t.push);
        tally.pull.extend(t.pull);
        for (k, v) in t.errors {
            *tally.errors.entry(k).or_default() += v;
        }
    }
    let rounds: Vec<usize> = rounds_done.lock().unwrap().clone();
    let full = rounds.iter().filter(|r| **r == a.rounds).count();
    tally.push.sort();
    tally.pull.sort();
    let mut all: Vec<Duration> = tally.push.iter().chain(&tally.pull).copied().collect();
    all.sort();
    let requests = all.len();
    println!(
        "  rounds: {full} of {n} devices did all {} rounds within the {} s limit",
        a.rounds,
        a.time_limit.as_secs()
    );
    println!(
        "  requests: {requests} ({} pushes, {} pulls) in {:.1} s = {:.0} requests/s \
         (with the final pulls: {:.1} s)",
        tally.push.len(),
        tally.pull.len(),
        rounds_time.as_secs_f64(),
        requests as f64 / total_time.as_secs_f64(),
        total_time.as_secs_f64()
    );
    println!(
        "  latency: push p50 {} p99 {}; pull p50 {} p99 {}; all p50 {} p99 {}",
        percentile(&tally.push, 0.50),
        percentile(&tally.push, 0.99),
        percentile(&tally.pull, 0.50),
        percentile(&tally.pull, 0.99),
        percentile(&all, 0.50),
        percentile(&all, 0.99)
    );
    let errors: usize = tally.errors.values().sum();
    let kinds: Vec<String> = tally
        .errors
        .iter()
        .map(|(k, v)| format!("{v} × {k}"))
        .collect();
    println!(
        "  errors: {errors}{}",
        if kinds.is_empty() {
            String::new()
        } else {
            format!(" ({}; each tried again)", kinds.join(", "))
        }
    );

    let mut json = Report::new("load");
    json.param("devices", n);
    json.param("rounds", a.rounds);
    json.param("batch", a.batch);
    json.param("bytes", a.bytes);
    json.param("hub instances", 2);
    let group = format!("hub under {n} devices (2 instances, PostgreSQL, loopback)");
    json.add(
        &group,
        "throughput",
        "custos-hub",
        "requests/s",
        Better::Higher,
        &[requests as f64 / total_time.as_secs_f64()],
    );
    for (name, v) in [("push", &tally.push), ("pull", &tally.pull), ("all", &all)] {
        for (stat, p) in [("p50", 0.50), ("p99", 0.99)] {
            if let Some(ms) = percentile_ms(v, p) {
                let figure = format!("{name} latency {stat}");
                json.add(&group, &figure, "custos-hub", "ms", Better::Lower, &[ms]);
            }
        }
    }
    json.add(
        &group,
        "errors",
        "custos-hub",
        "requests",
        Better::Lower,
        &[errors as f64],
    );
    json.add(
        &group,
        "devices that did every round",
        "custos-hub",
        "devices",
        Better::Higher,
        &[full as f64],
    );
    json.finish();

    // The final check: every pushed object in the database once; every device received
    // what was addressed to it, each once.
    let pushed: Vec<Uuid> = pushed_by.iter().flatten().copied().collect();
    let pushed_set: HashSet<Uuid> = pushed.iter().copied().collect();
    assert_eq!(pushed_set.len(), pushed.len(), "an id was made twice");
    let mut c = backend.client();
    let row = c
        .query_one(
            "SELECT count(*), count(DISTINCT id), count(*) FILTER (WHERE id = ANY($1))
             FROM objects",
            &[&pushed],
        )
        .unwrap();
    let (rows, distinct, matching): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    let mut delivered_ok = 0;
    for i in 0..n {
        let from = &pushed_by[(i + n - 1) % n];
        let got = &received[i];
        let got_set: HashSet<&Uuid> = got.iter().collect();
        let from_set: HashSet<&Uuid> = from.iter().collect();
        if got.len() == got_set.len() && got_set == from_set {
            delivered_ok += 1;
        }
    }
    let ok = rows as usize == pushed.len()
        && distinct as usize == pushed.len()
        && matching as usize == pushed.len()
        && delivered_ok == n;
    println!(
        "  check: {} objects pushed; on the hub {rows} ({distinct} distinct, {matching} of \
         the pushed); {delivered_ok} of {n} devices received exactly what was addressed to \
         them, once: {}",
        pushed.len(),
        if ok { "ok" } else { "FAILED" }
    );
    assert!(ok, "the final check failed");
}
