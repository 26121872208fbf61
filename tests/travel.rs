//! Travel mode against a real hub (cases removed only once the hub holds them, brought
//! back after); objects a hostile or broken hub could hand a device (each is refused,
//! the rest of the sync goes on); an evidence download cut midway (it resumes).

mod support;

use custos_search::VaultSearch;
use std::fs;

use custos_model::hlc::Hlc;
use custos_model::{Body, Case, Kind, Record, Version, SCHEMA_VERSION};
use custos_sync::net::Connection;
use custos_sync::{self as sync, Held};
use custos_vault::crypto::{self, DeviceKey};
use custos_vault::Attach;
use custos_vault::Exchange;
use custos_vault::{Error, Filter};
use custos_wire::{self as wire, Frame};
use support::{case, enrolled, get_case, org, run, Backend, Hub};
use uuid::Uuid;

const CANARY: &str = "Ocelot-travel-canary";

#[test]
fn travel_removes_only_what_the_hub_holds_and_brings_it_back() {
    let tmp = tempfile::tempdir().unwrap();
    let backend = Backend::sled();
    let hub = Hub::start(&tmp.path().join("hub"), &backend);
    let _coord = org(&hub);
    let mut a = enrolled(&hub.invite("field", None), "laptop");
    let keep = a.vault.add(case("Workshop logistics", "keep")).unwrap();
    let risky = a.vault.add(case("Torture testimony", CANARY)).unwrap();
    let photo = tmp.path().join("scar.jpg");
    fs::write(&photo, vec![0xabu8; 200_000]).unwrap();
    let ev = a
        .vault
        .attach(
            &photo,
            Attach {
                case_id: risky,
                attached_to: vec![],
                description: "photo".into(),
                derived_from: None,
            },
        )
        .unwrap();

    // Not synced yet: refused, nothing removed.
    let err = sync::travel_remove(&Held::new(&mut a.vault), Some(&[risky])).unwrap_err();
    assert!(
        matches!(&err, sync::SyncError::Vault(Error::Invalid(m)) if m.contains("sync first")),
        "{err}"
    );
    // The vault alone, without the hub's confirmation: refused too.
    let err = a
        .vault
        .travel_remove(Some(&[risky]), &Default::default())
        .unwrap_err();
    assert!(matches!(&err, Error::Invalid(_)), "{err}");
    assert!(a.vault.get(risky).is_ok());

    run(&mut a.vault).unwrap();
    // An edit made after the sync is not on the hub: refused again.
    let mut c = get_case(&a.vault, risky);
    c.title.push_str(" (2)");
    a.vault.update(risky, Record::Case(c)).unwrap();
    assert!(sync::travel_remove(&Held::new(&mut a.vault), Some(&[risky])).is_err());
    run(&mut a.vault).unwrap();
    // Synced, but not confirmed by the hub: the vault refuses.
    let err = a
        .vault
        .travel_remove(Some(&[risky]), &Default::default())
        .unwrap_err();
    assert!(
        matches!(&err, Error::Invalid(m) if m.contains("not confirmed")),
        "{err}"
    );

    let ocelot = custos_search::SearchQuery {
        text: "ocelot".into(),
        ..Default::default()
    };
    assert_eq!(a.vault.search(&ocelot).unwrap().total, 1);
    let removed = sync::travel_remove(&Held::new(&mut a.vault), Some(&[risky])).unwrap();
    assert_eq!((removed.cases, removed.records, removed.files), (1, 2, 1));
    // Search forgets it too (its words are not left in the index or its snapshot).
    assert_eq!(a.vault.search(&ocelot).unwrap().total, 0);
    // Its snapshot is written again, without them.
    assert!(a.vault.dir().join("search.age").exists());
    assert!(a.vault.sync_info().paused, "sync pauses for the crossing");
    let titles: Vec<String> = a
        .vault
        .list(&Filter::default())
        .into_iter()
        .map(|i| i.summary.title.clone())
        .collect();
    assert_eq!(titles, vec!["Workshop logistics".to_string()]);
    assert!(a.vault.get(risky).is_err());
    let dir = a.vault.dir().to_owned();
    // Locked, the device holds nothing of it: no version decrypts to it, no file.
    drop(std::mem::replace(&mut a.vault, support::new_vault().vault));
    let mut v = custos_vault::Vault::unlock(&dir, &support::pass(), support::OPTS).unwrap();
    assert!(v.get(risky).is_err());
    assert!(v.get(keep).is_ok());
    assert_eq!(
        v.version_count(),
        1,
        "only the kept case's version is stored"
    );
    assert_eq!(fs::read_dir(dir.join("blobs")).unwrap().count(), 0);

    // After the crossing: everything comes back, with its file.
    let r = sync::restore(&Held::new(&mut v)).unwrap();
    assert_eq!(r.blobs_down, 1);
    assert!(!v.sync_info().paused);
    assert_eq!(get_case(&v, risky).summary, CANARY);
    assert_eq!(v.search(&ocelot).unwrap().total, 1);
    assert_eq!(v.history(risky).unwrap().len(), 2);
    assert!(v.verify_evidence(ev).unwrap().ok);
    // And nothing is duplicated or sent back.
    let again = run(&mut v).unwrap();
    assert_eq!((again.pushed, again.pulled), (0, 0));
}

#[test]
fn objects_that_do_not_check_are_refused_and_the_rest_of_the_sync_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start(&tmp.path().join("hub"), &Backend::sled());
    let mut coord = org(&hub);
    let mut a = enrolled(&hub.invite("field", None), "A");
    let b = enrolled(&hub.invite("field", None), "B");
    let id = a.vault.add(case("A's case", "a")).unwrap();
    run(&mut a.vault).unwrap();
    run(&mut coord.vault).unwrap();

    // Field worker B writes into A's audience: garbage, a version sealed to A but signed
    // by a key nobody knows, and one sealed to someone else.
    let me = a.vault.recipient();
    let forged = |signer: &DeviceKey, to: &str, record: Uuid| {
        let version_id = Uuid::new_v4();
        let v = Version {
            schema_version: SCHEMA_VERSION,
            record_id: record,
            version_id,
            kind: Kind::Case,
            parents: vec![],
            hlc: Hlc::default(),
            device: Uuid::new_v4(),
            audience: vec![],
            chain: None,
            body: Body::Record(Record::Case(Case {
                title: "planted".into(),
                ..Case::default()
            })),
        };
        let body = serde_json::to_vec(&v).unwrap();
        let to: crypto::VaultRecipient = to.parse().unwrap();
        let ct = crypto::seal(&[to], signer, &signer.public(), &body)
            .unwrap()
            .ciphertext;
        Frame {
            seq: 0,
            id: version_id,
            audience: vec![me.clone()],
            ciphertext: ct,
        }
    };
    let stranger = DeviceKey::generate();
    let other = crypto::generate_identity().to_public().to_string();
    let frames = vec![
        Frame {
            seq: 0,
            id: Uuid::new_v4(),
            audience: vec![me.clone()],
            ciphertext: b"age-encryption.org/v1\nnot really".to_vec(),
        },
        forged(&stranger, &me, Uuid::new_v4()),
        forged(&stranger, &other, Uuid::new_v4()),
    ];
    let plan = b.vault.sync_plan().unwrap();
    let mut conn = Connection::open(&plan.hub, &plan.route, &plan.credentials).unwrap();
    conn.request(
        "POST",
        "/v1/objects",
        Some(wire::FRAMES_TYPE),
        &wire::encode_frames(&frames).unwrap(),
    )
    .unwrap();

    // A legitimate edit from the coordinator travels in the same pull.
    let mut c = get_case(&coord.vault, id);
    c.summary = "reviewed".into();
    coord.vault.update(id, Record::Case(c)).unwrap();
    run(&mut coord.vault).unwrap();

    let r = run(&mut a.vault).unwrap();
    assert_eq!(r.pulled, 1, "the coordinator's edit is taken");
    assert_eq!(r.pull_rejected.len(), 3, "{:?}", r.pull_rejected);
    assert_eq!(get_case(&a.vault, id).summary, "reviewed");
    let titles: Vec<String> = a
        .vault
        .list(&Filter::default())
        .into_iter()
        .map(|i| i.summary.title.clone())
        .collect();
    assert!(!titles.iter().any(|t| t == "planted"));
    let info = a.vault.sync_info();
    assert!(info.last_success.is_some());
    assert!(
        info.last_error.unwrap().contains("3 item(s) were refused"),
        "the status says so"
    );
}

/// A forwarder that cuts each connection once `limit` bytes came back from the hub.
fn cutting_forwarder(
    target: String,
    limit: std::sync::Arc<std::sync::atomic::AtomicU64>,
) -> String {
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpListener, TcpStream};
    use std::sync::atomic::Ordering;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for client in listener.incoming().map_while(Result::ok) {
            let Ok(server) = TcpStream::connect(&target) else {
                continue;
            };
            let max = limit.load(Ordering::SeqCst);
            let (mut c_read, mut s_write) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c_read, &mut s_write);
                let _ = s_write.shutdown(Shutdown::Write);
            });
            let (mut s_read, mut c_write) = (server, client);
            std::thread::spawn(move || {
                let mut sent = 0u64;
                let mut buf = [0u8; 16 * 1024];
                while let Ok(n) = s_read.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let n = n.min((max - sent) as usize);
                    if c_write.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    sent += n as u64;
                    if sent >= max {
                        break;
                    }
                }
                let _ = c_write.shutdown(Shutdown::Both);
                let _ = s_read.shutdown(Shutdown::Both);
            });
        }
    });
    addr
}

#[test]
fn a_download_cut_midway_resumes_where_it_stopped() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start(&tmp.path().join("hub"), &Backend::sled());
    let limit = Arc::new(AtomicU64::new(u64::MAX));
    let via = cutting_forwarder(hub.addr.clone(), limit.clone());
    // The coordinator reaches the hub through the cutting forwarder.
    let mut coord = support::new_vault();
    hub.cli(&["coordinators", "add", &coord.vault.recipient()]);
    sync::enroll(
        &mut coord.vault,
        &hub.invite("coordinator", Some(&via)),
        "coordinator",
        sync::Route::Direct,
    )
    .unwrap();
    let mut a = enrolled(&hub.invite("field", None), "A");
    let id = a.vault.add(case("c", "s")).unwrap();
    let file = tmp.path().join("video.bin");
    let content: Vec<u8> = (0..10_000_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 9) as u8)
        .collect();
    fs::write(&file, &content).unwrap();
    let ev = a
        .vault
        .attach(
            &file,
            Attach {
                case_id: id,
                attached_to: vec![],
                description: "video".into(),
                derived_from: None,
            },
        )
        .unwrap();
    run(&mut a.vault).unwrap();

    // The connection dies after ~6 MB of the 10 MB file came down.
    limit.store(6_000_000, Ordering::SeqCst);
    assert!(run(&mut coord.vault).is_err());
    assert!(coord.vault.read_evidence(ev).is_err(), "not there yet");
    limit.store(u64::MAX, Ordering::SeqCst);
    let r = run(&mut coord.vault).unwrap();
    assert_eq!(r.blobs_down, 1);
    assert!(
        r.bytes_received < 8_000_000,
        "resumed: {} bytes received the second time",
        r.bytes_received
    );
    assert!(coord.vault.verify_evidence(ev).unwrap().ok);
    let (_, mut reader) = coord.vault.read_evidence(ev).unwrap();
    let mut back = Vec::new();
    std::io::Read::read_to_end(&mut reader, &mut back).unwrap();
    assert!(back == content);
}

#[test]
fn a_pin_rotation_moves_synced_devices_to_the_new_key_and_only_them() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("hub");
    let backend = Backend::sled();
    let mut hub = Hub::start(&data, &backend);
    let _coord = org(&hub);
    let mut a = enrolled(&hub.invite("field", None), "follows");
    let mut b = enrolled(&hub.invite("field", None), "stays offline");
    let old_pin = hub.pin.clone();
    a.vault.add(case("c", "s")).unwrap();
    run(&mut a.vault).unwrap();

    // Prepare: the hub announces the next pin; A learns it at its next sync (a one-request
    // delta: the announcement rides on any answer).
    let out = hub.cli(&["pin", "next"]);
    let next = out
        .lines()
        .find_map(|l| l.strip_prefix("next pin "))
        .unwrap()
        .trim()
        .to_owned();
    assert_ne!(next, old_pin);
    a.vault.add(case("c2", "s2")).unwrap();
    assert_eq!(run(&mut a.vault).unwrap().requests, 1);
    // Still the old key until the switch: A keeps syncing.
    run(&mut a.vault).unwrap();
    assert_eq!(a.vault.sync_info().pin, old_pin);

    // Switch and restart on the same address.
    hub.cli(&["pin", "switch"]);
    let addr = hub.addr.clone();
    hub.kill();
    let hub = Hub::start_on(&data, &addr, &backend);
    assert_eq!(hub.pin, next, "the hub now proves the new key");
    a.vault.add(case("c3", "s3")).unwrap();
    run(&mut a.vault).unwrap();
    assert_eq!(a.vault.sync_info().pin, next, "A moved to the new pin");
    // B never heard of it: refused, as any other key would be.
    let err = run(&mut b.vault).unwrap_err();
    assert!(
        matches!(err, sync::SyncError::Net(sync::NetError::WrongPin)),
        "{err}"
    );
}

/// True when `needle` occurs in any file under `dir`; names the files.
fn found_in(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if fs::read(&p).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle)) {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out
}

/// Pieces of a ciphertext to look for: its middle and its end (not its start: every age
/// file starts alike).
fn pieces(value: &[u8]) -> Vec<&[u8]> {
    let n = 32.min(value.len());
    let mid = value.len() / 2;
    vec![
        &value[mid.saturating_sub(n / 2)..(mid + n / 2).min(value.len())],
        &value[value.len() - n..],
    ]
}

/// Travel mode as a searcher with the disk and the compelled passphrase would look at
/// it: no removed ciphertext anywhere in the vault folder, no custody entry of removed
/// evidence nor its key, no mark of what the hub holds for them, and no key of theirs
/// left in the key cache.
#[test]
fn travel_mode_leaves_no_trace_of_what_it_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let backend = Backend::sled();
    let hub = Hub::start(&tmp.path().join("hub"), &backend);
    let _coord = org(&hub);
    let mut a = enrolled(&hub.invite("field", None), "laptop");
    let keep = a.vault.add(case("Workshop logistics", "keep")).unwrap();
    let risky = a.vault.add(case("Torture testimony", CANARY)).unwrap();
    let photo = tmp.path().join("scar.jpg");
    fs::write(&photo, vec![0xcdu8; 150_000]).unwrap();
    let ev = a
        .vault
        .attach(
            &photo,
            Attach {
                case_id: risky,
                attached_to: vec![],
                description: "photo".into(),
                derived_from: None,
            },
        )
        .unwrap();
    a.vault
        .export_evidence(ev, &tmp.path().join("for-the-lawyer.jpg"))
        .unwrap();
    for i in 0..30 {
        let mut c = get_case(&a.vault, risky);
        c.summary = format!("{CANARY} edit {i}");
        a.vault.update(risky, Record::Case(c)).unwrap();
    }
    run(&mut a.vault).unwrap();
    let plan = a.vault.travel_plan(Some(&[risky])).unwrap();
    assert_eq!(plan.blobs.len(), 1);

    // What the disk holds of them, read as anyone with the folder would.
    let dir = a.vault.dir().to_owned();
    drop(std::mem::replace(&mut a.vault, support::new_vault().vault));
    let (versions, custody) = custos_test_support::with_sled(&dir.join("db"), |db| {
        let versions: Vec<(Uuid, Vec<u8>)> = plan
            .versions
            .iter()
            .map(|id| {
                let ct = db
                    .open_tree("versions")
                    .unwrap()
                    .get(id.as_bytes())
                    .unwrap();
                (*id, ct.expect("the version is stored").to_vec())
            })
            .collect();
        let custody: Vec<(Vec<u8>, Vec<u8>)> = db
            .open_tree("custody")
            .unwrap()
            .scan_prefix(ev.as_bytes())
            .map(|kv| {
                let (k, v) = kv.unwrap();
                (k.to_vec(), v.to_vec())
            })
            .collect();
        assert!(db
            .open_tree("synced_blobs")
            .unwrap()
            .contains_key(plan.blobs[0].as_bytes())
            .unwrap());
        (versions, custody)
    });
    assert!(
        custody.len() >= 2,
        "imported and exported: {}",
        custody.len()
    );
    let mut v = custos_vault::Vault::unlock(&dir, &support::pass(), support::OPTS).unwrap();
    let removed = sync::travel_remove(&Held::new(&mut v), Some(&[risky])).unwrap();
    assert_eq!(removed.records, 2);

    let look = |when: &str| {
        let mut left = Vec::new();
        for (id, ct) in &versions {
            for p in pieces(ct) {
                for f in found_in(&dir, p) {
                    left.push(format!("ciphertext of version {id} in {f}"));
                }
            }
            for f in found_in(&dir, id.as_bytes()) {
                left.push(format!("id of version {id} in {f}"));
            }
        }
        for (k, entry) in &custody {
            for f in found_in(&dir, k) {
                left.push(format!("custody key in {f}"));
            }
            for p in pieces(entry) {
                for f in found_in(&dir, p) {
                    left.push(format!("custody entry in {f}"));
                }
            }
        }
        for f in found_in(&dir, plan.blobs[0].as_bytes()) {
            left.push(format!("evidence file id in {f}"));
        }
        for f in found_in(&dir, ev.as_bytes()) {
            left.push(format!("evidence id in {f}"));
        }
        left.dedup();
        assert!(
            left.is_empty(),
            "{when}: {} traces:\n{}",
            left.len(),
            left.join("\n")
        );
    };
    look("unlocked, just after travel remove");
    v.lock().unwrap();
    look("locked");

    // With the passphrase: the key cache holds no key of a removed ciphertext.
    let identity = custos_vault::crypto::unwrap_identity(
        &fs::read(dir.join("identity.age")).unwrap(),
        &support::pass(),
    )
    .unwrap();
    let sealed = custos_test_support::with_sled(&dir.join("db"), |db| {
        let snapshots = db.open_tree("snapshots").unwrap();
        snapshots.get("keycache").unwrap().unwrap()
    });
    let cache = crypto::open_bytes(&identity, &sealed).unwrap();
    for (id, ct) in &versions {
        let digest: [u8; 32] = sha2::Digest::finalize(sha2::Digest::chain_update(
            <sha2::Sha256 as sha2::Digest>::new(),
            ct,
        ))
        .into();
        assert!(
            !cache.windows(32).any(|w| w == digest),
            "the key cache still holds the key of removed version {id}"
        );
    }

    // The vault still opens and holds what it kept.
    let v = custos_vault::Vault::unlock(&dir, &support::pass(), support::OPTS).unwrap();
    assert!(v.get(keep).is_ok());
    assert!(v.get(risky).is_err());
    assert_eq!(v.version_count(), 1);
}

fn db_size(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.join("db")];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else {
                total += m.len();
            }
        }
    }
    total
}

/// Figures: `travel remove` of half a vault of 10,000 records (100 cases of 100 records),
/// its time and the database's size before and after.
#[test]
#[ignore = "figures: cargo test -p custos-tests --release --test travel -- --ignored --nocapture travel_remove_figures"]
fn travel_remove_figures() {
    use custos_model::Note;
    use custos_vault::Change;
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start(&tmp.path().join("hub"), &Backend::sled());
    let _coord = org(&hub);
    let mut a = enrolled(&hub.invite("field", None), "laptop");
    let mut cases = Vec::new();
    for c in 0..100 {
        let case_id = a
            .vault
            .add(case(&format!("Case {c}"), &format!("summary {c}")))
            .unwrap();
        cases.push(case_id);
        let notes = (0..99)
            .map(|i| {
                Change::Create(Record::Note(Note {
                    case_id,
                    text: format!("note {i} of case {c}: {}", "testimony ".repeat(20)),
                    about: vec![],
                }))
            })
            .collect();
        a.vault.commit(notes).unwrap();
    }
    run(&mut a.vault).unwrap();
    let dir = a.vault.dir().to_owned();
    let before = db_size(&dir);
    let start = std::time::Instant::now();
    let removed = sync::travel_remove(&Held::new(&mut a.vault), Some(&cases[..50])).unwrap();
    let took = start.elapsed();
    assert_eq!(removed.records, 5_000);
    let after = db_size(&dir);
    drop(std::mem::replace(&mut a.vault, support::new_vault().vault));
    let locked = db_size(&dir);
    for e in fs::read_dir(dir.join("db")).unwrap().flatten() {
        let m = e.metadata().unwrap();
        println!("DB-FILE {} {}", e.file_name().to_string_lossy(), m.len());
    }
    println!(
        "TRAVEL-FIGURES records=10000 removed={} took_ms={} db_before={} db_after={} db_after_lock={}",
        removed.records,
        took.as_millis(),
        before,
        after,
        locked
    );
}
