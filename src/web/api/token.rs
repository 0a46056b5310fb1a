//! `POST /api/token`: the OAuth2 token endpoint (password, refresh_token,
//! and RFC 8628's device_code grant; see `oauth` for the device
//! authorization that starts the last). Responses are never cached; errors
//! use RFC 6749's codes (and RFC 8628's for a device's polls).

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::oauth::DEVICE_CODE_GRANT;
use crate::auth::{DeviceToken, PollEndpoint, TokenPair};
use crate::error::{AppError, AppResult, Code};
use crate::secret::Secret;
use crate::web::error::oauth_answer;
use crate::web::extract::{ApiForm, ClientAddr};
use crate::web::fetch_site::NotCrossSite;
use crate::web::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/token", post(post_token))
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    username: Option<String>,
    password: Option<String>,
    refresh_token: Option<String>,
    scope: Option<String>,
    device_code: Option<String>,
    client_id: Option<String>,
}

/// What a grant hands out.
enum Granted {
    Pair(TokenPair),
    /// A client token, to a device that was approved (RFC 8628).
    Device(DeviceToken),
}

async fn post_token(
    State(state): State<AppState>,
    _: NotCrossSite,
    ClientAddr(client): ClientAddr,
    form: Result<ApiForm<TokenForm>, AppError>,
) -> Response {
    let result = match form {
        Ok(ApiForm(form)) => grant(&state, &client, form).await,
        Err(err) => Err(err),
    };
    oauth_answer(result.map(|granted| match granted {
        Granted::Pair(pair) => Json(token_body(&pair)).into_response(),
        Granted::Device(token) => Json(device_token_body(&token, state.now())).into_response(),
    }))
}

async fn grant(state: &AppState, client: &str, form: TokenForm) -> AppResult<Granted> {
    let now = state.now();
    let scope = form.scope.as_deref();
    match form.grant_type.as_deref() {
        Some("password") => {
            // With both fields present the grant checks (and logs) it.
            let (Some(username), Some(password)) = (form.username, form.password) else {
                state.auth.ensure_password_login_enabled()?;
                return Err(AppError::bad_request(
                    Code::InvalidRequest,
                    "The password grant needs username and password.",
                ));
            };
            state
                .auth
                .password_grant(&username, &Secret::new(password), scope, client, now)
                .await
                .map(Granted::Pair)
        }
        Some("refresh_token") => {
            let Some(token) = form.refresh_token else {
                return Err(AppError::bad_request(
                    Code::InvalidRequest,
                    "The refresh_token grant needs refresh_token.",
                ));
            };
            state.auth.refresh_grant(&token, scope, now).await.map(Granted::Pair)
        }
        Some(DEVICE_CODE_GRANT) => {
            let (Some(device_code), Some(client_id)) = (form.device_code, form.client_id) else {
                return Err(AppError::bad_request(
                    Code::InvalidRequest,
                    "The device_code grant needs device_code and client_id.",
                ));
            };
            let endpoint = PollEndpoint::OAuth { client_id: &client_id };
            state
                .auth
                .poll_device_flow(&device_code, endpoint, client, now)
                .await
                .map(Granted::Device)
        }
        Some(_) => Err(AppError::bad_request(
            Code::UnsupportedGrantType,
            "Supported grant types are password, refresh_token and urn:ietf:params:oauth:grant-type:device_code.",
        )),
        None => Err(AppError::bad_request(Code::InvalidRequest, "grant_type is required.")),
    }
}

fn token_body(pair: &TokenPair) -> serde_json::Value {
    json!({
        "access_token": pair.access_token.expose(),
        "refresh_token": pair.refresh_token.expose(),
        "token_type": "bearer",
        "expires": pair.access_expires_in,
        "expires_in": pair.access_expires_in,
        "refresh_expires": pair.refresh_expires_in,
        "scope": pair.scopes.to_string(),
    })
}

/// RFC 6749 §5.1 for a device's client token: it has no refresh token (it
/// lives until its expiry or until the person revokes it), and
/// `expires_in` only when it expires.
#[derive(Serialize)]
struct DeviceTokenBody<'a> {
    access_token: &'a str,
    token_type: &'static str,
    scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in: Option<i64>,
}

fn device_token_body(token: &DeviceToken, now: i64) -> DeviceTokenBody<'_> {
    DeviceTokenBody {
        access_token: token.access_token.expose(),
        token_type: "bearer",
        scope: token.scopes.to_string(),
        expires_in: token.expires_at.map(|at| (at - now).max(0)),
    }
}
