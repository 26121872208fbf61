//! The Tella reader against exports written the way Tella Android and Tella Desktop write
//! them (samples/tella, see its SOURCE.md), and against broken ones.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use custos_import::{Collect, FileSource, Problem, Sink, Stopped, Tool, Unit};
use custos_model::Record;
use sha2::{Digest, Sha256};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/tella")
}

fn android() -> PathBuf {
    samples().join("android-export")
}

/// The header of a full Tella metadata file, in Tella's order.
const HEADER: &str = "File hash,File path,File name,Cells,WiFis,Timestamp,Ambient temperature,\
Light,Location accuracy,Location altitude,Location latitude,Location longitude,\
Location timestamp,Location provider,Location speed,Locale,IPv6,IPv4,Language,Network type,\
Network,Manufacturer,Data type,Hardware,Screen size,WiFi MAC,Device ID";

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A metadata line of values for `HEADER`, for a file of these bytes and this name.
fn values(hash: &str, name: &str, latitude: &str) -> String {
    format!(
        "{hash},,{name},[MCC: 621  MNC: 20  Cell ID: 1],[Net],1710238500000,,,5.0,10.0,\
         {latitude},3.3792,1710238498000,gps,0.0,NGA,,10.0.0.2 ,English,WiFi,Connected,\
         Google,Mobile Data LTE,Google Pixel 7,6.1,02:00:00:00:00:00,dev-1"
    )
}

/// A folder holding `photo.jpg` and the metadata file `text` for it.
fn export_with(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("photo.jpg"), b"jpeg bytes").unwrap();
    fs::write(dir.path().join("photo.csv"), text).unwrap();
    dir
}

fn good_csv() -> String {
    let hash = hex_sha256(b"jpeg bytes").to_uppercase();
    format!("{HEADER}\n{}\n", values(&hash, "photo.jpg", "6.5244"))
}

fn problems_at<'a>(c: &'a Collect, at: &str) -> Vec<&'a Problem> {
    c.problems.iter().filter(|p| p.at == at).collect()
}

fn names(c: &Collect) -> Vec<String> {
    c.units.iter().map(|u| u.files[0].name.clone()).collect()
}

fn meta<'a>(u: &'a Unit, name: &str) -> Option<&'a str> {
    u.files[0]
        .metadata
        .iter()
        .find(|f| f.name == name)
        .map(|f| f.value.as_str())
}

#[test]
fn android_export_is_one_unit_per_file_under_one_case() {
    let c = Collect::read(Tool::Tella, &android());
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    assert_eq!(
        names(&c),
        [
            "IMG_20240312_101500 (1).png",
            "IMG_20240312_101500.png",
            "contacts.csv",
            "interview.wav"
        ]
    );
    let case_id = Tool::Tella.id("export/android-export/case");
    let first = &c.units[0];
    assert_eq!(first.records.len(), 1);
    assert_eq!(first.records[0].id, case_id);
    match &first.records[0].record {
        Record::Case(case) => {
            assert_eq!(case.title, "Tella export android-export");
            assert_eq!(case.tags, ["tella"]);
        }
        other => panic!("the first record is not the case: {other:?}"),
    }
    for u in &c.units[1..] {
        assert!(u.records.is_empty(), "{} carries records", u.at);
    }
    for u in &c.units {
        assert_eq!(u.files.len(), 1);
        assert_eq!(u.files[0].case_id, case_id);
        assert!(u.unmapped.is_empty());
        let FileSource::Path(p) = &u.files[0].source else {
            panic!("not a path")
        };
        assert!(p.is_file(), "{}", p.display());
    }
    let total: u64 = fs::read_dir(android())
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert_eq!(c.progress, (total, total));
}

#[test]
fn stated_hashes_pass_through_and_match_the_files() {
    let c = Collect::read(Tool::Tella, &android());
    for u in &c.units[..2] {
        let f = &u.files[0];
        let FileSource::Path(p) = &f.source else {
            panic!("not a path")
        };
        let stated = f.sha256.as_deref().expect("the metadata states a hash");
        assert_eq!(stated, hex_sha256(&fs::read(p).unwrap()));
        assert_eq!(stated, stated.to_lowercase());
    }
    // Files exported without verification information state nothing.
    for u in &c.units[2..] {
        assert_eq!(u.files[0].sha256, None);
        assert_eq!(u.files[0].created, None);
        assert!(u.files[0].metadata.is_empty());
    }
}

#[test]
fn verification_information_is_kept() {
    let c = Collect::read(Tool::Tella, &android());
    let full = &c.units[1];
    let f = &full.files[0];
    assert_eq!(f.original_id, "IMG_20240312_101500.png");
    assert_eq!(
        f.created,
        Some(Utc.with_ymd_and_hms(2024, 3, 12, 10, 15, 0).unwrap())
    );
    assert_eq!(meta(full, "Location latitude"), Some("6.5244"));
    assert_eq!(meta(full, "Location longitude"), Some("3.3792"));
    assert_eq!(meta(full, "Location provider"), Some("fused"));
    assert_eq!(
        meta(full, "Location timestamp"),
        Some("2024-03-12T10:14:58+00:00 (1710238498000)")
    );
    assert_eq!(
        meta(full, "Cells"),
        Some("[MCC: 621  MNC: 20  Cell ID: 21304577] [MCC: 621  MNC: 20  Cell ID: 21304578]")
    );
    assert_eq!(meta(full, "WiFis"), Some("[HomeNet] [CafeFree]"));
    assert_eq!(meta(full, "IPv4"), Some("192.168.1.23"));
    assert_eq!(meta(full, "Hardware"), Some("Samsung SM-A125F"));
    assert_eq!(
        meta(full, "Device ID"),
        Some("5b0c8f0e-4b7a-4f0e-9d51-2f7f3c8a6e11")
    );
    assert_eq!(
        meta(full, "Tella metadata file"),
        Some("IMG_20240312_101500.csv")
    );
    // Empty values (no ambient temperature) are not made into fields; the hash and the
    // name have their own places.
    assert_eq!(meta(full, "Ambient temperature"), None);
    assert_eq!(meta(full, "File hash"), None);

    // The renamed twin: paired with its own metadata file, which names the vault name.
    let twin = &c.units[0];
    assert_eq!(twin.files[0].original_id, "IMG_20240312_101500.png");
    assert_eq!(
        meta(twin, "Tella metadata file"),
        Some("IMG_20240312_101500 (1).csv")
    );
    assert_eq!(meta(twin, "WiFis"), None);
    assert_eq!(meta(twin, "Location latitude"), None);
    assert_eq!(meta(twin, "Network"), Some("No network"));
    assert_eq!(
        twin.files[0].created,
        Some(Utc.with_ymd_and_hms(2024, 3, 12, 10, 17, 0).unwrap())
    );
}

#[test]
fn ids_are_stable_and_come_from_the_export() {
    let a = Collect::read(Tool::Tella, &android());
    let b = Collect::read(Tool::Tella, &android());
    let ids = |c: &Collect| -> Vec<_> {
        c.units
            .iter()
            .flat_map(|u| {
                u.records
                    .iter()
                    .map(|r| r.id)
                    .chain(u.files.iter().map(|f| f.id))
            })
            .collect()
    };
    assert_eq!(ids(&a), ids(&b));
    assert_eq!(
        a.units[3].files[0].id,
        Tool::Tella.id("export/android-export/file/interview.wav")
    );
    let mut all = ids(&a);
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 5, "one case and four files, all distinct");
}

#[test]
fn desktop_zip_is_read_entry_by_entry() {
    let zip = samples().join("Protest 12 March.zip");
    let c = Collect::read(Tool::Tella, &zip);
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    assert_eq!(names(&c), ["IMG_0001.png", "IMG_0002.png"]);
    match &c.units[0].records[0].record {
        Record::Case(case) => assert_eq!(case.title, "Tella export Protest 12 March"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        c.units[1].files[0].source,
        FileSource::Zip {
            archive: zip.clone(),
            entry: "IMG_0002.png".into()
        }
    );
    assert_eq!(
        c.units[1].files[0].case_id,
        Tool::Tella.id("export/Protest 12 March/case")
    );
}

#[test]
fn a_zipped_android_export_pairs_files_with_their_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.zip");
    let mut w = zip::ZipWriter::new(fs::File::create(&path).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    for e in fs::read_dir(android()).unwrap() {
        let e = e.unwrap();
        w.start_file(format!("Tella/{}", e.file_name().to_string_lossy()), opts)
            .unwrap();
        std::io::Write::write_all(&mut w, &fs::read(e.path()).unwrap()).unwrap();
    }
    w.finish().unwrap();
    let c = Collect::read(Tool::Tella, &path);
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    assert_eq!(c.units.len(), 4);
    let full = &c.units[1];
    assert_eq!(full.files[0].name, "IMG_20240312_101500.png");
    assert!(full.files[0].sha256.is_some());
    assert_eq!(meta(full, "Location latitude"), Some("6.5244"));
}

#[test]
fn metadata_naming_a_missing_file_is_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    let hash = hex_sha256(b"gone");
    fs::write(
        dir.path().join("gone.csv"),
        format!("{HEADER}\n{}\n", values(&hash, "gone.jpg", "1.0")),
    )
    .unwrap();
    fs::write(dir.path().join("kept.wav"), b"audio").unwrap();
    let c = Collect::read(Tool::Tella, dir.path());
    let ps = problems_at(&c, "gone.csv line 2");
    assert_eq!(ps.len(), 1, "{:?}", c.problems);
    assert!(ps[0].message.contains("gone.jpg"), "{}", ps[0].message);
    // The rest is still read; the metadata file is not taken for evidence.
    assert_eq!(names(&c), ["kept.wav"]);
}

#[test]
fn metadata_alone_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("gone.csv"),
        format!(
            "{HEADER}\n{}\n",
            values(&hex_sha256(b"x"), "gone.jpg", "1.0")
        ),
    )
    .unwrap();
    let c = Collect::read(Tool::Tella, dir.path());
    assert!(c.units.is_empty());
    assert_eq!(c.problems.len(), 2, "{:?}", c.problems);
}

#[test]
fn a_truncated_metadata_file_is_a_problem() {
    // Only the header: the line of values never came.
    let header_only = export_with(&format!("{HEADER}\n"));
    let c = Collect::read(Tool::Tella, header_only.path());
    let ps = problems_at(&c, "photo.csv line 2");
    assert!(
        ps.iter().any(|p| p.message.contains("truncated")),
        "{:?}",
        c.problems
    );

    // Cut in the middle of the values: fewer values, and no final newline.
    let good = good_csv();
    let cut = &good[..good.len() - 30];
    let c = Collect::read(Tool::Tella, export_with(cut).path());
    let ps = problems_at(&c, "photo.csv line 2");
    assert!(ps.iter().any(|p| p.message.contains("truncated")), "{ps:?}");
    assert!(
        ps.iter().any(|p| p.message.contains("values for")),
        "{ps:?}"
    );

    // Cut inside the header itself.
    let c = Collect::read(Tool::Tella, export_with("File hash,File pa").path());
    assert!(!c.problems.is_empty());
    assert!(c.units.iter().all(|u| u.files[0].name != "photo.csv"));
}

#[test]
fn the_good_metadata_file_reads_clean() {
    let dir = export_with(&good_csv());
    let c = Collect::read(Tool::Tella, dir.path());
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    assert_eq!(c.units.len(), 1);
    assert_eq!(
        c.units[0].files[0].sha256.as_deref(),
        Some(hex_sha256(b"jpeg bytes").as_str())
    );
}

#[test]
fn malformed_values_are_problems_with_their_column() {
    let hash = hex_sha256(b"jpeg bytes");
    let text = format!("{HEADER}\n{}\n", values(&hash, "photo.jpg", "north"));
    let c = Collect::read(Tool::Tella, export_with(&text).path());
    let ps = problems_at(&c, "photo.csv line 2");
    assert_eq!(ps.len(), 1, "{:?}", c.problems);
    assert!(
        ps[0].message.contains("Location latitude"),
        "{}",
        ps[0].message
    );

    // A value with a comma of its own (not Tella's writing): one value too many.
    let text = format!("{HEADER}\n{}\n", values(&hash, "photo.jpg", "6,5"));
    let c = Collect::read(Tool::Tella, export_with(&text).path());
    assert!(
        problems_at(&c, "photo.csv line 2")
            .iter()
            .any(|p| p.message.contains("28 values for 27 columns")),
        "{:?}",
        c.problems
    );

    // A third line: Tella writes two.
    let text = format!("{}{}\n", good_csv(), values(&hash, "photo.jpg", "1.0"));
    let c = Collect::read(Tool::Tella, export_with(&text).path());
    assert_eq!(
        problems_at(&c, "photo.csv line 3").len(),
        1,
        "{:?}",
        c.problems
    );

    // Not UTF-8.
    let mut bytes = good_csv().into_bytes();
    let at = bytes.len() - 5;
    bytes[at] = 0xff;
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("photo.jpg"), b"jpeg bytes").unwrap();
    fs::write(dir.path().join("photo.csv"), bytes).unwrap();
    let c = Collect::read(Tool::Tella, dir.path());
    assert!(
        problems_at(&c, "photo.csv line 2")
            .iter()
            .any(|p| p.message.contains("UTF-8")),
        "{:?}",
        c.problems
    );
}

#[test]
fn a_hash_that_is_not_sha256_is_a_problem() {
    for bad in ["ABC123", &"G".repeat(64), &"a".repeat(63)] {
        let text = format!("{HEADER}\n{}\n", values(bad, "photo.jpg", "1.0"));
        let c = Collect::read(Tool::Tella, export_with(&text).path());
        let ps = problems_at(&c, "photo.csv line 2");
        assert_eq!(ps.len(), 1, "{bad}: {:?}", c.problems);
        assert!(ps[0].message.contains("SHA-256"), "{}", ps[0].message);
        assert_eq!(c.units[0].files[0].sha256, None);
    }
    let text = format!("{HEADER}\n{}\n", values("", "photo.jpg", "1.0"));
    let c = Collect::read(Tool::Tella, export_with(&text).path());
    assert!(
        problems_at(&c, "photo.csv line 2")
            .iter()
            .any(|p| p.message.contains("File hash is empty")),
        "{:?}",
        c.problems
    );
}

#[test]
fn a_changed_file_keeps_the_hash_tella_stated() {
    // The engine compares the stated hash with the bytes: the reader must hand over
    // what Tella stated, not what the file is now.
    let dir = export_with(&good_csv());
    fs::write(dir.path().join("photo.jpg"), b"altered bytes").unwrap();
    let c = Collect::read(Tool::Tella, dir.path());
    assert!(c.problems.is_empty());
    let stated = c.units[0].files[0].sha256.clone().unwrap();
    assert_eq!(stated, hex_sha256(b"jpeg bytes"));
    assert_ne!(stated, hex_sha256(b"altered bytes"));
}

#[test]
fn every_problem_is_reported_not_only_the_first() {
    let dir = tempfile::tempdir().unwrap();
    for n in ["a", "b", "c"] {
        fs::write(dir.path().join(format!("{n}.jpg")), n).unwrap();
    }
    fs::write(dir.path().join("a.csv"), format!("{HEADER}\n")).unwrap();
    fs::write(
        dir.path().join("b.csv"),
        format!("{HEADER}\n{}\n", values("XYZ", "b.jpg", "1.0")),
    )
    .unwrap();
    fs::write(
        dir.path().join("c.csv"),
        format!("{HEADER}\n{}\n", values(&hex_sha256(b"c"), "c.jpg", "999")),
    )
    .unwrap();
    let c = Collect::read(Tool::Tella, dir.path());
    for at in ["a.csv line 2", "b.csv line 2", "c.csv line 2"] {
        assert!(!problems_at(&c, at).is_empty(), "{at}: {:?}", c.problems);
    }
    assert_eq!(c.units.len(), 3);
}

#[test]
fn an_empty_export_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let c = Collect::read(Tool::Tella, dir.path());
    assert!(c.units.is_empty());
    assert_eq!(c.problems.len(), 1);
    assert!(c.problems[0].message.contains("no files"));

    // Only the litter of operating systems.
    fs::write(dir.path().join(".DS_Store"), b"x").unwrap();
    let c = Collect::read(Tool::Tella, dir.path());
    assert!(c.units.is_empty());
    assert_eq!(c.problems.len(), 1);
}

#[test]
fn a_truncated_zip_or_a_missing_path_is_a_problem_not_a_panic() {
    let bytes = fs::read(samples().join("Protest 12 March.zip")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for cut in [0, 10, bytes.len() / 2, bytes.len() - 1] {
        let path = dir.path().join(format!("cut{cut}.zip"));
        fs::write(&path, &bytes[..cut]).unwrap();
        let c = Collect::read(Tool::Tella, &path);
        assert!(c.units.is_empty(), "cut at {cut}");
        assert_eq!(c.problems.len(), 1, "cut at {cut}: {:?}", c.problems);
    }
    let c = Collect::read(Tool::Tella, &dir.path().join("nowhere"));
    assert_eq!(c.problems.len(), 1);
    assert!(c.units.is_empty());
}

#[test]
fn subfolders_pair_within_their_folder() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("day 2");
    fs::create_dir(&sub).unwrap();
    fs::write(sub.join("photo.jpg"), b"jpeg bytes").unwrap();
    fs::write(sub.join("photo.csv"), good_csv()).unwrap();
    fs::write(dir.path().join("photo.jpg"), b"other").unwrap();
    let c = Collect::read(Tool::Tella, dir.path());
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    assert_eq!(c.units.len(), 2);
    let in_sub = c
        .units
        .iter()
        .find(|u| u.at.starts_with("day 2/photo.jpg"))
        .unwrap();
    assert!(in_sub.files[0].sha256.is_some());
    let top = c.units.iter().find(|u| u.at == "photo.jpg").unwrap();
    assert_eq!(top.files[0].sha256, None);
}

#[test]
fn a_refused_unit_stops_the_reader() {
    struct Refuse {
        units: usize,
    }
    impl Sink for Refuse {
        fn unit(&mut self, _: Unit) -> Result<(), Stopped> {
            self.units += 1;
            Err(Stopped)
        }
        fn problem(&mut self, _: Problem) {}
        fn progress(&mut self, _: u64, _: u64) {}
    }
    let mut sink = Refuse { units: 0 };
    assert_eq!(Tool::Tella.read(&android(), &mut sink), Err(Stopped));
    assert_eq!(sink.units, 1);
}

#[test]
fn an_empty_line_of_values_or_no_file_name_is_a_problem() {
    let c = Collect::read(Tool::Tella, export_with(&format!("{HEADER}\n\n")).path());
    let ps = problems_at(&c, "photo.csv line 2");
    assert_eq!(ps.len(), 1, "{:?}", c.problems);
    assert!(ps[0].message.contains("truncated"));

    let hash = hex_sha256(b"jpeg bytes");
    let c = Collect::read(
        Tool::Tella,
        export_with(&format!("File hash,File path\n{hash},\n")).path(),
    );
    let ps = problems_at(&c, "photo.csv line 2");
    assert_eq!(ps.len(), 1, "{:?}", c.problems);
    assert!(ps[0].message.contains("no File name"));
}

#[test]
fn windows_line_ends_and_a_byte_order_mark_are_read() {
    let text = format!("\u{feff}{}", good_csv().replace('\n', "\r\n"));
    let c = Collect::read(Tool::Tella, export_with(&text).path());
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    assert_eq!(c.units.len(), 1);
    assert_eq!(meta(&c.units[0], "Device ID"), Some("dev-1"));
}

/// How the reader scales: `TELLA_FILES=N cargo test -p custos-import --test tella
/// -- --ignored --nocapture many_files`. Reads N photos with their metadata files.
#[test]
#[ignore]
fn many_files() {
    let n: usize = std::env::var("TELLA_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let dir = tempfile::tempdir().unwrap();
    for i in 0..n {
        let bytes = format!("photo {i}");
        let name = format!("IMG_{i:06}.jpg");
        fs::write(dir.path().join(&name), &bytes).unwrap();
        let hash = hex_sha256(bytes.as_bytes()).to_uppercase();
        fs::write(
            dir.path().join(format!("IMG_{i:06}.csv")),
            format!("{HEADER}\n{}\n", values(&hash, &name, "6.5")),
        )
        .unwrap();
    }
    struct Count(usize, usize);
    impl Sink for Count {
        fn unit(&mut self, _: Unit) -> Result<(), Stopped> {
            self.0 += 1;
            Ok(())
        }
        fn problem(&mut self, _: Problem) {
            self.1 += 1;
        }
        fn progress(&mut self, _: u64, _: u64) {}
    }
    let mut sink = Count(0, 0);
    let start = std::time::Instant::now();
    Tool::Tella.read(dir.path(), &mut sink).unwrap();
    let secs = start.elapsed().as_secs_f64();
    assert_eq!((sink.0, sink.1), (n, 0));
    println!(
        "{n} files with metadata in {secs:.2} s: {:.0} files a second",
        n as f64 / secs
    );
}

#[test]
fn two_metadata_files_for_one_file_are_a_problem() {
    let dir = export_with(&good_csv());
    fs::write(dir.path().join("photo copy.csv"), good_csv()).unwrap();
    let c = Collect::read(Tool::Tella, dir.path());
    assert_eq!(c.problems.len(), 1, "{:?}", c.problems);
    assert!(c.problems[0].message.contains("already describes"));
    assert_eq!(names(&c), ["photo.jpg"]);

    // Metadata naming another metadata file.
    let dir = export_with(&good_csv());
    let hash = hex_sha256(b"x");
    fs::write(
        dir.path().join("odd.csv"),
        format!("{HEADER}\n{}\n", values(&hash, "photo.csv", "1.0")),
    )
    .unwrap();
    let c = Collect::read(Tool::Tella, dir.path());
    let ps = problems_at(&c, "odd.csv line 2");
    assert_eq!(ps.len(), 1, "{:?}", c.problems);
    assert!(ps[0].message.contains("itself a metadata file"));
}
