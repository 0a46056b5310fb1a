//! The library page's "Scan the library" button, for holders of tasks.run:
//! the same scan as `POST /api/tasks/scan`, waiting at most `SCAN_WAIT` so
//! the page never hangs, then back to the library page with the counts or
//! word that the scan goes on. The CSRF field is checked before the scan
//! starts; a refusal (no roms/ folder) shows on the library page.

use axum::Form;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::account::check_form_csrf;
use super::guard::{PageResult, page_error, require_page};
use super::library_upload::refused;
use crate::auth::Scope;
use crate::library::ScanReport;
use crate::web::csrf::CsrfToken;
use crate::web::scan::{SCAN_WAIT, scan_waiting};
use crate::web::state::AppState;

#[derive(Deserialize)]
pub struct ScanForm {
    #[serde(default)]
    csrf_token: String,
}

pub async fn post_scan(
    State(state): State<AppState>,
    headers: HeaderMap,
    csrf: CsrfToken,
    Form(form): Form<ScanForm>,
) -> PageResult {
    let actor = require_page(&state, &headers, &[Scope::TasksRun], "/library").await?;
    check_form_csrf(&state, &headers, &form.csrf_token).map_err(page_error)?;
    match scan_waiting(&state, SCAN_WAIT).await {
        Ok(Some(report)) => Ok(Redirect::to(&done_href(&report)).into_response()),
        Ok(None) => Ok(Redirect::to("/library?scan=background").into_response()),
        Err(err) => refused(&state, &actor, &csrf, None, err).await,
    }
}

/// The library page with the counts, as `library::ScanQuery` reads them.
fn done_href(r: &ScanReport) -> String {
    format!(
        "/library?scan=done&platforms={}&roms={}&added={}&updated={}&removed={}&skipped={}",
        r.platforms, r.roms, r.added, r.updated, r.removed, r.skipped
    )
}
