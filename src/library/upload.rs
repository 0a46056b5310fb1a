//! Uploads in one request. The bytes go to a hidden temporary file in the
//! platform's folder, hashed as they pass; only a complete upload is placed
//! under its final name (see `placing`: one winner per name, nothing
//! overwritten). An upload that is dropped unfinished (a client gone, a body
//! too large, a refused request) removes its temporary file.

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
    platform_id: i64,
    file_name: String,
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
        let dir = self.platform_dir(platform).await?;
        let dest = dir.join(file_name);
        if tokio::fs::symlink_metadata(&dest).await.is_ok() {
            return Err(name_taken());
        }
        let platform_id = self.store.upsert_platform(platform, now).await?;
        let (temp, file) = TempFile::create_in(&dir).await?;
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
        let done = Finished {
            temp: &self.temp,
            dest: &self.dest,
            platform_id: self.platform_id,
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
