//! The web layer: every URL of romgate merged here, with the layers around
//! them (their order is commented in `router`). The JSON API (`api`) and
//! the server-rendered pages (`pages`) are its two children; what both use
//! sits beside them: the web state, extractors, CSRF, cookies, the error
//! rendering (JSON and HTML side by side), uploads and downloads, the
//! client address, the security headers and the server itself. Handlers are
//! thin: parse, call one domain flow, map the result.

pub mod api;
pub mod basic_auth;
pub mod client_addr;
pub mod cookies;
pub mod csrf;
pub mod download;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod pages;
pub mod scan;
pub mod security_headers;
mod send_timeout;
pub mod server;
pub mod state;
pub mod upload;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;

use crate::error::{AppError, Code, Kind};
use crate::web::state::AppState;

pub use api::VERSION;

/// Largest request body accepted by the API and pages.
const BODY_LIMIT_BYTES: usize = 64 * 1024;
/// No request may take longer than this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub fn router(state: AppState) -> Router {
    // Ordinary requests: a small body and a deadline. Layers run bottom-up
    // for a request: the last added is outermost.
    let bounded = Router::new()
        .merge(api::heartbeat::routes())
        .merge(api::health::routes())
        .merge(api::session::routes())
        .merge(api::token::routes())
        .merge(api::users::routes())
        .merge(api::client_tokens::routes())
        .merge(api::devices::routes())
        .merge(api::library::routes())
        .merge(api::scan_status::routes())
        .merge(api::tasks::routes())
        .merge(api::stats::routes())
        .merge(api::download_links::routes())
        .merge(api::chunked_upload::routes())
        .merge(api::backchannel::routes())
        .merge(api::device::routes())
        .merge(api::oauth::routes())
        .merge(pages::sso::routes())
        .merge(pages::routes())
        // A deadline, then (inside it) the body limit: bodies over it are
        // refused by the extractors (413). One `layer` call for both: each
        // call wraps every route once more, at a cost per request.
        .layer(
            ServiceBuilder::new()
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    REQUEST_TIMEOUT,
                ))
                .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES)),
        );
    // Uploads: a file streamed to disk, bounded by ROMGATE_MAX_UPLOAD_BYTES
    // instead of the deadline (a large file on a slow link takes minutes).
    // The body may exceed the file by the form's other parts; the upload
    // flow holds the file itself to the exact limit.
    let max_upload = usize::try_from(state.config.max_upload_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(BODY_LIMIT_BYTES);
    let uploads = api::library::upload_routes()
        .merge(pages::upload_routes())
        .layer(DefaultBodyLimit::max(max_upload));
    // RomM's chunked upload: chunks of at most 64 MiB, and the completion
    // (a copy of the whole file), also without the deadline.
    let chunks = api::chunked_upload::body_routes();
    let app = Router::new()
        .merge(bounded)
        .merge(uploads)
        .merge(chunks)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    around_every_answer(app, &state).with_state(state)
}

/// The layers every answer passes, outermost first, in one `layer` call
/// (measured in bench/README.md: each call, and each layer, costs per
/// request): the log line, the CSRF cookie handed out before handlers run
/// (pages embed it) and the security headers, on every answer (a panic's
/// 500 too); then a panic anywhere becomes a generic 500, never a dropped
/// connection or a stack trace. Public so that a test can put a panicking
/// route inside.
pub fn around_every_answer(app: Router<AppState>, state: &AppState) -> Router<AppState> {
    app.layer(
        ServiceBuilder::new()
            .layer(middleware::from_fn_with_state(state.clone(), every_answer))
            .layer(CatchPanicLayer::custom(|_| {
                AppError::internal("a request handler panicked").into_response()
            })),
    )
}

async fn not_found(request: Request) -> Response {
    if request.uri().path().starts_with("/api/") {
        AppError::not_found("No such endpoint.").into_response()
    } else {
        error::not_found_page()
    }
}

async fn method_not_allowed() -> AppError {
    AppError::refuse(
        Kind::MethodNotAllowed,
        Code::MethodNotAllowed,
        "This address does not accept that method.",
    )
}

/// Paths whose next segment is a secret: a pairing code, a device
/// sign-in's user code, a download link's secret.
const SECRET_SEGMENT_AFTER: &[&str] = &[
    "/api/client-tokens/pair/",
    "/api/auth/device/pending/",
    api::download_links::LINK_PREFIX,
];

/// `path` as the request log writes it: a secret segment (see
/// `SECRET_SEGMENT_AFTER`) becomes `***`.
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    for prefix in SECRET_SEGMENT_AFTER {
        if let Some(rest) = path.strip_prefix(prefix) {
            let tail = rest.find('/').and_then(|at| rest.get(at..)).unwrap_or_default();
            return format!("{prefix}***{tail}").into();
        }
    }
    path.into()
}

/// What every answer goes through, in one middleware (one layer costs
/// less than several): the CSRF cookie issuer, the security headers
/// (`security_headers::apply`), and one log line per request: method, path
/// (never the query, which may carry codes or tokens; never a secret
/// segment, see `loggable_path`), status and duration. When the metrics
/// are on, the request counts under its route template (an `Arc` clone and
/// one atomic increment; nothing when they are off).
async fn every_answer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    // A cheap clone (shared bytes), kept for the log line.
    let uri = request.uri().clone();
    let metrics = crate::metrics::get();
    let route = metrics.and_then(|_| request.extensions().get::<MatchedPath>().cloned());
    let started = std::time::Instant::now();
    let mut response = csrf::issue_cookie(&state, request, next).await;
    security_headers::apply(response.headers_mut(), state.config.base_url.scheme() == "https");
    let status = response.status();
    if let Some(metrics) = metrics {
        let route = route.as_ref().map_or(crate::metrics::UNMATCHED, MatchedPath::as_str);
        metrics.requests.count(route, method.as_str(), status.as_u16());
    }
    let path = loggable_path(uri.path());
    let path = path.as_ref();
    let ms = started.elapsed().as_millis();
    if status.is_server_error() {
        tracing::warn!(%method, path, status = status.as_u16(), ms, "request failed");
    } else if status == StatusCode::REQUEST_TIMEOUT {
        tracing::info!(%method, path, ms, "request timed out");
    } else {
        tracing::debug!(%method, path, status = status.as_u16(), ms, "request");
    }
    response
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn secret_path_segments_are_not_logged() {
        assert_eq!(
            loggable_path("/api/client-tokens/pair/ABCD-EFGH/status"),
            "/api/client-tokens/pair/***/status"
        );
        assert_eq!(
            loggable_path("/api/auth/device/pending/WXYZ2345"),
            "/api/auth/device/pending/***"
        );
        assert_eq!(
            loggable_path("/api/download/rgd_c2VjcmV0/12/Zelda%20(USA).z64"),
            "/api/download/***/12/Zelda%20(USA).z64"
        );
        assert_eq!(loggable_path("/api/client-tokens/7/pair"), "/api/client-tokens/7/pair");
        assert_eq!(loggable_path("/api/users/me"), "/api/users/me");
    }
}
