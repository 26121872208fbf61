//! The one way an export leaves the vault: to a path the user chose.
//!
//! Every export format writes through [`write_file`]:
//!
//! - the file is created with `create_new` (an existing file is never overwritten);
//! - it is written, flushed and `fsync`ed;
//! - if anything fails on the way, the file is removed: no partial plaintext is left;
//! - with [`Protection::AgeRecipient`] the bytes are encrypted with age to that recipient
//!   as they are written (a standard age file: `age -d -i key.txt FILE` decrypts it), so
//!   no plaintext ever touches the disk.
//!
//! No temporary file is used anywhere: the plaintext goes only to the named path.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use custos_vault::error::{Error, Result};

/// The warning every front end shows before or after a plaintext export.
pub const PLAINTEXT_WARNING: &str = "The exported file is NOT encrypted: anyone who can read \
the disk, a backup or a synced folder can read it. Keep it safe and delete it when done, or \
export with an age recipient (--encrypt-to age1…) instead.";

/// How an export is written.
#[derive(Clone)]
pub enum Protection {
    /// Plain bytes (see [`PLAINTEXT_WARNING`]).
    Plaintext,
    /// Encrypted with age to this X25519 recipient.
    AgeRecipient(age::x25519::Recipient),
}

impl std::fmt::Debug for Protection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Protection::Plaintext => f.write_str("Plaintext"),
            Protection::AgeRecipient(r) => write!(f, "AgeRecipient({r})"),
        }
    }
}

impl Protection {
    /// Plaintext for `None`, else encryption to the parsed recipient (see
    /// [`parse_recipient`]).
    pub fn from_option(recipient: Option<&str>) -> Result<Protection> {
        match recipient {
            None => Ok(Protection::Plaintext),
            Some(r) => parse_recipient(r).map(Protection::AgeRecipient),
        }
    }

    /// True when the output is encrypted.
    pub fn is_encrypted(&self) -> bool {
        matches!(self, Protection::AgeRecipient(_))
    }
}

/// Reads an age X25519 recipient (`age1…`). The error never repeats what was given: a
/// secret key pasted by mistake must not end up in a log or on screen.
pub fn parse_recipient(text: &str) -> Result<age::x25519::Recipient> {
    let t = text.trim();
    if t.to_ascii_uppercase().starts_with("AGE-SECRET-KEY-") {
        return Err(Error::Invalid(
            "that is an age SECRET key, not a recipient: give the public key (age1…) that \
             goes with it, and keep the secret key private"
                .into(),
        ));
    }
    age::x25519::Recipient::from_str(t).map_err(|_| {
        Error::Invalid(
            "not a valid age recipient: expected an X25519 public key such as age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
                .into(),
        )
    })
}

/// Creates `path` (which must not exist), hands `write` a writer to it — encrypting when
/// asked — then finishes, flushes and syncs the file. On any error the file is removed
/// and the error returned: nothing partial is left behind.
pub fn write_file<T>(
    path: &Path,
    protection: &Protection,
    write: impl FnOnce(&mut dyn Write) -> Result<T>,
) -> Result<T> {
    let file = create_new(path)?;
    let result = write_into(file, protection, write);
    if result.is_err() {
        let _ = std::fs::remove_file(path);
    }
    result
}

/// Writes to any writer (standard output for `-`), encrypting when asked. The writer is
/// flushed; for a file, use [`write_file`].
pub fn write_stream<T>(
    out: &mut dyn Write,
    protection: &Protection,
    write: impl FnOnce(&mut dyn Write) -> Result<T>,
) -> Result<T> {
    let ctx = "writing the export";
    match protection {
        Protection::Plaintext => {
            let t = write(out)?;
            out.flush().map_err(|e| Error::io(ctx, e))?;
            Ok(t)
        }
        Protection::AgeRecipient(r) => {
            let enc = age::Encryptor::with_recipients(std::iter::once(r as &dyn age::Recipient))
                .map_err(|e| Error::Encrypt(e.to_string()))?;
            let mut w = enc.wrap_output(out).map_err(|e| Error::io(ctx, e))?;
            let t = write(&mut w)?;
            let inner = w.finish().map_err(|e| Error::io(ctx, e))?;
            inner.flush().map_err(|e| Error::io(ctx, e))?;
            Ok(t)
        }
    }
}

fn write_into<T>(
    file: File,
    protection: &Protection,
    write: impl FnOnce(&mut dyn Write) -> Result<T>,
) -> Result<T> {
    let ctx = "writing the export";
    let mut buf = BufWriter::new(file);
    let t = write_stream(&mut buf, protection, write)?;
    let file = buf
        .into_inner()
        .map_err(|e| Error::io(ctx, e.into_error()))?;
    file.sync_all().map_err(|e| Error::io(ctx, e))?;
    Ok(t)
}

fn create_new(path: &Path) -> Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => Error::Invalid(format!(
                "{} already exists; choose a new name (an export never overwrites a file)",
                path.display()
            )),
            _ => Error::io(format!("creating {}", path.display()), e),
        })
}

/// A folder of export files (CSV): created new, and removed with everything written in
/// it if the export fails.
pub struct OutputDir {
    dir: PathBuf,
    written: Vec<PathBuf>,
    done: bool,
}

impl OutputDir {
    /// Creates the folder; it must not exist yet (its parent must).
    pub fn create(dir: &Path) -> Result<OutputDir> {
        std::fs::create_dir(dir).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => Error::Invalid(format!(
                "{} already exists; choose a new folder name (an export never writes into an \
                 existing folder)",
                dir.display()
            )),
            _ => Error::io(format!("creating the folder {}", dir.display()), e),
        })?;
        Ok(OutputDir {
            dir: dir.to_owned(),
            written: Vec::new(),
            done: false,
        })
    }

    /// Writes one file of the folder with [`write_file`]; returns its path.
    pub fn write<T>(
        &mut self,
        name: &str,
        protection: &Protection,
        write: impl FnOnce(&mut dyn Write) -> Result<T>,
    ) -> Result<(PathBuf, T)> {
        let path = self.dir.join(name);
        let t = write_file(&path, protection, write)?;
        self.written.push(path.clone());
        Ok((path, t))
    }

    /// Keeps the folder: syncs it and returns the files written.
    pub fn finish(mut self) -> Result<Vec<PathBuf>> {
        if let Ok(d) = File::open(&self.dir) {
            // Makes the new entries durable; not every platform can sync a folder.
            let _ = d.sync_all();
        }
        self.done = true;
        Ok(std::mem::take(&mut self.written))
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if !self.done {
            for p in &self.written {
                let _ = std::fs::remove_file(p);
            }
            let _ = std::fs::remove_dir(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_key_is_refused_without_being_repeated() {
        let secret = age::x25519::Identity::generate();
        use age::secrecy::ExposeSecret;
        let text = secret.to_string().expose_secret().to_owned();
        let e = parse_recipient(&text).unwrap_err().to_string();
        assert!(e.contains("SECRET key"), "{e}");
        assert!(!e.contains(&text[15..]), "the error repeats the key");
        let e = parse_recipient("age1notavalidkey").unwrap_err().to_string();
        assert!(!e.contains("age1notavalidkey"));
        assert!(parse_recipient(&secret.to_public().to_string()).is_ok());
    }

    #[test]
    fn a_failed_write_leaves_no_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("out.txt");
        let r: Result<()> = write_file(&path, &Protection::Plaintext, |w| {
            w.write_all(b"half of it").map_err(|e| Error::io("w", e))?;
            Err(Error::Invalid("stopped".into()))
        });
        assert!(r.is_err());
        assert!(!path.exists());
        write_file(&path, &Protection::Plaintext, |w| {
            w.write_all(b"x").map_err(|e| Error::io("w", e))
        })
        .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"x");
        // An existing file is refused and left as it was.
        let e = write_file(&path, &Protection::Plaintext, |w| {
            w.write_all(b"y").map_err(|e| Error::io("w", e))
        })
        .unwrap_err();
        assert!(e.to_string().contains("already exists"));
        assert_eq!(std::fs::read(&path).unwrap(), b"x");
    }
}
