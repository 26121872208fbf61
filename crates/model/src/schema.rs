//! The model's shape as the front ends read it: each kind's fields in the order forms and
//! "what changed" lists show them, and the allowed values of every choice. The desktop's
//! page asks for it (the `schema` command) instead of keeping its own copy, so a field or
//! a value added here reaches the window without a second edit.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{
    CaseStatus, Confidentiality, Consent, InterventionStatus, InterventionType, Kind, Precision,
    Role,
};

/// A choice field's type: every value, in the order a chooser shows them.
pub trait Choice: Copy + Serialize + 'static {
    /// Every value.
    const ALL: &'static [Self];

    /// The value's word in records (its serde name).
    fn code(self) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(s)) => s,
            _ => unreachable!("choices serialize as words"),
        }
    }
}

impl Choice for CaseStatus {
    const ALL: &'static [Self] = &[CaseStatus::Open, CaseStatus::Monitoring, CaseStatus::Closed];
}

impl Choice for Confidentiality {
    const ALL: &'static [Self] = &[
        Confidentiality::Public,
        Confidentiality::Restricted,
        Confidentiality::Confidential,
    ];
}

impl Choice for Precision {
    const ALL: &'static [Self] = &[
        Precision::Day,
        Precision::Month,
        Precision::Year,
        Precision::Approximate,
    ];
}

impl Choice for Role {
    const ALL: &'static [Self] = &[
        Role::Victim,
        Role::Perpetrator,
        Role::Witness,
        Role::Source,
        Role::InterveningParty,
    ];
}

impl Choice for Consent {
    const ALL: &'static [Self] = &[Consent::NotAsked, Consent::Given, Consent::Refused];
}

impl Choice for InterventionType {
    const ALL: &'static [Self] = &[
        InterventionType::UrgentAppeal,
        InterventionType::AllegationLetter,
        InterventionType::Other,
    ];
}

impl Choice for InterventionStatus {
    const ALL: &'static [Self] = &[
        InterventionStatus::Draft,
        InterventionStatus::Sent,
        InterventionStatus::Acknowledged,
        InterventionStatus::Responded,
        InterventionStatus::Closed,
    ];
}

/// Each kind's fields (dotted paths into the record), in display order.
pub const FIELDS: &[(Kind, &[&str])] = &[
    (
        Kind::Case,
        &[
            "title",
            "summary",
            "status",
            "confidentiality",
            "tags",
            "owner",
        ],
    ),
    (
        Kind::Incident,
        &[
            "title",
            "description",
            "start.date",
            "start.precision",
            "end.date",
            "end.precision",
            "location.place",
            "location.region",
            "location.country",
            "location.lat",
            "location.lon",
            "act_types",
            "persons",
            "related",
            "impact",
            "case_id",
        ],
    ),
    (
        Kind::Person,
        &[
            "name",
            "other_names",
            "roles",
            "is_group",
            "group_size",
            "sex",
            "birth_date.date",
            "birth_date.precision",
            "occupation",
            "organisation",
            "human_rights_work",
            "residence",
            "citizenship",
            "consent.share_with_government",
            "consent.publish",
            "consent.un_sr_hrd",
            "consent.omct_fidh_observatory",
            "consent.eu_delegation",
            "consent.achpr_sr_hrd",
            "consent.iachr_hrd_unit",
            "contact",
            "case_id",
        ],
    ),
    (
        Kind::Intervention,
        &[
            "title",
            "mechanism",
            "type",
            "status",
            "date",
            "reference",
            "response",
            "incident_ids",
            "person_ids",
            "channel",
            "follow_up",
            "language",
            "form",
            "case_id",
        ],
    ),
    (Kind::Note, &["text", "about", "case_id"]),
];

/// The kinds that live inside a case, in the order a case lists them.
pub const CHILD_KINDS: &[Kind] = &[Kind::Incident, Kind::Person, Kind::Intervention, Kind::Note];

/// The model's shape, for a front end.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Schema {
    /// Each choice's values, by the choice's name (`case_status`, `role` …).
    pub choices: BTreeMap<&'static str, Vec<String>>,
    /// Each kind's fields in display order.
    pub fields: BTreeMap<Kind, &'static [&'static str]>,
    /// The kinds inside a case.
    pub child_kinds: &'static [Kind],
}

fn codes<C: Choice>() -> Vec<String> {
    C::ALL.iter().map(|c| c.code()).collect()
}

/// The model's shape.
pub fn schema() -> Schema {
    Schema {
        choices: BTreeMap::from([
            ("case_status", codes::<CaseStatus>()),
            ("confidentiality", codes::<Confidentiality>()),
            ("precision", codes::<Precision>()),
            ("role", codes::<Role>()),
            ("consent", codes::<Consent>()),
            ("intervention_type", codes::<InterventionType>()),
            ("intervention_status", codes::<InterventionStatus>()),
        ]),
        fields: FIELDS.iter().copied().collect(),
        child_kinds: CHILD_KINDS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Record;

    /// `ALL` lists every variant once: the match is exhaustive (a new variant does not
    /// compile until it has a place), and each place is taken by exactly one value.
    fn all_listed<C: Choice + PartialEq + std::fmt::Debug>(place: fn(C) -> usize, count: usize) {
        assert_eq!(C::ALL.len(), count, "{:?}", C::ALL);
        for (i, c) in C::ALL.iter().enumerate() {
            assert_eq!(place(*c), i, "{c:?} is out of place");
        }
    }

    #[test]
    fn every_choice_lists_every_value_once() {
        use CaseStatus as S;
        all_listed::<S>(
            |c| match c {
                S::Open => 0,
                S::Monitoring => 1,
                S::Closed => 2,
            },
            3,
        );
        use Confidentiality as C;
        all_listed::<C>(
            |c| match c {
                C::Public => 0,
                C::Restricted => 1,
                C::Confidential => 2,
            },
            3,
        );
        use Precision as P;
        all_listed::<P>(
            |c| match c {
                P::Day => 0,
                P::Month => 1,
                P::Year => 2,
                P::Approximate => 3,
            },
            4,
        );
        use Role as R;
        all_listed::<R>(
            |c| match c {
                R::Victim => 0,
                R::Perpetrator => 1,
                R::Witness => 2,
                R::Source => 3,
                R::InterveningParty => 4,
            },
            5,
        );
        use Consent as K;
        all_listed::<K>(
            |c| match c {
                K::NotAsked => 0,
                K::Given => 1,
                K::Refused => 2,
            },
            3,
        );
        use InterventionType as T;
        all_listed::<T>(
            |c| match c {
                T::UrgentAppeal => 0,
                T::AllegationLetter => 1,
                T::Other => 2,
            },
            3,
        );
        use InterventionStatus as I;
        all_listed::<I>(
            |c| match c {
                I::Draft => 0,
                I::Sent => 1,
                I::Acknowledged => 2,
                I::Responded => 3,
                I::Closed => 4,
            },
            5,
        );
        assert_eq!(schema().choices["role"][4], "intervening_party");
    }

    /// The field lists name every field a record of the kind has, and nothing else.
    #[test]
    fn field_lists_match_the_records() {
        let examples = [
            (
                Kind::Case,
                serde_json::json!({"kind": "case", "title": "t"}),
            ),
            (
                Kind::Incident,
                serde_json::json!({"kind": "incident", "title": "t", "case_id": uuid::Uuid::nil()}),
            ),
            (
                Kind::Person,
                serde_json::json!({"kind": "person", "name": "n", "case_id": uuid::Uuid::nil()}),
            ),
            (
                Kind::Intervention,
                serde_json::json!({"kind": "intervention", "title": "t", "case_id": uuid::Uuid::nil()}),
            ),
            (
                Kind::Note,
                serde_json::json!({"kind": "note", "text": "t", "case_id": uuid::Uuid::nil()}),
            ),
        ];
        for (kind, json) in examples {
            let record: Record = serde_json::from_value(json).unwrap();
            let value = serde_json::to_value(&record).unwrap();
            let listed = FIELDS.iter().find(|(k, _)| *k == kind).unwrap().1;
            let tops: Vec<&str> = listed
                .iter()
                .map(|p| p.split('.').next().unwrap())
                .collect();
            let fields = value.as_object().unwrap();
            for key in fields.keys().filter(|k| *k != "kind") {
                assert!(
                    tops.contains(&key.as_str()),
                    "{kind:?}: {key} is not listed"
                );
            }
            for top in tops {
                assert!(fields.contains_key(top), "{kind:?}: {top} is not a field");
            }
        }
    }
}
