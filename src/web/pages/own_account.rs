//! The account page (`/account`): a signed-in person changes their own
//! username, email and password. The change goes through the users API's
//! flow (`update_account_with_proof`), so the same proof is needed (the
//! current password, or a fresh single sign-on for accounts without one)
//! and an email set here is not trusted for linking single sign-on.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::account::check_form_csrf;
use super::guard::{PageResult, page_error, require_page};
use crate::auth::{AccountChanges, FRESH_SIGN_IN_SECONDS, Principal, Proof, ProofKind, Scope};
use crate::error::AppError;
use crate::secret::Secret;
use crate::web::csrf::CsrfToken;
use crate::web::error::render;
use crate::web::error::{add_refusal_headers, status_of};
use crate::web::extract::ClientAddr;
use crate::web::state::AppState;

const HERE: &str = "/account";

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    csrf_token: String,
    is_admin: bool,
    username: String,
    email: String,
    email_trusted: bool,
    /// Ask for the current password (else: a fresh single sign-on proves).
    asks_password: bool,
    /// Where a fresh single sign-on starts, when one is configured.
    sso_href: Option<String>,
    fresh_minutes: i64,
    saved: bool,
    error: Option<String>,
    /// The refusal's stable code, beside its message.
    error_code: &'static str,
}

#[derive(Deserialize, Default)]
pub struct AccountQuery {
    saved: Option<String>,
}

#[derive(Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    current_password: String,
}

/// What the form shows, apart from the values typed in.
async fn account_page(
    state: &AppState,
    actor: &Principal,
    csrf: &CsrfToken,
    username: String,
    email: String,
) -> Result<AccountPage, Response> {
    let auth = &state.auth;
    let proof = auth.proof_kind(actor.user.id).await.map_err(page_error)?;
    let email_trusted = auth.email_trusted(actor.user.id).await.map_err(page_error)?;
    Ok(AccountPage {
        csrf_token: csrf.0.clone(),
        is_admin: actor.has(Scope::UsersWrite),
        username,
        email,
        email_trusted,
        asks_password: proof == ProofKind::CurrentPassword,
        sso_href: state
            .oidc
            .as_ref()
            .map(|_| "/api/login/openid?next=%2Faccount&fresh=1".to_string()),
        fresh_minutes: FRESH_SIGN_IN_SECONDS / 60,
        saved: false,
        error: None,
        error_code: "",
    })
}

pub async fn get_account(
    State(state): State<AppState>,
    headers: HeaderMap,
    csrf: CsrfToken,
    Query(query): Query<AccountQuery>,
) -> PageResult {
    let actor = require_page(&state, &headers, &[Scope::MeRead], HERE).await?;
    let (username, email) = (
        actor.user.username.clone(),
        actor.user.email.clone().unwrap_or_default(),
    );
    let mut page = account_page(&state, &actor, &csrf, username, email).await?;
    page.saved = query.saved.is_some();
    Ok(render(&page, StatusCode::OK))
}

pub async fn post_account(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    csrf: CsrfToken,
    Form(form): Form<AccountForm>,
) -> PageResult {
    let actor = require_page(&state, &headers, &[Scope::MeWrite], HERE).await?;
    check_form_csrf(&state, &headers, &form.csrf_token).map_err(page_error)?;
    let password_changed = !form.new_password.is_empty();
    let changes = AccountChanges {
        username: Some(form.username.clone()),
        email: Some(Some(form.email.clone())),
        password: password_changed.then(|| Secret::new(form.new_password)),
        ..Default::default()
    };
    let proof = Proof {
        current_password: Some(form.current_password).filter(|p| !p.is_empty()).map(Secret::new),
        client,
    };
    let result = state
        .auth
        .update_account_with_proof(&actor, actor.user.id, changes, &proof, state.now())
        .await;
    match result {
        // A new password ends every session, this one included.
        Ok(_) if password_changed => Ok(Redirect::to("/login?next=%2Faccount").into_response()),
        Ok(_) => Ok(Redirect::to("/account?saved=1").into_response()),
        Err(AppError::Refused(refusal)) => {
            let mut page = account_page(&state, &actor, &csrf, form.username, form.email).await?;
            page.error = Some(refusal.message.to_string());
            page.error_code = refusal.code.as_str();
            let mut response = render(&page, status_of(refusal.kind));
            add_refusal_headers(&mut response, &refusal);
            Ok(response)
        }
        Err(internal) => Err(page_error(internal)),
    }
}
