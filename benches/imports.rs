//! Imports benchmark: how fast each tool's export comes into a vault, and how much memory
//! an export of a gigabyte takes.
//!
//! For each tool an export of `--units N` source records (default 2,000) is made from
//! its real sample (`crates/import/samples/<tool>/`: the same shape, each record with ids
//! of its own) and:
//! - read alone (the reader, into a sink that counts): source records per second;
//! - imported into a new vault (`custos_import::engine::import`: checked whole, then
//!   written): records per second;
//! - the baseline, measured in the same run: the same records written into a new vault
//!   by `Vault::commit`, 256 a commit (what the import costs beyond the vault's own
//!   writes: the read, the check, the second read); for Tella, whose records are files,
//!   the baseline is `Vault::attach` of the same files one by one.
//!
//! Memory: an ODK export whose media weigh `--gigabytes G` (default 1) is imported in a
//! process of its own, and that process's peak resident memory (`VmHWM`) is compared
//! with that of an export an eighth of its size: constant memory means the two are
//! alike.
//!
//! `cargo bench --bench imports` (optionally `-- --units N --gigabytes G`).
//! `cargo test --all-targets` runs a smoke version (30 units, 16 MB).

#[path = "common/report.rs"]
mod report;

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use custos_import::engine;
use custos_import::{Collect, Problem, Sink, Stopped, Tool, Unit};
use custos_vault::{Attach, Change, Options, SecretString, Vault};
use report::{Better, Report};
use sha2::{Digest, Sha256};

const PASS: &str = "lantern orchard velvet quarry 1987 sparrow";

struct Args {
    units: usize,
    gigabytes: f64,
}

fn args() -> Args {
    let argv: Vec<String> = std::env::args().collect();
    let bench = argv.iter().any(|a| a == "--bench");
    let mut a = Args {
        units: if bench { 2000 } else { 30 },
        gigabytes: if bench { 1.0 } else { 1.0 / 64.0 },
    };
    let mut it = argv.iter();
    while let Some(x) = it.next() {
        match x.as_str() {
            "--units" => a.units = it.next().and_then(|v| v.parse().ok()).expect("a number"),
            "--gigabytes" => {
                a.gigabytes = it.next().and_then(|v| v.parse().ok()).expect("a number")
            }
            _ => {}
        }
    }
    a
}

/// Vaults as a user has them (the free-space reserve, every write durable), but with a
/// quick key derivation and no device binding: unlocking is not what is measured.
fn options() -> Options {
    Options::insecure_for_tests()
}

fn new_vault(dir: &Path) -> Vault {
    Vault::create(dir, &SecretString::from(PASS.to_owned()), options()).expect("a vault")
}

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/import/samples")
}

fn sha_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ----- exports made from the real samples -----

/// Martus: one bulletin of the sample export (a single version with its custom fields),
/// written `n` times with local ids of its own.
fn martus(dir: &Path, n: usize) -> PathBuf {
    let xml =
        fs::read_to_string(samples().join("martus/exported/bulletins.xml")).expect("the sample");
    let start = xml
        .match_indices("<MartusBulletin>")
        .nth(3)
        .map(|(i, _)| i)
        .expect("a fourth bulletin");
    let end = xml[start..].find("</MartusBulletin>").expect("its end") + start + 17;
    let bulletin = &xml[start..end];
    let head = &xml[..xml.find("<MartusBulletin>").expect("a bulletin")];
    let mut out = fs::File::create(dir.join("bulletins.xml")).expect("create");
    out.write_all(head.as_bytes()).expect("write");
    for i in 0..n {
        let b = bulletin
            .replace("B-Vm1Ye6Tq9jR4uWs0cGx3pQ--", &format!("B-bench{i:08}--"))
            .replace("Threats against a journalist", &format!("Threats {i}"));
        out.write_all(b.as_bytes()).expect("write");
        out.write_all(b"\n").expect("write");
    }
    out.write_all(b"</MartusBulletins>\n").expect("write");
    // Its attachments, beside it.
    for entry in fs::read_dir(samples().join("martus/exported")).expect("the samples") {
        let entry = entry.expect("an entry");
        if entry.path().extension().is_some_and(|e| e == "txt") {
            fs::copy(entry.path(), dir.join(entry.file_name())).expect("copy");
        }
    }
    dir.join("bulletins.xml")
}

/// ODK Briefcase: the witness-report sample's shape, `n` submissions with one witness
/// each; with `media` > 0 every submission carries a photo of that many bytes.
fn odk(dir: &Path, n: usize, media: usize) -> PathBuf {
    let form = dir.join("witness_report");
    fs::create_dir_all(form.join("media")).expect("dir");
    let mut main = fs::File::create(form.join("witness_report.csv")).expect("create");
    let mut repeat = fs::File::create(form.join("witness_report-witness.csv")).expect("create");
    writeln!(
        main,
        "SubmissionDate,event:event_date,event:place,event:narrative,photo,SET-OF-witness,meta:instanceID,KEY"
    )
    .expect("write");
    writeln!(
        repeat,
        "witness_name,statement,PARENT_KEY,KEY,SET-OF-witness"
    )
    .expect("write");
    let mut content = vec![0u8; media];
    for i in 0..n {
        let iid = format!("uuid:00000000-0000-4000-8000-{i:012}");
        let photo = if media > 0 {
            let name = format!("{i}.jpg");
            // Each photo differs (its first bytes), as real ones do.
            content[..8].copy_from_slice(&(i as u64).to_le_bytes());
            fs::write(form.join("media").join(&name), &content).expect("media");
            name
        } else {
            String::new()
        };
        writeln!(
            main,
            "\"Mar 2, 2024 10:15:00 AM\",\"Mar 1, 2024\",Gulu market {i},\"Soldiers beat two \
             traders and took their goods.\",{photo},{iid}/witness,{iid},{iid}"
        )
        .expect("write");
        writeln!(
            repeat,
            "Witness {i},I saw it from my stall.,{iid},{iid}/witness[1],{iid}/witness"
        )
        .expect("write");
    }
    form.join("witness_report.csv")
}

/// Uwazi: the human-rights export sample's columns, `n` entities.
fn uwazi(dir: &Path, n: usize) -> PathBuf {
    let path = dir.join("incidents.csv");
    let mut out = fs::File::create(&path).expect("create");
    writeln!(
        out,
        "Title,Date added,Template,Date of incident,Location,Country,Violations,Perpetrator,\
         Description,Related incidents,Documents,Attachments,Published"
    )
    .expect("write");
    for i in 0..n {
        writeln!(
            out,
            "Arrest {i},2023-03-02,Incident,2023-02-14,\"-1.2921|36.8219\",KE,\
             Arbitrary arrest|Torture,Police,Detained at the central station.,,,,Published"
        )
        .expect("write");
    }
    path
}

/// Tella Android: `n` photos, each with its verification metadata file.
fn tella(dir: &Path, n: usize) -> PathBuf {
    let export = dir.join("tella-export");
    fs::create_dir_all(&export).expect("dir");
    let sample = fs::read_to_string(samples().join("tella/android-export/IMG_20240312_101500.csv"))
        .expect("the sample");
    let mut lines = sample.lines();
    let header = lines.next().expect("a header");
    let values = lines.next().expect("values");
    let (_, rest) = values.split_once(',').expect("a hash first");
    let rest = rest.replacen(",IMG_20240312_101500.png,", ",NAME,", 1);
    let photo = fs::read(samples().join("tella/android-export/IMG_20240312_101500.png"))
        .expect("the photo");
    for i in 0..n {
        let mut content = photo.clone();
        content.extend_from_slice(&(i as u64).to_le_bytes());
        let name = format!("IMG_{i:08}.png");
        fs::write(export.join(&name), &content).expect("write");
        let line = format!(
            "{},{}",
            sha_hex(&content).to_uppercase(),
            rest.replace("NAME", &name)
        );
        fs::write(
            export.join(format!("IMG_{i:08}.csv")),
            format!("{header}\n{line}\n"),
        )
        .expect("write");
    }
    export
}

// ----- measuring -----

/// Counts units; keeps nothing.
struct Count(usize, usize);

impl Sink for Count {
    fn unit(&mut self, unit: Unit) -> Result<(), Stopped> {
        self.0 += 1;
        self.1 += unit.records.len() + unit.files.len();
        Ok(())
    }
    fn problem(&mut self, problem: Problem) {
        panic!("the generated export has a problem: {problem}");
    }
    fn progress(&mut self, _: u64, _: u64) {}
}

/// The process's peak resident memory (KiB).
fn peak_kib() -> u64 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

struct Row {
    tool: Tool,
    units: usize,
    records: usize,
    read_per_s: f64,
    import_per_s: f64,
    baseline_per_s: f64,
}

fn measure(tool: Tool, export: &Path, tmp: &Path) -> Row {
    // The reader alone.
    let t = Instant::now();
    let mut count = Count(0, 0);
    tool.read(export, &mut count).expect("read");
    let read_s = t.elapsed().as_secs_f64();

    // The import.
    let dir = tmp.join(format!("vault-{}", tool.code()));
    let mut vault = new_vault(&dir);
    let t = Instant::now();
    let done = engine::import(&mut vault, tool, export, &mut |_, _, _| {}).expect("imported");
    let import_s = t.elapsed().as_secs_f64();
    let records = done.records + done.files;
    drop(vault);

    // The baseline: the same records through the vault's own writes.
    let units = Collect::read(tool, export);
    assert!(units.problems.is_empty(), "{:?}", units.problems);
    let dir = tmp.join(format!("baseline-{}", tool.code()));
    let mut vault = new_vault(&dir);
    let t = Instant::now();
    let mut written = 0;
    if tool == Tool::Tella {
        let mut case = None;
        for u in units.units {
            for item in u.records {
                vault
                    .commit(vec![Change::Import {
                        record_id: item.id,
                        record: item.record,
                    }])
                    .expect("commit");
                case = Some(item.id);
                written += 1;
            }
            for f in u.files {
                let custos_import::FileSource::Path(p) = &f.source else {
                    panic!("a folder export")
                };
                vault
                    .attach(
                        p,
                        Attach {
                            case_id: case.expect("the case first"),
                            ..Attach::default()
                        },
                    )
                    .expect("attach");
                written += 1;
            }
        }
    } else {
        let mut batch = Vec::new();
        for u in units.units {
            for item in u.records {
                let mut versions = item.earlier;
                versions.push(item.record);
                batch.push(Change::Import {
                    record_id: item.id,
                    record: versions.remove(0),
                });
                written += 1;
                if batch.len() >= 256 {
                    vault.commit(std::mem::take(&mut batch)).expect("commit");
                }
            }
        }
        vault.commit(batch).expect("commit");
    }
    let baseline_s = t.elapsed().as_secs_f64();
    Row {
        tool,
        units: count.0,
        records,
        read_per_s: count.0 as f64 / read_s,
        import_per_s: records as f64 / import_s,
        baseline_per_s: written as f64 / baseline_s,
    }
}

/// Peak memory of importing an ODK export whose media weigh `bytes`: the import runs
/// in a process of its own (this benchmark run again with `--memory-child`), whose
/// peak resident memory (VmHWM: everything, the program itself included) is the
/// figure. → (peak MiB, seconds, files).
fn memory(tmp: &Path, bytes: u64) -> (f64, f64, usize) {
    const PHOTO: usize = 8 << 20;
    let n = (bytes as usize).div_ceil(PHOTO).max(2);
    let dir = tmp.join(format!("odk-{bytes}"));
    fs::create_dir_all(&dir).expect("dir");
    let export = odk(&dir, n, PHOTO);
    let out = std::process::Command::new(std::env::current_exe().expect("this program"))
        .arg("--memory-child")
        .arg(&export)
        .arg(dir.join("vault"))
        .arg(n.to_string())
        .output()
        .expect("the child runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .expect("the child's figures")
    };
    let _ = fs::remove_dir_all(&dir);
    (field("PEAK_KIB") / 1024.0, field("SECS"), n)
}

/// The child of [`memory`]: imports the export, prints its peak memory and the time.
fn memory_child(export: &Path, vault: &Path, files: usize) {
    let mut vault = new_vault(vault);
    let t = Instant::now();
    let done = engine::import(&mut vault, Tool::Odk, export, &mut |_, _, _| {}).expect("import");
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(done.files, files);
    println!("PEAK_KIB {}", peak_kib());
    println!("SECS {secs}");
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if let Some(i) = argv.iter().position(|a| a == "--memory-child") {
        let files = argv[i + 3].parse().expect("a count");
        memory_child(Path::new(&argv[i + 1]), Path::new(&argv[i + 2]), files);
        return;
    }
    let a = args();
    let tmp = tempfile::tempdir().expect("tmp");
    let mut report = Report::new("imports");
    report.param("units", a.units as u64);
    report.param("gigabytes", a.gigabytes);

    println!(
        "imports: {} source records per tool, into a new vault (baseline: the same records \
         by Vault::commit, 256 a commit; Tella: Vault::attach of the same files)\n",
        a.units
    );
    println!(
        "{:<8} {:>7} {:>8} {:>14} {:>14} {:>14} {:>8}",
        "tool", "units", "records", "read units/s", "import rec/s", "baseline rec/s", "ratio"
    );
    for tool in Tool::ALL {
        let dir = tmp.path().join(tool.code());
        fs::create_dir_all(&dir).expect("dir");
        let export = match tool {
            Tool::Martus => martus(&dir, a.units),
            Tool::Odk => odk(&dir, a.units, 0),
            Tool::Uwazi => uwazi(&dir, a.units),
            Tool::Tella => tella(&dir, a.units),
        };
        let r = measure(tool, &export, tmp.path());
        println!(
            "{:<8} {:>7} {:>8} {:>14.0} {:>14.0} {:>14.0} {:>7.2}×",
            r.tool.code(),
            r.units,
            r.records,
            r.read_per_s,
            r.import_per_s,
            r.baseline_per_s,
            r.baseline_per_s / r.import_per_s
        );
        let group = format!("import {}", r.tool.code());
        report.add(
            &group,
            "read",
            "custos",
            "units/s",
            Better::Higher,
            &[r.read_per_s],
        );
        report.add(
            &group,
            "import",
            "custos",
            "records/s",
            Better::Higher,
            &[r.import_per_s],
        );
        report.add(
            &group,
            "import",
            "baseline",
            "records/s",
            Better::Higher,
            &[r.baseline_per_s],
        );
        let _ = fs::remove_dir_all(&dir);
    }

    let full = (a.gigabytes * (1u64 << 30) as f64) as u64;
    let eighth = full / 8;
    println!("\nmemory: ODK exports with media, the importing process's peak resident memory");
    for bytes in [eighth, full] {
        let (mib, secs, files) = memory(tmp.path(), bytes);
        println!(
            "  {:>8.1} MiB of media in {files} files: peak {mib:.1} MiB, {secs:.1} s ({:.0} MB/s)",
            bytes as f64 / (1 << 20) as f64,
            bytes as f64 / 1e6 / secs
        );
        let group = format!("memory {:.0} MiB", bytes as f64 / (1 << 20) as f64);
        report.add(
            &group,
            "peak above start",
            "custos",
            "MiB",
            Better::Lower,
            &[mib],
        );
        report.add(
            &group,
            "import",
            "custos",
            "MB/s",
            Better::Higher,
            &[bytes as f64 / 1e6 / secs],
        );
    }
    report.finish();
}
