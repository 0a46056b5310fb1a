//! The credentials the load uses (an admin created through the setup API, a
//! session cookie with its CSRF cookie, a bearer token, a never-issued
//! session id), and the check that an ended session is refused at once by
//! another instance sharing the database.

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, SET_COOKIE};
use romgate::auth::tokens::{PlainToken, TokenKind};
use serde_json::json;

use crate::Res;

pub const USERNAME: &str = "bench";
pub const PASSWORD: &str = "bench password, long enough";

pub struct Credentials {
    pub session: String,
    pub csrf: String,
    pub bearer: String,
    /// Well formed, never issued: it costs a database lookup to refuse.
    pub invalid_session: String,
    /// The CSRF token romgate binds to `invalid_session` (what a browser
    /// holding that cookie is handed), so its requests are not asked to
    /// replace a stale CSRF cookie.
    pub invalid_csrf: String,
}

impl Credentials {
    pub fn session_cookie(&self) -> String {
        format!("Cookie: romm_session={}; romm_csrftoken={}", self.session, self.csrf)
    }

    pub fn invalid_cookie(&self) -> String {
        format!(
            "Cookie: romm_session={}; romm_csrftoken={}",
            self.invalid_session, self.invalid_csrf
        )
    }

    pub fn bearer_header(&self) -> String {
        format!("Authorization: Bearer {}", self.bearer)
    }
}

fn client() -> Res<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(SET_COOKIE).iter().find_map(|v| {
        let v = v.to_str().ok()?;
        let (pair, _) = v.split_once(';').unwrap_or((v, ""));
        let (k, value) = pair.split_once('=')?;
        (k.trim() == name).then(|| value.trim().to_string())
    })
}

/// Creates the first admin (setup) unless it exists, then signs in twice:
/// a session (with its CSRF cookie) and a bearer token.
pub async fn prepare(base: &str) -> Res<Credentials> {
    let client = client()?;
    let created = client
        .post(format!("{base}/api/users"))
        .json(&json!({"username": USERNAME, "password": PASSWORD}))
        .send()
        .await?;
    if !created.status().is_success() && created.status() != StatusCode::UNAUTHORIZED {
        return Err(format!("creating the admin answered {}", created.status()).into());
    }
    let (session, csrf) = login(&client, base).await?;
    let token: serde_json::Value = client
        .post(format!("{base}/api/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", USERNAME),
            ("password", PASSWORD),
            ("scope", "me.read"),
        ])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let bearer = token["access_token"].as_str().ok_or("no access_token")?.to_string();
    let invalid_session = PlainToken::generate(TokenKind::Session).expose().to_string();
    let page = client
        .get(format!("{base}/api/heartbeat"))
        .header("cookie", format!("romm_session={invalid_session}"))
        .send()
        .await?;
    let invalid_csrf = cookie(page.headers(), "romm_csrftoken").ok_or("no CSRF cookie")?;
    Ok(Credentials {
        session,
        csrf,
        bearer,
        invalid_session,
        invalid_csrf,
    })
}

/// A new session: (session cookie, CSRF cookie).
async fn login(client: &reqwest::Client, base: &str) -> Res<(String, String)> {
    let response = client
        .post(format!("{base}/api/login"))
        .basic_auth(USERNAME, Some(PASSWORD))
        .send()
        .await?;
    if response.status() != StatusCode::OK {
        return Err(format!("login answered {}", response.status()).into());
    }
    let session = cookie(response.headers(), "romm_session").ok_or("no session cookie")?;
    // The login answer hands out the CSRF token bound to the new session.
    let csrf = cookie(response.headers(), "romm_csrftoken").ok_or("no CSRF cookie")?;
    Ok((session, csrf))
}

async fn me_status(client: &reqwest::Client, base: &str, session: &str, csrf: &str) -> Res<StatusCode> {
    Ok(client
        .get(format!("{base}/api/users/me"))
        .header("cookie", format!("romm_session={session}; romm_csrftoken={csrf}"))
        .send()
        .await?
        .status())
}

/// Signs in on `a`, checks the session works on `b`, logs out on `a`, and
/// returns the status `b` answers right after (401 when nothing is stale).
pub async fn logout_seen_elsewhere(a: &str, b: &str) -> Res<StatusCode> {
    let client = client()?;
    let (session, csrf) = login(&client, a).await?;
    let before = me_status(&client, b, &session, &csrf).await?;
    if before != StatusCode::OK {
        return Err(format!("the other instance refused a live session ({before})").into());
    }
    let out = client
        .post(format!("{a}/api/logout"))
        .header("cookie", format!("romm_session={session}; romm_csrftoken={csrf}"))
        .header("x-csrftoken", &csrf)
        .send()
        .await?;
    if !out.status().is_success() {
        return Err(format!("logout answered {}", out.status()).into());
    }
    me_status(&client, b, &session, &csrf).await
}
