//! The Inter-American Commission on Human Rights: a request for precautionary measures
//! under Article 25 of its Rules of Procedure.
//!
//! Article 25 grants them in serious and urgent situations presenting a risk of
//! irreparable harm; a request gives the facts, identifies the proposed beneficiaries,
//! carries their express consent (or says why it could not be obtained), describes the
//! measures requested, and says whether the authorities were told of the situation, or
//! why they could not be.

use super::core::{self, Checks, Ctx};
use super::{Question, QuestionKind};
use crate::doc::Doc;

/// How the submission calls a victim.
pub(crate) const VICTIM: &str = "iachr.beneficiary_n";

pub(crate) const QUESTIONS: &[Question] = &[
    Question {
        key: "submitter",
        kind: QuestionKind::Text,
        required: true,
    },
    Question {
        key: "seriousness",
        kind: QuestionKind::Text,
        required: true,
    },
    Question {
        key: "urgency",
        kind: QuestionKind::Text,
        required: true,
    },
    Question {
        key: "irreparable_harm",
        kind: QuestionKind::Text,
        required: true,
    },
    Question {
        key: "authorities_informed",
        kind: QuestionKind::Text,
        required: true,
    },
    Question {
        key: "beneficiaries_consent",
        kind: QuestionKind::Choice(&["given", "not_possible"]),
        required: true,
    },
    Question {
        key: "consent_absence_reason",
        kind: QuestionKind::Text,
        required: false,
    },
    Question {
        key: "measures_requested",
        kind: QuestionKind::Text,
        required: true,
    },
    Question {
        key: "link_to_work",
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
    core::check_victims(c, k);
    core::check_incidents(c, k);
    k.question(
        c,
        "seriousness",
        "Article 25(2)(a): describe how serious the situation is (its impact on the rights \
         at stake)",
    );
    k.question(
        c,
        "urgency",
        "Article 25(2)(b): describe why it is urgent (the risk is imminent and may \
         materialise)",
    );
    k.question(
        c,
        "irreparable_harm",
        "Article 25(2)(c): describe the irreparable harm the beneficiaries risk",
    );
    k.question(
        c,
        "authorities_informed",
        "Article 25(6)(b): say whether the authorities were told of the situation and what \
         they did, or why they could not be told",
    );
    k.question(
        c,
        "beneficiaries_consent",
        "Article 25(4)(c): say whether the proposed beneficiaries gave their express \
         consent to the request",
    );
    if c.answer("beneficiaries_consent") == "not_possible"
        && c.answer("consent_absence_reason").is_empty()
    {
        k.miss(
            "consent_absence_reason",
            None,
            "Article 25(4)(c): explain why the beneficiaries' consent could not be obtained",
        );
    }
    k.question(
        c,
        "measures_requested",
        "Article 25(4)(d): describe the protection measures requested",
    );
}

pub(crate) fn build(c: &Ctx<'_>, d: &mut Doc) {
    d.heading(c.t("iachr.h.requester"));
    d.para(c.answer("submitter").to_owned());
    d.para(c.t("common.submitter_confidential"));
    core::victims(c, d, c.t("iachr.h.beneficiaries").to_owned());
    core::events(c, d, c.t("iachr.h.facts").to_owned());
    core::answer(c, d, "link_to_work");
    d.heading(c.t("iachr.h.requirements"));
    core::answer(c, d, "seriousness");
    core::answer(c, d, "urgency");
    core::answer(c, d, "irreparable_harm");
    core::answer_section(
        c,
        d,
        c.t("iachr.h.authorities").to_owned(),
        "authorities_informed",
    );
    core::actions(c, d, c.t("iachr.h.actions").to_owned());
    d.heading(c.t("iachr.h.consent"));
    core::answer(c, d, "beneficiaries_consent");
    if !c.answer("consent_absence_reason").is_empty() {
        core::answer(c, d, "consent_absence_reason");
    }
    core::answer_section(
        c,
        d,
        c.t("iachr.h.measures").to_owned(),
        "measures_requested",
    );
    core::perpetrators(c, d, c.t("iachr.h.perpetrators").to_owned());
    core::answer_section(c, d, c.t("iachr.h.context").to_owned(), "context");
    core::evidence(c, d, c.t("iachr.h.annexes").to_owned());
}
