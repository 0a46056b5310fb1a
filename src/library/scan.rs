//! The scanner: `<library>/roms/<platform>/<file or folder>` into the
//! database. A rescan adds, updates and removes rows to match the disk and
//! never duplicates one (rows are keyed by platform and file name).
//!
//! Guarantees: a file is hashed (SHA-256) only when its size or mtime
//! changed, so a rescan of an unchanged library reads no file contents;
//! hashing runs on blocking threads, as many at once as the machine has
//! cores (see `scan_hash`), never on the async threads; memory is bounded by
//! the largest platform folder's listing, not the library's size; the
//! database is written in batches, one transaction each; a symbolic link is
//! followed only when it resolves inside the library; hidden entries (upload
//! temporaries among them) and names that are not plain components are
//! skipped.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use tokio::task::JoinSet;

use super::scan_hash::{HashJob, hash_job, hashing_threads};
use super::scan_status::{Counters, ScanProgress};
use super::scan_walk::{Found, Want, count_games, list_dir, list_roms};
use super::{Library, ScanStatus};
use crate::error::{AppError, AppResult};
use crate::store::{RomFingerprint, RomUpsert};

/// Rows written per transaction.
const BATCH: usize = 500;

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
    /// Bytes of file contents read and hashed (0 when nothing changed).
    pub bytes_hashed: u64,
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
        let started = Instant::now();
        let counters = self.scan_status.start();
        let root = self.canonical_root().await?;
        let roms_dir = root.join("roms");
        let walk_root = root.clone();
        let (slugs, skipped, files_total) = blocking(move || {
            let (slugs, skipped) = list_dir(&walk_root, &roms_dir, Want::Folders);
            let total = slugs
                .iter()
                .map(|(slug, _)| count_games(&roms_dir.join(slug)))
                .sum::<u64>();
            Ok((slugs, skipped, total))
        })
        .await?;
        let mut report = ScanReport {
            skipped,
            ..ScanReport::default()
        };
        for (done, (slug, _)) in slugs.iter().enumerate() {
            self.scan_status.set(ScanStatus::Running {
                platforms_done: done,
                platforms_total: slugs.len(),
                so_far: report.clone(),
                progress: ScanProgress {
                    files_total,
                    ..ScanProgress::default()
                },
            });
            self.scan_platform(&root, slug, now, &counters, &mut report).await?;
            report.bytes_hashed = counters.bytes_hashed();
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
        report.bytes_hashed = counters.bytes_hashed();
        let ms = started.elapsed().as_millis();
        tracing::info!(?report, ms, "library scanned");
        Ok(report)
    }

    /// Comparing the rows with the folder, and removing the rows of files
    /// that are gone, happens under the write lock, so no upload or delete
    /// falls in between. Hashing, the slow part, runs without it, on up to
    /// one thread per core; each batch is written under it, leaving out
    /// files deleted in the meantime.
    async fn scan_platform(
        &self,
        root: &Path,
        slug: &str,
        now: i64,
        counters: &Arc<Counters>,
        report: &mut ScanReport,
    ) -> AppResult<()> {
        let dir = root.join("roms").join(slug);
        let (platform_id, changed) = self.compare_platform(root, &dir, slug, now, counters, report).await?;
        let mut jobs = changed.into_iter();
        let mut hashing = JoinSet::new();
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            while hashing.len() < hashing_threads() {
                let Some((found, existed)) = jobs.next() else { break };
                let job = HashJob {
                    path: dir.join(&found.file_name),
                    found,
                    existed,
                };
                let counters = Arc::clone(counters);
                hashing.spawn_blocking(move || hash_job(job, &counters));
            }
            let Some(joined) = hashing.join_next().await else { break };
            let (job, hashed) = joined.map_err(|e| AppError::internal_from("hashing a ROM", e))?;
            let sha256 = match hashed {
                Ok(sha256) => sha256,
                Err(err) => {
                    tracing::warn!(platform = %slug, file = %job.found.file_name, error = %err, "cannot read a ROM; skipped");
                    report.skipped += 1;
                    continue;
                }
            };
            batch.push((upsert(job.found, sha256), job.existed));
            if batch.len() >= BATCH {
                self.write_batch(&dir, platform_id, &mut batch, now, report).await?;
            }
        }
        self.write_batch(&dir, platform_id, &mut batch, now, report).await
    }

    /// Under the write lock: the platform's row, the rows of files gone
    /// from the folder removed, and the games that are new or changed.
    async fn compare_platform(
        &self,
        root: &Path,
        dir: &Path,
        slug: &str,
        now: i64,
        counters: &Counters,
        report: &mut ScanReport,
    ) -> AppResult<(i64, Vec<(Found, bool)>)> {
        let _writes = self.writes.lock().await;
        let platform_id = self.store.upsert_platform(slug, now).await?;
        let mut known: HashMap<String, RomFingerprint> = self
            .store
            .rom_fingerprints(platform_id)
            .await?
            .into_iter()
            .map(|f| (f.file_name.clone(), f))
            .collect();
        let (walk_root, walk_dir) = (root.to_path_buf(), dir.to_path_buf());
        let (found, skipped) = blocking(move || Ok(list_roms(&walk_root, &walk_dir))).await?;
        report.skipped += skipped;
        report.roms += found.len();
        let changed: Vec<(Found, bool)> = found
            .into_iter()
            .filter_map(|entry| match known.remove(&entry.file_name) {
                Some(p) if p.size == entry.size_i64() && p.mtime_ns == entry.mtime_ns && p.multi == entry.multi => {
                    counters.file_done();
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
        Ok((platform_id, changed))
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

fn upsert(found: Found, sha256: Option<String>) -> RomUpsert {
    RomUpsert {
        size: found.size_i64(),
        file_name: found.file_name,
        multi: found.multi,
        sha256,
        mtime_ns: found.mtime_ns,
    }
}

/// Runs blocking file system work off the async threads.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> AppResult<T> + Send + 'static) -> AppResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError::internal_from("library scan task", e))?
}
