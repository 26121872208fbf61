//! Entry points of `custos-report`: CSV imports (with their column mapping) and JSON
//! imports, into a real vault (sled, in a temporary folder) that holds one case.

use std::sync::Mutex;

use custos_model::{Kind, Record};
use custos_report::import_csv::{self, Mapping};
use custos_report::json;
use custos_vault::crypto::KdfCost;
use custos_vault::{Change, Options, SecretString, Vault};

/// A target: its name (and corpus folder) and its entry point.
pub type Target = (&'static str, fn(&[u8]));

/// The targets of this module.
pub const TARGETS: &[Target] = &[("csv_import", csv_import), ("json_import", json_import)];

struct Fixture {
    vault: Vault,
    case: uuid::Uuid,
    _dir: tempfile::TempDir,
}

/// The vault of this process: made at the first input, dropped by [`cleanup`] (a fuzz
/// process leaves its temporary folder behind when it exits).
static FIXTURE: Mutex<Option<Fixture>> = Mutex::new(None);

fn with_vault(f: impl FnOnce(&mut Vault, uuid::Uuid)) {
    let mut slot = FIXTURE.lock().unwrap_or_else(|p| p.into_inner());
    let fx = slot.get_or_insert_with(|| {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let options = Options {
            kdf: KdfCost::InsecureTestOnly(1),
            disk_reserve: 0,
            bind_to_device: false,
        };
        let pass = SecretString::from("correct horse battery staple fuzz".to_owned());
        let mut vault = Vault::create(&dir.path().join("vault"), &pass, options).expect("a vault");
        let case = Record::from_json(serde_json::json!({"kind": "case", "title": "Fuzz"}))
            .expect("a case");
        let written = vault
            .commit(vec![Change::Create(case)])
            .expect("a case is written");
        let case = written[0].record_id;
        Fixture {
            vault,
            case,
            _dir: dir,
        }
    });
    f(&mut fx.vault, fx.case)
}

/// Drops the vault of this process and its folder.
pub fn cleanup() {
    FIXTURE.lock().unwrap_or_else(|p| p.into_inner()).take();
}

/// The first byte picks the kind (and whether a case is given); the rest is the mapping
/// JSON, a NUL byte, and the CSV — or, with no NUL, the CSV alone with a mapping of every
/// field of the kind to a column of the same name.
pub fn csv_import(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let kinds: Vec<Kind> = Kind::ALL
        .into_iter()
        .filter(|k| *k != Kind::Evidence)
        .collect();
    let kind = kinds[pick as usize % kinds.len()];
    let give_case = pick & 0x80 != 0;
    let (mapping, csv) = match rest.iter().position(|&b| b == 0) {
        Some(at) => match Mapping::from_json(&rest[..at]) {
            Ok(m) => (m, &rest[at + 1..]),
            Err(_) => return,
        },
        None => (
            Mapping {
                columns: import_csv::fields(kind)
                    .into_iter()
                    .map(|f| (f.to_owned(), f.to_owned()))
                    .collect(),
                list_separator: ";".into(),
            },
            rest,
        ),
    };
    with_vault(|vault, case| {
        let _ = import_csv::import_csv(vault, kind, csv, &mapping, give_case.then_some(case));
    });
}

/// A JSON export, imported.
pub fn json_import(data: &[u8]) {
    with_vault(|vault, _| {
        let _ = json::import_json(vault, data);
    });
}

/// Valid inputs of each target: CSV files of each kind (with and without a mapping), and
/// a JSON export of a vault with a record of each kind.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut out: Vec<(&'static str, Vec<u8>)> = vec![
        ("csv_import", b"\x00title,summary,status,tags\nRaid,s,open,a;b\n,,,\n".to_vec()),
        (
            "csv_import",
            b"\x81title,start.date,start.precision,act_types,location.lat\nRaid,2024-05-02,day,arbitrary_arrest,12.5\n".to_vec(),
        ),
        (
            "csv_import",
            b"\x82{\"columns\": {\"Name\": \"name\", \"Born\": \"birth_date\"}, \"list_separator\": \"|\"}\x00Name,Born,Other\n\"A, B\",1980-01-01,x\n".to_vec(),
        ),
        ("csv_import", b"\x84text\n\"a \"\"quoted\"\" note\"\n".to_vec()),
    ];
    with_vault(|vault, case| {
        let records: Vec<Change> = crate::model::record_seeds()
            .into_iter()
            .skip(1)
            .map(|json| {
                let text = String::from_utf8(json)
                    .expect("text")
                    .replace("00000000-0000-4000-8000-000000000001", &case.to_string());
                let value = serde_json::from_str(&text).expect("json");
                Change::Create(Record::from_json(value).expect("a record"))
            })
            .collect();
        // A record that does not validate is left out of the export, not a failure here.
        for c in records {
            let _ = vault.commit(vec![c]);
        }
        let mut export = Vec::new();
        json::export_json(vault, None, &mut export).expect("an export");
        out.push(("json_import", export));
    });
    out
}
