//! Scratch databases for tests and the load bench: each made on a throwaway PostgreSQL
//! server (`scripts/postgres.sh`) and dropped with its handle.

use postgres::{Client, NoTls};
use uuid::Uuid;

use super::{parse_url, UrlError};

/// The variable naming the PostgreSQL server the tests use (`scripts/test` sets it).
pub const TEST_SERVER_VAR: &str = "CUSTOS_TEST_POSTGRES";

/// [`TEST_SERVER_VAR`] is not set: the message says how to get a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "{var} is not set, so the PostgreSQL tests cannot run. Run \
     scripts/test (it starts a throwaway PostgreSQL server), or start one with \
     `dir=$(scripts/postgres.sh start)` and run the tests with \
     {var}=$(cat $dir/url); remove it with `scripts/postgres.sh remove $dir`",
    var = TEST_SERVER_VAR
)]
pub struct NoTestServer;

/// A scratch database that cannot be made or reached.
#[derive(Debug, thiserror::Error)]
pub enum ScratchError {
    /// The server's URL cannot be read.
    #[error(transparent)]
    Url(#[from] UrlError),
    /// The test server does not answer.
    #[error("cannot reach the PostgreSQL test server: {0}")]
    Unreachable(postgres::Error),
    /// The server refused to create the database.
    #[error("cannot create a test database: {0}")]
    Create(postgres::Error),
    /// The scratch database does not answer.
    #[error(transparent)]
    Connect(postgres::Error),
}

/// The URL of the PostgreSQL server for tests, or why there is none and how to get one.
pub fn test_server_url() -> Result<String, NoTestServer> {
    match std::env::var(TEST_SERVER_VAR) {
        Ok(url) if !url.trim().is_empty() => Ok(url),
        _ => Err(NoTestServer),
    }
}

/// `url` with another database name (a URL, or `key=value` words).
pub fn with_dbname(url: &str, dbname: &str) -> String {
    for scheme in ["postgresql://", "postgres://"] {
        if let Some(rest) = url.strip_prefix(scheme) {
            let (main, query) = match rest.split_once('?') {
                Some((m, q)) => (m, Some(q)),
                None => (rest, None),
            };
            let authority = main.split_once('/').map_or(main, |(a, _)| a);
            let mut out = format!("{scheme}{authority}/{dbname}");
            let params: Vec<&str> = query
                .unwrap_or("")
                .split('&')
                .filter(|p| !p.is_empty() && !p.starts_with("dbname="))
                .collect();
            if !params.is_empty() {
                out.push('?');
                out.push_str(&params.join("&"));
            }
            return out;
        }
    }
    format!("{url} dbname={dbname}")
}

/// A database made for one test (or bench run) on a test server, dropped with it.
#[derive(Debug)]
pub struct ScratchDatabase {
    /// Its URL.
    pub url: String,
    server: String,
    name: String,
}

impl ScratchDatabase {
    /// Creates an empty database with a random name on the server at `server_url`.
    pub fn create(server_url: &str) -> Result<ScratchDatabase, ScratchError> {
        let name = format!("custos_test_{}", Uuid::new_v4().simple());
        let mut client = parse_url(server_url)?
            .connect(NoTls)
            .map_err(ScratchError::Unreachable)?;
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .map_err(ScratchError::Create)?;
        Ok(ScratchDatabase {
            url: with_dbname(server_url, &name),
            server: server_url.to_owned(),
            name,
        })
    }

    /// On the server named by [`TEST_SERVER_VAR`]; panics with how to set it up when
    /// it is not set.
    pub fn for_test() -> ScratchDatabase {
        let server = test_server_url().unwrap_or_else(|e| panic!("{e}"));
        ScratchDatabase::create(&server).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A client on the database.
    pub fn client(&self) -> Result<Client, ScratchError> {
        parse_url(&self.url)?
            .connect(NoTls)
            .map_err(ScratchError::Connect)
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let server = parse_url(&self.server)
            .ok()
            .and_then(|c| c.connect(NoTls).ok());
        if let Some(mut c) = server {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}
