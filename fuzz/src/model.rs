//! Entry points of `custos-model`: a record as JSON (every import, every version body),
//! and its validation.

use custos_model::Record;

/// A target: its name (and corpus folder) and its entry point.
pub type Target = (&'static str, fn(&[u8]));

/// The targets of this module.
pub const TARGETS: &[Target] = &[("record", record)];

/// A record's JSON, read with field-exact errors, then validated; what reads writes back
/// to JSON that reads again to the same record.
pub fn record(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(r) = Record::from_json(value) {
        let _ = r.validate();
        let _ = (r.title(), r.links(), r.case_id(), r.kind());
        let back = serde_json::to_value(&r).expect("a record serializes");
        let again = Record::from_json(back).expect("a record's own JSON reads back");
        assert_eq!(again, r);
    }
}

/// A record of each kind as JSON.
pub fn record_seeds() -> Vec<Vec<u8>> {
    let case = "00000000-0000-4000-8000-000000000001";
    [
        serde_json::json!({"kind": "case", "title": "Raid on the office", "summary": "s",
            "status": "open", "tags": ["a", "b"], "confidentiality": "restricted"}),
        serde_json::json!({"kind": "incident", "case_id": case, "title": "Raid",
            "start": {"date": "2024-05-02", "precision": "day"},
            "end": {"date": "2024-05-03"}, "act_types": ["arbitrary_arrest"],
            "location": {"place": "Office", "country": "XX", "lat": 12.5, "lon": -3.25},
            "related": [case]}),
        serde_json::json!({"kind": "person", "case_id": case, "name": "A. B.",
            "other_names": ["AB"], "is_group": false,
            "birth_date": {"date": "1980-01-01", "precision": "year"}}),
        serde_json::json!({"kind": "intervention", "case_id": case, "title": "Appeal",
            "type": "urgent_appeal", "date": "2024-06-01", "incident_ids": [case]}),
        serde_json::json!({"kind": "note", "case_id": case, "text": "n", "about": [case]}),
    ]
    .iter()
    .map(|v| serde_json::to_vec(v).expect("json"))
    .collect()
}

/// Valid inputs of each target.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    record_seeds().into_iter().map(|s| ("record", s)).collect()
}
