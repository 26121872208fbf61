//! Entry points of `custos-sync`: the hub's HTTP answers as the device reads them, and a
//! bundle file (age, then the bundle plaintext) as the importer reads it.

use std::iter;
use std::sync::OnceLock;

use custos_sync::net;

/// A target: its name (and corpus folder) and its entry point.
pub type Target = (&'static str, fn(&[u8]));

/// The targets of this module.
pub const TARGETS: &[Target] = &[
    ("http_response", http_response),
    ("bundle_file", bundle_file),
];

/// Bytes from the hub's side of a connection: answers read one after another, as on the
/// device's persistent connection, until one fails.
pub fn http_response(data: &[u8]) {
    let mut r = data;
    while let Ok(resp) = net::read_response(&mut r) {
        assert!(resp.body.len() <= custos_wire::MAX_BODY + (1 << 20));
        let _ = resp.header("custos-next");
        let _ = resp.json::<custos_wire::Roster>();
    }
}

/// A bundle file: `data` as the age file (decrypted with a vault identity, then read),
/// and as the plaintext encrypted to that identity and read back through age.
pub fn bundle_file(data: &[u8]) {
    static IDENTITY: OnceLock<age::x25519::Identity> = OnceLock::new();
    let identity = IDENTITY.get_or_init(age::x25519::Identity::generate);
    read_age_bundle(identity, data);
    let recipient = identity.to_public();
    if let Ok(enc) = age::Encryptor::with_recipients(iter::once(&recipient as &dyn age::Recipient))
    {
        let mut ct = Vec::new();
        if let Ok(mut w) = enc.wrap_output(&mut ct) {
            if std::io::Write::write_all(&mut w, data).is_ok() && w.finish().is_ok() {
                read_age_bundle(identity, &ct);
            }
        }
    }
}

fn read_age_bundle(identity: &age::x25519::Identity, file: &[u8]) {
    let Ok(d) = age::Decryptor::new(std::io::BufReader::new(file)) else {
        return;
    };
    let Ok(r) = d.decrypt(iter::once(identity as &dyn age::Identity)) else {
        return;
    };
    let _ = crate::wire::read_bundle(r);
}

/// Valid inputs of each target: answers as the hub writes them, and a bundle file.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut out: Vec<(&'static str, Vec<u8>)> = vec![
        (
            "http_response",
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncustos-next: 9\r\ncustos-more: true\r\n\r\nhello\
HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\ntrailer: x\r\n\r\n"
                .to_vec(),
        ),
        (
            "http_response",
            b"HTTP/1.1 409 Conflict\r\ncontent-type: application/json\r\ncontent-length: 37\r\n\r\n{\"error\":\"x\",\"message\":\"a conflict\"}"
                .to_vec(),
        ),
    ];
    let identity = age::x25519::Identity::generate();
    let plain = crate::wire::bundle_seed(&identity.to_public().to_string());
    let recipient = identity.to_public();
    let enc = age::Encryptor::with_recipients(iter::once(&recipient as &dyn age::Recipient))
        .expect("an encryptor");
    let mut ct = Vec::new();
    let mut w = enc.wrap_output(&mut ct).expect("age");
    std::io::Write::write_all(&mut w, &plain).expect("age");
    w.finish().expect("age");
    out.push(("bundle_file", ct));
    out.push(("bundle_file", plain));
    out
}
