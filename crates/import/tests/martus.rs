//! The Martus reader against the files Martus's own tests and tools wrote, and against
//! broken exports.

use std::fs;
use std::path::{Path, PathBuf};

use custos_import::{Collect, FileSource, Problem, Sink, Stopped, Tool, Unit};
use custos_model::{Confidentiality, Kind, Record};

const ACCOUNT_END: &str = "xD4tQ6sIDAQAB";
const V1: &str = "B-kT3f9Qm2xV7cLp0aZs1eHw--";
const V2: &str = "B-4nWq8Rb1yU6dKe2tJv9oMg--";
const V3: &str = "B-Pz7Xc5Lh0sN3gFb8rA2kDw--";

fn sample(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples/martus")
        .join(rel)
}

fn read(rel: &str) -> Collect {
    Collect::read(Tool::Martus, &sample(rel))
}

fn kinds(u: &Unit) -> Vec<Kind> {
    u.records.iter().map(|r| r.record.kind()).collect()
}

fn unmapped<'a>(u: &'a Unit, name: &str) -> Option<&'a str> {
    u.unmapped
        .iter()
        .find(|f| f.name == name)
        .map(|f| f.value.as_str())
}

fn case(u: &Unit) -> &custos_model::Case {
    match &u.records[0].record {
        Record::Case(c) => c,
        other => panic!("the first record is not the case: {other:?}"),
    }
}

fn note_texts(u: &Unit) -> Vec<&str> {
    u.records
        .iter()
        .filter_map(|r| match &r.record {
            Record::Note(n) => Some(n.text.as_str()),
            _ => None,
        })
        .collect()
}

/// The exported sample copied into a fresh folder (without its attachments), with
/// `edit` applied to the XML.
fn edited(edit: impl Fn(&str) -> String) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let xml = fs::read_to_string(sample("exported/bulletins.xml")).unwrap();
    let path = dir.path().join("bulletins.xml");
    fs::write(&path, edit(&xml)).unwrap();
    (dir, path)
}

fn with_attachments(dir: &Path) {
    for f in [
        "witness-statement.txt",
        "witness-statement5048312901738210.txt",
        "medical-report.txt",
        "annex.txt",
    ] {
        fs::copy(sample(&format!("exported/{f}")), dir.join(f)).unwrap();
    }
}

fn problems_text(c: &Collect) -> String {
    c.problems
        .iter()
        .map(Problem::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn export_with_versions_reads_each_bulletin_as_a_case_with_its_history() {
    let c = read("exported/bulletins.xml");
    assert!(c.problems.is_empty(), "{}", problems_text(&c));
    // Five bulletins in the file, two of them earlier versions of the first.
    assert_eq!(c.units.len(), 3);

    let u = &c.units[0];
    assert!(u.original_id.ends_with(&format!("{ACCOUNT_END}-{V3}")));
    assert_eq!(u.at, "bulletin 1 (line 7)");
    assert_eq!(kinds(u), [Kind::Case, Kind::Incident, Kind::Note]);
    let k = case(u);
    assert_eq!(k.title, "Detention of two lawyers at the central prison");
    assert_eq!(
        k.summary,
        "Two lawyers held without charge for eighteen days."
    );
    assert_eq!(k.tags, ["detention", "lawyers", "hunger strike"]);
    assert_eq!(k.owner, "Field team 2");
    assert_eq!(k.confidentiality, Confidentiality::Confidential);

    // History: versions 1 and 2, oldest first, each with its own content.
    let earlier: Vec<&str> = u.records[0].earlier.iter().map(|r| r.title()).collect();
    assert_eq!(
        earlier,
        ["Detention of a lawyer", "Detention of two lawyers"]
    );
    assert_eq!(u.records[1].earlier.len(), 2);
    assert_eq!(u.records[2].earlier.len(), 2);

    let Record::Incident(i) = &u.records[1].record else {
        panic!("no incident")
    };
    assert_eq!(i.title, k.title);
    assert_eq!(i.start.unwrap().date.to_string(), "2014-03-02");
    assert_eq!(i.end.unwrap().date.to_string(), "2014-03-20");
    assert_eq!(
        i.location.as_ref().unwrap().place,
        "Central prison, Northern district"
    );
    assert!(i.description.starts_with("Both were arrested"));
    assert!(i.act_types.is_empty());

    // The private section is imported, marked as such, about the incident.
    let Record::Note(n) = &u.records[2].record else {
        panic!("no note")
    };
    assert!(n
        .text
        .starts_with("Private details (Martus private section"));
    assert!(n.text.contains("brother saw the arrest & can testify"));
    assert_eq!(n.about, [u.records[1].id]);

    // Custom fields, grids and Martus's own metadata are kept.
    assert_eq!(
        unmapped(u, "Type of violation (violation)"),
        Some("Arbitrary detention")
    );
    assert_eq!(
        unmapped(u, "Victims (victims)"),
        Some(
            "Name: A. Haddad; Minor?: no; Held: 2014-03-02 – 2014-03-20\n\
             Name: S. Haddad; Minor?: yes; Held: 2014-03-02 – 2014-03-05"
        )
    );
    assert_eq!(
        unmapped(u, "Private: Witness contact (witnesscontact)"),
        Some("Contact through the bar association only")
    );
    assert_eq!(unmapped(u, "Language (language)"), Some("en"));
    assert_eq!(
        unmapped(u, "Organization (organization)"),
        Some("Rights Watch Committee")
    );
    assert_eq!(unmapped(u, "Date entered (entrydate)"), Some("2014-03-21"));
    assert_eq!(unmapped(u, "Martus status"), Some("sealed"));
    assert_eq!(unmapped(u, "Martus version"), Some("3"));
    assert_eq!(
        unmapped(u, "Last saved in Martus"),
        Some("2014-04-08T10:00:00+00:00")
    );
    assert_eq!(
        unmapped(u, "Earlier versions in the export"),
        Some(format!("version 1: {V1}\nversion 2: {V2}").as_str())
    );
    // Version 1 had one victim row: what only it said is kept too.
    assert_eq!(
        unmapped(u, "Earlier version: Victims (victims)"),
        Some(
            format!("version 1 ({V1}): Name: A. Haddad; Minor?: no; Held: 2014-03-02 – 2014-03-20")
                .as_str()
        )
    );

    // Attachments beside the XML, the latest version's first, no stated hash.
    let names: Vec<&str> = u.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "witness-statement.txt",
            "medical-report.txt",
            "witness-statement5048312901738210.txt"
        ]
    );
    for f in &u.files {
        assert_eq!(f.case_id, u.records[0].id);
        assert!(f.sha256.is_none() && f.size.is_none());
        assert_eq!(f.original_id, f.name);
        let FileSource::Path(p) = &f.source else {
            panic!("not a path")
        };
        assert!(p.is_file(), "{}", p.display());
    }
    assert_eq!(u.files[0].description, "Martus public attachment");
    assert_eq!(u.files[1].description, "Martus private attachment");
    assert_eq!(
        u.files[2].description,
        "Martus public attachment (version 2)"
    );
}

#[test]
fn draft_with_reusable_choices_and_an_open_ended_event() {
    let c = read("exported/bulletins.xml");
    let u = &c.units[1];
    assert_eq!(u.at, "bulletin 4 (line 481)");
    assert_eq!(kinds(u), [Kind::Case, Kind::Incident]);
    // Nothing private: the organisation's default.
    assert_eq!(case(u).confidentiality, Confidentiality::Restricted);
    let Record::Incident(i) = &u.records[1].record else {
        panic!("no incident")
    };
    assert_eq!(i.start.unwrap().date.to_string(), "2014-06-01");
    assert!(i.end.is_none());
    assert_eq!(
        unmapped(u, "Event date (eventdate)"),
        Some("Range:2014-06-01,0001-01-01: the end is unknown in Martus")
    );
    assert_eq!(
        unmapped(u, "Region (region)"),
        Some("Northern district (N)")
    );
    assert_eq!(
        unmapped(u, "Reported to the police? (reported)"),
        Some("yes")
    );
    assert_eq!(
        unmapped(u, "Instructions (note1)"),
        Some("Do not name minors.")
    );
    assert_eq!(
        unmapped(u, "Follow-up visit (followup)"),
        Some("2014-07-01")
    );
    assert_eq!(unmapped(u, "Martus status"), Some("draft"));
    assert!(unmapped(u, "Earlier versions by other accounts")
        .unwrap()
        .ends_with(": B-Qw8Er5Ty2Ui9Op6As3Df0g--"));
    assert!(u.files.is_empty());
}

#[test]
fn all_private_bulletin_without_date_or_place_has_no_incident() {
    let c = read("exported/bulletins.xml");
    let u = &c.units[2];
    assert_eq!(kinds(u), [Kind::Case, Kind::Note, Kind::Note]);
    assert_eq!(case(u).confidentiality, Confidentiality::Confidential);
    let notes = note_texts(u);
    assert!(notes[0].starts_with("Details (Martus public section"));
    assert!(notes[0].ends_with("Office moved; new contact rota agreed."));
    assert!(notes[1].starts_with("Private details"));
    assert_eq!(
        unmapped(u, "Martus: all private"),
        Some("yes: the whole bulletin was private in Martus")
    );
    assert_eq!(u.files.len(), 1);
    assert_eq!(u.files[0].description, "Martus private attachment");
}

#[test]
fn ids_are_the_same_on_every_read_and_follow_the_first_version() {
    let a = read("exported/bulletins.xml");
    let b = read("exported/bulletins.xml");
    let ids = |c: &Collect| -> Vec<uuid::Uuid> {
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
    let (ia, ib) = (ids(&a), ids(&b));
    assert_eq!(ia, ib);
    let unique: std::collections::HashSet<_> = ia.iter().collect();
    assert_eq!(unique.len(), ia.len(), "ids repeat");

    // The case is named by the bulletin's first version, so a later export of a newer
    // version finds the same case.
    let xml = fs::read_to_string(sample("exported/bulletins.xml")).unwrap();
    let start = xml.find("<AuthorAccountId>").unwrap() + "<AuthorAccountId>".len();
    let end = xml.find("</AuthorAccountId>").unwrap();
    let account = &xml[start..end];
    assert_eq!(
        a.units[0].records[0].id,
        Tool::Martus.id(&format!("bulletin/{account}-{V1}/case"))
    );
    // Links stay inside the unit.
    for u in &a.units {
        let own: Vec<_> = u.records.iter().map(|r| r.id).collect();
        for r in &u.records {
            for (_, to) in r.record.links() {
                assert!(own.contains(&to));
            }
            r.record.validate().unwrap();
        }
    }
}

#[test]
fn martus_test_bulletin_keeps_custom_fields_grids_and_private_data() {
    let c = read("client-import/SampleXmlBulletin.xml");
    assert!(c.problems.is_empty(), "{}", problems_text(&c));
    assert_eq!(c.units.len(), 1);
    let u = &c.units[0];
    // No metadata in this file: the id comes from the content, the same each time.
    assert!(u.original_id.starts_with("sha256:"));
    assert_eq!(
        read("client-import/SampleXmlBulletin.xml").units[0].records[0].id,
        u.records[0].id
    );
    assert_eq!(kinds(u), [Kind::Case, Kind::Incident, Kind::Note]);
    assert_eq!(case(u).title, "import export example");
    assert_eq!(case(u).tags, ["no keywords"]);
    assert_eq!(
        unmapped(u, "Source of bulletin information (BulletinSource)"),
        Some("Personal Interview")
    );
    assert_eq!(
        unmapped(u, "Date(s) of interview(s) (InterviewDates)"),
        Some("1980-02-15 – 1980-05-22")
    );
    assert_eq!(
        unmapped(u, "Does interviewee wish to remain anonymous? (Anonymous)"),
        Some("yes")
    );
    let grid = unmapped(u, "Victim Information (VictimInformationGrid)").unwrap();
    assert_eq!(grid.lines().count(), 3);
    assert!(grid.starts_with(
        "First Name: Dan; Last Name: Brown; Is Identified?: yes; Date of Birth: 1976-01-01; Sex: Male"
    ));
    assert!(
        unmapped(u, "Profession History Table Note (MessageProfession)")
            .unwrap()
            .starts_with("If you have information")
    );
    assert!(note_texts(u)[0].contains("Information we want kept private"));
}

#[test]
fn martus_test_export_of_two_bulletins() {
    let c = read("client-import/SampleXmlTwoBulletins.xml");
    assert!(c.problems.is_empty(), "{}", problems_text(&c));
    let titles: Vec<&str> = c.units.iter().map(|u| case(u).title.as_str()).collect();
    assert_eq!(titles, ["Title Bulletin #1", "Title Bulletin #2"]);
    assert_ne!(c.units[0].records[0].id, c.units[1].records[0].id);
}

#[test]
fn martus_test_attachments_public_and_private() {
    let c = read("client-import/SampleXmlBulletinWithAttachments.xml");
    assert!(c.problems.is_empty(), "{}", problems_text(&c));
    let u = &c.units[0];
    let files: Vec<(&str, &str)> = u
        .files
        .iter()
        .map(|f| (f.name.as_str(), f.description.as_str()))
        .collect();
    assert_eq!(
        files,
        [
            ("$$$Sample Attachment1.txt", "Martus public attachment"),
            ("$$$Sample Attachment2.txt", "Martus public attachment"),
            ("$$$Sample Attachment3.txt", "Martus private attachment"),
            ("$$$Sample Attachment2.txt", "Martus private attachment"),
        ]
    );
    let ids: std::collections::HashSet<_> = u.files.iter().map(|f| f.id).collect();
    assert_eq!(ids.len(), 4);
}

#[test]
fn converter_files_with_a_windows_path_and_escaped_markup() {
    let c = read("csv2xml/testWithAttachments.xml");
    assert!(c.problems.is_empty(), "{}", problems_text(&c));
    assert_eq!(c.units.len(), 3);
    let names: Vec<&str> = c.units[1].files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["Attachment 4.txt", "Attachment 5.txt"]);
    assert_eq!(
        c.units[1].files[1].original_id,
        "C:\\xmltest\\Attachment 5.txt"
    );

    let c = read("csv2xml/text_finalResult.xml");
    assert!(c.problems.is_empty(), "{}", problems_text(&c));
    let u = &c.units[1];
    assert_eq!(case(u).title, "Bulletin <#2>");
    assert_eq!(
        unmapped(
            u,
            "Private: Does interviewee wish to remain anonymous? (anonymous_tag_bottom_section)"
        ),
        Some("no")
    );
    assert!(unmapped(u, "Grid Lable (GridTag)")
        .unwrap()
        .contains("Color Used: <yellow>&<green>"));
}

#[test]
fn truncated_export_is_a_problem_with_its_line() {
    let xml = fs::read_to_string(sample("exported/bulletins.xml")).unwrap();
    let cut = xml.find("Threats against a journalist").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bulletins.xml");
    fs::write(&path, &xml[..cut]).unwrap();
    let c = Collect::read(Tool::Martus, &path);
    let all = problems_text(&c);
    assert!(all.contains("truncated"), "{all}");
    let line = xml[..cut].lines().count();
    assert!(all.contains(&format!("bulletins.xml line {line}")), "{all}");
    assert!(
        all.contains("of bulletin 4 (line 481): the export is truncated"),
        "{all}"
    );
    // Cut inside a tag: the XML reader's own complaint, with the line.
    fs::write(&path, &xml[..cut - 12]).unwrap();
    let c = Collect::read(Tool::Martus, &path);
    assert!(!c.problems.is_empty());
    assert!(c.problems[0].at.contains(" line "), "{}", problems_text(&c));
}

#[test]
fn broken_xml_is_a_problem_at_its_line() {
    let (_dir, path) = edited(|x| x.replacen("</Value>\n</Field>", "</Valu>\n</Field>", 1));
    let c = Collect::read(Tool::Martus, &path);
    let all = problems_text(&c);
    assert_eq!(c.problems.len(), 1, "{all}");
    assert!(all.starts_with("bulletins.xml line 107:"), "{all}");
    assert!(c.units.is_empty());
}

#[test]
fn missing_attachment_is_a_problem_at_its_element() {
    let (_dir, path) = edited(str::to_string);
    let c = Collect::read(Tool::Martus, &path);
    let all = problems_text(&c);
    assert_eq!(c.problems.len(), 4, "{all}");
    assert!(all.contains(
        "bulletin 1 (line 7): <Attachment> line 156: the attachment \"witness-statement.txt\" is missing"
    ), "{all}");
    assert!(all.contains("\"annex.txt\" is missing"), "{all}");
    // The rest is still read.
    assert_eq!(c.units.len(), 3);

    // With the attachments beside it, nothing is wrong.
    with_attachments(path.parent().unwrap());
    let c = Collect::read(Tool::Martus, &path);
    assert!(c.problems.is_empty(), "{}", problems_text(&c));
}

#[test]
fn attachment_martus_could_not_export_is_a_problem() {
    let (dir, path) = edited(|x| {
        x.replacen(
            "<Attachment>\n<Filename>annex.txt</Filename>\n</Attachment>\n",
            "<ErrorExportingAttachment>annex.txt</ErrorExportingAttachment>\n",
            1,
        )
    });
    with_attachments(dir.path());
    let c = Collect::read(Tool::Martus, &path);
    let all = problems_text(&c);
    assert_eq!(c.problems.len(), 1, "{all}");
    assert!(all.contains("bulletin 5 (line 622): <ErrorExportingAttachment>"));
    assert!(all.contains("Martus could not export the attachment \"annex.txt\""));
}

#[test]
fn malformed_date_names_the_bulletin_and_the_field() {
    let (dir, path) = edited(|x| {
        x.replacen(
            "Range:2014-06-01,0001-01-01",
            "Range:2014-06-31,0001-01-01",
            1,
        )
        .replacen("Simple:2014-07-01", "first of July", 1)
    });
    with_attachments(dir.path());
    let c = Collect::read(Tool::Martus, &path);
    let all = problems_text(&c);
    assert_eq!(c.problems.len(), 2, "{all}");
    assert!(c.problems[0]
        .at
        .starts_with("bulletin 4 (line 481): <Field tag=\"eventdate\"> line "));
    assert!(c.problems[0]
        .message
        .contains("Range:2014-06-31,0001-01-01"));
    assert!(c.problems[1]
        .at
        .starts_with("bulletin 4 (line 481): <Field tag=\"followup\">"));
    // The value is kept as written.
    assert_eq!(
        unmapped(&c.units[1], "Follow-up visit (followup)"),
        Some("first of July")
    );
}

#[test]
fn not_xml_and_other_xml_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("cases.csv");
    fs::write(&csv, "title,date\nArrest,2014-03-02\n").unwrap();
    let c = Collect::read(Tool::Martus, &csv);
    assert_eq!(c.problems.len(), 1);
    assert!(c.problems[0].message.starts_with("not an XML file"));
    assert!(c.units.is_empty());

    let bin = dir.path().join("photo.xml");
    fs::write(&bin, [0x89, b'P', b'N', b'G', 0, 0xff, 0xfe, b'<']).unwrap();
    let c = Collect::read(Tool::Martus, &bin);
    assert!(!c.problems.is_empty());
    assert!(c.units.is_empty());

    let other = dir.path().join("form.xml");
    fs::write(&other, "<?xml version='1.0'?>\n<data><a>1</a></data>\n").unwrap();
    let c = Collect::read(Tool::Martus, &other);
    assert_eq!(
        problems_text(&c),
        "form.xml line 2: not a Martus bulletin export: it begins with <data>, not <MartusBulletins>"
    );

    let c = Collect::read(Tool::Martus, &dir.path().join("absent.xml"));
    assert!(c.problems[0].message.starts_with("cannot open the export"));
}

#[test]
fn empty_file_and_export_without_bulletins() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.xml");
    fs::write(&empty, "").unwrap();
    let c = Collect::read(Tool::Martus, &empty);
    assert_eq!(c.problems.len(), 1);
    assert!(c.problems[0].message.starts_with("the file is empty"));

    let none = dir.path().join("none.xml");
    fs::write(
        &none,
        "<MartusBulletins>\n<MartusBulletinExportFormatVersion>3</MartusBulletinExportFormatVersion>\n\
         <ExportMetaData>\n<!--  No Private FieldSpecs or Data was exported  -->\n\
         <PublicDataOnly></PublicDataOnly>\n</ExportMetaData>\n\n</MartusBulletins>\n",
    )
    .unwrap();
    let c = Collect::read(Tool::Martus, &none);
    assert!(c.units.is_empty());
    assert_eq!(c.problems.len(), 1);
    assert!(c.problems[0]
        .message
        .starts_with("the export holds no bulletins (Martus leaves out all-private"));
}

#[test]
fn public_only_export_says_so_in_every_unit() {
    let (dir, path) = edited(|x| {
        x.replace(
            "<PublicAndPrivateData></PublicAndPrivateData>",
            "<PublicDataOnly></PublicDataOnly>\n<NoAttachmentsExported></NoAttachmentsExported>",
        )
    });
    with_attachments(dir.path());
    let c = Collect::read(Tool::Martus, &path);
    for u in &c.units {
        assert_eq!(
            unmapped(u, "Martus export"),
            Some("public data only: the private section was not exported")
        );
        assert!(unmapped(u, "Martus export attachments").is_some());
    }
}

#[test]
fn a_version_apart_from_its_bulletin_is_a_problem() {
    // Bulletin 2 (version 1 of the first) moved after the journalist's bulletin.
    let (dir, path) = edited(|x| {
        let start = x.find(&format!("<BulletinLocalId>{V1}")).unwrap();
        let start = x[..start].rfind("<MartusBulletin>").unwrap();
        let end = start + x[start..].find("</MartusBulletin>\n\n").unwrap() + 19;
        let block = &x[start..end];
        let rest = format!("{}{}", &x[..start], &x[end..]);
        rest.replacen(
            "</MartusBulletins>",
            &format!("{block}</MartusBulletins>"),
            1,
        )
    });
    with_attachments(dir.path());
    let c = Collect::read(Tool::Martus, &path);
    let all = problems_text(&c);
    assert_eq!(c.problems.len(), 1, "{all}");
    assert!(all.contains("appears apart from the others"), "{all}");
    assert_eq!(c.units.len(), 3);
    assert_eq!(c.units[0].records[0].earlier.len(), 1);
}

#[test]
fn progress_reaches_the_end_and_a_refusal_stops_the_reader() {
    let c = read("exported/bulletins.xml");
    let size = fs::metadata(sample("exported/bulletins.xml"))
        .unwrap()
        .len();
    assert_eq!(c.progress, (size, size));

    struct Refuse(usize);
    impl Sink for Refuse {
        fn unit(&mut self, _: Unit) -> Result<(), Stopped> {
            self.0 += 1;
            Err(Stopped)
        }
        fn problem(&mut self, _: Problem) {}
        fn progress(&mut self, _: u64, _: u64) {}
    }
    let mut r = Refuse(0);
    assert_eq!(
        Tool::Martus.read(&sample("exported/bulletins.xml"), &mut r),
        Err(Stopped)
    );
    assert_eq!(r.0, 1);
}

#[test]
fn what_an_earlier_version_alone_had_is_kept() {
    // Version 1 without event date and location: it had no incident, its details and
    // its private text went elsewhere; the latest has no private text.
    let (dir, path) = edited(|x| {
        let start = x.find(&format!("<BulletinLocalId>{V1}")).unwrap();
        let end = start + x[start..].find("</MartusBulletin>").unwrap();
        let v1 = x[start..end]
            .replace("Range:2014-03-02,2014-03-20", "")
            .replace("Central prison, Northern district", "");
        let head = x[..start].replacen(
            "The second lawyer's brother saw the arrest &amp; can testify.",
            "",
            1,
        );
        format!("{head}{v1}{}", &x[end..])
    });
    with_attachments(dir.path());
    let c = Collect::read(Tool::Martus, &path);
    assert!(c.problems.is_empty(), "{}", problems_text(&c));
    let u = &c.units[0];
    assert_eq!(kinds(u), [Kind::Case, Kind::Incident]);
    // The incident's history holds version 2 only.
    assert_eq!(u.records[1].earlier.len(), 1);
    assert_eq!(
        unmapped(u, "Earlier version: Details (publicinfo)"),
        Some(format!("version 1 ({V1}): Arrested leaving the court house.").as_str())
    );
    let private: Vec<&str> = u
        .unmapped
        .iter()
        .filter(|f| f.name == "Earlier version: Private: Private details (privateinfo)")
        .map(|f| f.value.as_str())
        .collect();
    assert_eq!(
        private,
        [
            format!("version 1 ({V1}): Brother saw the arrest."),
            format!("version 2 ({V2}): Brother saw the arrest & can testify.")
        ]
    );
}

#[test]
fn the_same_bulletin_twice_without_metadata_gets_two_ids() {
    let dir = tempfile::tempdir().unwrap();
    let xml = fs::read_to_string(sample("client-import/SampleXmlBulletin.xml")).unwrap();
    let start = xml.find("<MartusBulletin>").unwrap();
    let end = xml.find("</MartusBulletins>").unwrap();
    let twice = format!("{}{}", &xml[..end], &xml[start..]);
    let path = dir.path().join("twice.xml");
    fs::write(&path, twice).unwrap();
    let c = Collect::read(Tool::Martus, &path);
    assert!(c.problems.is_empty(), "{}", problems_text(&c));
    assert_eq!(c.units.len(), 2);
    assert_ne!(c.units[0].records[0].id, c.units[1].records[0].id);
    assert_eq!(
        c.units[1].original_id,
        format!("{}#2", c.units[0].original_id)
    );
}
