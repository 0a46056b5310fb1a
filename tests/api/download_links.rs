//! Download links for clients that cannot send headers: made by a signed-in
//! person with roms.read, good for one ROM, until they expire or the
//! person's sessions end; never written to the log.

use axum::http::{Method, StatusCode};
use romgate::auth::Role;
use romgate::library::RomQuery;
use serde_json::json;

use crate::client_tokens_support::{device, device_token};
use crate::library_support::{get_as, library_dir, listed, pattern, put_file, scan};
use crate::log_capture::LogCapture;
use crate::util::{Browser, PASSWORD, TestApp, TestResponse, on_both_engines, post_page_form, request};

/// Asks for a link to ROM `id` as `browser`; the answer.
async fn ask_link(app: &TestApp, browser: &Browser, id: i64) -> TestResponse {
    let path = format!("/api/roms/{id}/download-link");
    app.as_browser(browser, Method::POST, &path, None).await
}

/// A link to ROM `id` as `browser`: its path on the server.
async fn link_path(app: &TestApp, browser: &Browser, id: i64) -> String {
    let answer = ask_link(app, browser, id).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
    let url = answer.json()["url"].as_str().expect("a url").to_string();
    url.strip_prefix("http://localhost:8080")
        .expect("on ROMM_BASE_URL")
        .to_string()
}

/// Fetched with no credentials at all, as a header-less client would.
async fn fetch(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> TestResponse {
    app.get(path, headers).await
}

fn assert_refused(response: &TestResponse, what: &str) {
    assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{what}: {}", response.text());
    assert_eq!(response.error_code(), "invalid_download_link", "{what}");
}

/// One ROM in the library; its id and bytes.
async fn one_rom(app: &TestApp, name: &str) -> (i64, Vec<u8>) {
    let bytes = pattern(4000, 5);
    put_file(app, "n64", name, &bytes);
    scan(app).await;
    let query = RomQuery {
        search: Some(name.to_string()),
        ..RomQuery::default()
    };
    let (roms, _, _) = app.state.library.roms(query).await.expect("listed");
    let id = roms.iter().find(|rom| rom.file_name == name).expect("scanned").id;
    (id, bytes)
}

on_both_engines!(
    a_link_downloads_its_rom_without_credentials_until_it_expires,
    |app: TestApp| async move {
        let (id, bytes) = one_rom(&app, "Zelda (USA).z64").await;
        let (_, viewer) = app.signed_in("vera", Role::Viewer).await;
        let answer = ask_link(&app, &viewer, id).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
        let link = answer.json();
        assert_eq!(link["expires_in"], 900);
        assert_eq!(link["expires_at"], romgate::clock::format_time(app.now() + 900));
        let url = link["url"].as_str().unwrap();
        assert!(
            url.starts_with("http://localhost:8080/api/download/rgd_")
                && url.ends_with(&format!("/{id}/Zelda%20%28USA%29.z64")),
            "{url}"
        );
        let path = url.strip_prefix("http://localhost:8080").unwrap();

        let whole = fetch(&app, path, &[]).await;
        assert_eq!(whole.status, StatusCode::OK, "{}", whole.text());
        assert_eq!(whole.body.as_ref(), bytes.as_slice());
        assert!(whole.header("etag").is_some());
        let part = fetch(&app, path, &[("range", "bytes=10-19")]).await;
        assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
        assert_eq!(part.body.as_ref(), &bytes[10..20]);
        let head = app
            .send(request(Method::HEAD, path, &[], axum::body::Body::empty()))
            .await;
        assert_eq!(head.status, StatusCode::OK);
        assert_eq!(head.header("content-length"), Some("4000"));
        assert!(head.body.is_empty());
        let etag = whole.header("etag").unwrap();
        let cached = fetch(&app, path, &[("if-none-match", etag)]).await;
        assert_eq!(cached.status, StatusCode::NOT_MODIFIED);

        app.clock.advance(899);
        assert_eq!(fetch(&app, path, &[]).await.status, StatusCode::OK, "a second left");
        app.clock.advance(1);
        assert_refused(&fetch(&app, path, &[]).await, "expired");
        app.state.store.delete_expired(app.now()).await.unwrap();
        let viewer_id = app.store().find_user_by_username("vera").await.unwrap().unwrap().id;
        assert_eq!(app.store().count_download_links(viewer_id).await.unwrap(), 0, "cleaned");
    }
);

#[tokio::test]
async fn the_lifetime_follows_romgate_download_link_seconds() {
    let app = TestApp::builder()
        .env("ROMGATE_DOWNLOAD_LINK_SECONDS", "120")
        .build()
        .await;
    let (id, _) = one_rom(&app, "game.z64").await;
    let (_, viewer) = app.signed_in("vera", Role::Viewer).await;
    let path = link_path(&app, &viewer, id).await;
    app.clock.advance(119);
    assert_eq!(fetch(&app, &path, &[]).await.status, StatusCode::OK);
    app.clock.advance(1);
    assert_refused(&fetch(&app, &path, &[]).await, "expired after 120 s");
}

#[tokio::test]
async fn a_tampered_link_or_one_for_another_rom_opens_nothing() {
    let app = TestApp::new().await;
    let (id, _) = one_rom(&app, "game.z64").await;
    let (other, _) = one_rom(&app, "other.z64").await;
    let (_, viewer) = app.signed_in("vera", Role::Viewer).await;
    let path = link_path(&app, &viewer, id).await;
    let secret = path.split('/').nth(3).unwrap().to_string();
    assert!(secret.starts_with("rgd_"), "{path}");

    let mut flipped = secret.clone().into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let refusals = [
        (
            format!("/api/download/{flipped}/{id}/game.z64"),
            "one character changed",
        ),
        (
            format!("/api/download/{}/{id}/game.z64", &secret[..secret.len() - 1]),
            "cut short",
        ),
        (format!("/api/download/{}x/{id}/game.z64", secret), "lengthened"),
        (
            format!("/api/download/{}/{id}/game.z64", &secret[4..]),
            "without its prefix",
        ),
        (
            format!("/api/download/rgs_{}/{id}/game.z64", &secret[4..]),
            "as a session token",
        ),
        (format!("/api/download/{secret}/{other}/other.z64"), "for another ROM"),
    ];
    let mut bodies = Vec::new();
    for (tampered, what) in &refusals {
        let response = fetch(&app, tampered, &[]).await;
        assert_refused(&response, what);
        bodies.push(response.text());
    }
    bodies.dedup();
    assert_eq!(bodies.len(), 1, "every refusal reads the same: {bodies:?}");

    // Session cookies are no substitute for the link, nor the link for them.
    let with_cookie = get_as(&app, &viewer, &refusals[0].0, &[]).await;
    assert_refused(&with_cookie, "a session does not mend a bad link");
    let wrong_name = fetch(&app, &format!("/api/download/{secret}/{id}/other.z64"), &[]).await;
    assert_eq!(wrong_name.status, StatusCode::NOT_FOUND);
    let as_bearer = app.with_bearer(Method::GET, "/api/users/me", &secret, None).await;
    assert_eq!(as_bearer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        fetch(&app, &path, &[]).await.status,
        StatusCode::OK,
        "the real one still works"
    );
}

#[tokio::test]
async fn links_are_for_signed_in_people_and_single_files() {
    let app = TestApp::new().await;
    let (id, _) = one_rom(&app, "game.z64").await;
    put_file(&app, "psx", "Disc Game/disc1.bin", b"one");
    put_file(&app, "psx", "Disc Game/disc2.bin", b"two");
    scan(&app).await;
    let (_, viewer) = app.signed_in("vera", Role::Viewer).await;
    let folder = listed(&app, &viewer, "search=Disc").await[0].0;

    let anonymous = app.post(&format!("/api/roms/{id}/download-link"), &[], "").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.error_code(), "not_authenticated");
    let refused = ask_link(&app, &viewer, folder).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.error_code(), "folder_rom");
    assert_eq!(ask_link(&app, &viewer, 999_999).await.status, StatusCode::NOT_FOUND);
    let no_csrf = app
        .post(
            &format!("/api/roms/{id}/download-link"),
            &[("cookie", &viewer.cookie_header())],
            "",
        )
        .await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN, "a cookie needs its CSRF token");

    let token = app.token("vera", PASSWORD, "me.read").await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/roms/{id}/download-link");
    let scope_less = app.with_bearer(Method::POST, &path, &token, None).await;
    assert_eq!(scope_less.status, StatusCode::FORBIDDEN);
    assert_eq!(scope_less.error_code(), "insufficient_scope");
    let token = app.token("vera", PASSWORD, "roms.read").await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let by_token = app.with_bearer(Method::POST, &path, &token, None).await;
    assert_eq!(by_token.status, StatusCode::CREATED, "{}", by_token.text());
}

// Each way a person's sessions end takes their links with them, and only
// theirs.
on_both_engines!(links_die_with_the_sessions, |app: TestApp| async move {
    let (id, _) = one_rom(&app, "game.z64").await;
    let (_, admin) = app.signed_in("root", Role::Admin).await;
    let (_, bystander) = app.signed_in("bob", Role::Viewer).await;
    let bystanders_link = link_path(&app, &bystander, id).await;
    let events = ["password change", "disable", "delete", "sign out everywhere"];
    for (n, event) in events.into_iter().enumerate() {
        let name = format!("person{n}");
        let (user, person) = app.signed_in(&name, Role::Viewer).await;
        let path = link_path(&app, &person, id).await;
        assert_eq!(fetch(&app, &path, &[]).await.status, StatusCode::OK, "{event}: before");
        let users_path = format!("/api/users/{}", user.id);
        let ended = match event {
            "password change" => {
                let change = json!({"password": "a brand new passphrase", "current_password": PASSWORD});
                app.as_browser(&person, Method::PUT, &users_path, Some(change)).await
            }
            "disable" => {
                let change = json!({"enabled": false});
                app.as_browser(&admin, Method::PUT, &users_path, Some(change)).await
            }
            "delete" => app.as_browser(&admin, Method::DELETE, &users_path, None).await,
            _ => {
                post_page_form(
                    &app,
                    &person,
                    "/devices/sign-out-everywhere",
                    &person.csrf,
                    "confirm=yes",
                )
                .await
            }
        };
        assert!(
            ended.status.is_success() || ended.status.is_redirection(),
            "{event}: {} {}",
            ended.status,
            ended.text()
        );
        assert_refused(&fetch(&app, &path, &[]).await, event);
        assert_eq!(app.store().count_download_links(user.id).await.unwrap(), 0, "{event}");
    }
    let still = fetch(&app, &bystanders_link, &[]).await;
    assert_eq!(still.status, StatusCode::OK, "another person's link lives on");
});

#[tokio::test]
async fn a_link_checks_its_owner_and_its_rom_at_every_use() {
    let app = TestApp::new().await;
    let (id, _) = one_rom(&app, "game.z64").await;
    let (_, viewer) = app.signed_in("vera", Role::Viewer).await;
    let path = link_path(&app, &viewer, id).await;
    let (_, editor) = app.signed_in("eddie", Role::Editor).await;
    let deleted = app
        .as_browser(&editor, Method::DELETE, &format!("/api/roms/{id}"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text());
    put_file(&app, "n64", "game.z64", b"a new file under the old name");
    scan(&app).await;
    let response = fetch(&app, &path, &[]).await;
    assert_refused(&response, "the ROM it was for is gone");
    assert!(library_dir(&app).join("roms/n64/game.z64").exists());
}

#[tokio::test]
async fn link_secrets_never_reach_the_log() {
    let app = TestApp::new().await;
    let (id, _) = one_rom(&app, "game.z64").await;
    let (_, viewer) = app.signed_in("vera", Role::Viewer).await;
    let logs = LogCapture::start();
    let path = link_path(&app, &viewer, id).await;
    let secret = path.split('/').nth(3).unwrap().to_string();
    assert_eq!(fetch(&app, &path, &[]).await.status, StatusCode::OK);
    assert_refused(
        &fetch(&app, &format!("/api/download/{secret}x/{id}/game.z64"), &[]).await,
        "bad",
    );
    let text = logs.text();
    assert!(text.contains("download link issued"), "{text}");
    assert!(text.contains("/api/download/***/"), "{text}");
    assert!(!text.contains(&secret[4..]), "{text}");
}

on_both_engines!(
    /// What a device's token makes (a sibling token, a download link, a
    /// device it approves) ends when the device is revoked: a stolen
    /// handheld token leaves nothing behind it.
    revoking_a_device_ends_what_its_token_made,
    |app: TestApp| async move {
        let (id, _) = one_rom(&app, "Mario (USA).z64").await;
        let (alice, browser) = app.signed_in("alice", Role::Viewer).await;
        let handheld = device(&app, alice.id, "Retroid").await;
        let (_, token) = device_token(&app, alice.id, &handheld.id, "me.read me.write roms.read").await;

        let body = json!({"name": "sibling", "scopes": ["me.read"]});
        let sibling = app.with_bearer(Method::POST, "/api/client-tokens", &token, Some(body)).await;
        assert_eq!(sibling.status, StatusCode::CREATED, "{}", sibling.text());
        let sibling = sibling.json()["raw_token"].as_str().expect("raw_token").to_string();
        let link = app
            .with_bearer(Method::POST, &format!("/api/roms/{id}/download-link"), &token, None)
            .await;
        assert_eq!(link.status, StatusCode::CREATED, "{}", link.text());
        let url = link.json()["url"].as_str().expect("a url").to_string();
        let path = url.strip_prefix("http://localhost:8080").expect("on ROMM_BASE_URL").to_string();
        assert_eq!(fetch(&app, &path, &[]).await.status, StatusCode::OK);
        // What the person made in the browser is theirs, not the device's.
        let own_link = link_path(&app, &browser, id).await;

        let path_of_device = format!("/api/devices/{}", handheld.id);
        let revoked = app.as_browser(&browser, Method::DELETE, &path_of_device, None).await;
        assert!(revoked.status.is_success(), "{}", revoked.text());
        for raw in [&token, &sibling] {
            let me = app.with_bearer(Method::GET, "/api/users/me", raw, None).await;
            assert_eq!(me.status, StatusCode::UNAUTHORIZED, "{}", me.text());
        }
        assert_refused(&fetch(&app, &path, &[]).await, "the device's link");
        assert_eq!(fetch(&app, &own_link, &[]).await.status, StatusCode::OK);
    }
);

/// Every link is a row until it expires: one person asks for a bounded
/// number a minute (429 with Retry-After beyond), another is not affected,
/// and a minute later it works again.
#[tokio::test]
async fn links_are_limited_per_person_and_minute() {
    let app = TestApp::new().await;
    let (id, _) = one_rom(&app, "Kirby (USA).z64").await;
    let (_, vera) = app.signed_in("vera", Role::Viewer).await;
    let (_, walt) = app.signed_in("walt", Role::Viewer).await;
    let max = romgate::auth::LINKS_PER_PERSON.max_events;
    for _ in 0..max {
        assert_eq!(ask_link(&app, &vera, id).await.status, StatusCode::CREATED);
    }
    let refused = ask_link(&app, &vera, id).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.text());
    assert!(refused.header("retry-after").is_some());
    assert_eq!(ask_link(&app, &walt, id).await.status, StatusCode::CREATED);
    app.clock.advance(61);
    assert_eq!(ask_link(&app, &vera, id).await.status, StatusCode::CREATED);
}
