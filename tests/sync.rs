//! Devices (the `custos` library, as the app and the CLI use it) syncing with a real
//! `custos-hub` process over TLS on loopback: who reads what, conflicts, trust
//! failures, cut connections, a restarted hub, SOCKS5, offline bundles, evidence files,
//! and that the hub's folder never holds plaintext.
//!
//! Every test runs twice: on the embedded store (`sled::…`) and on PostgreSQL (`pg::…`,
//! a fresh database on the server named by `CUSTOS_TEST_POSTGRES`, which scripts/test
//! starts; without it those fail, saying how to run them).

mod support;

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use custos_model::Record;
use custos_sync::net::{self, Connection};
use custos_sync::{self as sync, NetError, Route, SyncError};
use custos_vault::Attach;
use custos_vault::Credentials;
use custos_vault::Vault;
use custos_wire as wire;
use support::{
    add_cases, case, enrolled, forward, get_case, new_vault, org, pass, pipe, raw_enroll, run,
    Answer, Backend, Hub, OPTS, PASS,
};

const CANARY: &str = "Zanzibar-canary-7Q4W";

/// Generates each test twice: `sled::name` and `pg::name`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sled {
            $(#[test]
            fn $name() {
                super::$name(super::Backend::sled())
            })*
        }
        mod pg {
            $(#[test]
            fn $name() {
                super::$name(super::Backend::postgres())
            })*
        }
    };
}

on_both_backends!(
    coordinators_read_every_case_field_devices_only_their_own_and_the_hub_nothing,
    concurrent_edits_on_two_devices_keep_every_field_edit,
    a_wrong_pin_sends_nothing_and_invites_work_once_and_not_after_expiry,
    a_revoked_device_is_refused,
    a_connection_cut_mid_push_and_mid_file_loses_and_duplicates_nothing,
    a_hub_killed_mid_sync_and_restarted_loses_and_duplicates_nothing,
    a_socks5_route_carries_the_traffic_and_a_down_proxy_means_no_connection_at_all,
    bundles_carry_objects_without_network_and_tampered_ones_are_refused,
    the_command_line_enrolls_syncs_and_reports_status,
    a_lost_laptop_comes_back_from_key_shares_and_the_hub,
    an_insider_cannot_enroll_with_a_colleagues_or_a_coordinators_vault_key,
    an_insider_cannot_write_into_a_colleagues_record_nor_read_it_through_a_coordinator,
    a_hub_restored_from_a_backup_is_noticed_and_given_back_what_it_lost,
    a_coordinator_key_the_hub_adds_is_not_used_until_someone_confirms_it,
    a_coordinator_notices_versions_the_hub_withholds,
    the_organisation_key_decides_who_reads_and_whose_writes_count,
    a_forged_altered_reordered_truncated_forked_or_replaced_roster_is_refused,
    an_evidence_file_cannot_be_passed_off_as_imported_by_a_colleague,
    a_device_over_its_hub_quota_is_told_so_and_loses_nothing,
    a_large_commit_shares_file_keys_only_among_versions_for_the_same_readers,
    what_a_vault_wrote_before_it_joined_is_resealed_for_the_coordinators,
);

/// Every file under `dir` whose bytes contain `needle` (UTF-8 or UTF-16LE).
fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let utf16: Vec<u8> = needle
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_owned()];
    let mut seen = 0;
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = fs::read(&p) {
                seen += 1;
                let has = |n: &[u8]| bytes.windows(n.len()).any(|w| w == n);
                if has(needle.as_bytes()) || has(&utf16) {
                    hits.push(p);
                }
            }
        }
    }
    assert!(seen > 0, "no file under {}", dir.display());
    hits
}

// ----- a SOCKS5 server (no authentication) that counts connections -----

struct Socks {
    addr: String,
    connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

fn socks5() -> Socks {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let connections = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (c, s) = (connections.clone(), stop.clone());
    thread::spawn(move || {
        for client in listener.incoming().map_while(Result::ok) {
            if s.load(Ordering::SeqCst) {
                break;
            }
            c.fetch_add(1, Ordering::SeqCst);
            thread::spawn(move || {
                let _ = socks_session(client);
            });
        }
    });
    Socks {
        addr,
        connections,
        stop,
    }
}

impl Socks {
    /// Stops accepting and closes the port, as a proxy that is down.
    fn shut_down(&self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it exits and drops the listener.
        let _ = TcpStream::connect(&self.addr);
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(&self.addr).is_ok() {
            assert!(Instant::now() < deadline, "the proxy did not stop");
            thread::sleep(Duration::from_millis(20));
        }
    }
}

fn socks_session(mut c: TcpStream) -> std::io::Result<()> {
    let mut head = [0u8; 2];
    c.read_exact(&mut head)?;
    let mut methods = vec![0u8; head[1] as usize];
    c.read_exact(&mut methods)?;
    c.write_all(&[5, 0])?;
    let mut req = [0u8; 4];
    c.read_exact(&mut req)?;
    let host = match req[3] {
        3 => {
            let mut n = [0u8; 1];
            c.read_exact(&mut n)?;
            let mut name = vec![0u8; n[0] as usize];
            c.read_exact(&mut name)?;
            String::from_utf8_lossy(&name).into_owned()
        }
        1 => {
            let mut ip = [0u8; 4];
            c.read_exact(&mut ip)?;
            std::net::Ipv4Addr::from(ip).to_string()
        }
        _ => return Ok(()),
    };
    let mut port = [0u8; 2];
    c.read_exact(&mut port)?;
    let target = TcpStream::connect((host.as_str(), u16::from_be_bytes(port)))?;
    c.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0])?;
    pipe(c, target, u64::MAX, Arc::new(AtomicU64::new(0)));
    Ok(())
}

// ----- the tests -----

fn coordinators_read_every_case_field_devices_only_their_own_and_the_hub_nothing(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start(&tmp.path().join("hub"), &backend);
    let mut coord = org(&hub);
    let mut a = enrolled(&hub.invite("field", None), "field A");
    let mut b = enrolled(&hub.invite("field", None), "field B");

    let id = a
        .vault
        .add(case(
            "Detention at the border",
            &format!("Witness saw {CANARY}"),
        ))
        .unwrap();
    let report = run(&mut a.vault).unwrap();
    assert_eq!((report.pushed, report.existing, report.pulled), (1, 0, 0));
    assert_eq!(a.vault.sync_info().pending_versions, 0);
    assert!(a.vault.sync_info().last_success.is_some());

    // The other field worker receives nothing of A's.
    let rb = run(&mut b.vault).unwrap();
    assert_eq!(rb.pulled, 0);
    assert!(b.vault.get(id).is_err());

    // The coordinator reads it.
    let rc = run(&mut coord.vault).unwrap();
    assert_eq!(rc.pulled, 1);
    assert!(get_case(&coord.vault, id).summary.contains(CANARY));

    // B's own record reaches the coordinator, not A.
    let bid = b.vault.add(case("B's case", "b")).unwrap();
    run(&mut b.vault).unwrap();
    assert_eq!(run(&mut a.vault).unwrap().pulled, 0);
    assert_eq!(run(&mut coord.vault).unwrap().pulled, 1);
    assert_eq!(get_case(&coord.vault, bid).title, "B's case");

    // A sync with nothing new is one request (a pull), and so is a sync of one change
    // when nothing waits for the device (the push answer says so).
    let again = run(&mut a.vault).unwrap();
    assert_eq!((again.pushed, again.pulled, again.requests), (0, 0, 1));
    let mut c = get_case(&a.vault, id);
    c.title = "Detention at the border crossing".into();
    a.vault.update(id, Record::Case(c)).unwrap();
    let delta = run(&mut a.vault).unwrap();
    assert_eq!((delta.pushed, delta.requests), (1, 1));
    assert_eq!(run(&mut coord.vault).unwrap().pulled, 1);

    // The hub's folder (and its database) never holds the plaintext.
    assert_eq!(files_containing(&hub.data, CANARY), Vec::<PathBuf>::new());
    assert_eq!(backend.tables_containing(CANARY), Vec::<String>::new());
}

/// A commit larger than the prepared X25519 shares cover seals the versions that go to
/// the same readers with one file key (`custos_vault::crypto::SharedKey`). A coordinator
/// edits the records of two field workers and adds new ones in one commit: each worker
/// still reads only their own, the three groups of readers get three file keys, and a
/// small commit a key of its own.
fn a_large_commit_shares_file_keys_only_among_versions_for_the_same_readers(backend: Backend) {
    use custos_vault::crypto::SHARES_DEPTH;
    use custos_vault::Change;
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start(&tmp.path().join("hub"), &backend);
    let mut coord = org(&hub);
    let mut a = enrolled(&hub.invite("field", None), "field A");
    let mut b = enrolled(&hub.invite("field", None), "field B");
    let a_ids = add_cases(&mut a.vault, 3);
    let b_ids = add_cases(&mut b.vault, 3);
    run(&mut a.vault).unwrap();
    run(&mut b.vault).unwrap();
    assert_eq!(run(&mut coord.vault).unwrap().pulled, 6);

    let edit = |id: uuid::Uuid| Change::Update {
        record_id: id,
        record: case(&format!("Edited {id}"), CANARY),
    };
    let mut changes: Vec<Change> = a_ids.iter().chain(&b_ids).map(|id| edit(*id)).collect();
    changes.extend((0..SHARES_DEPTH).map(|i| Change::Create(case(&format!("New {i}"), "n"))));
    let written = coord.vault.commit(changes).unwrap();
    assert!(written.len() > SHARES_DEPTH);
    let small = coord
        .vault
        .update(a_ids[0], case("Edited again", "on its own"))
        .unwrap();
    run(&mut coord.vault).unwrap();

    // Each field worker gets the edits of their own records, and reads them; nothing of
    // the other's, nor the coordinator's new cases.
    for (worker, own, other) in [(&mut a, &a_ids, &b_ids), (&mut b, &b_ids, &a_ids)] {
        let pulled = run(&mut worker.vault).unwrap().pulled;
        assert_eq!(pulled, if own == &a_ids { 4 } else { 3 });
        for id in own.iter().skip(usize::from(own == &a_ids)) {
            assert_eq!(get_case(&worker.vault, *id).title, format!("Edited {id}"));
        }
        for id in other {
            assert!(worker.vault.get(*id).is_err());
        }
    }
    assert_eq!(get_case(&a.vault, a_ids[0]).title, "Edited again");

    // In the coordinator's database: one header for each group of readers.
    let versions: Vec<uuid::Uuid> = written.iter().map(|w| w.version_id).collect();
    let db = coord.dir().join("db");
    coord.vault.lock().unwrap();
    let store = custos_vault::store::Store::open(&db, 0).unwrap();
    let header = |version: uuid::Uuid| age_header(&store.version(version).unwrap().unwrap());
    let group = |range: std::ops::Range<usize>| {
        let headers: std::collections::HashSet<Vec<u8>> =
            versions[range].iter().map(|v| header(*v)).collect();
        assert_eq!(headers.len(), 1, "one header for one group of readers");
        headers.into_iter().next().unwrap()
    };
    let (of_a, of_b, new) = (group(0..3), group(3..6), group(6..versions.len()));
    // The edits of a worker's records go to one more reader than the new cases.
    assert_eq!(stanzas(&of_a), stanzas(&new) + 1);
    assert_eq!(stanzas(&of_b), stanzas(&new) + 1);
    let distinct: std::collections::HashSet<_> =
        [of_a, of_b, new, header(small)].into_iter().collect();
    assert_eq!(
        distinct.len(),
        4,
        "every group and the small commit a key of its own"
    );
}

/// An age file's header: up to the end of its MAC line.
fn age_header(ct: &[u8]) -> Vec<u8> {
    let end = ct.windows(5).position(|w| w == b"\n--- ").unwrap() + 1;
    let end = end + ct[end..].iter().position(|b| *b == b'\n').unwrap();
    ct[..end].to_vec()
}

/// The X25519 stanzas of an age header: how many readers it has.
fn stanzas(header: &[u8]) -> usize {
    header.windows(9).filter(|w| w == b"-> X25519").count()
}

/// A vault that joins an organisation seals what it wrote before for the coordinators
/// too, as it enrolls — each batch of versions with one file key wrapped once to its
/// readers (`crypto::SharedKey`), not an X25519 per version. The coordinator reads every
/// one of them; the device still does.
fn what_a_vault_wrote_before_it_joined_is_resealed_for_the_coordinators(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start(&tmp.path().join("hub"), &backend);
    let mut coord = org(&hub);
    let mut a = new_vault();
    let mut ids = add_cases(&mut a.vault, 5);
    ids.push(a.vault.add(case("Saved alone", CANARY)).unwrap());
    let joined = sync::enroll(
        &mut a.vault,
        &hub.invite("field", None),
        "field A",
        Route::Direct,
    )
    .unwrap();
    assert_eq!(joined.resealed, 6);
    assert_eq!(run(&mut a.vault).unwrap().pushed, 6);
    assert_eq!(run(&mut coord.vault).unwrap().pulled, 6);
    assert!(get_case(&coord.vault, ids[5]).summary.contains(CANARY));
    for id in &ids {
        assert_eq!(
            get_case(&coord.vault, *id).title,
            get_case(&a.vault, *id).title
        );
    }

    // In the device's database: the six versions share one header with two readers
    // (the vault and the coordinator).
    let dir = a.dir();
    let db = dir.join("db");
    a.vault.lock().unwrap();
    let store = custos_vault::store::Store::open(&db, 0).unwrap();
    let headers: std::collections::HashSet<Vec<u8>> = store
        .version_ids()
        .unwrap()
        .into_iter()
        .map(|v| age_header(&store.version(v).unwrap().unwrap()))
        .collect();
    assert_eq!(headers.len(), 1, "one file key for the batch");
    assert_eq!(stanzas(headers.iter().next().unwrap()), 2);
    drop(store);
    let again = Vault::unlock(&dir, &pass(), OPTS).unwrap();
    assert!(again.damaged().is_empty());
    assert!(get_case(&again, ids[5]).summary.contains(CANARY));
}

fn concurrent_edits_on_two_devices_keep_every_field_edit(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start(&tmp.path().join("hub"), &backend);
    let mut coord = org(&hub);
    let mut a = enrolled(&hub.invite("field", None), "field A");

    let id = a
        .vault
        .add(case("Raid on the office", "first account"))
        .unwrap();
    run(&mut a.vault).unwrap();
    run(&mut coord.vault).unwrap();

    // Offline on both sides: A changes the title and the owner; the coordinator the
    // summary, the tags and the owner.
    let mut on_a = get_case(&a.vault, id);
    on_a.title = "Raid on the office, 12 May".into();
    on_a.owner = "Amina".into();
    a.vault.update(id, Record::Case(on_a)).unwrap();
    let mut on_c = get_case(&coord.vault, id);
    on_c.summary = "second account, from the lawyer".into();
    on_c.tags = vec!["raid".into()];
    on_c.owner = "Jorge".into();
    coord.vault.update(id, Record::Case(on_c)).unwrap();

    run(&mut coord.vault).unwrap();
    let ra = run(&mut a.vault).unwrap();
    assert_eq!((ra.pushed, ra.pulled), (1, 1));
    run(&mut coord.vault).unwrap();

    for v in [&a.vault, &coord.vault] {
        let view = v.get(id).unwrap();
        assert_eq!(view.heads.len(), 2, "both edits are kept as heads");
        assert_eq!(v.sync_info().conflicts, 1);
        // Both heads can be read.
        for h in &view.heads {
            assert!(v.get_version(id, *h).unwrap().record.is_some());
        }
    }
    let proposal = a.vault.merge_proposal(id).unwrap();
    let Some(Record::Case(merged)) = proposal.merged.clone() else {
        panic!("no merge")
    };
    assert_eq!(merged.title, "Raid on the office, 12 May");
    assert_eq!(merged.summary, "second account, from the lawyer");
    assert_eq!(merged.tags, vec!["raid".to_string()]);
    assert_eq!(proposal.conflicts.len(), 1, "{:?}", proposal.conflicts);
    assert_eq!(proposal.conflicts[0].field, "owner");
    let values: Vec<String> = proposal.conflicts[0]
        .values
        .iter()
        .map(|(_, v)| v.as_str().unwrap_or("").to_owned())
        .collect();
    assert!(values.contains(&"Amina".to_string()) && values.contains(&"Jorge".to_string()));

    // A resolves through the use case both shells call, taking its own owner (the
    // proposal took the newest); after both sync there is one head everywhere, with
    // every edit.
    let amina = proposal.conflicts[0]
        .values
        .iter()
        .find(|(_, v)| v == "Amina")
        .map(|(version, _)| *version)
        .unwrap();
    let (resolution, _) =
        custos_app::resolve::resolve(&mut a.vault, id, &[("owner".into(), amina)]).unwrap();
    assert!(matches!(
        resolution,
        custos_app::resolve::Resolution::Merge(_)
    ));
    assert_eq!(a.vault.get(id).unwrap().heads.len(), 1);
    run(&mut a.vault).unwrap();
    run(&mut coord.vault).unwrap();
    let view = coord.vault.get(id).unwrap();
    assert_eq!(view.heads.len(), 1);
    let c = get_case(&coord.vault, id);
    assert_eq!(
        (c.title.as_str(), c.summary.as_str()),
        (
            "Raid on the office, 12 May",
            "second account, from the lawyer"
        )
    );
    assert_eq!(c.owner, "Amina", "the owner the user took");
    assert_eq!(coord.vault.sync_info().conflicts, 0);
    // The history keeps all four versions.
    assert_eq!(coord.vault.history(id).unwrap().len(), 4);
}

fn a_wrong_pin_sends_nothing_and_invites_work_once_and_not_after_expiry(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start(&tmp.path().join("hub"), &backend);
    let _coord = org(&hub);

    // An invite whose pin is not the hub's.
    let text = hub.invite("field", None);
    let mut invite = custos_wire::Invite::decode(&text).unwrap();
    assert_eq!(
        invite.pin, hub.pin,
        "the invite carries the pin the hub printed"
    );
    invite.pin = format!("sha256:{}", "0".repeat(64));
    let mut d = new_vault();
    let err = sync::enroll(&mut d.vault, &invite.encode(), "x", Route::Direct).unwrap_err();
    assert!(matches!(err, SyncError::Net(NetError::WrongPin)), "{err}");
    assert!(!d.vault.sync_info().enrolled);
    // The hub registered nothing: the token still works.
    sync::enroll(&mut d.vault, &text, "x", Route::Direct).unwrap();

    // Used once: a second device is refused.
    let mut e = new_vault();
    let err = sync::enroll(&mut e.vault, &text, "y", Route::Direct).unwrap_err();
    assert!(err.to_string().contains("invite_used"), "{err}");

    // Expired (checked by the hub too; the device refuses it before connecting).
    let short = hub.cli(&["invite", "--role", "field", "--expires", "1s"]);
    thread::sleep(Duration::from_millis(2100));
    let err = sync::enroll(&mut e.vault, short.trim(), "y", Route::Direct).unwrap_err();
    assert!(err.to_string().contains("expired"), "{err}");
    assert!(sync::enroll(&mut e.vault, "custos-invite:garbage", "y", Route::Direct).is_err());

    // A hub that comes back with another key is refused, and nothing is sent.
    d.vault.add(case("c", "s")).unwrap();
    let mut hub = hub;
    let addr = hub.addr.clone();
    hub.kill();
    let _other = Hub::start_on(&tmp.path().join("impostor"), &addr, &Backend::Sled);
    let err = run(&mut d.vault).unwrap_err();
    assert!(matches!(err, SyncError::Net(NetError::WrongPin)), "{err}");
    let info = d.vault.sync_info();
    assert_eq!(info.pending_versions, 1);
    assert!(info.last_error.unwrap().contains("pin"));
}

/// A revoked device is refused; the coordinator's vault lists who it came to accept and
/// who was revoked (the sync status shows it).
fn a_revoked_device_is_refused(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start(&tmp.path().join("hub"), &backend);
    let mut coord = org(&hub);
    run(&mut coord.vault).unwrap();
    assert!(
        coord.vault.sync_info().changes.is_empty(),
        "the first roster is the start"
    );
    let mut a = enrolled(&hub.invite("field", None), "laptop seized");
    a.vault.add(case("c", "s")).unwrap();
    run(&mut a.vault).unwrap();
    run(&mut coord.vault).unwrap();
    let changes = coord.vault.sync_info().changes;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(
        (
            changes[0].what.as_str(),
            changes[0].who.as_str(),
            changes[0].role
        ),
        ("device_accepted", "laptop seized", Some(wire::Role::Field))
    );
    let device = a.vault.sync_info().device_id.unwrap().to_string();
    assert!(hub.cli(&["devices", "list"]).contains(&device));
    hub.cli(&["devices", "revoke", &device]);
    a.vault.add(case("c2", "s2")).unwrap();
    let err = run(&mut a.vault).unwrap_err();
    assert!(
        matches!(&err, SyncError::Net(NetError::Refused { status: 403, .. })),
        "{err}"
    );
    assert_eq!(a.vault.sync_info().pending_versions, 1);
    // The coordinator's next roster (fetched when a new device's version arrives).
    let mut b = enrolled(&hub.invite("field", None), "field B");
    b.vault.add(case("b", "b")).unwrap();
    run(&mut b.vault).unwrap();
    run(&mut coord.vault).unwrap();
    let changes: Vec<(String, String)> = coord
        .vault
        .sync_info()
        .changes
        .into_iter()
        .map(|c| (c.what, c.who))
        .collect();
    assert_eq!(
        changes[1..],
        [
            ("device_accepted".to_string(), "field B".to_string()),
            ("device_revoked".to_string(), "laptop seized".to_string())
        ]
    );
}

fn a_connection_cut_mid_push_and_mid_file_loses_and_duplicates_nothing(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start(&tmp.path().join("hub"), &backend);
    let mut coord = org(&hub);
    let fwd = forward(&hub.addr);
    let mut a = enrolled(&hub.invite("field", Some(&fwd.addr)), "field A");

    // 700 cases of ~2 KB: two push requests. Cut the connection inside the second.
    let ids = add_cases(&mut a.vault, 700);
    fwd.cut_after.store(1_500_000, Ordering::SeqCst);
    let err = run(&mut a.vault).unwrap_err();
    assert!(matches!(err, SyncError::Net(_)), "{err}");
    let pending = a.vault.sync_info().pending_versions;
    assert!(
        pending > 0 && pending < 700,
        "{pending} pending after the cut"
    );
    assert!(a.vault.sync_info().last_error.is_some());

    fwd.cut_after.store(u64::MAX, Ordering::SeqCst);
    let r = run(&mut a.vault).unwrap();
    assert_eq!(r.pushed + r.existing, pending);
    assert_eq!(a.vault.sync_info().pending_versions, 0);
    let rc = run(&mut coord.vault).unwrap();
    assert_eq!(rc.pulled, 700, "every version once");
    for id in ids.iter().step_by(97) {
        assert!(get_case(&coord.vault, *id).title.starts_with("case "));
    }

    // An evidence file of 9 MB (three chunks): cut after ~6 MB, then resume.
    let file = tmp.path().join("video.bin");
    let content: Vec<u8> = (0..9_000_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    fs::write(&file, &content).unwrap();
    let ev = a
        .vault
        .attach(
            &file,
            Attach {
                case_id: ids[0],
                attached_to: vec![],
                description: "video".into(),
                derived_from: None,
            },
        )
        .unwrap();
    fwd.cut_after.store(6_500_000, Ordering::SeqCst);
    assert!(run(&mut a.vault).is_err());
    assert_eq!(a.vault.sync_info().pending_blobs, 1);
    fwd.cut_after.store(u64::MAX, Ordering::SeqCst);
    let before = fwd.upstream.load(Ordering::SeqCst);
    let r = run(&mut a.vault).unwrap();
    let resent = fwd.upstream.load(Ordering::SeqCst) - before;
    assert_eq!(r.blobs_up, 1);
    assert!(
        resent < 6_000_000,
        "the upload resumed ({resent} bytes sent again)"
    );
    assert_eq!(a.vault.sync_info().pending_blobs, 0);

    // The coordinator gets the record and the file, checked against its hash.
    let rc = run(&mut coord.vault).unwrap();
    assert_eq!(rc.blobs_down, 1);
    assert!(coord.vault.verify_evidence(ev).unwrap().ok);
    let (_, mut reader) = coord.vault.read_evidence(ev).unwrap();
    let mut back = Vec::new();
    reader.read_to_end(&mut back).unwrap();
    assert!(back == content, "the file arrives intact");
}

fn a_hub_killed_mid_sync_and_restarted_loses_and_duplicates_nothing(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("hub");
    let mut hub = Hub::start(&data, &backend);
    let mut coord = org(&hub);
    let fwd = forward(&hub.addr);
    let mut a = enrolled(&hub.invite("field", Some(&fwd.addr)), "field A");
    add_cases(&mut a.vault, 3000);

    let addr = hub.addr.clone();
    let (done_tx, done_rx) = mpsc::channel();
    let vault = std::mem::replace(&mut a.vault, new_vault().vault);
    let worker = thread::spawn(move || {
        let mut vault = vault;
        let r = run(&mut vault);
        done_tx.send(()).unwrap();
        (vault, r.is_ok())
    });
    // Kill the hub once some of the push has gone through.
    let deadline = Instant::now() + Duration::from_secs(60);
    while fwd.upstream.load(Ordering::SeqCst) < 2_000_000 && done_rx.try_recv().is_err() {
        assert!(Instant::now() < deadline);
        thread::sleep(Duration::from_millis(5));
    }
    hub.kill();
    let (vault, ok) = worker.join().unwrap();
    a.vault = vault;
    assert!(!ok, "the sync noticed the hub going away");
    let pending = a.vault.sync_info().pending_versions;
    assert!(
        pending < 3000,
        "some batches were confirmed before the kill"
    );

    let _hub = Hub::start_on(&data, &addr, &backend);
    run(&mut a.vault).unwrap();
    assert_eq!(a.vault.sync_info().pending_versions, 0);
    assert_eq!(run(&mut coord.vault).unwrap().pulled, 3000);
    assert_eq!(coord.vault.version_count(), 3000);
}

fn a_socks5_route_carries_the_traffic_and_a_down_proxy_means_no_connection_at_all(
    backend: Backend,
) {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start(&tmp.path().join("hub"), &backend);
    let _coord = org(&hub);
    let fwd = forward(&hub.addr);
    let proxy = socks5();
    let route = Route::parse(&format!("socks5:{}", proxy.addr)).unwrap();
    let mut a = new_vault();
    sync::enroll(
        &mut a.vault,
        &hub.invite("field", Some(&fwd.addr)),
        "over tor",
        route,
    )
    .unwrap();
    assert_eq!(proxy.connections.load(Ordering::SeqCst), 1);
    assert_eq!(fwd.connections.load(Ordering::SeqCst), 1);

    a.vault.add(case("c", "s")).unwrap();
    run(&mut a.vault).unwrap();
    assert_eq!(proxy.connections.load(Ordering::SeqCst), 2);
    assert_eq!(fwd.connections.load(Ordering::SeqCst), 2);

    proxy.shut_down();
    a.vault.add(case("c2", "s2")).unwrap();
    let err = run(&mut a.vault).unwrap_err();
    assert!(err.to_string().contains("proxy"), "{err}");
    assert_eq!(
        fwd.connections.load(Ordering::SeqCst),
        2,
        "no direct connection was tried"
    );
    assert_eq!(a.vault.sync_info().pending_versions, 1);
    // Paused: no connection either.
    a.vault.set_sync_paused(true).unwrap();
    assert!(matches!(run(&mut a.vault), Err(SyncError::Paused)));
    assert_eq!(fwd.connections.load(Ordering::SeqCst), 2);
}

fn bundles_carry_objects_without_network_and_tampered_ones_are_refused(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start(&tmp.path().join("hub"), &backend);
    let mut coord = org(&hub);
    let mut a = enrolled(&hub.invite("field", None), "field A");
    run(&mut coord.vault).unwrap(); // learns A's signer from the roster
    let ids = add_cases(&mut a.vault, 5);
    let file = tmp.path().join("usb").join("custos.bundle");
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    let stats = sync::bundle::export(&a.vault, &file).unwrap();
    assert_eq!((stats.objects, stats.blobs), (5, 0));
    let bytes = fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1"));

    // A tampered copy: refused by the hub and by a device, nothing stored.
    let bad = tmp.path().join("bad.bundle");
    let mut altered = bytes.clone();
    let n = altered.len();
    altered[n - 40] ^= 1;
    fs::write(&bad, &altered).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_custos-hub-under-test"))
        .args(["import"])
        .arg(&bad)
        .arg("--data")
        .arg(&hub.data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(sync::bundle::import(&mut coord.vault, &bad).is_err());
    assert_eq!(run(&mut coord.vault).unwrap().pulled, 0);

    // The real one: the coordinator can take it directly, and the hub too.
    let (took, _) = sync::bundle::import(&mut coord.vault, &file).unwrap();
    assert_eq!(took.stored, 5);
    hub.cli(&["import", file.to_str().unwrap()]);
    // A's next sync finds the hub holds them already: nothing is sent twice.
    let r = run(&mut a.vault).unwrap();
    assert_eq!((r.pushed, r.existing), (0, 5));
    // The coordinator had them from the stick; the pull brings nothing new.
    assert_eq!(run(&mut coord.vault).unwrap().pulled, 0);
    assert_eq!(get_case(&coord.vault, ids[3]).title, "case 3");
}

fn the_command_line_enrolls_syncs_and_reports_status(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start(&tmp.path().join("hub"), &backend);
    let mut coord = org(&hub);
    let Some(cli) = custos_binary() else {
        eprintln!("skipped: the custos binary is not built");
        return;
    };
    let vault = tmp.path().join("v");
    let pass_file = tmp.path().join("pass");
    fs::write(&pass_file, PASS).unwrap();
    let invite_file = tmp.path().join("invite.txt");
    fs::write(&invite_file, hub.invite("field", None)).unwrap();
    let custos = |args: &[&str]| {
        let out = Command::new(&cli)
            .arg("--vault")
            .arg(&vault)
            .arg("--passphrase-file")
            .arg(&pass_file)
            .args(args)
            // English whatever the machine's locale or settings: the test reads the words.
            .env("CUSTOS_LANG", "en")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // A real (calibrated) vault would take seconds per unlock; create it in-process.
    drop(Vault::create(&vault, &pass(), OPTS).unwrap());
    let (ok, out, err) = custos(&["enroll", invite_file.to_str().unwrap(), "--label", "cli"]);
    assert!(ok, "{err}");
    assert!(out.contains("enrolled as device"));
    let (ok, _, err) = custos(&["add", "case", "--set", "title=From the shell"]);
    assert!(ok, "{err}");
    let (_, out, _) = custos(&["sync", "status"]);
    assert!(out.contains("pending       1 versions"), "{out}");
    // A coordinator key the hub lists after enrollment waits for the user.
    let announced = age::x25519::Identity::generate().to_public().to_string();
    hub.cli(&["coordinators", "add", &announced]);
    let (ok, out, err) = custos(&["sync", "now"]);
    assert!(ok, "{err}");
    assert!(out.contains("sent 1 new versions"), "{out}");
    let (_, out, _) = custos(&["sync", "status"]);
    assert!(out.contains("pending       0 versions"), "{out}");
    assert!(out.contains("last error    none"), "{out}");
    assert!(out.contains("who can read this vault's records:"), "{out}");
    assert!(out.contains(&coord.vault.recipient()), "{out}");
    assert!(
        out.contains("NEW COORDINATOR announced by the hub on") && out.contains(&announced),
        "{out}"
    );
    let (ok, _, err) = custos(&["sync", "coordinator", "confirm", "age1unknown"]);
    assert!(!ok && err.contains("not a coordinator waiting"), "{err}");
    let (ok, out, err) = custos(&["sync", "coordinator", "refuse", &announced]);
    assert!(ok && out.contains("refused"), "{err}");
    let (_, out, _) = custos(&["sync", "status"]);
    assert!(!out.contains("NEW COORDINATOR"), "{out}");
    assert!(out.contains("does not sign its roster"), "{out}");

    // The organisation key: only a coordinator's vault creates it; the coordinator's
    // does, and the field device's command line takes it only with its words.
    let (ok, _, err) = custos(&["org", "create", "--name", "Observatory", "--yes"]);
    assert!(!ok && err.contains("only a coordinator"), "{err}");
    let created = sync::org_create(&sync::Held::new(&mut coord.vault), "Observatory", |_| true)
        .unwrap()
        .unwrap();
    let (ok, _, err) = custos(&["sync", "now"]);
    assert!(ok, "{err}");
    let (_, out, _) = custos(&["org", "show"]);
    assert!(
        out.contains(&format!(
            "ORGANISATION KEY offered by the hub: {}",
            created.words
        )),
        "{out}"
    );
    let (ok, _, err) = custos(&[
        "org", "confirm", "abandon", "ability", "able", "about", "above", "absent", "absorb",
        "abstract",
    ]);
    assert!(!ok && err.contains("do not confirm it"), "{err}");
    let mut confirm = vec!["org", "confirm"];
    confirm.extend(created.words.split(' '));
    let (ok, out, err) = custos(&confirm);
    assert!(ok && out.contains("follows the organisation key"), "{err}");
    let (ok, _, err) = custos(&["sync", "now"]);
    assert!(ok, "{err}");
    let (_, out, _) = custos(&["sync", "status"]);
    assert!(
        out.contains(&format!(
            "organisation  Observatory — key words: {}",
            created.words
        )),
        "{out}"
    );
    assert!(out.contains("you confirmed the organisation key:"), "{out}");
    let (ok, out, _) = custos(&["org", "show", "--json"]);
    assert!(ok);
    let org: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(org["signed"], true);
    assert_eq!(org["entries"], 4);
    // A field device holds no organisation key: it cannot approve anyone.
    let (ok, _, err) = custos(&["org", "approve", "cli", "--words", "a b c d e f g h"]);
    assert!(!ok, "{err}");

    let (ok, _, _) = custos(&["sync", "route", "socks5:nowhere"]);
    assert!(!ok);
    let (ok, _, _) = custos(&["sync", "pause"]);
    assert!(ok);
    let (ok, _, err) = custos(&["sync", "now"]);
    assert!(!ok && err.contains("paused"), "{err}");
}

/// The `custos` command line, built next to this test's binary by a workspace build.
fn custos_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?.parent()?;
    let p = dir.join("custos");
    p.exists().then_some(p)
}

fn a_lost_laptop_comes_back_from_key_shares_and_the_hub(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start(&tmp.path().join("hub"), &backend);
    let _coord = org(&hub);
    let mut a = enrolled(&hub.invite("field", None), "laptop");
    let shares = a.vault.key_shares(2, 3).unwrap();
    let id = a
        .vault
        .add(case("Threats against the union", CANARY))
        .unwrap();
    let file = tmp.path().join("photo.jpg");
    fs::write(
        &file,
        b"\xff\xd8\xff\xe0 not really a photo, but bytes to keep",
    )
    .unwrap();
    let ev = a
        .vault
        .attach(
            &file,
            Attach {
                case_id: id,
                attached_to: vec![],
                description: "photo of the letter".into(),
                derived_from: None,
            },
        )
        .unwrap();
    run(&mut a.vault).unwrap();
    let versions = a.vault.version_count();

    // The laptop is seized: the organisation revokes it.
    let old_device = a.vault.sync_info().device_id.unwrap().to_string();
    hub.cli(&["devices", "revoke", &old_device]);
    drop(a);

    // One share is not enough; two rebuild the key into a new vault on a new laptop.
    let dir = tmp.path().join("new-laptop");
    assert!(Vault::restore_into_new(&dir, &[shares[0].as_str()], &pass(), OPTS).is_err());
    assert!(!dir.join("vault.json").exists());
    let mut b = Vault::restore_into_new(
        &dir,
        &[shares[2].as_str(), shares[0].as_str()],
        &pass(),
        OPTS,
    )
    .unwrap();
    assert_eq!(b.version_count(), 0);
    sync::enroll(
        &mut b,
        &hub.invite("field", None),
        "new laptop",
        Route::Direct,
    )
    .unwrap();
    let r = run(&mut b).unwrap();
    assert_eq!(r.pulled, versions);
    assert_eq!(r.blobs_down, 1);
    assert_eq!(get_case(&b, id).summary, CANARY);
    assert!(b.verify_evidence(ev).unwrap().ok);
}

/// An insider with an invite of their own claims a colleague's vault key (to be trusted by
/// the colleague's vault, and plant signed cases in it) or a coordinator's (to be sent
/// the whole organisation's ciphertext). The hub asks for proof that the device holds
/// the key: both claims are refused, the invite stays usable, and nobody new is listed.
fn an_insider_cannot_enroll_with_a_colleagues_or_a_coordinators_vault_key(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start(&tmp.path().join("hub"), &backend);
    let mut coord = org(&hub);
    let mut a = enrolled(&hub.invite("field", None), "field A");
    let colleague = a.vault.recipient();
    let coordinator = coord.vault.recipient();
    let devices_before = hub.cli(&["devices", "list"]);

    let invite = wire::Invite::decode(&hub.invite("field", None)).unwrap();
    let (cert, key) = net::device_certificate().unwrap();
    let creds = Credentials {
        pin: invite.pin.clone(),
        next_pin: None,
        cert,
        key,
    };
    let mut conn = Connection::open(&invite.hub, &Route::Direct, &creds).unwrap();
    let insider = custos_vault::crypto::DeviceKey::generate();
    let refused = |r: Result<wire::EnrollResponse, NetError>| match r {
        Err(NetError::Refused { code, message, .. }) => (code, message),
        other => panic!("the claim was not refused: {other:?}"),
    };
    for claimed in [&colleague, &coordinator] {
        // As devices asked before the challenge: no proof at all.
        let (code, message) = refused(raw_enroll(
            &mut conn,
            &creds.cert,
            &invite.token,
            claimed,
            &insider,
            "insider",
            Answer::NoProof,
        ));
        assert_eq!(code, "update_needed", "{message}");
        assert!(message.contains("Update the app"), "{message}");
        // The challenge is sealed to the claimed key: without it, a guess.
        let (code, message) = refused(raw_enroll(
            &mut conn,
            &creds.cert,
            &invite.token,
            claimed,
            &insider,
            "insider",
            Answer::Guess,
        ));
        assert_eq!(code, "proof_failed", "{message}");
        assert!(message.contains("not used"), "{message}");
    }
    assert_eq!(hub.cli(&["devices", "list"]), devices_before);
    // A's vault, after a sync (the roster), trusts no new device; its cases still flow.
    a.vault.add(case("A's case", "a")).unwrap();
    let report = run(&mut a.vault).unwrap();
    assert_eq!(report.pushed, 1);
    assert_eq!(run(&mut coord.vault).unwrap().pulled, 1);

    // The invite was not used: with a vault key of its own, the device enrolls.
    let own = age::x25519::Identity::generate();
    let reply = raw_enroll(
        &mut conn,
        &creds.cert,
        &invite.token,
        &own.to_public().to_string(),
        &insider,
        "insider",
        Answer::With(&own),
    )
    .unwrap();
    assert_eq!(reply.role, wire::Role::Field);
    assert!(hub
        .cli(&["devices", "list"])
        .contains(&reply.device_id.to_string()));
}

/// A field device enrolled with keys of its own (an insider) writes what it likes with
/// them: a version of a colleague's record with itself in the audience (so that the
/// coordinator's next version of it, with the colleague's witness data, comes back to
/// it), a version with only itself and the coordinators (planted material), an audience
/// naming a key outside the organisation, a clock far in the future, versions claiming
/// A's or the coordinator's device id. The coordinator's
/// vault refuses each, says why, and goes on; its own versions are addressed by the
/// roster, never by what others signed.
fn an_insider_cannot_write_into_a_colleagues_record_nor_read_it_through_a_coordinator(
    backend: Backend,
) {
    use custos_model::hlc::Hlc;
    use custos_model::{Body, Kind, Version, SCHEMA_VERSION};
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start(&tmp.path().join("hub"), &backend);
    let mut coord = org(&hub);
    let mut a = enrolled(&hub.invite("field", None), "field A");
    let mut insider =
        support::SimDevice::enroll(&hub.invite("field", None), None, "insider").unwrap();
    let (a_key, c_key, i_key) = (
        a.vault.recipient(),
        coord.vault.recipient(),
        insider.recipient.clone(),
    );

    let id = a
        .vault
        .add(case("Arrest of a journalist", &format!("Witness {CANARY}")))
        .unwrap();
    run(&mut a.vault).unwrap();
    assert_eq!(run(&mut coord.vault).unwrap().pulled, 1);
    let head = a.vault.get(id).unwrap().version_id;
    let now_ms = chrono::Utc::now().timestamp_millis() as u64;
    let version = |record_id, parents: Vec<uuid::Uuid>, ms, audience: &[&String], title| Version {
        schema_version: SCHEMA_VERSION,
        record_id,
        version_id: uuid::Uuid::new_v4(),
        kind: Kind::Case,
        parents,
        hlc: Hlc { ms, counter: 0 },
        device: uuid::Uuid::new_v4(),
        audience: audience.iter().map(|r| r.to_string()).collect(),
        chain: None,
        body: Body::Record(case(title, "fabricated")),
    };
    let refused_with = |report: &sync::Report, id: uuid::Uuid, words: &str| {
        let why = report
            .pull_rejected
            .iter()
            .find(|(r, _)| *r == id)
            .map(|(_, why)| why.clone())
            .unwrap_or_else(|| panic!("{id} was not refused: {:?}", report.pull_rejected));
        assert!(why.contains(words), "{why}");
    };

    // The insider knows the record's id and its head (the worst case).
    let mut pushed = Vec::new();
    let reader = version(id, vec![head], now_ms, &[&a_key, &i_key, &c_key], "Planted");
    let planter = version(id, vec![head], now_ms, &[&i_key, &c_key], "Planted too");
    let root = version(
        id,
        vec![],
        now_ms,
        &[&i_key, &c_key],
        "A second first version",
    );
    let stranger = age::x25519::Identity::generate().to_public().to_string();
    let outside = version(
        uuid::Uuid::new_v4(),
        vec![],
        now_ms,
        &[&i_key, &c_key, &stranger],
        "Out",
    );
    let future = version(
        uuid::Uuid::new_v4(),
        vec![],
        u64::MAX,
        &[&i_key, &c_key],
        "Later",
    );
    let own = version(
        uuid::Uuid::new_v4(),
        vec![],
        now_ms,
        &[&i_key, &c_key],
        "Insider's own",
    );
    // Its own new records, passed off as written by A's device, or by the coordinator's.
    let mut as_a = version(
        uuid::Uuid::new_v4(),
        vec![],
        now_ms,
        &[&i_key, &c_key],
        "As A",
    );
    as_a.device = a.vault.device_id();
    let mut as_c = version(
        uuid::Uuid::new_v4(),
        vec![],
        now_ms,
        &[&i_key, &c_key],
        "As C",
    );
    as_c.device = coord.vault.device_id();
    for v in [
        &reader, &planter, &root, &outside, &future, &own, &as_a, &as_c,
    ] {
        let to: Vec<String> = v.audience.clone();
        let route: Vec<String> = to.iter().filter(|r| **r != c_key).cloned().collect();
        let r = insider.push_version(v, &to, &route);
        assert_eq!(r.stored, 1, "{r:?}");
        pushed.push(v.version_id);
    }

    let rc = run(&mut coord.vault).unwrap();
    refused_with(&rc, reader.version_id, "another field worker's vault");
    refused_with(&rc, planter.version_id, "record of another vault");
    refused_with(&rc, root.version_id, "record of another vault");
    refused_with(&rc, outside.version_id, "outside the organisation");
    refused_with(&rc, future.version_id, "clock");
    refused_with(&rc, as_a.version_id, "id of another device");
    refused_with(&rc, as_c.version_id, "from this device");
    // The insider's own record, addressed as it should be, is taken in: the rules refuse
    // what they must, not more, and the sync went on.
    assert_eq!(rc.pulled, 1, "{:?}", rc.pull_rejected);
    assert!(coord.vault.get(own.record_id).is_ok());
    assert!(rc.warning().unwrap().contains("refused"));
    let c = get_case(&coord.vault, id);
    assert_eq!(c.title, "Arrest of a journalist");
    assert!(coord.vault.get(id).unwrap().heads.len() == 1);

    // The coordinator edits A's record: its audience is computed (A and the
    // coordinators), so nothing of it reaches the insider; A receives it, and nothing
    // planted.
    let mut edited = c;
    edited.summary.push_str(" (verified)");
    coord.vault.update(id, Record::Case(edited)).unwrap();
    // Its clock was not pinned by the version from the future.
    let written = coord.vault.get(id).unwrap().hlc.ms;
    assert!(written < now_ms + 3_600_000, "{written}");
    run(&mut coord.vault).unwrap();
    for f in insider.pull_all().unwrap() {
        assert!(
            age::decrypt(&insider.vault, &f.ciphertext).is_err(),
            "the insider can read object {}",
            f.id
        );
    }
    run(&mut a.vault).unwrap();
    let seen = get_case(&a.vault, id);
    assert!(seen.summary.ends_with("(verified)"));
    assert_eq!(seen.title, "Arrest of a journalist");
    assert_eq!(a.vault.get(id).unwrap().heads.len(), 1);
}

/// Copies a folder's files and folders, recursively.
fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            copy_dir(&entry.path(), &target);
        } else if kind.is_file() {
            // Not the admin socket.
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The hub is restored from a backup taken before the devices' last sync: it no longer
/// holds A's newest case and its evidence file, nor B's, though both vaults marked them
/// as sent. Travel mode asks the hub just before removing anything, refuses, and marks
/// what the hub lost to be sent again; B asks the hub itself (`custos sync check`).
/// Both send again what was lost, and the coordinator receives it.
fn a_hub_restored_from_a_backup_is_noticed_and_given_back_what_it_lost(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("hub");
    let mut hub = Hub::start(&data, &backend);
    let mut coord = org(&hub);
    let mut a = enrolled(&hub.invite("field", None), "field A");
    let mut b = enrolled(&hub.invite("field", None), "field B");
    a.vault.add(case("Older case", "kept")).unwrap();
    run(&mut a.vault).unwrap();
    run(&mut b.vault).unwrap();

    // The operator's backup, hub stopped.
    hub.kill();
    let backup = tmp.path().join("backup");
    copy_dir(&data, &backup);
    let backup_seq: i64 = if backend.is_postgres() {
        backend
            .client()
            .query_one("SELECT last FROM seq_counter", &[])
            .unwrap()
            .get(0)
    } else {
        0
    };
    let backup_time = chrono::Utc::now();
    let addr = hub.addr.clone();
    hub = Hub::start_on(&data, &addr, &backend);

    let newest = a.vault.add(case("Newest case", CANARY)).unwrap();
    let photo = tmp.path().join("wound.jpg");
    fs::write(&photo, vec![0x5au8; 100_000]).unwrap();
    a.vault
        .attach(
            &photo,
            Attach {
                case_id: newest,
                attached_to: vec![],
                description: "photo".into(),
                derived_from: None,
            },
        )
        .unwrap();
    let b_newest = b.vault.add(case("B's newest", "b")).unwrap();
    let ra = run(&mut a.vault).unwrap();
    assert_eq!((ra.pushed, ra.blobs_up), (2, 1));
    assert_eq!(run(&mut b.vault).unwrap().pushed, 1);

    // The restore: the folder from the backup, the database as it was then.
    hub.kill();
    fs::remove_dir_all(&data).unwrap();
    copy_dir(&backup, &data);
    if backend.is_postgres() {
        let mut c = backend.client();
        c.execute("DELETE FROM objects WHERE seq > $1", &[&backup_seq])
            .unwrap();
        c.execute(
            "DELETE FROM blob_chunks WHERE blob IN (SELECT id FROM blobs WHERE received_at > $1)",
            &[&backup_time],
        )
        .unwrap();
        c.execute("DELETE FROM blobs WHERE received_at > $1", &[&backup_time])
            .unwrap();
        c.execute("UPDATE seq_counter SET last = $1", &[&backup_seq])
            .unwrap();
    }
    hub = Hub::start_on(&data, &addr, &backend);
    assert_eq!(
        run(&mut coord.vault).unwrap().pulled,
        1,
        "only the older case"
    );

    // Travel mode asks the hub first: refused, nothing removed.
    let err = sync::travel_remove(&sync::Held::new(&mut a.vault), Some(&[newest])).unwrap_err();
    assert!(err.to_string().contains("no longer holds 3"), "{err}");
    assert!(get_case(&a.vault, newest).summary.contains(CANARY));
    assert_eq!(a.vault.sync_info().pending_versions, 2);
    assert_eq!(a.vault.sync_info().pending_blobs, 1);

    // A's next sync sends them again; B asks the hub and does the same.
    let ra = run(&mut a.vault).unwrap();
    assert_eq!((ra.pushed, ra.blobs_up), (2, 1));
    let rb = sync::check_hub(&sync::Held::new(&mut b.vault)).unwrap();
    assert_eq!((rb.hub_lost, rb.pushed), (1, 1));
    assert!(rb.warning().unwrap().contains("restored from a backup"));
    // Asked again: nothing lost any more.
    let again = sync::check_hub(&sync::Held::new(&mut b.vault)).unwrap();
    assert_eq!((again.hub_lost, again.pushed), (0, 0));

    let rc = run(&mut coord.vault).unwrap();
    assert_eq!((rc.pulled, rc.blobs_down), (3, 1));
    assert!(get_case(&coord.vault, newest).summary.contains(CANARY));
    assert_eq!(get_case(&coord.vault, b_newest).title, "B's newest");

    // Now the hub holds everything: travel mode removes the case.
    let removed = sync::travel_remove(&sync::Held::new(&mut a.vault), Some(&[newest])).unwrap();
    assert_eq!((removed.cases, removed.files), (1, 1));
    assert!(a.vault.get(newest).is_err());
    drop(hub);
}

/// Whoever runs (or seized) the hub adds a coordinator key of their own and enrolls a
/// coordinator device with it: on main every device would encrypt its new records to it
/// at the next roster fetch, and nothing visible would change. Now devices list it as
/// announced, use it for nothing, and show it in the sync status; a coordinator the
/// organisation confirms (out of band) is used from then on, a refused one never.
fn a_coordinator_key_the_hub_adds_is_not_used_until_someone_confirms_it(backend: Backend) {
    use custos_model::hlc::Hlc;
    use custos_model::{Body, Kind, Version, SCHEMA_VERSION};
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start(&tmp.path().join("hub"), &backend);
    let mut coord = org(&hub);
    let mut a = enrolled(&hub.invite("field", None), "field A");
    let first = a.vault.add(case("First case", "before")).unwrap();
    run(&mut a.vault).unwrap();
    run(&mut coord.vault).unwrap();

    // The operator's coordinator device, and a second, genuine coordinator.
    let mut operator =
        support::SimDevice::enroll(&hub.invite("coordinator", None), None, "operator").unwrap();
    hub.cli(&["coordinators", "add", &operator.recipient]);
    let mut second = new_vault();
    hub.cli(&["coordinators", "add", &second.vault.recipient()]);
    sync::enroll(
        &mut second.vault,
        &hub.invite("coordinator", None),
        "second coordinator",
        Route::Direct,
    )
    .unwrap();

    // The operator's device writes into A's vault: A does not know its signer, fetches
    // the roster, and refuses it (its vault is no confirmed coordinator).
    let planted = Version {
        schema_version: SCHEMA_VERSION,
        record_id: uuid::Uuid::new_v4(),
        version_id: uuid::Uuid::new_v4(),
        kind: Kind::Case,
        parents: vec![],
        hlc: Hlc {
            ms: chrono::Utc::now().timestamp_millis() as u64,
            counter: 0,
        },
        device: operator.id,
        audience: vec![a.vault.recipient(), operator.recipient.clone()],
        chain: None,
        body: Body::Record(case("Planted", "fabricated")),
    };
    let to = planted.audience.clone();
    operator.push_version(&planted, &to, &to);
    let ra = run(&mut a.vault).unwrap();
    assert_eq!(ra.pulled, 0);
    assert!(ra
        .pull_rejected
        .iter()
        .any(|(id, _)| *id == planted.version_id));
    let info = a.vault.sync_info();
    let pending: Vec<&str> = info
        .pending_coordinators
        .iter()
        .map(|p| p.recipient.as_str())
        .collect();
    assert_eq!(
        pending,
        vec![operator.recipient.as_str(), &second.vault.recipient()]
    );
    assert_eq!(
        info.pending_coordinators[0].devices,
        vec!["operator".to_string()]
    );
    let announced: Vec<&str> = info
        .changes
        .iter()
        .filter(|c| c.what == "coordinator_announced")
        .map(|c| c.who.as_str())
        .collect();
    assert_eq!(announced, pending);
    let readers: Vec<&str> = info.readers.iter().map(|r| r.recipient.as_str()).collect();
    assert_eq!(readers, vec![a.vault.recipient(), coord.vault.recipient()]);

    // What A and the coordinator write now is not sealed to the operator's key.
    let secret = a
        .vault
        .add(case(
            "After the key was added",
            &format!("Witness {CANARY}"),
        ))
        .unwrap();
    run(&mut a.vault).unwrap();
    run(&mut coord.vault).unwrap();
    let mut edited = get_case(&coord.vault, first);
    edited.summary.push_str(" (checked)");
    coord.vault.update(first, Record::Case(edited)).unwrap();
    run(&mut coord.vault).unwrap();
    let seen = operator.pull_all().unwrap();
    assert!(
        seen.len() >= 3,
        "the hub sends a coordinator device everything"
    );
    for f in &seen {
        assert!(
            age::decrypt(&operator.vault, &f.ciphertext).is_err(),
            "object {} decrypts with the operator's key",
            f.id
        );
    }

    // A confirms the second coordinator (after checking with the organisation) and
    // refuses the operator's key: it is not offered again.
    assert!(a.vault.confirm_coordinator("age1notannounced").is_err());
    a.vault
        .confirm_coordinator(&second.vault.recipient())
        .unwrap();
    a.vault.refuse_coordinator(&operator.recipient).unwrap();
    let info = a.vault.sync_info();
    assert!(info.pending_coordinators.is_empty());
    assert_eq!(info.readers.len(), 3);
    let later = a.vault.add(case("After confirming", "c2 reads")).unwrap();
    run(&mut a.vault).unwrap();
    run(&mut second.vault).unwrap();
    assert_eq!(get_case(&second.vault, later).title, "After confirming");
    assert!(
        second.vault.get(secret).is_err(),
        "sealed before the confirmation"
    );
    for f in operator.pull_all().unwrap() {
        assert!(age::decrypt(&operator.vault, &f.ciphertext).is_err());
    }
}

/// The hub's storage, as a hostile operator reaches it with the hub stopped.
enum Storage<'a> {
    Pg(&'a mut postgres::Client),
    Sled(&'a ::sled::Db),
}

/// What a hostile operator does to the hub's storage: the hub stopped, `f` given its
/// database, then the hub started again on the same address.
fn with_hub_stopped(hub: &mut Hub, backend: &Backend, f: impl FnOnce(Storage<'_>)) {
    let addr = hub.addr.clone();
    hub.kill();
    if backend.is_postgres() {
        f(Storage::Pg(&mut backend.client()));
    } else {
        custos_test_support::with_sled(&hub.data.join("db"), |db| f(Storage::Sled(db)));
    }
    *hub = Hub::start_on(&hub.data.clone(), &addr, backend);
}

/// What a hostile operator does to the hub's storage, the hub stopped: drops one object
/// (the hub then never delivers it, as a hub withholding it would not).
fn drop_object(hub: &mut Hub, backend: &Backend, id: uuid::Uuid) {
    with_hub_stopped(hub, backend, |storage| match storage {
        Storage::Pg(c) => {
            let n = c
                .execute("DELETE FROM objects WHERE id = $1", &[&id])
                .unwrap();
            assert_eq!(n, 1);
        }
        Storage::Sled(db) => {
            let seq = db
                .open_tree("obj_ids")
                .unwrap()
                .remove(id.as_bytes())
                .unwrap()
                .expect("the hub held the object");
            db.open_tree("obj_meta").unwrap().remove(&seq).unwrap();
            db.open_tree("obj_data").unwrap().remove(&seq).unwrap();
        }
    });
}

/// The hub withholds one of a field device's versions from the coordinator (it
/// delivers the later ones). Each device numbers its versions in a chain, so the
/// coordinator's vault notices the gap and `custos sync status` shows it; once the
/// device asks the hub what it holds and sends the version again, the gap closes.
fn a_coordinator_notices_versions_the_hub_withholds(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let mut hub = Hub::start(&tmp.path().join("hub"), &backend);
    let mut coord = org(&hub);
    let mut a = enrolled(&hub.invite("field", None), "field A");
    let ids: Vec<uuid::Uuid> = (0..3)
        .map(|i| a.vault.add(case(&format!("Case {i}"), "x")).unwrap())
        .collect();
    let withheld = a.vault.get(ids[1]).unwrap().version_id;
    run(&mut a.vault).unwrap();
    drop_object(&mut hub, &backend, withheld);

    let rc = run(&mut coord.vault).unwrap();
    assert_eq!(rc.pulled, 2);
    assert!(coord.vault.get(ids[1]).is_err());
    let gaps = coord.vault.sync_info().gaps;
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(
        (gaps[0].device.as_str(), gaps[0].from, gaps[0].to),
        ("field A", 2, 2)
    );
    // The field device's own vault shows no gaps (it only sees its coordinators').
    assert!(a.vault.sync_info().gaps.is_empty());

    // A asks the hub what it holds, and sends the version again.
    let ra = sync::check_hub(&sync::Held::new(&mut a.vault)).unwrap();
    assert_eq!((ra.hub_lost, ra.pushed), (1, 1));
    let rc = run(&mut coord.vault).unwrap();
    assert_eq!(rc.pulled, 1);
    assert_eq!(get_case(&coord.vault, ids[1]).title, "Case 1");
    assert!(coord.vault.sync_info().gaps.is_empty());
}

/// What a compelled operator does when the hub's own command refuses: writes a
/// coordinator recipient of their own straight into the hub's storage (hub stopped).
fn inject_coordinator(hub: &mut Hub, backend: &Backend, recipient: &str) {
    with_hub_stopped(hub, backend, |storage| match storage {
        Storage::Pg(c) => {
            c.execute(
                "INSERT INTO coordinators (recipient) VALUES ($1)",
                &[&recipient],
            )
            .unwrap();
        }
        Storage::Sled(db) => {
            let config = db.open_tree("config").unwrap();
            let mut list: Vec<String> = config
                .get("coordinators")
                .unwrap()
                .map(|b| serde_json::from_slice(&b).unwrap())
                .unwrap_or_default();
            list.push(recipient.to_owned());
            config
                .insert("coordinators", serde_json::to_vec(&list).unwrap())
                .unwrap();
        }
    });
}

/// What a hostile operator does to ignore a revocation: marks the device (by label) as
/// not revoked in the hub's storage (hub stopped).
fn unrevoke(hub: &mut Hub, backend: &Backend, label: &str) {
    with_hub_stopped(hub, backend, |storage| match storage {
        Storage::Pg(c) => {
            let n = c
                .execute(
                    "UPDATE devices SET revoked = false WHERE label = $1",
                    &[&label],
                )
                .unwrap();
            assert_eq!(n, 1);
        }
        Storage::Sled(db) => {
            let devices = db.open_tree("devices").unwrap();
            let mut found = 0;
            for kv in devices.iter() {
                let (k, v) = kv.unwrap();
                let mut d: serde_json::Value = serde_json::from_slice(&v).unwrap();
                if d["label"] == label {
                    d["revoked"] = serde_json::json!(false);
                    devices.insert(k, serde_json::to_vec(&d).unwrap()).unwrap();
                    found += 1;
                }
            }
            assert_eq!(found, 1);
        }
    });
}

/// A version of a new case, addressed to `audience`, from a device of the operator's.
fn planted_case(device: uuid::Uuid, audience: Vec<String>) -> custos_model::Version {
    use custos_model::hlc::Hlc;
    use custos_model::{Body, Kind, Version, SCHEMA_VERSION};
    Version {
        schema_version: SCHEMA_VERSION,
        record_id: uuid::Uuid::new_v4(),
        version_id: uuid::Uuid::new_v4(),
        kind: Kind::Case,
        parents: vec![],
        hlc: Hlc {
            ms: chrono::Utc::now().timestamp_millis() as u64,
            counter: 0,
        },
        device,
        audience,
        chain: None,
        body: Body::Record(case("Planted", "fabricated")),
    }
}

/// The organisation signs its roster with its own key. Then the hub operator's own
/// recipient — written into the hub's storage, since the hub's command refuses — is
/// never encrypted to and every device reports it; a device of the operator's is not
/// trusted; a device enrolled later is trusted only once a coordinator, having compared
/// its words, signs it in; and until then what it writes stays on it.
fn the_organisation_key_decides_who_reads_and_whose_writes_count(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let mut hub = Hub::start(&tmp.path().join("hub"), &backend);
    let mut coord = org(&hub);
    let mut a = enrolled(&hub.invite("field", None), "field A");
    let first = a.vault.add(case("First case", "before")).unwrap();
    run(&mut a.vault).unwrap();
    run(&mut coord.vault).unwrap();

    // The coordinator creates the organisation key: the roster it signs is the hub's
    // current one (two devices), which it was shown first; a refusal signs nothing.
    let declined =
        sync::org_create(&sync::Held::new(&mut coord.vault), "Observatory", |_| false).unwrap();
    assert!(declined.is_none());
    let created = sync::org_create(&sync::Held::new(&mut coord.vault), "Observatory", |r| {
        r.devices.len() == 2
    })
    .unwrap()
    .expect("signed");
    assert_eq!(created.words.split(' ').count(), 8);
    let org_info = coord.vault.sync_info().org;
    assert!(org_info.signed && org_info.holds_key);
    assert_eq!(org_info.words.as_deref(), Some(created.words.as_str()));
    // Genesis, one coordinator, two devices.
    assert_eq!(created.entries, 4);
    // The key backup's shares carry the organisation key: a coordinator who loses the
    // laptop gets it back with the vault key.
    let shares = coord.vault.key_shares(2, 3).unwrap();
    let lines: Vec<&str> = shares[1..].iter().map(|s| s.as_str()).collect();
    let rebuilt = tmp.path().join("rebuilt");
    let back = custos_vault::Vault::restore_into_new(&rebuilt, &lines, &pass(), OPTS).unwrap();
    assert_eq!(
        back.held_org_words().as_deref(),
        Some(created.words.as_str())
    );
    drop(back);
    assert_eq!(a.vault.held_org_words(), None);

    // Nothing to confirm before the hub offers the key; nothing to give without it.
    assert!(a.vault.confirm_org_key(&created.words).is_err());
    assert!(a.vault.give_org_key(&coord.vault.recipient()).is_err());
    assert!(a.vault.take_org_key(b"not an age file").is_err());

    // The hub can no longer add a reader by itself.
    let operator_key = age::x25519::Identity::generate();
    let said = hub.cli_fails(&["coordinators", "add", &operator_key.to_public().to_string()]);
    assert!(said.contains("signs its roster"), "{said}");

    // A's next sync notices that the roster moved (the hub says how long its log is on
    // every answer) and fetches it: the key is offered, not used. A follows it once its
    // user compared the words (read out in person).
    run(&mut a.vault).unwrap();
    let info = a.vault.sync_info();
    assert!(!info.org.signed);
    assert_eq!(
        info.org.offered_words.as_deref(),
        Some(created.words.as_str())
    );
    assert!(info
        .changes
        .iter()
        .any(|c| c.what == "organisation_key_offered" && c.who == created.words));
    let wrong = "abandon ability able about above absent absorb abstract";
    assert!(a.vault.confirm_org_key(wrong).is_err());
    assert!(!a.vault.sync_info().org.signed);
    a.vault
        .confirm_org_key(&created.words.to_uppercase())
        .unwrap();
    run(&mut a.vault).unwrap();
    let info = a.vault.sync_info().org;
    assert!(info.signed && !info.awaiting_approval, "{info:?}");
    assert_eq!(info.entries, 4);

    // The operator: a coordinator device the hub enrolled, and its recipient written
    // into the hub's storage.
    let mut operator =
        support::SimDevice::enroll(&hub.invite("coordinator", None), None, "operator").unwrap();
    inject_coordinator(&mut hub, &backend, &operator.recipient);
    operator.switch_to(&hub.addr.clone());
    let planted = planted_case(
        operator.id,
        vec![a.vault.recipient(), operator.recipient.clone()],
    );
    let to = planted.audience.clone();
    operator.push_version(&planted, &to, &to);
    let ra = run(&mut a.vault).unwrap();
    assert!(ra
        .pull_rejected
        .iter()
        .any(|(id, _)| *id == planted.version_id));
    assert!(a.vault.get(planted.record_id).is_err());
    let info = a.vault.sync_info();
    assert!(
        info.changes
            .iter()
            .any(|c| c.what == "coordinator_unsigned" && c.who == operator.recipient),
        "{:?}",
        info.changes
    );
    assert!(info.org.unapproved.iter().any(|u| u.label == "operator"));
    assert!(info.pending_coordinators.is_empty());
    let readers: Vec<&str> = info.readers.iter().map(|r| r.recipient.as_str()).collect();
    assert_eq!(readers, vec![a.vault.recipient(), coord.vault.recipient()]);

    // Nothing written afterwards decrypts with the operator's key.
    a.vault
        .add(case(
            "After the hub added a key",
            &format!("Witness {CANARY}"),
        ))
        .unwrap();
    run(&mut a.vault).unwrap();
    run(&mut coord.vault).unwrap();
    let mut edited = get_case(&coord.vault, first);
    edited.summary.push_str(" (checked)");
    coord.vault.update(first, Record::Case(edited)).unwrap();
    run(&mut coord.vault).unwrap();
    // History says who wrote each version, as the roster names the signer's device.
    let history = coord.vault.history(first).unwrap();
    let by: Vec<Option<String>> = history
        .iter()
        .map(|v| coord.vault.device_label(v.as_ref().unwrap().device))
        .collect();
    assert_eq!(
        by,
        vec![Some("field A".to_string()), Some("coordinator".to_string())]
    );
    let seen = operator.pull_all().unwrap();
    assert!(
        seen.len() >= 3,
        "the hub sends a coordinator device everything"
    );
    for f in &seen {
        assert!(
            age::decrypt(&operator.vault, &f.ciphertext).is_err(),
            "object {} decrypts with the operator's key",
            f.id
        );
    }

    // A device enrolled now: its invite names the organisation key; it encrypts only
    // to the signed coordinators, and sends nothing until it is approved.
    let invite = hub.invite("field", None);
    assert_eq!(
        wire::Invite::decode(&invite)
            .unwrap()
            .org_key
            .and_then(|k| wire::roster_log::parse_key(&k))
            .map(|k| wire::roster_log::words(&k))
            .as_deref(),
        Some(created.words.as_str())
    );
    let mut b = new_vault();
    let e = sync::enroll(&mut b.vault, &invite, "field B", Route::Direct).unwrap();
    assert_eq!(e.org_words.as_deref(), Some(created.words.as_str()));
    let b_case = b.vault.add(case("B's case", "from B")).unwrap();
    let rb = run(&mut b.vault).unwrap();
    assert!(rb.awaiting_approval && rb.pushed == 0, "{rb:?}");
    assert!(rb.warning().unwrap().contains("approval"));
    let info = b.vault.sync_info();
    assert!(info.org.signed && info.org.awaiting_approval);
    assert_eq!(info.coordinators, vec![coord.vault.recipient()]);

    // The coordinator approves it with the words B's user reads out; other words (a
    // key the hub put in its place) are refused.
    let words_b = info.org.device_words.clone();
    {
        let held = sync::Held::new(&mut coord.vault);
        assert!(sync::org_approve(&held, "field B", wrong).is_err());
        assert!(sync::org_approve(&held, "nobody", &words_b).is_err());
        assert_eq!(sync::org_approve(&held, "field B", &words_b).unwrap(), 5);
    }
    let rb = run(&mut b.vault).unwrap();
    assert!(!rb.awaiting_approval);
    assert_eq!(rb.pushed, 1);
    run(&mut coord.vault).unwrap();
    assert_eq!(get_case(&coord.vault, b_case).title, "B's case");
    // A sees the change: a device now accepted.
    let changes = coord.vault.sync_info().changes;
    assert!(changes
        .iter()
        .any(|c| c.what == "device_accepted" && c.who == "field B"));

    // A second coordinator: signed into the roster by the first, enrolled, approved,
    // then given the organisation key (a file only its vault opens). It can sign too:
    // it revokes B, and A's vault sees it.
    let mut c2 = new_vault();
    assert!(
        coord.vault.give_org_key(&c2.vault.recipient()).is_err(),
        "the key is given to coordinators of the signed roster only"
    );
    let c2_key = c2.vault.recipient();
    sync::org_change(&sync::Held::new(&mut coord.vault), |_| {
        Ok(vec![wire::roster_log::Change::Coordinator {
            recipient: c2_key.clone(),
        }])
    })
    .unwrap();
    sync::enroll(
        &mut c2.vault,
        &hub.invite("coordinator", None),
        "second coordinator",
        Route::Direct,
    )
    .unwrap();
    run(&mut c2.vault).unwrap();
    let words_c2 = c2.vault.sync_info().org.device_words;
    sync::org_approve(
        &sync::Held::new(&mut coord.vault),
        "second coordinator",
        &words_c2,
    )
    .unwrap();
    let sealed = coord.vault.give_org_key(&c2.vault.recipient()).unwrap();
    assert!(
        a.vault.take_org_key(&sealed).is_err(),
        "opened by another vault"
    );
    assert_eq!(c2.vault.held_org_words(), None);
    assert_eq!(c2.vault.take_org_key(&sealed).unwrap(), created.words);
    run(&mut c2.vault).unwrap();
    sync::org_revoke(&sync::Held::new(&mut c2.vault), "field B").unwrap();
    // The hub applies the signed revocation: B is refused from now on.
    let late = b.vault.add(case("After B was revoked", "b")).unwrap();
    assert_eq!(run(&mut b.vault).unwrap_err().kind(), "device_revoked");
    // A hub that ignores the revocation (its storage rewritten) relays what B writes
    // next; the coordinators' vaults refuse it: the revocation names B's last version.
    unrevoke(&mut hub, &backend, "field B");
    assert_eq!(run(&mut b.vault).unwrap().pushed, 1);
    let rc = run(&mut coord.vault).unwrap();
    assert!(
        rc.pull_rejected
            .iter()
            .any(|(_, why)| why.contains("written after its revocation")),
        "{:?}",
        rc.pull_rejected
    );
    assert!(coord.vault.get(late).is_err());
    assert_eq!(get_case(&coord.vault, b_case).title, "B's case");
    run(&mut a.vault).unwrap();
    let info = a.vault.sync_info();
    // Who made each change, and when, as the organisation signed it.
    let added = info
        .changes
        .iter()
        .find(|c| c.what == "coordinator_added" && c.who == c2.vault.recipient())
        .unwrap_or_else(|| panic!("{:?}", info.changes));
    assert_eq!(added.by.as_deref(), Some("coordinator"));
    assert!(added.signed_at.is_some());
    assert!(info
        .readers
        .iter()
        .any(|r| r.recipient == c2.vault.recipient()));
    run(&mut coord.vault).unwrap();
    let changes = coord.vault.sync_info().changes;
    let revoked = changes
        .iter()
        .find(|c| c.what == "device_revoked" && c.who == "field B")
        .unwrap_or_else(|| panic!("{changes:?}"));
    assert_eq!(revoked.by.as_deref(), Some("second coordinator"));
}

/// What a hostile operator does to the signed roster in the hub's storage (hub
/// stopped): `f` rewrites its entries, which are stored again in the order it leaves.
fn tamper_roster(
    hub: &mut Hub,
    backend: &Backend,
    f: impl FnOnce(&mut Vec<wire::roster_log::Entry>),
) {
    use wire::roster_log::Entry;
    with_hub_stopped(hub, backend, |storage| match storage {
        Storage::Pg(c) => {
            let mut log: Vec<Entry> = c
                .query("SELECT entry FROM roster_log ORDER BY seq", &[])
                .unwrap()
                .iter()
                .map(|r| serde_json::from_str(r.get::<_, &str>(0)).unwrap())
                .collect();
            f(&mut log);
            c.execute("DELETE FROM roster_log", &[]).unwrap();
            for (i, e) in log.iter().enumerate() {
                c.execute(
                    "INSERT INTO roster_log (seq, entry) VALUES ($1, $2)",
                    &[&(i as i64 + 1), &serde_json::to_string(e).unwrap()],
                )
                .unwrap();
            }
        }
        Storage::Sled(db) => {
            let tree = db.open_tree("roster_log").unwrap();
            let mut log: Vec<Entry> = tree
                .iter()
                .map(|kv| serde_json::from_slice(&kv.unwrap().1).unwrap())
                .collect();
            f(&mut log);
            tree.clear().unwrap();
            for (i, e) in log.iter().enumerate() {
                tree.insert((i as u64 + 1).to_be_bytes(), serde_json::to_vec(e).unwrap())
                    .unwrap();
            }
        }
    });
}

/// A field device that follows the organisation key refuses every roster the key did
/// not sign as it stands — an entry added with another key, an entry altered, entries
/// reordered, a roster signed by another key, no roster at all, a roster cut short, a
/// fork — says so, and keeps encrypting to the coordinators it verified. A new
/// organisation key is taken only once its user confirms the new words.
fn a_forged_altered_reordered_truncated_forked_or_replaced_roster_is_refused(backend: Backend) {
    use wire::roster_log::{self, Change};
    let tmp = tempfile::tempdir().unwrap();
    let mut hub = Hub::start(&tmp.path().join("hub"), &backend);
    let mut coord = org(&hub);
    let mut a = enrolled(&hub.invite("field", None), "field A");
    run(&mut a.vault).unwrap();
    let created = sync::org_create(&sync::Held::new(&mut coord.vault), "Observatory", |_| true)
        .unwrap()
        .unwrap();
    run(&mut a.vault).unwrap();
    a.vault.confirm_org_key(&created.words).unwrap();
    run(&mut a.vault).unwrap();
    assert_eq!(a.vault.sync_info().org.entries, 4);
    let readers = |v: &custos_vault::Vault| -> Vec<String> {
        v.sync_info()
            .readers
            .iter()
            .map(|r| r.recipient.clone())
            .collect()
    };
    let trusted_readers = readers(&a.vault);
    assert_eq!(
        trusted_readers,
        vec![a.vault.recipient(), coord.vault.recipient()]
    );
    let operator = age::x25519::Identity::generate().to_public().to_string();
    let thief = {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).unwrap();
        ed25519_dalek::SigningKey::from_bytes(&seed)
    };
    let mut good = Vec::new();

    // Each attack: the next sync is refused, says why, and uses nothing of it.
    let mut refused = |hub: &mut Hub,
                       a: &mut custos_vault::Vault,
                       f: &dyn Fn(&mut Vec<roster_log::Entry>),
                       why: &str| {
        tamper_roster(hub, &backend, |log| {
            if good.is_empty() {
                good = log.clone();
            }
            f(log)
        });
        let e = run(a).expect_err(why);
        assert_eq!(e.kind(), "roster_refused", "{why}: {e}");
        assert!(e.to_string().contains(why), "{e}");
        let info = a.sync_info();
        assert_eq!(readers(a), trusted_readers);
        assert!(info
            .changes
            .iter()
            .any(|c| c.what == "roster_refused" && c.who.contains(why)));
        // Refused again at the next sync: the refusal stays in sight.
        assert_eq!(run(a).unwrap_err().kind(), "roster_refused");
        let restore = good.clone();
        tamper_roster(hub, &backend, move |log| *log = restore);
        run(a).unwrap_or_else(|e| panic!("after {why}: {e}"));
    };
    // An entry added by the operator, with a key of their own.
    refused(
        &mut hub,
        &mut a.vault,
        &|log| {
            roster_log::append(
                log,
                &thief,
                Change::Coordinator {
                    recipient: operator.clone(),
                },
                chrono::Utc::now(),
            )
        },
        "entry 5 is not signed by the organisation key",
    );
    // An entry altered: A's device now has another label.
    refused(
        &mut hub,
        &mut a.vault,
        &|log| {
            if let Change::Device { label, .. } = &mut log[3].change {
                *label = "the operator's".into();
            }
        },
        "entry 4 is not signed by the organisation key",
    );
    // An entry altered: A's device now names the operator's vault. The hub serves A
    // that entry as another vault's, withheld: the stub's hash is not the entry A
    // verified.
    refused(
        &mut hub,
        &mut a.vault,
        &|log| {
            if let Change::Device {
                vault_recipient, ..
            } = &mut log[3].change
            {
                *vault_recipient = operator.clone();
            }
        },
        "entry 4 differs from the one this device verified",
    );
    // Two entries swapped (and renumbered, as a store keyed by number needs).
    refused(
        &mut hub,
        &mut a.vault,
        &|log| {
            log.swap(2, 3);
            log[2].seq = 3;
            log[3].seq = 4;
        },
        "entry 3 does not follow the one before it",
    );
    // No roster at all: the hub restored to before the organisation signed it.
    refused(
        &mut hub,
        &mut a.vault,
        &|log| log.clear(),
        "serves no signed roster",
    );
    // A whole roster of the operator's, under a key of their own.
    refused(
        &mut hub,
        &mut a.vault,
        &|log| {
            let mut own = roster_log::genesis(&thief, "Observatory", chrono::Utc::now());
            roster_log::append(
                &mut own,
                &thief,
                Change::Coordinator {
                    recipient: operator.clone(),
                },
                chrono::Utc::now(),
            );
            *log = own;
        },
        "another organisation key",
    );
    // The operator's key was offered meanwhile: its words are not the coordinator's,
    // and they are what the user would have to type to take it.
    let offered = a.vault.sync_info().org.offered_words.unwrap();
    assert_eq!(offered, roster_log::words(&thief.verifying_key()));
    assert_ne!(offered, created.words);

    // A coordinator's second device (its vault rebuilt from the key shares, so it holds
    // the organisation key) enrolls, and verifies the roster as it is now: 4 entries.
    let shares = coord.vault.key_shares(2, 2).unwrap();
    let lines: Vec<&str> = shares.iter().map(|s| s.as_str()).collect();
    let mut coord2 =
        custos_vault::Vault::restore_into_new(&tmp.path().join("coord2"), &lines, &pass(), OPTS)
            .unwrap();
    sync::enroll(
        &mut coord2,
        &hub.invite("coordinator", None),
        "coordinator's second laptop",
        Route::Direct,
    )
    .unwrap();
    // The hub withholds A's device entry from it, as it does from other vaults' field
    // devices: a coordinator reads every device and must see every entry, so it
    // refuses, and takes nothing of it.
    tamper_roster(&mut hub, &backend, |log| log[3] = log[3].withheld());
    let e = run(&mut coord2).unwrap_err();
    assert_eq!(e.kind(), "roster_refused", "{e}");
    assert!(
        e.to_string()
            .contains("withholds roster entries from a coordinator"),
        "{e}"
    );
    let restore = good.clone();
    tamper_roster(&mut hub, &backend, move |log| *log = restore);
    run(&mut coord2).unwrap();
    assert_eq!(coord2.sync_info().org.entries, 4);

    // The first coordinator approves B (entry 5); A verifies it.
    let mut b = enrolled(&hub.invite("field", None), "field B");
    run(&mut b.vault).unwrap();
    let words_b = b.vault.sync_info().org.device_words;
    sync::org_approve(&sync::Held::new(&mut coord.vault), "field B", &words_b).unwrap();
    run(&mut a.vault).unwrap();
    assert_eq!(a.vault.sync_info().org.entries, 5);

    // The hub cuts the roster back to 4 entries: A notices.
    tamper_roster(&mut hub, &backend, |log| {
        log.truncate(4);
    });
    let e = run(&mut a.vault).unwrap_err();
    assert!(
        e.to_string()
            .contains("before entry 5 this device verified"),
        "{e}"
    );
    // On that cut roster the second device (which never saw entry 5) signs another
    // entry 5: valid on its own, a fork for A.
    let mut c = enrolled(&hub.invite("field", None), "field C");
    run(&mut c.vault).unwrap();
    let words_c = c.vault.sync_info().org.device_words;
    sync::org_approve(&sync::Held::new(&mut coord2), "field C", &words_c).unwrap();
    let e = run(&mut a.vault).unwrap_err();
    assert_eq!(e.kind(), "roster_refused");
    assert!(e.to_string().contains("forked"), "{e}");
    assert_eq!(readers(&a.vault), trusted_readers);
}

/// An evidence record names the device that imported its file. An insider's device (a
/// field device the coordinators trust) copies a colleague's evidence record and pushes
/// it as a new one that still names the colleague's device as importer — a file planted
/// in the colleague's name. The coordinator's vault refuses it; the same record naming
/// the insider's own device is taken.
fn an_evidence_file_cannot_be_passed_off_as_imported_by_a_colleague(backend: Backend) {
    use custos_model::hlc::Hlc;
    use custos_model::{Body, Kind, Version, SCHEMA_VERSION};
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start(&tmp.path().join("hub"), &backend);
    let mut coord = org(&hub);
    let mut a = enrolled(&hub.invite("field", None), "field A");
    let mut insider =
        support::SimDevice::enroll(&hub.invite("field", None), None, "insider").unwrap();
    let id = a.vault.add(case("A's case", "a")).unwrap();
    let file = tmp.path().join("photo.jpg");
    fs::write(&file, b"\xff\xd8\xff\xe0 bytes of a photo").unwrap();
    let ev = a
        .vault
        .attach(
            &file,
            Attach {
                case_id: id,
                attached_to: vec![],
                description: "photo of the letter".into(),
                derived_from: None,
            },
        )
        .unwrap();
    run(&mut a.vault).unwrap();
    run(&mut coord.vault).unwrap();
    let original = match coord.vault.get(ev).unwrap().into_record() {
        Some(custos_model::Record::Evidence(e)) => e,
        other => panic!("not evidence: {other:?}"),
    };

    let (insider_id, insider_vault) = (insider.id, insider.recipient.clone());
    let planted = |imported_by: uuid::Uuid| {
        let mut e = original.clone();
        e.imported_by = imported_by;
        e.description = "planted".into();
        Version {
            schema_version: SCHEMA_VERSION,
            record_id: uuid::Uuid::new_v4(),
            version_id: uuid::Uuid::new_v4(),
            kind: Kind::Evidence,
            parents: vec![],
            hlc: Hlc {
                ms: chrono::Utc::now().timestamp_millis() as u64,
                counter: 0,
            },
            device: insider_id,
            audience: vec![insider_vault.clone(), coord.vault.recipient()],
            chain: None,
            body: Body::Record(custos_model::Record::Evidence(e)),
        }
    };
    let in_a_name = planted(original.imported_by);
    let to = in_a_name.audience.clone();
    insider.push_version(&in_a_name, &to, &to);
    let own_name = planted(insider_id);
    insider.push_version(&own_name, &to, &to);
    let rc = run(&mut coord.vault).unwrap();
    let why: Vec<&str> = rc
        .pull_rejected
        .iter()
        .filter(|(v, _)| *v == in_a_name.version_id)
        .map(|(_, w)| w.as_str())
        .collect();
    assert_eq!(
        why,
        vec!["its evidence file names another device than its signer's as importer"],
        "{:?}",
        rc.pull_rejected
    );
    assert!(coord.vault.get(in_a_name.record_id).is_err());
    assert!(coord.vault.get(own_name.record_id).is_ok());
}

/// A device over its quota of evidence bytes on the hub is told so (`hub_quota_full`,
/// the hub's words naming the quota) and loses nothing: the file stays pending and
/// intact, and once the quota is raised its next sync sends it.
fn a_device_over_its_hub_quota_is_told_so_and_loses_nothing(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("hub");
    let hub = Hub::start_args(
        &data,
        "127.0.0.1:0",
        &backend,
        &["--quota-evidence", "1000000"],
    );
    let mut coord = org(&hub);
    let mut a = enrolled(&hub.invite("field", None), "field A");
    let ids = add_cases(&mut a.vault, 1);
    let file = tmp.path().join("video.bin");
    let content: Vec<u8> = (0..2_000_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    fs::write(&file, &content).unwrap();
    let ev = a
        .vault
        .attach(
            &file,
            Attach {
                case_id: ids[0],
                attached_to: vec![],
                description: "video".into(),
                derived_from: None,
            },
        )
        .unwrap();
    let err = run(&mut a.vault).unwrap_err();
    assert_eq!(err.kind(), "hub_quota_full", "{err}");
    assert!(err.to_string().contains("quota"), "{err}");
    assert_eq!(a.vault.sync_info().pending_blobs, 1);
    assert!(a.vault.verify_evidence(ev).unwrap().ok);

    // The administrator raises the quota.
    let addr = hub.addr.to_string();
    drop(hub);
    let _hub = Hub::start_on(&data, &addr, &backend);
    let r = run(&mut a.vault).unwrap();
    assert_eq!(r.blobs_up, 1);
    assert_eq!(a.vault.sync_info().pending_blobs, 0);
    let rc = run(&mut coord.vault).unwrap();
    assert_eq!(rc.blobs_down, 1);
    assert!(coord.vault.verify_evidence(ev).unwrap().ok);
}
