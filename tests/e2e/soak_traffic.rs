//! One soak worker: visits in a loop, each a realistic mix. A password
//! login with a few session calls and a logout; a token grant with bearer
//! calls (the library listing, a download) and a refresh; an account
//! created and deleted by an administrator; every few visits a single
//! sign-on through the real provider, also ended with a logout.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, COOKIE};
use tokio::sync::Mutex;

use crate::browser::Browser;
use crate::fault_support::{Answer, PASSWORD, bearer, client, lost};
use crate::soak_report::{Kind, Stats};

/// What every worker shares.
pub struct Soak {
    pub base: String,
    pub started: Instant,
    pub until: Instant,
    pub bucket_seconds: u64,
    pub stats: Arc<Mutex<Stats>>,
    /// The ROM every download fetches: its API path and its length.
    pub download: (String, usize),
    /// One SSO sign-in every this many visits (none when 0), and not
    /// before this instant (see `SSO_GAP`).
    pub sso_every: u64,
    pub next_sso: Mutex<Instant>,
}

/// At most one single sign-on this often, across workers: the soak comes
/// from one address, and romgate allows 60 sign-on starts per address in 10
/// minutes (`SSO_STARTS_PER_ADDRESS`); a release build's workers would
/// otherwise start hundreds, and be refused, as they should be.
const SSO_GAP: Duration = Duration::from_secs(11);

impl Soak {
    /// Whether a single sign-on may start now (and none for `SSO_GAP`).
    async fn sso_due(&self) -> bool {
        let mut next = self.next_sso.lock().await;
        let now = Instant::now();
        if now < *next {
            return false;
        }
        *next = now + SSO_GAP;
        true
    }

    async fn record(&self, kind: Kind, began: Instant, outcome: Result<(), String>) {
        let bucket = began.duration_since(self.started).as_secs() / self.bucket_seconds;
        self.stats.lock().await.record(kind, bucket, began.elapsed(), outcome);
    }

    /// Runs `call`, checks its status is `want`, records it; the answer
    /// (or `None` if it was not as expected).
    async fn expect<F>(&self, kind: Kind, want: StatusCode, call: F) -> Option<Answer>
    where
        F: std::future::Future<Output = Result<reqwest::Response, reqwest::Error>>,
    {
        let began = Instant::now();
        let answer = match call.await {
            Ok(response) => Answer::read(response).await,
            Err(err) => lost(err),
        };
        if answer.status == want {
            self.record(kind, began, Ok(())).await;
            Some(answer)
        } else {
            let text: String = answer.text.chars().take(200).collect();
            self.record(kind, began, Err(format!("{} {text}", answer.status))).await;
            None
        }
    }
}

pub async fn worker(soak: Arc<Soak>, id: u64, admin: String) {
    let client = client();
    let mut visit = 0u64;
    while Instant::now() < soak.until {
        session_visit(&soak, &client).await;
        token_visit(&soak, &client).await;
        account_visit(&soak, &client, &admin, id, visit).await;
        if soak.sso_every > 0 && (visit + id).is_multiple_of(soak.sso_every) && soak.sso_due().await {
            sso_visit(&soak).await;
        }
        visit += 1;
    }
}

async fn session_visit(soak: &Soak, client: &reqwest::Client) {
    let base = &soak.base;
    let login = client
        .post(format!("{base}/api/login"))
        .basic_auth("root", Some(PASSWORD))
        .send();
    let Some(answer) = soak.expect(Kind::PasswordLogin, StatusCode::OK, login).await else {
        return;
    };
    let (Some(session), Some(csrf)) = (answer.cookie("romm_session"), answer.cookie("romm_csrftoken")) else {
        return;
    };
    let cookies = format!("romm_session={session}; romm_csrftoken={csrf}");
    for _ in 0..3 {
        let me = client
            .get(format!("{base}/api/users/me"))
            .header(COOKIE, &cookies)
            .send();
        soak.expect(Kind::SessionApi, StatusCode::OK, me).await;
    }
    let out = client
        .post(format!("{base}/api/logout"))
        .header(COOKIE, &cookies)
        .header("x-csrftoken", &csrf)
        .send();
    soak.expect(Kind::Logout, StatusCode::OK, out).await;
}

async fn token_visit(soak: &Soak, client: &reqwest::Client) {
    let base = &soak.base;
    let form = [("grant_type", "password"), ("username", "root"), ("password", PASSWORD)];
    let grant = client.post(format!("{base}/api/token")).form(&form).send();
    let Some(answer) = soak.expect(Kind::TokenGrant, StatusCode::OK, grant).await else {
        return;
    };
    let access = answer.json["access_token"].as_str().unwrap_or_default().to_string();
    let refresh = answer.json["refresh_token"].as_str().unwrap_or_default().to_string();
    let with = |path: &str, token: &str| {
        client
            .get(format!("{base}{path}"))
            .header(AUTHORIZATION, bearer(token))
            .send()
    };
    soak.expect(Kind::BearerApi, StatusCode::OK, with("/api/users/me", &access))
        .await;
    soak.expect(Kind::LibraryList, StatusCode::OK, with("/api/roms", &access))
        .await;
    let (path, length) = &soak.download;
    if let Some(file) = soak.expect(Kind::Download, StatusCode::OK, with(path, &access)).await
        && file.text.len() != *length
    {
        let began = Instant::now();
        let what = format!("{} bytes instead of {length}", file.text.len());
        soak.record(Kind::Download, began, Err(what)).await;
    }
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())];
    let rotated = client.post(format!("{base}/api/token")).form(&form).send();
    if let Some(answer) = soak.expect(Kind::Refresh, StatusCode::OK, rotated).await {
        let next = answer.json["access_token"].as_str().unwrap_or_default();
        soak.expect(Kind::BearerApi, StatusCode::OK, with("/api/users/me", next))
            .await;
    }
}

async fn account_visit(soak: &Soak, client: &reqwest::Client, admin: &str, id: u64, visit: u64) {
    let base = &soak.base;
    let body = serde_json::json!({"username": format!("soak-{id}-{visit}"), "password": PASSWORD, "role": "viewer"});
    let create = client
        .post(format!("{base}/api/users"))
        .header(AUTHORIZATION, bearer(admin))
        .json(&body)
        .send();
    let Some(created) = soak.expect(Kind::UserCreate, StatusCode::CREATED, create).await else {
        return;
    };
    let user = created.json["id"].as_i64().unwrap_or_default();
    let delete = client
        .delete(format!("{base}/api/users/{user}"))
        .header(AUTHORIZATION, bearer(admin))
        .send();
    soak.expect(Kind::UserDelete, StatusCode::OK, delete).await;
}

/// A single sign-on in a fresh browser (no provider session yet), then a
/// session call and a logout.
async fn sso_visit(soak: &Soak) {
    let browser = Browser::new();
    let base = &soak.base;
    let began = Instant::now();
    let start = browser.get(&format!("{base}/api/login/openid")).await;
    let Some(authorize) = start.location.filter(|_| start.status == StatusCode::FOUND) else {
        let what = format!(
            "start {} {}",
            start.status,
            start.body.chars().take(200).collect::<String>()
        );
        return soak.record(Kind::SsoSignIn, began, Err(what)).await;
    };
    let callback = browser
        .sign_in_at_provider(
            authorize.as_str(),
            "alice",
            "alice-pw",
            &format!("{base}/api/oauth/openid"),
        )
        .await;
    let landed = browser.get(callback.as_str()).await;
    if landed.status != StatusCode::SEE_OTHER {
        let what = format!(
            "callback {} {}",
            landed.status,
            landed.body.chars().take(200).collect::<String>()
        );
        return soak.record(Kind::SsoSignIn, began, Err(what)).await;
    }
    soak.record(Kind::SsoSignIn, began, Ok(())).await;
    let client = browser.client();
    soak.expect(
        Kind::SessionApi,
        StatusCode::OK,
        client.get(format!("{base}/api/users/me")).send(),
    )
    .await;
    let csrf = crate::soak::cookie_in(&browser, base, "romm_csrftoken").unwrap_or_default();
    let out = client
        .post(format!("{base}/api/logout"))
        .header("x-csrftoken", csrf)
        .send();
    soak.expect(Kind::Logout, StatusCode::OK, out).await;
}

/// How long a visit may take before the soak stops waiting for it.
pub const VISIT_GRACE: Duration = Duration::from_secs(60);
