//! The organisation's roster as a signed, hash-chained, append-only log: who reads
//! (coordinator recipients), whose versions are accepted (devices), revocations and
//! settings — each entry signed with the organisation's own Ed25519 key, which the hub
//! never holds. The hub stores and relays the log; it cannot add, change, reorder, drop
//! or fork an entry without [`verify`] saying so.
//!
//! A device pins the organisation key (from its invite, or confirmed by its user for a
//! device enrolled before the organisation signed its roster) and from then on verifies
//! the whole log at every roster fetch against that key and the head it verified last.
//!
//! An entry is signed over its canonical bytes: its JSON without `sig`, in field order.
//! `prev` is the SHA-256 of the previous entry's canonical bytes *with* its signature
//! (all zeros for the first), so a signature cannot be swapped without breaking the chain.
//!
//! A field device receives another vault's devices (and their revocations) only as
//! *withheld* stubs, `{"seq", "prev", "withheld": <the entry's hash>}` ([`Entry::withheld`]):
//! [`verify`] takes a stub as a link of the chain — the next entry's `prev`, which the
//! organisation signed, must equal its hash, so a hub cannot forge one — and draws
//! nothing from it. A stub reveals that an entry exists, its number, and (through its
//! neighbours) about when it was signed; nothing of what it says.

use std::collections::{HashMap, HashSet};

use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use base64::Engine;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::Role;

/// What one entry changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// The first entry: the organisation's name and key. Its signer is that key.
    Genesis {
        /// The organisation's name.
        name: String,
        /// The organisation's Ed25519 public key (base64).
        key: String,
    },
    /// A coordinator recipient: every device encrypts to it.
    Coordinator {
        /// The age recipient.
        recipient: String,
    },
    /// A device whose versions are accepted, for the vault it names.
    Device {
        /// The hub's id for it.
        device_id: Uuid,
        /// Its Ed25519 signing key (base64).
        signer: String,
        /// Its vault's age recipient.
        vault_recipient: String,
        /// What it may read.
        role: Role,
        /// Its label.
        label: String,
    },
    /// A device no longer accepted.
    Revoke {
        /// The revoked device's signing key.
        signer: String,
        /// The number of the last version of that device the organisation accepts (of
        /// its chain, `Version::chain`): a later one — the device in a thief's hands, a
        /// hub that ignores the revocation — is refused. None: as far as the hub lets it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<u64>,
    },
    /// A coordinator recipient no longer encrypted to.
    RemoveCoordinator {
        /// The age recipient.
        recipient: String,
    },
    /// An entry this device does not receive (another vault's device, or its
    /// revocation): only its hash, the next entry's `prev`. Never signed by anyone; on
    /// the wire it is the stub `{"seq", "prev", "withheld"}` ([`Entry::withheld`]).
    #[serde(skip)]
    Withheld {
        /// The whole entry's hash ([`Entry::hash`]).
        hash: String,
    },
}

/// One signed entry, or a withheld stub of one ([`Change::Withheld`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// 1 for the genesis, then one more for each entry.
    pub seq: u64,
    /// SHA-256 (hex) of the previous entry, signature included; zeros for the genesis.
    pub prev: String,
    /// When the organisation signed it.
    pub at: DateTime<Utc>,
    /// What it changes.
    pub change: Change,
    /// The signing key of the coordinator's device that signed it (covered by the
    /// signature): devices show who made each change.
    pub by: Option<String>,
    /// The organisation key's signature of the canonical bytes (base64).
    pub sig: String,
}

/// A signed entry as JSON, in field order (its canonical bytes, without `sig`, are what
/// the organisation key signs).
#[derive(Serialize)]
struct SignedRef<'a> {
    seq: u64,
    prev: &'a str,
    at: &'a DateTime<Utc>,
    #[serde(flatten)]
    change: &'a Change,
    #[serde(skip_serializing_if = "no_signer")]
    by: &'a Option<String>,
    #[serde(skip_serializing_if = "no_signature")]
    sig: &'a str,
}

fn no_signer(by: &&Option<String>) -> bool {
    by.is_none()
}

fn no_signature(sig: &&str) -> bool {
    sig.is_empty()
}

#[derive(Deserialize)]
struct SignedOwned {
    seq: u64,
    prev: String,
    at: DateTime<Utc>,
    #[serde(flatten)]
    change: Change,
    #[serde(default)]
    by: Option<String>,
    #[serde(default)]
    sig: String,
}

/// A withheld entry on the wire: its number, its link, its hash; nothing else.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stub {
    seq: u64,
    prev: String,
    withheld: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Wire {
    Stub(Stub),
    Signed(SignedOwned),
}

impl Serialize for Entry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.change {
            Change::Withheld { hash } => Stub {
                seq: self.seq,
                prev: self.prev.clone(),
                withheld: hash.clone(),
            }
            .serialize(s),
            change => SignedRef {
                seq: self.seq,
                prev: &self.prev,
                at: &self.at,
                change,
                by: &self.by,
                sig: &self.sig,
            }
            .serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Wire::deserialize(d)? {
            Wire::Stub(s) => Entry {
                seq: s.seq,
                prev: s.prev,
                at: DateTime::<Utc>::UNIX_EPOCH,
                change: Change::Withheld { hash: s.withheld },
                by: None,
                sig: String::new(),
            },
            Wire::Signed(e) => Entry {
                seq: e.seq,
                prev: e.prev,
                at: e.at,
                change: e.change,
                by: e.by,
                sig: e.sig,
            },
        })
    }
}

impl Entry {
    /// The bytes the organisation key signs: the entry's JSON without `sig`.
    pub fn canonical(&self) -> Vec<u8> {
        let mut unsigned = self.clone();
        unsigned.sig.clear();
        serde_json::to_vec(&unsigned).unwrap_or_default()
    }

    /// SHA-256 (hex) of the signed entry: the next entry's `prev`. A withheld stub
    /// names the hash of the entry it stands for.
    pub fn hash(&self) -> String {
        if let Change::Withheld { hash } = &self.change {
            return hash.clone();
        }
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        hex(&Sha256::digest(bytes))
    }

    /// The stub a device receives instead of this entry: its number, its link and its
    /// hash, nothing of what it says or when.
    pub fn withheld(&self) -> Entry {
        Entry {
            seq: self.seq,
            prev: self.prev.clone(),
            at: DateTime::<Utc>::UNIX_EPOCH,
            change: Change::Withheld { hash: self.hash() },
            by: None,
            sig: String::new(),
        }
    }

    /// True for a withheld stub.
    pub fn is_withheld(&self) -> bool {
        matches!(self.change, Change::Withheld { .. })
    }
}

/// The organisation key's fingerprint: SHA-256 of the public key, hex.
pub fn fingerprint(org_key: &VerifyingKey) -> String {
    hex(&Sha256::digest(org_key.as_bytes()))
}

/// How many words people compare: 8 words of 11 bits, the first 88 bits of the
/// fingerprint (a forger must find a key whose SHA-256 starts with the same 88 bits).
pub const WORDS: usize = 8;

/// The organisation key as people compare it: [`WORDS`] words of the BIP-39 English
/// list, from the first 88 bits of its fingerprint.
pub fn words(org_key: &VerifyingKey) -> String {
    let digest = Sha256::digest(org_key.as_bytes());
    let list = bip39::Language::English.word_list();
    let mut bits: u128 = 0;
    for b in &digest[..11] {
        bits = (bits << 8) | u128::from(*b);
    }
    (0..WORDS)
        .map(|i| list[((bits >> (11 * (WORDS - 1 - i))) & 0x7ff) as usize])
        .collect::<Vec<_>>()
        .join(" ")
}

/// A signing key written as text (a device's signer, the organisation key) as the
/// words people compare; None when the text is not a key.
pub fn words_of(key_text: &str) -> Option<String> {
    parse_key(key_text).map(|k| words(&k))
}

/// True when `typed` are the words `expected`, as people type them: any case, words
/// separated by spaces, commas or hyphens.
pub fn same_words(typed: &str, expected: &str) -> bool {
    let typed = typed
        .split(|c: char| c.is_whitespace() || c == ',' || c == '-')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>();
    !typed.is_empty() && typed.join(" ") == expected
}

/// The organisation key as text (base64), as invites and the genesis carry it.
pub fn key_text(org_key: &VerifyingKey) -> String {
    B64.encode(org_key.as_bytes())
}

/// Reads an organisation key written by [`key_text`].
pub fn parse_key(text: &str) -> Option<VerifyingKey> {
    let bytes = B64.decode(text.trim().trim_end_matches('=')).ok()?;
    VerifyingKey::from_bytes(&<[u8; 32]>::try_from(bytes.as_slice()).ok()?).ok()
}

/// The key a log's genesis names (not yet checked against anything).
pub fn genesis_key(log: &[Entry]) -> Option<VerifyingKey> {
    match &log.first()?.change {
        Change::Genesis { key, .. } => parse_key(key),
        _ => None,
    }
}

/// A short mark of where a log stands — its number of entries and the start of its last
/// entry's hash — which the hub sends on every answer (`custos-roster`), so that a
/// device fetches the roster again when it changed. Only a hint: a hub that lies in it
/// delays what a device learns, and changes nothing of what it verified.
pub fn mark(log: &[Entry]) -> String {
    match log.last() {
        None => "0".into(),
        Some(e) => format!("{}:{}", e.seq, &e.hash()[..16]),
    }
}

/// A new organisation's log: its genesis, signed with its key.
pub fn genesis(org: &SigningKey, name: &str, at: DateTime<Utc>) -> Vec<Entry> {
    let mut log = Vec::new();
    append(
        &mut log,
        org,
        Change::Genesis {
            name: name.to_owned(),
            key: key_text(&org.verifying_key()),
        },
        at,
    );
    log
}

/// Appends a signed entry with `change` to `log`.
pub fn append(log: &mut Vec<Entry>, org: &SigningKey, change: Change, at: DateTime<Utc>) {
    append_by(log, org, change, at, None);
}

/// [`append`], naming the coordinator's device that signs (`by`: its signing key).
pub fn append_by(
    log: &mut Vec<Entry>,
    org: &SigningKey,
    change: Change,
    at: DateTime<Utc>,
    by: Option<&str>,
) {
    let (seq, prev) = match log.last() {
        Some(e) => (e.seq + 1, e.hash()),
        None => (1, "0".repeat(64)),
    };
    let mut entry = Entry {
        seq,
        prev,
        at,
        change,
        by: by.map(str::to_owned),
        sig: String::new(),
    };
    entry.sig = B64.encode(org.sign(&entry.canonical()).to_bytes());
    log.push(entry);
}

/// Where a device's copy of the log stands: what it verified last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// The last entry's number.
    pub seq: u64,
    /// Its hash.
    pub hash: String,
}

/// Why a log is refused. Each says what the hub (or whoever wrote the log) did.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    /// The log is empty, or does not start with a genesis signed by the key expected.
    #[error("the roster does not start with the organisation key this device knows")]
    WrongOrganisation,
    /// An entry's signature does not verify with the organisation key.
    #[error("roster entry {0} is not signed by the organisation key: forged or altered")]
    Forged(u64),
    /// An entry's number or link to the previous one is wrong.
    #[error("roster entry {0} does not follow the one before it: entries were reordered, removed or inserted")]
    Broken(u64),
    /// The log is shorter than what this device verified before.
    #[error("the roster ends at entry {got}, before entry {had} this device verified: entries were dropped (a restore, or a lie)")]
    Truncated {
        /// The device's head.
        had: u64,
        /// The log's last entry.
        got: u64,
    },
    /// The entry at this device's head differs from the one it verified.
    #[error("roster entry {0} differs from the one this device verified: the roster was forked")]
    Forked(u64),
    /// An entry that makes no sense (a second genesis, a key that is not one).
    #[error("roster entry {0} is malformed")]
    Malformed(u64),
}

/// A device of the verified roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedDevice {
    /// The hub's id for it.
    pub device_id: Uuid,
    /// Its signing key.
    pub signer: String,
    /// Its vault's recipient.
    pub vault_recipient: String,
    /// What it may read.
    pub role: Role,
    /// Its label.
    pub label: String,
    /// True once revoked.
    pub revoked: bool,
    /// Once revoked: the number of its last version the organisation accepts.
    pub revoked_after: Option<u64>,
}

/// The organisation as a verified log says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The organisation's name.
    pub name: String,
    /// The coordinator recipients, in the order added.
    pub coordinators: Vec<String>,
    /// The devices, in the order added.
    pub devices: Vec<VerifiedDevice>,
    /// The log's head, for the next check.
    pub head: Head,
}

/// Checks a whole log against the organisation key (`org`) and, when this device
/// verified the log before, against its head then: every entry signed by the key,
/// numbered from 1 without gaps, each linked to the one before; not shorter than the
/// head, and with the same entry at the head's number. A withheld stub (not the
/// genesis) is a link whose hash the next entry's signed `prev` must equal; nothing is
/// drawn from it. (A stub at the end is checked by the entry that follows it later: a
/// false one then shows as a fork.)
pub fn verify(
    org: &VerifyingKey,
    before: Option<&Head>,
    log: &[Entry],
) -> Result<Verified, LogError> {
    let Some(first) = log.first() else {
        return Err(LogError::WrongOrganisation);
    };
    let Change::Genesis { name, key } = &first.change else {
        return Err(LogError::WrongOrganisation);
    };
    if parse_key(key).as_ref() != Some(org) {
        return Err(LogError::WrongOrganisation);
    }
    let mut out = Verified {
        name: name.clone(),
        coordinators: Vec::new(),
        devices: Vec::new(),
        head: Head {
            seq: 0,
            hash: String::new(),
        },
    };
    let mut by_signer: HashMap<String, usize> = HashMap::new();
    let mut coordinators: HashSet<String> = HashSet::new();
    let mut prev = "0".repeat(64);
    for (i, e) in log.iter().enumerate() {
        let n = i as u64 + 1;
        if e.seq != n || e.prev != prev {
            return Err(LogError::Broken(e.seq));
        }
        if let Change::Withheld { hash } = &e.change {
            if n == 1 {
                return Err(LogError::WrongOrganisation);
            }
            if hash.len() != 64 || !hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                return Err(LogError::Malformed(n));
            }
            prev = hash.clone();
            if let Some(h) = before {
                if n == h.seq && prev != h.hash {
                    return Err(LogError::Forked(n));
                }
            }
            continue;
        }
        let sig = B64
            .decode(e.sig.trim_end_matches('='))
            .ok()
            .and_then(|s| <[u8; 64]>::try_from(s.as_slice()).ok())
            .map(|s| Signature::from_bytes(&s));
        match sig {
            Some(sig) if org.verify(&e.canonical(), &sig).is_ok() => {}
            _ if n == 1 => return Err(LogError::WrongOrganisation),
            _ => return Err(LogError::Forged(n)),
        }
        match &e.change {
            Change::Genesis { .. } if n == 1 => {}
            Change::Genesis { .. } => return Err(LogError::Malformed(n)),
            Change::Coordinator { recipient } => {
                if recipient.parse::<age::x25519::Recipient>().is_err() {
                    return Err(LogError::Malformed(n));
                }
                if coordinators.insert(recipient.clone()) {
                    out.coordinators.push(recipient.clone());
                }
            }
            Change::RemoveCoordinator { recipient } => {
                coordinators.remove(recipient);
                out.coordinators.retain(|c| c != recipient);
            }
            Change::Device {
                device_id,
                signer,
                vault_recipient,
                role,
                label,
            } => {
                if vault_recipient.parse::<age::x25519::Recipient>().is_err()
                    || by_signer.contains_key(signer)
                {
                    return Err(LogError::Malformed(n));
                }
                by_signer.insert(signer.clone(), out.devices.len());
                out.devices.push(VerifiedDevice {
                    device_id: *device_id,
                    signer: signer.clone(),
                    vault_recipient: vault_recipient.clone(),
                    role: *role,
                    label: label.clone(),
                    revoked: false,
                    revoked_after: None,
                });
            }
            Change::Withheld { .. } => return Err(LogError::Malformed(n)),
            Change::Revoke { signer, after } => match by_signer.get(signer) {
                Some(at) => {
                    out.devices[*at].revoked = true;
                    out.devices[*at].revoked_after = *after;
                }
                None => return Err(LogError::Malformed(n)),
            },
        }
        prev = e.hash();
        if let Some(h) = before {
            if n == h.seq && prev != h.hash {
                return Err(LogError::Forked(n));
            }
        }
    }
    let last = log.len() as u64;
    if let Some(h) = before {
        if last < h.seq {
            return Err(LogError::Truncated {
                had: h.seq,
                got: last,
            });
        }
    }
    out.head = Head {
        seq: last,
        hash: prev,
    };
    Ok(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        let mut seed = [0u8; 32];
        distinct(&mut seed);
        SigningKey::from_bytes(&seed)
    }

    fn distinct(buf: &mut [u8]) {
        // The tests need distinct keys, not secret ones: derived from a counter.
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(1);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let d = Sha256::digest(n.to_be_bytes());
        buf.copy_from_slice(&d[..buf.len()]);
    }

    fn recipient() -> String {
        age::x25519::Identity::generate().to_public().to_string()
    }

    fn device(label: &str, role: Role) -> Change {
        Change::Device {
            device_id: Uuid::new_v4(),
            signer: B64.encode(key().verifying_key().as_bytes()),
            vault_recipient: recipient(),
            role,
            label: label.into(),
        }
    }

    fn org_log(org: &SigningKey) -> Vec<Entry> {
        let now = Utc::now();
        let mut log = genesis(org, "Observatory", now);
        append(
            &mut log,
            org,
            Change::Coordinator {
                recipient: recipient(),
            },
            now,
        );
        append(
            &mut log,
            org,
            device("coordinator laptop", Role::Coordinator),
            now,
        );
        append(&mut log, org, device("field A", Role::Field), now);
        log
    }

    #[test]
    fn a_log_signed_by_the_organisation_verifies_and_says_who_is_in_it() {
        let org = key();
        let mut log = org_log(&org);
        let v = verify(&org.verifying_key(), None, &log).unwrap();
        assert_eq!(v.name, "Observatory");
        assert_eq!(v.coordinators.len(), 1);
        assert_eq!(v.devices.len(), 2);
        assert_eq!(v.head.seq, 4);
        // Appending, then revoking: the earlier head is a prefix, the new one verifies.
        let Change::Device { signer, .. } = log[3].change.clone() else {
            unreachable!()
        };
        append(
            &mut log,
            &org,
            Change::Revoke {
                signer,
                after: Some(7),
            },
            Utc::now(),
        );
        let later = verify(&org.verifying_key(), Some(&v.head), &log).unwrap();
        assert!(later.devices[1].revoked);
        assert_eq!(later.devices[1].revoked_after, Some(7));
        assert_eq!(later.head.seq, 5);
    }

    #[test]
    fn a_hub_cannot_add_change_reorder_drop_or_fork_an_entry() {
        let org = key();
        let pk = org.verifying_key();
        let log = org_log(&org);
        let head = verify(&pk, None, &log).unwrap().head;

        // Added: the operator signs a coordinator of their own with their own key.
        let mut added = log.clone();
        append(
            &mut added,
            &key(),
            Change::Coordinator {
                recipient: recipient(),
            },
            Utc::now(),
        );
        assert_eq!(verify(&pk, Some(&head), &added), Err(LogError::Forged(5)));

        // Changed: a device's vault recipient swapped, signature kept.
        let mut changed = log.clone();
        if let Change::Device {
            vault_recipient, ..
        } = &mut changed[3].change
        {
            *vault_recipient = recipient();
        }
        assert_eq!(verify(&pk, None, &changed), Err(LogError::Forged(4)));

        // Reordered.
        let mut reordered = log.clone();
        reordered.swap(2, 3);
        assert!(matches!(
            verify(&pk, None, &reordered),
            Err(LogError::Broken(_))
        ));

        // Dropped in the middle, or at the end (against what the device verified).
        let mut dropped = log.clone();
        dropped.remove(2);
        assert!(matches!(
            verify(&pk, None, &dropped),
            Err(LogError::Broken(_))
        ));
        let truncated = &log[..3];
        assert_eq!(
            verify(&pk, Some(&head), truncated),
            Err(LogError::Truncated { had: 4, got: 3 })
        );

        // Forked: the organisation key signed two different fourth entries (a stolen
        // key, or two coordinators at once), and the hub shows this device the other.
        let mut fork = log[..3].to_vec();
        append(&mut fork, &org, device("field B", Role::Field), Utc::now());
        assert!(verify(&pk, None, &fork).is_ok(), "valid on its own");
        assert_eq!(verify(&pk, Some(&head), &fork), Err(LogError::Forked(4)));

        // Another organisation's log.
        let other = org_log(&key());
        assert_eq!(verify(&pk, None, &other), Err(LogError::WrongOrganisation));
        assert_eq!(verify(&pk, None, &[]), Err(LogError::WrongOrganisation));
    }

    #[test]
    fn malformed_entries_are_refused() {
        let org = key();
        let pk = org.verifying_key();
        let mut log = org_log(&org);
        append(
            &mut log,
            &org,
            Change::Genesis {
                name: "again".into(),
                key: key_text(&pk),
            },
            Utc::now(),
        );
        assert_eq!(verify(&pk, None, &log), Err(LogError::Malformed(5)));
        let mut log = org_log(&org);
        append(
            &mut log,
            &org,
            Change::Revoke {
                signer: "nobody".into(),
                after: None,
            },
            Utc::now(),
        );
        assert_eq!(verify(&pk, None, &log), Err(LogError::Malformed(5)));
        let mut log = org_log(&org);
        append(
            &mut log,
            &org,
            Change::Coordinator {
                recipient: "age1nope".into(),
            },
            Utc::now(),
        );
        assert_eq!(verify(&pk, None, &log), Err(LogError::Malformed(5)));
        // The JSON round trip keeps every signature valid.
        let log = org_log(&org);
        let text = serde_json::to_string(&log).unwrap();
        let back: Vec<Entry> = serde_json::from_str(&text).unwrap();
        assert!(verify(&pk, None, &back).is_ok());
        assert_eq!(fingerprint(&pk).len(), 64);
    }

    #[test]
    fn a_genesis_naming_another_key_is_not_the_organisation() {
        let org = key();
        let pk = org.verifying_key();
        // The operator's key signs a genesis that names the organisation's key.
        let thief = key();
        let mut log = Vec::new();
        append(
            &mut log,
            &thief,
            Change::Genesis {
                name: "Observatory".into(),
                key: key_text(&pk),
            },
            Utc::now(),
        );
        assert_eq!(verify(&pk, None, &log), Err(LogError::WrongOrganisation));
        // The organisation's key signs a genesis naming the thief's key.
        let mut log = Vec::new();
        append(
            &mut log,
            &org,
            Change::Genesis {
                name: "Observatory".into(),
                key: key_text(&thief.verifying_key()),
            },
            Utc::now(),
        );
        assert_eq!(verify(&pk, None, &log), Err(LogError::WrongOrganisation));
        assert_eq!(genesis_key(&genesis(&org, "O", Utc::now())), Some(pk));
        assert_eq!(parse_key(&key_text(&pk)), Some(pk));
        assert_eq!(parse_key("not a key"), None);
    }

    #[test]
    fn who_signed_an_entry_is_covered_by_its_signature() {
        let org = key();
        let pk = org.verifying_key();
        let mut log = genesis(&org, "Observatory", Utc::now());
        let by = key_text(&key().verifying_key());
        append_by(
            &mut log,
            &org,
            Change::Coordinator {
                recipient: recipient(),
            },
            Utc::now(),
            Some(&by),
        );
        assert!(verify(&pk, None, &log).is_ok());
        let mut changed = log.clone();
        changed[1].by = Some(key_text(&key().verifying_key()));
        assert_eq!(verify(&pk, None, &changed), Err(LogError::Forged(2)));
    }

    /// The log with every device of another vault than `own` (and its revocation)
    /// withheld, as the hub serves it to a field device.
    fn for_field(log: &[Entry], own: &str) -> Vec<Entry> {
        let mut shown = HashSet::new();
        log.iter()
            .map(|e| match &e.change {
                Change::Device {
                    signer,
                    vault_recipient,
                    role,
                    ..
                } if *role == Role::Coordinator || vault_recipient == own => {
                    shown.insert(signer.clone());
                    e.clone()
                }
                Change::Device { .. } => e.withheld(),
                Change::Revoke { signer, .. } if !shown.contains(signer) => e.withheld(),
                _ => e.clone(),
            })
            .collect()
    }

    #[test]
    fn withheld_entries_link_the_chain_and_say_nothing() {
        let org = key();
        let pk = org.verifying_key();
        let mut log = org_log(&org);
        let Change::Device {
            vault_recipient: own,
            ..
        } = log[3].change.clone()
        else {
            unreachable!()
        };
        append(&mut log, &org, device("elsewhere", Role::Field), Utc::now());
        let Change::Device { signer: other, .. } = log[4].change.clone() else {
            unreachable!()
        };
        append(
            &mut log,
            &org,
            Change::Revoke {
                signer: other.clone(),
                after: None,
            },
            Utc::now(),
        );
        // A second device of the same vault.
        let Change::Device { device_id, .. } = device("", Role::Field) else {
            unreachable!()
        };
        append(
            &mut log,
            &org,
            Change::Device {
                device_id,
                signer: B64.encode(key().verifying_key().as_bytes()),
                vault_recipient: own.clone(),
                role: Role::Field,
                label: "field A2".into(),
            },
            Utc::now(),
        );
        let whole = verify(&pk, None, &log).unwrap();
        let field = for_field(&log, &own);
        assert!(field[4].is_withheld() && field[5].is_withheld());

        // On the wire: the stub's number, link and hash, nothing else.
        let text = serde_json::to_string(&field).unwrap();
        assert!(
            !text.contains("elsewhere") && !text.contains(&other),
            "{text}"
        );
        let stub: serde_json::Value = serde_json::to_value(&field[4]).unwrap();
        assert_eq!(
            stub,
            serde_json::json!({"seq": 5, "prev": log[3].hash(), "withheld": log[4].hash()})
        );
        let back: Vec<Entry> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, field);
        // A whole entry's bytes (and so its hash and signature) are unchanged.
        let back: Vec<Entry> = serde_json::from_str(&serde_json::to_string(&log).unwrap()).unwrap();
        assert_eq!(back, log);

        // It verifies, ends at the same head, and says nothing of what was withheld.
        let v = verify(&pk, None, &field).unwrap();
        assert_eq!(v.head, whole.head);
        assert_eq!(mark(&field), mark(&log));
        let labels: Vec<&str> = v.devices.iter().map(|d| d.label.as_str()).collect();
        assert_eq!(labels, ["coordinator laptop", "field A", "field A2"]);
        assert!(v.devices.iter().all(|d| !d.revoked));
        // A device that verified the whole log before accepts it, and the reverse.
        assert!(verify(&pk, Some(&whole.head), &field).is_ok());
        assert!(verify(&pk, Some(&v.head), &log).is_ok());
        // A coordinator (or anyone) appends after it as after the whole log.
        let mut grown = field.clone();
        append(
            &mut grown,
            &org,
            device("field A3", Role::Field),
            Utc::now(),
        );
        let mut whole_grown = log.clone();
        whole_grown.push(grown.last().unwrap().clone());
        assert!(verify(&pk, None, &whole_grown).is_ok());
    }

    #[test]
    fn a_forged_withheld_stub_breaks_the_chain() {
        let org = key();
        let pk = org.verifying_key();
        let mut log = org_log(&org);
        append(&mut log, &org, device("elsewhere", Role::Field), Utc::now());
        append(&mut log, &org, device("after", Role::Field), Utc::now());
        let head = verify(&pk, None, &log).unwrap().head;

        // A stub with another hash (hiding another entry, or none): the next entry's
        // signed `prev` does not follow it.
        let mut forged = log.clone();
        forged[4] = Entry {
            change: Change::Withheld {
                hash: "ab".repeat(32),
            },
            ..log[4].withheld()
        };
        assert_eq!(verify(&pk, None, &forged), Err(LogError::Broken(6)));
        // A stub in place of an entry that exists in no form: numbers and links break.
        let mut inserted = log.clone();
        inserted.insert(5, log[4].withheld());
        assert!(matches!(
            verify(&pk, None, &inserted),
            Err(LogError::Broken(_))
        ));
        // A stub for the genesis, or with a malformed hash.
        let mut genesis_hidden = log.clone();
        genesis_hidden[0] = log[0].withheld();
        assert_eq!(
            verify(&pk, None, &genesis_hidden),
            Err(LogError::WrongOrganisation)
        );
        let mut malformed = log.clone();
        malformed[4].change = Change::Withheld {
            hash: "not hex".into(),
        };
        assert_eq!(verify(&pk, None, &malformed), Err(LogError::Malformed(5)));
        // A false stub at the end passes alone, and shows as a fork against a device
        // that verified that entry (or once the next entry arrives).
        let mut tail = log.clone();
        tail[5] = Entry {
            change: Change::Withheld {
                hash: "cd".repeat(32),
            },
            ..log[5].withheld()
        };
        assert_eq!(verify(&pk, Some(&head), &tail), Err(LogError::Forked(6)));
        let tail_head = verify(&pk, None, &tail).unwrap().head;
        assert_eq!(
            verify(&pk, Some(&tail_head), &log),
            Err(LogError::Forked(6))
        );
        // A stub that claims more than a hash is not a stub.
        let text = r#"{"seq":5,"prev":"00","withheld":"11","label":"x"}"#;
        assert!(serde_json::from_str::<Entry>(text).is_err());
    }

    #[test]
    fn words_are_eight_of_the_list_and_differ_between_keys() {
        let a = words(&key().verifying_key());
        let b = words(&key().verifying_key());
        assert_eq!(a.split(' ').count(), WORDS);
        assert_ne!(a, b);
        let list = bip39::Language::English.word_list();
        assert!(a.split(' ').all(|w| list.contains(&w)));
        // The same key, the same words.
        let k = key().verifying_key();
        assert_eq!(words(&k), words(&k));
        assert_eq!(words_of(&key_text(&k)), Some(words(&k)));
        assert_eq!(words_of("not a key"), None);
        // Typed as people type them.
        let expected = words(&k);
        assert!(same_words(
            &expected.to_uppercase().replace(' ', ", "),
            &expected
        ));
        assert!(same_words(
            &format!("  {}\n", expected.replace(' ', "-")),
            &expected
        ));
        assert!(!same_words(&b, &expected));
        assert!(!same_words("", ""));
    }
}
