//! The case model, v1.
//!
//! Shaped on the HURIDOCS Events Standard Formats (event, act, person, involvement,
//! intervention) but kept small enough to fill in at a checkpoint:
//!
//! - [`Case`]: the file a documenter opens — title, summary, status, tags,
//!   confidentiality, owner.
//! - [`Incident`]: an event — dates with precision, location, description, act types
//!   (codes of the `act_types` vocabulary, each mapped to instrument articles), and the
//!   persons involved with their role in *this* incident.
//! - [`Person`]: a victim, perpetrator, witness, source or intervening party — or a group;
//!   with per-use consent (may the name go to the government? into public reports?).
//! - [`Intervention`]: an appeal to a protection mechanism and its outcome.
//! - [`Note`]: free text about any records.
//! - [`Evidence`]: a file kept encrypted in the vault (photo, video, scan, audio), with
//!   its hash; its content never changes, and working copies are separate items linked
//!   to their original.
//!
//! Links are record ids. Every stored version carries `schema_version`; see
//! `docs/data-model.md` for how a future schema upgrades old versions on read.
//!
//! This crate does no I/O and holds no key: [`hlc`] is the clock that orders versions,
//! [`vocab`] the controlled vocabularies (data files in `vocab/`), [`languages`] the
//! languages of the app (one list for all its parts), [`passphrase`] the
//! strength check every new passphrase passes. The vault (`custos-vault`) stores these
//! records; nothing here knows how.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod hlc;
pub mod languages;
pub mod passphrase;
pub mod schema;
pub mod vocab;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::Zeroize;

use crate::hlc::Hlc;

/// The schema this build writes. Older versions are upgraded on read
/// (by the vault); newer ones are refused with a clear error.
pub const SCHEMA_VERSION: u32 = 1;

/// What kind of record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A case file.
    Case,
    /// An incident (event).
    Incident,
    /// A person or group.
    Person,
    /// An appeal to a protection mechanism.
    Intervention,
    /// A note.
    Note,
    /// An evidence item (an encrypted file).
    Evidence,
}

impl Kind {
    /// Every kind, in display order.
    pub const ALL: [Kind; 6] = [
        Kind::Case,
        Kind::Incident,
        Kind::Person,
        Kind::Intervention,
        Kind::Note,
        Kind::Evidence,
    ];

    /// The kind's name as stored (`case`, `incident` …).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Case => "case",
            Kind::Incident => "incident",
            Kind::Person => "person",
            Kind::Intervention => "intervention",
            Kind::Note => "note",
            Kind::Evidence => "evidence",
        }
    }
}

impl std::str::FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown record kind '{s}' (case, incident, person, intervention, note, evidence)"
                )
            })
    }
}

/// The content of one record version.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    /// A case file.
    Case(Case),
    /// An incident.
    Incident(Incident),
    /// A person or group.
    Person(Person),
    /// An intervention.
    Intervention(Intervention),
    /// A note.
    Note(Note),
    /// An evidence item.
    Evidence(Evidence),
}

// Reading a record: `kind` comes first in everything this crate writes (serde writes an
// internal tag first), so the fields that follow are read straight into the kind's
// struct. Only a record whose `kind` is not its first field (written by hand, another
// tool) takes the general path: every field buffered, then read by the derived form.
impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(RecordVisitor)
    }
}

/// The general form of [`Record`]'s JSON: the same shape, derived by serde.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum TaggedRecord {
    Case(Case),
    Incident(Incident),
    Person(Person),
    Intervention(Intervention),
    Note(Note),
    Evidence(Evidence),
}

impl From<TaggedRecord> for Record {
    fn from(t: TaggedRecord) -> Record {
        match t {
            TaggedRecord::Case(r) => Record::Case(r),
            TaggedRecord::Incident(r) => Record::Incident(r),
            TaggedRecord::Person(r) => Record::Person(r),
            TaggedRecord::Intervention(r) => Record::Intervention(r),
            TaggedRecord::Note(r) => Record::Note(r),
            TaggedRecord::Evidence(r) => Record::Evidence(r),
        }
    }
}

struct RecordVisitor;

impl<'de> serde::de::Visitor<'de> for RecordVisitor {
    type Value = Record;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a record (an object with a `kind`)")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Record, A::Error> {
        use serde::de::value::MapAccessDeserializer;
        use serde::de::Error as _;
        let Some(first) = map.next_key::<String>()? else {
            return Err(A::Error::missing_field("kind"));
        };
        if first == "kind" {
            let kind: Kind = map.next_value()?;
            let rest = MapAccessDeserializer::new(map);
            return Ok(match kind {
                Kind::Case => Record::Case(Case::deserialize(rest)?),
                Kind::Incident => Record::Incident(Incident::deserialize(rest)?),
                Kind::Person => Record::Person(Person::deserialize(rest)?),
                Kind::Intervention => Record::Intervention(Intervention::deserialize(rest)?),
                Kind::Note => Record::Note(Note::deserialize(rest)?),
                Kind::Evidence => Record::Evidence(Evidence::deserialize(rest)?),
            });
        }
        let mut fields = serde_json::Map::new();
        fields.insert(first, map.next_value()?);
        while let Some(k) = map.next_key::<String>()? {
            let v: serde_json::Value = map.next_value()?;
            fields.insert(k, v);
        }
        TaggedRecord::deserialize(serde_json::Value::Object(fields))
            .map(Record::from)
            .map_err(A::Error::custom)
    }
}

impl Record {
    /// The record's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Record::Case(_) => Kind::Case,
            Record::Incident(_) => Kind::Incident,
            Record::Person(_) => Kind::Person,
            Record::Intervention(_) => Kind::Intervention,
            Record::Note(_) => Kind::Note,
            Record::Evidence(_) => Kind::Evidence,
        }
    }

    /// The case this record belongs to (a case belongs to itself: `None`).
    pub fn case_id(&self) -> Option<Uuid> {
        match self {
            Record::Case(_) => None,
            Record::Incident(r) => Some(r.case_id),
            Record::Person(r) => Some(r.case_id),
            Record::Intervention(r) => Some(r.case_id),
            Record::Note(r) => Some(r.case_id),
            Record::Evidence(r) => Some(r.case_id),
        }
    }

    /// The line a list shows for this record.
    pub fn title(&self) -> &str {
        match self {
            Record::Case(r) => &r.title,
            Record::Incident(r) => &r.title,
            Record::Person(r) => &r.name,
            Record::Intervention(r) => &r.title,
            Record::Note(r) => r.text.lines().next().unwrap_or(""),
            Record::Evidence(r) if r.description.trim().is_empty() => &r.file_name,
            Record::Evidence(r) => r.description.lines().next().unwrap_or(""),
        }
    }

    /// Every record id this record links to, with the field it is named in.
    pub fn links(&self) -> Vec<(&'static str, Uuid)> {
        let mut out = Vec::new();
        if let Some(c) = self.case_id() {
            out.push(("case_id", c));
        }
        match self {
            Record::Incident(r) => {
                out.extend(r.persons.iter().map(|p| ("persons", p.person_id)));
                out.extend(r.related.iter().map(|i| ("related", *i)));
            }
            Record::Intervention(r) => {
                out.extend(r.incident_ids.iter().map(|i| ("incident_ids", *i)));
                out.extend(r.person_ids.iter().map(|i| ("person_ids", *i)));
            }
            Record::Note(r) => out.extend(r.about.iter().map(|i| ("about", *i))),
            Record::Evidence(r) => {
                out.extend(r.attached_to.iter().map(|i| ("attached_to", *i)));
                out.extend(r.derived_from.iter().map(|i| ("derived_from", *i)));
            }
            Record::Case(_) | Record::Person(_) => {}
        }
        out
    }

    /// Checks what serde cannot: required text present, dates in order.
    pub fn validate(&self) -> Result<(), String> {
        fn required(field: &str, v: &str) -> Result<(), String> {
            if v.trim().is_empty() {
                Err(format!("{field} is required"))
            } else {
                Ok(())
            }
        }
        match self {
            Record::Case(r) => required("title", &r.title),
            Record::Incident(r) => {
                required("title", &r.title)?;
                if let (Some(s), Some(e)) = (&r.start, &r.end) {
                    if e.date < s.date {
                        return Err("end date is before start date".into());
                    }
                }
                if let Some(loc) = &r.location {
                    loc.validate()?;
                }
                Ok(())
            }
            Record::Person(r) => {
                required("name", &r.name)?;
                if !r.is_group && r.group_size.is_some() {
                    return Err("group_size is only for a group".into());
                }
                Ok(())
            }
            Record::Intervention(r) => required("title", &r.title),
            Record::Note(r) => required("text", &r.text),
            Record::Evidence(r) => {
                required("file_name", &r.file_name)?;
                for (field, hash) in [("sha256", &r.sha256), ("blob_sha256", &r.blob_sha256)] {
                    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(format!("{field}: not a SHA-256 in hex"));
                    }
                }
                Ok(())
            }
        }
    }
}

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Being documented.
    #[default]
    Open,
    /// Documented; being followed.
    Monitoring,
    /// Finished.
    Closed,
}

/// Who may see a record (HURIDOCS "confidentiality").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidentiality {
    /// May be published.
    Public,
    /// The organisation only.
    #[default]
    Restricted,
    /// Named people only.
    Confidential,
}

/// A case file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Zeroize)]
#[serde(default)]
pub struct Case {
    /// Short title.
    pub title: String,
    /// What happened, in a few sentences.
    pub summary: String,
    /// Where the case stands.
    #[zeroize(skip)]
    pub status: CaseStatus,
    /// Free tags.
    pub tags: Vec<String>,
    /// Who may see it.
    #[zeroize(skip)]
    pub confidentiality: Confidentiality,
    /// The documenter responsible.
    pub owner: String,
}

/// How precise a date is (HURIDOCS: exact, approximate, unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// The day is known.
    #[default]
    Day,
    /// Only the month is known (the day is the 1st).
    Month,
    /// Only the year is known (the date is 1 January).
    Year,
    /// Around that date.
    Approximate,
}

/// A date with its precision. An unknown date is simply absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FuzzyDate {
    /// The date (first day of the month or year when less precise).
    pub date: NaiveDate,
    /// How precise it is.
    #[serde(default)]
    pub precision: Precision,
}

/// A place.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Zeroize)]
#[serde(default)]
pub struct Location {
    /// Place name as the documenter would write it (village, street, prison …).
    pub place: String,
    /// Region or province.
    pub region: String,
    /// Country, ISO 3166-1 alpha-2 where known.
    pub country: String,
    /// Latitude, WGS 84.
    pub lat: Option<f64>,
    /// Longitude, WGS 84.
    pub lon: Option<f64>,
}

impl Location {
    fn validate(&self) -> Result<(), String> {
        if let Some(lat) = self.lat {
            if !(-90.0..=90.0).contains(&lat) {
                return Err("latitude must be between -90 and 90".into());
            }
        }
        if let Some(lon) = self.lon {
            if !(-180.0..=180.0).contains(&lon) {
                return Err("longitude must be between -180 and 180".into());
            }
        }
        Ok(())
    }
}

/// A person's part in an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Suffered the act.
    Victim,
    /// Carried it out or ordered it.
    Perpetrator,
    /// Saw it.
    Witness,
    /// Gave information about it.
    Source,
    /// Acted on the victim's behalf (lawyer, NGO, family).
    InterveningParty,
}

/// A person's involvement in an incident (HURIDOCS "involvement").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Involvement {
    /// The person.
    pub person_id: Uuid,
    /// Their role in this incident.
    pub role: Role,
}

/// An incident (HURIDOCS "event", with its acts folded in).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Zeroize)]
pub struct Incident {
    /// The case it belongs to.
    #[zeroize(skip)]
    pub case_id: Uuid,
    /// Short title.
    #[serde(default)]
    pub title: String,
    /// What happened.
    #[serde(default)]
    pub description: String,
    /// When it started (absent: unknown).
    #[serde(default)]
    #[zeroize(skip)]
    pub start: Option<FuzzyDate>,
    /// When it ended (absent: unknown or same as start).
    #[serde(default)]
    #[zeroize(skip)]
    pub end: Option<FuzzyDate>,
    /// Where.
    #[serde(default)]
    pub location: Option<Location>,
    /// Codes from the `act_types` vocabulary.
    #[serde(default)]
    pub act_types: Vec<String>,
    /// Who was involved, and how.
    #[serde(default)]
    #[zeroize(skip)]
    pub persons: Vec<Involvement>,
    /// Other incidents this one is linked to (a chain of events).
    #[serde(default)]
    #[zeroize(skip)]
    pub related: Vec<Uuid>,
    /// Consequences for the victims and the community.
    #[serde(default)]
    pub impact: String,
}

/// Whether a person agreed to one use of their name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Consent {
    /// Not asked yet: treated as refused.
    #[default]
    NotAsked,
    /// Agreed.
    Given,
    /// Refused.
    Refused,
}

/// Per-use consents: to be named to the government, in public reports, and to each
/// protection mechanism a submission goes to. A submission names a person only when
/// every use it makes of the name is given (see `custos-report`'s submissions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Consents {
    /// May the name be shared with the government concerned?
    pub share_with_government: Consent,
    /// May the name appear in public reports?
    pub publish: Consent,
    /// May the name go to the UN Special Rapporteur on human rights defenders?
    pub un_sr_hrd: Consent,
    /// May the name go to the Observatory for the Protection of Human Rights Defenders
    /// (OMCT and FIDH)?
    pub omct_fidh_observatory: Consent,
    /// May the name go to an EU mission or delegation?
    pub eu_delegation: Consent,
    /// May the name go to the African Commission's Special Rapporteur on human rights
    /// defenders?
    pub achpr_sr_hrd: Consent,
    /// May the name go to the Inter-American Commission on Human Rights?
    pub iachr_hrd_unit: Consent,
}

impl Consents {
    /// The mechanisms a person can consent to be named to, by their `mechanisms`
    /// vocabulary code, in the order forms show them.
    pub const MECHANISMS: [&'static str; 5] = [
        "un_sr_hrd",
        "omct_fidh_observatory",
        "eu_delegation",
        "achpr_sr_hrd",
        "iachr_hrd_unit",
    ];

    /// The consent to be named to a mechanism (`None`: no consent is kept for it).
    pub fn mechanism(&self, code: &str) -> Option<Consent> {
        match code {
            "un_sr_hrd" => Some(self.un_sr_hrd),
            "omct_fidh_observatory" => Some(self.omct_fidh_observatory),
            "eu_delegation" => Some(self.eu_delegation),
            "achpr_sr_hrd" => Some(self.achpr_sr_hrd),
            "iachr_hrd_unit" => Some(self.iachr_hrd_unit),
            _ => None,
        }
    }

    /// Sets the consent to be named to a mechanism; false for a code without one.
    pub fn set_mechanism(&mut self, code: &str, consent: Consent) -> bool {
        let slot = match code {
            "un_sr_hrd" => &mut self.un_sr_hrd,
            "omct_fidh_observatory" => &mut self.omct_fidh_observatory,
            "eu_delegation" => &mut self.eu_delegation,
            "achpr_sr_hrd" => &mut self.achpr_sr_hrd,
            "iachr_hrd_unit" => &mut self.iachr_hrd_unit,
            _ => return false,
        };
        *slot = consent;
        true
    }
}

/// A person, or a group of people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Zeroize)]
pub struct Person {
    /// The case they appear in.
    #[zeroize(skip)]
    pub case_id: Uuid,
    /// Name (or the group's name).
    #[serde(default)]
    pub name: String,
    /// Other names, aliases, transliterations.
    #[serde(default)]
    pub other_names: Vec<String>,
    /// Their roles in the case.
    #[serde(default)]
    #[zeroize(skip)]
    pub roles: Vec<Role>,
    /// True for a group (a union, a village, an organisation).
    #[serde(default)]
    pub is_group: bool,
    /// How many people, for a group.
    #[serde(default)]
    pub group_size: Option<u32>,
    /// Sex or gender, as the person describes it.
    #[serde(default)]
    pub sex: String,
    /// Date of birth.
    #[serde(default)]
    #[zeroize(skip)]
    pub birth_date: Option<FuzzyDate>,
    /// Occupation or profession.
    #[serde(default)]
    pub occupation: String,
    /// Organisation they belong to.
    #[serde(default)]
    pub organisation: String,
    /// The human rights work they do (a UN submission asks for it).
    #[serde(default)]
    pub human_rights_work: String,
    /// Where they live.
    #[serde(default)]
    pub residence: String,
    /// Citizenship.
    #[serde(default)]
    pub citizenship: String,
    /// Consent for each use of their name.
    #[serde(default)]
    #[zeroize(skip)]
    pub consent: Consents,
    /// How to reach them safely (kept encrypted like everything else).
    #[serde(default)]
    pub contact: String,
}

/// The kind of communication sent to a mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InterventionType {
    /// For ongoing or imminent violations.
    UrgentAppeal,
    /// For violations that already happened.
    AllegationLetter,
    /// Anything else (a complaint, a court case, a letter).
    #[default]
    Other,
}

/// Where an intervention stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InterventionStatus {
    /// Being written.
    #[default]
    Draft,
    /// Sent, no answer yet.
    Sent,
    /// The mechanism acknowledged it.
    Acknowledged,
    /// An answer came back.
    Responded,
    /// Finished.
    Closed,
}

/// An appeal to a protection mechanism (HURIDOCS "intervention").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Zeroize)]
pub struct Intervention {
    /// The case it is about.
    #[zeroize(skip)]
    pub case_id: Uuid,
    /// Short title.
    #[serde(default)]
    pub title: String,
    /// Code from the `mechanisms` vocabulary.
    #[serde(default)]
    pub mechanism: String,
    /// Urgent appeal, allegation letter or other.
    #[serde(default, rename = "type")]
    #[zeroize(skip)]
    pub kind: InterventionType,
    /// When it was sent.
    #[serde(default)]
    #[zeroize(skip)]
    pub date: Option<NaiveDate>,
    /// Where it stands.
    #[serde(default)]
    #[zeroize(skip)]
    pub status: InterventionStatus,
    /// The mechanism's reference number.
    #[serde(default)]
    pub reference: String,
    /// What the mechanism or the state answered.
    #[serde(default)]
    pub response: String,
    /// Incidents it concerns.
    #[serde(default)]
    #[zeroize(skip)]
    pub incident_ids: Vec<Uuid>,
    /// Persons on whose behalf it was sent.
    #[serde(default)]
    #[zeroize(skip)]
    pub person_ids: Vec<Uuid>,
    /// How it was sent (e-mail, the mechanism's web form, post, in person, a partner).
    #[serde(default)]
    pub channel: String,
    /// When to follow it up next (absent: no follow-up planned).
    #[serde(default)]
    #[zeroize(skip)]
    pub follow_up: Option<NaiveDate>,
    /// The language it is written in (`en`, `fr` …), for a submission Custos prepared.
    #[serde(default)]
    pub language: String,
    /// The answers of the submission's form, kept with the case so that the next
    /// export of the same submission starts from them.
    #[serde(default)]
    pub form: Vec<FormField>,
}

impl Intervention {
    /// Sent and not yet answered: sent or acknowledged.
    pub fn awaiting_response(&self) -> bool {
        matches!(
            self.status,
            InterventionStatus::Sent | InterventionStatus::Acknowledged
        )
    }

    /// Its follow-up date has come (on or before `today`) and it is not closed.
    pub fn follow_up_due(&self, today: NaiveDate) -> bool {
        self.status != InterventionStatus::Closed && self.follow_up.is_some_and(|d| d <= today)
    }

    /// The answer the form holds for `key` (empty when none).
    pub fn form_value(&self, key: &str) -> &str {
        self.form
            .iter()
            .find(|f| f.key == key)
            .map_or("", |f| f.value.as_str())
    }
}

/// One answer of a submission's form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize)]
pub struct FormField {
    /// The question (`current_risk`, `action_requested` …).
    pub key: String,
    /// The answer.
    #[serde(default)]
    pub value: String,
}

/// Free text about a case and any of its records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Zeroize)]
pub struct Note {
    /// The case.
    #[zeroize(skip)]
    pub case_id: Uuid,
    /// The text.
    #[serde(default)]
    pub text: String,
    /// Records it is about.
    #[serde(default)]
    #[zeroize(skip)]
    pub about: Vec<Uuid>,
}

/// An evidence item: a file kept encrypted in the vault's `blobs/` folder (a standard
/// age file), and what is known of it. Everything but `description` and `attached_to`
/// is fixed at import: the vault refuses an edit that changes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Zeroize)]
pub struct Evidence {
    /// The case.
    #[zeroize(skip)]
    pub case_id: Uuid,
    /// Records of the case it documents (incidents, persons …); empty: the case itself.
    #[serde(default)]
    #[zeroize(skip)]
    pub attached_to: Vec<Uuid>,
    /// What it shows.
    #[serde(default)]
    pub description: String,
    /// The file's name when it was imported.
    pub file_name: String,
    /// The media type detected from the content (not from the name).
    pub media_type: String,
    /// Size in bytes.
    #[zeroize(skip)]
    pub size: u64,
    /// SHA-256 of the content, in hex.
    pub sha256: String,
    /// The encrypted file: `blobs/<blob_id>.age`.
    #[zeroize(skip)]
    pub blob_id: Uuid,
    /// SHA-256 of that encrypted file, in hex (tells an altered blob from a changed
    /// content without decrypting).
    pub blob_sha256: String,
    /// When the file was last modified, as its file system said at import.
    #[serde(default)]
    #[zeroize(skip)]
    pub file_modified: Option<DateTime<Utc>>,
    /// When the file was created, where the file system records it.
    #[serde(default)]
    #[zeroize(skip)]
    pub file_created: Option<DateTime<Utc>>,
    /// When it was imported.
    #[zeroize(skip)]
    pub imported_at: DateTime<Utc>,
    /// The device that imported it.
    #[zeroize(skip)]
    pub imported_by: Uuid,
    /// For a working copy (a redacted image, a transcript, a clip): its original.
    #[serde(default)]
    #[zeroize(skip)]
    pub derived_from: Option<Uuid>,
}

impl Evidence {
    /// The fields an edit may change; everything else is the import's record.
    pub fn same_import(&self, other: &Evidence) -> bool {
        let fixed = |e: &Evidence| {
            let mut e = e.clone();
            e.description.clear();
            e.attached_to.clear();
            e
        };
        fixed(self) == fixed(other)
    }
}

impl Zeroize for Record {
    fn zeroize(&mut self) {
        match self {
            Record::Case(r) => r.zeroize(),
            Record::Incident(r) => r.zeroize(),
            Record::Person(r) => r.zeroize(),
            Record::Intervention(r) => r.zeroize(),
            Record::Note(r) => r.zeroize(),
            Record::Evidence(r) => r.zeroize(),
        }
    }
}

/// A field that could not be read from JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the field (`consent.publish`, `persons[0].role`), empty for the whole.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl Record {
    /// Reads a record from JSON (`{"kind": "case", …}`), naming the exact field of any
    /// problem — including fields this model does not have (a typo is not ignored).
    pub fn from_json(value: serde_json::Value) -> Result<Record, FieldError> {
        let err = |path: &str, message: String| FieldError {
            path: path.into(),
            message,
        };
        let serde_json::Value::Object(mut fields) = value else {
            return Err(err("", "a record must be a JSON object".into()));
        };
        let kind: Kind = match fields.remove("kind") {
            Some(serde_json::Value::String(k)) => k.parse().map_err(|m| err("kind", m))?,
            _ => {
                return Err(err(
                    "kind",
                    "missing: case, incident, person, intervention, note or evidence".into(),
                ))
            }
        };
        let value = serde_json::Value::Object(fields);
        fn read<T>(value: &serde_json::Value) -> Result<T, FieldError>
        where
            T: serde::de::DeserializeOwned + Serialize,
        {
            let t: T = serde_path_to_error::deserialize(value).map_err(|e| FieldError {
                path: match e.path().to_string() {
                    p if p == "." => String::new(),
                    p => p,
                },
                message: e.into_inner().to_string(),
            })?;
            let back = serde_json::to_value(&t).map_err(|e| FieldError {
                path: String::new(),
                message: e.to_string(),
            })?;
            match unknown_field(value, &back, String::new()) {
                Some(path) => Err(FieldError {
                    path,
                    message: "no such field".into(),
                }),
                None => Ok(t),
            }
        }
        Ok(match kind {
            Kind::Case => Record::Case(read(&value)?),
            Kind::Incident => Record::Incident(read(&value)?),
            Kind::Person => Record::Person(read(&value)?),
            Kind::Intervention => Record::Intervention(read(&value)?),
            Kind::Note => Record::Note(read(&value)?),
            Kind::Evidence => Record::Evidence(read(&value)?),
        })
    }
}

/// The first key of `given` (recursively) that `parsed` does not have.
fn unknown_field(
    given: &serde_json::Value,
    parsed: &serde_json::Value,
    at: String,
) -> Option<String> {
    use serde_json::Value::{Array, Object};
    let join = |k: &str| {
        if at.is_empty() {
            k.to_owned()
        } else {
            format!("{at}.{k}")
        }
    };
    match (given, parsed) {
        (Object(g), Object(p)) => g.iter().find_map(|(k, gv)| match p.get(k) {
            None => Some(join(k)),
            Some(pv) => unknown_field(gv, pv, join(k)),
        }),
        (Array(g), Array(p)) => g
            .iter()
            .zip(p)
            .enumerate()
            .find_map(|(i, (gv, pv))| unknown_field(gv, pv, format!("{at}[{i}]"))),
        _ => None,
    }
}

/// What a version holds: content, or the mark that the record was deleted.
// Tombstones are rare and versions are handled a few at a time: boxing the record
// would cost an allocation per version for no gain.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Body {
    /// The record's content at this version.
    Record(Record),
    /// The record was deleted here. Earlier versions stay readable.
    Tombstone,
}

/// One immutable version of a record: what is serialized, signed and encrypted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Version {
    /// Schema of this value.
    pub schema_version: u32,
    /// The record.
    pub record_id: Uuid,
    /// This version (also the storage key).
    pub version_id: Uuid,
    /// The record's kind (kept for tombstones too).
    pub kind: Kind,
    /// The versions this one replaces (empty for the first; two or more for a merge).
    pub parents: Vec<Uuid>,
    /// When, as a hybrid logical clock.
    pub hlc: Hlc,
    /// The device that wrote it.
    pub device: Uuid,
    /// The age recipients (`age1…`) it is encrypted to, once the vault syncs with a hub:
    /// the writing vault, the organisation's coordinators and the vault of the field
    /// worker the record belongs to, as the roster lists them. Empty: the writing vault
    /// only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audience: Vec<String>,
    /// Its place among every version its device wrote: a coordinator's vault notices a
    /// version missing before a later one (a hub withholding it). None in versions
    /// written before devices numbered them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<Chain>,
    /// The content.
    pub body: Body,
}

/// A version's place in its device's sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Chain {
    /// 1 for the device's first version, then one more for each.
    pub seq: u64,
    /// The id of the device's previous version (none for its first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev: Option<Uuid>,
}

impl Drop for Version {
    fn drop(&mut self) {
        if let Body::Record(r) = &mut self.body {
            r.zeroize();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record reads the same whatever the place of its `kind` (first: the direct path;
    /// elsewhere: the derived one), and a record without a known kind is refused.
    #[test]
    fn a_record_reads_the_same_with_its_kind_anywhere() {
        let first = br#"{"kind":"incident","title":"T","case_id":"00000000-0000-0000-0000-000000000000","act_types":["torture"],"start":{"date":"2024-01-02","precision":"day"}}"#;
        let middle = br#"{"title":"T","case_id":"00000000-0000-0000-0000-000000000000","kind":"incident","act_types":["torture"],"start":{"date":"2024-01-02","precision":"day"}}"#;
        let last = br#"{"title":"T","case_id":"00000000-0000-0000-0000-000000000000","act_types":["torture"],"start":{"date":"2024-01-02","precision":"day"},"kind":"incident"}"#;
        let a: Record = serde_json::from_slice(first).unwrap();
        assert_eq!(a.kind(), Kind::Incident);
        assert_eq!(a.title(), "T");
        for other in [&middle[..], &last[..]] {
            assert_eq!(serde_json::from_slice::<Record>(other).unwrap(), a);
        }
        // What serde writes puts the kind first, and reads back equal.
        let written = serde_json::to_vec(&a).unwrap();
        assert!(written.starts_with(br#"{"kind":"incident""#));
        assert_eq!(serde_json::from_slice::<Record>(&written).unwrap(), a);
        // Inside a version's body too.
        let body: Body =
            serde_json::from_slice(&[&br#"{"record":"#[..], first, b"}"].concat()).unwrap();
        assert_eq!(body, Body::Record(a));

        for bad in [
            &br#"{"title":"T"}"#[..],
            br#"{}"#,
            br#"{"kind":"meeting","title":"T"}"#,
            br#"{"title":"T","kind":"meeting"}"#,
            br#"{"kind":7}"#,
            br#"{"kind":"case","title":7}"#,
            br#"{"title":7,"kind":"case"}"#,
            br#"["case"]"#,
        ] {
            assert!(
                serde_json::from_slice::<Record>(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    /// A person and an intervention as the version before per-mechanism consent and
    /// follow-up wrote them still read: every new consent is "not asked" (so no
    /// submission names them until asked), and there is no follow-up.
    #[test]
    fn records_written_before_consent_per_mechanism_read_as_not_asked() {
        let person: Record = serde_json::from_value(serde_json::json!({
            "kind": "person", "name": "A", "case_id": Uuid::nil(),
            "consent": {"share_with_government": "given", "publish": "given"}
        }))
        .unwrap();
        let Record::Person(p) = person else { panic!() };
        assert_eq!(p.consent.share_with_government, Consent::Given);
        for code in Consents::MECHANISMS {
            assert_eq!(p.consent.mechanism(code), Some(Consent::NotAsked), "{code}");
        }
        let old: Record = serde_json::from_value(serde_json::json!({
            "kind": "intervention", "title": "T", "case_id": Uuid::nil(),
            "status": "sent", "date": "2026-01-02"
        }))
        .unwrap();
        let Record::Intervention(i) = old else {
            panic!()
        };
        assert!(i.follow_up.is_none() && i.form.is_empty() && i.channel.is_empty());
        assert!(i.awaiting_response());
    }

    #[test]
    fn a_consent_is_set_per_mechanism_and_only_for_known_ones() {
        let mut c = Consents::default();
        for (n, code) in Consents::MECHANISMS.iter().enumerate() {
            assert!(c.set_mechanism(code, Consent::Given));
            // Setting one leaves the others as they were.
            for (m, other) in Consents::MECHANISMS.iter().enumerate() {
                let want = if m <= n {
                    Consent::Given
                } else {
                    Consent::NotAsked
                };
                assert_eq!(c.mechanism(other), Some(want));
            }
        }
        assert!(!c.set_mechanism("embassy", Consent::Given));
        assert_eq!(c.mechanism("embassy"), None);
        assert_eq!(c.share_with_government, Consent::NotAsked);
    }

    #[test]
    fn follow_up_is_due_on_its_day_until_closed() {
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let mut i = Intervention {
            case_id: Uuid::nil(),
            title: "T".into(),
            mechanism: String::new(),
            kind: InterventionType::Other,
            date: None,
            status: InterventionStatus::Draft,
            reference: String::new(),
            response: String::new(),
            incident_ids: vec![],
            person_ids: vec![],
            channel: String::new(),
            follow_up: None,
            language: String::new(),
            form: vec![FormField {
                key: "current_risk".into(),
                value: "high".into(),
            }],
        };
        assert!(!i.awaiting_response());
        assert!(!i.follow_up_due(day("2030-01-01")));
        assert_eq!(i.form_value("current_risk"), "high");
        assert_eq!(i.form_value("context"), "");
        i.status = InterventionStatus::Sent;
        i.follow_up = Some(day("2026-03-10"));
        assert!(i.awaiting_response());
        assert!(!i.follow_up_due(day("2026-03-09")));
        assert!(i.follow_up_due(day("2026-03-10")));
        assert!(i.follow_up_due(day("2026-04-01")));
        i.status = InterventionStatus::Responded;
        assert!(!i.awaiting_response());
        assert!(i.follow_up_due(day("2026-04-01")));
        i.status = InterventionStatus::Closed;
        assert!(!i.follow_up_due(day("2026-04-01")));
    }

    #[test]
    fn record_json_is_tagged_by_kind() {
        let r = Record::Case(Case {
            title: "T".into(),
            ..Case::default()
        });
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["kind"], "case");
        assert_eq!(v["status"], "open");
        assert_eq!(v["confidentiality"], "restricted");
        let back: Record = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn validation_catches_what_serde_cannot() {
        let case_id = Uuid::new_v4();
        assert!(Record::Case(Case::default()).validate().is_err());
        let d = |s: &str| FuzzyDate {
            date: s.parse().unwrap(),
            precision: Precision::Day,
        };
        let mut inc = Incident {
            case_id,
            title: "Raid".into(),
            description: String::new(),
            start: Some(d("2024-05-02")),
            end: Some(d("2024-05-01")),
            location: None,
            act_types: vec![],
            persons: vec![],
            related: vec![],
            impact: String::new(),
        };
        assert_eq!(
            Record::Incident(inc.clone()).validate().unwrap_err(),
            "end date is before start date"
        );
        inc.end = None;
        inc.location = Some(Location {
            lat: Some(91.0),
            ..Location::default()
        });
        assert!(Record::Incident(inc)
            .validate()
            .unwrap_err()
            .contains("latitude"));
    }

    #[test]
    fn kind_parses_and_names() {
        for k in Kind::ALL {
            assert_eq!(k.as_str().parse::<Kind>().unwrap(), k);
        }
        assert!("victim".parse::<Kind>().is_err());
    }

    #[test]
    fn from_json_names_the_exact_field() {
        let e = Record::from_json(serde_json::json!({"kind": "case", "title": 5})).unwrap_err();
        assert_eq!(e.path, "title");
        let e = Record::from_json(serde_json::json!({
            "kind": "person", "case_id": Uuid::nil(), "name": "A",
            "consent": {"publish": "maybe"}
        }))
        .unwrap_err();
        assert_eq!(e.path, "consent.publish");
        let e =
            Record::from_json(serde_json::json!({"kind": "case", "titel": "typo"})).unwrap_err();
        assert_eq!(
            (e.path.as_str(), e.message.as_str()),
            ("titel", "no such field")
        );
        let e = Record::from_json(serde_json::json!({"kind": "victim"})).unwrap_err();
        assert_eq!(e.path, "kind");
        let ok =
            Record::from_json(serde_json::json!({"kind": "case", "title": "T", "tags": ["a"]}))
                .unwrap();
        assert_eq!(ok.title(), "T");
    }

    #[test]
    fn consent_defaults_to_not_asked() {
        let p: Person = serde_json::from_value(serde_json::json!({
            "case_id": Uuid::nil(), "name": "A"
        }))
        .unwrap();
        assert_eq!(p.consent.publish, Consent::NotAsked);
        assert_eq!(p.consent.share_with_government, Consent::NotAsked);
    }
}
