//! Every URL of romgate, merged here, with the layers around them.
//! Handlers are thin: parse, call one flow, map the result.

pub mod client_addr;
pub mod cookies;
pub mod csrf;
pub mod download;
pub mod error;
pub mod extract;
mod heartbeat;
pub mod library;
mod oidc;
pub mod security_headers;
mod send_timeout;
pub mod server;
pub mod session;
mod token;
mod users;

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;

use crate::error::{AppError, Code, Kind};
use crate::state::AppState;
use cookies::{CSRF_COOKIE, read_cookie};

pub use heartbeat::VERSION;

/// Largest request body accepted by the API and pages.
const BODY_LIMIT_BYTES: usize = 64 * 1024;
/// No request may take longer than this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub fn router(state: AppState) -> Router {
    // Ordinary requests: a small body and a deadline. Layers run bottom-up
    // for a request: the last added is outermost.
    let bounded = Router::new()
        .merge(heartbeat::routes())
        .merge(session::routes())
        .merge(oidc::routes())
        .merge(token::routes())
        .merge(users::routes())
        .merge(library::routes())
        .merge(crate::pages::routes())
        // Bodies over the limit are refused by the extractors (413).
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ));
    // Uploads: a file streamed to disk, bounded by ROMGATE_MAX_UPLOAD_BYTES
    // instead of the deadline (a large file on a slow link takes minutes).
    // The body may exceed the file by the form's other parts; the upload
    // flow holds the file itself to the exact limit.
    let max_upload = usize::try_from(state.config.max_upload_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(BODY_LIMIT_BYTES);
    let uploads = library::upload_routes()
        .merge(crate::pages::upload_routes())
        .layer(DefaultBodyLimit::max(max_upload));
    let https = state.config.base_url.scheme() == "https";
    let app = Router::new()
        .merge(bounded)
        .merge(uploads)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // One middleware (each costs a boxed future and a clone of the
        // router per request): the log line, and the CSRF cookie handed out
        // before handlers run (pages embed it).
        .layer(middleware::from_fn_with_state(state.clone(), log_and_issue_csrf_cookie))
        // A panic anywhere becomes a generic 500, never a dropped connection
        // or a stack trace.
        .layer(CatchPanicLayer::custom(|_| {
            AppError::internal("a request handler panicked").into_response()
        }));
    // Outermost: the security headers, on every answer (the 500 of a panic
    // included).
    security_headers::apply(app, https).with_state(state)
}

async fn not_found(request: Request) -> Response {
    if request.uri().path().starts_with("/api/") {
        AppError::not_found("No such endpoint.").into_response()
    } else {
        crate::pages::not_found_page().into_response()
    }
}

async fn method_not_allowed() -> AppError {
    AppError::refuse(
        Kind::MethodNotAllowed,
        Code::MethodNotAllowed,
        "This address does not accept that method.",
    )
}

/// The CSRF token of this browser, for the pages that embed it: the one
/// handed out with this very response (a first visit, or a cookie that is
/// not its session's token), or its cookie's. A
/// request that sent an Authorization header is given none, and gets an
/// empty token (its form is then refused as a CSRF failure, not a 500).
#[derive(Clone)]
pub struct CsrfToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        if let Some(issued) = parts.extensions.get::<CsrfToken>() {
            return Ok(issued.clone());
        }
        let cookie = read_cookie(&parts.headers, CSRF_COOKIE).unwrap_or_default();
        Ok(CsrfToken(cookie.to_string()))
    }
}

/// One log line per request: method, path (never the query, which may carry
/// codes or tokens), status and duration. Around the CSRF cookie issuer.
async fn log_and_issue_csrf_cookie(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    // A cheap clone (shared bytes), kept for the log line.
    let uri = request.uri().clone();
    let started = std::time::Instant::now();
    let response = issue_csrf_cookie(&state, request, next).await;
    let status = response.status();
    let path = uri.path();
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

/// Gives each browser the `romm_csrftoken` cookie it must echo (see
/// `csrf`): its session's bound token, or an anonymous one. A response that
/// starts or ends a session carries the token of what follows. Clients that
/// send an Authorization header are exempt from CSRF and get none, unless
/// the answer starts a browser session (HTTP Basic on `/api/login`).
async fn issue_csrf_cookie(state: &AppState, mut request: Request, next: Next) -> Response {
    let tokens = &state.auth.tokens;
    let exempt = request.headers().contains_key(header::AUTHORIZATION);
    let before = (!exempt).then(|| csrf::for_request(tokens, request.headers()));
    if let Some((token, true)) = &before {
        request.extensions_mut().insert(CsrfToken(token.clone()));
    }
    let mut response = next.run(request).await;
    let token = match (csrf::session_change(tokens, &response), before) {
        // A new session brings its own token, whoever asked for it.
        (Some(csrf::SessionChange::Started(bound)), _) => bound,
        // A browser whose session ended starts over with a fresh token.
        (Some(csrf::SessionChange::Ended), Some(_)) => csrf::anonymous_token(),
        (None, Some((token, true))) => token,
        _ => return response,
    };
    response
        .headers_mut()
        .append(header::SET_COOKIE, state.cookies.csrf(&token));
    response
}
