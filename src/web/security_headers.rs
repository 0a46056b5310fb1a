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
//! Each header is a static value set by tower-http's `SetResponseHeader`:
//! no allocation per request.

use axum::http::{HeaderName, HeaderValue, header};
use tower::ServiceBuilder;
use tower::layer::util::{Identity, Stack};
use tower::util::Either;
use tower_http::set_header::SetResponseHeaderLayer;

/// `form-action` is left out on purpose: browsers apply it to the redirects
/// after a form post, and the logout form may redirect to the identity
/// provider's end-session endpoint.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'";
pub const REFERRER_POLICY: &str = "same-origin";
/// One year; subdomains are not included (they may be other people's sites).
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// The headers above as one stack of layers, outermost first (to go inside
/// one `ServiceBuilder`: each `Router::layer` call wraps every route once
/// more, which costs more per request than setting a header); HSTS only
/// when `https`.
pub fn layers(https: bool) -> SecurityHeaders {
    ServiceBuilder::new()
        .option_layer(https.then(|| overriding(header::STRICT_TRANSPORT_SECURITY, STRICT_TRANSPORT_SECURITY)))
        .layer(overriding(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .layer(overriding(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(overriding(header::REFERRER_POLICY, REFERRER_POLICY))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

type Header = SetResponseHeaderLayer<HeaderValue>;

/// What `layers` builds: HSTS (or nothing), CSP, nosniff, Referrer-Policy,
/// Cache-Control, outermost first.
pub type SecurityHeaders = ServiceBuilder<
    Stack<Header, Stack<Header, Stack<Header, Stack<Header, Stack<Either<Header, Identity>, Identity>>>>>,
>;

fn overriding(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
}
