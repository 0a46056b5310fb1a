//! RomM's chunked upload: start, chunks in any order (retried, through any
//! instance), complete or cancel. Guarantees:
//! - an upload is its starter's: to anyone else it does not exist (404);
//! - the state is in the database and the chunks in the library folder,
//!   never in one process's memory, so instances can share an upload;
//! - the file appears under its name only on completion, once every chunk
//!   is there and their sizes add up to the announced size, through the
//!   same placing as a one-request upload (no overwrite, one winner); of
//!   two completions at once exactly one assembles (see the store's claim);
//! - ROMGATE_MAX_UPLOAD_BYTES bounds the announced size, the announced size
//!   bounds what the chunks may hold together (a chunk gets the room the
//!   others left), a person has at most `MAX_OPEN_UPLOADS` open, so the
//!   disk one person can fill is bounded; every path rule of the
//!   one-request upload applies to the file name;
//! - an upload untouched for `ABANDONED_AFTER` is deleted with its chunks.

use super::Library;
use super::chunk_files::{
    self, ChunkWriter, MAX_CHUNK_BYTES, assemble, check_chunks, count_chunks, is_upload_id, new_upload_id,
    remove_folder, stored_bytes, upload_gone,
};
use super::paths::check_name;
use super::placing::{Finished, io_error, name_taken};
use super::too_large;
use crate::auth::{Principal, Scope};
use crate::error::{AppError, AppResult, Code};
use crate::store::{ChunkedUpload, NewChunkedUpload, Rom};

/// An upload untouched this long (no chunk, no completion) is abandoned.
pub const ABANDONED_AFTER: i64 = 24 * 60 * 60;
/// Most chunks one upload may have.
pub const MAX_CHUNKS: u64 = 100_000;
/// A completion whose claim was not renewed for this long was cut off (the
/// process stopped mid-copy): the upload can be completed or cancelled
/// again. A running completion renews its claim every
/// `COMPLETION_RENEW_EVERY`, however long a large file on a slow disk takes.
pub const COMPLETION_STALE_AFTER: i64 = 5 * 60;
const COMPLETION_RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(60);
/// Most chunked uploads one person may have open at once.
pub const MAX_OPEN_UPLOADS: i64 = 16;

/// What `POST /api/roms/upload/start` announces.
#[derive(Debug, Clone)]
pub struct ChunkedStart {
    pub platform_id: i64,
    pub file_name: String,
    pub total_size: u64,
    pub total_chunks: u64,
}

/// What a chunk's arrival reports (RomM's `{received, total}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkReceipt {
    pub received: u64,
    pub total: u64,
}

fn invalid(message: &'static str) -> AppError {
    AppError::bad_request(Code::InvalidRequest, message)
}

fn busy() -> AppError {
    AppError::conflict(
        Code::UploadBusy,
        "This upload is being completed by another request; wait for it.",
    )
}

/// The announced sizes, checked before anything is stored.
fn check_sizes(start: &ChunkedStart, max_upload: u64) -> AppResult<()> {
    if start.total_size == 0 || start.total_chunks == 0 {
        return Err(invalid(
            "x-upload-total-size and x-upload-total-chunks must be at least 1.",
        ));
    }
    if start.total_size > max_upload {
        return Err(too_large(max_upload));
    }
    if start.total_chunks > MAX_CHUNKS || start.total_chunks > start.total_size {
        return Err(invalid(
            "Too many chunks: at most 100000, and no more than the file has bytes.",
        ));
    }
    if start.total_size > start.total_chunks.saturating_mul(MAX_CHUNK_BYTES) {
        return Err(invalid(
            "Too few chunks: a chunk holds at most 64 MiB, so these cannot carry the whole file.",
        ));
    }
    Ok(())
}

fn too_many_uploads() -> AppError {
    AppError::conflict(
        Code::TooManyUploads,
        format!("You already have {MAX_OPEN_UPLOADS} uploads in progress; finish or cancel one first."),
    )
    .hint("An upload nobody sends to for 24 hours is removed with its chunks.")
}

fn as_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn as_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

impl Library {
    /// Starts a chunked upload: its id. Refuses a name that exists, a
    /// platform that does not, and sizes that cannot work, before any
    /// chunk is sent.
    pub async fn start_chunked_upload(&self, actor: &Principal, start: ChunkedStart, now: i64) -> AppResult<String> {
        actor.require(&[Scope::RomsWrite])?;
        check_name("file name", &start.file_name)?;
        check_sizes(&start, self.max_upload_bytes)?;
        let slug = self
            .store
            .platform_slug(start.platform_id)
            .await?
            .ok_or_else(|| AppError::bad_request(Code::InvalidPlatform, "No platform has that id."))?;
        check_name("platform", &slug)?;
        let dir = self.platform_dir(&slug).await?;
        if tokio::fs::symlink_metadata(dir.join(&start.file_name)).await.is_ok() {
            return Err(name_taken());
        }
        if let Err(err) = self.sweep_abandoned_uploads(now).await {
            tracing::warn!(error = %err, "cleaning abandoned uploads failed");
        }
        let id = new_upload_id();
        let row = NewChunkedUpload {
            id: &id,
            user_id: actor.user.id,
            platform_id: start.platform_id,
            file_name: &start.file_name,
            total_size: as_i64(start.total_size),
            total_chunks: as_i64(start.total_chunks),
        };
        if !self.store.insert_chunked_upload(&row, now, MAX_OPEN_UPLOADS).await? {
            return Err(too_many_uploads());
        }
        let folder = self.uploads_dir().await?.join(&id);
        tokio::fs::create_dir(&folder)
            .await
            .map_err(|e| io_error("creating", &folder, e))?;
        tracing::info!(upload_id = %id, by = actor.user.id, size = start.total_size, chunks = start.total_chunks, "chunked upload started");
        Ok(id)
    }

    /// The upload `id` if it is `actor`'s; 404 otherwise.
    async fn own_upload(&self, actor: &Principal, id: &str) -> AppResult<ChunkedUpload> {
        actor.require(&[Scope::RomsWrite])?;
        if !is_upload_id(id) {
            return Err(upload_gone());
        }
        match self.store.find_chunked_upload(id).await? {
            Some(upload) if upload.user_id == actor.user.id => Ok(upload),
            _ => Err(upload_gone()),
        }
    }

    /// Opens chunk `index` of upload `id` for writing. `announced` is the
    /// request's Content-Length, refused at once when too large.
    pub async fn open_chunk(
        &self,
        actor: &Principal,
        id: &str,
        index: u64,
        announced: Option<u64>,
        now: i64,
    ) -> AppResult<ChunkWriter> {
        let upload = self.own_upload(actor, id).await?;
        if upload
            .completing_since
            .is_some_and(|since| since >= now - COMPLETION_STALE_AFTER)
        {
            return Err(busy());
        }
        let (total_size, total_chunks) = (as_u64(upload.total_size), as_u64(upload.total_chunks));
        if index >= total_chunks {
            return Err(invalid("x-chunk-index must be below the announced number of chunks."));
        }
        let folder = self.uploads_dir().await?.join(id);
        // The room the other chunks left (a chunk sent again replaces its
        // earlier copy): what all chunks hold stays within the announced
        // size, so an upload cannot fill the disk beyond what it announced.
        let others = {
            let folder = folder.clone();
            tokio::task::spawn_blocking(move || stored_bytes(&folder, total_chunks, index))
                .await
                .map_err(|e| AppError::internal_from("measuring chunks", e))?
                .map_err(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => upload_gone(),
                    _ => AppError::internal_from("measuring chunks", e),
                })?
        };
        let room = total_size.saturating_sub(others);
        match announced {
            Some(length) if length > MAX_CHUNK_BYTES => return Err(chunk_files::chunk_too_large()),
            Some(length) if length > room => return Err(chunk_files::larger_than_announced()),
            _ => {}
        }
        self.store.touch_chunked_upload(id, now).await?;
        ChunkWriter::create(&folder, index, room).await
    }

    /// Puts a whole chunk in place: how many of the upload's chunks are in.
    pub async fn finish_chunk(&self, id: &str, chunk: ChunkWriter) -> AppResult<ChunkReceipt> {
        chunk.finish().await?;
        let upload = self.store.find_chunked_upload(id).await?.ok_or_else(upload_gone)?;
        let total = as_u64(upload.total_chunks);
        let folder = self.uploads_dir().await?.join(id);
        let received = tokio::task::spawn_blocking(move || count_chunks(&folder, total))
            .await
            .map_err(|e| AppError::internal_from("counting chunks", e))?
            .map_err(|e| match e.kind() {
                // Completed or cancelled since the chunk arrived.
                std::io::ErrorKind::NotFound => upload_gone(),
                _ => AppError::internal_from("counting chunks", e),
            })?;
        Ok(ChunkReceipt { received, total })
    }

    /// Completes upload `id`: the new ROM. Exactly one of several
    /// completions at once goes on (409 for the others); a refusal (a
    /// missing chunk, sizes that do not add up) writes nothing and keeps
    /// the chunks, so the client can send what is missing.
    ///
    /// Once claimed, the completion runs to its end in a task of its own,
    /// whether or not the request still waits: a client or proxy that stops
    /// waiting on a large file (hyper then drops the request's future) would
    /// otherwise leave the upload claimed for `COMPLETION_STALE_AFTER`, or
    /// its file in place without its row.
    pub async fn complete_chunked_upload(&self, actor: &Principal, id: &str, now: i64) -> AppResult<Rom> {
        let upload = self.own_upload(actor, id).await?;
        let library = self.clone();
        tokio::spawn(async move { library.claim_and_complete(upload, now).await })
            .await
            .map_err(|e| AppError::internal_from("completing a chunked upload", e))?
    }

    /// Claims `upload` (409 when another completion holds it), then
    /// assembles it into its ROM or releases the claim: in the completion's
    /// own task, so nothing between the claim and its end is cut off.
    async fn claim_and_complete(&self, upload: ChunkedUpload, now: i64) -> AppResult<Rom> {
        let id = upload.id.as_str();
        if !self
            .store
            .claim_chunked_upload(id, now, now - COMPLETION_STALE_AFTER)
            .await?
        {
            return Err(busy());
        }
        let assembled = tokio::select! {
            assembled = self.assemble_claimed(&upload, now) => assembled,
            never = self.keep_claim(id, now) => match never {},
        };
        match assembled {
            Ok(rom) => {
                remove_folder(&self.uploads_dir().await?.join(id)).await;
                self.store.delete_chunked_upload(id).await?;
                tracing::info!(upload_id = %id, rom_id = rom.id, "chunked upload completed");
                Ok(rom)
            }
            Err(err) => {
                self.store.release_chunked_upload(id, now).await?;
                Err(err)
            }
        }
    }

    async fn assemble_claimed(&self, upload: &ChunkedUpload, now: i64) -> AppResult<Rom> {
        let total_size = as_u64(upload.total_size);
        if total_size > self.max_upload_bytes {
            return Err(too_large(self.max_upload_bytes));
        }
        let folder = self.uploads_dir().await?.join(&upload.id);
        let total_chunks = as_u64(upload.total_chunks);
        let chunks = tokio::task::spawn_blocking(move || check_chunks(&folder, total_chunks, total_size))
            .await
            .map_err(|e| AppError::internal_from("checking chunks", e))??;
        check_name("platform", &upload.platform_slug)?;
        check_name("file name", &upload.file_name)?;
        let dir = self.platform_dir(&upload.platform_slug).await?;
        let dest = dir.join(&upload.file_name);
        if tokio::fs::symlink_metadata(&dest).await.is_ok() {
            return Err(name_taken());
        }
        let (temp, file) = self.temp_file_in(&dir, &upload.platform_slug).await?;
        let mut out = file.into_std().await;
        let (size, sha256) = tokio::task::spawn_blocking(move || assemble(&chunks, &mut out))
            .await
            .map_err(|e| AppError::internal_from("assembling chunks", e))?
            .map_err(|e| io_error("assembling", temp.path(), e))?;
        if size != total_size {
            // A chunk was sent again, with another size, while this
            // completion was checking and copying: the client's doing.
            return Err(AppError::bad_request(
                Code::SizeMismatch,
                format!(
                    "A chunk changed while the upload was being completed: {size} bytes were copied, \
                     not {total_size}. Send the chunks that are wrong again, then complete it."
                ),
            ));
        }
        let done = Finished {
            temp: &temp,
            dest: &dest,
            platform_id: upload.platform_id,
            file_name: &upload.file_name,
            size,
            sha256,
        };
        self.place(done, now).await
    }

    /// Renews the completion's claim on upload `id` while it runs (see
    /// `COMPLETION_STALE_AFTER`); never returns.
    async fn keep_claim(&self, id: &str, claimed_at: i64) -> std::convert::Infallible {
        let started = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(COMPLETION_RENEW_EVERY).await;
            let elapsed = i64::try_from(started.elapsed().as_secs()).unwrap_or(i64::MAX);
            if let Err(err) = self
                .store
                .renew_chunked_upload_claim(id, claimed_at.saturating_add(elapsed))
                .await
            {
                tracing::warn!(upload_id = %id, error = %err, "could not renew a chunked upload's completion claim");
            }
        }
    }

    /// Cancels upload `id` and deletes its chunks; 409 while it is being
    /// completed.
    pub async fn cancel_chunked_upload(&self, actor: &Principal, id: &str, now: i64) -> AppResult<()> {
        self.own_upload(actor, id).await?;
        if !self
            .store
            .delete_unclaimed_chunked_upload(id, now - COMPLETION_STALE_AFTER)
            .await?
        {
            return Err(busy());
        }
        remove_folder(&self.uploads_dir().await?.join(id)).await;
        tracing::info!(upload_id = %id, "chunked upload cancelled");
        Ok(())
    }

    /// Deletes uploads untouched for `ABANDONED_AFTER`, and chunk folders
    /// whose upload is gone (a deleted user or platform, a crash): how many
    /// folders went.
    pub async fn sweep_abandoned_uploads(&self, now: i64) -> AppResult<usize> {
        let abandoned = self
            .store
            .delete_untouched_chunked_uploads(now.saturating_sub(ABANDONED_AFTER))
            .await?;
        let Some(uploads) = self.existing_uploads_dir().await? else {
            return Ok(0);
        };
        let mut removed = 0;
        for id in &abandoned {
            remove_folder(&uploads.join(id)).await;
            removed += 1;
        }
        let mut entries = tokio::fs::read_dir(&uploads)
            .await
            .map_err(|e| io_error("reading", &uploads, e))?;
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(|e| io_error("reading", &uploads, e))?
        {
            let name = entry.file_name();
            let Some(id) = name.to_str().filter(|n| is_upload_id(n)) else {
                continue;
            };
            if self.store.find_chunked_upload(id).await?.is_none() {
                remove_folder(&entry.path()).await;
                removed += 1;
            }
        }
        if removed > 0 {
            tracing::info!(removed, "abandoned chunked uploads removed");
        }
        Ok(removed)
    }
}
