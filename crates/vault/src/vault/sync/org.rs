//! The organisation key and its signed roster, on the device.
//!
//! A coordinator's vault may hold the organisation's Ed25519 key (sealed to the vault
//! like every other local secret, and carried in its key backup shares). Every vault
//! that pinned the key — from its invite, or confirmed by its user against the words
//! the coordinator reads out — verifies the whole roster log at every fetch: signed
//! entry by entry, chained, and extending what it verified before. From then on only
//! that roster decides whom this vault encrypts to (its coordinators) and whose
//! versions it takes in (its devices); what the hub lists beside it is shown, never used.

use chrono::Utc;
use custos_wire::roster_log::{self, Change as LogChange, Entry, LogError, Verified};
use custos_wire::{Role, Roster};
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::{Zeroize, Zeroizing};

use super::{
    base64_decode, base64_encode, parse_recipients, Member, TrustChange, Vault, MAX_CHANGES,
};
use crate::crypto;
use crate::error::{Error, Result};
use crate::store::Write;
use crate::vault::codec::seal_json;

/// Where the organisation key is kept, sealed to the vault.
pub(crate) const META_ORG: &str = "org";

/// The organisation key as stored.
#[derive(Serialize, Deserialize)]
struct OrgKeyFile {
    /// The organisation's name.
    name: String,
    /// The Ed25519 secret (base64).
    secret: String,
}

impl Drop for OrgKeyFile {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
}

/// A device the hub lists that the signed roster does not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unapproved {
    /// The hub's id for it.
    pub device_id: Uuid,
    /// Its label.
    pub label: String,
    /// The role the hub gave it.
    pub role: Role,
    /// Its signing key as words, to compare with what the device shows.
    pub words: String,
}

/// What the sync screen and `custos sync status` show of the organisation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OrgInfo {
    /// True once this vault pinned an organisation key: only its signed roster counts.
    pub signed: bool,
    /// The organisation's name, from the signed roster.
    pub name: Option<String>,
    /// The pinned key as words (compare them with a coordinator's).
    pub words: Option<String>,
    /// The pinned key itself (base64 Ed25519), for a QR code.
    pub key: Option<String>,
    /// Entries of the signed roster this vault verified.
    pub entries: u64,
    /// A key the hub serves that this vault has not pinned, as words: compare them with
    /// a coordinator's before confirming (`custos org confirm`).
    pub offered_words: Option<String>,
    /// True when this vault holds the organisation key (a coordinator's).
    pub holds_key: bool,
    /// True while the signed roster does not list this device: its versions are not
    /// sent until a coordinator approves it.
    pub awaiting_approval: bool,
    /// This device's signing key as words, for the coordinator who approves it.
    pub device_words: String,
    /// Devices the hub lists that the signed roster does not.
    pub unapproved: Vec<Unapproved>,
}

/// A signing key (base64) as words, or an empty string when it is not one.
fn signer_words(signer: &str) -> String {
    roster_log::words_of(signer).unwrap_or_default()
}

impl Vault {
    pub(super) fn org_info(&self, s: &super::SyncState) -> OrgInfo {
        let words = |k: &Option<String>| {
            k.as_deref()
                .and_then(roster_log::parse_key)
                .map(|k| roster_log::words(&k))
        };
        let signed = s.org_key.is_some();
        OrgInfo {
            signed,
            name: s.org_name.clone(),
            words: words(&s.org_key),
            key: s.org_key.clone(),
            entries: s.org_head.as_ref().map_or(0, |h| h.seq),
            offered_words: words(&s.offered_org_key),
            holds_key: self.store.meta(META_ORG).ok().flatten().is_some(),
            awaiting_approval: signed
                && s.org_head.is_some()
                && !s.members.iter().any(|m| m.signer == self.keys.signer),
            device_words: signer_words(&self.keys.signer),
            unapproved: s.unapproved.clone(),
        }
    }

    /// True while this device is enrolled with an organisation that signs its roster
    /// and the roster does not list it yet: what it writes waits on the device.
    pub fn awaiting_approval(&self) -> bool {
        self.sync.as_ref().is_some_and(|s| {
            s.org_key.is_some() && !s.members.iter().any(|m| m.signer == self.keys.signer)
        })
    }

    /// The organisation key, when this vault holds it.
    fn org_signing_key(&self) -> Result<Option<(String, SigningKey)>> {
        let Some(ct) = self.store.meta(META_ORG)? else {
            return Ok(None);
        };
        let plain = crypto::open_bytes(&self.keys.identity, &ct).map_err(|_| {
            Error::Database(
                "the vault's organisation key is damaged and cannot be decrypted".into(),
            )
        })?;
        let file: OrgKeyFile = serde_json::from_slice(&plain)
            .map_err(|_| Error::Database("the vault's organisation key is damaged".into()))?;
        let bytes = base64_decode(&file.secret)
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok().map(Zeroizing::new))
            .ok_or_else(|| Error::Database("the vault's organisation key is damaged".into()))?;
        Ok(Some((file.name.clone(), SigningKey::from_bytes(&bytes))))
    }

    /// Who writes under a version's device id, as the roster names it: this device's
    /// own label for its id, else the label of the device whose signer this vault saw
    /// writing under that id (the id is bound to its signer). None when unknown.
    pub fn device_label(&self, device: Uuid) -> Option<String> {
        let s = self.sync.as_ref()?;
        if device == self.keys.device_id {
            return Some(s.label.clone());
        }
        let signer = s.device_signers.get(&device)?;
        s.members
            .iter()
            .find(|m| &m.signer == signer)
            .map(|m| m.label.clone())
    }

    /// The number of the last version of the device signing with `signer` that this
    /// (coordinator's) vault took in, for a revocation that refuses later ones.
    pub fn last_version_of(&self, signer: &str) -> Option<u64> {
        self.sync
            .as_ref()
            .and_then(|s| s.chains.get(signer))
            .map(|c| c.max)
    }

    /// The words of the organisation key this vault holds (a coordinator's), if any.
    pub fn held_org_words(&self) -> Option<String> {
        self.org_signing_key()
            .ok()
            .flatten()
            .map(|(_, k)| roster_log::words(&k.verifying_key()))
    }

    /// The organisation key's secret bytes, for the key backup shares.
    pub(crate) fn org_secret(&self) -> Result<Option<Zeroizing<[u8; 32]>>> {
        Ok(self
            .org_signing_key()?
            .map(|(_, k)| Zeroizing::new(k.to_bytes())))
    }

    /// Stores the organisation key sealed to this vault.
    pub(crate) fn org_key_write(&self, name: &str, secret: &[u8; 32]) -> Result<Write> {
        let file = OrgKeyFile {
            name: name.to_owned(),
            secret: base64_encode(secret),
        };
        Ok(Write::Meta(
            META_ORG,
            seal_json(&self.keys.recipients, &file)?,
        ))
    }

    /// Creates the organisation key (or takes the one an interrupted creation stored)
    /// and returns the first entries of the signed roster: the genesis, the coordinators
    /// this vault encrypts to, and the devices of the hub's current `roster` — which the
    /// coordinator compared with the organisation's own list before calling this. The
    /// entries are published by `custos-sync`; [`Vault::pin_own_org`] then pins the key.
    pub fn create_org(&mut self, name: &str, roster: &Roster) -> Result<Vec<Entry>> {
        let name = name.trim();
        if name.is_empty() {
            return Err(Error::Invalid("the organisation needs a name".into()));
        }
        let s = self.state()?;
        if s.role != Role::Coordinator {
            return Err(Error::Invalid(
                "only a coordinator's vault creates the organisation key".into(),
            ));
        }
        if s.org_key.is_some() {
            return Err(Error::Invalid(
                "this vault already follows an organisation key".into(),
            ));
        }
        if !roster.log.is_empty() {
            return Err(Error::Invalid(
                "the hub already serves a signed roster: confirm its organisation key \
                 (custos org confirm WORDS) instead of creating another"
                    .into(),
            ));
        }
        let coordinators = s.coordinators.clone();
        let key = match self.org_signing_key()? {
            Some((_, k)) => k,
            None => {
                let k = SigningKey::from_bytes(&crypto::random_bytes::<32>());
                let w = self.org_key_write(name, &k.to_bytes())?;
                self.store.commit(vec![w])?;
                k
            }
        };
        let now = Utc::now();
        let mut log = roster_log::genesis(&key, name, now);
        let mut changes: Vec<LogChange> = coordinators
            .into_iter()
            .map(|recipient| LogChange::Coordinator { recipient })
            .collect();
        for d in roster
            .devices
            .iter()
            .filter(|d| crypto::is_signer(&d.signer))
        {
            changes.push(LogChange::Device {
                device_id: d.device_id,
                signer: d.signer.clone(),
                vault_recipient: d.vault_recipient.clone(),
                role: d.role,
                label: d.label.clone(),
            });
        }
        // Revoked devices stay in the roster as revoked: what they wrote before stays
        // readable, nothing new from them is accepted.
        for d in roster.devices.iter().filter(|d| d.revoked) {
            changes.push(LogChange::Revoke {
                signer: d.signer.clone(),
                after: None,
            });
        }
        for c in changes {
            roster_log::append_by(&mut log, &key, c, now, Some(&self.keys.signer));
        }
        Ok(log)
    }

    /// After the hub stored the roster [`Vault::create_org`] made: this vault follows the
    /// key it holds.
    pub fn pin_own_org(&mut self) -> Result<()> {
        let Some((_, key)) = self.org_signing_key()? else {
            return Err(Error::Invalid(
                "this vault holds no organisation key".into(),
            ));
        };
        let s = self.state_mut()?;
        s.org_key = Some(roster_log::key_text(&key.verifying_key()));
        s.offered_org_key = None;
        self.save_sync()
    }

    /// Signs `changes` as the next entries of the verified roster `log` (the one the
    /// hub just served, which this vault verified). Needs the organisation key.
    pub fn sign_roster_entries(
        &self,
        log: &[Entry],
        changes: Vec<LogChange>,
    ) -> Result<Vec<Entry>> {
        let Some((_, key)) = self.org_signing_key()? else {
            return Err(Error::Invalid(
                "this vault does not hold the organisation key: ask the coordinator who \
                 holds it"
                    .into(),
            ));
        };
        let s = self.state()?;
        let pinned = s.org_key.as_deref().and_then(roster_log::parse_key);
        if pinned != Some(key.verifying_key()) {
            return Err(Error::Invalid(
                "the organisation key this vault holds is not the one it follows".into(),
            ));
        }
        if log.last().map(|e| e.seq) != s.org_head.as_ref().map(|h| h.seq) {
            return Err(Error::Invalid(
                "the roster changed since it was verified; try again".into(),
            ));
        }
        let mut all = log.to_vec();
        let now = Utc::now();
        for c in changes {
            roster_log::append_by(&mut all, &key, c, now, Some(&self.keys.signer));
        }
        Ok(all.split_off(log.len()))
    }

    /// The organisation key sealed to another coordinator's vault (`to`, `age1…`, a
    /// coordinator of the verified roster): a standard age file, carried by hand or
    /// over any channel, which only that vault opens ([`Vault::take_org_key`]).
    pub fn give_org_key(&self, to: &str) -> Result<Vec<u8>> {
        let Some((name, key)) = self.org_signing_key()? else {
            return Err(Error::Invalid(
                "this vault holds no organisation key".into(),
            ));
        };
        let s = self.state()?;
        if s.org_key.is_none() || !s.coordinators.iter().any(|c| c == to) {
            return Err(Error::Invalid(format!(
                "'{to}' is not a coordinator of the signed roster: add it first (custos org \
                 add-coordinator), then give it the key"
            )));
        }
        let recipient: crypto::VaultRecipient = to
            .parse()
            .map_err(|_| Error::Invalid(format!("'{to}' is not an age recipient")))?;
        let file = OrgKeyFile {
            name,
            secret: base64_encode(&key.to_bytes()[..]),
        };
        seal_json(&[recipient], &file)
    }

    /// Takes the organisation key another coordinator gave this vault
    /// ([`Vault::give_org_key`]): it must open with this vault's key and be the key this
    /// vault follows. → its words.
    pub fn take_org_key(&mut self, sealed: &[u8]) -> Result<String> {
        let plain = crypto::open_bytes(&self.keys.identity, sealed).map_err(|_| {
            Error::Invalid(
                "this file is not an organisation key given to this vault (it does not open \
                 with its key)"
                    .into(),
            )
        })?;
        let file: OrgKeyFile = serde_json::from_slice(&plain)
            .map_err(|_| Error::Invalid("this file is not an organisation key".into()))?;
        let bytes = base64_decode(&file.secret)
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok().map(Zeroizing::new))
            .ok_or_else(|| Error::Invalid("this file is not an organisation key".into()))?;
        let key = SigningKey::from_bytes(&bytes);
        let words = roster_log::words(&key.verifying_key());
        let pinned = self
            .state()?
            .org_key
            .as_deref()
            .and_then(roster_log::parse_key);
        if pinned != Some(key.verifying_key()) {
            return Err(Error::Invalid(format!(
                "this is not the organisation key this vault follows (its words: {words})"
            )));
        }
        let w = self.org_key_write(&file.name, &bytes)?;
        self.store.commit(vec![w])?;
        Ok(words)
    }

    /// Pins the organisation key the hub offers, once the user compared its words with
    /// a coordinator's (read out in person, or over a channel the hub does not carry).
    /// `words` must be those words. Also how a changed organisation key is accepted.
    pub fn confirm_org_key(&mut self, words: &str) -> Result<()> {
        let s = self.state_mut()?;
        let Some(offered) = s.offered_org_key.clone() else {
            return Err(Error::Invalid(
                "the hub has not offered an organisation key to confirm (sync first)".into(),
            ));
        };
        let key = roster_log::parse_key(&offered)
            .ok_or_else(|| Error::Database("the vault's sync settings are damaged".into()))?;
        if !roster_log::same_words(words, &roster_log::words(&key)) {
            return Err(Error::Invalid(
                "these words are not the organisation key's the hub offers: do not confirm \
                 it, and tell your coordinator"
                    .into(),
            ));
        }
        let changed = s.org_key.is_some();
        s.org_key = Some(offered);
        s.offered_org_key = None;
        // A new key starts a new log: what was verified under the old one says nothing.
        s.org_head = None;
        s.changes.push(TrustChange {
            by: None,
            signed_at: None,
            at: Utc::now(),
            what: if changed {
                "organisation_key_changed".into()
            } else {
                "organisation_key_confirmed".into()
            },
            who: roster_log::words(&key),
            role: None,
        });
        self.save_sync()
    }

    /// Checks the hub's roster against the pinned organisation key. `None` when this
    /// vault pinned none (then the hub's roster is taken as before, and a key the hub
    /// serves is offered to the user); the verified roster otherwise; an error — noted
    /// in the trust changes — when it does not verify.
    pub(super) fn check_signed(&mut self, roster: &Roster) -> Result<Option<Verified>> {
        let s = self.state()?;
        let Some(pinned) = s.org_key.clone() else {
            if let Some(k) = roster_log::genesis_key(&roster.log) {
                let text = roster_log::key_text(&k);
                if s.offered_org_key.as_deref() != Some(text.as_str()) {
                    let s = self.state_mut()?;
                    s.offered_org_key = Some(text);
                    note(s, "organisation_key_offered", roster_log::words(&k), None);
                    self.save_sync()?;
                }
            }
            return Ok(None);
        };
        let key = roster_log::parse_key(&pinned)
            .ok_or_else(|| Error::Database("the vault's sync settings are damaged".into()))?;
        if roster.log.is_empty() {
            return Err(self.roster_refused(
                "the hub serves no signed roster, though this organisation signs it: it was \
                 restored from an old backup, replaced, or is lying. Nothing it listed was \
                 taken; tell your coordinator"
                    .into(),
            ));
        }
        // A coordinator reads every device's versions: the hub owes it the whole log. A
        // withheld entry here is the hub hiding a device (or a change) from the one
        // role that must see it.
        if s.role == Role::Coordinator && roster.log.iter().any(Entry::is_withheld) {
            return Err(self.roster_refused(
                "the hub withholds roster entries from a coordinator, who must see them all. \
                 Nothing of it was taken; tell your organisation"
                    .into(),
            ));
        }
        let head = s.org_head.clone();
        match roster_log::verify(&key, head.as_ref(), &roster.log) {
            Ok(v) => Ok(Some(v)),
            Err(LogError::WrongOrganisation) => {
                let other = roster_log::genesis_key(&roster.log).filter(|k| *k != key);
                let why = match other {
                    Some(k) => {
                        let words = roster_log::words(&k);
                        self.state_mut()?.offered_org_key = Some(roster_log::key_text(&k));
                        format!(
                            "the hub serves a roster signed by another organisation key \
                             ({words}). Nothing of it was taken. If your coordinator tells \
                             you, in person, that the key changed and reads you these words, \
                             confirm it (custos org confirm); otherwise the hub is \
                             hostile"
                        )
                    }
                    None => format!(
                        "the hub's roster is refused: {}",
                        LogError::WrongOrganisation
                    ),
                };
                Err(self.roster_refused(why))
            }
            Err(e) => Err(self.roster_refused(format!(
                "the hub's roster is refused: {e}. Nothing of it was taken; tell your \
                 coordinator"
            ))),
        }
    }

    /// Notes a refused roster in the trust changes and returns the error to stop on.
    fn roster_refused(&mut self, why: String) -> Error {
        if let Ok(s) = self.state_mut() {
            let again = s
                .changes
                .last()
                .is_some_and(|c| c.what == "roster_refused" && c.who == why);
            if !again {
                note(s, "roster_refused", why.clone(), None);
            }
        }
        if let Err(e) = self.save_sync() {
            return e;
        }
        Error::RosterRefused(why)
    }

    /// Takes in a verified roster: its coordinators are whom this vault encrypts to,
    /// its devices whose versions it accepts. What the hub lists beside it is noted.
    pub(super) fn apply_signed(&mut self, roster: &Roster, v: Verified) -> Result<()> {
        let own = self.own();
        let me = self.keys.signer.clone();
        let now = Utc::now();
        let s = self.state()?;
        let coordinator = s.role == Role::Coordinator;
        let first = s.org_head.is_none();
        let quiet = s.members.is_empty();
        type Signed = Option<(Option<String>, chrono::DateTime<Utc>)>;
        let mut changes: Vec<(String, String, Option<Role>, Signed)> = Vec::new();
        // The entry that made a change: who signed it (the label of the coordinator's
        // device, from the roster), and when.
        let signed_by = |matches: &dyn Fn(&LogChange) -> bool| {
            roster
                .log
                .iter()
                .rev()
                .find(|e| matches(&e.change))
                .map(|e| {
                    let by = e.by.as_ref().map(|signer| {
                        v.devices
                            .iter()
                            .find(|d| &d.signer == signer)
                            .map_or_else(|| signer_words(signer), |d| d.label.clone())
                    });
                    (by, e.at)
                })
        };
        for c in v
            .coordinators
            .iter()
            .filter(|c| !s.coordinators.contains(c))
        {
            if !quiet {
                let signed = signed_by(
                    &|e| matches!(e, LogChange::Coordinator { recipient } if recipient == c),
                );
                changes.push(("coordinator_added".into(), c.clone(), None, signed));
            }
        }
        for c in s
            .coordinators
            .iter()
            .filter(|c| !v.coordinators.contains(c))
        {
            let signed = signed_by(
                &|e| matches!(e, LogChange::RemoveCoordinator { recipient } if recipient == c),
            );
            changes.push(("coordinator_removed".into(), c.clone(), None, signed));
        }
        // What the hub lists that the organisation did not sign: shown once, never used.
        let mut unsigned = Vec::new();
        for c in &roster.coordinators {
            if !v.coordinators.contains(c)
                && !s.refused_coordinators.contains(c)
                && !unsigned.contains(c)
            {
                changes.push(("coordinator_unsigned".into(), c.clone(), None, None));
                unsigned.push(c.clone());
            }
        }
        let signed_signers: Vec<&str> = v.devices.iter().map(|d| d.signer.as_str()).collect();
        let unapproved: Vec<Unapproved> = roster
            .devices
            .iter()
            .filter(|d| !d.revoked && !signed_signers.contains(&d.signer.as_str()))
            .map(|d| Unapproved {
                device_id: d.device_id,
                label: d.label.clone(),
                role: d.role,
                words: signer_words(&d.signer),
            })
            .collect();
        for d in v.devices.iter().filter(|d| d.revoked) {
            if s.members.iter().any(|m| m.signer == d.signer && !m.revoked) {
                let signed = signed_by(
                    &|e| matches!(e, LogChange::Revoke { signer, .. } if *signer == d.signer),
                );
                changes.push((
                    "device_revoked".into(),
                    d.label.clone(),
                    Some(d.role),
                    signed,
                ));
            }
        }
        let mut changed_keys = false;
        for d in v.devices.iter().filter(|d| {
            coordinator
                || (d.role == Role::Coordinator && v.coordinators.contains(&d.vault_recipient))
                || d.vault_recipient == own
        }) {
            if !self.keys.trusted.contains(&d.signer) && crypto::is_signer(&d.signer) {
                self.keys.trusted.push(d.signer.clone());
                changed_keys = true;
                if !quiet && d.signer != me {
                    let signed = signed_by(
                        &|e| matches!(e, LogChange::Device { signer, .. } if *signer == d.signer),
                    );
                    changes.push((
                        "device_accepted".into(),
                        d.label.clone(),
                        Some(d.role),
                        signed,
                    ));
                }
            }
        }
        let org = parse_recipients(&v.coordinators)?;
        {
            let s = self.state_mut()?;
            s.coordinators = v.coordinators.clone();
            s.pending_coordinators.clear();
            s.refused_coordinators.extend(unsigned);
            s.revoked_signers = v
                .devices
                .iter()
                .filter(|d| d.revoked)
                .map(|d| d.signer.clone())
                .collect();
            s.members = v
                .devices
                .iter()
                .map(|d| Member {
                    signer: d.signer.clone(),
                    vault_recipient: d.vault_recipient.clone(),
                    role: d.role,
                    revoked: d.revoked,
                    label: d.label.clone(),
                    revoked_after: d.revoked_after,
                })
                .collect();
            s.unapproved = unapproved;
            s.roster_at = Some(now);
            s.org_name = Some(v.name.clone());
            s.org_head = Some(v.head.clone());
            for (what, who, role, signed) in changes {
                note_signed(s, &what, who, role, signed);
            }
        }
        self.keys.org = org;
        let mut writes = Vec::new();
        if changed_keys {
            writes.push(self.keyring_write()?);
        }
        writes.extend(self.sync_write()?);
        self.store.commit(writes)?;
        // Enrolled with an invite that named the organisation key: what this vault wrote
        // before enrollment is sealed to the coordinators the organisation signed, now.
        if first && !self.keys.org.is_empty() {
            self.reseal_for_org()?;
        }
        Ok(())
    }
}

/// Adds a trust change, keeping at most [`MAX_CHANGES`].
fn note(s: &mut super::SyncState, what: &str, who: String, role: Option<Role>) {
    note_signed(s, what, who, role, None);
}

/// [`note`] for a change the organisation signed in `entry` (by whom, when), with the
/// roster's devices to name the signer.
fn note_signed(
    s: &mut super::SyncState,
    what: &str,
    who: String,
    role: Option<Role>,
    signed: Option<(Option<String>, chrono::DateTime<Utc>)>,
) {
    let (by, signed_at) = match signed {
        Some((by, at)) => (by, Some(at)),
        None => (None, None),
    };
    s.changes.push(TrustChange {
        at: Utc::now(),
        what: what.into(),
        who,
        role,
        by,
        signed_at,
    });
    let extra = s.changes.len().saturating_sub(MAX_CHANGES);
    s.changes.drain(..extra);
}
