//! Helpers shared by the fault tests (disk full, SIGKILL, soak): API calls
//! with a bearer token, multipart uploads by hand (the test client has no
//! multipart support), and a small tmpfs that is unmounted on drop.

#![allow(dead_code)] // a helper library: not every test uses every helper

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::Value;

pub const PASSWORD: &str = "a long password";
const BOUNDARY: &str = "romgate-e2e-boundary-7f3a";

/// No answer within romgate's own request deadline (30 s) is a hang.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a client")
}

/// An answer read whole: status, body text and the body as JSON (Null when
/// it is not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub retry_after: bool,
    pub text: String,
    pub json: Value,
    /// `name=value` of every Set-Cookie.
    pub cookies: Vec<String>,
}

impl Answer {
    pub async fn read(response: reqwest::Response) -> Answer {
        let status = response.status();
        let retry_after = response.headers().contains_key(reqwest::header::RETRY_AFTER);
        let cookies = response
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .map(str::to_string)
            .collect();
        let text = response.text().await.unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            retry_after,
            text,
            json,
            cookies,
        }
    }

    /// The value a Set-Cookie gave `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies
            .iter()
            .find_map(|c| c.strip_prefix(name)?.strip_prefix('='))
            .map(str::to_string)
    }

    pub fn error(&self) -> &str {
        self.json["error"].as_str().unwrap_or_default()
    }
}

/// A password grant: (access token, refresh token).
pub async fn grant(client: &reqwest::Client, base: &str, username: &str) -> Result<(String, String), Answer> {
    let form = [
        ("grant_type", "password"),
        ("username", username),
        ("password", PASSWORD),
    ];
    let answer = Answer::read(post_form(client, base, &form).await?).await;
    tokens_of(answer)
}

/// A refresh: the new (access token, refresh token).
pub async fn refresh(client: &reqwest::Client, base: &str, refresh_token: &str) -> Result<(String, String), Answer> {
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh_token)];
    let answer = Answer::read(post_form(client, base, &form).await?).await;
    tokens_of(answer)
}

async fn post_form(client: &reqwest::Client, base: &str, form: &[(&str, &str)]) -> Result<reqwest::Response, Answer> {
    client
        .post(format!("{base}/api/token"))
        .form(form)
        .send()
        .await
        .map_err(lost)
}

fn tokens_of(answer: Answer) -> Result<(String, String), Answer> {
    if answer.status != StatusCode::OK {
        return Err(answer);
    }
    let access = answer.json["access_token"].as_str().unwrap_or_default().to_string();
    let refresh = answer.json["refresh_token"].as_str().unwrap_or_default().to_string();
    Ok((access, refresh))
}

/// A request that got no answer at all (connection refused or reset).
pub fn lost(err: reqwest::Error) -> Answer {
    Answer {
        status: StatusCode::from_u16(599).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        retry_after: false,
        text: format!("no answer: {err}"),
        json: Value::Null,
        cookies: Vec::new(),
    }
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// GET `path` with a bearer token.
pub async fn get(client: &reqwest::Client, base: &str, path: &str, token: &str) -> Answer {
    match client
        .get(format!("{base}{path}"))
        .header(AUTHORIZATION, bearer(token))
        .send()
        .await
    {
        Ok(response) => Answer::read(response).await,
        Err(err) => lost(err),
    }
}

/// Creates a user through the API (an administrator's token).
pub async fn create_user(client: &reqwest::Client, base: &str, admin: &str, username: &str) -> Answer {
    let body = serde_json::json!({"username": username, "password": PASSWORD, "role": "viewer"});
    match client
        .post(format!("{base}/api/users"))
        .header(AUTHORIZATION, bearer(admin))
        .json(&body)
        .send()
        .await
    {
        Ok(response) => Answer::read(response).await,
        Err(err) => lost(err),
    }
}

/// A multipart/form-data body with the platform field and one file.
pub fn multipart(platform: &str, file_name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"platform\"\r\n\r\n{platform}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Uploads `bytes` as `file_name` to `platform` (an editor's token).
pub async fn upload(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    platform: &str,
    file_name: &str,
    bytes: &[u8],
) -> Answer {
    match client
        .post(format!("{base}/api/roms"))
        .header(AUTHORIZATION, bearer(token))
        .header(CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(multipart(platform, file_name, bytes))
        .send()
        .await
    {
        Ok(response) => Answer::read(response).await,
        Err(err) => lost(err),
    }
}

/// `bytes` long content that tells uploads apart (and a torn one from a
/// whole one: every byte depends on the seed and the position).
pub fn content(seed: u64, bytes: usize) -> Vec<u8> {
    (0..bytes as u64)
        .map(|i| (seed.wrapping_mul(31).wrapping_add(i.wrapping_mul(7)) % 251) as u8)
        .collect()
}

/// A tmpfs of `size` (e.g. "8m") mounted on a fresh folder; unmounted (and
/// the folder removed) on drop, whatever the test did. Needs root.
pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    pub fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::Builder::new()
            .prefix("romgate-tmpfs-")
            .tempdir()
            .expect("a mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0755"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("mount runs");
        assert!(
            status.success(),
            "mounting a tmpfs needs root (and CAP_SYS_ADMIN): {status}"
        );
        Tmpfs { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the file system up: writes a file until the disk refuses.
    pub fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).expect("filler");
        let block = vec![0u8; 64 * 1024];
        loop {
            if let Err(err) = file.write_all(&block) {
                assert_eq!(err.kind(), std::io::ErrorKind::StorageFull, "{err}");
                break;
            }
        }
        // Smaller writes to take the last partial block too.
        while file.write_all(&[0u8; 512]).is_ok() {}
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount").arg(self.dir.path()).status();
        if !unmounted.is_ok_and(|s| s.success()) {
            // Something still holds a file open there: detach it now, the
            // kernel frees it once the last file closes.
            let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
        }
    }
}
