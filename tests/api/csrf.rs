//! CSRF for cookie-authenticated unsafe requests: the token is bound to the
//! session (double submit only before there is one).

use axum::body::Body;
use axum::http::{Method, StatusCode};
use romgate::auth::Role;
use serde_json::json;

use crate::util::{PASSWORD, TestApp, enc, request};

#[tokio::test]
async fn cookie_sessions_need_the_csrf_header_for_unsafe_methods() {
    let app = TestApp::new().await;
    let (alice, browser) = app.signed_in("alice", Role::Viewer).await;
    let path = format!("/api/users/{}", alice.id);
    let body = json!({"email": "changed@example.com"}).to_string();
    let cookie = browser.cookie_header();
    let cases: &[(&str, Option<&str>)] = &[("missing", None), ("wrong", Some("another-token")), ("empty", Some(""))];
    for (what, header) in cases {
        let mut headers = vec![("cookie", cookie.as_str()), ("content-type", "application/json")];
        if let Some(header) = header {
            headers.push(("x-csrftoken", header));
        }
        let response = app
            .send(request(Method::PUT, &path, &headers, Body::from(body.clone())))
            .await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{what}");
        assert_eq!(response.error_code(), "csrf_failed");
    }
    let unchanged = app.store().find_user(alice.id).await.expect("query").expect("user");
    assert_eq!(unchanged.email.as_deref(), Some("alice@example.com"));
    // Safe methods need no token; the matching header passes.
    assert_eq!(
        app.get("/api/users/me", &[("cookie", &cookie)]).await.status,
        StatusCode::OK
    );
    let ok = app
        .as_browser(
            &browser,
            Method::PUT,
            &path,
            Some(json!({"email": "changed@example.com", "current_password": crate::util::PASSWORD})),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
}

#[tokio::test]
async fn logout_by_cookie_needs_the_token_too() {
    let app = TestApp::new().await;
    let (_, browser) = app.signed_in("alice", Role::Viewer).await;
    let cookie = format!("romm_session={}", browser.session);
    let response = app.post("/api/logout", &[("cookie", &cookie)], Body::empty()).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/api/users/me", &[("cookie", &cookie)]).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn bearer_requests_and_the_token_endpoint_are_exempt() {
    let app = TestApp::new().await;
    let alice = app.create_user("alice", Role::Viewer).await;
    let token = app.token("alice", crate::util::PASSWORD, "").await;
    assert_eq!(token.status, StatusCode::OK, "no CSRF token needed on /api/token");
    let access = token.json()["access_token"].as_str().expect("token").to_string();
    let path = format!("/api/users/{}", alice.id);
    let response = app
        .with_bearer(
            Method::PUT,
            &path,
            &access,
            Some(json!({"email": "b@example.com", "current_password": crate::util::PASSWORD})),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK);
}

#[tokio::test]
async fn disable_csrf_protection_turns_the_check_off() {
    let app = TestApp::builder().env("DISABLE_CSRF_PROTECTION", "true").build().await;
    let (_, browser) = app.signed_in("alice", Role::Viewer).await;
    let cookie = format!("romm_session={}", browser.session);
    let response = app.post("/api/logout", &[("cookie", &cookie)], Body::empty()).await;
    assert_eq!(response.status, StatusCode::OK);
}

#[tokio::test]
async fn browsers_get_a_readable_csrf_cookie() {
    let app = TestApp::new().await;
    let response = app.get("/api/heartbeat", &[]).await;
    let cookie = response.set_cookie("romm_csrftoken").expect("csrf cookie");
    assert!(!cookie.contains("HttpOnly"), "script must read it: {cookie}");
    assert!(cookie.contains("SameSite=Lax"));
    let with_bearer = app.get("/api/heartbeat", &[("authorization", "Bearer x")]).await;
    assert!(with_bearer.set_cookie("romm_csrftoken").is_none());
}

/// `POST /api/logout` as a browser with these cookies and this header.
async fn logout_with(app: &TestApp, cookie: &str, header: &str) -> crate::util::TestResponse {
    app.post(
        "/api/logout",
        &[("cookie", cookie), ("x-csrftoken", header)],
        Body::empty(),
    )
    .await
}

#[tokio::test]
async fn an_equal_pair_not_derived_from_the_session_is_refused() {
    let app = TestApp::new().await;
    let (_, browser) = app.signed_in("alice", Role::Viewer).await;
    let (_, bob) = app.signed_in("bob", Role::Viewer).await;
    // A sibling site can plant any romm_csrftoken cookie and make the page
    // echo it, but it cannot compute the token bound to alice's session.
    let pairs = [("planted", "rgc_planted".to_string()), ("bob's", bob.csrf.clone())];
    for (what, token) in pairs {
        let cookie = format!("romm_session={}; romm_csrftoken={token}", browser.session);
        let response = logout_with(&app, &cookie, &token).await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{what}");
        assert_eq!(response.error_code(), "csrf_failed");
        // The answer hands the browser its session's real token instead.
        assert_eq!(
            response.cookie_value("romm_csrftoken").as_deref(),
            Some(browser.csrf.as_str())
        );
        let me = app.get("/api/users/me", &[("cookie", &browser.cookie_header())]).await;
        assert_eq!(me.status, StatusCode::OK, "{what}: the session is intact");
    }
    let own = logout_with(&app, &browser.cookie_header(), &browser.csrf).await;
    assert_eq!(own.status, StatusCode::OK, "the derived token passes: {}", own.text());
}

#[tokio::test]
async fn each_login_hands_out_a_new_token_bound_to_its_session() {
    let app = TestApp::new().await;
    app.create_user("alice", Role::Viewer).await;
    let anonymous = app.get("/api/heartbeat", &[]).await;
    let before = anonymous.cookie_value("romm_csrftoken").expect("anonymous token");
    let cookie = format!("romm_csrftoken={before}");
    let basic = crate::util::basic("alice", PASSWORD);
    let login = app
        .post(
            "/api/login",
            &[("authorization", basic.as_str()), ("cookie", cookie.as_str())],
            Body::empty(),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text());
    let first = login
        .cookie_value("romm_csrftoken")
        .expect("a new token with the session");
    assert_ne!(first, before);
    let second = app.login("alice", PASSWORD).await;
    assert_ne!(second.csrf, first, "a new session, a new token");

    // The anonymous token no longer passes once signed in; the new one does.
    let stale = format!("romm_session={}; romm_csrftoken={before}", second.session);
    let refused = logout_with(&app, &stale, &before).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let ok = logout_with(&app, &second.cookie_header(), &second.csrf).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
}

/// Browsers arriving at once, on both worker threads, each get their own
/// anonymous token (drawn from each thread's generator, see
/// `PlainToken::generate`): full length, none repeated. One browser's token
/// with another browser's cookie does not pass the sign-in form, and
/// changes nothing; its own pair does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_tokens_handed_out_at_once_are_each_browsers_own() {
    let app = std::sync::Arc::new(TestApp::new().await);
    app.create_user("alice", Role::Viewer).await;
    let visits: Vec<_> = (0..64)
        .map(|_| {
            let app = std::sync::Arc::clone(&app);
            tokio::spawn(async move { app.get("/api/heartbeat", &[]).await.cookie_value("romm_csrftoken") })
        })
        .collect();
    let mut tokens = std::collections::HashSet::new();
    for visit in visits {
        let token = visit.await.expect("task").expect("an anonymous token");
        let random = token.strip_prefix("rgc_").expect("the CSRF prefix");
        assert_eq!(random.len(), 43, "32 random bytes, base64url: {token}");
        assert!(
            random
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert!(tokens.insert(token.clone()), "handed out twice: {token}");
    }
    let mut pair = tokens.iter();
    let (mine, theirs) = (pair.next().expect("one"), pair.next().expect("another"));
    let sign_in = |cookie: &str, field: &str| {
        let form = format!("csrf_token={}&username=alice&password={}", enc(field), enc(PASSWORD));
        let cookie = format!("romm_csrftoken={cookie}");
        let app = std::sync::Arc::clone(&app);
        async move { app.post_form("/login", &[("cookie", &cookie)], &form).await }
    };
    let crossed = sign_in(theirs, mine).await;
    assert_eq!(crossed.status, StatusCode::FORBIDDEN, "{}", crossed.text());
    assert!(
        crossed.cookie_value("romm_session").is_none(),
        "no session from a crossed pair"
    );
    let own = sign_in(mine, mine).await;
    assert_eq!(own.status, StatusCode::SEE_OTHER, "{}", own.text());
    assert!(own.cookie_value("romm_session").is_some());
}

/// While setup is open, the setup form must carry the token of the browser's
/// own CSRF cookie: a page on another site that posts it (with a token of its
/// own, or none) creates no administrator.
#[tokio::test]
async fn the_open_setup_form_is_refused_without_the_browsers_token() {
    let app = TestApp::new().await;
    let page = app.get("/setup", &[]).await;
    let csrf = page
        .cookie_value("romm_csrftoken")
        .expect("the page sets a CSRF cookie");
    let cookie = format!("romm_csrftoken={csrf}");
    let fields = "username=root&email=root%40example.com&password=first-admin-pw";
    for form in [
        format!("csrf_token=rgc_not-the-cookies-token&{fields}"),
        fields.to_string(),
    ] {
        let refused = app.post_form("/setup", &[("cookie", &cookie)], &form).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
        assert!(app.store().list_users().await.expect("users").is_empty());
    }
    let form = format!("csrf_token={}&{fields}", enc(&csrf));
    let created = app.post_form("/setup", &[("cookie", &cookie)], &form).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text());
}
