//! Where a hub keeps its data: sled in the data folder (the default), or a PostgreSQL
//! database shared by several hub instances, with evidence files in PostgreSQL or in a
//! folder.
//!
//! `serve --postgres URL [--blob-dir DIR]` records the choice in `DIR/storage.json`
//! (mode 0600: the URL may hold a password), so that the admin commands and the next
//! starts use the same database. Without that file the data folder holds everything.

use std::io;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::keys::{write_private, DataDir, WriteError};

/// A storage choice that cannot be read, recorded or used.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// `storage.json` holds no storage choice: the file, why.
    #[error("{path} cannot be read: {1}", path = .0.display())]
    Damaged(PathBuf, serde_json::Error),
    /// `storage.json` cannot be read: the file, why.
    #[error("cannot read {path}: {1}", path = .0.display())]
    Read(PathBuf, io::Error),
    /// The choice cannot be put in JSON.
    #[error(transparent)]
    Encode(serde_json::Error),
    /// `storage.json` cannot be written.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// `--blob-dir` without `--postgres`.
    #[error(
        "--blob-dir goes with --postgres: with the embedded database, evidence files \
         are in the data folder"
    )]
    BlobDirWithoutPostgres,
    /// A relative `--blob-dir` (every instance and the admin commands must find it).
    #[error("--blob-dir {}: give an absolute path", .0.display())]
    RelativeBlobDir(PathBuf),
}

/// The storage choice of one hub instance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Storage {
    /// The PostgreSQL connection URL; `None`: sled in `DIR/db`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<String>,
    /// With PostgreSQL: the folder holding evidence files (shared by every instance);
    /// `None`: in PostgreSQL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob_dir: Option<PathBuf>,
}

impl Storage {
    /// The choice recorded in `dir` (sled when none is).
    pub fn load(dir: &DataDir) -> Result<Storage, StorageError> {
        let path = dir.storage_file();
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| StorageError::Damaged(path, e)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Storage::default()),
            Err(e) => Err(StorageError::Read(path, e)),
        }
    }

    /// Records the choice in `dir` (nothing is written for sled without a file).
    pub fn save(&self, dir: &DataDir) -> Result<(), StorageError> {
        let path = dir.storage_file();
        if *self == Storage::default() && !path.exists() {
            return Ok(());
        }
        let mut text = serde_json::to_vec_pretty(self).map_err(StorageError::Encode)?;
        text.push(b'\n');
        Ok(write_private(&path, &text)?)
    }

    /// Checks the combination.
    pub fn check(&self) -> Result<(), StorageError> {
        if self.postgres.is_none() && self.blob_dir.is_some() {
            return Err(StorageError::BlobDirWithoutPostgres);
        }
        if let Some(d) = &self.blob_dir {
            if !d.is_absolute() {
                return Err(StorageError::RelativeBlobDir(d.clone()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_choice_is_kept_in_the_folder_privately() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path().join("hub"));
        dir.create().unwrap();
        assert_eq!(Storage::load(&dir).unwrap(), Storage::default());
        Storage::default().save(&dir).unwrap();
        assert!(!dir.storage_file().exists());
        let pg = Storage {
            postgres: Some("postgres://custos:secret@%2Frun%2Fpostgresql/custos".into()),
            blob_dir: Some("/srv/evidence".into()),
        };
        pg.check().unwrap();
        pg.save(&dir).unwrap();
        assert_eq!(Storage::load(&dir).unwrap(), pg);
        let mode = std::fs::metadata(dir.storage_file())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(matches!(
            Storage {
                postgres: None,
                blob_dir: Some("/x".into())
            }
            .check(),
            Err(StorageError::BlobDirWithoutPostgres)
        ));
        assert!(matches!(
            Storage {
                postgres: Some("x".into()),
                blob_dir: Some("relative".into())
            }
            .check(),
            Err(StorageError::RelativeBlobDir(_))
        ));
    }
}
