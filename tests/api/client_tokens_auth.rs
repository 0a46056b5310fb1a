//! `Authorization: Bearer rmm_…` (SPEC 8.2): what a client token may do is
//! decided again at every request, from the token's scopes and its owner's
//! role as stored then; expired, deleted or disabled means refused at once;
//! the last use is written at most once a minute.

use axum::http::{Method, StatusCode};
use romgate::auth::{AccountChanges, Role};
use romgate::clock::format_time;
use serde_json::json;

use crate::client_tokens_support::{create, listed_one, me_status, token_with};
use crate::util::{TestApp, on_both_engines};

async fn change(app: &TestApp, user_id: i64, changes: AccountChanges) {
    app.state
        .auth
        .apply_changes(user_id, changes, app.now())
        .await
        .expect("changed");
}

on_both_engines!(
    a_token_gets_its_scopes_within_the_owners_current_role,
    |app: TestApp| async move {
        app.create_user("root", Role::Admin).await;
        let (ada, browser) = app.signed_in("ada", Role::Admin).await;
        let (_, token) = token_with(&app, &browser, "admin app", &["me.read", "users.read"]).await;
        let users = |token: String| {
            let app = &app;
            async move { app.with_bearer(Method::GET, "/api/users", &token, None).await }
        };
        assert_eq!(users(token.clone()).await.status, StatusCode::OK);

        let demote = AccountChanges {
            role: Some(Role::Viewer),
            ..AccountChanges::default()
        };
        change(&app, ada.id, demote).await;
        let refused = users(token.clone()).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "the next request after the demotion"
        );
        assert_eq!(refused.error_code(), "insufficient_scope");
        assert_eq!(me_status(&app, &token).await, StatusCode::OK, "me.read is still both");

        let promote = AccountChanges {
            role: Some(Role::Admin),
            ..AccountChanges::default()
        };
        change(&app, ada.id, promote).await;
        assert_eq!(
            users(token.clone()).await.status,
            StatusCode::OK,
            "the granted scope is back"
        );

        // A scope the role has but the token was not granted: refused.
        let (_, narrow) = token_with(&app, &browser, "narrow", &["me.read"]).await;
        assert_eq!(users(narrow).await.status, StatusCode::FORBIDDEN);
    }
);

on_both_engines!(
    an_expired_token_is_refused_from_its_expiry_on,
    |app: TestApp| async move {
        let (_, browser) = app.signed_in("alice", Role::Viewer).await;
        let response = create(
            &app,
            &browser,
            json!({"name": "t", "scopes": ["me.read"], "expires_in": "30d"}),
        )
        .await;
        let token = response.json()["raw_token"].as_str().expect("raw").to_string();
        app.clock.advance(30 * 86_400 - 1);
        assert_eq!(me_status(&app, &token).await, StatusCode::OK);
        app.clock.advance(1);
        let refused = app.with_bearer(Method::GET, "/api/users/me", &token, None).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert_eq!(refused.error_code(), "invalid_token");
        assert_eq!(
            refused.header("www-authenticate"),
            Some(r#"Bearer realm="romgate", error="invalid_token""#)
        );
    }
);

on_both_engines!(
    a_disabled_owner_is_refused_until_enabled_again,
    |app: TestApp| async move {
        app.create_user("root", Role::Admin).await;
        let (alice, browser) = app.signed_in("alice", Role::Viewer).await;
        let (_, token) = token_with(&app, &browser, "t", &["me.read"]).await;
        let disable = AccountChanges {
            enabled: Some(false),
            ..AccountChanges::default()
        };
        change(&app, alice.id, disable).await;
        let refused = app.with_bearer(Method::GET, "/api/users/me", &token, None).await;
        assert_eq!(
            (refused.status, refused.error_code().as_str()),
            (StatusCode::UNAUTHORIZED, "invalid_token")
        );
        let enable = AccountChanges {
            enabled: Some(true),
            ..AccountChanges::default()
        };
        change(&app, alice.id, enable).await;
        assert_eq!(me_status(&app, &token).await, StatusCode::OK);
    }
);

on_both_engines!(a_deleted_owner_takes_their_tokens_along, |app: TestApp| async move {
    let (_, root) = app.signed_in("root", Role::Admin).await;
    let (alice, browser) = app.signed_in("alice", Role::Viewer).await;
    let (_, token) = token_with(&app, &browser, "t", &["me.read"]).await;
    let path = format!("/api/users/{}", alice.id);
    let deleted = app.as_browser(&root, Method::DELETE, &path, None).await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert_eq!(me_status(&app, &token).await, StatusCode::UNAUTHORIZED);
});

on_both_engines!(
    a_new_password_ends_sessions_but_keeps_client_tokens,
    |app: TestApp| async move {
        let (_, root) = app.signed_in("root", Role::Admin).await;
        let (alice, browser) = app.signed_in("alice", Role::Viewer).await;
        let (_, token) = token_with(&app, &browser, "handheld", &["me.read"]).await;
        let path = format!("/api/users/{}", alice.id);
        let body = json!({"password": "a brand new password"});
        let changed = app.as_browser(&root, Method::PUT, &path, Some(body)).await;
        assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
        let session = app.as_browser(&browser, Method::GET, "/api/users/me", None).await;
        assert_eq!(session.status, StatusCode::UNAUTHORIZED, "the browser session ended");
        assert_eq!(me_status(&app, &token).await, StatusCode::OK, "the app stays signed in");
    }
);

#[tokio::test]
async fn logging_out_with_a_client_token_ends_nothing() {
    let app = TestApp::new().await;
    let (_, browser) = app.signed_in("alice", Role::Viewer).await;
    let (_, token) = token_with(&app, &browser, "tv", &["me.read"]).await;
    let logout = app.with_bearer(Method::POST, "/api/logout", &token, None).await;
    assert_eq!(logout.status, StatusCode::OK, "{}", logout.text());
    assert_eq!(me_status(&app, &token).await, StatusCode::OK);
    let session = app.as_browser(&browser, Method::GET, "/api/users/me", None).await;
    assert_eq!(session.status, StatusCode::OK, "and no session either");
}

#[tokio::test]
async fn tokens_of_the_wrong_shape_are_refused() {
    let app = TestApp::new().await;
    let (_, browser) = app.signed_in("alice", Role::Viewer).await;
    let (_, token) = token_with(&app, &browser, "t", &["me.read"]).await;
    let upper = format!("rmm_{}", token[4..].to_ascii_uppercase());
    assert_eq!(
        me_status(&app, &upper).await,
        StatusCode::OK,
        "hex is hex in either case"
    );
    for wrong in [
        token[..67].to_string(),
        format!("{token}0"),
        format!("{}g", &token[..67]),
        "rmm_".to_string(),
        format!("RMM_{}", &token[4..]),
        format!("rmm_{}", "0".repeat(64)),
    ] {
        let refused = app.with_bearer(Method::GET, "/api/users/me", &wrong, None).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{wrong}");
    }
}

on_both_engines!(
    the_last_use_is_written_at_most_once_a_minute,
    |app: TestApp| async move {
        let (_, browser) = app.signed_in("alice", Role::Viewer).await;
        let (id, token) = token_with(&app, &browser, "t", &["me.read"]).await;
        assert_eq!(listed_one(&app, &browser, id).await["last_used_at"], json!(null));

        let first_use = app.now();
        assert_eq!(me_status(&app, &token).await, StatusCode::OK);
        assert_eq!(
            listed_one(&app, &browser, id).await["last_used_at"],
            format_time(first_use)
        );

        app.clock.advance(59);
        assert_eq!(me_status(&app, &token).await, StatusCode::OK);
        assert_eq!(
            listed_one(&app, &browser, id).await["last_used_at"],
            format_time(first_use),
            "a use within the minute writes nothing"
        );

        app.clock.advance(1);
        assert_eq!(me_status(&app, &token).await, StatusCode::OK);
        assert_eq!(
            listed_one(&app, &browser, id).await["last_used_at"],
            format_time(first_use + 60)
        );
    }
);

on_both_engines!(uses_at_once_write_the_last_use_once, |app: TestApp| async move {
    let (_, browser) = app.signed_in("alice", Role::Viewer).await;
    let (_, token) = token_with(&app, &browser, "t", &["me.read"]).await;
    let hash = app.state.auth.tokens.client_token_hash(&token).expect("shape");
    let row = app
        .store()
        .find_client_token(&hash, app.now())
        .await
        .expect("query")
        .expect("found");
    let now = app.now();
    let stale_before = now - 60;
    // Two instances that both read "never used" and both try to write:
    // the second finds the row fresh and writes nothing.
    let first = app
        .store()
        .touch_client_token(row.token_id, None, now, stale_before)
        .await;
    let second = app
        .store()
        .touch_client_token(row.token_id, None, now, stale_before)
        .await;
    assert_eq!((first.expect("touch"), second.expect("touch")), (true, false));
});
