//! The files of a chunked upload: `roms/.romgate-uploads/<id>/<index>` in
//! the library folder, so every instance sharing the folder sees every
//! chunk (the scanner skips hidden names). Guarantees: a chunk is streamed
//! to a hidden temporary and renamed to its index only when whole, so a
//! retried chunk replaces the earlier copy and a broken one leaves nothing;
//! assembly reads the chunks in index order into a new file and never
//! changes them.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender};

use rand::RngCore;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncWriteExt, BufWriter};

use super::Library;
use super::paths::{leads_nowhere, resolve_inside};
use super::placing::{TempFile, io_error};
use crate::error::{AppError, AppResult, Code, Kind};

/// The largest chunk (RomM's clients send 8 to 64 MiB).
pub const MAX_CHUNK_BYTES: u64 = 64 * 1024 * 1024;
/// Bytes buffered before a write to disk.
const WRITE_BUFFER: usize = 256 * 1024;
/// Bytes read at a time while hashing the chunks.
const HASH_BUFFER: usize = 1024 * 1024;
/// The folder of chunked uploads, under `roms/`.
const UPLOADS_FOLDER: &str = ".romgate-uploads";

/// A new upload id: 128 random bits written as a UUID, as RomM's are.
pub fn new_upload_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let hex = hex::encode(bytes);
    let part = |from: usize, to: usize| hex.get(from..to).unwrap_or_default();
    format!(
        "{}-{}-{}-{}-{}",
        part(0, 8),
        part(8, 12),
        part(12, 16),
        part(16, 20),
        part(20, 32)
    )
}

/// Whether `id` has the shape of an upload id (so it is safe as a folder
/// name): 36 characters of lower-case hex and dashes where a UUID has them.
pub fn is_upload_id(id: &str) -> bool {
    id.len() == 36
        && id.char_indices().all(|(at, c)| match at {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_digit() || ('a'..='f').contains(&c),
        })
}

pub fn chunk_too_large() -> AppError {
    AppError::refuse(
        Kind::PayloadTooLarge,
        Code::PayloadTooLarge,
        format!("A chunk may hold at most {MAX_CHUNK_BYTES} bytes (64 MiB)."),
    )
}

pub fn larger_than_announced() -> AppError {
    AppError::bad_request(
        Code::SizeMismatch,
        "This chunk would make the upload's chunks larger than the whole file it announced.",
    )
}

pub fn upload_gone() -> AppError {
    AppError::not_found("No such upload: it was completed, cancelled or abandoned, or it is someone else's.")
}

impl Library {
    /// `roms/.romgate-uploads` in the library, created when missing and
    /// refused unless it resolves inside the library.
    pub(super) async fn uploads_dir(&self) -> AppResult<PathBuf> {
        let root = self.canonical_root().await?;
        let dir = root.join("roms").join(UPLOADS_FOLDER);
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| io_error("creating", &dir, e))?;
        resolve_inside(&root, &dir).await
    }

    /// The uploads folder when it exists (the sweep does not create it).
    pub(super) async fn existing_uploads_dir(&self) -> AppResult<Option<PathBuf>> {
        let root = self.canonical_root().await?;
        let dir = root.join("roms").join(UPLOADS_FOLDER);
        match tokio::fs::symlink_metadata(&dir).await {
            Ok(_) => Ok(Some(resolve_inside(&root, &dir).await?)),
            Err(err) if leads_nowhere(&err) => Ok(None),
            Err(err) => Err(io_error("reading", &dir, err)),
        }
    }
}

/// One chunk on its way to disk. Write the bytes, then `finish`; dropping
/// it instead leaves nothing behind.
pub struct ChunkWriter {
    temp: TempFile,
    dest: PathBuf,
    file: BufWriter<tokio::fs::File>,
    written: u64,
    limit: u64,
}

impl ChunkWriter {
    /// A writer for chunk `index` in `folder`, of at most `room` bytes (the
    /// upload's size less what its other chunks hold). A folder that is
    /// gone is a 404.
    pub async fn create(folder: &Path, index: u64, room: u64) -> AppResult<Self> {
        let (temp, file) = TempFile::create_in(folder)
            .await
            .map_err(|err| if folder_gone(folder) { upload_gone() } else { err })?;
        Ok(Self {
            temp,
            dest: folder.join(index.to_string()),
            file: BufWriter::with_capacity(WRITE_BUFFER, file),
            written: 0,
            limit: room,
        })
    }

    /// Appends `bytes`: 413 past 64 MiB, 400 past the upload's size.
    pub async fn write(&mut self, bytes: &[u8]) -> AppResult<()> {
        self.written = self.written.saturating_add(bytes.len() as u64);
        if self.written > MAX_CHUNK_BYTES {
            return Err(chunk_too_large());
        }
        if self.written > self.limit {
            return Err(larger_than_announced());
        }
        self.file
            .write_all(bytes)
            .await
            .map_err(|e| io_error("writing", self.temp.path(), e))
    }

    /// Puts the whole chunk under its index (replacing an earlier copy).
    pub async fn finish(mut self) -> AppResult<()> {
        self.file
            .flush()
            .await
            .map_err(|e| io_error("writing", self.temp.path(), e))?;
        tokio::fs::rename(self.temp.path(), &self.dest).await.map_err(|e| {
            if leads_nowhere(&e) {
                upload_gone()
            } else {
                io_error("renaming", self.temp.path(), e)
            }
        })
    }
}

/// Whether `folder` is gone (checked after a failure, to tell a cancelled
/// upload from a real error).
fn folder_gone(folder: &Path) -> bool {
    std::fs::symlink_metadata(folder).is_err_and(|e| leads_nowhere(&e))
}

/// What the chunks below `total` in `folder` hold together, but chunk
/// `except` (which a new copy is about to replace).
pub fn stored_bytes(folder: &Path, total: u64, except: u64) -> std::io::Result<u64> {
    let mut bytes = 0u64;
    for entry in std::fs::read_dir(folder)? {
        let entry = entry?;
        let index = entry.file_name().to_str().and_then(|n| n.parse::<u64>().ok());
        if index.is_some_and(|i| i < total && i != except) {
            // A chunk removed meanwhile (a cancel) holds nothing.
            let len = match entry.metadata() {
                Ok(metadata) => metadata.len(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
                Err(e) => return Err(e),
            };
            bytes = bytes.saturating_add(len);
        }
    }
    Ok(bytes)
}

/// How many distinct chunks below `total` are in `folder`.
pub fn count_chunks(folder: &Path, total: u64) -> std::io::Result<u64> {
    let mut count = 0;
    for entry in std::fs::read_dir(folder)? {
        let name = entry?.file_name();
        if name
            .to_str()
            .and_then(|n| n.parse::<u64>().ok())
            .is_some_and(|i| i < total)
        {
            count += 1;
        }
    }
    Ok(count)
}

/// The chunk files `0..total` in order, once each is there and their sizes
/// add up to `total_size`; otherwise the 400 that says what is wrong.
pub fn check_chunks(folder: &Path, total: u64, total_size: u64) -> AppResult<Vec<PathBuf>> {
    let mut chunks = Vec::new();
    let mut missing = Vec::new();
    let mut size: u64 = 0;
    for index in 0..total {
        let path = folder.join(index.to_string());
        match std::fs::metadata(&path) {
            Ok(meta) => size = size.saturating_add(meta.len()),
            Err(err) if leads_nowhere(&err) => missing.push(index),
            Err(err) => return Err(io_error("reading", &path, err)),
        }
        chunks.push(path);
    }
    if !missing.is_empty() {
        let shown: Vec<String> = missing.iter().take(20).map(u64::to_string).collect();
        let more = if missing.len() > shown.len() { ", …" } else { "" };
        return Err(AppError::bad_request(
            Code::MissingChunks,
            format!(
                "{} of {total} chunks are missing: {}{more}. Send them, then complete again.",
                missing.len(),
                shown.join(", ")
            ),
        ));
    }
    if size != total_size {
        return Err(AppError::bad_request(
            Code::SizeMismatch,
            format!("The chunks hold {size} bytes, but the upload announced {total_size}."),
        ));
    }
    Ok(chunks)
}

/// Copies the chunks, in order, into `out` (the kernel copies file to
/// file) while another thread hashes them: the bytes written and their
/// SHA-256. `out` is synced before this returns. Both read the same files:
/// each chunk is opened twice just before it is copied (a chunk sent again
/// meanwhile, renamed over its path, is opened again) and the second handle
/// goes to the hashing thread, so the hash is always of the bytes written.
/// A few chunks are open at a time, however many the upload has.
pub fn assemble(chunks: &[PathBuf], out: &mut File) -> std::io::Result<(u64, String)> {
    std::thread::scope(|scope| {
        // Bounded: the copy runs at most this many chunks ahead of the hash.
        let (to_hash, hashed_files) = std::sync::mpsc::sync_channel::<File>(HASH_QUEUE);
        let hashing = scope.spawn(move || hash_files(hashed_files));
        let copied = copy_files(chunks, out, to_hash);
        let hashed = hashing
            .join()
            .map_err(|_| std::io::Error::other("the hashing thread panicked"))?;
        let copied = copied?;
        out.sync_all()?;
        Ok((copied, hashed?))
    })
}

/// How many chunks the copy may run ahead of the hash (each holds one open
/// file until it is hashed).
const HASH_QUEUE: usize = 4;

/// Two handles on the same file at `path` (the same inode, however often
/// it is replaced meanwhile).
fn open_twice(path: &Path) -> std::io::Result<(File, File)> {
    use std::os::unix::fs::MetadataExt;
    for _ in 0..10 {
        let (first, second) = (File::open(path)?, File::open(path)?);
        let (a, b) = (first.metadata()?, second.metadata()?);
        if (a.dev(), a.ino()) == (b.dev(), b.ino()) {
            return Ok((first, second));
        }
    }
    Err(std::io::Error::other("a chunk kept being replaced while it was opened"))
}

/// Copies each chunk into `out`, handing a second handle on the same file
/// to the hash. Dropping `to_hash` (at the end, or on an error) ends the
/// hash.
fn copy_files(chunks: &[PathBuf], out: &mut File, to_hash: SyncSender<File>) -> std::io::Result<u64> {
    let mut copied = 0;
    for path in chunks {
        let (mut chunk, for_hash) = open_twice(path)?;
        to_hash
            .send(for_hash)
            .map_err(|_| std::io::Error::other("the hashing thread stopped"))?;
        copied += std::io::copy(&mut chunk, out)?;
    }
    Ok(copied)
}

fn hash_files(chunks: Receiver<File>) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; HASH_BUFFER];
    for mut chunk in chunks {
        loop {
            let read = match chunk.read(&mut buffer) {
                Ok(read) => read,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            };
            let Some(bytes) = buffer.get(..read).filter(|b| !b.is_empty()) else {
                break;
            };
            hasher.update(bytes);
        }
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Removes an upload's chunk folder; gone already is fine.
pub async fn remove_folder(folder: &Path) {
    match tokio::fs::remove_dir_all(folder).await {
        Ok(()) => {}
        Err(err) if leads_nowhere(&err) => {}
        Err(err) => tracing::warn!(path = %folder.display(), error = %err, "cannot remove a chunked upload's folder"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_ids_look_like_uuids_and_only_those_pass() {
        let id = new_upload_id();
        assert!(is_upload_id(&id), "{id}");
        assert_ne!(id, new_upload_id());
        for bad in [
            "",
            "../../etc",
            "0123456789abcdef0123456789abcdef",
            "01234567-89ab-cdef-0123-456789ABCDEF",
            "01234567-89ab-cdef-0123-456789abcde/",
            "01234567-89ab-cdef-0123-456789abcdef0",
            "01234567089ab-cdef-0123-456789abcdef",
        ] {
            assert!(!is_upload_id(bad), "{bad}");
        }
    }

    #[test]
    fn chunks_are_checked_and_assembled_in_index_order() {
        let dir = tempfile::tempdir().expect("dir");
        for (index, bytes) in [(1, "world"), (0, "hello ")] {
            std::fs::write(dir.path().join(index.to_string()), bytes).expect("chunk");
        }
        std::fs::write(dir.path().join("7"), "beyond the total").expect("stray");
        assert_eq!(count_chunks(dir.path(), 2).expect("count"), 2);
        let err = check_chunks(dir.path(), 3, 11).expect_err("one missing");
        assert_eq!(err.code(), Some(Code::MissingChunks));
        let err = check_chunks(dir.path(), 2, 12).expect_err("short");
        assert_eq!(err.code(), Some(Code::SizeMismatch));
        let chunks = check_chunks(dir.path(), 2, 11).expect("whole");
        let out_path = dir.path().join("out");
        let mut out = std::fs::File::create(&out_path).expect("out");
        let (size, sha) = assemble(&chunks, &mut out).expect("assembled");
        assert_eq!(size, 11);
        assert_eq!(std::fs::read(&out_path).expect("read"), b"hello world");
        assert_eq!(sha, hex::encode(Sha256::digest(b"hello world")));
    }
}
