//! The library pages: platforms, then a platform's games with a download
//! link each; upload and delete controls for editors. They call the same
//! flows as the API; forms carry the CSRF token in a hidden field.

use askama::Template;
use axum::Form;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Multipart, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::account::check_form_csrf;
use super::confirm::{ConfirmForm, ConfirmPage, ask_first};
use super::guard::{PageResult, page_error, require_page};
use crate::auth::{Principal, Scope};
use crate::error::{AppError, Code};
use crate::library::RomQuery;
use crate::store::Rom;
use crate::web::csrf::CsrfToken;
use crate::web::download::encode_segment;
use crate::web::download::rom_download_path;
use crate::web::error::render;
use crate::web::extract::ApiPath;
use crate::web::state::AppState;
use crate::web::upload::receive_upload;

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
struct LibraryPage {
    csrf_token: String,
    is_admin: bool,
    can_upload: bool,
    /// May add games by folder and scan (roms.write or tasks.run).
    can_add_games: bool,
    platforms: Vec<PlatformLink>,
}

struct RomRow {
    id: i64,
    file_name: String,
    size: String,
    download_href: Option<String>,
}

#[derive(Template)]
#[template(path = "platform.html")]
struct PlatformPage {
    csrf_token: String,
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

fn platform_href(slug: &str) -> String {
    format!("/library/{}", encode_segment(slug))
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

pub async fn get_library(State(state): State<AppState>, headers: HeaderMap, csrf: CsrfToken) -> PageResult {
    let principal = require_page(&state, &headers, &[Scope::PlatformsRead], "/library").await?;
    let platforms = state.library.platforms().await.map_err(page_error)?;
    let page = LibraryPage {
        csrf_token: csrf.0,
        is_admin: is_admin(&principal),
        can_upload: principal.has(Scope::RomsWrite),
        can_add_games: principal.has(Scope::RomsWrite) || principal.has(Scope::TasksRun),
        platforms: platforms
            .into_iter()
            .map(|p| PlatformLink {
                href: platform_href(&p.slug),
                slug: p.slug,
                name: p.name,
                rom_count: p.rom_count,
            })
            .collect(),
    };
    Ok(render(&page, StatusCode::OK))
}

pub async fn get_platform(
    State(state): State<AppState>,
    headers: HeaderMap,
    csrf: CsrfToken,
    ApiPath(slug): ApiPath<String>,
    query: Result<Query<PlatformQuery>, QueryRejection>,
) -> PageResult {
    let href = platform_href(&slug);
    let principal = require_page(&state, &headers, &[Scope::RomsRead], &href).await?;
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let platform = state.library.platform(&slug).await.map_err(page_error)?;
    let search = query.search.unwrap_or_default();
    let page_number = query.page.and_then(|p| p.parse::<i64>().ok()).unwrap_or(1).max(1);
    let rom_query = RomQuery {
        platform_id: Some(platform.id),
        search: Some(search.clone()),
        limit: Some(PAGE_SIZE),
        offset: Some((page_number - 1).saturating_mul(PAGE_SIZE)),
    };
    let (roms, total, _) = state.library.roms(rom_query).await.map_err(page_error)?;
    let link = |n: i64| {
        let search: String = url::form_urlencoded::byte_serialize(search.as_bytes()).collect();
        format!("{href}?search={search}&page={n}")
    };
    let page = PlatformPage {
        csrf_token: csrf.0,
        is_admin: is_admin(&principal),
        can_edit: principal.has(Scope::RomsWrite),
        platform_name: platform.name,
        platform_slug: platform.slug,
        previous_href: (page_number > 1).then(|| link(page_number - 1)),
        next_href: (page_number.saturating_mul(PAGE_SIZE) < total).then(|| link(page_number + 1)),
        platform_href: href,
        search,
        total,
        roms: roms.iter().map(rom_row).collect(),
    };
    Ok(render(&page, StatusCode::OK))
}

fn rom_row(rom: &Rom) -> RomRow {
    RomRow {
        id: rom.id,
        file_name: rom.file_name.clone(),
        size: human_size(rom.size),
        download_href: (!rom.multi).then(|| rom_download_path(rom)),
    }
}

/// The upload form (multipart: csrf_token, platform, file), through the
/// same flow as `POST /api/roms`. The CSRF field is checked before a byte of
/// the file is written.
pub async fn post_upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    let actor = require_page(&state, &headers, &[Scope::RomsWrite], "/library").await?;
    let multipart = multipart.map_err(|_| {
        page_error(AppError::bad_request(
            Code::InvalidMultipart,
            "Send the form with its file.",
        ))
    })?;
    let rom = receive_upload(&state, &actor, multipart, |fields| {
        check_form_csrf(&state, &headers, fields.get("csrf_token").map_or("", String::as_str))?;
        fields
            .get("platform")
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .ok_or_else(|| AppError::bad_request(Code::MissingPlatform, "Choose a platform for the game."))
    })
    .await
    .map_err(page_error)?;
    Ok(Redirect::to(&platform_href(&rom.platform_slug)).into_response())
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
