//! The vault's side of sync: its hub settings (sealed in the `meta` tree like every
//! other value), what the hub does not hold yet, and taking in versions from the hub or
//! a bundle — checked exactly like everything the vault reads (decrypt, signature by a
//! trusted device, ids).
//!
//! The network lives in [`crate::sync`]; nothing here opens a connection.

use std::collections::HashSet;
use std::fs;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::Zeroize;

use super::{base64_decode, base64_encode, seal_json, Vault};
use crate::crypto::{self, VaultRecipient};
use crate::error::{Error, Result};
use crate::store::Write;
use custos_model::{Body, Kind, Record};
use custos_wire::{self as wire, roster_log, Frame, Invite, Role, Roster, Route};

mod ingest;
mod org;
pub(crate) use org::META_ORG;
pub use org::{OrgInfo, Unapproved};
use zeroize::Zeroizing;

const META_SYNC: &str = "sync";
/// The default time between two syncs, in minutes.
pub const DEFAULT_INTERVAL: u32 = 15;
/// How far ahead of this device's clock a received version's clock may be: a laptop
/// whose clock is set to the wrong time zone stays within it; a clock of `u64::MAX`,
/// which would pin every clock that takes it in, does not.
pub const MAX_CLOCK_SKEW: chrono::Duration = chrono::Duration::hours(24);
/// How many of its last pushes a device remembers, to ask the hub about.
const RECENT: usize = 64;
/// How often a sync asks the hub whether it still holds this device's last pushes.
pub const HUB_CHECK_EVERY: chrono::Duration = chrono::Duration::hours(1);

/// The hub settings and sync state, stored sealed to the vault.
#[derive(Serialize, Deserialize)]
pub(crate) struct SyncState {
    hub: String,
    pin: String,
    device_id: Uuid,
    /// Stored as the wire's word (`field`, `coordinator`), as it always was.
    role: Role,
    label: String,
    coordinators: Vec<String>,
    hub_recipient: String,
    /// The device's TLS certificate (DER, base64).
    cert: String,
    /// Its private key (PKCS#8 DER, base64).
    key: String,
    route: Route,
    paused: bool,
    interval_minutes: u32,
    cursor: u64,
    enrolled_at: DateTime<Utc>,
    /// When the roster (the organisation's devices and coordinators) was last fetched.
    #[serde(default)]
    roster_at: Option<DateTime<Utc>>,
    /// Signing keys of devices the hub revoked.
    #[serde(default)]
    revoked_signers: Vec<String>,
    /// The organisation's devices, from the last roster: who signs, for which vault, in
    /// which role. Empty until the first roster fetch (then a sync fetches it first).
    #[serde(default)]
    members: Vec<Member>,
    /// The last versions this device pushed, newest last: asked about now and then, to
    /// notice a hub that lost them (restored from a backup, or lying).
    #[serde(default)]
    recent: Vec<Uuid>,
    /// When the hub last confirmed holding them.
    #[serde(default)]
    held_checked_at: Option<DateTime<Utc>>,
    /// Coordinator recipients the hub listed after enrollment, not used until the user
    /// confirms them: a hub operator adding a key of their own must not make this
    /// device encrypt to it.
    #[serde(default)]
    pending_coordinators: Vec<PendingCoordinator>,
    /// Those the user refused: not offered again.
    #[serde(default)]
    refused_coordinators: Vec<String>,
    /// Which signer each device id in versions this vault took in belongs to: a
    /// version's `device` is written by its signer, and another signer claiming the
    /// same id (to pass its versions off as a colleague's) is refused.
    #[serde(default)]
    device_signers: std::collections::HashMap<Uuid, String>,
    /// A coordinator's vault: how far each field device's chain of versions arrived,
    /// and the numbers missing before that (withheld by the hub, or not pushed yet).
    #[serde(default)]
    chains: std::collections::HashMap<String, ChainSeen>,
    /// Changes of whom this vault trusts, newest last (at most [`MAX_CHANGES`]).
    #[serde(default)]
    changes: Vec<TrustChange>,
    /// During a pin rotation: the pin of the hub's next key, accepted too.
    #[serde(default)]
    next_pin: Option<String>,
    /// The organisation key this vault pinned (base64 Ed25519): from its invite, or
    /// confirmed by its user. Once set, only the roster it signs counts.
    #[serde(default)]
    org_key: Option<String>,
    /// The organisation's name, from its signed roster.
    #[serde(default)]
    org_name: Option<String>,
    /// The last entry of the signed roster this vault verified: a later roster must
    /// extend it (not drop, change or fork it).
    #[serde(default)]
    org_head: Option<roster_log::Head>,
    /// An organisation key the hub serves that this vault has not pinned: used only
    /// once the user confirms its words.
    #[serde(default)]
    offered_org_key: Option<String>,
    /// Devices the hub lists that the signed roster does not (waiting for a
    /// coordinator's approval, or added by the hub alone).
    #[serde(default)]
    unapproved: Vec<Unapproved>,
    /// Where the hub's signed roster stood at the last fetch ([`roster_log::mark`]):
    /// the hub says it on every answer, and another one means fetch it again.
    #[serde(default)]
    log_seen: String,
    last_attempt: Option<DateTime<Utc>>,
    last_success: Option<DateTime<Utc>>,
    last_error: Option<String>,
}

/// A coordinator recipient the hub announced after enrollment, waiting for the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCoordinator {
    /// The age recipient.
    pub recipient: String,
    /// When this vault first saw it in the roster.
    pub seen_at: DateTime<Utc>,
    /// The labels of the roster's devices with this vault (none when no device of it
    /// is enrolled yet).
    pub devices: Vec<String>,
}

/// Who can read this vault's records, for the sync screen and `custos sync status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reader {
    /// The age recipient.
    pub recipient: String,
    /// `own` (this vault) or `coordinator`.
    pub kind: &'static str,
    /// The labels of the roster's devices with this vault.
    pub devices: Vec<String>,
}

/// How many trust changes a vault keeps.
const MAX_CHANGES: usize = 50;

/// A change of whom this vault trusts, seen in the roster: shown in the sync status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustChange {
    /// When this vault saw it.
    pub at: DateTime<Utc>,
    /// `device_accepted` (a device whose versions this vault now takes in),
    /// `device_revoked`, or `coordinator_announced`.
    pub what: String,
    /// The device's label, or the coordinator's recipient.
    pub who: String,
    /// The device's role (`field`, `coordinator`), when a device.
    pub role: Option<Role>,
    /// A change the organisation signed: the label of the coordinator's device that
    /// signed it, when the roster names it.
    #[serde(default)]
    pub by: Option<String>,
    /// A change the organisation signed: when it was signed.
    #[serde(default)]
    pub signed_at: Option<DateTime<Utc>>,
}

/// How far one device's chain of versions arrived.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ChainSeen {
    /// The highest number taken in.
    max: u64,
    /// Numbers below it not taken in, as ranges, with when each was first missed.
    missing: Vec<(u64, u64, DateTime<Utc>)>,
}

impl ChainSeen {
    /// Notes that version number `seq` arrived.
    fn arrived(&mut self, seq: u64, now: DateTime<Utc>) {
        if seq > self.max {
            if seq > self.max + 1 {
                self.missing.push((self.max + 1, seq - 1, now));
            }
            self.max = seq;
            return;
        }
        if let Some(at) = self
            .missing
            .iter()
            .position(|(from, to, _)| (*from..=*to).contains(&seq))
        {
            let (from, to, noticed) = self.missing.remove(at);
            if from < seq {
                self.missing.push((from, seq - 1, noticed));
            }
            if seq < to {
                self.missing.push((seq + 1, to, noticed));
            }
            self.missing.sort_unstable_by_key(|m| m.0);
        }
    }
}

/// Versions of a field device that a coordinator's vault has not received although a
/// later one arrived: the hub withholds them, or the device has not finished sending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// The device's label in the roster.
    pub device: String,
    /// The first missing number of its chain.
    pub from: u64,
    /// The last.
    pub to: u64,
    /// When this vault first missed them.
    pub noticed_at: DateTime<Utc>,
}

/// One device of the roster, as the vault keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Member {
    signer: String,
    vault_recipient: String,
    role: Role,
    revoked: bool,
    #[serde(default)]
    label: String,
    /// Revoked by the signed roster: the number of its last version accepted.
    #[serde(default)]
    revoked_after: Option<u64>,
}

impl Drop for SyncState {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

/// What the app and `custos sync status` show. Holds nothing secret.
#[derive(Debug, Clone, Serialize)]
pub struct SyncInfo {
    /// True once enrolled with a hub.
    pub enrolled: bool,
    /// The hub, `host:port`.
    pub hub: String,
    /// The hub's pin.
    pub pin: String,
    /// What this device may read; none before enrollment.
    pub role: Option<Role>,
    /// The hub's id for this device.
    pub device_id: Option<Uuid>,
    /// The route policy.
    pub route: String,
    /// True when the user paused sync.
    pub paused: bool,
    /// Minutes between syncs.
    pub interval_minutes: u32,
    /// The organisation's coordinators (confirmed: this vault encrypts to them).
    pub coordinators: Vec<String>,
    /// Coordinators the hub announced since enrollment, not used until confirmed.
    pub pending_coordinators: Vec<PendingCoordinator>,
    /// Who can read this vault's records: this vault and the confirmed coordinators.
    pub readers: Vec<Reader>,
    /// A coordinator's vault: versions of field devices missing before later ones.
    pub gaps: Vec<Gap>,
    /// Changes of whom this vault trusts, newest last.
    pub changes: Vec<TrustChange>,
    /// The organisation key and its signed roster, as this vault knows them.
    pub org: OrgInfo,
    /// When a sync last started.
    pub last_attempt: Option<DateTime<Utc>>,
    /// When a sync last completed.
    pub last_success: Option<DateTime<Utc>>,
    /// Why the last sync failed, in plain words (none when it succeeded).
    pub last_error: Option<String>,
    /// Versions the hub does not hold yet.
    pub pending_versions: usize,
    /// Their ciphertext, in bytes.
    pub pending_bytes: u64,
    /// Evidence files the hub does not hold yet.
    pub pending_blobs: usize,
    /// Records with concurrent edits to resolve.
    pub conflicts: usize,
}

/// The pinned hub, and the device's TLS credentials.
pub struct Credentials {
    /// The hub's pin.
    pub pin: String,
    /// During a pin rotation: the pin of the hub's next key, accepted too.
    pub next_pin: Option<String>,
    /// The device certificate (DER).
    pub cert: Vec<u8>,
    /// Its PKCS#8 private key (DER).
    pub key: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("pin", &self.pin)
            .finish_non_exhaustive()
    }
}

/// What a sync needs from the vault before it connects.
pub struct SyncPlan {
    /// The hub, `host:port`.
    pub hub: String,
    /// The route policy.
    pub route: Route,
    /// The pinned hub and the device's TLS credentials.
    pub credentials: Credentials,
    /// The pull cursor.
    pub cursor: u64,
    /// True when the user paused sync.
    pub paused: bool,
    /// The vault's folder.
    pub dir: PathBuf,
}

/// An evidence file to upload or download.
#[derive(Debug, Clone)]
pub struct BlobJob {
    /// The evidence record.
    pub evidence_id: Uuid,
    /// The file's id.
    pub blob_id: Uuid,
    /// Where it is (or goes) in the vault.
    pub path: PathBuf,
    /// Its SHA-256 (ciphertext), from the signed evidence record.
    pub sha256: String,
    /// Its audience.
    pub audience: Vec<String>,
}

/// What taking in objects did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ingested {
    /// New versions stored.
    pub stored: usize,
    /// Versions the vault had already.
    pub existing: usize,
    /// Objects refused, with the reason (never content).
    pub rejected: Vec<(Uuid, String)>,
    /// Of those, the ones signed by a device the vault does not know (yet).
    pub unknown_signer: Vec<Uuid>,
}

impl Vault {
    pub(super) fn load_sync(&mut self) -> Result<()> {
        let Some(ct) = self.store.meta(META_SYNC)? else {
            return Ok(());
        };
        let plain = crypto::open_bytes(&self.keys.identity, &ct).map_err(|_| {
            Error::Database("the vault's sync settings are damaged and cannot be decrypted".into())
        })?;
        let state: SyncState = serde_json::from_slice(&plain)
            .map_err(|_| Error::Database("the vault's sync settings are damaged".into()))?;
        self.keys.org = parse_recipients(&state.coordinators)?;
        self.sync = Some(state);
        Ok(())
    }

    fn sync_write(&self) -> Result<Option<Write>> {
        match &self.sync {
            Some(s) => Ok(Some(Write::Meta(
                META_SYNC,
                seal_json(&self.keys.recipients, s)?,
            ))),
            None => Ok(None),
        }
    }

    fn save_sync(&mut self) -> Result<()> {
        if let Some(w) = self.sync_write()? {
            self.store.commit(vec![w])?;
        }
        Ok(())
    }

    fn state(&self) -> Result<&SyncState> {
        self.sync.as_ref().ok_or_else(not_enrolled)
    }

    fn state_mut(&mut self) -> Result<&mut SyncState> {
        self.sync.as_mut().ok_or_else(not_enrolled)
    }

    /// The vault's own recipient, `age1…`.
    fn own(&self) -> String {
        // Not `identity.to_public()`: that is a scalar multiplication, and this runs
        // once per version taken in.
        match self.keys.recipients.first() {
            Some(r) => r.to_string(),
            None => self.keys.identity.to_public().to_string(),
        }
    }

    /// The audience of a version with no audience of its own: this vault and the
    /// coordinators.
    pub(super) fn default_audience(&self) -> Vec<String> {
        let mut out = vec![self.own()];
        out.extend(self.keys.org.iter().map(|r| r.to_string()));
        dedup(out)
    }

    /// The audience of a new version of `record_id` replacing `parents`: empty (this
    /// vault only) until the vault is enrolled and while no earlier version came from
    /// elsewhere; else computed from the roster: this vault, the coordinators, and the
    /// vaults of the field devices (not revoked) that the earlier versions were written
    /// for — the record's owner. A recipient the roster does not list as a field
    /// device's vault is never carried over from an earlier version, whoever signed it.
    pub(super) fn audience_for(&self, record_id: Uuid, parents: &[Uuid]) -> Vec<String> {
        let mut earlier = Vec::new();
        for p in parents {
            if let Ok(v) = self.read_version(*p, Some(record_id)) {
                earlier.extend(v.audience.iter().cloned());
            }
        }
        if self.keys.org.is_empty() && earlier.is_empty() {
            return Vec::new();
        }
        let mut all = self.default_audience();
        match &self.sync {
            // Before the first roster (an upgraded vault offline since): as before.
            Some(s) if s.members.is_empty() => all.extend(earlier),
            Some(s) => all.extend(earlier.into_iter().filter(|r| {
                s.members
                    .iter()
                    .any(|m| m.role == Role::Field && !m.revoked && &m.vault_recipient == r)
            })),
            None => all.extend(earlier),
        }
        dedup(all)
    }

    /// The audience the hub routes an object by: the version's own, or — when an
    /// organisation has more coordinators than a frame can name — without the
    /// coordinators, whom the hub sends every object anyway. Never more than the
    /// protocol's limit, so that no record is ever unpushable.
    fn routing(&self, audience: Vec<String>) -> Vec<String> {
        if audience.len() <= wire::MAX_AUDIENCE {
            return audience;
        }
        let coordinators = &self
            .sync
            .as_ref()
            .map(|s| s.coordinators.clone())
            .unwrap_or_default();
        let mut fewer: Vec<String> = audience
            .into_iter()
            .filter(|r| !coordinators.contains(r))
            .collect();
        if fewer.is_empty() {
            fewer.push(self.own());
        }
        fewer.truncate(wire::MAX_AUDIENCE);
        fewer
    }

    /// The recipients to seal a version with this audience to.
    pub(super) fn recipients_of(&self, audience: &[String]) -> Result<Vec<VaultRecipient>> {
        if audience.is_empty() {
            let mut r = self.keys.recipients.clone();
            r.extend(self.keys.org.iter().cloned());
            return Ok(r);
        }
        parse_recipients(audience)
    }

    /// Who can read this vault's records.
    fn readers(&self, s: &SyncState) -> Vec<Reader> {
        let labels = |r: &str| -> Vec<String> {
            s.members
                .iter()
                .filter(|m| m.vault_recipient == r && !m.revoked)
                .map(|m| m.label.clone())
                .collect()
        };
        let own = self.own();
        let mut out = vec![Reader {
            devices: labels(&own),
            recipient: own.clone(),
            kind: "own",
        }];
        out.extend(
            s.coordinators
                .iter()
                .filter(|c| **c != own)
                .map(|c| Reader {
                    recipient: c.clone(),
                    kind: "coordinator",
                    devices: labels(c),
                }),
        );
        out
    }

    /// Confirms a coordinator the hub announced (after checking with the organisation,
    /// out of band, that the key is theirs): new versions and evidence files are
    /// encrypted to it from now on, and its devices' versions are accepted.
    pub fn confirm_coordinator(&mut self, recipient: &str) -> Result<()> {
        let s = self.state_mut()?;
        if s.org_key.is_some() {
            return Err(Error::Invalid(
                "this organisation signs its roster: its coordinators are the ones the \
                 organisation key signed, not confirmed one by one"
                    .into(),
            ));
        }
        let Some(at) = s
            .pending_coordinators
            .iter()
            .position(|p| p.recipient == recipient)
        else {
            return Err(Error::Invalid(format!(
                "'{recipient}' is not a coordinator waiting for confirmation"
            )));
        };
        s.pending_coordinators.remove(at);
        s.coordinators.push(recipient.to_owned());
        let signers: Vec<String> = s
            .members
            .iter()
            .filter(|m| m.role == Role::Coordinator && m.vault_recipient == recipient)
            .map(|m| m.signer.clone())
            .collect();
        let coordinators = s.coordinators.clone();
        self.keys.org = parse_recipients(&coordinators)?;
        let mut writes = Vec::new();
        let mut trusted = false;
        for signer in signers {
            if !self.keys.trusted.contains(&signer) {
                self.keys.trusted.push(signer);
                trusted = true;
            }
        }
        if trusted {
            writes.push(self.keyring_write()?);
        }
        writes.extend(self.sync_write()?);
        self.store.commit(writes)
    }

    /// Refuses a coordinator the hub announced: never used, not offered again.
    pub fn refuse_coordinator(&mut self, recipient: &str) -> Result<()> {
        let s = self.state_mut()?;
        let Some(at) = s
            .pending_coordinators
            .iter()
            .position(|p| p.recipient == recipient)
        else {
            return Err(Error::Invalid(format!(
                "'{recipient}' is not a coordinator waiting for confirmation"
            )));
        };
        s.pending_coordinators.remove(at);
        s.refused_coordinators.push(recipient.to_owned());
        self.save_sync()
    }

    /// True once enrolled with a hub (cheap: [`Vault::sync_info`] also counts what is
    /// pending, which reads every unsynced ciphertext).
    pub fn is_enrolled(&self) -> bool {
        self.sync.is_some()
    }

    /// Records with concurrent edits to resolve (from the index; decrypts nothing).
    pub fn conflict_count(&self) -> usize {
        self.index.entries().filter(|e| e.conflict()).count()
    }

    /// The sync status.
    pub fn sync_info(&self) -> SyncInfo {
        let unsynced = match &self.sync {
            Some(_) => self.store.unsynced_versions().unwrap_or_default(),
            None => Vec::new(),
        };
        let pending_versions = unsynced.len();
        let pending_bytes = unsynced
            .iter()
            .filter_map(|id| self.store.version(*id).ok().flatten())
            .map(|ct| ct.len() as u64)
            .sum();
        let pending_blobs = match &self.sync {
            Some(_) => self.pending_blobs().map(|b| b.len()).unwrap_or(0),
            None => 0,
        };
        let conflicts = self.conflict_count();
        match &self.sync {
            None => SyncInfo {
                enrolled: false,
                hub: String::new(),
                pin: String::new(),
                role: None,
                device_id: None,
                route: Route::Direct.to_string(),
                paused: false,
                interval_minutes: DEFAULT_INTERVAL,
                coordinators: Vec::new(),
                pending_coordinators: Vec::new(),
                readers: Vec::new(),
                gaps: Vec::new(),
                changes: Vec::new(),
                org: OrgInfo::default(),
                last_attempt: None,
                last_success: None,
                last_error: None,
                pending_versions,
                pending_bytes,
                pending_blobs,
                conflicts,
            },
            Some(s) => SyncInfo {
                enrolled: true,
                hub: s.hub.clone(),
                pin: s.pin.clone(),
                role: Some(s.role),
                device_id: Some(s.device_id),
                route: s.route.to_string(),
                paused: s.paused,
                interval_minutes: s.interval_minutes,
                coordinators: s.coordinators.clone(),
                pending_coordinators: s.pending_coordinators.clone(),
                readers: self.readers(s),
                gaps: gaps(s),
                changes: s.changes.clone(),
                org: self.org_info(s),
                last_attempt: s.last_attempt,
                last_success: s.last_success,
                last_error: s.last_error.clone(),
                pending_versions,
                pending_bytes,
                pending_blobs,
                conflicts,
            },
        }
    }

    /// Sets how the device reaches its hub.
    pub fn set_sync_route(&mut self, route: Route) -> Result<()> {
        self.state_mut()?.route = route;
        self.save_sync()
    }

    /// Pauses or resumes sync (travel, or no trusted network).
    pub fn set_sync_paused(&mut self, paused: bool) -> Result<()> {
        self.state_mut()?.paused = paused;
        self.save_sync()
    }

    /// Sets the minutes between two syncs (1 to 1440).
    pub fn set_sync_interval(&mut self, minutes: u32) -> Result<()> {
        if !(1..=1440).contains(&minutes) {
            return Err(Error::Invalid(
                "the sync interval is between 1 and 1440 minutes".into(),
            ));
        }
        self.state_mut()?.interval_minutes = minutes;
        self.save_sync()
    }

    /// Signs a bundle digest with the device key.
    pub fn sign_digest(&self, digest: &[u8; 32]) -> [u8; 64] {
        self.keys.device.sign_bytes(digest)
    }

    /// Decrypts bytes sealed to this vault (an offline bundle).
    pub fn identity(&self) -> &crypto::VaultIdentity {
        &self.keys.identity
    }

    /// Seals every stored version to this vault and the coordinators, in batches of
    /// 2,000, each batch with one file key wrapped once to them (`crypto::SharedKey`:
    /// no X25519 per version; the versions of a batch share a header, as those of a
    /// large commit do — `docs/threat-model.md` says what that shows).
    fn reseal_for_org(&mut self) -> Result<usize> {
        let ids = self.store.version_ids()?;
        let mut done = 0;
        for chunk in ids.chunks(2000) {
            // Only versions without an audience of their own are resealed, all to these.
            let to = crypto::SharedKey::new(&self.recipients_of(&[])?)?;
            let mut writes = Vec::with_capacity(chunk.len());
            let mut learned = Vec::with_capacity(chunk.len());
            for id in chunk {
                let Some(ct) = self.store.version(*id)? else {
                    continue;
                };
                // A damaged version stays as it is (it is reported as damaged anyway).
                let Ok(v) = self.read_version(*id, None) else {
                    continue;
                };
                if !v.audience.is_empty() {
                    continue;
                }
                let cache = self.key_cache();
                let Ok(sealed) = crypto::reseal(&self.keys.identity, &cache, &ct, &to) else {
                    continue;
                };
                drop(cache);
                learned.push(sealed.learned);
                writes.push(Write::Version(*id, sealed.ciphertext));
            }
            done += writes.len();
            self.store.commit(writes)?;
            let cache = self.key_cache_get_mut();
            for l in learned {
                cache.insert(l);
            }
            self.cache_dirty.store(true, Ordering::Relaxed);
        }
        Ok(done)
    }

    /// The current evidence records: (record id, evidence, audience).
    fn evidence_heads(&self) -> Vec<(Uuid, custos_model::Evidence, Vec<String>)> {
        let mut out = Vec::new();
        for e in self
            .index
            .entries()
            .filter(|e| e.kind == Kind::Evidence && !e.deleted())
        {
            if let Ok(mut v) = self.read_version(e.head().id, Some(e.record_id)) {
                let audience = self.routing(if v.audience.is_empty() {
                    self.default_audience()
                } else {
                    std::mem::take(&mut v.audience)
                });
                if let Body::Record(Record::Evidence(ev)) = &v.body {
                    out.push((e.record_id, ev.clone(), audience));
                }
            }
        }
        out
    }
}

impl Vault {
    /// Takes in the hub's roster as it is, for an organisation that does not sign its
    /// roster (or a vault that has not pinned its key yet): new coordinators wait for the
    /// user's confirmation; devices are accepted by the rules below.
    fn apply_hub_roster(&mut self, roster: &Roster) -> Result<()> {
        let mut changed_keys = false;
        // A revoked device's signer stays trusted for what came through the hub: the hub
        // refuses whatever it sends after revocation, and what it wrote before (a lost
        // laptop's cases) must stay readable. Bundles from it are refused (`revoked`).
        let revoked: Vec<String> = roster
            .devices
            .iter()
            .filter(|d| d.revoked)
            .map(|d| d.signer.clone())
            .collect();
        // Whose versions this vault accepts: a coordinator's vault, every device of the
        // organisation; a field worker's vault, its own devices and the coordinators'
        // (another field worker cannot write into it).
        let own = self.own();
        let coordinator = self.state()?.role == Role::Coordinator;
        let confirmed = self.state()?.coordinators.clone();
        // The first roster after enrollment is where this vault starts: changes are
        // what comes after it.
        let first = self.state()?.members.is_empty();
        let now = Utc::now();
        let mut changes = Vec::new();
        for d in roster.devices.iter().filter(|d| {
            coordinator
                || (d.role == Role::Coordinator && confirmed.contains(&d.vault_recipient))
                || d.vault_recipient == own
        }) {
            if !self.keys.trusted.contains(&d.signer) && crypto::is_signer(&d.signer) {
                self.keys.trusted.push(d.signer.clone());
                changed_keys = true;
                if !first && d.signer != self.keys.signer {
                    changes.push(TrustChange {
                        at: now,
                        what: "device_accepted".into(),
                        who: d.label.clone(),
                        role: Some(d.role),
                        by: None,
                        signed_at: None,
                    });
                }
            }
        }
        {
            let s = self.state()?;
            for d in roster.devices.iter().filter(|d| d.revoked) {
                let was = s.members.iter().any(|m| m.signer == d.signer && !m.revoked);
                if was {
                    changes.push(TrustChange {
                        at: now,
                        what: "device_revoked".into(),
                        who: d.label.clone(),
                        role: Some(d.role),
                        by: None,
                        signed_at: None,
                    });
                }
            }
        }
        {
            let s = self.state_mut()?;
            s.roster_at = Some(Utc::now());
            s.revoked_signers = revoked;
            s.members = roster
                .devices
                .iter()
                .filter(|d| crypto::is_signer(&d.signer))
                .map(|d| Member {
                    signer: d.signer.clone(),
                    vault_recipient: d.vault_recipient.clone(),
                    role: d.role,
                    revoked: d.revoked,
                    label: d.label.clone(),
                    revoked_after: None,
                })
                .collect();
            // A coordinator the hub lists now is not used until the user confirms it.
            for c in &roster.coordinators {
                if !s.coordinators.contains(c)
                    && !s.refused_coordinators.contains(c)
                    && !s.pending_coordinators.iter().any(|p| &p.recipient == c)
                    && c.parse::<VaultRecipient>().is_ok()
                {
                    s.pending_coordinators.push(PendingCoordinator {
                        recipient: c.clone(),
                        seen_at: now,
                        devices: Vec::new(),
                    });
                    changes.push(TrustChange {
                        at: now,
                        what: "coordinator_announced".into(),
                        who: c.clone(),
                        role: None,
                        by: None,
                        signed_at: None,
                    });
                }
            }
            s.changes.extend(changes);
            let extra = s.changes.len().saturating_sub(MAX_CHANGES);
            s.changes.drain(..extra);
            let members = &s.members;
            for p in &mut s.pending_coordinators {
                p.devices = members
                    .iter()
                    .filter(|m| m.vault_recipient == p.recipient)
                    .map(|m| m.label.clone())
                    .collect();
            }
        }
        let mut writes = Vec::new();
        if changed_keys {
            writes.push(self.keyring_write()?);
        }
        writes.extend(self.sync_write()?);
        self.store.commit(writes)
    }
}

/// What a sync with the hub, or an offline bundle, needs from the vault: its plan, what
/// to send, what came in, the roster. `custos-sync` is its caller (`use
/// custos_vault::Exchange`); the shells call the sync crate, not these.
pub trait Exchange {
    /// Everything a sync needs before it connects.
    fn sync_plan(&self) -> Result<SyncPlan>;

    /// The hub's bundle recipient and this vault's signer, for writing a bundle.
    fn bundle_identity(&self) -> Result<(Uuid, String, Vec<VaultRecipient>)>;

    /// True when `signer` (base64 Ed25519) is a device this vault trusts and the hub has
    /// not revoked.
    fn trusts(&self, signer: &str) -> bool;

    /// Records a completed enrollment: the hub, its pin, the coordinators, the device's
    /// TLS credentials. Versions already in the vault are sealed again for the
    /// coordinators too (their signed content is unchanged), so that they can read
    /// every case of the organisation.
    fn apply_enrollment(
        &mut self,
        invite: &Invite,
        reply: &wire::EnrollResponse,
        label: &str,
        cert: &[u8],
        key: &[u8],
        route: Route,
    ) -> Result<usize>;

    /// Follows a pin rotation: remembers the next pin the hub announced (over a connection
    /// where it proved the current key), and moves to it once the hub proves it.
    fn follow_pin(&mut self, proved: Option<&str>, announced: Option<&str>) -> Result<()>;

    /// True when the roster should be fetched again (never fetched, or a day old).
    fn roster_stale(&self) -> bool;

    /// Takes in the hub's roster: the signing keys of the organisation's devices become
    /// trusted (never removed: what a revoked device wrote before stays readable), and
    /// coordinators it lists for the first time wait for the user's confirmation.
    fn apply_roster(&mut self, roster: &Roster) -> Result<()>;

    /// True when the hub's signed roster stands elsewhere than at the last fetch
    /// (`custos-roster` on its answers): fetch it again.
    fn roster_moved(&self, mark: &str) -> bool;

    /// Versions the hub does not hold, as frames: at most `max_count` and about
    /// `max_bytes`, skipping `skip`.
    fn pending_frames(
        &self,
        skip: &HashSet<Uuid>,
        max_count: usize,
        max_bytes: usize,
    ) -> Result<Vec<Frame>>;

    /// Notes that the hub holds these versions (pushed by this device).
    fn mark_synced(&mut self, ids: &[Uuid]) -> Result<()>;

    /// True when the hub has not been asked for a while whether it still holds this
    /// device's last pushes.
    fn hub_check_due(&self) -> bool;

    /// The last versions this device pushed (at most 64).
    fn recent_pushes(&self) -> Vec<Uuid>;

    /// Every version, and every evidence file in the vault, the hub was seen to hold.
    fn synced_ids(&self) -> Result<(Vec<Uuid>, Vec<BlobJob>)>;

    /// Forgets that the hub holds these versions and evidence files (it lost them): the
    /// next sync sends them again.
    fn forget_synced(&mut self, versions: &[Uuid], blobs: &[Uuid]) -> Result<()>;

    /// Notes that the hub just confirmed what it holds.
    fn hub_checked(&mut self) -> Result<()>;

    /// Takes in objects from the hub (or a bundle): each is checked (not stored with
    /// other bytes, decrypts for this vault, signed by a trusted device, the id inside
    /// matches, the kind matches the record's); those that fail are listed and skipped.
    /// The rest are stored in one durable batch with the new pull cursor.
    fn ingest(&mut self, frames: Vec<Frame>, cursor: Option<u64>) -> Result<Ingested>;

    /// Evidence files in the vault that the hub does not hold completely.
    fn pending_blobs(&self) -> Result<Vec<BlobJob>>;

    /// Evidence records whose file is not in the vault yet (synced from another device).
    fn missing_blobs(&self) -> Vec<BlobJob>;

    /// Notes that the hub holds an evidence file, and logs it in its chain of custody.
    fn mark_blob_synced(&mut self, job: &BlobJob, detail: &str) -> Result<()>;

    /// Appends a `synced` custody entry (the first one on a device that received the
    /// item).
    fn log_received_or_sent(&mut self, evidence_id: Uuid, detail: &str) -> Result<()>;

    /// Records how a sync ended: completed (perhaps with a warning), or failed.
    fn record_sync_result(
        &mut self,
        started: DateTime<Utc>,
        result: std::result::Result<Option<String>, String>,
    ) -> Result<()>;

    /// Moves a downloaded, checked evidence file into place.
    fn install_blob(&mut self, job: &BlobJob, downloaded: &std::path::Path) -> Result<()>;
}

impl Exchange for Vault {
    fn sync_plan(&self) -> Result<SyncPlan> {
        let s = self.state()?;
        let cert = base64_decode(&s.cert)
            .ok_or_else(|| Error::Database("the vault's sync settings are damaged".into()))?;
        let key = base64_decode(&s.key)
            .ok_or_else(|| Error::Database("the vault's sync settings are damaged".into()))?;
        Ok(SyncPlan {
            hub: s.hub.clone(),
            route: s.route.clone(),
            credentials: Credentials {
                pin: s.pin.clone(),
                next_pin: s.next_pin.clone(),
                cert: cert.to_vec(),
                key,
            },
            cursor: s.cursor,
            paused: s.paused,
            dir: self.dir.clone(),
        })
    }

    fn bundle_identity(&self) -> Result<(Uuid, String, Vec<VaultRecipient>)> {
        let s = self.state()?;
        let mut to = parse_recipients(std::slice::from_ref(&s.hub_recipient))?;
        to.extend(self.keys.recipients.iter().cloned());
        to.extend(self.keys.org.iter().cloned());
        Ok((s.device_id, self.keys.signer.clone(), to))
    }

    fn trusts(&self, signer: &str) -> bool {
        self.keys.trusted.iter().any(|t| t == signer)
            && !self.sync.as_ref().is_some_and(|s| {
                s.revoked_signers.iter().any(|r| r == signer)
                    || (s.org_key.is_some()
                        && signer != self.keys.signer
                        && !s.members.iter().any(|m| m.signer == signer))
            })
    }

    fn apply_enrollment(
        &mut self,
        invite: &Invite,
        reply: &wire::EnrollResponse,
        label: &str,
        cert: &[u8],
        key: &[u8],
        route: Route,
    ) -> Result<usize> {
        if self.sync.is_some() {
            return Err(Error::Invalid(
                "this vault is already enrolled with a hub".into(),
            ));
        }
        // An organisation that signs its roster: the coordinators come from it (verified
        // at the first roster fetch), never from what the hub lists in the invite or the
        // answer. Otherwise, as before: the invite's and the hub's.
        let coordinators = if invite.org_key.is_some() {
            Vec::new()
        } else {
            let mut coordinators = invite.coordinators.clone();
            coordinators.extend(reply.coordinators.iter().cloned());
            dedup(coordinators)
        };
        let org = parse_recipients(&coordinators)?;
        self.sync = Some(SyncState {
            hub: invite.hub.clone(),
            pin: invite.pin.clone(),
            device_id: reply.device_id,
            role: reply.role,
            label: label.to_owned(),
            coordinators,
            hub_recipient: invite.hub_recipient.clone(),
            cert: base64_encode(cert),
            key: base64_encode(key),
            route,
            paused: false,
            interval_minutes: DEFAULT_INTERVAL,
            cursor: 0,
            enrolled_at: Utc::now(),
            roster_at: None,
            revoked_signers: Vec::new(),
            members: Vec::new(),
            recent: Vec::new(),
            held_checked_at: None,
            pending_coordinators: Vec::new(),
            refused_coordinators: Vec::new(),
            device_signers: std::collections::HashMap::new(),
            chains: std::collections::HashMap::new(),
            changes: Vec::new(),
            next_pin: None,
            org_key: invite.org_key.clone(),
            org_name: None,
            org_head: None,
            offered_org_key: None,
            unapproved: Vec::new(),
            log_seen: String::new(),
            last_attempt: None,
            last_success: None,
            last_error: None,
        });
        self.keys.org = org;
        let save = self.save_sync();
        if let Err(e) = save {
            self.sync = None;
            self.keys.org.clear();
            return Err(e);
        }
        self.reseal_for_org()
    }

    fn follow_pin(&mut self, proved: Option<&str>, announced: Option<&str>) -> Result<()> {
        let Some(s) = self.sync.as_mut() else {
            return Ok(());
        };
        let mut changed = false;
        if let Some(p) = proved {
            if s.next_pin.as_deref() == Some(p) {
                s.pin = p.to_owned();
                s.next_pin = None;
                changed = true;
            }
        }
        if let Some(a) = announced {
            if a != s.pin && s.next_pin.as_deref() != Some(a) && proved == Some(s.pin.as_str()) {
                s.next_pin = Some(a.to_owned());
                changed = true;
            }
        }
        if changed {
            self.save_sync()?;
        }
        Ok(())
    }

    fn roster_stale(&self) -> bool {
        self.sync.as_ref().is_none_or(|s| {
            s.members.is_empty()
                // Signed: fetched until verified once, and while this device waits for
                // a coordinator's approval.
                || (s.org_key.is_some()
                    && (s.org_head.is_none()
                        || !s.members.iter().any(|m| m.signer == self.keys.signer)))
                || s.roster_at
                    .is_none_or(|t| Utc::now() - t > chrono::Duration::hours(24))
        })
    }

    fn apply_roster(&mut self, roster: &Roster) -> Result<()> {
        match self.check_signed(roster)? {
            Some(verified) => self.apply_signed(roster, verified)?,
            None => self.apply_hub_roster(roster)?,
        }
        // Noted only once taken: a refused roster is fetched (and refused) again at
        // every sync, so that the refusal stays in sight.
        let mark = roster_log::mark(&roster.log);
        if self.state()?.log_seen != mark {
            self.state_mut()?.log_seen = mark;
            self.save_sync()?;
        }
        Ok(())
    }

    fn roster_moved(&self, mark: &str) -> bool {
        self.sync.as_ref().is_some_and(|s| s.log_seen != mark)
    }

    fn pending_frames(
        &self,
        skip: &HashSet<Uuid>,
        max_count: usize,
        max_bytes: usize,
    ) -> Result<Vec<Frame>> {
        let mut out = Vec::new();
        let mut bytes = 0;
        for id in self.store.unsynced_versions()? {
            if skip.contains(&id) {
                continue;
            }
            if out.len() >= max_count || bytes >= max_bytes {
                break;
            }
            let Some(ciphertext) = self.store.version(id)? else {
                continue;
            };
            // A damaged version is not sent: the hub must not spread damage.
            let Ok(v) = self.read_version(id, None) else {
                continue;
            };
            let audience = self.routing(if v.audience.is_empty() {
                self.default_audience()
            } else {
                v.audience.clone()
            });
            bytes += ciphertext.len();
            out.push(Frame {
                seq: 0,
                id,
                audience,
                ciphertext,
            });
        }
        Ok(out)
    }

    fn mark_synced(&mut self, ids: &[Uuid]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut writes: Vec<Write> = ids.iter().map(|id| Write::Synced(*id)).collect();
        if let Some(s) = self.sync.as_mut() {
            s.recent.extend_from_slice(ids);
            let extra = s.recent.len().saturating_sub(RECENT);
            s.recent.drain(..extra);
            writes.extend(self.sync_write()?);
        }
        self.store.commit(writes)
    }

    fn hub_check_due(&self) -> bool {
        self.sync.as_ref().is_some_and(|s| {
            s.held_checked_at
                .is_none_or(|t| Utc::now() - t > HUB_CHECK_EVERY)
        })
    }

    fn recent_pushes(&self) -> Vec<Uuid> {
        self.sync
            .as_ref()
            .map(|s| s.recent.clone())
            .unwrap_or_default()
    }

    fn synced_ids(&self) -> Result<(Vec<Uuid>, Vec<BlobJob>)> {
        let versions = self.store.synced_versions()?;
        let mut blobs = Vec::new();
        for (evidence_id, ev, audience) in self.evidence_heads() {
            let path = self.blob_path(ev.blob_id);
            if path.exists() && self.store.blob_synced(ev.blob_id)? {
                blobs.push(BlobJob {
                    evidence_id,
                    blob_id: ev.blob_id,
                    path,
                    sha256: ev.blob_sha256.clone(),
                    audience,
                });
            }
        }
        Ok((versions, blobs))
    }

    fn forget_synced(&mut self, versions: &[Uuid], blobs: &[Uuid]) -> Result<()> {
        let mut writes: Vec<Write> = versions.iter().map(|id| Write::Unsynced(*id)).collect();
        writes.extend(blobs.iter().map(|id| Write::UnsyncedBlob(*id)));
        if let Some(s) = self.sync.as_mut() {
            let lost: HashSet<&Uuid> = versions.iter().collect();
            s.recent.retain(|id| !lost.contains(id));
            writes.extend(self.sync_write()?);
        }
        self.store.commit(writes)
    }

    fn hub_checked(&mut self) -> Result<()> {
        self.state_mut()?.held_checked_at = Some(Utc::now());
        self.save_sync()
    }

    fn ingest(&mut self, frames: Vec<Frame>, cursor: Option<u64>) -> Result<Ingested> {
        self.take_in(frames, cursor)
    }

    fn pending_blobs(&self) -> Result<Vec<BlobJob>> {
        let mut out = Vec::new();
        for (evidence_id, ev, audience) in self.evidence_heads() {
            let path = self.blob_path(ev.blob_id);
            if path.exists() && !self.store.blob_synced(ev.blob_id)? {
                out.push(BlobJob {
                    evidence_id,
                    blob_id: ev.blob_id,
                    path,
                    sha256: ev.blob_sha256.clone(),
                    audience,
                });
            }
        }
        Ok(out)
    }

    fn missing_blobs(&self) -> Vec<BlobJob> {
        self.evidence_heads()
            .into_iter()
            .filter_map(|(evidence_id, ev, audience)| {
                let path = self.blob_path(ev.blob_id);
                (!path.exists()).then(|| BlobJob {
                    evidence_id,
                    blob_id: ev.blob_id,
                    path,
                    sha256: ev.blob_sha256.clone(),
                    audience,
                })
            })
            .collect()
    }

    fn mark_blob_synced(&mut self, job: &BlobJob, detail: &str) -> Result<()> {
        self.store.commit(vec![Write::SyncedBlob(job.blob_id)])?;
        self.log_received_or_sent(job.evidence_id, detail)
    }

    fn log_received_or_sent(&mut self, evidence_id: Uuid, detail: &str) -> Result<()> {
        let ev = self.evidence(evidence_id)?;
        self.append_custody(evidence_id, super::Action::Synced, &ev.sha256, detail)
            .map(|_| ())
    }

    fn record_sync_result(
        &mut self,
        started: DateTime<Utc>,
        result: std::result::Result<Option<String>, String>,
    ) -> Result<()> {
        let s = self.state_mut()?;
        s.last_attempt = Some(started);
        match result {
            Ok(warning) => {
                s.last_success = Some(Utc::now());
                s.last_error = warning;
            }
            Err(e) => s.last_error = Some(e),
        }
        self.save_sync()
    }

    fn install_blob(&mut self, job: &BlobJob, downloaded: &std::path::Path) -> Result<()> {
        fs::rename(downloaded, &job.path)
            .map_err(|e| Error::io("saving a downloaded evidence file", e))?;
        super::sync_dir(job.path.parent().unwrap_or(&self.dir))?;
        self.mark_blob_synced(job, "received from the organisation's hub")
    }
}

/// The gaps of every device's chain, oldest first.
fn gaps(s: &SyncState) -> Vec<Gap> {
    let mut out: Vec<Gap> = s
        .chains
        .iter()
        .flat_map(|(signer, seen)| {
            let device = s
                .members
                .iter()
                .find(|m| &m.signer == signer)
                .map(|m| m.label.clone())
                .unwrap_or_else(|| signer.clone());
            seen.missing.iter().map(move |(from, to, noticed_at)| Gap {
                device: device.clone(),
                from: *from,
                to: *to,
                noticed_at: *noticed_at,
            })
        })
        .collect();
    out.sort_by(|a, b| (a.noticed_at, &a.device).cmp(&(b.noticed_at, &b.device)));
    out
}

fn not_enrolled() -> Error {
    Error::Invalid(
        "this vault is not enrolled with a hub; enroll it with an invite from your organisation"
            .into(),
    )
}

fn parse_recipients(list: &[String]) -> Result<Vec<VaultRecipient>> {
    list.iter()
        .map(|r| {
            r.parse::<VaultRecipient>()
                .map_err(|_| Error::Invalid(format!("'{r}' is not an age recipient")))
        })
        .collect()
}

fn dedup(list: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    list.into_iter()
        .filter(|x| seen.insert(x.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_notes_what_is_missing_before_what_arrived() {
        let now = Utc::now();
        let mut seen = ChainSeen::default();
        for seq in [1, 2, 5, 9] {
            seen.arrived(seq, now);
        }
        let ranges = |s: &ChainSeen| s.missing.iter().map(|m| (m.0, m.1)).collect::<Vec<_>>();
        assert_eq!(seen.max, 9);
        assert_eq!(ranges(&seen), vec![(3, 4), (6, 8)]);
        // Late arrivals close the gaps, splitting a range in two.
        seen.arrived(7, now);
        assert_eq!(ranges(&seen), vec![(3, 4), (6, 6), (8, 8)]);
        for seq in [3, 4, 6, 8] {
            seen.arrived(seq, now);
        }
        assert!(seen.missing.is_empty());
        // Again, or a number far ahead: one range, not one entry per number.
        seen.arrived(9, now);
        seen.arrived(u64::MAX, now);
        assert_eq!(ranges(&seen), vec![(10, u64::MAX - 1)]);
    }
}
