//! The ROM library: `<ROMM_LIBRARY_PATH>/roms/<platform>/<file or folder>`,
//! mirrored into the database by the scanner, read and changed through the
//! flows here. No HTTP types: the API and the pages call the same flows.
//!
//! Guarantees: every path built from a request stays inside the library
//! (see `paths`); an upload appears under its final name complete or not at
//! all (see `placing`, `upload` and `chunked`); within one instance, a scan never removes the row of
//! a file an upload just added, nor records a file a delete just removed
//! (see `scan`), yet uploads and deletes need not wait for a long scan.

mod chunk_files;
mod chunked;
mod folder_files;
mod listing;
mod paths;
mod placing;
pub mod platform_names;
mod scan;
mod scan_hash;
mod scan_pipeline;
mod scan_runs;
mod scan_status;
mod scan_walk;
mod upload;

pub use chunk_files::{ChunkWriter, MAX_CHUNK_BYTES};
pub use chunked::{ABANDONED_AFTER, COMPLETION_STALE_AFTER, ChunkReceipt, ChunkedStart, MAX_OPEN_UPLOADS};
pub use listing::{DEFAULT_PAGE, MAX_PAGE, RomQuery, rom_order, split_extension};
pub use paths::{check_name, check_new_slug};
pub use scan::ScanReport;
pub use scan_runs::{RunState, ScanRun};
pub use scan_status::{ScanProgress, ScanStatus};

pub use upload::{Upload, too_large};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::Mutex;

use crate::auth::{Principal, Scope};
use crate::error::{AppError, AppResult, Code, Kind};
use crate::store::{Platform, Rom, Store};

#[derive(Clone)]
pub struct Library {
    root: PathBuf,
    store: Store,
    max_upload_bytes: u64,
    /// Held briefly by each change: a scan's comparisons and batches, the
    /// last step of an upload, a delete.
    writes: Arc<Mutex<()>>,
    /// One scan at a time.
    scans: Arc<Mutex<()>>,
    /// The running or last scan, for the library page.
    scan_status: scan_status::ScanStatusCell,
    /// The last scans as task runs, for RomM's task API.
    scan_runs: scan_runs::ScanRuns,
}

/// A ROM file opened for download, with what its validators (ETag,
/// Last-Modified) are made of: read from the open file, so they describe
/// the bytes served.
pub struct RomFile {
    pub file: tokio::fs::File,
    pub size: u64,
    pub file_name: String,
    /// The ROM's id: part of the ETag.
    pub rom_id: i64,
    /// The file's modification time, when the filesystem keeps one.
    pub modified: Option<std::time::SystemTime>,
}

impl RomFile {
    fn new(file: tokio::fs::File, meta: &std::fs::Metadata, rom_id: i64, file_name: String) -> Self {
        Self {
            file,
            size: meta.len(),
            file_name,
            rom_id,
            modified: meta.modified().ok(),
        }
    }
}

impl Library {
    pub fn new(root: PathBuf, store: Store, max_upload_bytes: u64) -> Self {
        Self {
            root,
            store,
            max_upload_bytes,
            writes: Arc::new(Mutex::new(())),
            scans: Arc::new(Mutex::new(())),
            scan_status: scan_status::ScanStatusCell::default(),
            scan_runs: scan_runs::ScanRuns::default(),
        }
    }

    pub fn max_upload_bytes(&self) -> u64 {
        self.max_upload_bytes
    }

    /// The canonical library root; `<root>/roms` must be a folder. A missing
    /// folder is refused rather than read as empty, so an unmounted volume
    /// never empties the database.
    async fn canonical_root(&self) -> AppResult<PathBuf> {
        let roms_is_dir = tokio::fs::metadata(self.root.join("roms"))
            .await
            .is_ok_and(|m| m.is_dir());
        let root = match tokio::fs::canonicalize(&self.root).await {
            Ok(root) if roms_is_dir => root,
            _ => {
                tracing::warn!(path = %self.root.display(), "the library folder has no roms/ folder");
                return Err(AppError::refuse(
                    Kind::Conflict,
                    Code::LibraryMissing,
                    "The library folder is missing or has no roms folder.",
                )
                .hint("Set ROMM_LIBRARY_PATH to a folder laid out as roms/<platform>/<files>."));
            }
        };
        Ok(root)
    }

    pub async fn platforms(&self) -> AppResult<Vec<Platform>> {
        Ok(self.store.list_platforms().await?)
    }

    pub async fn platform(&self, slug: &str) -> AppResult<Platform> {
        check_name("platform", slug)?;
        self.store
            .find_platform_by_slug(slug)
            .await?
            .ok_or_else(|| AppError::not_found("No such platform."))
    }

    pub async fn rom(&self, id: i64) -> AppResult<Rom> {
        self.store
            .find_rom(id)
            .await?
            .ok_or_else(|| AppError::not_found("No such ROM."))
    }

    /// ROM `id` if it can be downloaded as one file (a folder is refused
    /// with 400, as `open_rom` refuses it).
    pub async fn downloadable_rom(&self, id: i64) -> AppResult<Rom> {
        let rom = self.rom(id).await?;
        if rom.multi {
            return Err(folder_refused());
        }
        Ok(rom)
    }

    /// Opens ROM `id` for download; `file_name` must be its file name.
    /// A folder (multi-file game) is refused with 400: download its files
    /// from the server's folder instead.
    pub async fn open_rom(&self, id: i64, file_name: &str) -> AppResult<RomFile> {
        check_name("file name", file_name)?;
        let rom = self.rom(id).await?;
        if rom.file_name != file_name {
            return Err(AppError::not_found("This ROM has no file of that name."));
        }
        if rom.multi {
            return Err(folder_refused());
        }
        let root = self.canonical_root().await?;
        let path = paths::resolve_inside(&root, &rom_path(&root, &rom)?).await?;
        // The file may have been swapped (for a link loop, say) since it
        // was resolved.
        let file = tokio::fs::File::open(&path).await.map_err(|e| {
            if paths::leads_nowhere(&e) {
                paths::missing_file()
            } else {
                AppError::internal_from(format!("opening {}", path.display()), e)
            }
        })?;
        let meta = file
            .metadata()
            .await
            .map_err(|e| AppError::internal_from(format!("reading {}", path.display()), e))?;
        if !meta.is_file() {
            return Err(folder_refused());
        }
        Ok(RomFile::new(file, &meta, rom.id, rom.file_name))
    }

    /// Removes ROM `id`: its file (or folder) and its row.
    pub async fn delete_rom(&self, actor: &Principal, id: i64) -> AppResult<Rom> {
        actor.require(&[Scope::RomsWrite])?;
        let rom = self.rom(id).await?;
        let _writes = self.writes.lock().await;
        let root = self.canonical_root().await?;
        let path = rom_path(&root, &rom)?;
        if let Some(dir) = paths::canonical(&root.join("roms").join(&rom.platform_slug)).await? {
            if !dir.starts_with(&root) {
                return Err(paths::outside());
            }
            remove_entry(&dir.join(&rom.file_name)).await?;
        }
        self.store.delete_roms(&[rom.id]).await?;
        tracing::info!(rom_id = rom.id, by = actor.user.id, path = %path.display(), "ROM deleted");
        Ok(rom)
    }
}

fn folder_refused() -> AppError {
    AppError::bad_request(
        Code::FolderRom,
        "This game is a folder of several files; romgate downloads single-file games only.",
    )
}

/// Where a stored ROM lives, after checking the stored names again.
fn rom_path(root: &Path, rom: &Rom) -> AppResult<PathBuf> {
    check_name("platform", &rom.platform_slug)?;
    check_name("file name", &rom.file_name)?;
    Ok(root.join("roms").join(&rom.platform_slug).join(&rom.file_name))
}

/// Removes a file, a symlink (never its target) or a folder; gone is fine.
async fn remove_entry(path: &Path) -> AppResult<()> {
    let result = match tokio::fs::symlink_metadata(path).await {
        Ok(meta) if meta.is_dir() => tokio::fs::remove_dir_all(path).await,
        Ok(_) => tokio::fs::remove_file(path).await,
        Err(err) => Err(err),
    };
    match result {
        Ok(()) => Ok(()),
        Err(err) if paths::leads_nowhere(&err) => Ok(()),
        Err(err) => Err(AppError::internal_from(format!("removing {}", path.display()), err)),
    }
}
