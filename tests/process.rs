//! The hub process: whatever core limit it is started with, a crash cannot write its
//! memory (its TLS key, request bodies) to disk.

mod support;

use custos_test_support::core_limit;
use support::{Backend, Hub};

#[cfg(target_os = "linux")]
#[test]
fn the_hub_cannot_dump_core() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start(&tmp.path().join("hub"), &Backend::sled());
    assert_eq!(
        core_limit(hub.pid()),
        ("0".to_owned(), "0".to_owned()),
        "the hub may write a core dump"
    );
}
