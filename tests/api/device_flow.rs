//! RomM's device sign-in, `/api/auth/device/*` (SPEC 8.3): a device starts
//! and polls, a signed-in person approves or denies.

use axum::http::{Method, StatusCode};
use romgate::auth::Role;
use serde_json::json;

use crate::client_tokens_support::token_with;
use crate::device_support::{
    approve, approve_with, deny, init_body, pending, poll, refusal, signed_in_device, start, start_as,
};
use crate::util::{START, TestApp, on_both_engines};

on_both_engines!(init_answers_with_romms_fields, |app: TestApp| async move {
    let response = app
        .post_json(
            "/api/auth/device/init",
            &[],
            init_body("tv-1", &["me.read", "roms.read"]),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let json = response.json();
    let device_code = json["device_code"].as_str().expect("device_code");
    assert_eq!(device_code.len(), 64);
    assert!(device_code.bytes().all(|b| b.is_ascii_hexdigit()));
    let user_code = json["user_code"].as_str().expect("user_code");
    assert_eq!(user_code.len(), 8);
    assert!(
        user_code
            .bytes()
            .all(|b| b"ABCDEFGHJKMNPQRSTUVWXYZ23456789".contains(&b)),
        "{user_code}"
    );
    assert_eq!(json["verification_path"], "/pair/device");
    assert_eq!(
        json["verification_path_complete"],
        format!("/pair/device?user_code={user_code}")
    );
    assert_eq!(
        (json["expires_in"].as_i64(), json["interval"].as_i64()),
        (Some(600), Some(5))
    );
    let again = start(&app, &["me.read"]).await;
    assert_ne!(again.device_code, device_code);
});

on_both_engines!(init_refuses_bad_fields_and_unknown_scopes, |app: TestApp| async move {
    let long = "x".repeat(256);
    let cases = [
        (
            json!({"name": "TV", "client": "app", "requested_scopes": ["me.read"]}),
            "invalid_request",
        ),
        (init_body("", &["me.read"]), "invalid_request"),
        (init_body(&long, &["me.read"]), "invalid_request"),
        (
            json!({"client_device_identifier": "d", "name": "TV", "client": "x".repeat(51), "requested_scopes": ["me.read"]}),
            "invalid_request",
        ),
        (
            json!({"client_device_identifier": "d", "name": "TV", "client": "app", "platform": "p".repeat(51), "requested_scopes": ["me.read"]}),
            "invalid_request",
        ),
        (init_body("d", &[]), "invalid_scope"),
        (init_body("d", &["me.read", "rooms.read"]), "invalid_scope"),
    ];
    for (body, code) in cases {
        let response = app.post_json("/api/auth/device/init", &[], body.clone()).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{body}: {}", response.text());
        assert_eq!(response.error_code(), code, "{body}");
    }
    let unknown = app
        .post_json("/api/auth/device/init", &[], init_body("d", &["rooms.read"]))
        .await;
    assert!(unknown.text().contains("rooms.read"), "names the unknown scope");
});

on_both_engines!(init_is_limited_per_address, |app: TestApp| async move {
    for n in 0..10 {
        start_as(&app, &format!("device-{n}"), &["me.read"]).await;
    }
    let refused = app
        .post_json("/api/auth/device/init", &[], init_body("one-more", &["me.read"]))
        .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.text());
    assert!(refused.header("retry-after").is_some());
    app.clock.advance(61);
    start(&app, &["me.read"]).await;
});

on_both_engines!(
    pending_shows_what_the_device_asks_and_the_role_allows,
    |app: TestApp| async move {
        let (_, viewer) = app.signed_in("alice", Role::Viewer).await;
        let started = start(&app, &["roms.write", "me.read", "roms.read"]).await;
        // Dashes, spaces and case do not matter.
        let (a, b) = started.user_code.split_at(4);
        let typed = format!("{}-{}", a.to_lowercase(), b);
        let response = pending(&app, &viewer, &typed).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        let json = response.json();
        assert_eq!(json["client_device_identifier"], "tv-1234");
        assert_eq!(
            (json["name"].as_str(), json["client"].as_str()),
            (Some("Living room TV"), Some("argosy"))
        );
        assert_eq!(
            (json["platform"].as_str(), json["client_version"].as_str()),
            (Some("android"), Some("1.4.2"))
        );
        assert_eq!(json["requested_scopes"], json!(["me.read", "roms.read", "roms.write"]));
        assert_eq!(json["allowed_scopes"], json!(["me.read", "roms.read"]));
        assert_eq!(
            json["expires_at"],
            romgate::clock::format_time(START + 600),
            "RFC 3339, ten minutes after the start"
        );
        let unknown = pending(&app, &viewer, "ABCDEFGH").await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        let malformed = pending(&app, &viewer, "not-a-code!").await;
        assert_eq!(malformed.status, StatusCode::NOT_FOUND);
        let anonymous = app
            .get(&format!("/api/auth/device/pending/{}", started.user_code), &[])
            .await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    }
);

on_both_engines!(
    approving_beyond_the_role_or_nothing_is_forbidden,
    |app: TestApp| async move {
        let (_, viewer) = app.signed_in("alice", Role::Viewer).await;
        let started = start(&app, &["me.read", "roms.read", "roms.write"]).await;
        for scopes in [
            vec!["me.read", "roms.write"],
            vec![],
            vec!["platforms.read"],
            vec!["no.such"],
        ] {
            let response = approve(&app, &viewer, &started.user_code, &scopes).await;
            assert_eq!(
                response.status,
                StatusCode::FORBIDDEN,
                "{scopes:?}: {}",
                response.text()
            );
        }
        assert_eq!(
            refusal(&poll(&app, &started.device_code).await),
            "authorization_pending"
        );
        let bad_expiry = approve_with(
            &app,
            &viewer,
            json!({"user_code": started.user_code, "approved_scopes": ["me.read"], "expires_in": "2w"}),
        )
        .await;
        assert_eq!(bad_expiry.status, StatusCode::BAD_REQUEST);
        // An editor may grant roms.write.
        let (_, editor) = app.signed_in("eddie", Role::Editor).await;
        let granted = approve(&app, &editor, &started.user_code, &["roms.write"]).await;
        assert_eq!(granted.status, StatusCode::OK, "{}", granted.text());
    }
);

on_both_engines!(
    /// Approving a device makes a client token: it counts against the same
    /// 25 per person as the tokens page, and a refused approval leaves the
    /// flow pending.
    approvals_respect_the_token_limit,
    |app: TestApp| async move {
        let (_, alice) = app.signed_in("alice", Role::Viewer).await;
        let mut first = None;
        for n in 0..25 {
            let (id, _) = token_with(&app, &alice, &format!("t{n}"), &["me.read"]).await;
            first.get_or_insert(id);
        }
        let started = start(&app, &["me.read"]).await;
        let over = approve(&app, &alice, &started.user_code, &["me.read"]).await;
        assert_eq!(over.status, StatusCode::BAD_REQUEST, "{}", over.text());
        assert_eq!(over.error_code(), "token_limit_reached");
        assert_eq!(
            refusal(&poll(&app, &started.device_code).await),
            "authorization_pending"
        );
        let path = format!("/api/client-tokens/{}", first.expect("a token"));
        let deleted = app.as_browser(&alice, Method::DELETE, &path, None).await;
        assert!(deleted.status.is_success(), "{}", deleted.text());
        let approved = approve(&app, &alice, &started.user_code, &["me.read"]).await;
        assert_eq!(approved.status, StatusCode::OK, "{}", approved.text());
    }
);

on_both_engines!(a_decided_code_is_gone, |app: TestApp| async move {
    let (_, alice) = app.signed_in("alice", Role::Viewer).await;
    let started = start(&app, &["me.read"]).await;
    let first = approve(&app, &alice, &started.user_code, &["me.read"]).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    let again = approve(&app, &alice, &started.user_code, &["me.read"]).await;
    assert_eq!(again.status, StatusCode::GONE, "{}", again.text());
    assert_eq!(again.error_code(), "already_decided");
    assert_eq!(deny(&app, &alice, &started.user_code).await.status, StatusCode::GONE);
    assert_eq!(pending(&app, &alice, &started.user_code).await.status, StatusCode::GONE);
});

on_both_engines!(a_denied_device_hears_access_denied, |app: TestApp| async move {
    let (_, alice) = app.signed_in("alice", Role::Viewer).await;
    let started = start(&app, &["me.read"]).await;
    let denied = deny(&app, &alice, &started.user_code.to_lowercase()).await;
    assert_eq!(denied.status, StatusCode::OK, "{}", denied.text());
    assert_eq!(denied.json(), serde_json::Value::Null);
    assert_eq!(refusal(&poll(&app, &started.device_code).await), "access_denied");
    let late = approve(&app, &alice, &started.user_code, &["me.read"]).await;
    assert_eq!(late.status, StatusCode::GONE);
    assert_eq!(deny(&app, &alice, "ABCDEFGH").await.status, StatusCode::NOT_FOUND);
});

on_both_engines!(
    polling_faster_than_the_interval_is_told_to_slow_down,
    |app: TestApp| async move {
        let started = start(&app, &["me.read"]).await;
        let first = poll(&app, &started.device_code).await;
        assert_eq!(refusal(&first), "authorization_pending");
        assert_eq!(first.json()["error"], "authorization_pending");
        assert_eq!(first.header("cache-control"), Some("no-store"));
        app.clock.advance(4);
        assert_eq!(refusal(&poll(&app, &started.device_code).await), "slow_down");
        app.clock.advance(5);
        assert_eq!(
            refusal(&poll(&app, &started.device_code).await),
            "authorization_pending"
        );
        app.clock.advance(5);
        assert_eq!(
            refusal(&poll(&app, &started.device_code).await),
            "authorization_pending"
        );
        assert_eq!(refusal(&poll(&app, "0".repeat(64).as_str()).await), "expired_token");
        let missing = app.post_json("/api/auth/device/token", &[], json!({})).await;
        assert_eq!(missing.status, StatusCode::BAD_REQUEST);
        assert_eq!(missing.error_code(), "invalid_request");
    }
);

on_both_engines!(an_expired_flow_is_expired_and_unknown, |app: TestApp| async move {
    let (_, alice) = app.signed_in("alice", Role::Viewer).await;
    let started = start(&app, &["me.read"]).await;
    app.clock.advance(599);
    assert_eq!(pending(&app, &alice, &started.user_code).await.status, StatusCode::OK);
    app.clock.advance(1);
    assert_eq!(refusal(&poll(&app, &started.device_code).await), "expired_token");
    assert_eq!(
        pending(&app, &alice, &started.user_code).await.status,
        StatusCode::NOT_FOUND
    );
    let late = approve(&app, &alice, &started.user_code, &["me.read"]).await;
    assert_eq!(late.status, StatusCode::NOT_FOUND);
    // Approved but never collected in time: expired too.
    let collected_late = start(&app, &["me.read"]).await;
    let approved = approve(&app, &alice, &collected_late.user_code, &["me.read"]).await;
    assert_eq!(approved.status, StatusCode::OK);
    app.clock.advance(600);
    assert_eq!(refusal(&poll(&app, &collected_late.device_code).await), "expired_token");
});

on_both_engines!(
    the_issued_token_has_exactly_the_approved_scopes,
    |app: TestApp| async move {
        let (alice, browser) = app.signed_in("alice", Role::Viewer).await;
        let started = start(&app, &["me.read", "me.write", "roms.read"]).await;
        let approved = approve_with(
            &app,
            &browser,
            json!({"user_code": started.user_code, "approved_scopes": ["me.read", "roms.read"],
               "device_name": "Alice's TV", "expires_in": "30d"}),
        )
        .await;
        assert_eq!(approved.status, StatusCode::OK, "{}", approved.text());
        assert_eq!(approved.json()["device_name"], "Alice's TV");
        let device_id = approved.json()["device_id"].as_str().expect("device_id").to_string();
        let token = poll(&app, &started.device_code).await;
        assert_eq!(token.status, StatusCode::OK, "{}", token.text());
        assert_eq!(token.header("cache-control"), Some("no-store"));
        let json = token.json();
        let access = json["access_token"].as_str().expect("access_token");
        assert!(access.starts_with("rmm_") && access.len() == 68, "{access}");
        assert_eq!(json["device_id"], device_id.as_str());
        assert_eq!(json["scopes"], json!(["me.read", "roms.read"]));
        assert_eq!(json["expires_at"], romgate::clock::format_time(START + 30 * 86_400));
        let me = app.with_bearer(Method::GET, "/api/users/me", access, None).await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.text());
        assert_eq!(me.json()["username"], "alice");
        let roms = app.with_bearer(Method::GET, "/api/roms", access, None).await;
        assert_ne!(
            roms.status,
            StatusCode::FORBIDDEN,
            "roms.read was granted: {}",
            roms.text()
        );
        let edit = app
            .with_bearer(
                Method::PUT,
                &format!("/api/users/{}", alice.id),
                access,
                Some(json!({"email": "new@example.com"})),
            )
            .await;
        assert_eq!(edit.status, StatusCode::FORBIDDEN, "me.write was not granted");
        let platforms = app.with_bearer(Method::GET, "/api/platforms", access, None).await;
        assert_eq!(
            platforms.status,
            StatusCode::FORBIDDEN,
            "platforms.read was not asked for"
        );
        // Collected once: the next poll learns nothing more.
        assert_eq!(refusal(&poll(&app, &started.device_code).await), "expired_token");
    }
);

on_both_engines!(
    approving_the_same_device_again_keeps_its_id,
    |app: TestApp| async move {
        let (_, browser) = app.signed_in("alice", Role::Viewer).await;
        let first = signed_in_device(&app, &browser, &["me.read"], &["me.read"]).await;
        let second = signed_in_device(&app, &browser, &["me.read"], &["me.read"]).await;
        assert_eq!(first["device_id"], second["device_id"]);
        assert_ne!(first["access_token"], second["access_token"]);
        assert_eq!(first["expires_at"], serde_json::Value::Null, "no expiry given: never");
        let (_, bob) = app.signed_in("bob", Role::Viewer).await;
        let other = signed_in_device(&app, &bob, &["me.read"], &["me.read"]).await;
        assert_ne!(other["device_id"], first["device_id"], "devices are per person");
    }
);

on_both_engines!(exactly_one_poll_receives_the_token, |app: TestApp| async move {
    let (_, browser) = app.signed_in("alice", Role::Viewer).await;
    let started = start(&app, &["me.read"]).await;
    let approved = approve(&app, &browser, &started.user_code, &["me.read"]).await;
    assert_eq!(approved.status, StatusCode::OK);
    let app = std::sync::Arc::new(app);
    let mut polls = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (app, code) = (app.clone(), started.device_code.clone());
        polls.spawn(async move { poll(&app, &code).await });
    }
    let mut tokens = Vec::new();
    let mut refused = 0;
    while let Some(answer) = polls.join_next().await {
        let answer = answer.expect("poll task");
        if answer.status == StatusCode::OK {
            tokens.push(answer.json()["access_token"].as_str().expect("token").to_string());
        } else {
            assert_eq!(refusal(&answer), "expired_token");
            refused += 1;
        }
    }
    assert_eq!((tokens.len(), refused), (1, 7));
    let me = app.with_bearer(Method::GET, "/api/users/me", &tokens[0], None).await;
    assert_eq!(me.status, StatusCode::OK);
});

on_both_engines!(two_approvals_at_once_decide_once, |app: TestApp| async move {
    let (_, browser) = app.signed_in("alice", Role::Viewer).await;
    let started = start(&app, &["me.read"]).await;
    let (first, second) = tokio::join!(
        approve(&app, &browser, &started.user_code, &["me.read"]),
        approve(&app, &browser, &started.user_code, &["me.read"]),
    );
    let mut statuses = [first.status, second.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::GONE]);
});

on_both_engines!(each_endpoint_answers_only_its_own_flows, |app: TestApp| async move {
    let form = "client_id=kodi&scope=me.read";
    let rfc = app.post_form("/api/oauth/device_authorization", &[], form).await;
    assert_eq!(rfc.status, StatusCode::OK, "{}", rfc.text());
    let rfc_code = rfc.json()["device_code"].as_str().expect("device_code").to_string();
    assert_eq!(refusal(&poll(&app, &rfc_code).await), "expired_token");
    let romm = start(&app, &["me.read"]).await;
    let grant = format!(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id=kodi&device_code={}",
        romm.device_code
    );
    let refused = app.post_form("/api/token", &[], &grant).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.error_code(), "invalid_grant");
});

#[tokio::test]
async fn decisions_write_sign_in_log_lines() {
    let logs = crate::log_capture::LogCapture::start();
    let app = TestApp::new().await;
    let (_, browser) = app.signed_in("alice", Role::Viewer).await;
    let approved = start(&app, &["me.read"]).await;
    approve(&app, &browser, &approved.user_code, &["me.read"]).await;
    let line = logs.line("result=success method=device_approval");
    assert!(
        line.contains(r#"user="alice""#) && line.contains("client=unknown"),
        "{line}"
    );
    let denied = start(&app, &["me.read"]).await;
    deny(&app, &browser, &denied.user_code).await;
    logs.line("result=declined method=device_approval");
    approve(&app, &browser, &denied.user_code, &["me.read"]).await;
    let refused = logs.line("reason=already_decided");
    assert!(refused.contains("result=failure method=device_approval"), "{refused}");
    for code in [&approved.user_code, &denied.user_code, &approved.device_code] {
        assert!(!logs.text().contains(code.as_str()), "no code is logged");
    }
}

/// Device sign-ins started from one IPv6 /48 are limited as a whole too:
/// its 65,536 /64s, each counted on its own, would otherwise start that
/// many times as many (each a row for ten minutes).
#[tokio::test]
async fn starts_from_one_ipv6_network_are_limited_as_a_whole() {
    use std::net::SocketAddr;

    use axum::extract::ConnectInfo;

    let app = TestApp::new().await;
    let start_from = |peer: String| {
        let mut req = crate::util::request(
            Method::POST,
            "/api/auth/device/init",
            &[("content-type", "application/json")],
            axum::body::Body::from(init_body(&peer, &["me.read"]).to_string()),
        );
        let addr = SocketAddr::new(peer.parse().expect("address"), 40000);
        req.extensions_mut().insert(ConnectInfo(addr));
        app.send(req)
    };
    let network_limit = 10 * romgate::auth::rate_limit::NETWORK_FACTOR;
    for subnet in 0..network_limit {
        // A /64 of its own each time, all in 2001:db8:7::/48.
        let started = start_from(format!("2001:db8:7:{subnet:x}::1")).await;
        assert_eq!(started.status, StatusCode::CREATED, "{subnet}: {}", started.text());
    }
    let limited = start_from("2001:db8:7:ffff::1".to_string()).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS, "{}", limited.text());
    let elsewhere = start_from("2001:db8:8::1".to_string()).await;
    assert_eq!(
        elsewhere.status,
        StatusCode::CREATED,
        "another /48: {}",
        elsewhere.text()
    );
}

/// Polls from one address are limited (RomM's 60 a minute), whatever code
/// they name; another address, and the same one a minute later, poll on.
#[tokio::test]
async fn polls_are_limited_per_address() {
    use std::net::SocketAddr;

    use axum::extract::ConnectInfo;

    let app = TestApp::new().await;
    let poll_from = |peer: &str| {
        let mut req = crate::util::request(
            Method::POST,
            "/api/auth/device/token",
            &[("content-type", "application/json")],
            axum::body::Body::from(json!({"device_code": "not-a-code"}).to_string()),
        );
        let addr = SocketAddr::new(peer.parse().expect("address"), 40000);
        req.extensions_mut().insert(ConnectInfo(addr));
        app.send(req)
    };
    for _ in 0..60 {
        assert_eq!(refusal(&poll_from("192.0.2.7").await), "expired_token");
    }
    let limited = poll_from("192.0.2.7").await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS, "{}", limited.text());
    assert!(limited.header("retry-after").is_some());
    assert_eq!(refusal(&poll_from("198.51.100.9").await), "expired_token");
    app.clock.advance(61);
    assert_eq!(refusal(&poll_from("192.0.2.7").await), "expired_token");
}
