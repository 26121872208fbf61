//! Sync with the organisation's hub (`docs/sync-protocol.md`).

pub mod wire;
