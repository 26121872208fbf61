//! The byte forms of what the vault stores: signed caches, versions checked against
//! the ids they were stored under, sealed JSON, base64.

use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::crypto::{self, KeyCache};
use crate::error::{Damage, Error, Result};
use custos_model::{Version, SCHEMA_VERSION};

use super::*;

/// What starts a signed cache (the record index's snapshot, the key cache) as earlier
/// builds wrote it: the magic, then an Ed25519 signature of the body's SHA-256 by the
/// device that wrote it, then the body. Still read (a vault written before format 2 opens
/// without rebuilding its index), and written again as format 2 at the next lock.
pub(super) const SIGNED_MAGIC_1: &[u8] = b"custos-signed 1\n";

/// Format 2: the magic, then the device's signature of the digest binding the file's
/// own key to what it holds ([`crypto::key_digest`]), then the body. The file is sealed
/// under a file key made for it alone ([`crypto::SharedKey`]), so the signature covers
/// every byte of it without a hash of the body.
pub(super) const SIGNED_MAGIC: &[u8] = b"custos-signed 2\n";

/// What the record index's snapshot holds, for its key's digest.
pub(super) const INDEX_SNAPSHOT: &[u8] = b"record index";
/// What the key cache holds, for its key's digest.
pub(super) const KEY_CACHE: &[u8] = b"key cache";

/// `body` as a signed cache sealed under `key`, with `sig`, the signature binding that
/// key ([`Vault::key_to_self`]).
pub(super) fn seal_signed(key: &crypto::SharedKey, sig: &[u8; 64], body: &[u8]) -> Result<Vec<u8>> {
    let mut plain = Zeroizing::new(Vec::with_capacity(SIGNED_MAGIC.len() + 64 + body.len()));
    plain.extend_from_slice(SIGNED_MAGIC);
    plain.extend_from_slice(sig);
    plain.extend_from_slice(body);
    key.seal_bytes(&plain)
}

/// The body of a signed cache when its signature checks, and whether it was of format
/// 1 (to be written again). `bound` is the digest binding its file's key
/// ([`crypto::open_owned_keyed`]).
pub(super) fn signed_body<'a>(
    bytes: &'a [u8],
    bound: &[u8; 32],
    verify: &dyn Fn(&[u8; 32], &[u8; 64]) -> bool,
) -> Option<(&'a [u8], bool)> {
    use sha2::Digest as _;
    let (rest, old) = match bytes.strip_prefix(SIGNED_MAGIC) {
        Some(rest) => (rest, false),
        None => (bytes.strip_prefix(SIGNED_MAGIC_1)?, true),
    };
    let sig: [u8; 64] = rest.get(..64)?.try_into().ok()?;
    let body = &rest[64..];
    let digest: [u8; 32] = if old {
        sha2::Sha256::digest(body).into()
    } else {
        *bound
    };
    verify(&digest, &sig).then_some((body, old))
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
        let e = match json_text(&envelope).and_then(|t| serde_json::from_str::<Envelope>(t).ok()) {
            Some(e) if e.body.schema_version == SCHEMA_VERSION => e,
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

/// JSON bytes as text, checked as UTF-8 once (with SIMD) instead of string by string as
/// `serde_json::from_slice` does: on a full read of a vault whose records are in
/// Arabic, Russian or Chinese, that check was a sixth of the time. `None` if not UTF-8.
fn json_text(json: &[u8]) -> Option<&str> {
    simdutf8::basic::from_utf8(json).ok()
}

/// Parses a version's JSON, upgrading an older schema.
pub fn parse_version(json: &[u8]) -> std::result::Result<Version, Damage> {
    #[derive(Deserialize)]
    struct Peek {
        schema_version: u32,
    }
    // The current schema is read in one pass; anything else is classified below.
    let text = json_text(json).ok_or(Damage::Format)?;
    if let Ok(v) = serde_json::from_str::<Version>(text) {
        if v.schema_version == SCHEMA_VERSION {
            return Ok(v);
        }
    }
    let peek: Peek = serde_json::from_str(text).map_err(|_| Damage::Format)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use custos_model::hlc::Hlc;
    use custos_model::{Body, Case, Kind, Record};

    fn version(title: &str) -> Version {
        Version {
            schema_version: SCHEMA_VERSION,
            record_id: Uuid::new_v4(),
            version_id: Uuid::new_v4(),
            kind: Kind::Case,
            parents: vec![],
            hlc: Hlc { ms: 1, counter: 0 },
            device: Uuid::new_v4(),
            audience: vec![],
            chain: None,
            body: Body::Record(Record::Case(Case {
                title: title.into(),
                ..Case::default()
            })),
        }
    }

    #[test]
    fn a_version_is_read_as_text_checked_once_and_bad_bytes_are_damage() {
        for title in [
            "plain",
            "توقيف صحفي",
            "Ёлка",
            "証人 🙂",
            "a\u{0}b \\\" \u{7f}",
        ] {
            let v = version(title);
            let json = serde_json::to_vec(&v).unwrap();
            assert_eq!(parse_version(&json).unwrap(), v, "{title}");
        }
        let json = serde_json::to_vec(&version("ab")).unwrap();
        let at = json.windows(4).position(|w| w == b"\"ab\"").unwrap() + 1;
        // A byte that is not UTF-8 inside a string, a lone continuation byte, a
        // multi-byte character cut short: the version is damaged, not read.
        for bad in [&[0xff][..], &[0x80], &[0xe3, 0x81]] {
            let mut broken = json.clone();
            broken.splice(at..at + 1, bad.iter().copied());
            assert_eq!(parse_version(&broken), Err(Damage::Format), "{bad:?}");
        }
        assert_eq!(parse_version(b""), Err(Damage::Format));
        let mut newer = serde_json::to_value(version("x")).unwrap();
        newer["schema_version"] = (SCHEMA_VERSION + 1).into();
        let newer = serde_json::to_vec(&newer).unwrap();
        assert_eq!(parse_version(&newer), Err(Damage::NewerSchema));
    }
}
