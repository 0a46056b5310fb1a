//! Every protected endpoint: 401 with WWW-Authenticate without credentials,
//! 403 without the scope; heartbeat open and free of secrets.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use romgate::auth::Role;

use crate::util::{TestApp, request};

const PROTECTED: &[(Method, &str)] = &[
    (Method::GET, "/api/users"),
    (Method::GET, "/api/users/me"),
    (Method::GET, "/api/users/1"),
    (Method::PUT, "/api/users/1"),
    (Method::DELETE, "/api/users/1"),
];

#[tokio::test]
async fn protected_endpoints_want_credentials() {
    let app = TestApp::new().await;
    app.create_user("root", Role::Admin).await;
    for (method, path) in PROTECTED {
        let response = app
            .send(request(
                method.clone(),
                path,
                &[("content-type", "application/json")],
                Body::from("{}"),
            ))
            .await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert!(
            response
                .header("www-authenticate")
                .expect("challenge")
                .starts_with("Bearer"),
            "{method} {path}"
        );
        assert_eq!(response.error_code(), "not_authenticated");
    }
}

#[tokio::test]
async fn viewer_lacks_the_admin_scopes() {
    let app = TestApp::new().await;
    let (_, viewer) = app.signed_in("alice", Role::Viewer).await;
    let root = app.create_user("root", Role::Admin).await;
    for (method, path) in [
        (Method::GET, "/api/users".to_string()),
        (Method::DELETE, format!("/api/users/{}", root.id)),
    ] {
        let response = app.as_browser(&viewer, method.clone(), &path, None).await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(response.error_code(), "insufficient_scope");
    }
    assert!(app.store().find_user(root.id).await.expect("query").is_some());
}

#[tokio::test]
async fn heartbeat_shows_public_settings_and_no_secret() {
    let app = TestApp::builder()
        .env("OIDC_ENABLED", "true")
        .env("OIDC_PROVIDER", "Authelia")
        .env("OIDC_CLIENT_ID", "romgate-client")
        .env("OIDC_CLIENT_SECRET", "very-secret-value")
        .env("OIDC_REDIRECT_URI", "http://localhost:8080/api/oauth/openid")
        .env("OIDC_SERVER_APPLICATION_URL", "http://127.0.0.1:9")
        .env("OIDC_AUTOLOGIN", "yes")
        .env("DISABLE_USERPASS_LOGIN", "1")
        .build()
        .await;
    let response = app.get("/api/heartbeat", &[]).await;
    assert_eq!(response.status, StatusCode::OK);
    let json = response.json();
    assert_eq!(json["OIDC"]["ENABLED"], true);
    assert_eq!(json["OIDC"]["PROVIDER"], "Authelia");
    assert_eq!(json["OIDC"]["AUTOLOGIN"], true);
    assert_eq!(json["OIDC"]["RP_INITIATED_LOGOUT"], false);
    assert_eq!(json["FRONTEND"]["DISABLE_USERPASS_LOGIN"], true);
    assert!(json["VERSION"].is_string());
    let text = response.text();
    for secret in ["very-secret-value", "test-secret-key", "romgate-client"] {
        assert!(!text.contains(secret), "heartbeat leaks {secret}");
    }
}
