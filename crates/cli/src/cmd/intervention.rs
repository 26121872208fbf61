//! Following up submissions: `intervention sent` marks a draft sent, `intervention due`
//! lists what is due for a follow-up and what awaits a response. The work is
//! `custos_app::followup`'s, shared with the desktop app.

use chrono::NaiveDate;
use custos_app::followup::{self, Sent};
use serde_json::json;

use super::print_json;
use crate::cli::InterventionCommand;
use crate::error::Result;
use crate::session::Session;
use crate::{lang, tr};

fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

pub fn run(session: &Session, cmd: InterventionCommand) -> Result {
    match cmd {
        InterventionCommand::Sent {
            id,
            date,
            channel,
            reference,
            follow_up,
        } => session.with_vault(|vault| {
            let sent = Sent {
                date,
                channel: channel.unwrap_or_default(),
                reference: reference.unwrap_or_default(),
                follow_up,
            };
            let version = followup::mark_sent(vault, id, &sent, today())?;
            println!("{version}");
            Ok(())
        }),
        InterventionCommand::Due { today: day, json } => session.with_vault(|vault| {
            let day = day.unwrap_or_else(today);
            let list = followup::follow_ups(vault, day)?;
            if json {
                return print_json(&json!({ "today": day, "interventions": list }));
            }
            let due = list.iter().filter(|f| f.due).count();
            let awaiting = list.iter().filter(|f| f.awaiting).count();
            println!(
                "{}",
                tr!(
                    "intervention.due_summary",
                    due = lang::n(due),
                    date = day,
                    awaiting = lang::n(awaiting)
                )
            );
            let date = |d: Option<NaiveDate>| d.map_or("-".to_owned(), |d| d.to_string());
            for f in &list {
                let status = serde_json::to_value(f.status)?;
                println!(
                    "{}",
                    tr!(
                        "intervention.due_row",
                        id = f.intervention_id,
                        case = f.case_id,
                        // The status is a value (`sent`, `draft`), not translated.
                        status = format!("{:<8}", status.as_str().unwrap_or("")),
                        sent = date(f.sent),
                        follow_up = date(f.follow_up),
                        due = if f.due {
                            format!(" {}", tr!("intervention.due_flag"))
                        } else {
                            String::new()
                        },
                        mechanism = if f.mechanism.is_empty() {
                            String::new()
                        } else {
                            format!("[{}] ", f.mechanism)
                        },
                        title = f.title,
                    )
                );
            }
            Ok(())
        }),
    }
}
