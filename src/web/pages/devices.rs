//! The devices page (`/devices`, "Devices and sessions"): where a person
//! sees everywhere they are signed in and ends it. Its sections stand
//! apart in the template (`#sessions`, `#everywhere`), so more kinds of
//! sign-in (client tokens, devices) can be added beside the sessions.
//!
//! Every action is a plain form (POST with the CSRF field, no script):
//! "sign out" ends one of the person's sessions by its public id, "sign out
//! everywhere" ends every session and OAuth token of theirs. Ending the
//! asking browser's own session clears its cookie and leads to the login
//! page. The decisions are `Auth`'s (`auth::own_sessions`).

use askama::Template;
use axum::Form;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::account::{CsrfForm, check_form_csrf};
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
struct DevicesPage {
    csrf_token: String,
    is_admin: bool,
    sessions: Vec<SessionItem>,
    sign_out_everywhere_action: &'static str,
    notice: Option<&'static str>,
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
    let sessions = state.auth.own_sessions(&actor, state.now()).await.map_err(page_error)?;
    let done = query.ok().and_then(|Query(q)| q.done).unwrap_or_default();
    let page = DevicesPage {
        csrf_token: csrf.0,
        is_admin: actor.has(Scope::UsersWrite),
        sessions: sessions.into_iter().map(SessionItem::new).collect(),
        sign_out_everywhere_action: SIGN_OUT_EVERYWHERE_PATH,
        notice: (done == "session").then_some("That session is signed out."),
    };
    Ok(render(&page, StatusCode::OK))
}

/// The signed-in person allowed to change their own things, after the
/// form's CSRF check.
async fn form_actor(state: &AppState, headers: &HeaderMap, csrf_token: &str) -> Result<Principal, Response> {
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

/// `POST /devices/sign-out-everywhere`: ends every session and OAuth token
/// of the person, this browser's included.
pub async fn post_sign_out_everywhere(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    let actor = form_actor(&state, &headers, &form.csrf_token).await?;
    state.auth.sign_out_everywhere(&actor).await.map_err(page_error)?;
    Ok(signed_out(&state))
}
