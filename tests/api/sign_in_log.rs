//! The sign-in log (SPEC 8.5, src/auth/sign_in_log.rs): exactly one line per
//! attempt, whatever the way in, with the method, the client address, the
//! user tried and the reason; never a secret; no second line saying the
//! same thing.

use axum::http::{Method, StatusCode};
use romgate::auth::Role;
use serde_json::json;

use crate::log_capture::LogCapture;
use crate::login_support::login_from;
use crate::sso_support::{callback, session_of, sign_in, sso_app, start};
use crate::util::{PASSWORD, TestApp, enc};

/// The sign-in lines captured so far, from `sign-in` on.
fn sign_ins(logs: &LogCapture) -> Vec<String> {
    logs.text()
        .lines()
        .filter(|l| l.contains(" romgate::sign_in: "))
        .map(|l| {
            l.split_once(" romgate::sign_in: ")
                .map_or("", |(_, rest)| rest)
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn api_login_and_the_token_grant_each_write_one_line() {
    let app = TestApp::new().await;
    app.create_user("alice", Role::Viewer).await;
    let logs = LogCapture::start();
    assert_eq!(
        login_from(&app, "192.0.2.7", "alice", PASSWORD).await.status,
        StatusCode::OK
    );
    assert_eq!(
        login_from(&app, "192.0.2.8", "Alice", "Not-It-42").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.token("alice", PASSWORD, "me.read").await.status, StatusCode::OK);
    assert_eq!(
        app.token("nobody", "Not-It-43", "me.read").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        sign_ins(&logs),
        [
            r#"sign-in result=success method=password client=192.0.2.7 user="alice""#,
            r#"sign-in result=failure method=password client=192.0.2.8 user="Alice" reason=invalid_credentials"#,
            r#"sign-in result=success method=token_grant client=unknown user="alice""#,
            r#"sign-in result=failure method=token_grant client=unknown user="nobody" reason=invalid_credentials"#,
        ]
    );
    let text = logs.text();
    assert!(!text.contains("Not-It-4") && !text.contains(PASSWORD), "{text}");
    assert!(!text.contains("failed password login"), "the old line is gone: {text}");
}

#[tokio::test]
async fn the_login_page_writes_its_line() {
    let app = TestApp::new().await;
    app.create_user("alice", Role::Viewer).await;
    let page = app.get("/login", &[]).await;
    let csrf = page.cookie_value("romm_csrftoken").expect("a CSRF cookie");
    let cookie = format!("romm_csrftoken={csrf}");
    let logs = LogCapture::start();
    for password in ["Not-It-44", PASSWORD] {
        let form = format!("csrf_token={}&username=alice&password={}", enc(&csrf), enc(password));
        let answer = app.post_form("/login", &[("cookie", &cookie)], &form).await;
        assert!(answer.status.is_client_error() || answer.status.is_redirection());
    }
    assert_eq!(
        sign_ins(&logs),
        [
            r#"sign-in result=failure method=password client=unknown user="alice" reason=invalid_credentials"#,
            r#"sign-in result=success method=password client=unknown user="alice""#,
        ]
    );
}

#[tokio::test]
async fn limits_refusals_and_disabled_accounts_are_logged_with_their_reason() {
    let app = TestApp::new().await;
    let (alice, root) = (
        app.create_user("alice", Role::Viewer).await,
        app.signed_in("root", Role::Admin).await.1,
    );
    for _ in 0..10 {
        login_from(&app, "192.0.2.9", "alice", "Not-It-45").await;
    }
    let logs = LogCapture::start();
    let refused = login_from(&app, "192.0.2.9", "alice", PASSWORD).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    let path = format!("/api/users/{}", alice.id);
    let off = app
        .as_browser(&root, Method::PUT, &path, Some(json!({"enabled": false})))
        .await;
    assert_eq!(off.status, StatusCode::OK);
    let disabled = login_from(&app, "192.0.2.10", "alice", PASSWORD).await;
    assert_eq!(disabled.status, StatusCode::FORBIDDEN);
    assert_eq!(
        sign_ins(&logs),
        [
            r#"sign-in result=failure method=password client=192.0.2.9 user="alice" reason=too_many_attempts"#,
            r#"sign-in result=failure method=password client=192.0.2.10 user="alice" reason=account_disabled"#,
        ]
    );
}

#[tokio::test]
async fn a_wrong_current_password_is_logged_as_reauth() {
    let app = TestApp::new().await;
    let (alice, browser) = app.signed_in("alice", Role::Viewer).await;
    let logs = LogCapture::start();
    let path = format!("/api/users/{}", alice.id);
    let change = json!({"email": "new@example.com", "current_password": "Not-It-46"});
    let refused = app.as_browser(&browser, Method::PUT, &path, Some(change)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        sign_ins(&logs),
        [r#"sign-in result=failure method=reauth client=unknown user="alice" reason=invalid_credentials"#]
    );
}

#[tokio::test]
async fn single_sign_on_writes_one_line_per_callback() {
    let (app, idp) = sso_app(&[("OIDC_CLAIM_ROLES", "groups"), ("OIDC_ROLE_VIEWER", "romm")]).await;
    let logs = LogCapture::start();
    let member = json!({"sub": "alice-sub", "preferred_username": "alice", "groups": ["romm"]});
    session_of(&sign_in(&app, &idp, member).await);
    let stranger = json!({"sub": "bob-sub", "preferred_username": "bob", "groups": ["other"]});
    assert_eq!(sign_in(&app, &idp, stranger).await.status, StatusCode::FORBIDDEN);
    let nameless = json!({"sub": "carol-sub", "groups": ["other"]});
    assert_eq!(sign_in(&app, &idp, nameless).await.status, StatusCode::FORBIDDEN);
    let started = start(&app, "/").await;
    let forged = callback(&app, "code=x&state=not-a-state", Some(&started.browser_cookie)).await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST);

    assert_eq!(
        sign_ins(&logs),
        [
            r#"sign-in result=success method=sso client=unknown user="alice""#,
            r#"sign-in result=failure method=sso client=unknown user="bob" reason=no_role"#,
            r#"sign-in result=failure method=sso client=unknown user="sub:carol-sub" reason=no_role"#,
            r#"sign-in result=failure method=sso client=unknown user="" reason=state_unknown"#,
        ]
    );
    let text = logs.text();
    for gone in ["single sign-on refused code=", "signed in with single sign-on"] {
        assert!(!text.contains(gone), "{gone:?} is said by the sign-in line now: {text}");
    }
}
