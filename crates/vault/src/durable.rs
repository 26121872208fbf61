//! Making what was written survive a power cut, the way each system allows.
//!
//! - **Unix (Linux, macOS)**: a file is flushed with `fsync` through any handle, even a
//!   read-only one, and a folder is flushed the same way, which makes the names created,
//!   renamed or removed in it durable.
//! - **Windows**: a file is flushed (`FlushFileBuffers`) only through a handle that may
//!   write, so a file is opened for writing to be flushed (opening it so changes nothing in
//!   it). A folder cannot be flushed at all by an ordinary program (`File::open` refuses a
//!   folder there): NTFS journals its own metadata and commits it by itself a moment later.
//!   So on Windows a power cut just after a rename can undo that rename — the file then
//!   has its previous, whole content, never a part of the new one, because the content
//!   itself was flushed before the rename — and [`sync_dir`] does nothing there.

use std::fs::File;
use std::io;
use std::path::Path;

/// Makes the entries of `dir` (files created, renamed or removed in it) durable. On
/// Windows it does nothing and returns `Ok` (see the module's notes: not possible there).
#[cfg(unix)]
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Makes the entries of `dir` durable: not possible on this system (see the module's
/// notes), so nothing is done.
#[cfg(not(unix))]
pub fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// Flushes a file already written (its content and its metadata) to the disk.
pub fn sync_file(path: &Path) -> io::Result<()> {
    open_to_flush(path)?.sync_all()
}

/// Flushes a file's content (and the metadata needed to read it back) to the disk.
pub fn sync_file_data(path: &Path) -> io::Result<()> {
    open_to_flush(path)?.sync_data()
}

#[cfg(not(windows))]
fn open_to_flush(path: &Path) -> io::Result<File> {
    File::open(path)
}

/// Windows flushes only through a handle with write access; nothing is written.
#[cfg(windows)]
fn open_to_flush(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new().write(true).open(path)
}
