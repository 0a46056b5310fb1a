//! Pairing codes (SPEC 8.2): made for one of one's tokens, exchanged once
//! within 60 seconds by an app for a new secret of that token, limited per
//! client address, one winner among simultaneous exchanges, and a sign-in
//! log line for every exchange attempt that never shows the code or a
//! token.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use romgate::auth::{AccountChanges, Role};
use serde_json::json;

use crate::client_tokens_support::{exchange_from, from_peer, me_status, pair, pairing_status, token_with};
use crate::log_capture::LogCapture;
use crate::util::{TestApp, on_both_engines};

const PHONE: &str = "198.51.100.20";

on_both_engines!(a_code_exchanges_once_for_a_new_secret, |app: TestApp| async move {
    let (alice, browser) = app.signed_in("alice", Role::Viewer).await;
    let (id, old) = token_with(&app, &browser, "tv", &["me.read", "roms.read"]).await;
    let code = pair(&app, &browser, id).await;
    assert_eq!(code.len(), 8);
    assert!(
        code.bytes().all(|b| b"ABCDEFGHJKMNPQRSTUVWXYZ23456789".contains(&b)),
        "{code}"
    );
    assert_eq!(pairing_status(&app, &code).await, StatusCode::OK);

    // Typed as a person would: lower case, a dash, spaces.
    let typed = format!(" {}-{} ", code[..4].to_lowercase(), &code[4..]);
    let response = exchange_from(&app, PHONE, &typed).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let body = response.json();
    let new = body["raw_token"].as_str().expect("raw_token").to_string();
    assert!(new.starts_with("rmm_") && new.len() == 68 && new != old);
    assert_eq!(body["id"], id);
    assert_eq!(body["user_id"], alice.id);
    assert_eq!(body["name"], "tv");
    assert_eq!(body["scopes"], json!(["me.read", "roms.read"]));
    assert_eq!(body.as_object().map(|o| o.len()), Some(9));

    assert_eq!(me_status(&app, &new).await, StatusCode::OK);
    assert_eq!(
        me_status(&app, &old).await,
        StatusCode::UNAUTHORIZED,
        "the old secret stops"
    );
    assert_eq!(pairing_status(&app, &code).await, StatusCode::NOT_FOUND, "used");
    let again = exchange_from(&app, PHONE, &code).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "single use");
    assert_eq!(
        me_status(&app, &new).await,
        StatusCode::OK,
        "a spent code changes nothing"
    );
});

on_both_engines!(a_code_lives_sixty_seconds, |app: TestApp| async move {
    let (_, browser) = app.signed_in("alice", Role::Viewer).await;
    let (id, _) = token_with(&app, &browser, "tv", &["me.read"]).await;
    let code = pair(&app, &browser, id).await;
    app.clock.advance(59);
    assert_eq!(pairing_status(&app, &code).await, StatusCode::OK);
    app.clock.advance(1);
    assert_eq!(pairing_status(&app, &code).await, StatusCode::NOT_FOUND);
    let late = exchange_from(&app, PHONE, &code).await;
    assert_eq!(late.status, StatusCode::NOT_FOUND);
    assert_eq!(late.error_code(), "not_found");

    for nonsense in ["", "ABC", "ABCDEFG0", "ÄÖÜÄÖÜÄÖ", "%2F..%2F"] {
        assert_eq!(
            pairing_status(&app, nonsense).await,
            StatusCode::NOT_FOUND,
            "{nonsense}"
        );
    }
});

on_both_engines!(only_ones_own_live_token_can_be_paired, |app: TestApp| async move {
    let (_, alice) = app.signed_in("alice", Role::Viewer).await;
    let (_, bob) = app.signed_in("bob", Role::Viewer).await;
    let (id, _) = token_with(&app, &alice, "tv", &["me.read"]).await;
    let path = format!("/api/client-tokens/{id}/pair");
    let bobs_try = app.as_browser(&bob, Method::POST, &path, None).await;
    assert_eq!(bobs_try.status, StatusCode::NOT_FOUND);
    let unknown = app
        .as_browser(&alice, Method::POST, "/api/client-tokens/987654/pair", None)
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    let short = crate::client_tokens_support::create(
        &app,
        &alice,
        json!({"name": "short", "scopes": ["me.read"], "expires_in": "30d"}),
    )
    .await;
    let short_id = short.json()["id"].as_i64().expect("id");
    app.clock.advance(31 * 86_400);
    let alice = app.login("alice", crate::util::PASSWORD).await;
    let expired = app
        .as_browser(
            &alice,
            Method::POST,
            &format!("/api/client-tokens/{short_id}/pair"),
            None,
        )
        .await;
    assert_eq!(expired.status, StatusCode::BAD_REQUEST);
    assert_eq!(expired.error_code(), "expired_token");
});

on_both_engines!(exchanges_are_limited_per_client_address, |app: TestApp| async move {
    let (_, browser) = app.signed_in("alice", Role::Viewer).await;
    let (id, _) = token_with(&app, &browser, "tv", &["me.read"]).await;
    let code = pair(&app, &browser, id).await;
    for n in 0..5 {
        let wrong = exchange_from(&app, PHONE, "AAAA-AAAA").await;
        assert_eq!(wrong.status, StatusCode::NOT_FOUND, "attempt {n}");
    }
    let limited = exchange_from(&app, PHONE, &code).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS, "even the right code");
    assert_eq!(limited.error_code(), "too_many_attempts");
    let retry: i64 = limited
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(
        pairing_status(&app, &code).await,
        StatusCode::OK,
        "the refused attempt used nothing"
    );

    let elsewhere = exchange_from(&app, "203.0.113.9", "AAAA-AAAA").await;
    assert_eq!(
        elsewhere.status,
        StatusCode::NOT_FOUND,
        "another address has its own count"
    );

    app.clock.advance(40);
    let fresh = pair(&app, &browser, id).await;
    app.clock.advance(20);
    let later = exchange_from(&app, PHONE, &fresh).await;
    assert_eq!(later.status, StatusCode::OK, "a minute later: {}", later.text());
});

on_both_engines!(of_simultaneous_exchanges_exactly_one_wins, |app: TestApp| async move {
    let (_, browser) = app.signed_in("alice", Role::Viewer).await;
    let (id, _) = token_with(&app, &browser, "tv", &["me.read"]).await;
    let code = pair(&app, &browser, id).await;
    let app = Arc::new(app);
    let mut tasks = tokio::task::JoinSet::new();
    for n in 1..=8 {
        let (app, code) = (Arc::clone(&app), code.clone());
        // One address each: the per-address limit is not what decides.
        tasks.spawn(async move { exchange_from(&app, &format!("192.0.2.{n}"), &code).await });
    }
    let mut winners = Vec::new();
    let mut losers = 0;
    while let Some(response) = tasks.join_next().await {
        let response = response.expect("task");
        match response.status {
            StatusCode::OK => winners.push(response.json()["raw_token"].as_str().expect("raw").to_string()),
            StatusCode::NOT_FOUND => losers += 1,
            other => panic!("an exchange answered {other}: {}", response.text()),
        }
    }
    assert_eq!((winners.len(), losers), (1, 7));
    assert_eq!(me_status(&app, &winners[0]).await, StatusCode::OK);
});

on_both_engines!(
    a_disabled_owner_or_a_deleted_token_gets_nothing,
    |app: TestApp| async move {
        app.create_user("root", Role::Admin).await;
        let (alice, browser) = app.signed_in("alice", Role::Viewer).await;
        let (id, _) = token_with(&app, &browser, "tv", &["me.read"]).await;
        let (gone, _) = token_with(&app, &browser, "gone", &["me.read"]).await;
        let code = pair(&app, &browser, id).await;
        let gone_code = pair(&app, &browser, gone).await;

        let path = format!("/api/client-tokens/{gone}");
        let deleted = app.as_browser(&browser, Method::DELETE, &path, None).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        assert_eq!(pairing_status(&app, &gone_code).await, StatusCode::NOT_FOUND);
        let response = exchange_from(&app, PHONE, &gone_code).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND);

        let disable = AccountChanges {
            enabled: Some(false),
            ..AccountChanges::default()
        };
        app.state
            .auth
            .apply_changes(alice.id, disable, app.now())
            .await
            .expect("disabled");
        let refused = exchange_from(&app, PHONE, &code).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert_eq!(refused.error_code(), "account_disabled");
        assert!(!refused.text().contains("rmm_"));
    }
);

#[tokio::test]
async fn each_exchange_is_logged_without_the_code_or_a_token() {
    let app = TestApp::new().await;
    let (_, browser) = app.signed_in("alice", Role::Viewer).await;
    let logs = LogCapture::start();
    let (id, first) = token_with(&app, &browser, "tv", &["me.read"]).await;
    let code = pair(&app, &browser, id).await;
    assert_eq!(pairing_status(&app, &code).await, StatusCode::OK);
    let wrong = exchange_from(&app, "192.0.2.50", "ZZZZ-ZZZZ").await;
    assert_eq!(wrong.status, StatusCode::NOT_FOUND);
    let right = exchange_from(&app, PHONE, &code.to_lowercase()).await;
    assert_eq!(right.status, StatusCode::OK);
    let second = right.json()["raw_token"].as_str().expect("raw").to_string();
    assert_eq!(me_status(&app, &second).await, StatusCode::OK);
    let path = format!("/api/client-tokens/{id}/regenerate");
    let third = app.as_browser(&browser, Method::PUT, &path, None).await.json()["raw_token"]
        .as_str()
        .expect("raw")
        .to_string();
    assert_eq!(me_status(&app, &third).await, StatusCode::OK);

    // Fields as the sign-in log writes them (only the username quoted).
    let success = logs.line("198.51.100.20");
    for part in [
        "romgate::sign_in",
        "result=success",
        "method=pairing_exchange",
        "user=\"alice\"",
    ] {
        assert!(success.contains(part), "{part} in {success}");
    }
    let failure = logs.line("192.0.2.50");
    for part in [
        "result=failure",
        "method=pairing_exchange",
        "reason=not_found",
        "user=\"\"",
    ] {
        assert!(failure.contains(part), "{part} in {failure}");
    }
    let text = logs.text();
    assert!(
        text.contains("/api/client-tokens/pair/***/status"),
        "the status request is logged, redacted"
    );
    for secret in [&code, &code.to_lowercase(), &first, &second, &third] {
        assert!(!text.contains(secret.as_str()), "{secret} logged:\n{text}");
    }
    for hex in [&first[4..], &second[4..], &third[4..]] {
        assert!(!text.contains(hex));
    }
}

#[tokio::test]
async fn a_refused_exchange_is_logged_with_its_reason() {
    let app = TestApp::new().await;
    let logs = LogCapture::start();
    for _ in 0..6 {
        exchange_from(&app, "192.0.2.77", "ZZZZ-ZZZZ").await;
    }
    let text = logs.text();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("pairing_exchange") && l.contains("192.0.2.77"))
        .collect();
    assert_eq!(lines.len(), 6, "one line per attempt:\n{text}");
    assert!(lines[4].contains("not_found"), "{}", lines[4]);
    assert!(lines[5].contains("too_many_attempts"), "{}", lines[5]);
}

#[tokio::test]
async fn status_checks_are_limited_per_client_address() {
    let app = TestApp::new().await;
    let (_, browser) = app.signed_in("alice", Role::Viewer).await;
    let (id, _) = token_with(&app, &browser, "tv", &["me.read"]).await;
    let code = pair(&app, &browser, id).await;
    let path = format!("/api/client-tokens/pair/{code}/status");
    for n in 0..120 {
        let answer = from_peer(&app, PHONE, Method::GET, &path, None).await;
        assert_eq!(answer.status, StatusCode::OK, "check {n}");
    }
    let limited = from_peer(&app, PHONE, Method::GET, &path, None).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.header("retry-after").is_some());
    let elsewhere = from_peer(&app, "203.0.113.9", Method::GET, &path, None).await;
    assert_eq!(elsewhere.status, StatusCode::OK);
}
