//! Device sign-in across instances (SPEC 8.3 on SPEC 1's scale-out): a
//! device starts on A and polls A, the person approves on B's page, and
//! exactly one poll, on either instance, receives the token.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::cluster::{Cluster, cookie, me_by_bearer, password_login};
use crate::romgate::RomgateServer;

const PASSWORD: &str = "a long password";

async fn post_json(server: &RomgateServer, path: &str, body: Value) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(server.url(path))
        .json(&body)
        .send()
        .await
        .expect("romgate answers");
    let status = response.status();
    (status, response.json().await.expect("JSON"))
}

async fn poll(server: &RomgateServer, device_code: &str) -> (StatusCode, Value) {
    post_json(server, "/api/auth/device/token", json!({"device_code": device_code})).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs PostgreSQL (TEST_DATABASE_URL); run with --ignored"]
async fn a_device_started_on_a_is_approved_on_b_and_collects_on_a() {
    let cluster = Cluster::start(&[]).await;
    cluster.create_user("alice", "viewer", PASSWORD);
    let init = json!({
        "client_device_identifier": "handheld-7",
        "name": "Handheld",
        "client": "grout",
        "platform": "linux",
        "requested_scopes": ["me.read", "roms.read"],
    });
    let (status, started) = post_json(&cluster.a, "/api/auth/device/init", init).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let device_code = started["device_code"].as_str().expect("device_code").to_string();
    let user_code = started["user_code"].as_str().expect("user_code").to_string();
    let (status, pending) = poll(&cluster.a, &device_code).await;
    assert_eq!(
        (status, pending["detail"].as_str()),
        (StatusCode::BAD_REQUEST, Some("authorization_pending"))
    );

    // The person, on B: signs in, opens the page the device named, approves.
    let browser = Browser::new();
    let login = password_login(&browser, &cluster.b, "alice", PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    let page = browser
        .get(
            &cluster
                .b
                .url(&format!("/pair/device?user_code={}", user_code.to_lowercase())),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Handheld") && page.body.contains("grout"));
    let csrf = cookie(&browser, &cluster.b, "romm_csrftoken").expect("CSRF cookie");
    let fields: Vec<(String, String)> = [
        ("csrf_token", csrf.as_str()),
        ("user_code", user_code.as_str()),
        ("scope", "me.read"),
        ("scope", "roms.read"),
        ("device_name", "Alice's handheld"),
        ("expires_in", "90d"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let approved = browser.post_form(&cluster.b.url("/pair/device/approve"), &fields).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    assert!(
        approved
            .body
            .contains("Approved. Your device signs in within a few seconds.")
    );

    // Both instances poll at once: one token.
    let (on_a, on_b) = tokio::join!(poll(&cluster.a, &device_code), poll(&cluster.b, &device_code));
    let received: Vec<&Value> = [&on_a, &on_b]
        .into_iter()
        .filter(|(status, _)| *status == StatusCode::OK)
        .map(|(_, body)| body)
        .collect();
    assert_eq!(received.len(), 1, "A: {on_a:?}, B: {on_b:?}");
    let refused = if on_a.0 == StatusCode::OK { &on_b } else { &on_a };
    assert_eq!(refused.1["detail"], "expired_token");
    let token = received[0]["access_token"].as_str().expect("access_token");
    assert!(token.starts_with("rmm_"));
    assert_eq!(received[0]["scopes"], json!(["me.read", "roms.read"]));
    for server in [&cluster.a, &cluster.b] {
        let me = me_by_bearer(server, token).await.expect("the token works");
        assert_eq!(me["username"], "alice");
    }
}
