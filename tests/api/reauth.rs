//! Proof for self-service changes (SPEC 9): changing one's own password,
//! email or username needs the current password, or, for an account
//! without one, a single sign-on at most 5 minutes old. A refused change
//! changes nothing; administrators changing other accounts need no proof.

use axum::http::{Method, StatusCode};
use romgate::auth::{FRESH_SIGN_IN_SECONDS, Role};
use serde_json::{Value, json};

use crate::sso_support::{location_param, session_of, sign_in, sso_app_on};
use crate::util::{Browser, PASSWORD, TestApp, TestResponse};

async fn put(app: &TestApp, browser: &Browser, id: i64, body: Value) -> TestResponse {
    app.as_browser(browser, Method::PUT, &format!("/api/users/{id}"), Some(body))
        .await
}

/// Each self-service change, without and with a wrong current password,
/// is refused and changes nothing; with the right one it is made.
async fn each_change_needs_the_current_password(app: TestApp) {
    let (alice, browser) = app.signed_in("alice", Role::Viewer).await;
    let changes = [
        json!({"password": "a-brand-new-password"}),
        json!({"email": "elsewhere@example.com"}),
        json!({"username": "alicia"}),
    ];
    for change in &changes {
        let missing = put(&app, &browser, alice.id, change.clone()).await;
        assert_eq!(missing.status, StatusCode::BAD_REQUEST, "{change}");
        assert_eq!(missing.error_code(), "current_password_required");
        let mut wrong = change.clone();
        wrong["current_password"] = json!("not the password");
        let wrong = put(&app, &browser, alice.id, wrong).await;
        assert_eq!(wrong.status, StatusCode::FORBIDDEN, "{change}");
        assert_eq!(wrong.error_code(), "current_password_invalid");
    }
    let unchanged = app.store().find_user(alice.id).await.expect("query").expect("alice");
    assert_eq!(
        (unchanged.username.as_str(), unchanged.email.as_deref()),
        ("alice", Some("alice@example.com"))
    );
    app.login("alice", PASSWORD).await;

    let both = json!({"username": "alicia", "email": "elsewhere@example.com", "current_password": PASSWORD});
    let renamed = put(&app, &browser, alice.id, both).await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text());
    assert_eq!(renamed.json()["username"], "alicia");
    let new_password = json!({"password": "a-brand-new-password", "current_password": PASSWORD});
    assert_eq!(put(&app, &browser, alice.id, new_password).await.status, StatusCode::OK);
    app.login("alicia", "a-brand-new-password").await;
}

crate::util::on_both_engines!(own_changes_need_the_current_password, |app: TestApp| async move {
    each_change_needs_the_current_password(app).await
});

#[tokio::test]
async fn a_bearer_token_needs_the_current_password_too() {
    let app = TestApp::new().await;
    let alice = app.create_user("alice", Role::Viewer).await;
    let token = app.token("alice", PASSWORD, "").await.json();
    let access = token["access_token"].as_str().expect("token");
    let path = format!("/api/users/{}", alice.id);
    let body = json!({"email": "elsewhere@example.com"});
    let refused = app.with_bearer(Method::PUT, &path, access, Some(body)).await;
    assert_eq!(refused.error_code(), "current_password_required");
    let body = json!({"email": "elsewhere@example.com", "current_password": PASSWORD});
    let done = app.with_bearer(Method::PUT, &path, access, Some(body)).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
}

#[tokio::test]
async fn administrators_prove_themselves_for_their_own_account_only() {
    let app = TestApp::new().await;
    let (root, admin) = app.signed_in("root", Role::Admin).await;
    let bob = app.create_user("bob", Role::Viewer).await;
    let others = json!({"email": "robert@example.com", "username": "robert", "password": "bobs-new-password"});
    let response = put(&app, &admin, bob.id, others).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    app.login("robert", "bobs-new-password").await;

    let own = put(&app, &admin, root.id, json!({"username": "boss"})).await;
    assert_eq!(own.error_code(), "current_password_required");
    let own = put(
        &app,
        &admin,
        root.id,
        json!({"username": "boss", "current_password": PASSWORD}),
    )
    .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.text());
}

#[tokio::test]
async fn wrong_current_passwords_count_as_failed_logins() {
    let app = TestApp::new().await;
    let (alice, browser) = app.signed_in("alice", Role::Viewer).await;
    let guess = json!({"password": "a-brand-new-password", "current_password": "a guess"});
    let mut limited = None;
    for attempt in 1..=50 {
        let response = put(&app, &browser, alice.id, guess.clone()).await;
        if response.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(attempt);
            break;
        }
        assert_eq!(response.error_code(), "current_password_invalid");
    }
    assert!(
        limited.is_some(),
        "guessing the current password is limited like logins"
    );
    let basic = app.basic_login("alice", PASSWORD).await;
    assert_eq!(basic.status, StatusCode::TOO_MANY_REQUESTS, "the same counters");
}

/// A person's own new email that equals the current one only under Unicode
/// case folding (the Kelvin sign for `k`) would keep the current address's
/// trust, and with it the single sign-on linking: refused, even with the
/// right password.
#[tokio::test]
async fn a_look_alike_of_ones_own_email_is_refused() {
    let app = TestApp::new().await;
    let kate = app.create_user("kate", Role::Viewer).await;
    let browser = app.login("kate", PASSWORD).await;
    let look_alike = "\u{212A}ate@example.com";
    let refused = put(
        &app,
        &browser,
        kate.id,
        json!({"email": look_alike, "current_password": PASSWORD}),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text());
    assert_eq!(refused.error_code(), "invalid_email");
    let user = app.store().find_user(kate.id).await.expect("query").expect("kate");
    assert_eq!(user.email.as_deref(), Some("kate@example.com"));
    let recased = put(&app, &browser, kate.id, json!({"email": "Kate@Example.com"})).await;
    assert_eq!(
        recased.status,
        StatusCode::OK,
        "ASCII case is the same address: {}",
        recased.text()
    );
}

/// The password-less person of these tests, as the provider describes them.
fn sso_person() -> Value {
    json!({"sub": "sso-sub", "preferred_username": "sso", "email": "sso@example.com", "email_verified": true})
}

/// Signs `claims` in: the session and the account's id.
async fn signed_in_sso(app: &TestApp, idp: &crate::fake_idp::FakeIdp, claims: Value) -> (String, i64) {
    let session = session_of(&sign_in(app, idp, claims).await);
    let user = app.store().find_user_by_username("sso").await.expect("query");
    (session, user.expect("registered").id)
}

/// A password-less account (single sign-on only) proves a fresh sign-in.
async fn a_fresh_sign_in_proves_a_passwordless_account(app: TestApp, idp: crate::fake_idp::FakeIdp) {
    let claims = sso_person();
    let (session, id) = signed_in_sso(&app, &idp, claims.clone()).await;
    let browser = app.browser_for(&session).await;
    let rename = put(&app, &browser, id, json!({"username": "sso-renamed"})).await;
    assert_eq!(rename.status, StatusCode::OK, "fresh: {}", rename.text());

    app.clock.advance(FRESH_SIGN_IN_SECONDS + 1);
    let stale = put(&app, &browser, id, json!({"username": "sso-again"})).await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN);
    assert_eq!(stale.error_code(), "fresh_sign_in_required");
    let with_guess = json!({"username": "sso-again", "current_password": "anything at all"});
    assert_eq!(
        put(&app, &browser, id, with_guess).await.error_code(),
        "fresh_sign_in_required"
    );
    let user = app.store().find_user(id).await.expect("query").expect("user");
    assert_eq!(user.username, "sso-renamed", "a refused change changes nothing");

    let session = session_of(&sign_in(&app, &idp, claims).await);
    let browser = app.browser_for(&session).await;
    let again = put(&app, &browser, id, json!({"username": "sso-again"})).await;
    assert_eq!(again.status, StatusCode::OK, "signed in again: {}", again.text());
}

#[tokio::test]
async fn a_passwordless_account_proves_a_fresh_sign_in_sqlite() {
    let (app, idp) = sso_app_on(false, &[]).await;
    a_fresh_sign_in_proves_a_passwordless_account(app, idp).await;
}

#[tokio::test]
#[ignore = "PostgreSQL suite: needs TEST_DATABASE_URL, run with --include-ignored"]
async fn a_passwordless_account_proves_a_fresh_sign_in_postgres() {
    let (app, idp) = sso_app_on(true, &[]).await;
    a_fresh_sign_in_proves_a_passwordless_account(app, idp).await;
}

/// A provider that signs a forgotten browser in again without asking
/// anything reports its old authentication (`auth_time`): the new session
/// proves nothing. Nor does an `auth_time` only userinfo reports, or none.
#[tokio::test]
async fn a_silent_sign_in_again_is_no_fresh_sign_in() {
    let (app, idp) = sso_app_on(false, &[]).await;
    let person = sso_person();
    let (first, id) = signed_in_sso(&app, &idp, person.clone()).await;
    app.clock.advance(3600);
    idp.override_userinfo(json!({"auth_time": app.now()}));
    let authenticated_an_hour_ago = json!({"auth_time": app.now() - 3600});
    // A null takes the fake provider's own auth_time out of the ID token.
    let unsaid = json!({"auth_time": null});
    let ahead = json!({"auth_time": app.now() + 3600});
    let cases = [
        ("old auth_time", authenticated_an_hour_ago),
        ("no auth_time", unsaid),
        ("auth_time an hour ahead", ahead),
    ];
    for (case, auth_time) in cases {
        let mut claims_now = person.clone();
        if let (Some(claims), Some(extra)) = (claims_now.as_object_mut(), auth_time.as_object()) {
            claims.extend(extra.clone());
        }
        let session = session_of(&sign_in(&app, &idp, claims_now).await);
        let browser = app.browser_for(&session).await;
        let refused = put(&app, &browser, id, json!({"username": "taken-over"})).await;
        assert_eq!(
            refused.error_code(),
            "fresh_sign_in_required",
            "{case}: {}",
            refused.text()
        );
    }
    let browser = app.browser_for(&first).await;
    let stale = put(&app, &browser, id, json!({"username": "taken-over"})).await;
    assert_eq!(stale.error_code(), "fresh_sign_in_required");
    let user = app.store().find_user(id).await.expect("query").expect("user");
    assert_eq!(user.username, "sso");
}

/// The account page's "sign in again" asks the provider for a new
/// authentication (`max_age=0`, and `prompt=login` where the provider lists
/// it: Google refuses it); the sign-in button does not.
#[tokio::test]
async fn signing_in_again_asks_the_provider_to_authenticate_anew() {
    let asked = |response: &TestResponse| {
        assert_eq!(response.status, StatusCode::FOUND, "{}", response.text());
        (location_param(response, "prompt"), location_param(response, "max_age"))
    };
    let cases = [
        (Value::Null, (None, Some("0".to_string()))),
        (
            json!(["none", "login", "consent"]),
            (Some("login".to_string()), Some("0".to_string())),
        ),
        (
            json!(["none", "consent", "select_account"]),
            (None, Some("0".to_string())),
        ),
        // Written oddly: discovery still works, nothing but max_age is sent.
        (json!("login"), (None, Some("0".to_string()))),
    ];
    for (listed, expected) in cases {
        let (app, idp) = sso_app_on(false, &[]).await;
        idp.override_discovery(json!({ "prompt_values_supported": listed }));
        let fresh = app.get("/api/login/openid?next=%2Faccount&fresh=1", &[]).await;
        assert_eq!(asked(&fresh), expected, "prompt_values_supported: {listed}");
        let plain = app.get("/api/login/openid?next=%2Faccount", &[]).await;
        assert_eq!(asked(&plain), (None, None));
    }
}

#[tokio::test]
async fn a_password_session_is_no_fresh_sign_in() {
    let (app, _idp) = sso_app_on(false, &[("DISABLE_USERPASS_LOGIN", "true")]).await;
    let root = app.create_user("root", Role::Admin).await;
    let started = app
        .state
        .auth
        .start_session(root.id, None, app.now())
        .await
        .expect("session");
    let browser = app.browser_for(started.token.expose()).await;
    let body = json!({"username": "boss", "current_password": PASSWORD});
    let refused = put(&app, &browser, root.id, body).await;
    assert_eq!(
        refused.error_code(),
        "fresh_sign_in_required",
        "with password login disabled a password proves nothing"
    );
}
