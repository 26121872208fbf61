//! The Observatory for the Protection of Human Rights Defenders (a joint programme of
//! OMCT and FIDH): a request for an urgent intervention.
//!
//! The Observatory verifies what it receives with its partners and may publish an urgent
//! appeal, write to the authorities, observe a trial or give material support. It asks
//! for the facts, who the defenders are and what work they do, how the facts are linked
//! to that work, the risk now, what the authorities were told and did, and whether the
//! information may be published and its source cited. Its appeals are public: a person
//! is named only with their consent to publication as well, unless the request asks the
//! Observatory not to publish.

use super::core::{self, Checks, Ctx};
use super::{Question, QuestionKind};
use crate::doc::Doc;

/// How the submission calls a victim.
pub(crate) const VICTIM: &str = "observatory.defender_n";

pub(crate) const QUESTIONS: &[Question] = &[
    Question {
        key: "submitter",
        kind: QuestionKind::Text,
        required: true,
    },
    Question {
        key: "link_to_work",
        kind: QuestionKind::Text,
        required: true,
    },
    Question {
        key: "current_risk",
        kind: QuestionKind::Text,
        required: true,
    },
    Question {
        key: "authorities_informed",
        kind: QuestionKind::Text,
        required: true,
    },
    Question {
        key: "consent_publish",
        kind: QuestionKind::Choice(&["yes", "no"]),
        required: true,
    },
    Question {
        key: "cite_source",
        kind: QuestionKind::Choice(&["yes", "no"]),
        required: true,
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
        "link_to_work",
        "explain how the facts are linked to the defenders' human rights work",
    );
    k.question(
        c,
        "current_risk",
        "describe the risk the defenders face now",
    );
    k.question(
        c,
        "authorities_informed",
        "say what the authorities were told (complaints, requests for protection) and what \
         they did, or why they were not told",
    );
    k.question(
        c,
        "consent_publish",
        "say whether the Observatory may publish an urgent appeal on the case",
    );
    k.question(
        c,
        "cite_source",
        "say whether the Observatory may name your organisation as its source",
    );
}

pub(crate) fn build(c: &Ctx<'_>, d: &mut Doc) {
    d.heading(c.t("observatory.h.submitter"));
    d.para(c.answer("submitter").to_owned());
    d.para(c.t("common.submitter_confidential"));
    core::victims(c, d, c.t("observatory.h.defenders").to_owned());
    core::events(c, d, c.t("observatory.h.facts").to_owned());
    core::answer_section(c, d, c.t("observatory.h.link").to_owned(), "link_to_work");
    core::answer_section(c, d, c.t("observatory.h.risk").to_owned(), "current_risk");
    core::answer_section(
        c,
        d,
        c.t("observatory.h.authorities").to_owned(),
        "authorities_informed",
    );
    core::actions(c, d, c.t("observatory.h.actions").to_owned());
    core::perpetrators(c, d, c.t("observatory.h.perpetrators").to_owned());
    d.heading(c.t("observatory.h.publication"));
    d.para(if c.answer("consent_publish") == "no" {
        c.t("observatory.private_note")
    } else {
        c.t("observatory.publication_note")
    });
    core::answer(c, d, "consent_publish");
    core::answer(c, d, "cite_source");
    core::answer_section(c, d, c.t("observatory.h.context").to_owned(), "context");
    core::evidence(c, d, c.t("observatory.h.annexes").to_owned());
}
