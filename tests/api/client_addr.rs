//! The per-address login limit behind a reverse proxy: X-Forwarded-For is
//! believed only from ROMGATE_TRUSTED_PROXIES, and then only its right-most
//! untrusted entry, so clients behind the proxy are told apart but none of
//! them can choose the address it is counted under.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, StatusCode};
use romgate::auth::Role;

use crate::util::{PASSWORD, TestApp, TestResponse, basic, request};

const PROXY: &str = "10.0.0.2";

/// `POST /api/login` arriving over a connection from `peer`.
async fn login_via(app: &TestApp, peer: &str, forwarded_for: Option<&str>, user: &str, password: &str) -> TestResponse {
    let auth = basic(user, password);
    let mut headers = vec![("authorization", auth.as_str())];
    if let Some(chain) = forwarded_for {
        headers.push(("x-forwarded-for", chain));
    }
    let mut req = request(Method::POST, "/api/login", &headers, Body::empty());
    let addr: SocketAddr = format!("{peer}:40000").parse().expect("peer address");
    req.extensions_mut().insert(ConnectInfo(addr));
    app.send(req).await
}

/// 30 failed logins (the per-address limit), each for another username so
/// the per-username limit stays out of the way.
async fn fail_thirty_times(app: &TestApp, peer: &str, forwarded_for: impl Fn(usize) -> String) {
    for n in 0..30 {
        let chain = forwarded_for(n);
        let refused = login_via(app, peer, Some(&chain), &format!("user{n}"), "wrong-password").await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "failure {n}");
    }
}

#[tokio::test]
async fn without_trusted_proxies_x_forwarded_for_is_ignored() {
    let app = TestApp::new().await;
    app.create_user("alice", Role::Viewer).await;
    // Every request claims another address; all come from one connection peer.
    fail_thirty_times(&app, PROXY, |n| format!("203.0.113.{n}")).await;
    let limited = login_via(&app, PROXY, Some("198.51.100.1"), "alice", PASSWORD).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.header("retry-after").is_some());
}

#[tokio::test]
async fn a_trusted_proxy_tells_its_clients_apart() {
    let app = TestApp::builder()
        .env("ROMGATE_TRUSTED_PROXIES", &format!(" {PROXY}, 10.0.0.3 "))
        .build()
        .await;
    app.create_user("alice", Role::Viewer).await;
    fail_thirty_times(&app, PROXY, |_| "203.0.113.5".into()).await;

    let limited = login_via(&app, PROXY, Some("203.0.113.5"), "alice", PASSWORD).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS, "the failing client");
    // Through a second trusted proxy, and with an entry the client wrote itself.
    let chain = "198.51.100.1, 203.0.113.5, 10.0.0.3";
    let limited = login_via(&app, PROXY, Some(chain), "alice", PASSWORD).await;
    assert_eq!(
        limited.status,
        StatusCode::TOO_MANY_REQUESTS,
        "a spoofed left-most entry"
    );

    let other = login_via(&app, PROXY, Some("203.0.113.6"), "alice", PASSWORD).await;
    assert_eq!(other.status, StatusCode::OK, "another client behind the proxy");
}

#[tokio::test]
async fn a_peer_that_is_not_a_trusted_proxy_cannot_choose_its_address() {
    let app = TestApp::builder().env("ROMGATE_TRUSTED_PROXIES", PROXY).build().await;
    app.create_user("alice", Role::Viewer).await;
    let attacker = "198.51.100.9";
    fail_thirty_times(&app, attacker, |n| format!("203.0.113.{n}")).await;
    let limited = login_via(&app, attacker, Some("192.0.2.77"), "alice", PASSWORD).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    // Its failures were counted under its own address, not the proxy's.
    let proxied = login_via(&app, PROXY, Some("203.0.113.1"), "alice", PASSWORD).await;
    assert_eq!(proxied.status, StatusCode::OK);
}
