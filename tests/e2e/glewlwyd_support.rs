//! A second real OpenID Provider for end-to-end tests: Debian's Glewlwyd
//! (package `glewlwyd`; `.ci/run` installs it, the tests install nothing),
//! started as a plain local process on a loopback port with its SQLite
//! backend in a temp dir, and configured through its admin REST API the way
//! an administrator would: an OpenID Connect plugin instance, a confidential
//! client, scopes, and users whose `groups` property becomes a claim.
//!
//! Glewlwyd's login page is a JavaScript application (login.html, not
//! served here); `glewlwyd_pages` does with plain HTTP what it does.

#![allow(dead_code)] // a helper library: not every test uses every helper

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::provider::free_port;

/// Debian's binary, its modules, and the schema it ships.
const BINARY: &str = "/usr/bin/glewlwyd";
const MODULES: &str = "/usr/lib/glewlwyd";
const SCHEMA: &str = "/usr/share/doc/glewlwyd/database/init.sqlite3.sql.gz";
/// The fresh schema's administrator (its documented initial password).
const ADMIN: (&str, &str) = ("admin", "password");
/// The name of the OpenID Connect plugin instance: its URLs live under
/// `/api/<name>/`, so the issuer is `<base>/api/oidc`.
pub const PLUGIN: &str = "oidc";
/// The plugin's session cookie: its value is the `sid` of ID tokens.
pub const SESSION_COOKIE: &str = "GLEWLWYD2_OIDC_SID";
pub const CLIENT_ID: &str = "romgate";
pub const CLIENT_SECRET: &str = "romgate-secret";
/// The scopes romgate asks for with `OIDC_CLAIM_ROLES=groups`; each must
/// exist at Glewlwyd and be given to the user, or it is not granted.
const SCOPES: [&str; 4] = ["openid", "profile", "email", "groups"];

/// The users every instance gets (password `<login>-pw`) and their groups.
pub const PEOPLE: [(&str, &[&str]); 4] = [
    ("alice", &["romm-admins", "romm-users"]),
    ("vera", &["romm-users"]),
    ("ed", &["romm-users", "romm-editors"]),
    ("olga", &["other"]),
];

pub fn password_of(login: &str) -> String {
    format!("{login}-pw")
}

/// A running Glewlwyd; killed on drop.
pub struct Glewlwyd {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Glewlwyd {
    /// A fresh database and config in a temp dir, the process started and
    /// listening. Blocks (use `start_async` from a runtime).
    pub fn start() -> Glewlwyd {
        assert!(
            Path::new(BINARY).exists(),
            "e2e: {BINARY} is missing: install Debian's package `glewlwyd` (`.ci/run` does)"
        );
        let dir = tempfile::tempdir().expect("e2e: temp dir");
        let port = free_port();
        create_database(&dir.path().join("glewlwyd.db"));
        let config = dir.path().join("glewlwyd.conf");
        std::fs::write(&config, config_text(port, dir.path())).expect("e2e: glewlwyd config");
        let log = std::fs::File::create(dir.path().join("glewlwyd.log")).expect("e2e: log file");
        let child = Command::new(BINARY)
            .arg(format!("--config-file={}", config.display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("e2e: log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("e2e: cannot run {BINARY}: {e}"));
        let mut glewlwyd = Glewlwyd { child, port, dir };
        glewlwyd.wait_listening();
        glewlwyd
    }

    pub async fn start_async() -> Glewlwyd {
        tokio::task::spawn_blocking(Glewlwyd::start)
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }

    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("e2e: glewlwyd exited ({status}) before listening:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("e2e: glewlwyd did not listen within 30 s:\n{}", self.log());
    }

    /// Everything it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("glewlwyd.log")).unwrap_or_default()
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `<base>/api<path>`: the admin, authentication and plugin APIs.
    pub fn api(&self, path: &str) -> String {
        format!("{}/api{path}", self.base())
    }

    /// The issuer: the plugin instance's root.
    pub fn issuer(&self) -> String {
        self.api(&format!("/{PLUGIN}"))
    }

    pub fn metadata_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer())
    }

    /// Where Glewlwyd sends a browser that must sign in, consent or confirm
    /// a logout (`login_url` in its config).
    pub fn login_page(&self) -> String {
        format!("{}/login.html", self.base())
    }

    /// Configures it for a romgate at `romgate_base`: signs in as the
    /// initial administrator and creates everything through the admin API.
    pub async fn configure(&self, romgate_base: &str) {
        let admin = Admin::sign_in(self).await;
        // Extra user and client properties exist only once the backend's
        // data format names them, and take effect after a reset.
        let groups =
            json!({"multiple": true, "read": true, "write": true, "profile-read": true, "profile-write": false});
        admin.add_property("user", "groups", groups).await;
        let uris = json!({"multiple": true, "read": true, "write": true});
        admin.add_property("client", "post_logout_redirect_uris", uris).await;
        for scope in SCOPES.iter().filter(|s| **s != "openid") {
            let body = json!({"name": scope, "display_name": scope, "description": scope,
                "password_required": true, "password_max_age": 0, "scheme": {}});
            admin.send(reqwest::Method::POST, "/scope/", body).await;
        }
        admin
            .send(reqwest::Method::POST, "/mod/plugin/", plugin(&self.issuer()))
            .await;
        admin
            .send(reqwest::Method::POST, "/client/", client(romgate_base, CLIENT_SECRET))
            .await;
        for (login, groups) in PEOPLE {
            let body = json!({"username": login, "password": password_of(login), "name": login,
                "email": format!("{login}@example.test"), "scope": SCOPES, "groups": groups, "enabled": true});
            admin.send(reqwest::Method::POST, "/user/", body).await;
        }
    }

    /// Replaces a user's groups (as an administrator would, in its admin UI).
    pub async fn set_groups(&self, login: &str, groups: &[&str]) {
        let admin = Admin::sign_in(self).await;
        let body = json!({"username": login, "name": login, "email": format!("{login}@example.test"),
            "scope": SCOPES, "groups": groups, "enabled": true});
        admin.send(reqwest::Method::PUT, &format!("/user/{login}"), body).await;
    }
}

impl Drop for Glewlwyd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The schema Debian ships, gzipped SQL, loaded into a new SQLite file.
fn create_database(path: &PathBuf) {
    let sql = Command::new("gzip")
        .arg("-dc")
        .arg(SCHEMA)
        .output()
        .unwrap_or_else(|e| panic!("e2e: cannot run gzip: {e}"));
    assert!(sql.status.success(), "e2e: cannot read {SCHEMA}");
    let sql = String::from_utf8(sql.stdout).expect("e2e: the schema is UTF-8");
    let db = rusqlite::Connection::open(path).expect("e2e: glewlwyd database");
    db.execute_batch(&sql).expect("e2e: glewlwyd schema");
}

/// A config of its own (not a copy of /etc/glewlwyd's): loopback, plain
/// HTTP (so its cookies must not be `Secure`), log to standard output.
fn config_text(port: u16, dir: &Path) -> String {
    format!(
        r#"port={port}
bind_address="127.0.0.1"
external_url="http://127.0.0.1:{port}"
login_url="login.html"
api_prefix="api"
log_mode="console"
log_level="INFO"
cookie_secure=0
admin_scope="g_admin"
profile_scope="g_profile"
user_module_path="{MODULES}/user"
client_module_path="{MODULES}/client"
user_auth_scheme_module_path="{MODULES}/scheme"
plugin_module_path="{MODULES}/plugin"
hash_algorithm="SHA512"
database = {{
  type = "sqlite3"
  path = "{db}"
}};
"#,
        db = dir.join("glewlwyd.db").display()
    )
}

/// The OpenID Connect plugin instance: ES256 with a fresh key, the code
/// flow, session management (end_session, front- and back-channel
/// logout), and the claims romgate reads: `groups` (with the `groups`
/// scope) and `preferred_username`.
fn plugin(issuer: &str) -> Value {
    let key = rcgen::KeyPair::generate().expect("e2e: signing key");
    let signing = json!({"iss": issuer, "jwt-type": "ecdsa", "jwt-key-size": "256",
        "key": key.serialize_pem(), "cert": key.public_key_pem(), "jwks-show": true});
    let flows = json!({
        "access-token-duration": 3600, "refresh-token-duration": 1209600, "code-duration": 600,
        "refresh-token-rolling": true, "allow-non-oidc": false,
        "auth-type-code-enabled": true, "auth-type-token-enabled": false, "auth-type-id-token-enabled": true,
        "auth-type-none-enabled": false, "auth-type-password-enabled": false, "auth-type-client-enabled": false,
        "auth-type-device-enabled": false, "auth-type-refresh-enabled": true,
        "pkce-allowed": true, "pkce-method-plain-allowed": false});
    let claim = |name: &str, property: &str, scope: &[&str]| {
        json!({"name": name, "user-property": property, "type": "string",
            "mandatory": scope.is_empty(), "on-demand": false, "scope": scope})
    };
    let claims = json!({
        "claims": [claim("groups", "groups", &["groups"]), claim("preferred_username", "username", &[])],
        "name-claim": "mandatory", "name-claim-scope": [], "email-claim": "mandatory", "email-claim-scope": [],
        "scope-claim": "no", "scope-claim-scope": [], "scope": [], "additional-parameters": [],
        "address-claim": {"type": "no", "mandatory": false},
        "secret-type": "public", "allowed-scope": SCOPES});
    // Without front-channel logout, its login page cannot list the
    // session's clients (HTTP 400) when it ends a session.
    let sessions = json!({"session-management-allowed": true, "session-cookie-name": SESSION_COOKIE,
        "session-cookie-expiration": 2419200,
        "front-channel-logout-allowed": true, "back-channel-logout-allowed": true});
    let mut parameters = serde_json::Map::new();
    for part in [signing, flows, claims, sessions] {
        if let Value::Object(fields) = part {
            parameters.extend(fields);
        }
    }
    json!({"module": "oidc", "name": PLUGIN, "display_name": "OpenID Connect", "parameters": parameters})
}

/// romgate's client: confidential, `client_secret_basic`, the code flow,
/// its callback, post-logout and back-channel logout URIs.
fn client(romgate_base: &str, secret: &str) -> Value {
    json!({"client_id": CLIENT_ID, "name": "romgate", "confidential": true, "client_secret": secret,
        "redirect_uri": [format!("{romgate_base}/api/oauth/openid")],
        "authorization_type": ["code", "refresh_token"],
        "token_endpoint_auth_method": ["client_secret_basic"],
        "post_logout_redirect_uris": [format!("{romgate_base}/login")],
        "backchannel_logout_uri": format!("{romgate_base}/api/oauth/openid/backchannel-logout"),
        "backchannel_logout_session_required": "true",
        "scope": [], "enabled": true})
}

/// A signed-in administrator session (cookie) on one instance.
struct Admin<'g> {
    glewlwyd: &'g Glewlwyd,
    http: reqwest::Client,
}

impl<'g> Admin<'g> {
    async fn sign_in(glewlwyd: &'g Glewlwyd) -> Admin<'g> {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .timeout(Duration::from_secs(20))
            .build()
            .expect("reqwest client");
        let admin = Admin { glewlwyd, http };
        let (username, password) = ADMIN;
        let body = json!({"username": username, "password": password});
        admin.send(reqwest::Method::POST, "/auth/", body).await;
        admin
    }

    /// Sends `body` to the admin API; anything but 200 fails the test with
    /// Glewlwyd's answer (a JSON list of what is wrong) and its log.
    async fn send(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = self.glewlwyd.api(path);
        let mut request = self.http.request(method.clone(), &url);
        if !body.is_null() {
            request = request.json(&body);
        }
        let answer = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("e2e: glewlwyd {method} {url}: {e}"));
        let status = answer.status();
        let text = answer.text().await.unwrap_or_default();
        assert_eq!(
            status,
            StatusCode::OK,
            "e2e: glewlwyd {method} {path}: {text}\n{}",
            self.glewlwyd.log()
        );
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Adds `name` to the data format of the `kind` ("user" or "client")
    /// backend instance `database`, then resets it so it takes effect.
    async fn add_property(&self, kind: &str, name: &str, format: Value) {
        let path = format!("/mod/{kind}/database");
        let mut module = self.send(reqwest::Method::GET, &path, Value::Null).await;
        module["parameters"]["data-format"][name] = format;
        let update = json!({"display_name": module["display_name"], "parameters": module["parameters"],
            "order_rank": module["order_rank"], "readonly": module["readonly"]});
        self.send(reqwest::Method::PUT, &path, update).await;
        self.send(reqwest::Method::PUT, &format!("{path}/reset"), Value::Null)
            .await;
    }
}
