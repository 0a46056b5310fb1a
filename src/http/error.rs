//! `AppError` to HTTP, in one place. JSON for the API:
//! `{"error", "error_description"}` (RFC 6749), `detail` (RomM) and `hint`.
//! An internal error's detail goes to the log; the client gets a generic body.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use crate::error::{AppError, Internal, Kind, Refusal};

pub fn status_of(kind: Kind) -> StatusCode {
    match kind {
        Kind::BadRequest => StatusCode::BAD_REQUEST,
        Kind::Unauthenticated => StatusCode::UNAUTHORIZED,
        Kind::Forbidden => StatusCode::FORBIDDEN,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        Kind::Conflict => StatusCode::CONFLICT,
        Kind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Kind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Kind::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
        Kind::BadGateway => StatusCode::BAD_GATEWAY,
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
    let body = RefusalBody {
        detail: &refusal.message,
        error: code,
        error_description: &refusal.message,
        hint: refusal.hint.as_deref(),
    };
    let mut response = (status_of(refusal.kind), Json(body)).into_response();
    add_refusal_headers(&mut response, refusal);
    response
}

/// `WWW-Authenticate` on 401 and `Retry-After` on 429, for JSON and pages.
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
        _ => {}
    }
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
