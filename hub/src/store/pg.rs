//! The PostgreSQL store: several hub instances serving one organisation from one
//! database (`custos-hub serve --postgres URL`).
//!
//! The schema is in `hub/migrations/NNNN_*.sql`, applied in order at start, in one
//! transaction, under an advisory lock (two instances starting at once do not both apply
//! them); `schema_version` records what was applied.
//!
//! **Sequence numbers.** Every push locks the single row of `seq_counter`, numbers its new
//! objects above it (and never below the receive time in microseconds, as the sled store
//! does), inserts them, updates the row and commits. The next push waits for that commit
//! before it can read the counter, so objects become visible in the order of their
//! numbers: every snapshot holds a prefix of the sequence. A pull reads in one snapshot,
//! so the cursor it returns never passes a number that a transaction still in flight
//! could commit later.
//!
//! **Idempotency.** The same lock makes the check for existing ids and the insert one
//! step; the `UNIQUE` constraint on `objects.id` refuses a second row for an id whatever
//! happens.
//!
//! **Faults.** Connections come from a pool that checks each one before use and opens new
//! ones after PostgreSQL restarts. Waiting for a connection, a statement and a lock are
//! bounded ([`CONNECT_WAIT`], [`STATEMENT_TIMEOUT`], [`LOCK_TIMEOUT`]); a fault is a
//! [`StoreError`], which the hub answers with `503 unavailable`.

use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use custos_wire::roster_log::Entry;
use custos_wire::Frame;
use postgres::{Client, Config, IsolationLevel, NoTls, Row};
use r2d2::{Pool, PooledConnection};
use r2d2_postgres::PostgresConnectionManager;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{
    BlobMeta, BlobTurn, Device, EnrollOutcome, InviteRecord, LogAppend, PullPage, PullQuery,
    PushOutcome, Role, Store, StoreError, StoreResult, Usage,
};
use crate::blobs::{BlobRange, BlobStore};

/// The migrations, in order: (version, SQL).
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("../../migrations/0001_initial.sql")),
    (2, include_str!("../../migrations/0002_roster_log.sql")),
    (3, include_str!("../../migrations/0003_usage.sql")),
];

/// Connections one hub instance keeps at most for its requests.
pub const POOL_SIZE: u32 = 16;
/// Connections holding a blob's turn (an advisory lock) at most.
const LOCK_POOL_SIZE: u32 = 16;
/// Longest wait for a connection (PostgreSQL down: the request fails after this).
pub const CONNECT_WAIT: Duration = Duration::from_secs(5);
/// Longest statement.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest wait for a lock (the sequence counter, a blob's turn).
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(15);

/// Advisory lock keys (first half): the migrations, blobs' turns, roster appends.
const LOCK_MIGRATIONS: i32 = 0x4355_0001;
const LOCK_BLOB: i32 = 0x4355_0002;
const LOCK_ROSTER: i32 = 0x4355_0003;

/// Bytes of one blob chunk row written by [`PgBlobs::install`].
const INSTALL_CHUNK: usize = 1 << 20;

type Manager = PostgresConnectionManager<NoTls>;
type Conn = PooledConnection<Manager>;

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("PostgreSQL: {e}"))
}

fn io_err(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("PostgreSQL: {e}"))
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_u64(n: i64, what: &str) -> StoreResult<u64> {
    u64::try_from(n).map_err(|_| StoreError(format!("a negative {what} in the database")))
}

/// PostgreSQL keeps microseconds: so do the values this store hands back.
fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

fn get<'a, T: postgres::types::FromSql<'a>>(row: &'a Row, col: &str) -> StoreResult<T> {
    row.try_get(col).map_err(err)
}

/// Session settings of every connection: nothing waits without a bound.
#[derive(Debug)]
struct Session;

impl r2d2::CustomizeConnection<Client, postgres::Error> for Session {
    fn on_acquire(&self, c: &mut Client) -> Result<(), postgres::Error> {
        c.batch_execute(&format!(
            "SET statement_timeout = {}; SET lock_timeout = {}; \
             SET idle_in_transaction_session_timeout = 60000",
            STATEMENT_TIMEOUT.as_millis(),
            LOCK_TIMEOUT.as_millis()
        ))
    }
}

/// A connection URL that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("the PostgreSQL URL cannot be read: {0}")]
pub struct UrlError(pub postgres::Error);

/// Reads a connection URL (`postgres://user@host/db`, a Unix socket folder as
/// `postgres://user@%2Frun%2Fpostgresql/db`, or `host=… dbname=…`), adding a connection
/// timeout and the application name when the URL has none.
pub fn parse_url(url: &str) -> Result<Config, UrlError> {
    let mut config = Config::from_str(url).map_err(UrlError)?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_WAIT);
    }
    if config.get_application_name().is_none() {
        config.application_name("custos-hub");
    }
    Ok(config)
}

/// Where a URL points, without its password: `database D as user U on H`.
pub fn describe(config: &Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let port = config
        .get_ports()
        .first()
        .map(|p| format!(":{p}"))
        .unwrap_or_default();
    format!(
        "database {} as user {} on {}{port}",
        config.get_dbname().unwrap_or("(default)"),
        config.get_user().unwrap_or("(default)"),
        if hosts.is_empty() {
            "(default host)".to_string()
        } else {
            hosts.join(",")
        }
    )
}

/// A pool of connections that are closed off any async runtime. The synchronous client
/// closes a connection by blocking on a runtime of its own, which panics on a thread that
/// drives one; a stopping hub drops its store on such a thread, and a panic in a
/// destructor there aborts the process. `None` only while it is dropped.
#[derive(Clone)]
struct Connections(Option<Pool<Manager>>);

impl Connections {
    /// A connection, or why there is none, in words.
    fn get(&self) -> Result<Conn, String> {
        match &self.0 {
            Some(pool) => pool.get().map_err(|e| e.to_string()),
            None => Err("the connection pool is closed".into()),
        }
    }
}

impl Drop for Connections {
    fn drop(&mut self) {
        let Some(pool) = self.0.take() else {
            return;
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            // Waited for: the connections are closed once the store is gone.
            let _ = std::thread::spawn(move || drop(pool)).join();
        }
    }
}

/// The PostgreSQL implementation of [`Store`].
pub struct PgStore {
    pool: Connections,
    /// Connections that hold advisory locks, apart so that a request holding a lock
    /// never waits for a connection that another lock holder keeps.
    locks: Connections,
    described: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("database", &self.described)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to the database at `url` and brings its schema up to date. Fails, in
    /// words, when PostgreSQL cannot be reached within [`CONNECT_WAIT`] or the schema is
    /// newer than this program.
    pub fn open(url: &str) -> StoreResult<PgStore> {
        let config = parse_url(url).map_err(StoreError::from_display)?;
        let described = describe(&config);
        let unreachable =
            |e: r2d2::Error| StoreError(format!("cannot reach PostgreSQL ({described}): {e}"));
        let pool = Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .connection_timeout(CONNECT_WAIT)
            .connection_customizer(Box::new(Session))
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build(Manager::new(config.clone(), NoTls))
            .map_err(unreachable)?;
        let locks = Pool::builder()
            .max_size(LOCK_POOL_SIZE)
            .min_idle(Some(0))
            .connection_timeout(CONNECT_WAIT)
            .connection_customizer(Box::new(Session))
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build(Manager::new(config, NoTls))
            .map_err(unreachable)?;
        let store = PgStore {
            pool: Connections(Some(pool)),
            locks: Connections(Some(locks)),
            described,
        };
        migrate(&mut *store.conn()?, MIGRATIONS)?;
        Ok(store)
    }

    /// Where the store is, without the password.
    pub fn describe(&self) -> &str {
        &self.described
    }

    /// The blob bytes in this database.
    pub fn blobs(&self) -> PgBlobs {
        PgBlobs {
            pool: self.pool.clone(),
        }
    }

    /// The schema version of the database.
    pub fn schema_version(&self) -> StoreResult<i32> {
        let row = self
            .conn()?
            .query_one("SELECT max(version) FROM schema_version", &[])
            .map_err(err)?;
        Ok(row.try_get::<_, Option<i32>>(0).map_err(err)?.unwrap_or(0))
    }

    fn conn(&self) -> StoreResult<Conn> {
        self.pool
            .get()
            .map_err(|e| StoreError(format!("cannot reach PostgreSQL ({}): {e}", self.described)))
    }
}

/// The newest schema version this program knows.
pub fn latest_schema() -> i32 {
    MIGRATIONS.last().map_or(0, |(v, _)| *v)
}

/// Applies the `migrations` (this program's: [`MIGRATIONS`]) the database lacks, in one
/// transaction under an advisory lock.
fn migrate(client: &mut Client, migrations: &[(i32, &str)]) -> StoreResult<()> {
    let mut tx = client.transaction().map_err(err)?;
    tx.execute("SELECT pg_advisory_xact_lock($1, 0)", &[&LOCK_MIGRATIONS])
        .map_err(err)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version    integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .map_err(err)?;
    let current: Option<i32> = tx
        .query_one("SELECT max(version) FROM schema_version", &[])
        .map_err(err)?
        .try_get(0)
        .map_err(err)?;
    let current = current.unwrap_or(0);
    let latest = migrations.last().map_or(0, |(v, _)| *v);
    if current > latest {
        return Err(StoreError(format!(
            "the database's schema is version {current}, newer than this custos-hub knows \
             ({latest}): run the newer custos-hub"
        )));
    }
    for (version, sql) in migrations.iter().filter(|(v, _)| *v > current) {
        tx.batch_execute(sql)
            .map_err(|e| StoreError(format!("schema migration {version}: {e}")))?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[version],
        )
        .map_err(err)?;
    }
    tx.commit().map_err(err)
}

fn device_of(row: &Row) -> StoreResult<Device> {
    let role: String = get(row, "role")?;
    Ok(Device {
        id: get(row, "id")?,
        pin: get(row, "pin")?,
        label: get(row, "label")?,
        role: Role::parse(&role).ok_or_else(|| StoreError(format!("an unknown role {role:?}")))?,
        signer: get(row, "signer")?,
        vault_recipient: get(row, "vault_recipient")?,
        enrolled_at: get(row, "enrolled_at")?,
        revoked: get(row, "revoked")?,
    })
}

fn blob_of(row: &Row) -> StoreResult<BlobMeta> {
    Ok(BlobMeta {
        size: to_u64(get(row, "size")?, "blob size")?,
        sha256: get(row, "sha256")?,
        audience: get(row, "audience")?,
        received: to_u64(get(row, "received")?, "blob length")?,
        complete: get(row, "complete")?,
        pushed_by: get(row, "pushed_by")?,
        received_at: get(row, "received_at")?,
    })
}

const DEVICE_COLUMNS: &str = "id, pin, label, role, signer, vault_recipient, enrolled_at, revoked";
const BLOB_COLUMNS: &str = "size, sha256, audience, received, complete, pushed_by, received_at";

/// True when the error is a unique-constraint violation (a concurrent insert won).
fn is_unique_violation(e: &postgres::Error) -> bool {
    e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION)
}

impl Store for PgStore {
    fn device_by_pin(&self, pin: &str) -> StoreResult<Option<Device>> {
        let rows = self
            .conn()?
            .query(
                &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE pin = $1"),
                &[&pin],
            )
            .map_err(err)?;
        rows.first().map(device_of).transpose()
    }

    fn device(&self, id: Uuid) -> StoreResult<Option<Device>> {
        let rows = self
            .conn()?
            .query(
                &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = $1"),
                &[&id],
            )
            .map_err(err)?;
        rows.first().map(device_of).transpose()
    }

    fn devices(&self) -> StoreResult<Vec<Device>> {
        self.conn()?
            .query(
                &format!("SELECT {DEVICE_COLUMNS} FROM devices ORDER BY enrolled_at, id"),
                &[],
            )
            .map_err(err)?
            .iter()
            .map(device_of)
            .collect()
    }

    fn revoke(&self, id: Uuid) -> StoreResult<Option<Device>> {
        let rows = self
            .conn()?
            .query(
                &format!(
                    "UPDATE devices SET revoked = true WHERE id = $1 RETURNING {DEVICE_COLUMNS}"
                ),
                &[&id],
            )
            .map_err(err)?;
        rows.first().map(device_of).transpose()
    }

    fn add_invite(&self, token_sha256: [u8; 32], invite: &InviteRecord) -> StoreResult<()> {
        self.conn()?
            .execute(
                "INSERT INTO invites (token_sha256, role, created, expires, used_by)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (token_sha256) DO UPDATE SET role = $2, created = $3,
                     expires = $4, used_by = $5",
                &[
                    &&token_sha256[..],
                    &invite.role.as_str(),
                    &invite.created,
                    &invite.expires,
                    &invite.used_by,
                ],
            )
            .map_err(err)?;
        Ok(())
    }

    fn enroll(
        &self,
        token_sha256: [u8; 32],
        candidate: Device,
        now: DateTime<Utc>,
    ) -> StoreResult<EnrollOutcome> {
        let mut conn = self.conn()?;
        // A concurrent enrollment of the same pin through another invite makes the
        // insert fail on the pin's uniqueness: the next try finds the device.
        let mut tries = 0;
        loop {
            tries += 1;
            match enroll_once(&mut conn, &token_sha256, &candidate, now) {
                Err(e) if tries < 3 && is_unique_violation(&e) => continue,
                r => return r.map_err(err)?,
            }
        }
    }

    fn coordinators(&self) -> StoreResult<Vec<String>> {
        self.conn()?
            .query("SELECT recipient FROM coordinators ORDER BY position", &[])
            .map_err(err)?
            .iter()
            .map(|r| get(r, "recipient"))
            .collect()
    }

    fn add_coordinator(&self, recipient: &str) -> StoreResult<bool> {
        let n = self
            .conn()?
            .execute(
                "INSERT INTO coordinators (recipient) VALUES ($1)
                 ON CONFLICT (recipient) DO NOTHING",
                &[&recipient],
            )
            .map_err(err)?;
        Ok(n == 1)
    }

    fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        let rows = self
            .conn()?
            .query("SELECT value FROM settings WHERE name = $1", &[&key])
            .map_err(err)?;
        rows.first().map(|r| get(r, "value")).transpose()
    }

    fn set_setting(&self, key: &str, value: &str) -> StoreResult<()> {
        self.conn()?
            .execute(
                "INSERT INTO settings (name, value) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET value = $2",
                &[&key, &value],
            )
            .map_err(err)?;
        Ok(())
    }

    fn init_setting(&self, key: &str, value: &str) -> StoreResult<String> {
        let mut conn = self.conn()?;
        conn.execute(
            "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            &[&key, &value],
        )
        .map_err(err)?;
        let row = conn
            .query_one("SELECT value FROM settings WHERE name = $1", &[&key])
            .map_err(err)?;
        get(&row, "value")
    }

    fn roster_log(&self) -> StoreResult<Vec<Entry>> {
        self.conn()?
            .query("SELECT seq, entry FROM roster_log ORDER BY seq", &[])
            .map_err(err)?
            .iter()
            .map(|row| {
                let seq = to_u64(get(row, "seq")?, "roster entry number")?;
                let text: String = get(row, "entry")?;
                let entry: Entry = serde_json::from_str(&text)
                    .map_err(|e| StoreError(format!("a damaged roster entry {seq}: {e}")))?;
                if entry.seq != seq {
                    return Err(StoreError(format!(
                        "roster entry {} is stored as entry {seq}",
                        entry.seq
                    )));
                }
                Ok(entry)
            })
            .collect()
    }

    fn append_roster_log(&self, after: u64, entries: &[Entry]) -> StoreResult<LogAppend> {
        super::check_numbering(after, entries)?;
        let seqs: Vec<i64> = entries.iter().map(|e| to_i64(e.seq)).collect();
        let texts = entries
            .iter()
            .map(|e| serde_json::to_string(e).map_err(err))
            .collect::<StoreResult<Vec<String>>>()?;
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(err)?;
        // Appends take turns on every instance, until the commit: the look at the last
        // entry and the insert are one step.
        tx.execute("SELECT pg_advisory_xact_lock($1, 0)", &[&LOCK_ROSTER])
            .map_err(err)?;
        let last: i64 = get(
            &tx.query_one(
                "SELECT COALESCE(max(seq), 0)::bigint AS last FROM roster_log",
                &[],
            )
            .map_err(err)?,
            "last",
        )?;
        let last = to_u64(last, "roster entry number")?;
        if last != after {
            tx.rollback().map_err(err)?;
            return Ok(LogAppend::Conflict(last));
        }
        if !seqs.is_empty() {
            tx.execute(
                "INSERT INTO roster_log (seq, entry)
                 SELECT s, e FROM unnest($1::bigint[], $2::text[]) AS t(s, e)",
                &[&seqs, &texts],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(LogAppend::Appended)
    }

    fn push(
        &self,
        pushed_by: Uuid,
        received: DateTime<Utc>,
        frames: &[Frame],
    ) -> StoreResult<Vec<PushOutcome>> {
        if frames.is_empty() {
            return Ok(Vec::new());
        }
        let hashes: Vec<Vec<u8>> = frames
            .iter()
            .map(|f| Sha256::digest(&f.ciphertext).to_vec())
            .collect();
        let floor = received.timestamp_micros().max(0);
        let ids: Vec<Uuid> = frames.iter().map(|f| f.id).collect();
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(err)?;
        // The turn: held until the commit, so that numbers become visible in order.
        let last: i64 = get(
            &tx.query_one("SELECT last FROM seq_counter FOR UPDATE", &[])
                .map_err(err)?,
            "last",
        )?;
        // Read after the turn is taken: every earlier push has committed.
        let mut known: HashMap<Uuid, (Vec<u8>, i64, Vec<String>)> = HashMap::new();
        for row in tx
            .query(
                "SELECT id, sha256, len, audience FROM objects WHERE id = ANY($1)",
                &[&ids],
            )
            .map_err(err)?
        {
            known.insert(
                get(&row, "id")?,
                (
                    get(&row, "sha256")?,
                    get(&row, "len")?,
                    get(&row, "audience")?,
                ),
            );
        }
        let mut seq = last;
        let mut outcomes = Vec::with_capacity(frames.len());
        let (mut n_seq, mut n_id, mut n_aud, mut n_sha, mut n_len, mut n_ct) = (
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::<&[u8]>::new(),
        );
        for (frame, sha) in frames.iter().zip(&hashes) {
            let len = frame.ciphertext.len() as i64;
            if let Some((old_sha, old_len, old_audience)) = known.get(&frame.id) {
                let same = old_sha == sha && *old_len == len && *old_audience == frame.audience;
                outcomes.push(if same {
                    PushOutcome::Existing
                } else {
                    PushOutcome::IdTaken
                });
                continue;
            }
            // Never below the receive time in microseconds, like the sled store.
            seq = seq.saturating_add(1).max(floor);
            known.insert(frame.id, (sha.clone(), len, frame.audience.clone()));
            n_seq.push(seq);
            n_id.push(frame.id);
            n_aud.push(serde_json::to_string(&frame.audience).map_err(err)?);
            n_sha.push(sha.as_slice());
            n_len.push(len);
            n_ct.push(frame.ciphertext.as_slice());
            outcomes.push(PushOutcome::Stored(to_u64(seq, "sequence number")?));
        }
        if !n_seq.is_empty() {
            tx.execute(
                "INSERT INTO objects (seq, id, audience, pushed_by, received, sha256, len,
                                      ciphertext)
                 SELECT s, i,
                        ARRAY(SELECT x FROM jsonb_array_elements_text(a::jsonb)
                              WITH ORDINALITY AS e(x, n) ORDER BY n),
                        $7, $8, h, l, c
                 FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::bytea[],
                             $5::bigint[], $6::bytea[]) AS t(s, i, a, h, l, c)",
                &[
                    &n_seq, &n_id, &n_aud, &n_sha, &n_len, &n_ct, &pushed_by, &received,
                ],
            )
            .map_err(err)?;
            tx.execute("UPDATE seq_counter SET last = $1", &[&seq])
                .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(outcomes)
    }

    fn pull(&self, q: &PullQuery) -> StoreResult<PullPage> {
        let mut page = PullPage {
            frames: Vec::new(),
            next: q.since,
            more: false,
        };
        let Ok(since) = i64::try_from(q.since) else {
            return Ok(page);
        };
        let mut conn = self.conn()?;
        // One snapshot for every statement: it holds a prefix of the sequence (see the
        // module's description), so `next` never passes an object committed later.
        let mut tx = conn
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(err)?;
        let top: Option<i64> = tx
            .query_one("SELECT max(seq) FROM objects", &[])
            .map_err(err)?
            .try_get(0)
            .map_err(err)?;
        let Some(top) = top.filter(|t| *t > since) else {
            tx.commit().map_err(err)?;
            return Ok(page);
        };
        if q.limit == 0 || q.max_examined == 0 {
            page.more = true;
            tx.commit().map_err(err)?;
            return Ok(page);
        }
        // The objects examined: at most `max_examined` after the cursor.
        let window = tx
            .query(
                "SELECT seq FROM objects WHERE seq > $1 ORDER BY seq OFFSET $2 LIMIT 2",
                &[&since, &(to_i64(q.max_examined as u64) - 1)],
            )
            .map_err(err)?;
        let (window_last, beyond) = if window.len() == 2 {
            (get::<i64>(&window[0], "seq")?, true)
        } else {
            (top, false)
        };
        let candidates = tx
            .query(
                "SELECT seq, id, audience, len FROM objects
                 WHERE seq > $1 AND seq <= $2 AND pushed_by <> $3
                   AND ($4::text IS NULL OR $4 = ANY(audience))
                 ORDER BY seq LIMIT $5",
                &[
                    &since,
                    &window_last,
                    &q.device,
                    &q.recipient,
                    &to_i64(q.limit as u64),
                ],
            )
            .map_err(err)?;
        let mut chosen: Vec<(i64, Uuid, Vec<String>)> = Vec::new();
        let mut bytes = 0usize;
        let mut stopped_at = None;
        for row in &candidates {
            let seq: i64 = get(row, "seq")?;
            let audience: Vec<String> = get(row, "audience")?;
            let len = to_u64(get(row, "len")?, "object length")? as usize;
            let frame_len =
                8 + 16 + 2 + audience.iter().map(|a| 2 + a.len()).sum::<usize>() + 4 + len;
            if !chosen.is_empty() && bytes + frame_len > q.max_bytes {
                stopped_at = Some(seq);
                break;
            }
            bytes += frame_len;
            chosen.push((seq, get(row, "id")?, audience));
        }
        if let Some(stop) = stopped_at {
            // Everything before the object that did not fit was examined.
            let prev: Option<i64> = tx
                .query_one(
                    "SELECT max(seq) FROM objects WHERE seq > $1 AND seq < $2",
                    &[&since, &stop],
                )
                .map_err(err)?
                .try_get(0)
                .map_err(err)?;
            page.next = to_u64(prev.unwrap_or(since), "sequence number")?;
            page.more = true;
        } else if chosen.len() >= q.limit {
            let last = chosen.last().map_or(since, |c| c.0);
            page.next = to_u64(last, "sequence number")?;
            page.more = top > last;
        } else {
            page.next = to_u64(window_last, "sequence number")?;
            page.more = beyond;
        }
        if !chosen.is_empty() {
            let seqs: Vec<i64> = chosen.iter().map(|c| c.0).collect();
            let mut data: HashMap<i64, Vec<u8>> = HashMap::with_capacity(seqs.len());
            for row in tx
                .query(
                    "SELECT seq, ciphertext FROM objects WHERE seq = ANY($1)",
                    &[&seqs],
                )
                .map_err(err)?
            {
                data.insert(get(&row, "seq")?, get(&row, "ciphertext")?);
            }
            for (seq, id, audience) in chosen {
                let ciphertext = data
                    .remove(&seq)
                    .ok_or_else(|| StoreError(format!("object {seq} has no ciphertext")))?;
                page.frames.push(Frame {
                    seq: to_u64(seq, "sequence number")?,
                    id,
                    audience,
                    ciphertext,
                });
            }
        }
        tx.commit().map_err(err)?;
        Ok(page)
    }

    fn last_seq(&self) -> StoreResult<u64> {
        let row = self
            .conn()?
            .query_one("SELECT last FROM seq_counter", &[])
            .map_err(err)?;
        to_u64(get(&row, "last")?, "sequence number")
    }

    fn held(&self, device: Uuid, recipient: Option<&str>, ids: &[Uuid]) -> StoreResult<Vec<Uuid>> {
        let mut readable = std::collections::HashSet::new();
        for row in self
            .conn()?
            .query(
                "SELECT id, audience, pushed_by FROM objects WHERE id = ANY($1)",
                &[&ids],
            )
            .map_err(err)?
        {
            let id: Uuid = get(&row, "id")?;
            let audience: Vec<String> = get(&row, "audience")?;
            let pushed_by: Uuid = get(&row, "pushed_by")?;
            if pushed_by == device || recipient.is_none_or(|r| audience.iter().any(|a| a == r)) {
                readable.insert(id);
            }
        }
        Ok(ids
            .iter()
            .copied()
            .filter(|id| readable.contains(id))
            .collect())
    }

    fn blob(&self, id: Uuid) -> StoreResult<Option<BlobMeta>> {
        let rows = self
            .conn()?
            .query(
                &format!("SELECT {BLOB_COLUMNS} FROM blobs WHERE id = $1"),
                &[&id],
            )
            .map_err(err)?;
        rows.first().map(blob_of).transpose()
    }

    fn announce_blob(&self, id: Uuid, meta: &BlobMeta) -> StoreResult<BlobMeta> {
        let mut conn = self.conn()?;
        conn.execute(
            &format!(
                "INSERT INTO blobs (id, {BLOB_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (id) DO NOTHING"
            ),
            &[
                &id,
                &to_i64(meta.size),
                &meta.sha256,
                &meta.audience,
                &to_i64(meta.received),
                &meta.complete,
                &meta.pushed_by,
                &meta.received_at,
            ],
        )
        .map_err(err)?;
        let row = conn
            .query_one(
                &format!("SELECT {BLOB_COLUMNS} FROM blobs WHERE id = $1"),
                &[&id],
            )
            .map_err(err)?;
        blob_of(&row)
    }

    fn put_blob(&self, id: Uuid, meta: &BlobMeta) -> StoreResult<()> {
        self.conn()?
            .execute(
                &format!(
                    "INSERT INTO blobs (id, {BLOB_COLUMNS})
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     ON CONFLICT (id) DO UPDATE SET size = $2, sha256 = $3, audience = $4,
                         received = $5, complete = $6, pushed_by = $7, received_at = $8"
                ),
                &[
                    &id,
                    &to_i64(meta.size),
                    &meta.sha256,
                    &meta.audience,
                    &to_i64(meta.received),
                    &meta.complete,
                    &meta.pushed_by,
                    &meta.received_at,
                ],
            )
            .map_err(err)?;
        Ok(())
    }

    fn remove_blob(&self, id: Uuid) -> StoreResult<()> {
        self.conn()?
            .execute("DELETE FROM blobs WHERE id = $1", &[&id])
            .map_err(err)?;
        Ok(())
    }

    fn lock_blob(&self, id: Uuid) -> StoreResult<BlobTurn> {
        let mut conn = self.locks.get().map_err(|e| {
            StoreError(format!("cannot reach PostgreSQL ({}): {e}", self.described))
        })?;
        let b = id.as_bytes();
        let key = i32::from_be_bytes([b[12], b[13], b[14], b[15]]);
        conn.execute("SELECT pg_advisory_lock($1, $2)", &[&LOCK_BLOB, &key])
            .map_err(err)?;
        Ok(BlobTurn(Some(Box::new(AdvisoryLock { conn, key }))))
    }

    fn flush(&self) -> StoreResult<()> {
        // Every write committed before its method returned.
        Ok(())
    }

    fn usage(&self, device: Uuid) -> StoreResult<Usage> {
        let mut conn = self.conn()?;
        let objects: i64 = conn
            .query_one(
                "SELECT count(*) FROM objects WHERE pushed_by = $1",
                &[&device],
            )
            .map_err(err)?
            .get(0);
        let bytes: i64 = conn
            .query_one(
                "SELECT coalesce(sum(size), 0)::bigint FROM blobs WHERE pushed_by = $1",
                &[&device],
            )
            .map_err(err)?
            .get(0);
        Ok(Usage {
            objects: u64::try_from(objects).unwrap_or(0),
            evidence_bytes: u64::try_from(bytes).unwrap_or(0),
        })
    }
}

/// A blob's turn: the session's advisory lock, released when dropped (and by PostgreSQL
/// when the session ends, should this process die holding it).
struct AdvisoryLock {
    conn: Conn,
    key: i32,
}

impl Drop for AdvisoryLock {
    fn drop(&mut self) {
        let unlocked = self.conn.execute(
            "SELECT pg_advisory_unlock($1, $2)",
            &[&LOCK_BLOB, &self.key],
        );
        if unlocked.is_err() {
            // The connection goes back to the pool: it must hold no lock. (A broken
            // connection holds none: its session ended.)
            let _ = self.conn.batch_execute("SELECT pg_advisory_unlock_all()");
        }
    }
}

fn enroll_once(
    conn: &mut Client,
    token_sha256: &[u8; 32],
    candidate: &Device,
    now: DateTime<Utc>,
) -> Result<StoreResult<EnrollOutcome>, postgres::Error> {
    let mut tx = conn.transaction()?;
    // The invite's row is locked: two enrollments with one token take turns.
    let invite = tx.query(
        "SELECT role, expires, used_by FROM invites WHERE token_sha256 = $1 FOR UPDATE",
        &[&&token_sha256[..]],
    )?;
    let Some(invite) = invite.first() else {
        return Ok(Ok(EnrollOutcome::UnknownToken));
    };
    let role: String = invite.try_get("role")?;
    let expires: DateTime<Utc> = invite.try_get("expires")?;
    let used_by: Option<String> = invite.try_get("used_by")?;
    let existing = tx.query(
        &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE pin = $1"),
        &[&candidate.pin],
    )?;
    let existing = match existing.first().map(device_of).transpose() {
        Ok(d) => d,
        Err(e) => return Ok(Err(e)),
    };
    let outcome = match (used_by, existing) {
        (Some(by), Some(device)) if by == candidate.pin => EnrollOutcome::Enrolled(device),
        (Some(_), _) => EnrollOutcome::Used,
        (None, _) if expires <= now => EnrollOutcome::Expired,
        (None, Some(device)) => EnrollOutcome::PinTaken(device),
        (None, None) => {
            let Some(role) = Role::parse(&role) else {
                return Ok(Err(StoreError(format!("an unknown role {role:?}"))));
            };
            let device = Device {
                role,
                enrolled_at: micros(now),
                revoked: false,
                ..candidate.clone()
            };
            tx.execute(
                &format!(
                    "INSERT INTO devices ({DEVICE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                ),
                &[
                    &device.id,
                    &device.pin,
                    &device.label,
                    &device.role.as_str(),
                    &device.signer,
                    &device.vault_recipient,
                    &device.enrolled_at,
                    &device.revoked,
                ],
            )?;
            tx.execute(
                "UPDATE invites SET used_by = $2 WHERE token_sha256 = $1",
                &[&&token_sha256[..], &device.pin],
            )?;
            tx.commit()?;
            return Ok(Ok(EnrollOutcome::Enrolled(device)));
        }
    };
    tx.commit()?;
    Ok(Ok(outcome))
}

/// Blob bytes in PostgreSQL: `blob_chunks`, one row per chunk as it arrived.
#[derive(Clone)]
pub struct PgBlobs {
    pool: Connections,
}

impl std::fmt::Debug for PgBlobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgBlobs").finish_non_exhaustive()
    }
}

impl PgBlobs {
    fn conn(&self) -> io::Result<Conn> {
        self.pool
            .get()
            .map_err(|e| io_err(format!("cannot reach PostgreSQL: {e}")))
    }
}

impl BlobStore for PgBlobs {
    fn write_at(&self, id: Uuid, offset: u64, bytes: &[u8]) -> io::Result<()> {
        let offset = to_i64(offset);
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(io_err)?;
        tx.execute(
            "DELETE FROM blob_chunks WHERE blob = $1 AND pos >= $2",
            &[&id, &offset],
        )
        .map_err(io_err)?;
        tx.execute(
            "UPDATE blob_chunks SET data = substring(data FROM 1 FOR ($2 - pos)::integer)
             WHERE blob = $1 AND pos < $2 AND pos + octet_length(data) > $2",
            &[&id, &offset],
        )
        .map_err(io_err)?;
        if !bytes.is_empty() {
            tx.execute(
                "INSERT INTO blob_chunks (blob, pos, data) VALUES ($1, $2, $3)",
                &[&id, &offset, &bytes],
            )
            .map_err(io_err)?;
        }
        tx.commit().map_err(io_err)
    }

    fn part_sha256(&self, id: Uuid, size: u64) -> io::Result<String> {
        let mut conn = self.conn()?;
        let mut hash = Sha256::new();
        let mut seen = 0u64;
        'pages: while seen < size {
            let rows = conn
                .query(
                    "SELECT pos, data FROM blob_chunks WHERE blob = $1 AND pos >= $2
                     ORDER BY pos LIMIT 4",
                    &[&id, &to_i64(seen)],
                )
                .map_err(io_err)?;
            if rows.is_empty() {
                break;
            }
            for row in rows {
                let pos: i64 = row.try_get("pos").map_err(io_err)?;
                let data: &[u8] = row.try_get("data").map_err(io_err)?;
                if pos != to_i64(seen) {
                    break 'pages;
                }
                let take = (size - seen).min(data.len() as u64) as usize;
                hash.update(&data[..take]);
                seen += take as u64;
                if seen == size || data.is_empty() {
                    break 'pages;
                }
            }
        }
        if seen != size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{seen} bytes stored, {size} expected"),
            ));
        }
        Ok(custos_wire::hex(&hash.finalize()))
    }

    fn finish(&self, _id: Uuid) -> io::Result<()> {
        // The chunks are in place; the blob's metadata says it is complete.
        Ok(())
    }

    fn install(&self, id: Uuid, from: &Path) -> io::Result<()> {
        use std::io::Read;
        let mut file = std::fs::File::open(from)?;
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(io_err)?;
        tx.execute("DELETE FROM blob_chunks WHERE blob = $1", &[&id])
            .map_err(io_err)?;
        let mut buf = vec![0u8; INSTALL_CHUNK];
        let mut pos = 0i64;
        loop {
            let mut n = 0;
            while n < buf.len() {
                match file.read(&mut buf[n..]) {
                    Ok(0) => break,
                    Ok(k) => n += k,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            }
            if n == 0 {
                break;
            }
            tx.execute(
                "INSERT INTO blob_chunks (blob, pos, data) VALUES ($1, $2, $3)",
                &[&id, &pos, &&buf[..n]],
            )
            .map_err(io_err)?;
            pos += n as i64;
        }
        tx.commit().map_err(io_err)
    }

    fn discard(&self, id: Uuid) -> io::Result<()> {
        self.conn()?
            .execute("DELETE FROM blob_chunks WHERE blob = $1", &[&id])
            .map_err(io_err)?;
        Ok(())
    }

    fn read_range(&self, id: Uuid, offset: u64, len: u64) -> io::Result<BlobRange> {
        if len == 0 {
            return Ok(BlobRange::Bytes(Vec::new()));
        }
        let end = offset.saturating_add(len);
        let rows = self
            .conn()?
            .query(
                "SELECT pos, data FROM blob_chunks
                 WHERE blob = $1 AND pos < $3
                   AND pos >= COALESCE((SELECT max(pos) FROM blob_chunks
                                        WHERE blob = $1 AND pos <= $2), 0)
                 ORDER BY pos",
                &[&id, &to_i64(offset), &to_i64(end)],
            )
            .map_err(io_err)?;
        let mut out = Vec::with_capacity(len as usize);
        let mut at = offset;
        for row in rows {
            let pos = to_u64(row.try_get("pos").map_err(io_err)?, "blob offset").map_err(io_err)?;
            let data: &[u8] = row.try_get("data").map_err(io_err)?;
            let chunk_end = pos + data.len() as u64;
            if pos > at {
                break;
            }
            if chunk_end <= at {
                continue;
            }
            let from = (at - pos) as usize;
            let to = (chunk_end.min(end) - pos) as usize;
            out.extend_from_slice(&data[from..to]);
            at = pos + to as u64;
            if at == end {
                break;
            }
        }
        if at != end {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("blob {id} lacks bytes from offset {at}"),
            ));
        }
        Ok(BlobRange::Bytes(out))
    }
}

// Scratch databases on a throwaway server: for this crate's tests and, behind the
// `test-support` feature, the end-to-end tests and benchmarks; never the hub's API.
#[cfg(any(test, feature = "test-support"))]
mod scratch;
#[cfg(any(test, feature = "test-support"))]
pub use self::scratch::{
    test_server_url, with_dbname, NoTestServer, ScratchDatabase, ScratchError, TEST_SERVER_VAR,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::contract::{store_contract, Fixture};

    /// A scratch database on the test server: the PostgreSQL tests fail, saying how to
    /// start a server, when [`TEST_SERVER_VAR`] is not set.
    struct Scratch(ScratchDatabase);

    impl Fixture for Scratch {
        type Store = PgStore;
        const SHARED: bool = true;
        fn new() -> Self {
            Scratch(ScratchDatabase::for_test())
        }
        fn open(&self) -> PgStore {
            PgStore::open(&self.0.url).unwrap()
        }
    }

    /// The [`Store`] contract, on PostgreSQL.
    mod contract {
        super::store_contract!(super::Scratch);
    }

    #[test]
    fn urls_take_another_database_name() {
        assert_eq!(
            with_dbname("postgres://u@%2Ftmp%2Fx/postgres", "t1"),
            "postgres://u@%2Ftmp%2Fx/t1"
        );
        assert_eq!(
            with_dbname(
                "postgresql://u:p@127.0.0.1:5433?dbname=a&connect_timeout=3",
                "t2"
            ),
            "postgresql://u:p@127.0.0.1:5433/t2?connect_timeout=3"
        );
        assert_eq!(
            with_dbname("host=/tmp user=u", "t3"),
            "host=/tmp user=u dbname=t3"
        );
        let c = parse_url("postgres://u:secret@%2Ftmp%2Fx:5433/db").unwrap();
        let d = describe(&c);
        assert_eq!(d, "database db as user u on /tmp/x:5433");
        assert!(!format!("{c:?}").contains("secret"));
    }

    /// Reopened (a restart, a second instance), the database keeps its data and its
    /// schema, which is applied once.
    #[test]
    fn a_reopened_database_is_not_migrated_again() {
        let db = ScratchDatabase::for_test();
        let store = PgStore::open(&db.url).unwrap();
        let f = Frame {
            seq: 0,
            id: Uuid::new_v4(),
            audience: vec!["age1x".into()],
            ciphertext: vec![1; 11],
        };
        store
            .push(Uuid::new_v4(), DateTime::UNIX_EPOCH, &[f])
            .unwrap();
        drop(store);
        let store = PgStore::open(&db.url).unwrap();
        let again = PgStore::open(&db.url).unwrap();
        assert_eq!(again.schema_version().unwrap(), latest_schema());
        assert_eq!(store.schema_version().unwrap(), latest_schema());
        assert_eq!(store.last_seq().unwrap(), 1);
        let mut c = db.client().unwrap();
        let rows = c.query("SELECT version FROM schema_version", &[]).unwrap();
        assert_eq!(rows.len(), MIGRATIONS.len());
    }

    /// A database a hub of before the signed roster made (schema version 1, with its
    /// data) is brought up to date at the next start: it keeps its data and gets the
    /// roster's table.
    #[test]
    fn a_database_of_the_previous_version_gets_the_roster_log() {
        let db = ScratchDatabase::for_test();
        let mut c = db.client().unwrap();
        migrate(&mut c, &MIGRATIONS[..1]).unwrap();
        c.execute(
            "INSERT INTO settings (name, value) VALUES ('listen', '127.0.0.1:1')",
            &[],
        )
        .unwrap();
        let old = c
            .query_one("SELECT max(version) FROM schema_version", &[])
            .unwrap();
        assert_eq!(old.get::<_, Option<i32>>(0), Some(1));
        drop(c);

        let store = PgStore::open(&db.url).unwrap();
        assert_eq!(store.schema_version().unwrap(), latest_schema());
        assert_eq!(
            store.setting("listen").unwrap().as_deref(),
            Some("127.0.0.1:1")
        );
        assert!(store.roster_log().unwrap().is_empty());
        let org = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        let log = custos_wire::roster_log::genesis(&org, "Observatory", Utc::now());
        assert_eq!(
            store.append_roster_log(0, &log).unwrap(),
            LogAppend::Appended
        );
        assert_eq!(store.roster_log().unwrap(), log);
    }

    #[test]
    fn instances_starting_at_once_apply_the_schema_once() {
        let db = ScratchDatabase::for_test();
        let url = db.url.as_str();
        std::thread::scope(|s| {
            let threads: Vec<_> = (0..4)
                .map(|_| s.spawn(move || PgStore::open(url).map(|_| ())))
                .collect();
            for t in threads {
                t.join().unwrap().unwrap();
            }
        });
        let mut c = db.client().unwrap();
        let rows = c.query("SELECT version FROM schema_version", &[]).unwrap();
        assert_eq!(rows.len(), MIGRATIONS.len());
    }

    /// The blob bytes kept in PostgreSQL ([`PgBlobs`]; a [`BlobStore`], not the
    /// [`Store`] the contract covers).
    #[test]
    fn blob_bytes_in_chunks_overwrite_what_was_never_counted() {
        let db = ScratchDatabase::for_test();
        let store = PgStore::open(&db.url).unwrap();
        let blobs = store.blobs();
        let id = Uuid::new_v4();
        blobs.write_at(id, 0, b"hello ").unwrap();
        blobs.write_at(id, 6, b"garbage!").unwrap();
        blobs.write_at(id, 6, b"world").unwrap();
        let want = custos_wire::hex(&Sha256::digest(b"hello world"));
        assert_eq!(blobs.part_sha256(id, 11).unwrap(), want);
        assert!(blobs.part_sha256(id, 12).is_err());
        // A cut inside a chunk keeps what comes before it.
        blobs.write_at(id, 3, b"p me").unwrap();
        let want = custos_wire::hex(&Sha256::digest(b"help me"));
        assert_eq!(blobs.part_sha256(id, 7).unwrap(), want);
        blobs.finish(id).unwrap();
        let range = |o, l| match blobs.read_range(id, o, l).unwrap() {
            BlobRange::Bytes(b) => b,
            BlobRange::File(..) => panic!("bytes expected"),
        };
        assert_eq!(range(0, 7), b"help me");
        assert_eq!(range(2, 3), b"lp ");
        assert_eq!(range(5, 2), b"me");
        assert!(range(7, 0).is_empty());
        assert!(blobs.read_range(id, 5, 3).is_err());

        // An installed file, in several chunk rows.
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f");
        let content: Vec<u8> = (0..(2 * INSTALL_CHUNK + 17)).map(|i| i as u8).collect();
        std::fs::write(&path, &content).unwrap();
        blobs.install(id, &path).unwrap();
        let n = content.len() as u64;
        let want = custos_wire::hex(&Sha256::digest(&content));
        assert_eq!(blobs.part_sha256(id, n).unwrap(), want);
        let o = INSTALL_CHUNK as u64 - 5;
        assert_eq!(
            range(o, INSTALL_CHUNK as u64 + 10),
            &content[o as usize..][..INSTALL_CHUNK + 10]
        );
        blobs.discard(id).unwrap();
        assert!(blobs.read_range(id, 0, 1).is_err());
    }

    #[test]
    fn an_unreachable_server_is_a_clear_error_in_bounded_time() {
        let started = std::time::Instant::now();
        let e = PgStore::open("postgres://nobody@127.0.0.1:1/none").unwrap_err();
        assert!(e.0.contains("cannot reach PostgreSQL"), "{e}");
        assert!(started.elapsed() < CONNECT_WAIT * 3);
    }
}
