//! Is a Custos package the project's own? Checked offline, against the release keys this
//! build trusts.
//!
//! A release is a folder: the packages (`Custos_<version>_<arch>.deb`, …), `SHA256SUMS`
//! (`sha256sum`'s format: one `<hex>  <file name>` line per package) and
//! `SHA256SUMS.minisig`, a minisign signature over that list made with the release key
//! (`scripts/package`). Checking a package is two steps, both needed: the signature over
//! the list verifies with a key built into this build (`release/keys/*.pub`), then the
//! package's SHA-256 is one of the list's. The package is found by its hash, not its file
//! name, so a download renamed by a browser still checks; a list that names the same file
//! with another hash says the file was changed or damaged.
//!
//! Nothing here touches the network: the user brings the files.

use std::cmp::Ordering;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use minisign_verify::{PublicKey, Signature};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The list of hashes a release signs, and its signature, as `scripts/package` names them.
pub const SUMS: &str = "SHA256SUMS";
/// The minisign signature over [`SUMS`].
pub const SIGNATURE: &str = "SHA256SUMS.minisig";

struct BuiltIn {
    name: &'static str,
    text: &'static str,
    test_only: bool,
}

include!(concat!(env!("OUT_DIR"), "/keys.rs"));

/// A public key trusted to sign releases.
#[derive(Clone)]
pub struct ReleaseKey {
    name: String,
    id: String,
    test_only: bool,
    key: PublicKey,
}

impl ReleaseKey {
    /// Reads a key file as `minisign -G` writes it (an untrusted comment, then the key).
    pub fn parse(name: &str, text: &str) -> Result<ReleaseKey, CheckError> {
        let key = PublicKey::decode(text.trim()).map_err(|_| CheckError::BadKey {
            name: name.to_owned(),
        })?;
        let id = text
            .trim()
            .lines()
            .nth(1)
            .and_then(key_id)
            .ok_or_else(|| CheckError::BadKey {
                name: name.to_owned(),
            })?;
        Ok(ReleaseKey {
            name: name.to_owned(),
            id,
            test_only: false,
            key,
        })
    }

    /// The key file's name without `.pub` (`custos-release-2027`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key's id as minisign prints it (16 hex digits).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// True for a key built in only for a test package (`CUSTOS_RELEASE_TEST_KEY`).
    pub fn test_only(&self) -> bool {
        self.test_only
    }
}

impl fmt::Debug for ReleaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReleaseKey")
            .field("name", &self.name)
            .field("id", &self.id)
            .field("test_only", &self.test_only)
            .finish()
    }
}

/// minisign prints a key's id as the hexadecimal of its 8 id bytes read little-endian.
fn key_id(base64_line: &str) -> Option<String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(base64_line.trim())
        .ok()?;
    let id = bytes.get(2..10)?;
    Some(id.iter().rev().map(|b| format!("{b:02X}")).collect())
}

/// The keys this build trusts: `release/keys/*.pub` of the repository it was built from
/// (and a test package's throwaway key). They were parsed when it was built.
pub fn built_in_keys() -> Vec<ReleaseKey> {
    BUILT_IN
        .iter()
        .filter_map(|k| {
            let mut key = ReleaseKey::parse(k.name, k.text).ok()?;
            key.test_only = k.test_only;
            Some(key)
        })
        .collect()
}

/// How a checked package stands against the version running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Update {
    /// A newer version: an update.
    Newer,
    /// The version running.
    Same,
    /// An older version: installing it would undo fixes (and a signed old version with a
    /// known flaw is exactly what someone would hand a user to go back to it).
    Older,
    /// The list's name for it carries no version this can read.
    Unknown,
}

/// A package that checked: the release signed it.
#[derive(Debug, Clone, Serialize)]
pub struct Checked {
    /// Its name in the signed list (the name the release gave it).
    pub file: String,
    /// Its SHA-256, hex.
    pub sha256: String,
    /// The version its name carries (`Custos_0.2.0_amd64.deb` → `0.2.0`).
    pub version: Option<String>,
    /// Against the version running.
    pub update: Update,
    /// The release key that signed the list: its file name and id.
    pub key: String,
    pub key_id: String,
    /// True when that key is a test package's throwaway key, not a release key.
    pub test_key: bool,
    /// The signature's trusted comment (signed with the list: product, version, platform).
    pub comment: String,
}

/// Why a package did not check. Each is a stable kind the app and the command line
/// translate ([`CheckError::kind`]).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("this build trusts no release key (release/keys is empty)")]
    NoKeys,
    #[error("release key {name} is not a minisign public key")]
    BadKey { name: String },
    #[error("{} not found: copy it from the same release, beside the package", .0.display())]
    MissingFile(PathBuf),
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a minisign signature", .0.display())]
    MalformedSignature(PathBuf),
    #[error("{} line {line} is not `<sha-256>  <file>`", path.display())]
    MalformedSums { path: PathBuf, line: usize },
    #[error("the list of hashes is signed by key {key_id}, which this build does not trust")]
    UnknownKey { key_id: String },
    #[error(
        "the signature does not match the list of hashes: the list or its signature was changed"
    )]
    BadSignature,
    #[error(
        "{file} is in the signed list with another SHA-256: the package was changed or damaged"
    )]
    Changed { file: String },
    #[error("the package is not in the signed list of this release (SHA-256 {sha256})")]
    NotInRelease { sha256: String },
}

impl CheckError {
    /// A stable name for the kind of failure (the translated sentences are keyed by it).
    pub fn kind(&self) -> &'static str {
        match self {
            CheckError::NoKeys => "package_no_keys",
            CheckError::BadKey { .. } => "package_bad_key",
            CheckError::MissingFile(_) => "package_missing_file",
            CheckError::Io { .. } => "package_io",
            CheckError::MalformedSignature(_) => "package_malformed_signature",
            CheckError::MalformedSums { .. } => "package_malformed_sums",
            CheckError::UnknownKey { .. } => "package_unknown_key",
            CheckError::BadSignature => "package_bad_signature",
            CheckError::Changed { .. } => "package_changed",
            CheckError::NotInRelease { .. } => "package_not_in_release",
        }
    }
}

/// Checks `package` against `SHA256SUMS` and `SHA256SUMS.minisig` in its own folder.
pub fn check(package: &Path, keys: &[ReleaseKey], running: &str) -> Result<Checked, CheckError> {
    let dir = package.parent().unwrap_or(Path::new("."));
    check_with(
        package,
        &dir.join(SUMS),
        &dir.join(SIGNATURE),
        keys,
        running,
    )
}

/// Checks `package` against a list of hashes and its signature, with `keys`, and places
/// its version against `running` (this program's version).
pub fn check_with(
    package: &Path,
    sums: &Path,
    signature: &Path,
    keys: &[ReleaseKey],
    running: &str,
) -> Result<Checked, CheckError> {
    if keys.is_empty() {
        return Err(CheckError::NoKeys);
    }
    let sums_bytes = read(sums)?;
    let signature_text = String::from_utf8(read(signature)?)
        .map_err(|_| CheckError::MalformedSignature(signature.to_owned()))?;
    let sig = Signature::decode(&signature_text)
        .map_err(|_| CheckError::MalformedSignature(signature.to_owned()))?;

    // The signature first: nothing in the list counts before it verifies.
    let mut signer = None;
    for key in keys {
        match key.key.verify(&sums_bytes, &sig, false) {
            Ok(()) => {
                signer = Some(key);
                break;
            }
            Err(minisign_verify::Error::UnexpectedKeyId) => continue,
            // The right key, and the list or the signature differ from what it signed
            // (a legacy, not pre-hashed signature is refused the same way).
            Err(_) => return Err(CheckError::BadSignature),
        }
    }
    let Some(signer) = signer else {
        return Err(CheckError::UnknownKey {
            key_id: signature_text
                .lines()
                .nth(1)
                .and_then(key_id)
                .unwrap_or_else(|| "?".to_owned()),
        });
    };

    let list = parse_sums(sums, &sums_bytes)?;
    let sha256 = hash_file(package)?;
    let file = match list.iter().find(|(hash, _)| *hash == sha256) {
        Some((_, name)) => name.clone(),
        None => {
            let own = package
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            return Err(match list.iter().find(|(_, name)| *name == own) {
                Some(_) => CheckError::Changed { file: own },
                None => CheckError::NotInRelease { sha256 },
            });
        }
    };
    let version = version_of(&file);
    let update = match (&version, semver::Version::parse(running)) {
        (Some(v), Ok(r)) => match v.cmp(&r) {
            Ordering::Greater => Update::Newer,
            Ordering::Equal => Update::Same,
            Ordering::Less => Update::Older,
        },
        _ => Update::Unknown,
    };
    Ok(Checked {
        file,
        sha256,
        version: version.map(|v| v.to_string()),
        update,
        key: signer.name.clone(),
        key_id: signer.id.clone(),
        test_key: signer.test_only,
        comment: sig.trusted_comment().to_owned(),
    })
}

fn read(path: &Path) -> Result<Vec<u8>, CheckError> {
    std::fs::read(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => CheckError::MissingFile(path.to_owned()),
        _ => CheckError::Io {
            path: path.to_owned(),
            source,
        },
    })
}

/// `sha256sum`'s lines: 64 hex digits, a space, a space or `*`, the file name.
fn parse_sums(path: &Path, bytes: &[u8]) -> Result<Vec<(String, String)>, CheckError> {
    let bad = |line| CheckError::MalformedSums {
        path: path.to_owned(),
        line,
    };
    let text = std::str::from_utf8(bytes).map_err(|_| bad(1))?;
    let mut list = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (hash, rest) = line.split_at_checked(64).ok_or_else(|| bad(i + 1))?;
        let name = rest
            .strip_prefix("  ")
            .or_else(|| rest.strip_prefix(" *"))
            .filter(|n| !n.is_empty())
            .ok_or_else(|| bad(i + 1))?;
        if !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad(i + 1));
        }
        list.push((hash.to_ascii_lowercase(), name.to_owned()));
    }
    Ok(list)
}

fn hash_file(path: &Path) -> Result<String, CheckError> {
    let io = |source: std::io::Error| match source.kind() {
        std::io::ErrorKind::NotFound => CheckError::MissingFile(path.to_owned()),
        _ => CheckError::Io {
            path: path.to_owned(),
            source,
        },
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The version in a package's name as Tauri's bundler writes it:
/// `Custos_0.2.0_amd64.deb`, `Custos_0.2.0_x64-setup.exe`, `Custos_0.2.0_aarch64.dmg`.
fn version_of(file: &str) -> Option<semver::Version> {
    semver::Version::parse(file.split('_').nth(1)?).ok()
}

#[cfg(test)]
mod tests;
