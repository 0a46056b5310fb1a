//! The identity provider at its worst: too slow (answers after romgate's
//! timeout), down (connection refused), or answering garbage from any of
//! its endpoints. Each sign-in attempt ends with a page that says the
//! provider is at fault (502, never a 500, never the provider's text),
//! within the timeout, with no session and no account; and the next sign-in
//! after the provider is healthy again works, on the same romgate.

use axum::http::StatusCode;
use romgate::oidc::discovery::{JWKS_REFETCH_SECONDS, METADATA_TTL_SECONDS};
use romgate::oidc::provider_http::TOTAL_TIMEOUT;
use serde_json::json;
use url::Url;

use crate::fake_idp::FakeIdp;
use crate::fake_idp_faults::{Endpoint, Fault, GARBAGE_MARKER};
use crate::sso_support::{callback, session_of, sign_in, sso_app};
use crate::util::{TestApp, TestResponse, within_seconds};

fn alice() -> serde_json::Value {
    json!({"sub": "alice-sub", "preferred_username": "alice", "email": "alice@example.com", "email_verified": true})
}

/// The longest one attempt may take: discovery and keys, or the token and
/// userinfo calls, each bounded by the timeout (with room for a busy CI).
fn attempt_bound() -> u64 {
    2 * TOTAL_TIMEOUT.as_secs() + 10
}

/// One sign-in as far as it gets: the start, and when the start sends the
/// browser to the provider, the callback with a granted code.
async fn attempt(app: &TestApp, idp: &FakeIdp) -> TestResponse {
    let started = app.get("/api/login/openid?next=%2F", &[]).await;
    if started.status != StatusCode::FOUND {
        return started;
    }
    let location = Url::parse(started.header("location").expect("Location")).expect("URL");
    let param = |name: &str| {
        location
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let code = idp.grant(&param("nonce"), &param("code_challenge"), alice());
    let cookie = started.cookie_value("romgate_oidc");
    callback(app, &format!("code={code}&state={}", param("state")), cookie.as_deref()).await
}

/// `attempt`, failing the test if it hangs past the timeouts.
async fn bounded_attempt(app: &TestApp, idp: &FakeIdp, what: &str) -> TestResponse {
    within_seconds(attempt_bound(), attempt(app, idp))
        .await
        .unwrap_or_else(|| panic!("{what}: the sign-in hung past the provider timeout"))
}

/// A refusal page naming one of the `expected` codes (a 502 blaming the
/// provider, or a 403 for a token that does not verify), nothing of the
/// provider's answer shown, no session, no new account.
async fn assert_provider_blamed(app: &TestApp, response: &TestResponse, expected: &[&str], users: usize, what: &str) {
    let body = response.text();
    let status = if body.contains("id_token_invalid") {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::BAD_GATEWAY
    };
    assert_eq!(response.status, status, "{what}: {body}");
    assert!(
        response
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/html")),
        "{what}: a page"
    );
    assert!(
        expected.iter().any(|code| body.contains(code)),
        "{what}: {expected:?} in {body}"
    );
    assert!(
        !body.contains(GARBAGE_MARKER) && !body.contains("Traceback"),
        "{what}: the provider's answer is not shown: {body}"
    );
    assert!(response.set_cookie("romm_session").is_none(), "{what}: no session");
    let now = app.store().list_users().await.expect("users").len();
    assert_eq!(now, users, "{what}: no account made");
}

/// One app per slow endpoint, all waiting at once (one timeout of wall
/// time); then the same app signs in once the provider is quick again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_provider_is_given_up_on_at_the_timeout_and_the_next_sign_in_works() {
    let cases = [
        (Endpoint::Discovery, "provider_unreachable"),
        (Endpoint::Jwks, "provider_unreachable"),
        (Endpoint::Token, "token_exchange_failed"),
        (Endpoint::Userinfo, "provider_unreachable"),
    ];
    let runs = cases.map(|(endpoint, code)| {
        tokio::spawn(async move {
            let (app, idp) = sso_app(&[]).await;
            idp.set_fault(endpoint, Some(Fault::Slow));
            let what = format!("slow {endpoint:?}");
            let response = bounded_attempt(&app, &idp, &what).await;
            assert_provider_blamed(&app, &response, &[code, "provider_unreachable"], 0, &what).await;
            idp.set_fault(endpoint, None);
            session_of(&sign_in(&app, &idp, alice()).await);
        })
    });
    for run in runs {
        run.await.expect("no assertion failed");
    }
}

/// Every kind of garbage from every endpoint, one after another on the same
/// romgate: each refused with a page, each followed by a working sign-in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_from_any_endpoint_is_a_clear_page_and_the_next_sign_in_works() {
    let (app, idp) = sso_app(&[]).await;
    session_of(&sign_in(&app, &idp, alice()).await);
    let endpoints = [Endpoint::Discovery, Endpoint::Jwks, Endpoint::Token, Endpoint::Userinfo];
    let faults = [Fault::NotJson, Fault::Html500, Fault::WrongJson];
    for endpoint in endpoints {
        for fault in faults {
            let what = format!("{fault:?} from {endpoint:?}");
            // Discovery and keys are cached: let them go stale, so romgate
            // fetches them again, from the broken provider.
            app.clock.advance(METADATA_TTL_SECONDS + 1);
            idp.set_fault(endpoint, Some(fault));
            let response = bounded_attempt(&app, &idp, &what).await;
            let expected = [
                "provider_invalid_response",
                "token_exchange_failed",
                "userinfo_invalid",
                "provider_unreachable",
                // A key set that parses but whose key is broken: the ID
                // token's signature does not verify.
                "id_token_invalid",
            ];
            assert_provider_blamed(&app, &response, &expected, 1, &what).await;
            idp.set_fault(endpoint, None);
            if response.text().contains("id_token_invalid") {
                // The keys were fetched again for that token (broken still);
                // the next refetch may come JWKS_REFETCH_SECONDS later (SPEC
                // 5.2). Before, the broken key stayed in use for the hour the
                // cache lasts.
                app.clock.advance(JWKS_REFETCH_SECONDS);
            }
            let healthy = sign_in(&app, &idp, alice()).await;
            assert_eq!(
                healthy.status,
                StatusCode::SEE_OTHER,
                "after {what}: {}",
                healthy.text()
            );
        }
    }
}

/// The provider goes down in the middle of a sign-in (its discovery
/// cached), stays down while the cache goes stale, and comes back on the
/// same port: each attempt meanwhile is a 502 page, the first after works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_goes_down_mid_sign_in_and_comes_back_needs_no_restart() {
    let (app, idp) = sso_app(&[]).await;
    session_of(&sign_in(&app, &idp, alice()).await);
    let port = idp.port();

    let started = app.get("/api/login/openid?next=%2F", &[]).await;
    assert_eq!(started.status, StatusCode::FOUND, "discovery is cached");
    idp.stop().await;
    let location = Url::parse(started.header("location").expect("Location")).expect("URL");
    let state = location
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned());
    let query = format!("code=any&state={}", state.unwrap_or_default());
    let cookie = started.cookie_value("romgate_oidc");
    let finish = callback(&app, &query, cookie.as_deref());
    let down = within_seconds(attempt_bound(), finish).await.expect("no hang");
    assert_provider_blamed(&app, &down, &["provider_unreachable"], 1, "token endpoint down").await;

    app.clock.advance(METADATA_TTL_SECONDS + 1);
    let stale = bounded_attempt(&app, &idp, "discovery down").await;
    assert_provider_blamed(&app, &stale, &["provider_unreachable"], 1, "discovery down").await;

    let idp = FakeIdp::start_on(port, app.clock.clone()).await;
    let back = within_seconds(attempt_bound(), sign_in(&app, &idp, alice()))
        .await
        .expect("no hang");
    session_of(&back);
}
