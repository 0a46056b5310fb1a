//! Email trust (SPEC 9) against the fake provider: single sign-on links an
//! identity to an existing account by email only when romgate trusts that
//! account's email. The attack, step by step, on both engines.

use axum::http::{Method, StatusCode};
use romgate::auth::Role;
use serde_json::{Value, json};

use crate::sso_support::{me, session_of, sign_in, sso_app_on};
use crate::util::{Browser, PASSWORD, TestApp};

/// Roles from the `groups` claim; the provider's `admins` are admins.
const ROLES: [(&str, &str); 3] = [
    ("OIDC_CLAIM_ROLES", "groups"),
    ("OIDC_ROLE_VIEWER", "*"),
    ("OIDC_ROLE_ADMIN", "admins"),
];

/// The provider's administrator, signing in here for the first time.
fn boss() -> Value {
    json!({"sub": "boss-sub", "preferred_username": "boss", "email": "boss@example.com",
           "email_verified": true, "groups": ["admins"]})
}

async fn set_own_email(app: &TestApp, browser: &Browser, id: i64, email: &str) {
    let change = json!({"email": email, "current_password": PASSWORD});
    let response = app
        .as_browser(browser, Method::PUT, &format!("/api/users/{id}"), Some(change))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
}

/// The attack: a viewer sets their own email to the provider
/// admin's; the admin's first sign-in must not land in the viewer's account,
/// and the viewer must not become an administrator.
async fn claiming_an_admins_email_gains_nothing(app: TestApp, idp: crate::fake_idp::FakeIdp) {
    app.create_user("root", Role::Admin).await;
    let (viewer, browser) = app.signed_in("mallory", Role::Viewer).await;
    let token = app.token("mallory", PASSWORD, "").await.json();
    let access = token["access_token"].as_str().expect("access token").to_string();
    set_own_email(&app, &browser, viewer.id, "boss@example.com").await;

    let refused = sign_in(&app, &idp, boss()).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
    assert!(refused.text().contains("email_not_trusted"), "{}", refused.text());
    assert!(refused.text().contains("Ask an administrator"), "{}", refused.text());

    let stored = app.store().find_user(viewer.id).await.expect("query").expect("viewer");
    assert_eq!(stored.role, Role::Viewer);
    assert!(app.store().list_links(viewer.id).await.expect("links").is_empty());
    assert_eq!(
        app.store().list_users().await.expect("users").len(),
        2,
        "no account made"
    );
    let users = app.as_browser(&browser, Method::GET, "/api/users", None).await;
    assert_eq!(users.status, StatusCode::FORBIDDEN, "the viewer's session");
    let users = app.with_bearer(Method::GET, "/api/users", &access, None).await;
    assert_eq!(users.status, StatusCode::FORBIDDEN, "the viewer's old token");
    let grant = app.token("mallory", PASSWORD, "users.write").await;
    assert_eq!(grant.error_code(), "invalid_scope", "the viewer's password");
}

#[tokio::test]
async fn a_viewer_claiming_an_admins_email_is_not_linked_sqlite() {
    let (app, idp) = sso_app_on(false, &ROLES).await;
    claiming_an_admins_email_gains_nothing(app, idp).await;
}

#[tokio::test]
#[ignore = "PostgreSQL suite: needs TEST_DATABASE_URL, run with --include-ignored"]
async fn a_viewer_claiming_an_admins_email_is_not_linked_postgres() {
    let (app, idp) = sso_app_on(true, &ROLES).await;
    claiming_an_admins_email_gains_nothing(app, idp).await;
}

/// An email an administrator sets on another account is trusted, also after
/// its owner had set it: the sign-in then links.
async fn an_administrator_vouches_for_an_email(app: TestApp, idp: crate::fake_idp::FakeIdp) {
    let (_, admin) = app.signed_in("root", Role::Admin).await;
    let (bob, browser) = app.signed_in("bob", Role::Viewer).await;
    set_own_email(&app, &browser, bob.id, "boss@example.com").await;
    assert!(!app.store().email_trusted(bob.id).await.expect("query"));
    assert_eq!(sign_in(&app, &idp, boss()).await.status, StatusCode::FORBIDDEN);

    let by_admin = json!({"email": "Boss@example.com"});
    let path = format!("/api/users/{}", bob.id);
    let response = app.as_browser(&admin, Method::PUT, &path, Some(by_admin)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert!(app.store().email_trusted(bob.id).await.expect("query"));

    let session = session_of(&sign_in(&app, &idp, boss()).await);
    let user = me(&app, &session).await.json();
    assert_eq!(
        user["id"].as_i64(),
        Some(bob.id),
        "linked to the account the admin named"
    );
    assert_eq!(user["role"], "admin", "the provider's role applies to a linked account");
}

#[tokio::test]
async fn an_email_set_by_an_administrator_links_sqlite() {
    let (app, idp) = sso_app_on(false, &ROLES).await;
    an_administrator_vouches_for_an_email(app, idp).await;
}

#[tokio::test]
#[ignore = "PostgreSQL suite: needs TEST_DATABASE_URL, run with --include-ignored"]
async fn an_email_set_by_an_administrator_links_postgres() {
    let (app, idp) = sso_app_on(true, &ROLES).await;
    an_administrator_vouches_for_an_email(app, idp).await;
}

/// A provider that verified the email makes it trusted: at registration,
/// and for a linked account whose owner had changed it.
async fn a_provider_proves_an_email(app: TestApp, idp: crate::fake_idp::FakeIdp) {
    let alice = json!({"sub": "alice-sub", "preferred_username": "alice", "email": "alice@example.com", "email_verified": true});
    let session = session_of(&sign_in(&app, &idp, alice.clone()).await);
    let id = me(&app, &session).await.json()["id"].as_i64().expect("id");
    assert!(
        app.store().email_trusted(id).await.expect("query"),
        "registered verified"
    );

    // Fresh from the provider, so no password is needed (see `reauth`).
    let browser = app.browser_for(&session).await;
    let change = json!({"email": "alice@new.example.com"});
    let path = format!("/api/users/{id}");
    let response = app.as_browser(&browser, Method::PUT, &path, Some(change)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert!(!app.store().email_trusted(id).await.expect("query"), "set by its owner");

    let unverified = json!({"sub": "alice-sub", "email": "alice@new.example.com", "email_verified": false});
    session_of(&sign_in(&app, &idp, unverified).await);
    assert!(!app.store().email_trusted(id).await.expect("query"), "not verified");
    let verified = json!({"sub": "alice-sub", "email": "ALICE@new.example.com", "email_verified": true});
    session_of(&sign_in(&app, &idp, verified).await);
    assert!(
        app.store().email_trusted(id).await.expect("query"),
        "proven by the provider"
    );
}

#[tokio::test]
async fn a_verified_provider_email_is_trusted_sqlite() {
    let (app, idp) = sso_app_on(false, &[]).await;
    a_provider_proves_an_email(app, idp).await;
}

#[tokio::test]
#[ignore = "PostgreSQL suite: needs TEST_DATABASE_URL, run with --include-ignored"]
async fn a_verified_provider_email_is_trusted_postgres() {
    let (app, idp) = sso_app_on(true, &[]).await;
    a_provider_proves_an_email(app, idp).await;
}

#[tokio::test]
async fn an_administrator_setting_their_own_email_does_not_vouch_for_it() {
    let (app, idp) = sso_app_on(false, &ROLES).await;
    let (root, admin) = app.signed_in("root", Role::Admin).await;
    set_own_email(&app, &admin, root.id, "boss@example.com").await;
    assert!(!app.store().email_trusted(root.id).await.expect("query"));
    let refused = sign_in(&app, &idp, boss()).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(app.store().list_links(root.id).await.expect("links").is_empty());
}

#[tokio::test]
async fn saving_the_same_email_keeps_its_trust() {
    let (app, idp) = sso_app_on(false, &[]).await;
    let (bob, browser) = app.signed_in("bob", Role::Viewer).await;
    let same = json!({"email": "BOB@example.com", "username": "bob"});
    let path = format!("/api/users/{}", bob.id);
    let response = app.as_browser(&browser, Method::PUT, &path, Some(same)).await;
    assert_eq!(
        response.status,
        StatusCode::OK,
        "no change, no proof: {}",
        response.text()
    );
    assert!(app.store().email_trusted(bob.id).await.expect("query"));
    let claims = json!({"sub": "b", "preferred_username": "b", "email": "bob@example.com", "email_verified": true});
    let session = session_of(&sign_in(&app, &idp, claims).await);
    assert_eq!(me(&app, &session).await.json()["id"].as_i64(), Some(bob.id));
}

#[tokio::test]
async fn setup_and_admin_created_accounts_have_trusted_emails() {
    let app = TestApp::new().await;
    let created = app
        .post_json(
            "/api/users",
            &[],
            json!({"username": "root", "password": "first-admin-pw", "email": "root@example.com"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let root_id = created.json()["id"].as_i64().expect("id");
    assert!(app.store().email_trusted(root_id).await.expect("query"), "setup wizard");
    let admin = app.login("root", "first-admin-pw").await;
    let body = json!({"username": "carol", "password": "carols-password", "email": "carol@example.com"});
    let carol = app.as_browser(&admin, Method::POST, "/api/users", Some(body)).await;
    let carol_id = carol.json()["id"].as_i64().expect("id");
    assert!(
        app.store().email_trusted(carol_id).await.expect("query"),
        "an administrator"
    );
}

#[tokio::test]
async fn the_setup_page_creates_a_trusted_email() {
    let app = TestApp::new().await;
    // As a browser does: the token the setup page hands out, in both places.
    let page = app.get("/setup", &[]).await;
    let csrf = page
        .cookie_value("romm_csrftoken")
        .expect("the page sets a CSRF cookie");
    let form = format!(
        "csrf_token={}&username=root&email=root%40example.com&password=first-admin-pw",
        crate::util::enc(&csrf)
    );
    let cookie = format!("romm_csrftoken={csrf}");
    let response = app.post_form("/setup", &[("cookie", &cookie)], &form).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.text());
    let root = app
        .store()
        .find_user_by_username("root")
        .await
        .expect("query")
        .expect("root");
    assert!(app.store().email_trusted(root.id).await.expect("query"));
}

/// Runs the binary's admin CLI on the database in `data`.
fn cli(data: &std::path::Path, args: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_romgate"))
        .args(args)
        .env_clear()
        .env("ROMM_DATA_PATH", data)
        .env("RUST_LOG", "warn")
        .output()
        .expect("romgate runs");
    assert!(output.status.success(), "{args:?}: {output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn the_cli_sets_trusted_emails_and_lists_untrusted_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    cli(data, &["user", "create", "bob", "--email", "bob@example.com"]);
    let url = format!("sqlite://{}", data.join("romgate.db").display());
    let store = romgate::store::Store::open(&romgate::config::DatabaseUrl::new(url))
        .await
        .expect("store");
    let bob = store.find_user_by_username("bob").await.expect("query").expect("bob");
    assert!(store.email_trusted(bob.id).await.expect("query"), "created by the CLI");

    // As if bob had changed it himself.
    let own_change = romgate::store::UserChanges {
        email: Some(Some("boss@example.com".into())),
        ..Default::default()
    };
    store.update_user(bob.id, &own_change, 0).await.expect("update");
    assert!(!store.email_trusted(bob.id).await.expect("query"));
    let list = cli(data, &["user", "list"]);
    assert!(list.contains("boss@example.com (not trusted"), "{list}");

    let set = cli(data, &["user", "set-email", "bob", "boss@example.com"]);
    assert!(set.contains("trusted email boss@example.com"), "{set}");
    assert!(store.email_trusted(bob.id).await.expect("query"));
    assert!(!cli(data, &["user", "list"]).contains("not trusted"));
}
