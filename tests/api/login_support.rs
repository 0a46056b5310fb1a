//! Helpers for the login-limit tests: sign-ins from a chosen client
//! address, many at once or from many addresses.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, StatusCode};

use crate::util::{TestApp, TestResponse, basic, request};

/// `POST /api/login` with HTTP Basic, over a connection from `peer` (an IP
/// address), as the server sees it behind no proxy.
pub async fn login_from(app: &TestApp, peer: &str, username: &str, password: &str) -> TestResponse {
    let auth = basic(username, password);
    let mut req = request(Method::POST, "/api/login", &[("authorization", &auth)], Body::empty());
    let addr = SocketAddr::new(peer.parse().expect("peer address"), 40000);
    req.extensions_mut().insert(ConnectInfo(addr));
    app.send(req).await
}

/// Sends the same wrong-password login `count` times at once (each on its
/// own task, so they truly overlap) and returns how many were answered 401
/// (the password was checked) and how many 429 (refused before the check).
pub async fn parallel_wrong_logins(
    app: &Arc<TestApp>,
    count: usize,
    username: impl Fn(usize) -> String,
) -> (usize, usize) {
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..count {
        let app = Arc::clone(app);
        let username = username(n);
        tasks.spawn(async move { app.basic_login(&username, "wrong-password").await.status });
    }
    let (mut checked, mut refused) = (0, 0);
    while let Some(status) = tasks.join_next().await {
        match status.expect("login task") {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            other => panic!("a wrong password answered {other}"),
        }
    }
    (checked, refused)
}

/// `per_address` wrong-password logins as `username` from each of
/// `addresses` attackers' addresses (203.0.113.x), one after another;
/// returns how many reached the password check (401) and how many were
/// refused before it (429).
pub async fn wrong_logins_from_many(
    app: &TestApp,
    username: &str,
    addresses: u8,
    per_address: usize,
) -> (usize, usize) {
    let (mut checked, mut refused) = (0, 0);
    for address in 1..=addresses {
        let peer = format!("203.0.113.{address}");
        for _ in 0..per_address {
            match login_from(app, &peer, username, "wrong-password").await.status {
                StatusCode::UNAUTHORIZED => checked += 1,
                StatusCode::TOO_MANY_REQUESTS => refused += 1,
                other => panic!("a wrong password answered {other}"),
            }
        }
    }
    (checked, refused)
}
