//! Security headers, set in this one place for every answer the router
//! gives: pages, API answers, errors, fallbacks and panics alike (kanidm's
//! `security_headers.rs` is the model). Guarantees:
//! - `Content-Security-Policy`: no script at all (romgate's pages have
//!   none, inline or not), styles only from romgate's own stylesheet, no
//!   plugins, no `<base>` rewriting, and no framing by anyone
//!   (`frame-ancestors 'none'`, against clickjacking);
//! - `X-Content-Type-Options: nosniff`: a file is never run as something else;
//! - `Referrer-Policy: same-origin`: no romgate address (which may carry a
//!   `next` path or a sign-on's query) leaves in a Referer, not to the
//!   identity provider either, while same-origin form posts keep their
//!   `Origin` header;
//! - `Cache-Control: no-store` unless the handler chose its own policy: the
//!   stylesheet (`public`) and ROM downloads (`private`: the browser may keep
//!   the file, a shared cache may not). So no signed-in page or API answer is
//!   ever stored by a browser or proxy;
//! - `Strict-Transport-Security` for a year when ROMM_BASE_URL is https.
//!
//! Each header is a static value, set by `apply` in the one service every
//! answer passes (`web::every_answer`): no allocation per request.
//! Measured in bench/README.md: five tower-http `SetResponseHeader` layers
//! cost more per request (their wrapping) than setting the headers does.

use axum::http::{HeaderMap, HeaderValue, header};

/// `form-action` is left out on purpose: browsers apply it to the redirects
/// after a form post, and the logout form may redirect to the identity
/// provider's end-session endpoint.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'";
pub const REFERRER_POLICY: &str = "same-origin";
/// One year; subdomains are not included (they may be other people's sites).
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// Sets the headers above on an answer's headers, replacing any a handler
/// set, except `Cache-Control`, which a handler may choose; HSTS only when
/// `https`.
pub fn apply(headers: &mut HeaderMap, https: bool) {
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(STRICT_TRANSPORT_SECURITY),
        );
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static(REFERRER_POLICY));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}
