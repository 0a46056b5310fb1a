//! Requests a browser says another site made (`Sec-Fetch-Site:
//! cross-site`, or `same-site`: another host under the same registrable
//! domain, such as a neighbouring self-hosted app), refused where counting
//! them would hurt the owner.
//!
//! A form post needs no CORS preflight, and an image needs no click. So any
//! page the owner visits could send wrong password grants to `/api/token`
//! or start device and single sign-on attempts. Each would count against
//! the owner's own address: it would lock them out and, with the shipped
//! fail2ban jail, get their address banned. Browsers mark such requests
//! (`Sec-Fetch-Site`, sent by every current browser), and these endpoints
//! refuse them before anything is counted or logged. Apps and scripts send
//! no such header and are not affected. A link another site shows (a
//! dashboard's "sign in" button) is a top-level navigation and still starts
//! single sign-on.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::error::{AppError, Code, Kind};

const SEC_FETCH_SITE: &str = "sec-fetch-site";

/// Whether the browser says a page of another origin made this request:
/// another site, or a sibling host (`same-site`: `other.home.example` for
/// `romm.home.example`), which is no more trusted and which romgate's
/// answers (no CORS) are never meant for.
pub fn from_another_site(headers: &HeaderMap) -> bool {
    headers.get(SEC_FETCH_SITE).is_some_and(|site| {
        let site = site.as_bytes();
        site.eq_ignore_ascii_case(b"cross-site") || site.eq_ignore_ascii_case(b"same-site")
    })
}

/// Another site made this request, and not as a top-level navigation (an
/// image, a script's fetch, a frame).
pub fn embedded_by_another_site(headers: &HeaderMap) -> bool {
    let is = |name: &str, value: &[u8]| {
        headers
            .get(name)
            .is_some_and(|found| found.as_bytes().eq_ignore_ascii_case(value))
    };
    from_another_site(headers) && !(is("sec-fetch-mode", b"navigate") && is("sec-fetch-dest", b"document"))
}

/// The refusal, with the same code as a failed CSRF check.
pub fn refusal() -> AppError {
    AppError::refuse(
        Kind::Forbidden,
        Code::CsrfFailed,
        "A page on another site cannot send this request. Use the app, or this server's own pages.",
    )
}

/// A request no other site made (see the module's comment).
pub struct NotCrossSite;

impl<S: Send + Sync> FromRequestParts<S> for NotCrossSite {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        if from_another_site(&parts.headers) {
            return Err(refusal());
        }
        Ok(NotCrossSite)
    }
}
