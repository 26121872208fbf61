//! The hub as a real process on loopback: `custos-hub serve` in a temporary folder, its
//! admin commands, and a small pinned mutual-TLS client.
//!
//! Most tests run on the embedded store; those listed in `on_both_backends!` run twice:
//! on it (`sled::…`) and on PostgreSQL (`pg::…`, a fresh database on the server named by
//! `CUSTOS_TEST_POSTGRES`, which scripts/test starts; without it those fail, saying how
//! to run them).

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use custos_hub::store::pg::ScratchDatabase;
use custos_wire::roster_log::{self, Change, Entry, Head};
use custos_wire::{self as wire, BundleBlob, BundleHeader, BundleWriter, Frame, Invite};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_custos-hub");

/// Generates each test twice: `sled::name` and `pg::name`. The scratch database is made
/// and dropped outside the test's runtime (the PostgreSQL client blocks).
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sled {
            $(#[test]
            fn $name() {
                super::run(super::$name(super::Backend::Sled))
            })*
        }
        mod pg {
            $(#[test]
            fn $name() {
                let backend = super::Backend::postgres();
                super::run(super::$name(backend.clone()))
            })*
        }
    };
}

/// Runs a test on a runtime like `#[tokio::test]`'s.
fn run(test: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(test)
}

on_both_backends!(
    data_and_sequence_numbers_survive_restarts,
    a_coordinator_signs_the_roster_and_the_hub_keeps_only_what_verifies,
    once_the_roster_is_signed_coordinators_come_from_it_and_invites_carry_its_key,
    once_the_roster_is_signed_a_device_that_cannot_check_it_is_told_to_update,
    a_field_device_receives_only_the_roster_entries_it_needs,
);

// ----- the hub process -----

/// Where the hub keeps its data: its folder, or a scratch PostgreSQL database (dropped
/// with the last hub using it).
#[derive(Clone)]
enum Backend {
    Sled,
    Postgres(Arc<ScratchDatabase>),
}

impl Backend {
    fn postgres() -> Backend {
        Backend::Postgres(Arc::new(ScratchDatabase::for_test()))
    }

    /// The arguments of `serve` for it.
    fn args(&self) -> Vec<String> {
        match self {
            Backend::Sled => Vec::new(),
            Backend::Postgres(db) => vec!["--postgres".into(), db.url.clone()],
        }
    }
}

/// A running `custos-hub serve`, stopped when dropped.
struct Hub {
    child: Option<Child>,
    dir: PathBuf,
    addr: SocketAddr,
    pin: String,
    _tmp: Option<tempfile::TempDir>,
    _backend: Backend,
}

impl Hub {
    fn start() -> Hub {
        Hub::start_on(&Backend::Sled)
    }

    fn start_on(backend: &Backend) -> Hub {
        let tmp = tempfile::tempdir().unwrap();
        let mut hub = Hub::start_in_on(&tmp.path().join("hub"), backend);
        hub._tmp = Some(tmp);
        hub
    }

    fn start_in_on(dir: &Path, backend: &Backend) -> Hub {
        std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.with_extension("log"))
            .unwrap();
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(dir)
            .args(backend.args())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let addr = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .parse()
            .unwrap();
        let second = lines.next().unwrap().unwrap();
        let pin = second.strip_prefix("pin ").unwrap().to_string();
        assert!(wire::is_pin(&pin), "{pin}");
        // Nothing else is printed; keep reading so the pipe never fills.
        std::thread::spawn(move || for _ in lines {});
        Hub {
            child: Some(child),
            dir: dir.to_path_buf(),
            addr,
            pin,
            _tmp: None,
            _backend: backend.clone(),
        }
    }

    /// Runs an admin command on this hub's folder.
    fn cli(&self, args: &[&str]) -> Output {
        cli(&self.dir, args)
    }

    /// Runs an admin command that must succeed; its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "custos-hub {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn invite(&self, role: &str, expires: &str) -> Invite {
        let line = self.ok(&["invite", "--role", role, "--expires", expires]);
        assert_eq!(line.lines().count(), 1, "{line}");
        let invite = Invite::decode(&line).unwrap();
        assert_eq!(invite.pin, self.pin);
        assert_eq!(invite.hub, self.addr.to_string());
        invite
    }

    /// Stops with SIGTERM and checks the hub exits cleanly.
    fn stop(&mut self) {
        let mut child = self.child.take().unwrap();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let status = child.wait().unwrap();
        assert!(status.success(), "the hub exited with {status}");
        assert!(!self.dir.join("admin.sock").exists());
    }

    /// Kills the process without warning.
    fn kill(&mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    fn client(&self, device: Option<&Device>) -> Client {
        Client {
            addr: self.addr,
            config: client_config(&self.pin, device),
        }
    }

    /// Enrolls a new device with a fresh invite.
    async fn enroll(&self, role: &str, label: &str) -> Device {
        self.enroll_as(role, Device::new(label)).await
    }

    /// Enrolls `device` with a fresh invite.
    async fn enroll_as(&self, role: &str, mut device: Device) -> Device {
        let invite = self.invite(role, "1h");
        let client = self.client(Some(&device));
        let body = device.enroll_body(&client, &invite.token).await;
        let r = client.json("POST", "/v1/enroll", &body).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        assert_eq!(v["role"], role);
        assert_eq!(v["hub_recipient"], invite.hub_recipient);
        device.id = v["device_id"].as_str().unwrap().parse().unwrap();
        device
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn cli(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--data")
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

// ----- a device -----

/// A device's keys: TLS certificate, vault recipient, signing key.
struct Device {
    id: Uuid,
    label: String,
    cert: CertificateDer<'static>,
    key: Vec<u8>,
    vault: age::x25519::Identity,
    signing: ed25519_dalek::SigningKey,
}

impl Device {
    fn new(label: &str) -> Device {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["device".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).unwrap();
        Device {
            id: Uuid::nil(),
            label: label.into(),
            cert: cert.der().clone(),
            key: key.serialize_der(),
            vault: age::x25519::Identity::generate(),
            signing: ed25519_dalek::SigningKey::from_bytes(&secret),
        }
    }

    fn recipient(&self) -> String {
        self.vault.to_public().to_string()
    }

    fn signer(&self) -> String {
        STANDARD_NO_PAD.encode(self.signing.verifying_key().as_bytes())
    }

    /// The claim of this device's keys, for `/v1/enroll/challenge`.
    fn claim(&self, token: &str) -> Value {
        json!({
            "token": token,
            "vault_recipient": self.recipient(),
            "signer": self.signer(),
        })
    }

    /// The answer to a challenge: the secret opened with the vault key, and signed.
    fn proof(&self, challenge: &Value) -> Value {
        use ed25519_dalek::Signer;
        let sealed = wire::unb64(challenge["sealed"].as_str().unwrap()).unwrap();
        let secret = age::decrypt(&self.vault, &sealed).unwrap();
        let pin = wire::pin_of_cert(&self.cert).unwrap();
        let digest = wire::enroll_digest(&secret, &pin, &self.recipient(), &self.signer());
        json!({
            "ticket": challenge["ticket"],
            "secret": wire::b64(&secret),
            "signature": wire::b64(&self.signing.sign(&digest).to_bytes()),
        })
    }

    /// An enrollment request with the answer to the hub's challenge, asked over
    /// `client` (none when the hub gives no challenge there, e.g. without a
    /// certificate).
    async fn enroll_body(&self, client: &Client, token: &str) -> Value {
        let mut body = self.claim(token);
        body["label"] = json!(self.label);
        let r = client
            .json("POST", "/v1/enroll/challenge", &self.claim(token))
            .await;
        if r.status == 200 {
            body["proof"] = self.proof(&r.json());
        }
        body
    }
}

/// An object encrypted (as far as the hub can tell) to `audience`.
fn object(audience: &[&Device], coordinators: &[String], bytes: usize) -> Frame {
    let mut ciphertext = vec![0u8; bytes];
    getrandom::fill(&mut ciphertext).unwrap();
    Frame {
        seq: 0,
        id: Uuid::new_v4(),
        audience: audience
            .iter()
            .map(|d| d.recipient())
            .chain(coordinators.iter().cloned())
            .collect(),
        ciphertext,
    }
}

// ----- a pinned TLS client -----

#[derive(Debug)]
struct PinnedHub {
    pin: String,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedHub {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if wire::pin_of_cert(end_entity).as_deref() == Some(self.pin.as_str()) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("not the pinned hub".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("TLS 1.3 only".into()))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn client_config(pin: &str, device: Option<&Device>) -> Arc<ClientConfig> {
    let provider = Arc::new(ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedHub {
            pin: pin.into(),
            provider,
        }));
    let config = match device {
        None => builder.with_no_client_auth(),
        Some(d) => builder
            .with_client_auth_cert(
                vec![d.cert.clone()],
                PrivateKeyDer::Pkcs8(d.key.clone().into()),
            )
            .unwrap(),
    };
    Arc::new(config)
}

struct Resp {
    status: u16,
    headers: hyper::HeaderMap,
    body: Vec<u8>,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON ({}): {}", self.status, self.text()))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The error code of an error answer.
    fn code(&self) -> String {
        let v = self.json();
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
        v["error"].as_str().unwrap().to_string()
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).unwrap().to_str().unwrap()
    }
}

struct Client {
    addr: SocketAddr,
    config: Arc<ClientConfig>,
}

/// One kept-alive connection.
struct Conn {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

impl Client {
    async fn tls(&self) -> tokio_rustls::client::TlsStream<TcpStream> {
        let tcp = TcpStream::connect(self.addr).await.unwrap();
        tokio_rustls::TlsConnector::from(self.config.clone())
            .connect(ServerName::try_from("custos-hub").unwrap(), tcp)
            .await
            .unwrap()
    }

    async fn connect(&self) -> Conn {
        let tls = self.tls().await;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .unwrap();
        tokio::spawn(conn);
        Conn { sender }
    }

    async fn call(&self, method: &str, path: &str, body: Vec<u8>, ctype: &str) -> Resp {
        self.connect().await.send(method, path, body, ctype).await
    }

    /// As a device of before the signed roster: without `custos-signed-roster`.
    async fn call_old(&self, method: &str, path: &str, body: Vec<u8>, ctype: &str) -> Resp {
        self.connect()
            .await
            .send_as(method, path, body, ctype, false)
            .await
    }

    async fn get(&self, path: &str) -> Resp {
        self.call("GET", path, Vec::new(), "application/json").await
    }

    async fn json(&self, method: &str, path: &str, body: &Value) -> Resp {
        self.call(
            method,
            path,
            serde_json::to_vec(body).unwrap(),
            "application/json",
        )
        .await
    }

    async fn push(&self, frames: &[Frame]) -> Resp {
        self.call(
            "POST",
            "/v1/objects",
            wire::encode_frames(frames).unwrap(),
            wire::FRAMES_TYPE,
        )
        .await
    }

    /// Pulls one page: (frames, next, more).
    async fn pull(&self, since: u64, limit: usize) -> (Vec<Frame>, u64, bool) {
        let r = self
            .get(&format!("/v1/objects?since={since}&limit={limit}"))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.header("content-type"), wire::FRAMES_TYPE);
        let frames = wire::decode_frames(&r.body).unwrap();
        let next = r.header("custos-next").parse().unwrap();
        let more = match r.header("custos-more") {
            "true" => true,
            "false" => false,
            other => panic!("custos-more: {other}"),
        };
        (frames, next, more)
    }

    /// Pulls everything after `since`.
    async fn pull_all(&self, since: u64) -> Vec<Frame> {
        let (mut all, mut since) = (Vec::new(), since);
        loop {
            let (frames, next, more) = self.pull(since, 500).await;
            all.extend(frames);
            since = next;
            if !more {
                return all;
            }
        }
    }
}

impl Conn {
    async fn send(&mut self, method: &str, path: &str, body: Vec<u8>, ctype: &str) -> Resp {
        self.send_as(method, path, body, ctype, true).await
    }

    /// `current`: as a device that checks the signed roster (it says so in a header).
    async fn send_as(
        &mut self,
        method: &str,
        path: &str,
        body: Vec<u8>,
        ctype: &str,
        current: bool,
    ) -> Resp {
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "custos-hub")
            .header("content-type", ctype);
        if current {
            req = req.header("custos-signed-roster", "1");
        }
        let req = req.body(Full::new(Bytes::from(body))).unwrap();
        let resp = self.sender.send_request(req).await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Resp {
            status,
            headers,
            body,
        }
    }
}

fn ids(frames: &[Frame]) -> Vec<Uuid> {
    frames.iter().map(|f| f.id).collect()
}

// ----- the tests -----

/// A device proves that it holds the vault key and the signing key it enrolls with; a
/// claim of someone else's key, a signature by another key, a proof made for another
/// certificate or a changed ticket is refused, and none of them uses the invite.
#[tokio::test]
async fn enrollment_needs_proof_of_both_keys() {
    let hub = Hub::start();
    let colleague = hub.enroll("field", "colleague").await;
    let a = Device::new("a");
    let ca = hub.client(Some(&a));
    let invite = hub.invite("field", "1h");
    let refused = |r: Resp, status: u16, code: &str| {
        assert_eq!(
            (r.status, r.code()),
            (status, code.to_string()),
            "{}",
            r.text()
        );
        r.json()["message"].as_str().unwrap().to_string()
    };

    // A device of before the challenge.
    let mut old = a.claim(&invite.token);
    old["label"] = json!("old");
    let message = refused(
        ca.json("POST", "/v1/enroll", &old).await,
        400,
        "update_needed",
    );
    assert!(message.contains("Update the app"), "{message}");

    // The colleague's vault recipient, with a's signer: the secret is sealed to the
    // colleague's key, which a does not hold.
    let mut claim = a.claim(&invite.token);
    claim["vault_recipient"] = json!(colleague.recipient());
    let challenge = ca.json("POST", "/v1/enroll/challenge", &claim).await.json();
    let sealed = wire::unb64(challenge["sealed"].as_str().unwrap()).unwrap();
    assert!(age::decrypt(&a.vault, &sealed).is_err());
    assert!(age::decrypt(&colleague.vault, &sealed).is_ok());
    let mut body = claim.clone();
    body["label"] = json!("insider");
    body["proof"] = json!({
        "ticket": challenge["ticket"],
        "secret": wire::b64(&[7u8; 32]),
        "signature": wire::b64(&[0u8; 64]),
    });
    let message = refused(
        ca.json("POST", "/v1/enroll", &body).await,
        403,
        "proof_failed",
    );
    assert!(message.contains("not used"), "{message}");

    // The right secret, signed by another key than the one claimed.
    let mut body = a.enroll_body(&ca, &invite.token).await;
    body["signer"] = json!(colleague.signer());
    refused(
        ca.json("POST", "/v1/enroll", &body).await,
        403,
        "proof_failed",
    );

    // A proof made over another certificate's connection.
    let b = Device::new("b");
    let cb = hub.client(Some(&b));
    let body = a.enroll_body(&cb, &invite.token).await;
    refused(
        ca.json("POST", "/v1/enroll", &body).await,
        403,
        "proof_failed",
    );

    // A ticket whose expiry was moved.
    let mut body = a.enroll_body(&ca, &invite.token).await;
    let ticket = wire::unb64(body["proof"]["ticket"].as_str().unwrap()).unwrap();
    let mut ticket: Value = serde_json::from_slice(&ticket).unwrap();
    ticket["expires"] = json!(ticket["expires"].as_i64().unwrap() + 86_400);
    body["proof"]["ticket"] = json!(wire::b64(&serde_json::to_vec(&ticket).unwrap()));
    refused(
        ca.json("POST", "/v1/enroll", &body).await,
        403,
        "proof_failed",
    );
    let mut body = a.enroll_body(&ca, &invite.token).await;
    body["proof"]["ticket"] = json!("not a ticket");
    refused(ca.json("POST", "/v1/enroll", &body).await, 400, "malformed");

    // None of it used the invite; the devices list has only the colleague.
    let r = ca
        .json(
            "POST",
            "/v1/enroll",
            &a.enroll_body(&ca, &invite.token).await,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let listed = hub.ok(&["devices", "list"]);
    assert!(
        !listed.contains("insider") && !listed.contains("old"),
        "{listed}"
    );
    assert!(listed.contains(&colleague.id.to_string()), "{listed}");
}

#[tokio::test]
async fn health_api_description_and_enrollment() {
    let hub = Hub::start();
    let anon = hub.client(None);
    // Health and the API description are for enrolled devices (a stranger gets nothing:
    // a_stranger_reaches_only_enrollment_and_learns_no_name).
    let first = hub.enroll("field", "first").await;
    let known = hub.client(Some(&first));
    let r = known.get("/v1/health").await;
    assert_eq!(
        (r.status, r.json()),
        (200, json!({"status": "ok", "api": 1}))
    );
    let r = known.get("/v1/openapi.json").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["openapi"], "3.1.0");
    assert_eq!(r.header("content-type"), "application/json");
    assert!(anon
        .try_call("GET", "/v1/roster", Vec::new())
        .await
        .is_none());
    let r = known.get("/v1/nothing-here").await;
    assert_eq!((r.status, r.code()), (404, "not_found".into()));
    let r = known.call("DELETE", "/v1/health", Vec::new(), "").await;
    assert_eq!(r.status, 405);
    assert_eq!(r.code(), "malformed");

    // Failed and stalled handshakes do not stop the hub.
    let mut garbage = TcpStream::connect(hub.addr).await.unwrap();
    garbage.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    let _silent = TcpStream::connect(hub.addr).await.unwrap();
    let other_hub = client_config(&format!("sha256:{}", "0".repeat(64)), None);
    let tcp = TcpStream::connect(hub.addr).await.unwrap();
    let refused = tokio_rustls::TlsConnector::from(other_hub)
        .connect(ServerName::try_from("custos-hub").unwrap(), tcp)
        .await;
    assert!(
        refused.is_err(),
        "a client pinning another key must not connect"
    );
    assert_eq!(known.get("/v1/health").await.status, 200);

    // An invite names the address the hub listens on, or the one given.
    let line = hub.ok(&["invite", "--address", "hub.example.org:443"]);
    let named = Invite::decode(&line).unwrap();
    assert_eq!(
        (named.hub.as_str(), named.role.as_str()),
        ("hub.example.org:443", "field")
    );
    assert!(!hub.cli(&["invite", "--expires", "soon"]).status.success());
    assert!(!hub
        .cli(&["invite", "--address", "no-port"])
        .status
        .success());
    assert!(!hub
        .cli(&["coordinators", "add", "age1nope"])
        .status
        .success());

    let a = Device::new("field phone");
    let invite = hub.invite("field", "1h");
    assert_eq!(invite.role, wire::Role::Field);
    assert!(invite.coordinators.is_empty());

    // Enrollment needs a certificate on the connection.
    let r = anon
        .json(
            "POST",
            "/v1/enroll",
            &a.enroll_body(&anon, &invite.token).await,
        )
        .await;
    assert_eq!((r.status, r.code()), (401, "not_enrolled".into()));
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("certificate"));

    let ca = hub.client(Some(&a));
    let r = ca
        .json(
            "POST",
            "/v1/enroll",
            &a.enroll_body(&ca, "nope-nope-nope-nope").await,
        )
        .await;
    assert_eq!((r.status, r.code()), (401, "invalid_invite".into()));
    let mut bad = a.enroll_body(&ca, &invite.token).await;
    bad["vault_recipient"] = json!("age1notakey");
    let r = ca.json("POST", "/v1/enroll", &bad).await;
    assert_eq!((r.status, r.code()), (400, "malformed".into()));
    let r = ca
        .call(
            "POST",
            "/v1/enroll",
            b"{not json".to_vec(),
            "application/json",
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "malformed".into()));

    let r = ca
        .json(
            "POST",
            "/v1/enroll",
            &a.enroll_body(&ca, &invite.token).await,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let first = r.json();
    assert_eq!(first["role"], "field");
    // A retry after a lost answer: the same device.
    let r = ca
        .json(
            "POST",
            "/v1/enroll",
            &a.enroll_body(&ca, &invite.token).await,
        )
        .await;
    assert_eq!((r.status, r.json()), (200, first.clone()));
    // Another certificate with the same token.
    let b = Device::new("other");
    let cb = hub.client(Some(&b));
    let r = cb
        .json(
            "POST",
            "/v1/enroll",
            &b.enroll_body(&cb, &invite.token).await,
        )
        .await;
    assert_eq!((r.status, r.code()), (410, "invite_used".into()));

    // An expired invite.
    let late = hub.invite("field", "1s");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let r = cb
        .json("POST", "/v1/enroll", &b.enroll_body(&cb, &late.token).await)
        .await;
    assert_eq!((r.status, r.code()), (410, "invite_expired".into()));

    // A certificate the hub does not know: no answer but enrollment's.
    let r = hub
        .client(Some(&b))
        .try_call("GET", "/v1/roster", Vec::new())
        .await;
    assert!(r.is_none());

    // The roster and the device list.
    let r = ca.get("/v1/roster").await;
    assert_eq!(r.status, 200);
    let roster = r.json();
    assert_eq!(roster["hub_recipient"], invite.hub_recipient);
    let devices = roster["devices"].as_array().unwrap();
    let devices: Vec<&Value> = devices
        .iter()
        .filter(|d| d["device_id"] == first["device_id"])
        .collect();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0]["signer"], a.signer());
    assert_eq!(devices[0]["vault_recipient"], a.recipient());
    assert_eq!(devices[0]["label"], "field phone");
    assert_eq!(devices[0]["revoked"], false);
    let list = hub.ok(&["devices", "list"]);
    assert!(
        list.contains(first["device_id"].as_str().unwrap()),
        "{list}"
    );
    assert!(
        list.contains("field phone") && list.contains("field"),
        "{list}"
    );

    // Nothing secret in the log.
    let log = std::fs::read_to_string(hub.dir.with_extension("log")).unwrap();
    assert!(!log.contains(&invite.token) && !log.contains("AGE-SECRET-KEY"));
}

#[tokio::test]
async fn push_and_pull_follow_the_audience() {
    let hub = Hub::start();
    let coordinator_key = age::x25519::Identity::generate().to_public().to_string();
    hub.ok(&["coordinators", "add", &coordinator_key]);
    assert_eq!(hub.ok(&["coordinators", "list"]).trim(), coordinator_key);
    let a = hub.enroll("field", "a").await;
    let b = hub.enroll("field", "b").await;
    let c = hub.enroll("coordinator", "c").await;
    let coords = vec![coordinator_key.clone()];
    let (ca, cb, cc) = (
        hub.client(Some(&a)),
        hub.client(Some(&b)),
        hub.client(Some(&c)),
    );

    // A writes one object for itself and one shared with B.
    let mine = object(&[&a], &coords, 300);
    let shared = object(&[&a, &b], &coords, 5000);
    let r = ca.push(&[mine.clone(), shared.clone()]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"stored": 2, "existing": 0, "rejected": []})
    );

    // B gets only the shared one; the coordinator gets both; A nothing of its own.
    let got = cb.pull_all(0).await;
    assert_eq!(ids(&got), vec![shared.id]);
    assert_eq!(got[0].ciphertext, shared.ciphertext);
    assert_eq!(got[0].audience, shared.audience);
    let all = cc.pull_all(0).await;
    assert_eq!(ids(&all), vec![mine.id, shared.id]);
    let (s1, s2) = (all[0].seq, all[1].seq);
    assert!(0 < s1 && s1 < s2 && got[0].seq == s2);
    // The cursor moves past what A may not receive too.
    let (none, next, more) = ca.pull(0, 500).await;
    assert!(none.is_empty());
    assert_eq!((next, more), (s2, false));

    // B's answer goes to A and the coordinator, not back to B.
    let reply = object(&[&a, &b], &coords, 10);
    assert_eq!(cb.push(std::slice::from_ref(&reply)).await.status, 200);
    assert_eq!(ids(&ca.pull_all(s2).await), vec![reply.id]);
    assert!(cb.pull_all(s2).await.is_empty());

    // Paging.
    let (page, next, more) = cc.pull(0, 1).await;
    assert_eq!((ids(&page), next, more), (vec![mine.id], s1, true));
    let (page, next, more) = cc.pull(next, 1).await;
    assert_eq!((ids(&page), next, more), (vec![shared.id], s2, true));
    let (page, next, more) = cc.pull(next, 1).await;
    assert_eq!((ids(&page), more), (vec![reply.id], false));
    let s3 = next;
    assert!(s3 > s2 && page[0].seq == s3);
    let (page, next, more) = cc.pull(next, 1).await;
    assert_eq!((page.len(), next, more), (0, s3, false));
    for q in ["limit=0", "limit=1001", "since=x", "since=-1"] {
        let r = cc.get(&format!("/v1/objects?{q}")).await;
        assert_eq!((r.status, r.code()), (400, "malformed".into()), "{q}");
    }

    // Idempotent re-push; another object under a taken id is rejected, the rest stored.
    let r = ca.push(&[mine.clone(), shared.clone()]).await;
    assert_eq!(
        r.json(),
        json!({"stored": 0, "existing": 2, "rejected": []})
    );
    let mut forged = mine.clone();
    forged.ciphertext[0] ^= 1;
    let fresh = object(&[&b], &coords, 20);
    let r = cb.push(&[forged.clone(), fresh.clone()]).await;
    assert_eq!(
        r.json(),
        json!({"stored": 1, "existing": 0, "rejected": [{"id": forged.id, "error": "id_taken"}]})
    );
    let got = cc.pull_all(s3).await;
    assert_eq!(ids(&got), vec![fresh.id]);
    let s4 = got[0].seq;
    assert!(s4 > s3);
    // The original is untouched.
    assert_eq!(cc.pull_all(0).await[0].ciphertext, mine.ciphertext);

    // Malformed frames: 400, nothing stored, and the hub serves others meanwhile.
    let good = wire::encode_frames(&[object(&[&a], &coords, 50)]).unwrap();
    let mut cut = good.clone();
    cut.extend_from_slice(&wire::encode_frames(&[object(&[&a], &coords, 50)]).unwrap());
    cut.truncate(cut.len() - 3);
    let mut no_audience = good.clone();
    no_audience[24..26].copy_from_slice(&0u16.to_be_bytes());
    for body in [cut, no_audience, b"garbage".to_vec()] {
        let (r, other) = tokio::join!(
            ca.call("POST", "/v1/objects", body, wire::FRAMES_TYPE),
            cb.get("/v1/roster")
        );
        assert_eq!((r.status, r.code()), (400, "malformed".into()));
        assert_eq!(other.status, 200);
    }
    assert!(cc.pull_all(s4).await.is_empty());
    // An empty push stores nothing and is fine.
    let r = ca.push(&[]).await;
    assert_eq!(
        r.json(),
        json!({"stored": 0, "existing": 0, "rejected": []})
    );
}

/// Sends a request head declaring `len` bytes; returns the status line the hub answers
/// with, if any, after sending at most `send` bytes of body.
async fn oversized(client: &Client, head: &str, send: usize) -> Option<String> {
    let mut tls = client.tls().await;
    tls.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![0u8; 1 << 20];
    let mut sent = 0;
    while sent < send {
        if tls.write_all(&chunk).await.is_err() {
            break;
        }
        sent += chunk.len();
    }
    let _ = tls.flush().await;
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), tls.read(&mut answer))
        .await
        .ok()?
        .ok()?;
    let text = String::from_utf8_lossy(&answer[..n]).into_owned();
    text.lines().next().map(str::to_string)
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused() {
    let hub = Hub::start();
    let a = hub.enroll("field", "a").await;
    let ca = hub.client(Some(&a));
    let big = wire::MAX_BODY + 1;

    // A declared length above the limit: 413 before a byte of the body is read.
    let head = format!(
        "POST /v1/objects HTTP/1.1\r\nhost: hub\r\ncontent-type: {}\r\ncontent-length: {big}\r\n\
         expect: 100-continue\r\n\r\n",
        wire::FRAMES_TYPE
    );
    let status = oversized(&ca, &head, 0).await;
    assert_eq!(status.as_deref(), Some("HTTP/1.1 413 Payload Too Large"));

    // The same, with the body sent anyway (a client that writes before it reads): the
    // hub reads it to the end without keeping it, and answers 413.
    let head = head.replace("expect: 100-continue\r\n", "");
    let status = oversized(&ca, &head, big).await;
    assert_eq!(status.as_deref(), Some("HTTP/1.1 413 Payload Too Large"));
    // No declared length (chunked): refused once the limit is passed.
    let head = format!(
        "POST /v1/objects HTTP/1.1\r\nhost: hub\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n",
        big + (1 << 20)
    );
    let status = oversized(&ca, &head, big + (1 << 20)).await;
    assert_eq!(status.as_deref(), Some("HTTP/1.1 413 Payload Too Large"));
    // Far above the limit: refused at once, the connection closed.
    let head = format!(
        "POST /v1/objects HTTP/1.1\r\nhost: hub\r\ncontent-length: {}\r\n\r\n",
        1u64 << 40
    );
    let status = oversized(&ca, &head, 0).await;
    assert_eq!(status.as_deref(), Some("HTTP/1.1 413 Payload Too Large"));
    // A blob chunk above 4 MiB.
    let id = Uuid::new_v4();
    let r = ca
        .json(
            "POST",
            &format!("/v1/blobs/{id}"),
            &json!({"size": 10 << 20, "sha256": "0".repeat(64), "audience": [a.recipient()]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = ca
        .call(
            "PUT",
            &format!("/v1/blobs/{id}/0"),
            vec![0u8; wire::BLOB_CHUNK + 1],
            "application/octet-stream",
        )
        .await;
    assert_eq!((r.status, r.code()), (413, "too_large".into()));

    // The hub still serves, and stored nothing.
    let r = ca.get("/v1/health").await;
    assert_eq!(r.status, 200);
    let c = hub.enroll("coordinator", "c").await;
    assert!(hub.client(Some(&c)).pull_all(0).await.is_empty());
}

#[tokio::test]
async fn a_revoked_device_is_refused_at_once_even_on_an_open_connection() {
    let hub = Hub::start();
    let a = hub.enroll("field", "a").await;
    let b = hub.enroll("field", "b").await;
    let mut conn = hub.client(Some(&a)).connect().await;
    let r = conn.send("GET", "/v1/roster", Vec::new(), "").await;
    assert_eq!(r.status, 200);

    let out = hub.cli(&["devices", "revoke", "not-an-id"]);
    assert!(!out.status.success());
    let out = hub.cli(&["devices", "revoke", &Uuid::new_v4().to_string()]);
    assert!(!out.status.success());
    let said = hub.ok(&["devices", "revoke", &a.id.to_string()]);
    assert!(said.contains(&a.id.to_string()), "{said}");

    let r = conn.send("GET", "/v1/roster", Vec::new(), "").await;
    assert_eq!((r.status, r.code()), (403, "revoked".into()));
    let r = hub.client(Some(&a)).push(&[object(&[&b], &[], 10)]).await;
    assert_eq!((r.status, r.code()), (403, "revoked".into()));
    // Others go on; the roster shows the revocation (to a coordinator: a field device
    // sees only its own vault's devices and the coordinators').
    let c = hub.enroll("coordinator", "c").await;
    assert_eq!(hub.client(Some(&b)).get("/v1/roster").await.status, 200);
    let r = hub.client(Some(&c)).get("/v1/roster").await;
    let roster = r.json();
    let gone = roster["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["device_id"] == a.id.to_string())
        .unwrap();
    assert_eq!(gone["revoked"], true);
    let list = hub.ok(&["devices", "list"]);
    let line = list
        .lines()
        .find(|l| l.contains(&a.id.to_string()))
        .unwrap();
    assert!(line.trim_end().ends_with("yes"), "{line}");
}

#[tokio::test]
async fn blobs_upload_in_chunks_resume_and_download() {
    let hub = Hub::start();
    let a = hub.enroll("field", "a").await;
    let b = hub.enroll("field", "b").await;
    let c = hub.enroll("coordinator", "c").await;
    let (ca, cb, cc) = (
        hub.client(Some(&a)),
        hub.client(Some(&b)),
        hub.client(Some(&c)),
    );
    let mut data = vec![0u8; 300_000];
    getrandom::fill(&mut data).unwrap();
    let sha = wire::hex(&Sha256::digest(&data));
    let id = Uuid::new_v4();
    let path = format!("/v1/blobs/{id}");
    let announce = json!({"size": data.len(), "sha256": sha, "audience": [a.recipient()]});

    let r = ca.get(&path).await;
    assert_eq!((r.status, r.code()), (404, "not_found".into()));
    let r = ca.json("PUT", &format!("{path}/0"), &json!({})).await;
    assert_eq!((r.status, r.code()), (404, "not_found".into()));
    let r = ca.json("POST", &path, &announce).await;
    assert_eq!(r.json(), json!({"received": 0, "complete": false}));
    // Announced again: the same state; with another hash: a conflict.
    assert_eq!(ca.json("POST", &path, &announce).await.status, 200);
    let mut other = announce.clone();
    other["sha256"] = json!("1".repeat(64));
    let r = ca.json("POST", &path, &other).await;
    assert_eq!((r.status, r.code()), (409, "blob_mismatch".into()));
    let mut bad = announce.clone();
    bad["sha256"] = json!("xyz");
    let r = ca
        .json("POST", &format!("/v1/blobs/{}", Uuid::new_v4()), &bad)
        .await;
    assert_eq!((r.status, r.code()), (400, "malformed".into()));
    let r = ca.json("POST", "/v1/blobs/not-a-uuid", &announce).await;
    assert_eq!((r.status, r.code()), (400, "malformed".into()));

    let put = |offset: usize, bytes: &[u8]| {
        let (path, bytes) = (format!("{path}/{offset}"), bytes.to_vec());
        let ca = &ca;
        async move {
            ca.call("PUT", &path, bytes, "application/octet-stream")
                .await
        }
    };
    let r = put(0, &data[..100_000]).await;
    assert_eq!(r.json(), json!({"received": 100_000, "complete": false}));
    // A chunk at the wrong offset (as after a lost answer): 409 with what the hub has.
    let r = put(0, &data[..100_000]).await;
    assert_eq!((r.status, r.code()), (409, "offset_mismatch".into()));
    assert!(r.json()["message"].as_str().unwrap().contains("100000"));
    let r = put(150_000, &data[150_000..]).await;
    assert_eq!(r.status, 409);
    // Resume from the state.
    let r = ca.get(&path).await;
    assert_eq!(
        r.json(),
        json!({"size": data.len(), "sha256": sha, "received": 100_000, "complete": false})
    );
    // Not downloadable before it is complete; not visible to B at all.
    let r = cc.get(&format!("{path}/data")).await;
    assert_eq!(r.status, 404);
    assert_eq!(cb.get(&path).await.status, 404);
    // Past the end.
    let mut long = data[100_000..].to_vec();
    long.push(0);
    let r = put(100_000, &long).await;
    assert_eq!((r.status, r.code()), (400, "malformed".into()));
    let r = put(100_000, &data[100_000..]).await;
    assert_eq!(r.json(), json!({"received": data.len(), "complete": true}));
    assert!(hub.dir.join("blobs").join(id.to_string()).exists());
    assert!(!hub.dir.join("blobs").join(format!("{id}.part")).exists());

    // Download ranges: the coordinator and the uploader; not B.
    let r = cc.get(&format!("{path}/data?offset=1000&len=5000")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, &data[1000..6000]);
    let r = ca.get(&format!("{path}/data")).await;
    assert_eq!(r.body, data);
    let r = cc.get(&format!("{path}/data?offset=299000&len=5000")).await;
    assert_eq!(r.body, &data[299_000..]);
    let r = cc.get(&format!("{path}/data?offset=300001")).await;
    assert_eq!(r.status, 400);
    let r = cb.get(&format!("{path}/data")).await;
    assert_eq!((r.status, r.code()), (404, "not_found".into()));

    // A blob whose bytes do not match the announced hash is discarded.
    let id2 = Uuid::new_v4();
    let path2 = format!("/v1/blobs/{id2}");
    let wrong = json!({"size": 1000, "sha256": sha, "audience": [b.recipient()]});
    assert_eq!(cb.json("POST", &path2, &wrong).await.status, 200);
    let r = cb
        .call(
            "PUT",
            &format!("{path2}/0"),
            vec![7u8; 1000],
            "application/octet-stream",
        )
        .await;
    assert_eq!((r.status, r.code()), (422, "blob_hash_mismatch".into()));
    assert_eq!(cb.get(&path2).await.status, 404);
    assert!(std::fs::read_dir(hub.dir.join("blobs")).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with(&id2.to_string())));
    // And can be announced and uploaded again.
    let right = vec![7u8; 1000];
    let fixed = json!({"size": 1000, "sha256": wire::hex(&Sha256::digest(&right)), "audience": [b.recipient()]});
    assert_eq!(cb.json("POST", &path2, &fixed).await.status, 200);
    let r = cb
        .call(
            "PUT",
            &format!("{path2}/0"),
            right,
            "application/octet-stream",
        )
        .await;
    assert_eq!(r.json(), json!({"received": 1000, "complete": true}));
}

/// Stopped (cleanly, on either store), killed, started again: what was answered is
/// kept, and sequence numbers go on above it.
async fn data_and_sequence_numbers_survive_restarts(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hub");
    let mut hub = Hub::start_in_on(&dir, &backend);
    let pin = hub.pin.clone();
    let a = hub.enroll("field", "a").await;
    let c = hub.enroll("coordinator", "c").await;
    let first = [object(&[&a], &[], 10), object(&[&a], &[], 20)];
    assert_eq!(hub.client(Some(&a)).push(&first).await.status, 200);
    // A stop does not wait for a client stalled in its handshake, nor for an idle one.
    let _stalled = TcpStream::connect(hub.addr).await.unwrap();
    let _idle = hub.client(Some(&a)).connect().await;
    let started = std::time::Instant::now();
    hub.stop();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // Admin commands work on the stopped hub too.
    let list = String::from_utf8(cli(&dir, &["devices", "list"]).stdout).unwrap();
    assert!(list.contains(&a.id.to_string()) && list.contains(&c.id.to_string()));

    let mut hub = Hub::start_in_on(&dir, &backend);
    assert_eq!(hub.pin, pin, "the pin survives a restart");
    let cc = hub.client(Some(&c));
    let got = cc.pull_all(0).await;
    assert_eq!(ids(&got), ids(&first));
    let before: Vec<u64> = got.iter().map(|f| f.seq).collect();
    let second = object(&[&a], &[], 30);
    let r = hub
        .client(Some(&a))
        .push(std::slice::from_ref(&second))
        .await;
    assert_eq!(r.json()["stored"], 1);

    // Killed without warning right after an answer: what was answered is on disk.
    hub.kill();
    let hub = Hub::start_in_on(&dir, &backend);
    let got = hub.client(Some(&c)).pull_all(0).await;
    let after: Vec<u64> = got.iter().map(|f| f.seq).collect();
    assert_eq!(after[..2], before[..]);
    assert_eq!(got[2].id, second.id);
    let r = hub.client(Some(&a)).push(&[object(&[&a], &[], 5)]).await;
    assert_eq!(r.json()["stored"], 1);
    let (page, _, _) = hub.client(Some(&c)).pull(after[2], 10).await;
    assert_eq!(page.len(), 1);
    assert!(before[0] < before[1] && before[1] < after[2] && after[2] < page[0].seq);
}

/// Writes a bundle by `device` with `frames` and `blobs`, encrypted to `recipient`;
/// `tamper` changes one byte of the plaintext after signing.
fn bundle(
    device: &Device,
    frames: &[Frame],
    blobs: &[(Uuid, Vec<u8>, Vec<String>)],
    recipient: &str,
    tamper: Option<usize>,
) -> Vec<u8> {
    let header = BundleHeader {
        device_id: device.id,
        signer: device.signer(),
        created: chrono::Utc::now(),
        objects: frames.len() as u64,
        blobs: blobs
            .iter()
            .map(|(id, bytes, audience)| BundleBlob {
                id: *id,
                size: bytes.len() as u64,
                sha256: wire::hex(&Sha256::digest(bytes)),
                audience: audience.clone(),
            })
            .collect(),
    };
    let mut w = BundleWriter::new(Vec::new(), &header).unwrap();
    w.write(&wire::encode_frames(frames).unwrap()).unwrap();
    for (_, bytes, _) in blobs {
        w.write(bytes).unwrap();
    }
    let mut plain = w
        .finish(|d| ed25519_dalek::Signer::sign(&device.signing, d).to_bytes())
        .unwrap();
    if let Some(at) = tamper {
        let at = plain.len() - at;
        plain[at] ^= 1;
    }
    let recipient: age::x25519::Recipient = recipient.parse().unwrap();
    let enc = age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
        .unwrap();
    let mut out = Vec::new();
    let mut w = enc.wrap_output(&mut out).unwrap();
    w.write_all(&plain).unwrap();
    w.finish().unwrap();
    out
}

#[tokio::test]
async fn bundles_are_imported_only_when_the_signature_verifies() {
    let mut hub = Hub::start();
    let a = hub.enroll("field", "a").await;
    let c = hub.enroll("coordinator", "c").await;
    let cc = hub.client(Some(&c));
    let hub_recipient = hub.invite("field", "1h").hub_recipient;
    let files = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = files.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p.to_str().unwrap().to_string()
    };

    let frames = [object(&[&a], &[], 100), object(&[&a], &[], 2000)];
    let blob_id = Uuid::new_v4();
    let blob_bytes = vec![42u8; 70_000];
    let blobs = [(blob_id, blob_bytes.clone(), vec![a.recipient()])];

    // Tampered anywhere (a frame, a blob byte, the signature): refused, nothing stored.
    for at in [70_000 + 64 + 50, 64 + 10, 1] {
        let f = write(
            "bad.bundle",
            &bundle(&a, &frames, &blobs, &hub_recipient, Some(at)),
        );
        let out = hub.cli(&["import", &f]);
        assert!(!out.status.success(), "tampered at -{at} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("nothing was stored"), "{err}");
    }
    // Signed by a key that is not the device's.
    let mut impostor = Device::new("x");
    impostor.id = a.id;
    let f = write(
        "impostor.bundle",
        &bundle(&impostor, &frames, &blobs, &hub_recipient, None),
    );
    assert!(!hub.cli(&["import", &f]).status.success());
    // Not addressed to this hub.
    let elsewhere = age::x25519::Identity::generate().to_public().to_string();
    let f = write(
        "elsewhere.bundle",
        &bundle(&a, &frames, &blobs, &elsewhere, None),
    );
    let out = hub.cli(&["import", &f]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not addressed to this hub"));
    assert!(cc.pull_all(0).await.is_empty());
    assert_eq!(cc.get(&format!("/v1/blobs/{blob_id}")).await.status, 404);
    assert_eq!(
        std::fs::read_dir(hub.dir.join("staging")).unwrap().count(),
        0
    );

    // A good bundle, imported while the hub runs.
    let good = write(
        "good.bundle",
        &bundle(&a, &frames, &blobs, &hub_recipient, None),
    );
    let out = hub.ok(&["import", &good]);
    assert!(out.contains("objects: 2 stored, 0 existing"), "{out}");
    assert!(out.contains("blobs: 1 stored, 0 existing"), "{out}");
    let got = cc.pull_all(0).await;
    assert_eq!(ids(&got), ids(&frames));
    assert_eq!(got[1].ciphertext, frames[1].ciphertext);
    let r = cc.get(&format!("/v1/blobs/{blob_id}/data")).await;
    assert_eq!(r.body, blob_bytes);
    // A's own objects never come back to A.
    assert!(hub.client(Some(&a)).pull_all(0).await.is_empty());

    // Again, with the hub stopped: all there already.
    hub.stop();
    let out = cli(&hub.dir, &["import", &good]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("objects: 0 stored, 2 existing"), "{text}");
    assert!(text.contains("blobs: 0 stored, 1 existing"), "{text}");

    // A revoked device's bundle is refused.
    let out = cli(&hub.dir, &["devices", "revoke", &a.id.to_string()]);
    assert!(out.status.success());
    let more = [object(&[&a], &[], 10)];
    let f = write("late.bundle", &bundle(&a, &more, &[], &hub_recipient, None));
    let out = cli(&hub.dir, &["import", &f]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("revoked"));
}

// ----- the signed roster -----

/// What `custos-hub coordinators add` says once the organisation signs its roster.
const SIGNED_ROSTER: &str = "this organisation signs its roster: a coordinator is added from a \
                             coordinator's device (custos org add-coordinator RECIPIENT), not \
                             by the hub";

/// A new Ed25519 key (an organisation's, or someone else's).
fn signing_key() -> ed25519_dalek::SigningKey {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).unwrap();
    ed25519_dalek::SigningKey::from_bytes(&secret)
}

fn recipient() -> String {
    age::x25519::Identity::generate().to_public().to_string()
}

/// The body of `POST /v1/roster/log`.
fn append(after: u64, entries: &[Entry]) -> Value {
    json!({"after": after, "entries": entries})
}

/// A device as the organisation's log names it.
fn device_entry(d: &Device, role: wire::Role) -> Change {
    Change::Device {
        device_id: d.id,
        signer: d.signer(),
        vault_recipient: d.recipient(),
        role,
        label: d.label.clone(),
    }
}

/// The signed log `GET /v1/roster` carries (none: empty).
async fn stored_log(client: &Client) -> Vec<Entry> {
    let r = client.get("/v1/roster").await;
    assert_eq!(r.status, 200, "{}", r.text());
    match r.json().get("log") {
        None => Vec::new(),
        Some(log) => serde_json::from_value(log.clone()).unwrap(),
    }
}

/// A coordinator's device creates the organisation's signed roster and appends to it;
/// the hub keeps only entries that verify with the organisation key it first stored,
/// after its last entry, from a coordinator's device; every device reads the log back as
/// signed, also after a restart.
async fn a_coordinator_signs_the_roster_and_the_hub_keeps_only_what_verifies(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hub");
    let mut hub = Hub::start_in_on(&dir, &backend);
    let c = hub.enroll("coordinator", "coordinator laptop").await;
    let f = hub.enroll("field", "field phone").await;
    let (cc, cf) = (hub.client(Some(&c)), hub.client(Some(&f)));
    let roster = cf.get("/v1/roster").await.json();
    assert!(roster.get("log").is_none(), "{roster}");

    let org = signing_key();
    let pk = org.verifying_key();
    let now = chrono::Utc::now();
    let mut log = roster_log::genesis(&org, "Observatory", now);
    let coordinator = Change::Coordinator {
        recipient: c.recipient(),
    };
    roster_log::append(&mut log, &org, coordinator, now);

    // A field device may not change the roster, even with entries the key signed.
    let r = cf.json("POST", "/v1/roster/log", &append(0, &log)).await;
    assert_eq!((r.status, r.code()), (403, "not_coordinator".into()));
    assert!(stored_log(&cc).await.is_empty());

    // A new log starts with a genesis signed by the key it names.
    let mut no_genesis = log[1..].to_vec();
    no_genesis[0].seq = 1;
    let r = cc
        .json("POST", "/v1/roster/log", &append(0, &no_genesis))
        .await;
    assert_eq!((r.status, r.code()), (400, "roster_invalid".into()));
    let mut borrowed = Vec::new();
    let genesis = Change::Genesis {
        name: "Observatory".into(),
        key: roster_log::key_text(&pk),
    };
    roster_log::append(&mut borrowed, &signing_key(), genesis, now);
    let r = cc
        .json("POST", "/v1/roster/log", &append(0, &borrowed))
        .await;
    assert_eq!((r.status, r.code()), (400, "roster_invalid".into()));
    assert!(stored_log(&cc).await.is_empty());

    // The coordinator's device creates it: genesis and coordinator.
    let r = cc.json("POST", "/v1/roster/log", &append(0, &log)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let head: Head = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        head,
        Head {
            seq: 2,
            hash: log[1].hash()
        }
    );
    for client in [&cc, &cf] {
        let got = stored_log(client).await;
        assert_eq!(got, log);
        assert_eq!(roster_log::verify(&pk, None, &got).unwrap().head, head);
    }

    // Built on another entry than the last (stale, or ahead): 409, nothing stored.
    let mut next = log.clone();
    roster_log::append(&mut next, &org, device_entry(&f, wire::Role::Field), now);
    for after in [0, 1, 3] {
        let r = cc
            .json("POST", "/v1/roster/log", &append(after, &next[2..]))
            .await;
        assert_eq!(
            (r.status, r.code()),
            (409, "roster_conflict".into()),
            "after {after}"
        );
        assert!(r.json()["message"].as_str().unwrap().contains("entry is 2"));
    }
    // A whole new organisation, as if the hub had none: it has one.
    let thief = signing_key();
    let other = roster_log::genesis(&thief, "Observatory", now);
    let r = cc.json("POST", "/v1/roster/log", &append(0, &other)).await;
    assert_eq!((r.status, r.code()), (409, "roster_conflict".into()));

    // After the last entry, but not the organisation's: 400, nothing stored.
    let refused = |entries: Vec<Entry>| {
        let cc = &cc;
        async move {
            let r = cc
                .json("POST", "/v1/roster/log", &append(2, &entries))
                .await;
            assert_eq!(
                (r.status, r.code()),
                (400, "roster_invalid".into()),
                "{}",
                r.text()
            );
            r.json()["message"].as_str().unwrap().to_string()
        }
    };
    // An entry signed by another key (the hub's operator, say).
    let mut forged = log.clone();
    let intruder = Change::Coordinator {
        recipient: recipient(),
    };
    roster_log::append(&mut forged, &thief, intruder, now);
    let said = refused(forged[2..].to_vec()).await;
    assert!(
        said.contains("entry 3 is not signed by the organisation key"),
        "{said}"
    );
    // A second genesis naming another organisation key: signed by that key, or by the
    // organisation's own.
    for signer in [&thief, &org] {
        let mut again = log.clone();
        let genesis = Change::Genesis {
            name: "Observatory".into(),
            key: roster_log::key_text(&thief.verifying_key()),
        };
        roster_log::append(&mut again, signer, genesis, now);
        refused(again[2..].to_vec()).await;
    }
    // An entry changed after it was signed.
    let mut altered = next[2..].to_vec();
    if let Change::Device { label, .. } = &mut altered[0].change {
        label.push_str(" (renamed by the hub)");
    }
    refused(altered).await;
    // An entry numbered wrong, or not linked to the last one.
    let mut renumbered = next[2..].to_vec();
    renumbered[0].seq = 4;
    refused(renumbered).await;
    let mut unlinked = next[2..].to_vec();
    unlinked[0].prev = "0".repeat(64);
    refused(unlinked).await;

    // Nothing to append, not JSON, or too large: malformed or too_large.
    let r = cc.json("POST", "/v1/roster/log", &append(2, &[])).await;
    assert_eq!((r.status, r.code()), (400, "malformed".into()));
    let r = cc
        .call(
            "POST",
            "/v1/roster/log",
            b"{not json".to_vec(),
            "application/json",
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "malformed".into()));
    let r = cc
        .json(
            "POST",
            "/v1/roster/log",
            &json!({"after": -1, "entries": []}),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "malformed".into()));
    let r = cc
        .call(
            "POST",
            "/v1/roster/log",
            vec![b' '; 65 << 10],
            "application/json",
        )
        .await;
    assert_eq!((r.status, r.code()), (413, "too_large".into()));
    assert_eq!(stored_log(&cf).await, log);

    // A revoked coordinator's device: refused as for every request.
    let gone = hub.enroll("coordinator", "lost laptop").await;
    hub.ok(&["devices", "revoke", &gone.id.to_string()]);
    let r = hub
        .client(Some(&gone))
        .json("POST", "/v1/roster/log", &append(2, &next[2..]))
        .await;
    assert_eq!((r.status, r.code()), (403, "revoked".into()));

    // The next entry, after the last: stored; every device reads it.
    let r = cc
        .json("POST", "/v1/roster/log", &append(2, &next[2..]))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"seq": 3, "hash": next[2].hash()}));
    assert_eq!(stored_log(&cf).await, next);

    // A restart keeps it.
    hub.stop();
    let hub = Hub::start_in_on(&dir, &backend);
    let got = stored_log(&hub.client(Some(&f))).await;
    assert_eq!(got, next);
    assert!(roster_log::verify(&pk, Some(&head), &got).is_ok());

    // The log names the entries appended, never their content.
    let text = std::fs::read_to_string(dir.with_extension("log")).unwrap();
    assert!(text.contains("roster entries 1 to 2 appended"), "{text}");
    assert!(text.contains("roster entry 3 appended"), "{text}");
    for content in ["Observatory", "field phone", &c.recipient(), &f.signer()] {
        assert!(!text.contains(content), "{content} in the log:\n{text}");
    }
}

/// Before the organisation signs its roster, the administrator adds coordinators and
/// invites carry no organisation key; after, `coordinators add` is refused (through the
/// running hub and on its folder) and every invite carries the key devices pin.
async fn once_the_roster_is_signed_coordinators_come_from_it_and_invites_carry_its_key(
    backend: Backend,
) {
    let mut hub = Hub::start_on(&backend);
    let first = recipient();
    hub.ok(&["coordinators", "add", &first]);
    assert_eq!(hub.invite("field", "1h").org_key, None);
    let c = hub.enroll("coordinator", "c").await;

    let org = signing_key();
    let now = chrono::Utc::now();
    let mut log = roster_log::genesis(&org, "Observatory", now);
    let coordinator = Change::Coordinator {
        recipient: c.recipient(),
    };
    roster_log::append(&mut log, &org, coordinator, now);
    let r = hub
        .client(Some(&c))
        .json("POST", "/v1/roster/log", &append(0, &log))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());

    let key = roster_log::key_text(&org.verifying_key());
    let check = |out: Output| {
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(SIGNED_ROSTER), "{err}");
    };
    check(hub.cli(&["coordinators", "add", &recipient()]));
    assert_eq!(hub.ok(&["coordinators", "list"]).trim(), first);
    let invite = hub.invite("coordinator", "1h");
    assert_eq!(invite.org_key.as_deref(), Some(key.as_str()));
    assert_eq!(invite.role, wire::Role::Coordinator);
    // The device enrolls with such an invite as before.
    let f = hub.enroll("field", "f").await;
    assert_eq!(stored_log(&hub.client(Some(&f))).await, log);

    // The same with the hub stopped (the commands open its storage themselves).
    hub.stop();
    check(cli(&hub.dir, &["coordinators", "add", &recipient()]));
    let out = cli(&hub.dir, &["invite", "--address", "hub.example.org:443"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let invite = Invite::decode(&String::from_utf8(out.stdout).unwrap()).unwrap();
    assert_eq!(invite.org_key.as_deref(), Some(key.as_str()));
}

/// Once the organisation signs its roster, a device of before (it does not say that it
/// checks the roster) is told to update instead of syncing on the hub's word; a current
/// one syncs, and every push and pull answer says where the roster stands.
async fn once_the_roster_is_signed_a_device_that_cannot_check_it_is_told_to_update(
    backend: Backend,
) {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start_in_on(&tmp.path().join("hub"), &backend);
    let c = hub.enroll("coordinator", "coordinator laptop").await;
    let f = hub.enroll("field", "field phone").await;
    let (cc, cf) = (hub.client(Some(&c)), hub.client(Some(&f)));
    let frames = wire::encode_frames(&[object(&[&f], &[], 100)]).unwrap();

    // Before: old and new devices alike; the roster stands at 0.
    let r = cf
        .call_old("POST", "/v1/objects", frames.clone(), wire::FRAMES_TYPE)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = cf.get("/v1/objects?since=0&limit=10").await;
    assert_eq!(r.header("custos-roster"), "0");

    let org = signing_key();
    let now = chrono::Utc::now();
    let mut log = roster_log::genesis(&org, "Observatory", now);
    roster_log::append(&mut log, &org, device_entry(&f, wire::Role::Field), now);
    let r = cc.json("POST", "/v1/roster/log", &append(0, &log)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let mark = roster_log::mark(&log);

    // After: the old device is told to update, on push and on pull.
    let r = cf
        .call_old("POST", "/v1/objects", frames.clone(), wire::FRAMES_TYPE)
        .await;
    assert_eq!((r.status, r.code()), (400, "update_needed".into()));
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("update Custos"));
    let r = cf
        .call_old("GET", "/v1/objects?since=0&limit=10", Vec::new(), "")
        .await;
    assert_eq!((r.status, r.code()), (400, "update_needed".into()));
    // The current one syncs, and learns where the roster stands.
    let r = cf
        .call("POST", "/v1/objects", frames, wire::FRAMES_TYPE)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("custos-roster"), mark);
    let r = cf.get("/v1/objects?since=0&limit=10").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("custos-roster"), mark);
}

// ----- the hub under abuse, and what a stranger learns -----

/// Raises this process's soft limit of open files to its hard limit: the tests below
/// hold a thousand connections, two descriptors each on loopback.
fn raise_open_files() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    limit.current = limit.maximum;
    let _ = setrlimit(Resource::Nofile, limit);
}

impl Hub {
    /// Starts a hub on the embedded store with more arguments to `serve`.
    fn start_with(args: &[&str]) -> Hub {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("hub");
        let log = std::fs::File::create(dir.with_extension("log")).unwrap();
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(&dir)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let addr = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .parse()
            .unwrap();
        let pin = lines.next().unwrap().unwrap()["pin ".len()..].to_string();
        std::thread::spawn(move || for _ in lines {});
        Hub {
            child: Some(child),
            dir,
            addr,
            pin,
            _tmp: Some(tmp),
            _backend: Backend::Sled,
        }
    }
}

impl Client {
    /// A TLS connection, or None when the hub refuses or does not answer in 5 s.
    async fn try_tls(&self) -> Option<tokio_rustls::client::TlsStream<TcpStream>> {
        let connect = async {
            let tcp = TcpStream::connect(self.addr).await.ok()?;
            tokio_rustls::TlsConnector::from(self.config.clone())
                .connect(ServerName::try_from("hub").unwrap(), tcp)
                .await
                .ok()
        };
        tokio::time::timeout(Duration::from_secs(5), connect)
            .await
            .ok()
            .flatten()
    }

    /// A request on a new connection; None when the hub closes it without an answer
    /// (or gives none in 5 s).
    async fn try_call(&self, method: &str, path: &str, body: Vec<u8>) -> Option<Resp> {
        let tls = self.try_tls().await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .ok()?;
        tokio::spawn(conn);
        let req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "hub")
            .header("content-type", "application/json")
            .header("custos-signed-roster", "1")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let answer = async {
            let resp = sender.send_request(req).await.ok()?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let body = resp.into_body().collect().await.ok()?.to_bytes().to_vec();
            Some(Resp {
                status,
                headers,
                body,
            })
        };
        tokio::time::timeout(Duration::from_secs(5), answer)
            .await
            .ok()
            .flatten()
    }
}

/// Does `bytes` name the product, in any case?
fn names_product(bytes: &[u8]) -> bool {
    String::from_utf8_lossy(bytes)
        .to_lowercase()
        .contains("custos")
}

/// One enrolled device's sync for `period`: a push of one object and a pull, again and
/// again, each on a new connection (a new handshake, as a device's sync does after a
/// pause). → (requests served, the slowest request, requests that failed).
async fn sync_for(client: &Client, to: &Device, period: Duration) -> (u64, Duration, u64) {
    let start = std::time::Instant::now();
    let (mut served, mut slowest, mut failed) = (0u64, Duration::ZERO, 0u64);
    let mut since = 0u64;
    while start.elapsed() < period {
        let frames = wire::encode_frames(&[object(&[to], &[], 200)]).unwrap();
        let t = std::time::Instant::now();
        match client.try_call("POST", "/v1/objects", frames).await {
            Some(r) if r.status == 200 => served += 1,
            _ => failed += 1,
        }
        slowest = slowest.max(t.elapsed());
        let t = std::time::Instant::now();
        match client
            .try_call(
                "GET",
                &format!("/v1/objects?since={since}&limit=500"),
                Vec::new(),
            )
            .await
        {
            Some(r) if r.status == 200 => {
                served += 1;
                since = r.header("custos-next").parse().unwrap();
            }
            _ => failed += 1,
        }
        slowest = slowest.max(t.elapsed());
    }
    (served, slowest, failed)
}

/// A thousand connections that send a request's head and never its body, and a flood
/// of enrollment requests from one address, do not stop an enrolled device: its sync
/// goes on at about its usual pace. The held connections are dropped once their body is
/// late, and the flood is told to slow down. Prints the requests per second served to
/// the device without and with the floods (`cargo test -p custos-hub --test hub
/// under_abuse -- --nocapture`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enrolled_device_syncs_in_its_normal_time_under_abuse() {
    raise_open_files();
    let hub = Hub::start();
    let a = hub.enroll("field", "a").await;
    let b = hub.enroll("field", "b").await;
    let ca = hub.client(Some(&a));
    let period = Duration::from_secs(3);

    let (quiet, quiet_slowest, quiet_failed) = sync_for(&ca, &b, period).await;
    assert_eq!(quiet_failed, 0);

    // 1,000 connections (no certificate: strangers) that send a head and no body.
    let anon = Arc::new(hub.client(None));
    let mut opening = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        let anon = anon.clone();
        opening.spawn(async move {
            let mut tls = anon.try_tls().await?;
            let head = "POST /v1/enroll/challenge HTTP/1.1\r\nhost: hub\r\n\
                        content-type: application/json\r\ncontent-length: 1000\r\n\r\n";
            tls.write_all(head.as_bytes()).await.ok()?;
            tls.flush().await.ok()?;
            Some(tls)
        });
    }
    let mut held = Vec::new();
    while let Some(r) = opening.join_next().await {
        if let Some(tls) = r.unwrap() {
            held.push(tls);
        }
    }
    // An enrollment flood from the same address, all the while.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut flood = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (anon, stop) = (anon.clone(), stop.clone());
        flood.spawn(async move {
            let (mut sent, mut slowed) = (0u64, 0u64);
            let claim = serde_json::to_vec(&json!({
                "token": "x".repeat(40), "vault_recipient": recipient(), "signer": "x"
            }))
            .unwrap();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                sent += 1;
                if let Some(r) = anon
                    .try_call("POST", "/v1/enroll/challenge", claim.clone())
                    .await
                {
                    if r.status == 429 {
                        slowed += 1;
                    }
                }
            }
            (sent, slowed)
        });
    }
    let (busy, busy_slowest, busy_failed) = sync_for(&ca, &b, period).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut sent, mut slowed) = (0, 0);
    while let Some(r) = flood.join_next().await {
        let (s, l) = r.unwrap();
        sent += s;
        slowed += l;
    }
    let rps = |n: u64| n as f64 / period.as_secs_f64();
    println!(
        "enrolled device: {:.1} requests/s alone (slowest {quiet_slowest:?}), {:.1} \
         requests/s under {} held connections and {sent} enrollment requests \
         ({slowed} told to slow down; slowest {busy_slowest:?}, {busy_failed} failed)",
        rps(quiet),
        rps(busy),
        held.len()
    );
    assert_eq!(busy_failed, 0, "the device's sync failed under the floods");
    assert!(
        busy_slowest < Duration::from_secs(2),
        "a request of the device took {busy_slowest:?}"
    );
    assert!(
        busy * 10 >= quiet,
        "the device's pace fell from {quiet} to {busy} requests"
    );
    assert!(slowed > 0, "the enrollment flood was never slowed down");

    // The held connections are dropped once their body is late.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let mut open = 0;
    for tls in held.iter_mut().take(50) {
        let mut buf = [0u8; 512];
        // Closed: the end of the stream, or an error; still held: no answer in time.
        if tokio::time::timeout(Duration::from_millis(200), tls.read(&mut buf))
            .await
            .is_err()
        {
            open += 1;
        }
    }
    assert_eq!(open, 0, "connections without their body are still held");
}

/// A connection without an enrolled certificate reaches enrollment and nothing else:
/// no health, no API description, no answer at all to anything but enrollment; and
/// nothing it sees — the hub's certificate, the enrollment answers, their headers —
/// names the product.
#[tokio::test]
async fn a_stranger_reaches_only_enrollment_and_learns_no_name() {
    let hub = Hub::start();
    let a = hub.enroll("field", "a").await;
    let stranger = Device::new("stranger");
    for client in [hub.client(None), hub.client(Some(&stranger))] {
        for path in [
            "/v1/health",
            "/v1/openapi.json",
            "/v1/roster",
            "/v1/nothing",
            "/",
        ] {
            let r = client.try_call("GET", path, Vec::new()).await;
            assert!(
                r.is_none(),
                "a stranger got an answer to {path}: {}",
                r.map(|r| r.text()).unwrap_or_default()
            );
        }
        // Enrollment answers, for a stranger, name nothing.
        let claim = stranger.claim("no-such-invite-token");
        let mut asked = vec![("/v1/enroll/challenge", serde_json::to_vec(&claim).unwrap())];
        asked.push(("/v1/enroll", serde_json::to_vec(&claim).unwrap()));
        asked.push(("/v1/enroll", b"{not json".to_vec()));
        for (path, body) in asked {
            let r = client.try_call("POST", path, body).await.unwrap();
            assert!(r.status < 500, "{path}: {}", r.status);
            assert!(!names_product(&r.body), "{path}: {}", r.text());
            for (name, value) in &r.headers {
                assert!(
                    !names_product(name.as_str().as_bytes()) && !names_product(value.as_bytes()),
                    "{path}: header {name}: {value:?}"
                );
            }
        }
    }
    // Without proof, the answer that says to update names no product either.
    let invite = hub.invite("field", "1h");
    let cs = hub.client(Some(&stranger));
    let mut body = stranger.claim(&invite.token);
    body["label"] = json!("stranger");
    let r = cs
        .try_call("POST", "/v1/enroll", serde_json::to_vec(&body).unwrap())
        .await
        .unwrap();
    assert_eq!((r.status, r.code()), (400, "update_needed".into()));
    assert!(!names_product(&r.body), "{}", r.text());

    // The hub's certificate.
    let tls = hub.client(None).try_tls().await.unwrap();
    let certs = tls.get_ref().1.peer_certificates().unwrap();
    assert!(
        !names_product(certs[0].as_ref()),
        "the certificate names the product"
    );

    // An enrolled device still has health and the API description.
    let ca = hub.client(Some(&a));
    assert_eq!(ca.get("/v1/health").await.status, 200);
    assert_eq!(ca.get("/v1/openapi.json").await.json()["openapi"], "3.1.0");
}

/// Each device may keep so many objects and so many bytes of evidence on the hub:
/// past that, a push or a blob is refused whole with `quota_exceeded`, and nothing of
/// it is stored.
#[tokio::test]
async fn quotas_refuse_cleanly_and_store_nothing() {
    let hub = Hub::start_with(&["--quota-objects", "3", "--quota-evidence", "1000"]);
    let a = hub.enroll("field", "a").await;
    let c = hub.enroll("coordinator", "c").await;
    let (ca, cc) = (hub.client(Some(&a)), hub.client(Some(&c)));

    // A blob larger than the quota.
    let id = Uuid::new_v4();
    let path = format!("/v1/blobs/{id}");
    let r = ca
        .json(
            "POST",
            &path,
            &json!({"size": 1001, "sha256": "0".repeat(64), "audience": [a.recipient()]}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (413, "quota_exceeded".into()),
        "{}",
        r.text()
    );
    assert!(r.json()["message"].as_str().unwrap().contains("1000"));
    assert_eq!(ca.get(&path).await.status, 404, "the refused blob was kept");
    // Within it, then one that would pass it.
    let r = ca
        .json(
            "POST",
            &path,
            &json!({"size": 600, "sha256": "0".repeat(64), "audience": [a.recipient()]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let other = format!("/v1/blobs/{}", Uuid::new_v4());
    let r = ca
        .json(
            "POST",
            &other,
            &json!({"size": 401, "sha256": "0".repeat(64), "audience": [a.recipient()]}),
        )
        .await;
    assert_eq!((r.status, r.code()), (413, "quota_exceeded".into()));
    assert_eq!(ca.get(&other).await.status, 404);

    // Objects: a batch that would pass the quota is refused whole.
    let r = ca
        .push(&[object(&[&a], &[], 10), object(&[&a], &[], 10)])
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = ca
        .push(&[object(&[&a], &[], 10), object(&[&a], &[], 10)])
        .await;
    assert_eq!(
        (r.status, r.code()),
        (413, "quota_exceeded".into()),
        "{}",
        r.text()
    );
    assert_eq!(
        cc.pull_all(0).await.len(),
        2,
        "part of a refused batch was stored"
    );
    // Another device has its own quota.
    let r = cc.push(&[object(&[&a], &[], 10)]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = ca.push(&[object(&[&a], &[], 10)]).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

/// Part files of uploads abandoned long ago are removed when the hub starts; recent
/// ones are kept.
#[tokio::test]
async fn abandoned_part_files_are_removed() {
    let mut hub = Hub::start();
    let a = hub.enroll("field", "a").await;
    let ca = hub.client(Some(&a));
    let (old, new) = (Uuid::new_v4(), Uuid::new_v4());
    for id in [old, new] {
        let r = ca
            .json(
                "POST",
                &format!("/v1/blobs/{id}"),
                &json!({"size": 100, "sha256": "0".repeat(64), "audience": [a.recipient()]}),
            )
            .await;
        assert_eq!(r.status, 200);
        let r = ca
            .call(
                "PUT",
                &format!("/v1/blobs/{id}/0"),
                vec![1u8; 50],
                "application/octet-stream",
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    hub.stop();
    let part = |id: Uuid| hub.dir.join("blobs").join(format!("{id}.part"));
    assert!(part(old).exists() && part(new).exists());
    let long_ago = std::time::SystemTime::now() - Duration::from_secs(8 * 24 * 3600);
    std::fs::File::options()
        .write(true)
        .open(part(old))
        .unwrap()
        .set_modified(long_ago)
        .unwrap();
    let dir = hub.dir.clone();
    let hub2 = Hub::start_in_on(&dir, &Backend::Sled);
    assert!(!part(old).exists(), "an abandoned part file was kept");
    assert!(part(new).exists(), "a recent part file was removed");
    // The device starts that upload again from the beginning.
    let r = hub2.client(Some(&a)).get(&format!("/v1/blobs/{old}")).await;
    assert_eq!(r.status, 404, "{}", r.text());
    let r = hub2.client(Some(&a)).get(&format!("/v1/blobs/{new}")).await;
    assert_eq!(r.json()["received"], 50);
}

/// A field device receives, of the organisation's roster, the coordinators, the
/// coordinators' devices, the devices of its own vault and their revocations: the hub's
/// own list and the signed log alike. Of every other entry of the log it receives only a
/// withheld stub (its number, its link, its hash), which links the chain but says
/// nothing; its log still verifies with the organisation key, and the coordinator's
/// whole log is unchanged.
async fn a_field_device_receives_only_the_roster_entries_it_needs(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start_in_on(&tmp.path().join("hub"), &backend);
    let c = hub.enroll("coordinator", "coordinator laptop").await;
    let f = hub.enroll("field", "field phone").await;
    let mut twin = Device::new("field laptop");
    twin.vault = f.vault.clone();
    let twin = hub.enroll_as("field", twin).await;
    let other = hub.enroll("field", "secret-safehouse-tablet").await;
    let gone = hub.enroll("field", "lost-in-mariupol").await;
    let (cc, cf) = (hub.client(Some(&c)), hub.client(Some(&f)));

    let org = signing_key();
    let now = chrono::Utc::now();
    let coordinator_recipient = c.recipient();
    let mut log = roster_log::genesis(&org, "Observatory", now);
    roster_log::append(
        &mut log,
        &org,
        Change::Coordinator {
            recipient: coordinator_recipient.clone(),
        },
        now,
    );
    for (d, role) in [
        (&c, wire::Role::Coordinator),
        (&f, wire::Role::Field),
        (&other, wire::Role::Field),
        (&twin, wire::Role::Field),
        (&gone, wire::Role::Field),
    ] {
        roster_log::append(&mut log, &org, device_entry(d, role), now);
    }
    roster_log::append(
        &mut log,
        &org,
        Change::Revoke {
            signer: gone.signer(),
            after: None,
        },
        now,
    );
    let r = cc.json("POST", "/v1/roster/log", &append(0, &log)).await;
    assert_eq!(r.status, 200, "{}", r.text());

    // The bytes the field device receives.
    let r = cf.get("/v1/roster").await;
    assert_eq!(r.status, 200, "{}", r.text());
    for d in [&other, &gone] {
        for secret in [d.label.clone(), d.signer(), d.recipient(), d.id.to_string()] {
            assert!(
                !r.text().contains(&secret),
                "the field device received another vault's {secret}"
            );
        }
    }
    for d in [&c, &f, &twin] {
        assert!(r.text().contains(&d.signer()), "{} is missing", d.label);
    }
    let received: Vec<Entry> = serde_json::from_value(r.json()["log"].clone()).unwrap();
    assert_eq!(received.len(), log.len());
    let verified = roster_log::verify(&org.verifying_key(), None, &received).unwrap();
    let whole = roster_log::verify(&org.verifying_key(), None, &log).unwrap();
    assert_eq!(
        verified.head, whole.head,
        "the field device's log ends where the whole one does"
    );
    let labels: Vec<&str> = verified.devices.iter().map(|d| d.label.as_str()).collect();
    assert_eq!(
        labels,
        ["coordinator laptop", "field phone", "field laptop"]
    );
    assert_eq!(verified.coordinators, [coordinator_recipient]);
    // The same mark on both devices' answers.
    let mark = cf.get("/v1/objects?since=0&limit=1").await;
    assert_eq!(mark.header("custos-roster"), roster_log::mark(&log));

    // The coordinator receives the whole log, which verifies, and every device.
    let coordinators = stored_log(&cc).await;
    assert_eq!(coordinators, log);
    assert!(coordinators.iter().all(|e| !e.is_withheld()));
    let v = roster_log::verify(&org.verifying_key(), None, &coordinators).unwrap();
    assert_eq!(v.devices.len(), 5);
    // Nobody appends a stub: the organisation signs whole entries.
    let stub = log.last().unwrap().withheld();
    let mut forged = stub.clone();
    forged.seq += 1;
    forged.prev = stub.hash();
    let r = cc
        .json(
            "POST",
            "/v1/roster/log",
            &append(log.len() as u64, &[forged]),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "roster_invalid".into()));
    let all = cc.get("/v1/roster").await;
    assert!(all.text().contains("secret-safehouse-tablet"));
    assert!(all.text().contains("lost-in-mariupol"));
}

/// An enrolled device's request whose body stops arriving is dropped once it is
/// 20 seconds late: its connection is closed without an answer, and its slot is free.
#[tokio::test]
async fn an_enrolled_devices_late_body_drops_its_connection() {
    let hub = Hub::start();
    let a = hub.enroll("field", "a").await;
    let ca = hub.client(Some(&a));
    let mut tls = ca.try_tls().await.unwrap();
    let head = format!(
        "POST /v1/objects HTTP/1.1\r\nhost: hub\r\ncontent-type: {}\r\n\
         custos-signed-roster: 1\r\ncontent-length: 1000\r\n\r\n",
        wire::FRAMES_TYPE
    );
    tls.write_all(head.as_bytes()).await.unwrap();
    tls.write_all(&[0u8; 10]).await.unwrap();
    tls.flush().await.unwrap();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(40), tls.read(&mut buf)).await;
    let waited = started.elapsed();
    match read {
        Err(_) => panic!("the connection is still held after {waited:?}"),
        Ok(Ok(0)) | Ok(Err(_)) => {}
        Ok(Ok(n)) => panic!(
            "an answer instead of a dropped connection: {}",
            String::from_utf8_lossy(&buf[..n])
        ),
    }
    assert!(
        waited >= Duration::from_secs(19),
        "dropped after {waited:?}, before the body was late"
    );
    // Nothing was stored, and the device goes on.
    let c = hub.enroll("coordinator", "c").await;
    assert!(hub.client(Some(&c)).pull_all(0).await.is_empty());
    assert_eq!(ca.get("/v1/health").await.status, 200);
}
