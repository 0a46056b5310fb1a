//! The library API: who may do what, listing and search, downloads with
//! ranges, and paths that try to leave the library.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use romgate::auth::Role;

use crate::library_support::{get_as, library_dir, listed, pattern, put_file, scan, sha256_hex, upload};
use crate::util::{TestApp, on_both_engines, request};

const ENDPOINTS: &[(Method, &str)] = &[
    (Method::GET, "/api/platforms"),
    (Method::GET, "/api/roms"),
    (Method::GET, "/api/roms/1"),
    (Method::GET, "/api/roms/1/content/a.z64"),
    (Method::POST, "/api/roms"),
    (Method::DELETE, "/api/roms/1"),
    (Method::POST, "/api/tasks/scan"),
];

#[tokio::test]
async fn library_endpoints_want_credentials() {
    let app = TestApp::new().await;
    put_file(&app, "n64", "a.z64", b"rom");
    scan(&app).await;
    for (method, path) in ENDPOINTS {
        let response = app.send(request(method.clone(), path, &[], Body::empty())).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert!(response.header("www-authenticate").is_some(), "{method} {path}");
        assert_eq!(response.error_code(), "not_authenticated");
    }
}

on_both_engines!(
    viewer_lists_and_downloads_but_changes_nothing,
    |app: TestApp| async move {
        let rom = pattern(3000, 7);
        let path = put_file(&app, "n64", "Super Mario 64.z64", &rom);
        put_file(&app, "gba", "Metroid.gba", b"metroid");
        scan(&app).await;
        let (_, viewer) = app.signed_in("vera", Role::Viewer).await;

        let platforms = get_as(&app, &viewer, "/api/platforms", &[]).await;
        assert_eq!(platforms.status, StatusCode::OK);
        let json = platforms.json();
        let slugs: Vec<_> = json
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["slug"].as_str().unwrap())
            .collect();
        assert_eq!(slugs, ["gba", "n64"]);
        assert_eq!(json[1]["rom_count"], 1);
        let n64 = json[1]["id"].as_i64().unwrap();

        let roms = listed(&app, &viewer, &format!("platform_id={n64}")).await;
        assert_eq!(roms.len(), 1);
        let (id, name) = &roms[0];
        assert_eq!(name, "Super Mario 64.z64");
        let one = get_as(&app, &viewer, &format!("/api/roms/{id}"), &[]).await.json();
        assert_eq!(one["size"], 3000);
        assert_eq!(one["sha256"], sha256_hex(&rom));
        assert_eq!(
            one["download_path"],
            format!("/api/roms/{id}/content/Super%20Mario%2064.z64")
        );

        let download = get_as(&app, &viewer, one["download_path"].as_str().unwrap(), &[]).await;
        assert_eq!(download.status, StatusCode::OK);
        assert_eq!(download.body.as_ref(), rom.as_slice());
        assert_eq!(download.header("content-length"), Some("3000"));
        assert_eq!(download.header("accept-ranges"), Some("bytes"));
        assert_eq!(
            download.header("content-disposition"),
            Some("attachment; filename=\"Super Mario 64.z64\"; filename*=UTF-8''Super%20Mario%2064.z64")
        );

        let refused = upload(&app, &viewer, "n64", "new.z64", b"new").await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
        assert_eq!(refused.error_code(), "insufficient_scope");
        assert!(!library_dir(&app).join("roms/n64/new.z64").exists());
        let refused = app
            .as_browser(&viewer, Method::DELETE, &format!("/api/roms/{id}"), None)
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(path.exists(), "the file stays");
        let refused = app.as_browser(&viewer, Method::POST, "/api/tasks/scan", None).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert_eq!(listed(&app, &viewer, "").await.len(), 2);
    }
);

on_both_engines!(
    editor_uploads_and_deletes_but_only_an_admin_scans,
    |app: TestApp| async move {
        let (_, editor) = app.signed_in("eddie", Role::Editor).await;
        let bytes = pattern(5000, 3);
        let created = upload(&app, &editor, "snes", "Chrono Trigger.sfc", &bytes).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        let rom = created.json();
        assert_eq!(rom["platform_slug"], "snes");
        assert_eq!(rom["size"], 5000);
        assert_eq!(rom["sha256"], sha256_hex(&bytes));
        let on_disk = library_dir(&app).join("roms/snes/Chrono Trigger.sfc");
        assert_eq!(std::fs::read(&on_disk).unwrap(), bytes);

        let refused = app.as_browser(&editor, Method::POST, "/api/tasks/scan", None).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let (_, admin) = app.signed_in("root", Role::Admin).await;
        let scanned = app.as_browser(&admin, Method::POST, "/api/tasks/scan", None).await;
        assert_eq!(scanned.status, StatusCode::OK, "{}", scanned.text());
        assert_eq!(scanned.json()["roms"], 1);
        assert_eq!(scanned.json()["added"], 0, "the upload was already recorded");

        let id = rom["id"].as_i64().unwrap();
        let deleted = app
            .as_browser(&editor, Method::DELETE, &format!("/api/roms/{id}"), None)
            .await;
        assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text());
        assert!(!on_disk.exists());
        assert!(listed(&app, &editor, "").await.is_empty());
        let again = app
            .as_browser(&editor, Method::DELETE, &format!("/api/roms/{id}"), None)
            .await;
        assert_eq!(again.status, StatusCode::NOT_FOUND);
    }
);

on_both_engines!(search_is_a_case_insensitive_substring, |app: TestApp| async move {
    for name in [
        "Super Mario 64.z64",
        "MARIO Kart.z64",
        "100% Orange.gb",
        "1000 Orange.gb",
        "a_b.gb",
        "axb.gb",
    ] {
        put_file(&app, "mixed", name, name.as_bytes());
    }
    scan(&app).await;
    let (_, viewer) = app.signed_in("vera", Role::Viewer).await;
    let names = |rows: Vec<(i64, String)>| rows.into_iter().map(|(_, n)| n).collect::<Vec<_>>();
    assert_eq!(
        names(listed(&app, &viewer, "search=mArIo").await),
        ["MARIO Kart.z64", "Super Mario 64.z64"]
    );
    assert_eq!(names(listed(&app, &viewer, "search=100%25").await), ["100% Orange.gb"]);
    assert_eq!(names(listed(&app, &viewer, "search=a_b").await), ["a_b.gb"]);
    assert_eq!(names(listed(&app, &viewer, "search=zelda").await), Vec::<String>::new());

    let page = get_as(&app, &viewer, "/api/roms?limit=2&offset=2", &[]).await.json();
    assert_eq!(page["total"], 6);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["items"][0]["file_name"], "a_b.gb");
    let clamped = get_as(&app, &viewer, "/api/roms?limit=100000", &[]).await.json();
    assert_eq!(clamped["limit"], 10_000);
    for bad in ["limit=0", "offset=-1", "platform_id=abc", "limit=lots"] {
        let response = get_as(&app, &viewer, &format!("/api/roms?{bad}"), &[]).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(!response.error_code().is_empty(), "a JSON refusal for {bad}");
    }
});

#[tokio::test]
async fn ranges_give_206_and_bad_ones_416() {
    let app = TestApp::new().await;
    let bytes = pattern(1000, 9);
    put_file(&app, "n64", "game.z64", &bytes);
    scan(&app).await;
    let (_, viewer) = app.signed_in("vera", Role::Viewer).await;
    let id = listed(&app, &viewer, "").await[0].0;
    let path = format!("/api/roms/{id}/content/game.z64");
    for (range, start, end) in [
        ("bytes=0-9", 0, 9),
        ("bytes=-100", 900, 999),
        ("bytes=990-", 990, 999),
        ("bytes=500-5000", 500, 999),
    ] {
        let response = get_as(&app, &viewer, &path, &[("range", range)]).await;
        assert_eq!(response.status, StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            response.header("content-range"),
            Some(format!("bytes {start}-{end}/1000").as_str())
        );
        assert_eq!(
            response.header("content-length"),
            Some((end - start + 1).to_string().as_str())
        );
        assert_eq!(response.body.as_ref(), &bytes[start..=end], "{range}");
    }
    for range in ["bytes=1000-", "bytes=2000-3000", "bytes=9-5", "bytes=-0", "bytes=x-y"] {
        let response = get_as(&app, &viewer, &path, &[("range", range)]).await;
        assert_eq!(response.status, StatusCode::RANGE_NOT_SATISFIABLE, "{range}");
        assert_eq!(response.header("content-range"), Some("bytes */1000"), "{range}");
        assert_eq!(response.error_code(), "range_not_satisfiable");
    }
    let whole = get_as(&app, &viewer, &path, &[]).await;
    assert_eq!((whole.status, whole.body.len()), (StatusCode::OK, 1000));
    let wrong_name = get_as(&app, &viewer, &format!("/api/roms/{id}/content/other.z64"), &[]).await;
    assert_eq!(wrong_name.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn download_paths_that_try_to_escape_are_400() {
    let app = TestApp::new().await;
    put_file(&app, "n64", "game.z64", b"game");
    scan(&app).await;
    let (_, viewer) = app.signed_in("vera", Role::Viewer).await;
    let id = listed(&app, &viewer, "").await[0].0;
    for name in [
        "..",
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "%2E%2E",
        "..%5C..%5Cwin.ini",
        "game.z64%00.txt",
        "%2Fetc%2Fpasswd",
        "sub/game.z64",
        "../../../etc/passwd",
        "a%252Fb",
        ".hidden",
    ] {
        let response = get_as(&app, &viewer, &format!("/api/roms/{id}/content/{name}"), &[]).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{name}: {}", response.text());
        assert_eq!(response.error_code(), "invalid_path", "{name}");
    }
}

#[tokio::test]
async fn a_rom_turned_into_a_link_outside_is_neither_read_nor_followed_on_delete() {
    let app = TestApp::new().await;
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.txt");
    std::fs::write(&secret, "TOP SECRET").unwrap();
    let path = put_file(&app, "n64", "game.z64", b"game");
    scan(&app).await;
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(&secret, &path).unwrap();
    let (_, editor) = app.signed_in("eddie", Role::Editor).await;
    let id = listed(&app, &editor, "").await[0].0;

    let response = get_as(&app, &editor, &format!("/api/roms/{id}/content/game.z64"), &[]).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.error_code(), "path_outside_library");
    assert!(!response.text().contains("TOP SECRET"));

    let deleted = app
        .as_browser(&editor, Method::DELETE, &format!("/api/roms/{id}"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text());
    assert!(std::fs::symlink_metadata(&path).is_err(), "the link is gone");
    assert_eq!(
        std::fs::read_to_string(&secret).unwrap(),
        "TOP SECRET",
        "its target is untouched"
    );
}

/// A link loop, or a file where the platform folder was, leads nowhere:
/// 404 like a missing file, never a 500.
#[tokio::test]
async fn a_rom_swapped_for_a_link_loop_or_under_a_file_is_404() {
    let app = TestApp::new().await;
    let looped = put_file(&app, "n64", "loop.z64", b"game");
    put_file(&app, "snes", "game.sfc", b"game");
    scan(&app).await;
    let (_, editor) = app.signed_in("eddie", Role::Editor).await;
    let roms = listed(&app, &editor, "").await;
    let id_of = |name: &str| roms.iter().find(|(_, n)| n == name).expect(name).0;

    std::fs::remove_file(&looped).unwrap();
    let other = looped.with_file_name("other.z64");
    std::os::unix::fs::symlink(&other, &looped).unwrap();
    std::os::unix::fs::symlink(&looped, &other).unwrap();
    let snes = library_dir(&app).join("roms").join("snes");
    std::fs::remove_dir_all(&snes).unwrap();
    std::fs::write(&snes, b"a file, not a folder").unwrap();

    for (id, name) in [(id_of("loop.z64"), "loop.z64"), (id_of("game.sfc"), "game.sfc")] {
        let response = get_as(&app, &editor, &format!("/api/roms/{id}/content/{name}"), &[]).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{name}: {}", response.text());
        let deleted = app
            .as_browser(&editor, Method::DELETE, &format!("/api/roms/{id}"), None)
            .await;
        assert_eq!(deleted.status, StatusCode::OK, "{name}: {}", deleted.text());
    }
    assert!(
        std::fs::symlink_metadata(&looped).is_err(),
        "the looping link is removed"
    );

    // Uploads to a platform whose folder is a file or a link loop.
    let gba = library_dir(&app).join("roms").join("gba");
    std::os::unix::fs::symlink(&gba, &gba).unwrap();
    for platform in ["snes", "gba"] {
        let refused = upload(&app, &editor, platform, "new.rom", b"new").await;
        assert_eq!(refused.status, StatusCode::CONFLICT, "{platform}: {}", refused.text());
        assert_eq!(refused.error_code(), "platform_not_a_folder");
    }
}
