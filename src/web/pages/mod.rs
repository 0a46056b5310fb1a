//! Server-rendered pages: login, first-boot setup, home, the library, the
//! devices page (sessions, devices, app tokens and pairing codes), the
//! administrators' users page (with every app token), device sign-in
//! approval (`pair_device`), single sign-on in the browser (`sso`); a
//! refusal renders as a page
//! (`web::error::PageError`). Plain HTML forms;
//! their CSRF token travels in a hidden field, checked as `web::csrf` says
//! (bound to the session once there is one).

mod account;
mod admin;
mod admin_accounts;
mod admin_tokens;
mod confirm;
mod devices;
mod devices_app_forms;
mod devices_apps;
mod guard;
mod library;
mod library_scan;
mod library_upload;
mod logout;
mod own_account;
mod pair_device;
mod scan_notice;
pub mod sso;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};

use tower_http::timeout::TimeoutLayer;

use crate::web::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(account::get_home))
        .route("/login", get(account::get_login).post(account::post_login))
        .route("/setup", get(account::get_setup).post(account::post_setup))
        .route("/logout", get(logout::get_logout).post(logout::post_logout))
        .route(
            "/account",
            get(own_account::get_account).post(own_account::post_account),
        )
        .route(devices::HERE, get(devices::get_devices))
        .route("/devices/sessions/{id}/sign-out", post(devices::post_sign_out_session))
        .route(
            "/devices/device/{id}/revoke",
            post(devices_app_forms::post_revoke_device),
        )
        .route(
            "/devices/tokens/{id}/revoke",
            post(devices_app_forms::post_revoke_token),
        )
        .route(devices_app_forms::ADD_PATH, post(devices_app_forms::post_add_token))
        .route("/devices/tokens/{id}/pair", post(devices_app_forms::post_pair_token))
        .route(
            devices::SIGN_OUT_EVERYWHERE_PATH,
            get(devices::get_sign_out_everywhere).post(devices::post_sign_out_everywhere),
        )
        .route("/static/style.css", get(get_stylesheet))
        .route("/library", get(library::get_library))
        .route("/library/{slug}", get(library::get_platform))
        .route(library::SCAN_PATH, post(library_scan::post_scan))
        .route(
            "/library/roms/{id}/delete",
            get(library::get_delete_rom).post(library::post_delete_rom),
        )
        // A catch-all, so a name with a slash reaches the check (400).
        .route("/library/roms/{id}/files/{*name}", get(library::get_folder_file))
        .route("/admin/users", get(admin::get_users).post(admin_accounts::post_create))
        .route("/admin/users/{id}/password", post(admin_accounts::post_password))
        .route("/admin/users/{id}/role", post(admin::post_role))
        .route("/admin/users/{id}/enabled", post(admin::post_enabled))
        .route(
            "/admin/users/{id}/delete",
            get(admin::get_delete).post(admin::post_delete),
        )
        .route("/admin/users/{id}/unlock", post(admin::post_unlock))
        .route("/admin/tokens/{id}/revoke", post(admin::post_revoke_token))
        .route(pair_device::PAIR_PATH, get(pair_device::get_pair_device))
        .route(pair_device::APPROVE_PATH, post(pair_device::post_approve))
        .route(pair_device::DENY_PATH, post(pair_device::post_deny))
}

/// The upload form's route (see `web::router` for why it is apart).
pub fn upload_routes() -> Router<AppState> {
    // The page of a platform named `upload` shares the path, and keeps the
    // deadline every other page has.
    let page = get(library::get_platform_named_upload).layer(TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        crate::web::REQUEST_TIMEOUT,
    ));
    Router::new().route("/library/upload", post(library_upload::post_upload).merge(page))
}

async fn get_stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../../static/style.css"),
    )
}
