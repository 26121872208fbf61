//! Key backup with shares: the vault's key (its age X25519 identity) split into `n`
//! shares of which any `k` rebuild it — Shamir's secret sharing over GF(256), from the
//! audited `vsss-rs` crate. Fewer than `k` shares say nothing about the key.
//!
//! A share is one printable line:
//!
//! ```text
//! custos-share-1:<vault fingerprint>:<backup set>:<k>of<n>:<number>:<share, hex>:<check>
//! ```
//!
//! The fingerprint (16 hex digits of the SHA-256 of the vault's public key) tells which
//! vault a share belongs to; the backup set (8 hex digits, random per backup) keeps
//! shares of two different backups from being mixed; the check (8 hex digits of the
//! SHA-256 of everything before it) catches a mistyped share. A rebuilt key is accepted
//! only if it has the fingerprint the shares name *and* opens the vault's keyring.

use std::path::Path;
use std::str::FromStr;

use age::secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{read_manifest, take_lock, Vault, DB, META_KEYRING};
use crate::crypto::{self, VaultIdentity};
use crate::error::{Error, Result};
use crate::store::Store;
use crate::SecretString;
use custos_model::passphrase;

const PREFIX: &str = "custos-share-1";
/// What follows the vault key in the shared secret when the vault holds the
/// organisation key: the key's 32 secret bytes, base64.
const ORG_TAG: &[u8] = b"\norg:";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn check(body: &str) -> String {
    hex(&Sha256::digest(body.as_bytes())[..4])
}

/// The fingerprint of a vault's public key, as written on its shares.
pub fn fingerprint(identity: &VaultIdentity) -> String {
    hex(&Sha256::digest(identity.to_public().to_string().as_bytes())[..8])
}

/// One share, read from its line.
struct Share {
    fingerprint: String,
    set: String,
    threshold: usize,
    count: usize,
    number: usize,
    bytes: Zeroizing<Vec<u8>>,
}

fn parse(line: &str, position: usize) -> Result<Share> {
    let bad = |what: &str| Error::Invalid(format!("share {position}: {what}"));
    let line = line.trim();
    let (body, sum) = line
        .rsplit_once(':')
        .ok_or_else(|| bad("not a Custos key share"))?;
    let parts: Vec<&str> = body.split(':').collect();
    if parts.len() != 6 || parts[0] != PREFIX {
        return Err(bad("not a Custos key share"));
    }
    if check(body) != sum.to_ascii_lowercase() {
        return Err(bad(
            "its check digits do not match: a character is wrong or missing",
        ));
    }
    let (k, n) = parts[3]
        .split_once("of")
        .and_then(|(k, n)| Some((k.parse::<usize>().ok()?, n.parse::<usize>().ok()?)))
        .ok_or_else(|| bad("unreadable share count"))?;
    let number: usize = parts[4]
        .parse()
        .map_err(|_| bad("unreadable share number"))?;
    let bytes = unhex(parts[5]).ok_or_else(|| bad("unreadable share data"))?;
    if bytes.first().map(|&x| x as usize) != Some(number) || k < 2 || k > n {
        return Err(bad("inconsistent share"));
    }
    Ok(Share {
        fingerprint: parts[1].to_owned(),
        set: parts[2].to_owned(),
        threshold: k,
        count: n,
        number,
        bytes: Zeroizing::new(bytes),
    })
}

impl Vault {
    /// Splits the vault's key into `count` shares, any `threshold` of which rebuild it.
    /// Each is a printable line; give each to a different trusted person.
    pub fn key_shares(&self, threshold: usize, count: usize) -> Result<Vec<Zeroizing<String>>> {
        if !(2..=count).contains(&threshold) || count > 255 {
            return Err(Error::Invalid(
                "shares: the threshold must be at least 2 and at most the number of shares \
                 (at most 255)"
                    .into(),
            ));
        }
        let mut secret = Zeroizing::new(
            self.keys
                .identity
                .to_string()
                .expose_secret()
                .as_bytes()
                .to_vec(),
        );
        // A coordinator's vault holding the organisation key: the shares carry it too.
        if let Some(org) = self.org_secret()? {
            secret.extend_from_slice(ORG_TAG);
            secret.extend_from_slice(super::base64_encode(&org[..]).as_bytes());
        }
        let shares = vsss_rs::Gf256::split_array(threshold, count, &secret[..], rand::rngs::OsRng)
            .map_err(|e| Error::Encrypt(format!("splitting the key failed: {e:?}")))?;
        let fp = fingerprint(&self.keys.identity);
        let set = hex(&crypto::random_bytes::<4>()[..]);
        Ok(shares
            .into_iter()
            .map(|s| {
                let s = Zeroizing::new(s);
                let body = format!(
                    "{PREFIX}:{fp}:{set}:{threshold}of{count}:{}:{}",
                    s[0],
                    hex(&s)
                );
                let sum = check(&body);
                Zeroizing::new(format!("{body}:{sum}"))
            })
            .collect())
    }

    /// Rebuilds the key of the (locked) vault in `dir` from `threshold` of its shares —
    /// when the passphrase is lost, or `identity.age` is damaged — and protects it with
    /// a new passphrase. The vault then unlocks with the new passphrase.
    pub fn restore_key(
        dir: &Path,
        shares: &[&str],
        new: &SecretString,
        options: super::Options,
    ) -> Result<()> {
        let manifest = read_manifest(dir)?;
        let _lock = take_lock(dir)?;
        let (identity, org) = combine(shares)?;
        passphrase::require_strong(new)?;

        // The rebuilt key must open this vault's keyring.
        let store = Store::open(&dir.join(DB), 0)?;
        let sealed = store.meta(META_KEYRING)?.ok_or_else(|| {
            Error::Database("the vault's keyring is missing from the database".into())
        })?;
        if crypto::open_bytes(&identity, &sealed).is_err() {
            return Err(Error::Invalid(format!(
                "these shares rebuild the key of another vault (fingerprint {}), not of the \
                 vault in {}",
                fingerprint(&identity),
                dir.display()
            )));
        }
        // The organisation key the shares carry, when the vault lost it.
        if let Some(org) = org {
            if store.meta(super::sync::META_ORG)?.is_none() {
                let file =
                    serde_json::json!({"name": "", "secret": super::base64_encode(&org[..])});
                let sealed = super::codec::seal_json(&[identity.to_public()], &file)?;
                store.commit(vec![crate::store::Write::Meta(
                    super::sync::META_ORG,
                    sealed,
                )])?;
            }
        }
        drop(store);
        // A vault bound to a device whose key is gone (wiped, or another computer) is
        // bound to a new device key here.
        let device_key = match manifest.device_key {
            Some(id) if super::device::key_exists(&id) => Some(id),
            Some(_) => Some(super::device::new_device_key()?),
            None if options.bind_to_device => Some(super::device::new_device_key()?),
            None => None,
        };
        let wrapped =
            super::device::seal_identity(&identity, new, options.kdf, device_key.as_deref())?;
        super::replace_identity(dir, &wrapped, device_key.as_deref())?;
        // The duress file moves with the key file (see `duress.rs`); the key is restored
        // already, and the earlier duress file still works.
        let _ = super::duress::rewrite_duress(dir, &identity, options.kdf);
        Ok(())
    }
}

impl Vault {
    /// Rebuilds a vault key from `threshold` of its shares into a **new, empty** vault in
    /// `dir` (the device was lost): the vault has the old key and a new device key and
    /// no records; enrolled with the hub, it brings back every version that was synced.
    pub fn restore_into_new(
        dir: &Path,
        shares: &[&str],
        new: &SecretString,
        options: super::Options,
    ) -> Result<Vault> {
        let (identity, org) = combine(shares)?;
        let vault = Vault::create_with(dir, new, options, identity)?;
        if let Some(org) = org {
            let w = vault.org_key_write("", &org)?;
            vault.store.commit(vec![w])?;
        }
        Ok(vault)
    }
}

/// Rebuilds a key (and the organisation key the shares carry, if any) from share
/// lines, or says precisely why not.
fn combine(lines: &[&str]) -> Result<(VaultIdentity, Option<Zeroizing<[u8; 32]>>)> {
    let shares: Vec<Share> = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| parse(l, i + 1))
        .collect::<Result<_>>()?;
    let first = shares
        .first()
        .ok_or_else(|| Error::Invalid("no shares given".into()))?;
    for (i, s) in shares.iter().enumerate() {
        if s.fingerprint != first.fingerprint {
            return Err(Error::Invalid(format!(
                "share {} belongs to another vault (fingerprint {}, share 1 has {})",
                i + 1,
                s.fingerprint,
                first.fingerprint
            )));
        }
        if s.set != first.set || s.threshold != first.threshold || s.count != first.count {
            return Err(Error::Invalid(format!(
                "share {} comes from another backup of this vault; use shares of one backup",
                i + 1
            )));
        }
    }
    let mut numbers: Vec<usize> = shares.iter().map(|s| s.number).collect();
    numbers.sort_unstable();
    numbers.dedup();
    if numbers.len() < first.threshold {
        return Err(Error::Invalid(format!(
            "{} different shares given; this backup needs {} of its {}",
            numbers.len(),
            first.threshold,
            first.count
        )));
    }
    let mut unique: Vec<Vec<u8>> = Vec::new();
    for s in &shares {
        if !unique.iter().any(|u| u[0] == s.bytes[0]) {
            unique.push(s.bytes.to_vec());
        }
    }
    let secret = Zeroizing::new(
        vsss_rs::Gf256::combine_array(&unique)
            .map_err(|e| Error::Invalid(format!("the shares cannot be combined: {e:?}")))?,
    );
    for u in unique.iter_mut() {
        zeroize::Zeroize::zeroize(u);
    }
    let damaged = || {
        Error::Invalid(
            "the shares do not rebuild the key they were made from: one of them is damaged".into(),
        )
    };
    let (key_part, org_part) = match secret.windows(ORG_TAG.len()).position(|w| w == ORG_TAG) {
        Some(at) => (&secret[..at], Some(&secret[at + ORG_TAG.len()..])),
        None => (&secret[..], None),
    };
    let org = match org_part {
        None => None,
        Some(b) => Some(
            std::str::from_utf8(b)
                .ok()
                .and_then(super::base64_decode)
                .and_then(|v| <[u8; 32]>::try_from(v.as_slice()).ok())
                .map(Zeroizing::new)
                .ok_or_else(damaged)?,
        ),
    };
    let text = std::str::from_utf8(key_part).ok();
    let identity = text
        .and_then(|t| VaultIdentity::from_str(t).ok())
        .filter(|id| fingerprint(id) == first.fingerprint)
        .ok_or_else(damaged)?;
    Ok((identity, org))
}
