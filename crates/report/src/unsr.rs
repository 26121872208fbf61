//! A communication to the UN Special Rapporteur on the situation of human rights
//! defenders, built from one case.
//!
//! It holds every element the mandate asks for: the victims (name, age, sex, profession,
//! residence, organisation, human rights work), the events (date, place, description,
//! violation, link to the human rights work, current risk), the alleged perpetrators
//! (state or non-state), the actions already taken and their results, the context, the
//! submitter's identity and the two consents. [`missing_elements`] lists what the case
//! lacks before anything is written; [`export_unsr`] refuses to write while something
//! is missing unless the user confirmed (`allow_missing`).
//!
//! Consent: a person whose consent to be named to the government is anything but
//! explicitly given appears as `[name withheld: no consent]`, with no other identifying
//! detail (other names, age or birth date, residence, organisation, occupation, human
//! rights work, citizenship, contact); their names are also blanked out of every free
//! text of the communication. For an alleged perpetrator without that consent the
//! affiliation and type (state or non-state) stay: they say who is responsible.

use std::path::Path;

use chrono::NaiveDate;
use serde::Serialize;
use uuid::Uuid;
use zeroize::{Zeroize, Zeroizing};

use super::{
    act_label, age_at, consent_label, date_text, instruments_of, intervention_status_label,
    intervention_type_label, mechanism_label, place_text, roles_of, Loaded, Progress, Selection,
};
use crate::doc::{Block, Doc};
use crate::output::{write_file, Protection};
use custos_model::{Consent, InterventionStatus, Person, Precision, Role};
use custos_vault::error::{Error, Result};
use custos_vault::Vault;

/// What replaces the name of a person who did not consent.
pub const WITHHELD: &str = "[name withheld: no consent]";

/// The two kinds of communication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CommunicationType {
    /// For a violation that is ongoing or about to happen.
    UrgentAppeal,
    /// For a violation that has already happened.
    AllegationLetter,
}

impl std::str::FromStr for CommunicationType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.replace('_', "-").as_str() {
            "urgent-appeal" => Ok(CommunicationType::UrgentAppeal),
            "allegation-letter" => Ok(CommunicationType::AllegationLetter),
            _ => Err(Error::Invalid(format!(
                "unknown communication type '{s}' (urgent-appeal or allegation-letter)"
            ))),
        }
    }
}

/// Whether an alleged perpetrator acts for the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PerpetratorType {
    /// A state actor (police, army, intelligence, officials, courts …).
    State,
    /// A non-state actor (company, armed group, individual …).
    NonState,
}

impl std::str::FromStr for PerpetratorType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.replace('_', "-").as_str() {
            "state" => Ok(PerpetratorType::State),
            "non-state" => Ok(PerpetratorType::NonState),
            _ => Err(Error::Invalid(format!(
                "unknown perpetrator type '{s}' (state or non-state)"
            ))),
        }
    }
}

/// What the user gives at export time; nothing of it is stored in the vault.
#[derive(Clone)]
pub struct UnSrRequest {
    /// The case the communication is about.
    pub case_id: Uuid,
    /// Urgent appeal or allegation letter.
    pub kind: CommunicationType,
    /// Who submits it (name, organisation, contact). Kept confidential by the mandate.
    pub submitter: String,
    /// How the events are linked to the victims' human rights work.
    pub link_to_work: String,
    /// The risk the victims face now.
    pub current_risk: String,
    /// Context and patterns (similar cases, the situation of defenders in the country).
    pub context: String,
    /// State or non-state, per alleged perpetrator (person record id).
    pub perpetrator_types: Vec<(Uuid, PerpetratorType)>,
}

impl std::fmt::Debug for UnSrRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The free texts are record content: never in a log.
        f.debug_struct("UnSrRequest")
            .field("case_id", &self.case_id)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl Drop for UnSrRequest {
    fn drop(&mut self) {
        self.submitter.zeroize();
        self.link_to_work.zeroize();
        self.current_risk.zeroize();
        self.context.zeroize();
    }
}

/// A machine-readable name for an element the communication lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingCode {
    /// The submitter's identity (anonymous submissions are not accepted).
    Submitter,
    /// No person of the case is a victim.
    Victim,
    /// The victim refused to be named to the government: they will be withheld.
    VictimWithheld,
    /// The victim was not asked whether they may be named to the government.
    ConsentGovernmentNotAsked,
    /// The victim was not asked whether they may be named in public reports.
    ConsentPublishNotAsked,
    /// A victim's date of birth (for the age).
    VictimAge,
    /// A victim's sex.
    VictimSex,
    /// A victim's profession.
    VictimProfession,
    /// A victim's place of residence.
    VictimResidence,
    /// A victim's organisation.
    VictimOrganisation,
    /// The human rights work a victim does.
    VictimHumanRightsWork,
    /// The case has no incident.
    Incident,
    /// An incident's date.
    IncidentDate,
    /// An incident's place.
    IncidentPlace,
    /// An incident's description.
    IncidentDescription,
    /// An incident's violation (no act type).
    IncidentViolation,
    /// The link between the events and the human rights work.
    LinkToWork,
    /// The current risk.
    CurrentRisk,
    /// No alleged perpetrator.
    Perpetrator,
    /// An alleged perpetrator is not said to be state or non-state.
    PerpetratorType,
    /// No action already taken (complaint, court case, other appeal).
    ActionsTaken,
    /// An action answered or closed without its result recorded.
    ActionResult,
    /// Context and patterns.
    Context,
}

impl MissingCode {
    /// The code as text (`victim_age` …).
    pub fn as_str(self) -> &'static str {
        match self {
            MissingCode::Submitter => "submitter",
            MissingCode::Victim => "victim",
            MissingCode::VictimWithheld => "victim_withheld",
            MissingCode::ConsentGovernmentNotAsked => "consent_government_not_asked",
            MissingCode::ConsentPublishNotAsked => "consent_publish_not_asked",
            MissingCode::VictimAge => "victim_age",
            MissingCode::VictimSex => "victim_sex",
            MissingCode::VictimProfession => "victim_profession",
            MissingCode::VictimResidence => "victim_residence",
            MissingCode::VictimOrganisation => "victim_organisation",
            MissingCode::VictimHumanRightsWork => "victim_human_rights_work",
            MissingCode::Incident => "incident",
            MissingCode::IncidentDate => "incident_date",
            MissingCode::IncidentPlace => "incident_place",
            MissingCode::IncidentDescription => "incident_description",
            MissingCode::IncidentViolation => "incident_violation",
            MissingCode::LinkToWork => "link_to_work",
            MissingCode::CurrentRisk => "current_risk",
            MissingCode::Perpetrator => "perpetrator",
            MissingCode::PerpetratorType => "perpetrator_type",
            MissingCode::ActionsTaken => "actions_taken",
            MissingCode::ActionResult => "action_result",
            MissingCode::Context => "context",
        }
    }
}

/// One element the communication lacks. The message names records by id, never by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Missing {
    /// What is missing.
    pub code: MissingCode,
    /// The record it is about (a victim, an incident …), when there is one.
    pub record: Option<Uuid>,
    /// What to do, in plain English.
    pub message: String,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

/// Output format of the communication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnSrFormat {
    /// UTF-8 plain text.
    Text,
    /// PDF.
    Pdf,
}

/// What an export of a communication wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnSrStats {
    /// Victims in the communication.
    pub victims: usize,
    /// Persons whose name was withheld.
    pub withheld: usize,
    /// Elements missing (written anyway because the user confirmed).
    pub missing: Vec<Missing>,
    /// Bytes written (before encryption).
    pub bytes: usize,
}

/// The elements the communication would lack, in the order of the template. Empty:
/// everything the mandate asks for is there.
pub fn missing_elements(vault: &Vault, request: &UnSrRequest) -> Result<Vec<Missing>> {
    let loaded = load(vault, request, &mut |_, _| {})?;
    Ok(check(&loaded, request))
}

/// Writes the communication to a new file at `path`. Refused, listing what is missing,
/// unless nothing is or `allow_missing` is true (the user saw the list and confirmed).
pub fn export_unsr(
    vault: &Vault,
    request: &UnSrRequest,
    format: UnSrFormat,
    allow_missing: bool,
    path: &Path,
    protection: &Protection,
    progress: Progress<'_>,
) -> Result<UnSrStats> {
    let (bytes, stats) = communication(vault, request, format, allow_missing, progress)?;
    write_file(path, protection, |w| {
        w.write_all(&bytes)
            .map_err(|e| Error::io("writing the communication", e))
    })?;
    Ok(stats)
}

/// The communication as bytes (text or PDF), with the same refusal as [`export_unsr`].
pub fn communication(
    vault: &Vault,
    request: &UnSrRequest,
    format: UnSrFormat,
    allow_missing: bool,
    progress: Progress<'_>,
) -> Result<(Zeroizing<Vec<u8>>, UnSrStats)> {
    let loaded = load(vault, request, progress)?;
    let missing = check(&loaded, request);
    if !missing.is_empty() && !allow_missing {
        return Err(Error::Invalid(refusal(&missing)));
    }
    let (doc, victims, withheld) = build(&loaded, request);
    let bytes = match format {
        UnSrFormat::Text => Zeroizing::new(doc.to_text().into_bytes()),
        UnSrFormat::Pdf => {
            crate::pdf::render(&doc, "Communication to the UN Special Rapporteur")?.0
        }
    };
    let n = bytes.len();
    Ok((
        bytes,
        UnSrStats {
            victims,
            withheld,
            missing,
            bytes: n,
        },
    ))
}

/// The message of a refused export: every missing element, one a line.
pub fn refusal(missing: &[Missing]) -> String {
    let mut s = format!(
        "the communication lacks {} element{} the Special Rapporteur asks for; complete the \
         case, or confirm to export anyway (--allow-missing):",
        missing.len(),
        if missing.len() == 1 { "" } else { "s" }
    );
    for m in missing {
        s.push_str("\n  ");
        s.push_str(&m.to_string());
    }
    s
}

fn load(vault: &Vault, request: &UnSrRequest, progress: Progress<'_>) -> Result<Loaded> {
    let sel = Selection::cases([request.case_id]);
    let ids = sel.resolve(vault)?;
    Loaded::load(vault, &ids, progress)
}

fn named_to_government(p: &Person) -> bool {
    p.consent.share_with_government == Consent::Given
}

/// Persons with their record ids.
type People<'a> = Vec<(Uuid, &'a Person)>;

/// Victims and alleged perpetrators of the case, in display order. A person who is both
/// is a victim only.
fn people(l: &Loaded) -> (People<'_>, People<'_>) {
    let mut victims = Vec::new();
    let mut perpetrators = Vec::new();
    for (id, p) in &l.persons {
        let roles = roles_of(l, *id, p);
        if roles.contains(&Role::Victim) {
            victims.push((*id, p));
        } else if roles.contains(&Role::Perpetrator) {
            perpetrators.push((*id, p));
        }
    }
    // In record-id order, not by name: the place of a withheld person among the others
    // must not hint at their name.
    victims.sort_by_key(|(id, _)| *id);
    perpetrators.sort_by_key(|(id, _)| *id);
    (victims, perpetrators)
}

fn check(l: &Loaded, r: &UnSrRequest) -> Vec<Missing> {
    let mut out = Vec::new();
    let mut miss = |code, record, message: String| {
        out.push(Missing {
            code,
            record,
            message,
        })
    };
    if r.submitter.trim().is_empty() {
        miss(
            MissingCode::Submitter,
            None,
            "say who submits the communication (name, organisation, safe contact); the \
             mandate keeps it confidential and does not accept anonymous submissions"
                .into(),
        );
    }
    let (victims, perpetrators) = people(l);
    if victims.is_empty() {
        miss(
            MissingCode::Victim,
            None,
            "no person of the case is a victim: add the victim, or give a person the victim \
             role"
                .into(),
        );
    }
    for (n, (id, p)) in victims.iter().enumerate() {
        let who = format!("victim {} (record {id})", n + 1);
        match p.consent.share_with_government {
            Consent::Given => {}
            Consent::NotAsked => miss(
                MissingCode::ConsentGovernmentNotAsked,
                Some(*id),
                format!(
                    "{who}: ask whether they may be named to the government; until they agree \
                     the communication withholds their name and details"
                ),
            ),
            Consent::Refused => miss(
                MissingCode::VictimWithheld,
                Some(*id),
                format!(
                    "{who} did not agree to be named to the government: the communication \
                     withholds their name and details, which may keep the mandate from acting"
                ),
            ),
        }
        if p.consent.publish == Consent::NotAsked {
            miss(
                MissingCode::ConsentPublishNotAsked,
                Some(*id),
                format!("{who}: ask whether they may be named in public reports"),
            );
        }
        if !named_to_government(p) {
            continue;
        }
        let fields = [
            (
                MissingCode::VictimAge,
                p.birth_date.is_none(),
                "date of birth (for the age)",
            ),
            (MissingCode::VictimSex, p.sex.trim().is_empty(), "sex"),
            (
                MissingCode::VictimProfession,
                p.occupation.trim().is_empty(),
                "profession",
            ),
            (
                MissingCode::VictimResidence,
                p.residence.trim().is_empty(),
                "place of residence",
            ),
            (
                MissingCode::VictimOrganisation,
                p.organisation.trim().is_empty(),
                "organisation",
            ),
            (
                MissingCode::VictimHumanRightsWork,
                p.human_rights_work.trim().is_empty(),
                "the human rights work they do",
            ),
        ];
        for (code, lacking, what) in fields {
            if lacking {
                miss(code, Some(*id), format!("{who}: add their {what}"));
            }
        }
    }
    if l.incidents.is_empty() {
        miss(
            MissingCode::Incident,
            None,
            "the case has no incident: add what happened".into(),
        );
    }
    for (id, i) in &l.incidents {
        let what = format!("incident {id}");
        if i.start.is_none() {
            miss(
                MissingCode::IncidentDate,
                Some(*id),
                format!("{what}: add its date (an approximate date will do)"),
            );
        }
        if place_text(i.location.as_ref()).is_empty() {
            miss(
                MissingCode::IncidentPlace,
                Some(*id),
                format!("{what}: add where it happened"),
            );
        }
        if i.description.trim().is_empty() {
            miss(
                MissingCode::IncidentDescription,
                Some(*id),
                format!("{what}: describe what happened"),
            );
        }
        if i.act_types.is_empty() {
            miss(
                MissingCode::IncidentViolation,
                Some(*id),
                format!("{what}: add the type of act (the violation suffered or threatened)"),
            );
        }
    }
    if r.link_to_work.trim().is_empty() {
        miss(
            MissingCode::LinkToWork,
            None,
            "explain how the events are linked to the victims' human rights work".into(),
        );
    }
    if r.current_risk.trim().is_empty() {
        miss(
            MissingCode::CurrentRisk,
            None,
            "describe the risk the victims face now".into(),
        );
    }
    if perpetrators.is_empty() {
        miss(
            MissingCode::Perpetrator,
            None,
            "no alleged perpetrator: add them to the case (a person or group with the \
             perpetrator role; \"unknown\" is an answer)"
                .into(),
        );
    }
    for (id, _) in &perpetrators {
        if !r.perpetrator_types.iter().any(|(p, _)| p == id) {
            miss(
                MissingCode::PerpetratorType,
                Some(*id),
                format!(
                    "alleged perpetrator (record {id}): say whether they are a state or a \
                     non-state actor"
                ),
            );
        }
    }
    let taken: Vec<_> = l
        .interventions
        .iter()
        .filter(|(_, i)| i.status != InterventionStatus::Draft)
        .collect();
    if taken.is_empty() {
        miss(
            MissingCode::ActionsTaken,
            None,
            "no action already taken is recorded (complaint, court case, appeal): add them as \
             interventions, or say none was possible in the context"
                .into(),
        );
    }
    for (id, i) in taken {
        if matches!(
            i.status,
            InterventionStatus::Responded | InterventionStatus::Closed
        ) && i.response.trim().is_empty()
        {
            miss(
                MissingCode::ActionResult,
                Some(*id),
                format!("intervention {id}: record its result (the answer received)"),
            );
        }
    }
    if r.context.trim().is_empty() {
        miss(
            MissingCode::Context,
            None,
            "describe the context and patterns (similar cases, the situation of defenders)".into(),
        );
    }
    out
}

/// Blanks withheld names out of free text: one pass over each text for all names.
struct Redactor {
    /// The names in lower case, and how many letters each has.
    names: Vec<(String, usize)>,
    /// Finds them in lower-cased text.
    lower: Option<aho_corasick::AhoCorasick>,
    /// Finds them as written (for text whose lower case changes its length).
    exact: Option<aho_corasick::AhoCorasick>,
}

impl Redactor {
    fn new(persons: &[&Person]) -> Redactor {
        let mut originals: Vec<String> = persons
            .iter()
            .flat_map(|p| std::iter::once(&p.name).chain(p.other_names.iter()))
            .map(|n| n.trim().to_owned())
            .filter(|n| n.chars().count() >= 2)
            .collect();
        originals.sort();
        originals.dedup();
        let names: Vec<(String, usize)> = originals
            .iter()
            .map(|n| (n.to_lowercase(), n.chars().count()))
            .collect();
        let build = |patterns: Vec<&str>| {
            aho_corasick::AhoCorasick::builder()
                .match_kind(aho_corasick::MatchKind::LeftmostLongest)
                .build(patterns)
                .ok()
        };
        let lower = build(names.iter().map(|(n, _)| n.as_str()).collect());
        let exact = build(originals.iter().map(String::as_str).collect());
        originals.iter_mut().for_each(|n| n.zeroize());
        Redactor {
            names,
            lower,
            exact,
        }
    }

    fn clean(&self, text: &str) -> String {
        let lower = text.to_lowercase();
        // Lower-casing keeps byte offsets for ASCII, Arabic and most scripts; where it
        // does not, only exact matches are found.
        let (hay, finder) = if lower.len() == text.len() {
            (lower.as_str(), &self.lower)
        } else {
            (text, &self.exact)
        };
        let Some(finder) = finder else {
            return text.to_owned();
        };
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for m in finder.find_iter(hay) {
            let (start, end) = (m.start(), m.end());
            if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
                continue;
            }
            // A short name (three letters or fewer) only as a whole word, so that "Li"
            // does not blank "Libya"; a longer one anywhere (Arabic attaches prefixes
            // such as و to a name).
            let letters = self.names.get(m.pattern().as_usize()).map_or(0, |n| n.1);
            let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
            if letters <= 3
                && !(boundary(text[..start].chars().next_back())
                    && boundary(text[end..].chars().next()))
            {
                continue;
            }
            out.push_str(&text[last..start]);
            out.push_str("[name withheld]");
            last = end;
        }
        out.push_str(&text[last..]);
        out
    }
}

impl Drop for Redactor {
    fn drop(&mut self) {
        self.names.iter_mut().for_each(|n| n.0.zeroize());
    }
}

fn age_text(p: &Person, today: NaiveDate) -> String {
    let Some(b) = &p.birth_date else {
        return String::new();
    };
    match age_at(b, today) {
        Some(a) if matches!(b.precision, Precision::Day) => a.to_string(),
        Some(a) => format!("about {a}"),
        None => String::new(),
    }
}

fn build(l: &Loaded, r: &UnSrRequest) -> (Doc, usize, usize) {
    let today = chrono::Utc::now().date_naive();
    let (victims, perpetrators) = people(l);
    let withheld: Vec<&Person> = l
        .persons
        .iter()
        .map(|(_, p)| p)
        .filter(|p| !named_to_government(p))
        .collect();
    let redactor = Redactor::new(&withheld);
    let label_of = |id: Uuid| -> String {
        if let Some(n) = victims.iter().position(|(v, _)| *v == id) {
            return format!("Victim {}", n + 1);
        }
        if let Some(n) = perpetrators.iter().position(|(v, _)| *v == id) {
            return format!("Alleged perpetrator {}", n + 1);
        }
        match l.person(id) {
            Some(p) if named_to_government(p) => p.name.clone(),
            _ => WITHHELD.to_owned(),
        }
    };

    let mut d = Doc::default();
    d.title(
        "Communication to the UN Special Rapporteur on the situation of human rights defenders",
    );
    d.field(
        "Type of communication",
        match r.kind {
            CommunicationType::UrgentAppeal => {
                "Urgent appeal (the violation is ongoing or about to happen)"
            }
            CommunicationType::AllegationLetter => {
                "Allegation letter (the violation has already happened)"
            }
        },
    );
    d.field("Date", today.format("%Y-%m-%d").to_string());
    d.field("Case reference", r.case_id.to_string());
    d.alert(
        "CONFIDENTIAL — contains the submitter's identity; this file is not encrypted by Custos",
    );

    d.heading("1. Submitter (confidential)");
    d.para(r.submitter.clone());
    d.para("The submitter asks that their identity be kept confidential.");

    d.heading("2. Victims");
    if victims.is_empty() {
        d.para("No victim is recorded.");
    }
    for (n, (id, p)) in victims.iter().enumerate() {
        d.subheading(format!("Victim {}", n + 1));
        if named_to_government(p) {
            d.field("Name", p.name.clone());
            d.field("Other names", p.other_names.join("; "));
            if p.is_group {
                d.field(
                    "Group",
                    p.group_size
                        .map(|s| format!("yes, {s} people"))
                        .unwrap_or_else(|| "yes".into()),
                );
            }
            d.field_always("Age", age_text(p, today));
            d.field_always("Sex", p.sex.clone());
            d.field_always("Profession", p.occupation.clone());
            d.field_always("Place of residence", p.residence.clone());
            d.field("Citizenship", p.citizenship.clone());
            d.field_always("Organisation", p.organisation.clone());
            d.field_always("Human rights work", p.human_rights_work.clone());
        } else {
            d.field("Name", WITHHELD);
            d.field("Sex", p.sex.clone());
            d.para(
                "The victim has not consented to be named to the government: their name and \
                 identifying details are withheld.",
            );
        }
        d.field(
            "Consent to be named to the government",
            consent_label(p.consent.share_with_government),
        );
        d.field(
            "Consent to be named in public reports",
            consent_label(p.consent.publish),
        );
        let _ = id;
    }

    d.heading("3. The events");
    if let Some(c) = l.case(r.case_id) {
        d.field("Summary", c.summary.clone());
    }
    if l.incidents.is_empty() {
        d.para("No incident is recorded.");
    }
    for (n, (_, i)) in l.incidents.iter().enumerate() {
        d.subheading(format!("Event {}: {}", n + 1, i.title));
        let mut date = i.start.as_ref().map(date_text).unwrap_or_default();
        if let Some(e) = &i.end {
            date = format!("{date} to {}", date_text(e));
        }
        d.field_always("Date", date);
        d.field_always("Place", place_text(i.location.as_ref()));
        d.field_always("Description", i.description.clone());
        let mut violation = i
            .act_types
            .iter()
            .map(|c| act_label(c, "en"))
            .collect::<Vec<_>>()
            .join("; ");
        let instruments = instruments_of(&i.act_types, "en");
        if !instruments.is_empty() {
            violation = format!("{violation} (rights affected: {})", instruments.join("; "));
        }
        d.field_always("Violation suffered or threatened", violation);
        d.field("Consequences", i.impact.clone());
        let involved: Vec<String> = i
            .persons
            .iter()
            .filter(|inv| matches!(inv.role, Role::Victim | Role::Perpetrator))
            .map(|inv| label_of(inv.person_id))
            .collect();
        d.field("Persons concerned", involved.join("; "));
    }
    d.field_always("Link to the human rights work", r.link_to_work.clone());
    d.field_always("Current risk", r.current_risk.clone());

    d.heading("4. Alleged perpetrators");
    if perpetrators.is_empty() {
        d.para("No alleged perpetrator is recorded.");
    }
    for (n, (id, p)) in perpetrators.iter().enumerate() {
        d.subheading(format!("Alleged perpetrator {}", n + 1));
        if named_to_government(p) {
            d.field("Name", p.name.clone());
        } else {
            d.field("Name", WITHHELD);
        }
        let kind = r
            .perpetrator_types
            .iter()
            .find(|(p, _)| p == id)
            .map(|(_, t)| match t {
                PerpetratorType::State => "State actor",
                PerpetratorType::NonState => "Non-state actor",
            })
            .unwrap_or("");
        d.field_always("Type", kind);
        d.field("Affiliation", p.organisation.clone());
        d.field("Position or occupation", p.occupation.clone());
    }

    d.heading("5. Actions already taken");
    let taken: Vec<_> = l
        .interventions
        .iter()
        .filter(|(_, i)| i.status != InterventionStatus::Draft)
        .collect();
    if taken.is_empty() {
        d.para("None recorded.");
    }
    for (_, i) in taken {
        d.subheading(i.title.clone());
        if !i.mechanism.is_empty() {
            d.field("Addressed to", mechanism_label(&i.mechanism, "en"));
        }
        d.field("Type", intervention_type_label(i.kind));
        d.field(
            "Date",
            i.date
                .map(|x| x.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
        );
        d.field("Status", intervention_status_label(i.status));
        d.field("Reference", i.reference.clone());
        let result = if i.response.trim().is_empty() {
            "no answer recorded".to_owned()
        } else {
            i.response.clone()
        };
        d.field("Result", result);
    }

    d.heading("6. Context and patterns");
    d.para(if r.context.trim().is_empty() {
        "Not stated.".to_owned()
    } else {
        r.context.clone()
    });

    d.heading("7. Consents");
    for (n, (_, p)) in victims.iter().enumerate() {
        d.field(
            &format!("Victim {}", n + 1),
            format!(
                "may be named to the government: {}; may be named in public reports: {}",
                yes_no(p.consent.share_with_government),
                yes_no(p.consent.publish)
            ),
        );
    }

    // Names of persons without consent go out of every text, whatever field held them.
    for b in &mut d.blocks {
        match b {
            Block::Title(s)
            | Block::Heading(s)
            | Block::Subheading(s)
            | Block::Para(s)
            | Block::Alert(s) => *s = redactor.clean(s),
            Block::Field(a, v) => {
                *a = redactor.clean(a);
                if v != WITHHELD {
                    *v = redactor.clean(v);
                }
            }
        }
    }
    let withheld_count = victims
        .iter()
        .chain(perpetrators.iter())
        .filter(|(_, p)| !named_to_government(p))
        .count();
    (d, victims.len(), withheld_count)
}

fn yes_no(c: Consent) -> &'static str {
    match c {
        Consent::Given => "yes",
        Consent::Refused => "no",
        Consent::NotAsked => "not asked (treated as no)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_replaced_whatever_their_case() {
        let p = |name: &str, other: &[&str]| Person {
            case_id: Uuid::nil(),
            name: name.into(),
            other_names: other.iter().map(|s| (*s).to_owned()).collect(),
            roles: vec![],
            is_group: false,
            group_size: None,
            sex: String::new(),
            birth_date: None,
            occupation: String::new(),
            organisation: String::new(),
            human_rights_work: String::new(),
            residence: String::new(),
            citizenship: String::new(),
            consent: Default::default(),
            contact: String::new(),
        };
        let (a, b, c) = (
            p("Nour", &["Nour Hamdi"]),
            p("نور الهدى", &[]),
            p("Li", &[]),
        );
        let r = Redactor::new(&[&a, &b, &c]);
        assert_eq!(
            r.clean("Saw NOUR HAMDI and nour."),
            "Saw [name withheld] and [name withheld]."
        );
        assert_eq!(r.clean("قال ونور الهدى"), "قال و[name withheld]");
        assert_eq!(r.clean("none"), "none");
        assert_eq!(
            r.clean("Li went to Libya; li."),
            "[name withheld] went to Libya; [name withheld]."
        );
        // Lower case longer than the text (İ): exact matches still go.
        assert_eq!(r.clean("İ Nour"), "İ [name withheld]");
    }

    #[test]
    fn types_parse() {
        assert_eq!(
            "urgent-appeal".parse::<CommunicationType>().unwrap(),
            CommunicationType::UrgentAppeal
        );
        assert!("appeal".parse::<CommunicationType>().is_err());
        assert_eq!(
            "non_state".parse::<PerpetratorType>().unwrap(),
            PerpetratorType::NonState
        );
    }
}
