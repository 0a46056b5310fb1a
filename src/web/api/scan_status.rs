//! `GET /api/tasks/scan`: what the scanner is doing (tasks.run, like
//! starting a scan): a running scan's platforms, games checked of the
//! total and bytes hashed, or the last scan's report or failure.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::library::{ScanProgress, ScanReport, ScanStatus};
use crate::web::extract::{Authorized, TasksRun};
use crate::web::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/tasks/scan", get(scan_status))
}

/// One shape for every state; fields that do not apply are left out.
#[derive(Serialize, Default)]
struct ScanStatusView {
    /// `idle`, `running`, `finished` or `failed`.
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    platforms_done: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    platforms_total: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    progress: Option<ScanProgress>,
    /// The counts so far (running) or the final report (finished).
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<ScanReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

impl From<ScanStatus> for ScanStatusView {
    fn from(status: ScanStatus) -> Self {
        match status {
            ScanStatus::Idle => Self {
                state: "idle",
                ..Self::default()
            },
            ScanStatus::Running {
                platforms_done,
                platforms_total,
                so_far,
                progress,
            } => Self {
                state: "running",
                platforms_done: Some(platforms_done),
                platforms_total: Some(platforms_total),
                progress: Some(progress),
                report: Some(so_far),
                message: None,
            },
            ScanStatus::Finished(report) => Self {
                state: "finished",
                report: Some(report),
                ..Self::default()
            },
            ScanStatus::Failed(message) => Self {
                state: "failed",
                message: Some(message),
                ..Self::default()
            },
        }
    }
}

async fn scan_status(State(state): State<AppState>, _: Authorized<TasksRun>) -> Json<ScanStatusView> {
    Json(state.library.scan_status().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_scan_shows_its_progress_and_counts_so_far() {
        let running = ScanStatus::Running {
            platforms_done: 1,
            platforms_total: 3,
            so_far: ScanReport {
                roms: 12,
                ..ScanReport::default()
            },
            progress: ScanProgress {
                files_done: 7,
                files_total: 30,
                bytes_hashed: 4096,
            },
        };
        let json = serde_json::to_value(ScanStatusView::from(running)).unwrap();
        assert_eq!(json["state"], "running");
        assert_eq!(
            (json["platforms_done"].as_u64(), json["platforms_total"].as_u64()),
            (Some(1), Some(3))
        );
        assert_eq!(
            json["progress"],
            serde_json::json!({"files_done": 7, "files_total": 30, "bytes_hashed": 4096})
        );
        assert_eq!(json["report"]["roms"], 12);
        let failed = serde_json::to_value(ScanStatusView::from(ScanStatus::Failed("gone".into()))).unwrap();
        assert_eq!(failed, serde_json::json!({"state": "failed", "message": "gone"}));
    }
}
