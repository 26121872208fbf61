//! Desktop start-up and memory, in the real window under Xvfb.
//!
//! `cargo bench -p custos-desktop --bench startup` (optionally `-- --cases N --runs R
//! --json PATH`; `--json` writes the figures for `cargo xtask bench`).
//!
//! For a vault of N cases (each with an incident and two persons, so 4·N records), each
//! run starts the app afresh and measures:
//! - start to the unlock screen (the WebDriver session is asked for → the passphrase
//!   field is shown), beside the same start with no vault at all (the first-run screen),
//!   measured in the same run as the baseline;
//! - unlock to the case list of all N cases shown (its first page of rows), beside the core's own unlock of the
//!   same vault in this process (the deliberate scrypt second is in both);
//! - resident memory (VmRSS) of the app process and its WebKit helpers, at the unlock
//!   screen and after the list is shown, with the private part (RssAnon) of each, and the
//!   proportional total (PSS: a shared library page counted once across processes).
//!
//! Figures are the median of R runs with the spread (min–max). Without `--bench` (as in
//! `cargo test --all-targets`) it runs once on a small vault, to prove it still works.
//! The page cache is warm: the binary was just built or run.

use custos_test_support::window as support;

use std::path::Path;
use std::time::{Duration, Instant};

use custos_model::{
    Case, CaseStatus, Confidentiality, Consents, FuzzyDate, Incident, Involvement, Person,
    Precision, Record, Role,
};
use custos_vault::{Change, Options, SecretString, Vault};
use serde_json::json;
use support::{memory_kib, App};
use uuid::Uuid;

#[path = "../../benches/common/report.rs"]
mod report;
use report::{Better, Report};

const PASS: &str = "lantern orchard velvet quarry 1987 sparrow";

fn arg(name: &str) -> Option<usize> {
    let argv: Vec<String> = std::env::args().collect();
    argv.iter()
        .position(|a| a == name)
        .and_then(|i| argv.get(i + 1)?.parse().ok())
}

fn person(case_id: Uuid, name: String, role: Role) -> Record {
    Record::Person(Person {
        case_id,
        name,
        other_names: vec![],
        roles: vec![role],
        is_group: false,
        group_size: None,
        sex: String::new(),
        birth_date: None,
        occupation: "journalist".into(),
        organisation: String::new(),
        human_rights_work: "reports on detentions".into(),
        residence: String::new(),
        citizenship: String::new(),
        consent: Consents::default(),
        contact: String::new(),
    })
}

/// Fills a new vault with `cases` cases, each with an incident and two persons.
fn make_vault(dir: &Path, cases: usize) {
    support::device_keys();
    let pass = SecretString::from(PASS.to_owned());
    let mut vault = Vault::create(dir, &pass, Options::default()).expect("vault");
    let ids = |written: Vec<custos_vault::Written>| -> Vec<Uuid> {
        written.iter().map(|w| w.record_id).collect()
    };
    for chunk in (0..cases).collect::<Vec<_>>().chunks(100) {
        let case_ids = ids(vault
            .commit(
                chunk
                    .iter()
                    .map(|i| {
                        Change::Create(Record::Case(Case {
                            title: format!("Case {i}: detention of a defender in the north"),
                            summary: "Taken at night from her home; family not told where. "
                                .repeat(8),
                            status: CaseStatus::Open,
                            tags: vec!["detention".into(), format!("region-{}", i % 12)],
                            confidentiality: Confidentiality::Restricted,
                            owner: "A. B.".into(),
                        }))
                    })
                    .collect(),
            )
            .expect("cases"));
        let person_ids = ids(vault
            .commit(
                chunk
                    .iter()
                    .zip(&case_ids)
                    .flat_map(|(i, c)| {
                        [
                            Change::Create(person(*c, format!("Victim {i}"), Role::Victim)),
                            Change::Create(person(*c, format!("Witness {i}"), Role::Witness)),
                        ]
                    })
                    .collect(),
            )
            .expect("persons"));
        vault
            .commit(
                chunk
                    .iter()
                    .zip(&case_ids)
                    .zip(person_ids.chunks(2))
                    .map(|((i, c), p)| {
                        Change::Create(Record::Incident(Incident {
                            case_id: *c,
                            title: format!("Arrest {i}"),
                            description: "Arrested at a checkpoint by men in plain clothes. "
                                .repeat(6),
                            start: Some(FuzzyDate {
                                date: chrono::NaiveDate::from_ymd_opt(
                                    2025,
                                    1 + (i % 12) as u32,
                                    1 + (i % 28) as u32,
                                )
                                .unwrap(),
                                precision: Precision::Day,
                            }),
                            end: None,
                            location: None,
                            act_types: vec!["arbitrary_arrest".into()],
                            persons: vec![
                                Involvement {
                                    person_id: p[0],
                                    role: Role::Victim,
                                },
                                Involvement {
                                    person_id: p[1],
                                    role: Role::Witness,
                                },
                            ],
                            related: vec![],
                            impact: String::new(),
                        }))
                    })
                    .collect(),
            )
            .expect("incidents");
    }
    vault.lock().expect("lock");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

fn median_spread(xs: &mut [f64]) -> String {
    xs.sort_by(|a, b| a.total_cmp(b));
    let m = xs[xs.len() / 2];
    format!("{m:>8.0} ({:.0}–{:.0})", xs[0], xs[xs.len() - 1])
}

#[derive(Default)]
struct Run {
    first_screen_ms: f64,
    unlock_screen_ms: f64,
    core_unlock_ms: f64,
    unlock_to_list_ms: f64,
    rss_locked: Vec<(String, u64, u64)>,
    rss_unlocked: Vec<(String, u64, u64)>,
    /// Proportional set size of all the processes after unlock, KiB: each shared page
    /// (the libraries' code) counted once, split among the processes that map it.
    pss_unlocked: u64,
}

/// A process's proportional set size, KiB.
fn pss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Pss:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Per process: (name, resident KiB, of which private anonymous KiB), then the total.
/// The rest of resident memory is mostly shared library code (WebKitGTK, GTK), mapped
/// from files and shared between the processes.
fn rss(app: &App) -> Vec<(String, u64, u64)> {
    let mut out: Vec<(String, u64, u64)> = app
        .processes()
        .into_iter()
        .map(|(pid, name)| (name, memory_kib(pid, "VmRSS"), memory_kib(pid, "RssAnon")))
        .collect();
    let total = (out.iter().map(|p| p.1).sum(), out.iter().map(|p| p.2).sum());
    out.push(("total".into(), total.0, total.1));
    out
}

fn one_run(template: &Path, cases: usize) -> Run {
    let mut run = Run::default();

    // Baseline: the same binary, no vault, to its first screen.
    let mut app = App::start();
    app.d.wait("#create-passphrase");
    run.first_screen_ms = app.started.elapsed().as_secs_f64() * 1e3;
    app.stop();

    // The core's own unlock of this vault (scrypt included), in this process.
    let scratch = tempfile::tempdir().unwrap();
    copy_dir(template, &scratch.path().join("v"));
    let t0 = Instant::now();
    let v = Vault::unlock(
        &scratch.path().join("v"),
        &SecretString::from(PASS.to_owned()),
        Options::default(),
    )
    .expect("unlock");
    run.core_unlock_ms = t0.elapsed().as_secs_f64() * 1e3;
    drop(v);

    // The app with the vault: to the unlock screen, then to the full list.
    let mut app = App::start_with(|dir| copy_dir(template, dir));
    let d = &app.d;
    d.wait("#unlock-passphrase");
    run.unlock_screen_ms = app.started.elapsed().as_secs_f64() * 1e3;
    std::thread::sleep(Duration::from_millis(500));
    run.rss_locked = rss(&app);
    d.type_into("#unlock-passphrase", PASS);
    let t0 = Instant::now();
    d.click("#unlock-submit");
    let total = json!(cases.to_string());
    d.wait_until("the list of every case", || {
        d.script(
            "const c = document.querySelector('#case-count'); return c ? c.dataset.total : null;",
        ) == total
            && d.script("return document.querySelectorAll('[data-testid=case-row]').length;")
                .as_u64()
                .is_some_and(|n| n > 0)
    });
    run.unlock_to_list_ms = t0.elapsed().as_secs_f64() * 1e3;
    std::thread::sleep(Duration::from_millis(500));
    run.rss_unlocked = rss(&app);
    run.pss_unlocked = app
        .processes()
        .into_iter()
        .map(|(pid, _)| pss_kib(pid))
        .sum();
    assert!(
        run.rss_unlocked.len() >= 2,
        "the app's process was not found"
    );
    app.stop();
    run
}

/// The figures as JSON (`--json PATH`): each beside its baseline measured in the same
/// run, and the memory totals of the app's processes.
fn write_json(results: &[Run], cases: usize, runs: usize) {
    let mut json = Report::new("startup");
    json.param("cases", cases);
    json.param("records", cases * 4);
    json.param("runs", runs);
    let group = format!("desktop app, {cases}-case vault, Xvfb");
    let col = |f: &dyn Fn(&Run) -> f64| results.iter().map(f).collect::<Vec<f64>>();
    let ms = |name: &str, system: &str, f: &dyn Fn(&Run) -> f64, json: &mut Report| {
        json.add(&group, name, system, "ms", Better::Lower, &col(f))
    };
    let start = "cold start to the first screen";
    ms(start, "custos", &|r| r.unlock_screen_ms, &mut json);
    ms(
        start,
        "baseline: same binary, no vault",
        &|r| r.first_screen_ms,
        &mut json,
    );
    let unlock = "unlock (scrypt included)";
    ms(unlock, "custos", &|r| r.unlock_to_list_ms, &mut json);
    ms(
        unlock,
        "baseline: core unlock in-process",
        &|r| r.core_unlock_ms,
        &mut json,
    );
    let total = |v: &[(String, u64, u64)], anon: bool| {
        v.iter()
            .find(|p| p.0 == "total")
            .map(|p| (if anon { p.2 } else { p.1 }) as f64 / 1024.0)
            .unwrap_or(0.0)
    };
    for (name, f) in [
        (
            "resident memory at the unlock screen",
            &(|r: &Run| total(&r.rss_locked, false)) as &dyn Fn(&Run) -> f64,
        ),
        ("resident memory after unlock", &|r: &Run| {
            total(&r.rss_unlocked, false)
        }),
        ("private memory after unlock", &|r: &Run| {
            total(&r.rss_unlocked, true)
        }),
        ("proportional memory (PSS) after unlock", &|r: &Run| {
            r.pss_unlocked as f64 / 1024.0
        }),
    ] {
        json.add(&group, name, "custos", "MiB", Better::Lower, &col(f));
    }
    json.finish();
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let cases = arg("--cases").unwrap_or(if full { 1000 } else { 20 });
    let runs = arg("--runs").unwrap_or(if full { 5 } else { 1 });

    let template = tempfile::tempdir().unwrap();
    let vault = template.path().join("vault");
    let t0 = Instant::now();
    make_vault(&vault, cases);
    eprintln!(
        "vault of {cases} cases ({} records) made in {:.1} s",
        cases * 4,
        t0.elapsed().as_secs_f64()
    );

    let results: Vec<Run> = (0..runs).map(|_| one_run(&vault, cases)).collect();
    write_json(&results, cases, runs);
    let col =
        |f: &dyn Fn(&Run) -> f64| median_spread(&mut results.iter().map(f).collect::<Vec<_>>());
    println!(
        "\n## Desktop start-up, {cases} cases ({} records), {runs} runs: median (min–max)\n",
        cases * 4
    );
    println!("| what | ms |");
    println!("|---|---|");
    println!(
        "| start → first-run screen, no vault (baseline) | {} |",
        col(&|r| r.first_screen_ms)
    );
    println!(
        "| start → unlock screen, {cases}-case vault | {} |",
        col(&|r| r.unlock_screen_ms)
    );
    println!(
        "| core unlock in-process, scrypt included (baseline) | {} |",
        col(&|r| r.core_unlock_ms)
    );
    println!(
        "| unlock click → list of {cases} cases shown | {} |",
        col(&|r| r.unlock_to_list_ms)
    );
    println!(
        "\n| memory, MiB (median): resident (private) | at unlock screen | after unlock + list |"
    );
    println!("|---|---|---|");
    let names: Vec<String> = results[0]
        .rss_unlocked
        .iter()
        .map(|p| p.0.clone())
        .collect();
    for name in names {
        let median = |f: &dyn Fn(&Run) -> f64| {
            let mut v: Vec<f64> = results.iter().map(f).collect();
            v.sort_by(|a, b| a.total_cmp(b));
            v[v.len() / 2]
        };
        let pick = |v: &[(String, u64, u64)], anon: bool| {
            v.iter()
                .find(|p| p.0 == name)
                .map(|p| (if anon { p.2 } else { p.1 }) as f64 / 1024.0)
                .unwrap_or(0.0)
        };
        println!(
            "| {name} | {:.0} ({:.0}) | {:.0} ({:.0}) |",
            median(&|r| pick(&r.rss_locked, false)),
            median(&|r| pick(&r.rss_locked, true)),
            median(&|r| pick(&r.rss_unlocked, false)),
            median(&|r| pick(&r.rss_unlocked, true)),
        );
    }
    let mut pss: Vec<u64> = results.iter().map(|r| r.pss_unlocked).collect();
    pss.sort_unstable();
    println!(
        "\nAll processes after unlock, proportional (PSS: shared pages split): {:.0} MiB",
        pss[pss.len() / 2] as f64 / 1024.0
    );
}
