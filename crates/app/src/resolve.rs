//! Resolving concurrent edits, written once for the desktop app and the command line.
//!
//! Two devices edited one record while apart: both versions (the heads) are kept and the
//! record is flagged. The vault proposes a merge ([`Vault::merge_proposal`]): fields
//! changed on one side only are merged by themselves, fields changed on both sides take
//! the newest change unless the user takes another head's value. The user's choices are
//! `(field, head version)` pairs; the pseudo-field [`DELETED`] chooses between a head
//! that deleted the record and one that kept it. The merge is written as a version whose
//! parents are every head; nothing is lost (the heads stay in the history).

use custos_model::Record;
use custos_vault::{MergeProposal, Vault};
use serde_json::Value;
use uuid::Uuid;

use crate::error::{Error, Result};

/// The pseudo-field of a proposal that says which heads deleted the record.
pub const DELETED: &str = "(deleted)";

/// What resolving writes.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// The merged record.
    Merge(Box<Record>),
    /// The record's deletion (every head deleted it, or the user took a deletion).
    Delete,
}

/// The resolution of `proposal` with the user's choices: each `(field, version)` takes
/// that head's value of the field (or its absence); every other field is as proposed.
pub fn resolution(proposal: &MergeProposal, takes: &[(String, Uuid)]) -> Result<Resolution> {
    let mut delete = proposal.merged.is_none();
    let mut merged = match &proposal.merged {
        Some(r) => serde_json::to_value(r)
            .map_err(|e| Error::Invalid(format!("the proposed merge cannot be read: {e}")))?,
        None => Value::Null,
    };
    for (field, version) in takes {
        let head = proposal
            .heads
            .iter()
            .find(|h| h.version_id == *version)
            .ok_or_else(|| {
                Error::Invalid(format!("{version} is not one of the versions to merge"))
            })?;
        if field == DELETED {
            delete = head.record.is_none();
            continue;
        }
        let Some(fields) = merged.as_object_mut() else {
            // Every head deleted the record: there are no fields to take.
            continue;
        };
        let taken = head
            .record
            .as_ref()
            .and_then(|r| serde_json::to_value(r).ok())
            .and_then(|r| r.get(field.as_str()).cloned());
        match taken {
            Some(v) if !v.is_null() => fields.insert(field.clone(), v),
            _ => fields.remove(field.as_str()),
        };
    }
    if delete {
        return Ok(Resolution::Delete);
    }
    let record = Record::from_json(merged).map_err(|e| Error::Invalid(e.to_string()))?;
    Ok(Resolution::Merge(Box::new(record)))
}

/// Resolves the record's concurrent edits with the user's choices; what was written, and
/// the new version's id.
pub fn resolve(
    vault: &mut Vault,
    record_id: Uuid,
    takes: &[(String, Uuid)],
) -> Result<(Resolution, Uuid)> {
    let proposal = vault.merge_proposal(record_id)?;
    let resolution = resolution(&proposal, takes)?;
    let version = write(vault, record_id, &resolution)?;
    Ok((resolution, version))
}

/// Writes a resolution as a version whose parents are every head; its id.
pub fn write(vault: &mut Vault, record_id: Uuid, resolution: &Resolution) -> Result<Uuid> {
    Ok(match resolution {
        Resolution::Delete => vault.delete(record_id)?,
        Resolution::Merge(record) => vault.resolve(record_id, (**record).clone())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use custos_model::hlc::Hlc;
    use custos_model::{Case, Kind};
    use custos_vault::{FieldConflict, RecordView};

    fn case(title: &str, owner: &str) -> Record {
        Record::Case(Case {
            title: title.into(),
            owner: owner.into(),
            ..Case::default()
        })
    }

    fn head(n: u128, record: Option<Record>) -> RecordView {
        RecordView {
            record_id: Uuid::from_u128(1),
            version_id: Uuid::from_u128(n),
            kind: Kind::Case,
            parents: Vec::new(),
            hlc: Hlc {
                ms: n as u64,
                counter: 0,
            },
            device: Uuid::nil(),
            record,
            heads: vec![Uuid::from_u128(10), Uuid::from_u128(11)],
        }
    }

    /// Two heads: A retitled it and set the owner Amina, B set the owner Jorge; the
    /// proposal takes A's title and B's (newer) owner.
    fn proposal(b_deleted: bool) -> MergeProposal {
        let b = (!b_deleted).then(|| case("Raid", "Jorge"));
        MergeProposal {
            record_id: Uuid::from_u128(1),
            heads: vec![head(10, Some(case("Raid, 12 May", "Amina"))), head(11, b)],
            base: None,
            merged: Some(case("Raid, 12 May", "Jorge")),
            conflicts: vec![FieldConflict {
                field: "owner".into(),
                values: vec![
                    (Uuid::from_u128(10), "Amina".into()),
                    (Uuid::from_u128(11), "Jorge".into()),
                ],
                chosen: Uuid::from_u128(11),
            }],
        }
    }

    fn owner_and_title(r: Resolution) -> (String, String) {
        match r {
            Resolution::Merge(r) => match *r {
                Record::Case(c) => (c.owner.clone(), c.title.clone()),
                other => panic!("not a case: {other:?}"),
            },
            other => panic!("not a merged case: {other:?}"),
        }
    }

    #[test]
    fn without_choices_the_proposal_is_written() {
        let r = resolution(&proposal(false), &[]).unwrap();
        assert_eq!(owner_and_title(r), ("Jorge".into(), "Raid, 12 May".into()));
    }

    #[test]
    fn a_choice_takes_that_heads_value_and_keeps_the_rest() {
        let takes = [("owner".to_string(), Uuid::from_u128(10))];
        let r = resolution(&proposal(false), &takes).unwrap();
        assert_eq!(owner_and_title(r), ("Amina".into(), "Raid, 12 May".into()));
        // Any field of any head, not only the conflicting ones (the command line's
        // --take): B's title.
        let takes = [("title".to_string(), Uuid::from_u128(11))];
        let r = resolution(&proposal(false), &takes).unwrap();
        assert_eq!(owner_and_title(r), ("Jorge".into(), "Raid".into()));
    }

    #[test]
    fn a_deletion_is_written_only_when_chosen_or_when_every_head_deleted() {
        let p = proposal(true);
        assert!(matches!(resolution(&p, &[]).unwrap(), Resolution::Merge(_)));
        let takes = [(DELETED.to_string(), Uuid::from_u128(11))];
        assert_eq!(resolution(&p, &takes).unwrap(), Resolution::Delete);
        let mut all_gone = proposal(true);
        all_gone.merged = None;
        assert_eq!(resolution(&all_gone, &[]).unwrap(), Resolution::Delete);
    }

    #[test]
    fn a_version_that_is_not_a_head_is_refused() {
        let takes = [("owner".to_string(), Uuid::from_u128(99))];
        let e = resolution(&proposal(false), &takes).unwrap_err();
        assert!(e.to_string().contains("not one of the versions"), "{e}");
    }
}
