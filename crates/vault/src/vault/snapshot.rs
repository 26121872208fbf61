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
        // Of format 1 (an earlier build's): written again at lock.
        let mut old = false;
        let signer = &self.keys.signer;
        let verify = |d: &[u8; 32], s: &[u8; 64]| crypto::verify_digest(signer, d, s);
        let epoch = self.store.version_epoch()?;
        let (mut index, saved_at) = self
            .store
            .meta(META_INDEX)?
            .and_then(|ct| crypto::open_owned_keyed(&self.keys.identity, ct, INDEX_SNAPSHOT).ok())
            .and_then(|(plain, bound)| {
                let (body, was_old) = signed_body(&plain, &bound, &verify)?;
                let snapshot = Index::from_snapshot(body)?;
                old |= was_old;
                Some(snapshot)
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
        // Versions to read (the snapshot is missing, stale or refused): with the key
        // cache, which otherwise waits for the first read.
        type Decoded = std::result::Result<(Version, Option<crypto::Learned>, String), Damage>;
        let decoded: Vec<(Uuid, Decoded)> = if missing.is_empty() {
            Vec::new()
        } else {
            let cache = self.key_cache();
            let (keys, store) = (&self.keys, &self.store);
            missing
                .par_iter()
                .map(|&id| {
                    let r = match store.version(id) {
                        Ok(Some(ct)) => decode_version(keys, &cache, id, &ct),
                        _ => Err(Damage::Decrypt),
                    };
                    (id, r)
                })
                .collect()
        };
        let fresh = decoded.len();
        for (id, r) in decoded {
            match r {
                Ok((v, learned, _)) => {
                    index.add(&v);
                    if let Some(l) = learned {
                        self.key_cache_get_mut().insert(l);
                    }
                }
                Err(d) => index.add_damaged(id, d),
            }
        }
        self.clock.observe(index.max_hlc());
        self.index = index;
        // Saved at lock (or after many writes): unlocking writes nothing, so it works
        // on a full disk too. A snapshot that had to be checked, or that an earlier build
        // wrote (format 1), is saved again at lock, with the current epoch, so that the
        // next unlock need not check it.
        self.unsnapshotted = if current && !old { fresh } else { fresh.max(1) };
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
        let index = {
            let (key, sig) = self.key_to_self(INDEX_SNAPSHOT)?;
            seal_signed(&key, &sig, &plain)?
        };
        let mut writes = vec![Write::Meta(META_INDEX, index)];
        // A key cache never read this session is as it was stored: left there.
        if self.cache_loaded.is_completed() {
            let (key, sig) = self.key_to_self(KEY_CACHE)?;
            let cache = self.cache.get_mut().unwrap_or_else(|p| p.into_inner());
            writes.push(Write::Meta(
                META_KEYCACHE,
                seal_signed(&key, &sig, &cache.to_bytes())?,
            ));
        }
        self.store.commit(writes)?;
        self.unsnapshotted = 0;
        self.cache_dirty.store(false, Ordering::Relaxed);
        Ok(())
    }
}

impl Vault {
    /// Reads the stored key cache into memory, once per unlock, at its first use (see
    /// [`Vault::key_cache`]). A cache that is missing, damaged or not signed by this
    /// device is taken as empty (reads then take the full path, and learn again); one
    /// of format 1 is written again at lock.
    pub(super) fn load_key_cache(&self) {
        self.cache_loaded.call_once(|| {
            let signer = &self.keys.signer;
            let verify = |d: &[u8; 32], s: &[u8; 64]| crypto::verify_digest(signer, d, s);
            let stored = self
                .store
                .meta(META_KEYCACHE)
                .ok()
                .flatten()
                .and_then(|ct| crypto::open_owned_keyed(&self.keys.identity, ct, KEY_CACHE).ok())
                .and_then(|(plain, bound)| {
                    // Signed: a cache entry lets a ciphertext skip its signature check,
                    // so a cache anyone could encrypt to the vault must not be taken.
                    let (body, old) = signed_body(&plain, &bound, &verify)?;
                    Some((KeyCache::from_bytes(body)?, old))
                });
            if let Some((stored, old)) = stored {
                let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
                // Every use loads it first: nothing was learned before.
                debug_assert!(cache.is_empty());
                *cache = stored;
                if old {
                    self.cache_dirty.store(true, Ordering::Relaxed);
                }
            }
        });
    }

    /// The key cache, read from its snapshot first if this is its first use.
    pub(super) fn key_cache(&self) -> std::sync::RwLockReadGuard<'_, KeyCache> {
        self.load_key_cache();
        self.cache.read().unwrap_or_else(|p| p.into_inner())
    }

    /// [`Vault::key_cache`], to learn keys.
    pub(super) fn key_cache_mut(&self) -> std::sync::RwLockWriteGuard<'_, KeyCache> {
        self.load_key_cache();
        self.cache.write().unwrap_or_else(|p| p.into_inner())
    }

    /// [`Vault::key_cache`], with the vault held.
    pub(super) fn key_cache_get_mut(&mut self) -> &mut KeyCache {
        self.load_key_cache();
        self.cache.get_mut().unwrap_or_else(|p| p.into_inner())
    }

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
