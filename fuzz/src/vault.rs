//! Entry points of `custos-vault`: the record index snapshot, the sealed envelope of
//! every stored value (age, then the signed JSON envelope, then the version), the key
//! cache, and the evidence files (the age header and STREAM body of a blob, custody
//! entries).

use std::io::Read;
use std::iter;
use std::sync::OnceLock;

use custos_vault::crypto::{self, DeviceKey, KeyCache, VaultIdentity};
use custos_vault::index::Index;
use custos_vault::{parse_version, CustodyEntry};

/// A target: its name (and corpus folder) and its entry point.
pub type Target = (&'static str, fn(&[u8]));

/// The targets of this module.
pub const TARGETS: &[Target] = &[
    ("index_snapshot", index_snapshot),
    ("envelope", envelope),
    ("evidence", evidence),
];

/// The keys the targets encrypt to and sign with (made once per process).
pub struct Keys {
    /// The vault identity.
    pub identity: VaultIdentity,
    /// A device key.
    pub device: DeviceKey,
    /// Its public half (base64).
    pub signer: String,
}

/// The keys of this process.
pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let device = DeviceKey::generate();
        Keys {
            identity: crypto::generate_identity(),
            signer: device.public(),
            device,
        }
    })
}

/// The plaintext of the record index snapshot (postcard), read at every unlock. What
/// restores saves and restores again to the same records.
pub fn index_snapshot(data: &[u8]) {
    if let Some((index, epoch)) = Index::from_snapshot(data) {
        let _ = (index.version_count(), index.max_hlc(), index.changes());
        for e in index.entries() {
            let _ = (e.head(), e.deleted(), e.conflict());
        }
        let again = index.to_snapshot(&epoch).expect("a restored index saves");
        let (back, epoch2) = Index::from_snapshot(&again).expect("a saved index restores");
        assert_eq!(epoch2, epoch);
        assert_eq!(back.version_count(), index.version_count());
    }
}

/// A stored value: `data` as the ciphertext; as the envelope plaintext (encrypted here to
/// the vault); as the version JSON inside a signed envelope; and as the key cache.
pub fn envelope(data: &[u8]) {
    let k = keys();
    let trusted = [k.signer.clone()];
    let none = KeyCache::default();
    let _ = parse_version(data);
    if let Some(cache) = KeyCache::from_bytes(data) {
        assert_eq!(cache.to_bytes().len(), cache.len() * 48);
    }
    // As ciphertext.
    let _ = crypto::open(&k.identity, &trusted, &none, data);
    // As the envelope's plaintext.
    let recipient = k.identity.to_public();
    if let Ok(ct) = crypto::seal_bytes(iter::once(&recipient as &dyn age::Recipient), data) {
        let _ = crypto::open(&k.identity, &trusted, &none, &ct);
    }
    // As the version inside an envelope this vault signed: the full read path, then
    // again through the key cache. The envelope keeps the body without the whitespace
    // around it (`corpus/envelope/regress-untrimmed-body`: `seal` once signed the
    // untrimmed bytes, and such a value never opened).
    if let Ok(sealed) = crypto::seal(&[recipient], &k.device, &k.signer, data) {
        let opened = crypto::open(&k.identity, &trusted, &none, &sealed.ciphertext)
            .expect("a sealed value opens");
        assert_eq!(&opened.body[..], data.trim_ascii());
        let _ = parse_version(&opened.body);
        let mut cache = KeyCache::default();
        cache.insert(sealed.learned);
        let again = crypto::open(&k.identity, &[], &cache, &sealed.ciphertext)
            .expect("a known ciphertext opens through the cache");
        assert_eq!(&again.body[..], data.trim_ascii());
    }
}

/// An evidence file: `data` as the whole `.age` blob, and as the body after a valid
/// header (the first byte picks which); also as a custody entry's JSON.
pub fn evidence(data: &[u8]) {
    let k = keys();
    let _ = serde_json::from_slice::<CustodyEntry>(data);
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    if pick & 1 == 0 {
        read_blob(&k.identity, rest);
    } else {
        static HEADER: OnceLock<Vec<u8>> = OnceLock::new();
        let header = HEADER.get_or_init(|| {
            let r = keys().identity.to_public();
            let ct =
                crypto::seal_bytes(iter::once(&r as &dyn age::Recipient), b"x").expect("seals");
            // The header ends after "--- <mac>\n"; the STREAM nonce and chunks follow.
            let end = ct.windows(4).position(|w| w == b"\n---").expect("a header") + 1;
            let nl = ct[end..]
                .iter()
                .position(|&b| b == b'\n')
                .expect("mac line")
                + end
                + 1;
            ct[..nl].to_vec()
        });
        let mut blob = header.clone();
        blob.extend_from_slice(rest);
        read_blob(&k.identity, &blob);
    }
}

/// Decrypts a blob as the vault reads evidence (streaming, 64 KiB at a time).
fn read_blob(identity: &VaultIdentity, blob: &[u8]) {
    let Ok(d) = age::Decryptor::new_buffered(blob) else {
        return;
    };
    let Ok(mut r) = d.decrypt(iter::once(identity as &dyn age::Identity)) else {
        return;
    };
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n) = r.read(&mut buf) {
        if n == 0 {
            break;
        }
    }
}

/// A version of a record as the vault writes it (`record` is the record's JSON).
pub fn version_seed(record: &[u8], n: u128) -> custos_model::Version {
    custos_model::Version {
        schema_version: custos_model::SCHEMA_VERSION,
        record_id: uuid::Uuid::from_u128(n),
        version_id: uuid::Uuid::from_u128(n + 1000),
        kind: custos_model::Kind::Case,
        parents: vec![uuid::Uuid::from_u128(n + 2000)],
        hlc: custos_model::hlc::Hlc {
            ms: 1_700_000_000_000 + n as u64,
            counter: 1,
        },
        device: uuid::Uuid::from_u128(7),
        audience: vec!["age1x".into()],
        chain: Some(custos_model::Chain {
            seq: n as u64,
            prev: None,
        }),
        body: custos_model::Body::Record(
            custos_model::Record::from_json(serde_json::from_slice(record).expect("json"))
                .expect("a record"),
        ),
    }
}

/// Valid inputs of each target: an index snapshot of versions, a version's JSON, an
/// evidence file and a custody entry.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let case = br#"{"kind": "case", "title": "Raid", "tags": ["a"]}"#;
    let mut index = Index::default();
    let versions: Vec<custos_model::Version> = (1..4).map(|n| version_seed(case, n)).collect();
    for v in &versions {
        index.add(v);
    }
    let mut tomb = version_seed(case, 1);
    tomb.version_id = uuid::Uuid::from_u128(5000);
    tomb.parents = vec![versions[0].version_id];
    tomb.body = custos_model::Body::Tombstone;
    index.add(&tomb);
    let snapshot = index.to_snapshot(b"epoch").expect("a snapshot").to_vec();
    let version = serde_json::to_vec(&versions[0]).expect("json");
    let r = keys().identity.to_public();
    let blob =
        crypto::seal_bytes(iter::once(&r as &dyn age::Recipient), &[0x42; 70_000]).expect("seals");
    let mut whole = vec![0u8];
    whole.extend_from_slice(&blob);
    let end = blob
        .windows(4)
        .position(|w| w == b"\n---")
        .expect("a header")
        + 1;
    let nl = blob[end..].iter().position(|&b| b == b'\n').expect("mac") + end + 1;
    let mut body = vec![1u8];
    body.extend_from_slice(&blob[nl..]);
    vec![
        ("index_snapshot", snapshot),
        ("envelope", version),
        ("evidence", whole),
        ("evidence", body),
        (
            "evidence",
            br#"{"evidence_id":"00000000-0000-4000-8000-000000000001","seq":0,"action":"imported","at":"2024-01-01T00:00:00Z","device":"00000000-0000-4000-8000-000000000002","sha256":"00","detail":"","prev":"00"}"#.to_vec(),
        ),
    ]
}
