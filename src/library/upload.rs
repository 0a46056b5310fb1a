//! Uploads in one request. The bytes go to a hidden temporary file in the
//! platform's folder, hashed as they pass; only a complete upload is placed
//! under its final name (see `placing`: one winner per name, nothing
//! overwritten). An upload that is dropped unfinished (a client gone, a body
//! too large, a refused request) removes its temporary file, and the folder
//! of the new platform it was to create; the platform's row is written only
//! with the file.

use std::path::PathBuf;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncWriteExt, BufWriter};

use super::Library;
use super::paths::{check_name, check_new_slug};
use super::placing::{Finished, TempFile, io_error, name_taken};
use crate::auth::{Principal, Scope};
use crate::error::{AppError, AppResult, Code, Kind};
use crate::store::Rom;

/// Bytes buffered before a write to disk.
const WRITE_BUFFER: usize = 256 * 1024;

/// An upload in progress. Write the bytes, then `finish`; dropping it
/// instead leaves nothing behind.
pub struct Upload {
    temp: TempFile,
    dest: PathBuf,
    file: BufWriter<tokio::fs::File>,
    hasher: Sha256,
    written: u64,
    limit: u64,
    platform: String,
    file_name: String,
    /// Last, so that it is dropped after the temporary file inside it.
    new_folder: NewFolder,
}

/// The folder an upload made for a new platform: removed when the upload
/// is dropped unfinished and the folder is still empty (another upload to
/// the same new platform may have a file in it).
struct NewFolder(Option<PathBuf>);

impl Drop for NewFolder {
    fn drop(&mut self) {
        if let Some(folder) = self.0.take() {
            let _ = std::fs::remove_dir(folder);
        }
    }
}

impl Library {
    /// Starts an upload of `file_name` to platform `platform` (a slug; a new
    /// one is created, with the file, when it is a plain lower-case name).
    /// Refuses a name that exists before any byte is received.
    pub async fn begin_upload(&self, actor: &Principal, platform: &str, file_name: &str) -> AppResult<Upload> {
        actor.require(&[Scope::RomsWrite])?;
        check_name("file name", file_name)?;
        check_name("platform", platform)?;
        let known = self.store.find_platform_by_slug(platform).await?.is_some();
        if !known {
            check_new_slug(platform)?;
        }
        let folder = self.root.join("roms").join(platform);
        let made = !known && tokio::fs::symlink_metadata(&folder).await.is_err();
        let dir = self.platform_dir(platform).await?;
        let new_folder = NewFolder(made.then(|| dir.clone()));
        let dest = dir.join(file_name);
        if tokio::fs::symlink_metadata(&dest).await.is_ok() {
            return Err(name_taken());
        }
        let (temp, file) = self.temp_file_in(&dir, platform).await?;
        Ok(Upload {
            temp,
            dest,
            file: BufWriter::with_capacity(WRITE_BUFFER, file),
            hasher: Sha256::new(),
            written: 0,
            limit: self.max_upload_bytes,
            platform: platform.to_string(),
            file_name: file_name.to_string(),
            new_folder,
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
            .map_err(|e| io_error("writing", self.temp.path(), e))
    }

    /// Puts the complete file under its final name and records it.
    pub async fn finish(mut self, library: &Library, now: i64) -> AppResult<Rom> {
        let temp = self.temp.path();
        self.file.flush().await.map_err(|e| io_error("writing", temp, e))?;
        self.file
            .get_ref()
            .sync_all()
            .await
            .map_err(|e| io_error("syncing", temp, e))?;
        let platform_id = library.store.upsert_platform(&self.platform, now).await?;
        self.new_folder.0 = None;
        let done = Finished {
            temp: &self.temp,
            dest: &self.dest,
            platform_id,
            file_name: &self.file_name,
            size: self.written,
            sha256: hex::encode(self.hasher.clone().finalize()),
        };
        library.place(done, now).await
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
