//! Logout ends what it names (SPEC 9): a bearer logout revokes its refresh
//! family; in the browser only `POST /logout` with the session's CSRF token
//! ends a session, and `GET`/`HEAD /logout` change nothing.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use romgate::auth::Role;

use crate::util::{Browser, PASSWORD, TestApp, TestResponse, enc, on_both_engines, request};

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

async fn me_status(app: &TestApp, browser: &Browser) -> StatusCode {
    app.get("/api/users/me", &[("cookie", &browser.cookie_header())])
        .await
        .status
}

/// Posts the logout form with `csrf_token` = `field` and these cookies.
async fn post_logout_form(app: &TestApp, cookie: &str, field: &str) -> TestResponse {
    let form = format!("csrf_token={}", enc(field));
    app.post_form("/logout", &[("cookie", cookie)], &form).await
}

on_both_engines!(
    bearer_logout_revokes_the_refresh_token_of_its_grant,
    |app: TestApp| async move {
        app.create_user("alice", Role::Viewer).await;
        let grant = app.token("alice", PASSWORD, "").await;
        let (access, refresh_token) = (field(&grant, "access_token"), field(&grant, "refresh_token"));
        // A second, unrelated grant of the same user is left alone.
        let other = app.token("alice", PASSWORD, "").await;

        let logout = app.with_bearer(Method::POST, "/api/logout", &access, None).await;
        assert_eq!(logout.status, StatusCode::OK, "{}", logout.text());

        let refreshed = refresh(&app, &refresh_token).await;
        assert_eq!(refreshed.status, StatusCode::BAD_REQUEST, "{}", refreshed.text());
        assert_eq!(refreshed.error_code(), "invalid_grant");
        let me = app.with_bearer(Method::GET, "/api/users/me", &access, None).await;
        assert_eq!(me.status, StatusCode::UNAUTHORIZED);
        let untouched = refresh(&app, &field(&other, "refresh_token")).await;
        assert_eq!(untouched.status, StatusCode::OK, "{}", untouched.text());
    }
);

#[tokio::test]
async fn bearer_logout_after_a_rotation_revokes_the_rotated_refresh_token() {
    let app = TestApp::new().await;
    app.create_user("alice", Role::Viewer).await;
    let grant = app.token("alice", PASSWORD, "").await;
    let rotated = refresh(&app, &field(&grant, "refresh_token")).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text());
    let access = field(&rotated, "access_token");
    let logout = app.with_bearer(Method::POST, "/api/logout", &access, None).await;
    assert_eq!(logout.status, StatusCode::OK);
    let again = refresh(&app, &field(&rotated, "refresh_token")).await;
    assert_eq!(again.error_code(), "invalid_grant", "{}", again.text());
}

#[tokio::test]
async fn get_and_head_logout_end_nothing_and_offer_a_sign_out_form() {
    let app = TestApp::new().await;
    let (_, browser) = app.signed_in("alice", Role::Viewer).await;
    let cookie = browser.cookie_header();

    let page = app.get("/logout", &[("cookie", &cookie)]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert!(page.set_cookie("romm_session").is_none(), "{:?}", page.headers);
    let html = page.text();
    assert!(html.contains(r#"<form method="post" action="/logout">"#), "{html}");
    let hidden = format!(r#"name="csrf_token" value="{}""#, browser.csrf);
    assert!(html.contains(&hidden), "the form carries the session's token: {html}");
    assert!(html.contains(r#"<button type="submit" class="primary">Sign out</button>"#));
    assert_eq!(me_status(&app, &browser).await, StatusCode::OK, "GET ended nothing");

    let head = app
        .send(request(Method::HEAD, "/logout", &[("cookie", &cookie)], Body::empty()))
        .await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.set_cookie("romm_session").is_none());
    assert_eq!(me_status(&app, &browser).await, StatusCode::OK, "HEAD ended nothing");

    let anonymous = app.get("/logout", &[]).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert_eq!(anonymous.header("location"), Some("/login"));
}

#[tokio::test]
async fn post_logout_needs_the_sessions_own_token() {
    let app = TestApp::new().await;
    let (_, browser) = app.signed_in("alice", Role::Viewer).await;
    let (_, bob) = app.signed_in("bob", Role::Viewer).await;
    let planted = format!("romm_session={}; romm_csrftoken=rgc_planted", browser.session);
    let refusals = [
        ("missing", browser.cookie_header(), String::new()),
        ("wrong", browser.cookie_header(), "rgc_wrong".to_string()),
        ("an equal pair it did not derive", planted, "rgc_planted".to_string()),
        ("another session's token", browser.cookie_header(), bob.csrf.clone()),
    ];
    for (what, cookie, token) in refusals {
        let refused = post_logout_form(&app, &cookie, &token).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{what}: {}", refused.text());
        assert!(
            refused
                .header("content-type")
                .unwrap_or_default()
                .starts_with("text/html")
        );
        assert!(refused.set_cookie("romm_session").is_none(), "{what}");
        assert_eq!(
            me_status(&app, &browser).await,
            StatusCode::OK,
            "{what}: session intact"
        );
    }

    let done = post_logout_form(&app, &browser.cookie_header(), &browser.csrf).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    assert_eq!(done.header("location"), Some("/login"));
    let cleared = done.set_cookie("romm_session").unwrap_or_default();
    assert!(cleared.contains("Max-Age=0"), "{cleared:?}");
    let next = done.cookie_value("romm_csrftoken").expect("a fresh anonymous token");
    assert_ne!(next, browser.csrf, "the ended session's token is not reused");
    assert_eq!(me_status(&app, &browser).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me_status(&app, &bob).await, StatusCode::OK, "only the own session ends");
}
