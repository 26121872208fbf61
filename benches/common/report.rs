//! The machine-readable side of every benchmark: `--json PATH` on a benchmark's command
//! line writes its figures there (for `cargo xtask bench`, which gathers them into one
//! report). Each figure keeps every run's value, with its median and spread.
//!
//! Included by path (`#[path = "common/report.rs"] mod report;`) from the benchmarks of
//! every crate of the workspace, so that they all write the same format:
//!
//! ```json
//! { "bench": "peers", "params": { "records": 10000 },
//!   "figures": [ { "group": "records 10k", "name": "bulk insert", "system": "custos",
//!                  "unit": "records/s", "better": "higher",
//!                  "runs": [..], "median": 1.0, "min": 1.0, "max": 1.0 } ] }
//! ```
#![allow(dead_code)]

use serde_json::{json, Map, Value};

/// One benchmark's figures.
pub struct Report {
    bench: String,
    params: Map<String, Value>,
    figures: Vec<Value>,
}

/// Whether a higher or a lower value is better.
#[derive(Clone, Copy)]
pub enum Better {
    Higher,
    Lower,
}

impl Report {
    /// An empty report for the benchmark `bench`.
    pub fn new(bench: &str) -> Report {
        Report {
            bench: bench.to_owned(),
            params: Map::new(),
            figures: Vec::new(),
        }
    }

    /// Records a parameter of the run (record count, runs, sizes …).
    pub fn param(&mut self, name: &str, value: impl Into<Value>) {
        self.params.insert(name.to_owned(), value.into());
    }

    /// Records a figure from every run's value (at least one).
    pub fn add(
        &mut self,
        group: &str,
        name: &str,
        system: &str,
        unit: &str,
        better: Better,
        runs: &[f64],
    ) {
        let mut sorted = runs.to_vec();
        sorted.sort_by(|a, b| a.total_cmp(b));
        let (median, min, max) = match sorted.len() {
            0 => return,
            n => (sorted[n / 2], sorted[0], sorted[n - 1]),
        };
        self.figures.push(json!({
            "group": group,
            "name": name,
            "system": system,
            "unit": unit,
            "better": match better { Better::Higher => "higher", Better::Lower => "lower" },
            "runs": runs,
            "median": median,
            "min": min,
            "max": max,
        }));
    }

    /// Writes the report to the path given as `--json PATH` on the command line, if any.
    pub fn finish(self) {
        let argv: Vec<String> = std::env::args().collect();
        let Some(path) = argv
            .windows(2)
            .find(|w| w[0] == "--json")
            .map(|w| std::path::PathBuf::from(&w[1]))
        else {
            return;
        };
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let doc = json!({ "bench": self.bench, "params": self.params, "figures": self.figures });
        let text = serde_json::to_string_pretty(&doc).expect("a report is plain JSON");
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("cannot write {}: {e}", path.display());
            std::process::exit(1);
        }
    }
}
