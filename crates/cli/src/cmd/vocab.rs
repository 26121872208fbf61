//! The controlled vocabularies (act types, instruments, mechanisms), as a tree of codes
//! and labels in one language. Needs no vault.

use custos_model::vocab::{Term, Vocabulary};

use crate::cli::VocabArgs;
use crate::error::{CliError, Result};
use crate::{lang, tr};

pub fn show(VocabArgs { name, lang }: VocabArgs) -> Result {
    let v = custos_model::vocab::builtin()
        .by_name(&name)
        .ok_or_else(|| CliError::usage(tr!("vocab.unknown", name = name)))?;
    let lang = lang.unwrap_or_else(|| lang::code().to_owned());
    for t in &v.terms {
        let depth = ancestors(v, t);
        println!("{}{:<32} {}", "  ".repeat(depth), t.code, t.label(&lang));
    }
    Ok(())
}

/// How deep `t` is in its tree (bounded, should a parent loop).
fn ancestors(v: &Vocabulary, t: &Term) -> usize {
    let mut depth = 0;
    let mut parent = t.parent.as_deref();
    while let Some(p) = parent {
        depth += 1;
        parent = v.get(p).and_then(|t| t.parent.as_deref());
        if depth > 16 {
            break;
        }
    }
    depth
}
