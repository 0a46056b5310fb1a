//! The library page's "Scan the library" button: shown to administrators
//! (tasks.run) only, posting with the CSRF field, running the scan the API
//! runs and coming back to the library page with its counts.

use axum::http::StatusCode;
use romgate::auth::Role;

use crate::library_support::{get_as, library_dir, listed, put_file};
use crate::util::{Browser, TestApp, TestResponse, enc};

const SCAN: &str = "/library/tasks/scan";

async fn press_scan(app: &TestApp, browser: &Browser, csrf: &str) -> TestResponse {
    let cookie = browser.cookie_header();
    let form = format!("csrf_token={}", enc(csrf));
    app.post_form(SCAN, &[("cookie", &cookie)], &form).await
}

async fn library_html(app: &TestApp, browser: &Browser, path: &str) -> String {
    let response = get_as(app, browser, path, &[]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.text()
}

fn shows_button(html: &str) -> bool {
    html.contains(&format!(r#"action="{SCAN}""#))
}

#[tokio::test]
async fn administrators_scan_from_the_library_page() {
    let app = TestApp::new().await;
    let (_, admin) = app.signed_in("root", Role::Admin).await;
    assert!(shows_button(&library_html(&app, &admin, "/library").await));
    put_file(&app, "n64", "dropped in.z64", b"game");
    assert!(listed(&app, &admin, "").await.is_empty());

    let response = press_scan(&app, &admin, &admin.csrf).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.text());
    let back = response.header("location").expect("a location").to_string();
    assert!(back.starts_with("/library?"), "{back}");
    let html = library_html(&app, &admin, &back).await;
    assert!(
        html.contains("Scan done: 1 game in 1 platform, 1 added, 0 updated, 0 removed, 0 skipped."),
        "{html}"
    );
    assert!(html.contains(r#"href="/library/n64""#), "{html}");
    let names: Vec<String> = listed(&app, &admin, "").await.into_iter().map(|(_, n)| n).collect();
    assert_eq!(names, ["dropped in.z64"]);
}

#[tokio::test]
async fn viewers_and_editors_see_no_button_and_are_refused() {
    let app = TestApp::new().await;
    put_file(&app, "n64", "game.z64", b"game");
    for (name, role, word) in [("vera", Role::Viewer, "viewer"), ("eddie", Role::Editor, "editor")] {
        let (_, browser) = app.signed_in(name, role).await;
        assert!(!shows_button(&library_html(&app, &browser, "/library").await));
        let refused = press_scan(&app, &browser, &browser.csrf).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let text = refused.text();
        assert!(text.contains(&format!("Your role ({word}) cannot do this")), "{text}");
    }
    let (_, admin) = app.signed_in("root", Role::Admin).await;
    assert!(listed(&app, &admin, "").await.is_empty(), "nothing was scanned");
}

#[tokio::test]
async fn a_scan_without_its_csrf_field_is_refused() {
    let app = TestApp::new().await;
    put_file(&app, "n64", "game.z64", b"game");
    let (_, admin) = app.signed_in("root", Role::Admin).await;
    let cookie = admin.cookie_header();
    let missing = app.post_form(SCAN, &[("cookie", &cookie)], "").await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN, "{}", missing.text());
    let forged = press_scan(&app, &admin, "rgc_wrong").await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.text());
    assert!(listed(&app, &admin, "").await.is_empty(), "nothing was scanned");
}

#[tokio::test]
async fn a_missing_roms_folder_is_shown_on_the_library_page() {
    let app = TestApp::new().await;
    std::fs::remove_dir_all(library_dir(&app).join("roms")).ok();
    let (_, admin) = app.signed_in("root", Role::Admin).await;
    let refused = press_scan(&app, &admin, &admin.csrf).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text());
    let html = refused.text();
    assert!(
        html.contains(r#"class="error""#) && html.contains("has no roms folder"),
        "{html}"
    );
    assert!(shows_button(&html), "the library page, with its forms: {html}");
}

#[tokio::test]
async fn coming_back_after_a_background_scan_shows_its_outcome_without_reloading() {
    let app = TestApp::new().await;
    let (_, admin) = app.signed_in("root", Role::Admin).await;
    let before = library_html(&app, &admin, "/library?scan=background").await;
    assert!(before.contains("goes on in the background"), "{before}");
    put_file(&app, "snes", "one.sfc", b"1");
    put_file(&app, "snes", "two.sfc", b"2");
    // The scan ends (here within the request; a long one in the background).
    let response = press_scan(&app, &admin, &admin.csrf).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.text());
    let html = library_html(&app, &admin, "/library?scan=background").await;
    assert!(
        html.contains("Scan done: 2 games in 1 platform, 2 added, 0 updated, 0 removed, 0 skipped."),
        "{html}"
    );
    assert!(
        !html.contains(r#"http-equiv="refresh""#),
        "nothing runs, nothing reloads: {html}"
    );
}

#[tokio::test]
async fn a_failed_background_scan_says_why_on_the_library_page() {
    let app = TestApp::new().await;
    std::fs::remove_dir_all(library_dir(&app).join("roms")).ok();
    let (_, admin) = app.signed_in("root", Role::Admin).await;
    let refused = press_scan(&app, &admin, &admin.csrf).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    let html = library_html(&app, &admin, "/library?scan=background").await;
    assert!(
        html.contains("The scan stopped:") && html.contains("has no roms folder"),
        "{html}"
    );
}
