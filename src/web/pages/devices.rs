//! The devices page (`/devices`, "Devices and sessions"): where a person
//! sees everywhere they are signed in and ends it. Its sections stand
//! apart in the template: browser sessions (`#sessions`, here), devices and
//! app tokens (`#devices`, `#tokens`, `#add`: `devices_apps`,
//! `devices_app_forms`), and "sign out everywhere" (`#everywhere`, here).
//!
//! Every action is a plain form (POST with the CSRF field, no script):
//! "sign out" ends one of the person's sessions by its public id; "sign out
//! everywhere", after a confirmation page, ends every session and OAuth
//! token of theirs and revokes every client token and device. Ending the
//! asking browser's own session (by either) clears its cookie and leads to
//! the login page. The decisions are `Auth`'s (`auth::own_sessions`).

use askama::Template;
use axum::Form;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::account::{CsrfForm, check_form_csrf};
use super::confirm::{ConfirmForm, ConfirmPage, ask_first};
use super::devices_apps::{AddTyped, AppsView, apps_view};
use super::guard::{PageResult, page_error, require_page};
use crate::auth::{OwnSession, Principal, Scope};
use crate::clock::format_time_readable;
use crate::web::csrf::CsrfToken;
use crate::web::error::render;
use crate::web::extract::ApiPath;
use crate::web::state::AppState;

pub const HERE: &str = "/devices";
pub const SIGN_OUT_EVERYWHERE_PATH: &str = "/devices/sign-out-everywhere";

/// One session as the page lists it.
struct SessionItem {
    /// Where its "sign out" form posts.
    sign_out_action: String,
    signed_in: String,
    expires: String,
    method: &'static str,
    current: bool,
}

impl SessionItem {
    fn new(session: OwnSession) -> Self {
        Self {
            sign_out_action: format!("/devices/sessions/{}/sign-out", session.id),
            signed_in: format_time_readable(session.created_at),
            expires: format_time_readable(session.expires_at),
            method: if session.single_sign_on {
                "single sign-on"
            } else {
                "password"
            },
            current: session.current,
        }
    }
}

#[derive(Template)]
#[template(path = "devices.html")]
pub(super) struct DevicesPage {
    csrf_token: String,
    is_admin: bool,
    sessions: Vec<SessionItem>,
    apps: AppsView,
    sign_out_everywhere_href: &'static str,
    notice: Option<&'static str>,
}

/// The page as `actor` sees it; the "Add an app" form as `typed`, with the
/// refusal `error`, after a refused attempt.
pub(super) async fn devices_page(
    state: &AppState,
    actor: &Principal,
    csrf: &CsrfToken,
    typed: Option<&AddTyped>,
    error: Option<String>,
) -> Result<DevicesPage, Response> {
    let sessions = state.auth.own_sessions(actor, state.now()).await.map_err(page_error)?;
    Ok(DevicesPage {
        csrf_token: csrf.0.clone(),
        is_admin: actor.has(Scope::UsersWrite),
        sessions: sessions.into_iter().map(SessionItem::new).collect(),
        apps: apps_view(state, actor, typed, error).await?,
        sign_out_everywhere_href: SIGN_OUT_EVERYWHERE_PATH,
        notice: None,
    })
}

#[derive(Deserialize, Default)]
pub struct DevicesQuery {
    done: Option<String>,
}

pub async fn get_devices(
    State(state): State<AppState>,
    headers: HeaderMap,
    csrf: CsrfToken,
    query: Result<Query<DevicesQuery>, QueryRejection>,
) -> PageResult {
    let actor = require_page(&state, &headers, &[Scope::MeRead], HERE).await?;
    let mut page = devices_page(&state, &actor, &csrf, None, None).await?;
    let done = query.ok().and_then(|Query(q)| q.done).unwrap_or_default();
    page.notice = match done.as_str() {
        "session" => Some("That session is signed out."),
        "device" => Some("That device is revoked: it can no longer use your account."),
        "token" => Some("That app token is revoked: apps using it can no longer use your account."),
        _ => None,
    };
    Ok(render(&page, StatusCode::OK))
}

/// The signed-in person allowed to change their own things, after the
/// form's CSRF check.
pub(super) async fn form_actor(state: &AppState, headers: &HeaderMap, csrf_token: &str) -> Result<Principal, Response> {
    let actor = require_page(state, headers, &[Scope::MeWrite], HERE).await?;
    check_form_csrf(state, headers, csrf_token).map_err(page_error)?;
    Ok(actor)
}

/// This browser's session is over: the cookie goes, the login page follows.
fn signed_out(state: &AppState) -> Response {
    let clear = state.cookies.clear_session();
    (AppendHeaders([(header::SET_COOKIE, clear)]), Redirect::to("/login")).into_response()
}

/// `POST /devices/sessions/{id}/sign-out`: ends one of the person's own
/// sessions; someone else's id is a 404 that ends nothing.
pub async fn post_sign_out_session(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    let actor = form_actor(&state, &headers, &form.csrf_token).await?;
    let ended = state
        .auth
        .end_own_session(&actor, &id, state.now())
        .await
        .map_err(page_error)?;
    if ended.current {
        return Ok(signed_out(&state));
    }
    Ok(Redirect::to("/devices?done=session").into_response())
}

/// `GET /devices/sign-out-everywhere`: "Sign out everywhere?", the question
/// before `post_sign_out_everywhere`.
pub async fn get_sign_out_everywhere(State(state): State<AppState>, headers: HeaderMap, csrf: CsrfToken) -> PageResult {
    let actor = require_page(&state, &headers, &[Scope::MeWrite], HERE).await?;
    let page = ConfirmPage {
        csrf_token: csrf.0,
        is_admin: actor.has(Scope::UsersWrite),
        question: "Sign out everywhere?".into(),
        detail: "This ends every browser session of yours, this one included, and every app sign-in made \
                 with your username and password, and revokes every device and app token: each app and device \
                 must be signed in again. You sign in again afterwards."
            .into(),
        button: "Sign out everywhere".into(),
        action: SIGN_OUT_EVERYWHERE_PATH.into(),
        cancel_href: HERE.into(),
    };
    Ok(page.response())
}

/// `POST /devices/sign-out-everywhere` with `confirm=yes`: ends every
/// session and OAuth token of the person, this browser's included, and
/// revokes every client token and device of theirs. Unconfirmed, it changes
/// nothing and asks first.
pub async fn post_sign_out_everywhere(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<ConfirmForm>,
) -> PageResult {
    let actor = form_actor(&state, &headers, &form.csrf_token).await?;
    if !form.confirmed() {
        return Ok(ask_first(SIGN_OUT_EVERYWHERE_PATH));
    }
    state.auth.sign_out_everywhere(&actor).await.map_err(page_error)?;
    Ok(signed_out(&state))
}
