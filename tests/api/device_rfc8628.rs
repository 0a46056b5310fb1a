//! Device sign-in for generic OAuth 2.0 clients (SPEC 8.3): RFC 8628's
//! device authorization endpoint, the device_code grant on `/api/token`,
//! and the RFC 8414 metadata naming them; last, a stock RFC 8628 client
//! (openidconnect's, i.e. oauth2's) against a real listener.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::http::{Method, StatusCode};
use openidconnect::core::{CoreClient, CoreTokenResponse};
use openidconnect::{
    ClientId, DeviceAuthorizationResponse, DeviceAuthorizationUrl, EmptyExtraDeviceAuthorizationFields, IssuerUrl,
    JsonWebKeySet, OAuth2TokenResponse, Scope, TokenUrl,
};
use romgate::auth::Role;
use romgate::web::server::ConnectionLimits;
use serde_json::{Value, json};

use crate::device_support::approve;
use crate::util::{Browser, RunningServer, TestApp, TestResponse, enc, on_both_engines};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

async fn authorize(app: &TestApp, client_id: &str, scope: &str) -> TestResponse {
    let form = format!("client_id={}&scope={}", enc(client_id), enc(scope));
    app.post_form("/api/oauth/device_authorization", &[], &form).await
}

async fn grant(app: &TestApp, client_id: &str, device_code: &str) -> TestResponse {
    let form = format!(
        "grant_type={}&client_id={}&device_code={}",
        enc(GRANT),
        enc(client_id),
        enc(device_code)
    );
    app.post_form("/api/token", &[], &form).await
}

fn field(json: &Value, name: &str) -> String {
    json[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} in {json}"))
        .to_string()
}

#[tokio::test]
async fn metadata_names_the_endpoints_with_absolute_urls() {
    let app = TestApp::builder()
        .env("ROMM_BASE_URL", "https://games.example")
        .build()
        .await;
    let response = app.get("/.well-known/oauth-authorization-server", &[]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let json = response.json();
    assert_eq!(json["issuer"], "https://games.example");
    assert_eq!(json["token_endpoint"], "https://games.example/api/token");
    assert_eq!(
        json["device_authorization_endpoint"],
        "https://games.example/api/oauth/device_authorization"
    );
    assert!(
        json["grant_types_supported"]
            .as_array()
            .expect("grant types")
            .contains(&json!(GRANT))
    );
    let scopes = json["scopes_supported"].as_array().expect("scopes");
    assert!(scopes.contains(&json!("me.read")) && scopes.contains(&json!("users.write")));
    assert_eq!(json["token_endpoint_auth_methods_supported"], json!(["none"]));
    assert!(json["response_types_supported"].is_array());
}

on_both_engines!(device_authorization_answers_rfc_8628, |app: TestApp| async move {
    let response = authorize(&app, "kodi-romm", "me.read roms.read").await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let json = response.json();
    let user_code = field(&json, "user_code");
    assert_eq!(user_code.len(), 9);
    assert_eq!(user_code.as_bytes()[4], b'-', "grouped for people: {user_code}");
    assert_eq!(json["verification_uri"], "http://localhost:8080/pair/device");
    assert_eq!(
        json["verification_uri_complete"],
        format!("http://localhost:8080/pair/device?user_code={user_code}")
    );
    assert_eq!(
        (json["expires_in"].as_i64(), json["interval"].as_i64()),
        (Some(600), Some(5))
    );
    assert_eq!(field(&json, "device_code").len(), 64);

    let unknown = authorize(&app, "kodi-romm", "me.read openid").await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown.error_code(), "invalid_scope");
    let anonymous = app
        .post_form("/api/oauth/device_authorization", &[], "scope=me.read")
        .await;
    assert_eq!(anonymous.status, StatusCode::BAD_REQUEST);
    assert_eq!(anonymous.error_code(), "invalid_request");
    // No scope asks for the defaults, which the person then sees.
    let defaults = authorize(&app, "kodi-romm", "").await.json();
    let (_, browser) = app.signed_in("alice", Role::Viewer).await;
    let path = format!("/api/auth/device/pending/{}", field(&defaults, "user_code"));
    let pending = app.as_browser(&browser, Method::GET, &path, None).await.json();
    assert_eq!(
        pending["requested_scopes"],
        json!(["me.read", "platforms.read", "roms.read"])
    );
    assert_eq!(pending["client"], "kodi-romm");
});

on_both_engines!(
    the_device_code_grant_answers_rfc_8628_errors,
    |app: TestApp| async move {
        let (_, browser) = app.signed_in("alice", Role::Viewer).await;
        let json = authorize(&app, "kodi", "me.read roms.read").await.json();
        let (device_code, user_code) = (field(&json, "device_code"), field(&json, "user_code"));
        let error = |response: &TestResponse| {
            assert_eq!(response.status, StatusCode::BAD_REQUEST, "{}", response.text());
            response.error_code()
        };
        let pending = grant(&app, "kodi", &device_code).await;
        assert_eq!(error(&pending), "authorization_pending");
        assert_eq!(pending.header("cache-control"), Some("no-store"));
        assert_eq!(error(&grant(&app, "kodi", &device_code).await), "slow_down");
        assert_eq!(error(&grant(&app, "other", &device_code).await), "invalid_grant");
        let no_client = app
            .post_form(
                "/api/token",
                &[],
                &format!("grant_type={}&device_code={device_code}", enc(GRANT)),
            )
            .await;
        assert_eq!(error(&no_client), "invalid_request");
        assert_eq!(error(&grant(&app, "kodi", &"f".repeat(64)).await), "expired_token");

        // The page's dashed code is the same code.
        let approved = approve(&app, &browser, &user_code, &["roms.read"]).await;
        assert_eq!(approved.status, StatusCode::OK, "{}", approved.text());
        let token = grant(&app, "kodi", &device_code).await;
        assert_eq!(token.status, StatusCode::OK, "{}", token.text());
        let body = token.json();
        assert!(field(&body, "access_token").starts_with("rmm_"));
        assert_eq!(body["token_type"], "bearer");
        assert_eq!(body["scope"], "roms.read");
        assert!(body.get("expires_in").is_none(), "no expiry chosen: {body}");
        assert!(body.get("refresh_token").is_none());
        assert_eq!(error(&grant(&app, "kodi", &device_code).await), "expired_token");

        let denied = authorize(&app, "kodi", "me.read").await.json();
        let response = crate::device_support::deny(&app, &browser, &field(&denied, "user_code")).await;
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(
            error(&grant(&app, "kodi", &field(&denied, "device_code")).await),
            "access_denied"
        );
        let expiring = authorize(&app, "kodi", "me.read").await.json();
        app.clock.advance(600);
        assert_eq!(
            error(&grant(&app, "kodi", &field(&expiring, "device_code")).await),
            "expired_token"
        );
    }
);

/// An app whose ROMM_BASE_URL is its own listener, served for real.
async fn served_app() -> (Arc<TestApp>, RunningServer) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("listener");
    let addr = listener.local_addr().expect("address");
    let app = TestApp::builder()
        .env("ROMM_BASE_URL", &format!("http://{addr}"))
        .build()
        .await;
    let limits = ConnectionLimits {
        header_read_timeout: Duration::from_secs(10),
        send_timeout: Duration::from_secs(30),
        body_read_timeout: Duration::from_secs(30),
        max_connections: 64,
        shutdown_grace: Duration::from_secs(30),
    };
    let server = RunningServer::start_on(listener, app.router.clone(), limits);
    (Arc::new(app), server)
}

/// A stock RFC 8628 client: finds the endpoints in the RFC 8414 metadata,
/// asks for codes, and polls while a person approves (during its first
/// wait, which moves the server's clock instead of sleeping).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generic_rfc_8628_client_signs_in() {
    let (app, server) = served_app().await;
    let base = format!("http://{}", server.addr);
    let (_, browser) = app.signed_in("alice", Role::Viewer).await;
    let http = openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client");

    let metadata: Value = http
        .get(format!("{base}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .expect("metadata")
        .json()
        .await
        .expect("JSON metadata");
    let client = CoreClient::new(
        ClientId::new("generic-tv".into()),
        IssuerUrl::new(field(&metadata, "issuer")).expect("issuer"),
        JsonWebKeySet::default(),
    )
    .disable_openid_scope()
    .set_device_authorization_url(
        DeviceAuthorizationUrl::new(field(&metadata, "device_authorization_endpoint")).expect("URL"),
    )
    .set_token_uri(TokenUrl::new(field(&metadata, "token_endpoint")).expect("URL"));

    let details: DeviceAuthorizationResponse<EmptyExtraDeviceAuthorizationFields> = client
        .exchange_device_code()
        .add_scope(Scope::new("me.read".into()))
        .add_scope(Scope::new("roms.read".into()))
        .request_async(&http)
        .await
        .expect("device authorization");
    assert_eq!(
        details.verification_uri().as_str(),
        format!("{base}/pair/device").as_str()
    );
    let user_code = details.user_code().secret().clone();

    let approved = Arc::new(AtomicBool::new(false));
    let wait = {
        let (app, browser, approved) = (app.clone(), browser.clone(), approved.clone());
        move |interval: Duration| {
            let (app, browser, approved, user_code) =
                (app.clone(), browser.clone(), approved.clone(), user_code.clone());
            async move {
                app.clock.advance(i64::try_from(interval.as_secs()).expect("seconds"));
                if !approved.swap(true, Ordering::SeqCst) {
                    approve_as_person(&app, &browser, &user_code).await;
                }
            }
        }
    };
    let token: CoreTokenResponse = client
        .exchange_device_access_token(&details)
        .request_async(&http, wait, Some(Duration::from_secs(60)))
        .await
        .expect("the client receives a token");
    assert!(approved.load(Ordering::SeqCst), "polled until the person approved");
    let access = token.access_token().secret().clone();
    assert!(access.starts_with("rmm_"), "{access}");
    let scopes: Vec<String> = token.scopes().expect("scope").iter().map(|s| s.to_string()).collect();
    assert_eq!(scopes, ["me.read", "roms.read"]);
    let me = http
        .get(format!("{base}/api/users/me"))
        .bearer_auth(&access)
        .send()
        .await
        .expect("me");
    assert_eq!(me.status().as_u16(), 200);
    server.shut_down().await;
}

async fn approve_as_person(app: &TestApp, browser: &Browser, user_code: &str) {
    let response = approve(app, browser, user_code, &["me.read", "roms.read"]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
}
