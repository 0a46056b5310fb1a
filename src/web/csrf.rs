//! CSRF tokens, in RomM's wire shape: cookie `romm_csrftoken` (readable by
//! script), echoed in header `x-csrftoken` by API calls and in the hidden
//! form field `csrf_token` by pages.
//!
//! Guarantees:
//! - A browser with a session cookie must echo the token bound to that
//!   session: HMAC-SHA256 under the server's secret key of the session token
//!   (`TokenHasher::session_csrf`). A pair of equal values chosen by someone
//!   else (a cookie planted from a sibling site) is refused, and so is the
//!   token of another session.
//! - Without a session (the login and setup forms) the cookie is a random
//!   token and the check is double submit: the echoed value equals the cookie.
//! - A response that sets a session cookie also sets that session's token,
//!   and one that clears it sets a fresh random token: a new session never
//!   inherits the token of what came before.
//! - Requests carrying an Authorization header are exempt and get no
//!   cookie, unless their answer starts a session (HTTP Basic on
//!   `/api/login`); `DISABLE_CSRF_PROTECTION` turns every check off.
//!
//! The check costs one HMAC and no database query.

use std::convert::Infallible;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use subtle::ConstantTimeEq;

use super::cookies::{CSRF_COOKIE, SESSION_COOKIE, read_cookie};
use crate::auth::tokens::{PlainToken, TokenHasher, TokenKind};
use crate::web::state::AppState;

/// The token bound to the request's session cookie, if it carries one that
/// is shaped like a session token (whether or not the session is live).
pub fn bound_token(tokens: &TokenHasher, headers: &HeaderMap) -> Option<String> {
    tokens.session_csrf(read_cookie(headers, SESSION_COOKIE)?)
}

/// Whether `presented` (the `x-csrftoken` header or the form's `csrf_token`
/// field) is the token this request must carry: the session's bound token
/// when a session cookie is sent, else the `romm_csrftoken` cookie.
pub fn presented_ok(state: &AppState, headers: &HeaderMap, presented: &str) -> bool {
    if state.config.disable_csrf_protection {
        return true;
    }
    match bound_token(&state.auth.tokens, headers) {
        Some(bound) => same(&bound, presented),
        None => read_cookie(headers, CSRF_COOKIE).is_some_and(|cookie| same(cookie, presented)),
    }
}

/// Both non-empty and equal, in constant time.
fn same(expected: &str, presented: &str) -> bool {
    !expected.is_empty() && !presented.is_empty() && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
}

/// The token the browser should hold before the handler runs, and whether
/// its cookie must be (re)set: the bound token of its session cookie, else
/// the anonymous token it holds, else a new random one.
pub fn for_request(tokens: &TokenHasher, headers: &HeaderMap) -> (String, bool) {
    let held = read_cookie(headers, CSRF_COOKIE);
    match bound_token(tokens, headers) {
        Some(bound) => {
            let stale = held != Some(bound.as_str());
            (bound, stale)
        }
        None => match held {
            Some(held) => (held.to_string(), false),
            None => (anonymous_token(), true),
        },
    }
}

/// What a response does to the session cookie.
#[derive(Debug, PartialEq, Eq)]
pub enum SessionChange {
    /// Sets a new session cookie: carries that session's bound token.
    Started(String),
    /// Clears the session cookie (the browser then needs a fresh anonymous
    /// token).
    Ended,
}

/// A new random token for a browser without a session.
pub fn anonymous_token() -> String {
    PlainToken::generate(TokenKind::Csrf).into_exposed()
}

/// How the response changes the session cookie, if it does.
pub fn session_change(tokens: &TokenHasher, response: &Response) -> Option<SessionChange> {
    let session = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .find_map(|value| session_cookie_value(value))?;
    Some(match tokens.session_csrf(session) {
        Some(bound) => SessionChange::Started(bound),
        None => SessionChange::Ended,
    })
}

/// The value of a `Set-Cookie: romm_session=...` header (empty when it
/// clears the cookie).
fn session_cookie_value(value: &HeaderValue) -> Option<&str> {
    let text = value.to_str().ok()?;
    let rest = text.strip_prefix(SESSION_COOKIE)?.strip_prefix('=')?;
    Some(rest.split(';').next().unwrap_or_default().trim())
}

/// The CSRF token of this browser, for the pages that embed it: the one
/// handed out with this very response (a first visit, or a cookie that is
/// not its session's token), or its cookie's. A
/// request that sent an Authorization header is given none, and gets an
/// empty token (its form is then refused as a CSRF failure, not a 500).
#[derive(Clone)]
pub struct CsrfToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        if let Some(issued) = parts.extensions.get::<CsrfToken>() {
            return Ok(issued.clone());
        }
        let cookie = read_cookie(&parts.headers, CSRF_COOKIE).unwrap_or_default();
        Ok(CsrfToken(cookie.to_string()))
    }
}

/// What `before_handler` decided, for `after_handler`: nothing for a
/// client exempt from CSRF, else the token the browser should hold and
/// whether its cookie must be (re)set.
pub struct CookieDue(Option<(String, bool)>);

/// Gives each browser the `romm_csrftoken` cookie it must echo (see
/// `csrf`): its session's bound token, or an anonymous one. Before the
/// handler runs, this decides the token, and a newly handed-out one is put
/// in the request for the pages that embed it (`CsrfToken`). Clients that
/// send an Authorization header are exempt from CSRF and get none, unless
/// the answer starts a browser session (HTTP Basic on `/api/login`; see
/// `after_handler`).
pub fn before_handler(tokens: &TokenHasher, request: &mut Request) -> CookieDue {
    let exempt = request.headers().contains_key(header::AUTHORIZATION);
    let before = (!exempt).then(|| for_request(tokens, request.headers()));
    if let Some((token, true)) = &before {
        request.extensions_mut().insert(CsrfToken(token.clone()));
    }
    CookieDue(before)
}

/// After the handler: sets the cookie `before_handler` found due, or, when
/// the answer starts or ends a session, the token of what follows.
pub fn after_handler(due: CookieDue, state: &AppState, response: &mut Response) {
    let tokens = &state.auth.tokens;
    let token = match (session_change(tokens, response), due.0) {
        // A new session brings its own token, whoever asked for it.
        (Some(SessionChange::Started(bound)), _) => bound,
        // A browser whose session ended starts over with a fresh token.
        (Some(SessionChange::Ended), Some(_)) => anonymous_token(),
        (None, Some((token, true))) => token,
        _ => return,
    };
    response
        .headers_mut()
        .append(header::SET_COOKIE, state.cookies.csrf(&token));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use crate::web::cookies::CookieFactory;

    fn hasher() -> TokenHasher {
        TokenHasher::new(Secret::new("test key"))
    }

    fn response_setting(cookie: HeaderValue) -> Response {
        let mut response = Response::new(axum::body::Body::empty());
        response.headers_mut().append(header::SET_COOKIE, cookie);
        response
    }

    #[test]
    fn a_new_session_brings_its_bound_token_and_an_ended_one_a_fresh_token() {
        let tokens = hasher();
        let cookies = CookieFactory::new(true);
        let session = PlainToken::generate(TokenKind::Session);
        let started = response_setting(cookies.session(session.expose(), 60));
        let bound = tokens.session_csrf(session.expose()).expect("bound");
        assert_eq!(
            session_change(&tokens, &started),
            Some(SessionChange::Started(bound.clone()))
        );
        let ended = response_setting(cookies.clear_session());
        let change = session_change(&tokens, &ended);
        assert_eq!(change, Some(SessionChange::Ended));
        assert!(anonymous_token().starts_with("rgc_"));
        let other = response_setting(cookies.csrf("rgc_x"));
        assert_eq!(session_change(&tokens, &other), None);
    }

    #[test]
    fn a_session_cookie_decides_the_token_and_replaces_a_stale_one() {
        let tokens = hasher();
        let session = PlainToken::generate(TokenKind::Session);
        let bound = tokens.session_csrf(session.expose()).expect("bound");
        let headers = |cookie: &str| {
            let mut map = HeaderMap::new();
            map.insert(header::COOKIE, HeaderValue::from_str(cookie).expect("header"));
            map
        };
        let planted = headers(&format!(
            "romm_session={}; romm_csrftoken=rgc_planted",
            session.expose()
        ));
        assert_eq!(for_request(&tokens, &planted), (bound.clone(), true));
        let right = headers(&format!("romm_session={}; romm_csrftoken={bound}", session.expose()));
        assert_eq!(for_request(&tokens, &right), (bound, false));
        let anonymous = headers("romm_csrftoken=rgc_mine");
        assert_eq!(for_request(&tokens, &anonymous), ("rgc_mine".to_string(), false));
        let (new, set) = for_request(&tokens, &HeaderMap::new());
        assert!(set && new.starts_with("rgc_"));
    }
}
