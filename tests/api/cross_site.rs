//! Requests a browser marks as made by another site (`Sec-Fetch-Site:
//! cross-site`) are refused before they are counted, where counting them
//! would let any page its owner visits lock the owner out (see
//! src/web/fetch_site.rs). Apps send no such header.

use axum::http::StatusCode;
use romgate::auth::Role;

use crate::sso_support::sso_app;
use crate::util::{PASSWORD, TestApp, enc};

const CROSS_SITE: (&str, &str) = ("sec-fetch-site", "cross-site");
/// Another host under the same registrable domain (a neighbouring app).
const SIBLING_SITE: (&str, &str) = ("sec-fetch-site", "same-site");

fn password_grant(password: &str) -> String {
    format!(
        "grant_type=password&username=alice&password={}&scope=me.read",
        enc(password)
    )
}

#[tokio::test]
async fn password_grants_from_another_site_are_refused_and_not_counted() {
    let app = TestApp::new().await;
    app.create_user("alice", Role::Viewer).await;
    // More than the 10 failures per username and address.
    for n in 0..12 {
        let site = if n % 2 == 0 { CROSS_SITE } else { SIBLING_SITE };
        let refused = app.post_form("/api/token", &[site], &password_grant("wrong")).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
        assert_eq!(refused.error_code(), "csrf_failed", "{}", refused.text());
    }
    let right = app.post_form("/api/token", &[], &password_grant(PASSWORD)).await;
    assert_eq!(right.status, StatusCode::OK, "{}", right.text());
    // The same site, or a browser that says nothing: counted as before.
    let same_site = app
        .post_form(
            "/api/token",
            &[("sec-fetch-site", "same-origin")],
            &password_grant("wrong"),
        )
        .await;
    assert_eq!(same_site.status, StatusCode::UNAUTHORIZED, "{}", same_site.text());
}

#[tokio::test]
async fn device_sign_ins_started_from_another_site_are_refused() {
    let app = TestApp::new().await;
    let form = "client_id=kodi&scope=me.read";
    for site in [CROSS_SITE, SIBLING_SITE] {
        let refused = app.post_form("/api/oauth/device_authorization", &[site], form).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
    }
    let started = app.post_form("/api/oauth/device_authorization", &[], form).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text());
}

/// An image or a frame on another site does not start single sign-on (nor
/// use up the address's starts); a link another site shows still does.
#[tokio::test]
async fn single_sign_on_starts_embedded_by_another_site_are_refused() {
    let (app, _idp) = sso_app(&[]).await;
    let image = [CROSS_SITE, ("sec-fetch-mode", "no-cors"), ("sec-fetch-dest", "image")];
    for _ in 0..70 {
        let refused = app.get("/api/login/openid", &image).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
    }
    let frame = [CROSS_SITE, ("sec-fetch-mode", "navigate"), ("sec-fetch-dest", "iframe")];
    assert_eq!(app.get("/api/login/openid", &frame).await.status, StatusCode::FORBIDDEN);
    let link = [
        CROSS_SITE,
        ("sec-fetch-mode", "navigate"),
        ("sec-fetch-dest", "document"),
    ];
    assert_eq!(app.get("/api/login/openid", &link).await.status, StatusCode::FOUND);
    assert_eq!(app.get("/api/login/openid", &[]).await.status, StatusCode::FOUND);
}

/// Behind a reverse proxy that asks for Basic itself with the same username
/// and password, the browser adds them to every request to the server,
/// another site's form posts included: such an unsafe request is refused;
/// reading, and the same request from an app, still work.
#[tokio::test]
async fn unsafe_requests_with_basic_from_another_site_are_refused() {
    let app = TestApp::new().await;
    app.create_user("alice", Role::Viewer).await;
    let authorization = crate::util::basic("alice", PASSWORD);
    let body = serde_json::json!({"name": "planted", "scopes": ["me.read"]});
    let refused = app
        .post_json(
            "/api/client-tokens",
            &[("authorization", &authorization), CROSS_SITE],
            body.clone(),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
    assert_eq!(refused.error_code(), "csrf_failed");
    let list = app
        .get("/api/client-tokens", &[("authorization", &authorization), CROSS_SITE])
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    assert_eq!(list.json().as_array().map(Vec::len), Some(0), "nothing was made");
    let from_app = app
        .post_json("/api/client-tokens", &[("authorization", &authorization)], body)
        .await;
    assert!(from_app.status.is_success(), "{}", from_app.text());
}
