//! Peers benchmark: Custos against what users would pick instead, measured side by side
//! in one run on this machine.
//!
//! `cargo bench --bench peers` (optionally `-- --records N --runs R --gets G --singles S
//! --queries Q --schema rowid|without-rowid --systems custos,sled,sqlcipher,sqlite --json
//! PATH`; search is measured when both custos and sqlcipher run).
//!
//! The systems, all holding the same N records of ~2 KB (cases whose text comes from the
//! shared corpus of `common/corpus.rs`, as in the search benchmark):
//! - `custos`: the real vault (every version a signed, age-encrypted value in sled);
//! - `sled`: plain sled 0.34, the records as JSON, no encryption (the cost of encryption),
//!   made durable the way the vault's store is (flush, then fsync);
//! - `sqlcipher`: SQLCipher (rusqlite, bundled), a raw 256-bit key (no KDF), WAL,
//!   `synchronous = FULL`, the JSON text in a rowid table with a unique index on the
//!   record id (`--schema without-rowid`: keyed by the record id instead; slower here);
//! - `sqlite`: the same library and schema without a key (unencrypted).
//!
//! Records (every figure the median of R runs, with the spread): bulk insert (all N in
//! one durable transaction), durable single insert (each record its own durable commit;
//! also the CPU it took per insert, of the inserting thread and of all threads, from the
//! scheduler's counters — apart from the disk's waits, whose spread between runs is
//! wide), get by id (random ids, p50/p99 and gets/s, the record decoded), full scan (every
//! record read and decoded: on one thread, then on both cores — Custos's `get_many`,
//! sled's and SQL's key space in two halves read at once), unlock-to-ready (a new handle on the closed store until it
//! answers a query: for Custos `custos_search::unlock` with the test KDF, the
//! deliberate scrypt second excluded, until the search index is ready), right after the
//! writing session and again (median of 4 closes and opens with nothing written between),
//! unlock-to-first-get (the same first open until a get by id is answered: Custos
//! answers it while the search index may still be loading), what the process wrote
//! while it opened (`wchar` of `/proc/self/io`), the close before it (Custos's `lock`:
//! it saves the index snapshot and the key cache), on-disk size.
//!
//! Search: Custos's index against SQLCipher FTS5 (`unicode61 remove_diacritics 2`, the
//! same durability) on the same records, with the same queries (one word, two words, a
//! phrase, a prefix; words drawn like the corpus's, by Zipf's law): p50/p95, and the
//! time to build the index. Both return the 50 best hits by score and the total count.
//!
//! Beside them, what one version costs in cryptography: an X25519 Diffie-Hellman and
//! ephemeral key, an Ed25519 signature and its check, ChaCha20-Poly1305 and SHA-256 over
//! 2 KB, and age's encrypt and decrypt of 2 KB, one thread, µs per operation.
//!
//! Without `--bench` (as under `cargo test --all-targets`) it is a small smoke run.

use custos_search::VaultSearch;
use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[path = "common/corpus.rs"]
mod corpus;
#[path = "common/report.rs"]
mod report;
use corpus::{text, word, Rng};
use report::{Better, Report};

use custos_model::{Case, CaseStatus, Confidentiality, Record};
use custos_search::SearchQuery;
use custos_vault::{Change, Filter, Options, SecretString, Vault};
use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

const PASS: &str = "lantern orchard velvet quarry 1987 sparrow";
/// SQLCipher's raw key (64 hex digits: used as the key itself, no KDF).
const RAW_KEY: &str = "2b7e151628aed2a6abf7158809cf4f3c762e7160f38b4da56a784d9045190cfe";

/// How the SQL peers lay out the table.
#[derive(Clone, Copy)]
enum Schema {
    /// An integer rowid table with a unique index on the record id (SQLite's usual
    /// layout; 2 KB rows are what rowid tables are built for).
    Rowid,
    /// The record id as the primary key of a `WITHOUT ROWID` table (the rows then sit in
    /// the key's B-tree).
    WithoutRowid,
}

impl Schema {
    fn sql(self) -> &'static str {
        match self {
            Schema::Rowid => {
                "CREATE TABLE records (n INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE,
                     json TEXT NOT NULL);"
            }
            Schema::WithoutRowid => {
                "CREATE TABLE records (id BLOB PRIMARY KEY, json TEXT NOT NULL) WITHOUT ROWID;"
            }
        }
    }

    fn name(self) -> &'static str {
        match self {
            Schema::Rowid => "rowid",
            Schema::WithoutRowid => "without-rowid",
        }
    }
}

struct Args {
    /// Which of `SYSTEMS` run (all by default; `--systems custos,sqlcipher`).
    systems: Vec<bool>,
    schema: Schema,
    records: usize,
    runs: usize,
    gets: usize,
    singles: usize,
    queries: usize,
}

fn args() -> Args {
    let argv: Vec<String> = std::env::args().collect();
    // `cargo bench` passes --bench; `cargo test --all-targets` does not: there, a small
    // smoke run proves the benchmark still works.
    let mut a = if argv.iter().any(|a| a == "--bench") {
        Args {
            systems: vec![true; SYSTEMS.len()],
            schema: Schema::Rowid,
            records: 10_000,
            runs: 3,
            gets: 2_000,
            singles: 200,
            queries: 200,
        }
    } else {
        Args {
            systems: vec![true; SYSTEMS.len()],
            schema: Schema::Rowid,
            records: 300,
            runs: 1,
            gets: 100,
            singles: 10,
            queries: 5,
        }
    };
    for pair in argv.windows(2) {
        match (pair[0].as_str(), pair[1].as_str()) {
            ("--schema", "rowid") => a.schema = Schema::Rowid,
            ("--schema", "without-rowid") => a.schema = Schema::WithoutRowid,
            ("--systems", list) => {
                let list: Vec<&str> = list.split(',').collect();
                a.systems = SYSTEMS.iter().map(|s| list.contains(s)).collect();
            }
            _ => {}
        }
        let n = pair[1].parse().ok();
        match (pair[0].as_str(), n) {
            ("--records", Some(n)) => a.records = n,
            ("--runs", Some(n)) => a.runs = n.max(1),
            ("--gets", Some(n)) => a.gets = n.max(1),
            ("--singles", Some(n)) => a.singles = n.max(1),
            ("--queries", Some(n)) => a.queries = n.max(1),
            _ => {}
        }
    }
    a.records = a.records.max(a.singles);
    a
}

/// The records: cases of ~2 KB (a title, a ~1.9 KB summary from the corpus, a status,
/// tags), each also as its JSON text (what the peers store) and its words (what FTS5
/// indexes).
struct Data {
    records: Vec<Record>,
    json: Vec<String>,
    text: Vec<String>,
}

fn data(n: usize) -> Data {
    let mut rng = Rng(0x5eed_cafe_f00d_0001);
    let statuses = [CaseStatus::Open, CaseStatus::Monitoring, CaseStatus::Closed];
    let tags = ["detention", "threat", "2024", "women"];
    let records: Vec<Record> = (0..n)
        .map(|_| {
            Record::Case(Case {
                title: format!("Case {} {}", rng.next() % 100_000, word(&mut rng)),
                summary: text(&mut rng, 1900),
                status: statuses[(rng.next() % 3) as usize],
                tags: vec![rng.pick(&tags).to_owned()],
                confidentiality: Confidentiality::Restricted,
                owner: "documenter".into(),
            })
        })
        .collect();
    let json = records
        .iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect();
    let text = records
        .iter()
        .map(|r| match r {
            Record::Case(c) => format!("{}\n{}\n{}", c.title, c.summary, c.tags.join(" ")),
            _ => unreachable!(),
        })
        .collect();
    Data {
        records,
        json,
        text,
    }
}

/// A query, drawn once and asked of both systems.
struct Query {
    kind: usize,
    words: Vec<String>,
}

const KINDS: [&str; 4] = ["one word", "two words", "phrase", "prefix"];

fn queries(per_kind: usize) -> Vec<Query> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = Vec::new();
    for kind in 0..KINDS.len() {
        for _ in 0..per_kind {
            let words = match kind {
                0 => vec![word(&mut rng).to_owned()],
                3 => {
                    let first = word(&mut rng).to_owned();
                    let cut: String = word(&mut rng).chars().take(3).collect();
                    vec![first, cut]
                }
                _ => vec![word(&mut rng).to_owned(), word(&mut rng).to_owned()],
            };
            out.push(Query { kind, words });
        }
    }
    out
}

impl Query {
    fn custos(&self) -> SearchQuery {
        let text = match self.kind {
            2 => format!("\"{}\"", self.words.join(" ")),
            _ => self.words.join(" "),
        };
        SearchQuery {
            text,
            prefix: self.kind == 3,
            ..Default::default()
        }
    }

    /// The FTS5 query: every word quoted (Arabic and accented words are barewords to
    /// FTS5 too, but quoting keeps any word literal).
    fn fts5(&self) -> String {
        match self.kind {
            2 => format!("\"{}\"", self.words.join(" ")),
            3 => format!("\"{}\" \"{}\"*", self.words[0], self.words[1]),
            _ => self
                .words
                .iter()
                .map(|w| format!("\"{w}\""))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

/// One run's figures for one system.
#[derive(Default)]
struct Figures {
    bulk_per_s: f64,
    single_per_s: f64,
    /// CPU time per durable single insert (µs): of the thread that inserts, and of
    /// every thread of the process (Custos's share producer and sled's flusher too).
    single_cpu_us: f64,
    single_cpu_all_us: f64,
    get_per_s: f64,
    get_p50_ms: f64,
    get_p99_ms: f64,
    scan_per_s: f64,
    /// The same on both cores (the records split in two halves read at once).
    scan_par_per_s: f64,
    ready_ms: f64,
    /// From the same open until a get by id is answered (Custos: the search index may
    /// still be loading; the others: their ready).
    first_get_ms: f64,
    /// Bytes the process wrote while it opened the store, until ready (MB).
    unlock_written_mb: f64,
    /// Unlock-to-ready again, after a close with nothing written: median of
    /// [`AGAIN`] cycles.
    ready_again_ms: f64,
    /// Closing the store after writing (Custos: `lock`).
    close_ms: f64,
    disk_mb: f64,
    /// Search (Custos and SQLCipher only): index build, and per query kind p50, p95 and
    /// the mean number of hits.
    search: Option<SearchFigures>,
}

struct SearchFigures {
    build_ms: f64,
    kinds: Vec<(f64, f64, f64)>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Unlock-to-ready measured again this many times after the first (median reported):
/// the first, right after the writing session, pays for what that session left.
const AGAIN: usize = 4;

/// Bytes this process has written through system calls so far (`wchar` of
/// `/proc/self/io`; 0 where there is none).
fn written_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|io| {
            io.lines()
                .find_map(|l| l.strip_prefix("wchar: ").map(|n| n.trim().parse().ok()))
                .flatten()
        })
        .unwrap_or(0)
}

/// CPU time (ns) so far of the calling thread and of every live thread of the process,
/// from the scheduler's counters (`schedstat`: nanoseconds on the CPU). Disk waits are
/// not in it, so it shows what a durable insert costs apart from the disk's spread.
fn cpu_ns() -> (u64, u64) {
    let read = |path: &Path| -> u64 {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
            .unwrap_or(0)
    };
    let own = read(Path::new("/proc/thread-self/schedstat"));
    let all = std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .flatten()
                .map(|t| read(&t.path().join("schedstat")))
                .sum()
        })
        .unwrap_or(0);
    (own, all)
}

/// The CPU per operation (µs) since `before` (from [`cpu_ns`]), for `n` operations.
fn cpu_us_since(before: (u64, u64), n: usize) -> (f64, f64) {
    let now = cpu_ns();
    let per = |a: u64, b: u64| a.saturating_sub(b) as f64 / 1e3 / n.max(1) as f64;
    (per(now.0, before.0), per(now.1, before.1))
}

fn mb_since(before: u64) -> f64 {
    written_bytes().saturating_sub(before) as f64 / 1e6
}

/// The median of `xs` (not empty).
fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

fn dir_size(p: &Path) -> u64 {
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

fn picks(ids: &[Uuid], n: usize, seed: u64) -> Vec<Uuid> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|_| ids[(rng.next() % ids.len() as u64) as usize])
        .collect()
}

/// Times `get` over `ids`: (gets/s, p50 ms, p99 ms).
fn time_gets(ids: &[Uuid], mut get: impl FnMut(Uuid)) -> (f64, f64, f64) {
    let mut lat = Vec::with_capacity(ids.len());
    let t = Instant::now();
    for id in ids {
        let s = Instant::now();
        get(*id);
        lat.push(s.elapsed());
    }
    let all = t.elapsed();
    lat.sort();
    (
        ids.len() as f64 / all.as_secs_f64(),
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.99)),
    )
}

/// Times the queries: per kind (p50 ms, p95 ms, mean hits).
fn time_queries(qs: &[Query], mut ask: impl FnMut(&Query) -> usize) -> Vec<(f64, f64, f64)> {
    (0..KINDS.len())
        .map(|kind| {
            let mut lat = Vec::new();
            let mut hits = 0;
            for q in qs.iter().filter(|q| q.kind == kind) {
                let t = Instant::now();
                hits += ask(q);
                lat.push(t.elapsed());
            }
            lat.sort();
            (
                ms(percentile(&lat, 0.5)),
                ms(percentile(&lat, 0.95)),
                hits as f64 / lat.len() as f64,
            )
        })
        .collect()
}

fn run_custos(a: &Args, d: &Data, qs: &[Query], seed: u64) -> Figures {
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let dir = tmp.path().join("vault");
    let pass = SecretString::from(PASS.to_owned());
    let opts = Options::insecure_for_tests();
    let mut f = Figures::default();
    let mut vault = Vault::create(&dir, &pass, opts).unwrap();

    let t = Instant::now();
    let written = vault
        .commit(d.records.iter().cloned().map(Change::Create).collect())
        .unwrap();
    f.bulk_per_s = d.records.len() as f64 / t.elapsed().as_secs_f64();
    let ids: Vec<Uuid> = written.iter().map(|w| w.record_id).collect();

    let cpu = cpu_ns();
    let t = Instant::now();
    for r in d.records.iter().take(a.singles) {
        vault.add(r.clone()).unwrap();
    }
    f.single_per_s = a.singles as f64 / t.elapsed().as_secs_f64();
    (f.single_cpu_us, f.single_cpu_all_us) = cpu_us_since(cpu, a.singles);

    // The search index, built from the records (then saved as its snapshot at lock).
    let total = vault.list(&Filter::default()).len();
    let t = Instant::now();
    while vault.prepare_search(usize::MAX).unwrap().0 < total {}
    let build_ms = ms(t.elapsed());
    let t = Instant::now();
    vault.lock().unwrap();
    f.close_ms = ms(t.elapsed());

    // Unlock-to-ready: the vault opened cold in a new handle, ready to search.
    let ready = |first: Option<Uuid>| {
        let t = Instant::now();
        let vault = custos_search::unlock(&dir, &pass, opts).unwrap();
        let first_get = first.map(|id| {
            std::hint::black_box(vault.get(id).unwrap());
            ms(t.elapsed())
        });
        // A current search snapshot makes the first call answer "done"; a vault whose
        // snapshot is missing or stale (fewer than 500 records indexed since the last
        // one) indexes the rest in steps of 500, as the app's warm-up does.
        loop {
            let (done, all) = vault.prepare_search(500).unwrap();
            if done == all {
                break;
            }
        }
        (vault, ms(t.elapsed()), first_get)
    };
    let before = written_bytes();
    let (mut vault, ready_ms, first_get) = ready(Some(ids[0]));
    f.unlock_written_mb = mb_since(before);
    (f.ready_ms, f.first_get_ms) = (ready_ms, first_get.unwrap_or_default());
    let mut again = Vec::new();
    for _ in 0..AGAIN {
        vault.lock().unwrap();
        let (v, ready_ms, _) = ready(None);
        vault = v;
        again.push(ready_ms);
    }
    f.ready_again_ms = median(again);

    (f.get_per_s, f.get_p50_ms, f.get_p99_ms) = time_gets(&picks(&ids, a.gets, seed), |id| {
        std::hint::black_box(vault.get(id).unwrap());
    });

    let t = Instant::now();
    let mut n = 0;
    for item in vault.list(&Filter::default()) {
        std::hint::black_box(vault.get(item.record_id).unwrap());
        n += 1;
    }
    f.scan_per_s = n as f64 / t.elapsed().as_secs_f64();

    // The full read the vault offers (exports and reports use it): on every core.
    let t = Instant::now();
    let all: Vec<Uuid> = vault
        .list(&Filter::default())
        .iter()
        .map(|i| i.record_id)
        .collect();
    let mut n = 0;
    for view in vault.get_many(&all) {
        std::hint::black_box(view.unwrap());
        n += 1;
    }
    f.scan_par_per_s = n as f64 / t.elapsed().as_secs_f64();

    let kinds = time_queries(qs, |q| vault.search(&q.custos()).unwrap().total);
    f.search = Some(SearchFigures { build_ms, kinds });
    vault.lock().unwrap();
    f.disk_mb = dir_size(&dir) as f64 / 1e6;
    f
}

/// Makes sled's files durable as the vault's store does: fdatasync of the log (`db`)
/// every time, an fsync of each file not synced before and of its folder.
fn sync_sled(dir: &Path, known: &mut HashSet<PathBuf>) {
    let mut stack = vec![dir.to_owned()];
    let mut changed = Vec::new();
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let (path, ty) = (e.path(), e.file_type().unwrap());
            if ty.is_dir() {
                stack.push(path);
            } else if e.file_name() == "db" {
                File::open(&path).and_then(|f| f.sync_data()).unwrap();
            } else if !known.contains(&path) && File::open(&path).and_then(|f| f.sync_all()).is_ok()
            {
                known.insert(path);
                changed.push(d.clone());
            }
        }
    }
    changed.dedup();
    for d in changed {
        File::open(&d).unwrap().sync_all().unwrap();
    }
}

fn open_sled(dir: &Path) -> (sled::Db, sled::Tree) {
    // The vault's store settings.
    let db = sled::Config::new()
        .path(dir)
        .cache_capacity(custos_vault::store::cache_capacity())
        .flush_every_ms(Some(1000))
        .open()
        .unwrap();
    let tree = db.open_tree("records").unwrap();
    (db, tree)
}

fn run_sled(a: &Args, d: &Data, seed: u64) -> Figures {
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let dir = tmp.path().join("db");
    let mut known = HashSet::new();
    let mut f = Figures::default();
    let (db, tree) = open_sled(&dir);

    let t = Instant::now();
    let mut batch = sled::Batch::default();
    let mut ids = Vec::with_capacity(d.records.len());
    for r in &d.records {
        let id = Uuid::new_v4();
        batch.insert(id.as_bytes(), serde_json::to_vec(r).unwrap());
        ids.push(id);
    }
    tree.apply_batch(batch).unwrap();
    db.flush().unwrap();
    sync_sled(&dir, &mut known);
    f.bulk_per_s = d.records.len() as f64 / t.elapsed().as_secs_f64();

    let cpu = cpu_ns();
    let t = Instant::now();
    for r in d.records.iter().take(a.singles) {
        tree.insert(Uuid::new_v4().as_bytes(), serde_json::to_vec(r).unwrap())
            .unwrap();
        db.flush().unwrap();
        sync_sled(&dir, &mut known);
    }
    f.single_per_s = a.singles as f64 / t.elapsed().as_secs_f64();
    (f.single_cpu_us, f.single_cpu_all_us) = cpu_us_since(cpu, a.singles);
    let t = Instant::now();
    drop(tree);
    drop(db);
    f.close_ms = ms(t.elapsed());

    let ready = || {
        let t = Instant::now();
        let (db, tree) = open_sled(&dir);
        std::hint::black_box(tree.get(ids[0].as_bytes()).unwrap().unwrap());
        (db, tree, ms(t.elapsed()))
    };
    let before = written_bytes();
    let (mut db, mut tree, ready_ms) = ready();
    f.unlock_written_mb = mb_since(before);
    (f.ready_ms, f.first_get_ms) = (ready_ms, ready_ms);
    let mut again = Vec::new();
    for _ in 0..AGAIN {
        drop(tree);
        drop(db);
        let ready_ms;
        (db, tree, ready_ms) = ready();
        again.push(ready_ms);
    }
    f.ready_again_ms = median(again);

    (f.get_per_s, f.get_p50_ms, f.get_p99_ms) = time_gets(&picks(&ids, a.gets, seed), |id| {
        let v = tree.get(id.as_bytes()).unwrap().unwrap();
        std::hint::black_box(serde_json::from_slice::<Record>(&v).unwrap());
    });

    let t = Instant::now();
    let mut n = 0;
    for kv in tree.iter() {
        let (_, v) = kv.unwrap();
        std::hint::black_box(serde_json::from_slice::<Record>(&v).unwrap());
        n += 1;
    }
    f.scan_per_s = n as f64 / t.elapsed().as_secs_f64();

    // Both halves of the key space at once (the ids are random: about half each).
    let t = Instant::now();
    let half = |range: (std::ops::Bound<[u8; 1]>, std::ops::Bound<[u8; 1]>)| {
        let mut n = 0usize;
        for kv in tree.range::<[u8; 1], _>(range) {
            let (_, v) = kv.unwrap();
            std::hint::black_box(serde_json::from_slice::<Record>(&v).unwrap());
            n += 1;
        }
        n
    };
    use std::ops::Bound::{Excluded, Included, Unbounded};
    let (a, b) = rayon::join(
        || half((Unbounded, Excluded([0x80]))),
        || half((Included([0x80]), Unbounded)),
    );
    f.scan_par_per_s = (a + b) as f64 / t.elapsed().as_secs_f64();
    db.flush().unwrap();
    drop(tree);
    drop(db);
    f.disk_mb = dir_size(&dir) as f64 / 1e6;
    f
}

/// Opens the database: with `key`, SQLCipher with that raw key (no KDF), else plain
/// SQLite. WAL, `synchronous = FULL` (every commit fsyncs the log).
fn open_sql(path: &Path, key: Option<&str>) -> Connection {
    let conn = Connection::open(path).unwrap();
    if let Some(key) = key {
        conn.execute_batch(&format!("PRAGMA key = \"x'{key}'\";"))
            .unwrap();
    }
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")
        .unwrap();
    conn
}

fn run_sql(a: &Args, d: &Data, qs: &[Query], seed: u64, key: Option<&str>) -> Figures {
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let path = tmp.path().join("records.db");
    let mut f = Figures::default();
    let mut conn = open_sql(&path, key);
    conn.execute_batch(a.schema.sql()).unwrap();

    let t = Instant::now();
    let mut ids = Vec::with_capacity(d.records.len());
    let tx = conn.transaction().unwrap();
    {
        let mut insert = tx
            .prepare("INSERT INTO records (id, json) VALUES (?1, ?2)")
            .unwrap();
        for r in &d.records {
            let id = Uuid::new_v4();
            insert
                .execute(params![
                    &id.as_bytes()[..],
                    serde_json::to_string(r).unwrap()
                ])
                .unwrap();
            ids.push(id);
        }
    }
    tx.commit().unwrap();
    f.bulk_per_s = d.records.len() as f64 / t.elapsed().as_secs_f64();

    let cpu = cpu_ns();
    let t = Instant::now();
    for r in d.records.iter().take(a.singles) {
        conn.prepare_cached("INSERT INTO records (id, json) VALUES (?1, ?2)")
            .unwrap()
            .execute(params![
                &Uuid::new_v4().as_bytes()[..],
                serde_json::to_string(r).unwrap()
            ])
            .unwrap();
    }
    f.single_per_s = a.singles as f64 / t.elapsed().as_secs_f64();
    (f.single_cpu_us, f.single_cpu_all_us) = cpu_us_since(cpu, a.singles);

    // The search index (SQLCipher only): FTS5 over the records' text, in one durable
    // transaction in the same database.
    let build_ms = key.map(|_| {
        let t = Instant::now();
        conn.execute_batch(
            "CREATE VIRTUAL TABLE search USING fts5(id UNINDEXED, body,
                 tokenize = 'unicode61 remove_diacritics 2');",
        )
        .unwrap();
        let tx = conn.transaction().unwrap();
        {
            let mut insert = tx
                .prepare("INSERT INTO search (id, body) VALUES (?1, ?2)")
                .unwrap();
            for (id, text) in ids.iter().zip(&d.text) {
                insert.execute(params![&id.as_bytes()[..], text]).unwrap();
            }
        }
        tx.commit().unwrap();
        ms(t.elapsed())
    });
    let t = Instant::now();
    drop(conn);
    f.close_ms = ms(t.elapsed());

    // Unlock-to-ready: open, key, first query.
    let ready = || {
        let t = Instant::now();
        let conn = open_sql(&path, key);
        let first: Option<String> = conn
            .query_row(
                "SELECT json FROM records WHERE id = ?1",
                [&ids[0].as_bytes()[..]],
                |r| r.get(0),
            )
            .optional()
            .unwrap();
        assert!(first.is_some());
        (conn, ms(t.elapsed()))
    };
    let before = written_bytes();
    let (mut conn, ready_ms) = ready();
    f.unlock_written_mb = mb_since(before);
    (f.ready_ms, f.first_get_ms) = (ready_ms, ready_ms);
    let mut again = Vec::new();
    for _ in 0..AGAIN {
        drop(conn);
        let ready_ms;
        (conn, ready_ms) = ready();
        again.push(ready_ms);
    }
    f.ready_again_ms = median(again);

    {
        let mut get = conn
            .prepare("SELECT json FROM records WHERE id = ?1")
            .unwrap();
        (f.get_per_s, f.get_p50_ms, f.get_p99_ms) = time_gets(&picks(&ids, a.gets, seed), |id| {
            let json: String = get.query_row([&id.as_bytes()[..]], |r| r.get(0)).unwrap();
            std::hint::black_box(serde_json::from_str::<Record>(&json).unwrap());
        });
    }

    let scan = |conn: &Connection, sql: &str| {
        let mut n = 0usize;
        let mut scan = conn.prepare(sql).unwrap();
        let mut rows = scan.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            let json = row.get_ref(0).unwrap().as_str().unwrap();
            std::hint::black_box(serde_json::from_str::<Record>(json).unwrap());
            n += 1;
        }
        n
    };
    let t = Instant::now();
    let n = scan(&conn, "SELECT json FROM records");
    f.scan_per_s = n as f64 / t.elapsed().as_secs_f64();

    // Both halves at once, each on its own connection (WAL lets readers run together).
    let halves = match a.schema {
        Schema::Rowid => {
            let mid: i64 = conn
                .query_row("SELECT (min(n) + max(n)) / 2 FROM records", [], |r| {
                    r.get(0)
                })
                .unwrap();
            [
                format!("SELECT json FROM records WHERE n <= {mid}"),
                format!("SELECT json FROM records WHERE n > {mid}"),
            ]
        }
        Schema::WithoutRowid => [
            "SELECT json FROM records WHERE id < x'80'".to_owned(),
            "SELECT json FROM records WHERE id >= x'80'".to_owned(),
        ],
    };
    let (first, second) = (open_sql(&path, key), open_sql(&path, key));
    let (h0, h1) = (&halves[0], &halves[1]);
    let t = Instant::now();
    let (x, y) = rayon::join(move || scan(&first, h0), move || scan(&second, h1));
    assert_eq!(x + y, n);
    f.scan_par_per_s = n as f64 / t.elapsed().as_secs_f64();

    if let Some(build_ms) = build_ms {
        // The 50 best hits by score and the total, in one statement.
        let mut search = conn
            .prepare(
                "SELECT id, count(*) OVER () FROM search WHERE search MATCH ?1
                 ORDER BY rank LIMIT 50",
            )
            .unwrap();
        let kinds = time_queries(qs, |q| {
            let mut total = 0;
            let mut rows = search.query([q.fts5()]).unwrap();
            while let Some(row) = rows.next().unwrap() {
                std::hint::black_box(row.get_ref(0).unwrap());
                total = row.get::<_, i64>(1).unwrap() as usize;
            }
            total
        });
        f.search = Some(SearchFigures { build_ms, kinds });
    }
    drop(conn);
    f.disk_mb = dir_size(tmp.path()) as f64 / 1e6;
    f
}

const SYSTEMS: [&str; 4] = ["custos", "sled", "sqlcipher", "sqlite"];

fn median_spread(xs: &[f64]) -> (f64, f64, f64) {
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn cell(xs: &[f64]) -> String {
    if xs.is_empty() {
        return "–".into();
    }
    let (m, lo, hi) = median_spread(xs);
    if xs.len() == 1 {
        fmt(m)
    } else {
        format!("{} ({}–{})", fmt(m), fmt(lo), fmt(hi))
    }
}

fn fmt(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// Custos against a peer: the ratio of medians, and whether Custos is ahead.
fn ratio(custos: &[f64], peer: &[f64], better: Better) -> String {
    if custos.is_empty() || peer.is_empty() {
        return "–".into();
    }
    let (c, p) = (median_spread(custos).0, median_spread(peer).0);
    // A peer that did next to none of it (SQLCipher writes a few bytes, if any, while
    // it opens): no ratio to give.
    if p.abs() < 1e-3 {
        return if c.abs() < 1e-3 {
            "=".into()
        } else {
            "✗".into()
        };
    }
    let r = c / p;
    let ahead = match better {
        Better::Higher => r >= 1.0,
        Better::Lower => r <= 1.0,
    };
    format!("{r:.2}{}", if ahead { "" } else { " ✗" })
}

/// What one record version costs in cryptography, one thread, µs per operation: the
/// operations a write and a read are made of (figures for docs/performance.md's "what
/// dominates"). Each is timed over `n` operations; `runs` times.
fn primitives(runs: usize, n: usize) -> Vec<(&'static str, Vec<f64>)> {
    use chacha20poly1305::aead::{Aead, KeyInit};
    use ed25519_dalek::Signer as _;
    use sha2::Digest as _;
    use std::io::Write as _;
    let body = vec![b'x'; 2048];
    let secret = x25519_dalek::StaticSecret::from([9u8; 32]);
    let public = x25519_dalek::PublicKey::from(&secret);
    let signing = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let aead = chacha20poly1305::ChaCha20Poly1305::new(&[3u8; 32].into());
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public();
    let seal = |body: &[u8]| {
        let e = age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
            .unwrap();
        let mut out = Vec::new();
        let mut w = e.wrap_output(&mut out).unwrap();
        w.write_all(body).unwrap();
        w.finish().unwrap();
        out
    };
    let sealed = seal(&body);
    let time = |f: &dyn Fn()| {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    };
    let mut out: Vec<(&'static str, Vec<f64>)> = Vec::new();
    let mut measure = |name: &'static str, f: &dyn Fn()| {
        out.push((name, (0..runs).map(|_| time(f)).collect()));
    };
    measure("X25519 Diffie-Hellman", &|| {
        std::hint::black_box(secret.diffie_hellman(&public));
    });
    measure("X25519 key from a secret (the ephemeral share)", &|| {
        std::hint::black_box(x25519_dalek::PublicKey::from(&secret));
    });
    measure("Ed25519 signature over 2 KB", &|| {
        std::hint::black_box(signing.sign(&body));
    });
    let sig = signing.sign(&body);
    let verifying = signing.verifying_key();
    measure("Ed25519 check of a signature over 2 KB", &|| {
        std::hint::black_box(verifying.verify_strict(&body, &sig).is_ok());
    });
    measure("ChaCha20-Poly1305 over 2 KB", &|| {
        std::hint::black_box(aead.encrypt(&[0u8; 12].into(), &body[..]).unwrap());
    });
    measure("SHA-256 of 2 KB", &|| {
        std::hint::black_box(sha2::Sha256::digest(&body));
    });
    measure("age: encrypt 2 KB to one X25519 recipient", &|| {
        std::hint::black_box(seal(&body));
    });
    measure("age: decrypt 2 KB with the identity", &|| {
        let d = age::Decryptor::new_buffered(&sealed[..]).unwrap();
        let mut r = d
            .decrypt(std::iter::once(&identity as &dyn age::Identity))
            .unwrap();
        let mut plain = Vec::new();
        std::io::Read::read_to_end(&mut r, &mut plain).unwrap();
        std::hint::black_box(plain);
    });
    out
}

fn main() {
    let a = args();
    let d = data(a.records);
    let qs = queries(a.queries);
    let avg = d.json.iter().map(String::len).sum::<usize>() / d.json.len().max(1);
    eprintln!(
        "peers benchmark: {} records of ~{avg} bytes of JSON, {} runs, {} gets, {} single \
         inserts, {} queries of each kind, {} threads, SQL schema {}",
        a.records,
        a.runs,
        a.gets,
        a.singles,
        a.queries,
        rayon::current_num_threads(),
        a.schema.name()
    );

    // runs[system][run]
    let mut runs: Vec<Vec<Figures>> = (0..SYSTEMS.len()).map(|_| Vec::new()).collect();
    for run in 0..a.runs {
        let seed = 7 + run as u64;
        let t = Instant::now();
        if a.systems[0] {
            runs[0].push(run_custos(&a, &d, &qs, seed));
        }
        if a.systems[1] {
            runs[1].push(run_sled(&a, &d, seed));
        }
        if a.systems[2] {
            runs[2].push(run_sql(&a, &d, &qs, seed, Some(RAW_KEY)));
        }
        if a.systems[3] {
            runs[3].push(run_sql(&a, &d, &qs, seed, None));
        }
        eprintln!(
            "run {}/{} in {:.1} s",
            run + 1,
            a.runs,
            t.elapsed().as_secs_f64()
        );
    }

    let mut json = Report::new("peers");
    json.param("records", a.records);
    json.param("record_json_bytes", avg);
    json.param("runs", a.runs);
    json.param("gets", a.gets);
    json.param("single_inserts", a.singles);
    json.param("queries_per_kind", a.queries);
    json.param("threads", rayon::current_num_threads());
    json.param("sql_schema", a.schema.name());

    type Get = fn(&Figures) -> f64;
    let rows: [(&str, &str, Better, Get); 15] = [
        ("bulk insert", "records/s", Better::Higher, |f| f.bulk_per_s),
        ("durable single insert", "records/s", Better::Higher, |f| {
            f.single_per_s
        }),
        (
            "durable single insert: CPU of the inserting thread",
            "µs",
            Better::Lower,
            |f| f.single_cpu_us,
        ),
        (
            "durable single insert: CPU of all threads",
            "µs",
            Better::Lower,
            |f| f.single_cpu_all_us,
        ),
        ("get by id", "gets/s", Better::Higher, |f| f.get_per_s),
        ("get by id: p50", "ms", Better::Lower, |f| f.get_p50_ms),
        ("get by id: p99", "ms", Better::Lower, |f| f.get_p99_ms),
        ("full scan, one thread", "records/s", Better::Higher, |f| {
            f.scan_per_s
        }),
        ("full scan, both cores", "records/s", Better::Higher, |f| {
            f.scan_par_per_s
        }),
        ("close after writing (lock)", "ms", Better::Lower, |f| {
            f.close_ms
        }),
        ("unlock-to-ready", "ms", Better::Lower, |f| f.ready_ms),
        ("unlock-to-first-get", "ms", Better::Lower, |f| {
            f.first_get_ms
        }),
        (
            "unlock-to-ready again (median of 4)",
            "ms",
            Better::Lower,
            |f| f.ready_again_ms,
        ),
        ("written while unlocking", "MB", Better::Lower, |f| {
            f.unlock_written_mb
        }),
        ("on disk", "MB", Better::Lower, |f| f.disk_mb),
    ];
    let group = "cryptography per operation (one thread)";
    println!(
        "\n## Cryptography per operation, one thread, {} runs\n",
        a.runs
    );
    println!("| operation | µs, median (min–max) |");
    println!("|---|---|");
    for (name, values) in primitives(a.runs, if a.records >= 10_000 { 2_000 } else { 50 }) {
        json.add(group, name, "primitive", "µs", Better::Lower, &values);
        println!("| {name} | {} |", cell(&values));
    }

    let group = format!("records {}", a.records);
    println!("\n## Records: {} records, {} runs\n", a.records, a.runs);
    println!("Median (min–max). Ratios are of medians; ✗ marks a figure where Custos trails.\n");
    println!(
        "| figure | custos | sled (plain) | sqlcipher | sqlite (plain) | custos / sqlcipher | custos / sled |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (name, unit, better, get) in rows {
        let values: Vec<Vec<f64>> = runs.iter().map(|rs| rs.iter().map(get).collect()).collect();
        for (system, v) in SYSTEMS.iter().zip(&values) {
            if !v.is_empty() {
                json.add(&group, name, system, unit, better, v);
            }
        }
        println!(
            "| {name} ({unit}) | {} | {} | {} | {} | {} | {} |",
            cell(&values[0]),
            cell(&values[1]),
            cell(&values[2]),
            cell(&values[3]),
            ratio(&values[0], &values[2], better),
            ratio(&values[0], &values[1], better),
        );
    }

    if !(a.systems[0] && a.systems[2]) {
        json.finish();
        return;
    }
    let group = format!("search {}", a.records);
    println!(
        "\n## Search: {} records, {} queries of each kind, {} runs\n",
        a.records, a.queries, a.runs
    );
    println!(
        "| figure | custos | sqlcipher FTS5 | custos / sqlcipher | mean hits (custos / fts5) |"
    );
    println!("|---|---|---|---|---|");
    let search = |s: usize| -> Vec<&SearchFigures> {
        runs[s].iter().map(|f| f.search.as_ref().unwrap()).collect()
    };
    let (cs, ss) = (search(0), search(2));
    let build = |v: &[&SearchFigures]| v.iter().map(|f| f.build_ms).collect::<Vec<_>>();
    let (cb, sb) = (build(&cs), build(&ss));
    json.add(&group, "index build", "custos", "ms", Better::Lower, &cb);
    json.add(&group, "index build", "sqlcipher", "ms", Better::Lower, &sb);
    println!(
        "| index build (ms) | {} | {} | {} | |",
        cell(&cb),
        cell(&sb),
        ratio(&cb, &sb, Better::Lower)
    );
    for (k, kind) in KINDS.iter().enumerate() {
        let hits = |v: &[&SearchFigures]| v[0].kinds[k].2;
        for (stat, pick) in [("p50", 0), ("p95", 1)] {
            let get = |v: &[&SearchFigures]| {
                v.iter()
                    .map(|f| {
                        if pick == 0 {
                            f.kinds[k].0
                        } else {
                            f.kinds[k].1
                        }
                    })
                    .collect::<Vec<_>>()
            };
            let (c, s) = (get(&cs), get(&ss));
            let name = format!("{kind}: {stat}");
            json.add(&group, &name, "custos", "ms", Better::Lower, &c);
            json.add(&group, &name, "sqlcipher", "ms", Better::Lower, &s);
            println!(
                "| {name} (ms) | {} | {} | {} | {} |",
                cell(&c),
                cell(&s),
                ratio(&c, &s, Better::Lower),
                if pick == 0 {
                    format!("{:.0} / {:.0}", hits(&cs), hits(&ss))
                } else {
                    String::new()
                }
            );
        }
    }
    json.finish();
}
