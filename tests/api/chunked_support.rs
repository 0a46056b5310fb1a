//! Helpers for the chunked upload tests: RomM's four requests as a
//! signed-in browser, and bodies of any length that are never held whole.

use axum::body::Body;
use axum::http::Method;
use tokio::io::AsyncReadExt;
use tokio_util::io::ReaderStream;

use crate::library_support::library_dir;
use crate::util::{Browser, TestApp, TestResponse, request};

pub const MIB: u64 = 1024 * 1024;

/// A platform row (and its folder is made by the upload), as RomM's
/// clients know platforms: by id.
pub async fn platform(app: &TestApp, slug: &str) -> i64 {
    app.store().upsert_platform(slug, app.now()).await.expect("platform")
}

/// `len` bytes of `byte`, streamed a MiB at a time (no `len`-sized buffer).
pub fn repeated(byte: u8, len: u64) -> Body {
    let reader = tokio::io::repeat(byte).take(len);
    Body::from_stream(ReaderStream::with_capacity(reader, 1024 * 1024))
}

async fn send(
    app: &TestApp,
    browser: &Browser,
    method: Method,
    path: &str,
    extra: &[(&str, &str)],
    body: Body,
) -> TestResponse {
    let cookie = browser.cookie_header();
    let mut headers = vec![("cookie", cookie.as_str()), ("x-csrftoken", browser.csrf.as_str())];
    headers.extend_from_slice(extra);
    app.send(request(method, path, &headers, body)).await
}

/// `POST /api/roms/upload/start` with RomM's four headers.
pub async fn start(
    app: &TestApp,
    browser: &Browser,
    platform_id: i64,
    file_name: &str,
    total_size: u64,
    total_chunks: u64,
) -> TestResponse {
    let (platform_id, size, chunks) = (
        platform_id.to_string(),
        total_size.to_string(),
        total_chunks.to_string(),
    );
    let headers = [
        ("x-upload-platform", platform_id.as_str()),
        ("x-upload-filename", file_name),
        ("x-upload-total-size", size.as_str()),
        ("x-upload-total-chunks", chunks.as_str()),
    ];
    send(
        app,
        browser,
        Method::POST,
        "/api/roms/upload/start",
        &headers,
        Body::empty(),
    )
    .await
}

/// Starts an upload that must be accepted: its id.
pub async fn started(app: &TestApp, browser: &Browser, platform_id: i64, name: &str, size: u64, chunks: u64) -> String {
    let response = start(app, browser, platform_id, name, size, chunks).await;
    assert_eq!(response.status, 201, "{}", response.text());
    response.json()["upload_id"].as_str().expect("upload_id").to_string()
}

/// `PUT /api/roms/upload/{id}` with `x-chunk-index`.
pub async fn put_chunk(app: &TestApp, browser: &Browser, id: &str, index: u64, body: impl Into<Body>) -> TestResponse {
    let index = index.to_string();
    let headers = [("x-chunk-index", index.as_str())];
    let path = format!("/api/roms/upload/{id}");
    send(app, browser, Method::PUT, &path, &headers, body.into()).await
}

pub async fn complete(app: &TestApp, browser: &Browser, id: &str) -> TestResponse {
    let path = format!("/api/roms/upload/{id}/complete");
    send(app, browser, Method::POST, &path, &[], Body::empty()).await
}

pub async fn cancel(app: &TestApp, browser: &Browser, id: &str) -> TestResponse {
    let path = format!("/api/roms/upload/{id}/cancel");
    send(app, browser, Method::POST, &path, &[], Body::empty()).await
}

/// The folder holding upload `id`'s chunks.
pub fn chunk_folder(app: &TestApp, id: &str) -> std::path::PathBuf {
    library_dir(app).join("roms/.romgate-uploads").join(id)
}
