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
            println!("{due} due for a follow-up on {day}; {awaiting} awaiting a response");
            let date = |d: Option<NaiveDate>| d.map_or("-".to_owned(), |d| d.to_string());
            for f in &list {
                println!(
                    "{}  case {}  {:<8} sent {}  follow-up {}{}  {}{}",
                    f.intervention_id,
                    f.case_id,
                    serde_json::to_value(f.status)?.as_str().unwrap_or(""),
                    date(f.sent),
                    date(f.follow_up),
                    if f.due { " DUE" } else { "" },
                    if f.mechanism.is_empty() {
                        String::new()
                    } else {
                        format!("[{}] ", f.mechanism)
                    },
                    f.title,
                );
            }
            Ok(())
        }),
    }
}
