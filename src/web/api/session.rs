//! `POST /api/login` (HTTP Basic) and `POST /api/logout`.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use crate::auth::sign_in_log::{self, Method};
use crate::error::{AppError, AppResult, Code, Kind};
use crate::secret::Secret;
use crate::web::basic_auth::{basic_scheme, decode_basic, malformed};
use crate::web::extract::{ClientAddr, MaybePrincipal};
use crate::web::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/login", post(post_login))
        .route("/api/logout", post(post_logout))
}

async fn post_login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
) -> AppResult<Response> {
    let (username, password) = match basic_credentials(&headers) {
        Ok(credentials) => credentials,
        Err(err) => {
            state.auth.ensure_password_login_enabled()?;
            if let Some(code) = err.code().filter(|c| *c == Code::InvalidAuthorizationHeader) {
                sign_in_log::failed(Method::Password, "", &client, code);
            }
            return Err(err);
        }
    };
    let now = state.now();
    let session = state
        .auth
        .sign_in_with_password(&username, &password, &client, now)
        .await?;
    let cookie = state.cookies.session(session.token.expose(), session.max_age_seconds);
    Ok((
        AppendHeaders([(header::SET_COOKIE, cookie)]),
        Json(json!({"msg": "Successfully logged in"})),
    )
        .into_response())
}

/// Ends the session (or bearer token) presented, clears the cookie, and
/// answers `null`, or `{"oidc_logout_url": ...}` once single sign-on logout
/// applies.
async fn post_logout(State(state): State<AppState>, MaybePrincipal(principal): MaybePrincipal) -> AppResult<Response> {
    let provider_logout = match &principal {
        Some(principal) => crate::oidc::sign_out(&state.auth, state.oidc.as_ref(), principal, state.now()).await?,
        None => None,
    };
    let body = match provider_logout {
        Some(url) => json!({ "oidc_logout_url": url.as_str() }),
        None => Value::Null,
    };
    let clear = state.cookies.clear_session();
    Ok((AppendHeaders([(header::SET_COOKIE, clear)]), Json(body)).into_response())
}

/// Decodes `Authorization: Basic base64(username:password)`.
fn basic_credentials(headers: &HeaderMap) -> AppResult<(String, Secret)> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(AppError::refuse(
            Kind::Unauthenticated,
            Code::NotAuthenticated,
            "Send your username and password with HTTP Basic authentication.",
        ));
    };
    let value = value.to_str().map_err(|_| malformed())?;
    let encoded = basic_scheme(value).ok_or_else(malformed)?;
    decode_basic(encoded)
}
