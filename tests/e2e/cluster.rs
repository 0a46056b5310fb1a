//! Several romgate processes on one PostgreSQL database, for the
//! multi-instance tests: a fresh database per test (created on
//! TEST_DATABASE_URL's server, dropped at the end) and a `Cluster` of two
//! instances, A and B, on different ports, optionally wired to one provider.
//!
//! The instances run the binary cargo built for the tests
//! (`CARGO_BIN_EXE_romgate`, a debug build), not a release build: building
//! release inside `cargo test` would double the compile time, and what these
//! tests prove (state shared through the database, locking, races) does not
//! depend on the optimisation level.

#![allow(dead_code)] // a helper library: not every test uses every helper

use reqwest::StatusCode;
use reqwest::cookie::CookieStore;
use serde_json::Value;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Connection, Executor, PgConnection};
use url::Url;

use crate::browser::{Browser, Page};
use crate::provider::{TestProvider, free_port};
use crate::romgate::RomgateServer;
use crate::scenario::{provider_config, romgate_env};

/// A database of its own on TEST_DATABASE_URL's server; dropped (best
/// effort, connections forced out) when this value is.
pub struct TestDatabase {
    server_url: String,
    pub name: String,
    /// The new database's URL (what DATABASE_URL gets).
    pub url: String,
}

impl TestDatabase {
    pub async fn create() -> TestDatabase {
        let server_url = std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| {
            panic!(
                "the multi-instance tests need TEST_DATABASE_URL: a PostgreSQL URL on whose server they may \
                 CREATE DATABASE (for example postgres://postgres@127.0.0.1:5432/romgate_test); .ci/run sets it"
            )
        });
        let mut url = Url::parse(&server_url).expect("TEST_DATABASE_URL is a URL");
        assert!(
            matches!(url.scheme(), "postgres" | "postgresql"),
            "TEST_DATABASE_URL must be a postgres:// URL, not {}",
            url.scheme()
        );
        let name = format!("romgate_e2e_{:016x}", rand::random::<u64>());
        let mut admin = PgConnection::connect(&server_url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to TEST_DATABASE_URL's server: {e}"));
        admin
            .execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        let _ = admin.close().await;
        url.set_path(&format!("/{name}"));
        TestDatabase {
            server_url,
            name,
            url: url.to_string(),
        }
    }

    /// A small pool on the new database, for the tests' own checks.
    pub async fn pool(&self) -> PgPool {
        PgPoolOptions::new()
            .max_connections(2)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {}: {e}", self.name))
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (server_url, name) = (self.server_url.clone(), self.name.clone());
        // Drop may run inside a tokio runtime, which cannot block on another:
        // a thread of its own does the work.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&server_url).await?;
                admin
                    .execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
                    .await?;
                admin.close().await
            })?;
            Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("note: could not drop test database {}: {e}", self.name);
        }
    }
}

/// Two romgate instances on one fresh database. Fields drop in order: the
/// servers stop before their database is dropped.
pub struct Cluster {
    pub a: RomgateServer,
    pub b: RomgateServer,
    pub provider: Option<TestProvider>,
    pub db: TestDatabase,
}

impl Cluster {
    /// A and B without single sign-on, launched at the same moment.
    pub async fn start(env: &[(&str, &str)]) -> Cluster {
        let db = TestDatabase::create().await;
        let ports = [free_port(), free_port()];
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let [a, b] = launch(ports, &db, &env);
        Cluster {
            a,
            b,
            provider: None,
            db,
        }
    }

    /// A provider whose client `romgate` knows only A: its redirect URI and
    /// back-channel logout URI are A's, and both instances are configured
    /// with A's redirect URI (as behind a load balancer, where both would
    /// have the public one). A callback is finished on B by sending it to
    /// B's port instead.
    pub async fn start_sso(customize: impl FnOnce(&mut Value), env: &[(&str, &str)]) -> Cluster {
        let db = TestDatabase::create().await;
        let ports = [free_port(), free_port()];
        let mut config = provider_config(ports[0]);
        customize(&mut config);
        let provider = TestProvider::start_async(config).await;
        let env = romgate_env(&provider, ports[0], env);
        let [a, b] = launch(ports, &db, &env);
        Cluster {
            a,
            b,
            provider: Some(provider),
            db,
        }
    }

    pub fn provider(&self) -> &TestProvider {
        self.provider.as_ref().expect("a cluster started with start_sso")
    }

    /// A third instance on the same database, with `env` on top of the
    /// common settings (no single sign-on).
    pub fn another(&self, env: &[(&str, &str)]) -> RomgateServer {
        let mut all = vec![("DATABASE_URL", self.db.url.as_str())];
        all.extend_from_slice(env);
        tokio::task::block_in_place(|| RomgateServer::start(free_port(), &all))
    }

    /// Creates an account through the CLI (same database as both).
    pub fn create_user(&self, username: &str, role: &str, password: &str) {
        let args = ["user", "create", username, "--role", role, "--password-stdin"];
        self.a.cli(&args, &format!("{password}\n"));
    }
}

/// Spawns one server per port at the same moment, then waits for both.
pub fn launch(ports: [u16; 2], db: &TestDatabase, env: &[(String, String)]) -> [RomgateServer; 2] {
    let mut all = env.to_vec();
    all.push(("DATABASE_URL".into(), db.url.clone()));
    let refs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    tokio::task::block_in_place(|| {
        let mut servers = ports.map(|port| RomgateServer::spawn(port, &refs));
        servers.iter_mut().for_each(RomgateServer::wait_ready);
        servers
    })
}

/// `url` with its port replaced: the provider's redirect to A, sent to B.
pub fn with_port(url: &Url, port: u16) -> Url {
    let mut moved = url.clone();
    moved.set_port(Some(port)).expect("an http URL has a port");
    moved
}

/// Clicks "Sign in" on `start`, signs in at the provider as `login`
/// (password `<login>-pw`, or `alice-pw`), and returns the provider's
/// redirect back (to A's redirect URI), not yet requested.
pub async fn sign_in_started_on(browser: &Browser, start: &RomgateServer, cluster: &Cluster, login: &str) -> Url {
    let page = browser.get(&start.url("/api/login/openid")).await;
    assert_eq!(page.status, StatusCode::FOUND, "start on {}: {}", start.port, page.body);
    assert!(cookie(browser, start, "romgate_oidc").is_some(), "no sign-in cookie");
    let authorize = page.location.expect("redirect to the provider");
    let redirect_uri = cluster.a.url("/api/oauth/openid");
    browser
        .sign_in_at_provider(authorize.as_str(), login, &format!("{login}-pw"), &redirect_uri)
        .await
}

/// The value of cookie `name` as the browser would send it to `server`.
pub fn cookie(browser: &Browser, server: &RomgateServer, name: &str) -> Option<String> {
    let url = Url::parse(&server.url("/")).expect("url");
    let header = browser.jar().cookies(&url)?;
    let prefix = format!("{name}=");
    header
        .to_str()
        .ok()?
        .split("; ")
        .find_map(|c| c.strip_prefix(prefix.as_str()))
        .map(str::to_string)
}

/// `POST /api/login` with HTTP Basic from `browser`.
pub async fn password_login(browser: &Browser, server: &RomgateServer, username: &str, password: &str) -> Page {
    let response = browser
        .client()
        .post(server.url("/api/login"))
        .basic_auth(username, Some(password))
        .send()
        .await
        .expect("romgate answers");
    page(server.url("/api/login"), response).await
}

/// `POST /api/token` with a form; the status and the JSON answer.
pub async fn token(server: &RomgateServer, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(server.url("/api/token"))
        .form(form)
        .send()
        .await
        .expect("romgate answers");
    let status = response.status();
    (status, response.json().await.expect("JSON"))
}

/// `GET /api/users/me` with an explicit credential (`Cookie` or
/// `Authorization` header), from a client with no cookie jar: the answer
/// depends only on the server's records, never on a cookie the browser
/// dropped.
pub async fn me_with(server: &RomgateServer, header: &str, value: &str) -> Result<Value, StatusCode> {
    let response = reqwest::Client::new()
        .get(server.url("/api/users/me"))
        .header(header, value)
        .send()
        .await
        .expect("romgate answers");
    match response.status() {
        StatusCode::OK => Ok(response.json().await.expect("JSON")),
        other => Err(other),
    }
}

/// `me_with` for a session cookie value.
pub async fn me_by_session(server: &RomgateServer, session: &str) -> Result<Value, StatusCode> {
    me_with(server, "cookie", &format!("romm_session={session}")).await
}

/// `me_with` for a bearer token.
pub async fn me_by_bearer(server: &RomgateServer, token: &str) -> Result<Value, StatusCode> {
    me_with(server, "authorization", &format!("Bearer {token}")).await
}

async fn page(url: String, response: reqwest::Response) -> Page {
    let url = Url::parse(&url).expect("url");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap_or_default();
    Page {
        url,
        status,
        headers,
        location: None,
        body,
    }
}
