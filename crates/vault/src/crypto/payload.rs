//! Reading the payload of an age file whose file key is known and whose exact bytes were
//! checked before: one ChaCha20-Poly1305 pass, without parsing the header again.
//!
//! The key cache ([`super::KeyCache`]) finds a value's file key by the SHA-256 of its
//! exact ciphertext, and only for ciphertexts this vault wrote or read whole through the
//! age crate (header MAC and every chunk checked, signature verified). For those the
//! header cannot have changed since — any change changes the digest — so reading it
//! again (its stanzas, its base64, its HMAC) proves nothing new; at 10k records it was a
//! quarter of a get. The payload is still authenticated chunk by chunk, as age does.
//!
//! The payload (age-encryption.org/v1): after the header's MAC line, a 16-byte nonce,
//! then the STREAM: chunks of 64 KiB of plaintext, each with its 16-byte Poly1305 tag,
//! the last one possibly shorter; the payload key is `HKDF-SHA-256(ikm = file key, salt
//! = nonce, info = "payload")`, and chunk `i` is sealed with the 12-byte nonce `i` (11
//! bytes, big-endian) followed by 1 for the last chunk, 0 for the others. Anything that
//! does not fit — a header without its MAC line, a short chunk before the last, an empty
//! last chunk after others, a tag that fails — is an error, and the caller reads the
//! value through the age crate instead (which then says what is wrong).

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce, Tag};
use zeroize::Zeroizing;

const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;
const NONCE: usize = 16;
const HEADER_START: &[u8] = b"age-encryption.org/v1\n";

/// Where the payload starts: after the header's MAC line (`--- <base64>\n`). Stanza
/// lines begin with `->` and their bodies are base64, so the first line that begins with
/// `---` is the MAC line.
fn payload_start(ct: &[u8]) -> Option<usize> {
    if !ct.starts_with(HEADER_START) {
        return None;
    }
    let mac = ct.windows(5).position(|w| w == b"\n--- ")? + 1;
    let end = ct[mac..].iter().position(|b| *b == b'\n')?;
    Some(mac + end + 1)
}

/// The plaintext of the age file `ct` encrypted with `file_key`, or `Err(())` when it
/// is not one (see the module).
pub fn open(file_key: &[u8; 16], ct: &[u8]) -> Result<Zeroizing<Vec<u8>>, ()> {
    let start = payload_start(ct).ok_or(())?;
    let nonce = ct.get(start..start + NONCE).ok_or(())?;
    let body = &ct[start + NONCE..];
    let key = Zeroizing::new(age_core::primitives::hkdf(nonce, b"payload", file_key));
    let aead = ChaCha20Poly1305::new((&*key).into());
    if body.len() < TAG {
        return Err(());
    }
    let chunks = body.len().div_ceil(CHUNK + TAG);
    let mut out = Zeroizing::new(Vec::with_capacity(body.len()));
    for (i, chunk) in body.chunks(CHUNK + TAG).enumerate() {
        let last = i + 1 == chunks;
        if chunk.len() < TAG || (last && chunk.len() == TAG && i > 0) {
            return Err(());
        }
        let (sealed, tag) = chunk.split_at(chunk.len() - TAG);
        let mut n = [0u8; 12];
        n[3..11].copy_from_slice(&(i as u64).to_be_bytes());
        n[11] = u8::from(last);
        let at = out.len();
        out.extend_from_slice(sealed);
        aead.decrypt_in_place_detached(
            Nonce::from_slice(&n),
            b"",
            &mut out[at..],
            Tag::from_slice(tag),
        )
        .map_err(|_| ())?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// An age file of `plain` to a fresh identity, and its file key.
    fn sealed(plain: &[u8]) -> (Vec<u8>, [u8; 16], age::x25519::Identity) {
        let id = age::x25519::Identity::generate();
        let remember = crate::crypto::Remember {
            inner: &id.to_public(),
            key: std::cell::RefCell::new(None),
        };
        let enc =
            age::Encryptor::with_recipients(std::iter::once(&remember as &dyn age::Recipient))
                .unwrap();
        let mut out = Vec::new();
        let mut w = enc.wrap_output(&mut out).unwrap();
        w.write_all(plain).unwrap();
        w.finish().unwrap();
        let key = *remember.key.into_inner().unwrap();
        (out, key, id)
    }

    fn text(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn reads_what_age_reads_at_every_chunk_boundary() {
        for n in [
            0,
            1,
            2048,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            2 * CHUNK,
            2 * CHUNK + 7,
            200_000,
        ] {
            let plain = text(n);
            let (ct, key, id) = sealed(&plain);
            assert_eq!(age::decrypt(&id, &ct).unwrap(), plain, "{n}");
            assert_eq!(&open(&key, &ct).unwrap()[..], &plain[..], "{n} bytes");
        }
    }

    #[test]
    fn a_changed_cut_or_lengthened_payload_is_refused() {
        let plain = text(2 * CHUNK + 100);
        let (ct, key, _) = sealed(&plain);
        let start = payload_start(&ct).unwrap();
        // A flipped byte in the nonce, in each chunk, in the last tag.
        for at in [
            start,
            start + NONCE + 5,
            start + NONCE + CHUNK + TAG + 9,
            ct.len() - 1,
        ] {
            let mut bad = ct.clone();
            bad[at] ^= 1;
            assert!(open(&key, &bad).is_err(), "flipped at {at}");
        }
        // Cut after a whole chunk: the chunk left last was not sealed as the last one.
        let cut = &ct[..start + NONCE + CHUNK + TAG];
        assert!(open(&key, cut).is_err());
        // Cut inside a chunk, and the payload cut away whole.
        assert!(open(&key, &ct[..ct.len() - 50]).is_err());
        assert!(open(&key, &ct[..start + NONCE]).is_err());
        assert!(open(&key, &ct[..start]).is_err());
        // Something appended: an empty final chunk after the real last one.
        let mut longer = ct.clone();
        longer.extend_from_slice(&[0u8; TAG]);
        assert!(open(&key, &longer).is_err());
        // Another file key.
        let mut other = key;
        other[0] ^= 1;
        assert!(open(&other, &ct).is_err());
        // Not an age file at all, or one without its MAC line.
        assert!(open(&key, b"not an age file").is_err());
        assert!(open(&key, &ct[..start - 3]).is_err());
        // The value itself still reads.
        assert_eq!(&open(&key, &ct).unwrap()[..], &plain[..]);
    }

    #[test]
    fn an_empty_value_is_one_empty_last_chunk() {
        let (ct, key, _) = sealed(b"");
        let start = payload_start(&ct).unwrap();
        assert_eq!(ct.len(), start + NONCE + TAG);
        assert!(open(&key, &ct).unwrap().is_empty());
    }
}
