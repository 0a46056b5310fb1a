//! Uploads. Guarantees: the bytes go to a hidden temporary file in the
//! platform's folder (the scanner skips hidden files), hashed as they pass;
//! only a complete upload is linked under its final name, with a call that
//! fails when the name exists, so of two uploads of one name exactly one wins
//! and neither overwrites the other. An upload that is dropped unfinished (a
//! client gone, a body too large, a refused request) removes its temporary
//! file.

use std::path::PathBuf;

use rand::RngCore;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncWriteExt, BufWriter};

use super::Library;
use super::paths::{check_name, check_new_slug, leads_nowhere, resolve_inside};
use crate::auth::{Principal, Scope};
use crate::error::{AppError, AppResult, Code, Kind};
use crate::store::{Rom, RomUpsert};

/// Bytes buffered before a write to disk.
const WRITE_BUFFER: usize = 256 * 1024;

/// An upload in progress. Write the bytes, then `finish`; dropping it
/// instead leaves nothing behind.
pub struct Upload {
    temp: PathBuf,
    dest: PathBuf,
    file: BufWriter<tokio::fs::File>,
    hasher: Sha256,
    written: u64,
    limit: u64,
    platform_id: i64,
    file_name: String,
}

fn platform_not_a_folder() -> AppError {
    AppError::conflict(
        Code::PlatformNotAFolder,
        "This platform's place in the library is not a folder, so nothing can be uploaded to it.",
    )
    .hint("Under roms/ in the library, a file or a broken link has the platform's name; make it a folder.")
}

fn name_taken() -> AppError {
    AppError::conflict(
        Code::RomExists,
        "A file of that name already exists on this platform; delete it first or rename yours.",
    )
}

/// A full disk is the admin's to fix, not a bug: a clean 503 (the partial
/// file goes with the dropped upload). Anything else is internal.
fn io_error(what: &str, path: &std::path::Path, err: std::io::Error) -> AppError {
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
    /// Starts an upload of `file_name` to platform `platform` (a slug; a new
    /// one is created when it is a plain lower-case name). Refuses a name
    /// that exists before any byte is received.
    pub async fn begin_upload(
        &self,
        actor: &Principal,
        platform: &str,
        file_name: &str,
        now: i64,
    ) -> AppResult<Upload> {
        actor.require(&[Scope::RomsWrite])?;
        check_name("file name", file_name)?;
        check_name("platform", platform)?;
        if self.store.find_platform_by_slug(platform).await?.is_none() {
            check_new_slug(platform)?;
        }
        let roms = self.root.join("roms");
        tokio::fs::create_dir_all(roms.join(platform)).await.map_err(|e| {
            // Something that is not a folder (a file, a link loop) holds
            // the platform's name.
            if e.kind() == std::io::ErrorKind::AlreadyExists || leads_nowhere(&e) {
                platform_not_a_folder()
            } else {
                io_error("creating", &roms, e)
            }
        })?;
        let root = self.canonical_root().await?;
        let dir = resolve_inside(&root, &root.join("roms").join(platform)).await?;
        let dest = dir.join(file_name);
        if tokio::fs::symlink_metadata(&dest).await.is_ok() {
            return Err(name_taken());
        }
        let platform_id = self.store.upsert_platform(platform, now).await?;
        let mut random = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut random);
        let temp = dir.join(format!(".romgate-upload-{}.tmp", hex::encode(random)));
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .await
            .map_err(|e| io_error("creating", &temp, e))?;
        Ok(Upload {
            temp,
            dest,
            file: BufWriter::with_capacity(WRITE_BUFFER, file),
            hasher: Sha256::new(),
            written: 0,
            limit: self.max_upload_bytes,
            platform_id,
            file_name: file_name.to_string(),
        })
    }
}

impl Upload {
    /// Appends `chunk`; refuses (413) once the upload passes the limit.
    pub async fn write(&mut self, chunk: &[u8]) -> AppResult<()> {
        self.written = self.written.saturating_add(chunk.len() as u64);
        if self.written > self.limit {
            return Err(too_large(self.limit));
        }
        self.hasher.update(chunk);
        self.file
            .write_all(chunk)
            .await
            .map_err(|e| io_error("writing", &self.temp, e))
    }

    /// Puts the complete file under its final name and records it.
    pub async fn finish(mut self, library: &Library, now: i64) -> AppResult<Rom> {
        self.file
            .flush()
            .await
            .map_err(|e| io_error("writing", &self.temp, e))?;
        self.file
            .get_ref()
            .sync_all()
            .await
            .map_err(|e| io_error("syncing", &self.temp, e))?;
        let _writes = library.writes.lock().await;
        self.link_into_place().await?;
        let mtime_ns = tokio::fs::metadata(&self.dest)
            .await
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        let row = RomUpsert {
            file_name: self.file_name.clone(),
            multi: false,
            size: i64::try_from(self.written).unwrap_or(i64::MAX),
            sha256: Some(hex::encode(self.hasher.clone().finalize())),
            mtime_ns,
        };
        let ids = library.store.upsert_roms(self.platform_id, &[row], now).await?;
        let id = ids
            .first()
            .copied()
            .ok_or_else(|| AppError::internal("upload: no row id"))?;
        tracing::info!(rom_id = id, size = self.written, "ROM uploaded");
        library.rom(id).await
    }

    /// A hard link fails when the name exists, so the first complete upload
    /// wins. Where the file system has no hard links, a rename after a check
    /// (under the library's write lock) does the same within this instance.
    async fn link_into_place(&self) -> AppResult<()> {
        match tokio::fs::hard_link(&self.temp, &self.dest).await {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Err(name_taken()),
            Err(err) => {
                tracing::debug!(error = %err, "no hard link; renaming the upload into place");
                if tokio::fs::symlink_metadata(&self.dest).await.is_ok() {
                    return Err(name_taken());
                }
                tokio::fs::rename(&self.temp, &self.dest)
                    .await
                    .map_err(|e| io_error("renaming", &self.temp, e))
            }
        }
    }
}

impl Drop for Upload {
    /// The temporary file goes, finished or not (after `finish` the final
    /// name holds the data).
    fn drop(&mut self) {
        if let Err(err) = std::fs::remove_file(&self.temp)
            && err.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.temp.display(), error = %err, "cannot remove an upload's temporary file");
        }
    }
}

pub fn too_large(limit: u64) -> AppError {
    AppError::refuse(
        Kind::PayloadTooLarge,
        Code::PayloadTooLarge,
        format!("The file is larger than this server accepts ({limit} bytes)."),
    )
    .hint("Raise ROMGATE_MAX_UPLOAD_BYTES to accept larger files.")
}
