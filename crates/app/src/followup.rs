//! Following up what was sent to protection mechanisms, written once for the desktop app
//! and the command line: which interventions await a response, which are due for a
//! follow-up, and marking a draft as sent.
//!
//! An export of a submission leaves a draft intervention on the case (see
//! [`crate::export::save_draft`]); the user marks it sent once it went out (date, channel,
//! the mechanism's reference, the next follow-up date). From then on it awaits a response
//! until the user records one, and it is due on its follow-up date until closed.

use chrono::NaiveDate;
use custos_model::{Intervention, InterventionStatus, Kind, Record};
use custos_vault::{Filter, Vault};
use serde::Serialize;
use uuid::Uuid;
use zeroize::Zeroize;

use crate::error::{Error, Result};

/// One intervention that needs attention. Holds its title: shown to the user only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FollowUp {
    /// The intervention.
    pub intervention_id: Uuid,
    /// Its case.
    pub case_id: Uuid,
    /// Its title.
    pub title: String,
    /// The mechanism's vocabulary code (empty when none).
    pub mechanism: String,
    /// Where it stands.
    pub status: InterventionStatus,
    /// When it was sent.
    pub sent: Option<NaiveDate>,
    /// When to follow it up.
    pub follow_up: Option<NaiveDate>,
    /// Its follow-up date has come.
    pub due: bool,
    /// Sent and not answered yet.
    pub awaiting: bool,
}

impl Drop for FollowUp {
    fn drop(&mut self) {
        self.title.zeroize();
    }
}

/// Every intervention that is due for a follow-up on `today` or awaits a response: the
/// due ones first (oldest follow-up date first), then those awaiting (oldest sent first).
/// Deleted interventions are left out; a damaged one stops nothing (it is skipped, and
/// the vault's damage report names it).
pub fn follow_ups(vault: &Vault, today: NaiveDate) -> Result<Vec<FollowUp>> {
    let ids: Vec<Uuid> = vault
        .list(&Filter {
            kind: Some(Kind::Intervention),
            ..Filter::default()
        })
        .into_iter()
        .map(|i| i.record_id)
        .collect();
    let mut out = Vec::new();
    for (id, view) in ids.iter().zip(vault.get_many(&ids)) {
        let Ok(view) = view else { continue };
        let Some(Record::Intervention(i)) = &view.record else {
            continue;
        };
        let (due, awaiting) = (i.follow_up_due(today), i.awaiting_response());
        if due || awaiting {
            out.push(FollowUp {
                intervention_id: *id,
                case_id: i.case_id,
                title: i.title.clone(),
                mechanism: i.mechanism.clone(),
                status: i.status,
                sent: i.date,
                follow_up: i.follow_up,
                due,
                awaiting,
            });
        }
    }
    out.sort_by(|a, b| {
        (!a.due, a.follow_up, a.sent, a.intervention_id).cmp(&(
            !b.due,
            b.follow_up,
            b.sent,
            b.intervention_id,
        ))
    });
    Ok(out)
}

/// What the user says when a submission went out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sent {
    /// The day it was sent.
    pub date: Option<NaiveDate>,
    /// How (e-mail, the mechanism's web form, post, in person, a partner).
    pub channel: String,
    /// The mechanism's reference, when it gave one.
    pub reference: String,
    /// When to follow it up next.
    pub follow_up: Option<NaiveDate>,
}

/// Marks an intervention sent: status `sent`, the date (today when not given), channel,
/// reference and follow-up date, as a new version. Only a draft can be marked sent (an
/// intervention already sent is updated through its editor); a follow-up date before
/// the day it was sent is refused. Returns the new version's id.
pub fn mark_sent(
    vault: &mut Vault,
    intervention_id: Uuid,
    sent: &Sent,
    today: NaiveDate,
) -> Result<Uuid> {
    let view = vault.get(intervention_id)?;
    let Some(Record::Intervention(current)) = &view.record else {
        return Err(Error::Invalid(format!(
            "record {intervention_id} is not an intervention"
        )));
    };
    if current.status != InterventionStatus::Draft {
        return Err(Error::Invalid(format!(
            "intervention {intervention_id} is already marked {}; change it in its editor",
            status_code(current.status)
        )));
    }
    let date = sent.date.unwrap_or(today);
    if sent.follow_up.is_some_and(|f| f < date) {
        return Err(Error::Invalid(
            "the follow-up date is before the day it was sent".into(),
        ));
    }
    let mut next: Intervention = current.clone();
    next.status = InterventionStatus::Sent;
    next.date = Some(date);
    let channel = sent.channel.trim();
    if !channel.is_empty() {
        next.channel = channel.to_owned();
    }
    let reference = sent.reference.trim();
    if !reference.is_empty() {
        next.reference = reference.to_owned();
    }
    next.follow_up = sent.follow_up;
    Ok(vault.update(intervention_id, Record::Intervention(next))?)
}

fn status_code(s: InterventionStatus) -> &'static str {
    match s {
        InterventionStatus::Draft => "draft",
        InterventionStatus::Sent => "sent",
        InterventionStatus::Acknowledged => "acknowledged",
        InterventionStatus::Responded => "responded",
        InterventionStatus::Closed => "closed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use custos_model::{Case, InterventionType};
    use custos_vault::Options;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn intervention(case_id: Uuid, title: &str, status: InterventionStatus) -> Record {
        Record::Intervention(Intervention {
            case_id,
            title: title.into(),
            mechanism: "omct_fidh_observatory".into(),
            kind: InterventionType::UrgentAppeal,
            date: None,
            status,
            reference: String::new(),
            response: String::new(),
            incident_ids: vec![],
            person_ids: vec![],
            channel: String::new(),
            follow_up: None,
            language: "fr".into(),
            form: vec![],
        })
    }

    fn vault() -> (tempfile::TempDir, Vault, Uuid) {
        let tmp = tempfile::tempdir().unwrap();
        let mut v = Vault::create(
            &tmp.path().join("v"),
            &custos_test_support::pass(),
            Options::insecure_for_tests(),
        )
        .unwrap();
        let case = v
            .add(Record::Case(Case {
                title: "C".into(),
                ..Case::default()
            }))
            .unwrap();
        (tmp, v, case)
    }

    #[test]
    fn a_draft_marked_sent_awaits_a_response_and_falls_due_on_its_day() {
        let (_tmp, mut v, case) = vault();
        let draft = v
            .add(intervention(
                case,
                "Urgent appeal",
                InterventionStatus::Draft,
            ))
            .unwrap();
        let today = day("2026-12-05");
        assert!(
            follow_ups(&v, today).unwrap().is_empty(),
            "a draft waits for nothing"
        );

        let sent = Sent {
            date: Some(day("2026-11-01")),
            channel: " e-mail ".into(),
            reference: "OBS-2026-11".into(),
            follow_up: Some(day("2026-12-01")),
        };
        mark_sent(&mut v, draft, &sent, today).unwrap();
        let Some(Record::Intervention(i)) = v.get(draft).unwrap().into_record() else {
            panic!("not an intervention")
        };
        assert_eq!(i.status, InterventionStatus::Sent);
        assert_eq!(i.date, Some(day("2026-11-01")));
        assert_eq!(
            (i.channel.as_str(), i.reference.as_str()),
            ("e-mail", "OBS-2026-11")
        );
        assert_eq!(i.language, "fr", "the rest of the draft is kept");

        let before = follow_ups(&v, day("2026-11-30")).unwrap();
        assert_eq!(before.len(), 1);
        assert!(before[0].awaiting && !before[0].due);
        let on = follow_ups(&v, day("2026-12-01")).unwrap();
        assert!(on[0].awaiting && on[0].due);
        assert_eq!(on[0].case_id, case);

        // Marking it sent again is refused: it is no longer a draft.
        let e = mark_sent(&mut v, draft, &sent, today).unwrap_err();
        assert!(e.to_string().contains("already marked sent"), "{e}");

        // Closed: neither due nor awaiting.
        let mut closed = i.clone();
        closed.status = InterventionStatus::Closed;
        v.update(draft, Record::Intervention(closed)).unwrap();
        assert!(follow_ups(&v, today).unwrap().is_empty());
    }

    #[test]
    fn due_ones_come_first_and_a_follow_up_before_sending_is_refused() {
        let (_tmp, mut v, case) = vault();
        let today = day("2026-12-05");
        let a = v
            .add(intervention(case, "A", InterventionStatus::Draft))
            .unwrap();
        let b = v
            .add(intervention(case, "B", InterventionStatus::Draft))
            .unwrap();
        let bad = Sent {
            date: Some(day("2026-11-10")),
            follow_up: Some(day("2026-11-09")),
            ..Sent::default()
        };
        let e = mark_sent(&mut v, a, &bad, today).unwrap_err();
        assert!(e.to_string().contains("before the day it was sent"), "{e}");
        assert_eq!(v.get(a).unwrap().heads.len(), 1);
        // Nothing was written by the refusal.
        assert_eq!(v.history(a).unwrap().len(), 1);

        // A: sent without a follow-up (awaiting only); B: due.
        mark_sent(&mut v, a, &Sent::default(), today).unwrap();
        let due = Sent {
            follow_up: Some(day("2026-12-05")),
            ..Sent::default()
        };
        mark_sent(&mut v, b, &due, today).unwrap();
        let list = follow_ups(&v, today).unwrap();
        let order: Vec<Uuid> = list.iter().map(|f| f.intervention_id).collect();
        assert_eq!(order, vec![b, a]);
        assert_eq!(list[1].sent, Some(today), "the date defaults to today");

        // Not an intervention: refused.
        assert!(mark_sent(&mut v, case, &Sent::default(), today).is_err());
        // Deleted: gone from the list.
        v.delete(b).unwrap();
        assert_eq!(follow_ups(&v, today).unwrap().len(), 1);
    }
}
