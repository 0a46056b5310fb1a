//! Back-channel logout: a signed logout token from the provider ends the
//! matching sessions at once; anything else is a 400 that changes nothing.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::fake_idp::FakeIdp;
use crate::sso_support::{me, session_of, sign_in, sso_app};
use crate::util::{TestApp, TestResponse, enc};

const PATH: &str = "/api/oauth/openid/backchannel-logout";

fn person(sub: &str, sid: &str) -> Value {
    json!({"sub": sub, "sid": sid, "preferred_username": sub, "email": format!("{sub}@example.com"), "email_verified": true})
}

async fn post_logout(app: &TestApp, token: &str) -> TestResponse {
    app.post_form(PATH, &[], &format!("logout_token={}", enc(token))).await
}

async fn signed_in(app: &TestApp, idp: &FakeIdp, sub: &str, sid: &str) -> String {
    session_of(&sign_in(app, idp, person(sub, sid)).await)
}

#[tokio::test]
async fn a_logout_token_with_sid_ends_that_session_only() {
    let (app, idp) = sso_app(&[]).await;
    let laptop = signed_in(&app, &idp, "alice", "sid-laptop").await;
    let phone = signed_in(&app, &idp, "alice", "sid-phone").await;
    let response = post_logout(&app, &idp.logout_token(json!({"sub": "alice", "sid": "sid-laptop"}))).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(me(&app, &laptop).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&app, &phone).await.status, StatusCode::OK);
}

/// Keycloak advertises RSA, RSA-PSS, EC and EdDSA algorithms at once; a
/// token signed with one of them is verified with that one alone.
#[tokio::test]
async fn a_provider_advertising_several_algorithm_families_is_heard() {
    let (app, idp) = sso_app(&[]).await;
    idp.override_discovery(json!({
        "id_token_signing_alg_values_supported": ["RS256", "PS256", "ES256", "EdDSA", "HS256"]
    }));
    let session = signed_in(&app, &idp, "alice", "sid-1").await;
    let response = post_logout(&app, &idp.logout_token(json!({"sub": "alice"}))).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(me(&app, &session).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_logout_token_with_only_sub_ends_all_that_subjects_sessions() {
    let (app, idp) = sso_app(&[]).await;
    let one = signed_in(&app, &idp, "alice", "s1").await;
    let two = signed_in(&app, &idp, "alice", "s2").await;
    let bob = signed_in(&app, &idp, "bob", "s3").await;
    let response = post_logout(&app, &idp.logout_token(json!({"sub": "alice"}))).await;
    assert_eq!(response.status, StatusCode::OK);
    for session in [one, two] {
        assert_eq!(me(&app, &session).await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(me(&app, &bob).await.status, StatusCode::OK);
}

#[tokio::test]
async fn bad_logout_tokens_are_refused_and_change_nothing() {
    let (app, idp) = sso_app(&[]).await;
    let session = signed_in(&app, &idp, "alice", "sid-1").await;
    let event = json!({"http://schemas.openid.net/event/backchannel-logout": {}});
    let cases: Vec<(&str, String)> = vec![
        ("no event", idp.logout_token(json!({"sub": "alice", "events": null}))),
        (
            "wrong event",
            idp.logout_token(json!({"sub": "alice", "events": {"other": {}}})),
        ),
        ("nonce", idp.logout_token(json!({"sub": "alice", "nonce": "n"}))),
        ("no sub nor sid", idp.logout_token(json!({"events": event}))),
        ("no jti", idp.logout_token(json!({"sub": "alice", "jti": null}))),
        (
            "wrong issuer",
            idp.logout_token(json!({"sub": "alice", "iss": "https://evil.example"})),
        ),
        (
            "wrong audience",
            idp.logout_token(json!({"sub": "alice", "aud": "other-client"})),
        ),
        (
            "old",
            idp.logout_token(json!({"sub": "alice", "iat": app.now() - 3600, "exp": app.now() - 3000})),
        ),
        (
            "future",
            idp.logout_token(json!({"sub": "alice", "iat": app.now() + 3600})),
        ),
        ("garbage", "not.a.jwt".to_string()),
    ];
    for (what, token) in cases {
        let response = post_logout(&app, &token).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{what}: {}", response.text());
        assert_eq!(response.error_code(), "invalid_request", "{what}");
        assert!(response.json()["error_description"].is_string(), "{what}");
    }
    let tampered = {
        let token = idp.logout_token(json!({"sub": "alice"}));
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        parts[1] = base64_json(&json!({"sub": "bob"}));
        parts.join(".")
    };
    assert_eq!(post_logout(&app, &tampered).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.post_form(PATH, &[], "").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(me(&app, &session).await.status, StatusCode::OK, "nothing was ended");
}

fn base64_json(value: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

#[tokio::test]
async fn a_replayed_logout_token_is_refused() {
    let (app, idp) = sso_app(&[]).await;
    signed_in(&app, &idp, "alice", "sid-1").await;
    let token = idp.logout_token(json!({"sub": "alice"}));
    assert_eq!(post_logout(&app, &token).await.status, StatusCode::OK);
    let later = signed_in(&app, &idp, "alice", "sid-2").await;
    let replay = post_logout(&app, &token).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);
    assert_eq!(me(&app, &later).await.status, StatusCode::OK);
}

/// A token dated ahead by the leeway is acceptable for its whole max age
/// after that date: its jti is remembered at least as long, through a
/// cleanup, so the token cannot end a later session.
#[tokio::test]
async fn a_logout_token_dated_ahead_is_not_replayable_after_a_cleanup() {
    let (app, idp) = sso_app(&[]).await;
    signed_in(&app, &idp, "alice", "sid-1").await;
    let now = app.now();
    let token = idp.logout_token(json!({"sub": "alice", "iat": now + 60, "exp": now + 580}));
    assert_eq!(post_logout(&app, &token).await.status, StatusCode::OK);
    app.clock.advance(610);
    app.store().delete_expired(app.now()).await.expect("cleanup");
    let later = signed_in(&app, &idp, "alice", "sid-2").await;
    let replay = post_logout(&app, &token).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST, "{}", replay.text());
    assert!(replay.text().contains("already used"), "{}", replay.text());
    assert_eq!(me(&app, &later).await.status, StatusCode::OK);
}

#[tokio::test]
async fn password_sessions_are_not_touched() {
    let (app, idp) = sso_app(&[]).await;
    let (_, browser) = app.signed_in("alice", romgate::auth::Role::Viewer).await;
    let response = post_logout(&app, &idp.logout_token(json!({"sub": "alice"}))).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(me(&app, &browser.session).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_logout_token_signed_with_a_rotated_key_is_accepted() {
    let (app, idp) = sso_app(&[]).await;
    let session = signed_in(&app, &idp, "alice", "sid-1").await;
    idp.rotate_keys();
    app.clock.advance(31);
    let response = post_logout(&app, &idp.logout_token(json!({"sub": "alice"}))).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(me(&app, &session).await.status, StatusCode::UNAUTHORIZED);
}
