//! Text the importer writes into records.

use crate::{Field, Tool};

/// The note that keeps a unit's source fields with no home in the model: one line a
/// field, `name: value`, values on several lines indented below their name.
pub fn unmapped_note(tool: Tool, original_id: &str, fields: &[Field]) -> String {
    let mut out = format!(
        "Fields from {} (record {original_id}) with no place in Custos, kept as they were:\n",
        tool.name()
    );
    for f in fields {
        out.push('\n');
        out.push_str(&f.name);
        out.push(':');
        let mut lines = f.value.lines();
        match lines.next() {
            Some(first) if !f.value.contains('\n') => {
                out.push(' ');
                out.push_str(first);
            }
            Some(first) => {
                out.push_str("\n    ");
                out.push_str(first);
                for l in lines {
                    out.push_str("\n    ");
                    out.push_str(l);
                }
            }
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_kept_with_its_lines() {
        let note = unmapped_note(
            Tool::Martus,
            "b-1",
            &[
                Field {
                    name: "Witness code".into(),
                    value: "W-7".into(),
                },
                Field {
                    name: "Details".into(),
                    value: "line one\nline two".into(),
                },
            ],
        );
        assert!(note.contains("Martus (record b-1)"));
        assert!(note.contains("\nWitness code: W-7"));
        assert!(note.contains("\nDetails:\n    line one\n    line two"));
    }
}
