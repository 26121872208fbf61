//! The record index and key cache, kept between sessions as signed snapshots sealed
//! to the vault (so that unlocking does not decrypt every record), and the keyring.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use rayon::prelude::*;
use uuid::Uuid;

use crate::crypto::{self, KeyCache};
use crate::error::{Damage, Error, Result};
use crate::index::Index;
use crate::store::Write;
use custos_model::Version;

use super::*;

impl Vault {
    pub(super) fn load_index(&mut self) -> Result<()> {
        let cache = self
            .store
            .meta(META_KEYCACHE)?
            .and_then(|ct| crypto::open_owned(&self.keys.identity, ct).ok())
            .and_then(|plain| {
                // Signed: a cache entry lets a ciphertext skip its signature check, so a
                // cache anyone could encrypt to the vault must not be taken.
                let signer = &self.keys.signer;
                signed_body(&plain, &|d, s| crypto::verify_digest(signer, d, s))
                    .and_then(KeyCache::from_bytes)
            })
            .unwrap_or_default();
        let epoch = self.store.version_epoch()?;
        let (mut index, saved_at) = self
            .store
            .meta(META_INDEX)?
            .and_then(|ct| crypto::open_owned(&self.keys.identity, ct).ok())
            .and_then(|plain| {
                let signer = &self.keys.signer;
                signed_body(&plain, &|d, s| crypto::verify_digest(signer, d, s))
                    .and_then(Index::from_snapshot)
            })
            .map(|(index, at)| (index, Some(at)))
            .unwrap_or_default();
        // The snapshot was saved when the versions were as they are now (no version
        // written or removed since): nothing to check, nothing to read.
        let current = saved_at.is_some() && saved_at == epoch;
        let stored = if current {
            Vec::new()
        } else {
            let stored = self.store.version_ids()?;
            let stored_set: HashSet<Uuid> = stored.iter().copied().collect();
            if index.version_ids().any(|v| !stored_set.contains(&v)) {
                // The snapshot names versions the database does not have: do not trust it.
                index = Index::default();
            }
            stored
        };
        let missing: Vec<Uuid> = stored
            .into_iter()
            .filter(|v| !index.contains_version(*v))
            .collect();
        let keys = &self.keys;
        let store = &self.store;
        let cache_ref = &cache;
        type Decoded = std::result::Result<(Version, Option<crypto::Learned>, String), Damage>;
        let decoded: Vec<(Uuid, Decoded)> = missing
            .par_iter()
            .map(|&id| {
                let r = match store.version(id) {
                    Ok(Some(ct)) => decode_version(keys, cache_ref, id, &ct),
                    _ => Err(Damage::Decrypt),
                };
                (id, r)
            })
            .collect();
        let fresh = decoded.len();
        let mut cache = cache;
        for (id, r) in decoded {
            match r {
                Ok((v, learned, _)) => {
                    index.add(&v);
                    if let Some(l) = learned {
                        cache.insert(l);
                    }
                }
                Err(d) => index.add_damaged(id, d),
            }
        }
        *self.cache.get_mut().unwrap_or_else(|p| p.into_inner()) = cache;
        self.clock.observe(index.max_hlc());
        self.index = index;
        // Saved at lock (or after many writes): unlocking writes nothing, so it works
        // on a full disk too. A snapshot that had to be checked is saved again at lock,
        // with the current epoch, so that the next unlock need not check it.
        self.unsnapshotted = if current { fresh } else { fresh.max(1) };
        Ok(())
    }

    pub(super) fn save_snapshot(&mut self) -> Result<()> {
        if self.unsnapshotted == 0 && !self.cache_dirty.load(Ordering::Relaxed) {
            return Ok(());
        }
        // A vault written before epochs existed gets one now. With damaged versions, no
        // epoch: the next unlock reads every version again and reports them.
        let epoch = if self.index.damaged().next().is_some() {
            Vec::new()
        } else {
            match self.store.version_epoch()? {
                Some(epoch) => epoch,
                None => self.store.new_version_epoch()?,
            }
        };
        let plain = self.index.to_snapshot(&epoch).map_err(Error::Encrypt)?;
        let index = crypto::seal_bytes(
            self.keys
                .recipients
                .iter()
                .map(|r| r as &dyn age::Recipient),
            &sign_body(&self.keys.device, &plain),
        )?;
        let cache = {
            let cache = self.cache.get_mut().unwrap_or_else(|p| p.into_inner());
            let plain = cache.to_bytes();
            crypto::seal_bytes(
                self.keys
                    .recipients
                    .iter()
                    .map(|r| r as &dyn age::Recipient),
                &sign_body(&self.keys.device, &plain),
            )?
        };
        self.store.commit(vec![
            Write::Meta(META_INDEX, index),
            Write::Meta(META_KEYCACHE, cache),
        ])?;
        self.unsnapshotted = 0;
        self.cache_dirty.store(false, Ordering::Relaxed);
        Ok(())
    }
}

impl Vault {
    /// The keyring (device key, trusted signers) as a write, sealed to the vault.
    pub(super) fn keyring_write(&self) -> Result<Write> {
        let keyring = KeyringFile {
            device_id: self.keys.device_id,
            signing_key: base64_encode(&self.keys.device.to_bytes()[..]),
            trusted_signers: self.keys.trusted.clone(),
        };
        Ok(Write::Meta(
            META_KEYRING,
            seal_json(&self.keys.recipients, &keyring)?,
        ))
    }
}
