//! The scanner: `<library>/roms/<platform>/<file or folder>` into the
//! database. A rescan adds, updates and removes rows to match the disk and
//! never duplicates one (rows are keyed by platform and file name).
//!
//! Guarantees: a file is hashed (SHA-256) only when its size or mtime
//! changed, so a rescan of an unchanged library reads no file contents;
//! hashing runs on blocking threads, two files per core in flight, in one
//! pipeline across platform folders (see `scan_hash`), never on the async
//! threads; memory is bounded by the largest platform folder's listing, not
//! the library's size; the database is written in batches, one transaction
//! each, while hashing goes on; a symbolic link is
//! followed only when it resolves inside the library; hidden entries (upload
//! temporaries among them) and names that are not plain components are
//! skipped.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use super::scan_hash::{HashJob, hash_job, hashing_threads};
use super::scan_pipeline::{Hashed, Pipeline, Unfinished, Written, upsert, write_rows};
use super::scan_status::{Counters, ScanProgress};
use super::scan_walk::{Found, Want, blocking, count_games, list_dir, list_roms};
use super::{Library, ScanStatus};
use crate::error::{AppError, AppResult};
use crate::store::RomFingerprint;

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

impl ScanReport {
    fn count(&mut self, written: Written) {
        self.added += written.added;
        self.updated += written.updated;
    }
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
        let (slugs, skipped, roms_listed_whole, files_total) = blocking(move || {
            let listing = list_dir(&walk_root, &roms_dir, Want::Folders);
            let total = listing
                .entries
                .iter()
                .map(|(slug, _)| count_games(&roms_dir.join(slug)))
                .sum::<u64>();
            Ok((listing.entries, listing.skipped, listing.complete, total))
        })
        .await?;
        let mut report = ScanReport {
            skipped,
            ..ScanReport::default()
        };
        // One pipeline of hashing for the whole library: the next
        // platform's files are queued while the last ones of the previous
        // platform are still being hashed, so no core waits at a platform's
        // end (a few large files would otherwise leave one idle).
        let mut pipeline = Pipeline {
            platforms_total: slugs.len(),
            files_total,
            ..Pipeline::default()
        };
        self.show_running(&pipeline, &report);
        for (slug, _) in &slugs {
            let dir = root.join("roms").join(slug);
            let Compared {
                platform_id,
                games,
                changed,
            } = self
                .compare_platform(&root, &dir, slug, now, &counters, &mut report)
                .await?;
            pipeline.unfinished.push_back(Unfinished {
                platform_id,
                slug: slug.clone(),
                games,
                left: changed.len(),
            });
            for (found, existed) in changed {
                while pipeline.hashing.len() >= 2 * hashing_threads() {
                    self.collect_one(&mut pipeline, now, &mut report).await?;
                    self.finish_platforms(&mut pipeline, &mut report, &counters, progress);
                }
                let job = HashJob {
                    platform_id,
                    path: dir.join(&found.file_name),
                    found,
                    existed,
                };
                let counters = Arc::clone(&counters);
                pipeline.hashing.spawn_blocking(move || hash_job(job, &counters));
            }
            self.finish_platforms(&mut pipeline, &mut report, &counters, progress);
        }
        while !pipeline.hashing.is_empty() {
            self.collect_one(&mut pipeline, now, &mut report).await?;
            self.finish_platforms(&mut pipeline, &mut report, &counters, progress);
        }
        self.write_batch(&mut pipeline, now, &mut report).await?;
        report.count(pipeline.written().await?);
        if roms_listed_whole {
            self.remove_gone_platforms(&root, &slugs, &mut report).await?;
        }
        report.platforms = slugs.len();
        report.bytes_hashed = counters.bytes_hashed();
        let ms = started.elapsed().as_millis();
        tracing::info!(?report, ms, "library scanned");
        Ok(report)
    }

    /// Removes the platforms whose folder is gone: not among `slugs` (the
    /// folders of a whole listing of `roms/`) and not found now either (an
    /// upload may have made it since). A folder that cannot be examined (a
    /// share that went away, a permission) is not gone.
    async fn remove_gone_platforms(
        &self,
        root: &Path,
        slugs: &[(String, std::fs::Metadata)],
        report: &mut ScanReport,
    ) -> AppResult<()> {
        let on_disk: HashSet<&String> = slugs.iter().map(|(name, _)| name).collect();
        let _writes = self.writes.lock().await;
        for platform in self.store.list_platforms().await? {
            let folder = root.join("roms").join(&platform.slug);
            let gone = tokio::fs::symlink_metadata(&folder)
                .await
                .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound);
            if !on_disk.contains(&platform.slug) && gone {
                self.store.delete_platform(platform.id).await?;
                report.removed += usize::try_from(platform.rom_count).unwrap_or(0);
            }
        }
        Ok(())
    }

    /// Reports the platforms at the front whose files are all hashed: the
    /// status (what the library page and the task API show) and `progress`
    /// (what `romgate library scan` prints), in scan order.
    fn finish_platforms(
        &self,
        pipeline: &mut Pipeline,
        report: &mut ScanReport,
        counters: &Counters,
        progress: &mut (impl FnMut(&str, &ScanReport) + Send),
    ) {
        while let Some(platform) = pipeline.unfinished.pop_front() {
            if platform.left > 0 {
                pipeline.unfinished.push_front(platform);
                return;
            }
            pipeline.platforms_done += 1;
            report.roms += platform.games;
            report.bytes_hashed = counters.bytes_hashed();
            self.show_running(pipeline, report);
            progress(&platform.slug, report);
        }
    }

    fn show_running(&self, pipeline: &Pipeline, report: &ScanReport) {
        self.scan_status.set(ScanStatus::Running {
            platforms_done: pipeline.platforms_done,
            platforms_total: pipeline.platforms_total,
            so_far: report.clone(),
            progress: ScanProgress {
                files_total: pipeline.files_total,
                ..ScanProgress::default()
            },
        });
    }

    /// Waits for one hashed file and adds it to the batch, writing the
    /// batch when full. Comparing the rows with a folder, and removing the
    /// rows of files that are gone, happens under the write lock
    /// (`compare_platform`), so no upload or delete falls in between.
    /// Hashing, the slow part, runs without it, two files per core in
    /// flight (each core has the next file queued while it hashes one);
    /// each batch is written under it, leaving out files deleted in the
    /// meantime.
    async fn collect_one(&self, pipeline: &mut Pipeline, now: i64, report: &mut ScanReport) -> AppResult<()> {
        let Some(joined) = pipeline.hashing.join_next().await else {
            return Ok(());
        };
        let (job, hashed) = joined.map_err(|e| AppError::internal_from("hashing a ROM", e))?;
        if let Some(platform) = pipeline
            .unfinished
            .iter_mut()
            .find(|p| p.platform_id == job.platform_id)
        {
            platform.left -= 1;
        }
        match hashed {
            Ok(sha256) => pipeline.batch.push(Hashed {
                platform_id: job.platform_id,
                path: job.path,
                existed: job.existed,
                row: upsert(job.found, sha256),
            }),
            Err(err) => {
                tracing::warn!(path = %job.path.display(), error = %err, "cannot read a ROM; skipped");
                report.skipped += 1;
            }
        }
        if pipeline.batch.len() >= BATCH {
            self.write_batch(pipeline, now, report).await?;
        }
        Ok(())
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
    ) -> AppResult<Compared> {
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
        let listing = blocking(move || Ok(list_roms(&walk_root, &walk_dir))).await?;
        report.skipped += listing.skipped;
        // A game whose folder could not be read keeps its row as it is.
        for name in &listing.unsure {
            known.remove(name);
        }
        let games = listing.found.len() + listing.unsure.len();
        let changed: Vec<(Found, bool)> = listing
            .found
            .into_iter()
            .filter_map(|entry| match known.remove(&entry.file_name) {
                Some(p) if p.size == entry.size_i64() && p.mtime_ns == entry.mtime_ns && p.multi == entry.multi => {
                    counters.file_done();
                    None
                }
                previous => Some((entry, previous.is_some())),
            })
            .collect();
        // A folder that could not be read whole says nothing of what is
        // gone: a share that went away must not empty the platform.
        let mut gone: Vec<i64> = if listing.complete {
            known.into_values().map(|f| f.id).collect()
        } else {
            Vec::new()
        };
        // In id order: two instances scanning at once lock rows alike.
        gone.sort_unstable();
        for ids in gone.chunks(BATCH) {
            self.store.delete_roms(ids).await?;
        }
        report.removed += gone.len();
        Ok(Compared {
            platform_id,
            games,
            changed,
        })
    }

    /// Starts writing the batch, in a task of its own so that hashing goes
    /// on meanwhile (a batch of 500 rows takes 5 to 45 ms, measured in
    /// bench/README.md, "Scan"), after the previous batch's write has ended:
    /// one write at a time, in order.
    async fn write_batch(&self, pipeline: &mut Pipeline, now: i64, report: &mut ScanReport) -> AppResult<()> {
        report.count(pipeline.written().await?);
        if pipeline.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut pipeline.batch);
        let (store, writes) = (self.store.clone(), Arc::clone(&self.writes));
        pipeline.writing = Some(tokio::spawn(write_rows(store, writes, batch, now)));
        Ok(())
    }
}

/// A platform folder compared with its rows: its games, and those new or
/// changed (with whether a row existed).
struct Compared {
    platform_id: i64,
    games: usize,
    changed: Vec<(Found, bool)>,
}
