//! What every submission shares: the fixed text in each language, the consent rule, the
//! redaction of withheld names, the checks and the sections built from the case.

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::NaiveDate;
use uuid::Uuid;
use zeroize::{Zeroize, Zeroizing};

use super::{
    Mechanism, Missing, QuestionKind, SubmissionFormat, SubmissionRequest, SubmissionStats,
};
use crate::doc::{Block, Doc};
use crate::{
    act_label, age_at, date_text, instruments_of, mechanism_label, place_text, roles_of, Loaded,
    Progress, Selection,
};
use custos_model::{Consent, InterventionStatus, Person, Precision, Role};
use custos_vault::error::{Error, Result};
use custos_vault::Vault;

// ----- the fixed text -----

/// The locale files: language code and its JSON (`key: text`).
pub(crate) const LOCALES: &[(&str, &str)] = &[
    ("en", include_str!("../../locales/en.json")),
    ("fr", include_str!("../../locales/fr.json")),
    ("es", include_str!("../../locales/es.json")),
    ("pt", include_str!("../../locales/pt.json")),
    ("ar", include_str!("../../locales/ar.json")),
];

type Table = HashMap<String, String>;

pub(crate) fn locales() -> &'static HashMap<&'static str, Table> {
    static L: OnceLock<HashMap<&'static str, Table>> = OnceLock::new();
    L.get_or_init(|| {
        LOCALES
            .iter()
            // A damaged file is caught by the unit tests; at run time it reads as empty
            // and English (then the key) stands in.
            .map(|(lang, json)| (*lang, serde_json::from_str(json).unwrap_or_default()))
            .collect()
    })
}

/// The text of `key` in `lang`, else in English, else the key itself.
pub(crate) fn tr(lang: &str, key: &'static str) -> &'static str {
    let l = locales();
    l.get(lang)
        .and_then(|t| t.get(key))
        .or_else(|| l.get("en").and_then(|t| t.get(key)))
        .map_or(key, String::as_str)
}

/// [`tr`] with `{n}` replaced.
pub(crate) fn trn(lang: &str, key: &'static str, n: usize) -> String {
    tr(lang, key).replace("{n}", &n.to_string())
}

// ----- the request -----

/// Refuses a language the mechanism does not accept and answers the form does not ask.
pub(crate) fn validate(r: &SubmissionRequest) -> Result<()> {
    let m = r.mechanism;
    if !m.languages().contains(&r.language.as_str()) {
        return Err(Error::Invalid(format!(
            "{} does not accept the language '{}'; it accepts: {}",
            m.english_name(),
            r.language.chars().take(16).collect::<String>(),
            m.languages().join(", ")
        )));
    }
    for a in &r.answers {
        let Some(q) = m.questions().iter().find(|q| q.key == a.key) else {
            return Err(Error::Invalid(format!(
                "the form of the {} submission has no question '{}'; its questions: {}",
                m.name(),
                a.key.chars().take(40).collect::<String>(),
                m.questions()
                    .iter()
                    .map(|q| q.key)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        let v = a.value.trim();
        if v.is_empty() {
            continue;
        }
        match q.kind {
            QuestionKind::Choice(c) if !c.contains(&v) => {
                return Err(Error::Invalid(format!(
                    "'{}' takes one of: {}",
                    q.key,
                    c.join(", ")
                )))
            }
            // The answer is not repeated: text typed in the wrong place may be a
            // record's content.
            QuestionKind::Choices(c) if split(v).any(|x| !c.contains(&x)) => {
                return Err(Error::Invalid(format!(
                    "'{}' takes any of: {} (comma-separated)",
                    q.key,
                    c.join(", ")
                )))
            }
            QuestionKind::Date if NaiveDate::parse_from_str(v, "%Y-%m-%d").is_err() => {
                return Err(Error::Invalid(format!(
                    "'{}' takes a date as YYYY-MM-DD",
                    q.key
                )))
            }
            _ => {}
        }
    }
    Ok(())
}

/// The codes of a `Choices` answer.
pub(crate) fn split(v: &str) -> impl Iterator<Item = &str> {
    v.split(',').map(str::trim).filter(|x| !x.is_empty())
}

pub(crate) fn load(vault: &Vault, r: &SubmissionRequest, progress: Progress<'_>) -> Result<Loaded> {
    let ids = Selection::cases([r.case_id]).resolve(vault)?;
    Loaded::load(vault, &ids, progress)
}

// ----- consent -----

/// A use a submission makes of a person's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    /// The mechanism itself.
    Mechanism,
    /// The state concerned (every mechanism takes the case up with it).
    Government,
    /// Publication (the Observatory's urgent appeals, an EU public statement).
    Publish,
}

impl Use {
    fn consent(self, p: &Person, m: Mechanism) -> Consent {
        match self {
            Use::Mechanism => p.consent.mechanism(m.code()).unwrap_or_default(),
            Use::Government => p.consent.share_with_government,
            Use::Publish => p.consent.publish,
        }
    }

    fn not_asked_code(self) -> &'static str {
        match self {
            Use::Mechanism => "consent_mechanism_not_asked",
            Use::Government => "consent_government_not_asked",
            Use::Publish => "consent_publish_not_asked",
        }
    }

    fn what(self, m: Mechanism) -> String {
        match self {
            Use::Mechanism => format!("named to {}", m.english_name()),
            Use::Government => "named to the government".into(),
            Use::Publish => "named in public".into(),
        }
    }
}

/// The uses a submission makes of a name: a person is named only when all are given.
pub(crate) fn uses(r: &SubmissionRequest) -> Vec<Use> {
    let mut u = vec![Use::Mechanism, Use::Government];
    let public = match r.mechanism {
        // Its urgent appeals are public, unless the submitter asks it not to publish.
        Mechanism::Observatory => r.answer("consent_publish") != "no",
        Mechanism::Eu => split(r.answer("action_requested")).any(|a| a == "public_statement"),
        _ => false,
    };
    if public {
        u.push(Use::Publish);
    }
    u
}

/// The consents the submission asks about (and reports), named or not: its uses, and
/// for the UN Special Rapporteur also publication (the mandate asks for both).
fn asked(r: &SubmissionRequest) -> Vec<Use> {
    let mut u = uses(r);
    if r.mechanism == Mechanism::UnSr && !u.contains(&Use::Publish) {
        u.push(Use::Publish);
    }
    u
}

/// Whether the submission may name `p`.
pub(crate) fn named(r: &SubmissionRequest, p: &Person) -> bool {
    uses(r)
        .into_iter()
        .all(|u| u.consent(p, r.mechanism) == Consent::Given)
}

// ----- the people of the case -----

/// Persons with their record ids.
pub(crate) type People<'a> = Vec<(Uuid, &'a Person)>;

/// Everything a mechanism's checks and sections read.
pub(crate) struct Ctx<'a> {
    pub l: &'a Loaded,
    pub r: &'a SubmissionRequest,
    pub lang: &'a str,
    pub victims: People<'a>,
    pub perpetrators: People<'a>,
    pub today: NaiveDate,
    /// The charts of the case's published figures, drawn in the context section (PDF,
    /// when asked for).
    pub charts: Vec<custos_patterns::Scene>,
}

impl<'a> Ctx<'a> {
    pub fn new(l: &'a Loaded, r: &'a SubmissionRequest) -> Ctx<'a> {
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
        // In record-id order, not by name: the place of a withheld person among the
        // others must not hint at their name.
        victims.sort_by_key(|(id, _)| *id);
        perpetrators.sort_by_key(|(id, _)| *id);
        Ctx {
            l,
            r,
            lang: &r.language,
            victims,
            perpetrators,
            today: chrono::Utc::now().date_naive(),
            charts: Vec::new(),
        }
    }

    pub fn t(&self, key: &'static str) -> &'static str {
        tr(self.lang, key)
    }

    pub fn tn(&self, key: &'static str, n: usize) -> String {
        trn(self.lang, key, n)
    }

    pub fn named(&self, p: &Person) -> bool {
        named(self.r, p)
    }

    pub fn answer(&self, key: &str) -> &str {
        self.r.answer(key)
    }

    /// A person as the document refers to them: "Victim 2", "Alleged perpetrator 1",
    /// their name, or the withheld marker.
    pub fn label_of(&self, id: Uuid) -> String {
        if let Some(n) = self.victims.iter().position(|(v, _)| *v == id) {
            return self.tn(self.victim_key(), n + 1);
        }
        if let Some(n) = self.perpetrators.iter().position(|(v, _)| *v == id) {
            return self.tn("common.perpetrator_n", n + 1);
        }
        match self.l.person(id) {
            Some(p) if self.named(p) => p.name.clone(),
            _ => self.t("common.withheld").to_owned(),
        }
    }

    /// How the mechanism calls a victim ("Victim 1", "Defender 1", "Proposed
    /// beneficiary 1").
    pub fn victim_key(&self) -> &'static str {
        match self.r.mechanism {
            Mechanism::UnSr => super::un_sr::VICTIM,
            Mechanism::Observatory => super::observatory::VICTIM,
            Mechanism::Eu => super::eu::VICTIM,
            Mechanism::Achpr => super::achpr::VICTIM,
            Mechanism::Iachr => super::iachr::VICTIM,
        }
    }

    /// The actions already taken: interventions that are not drafts.
    pub fn taken(&self) -> Vec<&'a (Uuid, custos_model::Intervention)> {
        self.l
            .interventions
            .iter()
            .filter(|(_, i)| i.status != InterventionStatus::Draft)
            .collect()
    }

    /// A choice's label in the document's language.
    pub fn choice(&self, code: &str) -> String {
        choice_label(self.lang, code)
    }
}

fn choice_label(lang: &str, code: &str) -> String {
    let key = CHOICE_KEYS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, k)| *k);
    key.map_or_else(|| code.to_owned(), |k| tr(lang, k).to_owned())
}

/// The label of every choice code the forms offer.
pub(crate) const CHOICE_KEYS: &[(&str, &str)] = &[
    ("urgent_appeal", "common.choice.urgent_appeal"),
    ("allegation_letter", "common.choice.allegation_letter"),
    ("yes", "common.choice.yes"),
    ("no", "common.choice.no"),
    ("public_statement", "common.choice.public_statement"),
    (
        "raise_with_authorities",
        "common.choice.raise_with_authorities",
    ),
    ("trial_observation", "common.choice.trial_observation"),
    ("visit", "common.choice.visit"),
    ("emergency_visa", "common.choice.emergency_visa"),
    ("temporary_relocation", "common.choice.temporary_relocation"),
    ("exhausted", "common.choice.exhausted"),
    ("unavailable", "common.choice.unavailable"),
    ("ineffective", "common.choice.ineffective"),
    ("unduly_prolonged", "common.choice.unduly_prolonged"),
    ("given", "common.choice.given"),
    ("not_possible", "common.choice.not_possible"),
];

/// The label of a question in the document.
pub(crate) fn question_label(lang: &str, key: &str) -> &'static str {
    QUESTION_KEYS
        .iter()
        .find(|(k, _)| *k == key)
        .map_or("", |(_, l)| tr(lang, l))
}

/// The document label of every question key the forms use.
pub(crate) const QUESTION_KEYS: &[(&str, &str)] = &[
    ("type", "common.q.type"),
    ("submitter", "common.q.submitter"),
    ("link_to_work", "common.q.link_to_work"),
    ("current_risk", "common.q.current_risk"),
    ("context", "common.q.context"),
    ("authorities_informed", "common.q.authorities_informed"),
    ("action_requested", "common.q.action_requested"),
    ("consent_publish", "common.q.consent_publish"),
    ("cite_source", "common.q.cite_source"),
    ("trial_date", "common.q.trial_date"),
    ("domestic_remedies", "common.q.domestic_remedies"),
    ("remedies_status", "common.q.remedies_status"),
    ("final_decision_date", "common.q.final_decision_date"),
    ("other_procedure", "common.q.other_procedure"),
    ("respectful_language", "common.q.respectful_language"),
    ("seriousness", "common.q.seriousness"),
    ("urgency", "common.q.urgency"),
    ("irreparable_harm", "common.q.irreparable_harm"),
    ("beneficiaries_consent", "common.q.beneficiaries_consent"),
    ("consent_absence_reason", "common.q.consent_absence_reason"),
    ("measures_requested", "common.q.measures_requested"),
];

// ----- the checks -----

/// Collects missing elements.
pub(crate) struct Checks {
    pub out: Vec<Missing>,
}

impl Checks {
    pub fn miss(&mut self, code: &str, record: Option<Uuid>, message: impl Into<String>) {
        self.out.push(Missing {
            code: code.to_owned(),
            record,
            message: message.into(),
        });
    }

    /// A required question left empty.
    pub fn question(&mut self, c: &Ctx<'_>, key: &'static str, message: &str) {
        let required =
            c.r.mechanism
                .questions()
                .iter()
                .any(|q| q.key == key && q.required);
        if required && c.answer(key).is_empty() {
            self.miss(key, None, message);
        }
    }
}

/// The consents first: every victim's consent for each use the submission makes.
pub(crate) fn check_consents(c: &Ctx<'_>, k: &mut Checks) {
    let m = c.r.mechanism;
    for (n, (id, p)) in c.victims.iter().enumerate() {
        let who = format!("victim {} (record {id})", n + 1);
        let mut refused = Vec::new();
        for u in asked(c.r) {
            match u.consent(p, m) {
                Consent::Given => {}
                Consent::NotAsked => k.miss(
                    u.not_asked_code(),
                    Some(*id),
                    format!(
                        "{who}: ask whether they may be {}; until they agree the submission \
                         withholds their name and details",
                        u.what(m)
                    ),
                ),
                Consent::Refused if uses(c.r).contains(&u) => refused.push(u.what(m)),
                Consent::Refused => {}
            }
        }
        if !refused.is_empty() {
            k.miss(
                "victim_withheld",
                Some(*id),
                format!(
                    "{who} did not agree to be {}: the submission withholds their name and \
                     details, which may keep the mechanism from acting",
                    refused.join(" or ")
                ),
            );
        }
    }
}

/// The submitter, when the form asks who submits.
pub(crate) fn check_submitter(c: &Ctx<'_>, k: &mut Checks) {
    k.question(
        c,
        "submitter",
        "say who submits (name, organisation, safe contact); the mechanism keeps it \
         confidential and does not act on anonymous submissions",
    );
}

/// The victims and what the mechanism asks of each one named.
pub(crate) fn check_victims(c: &Ctx<'_>, k: &mut Checks) {
    if c.victims.is_empty() {
        k.miss(
            "victim",
            None,
            "no person of the case is a victim: add the victim, or give a person the victim \
             role",
        );
    }
    for (n, (id, p)) in c.victims.iter().enumerate() {
        if !c.named(p) {
            continue;
        }
        let who = format!("victim {} (record {id})", n + 1);
        let fields = [
            (
                "victim_age",
                p.birth_date.is_none(),
                "date of birth (for the age)",
            ),
            ("victim_sex", p.sex.trim().is_empty(), "sex"),
            (
                "victim_profession",
                p.occupation.trim().is_empty(),
                "profession",
            ),
            (
                "victim_residence",
                p.residence.trim().is_empty(),
                "place of residence",
            ),
            (
                "victim_organisation",
                p.organisation.trim().is_empty(),
                "organisation",
            ),
            (
                "victim_human_rights_work",
                p.human_rights_work.trim().is_empty(),
                "the human rights work they do",
            ),
        ];
        for (code, lacking, what) in fields {
            if lacking {
                k.miss(code, Some(*id), format!("{who}: add their {what}"));
            }
        }
    }
}

/// The incidents: date, place, description, violation.
pub(crate) fn check_incidents(c: &Ctx<'_>, k: &mut Checks) {
    if c.l.incidents.is_empty() {
        k.miss(
            "incident",
            None,
            "the case has no incident: add what happened",
        );
    }
    for (id, i) in &c.l.incidents {
        let what = format!("incident {id}");
        if i.start.is_none() {
            k.miss(
                "incident_date",
                Some(*id),
                format!("{what}: add its date (an approximate date will do)"),
            );
        }
        if place_text(i.location.as_ref()).is_empty() {
            k.miss(
                "incident_place",
                Some(*id),
                format!("{what}: add where it happened"),
            );
        }
        if i.description.trim().is_empty() {
            k.miss(
                "incident_description",
                Some(*id),
                format!("{what}: describe what happened"),
            );
        }
        if i.act_types.is_empty() {
            k.miss(
                "incident_violation",
                Some(*id),
                format!("{what}: add the type of act (the violation suffered or threatened)"),
            );
        }
    }
}

/// The alleged perpetrators and whether each acts for the state.
pub(crate) fn check_perpetrators(c: &Ctx<'_>, k: &mut Checks) {
    if c.perpetrators.is_empty() {
        k.miss(
            "perpetrator",
            None,
            "no alleged perpetrator: add them to the case (a person or group with the \
             perpetrator role; \"unknown\" is an answer)",
        );
    }
    for (id, _) in &c.perpetrators {
        if !c.r.perpetrator_types.iter().any(|(p, _)| p == id) {
            k.miss(
                "perpetrator_type",
                Some(*id),
                format!(
                    "alleged perpetrator (record {id}): say whether they are a state or a \
                     non-state actor"
                ),
            );
        }
    }
}

/// The actions already taken and their results.
pub(crate) fn check_actions(c: &Ctx<'_>, k: &mut Checks) {
    let taken = c.taken();
    if taken.is_empty() {
        k.miss(
            "actions_taken",
            None,
            "no action already taken is recorded (complaint, court case, appeal): add them as \
             interventions, or say none was possible in the context",
        );
    }
    for (id, i) in taken {
        if matches!(
            i.status,
            InterventionStatus::Responded | InterventionStatus::Closed
        ) && i.response.trim().is_empty()
        {
            k.miss(
                "action_result",
                Some(*id),
                format!("intervention {id}: record its result (the answer received)"),
            );
        }
    }
}

/// Every missing element of the request's mechanism, consents first.
pub(crate) fn check(l: &Loaded, r: &SubmissionRequest) -> Vec<Missing> {
    let c = Ctx::new(l, r);
    let mut k = Checks { out: Vec::new() };
    check_consents(&c, &mut k);
    match r.mechanism {
        Mechanism::UnSr => super::un_sr::check(&c, &mut k),
        Mechanism::Observatory => super::observatory::check(&c, &mut k),
        Mechanism::Eu => super::eu::check(&c, &mut k),
        Mechanism::Achpr => super::achpr::check(&c, &mut k),
        Mechanism::Iachr => super::iachr::check(&c, &mut k),
    }
    k.out
}

// ----- the sections -----

/// A labelled value, shown even when empty ("not stated" in the submission's language).
fn always(c: &Ctx<'_>, d: &mut Doc, label: &str, value: impl Into<String>) {
    let v = value.into();
    let v = if v.trim().is_empty() {
        c.t("common.not_stated").to_owned()
    } else {
        v
    };
    d.blocks.push(Block::Field(label.to_owned(), v));
}

/// A date as precise as it is known, ISO (`2024-05-02`, `2024-05`, `2024`), an
/// approximate one with "about" in the submission's language.
fn date_in(c: &Ctx<'_>, x: &custos_model::FuzzyDate) -> String {
    match x.precision {
        Precision::Approximate => c
            .t("common.about_n")
            .replace("{n}", &x.date.format("%Y-%m-%d").to_string()),
        _ => date_text(x),
    }
}

fn age_text(c: &Ctx<'_>, p: &Person) -> String {
    let Some(b) = &p.birth_date else {
        return String::new();
    };
    match age_at(b, c.today) {
        Some(a) if matches!(b.precision, Precision::Day) => a.to_string(),
        Some(a) => c.tn("common.about_n", a as usize),
        None => String::new(),
    }
}

fn consent_text(c: &Ctx<'_>, v: Consent) -> &'static str {
    match v {
        Consent::Given => c.t("common.consent.given"),
        Consent::Refused => c.t("common.consent.refused"),
        Consent::NotAsked => c.t("common.consent.not_asked"),
    }
}

/// The victims (or beneficiaries): every detail of a named one; of a withheld one only
/// the marker, their sex, and why.
pub(crate) fn victims(c: &Ctx<'_>, d: &mut Doc, heading: String) {
    d.heading(heading);
    if c.victims.is_empty() {
        d.para(c.t("common.no_victim"));
    }
    for (n, (_, p)) in c.victims.iter().enumerate() {
        d.subheading(c.tn(c.victim_key(), n + 1));
        if c.named(p) {
            d.field(c.t("common.name"), p.name.clone());
            d.field(c.t("common.other_names"), p.other_names.join("; "));
            if p.is_group {
                d.field(
                    c.t("common.group"),
                    p.group_size
                        .map(|s| c.tn("common.group_of_n", s as usize))
                        .unwrap_or_else(|| c.t("common.choice.yes").to_owned()),
                );
            }
            always(c, d, c.t("common.age"), age_text(c, p));
            always(c, d, c.t("common.sex"), p.sex.clone());
            always(c, d, c.t("common.profession"), p.occupation.clone());
            always(c, d, c.t("common.residence"), p.residence.clone());
            d.field(c.t("common.citizenship"), p.citizenship.clone());
            always(c, d, c.t("common.organisation"), p.organisation.clone());
            always(c, d, c.t("common.hr_work"), p.human_rights_work.clone());
        } else {
            d.field(c.t("common.name"), c.t("common.withheld"));
            d.field(c.t("common.sex"), p.sex.clone());
            d.para(c.t("common.withheld_explained"));
        }
        for u in asked(c.r) {
            let (label, v) = match u {
                Use::Mechanism => ("common.consent_mechanism", u.consent(p, c.r.mechanism)),
                Use::Government => ("common.consent_government", p.consent.share_with_government),
                Use::Publish => ("common.consent_publish", p.consent.publish),
            };
            d.field(c.t(label), consent_text(c, v));
        }
    }
}

/// The case and its incidents.
pub(crate) fn events(c: &Ctx<'_>, d: &mut Doc, heading: String) {
    d.heading(heading);
    if let Some(case) = c.l.case(c.r.case_id) {
        d.field(c.t("common.case_title"), case.title.clone());
        d.field(c.t("common.summary"), case.summary.clone());
        let tags: Vec<&str> = case
            .tags
            .iter()
            .map(|t| t.trim())
            .filter(|t| !t.is_empty())
            .collect();
        d.field(c.t("common.keywords"), tags.join("; "));
    }
    if c.l.incidents.is_empty() {
        d.para(c.t("common.no_incident"));
    }
    for (n, (_, i)) in c.l.incidents.iter().enumerate() {
        d.subheading(format!("{}: {}", c.tn("common.event_n", n + 1), i.title));
        let mut date = i.start.as_ref().map(|x| date_in(c, x)).unwrap_or_default();
        if let Some(e) = &i.end {
            date = format!("{date} – {}", date_in(c, e));
        }
        always(c, d, c.t("common.date"), date);
        always(c, d, c.t("common.place"), place_text(i.location.as_ref()));
        always(c, d, c.t("common.description"), i.description.clone());
        let mut violation = i
            .act_types
            .iter()
            .map(|x| act_label(x, c.lang))
            .collect::<Vec<_>>()
            .join("; ");
        let instruments = instruments_of(&i.act_types, c.lang);
        if !instruments.is_empty() {
            violation = format!(
                "{violation} ({}: {})",
                c.t("common.rights_affected"),
                instruments.join("; ")
            );
        }
        always(c, d, c.t("common.violation"), violation);
        d.field(c.t("common.consequences"), i.impact.clone());
        let involved: Vec<String> = i
            .persons
            .iter()
            .filter(|inv| matches!(inv.role, Role::Victim | Role::Perpetrator))
            .map(|inv| c.label_of(inv.person_id))
            .collect();
        d.field(c.t("common.persons_concerned"), involved.join("; "));
    }
}

/// The alleged perpetrators: name (or the marker), state or not, affiliation.
pub(crate) fn perpetrators(c: &Ctx<'_>, d: &mut Doc, heading: String) {
    d.heading(heading);
    if c.perpetrators.is_empty() {
        d.para(c.t("common.no_perpetrator"));
    }
    for (n, (id, p)) in c.perpetrators.iter().enumerate() {
        d.subheading(c.tn("common.perpetrator_n", n + 1));
        if c.named(p) {
            d.field(c.t("common.name"), p.name.clone());
        } else {
            d.field(c.t("common.name"), c.t("common.withheld"));
        }
        let kind =
            c.r.perpetrator_types
                .iter()
                .find(|(x, _)| x == id)
                .map(|(_, t)| match t {
                    super::PerpetratorType::State => c.t("common.state_actor"),
                    super::PerpetratorType::NonState => c.t("common.non_state_actor"),
                })
                .unwrap_or("");
        always(c, d, c.t("common.type"), kind);
        // The affiliation says who is responsible; it stays even when the name goes.
        d.field(c.t("common.affiliation"), p.organisation.clone());
        d.field(c.t("common.position"), p.occupation.clone());
    }
}

/// The actions already taken (interventions that are not drafts) and their results.
pub(crate) fn actions(c: &Ctx<'_>, d: &mut Doc, heading: String) {
    d.heading(heading);
    let taken = c.taken();
    if taken.is_empty() {
        d.para(c.t("common.none_recorded"));
    }
    for (_, i) in taken {
        d.subheading(i.title.clone());
        if !i.mechanism.is_empty() {
            d.field(
                c.t("common.addressed_to"),
                mechanism_label(&i.mechanism, c.lang),
            );
        }
        d.field(
            c.t("common.date"),
            i.date
                .map(|x| x.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
        );
        d.field(c.t("common.channel"), i.channel.clone());
        d.field(c.t("common.status"), status_text(c, i.status));
        d.field(c.t("common.reference"), i.reference.clone());
        let result = if i.response.trim().is_empty() {
            c.t("common.no_answer").to_owned()
        } else {
            i.response.clone()
        };
        d.field(c.t("common.result"), result);
    }
}

fn status_text(c: &Ctx<'_>, s: InterventionStatus) -> &'static str {
    match s {
        InterventionStatus::Draft => c.t("common.status.draft"),
        InterventionStatus::Sent => c.t("common.status.sent"),
        InterventionStatus::Acknowledged => c.t("common.status.acknowledged"),
        InterventionStatus::Responded => c.t("common.status.responded"),
        InterventionStatus::Closed => c.t("common.status.closed"),
    }
}

/// The evidence attached (file name, description, SHA-256); the files go separately.
pub(crate) fn evidence(c: &Ctx<'_>, d: &mut Doc, heading: String) {
    d.heading(heading);
    if c.l.evidence.is_empty() {
        d.para(c.t("common.none_recorded"));
        return;
    }
    d.para(c.t("common.evidence_intro"));
    for (n, (_, e)) in c.l.evidence.iter().enumerate() {
        d.subheading(c.tn("common.annex_n", n + 1));
        d.field(c.t("common.file_name"), e.file_name.clone());
        d.field(c.t("common.description"), e.description.clone());
        d.field("SHA-256", e.sha256.clone());
    }
}

/// An answer of the form as a labelled value ("not stated" when empty).
pub(crate) fn answer(c: &Ctx<'_>, d: &mut Doc, key: &'static str) {
    let q = c.r.mechanism.questions().iter().find(|q| q.key == key);
    let v = c.answer(key);
    let text = match q.map(|q| q.kind) {
        Some(QuestionKind::Choice(_)) if !v.is_empty() => c.choice(v),
        Some(QuestionKind::Choices(_)) => {
            split(v).map(|x| c.choice(x)).collect::<Vec<_>>().join("; ")
        }
        _ => v.to_owned(),
    };
    let text = if text.trim().is_empty() {
        c.t("common.not_stated").to_owned()
    } else {
        text
    };
    d.blocks
        .push(Block::Field(question_label(c.lang, key).to_owned(), text));
}

/// An answer as a section of its own: the heading, then the text.
pub(crate) fn answer_section(c: &Ctx<'_>, d: &mut Doc, heading: String, key: &'static str) {
    d.heading(heading);
    let v = c.answer(key);
    d.para(if v.is_empty() {
        c.t("common.not_stated").to_owned()
    } else {
        v.to_owned()
    });
    if key == "context" {
        for scene in &c.charts {
            d.figure(scene.clone());
        }
    }
}

// ----- the whole -----

/// Builds the submission: refused while something is missing unless `allow_missing`.
/// Returns the bytes, the figures, and the number of victims.
pub(crate) fn build(
    vault: &Vault,
    r: &SubmissionRequest,
    f: SubmissionFormat,
    allow_missing: bool,
    patterns: Option<crate::Patterns>,
    progress: Progress<'_>,
) -> Result<(Zeroizing<Vec<u8>>, SubmissionStats, usize)> {
    let l = load(vault, r, progress)?;
    let missing = check(&l, r);
    if !missing.is_empty() && !allow_missing {
        return Err(Error::Invalid(super::refusal(r.mechanism, &missing)));
    }
    let mut c = Ctx::new(&l, r);
    if let (SubmissionFormat::Pdf, Some(p)) = (f, patterns) {
        c.charts = crate::pattern_charts(&l, p, &r.language, crate::pdf::CHART_WIDTH);
    }
    let d = document(&c, &missing);
    let title = r.mechanism.title(&r.language);
    let (bytes, pages) = match f {
        SubmissionFormat::Text => (Zeroizing::new(d.to_text().into_bytes()), 0),
        SubmissionFormat::Pdf => crate::pdf::render(&d, &title)?,
    };
    let people: Vec<&Person> = c
        .victims
        .iter()
        .chain(c.perpetrators.iter())
        .map(|(_, p)| *p)
        .collect();
    let withheld = people.iter().filter(|p| !c.named(p)).count();
    let stats = SubmissionStats {
        named: people.len() - withheld,
        withheld,
        missing,
        bytes: bytes.len(),
        pages,
    };
    Ok((bytes, stats, c.victims.len()))
}

/// The document: title, what is missing (first), the language line, the mechanism's
/// sections; then every withheld name blanked out of every text.
fn document(c: &Ctx<'_>, missing: &[Missing]) -> Doc {
    let mut d = Doc::default();
    d.title(c.r.mechanism.title(c.lang));
    if !missing.is_empty() {
        d.alert(c.tn("common.missing_alert", missing.len()));
        for m in missing {
            let what = missing_label(c.lang, &m.code);
            let text = match m.record {
                Some(id) => format!(
                    "{what} ({})",
                    c.t("common.missing.record").replace("{n}", &id.to_string())
                ),
                None => what.to_owned(),
            };
            d.field(&m.code, text);
        }
    }
    d.field(
        c.t("common.language_of_submission"),
        language_name(c.lang, c.lang),
    );
    d.para(c.t("common.case_text_as_written"));
    d.field(c.t("common.date"), c.today.format("%Y-%m-%d").to_string());
    d.field(c.t("common.case_reference"), c.r.case_id.to_string());
    d.alert(c.t("common.confidential_alert"));
    match c.r.mechanism {
        Mechanism::UnSr => super::un_sr::build(c, &mut d),
        Mechanism::Observatory => super::observatory::build(c, &mut d),
        Mechanism::Eu => super::eu::build(c, &mut d),
        Mechanism::Achpr => super::achpr::build(c, &mut d),
        Mechanism::Iachr => super::iachr::build(c, &mut d),
    }
    redact(c, &mut d);
    d
}

/// What a missing element is, in `lang`: its own label, or its question's (the code
/// itself for one without either, which a test rules out).
fn missing_label<'a>(lang: &str, code: &'a str) -> &'a str {
    let key = match code {
        "consent_mechanism_not_asked" => "common.missing.consent_mechanism_not_asked",
        "consent_government_not_asked" => "common.missing.consent_government_not_asked",
        "consent_publish_not_asked" => "common.missing.consent_publish_not_asked",
        "victim_withheld" => "common.missing.victim_withheld",
        "victim" => "common.missing.victim",
        "victim_age" => "common.missing.victim_age",
        "victim_sex" => "common.missing.victim_sex",
        "victim_profession" => "common.missing.victim_profession",
        "victim_residence" => "common.missing.victim_residence",
        "victim_organisation" => "common.missing.victim_organisation",
        "victim_human_rights_work" => "common.missing.victim_human_rights_work",
        "incident" => "common.missing.incident",
        "incident_date" => "common.missing.incident_date",
        "incident_place" => "common.missing.incident_place",
        "incident_description" => "common.missing.incident_description",
        "incident_violation" => "common.missing.incident_violation",
        "perpetrator" => "common.missing.perpetrator",
        "perpetrator_type" => "common.missing.perpetrator_type",
        "actions_taken" => "common.missing.actions_taken",
        "action_result" => "common.missing.action_result",
        "evidence" => "common.missing.evidence",
        _ => "",
    };
    if !key.is_empty() {
        return tr(lang, key);
    }
    match question_label(lang, code) {
        "" => code,
        label => label,
    }
}

/// A language's name in `lang`.
fn language_name(lang: &str, of: &str) -> &'static str {
    match of {
        "en" => tr(lang, "common.lang.en"),
        "fr" => tr(lang, "common.lang.fr"),
        "es" => tr(lang, "common.lang.es"),
        "pt" => tr(lang, "common.lang.pt"),
        "ar" => tr(lang, "common.lang.ar"),
        _ => "",
    }
}

/// Blanks the names (and other names) of every person of the case who is not named out
/// of every block of the document.
fn redact(c: &Ctx<'_>, d: &mut Doc) {
    let withheld: Vec<&Person> =
        c.l.persons
            .iter()
            .map(|(_, p)| p)
            .chain(c.l.linked_persons.values())
            .filter(|p| !c.named(p))
            .collect();
    let marker = c.t("common.withheld");
    let redactor = Redactor::new(&withheld, c.t("common.withheld_short"));
    for b in &mut d.blocks {
        match b {
            Block::Title(s)
            | Block::Heading(s)
            | Block::Subheading(s)
            | Block::Para(s)
            | Block::Alert(s) => *s = redactor.clean(s),
            Block::Field(a, v) => {
                *a = redactor.clean(a);
                if v != marker {
                    *v = redactor.clean(v);
                }
            }
            // Charts count persons and never name them; a withheld name written as a
            // category (an occupation, an organisation) is blanked all the same.
            Block::Figure(scene) => {
                scene.title = redactor.clean(&scene.title);
                for item in &mut scene.items {
                    if let custos_patterns::scene::Item::Text { text, .. } = item {
                        *text = redactor.clean(text);
                    }
                }
            }
        }
    }
}

/// Blanks withheld names out of free text: one pass over each text for all names.
pub(crate) struct Redactor {
    /// The names in lower case, and how many letters each has.
    names: Vec<(String, usize)>,
    /// Finds them in lower-cased text.
    lower: Option<aho_corasick::AhoCorasick>,
    /// Finds them as written (for text whose lower case changes its length).
    exact: Option<aho_corasick::AhoCorasick>,
    /// What a name becomes.
    replacement: &'static str,
}

impl Redactor {
    pub(crate) fn new(persons: &[&Person], replacement: &'static str) -> Redactor {
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
            replacement,
        }
    }

    pub(crate) fn clean(&self, text: &str) -> String {
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
            out.push_str(self.replacement);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The locale keys (`common.…`, `un_sr.…` …) a source file names as string literals.
    fn keys_in(src: &str) -> BTreeSet<String> {
        const PREFIXES: [&str; 6] = [
            "common.",
            "un_sr.",
            "observatory.",
            "eu.",
            "achpr.",
            "iachr.",
        ];
        src.split('"')
            .skip(1)
            .step_by(2)
            .filter(|s| {
                PREFIXES
                    .iter()
                    .any(|p| s.starts_with(p) && s.len() > p.len())
                    && s.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._".contains(c))
            })
            .map(str::to_owned)
            .collect()
    }

    /// Every key the document of `m` can use.
    fn needed(m: Mechanism) -> BTreeSet<String> {
        let own = match m {
            Mechanism::UnSr => include_str!("un_sr.rs"),
            Mechanism::Observatory => include_str!("observatory.rs"),
            Mechanism::Eu => include_str!("eu.rs"),
            Mechanism::Achpr => include_str!("achpr.rs"),
            Mechanism::Iachr => include_str!("iachr.rs"),
        };
        // The code of core.rs, not its tests.
        let core = include_str!("core.rs");
        let core = core.split("#[cfg(test)]").next().unwrap_or(core);
        let mut k = keys_in(core);
        k.extend(keys_in(own));
        k.insert(m.title_key().to_owned());
        k
    }

    #[test]
    fn every_language_a_mechanism_accepts_has_every_key_it_needs_and_no_key_is_unused() {
        let mut problems = Vec::new();
        for (lang, json) in LOCALES {
            let table: Table = match serde_json::from_str(json) {
                Ok(t) => t,
                Err(e) => {
                    problems.push(format!("{lang}.json does not parse: {e}"));
                    continue;
                }
            };
            let mut used = BTreeSet::new();
            for m in Mechanism::ALL {
                if !m.languages().contains(lang) {
                    continue;
                }
                let need = needed(m);
                for k in &need {
                    if table.get(k).is_none_or(|v| v.trim().is_empty()) {
                        problems.push(format!("{lang}: {} needs '{k}'", m.name()));
                    }
                }
                used.extend(need);
            }
            for k in table.keys() {
                if !used.contains(k) {
                    problems.push(format!("{lang}: '{k}' is not used"));
                }
            }
        }
        // Every accepted language has a locale file.
        for m in Mechanism::ALL {
            for lang in m.languages() {
                if !LOCALES.iter().any(|(l, _)| l == lang) {
                    problems.push(format!("{} accepts {lang}, which has no file", m.name()));
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    /// Every code a check can report: the literals checks pass to `miss`, the consent
    /// codes, and the questions.
    fn missing_codes() -> BTreeSet<String> {
        let core = include_str!("core.rs");
        let core = core.split("#[cfg(test)]").next().unwrap_or(core);
        let mut out = BTreeSet::new();
        for src in [
            core,
            include_str!("un_sr.rs"),
            include_str!("observatory.rs"),
            include_str!("eu.rs"),
            include_str!("achpr.rs"),
            include_str!("iachr.rs"),
        ] {
            for after in src.split("miss(").skip(1) {
                let arg = after.split(',').next().unwrap_or("").trim();
                if let Some(code) = arg.strip_prefix('"').and_then(|a| a.strip_suffix('"')) {
                    out.insert(code.to_owned());
                }
            }
        }
        // The victim's details, listed as (code, lacking, what).
        for lit in core.split('"').skip(1).step_by(2) {
            if lit.starts_with("victim_") && !lit.contains(' ') {
                out.insert(lit.to_owned());
            }
        }
        for u in [Use::Mechanism, Use::Government, Use::Publish] {
            out.insert(u.not_asked_code().to_owned());
        }
        for m in Mechanism::ALL {
            out.extend(m.questions().iter().map(|q| q.key.to_owned()));
        }
        out
    }

    #[test]
    fn every_missing_element_has_a_label_in_every_language() {
        let codes = missing_codes();
        assert!(codes.contains("evidence") && codes.contains("victim_withheld"));
        assert!(codes.contains("trial_date") && codes.contains("incident_date"));
        assert!(codes.contains("victim_age") && codes.contains("victim_human_rights_work"));
        assert!(codes.len() > 40, "{codes:?}");
        for (lang, _) in LOCALES {
            for code in &codes {
                assert_ne!(missing_label(lang, code), code.as_str(), "{lang}: {code}");
            }
        }
        assert_eq!(missing_label("fr", "incident_date"), "La date d'un fait");
        assert_eq!(
            missing_label("es", "domestic_remedies"),
            "Recursos internos"
        );
    }

    #[test]
    fn the_key_scan_finds_keys_and_only_keys() {
        let k = keys_in(r#"c.t("common.date"); x("eu.h.action"); "eu_delegation"; "common. x""#);
        assert_eq!(
            k.into_iter().collect::<Vec<_>>(),
            vec!["common.date".to_owned(), "eu.h.action".to_owned()]
        );
        assert!(needed(Mechanism::Achpr).contains("achpr.a56_4_text"));
        assert!(needed(Mechanism::Achpr).contains("common.withheld"));
        assert!(!needed(Mechanism::Achpr).contains("iachr.h.measures"));
    }

    #[test]
    fn placeholders_survive_translation() {
        for (lang, json) in LOCALES {
            let table: Table = serde_json::from_str(json).unwrap();
            let en: Table = serde_json::from_str(LOCALES[0].1).unwrap();
            for (k, v) in &table {
                let want = en.get(k).is_some_and(|e| e.contains("{n}"));
                assert_eq!(v.contains("{n}"), want, "{lang}: {k}");
            }
        }
    }

    fn person(name: &str, other: &[&str]) -> Person {
        Person {
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
        }
    }

    #[test]
    fn names_are_replaced_whatever_their_case() {
        let (a, b, c) = (
            person("Nour", &["Nour Hamdi"]),
            person("نور الهدى", &[]),
            person("Li", &[]),
        );
        let r = Redactor::new(&[&a, &b, &c], "[name withheld]");
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
        let fr = Redactor::new(&[&a], tr("fr", "common.withheld_short"));
        assert_eq!(fr.clean("Nour"), "[nom non communiqué]");
    }

    fn request(m: Mechanism, lang: &str, answers: &[(&str, &str)]) -> SubmissionRequest {
        SubmissionRequest {
            case_id: Uuid::nil(),
            mechanism: m,
            language: lang.into(),
            answers: answers
                .iter()
                .map(|(k, v)| custos_model::FormField {
                    key: (*k).into(),
                    value: (*v).into(),
                })
                .collect(),
            perpetrator_types: vec![],
        }
    }

    #[test]
    fn a_request_is_refused_for_a_language_or_an_answer_the_form_does_not_take() {
        let e = validate(&request(Mechanism::UnSr, "ar", &[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("'ar'") && e.contains("en, fr, es"), "{e}");
        let e = validate(&request(Mechanism::Iachr, "EN", &[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("es, en, pt, fr"), "{e}");
        let e = validate(&request(Mechanism::Eu, "en", &[("seriousness", "x")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no question 'seriousness'"), "{e}");
        let e = validate(&request(Mechanism::UnSr, "en", &[("type", "letter")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("urgent_appeal, allegation_letter"), "{e}");
        let e = validate(&request(
            Mechanism::Eu,
            "fr",
            &[("action_requested", "visit, asylum")],
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("any of: public_statement"), "{e}");
        assert!(!e.contains("asylum"), "the error repeats the answer: {e}");
        let e = validate(&request(
            Mechanism::Achpr,
            "pt",
            &[("final_decision_date", "3/4/2024")],
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("YYYY-MM-DD"), "{e}");
        // The answers' text is never repeated in the error beyond the code asked for.
        for m in Mechanism::ALL {
            for lang in m.languages() {
                assert!(validate(&request(m, lang, &[])).is_ok());
            }
        }
        assert!(validate(&request(
            Mechanism::Eu,
            "es",
            &[
                ("action_requested", "visit, trial_observation"),
                ("trial_date", "2026-01-05")
            ]
        ))
        .is_ok());
    }

    #[test]
    fn the_publish_consent_is_needed_only_where_the_submission_is_public() {
        let mut p = person("A", &[]);
        p.consent.share_with_government = Consent::Given;
        for code in custos_model::Consents::MECHANISMS {
            p.consent.set_mechanism(code, Consent::Given);
        }
        p.consent.publish = Consent::Refused;
        for m in Mechanism::ALL {
            let r = request(m, m.languages()[0], &[]);
            assert_eq!(named(&r, &p), m != Mechanism::Observatory, "{m}");
        }
        // An Observatory request that asks it not to publish needs no consent to publish.
        let private = request(Mechanism::Observatory, "en", &[("consent_publish", "no")]);
        assert!(named(&private, &p));
        let public = request(Mechanism::Observatory, "en", &[("consent_publish", "yes")]);
        assert!(!named(&public, &p));
        let statement = request(
            Mechanism::Eu,
            "en",
            &[("action_requested", "public_statement")],
        );
        assert!(!named(&statement, &p));
        p.consent.publish = Consent::Given;
        assert!(named(&statement, &p));
        p.consent.share_with_government = Consent::NotAsked;
        for m in Mechanism::ALL {
            assert!(!named(&request(m, m.languages()[0], &[]), &p), "{m}");
        }
    }
}
