//! The report: the raw per-benchmark JSON files (benches/common/report.rs) merged into
//! one document (report.json), and that document rendered as Markdown (report.md).

use serde_json::{json, Map, Value};

/// How one benchmark of the suite went.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    /// It ran and exited 0.
    Ok,
    /// It ran and failed: its exit status (or why it could not start).
    Failed(String),
    /// It was not run: why.
    Skipped(String),
}

/// One benchmark of the suite, after it ran.
pub struct Outcome {
    /// The name of its raw file (`raw/<name>.json`), e.g. `peers-10k`.
    pub name: String,
    /// The command that ran it.
    pub command: String,
    pub status: Status,
    pub seconds: f64,
    /// Its raw JSON, when it wrote one.
    pub raw: Option<Value>,
}

/// The merged document: machine, versions, every benchmark's status and every figure
/// (each tagged with its benchmark, and with its ratio against the group's subject).
pub fn merge(mode: &str, machine: Value, versions: Value, outcomes: &[Outcome]) -> Value {
    let mut benches = Vec::new();
    let mut figures = Vec::new();
    for o in outcomes {
        let (status, detail) = match &o.status {
            Status::Ok => ("ok", Value::Null),
            Status::Failed(why) => ("failed", json!(why)),
            Status::Skipped(why) => ("skipped", json!(why)),
        };
        let params = o
            .raw
            .as_ref()
            .and_then(|r| r.get("params"))
            .cloned()
            .unwrap_or(Value::Object(Map::new()));
        benches.push(json!({
            "name": o.name,
            "command": o.command,
            "status": status,
            "detail": detail,
            "seconds": (o.seconds * 10.0).round() / 10.0,
            "params": params,
        }));
        let raw_figures = o
            .raw
            .as_ref()
            .and_then(|r| r.get("figures"))
            .and_then(Value::as_array);
        for f in raw_figures.into_iter().flatten() {
            let mut f = f.clone();
            if let Some(obj) = f.as_object_mut() {
                obj.insert("bench".into(), json!(o.name));
            }
            figures.push(f);
        }
    }
    add_ratios(&mut figures);
    json!({
        "mode": mode,
        "machine": machine,
        "versions": versions,
        "benches": benches,
        "figures": figures,
    })
}

fn text<'a>(f: &'a Value, key: &str) -> &'a str {
    f.get(key).and_then(Value::as_str).unwrap_or("")
}

fn num(f: &Value, key: &str) -> Option<f64> {
    f.get(key).and_then(Value::as_f64)
}

/// Within one benchmark, the figures of the same group and name are the same measure of
/// different systems. The subject is the system "custos" (else the first listed); every
/// other system of the measure gets `ratio` = subject median / its median, and
/// `subject_better` according to the figure's "better".
pub fn add_ratios(figures: &mut [Value]) {
    for i in 0..figures.len() {
        let key = |f: &Value| {
            (
                text(f, "bench").to_owned(),
                text(f, "group").to_owned(),
                text(f, "name").to_owned(),
            )
        };
        let k = key(&figures[i]);
        let same: Vec<usize> = (0..figures.len())
            .filter(|&j| key(&figures[j]) == k)
            .collect();
        let subject = same
            .iter()
            .copied()
            .find(|&j| text(&figures[j], "system") == "custos")
            .unwrap_or(same[0]);
        if subject == i {
            continue;
        }
        let (Some(s), Some(p)) = (num(&figures[subject], "median"), num(&figures[i], "median"))
        else {
            continue;
        };
        if p == 0.0 {
            continue;
        }
        let ratio = s / p;
        let higher = text(&figures[i], "better") != "lower";
        let subject_name = text(&figures[subject], "system").to_owned();
        if let Some(obj) = figures[i].as_object_mut() {
            obj.insert("ratio".into(), json!(ratio));
            obj.insert("ratio_of".into(), json!(subject_name));
            obj.insert(
                "subject_better".into(),
                json!(if higher { ratio >= 1.0 } else { ratio <= 1.0 }),
            );
        }
    }
}

/// A figure, with three significant digits or so.
pub fn fmt_num(x: f64) -> String {
    let a = x.abs();
    if a >= 1000.0 || x == x.trunc() && a >= 10.0 {
        let s = format!("{:.0}", x);
        // Thousands separators for readability.
        let (sign, digits) = s.split_at(if x < 0.0 { 1 } else { 0 });
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        format!("{sign}{out}")
    } else if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else if a == 0.0 {
        "0".into()
    } else {
        format!("{x:.3}")
    }
}

/// The ratio column: how the subject compares with this system, always as a factor ≥ 1.
pub fn fmt_ratio(f: &Value) -> String {
    let (Some(r), Some(better)) = (
        num(f, "ratio"),
        f.get("subject_better").and_then(Value::as_bool),
    ) else {
        return String::new();
    };
    let who = text(f, "ratio_of");
    let factor = if r >= 1.0 { r } else { 1.0 / r };
    if (factor - 1.0).abs() < 0.005 {
        return format!("{who} same");
    }
    let word = if better { "better" } else { "worse" };
    format!("{who} {factor:.2}× {word}")
}

/// The Markdown report.
pub fn render(doc: &Value) -> String {
    let mut md = String::new();
    let mode = text(doc, "mode");
    md.push_str("# Custos benchmark report\n\n");
    md.push_str(&format!(
        "Mode: **{mode}** (`cargo xtask bench{}`). Every figure is the median of the runs, \
         with the spread (min–max); the last column compares Custos with that row's \
         system on the same measure (\"better\"/\"worse\" respects whether higher or \
         lower is better).\n\n",
        if mode == "quick" { " --quick" } else { "" }
    ));

    md.push_str("## Machine\n\n| | |\n|---|---|\n");
    for (k, v) in doc["machine"].as_object().into_iter().flatten() {
        md.push_str(&format!("| {k} | {} |\n", plain(v)));
    }
    md.push_str("\n## Versions\n\n| | |\n|---|---|\n");
    for (k, v) in doc["versions"].as_object().into_iter().flatten() {
        md.push_str(&format!("| {k} | {} |\n", plain(v)));
    }

    md.push_str("\n## Benchmarks\n\n| benchmark | status | time | parameters | command |\n|---|---|---|---|---|\n");
    let empty = Vec::new();
    let benches = doc["benches"].as_array().unwrap_or(&empty);
    for b in benches {
        let status = match text(b, "status") {
            "ok" => "ok".to_owned(),
            s => format!("**{}**: {}", s.to_uppercase(), plain(&b["detail"])),
        };
        let params = b["params"]
            .as_object()
            .map(|p| {
                p.iter()
                    .map(|(k, v)| format!("{k} {}", plain(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        md.push_str(&format!(
            "| {} | {status} | {} s | {params} | `{}` |\n",
            text(b, "name"),
            fmt_num(num(b, "seconds").unwrap_or(0.0)),
            text(b, "command"),
        ));
    }

    // One table per (benchmark, group), in the order they appear.
    let figures = doc["figures"].as_array().unwrap_or(&empty);
    let mut groups: Vec<(String, String)> = Vec::new();
    for f in figures {
        let g = (text(f, "bench").to_owned(), text(f, "group").to_owned());
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    for (bench, group) in &groups {
        md.push_str(&format!("\n## {group} ({bench})\n\n"));
        md.push_str(
            "| figure | system | median | spread (min–max) | unit | runs | better | ratio |\n",
        );
        md.push_str("|---|---|---:|---|---|---:|---|---|\n");
        for f in figures
            .iter()
            .filter(|f| text(f, "bench") == bench && text(f, "group") == group)
        {
            let runs = f["runs"].as_array().map_or(0, Vec::len);
            md.push_str(&format!(
                "| {} | {} | {} | {}–{} | {} | {runs} | {} | {} |\n",
                text(f, "name"),
                text(f, "system"),
                fmt_num(num(f, "median").unwrap_or(f64::NAN)),
                fmt_num(num(f, "min").unwrap_or(f64::NAN)),
                fmt_num(num(f, "max").unwrap_or(f64::NAN)),
                text(f, "unit"),
                text(f, "better"),
                fmt_ratio(f),
            ));
        }
    }
    let failed: Vec<&str> = benches
        .iter()
        .filter(|b| text(b, "status") == "failed")
        .map(|b| text(b, "name"))
        .collect();
    if !failed.is_empty() {
        md.push_str(&format!(
            "\n**Failed:** {} (see target/bench/raw/<name>.log).\n",
            failed.join(", ")
        ));
    }
    md
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        v => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(bench: &str, figures: Value) -> Value {
        json!({ "bench": bench, "params": { "records": 1000 }, "figures": figures })
    }

    fn fig(group: &str, name: &str, system: &str, better: &str, median: f64) -> Value {
        json!({ "group": group, "name": name, "system": system, "unit": "x/s",
                "better": better, "runs": [median], "median": median,
                "min": median, "max": median })
    }

    fn ok(name: &str, raw: Value) -> Outcome {
        Outcome {
            name: name.into(),
            command: format!("cargo bench --bench {name}"),
            status: Status::Ok,
            seconds: 1.0,
            raw: Some(raw),
        }
    }

    #[test]
    fn merges_two_raw_files() {
        let a = raw(
            "peers",
            json!([fig("records 1k", "bulk insert", "custos", "higher", 10.0)]),
        );
        let b = raw(
            "search",
            json!([
                fig("search 1k", "p50", "custos", "lower", 2.0),
                fig("search 1k", "p95", "custos", "lower", 3.0)
            ]),
        );
        let doc = merge(
            "quick",
            json!({ "cpu": "test" }),
            json!({ "rustc": "rustc 1" }),
            &[ok("peers-1k", a), ok("search", b)],
        );
        let figures = doc["figures"].as_array().unwrap();
        assert_eq!(figures.len(), 3);
        assert_eq!(figures[0]["bench"], "peers-1k");
        assert_eq!(figures[2]["bench"], "search");
        assert_eq!(doc["benches"][1]["params"]["records"], 1000);
        let md = render(&doc);
        assert!(md.contains("## records 1k (peers-1k)"), "{md}");
        assert!(md.contains("## search 1k (search)"), "{md}");
        assert!(md.contains("| cpu | test |"), "{md}");
        assert!(md.contains("| p95 | custos | 3.00 | 3.00–3.00 | x/s | 1 | lower |"));
    }

    #[test]
    fn ratios_respect_which_way_is_better() {
        let mut figures = vec![
            // Higher is better: custos does 30k/s, sqlcipher 20k/s.
            fig("g", "bulk insert", "sqlcipher", "higher", 20_000.0),
            fig("g", "bulk insert", "custos", "higher", 30_000.0),
            // Lower is better: custos takes 4 ms, sqlcipher 2 ms.
            fig("g", "p95", "custos", "lower", 4.0),
            fig("g", "p95", "sqlcipher", "lower", 2.0),
            // No custos row: the first listed is the subject.
            fig("g", "encrypt", "age", "higher", 100.0),
            fig("g", "encrypt", "raw AEAD", "higher", 400.0),
        ];
        for f in &mut figures {
            f["bench"] = json!("b");
        }
        add_ratios(&mut figures);
        assert!(figures[1].get("ratio").is_none());
        assert_eq!(figures[0]["ratio"], 1.5);
        assert_eq!(figures[0]["subject_better"], true);
        assert_eq!(fmt_ratio(&figures[0]), "custos 1.50× better");
        assert_eq!(figures[3]["ratio"], 2.0);
        assert_eq!(figures[3]["subject_better"], false);
        assert_eq!(fmt_ratio(&figures[3]), "custos 2.00× worse");
        assert_eq!(figures[5]["ratio"], 0.25);
        assert_eq!(fmt_ratio(&figures[5]), "age 4.00× worse");
        assert!(figures[4].get("ratio").is_none());
    }

    #[test]
    fn a_failed_bench_is_shown_as_failed() {
        let doc = merge(
            "full",
            json!({}),
            json!({}),
            &[
                ok("search", raw("search", json!([]))),
                Outcome {
                    name: "load".into(),
                    command: "cargo bench -p custos-hub --bench load".into(),
                    status: Status::Failed("exit status: 101".into()),
                    seconds: 3.0,
                    raw: None,
                },
                Outcome {
                    name: "peers-10k".into(),
                    command: "cargo bench --bench peers".into(),
                    status: Status::Skipped("benches/peers.rs does not exist yet".into()),
                    seconds: 0.0,
                    raw: None,
                },
            ],
        );
        assert_eq!(doc["benches"][1]["status"], "failed");
        assert_eq!(doc["benches"][1]["detail"], "exit status: 101");
        let md = render(&doc);
        assert!(
            md.contains("| load | **FAILED**: exit status: 101 |"),
            "{md}"
        );
        assert!(
            md.contains("| peers-10k | **SKIPPED**: benches/peers.rs"),
            "{md}"
        );
        assert!(md.contains("**Failed:** load"), "{md}");
    }

    #[test]
    fn numbers_are_readable() {
        assert_eq!(fmt_num(22_345.6), "22,346");
        assert_eq!(fmt_num(1_000_000.0), "1,000,000");
        assert_eq!(fmt_num(123.4), "123");
        assert_eq!(fmt_num(12.34), "12.3");
        assert_eq!(fmt_num(1.234), "1.23");
        assert_eq!(fmt_num(0.1234), "0.123");
    }
}
