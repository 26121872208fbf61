//! Records: add, list, show, edit, delete, history; and the field flags `add` and
//! `edit` share.

use serde_json::{json, Map, Value};
use uuid::Uuid;

use custos_vault::{Filter, RecordView};

use super::{parse_enum, print_json, read_json, to_record};
use crate::cli::{AddArgs, EditArgs, Fields, HistoryArgs, ListArgs, ShowArgs};
use crate::error::{CliError, Result};
use crate::session::Session;
use crate::{lang, tr};

pub fn add(session: &Session, AddArgs { kind, fields }: AddArgs) -> Result {
    session.with_vault(|vault| {
        let mut value = match &fields.json {
            Some(f) => read_json(f)?,
            None => {
                let kind = kind.ok_or_else(|| CliError::usage(tr!("records.add_needs_kind")))?;
                json!({ "kind": kind.as_str() })
            }
        };
        if let (Some(k), Some(obj)) = (kind, value.as_object_mut()) {
            obj.insert("kind".into(), json!(k.as_str()));
        }
        fields.apply(&mut value)?;
        let id = vault.add(to_record(value)?)?;
        println!("{id}");
        Ok(())
    })
}

pub fn list(session: &Session, args: ListArgs) -> Result {
    session.with_vault(|vault| {
        let filter = Filter {
            kind: args.kind,
            case_id: args.case,
            status: args.status.map(|s| parse_enum(&s, "status")).transpose()?,
            tag: args.tag,
            include_deleted: args.deleted,
        };
        let items = vault.list(&filter);
        if args.json {
            print_json(&serde_json::to_value(&items)?)?;
        } else {
            for i in &items {
                println!(
                    "{}  {:<12} {}  {}{}{}",
                    i.record_id,
                    i.kind.as_str(),
                    i.updated.to_rfc3339(),
                    i.summary.title,
                    if i.deleted {
                        format!("  {}", tr!("records.list_deleted"))
                    } else {
                        String::new()
                    },
                    if i.conflict {
                        format!("  {}", tr!("records.list_conflict"))
                    } else {
                        String::new()
                    },
                );
            }
        }
        for e in vault.damaged() {
            eprintln!(
                "{}",
                tr!("records.damaged_warning", error = crate::error::told(&e))
            );
        }
        Ok(())
    })
}

pub fn show(session: &Session, ShowArgs { id, version, json }: ShowArgs) -> Result {
    session.with_vault(|vault| {
        let view = match version {
            Some(v) => vault.get_version(id, v)?,
            None => vault.get(id)?,
        };
        if json {
            print_json(&serde_json::to_value(&view)?)
        } else {
            print_view(&view)
        }
    })
}

pub fn edit(session: &Session, EditArgs { id, fields }: EditArgs) -> Result {
    session.with_vault(|vault| {
        let current = vault.get(id)?;
        let mut value = match (&fields.json, &current.record) {
            (Some(f), _) => read_json(f)?,
            (None, Some(r)) => serde_json::to_value(r)?,
            (None, None) => return Err(CliError::usage(tr!("records.edit_deleted", id = id))),
        };
        if let Some(obj) = value.as_object_mut() {
            obj.entry("kind").or_insert(json!(current.kind.as_str()));
        }
        fields.apply(&mut value)?;
        let version = vault.update(id, to_record(value)?)?;
        println!("{version}");
        Ok(())
    })
}

pub fn delete(session: &Session, id: Uuid) -> Result {
    session.with_vault(|vault| {
        let version = vault.delete(id)?;
        println!("{version}");
        Ok(())
    })
}

pub fn history(session: &Session, HistoryArgs { id, json }: HistoryArgs) -> Result {
    session.with_vault(|vault| {
        let history = vault.history(id)?;
        if json {
            let out: Vec<Value> = history
                .iter()
                .map(|h| match h {
                    Ok(v) => serde_json::to_value(v).unwrap_or(Value::Null),
                    Err(e) => {
                        json!({ "error": { "kind": e.kind(), "message": e.to_string() } })
                    }
                })
                .collect();
            return print_json(&Value::Array(out));
        }
        let this = vault.device_id();
        for h in &history {
            match h {
                Ok(v) => println!(
                    "{}  {}  {}{}  {}",
                    v.version_id,
                    v.hlc.to_rfc3339(),
                    match &v.record {
                        Some(r) => r.title().to_owned(),
                        None => tr!("records.history_deleted"),
                    },
                    if v.parents.len() > 1 {
                        format!("  {}", tr!("records.history_merge"))
                    } else {
                        String::new()
                    },
                    tr!(
                        "records.history_by",
                        device = match vault.device_label(v.device) {
                            _ if v.device == this => tr!("records.history_this_device"),
                            Some(label) => tr!("records.history_device_label", label = label),
                            None => tr!("records.history_device", device = v.device),
                        }
                    )
                ),
                Err(e) => println!("{}", crate::error::told(e)),
            }
        }
        Ok(())
    })
}

fn print_view(v: &RecordView) -> Result {
    let labels = [
        lang::text("records.label_record"),
        lang::text("records.label_kind"),
        lang::text("records.label_version"),
        lang::text("records.label_updated"),
        lang::text("records.label_conflict"),
    ];
    // The values line up one space after the longest label (in English, `conflict`).
    let width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let [record, kind, version, updated, conflict] = labels;
    println!("{record:<width$} {}", v.record_id);
    println!("{kind:<width$} {}", v.kind.as_str());
    println!("{version:<width$} {}", v.version_id);
    println!("{updated:<width$} {}", v.hlc.to_rfc3339());
    if v.heads.len() > 1 {
        println!(
            "{conflict:<width$} {}",
            tr!("records.show_conflict", count = lang::n(v.heads.len()))
        );
    }
    match &v.record {
        None => println!("{}", tr!("records.show_deleted", id = v.record_id)),
        Some(r) => {
            let mut value = serde_json::to_value(r)?;
            if let Some(o) = value.as_object_mut() {
                o.remove("kind");
            }
            println!("{}", serde_json::to_string_pretty(&value)?);
        }
    }
    Ok(())
}

impl Fields {
    /// Applies the flags to a record's JSON.
    fn apply(&self, value: &mut Value) -> Result {
        let obj = value
            .as_object_mut()
            .ok_or_else(|| CliError::usage(tr!("records.not_an_object")))?;
        let mut put = |k: &str, v: Value| {
            obj.insert(k.to_owned(), v);
        };
        if let Some(v) = &self.title {
            put("title", json!(v));
        }
        if let Some(v) = &self.summary {
            put("summary", json!(v));
        }
        if let Some(v) = &self.status {
            put("status", json!(v));
        }
        if !self.tags.is_empty() {
            put("tags", json!(self.tags));
        }
        if let Some(v) = &self.owner {
            put("owner", json!(v));
        }
        if let Some(v) = &self.confidentiality {
            put("confidentiality", json!(v));
        }
        if let Some(v) = &self.case {
            put("case_id", json!(v));
        }
        if let Some(v) = &self.name {
            put("name", json!(v));
        }
        if !self.roles.is_empty() {
            put("roles", json!(self.roles));
        }
        if let Some(v) = &self.description {
            put("description", json!(v));
        }
        if let Some(v) = &self.date {
            put(
                "start",
                json!({ "date": v, "precision": self.precision.as_deref().unwrap_or("day") }),
            );
        }
        if !self.act_types.is_empty() {
            put("act_types", json!(self.act_types));
        }
        if let Some(v) = &self.mechanism {
            put("mechanism", json!(v));
        }
        if let Some(v) = &self.intervention_type {
            put("type", json!(v));
        }
        if let Some(v) = &self.text {
            put("text", json!(v));
        }
        if self.place.is_some() || self.country.is_some() {
            let loc = obj.entry("location").or_insert_with(|| json!({}));
            if loc.is_null() {
                *loc = json!({});
            }
            if let Some(l) = loc.as_object_mut() {
                if let Some(v) = &self.place {
                    l.insert("place".into(), json!(v));
                }
                if let Some(v) = &self.country {
                    l.insert("country".into(), json!(v));
                }
            }
        }
        for s in &self.set {
            let (path, raw) = s
                .split_once('=')
                .ok_or_else(|| CliError::usage(tr!("records.set_needs_field_value", value = s)))?;
            let v = serde_json::from_str(raw).unwrap_or_else(|_| json!(raw));
            set_path(obj, path, v)?;
        }
        Ok(())
    }
}

/// Sets a dotted field path, creating the objects on the way.
fn set_path(obj: &mut Map<String, Value>, path: &str, v: Value) -> Result {
    let mut parts = path.split('.').peekable();
    let mut cur = obj;
    while let Some(p) = parts.next() {
        if p.is_empty() {
            return Err(CliError::usage(tr!("records.set_bad_field", path = path)));
        }
        if parts.peek().is_none() {
            cur.insert(p.to_owned(), v);
            return Ok(());
        }
        let next = cur.entry(p).or_insert_with(|| json!({}));
        if next.is_null() {
            *next = json!({});
        }
        cur = next
            .as_object_mut()
            .ok_or_else(|| CliError::usage(tr!("records.set_not_object", part = p, path = path)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_builds_nested_fields() {
        let mut v = json!({ "kind": "person" });
        let f = Fields {
            set: vec!["consent.publish=\"given\"".into(), "group_size=12".into()],
            name: Some("Union".into()),
            ..Fields::default()
        };
        f.apply(&mut v).unwrap();
        assert_eq!(v["consent"]["publish"], "given");
        assert_eq!(v["group_size"], 12);
        assert_eq!(v["name"], "Union");
        let bad = Fields {
            set: vec!["novalue".into()],
            ..Fields::default()
        };
        assert!(bad.apply(&mut v).is_err());
    }
}
