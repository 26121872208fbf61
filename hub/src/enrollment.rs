//! Enrollment's proof of possession: a device proves that it holds the vault key and the
//! signing key it enrolls with, before the hub lists them in the roster.
//!
//! Without it, an insider with an invite could claim a colleague's vault recipient (every
//! device reads them from the roster): the colleague's vault would then trust the
//! insider's signer and take in fabricated cases, and claiming a coordinator's recipient
//! would make the hub send the insider the whole organisation's ciphertext.
//!
//! The exchange (`docs/sync-protocol.md` §2):
//! 1. `POST /v1/enroll/challenge` with the keys: the hub derives a secret from them, the
//!    device's TLS pin, the invite and a fresh salt with a key only it holds, and answers
//!    with the secret sealed to the claimed vault recipient, and a ticket (the salt and
//!    the expiry).
//! 2. `POST /v1/enroll` with the ticket, the decrypted secret and a signature of
//!    [`wire::enroll_digest`] by the claimed signer. The hub derives the secret again from
//!    the ticket and compares.
//!
//! The hub keeps nothing between the two requests (several instances on one database
//! share the bundle key the secret's key is derived from), and a failed proof does not
//! use the invite up.

use age::secrecy::ExposeSecret;
use chrono::{DateTime, Utc};
use custos_wire::{self as wire, EnrollChallenge, EnrollClaim, EnrollProof};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::ApiError;
use crate::hub::{signer_key, token_hash};

/// How long a challenge can be answered.
pub const CHALLENGE_MINUTES: i64 = 10;

/// What the ticket carries: nothing secret.
#[derive(Serialize, Deserialize)]
struct Ticket {
    /// Unix seconds.
    expires: i64,
    /// 16 random bytes, base64url.
    salt: String,
}

/// Makes and checks challenges with a key derived from the hub's bundle key.
pub struct Challenger {
    key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Challenger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Challenger").finish_non_exhaustive()
    }
}

impl Challenger {
    /// The challenger of a hub whose bundle key is `bundle`.
    pub fn new(bundle: &age::x25519::Identity) -> Challenger {
        let mut h = Sha256::new();
        h.update(b"custos enrollment challenge key v1\n");
        h.update(bundle.to_string().expose_secret().as_bytes());
        Challenger {
            key: Zeroizing::new(h.finalize().into()),
        }
    }

    /// The MAC whose value is the challenge's secret.
    fn mac(&self, pin: &str, claim: &EnrollClaim, expires: i64, salt: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.key.as_slice())
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        let token = token_hash(&claim.token);
        let expires = expires.to_be_bytes();
        for part in [
            &token[..],
            pin.as_bytes(),
            claim.vault_recipient.as_bytes(),
            claim.signer.as_bytes(),
            &expires[..],
            salt.as_bytes(),
        ] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac
    }

    /// `POST /v1/enroll/challenge` from a connection whose certificate has `pin`.
    pub fn challenge(
        &self,
        pin: &str,
        claim: &EnrollClaim,
        now: DateTime<Utc>,
    ) -> Result<EnrollChallenge, ApiError> {
        let recipient = check_keys(&claim.vault_recipient, &claim.signer)?;
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt)
            .map_err(|_| ApiError::Unavailable("the hub has no randomness right now".into()))?;
        let ticket = Ticket {
            expires: (now + chrono::Duration::minutes(CHALLENGE_MINUTES)).timestamp(),
            salt: wire::b64(&salt),
        };
        let secret = Zeroizing::new(
            self.mac(pin, claim, ticket.expires, &ticket.salt)
                .finalize()
                .into_bytes()
                .to_vec(),
        );
        let sealed = age::encrypt(&recipient, &secret)
            .map_err(|_| ApiError::Unavailable("the hub could not seal a challenge".into()))?;
        let ticket = serde_json::to_vec(&ticket)
            .map_err(|_| ApiError::Unavailable("the hub could not write a challenge".into()))?;
        Ok(EnrollChallenge {
            sealed: wire::b64(&sealed),
            ticket: wire::b64(&ticket),
        })
    }

    /// Checks the proof of an enrollment request from a connection whose certificate has
    /// `pin`: the secret derived for these keys, and the signer's signature.
    pub fn verify(
        &self,
        pin: &str,
        claim: &EnrollClaim,
        proof: Option<&EnrollProof>,
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        check_keys(&claim.vault_recipient, &claim.signer)?;
        let Some(proof) = proof else {
            return Err(ApiError::UpdateNeeded);
        };
        let ticket: Ticket = wire::unb64(&proof.ticket)
            .and_then(|t| serde_json::from_slice(&t).ok())
            .ok_or_else(|| ApiError::Malformed("the enrollment ticket is malformed".into()))?;
        if ticket.expires < now.timestamp() {
            return Err(ApiError::ProofFailed(
                "the enrollment challenge expired: enroll again".into(),
            ));
        }
        let given = Zeroizing::new(wire::unb64(&proof.secret).unwrap_or_default());
        // Compared in constant time.
        let same = self
            .mac(pin, claim, ticket.expires, &ticket.salt)
            .verify_slice(&given)
            .is_ok();
        if !same {
            return Err(ApiError::ProofFailed(
                "the device could not open the challenge sealed to the vault key it \
                 enrolls with: it does not hold that key. The invite was not used"
                    .into(),
            ));
        }
        let signature = wire::unb64(&proof.signature)
            .and_then(|s| <[u8; 64]>::try_from(s.as_slice()).ok())
            .map(|s| ed25519_dalek::Signature::from_bytes(&s));
        let digest = wire::enroll_digest(&given, pin, &claim.vault_recipient, &claim.signer);
        let signed = match (signature, signer_key(&claim.signer)) {
            (Some(sig), Some(key)) => key.verify_strict(&digest, &sig).is_ok(),
            _ => false,
        };
        if !signed {
            return Err(ApiError::ProofFailed(
                "the device's signature does not match the signing key it enrolls with. The \
                 invite was not used"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// Parses the claimed keys.
fn check_keys(vault_recipient: &str, signer: &str) -> Result<age::x25519::Recipient, ApiError> {
    let recipient = vault_recipient
        .parse::<age::x25519::Recipient>()
        .map_err(|_| {
            ApiError::Malformed("vault_recipient is not an age recipient (age1…)".into())
        })?;
    if signer_key(signer).is_none() {
        return Err(ApiError::Malformed(
            "signer is not an Ed25519 public key in base64".into(),
        ));
    }
    Ok(recipient)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Signer;

    struct Claimant {
        vault: age::x25519::Identity,
        signing: ed25519_dalek::SigningKey,
    }

    impl Claimant {
        fn new() -> Claimant {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).unwrap();
            Claimant {
                vault: age::x25519::Identity::generate(),
                signing: ed25519_dalek::SigningKey::from_bytes(&seed),
            }
        }

        fn claim(&self) -> EnrollClaim {
            EnrollClaim {
                token: "a-token-of-the-invite".into(),
                vault_recipient: self.vault.to_public().to_string(),
                signer: base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    self.signing.verifying_key().as_bytes(),
                ),
            }
        }

        fn answer(&self, pin: &str, challenge: &EnrollChallenge) -> EnrollProof {
            let sealed = wire::unb64(&challenge.sealed).unwrap();
            let secret = age::decrypt(&self.vault, &sealed).unwrap();
            let c = self.claim();
            let digest = wire::enroll_digest(&secret, pin, &c.vault_recipient, &c.signer);
            EnrollProof {
                ticket: challenge.ticket.clone(),
                secret: wire::b64(&secret),
                signature: wire::b64(&self.signing.sign(&digest).to_bytes()),
            }
        }
    }

    const PIN: &str = "sha256:0000";

    #[test]
    fn a_proof_holds_for_its_keys_pin_and_time_only() {
        let hub = Challenger::new(&age::x25519::Identity::generate());
        let device = Claimant::new();
        let now = Utc::now();
        let challenge = hub.challenge(PIN, &device.claim(), now).unwrap();
        let proof = device.answer(PIN, &challenge);
        hub.verify(PIN, &device.claim(), Some(&proof), now).unwrap();
        // Until the challenge expires.
        let later = now + chrono::Duration::minutes(CHALLENGE_MINUTES - 1);
        hub.verify(PIN, &device.claim(), Some(&proof), later)
            .unwrap();
        let late = now + chrono::Duration::minutes(CHALLENGE_MINUTES + 1);
        let e = hub.verify(PIN, &device.claim(), Some(&proof), late);
        assert!(matches!(e, Err(ApiError::ProofFailed(m)) if m.contains("expired")));
        // Another pin, another invite, another hub: refused.
        let e = hub.verify("sha256:1111", &device.claim(), Some(&proof), now);
        assert!(matches!(e, Err(ApiError::ProofFailed(_))));
        let mut other_invite = device.claim();
        other_invite.token = "another-invite-token".into();
        let e = hub.verify(PIN, &other_invite, Some(&proof), now);
        assert!(matches!(e, Err(ApiError::ProofFailed(_))));
        let other_hub = Challenger::new(&age::x25519::Identity::generate());
        let e = other_hub.verify(PIN, &device.claim(), Some(&proof), now);
        assert!(matches!(e, Err(ApiError::ProofFailed(_))));
        // No proof: a device to update.
        let e = hub.verify(PIN, &device.claim(), None, now);
        assert!(matches!(e, Err(ApiError::UpdateNeeded)));
    }

    #[test]
    fn a_proof_for_one_device_does_not_prove_another() {
        let hub = Challenger::new(&age::x25519::Identity::generate());
        let (honest, insider) = (Claimant::new(), Claimant::new());
        let now = Utc::now();
        // The insider claims the honest device's vault key with its own signer: it
        // cannot open the secret, and its own answer is for its own claim only.
        let mut claim = insider.claim();
        claim.vault_recipient = honest.claim().vault_recipient;
        let challenge = hub.challenge(PIN, &claim, now).unwrap();
        let sealed = wire::unb64(&challenge.sealed).unwrap();
        assert!(age::decrypt(&insider.vault, &sealed).is_err());
        let own = hub.challenge(PIN, &insider.claim(), now).unwrap();
        let proof = insider.answer(PIN, &own);
        let e = hub.verify(PIN, &claim, Some(&proof), now);
        assert!(matches!(e, Err(ApiError::ProofFailed(_))));
        // A signature by another key than the claimed signer.
        let challenge = hub.challenge(PIN, &honest.claim(), now).unwrap();
        let mut proof = honest.answer(PIN, &challenge);
        proof.signature = insider.answer(PIN, &own).signature;
        let e = hub.verify(PIN, &honest.claim(), Some(&proof), now);
        assert!(matches!(e, Err(ApiError::ProofFailed(m)) if m.contains("signature")));
        // Malformed keys are refused before any challenge.
        let mut bad = honest.claim();
        bad.vault_recipient = "age1nope".into();
        assert!(matches!(
            hub.challenge(PIN, &bad, now),
            Err(ApiError::Malformed(_))
        ));
    }
}
