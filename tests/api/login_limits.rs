//! Failed-login limits: atomic under concurrency on both engines, and a
//! design that slows an attacker without locking the owner out for good
//! (see src/auth/login_limits.rs), with the administrator's ways to lift it.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use romgate::auth::Role;
use serde_json::json;

use crate::login_support::{login_from, parallel_wrong_logins, wrong_logins_from_many};
use crate::util::{PASSWORD, TestApp, on_both_engines, post_page_form};

/// Where the owner usually signs in from.
const HOME: &str = "198.51.100.7";
/// Somewhere the owner never signed in from.
const AWAY: &str = "192.0.2.80";

on_both_engines!(
    parallel_guesses_at_one_username_cost_at_most_its_limit,
    |app: TestApp| async move {
        app.create_user("alice", Role::Viewer).await;
        let app = Arc::new(app);
        let (checked, refused) = parallel_wrong_logins(&app, 60, |_| "alice".into()).await;
        // 10 failures per username and address (LOGIN_PER_USER_ADDRESS).
        assert_eq!(checked, 10, "password checks made; {refused} refused");
        let right = app.basic_login("alice", PASSWORD).await;
        assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
    }
);

on_both_engines!(
    parallel_guesses_from_one_address_cost_at_most_its_limit,
    |app: TestApp| async move {
        app.create_user("alice", Role::Viewer).await;
        let app = Arc::new(app);
        let (checked, refused) = parallel_wrong_logins(&app, 60, |n| format!("user{n}")).await;
        // 30 failures per address (LOGIN_PER_ADDRESS).
        assert_eq!(checked, 30, "password checks made; {refused} refused");
        let right = app.basic_login("alice", PASSWORD).await;
        assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
    }
);

#[tokio::test]
async fn correct_passwords_use_up_no_limit() {
    let app = TestApp::new().await;
    app.create_user("alice", Role::Viewer).await;
    for n in 0..35 {
        let ok = login_from(&app, HOME, "alice", PASSWORD).await;
        assert_eq!(ok.status, StatusCode::OK, "sign-in {n}");
    }
    let wrong = login_from(&app, HOME, "alice", "wrong-password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_ipv6_client_is_counted_by_its_64_network() {
    let app = TestApp::new().await;
    app.create_user("alice", Role::Viewer).await;
    let mut checked = 0;
    for n in 1..=40 {
        let peer = format!("2001:db8:5:6::{n:x}");
        let answer = login_from(&app, &peer, &format!("user{n}"), "wrong-password").await;
        checked += usize::from(answer.status == StatusCode::UNAUTHORIZED);
    }
    assert_eq!(checked, 30, "one /64 shares the per-address limit");
    let same_network = login_from(&app, "2001:db8:5:6::ffff", "alice", PASSWORD).await;
    assert_eq!(same_network.status, StatusCode::TOO_MANY_REQUESTS);
    let other_network = login_from(&app, "2001:db8:5:7::1", "alice", PASSWORD).await;
    assert_eq!(other_network.status, StatusCode::OK);
}

on_both_engines!(
    an_attacker_elsewhere_cannot_lock_the_owner_out,
    |app: TestApp| async move {
        app.create_user("alice", Role::Viewer).await;
        assert_eq!(login_from(&app, HOME, "alice", PASSWORD).await.status, StatusCode::OK);

        let (checked, _) = wrong_logins_from_many(&app, "alice", 6, 10).await;
        let home = login_from(&app, HOME, "alice", PASSWORD).await;
        assert_eq!(home.status, StatusCode::OK, "the owner, from home, gets in");
        // 20 failures per username from addresses that never signed in to it.
        assert_eq!(checked, 20, "guesses checked from six addresses");

        // From a new address the owner waits for the window, not for ever.
        let away = login_from(&app, AWAY, "alice", PASSWORD).await;
        assert_eq!(away.status, StatusCode::TOO_MANY_REQUESTS);
        app.clock.advance(901);
        assert_eq!(login_from(&app, AWAY, "alice", PASSWORD).await.status, StatusCode::OK);

        // Again and again: home stays open.
        wrong_logins_from_many(&app, "alice", 6, 10).await;
        assert_eq!(login_from(&app, HOME, "alice", PASSWORD).await.status, StatusCode::OK);
    }
);

on_both_engines!(
    administrators_unlock_a_username_on_the_users_page,
    |app: TestApp| async move {
        let alice = app.create_user("alice", Role::Viewer).await;
        let (_, admin) = app.signed_in("root", Role::Admin).await;
        let (_, viewer) = app.signed_in("vera", Role::Viewer).await;
        wrong_logins_from_many(&app, "alice", 3, 10).await;
        let locked = || async { login_from(&app, AWAY, "alice", PASSWORD).await.status };
        assert_eq!(locked().await, StatusCode::TOO_MANY_REQUESTS);

        let page = || async {
            let cookie = admin.cookie_header();
            let page = app.get("/admin/users", &[("cookie", &cookie)]).await;
            assert_eq!(page.status, StatusCode::OK);
            page.text()
        };
        let path = format!("/admin/users/{}/unlock", alice.id);
        let button = format!(r#"action="{path}""#);
        assert!(page().await.contains(&button), "an unlock button for alice");

        let forged = post_page_form(&app, &admin, &path, "rgc_wrong", "").await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "no CSRF token");
        let by_viewer = post_page_form(&app, &viewer, &path, &viewer.csrf, "").await;
        assert_eq!(by_viewer.status, StatusCode::FORBIDDEN, "a viewer");
        assert_eq!(locked().await, StatusCode::TOO_MANY_REQUESTS, "still locked");

        let done = post_page_form(&app, &admin, &path, &admin.csrf, "").await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
        assert_eq!(done.header("location"), Some("/admin/users"));
        assert!(!page().await.contains(&button), "nothing left to unlock");
        assert_eq!(locked().await, StatusCode::OK);
        let nobody = post_page_form(&app, &admin, "/admin/users/999999/unlock", &admin.csrf, "").await;
        assert_eq!(nobody.status, StatusCode::NOT_FOUND);
    }
);

on_both_engines!(
    a_password_set_by_an_administrator_lifts_the_limits,
    |app: TestApp| async move {
        let alice = app.create_user("alice", Role::Viewer).await;
        let (_, admin) = app.signed_in("root", Role::Admin).await;
        wrong_logins_from_many(&app, "alice", 3, 10).await;
        assert_eq!(
            login_from(&app, AWAY, "alice", PASSWORD).await.status,
            StatusCode::TOO_MANY_REQUESTS
        );
        let change = json!({"password": "a brand new password"});
        let path = format!("/api/users/{}", alice.id);
        let set = app.as_browser(&admin, Method::PUT, &path, Some(change)).await;
        assert_eq!(set.status, StatusCode::OK, "{}", set.text());
        let fresh = login_from(&app, AWAY, "alice", "a brand new password").await;
        assert_eq!(fresh.status, StatusCode::OK);
    }
);
