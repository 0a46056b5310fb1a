//! HTTP Basic on every API call (SPEC 8.1, src/auth/basic.rs): the role's
//! scopes, the login's limits and refusals, and a cache of verified
//! credentials that spares the hash but re-reads the account every time.

use axum::http::{Method, StatusCode};
use romgate::auth::Role;
use romgate::auth::basic::VERIFIED_SECONDS;
use serde_json::json;

use crate::log_capture::LogCapture;
use crate::util::{PASSWORD, TestApp, TestResponse, basic, on_both_engines};

/// `method path` with `Authorization: Basic username:password`.
async fn as_basic(app: &TestApp, username: &str, password: &str, method: Method, path: &str) -> TestResponse {
    let auth = basic(username, password);
    let request = crate::util::request(method, path, &[("authorization", &auth)], axum::body::Body::empty());
    app.send(request).await
}

async fn me(app: &TestApp, username: &str, password: &str) -> TestResponse {
    as_basic(app, username, password, Method::GET, "/api/users/me").await
}

fn hashes(app: &TestApp) -> u64 {
    app.state.auth.passwords.hashes_computed()
}

on_both_engines!(basic_credentials_carry_the_roles_scopes, |app: TestApp| async move {
    app.create_user("alice", Role::Viewer).await;
    let root = app.create_user("root", Role::Admin).await;
    let mine = me(&app, "alice", PASSWORD).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.text());
    assert_eq!(mine.json()["username"], "alice");
    assert!(
        mine.header("cache-control").is_some_and(|c| c.contains("no-store")),
        "signed in: not cached"
    );
    let users = as_basic(&app, "alice", PASSWORD, Method::GET, "/api/users").await;
    assert_eq!(users.status, StatusCode::FORBIDDEN);
    assert_eq!(users.error_code(), "insufficient_scope");
    let users = as_basic(&app, "root", PASSWORD, Method::GET, "/api/users").await;
    assert_eq!(users.status, StatusCode::OK, "{}", users.text());

    // A demotion counts on the next request, cached or not.
    let demote = json!({"role": "viewer"});
    let (_, boss) = app.signed_in("boss", Role::Admin).await;
    let path = format!("/api/users/{}", root.id);
    let changed = app.as_browser(&boss, Method::PUT, &path, Some(demote)).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    let users = as_basic(&app, "root", PASSWORD, Method::GET, "/api/users").await;
    assert_eq!(users.status, StatusCode::FORBIDDEN, "demoted at once");
});

on_both_engines!(
    basic_needs_no_csrf_token_and_logout_ends_nothing,
    |app: TestApp| async move {
        app.create_user("alice", Role::Viewer).await;
        let out = as_basic(&app, "alice", PASSWORD, Method::POST, "/api/logout").await;
        assert_eq!(out.status, StatusCode::OK, "{}", out.text());
        assert_eq!(me(&app, "alice", PASSWORD).await.status, StatusCode::OK);
    }
);

on_both_engines!(
    wrong_basic_passwords_are_counted_until_the_limit,
    |app: TestApp| async move {
        app.create_user("alice", Role::Viewer).await;
        let before = hashes(&app);
        // 10 failures per username and address (LOGIN_PER_USER_ADDRESS).
        for n in 0..10 {
            let wrong = me(&app, "alice", &format!("guess-{n}")).await;
            assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "guess {n}");
            assert_eq!(wrong.error_code(), "invalid_credentials");
        }
        assert_eq!(hashes(&app) - before, 10, "every guess was a full check");
        let refused = me(&app, "alice", "guess-again").await;
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        let right = me(&app, "alice", PASSWORD).await;
        assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS, "{}", right.text());
        assert_eq!(right.error_code(), "too_many_attempts");
        assert!(right.header("retry-after").is_some());
        assert_eq!(hashes(&app) - before, 10, "refused before the hash");
    }
);

on_both_engines!(
    a_disabled_account_is_refused_even_when_cached,
    |app: TestApp| async move {
        let alice = app.create_user("alice", Role::Viewer).await;
        let (_, root) = app.signed_in("root", Role::Admin).await;
        assert_eq!(me(&app, "alice", PASSWORD).await.status, StatusCode::OK);
        let before = hashes(&app);
        let path = format!("/api/users/{}", alice.id);
        let disabled = app
            .as_browser(&root, Method::PUT, &path, Some(json!({"enabled": false})))
            .await;
        assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.text());
        let refused = me(&app, "alice", PASSWORD).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
        assert_eq!(refused.error_code(), "account_disabled");
        assert_eq!(hashes(&app), before, "refused from the cache, without a hash");
    }
);

on_both_engines!(
    /// A disabled account's right password, sent by an app on every call,
    /// costs one hash, not one per call (the check is remembered and
    /// refused from memory), and uses up no limit: others behind the same
    /// address still sign in.
    a_disabled_accounts_app_costs_one_hash_and_locks_nobody_out,
    |app: TestApp| async move {
        let alice = app.create_user("alice", Role::Viewer).await;
        app.create_user("bob", Role::Viewer).await;
        app.disable(alice.id).await;
        let before = hashes(&app);
        for call in 0..40 {
            let refused = me(&app, "alice", PASSWORD).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "call {call}: {}", refused.text());
            assert_eq!(refused.error_code(), "account_disabled");
        }
        assert_eq!(hashes(&app), before + 1, "one hash for forty calls");
        assert_eq!(me(&app, "bob", PASSWORD).await.status, StatusCode::OK, "the address is not locked");
        let enabled = romgate::auth::AccountChanges {
            enabled: Some(true),
            ..Default::default()
        };
        app.state.auth.apply_changes(alice.id, enabled, app.now()).await.expect("enable");
        assert_eq!(me(&app, "alice", PASSWORD).await.status, StatusCode::OK, "enabled again");
        assert_eq!(me(&app, "alice", "not the password").await.status, StatusCode::UNAUTHORIZED);
    }
);

on_both_engines!(a_new_password_replaces_the_old_one_at_once, |app: TestApp| async move {
    let alice = app.create_user("alice", Role::Viewer).await;
    assert_eq!(me(&app, "alice", PASSWORD).await.status, StatusCode::OK);
    let path = format!("/api/users/{}", alice.id);
    let change = json!({"password": "a brand new passphrase", "current_password": PASSWORD});
    let auth = basic("alice", PASSWORD);
    let changed = app
        .send(crate::util::request(
            Method::PUT,
            &path,
            &[("authorization", &auth), ("content-type", "application/json")],
            change.to_string().into(),
        ))
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    let old = me(&app, "alice", PASSWORD).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED, "{}", old.text());
    assert_eq!(old.error_code(), "invalid_credentials");
    assert_eq!(me(&app, "alice", "a brand new passphrase").await.status, StatusCode::OK);
});

#[tokio::test]
async fn basic_is_refused_while_password_login_is_disabled() {
    let app = TestApp::builder().env("DISABLE_USERPASS_LOGIN", "true").build().await;
    app.create_user("alice", Role::Viewer).await;
    let before = hashes(&app);
    let refused = me(&app, "alice", PASSWORD).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
    assert_eq!(refused.error_code(), "password_login_disabled");
    assert_eq!(hashes(&app), before);
}

/// The cache is what keeps Basic from costing a hash per request: without
/// it every request below would hash.
#[tokio::test]
async fn a_verified_credential_is_not_hashed_again_until_it_expires() {
    let app = TestApp::new().await;
    app.create_user("alice", Role::Viewer).await;
    let before = hashes(&app);
    for _ in 0..5 {
        assert_eq!(me(&app, "alice", PASSWORD).await.status, StatusCode::OK);
    }
    assert_eq!(hashes(&app) - before, 1, "one check for five requests");
    assert_eq!(app.state.auth.verified_basic.len(), 1);

    // Another username's case is the same account and the same entry.
    assert_eq!(me(&app, "ALICE", PASSWORD).await.status, StatusCode::OK);
    assert_eq!(hashes(&app) - before, 1);

    app.clock.advance(VERIFIED_SECONDS);
    assert_eq!(me(&app, "alice", PASSWORD).await.status, StatusCode::OK);
    assert_eq!(hashes(&app) - before, 2, "checked again once expired");
}

#[tokio::test]
async fn malformed_basic_headers_are_json_refusals() {
    let app = TestApp::new().await;
    app.create_user("alice", Role::Viewer).await;
    let long = format!("Basic {}", "A".repeat(6000));
    let headers = [
        "Basic",
        "Basic ",
        "Basic !!!not base64",
        "Basic YWxpY2U=", // "alice": no colon
        "Basic /w==",     // not UTF-8
        "basic Og==",     // ":" : empty username and password
        long.as_str(),
    ];
    for header in headers {
        let request = crate::util::request(
            Method::GET,
            "/api/users/me",
            &[("authorization", header)],
            axum::body::Body::empty(),
        );
        let response = app.send(request).await;
        assert!(
            matches!(response.status, StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED),
            "{header:.40}: {} {}",
            response.status,
            response.text()
        );
        assert!(!response.error_code().is_empty(), "{header:.40}: JSON refusal");
    }
}

/// The sign-in log has a line for each check that ran the password and each
/// refusal, none for a cached call, and never the password.
#[tokio::test]
async fn basic_sign_ins_are_logged_without_the_password() {
    let app = TestApp::new().await;
    app.create_user("alice", Role::Viewer).await;
    let logs = LogCapture::start();
    assert_eq!(
        me(&app, "alice", "Wr0ng-Secret-77").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(me(&app, "alice", PASSWORD).await.status, StatusCode::OK);
    assert_eq!(me(&app, "alice", PASSWORD).await.status, StatusCode::OK);
    let malformed = crate::util::request(
        Method::GET,
        "/api/users/me",
        &[("authorization", "Basic YWxpY2U=")],
        axum::body::Body::empty(),
    );
    assert_eq!(app.send(malformed).await.status, StatusCode::BAD_REQUEST);

    let text = logs.text();
    let sign_ins: Vec<&str> = text.lines().filter(|l| l.contains("romgate::sign_in")).collect();
    assert_eq!(sign_ins.len(), 3, "{text}");
    assert!(
        sign_ins[0]
            .ends_with(r#"sign-in result=failure method=basic client=unknown user="alice" reason=invalid_credentials"#),
        "{text}"
    );
    assert!(
        sign_ins[1].ends_with(r#"sign-in result=success method=basic client=unknown user="alice""#),
        "{text}"
    );
    assert!(
        sign_ins[2].ends_with(
            r#"sign-in result=failure method=basic client=unknown user="" reason=invalid_authorization_header"#
        ),
        "{text}"
    );
    assert!(!text.contains("Wr0ng-Secret-77") && !text.contains(PASSWORD), "{text}");
}

/// Two instances on one database: a credential remembered by one is refused
/// there as soon as the other sets a new password or disables the account.
#[tokio::test]
async fn a_change_made_on_another_instance_counts_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = TestApp::builder().data_dir(dir.path()).build().await;
    let b = TestApp::builder().data_dir(dir.path()).build().await;
    let alice = a.create_user("alice", Role::Viewer).await;
    let (_, root) = b.signed_in("root", Role::Admin).await;
    assert_eq!(me(&a, "alice", PASSWORD).await.status, StatusCode::OK);

    let path = format!("/api/users/{}", alice.id);
    let new_password = json!({"password": "another long password"});
    let changed = b.as_browser(&root, Method::PUT, &path, Some(new_password)).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    assert_eq!(me(&a, "alice", PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&a, "alice", "another long password").await.status, StatusCode::OK);

    let off = b
        .as_browser(&root, Method::PUT, &path, Some(json!({"enabled": false})))
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.text());
    let refused = me(&a, "alice", "another long password").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.error_code(), "account_disabled");
}

/// A request with a session cookie and an `Authorization` header is the
/// header's: an invalid bearer is refused although the cookie is valid, and
/// Basic is checked as Basic (the cookie's CSRF rule does not apply to it).
#[tokio::test]
async fn the_authorization_header_wins_over_the_session_cookie() {
    let app = TestApp::new().await;
    let (_, alice) = app.signed_in("alice", Role::Viewer).await;
    app.create_user("bob", Role::Viewer).await;
    let cookie = alice.cookie_header();
    let bad_bearer = app
        .get(
            "/api/users/me",
            &[("cookie", &cookie), ("authorization", "Bearer not-a-token")],
        )
        .await;
    assert_eq!(bad_bearer.status, StatusCode::UNAUTHORIZED, "{}", bad_bearer.text());
    let as_bob = app
        .get(
            "/api/users/me",
            &[("cookie", &cookie), ("authorization", &basic("bob", PASSWORD))],
        )
        .await;
    assert_eq!(as_bob.status, StatusCode::OK, "{}", as_bob.text());
    assert_eq!(as_bob.json()["username"], "bob");
    let wrong = app
        .get(
            "/api/users/me",
            &[("cookie", &cookie), ("authorization", &basic("bob", "wrong"))],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.text());
}
