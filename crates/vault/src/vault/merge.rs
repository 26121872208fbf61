//! Resolving concurrent edits. Two devices that edit one record offline leave two heads;
//! both are kept and the record is flagged until someone writes a merge version (a
//! version whose parents are every head).
//!
//! The proposal is a three-way merge field by field against the newest common ancestor:
//! a field changed on one side only takes that change; a field changed differently on
//! several sides is a conflict, listed with every side's value, and the proposal takes
//! the newest side's value until the user chooses. A deletion against an edit keeps the
//! edited record: nothing is lost by resolving.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{RecordView, Vault};
use crate::error::{Error, Result};
use custos_model::Record;

/// A field changed differently on several heads.
#[derive(Debug, Clone, Serialize)]
pub struct FieldConflict {
    /// The field's name.
    pub field: String,
    /// Each head's value: (head version id, value; `null` when absent or deleted).
    pub values: Vec<(Uuid, Value)>,
    /// The head whose value the proposal took.
    pub chosen: Uuid,
}

/// A proposed merge of a record's heads.
#[derive(Debug, Clone, Serialize)]
pub struct MergeProposal {
    /// The record.
    pub record_id: Uuid,
    /// The heads, oldest first.
    pub heads: Vec<RecordView>,
    /// The newest version every head descends from, if any.
    pub base: Option<Uuid>,
    /// The merged record (`None` when every head is a deletion).
    pub merged: Option<Record>,
    /// Fields that need a choice.
    pub conflicts: Vec<FieldConflict>,
}

impl Vault {
    /// Proposes a merge of a conflicted record's heads.
    pub fn merge_proposal(&self, record_id: Uuid) -> Result<MergeProposal> {
        let entry = self.entry(record_id)?;
        if !entry.conflict() {
            return Err(Error::Invalid(format!(
                "record {record_id} has no concurrent edits to resolve"
            )));
        }
        // Heads oldest first (the index keeps versions in clock order).
        let heads: Vec<Uuid> = entry
            .versions
            .iter()
            .filter(|v| entry.heads.contains(&v.id))
            .map(|v| v.id)
            .collect();
        let parents: HashMap<Uuid, Vec<Uuid>> = entry
            .versions
            .iter()
            .map(|v| (v.id, v.parents.clone()))
            .collect();
        let ancestors = |start: Uuid| -> HashSet<Uuid> {
            let mut seen = HashSet::new();
            let mut stack = vec![start];
            while let Some(v) = stack.pop() {
                if seen.insert(v) {
                    stack.extend(parents.get(&v).into_iter().flatten().copied());
                }
            }
            seen
        };
        let mut common: Option<HashSet<Uuid>> = None;
        for h in &heads {
            let a = ancestors(*h);
            common = Some(match common {
                None => a,
                Some(c) => c.intersection(&a).copied().collect(),
            });
        }
        let common = common.unwrap_or_default();
        let base = entry
            .versions
            .iter()
            .rev()
            .find(|v| common.contains(&v.id))
            .map(|v| v.id);

        let base_fields = match base {
            Some(b) => fields(self.get_version(record_id, b)?.record.as_ref())?,
            None => Map::new(),
        };
        let views: Vec<RecordView> = heads
            .iter()
            .map(|h| self.get_version(record_id, *h))
            .collect::<Result<_>>()?;
        let head_fields: Vec<Map<String, Value>> = views
            .iter()
            .map(|v| fields(v.record.as_ref()))
            .collect::<Result<_>>()?;
        // The newest head that is not a deletion gives the shape of the merged record.
        let Some(newest_alive) = views.iter().rposition(|v| v.record.is_some()) else {
            return Ok(MergeProposal {
                record_id,
                heads: views,
                base,
                merged: None,
                conflicts: Vec::new(),
            });
        };
        let keys: BTreeSet<&String> = base_fields
            .keys()
            .chain(head_fields.iter().flat_map(|f| f.keys()))
            .collect();
        let mut merged = Map::new();
        let mut conflicts = Vec::new();
        for key in keys {
            let base_value = base_fields.get(key);
            // The sides that changed this field (deleted heads do not vote on fields).
            let mut changed: Vec<(usize, &Value)> = Vec::new();
            for (i, f) in head_fields.iter().enumerate() {
                if views[i].record.is_none() {
                    continue;
                }
                let v = f.get(key);
                if v != base_value {
                    if let Some(v) = v {
                        changed.push((i, v));
                    }
                }
            }
            let distinct: Vec<&Value> = {
                let mut d: Vec<&Value> = Vec::new();
                for (_, v) in &changed {
                    if !d.contains(v) {
                        d.push(v);
                    }
                }
                d
            };
            let value = match distinct.len() {
                0 => head_fields[newest_alive].get(key).or(base_value).cloned(),
                1 => Some(distinct[0].clone()),
                _ => {
                    let (chosen, value) = *changed.last().expect("two or more changes");
                    conflicts.push(FieldConflict {
                        field: key.clone(),
                        values: head_fields
                            .iter()
                            .enumerate()
                            .map(|(i, f)| (heads[i], f.get(key).cloned().unwrap_or(Value::Null)))
                            .collect(),
                        chosen: heads[chosen],
                    });
                    Some(value.clone())
                }
            };
            if let Some(v) = value {
                merged.insert(key.clone(), v);
            }
        }
        if views.iter().any(|v| v.record.is_none()) {
            conflicts.push(FieldConflict {
                field: "(deleted)".into(),
                values: views
                    .iter()
                    .map(|v| (v.version_id, Value::Bool(v.record.is_none())))
                    .collect(),
                chosen: views[newest_alive].version_id,
            });
        }
        let merged: Record = serde_json::from_value(Value::Object(merged)).map_err(|e| {
            Error::Invalid(format!(
                "the heads of record {record_id} cannot be merged automatically: {e}"
            ))
        })?;
        Ok(MergeProposal {
            record_id,
            heads: views,
            base,
            merged: Some(merged),
            conflicts,
        })
    }

    /// Resolves a conflicted record by writing `record` as a merge of every head.
    pub fn resolve(&mut self, record_id: Uuid, record: Record) -> Result<Uuid> {
        if !self.entry(record_id)?.conflict() {
            return Err(Error::Invalid(format!(
                "record {record_id} has no concurrent edits to resolve"
            )));
        }
        self.update(record_id, record)
    }
}

fn fields(record: Option<&Record>) -> Result<Map<String, Value>> {
    match record {
        None => Ok(Map::new()),
        Some(r) => match serde_json::to_value(r) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(Error::Invalid("a record could not be compared".into())),
        },
    }
}
