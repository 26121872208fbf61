//! The UN Special Rapporteur on the situation of human rights defenders: an urgent
//! appeal (the violation is ongoing or about to happen) or an allegation letter (it has
//! happened).
//!
//! OHCHR's guidance on submitting information to the Special Procedures asks for: the
//! victims (name, age, sex, profession, residence, organisation, human rights work), the
//! events (date, place, description, the violation, their link to the human rights
//! work, the current risk), the alleged perpetrators (state or non-state), the actions
//! already taken at home and their results, the context, the submitter's identity (kept
//! confidential; anonymous submissions are not taken up) and the victims' consent.

use super::core::{self, Checks, Ctx};
use super::{Question, QuestionKind};
use crate::doc::Doc;

/// How the submission calls a victim.
pub(crate) const VICTIM: &str = "common.victim_n";

pub(crate) const QUESTIONS: &[Question] = &[
    Question {
        key: "type",
        kind: QuestionKind::Choice(&["urgent_appeal", "allegation_letter"]),
        required: true,
    },
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
        key: "context",
        kind: QuestionKind::Text,
        required: true,
    },
];

pub(crate) fn check(c: &Ctx<'_>, k: &mut Checks) {
    k.question(
        c,
        "type",
        "say whether it is an urgent appeal (ongoing or imminent) or an allegation letter",
    );
    core::check_submitter(c, k);
    core::check_victims(c, k);
    core::check_incidents(c, k);
    k.question(
        c,
        "link_to_work",
        "explain how the events are linked to the victims' human rights work",
    );
    k.question(c, "current_risk", "describe the risk the victims face now");
    core::check_perpetrators(c, k);
    core::check_actions(c, k);
    k.question(
        c,
        "context",
        "describe the context and patterns (similar cases, the situation of defenders)",
    );
}

pub(crate) fn build(c: &Ctx<'_>, d: &mut Doc) {
    let kind = match c.answer("type") {
        "urgent_appeal" => c.t("un_sr.urgent_appeal"),
        "allegation_letter" => c.t("un_sr.allegation_letter"),
        _ => c.t("common.not_stated"),
    };
    d.field(c.t("common.q.type"), kind);
    d.heading(c.t("un_sr.h.submitter"));
    d.para(c.answer("submitter").to_owned());
    d.para(c.t("common.submitter_confidential"));
    core::victims(c, d, c.t("un_sr.h.victims").to_owned());
    core::events(c, d, c.t("un_sr.h.events").to_owned());
    core::answer(c, d, "link_to_work");
    core::answer(c, d, "current_risk");
    core::perpetrators(c, d, c.t("un_sr.h.perpetrators").to_owned());
    core::actions(c, d, c.t("un_sr.h.actions").to_owned());
    core::answer_section(c, d, c.t("un_sr.h.context").to_owned(), "context");
    core::evidence(c, d, c.t("un_sr.h.annexes").to_owned());
}
