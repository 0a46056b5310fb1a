//! The administrators' users page: every account with its role, status,
//! last login and linked identities; change the role, enable or disable,
//! delete, and unlock sign-in after failed passwords; every app token,
//! each with "Revoke" (`admin_tokens`). The changes go
//! through the same flows as the users API and the CLI (`update_account`,
//! `delete_account`, `unlock_sign_in`), so sessions and tokens end the same
//! way and the last administrator stays protected.

use askama::Template;
use axum::Form;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::account::{CsrfForm, check_form_csrf};
use super::admin_tokens::{AdminTokenRow, token_rows};
use super::confirm::{ConfirmForm, ConfirmPage, ask_first};
use super::guard::{PageResult, page_error, require_page};
use crate::auth::{AccountChanges, Principal, Role, Scope};
use crate::clock::format_time_readable;
use crate::error::{AppError, Code};
use crate::web::csrf::CsrfToken;
use crate::web::error::render;
use crate::web::extract::ApiPath;
use crate::web::state::AppState;

pub(super) const HERE: &str = "/admin/users";
pub(super) const ADMIN_SCOPES: &[Scope] = &[Scope::UsersRead, Scope::UsersWrite];

struct UserRow {
    id: i64,
    username: String,
    email: Option<String>,
    role: &'static str,
    enabled: bool,
    is_self: bool,
    last_login: String,
    /// When failed sign-ins are refused for this username: until when.
    limited_until: Option<String>,
    /// (issuer, subject)
    links: Vec<(String, String)>,
}

/// What was typed into the "create a user" form (never the password).
#[derive(Default)]
pub(super) struct NewAccountFields {
    pub username: String,
    pub email: String,
    pub role: String,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
pub(super) struct UsersPage {
    csrf_token: String,
    is_admin: bool,
    roles: [&'static str; 3],
    users: Vec<UserRow>,
    tokens: Vec<AdminTokenRow>,
    notice: Option<&'static str>,
    pub error: Option<String>,
    pub new_account: NewAccountFields,
    /// Password login is on: the forms offer passwords.
    passwords_enabled: bool,
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    role: String,
}

#[derive(Deserialize)]
pub struct EnabledForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    enabled: String,
}

#[derive(Deserialize, Default)]
pub struct UsersQuery {
    done: Option<String>,
}

pub async fn get_users(
    State(state): State<AppState>,
    headers: HeaderMap,
    csrf: CsrfToken,
    query: Result<Query<UsersQuery>, QueryRejection>,
) -> PageResult {
    let actor = require_page(&state, &headers, ADMIN_SCOPES, HERE).await?;
    let mut page = users_page(&state, &actor, &csrf).await?;
    let done = query.ok().and_then(|Query(q)| q.done).unwrap_or_default();
    page.notice = match done.as_str() {
        "created" => Some("The account is created."),
        "password" => Some("The password is set. The user's sessions and tokens have ended."),
        "token" => Some("The app token is revoked."),
        _ => None,
    };
    Ok(render(&page, StatusCode::OK))
}

/// The users page as `actor` sees it, with empty forms.
pub(super) async fn users_page(state: &AppState, actor: &Principal, csrf: &CsrfToken) -> Result<UsersPage, Response> {
    let accounts = state.auth.accounts_overview(state.now()).await.map_err(page_error)?;
    let rows = accounts
        .into_iter()
        .map(|account| {
            let user = account.user;
            UserRow {
                id: user.id,
                is_self: user.id == actor.user.id,
                role: user.role.as_str(),
                enabled: user.enabled,
                last_login: user
                    .last_login_at
                    .map_or_else(|| "never".to_string(), format_time_readable),
                limited_until: account.limited_until.map(format_time_readable),
                links: account.links.into_iter().map(|l| (l.issuer, l.subject)).collect(),
                username: user.username,
                email: user.email,
            }
        })
        .collect();
    Ok(UsersPage {
        csrf_token: csrf.0.clone(),
        is_admin: true,
        roles: [Role::Viewer, Role::Editor, Role::Admin].map(Role::as_str),
        users: rows,
        tokens: token_rows(state, actor).await?,
        notice: None,
        error: None,
        new_account: NewAccountFields::default(),
        passwords_enabled: !state.config.disable_userpass_login,
    })
}

/// The acting administrator, after the form's CSRF check.
pub(super) async fn form_actor(state: &AppState, headers: &HeaderMap, csrf_token: &str) -> Result<Principal, Response> {
    let actor = require_page(state, headers, ADMIN_SCOPES, HERE).await?;
    check_form_csrf(state, headers, csrf_token).map_err(page_error)?;
    Ok(actor)
}

async fn apply(state: &AppState, actor: &Principal, id: i64, changes: AccountChanges) -> PageResult {
    state
        .auth
        .update_account(actor, id, changes, state.now())
        .await
        .map_err(page_error)?;
    Ok(Redirect::to(HERE).into_response())
}

pub async fn post_role(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    Form(form): Form<RoleForm>,
) -> PageResult {
    let actor = form_actor(&state, &headers, &form.csrf_token).await?;
    let role = Role::parse(&form.role).ok_or_else(|| {
        page_error(AppError::bad_request(
            Code::InvalidRole,
            "A role is viewer, editor or admin.",
        ))
    })?;
    let changes = AccountChanges {
        role: Some(role),
        ..AccountChanges::default()
    };
    apply(&state, &actor, id, changes).await
}

pub async fn post_enabled(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    Form(form): Form<EnabledForm>,
) -> PageResult {
    let actor = form_actor(&state, &headers, &form.csrf_token).await?;
    let enabled = match form.enabled.as_str() {
        "true" => true,
        "false" => false,
        _ => {
            return Err(page_error(AppError::bad_request(
                Code::InvalidRequest,
                "enabled is true or false.",
            )));
        }
    };
    let changes = AccountChanges {
        enabled: Some(enabled),
        ..AccountChanges::default()
    };
    apply(&state, &actor, id, changes).await
}

fn delete_href(id: i64) -> String {
    format!("/admin/users/{id}/delete")
}

/// "Delete user X?": the question before `post_delete`.
pub async fn get_delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    csrf: CsrfToken,
    ApiPath(id): ApiPath<i64>,
) -> PageResult {
    require_page(&state, &headers, ADMIN_SCOPES, HERE).await?;
    let user = state
        .auth
        .find_user(id)
        .await
        .map_err(page_error)?
        .ok_or_else(|| page_error(AppError::not_found("No such user.")))?;
    let page = ConfirmPage {
        csrf_token: csrf.0,
        is_admin: true,
        question: format!("Delete user {}?", user.username),
        detail: "The account, its sessions, tokens and linked identities are removed. This cannot be undone.".into(),
        button: format!("Delete {}", user.username),
        action: delete_href(id),
        cancel_href: HERE.into(),
    };
    Ok(page.response())
}

pub async fn post_delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    Form(form): Form<ConfirmForm>,
) -> PageResult {
    let actor = form_actor(&state, &headers, &form.csrf_token).await?;
    if !form.confirmed() {
        return Ok(ask_first(&delete_href(id)));
    }
    state.auth.delete_account(&actor, id).await.map_err(page_error)?;
    Ok(Redirect::to(HERE).into_response())
}

/// Clears the user's failed-sign-in limits (see `auth::login_limits`).
pub async fn post_unlock(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    let actor = form_actor(&state, &headers, &form.csrf_token).await?;
    state.auth.unlock_sign_in(&actor, id).await.map_err(page_error)?;
    Ok(Redirect::to(HERE).into_response())
}

/// `POST /admin/tokens/{id}/revoke`: deletes anyone's app token (through
/// the same flow as `DELETE /api/client-tokens/{id}/admin`), so the app or
/// device using it is refused on its very next call.
pub async fn post_revoke_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    let actor = form_actor(&state, &headers, &form.csrf_token).await?;
    state
        .auth
        .admin_revoke_client_token(&actor, id)
        .await
        .map_err(page_error)?;
    tracing::info!(token_id = id, by = actor.user.id, "app token revoked on the users page");
    Ok(Redirect::to(&format!("{HERE}?done=token")).into_response())
}
