//! The library pages and the administrators' users page: who sees what,
//! forms that need their CSRF field, changes through the same flows as the
//! API.

use axum::http::{Method, StatusCode};
use romgate::auth::Role;

use crate::library_support::{files_under, get_as, library_dir, listed, multipart, multipart_type, put_file, scan};
use crate::util::{Browser, TestApp, TestResponse, enc, on_both_engines, request};

fn assert_page(response: &TestResponse, status: StatusCode) -> String {
    assert_eq!(response.status, status, "{}", response.text());
    let content_type = response.header("content-type").unwrap_or_default();
    assert!(content_type.starts_with("text/html"), "HTML, got {content_type:?}");
    response.text()
}

fn assert_see_other(response: &TestResponse, to: &str) {
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.text());
    assert_eq!(response.header("location"), Some(to));
}

/// Posts a form as `browser`, its CSRF field set to `csrf`.
async fn post_form(app: &TestApp, browser: &Browser, path: &str, csrf: &str, fields: &str) -> TestResponse {
    let cookie = browser.cookie_header();
    let form = format!("csrf_token={}&{fields}", enc(csrf));
    app.post_form(path, &[("cookie", &cookie)], &form).await
}

async fn page_upload(app: &TestApp, browser: &Browser, csrf: &str, platform: &str, name: &str) -> TestResponse {
    let body = multipart(
        &[("csrf_token", csrf), ("platform", platform)],
        Some((name, b"page upload")),
    );
    let cookie = browser.cookie_header();
    let content_type = multipart_type();
    let headers = [("cookie", cookie.as_str()), ("content-type", content_type.as_str())];
    app.send(request(Method::POST, "/library/upload", &headers, body.into()))
        .await
}

#[tokio::test]
async fn library_pages_send_strangers_to_sign_in() {
    let app = TestApp::new().await;
    assert_see_other(&app.get("/library", &[]).await, "/login?next=%2Flibrary");
    assert_see_other(&app.get("/library/n64", &[]).await, "/login?next=%2Flibrary%2Fn64");
    assert_see_other(&app.get("/admin/users", &[]).await, "/login?next=%2Fadmin%2Fusers");
}

on_both_engines!(
    viewers_browse_and_download_but_see_no_controls,
    |app: TestApp| async move {
        put_file(&app, "n64", "Super Mario 64.z64", &[0u8; 3000]);
        put_file(&app, "n64", "Zelda <script>.z64", b"zelda");
        put_file(&app, "gba", "Metroid.gba", b"metroid");
        scan(&app).await;
        let (_, viewer) = app.signed_in("vera", Role::Viewer).await;

        let html = assert_page(&get_as(&app, &viewer, "/library", &[]).await, StatusCode::OK);
        assert!(
            html.contains(r#"href="/library/n64""#) && html.contains(r#"href="/library/gba""#),
            "{html}"
        );
        assert!(!html.contains("/library/upload"), "no upload form for a viewer");
        assert!(!html.contains("/admin/users"), "no users link for a viewer");

        let html = assert_page(&get_as(&app, &viewer, "/library/n64", &[]).await, StatusCode::OK);
        let id = listed(&app, &viewer, "search=mario").await[0].0;
        assert!(
            html.contains("Super Mario 64.z64") && html.contains("2.9 KiB"),
            "{html}"
        );
        assert!(
            html.contains(&format!(r#"href="/api/roms/{id}/content/Super%20Mario%2064.z64""#)),
            "{html}"
        );
        assert!(
            html.contains("Zelda &#60;script&#62;.z64") || html.contains("Zelda &lt;script&gt;.z64"),
            "{html}"
        );
        assert!(!html.contains("<script>"), "names are escaped");
        assert!(!html.contains("/delete"), "no delete buttons for a viewer");
        let found = assert_page(
            &get_as(&app, &viewer, "/library/n64?search=MARIO", &[]).await,
            StatusCode::OK,
        );
        assert!(
            found.contains("Super Mario 64.z64") && !found.contains("Zelda"),
            "{found}"
        );

        assert_page(
            &get_as(&app, &viewer, "/library/snes", &[]).await,
            StatusCode::NOT_FOUND,
        );
        let refused = post_form(&app, &viewer, &format!("/library/roms/{id}/delete"), &viewer.csrf, "").await;
        assert_page(&refused, StatusCode::FORBIDDEN);
        let refused = page_upload(&app, &viewer, &viewer.csrf, "n64", "viewer.z64").await;
        assert_page(&refused, StatusCode::FORBIDDEN);
        assert_eq!(files_under(&library_dir(&app)).len(), 3);
    }
);

#[tokio::test]
async fn editors_upload_and_delete_through_the_pages() {
    let app = TestApp::new().await;
    put_file(&app, "n64", "old.z64", b"old");
    scan(&app).await;
    let (_, editor) = app.signed_in("eddie", Role::Editor).await;
    let html = assert_page(&get_as(&app, &editor, "/library/n64", &[]).await, StatusCode::OK);
    assert!(
        html.contains(r#"enctype="multipart/form-data""#) && html.contains(r#"value="n64""#),
        "{html}"
    );
    assert!(html.contains("/delete"), "{html}");

    let forged = page_upload(&app, &editor, "rgc_wrong", "n64", "forged.z64").await;
    assert_page(&forged, StatusCode::FORBIDDEN);
    assert!(!library_dir(&app).join("roms/n64/forged.z64").exists());
    let uploaded = page_upload(&app, &editor, &editor.csrf, "n64", "new.z64").await;
    assert_see_other(&uploaded, "/library/n64");
    assert_eq!(
        std::fs::read(library_dir(&app).join("roms/n64/new.z64")).unwrap(),
        b"page upload"
    );
    let new_platform = page_upload(&app, &editor, &editor.csrf, "gb", "tetris.gb").await;
    assert_see_other(&new_platform, "/library/gb");
    let taken = page_upload(&app, &editor, &editor.csrf, "n64", "new.z64").await;
    assert!(assert_page(&taken, StatusCode::CONFLICT).contains("already exists"));

    let id = listed(&app, &editor, "search=old").await[0].0;
    let forged = post_form(&app, &editor, &format!("/library/roms/{id}/delete"), "rgc_wrong", "").await;
    assert_page(&forged, StatusCode::FORBIDDEN);
    assert!(library_dir(&app).join("roms/n64/old.z64").exists());
    let deleted = post_form(
        &app,
        &editor,
        &format!("/library/roms/{id}/delete"),
        &editor.csrf,
        "confirm=yes",
    )
    .await;
    assert_see_other(&deleted, "/library/n64");
    assert!(!library_dir(&app).join("roms/n64/old.z64").exists());
    assert_eq!(listed(&app, &editor, "").await.len(), 2);
}

#[tokio::test]
async fn home_links_the_library_and_for_admins_the_users_page() {
    let app = TestApp::new().await;
    let (_, viewer) = app.signed_in("vera", Role::Viewer).await;
    let (_, admin) = app.signed_in("root", Role::Admin).await;
    let html = assert_page(&get_as(&app, &viewer, "/", &[]).await, StatusCode::OK);
    assert!(
        html.contains(r#"href="/library""#) && !html.contains("/admin/users"),
        "{html}"
    );
    let html = assert_page(&get_as(&app, &admin, "/", &[]).await, StatusCode::OK);
    assert!(
        html.contains(r#"href="/library""#) && html.contains(r#"href="/admin/users""#),
        "{html}"
    );
}

on_both_engines!(only_admins_see_the_users_page, |app: TestApp| async move {
    let (vera, viewer) = app.signed_in("vera", Role::Viewer).await;
    let (_, editor) = app.signed_in("eddie", Role::Editor).await;
    let (_, admin) = app.signed_in("root", Role::Admin).await;
    app.store()
        .insert_link("https://idp.example.com", "sub-vera-1", vera.id, app.now())
        .await
        .unwrap();
    for (who, browser) in [("viewer", &viewer), ("editor", &editor)] {
        let html = assert_page(&get_as(&app, browser, "/admin/users", &[]).await, StatusCode::FORBIDDEN);
        assert!(
            html.contains("Only administrators can see this.") && !html.contains("users.read"),
            "{who}: {html}"
        );
        let api = get_as(&app, browser, "/api/users", &[]).await;
        assert_eq!(api.status, StatusCode::FORBIDDEN, "{who}");
        let forged = post_form(
            &app,
            browser,
            &format!("/admin/users/{}/role", vera.id),
            &browser.csrf,
            "role=admin",
        )
        .await;
        assert_page(&forged, StatusCode::FORBIDDEN);
    }
    assert_eq!(
        app.store().find_user(vera.id).await.unwrap().unwrap().role,
        Role::Viewer
    );

    let html = assert_page(&get_as(&app, &admin, "/admin/users", &[]).await, StatusCode::OK);
    for expected in [
        "vera",
        "eddie",
        "root",
        "https://idp.example.com",
        "sub-vera-1",
        "(you)",
    ] {
        assert!(html.contains(expected), "{expected} in {html}");
    }
    assert!(
        html.contains(&format!(r#"href="/admin/users/{}/delete""#, vera.id)),
        "{html}"
    );
    assert_eq!(get_as(&app, &admin, "/api/users", &[]).await.status, StatusCode::OK);
});

on_both_engines!(admins_manage_users_through_the_page, |app: TestApp| async move {
    let (vera, viewer) = app.signed_in("vera", Role::Viewer).await;
    let (root, admin) = app.signed_in("root", Role::Admin).await;
    let app_ref = &app;
    let user = |id| async move { app_ref.store().find_user(id).await.unwrap() };
    let me_status = |browser: Browser| async move { get_as(app_ref, &browser, "/api/users/me", &[]).await.status };

    let forged = post_form(
        &app,
        &admin,
        &format!("/admin/users/{}/role", vera.id),
        "rgc_wrong",
        "role=editor",
    )
    .await;
    assert_page(&forged, StatusCode::FORBIDDEN);
    assert_eq!(user(vera.id).await.unwrap().role, Role::Viewer);

    let path = format!("/admin/users/{}/role", vera.id);
    assert_see_other(
        &post_form(&app, &admin, &path, &admin.csrf, "role=editor").await,
        "/admin/users",
    );
    assert_eq!(user(vera.id).await.unwrap().role, Role::Editor);
    let bad = post_form(&app, &admin, &path, &admin.csrf, "role=emperor").await;
    assert_page(&bad, StatusCode::BAD_REQUEST);

    let path = format!("/admin/users/{}/enabled", vera.id);
    assert_eq!(me_status(viewer.clone()).await, StatusCode::OK);
    assert_see_other(
        &post_form(&app, &admin, &path, &admin.csrf, "enabled=false").await,
        "/admin/users",
    );
    assert!(!user(vera.id).await.unwrap().enabled);
    assert_eq!(
        me_status(viewer.clone()).await,
        StatusCode::UNAUTHORIZED,
        "disabling ends the sessions"
    );
    assert_see_other(
        &post_form(&app, &admin, &path, &admin.csrf, "enabled=true").await,
        "/admin/users",
    );
    assert!(user(vera.id).await.unwrap().enabled);

    let last = post_form(
        &app,
        &admin,
        &format!("/admin/users/{}/role", root.id),
        &admin.csrf,
        "role=viewer",
    )
    .await;
    assert!(assert_page(&last, StatusCode::CONFLICT).contains("last_admin"));
    assert_eq!(user(root.id).await.unwrap().role, Role::Admin);

    let path = format!("/admin/users/{}/delete", vera.id);
    assert_see_other(
        &post_form(&app, &admin, &path, &admin.csrf, "confirm=yes").await,
        "/admin/users",
    );
    assert!(user(vera.id).await.is_none());
    let gone = post_form(&app, &admin, &path, &admin.csrf, "confirm=yes").await;
    assert_page(&gone, StatusCode::NOT_FOUND);
});

/// A platform folder named `upload` has a page like any other, though the
/// upload form posts to the same path.
#[tokio::test]
async fn a_platform_named_upload_has_its_page() {
    let app = TestApp::new().await;
    put_file(&app, "upload", "Tetris.gb", b"tetris");
    scan(&app).await;
    let (_, viewer) = app.signed_in("vera", Role::Viewer).await;
    let html = assert_page(&get_as(&app, &viewer, "/library/upload", &[]).await, StatusCode::OK);
    assert!(html.contains("Tetris.gb"), "{html}");
    assert_see_other(
        &app.get("/library/upload", &[]).await,
        "/login?next=%2Flibrary%2Fupload",
    );
}
