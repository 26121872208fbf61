//! Taking in what other devices wrote: every object decrypted and its signature checked,
//! then refused unless the organisation's rules allow it (`docs/sync-protocol.md` §6):
//! the clock, the device id bound to its signer, the audience within the roster, a
//! field device writing only for its own vault, an evidence file's importer, a revoked
//! device's later versions.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Ingested, Vault, MAX_CLOCK_SKEW};
use crate::error::Result;
use crate::store::Write;
use crate::vault::decode_version;
use custos_model::Version;
use custos_wire::{Frame, Role};

impl Vault {
    /// Why a version another device signed is refused although its signature checks,
    /// or `None` when it is taken in. `batch` holds the audiences of the versions taken
    /// in earlier in the same batch, by record.
    pub(super) fn refusal(
        &self,
        v: &Version,
        signer: &str,
        now: DateTime<Utc>,
        batch: &std::collections::HashMap<Uuid, Vec<String>>,
        batch_devices: &std::collections::HashMap<Uuid, String>,
        batch_imports: &std::collections::HashMap<Uuid, Uuid>,
    ) -> Option<String> {
        let limit = (now + MAX_CLOCK_SKEW).timestamp_millis().max(0) as u64;
        if v.hlc.ms > limit {
            let ahead = (v
                .hlc
                .ms
                .saturating_sub(now.timestamp_millis().max(0) as u64))
                / 3_600_000;
            return Some(format!(
                "its clock is {ahead} hours ahead of this device's (more than {} allowed)",
                MAX_CLOCK_SKEW.num_hours()
            ));
        }
        // The device id a version names is its signer's: this device's id only with
        // this device's key, another's only with the key first seen with it.
        if v.device == self.keys.device_id && signer != self.keys.signer {
            return Some("it claims to come from this device, signed by another".into());
        }
        let s = self.sync.as_ref()?;
        let bound = batch_devices
            .get(&v.device)
            .or_else(|| s.device_signers.get(&v.device));
        if bound.is_some_and(|b| b != signer) {
            return Some("it claims the id of another device".into());
        }
        let own = self.own();
        let writer = if signer == self.keys.signer {
            Some((own.as_str(), s.role))
        } else {
            // A device enrolled as a coordinator counts as one only when its vault is a
            // coordinator this vault confirmed.
            s.members.iter().find(|m| m.signer == signer).map(|m| {
                let role = if m.role == Role::Coordinator
                    && !s.coordinators.contains(&m.vault_recipient)
                {
                    Role::Field
                } else {
                    m.role
                };
                (m.vault_recipient.as_str(), role)
            })
        };
        // An evidence record names the device that imported the file: on its first
        // version, the signer's own device; later versions keep it (and the rest of
        // the import) as it was. A device cannot pass a file off as a colleague's.
        if let custos_model::Body::Record(custos_model::Record::Evidence(e)) = &v.body {
            let earlier = batch_imports.get(&v.record_id).copied().or_else(|| {
                self.index
                    .get(v.record_id)
                    .and_then(|entry| self.read_version(entry.head().id, Some(v.record_id)).ok())
                    .and_then(|h| match &h.body {
                        custos_model::Body::Record(custos_model::Record::Evidence(old)) => {
                            Some(old.imported_by)
                        }
                        _ => None,
                    })
            });
            match earlier {
                None if e.imported_by != v.device => {
                    return Some(
                        "its evidence file names another device than its signer's as importer"
                            .into(),
                    )
                }
                Some(by) if by != e.imported_by => {
                    return Some("it changes who imported an evidence file".into())
                }
                _ => {}
            }
        }
        // A device the organisation revoked at its version N: nothing after N (a
        // stolen laptop, through a hub that ignores the revocation).
        if let Some(after) = s
            .members
            .iter()
            .find(|m| m.signer == signer && m.revoked)
            .and_then(|m| m.revoked_after)
        {
            if v.chain.is_none_or(|c| c.seq > after) {
                return Some(
                    "it comes from a device the organisation revoked, written after its \
                     revocation"
                        .into(),
                );
            }
        }
        let Some((writer_vault, writer_role)) = writer else {
            return Some(
                "it is signed by a device this vault does not find in the organisation's \
                 roster (sync with the hub to fetch it)"
                    .into(),
            );
        };
        // Every key the hub lists as a coordinator's counts here (another vault may
        // have confirmed one this vault has not, or refused): the rule below is about
        // field workers' vaults. Whom this vault encrypts to is decided elsewhere.
        // Once the roster is signed, only the coordinators it names.
        let signed = s.org_key.is_some();
        let coordinator = |r: &str| {
            s.coordinators.iter().any(|c| c == r)
                || (!signed
                    && (s.pending_coordinators.iter().any(|p| p.recipient == r)
                        || s.refused_coordinators.iter().any(|c| c == r)))
        };
        let known = |r: &str| {
            r == own || coordinator(r) || s.members.iter().any(|m| m.vault_recipient == r)
        };
        if v.audience.len() > s.coordinators.len() + s.members.len() + 1
            || v.audience.iter().any(|r| !known(r))
        {
            return Some("its audience names keys outside the organisation's roster".into());
        }
        if writer_role == Role::Field {
            // A field device writes for its own vault and the coordinators only…
            if v.audience
                .iter()
                .any(|r| r != writer_vault && !coordinator(r))
            {
                return Some("a field device addressed it to another field worker's vault".into());
            }
            // …and only into records its vault can read.
            let earlier = match batch.get(&v.record_id) {
                Some(a) => Some(a.clone()),
                None => self.index.get(v.record_id).map(|e| {
                    self.read_version(e.head().id, Some(v.record_id))
                        .map(|h| h.audience.clone())
                        .unwrap_or_default()
                }),
            };
            if let Some(earlier) = earlier {
                let readable = if earlier.is_empty() {
                    writer_vault == own
                } else {
                    earlier.iter().any(|r| r == writer_vault)
                };
                if !readable {
                    return Some("a field device wrote into a record of another vault".into());
                }
            }
        }
        None
    }

    /// Takes in objects from the hub (or a bundle): each decrypted and its signature
    /// checked (in parallel), then the rules of [`Vault::refusal`]; what passes is stored
    /// in one commit with the new cursor.
    pub(super) fn take_in(&mut self, frames: Vec<Frame>, cursor: Option<u64>) -> Result<Ingested> {
        let mut out = Ingested::default();
        let mut writes = Vec::new();
        let mut fresh: Vec<Version> = Vec::new();
        let mut learned = Vec::new();
        let mut seen = HashSet::new();
        let frames: Vec<Frame> = frames.into_iter().filter(|f| seen.insert(f.id)).collect();
        let now = Utc::now();
        let mut batch = std::collections::HashMap::new();
        let mut batch_devices: std::collections::HashMap<Uuid, String> =
            std::collections::HashMap::new();
        let mut batch_imports: std::collections::HashMap<Uuid, Uuid> =
            std::collections::HashMap::new();
        let mut arrivals: Vec<(String, u64)> = Vec::new();
        // Decrypting and checking signatures is the cost of a pull: done in parallel.
        let decoded: Vec<std::result::Result<_, crate::error::Damage>> = {
            use rayon::prelude::*;
            let cache = self.key_cache();
            let keys = &self.keys;
            frames
                .par_iter()
                .map(|f| decode_version(keys, &cache, f.id, &f.ciphertext))
                .collect()
        };
        for (f, decoded) in frames.into_iter().zip(decoded) {
            match self.store.version(f.id)? {
                Some(existing) if existing == f.ciphertext => {
                    out.existing += 1;
                    writes.push(Write::Synced(f.id));
                    continue;
                }
                Some(_) => {
                    out.rejected
                        .push((f.id, "another version with this id is stored".into()));
                    continue;
                }
                None => {}
            }
            let (v, l, signer) = match decoded {
                Ok(x) => x,
                Err(d) => {
                    if d == crate::error::Damage::Signature {
                        out.unknown_signer.push(f.id);
                    }
                    out.rejected.push((f.id, d.to_string()));
                    continue;
                }
            };
            let known_kind = self.index.get(v.record_id).map(|e| e.kind).or_else(|| {
                fresh
                    .iter()
                    .find(|o| o.record_id == v.record_id)
                    .map(|o| o.kind)
            });
            if known_kind.is_some_and(|k| k != v.kind) {
                out.rejected
                    .push((f.id, "it claims another kind for an existing record".into()));
                continue;
            }
            if let Some(why) =
                self.refusal(&v, &signer, now, &batch, &batch_devices, &batch_imports)
            {
                out.rejected.push((f.id, why));
                continue;
            }
            batch.insert(v.record_id, v.audience.clone());
            if let custos_model::Body::Record(custos_model::Record::Evidence(e)) = &v.body {
                batch_imports.insert(v.record_id, e.imported_by);
            }
            if let Some(c) = v.chain {
                arrivals.push((signer.clone(), c.seq));
            }
            if v.device != self.keys.device_id {
                batch_devices.entry(v.device).or_insert(signer);
            }
            writes.push(Write::Version(f.id, f.ciphertext));
            writes.push(Write::Synced(f.id));
            learned.extend(l);
            fresh.push(v);
        }
        let mut state_changed = false;
        if let Some(s) = self.sync.as_mut() {
            // A coordinator's vault receives every version of every field device: a
            // number missing before a later one is a gap worth showing.
            if s.role == Role::Coordinator {
                for (signer, seq) in arrivals {
                    let field = s
                        .members
                        .iter()
                        .any(|m| m.signer == signer && m.role == Role::Field);
                    if field {
                        s.chains.entry(signer).or_default().arrived(seq, now);
                        state_changed = true;
                    }
                }
            }
            for (device, signer) in batch_devices {
                if let std::collections::hash_map::Entry::Vacant(e) = s.device_signers.entry(device)
                {
                    e.insert(signer);
                    state_changed = true;
                }
            }
        }
        if let Some(c) = cursor {
            self.state_mut()?.cursor = c;
            state_changed = true;
        }
        if state_changed {
            writes.extend(self.sync_write()?);
        }
        if writes.is_empty() {
            return Ok(out);
        }
        self.store.commit(writes)?;
        {
            let cache = self.key_cache_get_mut();
            for l in learned {
                cache.insert(l);
            }
        }
        self.cache_dirty.store(true, Ordering::Relaxed);
        for v in &fresh {
            self.clock.observe(v.hlc);
            self.index.add(v);
        }
        self.unsnapshotted += fresh.len();
        out.stored = fresh.len();
        Ok(out)
    }
}
