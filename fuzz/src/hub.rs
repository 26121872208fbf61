//! Entry points of the hub: every request body, decoded as the API decodes it (JSON, or
//! frames) and handed to a real hub (sled, in a temporary folder) as the API hands it.

use std::sync::OnceLock;

use custos_hub::hub::{check_audience, is_sha256_hex, Hub};
use custos_hub::keys::DataDir;
use custos_hub::store::Device;
use custos_wire::{self as wire, Role};

/// A target: its name (and corpus folder) and its entry point.
pub type Target = (&'static str, fn(&[u8]));

/// The targets of this module.
pub const TARGETS: &[Target] = &[("hub_bodies", hub_bodies)];

struct Fixture {
    hub: Hub,
    device: Device,
    _dir: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let hub = Hub::open(DataDir::new(dir.path())).expect("a hub opens");
        let device = Device {
            id: uuid::Uuid::from_u128(1),
            pin: format!("sha256:{}", "ab".repeat(32)),
            label: "fuzz".into(),
            role: Role::Coordinator,
            signer: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
            vault_recipient: "age1qqqq".into(),
            enrolled_at: chrono::Utc::now(),
            revoked: false,
        };
        Fixture {
            hub,
            device,
            _dir: dir,
        }
    })
}

/// The first byte picks the route; the rest is its body.
pub fn hub_bodies(data: &[u8]) {
    let Some((&route, body)) = data.split_first() else {
        return;
    };
    let f = fixture();
    let pin = Some(f.device.pin.clone());
    match route % 7 {
        0 => {
            if let Ok(claim) = serde_json::from_slice::<wire::EnrollClaim>(body) {
                let _ = f.hub.enroll_challenge(pin, claim);
            }
        }
        1 => {
            if let Ok(req) = serde_json::from_slice::<wire::EnrollRequest>(body) {
                let _ = f.hub.enroll(pin, req);
            }
        }
        2 => {
            if let Ok(frames) = wire::decode_frames(body) {
                for fr in &frames {
                    check_audience(&fr.audience).expect("a decoded frame has a valid audience");
                }
                let _ = f.hub.push(&f.device, &frames);
            }
        }
        3 => {
            if let Ok(req) = serde_json::from_slice::<wire::HeldRequest>(body) {
                let _ = f.hub.held(&f.device, req);
            }
        }
        4 => {
            if let Ok(req) = serde_json::from_slice::<wire::RosterAppend>(body) {
                let _ = f.hub.append_roster_log(&f.device, req);
            }
        }
        5 => {
            if let Ok(a) = serde_json::from_slice::<wire::BlobAnnounce>(body) {
                let _ = is_sha256_hex(&a.sha256);
                let _ = f.hub.announce_blob(&f.device, uuid::Uuid::new_v4(), a);
            }
        }
        _ => {
            let _ = serde_json::from_slice::<wire::EnrollProof>(body);
            let _ = serde_json::from_slice::<wire::roster_log::Head>(body);
        }
    }
}

/// Valid bodies of each route (the first byte picks it).
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let with = |route: u8, body: &[u8]| {
        let mut v = vec![route];
        v.extend_from_slice(body);
        ("hub_bodies", v)
    };
    let recipient = age::x25519::Identity::generate().to_public().to_string();
    let frames = custos_wire::encode_frames(&[custos_wire::Frame {
        seq: 0,
        id: uuid::Uuid::from_u128(11),
        audience: vec![recipient.clone()],
        ciphertext: vec![1, 2, 3],
    }])
    .expect("a frame");
    let mut out = vec![
        with(0, br#"{"token":"tttttttttttttttttttttttttttttttttttttttttt","vault_recipient":"age1x","signer":"AAAA"}"#),
        with(1, br#"{"token":"tttttttttttttttttttttttttttttttttttttttttt","vault_recipient":"age1x","signer":"AAAA","label":"l","proof":{"ticket":"a","secret":"b","signature":"c"}}"#),
        with(2, &frames),
        with(3, br#"{"ids":["00000000-0000-4000-8000-000000000001"]}"#),
        with(5, format!(r#"{{"size":5,"sha256":"{}","audience":["{recipient}"]}}"#, "0".repeat(64)).as_bytes()),
    ];
    for (t, s) in crate::wire_seeds::seeds() {
        if t == "roster" && s.starts_with(b"[") {
            let mut body = br#"{"after":0,"entries":"#.to_vec();
            body.extend_from_slice(&s);
            body.push(b'}');
            out.push(with(4, &body));
        }
    }
    out
}
