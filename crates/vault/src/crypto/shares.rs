//! X25519 shares prepared ahead: the part of an age X25519 stanza that does not depend
//! on the file key, computed on a background thread while the vault is unlocked, so that
//! sealing a value on the path of a save costs no X25519 at all.
//!
//! An age X25519 stanza (age-encryption.org/v1) wraps a file's key for one recipient:
//! a fresh ephemeral secret `e`, its share `E = e·G`, the shared secret `e·R` with the
//! recipient's key `R`, the wrapping key `HKDF-SHA-256(salt = E‖R, info =
//! "age-encryption.org/v1/X25519", e·R)`, and the stanza `-> X25519 base64(E)` whose body
//! is the file key under ChaCha20-Poly1305 with that key and a zero nonce. Everything but
//! the last step (two X25519 multiplications, ~75 µs) depends only on `R`; a [`Share`]
//! is `(E, wrapping key)`, made from a fresh `e` that is then dropped (zeroized). Each
//! share leaves its queue once and is used for one file only: a share is neither `Clone`
//! nor `Copy`, and [`Prepared::wrap_file_key`] takes it out of the channel by value.
//!
//! What is stored does not change: the stanza is the one `age::x25519::Recipient`
//! writes, byte for byte in its form (the tests decrypt it with the age crate and with
//! the Go `age` binary). What changes in memory: while the vault is unlocked, up to
//! [`DEPTH`] wrapping keys per recipient wait in a queue. Each is as secret as the key of
//! a file not yet written — someone who could read this process's memory could read the
//! vault identity beside it. They are zeroized when the vault locks (the queues are
//! dropped and their producing threads joined).

use std::collections::HashSet;
#[cfg(test)]
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Mutex, OnceLock};
use std::thread::JoinHandle;

use age::secrecy::ExposeSecret;
use age_core::format::{FileKey, Stanza};
use age_core::primitives::{aead_encrypt, hkdf};
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use base64::Engine;
use x25519_dalek::{EphemeralSecret, PublicKey};
use zeroize::Zeroizing;

use super::VaultRecipient;
use crate::error::{Error, Result};

/// How many shares wait per recipient. A save takes two (its version and the head of the
/// device's chain), and the producer makes ~13,000 a second: a burst of this many saves
/// finds them ready, a longer one is limited by its own disk writes long before.
pub const DEPTH: usize = 64;

/// At most this many recipients get a producing thread (the vault's own recipient and
/// the organisation's coordinators); a value sealed to others computes its shares inline.
const MAX_QUEUES: usize = 8;

const LABEL: &[u8] = b"age-encryption.org/v1/X25519";
const TAG: &str = "X25519";

/// The recipient-dependent half of an X25519 stanza, for one file (see the module).
pub struct Share {
    epk: [u8; 32],
    /// On the heap, so that moving a share (into its queue and out) copies a pointer,
    /// not the key: no copy of it is left behind in the queue's freed slots.
    key: Box<Zeroizing<[u8; 32]>>,
}

impl Share {
    /// A share for the recipient whose X25519 public key is `to`, from a fresh ephemeral
    /// secret. `None` when the shared secret is all zero (a recipient key of low order,
    /// or a failing random generator): nothing may be sealed with it.
    pub fn new(to: &[u8; 32]) -> Option<Self> {
        let esk = EphemeralSecret::random_from_rng(rand::rngs::OsRng);
        let epk = PublicKey::from(&esk);
        let recipient = PublicKey::from(*to);
        let shared = esk.diffie_hellman(&recipient);
        if !shared.was_contributory() {
            return None;
        }
        let mut salt = [0u8; 64];
        salt[..32].copy_from_slice(epk.as_bytes());
        salt[32..].copy_from_slice(to);
        Some(Share {
            epk: *epk.as_bytes(),
            key: Box::new(Zeroizing::new(hkdf(&salt, LABEL, shared.as_bytes()))),
        })
    }
}

impl std::fmt::Debug for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Share").finish_non_exhaustive()
    }
}

/// The raw X25519 key of an age recipient.
pub fn raw_key(r: &VaultRecipient) -> Result<[u8; 32]> {
    age_core::primitives::bech32_decode(
        &r.to_string(),
        |_| (),
        |hrp| (hrp.to_lowercase() == "age").then_some(()).ok_or(()),
        |_, bytes| <[u8; 32]>::try_from(bytes.collect::<Vec<u8>>()).map_err(|_| ()),
    )
    .map_err(|()| Error::Encrypt("a recipient key is malformed".into()))
}

/// One recipient of a value being sealed, with its queue of prepared shares if it has
/// one. An `age::Recipient`: it writes the standard X25519 stanza.
pub struct Prepared<'a> {
    to: [u8; 32],
    queue: Option<&'a Producer>,
}

impl Prepared<'_> {
    fn share(&self) -> Option<Share> {
        let ready = self.queue.and_then(|p| {
            // A poisoned lock only means another sealing thread panicked: the queue
            // itself is intact.
            let q = p.queue.lock().unwrap_or_else(|p| p.into_inner());
            let share = q.try_recv().ok();
            #[cfg(test)]
            if share.is_some() {
                p.taken.fetch_add(1, Ordering::Relaxed);
            }
            share
        });
        ready.or_else(|| Share::new(&self.to))
    }
}

impl age::Recipient for Prepared<'_> {
    fn wrap_file_key(
        &self,
        file_key: &FileKey,
    ) -> std::result::Result<(Vec<Stanza>, HashSet<String>), age::EncryptError> {
        let share = self.share().ok_or_else(|| {
            age::EncryptError::Io(std::io::Error::other(
                "no usable X25519 share (a low-order key, or the random generator failed)",
            ))
        })?;
        Ok((
            vec![Stanza {
                tag: TAG.to_owned(),
                args: vec![B64.encode(share.epk)],
                body: aead_encrypt(&share.key, file_key.expose_secret()),
            }],
            HashSet::new(),
        ))
    }
}

struct Producer {
    to: [u8; 32],
    queue: Mutex<Receiver<Share>>,
    thread: JoinHandle<()>,
    /// Shares put in the queue, and taken from it (counted for the tests).
    #[cfg(test)]
    sent: std::sync::Arc<AtomicUsize>,
    #[cfg(test)]
    taken: AtomicUsize,
}

/// The queues of prepared shares of an unlocked vault, one producing thread per
/// recipient it has sealed to (at most [`MAX_QUEUES`]). Dropping it (the vault locks)
/// stops the threads and zeroizes every share not used. A [`Prepared`] borrows it, so
/// none is left when it is dropped.
#[derive(Default)]
pub struct Shares {
    slots: [OnceLock<Producer>; MAX_QUEUES],
    adding: Mutex<()>,
}

impl Shares {
    fn find(&self, to: &[u8; 32]) -> Option<&Producer> {
        self.slots
            .iter()
            .map_while(OnceLock::get)
            .find(|p| p.to == *to)
    }

    fn queue(&self, to: [u8; 32]) -> Option<&Producer> {
        if let Some(p) = self.find(&to) {
            return Some(p);
        }
        let _adding = self.adding.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = self.find(&to) {
            return Some(p);
        }
        let slot = self.slots.iter().find(|s| s.get().is_none())?;
        let _ = slot.set(start(to)?);
        slot.get()
    }

    /// The recipients of one value, each with its queue; the first time a recipient is
    /// seen, its producer starts (its shares are computed inline until the queue fills).
    pub fn prepared(&self, recipients: &[VaultRecipient]) -> Result<Vec<Prepared<'_>>> {
        recipients
            .iter()
            .map(|r| {
                let to = raw_key(r)?;
                Ok(Prepared {
                    to,
                    queue: self.queue(to),
                })
            })
            .collect()
    }

    /// How many producing threads run.
    pub fn producers(&self) -> usize {
        self.slots.iter().map_while(OnceLock::get).count()
    }

    /// How many shares were taken from the queues (the others were computed inline).
    #[cfg(test)]
    fn taken(&self) -> usize {
        self.slots
            .iter()
            .map_while(OnceLock::get)
            .map(|p| p.taken.load(Ordering::Relaxed))
            .sum()
    }

    /// How many shares wait in the queue of `to`.
    #[cfg(test)]
    fn waiting(&self, to: &VaultRecipient) -> usize {
        raw_key(to)
            .ok()
            .and_then(|raw| self.find(&raw))
            .map_or(0, |p| {
                p.sent
                    .load(Ordering::Acquire)
                    .saturating_sub(p.taken.load(Ordering::Relaxed))
            })
    }
}

/// Starts the producer of one recipient's shares. `None` when no thread can be started:
/// its shares are then computed inline.
fn start(to: [u8; 32]) -> Option<Producer> {
    let (tx, rx) = sync_channel::<Share>(DEPTH);
    #[cfg(test)]
    let sent = std::sync::Arc::new(AtomicUsize::new(0));
    #[cfg(test)]
    let count = sent.clone();
    let thread = std::thread::Builder::new()
        .name("custos-shares".into())
        .spawn(move || {
            // Blocks while the queue is full; ends when the queue is dropped (the vault
            // locked), dropping (zeroizing) the share it had made.
            while let Some(share) = Share::new(&to) {
                if tx.send(share).is_err() {
                    break;
                }
                #[cfg(test)]
                count.fetch_add(1, Ordering::Release);
            }
        })
        .ok()?;
    Some(Producer {
        to,
        queue: Mutex::new(rx),
        thread,
        #[cfg(test)]
        sent,
        #[cfg(test)]
        taken: AtomicUsize::new(0),
    })
}

impl Drop for Shares {
    fn drop(&mut self) {
        for slot in &mut self.slots {
            if let Some(Producer { queue, thread, .. }) = slot.take() {
                // The queue's only receiver: every share waiting in it is dropped
                // (zeroized) with it, and a producer blocked on a full queue wakes.
                drop(queue);
                let _ = thread.join();
            }
        }
    }
}

impl std::fmt::Debug for Shares {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shares")
            .field("producers", &self.producers())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::time::{Duration, Instant};

    fn seal_to(rs: &[Prepared<'_>], plain: &[u8]) -> Result<Vec<u8>> {
        super::super::seal_bytes(rs.iter().map(|r| r as &dyn age::Recipient), plain)
    }

    /// The ephemeral shares of an age file's X25519 stanzas.
    fn shares_of(ct: &[u8]) -> Vec<String> {
        let header = &ct[..ct.windows(4).position(|w| w == b"\n---").unwrap()];
        String::from_utf8_lossy(header)
            .lines()
            .filter_map(|l| l.strip_prefix("-> X25519 "))
            .map(str::to_owned)
            .collect()
    }

    /// Waits until the queue of `to` is full (its producer blocked).
    fn wait_filled(shares: &Shares, to: &VaultRecipient) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while shares.waiting(to) < DEPTH {
            assert!(Instant::now() < deadline, "the queue did not fill in 30 s");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn prepared_and_inline_stanzas_are_standard_age_and_never_repeat() {
        let id = age::x25519::Identity::generate();
        let other = age::x25519::Identity::generate();
        let shares = Shares::default();
        let to = [id.to_public()];
        // The first seal starts the producer; the queue is then used until it runs dry,
        // and shares are computed inline after: both kinds must decrypt.
        let mut seen = HashSet::new();
        for i in 0..(3 * DEPTH) {
            if i == 1 {
                wait_filled(&shares, &id.to_public());
            }
            let plain = format!("value {i}");
            let ct = seal_to(&shares.prepared(&to).unwrap(), plain.as_bytes()).unwrap();
            assert_eq!(age::decrypt(&id, &ct).unwrap(), plain.as_bytes());
            assert!(
                age::decrypt(&other, &ct).is_err(),
                "only its recipient reads it"
            );
            let epks = shares_of(&ct);
            assert_eq!(epks.len(), 1);
            assert_eq!(B64.decode(&epks[0]).unwrap().len(), 32);
            assert!(seen.insert(epks[0].clone()), "share {i} was used before");
        }
        assert_eq!(shares.producers(), 1);
        // The full queue was used, and the rest computed inline (or refilled).
        assert!(shares.taken() >= DEPTH, "{} taken", shares.taken());
        assert!(shares.taken() <= 3 * DEPTH);
        let inline = Prepared {
            to: raw_key(&id.to_public()).unwrap(),
            queue: None,
        };
        let inline = seal_to(&[inline], b"x").unwrap();
        assert_eq!(age::decrypt(&id, &inline).unwrap(), b"x");
        assert!(seen.insert(shares_of(&inline)[0].clone()));
    }

    #[test]
    fn several_recipients_each_read_the_value() {
        let ids: Vec<_> = (0..3).map(|_| age::x25519::Identity::generate()).collect();
        let to: Vec<_> = ids.iter().map(|i| i.to_public()).collect();
        let shares = Shares::default();
        let ct = seal_to(&shares.prepared(&to).unwrap(), b"for three").unwrap();
        assert_eq!(shares_of(&ct).len(), 3);
        for id in &ids {
            assert_eq!(age::decrypt(id, &ct).unwrap(), b"for three");
        }
        assert_eq!(shares.producers(), 3);
    }

    #[test]
    fn recipients_beyond_the_limit_are_sealed_inline() {
        let ids: Vec<_> = (0..MAX_QUEUES + 3)
            .map(|_| age::x25519::Identity::generate())
            .collect();
        let shares = Shares::default();
        for id in &ids {
            let ct = seal_to(&shares.prepared(&[id.to_public()]).unwrap(), b"v").unwrap();
            assert_eq!(age::decrypt(id, &ct).unwrap(), b"v");
        }
        assert_eq!(shares.producers(), MAX_QUEUES);
        // Seen again: still the same queues, none added.
        let _ = shares.prepared(&[ids[0].to_public()]).unwrap();
        assert_eq!(shares.producers(), MAX_QUEUES);
    }

    #[test]
    fn a_low_order_recipient_is_refused_not_sealed_to() {
        // The all-zero point: every shared secret with it is zero.
        let zero: VaultRecipient = "age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq5cu47z"
            .parse()
            .unwrap();
        assert_eq!(raw_key(&zero).unwrap(), [0u8; 32]);
        assert!(Share::new(&[0u8; 32]).is_none());
        let shares = Shares::default();
        let err = seal_to(
            &shares.prepared(std::slice::from_ref(&zero)).unwrap(),
            b"secret",
        )
        .unwrap_err();
        assert!(err.to_string().contains("X25519 share"), "{err}");
        // Its producer made nothing and ended; sealing still fails cleanly.
        assert!(seal_to(
            &shares.prepared(std::slice::from_ref(&zero)).unwrap(),
            b"secret"
        )
        .is_err());
        assert_eq!(shares.waiting(&zero), 0);
    }

    #[test]
    fn dropping_the_pool_stops_its_threads_at_once() {
        let ids: Vec<_> = (0..4).map(|_| age::x25519::Identity::generate()).collect();
        let to: Vec<_> = ids.iter().map(|i| i.to_public()).collect();
        let shares = Shares::default();
        let _ = seal_to(&shares.prepared(&to).unwrap(), b"v").unwrap();
        for r in &to {
            wait_filled(&shares, r);
        }
        // Every producer is now blocked on a full queue: the drop must wake and join
        // them all.
        let (done, wait) = std::sync::mpsc::channel();
        let t = Instant::now();
        std::thread::spawn(move || {
            drop(shares);
            let _ = done.send(());
        });
        wait.recv_timeout(Duration::from_secs(10))
            .expect("the producers stopped when the pool was dropped");
        assert!(t.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn a_share_says_nothing_in_debug() {
        let id = age::x25519::Identity::generate();
        let s = Share::new(&raw_key(&id.to_public()).unwrap()).unwrap();
        let text = format!("{s:?}");
        assert!(!text.contains(&format!("{:?}", &s.key[..4])), "{text}");
        assert_eq!(text, "Share { .. }");
    }
}
