//! The hub: enroll, sync (now, status, pause, resume, route, interval), offline bundles,
//! and the records edited on two devices at once (conflicts, resolve).

use std::path::Path;

use custos_app::resolve;
use custos_vault::{Filter, Vault};
use uuid::Uuid;

use super::org::status_label;
use super::{print_json, read_input};
use crate::cli::{BundleCommand, CoordinatorAction, EnrollArgs, ResolveArgs, SyncCommand};
use crate::error::{CliError, Result};
use crate::lang;
use crate::session::Session;
use crate::tr;

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
            .map_err(|_| CliError::usage(tr!("sync.invite_not_text")))?
    };
    session.with_vault(|vault| {
        let e = custos_sync::enroll(vault, &text, &label, route)?;
        println!(
            "{}",
            tr!("sync.enrolled", device = e.device_id, role = e.role)
        );
        if let Some(words) = &e.org_words {
            println!("{}", tr!("sync.enrolled_org_words", words = words));
            println!("{}", tr!("sync.enrolled_org_compare"));
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
                "{}",
                tr!(
                    "sync.bundle.written",
                    versions = lang::n(s.objects),
                    files = lang::n(s.blobs),
                    path = file.display(),
                    bytes = lang::n(s.bytes)
                )
            );
            Ok(())
        }
        BundleCommand::Import { file } => {
            let (took, blobs) = custos_sync::bundle::import(vault, &file)?;
            println!(
                "{}",
                tr!(
                    "sync.bundle.imported",
                    new = lang::n(took.stored),
                    existing = lang::n(took.existing),
                    refused = lang::n(took.rejected.len()),
                    files = lang::n(blobs)
                )
            );
            for (id, why) in &took.rejected {
                eprintln!("{}", tr!("sync.bundle.refused", id = id, why = why));
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
            println!("{}", tr!("sync.no_conflicts"));
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
                    "{}",
                    tr!("sync.check.hub_lost", count = lang::n(r.hub_lost))
                );
                r
            } else {
                custos_sync::run(&held)?
            };
            println!(
                "{}",
                tr!(
                    "sync.now.sent",
                    sent = lang::n(report.pushed),
                    existing = lang::n(report.existing),
                    received = lang::n(report.pulled),
                    up = lang::n(report.blobs_up),
                    down = lang::n(report.blobs_down)
                )
            );
            println!(
                "{}",
                tr!(
                    "sync.now.traffic",
                    requests = lang::n(report.requests),
                    sent = lang::n(report.bytes_sent),
                    received = lang::n(report.bytes_received)
                )
            );
            if let Some(w) = warning(&report) {
                eprintln!("{w}");
            }
            let conflicts = vault.conflict_count();
            if conflicts > 0 {
                println!("{}", tr!("sync.now.conflicts", count = lang::n(conflicts)));
            }
            Ok(())
        }
        SyncCommand::Status { json } => {
            let info = vault.sync_info();
            if json {
                return print_json(&serde_json::to_value(&info)?);
            }
            if !info.enrolled {
                println!("{}", tr!("sync.not_enrolled"));
                return Ok(());
            }
            let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
                t.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                    .unwrap_or_else(|| tr!("sync.status.never"))
            };
            let line = |label: String, value: String| {
                println!("{}{value}", status_label(&label));
            };
            line(
                tr!("sync.status.hub"),
                format!("{} ({})", info.hub, info.pin),
            );
            line(
                tr!("sync.status.role"),
                info.role
                    .map(|r| r.as_str().to_owned())
                    .unwrap_or_else(|| tr!("sync.status.none")),
            );
            line(tr!("sync.status.route"), info.route.to_string());
            line(
                tr!("sync.status.state"),
                if info.paused {
                    tr!("sync.status.paused")
                } else {
                    tr!("sync.status.active")
                },
            );
            line(
                tr!("sync.status.every"),
                tr!(
                    "sync.status.every_minutes",
                    minutes = lang::n(info.interval_minutes)
                ),
            );
            line(tr!("sync.status.last_success"), when(info.last_success));
            line(tr!("sync.status.last_attempt"), when(info.last_attempt));
            line(
                tr!("sync.status.last_error"),
                info.last_error
                    .clone()
                    .unwrap_or_else(|| tr!("sync.status.none")),
            );
            line(
                tr!("sync.status.pending"),
                tr!(
                    "sync.status.pending_value",
                    versions = lang::n(info.pending_versions),
                    files = lang::n(info.pending_blobs)
                ),
            );
            line(tr!("sync.status.conflicts"), lang::n(info.conflicts));
            let devices = |d: &[String]| {
                if d.is_empty() {
                    tr!("sync.status.no_device")
                } else {
                    d.join(", ")
                }
            };
            super::org::print_org(&info.org);
            println!("{}", tr!("sync.status.readers"));
            for r in &info.readers {
                println!(
                    "  {:<12} {}  ({})",
                    r.kind,
                    r.recipient,
                    devices(&r.devices)
                );
            }
            for c in info.changes.iter().rev().take(10) {
                let who = &c.who;
                let what = match c.what.as_str() {
                    "device_accepted" => tr!("sync.change.device_accepted", who = who),
                    "device_revoked" => tr!("sync.change.device_revoked", who = who),
                    "coordinator_announced" => {
                        tr!("sync.change.coordinator_announced", who = who)
                    }
                    "coordinator_added" => tr!("sync.change.coordinator_added", who = who),
                    "coordinator_removed" => tr!("sync.change.coordinator_removed", who = who),
                    "coordinator_unsigned" => {
                        tr!("sync.change.coordinator_unsigned", who = who)
                    }
                    "roster_refused" => tr!("sync.change.roster_refused", who = who),
                    "organisation_key_offered" => {
                        tr!("sync.change.organisation_key_offered", who = who)
                    }
                    "organisation_key_confirmed" => {
                        tr!("sync.change.organisation_key_confirmed", who = who)
                    }
                    "organisation_key_changed" => {
                        tr!("sync.change.organisation_key_changed", who = who)
                    }
                    other => format!("{other} {who}"),
                };
                let role = c
                    .role
                    .map(|r| format!(" ({})", r.as_str()))
                    .unwrap_or_default();
                let signed = match (&c.by, c.signed_at) {
                    (Some(by), Some(at)) => format!(
                        " {}",
                        tr!(
                            "sync.change.signed_by",
                            by = by,
                            at = at.format("%Y-%m-%d %H:%M UTC")
                        )
                    ),
                    (None, Some(at)) => format!(
                        " {}",
                        tr!("sync.change.signed", at = at.format("%Y-%m-%d %H:%M UTC"))
                    ),
                    _ => String::new(),
                };
                line(
                    tr!("sync.status.change"),
                    format!(
                        "{}  {what}{role}{signed}",
                        c.at.format("%Y-%m-%d %H:%M UTC")
                    ),
                );
            }
            for g in &info.gaps {
                println!(
                    "{}",
                    tr!(
                        "sync.status.missing_versions",
                        from = lang::n(g.from),
                        to = lang::n(g.to),
                        device = g.device,
                        noticed = g.noticed_at.format("%Y-%m-%d %H:%M UTC")
                    )
                );
            }
            for p in &info.pending_coordinators {
                println!(
                    "{}",
                    tr!(
                        "sync.status.new_coordinator",
                        at = p.seen_at.format("%Y-%m-%d %H:%M UTC"),
                        recipient = p.recipient,
                        devices = devices(&p.devices)
                    )
                );
                println!(
                    "  {}",
                    tr!(
                        "sync.status.new_coordinator_confirm",
                        recipient = p.recipient
                    )
                );
            }
            Ok(())
        }
        SyncCommand::Coordinator { action } => match action {
            CoordinatorAction::Confirm { recipient } => {
                vault.confirm_coordinator(&recipient)?;
                println!(
                    "{}",
                    tr!("sync.coordinator.confirmed", recipient = recipient)
                );
                Ok(())
            }
            CoordinatorAction::Refuse { recipient } => {
                vault.refuse_coordinator(&recipient)?;
                println!("{}", tr!("sync.coordinator.refused", recipient = recipient));
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
            .ok_or_else(|| CliError::usage(tr!("sync.resolve.take_form", take = t)))?;
        let version: Uuid = version
            .parse()
            .map_err(|_| CliError::usage(tr!("sync.resolve.not_version_id", version = version)))?;
        takes.push((field.to_owned(), version));
    }
    let proposal = vault.merge_proposal(id)?;
    // The choices are the desktop's: one use case writes what both decide.
    let resolution = resolve::resolution(&proposal, &takes)?;
    if proposal.merged.is_none() {
        println!("{}", tr!("sync.resolve.all_delete"));
    }
    for h in &proposal.heads {
        let (version, time) = (h.version_id, h.hlc.to_rfc3339());
        if h.record.is_none() {
            println!(
                "{}",
                tr!("sync.resolve.head_deleted", version = version, time = time)
            );
        } else {
            println!(
                "{}",
                tr!("sync.resolve.head", version = version, time = time)
            );
        }
    }
    for c in &proposal.conflicts {
        println!("{}", tr!("sync.resolve.field_differs", field = c.field));
        for (v, val) in &c.values {
            if *v == c.chosen && !take.iter().any(|t| t.starts_with(&format!("{}=", c.field))) {
                println!("  {v}: {}", tr!("sync.resolve.taken", value = val));
            } else {
                println!("  {v}: {val}");
            }
        }
    }
    if dry_run {
        match &resolution {
            resolve::Resolution::Delete => println!("{}", tr!("sync.resolve.would_delete")),
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
        resolve::Resolution::Delete => {
            println!("{}", tr!("sync.resolve.deleted", version = version))
        }
        resolve::Resolution::Merge(_) => {
            println!("{}", tr!("sync.resolve.merged", version = version))
        }
    }
    Ok(())
}

/// What sync wants the user to know ([`custos_sync::Report::warning_kind`] decides), in
/// their language; the English is the report's own (tested).
fn warning(report: &custos_sync::Report) -> Option<String> {
    use custos_sync::Warning;
    Some(match report.warning_kind()? {
        Warning::AwaitingApproval => tr!("sync.warning.awaiting_approval"),
        Warning::HubWentBack => tr!("sync.warning.hub_went_back"),
        Warning::HubLost { lost, refused } => tr!(
            "sync.warning.hub_lost",
            count = lang::n(lost),
            skipped = if refused > 0 {
                tr!("sync.warning.hub_lost_skipped", count = lang::n(refused))
            } else {
                String::new()
            }
        ),
        Warning::Refused { count, first } => tr!(
            "sync.warning.refused",
            count = lang::n(count),
            first = first
                .map(|(id, why)| tr!("sync.warning.first", id = id, why = why))
                .unwrap_or_default()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_english_warning_is_the_sync_reports_own() {
        let id = Uuid::nil();
        let cases = [
            custos_sync::Report::default(),
            custos_sync::Report {
                awaiting_approval: true,
                ..Default::default()
            },
            custos_sync::Report {
                hub_went_back: true,
                ..Default::default()
            },
            custos_sync::Report {
                hub_lost: 3,
                ..Default::default()
            },
            custos_sync::Report {
                hub_lost: 2,
                blob_rejected: vec![(id, "too big".into())],
                ..Default::default()
            },
            custos_sync::Report {
                push_rejected: vec![(id, "bad signature".into())],
                pull_rejected: vec![(id, "unknown".into())],
                ..Default::default()
            },
        ];
        for report in cases {
            assert_eq!(warning(&report), report.warning(), "{report:?}");
        }
    }
}
