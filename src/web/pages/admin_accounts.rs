//! The users page's account forms: an administrator creates an account and
//! sets another account's password. Through the same flows as the users
//! API (`create_account`, `update_account`): an email an administrator
//! gives is trusted for linking single sign-on, a new password ends the
//! account's sessions and tokens, and nobody sets their own password here
//! (that needs the current one, on `/account`).

use axum::Form;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::admin::{HERE, NewAccountFields, form_actor, users_page};
use super::guard::{PageResult, page_error};
use crate::auth::{AccountChanges, NewAccount, Principal, Role};
use crate::error::{AppError, Code};
use crate::secret::Secret;
use crate::web::csrf::CsrfToken;
use crate::web::error::{add_refusal_headers, render, status_of};
use crate::web::extract::ApiPath;
use crate::web::state::AppState;

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    password: String,
}

/// The users page again, with the refusal above the forms (and what was
/// typed into the create form, except the password).
async fn refused(
    state: &AppState,
    actor: &Principal,
    csrf: &CsrfToken,
    err: AppError,
    typed: NewAccountFields,
) -> PageResult {
    let AppError::Refused(refusal) = err else {
        return Err(page_error(err));
    };
    let mut page = users_page(state, actor, csrf).await?;
    page.error = Some(refusal.message.to_string());
    page.new_account = typed;
    let mut response = render(&page, status_of(refusal.kind));
    add_refusal_headers(&mut response, &refusal);
    Ok(response)
}

pub async fn post_create(
    State(state): State<AppState>,
    headers: HeaderMap,
    csrf: CsrfToken,
    Form(form): Form<CreateForm>,
) -> PageResult {
    let actor = form_actor(&state, &headers, &form.csrf_token).await?;
    let typed = NewAccountFields {
        username: form.username.trim().to_string(),
        email: form.email.trim().to_string(),
        role: form.role.clone(),
    };
    let role = match Role::try_from(form.role) {
        Ok(role) => role,
        Err(_) => {
            let err = AppError::bad_request(Code::InvalidRole, "Choose a role: viewer, editor or admin.");
            return refused(&state, &actor, &csrf, err, typed).await;
        }
    };
    let account = NewAccount {
        username: typed.username.clone(),
        email: Some(typed.email.clone()).filter(|e| !e.is_empty()),
        // Empty: an account that signs in only through single sign-on.
        password: Some(form.password).filter(|p| !p.is_empty()).map(Secret::new),
        role,
    };
    match state.auth.create_account(&actor, account, state.now()).await {
        Ok(user) => {
            tracing::info!(user_id = user.id, by = actor.user.id, "user created on the users page");
            Ok(Redirect::to(&format!("{HERE}?done=created")).into_response())
        }
        Err(err) => refused(&state, &actor, &csrf, err, typed).await,
    }
}

pub async fn post_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    csrf: CsrfToken,
    ApiPath(id): ApiPath<i64>,
    Form(form): Form<PasswordForm>,
) -> PageResult {
    let actor = form_actor(&state, &headers, &form.csrf_token).await?;
    if id == actor.user.id {
        // Changing one's own password needs the current one (SPEC 9).
        return Ok(Redirect::to("/account").into_response());
    }
    let changes = AccountChanges {
        password: Some(Secret::new(form.password)),
        ..AccountChanges::default()
    };
    match state.auth.update_account(&actor, id, changes, state.now()).await {
        Ok(_) => Ok(Redirect::to(&format!("{HERE}?done=password")).into_response()),
        Err(err) => refused(&state, &actor, &csrf, err, NewAccountFields::default()).await,
    }
}
