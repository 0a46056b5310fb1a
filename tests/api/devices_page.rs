//! The devices page (`/devices`), sessions half: a person sees their own
//! browser sessions by public id (this browser marked) and ends one, or,
//! after a confirmation, everything (sessions, access and refresh tokens,
//! client tokens and devices), with the form's CSRF token.

use axum::http::{Method, StatusCode};
use romgate::auth::Role;
use romgate::auth::tokens::TokenKind;

use crate::client_tokens_support::{device, device_token, token_with};
use crate::util::{Browser, PASSWORD, TestApp, TestResponse, enc, on_both_engines, post_page_form};

/// One listed session: its public id and whether it is marked as this
/// browser.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listed {
    id: String,
    current: bool,
}

async fn devices_page(app: &TestApp, browser: &Browser) -> TestResponse {
    let page = app.get("/devices", &[("cookie", &browser.cookie_header())]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    page
}

/// The sessions the page lists, in its order.
fn listed(page: &TestResponse) -> Vec<Listed> {
    let html = page.text();
    html.split("<tr")
        .skip(1)
        .filter_map(|row| {
            let start = row.find("/devices/sessions/")? + "/devices/sessions/".len();
            let id = row.get(start..)?.split('/').next()?.to_string();
            Some(Listed {
                id,
                current: row.contains("This browser"),
            })
        })
        .collect()
}

async fn sign_out_session(app: &TestApp, browser: &Browser, id: &str) -> TestResponse {
    let path = format!("/devices/sessions/{id}/sign-out");
    post_page_form(app, browser, &path, &browser.csrf, "").await
}

/// The confirmed "sign out everywhere" form.
async fn sign_out_everywhere(app: &TestApp, browser: &Browser) -> TestResponse {
    post_page_form(
        app,
        browser,
        "/devices/sign-out-everywhere",
        &browser.csrf,
        "confirm=yes",
    )
    .await
}

async fn me_status(app: &TestApp, browser: &Browser) -> StatusCode {
    app.get("/api/users/me", &[("cookie", &browser.cookie_header())])
        .await
        .status
}

fn field(response: &TestResponse, name: &str) -> String {
    response.json()[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} in {}", response.text()))
        .to_string()
}

async fn refresh(app: &TestApp, token: &str) -> TestResponse {
    let form = format!("grant_type=refresh_token&refresh_token={}", enc(token));
    app.post_form("/api/token", &[], &form).await
}

/// The answer ended the browser's session: cookie cleared, to the login page.
fn assert_signed_out(answer: &TestResponse) {
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
    assert_eq!(answer.header("location"), Some("/login"));
    assert_eq!(
        answer.cookie_value("romm_session").as_deref(),
        Some(""),
        "{:?}",
        answer.headers
    );
}

on_both_engines!(
    the_list_shows_only_ones_own_sessions_and_marks_this_browser,
    |app: TestApp| async move {
        let (_, here) = app.signed_in("alice", Role::Viewer).await;
        app.clock.advance(60);
        let there = app.login("alice", PASSWORD).await;
        let (_, bob) = app.signed_in("bob", Role::Viewer).await;

        let page = devices_page(&app, &here).await;
        let html = page.text();
        assert!(html.contains("<title>Devices and sessions · romgate</title>"), "{html}");
        let alice_sees = listed(&page);
        assert_eq!(alice_sees.len(), 2, "{html}");
        assert_eq!(alice_sees.iter().filter(|s| s.current).count(), 1, "{html}");
        assert!(!alice_sees[0].current, "newest first: the other browser's");
        assert!(alice_sees[1].current);
        assert!(
            html.contains("15 Jan 2027, 08:00 UTC") && html.contains("15 Jan 2027, 08:01 UTC"),
            "{html}"
        );

        let from_there = listed(&devices_page(&app, &there).await);
        assert_eq!(
            from_there.iter().map(|s| &s.id).collect::<Vec<_>>(),
            alice_sees.iter().map(|s| &s.id).collect::<Vec<_>>()
        );
        assert!(
            from_there[0].current && !from_there[1].current,
            "each browser is marked where it looks"
        );

        let bob_sees = listed(&devices_page(&app, &bob).await);
        assert_eq!(bob_sees.len(), 1);
        assert!(!alice_sees.iter().any(|s| s.id == bob_sees[0].id), "no one else's");

        // The page names no credential and no stored hash.
        let tokens = &app.state.auth.tokens;
        for browser in [&here, &there, &bob] {
            let hash = tokens
                .hash(TokenKind::Session, &browser.session)
                .expect("a session token");
            assert!(!html.contains(&browser.session) && !html.contains(&hash));
            assert!(alice_sees.iter().chain(&bob_sees).all(|s| !hash.contains(&s.id)));
        }
    }
);

on_both_engines!(
    another_persons_session_id_is_not_found_and_ends_nothing,
    |app: TestApp| async move {
        let (_, alice) = app.signed_in("alice", Role::Viewer).await;
        let (bob_user, bob) = app.signed_in("bob", Role::Viewer).await;
        let bob_id = listed(&devices_page(&app, &bob).await)[0].id.clone();

        let refused = sign_out_session(&app, &alice, &bob_id).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.text());
        assert!(refused.set_cookie("romm_session").is_none(), "alice stays signed in");
        assert_eq!(me_status(&app, &bob).await, StatusCode::OK, "bob's session lives on");
        assert_eq!(me_status(&app, &alice).await, StatusCode::OK);
        assert_eq!(
            app.store().count_sessions(bob_user.id, app.now()).await.expect("count"),
            1
        );

        for garbage in ["nope", "00000000000000000000", "%2e%2e"] {
            let refused = sign_out_session(&app, &alice, garbage).await;
            assert_eq!(refused.status, StatusCode::NOT_FOUND, "{garbage}: {}", refused.text());
        }
    }
);

on_both_engines!(signing_out_a_session_ends_it_at_once, |app: TestApp| async move {
    let (alice_user, here) = app.signed_in("alice", Role::Viewer).await;
    let there = app.login("alice", PASSWORD).await;
    let sessions = listed(&devices_page(&app, &here).await);
    let other = sessions
        .iter()
        .find(|s| !s.current)
        .expect("the other browser")
        .id
        .clone();
    let mine = sessions.iter().find(|s| s.current).expect("this browser").id.clone();

    let ended = sign_out_session(&app, &here, &other).await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER, "{}", ended.text());
    assert_eq!(ended.header("location"), Some("/devices?done=session"));
    assert!(
        ended.set_cookie("romm_session").is_none(),
        "this browser stays signed in"
    );
    assert_eq!(me_status(&app, &there).await, StatusCode::UNAUTHORIZED, "ended at once");
    assert_eq!(me_status(&app, &here).await, StatusCode::OK);
    let after = app
        .get("/devices?done=session", &[("cookie", &here.cookie_header())])
        .await;
    assert_eq!(listed(&after).len(), 1);
    assert!(after.text().contains("That session is signed out."));
    let again = sign_out_session(&app, &here, &other).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);

    // Signing out this browser's own session is a sign-out.
    assert_signed_out(&sign_out_session(&app, &here, &mine).await);
    assert_eq!(me_status(&app, &here).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.store()
            .count_sessions(alice_user.id, app.now())
            .await
            .expect("count"),
        0
    );
});

on_both_engines!(
    sign_out_everywhere_ends_every_session_and_token_of_the_person,
    |app: TestApp| async move {
        let (alice_user, here) = app.signed_in("alice", Role::Viewer).await;
        let there = app.login("alice", PASSWORD).await;
        let grant = app.token("alice", PASSWORD, "").await;
        let (access, refresh_token) = (field(&grant, "access_token"), field(&grant, "refresh_token"));
        let (_, app_token) = token_with(&app, &here, "Playnite", &["me.read"]).await;
        let tv = device(&app, alice_user.id, "TV downstairs").await;
        let (_, tv_token) = device_token(&app, alice_user.id, &tv.id, "me.read").await;
        let (bob_user, bob) = app.signed_in("bob", Role::Viewer).await;
        let bob_grant = app.token("bob", PASSWORD, "").await;
        let (_, bob_app_token) = token_with(&app, &bob, "Bob's script", &["me.read"]).await;
        let bobs_tv = device(&app, bob_user.id, "Bob's TV").await;
        let (_, bob_tv_token) = device_token(&app, bob_user.id, &bobs_tv.id, "me.read").await;

        assert_signed_out(&sign_out_everywhere(&app, &here).await);

        assert_eq!(me_status(&app, &here).await, StatusCode::UNAUTHORIZED);
        assert_eq!(me_status(&app, &there).await, StatusCode::UNAUTHORIZED);
        let me = app.with_bearer(Method::GET, "/api/users/me", &access, None).await;
        assert_eq!(me.status, StatusCode::UNAUTHORIZED, "the access token ended");
        let refreshed = refresh(&app, &refresh_token).await;
        assert_eq!(refreshed.error_code(), "invalid_grant", "{}", refreshed.text());
        assert_eq!(
            app.store()
                .count_sessions(alice_user.id, app.now())
                .await
                .expect("count"),
            0
        );

        for token in [&app_token, &tv_token] {
            let me = app.with_bearer(Method::GET, "/api/users/me", token, None).await;
            assert_eq!(me.status, StatusCode::UNAUTHORIZED, "client tokens are revoked too");
        }
        assert!(
            app.store()
                .client_tokens_of(alice_user.id)
                .await
                .expect("tokens")
                .is_empty()
        );
        assert!(app.store().devices_of(alice_user.id).await.expect("devices").is_empty());

        assert_eq!(me_status(&app, &bob).await, StatusCode::OK, "nobody else is touched");
        for token in [&bob_app_token, &bob_tv_token] {
            let me = app.with_bearer(Method::GET, "/api/users/me", token, None).await;
            assert_eq!(me.status, StatusCode::OK);
        }
        assert_eq!(app.store().devices_of(bob_user.id).await.expect("devices").len(), 1);
        let bob_me = app
            .with_bearer(Method::GET, "/api/users/me", &field(&bob_grant, "access_token"), None)
            .await;
        assert_eq!(bob_me.status, StatusCode::OK);
        app.login("alice", PASSWORD).await;
    }
);

on_both_engines!(
    sign_out_everywhere_asks_first_and_an_unconfirmed_post_ends_nothing,
    |app: TestApp| async move {
        let (alice_user, here) = app.signed_in("alice", Role::Viewer).await;
        let (_, app_token) = token_with(&app, &here, "Playnite", &["me.read"]).await;
        let tv = device(&app, alice_user.id, "TV downstairs").await;
        device_token(&app, alice_user.id, &tv.id, "me.read").await;

        let page = devices_page(&app, &here).await.text();
        assert!(
            page.contains(r#"<a class="button danger" href="/devices/sign-out-everywhere">"#),
            "{page}"
        );
        let question = app
            .get("/devices/sign-out-everywhere", &[("cookie", &here.cookie_header())])
            .await;
        assert_eq!(question.status, StatusCode::OK, "{}", question.text());
        let html = question.text();
        assert!(html.contains("<h1>Sign out everywhere?</h1>"), "{html}");
        assert!(html.contains("revokes every device and app token"), "{html}");
        assert!(html.contains(r#"<input type="hidden" name="confirm" value="yes">"#));
        assert!(html.contains(r#"action="/devices/sign-out-everywhere""#));

        for fields in ["", "confirm=no"] {
            let unconfirmed = post_page_form(&app, &here, "/devices/sign-out-everywhere", &here.csrf, fields).await;
            assert_eq!(unconfirmed.status, StatusCode::SEE_OTHER, "{fields}");
            assert_eq!(unconfirmed.header("location"), Some("/devices/sign-out-everywhere"));
            assert!(unconfirmed.set_cookie("romm_session").is_none());
        }
        assert_eq!(me_status(&app, &here).await, StatusCode::OK, "nothing ended");
        let me = app.with_bearer(Method::GET, "/api/users/me", &app_token, None).await;
        assert_eq!(me.status, StatusCode::OK);
        assert_eq!(app.store().devices_of(alice_user.id).await.expect("devices").len(), 1);

        let anonymous = app.get("/devices/sign-out-everywhere", &[]).await;
        assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    }
);

#[tokio::test]
async fn the_forms_are_refused_without_their_csrf_token() {
    let app = TestApp::new().await;
    let (_, here) = app.signed_in("alice", Role::Viewer).await;
    let there = app.login("alice", PASSWORD).await;
    let other = listed(&devices_page(&app, &here).await)
        .into_iter()
        .find(|s| !s.current)
        .expect("the other browser")
        .id;
    let path = format!("/devices/sessions/{other}/sign-out");
    let cookie = here.cookie_header();
    for form in [
        "confirm=yes",
        "csrf_token=&confirm=yes",
        "csrf_token=rgc_forged&confirm=yes",
    ] {
        for action in [path.as_str(), "/devices/sign-out-everywhere"] {
            let refused = app.post_form(action, &[("cookie", &cookie)], form).await;
            assert_eq!(
                refused.status,
                StatusCode::FORBIDDEN,
                "{action} {form:?}: {}",
                refused.text()
            );
            assert!(refused.text().contains("csrf_failed"), "{}", refused.text());
        }
    }
    // Another session's token is not this one's.
    let refused = post_page_form(&app, &here, "/devices/sign-out-everywhere", &there.csrf, "confirm=yes").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(me_status(&app, &here).await, StatusCode::OK);
    assert_eq!(me_status(&app, &there).await, StatusCode::OK);
}

#[tokio::test]
async fn the_page_needs_a_sign_in_and_the_navigation_leads_there() {
    let app = TestApp::new().await;
    let anonymous = app.get("/devices", &[]).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert_eq!(anonymous.header("location"), Some("/login?next=%2Fdevices"));
    let refused = app.post_form("/devices/sign-out-everywhere", &[], "csrf_token=x").await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER, "{}", refused.text());

    let (_, browser) = app.signed_in("alice", Role::Viewer).await;
    let home = app.get("/", &[("cookie", &browser.cookie_header())]).await;
    assert!(
        home.text().contains(r#"<a href="/devices">Devices</a>"#),
        "{}",
        home.text()
    );
    let account = app.get("/account", &[("cookie", &browser.cookie_header())]).await;
    assert!(account.text().contains(r#"href="/devices""#));
}
