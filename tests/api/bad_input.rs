//! Bad input of every kind: each gets a clear 4xx (JSON with an `error` code
//! on /api paths), never a 500, and changes nothing.

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use romgate::auth::Role;
use serde_json::json;

use crate::util::{Browser, PASSWORD, TestApp, TestResponse, basic, enc, on_both_engines, request};

const GOOD_NEW_PASSWORD: &str = "a perfectly fine password";

/// The usernames nobody may create and nobody can sign in with.
fn odd_usernames() -> Vec<String> {
    vec![
        "alice' OR '1'='1".into(),
        "alice'--".into(),
        "\"; DROP TABLE users; --".into(),
        "josé".into(),
        "\u{430}dmin".into(), // Cyrillic "а" + "dmin"
        "a\u{202e}b".into(),
        "a".repeat(1000),
    ]
}

/// Asserts `status` and a JSON body whose `error` is `code`.
fn assert_refused(response: &TestResponse, status: StatusCode, code: &str) {
    assert_eq!(response.status, status, "body: {}", response.text());
    assert_eq!(response.error_code(), code, "body: {}", response.text());
}

fn assert_no_session(response: &TestResponse) {
    assert!(
        response.set_cookie("romm_session").is_none(),
        "no session cookie may be set: {:?}",
        response.headers
    );
}

async fn user_count(app: &TestApp) -> usize {
    app.store().list_users().await.expect("users").len()
}

async fn admin_app() -> (TestApp, Browser) {
    let app = TestApp::new().await;
    let (_, browser) = app.signed_in("root", Role::Admin).await;
    (app, browser)
}

async fn login_as(app: &TestApp, username: &str, password: &str) -> TestResponse {
    let authorization = basic(username, password);
    app.post("/api/login", &[("authorization", &authorization)], Body::empty())
        .await
}

async fn create_as(app: &TestApp, admin: &Browser, body: serde_json::Value) -> TestResponse {
    app.as_browser(admin, Method::POST, "/api/users", Some(body)).await
}

async fn token_form(app: &TestApp, form: &str) -> TestResponse {
    app.post_form("/api/token", &[], form).await
}

fn assert_challenge(response: &TestResponse, needle: &str) {
    let challenge = response.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.contains(needle),
        "WWW-Authenticate {challenge:?} has {needle:?}"
    );
}

const JSON: [(&str, &str); 1] = [("content-type", "application/json")];
const BAD_HEADER: &str = "invalid_authorization_header";

async fn login_with_header(app: &TestApp, value: HeaderValue) -> TestResponse {
    let mut req = request(Method::POST, "/api/login", &[], Body::empty());
    req.headers_mut().insert(header::AUTHORIZATION, value);
    app.send(req).await
}

#[tokio::test]
async fn malformed_basic_headers_are_400_and_sign_nobody_in() {
    let app = TestApp::new().await;
    app.create_user("alice", Role::Viewer).await;
    let raw_b64 = |bytes: &[u8]| format!("Basic {}", STANDARD.encode(bytes));
    let headers = [
        "Basic !!!not-base64!!!".to_string(),
        raw_b64(b"alice"),                                                  // no colon
        raw_b64(&[0xff, 0xfe, b':', b'x']),                                 // not UTF-8 once decoded
        "Basic".to_string(),                                                // no credentials at all
        format!("Digest {}", STANDARD.encode(format!("alice:{PASSWORD}"))), // wrong scheme
        format!("Bearer {}", STANDARD.encode(format!("alice:{PASSWORD}"))),
    ];
    for value in &headers {
        let response = login_with_header(&app, HeaderValue::from_str(value).unwrap()).await;
        assert_refused(&response, StatusCode::BAD_REQUEST, BAD_HEADER);
        assert_no_session(&response);
    }
    // A header value that is not even text.
    let response = login_with_header(&app, HeaderValue::from_bytes(b"Basic \xff\xfe:x").unwrap()).await;
    assert_refused(&response, StatusCode::BAD_REQUEST, BAD_HEADER);
    assert_no_session(&response);
    // The same credentials, well formed, do work: the refusals above were about the form.
    app.login("alice", PASSWORD).await;
}

#[tokio::test]
async fn empty_bodies_are_refused_and_create_nothing() {
    let app = TestApp::new().await; // setup open: a valid body would create an admin
    let empty_json = app.post("/api/users", &JSON, "").await;
    assert_refused(&empty_json, StatusCode::BAD_REQUEST, "invalid_request");
    let no_type = app.post("/api/users", &[], "").await;
    let unsupported = "unsupported_media_type";
    assert_refused(&no_type, StatusCode::UNSUPPORTED_MEDIA_TYPE, unsupported);
    assert_eq!(user_count(&app).await, 0);

    let token = token_form(&app, "").await;
    assert_refused(&token, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(token.json().get("access_token").is_none());
}

#[tokio::test]
async fn ten_megabyte_bodies_are_413_json() {
    let app = TestApp::new().await;
    let big = "a".repeat(10 * 1024 * 1024);
    let body = format!(r#"{{"username":"{big}","password":"{GOOD_NEW_PASSWORD}"}}"#);
    let users = app.post("/api/users", &JSON, body).await;
    assert_eq!(users.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(users.error_code(), "payload_too_large");
    assert_eq!(user_count(&app).await, 0);

    let token = token_form(&app, &format!("grant_type=password&username={big}&password=x")).await;
    assert_eq!(token.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(!token.error_code().is_empty(), "JSON: {}", token.text());
    assert!(token.json().get("access_token").is_none());
}

#[tokio::test]
async fn grant_type_unknown_or_missing_is_400() {
    let app = TestApp::new().await;
    app.create_user("alice", Role::Viewer).await;
    let creds = format!("username=alice&password={}", enc(PASSWORD));
    let unknown = token_form(&app, &format!("grant_type=client_credentials&{creds}")).await;
    assert_refused(&unknown, StatusCode::BAD_REQUEST, "unsupported_grant_type");
    let missing = token_form(&app, &creds).await;
    assert_refused(&missing, StatusCode::BAD_REQUEST, "invalid_request");
    let no_password = token_form(&app, "grant_type=password&username=alice").await;
    assert_refused(&no_password, StatusCode::BAD_REQUEST, "invalid_request");
    for response in [&unknown, &missing, &no_password] {
        assert!(response.json().get("access_token").is_none());
        assert!(response.json()["detail"].is_string(), "{}", response.text());
    }
}

#[tokio::test]
async fn wrong_content_types_are_415() {
    let app = TestApp::new().await;
    app.create_user("alice", Role::Viewer).await;
    let as_json = json!({"grant_type": "password", "username": "alice", "password": PASSWORD});
    let token = app.post_json("/api/token", &[], as_json).await;
    assert_eq!(token.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(!token.error_code().is_empty());
    assert!(token.json().get("access_token").is_none());

    let fresh = TestApp::new().await; // setup open
    let form = format!("username=boss&password={}", enc(GOOD_NEW_PASSWORD));
    let users = fresh.post_form("/api/users", &[], &form).await;
    let unsupported = "unsupported_media_type";
    assert_refused(&users, StatusCode::UNSUPPORTED_MEDIA_TYPE, unsupported);
    assert_eq!(user_count(&fresh).await, 0);
}

#[tokio::test]
async fn bad_json_is_400_and_creates_nothing() {
    let app = TestApp::new().await; // setup open
    let bodies = [
        r#"{"username": 5, "password": "a perfectly fine password"}"#,
        r#"{"username": "boss", "password": 12345678}"#,
        r#"{"username": "boss", "password": "a perfectly fine password", "role": "superuser"}"#,
        r#"{"username": "boss", "password": "a perfectly fine password", "is_admin": true}"#,
        r#"{"username": "boss", "password": "a perfectly fine password""#,
        "not json at all",
        "[]",
        "null",
    ];
    for body in bodies {
        let response = app.post("/api/users", &JSON, body).await;
        assert_refused(&response, StatusCode::BAD_REQUEST, "invalid_request");
    }
    assert_eq!(user_count(&app).await, 0);
    // The same fields, well formed, would have been accepted.
    let good = r#"{"username": "boss", "password": "a perfectly fine password"}"#;
    let ok = app.post("/api/users", &JSON, good).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text());
}

#[tokio::test]
async fn odd_usernames_on_login_get_the_wrong_password_answer() {
    let app = TestApp::new().await;
    app.create_user("alice", Role::Admin).await;
    let wrong = login_as(&app, "alice", "not the password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    for username in odd_usernames() {
        // The right password of an existing account: an injection would sign in.
        let response = login_as(&app, &username, PASSWORD).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{username:?}");
        assert_eq!(response.body, wrong.body, "{username:?}");
        assert!(response.header("www-authenticate").is_some());
        assert_no_session(&response);
    }
    let users = app.store().list_users().await.unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].username, "alice");
}

#[tokio::test]
async fn odd_usernames_are_refused_on_creation() {
    let (app, admin) = admin_app().await;
    let mut usernames = odd_usernames();
    usernames.push(String::new());
    for username in &usernames {
        let body = json!({"username": username, "password": GOOD_NEW_PASSWORD});
        let response = create_as(&app, &admin, body).await;
        assert_refused(&response, StatusCode::BAD_REQUEST, "invalid_username");
    }
    assert_eq!(user_count(&app).await, 1);

    // Through the first-boot setup too: no admin is made.
    let fresh = TestApp::new().await;
    let body = json!({"username": "\u{430}dmin", "password": GOOD_NEW_PASSWORD});
    let response = fresh.post_json("/api/users", &[], body).await;
    assert_refused(&response, StatusCode::BAD_REQUEST, "invalid_username");
    assert_eq!(user_count(&fresh).await, 0);
    assert!(fresh.state.auth.setup_needed().await.unwrap());
}

#[tokio::test]
async fn invalid_emails_are_refused_on_creation() {
    let (app, admin) = admin_app().await;
    let long = format!("{}@example.com", "x".repeat(300));
    let emails = [
        "plain",
        "@example.com",
        "a@",
        "a@localhost",
        "a b@example.com",
        "a@b@example.com",
        "a@.com",
        "nul\0@example.com",
        &long,
    ];
    for (i, email) in emails.iter().enumerate() {
        let username = format!("user{i}");
        let body = json!({"username": username, "email": email, "password": GOOD_NEW_PASSWORD});
        let response = create_as(&app, &admin, body).await;
        assert_refused(&response, StatusCode::BAD_REQUEST, "invalid_email");
    }
    assert_eq!(user_count(&app).await, 1);
}

#[tokio::test]
async fn garbage_session_cookies_are_401_with_a_challenge() {
    let app = TestApp::new().await;
    app.signed_in("alice", Role::Viewer).await;
    let huge = format!("romm_session=rgs_{}", "A".repeat(10 * 1024));
    for cookie in [
        "romm_session=garbage",
        "romm_session=rgs_garbage",
        "romm_session=\"quoted\"; x=y",
        huge.as_str(),
    ] {
        let response = app.get("/api/users/me", &[("cookie", cookie)]).await;
        assert_refused(&response, StatusCode::UNAUTHORIZED, "not_authenticated");
        assert_challenge(&response, "Bearer");
    }
}

#[tokio::test]
async fn an_expired_session_is_401() {
    let app = TestApp::new().await;
    let (_, browser) = app.signed_in("alice", Role::Viewer).await;
    let fresh = app.as_browser(&browser, Method::GET, "/api/users/me", None).await;
    assert_eq!(fresh.status, StatusCode::OK);
    app.clock.advance(1_209_601);
    let response = app.as_browser(&browser, Method::GET, "/api/users/me", None).await;
    assert_refused(&response, StatusCode::UNAUTHORIZED, "not_authenticated");
    assert_challenge(&response, "Bearer");
}

#[tokio::test]
async fn garbage_bearer_tokens_are_invalid_token() {
    let app = TestApp::new().await;
    let (_, browser) = app.signed_in("alice", Role::Viewer).await;
    let huge = format!("rga_{}", "A".repeat(10 * 1024));
    // A session id is not an access token.
    for token in ["garbage", "rga_garbage", huge.as_str(), browser.session.as_str()] {
        let response = app.with_bearer(Method::GET, "/api/users/me", token, None).await;
        assert_refused(&response, StatusCode::UNAUTHORIZED, "invalid_token");
        assert_challenge(&response, r#"error="invalid_token""#);
    }
    let other_scheme = app.get("/api/users/me", &[("authorization", "Token abc")]).await;
    assert_eq!(other_scheme.status, StatusCode::UNAUTHORIZED);
    assert_challenge(&other_scheme, "Bearer");
}

#[tokio::test]
async fn non_numeric_user_ids_are_400_json() {
    let (app, admin) = admin_app().await;
    for path in [
        "/api/users/abc",
        "/api/users/1.5",
        "/api/users/99999999999999999999999",
        "/api/users/-",
    ] {
        let response = app.as_browser(&admin, Method::GET, path, None).await;
        assert_refused(&response, StatusCode::BAD_REQUEST, "invalid_path");
    }
    let body = Some(json!({"role": "viewer"}));
    let put = app.as_browser(&admin, Method::PUT, "/api/users/abc", body).await;
    assert_refused(&put, StatusCode::BAD_REQUEST, "invalid_path");
    let delete = app.as_browser(&admin, Method::DELETE, "/api/users/abc", None).await;
    assert_refused(&delete, StatusCode::BAD_REQUEST, "invalid_path");
    let users = app.store().list_users().await.unwrap();
    assert_eq!((users.len(), users[0].role), (1, Role::Admin));
}

#[tokio::test]
async fn unknown_api_paths_are_404_json() {
    let app = TestApp::new().await;
    for (method, path) in [
        (Method::GET, "/api/nope"),
        (Method::POST, "/api/nope"),
        (Method::GET, "/api/users/1/extra"),
    ] {
        let response = app.send(request(method, path, &[], Body::empty())).await;
        assert_refused(&response, StatusCode::NOT_FOUND, "not_found");
    }
}

#[tokio::test]
async fn wrong_method_on_an_api_path_is_405_json() {
    let app = TestApp::new().await;
    for (method, path) in [
        (Method::GET, "/api/login"),
        (Method::GET, "/api/token"),
        (Method::PATCH, "/api/users"),
    ] {
        let response = app.send(request(method, path, &[], Body::empty())).await;
        assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert!(!response.error_code().is_empty(), "{path}: {}", response.text());
    }
}

#[tokio::test]
async fn no_answer_echoes_a_password_or_token_that_was_sent() {
    let app = TestApp::new().await;
    let (_, admin) = app.signed_in("root", Role::Admin).await;
    let secret = "Zq9-sent-secret-Kx7";
    let json_grant = json!({"grant_type": "password", "username": "root", "password": secret});
    let mut responses = vec![
        login_as(&app, "root", secret).await,
        login_as(&app, secret, secret).await,
        app.token("root", secret, "me.read").await,
        token_form(&app, &format!("grant_type=refresh_token&refresh_token=rgr_{secret}")).await,
        token_form(&app, &format!("grant_type={secret}&password={secret}")).await,
        app.with_bearer(Method::GET, "/api/users/me", &format!("rga_{secret}"), None)
            .await,
        app.get("/api/users/me", &[("cookie", &format!("romm_session=rgs_{secret}"))])
            .await,
        app.post_json("/api/token", &[], json_grant).await,
        create_as(&app, &admin, json!({"username": "bad name", "password": secret})).await,
        create_as(
            &app,
            &admin,
            json!({"username": "x", "email": "nope", "password": secret}),
        )
        .await,
        create_as(&app, &admin, json!({"username": "someone", "password": "Zq9"})).await,
    ];
    // The login page, refused for its CSRF token and for the password.
    for (cookie, field) in [("right", "wrong"), ("same", "same")] {
        let form = format!("username=root&password={}&csrf_token={field}", enc(secret));
        let cookie = format!("romm_csrftoken={cookie}");
        responses.push(app.post_form("/login", &[("cookie", &cookie)], &form).await);
    }
    for response in &responses {
        let text = response.text();
        assert!(response.status.is_client_error(), "{}: {text}", response.status);
        assert!(!text.contains("Zq9"), "echoed a password or token: {text}");
        assert!(!text.contains(&admin.session), "echoed a session: {text}");
    }
    assert_eq!(user_count(&app).await, 1);
}

on_both_engines!(
    /// A NUL (or another control character) where text is stored is a 4xx
    /// on both engines: PostgreSQL cannot store one, and answered 500 for
    /// it before; SQLite would store it in a device list.
    control_characters_in_stored_text_are_refused,
    |app: TestApp| async move {
        app.create_user("alice", Role::Viewer).await;
        let nul_username = app.basic_login("ali\0ce", PASSWORD).await;
        assert_eq!(nul_username.status, StatusCode::UNAUTHORIZED, "{}", nul_username.text());
        assert_eq!(nul_username.error_code(), "invalid_credentials");

        let mut device = crate::device_support::init_body("tv-1", &["roms.read"]);
        device["name"] = json!("Living\u{0}room");
        let started = app.post_json("/api/auth/device/init", &[], device).await;
        assert_eq!(started.status, StatusCode::BAD_REQUEST, "{}", started.text());

        let (_, bob) = app.signed_in("bob", Role::Viewer).await;
        let named = json!({"name": "phone\u{0}", "scopes": ["me.read"]});
        let created = app.as_browser(&bob, Method::POST, "/api/client-tokens", Some(named)).await;
        assert_eq!(created.status, StatusCode::BAD_REQUEST, "{}", created.text());

        // Whatever still reaches the database with one is bad input, not a
        // server error: SQLite looks it up, PostgreSQL refuses the value.
        match app.store().find_user_by_username("ali\0ce").await {
            Ok(None) => {}
            Err(err @ romgate::store::StoreError::Unstorable(_)) => {
                let answer = romgate::error::AppError::from(err);
                let kind = answer.refusal().map(|refusal| refusal.kind);
                assert_eq!(kind, Some(romgate::error::Kind::BadRequest), "{answer:?}");
            }
            other => panic!("{other:?}"),
        }
    }
);
