//! Patterns benchmark: the figures of every case, right after unlock, at 10k and 100k
//! records.
//!
//! `cargo bench --bench patterns` (optionally `-- --records N,M --runs R`; `--json PATH`
//! writes the figures for `cargo xtask bench`). Without `--bench` (`cargo test
//! --all-targets`), a smoke run of 1,000 and 2,000 records that also checks the counts.
//!
//! For each size, a vault of cases of 10 records each (the case, 3 persons — a victim,
//! a witness, a perpetrator —, 3 incidents with act types, dates of every precision,
//! places and coordinates, 2 interventions, a note; ~1 KB of text each), its search
//! index built once and saved (as the app does after an unlock), then, median of R runs,
//! each on a vault just unlocked (the test KDF: the deliberate scrypt second is not
//! counted):
//! 1. `custos_app::patterns::figures` of every case (what the screen and `custos stats`
//!    call), right after `custos_search::unlock`: the facts the search snapshot keeps,
//!    counted (no record decrypted);
//! 2. the same with no search snapshot (moved aside: a vault whose index is not built
//!    yet): every record read and decrypted, then counted;
//! 3. the baseline: the same records read and decrypted with `Vault::get_many`, nothing
//!    counted;
//! 4. `custos_patterns::figures::compute_with_ids` alone, on the records in memory;
//!
//! and the ratios 1 / 3 (the figures against reading the records) and 2 / 3.
//!
//! Then, once per size, where the time of reading goes: each step of `Vault::get_many`
//! timed alone on one thread over the same records (index lookup, sled read in the order
//! asked and in key order, SHA-256 of the ciphertext, age decryption with the remembered
//! file key, the JSON of the envelope, dropping the records), the full path of a value
//! the key cache does not know (X25519 and Ed25519, on a sample), and `get_many` itself
//! on one thread and on every core. In µs per record.

use std::time::{Duration, Instant};

#[path = "common/report.rs"]
mod report;
use report::{Better, Report};
#[path = "common/corpus.rs"]
mod corpus;
use corpus::{text, word, Rng, ACTS, PLACES};

use custos_model::{Kind, Record};
use custos_patterns::figures::compute_with_ids;
use custos_patterns::{Options, Shown};
use custos_search::{SearchQuery, VaultSearch};
use custos_vault::{Change, SecretString, Vault};
use serde_json::json;
use uuid::Uuid;

const PASS: &str = "lantern orchard velvet quarry 1987 sparrow";

struct Args {
    sizes: Vec<usize>,
    runs: usize,
    bench: bool,
}

fn args() -> Args {
    let argv: Vec<String> = std::env::args().collect();
    // `cargo test --all-targets` runs this without --bench: a small smoke run.
    let bench = argv.iter().any(|a| a == "--bench");
    let mut a = if bench {
        Args {
            sizes: vec![10_000, 100_000],
            runs: 5,
            bench,
        }
    } else {
        Args {
            sizes: vec![1_000, 2_000],
            runs: 1,
            bench,
        }
    };
    for pair in argv.windows(2) {
        match pair[0].as_str() {
            "--records" => {
                let sizes: Vec<usize> = pair[1].split(',').filter_map(|n| n.parse().ok()).collect();
                if !sizes.is_empty() {
                    a.sizes = sizes;
                }
            }
            "--runs" => {
                if let Ok(n) = pair[1].parse() {
                    a.runs = n;
                }
            }
            _ => {}
        }
    }
    a
}

/// The 9 records of one case after the case itself: 3 persons, 3 incidents, 2
/// interventions, a note.
fn case_records(rng: &mut Rng, case_id: Uuid, persons: &[Uuid; 3]) -> Vec<Record> {
    let rec = |v: serde_json::Value| serde_json::from_value::<Record>(v).unwrap();
    let mut out = Vec::with_capacity(9);
    let sexes = ["female", "male", "F", "", "non-binary"];
    let jobs = [
        "journalist",
        "Lawyer",
        "trade unionist",
        "student",
        "teacher",
        "",
    ];
    let orgs = ["National Police", "Army", "", "Intelligence service"];
    let consents = ["given", "refused", "not_asked"];
    for (i, role) in ["victim", "witness", "perpetrator"].into_iter().enumerate() {
        let group = i == 0 && rng.next().is_multiple_of(10);
        out.push(rec(json!({"kind": "person", "case_id": case_id,
            "name": format!("{} {}", word(rng), rng.next() % 1000),
            "roles": [role],
            "is_group": group,
            "group_size": if group { Some(2 + rng.next() % 40) } else { None },
            "sex": rng.pick(&sexes),
            "occupation": rng.pick(&jobs),
            "organisation": if i == 2 { rng.pick(&orgs) } else { "" },
            "consent": {"publish": rng.pick(&consents)},
            "human_rights_work": text(rng, 600)})));
    }
    let precisions = ["day", "day", "day", "approximate", "month", "year"];
    let countries = ["SY", "tn", "MX", "FR", "ZW", "BY", "Lebanon", ""];
    for _ in 0..3 {
        let year = 2015 + rng.next() % 10;
        let month = 1 + rng.next() % 12;
        let day = 1 + rng.next() % 28;
        let coords = rng.next().is_multiple_of(3);
        out.push(rec(json!({"kind": "incident", "case_id": case_id,
            "title": format!("{} {}", word(rng), word(rng)),
            "description": text(rng, 900),
            "start": {"date": format!("{year}-{month:02}-{day:02}"), "precision": rng.pick(&precisions)},
            "location": {
                "place": rng.pick(PLACES),
                "region": format!("Region {}", rng.next() % 20),
                "country": rng.pick(&countries),
                "lat": if coords { Some((rng.next() % 1_600) as f64 / 10.0 - 80.0) } else { None },
                "lon": if coords { Some((rng.next() % 3_600) as f64 / 10.0 - 180.0) } else { None },
            },
            "act_types": [rng.pick(ACTS), rng.pick(ACTS)],
            "persons": [
                {"person_id": persons[0], "role": "victim"},
                {"person_id": persons[1], "role": "witness"},
                {"person_id": persons[2], "role": "perpetrator"},
            ]})));
    }
    let mechanisms = [
        "un_sr_hrd",
        "omct_fidh_observatory",
        "eu_delegation",
        "achpr_sr_hrd",
    ];
    let statuses = ["draft", "sent", "acknowledged", "responded", "closed"];
    for _ in 0..2 {
        out.push(rec(json!({"kind": "intervention", "case_id": case_id,
            "title": format!("Urgent appeal {}", word(rng)), "type": "urgent_appeal",
            "mechanism": rng.pick(&mechanisms), "status": rng.pick(&statuses),
            "date": "2024-06-10", "response": text(rng, 400)})));
    }
    out.push(rec(
        json!({"kind": "note", "case_id": case_id, "text": text(rng, 1000)}),
    ));
    out
}

/// A vault of `records` records (cases of 10), written in batches.
fn build(dir: &std::path::Path, records: usize, rng: &mut Rng) -> usize {
    let pass = SecretString::from(PASS.to_owned());
    let mut vault = Vault::create(dir, &pass, custos_vault::Options::insecure_for_tests()).unwrap();
    let cases = records.div_ceil(10);
    let mut case_ids = Vec::with_capacity(cases);
    for chunk in (0..cases).collect::<Vec<_>>().chunks(5_000) {
        let batch = chunk
            .iter()
            .map(|i| {
                Change::Create(
                    serde_json::from_value(json!({"kind": "case",
                        "title": format!("Case {i} {}", word(rng)),
                        "summary": text(rng, 800),
                        "tags": [rng.pick(&["detention", "threat", "2024", "women"])]}))
                    .unwrap(),
                )
            })
            .collect();
        case_ids.extend(vault.commit(batch).unwrap().iter().map(|w| w.record_id));
    }
    // Person ids chosen here (as an import does), so incidents can name them.
    let mut batch = Vec::new();
    for case in &case_ids {
        let ids = [Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4()];
        for (i, record) in case_records(rng, *case, &ids).into_iter().enumerate() {
            batch.push(match ids.get(i) {
                Some(id) => Change::Import {
                    record_id: *id,
                    record,
                },
                None => Change::Create(record),
            });
        }
        if batch.len() >= 5_000 {
            vault.commit(std::mem::take(&mut batch)).unwrap();
        }
    }
    if !batch.is_empty() {
        vault.commit(batch).unwrap();
    }
    let total = vault.list(&Default::default()).len();
    // The search index, built once and saved, as the app does after an unlock.
    let t = Instant::now();
    while {
        let (done, all) = vault.prepare_search(20_000).unwrap();
        done < all
    } {}
    eprintln!(
        "search index of {total} records built and saved in {:.1} s ({:.1} MB encrypted)",
        t.elapsed().as_secs_f64(),
        std::fs::metadata(dir.join(custos_vault::SEARCH_SNAPSHOT))
            .map_or(0.0, |m| m.len() as f64 / 1e6)
    );
    vault.lock().unwrap();
    total
}

fn unlock(dir: &std::path::Path) -> Vault {
    let pass = SecretString::from(PASS.to_owned());
    Vault::unlock(dir, &pass, custos_vault::Options::insecure_for_tests()).unwrap()
}

/// The records the figures read: cases, incidents, persons, interventions.
fn counted_ids(vault: &Vault) -> Vec<Uuid> {
    vault
        .entries()
        .filter(|e| !e.deleted())
        .filter(|e| {
            matches!(
                e.kind,
                Kind::Case | Kind::Incident | Kind::Person | Kind::Intervention
            )
        })
        .map(|e| e.record_id)
        .collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s[s.len() / 2]
}

/// Microseconds per item of `f` run over `n` items.
fn per(n: usize, f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64() * 1e6 / n.max(1) as f64
}

/// Each step of reading the counted records, alone, on one thread (µs per record).
fn steps(dir: &std::path::Path) -> Vec<(&'static str, f64)> {
    use custos_vault::crypto::{self, KeyCache};
    use custos_vault::store::Store;
    let mut out = Vec::new();
    let vault = unlock(dir);
    let ids = counted_ids(&vault);
    let n = ids.len();
    let mut versions = Vec::with_capacity(n);
    out.push((
        "index: entry and head of each id",
        per(n, || {
            for id in &ids {
                versions.push(vault.entry_of(*id).unwrap().head().id);
            }
        }),
    ));
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let mut views = Vec::new();
    out.push((
        "get_many, one thread",
        per(n, || views = one.install(|| vault.get_many(&ids))),
    ));
    out.push(("drop the views (zeroize)", per(n, || drop(views))));
    out.push((
        "get_many, every core",
        per(n, || drop(vault.get_many(&ids))),
    ));
    vault.lock().unwrap();

    // The same steps by hand, on the database as the vault reads it.
    let pass = SecretString::from(PASS.to_owned());
    let identity =
        crypto::unwrap_identity(&std::fs::read(dir.join("identity.age")).unwrap(), &pass).unwrap();
    let store = Store::open(&dir.join("db"), 0).unwrap();
    let keyring: serde_json::Value = serde_json::from_slice(
        &crypto::open_bytes(&identity, &store.meta("keyring").unwrap().unwrap()).unwrap(),
    )
    .unwrap();
    let trusted: Vec<String> = serde_json::from_value(keyring["trusted_signers"].clone()).unwrap();
    let plain = crypto::open_bytes(&identity, &store.meta("keycache").unwrap().unwrap()).unwrap();
    // Magic line (16 bytes) and signature (64): checked by the vault, not timed here.
    let cache = KeyCache::from_bytes(&plain[16 + 64..]).unwrap();
    let mut cts = Vec::with_capacity(n);
    out.push((
        "sled read, order asked",
        per(n, || {
            for v in &versions {
                cts.push(store.version(*v).unwrap().unwrap());
            }
        }),
    ));
    let mut sorted = versions.clone();
    sorted.sort();
    out.push((
        "sled read, key order",
        per(n, || {
            for v in &sorted {
                std::hint::black_box(store.version(*v).unwrap());
            }
        }),
    ));
    out.push((
        "SHA-256 of the ciphertext (cache key)",
        per(n, || {
            for ct in &cts {
                std::hint::black_box(crypto::ciphertext_digest(ct));
            }
        }),
    ));
    let mut envelopes = Vec::with_capacity(n);
    let opened = per(n, || {
        for ct in &cts {
            envelopes.push(crypto::open_known(&cache, ct).unwrap().unwrap());
        }
    });
    out.push(("age decrypt, remembered key (incl. SHA-256)", opened));
    out.push((
        "JSON: scan the envelope only",
        per(n, || {
            for e in &envelopes {
                std::hint::black_box(serde_json::from_slice::<serde::de::IgnoredAny>(e).unwrap());
            }
        }),
    ));
    #[derive(serde::Deserialize)]
    struct Envelope {
        body: custos_model::Version,
        #[allow(dead_code)]
        signer: String,
    }
    let mut parsed = Vec::with_capacity(n);
    out.push((
        "JSON: envelope to a Version",
        per(n, || {
            for e in &envelopes {
                parsed.push(serde_json::from_slice::<Envelope>(e).unwrap().body);
            }
        }),
    ));
    out.push(("drop the versions", per(n, || drop(parsed))));
    let sample = n.min(2_000);
    let empty = KeyCache::default();
    out.push((
        "full path, key not remembered (X25519 + Ed25519)",
        per(sample, || {
            for ct in &cts[..sample] {
                std::hint::black_box(crypto::open(&identity, &trusted, &empty, ct).unwrap());
            }
        }),
    ));
    out
}

fn main() {
    let a = args();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut json = Report::new("patterns");
    json.param("sizes", a.sizes.clone());
    json.param("runs", a.runs);
    let mut table = Vec::new();
    let mut step_tables = Vec::new();
    for &size in &a.sizes {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("vault");
        let t = Instant::now();
        let total = build(&dir, size, &mut rng);
        eprintln!(
            "vault of {total} records written in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let options = Options::default();
        let (mut figures, mut unindexed, mut read, mut count) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let snapshot = dir.join(custos_vault::SEARCH_SNAPSHOT);
        let aside = dir.with_extension("search-aside");
        for _ in 0..a.runs {
            // 1. The figures, right after unlock (the search snapshot read meanwhile).
            let pass = SecretString::from(PASS.to_owned());
            let mut vault =
                custos_search::unlock(&dir, &pass, custos_vault::Options::insecure_for_tests())
                    .unwrap();
            let t = Instant::now();
            let f = custos_app::patterns::figures(&mut vault, &SearchQuery::default(), &options)
                .unwrap();
            figures.push(ms(t.elapsed()));
            let incidents = f.incidents;
            if !a.bench {
                // The smoke run checks what it measures.
                let cases = total.div_ceil(10) as u32;
                assert_eq!(f.cases, Shown::Exact(cases));
                assert_eq!(f.incidents, Shown::Exact(cases * 3));
                let interventions: u32 = f
                    .interventions
                    .iter()
                    .flat_map(|m| [m.draft, m.awaiting, m.answered])
                    .map(|s| match s {
                        Shown::Exact(n) => n,
                        Shown::FewerThan(_) | Shown::Between(..) => unreachable!("exact figures"),
                    })
                    .sum();
                assert_eq!(interventions, cases * 2);
            }
            drop(f);
            vault.lock().unwrap();

            // 2. The figures of a vault whose index is not built: every record read.
            std::fs::rename(&snapshot, &aside).unwrap();
            let mut vault = unlock(&dir);
            let t = Instant::now();
            let f = custos_app::patterns::figures(&mut vault, &SearchQuery::default(), &options)
                .unwrap();
            unindexed.push(ms(t.elapsed()));
            assert_eq!(f.incidents, incidents);
            drop(f);
            vault.lock().unwrap();
            std::fs::rename(&aside, &snapshot).unwrap();

            // 3. The baseline: the same records read, nothing counted.
            let vault = unlock(&dir);
            let t = Instant::now();
            let ids = counted_ids(&vault);
            let records: Vec<(Uuid, Record)> = ids
                .iter()
                .zip(vault.get_many(&ids))
                .filter_map(|(id, v)| v.unwrap().into_record().map(|r| (*id, r)))
                .collect();
            read.push(ms(t.elapsed()));

            // 4. Counting alone, on the records in memory.
            let t = Instant::now();
            let f = compute_with_ids(records.iter().map(|(id, r)| (*id, r)), &options);
            count.push(ms(t.elapsed()));
            assert_eq!(f.incidents, incidents);
            drop(records);
            vault.lock().unwrap();
        }
        let group = format!("records {}k", total / 1000);
        json.add(
            &group,
            "figures after unlock",
            "custos",
            "ms",
            Better::Lower,
            &figures,
        );
        json.add(
            &group,
            "figures, index not built",
            "custos",
            "ms",
            Better::Lower,
            &unindexed,
        );
        json.add(
            &group,
            "baseline: records read",
            "custos",
            "ms",
            Better::Lower,
            &read,
        );
        json.add(
            &group,
            "compute alone",
            "custos",
            "ms",
            Better::Lower,
            &count,
        );
        table.push((
            total,
            median(&figures),
            median(&unindexed),
            median(&read),
            median(&count),
        ));
        let s = steps(&dir);
        for (name, us) in &s {
            json.add(
                &group,
                &format!("step: {name}"),
                "custos",
                "µs/record",
                Better::Lower,
                &[*us],
            );
        }
        step_tables.push((total, s));
    }
    json.finish();

    println!(
        "\n## Patterns: figures of every case, {} runs (medians)\n",
        a.runs
    );
    println!(
        "| records | figures after unlock | figures, index not built | baseline: records read | compute alone | figures / read | not built / read |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (total, f, u, r, c) in table {
        println!(
            "| {total} | {f:.1} ms | {u:.1} ms | {r:.1} ms | {c:.1} ms | {:.2} | {:.2} |",
            f / r,
            u / r
        );
    }
    for (total, s) in step_tables {
        println!(
            "\n## Where reading {total} records goes (one thread unless said, µs per record)\n"
        );
        println!("| step | µs/record |");
        println!("|---|---|");
        for (name, us) in s {
            println!("| {name} | {us:.2} |");
        }
    }
}
