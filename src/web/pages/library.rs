//! The library pages: platforms, then a platform's games with a download
//! link each; upload (`library_upload`) and delete controls for editors. They call the same
//! flows as the API; forms carry the CSRF token in a hidden field.

use askama::Template;
use axum::Form;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::account::check_form_csrf;
use super::confirm::{ConfirmForm, ConfirmPage, ask_first};
use super::guard::{PageResult, page_error, require_page};
use super::scan_notice::{ScanQuery, scan_notice, scan_progress};
use crate::auth::{Principal, Scope};
use crate::library::{RomQuery, platform_names};
use crate::store::Rom;
use crate::web::csrf::CsrfToken;
use crate::web::download::rom_download_path;
use crate::web::download::{DownloadRequest, encode_segment, file_response};
use crate::web::error::render;
use crate::web::extract::ApiPath;
use crate::web::state::AppState;

/// Games per page.
const PAGE_SIZE: i64 = 100;

struct PlatformLink {
    href: String,
    slug: String,
    name: String,
    rom_count: i64,
}

#[derive(Template)]
#[template(path = "library.html")]
pub(super) struct LibraryPage {
    csrf_token: String,
    /// An upload's refusal, shown above the forms.
    error: Option<String>,
    /// A scan's outcome or progress (`library_scan`).
    notice: Option<String>,
    /// A scan is running: the page reloads itself until it ends.
    scan_running: bool,
    is_admin: bool,
    can_upload: bool,
    /// Sees the "Scan the library" button (tasks.run).
    can_scan: bool,
    scan_path: &'static str,
    /// May add games by folder and scan (roms.write or tasks.run).
    can_add_games: bool,
    platforms: Vec<PlatformLink>,
}

struct RomRow {
    id: i64,
    file_name: String,
    size: String,
    download_href: Option<String>,
    /// A folder's files: (download href, name).
    folder_files: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "platform.html")]
pub(super) struct PlatformPage {
    csrf_token: String,
    /// An upload's refusal, shown above the forms.
    pub error: Option<String>,
    is_admin: bool,
    can_edit: bool,
    platform_name: String,
    platform_slug: String,
    platform_href: String,
    search: String,
    total: i64,
    roms: Vec<RomRow>,
    previous_href: Option<String>,
    next_href: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct PlatformQuery {
    search: Option<String>,
    page: Option<String>,
}

/// Where the button posts: three segments, so no platform's page
/// (`/library/{slug}`) is shadowed.
pub const SCAN_PATH: &str = "/library/tasks/scan";

pub(super) fn platform_href(slug: &str) -> String {
    format!("/library/{}", encode_segment(slug))
}

/// A platform's name on the pages: the built-in readable name while the
/// stored one is just the slug.
fn readable_name(slug: &str, stored: String) -> String {
    platform_names::display_name(slug, stored)
}

fn is_admin(principal: &Principal) -> bool {
    principal.has(Scope::UsersWrite)
}

/// Bytes in binary units, one decimal: "1.5 MiB".
pub fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = "KiB";
    for next in UNITS.iter().skip(1) {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    format!("{value:.1} {unit}")
}

pub async fn get_library(
    State(state): State<AppState>,
    headers: HeaderMap,
    csrf: CsrfToken,
    query: Result<Query<ScanQuery>, QueryRejection>,
) -> PageResult {
    let principal = require_page(&state, &headers, &[Scope::PlatformsRead], "/library").await?;
    let mut page = library_page(&state, &principal, &csrf, None).await?;
    let query = query.map(|Query(q)| q).unwrap_or_default();
    if page.can_scan {
        (page.notice, page.error, page.scan_running) = scan_progress(state.library.scan_status(), &query);
    } else {
        page.notice = scan_notice(&query);
    }
    Ok(render(&page, StatusCode::OK))
}

/// The library page, with `error` (an upload's refusal) above the forms.
pub(super) async fn library_page(
    state: &AppState,
    principal: &Principal,
    csrf: &CsrfToken,
    error: Option<String>,
) -> Result<LibraryPage, Response> {
    let platforms = state.library.platforms().await.map_err(page_error)?;
    Ok(LibraryPage {
        csrf_token: csrf.0.clone(),
        is_admin: is_admin(principal),
        can_upload: principal.has(Scope::RomsWrite),
        can_scan: principal.has(Scope::TasksRun),
        scan_path: SCAN_PATH,
        notice: None,
        scan_running: false,
        can_add_games: principal.has(Scope::RomsWrite) || principal.has(Scope::TasksRun),
        error,
        platforms: platforms
            .into_iter()
            .map(|p| PlatformLink {
                href: platform_href(&p.slug),
                name: readable_name(&p.slug, p.name),
                slug: p.slug,
                rom_count: p.rom_count,
            })
            .collect(),
    })
}

pub async fn get_platform(
    State(state): State<AppState>,
    headers: HeaderMap,
    csrf: CsrfToken,
    ApiPath(slug): ApiPath<String>,
    query: Result<Query<PlatformQuery>, QueryRejection>,
) -> PageResult {
    platform_answer(&state, &headers, &csrf, &slug, query).await
}

/// `GET /library/upload`: the page of a platform named `upload`, whose path
/// the upload form's route holds (a folder of that name is a platform like
/// any other).
pub async fn get_platform_named_upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    csrf: CsrfToken,
    query: Result<Query<PlatformQuery>, QueryRejection>,
) -> PageResult {
    platform_answer(&state, &headers, &csrf, "upload", query).await
}

async fn platform_answer(
    state: &AppState,
    headers: &HeaderMap,
    csrf: &CsrfToken,
    slug: &str,
    query: Result<Query<PlatformQuery>, QueryRejection>,
) -> PageResult {
    let principal = require_page(state, headers, &[Scope::RomsRead], &platform_href(slug)).await?;
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let page = platform_page(state, &principal, csrf, slug, query).await?;
    Ok(render(&page, StatusCode::OK))
}

/// Platform `slug`'s page of games as `principal` sees it.
pub(super) async fn platform_page(
    state: &AppState,
    principal: &Principal,
    csrf: &CsrfToken,
    slug: &str,
    query: PlatformQuery,
) -> Result<PlatformPage, Response> {
    let href = platform_href(slug);
    let platform = state.library.platform(slug).await.map_err(page_error)?;
    let search = query.search.unwrap_or_default();
    let page_number = query.page.and_then(|p| p.parse::<i64>().ok()).unwrap_or(1).max(1);
    let rom_query = RomQuery {
        platform_ids: vec![platform.id],
        search: Some(search.clone()),
        limit: Some(PAGE_SIZE),
        offset: Some((page_number - 1).saturating_mul(PAGE_SIZE)),
        ..RomQuery::default()
    };
    let (roms, total, _) = state.library.roms(rom_query).await.map_err(page_error)?;
    let link = |n: i64| {
        let search: String = url::form_urlencoded::byte_serialize(search.as_bytes()).collect();
        format!("{href}?search={search}&page={n}")
    };
    Ok(PlatformPage {
        csrf_token: csrf.0.clone(),
        is_admin: is_admin(principal),
        can_edit: principal.has(Scope::RomsWrite),
        error: None,
        platform_name: readable_name(&platform.slug, platform.name),
        platform_slug: platform.slug,
        previous_href: (page_number > 1).then(|| link(page_number - 1)),
        next_href: (page_number.saturating_mul(PAGE_SIZE) < total).then(|| link(page_number + 1)),
        platform_href: href,
        search,
        total,
        roms: rom_rows(state, &roms).await,
    })
}

async fn rom_rows(state: &AppState, roms: &[Rom]) -> Vec<RomRow> {
    let mut rows = Vec::with_capacity(roms.len());
    for rom in roms {
        // A folder that cannot be read shows no files (its row stays).
        let folder_files = if rom.multi {
            let names = state.library.folder_files(rom.id).await.unwrap_or_default();
            names
                .into_iter()
                .map(|name| (folder_file_href(rom.id, &name), name))
                .collect()
        } else {
            Vec::new()
        };
        rows.push(RomRow {
            id: rom.id,
            file_name: rom.file_name.clone(),
            size: human_size(rom.size),
            download_href: (!rom.multi).then(|| rom_download_path(rom)),
            folder_files,
        });
    }
    rows
}

fn folder_file_href(id: i64, name: &str) -> String {
    format!("/library/roms/{id}/files/{}", encode_segment(name))
}

/// One file of a multi-file game, for a signed-in person with roms.read.
pub async fn get_folder_file(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    ApiPath((id, name)): ApiPath<(i64, String)>,
) -> PageResult {
    let here = folder_file_href(id, &name);
    require_page(&state, &headers, &[Scope::RomsRead], &here).await?;
    let file = state.library.open_folder_file(id, &name).await.map_err(page_error)?;
    file_response(file, &DownloadRequest::from_parts(&method, &headers))
        .await
        .map_err(page_error)
}

fn delete_rom_href(id: i64) -> String {
    format!("/library/roms/{id}/delete")
}

/// "Delete X?": the question before `post_delete_rom`.
pub async fn get_delete_rom(
    State(state): State<AppState>,
    headers: HeaderMap,
    csrf: CsrfToken,
    ApiPath(id): ApiPath<i64>,
) -> PageResult {
    let here = delete_rom_href(id);
    let principal = require_page(&state, &headers, &[Scope::RomsWrite], &here).await?;
    let rom = state.library.rom(id).await.map_err(page_error)?;
    let page = ConfirmPage {
        csrf_token: csrf.0,
        is_admin: is_admin(&principal),
        question: format!("Delete {}?", rom.file_name),
        detail: format!(
            "The game's {} is removed from the library folder. This cannot be undone.",
            if rom.multi {
                "folder, with every file in it,"
            } else {
                "file"
            }
        ),
        button: format!("Delete {}", rom.file_name),
        action: here,
        cancel_href: platform_href(&rom.platform_slug),
    };
    Ok(page.response())
}

pub async fn post_delete_rom(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    Form(form): Form<ConfirmForm>,
) -> PageResult {
    let actor = require_page(&state, &headers, &[Scope::RomsWrite], "/library").await?;
    check_form_csrf(&state, &headers, &form.csrf_token).map_err(page_error)?;
    if !form.confirmed() {
        return Ok(ask_first(&delete_rom_href(id)));
    }
    let rom = state.library.delete_rom(&actor, id).await.map_err(page_error)?;
    Ok(Redirect::to(&platform_href(&rom.platform_slug)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_a_file_manager() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(8 * 1024 * 1024), "8.0 MiB");
        assert_eq!(human_size(3 * 1024 * 1024 * 1024), "3.0 GiB");
    }
}
