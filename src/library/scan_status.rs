//! What the scanner is doing now, for the library page and the task API: a
//! scan started by the button may outlast the request, and the page then
//! shows its progress until it ends. Kept in this process (the scan runs
//! here); a page served by another instance shows the counts once the scan
//! has written them.
//!
//! The hashing threads count files and bytes in atomics as they go (a read
//! of the status between two buffers of one large file sees it move); the
//! rest of the state changes once per platform folder, under a mutex.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

use super::ScanReport;

/// How far a running scan is, in games and bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ScanProgress {
    /// Games compared with the database (and hashed, when they changed).
    pub files_done: u64,
    /// Games in the library, counted when the scan started.
    pub files_total: u64,
    /// Bytes read and hashed so far (0 for a library that did not change).
    pub bytes_hashed: u64,
}

/// The scanner's state, as last reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ScanStatus {
    /// No scan since this process started.
    #[default]
    Idle,
    /// A scan is walking the platform folders.
    Running {
        platforms_done: usize,
        platforms_total: usize,
        so_far: ScanReport,
        progress: ScanProgress,
    },
    /// The last scan's report.
    Finished(ScanReport),
    /// The last scan stopped with this message (the log has the detail).
    Failed(String),
}

/// Shared by every clone of `Library`.
#[derive(Debug, Clone, Default)]
pub(super) struct ScanStatusCell {
    status: Arc<Mutex<ScanStatus>>,
    counters: Arc<Counters>,
}

/// Moved by the hashing threads while a scan runs.
#[derive(Debug, Default)]
pub(super) struct Counters {
    files_done: AtomicU64,
    bytes_hashed: AtomicU64,
}

impl Counters {
    pub(super) fn file_done(&self) {
        self.files_done.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn hashed(&self, bytes: usize) {
        let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
        self.bytes_hashed.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(super) fn bytes_hashed(&self) -> u64 {
        self.bytes_hashed.load(Ordering::Relaxed)
    }

    fn reset(&self) {
        self.files_done.store(0, Ordering::Relaxed);
        self.bytes_hashed.store(0, Ordering::Relaxed);
    }
}

impl ScanStatusCell {
    /// The status, with a running scan's live counts.
    pub(super) fn get(&self) -> ScanStatus {
        let mut status = self.lock().clone();
        if let ScanStatus::Running { progress, .. } = &mut status {
            progress.files_done = self.counters.files_done.load(Ordering::Relaxed);
            progress.bytes_hashed = self.counters.bytes_hashed();
        }
        status
    }

    /// A scan starts: counts go back to zero.
    pub(super) fn start(&self) -> Arc<Counters> {
        self.counters.reset();
        self.set(ScanStatus::Running {
            platforms_done: 0,
            platforms_total: 0,
            so_far: ScanReport::default(),
            progress: ScanProgress::default(),
        });
        Arc::clone(&self.counters)
    }

    /// Also what the metrics show of the scan.
    pub(super) fn set(&self, status: ScanStatus) {
        match &status {
            ScanStatus::Idle => {}
            ScanStatus::Running {
                platforms_done,
                platforms_total,
                ..
            } => crate::metrics::scan_progress(*platforms_done, *platforms_total),
            ScanStatus::Finished(report) => {
                crate::metrics::scan_progress(report.platforms, report.platforms);
                crate::metrics::scan_ended(Some(report.roms));
            }
            ScanStatus::Failed(_) => crate::metrics::scan_ended(None),
        }
        *self.lock() = status;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ScanStatus> {
        self.status.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_scan_reports_the_hashing_threads_counts() {
        let cell = ScanStatusCell::default();
        let counters = cell.start();
        counters.file_done();
        counters.hashed(4096);
        counters.hashed(10);
        let ScanStatus::Running { progress, .. } = cell.get() else {
            panic!("running");
        };
        assert_eq!((progress.files_done, progress.bytes_hashed), (1, 4106));
        // A finished scan's report is kept as it was written.
        cell.set(ScanStatus::Finished(ScanReport::default()));
        assert_eq!(cell.get(), ScanStatus::Finished(ScanReport::default()));
        // The next scan starts from zero.
        cell.start();
        let ScanStatus::Running { progress, .. } = cell.get() else {
            panic!("running");
        };
        assert_eq!(progress, ScanProgress::default());
    }
}
