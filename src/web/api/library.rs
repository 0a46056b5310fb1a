//! The library API (RomM's paths and scopes). Handlers parse, call one flow
//! of `crate::library` and map the result; the scope is in each signature.

use axum::Json;
use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Serialize;

use crate::error::{AppError, AppResult, Code};
use crate::library::{ScanReport, platform_names, split_extension};
use crate::store::{Platform, Rom};
use crate::web::api::roms_query::rom_query;
use crate::web::download::{DownloadRequest, file_response, rom_download_path};
use crate::web::extract::{ApiPath, Authorized, DownloadReader, PlatformsRead, RomsRead, RomsWrite, TasksRun};
use crate::web::scan::{SCAN_WAIT, scan_waiting};
use crate::web::state::AppState;
use crate::web::upload::{not_multipart, receive_upload};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/platforms", get(list_platforms))
        .route("/api/roms", get(list_roms))
        .route("/api/roms/{id}", get(get_rom).delete(delete_rom))
        // A catch-all, so a name with a slash reaches the check (400) rather
        // than missing the route (404).
        .route("/api/roms/{id}/content/{*file_name}", get(get_rom_content))
        .route("/api/tasks/scan", post(run_scan))
}

/// Routes whose body is a file: outside the request timeout, under their
/// own body limit (see `web::router`).
pub fn upload_routes() -> Router<AppState> {
    Router::new().route("/api/roms", post(upload_rom))
}

/// A platform, with RomM's names for it: `fs_slug` (its folder) and
/// `display_name`; `name` is the readable name too, as RomM's clients
/// show it.
#[derive(Serialize)]
struct PlatformView {
    id: i64,
    slug: String,
    fs_slug: String,
    name: String,
    display_name: String,
    rom_count: i64,
}

impl From<Platform> for PlatformView {
    fn from(p: Platform) -> Self {
        let display_name = platform_names::display_name(&p.slug, p.name);
        PlatformView {
            id: p.id,
            fs_slug: p.slug.clone(),
            slug: p.slug,
            name: display_name.clone(),
            display_name,
            rom_count: p.rom_count,
        }
    }
}

/// A ROM in romgate's names and, beside them, RomM's (`name`, `fs_*`,
/// `platform_fs_slug`, `platform_display_name`), which RomM's clients read.
#[derive(Serialize)]
pub struct RomView {
    id: i64,
    platform_id: i64,
    platform_slug: String,
    platform_fs_slug: String,
    platform_display_name: String,
    /// No metadata source names a game here: its file name without the
    /// extension.
    name: String,
    fs_name: String,
    fs_name_no_ext: String,
    fs_extension: String,
    fs_size_bytes: i64,
    file_name: String,
    /// A folder of several files (not downloadable as one).
    multi: bool,
    size: i64,
    sha256: Option<String>,
    created_at: String,
    updated_at: String,
    download_path: Option<String>,
}

impl From<Rom> for RomView {
    fn from(rom: Rom) -> Self {
        let download_path = (!rom.multi).then(|| rom_download_path(&rom));
        let (no_ext, extension) = split_extension(&rom.file_name, rom.multi);
        RomView {
            id: rom.id,
            platform_id: rom.platform_id,
            platform_fs_slug: rom.platform_slug.clone(),
            platform_display_name: platform_names::platform_name(&rom.platform_slug).to_string(),
            platform_slug: rom.platform_slug,
            name: no_ext.to_string(),
            fs_name: rom.file_name.clone(),
            fs_name_no_ext: no_ext.to_string(),
            fs_extension: extension.to_string(),
            fs_size_bytes: rom.size,
            file_name: rom.file_name,
            multi: rom.multi,
            size: rom.size,
            sha256: rom.sha256,
            created_at: crate::clock::format_time(rom.created_at),
            updated_at: crate::clock::format_time(rom.updated_at),
            download_path,
        }
    }
}

#[derive(Serialize)]
struct RomPage {
    items: Vec<RomView>,
    total: i64,
    limit: i64,
    offset: i64,
}

async fn list_platforms(
    State(state): State<AppState>,
    _: Authorized<PlatformsRead>,
) -> AppResult<Json<Vec<PlatformView>>> {
    let platforms = state.library.platforms().await?;
    Ok(Json(platforms.into_iter().map(PlatformView::from).collect()))
}

async fn list_roms(
    State(state): State<AppState>,
    _: Authorized<RomsRead>,
    RawQuery(query): RawQuery,
) -> AppResult<Json<RomPage>> {
    let query = rom_query(query.as_deref())?;
    let (roms, total, filter) = state.library.roms(query).await?;
    Ok(Json(RomPage {
        items: roms.into_iter().map(RomView::from).collect(),
        total,
        limit: filter.limit,
        offset: filter.offset,
    }))
}

async fn get_rom(
    State(state): State<AppState>,
    _: DownloadReader,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<RomView>> {
    Ok(Json(RomView::from(state.library.rom(id).await?)))
}

/// GET and HEAD (axum answers HEAD with the GET route; the flow skips the
/// read).
async fn get_rom_content(
    State(state): State<AppState>,
    _: DownloadReader,
    ApiPath((id, file_name)): ApiPath<(i64, String)>,
    method: Method,
    headers: HeaderMap,
) -> AppResult<Response> {
    let rom = state.library.open_rom(id, &file_name).await?;
    file_response(rom, &DownloadRequest::from_parts(&method, &headers)).await
}

async fn delete_rom(
    State(state): State<AppState>,
    Authorized(actor, ..): Authorized<RomsWrite>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<Json<serde_json::Value>> {
    state.library.delete_rom(&actor, id).await?;
    Ok(Json(serde_json::json!({"msg": "ROM deleted"})))
}

/// Multipart: a `platform` field (a slug), then the file.
async fn upload_rom(
    State(state): State<AppState>,
    Authorized(actor, ..): Authorized<RomsWrite>,
    multipart: Result<Multipart, MultipartRejection>,
) -> AppResult<(StatusCode, Json<RomView>)> {
    let multipart = multipart.map_err(|_| not_multipart())?;
    let rom = receive_upload(&state, &actor, multipart, |fields| {
        fields.get("platform").cloned().ok_or_else(|| {
            AppError::bad_request(
                Code::MissingPlatform,
                "Send the platform field (a platform slug) before the file.",
            )
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(RomView::from(rom))))
}

#[derive(Serialize)]
struct ScanAnswer {
    msg: &'static str,
    #[serde(flatten)]
    report: Option<ScanReport>,
}

/// Runs a scan; answers with its report, or 202 when it takes longer than
/// `SCAN_WAIT` (it goes on, and logs its report).
async fn run_scan(State(state): State<AppState>, _: Authorized<TasksRun>) -> AppResult<(StatusCode, Json<ScanAnswer>)> {
    match scan_waiting(&state, SCAN_WAIT).await? {
        Some(report) => {
            let answer = ScanAnswer {
                msg: "Scan finished",
                report: Some(report),
            };
            Ok((StatusCode::OK, Json(answer)))
        }
        None => {
            let answer = ScanAnswer {
                msg: "The scan goes on in the background; its report will be in the server log.",
                report: None,
            };
            Ok((StatusCode::ACCEPTED, Json(answer)))
        }
    }
}
