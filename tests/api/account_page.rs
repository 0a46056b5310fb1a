//! The account page (`/account`): the same proof as the users API, and an
//! email set there is not trusted.

use axum::http::StatusCode;
use romgate::auth::Role;
use serde_json::json;

use crate::sso_support::{session_of, sign_in, sso_app_on};
use crate::util::{Browser, PASSWORD, TestApp, TestResponse, enc};

async fn post_account(app: &TestApp, browser: &Browser, fields: &[(&str, &str)]) -> TestResponse {
    let mut form = format!("csrf_token={}", enc(&browser.csrf));
    for (name, value) in fields {
        form.push_str(&format!("&{name}={}", enc(value)));
    }
    let cookie = browser.cookie_header();
    app.post_form("/account", &[("cookie", &cookie)], &form).await
}

#[tokio::test]
async fn the_page_asks_for_the_current_password() {
    let app = TestApp::new().await;
    let (alice, browser) = app.signed_in("alice", Role::Viewer).await;
    let cookie = browser.cookie_header();
    let page = app.get("/account", &[("cookie", &cookie)]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains(r#"name="current_password""#), "{}", page.text());
    assert!(page.text().contains(r#"value="alice@example.com""#));

    let change = [("username", "alice"), ("email", "new@example.com")];
    let refused = post_account(&app, &browser, &change).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.text().contains("current_password_required"),
        "{}",
        refused.text()
    );
    let wrong = [
        ("username", "alice"),
        ("email", "new@example.com"),
        ("current_password", "nope"),
    ];
    let refused = post_account(&app, &browser, &wrong).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let user = app.store().find_user(alice.id).await.expect("query").expect("alice");
    assert_eq!(user.email.as_deref(), Some("alice@example.com"), "nothing changed");

    let right = [
        ("username", "alice"),
        ("email", "new@example.com"),
        ("current_password", PASSWORD),
    ];
    let saved = post_account(&app, &browser, &right).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    assert_eq!(saved.header("location"), Some("/account?saved=1"));
    let user = app.store().find_user(alice.id).await.expect("query").expect("alice");
    assert_eq!(user.email.as_deref(), Some("new@example.com"));
    assert!(
        !app.store().email_trusted(alice.id).await.expect("query"),
        "set by its owner"
    );
    let page = app.get("/account?saved=1", &[("cookie", &cookie)]).await;
    assert!(page.text().contains("not confirmed"), "{}", page.text());
}

#[tokio::test]
async fn a_new_password_from_the_page_ends_the_session() {
    let app = TestApp::new().await;
    let (_, browser) = app.signed_in("alice", Role::Viewer).await;
    let fields = [
        ("username", "alice"),
        ("email", "alice@example.com"),
        ("new_password", "a-brand-new-password"),
        ("current_password", PASSWORD),
    ];
    let saved = post_account(&app, &browser, &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    assert!(saved.header("location").is_some_and(|l| l.starts_with("/login")));
    app.login("alice", "a-brand-new-password").await;
}

#[tokio::test]
async fn a_passwordless_account_is_sent_to_sign_in_again() {
    let (app, idp) = sso_app_on(false, &[]).await;
    let claims = json!({"sub": "s", "preferred_username": "sso", "email": "sso@example.com", "email_verified": true});
    let browser = app.browser_for(&session_of(&sign_in(&app, &idp, claims).await)).await;
    let cookie = browser.cookie_header();
    let page = app.get("/account", &[("cookie", &cookie)]).await;
    assert!(!page.text().contains(r#"name="current_password""#), "{}", page.text());
    assert!(
        page.text().contains("/api/login/openid?next=%2Faccount&#38;fresh=1"),
        "{}",
        page.text()
    );

    app.clock.advance(romgate::auth::FRESH_SIGN_IN_SECONDS + 1);
    let refused = post_account(&app, &browser, &[("username", "renamed"), ("email", "sso@example.com")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.text().contains("fresh_sign_in_required"), "{}", refused.text());
}

#[tokio::test]
async fn the_page_needs_a_session_and_the_form_token() {
    let app = TestApp::new().await;
    let anonymous = app.get("/account", &[]).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert_eq!(anonymous.header("location"), Some("/login?next=%2Faccount"));
    let (alice, browser) = app.signed_in("alice", Role::Viewer).await;
    let form = format!("csrf_token=other&username=x&email=&current_password={}", enc(PASSWORD));
    let refused = app
        .post_form("/account", &[("cookie", &browser.cookie_header())], &form)
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let user = app.store().find_user(alice.id).await.expect("query").expect("alice");
    assert_eq!(user.username, "alice");
}
