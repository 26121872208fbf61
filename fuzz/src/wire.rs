//! Entry points of the decoders of `custos-wire`: frames, pins (certificates), invites,
//! the signed roster log and the hub's roster answer, bundle plaintext.

use std::io::Read;

use custos_wire::{self as wire, roster_log, BundleReader, Invite, WireError};

/// A target: its name (and corpus folder) and its entry point.
pub type Target = (&'static str, fn(&[u8]));

/// The targets of this module.
pub const TARGETS: &[Target] = &[
    ("frames", frames),
    ("pin", pin),
    ("invite", invite),
    ("roster", roster),
    ("bundle", bundle),
];

/// A body of frames (a push to the hub, a pull answer, a bundle's objects). What
/// decodes encodes back to the same bytes.
pub fn frames(data: &[u8]) {
    if let Ok(frames) = wire::decode_frames(data) {
        let again = wire::encode_frames(&frames).expect("a decoded frame encodes");
        assert_eq!(again, data, "decode then encode changed the bytes");
    }
}

/// A certificate (DER) whose key is pinned, and a pin as text.
pub fn pin(data: &[u8]) {
    if let Some(p) = wire::pin_of_cert(data) {
        assert!(wire::is_pin(&p));
    }
    let _ = wire::is_pin(&String::from_utf8_lossy(data));
}

/// An invite: as the text a user pastes, and as the JSON inside it.
pub fn invite(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    check_invite(&text);
    check_invite(&format!("custos-invite:{}", wire::b64(data)));
}

fn check_invite(text: &str) {
    if let Ok(invite) = Invite::decode(text) {
        assert_eq!(Invite::decode(&invite.encode()).as_ref(), Ok(&invite));
    }
}

/// The hub's roster answer (`GET /v1/roster`) and the signed roster log in it, verified
/// against the key of its first entry, then again against the head it verified to.
pub fn roster(data: &[u8]) {
    let log = match serde_json::from_slice::<wire::Roster>(data) {
        Ok(r) => r.log,
        Err(_) => match serde_json::from_slice::<Vec<roster_log::Entry>>(data) {
            Ok(log) => log,
            Err(_) => return,
        },
    };
    let _ = roster_log::mark(&log);
    let Some(key) = roster_log::genesis_key(&log) else {
        return;
    };
    if let Ok(v) = roster_log::verify(&key, None, &log) {
        roster_log::verify(&key, Some(&v.head), &log).expect("a log verifies against its head");
        let _ = roster_log::verify(&key, Some(&v.head), &log[..log.len() - 1]);
    }
}

/// A bundle's plaintext (after age decryption), read as the importer reads it: header,
/// every object, every blob's bytes, the signature.
pub fn bundle(data: &[u8]) {
    let _ = read_bundle(data);
}

/// Reads a whole bundle plaintext from `r` (the signature is accepted whatever it is:
/// what follows it is checked).
pub fn read_bundle(r: impl Read) -> Result<(), WireError> {
    let mut r = BundleReader::new(r)?;
    for _ in 0..r.header.objects {
        r.frame()?;
    }
    let mut buf = vec![0u8; 64 * 1024];
    for b in r.header.blobs.clone() {
        let mut left = b.size;
        while left > 0 {
            let n = left.min(buf.len() as u64) as usize;
            r.blob_bytes(&mut buf[..n])?;
            left -= n as u64;
        }
    }
    r.finish(|_, _| true)
}

/// A body of two frames, as the encoder writes it.
pub fn frames_seed(recipient: &str) -> Vec<u8> {
    let frame = |seq: u64, n| wire::Frame {
        seq,
        id: uuid::Uuid::from_u128(seq as u128 + 7),
        audience: vec![recipient.to_owned(), "age1other".into()],
        ciphertext: vec![0x5a; n],
    };
    wire::encode_frames(&[frame(1, 40), frame(2, 3)]).expect("frames encode")
}

/// A bundle's plaintext as the writer writes it: a header, two frames, a blob of five
/// bytes, a signature (zeros: the entry points accept any).
pub fn bundle_seed(recipient: &str) -> Vec<u8> {
    use custos_wire::{BundleBlob, BundleHeader, BundleWriter};
    let header = BundleHeader {
        device_id: uuid::Uuid::from_u128(3),
        signer: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
        created: chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("a time"),
        objects: 2,
        blobs: vec![BundleBlob {
            id: uuid::Uuid::from_u128(5),
            size: 5,
            sha256: "0".repeat(64),
            audience: vec![recipient.to_owned()],
        }],
    };
    let mut w = BundleWriter::new(Vec::new(), &header).expect("a bundle header");
    w.write(&frames_seed(recipient)).expect("frames");
    w.write(b"12345").expect("blob");
    w.finish(|_| [0u8; 64]).expect("a bundle")
}
