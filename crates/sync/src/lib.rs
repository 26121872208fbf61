//! Sync with the organisation's hub (`docs/sync-protocol.md`).
//!
//! - [`enroll`] joins a hub with an invite, once.
//! - [`run`] is one sync: roster, push, evidence files up, pull, evidence files down.
//!   It runs only when every condition of a trusted connection holds: the vault is
//!   unlocked (the [`Access`] gives it), the user has not paused sync, the route policy
//!   allows the connection, and the hub proves its pinned key before anything is sent.
//!   The vault is only borrowed between network steps, so the app stays usable while
//!   a sync waits on the network, and a lock stops the sync at the next step.
//! - [`bundle`] carries the same objects on a USB stick when there is no network.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod bundle;
pub mod net;

use std::cell::RefCell;
use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write as _};
use std::sync::atomic::Ordering;
use std::sync::Mutex;

use chrono::Utc;
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub use custos_wire::Route;
pub use net::NetError;

use custos_vault::error::Error;
use custos_vault::Exchange;
use custos_vault::{BlobJob, Vault};
use custos_wire::{self as wire, BlobAnnounce, BlobInfo, BlobState, PushResult, Roster};
use net::Connection;

/// Objects per push request.
const PUSH_COUNT: usize = 500;
/// About this many bytes of ciphertext per push request.
const PUSH_BYTES: usize = 4 << 20;
/// Objects per pull request.
const PULL_LIMIT: usize = 500;

/// Gives a sync the unlocked vault for one step at a time.
pub trait Access {
    /// Runs `f` on the vault; `None` when the vault is locked (the sync stops).
    fn with<R>(&self, f: impl FnOnce(&mut Vault) -> R) -> Option<R>;
}

impl Access for Mutex<Option<Vault>> {
    fn with<R>(&self, f: impl FnOnce(&mut Vault) -> R) -> Option<R> {
        let mut guard = self.lock().unwrap_or_else(|p| p.into_inner());
        guard.as_mut().map(f)
    }
}

/// A vault held for the whole sync (the command line).
pub struct Held<'a>(RefCell<&'a mut Vault>);

impl<'a> Held<'a> {
    /// Holds the vault.
    pub fn new(vault: &'a mut Vault) -> Self {
        Held(RefCell::new(vault))
    }
}

impl Access for Held<'_> {
    fn with<R>(&self, f: impl FnOnce(&mut Vault) -> R) -> Option<R> {
        Some(f(&mut self.0.borrow_mut()))
    }
}

/// Why a sync did not complete.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The vault refused (not enrolled, disk full, …).
    #[error("{0}")]
    Vault(#[from] Error),
    /// The network or the hub.
    #[error("{0}")]
    Net(#[from] NetError),
    /// The user paused sync.
    #[error("sync is paused; resume it to sync")]
    Paused,
    /// The vault was locked during the sync.
    #[error("the vault was locked; sync stopped and resumes after unlock")]
    Locked,
    /// A bad invite.
    #[error("{0}")]
    Invite(String),
}

impl SyncError {
    /// The stable code of this error, the same in the desktop app and the command line
    /// (the vault's own kinds pass through unchanged).
    pub fn kind(&self) -> &'static str {
        match self {
            SyncError::Vault(e) => e.kind(),
            SyncError::Paused => "sync_paused",
            // Not `locked`: the window may be unlocked again by the time this arrives.
            SyncError::Locked => "sync_stopped",
            SyncError::Invite(_) => "invite_malformed",
            SyncError::Net(n) => match n {
                NetError::Unreachable(_) => "hub_unreachable",
                NetError::WrongPin => "wrong_pin",
                NetError::Tls(_) => "tls_failed",
                NetError::Dropped(_) => "connection_lost",
                NetError::Protocol(_) => "hub_protocol",
                NetError::Refused { code, .. } => match code.as_str() {
                    "invite_expired" => "invite_expired",
                    "invite_used" => "invite_used",
                    "invalid_invite" => "invite_invalid",
                    "revoked" => "device_revoked",
                    "proof_failed" => "enrollment_proof_failed",
                    "update_needed" => "update_needed",
                    "not_enrolled" => "device_unknown",
                    "unavailable" => "hub_unavailable",
                    "roster_conflict" => "roster_conflict",
                    "roster_invalid" => "roster_invalid",
                    "not_coordinator" => "not_coordinator",
                    "quota_exceeded" => "hub_quota_full",
                    "rate_limited" => "hub_busy",
                    _ => "hub_refused",
                },
            },
        }
    }
}

/// What one sync did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Versions the hub stored.
    pub pushed: usize,
    /// Versions the hub had already (a retry).
    pub existing: usize,
    /// Versions the hub refused, with its reason.
    pub push_rejected: Vec<(Uuid, String)>,
    /// Versions taken in from the hub.
    pub pulled: usize,
    /// Objects from the hub that did not check, with the reason (skipped).
    pub pull_rejected: Vec<(Uuid, String)>,
    /// Evidence files uploaded.
    pub blobs_up: usize,
    /// Evidence files downloaded.
    pub blobs_down: usize,
    /// Evidence files that could not be taken (hash mismatch), with the reason.
    pub blob_rejected: Vec<(Uuid, String)>,
    /// Versions and evidence files the hub had lost (restored from a backup, or
    /// withholding them): sent again.
    pub hub_lost: usize,
    /// The hub's sequence numbers went backwards (a restore, or a lie).
    pub hub_went_back: bool,
    /// The organisation signs its roster and has not approved this device yet: nothing
    /// was sent.
    pub awaiting_approval: bool,
    /// HTTP requests made.
    pub requests: u64,
    /// Bytes sent on the socket (TLS included).
    pub bytes_sent: u64,
    /// Bytes received on the socket (TLS included).
    pub bytes_received: u64,
}

/// What a sync wants its user to know, decided once here; the words are the caller's
/// ([`Report::warning`] gives the English, the command line its user's language).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Warning<'a> {
    /// The organisation has not approved this device yet: nothing was sent.
    AwaitingApproval,
    /// The hub's sequence went backwards, yet it holds everything this device sent.
    HubWentBack,
    /// The hub no longer held `lost` items this device had sent (sent again); `refused`
    /// items were refused and skipped besides.
    HubLost {
        /// Items sent again.
        lost: usize,
        /// Items refused and skipped.
        refused: usize,
    },
    /// `count` items were refused and skipped; the first with its reason.
    Refused {
        /// Items refused.
        count: usize,
        /// The first refused item and why.
        first: Option<(Uuid, &'a str)>,
    },
}

impl Report {
    /// What the user should be told, if anything (awaiting approval first, then a hub
    /// that went back or lost items, then refused items).
    pub fn warning_kind(&self) -> Option<Warning<'_>> {
        let refused =
            self.push_rejected.len() + self.pull_rejected.len() + self.blob_rejected.len();
        if self.awaiting_approval {
            return Some(Warning::AwaitingApproval);
        }
        if self.hub_went_back && self.hub_lost == 0 {
            return Some(Warning::HubWentBack);
        }
        if self.hub_lost > 0 {
            return Some(Warning::HubLost {
                lost: self.hub_lost,
                refused,
            });
        }
        (refused > 0).then(|| Warning::Refused {
            count: refused,
            first: self
                .push_rejected
                .iter()
                .chain(&self.pull_rejected)
                .chain(&self.blob_rejected)
                .next()
                .map(|(id, why)| (*id, why.as_str())),
        })
    }

    /// A warning in plain words when something was refused, for the status line.
    pub fn warning(&self) -> Option<String> {
        Some(match self.warning_kind()? {
            Warning::AwaitingApproval => "this device waits for a coordinator's approval: what \
                 you write stays on this device until then. Show the coordinator this \
                 device's words (sync status)"
                .into(),
            Warning::HubWentBack => "the hub's sequence of objects went backwards (restored \
                 from a backup, or not telling the truth); it still holds everything this \
                 device sent"
                .into(),
            Warning::HubLost { lost, refused } => format!(
                "the hub no longer held {lost} change(s) or file(s) this device had sent (was \
                 it restored from a backup?): they were sent again{}",
                if refused > 0 {
                    format!("; {refused} item(s) were refused and skipped")
                } else {
                    String::new()
                }
            ),
            Warning::Refused { count, first } => format!(
                "sync completed, but {count} item(s) were refused and skipped{}",
                first
                    .map(|(id, why)| format!(" (first: {id}: {why})"))
                    .unwrap_or_default()
            ),
        })
    }
}

/// What enrolling did.
#[derive(Debug, Clone)]
pub struct Enrolled {
    /// The hub's id for this device.
    pub device_id: Uuid,
    /// What this device may read.
    pub role: custos_wire::Role,
    /// Versions sealed again for the coordinators.
    pub resealed: usize,
    /// HTTP requests made (the challenge, then the enrollment).
    pub requests: u64,
    /// The organisation key the invite named, as words the user compares with the
    /// coordinator's; none when the organisation does not sign its roster yet.
    pub org_words: Option<String>,
}

/// Enrolls the vault with the hub named in `invite_text`: generates the device's TLS key
/// and certificate (kept sealed in the vault), proves the invite's token over a
/// connection where the hub proved the invite's pin, and saves the hub settings.
pub fn enroll(
    vault: &mut Vault,
    invite_text: &str,
    label: &str,
    route: Route,
) -> Result<Enrolled, SyncError> {
    enroll_with(&Held::new(vault), invite_text, label, route)
}

/// [`enroll`] through an [`Access`]: the vault is not held while the network is waited
/// on (an app stays usable; a lock in the meantime stops the enrollment before anything
/// is saved — the invite is then used up and a new one is needed).
pub fn enroll_with(
    access: &impl Access,
    invite_text: &str,
    label: &str,
    route: Route,
) -> Result<Enrolled, SyncError> {
    let invite = wire::Invite::decode(invite_text).map_err(|e| SyncError::Invite(e.0))?;
    let (enrolled, recipient, signer) =
        step(access, |v| (v.is_enrolled(), v.recipient(), v.signer()))?;
    if enrolled {
        return Err(Error::Invalid("this vault is already enrolled with a hub".into()).into());
    }
    if invite.expires < Utc::now() {
        return Err(SyncError::Invite(format!(
            "this invite expired on {}; ask your organisation for a new one",
            invite.expires.format("%Y-%m-%d %H:%M UTC")
        )));
    }
    let (cert, key) = net::device_certificate().map_err(Error::Encrypt)?;
    let creds = custos_vault::Credentials {
        pin: invite.pin.clone(),
        next_pin: None,
        cert: cert.clone(),
        key: key.clone(),
    };
    let mut conn = Connection::open(&invite.hub, &route, &creds)?;
    let proof = prove_keys(access, &mut conn, &invite, &cert, &recipient, &signer)?;
    let request = wire::EnrollRequest {
        token: invite.token.clone(),
        vault_recipient: recipient,
        signer,
        label: label.to_owned(),
        proof: Some(proof),
    };
    let body = serde_json::to_vec(&request).map_err(|e| Error::Encrypt(e.to_string()))?;
    let reply: wire::EnrollResponse = conn
        .request("POST", "/v1/enroll", Some("application/json"), &body)?
        .json()?;
    let resealed = step(access, |v| {
        v.apply_enrollment(&invite, &reply, label, &cert, &key, route)
    })??;
    Ok(Enrolled {
        device_id: reply.device_id,
        role: reply.role,
        resealed,
        requests: conn.requests,
        org_words: invite
            .org_key
            .as_deref()
            .and_then(wire::roster_log::parse_key)
            .map(|k| wire::roster_log::words(&k)),
    })
}

/// The hub's roster as it is now (fetched, checked and taken in as a sync would): what
/// a coordinator compares with the organisation's own list before signing it.
pub fn roster(access: &impl Access) -> Result<Roster, SyncError> {
    let plan = step(access, |v| v.sync_plan())??;
    let mut conn = Connection::open(&plan.hub, &plan.route, &plan.credentials)?;
    let roster: Roster = conn.request("GET", "/v1/roster", None, &[])?.json()?;
    step(access, |v| v.apply_roster(&roster))??;
    Ok(roster)
}

/// What creating the organisation key did.
#[derive(Debug, Clone)]
pub struct OrgCreated {
    /// The key as words, for everyone to compare.
    pub words: String,
    /// Entries of the signed roster the hub now holds.
    pub entries: u64,
}

/// Creates the organisation key in this (coordinator's) vault and publishes the signed
/// roster through the hub: the current coordinators and devices, which `approve` saw
/// and accepted (it gets the hub's roster and says whether to go on). From then on this
/// vault follows the key; other devices follow it once their users confirm its words.
pub fn org_create(
    access: &impl Access,
    name: &str,
    approve: impl FnOnce(&Roster) -> bool,
) -> Result<Option<OrgCreated>, SyncError> {
    let plan = step(access, |v| v.sync_plan())??;
    let mut conn = Connection::open(&plan.hub, &plan.route, &plan.credentials)?;
    let roster: Roster = conn.request("GET", "/v1/roster", None, &[])?.json()?;
    step(access, |v| v.apply_roster(&roster))??;
    if !approve(&roster) {
        return Ok(None);
    }
    let entries = step(access, |v| v.create_org(name, &roster))??;
    publish(&mut conn, 0, entries)?;
    step(access, |v| v.pin_own_org())??;
    fetch_roster(access, &mut conn)?;
    let info = step(access, |v| v.sync_info())?;
    Ok(Some(OrgCreated {
        words: info.org.words.unwrap_or_default(),
        entries: info.org.entries,
    }))
}

/// Signs and publishes changes of the organisation's roster (approving a device, adding
/// or removing a coordinator, revoking a device). `changes` gets the hub's roster,
/// verified, and says what to sign. Needs a vault that holds the organisation key.
pub fn org_change(
    access: &impl Access,
    changes: impl FnOnce(&Roster) -> Result<Vec<wire::roster_log::Change>, SyncError>,
) -> Result<u64, SyncError> {
    let plan = step(access, |v| v.sync_plan())??;
    let mut conn = Connection::open(&plan.hub, &plan.route, &plan.credentials)?;
    let roster: Roster = conn.request("GET", "/v1/roster", None, &[])?.json()?;
    step(access, |v| v.apply_roster(&roster))??;
    if !step(access, |v| v.sync_info().org.signed)? {
        return Err(Error::Invalid(
            "this organisation does not sign its roster yet (custos org create)".into(),
        )
        .into());
    }
    let changes = changes(&roster)?;
    if changes.is_empty() {
        return Ok(roster.log.len() as u64);
    }
    let entries = step(access, |v| v.sign_roster_entries(&roster.log, changes))??;
    publish(&mut conn, roster.log.len() as u64, entries)?;
    fetch_roster(access, &mut conn)?;
    step(access, |v| v.sync_info().org.entries)
}

/// Approves a device the hub enrolled: signs it into the roster, once `words` — read
/// out by its user, from the device itself — match its signing key as the hub lists it
/// (a hub that put another key in its place is caught here). `device` is its id or label.
pub fn org_approve(access: &impl Access, device: &str, words: &str) -> Result<u64, SyncError> {
    org_change(access, |roster| {
        let d = roster_device(roster, device)?;
        let want = wire::roster_log::words_of(&d.signer);
        if !want.is_some_and(|w| wire::roster_log::same_words(words, &w)) {
            return Err(Error::Invalid(format!(
                "the words do not match device '{}' as the hub lists it: do not approve it \
                 (the hub may have put another key in its place)",
                d.label
            ))
            .into());
        }
        if d.revoked {
            return Err(Error::Invalid(format!("device '{}' is revoked", d.label)).into());
        }
        Ok(vec![wire::roster_log::Change::Device {
            device_id: d.device_id,
            signer: d.signer.clone(),
            vault_recipient: d.vault_recipient.clone(),
            role: d.role,
            label: d.label.clone(),
        }])
    })
}

/// Revokes a device in the signed roster (`device`: its id or label). A coordinator's
/// vault syncs first, and the revocation names the last version of that device it took
/// in: devices refuse anything it wrote later, even through a hub that ignores the
/// revocation.
pub fn org_revoke(access: &impl Access, device: &str) -> Result<u64, SyncError> {
    let coordinator = step(access, |v| {
        v.sync_info().role == Some(wire::Role::Coordinator)
    })?;
    if coordinator {
        run(access)?;
    }
    org_change(access, |roster| {
        let d = roster_device(roster, device)?;
        let after = if coordinator {
            Some(step(access, |v| v.last_version_of(&d.signer))?.unwrap_or(0))
        } else {
            None
        };
        Ok(vec![wire::roster_log::Change::Revoke {
            signer: d.signer.clone(),
            after,
        }])
    })
}

/// The hub's device named by `device` (its id or its label).
fn roster_device<'a>(
    roster: &'a Roster,
    device: &str,
) -> Result<&'a wire::RosterDevice, SyncError> {
    let matches: Vec<_> = roster
        .devices
        .iter()
        .filter(|d| d.device_id.to_string() == device || d.label == device)
        .collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(Error::Invalid(format!("the hub lists no device '{device}'")).into()),
        _ => Err(Error::Invalid(format!(
            "several devices are labelled '{device}': name it by its id"
        ))
        .into()),
    }
}

/// The most bytes of entries sent in one append (the hub takes JSON bodies of 64 KiB).
const APPEND_BYTES: usize = 48 * 1024;

/// Sends signed entries to the hub, in appends that fit its body limit (a first roster
/// of a large organisation takes several). Each append names the entry it follows.
fn publish(
    conn: &mut Connection,
    mut after: u64,
    entries: Vec<wire::roster_log::Entry>,
) -> Result<(), SyncError> {
    let size = |e: &wire::roster_log::Entry| serde_json::to_vec(e).map_or(0, |b| b.len()) + 1;
    let mut batch: Vec<wire::roster_log::Entry> = Vec::new();
    let mut bytes = 0;
    let mut rest = entries.into_iter().peekable();
    while let Some(e) = rest.next() {
        bytes += size(&e);
        batch.push(e);
        let full = rest.peek().is_none_or(|n| bytes + size(n) > APPEND_BYTES);
        if full {
            let n = batch.len() as u64;
            append(conn, after, std::mem::take(&mut batch))?;
            after += n;
            bytes = 0;
        }
    }
    Ok(())
}

fn append(
    conn: &mut Connection,
    after: u64,
    entries: Vec<wire::roster_log::Entry>,
) -> Result<(), SyncError> {
    let body = serde_json::to_vec(&wire::RosterAppend { after, entries })
        .map_err(|e| Error::Encrypt(e.to_string()))?;
    match conn.request("POST", "/v1/roster/log", Some("application/json"), &body) {
        Ok(_) => Ok(()),
        Err(NetError::Refused { status: 404, .. }) => Err(NetError::Protocol(
            "the hub is older than this version of Custos and cannot keep a signed roster; \
             ask your organisation to update it"
                .into(),
        )
        .into()),
        Err(e) => Err(e.into()),
    }
}

/// Asks the hub for the challenge of this vault's keys and answers it: the secret sealed
/// to the vault key, decrypted, and signed with the device key (`docs/sync-protocol.md`
/// §2). The secret never leaves the vault's memory otherwise.
fn prove_keys(
    access: &impl Access,
    conn: &mut Connection,
    invite: &wire::Invite,
    cert: &[u8],
    recipient: &str,
    signer: &str,
) -> Result<wire::EnrollProof, SyncError> {
    let claim = wire::EnrollClaim {
        token: invite.token.clone(),
        vault_recipient: recipient.to_owned(),
        signer: signer.to_owned(),
    };
    let body = serde_json::to_vec(&claim).map_err(|e| Error::Encrypt(e.to_string()))?;
    let challenge: wire::EnrollChallenge = match conn.request(
        "POST",
        "/v1/enroll/challenge",
        Some("application/json"),
        &body,
    ) {
        Ok(r) => r.json()?,
        Err(NetError::Refused { status: 404, .. }) => {
            return Err(NetError::Protocol(
                "the hub is older than this version of Custos and cannot check that this \
                 device holds its keys; ask your organisation to update the hub, then enroll \
                 with the same invite (it was not used)"
                    .into(),
            )
            .into())
        }
        Err(e) => return Err(e.into()),
    };
    let pin = wire::pin_of_cert(cert)
        .ok_or_else(|| Error::Encrypt("the device certificate has no public key".into()))?;
    let sealed = wire::unb64(&challenge.sealed)
        .ok_or_else(|| NetError::Protocol("the hub's challenge is malformed".into()))?;
    step(access, |v| {
        let secret = custos_vault::crypto::open_bytes(v.identity(), &sealed).map_err(|_| {
            SyncError::Net(NetError::Protocol(
                "the hub's challenge is not sealed to this vault's key".into(),
            ))
        })?;
        let digest = wire::enroll_digest(&secret, &pin, recipient, signer);
        Ok(wire::EnrollProof {
            ticket: challenge.ticket.clone(),
            secret: wire::b64(&secret),
            signature: wire::b64(&v.sign_digest(&digest)),
        })
    })?
}

/// The ids, of `ids`, that the hub holds and this device may read (asked in batches).
fn held(conn: &mut Connection, ids: &[Uuid]) -> Result<HashSet<Uuid>, SyncError> {
    let mut out = HashSet::new();
    for chunk in ids.chunks(wire::MAX_HELD) {
        let body = serde_json::to_vec(&wire::HeldRequest {
            ids: chunk.to_vec(),
        })
        .map_err(|e| Error::Encrypt(e.to_string()))?;
        let answer: wire::HeldResponse =
            match conn.request("POST", "/v1/objects/held", Some("application/json"), &body) {
                Ok(r) => r.json()?,
                Err(NetError::Refused { status: 404, .. }) => {
                    return Err(NetError::Protocol(
                        "the hub is older than this version of Custos and cannot confirm what it \
                     holds; ask your organisation to update it"
                            .into(),
                    )
                    .into())
                }
                Err(e) => return Err(e.into()),
            };
        let asked: HashSet<&Uuid> = chunk.iter().collect();
        // Only ids asked about count: a hub cannot confirm what it was not asked.
        out.extend(answer.held.into_iter().filter(|id| asked.contains(id)));
    }
    Ok(out)
}

/// The evidence files, of `blobs`, that the hub holds completely.
fn held_blobs(conn: &mut Connection, blobs: &[Uuid]) -> Result<HashSet<Uuid>, SyncError> {
    let mut out = HashSet::new();
    for id in blobs {
        match conn.request("GET", &format!("/v1/blobs/{id}"), None, &[]) {
            Ok(r) => {
                let info: BlobInfo = r.json()?;
                if info.complete {
                    out.insert(*id);
                }
            }
            Err(NetError::Refused { status: 404, .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

/// Asks the hub about every version and evidence file it was seen to hold, and forgets
/// the marks of those it no longer holds (the next push sends them again). Returns how
/// many it lost.
fn forget_lost(access: &impl Access, conn: &mut Connection) -> Result<usize, SyncError> {
    let (versions, blobs) = step(access, |v| v.synced_ids())??;
    let held_versions = held(conn, &versions)?;
    let blob_ids: Vec<Uuid> = blobs.iter().map(|b| b.blob_id).collect();
    let held_files = held_blobs(conn, &blob_ids)?;
    let lost_versions: Vec<Uuid> = versions
        .into_iter()
        .filter(|id| !held_versions.contains(id))
        .collect();
    let lost_blobs: Vec<Uuid> = blob_ids
        .into_iter()
        .filter(|id| !held_files.contains(id))
        .collect();
    let lost = lost_versions.len() + lost_blobs.len();
    if lost > 0 {
        step(access, |v| v.forget_synced(&lost_versions, &lost_blobs))??;
    }
    Ok(lost)
}

/// Asks the hub whether it still holds everything this vault sent or received, and
/// sends again what it lost (a hub restored from a backup); then syncs as usual. A
/// sync does this by itself for the last pushes, once an hour.
pub fn check_hub(access: &impl Access) -> Result<Report, SyncError> {
    let plan = step(access, |v| v.sync_plan())??;
    let mut conn = Connection::open(&plan.hub, &plan.route, &plan.credentials)?;
    let lost = forget_lost(access, &mut conn)?;
    step(access, |v| v.hub_checked())??;
    drop(conn);
    let mut report = run(access)?;
    report.hub_lost += lost;
    Ok(report)
}

/// Travel mode: removes the given cases (all when `None`) from this device once the hub
/// confirms, just before, that it holds every version and evidence file of them — the
/// device's own "synced" marks are not enough (a hub restored from a backup has lost
/// what it once held). What the hub lost is marked to be sent again, and nothing is
/// removed. Connects even while sync is paused: the user asked for it.
pub fn travel_remove(
    access: &impl Access,
    cases: Option<&[Uuid]>,
) -> Result<custos_vault::Removed, SyncError> {
    let plan = step(access, |v| v.travel_plan(cases))??;
    let sync = step(access, |v| v.sync_plan())??;
    let mut conn = Connection::open(&sync.hub, &sync.route, &sync.credentials)?;
    let versions = held(&mut conn, &plan.versions)?;
    let blobs = held_blobs(&mut conn, &plan.blobs)?;
    let lost_versions: Vec<Uuid> = plan
        .versions
        .iter()
        .copied()
        .filter(|id| !versions.contains(id))
        .collect();
    let lost_blobs: Vec<Uuid> = plan
        .blobs
        .iter()
        .copied()
        .filter(|id| !blobs.contains(id))
        .collect();
    if !lost_versions.is_empty() || !lost_blobs.is_empty() {
        step(access, |v| v.forget_synced(&lost_versions, &lost_blobs))??;
        return Err(Error::Invalid(format!(
            "the hub no longer holds {} change(s) or file(s) of these cases (was it restored \
             from a backup?): nothing was removed. Sync to send them again, then try again",
            lost_versions.len() + lost_blobs.len()
        ))
        .into());
    }
    let confirmed = custos_vault::Confirmed { versions, blobs };
    Ok(step(access, |v| v.travel_remove(cases, &confirmed))??)
}

/// After travel: resumes sync and brings back from the hub everything this vault may
/// read (its own pushes included) — the cases removed by [`Vault::travel_remove`] — with
/// their evidence files; then syncs as usual.
pub fn restore(access: &impl Access) -> Result<Report, SyncError> {
    step(access, |v| v.set_sync_paused(false))??;
    let mut report = Report::default();
    let plan = step(access, |v| v.sync_plan())??;
    let mut conn = Connection::open(&plan.hub, &plan.route, &plan.credentials)?;
    let mut roster_fetched = false;
    if step(access, |v| v.roster_stale())? {
        fetch_roster(access, &mut conn)?;
        roster_fetched = true;
    }
    let last = pull(
        access,
        &mut conn,
        0,
        Pull::Restore,
        &mut roster_fetched,
        &mut report,
    )?;
    if last > plan.cursor {
        step(access, |v| v.ingest(Vec::new(), Some(last)))??;
    }
    download_missing(access, &mut conn, &mut report)?;
    drop(conn);
    let rest = run(access)?;
    report.pulled += rest.pulled;
    report.pushed += rest.pushed;
    report.blobs_down += rest.blobs_down;
    Ok(report)
}

/// One sync. The outcome (success, or the error in plain words) is recorded in the
/// vault's sync status.
pub fn run(access: &impl Access) -> Result<Report, SyncError> {
    let started = Utc::now();
    let mut report = Report::default();
    let result = run_steps(access, &mut report);
    let outcome = match &result {
        Ok(()) => Ok(report.warning()),
        Err(e) => Err(e.to_string()),
    };
    if !matches!(result, Err(SyncError::Locked)) {
        if let Some(Err(e)) = access.with(|v| v.record_sync_result(started, outcome)) {
            if result.is_ok() {
                return Err(e.into());
            }
        }
    }
    result.map(|()| report)
}

fn step<R>(access: &impl Access, f: impl FnOnce(&mut Vault) -> R) -> Result<R, SyncError> {
    access.with(f).ok_or(SyncError::Locked)
}

fn run_steps(access: &impl Access, report: &mut Report) -> Result<(), SyncError> {
    let plan = step(access, |v| v.sync_plan())??;
    if plan.paused {
        return Err(SyncError::Paused);
    }
    let mut conn = Connection::open(&plan.hub, &plan.route, &plan.credentials)?;
    let result = exchange(access, &mut conn, plan.cursor, report);
    // A pin rotation: the next pin the hub announced, or the move to it.
    let (proved, announced) = (conn.server_pin.clone(), conn.announced_pin.clone());
    step(access, |v| {
        v.follow_pin(proved.as_deref(), announced.as_deref())
    })??;
    report.requests = conn.requests;
    report.bytes_sent = conn.counter.sent.load(Ordering::Relaxed);
    report.bytes_received = conn.counter.received.load(Ordering::Relaxed);
    result
}

fn exchange(
    access: &impl Access,
    conn: &mut Connection,
    cursor: u64,
    report: &mut Report,
) -> Result<(), SyncError> {
    // The roster (devices' signing keys, coordinators) changes rarely: fetched on the
    // first sync, once a day, and when an object comes from a device not known yet.
    let mut roster_fetched = false;
    if step(access, |v| v.roster_stale())? {
        fetch_roster(access, conn)?;
        roster_fetched = true;
    }

    // Now and then: does the hub still hold this device's last pushes? A hub restored
    // from a backup (or withholding) does not; then everything is checked and what it
    // lost is pushed again below.
    if step(access, |v| v.hub_check_due())? {
        let recent = step(access, |v| v.recent_pushes())?;
        let held = held(conn, &recent)?;
        if recent.iter().any(|id| !held.contains(id)) {
            report.hub_lost += forget_lost(access, conn)?;
        }
        step(access, |v| v.hub_checked())??;
    }

    // Push: versions, then evidence files — unless the organisation signs its roster
    // and has not approved this device yet: then they wait here, where they are safe,
    // instead of reaching colleagues who would refuse them.
    let mut skip: HashSet<Uuid> = HashSet::new();
    // The last push's answer says whether a pull would bring anything.
    let mut nothing_waiting: Option<u64> = None;
    report.awaiting_approval = step(access, |v| v.awaiting_approval())?;
    while !report.awaiting_approval {
        let frames = step(access, |v| v.pending_frames(&skip, PUSH_COUNT, PUSH_BYTES))??;
        if frames.is_empty() {
            break;
        }
        let ids: Vec<Uuid> = frames.iter().map(|f| f.id).collect();
        let body = wire::encode_frames(&frames).map_err(|e| NetError::Protocol(e.0))?;
        drop(frames);
        let resp = conn.request("POST", &format!("/v1/objects?since={cursor}"), None, &body)?;
        roster_moved(access, conn, &resp, &mut roster_fetched)?;
        let result: PushResult = resp.json()?;
        nothing_waiting = match (result.waiting, result.next) {
            (Some(false), Some(next)) if next >= cursor => Some(next),
            _ => None,
        };
        let refused: HashSet<Uuid> = result.rejected.iter().map(|r| r.id).collect();
        let confirmed: Vec<Uuid> = ids.into_iter().filter(|id| !refused.contains(id)).collect();
        step(access, |v| v.mark_synced(&confirmed))??;
        report.pushed += result.stored;
        report.existing += result.existing;
        for r in result.rejected {
            skip.insert(r.id);
            report.push_rejected.push((r.id, r.error));
        }
    }
    let uploads = if report.awaiting_approval {
        Vec::new()
    } else {
        step(access, |v| v.pending_blobs())??
    };
    for job in uploads {
        upload_blob(conn, &job)?;
        step(access, |v| {
            v.mark_blob_synced(&job, "sent to the organisation's hub")
        })??;
        report.blobs_up += 1;
    }

    // Pull, unless the last push said nothing waits.
    if let Some(next) = nothing_waiting {
        step(access, |v| v.ingest(Vec::new(), Some(next)))??;
    }
    if nothing_waiting.is_none() {
        pull(
            access,
            conn,
            cursor,
            Pull::Sync,
            &mut roster_fetched,
            report,
        )?;
    }
    download_missing(access, conn, report)
}

/// What a pull is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pull {
    /// A sync: objects of others since the cursor, which advances.
    Sync,
    /// After travel: everything this vault may read, its own pushes included, from the
    /// start; the cursor stays where it was (or moves forward).
    Restore,
}

/// Pulls and takes in objects until the hub has no more. Returns the last cursor.
fn pull(
    access: &impl Access,
    conn: &mut Connection,
    mut since: u64,
    kind: Pull,
    roster_fetched: &mut bool,
    report: &mut Report,
) -> Result<u64, SyncError> {
    let own = if kind == Pull::Restore { "&own=1" } else { "" };
    loop {
        let resp = conn.request(
            "GET",
            &format!("/v1/objects?since={since}&limit={PULL_LIMIT}{own}"),
            None,
            &[],
        )?;
        let next: u64 = resp
            .header("custos-next")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| NetError::Protocol("no custos-next cursor".into()))?;
        let more = resp.header("custos-more") == Some("true");
        roster_moved(access, conn, &resp, roster_fetched)?;
        if next < since {
            // The hub's sequence went backwards: restored from a backup, or lying. Ask
            // it what it still holds, send again what it lost, and go on from where it
            // says it is (taking in again what this vault has is harmless).
            if !report.hub_went_back {
                report.hub_went_back = true;
                report.hub_lost += forget_lost(access, conn)?;
            }
        }
        let frames = wire::decode_frames(&resp.body).map_err(|e| NetError::Protocol(e.0))?;
        drop(resp);
        let kept = frames.clone();
        let cursor = (kind == Pull::Sync).then_some(next);
        let mut took = step(access, |v| v.ingest(frames, cursor))??;
        if !took.unknown_signer.is_empty() && !*roster_fetched {
            // A device enrolled since the roster was fetched: fetch it and try again.
            fetch_roster(access, conn)?;
            *roster_fetched = true;
            let retry: Vec<wire::Frame> = kept
                .into_iter()
                .filter(|f| took.unknown_signer.contains(&f.id))
                .collect();
            let again = step(access, |v| v.ingest(retry, None))??;
            took.rejected.retain(|(id, _)| {
                !again.rejected.iter().any(|(r, _)| r == id) && !took.unknown_signer.contains(id)
            });
            took.rejected.extend(again.rejected);
            took.stored += again.stored;
        }
        report.pulled += took.stored;
        report.pull_rejected.extend(took.rejected);
        since = next;
        if !more {
            return Ok(since);
        }
    }
}

/// Downloads the evidence files of records that came from elsewhere (or back from the
/// hub after travel).
fn download_missing(
    access: &impl Access,
    conn: &mut Connection,
    report: &mut Report,
) -> Result<(), SyncError> {
    for job in step(access, |v| v.missing_blobs())? {
        let partial = download_path(&job);
        // The signed evidence record names the file's size: the hub's claim is not trusted.
        let plain = step(access, |v| v.evidence(job.evidence_id))??.size;
        let limit = max_blob_size(plain, job.audience.len());
        match download_blob(conn, &job, limit, &partial)? {
            Download::Done => {
                step(access, |v| v.install_blob(&job, &partial))??;
                report.blobs_down += 1;
            }
            Download::NotYet => {}
            Download::Refused(why) => report.blob_rejected.push((job.blob_id, why)),
        }
    }
    Ok(())
}

/// Fetches the roster again (once a sync) when the hub's answer says its signed roster
/// stands elsewhere than this vault saw it: a new organisation key offered, a device
/// approved, a coordinator added or removed — or a roster tampered with.
fn roster_moved(
    access: &impl Access,
    conn: &mut Connection,
    resp: &net::Response,
    fetched: &mut bool,
) -> Result<(), SyncError> {
    let Some(mark) = resp.header("custos-roster").map(str::to_owned) else {
        return Ok(());
    };
    if !*fetched && step(access, |v| v.roster_moved(&mark))? {
        fetch_roster(access, conn)?;
        *fetched = true;
    }
    Ok(())
}

fn fetch_roster(access: &impl Access, conn: &mut Connection) -> Result<(), SyncError> {
    let roster: Roster = conn.request("GET", "/v1/roster", None, &[])?.json()?;
    step(access, |v| v.apply_roster(&roster))??;
    Ok(())
}

fn upload_blob(conn: &mut Connection, job: &BlobJob) -> Result<(), SyncError> {
    let mut file =
        File::open(&job.path).map_err(|e| Error::io("reading an evidence file to upload", e))?;
    let size = file
        .metadata()
        .map_err(|e| Error::io("reading an evidence file to upload", e))?
        .len();
    let announce = BlobAnnounce {
        size,
        sha256: job.sha256.clone(),
        audience: job.audience.clone(),
    };
    let body = serde_json::to_vec(&announce).map_err(|e| Error::Encrypt(e.to_string()))?;
    let path = format!("/v1/blobs/{}", job.blob_id);
    let mut state: BlobState = conn
        .request("POST", &path, Some("application/json"), &body)?
        .json()?;
    let mut buf = vec![0u8; wire::BLOB_CHUNK];
    let mut retried = false;
    while !state.complete {
        if state.received > size {
            return Err(
                NetError::Protocol("the hub holds more of a file than it has".into()).into(),
            );
        }
        let n = ((size - state.received) as usize).min(buf.len());
        file.seek(SeekFrom::Start(state.received))
            .and_then(|_| file.read_exact(&mut buf[..n]))
            .map_err(|e| Error::io("reading an evidence file to upload", e))?;
        match conn.request(
            "PUT",
            &format!("{path}/{}", state.received),
            Some("application/octet-stream"),
            &buf[..n],
        ) {
            Ok(r) => {
                state = r.json()?;
                retried = false;
            }
            Err(NetError::Refused { status: 409, .. }) if !retried => {
                // Another attempt got further (or less far): continue where the hub is.
                let info: BlobInfo = conn.request("GET", &path, None, &[])?.json()?;
                state = BlobState {
                    received: info.received,
                    complete: info.complete,
                };
                retried = true;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

enum Download {
    Done,
    NotYet,
    Refused(String),
}

fn download_path(job: &BlobJob) -> std::path::PathBuf {
    job.path
        .with_file_name(format!(".{}.download", job.blob_id))
}

/// The most bytes the age file of an evidence file of `plain` bytes, encrypted to
/// `recipients` recipients, can take: its header (a stanza per recipient, with room to
/// spare for age's random "grease" stanza and a few more recipients), the STREAM nonce, the content, and a 16-byte tag per 64 KiB chunk (at least
/// one). Saturates instead of wrapping.
fn max_blob_size(plain: u64, recipients: usize) -> u64 {
    const CHUNK: u64 = 64 * 1024;
    let header = 4096u64.saturating_add(256u64.saturating_mul(recipients.max(1) as u64));
    let chunks = plain.div_ceil(CHUNK).max(1);
    header
        .saturating_add(16)
        .saturating_add(plain)
        .saturating_add(chunks.saturating_mul(16))
}

/// Downloads a blob into `partial`, continuing a download cut short before, and checks
/// its SHA-256 against the signed evidence record. A hub that claims a file larger than
/// `limit` (what the record's size encrypts to, [`max_blob_size`]) is refused before a
/// byte is fetched.
fn download_blob(
    conn: &mut Connection,
    job: &BlobJob,
    limit: u64,
    partial: &std::path::Path,
) -> Result<Download, SyncError> {
    let path = format!("/v1/blobs/{}", job.blob_id);
    let info: BlobInfo = match conn.request("GET", &path, None, &[]) {
        Ok(r) => r.json()?,
        Err(NetError::Refused { status: 404, .. }) => return Ok(Download::NotYet),
        Err(e) => return Err(e.into()),
    };
    if !info.complete {
        return Ok(Download::NotYet);
    }
    if info.sha256 != job.sha256 {
        return Ok(Download::Refused(
            "the hub's file differs from the one its evidence record names".into(),
        ));
    }
    if info.size > limit {
        return Ok(Download::Refused(format!(
            "the hub's file is larger ({} bytes) than its evidence record allows ({limit} \
             bytes); nothing was fetched",
            info.size
        )));
    }
    let io = |e| Error::io("saving a downloaded evidence file", e);
    if let Some(dir) = partial.parent() {
        fs::create_dir_all(dir).map_err(io)?;
    }
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(partial)
        .map_err(io)?;
    let mut have = file.metadata().map_err(io)?.len();
    if have > info.size {
        file.set_len(0).map_err(io)?;
        have = 0;
    }
    while have < info.size {
        let len = (info.size - have).min(wire::BLOB_CHUNK as u64);
        let r = conn.request(
            "GET",
            &format!("{path}/data?offset={have}&len={len}"),
            None,
            &[],
        )?;
        if r.body.is_empty() || r.body.len() as u64 > len {
            return Err(NetError::Protocol("a file chunk of the wrong size".into()).into());
        }
        file.write_all(&r.body).map_err(io)?;
        have += r.body.len() as u64;
    }
    file.sync_all().map_err(io)?;
    drop(file);
    let mut hash = Sha256::new();
    let mut f = File::open(partial).map_err(io)?;
    std::io::copy(&mut f, &mut hash).map_err(io)?;
    if wire::hex(&hash.finalize()) != job.sha256 {
        let _ = fs::remove_file(partial);
        return Ok(Download::Refused(
            "the downloaded file does not match its evidence record; it was discarded".into(),
        ));
    }
    Ok(Download::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hostile hub on loopback (real TLS 1.3, its key pinned by the client) that says
    /// it holds a blob of `claimed` bytes with the hash the evidence record names, and
    /// serves zeros for every range asked. Returns its address, its pin, and the count
    /// of data bytes it served.
    fn hostile_hub(
        claimed: u64,
        sha256: String,
    ) -> (String, String, std::sync::Arc<std::sync::atomic::AtomicU64>) {
        use std::io::{BufRead, BufReader};
        use std::sync::atomic::AtomicU64;
        use std::sync::Arc;
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let pin = wire::pin_of_cert(cert.der()).unwrap();
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap(),
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let served = Arc::new(AtomicU64::new(0));
        let count = served.clone();
        std::thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            let conn = rustls::ServerConnection::new(config).unwrap();
            let mut s = BufReader::new(rustls::StreamOwned::new(conn, tcp));
            loop {
                let mut first = String::new();
                if s.read_line(&mut first).unwrap_or(0) == 0 {
                    return;
                }
                loop {
                    let mut h = String::new();
                    if s.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                }
                let path = first.split_whitespace().nth(1).unwrap_or("").to_owned();
                let body = match path.split_once("len=") {
                    Some((_, len)) => {
                        let n: u64 = len.parse().unwrap();
                        count.fetch_add(n, Ordering::SeqCst);
                        vec![0u8; n as usize]
                    }
                    None => serde_json::to_vec(&BlobInfo {
                        size: claimed,
                        sha256: sha256.clone(),
                        received: claimed,
                        complete: true,
                    })
                    .unwrap(),
                };
                let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len());
                let w = s.get_mut();
                if w.write_all(head.as_bytes())
                    .and_then(|_| w.write_all(&body))
                    .and_then(|_| w.flush())
                    .is_err()
                {
                    return;
                }
            }
        });
        (addr, pin, served)
    }

    #[test]
    fn an_evidence_download_stops_at_the_size_its_signed_record_names() {
        // The evidence record (signed by the device that imported the file) names a file
        // of 1,000 bytes; the hub claims 12 MiB with the record's hash. Nothing beyond
        // what 1,000 bytes encrypt to may be fetched (nor written to disk).
        let dir = tempfile::tempdir().unwrap();
        let sha256 = "ab".repeat(32);
        let (addr, pin, served) = hostile_hub(12 << 20, sha256.clone());
        let (cert, key) = net::device_certificate().unwrap();
        let creds = custos_vault::Credentials {
            pin,
            next_pin: None,
            cert,
            key,
        };
        let mut conn = Connection::open(&addr, &wire::Route::Direct, &creds).unwrap();
        let job = BlobJob {
            evidence_id: Uuid::new_v4(),
            blob_id: Uuid::new_v4(),
            path: dir.path().join("blobs").join("x.age"),
            sha256,
            audience: vec!["age1x".into()],
        };
        let partial = download_path(&job);
        let limit = max_blob_size(1000, job.audience.len());
        let got = download_blob(&mut conn, &job, limit, &partial).unwrap();
        assert!(
            matches!(&got, Download::Refused(why) if why.contains("larger")),
            "{}",
            match &got {
                Download::Done => "done".to_owned(),
                Download::NotYet => "not yet".to_owned(),
                Download::Refused(w) => w.clone(),
            }
        );
        assert_eq!(served.load(Ordering::SeqCst), 0, "bytes fetched");
        assert!(!partial.exists() || fs::metadata(&partial).unwrap().len() == 0);
    }

    #[test]
    fn the_size_bound_covers_what_age_writes_and_does_not_wrap() {
        use std::io::Write as _;
        let ids: Vec<age::x25519::Identity> =
            (0..3).map(|_| age::x25519::Identity::generate()).collect();
        let rs: Vec<age::x25519::Recipient> = ids.iter().map(|i| i.to_public()).collect();
        for n in [1usize, 100, 65_535, 65_536, 65_537, 200_000] {
            let enc = age::Encryptor::with_recipients(rs.iter().map(|r| r as &dyn age::Recipient))
                .unwrap();
            let mut out = Vec::new();
            let mut w = enc.wrap_output(&mut out).unwrap();
            w.write_all(&vec![7u8; n]).unwrap();
            w.finish().unwrap();
            let bound = max_blob_size(n as u64, rs.len());
            assert!(out.len() as u64 <= bound, "{n}: {} > {bound}", out.len());
            // The bound's only slack is the header's room (4 KiB and 256 bytes a
            // recipient): never more than that over what age wrote.
            assert!(
                bound - (out.len() as u64) < 4096 + 256 * rs.len() as u64,
                "{n}: a loose bound {bound} for {} bytes",
                out.len()
            );
        }
        assert_eq!(max_blob_size(u64::MAX, usize::MAX), u64::MAX);
    }

    #[test]
    fn sync_errors_have_stable_kinds_and_plain_words() {
        let cases = [
            (SyncError::Paused, "sync_paused"),
            (SyncError::Locked, "sync_stopped"),
            (SyncError::Invite("damaged".into()), "invite_malformed"),
            (
                SyncError::Net(NetError::Unreachable("127.0.0.1:9: refused".into())),
                "hub_unreachable",
            ),
            (SyncError::Net(NetError::WrongPin), "wrong_pin"),
            (SyncError::Net(NetError::Tls("bad".into())), "tls_failed"),
            (
                SyncError::Net(NetError::Dropped("cut".into())),
                "connection_lost",
            ),
            (
                SyncError::Net(NetError::Protocol("junk".into())),
                "hub_protocol",
            ),
            (
                SyncError::Net(NetError::Refused {
                    status: 410,
                    code: "invite_expired".into(),
                    message: "expired".into(),
                }),
                "invite_expired",
            ),
            (
                SyncError::Net(NetError::Refused {
                    status: 403,
                    code: "revoked".into(),
                    message: "revoked".into(),
                }),
                "device_revoked",
            ),
            (
                SyncError::Net(NetError::Refused {
                    status: 403,
                    code: "proof_failed".into(),
                    message: "no".into(),
                }),
                "enrollment_proof_failed",
            ),
            (
                SyncError::Net(NetError::Refused {
                    status: 400,
                    code: "update_needed".into(),
                    message: "old".into(),
                }),
                "update_needed",
            ),
            (
                SyncError::Net(NetError::Refused {
                    status: 413,
                    code: "quota_exceeded".into(),
                    message: "this device has 3 of its 3 objects on the hub".into(),
                }),
                "hub_quota_full",
            ),
            (
                SyncError::Net(NetError::Refused {
                    status: 429,
                    code: "rate_limited".into(),
                    message: "too many requests".into(),
                }),
                "hub_busy",
            ),
            (
                SyncError::Net(NetError::Refused {
                    status: 418,
                    code: "something_new".into(),
                    message: "no".into(),
                }),
                "hub_refused",
            ),
            (SyncError::Vault(Error::DiskFull), "disk_full"),
        ];
        for (e, kind) in cases {
            assert_eq!(e.kind(), kind, "{e}");
            assert!(!e.to_string().is_empty());
        }
    }
}
