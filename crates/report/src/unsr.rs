//! A communication to the UN Special Rapporteur on the situation of human rights
//! defenders, built from one case: the English submission of
//! [`crate::submission`] for [`Mechanism::UnSr`], with the request and the missing
//! elements as typed values.
//!
//! It holds every element the mandate asks for: the victims (name, age, sex, profession,
//! residence, organisation, human rights work), the events (date, place, description,
//! violation, link to the human rights work, current risk), the alleged perpetrators
//! (state or non-state), the actions already taken and their results, the context, the
//! submitter's identity and the consents. [`missing_elements`] lists what the case
//! lacks before anything is written; [`export_unsr`] refuses to write while something
//! is missing unless the user confirmed (`allow_missing`).
//!
//! Consent: a person is named only when they consented to be named to the Special
//! Rapporteur and to the government; anyone else appears as
//! `[name withheld: no consent]`, with no other identifying detail, and their names are
//! blanked out of every free text of the communication. For an alleged perpetrator
//! without that consent the affiliation and type (state or non-state) stay: they say
//! who is responsible.

use std::path::Path;

use serde::Serialize;
use uuid::Uuid;
use zeroize::{Zeroize, Zeroizing};

use crate::output::{write_file, Protection};
use crate::submission::{self, Mechanism, SubmissionFormat, SubmissionRequest};
use crate::Progress;
use custos_model::FormField;
use custos_vault::error::{Error, Result};
use custos_vault::Vault;

pub use crate::submission::PerpetratorType;

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

impl CommunicationType {
    /// The answer code of the submission form's `type` question.
    pub fn code(self) -> &'static str {
        match self {
            CommunicationType::UrgentAppeal => "urgent_appeal",
            CommunicationType::AllegationLetter => "allegation_letter",
        }
    }
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

impl UnSrRequest {
    /// The same request as an English submission to [`Mechanism::UnSr`].
    pub fn to_submission(&self) -> SubmissionRequest {
        let field = |key: &str, value: &str| FormField {
            key: key.to_owned(),
            value: value.to_owned(),
        };
        SubmissionRequest {
            case_id: self.case_id,
            mechanism: Mechanism::UnSr,
            language: "en".into(),
            answers: vec![
                field("type", self.kind.code()),
                field("submitter", &self.submitter),
                field("link_to_work", &self.link_to_work),
                field("current_risk", &self.current_risk),
                field("context", &self.context),
            ],
            perpetrator_types: self.perpetrator_types.clone(),
        }
    }
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
    /// The victim refused to be named to the Special Rapporteur or to the government:
    /// they will be withheld.
    VictimWithheld,
    /// The victim was not asked whether they may be named to the Special Rapporteur.
    ConsentMechanismNotAsked,
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
    const ALL: [MissingCode; 24] = [
        MissingCode::Submitter,
        MissingCode::Victim,
        MissingCode::VictimWithheld,
        MissingCode::ConsentMechanismNotAsked,
        MissingCode::ConsentGovernmentNotAsked,
        MissingCode::ConsentPublishNotAsked,
        MissingCode::VictimAge,
        MissingCode::VictimSex,
        MissingCode::VictimProfession,
        MissingCode::VictimResidence,
        MissingCode::VictimOrganisation,
        MissingCode::VictimHumanRightsWork,
        MissingCode::Incident,
        MissingCode::IncidentDate,
        MissingCode::IncidentPlace,
        MissingCode::IncidentDescription,
        MissingCode::IncidentViolation,
        MissingCode::LinkToWork,
        MissingCode::CurrentRisk,
        MissingCode::Perpetrator,
        MissingCode::PerpetratorType,
        MissingCode::ActionsTaken,
        MissingCode::ActionResult,
        MissingCode::Context,
    ];

    /// The code as text (`victim_age` …).
    pub fn as_str(self) -> &'static str {
        match self {
            MissingCode::Submitter => "submitter",
            MissingCode::Victim => "victim",
            MissingCode::VictimWithheld => "victim_withheld",
            MissingCode::ConsentMechanismNotAsked => "consent_mechanism_not_asked",
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

    /// The code of a submission's missing element (`None` for one the Special
    /// Rapporteur's communication never lacks).
    pub fn from_code(code: &str) -> Option<MissingCode> {
        MissingCode::ALL.into_iter().find(|c| c.as_str() == code)
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

fn typed(missing: Vec<submission::Missing>) -> Vec<Missing> {
    missing
        .into_iter()
        .filter_map(|m| {
            let code = MissingCode::from_code(&m.code);
            debug_assert!(code.is_some(), "no MissingCode for {}", m.code);
            Some(Missing {
                code: code?,
                record: m.record,
                message: m.message,
            })
        })
        .collect()
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

/// The elements the communication would lack, consents first. Empty: everything the
/// mandate asks for is there.
pub fn missing_elements(vault: &Vault, request: &UnSrRequest) -> Result<Vec<Missing>> {
    Ok(typed(submission::missing_elements(
        vault,
        &request.to_submission(),
    )?))
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
    let format = match format {
        UnSrFormat::Text => SubmissionFormat::Text,
        UnSrFormat::Pdf => SubmissionFormat::Pdf,
    };
    let (bytes, stats, victims) = submission::build_counting(
        vault,
        &request.to_submission(),
        format,
        allow_missing,
        progress,
    )?;
    Ok((
        bytes,
        UnSrStats {
            victims,
            withheld: stats.withheld,
            missing: typed(stats.missing),
            bytes: stats.bytes,
        },
    ))
}

/// The message of a refused export: every missing element, one a line.
pub fn refusal(missing: &[Missing]) -> String {
    let plain: Vec<submission::Missing> = missing
        .iter()
        .map(|m| submission::Missing {
            code: m.code.as_str().to_owned(),
            record: m.record,
            message: m.message.clone(),
        })
        .collect();
    submission::refusal(Mechanism::UnSr, &plain)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn every_code_reads_back() {
        for c in MissingCode::ALL {
            assert_eq!(MissingCode::from_code(c.as_str()), Some(c));
        }
        assert_eq!(MissingCode::from_code("domestic_remedies"), None);
    }

    #[test]
    fn the_marker_is_the_english_one() {
        assert_eq!(WITHHELD, crate::submission::withheld_marker("en"));
    }
}
