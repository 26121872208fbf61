//! Each Custos use case, written once below the command line and the desktop app.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
