//! Security headers on every kind of answer: pages, API answers, errors,
//! the stylesheet and downloads (which keep their own cache policy), and
//! HSTS only behind an https base URL.

use axum::http::{Method, StatusCode};
use romgate::auth::Role;
use romgate::web::security_headers::{CONTENT_SECURITY_POLICY, STRICT_TRANSPORT_SECURITY};

use crate::library_support::{get_as, listed, put_file, scan};
use crate::util::{TestApp, TestResponse};

/// The headers every answer carries, whatever its status.
fn assert_secured(response: &TestResponse, what: &str) {
    assert_eq!(
        response.header("content-security-policy"),
        Some(CONTENT_SECURITY_POLICY),
        "{what}"
    );
    let csp = CONTENT_SECURITY_POLICY;
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"), "{what}");
    assert_eq!(response.header("referrer-policy"), Some("same-origin"), "{what}");
}

fn assert_not_stored(response: &TestResponse, what: &str) {
    assert_secured(response, what);
    assert_eq!(response.header("cache-control"), Some("no-store"), "{what}");
}

#[tokio::test]
async fn pages_api_answers_and_errors_carry_the_headers_and_are_not_stored() {
    let app = TestApp::new().await;
    let (_, browser) = app.signed_in("alice", Role::Admin).await;

    let login = app.get("/login", &[]).await;
    assert_eq!(login.status, StatusCode::OK);
    assert_not_stored(&login, "login page");

    let home = app.as_browser(&browser, Method::GET, "/", None).await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.text());
    assert_not_stored(&home, "signed-in home page");

    let me = app.as_browser(&browser, Method::GET, "/api/users/me", None).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_not_stored(&me, "API answer");

    for (path, status) in [
        ("/api/users/me", StatusCode::UNAUTHORIZED),
        ("/api/no-such-endpoint", StatusCode::NOT_FOUND),
        ("/no-such-page", StatusCode::NOT_FOUND),
    ] {
        let response = app.get(path, &[]).await;
        assert_eq!(response.status, status, "{path}");
        assert_not_stored(&response, path);
    }
    let wrong_method = app
        .send(crate::util::request(Method::PATCH, "/api/heartbeat", &[], "".into()))
        .await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_not_stored(&wrong_method, "405");
    assert_eq!(login.header("strict-transport-security"), None, "no HSTS over http");
}

#[tokio::test]
async fn the_stylesheet_and_downloads_keep_their_own_cache_policy() {
    let app = TestApp::new().await;
    let stylesheet = app.get("/static/style.css", &[]).await;
    assert_eq!(stylesheet.status, StatusCode::OK);
    assert_secured(&stylesheet, "stylesheet");
    assert_eq!(stylesheet.header("cache-control"), Some("public, max-age=3600"));

    put_file(&app, "n64", "game.z64", b"game");
    scan(&app).await;
    let (_, viewer) = app.signed_in("vera", Role::Viewer).await;
    let id = listed(&app, &viewer, "").await[0].0;
    let download = get_as(&app, &viewer, &format!("/api/roms/{id}/content/game.z64"), &[]).await;
    assert_eq!(download.status, StatusCode::OK);
    assert_secured(&download, "download");
    assert_eq!(download.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn hsts_is_sent_when_the_base_url_is_https() {
    let app = TestApp::builder()
        .env("ROMM_BASE_URL", "https://romgate.example.com")
        .build()
        .await;
    for path in ["/login", "/api/heartbeat", "/api/no-such-endpoint"] {
        let response = app.get(path, &[]).await;
        assert_eq!(
            response.header("strict-transport-security"),
            Some(STRICT_TRANSPORT_SECURITY),
            "{path}"
        );
        assert_not_stored(&response, path);
    }
}

/// The policy allows no inline script or style: the templates must have none.
#[test]
fn templates_have_no_inline_script_handlers_or_styles() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    for entry in std::fs::read_dir(&dir).expect("templates folder") {
        let path = entry.expect("entry").path();
        let html = std::fs::read_to_string(&path).expect("template").to_ascii_lowercase();
        assert!(!html.contains("<script"), "{}", path.display());
        assert!(
            !html.contains("<style") && !html.contains("style="),
            "{}",
            path.display()
        );
        assert!(!html.contains("javascript:"), "{}", path.display());
        assert!(!has_event_handler(&html), "an on* handler in {}", path.display());
    }
}

/// An attribute such as `onclick=`.
fn has_event_handler(html: &str) -> bool {
    html.split(|c: char| c.is_whitespace() || c == '<')
        .filter_map(|word| word.strip_prefix("on"))
        .any(|rest| {
            rest.split_once('=')
                .is_some_and(|(name, _)| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphabetic()))
        })
}

/// A handler that panics: the answer is the generic 500 (JSON, no panic
/// message), with the security headers, and the server keeps answering.
#[tokio::test]
async fn a_panics_answer_is_a_generic_500_with_the_headers() {
    use axum::body::Body;
    use tower::ServiceExt;

    let app = TestApp::new().await;
    let routes: axum::Router<romgate::AppState> = axum::Router::new().route(
        "/api/boom",
        axum::routing::get(|| async {
            panic!("secret detail in a panic");
            #[allow(unreachable_code)]
            ""
        }),
    );
    let router = romgate::web::around_every_answer(routes.with_state(app.state.clone()), &app.state);
    for _ in 0..2 {
        let request = axum::http::Request::get("/api/boom")
            .body(Body::empty())
            .expect("request");
        let response = router
            .clone()
            .oneshot(request)
            .await
            .expect("an answer, not a dropped connection");
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers().clone();
        assert_eq!(
            headers.get("content-security-policy").and_then(|v| v.to_str().ok()),
            Some(CONTENT_SECURITY_POLICY)
        );
        assert_eq!(
            headers.get("x-content-type-options").and_then(|v| v.to_str().ok()),
            Some("nosniff")
        );
        assert_eq!(
            headers.get("cache-control").and_then(|v| v.to_str().ok()),
            Some("no-store")
        );
        let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
            .await
            .expect("body");
        let text = String::from_utf8_lossy(&body);
        assert!(!text.contains("secret detail"), "{text}");
        assert!(text.contains("\"error\""), "{text}");
    }
}
