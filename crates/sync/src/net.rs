//! The device's connection to its hub: a TCP stream (direct or through a SOCKS5 proxy),
//! TLS 1.3 that accepts only the pinned hub key and presents the device's certificate,
//! and a small HTTP/1.1 client on top (one persistent connection per sync).
//!
//! Bytes read and written on the socket are counted, so that a sync can report what it
//! cost on the wire.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ClientSessionMemoryCache, Resumption};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};
use zeroize::Zeroizing;

use custos_vault::Credentials;
use custos_wire::{self as wire, Route};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// Why talking to the hub failed, in words a defender can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    /// The hub (or the proxy) could not be reached.
    #[error("{0}")]
    Unreachable(String),
    /// The hub did not prove the pinned key.
    #[error("the hub did not prove the key it was enrolled with (pin mismatch): nothing was sent. The connection may be intercepted; check with your organisation")]
    WrongPin,
    /// TLS failed otherwise.
    #[error("the secure connection to the hub failed: {0}")]
    Tls(String),
    /// The connection dropped or timed out mid-way.
    #[error("the connection to the hub was lost: {0}")]
    Dropped(String),
    /// The hub answered with an error.
    #[error("the hub refused the request: {message} ({status} {code})")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The protocol's error code.
        code: String,
        /// The hub's words.
        message: String,
    },
    /// The hub's answer could not be understood.
    #[error("the hub's answer could not be understood: {0}")]
    Protocol(String),
}

/// Generates the device's TLS key and self-signed certificate: (certificate DER,
/// PKCS#8 key DER).
pub fn device_certificate() -> Result<(Vec<u8>, Zeroizing<Vec<u8>>), String> {
    let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
    // Names nothing: no product in the name, an empty subject (rcgen's default subject
    // names rcgen). Under TLS 1.3 only the hub sees it, but a certificate that leaves a
    // device should say no more than it must.
    let mut params =
        rcgen::CertificateParams::new(vec!["device".to_owned()]).map_err(|e| e.to_string())?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
    Ok((cert.der().to_vec(), Zeroizing::new(key.serialize_der())))
}

/// The TLS configuration of the last connection, kept in memory so that the next sync
/// resumes its TLS session and skips the certificate exchange (about 1.5 KB). rustls
/// resumes only between connections of one configuration. Dropped by
/// [`forget_sessions`] when the vault locks.
static CONFIG: Mutex<Vec<(Vec<u8>, Arc<ClientConfig>)>> = Mutex::new(Vec::new());

/// Forgets the TLS sessions kept for resumption (call when the vault locks: a session
/// lets its holder resume as this device until it expires).
pub fn forget_sessions() {
    CONFIG.lock().unwrap_or_else(|p| p.into_inner()).clear();
}

fn client_config(creds: &Credentials) -> Result<Arc<ClientConfig>, NetError> {
    use sha2::Digest;
    let mut id = sha2::Sha256::new();
    id.update(creds.pin.as_bytes());
    id.update(creds.next_pin.as_deref().unwrap_or("").as_bytes());
    id.update(&creds.cert);
    id.update(&creds.key[..]);
    let id = id.finalize().to_vec();
    // A wiped vault's sessions go with it (the vault calls this crate back).
    custos_vault::on_wipe(forget_sessions);
    let mut cached = CONFIG.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, c)) = cached.iter().find(|(k, _)| *k == id) {
        return Ok(c.clone());
    }
    let provider = provider();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(creds.key.to_vec()));
    let mut config = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| NetError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedHub {
            pins: std::iter::once(creds.pin.clone())
                .chain(creds.next_pin.clone())
                .collect(),
            provider,
        }))
        .with_client_auth_cert(vec![CertificateDer::from(creds.cert.clone())], key)
        .map_err(|e| NetError::Tls(e.to_string()))?;
    config.resumption = Resumption::store(Arc::new(ClientSessionMemoryCache::new(4)));
    let config = Arc::new(config);
    if cached.len() >= 4 {
        cached.remove(0);
    }
    cached.push((id, config.clone()));
    Ok(config)
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Accepts exactly one hub key and checks that the hub holds it.
#[derive(Debug)]
struct PinnedHub {
    pins: Vec<String>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedHub {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match wire::pin_of_cert(end_entity) {
            Some(pin) if self.pins.contains(&pin) => Ok(ServerCertVerified::assertion()),
            _ => Err(rustls::Error::General(PIN_MISMATCH.into())),
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // TLS 1.2 is not offered.
        Err(rustls::Error::PeerIncompatible(
            rustls::PeerIncompatible::Tls12NotOffered,
        ))
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

const PIN_MISMATCH: &str = "custos: hub pin mismatch";

/// Counts the bytes that cross the socket.
#[derive(Debug, Default)]
pub struct Counter {
    /// Bytes sent.
    pub sent: AtomicU64,
    /// Bytes received.
    pub received: AtomicU64,
}

struct Counted {
    inner: TcpStream,
    counter: Arc<Counter>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.received.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.counter.sent.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, NetError> {
        serde_json::from_slice(&self.body).map_err(|e| NetError::Protocol(e.to_string()))
    }
}

/// One TLS connection to the hub.
pub struct Connection {
    stream: BufReader<StreamOwned<ClientConnection, Counted>>,
    host: String,
    /// Bytes on the wire.
    pub counter: Arc<Counter>,
    /// Requests made.
    pub requests: u64,
    /// The pin of the key the hub proved.
    pub server_pin: Option<String>,
    /// A next pin the hub announced (`custos-next-pin`) during this connection.
    pub announced_pin: Option<String>,
}

impl Connection {
    /// Connects along `route` to `hub` (`host:port`), completes the TLS handshake and
    /// checks the pin. No request is sent before the hub has proved its key.
    pub fn open(hub: &str, route: &Route, creds: &Credentials) -> Result<Connection, NetError> {
        let (host, port) = hub
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h.trim_matches(|c| c == '[' || c == ']'), p.parse().ok()?)))
            .ok_or_else(|| NetError::Unreachable(format!("'{hub}' is not host:port")))?;
        let counter = Arc::new(Counter::default());
        let tcp = match route {
            Route::Direct => connect_direct(host, port)?,
            Route::Socks5 { proxy } => socks5_connect(proxy, host, port)?,
        };
        let _ = tcp.set_nodelay(true);
        tcp.set_read_timeout(Some(IO_TIMEOUT))
            .and_then(|_| tcp.set_write_timeout(Some(IO_TIMEOUT)))
            .map_err(|e| NetError::Unreachable(e.to_string()))?;
        let config = client_config(creds)?;
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| NetError::Unreachable(format!("'{host}' is not a host name")))?;
        let conn = ClientConnection::new(config, name).map_err(|e| NetError::Tls(e.to_string()))?;
        let mut stream = StreamOwned::new(
            conn,
            Counted {
                inner: tcp,
                counter: counter.clone(),
            },
        );
        // Finish the handshake now, so that a wrong pin is known before any request.
        while stream.conn.is_handshaking() {
            if let Err(e) = stream.conn.complete_io(&mut stream.sock) {
                return Err(tls_error(e));
            }
        }
        let server_pin = stream
            .conn
            .peer_certificates()
            .and_then(|c| c.first())
            .and_then(|c| wire::pin_of_cert(c));
        Ok(Connection {
            stream: BufReader::with_capacity(64 * 1024, stream),
            host: hub.to_owned(),
            counter,
            requests: 0,
            server_pin,
            announced_pin: None,
        })
    }

    /// Sends one request and reads its answer. A 4xx/5xx answer is returned as
    /// [`NetError::Refused`].
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Response, NetError> {
        let response = self.exchange(method, path, content_type, body)?;
        if let Some(p) = response
            .header("custos-next-pin")
            .filter(|p| wire::is_pin(p))
        {
            self.announced_pin = Some(p.to_owned());
        }
        if response.status >= 400 {
            let (code, message) = match serde_json::from_slice::<wire::ErrorBody>(&response.body) {
                Ok(e) => (e.error, e.message),
                Err(_) => (
                    "unknown".to_owned(),
                    String::from_utf8_lossy(&response.body)
                        .chars()
                        .take(200)
                        .collect(),
                ),
            };
            return Err(NetError::Refused {
                status: response.status,
                code,
                message,
            });
        }
        Ok(response)
    }

    fn exchange(
        &mut self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Response, NetError> {
        self.requests += 1;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\ncontent-length: {}\r\n\
             custos-signed-roster: 1\r\n",
            self.host,
            body.len()
        );
        if let Some(t) = content_type {
            head.push_str(&format!("content-type: {t}\r\n"));
        }
        head.push_str("\r\n");
        let stream = self.stream.get_mut();
        stream
            .write_all(head.as_bytes())
            .and_then(|_| stream.write_all(body))
            .and_then(|_| stream.flush())
            .map_err(dropped)?;
        read_response(&mut self.stream)
    }
}

/// Reads one HTTP/1.1 answer (status line, headers, a body of `content-length` bytes
/// or chunked) from the hub's side of a connection, refusing answers above the size
/// limit. Public for the fuzz targets (`fuzz/`).
pub fn read_response(r: &mut impl BufRead) -> Result<Response, NetError> {
    let mut line = String::new();
    let status_line = read_line(r, &mut line)?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| NetError::Protocol("no HTTP status line".into()))?;
    let mut headers = Vec::new();
    loop {
        let h = read_line(r, &mut line)?;
        if h.is_empty() {
            break;
        }
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| NetError::Protocol("a malformed header".into()))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        if headers.len() > 100 {
            return Err(NetError::Protocol("too many headers".into()));
        }
    }
    let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let body = if get("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        read_chunked(r)?
    } else {
        let len: usize = match get("content-length") {
            Some(v) => v
                .parse()
                .map_err(|_| NetError::Protocol("a malformed content-length".into()))?,
            None => 0,
        };
        if len > wire::MAX_BODY + (1 << 20) {
            return Err(NetError::Protocol("an answer above the size limit".into()));
        }
        let mut body = vec![0u8; len];
        r.read_exact(&mut body).map_err(dropped)?;
        body
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn read_line<'a>(r: &mut impl BufRead, line: &'a mut String) -> Result<&'a str, NetError> {
    line.clear();
    let n = r.take(16 * 1024).read_line(line).map_err(dropped)?;
    if n == 0 {
        return Err(NetError::Dropped("the hub closed the connection".into()));
    }
    Ok(line.trim_end_matches(['\r', '\n']))
}

fn read_chunked(r: &mut impl BufRead) -> Result<Vec<u8>, NetError> {
    let mut body = Vec::new();
    let mut line = String::new();
    loop {
        let size = read_line(r, &mut line)?;
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| NetError::Protocol("a malformed chunk".into()))?;
        // Checked: `size` comes from the network and may be near the top of usize.
        if body
            .len()
            .checked_add(size)
            .is_none_or(|total| total > wire::MAX_BODY + (1 << 20))
        {
            return Err(NetError::Protocol("an answer above the size limit".into()));
        }
        if size == 0 {
            // Trailers, then the empty line.
            while !read_line(r, &mut line)?.is_empty() {}
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + size, 0);
        r.read_exact(&mut body[start..]).map_err(dropped)?;
        read_line(r, &mut line)?;
    }
}

fn dropped(e: io::Error) -> NetError {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            NetError::Dropped("the hub did not answer in time".into())
        }
        _ => match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            Some(t) => NetError::Dropped(t.to_string()),
            None => NetError::Dropped(e.to_string()),
        },
    }
}

fn tls_error(e: io::Error) -> NetError {
    let text = e.to_string();
    if text.contains(PIN_MISMATCH) {
        return NetError::WrongPin;
    }
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            NetError::Dropped("the hub did not answer in time".into())
        }
        io::ErrorKind::InvalidData => NetError::Tls(text),
        _ => NetError::Dropped(text),
    }
}

fn connect_direct(host: &str, port: u16) -> Result<TcpStream, NetError> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| NetError::Unreachable(format!("cannot resolve the hub's name '{host}': {e}")))?
        .collect();
    let mut last = None;
    for a in addrs {
        match TcpStream::connect_timeout(&a, CONNECT_TIMEOUT) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(NetError::Unreachable(format!(
        "the hub at {host}:{port} cannot be reached ({})",
        last.map(|e| e.to_string())
            .unwrap_or_else(|| "no address".into())
    )))
}

/// Opens a tunnel through a SOCKS5 proxy (no authentication; the proxy resolves the
/// name, so no DNS query leaves the device).
fn socks5_connect(proxy: &str, host: &str, port: u16) -> Result<TcpStream, NetError> {
    let unreachable = |e: String| {
        NetError::Unreachable(format!(
            "the proxy {proxy} cannot be reached ({e}); sync needs it and does not connect without it"
        ))
    };
    let addr = proxy
        .to_socket_addrs()
        .map_err(|e| unreachable(e.to_string()))?
        .next()
        .ok_or_else(|| unreachable("no address".into()))?;
    let mut s = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)
        .map_err(|e| unreachable(e.to_string()))?;
    s.set_read_timeout(Some(CONNECT_TIMEOUT))
        .map_err(|e| unreachable(e.to_string()))?;
    let failed = |what: &str| NetError::Unreachable(format!("the proxy {proxy} {what}"));
    s.write_all(&[5, 1, 0])
        .map_err(|_| failed("closed the connection"))?;
    let mut reply = [0u8; 2];
    s.read_exact(&mut reply)
        .map_err(|_| failed("closed the connection"))?;
    if reply != [5, 0] {
        return Err(failed("is not a SOCKS5 proxy without authentication"));
    }
    if host.len() > 255 {
        return Err(failed("cannot carry a host name that long"));
    }
    let mut req = vec![5, 1, 0, 3, host.len() as u8];
    req.extend_from_slice(host.as_bytes());
    req.extend_from_slice(&port.to_be_bytes());
    s.write_all(&req)
        .map_err(|_| failed("closed the connection"))?;
    let mut head = [0u8; 4];
    s.read_exact(&mut head)
        .map_err(|_| failed("closed the connection"))?;
    if head[1] != 0 {
        return Err(NetError::Unreachable(format!(
            "the proxy {proxy} could not reach the hub {host}:{port} (SOCKS error {})",
            head[1]
        )));
    }
    let skip = match head[3] {
        1 => 4 + 2,
        4 => 16 + 2,
        3 => {
            let mut n = [0u8; 1];
            s.read_exact(&mut n)
                .map_err(|_| failed("closed the connection"))?;
            n[0] as usize + 2
        }
        _ => return Err(failed("answered in a way this app does not understand")),
    };
    let mut rest = vec![0u8; skip];
    s.read_exact(&mut rest)
        .map_err(|_| failed("closed the connection"))?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_device_certificate_names_no_product() {
        let (der, _key) = device_certificate().unwrap();
        for word in [&b"custos"[..], b"Custos", b"rcgen"] {
            assert!(
                !der.windows(word.len()).any(|w| w == word),
                "the device certificate says {:?}",
                String::from_utf8_lossy(word)
            );
        }
        assert!(
            wire::pin_of_cert(&der).is_some(),
            "a certificate with a key in it"
        );
    }

    #[test]
    fn responses_parse_with_length_and_chunks() {
        let mut r = &b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nCustos-Next: 9\r\n\r\nhello"[..];
        let resp = read_response(&mut r).unwrap();
        assert_eq!((resp.status, &resp.body[..]), (200, &b"hello"[..]));
        assert_eq!(resp.header("custos-next"), Some("9"));
        let mut r =
            &b"HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"[..];
        let resp = read_response(&mut r).unwrap();
        assert_eq!((resp.status, &resp.body[..]), (404, &b"abcde"[..]));
        // Cut short: an error, not a short body.
        let mut r = &b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc"[..];
        assert!(matches!(read_response(&mut r), Err(NetError::Dropped(_))));
        let mut r = &b""[..];
        assert!(matches!(read_response(&mut r), Err(NetError::Dropped(_))));
    }

    #[test]
    fn a_chunk_size_that_would_wrap_the_length_check_is_refused() {
        // Three bytes, then a chunk whose size added to them passes the top of usize: the
        // size check must refuse it, not wrap around and let it through.
        for size in ["ffffffffffffffff", "fffffffffffffffe", "fffffffffffffffd"] {
            let text = format!(
                "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n{size}\r\nx\r\n0\r\n\r\n"
            );
            let got = read_response(&mut text.as_bytes());
            assert!(
                matches!(&got, Err(NetError::Protocol(m)) if m.contains("size limit")),
                "{size}: {got:?}"
            );
        }
    }
}
