//! `POST /api/token`: the OAuth2 token endpoint (password and refresh_token
//! grants). Responses are never cached; errors use RFC 6749's codes.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;

use crate::auth::TokenPair;
use crate::error::{AppError, AppResult, Code};
use crate::secret::Secret;
use crate::web::error::refusal_response;
use crate::web::extract::{ApiForm, ClientAddr};
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
}

async fn post_token(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    form: Result<ApiForm<TokenForm>, AppError>,
) -> Response {
    let result = match form {
        Ok(ApiForm(form)) => grant(&state, &client, form).await,
        Err(err) => Err(err),
    };
    let mut response = match result {
        Ok(pair) => Json(token_body(&pair)).into_response(),
        Err(AppError::Refused(refusal)) => refusal_response(&refusal, refusal.code.rfc6749_error()),
        Err(internal) => internal.into_response(),
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

async fn grant(state: &AppState, client: &str, form: TokenForm) -> AppResult<TokenPair> {
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
        }
        Some("refresh_token") => {
            let Some(token) = form.refresh_token else {
                return Err(AppError::bad_request(
                    Code::InvalidRequest,
                    "The refresh_token grant needs refresh_token.",
                ));
            };
            state.auth.refresh_grant(&token, scope, now).await
        }
        Some(_) => Err(AppError::bad_request(
            Code::UnsupportedGrantType,
            "Supported grant types are password and refresh_token.",
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
