//! Checking, previewing and writing an export into the vault (being written).
