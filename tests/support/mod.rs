//! What the hub's process tests (and the load bench) share: the storage a hub runs on
//! (sled, or a fresh PostgreSQL database), the hub as a real process, devices (the
//! `custos` library, or a light protocol client), a TCP forwarder that fails over and can
//! cut connections, and a private PostgreSQL server that can be stopped and restarted.

#![allow(dead_code)]

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use custos_hub::store::pg::ScratchDatabase;
use custos_model::{Case, Record};
use custos_sync::net::{self, Connection};
use custos_sync::{self as sync, Held, NetError, Route, SyncError};
use custos_vault::crypto::{DeviceKey, VaultRecipient};
use custos_vault::Credentials;
use custos_vault::{Change, Vault};
use custos_wire::{self as wire, Frame};
use uuid::Uuid;

/// The hub binary: built by the end-to-end test package, or by the benchmark package
/// (both build `custos-hub`'s own entry point under a name of their own).
pub const BIN: &str = match (
    option_env!("CARGO_BIN_EXE_custos-hub-under-test"),
    option_env!("CARGO_BIN_EXE_custos-hub-under-bench"),
) {
    (Some(bin), _) | (None, Some(bin)) => bin,
    (None, None) => panic!("the hub support module is for the tests/ and benches/ packages"),
};
// The benchmarks share this module and use fewer of its names.
#[allow(unused_imports)]
pub use custos_test_support::{pass, FAST as OPTS, PASS};

// ----- storage -----

/// The storage a hub process runs on.
#[derive(Debug, Clone)]
pub enum Backend {
    /// sled in the data folder.
    Sled,
    /// A database of its own on the test server (dropped with the last clone).
    Postgres(Arc<ScratchDatabase>),
}

impl Backend {
    pub fn sled() -> Backend {
        Backend::Sled
    }

    /// A fresh database on the server of `CUSTOS_TEST_POSTGRES`; the test fails, saying
    /// how to run it, when the variable is not set.
    pub fn postgres() -> Backend {
        Backend::Postgres(Arc::new(ScratchDatabase::for_test()))
    }

    /// The `serve` arguments choosing it.
    pub fn args(&self) -> Vec<String> {
        match self {
            Backend::Sled => Vec::new(),
            Backend::Postgres(db) => vec!["--postgres".into(), db.url.clone()],
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Backend::Postgres(_))
    }

    /// A client on the database.
    pub fn client(&self) -> postgres::Client {
        match self {
            Backend::Sled => panic!("not a PostgreSQL backend"),
            Backend::Postgres(db) => db.client().unwrap(),
        }
    }

    /// The hub's tables (PostgreSQL) whose text holds `needle` (as text, or as the hex
    /// of its bytes, which is how bytea reads as text).
    pub fn tables_containing(&self, needle: &str) -> Vec<String> {
        let Backend::Postgres(_) = self else {
            return Vec::new();
        };
        let mut c = self.client();
        let hex: String = needle.bytes().map(|b| format!("{b:02x}")).collect();
        let mut hits = Vec::new();
        let tables = c
            .query(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
                &[],
            )
            .unwrap();
        assert!(!tables.is_empty());
        for t in tables {
            let name: String = t.get(0);
            let row = c
                .query_one(
                    &format!("SELECT coalesce(string_agg(t::text, ''), '') FROM {name} t"),
                    &[],
                )
                .unwrap();
            let text: String = row.get(0);
            if text.contains(needle) || text.contains(&hex) {
                hits.push(name);
            }
        }
        hits
    }
}

// ----- the hub process -----

pub struct Hub {
    child: Option<Child>,
    pub data: PathBuf,
    pub addr: String,
    pub pin: String,
    pub backend: Backend,
}

impl Hub {
    pub fn start(data: &Path, backend: &Backend) -> Hub {
        Self::start_on(data, "127.0.0.1:0", backend)
    }

    pub fn start_on(data: &Path, listen: &str, backend: &Backend) -> Hub {
        Self::start_args(data, listen, backend, &[])
    }

    pub fn start_args(data: &Path, listen: &str, backend: &Backend, extra: &[&str]) -> Hub {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            fs::create_dir_all(data.parent().unwrap()).unwrap();
            let log = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(data.with_extension("log"))
                .unwrap();
            let mut child = Command::new(BIN)
                .args(["serve", "--data"])
                .arg(data)
                .args(["--listen", listen])
                .args(backend.args())
                .args(extra)
                .stdout(Stdio::piped())
                .stderr(log)
                .spawn()
                .expect("custos-hub starts");
            let stdout = child.stdout.take().unwrap();
            let (tx, rx) = mpsc::channel();
            thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
            let (mut addr, mut pin) = (None, None);
            while addr.is_none() || pin.is_none() {
                match rx.recv_timeout(Duration::from_secs(20)) {
                    Ok(line) => {
                        if let Some(a) = line.strip_prefix("listening on ") {
                            addr = Some(a.trim().to_owned());
                        } else if let Some(p) = line.strip_prefix("pin ") {
                            pin = Some(p.trim().to_owned());
                        }
                    }
                    Err(_) => break,
                }
            }
            match (addr, pin) {
                (Some(addr), Some(pin)) => {
                    return Hub {
                        child: Some(child),
                        data: data.to_owned(),
                        addr,
                        pin,
                        backend: backend.clone(),
                    }
                }
                _ => {
                    // A restart on a fixed port can race the old socket's release.
                    let _ = child.kill();
                    let _ = child.wait();
                    assert!(
                        Instant::now() < deadline,
                        "the hub did not start: {}",
                        fs::read_to_string(data.with_extension("log")).unwrap_or_default()
                    );
                    thread::sleep(Duration::from_millis(200));
                }
            }
        }
    }

    /// The hub process's id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).expect("the hub runs")
    }

    /// A second instance on the same database, in its own folder with this one's keys.
    pub fn another_instance(&self, data: &Path) -> Hub {
        copy_keys(&self.data, data);
        Hub::start(data, &self.backend)
    }

    /// `serve` in `data` expected to refuse to start: its error.
    pub fn refused(data: &Path, backend: &Backend) -> String {
        fs::create_dir_all(data.parent().unwrap()).unwrap();
        let err_file = data.with_extension("refused");
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .args(backend.args())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&err_file).unwrap())
            .spawn()
            .expect("custos-hub runs");
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the hub started");
            }
            thread::sleep(Duration::from_millis(50));
        };
        assert!(!status.success());
        fs::read_to_string(&err_file).unwrap()
    }

    /// Runs an admin command (`custos-hub ARGS --data DIR`).
    fn admin(&self, args: &[&str]) -> std::process::Output {
        Command::new(BIN)
            .args(args)
            .arg("--data")
            .arg(&self.data)
            .output()
            .expect("custos-hub runs")
    }

    pub fn cli(&self, args: &[&str]) -> String {
        let out = self.admin(args);
        assert!(
            out.status.success(),
            "custos-hub {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs an admin command that must fail; returns what it said on stderr.
    pub fn cli_fails(&self, args: &[&str]) -> String {
        let out = self.admin(args);
        assert!(!out.status.success(), "custos-hub {args:?} succeeded");
        String::from_utf8(out.stderr).unwrap()
    }

    pub fn invite(&self, role: &str, address: Option<&str>) -> String {
        let mut args = vec!["invite", "--role", role, "--expires", "1h"];
        if let Some(a) = address {
            args.extend(["--address", a]);
        }
        self.cli(&args).trim().to_owned()
    }

    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Copies a hub's keys into another (new) data folder: the instances of one organisation
/// share them, so that devices see one pin.
pub fn copy_keys(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for f in ["tls.key", "tls.crt", "bundle.key"] {
        fs::copy(from.join(f), to.join(f)).unwrap();
    }
}

// ----- devices (the custos library) -----

pub struct Device {
    _tmp: tempfile::TempDir,
    pub vault: Vault,
}

impl Device {
    /// The vault's folder.
    pub fn dir(&self) -> PathBuf {
        self._tmp.path().join("vault")
    }
}

pub fn new_vault() -> Device {
    let tmp = tempfile::tempdir().unwrap();
    let vault = Vault::create(&tmp.path().join("vault"), &pass(), OPTS).unwrap();
    Device { _tmp: tmp, vault }
}

pub fn enrolled(invite: &str, label: &str) -> Device {
    let mut d = new_vault();
    sync::enroll(&mut d.vault, invite, label, Route::Direct).expect("enrolls");
    d
}

/// A hub with one coordinator (enrolled).
pub fn org(hub: &Hub) -> Device {
    let mut c = new_vault();
    hub.cli(&["coordinators", "add", &c.vault.recipient()]);
    let invite = hub.invite("coordinator", None);
    sync::enroll(&mut c.vault, &invite, "coordinator", Route::Direct).expect("enrolls");
    c
}

pub fn run(v: &mut Vault) -> Result<sync::Report, SyncError> {
    sync::run(&Held::new(v))
}

pub fn case(title: &str, summary: &str) -> Record {
    Record::Case(Case {
        title: title.into(),
        summary: summary.into(),
        ..Case::default()
    })
}

pub fn add_cases(v: &mut Vault, n: usize) -> Vec<Uuid> {
    let changes = (0..n)
        .map(|i| Change::Create(case(&format!("case {i}"), &"x".repeat(1500))))
        .collect();
    v.commit(changes)
        .unwrap()
        .into_iter()
        .map(|w| w.record_id)
        .collect()
}

pub fn get_case(v: &Vault, id: Uuid) -> Case {
    match v.get(id).unwrap().into_record() {
        Some(Record::Case(c)) => c,
        other => panic!("not a case: {other:?}"),
    }
}

/// True for the error a device gets while the hub's storage is down.
pub fn is_unavailable(e: &SyncError) -> bool {
    matches!(e, SyncError::Net(NetError::Refused { status: 503, code, message })
        if code == "unavailable" && message.contains("try again later"))
}

// ----- a TCP forwarder (a load balancer) that counts, fails over and can cut -----

pub struct Forward {
    pub addr: String,
    pub connections: Arc<AtomicUsize>,
    /// Bytes from the device after which a connection is cut (u64::MAX: never).
    pub cut_after: Arc<AtomicU64>,
    /// Bytes forwarded from the device.
    pub upstream: Arc<AtomicU64>,
    /// Where connections go: the first target that accepts.
    pub targets: Arc<Mutex<Vec<String>>>,
}

pub fn forward(target: &str) -> Forward {
    forward_to(&[target])
}

/// A forwarder that sends each connection to the first of `targets` that accepts it.
pub fn forward_to(targets: &[&str]) -> Forward {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let connections = Arc::new(AtomicUsize::new(0));
    let cut_after = Arc::new(AtomicU64::new(u64::MAX));
    let upstream = Arc::new(AtomicU64::new(0));
    let targets = Arc::new(Mutex::new(
        targets.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
    ));
    let (c, cut, up, tg) = (
        connections.clone(),
        cut_after.clone(),
        upstream.clone(),
        targets.clone(),
    );
    thread::spawn(move || {
        for client in listener.incoming().map_while(Result::ok) {
            c.fetch_add(1, Ordering::SeqCst);
            let list = tg.lock().unwrap().clone();
            let Some(server) = list.iter().find_map(|t| TcpStream::connect(t).ok()) else {
                continue;
            };
            let limit = cut.load(Ordering::SeqCst);
            pipe(client, server, limit, up.clone());
        }
    });
    Forward {
        addr,
        connections,
        cut_after,
        upstream,
        targets,
    }
}

/// Copies both ways; cuts both sockets once `limit` bytes went from `a` to `b`.
pub fn pipe(a: TcpStream, b: TcpStream, limit: u64, counter: Arc<AtomicU64>) {
    let (mut a_read, mut b_write) = (a.try_clone().unwrap(), b.try_clone().unwrap());
    let (mut b_read, mut a_write) = (b, a);
    let cut = Arc::new(AtomicBool::new(false));
    let cut2 = cut.clone();
    let (a_shut, b_shut) = (a_write.try_clone().unwrap(), b_write.try_clone().unwrap());
    thread::spawn(move || {
        let mut sent = 0u64;
        let mut buf = [0u8; 16 * 1024];
        loop {
            let n = match a_read.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let n = if sent + n as u64 > limit {
                (limit - sent) as usize
            } else {
                n
            };
            if b_write.write_all(&buf[..n]).is_err() {
                break;
            }
            sent += n as u64;
            counter.fetch_add(n as u64, Ordering::SeqCst);
            if sent >= limit {
                cut2.store(true, Ordering::SeqCst);
                let _ = a_shut.shutdown(Shutdown::Both);
                let _ = b_shut.shutdown(Shutdown::Both);
                break;
            }
        }
        let _ = b_write.shutdown(Shutdown::Write);
    });
    thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            let n = match b_read.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if cut.load(Ordering::SeqCst) || a_write.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = a_write.shutdown(Shutdown::Write);
    });
}

// ----- a light device: the protocol only, no vault -----

/// A device speaking the protocol directly (enrollment, push, pull), with random bytes
/// for ciphertext: for load and many-device tests, where vaults would only cost time.
pub struct SimDevice {
    conn: Option<Connection>,
    creds: Credentials,
    pub hub: String,
    pub id: Uuid,
    /// Its vault key (the hub seals the enrollment challenge to it).
    pub vault: age::x25519::Identity,
    /// Its signing key.
    pub key: DeviceKey,
    /// Its vault recipient (a real age recipient; the hub routes by it).
    pub recipient: String,
    /// Its pull cursor.
    pub since: u64,
}

impl SimDevice {
    /// Enrolls with `invite` at `hub` (`host:port`; the invite's own address otherwise).
    pub fn enroll(invite: &str, hub: Option<&str>, label: &str) -> Result<SimDevice, NetError> {
        let invite = wire::Invite::decode(invite).unwrap();
        let (cert, key) = net::device_certificate().unwrap();
        let creds = Credentials {
            pin: invite.pin.clone(),
            next_pin: None,
            cert,
            key,
        };
        let hub = hub.map_or(invite.hub.clone(), str::to_owned);
        let vault = age::x25519::Identity::generate();
        let recipient = vault.to_public().to_string();
        let key = DeviceKey::generate();
        let mut conn = Connection::open(&hub, &Route::Direct, &creds)?;
        let reply = raw_enroll(
            &mut conn,
            &creds.cert,
            &invite.token,
            &recipient,
            &key,
            label,
            Answer::With(&vault),
        )?;
        Ok(SimDevice {
            conn: Some(conn),
            creds,
            hub,
            id: reply.device_id,
            vault,
            key,
            recipient,
            since: 0,
        })
    }

    fn request(
        &mut self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<net::Response, NetError> {
        if self.conn.is_none() {
            self.conn = Some(Connection::open(&self.hub, &Route::Direct, &self.creds)?);
        }
        let r = self
            .conn
            .as_mut()
            .unwrap()
            .request(method, path, content_type, body);
        if matches!(&r, Err(e) if !matches!(e, NetError::Refused { .. })) {
            // Open a new connection next time.
            self.conn = None;
        }
        r
    }

    /// Talks to another hub address from the next request on.
    pub fn switch_to(&mut self, hub: &str) {
        self.hub = hub.to_owned();
        self.conn = None;
    }

    /// Pushes frames (with the cursor, so the answer says whether anything waits).
    pub fn push(&mut self, frames: &[Frame]) -> Result<wire::PushResult, NetError> {
        let body = wire::encode_frames(frames).unwrap();
        let path = format!("/v1/objects?since={}", self.since);
        let r: wire::PushResult = self
            .request("POST", &path, Some(wire::FRAMES_TYPE), &body)?
            .json()?;
        if let Some(next) = r.next {
            self.since = self.since.max(next);
        }
        Ok(r)
    }

    /// One pull page after the cursor: its frames, and whether more wait.
    pub fn pull(&mut self, limit: usize) -> Result<(Vec<Frame>, bool), NetError> {
        let path = format!("/v1/objects?since={}&limit={limit}", self.since);
        let r = self.request("GET", &path, None, &[])?;
        let frames = wire::decode_frames(&r.body)
            .map_err(|e| NetError::Protocol(format!("frames: {}", e.0)))?;
        let next: u64 = r
            .header("custos-next")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| NetError::Protocol("no custos-next".into()))?;
        let more = r.header("custos-more") == Some("true");
        assert!(next >= self.since, "the cursor went back");
        self.since = next;
        Ok((frames, more))
    }

    /// Signs `v` with this device's key, seals it to `to` and pushes it with the routing
    /// audience `route`: what a hostile insider can send with the keys it enrolled with.
    pub fn push_version(
        &mut self,
        v: &custos_model::Version,
        to: &[String],
        route: &[String],
    ) -> wire::PushResult {
        let to: Vec<VaultRecipient> = to.iter().map(|r| r.parse().unwrap()).collect();
        let sealed = custos_vault::crypto::seal(
            &to,
            &self.key,
            &self.key.public(),
            &serde_json::to_vec(v).unwrap(),
        )
        .unwrap();
        let frame = Frame {
            seq: 0,
            id: v.version_id,
            audience: route.to_vec(),
            ciphertext: sealed.ciphertext,
        };
        self.push(&[frame]).unwrap()
    }

    /// Pulls until nothing more waits.
    pub fn pull_all(&mut self) -> Result<Vec<Frame>, NetError> {
        let mut out = Vec::new();
        loop {
            let (frames, more) = self.pull(wire::MAX_PULL)?;
            out.extend(frames);
            if !more {
                return Ok(out);
            }
        }
    }
}

/// How a raw enrollment answers the hub's challenge.
pub enum Answer<'a> {
    /// No challenge, no proof: the request of a device of before the challenge.
    NoProof,
    /// Opens the challenge with this vault identity: the device holds the key it claims.
    With(&'a age::x25519::Identity),
    /// Cannot open the challenge: answers with random bytes, and signs them.
    Guess,
}

/// Enrolls over `conn` (opened with the certificate `cert`) with the protocol's own
/// requests, claiming the vault recipient `recipient` and the signer of `signing`.
pub fn raw_enroll(
    conn: &mut Connection,
    cert: &[u8],
    token: &str,
    recipient: &str,
    signing: &DeviceKey,
    label: &str,
    answer: Answer,
) -> Result<wire::EnrollResponse, NetError> {
    let signer = signing.public();
    let proof = match answer {
        Answer::NoProof => None,
        Answer::With(_) | Answer::Guess => {
            let claim = serde_json::to_vec(&wire::EnrollClaim {
                token: token.into(),
                vault_recipient: recipient.into(),
                signer: signer.clone(),
            })
            .unwrap();
            let challenge: wire::EnrollChallenge = conn
                .request(
                    "POST",
                    "/v1/enroll/challenge",
                    Some("application/json"),
                    &claim,
                )?
                .json()?;
            let secret = match answer {
                Answer::With(identity) => {
                    let sealed = wire::unb64(&challenge.sealed).unwrap();
                    age::decrypt(identity, &sealed).expect("the challenge opens with the vault key")
                }
                _ => {
                    let mut guess = vec![0u8; 32];
                    getrandom::fill(&mut guess).unwrap();
                    guess
                }
            };
            let pin = wire::pin_of_cert(cert).unwrap();
            let digest = wire::enroll_digest(&secret, &pin, recipient, &signer);
            Some(wire::EnrollProof {
                ticket: challenge.ticket,
                secret: wire::b64(&secret),
                signature: wire::b64(&signing.sign_bytes(&digest)),
            })
        }
    };
    let body = serde_json::to_vec(&wire::EnrollRequest {
        token: token.into(),
        vault_recipient: recipient.into(),
        signer,
        label: label.into(),
        proof,
    })
    .unwrap();
    conn.request("POST", "/v1/enroll", Some("application/json"), &body)?
        .json()
}

/// A new object for `audience`, of `len` random bytes.
pub fn random_frame(audience: &str, len: usize) -> Frame {
    let mut ciphertext = vec![0u8; len];
    getrandom::fill(&mut ciphertext).unwrap();
    Frame {
        seq: 0,
        id: Uuid::new_v4(),
        audience: vec![audience.to_owned()],
        ciphertext,
    }
}

// ----- a private PostgreSQL server (scripts/postgres.sh) -----
