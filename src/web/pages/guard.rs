//! Who may see a page: the signed-in user holding the page's scopes. No
//! session sends the browser to sign in (and back); a missing scope is a
//! 403 page that says which permission is needed.

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};

use crate::auth::{Principal, Scope};
use crate::error::AppError;
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
            Err(err) => Err(page_error(err)),
        },
    }
}
