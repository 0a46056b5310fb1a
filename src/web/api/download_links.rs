//! Download links (see `auth::download_links`): `POST
//! /api/roms/{id}/download-link` hands a signed-in person with roms.read a
//! link to one ROM's file; `GET|HEAD /api/download/{secret}/{id}/{name}`
//! serves it to whoever holds the link, with no header needed. The secret
//! is in the path (header-less clients open plain GET URLs), so the request
//! log masks it (`web::loggable_path`). The name at the end is the ROM's
//! file name, so a client that names the file after the URL gets it right.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Serialize;

use crate::error::AppResult;
use crate::web::download::{DownloadRequest, encode_segment, file_response};
use crate::web::extract::{ApiPath, Authorized, RomsRead};
use crate::web::state::AppState;

/// Where links point; the next segment is the secret.
pub const LINK_PREFIX: &str = "/api/download/";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/roms/{id}/download-link", post(create_download_link))
        // A catch-all, so a name with a slash reaches the name check (400).
        .route("/api/download/{token}/{id}/{*file_name}", get(get_linked_content))
}

#[derive(Serialize)]
struct LinkView {
    /// The absolute link, on ROMM_BASE_URL.
    url: String,
    expires_at: String,
    expires_in: i64,
}

async fn create_download_link(
    State(state): State<AppState>,
    Authorized(actor, ..): Authorized<RomsRead>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<(StatusCode, Json<LinkView>)> {
    let now = state.now();
    let rom = state.library.downloadable_rom(id).await?;
    let link = state.auth.issue_download_link(&actor, rom.id, now).await?;
    let base = state.config.base_url.as_str().trim_end_matches('/');
    let view = LinkView {
        url: format!(
            "{base}{LINK_PREFIX}{}/{}/{}",
            link.token.expose(),
            rom.id,
            encode_segment(&rom.file_name)
        ),
        expires_at: crate::clock::format_time(link.expires_at),
        expires_in: link.expires_at - now,
    };
    Ok((StatusCode::CREATED, Json(view)))
}

/// GET and HEAD, through the same response code as an ordinary download.
async fn get_linked_content(
    State(state): State<AppState>,
    ApiPath((token, id, file_name)): ApiPath<(String, i64, String)>,
    method: Method,
    headers: HeaderMap,
) -> AppResult<Response> {
    state.auth.check_download_link(&token, id, state.now()).await?;
    let rom = state.library.open_rom(id, &file_name).await?;
    file_response(rom, &DownloadRequest::from_parts(&method, &headers)).await
}
