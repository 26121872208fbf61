//! Log lines on stderr: a time, a level, plain words. Callers never pass tokens, keys or
//! ciphertext.

use std::io::Write;

fn line(level: &str, msg: &str) {
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
    // A closed stderr must not stop the hub.
    let _ = writeln!(std::io::stderr().lock(), "{now} {level} {msg}");
}

/// Something the operator may want to know.
pub fn info(msg: &str) {
    line("info", msg);
}

/// Something unusual that the hub worked around.
pub fn warn(msg: &str) {
    line("warn", msg);
}

/// A fault.
pub fn error(msg: &str) {
    line("error", msg);
}
