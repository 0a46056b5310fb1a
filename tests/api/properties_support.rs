//! What the property tests share: a bounded runner (no regression files: a
//! failure prints its minimal input, which goes into a table test), a
//! runtime the synchronous cases block on, strategies for what a client can
//! put in a header, and the checks every answer must pass.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use crate::util::TestResponse;

/// A runner of `cases` cases. Bounded so the whole set runs in CI in
/// seconds; raise PROPTEST_CASES locally to search harder.
pub fn runner(cases: u32) -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// The runtime one property test's cases run on (proptest's cases are
/// synchronous; each blocks on the router).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Any bytes a header value can carry: visible ASCII, space, tab and
/// obs-text (bytes 0x80-0xFF, which are not text).
pub fn header_bytes(max_len: usize) -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![12 => 0x20u8..=0x7e, 1 => Just(b'\t'), 2 => 0x80u8..=0xff];
    proptest::collection::vec(byte, 0..max_len)
}

/// Text made of pieces that parsers treat specially, and any text between
/// them: more likely to reach the corners than uniform characters.
pub fn tricky_text(pieces: &'static [&'static str], max_pieces: usize) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => proptest::sample::select(pieces).prop_map(str::to_string),
        1 => "\\PC{0,4}",
        1 => "[ -~]{0,4}",
    ];
    proptest::collection::vec(piece, 0..max_pieces).prop_map(|parts| parts.concat())
}

/// A request with one raw header value (which `util::request` cannot carry).
pub fn with_header(method: Method, path: &str, name: &str, value: &[u8], more: &[(&str, &str)]) -> Request<Body> {
    let mut request = crate::util::request(method, path, more, Body::empty());
    if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::from_bytes(value)) {
        request.headers_mut().append(name, value);
    }
    request
}

/// No 5xx, and nothing that reads like a crash in the body.
pub fn no_server_error(response: &TestResponse, input: &str) -> Result<(), TestCaseError> {
    let body = response.text();
    prop_assert!(
        !response.status.is_server_error(),
        "{} for {input:?}: {body}",
        response.status
    );
    prop_assert!(
        !body.contains("panicked") && !body.contains("RUST_BACKTRACE"),
        "a crash shows for {input:?}: {body}"
    );
    Ok(())
}

/// `secret` (long enough that it cannot be there by chance) is not echoed.
pub fn not_echoed(response: &TestResponse, secret: &str) -> Result<(), TestCaseError> {
    if secret.len() >= 12 {
        prop_assert!(!response.text().contains(secret), "the body echoes {secret:?}");
        for value in response.headers.values() {
            prop_assert!(
                !String::from_utf8_lossy(value.as_bytes()).contains(secret),
                "a header echoes it"
            );
        }
    }
    Ok(())
}

/// Where a browser lands after following `location` from this site: it
/// must stay on this site (same scheme, host and port), as a browser's URL
/// parser reads it (tabs and newlines dropped, backslashes as slashes).
pub fn stays_on_site(location: &str) -> Result<(), TestCaseError> {
    let site = url::Url::parse("http://romgate.test:8080/login").expect("base");
    let target = site
        .join(location)
        .map_err(|e| TestCaseError::fail(format!("{location:?} is no URL: {e}")))?;
    prop_assert_eq!(target.origin(), site.origin(), "{:?} leaves the site", location);
    prop_assert!(location.starts_with('/'), "{location:?} is not a path");
    prop_assert!(
        !location.starts_with("//") && !location.starts_with("/\\"),
        "{location:?} is protocol-relative"
    );
    Ok(())
}
