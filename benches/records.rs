//! Records benchmark: Custos against plain sled with the same data unencrypted, in one
//! run on one machine.
//!
//! `cargo bench --bench records` (optionally `-- --records N --runs R`).
//!
//! Measures, for N records of ~2 KB: bulk insert (one action, one durable batch), durable
//! single insert, get by id (p50/p99), full decrypt-scan, and on-disk size. Each figure is
//! the median of R runs, with the spread (min–max). scrypt is excluded: the vaults use
//! the test-only KDF cost, since unlocking is not what is measured here.

use std::time::{Duration, Instant};

use custos::model::{Case, CaseStatus, Confidentiality, Record};
use custos::{Options, SecretString, Vault};
use uuid::Uuid;

const PASS: &str = "lantern orchard velvet quarry 1987 sparrow";

struct Args {
    records: usize,
    runs: usize,
    gets: usize,
    singles: usize,
}

fn args() -> Args {
    let mut a = Args {
        records: 10_000,
        runs: 3,
        gets: 2_000,
        singles: 200,
    };
    let argv: Vec<String> = std::env::args().collect();
    // `cargo bench` passes --bench; `cargo test --all-targets` does not: there, run a
    // small smoke version so the test suite proves the benchmark still works.
    if !argv.iter().any(|a| a == "--bench") {
        a = Args {
            records: 300,
            runs: 1,
            gets: 100,
            singles: 10,
        };
    }
    let mut i = 1;
    while i < argv.len() {
        let next = argv.get(i + 1).and_then(|v| v.parse().ok());
        match (argv[i].as_str(), next) {
            ("--records", Some(n)) => a.records = n,
            ("--runs", Some(n)) => a.runs = n,
            ("--gets", Some(n)) => a.gets = n,
            ("--singles", Some(n)) => a.singles = n,
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

/// A deterministic generator so both sides get the same data.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

const WORDS: &[&str] = &[
    "detained",
    "protest",
    "lawyer",
    "village",
    "journalist",
    "police",
    "threat",
    "court",
    "released",
    "family",
    "interrogation",
    "checkpoint",
    "union",
    "activist",
    "transfer",
    "hearing",
    "evidence",
    "witness",
    "night",
    "office",
    "raid",
    "charges",
    "appeal",
];

fn record(rng: &mut Rng) -> Record {
    let mut summary = String::with_capacity(2048);
    while summary.len() < 1900 {
        summary.push_str(WORDS[(rng.next() % WORDS.len() as u64) as usize]);
        summary.push(' ');
    }
    Record::Case(Case {
        title: format!("Case {}", rng.next() % 100_000),
        summary,
        status: CaseStatus::Open,
        tags: vec!["detention".into(), "2024".into()],
        confidentiality: Confidentiality::Restricted,
        owner: "documenter".into(),
    })
}

struct Figures {
    bulk_per_s: f64,
    single_per_s: f64,
    get_p50: Duration,
    get_p99: Duration,
    get_per_s: f64,
    scan_per_s: f64,
    disk_bytes: u64,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn pick(ids: &[Uuid], n: usize, rng: &mut Rng) -> Vec<Uuid> {
    (0..n)
        .map(|_| ids[(rng.next() % ids.len() as u64) as usize])
        .collect()
}

fn dir_size(p: &std::path::Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(p).unwrap().flatten() {
        let m = e.metadata().unwrap();
        total += if m.is_dir() {
            dir_size(&e.path())
        } else {
            m.len()
        };
    }
    total
}

fn run_custos(a: &Args, data: &[Record], seed: u64) -> Figures {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let pass = SecretString::from(PASS.to_owned());
    let opts = Options::insecure_for_tests();
    let mut vault = Vault::create(&dir, &pass, opts).unwrap();

    let t = Instant::now();
    let written = vault
        .commit(data.iter().cloned().map(custos::Change::Create).collect())
        .unwrap();
    let bulk = t.elapsed();
    let ids: Vec<Uuid> = written.iter().map(|w| w.record_id).collect();

    let t = Instant::now();
    for r in data.iter().take(a.singles) {
        vault.add(r.clone()).unwrap();
    }
    let single = t.elapsed();

    // Reopen so reads are not served by anything left from writing.
    vault.lock().unwrap();
    let vault = Vault::unlock(&dir, &pass, opts).unwrap();
    let mut rng = Rng(seed);
    let picks = pick(&ids, a.gets, &mut rng);
    let mut lat = Vec::with_capacity(picks.len());
    let t = Instant::now();
    for id in &picks {
        let s = Instant::now();
        let v = vault.get(*id).unwrap();
        std::hint::black_box(&v);
        lat.push(s.elapsed());
    }
    let gets = t.elapsed();
    lat.sort();

    let t = Instant::now();
    let mut n = 0;
    for item in vault.list(&custos::Filter::default()) {
        std::hint::black_box(vault.get(item.record_id).unwrap());
        n += 1;
    }
    let scan = t.elapsed();
    vault.lock().unwrap();

    Figures {
        bulk_per_s: data.len() as f64 / bulk.as_secs_f64(),
        single_per_s: a.singles as f64 / single.as_secs_f64(),
        get_p50: percentile(&lat, 0.5),
        get_p99: percentile(&lat, 0.99),
        get_per_s: picks.len() as f64 / gets.as_secs_f64(),
        scan_per_s: n as f64 / scan.as_secs_f64(),
        disk_bytes: dir_size(&dir),
    }
}

/// The same work on plain sled: JSON values, no encryption, same durability (flush and
/// fsync of the database files).
fn run_sled(a: &Args, data: &[Record], seed: u64) -> Figures {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    let fsync = |dir: &std::path::Path| {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            if e.file_type().unwrap().is_file() {
                std::fs::File::open(e.path()).unwrap().sync_all().unwrap();
            }
        }
    };
    let db = sled::open(&dir).unwrap();
    let tree = db.open_tree("versions").unwrap();

    let t = Instant::now();
    let mut batch = sled::Batch::default();
    let mut ids = Vec::with_capacity(data.len());
    for r in data {
        let id = Uuid::new_v4();
        batch.insert(id.as_bytes(), serde_json::to_vec(r).unwrap());
        ids.push(id);
    }
    tree.apply_batch(batch).unwrap();
    db.flush().unwrap();
    fsync(&dir);
    let bulk = t.elapsed();

    let t = Instant::now();
    for r in data.iter().take(a.singles) {
        tree.insert(Uuid::new_v4().as_bytes(), serde_json::to_vec(r).unwrap())
            .unwrap();
        db.flush().unwrap();
        fsync(&dir);
    }
    let single = t.elapsed();
    drop(tree);
    drop(db);

    let db = sled::open(&dir).unwrap();
    let tree = db.open_tree("versions").unwrap();
    let mut rng = Rng(seed);
    let picks = pick(&ids, a.gets, &mut rng);
    let mut lat = Vec::with_capacity(picks.len());
    let t = Instant::now();
    for id in &picks {
        let s = Instant::now();
        let v = tree.get(id.as_bytes()).unwrap().unwrap();
        let r: Record = serde_json::from_slice(&v).unwrap();
        std::hint::black_box(&r);
        lat.push(s.elapsed());
    }
    let gets = t.elapsed();
    lat.sort();

    let t = Instant::now();
    let mut n = 0;
    for kv in tree.iter() {
        let (_, v) = kv.unwrap();
        let r: Record = serde_json::from_slice(&v).unwrap();
        std::hint::black_box(&r);
        n += 1;
    }
    let scan = t.elapsed();

    Figures {
        bulk_per_s: data.len() as f64 / bulk.as_secs_f64(),
        single_per_s: a.singles as f64 / single.as_secs_f64(),
        get_p50: percentile(&lat, 0.5),
        get_p99: percentile(&lat, 0.99),
        get_per_s: picks.len() as f64 / gets.as_secs_f64(),
        scan_per_s: n as f64 / scan.as_secs_f64(),
        disk_bytes: dir_size(&dir),
    }
}

fn median_spread(xs: &mut [f64]) -> (f64, f64, f64) {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (xs[xs.len() / 2], xs[0], xs[xs.len() - 1])
}

fn main() {
    let a = args();
    let mut rng = Rng(0x5eed);
    let data: Vec<Record> = (0..a.records).map(|_| record(&mut rng)).collect();
    let plain = serde_json::to_vec(&data[0]).unwrap().len();
    println!(
        "records benchmark: {} records of ~{} bytes, {} runs, {} gets, {} single inserts, {} threads",
        a.records,
        plain,
        a.runs,
        a.gets,
        a.singles,
        rayon::current_num_threads()
    );
    let mut custos = Vec::new();
    let mut sled = Vec::new();
    for run in 0..a.runs {
        custos.push(run_custos(&a, &data, 7 + run as u64));
        sled.push(run_sled(&a, &data, 7 + run as u64));
    }
    type Get = fn(&Figures) -> f64;
    let rows: [(&str, Get, bool); 7] = [
        ("bulk insert (records/s)", |f| f.bulk_per_s, true),
        (
            "durable single insert (records/s)",
            |f| f.single_per_s,
            true,
        ),
        ("get by id (gets/s)", |f| f.get_per_s, true),
        ("get p50 (ms)", |f| f.get_p50.as_secs_f64() * 1e3, false),
        ("get p99 (ms)", |f| f.get_p99.as_secs_f64() * 1e3, false),
        ("full decrypt-scan (records/s)", |f| f.scan_per_s, true),
        ("on disk (MB)", |f| f.disk_bytes as f64 / 1e6, false),
    ];
    println!();
    println!("| figure | custos median (min–max) | plain sled median (min–max) | custos / sled |");
    println!("|---|---|---|---|");
    for (name, get, _higher_better) in rows {
        let (cm, clo, chi) = median_spread(&mut custos.iter().map(get).collect::<Vec<_>>());
        let (sm, slo, shi) = median_spread(&mut sled.iter().map(get).collect::<Vec<_>>());
        println!(
            "| {name} | {cm:.3} ({clo:.3}–{chi:.3}) | {sm:.3} ({slo:.3}–{shi:.3}) | {:.3} |",
            cm / sm
        );
    }
}
