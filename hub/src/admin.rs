//! Admin commands (coordinators, invites, devices, imports). They run in the `serve`
//! process when it is running (over `DIR/admin.sock`: the database allows one process),
//! or directly on the data folder when it is not.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use custos_wire::{roster_log, Invite};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::hub::{new_token, token_hash, Hub, RandomnessError, LISTEN_SETTING};
use crate::import::ImportError;
use crate::keys::DataDir;
use crate::log;
use crate::store::{InviteRecord, Role, StoreError};

/// One admin command.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AdminRequest {
    /// Adds a coordinator recipient.
    AddCoordinator {
        /// The `age1…` recipient.
        recipient: String,
    },
    /// Lists the coordinator recipients.
    ListCoordinators,
    /// Makes an invite.
    Invite {
        /// `field` or `coordinator`.
        role: String,
        /// Seconds until it expires.
        expires_secs: i64,
        /// The address devices reach the hub at; else the one it last listened on.
        address: Option<String>,
    },
    /// Lists the devices.
    ListDevices,
    /// Revokes a device.
    Revoke {
        /// Its id.
        device: String,
    },
    /// Imports an offline bundle.
    Import {
        /// The bundle file (absolute).
        path: PathBuf,
    },
}

/// What an admin command prints.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AdminReply {
    /// False when the command failed.
    pub ok: bool,
    /// For stdout.
    pub stdout: String,
    /// For stderr (notes, or the error).
    pub stderr: String,
}

impl AdminReply {
    /// A failure.
    pub fn error(msg: impl Into<String>) -> AdminReply {
        AdminReply {
            ok: false,
            stdout: String::new(),
            stderr: msg.into(),
        }
    }

    fn ok(stdout: impl Into<String>) -> AdminReply {
        AdminReply {
            ok: true,
            stdout: stdout.into(),
            stderr: String::new(),
        }
    }
}

/// An invite lifetime that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not a number and a unit (the text given).
    #[error("{0:?} is not a duration such as 30m, 24h or 7d")]
    NotADuration(String),
    /// Not from 1 second to 365 days (the text given).
    #[error("{0}: an invite lasts from 1 second to 365 days")]
    OutOfRange(String),
}

/// Why an admin command failed (its message is what the command prints).
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A coordinator that is not an age recipient (as given).
    #[error("{0:?} is not an age recipient (age1…)")]
    NotARecipient(String),
    /// An invite for an unknown role (as given).
    #[error("{0:?} is not a role: field or coordinator")]
    NotARole(String),
    /// An invite without an address, before the hub ever listened.
    #[error(
        "the hub has not listened yet: give --address HOST:PORT, the address devices \
         reach it at"
    )]
    NeverListened,
    /// An invite without an address while the hub listens on every interface (the
    /// address it listens on), which devices cannot dial.
    #[error(
        "the hub listens on all interfaces ({0}): give --address HOST:PORT, the address \
         devices reach it at"
    )]
    ListensEverywhere(String),
    /// An invite address that is not `HOST:PORT` (as given).
    #[error("{0:?} is not HOST:PORT")]
    NotHostPort(String),
    /// No invite token could be made.
    #[error(transparent)]
    Randomness(#[from] RandomnessError),
    /// A revocation of something that is not a device id (as given).
    #[error("{0:?} is not a device id (see devices list)")]
    NotADeviceId(String),
    /// A revocation of a device the hub does not know.
    #[error("no device {0} (see devices list)")]
    NoSuchDevice(Uuid),
    /// A bundle import failed.
    #[error(transparent)]
    Import(#[from] ImportError),
    /// A coordinator added by the hub once the organisation signs its roster.
    #[error(
        "this organisation signs its roster: a coordinator is added from a coordinator's \
         device (custos org add-coordinator RECIPIENT), not by the hub"
    )]
    RosterSigned,
    /// The stored signed roster has no readable organisation key.
    #[error("the hub holds a damaged roster: its first entry names no organisation key")]
    DamagedRoster,
}

/// Parses `30s`, `30m`, `24h` or `7d` into seconds.
pub fn parse_duration(s: &str) -> Result<i64, DurationError> {
    let s = s.trim();
    let bad = || DurationError::NotADuration(s.to_owned());
    let split = s.len().checked_sub(1).ok_or_else(bad)?;
    let (n, unit) = s.split_at(split);
    let n: i64 = n.parse().map_err(|_| bad())?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    if n <= 0 || n > 365 * 86_400 / unit {
        return Err(DurationError::OutOfRange(s.to_owned()));
    }
    Ok(n * unit)
}

/// Runs a command in this process, on `hub`.
pub fn execute(hub: &Hub, req: AdminRequest) -> AdminReply {
    match run(hub, req) {
        Ok(reply) => reply,
        Err(e) => AdminReply::error(e.to_string()),
    }
}

fn run(hub: &Hub, req: AdminRequest) -> Result<AdminReply, AdminError> {
    let store = &hub.store;
    match req {
        AdminRequest::AddCoordinator { recipient } => {
            let recipient = recipient.trim().to_string();
            if recipient.parse::<age::x25519::Recipient>().is_err() {
                return Err(AdminError::NotARecipient(recipient));
            }
            // Once the organisation signs its roster, only its key adds a coordinator:
            // devices that pinned it trust nothing the hub adds on its own.
            if !store.roster_log()?.is_empty() {
                return Err(AdminError::RosterSigned);
            }
            let added = store.add_coordinator(&recipient)?;
            if added {
                log::info("coordinator recipient added");
                Ok(AdminReply::ok(format!("added {recipient}\n")))
            } else {
                Ok(AdminReply::ok(format!(
                    "{recipient} is already a coordinator\n"
                )))
            }
        }
        AdminRequest::ListCoordinators => {
            let list = store.coordinators()?;
            Ok(AdminReply::ok(
                list.iter().map(|r| format!("{r}\n")).collect::<String>(),
            ))
        }
        AdminRequest::Invite {
            role,
            expires_secs,
            address,
        } => {
            let role = Role::parse(&role).ok_or(AdminError::NotARole(role))?;
            let hub_addr = match address {
                Some(a) => a,
                None => {
                    let last = store
                        .setting(LISTEN_SETTING)?
                        .ok_or(AdminError::NeverListened)?;
                    if last
                        .parse::<std::net::SocketAddr>()
                        .is_ok_and(|a| a.ip().is_unspecified())
                    {
                        return Err(AdminError::ListensEverywhere(last));
                    }
                    last
                }
            };
            if hub_addr
                .rsplit_once(':')
                .and_then(|(h, p)| (!h.is_empty()).then(|| p.parse::<u16>().ok()).flatten())
                .is_none()
            {
                return Err(AdminError::NotHostPort(hub_addr));
            }
            let coordinators = store.coordinators()?;
            // Once the organisation signs its roster, the device pins its key from the
            // invite.
            let log = store.roster_log()?;
            let org_key = if log.is_empty() {
                None
            } else {
                Some(roster_log::genesis_key(&log).ok_or(AdminError::DamagedRoster)?)
            };
            let now = Utc::now();
            let expires = now + chrono::Duration::seconds(expires_secs);
            let token = new_token()?;
            store.add_invite(
                token_hash(&token),
                &InviteRecord {
                    role,
                    created: now,
                    expires,
                    used_by: None,
                },
            )?;
            let invite = Invite {
                v: 1,
                hub: hub_addr,
                pin: hub.keys.pin.clone(),
                coordinators,
                hub_recipient: hub.keys.hub_recipient.clone(),
                token,
                expires,
                role,
                org_key: org_key.as_ref().map(roster_log::key_text),
            };
            log::info(&format!(
                "invite made for a {} device, expires {}",
                role.as_str(),
                expires.format("%Y-%m-%d %H:%M UTC")
            ));
            let mut reply = AdminReply::ok(format!("{}\n", invite.encode()));
            if invite.coordinators.is_empty() && org_key.is_none() {
                reply.stderr = "note: the organisation has no coordinators yet (custos-hub \
                                coordinators add age1…)"
                    .into();
            }
            Ok(reply)
        }
        AdminRequest::ListDevices => {
            let devices = store.devices()?;
            let mut out = format!(
                "{:<36}  {:<24}  {:<11}  {:<20}  {}\n",
                "id", "label", "role", "enrolled", "revoked"
            );
            for d in devices {
                let label: String = d.label.chars().take(24).collect();
                out.push_str(&format!(
                    "{:<36}  {:<24}  {:<11}  {:<20}  {}\n",
                    d.id,
                    label,
                    d.role.as_str(),
                    d.enrolled_at.format("%Y-%m-%d %H:%M UTC"),
                    if d.revoked { "yes" } else { "no" }
                ));
            }
            Ok(AdminReply::ok(out))
        }
        AdminRequest::Revoke { device } => {
            let Ok(id) = Uuid::parse_str(device.trim()) else {
                return Err(AdminError::NotADeviceId(device));
            };
            let d = store.revoke(id)?.ok_or(AdminError::NoSuchDevice(id))?;
            log::info(&format!("device {id} revoked"));
            Ok(AdminReply::ok(format!("revoked {id} ({})\n", d.label)))
        }
        AdminRequest::Import { path } => {
            let report = crate::import::import(hub, &path)?;
            Ok(AdminReply::ok(report.to_string()))
        }
    }
}

/// Runs a command for the hub in `dir`: through the running hub's admin socket, or on the
/// folder itself when no hub runs.
pub fn send(dir: &DataDir, req: AdminRequest) -> AdminReply {
    let sock = dir.admin_socket();
    match UnixStream::connect(&sock) {
        Ok(stream) => match exchange(stream, &req) {
            Ok(reply) => reply,
            Err(e) => AdminReply::error(format!("the running hub did not answer: {e}")),
        },
        Err(_) => match Hub::open(dir.clone()) {
            Ok(hub) => {
                let reply = execute(&hub, req);
                if let Err(e) = hub.store.flush() {
                    return AdminReply::error(e.to_string());
                }
                reply
            }
            Err(e) => AdminReply::error(e.to_string()),
        },
    }
}

fn exchange(mut stream: UnixStream, req: &AdminRequest) -> std::io::Result<AdminReply> {
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    let mut line = serde_json::to_string(req).map_err(std::io::Error::other)?;
    line.push('\n');
    stream.write_all(line.as_bytes())?;
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer)?;
    serde_json::from_str(&answer).map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m"), Ok(1800));
        assert_eq!(parse_duration("24h"), Ok(86_400));
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert_eq!(parse_duration("1s"), Ok(1));
        for bad in ["", "h", "0h", "-1h", "5w", "1.5h", "400d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
