//! Controlled vocabularies (HURIDOCS "micro-thesauri") as data, not code.
//!
//! The files in `vocab/` are hierarchical, multilingual term lists: types of act (each
//! mapped to instrument articles such as ICCPR art. 9), the instruments themselves, and
//! the protection mechanisms interventions go to. Records store the term codes; labels
//! come from here in the reader's language.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// A term of a vocabulary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Term {
    /// Stable code stored in records.
    pub code: String,
    /// Broader term, if any.
    #[serde(default)]
    pub parent: Option<String>,
    /// Instrument article codes (for act types).
    #[serde(default)]
    pub instruments: Vec<String>,
    /// Label per language code (`en`, `fr`, `es`, `ar` …).
    pub labels: BTreeMap<String, String>,
    /// For instruments: the instrument's short name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instrument: Option<String>,
    /// For instruments: the article.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article: Option<String>,
}

impl Term {
    /// The label in `lang`, falling back to English, then to the code.
    pub fn label(&self, lang: &str) -> &str {
        self.labels
            .get(lang)
            .or_else(|| self.labels.get("en"))
            .map(String::as_str)
            .unwrap_or(&self.code)
    }
}

/// One vocabulary file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vocabulary {
    /// Its name (`act_types`, `instruments`, `mechanisms`).
    pub vocabulary: String,
    /// Its version.
    pub version: u32,
    /// Its terms, parents before children.
    pub terms: Vec<Term>,
}

impl Vocabulary {
    /// The term with this code.
    pub fn get(&self, code: &str) -> Option<&Term> {
        self.terms.iter().find(|t| t.code == code)
    }

    /// True when the code is a term of this vocabulary.
    pub fn contains(&self, code: &str) -> bool {
        self.get(code).is_some()
    }
}

/// The vocabularies shipped with this build.
#[derive(Debug)]
pub struct Vocabularies {
    /// Types of act.
    pub act_types: Vocabulary,
    /// Instrument articles.
    pub instruments: Vocabulary,
    /// Protection mechanisms.
    pub mechanisms: Vocabulary,
}

impl Vocabularies {
    /// Looks up a vocabulary by name.
    pub fn by_name(&self, name: &str) -> Option<&Vocabulary> {
        match name {
            "act_types" | "act-types" => Some(&self.act_types),
            "instruments" => Some(&self.instruments),
            "mechanisms" => Some(&self.mechanisms),
            _ => None,
        }
    }
}

/// The built-in vocabularies, parsed once.
pub fn builtin() -> &'static Vocabularies {
    static V: OnceLock<Vocabularies> = OnceLock::new();
    V.get_or_init(|| {
        let parse = |name: &str, text: &str| -> Vocabulary {
            // The files are part of the build and checked by a unit test: a parse failure
            // here is a packaging bug, not user input.
            serde_json::from_str(text).unwrap_or_else(|e| panic!("vocab/{name}.json: {e}"))
        };
        Vocabularies {
            act_types: parse("act_types", include_str!("../vocab/act_types.json")),
            instruments: parse("instruments", include_str!("../vocab/instruments.json")),
            mechanisms: parse("mechanisms", include_str!("../vocab/mechanisms.json")),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn shipped_vocabularies_are_complete_and_consistent() {
        let v = builtin();
        for vocab in [&v.act_types, &v.instruments, &v.mechanisms] {
            assert!(!vocab.terms.is_empty(), "{} is empty", vocab.vocabulary);
            let mut seen = HashSet::new();
            for t in &vocab.terms {
                assert!(seen.insert(t.code.as_str()), "duplicate {}", t.code);
                if let Some(p) = &t.parent {
                    assert!(
                        seen.contains(p.as_str()),
                        "{}: parent {p} not before it",
                        t.code
                    );
                }
                for lang in crate::languages::codes() {
                    assert!(
                        t.labels.get(lang).is_some_and(|l| !l.trim().is_empty()),
                        "{}: no {lang} label",
                        t.code
                    );
                }
                for i in &t.instruments {
                    assert!(
                        v.instruments.contains(i),
                        "{}: unknown instrument {i}",
                        t.code
                    );
                }
            }
        }
        assert!(v.mechanisms.contains("un_sr_hrd"));
        let arrest = v
            .act_types
            .get("arbitrary_arrest")
            .expect("arbitrary_arrest");
        assert!(arrest.instruments.iter().any(|i| i == "iccpr_9"));
    }

    #[test]
    fn labels_fall_back_to_english() {
        let t = &builtin().mechanisms.terms[0];
        assert_eq!(t.label("xx"), t.label("en"));
        assert_ne!(t.label("ar"), t.label("en"));
    }
}
