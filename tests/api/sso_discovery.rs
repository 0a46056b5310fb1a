//! The provider's discovery document as something anyone can make romgate
//! fetch: one shared fetch while the provider is slow, a failure remembered
//! for a few seconds (but never in the way of a person signing in), the
//! back-channel endpoint limited per address, and the document's issuer
//! checked against the URL it came from.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, StatusCode};
use romgate::auth::rate_limit::BACKCHANNEL_LOGOUTS_PER_ADDRESS;
use romgate::clock::ManualClock;
use romgate::oidc::check::{self, Outcome};
use romgate::oidc::discovery::FAILURE_MEMORY_SECONDS;
use serde_json::json;

use crate::fake_idp::{CLIENT_ID, CLIENT_SECRET, FakeIdp};
use crate::sso_support::{me, session_of, sign_in, sso_app, start};
use crate::util::{START, TestApp, TestResponse, enc, request};

const LOGOUT: &str = "/api/oauth/openid/backchannel-logout";

fn alice() -> serde_json::Value {
    json!({"sub": "alice-sub", "sid": "sid-1", "preferred_username": "alice", "email": "alice@example.com",
           "email_verified": true})
}

/// A back-channel logout post arriving over a connection from `peer`.
async fn post_logout_from(app: &TestApp, peer: &str, token: &str) -> TestResponse {
    let body = Body::from(format!("logout_token={}", enc(token)));
    let headers = [("content-type", "application/x-www-form-urlencoded")];
    let mut req = request(Method::POST, LOGOUT, &headers, body);
    let addr: SocketAddr = format!("{peer}:40000").parse().expect("peer address");
    req.extensions_mut().insert(ConnectInfo(addr));
    app.send(req).await
}

/// Waits (a bounded while) until the provider has seen `n` discovery requests.
async fn until_discovery_requests(idp: &FakeIdp, n: usize) {
    for _ in 0..1000 {
        if idp.discovery_fetches() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the provider never saw {n} discovery request(s)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_posts_while_the_provider_is_slow_and_failing_costs_one_discovery() {
    let (app, idp) = sso_app(&[]).await;
    idp.set_discovery_failing(true);
    let slow = idp.hold_discovery();
    let app = Arc::new(app);
    let posts: Vec<_> = (0..20)
        .map(|n| {
            let app = Arc::clone(&app);
            tokio::spawn(async move { post_logout_from(&app, &format!("192.0.2.{n}"), "not.a.jwt").await })
        })
        .collect();
    until_discovery_requests(&idp, 1).await;
    drop(slow);
    for post in posts {
        let answer = post.await.expect("post");
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text());
    }
    assert_eq!(idp.discovery_fetches(), 1, "everyone shared one fetch and its failure");

    // A person signing in does not wait out the remembered failure: the
    // first sign-in after the provider is back works.
    idp.set_discovery_failing(false);
    session_of(&sign_in(&app, &idp, alice()).await);
    assert_eq!(idp.discovery_fetches(), 2);
}

#[tokio::test]
async fn a_failed_discovery_is_remembered_briefly_then_fetched_again() {
    let (app, idp) = sso_app(&[]).await;
    idp.set_discovery_failing(true);
    let peer = "192.0.2.1";
    assert_eq!(
        post_logout_from(&app, peer, "not.a.jwt").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(idp.discovery_fetches(), 1);
    app.clock.advance(FAILURE_MEMORY_SECONDS - 1);
    idp.set_discovery_failing(false);
    let remembered = post_logout_from(&app, peer, &idp.logout_token(json!({"sub": "alice-sub"}))).await;
    assert_eq!(remembered.status, StatusCode::BAD_REQUEST, "{}", remembered.text());
    assert!(remembered.text().contains("unreachable") || remembered.text().contains("cannot use"));
    assert_eq!(idp.discovery_fetches(), 1, "not fetched again within the window");

    app.clock.advance(1);
    let answered = post_logout_from(&app, peer, &idp.logout_token(json!({"sub": "alice-sub"}))).await;
    assert_eq!(answered.status, StatusCode::OK, "{}", answered.text());
    assert_eq!(idp.discovery_fetches(), 2);
}

#[tokio::test]
async fn back_channel_posts_are_limited_per_address() {
    let (app, idp) = sso_app(&[]).await;
    let session = session_of(&sign_in(&app, &idp, alice()).await);
    let limit = BACKCHANNEL_LOGOUTS_PER_ADDRESS.max_events;
    for n in 0..limit {
        let refused = post_logout_from(&app, "192.0.2.7", "not.a.jwt").await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "post {n}");
    }
    let token = idp.logout_token(json!({"sub": "alice-sub"}));
    let limited = post_logout_from(&app, "192.0.2.7", &token).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS, "{}", limited.text());
    assert!(limited.header("retry-after").is_some());
    assert_eq!(limited.error_code(), "too_many_attempts");
    assert_eq!(
        me(&app, &session).await.status,
        StatusCode::OK,
        "a limited post ends nothing"
    );

    // Another address (the provider) is not affected.
    let from_provider = post_logout_from(&app, "198.51.100.1", &token).await;
    assert_eq!(from_provider.status, StatusCode::OK, "{}", from_provider.text());
    assert_eq!(me(&app, &session).await.status, StatusCode::UNAUTHORIZED);

    app.clock.advance(BACKCHANNEL_LOGOUTS_PER_ADDRESS.window_seconds);
    let later = post_logout_from(&app, "192.0.2.7", "not.a.jwt").await;
    assert_eq!(later.status, StatusCode::BAD_REQUEST, "the window has passed");
}

#[tokio::test]
async fn a_discovery_document_naming_another_issuer_is_refused_at_sign_in() {
    let (app, idp) = sso_app(&[]).await;
    let other = "https://sso.example.com/realms/home";
    idp.override_discovery(json!({"issuer": other}));
    let refused = app.get("/api/login/openid", &[]).await;
    assert_eq!(refused.status, StatusCode::BAD_GATEWAY, "{}", refused.text());
    let page = refused.text();
    assert!(page.contains("provider_issuer_mismatch"), "{page}");
    assert!(
        page.contains(other) && page.contains(&idp.metadata_url()),
        "both values: {page}"
    );
    assert!(page.contains("OIDC_SERVER_METADATA_URL"), "{page}");
    assert!(refused.header("location").is_none() && refused.set_cookie("romgate_oidc").is_none());

    // The same issuer written with a trailing slash is the same issuer.
    idp.override_discovery(json!({"issuer": format!("{}/", idp.base)}));
    start(&app, "/").await;
}

#[tokio::test]
async fn a_metadata_url_outside_openid_discoverys_place_is_refused() {
    let clock = ManualClock::new(START);
    let idp = FakeIdp::start(clock.clone()).await;
    let rfc8414 = format!("{}/.well-known/oauth-authorization-server", idp.base);
    let app = crate::sso_support::sso_builder(&rfc8414, clock, &[]).build().await;
    let refused = app.get("/api/login/openid", &[]).await;
    assert_eq!(refused.status, StatusCode::BAD_GATEWAY, "{}", refused.text());
    assert!(refused.text().contains("provider_issuer_mismatch"));
}

fn check_config(metadata_url: &str) -> romgate::config::Config {
    let vars = [
        ("ROMM_BASE_URL", "http://localhost:8080"),
        ("OIDC_ENABLED", "true"),
        ("OIDC_CLIENT_ID", CLIENT_ID),
        ("OIDC_CLIENT_SECRET", CLIENT_SECRET),
        ("OIDC_REDIRECT_URI", "http://localhost:8080/api/oauth/openid"),
        ("OIDC_SERVER_METADATA_URL", metadata_url),
    ];
    romgate::config::Config::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
        .expect("valid configuration")
}

#[tokio::test]
async fn oidc_check_fails_an_issuer_that_is_not_the_metadata_urls() {
    let idp = FakeIdp::start(ManualClock::new(START)).await;
    let rfc8414 = format!("{}/.well-known/oauth-authorization-server", idp.base);
    for (issuer, metadata_url) in [
        ("https://sso.example.com/realms/home".to_string(), idp.metadata_url()),
        (idp.base.clone(), rfc8414),
    ] {
        idp.override_discovery(json!({"issuer": issuer}));
        let lines = check::run(&check_config(&metadata_url)).await;
        assert!(!check::passed(&lines), "{lines:#?}");
        let line = lines
            .iter()
            .find(|l| l.what.contains("issuer"))
            .unwrap_or_else(|| panic!("no issuer line: {lines:#?}"));
        assert_eq!(line.outcome, Outcome::Fail, "{line}");
        assert!(
            line.what.contains(&issuer) && line.what.contains(&metadata_url),
            "{line}"
        );
        assert!(line.to_string().starts_with('✗'));
        assert!(
            line.fix
                .as_deref()
                .is_some_and(|f| f.contains("OIDC_SERVER_METADATA_URL")),
            "{line}"
        );
    }
}
