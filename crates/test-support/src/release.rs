//! Release folders signed with throwaway keys, as `scripts/package` makes them with
//! minisign: packages, `SHA256SUMS` over them, `SHA256SUMS.minisig` over that list.

use std::io::Cursor;
use std::path::Path;

use sha2::{Digest, Sha256};

/// A release key made for one test (unencrypted, as `minisign -G -W` makes one).
pub struct Signer {
    pair: minisign::KeyPair,
}

impl Default for Signer {
    fn default() -> Self {
        Self::new()
    }
}

impl Signer {
    /// A new key pair.
    pub fn new() -> Signer {
        Signer {
            pair: minisign::KeyPair::generate_unencrypted_keypair().expect("key pair"),
        }
    }

    /// The public key as a `.pub` file holds it (an untrusted comment, then the key).
    pub fn public_text(&self) -> String {
        self.pair.pk.to_box().expect("key box").into_string()
    }

    /// Writes the public key file.
    pub fn write_public(&self, path: &Path) {
        std::fs::write(path, self.public_text()).expect("write the key file");
    }

    /// A minisign signature of `data` (pre-hashed, as minisign makes by default) with
    /// `comment` as its trusted comment.
    pub fn sign(&self, data: &[u8], comment: &str) -> String {
        minisign::sign(
            Some(&self.pair.pk),
            &self.pair.sk,
            Cursor::new(data),
            Some(comment),
            None,
        )
        .expect("signing")
        .into_string()
    }

    /// Writes each package into `dir`, then `SHA256SUMS` over them and its signature;
    /// returns the list's text.
    pub fn write_release(&self, dir: &Path, packages: &[(&str, &[u8])], comment: &str) -> String {
        let mut sums = String::new();
        for (name, body) in packages {
            std::fs::write(dir.join(name), body).expect("write a package");
            sums.push_str(&format!("{}  {name}\n", sha256_hex(body)));
        }
        std::fs::write(dir.join("SHA256SUMS"), &sums).expect("write SHA256SUMS");
        std::fs::write(
            dir.join("SHA256SUMS.minisig"),
            self.sign(sums.as_bytes(), comment),
        )
        .expect("write SHA256SUMS.minisig");
        sums
    }
}

/// The SHA-256 of `bytes`, lower-case hex (as `sha256sum` writes it).
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
