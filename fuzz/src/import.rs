//! Entry points of `custos-import`: the four readers of other tools' exports, over bytes
//! written as the export's file (a Martus XML, an ODK Briefcase CSV, an Uwazi CSV, a
//! Tella metadata file beside its photo, an ODK Central zip), into a sink that keeps
//! everything. A reader answers bad bytes with problems: never a panic or a hang.

use std::path::Path;

use custos_import::{Collect, Tool};

/// A target: its name (and corpus folder) and its entry point.
pub type Target = (&'static str, fn(&[u8]));

/// The targets of this module.
pub const TARGETS: &[Target] = &[
    ("martus_xml", martus_xml),
    ("odk_csv", odk_csv),
    ("odk_zip", odk_zip),
    ("uwazi_csv", uwazi_csv),
    ("tella_metadata", tella_metadata),
];

/// Writes `data` as `name` in a new folder and reads it with `tool` from `open` (a path
/// in that folder). Every unit's records must be valid or be reported.
fn read(tool: Tool, name: &str, data: &[u8], extra: &[(&str, &[u8])], open: &str) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("a folder");
    }
    std::fs::write(&path, data).expect("the export");
    for (n, bytes) in extra {
        let p = dir.path().join(n);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("a folder");
        }
        std::fs::write(p, bytes).expect("a file beside it");
    }
    let got = Collect::read(tool, &dir.path().join(open));
    check(tool, &got);
}

/// What a reader hands on is what its contract says: ids from the tool, the case first
/// (or files of an earlier case), files of a known case.
fn check(tool: Tool, got: &Collect) {
    let _ = tool;
    let mut seen = std::collections::HashSet::new();
    for u in &got.units {
        for item in &u.records {
            seen.insert(item.id);
        }
        for f in &u.files {
            assert!(
                seen.contains(&f.case_id),
                "a file of a case no unit made: {}",
                u.at
            );
        }
    }
}

/// A Martus bulletin export (`bulletins.xml`), with one attachment beside it.
pub fn martus_xml(data: &[u8]) {
    read(
        Tool::Martus,
        "bulletins.xml",
        data,
        &[("witness-statement.txt", b"statement")],
        "bulletins.xml",
    );
}

/// An ODK Briefcase export: the first NUL splits the main CSV from a repeat file; a
/// media file is beside them.
pub fn odk_csv(data: &[u8]) {
    let (main, repeat) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &b""[..]),
    };
    let mut extra: Vec<(&str, &[u8])> = vec![("form/media/1.jpg", b"jpeg")];
    if !repeat.is_empty() {
        extra.push(("form/form-victim.csv", repeat));
    }
    read(Tool::Odk, "form/form.csv", main, &extra, "form/form.csv");
}

/// ODK Central's export zip, as bytes.
pub fn odk_zip(data: &[u8]) {
    read(Tool::Odk, "form.zip", data, &[], "form.zip");
}

/// An Uwazi CSV export, with a document beside it.
pub fn uwazi_csv(data: &[u8]) {
    read(
        Tool::Uwazi,
        "export/incidents.csv",
        data,
        &[("export/1.pdf", b"%PDF-1.4")],
        "export/incidents.csv",
    );
}

/// A Tella Android export: the bytes are a photo's metadata file, beside the photo.
pub fn tella_metadata(data: &[u8]) {
    read(
        Tool::Tella,
        "tella/IMG_1.csv",
        data,
        &[("tella/IMG_1.png", b"\x89PNG photo")],
        "tella",
    );
}

/// Seeds: the real sample exports of `crates/import/samples/` (each target's own).
pub fn seeds(samples: &Path) -> Vec<(&'static str, Vec<u8>)> {
    let read = |p: &str| std::fs::read(samples.join(p)).expect("a sample");
    let odk_pair = |main: &str, repeat: &str| {
        let mut v = read(main);
        v.push(0);
        v.extend(read(repeat));
        v
    };
    vec![
        ("martus_xml", read("martus/exported/bulletins.xml")),
        (
            "martus_xml",
            read("martus/client-import/SampleXmlBulletin.xml"),
        ),
        ("martus_xml", read("martus/csv2xml/testWithAttachments.xml")),
        (
            "odk_csv",
            odk_pair(
                "odk/briefcase/witness_report/witness_report.csv",
                "odk/briefcase/witness_report/witness_report-witness.csv",
            ),
        ),
        ("odk_zip", read("odk/central/incident_report.zip")),
        ("odk_zip", read("odk/central/withrepeat.zip")),
        ("uwazi_csv", read("uwazi/hr-export/incidents.csv")),
        ("uwazi_csv", read("uwazi/export-example.csv")),
        ("uwazi_csv", read("uwazi/import-test.csv")),
        (
            "tella_metadata",
            read("tella/android-export/IMG_20240312_101500.csv"),
        ),
    ]
}
