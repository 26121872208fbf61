//! Writing: a user action's changes checked, made into signed versions, sealed and
//! stored as one durable batch.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::crypto;
use crate::error::{Error, Result};
use crate::index::Entry;
use crate::store::Write;
use custos_model::vocab;
use custos_model::{Body, Kind, Record, Version, SCHEMA_VERSION};

use super::*;

impl Vault {
    /// Writes one user action: every change becomes a new version, all of them in one
    /// durable batch. Nothing is written if any change is refused.
    pub fn commit(&mut self, changes: Vec<Change>) -> Result<Vec<Written>> {
        let versions = self.plan(changes)?;
        self.write_versions(versions)
    }

    /// Adds one new record; returns its id.
    pub fn add(&mut self, record: Record) -> Result<Uuid> {
        Ok(self.commit(vec![Change::Create(record)])?[0].record_id)
    }

    /// Writes a new version of a record; returns the version id.
    pub fn update(&mut self, record_id: Uuid, record: Record) -> Result<Uuid> {
        Ok(self.commit(vec![Change::Update { record_id, record }])?[0].version_id)
    }

    /// Deletes a record (a tombstone version).
    pub fn delete(&mut self, record_id: Uuid) -> Result<Uuid> {
        Ok(self.commit(vec![Change::Delete { record_id }])?[0].version_id)
    }

    pub(super) fn plan(&mut self, changes: Vec<Change>) -> Result<Vec<Version>> {
        self.plan_checked(changes, false)
    }

    /// Plans the version of a new evidence record (its file is already in `blobs/`).
    pub(super) fn plan_evidence(&mut self, record: Record) -> Result<Vec<Version>> {
        self.plan_checked(vec![Change::Create(record)], true)
    }

    pub(super) fn plan_checked(
        &mut self,
        changes: Vec<Change>,
        new_evidence: bool,
    ) -> Result<Vec<Version>> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        // Records created earlier in the same action can be linked to.
        let mut batch_kinds: HashMap<Uuid, Kind> = HashMap::new();
        let mut touched: HashSet<Uuid> = HashSet::new();
        let mut out = Vec::with_capacity(changes.len());
        for change in changes {
            let (record_id, parents, body, kind) = match change {
                Change::Create(Record::Evidence(_)) if !new_evidence => {
                    return Err(Error::Invalid(
                        "evidence is added by importing its file (custos evidence add)".into(),
                    ));
                }
                Change::Create(record) => {
                    let id = Uuid::new_v4();
                    let kind = record.kind();
                    (id, Vec::new(), Body::Record(record), kind)
                }
                Change::Import {
                    record: Record::Evidence(_),
                    ..
                } if !new_evidence => {
                    return Err(Error::Invalid(
                        "evidence is added by importing its file (custos evidence add)".into(),
                    ));
                }
                Change::Import { record_id, record } => {
                    if record_id.is_nil() || self.index.get(record_id).is_some() {
                        return Err(Error::Invalid(format!(
                            "record {record_id} is already in the vault"
                        )));
                    }
                    let kind = record.kind();
                    (record_id, Vec::new(), Body::Record(record), kind)
                }
                Change::Update { record_id, record } => {
                    let entry = self.entry(record_id)?;
                    if entry.kind != record.kind() {
                        return Err(Error::Invalid(format!(
                            "record {record_id} is a {}, not a {}",
                            entry.kind.as_str(),
                            record.kind().as_str()
                        )));
                    }
                    if let Record::Evidence(new) = &record {
                        let current = self.get(record_id)?;
                        let same = match &current.record {
                            Some(Record::Evidence(old)) => old.same_import(new),
                            _ => false,
                        };
                        if !same {
                            return Err(Error::Invalid(format!(
                                "evidence {record_id}: only its description and links can change; \
                                 its file, hashes and import details are fixed"
                            )));
                        }
                    }
                    (
                        record_id,
                        entry.heads.clone(),
                        Body::Record(record),
                        entry.kind,
                    )
                }
                Change::Delete { record_id } => {
                    let entry = self.entry(record_id)?;
                    if entry.deleted() && !entry.conflict() {
                        return Err(Error::Invalid(format!(
                            "record {record_id} is already deleted"
                        )));
                    }
                    (record_id, entry.heads.clone(), Body::Tombstone, entry.kind)
                }
            };
            if !touched.insert(record_id) {
                return Err(Error::Invalid(format!(
                    "record {record_id} is changed twice in one action"
                )));
            }
            if let Body::Record(r) = &body {
                self.check_record(r, &batch_kinds)?;
            }
            batch_kinds.insert(record_id, kind);
            let audience = self.audience_for(record_id, &parents);
            out.push(Version {
                schema_version: SCHEMA_VERSION,
                record_id,
                version_id: Uuid::new_v4(),
                kind,
                parents,
                hlc: self.clock.tick(),
                device: self.keys.device_id,
                audience,
                // Numbered when written (`write_versions_with`).
                chain: None,
                body,
            });
        }
        Ok(out)
    }

    pub(super) fn entry(&self, record_id: Uuid) -> Result<&Entry> {
        self.index
            .get(record_id)
            .ok_or(Error::RecordNotFound(record_id))
    }

    /// Checks a record's content and links before it is written.
    pub(super) fn check_record(&self, r: &Record, batch: &HashMap<Uuid, Kind>) -> Result<()> {
        r.validate().map_err(Error::Invalid)?;
        let kind_of = |id: Uuid| -> Option<Kind> {
            batch
                .get(&id)
                .copied()
                .or_else(|| self.index.get(id).filter(|e| !e.deleted()).map(|e| e.kind))
        };
        for (field, id) in r.links() {
            let expected = match field {
                "case_id" => Some(Kind::Case),
                "persons" | "person_ids" => Some(Kind::Person),
                "related" | "incident_ids" => Some(Kind::Incident),
                "derived_from" => Some(Kind::Evidence),
                _ => None,
            };
            match (kind_of(id), expected) {
                (None, _) => {
                    return Err(Error::Invalid(format!("{field}: no record {id}")));
                }
                (Some(k), Some(e)) if k != e => {
                    return Err(Error::Invalid(format!(
                        "{field}: record {id} is {}, not {}",
                        a_kind(k),
                        a_kind(e)
                    )));
                }
                _ => {}
            }
        }
        let vocab = vocab::builtin();
        match r {
            Record::Incident(i) => {
                for code in &i.act_types {
                    if !vocab.act_types.contains(code) {
                        return Err(Error::Invalid(format!(
                            "act_types: unknown act type '{code}'"
                        )));
                    }
                }
            }
            Record::Intervention(i)
                if !i.mechanism.is_empty() && !vocab.mechanisms.contains(&i.mechanism) =>
            {
                return Err(Error::Invalid(format!(
                    "mechanism: unknown mechanism '{}'",
                    i.mechanism
                )));
            }
            _ => {}
        }
        Ok(())
    }

    /// Encrypts versions (in parallel), writes them in one durable batch, indexes them.
    pub fn write_versions(&mut self, versions: Vec<Version>) -> Result<Vec<Written>> {
        self.write_versions_with(versions, Vec::new())
    }

    /// Writes versions together with other writes (custody entries) in one batch.
    pub(super) fn write_versions_with(
        &mut self,
        mut versions: Vec<Version>,
        extra: Vec<Write>,
    ) -> Result<Vec<Written>> {
        if versions.is_empty() {
            return Ok(Vec::new());
        }
        // Each version this device signs takes the next number of its chain; the chain's
        // head is stored in the same batch.
        let mut head = self.chain;
        for v in &mut versions {
            head.seq += 1;
            v.chain = Some(custos_model::Chain {
                seq: head.seq,
                prev: head.last,
            });
            head.last = Some(v.version_id);
        }
        let chain_write = Write::Meta(META_CHAIN, self.seal_chain(&head)?);
        // Sealed with shares prepared ahead (`crypto::Shares`): no X25519 on this path
        // while the producers keep up.
        let shares = &self.shares;
        // A commit larger than the prepared shares cover (an import, a bulk edit): the
        // versions that go to the same readers share one file key (`crypto::SharedKey`),
        // each still a standard age file with a payload key of its own — one X25519 per
        // reader for the whole commit, not one per version. A smaller commit gets a file
        // key per version, from prepared shares.
        let mut shared: HashMap<&[String], crypto::SharedKey> = HashMap::new();
        if versions.len() > crypto::SHARES_DEPTH {
            for v in &versions {
                if !shared.contains_key(v.audience.as_slice()) {
                    let to = shares.prepared(&self.recipients_of(&v.audience)?)?;
                    shared.insert(&v.audience, crypto::SharedKey::new(&to)?);
                }
            }
        }
        let recipients: Vec<Vec<crypto::Prepared>> = if shared.is_empty() {
            versions
                .iter()
                .map(|v| shares.prepared(&self.recipients_of(&v.audience)?))
                .collect::<Result<_>>()?
        } else {
            Vec::new()
        };
        let keys = &self.keys;
        let seal = |i: usize| {
            let v = &versions[i];
            let body =
                Zeroizing::new(serde_json::to_vec(v).map_err(|e| Error::Encrypt(e.to_string()))?);
            match shared.get(v.audience.as_slice()) {
                Some(key) => key.seal(&keys.device, &keys.signer, &body),
                None => crypto::seal(&recipients[i], &keys.device, &keys.signer, &body),
            }
        };
        // One version (a record saved on its own) is sealed here: handing it to another
        // thread costs more than it saves.
        let sealed: Vec<Result<crypto::Sealed>> = if versions.len() == 1 {
            vec![seal(0)]
        } else {
            (0..versions.len()).into_par_iter().map(seal).collect()
        };
        let mut writes = Vec::with_capacity(versions.len());
        let mut learned = Vec::with_capacity(versions.len());
        for (v, sealed) in versions.iter().zip(sealed) {
            let sealed = sealed?;
            learned.push(sealed.learned);
            writes.push(Write::Version(v.version_id, sealed.ciphertext));
        }
        drop(recipients);
        drop(shared);
        writes.extend(extra);
        writes.push(chain_write);
        self.store.commit(writes)?;
        self.chain = head;
        let cache = self.key_cache_get_mut();
        for l in learned {
            cache.insert(l);
        }
        let written = versions
            .iter()
            .map(|v| {
                self.clock.observe(v.hlc);
                self.index.add(v);
                Written {
                    record_id: v.record_id,
                    version_id: v.version_id,
                }
            })
            .collect();
        self.unsnapshotted += versions.len();
        // The snapshot is a cache, saved at lock. Also save it once so much is new that
        // rebuilding it after a crash would delay the next unlock noticeably.
        if self.unsnapshotted > SNAPSHOT_AFTER {
            self.save_snapshot()?;
        }
        Ok(written)
    }

    /// The chain head sealed for this vault's own identity, behind the header of a file
    /// key made once per unlock: every save rewrites the head, and the age crate's own
    /// path (a header, an X25519 share, a MAC) was a tenth of a record saved on its own.
    /// Each head is still a standard age file with a payload key of its own (a fresh
    /// nonce). What the shared header reveals — that the heads were written in one
    /// session — is said in `docs/threat-model.md`; only the newest head is kept.
    pub(super) fn seal_chain(&mut self, head: &ChainHead) -> Result<Vec<u8>> {
        let key = match &mut self.chain_key {
            Some(key) => key,
            empty => empty.insert(crypto::SharedKey::new(
                &self.shares.prepared(&self.keys.recipients)?,
            )?),
        };
        let plain =
            Zeroizing::new(serde_json::to_vec(head).map_err(|e| Error::Encrypt(e.to_string()))?);
        key.seal_bytes(&plain)
    }

    // ----- reading -----
}

/// "a case", "an incident", "an evidence item" — for messages.
pub(super) fn a_kind(k: Kind) -> String {
    match k {
        Kind::Evidence => "an evidence item".into(),
        Kind::Incident | Kind::Intervention => format!("an {}", k.as_str()),
        _ => format!("a {}", k.as_str()),
    }
}
