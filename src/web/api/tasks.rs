//! RomM's task API (tasks.run): the registry, the runs' status, and running
//! the one task romgate has, `scan_library` (the library scan). The shapes
//! are RomM's (`backend/endpoints/tasks.py` and its responses): a registry
//! grouped as scheduled / manual / watcher, a run as `task_id`, `status`
//! (RQ's words: queued, started, finished, failed), ISO times, `task_type`
//! and `meta.scan_stats`. Runs are this instance's (see
//! `library::ScanRun`); `POST /api/tasks/scan` stays as it was.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

use crate::clock::format_time;
use crate::error::{AppError, AppResult};
use crate::library::{RunState, ScanReport, ScanRun, ScanStatus};
use crate::web::extract::{ApiPath, Authorized, TasksRun};
use crate::web::state::AppState;

/// RomM's name for the library scan.
const SCAN_TASK: &str = "scan_library";
const SCAN_TITLE: &str = "Scan library";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/tasks", get(list_tasks))
        .route("/api/tasks/status", get(list_task_runs))
        .route("/api/tasks/{task_id}", get(get_task_run))
        .route("/api/tasks/run/{task_name}", post(run_task))
}

/// RomM's `TaskInfo`.
#[derive(Serialize)]
struct TaskInfo {
    name: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    manual_run: bool,
    title: &'static str,
    description: &'static str,
    enabled: bool,
    cron_string: &'static str,
}

/// RomM's registry, grouped by how a task runs. romgate runs its scan at
/// start and on demand, never on a schedule.
#[derive(Serialize)]
struct TaskRegistry {
    scheduled: Vec<TaskInfo>,
    manual: Vec<TaskInfo>,
    watcher: Vec<TaskInfo>,
}

/// RomM's `ScanStats`, in its current names and the earlier ones
/// (`new_roms`, `identified_roms`, `new_firmware`). romgate identifies no
/// games against metadata sources and keeps no firmware: those stay 0.
#[derive(Serialize, Default)]
struct ScanStats {
    total_platforms: usize,
    total_roms: usize,
    scanned_platforms: usize,
    new_platforms: usize,
    identified_platforms: usize,
    scanned_roms: usize,
    added_roms: usize,
    new_roms: usize,
    metadata_roms: usize,
    identified_roms: usize,
    scanned_firmware: usize,
    added_firmware: usize,
    new_firmware: usize,
}

#[derive(Serialize)]
struct ScanMeta {
    scan_stats: Option<ScanStats>,
    /// romgate's own counts of a finished scan (updated, removed, skipped).
    report: Option<ScanReport>,
}

/// RomM's `ScanTaskStatusResponse` (with `queued_at`, its earlier name for
/// `enqueued_at`).
#[derive(Serialize)]
struct TaskStatus {
    task_name: &'static str,
    task_id: String,
    task_type: &'static str,
    status: &'static str,
    created_at: String,
    enqueued_at: String,
    queued_at: String,
    started_at: Option<String>,
    ended_at: Option<String>,
    meta: ScanMeta,
}

async fn list_tasks(_: Authorized<TasksRun>) -> Json<TaskRegistry> {
    let scan = TaskInfo {
        name: SCAN_TASK,
        kind: "scan",
        manual_run: true,
        title: SCAN_TITLE,
        description: "Brings the library in line with the library folder: new, changed and removed files",
        enabled: true,
        cron_string: "",
    };
    Json(TaskRegistry {
        scheduled: Vec::new(),
        manual: vec![scan],
        watcher: Vec::new(),
    })
}

async fn list_task_runs(State(state): State<AppState>, _: Authorized<TasksRun>) -> Json<Vec<TaskStatus>> {
    let progress = state.library.scan_status();
    let runs = state.library.scan_runs();
    Json(runs.into_iter().map(|run| task_status(run, &progress)).collect())
}

async fn get_task_run(
    State(state): State<AppState>,
    _: Authorized<TasksRun>,
    ApiPath(task_id): ApiPath<String>,
) -> AppResult<Json<TaskStatus>> {
    let progress = state.library.scan_status();
    let run = state.library.scan_run(&task_id).ok_or_else(no_such_task)?;
    Ok(Json(task_status(run, &progress)))
}

/// Starts the task and answers at once with its run (RomM's clients then
/// poll `GET /api/tasks/{task_id}`).
async fn run_task(
    State(state): State<AppState>,
    _: Authorized<TasksRun>,
    ApiPath(task_name): ApiPath<String>,
) -> AppResult<Json<TaskStatus>> {
    if task_name != SCAN_TASK {
        return Err(no_such_task());
    }
    let id = state.library.start_scan(state.now());
    let run = state.library.scan_run(&id).ok_or_else(no_such_task)?;
    Ok(Json(task_status(run, &state.library.scan_status())))
}

fn no_such_task() -> AppError {
    AppError::not_found("No such task. romgate runs one task: scan_library.")
}

/// A run in RomM's shape; `progress` is the scanner's state, read for the
/// run that is going on.
fn task_status(run: ScanRun, progress: &ScanStatus) -> TaskStatus {
    let (status, scan_stats) = match run.state {
        RunState::Queued => ("queued", None),
        RunState::Started => ("started", running_stats(progress)),
        RunState::Finished => ("finished", run.report.as_ref().map(finished_stats)),
        RunState::Failed => ("failed", None),
    };
    let created = format_time(run.created_at);
    TaskStatus {
        task_name: SCAN_TITLE,
        task_id: run.id,
        task_type: "scan",
        status,
        enqueued_at: created.clone(),
        queued_at: created.clone(),
        created_at: created,
        started_at: run.started_at.map(format_time),
        ended_at: run.ended_at.map(format_time),
        meta: ScanMeta {
            scan_stats,
            report: run.report,
        },
    }
}

fn running_stats(progress: &ScanStatus) -> Option<ScanStats> {
    match progress {
        ScanStatus::Running {
            platforms_done,
            platforms_total,
            so_far,
            ..
        } => Some(ScanStats {
            total_platforms: *platforms_total,
            scanned_platforms: *platforms_done,
            ..counted(so_far)
        }),
        _ => None,
    }
}

fn finished_stats(report: &ScanReport) -> ScanStats {
    ScanStats {
        total_platforms: report.platforms,
        scanned_platforms: report.platforms,
        ..counted(report)
    }
}

/// The ROM counts of a report, under RomM's names.
fn counted(report: &ScanReport) -> ScanStats {
    ScanStats {
        total_roms: report.roms,
        scanned_roms: report.roms,
        added_roms: report.added,
        new_roms: report.added,
        ..ScanStats::default()
    }
}
