//! Who may see a page: the signed-in user holding the page's scopes. No
//! session sends the browser to sign in (and back); a missing scope is a
//! 403 page in plain words ("only administrators can see this"), the
//! scope names going to the administrator's hint only.

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};

use crate::auth::{Principal, Scope};
use crate::error::{AppError, Code};
use crate::web::error::PageError;
use crate::web::extract::session_principal;
use crate::web::state::AppState;

/// A page handler's answer: the page, or the response that stands in for
/// it (a redirect, an error page).
pub type PageResult = Result<Response, Response>;

/// An error as a page for a signed-in user.
pub fn page_error(err: impl Into<AppError>) -> Response {
    PageError(err.into()).signed_in()
}

/// The signed-in principal holding `scopes`, or the response to send
/// instead. `here` is where to come back to after signing in.
pub async fn require_page(
    state: &AppState,
    headers: &HeaderMap,
    scopes: &[Scope],
    here: &str,
) -> Result<Principal, Response> {
    match session_principal(headers, state).await {
        Err(err) => Err(page_error(err)),
        Ok(None) => {
            let next: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
            Err(Redirect::to(&format!("/login?next={next}")).into_response())
        }
        Ok(Some(principal)) => match principal.require(scopes) {
            Ok(()) => Ok(principal),
            Err(_) => Err(page_error(not_allowed(&principal, scopes))),
        },
    }
}

/// The refusal a person reads when their role lacks a page's scopes: in
/// plain words, without scope names (the API's 403 names them).
fn not_allowed(principal: &Principal, scopes: &[Scope]) -> AppError {
    let admin_only = scopes.iter().any(|s| matches!(s, Scope::UsersRead | Scope::UsersWrite));
    let message = if admin_only {
        "Only administrators can see this.".to_string()
    } else {
        format!(
            "Your role ({}) cannot do this. Ask an administrator if you need to.",
            principal.user.role
        )
    };
    AppError::forbidden(Code::InsufficientScope, message)
}
