//! RomM's chunked upload (`/api/roms/upload/...`, roms.write): the headers
//! and answers of RomM's `endpoints/roms/upload.py`. Handlers parse the
//! headers, call one flow of `crate::library::chunked` and map the result;
//! a chunk's body is streamed to disk as it arrives, never held whole.

use std::pin::Pin;

use axum::Json;
use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{post, put};
use serde::Serialize;

use crate::error::{AppError, AppResult, Code};
use crate::library::{ChunkedStart, MAX_CHUNK_BYTES};
use crate::web::api::library::RomView;
use crate::web::extract::{ApiPath, Authorized, RomsWrite};
use crate::web::state::AppState;

/// Room for a chunk's body over `MAX_CHUNK_BYTES`, so that the flow, which
/// counts the bytes exactly, is the one refusing (with a JSON 413).
const BODY_SLACK: usize = 64 * 1024;

/// Start and cancel: quick, under the ordinary deadline and body limit.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/roms/upload/start", post(start_upload))
        .route("/api/roms/upload/{upload_id}/cancel", post(cancel_upload))
}

/// A chunk (up to 64 MiB on a slow link) and the completion (which copies
/// the whole file): outside the request deadline, under the chunk's body
/// limit (see `web::router`).
pub fn body_routes() -> Router<AppState> {
    let limit = usize::try_from(MAX_CHUNK_BYTES)
        .unwrap_or(usize::MAX)
        .saturating_add(BODY_SLACK);
    Router::new()
        .route("/api/roms/upload/{upload_id}", put(put_chunk))
        .route("/api/roms/upload/{upload_id}/complete", post(complete_upload))
        .layer(DefaultBodyLimit::max(limit))
}

fn missing_header(name: &str, what: &str) -> AppError {
    AppError::bad_request(Code::InvalidRequest, format!("Send the {name} header: {what}."))
}

/// A header's text (UTF-8; RomM's clients send file names as they are).
fn header_text(headers: &HeaderMap, name: &str, what: &str) -> AppResult<String> {
    headers
        .get(name)
        .and_then(|value| std::str::from_utf8(value.as_bytes()).ok())
        .map(str::to_string)
        .ok_or_else(|| missing_header(name, what))
}

/// A header holding a whole number.
fn header_number(headers: &HeaderMap, name: &str, what: &str) -> AppResult<u64> {
    header_text(headers, name, what)?
        .trim()
        .parse()
        .map_err(|_| missing_header(name, what))
}

#[derive(Serialize)]
struct Started {
    upload_id: String,
}

async fn start_upload(
    State(state): State<AppState>,
    Authorized(actor, ..): Authorized<RomsWrite>,
    headers: HeaderMap,
) -> AppResult<(StatusCode, Json<Started>)> {
    let platform_id = header_number(&headers, "x-upload-platform", "the platform's id")?;
    let start = ChunkedStart {
        platform_id: i64::try_from(platform_id)
            .map_err(|_| missing_header("x-upload-platform", "the platform's id"))?,
        file_name: header_text(&headers, "x-upload-filename", "the file's name")?,
        total_size: header_number(&headers, "x-upload-total-size", "the file's size in bytes")?,
        total_chunks: header_number(&headers, "x-upload-total-chunks", "the number of chunks")?,
    };
    let upload_id = state.library.start_chunked_upload(&actor, start, state.now()).await?;
    Ok((StatusCode::CREATED, Json(Started { upload_id })))
}

#[derive(Serialize)]
struct Received {
    received: u64,
    total: u64,
}

/// One chunk: `x-chunk-index` and the bytes as the body. Streamed to disk;
/// a body that breaks off leaves nothing.
async fn put_chunk(
    State(state): State<AppState>,
    Authorized(actor, ..): Authorized<RomsWrite>,
    ApiPath(upload_id): ApiPath<String>,
    headers: HeaderMap,
    mut body: Body,
) -> AppResult<Json<Received>> {
    let index = header_number(&headers, "x-chunk-index", "the chunk's index, from 0")?;
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok());
    let library = &state.library;
    let mut chunk = library
        .open_chunk(&actor, &upload_id, index, announced, state.now())
        .await?;
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|_| {
            AppError::bad_request(
                Code::InvalidRequest,
                "The chunk broke off before its end; send it again.",
            )
        })?;
        if let Ok(bytes) = frame.into_data() {
            chunk.write(&bytes).await?;
        }
    }
    let receipt = library.finish_chunk(&upload_id, chunk).await?;
    Ok(Json(Received {
        received: receipt.received,
        total: receipt.total,
    }))
}

/// 201 with the new ROM (RomM answers 201 with no body; its clients read
/// only the status).
async fn complete_upload(
    State(state): State<AppState>,
    Authorized(actor, ..): Authorized<RomsWrite>,
    ApiPath(upload_id): ApiPath<String>,
) -> AppResult<(StatusCode, Json<RomView>)> {
    let rom = state
        .library
        .complete_chunked_upload(&actor, &upload_id, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(RomView::from(rom))))
}

async fn cancel_upload(
    State(state): State<AppState>,
    Authorized(actor, ..): Authorized<RomsWrite>,
    ApiPath(upload_id): ApiPath<String>,
) -> AppResult<StatusCode> {
    state
        .library
        .cancel_chunked_upload(&actor, &upload_id, state.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
