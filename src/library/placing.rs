//! Putting a new file into the library, for both kinds of upload (one
//! request, or RomM's chunks). Guarantees: the bytes are written to a hidden
//! temporary file in the platform's folder (the scanner skips hidden files),
//! which goes away whatever happens; the complete file is linked under its
//! final name with a call that fails when the name exists, so of two uploads
//! of one name exactly one wins and neither overwrites the other.

use std::path::{Path, PathBuf};

use rand::RngCore;

use super::Library;
use super::paths::{leads_nowhere, resolve_inside};
use crate::error::{AppError, AppResult, Code};
use crate::store::{Rom, RomUpsert};

const TEMP_PREFIX: &str = ".romgate-upload-";
const TEMP_SUFFIX: &str = ".tmp";
/// A temporary file untouched this long was left by a process that died
/// mid-upload (a live upload writes to it continuously; an idle body is
/// cut off long before this).
const LEFTOVER_AFTER: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Removes `path` (named `name`) when it is an upload's temporary file
/// left behind by a killed process: the scanner calls it for the hidden
/// files it skips. Another instance's upload in progress is never touched.
pub(super) fn remove_if_leftover(path: &Path, name: &str) {
    if !(name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX)) {
        return;
    }
    let idle = std::fs::symlink_metadata(path)
        .ok()
        .filter(std::fs::Metadata::is_file)
        .and_then(|meta| meta.modified().ok())
        .and_then(|modified| modified.elapsed().ok());
    if idle.is_some_and(|idle| idle > LEFTOVER_AFTER) {
        match std::fs::remove_file(path) {
            Ok(()) => tracing::info!(path = %path.display(), "removed an upload's leftover temporary file"),
            Err(err) => {
                tracing::warn!(path = %path.display(), error = %err, "cannot remove an upload's leftover temporary file")
            }
        }
    }
}

/// A hidden temporary file, removed when dropped (after a successful link
/// the final name holds the data).
pub struct TempFile {
    path: PathBuf,
}

impl TempFile {
    /// A new, empty temporary file in `dir`.
    pub async fn create_in(dir: &Path) -> AppResult<(Self, tokio::fs::File)> {
        let mut random = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut random);
        let path = dir.join(format!("{TEMP_PREFIX}{}{TEMP_SUFFIX}", hex::encode(random)));
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await
            .map_err(|e| io_error("creating", &path, e))?;
        Ok((Self { path }, file))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Err(err) = std::fs::remove_file(&self.path)
            && err.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), error = %err, "cannot remove an upload's temporary file");
        }
    }
}

/// A complete file in its temporary, ready to be placed.
pub struct Finished<'a> {
    pub temp: &'a TempFile,
    pub dest: &'a Path,
    pub platform_id: i64,
    pub file_name: &'a str,
    pub size: u64,
    pub sha256: String,
}

pub fn platform_not_a_folder() -> AppError {
    AppError::conflict(
        Code::PlatformNotAFolder,
        "This platform's place in the library is not a folder, so nothing can be uploaded to it.",
    )
    .hint("Under roms/ in the library, a file or a broken link has the platform's name; make it a folder.")
}

pub fn name_taken() -> AppError {
    AppError::conflict(
        Code::RomExists,
        "A file of that name already exists on this platform; delete it first or rename yours.",
    )
}

/// A full disk is the admin's to fix, not a bug: a clean 503 (the partial
/// file goes with the dropped upload). Anything else is internal.
pub fn io_error(what: &str, path: &Path, err: std::io::Error) -> AppError {
    if matches!(
        err.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    ) {
        tracing::warn!(path = %path.display(), error = %err, "an upload was refused: the library's disk is full");
        return AppError::storage_full().hint(
            "The disk holding the library (ROMM_LIBRARY_PATH) is full: free some space; uploads work again at once.",
        );
    }
    AppError::internal_from(format!("{what} {}", path.display()), err)
}

impl Library {
    /// The folder of platform `slug` (checked by the caller), created when
    /// missing and refused unless it resolves inside the library.
    pub(super) async fn platform_dir(&self, slug: &str) -> AppResult<PathBuf> {
        let roms = self.root.join("roms");
        tokio::fs::create_dir_all(roms.join(slug)).await.map_err(|e| {
            // Something that is not a folder (a file, a link loop) holds
            // the platform's name.
            if e.kind() == std::io::ErrorKind::AlreadyExists || leads_nowhere(&e) {
                platform_not_a_folder()
            } else {
                io_error("creating", &roms, e)
            }
        })?;
        let root = self.canonical_root().await?;
        resolve_inside(&root, &root.join("roms").join(slug)).await
    }

    /// A new temporary file in platform `slug`'s folder `dir`, the folder
    /// made again once when it vanished meanwhile: an upload refused at the
    /// same moment removes the new platform's folder it made, when empty
    /// (`upload::NewFolder`).
    pub(super) async fn temp_file_in(&self, dir: &Path, slug: &str) -> AppResult<(TempFile, tokio::fs::File)> {
        match TempFile::create_in(dir).await {
            Err(_) if tokio::fs::symlink_metadata(dir).await.is_err() => {
                let dir = self.platform_dir(slug).await?;
                TempFile::create_in(&dir).await
            }
            created => created,
        }
    }

    /// Links the finished file under its name and records it: the ROM.
    pub(super) async fn place(&self, done: Finished<'_>, now: i64) -> AppResult<Rom> {
        let _writes = self.writes.lock().await;
        link_into_place(done.temp.path(), done.dest).await?;
        let mtime_ns = tokio::fs::metadata(done.dest)
            .await
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        let row = RomUpsert {
            file_name: done.file_name.to_string(),
            multi: false,
            size: i64::try_from(done.size).unwrap_or(i64::MAX),
            sha256: Some(done.sha256),
            mtime_ns,
        };
        let ids = self.store.upsert_roms(done.platform_id, &[row], now).await?;
        let id = ids
            .first()
            .copied()
            .ok_or_else(|| AppError::internal("upload: no row id"))?;
        tracing::info!(rom_id = id, size = done.size, "ROM uploaded");
        self.rom(id).await
    }
}

/// A hard link fails when the name exists, so the first complete upload
/// wins. Where the file system has no hard links, a rename after a check
/// (under the library's write lock) does the same within this instance.
async fn link_into_place(temp: &Path, dest: &Path) -> AppResult<()> {
    match tokio::fs::hard_link(temp, dest).await {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Err(name_taken()),
        Err(err) => {
            tracing::debug!(error = %err, "no hard link; renaming the upload into place");
            if tokio::fs::symlink_metadata(dest).await.is_ok() {
                return Err(name_taken());
            }
            tokio::fs::rename(temp, dest)
                .await
                .map_err(|e| io_error("renaming", temp, e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The review's case: a refused upload to the same new platform removed
    /// the folder between another upload's `platform_dir` and its temporary
    /// file, which answered 500.
    #[tokio::test]
    async fn a_platform_folder_removed_meanwhile_is_made_again() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("roms")).unwrap();
        let url = crate::config::DatabaseUrl::new("sqlite::memory:");
        let store = crate::store::Store::open(&url).await.unwrap();
        let library = Library::new(root, store, 1024);
        let folder = library.platform_dir("gba").await.unwrap();
        std::fs::remove_dir(&folder).unwrap();
        let (temp, _file) = library.temp_file_in(&folder, "gba").await.expect("made again");
        assert!(temp.path().starts_with(&folder) && temp.path().exists());
    }
}
