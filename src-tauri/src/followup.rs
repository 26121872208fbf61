//! Following up submissions from the desktop app, over `custos_app::followup`: what is
//! due (the case list's panel after unlock) and marking a draft intervention sent (a new
//! version).
//!
//! Only what the panel shows crosses to the page: for each intervention due, its case
//! and the case's title, where it went, when it was sent and the follow-up date; and a
//! count of those awaiting a response.

use chrono::NaiveDate;
use custos_app::followup::{self, Sent};
use custos_vault::Vault;
use serde::{Deserialize, Serialize};
use tauri::State;
use uuid::Uuid;

use crate::commands::Saved;
use crate::state::{with_vault, AppState, Result};

/// An intervention whose follow-up has come.
#[derive(Debug, Serialize, PartialEq)]
pub struct Due {
    record_id: Uuid,
    case_id: Uuid,
    case_title: String,
    /// The intervention's own title (shown when no mechanism is set).
    title: String,
    /// The `mechanisms` vocabulary code (empty: not set).
    mechanism: String,
    /// When it was sent.
    date: Option<NaiveDate>,
    follow_up: Option<NaiveDate>,
}

/// What needs following up.
#[derive(Debug, Serialize, PartialEq)]
pub struct FollowUps {
    /// Due on or before the day asked, earliest first.
    due: Vec<Due>,
    /// Submissions sent or acknowledged, not yet answered.
    awaiting: usize,
}

/// What is due on `today` (of cases not deleted) and how many await a response.
fn follow_ups_of(v: &Vault, today: NaiveDate) -> Result<FollowUps> {
    let all = followup::follow_ups(v, today)?;
    let awaiting = all.iter().filter(|f| f.awaiting).count();
    let due = all
        .iter()
        .filter(|f| f.due)
        .filter_map(|f| {
            // An intervention of a deleted case is not followed up.
            let case = v.entry_of(f.case_id).filter(|e| !e.deleted())?;
            Some(Due {
                record_id: f.intervention_id,
                case_id: f.case_id,
                case_title: case.summary.title.clone(),
                title: f.title.clone(),
                mechanism: f.mechanism.clone(),
                date: f.sent,
                follow_up: f.follow_up,
            })
        })
        .collect();
    Ok(FollowUps { due, awaiting })
}

/// What needs following up on `today` (the user's day, from the page).
#[tauri::command]
pub fn follow_ups(state: State<'_, AppState>, today: NaiveDate) -> Result<FollowUps> {
    with_vault(&state, |v| follow_ups_of(v, today))
}

/// What the "mark as sent" dialog gives.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarkSent {
    record_id: Uuid,
    /// The day it was sent.
    date: NaiveDate,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    reference: String,
    /// The next follow-up (none: no follow-up planned).
    #[serde(default)]
    follow_up: Option<NaiveDate>,
}

/// Marks a draft intervention sent (see `custos_app::followup::mark_sent`): anything
/// but a draft intervention, or a follow-up before the day sent, is refused, unchanged.
fn mark_sent_in(v: &mut Vault, m: MarkSent) -> Result<Saved> {
    let sent = Sent {
        date: Some(m.date),
        channel: m.channel,
        reference: m.reference,
        follow_up: m.follow_up,
    };
    let version_id = followup::mark_sent(v, m.record_id, &sent, m.date)?;
    Ok(Saved {
        record_id: m.record_id,
        version_id,
    })
}

/// Marks a draft intervention sent. → the new version.
#[tauri::command]
pub fn mark_intervention_sent(state: State<'_, AppState>, request: MarkSent) -> Result<Saved> {
    with_vault(&state, |v| mark_sent_in(v, request))
}

#[cfg(test)]
mod tests {
    use super::*;
    use custos_model::{InterventionStatus, Record};
    use custos_test_support::{pass, FAST};
    use serde_json::json;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn record(v: serde_json::Value) -> Record {
        serde_json::from_value(v).unwrap()
    }

    fn vault() -> (tempfile::TempDir, Vault, Uuid) {
        let tmp = tempfile::tempdir().unwrap();
        let mut v = Vault::create(&tmp.path().join("v"), &pass(), FAST).unwrap();
        let case = v
            .add(record(json!({"kind": "case", "title": "Lawyer detained"})))
            .unwrap();
        (tmp, v, case)
    }

    fn intervention(case: Uuid, status: &str, follow_up: Option<&str>) -> Record {
        record(
            json!({"kind": "intervention", "case_id": case, "title": "Appeal",
            "mechanism": "eu_delegation", "status": status, "follow_up": follow_up}),
        )
    }

    #[test]
    fn a_draft_is_marked_sent_with_its_date_channel_reference_and_follow_up() {
        let (_tmp, mut v, case) = vault();
        let id = v.add(intervention(case, "draft", None)).unwrap();
        let versions = v.get(id).unwrap().version_id;
        let saved = mark_sent_in(
            &mut v,
            MarkSent {
                record_id: id,
                date: day("2026-12-01"),
                channel: " email ".into(),
                reference: " EU/2026/17 ".into(),
                follow_up: Some(day("2026-12-31")),
            },
        )
        .unwrap();
        assert_eq!(saved.record_id, id);
        let view = v.get(id).unwrap();
        assert_ne!(view.version_id, versions, "a new version");
        let Some(Record::Intervention(i)) = view.into_record() else {
            panic!("an intervention")
        };
        assert_eq!(i.status, InterventionStatus::Sent);
        assert_eq!(i.date, Some(day("2026-12-01")));
        assert_eq!(
            (i.channel.as_str(), i.reference.as_str()),
            ("email", "EU/2026/17")
        );
        assert_eq!(i.follow_up, Some(day("2026-12-31")));
        assert_eq!(i.mechanism, "eu_delegation", "the rest is kept");
    }

    #[test]
    fn only_a_draft_intervention_is_marked_sent_and_a_refusal_changes_nothing() {
        let (_tmp, mut v, case) = vault();
        let sent = v.add(intervention(case, "sent", None)).unwrap();
        let mark = |record_id| MarkSent {
            record_id,
            date: day("2026-12-01"),
            channel: String::new(),
            reference: String::new(),
            follow_up: None,
        };
        for id in [sent, case] {
            let before = v.get(id).unwrap().version_id;
            let err = mark_sent_in(&mut v, mark(id)).unwrap_err();
            assert_eq!(err.kind(), "bad_request");
            assert_eq!(v.get(id).unwrap().version_id, before);
        }
        // A follow-up before the day it was sent: refused, the draft unchanged.
        let draft = v.add(intervention(case, "draft", None)).unwrap();
        let before = v.get(draft).unwrap().version_id;
        let backwards = MarkSent {
            follow_up: Some(day("2026-11-30")),
            ..mark(draft)
        };
        assert_eq!(
            mark_sent_in(&mut v, backwards).unwrap_err().kind(),
            "bad_request"
        );
        assert_eq!(v.get(draft).unwrap().version_id, before);
        assert_eq!(
            mark_sent_in(&mut v, mark(Uuid::new_v4()))
                .unwrap_err()
                .kind(),
            "not_found"
        );
    }

    #[test]
    fn follow_ups_lists_what_is_due_and_counts_what_awaits_a_response() {
        let (_tmp, mut v, case) = vault();
        let today = day("2026-12-05");
        assert_eq!(
            follow_ups_of(&v, today).unwrap(),
            FollowUps {
                due: vec![],
                awaiting: 0
            }
        );
        let due = v
            .add(intervention(case, "sent", Some("2026-12-05")))
            .unwrap();
        let earlier = v
            .add(intervention(case, "acknowledged", Some("2026-11-01")))
            .unwrap();
        // Not yet, closed, no date, a draft awaiting nothing: none of them listed.
        v.add(intervention(case, "sent", Some("2026-12-06")))
            .unwrap();
        v.add(intervention(case, "closed", Some("2026-01-01")))
            .unwrap();
        v.add(intervention(case, "responded", None)).unwrap();
        let draft = v
            .add(intervention(case, "draft", Some("2026-12-01")))
            .unwrap();
        let f = follow_ups_of(&v, today).unwrap();
        let listed: Vec<Uuid> = f.due.iter().map(|d| d.record_id).collect();
        assert_eq!(listed, vec![earlier, draft, due], "earliest first");
        assert_eq!(f.awaiting, 3, "two sent, one acknowledged");
        assert_eq!(f.due[0].case_title, "Lawyer detained");
        assert_eq!(f.due[0].mechanism, "eu_delegation");
        // A deleted intervention, or one of a deleted case, is not followed up.
        v.delete(earlier).unwrap();
        assert_eq!(follow_ups_of(&v, today).unwrap().due.len(), 2);
        v.delete(case).unwrap();
        assert!(follow_ups_of(&v, today).unwrap().due.is_empty());
    }
}
