//! What a new self-hoster meets on the pages (issue 13): the setup page's
//! single sign-on button and SSO-only form, `/login` when signed in, plain
//! refusals for viewers, and scan instructions only for those who can.

use axum::http::{Method, StatusCode};
use romgate::auth::Role;
use serde_json::json;

use crate::library_support::{get_as, listed, multipart, multipart_type, put_file, scan};
use crate::sso_support::{me, session_of, sign_in, sso_app};
use crate::util::{Browser, TestApp, TestResponse, enc, post_page_form, request};

fn page_text(response: &TestResponse, status: StatusCode) -> String {
    assert_eq!(response.status, status, "{}", response.text());
    response.text()
}

fn alice(groups: &[&str]) -> serde_json::Value {
    json!({"sub": "alice-sub", "preferred_username": "alice", "email": "alice@example.com",
           "email_verified": true, "groups": groups})
}

const ROLES: &[(&str, &str)] = &[
    ("OIDC_CLAIM_ROLES", "groups"),
    ("OIDC_ROLE_VIEWER", "*"),
    ("OIDC_ROLE_ADMIN", "romm-admin"),
];

#[tokio::test]
async fn setup_page_offers_single_sign_on_when_configured() {
    let (app, _idp) = sso_app(ROLES).await;
    let html = page_text(&app.get("/setup", &[]).await, StatusCode::OK);
    assert!(html.contains(r#"href="/api/login/openid?next=%2F""#), "{html}");
    assert!(html.contains("Sign in with"), "{html}");
    assert!(
        html.contains("OIDC_ROLE_ADMIN"),
        "the page says who becomes admin: {html}"
    );

    let plain = TestApp::new().await;
    let html = page_text(&plain.get("/setup", &[]).await, StatusCode::OK);
    assert!(!html.contains("/api/login/openid"), "no button without SSO: {html}");
}

#[tokio::test]
async fn the_first_sso_user_mapped_to_admin_becomes_the_admin_and_setup_closes() {
    let (app, idp) = sso_app(ROLES).await;
    let session = session_of(&sign_in(&app, &idp, alice(&["romm-admin"])).await);
    assert_eq!(me(&app, &session).await.json()["role"], "admin");
    let setup = app.get("/setup", &[]).await;
    assert_eq!(
        setup.status,
        StatusCode::SEE_OTHER,
        "setup is closed once an admin exists"
    );
    let home = app.get("/", &[("cookie", &format!("romm_session={session}"))]).await;
    assert!(!page_text(&home, StatusCode::OK).contains("No administrator exists yet"));
}

#[tokio::test]
async fn a_non_admin_sso_user_during_setup_is_told_no_admin_exists_yet() {
    let (app, idp) = sso_app(ROLES).await;
    let session = session_of(&sign_in(&app, &idp, alice(&["players"])).await);
    assert_eq!(me(&app, &session).await.json()["role"], "viewer");
    let home = app.get("/", &[("cookie", &format!("romm_session={session}"))]).await;
    let html = page_text(&home, StatusCode::OK);
    assert!(
        html.contains("No administrator exists yet") && html.contains("OIDC_ROLE_ADMIN"),
        "{html}"
    );
    assert!(app.state.auth.setup_needed().await.unwrap(), "setup stays open");
}

#[tokio::test]
async fn sso_only_setup_asks_no_password_and_links_the_admin_by_email() {
    // No roles claim: the account keeps the role setup gave it.
    let (app, idp) = sso_app(&[("DISABLE_USERPASS_LOGIN", "true")]).await;
    let page = app.get("/setup", &[]).await;
    let html = page_text(&page, StatusCode::OK);
    assert!(!html.contains(r#"name="password""#), "no password field: {html}");
    assert!(html.contains(r#"name="email""#), "{html}");
    let csrf = page.cookie_value("romm_csrftoken").expect("csrf cookie");
    let form = format!(
        "csrf_token={}&username=root&email={}",
        enc(&csrf),
        enc("alice@example.com")
    );
    let created = app
        .post_form("/setup", &[("cookie", &format!("romm_csrftoken={csrf}"))], &form)
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text());
    let root = app.store().find_user_by_username("root").await.unwrap().expect("admin");
    assert_eq!(root.role, Role::Admin);
    // The provider's alice, verified email, lands in that admin account.
    let session = session_of(&sign_in(&app, &idp, alice(&[])).await);
    let me = me(&app, &session).await.json();
    assert_eq!(
        (me["username"].as_str(), me["role"].as_str()),
        (Some("root"), Some("admin"))
    );
}

#[tokio::test]
async fn a_signed_in_person_opening_login_is_sent_on() {
    let app = TestApp::new().await;
    app.create_user("root", Role::Admin).await;
    let (_, viewer) = app.signed_in("vera", Role::Viewer).await;
    let home = get_as(&app, &viewer, "/login", &[]).await;
    assert_eq!(home.status, StatusCode::SEE_OTHER, "{}", home.text());
    assert_eq!(home.header("location"), Some("/"));
    let next = get_as(&app, &viewer, "/login?next=%2Flibrary", &[]).await;
    assert_eq!(next.header("location"), Some("/library"));
    let stranger = app.get("/login", &[]).await;
    assert_eq!(stranger.status, StatusCode::OK, "strangers still get the form");
}

#[tokio::test]
async fn viewers_read_plain_words_not_scope_names() {
    let app = TestApp::new().await;
    app.create_user("root", Role::Admin).await;
    let (_, viewer) = app.signed_in("vera", Role::Viewer).await;
    let html = page_text(&get_as(&app, &viewer, "/admin/users", &[]).await, StatusCode::FORBIDDEN);
    assert!(html.contains("Only administrators can see this."), "{html}");
    assert!(!html.contains("users.read") && !html.contains("users.write"), "{html}");
}

#[tokio::test]
async fn only_those_who_can_add_games_are_told_how() {
    let app = TestApp::new().await;
    let (_, viewer) = app.signed_in("vera", Role::Viewer).await;
    let (_, editor) = app.signed_in("eddie", Role::Editor).await;
    let html = page_text(&get_as(&app, &viewer, "/library", &[]).await, StatusCode::OK);
    assert!(!html.contains("run a scan") && html.contains("No games yet"), "{html}");
    let html = page_text(&get_as(&app, &editor, "/library", &[]).await, StatusCode::OK);
    assert!(html.contains("run a scan"), "{html}");
}

/// Deleting from a page asks first: the list links to a question page, a
/// post without `confirm=yes` changes nothing and goes to the question.
#[tokio::test]
async fn deleting_a_user_from_the_page_asks_first() {
    let app = TestApp::new().await;
    let (vera, _) = app.signed_in("vera", Role::Viewer).await;
    let (_, admin) = app.signed_in("root", Role::Admin).await;
    let path = format!("/admin/users/{}/delete", vera.id);
    let list = page_text(&get_as(&app, &admin, "/admin/users", &[]).await, StatusCode::OK);
    assert!(list.contains(&format!(r#"href="{path}""#)), "{list}");

    let one_click = post_page_form(&app, &admin, &path, &admin.csrf, "").await;
    assert_eq!(one_click.status, StatusCode::SEE_OTHER);
    assert_eq!(one_click.header("location"), Some(path.as_str()));
    assert!(
        app.store().find_user(vera.id).await.unwrap().is_some(),
        "nothing deleted"
    );

    let question = page_text(&get_as(&app, &admin, &path, &[]).await, StatusCode::OK);
    assert!(question.contains("Delete user vera?"), "{question}");
    assert!(
        question.contains(&format!(r#"action="{path}""#))
            && question.contains(r#"name="confirm" value="yes""#)
            && question.contains(&format!(r#"name="csrf_token" value="{}""#, admin.csrf)),
        "{question}"
    );
    let forged = post_page_form(&app, &admin, &path, "rgc_wrong", "confirm=yes").await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let confirmed = post_page_form(&app, &admin, &path, &admin.csrf, "confirm=yes").await;
    assert_eq!(confirmed.header("location"), Some("/admin/users"));
    assert!(app.store().find_user(vera.id).await.unwrap().is_none());
    let missing = get_as(&app, &admin, "/admin/users/999999/delete", &[]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn deleting_a_rom_from_the_page_asks_first() {
    let app = TestApp::new().await;
    let file = put_file(&app, "n64", "Mario.z64", b"mario");
    scan(&app).await;
    let (_, viewer) = app.signed_in("vera", Role::Viewer).await;
    let (_, editor) = app.signed_in("eddie", Role::Editor).await;
    let id = listed(&app, &editor, "").await[0].0;
    let path = format!("/library/roms/{id}/delete");
    let list = page_text(&get_as(&app, &editor, "/library/n64", &[]).await, StatusCode::OK);
    assert!(list.contains(&format!(r#"href="{path}""#)), "{list}");

    let one_click = post_page_form(&app, &editor, &path, &editor.csrf, "").await;
    assert_eq!(one_click.header("location"), Some(path.as_str()));
    assert!(file.exists(), "nothing deleted");
    assert_eq!(get_as(&app, &viewer, &path, &[]).await.status, StatusCode::FORBIDDEN);

    let question = page_text(&get_as(&app, &editor, &path, &[]).await, StatusCode::OK);
    assert!(question.contains("Delete Mario.z64?") && question.contains(r#"href="/library/n64""#));
    let confirmed = post_page_form(&app, &editor, &path, &editor.csrf, "confirm=yes").await;
    assert_eq!(confirmed.header("location"), Some("/library/n64"));
    assert!(!file.exists());
}

/// Uploads "Mario.z64" through the page form with `fields`.
async fn page_upload(app: &TestApp, browser: &Browser, fields: &[(&str, &str)]) -> TestResponse {
    let body = multipart(fields, Some(("Mario.z64", b"again")));
    let (cookie, content_type) = (browser.cookie_header(), multipart_type());
    let headers = [("cookie", cookie.as_str()), ("content-type", content_type.as_str())];
    app.send(request(Method::POST, "/library/upload", &headers, body.into()))
        .await
}

/// An upload refusal lands on the page the form was on, with the
/// navigation bar and the form to try again.
#[tokio::test]
async fn upload_errors_show_on_the_library_page_they_came_from() {
    let app = TestApp::new().await;
    put_file(&app, "n64", "Mario.z64", b"mario");
    scan(&app).await;
    let (_, editor) = app.signed_in("eddie", Role::Editor).await;
    let csrf = editor.csrf.as_str();
    let from_platform = page_upload(
        &app,
        &editor,
        &[("csrf_token", csrf), ("platform", "n64"), ("from", "platform")],
    )
    .await;
    let html = page_text(&from_platform, StatusCode::CONFLICT);
    assert!(
        html.contains("already exists") && html.contains(r#"role="alert""#),
        "{html}"
    );
    assert!(
        html.contains(r#"name="from" value="platform""#),
        "the platform's page: {html}"
    );
    assert!(
        html.contains(r#"href="/library""#) && html.contains(r#"action="/logout""#),
        "navigation: {html}"
    );
    assert!(!html.contains("Back to the start"), "{html}");

    let from_library = page_upload(&app, &editor, &[("csrf_token", csrf), ("platform", "n64")]).await;
    let html = page_text(&from_library, StatusCode::CONFLICT);
    assert!(
        html.contains("<h1>Library</h1>") && html.contains("already exists"),
        "{html}"
    );
    let no_platform = page_upload(&app, &editor, &[("csrf_token", csrf), ("platform", " ")]).await;
    let html = page_text(&no_platform, StatusCode::BAD_REQUEST);
    assert!(
        html.contains("<h1>Library</h1>") && html.contains("Choose a platform"),
        "{html}"
    );
}

#[tokio::test]
async fn pages_show_platform_names_and_readable_times() {
    let app = TestApp::new().await;
    put_file(&app, "n64", "Mario.z64", b"mario");
    put_file(&app, "my-homebrew", "demo.bin", b"demo");
    scan(&app).await;
    let (_, admin) = app.signed_in("root", Role::Admin).await;
    let html = page_text(&get_as(&app, &admin, "/library", &[]).await, StatusCode::OK);
    assert!(
        html.contains(">Nintendo 64</a>") && html.contains(">my-homebrew</a>"),
        "{html}"
    );
    let html = page_text(&get_as(&app, &admin, "/library/n64", &[]).await, StatusCode::OK);
    assert!(html.contains("<h1>Nintendo 64</h1>"), "{html}");

    let html = page_text(&get_as(&app, &admin, "/admin/users", &[]).await, StatusCode::OK);
    let readable = romgate::clock::format_time_readable(app.now());
    assert!(
        readable.ends_with(" UTC") && html.contains(&readable),
        "{readable} in {html}"
    );
    assert!(
        !html.contains(&romgate::clock::format_time(app.now())),
        "no raw RFC 3339: {html}"
    );
}

/// Multi-file games: each file of the folder is offered and served, and
/// nothing outside the folder's own files is.
#[tokio::test]
async fn each_file_of_a_multi_file_game_can_be_downloaded() {
    let app = TestApp::new().await;
    put_file(&app, "psx", "Mario.bin", b"single");
    let folder = crate::library_support::library_dir(&app).join("roms/psx/Final Fantasy VII");
    std::fs::create_dir_all(folder.join("extras")).unwrap();
    std::fs::write(folder.join("Disc 1.bin"), b"disc one").unwrap();
    std::fs::write(folder.join("Disc 2.bin"), b"disc two").unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let outside = elsewhere.path().join("secret.txt");
    std::fs::write(&outside, b"secret").unwrap();
    std::os::unix::fs::symlink(&outside, folder.join("link.bin")).unwrap();
    scan(&app).await;
    let (_, viewer) = app.signed_in("vera", Role::Viewer).await;
    let roms = listed(&app, &viewer, "").await;
    let id = |name: &str| roms.iter().find(|(_, n)| n == name).expect(name).0;
    let (folder_id, single_id) = (id("Final Fantasy VII"), id("Mario.bin"));

    let html = page_text(&get_as(&app, &viewer, "/library/psx", &[]).await, StatusCode::OK);
    let href = format!("/library/roms/{folder_id}/files/Disc%201.bin");
    assert!(
        html.contains(&format!(r#"href="{href}""#)) && html.contains("Disc 2.bin"),
        "{html}"
    );
    assert!(
        !html.contains("link.bin") && !html.contains("extras"),
        "only the folder's own files: {html}"
    );

    let file = get_as(&app, &viewer, &href, &[]).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.body.as_ref(), b"disc one");
    let base = format!("/library/roms/{folder_id}/files");
    for (path, status) in [
        (format!("{base}/link.bin"), StatusCode::BAD_REQUEST),
        (format!("{base}/..%2F..%2Fsecret.txt"), StatusCode::BAD_REQUEST),
        (format!("{base}/extras/x"), StatusCode::BAD_REQUEST),
        (format!("{base}/.hidden"), StatusCode::BAD_REQUEST),
        (format!("{base}/extras"), StatusCode::NOT_FOUND),
        (format!("{base}/Disc%203.bin"), StatusCode::NOT_FOUND),
        (
            format!("/library/roms/{single_id}/files/Mario.bin"),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let refused = get_as(&app, &viewer, &path, &[]).await;
        assert_eq!(refused.status, status, "{path}: {}", refused.text());
        assert!(!refused.text().contains("secret"), "{path}");
    }
    let stranger = app.get(&href, &[]).await;
    assert_eq!(stranger.status, StatusCode::SEE_OTHER);
}
