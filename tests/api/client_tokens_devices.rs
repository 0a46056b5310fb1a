//! Devices (SPEC 8.4): one's own, listed with RomM's fields, and revoked
//! together with every token bound to them.

use axum::http::{Method, StatusCode};
use romgate::auth::Role;
use romgate::clock::format_time;
use serde_json::json;

use crate::client_tokens_support::{device, device_token, listed, me_status, token_with};
use crate::util::{TestApp, on_both_engines};

on_both_engines!(
    one_lists_ones_own_devices_with_romms_fields,
    |app: TestApp| async move {
        let (alice, browser) = app.signed_in("alice", Role::Viewer).await;
        let bob = app.create_user("bob", Role::Viewer).await;
        let handheld = device(&app, alice.id, "Retroid").await;
        device(&app, bob.id, "Bob's TV").await;
        let created = app.now();
        let (_, token) = device_token(&app, alice.id, &handheld.id, "me.read devices.read").await;

        let response = app.as_browser(&browser, Method::GET, "/api/devices", None).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        let list = response.json();
        assert_eq!(list.as_array().map(Vec::len), Some(1), "only hers: {list}");
        let one = &list[0];
        assert_eq!(one["id"], handheld.id.as_str());
        assert_eq!(one["user_id"], alice.id);
        assert_eq!(one["name"], "Retroid");
        assert_eq!(one["platform"], "android");
        assert_eq!(one["client"], "argosy");
        assert_eq!(one["client_version"], "1.2.3");
        assert_eq!(one["last_seen"], json!(null));
        assert_eq!(one["created_at"], format_time(created));
        assert_eq!(one["updated_at"], format_time(created));

        // The device's own token reads its list and marks it seen.
        app.clock.advance(120);
        let seen = app.with_bearer(Method::GET, "/api/devices", &token, None).await;
        assert_eq!(seen.status, StatusCode::OK);
        assert_eq!(seen.json()[0]["last_seen"], format_time(created + 120));
    }
);

on_both_engines!(
    revoking_a_device_refuses_its_tokens_on_the_very_next_call,
    |app: TestApp| async move {
        let (alice, browser) = app.signed_in("alice", Role::Viewer).await;
        let (_, bob) = app.signed_in("bob", Role::Viewer).await;
        let handheld = device(&app, alice.id, "Retroid").await;
        let (_, bound) = device_token(&app, alice.id, &handheld.id, "me.read").await;
        let (_, other_bound) = device_token(&app, alice.id, &handheld.id, "me.read").await;
        let (_, unbound) = token_with(&app, &browser, "laptop", &["me.read"]).await;
        assert_eq!(me_status(&app, &bound).await, StatusCode::OK);
        assert_eq!(listed(&app, &browser).await.len(), 3);

        let path = format!("/api/devices/{}", handheld.id);
        let bobs_try = app.as_browser(&bob, Method::DELETE, &path, None).await;
        assert_eq!(bobs_try.status, StatusCode::NOT_FOUND);
        assert_eq!(me_status(&app, &bound).await, StatusCode::OK);

        let revoked = app.as_browser(&browser, Method::DELETE, &path, None).await;
        assert_eq!(revoked.status, StatusCode::NO_CONTENT);
        let refused = app.with_bearer(Method::GET, "/api/users/me", &bound, None).await;
        assert_eq!(
            (refused.status, refused.error_code().as_str()),
            (StatusCode::UNAUTHORIZED, "invalid_token")
        );
        assert_eq!(me_status(&app, &other_bound).await, StatusCode::UNAUTHORIZED);
        assert_eq!(
            me_status(&app, &unbound).await,
            StatusCode::OK,
            "a token of no device stays"
        );
        let left = listed(&app, &browser).await;
        assert_eq!(left.len(), 1);
        assert_eq!(left[0]["name"], "laptop");
        let devices = app.as_browser(&browser, Method::GET, "/api/devices", None).await;
        assert_eq!(devices.json(), json!([]));

        let again = app.as_browser(&browser, Method::DELETE, &path, None).await;
        assert_eq!(again.status, StatusCode::NOT_FOUND);
    }
);

on_both_engines!(a_device_revokes_itself_with_its_own_token, |app: TestApp| async move {
    let alice = app.create_user("alice", Role::Viewer).await;
    let handheld = device(&app, alice.id, "Retroid").await;
    let (_, token) = device_token(&app, alice.id, &handheld.id, "devices.read devices.write").await;
    let path = format!("/api/devices/{}", handheld.id);
    let revoked = app.with_bearer(Method::DELETE, &path, &token, None).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let after = app.with_bearer(Method::GET, "/api/devices", &token, None).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
});

on_both_engines!(devices_need_romms_device_scopes, |app: TestApp| async move {
    let (alice, browser) = app.signed_in("alice", Role::Viewer).await;
    let handheld = device(&app, alice.id, "Retroid").await;
    let (_, me_only) = token_with(&app, &browser, "t", &["me.read", "me.write"]).await;
    let list = app.with_bearer(Method::GET, "/api/devices", &me_only, None).await;
    assert_eq!(list.status, StatusCode::FORBIDDEN);
    assert!(list.json()["detail"].as_str().expect("detail").contains("devices.read"));
    let path = format!("/api/devices/{}", handheld.id);
    let delete = app.with_bearer(Method::DELETE, &path, &me_only, None).await;
    assert_eq!(delete.status, StatusCode::FORBIDDEN);
    let (_, reader) = token_with(&app, &browser, "r", &["devices.read"]).await;
    let delete = app.with_bearer(Method::DELETE, &path, &reader, None).await;
    assert_eq!(delete.status, StatusCode::FORBIDDEN, "deleting needs devices.write");
    assert_eq!(
        app.with_bearer(Method::GET, "/api/devices", &reader, None).await.status,
        StatusCode::OK
    );
});
