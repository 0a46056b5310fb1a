//! What the scanner is doing now, for the library page: a scan started by
//! the button may outlast the request, and the page then shows its progress
//! until it ends. Kept in this process (the scan runs here); a page served
//! by another instance shows the counts once the scan has written them.

use std::sync::{Arc, Mutex, PoisonError};

use super::ScanReport;

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
    },
    /// The last scan's report.
    Finished(ScanReport),
    /// The last scan stopped with this message (the log has the detail).
    Failed(String),
}

/// Shared by every clone of `Library`.
#[derive(Debug, Clone, Default)]
pub(super) struct ScanStatusCell(Arc<Mutex<ScanStatus>>);

impl ScanStatusCell {
    pub(super) fn get(&self) -> ScanStatus {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
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
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = status;
    }
}
