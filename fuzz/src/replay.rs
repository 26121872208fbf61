//! The stable half of fuzzing: every corpus file of a target, then seeded mutations of
//! them, through the target's entry point, each within a time bound. The replay tests of
//! each crate include this file with `#[path]`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A target: its name and its entry point.
type Target = (&'static str, fn(&[u8]));

/// The longest one input may take (a debug build, on a loaded machine).
const BOUND: Duration = Duration::from_secs(10);

/// Mutated inputs per target (`CUSTOS_FUZZ_CASES` overrides).
const CASES: usize = 600;

/// Runs `targets` over their corpora under `fuzz_dir` (the `fuzz/` folder), over the
/// `seeds`, and over mutations of both. With `CUSTOS_FUZZ_WRITE_SEEDS=1`, writes the
/// seeds into the corpora first (`seed-<n>` files).
pub fn run(fuzz_dir: &str, targets: &[Target], seeds: &[(&str, Vec<u8>)]) {
    let fuzz_dir = Path::new(fuzz_dir);
    let cases = std::env::var("CUSTOS_FUZZ_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(CASES);
    for &(name, entry) in targets {
        let dir = fuzz_dir.join("corpus").join(name);
        let mine: Vec<&Vec<u8>> = seeds
            .iter()
            .filter(|(t, _)| *t == name)
            .map(|(_, s)| s)
            .collect();
        if std::env::var_os("CUSTOS_FUZZ_WRITE_SEEDS").is_some() {
            std::fs::create_dir_all(&dir).expect("a corpus folder");
            for (i, s) in mine.iter().enumerate() {
                std::fs::write(dir.join(format!("seed-{i}")), s).expect("a seed file");
            }
        }
        let mut inputs: Vec<(String, Vec<u8>)> = corpus(&dir)
            .into_iter()
            .map(|p| {
                let bytes = std::fs::read(&p).expect("a corpus file");
                (p.display().to_string(), bytes)
            })
            .collect();
        inputs.extend(
            mine.iter()
                .enumerate()
                .map(|(i, s)| (format!("seed {i}"), s.to_vec())),
        );
        assert!(
            !inputs.is_empty(),
            "{name}: no corpus in {} and no seed",
            dir.display()
        );
        for (label, bytes) in &inputs {
            one(name, entry, label, bytes);
        }
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ name.len() as u64);
        for i in 0..cases {
            let base = &inputs[rng.below(inputs.len())].1;
            let other = &inputs[rng.below(inputs.len())].1;
            let input = mutate(&mut rng, base, other);
            one(name, entry, &format!("mutation {i}"), &input);
        }
    }
}

fn corpus(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.is_file());
    files.sort();
    files
}

fn one(name: &str, entry: fn(&[u8]), label: &str, input: &[u8]) {
    let start = Instant::now();
    if catch_unwind(AssertUnwindSafe(|| entry(input))).is_err() {
        let keep = std::env::temp_dir().join(format!("custos-fuzz-{name}-failure"));
        let _ = std::fs::write(&keep, input);
        panic!(
            "{name}: {label} panicked (input kept in {}; run it with \
             `cargo +nightly fuzz run {name} {}`)",
            keep.display(),
            keep.display()
        );
    }
    let took = start.elapsed();
    assert!(took < BOUND, "{name}: {label} took {took:?}");
}

/// xorshift64*: a fixed sequence, so that a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One to four random edits of `base`: flips, random or boundary bytes, insertions,
/// deletions, truncation, duplication, a splice of `other`.
fn mutate(rng: &mut Rng, base: &[u8], other: &[u8]) -> Vec<u8> {
    const SPECIAL: [u8; 8] = [0, 1, 0x7f, 0x80, 0xff, b'"', b'\n', b','];
    let mut v = base.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(8) {
            0 if !v.is_empty() => {
                let i = at.min(v.len() - 1);
                v[i] ^= 1 << rng.below(8);
            }
            1 if !v.is_empty() => {
                let i = at.min(v.len() - 1);
                v[i] = SPECIAL[rng.below(SPECIAL.len())];
            }
            2 => {
                let n = 1 + rng.below(16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                v.splice(at..at, bytes);
            }
            3 if !v.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(v.len());
                v.drain(at.min(end)..end);
            }
            4 => v.truncate(at),
            5 if !v.is_empty() => {
                let end = (at + 1 + rng.below(64)).min(v.len());
                let part = v[at.min(end)..end].to_vec();
                v.splice(at..at, part);
            }
            6 if !other.is_empty() => {
                let from = rng.below(other.len());
                v.truncate(at);
                v.extend_from_slice(&other[from..]);
            }
            _ => {
                // A big-endian length field set to a large or boundary value.
                let n = [0u32, 1, 0x7fff_ffff, 0xffff_ffff, 0x0100_0000][rng.below(5)];
                let i = at.min(v.len().saturating_sub(4));
                if v.len() >= 4 {
                    v[i..i + 4].copy_from_slice(&n.to_be_bytes());
                }
            }
        }
    }
    v
}
