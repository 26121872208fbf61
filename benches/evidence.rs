//! Evidence benchmark: importing a large file into the vault (`Vault::attach`) and
//! writing a decrypted copy out (`Vault::export_evidence`), against what the same
//! machine does on the same file in the same run without Custos.
//!
//! `cargo bench --bench evidence` (optionally `-- --bytes N --runs R --json PATH`;
//! defaults: a 1 GiB file, 3 runs; `--json` writes the figures for `cargo xtask bench`). `cargo test --all-targets` runs a smoke version (8 MiB, 1 run) so the
//! test suite proves the benchmark still works.
//!
//! An input file of N bytes of pseudo-random content is generated once (in chunks, never
//! all in memory); it stays in the page cache, so reading it is cheap and the figures
//! are about the work done on it. Each of R runs then measures, in MB/s (10^6 bytes/s of
//! plaintext):
//!
//! - attach: a fresh vault (test-only KDF cost), one case, then `attach` — age STREAM
//!   encryption into `blobs/`, SHA-256 of the plaintext and of the ciphertext, fsync,
//!   rename, the evidence record and its first custody entry;
//! - export: `export_evidence` to a new file — age decryption, SHA-256 check, fsync, a
//!   custody entry and the two report files;
//! - age encrypt / decrypt: the `age` crate used directly (x25519 recipient,
//!   `std::io::copy` to and from files, fsync at the end) — the floor for attach/export;
//! - raw ChaCha20-Poly1305 + file I/O: the file read and encrypted in 64 KiB chunks (a
//!   counter nonce per chunk), ciphertext written to a file and fsynced;
//! - AEAD limit: the same AEAD over one 64 KiB buffer in memory, N bytes in all (no I/O).
//!
//! Peak resident memory growth: before each file operation the peak is reset
//! ("5" > /proc/self/clear_refs, Linux) and the current VmRSS read; after it, VmHWM minus
//! that RSS, in MiB. Where the reset is refused, the absolute VmHWM is reported instead,
//! and said so. Each figure is the median of R runs, with the spread (min–max).

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::time::Instant;

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use custos_model::{Case, Record};
use custos_vault::Attach;
use custos_vault::{Options, SecretString, Vault};

#[path = "common/report.rs"]
mod report;
use report::{Better, Report};

const PASS: &str = "lantern orchard velvet quarry 1987 sparrow";
const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;

struct Args {
    bytes: u64,
    runs: usize,
}

fn args() -> Args {
    let mut a = Args {
        bytes: 1 << 30,
        runs: 3,
    };
    let argv: Vec<String> = std::env::args().collect();
    // `cargo bench` passes --bench; `cargo test --all-targets` does not: there, run a
    // small smoke version so the test suite proves the benchmark still works.
    if !argv.iter().any(|a| a == "--bench") {
        a = Args {
            bytes: 8 << 20,
            runs: 1,
        };
    }
    let mut i = 1;
    while i < argv.len() {
        let next = argv.get(i + 1).and_then(|v| v.parse::<u64>().ok());
        match (argv[i].as_str(), next) {
            ("--bytes", Some(n)) if n > 0 => a.bytes = n,
            ("--runs", Some(n)) if n > 0 => a.runs = n as usize,
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

/// A cheap deterministic generator (xorshift64) for the input's content.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Writes `bytes` bytes of pseudo-random content to `path`, 1 MiB at a time.
fn generate(path: &Path, bytes: u64) {
    let mut rng = Rng(0x5eed_f0e7_1de7_ce00);
    let mut out = File::create_new(path).unwrap();
    let mut block = vec![0u8; 1 << 20];
    let mut left = bytes;
    while left > 0 {
        for word in block.chunks_exact_mut(8) {
            word.copy_from_slice(&rng.next().to_le_bytes());
        }
        let n = left.min(block.len() as u64) as usize;
        out.write_all(&block[..n]).unwrap();
        left -= n as u64;
    }
    out.sync_all().unwrap();
}

/// A field of /proc/self/status, in KiB.
fn status_kib(field: &str) -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| {
        l.strip_prefix(field)?
            .strip_prefix(':')?
            .trim()
            .strip_suffix("kB")?
            .trim()
            .parse()
            .ok()
    })
}

/// One operation's figures.
#[derive(Clone, Copy)]
struct Sample {
    mb_per_s: f64,
    /// Peak RSS growth (or absolute VmHWM when `reset` is false), MiB.
    mem_mib: f64,
    /// Whether the peak could be reset before the operation.
    reset: bool,
}

/// Times `op` over `bytes` bytes, with the peak resident memory growth during it.
fn measure<T>(bytes: u64, op: impl FnOnce() -> T) -> (T, Sample) {
    let reset = fs::write("/proc/self/clear_refs", "5").is_ok();
    let rss = status_kib("VmRSS").unwrap_or(0);
    let t = Instant::now();
    let out = op();
    let secs = t.elapsed().as_secs_f64();
    let hwm = status_kib("VmHWM").unwrap_or(0);
    let kib = if reset { hwm.saturating_sub(rss) } else { hwm };
    let sample = Sample {
        mb_per_s: bytes as f64 / 1e6 / secs,
        mem_mib: kib as f64 / 1024.0,
        reset,
    };
    (out, sample)
}

/// Reads until `buf` is full or the file ends; returns how many bytes were read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("reading the input: {e}"),
        }
    }
    n
}

fn nonce(counter: u64) -> Nonce {
    let mut n = [0u8; 12];
    n[..8].copy_from_slice(&counter.to_le_bytes());
    *Nonce::from_slice(&n)
}

/// The file encrypted in 64 KiB chunks (chunk, then its tag) to `out`, fsynced.
fn raw_aead_io(cipher: &ChaCha20Poly1305, input: &Path, out: &Path) -> u64 {
    let mut r = File::open(input).unwrap();
    let mut w = File::create_new(out).unwrap();
    let mut buf = vec![0u8; CHUNK + TAG];
    let (mut counter, mut total) = (0u64, 0u64);
    loop {
        let n = read_full(&mut r, &mut buf[..CHUNK]);
        if n == 0 {
            break;
        }
        let tag = cipher
            .encrypt_in_place_detached(&nonce(counter), b"", &mut buf[..n])
            .unwrap();
        buf[n..n + TAG].copy_from_slice(&tag);
        w.write_all(&buf[..n + TAG]).unwrap();
        counter += 1;
        total += n as u64;
        if n < CHUNK {
            break;
        }
    }
    w.sync_all().unwrap();
    total
}

/// The AEAD alone: one 64 KiB buffer encrypted in place until `bytes` bytes are done.
fn aead_limit(cipher: &ChaCha20Poly1305, bytes: u64) {
    let mut buf = vec![0u8; CHUNK];
    let mut rng = Rng(0xa11ce);
    for word in buf.chunks_exact_mut(8) {
        word.copy_from_slice(&rng.next().to_le_bytes());
    }
    let (mut counter, mut left) = (0u64, bytes);
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        let tag = cipher
            .encrypt_in_place_detached(&nonce(counter), b"", &mut buf[..n])
            .unwrap();
        std::hint::black_box(&tag);
        counter += 1;
        left -= n as u64;
    }
    std::hint::black_box(&buf);
}

/// The `age` crate directly: `input` encrypted to `recipient` into `out`, fsynced.
fn age_encrypt(recipient: &age::x25519::Recipient, input: &Path, out: &Path) {
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(recipient as &dyn age::Recipient)).unwrap();
    let mut w = encryptor
        .wrap_output(File::create_new(out).unwrap())
        .unwrap();
    let mut r = BufReader::with_capacity(CHUNK, File::open(input).unwrap());
    io::copy(&mut r, &mut w).unwrap();
    w.finish().unwrap().sync_all().unwrap();
}

/// The `age` crate directly: `input` decrypted with `identity` into `out`, fsynced.
fn age_decrypt(identity: &age::x25519::Identity, input: &Path, out: &Path) -> u64 {
    let file = BufReader::with_capacity(CHUNK * 2, File::open(input).unwrap());
    let decryptor = age::Decryptor::new_buffered(file).unwrap();
    let mut r = decryptor
        .decrypt(std::iter::once(identity as &dyn age::Identity))
        .unwrap();
    let mut w = BufWriter::with_capacity(CHUNK * 2, File::create_new(out).unwrap());
    let n = io::copy(&mut r, &mut w).unwrap();
    w.into_inner().unwrap().sync_all().unwrap();
    n
}

const ROWS: [&str; 6] = [
    "attach (custos)",
    "export (custos)",
    "age encrypt (direct)",
    "age decrypt (direct)",
    "raw ChaCha20-Poly1305 + file I/O",
    "AEAD limit (in memory, no I/O)",
];
const ATTACH: usize = 0;
const EXPORT: usize = 1;
const AGE_ENC: usize = 2;
const AGE_DEC: usize = 3;
const RAW_IO: usize = 4;
const LIMIT: usize = 5;

/// One run: every row once, each on fresh files that are removed afterwards.
fn run(input: &Path, bytes: u64) -> [Sample; 6] {
    let none = Sample {
        mb_per_s: 0.0,
        mem_mib: 0.0,
        reset: true,
    };
    let mut s = [none; 6];

    // Custos: a fresh vault with one case.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let pass = SecretString::from(PASS.to_owned());
    let mut vault = Vault::create(&dir, &pass, Options::insecure_for_tests()).unwrap();
    let case_id = vault
        .add(Record::Case(Case {
            title: "Raid on a newspaper".into(),
            ..Case::default()
        }))
        .unwrap();
    let (id, sample) = measure(bytes, || {
        vault
            .attach(
                input,
                Attach {
                    case_id,
                    ..Attach::default()
                },
            )
            .unwrap()
    });
    s[ATTACH] = sample;
    let dest = tmp.path().join("exported.bin");
    let (exported, sample) = measure(bytes, || vault.export_evidence(id, &dest).unwrap());
    s[EXPORT] = sample;
    assert_eq!(exported.size, bytes);
    vault.lock().unwrap();
    drop(tmp);

    // age directly.
    let tmp = tempfile::tempdir().unwrap();
    let identity = age::x25519::Identity::generate();
    let encrypted = tmp.path().join("direct.age");
    let decrypted = tmp.path().join("direct.bin");
    let ((), sample) = measure(bytes, || {
        age_encrypt(&identity.to_public(), input, &encrypted)
    });
    s[AGE_ENC] = sample;
    let (n, sample) = measure(bytes, || age_decrypt(&identity, &encrypted, &decrypted));
    s[AGE_DEC] = sample;
    assert_eq!(n, bytes);
    drop(tmp);

    // The AEAD alone, with and without the file I/O.
    let tmp = tempfile::tempdir().unwrap();
    let cipher = ChaCha20Poly1305::new(Key::from_slice(&[0x42; 32]));
    let out = tmp.path().join("raw.bin");
    let (n, sample) = measure(bytes, || raw_aead_io(&cipher, input, &out));
    s[RAW_IO] = sample;
    assert_eq!(n, bytes);
    drop(tmp);
    let ((), sample) = measure(bytes, || aead_limit(&cipher, bytes));
    s[LIMIT] = sample;
    s
}

fn median_spread(xs: &mut [f64]) -> (f64, f64, f64) {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (xs[xs.len() / 2], xs[0], xs[xs.len() - 1])
}

fn cpu_model() -> String {
    fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// The figures as JSON (`--json PATH`): one group per operation direction, so each
/// measure compares Custos with the others on the same work.
fn write_json(a: &Args, runs: &[[Sample; 6]], reset: bool) {
    let mut json = Report::new("evidence");
    json.param("bytes", a.bytes);
    json.param("runs", a.runs);
    json.param(
        "memory",
        if reset {
            "peak RSS growth"
        } else {
            "absolute VmHWM"
        },
    );
    let group = format!("attachments {:.0} MiB", a.bytes as f64 / (1 << 20) as f64);
    let col = |r: usize, f: fn(&Sample) -> f64| runs.iter().map(|s| f(&s[r])).collect::<Vec<_>>();
    for (name, rows) in [
        (
            "encrypt",
            [
                (ATTACH, "custos"),
                (AGE_ENC, "age crate"),
                (RAW_IO, "raw ChaCha20-Poly1305 + I/O"),
            ],
        ),
        (
            "decrypt",
            [
                (EXPORT, "custos"),
                (AGE_DEC, "age crate"),
                (RAW_IO, "raw ChaCha20-Poly1305 + I/O"),
            ],
        ),
    ] {
        for (r, system) in rows {
            json.add(
                &group,
                &format!("{name} MB/s"),
                system,
                "MB/s",
                Better::Higher,
                &col(r, |s| s.mb_per_s),
            );
        }
        json.add(
            &group,
            &format!("{name} MB/s"),
            "AEAD limit (memory, no I/O)",
            "MB/s",
            Better::Higher,
            &col(LIMIT, |s| s.mb_per_s),
        );
        for (r, system) in rows {
            json.add(
                &group,
                &format!("{name} peak memory"),
                system,
                "MiB",
                Better::Lower,
                &col(r, |s| s.mem_mib),
            );
        }
    }
    json.finish();
}

fn main() {
    let a = args();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "evidence benchmark: N = {} bytes ({:.1} MiB), R = {} runs; machine: nproc {}, CPU {}",
        a.bytes,
        a.bytes as f64 / (1 << 20) as f64,
        a.runs,
        cpus,
        cpu_model()
    );

    let input_dir = tempfile::tempdir().unwrap();
    let input = input_dir.path().join("input.bin");
    generate(&input, a.bytes);

    let runs: Vec<[Sample; 6]> = (0..a.runs).map(|_| run(&input, a.bytes)).collect();
    let reset = runs.iter().flatten().all(|s| s.reset);
    write_json(&a, &runs, reset);
    let medians: Vec<f64> = (0..ROWS.len())
        .map(|r| median_spread(&mut runs.iter().map(|s| s[r].mb_per_s).collect::<Vec<_>>()).0)
        .collect();

    println!();
    if !reset {
        println!(
            "note: /proc/self/clear_refs could not be written, so the peak could not be \
             reset: the memory column is the absolute VmHWM, not the growth."
        );
    }
    let mem_header = if reset {
        "peak RSS growth MiB median (min–max)"
    } else {
        "VmHWM MiB (absolute) median (min–max)"
    };
    println!("| operation | MB/s median (min–max) | {mem_header} |");
    println!("|---|---|---|");
    for (r, name) in ROWS.iter().enumerate() {
        let (m, lo, hi) =
            median_spread(&mut runs.iter().map(|s| s[r].mb_per_s).collect::<Vec<_>>());
        let mem = if r == LIMIT {
            "—".to_owned()
        } else {
            let (m, lo, hi) =
                median_spread(&mut runs.iter().map(|s| s[r].mem_mib).collect::<Vec<_>>());
            format!("{m:.1} ({lo:.1}–{hi:.1})")
        };
        println!("| {name} | {m:.0} ({lo:.0}–{hi:.0}) | {mem} |");
    }

    println!();
    println!("| ratio (of the medians) | % |");
    println!("|---|---|");
    for (name, num, den) in [
        ("attach / raw AEAD + I/O", ATTACH, RAW_IO),
        ("export / raw AEAD + I/O", EXPORT, RAW_IO),
        ("attach / age encrypt", ATTACH, AGE_ENC),
        ("export / age decrypt", EXPORT, AGE_DEC),
    ] {
        println!("| {name} | {:.0} % |", 100.0 * medians[num] / medians[den]);
    }
}
