//! Project tasks. `cargo xtask locales [CODE…] [--all]` checks the translations (see
//! docs/translating.md): per language, missing and unknown keys, other placeholders,
//! empty strings, strings identical to the English, vocabulary terms without a label; and
//! the English strings no code names. It exits non-zero on an error (identical strings are
//! only listed). `cargo xtask bench [--quick]` runs the benchmark suite, each benchmark
//! writing its figures to `target/bench/raw/<name>.json` (its output goes to
//! `raw/<name>.log`), then merges them into `target/bench/report.json` and renders
//! `target/bench/report.md`, with the machine and the versions. `--quick` runs every
//! benchmark on small sizes (to check the tool itself in minutes). A benchmark that
//! fails is reported as failed and the command exits non-zero, after writing the report.
//!
//! `cargo xtask guide [--check]` renders the user guide (see `guide.rs`).

mod guide;
mod locales;
mod render;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use render::{Outcome, Status};
use serde_json::{json, Map, Value};

/// One benchmark of the suite.
struct Job {
    /// The raw file's name.
    name: &'static str,
    /// `-p` package (the root is a virtual workspace: every bench names its package).
    package: Option<&'static str>,
    bench: &'static str,
    /// The bench's source file, relative to the workspace root (skipped if missing).
    source: &'static str,
    args: Vec<String>,
    /// Needs a PostgreSQL server (CUSTOS_TEST_POSTGRES).
    postgres: bool,
}

fn jobs(quick: bool) -> Vec<Job> {
    let a = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    let pick = |q: &str, f: &str| a(if quick { q } else { f });
    vec![
        Job {
            name: "peers-10k",
            package: Some("custos-benches"),
            bench: "peers",
            source: "benches/peers.rs",
            args: pick("--records 1000 --runs 3", "--records 10000"),
            postgres: false,
        },
        Job {
            name: "peers-100k",
            package: Some("custos-benches"),
            bench: "peers",
            source: "benches/peers.rs",
            // FTS5 takes up to a second a query at 100k: 50 of each kind keep the run
            // under half an hour.
            args: pick("--records 3000 --runs 3", "--records 100000 --queries 50"),
            postgres: false,
        },
        Job {
            name: "search",
            package: Some("custos-benches"),
            bench: "search",
            source: "benches/search.rs",
            args: pick("--records 3000 --queries 30 --runs 3", ""),
            postgres: false,
        },
        Job {
            name: "evidence",
            package: Some("custos-benches"),
            bench: "evidence",
            source: "benches/evidence.rs",
            args: pick("--bytes 67108864 --runs 3", "--bytes 1073741824 --runs 3"),
            postgres: false,
        },
        Job {
            name: "sync",
            package: Some("custos-benches"),
            bench: "sync",
            source: "benches/sync.rs",
            args: pick("--records 500 --runs 3", "--records 10000 --runs 3"),
            postgres: false,
        },
        Job {
            name: "roster",
            package: Some("custos-benches"),
            bench: "roster",
            source: "benches/roster.rs",
            args: pick("--runs 1", "--runs 5"),
            postgres: false,
        },
        Job {
            name: "load",
            package: Some("custos-benches"),
            bench: "load",
            source: "benches/load.rs",
            args: pick("--devices 20 --rounds 2", "--devices 200"),
            postgres: true,
        },
        Job {
            name: "startup",
            package: Some("custos-desktop"),
            bench: "startup",
            source: "src-tauri/benches/startup.rs",
            args: pick("--cases 20 --runs 2", "--cases 1000 --runs 5"),
            postgres: false,
        },
    ]
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("bench") => {
            let quick = args.iter().any(|a| a == "--quick");
            let only: Vec<&str> = args
                .windows(2)
                .filter(|w| w[0] == "--only")
                .map(|w| w[1].as_str())
                .collect();
            bench(quick, &only)
        }
        Some("locales") => {
            let all = args.iter().any(|a| a == "--all");
            let only: Vec<&str> = args[1..]
                .iter()
                .filter(|a| !a.starts_with("--"))
                .map(String::as_str)
                .collect();
            check_locales(&only, all)
        }
        Some("guide") => {
            let check = args.iter().any(|a| a == "--check");
            let mut problems = Vec::new();
            if args.iter().any(|a| a == "--screenshots") {
                problems.extend(guide::copy_screenshots(&root()));
            }
            problems.extend(guide::run(&root(), check));
            for p in &problems {
                eprintln!("{p}");
            }
            if problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        _ => {
            eprintln!(
                "usage: cargo xtask bench [--quick] [--only NAME]…\n\
                 runs the benchmark suite and writes target/bench/report.md and report.json\n\
                 usage: cargo xtask locales [CODE]… [--all]\n\
                 checks the translations of every language (or those named); --all lists\n\
                 every key of a problem instead of the first ones\n\
                 usage: cargo xtask guide [--check] [--screenshots]\n\
                 renders docs/guide/<lang>.md to ui/guide/<lang>.html and .pdf (--check: \
                 fails if they are not up to date; --screenshots: first copies the images \
                 it shows from target/screenshots/, which the window tests write)"
            );
            ExitCode::from(2)
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask/ is in the workspace")
        .to_path_buf()
}

/// Prints what is wrong with each translation; non-zero when anything but identical
/// strings is found.
fn check_locales(only: &[&str], all: bool) -> ExitCode {
    use custos_model::languages::{LANGUAGES, SOURCE};
    let root = root();
    let unknown: Vec<_> = only
        .iter()
        .filter(|c| !LANGUAGES.iter().any(|l| l.code == **c))
        .collect();
    if !unknown.is_empty() {
        let codes: Vec<_> = LANGUAGES.iter().map(|l| l.code).collect();
        eprintln!(
            "unknown language {unknown:?}; the languages are {}",
            codes.join(", ")
        );
        return ExitCode::from(2);
    }
    let shown = if all { usize::MAX } else { 12 };
    let list = |name: &str, keys: &[String]| {
        if !keys.is_empty() {
            let more = keys.len().saturating_sub(shown);
            let head = keys
                .iter()
                .take(shown)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            let tail = if more > 0 {
                format!(" … and {more} more (--all)")
            } else {
                String::new()
            };
            println!("      {name}: {head}{tail}");
        }
    };
    let vocab = vocab_terms(&root);
    let mut failed = false;
    for l in LANGUAGES {
        if !only.is_empty() && !only.contains(&l.code) {
            continue;
        }
        println!(
            "{} — {}{}{}",
            l.code,
            l.native,
            if l.rtl { ", right to left" } else { "" },
            if l.reviewed {
                ", reviewed"
            } else {
                ", not yet reviewed by a native speaker"
            },
        );
        for dir in [
            "ui/locales",
            "crates/patterns/locales",
            "crates/report/locales/case",
            "crates/cli/locales",
        ] {
            let en = locales::read(&root.join(dir).join(format!("{SOURCE}.json")));
            let xx = locales::read(&root.join(dir).join(format!("{}.json", l.code)));
            let (en, xx) = match (en, xx) {
                (Ok(en), Ok(xx)) => (en, xx),
                (Err(e), _) | (_, Err(e)) => {
                    println!("  {dir}/{}.json: cannot be read: {e}", l.code);
                    failed = true;
                    continue;
                }
            };
            let p = locales::compare(&en, &xx);
            println!(
                "  {dir}/{}.json: {} strings; missing {}; unknown {}; placeholders {}; empty {}; identical to English {}",
                l.code,
                xx.len(),
                p.missing.len(),
                p.unknown.len(),
                p.placeholders.len(),
                p.empty.len(),
                if l.code == SOURCE { 0 } else { p.identical.len() },
            );
            list("missing", &p.missing);
            list("unknown", &p.unknown);
            list("other placeholders than English", &p.placeholders);
            list("empty", &p.empty);
            if l.code != SOURCE {
                list(
                    "identical to English (translate, or keep if right)",
                    &p.identical,
                );
            }
            failed |= !p.is_clean();
        }
        let unlabelled: Vec<String> = vocab
            .iter()
            .filter(|(_, labels)| {
                labels
                    .get(l.code)
                    .and_then(|v| v.as_str())
                    .is_none_or(|s| s.trim().is_empty())
            })
            .map(|(code, _)| code.clone())
            .collect();
        println!(
            "  crates/model/vocab/*.json: {} terms; without a label in {} {}",
            vocab.len(),
            l.code,
            unlabelled.len()
        );
        list("without a label", &unlabelled);
        failed |= !unlabelled.is_empty();
    }
    let ui = root.join("ui");
    match locales::read(&ui.join("locales/en.json")) {
        Ok(en) => {
            let unused = locales::unused(&en, &locales::ui_sources(&ui));
            println!(
                "ui/locales/en.json: {} strings no code names (unused)",
                unused.len()
            );
            list("unused", &unused);
            failed |= !unused.is_empty();
        }
        Err(e) => {
            println!("ui/locales/en.json: cannot be read: {e}");
            failed = true;
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Every term of the vocabularies (`vocabulary/code`) with its labels.
fn vocab_terms(root: &Path) -> Vec<(String, Map<String, Value>)> {
    let mut out = Vec::new();
    for name in ["act_types", "instruments", "mechanisms"] {
        let path = root.join(format!("crates/model/vocab/{name}.json"));
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        for t in v["terms"].as_array().into_iter().flatten() {
            let code = t["code"].as_str().unwrap_or_default();
            let labels = t["labels"].as_object().cloned().unwrap_or_default();
            out.push((format!("{name}/{code}"), labels));
        }
    }
    out
}

fn bench(quick: bool, only: &[&str]) -> ExitCode {
    let root = root();
    let out = root.join("target/bench");
    let raw_dir = out.join("raw");
    let _ = fs::remove_dir_all(&raw_dir);
    fs::create_dir_all(&raw_dir).expect("target/bench/raw can be made");
    let mode = if quick { "quick" } else { "full" };
    eprintln!("bench ({mode}): writing {}", out.display());

    let (machine, versions) = (machine(), versions(&root));
    let mut postgres: Option<Postgres> = None;
    let mut outcomes = Vec::new();
    for job in jobs(quick) {
        if !only.is_empty() && !only.contains(&job.name) {
            continue;
        }
        let json_path = raw_dir.join(format!("{}.json", job.name));
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.current_dir(&root).arg("bench");
        if let Some(p) = job.package {
            cmd.args(["-p", p]);
        }
        cmd.args(["--bench", job.bench, "--"])
            .args(&job.args)
            .arg("--json")
            .arg(&json_path);
        let command = format!(
            "cargo bench{} --bench {} -- {}{}--json target/bench/raw/{}.json",
            job.package.map(|p| format!(" -p {p}")).unwrap_or_default(),
            job.bench,
            job.args.join(" "),
            if job.args.is_empty() { "" } else { " " },
            job.name
        );
        let mut outcome = Outcome {
            name: job.name.into(),
            command,
            status: Status::Ok,
            seconds: 0.0,
            raw: None,
        };
        if !root.join(job.source).exists() {
            outcome.status = Status::Skipped(format!("{} does not exist", job.source));
            eprintln!("  {}: skipped ({} does not exist)", job.name, job.source);
            outcomes.push(outcome);
            continue;
        }
        if job.postgres {
            if let Ok(url) = std::env::var("CUSTOS_TEST_POSTGRES") {
                cmd.env("CUSTOS_TEST_POSTGRES", url);
            } else {
                if postgres.is_none() {
                    match Postgres::start(&root) {
                        Ok(p) => postgres = Some(p),
                        Err(e) => {
                            outcome.status = Status::Failed(format!("no PostgreSQL: {e}"));
                            eprintln!("  {}: FAILED (no PostgreSQL: {e})", job.name);
                            outcomes.push(outcome);
                            continue;
                        }
                    }
                }
                let url = &postgres.as_ref().expect("started").url;
                cmd.env("CUSTOS_TEST_POSTGRES", url);
            }
        }
        let log_path = raw_dir.join(format!("{}.log", job.name));
        eprintln!(
            "  {}: running ({})",
            job.name,
            log_path.strip_prefix(&root).unwrap_or(&log_path).display()
        );
        let t = Instant::now();
        let result = fs::File::create(&log_path).and_then(|log| {
            cmd.stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .status()
        });
        outcome.seconds = t.elapsed().as_secs_f64();
        match result {
            Ok(s) if s.success() => {}
            Ok(s) => outcome.status = Status::Failed(s.to_string()),
            Err(e) => outcome.status = Status::Failed(format!("could not run cargo: {e}")),
        }
        match fs::read_to_string(&json_path).map(|t| serde_json::from_str::<Value>(&t)) {
            Ok(Ok(v)) => outcome.raw = Some(v),
            Ok(Err(e)) if outcome.status == Status::Ok => {
                outcome.status = Status::Failed(format!("its JSON is invalid: {e}"));
            }
            Err(_) if outcome.status == Status::Ok => {
                outcome.status = Status::Failed("it wrote no JSON".into());
            }
            _ => {}
        }
        eprintln!(
            "  {}: {} in {:.0} s",
            job.name,
            match &outcome.status {
                Status::Ok => "ok".to_owned(),
                Status::Failed(why) => format!("FAILED ({why})"),
                Status::Skipped(why) => format!("skipped ({why})"),
            },
            outcome.seconds
        );
        outcomes.push(outcome);
        // The report so far, after every benchmark: an interrupted run keeps what it has.
        write_report(&out, mode, &machine, &versions, &outcomes);
    }
    drop(postgres);

    write_report(&out, mode, &machine, &versions, &outcomes);
    eprintln!(
        "wrote {} and {}",
        out.join("report.md").display(),
        out.join("report.json").display()
    );
    if outcomes
        .iter()
        .any(|o| matches!(o.status, Status::Failed(_)))
    {
        eprintln!("some benchmarks failed: see the report");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn write_report(out: &Path, mode: &str, machine: &Value, versions: &Value, outcomes: &[Outcome]) {
    let doc = render::merge(mode, machine.clone(), versions.clone(), outcomes);
    let text = serde_json::to_string_pretty(&doc).expect("plain JSON");
    fs::write(out.join("report.json"), text).expect("report.json is written");
    fs::write(out.join("report.md"), render::render(&doc)).expect("report.md is written");
}

/// A throwaway PostgreSQL server (scripts/postgres.sh), removed when dropped.
struct Postgres {
    root: PathBuf,
    dir: String,
    url: String,
}

impl Postgres {
    fn start(root: &Path) -> Result<Postgres, String> {
        let out = Command::new("bash")
            .current_dir(root)
            .args(["scripts/postgres.sh", "start"])
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!("scripts/postgres.sh start: {}", out.status));
        }
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let pg = Postgres {
            root: root.to_path_buf(),
            url: fs::read_to_string(Path::new(&dir).join("url"))
                .map_err(|e| format!("{dir}/url: {e}"))?
                .trim()
                .to_owned(),
            dir,
        };
        Ok(pg)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .current_dir(&self.root)
            .args(["scripts/postgres.sh", "remove", &self.dir])
            .status();
    }
}

fn first_field(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == key).then(|| v.trim().to_owned())
    })
}

fn command_line(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// CPU model, cores, RAM and kernel, from /proc and uname.
fn machine() -> Value {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let cores = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let ram = first_field(&meminfo, "MemTotal")
        .and_then(|v| v.trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kib| format!("{:.1} GiB", kib / (1024.0 * 1024.0)));
    json!({
        "cpu": first_field(&cpuinfo, "model name").unwrap_or_else(|| "unknown".into()),
        "cores": cores,
        "available parallelism": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "ram": ram.unwrap_or_else(|| "unknown".into()),
        "kernel": command_line("uname", &["-srm"]).unwrap_or_else(|| "unknown".into()),
    })
}

/// rustc's version, and the versions of the storage, crypto, search and app crates from
/// Cargo.lock.
fn versions(root: &Path) -> Value {
    let lock = fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default();
    let mut v = Map::new();
    v.insert(
        "rustc".into(),
        json!(command_line("rustc", &["-V"]).unwrap_or_else(|| "unknown".into())),
    );
    for name in [
        "sled",
        "age",
        "chacha20poly1305",
        "tantivy",
        "rusqlite",
        "libsqlite3-sys",
        "tauri",
    ] {
        let versions = lock_versions(&lock, name);
        let value = if versions.is_empty() {
            "not in Cargo.lock".to_owned()
        } else {
            versions.join(", ")
        };
        let key = match name {
            "libsqlite3-sys" => "libsqlite3-sys (SQLite/SQLCipher, bundled)",
            n => n,
        };
        v.insert(key.into(), json!(value));
    }
    Value::Object(v)
}

/// Every version of package `name` in a Cargo.lock.
fn lock_versions(lock: &str, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for block in lock.split("[[package]]") {
        let field = |k: &str| {
            block.lines().find_map(|l| {
                let (key, value) = l.split_once('=')?;
                (key.trim() == k).then(|| value.trim().trim_matches('"').to_owned())
            })
        };
        if field("name").as_deref() == Some(name) {
            if let Some(ver) = field("version") {
                out.push(ver);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_a_lock_file() {
        let lock = "version = 4\n\n[[package]]\nname = \"sled\"\nversion = \"0.34.7\"\n\n\
                    [[package]]\nname = \"sledge\"\nversion = \"1.0.0\"\n";
        assert_eq!(lock_versions(lock, "sled"), vec!["0.34.7"]);
        assert!(lock_versions(lock, "tauri").is_empty());
    }

    #[test]
    fn quick_and_full_sizes_differ() {
        let full = jobs(false);
        let quick = jobs(true);
        assert_eq!(full.len(), quick.len());
        let load = full.iter().find(|j| j.name == "load").unwrap();
        assert_eq!(load.args, ["--devices", "200"]);
        assert!(full.iter().any(|j| j.args.contains(&"100000".to_owned())));
        assert!(!quick.iter().any(|j| j.args.contains(&"100000".to_owned())));
    }
}
