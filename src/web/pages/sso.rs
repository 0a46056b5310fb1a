//! Single sign-on in the browser: start (`/api/login/openid`), the
//! provider's redirect back (`/api/oauth/openid`). Browsers hit these, so
//! refusals are pages (hence they sit with the pages despite their paths).

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::auth::sign_in_log::{self, Method};
use crate::error::{AppError, Code, Kind};
use crate::next_path::NextPath;
use crate::oidc::{Callback, Oidc};
use crate::web::cookies::read_cookie;
use crate::web::error::PageError;
use crate::web::extract::ClientAddr;
use crate::web::fetch_site;
use crate::web::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/login/openid", get(get_login_openid))
        .route("/api/oauth/openid", get(get_oauth_callback))
}

fn enabled(state: &AppState) -> Result<&Oidc, PageError> {
    state.oidc.as_ref().ok_or_else(|| {
        PageError(
            AppError::refuse(
                Kind::NotFound,
                Code::OidcDisabled,
                "Single sign-on is not enabled on this server.",
            )
            .hint("Set OIDC_ENABLED=true and the OIDC_* variables to turn it on."),
        )
    })
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
    /// `1`: ask the provider for a new authentication (the account page's
    /// "sign in again", see `Oidc::begin`).
    fresh: Option<String>,
}

async fn get_login_openid(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Query(query): Query<LoginQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let oidc = enabled(&state)?;
    if fetch_site::embedded_by_another_site(&headers) {
        return Err(PageError(fetch_site::refusal()));
    }
    let next = NextPath::or_home(query.next.as_deref());
    let now = state.now();
    state.auth.count_sso_start(&client, now).await.map_err(log_refusal)?;
    // A binding cookie the browser brings is ignored: every start mints one.
    let fresh = query.fresh.as_deref() == Some("1");
    let started = oidc.begin(&state.auth, &next, fresh, now).await.map_err(log_refusal)?;
    let cookie = state.cookies.short_lived(
        state.cookies.attempt_name(),
        &started.browser_token,
        crate::oidc::ATTEMPT_SECONDS,
    );
    Ok((
        StatusCode::FOUND,
        [(header::LOCATION, started.authorize_url.as_str().to_string())],
        AppendHeaders([(header::SET_COOKIE, cookie)]),
    )
        .into_response())
}

async fn get_oauth_callback(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    callback: Result<Query<Callback>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let oidc = enabled(&state)?;
    let Query(callback) = callback.map_err(|_| {
        sign_in_log::failed(Method::Sso, "", &client, Code::CallbackIncomplete);
        PageError(AppError::bad_request(
            Code::CallbackIncomplete,
            "The sign-in answer from the identity provider is malformed.",
        ))
    })?;
    let browser = read_cookie(&headers, state.cookies.attempt_name());
    let now = state.now();
    // `finish` writes the sign-in log line, passed or refused.
    let completed = oidc.finish(&state.auth, callback, browser, &client, now).await?;
    let oidc_session = completed.session.clone();
    let session = state
        .auth
        .start_session(completed.user.id, Some(&oidc_session), now)
        .await?;
    let session_cookie = state.cookies.session(session.token.expose(), session.max_age_seconds);
    let clear_attempt = state.cookies.short_lived(state.cookies.attempt_name(), "", 0);
    Ok((
        AppendHeaders([
            (header::SET_COOKIE, session_cookie),
            (header::SET_COOKIE, clear_attempt),
        ]),
        Redirect::to(completed.next.as_str()),
    )
        .into_response())
}

/// A refused start leaves a log line with its detail (the callback's
/// refusals are sign-in log lines, see `Oidc::finish`).
fn log_refusal(err: AppError) -> AppError {
    if let Some(refusal) = err.refusal() {
        tracing::info!(
            code = refusal.code.as_str(),
            detail = refusal.hint.as_deref().unwrap_or(""),
            "single sign-on refused"
        );
    }
    err
}
