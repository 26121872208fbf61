//! The contract of [`Store`]: one set of checks that every backend must pass.
//!
//! Each check is a function generic over a [`Fixture`] (a fresh, empty place for a
//! store: a temporary folder, a scratch database); [`store_contract!`] turns the whole
//! list into `#[test]`s inside a backend's test module. A check added here and left out
//! of the macro is dead code, which `clippy -- -D warnings` refuses: no backend can skip
//! one.
//!
//! Timestamps handed to a store here are whole microseconds: PostgreSQL keeps no more,
//! and the contract is that values come back as they were stored.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;

use chrono::{DateTime, Duration, Utc};
use custos_wire::roster_log::{self, Change, Entry};
use custos_wire::Frame;
use ed25519_dalek::SigningKey;
use uuid::Uuid;

use super::{
    BlobMeta, Device, EnrollOutcome, InviteRecord, LogAppend, PullQuery, PushOutcome, Role, Store,
    Usage,
};

/// A backend under test: the data of one store, opened as often as a check needs.
pub(crate) trait Fixture {
    /// The store it opens.
    type Store: Store;
    /// True when several stores may be open on the same data at once (hub instances
    /// sharing one PostgreSQL database); sled allows one per folder.
    const SHARED: bool;
    /// A fresh, empty place for a store.
    fn new() -> Self;
    /// Opens a store on the data (again after a restart, or as another instance when
    /// [`Fixture::SHARED`]); panics when it cannot.
    fn open(&self) -> Self::Store;
}

/// Generates one `#[test]` per contract check, each on a fresh `$fixture`.
macro_rules! store_contract {
    (@tests $fixture:ty; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                let fixture = <$fixture as $crate::store::contract::Fixture>::new();
                $crate::store::contract::$check(&fixture);
            }
        )*
    };
    ($fixture:ty) => {
        $crate::store::contract::store_contract!(@tests $fixture;
            push_is_idempotent_and_atomic_per_batch,
            pull_filters_by_audience_and_pusher_and_pages,
            held_answers_only_for_objects_the_device_may_read,
            sequence_numbers_are_never_below_the_receive_time,
            sequence_numbers_survive_a_reopen,
            enrollment_uses_an_invite_once_on_every_instance,
            coordinators_are_kept_once_in_the_order_added,
            settings_are_replaced_but_initialised_once,
            blob_metadata_is_announced_once_then_replaced_and_removed,
            concurrent_pushers_never_make_a_puller_skip,
            the_same_id_pushed_at_once_is_stored_once,
            the_roster_log_is_appended_only_after_its_last_entry,
            roster_appends_at_once_let_exactly_one_win,
            usage_counts_what_each_device_stored,
        );
    };
}
pub(crate) use store_contract;

/// Pushes received "at 1970" are numbered 1, 2, 3…
const EPOCH: DateTime<Utc> = DateTime::UNIX_EPOCH;

fn frame(n: u8, audience: &[&str]) -> Frame {
    Frame {
        seq: 0,
        id: Uuid::new_v4(),
        audience: audience.iter().map(|s| s.to_string()).collect(),
        ciphertext: vec![n; 10 + n as usize],
    }
}

fn query(since: u64, device: Uuid, recipient: Option<&str>) -> PullQuery {
    PullQuery {
        since,
        limit: 500,
        max_bytes: 1 << 20,
        max_examined: 10_000,
        device,
        recipient: recipient.map(String::from),
    }
}

/// Now, in whole microseconds (see the module's description).
fn now() -> DateTime<Utc> {
    let t = Utc::now();
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

fn device(pin: &str) -> Device {
    Device {
        id: Uuid::new_v4(),
        pin: pin.into(),
        label: "phone".into(),
        role: Role::Field,
        signer: "signer".into(),
        vault_recipient: format!("age1{pin}"),
        enrolled_at: now(),
        revoked: false,
    }
}

/// An organisation key (distinct for each `n`; not secret).
fn org_key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

/// Adds a coordinator to `log`, signed by `org`. The time has nanoseconds: the store
/// keeps the entry's JSON, so it comes back as signed.
fn add_coordinator(log: &mut Vec<Entry>, org: &SigningKey) {
    let recipient = age::x25519::Identity::generate().to_public().to_string();
    roster_log::append(log, org, Change::Coordinator { recipient }, Utc::now());
}

/// An organisation's signed log of `n` entries: its genesis, then coordinators.
fn org_log(org: &SigningKey, n: usize) -> Vec<Entry> {
    let mut log = roster_log::genesis(org, "Observatory", Utc::now());
    while log.len() < n {
        add_coordinator(&mut log, org);
    }
    log
}

/// A second instance on the same data where the backend allows one, so that the checks
/// "on two instances" exercise it; else `None`, and they use the one store twice (still
/// from several threads at once).
fn second_instance<F: Fixture>(fx: &F) -> Option<F::Store> {
    F::SHARED.then(|| fx.open())
}

pub(crate) fn push_is_idempotent_and_atomic_per_batch<F: Fixture>(fx: &F) {
    let store = fx.open();
    let a = Uuid::new_v4();
    let f1 = frame(1, &["age1x"]);
    let f2 = frame(2, &["age1y", "age1z"]);
    let out = store.push(a, EPOCH, &[f1.clone(), f2.clone()]).unwrap();
    assert_eq!(out, vec![PushOutcome::Stored(1), PushOutcome::Stored(2)]);
    let mut other = f1.clone();
    other.ciphertext.push(0);
    let f3 = frame(3, &["age1x"]);
    let out = store
        .push(a, EPOCH, &[f1.clone(), other, f3.clone(), f3.clone()])
        .unwrap();
    assert_eq!(
        out,
        vec![
            PushOutcome::Existing,
            PushOutcome::IdTaken,
            PushOutcome::Stored(3),
            PushOutcome::Existing
        ]
    );
    assert_eq!(store.last_seq().unwrap(), 3);
    // Another audience for the same bytes is another object; so is the same audience in
    // another order.
    let mut moved = f2.clone();
    moved.audience = vec!["age1z".into()];
    assert_eq!(
        store.push(a, EPOCH, &[moved]).unwrap(),
        vec![PushOutcome::IdTaken]
    );
    let mut reordered = f2.clone();
    reordered.audience = vec!["age1z".into(), "age1y".into()];
    assert_eq!(
        store.push(a, EPOCH, &[reordered]).unwrap(),
        vec![PushOutcome::IdTaken]
    );
    assert_eq!(store.last_seq().unwrap(), 3);
    // The audience comes back in its order; the bytes as they were.
    let page = store.pull(&query(0, Uuid::new_v4(), None)).unwrap();
    assert_eq!(page.frames.len(), 3);
    assert_eq!(page.frames[1].audience, f2.audience);
    assert_eq!(page.frames[1].ciphertext, f2.ciphertext);
}

pub(crate) fn held_answers_only_for_objects_the_device_may_read<F: Fixture>(fx: &F) {
    let store = fx.open();
    let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let for_b = frame(1, &["age1b"]);
    let for_c = frame(2, &["age1c"]);
    store
        .push(a, EPOCH, &[for_b.clone(), for_c.clone()])
        .unwrap();
    let unknown = Uuid::new_v4();
    let asked = [unknown, for_c.id, for_b.id];
    // The pusher: both; a field device: what names it; a coordinator: both.
    assert_eq!(
        store.held(a, Some("age1a"), &asked).unwrap(),
        vec![for_c.id, for_b.id]
    );
    assert_eq!(
        store.held(b, Some("age1b"), &asked).unwrap(),
        vec![for_b.id]
    );
    assert_eq!(
        store.held(c, None, &asked).unwrap(),
        vec![for_c.id, for_b.id]
    );
    assert!(store.held(b, Some("age1b"), &[]).unwrap().is_empty());
    // Reopened: the same.
    drop(store);
    let store = fx.open();
    assert_eq!(
        store.held(b, Some("age1b"), &asked).unwrap(),
        vec![for_b.id]
    );
}

pub(crate) fn pull_filters_by_audience_and_pusher_and_pages<F: Fixture>(fx: &F) {
    let store = fx.open();
    let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let frames: Vec<Frame> = (0..10)
        .map(|i| frame(i, if i % 2 == 0 { &["age1b"] } else { &["age1c"] }))
        .collect();
    store.push(a, EPOCH, &frames).unwrap();
    store.push(b, EPOCH, &[frame(50, &["age1b"])]).unwrap();

    // b reads the even ones, not its own.
    let page = store.pull(&query(0, b, Some("age1b"))).unwrap();
    let ids: Vec<Uuid> = page.frames.iter().map(|f| f.id).collect();
    let even: Vec<Uuid> = frames.iter().step_by(2).map(|f| f.id).collect();
    assert_eq!(ids, even);
    assert_eq!((page.next, page.more), (11, false));
    assert_eq!(page.frames[1].seq, 3);
    assert_eq!(page.frames[1].ciphertext, frames[2].ciphertext);

    // A coordinator reads all but its own; the author reads nothing of its own.
    let page = store.pull(&query(0, c, None)).unwrap();
    assert_eq!(page.frames.len(), 11);
    let page = store.pull(&query(0, a, None)).unwrap();
    assert_eq!(page.frames.len(), 1);

    // Pages: limit, examined and byte budgets.
    let mut q = query(0, c, None);
    q.limit = 4;
    let page = store.pull(&q).unwrap();
    assert_eq!((page.frames.len(), page.next, page.more), (4, 4, true));
    q.since = page.next;
    q.limit = 500;
    q.max_examined = 3;
    let page = store.pull(&q).unwrap();
    assert_eq!((page.frames.len(), page.next, page.more), (3, 7, true));
    let mut q = query(7, b, Some("age1b"));
    q.max_examined = 1;
    let page = store.pull(&q).unwrap();
    // seq 8 is odd (age1c): examined, not delivered.
    assert_eq!((page.frames.len(), page.next, page.more), (0, 8, true));
    let mut q = query(0, c, None);
    q.max_bytes = 1;
    let page = store.pull(&q).unwrap();
    assert_eq!((page.frames.len(), page.next, page.more), (1, 1, true));
    // The byte budget stops before an object after ones not delivered.
    let mut q = query(0, b, Some("age1b"));
    q.max_bytes = 1;
    q.since = 1;
    let page = store.pull(&q).unwrap();
    assert_eq!((page.frames.len(), page.next, page.more), (1, 4, true));
    let page = store.pull(&query(11, c, None)).unwrap();
    assert_eq!((page.frames.len(), page.next, page.more), (0, 11, false));
    let page = store.pull(&query(u64::MAX, c, None)).unwrap();
    assert_eq!(
        (page.frames.len(), page.next, page.more),
        (0, u64::MAX, false)
    );
}

pub(crate) fn sequence_numbers_are_never_below_the_receive_time<F: Fixture>(fx: &F) {
    let store = fx.open();
    let a = Uuid::new_v4();
    let now = Utc::now();
    let us = now.timestamp_micros() as u64;
    let out = store
        .push(a, now, &[frame(1, &["age1x"]), frame(2, &["age1x"])])
        .unwrap();
    assert_eq!(
        out,
        vec![PushOutcome::Stored(us), PushOutcome::Stored(us + 1)]
    );
    // A clock that goes back does not make them go back.
    let out = store.push(a, EPOCH, &[frame(3, &["age1x"])]).unwrap();
    assert_eq!(out, vec![PushOutcome::Stored(us + 2)]);
    assert_eq!(store.last_seq().unwrap(), us + 2);
}

pub(crate) fn sequence_numbers_survive_a_reopen<F: Fixture>(fx: &F) {
    let a = Uuid::new_v4();
    let now = Utc::now();
    let us = now.timestamp_micros() as u64;
    {
        let store = fx.open();
        let out = store
            .push(a, EPOCH, &[frame(1, &["age1x"]), frame(2, &["age1x"])])
            .unwrap();
        assert_eq!(out, vec![PushOutcome::Stored(1), PushOutcome::Stored(2)]);
        // Numbered from the receive time from here on.
        let out = store.push(a, now, &[frame(3, &["age1x"])]).unwrap();
        assert_eq!(out, vec![PushOutcome::Stored(us)]);
    }
    // A restart goes on from there, even with a clock that went back; so does a second
    // instance.
    let store = fx.open();
    assert_eq!(store.last_seq().unwrap(), us);
    let out = store.push(a, EPOCH, &[frame(4, &["age1x"])]).unwrap();
    assert_eq!(out, vec![PushOutcome::Stored(us + 1)]);
    let other = second_instance(fx);
    let other = other.as_ref().unwrap_or(&store);
    assert_eq!(other.last_seq().unwrap(), us + 1);
    let out = other.push(a, EPOCH, &[frame(5, &["age1x"])]).unwrap();
    assert_eq!(out, vec![PushOutcome::Stored(us + 2)]);
    assert_eq!(store.last_seq().unwrap(), us + 2);
}

pub(crate) fn enrollment_uses_an_invite_once_on_every_instance<F: Fixture>(fx: &F) {
    let store = fx.open();
    let other = second_instance(fx);
    let other = other.as_ref().unwrap_or(&store);
    let now = now();
    let token = [7u8; 32];
    let invite = InviteRecord {
        role: Role::Coordinator,
        created: now,
        expires: now + Duration::hours(1),
        used_by: None,
    };
    store.add_invite(token, &invite).unwrap();
    assert_eq!(
        store.enroll([8u8; 32], device("p1"), now).unwrap(),
        EnrollOutcome::UnknownToken
    );
    let EnrollOutcome::Enrolled(d) = other.enroll(token, device("p1"), now).unwrap() else {
        panic!("not enrolled")
    };
    assert_eq!(d.role, Role::Coordinator);
    // The same pin again (a retry): the same device, even later.
    let later = now + Duration::hours(2);
    assert_eq!(
        store.enroll(token, device("p1"), later).unwrap(),
        EnrollOutcome::Enrolled(d.clone())
    );
    assert_eq!(
        store.enroll(token, device("p2"), now).unwrap(),
        EnrollOutcome::Used
    );
    assert_eq!(store.device_by_pin("p1").unwrap(), Some(d.clone()));
    assert_eq!(store.device(d.id).unwrap(), Some(d.clone()));
    assert_eq!(other.device(d.id).unwrap(), Some(d.clone()));
    assert!(store.device_by_pin("p2").unwrap().is_none());

    // Expired; a pin enrolled already.
    let t2 = [9u8; 32];
    store
        .add_invite(
            t2,
            &InviteRecord {
                expires: now,
                ..invite.clone()
            },
        )
        .unwrap();
    assert_eq!(
        store.enroll(t2, device("p3"), now).unwrap(),
        EnrollOutcome::Expired
    );
    let t3 = [10u8; 32];
    store.add_invite(t3, &invite).unwrap();
    assert!(matches!(
        store.enroll(t3, device("p1"), now).unwrap(),
        EnrollOutcome::PinTaken(_)
    ));

    // Many devices racing for one invite (on two instances where there are two):
    // exactly one wins.
    let t4 = [11u8; 32];
    store.add_invite(t4, &invite).unwrap();
    let stores = [&store, other];
    let outcomes: Vec<EnrollOutcome> = std::thread::scope(|s| {
        let racers: Vec<_> = (0..8)
            .map(|i| {
                let store = stores[i % 2];
                s.spawn(move || {
                    store
                        .enroll(t4, device(&format!("racer{i}")), Utc::now())
                        .unwrap()
                })
            })
            .collect();
        racers.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let won = outcomes
        .iter()
        .filter(|o| matches!(o, EnrollOutcome::Enrolled(_)))
        .count();
    assert_eq!(won, 1, "{outcomes:?}");

    // Revocation, seen by the other instance.
    assert!(other.revoke(Uuid::new_v4()).unwrap().is_none());
    assert!(other.revoke(d.id).unwrap().unwrap().revoked);
    assert!(store.device_by_pin("p1").unwrap().unwrap().revoked);
    assert_eq!(store.devices().unwrap().len(), 2);
}

pub(crate) fn coordinators_are_kept_once_in_the_order_added<F: Fixture>(fx: &F) {
    let store = fx.open();
    assert!(store.coordinators().unwrap().is_empty());
    assert!(store.add_coordinator("age1a").unwrap());
    assert!(!store.add_coordinator("age1a").unwrap());
    assert!(store.add_coordinator("age1b").unwrap());
    assert_eq!(store.coordinators().unwrap(), vec!["age1a", "age1b"]);
}

pub(crate) fn settings_are_replaced_but_initialised_once<F: Fixture>(fx: &F) {
    let store = fx.open();
    assert_eq!(store.setting("listen").unwrap(), None);
    store.set_setting("listen", "127.0.0.1:1").unwrap();
    assert_eq!(
        store.setting("listen").unwrap().as_deref(),
        Some("127.0.0.1:1")
    );
    store.set_setting("listen", "127.0.0.1:2").unwrap();
    assert_eq!(
        store.setting("listen").unwrap().as_deref(),
        Some("127.0.0.1:2")
    );
    assert_eq!(store.init_setting("k", "first").unwrap(), "first");
    assert_eq!(store.init_setting("k", "second").unwrap(), "first");
}

pub(crate) fn blob_metadata_is_announced_once_then_replaced_and_removed<F: Fixture>(fx: &F) {
    let store = fx.open();
    let id = Uuid::new_v4();
    let meta = BlobMeta {
        size: 10,
        sha256: "0".repeat(64),
        audience: vec!["age1a".into()],
        received: 0,
        complete: false,
        pushed_by: Uuid::new_v4(),
        received_at: now(),
    };
    assert_eq!(store.announce_blob(id, &meta).unwrap(), meta);
    let other = BlobMeta {
        size: 11,
        ..meta.clone()
    };
    assert_eq!(store.announce_blob(id, &other).unwrap(), meta);
    let progressed = BlobMeta {
        received: 5,
        ..meta.clone()
    };
    store.put_blob(id, &progressed).unwrap();
    assert_eq!(store.blob(id).unwrap(), Some(progressed));
    store.remove_blob(id).unwrap();
    assert_eq!(store.blob(id).unwrap(), None);
}

/// Each device's quotas count what it stored: objects stored (not those it pushed again
/// or whose id was taken), and the sizes of the blobs it announced, until removed; the
/// counts survive a reopen.
pub(crate) fn usage_counts_what_each_device_stored<F: Fixture>(fx: &F) {
    let store = fx.open();
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    assert_eq!(store.usage(a).unwrap(), Usage::default());
    let frames = vec![frame(1, &["age1a"]), frame(2, &["age1a"])];
    store.push(a, now(), &frames).unwrap();
    // Again, plus one new, plus one whose id another device's object has.
    let mut taken = frame(4, &["age1a"]);
    taken.id = frames[0].id;
    store
        .push(a, now(), &[frames[1].clone(), frame(3, &["age1a"])])
        .unwrap();
    store.push(b, now(), &[taken]).unwrap();
    let blob = |size, by| BlobMeta {
        size,
        sha256: "0".repeat(64),
        audience: vec!["age1a".into()],
        received: 0,
        complete: false,
        pushed_by: by,
        received_at: now(),
    };
    let (x, y, z) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    store.announce_blob(x, &blob(100, a)).unwrap();
    store.announce_blob(y, &blob(20, a)).unwrap();
    store.announce_blob(z, &blob(7, b)).unwrap();
    store.remove_blob(y).unwrap();
    let want_a = Usage {
        objects: 3,
        evidence_bytes: 100,
    };
    assert_eq!(store.usage(a).unwrap(), want_a);
    assert_eq!(
        store.usage(b).unwrap(),
        Usage {
            objects: 0,
            evidence_bytes: 7
        }
    );
    drop(store);
    assert_eq!(fx.open().usage(a).unwrap(), want_a);
}

/// The property a device's cursor relies on: many pushers (on two instances where there
/// are two) and pullers pulling all the while; every puller ends with every pushed object,
/// each exactly once. Numbering that lets a later number become visible before an
/// earlier one (a plain PostgreSQL sequence, say) lets a puller's cursor pass an object
/// that commits later, and this check then fails.
pub(crate) fn concurrent_pushers_never_make_a_puller_skip<F: Fixture>(fx: &F) {
    let first = fx.open();
    let second = second_instance(fx);
    let stores = [&first, second.as_ref().unwrap_or(&first)];
    let pushers = 8;
    let batches = 25;
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let pullers: Vec<_> = (0..4)
            .map(|p| {
                let done = &done;
                s.spawn(move || {
                    let me = Uuid::new_v4();
                    let mut seen: Vec<Uuid> = Vec::new();
                    let mut since = 0;
                    loop {
                        // Read the flag first: a pull after it sees every push.
                        let last_round = done.load(Ordering::SeqCst);
                        loop {
                            let mut q = query(since, me, None);
                            q.limit = 7;
                            let page = stores[p % 2].pull(&q).unwrap();
                            assert!(page.next >= since);
                            seen.extend(page.frames.iter().map(|f| f.id));
                            since = page.next;
                            if !page.more {
                                break;
                            }
                        }
                        if last_round {
                            return seen;
                        }
                    }
                })
            })
            .collect();
        let writers: Vec<_> = (0..pushers)
            .map(|w| {
                s.spawn(move || {
                    let me = Uuid::new_v4();
                    let mut ids = Vec::new();
                    for b in 0..batches {
                        let batch: Vec<Frame> =
                            (0..1 + (w + b) % 4).map(|_| frame(1, &["age1x"])).collect();
                        ids.extend(batch.iter().map(|f| f.id));
                        // Now and then the same batch again, through the other instance.
                        let out = stores[(w + b) % 2].push(me, Utc::now(), &batch).unwrap();
                        assert!(out.iter().all(|o| matches!(o, PushOutcome::Stored(_))));
                        if b % 5 == 0 {
                            let out = stores[(w + b + 1) % 2]
                                .push(me, Utc::now(), &batch)
                                .unwrap();
                            assert!(out.iter().all(|o| *o == PushOutcome::Existing));
                        }
                    }
                    ids
                })
            })
            .collect();
        let mut pushed: Vec<Uuid> = Vec::new();
        for w in writers {
            pushed.extend(w.join().unwrap());
        }
        done.store(true, Ordering::SeqCst);
        let pushed_set: HashSet<Uuid> = pushed.iter().copied().collect();
        assert_eq!(pushed_set.len(), pushed.len());
        for p in pullers {
            let seen = p.join().unwrap();
            let seen_set: HashSet<Uuid> = seen.iter().copied().collect();
            assert_eq!(seen.len(), seen_set.len(), "an object was delivered twice");
            assert_eq!(
                seen_set.len(),
                pushed_set.len(),
                "a puller missed {} objects",
                pushed_set.difference(&seen_set).count()
            );
            assert_eq!(seen_set, pushed_set);
        }
    });
}

/// The same id pushed at once (through two instances where there are two): stored once;
/// with other bytes, refused.
pub(crate) fn the_same_id_pushed_at_once_is_stored_once<F: Fixture>(fx: &F) {
    let first = fx.open();
    let second = second_instance(fx);
    let stores = [&first, second.as_ref().unwrap_or(&first)];
    for round in 0..20 {
        let f = frame(round, &["age1x"]);
        let mut g = f.clone();
        if round % 2 == 1 {
            g.ciphertext.push(1);
        }
        let go = Barrier::new(2);
        let mut outs: Vec<PushOutcome> = std::thread::scope(|s| {
            let threads: Vec<_> = [f, g]
                .into_iter()
                .enumerate()
                .map(|(i, fr)| {
                    let go = &go;
                    s.spawn(move || {
                        go.wait();
                        stores[i].push(Uuid::new_v4(), Utc::now(), &[fr]).unwrap()[0]
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        outs.sort_by_key(|o| !matches!(o, PushOutcome::Stored(_)));
        assert!(matches!(outs[0], PushOutcome::Stored(_)), "{outs:?}");
        let second = if round % 2 == 1 {
            PushOutcome::IdTaken
        } else {
            PushOutcome::Existing
        };
        assert_eq!(outs[1], second);
    }
    // One object per round, whatever raced: everything stored is delivered to a
    // coordinator that pushed none of it.
    let page = first.pull(&query(0, Uuid::new_v4(), None)).unwrap();
    assert_eq!((page.frames.len(), page.more), (20, false));
}

pub(crate) fn the_roster_log_is_appended_only_after_its_last_entry<F: Fixture>(fx: &F) {
    let store = fx.open();
    let org = org_key(1);
    let log = org_log(&org, 4);
    assert!(store.roster_log().unwrap().is_empty());
    // Built on an entry the empty log does not have.
    assert_eq!(
        store.append_roster_log(1, &log[1..2]).unwrap(),
        LogAppend::Conflict(0)
    );
    assert!(store.roster_log().unwrap().is_empty());

    // To the empty log; then stale (or ahead): refused, the log unchanged.
    assert_eq!(
        store.append_roster_log(0, &log[..2]).unwrap(),
        LogAppend::Appended
    );
    assert_eq!(store.roster_log().unwrap(), log[..2]);
    for (after, entries) in [(0, &log[..1]), (1, &log[1..3]), (3, &log[3..])] {
        assert_eq!(
            store.append_roster_log(after, entries).unwrap(),
            LogAppend::Conflict(2),
            "after {after}"
        );
    }
    assert_eq!(store.roster_log().unwrap(), log[..2]);
    // Entries not numbered from `after + 1` on: an error, and nothing stored (not even
    // the first, well-numbered one).
    assert!(store.append_roster_log(2, &log[3..]).is_err());
    let mut swapped = log[2..].to_vec();
    swapped.swap(0, 1);
    assert!(store.append_roster_log(2, &swapped).is_err());
    let gap = [log[2].clone(), log[2].clone()];
    assert!(store.append_roster_log(2, &gap).is_err());
    assert_eq!(store.roster_log().unwrap(), log[..2]);

    // After the last entry: stored, and the entries come back identical, so that their
    // signatures still verify.
    assert_eq!(
        store.append_roster_log(2, &log[2..]).unwrap(),
        LogAppend::Appended
    );
    let back = store.roster_log().unwrap();
    assert_eq!(back, log);
    let verified = roster_log::verify(&org.verifying_key(), None, &back).unwrap();
    assert_eq!((verified.head.seq, verified.head.hash), (4, log[3].hash()));
    assert_eq!(verified.coordinators.len(), 3);

    // Reopened (a restart; another instance where there can be one): the same log.
    drop(store);
    let store = fx.open();
    assert_eq!(store.roster_log().unwrap(), log);
    let other = second_instance(fx);
    let other = other.as_ref().unwrap_or(&store);
    assert_eq!(other.roster_log().unwrap(), log);
    assert_eq!(
        other.append_roster_log(2, &log[2..]).unwrap(),
        LogAppend::Conflict(4)
    );
    let mut longer = log.clone();
    add_coordinator(&mut longer, &org);
    assert_eq!(
        other.append_roster_log(4, &longer[4..]).unwrap(),
        LogAppend::Appended
    );
    assert_eq!(store.roster_log().unwrap(), longer);
}

/// Coordinators signing at once (through two instances where there are two), each after
/// the same entry: one append is stored whole, the others none of theirs.
pub(crate) fn roster_appends_at_once_let_exactly_one_win<F: Fixture>(fx: &F) {
    let first = fx.open();
    let second = second_instance(fx);
    let stores = [&first, second.as_ref().unwrap_or(&first)];
    let org = org_key(2);
    let base = org_log(&org, 2);
    assert_eq!(
        first.append_roster_log(0, &base).unwrap(),
        LogAppend::Appended
    );
    let racers = 8;
    let forks: Vec<Vec<Entry>> = (0..racers)
        .map(|_| {
            let mut log = base.clone();
            add_coordinator(&mut log, &org);
            add_coordinator(&mut log, &org);
            log.split_off(base.len())
        })
        .collect();
    let go = Barrier::new(racers);
    let outcomes: Vec<LogAppend> = std::thread::scope(|s| {
        let threads: Vec<_> = forks
            .iter()
            .enumerate()
            .map(|(i, entries)| {
                let go = &go;
                let store = stores[i % 2];
                s.spawn(move || {
                    go.wait();
                    store.append_roster_log(2, entries).unwrap()
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let won: Vec<usize> = (0..racers)
        .filter(|i| outcomes[*i] == LogAppend::Appended)
        .collect();
    assert_eq!(won.len(), 1, "{outcomes:?}");
    assert!(outcomes
        .iter()
        .all(|o| matches!(o, LogAppend::Appended | LogAppend::Conflict(4))));
    let mut want = base.clone();
    want.extend(forks[won[0]].iter().cloned());
    assert_eq!(first.roster_log().unwrap(), want);
    assert!(roster_log::verify(&org.verifying_key(), None, &want).is_ok());
}
