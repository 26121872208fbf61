//! The index's directory: tantivy's `RamDirectory` for what is written while the vault is
//! unlocked, and the files restored from the snapshot read where they lie in the
//! decrypted snapshot, not copied (at 100k records the files are ~58 MB: the copy, and
//! the wipe of the buffer it was copied from, were a fifth of reading the snapshot).
//!
//! A file restored from the snapshot is never written again (tantivy writes a segment's
//! files once); `meta.json` and `.managed.json` are replaced whole, and a replaced or
//! deleted file is dropped from the restored ones. Nothing here touches a disk.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use tantivy::directory::error::{DeleteError, OpenReadError, OpenWriteError};
use tantivy::directory::{
    FileHandle, FileSlice, OwnedBytes, RamDirectory, WatchCallback, WatchHandle, WritePtr,
};
use tantivy::Directory;

/// See the module.
#[derive(Clone, Default)]
pub(crate) struct IndexDir {
    ram: RamDirectory,
    restored: Arc<RwLock<HashMap<PathBuf, FileSlice>>>,
}

/// Names no file and shows no byte of one (tantivy's `FileSlice` shows a file's first
/// bytes): only how many restored files are left.
impl fmt::Debug for IndexDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let restored = self
            .restored
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .len();
        f.debug_struct("IndexDir")
            .field("restored_files", &restored)
            .finish_non_exhaustive()
    }
}

impl IndexDir {
    /// A directory holding `files`: each a name and a range of `bytes`, which the
    /// directory keeps (freed once no file of it is left).
    pub(crate) fn restored(
        bytes: OwnedBytes,
        files: Vec<(PathBuf, std::ops::Range<usize>)>,
    ) -> Self {
        let restored = files
            .into_iter()
            .map(|(path, range)| (path, FileSlice::new(Arc::new(bytes.slice(range)))))
            .collect();
        IndexDir {
            ram: RamDirectory::create(),
            restored: Arc::new(RwLock::new(restored)),
        }
    }

    fn restored_file(&self, path: &Path) -> Option<FileSlice> {
        self.restored
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(path)
            .cloned()
    }

    fn forget(&self, path: &Path) -> bool {
        self.restored
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(path)
            .is_some()
    }
}

impl Directory for IndexDir {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        Ok(Arc::new(self.open_read(path)?))
    }

    fn open_read(&self, path: &Path) -> Result<FileSlice, OpenReadError> {
        match self.restored_file(path) {
            Some(file) => Ok(file),
            None => self.ram.open_read(path),
        }
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        match self.forget(path) {
            true => Ok(()),
            false => self.ram.delete(path),
        }
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        Ok(self.restored_file(path).is_some() || self.ram.exists(path)?)
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        if self.restored_file(path).is_some() {
            return Err(OpenWriteError::FileAlreadyExists(path.to_owned()));
        }
        self.ram.open_write(path)
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        match self.restored_file(path) {
            Some(file) => file
                .read_bytes()
                .map(|b| b.as_slice().to_vec())
                .map_err(|e| OpenReadError::IoError {
                    io_error: Arc::new(e),
                    filepath: path.to_owned(),
                }),
            None => self.ram.atomic_read(path),
        }
    }

    fn atomic_write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        // Written anew: the RAM directory holds it from now on (and tells the watchers
        // of `meta.json`, as it does).
        self.forget(path);
        self.ram.atomic_write(path, data)
    }

    fn sync_directory(&self) -> io::Result<()> {
        Ok(())
    }

    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.ram.watch(watch_callback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use tantivy::directory::TerminatingWrite;

    fn dir() -> IndexDir {
        let bytes = OwnedBytes::new(b"aaaabbbbbbmeta".to_vec());
        IndexDir::restored(
            bytes,
            vec![
                (PathBuf::from("seg.idx"), 0..4),
                (PathBuf::from("seg.pos"), 4..10),
                (PathBuf::from("meta.json"), 10..14),
            ],
        )
    }

    #[test]
    fn restored_files_read_where_they_lie_and_new_ones_go_to_memory() {
        let d = dir();
        let read = |p: &str| d.atomic_read(Path::new(p)).ok();
        assert_eq!(read("seg.idx").as_deref(), Some(&b"aaaa"[..]));
        assert_eq!(
            d.open_read(Path::new("seg.pos"))
                .unwrap()
                .read_bytes()
                .unwrap()
                .as_slice(),
            b"bbbbbb"
        );
        assert!(d.exists(Path::new("seg.pos")).unwrap());
        assert!(!d.exists(Path::new("other")).unwrap());
        assert!(d.open_read(Path::new("other")).is_err());

        // A restored file is never opened for writing again.
        assert!(matches!(
            d.open_write(Path::new("seg.idx")),
            Err(OpenWriteError::FileAlreadyExists(_))
        ));
        // A new file is written to memory.
        let mut w = d.open_write(Path::new("new.idx")).unwrap();
        w.write_all(b"fresh").unwrap();
        w.terminate().unwrap();
        assert_eq!(read("new.idx").as_deref(), Some(&b"fresh"[..]));

        // Replaced whole: the new bytes, wherever the old ones were.
        d.atomic_write(Path::new("meta.json"), b"{}").unwrap();
        assert_eq!(read("meta.json").as_deref(), Some(&b"{}"[..]));

        // Deleted: gone, restored or not; deleting again is an error.
        d.delete(Path::new("seg.idx")).unwrap();
        d.delete(Path::new("new.idx")).unwrap();
        assert!(!d.exists(Path::new("seg.idx")).unwrap());
        assert!(!d.exists(Path::new("new.idx")).unwrap());
        assert!(d.delete(Path::new("seg.idx")).is_err());
        // A clone is the same directory.
        let c = d.clone();
        assert!(!c.exists(Path::new("seg.idx")).unwrap());
        assert_eq!(c.atomic_read(Path::new("seg.pos")).unwrap(), b"bbbbbb");
    }

    #[test]
    fn debug_shows_no_byte_and_no_name_of_a_file() {
        let bytes = OwnedBytes::new(b"secretnameWITNESS".to_vec());
        let d = IndexDir::restored(
            bytes,
            vec![
                (PathBuf::from("witness-abc.idx"), 0..10),
                (PathBuf::from("meta.json"), 10..17),
            ],
        );
        let shown = format!("{d:?} {d:#?}");
        assert!(shown.contains("restored_files: 2"), "{shown}");
        for leak in ["secret", "WITNESS", "witness-abc", "meta.json", "115, 101"] {
            assert!(!shown.contains(leak), "{leak} in {shown}");
        }
    }
}
