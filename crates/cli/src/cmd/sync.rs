//! The hub: enroll, sync (now, status, pause, resume, route, interval), offline bundles,
//! and the records edited on two devices at once (conflicts, resolve).

use std::path::Path;

use custos_app::resolve;
use custos_vault::{Filter, Vault};
use uuid::Uuid;

use super::{print_json, read_input};
use crate::cli::{BundleCommand, CoordinatorAction, EnrollArgs, ResolveArgs, SyncCommand};
use crate::error::{CliError, Result};
use crate::session::Session;

pub fn enroll(
    session: &Session,
    EnrollArgs {
        invite,
        label,
        route,
    }: EnrollArgs,
) -> Result {
    let route = parse_route(&route)?;
    let text = if invite.trim_start().starts_with("custos-invite:") {
        invite
    } else {
        String::from_utf8(read_input(Path::new(&invite))?)
            .map_err(|_| CliError::usage("the invite file is not text"))?
    };
    session.with_vault(|vault| {
        let e = custos_sync::enroll(vault, &text, &label, route)?;
        println!("enrolled as device {} ({})", e.device_id, e.role);
        if let Some(words) = &e.org_words {
            println!(
                "your organisation signs its roster; its key's words: {words}\n\
                 Compare them with a coordinator in person. Then read them this device's \
                 words (custos org show): a coordinator approves it, and until then what \
                 you write stays on this device."
            );
        }
        Ok(())
    })
}

pub fn run(session: &Session, cmd: SyncCommand) -> Result {
    session.with_vault(|vault| sync_command(vault, cmd))
}

pub fn bundle(session: &Session, cmd: BundleCommand) -> Result {
    session.with_vault(|vault| match cmd {
        BundleCommand::Export { file } => {
            let s = custos_sync::bundle::export(vault, &file)?;
            println!(
                "{} versions and {} evidence files written to {} ({} bytes, encrypted)",
                s.objects,
                s.blobs,
                file.display(),
                s.bytes
            );
            Ok(())
        }
        BundleCommand::Import { file } => {
            let (took, blobs) = custos_sync::bundle::import(vault, &file)?;
            println!(
                "{} new versions, {} already here, {} refused, {} evidence files",
                took.stored,
                took.existing,
                took.rejected.len(),
                blobs
            );
            for (id, why) in &took.rejected {
                eprintln!("refused {id}: {why}");
            }
            Ok(())
        }
    })
}

pub fn conflicts(session: &Session, json: bool) -> Result {
    session.with_vault(|vault| {
        let items: Vec<_> = vault
            .list(&Filter {
                include_deleted: true,
                ..Filter::default()
            })
            .into_iter()
            .filter(|i| i.conflict)
            .collect();
        if json {
            return print_json(&serde_json::to_value(&items)?);
        }
        if items.is_empty() {
            println!("no conflicts");
        }
        for i in &items {
            println!(
                "{}  {:<12} {}",
                i.record_id,
                i.kind.as_str(),
                i.summary.title
            );
        }
        Ok(())
    })
}

pub fn resolve(session: &Session, ResolveArgs { id, take, dry_run }: ResolveArgs) -> Result {
    session.with_vault(|vault| resolve_command(vault, id, &take, dry_run))
}

/// `direct` or `socks5:HOST:PORT`.
fn parse_route(route: &str) -> Result<custos_sync::Route> {
    custos_sync::Route::parse(route).map_err(CliError::Usage)
}

fn sync_command(vault: &mut Vault, cmd: SyncCommand) -> Result {
    match cmd {
        SyncCommand::Now | SyncCommand::Check => {
            let held = custos_sync::Held::new(vault);
            let report = if matches!(cmd, SyncCommand::Check) {
                let r = custos_sync::check_hub(&held)?;
                println!(
                    "the hub had lost {} change(s) or file(s) of this vault; sent again",
                    r.hub_lost
                );
                r
            } else {
                custos_sync::run(&held)?
            };
            println!(
                "sent {} new versions ({} already there), received {}, evidence files {} up / {} down",
                report.pushed, report.existing, report.pulled, report.blobs_up, report.blobs_down
            );
            println!(
                "{} requests, {} bytes sent, {} bytes received",
                report.requests, report.bytes_sent, report.bytes_received
            );
            if let Some(w) = report.warning() {
                eprintln!("{w}");
            }
            let conflicts = vault.conflict_count();
            if conflicts > 0 {
                println!("{conflicts} record(s) have concurrent edits: see `custos conflicts`");
            }
            Ok(())
        }
        SyncCommand::Status { json } => {
            let info = vault.sync_info();
            if json {
                return print_json(&serde_json::to_value(&info)?);
            }
            if !info.enrolled {
                println!("not enrolled with a hub (see `custos enroll`)");
                return Ok(());
            }
            let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
                t.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                    .unwrap_or_else(|| "never".into())
            };
            println!("hub           {} ({})", info.hub, info.pin);
            println!(
                "role          {}",
                info.role.map(|r| r.as_str()).unwrap_or("none")
            );
            println!("route         {}", info.route);
            println!(
                "state         {}",
                if info.paused { "paused" } else { "active" }
            );
            println!("every         {} minutes", info.interval_minutes);
            println!("last success  {}", when(info.last_success));
            println!("last attempt  {}", when(info.last_attempt));
            println!(
                "last error    {}",
                info.last_error.as_deref().unwrap_or("none")
            );
            println!(
                "pending       {} versions, {} evidence files",
                info.pending_versions, info.pending_blobs
            );
            println!("conflicts     {}", info.conflicts);
            let devices = |d: &[String]| {
                if d.is_empty() {
                    "no device enrolled".to_string()
                } else {
                    d.join(", ")
                }
            };
            super::org::print_org(&info.org);
            println!("who can read this vault's records:");
            for r in &info.readers {
                println!(
                    "  {:<12} {}  ({})",
                    r.kind,
                    r.recipient,
                    devices(&r.devices)
                );
            }
            for c in info.changes.iter().rev().take(10) {
                let what = match c.what.as_str() {
                    "device_accepted" => "now accepts versions from device",
                    "device_revoked" => "device revoked:",
                    "coordinator_announced" => "the hub announced a coordinator:",
                    "coordinator_added" => "the organisation signed a coordinator:",
                    "coordinator_removed" => "the organisation removed a coordinator:",
                    "coordinator_unsigned" => {
                        "the hub listed a coordinator the organisation did not sign (not used):"
                    }
                    "roster_refused" => "ROSTER REFUSED:",
                    "organisation_key_offered" => "the hub offers an organisation key:",
                    "organisation_key_confirmed" => "you confirmed the organisation key:",
                    "organisation_key_changed" => "you confirmed a NEW organisation key:",
                    other => other,
                };
                let role = c
                    .role
                    .map(|r| format!(" ({})", r.as_str()))
                    .unwrap_or_default();
                let signed = match (&c.by, c.signed_at) {
                    (Some(by), Some(at)) => {
                        format!(" — signed by '{by}' {}", at.format("%Y-%m-%d %H:%M UTC"))
                    }
                    (None, Some(at)) => format!(" — signed {}", at.format("%Y-%m-%d %H:%M UTC")),
                    _ => String::new(),
                };
                println!(
                    "change        {}  {what} {}{role}{signed}",
                    c.at.format("%Y-%m-%d %H:%M UTC"),
                    c.who
                );
            }
            for g in &info.gaps {
                println!(
                    "MISSING versions #{}–#{} of device '{}' (a later one arrived; noticed {}): \
                     if they do not arrive after that device has synced, the hub is \
                     withholding them",
                    g.from,
                    g.to,
                    g.device,
                    g.noticed_at.format("%Y-%m-%d %H:%M UTC")
                );
            }
            for p in &info.pending_coordinators {
                println!(
                    "NEW COORDINATOR announced by the hub on {}: {} ({})",
                    p.seen_at.format("%Y-%m-%d %H:%M UTC"),
                    p.recipient,
                    devices(&p.devices)
                );
                println!(
                    "  not used until you confirm it: check with your organisation, not through \
                     the hub, that this key is a coordinator's, then run \
                     `custos sync coordinator confirm {}` (or `… refuse {}`)",
                    p.recipient, p.recipient
                );
            }
            Ok(())
        }
        SyncCommand::Coordinator { action } => match action {
            CoordinatorAction::Confirm { recipient } => {
                vault.confirm_coordinator(&recipient)?;
                println!("confirmed: new records and evidence are also encrypted to {recipient}");
                Ok(())
            }
            CoordinatorAction::Refuse { recipient } => {
                vault.refuse_coordinator(&recipient)?;
                println!("refused: {recipient} is never used, and not offered again");
                Ok(())
            }
        },
        SyncCommand::Pause => Ok(vault.set_sync_paused(true)?),
        SyncCommand::Resume => Ok(vault.set_sync_paused(false)?),
        SyncCommand::Route { route } => Ok(vault.set_sync_route(parse_route(&route)?)?),
        SyncCommand::Interval { minutes } => Ok(vault.set_sync_interval(minutes)?),
    }
}

fn resolve_command(vault: &mut Vault, id: Uuid, take: &[String], dry_run: bool) -> Result {
    let mut takes = Vec::with_capacity(take.len());
    for t in take {
        let (field, version) = t
            .split_once('=')
            .ok_or_else(|| CliError::usage(format!("'{t}': use --take FIELD=VERSION")))?;
        let version: Uuid = version
            .parse()
            .map_err(|_| CliError::usage(format!("'{version}' is not a version id")))?;
        takes.push((field.to_owned(), version));
    }
    let proposal = vault.merge_proposal(id)?;
    // The choices are the desktop's: one use case writes what both decide.
    let resolution = resolve::resolution(&proposal, &takes)?;
    if proposal.merged.is_none() {
        println!("every version deletes the record; writing the deletion");
    }
    for h in &proposal.heads {
        println!(
            "version {}  {}{}",
            h.version_id,
            h.hlc.to_rfc3339(),
            if h.record.is_none() {
                "  (deleted)"
            } else {
                ""
            }
        );
    }
    for c in &proposal.conflicts {
        println!("field '{}' differs:", c.field);
        for (v, val) in &c.values {
            let mark = if *v == c.chosen
                && !take.iter().any(|t| t.starts_with(&format!("{}=", c.field)))
            {
                " (taken)"
            } else {
                ""
            };
            println!("  {v}: {val}{mark}");
        }
    }
    if dry_run {
        match &resolution {
            resolve::Resolution::Delete => println!("the record would be deleted"),
            resolve::Resolution::Merge(record) => {
                let mut shown = serde_json::to_value(&**record)?;
                if let Some(o) = shown.as_object_mut() {
                    o.remove("kind");
                }
                println!("{}", serde_json::to_string_pretty(&shown)?);
            }
        }
        return Ok(());
    }
    let version = resolve::write(vault, id, &resolution)?;
    match resolution {
        resolve::Resolution::Delete => println!("deleted as version {version}"),
        resolve::Resolution::Merge(_) => println!("merged as version {version}"),
    }
    Ok(())
}
