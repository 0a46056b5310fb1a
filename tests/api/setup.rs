//! First-boot setup: exactly one admin, once, and only while none exists.

use axum::http::StatusCode;
use romgate::auth::Role;
use serde_json::json;

use crate::util::{TestApp, basic, enc, on_both_engines};

fn admin_body(name: &str) -> serde_json::Value {
    json!({"username": name, "password": "first-admin-pw", "email": format!("{name}@example.com")})
}

#[tokio::test]
async fn heartbeat_reports_setup_needed_until_an_admin_exists() {
    let app = TestApp::new().await;
    let before = app.get("/api/heartbeat", &[]).await.json();
    assert_eq!(before["SETUP"]["NEEDED"], true);
    let created = app.post_json("/api/users", &[], admin_body("root")).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    assert_eq!(created.json()["role"], "admin");
    let after = app.get("/api/heartbeat", &[]).await.json();
    assert_eq!(after["SETUP"]["NEEDED"], false);
    let login = app
        .post("/api/login", &[("authorization", &basic("root", "first-admin-pw"))], "")
        .await;
    assert_eq!(login.status, StatusCode::OK);
}

/// DNS rebinding: a page under the attacker's own name, resolved to the
/// server, is same-origin with it, and its requests say `Host: <that
/// name>`. The open setup answers only under the server's own names.
#[tokio::test]
async fn the_open_setup_answers_only_under_the_servers_own_names() {
    let app = TestApp::new().await;
    let rebound = [("host", "rebind.attacker.example")];
    let refused = app.post_json("/api/users", &rebound, admin_body("mallory")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
    assert_eq!(refused.error_code(), "setup_host_not_allowed");
    let page = app.get("/setup", &rebound).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.text().contains("ROMM_BASE_URL"), "{}", page.text());
    // The form, with a valid CSRF token read under the rebound name.
    let csrf = page.cookie_value("romm_csrftoken").expect("a CSRF cookie");
    let cookie = format!("romm_csrftoken={csrf}");
    let form = format!(
        "csrf_token={}&username=mallory&email=m%40example.com&password=first-admin-pw",
        enc(&csrf)
    );
    let posted = app.post_form("/setup", &[("cookie", &cookie), rebound[0]], &form).await;
    assert_eq!(posted.status, StatusCode::FORBIDDEN, "{}", posted.text());
    assert!(app.store().list_users().await.expect("users").is_empty());

    // The machine's address and its local names work.
    for host in ["nas.local", "romgate:8080"] {
        assert_eq!(
            app.get("/setup", &[("host", host)]).await.status,
            StatusCode::OK,
            "{host}"
        );
    }
    let created = app
        .post_json("/api/users", &[("host", "192.168.1.10:8080")], admin_body("root"))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
}

#[tokio::test]
async fn setup_always_creates_an_admin_whatever_role_is_asked() {
    let app = TestApp::new().await;
    let mut body = admin_body("root");
    body["role"] = json!("viewer");
    let created = app.post_json("/api/users", &[], body).await;
    assert_eq!(created.json()["role"], "admin");
}

#[tokio::test]
async fn once_an_admin_exists_anonymous_creation_needs_credentials() {
    let app = TestApp::new().await;
    app.create_user("root", Role::Admin).await;
    let response = app.post_json("/api/users", &[], admin_body("intruder")).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert!(response.header("www-authenticate").is_some());
    assert!(
        app.store()
            .find_user_by_username("intruder")
            .await
            .expect("query")
            .is_none()
    );
}

#[tokio::test]
async fn disabled_wizard_refuses_and_points_at_the_cli() {
    let app = TestApp::builder().env("DISABLE_SETUP_WIZARD", "true").build().await;
    let response = app.post_json("/api/users", &[], admin_body("root")).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(response.error_code(), "setup_disabled");
    assert!(
        response.json()["hint"]
            .as_str()
            .expect("hint")
            .contains("romgate user create")
    );
    assert!(app.store().list_users().await.expect("query").is_empty());
    let heartbeat = app.get("/api/heartbeat", &[]).await.json();
    assert_eq!(heartbeat["SETUP"]["NEEDED"], true);
    assert_eq!(heartbeat["SYSTEM"]["SHOW_SETUP_WIZARD"], false);
}

#[tokio::test]
async fn sso_only_setup_requires_an_email_for_linking() {
    let app = TestApp::builder().env("DISABLE_USERPASS_LOGIN", "true").build().await;
    let response = app.post_json("/api/users", &[], json!({"username": "root"})).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.error_code(), "email_required");
    let ok = app
        .post_json(
            "/api/users",
            &[],
            json!({"username": "root", "email": "root@example.com"}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text());
}

on_both_engines!(
    twenty_concurrent_setups_create_exactly_one_admin,
    |app: TestApp| async move {
        let app = std::sync::Arc::new(app);
        let attempts = (0..20).map(|n| {
            let app = app.clone();
            tokio::spawn(async move {
                app.post_json("/api/users", &[], admin_body(&format!("admin{n}")))
                    .await
                    .status
            })
        });
        let mut created = 0;
        for attempt in attempts {
            let status = attempt.await.expect("task");
            assert!(status == StatusCode::CREATED || status.is_client_error(), "{status}");
            created += usize::from(status == StatusCode::CREATED);
        }
        assert_eq!(created, 1);
        let admins = app
            .store()
            .list_users()
            .await
            .expect("query")
            .iter()
            .filter(|u| u.role == Role::Admin)
            .count();
        assert_eq!(admins, 1);
    }
);
