//! Downloads as caches and resuming clients use them: ETag and
//! Last-Modified, 304s, If-Range, HEAD, and a Content-Disposition that any
//! file name survives; and RomM's DISABLE_DOWNLOAD_ENDPOINT_AUTH.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use romgate::auth::Role;

use crate::library_support::{get_as, listed, pattern, put_file, scan};
use crate::util::{Browser, TestApp, TestResponse, on_both_engines, request};

/// A signed-in viewer and the download path of the one ROM `name`.
async fn viewer_and_path(app: &TestApp, name: &str, bytes: &[u8]) -> (Browser, String, std::path::PathBuf) {
    let file = put_file(app, "gb", name, bytes);
    scan(app).await;
    let (_, viewer) = app.signed_in("vera", Role::Viewer).await;
    let id = listed(app, &viewer, "").await[0].0;
    let one = get_as(app, &viewer, &format!("/api/roms/{id}"), &[]).await.json();
    let path = one["download_path"].as_str().expect("a download path").to_string();
    (viewer, path, file)
}

async fn head_as(app: &TestApp, browser: &Browser, path: &str, extra: &[(&str, &str)]) -> TestResponse {
    let cookie = browser.cookie_header();
    let mut headers = vec![("cookie", cookie.as_str())];
    headers.extend_from_slice(extra);
    app.send(request(Method::HEAD, path, &headers, Body::empty())).await
}

on_both_engines!(
    validators_answer_304_and_if_range_guards_resumes,
    |app: TestApp| async move {
        let bytes = pattern(2000, 3);
        let (viewer, path, file) = viewer_and_path(&app, "game.gb", &bytes).await;
        let first = get_as(&app, &viewer, &path, &[]).await;
        assert_eq!(first.status, StatusCode::OK);
        let etag = first.header("etag").expect("an ETag").to_string();
        let modified = first.header("last-modified").expect("a Last-Modified").to_string();
        assert!(etag.starts_with('"') && !etag.starts_with("W/"), "strong: {etag}");
        assert!(modified.ends_with(" GMT"), "{modified}");

        let weak = format!("W/{etag}");
        let listed_tags = format!("\"stale\", {etag}");
        for conditions in [
            vec![("if-none-match", etag.as_str())],
            vec![("if-none-match", weak.as_str())],
            vec![("if-none-match", listed_tags.as_str())],
            vec![("if-none-match", "*")],
            vec![("if-modified-since", modified.as_str())],
            vec![("if-none-match", etag.as_str()), ("range", "bytes=0-9")],
        ] {
            let response = get_as(&app, &viewer, &path, &conditions).await;
            assert_eq!(response.status, StatusCode::NOT_MODIFIED, "{conditions:?}");
            assert!(response.body.is_empty(), "{conditions:?}");
            assert_eq!(response.header("etag"), Some(etag.as_str()), "{conditions:?}");
            assert_eq!(response.header("last-modified"), Some(modified.as_str()));
        }
        for conditions in [
            vec![("if-none-match", "\"stale\"")],
            // If-None-Match decides alone, even beside a matching date.
            vec![("if-none-match", "\"stale\""), ("if-modified-since", modified.as_str())],
            vec![("if-modified-since", "Thu, 01 Jan 1970 00:00:00 GMT")],
            vec![("if-modified-since", "not a date")],
        ] {
            let response = get_as(&app, &viewer, &path, &conditions).await;
            assert_eq!(response.status, StatusCode::OK, "{conditions:?}");
            assert_eq!(response.body.as_ref(), bytes.as_slice(), "{conditions:?}");
        }

        for if_range in [etag.as_str(), modified.as_str()] {
            let resumed = get_as(&app, &viewer, &path, &[("range", "bytes=100-"), ("if-range", if_range)]).await;
            assert_eq!(resumed.status, StatusCode::PARTIAL_CONTENT, "{if_range}");
            assert_eq!(resumed.body.as_ref(), &bytes[100..], "{if_range}");
        }
        for if_range in [weak.as_str(), "\"stale\"", "Thu, 01 Jan 1970 00:00:00 GMT", "garbage"] {
            let whole = get_as(&app, &viewer, &path, &[("range", "bytes=100-"), ("if-range", if_range)]).await;
            assert_eq!(whole.status, StatusCode::OK, "{if_range}");
            assert_eq!(whole.body.as_ref(), bytes.as_slice(), "{if_range}");
            assert!(whole.header("content-range").is_none());
        }

        // The file changes under the same name: the old validators fail.
        let changed = pattern(2500, 8);
        std::fs::write(&file, &changed).unwrap();
        let fresh = get_as(&app, &viewer, &path, &[("if-none-match", etag.as_str())]).await;
        assert_eq!(fresh.status, StatusCode::OK);
        assert_eq!(fresh.body.as_ref(), changed.as_slice());
        assert_ne!(fresh.header("etag"), Some(etag.as_str()));
        let stale_resume = get_as(
            &app,
            &viewer,
            &path,
            &[("range", "bytes=100-"), ("if-range", etag.as_str())],
        )
        .await;
        assert_eq!(stale_resume.status, StatusCode::OK, "never splice two versions");
        assert_eq!(stale_resume.body.len(), 2500);
    }
);

#[tokio::test]
async fn head_gives_the_headers_of_get_and_no_body() {
    let app = TestApp::new().await;
    let bytes = pattern(3000, 1);
    let (viewer, path, _) = viewer_and_path(&app, "game.gb", &bytes).await;
    let get = get_as(&app, &viewer, &path, &[]).await;
    let head = head_as(&app, &viewer, &path, &[]).await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    for name in [
        "content-length",
        "etag",
        "last-modified",
        "accept-ranges",
        "content-disposition",
        "content-type",
    ] {
        assert!(head.header(name).is_some(), "{name}");
        assert_eq!(head.header(name), get.header(name), "{name}");
    }
    assert_eq!(head.header("content-length"), Some("3000"));
    let ranged = head_as(&app, &viewer, &path, &[("range", "bytes=-500")]).await;
    assert_eq!(ranged.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(ranged.header("content-range"), Some("bytes 2500-2999/3000"));
    assert_eq!(ranged.header("content-length"), Some("500"));
    assert!(ranged.body.is_empty());
    let etag = get.header("etag").unwrap();
    let cached = head_as(&app, &viewer, &path, &[("if-none-match", etag)]).await;
    assert_eq!(cached.status, StatusCode::NOT_MODIFIED);
    let anonymous = app.send(request(Method::HEAD, &path, &[], Body::empty())).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn any_file_name_survives_content_disposition() {
    let app = TestApp::new().await;
    let name = "Pokémon \"Red\"; filename=evil.exe 100% ü.gb";
    let (viewer, path, _) = viewer_and_path(&app, name, b"pika").await;
    assert_eq!(
        path,
        "/api/roms/1/content/Pok%C3%A9mon%20%22Red%22%3B%20filename%3Devil.exe%20100%25%20%C3%BC.gb"
    );
    let response = get_as(&app, &viewer, &path, &[]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.body.as_ref(), b"pika");
    assert_eq!(
        response.header("content-disposition"),
        Some(
            "attachment; filename=\"Pok_mon _Red_; filename=evil.exe 100_ _.gb\"; \
             filename*=UTF-8''Pok%C3%A9mon%20%22Red%22%3B%20filename%3Devil.exe%20100%25%20%C3%BC.gb"
        )
    );
}

/// RomM's DISABLE_DOWNLOAD_ENDPOINT_AUTH opens a ROM's details and its file
/// (GET and HEAD) to anyone, and nothing else.
#[tokio::test]
async fn disable_download_endpoint_auth_opens_details_and_files_only() {
    let app = TestApp::builder()
        .env("DISABLE_DOWNLOAD_ENDPOINT_AUTH", "true")
        .build()
        .await;
    let (_, path, _) = viewer_and_path(&app, "game.gb", b"open").await;
    let details = app.get("/api/roms/1", &[]).await;
    assert_eq!(details.status, StatusCode::OK, "{}", details.text());
    assert_eq!(details.json()["file_name"], "game.gb");
    let file = app.get(&path, &[]).await;
    assert_eq!((file.status, file.body.as_ref()), (StatusCode::OK, b"open".as_slice()));
    let head = app.send(request(Method::HEAD, &path, &[], Body::empty())).await;
    assert_eq!(head.status, StatusCode::OK);
    let with_junk = app.get(&path, &[("authorization", "Bearer nonsense")]).await;
    assert_eq!(with_junk.status, StatusCode::OK, "credentials are not looked at");
    for (method, closed) in [
        (Method::GET, "/api/roms"),
        (Method::GET, "/api/platforms"),
        (Method::POST, "/api/roms/1/download-link"),
        (Method::DELETE, "/api/roms/1"),
        (Method::POST, "/api/tasks/scan"),
    ] {
        let response = app.send(request(method.clone(), closed, &[], Body::empty())).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{method} {closed}");
    }
    let closed_by_default = TestApp::new().await;
    put_file(&closed_by_default, "gb", "game.gb", b"closed");
    scan(&closed_by_default).await;
    assert_eq!(closed_by_default.get(&path, &[]).await.status, StatusCode::UNAUTHORIZED);
}
