//! A complete single sign-on against the real test provider
//! (`e2e/provider/server.mjs`, the `oidc-provider` package), with romgate's
//! own time told apart from the provider's.
//!
//! The provider's issuer is a small timing proxy in front of it, so every
//! call to the provider, the browser's and romgate's own back-channel calls
//! (token, userinfo, keys), passes through it and is timed there. romgate's
//! own time is then its two requests (`/api/login/openid` and the callback)
//! minus the provider calls that started during the callback.

#[path = "../tests/e2e/browser.rs"]
mod browser;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use crate::Res;
use crate::report::{median, percentile};
use browser::Browser;

/// One provider call seen by the proxy.
#[derive(Clone)]
struct Call {
    started: Instant,
    took: Duration,
}

#[derive(Clone)]
struct Proxy {
    upstream: u16,
    client: reqwest::Client,
    calls: Arc<Mutex<Vec<Call>>>,
}

/// The provider process behind its timing proxy; stopped on drop.
pub struct Provider {
    child: Child,
    proxy: Proxy,
    pub issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// romgate's OIDC settings for a server on `romgate_port`.
pub fn romgate_env(provider: &Provider, romgate_port: u16) -> Vec<(String, String)> {
    let base = format!("http://127.0.0.1:{romgate_port}");
    [
        ("OIDC_ENABLED", "true".to_string()),
        ("OIDC_PROVIDER", "Bench IdP".to_string()),
        ("OIDC_CLIENT_ID", "romgate".to_string()),
        ("OIDC_CLIENT_SECRET", "romgate-secret".to_string()),
        ("OIDC_REDIRECT_URI", format!("{base}/api/oauth/openid")),
        ("OIDC_SERVER_APPLICATION_URL", provider.issuer.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Starts the provider (for a romgate on `romgate_port`) and its proxy.
pub async fn start_provider(repo: &Path, dir: &Path, romgate_port: u16) -> Res<Provider> {
    let provider_port = crate::server::free_port()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let issuer = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
    let base = format!("http://127.0.0.1:{romgate_port}");
    let config = json!({
        "port": provider_port,
        "issuer": issuer,
        "clients": [{
            "client_id": "romgate",
            "client_secret": "romgate-secret",
            "redirect_uris": [format!("{base}/api/oauth/openid")],
        }],
        "accounts": [{
            "sub": "alice-sub", "login": "alice", "password": "alice-pw",
            "claims": {"email": "alice@example.test", "email_verified": true, "preferred_username": "alice"},
        }],
    });
    let file = dir.join("provider.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&config)?)?;
    let mut child = Command::new("node")
        .arg(repo.join("e2e/provider/server.mjs"))
        .arg(&file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("provider.log"))?)
        .spawn()
        .map_err(|e| format!("cannot run node (is Node.js installed?): {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let ready = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines();
        let ready = lines
            .next()
            .and_then(Result::ok)
            .is_some_and(|l| l.starts_with("READY "));
        // Keep draining, so node never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        ready
    });
    if !tokio::time::timeout(Duration::from_secs(30), ready).await?? {
        let _ = child.kill();
        return Err(format!(
            "the test provider did not start; see {}",
            dir.join("provider.log").display()
        )
        .into());
    }
    let proxy = Proxy {
        upstream: provider_port,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?,
        calls: Arc::new(Mutex::new(Vec::new())),
    };
    let app = axum::Router::new().fallback(forward).with_state(proxy.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(Provider { child, proxy, issuer })
}

/// Forwards one request to the provider as it is (Host included, so the
/// provider builds its URLs for the issuer) and times it.
async fn forward(State(proxy): State<Proxy>, request: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 1 << 20).await else {
        return status_only(StatusCode::BAD_REQUEST);
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let url = format!("http://127.0.0.1:{}{path}", proxy.upstream);
    let mut headers = parts.headers.clone();
    strip_hop_headers(&mut headers);
    let sent = proxy
        .client
        .request(parts.method, url)
        .headers(headers)
        .body(body)
        .send()
        .await;
    let response = match sent {
        Ok(upstream) => {
            let status = upstream.status();
            let mut headers = upstream.headers().clone();
            match upstream.bytes().await {
                Ok(bytes) => {
                    strip_hop_headers(&mut headers);
                    let mut response = Response::new(Body::from(bytes));
                    *response.status_mut() = status;
                    *response.headers_mut() = headers;
                    response
                }
                Err(_) => status_only(StatusCode::BAD_GATEWAY),
            }
        }
        Err(_) => status_only(StatusCode::BAD_GATEWAY),
    };
    if let Ok(mut calls) = proxy.calls.lock() {
        calls.push(Call {
            started,
            took: started.elapsed(),
        });
    }
    response
}

fn strip_hop_headers(headers: &mut HeaderMap) {
    for name in [header::CONNECTION, header::TRANSFER_ENCODING, header::CONTENT_LENGTH] {
        headers.remove(name);
    }
    headers.remove("keep-alive");
}

fn status_only(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

/// The times of one sign-in, in milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct SignIn {
    pub total: f64,
    /// `GET /api/login/openid` (stores the attempt, redirects).
    pub romgate_start: f64,
    /// The callback as the browser saw it.
    pub callback: f64,
    /// The provider calls romgate made during the callback.
    pub callback_provider: f64,
    /// The browser at the provider: login and consent pages, redirects.
    pub provider_pages: f64,
}

impl SignIn {
    /// romgate's own time: its two requests less its calls to the provider.
    pub fn romgate_own(&self) -> f64 {
        self.romgate_start + self.callback - self.callback_provider
    }
}

/// Signs in as alice with a fresh browser and times each part.
pub async fn sign_in(provider: &Provider, romgate_base: &str) -> Res<SignIn> {
    let browser = Browser::new();
    let began = Instant::now();
    let start = browser.get(&format!("{romgate_base}/api/login/openid")).await;
    let romgate_start = ms(began.elapsed());
    let authorize = start.location.filter(|_| start.status == StatusCode::FOUND);
    let authorize = authorize.ok_or_else(|| format!("/api/login/openid answered {}: {}", start.status, start.body))?;
    let pages_began = Instant::now();
    let callback_url = browser
        .sign_in_at_provider(
            authorize.as_str(),
            "alice",
            "alice-pw",
            &format!("{romgate_base}/api/oauth/openid"),
        )
        .await;
    let provider_pages = ms(pages_began.elapsed());
    let callback_began = Instant::now();
    let landed = browser.get(callback_url.as_str()).await;
    let callback_ended = Instant::now();
    if landed.status != StatusCode::SEE_OTHER || landed.location.as_ref().map(|l| l.path()) != Some("/") {
        return Err(format!("the callback answered {}: {}", landed.status, landed.body).into());
    }
    let callback_provider = provider
        .proxy
        .calls
        .lock()
        .map_err(|_| "proxy lock poisoned")?
        .iter()
        .filter(|c| c.started >= callback_began && c.started <= callback_ended)
        .map(|c| ms(c.took))
        .sum();
    Ok(SignIn {
        total: ms(began.elapsed()),
        romgate_start,
        callback: ms(callback_ended - callback_began),
        callback_provider,
        provider_pages,
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Medians and p90s over `runs` sign-ins (after the first, which creates
/// the account and is reported apart).
pub fn summary(first: &SignIn, runs: &[SignIn]) -> Value {
    let stat = |f: &dyn Fn(&SignIn) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        json!({"median": median(&v), "p90": percentile(&v, 90.0)})
    };
    json!({
        "sign_ins": runs.len(),
        "first_sign_in_creates_account_ms": {"total": first.total, "romgate_own": first.romgate_own()},
        "total_ms": stat(&|s| s.total),
        "romgate_own_ms": stat(&|s| s.romgate_own()),
        "romgate_start_ms": stat(&|s| s.romgate_start),
        "callback_ms": stat(&|s| s.callback),
        "callback_provider_calls_ms": stat(&|s| s.callback_provider),
        "provider_pages_ms": stat(&|s| s.provider_pages),
    })
}
