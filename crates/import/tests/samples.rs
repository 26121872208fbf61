//! Every tool's real sample exports (crates/import/samples/<tool>/, each with SOURCE.md)
//! imported into a real vault through the engine: the preview's counts are what is
//! written, every file is evidence whose hash verifies and whose custody entry names the
//! tool, the export and the source's id, and a second import writes nothing.

use std::path::{Path, PathBuf};

use custos_import::engine;
use custos_import::Tool;
use custos_model::Kind;
use custos_test_support::{pass, FAST as OPTS};
use custos_vault::{Filter, Vault};

fn sample(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(rel)
}

fn count(vault: &Vault, kind: Kind) -> usize {
    vault
        .list(&Filter {
            kind: Some(kind),
            ..Filter::default()
        })
        .len()
}

/// Imports `path` into a new vault and checks what every import must do. → the vault.
fn imports_whole_once(tool: Tool, path: &Path) -> (tempfile::TempDir, Vault) {
    let tmp = tempfile::tempdir().unwrap();
    let mut vault = Vault::create(&tmp.path().join("vault"), &pass(), OPTS).unwrap();
    let preview = engine::preview(&vault, tool, path, &mut |_, _, _| {});
    assert!(
        preview.problems.is_empty(),
        "{tool} {}: {:?}",
        path.display(),
        preview.problems
    );
    assert!(preview.new_total() > 0, "{tool}: nothing to import");
    let done = engine::import(&mut vault, tool, path, &mut |_, _, _| {}).unwrap();
    assert_eq!(
        done.preview, preview,
        "{tool}: the write read what the check read"
    );
    for kind in Kind::ALL {
        assert_eq!(
            count(&vault, kind),
            preview.new.get(&kind).copied().unwrap_or(0),
            "{tool}: {} written vs previewed",
            kind.as_str()
        );
    }
    assert_eq!(done.files, preview.files);
    let export = path.file_name().unwrap().to_string_lossy().into_owned();
    for id in vault.evidence_ids(None) {
        let v = vault.verify_evidence(id).unwrap();
        assert!(v.ok, "{tool}: {:?}", v.problems);
        let custody = vault.custody(id).unwrap();
        assert!(
            custody[0].detail.contains(tool.name()),
            "{}",
            custody[0].detail
        );
        assert!(custody[0].detail.contains(&export), "{}", custody[0].detail);
        assert!(
            custody[0].detail.contains("original id"),
            "{}",
            custody[0].detail
        );
    }
    // A second import of the same export: nothing new.
    let versions = vault.version_count();
    let again = engine::import(&mut vault, tool, path, &mut |_, _, _| {}).unwrap();
    assert_eq!((again.records, again.files), (0, 0), "{tool}: duplicates");
    assert_eq!(again.preview.already, preview.new_total());
    assert_eq!(vault.version_count(), versions);
    (tmp, vault)
}

#[test]
fn tella_android_export_imports_with_its_verification_metadata() {
    let (_tmp, vault) = imports_whole_once(Tool::Tella, &sample("tella/android-export"));
    assert_eq!(count(&vault, Kind::Case), 1);
    assert_eq!(count(&vault, Kind::Evidence), 4);
    // The photo's stated hash is the one kept, its capture place in its description.
    let photo = vault
        .evidence_ids(None)
        .into_iter()
        .map(|id| vault.evidence(id).unwrap())
        .find(|e| e.file_name == "IMG_20240312_101500.png")
        .expect("the photo");
    assert!(
        photo.description.contains("Location"),
        "{}",
        photo.description
    );
    assert!(photo.file_created.is_some());
}

#[test]
fn tella_desktop_zip_imports_entry_by_entry() {
    let (_tmp, vault) = imports_whole_once(Tool::Tella, &sample("tella/Protest 12 March.zip"));
    assert_eq!(count(&vault, Kind::Case), 1);
    assert!(count(&vault, Kind::Evidence) >= 1);
}

#[test]
fn martus_export_imports_each_bulletin_as_a_case_with_its_history_and_attachments() {
    let (_tmp, vault) = imports_whole_once(Tool::Martus, &sample("martus/exported/bulletins.xml"));
    // Five <MartusBulletin> elements: three versions of one bulletin, and two others.
    assert_eq!(count(&vault, Kind::Case), 3);
    assert!(count(&vault, Kind::Evidence) >= 1);
    // The bulletin exported with its earlier versions has them as its history.
    let longest = vault
        .list(&Filter {
            kind: Some(Kind::Case),
            ..Filter::default()
        })
        .into_iter()
        .map(|c| vault.history(c.record_id).unwrap().len())
        .max()
        .unwrap();
    assert_eq!(longest, 3, "three versions of one bulletin");
}

#[test]
fn martus_test_bulletins_with_public_and_private_attachments_import() {
    imports_whole_once(
        Tool::Martus,
        &sample("martus/client-import/SampleXmlBulletinWithAttachments.xml"),
    );
    imports_whole_once(
        Tool::Martus,
        &sample("martus/client-import/SampleXmlTwoBulletins.xml"),
    );
    imports_whole_once(
        Tool::Martus,
        &sample("martus/csv2xml/testWithAttachments.xml"),
    );
}

#[test]
fn uwazi_exports_and_import_files_import_with_their_documents() {
    let (_tmp, vault) = imports_whole_once(Tool::Uwazi, &sample("uwazi/hr-export/incidents.csv"));
    assert!(count(&vault, Kind::Incident) >= 1);
    imports_whole_once(Tool::Uwazi, &sample("uwazi/export-example.csv"));
    let (_tmp, vault) = imports_whole_once(Tool::Uwazi, &sample("uwazi/import.zip"));
    assert!(count(&vault, Kind::Evidence) >= 1, "the zip's documents");
}

#[test]
fn odk_briefcase_and_central_exports_import_with_their_media() {
    let (_tmp, vault) = imports_whole_once(Tool::Odk, &sample("odk/central/incident_report.zip"));
    assert!(count(&vault, Kind::Person) >= 1, "the victims repeat group");
    assert!(count(&vault, Kind::Evidence) >= 1, "the photos");
    imports_whole_once(Tool::Odk, &sample("odk/briefcase/witness_report"));
    imports_whole_once(Tool::Odk, &sample("odk/briefcase/nested-repeats"));
}
