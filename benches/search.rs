//! Search benchmark: unlock-to-ready and query latency on a large vault.
//!
//! `cargo bench --bench search` (optionally `-- --records N --queries Q --runs R`).
//!
//! Builds a vault of N records (~2 KB each: cases with incidents, persons, notes and
//! interventions, in English, French, Spanish and Arabic), then measures:
//! - unlock-to-ready: `Vault::unlock` (the test KDF: the deliberate scrypt second is not
//!   counted) plus loading the search index from its encrypted snapshot, median of R
//!   runs; beside it, in the same run, the baseline of rebuilding the search index from
//!   the records (what an unlock without a snapshot costs);
//! - search latency p50/p95/p99 for one-word, two-word, phrase, prefix and filtered
//!   queries (Q each). Query words are drawn like the corpus's words (Zipf's law), so
//!   most queries ask for common words that match many records (the harder case); one
//!   row draws rare words instead.

use custos_search::VaultSearch;
use std::time::{Duration, Instant};

#[path = "common/report.rs"]
mod report;
use report::{Better, Report};
#[path = "common/corpus.rs"]
mod corpus;
use corpus::{text, vocab, word, Rng, ACTS, PLACES};

use custos_model::{CaseStatus, Record, Role};
use custos_search::SearchQuery;
use custos_vault::{Change, Options, SecretString, Vault};
use serde_json::json;
use uuid::Uuid;

const PASS: &str = "lantern orchard velvet quarry 1987 sparrow";

struct Args {
    records: usize,
    queries: usize,
    runs: usize,
}

fn args() -> Args {
    let argv: Vec<String> = std::env::args().collect();
    // `cargo test --all-targets` runs this without --bench: a small smoke run.
    let bench = argv.iter().any(|a| a == "--bench");
    let mut a = if bench {
        Args {
            records: 100_000,
            queries: 300,
            runs: 5,
        }
    } else {
        Args {
            records: 2_000,
            queries: 20,
            runs: 1,
        }
    };
    for pair in argv.windows(2) {
        let n = pair[1].parse().ok();
        match (pair[0].as_str(), n) {
            ("--records", Some(n)) => a.records = n,
            ("--queries", Some(n)) => a.queries = n,
            ("--runs", Some(n)) => a.runs = n,
            _ => {}
        }
    }
    a
}

/// One case and its records: a case, 2 incidents, 3 persons, 3 notes, 1 intervention.
fn case_records(rng: &mut Rng, case_id: Uuid) -> Vec<Record> {
    let rec = |v: serde_json::Value| serde_json::from_value::<Record>(v).unwrap();
    let statuses = ["open", "monitoring", "closed"];
    let mut out = vec![rec(json!({"kind": "case",
        "title": format!("Case {} {}", rng.next() % 100_000, word(rng)),
        "summary": text(rng, 1900),
        "status": statuses[(rng.next() % 3) as usize],
        "tags": [rng.pick(&["detention", "threat", "2024", "women"])]}))];
    let roles = ["victim", "witness", "perpetrator"];
    for r in roles {
        out.push(rec(json!({"kind": "person", "case_id": case_id,
            "name": format!("{} {}", word(rng), rng.next() % 1000),
            "roles": [r], "occupation": word(rng), "human_rights_work": text(rng, 1800)})));
    }
    for _ in 0..2 {
        let day = 1 + rng.next() % 28;
        let month = 1 + rng.next() % 12;
        out.push(rec(json!({"kind": "incident", "case_id": case_id,
            "title": format!("{} {}", word(rng), word(rng)),
            "description": text(rng, 1800),
            "start": {"date": format!("2024-{month:02}-{day:02}")},
            "location": {"place": rng.pick(PLACES)},
            "act_types": [rng.pick(ACTS)]})));
    }
    for _ in 0..3 {
        out.push(rec(
            json!({"kind": "note", "case_id": case_id, "text": text(rng, 2000)}),
        ));
    }
    out.push(rec(json!({"kind": "intervention", "case_id": case_id,
        "title": format!("Urgent appeal {}", word(rng)), "type": "urgent_appeal",
        "date": "2024-06-10", "response": text(rng, 1500)})));
    out
}

/// Draws one query of a kind.
type MakeQuery = Box<dyn Fn(&mut Rng) -> SearchQuery>;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn median(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn main() {
    let a = args();
    let tmp = tempfile::tempdir().unwrap();
    // CUSTOS_BENCH_KEEP=DIR keeps the vault there (and reuses it when it exists).
    let keep = std::env::var_os("CUSTOS_BENCH_KEEP").map(std::path::PathBuf::from);
    let dir = keep.clone().unwrap_or_else(|| tmp.path().join("vault"));
    let reuse = keep.is_some() && dir.exists();
    let pass = SecretString::from(PASS.to_owned());
    let opts = Options::insecure_for_tests();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);

    // The vault: cases of 10 records each (the cases first, then their records), written
    // in batches.
    let t = Instant::now();
    let mut vault = if reuse {
        Vault::unlock(&dir, &pass, opts).unwrap()
    } else {
        Vault::create(&dir, &pass, opts).unwrap()
    };
    let cases = if reuse { 0 } else { a.records.div_ceil(10) };
    let mut case_ids = Vec::with_capacity(cases);
    for chunk in (0..cases).collect::<Vec<_>>().chunks(5_000) {
        let batch = chunk
            .iter()
            .map(|_| Change::Create(case_records(&mut rng, Uuid::nil()).swap_remove(0)))
            .collect();
        case_ids.extend(vault.commit(batch).unwrap().iter().map(|w| w.record_id));
    }
    let mut batch = Vec::new();
    for case in &case_ids {
        batch.extend(
            case_records(&mut rng, *case)
                .into_iter()
                .skip(1)
                .map(Change::Create),
        );
        if batch.len() >= 5_000 {
            vault.commit(std::mem::take(&mut batch)).unwrap();
        }
    }
    if !batch.is_empty() {
        vault.commit(batch).unwrap();
    }
    let total = vault.list(&Default::default()).len();
    eprintln!(
        "vault of {total} records written in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // Baseline: building the search index from the records (no snapshot).
    let t = Instant::now();
    while vault.prepare_search(usize::MAX).unwrap().0 < total {}
    let rebuild = t.elapsed();
    vault.lock().unwrap();
    let snapshot = std::fs::metadata(dir.join("search.age"))
        .map(|m| m.len())
        .unwrap_or(0);

    // Unlock alone, then unlock-to-ready (the search snapshot loaded meanwhile).
    let mut unlock = Vec::new();
    let mut ready = Vec::new();
    for _ in 0..a.runs {
        let t = Instant::now();
        let vault = Vault::unlock(&dir, &pass, opts).unwrap();
        unlock.push(t.elapsed());
        vault.lock().unwrap();
        let t = Instant::now();
        let vault = custos_search::unlock(&dir, &pass, opts).unwrap();
        let (done, all) = vault.prepare_search(0).unwrap();
        ready.push(t.elapsed());
        assert_eq!(done, all, "the snapshot was current");
        vault.lock().unwrap();
    }

    // Query latency.
    let vault = Vault::unlock(&dir, &pass, opts).unwrap();
    vault.prepare_search(0).unwrap();
    let mut kinds: Vec<(&str, MakeQuery)> = vec![
        (
            "one word",
            Box::new(|r: &mut Rng| SearchQuery {
                text: word(r).to_owned(),
                ..Default::default()
            }),
        ),
        (
            "one rare word",
            Box::new(|r: &mut Rng| {
                let v = vocab();
                SearchQuery {
                    text: v.words[(r.next() % v.words.len() as u64) as usize].clone(),
                    ..Default::default()
                }
            }),
        ),
        (
            "two words",
            Box::new(|r: &mut Rng| SearchQuery {
                text: format!("{} {}", word(r), word(r)),
                ..Default::default()
            }),
        ),
        (
            "phrase",
            Box::new(|r: &mut Rng| SearchQuery {
                text: format!("\"{} {}\"", word(r), word(r)),
                ..Default::default()
            }),
        ),
        (
            "prefix (as you type)",
            Box::new(|r: &mut Rng| {
                let w = word(r);
                let cut: String = w.chars().take(3).collect();
                SearchQuery {
                    text: format!("{} {cut}", word(r)),
                    prefix: true,
                    ..Default::default()
                }
            }),
        ),
        (
            "word + status + act type",
            Box::new(|r: &mut Rng| SearchQuery {
                text: word(r).to_owned(),
                status: Some(CaseStatus::Open),
                act_type: Some(r.pick(ACTS).to_owned()),
                ..Default::default()
            }),
        ),
        (
            "filters only (role, place, dates)",
            Box::new(|r: &mut Rng| SearchQuery {
                role: Some(Role::Victim),
                location: Some(r.pick(PLACES).to_owned()),
                from: chrono::NaiveDate::from_ymd_opt(2024, 3, 1),
                to: chrono::NaiveDate::from_ymd_opt(2024, 5, 31),
                ..Default::default()
            }),
        ),
    ];
    let mut rows = Vec::new();
    for (name, make) in kinds.iter_mut() {
        let mut lat = Vec::with_capacity(a.queries);
        let mut hits = 0usize;
        for _ in 0..a.queries {
            let query = make(&mut rng);
            let t = Instant::now();
            let found = vault.search(&query).unwrap();
            lat.push(t.elapsed());
            hits += found.total;
        }
        lat.sort();
        rows.push((
            name.to_string(),
            percentile(&lat, 0.5),
            percentile(&lat, 0.95),
            percentile(&lat, 0.99),
            hits / a.queries,
        ));
    }
    vault.lock().unwrap();

    let mut json = Report::new("search");
    json.param("records", total);
    json.param("queries", a.queries);
    json.param("runs", a.runs);
    let group = format!("search {total}");
    let msv = |v: &[Duration]| v.iter().map(|d| d.as_secs_f64() * 1e3).collect::<Vec<_>>();
    json.add(
        &group,
        "unlock (KDF excluded)",
        "custos",
        "ms",
        Better::Lower,
        &msv(&unlock),
    );
    json.add(
        &group,
        "unlock-to-ready",
        "custos",
        "ms",
        Better::Lower,
        &msv(&ready),
    );
    json.add(
        &group,
        "search index rebuilt from the records",
        "custos",
        "ms",
        Better::Lower,
        &msv(&[rebuild]),
    );
    json.add(
        &group,
        "search snapshot on disk",
        "custos",
        "MB",
        Better::Lower,
        &[snapshot as f64 / 1e6],
    );
    for (name, p50, p95, p99, _) in &rows {
        for (stat, v) in [("p50", p50), ("p95", p95), ("p99", p99)] {
            json.add(
                &group,
                &format!("{name}: {stat}"),
                "custos",
                "ms",
                Better::Lower,
                &msv(&[*v]),
            );
        }
    }
    json.finish();

    let (u, umin, umax) = median(unlock);
    let (r, rmin, rmax) = median(ready);
    println!("\n## Search, {total} records, {} runs\n", a.runs);
    println!("| what | figure |\n|---|---|");
    println!(
        "| unlock (record index from its snapshot; KDF excluded) | {} ({}–{}) |",
        ms(u),
        ms(umin),
        ms(umax)
    );
    println!(
        "| **unlock-to-ready** (+ search index from its snapshot, loaded meanwhile) | **{}** ({}–{}) |",
        ms(r),
        ms(rmin),
        ms(rmax)
    );
    println!(
        "| baseline: building the search index from the records | {} |",
        ms(rebuild)
    );
    println!(
        "| ratio ready / rebuild | {:.3} |",
        r.as_secs_f64() / rebuild.as_secs_f64()
    );
    println!(
        "| search snapshot on disk | {:.1} MB |",
        snapshot as f64 / 1e6
    );
    println!(
        "\n| query ({} each) | p50 | p95 | p99 | mean hits |\n|---|---|---|---|---|",
        a.queries
    );
    for (name, p50, p95, p99, hits) in rows {
        println!(
            "| {name} | {} | {} | {} | {hits} |",
            ms(p50),
            ms(p95),
            ms(p99)
        );
    }
}
