//! The devices page's app forms: "Revoke" a device or an app token, and
//! "Add an app": a person makes an app token (name, scopes no wider than
//! their role, expiry) and then, if they like, a pairing code for it, so an
//! app on a handheld or a TV is paired by typing eight characters instead
//! of a 68-character token (SPEC 8.2, 8.4).
//!
//! Every form is a plain POST with the CSRF field, no script, and goes
//! through `Auth`'s own-token and own-device flows, so a person acts only
//! on their own: another person's id is a 404 that changes nothing.
//! Revoking a device deletes its tokens with it, so the device is refused
//! on its very next call.
//!
//! Guarantees: the raw token is in exactly one answer, the page that
//! answers the form's POST (never in an address, a redirect or a log; the
//! page is `no-store` like every signed-in answer, see
//! `web::security_headers`); the same goes for a pairing code. Both go
//! through `Auth` (`create_client_token`, `pair_client_token`), so the
//! rules are the API's: a scope beyond the person's role is refused, and a
//! refusal is the devices page again with the form as it was filled in.

use askama::Template;
use axum::Form;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::account::CsrfForm;
use super::devices::{devices_page, form_actor};
use super::devices_apps::{AddTyped, pair_token_path};
use super::guard::{PageResult, page_error};
use crate::auth::client_tokens::granted_scopes;
use crate::auth::pairing::PAIRING_CODE_SECONDS;
use crate::auth::{ClientTokenRequest, Principal, Scope};
use crate::clock::format_time_readable;
use crate::error::AppError;
use crate::store::ClientToken;
use crate::web::csrf::CsrfToken;
use crate::web::error::{add_refusal_headers, render, status_of};
use crate::web::extract::ApiPath;
use crate::web::state::AppState;

pub const ADD_PATH: &str = "/devices/tokens";

/// The answer to "Add an app" (with the raw token) or to "Get a pairing
/// code" (with the code). Deliberately not `Debug`: it holds secrets.
#[derive(Template)]
#[template(path = "app_token.html")]
struct AppTokenPage {
    csrf_token: String,
    is_admin: bool,
    name: String,
    scopes: Vec<&'static str>,
    expires: String,
    /// The raw token, on the answer that created it and only there.
    raw: Option<String>,
    /// A pairing code and how long it lives.
    code: Option<String>,
    code_seconds: i64,
    pair_action: String,
}

impl AppTokenPage {
    fn new(actor: &Principal, csrf: &CsrfToken, token: &ClientToken) -> Self {
        Self {
            csrf_token: csrf.0.clone(),
            is_admin: actor.has(Scope::UsersWrite),
            name: token.name.clone(),
            scopes: granted_scopes(token).names(),
            expires: token
                .expires_at
                .map_or_else(|| "Never".to_string(), format_time_readable),
            raw: None,
            code: None,
            code_seconds: PAIRING_CODE_SECONDS,
            pair_action: pair_token_path(token.id),
        }
    }
}

/// The "Add an app" form's fields; `scope` repeats (one per ticked box),
/// which is why it is read by hand rather than with `Form`.
#[derive(Default)]
struct AddFields {
    csrf_token: String,
    typed: AddTyped,
}

impl AddFields {
    fn parse(body: &[u8]) -> Self {
        let mut form = AddFields::default();
        for (name, value) in url::form_urlencoded::parse(body) {
            let value = value.into_owned();
            match name.as_ref() {
                "csrf_token" => form.csrf_token = value,
                "name" => form.typed.name = value,
                "scope" => form.typed.scopes.push(value),
                "expires_in" => form.typed.expires_in = value,
                _ => {}
            }
        }
        form
    }
}

/// `POST /devices/tokens`: makes an app token and shows it, once.
pub async fn post_add_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    csrf: CsrfToken,
    body: Bytes,
) -> PageResult {
    let form = AddFields::parse(&body);
    let actor = form_actor(&state, &headers, &form.csrf_token).await?;
    let request = ClientTokenRequest {
        name: form.typed.name.clone(),
        scopes: form.typed.scopes.clone(),
        expires_in: Some(form.typed.expires_in.clone()),
    };
    match state.auth.create_client_token(&actor, request, state.now()).await {
        Ok(issued) => {
            tracing::info!(
                user_id = actor.user.id,
                token_id = issued.token.id,
                "app token made on the devices page"
            );
            let mut page = AppTokenPage::new(&actor, &csrf, &issued.token);
            page.raw = Some(issued.raw.expose().to_string());
            Ok(render(&page, StatusCode::OK))
        }
        Err(AppError::Refused(refusal)) => {
            let message = Some(refusal.message.to_string());
            let page = devices_page(&state, &actor, &csrf, Some(&form.typed), message).await?;
            let mut response = render(&page, status_of(refusal.kind));
            add_refusal_headers(&mut response, &refusal);
            Ok(response)
        }
        Err(err) => Err(page_error(err)),
    }
}

/// `POST /devices/tokens/{id}/pair`: a pairing code for one of the
/// person's tokens, shown once. Exchanging it gives the app a new secret of
/// the token; the one shown before stops working.
pub async fn post_pair_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    csrf: CsrfToken,
    ApiPath(id): ApiPath<i64>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    let actor = form_actor(&state, &headers, &form.csrf_token).await?;
    let now = state.now();
    let code = state
        .auth
        .pair_client_token(&actor, id, now)
        .await
        .map_err(page_error)?;
    let token = own_token(&state, &actor, id).await?;
    tracing::info!(
        user_id = actor.user.id,
        token_id = id,
        "pairing code made on the devices page"
    );
    let mut page = AppTokenPage::new(&actor, &csrf, &token);
    page.code = Some(code.expose().to_string());
    Ok(render(&page, StatusCode::OK))
}

/// `actor`'s token `id`, for its name and scopes on the pairing page.
async fn own_token(state: &AppState, actor: &Principal, id: i64) -> Result<ClientToken, Response> {
    let tokens = state.auth.list_own_client_tokens(actor).await.map_err(page_error)?;
    tokens
        .into_iter()
        .find(|token| token.id == id)
        .ok_or_else(|| page_error(AppError::not_found("Token not found.")))
}

/// `POST /devices/device/{id}/revoke`: deletes one of the person's devices
/// and every token bound to it.
pub async fn post_revoke_device(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    let actor = form_actor(&state, &headers, &form.csrf_token).await?;
    state.auth.revoke_own_device(&actor, &id).await.map_err(page_error)?;
    tracing::info!(user_id = actor.user.id, "device revoked from the devices page");
    Ok(Redirect::to("/devices?done=device").into_response())
}

/// `POST /devices/tokens/{id}/revoke`: deletes one of the person's tokens.
pub async fn post_revoke_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    let actor = form_actor(&state, &headers, &form.csrf_token).await?;
    state
        .auth
        .revoke_own_client_token(&actor, id)
        .await
        .map_err(page_error)?;
    tracing::info!(
        user_id = actor.user.id,
        token_id = id,
        "app token revoked from the devices page"
    );
    Ok(Redirect::to("/devices?done=token").into_response())
}
