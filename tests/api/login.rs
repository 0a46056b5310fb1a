//! POST /api/login, sessions, logout, rate limiting, bcrypt upgrade.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use romgate::auth::Role;

use crate::util::{PASSWORD, TestApp, basic, on_both_engines};

async fn me(app: &TestApp, session: &str) -> StatusCode {
    app.get("/api/users/me", &[("cookie", &format!("romm_session={session}"))])
        .await
        .status
}

#[tokio::test]
async fn login_sets_a_safe_session_cookie_that_authenticates() {
    let app = TestApp::new().await;
    app.create_user("alice", Role::Viewer).await;
    let response = app.basic_login("alice", PASSWORD).await;
    assert_eq!(response.status, StatusCode::OK);
    let cookie = response.set_cookie("romm_session").expect("session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=1209600"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert!(!cookie.contains("Secure"), "plain http base URL: no Secure flag");
    let session = response.cookie_value("romm_session").expect("value");
    assert!(session.len() >= 40, "at least 128 bits of randomness");
    let me = app
        .get("/api/users/me", &[("cookie", &format!("romm_session={session}"))])
        .await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["username"], "alice");
    assert_eq!(me.json()["role"], "viewer");
}

#[tokio::test]
async fn https_base_url_marks_the_cookie_secure() {
    let app = TestApp::builder()
        .env("ROMM_BASE_URL", "https://romm.example.com")
        .build()
        .await;
    app.create_user("alice", Role::Viewer).await;
    let response = app.basic_login("alice", PASSWORD).await;
    assert!(response.set_cookie("romm_session").expect("cookie").contains("Secure"));
}

#[tokio::test]
async fn every_login_gets_a_new_session_id() {
    let app = TestApp::new().await;
    app.create_user("alice", Role::Viewer).await;
    let first = app.login("alice", PASSWORD).await;
    let second = app.login("alice", PASSWORD).await;
    assert_ne!(first.session, second.session);
    // Logging in while presenting an old cookie never re-uses it (no fixation).
    let cookie = format!("romm_session={}", first.session);
    let third = app
        .post(
            "/api/login",
            &[("authorization", &basic("alice", PASSWORD)), ("cookie", &cookie)],
            Body::empty(),
        )
        .await;
    assert_ne!(third.cookie_value("romm_session").expect("cookie"), first.session);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let app = TestApp::new().await;
    app.create_user("alice", Role::Viewer).await;
    let wrong = app.basic_login("alice", "nope-nope").await;
    let unknown = app.basic_login("mallory", "nope-nope").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, wrong.status);
    assert_eq!(unknown.body, wrong.body);
    assert!(wrong.set_cookie("romm_session").is_none());
}

#[tokio::test]
async fn a_disabled_user_is_refused_with_403_after_a_correct_password() {
    let app = TestApp::new().await;
    let user = app.create_user("alice", Role::Viewer).await;
    let changes = romgate::auth::AccountChanges {
        enabled: Some(false),
        ..Default::default()
    };
    app.state
        .auth
        .apply_changes(user.id, changes, app.now())
        .await
        .expect("disable");
    let response = app.basic_login("alice", PASSWORD).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(response.error_code(), "account_disabled");
    let wrong = app.basic_login("alice", "wrong-password").await;
    assert_eq!(
        wrong.status,
        StatusCode::UNAUTHORIZED,
        "a wrong password does not reveal the account state"
    );
}

#[tokio::test]
async fn logout_ends_the_server_side_session() {
    let app = TestApp::new().await;
    let (_, browser) = app.signed_in("alice", Role::Viewer).await;
    let response = app.as_browser(&browser, Method::POST, "/api/logout", None).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.text(), "null");
    assert!(
        response
            .set_cookie("romm_session")
            .expect("cleared")
            .contains("Max-Age=0")
    );
    assert_eq!(me(&app, &browser.session).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sessions_expire_after_session_max_age() {
    let app = TestApp::builder().env("SESSION_MAX_AGE_SECONDS", "60").build().await;
    let (_, browser) = app.signed_in("alice", Role::Viewer).await;
    app.clock.advance(59);
    assert_eq!(me(&app, &browser.session).await, StatusCode::OK);
    app.clock.advance(1);
    assert_eq!(me(&app, &browser.session).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn password_login_disabled_is_enforced_by_the_server() {
    let app = TestApp::builder().env("DISABLE_USERPASS_LOGIN", "true").build().await;
    app.create_user("alice", Role::Viewer).await;
    let response = app.basic_login("alice", PASSWORD).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert!(
        response.json()["detail"]
            .as_str()
            .expect("detail")
            .contains("Password login is disabled")
    );
    assert!(response.set_cookie("romm_session").is_none());
    let token = app.token("alice", PASSWORD, "").await;
    assert_eq!(token.status, StatusCode::FORBIDDEN);
    assert!(
        token.json()["detail"]
            .as_str()
            .expect("detail")
            .contains("Password login is disabled")
    );
}

#[tokio::test]
async fn sessions_keep_working_when_password_login_is_disabled() {
    let app = TestApp::builder().env("DISABLE_USERPASS_LOGIN", "true").build().await;
    let user = app.create_user("alice", Role::Viewer).await;
    let session = app
        .state
        .auth
        .start_session(user.id, None, app.now())
        .await
        .expect("session");
    assert_eq!(me(&app, session.token.expose()).await, StatusCode::OK);
}

on_both_engines!(
    repeated_failures_are_rate_limited_per_username,
    |app: TestApp| async move {
        app.create_user("alice", Role::Viewer).await;
        let bad = basic("alice", "wrong-password");
        for _ in 0..10 {
            let response = app.post("/api/login", &[("authorization", &bad)], Body::empty()).await;
            assert_eq!(response.status, StatusCode::UNAUTHORIZED);
        }
        let limited = app.basic_login("alice", PASSWORD).await;
        assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
        let retry: i64 = limited
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .expect("seconds");
        assert!(retry > 0 && retry <= 900, "{retry}");
        assert!(limited.set_cookie("romm_session").is_none());
        // The username's window ends; the right password works again.
        app.clock.advance(901);
        let ok = app.basic_login("alice", PASSWORD).await;
        assert_eq!(ok.status, StatusCode::OK);
    }
);

#[tokio::test]
async fn failures_are_counted_in_the_database_per_client_address() {
    let app = TestApp::new().await;
    for n in 0..30 {
        let bad = basic(&format!("user{n}"), "wrong-password");
        app.post("/api/login", &[("authorization", &bad)], Body::empty()).await;
    }
    app.create_user("alice", Role::Viewer).await;
    let limited = app.basic_login("alice", PASSWORD).await;
    assert_eq!(
        limited.status,
        StatusCode::TOO_MANY_REQUESTS,
        "30 failures from one address"
    );
}

#[tokio::test]
async fn bcrypt_hashes_imported_from_romm_verify_and_are_upgraded() {
    let app = TestApp::new().await;
    let user = app.create_user("alice", Role::Viewer).await;
    let bcrypt_hash = bcrypt::hash("romm-password", 4).expect("bcrypt");
    app.store()
        .set_password_hash(user.id, &bcrypt_hash, app.now())
        .await
        .expect("import");
    app.login("alice", "romm-password").await;
    let stored = app
        .store()
        .find_user_with_hash("alice")
        .await
        .expect("query")
        .expect("user");
    let hash = stored.password_hash.expect("hash");
    assert!(hash.starts_with("$argon2id$"), "upgraded: {hash}");
    app.login("alice", "romm-password").await;
}

#[tokio::test]
async fn a_failed_password_is_logged_with_the_username_tried_and_the_client() {
    let app = TestApp::new().await;
    app.create_user("alice", Role::Viewer).await;
    let logs = crate::log_capture::LogCapture::start();
    let response = crate::login_support::login_from(&app, "192.0.2.7", "alice", "hunter2-not-it").await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    let line = logs.line("sign-in result=failure");
    assert!(
        line.contains(
            r#"romgate::sign_in: sign-in result=failure method=password client=192.0.2.7 user="alice" reason=invalid_credentials"#
        ),
        "{line}"
    );
    assert!(!logs.text().contains("hunter2-not-it"), "never the password");
}
