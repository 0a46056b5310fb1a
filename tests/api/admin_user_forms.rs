//! The users page's forms: administrators create accounts and set other
//! accounts' passwords, through the same flows as the users API.

use axum::http::StatusCode;
use romgate::auth::Role;

use crate::library_support::get_as;
use crate::util::{PASSWORD, TestApp, enc, post_page_form};

fn create_fields(username: &str, password: &str, role: &str) -> String {
    format!(
        "username={}&email={}&password={}&role={role}",
        enc(username),
        enc(&format!("{username}@example.org")),
        enc(password)
    )
}

#[tokio::test]
async fn an_admin_creates_a_user_on_the_users_page() {
    let app = TestApp::new().await;
    let (_, admin) = app.signed_in("root", Role::Admin).await;
    let page = get_as(&app, &admin, "/admin/users", &[]).await.text();
    assert!(
        page.contains(r#"action="/admin/users""#) && page.contains("Create a user"),
        "{page}"
    );

    let fields = create_fields("nina", "nina-password", "editor");
    let created = post_page_form(&app, &admin, "/admin/users", &admin.csrf, &fields).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text());
    assert_eq!(created.header("location"), Some("/admin/users?done=created"));
    let nina = app
        .store()
        .find_user_by_username("nina")
        .await
        .unwrap()
        .expect("created");
    assert_eq!(nina.role, Role::Editor);
    assert!(
        app.state.auth.email_trusted(nina.id).await.unwrap(),
        "an admin's email is trusted"
    );
    assert_eq!(app.basic_login("nina", "nina-password").await.status, StatusCode::OK);
    let after = get_as(&app, &admin, "/admin/users?done=created", &[]).await.text();
    assert!(after.contains("The account is created."), "{after}");
}

#[tokio::test]
async fn a_refused_creation_shows_the_users_page_with_the_reason_and_creates_nothing() {
    let app = TestApp::new().await;
    let (_, admin) = app.signed_in("root", Role::Admin).await;
    let cases = [
        (create_fields("nina", "short", "viewer"), StatusCode::BAD_REQUEST),
        (
            create_fields("nina", "nina-password", "emperor"),
            StatusCode::BAD_REQUEST,
        ),
        (
            create_fields("bad name!", "nina-password", "viewer"),
            StatusCode::BAD_REQUEST,
        ),
        (create_fields("root", "nina-password", "viewer"), StatusCode::CONFLICT),
    ];
    for (fields, status) in cases {
        let refused = post_page_form(&app, &admin, "/admin/users", &admin.csrf, &fields).await;
        let html = refused.text();
        assert_eq!(refused.status, status, "{fields}: {html}");
        assert!(
            html.contains(r#"role="alert""#) && html.contains("Create a user"),
            "{html}"
        );
        assert!(html.contains(r#"href="/library""#), "with the navigation bar");
        assert!(!html.contains("nina-password"), "the password is not echoed");
    }
    assert!(app.store().find_user_by_username("nina").await.unwrap().is_none());
    let forged = post_page_form(
        &app,
        &admin,
        "/admin/users",
        "rgc_wrong",
        &create_fields("eve", PASSWORD, "admin"),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let (_, editor) = app.signed_in("eddie", Role::Editor).await;
    let by_editor = post_page_form(
        &app,
        &editor,
        "/admin/users",
        &editor.csrf,
        &create_fields("eve", PASSWORD, "viewer"),
    )
    .await;
    assert_eq!(by_editor.status, StatusCode::FORBIDDEN);
    assert!(app.store().find_user_by_username("eve").await.unwrap().is_none());
}

#[tokio::test]
async fn an_admin_sets_another_users_password_which_ends_their_sessions() {
    let app = TestApp::new().await;
    let (vera, viewer) = app.signed_in("vera", Role::Viewer).await;
    let (root, admin) = app.signed_in("root", Role::Admin).await;
    let path = format!("/admin/users/{}/password", vera.id);
    let page = get_as(&app, &admin, "/admin/users", &[]).await.text();
    assert!(page.contains(&format!(r#"action="{path}""#)), "{page}");
    assert!(
        !page.contains(&format!(r#"action="/admin/users/{}/password""#, root.id)),
        "not for oneself"
    );

    let short = post_page_form(&app, &admin, &path, &admin.csrf, "password=short").await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    assert!(short.text().contains(r#"role="alert""#));
    assert_eq!(get_as(&app, &viewer, "/api/users/me", &[]).await.status, StatusCode::OK);

    let set = post_page_form(&app, &admin, &path, &admin.csrf, "password=vera-new-password").await;
    assert_eq!(set.header("location"), Some("/admin/users?done=password"));
    assert_eq!(
        get_as(&app, &viewer, "/api/users/me", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.basic_login("vera", "vera-new-password").await.status,
        StatusCode::OK
    );
    assert_eq!(app.basic_login("vera", PASSWORD).await.status, StatusCode::UNAUTHORIZED);

    let own = format!("/admin/users/{}/password", root.id);
    let mine = post_page_form(&app, &admin, &own, &admin.csrf, "password=root-new-password").await;
    assert_eq!(
        mine.header("location"),
        Some("/account"),
        "one's own needs the current one"
    );
    assert_eq!(app.basic_login("root", PASSWORD).await.status, StatusCode::OK);
}

/// Every form of the users page refuses a viewer and an editor (403) and
/// changes nothing: no account made, no password, state, account or limit
/// of another touched.
#[tokio::test]
async fn the_users_page_forms_refuse_everyone_but_administrators() {
    let app = TestApp::new().await;
    let root = app.create_user("root", Role::Admin).await;
    for role in [Role::Viewer, Role::Editor] {
        let name = format!("{role}-person");
        let (_, browser) = app.signed_in(&name, role).await;
        let id = root.id;
        let forms = [
            (
                "/admin/users".to_string(),
                create_fields("sneaky", "sneaky-password", "admin"),
            ),
            (
                format!("/admin/users/{id}/password"),
                "password=taken-over-password".to_string(),
            ),
            (format!("/admin/users/{id}/enabled"), "enabled=false".to_string()),
            (format!("/admin/users/{id}/delete"), String::new()),
            (format!("/admin/users/{id}/unlock"), String::new()),
        ];
        for (path, fields) in forms {
            let refused = post_page_form(&app, &browser, &path, &browser.csrf, &fields).await;
            assert_eq!(
                refused.status,
                StatusCode::FORBIDDEN,
                "{role} {path}: {}",
                refused.text()
            );
        }
    }
    assert!(app.store().find_user_by_username("sneaky").await.unwrap().is_none());
    let still = app
        .store()
        .find_user(root.id)
        .await
        .unwrap()
        .expect("root is still there");
    assert!(still.enabled);
    app.login("root", PASSWORD).await;
}
