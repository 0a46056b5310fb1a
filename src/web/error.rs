//! `AppError` to HTTP, in one place, both renderings side by side. JSON for
//! the API: `{"error", "error_description"}` (RFC 6749), `detail` (RomM) and
//! `hint`; a page (`PageError`) for browsers, with the same status, words
//! and headers. An internal error's detail goes to the log; the client gets
//! a generic body.

use askama::Template;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use crate::error::{AppError, AppResult, Code, Internal, Kind, Refusal};

pub fn status_of(kind: Kind) -> StatusCode {
    match kind {
        Kind::BadRequest => StatusCode::BAD_REQUEST,
        Kind::Unauthenticated => StatusCode::UNAUTHORIZED,
        Kind::Forbidden => StatusCode::FORBIDDEN,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::Gone => StatusCode::GONE,
        Kind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        Kind::Conflict => StatusCode::CONFLICT,
        Kind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Kind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Kind::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
        Kind::BadGateway => StatusCode::BAD_GATEWAY,
        Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// Logs an internal error with its chain of causes: the one place a 500's
/// detail goes, for the JSON and the page answer alike.
pub fn log_internal(internal: &Internal) {
    tracing::error!(detail = %internal.chain(), "internal error");
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::Refused(refusal) => refusal_response(&refusal, refusal.code.as_str()),
            AppError::Internal(detail) => {
                log_internal(&detail);
                let body = json!({
                    "error": "server_error",
                    "error_description": "Something went wrong on the server. The administrator can find the details in its log.",
                    "detail": "Internal server error",
                });
                (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
            }
        }
    }
}

/// A refusal's JSON body, serialized as a struct rather than a `json!` map
/// (the same bytes: members in alphabetical order, `hint` null when absent);
/// every rejected credential gets one.
#[derive(Serialize)]
struct RefusalBody<'a> {
    detail: &'a str,
    error: &'a str,
    error_description: &'a str,
    hint: Option<&'a str>,
}

/// The JSON refusal, with `code` as the `error` member (the token endpoint
/// passes its RFC 6749 name).
pub fn refusal_response(refusal: &Refusal, code: &str) -> Response {
    refusal_response_with_detail(refusal, code, &refusal.message)
}

/// The JSON refusal with `detail` set to `detail` instead of the message,
/// for clients that match on `detail` (RomM's device poll reads the bare
/// RFC 8628 word there).
pub fn refusal_response_with_detail(refusal: &Refusal, code: &str, detail: &str) -> Response {
    let body = RefusalBody {
        detail,
        error: code,
        error_description: &refusal.message,
        hint: refusal.hint.as_deref(),
    };
    let mut response = (status_of(refusal.kind), Json(body)).into_response();
    add_refusal_headers(&mut response, refusal);
    response
}

/// Seconds a client is asked to wait while the database is unavailable.
const UNAVAILABLE_RETRY_AFTER_SECONDS: u64 = 5;

/// `WWW-Authenticate` on 401 and `Retry-After` on 429 and 503, for JSON and
/// pages.
pub fn add_refusal_headers(response: &mut Response, refusal: &Refusal) {
    let headers = response.headers_mut();
    match refusal.kind {
        Kind::Unauthenticated => {
            let challenge = HeaderValue::from_static(refusal.code.bearer_challenge());
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        Kind::TooManyRequests { retry_after_seconds } => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
        }
        Kind::Unavailable => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(UNAVAILABLE_RETRY_AFTER_SECONDS));
        }
        _ => {}
    }
}

/// An OAuth endpoint's answer (RFC 6749 §5.1, §5.2): refusals in RFC 6749's
/// words, and never cached.
pub fn oauth_answer(result: AppResult<Response>) -> Response {
    let mut response = match result {
        Ok(response) => response,
        Err(AppError::Refused(refusal)) => refusal_response(&refusal, refusal.code.rfc6749_error()),
        Err(internal) => internal.into_response(),
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

// Refusals as pages, with the same status and words as the JSON answer.

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate<'a> {
    title: &'a str,
    message: &'a str,
    hint: Option<&'a str>,
    code: &'a str,
    back_href: &'a str,
    back_label: &'a str,
}

/// An `AppError` raised by a page handler: rendered as HTML.
pub struct PageError(pub AppError);

impl From<AppError> for PageError {
    fn from(err: AppError) -> Self {
        PageError(err)
    }
}

fn title_of(kind: Kind) -> &'static str {
    match kind {
        Kind::BadRequest => "That did not work",
        Kind::Unauthenticated => "Please sign in",
        Kind::Forbidden => "Not allowed",
        Kind::NotFound => "Page not found",
        Kind::Gone => "No longer valid",
        Kind::MethodNotAllowed => "That did not work",
        Kind::Conflict => "That did not work",
        Kind::PayloadTooLarge => "Too large",
        Kind::UnsupportedMediaType => "That did not work",
        Kind::TooManyRequests { .. } => "Too many attempts",
        Kind::BadGateway => "Sign-in service unavailable",
        Kind::Unavailable => "Temporarily unavailable",
    }
}

pub fn render(template: &impl Template, status: StatusCode) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(err) => {
            log_internal(&Internal::with_source("rendering a page template", err));
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal server error").into_response()
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        error_response(self.0, "/login?local=1", "Back to sign in")
    }
}

impl PageError {
    /// The page for someone already signed in: the way back leads home.
    pub fn signed_in(self) -> Response {
        error_response(self.0, "/", "Back to the start")
    }
}

fn error_response(err: AppError, back_href: &str, back_label: &str) -> Response {
    match err {
        AppError::Refused(refusal) => {
            let page = ErrorTemplate {
                title: title_of(refusal.kind),
                message: &refusal.message,
                hint: refusal.hint.as_deref(),
                code: refusal.code.as_str(),
                back_href,
                back_label,
            };
            let mut response = render(&page, status_of(refusal.kind));
            add_refusal_headers(&mut response, &refusal);
            response
        }
        AppError::Internal(detail) => {
            log_internal(&detail);
            let page = ErrorTemplate {
                title: "Something went wrong",
                message: "Something went wrong on the server. Please try again in a moment.",
                hint: Some("The server log has the details."),
                code: "internal_error",
                back_href: "/",
                back_label: "Back to the start",
            };
            render(&page, StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

pub fn not_found_page() -> Response {
    let page = ErrorTemplate {
        title: "Page not found",
        message: "There is no page at this address.",
        hint: None,
        code: Code::NotFound.as_str(),
        back_href: "/",
        back_label: "Back to the start",
    };
    render(&page, StatusCode::NOT_FOUND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_bodies_are_the_bytes_json_wrote() {
        for hint in [None, Some("Set X=1.")] {
            let body = RefusalBody {
                detail: "No.",
                error: "invalid_token",
                error_description: "No.",
                hint,
            };
            let map = json!({"error": "invalid_token", "error_description": "No.", "detail": "No.", "hint": hint});
            assert_eq!(
                serde_json::to_string(&body).expect("json"),
                serde_json::to_string(&map).expect("json")
            );
        }
    }
}
