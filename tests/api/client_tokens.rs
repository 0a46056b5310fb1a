//! Client API tokens (SPEC 8.2): creating, listing, deleting and
//! regenerating, through the real router on both engines. The
//! administrators' side and scopes: `client_tokens_access`; bearer
//! authentication with them: `client_tokens_auth`; pairing:
//! `client_tokens_pairing`; devices: `client_tokens_devices`.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use romgate::auth::Role;
use romgate::clock::format_time;
use serde_json::json;

use crate::client_tokens_support::{create, listed, me_status, token_with};
use crate::util::{TestApp, on_both_engines};

on_both_engines!(
    a_new_token_has_romms_shape_and_its_secret_is_shown_once,
    |app: TestApp| async move {
        let (alice, browser) = app.signed_in("alice", Role::Viewer).await;
        let response = create(
            &app,
            &browser,
            json!({"name": "Argosy", "scopes": ["roms.read", "me.read"], "expires_in": "30d"}),
        )
        .await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
        let body = response.json();
        let raw = body["raw_token"].as_str().expect("raw_token");
        assert!(raw.starts_with("rmm_") && raw.len() == 68, "{raw}");
        assert!(
            raw[4..]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_eq!(body["name"], "Argosy");
        assert_eq!(body["scopes"], json!(["me.read", "roms.read"]));
        assert_eq!(body["user_id"], alice.id);
        assert_eq!(body["device_id"], json!(null));
        assert_eq!(body["last_used_at"], json!(null));
        assert_eq!(body["created_at"], format_time(app.now()));
        assert_eq!(body["expires_at"], format_time(app.now() + 30 * 86_400));
        let keys: Vec<&String> = body.as_object().expect("object").keys().collect();
        assert_eq!(keys.len(), 9, "{keys:?}");

        // Stored only as its keyed hash: found by the hash, the secret
        // nowhere in any listing.
        let hash = app.state.auth.tokens.client_token_hash(raw).expect("shape");
        assert!(
            app.store()
                .find_client_token(&hash, app.now())
                .await
                .expect("query")
                .is_some()
        );
        let list = app.as_browser(&browser, Method::GET, "/api/client-tokens", None).await;
        assert!(
            !list.text().contains(raw) && !list.text().contains(&hash),
            "{}",
            list.text()
        );
        assert!(!list.text().contains("raw_token") && !list.text().contains("hash"));
        assert_eq!(me_status(&app, raw).await, StatusCode::OK);
    }
);

#[tokio::test]
async fn the_sqlite_file_never_holds_a_raw_token() {
    let app = TestApp::new().await;
    let (_, browser) = app.signed_in("alice", Role::Viewer).await;
    let (_, raw) = token_with(&app, &browser, "app", &["me.read"]).await;
    assert_eq!(me_status(&app, &raw).await, StatusCode::OK);
    let dir = &app.state.config.data_path;
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).expect("data dir") {
        let path = entry.expect("entry").path();
        if path.to_string_lossy().contains("test.db") {
            let bytes = std::fs::read(&path).expect("database file");
            seen += 1;
            assert!(
                !bytes.windows(raw.len()).any(|w| w == raw.as_bytes()),
                "{} holds the token",
                path.display()
            );
        }
    }
    assert!(seen > 0, "the database files were read");
}

on_both_engines!(
    each_expiry_choice_sets_its_time_and_anything_else_is_refused,
    |app: TestApp| async move {
        let (_, browser) = app.signed_in("alice", Role::Viewer).await;
        let now = app.now();
        let day = 86_400;
        for (expires_in, expected) in [
            (json!("30d"), json!(format_time(now + 30 * day))),
            (json!("90d"), json!(format_time(now + 90 * day))),
            (json!("1y"), json!(format_time(now + 365 * day))),
            (json!("never"), json!(null)),
            (json!(null), json!(null)),
        ] {
            let body = json!({"name": "t", "scopes": ["me.read"], "expires_in": expires_in});
            let response = create(&app, &browser, body).await;
            assert_eq!(
                response.status,
                StatusCode::CREATED,
                "{expires_in}: {}",
                response.text()
            );
            assert_eq!(response.json()["expires_at"], expected, "{expires_in}");
        }
        let absent = create(&app, &browser, json!({"name": "t", "scopes": ["me.read"]})).await;
        assert_eq!(absent.json()["expires_at"], json!(null));
        for bad in [json!("7d"), json!("forever"), json!(""), json!(30)] {
            let body = json!({"name": "t", "scopes": ["me.read"], "expires_in": bad});
            let response = create(&app, &browser, body).await;
            assert_eq!(response.status, StatusCode::BAD_REQUEST, "{bad}: {}", response.text());
        }
        let refused = create(
            &app,
            &browser,
            json!({"name": "t", "scopes": ["me.read"], "expires_in": "7d"}),
        )
        .await;
        assert!(
            refused.json()["detail"]
                .as_str()
                .expect("detail")
                .contains("30d, 90d, 1y or never")
        );
    }
);

on_both_engines!(
    names_and_scopes_are_checked_with_clear_answers,
    |app: TestApp| async move {
        let (_, browser) = app.signed_in("alice", Role::Viewer).await;
        let unknown = create(
            &app,
            &browser,
            json!({"name": "t", "scopes": ["me.read", "rooms.read"]}),
        )
        .await;
        assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
        assert_eq!(unknown.error_code(), "invalid_scope");
        assert!(
            unknown.json()["detail"]
                .as_str()
                .expect("detail")
                .contains("rooms.read")
        );

        let none = create(&app, &browser, json!({"name": "t", "scopes": []})).await;
        assert_eq!(none.status, StatusCode::BAD_REQUEST);

        let beyond = create(
            &app,
            &browser,
            json!({"name": "t", "scopes": ["me.read", "roms.write", "users.read"]}),
        )
        .await;
        assert_eq!(beyond.status, StatusCode::FORBIDDEN);
        let detail = beyond.json()["detail"].as_str().expect("detail").to_string();
        assert!(
            detail.contains("roms.write") && detail.contains("users.read"),
            "{detail}"
        );
        assert!(!detail.contains("me.read"), "{detail}");

        for name in [json!(""), json!("   "), json!("x".repeat(256))] {
            let response = create(&app, &browser, json!({"name": name, "scopes": ["me.read"]})).await;
            assert_eq!(response.status, StatusCode::BAD_REQUEST, "{}", response.text());
            assert_eq!(response.error_code(), "invalid_request");
        }
        let longest = create(&app, &browser, json!({"name": "é".repeat(255), "scopes": ["me.read"]})).await;
        assert_eq!(longest.status, StatusCode::CREATED, "255 characters are fine");
        for malformed in [
            json!({"scopes": ["me.read"]}),
            json!({"name": "t"}),
            json!({"name": 5, "scopes": ["me.read"]}),
        ] {
            let response = create(&app, &browser, malformed).await;
            assert_eq!(response.status, StatusCode::BAD_REQUEST);
        }
        assert_eq!(listed(&app, &browser).await.len(), 1, "only the good one was stored");
    }
);

on_both_engines!(the_twenty_sixth_token_is_refused, |app: TestApp| async move {
    let (_, browser) = app.signed_in("alice", Role::Viewer).await;
    let (_, bob) = app.signed_in("bob", Role::Viewer).await;
    for n in 0..25 {
        token_with(&app, &browser, &format!("t{n}"), &["me.read"]).await;
    }
    let over = create(&app, &browser, json!({"name": "one more", "scopes": ["me.read"]})).await;
    assert_eq!(over.status, StatusCode::BAD_REQUEST);
    assert_eq!(over.error_code(), "token_limit_reached");
    // Per person: bob still may.
    token_with(&app, &bob, "bob's", &["me.read"]).await;
    // Deleting one makes room.
    let first = listed(&app, &browser).await[0]["id"].as_i64().expect("id");
    let path = format!("/api/client-tokens/{first}");
    let deleted = app.as_browser(&browser, Method::DELETE, &path, None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    token_with(&app, &browser, "again", &["me.read"]).await;
});

on_both_engines!(parallel_creates_never_pass_the_cap, |app: TestApp| async move {
    let (_, browser) = app.signed_in("alice", Role::Viewer).await;
    let app = Arc::new(app);
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..40 {
        let (app, browser) = (Arc::clone(&app), browser.clone());
        tasks.spawn(async move {
            let body = json!({"name": format!("t{n}"), "scopes": ["me.read"]});
            create(&app, &browser, body).await
        });
    }
    let (mut created, mut refused) = (0, 0);
    while let Some(response) = tasks.join_next().await {
        let response = response.expect("task");
        match response.status {
            StatusCode::CREATED => created += 1,
            StatusCode::BAD_REQUEST if response.error_code() == "token_limit_reached" => refused += 1,
            other => panic!("a create answered {other}: {}", response.text()),
        }
    }
    assert_eq!((created, refused), (25, 15));
    assert_eq!(listed(&app, &browser).await.len(), 25);
});

on_both_engines!(one_lists_and_deletes_only_ones_own_tokens, |app: TestApp| async move {
    let (_, alice) = app.signed_in("alice", Role::Viewer).await;
    let (bob_user, bob) = app.signed_in("bob", Role::Viewer).await;
    let (first, _) = token_with(&app, &alice, "first", &["me.read"]).await;
    app.clock.advance(5);
    let (second, second_raw) = token_with(&app, &alice, "second", &["me.read", "roms.read"]).await;
    let (bobs, bobs_raw) = token_with(&app, &bob, "bob's", &["me.read"]).await;

    let list = listed(&app, &alice).await;
    let ids: Vec<i64> = list.iter().map(|t| t["id"].as_i64().expect("id")).collect();
    assert_eq!(ids, vec![second, first], "own tokens, newest first");
    let keys: Vec<&String> = list[0].as_object().expect("object").keys().collect();
    assert_eq!(keys.len(), 8, "RomM's ClientTokenSchema: {keys:?}");
    assert_eq!(list[0]["scopes"], json!(["me.read", "roms.read"]));

    let path = |id: i64| format!("/api/client-tokens/{id}");
    let not_hers = app.as_browser(&alice, Method::DELETE, &path(bobs), None).await;
    assert_eq!(not_hers.status, StatusCode::NOT_FOUND);
    assert_eq!(
        me_status(&app, &bobs_raw).await,
        StatusCode::OK,
        "bob's token untouched"
    );
    assert_eq!(listed(&app, &bob).await[0]["user_id"], bob_user.id);
    let unknown = app.as_browser(&alice, Method::DELETE, &path(999_999), None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let garbage = app
        .as_browser(&alice, Method::DELETE, "/api/client-tokens/abc", None)
        .await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);

    let deleted = app.as_browser(&alice, Method::DELETE, &path(second), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(deleted.body.is_empty());
    let refused = app.with_bearer(Method::GET, "/api/users/me", &second_raw, None).await;
    assert_eq!(
        refused.status,
        StatusCode::UNAUTHORIZED,
        "refused on the very next call"
    );
    assert_eq!(refused.error_code(), "invalid_token");
    let again = app.as_browser(&alice, Method::DELETE, &path(second), None).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
});

on_both_engines!(
    /// A new secret is what one asks for when the old one leaked: the
    /// tokens that requests with the old secret made end with it.
    regenerating_ends_the_tokens_the_old_secret_made,
    |app: TestApp| async move {
        let (_, alice) = app.signed_in("alice", Role::Viewer).await;
        let (id, parent) = token_with(&app, &alice, "tv", &["me.read", "me.write"]).await;
        let (_, unrelated) = token_with(&app, &alice, "phone", &["me.read"]).await;
        let body = json!({"name": "planted", "scopes": ["me.read"]});
        let minted = app.with_bearer(Method::POST, "/api/client-tokens", &parent, Some(body)).await;
        assert_eq!(minted.status, StatusCode::CREATED, "{}", minted.text());
        let minted = minted.json()["raw_token"].as_str().expect("raw_token").to_string();
        assert_eq!(me_status(&app, &minted).await, StatusCode::OK);

        let path = format!("/api/client-tokens/{id}/regenerate");
        let response = app.as_browser(&alice, Method::PUT, &path, None).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        assert_eq!(me_status(&app, &minted).await, StatusCode::UNAUTHORIZED);
        assert_eq!(me_status(&app, &unrelated).await, StatusCode::OK);
        assert_eq!(listed(&app, &alice).await.len(), 2, "the planted token is gone from the list");
    }
);

on_both_engines!(
    /// Removing a token 30 days after it expired is housekeeping, not a
    /// revocation: a token it made (set never to expire) keeps working.
    tokens_made_by_an_expired_token_outlive_its_removal,
    |app: TestApp| async move {
        let (alice_user, alice) = app.signed_in("alice", Role::Viewer).await;
        let body = json!({"name": "phone", "scopes": ["me.read", "me.write"], "expires_in": "30d"});
        let parent = create(&app, &alice, body).await;
        assert_eq!(parent.status, StatusCode::CREATED, "{}", parent.text());
        let parent = parent.json()["raw_token"].as_str().expect("raw_token").to_string();
        let body = json!({"name": "tv", "scopes": ["me.read"]});
        let child = app.with_bearer(Method::POST, "/api/client-tokens", &parent, Some(body)).await;
        assert_eq!(child.status, StatusCode::CREATED, "{}", child.text());
        let child = child.json()["raw_token"].as_str().expect("raw_token").to_string();

        app.clock.advance(61 * 24 * 3600);
        app.store().delete_expired(app.now()).await.expect("cleanup");
        assert_eq!(me_status(&app, &parent).await, StatusCode::UNAUTHORIZED);
        assert_eq!(me_status(&app, &child).await, StatusCode::OK);
        let left = app.store().client_tokens_of(alice_user.id).await.expect("tokens");
        assert_eq!(left.len(), 1, "the expired token is gone, its child stays");
    }
);

on_both_engines!(regenerating_replaces_the_secret_at_once, |app: TestApp| async move {
    let (_, alice) = app.signed_in("alice", Role::Viewer).await;
    let (_, bob) = app.signed_in("bob", Role::Viewer).await;
    let (id, old) = token_with(&app, &alice, "tv", &["me.read"]).await;
    assert_eq!(me_status(&app, &old).await, StatusCode::OK);
    let path = format!("/api/client-tokens/{id}/regenerate");
    let response = app.as_browser(&alice, Method::PUT, &path, None).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let body = response.json();
    let new = body["raw_token"].as_str().expect("raw_token").to_string();
    assert_ne!(new, old);
    assert_eq!((body["id"].as_i64(), body["name"].as_str()), (Some(id), Some("tv")));
    assert_eq!(
        body["last_used_at"],
        json!(null),
        "the old secret's last use is gone with it"
    );
    assert_eq!(me_status(&app, &old).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me_status(&app, &new).await, StatusCode::OK);

    let bobs_try = app.as_browser(&bob, Method::PUT, &path, None).await;
    assert_eq!(bobs_try.status, StatusCode::NOT_FOUND);
    assert_eq!(me_status(&app, &new).await, StatusCode::OK);
    let unknown = app
        .as_browser(&alice, Method::PUT, "/api/client-tokens/424242/regenerate", None)
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
});

on_both_engines!(
    expired_tokens_stay_listed_for_thirty_days_then_go,
    |app: TestApp| async move {
        let (_, browser) = app.signed_in("alice", Role::Viewer).await;
        let body = json!({"name": "old tv", "scopes": ["me.read"], "expires_in": "30d"});
        let token = create(&app, &browser, body).await.json()["raw_token"]
            .as_str()
            .expect("raw")
            .to_string();
        app.clock.advance(59 * 86_400);
        app.store().delete_expired(app.now()).await.expect("cleanup");
        let browser = app.login("alice", crate::util::PASSWORD).await;
        let list = listed(&app, &browser).await;
        assert_eq!(
            list.len(),
            1,
            "expired, still listed: the owner sees why the app stopped"
        );
        assert_eq!(me_status(&app, &token).await, StatusCode::UNAUTHORIZED);

        app.clock.advance(86_400);
        app.store().delete_expired(app.now()).await.expect("cleanup");
        assert!(listed(&app, &browser).await.is_empty(), "gone 30 days after expiry");
    }
);
