//! Helpers for the client-token tests: tokens made through the API, calls
//! with a client token, calls from a chosen client address, and a token
//! bound to a device (as a device sign-in leaves one).

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, StatusCode};
use romgate::auth::tokens::PlainToken;
use romgate::store::{ClientToken, Device, Minter, NewClientToken, NewDevice};
use serde_json::{Value, json};

use crate::util::{Browser, TestApp, TestResponse, request};

/// `POST /api/client-tokens` as `browser` with `body`.
pub async fn create(app: &TestApp, browser: &Browser, body: Value) -> TestResponse {
    app.as_browser(browser, Method::POST, "/api/client-tokens", Some(body))
        .await
}

/// A token named `name` with `scopes`, never expiring: (id, raw token).
pub async fn token_with(app: &TestApp, browser: &Browser, name: &str, scopes: &[&str]) -> (i64, String) {
    let response = create(app, browser, json!({"name": name, "scopes": scopes})).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let body = response.json();
    let id = body["id"].as_i64().expect("id");
    (id, body["raw_token"].as_str().expect("raw_token").to_string())
}

/// `GET /api/users/me` with a client token: the status alone.
pub async fn me_status(app: &TestApp, token: &str) -> StatusCode {
    app.with_bearer(Method::GET, "/api/users/me", token, None).await.status
}

/// `GET /api/client-tokens` as `browser` (a session: the listing itself
/// touches no token).
pub async fn listed(app: &TestApp, browser: &Browser) -> Vec<Value> {
    let response = app.as_browser(browser, Method::GET, "/api/client-tokens", None).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json().as_array().expect("a list").clone()
}

/// The listed token `id` of `browser`'s person.
pub async fn listed_one(app: &TestApp, browser: &Browser, id: i64) -> Value {
    listed(app, browser)
        .await
        .into_iter()
        .find(|t| t["id"] == id)
        .unwrap_or_else(|| panic!("token {id} listed"))
}

/// `POST /api/client-tokens/{id}/pair` as `browser`: the code.
pub async fn pair(app: &TestApp, browser: &Browser, id: i64) -> String {
    let path = format!("/api/client-tokens/{id}/pair");
    let response = app.as_browser(browser, Method::POST, &path, None).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let body = response.json();
    assert_eq!(body["expires_in"], 60);
    body["code"].as_str().expect("code").to_string()
}

/// A request from `peer` (an IP address), as the server sees it behind no
/// proxy.
pub async fn from_peer(app: &TestApp, peer: &str, method: Method, path: &str, json: Option<Value>) -> TestResponse {
    let (headers, body) = match json {
        Some(json) => (vec![("content-type", "application/json")], Body::from(json.to_string())),
        None => (vec![], Body::empty()),
    };
    let mut req = request(method, path, &headers, body);
    let addr = SocketAddr::new(peer.parse().expect("peer address"), 40000);
    req.extensions_mut().insert(ConnectInfo(addr));
    app.send(req).await
}

/// `POST /api/client-tokens/exchange` with `code`, from `peer`.
pub async fn exchange_from(app: &TestApp, peer: &str, code: &str) -> TestResponse {
    let body = json!({"code": code});
    from_peer(app, peer, Method::POST, "/api/client-tokens/exchange", Some(body)).await
}

/// `GET /api/client-tokens/pair/{code}/status`: the status alone.
pub async fn pairing_status(app: &TestApp, code: &str) -> StatusCode {
    let path = format!("/api/client-tokens/pair/{}/status", crate::util::enc(code));
    app.get(&path, &[]).await.status
}

/// A device of `user_id` named `name`, stored as a device sign-in would.
pub async fn device(app: &TestApp, user_id: i64, name: &str) -> Device {
    let new = NewDevice {
        id: uuid_like(),
        user_id,
        name: name.into(),
        client: Some("argosy".into()),
        platform: Some("android".into()),
        client_version: Some("1.2.3".into()),
        client_device_identifier: crate::util::hex_id(),
    };
    app.store().insert_device(&new, app.now()).await.expect("device stored")
}

/// A live client token of `user_id` bound to `device_id`, with `scopes`:
/// the stored row and the raw token.
pub async fn device_token(app: &TestApp, user_id: i64, device_id: &str, scopes: &str) -> (ClientToken, String) {
    let raw = PlainToken::client();
    let new = NewClientToken {
        user_id,
        device_id: Some(device_id.into()),
        name: "device token".into(),
        token_hash: app.state.auth.tokens.client_token_hash(raw.expose()),
        scopes: scopes.into(),
        expires_at: None,
        minted_by: Minter::Person,
    };
    let token = app
        .store()
        .insert_client_token(&new, 25, app.now())
        .await
        .expect("insert")
        .expect("under the limit");
    (token, raw.expose().to_string())
}

fn uuid_like() -> String {
    let hex = format!("{}{}", crate::util::hex_id(), crate::util::hex_id());
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}
