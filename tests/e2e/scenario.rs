//! One romgate process wired to one real provider, and a browser.

#![allow(dead_code)] // a helper library: not every test uses every helper

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::browser::{Browser, Page};
use crate::provider::{TestProvider, basic_config, free_port};
use crate::romgate::RomgateServer;

pub const IGNORE: &str = "end-to-end: needs Node.js; run with --ignored";

pub struct Sso {
    pub provider: TestProvider,
    pub romgate: RomgateServer,
    pub browser: Browser,
}

/// The provider config for a romgate on `port`: client `romgate`, account
/// `alice` (groups `romm-admins`), logout URIs registered.
pub fn provider_config(port: u16) -> Value {
    let base = RomgateServer::base_for(port);
    let mut config = basic_config(&format!("{base}/api/oauth/openid"));
    let client = &mut config["clients"][0];
    client["post_logout_redirect_uris"] = json!([format!("{base}/login")]);
    client["backchannel_logout_uri"] = json!(format!("{base}/api/oauth/openid/backchannel-logout"));
    client["backchannel_logout_session_required"] = json!(true);
    config
}

/// An extra provider account.
pub fn account(sub: &str, claims: Value) -> Value {
    json!({"sub": sub, "login": sub, "password": format!("{sub}-pw"), "claims": claims})
}

/// romgate's OIDC settings for `provider` (discovery by metadata URL unless
/// `env` names OIDC_SERVER_APPLICATION_URL), then `env`, whose values may
/// say `{base}` (romgate's URL) and `{provider_port}`.
pub fn romgate_env(provider: &TestProvider, port: u16, env: &[(&str, &str)]) -> Vec<(String, String)> {
    let base = RomgateServer::base_for(port);
    let mut all: Vec<(String, String)> = vec![
        ("OIDC_ENABLED".into(), "true".into()),
        ("OIDC_CLIENT_ID".into(), "romgate".into()),
        ("OIDC_CLIENT_SECRET".into(), "romgate-secret".into()),
        ("OIDC_REDIRECT_URI".into(), format!("{base}/api/oauth/openid")),
    ];
    if !env.iter().any(|(k, _)| *k == "OIDC_SERVER_APPLICATION_URL") {
        all.push(("OIDC_SERVER_METADATA_URL".into(), provider.metadata_url()));
    }
    let fill = |v: &str| {
        v.replace("{base}", &base)
            .replace("{provider_port}", &provider.port().to_string())
    };
    all.extend(env.iter().map(|(k, v)| (k.to_string(), fill(v))));
    all
}

impl Sso {
    /// A provider (config adjusted by `customize`) and romgate with `env`.
    /// An admin `root` exists unless `env` asks for first-boot behaviour.
    pub async fn start(customize: impl FnOnce(&mut Value), env: &[(&str, &str)]) -> Sso {
        let port = free_port();
        let mut config = provider_config(port);
        customize(&mut config);
        let provider = TestProvider::start_async(config).await;
        let all = romgate_env(&provider, port, env);
        let refs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let romgate = tokio::task::block_in_place(|| RomgateServer::start(port, &refs));
        Sso {
            provider,
            romgate,
            browser: Browser::new(),
        }
    }

    pub fn with_admin(self) -> Sso {
        self.romgate.create_admin("root", "root@example.test");
        self
    }

    pub fn url(&self, path: &str) -> String {
        self.romgate.url(path)
    }

    /// Clicks "Sign in", signs in at the provider as `login`, and returns
    /// romgate's answer to the provider's redirect back.
    pub async fn sign_in(&self, login: &str, password: &str) -> Page {
        sign_in_with(&self.browser, &self.romgate, login, password).await
    }

    /// "Sign in again" from the account page: the provider is asked to
    /// authenticate anew (`prompt=login`, `max_age=0`) and to say when.
    pub async fn sign_in_afresh(&self, login: &str, password: &str) -> Page {
        sign_in_from(
            &self.browser,
            &self.romgate,
            "/api/login/openid?fresh=1",
            login,
            password,
        )
        .await
    }

    /// The signed-in user (`/api/users/me`), or the status.
    pub async fn me(&self) -> Result<Value, StatusCode> {
        me(&self.browser, &self.romgate).await
    }
}

pub async fn sign_in_with(browser: &Browser, romgate: &RomgateServer, login: &str, password: &str) -> Page {
    sign_in_from(browser, romgate, "/api/login/openid", login, password).await
}

async fn sign_in_from(browser: &Browser, romgate: &RomgateServer, start: &str, login: &str, password: &str) -> Page {
    let start = browser.get(&romgate.url(start)).await;
    assert_eq!(start.status, StatusCode::FOUND, "start: {}", start.body);
    let authorize = start.location.expect("redirect to the provider");
    let callback = browser
        .sign_in_at_provider(authorize.as_str(), login, password, &romgate.url("/api/oauth/openid"))
        .await;
    browser.get(callback.as_str()).await
}

pub async fn me(browser: &Browser, romgate: &RomgateServer) -> Result<Value, StatusCode> {
    let page = browser.get(&romgate.url("/api/users/me")).await;
    if page.status == StatusCode::OK {
        Ok(serde_json::from_str(&page.body).expect("JSON"))
    } else {
        Err(page.status)
    }
}

/// A successful sign-in lands on `/` (303).
pub fn assert_signed_in(page: &Page) {
    assert_eq!(page.status, StatusCode::SEE_OTHER, "sign-in refused: {}", page.body);
    assert_eq!(page.location.as_ref().map(|l| l.path()), Some("/"));
}

/// A refusal page naming `code`.
pub fn assert_refused(page: &Page, status: StatusCode, code: &str) {
    assert_eq!(page.status, status, "{code}: {}", page.body);
    assert!(page.body.contains(code), "{code} not in: {}", page.body);
}
