//! Sign-in, first-boot setup and home pages.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::auth::{NewAccount, Role};
use crate::error::{AppError, AppResult, Code};
use crate::next_path::NextPath;
use crate::secret::Secret;
use crate::web::csrf::CsrfToken;
use crate::web::error::status_of;
use crate::web::error::{PageError, render};
use crate::web::extract::{ClientAddr, session_principal};
use crate::web::state::AppState;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    error: Option<String>,
    oidc_button: Option<String>,
    oidc_href: String,
    password_form: bool,
    csrf_token: String,
    next: String,
    username: String,
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    wizard_disabled: bool,
    /// SSO-only: the admin is made from a username and an email, no password.
    email_required: bool,
    /// "Sign in with <Provider>", when single sign-on is configured.
    oidc_button: Option<String>,
    oidc_href: String,
    error: Option<String>,
    csrf_token: String,
    username: String,
    email: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    username: String,
    role: Role,
    is_admin: bool,
    /// No administrator exists yet (this person signed in through single
    /// sign-on without being mapped to admin).
    setup_pending: bool,
    csrf_token: String,
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    next: Option<String>,
    local: Option<String>,
}

/// Where the single sign-on button leads.
fn sso_href(next: &NextPath) -> String {
    format!(
        "/api/login/openid?next={}",
        url::form_urlencoded::byte_serialize(next.as_str().as_bytes()).collect::<String>()
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf_token: String,
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf_token: String,
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub(super) csrf_token: String,
}

/// The form's token must be the session's bound token, or without a session
/// match the cookie (see `web::csrf`).
pub(super) fn check_form_csrf(state: &AppState, headers: &HeaderMap, presented: &str) -> AppResult<()> {
    if crate::web::csrf::presented_ok(state, headers, presented) {
        return Ok(());
    }
    Err(AppError::forbidden(
        Code::CsrfFailed,
        "This form expired or was sent from another site. Go back, reload the page and try again.",
    ))
}

fn login_page(
    state: &AppState,
    csrf: &CsrfToken,
    next: NextPath,
    username: String,
    error: Option<String>,
) -> LoginPage {
    let oidc_button = state.oidc.as_ref().map(|o| o.button_label());
    LoginPage {
        error,
        oidc_button,
        oidc_href: sso_href(&next),
        password_form: !state.config.disable_userpass_login,
        csrf_token: csrf.0.clone(),
        next: next.into_string(),
        username,
    }
}

pub async fn get_home(
    State(state): State<AppState>,
    headers: HeaderMap,
    csrf: CsrfToken,
) -> Result<Response, PageError> {
    match session_principal(&headers, &state).await? {
        Some(principal) => {
            let page = HomePage {
                is_admin: principal.has(crate::auth::Scope::UsersWrite),
                setup_pending: state.auth.setup_needed().await?,
                username: principal.user.username,
                role: principal.user.role,
                csrf_token: csrf.0,
            };
            Ok(render(&page, StatusCode::OK))
        }
        None if state.auth.setup_needed().await? => Ok(Redirect::to("/setup").into_response()),
        None => Ok(Redirect::to("/login").into_response()),
    }
}

pub async fn get_login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
    csrf: CsrfToken,
) -> Result<Response, PageError> {
    let next = NextPath::or_home(query.next.as_deref());
    // Signed in already: the form has nothing to offer; go where asked.
    if session_principal(&headers, &state).await?.is_some() {
        return Ok(Redirect::to(next.as_str()).into_response());
    }
    if !state.config.disable_setup_wizard && state.auth.setup_needed().await? {
        return Ok(Redirect::to("/setup").into_response());
    }
    let wants_local = query.local.is_some_and(|l| l == "1") && !state.config.disable_userpass_login;
    if state.oidc.as_ref().is_some_and(|o| o.config.autologin) && !wants_local {
        return Ok(Redirect::to(&sso_href(&next)).into_response());
    }
    let page = login_page(&state, &csrf, next, String::new(), None);
    Ok(render(&page, StatusCode::OK))
}

pub async fn post_login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    csrf: CsrfToken,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    check_form_csrf(&state, &headers, &form.csrf_token)?;
    let next = NextPath::or_home(form.next.as_deref());
    let now = state.now();
    let password = Secret::new(form.password);
    match state
        .auth
        .sign_in_with_password(&form.username, &password, &client, now)
        .await
    {
        Ok(session) => {
            let cookie = state.cookies.session(session.token.expose(), session.max_age_seconds);
            Ok((
                AppendHeaders([(header::SET_COOKIE, cookie)]),
                Redirect::to(next.as_str()),
            )
                .into_response())
        }
        Err(AppError::Refused(refusal)) => {
            let page = login_page(&state, &csrf, next, form.username, Some(refusal.message.to_string()));
            let mut response = render(&page, status_of(refusal.kind));
            crate::web::error::add_refusal_headers(&mut response, &refusal);
            Ok(response)
        }
        Err(internal) => Err(internal.into()),
    }
}

pub async fn get_setup(
    State(state): State<AppState>,
    headers: HeaderMap,
    csrf: CsrfToken,
) -> Result<Response, PageError> {
    if !state.auth.setup_needed().await? {
        return Ok(Redirect::to("/login").into_response());
    }
    crate::web::setup_host::check(&state.config.base_url, &headers)?;
    Ok(render(
        &setup_page(&state, &csrf, String::new(), String::new(), None),
        StatusCode::OK,
    ))
}

fn setup_page(state: &AppState, csrf: &CsrfToken, username: String, email: String, error: Option<String>) -> SetupPage {
    SetupPage {
        wizard_disabled: state.config.disable_setup_wizard,
        email_required: state.config.disable_userpass_login,
        oidc_button: state.oidc.as_ref().map(|o| o.button_label()),
        oidc_href: sso_href(&NextPath::or_home(None)),
        error,
        csrf_token: csrf.0.clone(),
        username,
        email,
    }
}

pub async fn post_setup(
    State(state): State<AppState>,
    headers: HeaderMap,
    csrf: CsrfToken,
    Form(form): Form<SetupForm>,
) -> Result<Response, PageError> {
    crate::web::setup_host::check(&state.config.base_url, &headers)?;
    check_form_csrf(&state, &headers, &form.csrf_token)?;
    let now = state.now();
    let email = Some(form.email.clone()).filter(|e| !e.trim().is_empty());
    let account = NewAccount {
        username: form.username.clone(),
        email,
        // SSO-only: a password could never be used; the admin signs in
        // through the provider, linked by this (trusted) email.
        password: (!state.config.disable_userpass_login).then(|| Secret::new(form.password)),
        role: Role::Admin,
    };
    match state.auth.create_first_admin(account, now).await {
        Ok(user) => {
            let session = state.auth.start_session(user.id, None, now).await?;
            let cookie = state.cookies.session(session.token.expose(), session.max_age_seconds);
            Ok((AppendHeaders([(header::SET_COOKIE, cookie)]), Redirect::to("/")).into_response())
        }
        Err(AppError::Refused(refusal)) if refusal.kind == crate::error::Kind::BadRequest => {
            let page = setup_page(
                &state,
                &csrf,
                form.username,
                form.email,
                Some(refusal.message.to_string()),
            );
            Ok(render(&page, StatusCode::BAD_REQUEST))
        }
        Err(err) => Err(err.into()),
    }
}
