//! A throwaway PostgreSQL server of one test's own (`scripts/postgres.sh`), for the
//! tests that stop and restart it. Behind this crate's `postgres` feature.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A PostgreSQL server of one test's own, which it may stop and restart; removed when
/// dropped. Needs PostgreSQL installed (scripts/postgres.sh install) and the shared test
/// server's variable set, as every PostgreSQL test does.
pub struct PgServer {
    /// Its folder (data, socket, log).
    pub dir: PathBuf,
    /// Its connection URL.
    pub url: String,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/postgres.sh")
}

fn script_run(args: &[&str]) -> String {
    let out = Command::new("bash")
        .arg(script())
        .args(args)
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "scripts/postgres.sh {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

impl PgServer {
    /// A new server, started.
    pub fn start() -> PgServer {
        // The same rule as every PostgreSQL test: say how to run it when it cannot.
        custos_hub::store::pg::test_server_url().unwrap_or_else(|e| panic!("{e}"));
        let dir = PathBuf::from(script_run(&["start"]).trim());
        let url = fs::read_to_string(dir.join("url"))
            .unwrap()
            .trim()
            .to_owned();
        PgServer { dir, url }
    }

    /// Its folder, as text.
    fn dir(&self) -> &str {
        self.dir.to_str().unwrap()
    }

    /// Stops it (fast: open sessions are ended).
    pub fn stop(&self) {
        script_run(&["stop", self.dir()]);
    }

    /// Starts it again after [`PgServer::stop`].
    pub fn resume(&self) {
        script_run(&["start", self.dir()]);
    }

    /// Stops and starts it.
    pub fn restart(&self) {
        script_run(&["restart", self.dir()]);
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .args(["remove", self.dir()])
            .output();
    }
}
