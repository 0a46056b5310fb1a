//! POST /api/token: password and refresh grants, scopes, rotation, reuse.

use axum::http::{Method, StatusCode};
use romgate::auth::Role;

use crate::util::{PASSWORD, TestApp, enc, on_both_engines};

async fn refresh(app: &TestApp, token: &str) -> crate::util::TestResponse {
    app.post_form(
        "/api/token",
        &[],
        &format!("grant_type=refresh_token&refresh_token={}", enc(token)),
    )
    .await
}

fn field(response: &crate::util::TestResponse, name: &str) -> String {
    response.json()[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} in {}", response.text()))
        .to_string()
}

#[tokio::test]
async fn password_grant_returns_romm_shaped_tokens_that_authenticate() {
    let app = TestApp::new().await;
    app.create_user("alice", Role::Viewer).await;
    let response = app.token("alice", PASSWORD, "me.read roms.read").await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let json = response.json();
    assert_eq!(json["token_type"], "bearer");
    assert_eq!(json["expires"], 1800);
    assert_eq!(json["refresh_expires"], 604_800);
    let me = app
        .with_bearer(Method::GET, "/api/users/me", &field(&response, "access_token"), None)
        .await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["username"], "alice");
}

#[tokio::test]
async fn bearer_token_is_limited_to_its_scopes() {
    let app = TestApp::new().await;
    app.create_user("root", Role::Admin).await;
    let response = app.token("root", PASSWORD, "me.read").await;
    let token = field(&response, "access_token");
    let users = app.with_bearer(Method::GET, "/api/users", &token, None).await;
    assert_eq!(users.status, StatusCode::FORBIDDEN, "users.read was not requested");
    assert_eq!(users.error_code(), "insufficient_scope");
}

#[tokio::test]
async fn scopes_beyond_the_role_are_refused() {
    let app = TestApp::new().await;
    app.create_user("alice", Role::Viewer).await;
    let response = app.token("alice", PASSWORD, "me.read users.write").await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.error_code(), "invalid_scope");
    assert!(response.json()["detail"].is_string());
    let unknown = app.token("alice", PASSWORD, "me.read rooms.read").await;
    assert_eq!(unknown.error_code(), "invalid_scope");
}

#[tokio::test]
async fn wrong_password_is_an_invalid_grant_with_both_error_shapes() {
    let app = TestApp::new().await;
    app.create_user("alice", Role::Viewer).await;
    let response = app.token("alice", "wrong-password", "").await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    let json = response.json();
    assert_eq!(json["error"], "invalid_grant");
    assert!(json["error_description"].is_string() && json["detail"].is_string());
}

on_both_engines!(
    refresh_tokens_rotate_and_reuse_revokes_the_family,
    |app: TestApp| async move {
        app.create_user("alice", Role::Viewer).await;
        let first = app.token("alice", PASSWORD, "").await;
        let refresh_1 = field(&first, "refresh_token");
        let access_1 = field(&first, "access_token");

        let second = refresh(&app, &refresh_1).await;
        assert_eq!(second.status, StatusCode::OK, "{}", second.text());
        let refresh_2 = field(&second, "refresh_token");
        let access_2 = field(&second, "access_token");
        assert_ne!(refresh_1, refresh_2);

        // Replaying the spent token fails and revokes everything issued from it.
        let replay = refresh(&app, &refresh_1).await;
        assert_eq!(replay.status, StatusCode::BAD_REQUEST);
        assert_eq!(replay.error_code(), "invalid_grant");
        assert_eq!(
            refresh(&app, &refresh_2).await.status,
            StatusCode::BAD_REQUEST,
            "family revoked"
        );
        for access in [access_1, access_2] {
            let me = app.with_bearer(Method::GET, "/api/users/me", &access, None).await;
            assert_eq!(me.status, StatusCode::UNAUTHORIZED);
        }
    }
);

on_both_engines!(a_refresh_token_used_concurrently_wins_once, |app: TestApp| async move {
    app.create_user("alice", Role::Viewer).await;
    let refresh_token = field(&app.token("alice", PASSWORD, "").await, "refresh_token");
    let app = std::sync::Arc::new(app);
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let (app, token) = (app.clone(), refresh_token.clone());
            tokio::spawn(async move { refresh(&app, &token).await.status })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        ok += usize::from(task.await.expect("task") == StatusCode::OK);
    }
    assert_eq!(ok, 1);
});

#[tokio::test]
async fn access_tokens_expire() {
    let app = TestApp::builder()
        .env("OAUTH_ACCESS_TOKEN_EXPIRE_SECONDS", "30")
        .build()
        .await;
    app.create_user("alice", Role::Viewer).await;
    let token = field(&app.token("alice", PASSWORD, "").await, "access_token");
    app.clock.advance(30);
    let me = app.with_bearer(Method::GET, "/api/users/me", &token, None).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    assert!(
        me.header("www-authenticate")
            .expect("challenge")
            .contains("invalid_token")
    );
}

#[tokio::test]
async fn refresh_tokens_expire() {
    let app = TestApp::builder()
        .env("OAUTH_REFRESH_TOKEN_EXPIRE_SECONDS", "60")
        .build()
        .await;
    app.create_user("alice", Role::Viewer).await;
    let token = field(&app.token("alice", PASSWORD, "").await, "refresh_token");
    app.clock.advance(61);
    assert_eq!(refresh(&app, &token).await.error_code(), "invalid_grant");
}

#[tokio::test]
async fn refresh_keeps_working_when_password_login_is_disabled() {
    let app = TestApp::builder().env("DISABLE_USERPASS_LOGIN", "true").build().await;
    app.create_user("alice", Role::Viewer).await;
    assert_eq!(app.token("alice", PASSWORD, "").await.status, StatusCode::FORBIDDEN);
    // Tokens minted earlier, while passwords were allowed (same database and key).
    let earlier = romgate::auth::Auth::new(
        app.store().clone(),
        app.state.auth.passwords.clone(),
        app.state.auth.tokens.clone(),
        romgate::auth::AuthSettings {
            disable_userpass_login: false,
            ..app.state.auth.settings.clone()
        },
    );
    let secret = romgate::secret::Secret::new(PASSWORD);
    let pair = earlier
        .password_grant("alice", &secret, None, "test", app.now())
        .await
        .expect("grant");
    let refreshed = refresh(&app, pair.refresh_token.expose()).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text());
}

#[tokio::test]
async fn a_demoted_users_token_loses_the_scopes_at_once() {
    let app = TestApp::new().await;
    let user = app.create_user("root", Role::Admin).await;
    app.create_user("other-admin", Role::Admin).await;
    let token = field(&app.token("root", PASSWORD, "").await, "access_token");
    assert_eq!(
        app.with_bearer(Method::GET, "/api/users", &token, None).await.status,
        StatusCode::OK
    );
    app.set_role(user.id, Role::Viewer).await;
    assert_eq!(
        app.with_bearer(Method::GET, "/api/users", &token, None).await.status,
        StatusCode::FORBIDDEN
    );
}

/// A refresh grant gets the earlier scopes as the role allows them now: a
/// demotion narrows the new tokens, and a disabled account gets nothing.
#[tokio::test]
async fn a_refresh_after_a_demotion_or_a_disable_follows_the_account() {
    let app = TestApp::new().await;
    let user = app.create_user("ed", Role::Editor).await;
    let first = app.token("ed", PASSWORD, "me.read roms.read roms.write").await;
    app.set_role(user.id, Role::Viewer).await;
    let renewed = refresh(&app, &field(&first, "refresh_token")).await;
    assert_eq!(renewed.status, StatusCode::OK, "{}", renewed.text());
    assert_eq!(field(&renewed, "scope"), "me.read roms.read");

    app.disable(user.id).await;
    let refused = refresh(&app, &field(&renewed, "refresh_token")).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text());
    assert_eq!(refused.json()["error"], "invalid_grant");
}
