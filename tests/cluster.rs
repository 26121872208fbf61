//! Several `custos-hub` processes serving one organisation from one PostgreSQL database:
//! one pin, one roster, revocations everywhere; devices pushing to different instances
//! at once while others pull (nothing lost, nothing twice); PostgreSQL stopped and
//! restarted during a sync; an instance killed in the middle of a push; evidence files
//! in a folder the instances share.
//!
//! They need the server named by `CUSTOS_TEST_POSTGRES` (scripts/test starts one), and
//! the fault tests start servers of their own with scripts/postgres.sh.

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use custos_hub::store::pg::ScratchDatabase;
use custos_sync::{NetError, SyncError};
use custos_test_support::postgres::PgServer;
use support::{
    add_cases, case, enrolled, forward, forward_to, get_case, is_unavailable, new_vault, org,
    random_frame, run, Backend, Hub, SimDevice,
};
use uuid::Uuid;

/// Objects in the database, and distinct ids among them.
fn objects_in(backend: &Backend) -> (i64, i64) {
    let row = backend
        .client()
        .query_one("SELECT count(*), count(DISTINCT id) FROM objects", &[])
        .unwrap();
    (row.get(0), row.get(1))
}

#[test]
fn two_instances_serve_one_organisation_with_one_pin() {
    let tmp = tempfile::tempdir().unwrap();
    let backend = Backend::postgres();
    let mut a = Hub::start(&tmp.path().join("a"), &backend);
    let mut coord = org(&a);
    let b = a.another_instance(&tmp.path().join("b"));
    assert_eq!(a.pin, b.pin, "both instances prove the same key");

    // A device enrolls through B with an invite made on B, and pushes there; the
    // coordinator, on A, reads it.
    let mut field = enrolled(&b.invite("field", None), "field on b");
    let id = field
        .vault
        .add(case("Checkpoint beating", "two witnesses"))
        .unwrap();
    assert_eq!(run(&mut field.vault).unwrap().pushed, 1);
    assert_eq!(run(&mut coord.vault).unwrap().pulled, 1);
    assert_eq!(get_case(&coord.vault, id).title, "Checkpoint beating");

    // Both list the same devices; a revocation on A refuses the device on B at once.
    let device = field.vault.sync_info().device_id.unwrap().to_string();
    assert!(b.cli(&["devices", "list"]).contains(&device));
    a.cli(&["devices", "revoke", &device]);
    field.vault.add(case("after", "revocation")).unwrap();
    let err = run(&mut field.vault).unwrap_err();
    assert!(
        matches!(&err, SyncError::Net(NetError::Refused { status: 403, .. })),
        "{err}"
    );
    // An invite made on A, for B's address, works once, on B.
    let invite = a.invite("field", Some(&b.addr));
    let _second = enrolled(&invite, "second");
    assert!(custos_sync::enroll(
        &mut new_vault().vault,
        &invite,
        "third",
        custos_sync::Route::Direct
    )
    .unwrap_err()
    .to_string()
    .contains("invite_used"));

    // With A stopped, its admin commands reach the database directly (the folder
    // remembers it).
    a.kill();
    let list = a.cli(&["devices", "list"]);
    assert!(list.contains(&device) && list.contains("second"), "{list}");

    // A folder with other keys is refused on this database: its devices would see
    // another pin.
    let err = Hub::refused(&tmp.path().join("c"), &backend);
    assert!(err.contains("copy tls.key"), "{err}");
    // Unless it is made the organisation's on purpose; then the old keys are refused.
    let c = Hub::start_args(
        &tmp.path().join("c"),
        "127.0.0.1:0",
        &backend,
        &["--adopt-keys"],
    );
    assert_ne!(c.pin, b.pin);
    let err = Hub::refused(&tmp.path().join("a"), &backend);
    assert!(err.contains(&c.pin), "{err}");
}

/// Pushers on both instances at once while coordinators pull from both all the while;
/// some batches are pushed again through the other instance. Every puller ends with
/// every object exactly once, and the database holds each once.
#[test]
fn devices_pushing_to_two_instances_at_once_lose_and_duplicate_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let backend = Backend::postgres();
    let a = Hub::start(&tmp.path().join("a"), &backend);
    let b = a.another_instance(&tmp.path().join("b"));
    let hubs = [a.addr.clone(), b.addr.clone()];
    let pushers = 12;
    let batches = 25;

    let mut pullers = Vec::new();
    for hub in &hubs {
        let invite = a.invite("coordinator", Some(hub));
        pullers.push(SimDevice::enroll(&invite, None, "coordinator").unwrap());
    }
    let mut devices = Vec::new();
    for i in 0..pushers {
        let invite = a.invite("field", Some(&hubs[i % 2]));
        devices.push(SimDevice::enroll(&invite, None, "field").unwrap());
    }

    let done = Arc::new(AtomicBool::new(false));
    let pulling: Vec<_> = pullers
        .into_iter()
        .map(|mut p| {
            let done = done.clone();
            thread::spawn(move || {
                let mut seen: Vec<Uuid> = Vec::new();
                loop {
                    let last_round = done.load(Ordering::SeqCst);
                    loop {
                        let (frames, more) = p.pull(50).unwrap();
                        seen.extend(frames.iter().map(|f| f.id));
                        if !more {
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
    let start = Arc::new(Barrier::new(pushers));
    let hubs = Arc::new(hubs);
    let pushing: Vec<_> = devices
        .into_iter()
        .enumerate()
        .map(|(i, mut d)| {
            let (start, hubs) = (start.clone(), hubs.clone());
            thread::spawn(move || {
                start.wait();
                let mut ids = Vec::new();
                for n in 0..batches {
                    let batch: Vec<_> = (0..1 + (i + n) % 5)
                        .map(|k| random_frame(&d.recipient, 200 + 50 * k))
                        .collect();
                    let r = d.push(&batch).unwrap();
                    assert_eq!((r.stored, r.existing), (batch.len(), 0));
                    ids.extend(batch.iter().map(|f| f.id));
                    if n % 6 == 0 {
                        // The same batch through the other instance (a retry after a
                        // lost answer): found there, stored nowhere twice.
                        d.switch_to(&hubs[(i + 1) % 2]);
                        let r = d.push(&batch).unwrap();
                        assert_eq!((r.stored, r.existing), (0, batch.len()));
                        d.switch_to(&hubs[i % 2]);
                    }
                }
                ids
            })
        })
        .collect();
    let mut pushed = Vec::new();
    for t in pushing {
        pushed.extend(t.join().unwrap());
    }
    done.store(true, Ordering::SeqCst);
    let pushed_set: HashSet<Uuid> = pushed.iter().copied().collect();
    assert_eq!(pushed_set.len(), pushed.len());
    for t in pulling {
        let seen = t.join().unwrap();
        let seen_set: HashSet<Uuid> = seen.iter().copied().collect();
        assert_eq!(seen.len(), seen_set.len(), "an object was delivered twice");
        assert_eq!(
            seen_set,
            pushed_set,
            "a puller missed {}",
            pushed_set.difference(&seen_set).count()
        );
    }
    let n = pushed.len() as i64;
    assert_eq!(objects_in(&backend), (n, n));
}

/// PostgreSQL goes away in the middle of a device's push: the device gets a temporary
/// error in plain words, in bounded time, also while it stays down; the hub reconnects
/// by itself once it is back, and the next sync completes with nothing lost or doubled.
/// A restart during the next push is survived the same way.
#[test]
fn postgres_stopped_and_restarted_during_sync_loses_nothing() {
    let server = PgServer::start();
    let backend = Backend::Postgres(Arc::new(ScratchDatabase::create(&server.url).unwrap()));
    let tmp = tempfile::tempdir().unwrap();
    let mut hub = Hub::start(&tmp.path().join("hub"), &backend);
    let mut coord = org(&hub);
    let fwd = forward(&hub.addr);
    let mut a = enrolled(&hub.invite("field", Some(&fwd.addr)), "field A");
    add_cases(&mut a.vault, 3000);

    let (done_tx, done_rx) = mpsc::channel();
    let vault = std::mem::replace(&mut a.vault, new_vault().vault);
    let worker = thread::spawn(move || {
        let mut vault = vault;
        let r = run(&mut vault);
        done_tx.send(()).unwrap();
        (vault, r)
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while fwd.upstream.load(Ordering::SeqCst) < 2_000_000 && done_rx.try_recv().is_err() {
        assert!(Instant::now() < deadline);
        thread::sleep(Duration::from_millis(5));
    }
    server.stop();
    let (vault, r) = worker.join().unwrap();
    a.vault = vault;
    let err = r.expect_err("the sync noticed the storage going away");
    assert!(is_unavailable(&err), "{err}");
    assert!(err.to_string().contains("storage"), "{err}");
    let pending = a.vault.sync_info().pending_versions;
    assert!(pending > 0 && pending < 3000, "{pending} pending");

    // While it is down: a clear answer in bounded time, and the hub stays up.
    let started = Instant::now();
    let err = run(&mut a.vault).unwrap_err();
    assert!(is_unavailable(&err), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the answer took {:?}",
        started.elapsed()
    );
    assert!(a.vault.sync_info().last_error.unwrap().contains("storage"));
    assert!(hub.is_running());

    server.resume();
    run(&mut a.vault).unwrap();
    assert_eq!(a.vault.sync_info().pending_versions, 0);
    assert_eq!(run(&mut coord.vault).unwrap().pulled, 3000);
    assert_eq!(objects_in(&backend), (3000, 3000));

    // A restart in the middle of the next push.
    add_cases(&mut a.vault, 1500);
    let before = fwd.upstream.load(Ordering::SeqCst);
    let vault = std::mem::replace(&mut a.vault, new_vault().vault);
    let worker = thread::spawn(move || {
        let mut vault = vault;
        let r = run(&mut vault);
        (vault, r)
    });
    while fwd.upstream.load(Ordering::SeqCst) < before + 800_000 && !worker.is_finished() {
        thread::sleep(Duration::from_millis(2));
    }
    server.restart();
    let (vault, r) = worker.join().unwrap();
    a.vault = vault;
    if let Err(e) = r {
        assert!(is_unavailable(&e), "{e}");
    }
    // The next sync (the device's scheduler retries) completes.
    run(&mut a.vault).unwrap();
    assert_eq!(a.vault.sync_info().pending_versions, 0);
    assert_eq!(run(&mut coord.vault).unwrap().pulled, 1500);
    assert_eq!(coord.vault.version_count(), 4500);
    assert_eq!(objects_in(&backend), (4500, 4500));
    assert!(hub.is_running());
}

/// One instance dies in the middle of a device's push; the load balancer sends the
/// device's next connection to the other instance, where its sync completes. Nothing is
/// lost and nothing stored twice.
#[test]
fn an_instance_killed_mid_push_the_device_goes_on_through_the_other() {
    let tmp = tempfile::tempdir().unwrap();
    let backend = Backend::postgres();
    let mut a = Hub::start(&tmp.path().join("a"), &backend);
    let b = a.another_instance(&tmp.path().join("b"));
    let mut coord = org(&b);
    let lb = forward_to(&[&a.addr, &b.addr]);
    let mut field = enrolled(&a.invite("field", Some(&lb.addr)), "field");
    let ids = add_cases(&mut field.vault, 3000);

    let vault = std::mem::replace(&mut field.vault, new_vault().vault);
    let worker = thread::spawn(move || {
        let mut vault = vault;
        let r = run(&mut vault);
        (vault, r)
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while lb.upstream.load(Ordering::SeqCst) < 2_000_000 && !worker.is_finished() {
        assert!(Instant::now() < deadline);
        thread::sleep(Duration::from_millis(5));
    }
    a.kill();
    let (vault, r) = worker.join().unwrap();
    field.vault = vault;
    assert!(r.is_err(), "the sync noticed the instance going away");
    let pending = field.vault.sync_info().pending_versions;
    assert!(pending > 0 && pending < 3000, "{pending} pending");

    let r = run(&mut field.vault).unwrap();
    assert_eq!(r.pushed + r.existing, pending);
    assert_eq!(field.vault.sync_info().pending_versions, 0);
    assert_eq!(run(&mut coord.vault).unwrap().pulled, 3000);
    assert_eq!(coord.vault.version_count(), 3000);
    assert_eq!(get_case(&coord.vault, ids[2999]).title, "case 2999");
    assert_eq!(objects_in(&backend), (3000, 3000));
    // Each version once: per record, one version.
    let mut per_record: HashMap<Uuid, usize> = HashMap::new();
    for id in &ids {
        *per_record.entry(*id).or_default() += coord.vault.history(*id).unwrap().len();
    }
    assert!(per_record.values().all(|n| *n == 1));
}

/// Evidence files in a folder both instances see (`--blob-dir`): uploaded through one,
/// downloaded through the other, checked against their hash; nothing of them in the
/// database.
#[test]
fn evidence_in_a_shared_folder_travels_between_instances() {
    let tmp = tempfile::tempdir().unwrap();
    let backend = Backend::postgres();
    let shared = tmp.path().join("evidence");
    let blob_dir = ["--blob-dir", shared.to_str().unwrap()];
    let a = Hub::start_args(&tmp.path().join("a"), "127.0.0.1:0", &backend, &blob_dir);
    support::copy_keys(&a.data, &tmp.path().join("b"));
    let b = Hub::start_args(&tmp.path().join("b"), "127.0.0.1:0", &backend, &blob_dir);
    let mut coord = org(&b);
    let mut field = enrolled(&a.invite("field", None), "field");
    let id = field.vault.add(case("Evidence", "a photo")).unwrap();
    let file = tmp.path().join("photo.bin");
    let content: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &content).unwrap();
    let ev = field
        .vault
        .attach(
            &file,
            custos_vault::Attach {
                case_id: id,
                attached_to: vec![],
                description: "photo".into(),
                derived_from: None,
            },
        )
        .unwrap();
    assert_eq!(run(&mut field.vault).unwrap().blobs_up, 1);
    assert_eq!(run(&mut coord.vault).unwrap().blobs_down, 1);
    assert!(coord.vault.verify_evidence(ev).unwrap().ok);
    let files: Vec<_> = std::fs::read_dir(&shared).unwrap().flatten().collect();
    assert_eq!(files.len(), 1, "one complete file in the shared folder");
    let chunks: i64 = backend
        .client()
        .query_one("SELECT count(*) FROM blob_chunks", &[])
        .unwrap()
        .get(0);
    assert_eq!(chunks, 0);
}
