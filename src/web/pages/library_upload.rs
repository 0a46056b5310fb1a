//! The library pages' upload form (multipart: csrf_token, platform, file,
//! and `from=platform` on a platform's page), through the same flow as
//! `POST /api/roms`. The CSRF field is checked before a byte of the file is
//! written. A refusal is shown on the page the form came from, with its
//! navigation, not on a bare error page.

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect};

use super::account::check_form_csrf;
use super::guard::{PageResult, page_error, require_page};
use super::library::{PlatformQuery, library_page, platform_href, platform_page};
use crate::auth::{Principal, Scope};
use crate::error::{AppError, Code, Refusal};
use crate::web::csrf::CsrfToken;
use crate::web::error::{add_refusal_headers, render, status_of};
use crate::web::state::AppState;
use crate::web::upload::receive_upload;

pub async fn post_upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    csrf: CsrfToken,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    let actor = require_page(&state, &headers, &[Scope::RomsWrite], "/library").await?;
    let Ok(multipart) = multipart else {
        let err = AppError::bad_request(Code::InvalidMultipart, "Send the form with its file.");
        return refused(&state, &actor, &csrf, None, err).await;
    };
    // The platform page the form came from, once its fields are read.
    let mut from_platform = None;
    let result = receive_upload(&state, &actor, multipart, |fields| {
        let platform = fields
            .get("platform")
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty());
        if fields.get("from").is_some_and(|f| f == "platform") {
            from_platform.clone_from(&platform);
        }
        check_form_csrf(&state, &headers, fields.get("csrf_token").map_or("", String::as_str))?;
        platform.ok_or_else(|| AppError::bad_request(Code::MissingPlatform, "Choose a platform for the game."))
    })
    .await;
    match result {
        Ok(rom) => Ok(Redirect::to(&platform_href(&rom.platform_slug)).into_response()),
        Err(err) => refused(&state, &actor, &csrf, from_platform, err).await,
    }
}

/// The page the upload came from with the refusal above its forms: the
/// platform's page, or the library page (also when that platform is gone).
pub(super) async fn refused(
    state: &AppState,
    actor: &Principal,
    csrf: &CsrfToken,
    from_platform: Option<String>,
    err: AppError,
) -> PageResult {
    let AppError::Refused(refusal) = err else {
        return Err(page_error(err));
    };
    let message = Some(refusal.message.to_string());
    if let Some(slug) = from_platform
        && let Ok(mut page) = platform_page(state, actor, csrf, &slug, PlatformQuery::default()).await
    {
        page.error = message;
        return Ok(with_refusal(render(&page, status_of(refusal.kind)), &refusal));
    }
    let page = library_page(state, actor, csrf, message).await?;
    Ok(with_refusal(render(&page, status_of(refusal.kind)), &refusal))
}

fn with_refusal(mut response: axum::response::Response, refusal: &Refusal) -> axum::response::Response {
    add_refusal_headers(&mut response, refusal);
    response
}
