//! The test harness: a `TestApp` driving the real router in-process, on
//! SQLite (a temporary file) or PostgreSQL (a fresh schema in
//! TEST_DATABASE_URL), with a manual clock and cheap password hashing.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use base64::Engine;
use http_body_util::BodyExt;
use romgate::AppState;
use romgate::auth::password::PasswordPolicy;
use romgate::auth::{NewAccount, Role};
use romgate::clock::ManualClock;
use romgate::config::{Config, DatabaseUrl};
use romgate::secret::Secret;
use romgate::store::{Store, User};
use serde_json::Value;
use tower::ServiceExt;

pub const START: i64 = 1_800_000_000;
pub const PASSWORD: &str = "correct horse battery";

/// Runs one test body on SQLite, and on PostgreSQL when asked for
/// (`--include-ignored` with TEST_DATABASE_URL set).
macro_rules! on_both_engines {
    ($(#[$meta:meta])* $name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::util::TestApp::builder().build().await;
                ($body)(app).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[ignore = "PostgreSQL suite: needs TEST_DATABASE_URL, run with --include-ignored"]
            async fn postgres() {
                let app = $crate::util::TestApp::builder().postgres().build().await;
                ($body)(app).await
            }
        }
    };
}
pub(crate) use on_both_engines;

pub struct TestAppBuilder {
    vars: HashMap<String, String>,
    postgres: bool,
    /// A PostgreSQL schema to share with other apps, instead of a fresh one.
    schema: Option<String>,
    secret_key: bool,
    /// An existing data directory (with the SQLite database in it) instead
    /// of a fresh one.
    data_dir: Option<std::path::PathBuf>,
    clock: Option<ManualClock>,
    sqlite_file: Option<std::path::PathBuf>,
}

impl TestAppBuilder {
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.vars.insert(name.into(), value.into());
        self
    }

    /// Shares a clock (with a fake identity provider).
    pub fn clock(mut self, clock: ManualClock) -> Self {
        self.clock = Some(clock);
        self
    }

    pub fn postgres(mut self) -> Self {
        self.postgres = true;
        self
    }

    /// PostgreSQL in the given schema, which several apps may share (as
    /// instances share one database).
    pub fn postgres_schema(mut self, schema: &str) -> Self {
        self.postgres = true;
        self.schema = Some(schema.into());
        self
    }

    /// Runs in `dir` (ROMM_DATA_PATH, and the SQLite database in it), which
    /// several apps may share.
    pub fn data_dir(mut self, dir: &std::path::Path) -> Self {
        self.data_dir = Some(dir.to_path_buf());
        self
    }

    /// No ROMM_AUTH_SECRET_KEY: the app generates or finds its key.
    pub fn without_secret_key(mut self) -> Self {
        self.secret_key = false;
        self
    }

    /// Uses this SQLite database file (for example the one the CLI uses).
    pub fn sqlite_file(mut self, path: &std::path::Path) -> Self {
        self.sqlite_file = Some(path.to_path_buf());
        self
    }

    pub async fn build(self) -> TestApp {
        let dir = tempfile::tempdir().expect("temporary directory");
        let data = self.data_dir.unwrap_or_else(|| dir.path().to_path_buf());
        let mut vars = self.vars;
        vars.insert("ROMM_DATA_PATH".into(), data.display().to_string());
        // Never the working directory's ./library.
        vars.entry("ROMM_LIBRARY_PATH".into())
            .or_insert_with(|| dir.path().join("library").display().to_string());
        if self.secret_key {
            vars.entry("ROMM_AUTH_SECRET_KEY".into())
                .or_insert_with(|| "test-secret-key".into());
        }
        let config = Config::from_vars(vars).expect("test configuration is valid");
        let store = if self.postgres {
            let url = std::env::var("TEST_DATABASE_URL")
                .expect("the PostgreSQL suite needs TEST_DATABASE_URL (for example postgres://postgres@127.0.0.1:5432/romgate_test)");
            let schema = self.schema.unwrap_or_else(|| format!("t_{}", hex_id()));
            Store::open_postgres_schema(&DatabaseUrl::new(url), &schema)
                .await
                .expect("PostgreSQL schema")
        } else {
            let file = self.sqlite_file.unwrap_or_else(|| data.join("test.db"));
            let url = format!("sqlite://{}", file.display());
            Store::open(&DatabaseUrl::new(url)).await.expect("SQLite store")
        };
        let clock = self.clock.unwrap_or_else(|| ManualClock::new(START));
        let state = AppState::with_parts(config, store, PasswordPolicy::FAST_INSECURE, Arc::new(clock.clone()))
            .await
            .expect("state");
        TestApp {
            router: romgate::app(state.clone()),
            state,
            clock,
            _dir: dir,
        }
    }
}

pub fn hex_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub struct TestApp {
    pub router: romgate::web::App,
    pub state: AppState,
    pub clock: ManualClock,
    _dir: tempfile::TempDir,
}

/// A response, fully read.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| panic!("JSON body, got {:?}", self.text()))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// The `Set-Cookie` header for `name`, whole.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_string)
    }
    /// Just the value of cookie `name` set by this response.
    pub fn cookie_value(&self, name: &str) -> Option<String> {
        let whole = self.set_cookie(name)?;
        let first = whole.split(';').next()?;
        Some(first.split_once('=')?.1.to_string())
    }
    pub fn error_code(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_string()
    }
}

/// A signed-in browser: session cookie plus CSRF token.
#[derive(Clone, Debug)]
pub struct Browser {
    pub session: String,
    pub csrf: String,
}

impl Browser {
    pub fn cookie_header(&self) -> String {
        format!("romm_session={}; romm_csrftoken={}", self.session, self.csrf)
    }
}

pub fn basic(username: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    format!("Basic {encoded}")
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        crate::log_capture::install();
        TestAppBuilder {
            vars: HashMap::new(),
            postgres: false,
            schema: None,
            secret_key: true,
            data_dir: None,
            clock: None,
            sqlite_file: None,
        }
    }

    pub async fn new() -> TestApp {
        Self::builder().build().await
    }

    pub fn store(&self) -> &Store {
        &self.state.store
    }

    pub fn now(&self) -> i64 {
        self.state.now()
    }

    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(request).await.expect("router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.expect("body").to_bytes();
        TestResponse { status, headers, body }
    }

    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> TestResponse {
        self.send(request(Method::GET, path, headers, Body::empty())).await
    }

    pub async fn post(&self, path: &str, headers: &[(&str, &str)], body: impl Into<Body>) -> TestResponse {
        self.send(request(Method::POST, path, headers, body.into())).await
    }

    pub async fn post_json(&self, path: &str, headers: &[(&str, &str)], json: Value) -> TestResponse {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        self.post(path, &all, json.to_string()).await
    }

    pub async fn post_form(&self, path: &str, headers: &[(&str, &str)], form: &str) -> TestResponse {
        let mut all = vec![("content-type", "application/x-www-form-urlencoded")];
        all.extend_from_slice(headers);
        self.post(path, &all, form.to_string()).await
    }

    pub async fn with_bearer(&self, method: Method, path: &str, token: &str, json: Option<Value>) -> TestResponse {
        let auth = format!("Bearer {token}");
        self.send_with(method, path, vec![("authorization", auth.as_str())], json)
            .await
    }

    /// A request as a signed-in browser (cookie + CSRF header).
    pub async fn as_browser(&self, browser: &Browser, method: Method, path: &str, json: Option<Value>) -> TestResponse {
        let cookie = browser.cookie_header();
        let headers = vec![("cookie", cookie.as_str()), ("x-csrftoken", browser.csrf.as_str())];
        self.send_with(method, path, headers, json).await
    }

    /// Sends `headers`, plus a JSON body when given.
    async fn send_with(
        &self,
        method: Method,
        path: &str,
        mut headers: Vec<(&str, &str)>,
        json: Option<Value>,
    ) -> TestResponse {
        let body = match json {
            Some(json) => {
                headers.push(("content-type", "application/json"));
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        self.send(request(method, path, &headers, body)).await
    }

    /// `POST /api/login` with HTTP Basic credentials.
    pub async fn basic_login(&self, username: &str, password: &str) -> TestResponse {
        self.post(
            "/api/login",
            &[("authorization", &basic(username, password))],
            Body::empty(),
        )
        .await
    }

    /// Disables user `user_id` as an administrator would.
    pub async fn disable(&self, user_id: i64) {
        self.change_user(
            user_id,
            romgate::auth::AccountChanges {
                enabled: Some(false),
                ..Default::default()
            },
        )
        .await;
    }

    /// Gives user `user_id` `role`, as an administrator would.
    pub async fn set_role(&self, user_id: i64, role: Role) {
        self.change_user(
            user_id,
            romgate::auth::AccountChanges {
                role: Some(role),
                ..Default::default()
            },
        )
        .await;
    }

    async fn change_user(&self, user_id: i64, changes: romgate::auth::AccountChanges) {
        self.state
            .auth
            .apply_changes(user_id, changes, self.now())
            .await
            .expect("an administrator's change");
    }

    /// Creates a user directly through the auth service.
    pub async fn create_user(&self, username: &str, role: Role) -> User {
        let account = NewAccount {
            username: username.into(),
            email: Some(format!("{username}@example.com")),
            password: Some(Secret::new(PASSWORD)),
            role,
        };
        self.state
            .auth
            .create_account_unchecked(account, self.now())
            .await
            .expect("user created")
    }

    /// Signs in with HTTP Basic on /api/login.
    pub async fn login(&self, username: &str, password: &str) -> Browser {
        let response = self
            .post(
                "/api/login",
                &[("authorization", &basic(username, password))],
                Body::empty(),
            )
            .await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "login of {username}: {}",
            response.text()
        );
        Browser {
            session: response.cookie_value("romm_session").expect("session cookie"),
            csrf: response
                .cookie_value("romm_csrftoken")
                .expect("the login answer hands out the session's CSRF token"),
        }
    }

    /// The browser holding session cookie `session`, with the CSRF token
    /// romgate hands it on its next request (as a browser would read it).
    pub async fn browser_for(&self, session: &str) -> Browser {
        let cookie = format!("romm_session={session}");
        let response = self.get("/api/heartbeat", &[("cookie", &cookie)]).await;
        Browser {
            session: session.to_string(),
            csrf: response.cookie_value("romm_csrftoken").expect("a CSRF cookie"),
        }
    }

    /// Creates a user with `role` and signs them in.
    pub async fn signed_in(&self, username: &str, role: Role) -> (User, Browser) {
        let user = self.create_user(username, role).await;
        let browser = self.login(username, PASSWORD).await;
        (user, browser)
    }

    /// A password grant; returns the whole JSON answer.
    pub async fn token(&self, username: &str, password: &str, scope: &str) -> TestResponse {
        let form = format!(
            "grant_type=password&username={}&password={}&scope={}",
            enc(username),
            enc(password),
            enc(scope)
        );
        self.post_form("/api/token", &[], &form).await
    }
}

pub fn enc(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

pub fn request(method: Method, path: &str, headers: &[(&str, &str)], body: Body) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body).expect("valid request")
}

/// Posts a page form as `browser`, its CSRF field set to `csrf`.
pub async fn post_page_form(app: &TestApp, browser: &Browser, path: &str, csrf: &str, fields: &str) -> TestResponse {
    let cookie = browser.cookie_header();
    let form = format!("csrf_token={}&{fields}", enc(csrf));
    app.post_form(path, &[("cookie", &cookie)], &form).await
}

/// romgate's real HTTP server (`web::server::serve`) on 127.0.0.1, port
/// chosen by the system, serving `router` with `limits`.
pub struct RunningServer {
    pub addr: std::net::SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningServer {
    pub async fn start<S>(router: S, limits: romgate::web::server::ConnectionLimits) -> RunningServer
    where
        S: romgate::web::server::Served,
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("listener");
        Self::start_on(listener, router, limits)
    }

    /// The same on a listener already bound (whose address the app's
    /// ROMM_BASE_URL names).
    pub fn start_on<S>(
        listener: tokio::net::TcpListener,
        router: S,
        limits: romgate::web::server::ConnectionLimits,
    ) -> RunningServer
    where
        S: romgate::web::server::Served,
    {
        let addr = listener.local_addr().expect("local address");
        let (shutdown, signal) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(romgate::web::server::serve(listener, router, limits, async move {
            let _ = signal.await;
        }));
        RunningServer {
            addr,
            shutdown: Some(shutdown),
            task,
        }
    }

    pub async fn connect(&self) -> tokio::net::TcpStream {
        tokio::net::TcpStream::connect(self.addr).await.expect("connected")
    }

    /// Asks the server to shut down and waits until `serve` returns.
    pub async fn shut_down(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        within_seconds(10, &mut self.task)
            .await
            .expect("serve returns after the shutdown signal")
            .expect("serve did not panic");
    }
}

/// `future`'s output, or `None` when it is not ready within `seconds`: a
/// safety net so a test of something that must end fails instead of
/// hanging. Never used to assert how long anything takes.
pub async fn within_seconds<F: std::future::Future>(seconds: u64, future: F) -> Option<F::Output> {
    tokio::time::timeout(std::time::Duration::from_secs(seconds), future)
        .await
        .ok()
}
