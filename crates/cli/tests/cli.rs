//! Integration tests of the `custos` command line: the real binary, real vault folders.
//!
//! Vaults are created through the library with a low scrypt cost so that every CLI
//! unlock is fast (the work factor is read from the identity file); one test runs
//! `custos init` with the real, calibrated cost.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

use custos_vault::{Options, SecretString, Vault};
use serde_json::{json, Value};
use tempfile::TempDir;

const PASS: &str = "lantern orchard velvet quarry 1987 sparrow";
const NEW_PASS: &str = "cobalt meadow thunder violin 2041 heron";
const WRONG_PASS: &str = "granite harbour wicker comet 3310 falcon";

fn fast() -> Options {
    Options::insecure_for_tests()
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

/// Tests run on parallel threads, and some open vaults in this process while others
/// spawn the CLI. A child holds a copy of every open file until it execs, and the
/// vault's advisory lock (`flock` on `vault.lock`) lasts while any copy is open: a
/// vault closed here while another thread is spawning stays locked for a moment, and
/// the next unlock spuriously finds it "open in another process". So spawning holds
/// this lock shared until the child has exec'd (`spawn` has returned), and opening or
/// closing a vault in this process holds it exclusively.
static SPAWN: RwLock<()> = RwLock::new(());

fn spawn(cmd: &mut Command) -> Child {
    let _shared = SPAWN.read().unwrap_or_else(PoisonError::into_inner);
    cmd.spawn().expect("spawn custos")
}

/// Runs `f`, which opens or closes vaults in this process, while nothing is spawned.
fn exclusive<T>(f: impl FnOnce() -> T) -> T {
    let _exclusive = SPAWN.write().unwrap_or_else(PoisonError::into_inner);
    f()
}

/// A temporary folder with a passphrase file and (usually) a vault in `dir`.
struct Env {
    tmp: TempDir,
    dir: PathBuf,
    pass_file: PathBuf,
}

impl Env {
    /// A new, empty vault (low KDF cost) unlocked by [`PASS`].
    fn new() -> Env {
        let env = Env::without_vault();
        exclusive(|| {
            Vault::create(&env.dir, &secret(PASS), fast())
                .expect("create vault")
                .lock()
                .expect("lock vault")
        });
        env
    }

    /// The passphrase file, but no vault yet (`dir` does not exist).
    fn without_vault() -> Env {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("vault");
        let pass_file = tmp.path().join("pass.txt");
        std::fs::write(&pass_file, format!("{PASS}\n")).expect("write passphrase file");
        Env {
            tmp,
            dir,
            pass_file,
        }
    }

    /// Writes a file in the temporary folder (outside the vault).
    fn file(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.tmp.path().join(name);
        std::fs::write(&path, contents).expect("write file");
        path
    }

    fn command(&self, pass_file: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_custos"));
        cmd.arg("--vault")
            .arg(&self.dir)
            .arg("--passphrase-file")
            .arg(pass_file)
            .args(args)
            // Never touch the real user's data folder, whatever happens.
            .env("HOME", self.tmp.path())
            // English whatever the machine's locale: the tests match on the words.
            .env("CUSTOS_LANG", "en")
            .env("XDG_DATA_HOME", self.tmp.path().join("data"))
            // Nor the real settings (the count of failed unlocks, the wipe after them):
            // the config folder is $HOME/.config/custos, the desktop app's default.
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("CUSTOS_CONFIG_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs the CLI with [`PASS`].
    fn run(&self, args: &[&str]) -> Output {
        self.run_with(&self.pass_file, args)
    }

    /// Runs the CLI with another passphrase file.
    fn run_with(&self, pass_file: &Path, args: &[&str]) -> Output {
        spawn(&mut self.command(pass_file, args))
            .wait_with_output()
            .expect("run custos")
    }

    /// Runs the CLI with `input` on standard input.
    fn run_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        let mut child = spawn(self.command(&self.pass_file, args).stdin(Stdio::piped()));
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
        child.wait_with_output().expect("run custos")
    }

    /// Runs the CLI, asserts success, returns standard output.
    fn ok(&self, args: &[&str]) -> String {
        succeeded(args, self.run(args))
    }

    /// Runs the CLI, asserts a one-line `custos: ` error, returns the message.
    fn fail(&self, args: &[&str]) -> String {
        failed(args, self.run(args))
    }

    /// Runs the CLI with `--json` output and parses it.
    fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}):\n{out}"))
    }

    /// `list --json` (without deleted records).
    fn list(&self) -> Vec<Value> {
        as_array(self.json(&["list", "--json"]))
    }

    /// `list --deleted --json`, sorted by record id, reduced to what identifies the state.
    fn state(&self) -> Vec<Value> {
        let mut items: Vec<Value> = as_array(self.json(&["list", "--deleted", "--json"]))
            .into_iter()
            .map(|i| {
                json!({
                    "record_id": i["record_id"],
                    "kind": i["kind"],
                    "title": i["title"],
                    "versions": i["versions"],
                    "deleted": i["deleted"],
                })
            })
            .collect();
        items.sort_by_key(|i| i["record_id"].as_str().unwrap_or_default().to_owned());
        items
    }

    /// The number of stored versions, read through the library.
    fn version_count(&self) -> usize {
        exclusive(|| {
            let vault = Vault::unlock(&self.dir, &secret(PASS), fast()).expect("unlock vault");
            let n = vault.version_count();
            vault.lock().expect("lock vault");
            n
        })
    }

    /// `add ...`; asserts the output is exactly one line, a UUID, and returns it.
    fn add(&self, args: &[&str]) -> String {
        let mut all = vec!["add"];
        all.extend_from_slice(args);
        one_uuid(&all, &self.ok(&all))
    }

    fn add_case(&self, title: &str) -> String {
        self.add(&["case", "--title", title, "--summary", "a summary"])
    }

    fn show(&self, id: &str) -> Value {
        self.json(&["show", id, "--json"])
    }

    fn history(&self, id: &str) -> Vec<Value> {
        as_array(self.json(&["history", id, "--json"]))
    }
}

fn succeeded(args: &[&str], out: Output) -> String {
    let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "custos {args:?} failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
    stdout
}

fn failed(args: &[&str], out: Output) -> String {
    let stderr = failed_multiline(args, out);
    assert_eq!(
        stderr.lines().count(),
        1,
        "custos {args:?}: the error should be one line:\n{stderr}"
    );
    stderr.trim_end().to_owned()
}

/// Asserts failure whose stderr starts with `custos: `; returns the whole of stderr.
fn failed_multiline(args: &[&str], out: Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8(out.stderr).expect("stderr is UTF-8");
    assert!(
        !out.status.success(),
        "custos {args:?} should have failed:\nstdout: {stdout}\nstderr: {stderr}"
    );
    assert!(
        stderr.starts_with("custos: "),
        "custos {args:?}: stderr should start with 'custos: ':\n{stderr}"
    );
    assert!(
        stdout.is_empty(),
        "custos {args:?} failed but printed to stdout:\n{stdout}"
    );
    stderr
}

fn one_uuid(args: &[&str], out: &str) -> String {
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "custos {args:?}: expected one line:\n{out}");
    let id = lines[0];
    let parsed =
        uuid::Uuid::parse_str(id).unwrap_or_else(|_| panic!("custos {args:?}: not a UUID: {id:?}"));
    assert_eq!(parsed.to_string(), id, "UUID in canonical form");
    id.to_owned()
}

fn as_array(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        other => panic!("expected a JSON array, got {other}"),
    }
}

fn find<'a>(items: &'a [Value], id: &str) -> Option<&'a Value> {
    items.iter().find(|i| i["record_id"] == id)
}

fn ids(items: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = items
        .iter()
        .map(|i| i["record_id"].as_str().expect("record_id").to_owned())
        .collect();
    out.sort();
    out
}

// ----- creating and reading -----

#[test]
fn init_with_the_calibrated_kdf_then_add_and_list() {
    let env = Env::without_vault();
    let out = env.ok(&["init"]);
    assert_eq!(out.trim_end(), env.dir.display().to_string());
    assert!(env.dir.join("vault.json").is_file());
    assert!(env.dir.join("identity.age").is_file());

    // A second init into the same folder is refused and leaves the vault alone.
    let identity = std::fs::read(env.dir.join("identity.age")).unwrap();
    let err = env.fail(&["init"]);
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(
        std::fs::read(env.dir.join("identity.age")).unwrap(),
        identity
    );

    let id = env.add(&["case", "--title", "Checkpoint arrests"]);
    let list = env.list();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["record_id"], id.as_str());
    assert_eq!(list[0]["title"], "Checkpoint arrests");
    assert_eq!(list[0]["kind"], "case");
}

#[test]
fn init_refuses_a_weak_passphrase() {
    let env = Env::without_vault();
    let weak = env.file("weak.txt", "password1\n");
    let err = failed(&["init"], env.run_with(&weak, &["init"]));
    assert!(err.contains("too weak"), "{err}");
    assert!(!env.dir.join("vault.json").exists());

    // A folder that holds other files is not turned into a vault.
    std::fs::create_dir_all(&env.dir).unwrap();
    std::fs::write(env.dir.join("notes.txt"), "mine").unwrap();
    let err = env.fail(&["init"]);
    assert!(err.contains("not empty"), "{err}");
    assert!(!env.dir.join("vault.json").exists());
    let names: Vec<_> = std::fs::read_dir(&env.dir).unwrap().collect();
    assert_eq!(names.len(), 1, "only the user's file is there");
}

#[test]
fn add_case_prints_its_id_and_list_and_show_find_it() {
    let env = Env::new();
    let id = env.add(&[
        "case",
        "--title",
        "Raid on the union office",
        "--summary",
        "S",
    ]);

    let list = env.list();
    assert_eq!(list.len(), 1);
    let item = find(&list, &id).expect("listed");
    assert_eq!(item["title"], "Raid on the union office");
    assert_eq!(item["kind"], "case");
    assert_eq!(item["versions"], 1);
    assert_eq!(item["deleted"], false);

    let view = env.show(&id);
    assert_eq!(view["record_id"], id.as_str());
    assert_eq!(view["kind"], "case");
    assert_eq!(view["deleted"], false);
    assert_eq!(view["parents"], json!([]));
    assert_eq!(view["record"]["title"], "Raid on the union office");
    assert_eq!(view["record"]["summary"], "S");
    assert_eq!(view["record"]["status"], "open");

    // The text form shows the same record.
    let text = env.ok(&["show", &id]);
    assert!(text.contains(&format!("record   {id}")), "{text}");
    assert!(text.contains("Raid on the union office"), "{text}");
    let text = env.ok(&["list"]);
    assert!(text.contains(&id) && text.contains("Raid on the union office"));
}

#[test]
fn records_linked_to_a_case_are_listed_with_it() {
    let env = Env::new();
    let case = env.add_case("Sfax journalists");
    let other = env.add_case("Unrelated case");
    let incident = env.add(&[
        "incident",
        "--case",
        &case,
        "--title",
        "Arrest at the checkpoint",
        "--date",
        "2024-05-01",
        "--act-type",
        "arbitrary_arrest",
        "--place",
        "Sfax",
        "--country",
        "TN",
    ]);
    let person = env.add(&[
        "person",
        "--case",
        &case,
        "--name",
        "Amina B.",
        "--role",
        "victim",
        "--set",
        "consent.publish=\"given\"",
    ]);
    let intervention = env.add(&[
        "intervention",
        "--case",
        &case,
        "--mechanism",
        "un_sr_hrd",
        "--type",
        "urgent_appeal",
        "--title",
        "Urgent appeal to the SR on HRDs",
    ]);
    let note = env.add(&["note", "--case", &case, "--text", "Lawyer visited\nmore"]);
    env.add(&["note", "--case", &other, "--text", "Not this case"]);

    let listed = as_array(env.json(&["list", "--case", &case, "--json"]));
    let mut expected = vec![
        case.clone(),
        incident.clone(),
        person.clone(),
        intervention.clone(),
        note.clone(),
    ];
    expected.sort();
    assert_eq!(ids(&listed), expected);
    assert_eq!(find(&listed, &note).unwrap()["title"], "Lawyer visited");
    assert_eq!(find(&listed, &person).unwrap()["title"], "Amina B.");
    assert_eq!(find(&listed, &incident).unwrap()["case_id"], case.as_str());

    let kinds = as_array(env.json(&["list", "--kind", "note", "--json"]));
    assert_eq!(kinds.len(), 2);
    env.ok(&["edit", &other, "--status", "closed"]);
    let closed = as_array(env.json(&["list", "--status", "closed", "--json"]));
    assert_eq!(ids(&closed), vec![other.clone()]);
    let err = env.fail(&["list", "--status", "bogus"]);
    assert_eq!(err, "custos: unknown status 'bogus'");

    let p = env.show(&person);
    assert_eq!(p["kind"], "person");
    assert_eq!(p["record"]["consent"]["publish"], "given");
    assert_eq!(p["record"]["consent"]["share_with_government"], "not_asked");
    assert_eq!(p["record"]["roles"], json!(["victim"]));
    assert_eq!(p["record"]["case_id"], case.as_str());

    let i = env.show(&incident)["record"].clone();
    assert_eq!(
        i["start"],
        json!({ "date": "2024-05-01", "precision": "day" })
    );
    assert_eq!(i["act_types"], json!(["arbitrary_arrest"]));
    assert_eq!(i["location"]["place"], "Sfax");
    assert_eq!(i["location"]["country"], "TN");

    let v = env.show(&intervention)["record"].clone();
    assert_eq!(v["mechanism"], "un_sr_hrd");
    assert_eq!(v["type"], "urgent_appeal");
    assert_eq!(v["title"], "Urgent appeal to the SR on HRDs");
}

#[test]
fn add_reads_a_whole_record_from_a_json_file_or_stdin() {
    let env = Env::new();
    let case = json!({
        "kind": "case",
        "title": "Forced eviction in the old town",
        "summary": "Families evicted without notice.",
        "status": "monitoring",
        "tags": ["housing", "eviction"],
        "confidentiality": "confidential",
        "owner": "documenter-3",
    });
    let path = env.file("case.json", serde_json::to_vec_pretty(&case).unwrap());
    let case_id = one_uuid(
        &["add"],
        &env.ok(&["add", "--json", path.to_str().unwrap()]),
    );
    assert_eq!(env.show(&case_id)["record"], case, "every field kept");

    let person = json!({
        "kind": "person",
        "case_id": case_id,
        "name": "Residents' committee",
        "is_group": true,
        "group_size": 40,
        "roles": ["victim", "source"],
        "consent": {
            "share_with_government": "refused",
            "publish": "given",
            "un_sr_hrd": "given",
            "omct_fidh_observatory": "refused",
            "eu_delegation": "not_asked",
            "achpr_sr_hrd": "given",
            "iachr_hrd_unit": "refused",
        },
    });
    let out = env.run_stdin(
        &["add", "--json", "-"],
        &serde_json::to_vec(&person).unwrap(),
    );
    let person_id = one_uuid(&["add", "--json", "-"], &succeeded(&["add"], out));
    let shown = env.show(&person_id);
    assert_eq!(shown["kind"], "person");
    let record = &shown["record"];
    for (k, v) in person.as_object().unwrap() {
        assert_eq!(&record[k], v, "field {k}");
    }

    // The kind argument and field flags override the file.
    let out = env.ok(&[
        "add",
        "case",
        "--json",
        path.to_str().unwrap(),
        "--title",
        "Overridden",
    ]);
    let id = one_uuid(&["add"], &out);
    let r = &env.show(&id)["record"];
    assert_eq!(r["title"], "Overridden");
    assert_eq!(r["summary"], "Families evicted without notice.");
    assert_eq!(env.list().len(), 3);
}

#[test]
fn add_refuses_input_it_cannot_use() {
    let env = Env::new();
    let case = env.add_case("Existing");
    let before = env.version_count();

    let err = env.fail(&["add", "--title", "No kind"]);
    assert!(err.contains("--json"), "{err}");

    let err = env.fail(&["add", "case", "--title", "T", "--set", "novalue"]);
    assert!(err.contains("FIELD=VALUE"), "{err}");

    let bad = env.file(
        "bad.json",
        "{\n  \"kind\": \"case\",\n  \"title\": \"x\"\n  ]\n",
    );
    let err = env.fail(&["add", "--json", bad.to_str().unwrap()]);
    assert!(err.contains("line 4"), "{err}");

    let err = env.fail(&[
        "add",
        "intervention",
        "--case",
        &case,
        "--title",
        "T",
        "--mechanism",
        "nope",
    ]);
    assert!(err.contains("mechanism"), "{err}");

    // A note linked to a case that is not a case.
    let note = env.add(&["note", "--case", &case, "--text", "n"]);
    let before = before + 1;
    let err = env.fail(&["add", "note", "--case", &note, "--text", "x"]);
    assert!(err.contains("not a case"), "{err}");

    assert_eq!(env.version_count(), before);
    assert_eq!(env.list().len(), 2);
}

#[test]
fn add_json_with_a_wrong_typed_field_names_the_field() {
    let env = Env::new();
    let path = env.file("case.json", r#"{ "kind": "case", "title": 5 }"#);
    let err = env.fail(&["add", "--json", path.to_str().unwrap()]);
    assert!(err.contains("title"), "{err}");
    assert!(env.list().is_empty());
}

// ----- editing, history, deleting -----

#[test]
fn edit_writes_a_new_version_and_keeps_the_old_one() {
    let env = Env::new();
    let id = env.add(&["case", "--title", "Old title", "--summary", "Kept"]);
    let first = env.show(&id)["version_id"].as_str().unwrap().to_owned();

    let out = env.ok(&["edit", &id, "--title", "New title"]);
    let second = one_uuid(&["edit"], &out);
    assert_ne!(second, first);

    let history = env.history(&id);
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(history[0]["version_id"], first.as_str());
    assert_eq!(history[0]["parents"], json!([]));
    assert_eq!(history[0]["record"]["title"], "Old title");
    assert_eq!(history[1]["version_id"], second.as_str());
    assert_eq!(history[1]["parents"], json!([first]));
    assert_eq!(history[1]["record"]["title"], "New title");

    let current = env.show(&id);
    assert_eq!(current["version_id"], second.as_str());
    assert_eq!(current["record"]["title"], "New title");
    assert_eq!(
        current["record"]["summary"], "Kept",
        "edit keeps other fields"
    );

    let old = env.json(&["show", &id, "--version", &first, "--json"]);
    assert_eq!(old["version_id"], first.as_str());
    assert_eq!(old["record"]["title"], "Old title");

    let list = env.list();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["title"], "New title");
    assert_eq!(list[0]["versions"], 2);

    // A version of another record, or an unknown one, is refused.
    let other = env.add_case("Other");
    let err = env.fail(&["show", &other, "--version", &first]);
    assert!(err.contains("no version"), "{err}");

    // Changing the kind through --json is refused.
    let note = env.file(
        "note.json",
        json!({ "kind": "note", "case_id": id, "text": "x" }).to_string(),
    );
    let err = env.fail(&["edit", &id, "--json", note.to_str().unwrap()]);
    assert!(err.contains("not a note"), "{err}");
    // An edit that breaks validation is refused too.
    let err = env.fail(&["edit", &id, "--title", "  "]);
    assert!(err.contains("title is required"), "{err}");
    assert_eq!(env.history(&id).len(), 2);
}

#[test]
fn delete_hides_the_record_but_keeps_its_history() {
    let env = Env::new();
    let keep = env.add_case("Kept case");
    let id = env.add_case("Doomed case");
    env.ok(&["edit", &id, "--title", "Doomed case, edited"]);

    let out = env.ok(&["delete", &id]);
    let tombstone = one_uuid(&["delete"], &out);

    let list = env.list();
    assert_eq!(ids(&list), vec![keep.clone()]);

    let all = as_array(env.json(&["list", "--deleted", "--json"]));
    assert_eq!(all.len(), 2);
    let item = find(&all, &id).expect("deleted record listed with --deleted");
    assert_eq!(item["deleted"], true);
    assert_eq!(item["versions"], 3);
    assert_eq!(find(&all, &keep).unwrap()["deleted"], false);

    let history = env.history(&id);
    assert_eq!(history.len(), 3);
    assert_eq!(history[0]["record"]["title"], "Doomed case");
    assert_eq!(history[1]["record"]["title"], "Doomed case, edited");
    assert_eq!(history[2]["version_id"], tombstone.as_str());
    assert_eq!(history[2]["deleted"], true);
    assert_eq!(history[2]["record"], Value::Null);
    assert_eq!(history[2]["parents"], json!([history[1]["version_id"]]));

    let text = env.ok(&["show", &id]);
    assert!(text.contains("(deleted"), "{text}");
    let view = env.show(&id);
    assert_eq!(view["deleted"], true);
    assert_eq!(view["record"], Value::Null);

    // Deleting twice is refused and writes nothing.
    let err = env.fail(&["delete", &id]);
    assert!(err.contains("already deleted"), "{err}");
    assert_eq!(env.history(&id).len(), 3);
    // Editing a deleted record without --json says how to restore it.
    let err = env.fail(&["edit", &id, "--title", "Back"]);
    assert!(err.contains("--json"), "{err}");
    assert_eq!(env.history(&id).len(), 3);

    // With --json it is restored, as a new version after the tombstone.
    let back = env.file("back.json", r#"{ "kind": "case", "title": "Restored" }"#);
    env.ok(&["edit", &id, "--json", back.to_str().unwrap()]);
    let history = env.history(&id);
    assert_eq!(history.len(), 4);
    assert_eq!(history[3]["parents"], json!([tombstone]));
    assert_eq!(find(&env.list(), &id).unwrap()["title"], "Restored");
}

// ----- failures write nothing -----

#[test]
fn a_wrong_passphrase_is_refused_and_writes_nothing() {
    let env = Env::new();
    env.add_case("Existing");
    let before = env.state();
    let count = env.version_count();
    let wrong = env.file("wrong.txt", format!("{WRONG_PASS}\n"));

    for args in [
        &["list", "--json"][..],
        &["add", "case", "--title", "Intruder"][..],
    ] {
        let err = failed(args, env.run_with(&wrong, args));
        assert_eq!(err, "custos: wrong passphrase");
    }
    assert_eq!(env.state(), before);
    assert_eq!(env.version_count(), count);
}

#[test]
fn an_empty_passphrase_file_is_refused() {
    let env = Env::new();
    let empty = env.file("empty.txt", "\n");
    let err = failed(&["list"], env.run_with(&empty, &["list"]));
    assert!(err.contains("no passphrase"), "{err}");
    let missing = env.tmp.path().join("missing.txt");
    let err = failed(&["list"], env.run_with(&missing, &["list"]));
    assert!(err.contains("missing.txt"), "{err}");
}

#[test]
fn an_unknown_record_id_is_refused_by_show_edit_delete_history() {
    let env = Env::new();
    env.add_case("Existing");
    let before = env.state();
    let count = env.version_count();
    let unknown = uuid::Uuid::new_v4().to_string();

    for args in [
        &["show", &unknown][..],
        &["edit", &unknown, "--title", "T"][..],
        &["delete", &unknown][..],
        &["history", &unknown][..],
    ] {
        let err = env.fail(args);
        assert_eq!(err, format!("custos: no record {unknown}"), "{args:?}");
    }
    assert_eq!(env.state(), before);
    assert_eq!(env.version_count(), count);
}

#[test]
fn add_incident_with_an_unknown_act_type_or_case_is_refused() {
    let env = Env::new();
    let case = env.add_case("Existing");
    let before = env.state();
    let count = env.version_count();

    let err = env.fail(&[
        "add",
        "incident",
        "--case",
        &case,
        "--title",
        "T",
        "--act-type",
        "not_an_act",
    ]);
    assert!(err.contains("unknown act type 'not_an_act'"), "{err}");

    let unknown = uuid::Uuid::new_v4().to_string();
    let err = env.fail(&["add", "incident", "--case", &unknown, "--title", "T"]);
    assert!(err.contains(&format!("no record {unknown}")), "{err}");
    assert!(err.contains("case_id"), "{err}");

    // A deleted case cannot take new records either.
    let gone = env.add_case("Gone");
    env.ok(&["delete", &gone]);
    let err = env.fail(&["add", "incident", "--case", &gone, "--title", "T"]);
    assert!(err.contains(&format!("no record {gone}")), "{err}");

    let mut expected = before.clone();
    expected.extend(
        env.state()
            .into_iter()
            .filter(|i| i["record_id"] == gone.as_str()),
    );
    expected.sort_by_key(|i| i["record_id"].as_str().unwrap().to_owned());
    assert_eq!(env.state(), expected);
    assert_eq!(env.version_count(), count + 2);
}

#[test]
fn add_case_with_an_empty_title_is_refused() {
    let env = Env::new();
    for title in ["", "   "] {
        let err = env.fail(&["add", "case", "--title", title]);
        assert_eq!(err, "custos: title is required");
    }
    let err = env.fail(&["add", "case", "--summary", "no title at all"]);
    assert_eq!(err, "custos: title is required");
    assert!(env.list().is_empty());
    assert_eq!(env.version_count(), 0);
}

#[test]
fn a_missing_vault_folder_is_named_and_not_created() {
    let env = Env::without_vault();
    for args in [&["list"][..], &["add", "case", "--title", "T"][..]] {
        let err = env.fail(args);
        assert!(err.contains("no vault"), "{err}");
        assert!(err.contains(&env.dir.display().to_string()), "{err}");
    }
    assert!(!env.dir.exists(), "the vault folder was created");
}

#[test]
fn a_vault_open_in_another_process_is_refused() {
    let env = Env::new();
    env.add_case("Existing");
    let before = env.state();
    let count = env.version_count();

    let held = exclusive(|| Vault::unlock(&env.dir, &secret(PASS), fast()).expect("unlock"));
    for args in [
        &["list", "--json"][..],
        &["add", "case", "--title", "While busy"][..],
    ] {
        let err = env.fail(args);
        assert!(err.contains("open in another process"), "{err}");
    }
    exclusive(|| held.lock().expect("lock"));

    assert_eq!(env.state(), before);
    assert_eq!(env.version_count(), count);
}

// ----- export and import -----

#[test]
fn export_refuses_to_overwrite_and_reimports_into_another_vault() {
    let env = Env::new();
    let case = env.add_case("Exported case");
    env.ok(&["edit", &case, "--title", "Exported case, edited"]);
    env.add(&["note", "--case", &case, "--text", "A note"]);
    let gone = env.add_case("Deleted before export");
    env.ok(&["delete", &gone]);
    let path = env.tmp.path().join("export.json");
    let p = path.to_str().unwrap();

    let out = env.run(&["export", "--format", "json", "--output", p]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(succeeded(&["export"], out).is_empty(), "nothing on stdout");
    assert!(
        stderr.contains("exported 3 records (5 versions)"),
        "{stderr}"
    );
    assert!(stderr.contains("NOT encrypted"), "{stderr}");
    let first = std::fs::read(&path).expect("export written");
    let doc: Value = serde_json::from_slice(&first).expect("export is JSON");
    assert_eq!(doc["format"], "custos-export");
    assert_eq!(doc["records"].as_array().unwrap().len(), 3);

    let err = env.fail(&["export", "--format", "json", "--output", p]);
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), first, "first export intact");

    // Import into a second, empty vault.
    let other = Env::new();
    let out = other.ok(&["import", p]);
    assert_eq!(
        out.trim_end(),
        "imported 5 new versions of 3 records (0 already in the vault)"
    );
    assert_eq!(other.state(), env.state());
    let titles = |e: &Env| {
        let mut t: Vec<String> = e
            .list()
            .iter()
            .map(|i| i["title"].as_str().unwrap().to_owned())
            .collect();
        t.sort();
        t
    };
    assert_eq!(titles(&other), titles(&env));
    assert_eq!(titles(&other), vec!["A note", "Exported case, edited"]);
    assert_eq!(other.history(&case), env.history(&case));
    assert_eq!(other.history(&gone), env.history(&gone));
    assert_eq!(other.version_count(), 5);

    // Importing the same file again adds nothing.
    let out = other.ok(&["import", p]);
    assert_eq!(
        out.trim_end(),
        "imported 0 new versions of 3 records (5 already in the vault)"
    );
    assert_eq!(other.version_count(), 5);
    assert_eq!(other.state(), env.state());

    // From standard input, into a third vault.
    let third = Env::new();
    let out = third.run_stdin(&["import", "-"], &first);
    assert!(succeeded(&["import", "-"], out).starts_with("imported 5 new versions"));
    assert_eq!(third.state(), env.state());
}

#[test]
fn export_of_selected_records_to_stdout() {
    let env = Env::new();
    let a = env.add_case("A");
    env.add_case("B");
    let doc: Value = env.json(&["export", "--output", "-", "--record", &a]);
    let records = doc["records"].as_array().unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["record_id"], a.as_str());
    assert_eq!(records[0]["versions"][0]["body"]["record"]["title"], "A");

    let unknown = uuid::Uuid::new_v4().to_string();
    let path = env.tmp.path().join("partial.json");
    let err = env.fail(&[
        "export",
        "--output",
        path.to_str().unwrap(),
        "--record",
        &unknown,
    ]);
    assert!(err.contains(&format!("no record {unknown}")), "{err}");
    assert!(!path.exists(), "a failed export left a file behind");
}

#[test]
fn import_of_malformed_json_names_the_line_and_writes_nothing() {
    let env = Env::new();
    let existing = env.add_case("Already here");
    let before = env.state();
    let count = env.version_count();

    let text = format!(
        r#"{{
  "format": "custos-export",
  "format_version": 1,
  "exported_at": "2024-06-01T10:00:00Z",
  "records": [
    {{
      "kind": case,
      "record_id": "{}",
      "versions": []
    }}
  ]
}}
"#,
        uuid::Uuid::new_v4()
    );
    assert!(text.lines().nth(6).unwrap().contains("case,"));
    let path = env.file("broken.json", text);
    let args = ["import", path.to_str().unwrap()];
    let stderr = failed_multiline(&args, env.run(&args));
    assert!(stderr.contains("line 7"), "{stderr}");
    assert!(stderr.contains("nothing was imported"), "{stderr}");

    assert_eq!(env.state(), before);
    assert_eq!(env.version_count(), count);
    assert_eq!(ids(&env.list()), vec![existing]);
}

/// An import of an export of two cases in which the title of one is a number, into a
/// vault that has one case of its own.
struct WrongTyped {
    target: Env,
    good: String,
    bad: String,
    bad_index: usize,
    /// The line of the broken version's id in the file.
    bad_line: usize,
    existing: String,
    before: Vec<Value>,
    count: usize,
    output: Output,
}

fn import_wrong_typed_title() -> WrongTyped {
    let source = Env::new();
    let good = source.add_case("Valid case");
    let bad = source.add_case("Will be broken");
    let text = source.ok(&["export", "--output", "-"]);
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    let records = doc["records"].as_array_mut().unwrap();
    assert_eq!(records.len(), 2);
    let bad_index = records
        .iter()
        .position(|r| r["record_id"] == bad.as_str())
        .unwrap();
    let version = records[bad_index]["versions"][0]["version_id"]
        .as_str()
        .unwrap()
        .to_owned();
    records[bad_index]["versions"][0]["body"]["record"]["title"] = json!(5);
    let text = serde_json::to_string_pretty(&doc).unwrap();
    let bad_line = 1 + text
        .lines()
        .position(|l| l.contains(&format!("\"version_id\": \"{version}\"")))
        .unwrap();

    let target = Env::new();
    let existing = target.add_case("Target's own case");
    let before = target.state();
    let count = target.version_count();
    let path = target.file("typed.json", text);
    let output = target.run(&["import", path.to_str().unwrap()]);
    WrongTyped {
        target,
        good,
        bad,
        bad_index,
        bad_line,
        existing,
        before,
        count,
        output,
    }
}

#[test]
fn import_with_a_wrong_typed_field_imports_nothing() {
    let t = import_wrong_typed_title();
    let stderr = failed_multiline(&["import"], t.output);
    assert!(stderr.contains("nothing was imported"), "{stderr}");
    assert!(stderr.contains("1 problem"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "line {}: records[{}].versions[0].body",
            t.bad_line, t.bad_index
        )),
        "{stderr}"
    );
    assert!(stderr.contains("invalid type: integer `5`"), "{stderr}");

    // Nothing imported: neither the broken record nor the valid one.
    assert_eq!(t.target.state(), t.before);
    assert_eq!(t.target.version_count(), t.count);
    let listed = t.target.list();
    assert!(find(&listed, &t.good).is_none());
    assert!(find(&listed, &t.bad).is_none());
    assert_eq!(ids(&listed), vec![t.existing]);
}

#[test]
fn import_with_a_wrong_typed_field_names_the_field() {
    let t = import_wrong_typed_title();
    let stderr = failed_multiline(&["import"], t.output);
    assert!(
        stderr.contains(&format!(
            "records[{}].versions[0].body.record.title",
            t.bad_index
        )),
        "the field is not named:\n{stderr}"
    );
    assert_eq!(t.target.state(), t.before);
}

#[test]
fn import_never_overwrites_a_stored_version() {
    let env = Env::new();
    let id = env.add_case("Original title");
    let text = env.ok(&["export", "--output", "-"]);
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    doc["records"][0]["versions"][0]["body"]["record"]["title"] = json!("Forged title");
    let path = env.file("forged.json", serde_json::to_vec_pretty(&doc).unwrap());

    let args = ["import", path.to_str().unwrap()];
    let stderr = failed_multiline(&args, env.run(&args));
    assert!(stderr.contains("differs from the version"), "{stderr}");
    assert_eq!(env.show(&id)["record"]["title"], "Original title");
    assert_eq!(env.version_count(), 1);
}

#[test]
fn import_with_an_invalid_record_names_the_problem_and_imports_nothing() {
    // Valid JSON types, but a title that validation refuses and a dangling case link.
    let source = Env::new();
    let good = source.add_case("Valid case");
    let bad = source.add_case("Will be emptied");
    let note = source.add(&["note", "--case", &good, "--text", "n"]);
    let text = source.ok(&["export", "--output", "-"]);
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    for r in doc["records"].as_array_mut().unwrap() {
        if r["record_id"] == bad.as_str() {
            r["versions"][0]["body"]["record"]["title"] = json!("");
        }
        if r["record_id"] == note.as_str() {
            r["versions"][0]["body"]["record"]["case_id"] = json!(uuid::Uuid::new_v4());
        }
    }

    let target = Env::new();
    let path = target.file("invalid.json", serde_json::to_vec_pretty(&doc).unwrap());
    let args = ["import", path.to_str().unwrap()];
    let stderr = failed_multiline(&args, target.run(&args));
    assert!(stderr.contains("2 problems"), "{stderr}");
    assert!(stderr.contains("title is required"), "{stderr}");
    assert!(stderr.contains("case_id: no record"), "{stderr}");
    assert!(target.list().is_empty());
    assert_eq!(target.version_count(), 0);
}

// ----- passphrase change -----

#[test]
fn passwd_changes_the_passphrase() {
    let env = Env::new();
    let id = env.add_case("Survives the change");
    let before = env.state();
    let new = env.file("new.txt", format!("{NEW_PASS}\n"));

    let out = env.run(&["passwd", "--new-passphrase-file", new.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    succeeded(&["passwd"], out);
    assert!(stderr.contains("passphrase changed"), "{stderr}");

    let err = env.fail(&["list"]);
    assert_eq!(err, "custos: wrong passphrase");

    let out = succeeded(
        &["list"],
        env.run_with(&new, &["list", "--deleted", "--json"]),
    );
    let items = as_array(serde_json::from_str(&out).unwrap());
    assert_eq!(ids(&items), vec![id.clone()]);
    assert_eq!(items[0]["title"], "Survives the change");
    assert_eq!(items[0]["versions"], before[0]["versions"]);
    assert!(!env.dir.join("identity.age.new").exists());
}

#[test]
fn passwd_refuses_a_weak_passphrase_and_keeps_the_old_one() {
    let env = Env::new();
    let id = env.add_case("Still readable");
    let identity = std::fs::read(env.dir.join("identity.age")).unwrap();
    let weak = env.file("weak.txt", "password1\n");

    let err = env.fail(&["passwd", "--new-passphrase-file", weak.to_str().unwrap()]);
    assert!(err.contains("too weak"), "{err}");
    assert_eq!(
        std::fs::read(env.dir.join("identity.age")).unwrap(),
        identity
    );

    assert_eq!(ids(&env.list()), vec![id]);
    let err = failed(&["list"], env.run_with(&weak, &["list"]));
    assert_eq!(err, "custos: wrong passphrase");

    // A wrong current passphrase is refused before anything changes.
    let wrong = env.file("wrong.txt", format!("{WRONG_PASS}\n"));
    let new = env.file("new.txt", format!("{NEW_PASS}\n"));
    let args = ["passwd", "--new-passphrase-file", new.to_str().unwrap()];
    let err = failed(&args, env.run_with(&wrong, &args));
    assert_eq!(err, "custos: wrong passphrase");
    assert_eq!(
        std::fs::read(env.dir.join("identity.age")).unwrap(),
        identity
    );
}

// ----- failed unlocks: the desktop's delay and wipe, one count for both -----

impl Env {
    /// The settings file the desktop app and the command line share (HOME is the
    /// test's folder, XDG_CONFIG_HOME unset).
    fn settings_path(&self) -> PathBuf {
        self.tmp.path().join(".config/custos/settings.json")
    }

    /// Writes settings.json as the desktop app would.
    fn write_settings(&self, settings: Value) {
        let path = self.settings_path();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, settings.to_string()).unwrap();
    }

    fn settings(&self) -> Value {
        std::fs::read(self.settings_path())
            .map(|b| serde_json::from_slice(&b).expect("settings.json is JSON"))
            .unwrap_or_else(|_| json!({}))
    }

    /// `failedUnlocks` in settings.json (absent: none).
    fn failed_unlocks(&self) -> u64 {
        self.settings()["failedUnlocks"].as_u64().unwrap_or(0)
    }
}

#[test]
fn wrong_passphrases_wipe_the_vault_after_wipe_after_failures_and_a_right_one_resets_the_count() {
    let env = Env::new();
    env.add_case("Existing");
    env.write_settings(json!({ "wipeAfterFailures": 3 }));
    let wrong = env.file("wrong.txt", format!("{WRONG_PASS}\n"));
    let list = ["list"];

    // Two failures, then the right passphrase: the count starts again.
    for n in 1..=2 {
        let err = failed(&list, env.run_with(&wrong, &list));
        assert_eq!(err, "custos: wrong passphrase");
        assert_eq!(env.failed_unlocks(), n, "failure {n} not counted");
    }
    assert_eq!(env.list().len(), 1);
    assert_eq!(
        env.failed_unlocks(),
        0,
        "the right passphrase kept the count"
    );
    assert_eq!(
        env.settings()["wipeAfterFailures"],
        3,
        "the setting was lost"
    );

    // Two more are not three in a row: the vault stays.
    for _ in 0..2 {
        let err = failed(&list, env.run_with(&wrong, &list));
        assert_eq!(err, "custos: wrong passphrase");
    }
    assert!(env.dir.join("vault.json").exists(), "wiped too early");

    // The third in a row wipes it, and says so in one line.
    let err = failed(&list, env.run_with(&wrong, &list));
    assert_eq!(err, "custos: the vault was wiped after 3 failed unlocks");
    assert!(!env.dir.exists(), "the vault folder is still there");
    assert_eq!(
        env.failed_unlocks(),
        0,
        "the count outlived the wiped vault"
    );
    let err = env.fail(&list);
    assert!(err.contains("no vault"), "{err}");
}

#[test]
fn wrong_passphrases_slow_down_the_next_unlock_and_count_with_the_desktop_in_settings_json() {
    let env = Env::new();
    let wrong = env.file("wrong.txt", format!("{WRONG_PASS}\n"));
    let new = env.file("new.txt", format!("{NEW_PASS}\n"));

    // `passwd` unlocks with the old passphrase: a wrong one counts like any other.
    let args = ["passwd", "--new-passphrase-file", new.to_str().unwrap()];
    let err = failed(&args, env.run_with(&wrong, &args));
    assert_eq!(err, "custos: wrong passphrase");
    assert_eq!(env.failed_unlocks(), 1, "passwd's unlock was not counted");
    let err = failed(&["list"], env.run_with(&wrong, &["list"]));
    assert_eq!(err, "custos: wrong passphrase");
    assert_eq!(env.failed_unlocks(), 2);

    // After two failures the next attempt waits 1 s, even with the right passphrase.
    let started = Instant::now();
    env.list();
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(1), "not delayed: {took:?}");
    assert_eq!(env.failed_unlocks(), 0);

    // Two failures counted by the desktop app delay the command line the same way, and
    // its count goes on from there.
    env.write_settings(json!({ "language": "fr", "autoLockMinutes": 7, "failedUnlocks": 2 }));
    let started = Instant::now();
    let err = failed(&["list"], env.run_with(&wrong, &["list"]));
    let took = started.elapsed();
    assert_eq!(err, "custos: wrong passphrase");
    assert!(
        took >= Duration::from_secs(1),
        "the desktop's failures ignored: {took:?}"
    );
    assert_eq!(env.failed_unlocks(), 3);
    assert_eq!(
        env.settings()["language"],
        "fr",
        "the desktop's settings were lost"
    );

    // CUSTOS_CONFIG_DIR moves the count, as it does for the desktop app.
    let elsewhere = env.tmp.path().join("elsewhere");
    let out = spawn(
        env.command(&wrong, &["list"])
            .env("CUSTOS_CONFIG_DIR", &elsewhere),
    )
    .wait_with_output()
    .expect("run custos");
    assert_eq!(failed(&["list"], out), "custos: wrong passphrase");
    let moved: Value =
        serde_json::from_slice(&std::fs::read(elsewhere.join("settings.json")).unwrap()).unwrap();
    assert_eq!(moved["failedUnlocks"], 1, "{moved}");
    assert_eq!(env.failed_unlocks(), 3);
}

// ----- vocabularies -----

/// The help lists the values the model's schema has, not a copy that can fall behind.
#[test]
fn help_lists_every_choice_the_model_has() {
    let env = Env::without_vault();
    let schema = custos_model::schema::schema();
    let add = env.run(&["add", "case", "--help"]);
    let search = env.run(&["search", "--help"]);
    let (add, search) = (
        String::from_utf8_lossy(&add.stdout).into_owned(),
        String::from_utf8_lossy(&search.stdout).into_owned(),
    );
    for choice in [
        "case_status",
        "role",
        "confidentiality",
        "intervention_type",
        "intervention_status",
    ] {
        for value in &schema.choices[choice] {
            assert!(
                add.contains(value.as_str()),
                "custos add --help lacks {choice} {value}"
            );
        }
    }
    for value in schema.choices["role"]
        .iter()
        .chain(&schema.choices["case_status"])
    {
        assert!(
            search.contains(value.as_str()),
            "custos search --help lacks {value}"
        );
    }
}

#[test]
fn vocab_prints_labels_in_the_requested_language() {
    let env = Env::without_vault();
    let file = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/vocab/act_types.json"),
    )
    .unwrap();
    let vocab: Value = serde_json::from_str(&file).unwrap();
    let arrest = vocab["terms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["code"] == "arbitrary_arrest")
        .unwrap();
    let ar = arrest["labels"]["ar"].as_str().unwrap();
    let en = arrest["labels"]["en"].as_str().unwrap();

    let out = env.ok(&["vocab", "act-types", "--lang", "ar"]);
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("arbitrary_arrest "))
        .unwrap_or_else(|| panic!("no arbitrary_arrest line:\n{out}"));
    assert!(line.ends_with(ar), "{line}");
    assert!(!out.contains(en), "English label in the Arabic list");
    assert!(line.starts_with("  "), "a child term is indented: {line:?}");
    assert_eq!(
        out.lines().count(),
        vocab["terms"].as_array().unwrap().len()
    );

    let out = env.ok(&["vocab", "mechanisms"]);
    assert!(out.contains("un_sr_hrd"), "{out}");

    let err = env.fail(&["vocab", "nope"]);
    assert!(err.contains("no vocabulary 'nope'"), "{err}");
}

#[test]
fn evidence_add_list_show_verify_export_and_delete_the_original() {
    let env = Env::new();
    let case = env
        .ok(&["add", "case", "--title", "Raid"])
        .trim()
        .to_owned();
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend((0..50_000u32).map(|i| (i * 31 % 251) as u8));
    let photo = env.file("photo.png", &png);
    let photo_arg = photo.to_str().unwrap();
    let out = env.run(&["evidence", "add", photo_arg, "--case", &case]);
    let id = succeeded(&["evidence", "add"], out.clone())
        .trim()
        .to_owned();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("still at") && said.contains("may survive"),
        "{said}"
    );
    assert!(
        photo.exists(),
        "the original was deleted without being asked"
    );

    let list = env.json(&["evidence", "list", "--json"]);
    assert_eq!(list[0]["evidence_id"], id.as_str());
    assert_eq!(list[0]["evidence"]["media_type"], "image/png");
    let shown = env.json(&["evidence", "show", &id, "--json"]);
    assert_eq!(shown["custody"][0]["action"], "imported");
    assert!(env.ok(&["evidence", "verify", &id]).starts_with("ok:"));

    let copy = env.tmp.path().join("copy.png");
    env.ok(&[
        "evidence",
        "export",
        &id,
        "--output",
        copy.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read(&copy).unwrap(), png);
    assert!(env.tmp.path().join("copy.png.custody.txt").exists());
    let again = env.fail(&[
        "evidence",
        "export",
        &id,
        "--output",
        copy.to_str().unwrap(),
    ]);
    assert!(again.contains("exists already"), "{again}");

    // Asked for, the original goes (with the honest warning).
    let scan = env.file("scan.pdf", b"%PDF-1.4 scan");
    let out = env.run(&[
        "evidence",
        "add",
        scan.to_str().unwrap(),
        "--case",
        &case,
        "--delete-original",
    ]);
    succeeded(&["evidence", "add", "--delete-original"], out.clone());
    assert!(!scan.exists());
    assert!(String::from_utf8_lossy(&out.stderr).contains("may survive"));

    // A damaged blob: verify names it and exits non-zero.
    let blobs: Vec<_> = std::fs::read_dir(env.dir.join("blobs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    let blob_id = shown["evidence"]["blob_id"].as_str().unwrap();
    let blob = blobs
        .iter()
        .find(|p| p.to_string_lossy().contains(blob_id))
        .unwrap();
    let mut bytes = std::fs::read(blob).unwrap();
    let n = bytes.len();
    bytes.truncate(n - 1000);
    std::fs::write(blob, bytes).unwrap();
    let out = env.run(&["evidence", "verify", &id]);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("problem: the encrypted file was altered, truncated"),
        "{text}"
    );
    // Bad input: an empty file, a missing case.
    let empty = env.file("empty.jpg", b"");
    assert!(env
        .fail(&["evidence", "add", empty.to_str().unwrap(), "--case", &case])
        .contains("empty"));
    let other = uuid::Uuid::new_v4().to_string();
    assert!(env
        .fail(&["evidence", "add", photo_arg, "--case", &other])
        .contains("no record"));
}

#[test]
fn key_backup_prints_shares_and_restore_takes_them_from_standard_input() {
    let env = Env::new();
    let case = env
        .ok(&["add", "case", "--title", "Kept"])
        .trim()
        .to_owned();
    let out = env.run(&["key", "backup", "--shares", "3", "--threshold", "2"]);
    let shares = succeeded(&["key", "backup"], out.clone());
    assert!(String::from_utf8_lossy(&out.stderr).contains("never keep 2 together"));
    let lines: Vec<&str> = shares.lines().collect();
    assert_eq!(lines.len(), 3);
    let new_pass = env.file("new.txt", format!("{NEW_PASS}\n"));
    // One share is not enough.
    let out = env.run_stdin(
        &[
            "key",
            "restore",
            "--new-passphrase-file",
            new_pass.to_str().unwrap(),
        ],
        lines[0].as_bytes(),
    );
    assert!(failed(&["key", "restore"], out).contains("needs 2 of its 3"));
    // Two are.
    let input = format!("{}\n{}\n", lines[2], lines[0]);
    let out = env.run_stdin(
        &[
            "key",
            "restore",
            "--new-passphrase-file",
            new_pass.to_str().unwrap(),
        ],
        input.as_bytes(),
    );
    succeeded(&["key", "restore"], out);
    let shown =
        String::from_utf8_lossy(&env.run_with(&new_pass, &["show", &case]).stdout).into_owned();
    assert!(shown.contains("Kept"), "{shown}");
    assert!(
        !env.run(&["list"]).status.success(),
        "the old passphrase still works"
    );
}

#[test]
fn search_finds_words_without_accents_filters_by_case_and_refuses_bad_filters() {
    let env = Env::new();
    let case = env.ok(&[
        "add",
        "case",
        "--title",
        "Arrestation à l'École",
        "--summary",
        "Détenu la nuit",
    ]);
    let case = case.trim();
    let incident = env.ok(&[
        "add",
        "incident",
        "--case",
        case,
        "--title",
        "Garde à vue",
        "--date",
        "2024-05-01",
        "--act-type",
        "arbitrary_arrest",
        "--place",
        "Sfax",
    ]);
    let other = env.ok(&["add", "case", "--title", "Menaces en ligne"]);
    // Words without their accents; a phrase; the JSON form names kind and case.
    let out = env.ok(&["search", "ecole", "detenu"]);
    assert!(out.starts_with(case) && out.lines().count() == 1, "{out}");
    let hits: Value =
        serde_json::from_str(&env.ok(&["search", "\"garde a vue\"", "--json"])).expect("JSON");
    assert_eq!(hits["total"], 1);
    assert_eq!(hits["hits"][0]["record_id"], incident.trim());
    assert_eq!(hits["hits"][0]["kind"], "incident");
    assert_eq!(hits["hits"][0]["case_id"], case);
    // Filters alone list the cases that pass them.
    let out = env.ok(&["search", "--act", "arbitrary_arrest", "--location", "SFAX"]);
    assert!(
        out.starts_with(case) && !out.contains(other.trim()),
        "{out}"
    );
    assert_eq!(env.ok(&["search", "--location", "Lyon"]), "");
    // A filter value that does not exist is an error, not an empty answer.
    let err = env.fail(&["search", "--role", "nobody"]);
    assert!(err.contains("unknown role"), "{err}");
    let out = env.run(&["search", "--from", "yesterday"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--from"));
}
