//! Reading the payload of an age file whose file key is known and whose exact bytes were
//! checked before: one ChaCha20-Poly1305 pass, without parsing the header again. And
//! writing one behind a header age wrote for that file key ([`seal`]).
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

/// From this many chunks (2 MiB) on, the chunks are decrypted on every core: a large
/// sealed file (the search snapshot, 58 MB at 100k records) is read at unlock, while the
/// record index is read on the other core or after it.
const PARALLEL_FROM: usize = 32;

/// The plaintext of the age file `ct` encrypted with `file_key`, or `Err(())` when it
/// is not one (see the module).
pub fn open(file_key: &[u8; 16], ct: &[u8]) -> Result<Zeroizing<Vec<u8>>, ()> {
    open_in_place(file_key, Zeroizing::new(ct.to_vec()))
}

/// [`open`], in the ciphertext's own buffer: each chunk is decrypted where it lies, then
/// moved down over the tags before it. A large file (the search snapshot) is read without
/// a second buffer of its size. On an error, what was decrypted is wiped with the buffer.
pub fn open_in_place(
    file_key: &[u8; 16],
    mut ct: Zeroizing<Vec<u8>>,
) -> Result<Zeroizing<Vec<u8>>, ()> {
    let start = payload_start(&ct).ok_or(())?;
    let aead = payload_aead(file_key, ct.get(start..start + NONCE).ok_or(())?);
    let body = &mut ct[start + NONCE..];
    // Every chunk but the last is whole; the last holds at least its tag, and some
    // plaintext too unless it is the only one (an empty file).
    let chunks = body.len().div_ceil(CHUNK + TAG).max(1);
    let last = body
        .len()
        .checked_sub((chunks - 1) * (CHUNK + TAG))
        .ok_or(())?;
    if last < TAG || (last == TAG && chunks > 1) {
        return Err(());
    }
    let plain_len = body.len() - chunks * TAG;
    // Each chunk is opened where it lies, so that the chunks can be opened in any
    // order, on any thread.
    let one = |i: usize, chunk: &mut [u8]| -> Result<(), ()> {
        let (sealed, tag) = chunk.split_at_mut(chunk.len() - TAG);
        let n = chunk_nonce(i, i + 1 == chunks);
        aead.decrypt_in_place_detached(&n, b"", sealed, Tag::from_slice(tag))
            .map_err(|_| ())
    };
    if chunks >= PARALLEL_FROM {
        use rayon::prelude::*;
        body.par_chunks_mut(CHUNK + TAG)
            .enumerate()
            .try_for_each(|(i, chunk)| one(i, chunk))?;
    } else {
        for (i, chunk) in body.chunks_mut(CHUNK + TAG).enumerate() {
            one(i, chunk)?;
        }
    }
    // The plaintext to the front, chunk after chunk (each move goes down, never over
    // a chunk not moved yet).
    let body_at = start + NONCE;
    for i in 0..chunks {
        let from = body_at + i * (CHUNK + TAG);
        let len = CHUNK.min(plain_len - i * CHUNK);
        ct.copy_within(from..from + len, i * CHUNK);
    }
    ct.truncate(plain_len);
    Ok(ct)
}

/// The header of `file`, an age file: everything before its payload's nonce. Its
/// stanzas and MAC depend on the file key and the recipients only, not on the payload.
pub fn header(file: &[u8]) -> Option<&[u8]> {
    payload_start(file).map(|start| &file[..start])
}

/// An age file of `plain` behind `header` — the header of another age file, which age
/// wrote with `file_key` — with a fresh random nonce, so a payload key of its own: the
/// payload as age writes it and [`open`] reads it. `Err(())` if `header` is not a whole
/// age header.
pub fn seal(file_key: &[u8; 16], header: &[u8], plain: &[u8]) -> Result<Vec<u8>, ()> {
    if payload_start(header) != Some(header.len()) {
        return Err(());
    }
    let chunks = plain.len().div_ceil(CHUNK).max(1);
    let mut out = Vec::with_capacity(header.len() + NONCE + plain.len() + chunks * TAG);
    out.extend_from_slice(header);
    let nonce = super::random_bytes::<NONCE>();
    out.extend_from_slice(&nonce[..]);
    let aead = payload_aead(file_key, &nonce[..]);
    // An empty value is one empty last chunk.
    let mut parts = plain.chunks(CHUNK);
    for i in 0..chunks {
        let part = parts.next().unwrap_or_default();
        let at = out.len();
        out.extend_from_slice(part);
        let n = chunk_nonce(i, i + 1 == chunks);
        match aead.encrypt_in_place_detached(&n, b"", &mut out[at..]) {
            Ok(tag) => out.extend_from_slice(&tag),
            Err(_) => {
                // The chunk still holds its plaintext.
                zeroize::Zeroize::zeroize(&mut out);
                return Err(());
            }
        }
    }
    Ok(out)
}

/// The AEAD of a payload: its key is `HKDF-SHA-256(ikm = file key, salt = nonce, info =
/// "payload")`.
fn payload_aead(file_key: &[u8; 16], nonce: &[u8]) -> ChaCha20Poly1305 {
    let key = Zeroizing::new(age_core::primitives::hkdf(nonce, b"payload", file_key));
    ChaCha20Poly1305::new((&*key).into())
}

/// The nonce of chunk `i`: `i` in 11 bytes, big-endian, then 1 for the last chunk.
fn chunk_nonce(i: usize, last: bool) -> Nonce {
    let mut n = Nonce::default();
    n[3..11].copy_from_slice(&(i as u64).to_be_bytes());
    n[11] = u8::from(last);
    n
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
    fn large_files_are_read_on_every_core_and_still_checked_chunk_by_chunk() {
        for n in [
            (PARALLEL_FROM - 1) * CHUNK,
            PARALLEL_FROM * CHUNK,
            PARALLEL_FROM * CHUNK + 1,
            3_000_000,
        ] {
            let plain = text(n);
            let (ct, key, id) = sealed(&plain);
            assert_eq!(age::decrypt(&id, &ct).unwrap(), plain, "{n}");
            assert_eq!(&open(&key, &ct).unwrap()[..], &plain[..], "{n} bytes");
        }
        let plain = text(3_000_000);
        let (ct, key, _) = sealed(&plain);
        let body = payload_start(&ct).unwrap() + NONCE;
        let chunk = |i: usize| body + i * (CHUNK + TAG)..body + (i + 1) * (CHUNK + TAG);
        // A flipped byte in a chunk in the middle, read on another thread.
        let mut bad = ct.clone();
        bad[chunk(20).start + 100] ^= 1;
        assert!(open(&key, &bad).is_err());
        // Two chunks swapped: each is whole and authentic, at the wrong place.
        let mut swapped = ct.clone();
        let (a, b) = (ct[chunk(3)].to_vec(), ct[chunk(30)].to_vec());
        swapped[chunk(3)].copy_from_slice(&b);
        swapped[chunk(30)].copy_from_slice(&a);
        assert!(open(&key, &swapped).is_err());
        // Cut after a whole chunk, and a whole chunk taken out of the middle.
        assert!(open(&key, &ct[..chunk(40).end]).is_err());
        let mut shorter = ct[..chunk(10).start].to_vec();
        shorter.extend_from_slice(&ct[chunk(10).end..]);
        assert!(open(&key, &shorter).is_err());
    }

    #[test]
    fn files_sealed_behind_an_age_header_are_what_age_reads() {
        let (first, key, id) = sealed(b"the first value");
        let head = header(&first).unwrap();
        let mut nonces = std::collections::HashSet::new();
        for n in [
            0,
            1,
            2048,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            2 * CHUNK + 7,
            200_000,
        ] {
            let plain = text(n);
            let ct = seal(&key, head, &plain).unwrap();
            // The age crate reads it (header, MAC, every chunk) and so does `open`.
            assert_eq!(age::decrypt(&id, &ct).unwrap(), plain, "{n}");
            assert_eq!(&open(&key, &ct).unwrap()[..], &plain[..], "{n} bytes");
            assert_eq!(
                ct.len(),
                head.len() + NONCE + n + n.div_ceil(CHUNK).max(1) * TAG
            );
            // The same header; a nonce (so a payload key) of its own.
            assert_eq!(header(&ct), Some(head));
            assert!(nonces.insert(ct[head.len()..head.len() + NONCE].to_vec()));
        }
        // The same value twice: two different files.
        let a = seal(&key, head, b"same").unwrap();
        let b = seal(&key, head, b"same").unwrap();
        assert_ne!(a, b);
        // Behind a header age wrote with another file key: age refuses its MAC.
        let (other, _, other_id) = sealed(b"other");
        let forged = seal(&key, header(&other).unwrap(), b"x").unwrap();
        assert!(age::decrypt(&other_id, &forged).is_err());
        // Not a whole header: refused, nothing written.
        assert!(seal(&key, &head[..head.len() - 1], b"x").is_err());
        assert!(seal(&key, &first, b"x").is_err());
        assert!(seal(&key, b"", b"x").is_err());
    }

    #[test]
    fn an_empty_value_is_one_empty_last_chunk() {
        let (ct, key, _) = sealed(b"");
        let start = payload_start(&ct).unwrap();
        assert_eq!(ct.len(), start + NONCE + TAG);
        assert!(open(&key, &ct).unwrap().is_empty());
    }
}
