//! Uploads and deletes: atomic, one winner per name, nothing left behind by
//! a broken or oversized upload, no name that escapes the library.

use std::io::Cursor;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{Method, StatusCode};
use romgate::auth::Role;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};
use tokio_util::io::ReaderStream;

use crate::library_support::{
    BOUNDARY, files_under, get_as, library_dir, listed, multipart, pattern, put_file, scan, send_upload, upload,
};
use crate::util::{TestApp, on_both_engines};

/// The start of an upload of `file_name` to n64 whose file never ends.
fn unfinished_body(file_name: &str, file_bytes: usize) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"platform\"\r\n\r\nn64\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\r\n"
    )
    .into_bytes();
    body.extend(pattern(file_bytes, 1));
    body
}

/// A reader whose connection breaks.
struct Broken;

impl AsyncRead for Broken {
    fn poll_read(self: Pin<&mut Self>, _: &mut Context<'_>, _: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "client went away",
        )))
    }
}

on_both_engines!(
    concurrent_uploads_of_one_name_have_one_winner,
    |app: TestApp| async move {
        let (_, editor) = app.signed_in("eddie", Role::Editor).await;
        for round in 0..4 {
            let name = format!("race {round}.z64");
            let (first, second) = (pattern(300_000, 1), pattern(300_000, 2));
            let (a, b) = tokio::join!(
                upload(&app, &editor, "n64", &name, &first),
                upload(&app, &editor, "n64", &name, &second)
            );
            let mut statuses = [a.status, b.status];
            statuses.sort();
            assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT], "round {round}");
            let (winner, loser) = if a.status == StatusCode::CREATED {
                (&first, &b)
            } else {
                (&second, &a)
            };
            assert_eq!(loser.error_code(), "rom_exists");
            let on_disk = std::fs::read(library_dir(&app).join("roms/n64").join(&name)).unwrap();
            assert!(on_disk == *winner, "round {round}: the file is the winner's, whole");
        }
        assert_eq!(listed(&app, &editor, "").await.len(), 4, "one row per name");
        let files = files_under(&library_dir(&app));
        assert_eq!(files.len(), 4, "no temporary file stays: {files:?}");
    }
);

#[tokio::test]
async fn an_existing_name_is_409_and_the_original_stays() {
    let app = TestApp::new().await;
    let path = put_file(&app, "n64", "game.z64", b"original");
    let (_, editor) = app.signed_in("eddie", Role::Editor).await;
    let response = upload(&app, &editor, "n64", "game.z64", b"replacement").await;
    assert_eq!(response.status, StatusCode::CONFLICT);
    assert_eq!(response.error_code(), "rom_exists");
    assert_eq!(std::fs::read(&path).unwrap(), b"original");
}

#[tokio::test]
async fn the_upload_limit_is_exact_and_a_refused_upload_leaves_nothing() {
    let app = TestApp::builder().env("ROMGATE_MAX_UPLOAD_BYTES", "1024").build().await;
    let (_, editor) = app.signed_in("eddie", Role::Editor).await;
    let fits = upload(&app, &editor, "n64", "fits.z64", &pattern(1024, 0)).await;
    assert_eq!(fits.status, StatusCode::CREATED, "{}", fits.text());
    for (name, size) in [("one-more.z64", 1025), ("huge.z64", 200_000)] {
        let response = upload(&app, &editor, "n64", name, &pattern(size, 0)).await;
        assert_eq!(
            response.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{name}: {}",
            response.text()
        );
        assert_eq!(response.error_code(), "payload_too_large");
    }
    let files = files_under(&library_dir(&app));
    assert_eq!(files, [library_dir(&app).join("roms/n64/fits.z64")]);
    assert_eq!(listed(&app, &editor, "").await.len(), 1);
}

#[tokio::test]
async fn only_uploads_get_the_large_body_limit() {
    let app = TestApp::new().await;
    let (_, admin) = app.signed_in("root", Role::Admin).await;
    let big_json = serde_json::json!({ "username": "x".repeat(100_000) });
    let refused = app.as_browser(&admin, Method::POST, "/api/users", Some(big_json)).await;
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
    let accepted = upload(&app, &admin, "n64", "big.z64", &pattern(100_000, 5)).await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.text());
}

#[tokio::test]
async fn broken_and_truncated_uploads_leave_nothing() {
    let app = TestApp::new().await;
    let (_, editor) = app.signed_in("eddie", Role::Editor).await;
    let broken = Cursor::new(unfinished_body("broken.z64", 400_000)).chain(Broken);
    let response = send_upload(&app, &editor, Body::from_stream(ReaderStream::new(broken))).await;
    assert!(response.status.is_client_error(), "{}", response.status);
    let truncated = send_upload(&app, &editor, unfinished_body("truncated.z64", 400_000)).await;
    assert_eq!(truncated.status, StatusCode::BAD_REQUEST);
    assert_eq!(truncated.error_code(), "invalid_multipart");
    assert!(files_under(&library_dir(&app)).is_empty());
    assert!(listed(&app, &editor, "").await.is_empty());
}

#[tokio::test]
async fn an_upload_dropped_midway_leaves_nothing() {
    let app = std::sync::Arc::new(TestApp::new().await);
    let (_, editor) = app.signed_in("eddie", Role::Editor).await;
    let (mut client, server) = tokio::io::duplex(64 * 1024);
    let task = {
        let app = app.clone();
        tokio::spawn(async move {
            send_upload(&app, &editor, Body::from_stream(ReaderStream::new(server))).await;
        })
    };
    client
        .write_all(&unfinished_body("dropped.z64", 100_000))
        .await
        .unwrap();
    let dir = library_dir(&app).join("roms/n64");
    let mut started = false;
    for _ in 0..500 {
        if files_under(&dir)
            .iter()
            .any(|f| f.to_string_lossy().contains(".romgate-upload-"))
        {
            started = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(started, "the upload reached the disk");
    task.abort();
    let _ = task.await;
    assert!(files_under(&library_dir(&app)).is_empty(), "{:?}", files_under(&dir));
}

#[tokio::test]
async fn malformed_uploads_are_400_and_csrf_is_checked() {
    let app = TestApp::new().await;
    let (_, editor) = app.signed_in("eddie", Role::Editor).await;
    let json = app
        .as_browser(
            &editor,
            Method::POST,
            "/api/roms",
            Some(serde_json::json!({"platform": "n64"})),
        )
        .await;
    assert_eq!(
        (json.status, json.error_code().as_str()),
        (StatusCode::BAD_REQUEST, "invalid_multipart")
    );
    let cases = [
        (multipart(&[], Some(("a.z64", b"a"))), "missing_platform"),
        (multipart(&[("platform", "n64")], None), "missing_file"),
        (
            multipart(&[("platform", "Game Boy")], Some(("a.gb", b"a"))),
            "invalid_platform",
        ),
    ];
    for (body, code) in cases {
        let response = send_upload(&app, &editor, body).await;
        assert_eq!(
            (response.status, response.error_code().as_str()),
            (StatusCode::BAD_REQUEST, code)
        );
    }
    let mut two = multipart(&[("platform", "n64")], Some(("one.z64", b"1")));
    two.truncate(two.len() - format!("--{BOUNDARY}--\r\n").len());
    two.extend(multipart(&[], Some(("two.z64", b"2"))));
    let response = send_upload(&app, &editor, two).await;
    assert_eq!(response.error_code(), "one_file");

    let mut no_header = editor.clone();
    no_header.csrf = String::new();
    let forged = upload(&app, &no_header, "n64", "forged.z64", b"x").await;
    assert_eq!(
        (forged.status, forged.error_code().as_str()),
        (StatusCode::FORBIDDEN, "csrf_failed")
    );
    assert!(
        files_under(&library_dir(&app)).is_empty(),
        "{:?}",
        files_under(&library_dir(&app))
    );
}

#[tokio::test]
async fn upload_names_that_try_to_escape_are_400_and_write_nothing() {
    let app = TestApp::new().await;
    let (_, editor) = app.signed_in("eddie", Role::Editor).await;
    let outside = tempfile::tempdir().unwrap();
    let absolute = outside.path().join("evil.gb").display().to_string();
    let mut attempts: Vec<(String, String)> = [
        "../evil.gb",
        "../../evil.gb",
        "..\\..\\evil.gb",
        "sub/evil.gb",
        "evil%2F..%2F.gb",
        "evil%5c.gb",
        ".evil.gb",
        "..",
    ]
    .iter()
    .map(|name| ("n64".to_string(), name.to_string()))
    .collect();
    attempts.push(("n64".into(), absolute.clone()));
    for platform in [
        "..",
        "../..",
        "n64/../..",
        "..%2F..",
        "%2e%2e",
        "/tmp",
        "n64\\..",
        ".n64",
    ] {
        attempts.push((platform.into(), "evil.gb".into()));
    }
    for (platform, name) in &attempts {
        let response = upload(&app, &editor, platform, name, b"evil").await;
        assert_eq!(
            response.status,
            StatusCode::BAD_REQUEST,
            "{platform} {name}: {}",
            response.text()
        );
        let code = response.error_code();
        assert!(
            code == "invalid_path" || code == "invalid_platform",
            "{platform} {name}: {code}"
        );
    }
    assert!(
        files_under(library_dir(&app).parent().unwrap())
            .iter()
            .all(|f| !f.to_string_lossy().contains("evil"))
    );
    assert!(files_under(outside.path()).is_empty());
    assert!(!std::path::Path::new(&absolute).exists());

    // A platform folder that is a link to elsewhere is not written through.
    std::fs::create_dir_all(library_dir(&app).join("roms")).unwrap();
    std::os::unix::fs::symlink(outside.path(), library_dir(&app).join("roms/elsewhere")).unwrap();
    let response = upload(&app, &editor, "elsewhere", "evil.gb", b"evil").await;
    assert_eq!(
        (response.status, response.error_code().as_str()),
        (StatusCode::BAD_REQUEST, "path_outside_library")
    );
    assert!(files_under(outside.path()).is_empty());
}

#[tokio::test]
async fn folder_games_are_listed_refused_for_download_and_deleted_whole() {
    let app = TestApp::new().await;
    put_file(&app, "psx", "FF7/disc1.bin", b"one");
    put_file(&app, "psx", "FF7/disc2.bin", b"two");
    scan(&app).await;
    let (_, editor) = app.signed_in("eddie", Role::Editor).await;
    let rom = get_as(&app, &editor, "/api/roms", &[]).await.json()["items"][0].clone();
    assert_eq!((rom["multi"].as_bool(), rom["size"].as_i64()), (Some(true), Some(6)));
    assert!(rom["download_path"].is_null());
    let id = rom["id"].as_i64().unwrap();
    let download = get_as(&app, &editor, &format!("/api/roms/{id}/content/FF7"), &[]).await;
    assert_eq!(
        (download.status, download.error_code().as_str()),
        (StatusCode::BAD_REQUEST, "folder_rom")
    );
    let deleted = app
        .as_browser(&editor, Method::DELETE, &format!("/api/roms/{id}"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert!(!library_dir(&app).join("roms/psx/FF7").exists());
}

/// A refused upload to a new platform leaves no platform behind: neither
/// its row nor its folder (which the next scan would list again).
#[tokio::test]
async fn a_refused_upload_to_a_new_platform_leaves_no_platform() {
    let app = TestApp::builder().env("ROMGATE_MAX_UPLOAD_BYTES", "10").build().await;
    let (_, editor) = app.signed_in("eddie", Role::Editor).await;
    let refused = upload(&app, &editor, "newpf", "G.gb", &[0; 100]).await;
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", refused.text());
    let platforms = app.as_browser(&editor, Method::GET, "/api/platforms", None).await;
    assert_eq!(platforms.json(), serde_json::json!([]));
    assert!(!library_dir(&app).join("roms/newpf").exists());
    let kept = upload(&app, &editor, "newpf", "G.gb", b"tiny").await;
    assert_eq!(kept.status, StatusCode::CREATED, "{}", kept.text());
    let platforms = app.as_browser(&editor, Method::GET, "/api/platforms", None).await;
    assert_eq!(platforms.json()[0]["slug"], "newpf");
}
