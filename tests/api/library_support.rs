//! Helpers for the library tests: files in the test's library folder,
//! multipart bodies, requests as a signed-in browser.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::Method;
use romgate::library::ScanReport;
use sha2::{Digest, Sha256};

use crate::util::{Browser, TestApp, TestResponse, request};

pub const BOUNDARY: &str = "romgate-test-boundary-7MA4YWxkTrZu0gW";

/// The test app's library folder (ROMM_LIBRARY_PATH).
pub fn library_dir(app: &TestApp) -> PathBuf {
    app.state.config.library_path.clone()
}

/// Writes `roms/<platform>/<name>` with `bytes` (`name` may be `folder/file`).
pub fn put_file(app: &TestApp, platform: &str, name: &str, bytes: &[u8]) -> PathBuf {
    let path = library_dir(app).join("roms").join(platform).join(name);
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("platform folder");
    std::fs::write(&path, bytes).expect("ROM written");
    path
}

pub async fn scan(app: &TestApp) -> ScanReport {
    app.state.library.scan(app.now()).await.expect("scan")
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Bytes that differ from position to position (so a wrong range shows).
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ seed).collect()
}

/// A multipart/form-data body: the text fields in order, then the file
/// (field `file`).
pub fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    if let Some((file_name, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

pub fn multipart_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// `POST /api/roms` as `browser` (cookie and CSRF header).
pub async fn upload(app: &TestApp, browser: &Browser, platform: &str, file_name: &str, bytes: &[u8]) -> TestResponse {
    let body = multipart(&[("platform", platform)], Some((file_name, bytes)));
    send_upload(app, browser, body).await
}

pub async fn send_upload(app: &TestApp, browser: &Browser, body: impl Into<Body>) -> TestResponse {
    let cookie = browser.cookie_header();
    let content_type = multipart_type();
    let headers = [
        ("cookie", cookie.as_str()),
        ("x-csrftoken", browser.csrf.as_str()),
        ("content-type", content_type.as_str()),
    ];
    app.send(request(Method::POST, "/api/roms", &headers, body.into()))
        .await
}

/// A GET as `browser`, with extra headers.
pub async fn get_as(app: &TestApp, browser: &Browser, path: &str, extra: &[(&str, &str)]) -> TestResponse {
    let cookie = browser.cookie_header();
    let mut headers = vec![("cookie", cookie.as_str())];
    headers.extend_from_slice(extra);
    app.get(path, &headers).await
}

/// Every file and link under `dir` (links are listed, not followed).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path).expect("metadata");
        if meta.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found.sort();
    found
}

/// The ids and file names the API lists for `query` (as `browser`).
pub async fn listed(app: &TestApp, browser: &Browser, query: &str) -> Vec<(i64, String)> {
    let response = get_as(app, browser, &format!("/api/roms?{query}"), &[]).await;
    assert_eq!(response.status, 200, "{}", response.text());
    response.json()["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|rom| {
            (
                rom["id"].as_i64().expect("id"),
                rom["file_name"].as_str().expect("name").to_string(),
            )
        })
        .collect()
}
