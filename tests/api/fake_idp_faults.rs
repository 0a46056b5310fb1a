//! The fake provider's fault modes: an endpoint that answers after
//! romgate's timeout, or answers garbage (a body that is not JSON, an HTML
//! error page, JSON of the wrong shape). A provider that is down is
//! `FakeIdp::stop`, and back up is `FakeIdp::start_on` its port.

use std::time::Duration;

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use romgate::oidc::provider_http::TOTAL_TIMEOUT;
use serde_json::{Value, json};

use crate::fake_idp::FakeIdp;

/// What a slow endpoint waits before answering: past romgate's timeout.
pub const SLOW: Duration = Duration::from_secs(TOTAL_TIMEOUT.as_secs() + 5);
/// In every garbage answer: romgate must never show it to the person.
pub const GARBAGE_MARKER: &str = "FAKE-PROVIDER-GARBAGE";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Discovery,
    Jwks,
    Token,
    Userinfo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answers (correctly) only after romgate has given up.
    Slow,
    /// 200, declared JSON, but not JSON.
    NotJson,
    /// 500 with an HTML error page.
    Html500,
    /// 200 with JSON of the wrong shape for this endpoint.
    WrongJson,
}

/// The answer `idp`'s fault for `endpoint` gives instead of the real one;
/// `None` to answer normally (after the wait, when slow).
pub async fn fault_answer(idp: &FakeIdp, endpoint: Endpoint) -> Option<Response> {
    match idp.fault(endpoint)? {
        Fault::Slow => {
            tokio::time::sleep(SLOW).await;
            None
        }
        Fault::NotJson => Some(
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                format!("{GARBAGE_MARKER} {{ this is not JSON"),
            )
                .into_response(),
        ),
        Fault::Html500 => Some(
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/html")],
                format!(
                    "<html><body><h1>{GARBAGE_MARKER}</h1><pre>Traceback (most recent call last)</pre></body></html>"
                ),
            )
                .into_response(),
        ),
        Fault::WrongJson => Some(Json(wrong_shape(endpoint)).into_response()),
    }
}

fn wrong_shape(endpoint: Endpoint) -> Value {
    match endpoint {
        // No endpoints, no issuer.
        Endpoint::Discovery => json!({"hello": GARBAGE_MARKER}),
        // A key whose modulus is not base64url.
        Endpoint::Jwks => {
            json!({"keys": [{"kty": "RSA", "kid": "key-a", "use": "sig", "n": GARBAGE_MARKER, "e": "%%"}]})
        }
        Endpoint::Token => json!({"access_token": 42, "token_type": GARBAGE_MARKER}),
        Endpoint::Userinfo => json!([GARBAGE_MARKER]),
    }
}
