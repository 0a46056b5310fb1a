//! The scanner: `<library>/roms/<platform>/<file or folder>` into the
//! database. A rescan adds, updates and removes rows to match the disk and
//! never duplicates one (rows are keyed by platform and file name).
//!
//! Guarantees: files are hashed (SHA-256) in a streaming loop with a small
//! buffer, and only when their size or mtime changed; the database is written
//! in batches, one transaction each; a symbolic link is followed only when it
//! resolves inside the library; hidden entries (upload temporaries among
//! them) and names that are not plain components are skipped.

use std::collections::{HashMap, HashSet};
use std::fs::Metadata;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::paths::check_name;
use super::{Library, ScanStatus};
use crate::error::{AppError, AppResult};
use crate::store::{RomFingerprint, RomUpsert};

/// Rows written per transaction.
const BATCH: usize = 500;
/// Bytes read at a time while hashing.
const HASH_BUFFER: usize = 64 * 1024;
/// How deep the scanner looks inside a multi-file game's folder.
const MAX_FOLDER_DEPTH: usize = 8;

/// What a scan did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct ScanReport {
    pub platforms: usize,
    pub roms: usize,
    pub added: usize,
    pub updated: usize,
    pub removed: usize,
    /// Entries left out: links leading outside the library, names that are
    /// not plain, files that could not be read.
    pub skipped: usize,
}

/// One game found on disk.
struct Found {
    file_name: String,
    multi: bool,
    size: u64,
    mtime_ns: i64,
}

impl Library {
    /// Brings the database in line with the library folder. One scan runs
    /// at a time; uploads and deletes go on meanwhile (see `scan_platform`).
    pub async fn scan(&self, now: i64) -> AppResult<ScanReport> {
        self.scan_with_progress(now, |_, _| {}).await
    }

    /// `scan`, calling `progress` after each platform folder with its slug
    /// and the counts so far (`romgate library scan` prints them).
    pub async fn scan_with_progress(
        &self,
        now: i64,
        mut progress: impl FnMut(&str, &ScanReport) + Send,
    ) -> AppResult<ScanReport> {
        let run = self.scan_runs.queue();
        self.run_scan(&run, now, &mut progress).await
    }

    /// Scan run `run` (see `scan_runs`), once the scan before it has ended.
    pub(super) async fn run_scan(
        &self,
        run: &str,
        now: i64,
        progress: &mut (impl FnMut(&str, &ScanReport) + Send),
    ) -> AppResult<ScanReport> {
        let _scan = self.scans.lock().await;
        self.scan_runs.start(run);
        let result = self.scan_locked(now, progress).await;
        self.scan_runs.end(run, &result);
        self.scan_status.set(match &result {
            Ok(report) => ScanStatus::Finished(report.clone()),
            Err(err) => ScanStatus::Failed(match err.refusal() {
                Some(refusal) => refusal.message.to_string(),
                None => "The scan stopped on an error; the server's log has the details.".to_string(),
            }),
        });
        result
    }

    /// What the scan page shows: the running scan's progress or the last
    /// scan's outcome.
    pub fn scan_status(&self) -> ScanStatus {
        self.scan_status.get()
    }

    async fn scan_locked(
        &self,
        now: i64,
        progress: &mut (impl FnMut(&str, &ScanReport) + Send),
    ) -> AppResult<ScanReport> {
        self.scan_status.set(ScanStatus::Running {
            platforms_done: 0,
            platforms_total: 0,
            so_far: ScanReport::default(),
        });
        let root = self.canonical_root().await?;
        let roms_dir = root.join("roms");
        let walk_root = root.clone();
        let (slugs, skipped) = blocking(move || Ok(list_dir(&walk_root, &roms_dir, Want::Folders))).await?;
        let mut report = ScanReport {
            skipped,
            ..ScanReport::default()
        };
        for (done, (slug, _)) in slugs.iter().enumerate() {
            self.scan_status.set(ScanStatus::Running {
                platforms_done: done,
                platforms_total: slugs.len(),
                so_far: report.clone(),
            });
            self.scan_platform(&root, slug, now, &mut report).await?;
            progress(slug, &report);
        }
        let on_disk: HashSet<&String> = slugs.iter().map(|(name, _)| name).collect();
        let _writes = self.writes.lock().await;
        for platform in self.store.list_platforms().await? {
            // An upload may have made the folder since it was listed.
            let folder = root.join("roms").join(&platform.slug);
            if !on_disk.contains(&platform.slug) && tokio::fs::symlink_metadata(&folder).await.is_err() {
                self.store.delete_platform(platform.id).await?;
                report.removed += usize::try_from(platform.rom_count).unwrap_or(0);
            }
        }
        report.platforms = slugs.len();
        tracing::info!(?report, "library scanned");
        Ok(report)
    }

    /// Comparing the rows with the folder, and removing the rows of files
    /// that are gone, happens under the write lock, so no upload or delete
    /// falls in between. Hashing, the slow part, runs without it; each batch
    /// is written under it, leaving out files deleted in the meantime.
    async fn scan_platform(&self, root: &Path, slug: &str, now: i64, report: &mut ScanReport) -> AppResult<()> {
        let dir = root.join("roms").join(slug);
        let (platform_id, changed) = {
            let _writes = self.writes.lock().await;
            let platform_id = self.store.upsert_platform(slug, now).await?;
            let mut known: HashMap<String, RomFingerprint> = self
                .store
                .rom_fingerprints(platform_id)
                .await?
                .into_iter()
                .map(|f| (f.file_name.clone(), f))
                .collect();
            let (walk_root, walk_dir) = (root.to_path_buf(), dir.clone());
            let (found, skipped) = blocking(move || Ok(list_roms(&walk_root, &walk_dir))).await?;
            report.skipped += skipped;
            report.roms += found.len();
            let changed: Vec<(Found, bool)> = found
                .into_iter()
                .filter_map(|entry| match known.remove(&entry.file_name) {
                    Some(p) if p.size == entry.size_i64() && p.mtime_ns == entry.mtime_ns && p.multi == entry.multi => {
                        None
                    }
                    previous => Some((entry, previous.is_some())),
                })
                .collect();
            let gone: Vec<i64> = known.into_values().map(|f| f.id).collect();
            for ids in gone.chunks(BATCH) {
                self.store.delete_roms(ids).await?;
            }
            report.removed += gone.len();
            (platform_id, changed)
        };
        let mut batch = Vec::with_capacity(BATCH.min(changed.len()));
        for (entry, existed) in changed {
            let sha256 = if entry.multi {
                None
            } else {
                let path = dir.join(&entry.file_name);
                match blocking(move || Ok(hash_file(&path))).await? {
                    Ok(hash) => Some(hash),
                    Err(err) => {
                        tracing::warn!(platform = %slug, file = %entry.file_name, error = %err, "cannot read a ROM; skipped");
                        report.skipped += 1;
                        continue;
                    }
                }
            };
            let row = RomUpsert {
                size: entry.size_i64(),
                file_name: entry.file_name,
                multi: entry.multi,
                sha256,
                mtime_ns: entry.mtime_ns,
            };
            batch.push((row, existed));
            if batch.len() >= BATCH {
                self.write_batch(&dir, platform_id, &mut batch, now, report).await?;
            }
        }
        self.write_batch(&dir, platform_id, &mut batch, now, report).await
    }

    async fn write_batch(
        &self,
        dir: &Path,
        platform_id: i64,
        batch: &mut Vec<(RomUpsert, bool)>,
        now: i64,
        report: &mut ScanReport,
    ) -> AppResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let _writes = self.writes.lock().await;
        let mut rows = Vec::with_capacity(batch.len());
        for (row, existed) in batch.drain(..) {
            if tokio::fs::symlink_metadata(dir.join(&row.file_name)).await.is_err() {
                continue;
            }
            if existed {
                report.updated += 1;
            } else {
                report.added += 1;
            }
            rows.push(row);
        }
        self.store.upsert_roms(platform_id, &rows, now).await?;
        Ok(())
    }
}

impl Found {
    fn size_i64(&self) -> i64 {
        i64::try_from(self.size).unwrap_or(i64::MAX)
    }
}

/// Runs blocking file system work off the async threads.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> AppResult<T> + Send + 'static) -> AppResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError::internal_from("library scan task", e))?
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    Folders,
    Anything,
}

/// The plain-named entries of `dir` (following links that stay inside
/// `root`), sorted by name, and how many were skipped. An unreadable folder
/// is logged and read as empty.
fn list_dir(root: &Path, dir: &Path, want: Want) -> (Vec<(String, Metadata)>, usize) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => {
            tracing::warn!(path = %dir.display(), error = %err, "cannot read a library folder");
            return (Vec::new(), 1);
        }
    };
    let mut found = Vec::new();
    let mut skipped = 0;
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            skipped += 1;
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        match (check_name("file", &name), follow(root, &path)) {
            (Ok(()), Some(meta)) if want == Want::Anything || meta.is_dir() => found.push((name, meta)),
            (Ok(()), Some(_)) => {}
            _ => {
                tracing::warn!(path = %path.display(), "skipped a library entry (odd name, or a link leading outside)");
                skipped += 1;
            }
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    (found, skipped)
}

/// The metadata of `path`, following a symbolic link only when its target
/// is inside `root`. `None` for links leading out, dangling links and
/// anything that is neither a file nor a folder.
fn follow(root: &Path, path: &Path) -> Option<Metadata> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    let meta = if meta.file_type().is_symlink() {
        let target = std::fs::canonicalize(path).ok()?;
        if !target.starts_with(root) {
            return None;
        }
        std::fs::metadata(&target).ok()?
    } else {
        meta
    };
    (meta.is_file() || meta.is_dir()).then_some(meta)
}

/// The games of one platform folder.
fn list_roms(root: &Path, dir: &Path) -> (Vec<Found>, usize) {
    let (entries, mut skipped) = list_dir(root, dir, Want::Anything);
    let mut found = Vec::with_capacity(entries.len());
    for (file_name, meta) in entries {
        if meta.is_dir() {
            let mut totals = (0, mtime_ns(&meta));
            folder_totals(root, &dir.join(&file_name), 0, &mut totals, &mut skipped);
            found.push(Found {
                file_name,
                multi: true,
                size: totals.0,
                mtime_ns: totals.1,
            });
        } else {
            found.push(Found {
                file_name,
                multi: false,
                size: meta.len(),
                mtime_ns: mtime_ns(&meta),
            });
        }
    }
    (found, skipped)
}

/// Adds the sizes of a folder's files and keeps the latest mtime. Linked
/// folders are not entered (no loops).
fn folder_totals(root: &Path, dir: &Path, depth: usize, totals: &mut (u64, i64), skipped: &mut usize) {
    if depth >= MAX_FOLDER_DEPTH {
        *skipped += 1;
        return;
    }
    let (entries, bad) = list_dir(root, dir, Want::Anything);
    *skipped += bad;
    for (name, meta) in entries {
        let path: PathBuf = dir.join(&name);
        totals.1 = totals.1.max(mtime_ns(&meta));
        if meta.is_file() {
            totals.0 = totals.0.saturating_add(meta.len());
        } else if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
            folder_totals(root, &path, depth + 1, totals, skipped);
        }
    }
}

/// Modification time in unix nanoseconds (0 before 1970 or when unknown).
fn mtime_ns(meta: &Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// SHA-256 of a file, read `HASH_BUFFER` bytes at a time.
pub fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; HASH_BUFFER];
    loop {
        let read = match file.read(&mut buffer) {
            Ok(read) => read,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        let Some(chunk) = buffer.get(..read).filter(|c| !c.is_empty()) else {
            break;
        };
        hasher.update(chunk);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The review's case: a file name with a newline could forge a log line.
    #[test]
    fn a_file_name_with_a_newline_is_skipped_and_logged_on_one_line() {
        let library = tempfile::tempdir().unwrap();
        let root = library.path().canonicalize().unwrap();
        let dir = root.join("roms").join("n64");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("fake.z64\nWARN romgate: forged line"), b"rom").unwrap();
        std::fs::write(dir.join("real.z64"), b"rom").unwrap();

        let mut listed = None;
        let logged = crate::logging::capture(|| listed = Some(list_roms(&root, &dir)));
        let (found, skipped) = listed.unwrap();
        let names: Vec<&str> = found.iter().map(|f| f.file_name.as_str()).collect();
        assert_eq!((names, skipped), (vec!["real.z64"], 1));
        assert_eq!(logged.lines().count(), 1, "{logged}");
        assert!(logged.contains(r"fake.z64\nWARN romgate: forged line"), "{logged}");
    }
}
