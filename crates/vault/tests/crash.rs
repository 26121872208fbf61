//! Crash test: a child process writes records in a loop and is killed with SIGKILL at a
//! random moment, many times. After each kill, every record the child reported as
//! written (acknowledged) must decrypt with the content it was written with, and nothing
//! may be damaged.
//!
//! The child is this test binary run again with `CUSTOS_CRASH_CHILD` set, so that the
//! test needs no extra program and uses the library exactly as the app does.

mod acked;

use acked::text_for;
use custos_test_support::{pass, FAST as OPTS};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use custos_model::{Case, Note, Record};
use custos_vault::{Change, Filter, Vault};
use uuid::Uuid;

const ROUNDS: usize = 25;

/// Runs in the child: writes until killed, printing one line per acknowledged write.
#[test]
#[ignore = "runs only as the crash test's child process"]
fn crash_child() {
    let Ok(dir) = std::env::var("CUSTOS_CRASH_CHILD") else {
        return;
    };
    let start: u64 = std::env::var("CUSTOS_CRASH_SEQ").unwrap().parse().unwrap();
    let mut vault = Vault::unlock(Path::new(&dir), &pass(), OPTS).unwrap();
    let case_id = acked::first_case(&vault);
    let out = std::io::stdout();
    let mut seq = start;
    loop {
        // Alternate single writes, batches of several records, and edits of the case.
        let n = 1 + (seq % 4) as usize;
        let changes: Vec<Change> = (0..n)
            .map(|i| {
                Change::Create(Record::Note(Note {
                    case_id,
                    text: text_for(seq + i as u64),
                    about: vec![],
                }))
            })
            .chain(seq.is_multiple_of(5).then(|| Change::Update {
                record_id: case_id,
                record: Record::Case(Case {
                    title: format!("case at {seq}"),
                    ..Case::default()
                }),
            }))
            .collect();
        let written = vault.commit(changes).unwrap();
        let mut lock = out.lock();
        for (i, w) in written.iter().take(n).enumerate() {
            writeln!(lock, "ACK {} {}", w.record_id, seq + i as u64).unwrap();
        }
        if written.len() > n {
            writeln!(lock, "CASE {}", seq).unwrap();
        }
        lock.flush().unwrap();
        seq += n as u64;
    }
}

fn check(dir: &Path, acked: &HashMap<Uuid, u64>, case_title: Option<&str>) {
    let vault = acked::check_acked(dir, acked, "crash");
    if let Some(t) = case_title {
        let case = vault
            .list(&Filter {
                kind: Some(custos_model::Kind::Case),
                ..Filter::default()
            })
            .remove(0);
        let head = vault.get(case.record_id).unwrap();
        let title = head.into_record().unwrap().title().to_owned();
        // The acknowledged edit, or a later one that landed before the kill.
        let acked: u64 = t.trim_start_matches("case at ").parse().unwrap();
        let now: u64 = title.trim_start_matches("case at ").parse().unwrap_or(0);
        assert!(
            now >= acked,
            "acknowledged case edit {acked} lost (now {title})"
        );
    }
    vault.lock().unwrap();
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let mut vault = Vault::create(&dir, &pass(), OPTS).unwrap();
    vault
        .add(Record::Case(Case {
            title: "case at 0".into(),
            ..Case::default()
        }))
        .unwrap();
    vault.lock().unwrap();

    let exe = std::env::current_exe().unwrap();
    let mut acked: HashMap<Uuid, u64> = HashMap::new();
    let mut last_case: Option<String> = Some("case at 0".into());
    let mut seq: u64 = 1;
    let mut rng = 0x9e3779b97f4a7c15u64;
    let mut kills_mid_write = 0;
    for round in 0..ROUNDS {
        // Kill after 30–330 ms of writing (unlock itself takes some of it).
        let after = acked::next_delay(&mut rng, 30, 300);
        let mut child = Command::new(&exe)
            .args([
                "crash_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("CUSTOS_CRASH_CHILD", &dir)
            .env("CUSTOS_CRASH_SEQ", seq.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let started = Instant::now();
        let mut lines = Vec::new();
        while started.elapsed() < after {
            if let Ok(l) = rx.recv_timeout(Duration::from_millis(5)) {
                lines.push(l);
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        // Lines already in the pipe were printed after their write was acknowledged.
        lines.extend(rx.try_iter());
        let wrote = acked::take_acks(&lines, &mut acked, &mut seq);
        for l in &lines {
            if let ["CASE", n] = l.split_whitespace().collect::<Vec<_>>().as_slice() {
                last_case = Some(format!("case at {n}"));
            }
        }
        if wrote > 0 {
            kills_mid_write += 1;
        }
        // Numbers of writes in flight when killed are never reused.
        seq += 10;
        check(&dir, &acked, last_case.as_deref());
        eprintln!(
            "round {round}: killed after {after:?}, {} acknowledged so far",
            acked.len()
        );
    }
    acked::assert_enough(kills_mid_write, ROUNDS, acked.len(), "killed");
}

/// The database rewrite (travel mode's, which leaves no removed value in its files) cut
/// short after each of its steps, as a crash would: the vault opens afterwards with every
/// record, the rewrite is finished, and nothing of it is left beside the database.
#[test]
fn a_database_rewrite_cut_short_at_any_step_leaves_a_vault_that_opens() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let mut v = Vault::create(&dir, &pass(), OPTS).unwrap();
    let ids: Vec<Uuid> = (0..40)
        .map(|i| {
            v.add(Record::Case(Case {
                title: format!("case {i}"),
                ..Case::default()
            }))
            .unwrap()
        })
        .collect();
    v.lock().unwrap();
    for step in 0..=5u8 {
        let copy = tmp.path().join(format!("step-{step}"));
        let status = Command::new("cp")
            .arg("-a")
            .arg(&dir)
            .arg(&copy)
            .status()
            .unwrap();
        assert!(status.success());
        custos_vault::store::rewrite_interrupted(&copy.join("db"), step).unwrap();
        let v = Vault::unlock(&copy, &pass(), OPTS)
            .unwrap_or_else(|e| panic!("cut short after step {step}: {e}"));
        for (i, id) in ids.iter().enumerate() {
            match v.get(*id).unwrap().into_record() {
                Some(Record::Case(c)) => assert_eq!(c.title, format!("case {i}")),
                other => panic!("step {step}: record {i} is {other:?}"),
            }
        }
        assert!(v.damaged().is_empty(), "step {step}");
        v.lock().unwrap();
        let left: Vec<_> = std::fs::read_dir(&copy)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("db."))
            .collect();
        assert!(
            left.is_empty(),
            "step {step}: left beside the database: {left:?}"
        );
    }
}
