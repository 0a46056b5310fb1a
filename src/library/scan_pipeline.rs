//! The scan's pipeline: files being hashed, hashed files waiting for their
//! batch, the batch being written (in a task of its own, so hashing goes on
//! meanwhile), and the platform folders not finished yet. `scan` drives it.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::Mutex;
use tokio::task::JoinSet;

use super::scan_hash::HashJob;
use super::scan_walk::{Found, blocking, mtime_ns};
use crate::error::{AppError, AppResult};
use crate::store::{RomUpsert, Store};

/// The files being hashed, those hashed but not yet written, the write
/// under way, and the platforms not finished yet.
#[derive(Default)]
pub(super) struct Pipeline {
    pub(super) hashing: JoinSet<(HashJob, std::io::Result<Option<String>>)>,
    pub(super) batch: Vec<Hashed>,
    pub(super) writing: Option<tokio::task::JoinHandle<AppResult<Written>>>,
    /// In scan order.
    pub(super) unfinished: VecDeque<Unfinished>,
    pub(super) platforms_done: usize,
    pub(super) platforms_total: usize,
    pub(super) files_total: u64,
}

/// A platform with files still being hashed: its games, and how many of
/// them are still to hash.
pub(super) struct Unfinished {
    pub(super) platform_id: i64,
    pub(super) slug: String,
    pub(super) games: usize,
    pub(super) left: usize,
}

impl Pipeline {
    /// Waits for the write under way, if any: what it wrote.
    pub(super) async fn written(&mut self) -> AppResult<Written> {
        match self.writing.take() {
            Some(writing) => writing
                .await
                .map_err(|e| AppError::internal_from("writing scanned ROMs", e))?,
            None => Ok(Written::default()),
        }
    }
}

/// What a batch's write added and updated.
#[derive(Default)]
pub(super) struct Written {
    pub(super) added: usize,
    pub(super) updated: usize,
}

/// Writes the hashed files of `batch` still on disk as they were listed
/// (one blocking call looks at all of them), one platform after another,
/// under the write lock, in name order (two instances scanning at once
/// lock rows in the same order). A file deleted, or replaced by an upload,
/// since it was listed is left out: its row is the upload's now, and the
/// next scan reads the new file.
pub(super) async fn write_rows(
    store: Store,
    writes: Arc<Mutex<()>>,
    batch: Vec<Hashed>,
    now: i64,
) -> AppResult<Written> {
    let _writes = writes.lock().await;
    let mut present =
        blocking(move || Ok(batch.into_iter().filter(Hashed::still_as_listed).collect::<Vec<_>>())).await?;
    present.sort_by(|a, b| (a.platform_id, &a.row.file_name).cmp(&(b.platform_id, &b.row.file_name)));
    let mut written = Written { added: 0, updated: 0 };
    let mut platforms: Vec<(i64, Vec<RomUpsert>)> = Vec::new();
    for hashed in present {
        if hashed.existed {
            written.updated += 1;
        } else {
            written.added += 1;
        }
        match platforms.last_mut() {
            Some((id, rows)) if *id == hashed.platform_id => rows.push(hashed.row),
            _ => platforms.push((hashed.platform_id, vec![hashed.row])),
        }
    }
    for (platform_id, rows) in platforms {
        store.upsert_roms(platform_id, &rows, now).await?;
    }
    Ok(written)
}

/// A hashed file, waiting for its batch to be written.
pub(super) struct Hashed {
    pub(super) platform_id: i64,
    pub(super) path: PathBuf,
    pub(super) existed: bool,
    pub(super) row: RomUpsert,
}

impl Hashed {
    /// Whether the file is still there as it was listed: for a single file,
    /// the same size and modification time (a folder's totals would cost a
    /// walk; it only has to be there).
    fn still_as_listed(&self) -> bool {
        match std::fs::metadata(&self.path) {
            Ok(meta) if self.row.multi => meta.is_dir(),
            Ok(meta) => i64::try_from(meta.len()).ok() == Some(self.row.size) && mtime_ns(&meta) == self.row.mtime_ns,
            Err(_) => false,
        }
    }
}

pub(super) fn upsert(found: Found, sha256: Option<String>) -> RomUpsert {
    RomUpsert {
        size: found.size_i64(),
        file_name: found.file_name,
        multi: found.multi,
        sha256,
        mtime_ns: found.mtime_ns,
    }
}
