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
pub mod every_answer;
pub mod extract;
pub mod fetch_site;
pub mod metrics;
pub mod pages;
pub mod scan;
pub mod security_headers;
mod send_timeout;
pub mod server;
pub mod setup_host;
pub mod state;
pub mod upload;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tower::{Layer, ServiceBuilder};
use tower_http::timeout::TimeoutLayer;

use self::every_answer::{EveryAnswer, EveryAnswerLayer, RouteTemplateLayer};

use crate::error::{AppError, Code, Kind};
use crate::web::state::AppState;

pub use api::VERSION;

/// Largest request body accepted by the API and pages.
const BODY_LIMIT_BYTES: usize = 64 * 1024;
/// No request may take longer than this.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub fn router(state: AppState) -> App {
    // Ordinary requests: a small body and a deadline. In a `ServiceBuilder`
    // the first layer is the outermost.
    let bounded = Router::new()
        .merge(api::heartbeat::routes(&state.config))
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
        // The route's template for the metrics, a deadline, then (inside
        // it) the body limit: bodies over it are refused by the extractors
        // (413). One `layer` call for all three: each call wraps every
        // route once more, at a cost per request.
        .layer(
            ServiceBuilder::new()
                .layer(RouteTemplateLayer)
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
    let uploads = api::library::upload_routes().merge(pages::upload_routes()).layer(
        ServiceBuilder::new()
            .layer(RouteTemplateLayer)
            .layer(DefaultBodyLimit::max(max_upload)),
    );
    // RomM's chunked upload: chunks of at most 64 MiB, and the completion
    // (a copy of the whole file), also without the deadline.
    let chunks = api::chunked_upload::body_routes().layer(RouteTemplateLayer);
    let app = Router::new()
        .merge(bounded)
        .merge(uploads)
        .merge(chunks)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    around_every_answer(app.with_state(state.clone()), &state)
}

/// The whole application: the router inside what every answer passes (a
/// panic's 500, the CSRF cookie, the security headers, the metrics and the
/// log line; see `every_answer`).
pub type App = EveryAnswer<Router>;

/// `app` (its state given) inside `EveryAnswer`. Public so that a test can
/// put a panicking route inside.
pub fn around_every_answer(app: Router, state: &AppState) -> App {
    EveryAnswerLayer::new(state.clone(), SECRET_SEGMENT_AFTER).layer(app)
}

/// Paths whose next segment is a secret, hidden in the log line: a pairing
/// code, a device sign-in's user code, a download link's secret.
const SECRET_SEGMENT_AFTER: &[&str] = &[
    "/api/client-tokens/pair/",
    "/api/auth/device/pending/",
    api::download_links::LINK_PREFIX,
];

async fn not_found(request: Request) -> Response {
    if request.uri().path().starts_with("/api/") {
        AppError::not_found("No such endpoint.").into_response()
    } else {
        error::not_found_page()
    }
}

/// The route's template goes on the answer, as `RouteTemplateLayer` puts
/// it on the routes' own: axum answers a method a route does not take with
/// this handler outside the layers of the route's group.
async fn method_not_allowed(route: Option<MatchedPath>) -> Response {
    let mut answer = AppError::refuse(
        Kind::MethodNotAllowed,
        Code::MethodNotAllowed,
        "This address does not accept that method.",
    )
    .into_response();
    if let Some(route) = route {
        answer.extensions_mut().insert(route);
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::SECRET_SEGMENT_AFTER;
    use super::every_answer::loggable_path;

    #[test]
    fn secret_path_segments_are_not_logged() {
        let logged = |path| loggable_path(path, SECRET_SEGMENT_AFTER);
        assert_eq!(
            logged("/api/client-tokens/pair/ABCD-EFGH/status"),
            "/api/client-tokens/pair/***/status"
        );
        assert_eq!(
            logged("/api/auth/device/pending/WXYZ2345"),
            "/api/auth/device/pending/***"
        );
        assert_eq!(
            logged("/api/download/rgd_c2VjcmV0/12/Zelda%20(USA).z64"),
            "/api/download/***/12/Zelda%20(USA).z64"
        );
        assert_eq!(logged("/api/client-tokens/7/pair"), "/api/client-tokens/7/pair");
        assert_eq!(logged("/api/users/me"), "/api/users/me");
    }
}
