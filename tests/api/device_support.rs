//! Driving a device sign-in through the real router: a device's start and
//! polls, a person's approval.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::util::{Browser, TestApp, TestResponse};

/// What `POST /api/auth/device/init` handed the device.
pub struct Started {
    pub device_code: String,
    pub user_code: String,
}

pub fn init_body(identifier: &str, scopes: &[&str]) -> Value {
    json!({
        "client_device_identifier": identifier,
        "name": "Living room TV",
        "client": "argosy",
        "platform": "android",
        "client_version": "1.4.2",
        "requested_scopes": scopes,
    })
}

/// Starts a device sign-in asking for `scopes`.
pub async fn start(app: &TestApp, scopes: &[&str]) -> Started {
    start_as(app, "tv-1234", scopes).await
}

pub async fn start_as(app: &TestApp, identifier: &str, scopes: &[&str]) -> Started {
    let response = app
        .post_json("/api/auth/device/init", &[], init_body(identifier, scopes))
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let json = response.json();
    let text = |k: &str| json[k].as_str().unwrap_or_else(|| panic!("{k}")).to_string();
    Started {
        device_code: text("device_code"),
        user_code: text("user_code"),
    }
}

/// One poll of RomM's token endpoint.
pub async fn poll(app: &TestApp, device_code: &str) -> TestResponse {
    app.post_json("/api/auth/device/token", &[], json!({"device_code": device_code}))
        .await
}

/// The poll's refusal word (RomM's `detail`), after checking it is a 400.
pub fn refusal(response: &TestResponse) -> String {
    assert_eq!(response.status, StatusCode::BAD_REQUEST, "{}", response.text());
    response.json()["detail"].as_str().unwrap_or_default().to_string()
}

/// `POST /api/auth/device/approve` as `browser`.
pub async fn approve(app: &TestApp, browser: &Browser, user_code: &str, scopes: &[&str]) -> TestResponse {
    approve_with(app, browser, json!({"user_code": user_code, "approved_scopes": scopes})).await
}

pub async fn approve_with(app: &TestApp, browser: &Browser, body: Value) -> TestResponse {
    app.as_browser(browser, Method::POST, "/api/auth/device/approve", Some(body))
        .await
}

pub async fn deny(app: &TestApp, browser: &Browser, user_code: &str) -> TestResponse {
    app.as_browser(
        browser,
        Method::POST,
        "/api/auth/device/deny",
        Some(json!({"user_code": user_code})),
    )
    .await
}

pub async fn pending(app: &TestApp, browser: &Browser, user_code: &str) -> TestResponse {
    let path = format!("/api/auth/device/pending/{}", crate::util::enc(user_code));
    app.as_browser(browser, Method::GET, &path, None).await
}

/// A started sign-in approved for `scopes` and collected: the poll's answer.
pub async fn signed_in_device(app: &TestApp, browser: &Browser, asked: &[&str], granted: &[&str]) -> Value {
    let started = start(app, asked).await;
    let approved = approve(app, browser, &started.user_code, granted).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text());
    let token = poll(app, &started.device_code).await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.text());
    token.json()
}
