//! An EU mission or delegation, acting under the EU Guidelines on Human Rights
//! Defenders (2004, updated 2008) and with ProtectDefenders.eu, the EU's mechanism.
//!
//! The Guidelines let missions raise a case with the authorities, make a public
//! statement, observe trials, visit defenders (in detention too), and help with
//! emergency visas and temporary relocation. A request says who the defenders are,
//! what happened and the risk now, and which of those actions it asks for. A public
//! statement is public: when it is asked, a person is named only with their consent to
//! publication as well.

use super::core::{self, split, Checks, Ctx};
use super::{Question, QuestionKind};
use crate::doc::Doc;

pub(crate) const ACTIONS: &[&str] = &[
    "public_statement",
    "raise_with_authorities",
    "trial_observation",
    "visit",
    "emergency_visa",
    "temporary_relocation",
];

/// How the submission calls a victim.
pub(crate) const VICTIM: &str = "eu.defender_n";

pub(crate) const QUESTIONS: &[Question] = &[
    Question {
        key: "submitter",
        kind: QuestionKind::Text,
        required: true,
    },
    Question {
        key: "action_requested",
        kind: QuestionKind::Choices(ACTIONS),
        required: true,
    },
    Question {
        key: "trial_date",
        kind: QuestionKind::Date,
        required: false,
    },
    Question {
        key: "current_risk",
        kind: QuestionKind::Text,
        required: true,
    },
    Question {
        key: "link_to_work",
        kind: QuestionKind::Text,
        required: false,
    },
    Question {
        key: "authorities_informed",
        kind: QuestionKind::Text,
        required: false,
    },
    Question {
        key: "context",
        kind: QuestionKind::Text,
        required: false,
    },
];

pub(crate) fn check(c: &Ctx<'_>, k: &mut Checks) {
    core::check_submitter(c, k);
    k.question(
        c,
        "action_requested",
        "say what you ask of the EU mission: a public statement, raising the case with the \
         authorities, trial observation, a visit, an emergency visa, temporary relocation",
    );
    if split(c.answer("action_requested")).any(|a| a == "trial_observation")
        && c.answer("trial_date").is_empty()
    {
        k.miss(
            "trial_date",
            None,
            "trial observation is asked: give the date of the trial or hearing",
        );
    }
    core::check_victims(c, k);
    core::check_incidents(c, k);
    k.question(
        c,
        "current_risk",
        "describe the risk the defenders face now",
    );
}

pub(crate) fn build(c: &Ctx<'_>, d: &mut Doc) {
    d.para(c.t("eu.intro"));
    d.heading(c.t("eu.h.submitter"));
    d.para(c.answer("submitter").to_owned());
    d.para(c.t("common.submitter_confidential"));
    d.heading(c.t("eu.h.action"));
    core::answer(c, d, "action_requested");
    if !c.answer("trial_date").is_empty() {
        core::answer(c, d, "trial_date");
    }
    core::victims(c, d, c.t("eu.h.defenders").to_owned());
    core::events(c, d, c.t("eu.h.situation").to_owned());
    core::answer(c, d, "current_risk");
    core::answer(c, d, "link_to_work");
    core::perpetrators(c, d, c.t("eu.h.perpetrators").to_owned());
    core::answer_section(
        c,
        d,
        c.t("eu.h.authorities").to_owned(),
        "authorities_informed",
    );
    core::actions(c, d, c.t("eu.h.actions").to_owned());
    core::answer_section(c, d, c.t("eu.h.context").to_owned(), "context");
    core::evidence(c, d, c.t("eu.h.annexes").to_owned());
}
