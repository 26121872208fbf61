//! The byte forms of what the vault stores: signed caches, versions checked against
//! the ids they were stored under, sealed JSON, base64.

use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::crypto::{self, DeviceKey, KeyCache};
use crate::error::{Damage, Error, Result};
use custos_model::{Version, SCHEMA_VERSION};

use super::*;

/// What starts a signed cache (the index snapshot): the magic, then an Ed25519
/// signature of the body's SHA-256 by the device that wrote it, then the body.
pub(super) const SIGNED_MAGIC: &[u8] = b"custos-signed 1\n";

pub(super) fn sign_body(device: &DeviceKey, body: &[u8]) -> Zeroizing<Vec<u8>> {
    use sha2::Digest as _;
    let digest: [u8; 32] = sha2::Sha256::digest(body).into();
    let mut out = Zeroizing::new(Vec::with_capacity(SIGNED_MAGIC.len() + 64 + body.len()));
    out.extend_from_slice(SIGNED_MAGIC);
    out.extend_from_slice(&device.sign_bytes(&digest));
    out.extend_from_slice(body);
    out
}

/// The body of a signed cache when its signature checks.
pub(super) fn signed_body<'a>(
    bytes: &'a [u8],
    verify: &dyn Fn(&[u8; 32], &[u8; 64]) -> bool,
) -> Option<&'a [u8]> {
    use sha2::Digest as _;
    let rest = bytes.strip_prefix(SIGNED_MAGIC)?;
    let sig: [u8; 64] = rest.get(..64)?.try_into().ok()?;
    let body = &rest[64..];
    let digest: [u8; 32] = sha2::Sha256::digest(body).into();
    verify(&digest, &sig).then_some(body)
}

/// Decrypts, verifies, checks ids and upgrades one stored version. Also returns the
/// file key to remember when the cache did not know the ciphertext, and the signer.
pub(super) fn decode_version(
    keys: &Keys,
    cache: &KeyCache,
    version_id: Uuid,
    ct: &[u8],
) -> std::result::Result<(Version, Option<crypto::Learned>, String), Damage> {
    if let Some(envelope) = crypto::open_known(cache, ct) {
        // Verified before: the version is read straight from the envelope.
        #[derive(Deserialize)]
        struct Envelope {
            body: Version,
            signer: String,
        }
        let envelope = envelope?;
        let e = match serde_json::from_slice::<Envelope>(&envelope) {
            Ok(e) if e.body.schema_version == SCHEMA_VERSION => e,
            // Another schema, or not a version: the full path says which.
            _ => return decode_version(keys, &KeyCache::default(), version_id, ct),
        };
        if e.body.version_id != version_id {
            return Err(Damage::Moved);
        }
        return Ok((e.body, None, e.signer));
    }
    let opened = crypto::open(&keys.identity, &keys.trusted, cache, ct)?;
    let v = parse_version(&opened.body)?;
    if v.version_id != version_id {
        return Err(Damage::Moved);
    }
    Ok((v, opened.learned, opened.signer))
}

/// Parses a version's JSON, upgrading an older schema.
pub fn parse_version(json: &[u8]) -> std::result::Result<Version, Damage> {
    #[derive(Deserialize)]
    struct Peek {
        schema_version: u32,
    }
    // The current schema is read in one pass; anything else is classified below.
    if let Ok(v) = serde_json::from_slice::<Version>(json) {
        if v.schema_version == SCHEMA_VERSION {
            return Ok(v);
        }
    }
    let peek: Peek = serde_json::from_slice(json).map_err(|_| Damage::Format)?;
    match peek.schema_version {
        // The current schema that did not parse above.
        SCHEMA_VERSION => Err(Damage::Format),
        n if n > SCHEMA_VERSION => Err(Damage::NewerSchema),
        // Schema 1 is the first; an upgrade step from n to n+1 goes here when schema 2
        // exists (docs/data-model.md).
        _ => Err(Damage::Format),
    }
}

pub(super) fn seal_json<T: Serialize, R: age::Recipient>(
    recipients: &[R],
    value: &T,
) -> Result<Vec<u8>> {
    let plain =
        Zeroizing::new(serde_json::to_vec(value).map_err(|e| Error::Encrypt(e.to_string()))?);
    crypto::seal_bytes(recipients.iter().map(|r| r as &dyn age::Recipient), &plain)
}

pub(super) fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
}

pub(super) fn base64_decode(s: &str) -> Option<Zeroizing<Vec<u8>>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(s)
        .ok()
        .map(Zeroizing::new)
}
