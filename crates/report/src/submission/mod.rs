//! Submissions to the five protection mechanisms defenders turn to, built from one case.
//!
//! - [`Mechanism::UnSr`]: the UN Special Rapporteur on the situation of human rights
//!   defenders (an urgent appeal or an allegation letter);
//! - [`Mechanism::Observatory`]: the Observatory for the Protection of Human Rights
//!   Defenders (OMCT and FIDH), an urgent intervention request;
//! - [`Mechanism::Eu`]: an EU mission or delegation acting under the EU Guidelines on
//!   Human Rights Defenders;
//! - [`Mechanism::Achpr`]: the African Commission's Special Rapporteur on human rights
//!   defenders, a communication with the Article 56 admissibility points;
//! - [`Mechanism::Iachr`]: the Inter-American Commission, a precautionary measures
//!   request under Article 25 of its Rules of Procedure.
//!
//! Each asks what its own guidance asks (`docs/exports.md` cites it): the case gives the
//! victims, events, perpetrators and actions taken; the answers of a form
//! ([`Mechanism::questions`]) give the rest. [`missing_elements`] lists what is lacking;
//! [`submission`] refuses to build while anything is, unless the user confirmed
//! (`allow_missing`), and then lists it first in the document.
//!
//! Consent: a person is named to mechanism M only when their consent for M and for every
//! other use the submission makes is given: every mechanism takes the case up with the
//! state concerned (the consent to be named to the government), and the Observatory's
//! urgent appeals and an EU public statement are public (the consent to publish). Anyone
//! else is `[name withheld: no consent]` (in the submission's language), with no other
//! identifying detail, and their names and other names are blanked out of every text
//! that goes out: every record's free text, evidence file names, the form's answers.
//!
//! The fixed text comes in every language the mechanism accepts (`locales/*.json`); the
//! case's own text stays as written and the submission says which language it is in.

mod achpr;
mod core;
mod eu;
mod iachr;
mod observatory;
mod un_sr;

use std::path::Path;

use serde::Serialize;
use uuid::Uuid;
use zeroize::{Zeroize, Zeroizing};

use crate::output::{write_file, Protection};
use crate::Progress;
use custos_model::FormField;
use custos_vault::error::{Error, Result};
use custos_vault::Vault;

/// A protection mechanism a submission goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mechanism {
    /// The UN Special Rapporteur on the situation of human rights defenders.
    UnSr,
    /// The Observatory for the Protection of Human Rights Defenders (OMCT and FIDH).
    Observatory,
    /// An EU mission or delegation (EU Guidelines on Human Rights Defenders).
    Eu,
    /// The African Commission's Special Rapporteur on human rights defenders.
    Achpr,
    /// The Inter-American Commission on Human Rights (precautionary measures).
    Iachr,
}

impl Mechanism {
    /// Every mechanism, in the order forms show them.
    pub const ALL: [Mechanism; 5] = [
        Mechanism::UnSr,
        Mechanism::Observatory,
        Mechanism::Eu,
        Mechanism::Achpr,
        Mechanism::Iachr,
    ];

    /// The `mechanisms` vocabulary code, also the name of the person's consent for it.
    pub fn code(self) -> &'static str {
        match self {
            Mechanism::UnSr => "un_sr_hrd",
            Mechanism::Observatory => "omct_fidh_observatory",
            Mechanism::Eu => "eu_delegation",
            Mechanism::Achpr => "achpr_sr_hrd",
            Mechanism::Iachr => "iachr_hrd_unit",
        }
    }

    /// The short name (the CLI's `--format`).
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::UnSr => "un-sr",
            Mechanism::Observatory => "observatory",
            Mechanism::Eu => "eu",
            Mechanism::Achpr => "achpr",
            Mechanism::Iachr => "iachr",
        }
    }

    /// A mechanism by its name, its code, or its name with `_` for `-`.
    pub fn parse(s: &str) -> Option<Mechanism> {
        let s = s.trim().to_ascii_lowercase();
        Mechanism::ALL
            .into_iter()
            .find(|m| s == m.name() || s == m.code() || s == m.name().replace('-', "_"))
    }

    /// The languages the mechanism accepts; the first is the default.
    pub fn languages(self) -> &'static [&'static str] {
        match self {
            Mechanism::UnSr | Mechanism::Observatory | Mechanism::Eu => &["en", "fr", "es"],
            Mechanism::Achpr => &["en", "fr", "ar", "pt"],
            Mechanism::Iachr => &["es", "en", "pt", "fr"],
        }
    }

    /// The form: what the user answers for this mechanism, beyond what the case holds.
    pub fn questions(self) -> &'static [Question] {
        match self {
            Mechanism::UnSr => un_sr::QUESTIONS,
            Mechanism::Observatory => observatory::QUESTIONS,
            Mechanism::Eu => eu::QUESTIONS,
            Mechanism::Achpr => achpr::QUESTIONS,
            Mechanism::Iachr => iachr::QUESTIONS,
        }
    }

    /// The submission's title in `lang` (English for a language it does not accept).
    pub fn title(self, lang: &str) -> String {
        core::tr(lang, self.title_key()).to_owned()
    }

    /// The mechanism in an English sentence ("the submission to …", "named to …").
    pub(crate) fn english_name(self) -> &'static str {
        match self {
            Mechanism::UnSr => "the UN Special Rapporteur on human rights defenders",
            Mechanism::Observatory => "the Observatory (OMCT and FIDH)",
            Mechanism::Eu => "the EU mission or delegation",
            Mechanism::Achpr => {
                "the African Commission's Special Rapporteur on human rights defenders"
            }
            Mechanism::Iachr => "the Inter-American Commission on Human Rights",
        }
    }

    fn title_key(self) -> &'static str {
        match self {
            Mechanism::UnSr => "un_sr.title",
            Mechanism::Observatory => "observatory.title",
            Mechanism::Eu => "eu.title",
            Mechanism::Achpr => "achpr.title",
            Mechanism::Iachr => "iachr.title",
        }
    }
}

impl std::fmt::Display for Mechanism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One question of a mechanism's form.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Question {
    /// Stable snake_case key (stored in the draft intervention's `form`; the UI's label
    /// is `submission.q.<key>`).
    pub key: &'static str,
    /// What kind of answer.
    pub kind: QuestionKind,
    /// Whether the mechanism needs it: an empty answer is a missing element.
    pub required: bool,
}

/// The kind of answer a question takes.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(tag = "type", content = "choices", rename_all = "snake_case")]
pub enum QuestionKind {
    /// One line of text.
    Line,
    /// Free text, several lines.
    Text,
    /// One of these codes.
    Choice(&'static [&'static str]),
    /// Any of these codes, comma-separated in the answer.
    Choices(&'static [&'static str]),
    /// A date, `YYYY-MM-DD`.
    Date,
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
        match s.trim().replace('_', "-").as_str() {
            "state" => Ok(PerpetratorType::State),
            "non-state" => Ok(PerpetratorType::NonState),
            _ => Err(Error::Invalid(format!(
                "unknown perpetrator type '{s}' (state or non-state)"
            ))),
        }
    }
}

/// What the user asks for at export time.
pub struct SubmissionRequest {
    /// The case the submission is about.
    pub case_id: Uuid,
    /// Where it goes.
    pub mechanism: Mechanism,
    /// The language of its fixed text: one of `mechanism.languages()`.
    pub language: String,
    /// The answers to `mechanism.questions()` (unknown keys are refused).
    pub answers: Vec<FormField>,
    /// State or non-state, per alleged perpetrator (person record id).
    pub perpetrator_types: Vec<(Uuid, PerpetratorType)>,
}

impl SubmissionRequest {
    /// The answer to `key`, trimmed (empty when none).
    pub fn answer(&self, key: &str) -> &str {
        self.answers
            .iter()
            .find(|f| f.key == key)
            .map_or("", |f| f.value.trim())
    }
}

impl Clone for SubmissionRequest {
    fn clone(&self) -> Self {
        SubmissionRequest {
            case_id: self.case_id,
            mechanism: self.mechanism,
            language: self.language.clone(),
            answers: self.answers.clone(),
            perpetrator_types: self.perpetrator_types.clone(),
        }
    }
}

impl std::fmt::Debug for SubmissionRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The answers are record content: never in a log. Their keys are not.
        f.debug_struct("SubmissionRequest")
            .field("case_id", &self.case_id)
            .field("mechanism", &self.mechanism)
            .field("language", &self.language)
            .field(
                "answers",
                &self
                    .answers
                    .iter()
                    .map(|a| a.key.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Drop for SubmissionRequest {
    fn drop(&mut self) {
        self.answers.iter_mut().for_each(|a| a.zeroize());
    }
}

/// Output format of a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmissionFormat {
    /// UTF-8 plain text (editable).
    Text,
    /// PDF.
    Pdf,
}

/// One element the submission lacks. Names records by id, never by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Missing {
    /// What is missing (`submitter`, `victim_age`, `domestic_remedies` …).
    pub code: String,
    /// The record it is about (a victim, an incident …), when there is one.
    pub record: Option<Uuid>,
    /// What to do, in plain English.
    pub message: String,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// What a submission holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionStats {
    /// Persons named.
    pub named: usize,
    /// Persons whose name was withheld.
    pub withheld: usize,
    /// Elements missing (written anyway because the user confirmed).
    pub missing: Vec<Missing>,
    /// Bytes (before encryption).
    pub bytes: usize,
    /// Pages (PDF; 0 for text).
    pub pages: usize,
}

/// The elements the submission would lack: first the consents not asked for this
/// mechanism, then the rest in the order of the document. Empty: nothing is missing.
pub fn missing_elements(vault: &Vault, r: &SubmissionRequest) -> Result<Vec<Missing>> {
    core::validate(r)?;
    let loaded = core::load(vault, r, &mut |_, _| {})?;
    Ok(core::check(&loaded, r))
}

/// The submission as bytes (text or PDF). Refused, listing what is missing (see
/// [`refusal`]), unless nothing is or `allow_missing` is true.
pub fn submission(
    vault: &Vault,
    r: &SubmissionRequest,
    f: SubmissionFormat,
    allow_missing: bool,
    progress: Progress<'_>,
) -> Result<(Zeroizing<Vec<u8>>, SubmissionStats)> {
    submission_with(vault, r, f, allow_missing, None, progress)
}

/// [`submission`], the PDF's context section also carrying the charts of the case's
/// published figures when `patterns` is given (counts below its threshold read "fewer
/// than N"; persons are counted, never named). A text submission has no charts.
pub fn submission_with(
    vault: &Vault,
    r: &SubmissionRequest,
    f: SubmissionFormat,
    allow_missing: bool,
    patterns: Option<crate::Patterns>,
    progress: Progress<'_>,
) -> Result<(Zeroizing<Vec<u8>>, SubmissionStats)> {
    core::validate(r)?;
    let (bytes, stats, _) = core::build(vault, r, f, allow_missing, patterns, progress)?;
    Ok((bytes, stats))
}

/// [`submission`], also counting the victims (for [`crate::unsr`]).
pub(crate) fn build_counting(
    vault: &Vault,
    r: &SubmissionRequest,
    f: SubmissionFormat,
    allow_missing: bool,
    progress: Progress<'_>,
) -> Result<(Zeroizing<Vec<u8>>, SubmissionStats, usize)> {
    core::validate(r)?;
    core::build(vault, r, f, allow_missing, None, progress)
}

/// What replaces the name of a person who did not consent, in `lang` (English for a
/// language without the text).
pub fn withheld_marker(lang: &str) -> &'static str {
    core::tr(lang, "common.withheld")
}

/// Writes the submission to a new file at `path` (see [`submission`]); nothing is
/// written when it is refused or fails.
pub fn export_submission(
    vault: &Vault,
    r: &SubmissionRequest,
    f: SubmissionFormat,
    allow_missing: bool,
    path: &Path,
    protection: &Protection,
    progress: Progress<'_>,
) -> Result<SubmissionStats> {
    export_submission_with(vault, r, f, allow_missing, None, path, protection, progress)
}

/// [`export_submission`] with the charts of [`submission_with`].
#[allow(clippy::too_many_arguments)]
pub fn export_submission_with(
    vault: &Vault,
    r: &SubmissionRequest,
    f: SubmissionFormat,
    allow_missing: bool,
    patterns: Option<crate::Patterns>,
    path: &Path,
    protection: &Protection,
    progress: Progress<'_>,
) -> Result<SubmissionStats> {
    let (bytes, stats) = submission_with(vault, r, f, allow_missing, patterns, progress)?;
    write_file(path, protection, |w| {
        w.write_all(&bytes)
            .map_err(|e| Error::io("writing the submission", e))
    })?;
    Ok(stats)
}

/// The message of a refused export: every missing element, one a line, then how to
/// export anyway.
pub fn refusal(m: Mechanism, missing: &[Missing]) -> String {
    let mut s = format!(
        "the submission to {} lacks {} element{} it asks for:",
        m.english_name(),
        missing.len(),
        if missing.len() == 1 { "" } else { "s" }
    );
    for x in missing {
        s.push_str("\n  ");
        s.push_str(&x.to_string());
    }
    s.push_str(
        "\ncomplete the case or the form, or confirm to export anyway (--allow-missing): \
         what is missing is then listed first in the document",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mechanism_reads_from_its_name_its_code_or_its_name_with_underscores() {
        for m in Mechanism::ALL {
            assert_eq!(Mechanism::parse(m.name()), Some(m));
            assert_eq!(Mechanism::parse(m.code()), Some(m));
            assert_eq!(Mechanism::parse(&m.name().replace('-', "_")), Some(m));
            assert_eq!(
                Mechanism::parse(&format!(" {} ", m.name().to_uppercase())),
                Some(m)
            );
            assert_eq!(
                custos_model::Consents::default().mechanism(m.code()),
                Some(Default::default())
            );
            assert!(
                custos_model::vocab::builtin()
                    .mechanisms
                    .get(m.code())
                    .is_some(),
                "{m}"
            );
        }
        assert_eq!(Mechanism::parse("un-sr-pdf"), None);
        assert_eq!(Mechanism::parse(""), None);
        assert_eq!(Mechanism::Iachr.languages()[0], "es");
        assert_eq!(Mechanism::Achpr.title("ar"), core::tr("ar", "achpr.title"));
        // A language the mechanism does not accept: English.
        assert_eq!(Mechanism::UnSr.title("de"), Mechanism::UnSr.title("en"));
    }

    #[test]
    fn question_keys_are_snake_case_unique_and_labelled_and_serialize_for_the_ui() {
        for m in Mechanism::ALL {
            let mut keys: Vec<&str> = m.questions().iter().map(|q| q.key).collect();
            assert!(keys.contains(&"submitter"), "{m}");
            for k in &keys {
                assert!(
                    k.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                    "{m}: {k}"
                );
                assert!(
                    !core::question_label("en", k).is_empty(),
                    "{m}: {k} has no label"
                );
            }
            keys.sort_unstable();
            let n = keys.len();
            keys.dedup();
            assert_eq!(keys.len(), n, "{m}: a question twice");
            for q in m.questions() {
                if let QuestionKind::Choice(c) | QuestionKind::Choices(c) = q.kind {
                    for code in c {
                        assert!(
                            core::CHOICE_KEYS.iter().any(|(x, _)| x == code),
                            "{m}: {code} has no label"
                        );
                    }
                }
            }
        }
        let json = serde_json::to_value(Mechanism::UnSr.questions()).unwrap();
        assert_eq!(
            json[0],
            serde_json::json!({"key": "type", "kind": {"type": "choice",
                "choices": ["urgent_appeal", "allegation_letter"]}, "required": true})
        );
        assert_eq!(json[1]["kind"], serde_json::json!({"type": "text"}));
        assert_eq!(
            serde_json::to_value(Mechanism::Observatory).unwrap(),
            serde_json::json!("observatory")
        );
        assert_eq!(
            serde_json::to_value(Mechanism::UnSr).unwrap(),
            serde_json::json!("un_sr")
        );
    }

    #[test]
    fn a_request_shows_no_answer_in_debug() {
        let r = SubmissionRequest {
            case_id: Uuid::nil(),
            mechanism: Mechanism::Eu,
            language: "fr".into(),
            answers: vec![FormField {
                key: "submitter".into(),
                value: "Zorblatt, +216 555".into(),
            }],
            perpetrator_types: vec![],
        };
        let d = format!("{r:?}");
        assert!(
            d.contains("submitter") && !d.contains("Zorblatt") && !d.contains("555"),
            "{d}"
        );
        assert_eq!(r.clone().answer("submitter"), "Zorblatt, +216 555");
        assert_eq!(r.answer("current_risk"), "");
    }

    #[test]
    fn the_refusal_lists_every_element_one_a_line_and_points_to_allow_missing() {
        let missing = vec![
            Missing {
                code: "consent_mechanism_not_asked".into(),
                record: Some(Uuid::nil()),
                message: "victim 1: ask".into(),
            },
            Missing {
                code: "domestic_remedies".into(),
                record: None,
                message: "describe them".into(),
            },
        ];
        let s = refusal(Mechanism::Achpr, &missing);
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), 4, "{s}");
        assert_eq!(
            lines[0],
            "the submission to the African Commission's Special Rapporteur on human rights \
             defenders lacks 2 elements it asks for:"
        );
        assert_eq!(lines[1], "  consent_mechanism_not_asked: victim 1: ask");
        assert_eq!(lines[2], "  domestic_remedies: describe them");
        assert!(lines[3].contains("--allow-missing"), "{s}");
    }
}
