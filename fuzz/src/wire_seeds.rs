//! Valid inputs of the targets of [`crate::wire`], written by the real encoders and
//! signed with a fixed organisation key (a separate file: it needs `ed25519-dalek`,
//! which not every crate that includes `wire.rs` has).

use custos_wire::{self as wire, roster_log, Invite, Role};
use ed25519_dalek::SigningKey;
use uuid::Uuid;

use crate::wire::{bundle_seed, frames_seed};

/// Valid inputs of each target of [`crate::wire`] (the first corpus files:
/// `CUSTOS_FUZZ_WRITE_SEEDS=1` with the replay test writes them).
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("a time");
    let recipient = age::x25519::Identity::generate().to_public().to_string();
    let invite = Invite {
        v: 1,
        hub: "hub.example:8443".into(),
        pin: format!("sha256:{}", "ab".repeat(32)),
        coordinators: vec![recipient.clone()],
        hub_recipient: recipient.clone(),
        token: "t".repeat(43),
        expires: at,
        role: Role::Field,
        org_key: None,
    };
    let org = SigningKey::from_bytes(&[9u8; 32]);
    let mut signed = invite.clone();
    signed.org_key = Some(roster_log::key_text(&org.verifying_key()));
    let signer = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let mut log = roster_log::genesis(&org, "Org", at);
    for change in [
        roster_log::Change::Coordinator {
            recipient: recipient.clone(),
        },
        roster_log::Change::Device {
            device_id: Uuid::from_u128(3),
            signer: signer.into(),
            vault_recipient: recipient.clone(),
            role: Role::Field,
            label: "laptop".into(),
        },
        roster_log::Change::Revoke {
            signer: signer.into(),
            after: Some(4),
        },
    ] {
        roster_log::append(&mut log, &org, change, at);
    }
    let roster = wire::Roster {
        coordinators: vec![recipient.clone()],
        hub_recipient: recipient.clone(),
        devices: vec![wire::RosterDevice {
            device_id: Uuid::from_u128(3),
            label: "laptop".into(),
            role: Role::Field,
            signer: signer.into(),
            vault_recipient: recipient.clone(),
            enrolled_at: at,
            revoked: false,
        }],
        next_pin: None,
        log: log.clone(),
    };
    vec![
        ("frames", frames_seed(&recipient)),
        ("invite", invite.encode().into_bytes()),
        ("invite", signed.encode().into_bytes()),
        ("roster", serde_json::to_vec(&roster).expect("json")),
        ("roster", serde_json::to_vec(&log).expect("json")),
        ("bundle", bundle_seed(&recipient)),
    ]
}
