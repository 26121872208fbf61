//! Roster verification: how long a device takes to check the organisation's signed
//! roster log (`custos_wire::roster_log::verify`) with 1,000 devices, and with 10,000
//! entries (enrollments and revocations over years), against the floor measured in the
//! same run: verifying the same number of Ed25519 signatures over the same bytes and
//! nothing else.
//!
//! `cargo bench -p custos-benches --bench roster` (`-- --runs R`, default 5; `--json
//! PATH` writes the figures). `cargo test --all-targets` runs it once, small.

use std::time::Instant;

use base64::Engine;
use chrono::Utc;
use custos_wire::roster_log::{append, genesis, verify, Change, Entry};
use custos_wire::Role;
use ed25519_dalek::{Signature, SigningKey, Verifier};
use uuid::Uuid;

#[path = "common/report.rs"]
mod report;
use report::{Better, Report};

fn key() -> SigningKey {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).unwrap();
    SigningKey::from_bytes(&seed)
}

/// A log: the genesis, 3 coordinators, `devices` enrollments, then revocations and new
/// enrollments alternating until it has `entries` entries.
fn build(devices: usize, entries: usize) -> (SigningKey, Vec<Entry>) {
    let org = key();
    let now = Utc::now();
    let recipient = age::x25519::Identity::generate().to_public().to_string();
    let mut log = genesis(&org, "Observatory", now);
    log.reserve(entries);
    let mut signers = Vec::new();
    for _ in 0..3 {
        let r = age::x25519::Identity::generate().to_public().to_string();
        append(&mut log, &org, Change::Coordinator { recipient: r }, now);
    }
    let enroll = |log: &mut Vec<Entry>, signers: &mut Vec<String>| {
        let signer = base64::engine::general_purpose::STANDARD_NO_PAD
            .encode(key().verifying_key().as_bytes());
        signers.push(signer.clone());
        append(
            log,
            &org,
            Change::Device {
                device_id: Uuid::new_v4(),
                signer,
                vault_recipient: recipient.clone(),
                role: Role::Field,
                label: "field laptop".into(),
            },
            now,
        );
    };
    for _ in 0..devices {
        enroll(&mut log, &mut signers);
    }
    let mut next_revoked = 0;
    while log.len() < entries {
        if log.len().is_multiple_of(2) && next_revoked < signers.len() {
            let signer = signers[next_revoked].clone();
            next_revoked += 1;
            append(
                &mut log,
                &org,
                Change::Revoke {
                    signer,
                    after: Some(100),
                },
                now,
            );
        } else {
            enroll(&mut log, &mut signers);
        }
    }
    (org, log)
}

/// The floor: the same signatures over the same bytes, verified, nothing else.
fn floor(org: &SigningKey, log: &[Entry]) -> f64 {
    let pk = org.verifying_key();
    let prepared: Vec<(Vec<u8>, Signature)> = log
        .iter()
        .map(|e| {
            let sig = base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(&e.sig)
                .unwrap();
            (
                e.canonical(),
                Signature::from_bytes(&sig.try_into().unwrap()),
            )
        })
        .collect();
    let t = Instant::now();
    for (bytes, sig) in &prepared {
        pk.verify(bytes, sig).unwrap();
    }
    t.elapsed().as_secs_f64() * 1e3
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let quick = !argv.iter().any(|a| a == "--bench");
    let runs: usize = argv
        .windows(2)
        .find(|w| w[0] == "--runs")
        .and_then(|w| w[1].parse().ok())
        .unwrap_or(if quick { 1 } else { 5 });
    let cases: &[(usize, usize)] = if quick {
        &[(10, 100)]
    } else {
        &[(1_000, 1_004), (5_000, 10_000)]
    };
    println!("roster verification: {runs} run(s)");
    println!("| log | verify, ms median (min–max) | floor: signatures only, ms | ratio |");
    println!("|---|---|---|---|");
    let mut json = Report::new("roster");
    json.param("runs", runs);
    for &(devices, entries) in cases {
        let (org, log) = build(devices, entries);
        let pk = org.verifying_key();
        let mut full = Vec::new();
        let mut base = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            let v = verify(&pk, None, &log).unwrap();
            full.push(t.elapsed().as_secs_f64() * 1e3);
            assert_eq!(v.head.seq as usize, log.len());
            base.push(floor(&org, &log));
        }
        let med = |v: &[f64]| {
            let mut s = v.to_vec();
            s.sort_by(|a, b| a.total_cmp(b));
            (s[s.len() / 2], s[0], s[s.len() - 1])
        };
        let (m, lo, hi) = med(&full);
        let (b, _, _) = med(&base);
        let enrolled = log
            .iter()
            .filter(|e| matches!(e.change, Change::Device { .. }))
            .count();
        let revoked = log
            .iter()
            .filter(|e| matches!(e.change, Change::Revoke { .. }))
            .count();
        let name = format!(
            "{} entries: {enrolled} devices enrolled, {revoked} revoked",
            log.len()
        );
        println!(
            "| {name} | {m:.1} ({lo:.1}–{hi:.1}) | {b:.1} | {:.2} |",
            m / b
        );
        let group = format!("roster of {} entries", log.len());
        json.add(&group, "verify", "custos", "ms", Better::Lower, &full);
        json.add(
            &group,
            "verify",
            "floor (signatures only)",
            "ms",
            Better::Lower,
            &base,
        );
    }
    json.finish();
}
