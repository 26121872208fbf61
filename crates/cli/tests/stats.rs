//! `custos stats` through the real binary, over a vault made with the library: the
//! tables and the JSON checked against counts stated here.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{PoisonError, RwLock};

use chrono::NaiveDate;
use custos_model::{
    Case, Consent, Consents, FuzzyDate, Incident, Involvement, Location, Person, Precision, Record,
    Role,
};
use custos_vault::{Options, SecretString, Vault};
use serde_json::{json, Value};
use uuid::Uuid;

const PASS: &str = "lantern orchard velvet quarry 1987 sparrow";

/// Opening or closing a vault here while a child is being spawned could leave its lock
/// held by the child for a moment (see tests/cli.rs): spawning holds this shared.
static SPAWN: RwLock<()> = RwLock::new(());

struct Env {
    tmp: tempfile::TempDir,
    dir: PathBuf,
    pass_file: PathBuf,
}

fn incident(case_id: Uuid, month: u32, act: &str, country: &str, victims: &[Uuid]) -> Record {
    Record::Incident(Incident {
        case_id,
        title: "SECRET-TITLE".into(),
        description: "SECRET-DESCRIPTION".into(),
        start: Some(FuzzyDate {
            date: NaiveDate::from_ymd_opt(2024, month, 9).expect("date"),
            precision: Precision::Day,
        }),
        end: None,
        location: Some(Location {
            place: "SECRET-PLACE".into(),
            region: String::new(),
            country: country.into(),
            lat: None,
            lon: None,
        }),
        act_types: vec![act.into()],
        persons: victims
            .iter()
            .map(|p| Involvement {
                person_id: *p,
                role: Role::Victim,
            })
            .collect(),
        related: vec![],
        impact: String::new(),
    })
}

fn victim(case_id: Uuid, name: &str, sex: &str, occupation: &str) -> Record {
    Record::Person(Person {
        case_id,
        name: name.into(),
        other_names: vec![],
        roles: vec![Role::Victim],
        is_group: false,
        group_size: None,
        sex: sex.into(),
        birth_date: None,
        occupation: occupation.into(),
        organisation: String::new(),
        human_rights_work: String::new(),
        residence: String::new(),
        citizenship: String::new(),
        consent: Consents {
            publish: Consent::Refused,
            ..Consents::default()
        },
        contact: String::new(),
    })
}

/// Case "detention": four arbitrary arrests in Tunisia (March 2024), three women
/// journalists and a man, a lawyer. Case "press": one threat in Egypt (May 2024).
/// Five incidents, four victims, all without consent to be published.
fn env() -> Env {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("vault");
    let pass_file = tmp.path().join("pass.txt");
    std::fs::write(&pass_file, format!("{PASS}\n")).expect("passphrase file");
    let _exclusive = SPAWN.write().unwrap_or_else(PoisonError::into_inner);
    let mut v = Vault::create(
        &dir,
        &SecretString::from(PASS.to_owned()),
        Options::insecure_for_tests(),
    )
    .expect("vault");
    let a = v
        .add(Record::Case(Case {
            title: "Detention".into(),
            tags: vec!["detention".into()],
            ..Case::default()
        }))
        .expect("case");
    let b = v
        .add(Record::Case(Case {
            title: "Press".into(),
            tags: vec!["press".into()],
            ..Case::default()
        }))
        .expect("case");
    let mut people = vec![];
    for (name, sex, job) in [
        ("SECRET-NAME-A", "female", "Journalist"),
        ("SECRET-NAME-B", "F", "journalist"),
        ("SECRET-NAME-C", "woman", "Journalist "),
        ("SECRET-NAME-D", "male", "Lawyer"),
    ] {
        people.push(v.add(victim(a, name, sex, job)).expect("person"));
    }
    for p in &people {
        v.add(incident(a, 3, "arbitrary_arrest", "tn", &[*p]))
            .expect("incident");
    }
    v.add(incident(b, 5, "threat", "EG", &[]))
        .expect("incident");
    v.lock().expect("lock");
    Env {
        tmp,
        dir,
        pass_file,
    }
}

impl Env {
    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_custos"));
        cmd.arg("--vault")
            .arg(&self.dir)
            .arg("--passphrase-file")
            .arg(&self.pass_file)
            .args(args)
            .env("HOME", self.tmp.path())
            // English whatever the machine's locale: the tests match on the words.
            .env("CUSTOS_LANG", "en")
            .env("XDG_DATA_HOME", self.tmp.path().join("data"))
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("CUSTOS_CONFIG_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = {
            let _shared = SPAWN.read().unwrap_or_else(PoisonError::into_inner);
            cmd.spawn().expect("spawn custos")
        };
        child.wait_with_output().expect("run custos")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let stdout = String::from_utf8(out.stdout).expect("UTF-8");
        assert!(
            out.status.success(),
            "custos {args:?}: {}\n{stdout}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !stdout.contains("SECRET"),
            "custos {args:?} leaked:\n{stdout}"
        );
        stdout
    }

    fn fail(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "custos {args:?} should fail");
        assert!(out.stdout.is_empty());
        String::from_utf8(out.stderr).expect("UTF-8")
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["stats", "--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.ok(&all)).expect("JSON")
    }
}

fn count_of(list: &Value, key: &str) -> Value {
    list.as_array()
        .expect("a list")
        .iter()
        .find(|c| c["key"] == key)
        .map(|c| c["count"].clone())
        .unwrap_or(Value::Null)
}

/// The count column of the table row whose label is `label`, in the table under `title`.
fn row(table: &str, title: &str, label: &str) -> Option<String> {
    let mut lines = table.lines().skip_while(|l| *l != title).skip(1);
    lines
        .by_ref()
        .take_while(|l| !l.is_empty())
        .find(|l| l.trim_start().starts_with(label))
        .map(|l| l.trim_start()[label.len()..].trim().to_owned())
}

#[test]
fn stats_prints_the_published_figures_as_tables_and_json() {
    let env = env();
    let exact = |n: u32| json!({"shown": "exact", "n": n});
    let few = json!({"shown": "fewer_than", "n": 3});

    let all = env.json(&["--threshold", "1"]);
    assert_eq!(all["cases"], exact(2));
    assert_eq!(all["incidents"], exact(5));
    assert_eq!(all["victims"], exact(4));
    assert_eq!(all["without_publish_consent"], exact(4));
    assert_eq!(all["threshold"], 1);
    assert_eq!(count_of(&all["act_types"], "arbitrary_arrest"), exact(4));
    assert_eq!(count_of(&all["act_types"], "threat"), exact(1));
    assert_eq!(count_of(&all["places"]["countries"], "TN"), exact(4));
    assert_eq!(count_of(&all["victims_by_sex"], "female"), exact(3));
    assert_eq!(count_of(&all["victims_by_sex"], "male"), exact(1));
    assert_eq!(
        count_of(&all["victims_by_occupation"], "Journalist"),
        exact(3)
    );
    assert_eq!(count_of(&all["victims_by_occupation"], "Lawyer"), exact(1));
    assert_eq!(all["timeline"]["period"], "month");
    assert_eq!(all["timeline"]["bins"].as_array().map(Vec::len), Some(3));

    // The default threshold, 3: small counts withheld, rare free text folded.
    let published = env.json(&[]);
    assert_eq!(published["threshold"], 3);
    assert_eq!(
        count_of(&published["act_types"], "arbitrary_arrest"),
        exact(4)
    );
    assert_eq!(count_of(&published["act_types"], "threat"), few);
    assert_eq!(count_of(&published["victims_by_sex"], "male"), few);
    assert_eq!(
        count_of(&published["victims_by_occupation"], "Lawyer"),
        Value::Null
    );
    assert_eq!(count_of(&published["victims_by_occupation"], "other"), few);

    // The filters of `custos search` select the cases.
    let press = env.json(&["--tag", "press", "--threshold", "1"]);
    assert_eq!(
        (press["cases"].clone(), press["incidents"].clone()),
        (exact(1), exact(1))
    );
    let weeks = env.json(&["--by", "week", "--act", "arbitrary_arrest"]);
    assert_eq!(weeks["timeline"]["period"], "week");
    assert_eq!(weeks["incidents"], exact(4));
    // A total beside withheld parts is the range they allow: "4 victims" beside
    // "female: 3" would tell that the man is alone.
    assert_eq!(
        (published["incidents"].clone(), published["victims"].clone()),
        (
            json!({"shown": "between", "n": [5, 6]}),
            json!({"shown": "between", "n": [4, 5]})
        )
    );

    // The tables, in English then Arabic.
    let table = env.ok(&["stats"]);
    let arrest = custos_model::vocab::builtin()
        .act_types
        .get("arbitrary_arrest")
        .expect("term");
    let threat = custos_model::vocab::builtin()
        .act_types
        .get("threat")
        .expect("term");
    let title = "Incidents by type of act";
    assert_eq!(
        row(&table, title, arrest.label("en")).as_deref(),
        Some("4"),
        "{table}"
    );
    assert_eq!(
        row(&table, title, threat.label("en")).as_deref(),
        Some("fewer than 3")
    );
    assert_eq!(
        row(&table, "Victims by sex", "Female").as_deref(),
        Some("3")
    );
    assert_eq!(
        row(&table, "Victims by sex", "Male").as_deref(),
        Some("fewer than 3")
    );
    assert_eq!(
        row(&table, "Incidents by place", "TN").as_deref(),
        Some("4")
    );
    assert_eq!(
        row(&table, "Incidents over time", "Mar 2024").as_deref(),
        Some("4")
    );
    assert_eq!(
        row(&table, "Incidents over time", "Apr 2024").as_deref(),
        Some("0")
    );
    assert!(table.contains("Counts below 3"), "{table}");
    let ar = env.ok(&["stats", "--lang", "ar"]);
    assert_eq!(
        row(&ar, "الحوادث حسب نوع الفعل", arrest.label("ar")).as_deref(),
        Some("4")
    );
    assert!(ar.contains("أقل من 3"), "{ar}");
}

#[test]
fn stats_refuses_bad_options_with_a_clear_error() {
    let env = env();
    let e = env.fail(&["stats", "--status", "sleeping"]);
    assert!(e.contains("status"), "{e}");
    let e = env.fail(&["stats", "--chart", "timeline"]);
    assert!(e.contains("--svg"), "{e}");
    let missing = env.tmp.path().join("no-such-folder");
    let e = env.fail(&["stats", "--svg", path(&missing)]);
    assert!(e.contains("not a folder"), "{e}");
    let out = env.tmp.path().join("charts");
    std::fs::create_dir(&out).expect("folder");
    let e = env.fail(&["stats", "--svg", path(&out), "--chart", "pie"]);
    assert!(e.contains("pie"), "{e}");
    assert_eq!(std::fs::read_dir(&out).expect("folder").count(), 0);
}

// Ignored until the charts are drawn (custos_patterns::charts): the lead un-ignores it at
// merge.
#[test]
fn stats_writes_the_charts_into_a_folder() {
    let env = env();
    let out = env.tmp.path().join("charts");
    std::fs::create_dir(&out).expect("folder");
    let printed = env.ok(&["stats", "--svg", path(&out)]);
    assert!(
        printed.lines().any(|l| l.ends_with("timeline.svg")),
        "{printed}"
    );
    for line in printed.lines() {
        let svg = std::fs::read_to_string(line).expect("svg");
        assert!(svg.contains("<svg") && !svg.contains("SECRET"));
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}
