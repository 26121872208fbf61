//! What the figures count of one record, and nothing more: a [`Fact`].
//!
//! The search index keeps the fact of every record it holds (in memory, and in its
//! encrypted, signed snapshot), so the figures of 100,000 records are counted without
//! decrypting one of them. A fact is made from a record by [`Fact::of`] only, so the
//! figures of records and the figures of their facts are the same by construction; the
//! index keeps each fact with the version it was made from, and the app reads a record
//! again whenever its head moved on (see `custos_app::patterns::figures`).

use custos_model::{Consent, FuzzyDate, InterventionStatus, Record, Role};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The counted part of a record. Cases are counted, incidents give the time, place,
/// acts and involvements, persons their sex, occupation, organisation, roles and
/// consent, interventions their mechanism and status. Notes and evidence have none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub enum Fact {
    /// A case.
    Case,
    /// An incident.
    Incident(IncidentFact),
    /// A person or group.
    Person(PersonFact),
    /// An intervention.
    Intervention(InterventionFact),
}

/// The counted part of an incident.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Zeroize)]
pub struct IncidentFact {
    /// Persons involved as victims (ids; nil ids left out).
    #[zeroize(skip)]
    pub victims: Vec<Uuid>,
    /// Persons involved as perpetrators.
    #[zeroize(skip)]
    pub perpetrators: Vec<Uuid>,
    /// Act type codes as stored.
    pub act_types: Vec<String>,
    /// When it began.
    #[zeroize(skip)]
    pub start: Option<FuzzyDate>,
    /// Country as written (empty: none).
    pub country: String,
    /// Region as written (empty: none).
    pub region: String,
    /// Latitude.
    pub lat: Option<f64>,
    /// Longitude.
    pub lon: Option<f64>,
}

/// The counted part of a person.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Zeroize)]
pub struct PersonFact {
    /// Carries the victim role.
    pub victim: bool,
    /// Carries the perpetrator role.
    pub perpetrator: bool,
    /// Consented to be published.
    pub publish_consent: bool,
    /// How many victims it counts for: a group its stated size (or 1), a person 1.
    pub weight: u32,
    /// Sex or gender as written.
    pub sex: String,
    /// Occupation as written.
    pub occupation: String,
    /// Organisation as written.
    pub organisation: String,
}

/// The counted part of an intervention.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Zeroize)]
pub struct InterventionFact {
    /// The mechanism as written.
    pub mechanism: String,
    /// 0: draft; 1: sent or acknowledged (awaiting); 2: responded or closed.
    pub status: u8,
}

impl Fact {
    /// The fact of a record (`None` for notes and evidence, which are not counted).
    pub fn of(record: &Record) -> Option<Fact> {
        Some(match record {
            Record::Case(_) => Fact::Case,
            Record::Incident(i) => {
                let mut f = IncidentFact {
                    act_types: i.act_types.clone(),
                    start: i.start,
                    ..IncidentFact::default()
                };
                for inv in i.persons.iter().filter(|p| !p.person_id.is_nil()) {
                    match inv.role {
                        Role::Victim => f.victims.push(inv.person_id),
                        Role::Perpetrator => f.perpetrators.push(inv.person_id),
                        _ => {}
                    }
                }
                if let Some(l) = &i.location {
                    f.country = l.country.clone();
                    f.region = l.region.clone();
                    f.lat = l.lat;
                    f.lon = l.lon;
                }
                Fact::Incident(f)
            }
            Record::Person(p) => Fact::Person(PersonFact {
                victim: p.roles.contains(&Role::Victim),
                perpetrator: p.roles.contains(&Role::Perpetrator),
                publish_consent: p.consent.publish == Consent::Given,
                weight: if p.is_group {
                    p.group_size.filter(|n| *n > 0).unwrap_or(1)
                } else {
                    1
                },
                sex: p.sex.clone(),
                occupation: p.occupation.clone(),
                organisation: p.organisation.clone(),
            }),
            Record::Intervention(i) => Fact::Intervention(InterventionFact {
                mechanism: i.mechanism.clone(),
                status: match i.status {
                    InterventionStatus::Draft => 0,
                    InterventionStatus::Sent | InterventionStatus::Acknowledged => 1,
                    InterventionStatus::Responded | InterventionStatus::Closed => 2,
                },
            }),
            Record::Note(_) | Record::Evidence(_) => return None,
        })
    }

    /// The fact as bytes (compact; what the search snapshot stores).
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising plain data into a Vec cannot fail.
        postcard::to_stdvec(self).unwrap_or_default()
    }

    /// A fact from [`Fact::to_bytes`]; `None` when the bytes are not one.
    pub fn from_bytes(bytes: &[u8]) -> Option<Fact> {
        postcard::from_bytes(bytes).ok()
    }
}
