//! `custos-hub serve`: the TLS accept loop, the admin socket, and a graceful stop.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::response::IntoResponse;
use axum::Router;
use custos_wire as wire;
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::sync::{Notify, Semaphore};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::admin::{self, AdminReply, AdminRequest};
use crate::api::{self, ConnInfo, Peer};
use crate::hub::{Hub, OpenError};
use crate::keys::{DataDir, KeysError};
use crate::storage::{Storage, StorageError};
use crate::store::StoreError;
use crate::tls::TlsError;
use crate::{log, tls};

/// Most connections of enrolled devices served at once; more wait for a slot.
pub const MAX_CONNECTIONS: usize = 512;
/// Most connections without an enrolled certificate (enrollment) kept at once: a new
/// one beyond drops the oldest, so that they can neither fill the enrolled devices'
/// slots nor keep newcomers out for long.
pub const MAX_STRANGERS: usize = 64;
/// Most connections in their TLS handshake at once; more wait in the kernel's backlog.
pub const MAX_HANDSHAKES: usize = 256;
/// Time a client has to finish the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time an enrolled device has to send a request's headers (also the idle limit of its
/// connection).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// Time a connection without an enrolled certificate has to send a request's headers,
/// and then its whole body (also its idle limit).
pub const STRANGER_TIMEOUT: Duration = Duration::from_secs(5);
/// How often abandoned uploads are looked for (also once at start).
pub const SWEEP_EVERY: Duration = Duration::from_secs(3600);
/// Time in-flight requests get to finish when the hub stops.
pub const STOP_GRACE: Duration = Duration::from_secs(10);
/// Largest admin request line.
const MAX_ADMIN_LINE: u64 = 64 << 10;

/// How `serve` was asked to store its data.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// A storage choice given on the command line (recorded in the folder once the hub
    /// opened it); `None`: the one recorded there.
    pub storage: Option<Storage>,
    /// Makes this folder's keys the ones every instance on the shared database must have.
    pub adopt_keys: bool,
    /// Each device's quotas, and the enrollment rate of one address.
    pub limits: crate::hub::Limits,
}

/// Why `serve` could not start, or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The data folder cannot be created.
    #[error(transparent)]
    Folder(#[from] KeysError),
    /// `serve.lock` cannot be opened: the file, why.
    #[error("cannot open {path}: {1}", path = .0.display())]
    LockFile(PathBuf, io::Error),
    /// Another `serve` holds the folder's lock (the folder).
    #[error(
        "another custos-hub serves from {}: each instance needs its own data folder",
        .0.display()
    )]
    FolderInUse(PathBuf),
    /// `serve.lock` cannot be locked: the file, why.
    #[error("cannot lock {path}: {1}", path = .0.display())]
    Lock(PathBuf, io::Error),
    /// The storage choice cannot be read or recorded.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The hub cannot open its keys or storage.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The TLS configuration is refused.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The address cannot be listened on: the address, why.
    #[error("cannot listen on {0}: {1}")]
    Listen(String, io::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stop signals cannot be watched.
    #[error("signals: {0}")]
    Signals(io::Error),
}

/// Runs the hub until SIGTERM or SIGINT.
pub async fn serve(dir: DataDir, listen: &str, options: ServeOptions) -> Result<(), ServeError> {
    dir.create()?;
    raise_open_files();
    // One `serve` per folder (its admin socket, its staging folder); with sled the
    // database's own lock says so too.
    let _folder = lock_folder(&dir)?;
    let storage = match &options.storage {
        Some(s) => s.clone(),
        None => Storage::load(&dir)?,
    };
    let mut hub =
        tokio::task::block_in_place(|| Hub::open_with(dir.clone(), &storage, options.adopt_keys))?;
    hub.limits = options.limits;
    let hub = Arc::new(hub);
    if options.storage.is_some() {
        storage.save(&dir)?;
    }
    clean_staging(&dir);
    tokio::task::block_in_place(|| hub.sweep_parts(crate::hub::PART_MAX_AGE));
    let sweeper = hub.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(SWEEP_EVERY);
        every.tick().await;
        loop {
            every.tick().await;
            let hub = sweeper.clone();
            let _ = tokio::task::spawn_blocking(move || hub.sweep_parts(crate::hub::PART_MAX_AGE))
                .await;
        }
    });
    let tls = Arc::new(tls::server_config(&hub.keys)?);
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| ServeError::Listen(listen.to_owned(), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServeError::Listen(listen.to_owned(), e))?;
    tokio::task::block_in_place(|| {
        hub.store
            .set_setting(crate::hub::LISTEN_SETTING, &addr.to_string())
    })?;
    let admin = bind_admin(&dir);
    // Before the first line: whoever reads it may send SIGTERM at once.
    let stop = stop_signal()?;
    tokio::pin!(stop);

    let mut out = std::io::stdout().lock();
    let printed = writeln!(out, "listening on {addr}")
        .and_then(|_| writeln!(out, "pin {}", hub.keys.pin))
        .and_then(|_| out.flush());
    drop(out);
    if let Err(e) = printed {
        log::warn(&format!("cannot print the address and pin: {e}"));
    }
    log::info(&format!(
        "custos-hub listening on {addr}, pin {}, data in {}",
        hub.keys.pin,
        dir.root().display()
    ));
    log::info(&describe(&storage, &dir));

    if let Some(admin) = admin {
        tokio::spawn(admin_loop(admin, hub.clone(), dir.clone()));
    }
    let graceful = accept_loop(listener, TlsAcceptor::from(tls), hub.clone(), &mut stop).await;

    log::info("stopping: finishing the requests in progress");
    if tokio::time::timeout(STOP_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        log::warn("some connections did not finish in time");
    }
    let _ = std::fs::remove_file(dir.admin_socket());
    tokio::task::block_in_place(|| hub.store.flush())?;
    log::info("stopped");
    Ok(())
}

/// Accepts connections until `stop` resolves; returns the connections to wait for.
async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    hub: Arc<Hub>,
    stop: &mut std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
) -> GracefulShutdown {
    let graceful = GracefulShutdown::new();
    // Tells connections still in their handshake to give up when the hub stops.
    let (stopping, stopping_rx) = tokio::sync::watch::channel(false);
    let slots = Arc::new(Slots {
        hub: hub.clone(),
        router: api::router(hub),
        handshakes: Arc::new(Semaphore::new(MAX_HANDSHAKES)),
        devices: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
        strangers: Strangers::new(MAX_STRANGERS),
    });
    loop {
        let permit = tokio::select! {
            p = slots.handshakes.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = stop.as_mut() => break,
        };
        let tcp = tokio::select! {
            r = listener.accept() => match r {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    log::warn(&format!("accept: {e}"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stop.as_mut() => break,
        };
        let watcher = graceful.watcher();
        let acceptor = acceptor.clone();
        let slots = slots.clone();
        let stopping = stopping_rx.clone();
        tokio::spawn(async move {
            serve_connection(slots, acceptor, tcp, permit, watcher, stopping).await;
        });
    }
    let _ = stopping.send(true);
    graceful
}

/// What connections share: the hub, its router, and the slots they take.
struct Slots {
    hub: Arc<Hub>,
    router: Router,
    handshakes: Arc<Semaphore>,
    devices: Arc<Semaphore>,
    strangers: Strangers,
}

/// The connections without an enrolled certificate, oldest first: a new one beyond
/// the limit drops the oldest.
struct Strangers {
    max: usize,
    next: std::sync::atomic::AtomicU64,
    held: std::sync::Mutex<std::collections::VecDeque<(u64, Arc<Notify>)>>,
}

impl Strangers {
    fn new(max: usize) -> Strangers {
        Strangers {
            max,
            next: std::sync::atomic::AtomicU64::new(0),
            held: std::sync::Mutex::new(std::collections::VecDeque::new()),
        }
    }

    /// Takes a place for a connection (dropping the oldest when all are taken) → its
    /// number, to give it back.
    fn admit(&self, dropper: Arc<Notify>) -> u64 {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        while held.len() >= self.max {
            if let Some((_, oldest)) = held.pop_front() {
                oldest.notify_one();
            }
        }
        held.push_back((n, dropper));
        n
    }

    fn leave(&self, n: u64) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = held.iter().position(|(m, _)| *m == n) {
            held.remove(i);
        }
    }
}

/// Gives a stranger's place back when its connection ends.
struct StrangerPlace<'a>(&'a Strangers, u64);

impl Drop for StrangerPlace<'_> {
    fn drop(&mut self) {
        self.0.leave(self.1);
    }
}

/// Completes the TLS handshake (or gives up after [`HANDSHAKE_TIMEOUT`]), takes the
/// client certificate's pin, and serves HTTP/1.1 on the connection: all of the API to
/// an enrolled device's certificate (revoked ones included, to be told so), in one of
/// [`MAX_CONNECTIONS`] slots; only enrollment to any other, in one of
/// [`MAX_STRANGERS`] places with [`STRANGER_TIMEOUT`] — any other request drops its
/// connection without an answer.
async fn serve_connection(
    slots: Arc<Slots>,
    acceptor: TlsAcceptor,
    tcp: TcpStream,
    handshake: tokio::sync::OwnedSemaphorePermit,
    watcher: hyper_util::server::graceful::Watcher,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    let _ = tcp.set_nodelay(true);
    let ip = tcp
        .peer_addr()
        .map(|a| a.ip())
        .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into());
    let tls = tokio::select! {
        r = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)) => match r {
            Ok(Ok(tls)) => tls,
            _ => return,
        },
        _ = stopping.wait_for(|s| *s) => return,
    };
    drop(handshake);
    let pin = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|certs| certs.first())
        .and_then(|cert| wire::pin_of_cert(cert));
    let class = is_known(&slots.hub, pin.clone()).await;
    let known = class == Some(true);
    let dropper = Arc::new(Notify::new());
    let mut _device_slot = None;
    let mut _stranger_place = None;
    if known {
        _device_slot = tokio::select! {
            p = slots.devices.clone().acquire_owned() => match p {
                Ok(p) => Some(p),
                Err(_) => return,
            },
            _ = stopping.wait_for(|s| *s) => return,
        };
    } else {
        let n = slots.strangers.admit(dropper.clone());
        _stranger_place = Some(StrangerPlace(&slots.strangers, n));
    }
    let info = ConnInfo {
        ip,
        body_idle: if known {
            api::BODY_IDLE
        } else {
            STRANGER_TIMEOUT
        },
        body_total: (!known).then_some(STRANGER_TIMEOUT),
        dropper: Some(dropper.clone()),
    };
    let peer = Peer(pin.clone());
    let shared = slots.clone();
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        let (slots, info, peer) = (shared.clone(), info.clone(), peer.clone());
        async move {
            if !known && !api::is_enrollment(req.method(), req.uri().path()) {
                // While the store could not tell whose the certificate is: unavailable,
                // as any request would be. A device that enrolled on this very
                // connection goes on; anyone else gets no answer at all.
                if class.is_none() {
                    let e = api::unavailable_storage();
                    return Ok::<_, std::convert::Infallible>(e.into_response());
                }
                if is_known(&slots.hub, peer.0.clone()).await != Some(true) {
                    if let Some(d) = &info.dropper {
                        d.notify_one();
                    }
                    std::future::pending::<()>().await;
                }
            }
            req.extensions_mut().insert(peer);
            req.extensions_mut().insert(info);
            let mut resp = match slots.router.clone().oneshot(req).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            if known {
                api::announce_next_pin(&slots.hub, &mut resp);
            }
            Ok::<_, std::convert::Infallible>(resp)
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(if known {
            HEADER_TIMEOUT
        } else {
            STRANGER_TIMEOUT
        })
        // No `date` header: devices do not need the hub's clock (and a small sync stays
        // small on the wire).
        .auto_date_header(false)
        .serve_connection(TokioIo::new(tls), service);
    // Errors here are the client's (a reset, a malformed request): nothing to do. A
    // late body, a request a stranger may not make, or a newer stranger drops the
    // connection at once.
    tokio::select! {
        _ = watcher.watch(conn) => {}
        _ = dropper.notified() => {}
    }
}

/// Whether `pin` is an enrolled device's (revoked or not); None when the store cannot
/// say (then the request goes on, and is answered `unavailable` like any other while
/// the storage is away).
async fn is_known(hub: &Arc<Hub>, pin: Option<String>) -> Option<bool> {
    let Some(pin) = pin else {
        return Some(false);
    };
    let hub = hub.clone();
    match tokio::task::spawn_blocking(move || hub.store.device_by_pin(&pin)).await {
        Ok(Ok(found)) => Some(found.is_some()),
        Ok(Err(e)) => {
            log::error(&e.to_string());
            None
        }
        Err(_) => None,
    }
}

/// Raises the soft limit of open files to the hard limit: each connection is a file,
/// and the default soft limit (often 1,024) is below what the slots allow.
pub fn raise_open_files() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        if let Err(e) = setrlimit(Resource::Nofile, limit) {
            log::warn(&format!("cannot raise the limit of open files: {e}"));
        }
    }
}

/// Resolves on SIGTERM or SIGINT.
fn stop_signal() -> Result<impl std::future::Future<Output = ()>, ServeError> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).map_err(ServeError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(ServeError::Signals)?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
    })
}

/// Where the data is, in words (no password).
fn describe(storage: &Storage, dir: &DataDir) -> String {
    match &storage.postgres {
        None => format!("storage: the embedded database in {}", dir.db().display()),
        Some(url) => {
            let db = crate::store::pg::parse_url(url)
                .map(|c| crate::store::pg::describe(&c))
                .unwrap_or_default();
            let blobs = match &storage.blob_dir {
                Some(d) => format!("in {}", d.display()),
                None => "in PostgreSQL".to_string(),
            };
            format!("storage: PostgreSQL, {db}; evidence files {blobs}")
        }
    }
}

/// Takes the folder's `serve.lock`, or says that another hub serves from the folder.
fn lock_folder(dir: &DataDir) -> Result<std::fs::File, ServeError> {
    let path = dir.serve_lock();
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| ServeError::LockFile(path.clone(), e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            Err(ServeError::FolderInUse(dir.root().to_owned()))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(ServeError::Lock(path, e)),
    }
}

/// Removes bundle imports a stop interrupted.
fn clean_staging(dir: &DataDir) {
    if let Ok(entries) = std::fs::read_dir(dir.staging()) {
        for e in entries.flatten() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Binds `DIR/admin.sock` (mode 0600). The folder's lock is held, so a socket file found
/// there is a stale one.
fn bind_admin(dir: &DataDir) -> Option<UnixListener> {
    let path = dir.admin_socket();
    let _ = std::fs::remove_file(&path);
    let bound = UnixListener::bind(&path).and_then(|l| {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        Ok(l)
    });
    match bound {
        Ok(l) => Some(l),
        Err(e) => {
            log::warn(&format!(
                "no admin socket at {} ({e}): stop the hub to run admin commands",
                path.display()
            ));
            None
        }
    }
}

async fn admin_loop(listener: UnixListener, hub: Arc<Hub>, dir: DataDir) {
    let owner = std::fs::metadata(dir.root()).map(|m| m.uid()).ok();
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                log::warn(&format!("admin socket: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // Only the folder's owner (the file mode says so too).
        let uid = stream.peer_cred().map(|c| c.uid()).ok();
        if uid.is_none() || uid != owner {
            continue;
        }
        tokio::spawn(admin_session(stream, hub.clone()));
    }
}

async fn admin_session(stream: UnixStream, hub: Arc<Hub>) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let reply = match BufReader::new(read.take(MAX_ADMIN_LINE))
        .read_line(&mut line)
        .await
    {
        Err(e) => AdminReply::error(format!("admin request: {e}")),
        Ok(_) => match serde_json::from_str::<AdminRequest>(&line) {
            Err(e) => AdminReply::error(format!("admin request: {e}")),
            Ok(req) => tokio::task::spawn_blocking(move || admin::execute(&hub, req))
                .await
                .unwrap_or_else(|e| AdminReply::error(format!("admin command failed: {e}"))),
        },
    };
    let mut text = serde_json::to_string(&reply).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    let _ = write.write_all(text.as_bytes()).await;
    let _ = write.shutdown().await;
}

/// The address printed by `serve` (for tests and tools reading its output).
pub fn parse_listening(line: &str) -> Option<SocketAddr> {
    line.strip_prefix("listening on ")?.trim().parse().ok()
}
