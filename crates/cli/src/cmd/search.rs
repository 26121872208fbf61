//! Full-text search over every record, with the filters that select cases.

use custos_search::VaultSearch;
use custos_vault::Vault;

use super::{parse_enum, print_json};
use crate::cli::SearchArgs;
use crate::error::Result;
use crate::session::Session;
use crate::{lang, tr};

pub fn search(session: &Session, args: SearchArgs) -> Result {
    session.with_vault(|vault| {
        let query = custos_search::SearchQuery {
            text: args.words.join(" "),
            prefix: false,
            status: args.status.map(|s| parse_enum(&s, "status")).transpose()?,
            tags: args.tags,
            act_type: args.act_type,
            from: args.from,
            to: args.to,
            location: args.location,
            role: args.role.map(|r| parse_enum(&r, "role")).transpose()?,
            awaiting_response: args.awaiting_response,
            follow_up_due: args.follow_up_due,
            kinds: args.kinds,
            limit: args.limit,
        };
        build_search_index(vault)?;
        let found = vault.search(&query)?;
        if args.json {
            return print_json(&serde_json::to_value(&found)?);
        }
        for h in &found.hits {
            println!(
                "{}  {:<12} {}{}",
                h.record_id,
                h.kind.as_str(),
                h.title,
                h.case_id
                    .map(|c| format!("  {}", tr!("search.in_case", id = c)))
                    .unwrap_or_default(),
            );
        }
        let count = lang::n(found.total);
        if found.total > found.hits.len() {
            let shown = lang::n(found.hits.len());
            eprintln!(
                "{}",
                tr!("search.found_limited", count = count, shown = shown)
            );
        } else {
            eprintln!("{}", tr!("search.found", count = count));
        }
        Ok(())
    })
}

/// Builds the search index (from its snapshot when it has one), showing progress on a
/// terminal when it takes long.
fn build_search_index(vault: &Vault) -> Result {
    use std::io::IsTerminal as _;
    let terminal = std::io::stderr().is_terminal();
    let started = std::time::Instant::now();
    let mut shown = false;
    loop {
        let (done, total) = vault.prepare_search(5_000)?;
        if done >= total {
            break;
        }
        if terminal && started.elapsed() > std::time::Duration::from_millis(300) {
            eprint!(
                "\r{}",
                tr!(
                    "search.index_progress",
                    done = lang::n(done),
                    total = lang::n(total)
                )
            );
            shown = true;
        }
    }
    if shown {
        eprintln!("\r{}{:30}", tr!("search.index_done"), "");
    }
    Ok(())
}
