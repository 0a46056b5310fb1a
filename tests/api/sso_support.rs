//! Driving a single sign-on through the real router against `FakeIdp`.

use romgate::clock::ManualClock;
use serde_json::Value;
use url::Url;

use crate::fake_idp::{CLIENT_ID, CLIENT_SECRET, FakeIdp, REDIRECT_URI};
use crate::util::{START, TestApp, TestAppBuilder, TestResponse};

/// A provider and an app wired to it (sharing one clock).
pub async fn sso_app(env: &[(&str, &str)]) -> (TestApp, FakeIdp) {
    let clock = ManualClock::new(START);
    let idp = FakeIdp::start(clock.clone()).await;
    let app = sso_builder(&idp.metadata_url(), clock, env).build().await;
    (app, idp)
}

/// `sso_app` on PostgreSQL when `postgres` (the `#[ignore]`d suite).
pub async fn sso_app_on(postgres: bool, env: &[(&str, &str)]) -> (TestApp, FakeIdp) {
    let clock = ManualClock::new(START);
    let idp = FakeIdp::start(clock.clone()).await;
    let builder = sso_builder(&idp.metadata_url(), clock, env);
    let app = if postgres { builder.postgres() } else { builder }.build().await;
    (app, idp)
}

pub fn sso_builder(metadata_url: &str, clock: ManualClock, env: &[(&str, &str)]) -> TestAppBuilder {
    let mut builder = TestApp::builder()
        .clock(clock)
        .env("OIDC_ENABLED", "true")
        .env("OIDC_CLIENT_ID", CLIENT_ID)
        .env("OIDC_CLIENT_SECRET", CLIENT_SECRET)
        .env("OIDC_REDIRECT_URI", REDIRECT_URI)
        .env("OIDC_SERVER_METADATA_URL", metadata_url);
    for (name, value) in env {
        builder = builder.env(name, value);
    }
    builder
}

/// What `GET /api/login/openid` handed the browser.
pub struct Started {
    pub response: TestResponse,
    pub location: Url,
    pub state: String,
    pub nonce: String,
    pub challenge: String,
    pub browser_cookie: String,
}

impl Started {
    pub fn param(&self, name: &str) -> Option<String> {
        self.location
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

pub async fn start(app: &TestApp, next: &str) -> Started {
    let response = app
        .get(&format!("/api/login/openid?next={}", crate::util::enc(next)), &[])
        .await;
    assert_eq!(response.status.as_u16(), 302, "{}", response.text());
    let location = Url::parse(response.header("location").expect("Location")).expect("absolute URL");
    let param = |name: &str| {
        location
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("{name}"))
    };
    let (state, nonce, challenge) = (param("state"), param("nonce"), param("code_challenge"));
    let browser_cookie = response.cookie_value("romgate_oidc").expect("attempt cookie");
    Started {
        response,
        location,
        state,
        nonce,
        challenge,
        browser_cookie,
    }
}

/// Parameter `name` of the provider URL a sign-in start redirected to.
pub fn location_param(started: &TestResponse, name: &str) -> Option<String> {
    let location = Url::parse(started.header("location")?).ok()?;
    location
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The callback query (`code=…&state=…`) the provider answers `started`
/// with, granting `claims`.
pub fn granted_query(idp: &FakeIdp, started: &TestResponse, claims: Value) -> String {
    let param = |name: &str| location_param(started, name).unwrap_or_else(|| panic!("{name}"));
    let code = idp.grant(&param("nonce"), &param("code_challenge"), claims);
    format!("code={code}&state={}", param("state"))
}

pub async fn callback(app: &TestApp, query: &str, browser_cookie: Option<&str>) -> TestResponse {
    let cookie = browser_cookie.map(|c| format!("romgate_oidc={c}")).unwrap_or_default();
    let headers: Vec<(&str, &str)> = if cookie.is_empty() {
        vec![]
    } else {
        vec![("cookie", cookie.as_str())]
    };
    app.get(&format!("/api/oauth/openid?{query}"), &headers).await
}

/// A whole sign-in as `claims` (merged into the ID token and userinfo).
pub async fn sign_in(app: &TestApp, idp: &FakeIdp, claims: Value) -> TestResponse {
    let started = start(app, "/").await;
    let code = idp.grant(&started.nonce, &started.challenge, claims);
    callback(
        app,
        &format!("code={code}&state={}", started.state),
        Some(&started.browser_cookie),
    )
    .await
}

/// The session cookie a successful sign-in set.
pub fn session_of(response: &TestResponse) -> String {
    assert_eq!(response.status.as_u16(), 303, "sign-in failed: {}", response.text());
    response.cookie_value("romm_session").expect("session cookie")
}

pub async fn me(app: &TestApp, session: &str) -> TestResponse {
    app.get("/api/users/me", &[("cookie", &format!("romm_session={session}"))])
        .await
}
