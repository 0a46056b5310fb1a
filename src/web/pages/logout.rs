//! Signing out in the browser. Only `POST /logout` with the form's CSRF
//! token ends a session (and may start the provider's RP-initiated logout);
//! `GET /logout` (and `HEAD`) changes nothing and shows a confirmation form,
//! so a cross-site link or image cannot sign anyone out.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};

use super::account::{CsrfForm, check_form_csrf};
use crate::web::csrf::CsrfToken;
use crate::web::error::{PageError, render};
use crate::web::extract::session_principal;
use crate::web::state::AppState;

#[derive(Template)]
#[template(path = "logout.html")]
struct LogoutPage {
    username: String,
    csrf_token: String,
}

/// `GET /logout`: asks to confirm; without a session there is nothing to
/// end and the browser goes to the login page.
pub async fn get_logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    csrf: CsrfToken,
) -> Result<Response, PageError> {
    match session_principal(&headers, &state).await? {
        Some(principal) => {
            let page = LogoutPage {
                username: principal.user.username,
                csrf_token: csrf.0,
            };
            Ok(render(&page, StatusCode::OK))
        }
        None => Ok(Redirect::to("/login").into_response()),
    }
}

/// `POST /logout` with the CSRF field: ends the session, clears the cookie
/// and redirects to the provider's end-session URL when RP-initiated logout
/// applies (SPEC 5.6), else to the login page. A wrong or missing token is a
/// 403 page and the session stays.
pub async fn post_logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    check_form_csrf(&state, &headers, &form.csrf_token)?;
    let provider_logout = match session_principal(&headers, &state).await? {
        Some(principal) => crate::oidc::sign_out(&state.auth, state.oidc.as_ref(), &principal, state.now()).await?,
        None => None,
    };
    let clear = state.cookies.clear_session();
    let target = provider_logout.map_or_else(|| "/login".to_string(), |url| url.to_string());
    Ok((AppendHeaders([(header::SET_COOKIE, clear)]), Redirect::to(&target)).into_response())
}
