//! The Special Rapporteur on Human Rights Defenders in Africa of the African Commission
//! on Human and Peoples' Rights: a communication meeting the admissibility conditions
//! of Article 56 of the African Charter (and the Commission's Rules of Procedure, 2020).
//!
//! Article 56: the authors are identified (even if they ask for anonymity); the
//! communication is compatible with the Charter; it is not written in disparaging or
//! insulting language; it is not based only on news from the mass media; domestic
//! remedies are exhausted, unless unavailable, ineffective or unduly prolonged; it is
//! submitted within a reasonable time after they were; and the matter has not been
//! settled under another international procedure.

use super::core::{self, Checks, Ctx};
use super::{Question, QuestionKind};
use crate::doc::Doc;

/// How the submission calls a victim.
pub(crate) const VICTIM: &str = "common.victim_n";

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
        key: "remedies_status",
        kind: QuestionKind::Choice(&[
            "exhausted",
            "unavailable",
            "ineffective",
            "unduly_prolonged",
        ]),
        required: true,
    },
    Question {
        key: "domestic_remedies",
        kind: QuestionKind::Text,
        required: true,
    },
    Question {
        key: "final_decision_date",
        kind: QuestionKind::Date,
        required: false,
    },
    Question {
        key: "other_procedure",
        kind: QuestionKind::Choice(&["yes", "no"]),
        required: true,
    },
    Question {
        key: "respectful_language",
        kind: QuestionKind::Choice(&["yes", "no"]),
        required: true,
    },
    Question {
        key: "current_risk",
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
    k.question(
        c,
        "submitter",
        "Article 56(1): identify the authors of the communication (name, organisation, \
         address); they may ask the Commission to keep their identity from the State",
    );
    core::check_victims(c, k);
    core::check_incidents(c, k);
    k.question(
        c,
        "link_to_work",
        "explain how the facts are linked to the victims' human rights work",
    );
    core::check_perpetrators(c, k);
    k.question(
        c,
        "remedies_status",
        "Article 56(5): say whether domestic remedies are exhausted, or unavailable, \
         ineffective or unduly prolonged",
    );
    k.question(
        c,
        "domestic_remedies",
        "Article 56(5): describe the domestic remedies used (courts, complaints) and their \
         outcome, or why none could be used",
    );
    if c.answer("remedies_status") == "exhausted" && c.answer("final_decision_date").is_empty() {
        k.miss(
            "final_decision_date",
            None,
            "Article 56(6): give the date of the final domestic decision (the communication \
             must come within a reasonable time of it)",
        );
    }
    if c.l.evidence.is_empty() {
        k.miss(
            "evidence",
            None,
            "Article 56(4): attach evidence beyond news reports (statements, documents, \
             photographs, medical or court records)",
        );
    }
    k.question(
        c,
        "other_procedure",
        "Article 56(7): say whether the matter was submitted to another international \
         procedure",
    );
    match c.answer("respectful_language") {
        "yes" => {}
        "no" => k.miss(
            "respectful_language",
            None,
            "Article 56(3): a communication in disparaging or insulting language against \
             the State or its institutions is inadmissible; reword it, then confirm",
        ),
        _ => k.question(
            c,
            "respectful_language",
            "Article 56(3): confirm the communication contains no disparaging or insulting \
             language against the State or its institutions",
        ),
    }
}

pub(crate) fn build(c: &Ctx<'_>, d: &mut Doc) {
    d.heading(c.t("achpr.h.authors"));
    d.para(c.answer("submitter").to_owned());
    d.para(c.t("achpr.authors_note"));
    core::victims(c, d, c.t("achpr.h.victims").to_owned());
    core::events(c, d, c.t("achpr.h.facts").to_owned());
    core::answer(c, d, "link_to_work");
    core::answer(c, d, "current_risk");
    core::perpetrators(c, d, c.t("achpr.h.perpetrators").to_owned());
    d.heading(c.t("achpr.h.admissibility"));
    d.subheading(c.t("achpr.a56_1"));
    d.para(c.t("achpr.a56_1_text"));
    d.subheading(c.t("achpr.a56_3"));
    core::answer(c, d, "respectful_language");
    d.subheading(c.t("achpr.a56_4"));
    d.para(c.tn("achpr.a56_4_text", c.l.evidence.len()));
    d.subheading(c.t("achpr.a56_5"));
    core::answer(c, d, "remedies_status");
    core::answer(c, d, "domestic_remedies");
    core::actions(c, d, c.t("achpr.h.remedies_used").to_owned());
    d.subheading(c.t("achpr.a56_6"));
    core::answer(c, d, "final_decision_date");
    d.subheading(c.t("achpr.a56_7"));
    core::answer(c, d, "other_procedure");
    core::answer_section(c, d, c.t("achpr.h.context").to_owned(), "context");
    core::evidence(c, d, c.t("achpr.h.annexes").to_owned());
}
