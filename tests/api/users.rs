//! The users API: listing, creating, editing, deleting, and the rule that a
//! password change, a disable or a delete ends the user's sessions and tokens.

use axum::http::{Method, StatusCode};
use romgate::auth::Role;
use serde_json::json;

use crate::util::{PASSWORD, TestApp, on_both_engines};

#[tokio::test]
async fn admin_lists_and_creates_users() {
    let app = TestApp::new().await;
    let (_, admin) = app.signed_in("root", Role::Admin).await;
    let body = json!({"username": "bob", "password": "bobs-password", "email": "bob@example.com", "role": "editor"});
    let created = app.as_browser(&admin, Method::POST, "/api/users", Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    assert_eq!(created.json()["role"], "editor");
    let list = app.as_browser(&admin, Method::GET, "/api/users", None).await;
    let names: Vec<String> = list
        .json()
        .as_array()
        .expect("array")
        .iter()
        .map(|u| u["username"].as_str().expect("name").into())
        .collect();
    assert_eq!(names, ["root", "bob"]);
    app.login("bob", "bobs-password").await;
}

#[tokio::test]
async fn usernames_and_emails_are_unique_ignoring_case() {
    let app = TestApp::new().await;
    let (_, admin) = app.signed_in("root", Role::Admin).await;
    let dup_name = json!({"username": "ROOT", "password": "password-1"});
    let response = app.as_browser(&admin, Method::POST, "/api/users", Some(dup_name)).await;
    assert_eq!(response.status, StatusCode::CONFLICT);
    let dup_email = json!({"username": "other", "password": "password-1", "email": "Root@Example.com"});
    let response = app
        .as_browser(&admin, Method::POST, "/api/users", Some(dup_email))
        .await;
    assert_eq!(response.status, StatusCode::CONFLICT);
    assert_eq!(app.store().list_users().await.expect("query").len(), 1);
    // Login is case-insensitive too.
    app.login("Root", PASSWORD).await;
}

on_both_engines!(a_conflict_names_the_username_or_the_email, |app: TestApp| async move {
    // create_user gives root the email root@example.com.
    let (_, admin) = app.signed_in("root", Role::Admin).await;
    let bob = json!({"username": "bob", "password": "password-1", "email": "bob@example.com"});
    let bob = app
        .as_browser(&admin, Method::POST, "/api/users", Some(bob))
        .await
        .json();
    let refusals = [
        (
            Method::POST,
            "/api/users".to_string(),
            json!({"username": "BOB", "password": "password-1"}),
            "username_taken",
        ),
        (
            Method::POST,
            "/api/users".to_string(),
            json!({"username": "carol", "email": "Bob@Example.com"}),
            "email_taken",
        ),
        (
            Method::PUT,
            format!("/api/users/{}", bob["id"]),
            json!({"username": "Root"}),
            "username_taken",
        ),
        (
            Method::PUT,
            format!("/api/users/{}", bob["id"]),
            json!({"email": "ROOT@example.com"}),
            "email_taken",
        ),
    ];
    for (method, path, body, code) in refusals {
        let response = app.as_browser(&admin, method, &path, Some(body.clone())).await;
        assert_eq!(response.status, StatusCode::CONFLICT, "{body}");
        assert_eq!(response.error_code(), code, "{body}");
        let word = if code == "email_taken" { "email" } else { "username" };
        assert!(
            response.json()["detail"].as_str().is_some_and(|d| d.contains(word)),
            "{}",
            response.text()
        );
    }
    let users = app.store().list_users().await.expect("query");
    let names: Vec<&str> = users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["root", "bob"]);
    assert_eq!(users[1].email.as_deref(), Some("bob@example.com"));
});

#[tokio::test]
async fn a_viewer_can_read_and_edit_only_itself() {
    let app = TestApp::new().await;
    let (alice, browser) = app.signed_in("alice", Role::Viewer).await;
    let bob = app.create_user("bob", Role::Viewer).await;
    let own = app
        .as_browser(&browser, Method::GET, &format!("/api/users/{}", alice.id), None)
        .await;
    assert_eq!(own.status, StatusCode::OK);
    let other = app
        .as_browser(&browser, Method::GET, &format!("/api/users/{}", bob.id), None)
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    let edit_other = app
        .as_browser(
            &browser,
            Method::PUT,
            &format!("/api/users/{}", bob.id),
            Some(json!({"email": "x@example.com"})),
        )
        .await;
    assert_eq!(edit_other.status, StatusCode::FORBIDDEN);
    let promote_self = app
        .as_browser(
            &browser,
            Method::PUT,
            &format!("/api/users/{}", alice.id),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(promote_self.status, StatusCode::FORBIDDEN);
    let me = app.store().find_user(alice.id).await.expect("query").expect("user");
    assert_eq!(me.role, Role::Viewer);
    let rename = app
        .as_browser(
            &browser,
            Method::PUT,
            &format!("/api/users/{}", alice.id),
            Some(json!({"email": "new@example.com", "current_password": PASSWORD})),
        )
        .await;
    assert_eq!(rename.status, StatusCode::OK, "{}", rename.text());
    assert_eq!(rename.json()["email"], "new@example.com");
}

#[tokio::test]
async fn changing_a_password_ends_sessions_and_tokens() {
    let app = TestApp::new().await;
    let (alice, browser) = app.signed_in("alice", Role::Viewer).await;
    let other_session = app.login("alice", PASSWORD).await;
    let token = app.token("alice", PASSWORD, "").await.json();
    let access = token["access_token"].as_str().expect("access").to_string();
    let refresh = token["refresh_token"].as_str().expect("refresh").to_string();

    let change = json!({"password": "a-brand-new-password", "current_password": PASSWORD});
    let response = app
        .as_browser(&browser, Method::PUT, &format!("/api/users/{}", alice.id), Some(change))
        .await;
    assert_eq!(response.status, StatusCode::OK);

    for session in [&browser, &other_session] {
        assert_eq!(
            app.as_browser(session, Method::GET, "/api/users/me", None).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        app.with_bearer(Method::GET, "/api/users/me", &access, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let form = format!("grant_type=refresh_token&refresh_token={refresh}");
    assert_eq!(
        app.post_form("/api/token", &[], &form).await.status,
        StatusCode::BAD_REQUEST
    );
    app.login("alice", "a-brand-new-password").await;
}

on_both_engines!(
    /// A sign-in whose password check is still running when the password
    /// changes gets nothing that outlives the change (SPEC 4.8): sign-ins
    /// by `POST /api/login` and password grants run in loops while the
    /// owner changes the password, and nothing any of them got works after.
    sign_ins_running_when_the_password_changes_do_not_outlive_it,
    |app: TestApp| async move {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};

        let (alice, browser) = app.signed_in("alice", Role::Viewer).await;
        let (changed, signed_in) = (AtomicBool::new(false), AtomicUsize::new(0));
        // Each loop: what it got, as (session cookie or access token, refresh token).
        let sign_in_loop = |grant: bool| {
            let (app, changed, signed_in) = (&app, &changed, &signed_in);
            async move {
                let mut got: Vec<(String, Option<String>)> = Vec::new();
                while !changed.load(SeqCst) {
                    if grant {
                        let answer = app.token("alice", PASSWORD, "").await;
                        if answer.status == StatusCode::OK {
                            let json = answer.json();
                            let text = |key: &str| json[key].as_str().expect("token").to_string();
                            got.push((text("access_token"), Some(text("refresh_token"))));
                        }
                    } else {
                        let answer = app.basic_login("alice", PASSWORD).await;
                        if let Some(session) = answer.cookie_value("romm_session") {
                            got.push((session, None));
                        }
                    }
                    signed_in.fetch_add(1, SeqCst);
                }
                got
            }
        };
        let change = async {
            while signed_in.load(SeqCst) < 12 {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            let change = json!({"password": "a-brand-new-password", "current_password": PASSWORD});
            let response = app
                .as_browser(&browser, Method::PUT, &format!("/api/users/{}", alice.id), Some(change))
                .await;
            assert_eq!(response.status, StatusCode::OK, "{}", response.text());
            changed.store(true, SeqCst);
        };
        let loops = futures_util::future::join_all([false, true, false, true, false, true].map(sign_in_loop));
        let (got, ()) = tokio::join!(loops, change);

        let got: Vec<_> = got.into_iter().flatten().collect();
        assert!(got.len() >= 12, "the loops signed in before the change");
        for (credential, refresh) in got {
            let me = match &refresh {
                Some(_) => app.with_bearer(Method::GET, "/api/users/me", &credential, None).await,
                None => app.get("/api/users/me", &[("cookie", &format!("romm_session={credential}"))]).await,
            };
            assert_eq!(me.status, StatusCode::UNAUTHORIZED, "a credential outlived the change");
            if let Some(refresh) = refresh {
                let form = format!("grant_type=refresh_token&refresh_token={refresh}");
                let renewed = app.post_form("/api/token", &[], &form).await;
                assert_eq!(renewed.status, StatusCode::BAD_REQUEST, "a refresh token outlived the change");
            }
        }
    }
);

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_and_demotion_is_immediate() {
    let app = TestApp::new().await;
    let (_, admin) = app.signed_in("root", Role::Admin).await;
    let (editor, editor_browser) = app.signed_in("ed", Role::Editor).await;
    let path = format!("/api/users/{}", editor.id);

    let demote = app
        .as_browser(&admin, Method::PUT, &path, Some(json!({"role": "viewer"})))
        .await;
    assert_eq!(demote.status, StatusCode::OK);
    let me = app
        .as_browser(&editor_browser, Method::GET, "/api/users/me", None)
        .await;
    assert_eq!(me.json()["role"], "viewer");

    let disable = app
        .as_browser(&admin, Method::PUT, &path, Some(json!({"enabled": false})))
        .await;
    assert_eq!(disable.status, StatusCode::OK);
    assert_eq!(
        app.as_browser(&editor_browser, Method::GET, "/api/users/me", None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.store().count_sessions(editor.id, app.now()).await.expect("count"),
        0
    );
}

#[tokio::test]
async fn deleting_a_user_ends_their_sessions() {
    let app = TestApp::new().await;
    let (_, admin) = app.signed_in("root", Role::Admin).await;
    let (bob, bob_browser) = app.signed_in("bob", Role::Viewer).await;
    let deleted = app
        .as_browser(&admin, Method::DELETE, &format!("/api/users/{}", bob.id), None)
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert_eq!(
        app.as_browser(&bob_browser, Method::GET, "/api/users/me", None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let again = app
        .as_browser(&admin, Method::DELETE, &format!("/api/users/{}", bob.id), None)
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_last_admin_cannot_be_removed() {
    let app = TestApp::new().await;
    let (root, admin) = app.signed_in("root", Role::Admin).await;
    let path = format!("/api/users/{}", root.id);
    for change in [json!({"role": "viewer"}), json!({"enabled": false})] {
        let response = app.as_browser(&admin, Method::PUT, &path, Some(change)).await;
        assert_eq!(response.status, StatusCode::CONFLICT);
        assert_eq!(response.error_code(), "last_admin");
    }
    let delete = app.as_browser(&admin, Method::DELETE, &path, None).await;
    assert_eq!(delete.error_code(), "last_admin");
    let still = app.store().find_user(root.id).await.expect("query").expect("user");
    assert!(still.enabled && still.role == Role::Admin);
}

#[tokio::test]
async fn an_editor_cannot_manage_users() {
    let app = TestApp::new().await;
    let (_, editor) = app.signed_in("ed", Role::Editor).await;
    let create = app
        .as_browser(
            &editor,
            Method::POST,
            "/api/users",
            Some(json!({"username": "x", "password": "password-1"})),
        )
        .await;
    assert_eq!(create.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.as_browser(&editor, Method::GET, "/api/users", None).await.status,
        StatusCode::FORBIDDEN
    );
    assert!(app.store().find_user_by_username("x").await.expect("query").is_none());
}
