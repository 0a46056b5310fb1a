//! A library scan started by a request (`POST /api/tasks/scan`, the
//! library page's button): the request waits at most `SCAN_WAIT`, below the
//! request timeout, then answers while the scan goes on and logs its report.

use std::time::Duration;

use crate::error::{AppError, AppResult};
use crate::library::ScanReport;
use crate::web::state::AppState;

/// How long a request waits for its scan before letting it go on.
pub const SCAN_WAIT: Duration = Duration::from_secs(20);

/// Runs a scan; its report, or `None` when it takes longer than `wait`
/// (it goes on in the background).
pub async fn scan_waiting(state: &AppState, wait: Duration) -> AppResult<Option<ScanReport>> {
    let library = state.library.clone();
    let now = state.now();
    let scan = tokio::spawn(async move { library.scan(now).await });
    match tokio::time::timeout(wait, scan).await {
        Ok(joined) => Ok(Some(joined.map_err(|e| AppError::internal_from("scan task", e))??)),
        Err(_) => Ok(None),
    }
}
