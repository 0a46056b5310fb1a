//! The standard form of device sign-in, for generic OAuth 2.0 clients:
//! RFC 8628's device authorization endpoint (`POST
//! /api/oauth/device_authorization`) and the RFC 8414 metadata that names
//! it (`GET /.well-known/oauth-authorization-server`). The device then
//! polls `POST /api/token` with the device_code grant (`token`). URIs are
//! absolute, from ROMM_BASE_URL; refusals are RFC 6749 JSON (`error`).

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::{Scope, StartedDeviceFlow, VERIFICATION_PATH};
use crate::error::AppError;
use crate::web::error::oauth_answer;
use crate::web::extract::{ApiForm, ClientAddr};
use crate::web::fetch_site::NotCrossSite;
use crate::web::state::AppState;

pub const DEVICE_AUTHORIZATION_PATH: &str = "/api/oauth/device_authorization";
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(DEVICE_AUTHORIZATION_PATH, post(post_device_authorization))
        .route("/.well-known/oauth-authorization-server", get(get_metadata))
}

/// `ROMM_BASE_URL` without its trailing slash (it is an origin: a base URL
/// with a path is refused at start).
fn base(state: &AppState) -> &str {
    state.config.base_url.as_str().trim_end_matches('/')
}

#[derive(Deserialize)]
struct DeviceAuthorizationForm {
    client_id: Option<String>,
    scope: Option<String>,
}

/// RFC 8628 §3.2.
#[derive(Serialize)]
struct DeviceAuthorizationAnswer {
    device_code: String,
    user_code: String,
    verification_uri: String,
    verification_uri_complete: String,
    expires_in: i64,
    interval: i64,
}

fn answer(state: &AppState, started: StartedDeviceFlow) -> DeviceAuthorizationAnswer {
    let verification_uri = format!("{}{VERIFICATION_PATH}", base(state));
    DeviceAuthorizationAnswer {
        verification_uri_complete: format!("{verification_uri}?user_code={}", started.user_code),
        verification_uri,
        device_code: started.device_code,
        user_code: started.user_code,
        expires_in: started.expires_in,
        interval: started.interval,
    }
}

async fn post_device_authorization(
    State(state): State<AppState>,
    _: NotCrossSite,
    ClientAddr(client): ClientAddr,
    form: Result<ApiForm<DeviceAuthorizationForm>, AppError>,
) -> Response {
    let result = match form {
        Ok(ApiForm(form)) => {
            let client_id = form.client_id.unwrap_or_default();
            state
                .auth
                .start_oauth_device_flow(&client_id, form.scope.as_deref(), &client, state.now())
                .await
        }
        Err(err) => Err(err),
    };
    oauth_answer(result.map(|started| Json(answer(&state, started)).into_response()))
}

/// RFC 8414 §2. The issuer is the base URL, so the metadata sits at
/// `<issuer>/.well-known/oauth-authorization-server` as §3 requires. There
/// is no authorization endpoint (sign-in in the browser is the pages' and
/// single sign-on's), so no response type is supported.
async fn get_metadata(State(state): State<AppState>) -> Response {
    let base = base(&state);
    let scopes: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
    let metadata = json!({
        "issuer": base,
        "token_endpoint": format!("{base}/api/token"),
        "device_authorization_endpoint": format!("{base}{DEVICE_AUTHORIZATION_PATH}"),
        "grant_types_supported": ["password", "refresh_token", DEVICE_CODE_GRANT],
        "scopes_supported": scopes,
        "token_endpoint_auth_methods_supported": ["none"],
        "response_types_supported": [],
    });
    let mut response = Json(metadata).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}
