//! The import engine over a reader of the test's own: an export is checked whole before
//! anything is written; importing it twice creates nothing new; a bad export is refused
//! with every problem and writes nothing; a write that fails part-way is taken back
//! whole, with the device's chain of versions set back.

use std::cell::Cell;
use std::fs;
use std::path::{Path, PathBuf};

use custos_import::engine::{self, Error, Phase};
use custos_import::{Field, FileItem, FileSource, Item, Problem, Sink, Stopped, Tool, Unit};
use custos_model::{Case, Incident, Kind, Note, Person, Record};
use custos_test_support::{pass, FAST as OPTS};
use custos_vault::{Filter, Vault, BLOBS};
use sha2::{Digest, Sha256};

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    files: PathBuf,
    vault: Vault,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    let files = tmp.path().join("export");
    fs::create_dir_all(&files).unwrap();
    let mut vault = Vault::create(&dir, &pass(), OPTS).unwrap();
    // A record of the user's own, there before the import.
    vault
        .add(Record::Case(Case {
            title: "Own case".into(),
            ..Case::default()
        }))
        .unwrap();
    Fixture {
        _tmp: tmp,
        dir,
        files,
        vault,
    }
}

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A unit as a reader makes it: a case, an incident, a person, a file, unmapped fields.
fn unit(n: usize, files: &Path, with_file: bool) -> Unit {
    let key = format!("bulletin/acct-{n}");
    let case_id = Tool::Martus.id(&format!("{key}/case"));
    let incident_id = Tool::Martus.id(&format!("{key}/incident"));
    let person_id = Tool::Martus.id(&format!("{key}/person"));
    let mut records = vec![
        Item {
            id: case_id,
            record: Record::Case(Case {
                title: format!("Bulletin {n}"),
                ..Case::default()
            }),
            earlier: Vec::new(),
        },
        Item {
            id: incident_id,
            record: Record::Incident(Incident {
                case_id,
                title: format!("Arrest {n}"),
                act_types: vec!["arbitrary_detention".into()],
                ..incident_default(case_id)
            }),
            earlier: Vec::new(),
        },
        Item {
            id: person_id,
            record: Record::Person(Person {
                name: format!("Witness {n}"),
                ..person_default(case_id)
            }),
            earlier: Vec::new(),
        },
    ];
    records.truncate(3);
    let mut out = Unit {
        original_id: format!("acct-{n}"),
        at: format!("bulletin {n} (line {})", n * 10 + 1),
        records,
        files: Vec::new(),
        unmapped: vec![Field {
            name: "Witness code (witcode)".into(),
            value: format!("W-{n}"),
        }],
    };
    if with_file {
        let path = files.join(format!("photo-{n}.jpg"));
        let content = format!("photo {n} bytes").into_bytes();
        if !path.exists() {
            fs::write(&path, &content).unwrap();
        }
        out.files.push(FileItem {
            id: Tool::Martus.id(&format!("{key}/file/1")),
            case_id,
            attached_to: vec![incident_id],
            description: format!("Photo {n}"),
            source: FileSource::Path(path),
            name: format!("photo-{n}.jpg"),
            sha256: Some(sha(&content)),
            size: Some(content.len() as u64),
            original_id: format!("acct-{n}/att-1"),
            created: None,
            metadata: vec![Field {
                name: "Camera".into(),
                value: "Phone".into(),
            }],
        });
    }
    out
}

fn incident_default(case_id: uuid::Uuid) -> Incident {
    serde_json::from_value(serde_json::json!({"case_id": case_id, "title": "-"})).unwrap()
}

fn person_default(case_id: uuid::Uuid) -> Person {
    serde_json::from_value(serde_json::json!({"case_id": case_id, "name": "-"})).unwrap()
}

fn feed(units: &[Unit], sink: &mut dyn Sink) -> Result<(), Stopped> {
    for (i, u) in units.iter().enumerate() {
        sink.unit(u.clone())?;
        sink.progress(i as u64 + 1, units.len() as u64);
    }
    Ok(())
}

fn count(vault: &Vault, kind: Kind) -> usize {
    vault
        .list(&Filter {
            kind: Some(kind),
            ..Filter::default()
        })
        .len()
}

fn blob_files(dir: &Path) -> usize {
    fs::read_dir(dir.join(BLOBS))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn an_export_is_checked_whole_then_written_with_its_files_and_unmapped_fields() {
    let mut f = fixture();
    let units: Vec<Unit> = (1..=3).map(|n| unit(n, &f.files, n != 2)).collect();
    let path = f.files.join("export.xml");
    let mut steps = Vec::new();
    let preview = engine::preview_with(
        &f.vault,
        Tool::Martus,
        &path,
        &mut |s| feed(&units, s),
        &mut |phase, d, t| steps.push((phase, d, t)),
    )
    .0;
    assert!(preview.problems.is_empty(), "{:?}", preview.problems);
    assert_eq!(preview.units, 3);
    assert_eq!(preview.new[&Kind::Case], 3);
    assert_eq!(preview.new[&Kind::Incident], 3);
    assert_eq!(preview.new[&Kind::Person], 3);
    assert_eq!(
        preview.new[&Kind::Note],
        3,
        "one note of unmapped fields each"
    );
    assert_eq!(preview.new[&Kind::Evidence], 2);
    assert_eq!(preview.files, 2);
    assert_eq!(preview.unmapped, vec![("Witness code (witcode)".into(), 3)]);
    assert_eq!(steps.last(), Some(&(Phase::Checking, 3, 3)));
    // The preview wrote nothing.
    assert_eq!(count(&f.vault, Kind::Case), 1);

    let mut phases = Vec::new();
    let done = engine::import_with(
        &mut f.vault,
        Tool::Martus,
        &path,
        &mut |s| feed(&units, s),
        &mut |phase, _, _| phases.push(phase),
    )
    .unwrap();
    assert_eq!(done.records, 12);
    assert_eq!(done.files, 2);
    assert!(phases.contains(&Phase::Checking) && phases.contains(&Phase::Writing));
    assert_eq!(count(&f.vault, Kind::Case), 4);
    assert_eq!(count(&f.vault, Kind::Evidence), 2);

    // Ids are the source's: the case of bulletin 1 is where the reader said.
    let case_id = Tool::Martus.id("bulletin/acct-1/case");
    let case = f.vault.get(case_id).unwrap();
    assert!(matches!(&case.record, Some(Record::Case(c)) if c.title == "Bulletin 1"));
    // The unmapped field is kept, in a note of the case.
    let notes: Vec<Note> = f
        .vault
        .list(&Filter {
            kind: Some(Kind::Note),
            case_id: Some(case_id),
            ..Filter::default()
        })
        .into_iter()
        .filter_map(|i| match &f.vault.get(i.record_id).unwrap().record {
            Some(Record::Note(n)) => Some(n.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(notes.len(), 1);
    assert!(notes[0].text.contains("Witness code (witcode): W-1"));
    assert!(notes[0].text.contains("Martus (record acct-1)"));

    // The file is evidence with its hash, its custody entry says where it came from.
    let ev_id = Tool::Martus.id("bulletin/acct-1/file/1");
    let ev = f.vault.evidence(ev_id).unwrap();
    assert_eq!(ev.sha256, sha(b"photo 1 bytes"));
    assert_eq!(
        ev.attached_to,
        vec![Tool::Martus.id("bulletin/acct-1/incident")]
    );
    assert!(ev.description.contains("Camera: Phone"));
    let custody = f.vault.custody(ev_id).unwrap();
    assert_eq!(custody.len(), 1);
    let detail = &custody[0].detail;
    assert!(detail.contains("Martus"), "{detail}");
    assert!(detail.contains("export.xml"), "{detail}");
    assert!(detail.contains("acct-1/att-1"), "{detail}");
    assert!(detail.contains("matched"), "{detail}");
    let v = f.vault.verify_evidence(ev_id).unwrap();
    assert!(v.ok, "{:?}", v.problems);
}

#[test]
fn a_second_import_of_the_same_export_creates_no_duplicates() {
    let mut f = fixture();
    let units: Vec<Unit> = (1..=2).map(|n| unit(n, &f.files, true)).collect();
    let path = f.files.join("export.xml");
    engine::import_with(
        &mut f.vault,
        Tool::Martus,
        &path,
        &mut |s| feed(&units, s),
        &mut |_, _, _| {},
    )
    .unwrap();
    let versions = f.vault.version_count();
    let again = engine::import_with(
        &mut f.vault,
        Tool::Martus,
        &path,
        &mut |s| feed(&units, s),
        &mut |_, _, _| {},
    )
    .unwrap();
    assert_eq!(again.records, 0);
    assert_eq!(again.files, 0);
    assert_eq!(again.preview.new_total(), 0);
    assert_eq!(again.preview.already, 2 * (3 + 1 + 1));
    assert_eq!(f.vault.version_count(), versions, "nothing was written");
    assert_eq!(count(&f.vault, Kind::Case), 3);
    assert_eq!(count(&f.vault, Kind::Evidence), 2);

    // An export that grew since: only what is new is written.
    let more: Vec<Unit> = (1..=3).map(|n| unit(n, &f.files, true)).collect();
    let grown = engine::import_with(
        &mut f.vault,
        Tool::Martus,
        &path,
        &mut |s| feed(&more, s),
        &mut |_, _, _| {},
    )
    .unwrap();
    assert_eq!((grown.records, grown.files), (4, 1));
    assert_eq!(count(&f.vault, Kind::Case), 4);
}

#[test]
fn an_export_with_problems_is_refused_with_every_problem_and_nothing_is_written() {
    let mut f = fixture();
    let mut units: Vec<Unit> = (1..=4).map(|n| unit(n, &f.files, true)).collect();
    // 1: a case without a title.
    if let Record::Case(c) = &mut units[0].records[0].record {
        c.title.clear();
    }
    // 2: an act type no vocabulary knows, and a link to a record that is nowhere.
    if let Record::Incident(i) = &mut units[1].records[1].record {
        i.act_types = vec!["made_up".into()];
        i.related = vec![uuid::Uuid::from_u128(7)];
    }
    // 3: a file whose content is not what the export says.
    fs::write(f.files.join("photo-3.jpg"), b"something else").unwrap();
    // 4: a file the export names that is not there.
    fs::remove_file(f.files.join("photo-4.jpg")).unwrap();
    let path = f.files.join("export.xml");
    let versions = f.vault.version_count();
    let err = engine::import_with(
        &mut f.vault,
        Tool::Martus,
        &path,
        &mut |s| {
            s.problem(Problem::new("export.xml line 99", "unclosed <Field>"));
            feed(&units, s)
        },
        &mut |_, _, _| {},
    )
    .unwrap_err();
    let Error::Refused(problems) = &err else {
        panic!("{err}")
    };
    let text = err.to_string();
    for expected in [
        "export.xml line 99: unclosed <Field>",
        "bulletin 1 (line 11): case",
        "title is required",
        "bulletin 2 (line 21): incident",
        "unknown act type \"made_up\"",
        "which is not in the export before it",
        "bulletin 3 (line 31): photo-3.jpg: the export says 13 bytes, the file has 14",
        "bulletin 4 (line 41): photo-4.jpg: cannot be read",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
    assert_eq!(problems.len(), 6, "{text}");
    assert!(text.starts_with("the export was refused: nothing was imported (6 problems)"));
    assert_eq!(f.vault.version_count(), versions);
    assert_eq!(count(&f.vault, Kind::Case), 1);
    assert_eq!(blob_files(&f.dir), 0);

    // Same size, other content: the hash tells.
    fs::write(f.files.join("photo-3.jpg"), b"photo 3 bytez").unwrap();
    let units3 = vec![unit(3, &f.files, true)];
    let p = engine::preview_with(
        &f.vault,
        Tool::Martus,
        &path,
        &mut |s| feed(&units3, s),
        &mut |_, _, _| {},
    )
    .0;
    assert_eq!(p.problems.len(), 1);
    assert!(
        p.problems[0]
            .message
            .contains("is not the one the export describes"),
        "{:?}",
        p.problems
    );
}

#[test]
fn an_empty_export_is_refused() {
    let mut f = fixture();
    let path = f.files.join("export.xml");
    let err = engine::import_with(
        &mut f.vault,
        Tool::Odk,
        &path,
        &mut |_| Ok(()),
        &mut |_, _, _| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("no ODK records in it"), "{err}");
}

#[test]
fn a_write_that_fails_part_way_is_taken_back_whole() {
    let mut f = fixture();
    // Enough units that several commits are written before the failure.
    let units: Vec<Unit> = (1..=150)
        .map(|n| unit(n, &f.files, n == 1 || n == 150))
        .collect();
    let path = f.files.join("export.xml");
    let versions = f.vault.version_count();
    let reads = Cell::new(0);
    let last = f.files.join("photo-150.jpg");
    let err = engine::import_with(
        &mut f.vault,
        Tool::Martus,
        &path,
        &mut |s| {
            reads.set(reads.get() + 1);
            for (i, u) in units.iter().enumerate() {
                // Between the check and the write, the last file changes on disk.
                if reads.get() == 2 && i == 149 {
                    fs::write(&last, b"photo 150 bytez").unwrap();
                }
                s.unit(u.clone())?;
            }
            Ok(())
        },
        &mut |_, _, _| {},
    )
    .unwrap_err();
    assert!(matches!(err, Error::TakenBack(_)), "{err}");
    assert!(err.to_string().contains("nothing of it was kept"), "{err}");
    // Everything it wrote is gone: records, the first file, its blob.
    assert_eq!(f.vault.version_count(), versions);
    assert_eq!(count(&f.vault, Kind::Case), 1);
    assert_eq!(count(&f.vault, Kind::Evidence), 0);
    assert!(!f.vault.has_record(Tool::Martus.id("bulletin/acct-1/case")));
    assert_eq!(blob_files(&f.dir), 0);

    // The vault goes on: a write now continues the chain, and a reopened vault agrees.
    f.vault
        .add(Record::Case(Case {
            title: "After".into(),
            ..Case::default()
        }))
        .unwrap();
    let dir = f.dir.clone();
    drop(f.vault);
    let vault = Vault::unlock(&dir, &pass(), OPTS).unwrap();
    assert_eq!(count(&vault, Kind::Case), 2);
    assert_eq!(vault.version_count(), versions + 1);
    // And the same export, fixed, imports whole.
    let mut vault = vault;
    fs::write(&last, b"photo 150 bytes").unwrap();
    let done = engine::import_with(
        &mut vault,
        Tool::Martus,
        &path,
        &mut |s| feed(&units, s),
        &mut |_, _, _| {},
    )
    .unwrap();
    assert_eq!(done.files, 2);
    assert_eq!(count(&vault, Kind::Case), 152);
}

#[test]
fn earlier_versions_the_export_keeps_become_the_record_s_history() {
    let mut f = fixture();
    let mut u = unit(1, &f.files, false);
    let mut first = u.records[0].record.clone();
    if let Record::Case(c) = &mut first {
        c.title = "Bulletin 1 (first draft)".into();
    }
    u.records[0].earlier = vec![first];
    let units = vec![u];
    engine::import_with(
        &mut f.vault,
        Tool::Martus,
        &f.files.join("x.xml"),
        &mut |s| feed(&units, s),
        &mut |_, _, _| {},
    )
    .unwrap();
    let id = Tool::Martus.id("bulletin/acct-1/case");
    let history = f.vault.history(id).unwrap();
    let titles: Vec<String> = history
        .into_iter()
        .map(|v| match &v.unwrap().record {
            Some(Record::Case(c)) => c.title.clone(),
            _ => String::new(),
        })
        .collect();
    assert_eq!(titles.len(), 2, "{titles:?}");
    assert!(titles.contains(&"Bulletin 1 (first draft)".to_owned()));
    assert!(titles.contains(&"Bulletin 1".to_owned()));
    let current = f.vault.get(id).unwrap();
    assert!(matches!(&current.record, Some(Record::Case(c)) if c.title == "Bulletin 1"));
}

#[test]
fn an_empty_file_of_the_export_is_named_in_the_note_not_refused() {
    let mut f = fixture();
    let mut u = unit(1, &f.files, true);
    let empty = f.files.join("empty.doc");
    fs::write(&empty, b"").unwrap();
    u.files[0].source = FileSource::Path(empty);
    u.files[0].name = "empty.doc".into();
    u.files[0].sha256 = None;
    u.files[0].size = None;
    let units = vec![u];
    let path = f.files.join("export.xml");
    let done = engine::import_with(
        &mut f.vault,
        Tool::Martus,
        &path,
        &mut |s| feed(&units, s),
        &mut |_, _, _| {},
    )
    .unwrap();
    assert_eq!(done.files, 0);
    assert_eq!(done.preview.files, 0);
    assert!(done
        .preview
        .unmapped
        .iter()
        .any(|(name, _)| name.starts_with("Empty file in the export")));
    let case_id = Tool::Martus.id("bulletin/acct-1/case");
    let note = f
        .vault
        .list(&Filter {
            kind: Some(Kind::Note),
            case_id: Some(case_id),
            ..Filter::default()
        })
        .into_iter()
        .find_map(|i| match &f.vault.get(i.record_id).unwrap().record {
            Some(Record::Note(n)) => Some(n.text.clone()),
            _ => None,
        })
        .unwrap();
    assert!(
        note.contains("Empty file in the export, not kept as evidence: empty.doc"),
        "{note}"
    );
    // An empty file the export says has content is a problem.
    let mut u = unit(2, &f.files, true);
    let empty = f.files.join("empty2.doc");
    fs::write(&empty, b"").unwrap();
    u.files[0].source = FileSource::Path(empty);
    let units = vec![u];
    let p = engine::preview_with(
        &f.vault,
        Tool::Martus,
        &path,
        &mut |s| feed(&units, s),
        &mut |_, _, _| {},
    )
    .0;
    assert_eq!(p.problems.len(), 1, "{:?}", p.problems);
    assert!(p.problems[0]
        .message
        .contains("the export describes content"));
}

#[test]
fn a_link_or_a_pipe_in_the_export_is_refused_never_followed() {
    let f = fixture();
    // A hostile export: its "photo" is a link to a file of the user's own.
    let secret = f.files.join("../id_ed25519");
    fs::write(&secret, b"PRIVATE KEY").unwrap();
    let mut u = unit(1, &f.files, true);
    let link = f.files.join("link.jpg");
    std::os::unix::fs::symlink(&secret, &link).unwrap();
    u.files[0].source = FileSource::Path(link);
    u.files[0].sha256 = None;
    u.files[0].size = None;
    // And a pipe, which would be read for ever.
    let mut v = unit(2, &f.files, true);
    let fifo = f.files.join("pipe.jpg");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    v.files[0].source = FileSource::Path(fifo);
    v.files[0].sha256 = None;
    v.files[0].size = None;
    let units = vec![u, v];
    let p = engine::preview_with(
        &f.vault,
        Tool::Martus,
        &f.files.join("export.xml"),
        &mut |s| feed(&units, s),
        &mut |_, _, _| {},
    )
    .0;
    assert_eq!(p.problems.len(), 2, "{:?}", p.problems);
    assert!(p.problems[0].message.contains("a link to another file"));
    assert!(p.problems[1].message.contains("not a regular file"));
}

#[test]
fn a_unit_adding_to_an_earlier_case_keeps_its_own_unmapped_fields() {
    let mut f = fixture();
    let first = unit(1, &f.files, false);
    let case_id = first.records[0].id;
    // A second unit with no case of its own: an intervention-like note in the first
    // unit's case, and fields of its own with no place.
    let second = Unit {
        original_id: "entity-2".into(),
        at: "line 3".into(),
        records: vec![Item {
            id: Tool::Martus.id("entity-2/note"),
            record: Record::Note(Note {
                case_id,
                text: "Appeal sent".into(),
                about: Vec::new(),
            }),
            earlier: Vec::new(),
        }],
        files: Vec::new(),
        unmapped: vec![Field {
            name: "On behalf of".into(),
            value: "W-2".into(),
        }],
    };
    let units = vec![first, second];
    let done = engine::import_with(
        &mut f.vault,
        Tool::Martus,
        &f.files.join("x.xml"),
        &mut |s| feed(&units, s),
        &mut |_, _, _| {},
    )
    .unwrap();
    // The case's note and the second unit's note: both kept.
    assert_eq!(done.preview.new[&Kind::Note], 3, "{:?}", done.preview.new);
    let texts: Vec<String> = f
        .vault
        .list(&Filter {
            kind: Some(Kind::Note),
            case_id: Some(case_id),
            ..Filter::default()
        })
        .into_iter()
        .filter_map(|i| match &f.vault.get(i.record_id).unwrap().record {
            Some(Record::Note(n)) => Some(n.text.clone()),
            _ => None,
        })
        .collect();
    assert!(
        texts.iter().any(|t| t.contains("On behalf of: W-2")),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("Witness code (witcode): W-1")),
        "{texts:?}"
    );
}
