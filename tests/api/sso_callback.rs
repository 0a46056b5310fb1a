//! The sign-in's browser binding and the callback: a fresh binding at every
//! start, a callback from another browser takes nothing, text from a crafted
//! callback never reaches the page, and the signed ID token outranks the
//! userinfo answer.

use axum::http::StatusCode;
use romgate::auth::Role;
use serde_json::json;

use crate::fake_idp::FakeIdp;
use crate::sso_support::{callback, granted_query, me, session_of, sign_in, sso_app, sso_app_on, start};
use crate::util::{TestApp, TestResponse, enc};

fn alice() -> serde_json::Value {
    json!({"sub": "alice-sub", "preferred_username": "alice", "email": "alice@example.com", "email_verified": true})
}

fn assert_refused_with(response: &TestResponse, status: StatusCode, code: &str) {
    assert_eq!(response.status, status, "{code}: {}", response.text());
    assert!(
        response.text().contains(code),
        "{code} not named in: {}",
        response.text()
    );
    assert!(response.set_cookie("romm_session").is_none(), "{code}: no session");
}

#[tokio::test]
async fn every_sign_on_start_mints_a_fresh_binding_cookie() {
    let (app, idp) = sso_app(&[]).await;
    let earlier = start(&app, "/").await;
    // A value in the right form that romgate never issued: what someone
    // who can set cookies for this site would plant.
    let planted = "rgl_planted-by-someone-who-knows-this-value";
    for offered in [earlier.browser_cookie.as_str(), planted] {
        let again = app
            .get("/api/login/openid", &[("cookie", &format!("romgate_oidc={offered}"))])
            .await;
        assert_eq!(again.status, StatusCode::FOUND, "{}", again.text());
        let fresh = again.cookie_value("romgate_oidc").expect("a binding cookie");
        assert_ne!(fresh, offered, "the offered binding is not reused");
        assert!(fresh.starts_with("rgl_") && fresh.len() > 40, "{fresh}");
    }

    // The planted value cannot finish a sign-in started with it offered.
    let started = app
        .get("/api/login/openid", &[("cookie", &format!("romgate_oidc={planted}"))])
        .await;
    let query = granted_query(&idp, &started, alice());
    let by_planter = callback(&app, &query, Some(planted)).await;
    assert_refused_with(&by_planter, StatusCode::BAD_REQUEST, "state_mismatch");
    let fresh = started.cookie_value("romgate_oidc").expect("binding");
    session_of(&callback(&app, &query, Some(&fresh)).await);
}

/// Under an https base URL the binding is a `__Host-` cookie, which a
/// neighbouring subdomain or plain http cannot plant: a binding offered
/// under the bare name (all such a planter can set) finishes nothing.
#[tokio::test]
async fn under_https_the_binding_is_a_host_only_cookie() {
    let (app, idp) = sso_app(&[("ROMM_BASE_URL", "https://romgate.example.com")]).await;
    let started = app.get("/api/login/openid", &[]).await;
    assert_eq!(started.status, StatusCode::FOUND, "{}", started.text());
    let set = started.set_cookie("__Host-romgate_oidc").expect("a __Host- binding");
    assert!(set.contains("; Secure") && set.contains("; Path=/"), "{set}");
    assert!(!set.contains("Domain"), "{set}");
    assert!(started.set_cookie("romgate_oidc").is_none());
    let binding = started.cookie_value("__Host-romgate_oidc").expect("value");
    let query = granted_query(&idp, &started, alice());
    let bare = callback(&app, &query, Some(&binding)).await;
    assert_refused_with(&bare, StatusCode::BAD_REQUEST, "state_mismatch");
    let host_only = app
        .get(
            &format!("/api/oauth/openid?{query}"),
            &[("cookie", &format!("__Host-romgate_oidc={binding}"))],
        )
        .await;
    session_of(&host_only);
}

/// A callback with the right state opened in another browser (no binding
/// cookie, or another sign-in's) is refused and leaves the sign-in in
/// progress alone: the person's own browser then finishes it, once.
async fn a_callback_from_another_browser_takes_nothing(app: TestApp, idp: FakeIdp) {
    let started = start(&app, "/").await;
    let code = idp.grant(&started.nonce, &started.challenge, alice());
    let query = format!("code={code}&state={}", started.state);
    let elsewhere = start(&app, "/").await;

    let without_cookie = callback(&app, &query, None).await;
    assert_refused_with(&without_cookie, StatusCode::BAD_REQUEST, "state_mismatch");
    let other_binding = callback(&app, &query, Some(&elsewhere.browser_cookie)).await;
    assert_refused_with(&other_binding, StatusCode::BAD_REQUEST, "state_mismatch");
    let made_up = callback(&app, &query, Some("rgl_not-a-binding-romgate-made")).await;
    assert_refused_with(&made_up, StatusCode::BAD_REQUEST, "state_mismatch");
    // A provider error relayed from elsewhere does not cancel it either.
    let error = format!("error=access_denied&state={}", started.state);
    let foreign_error = callback(&app, &error, Some(&elsewhere.browser_cookie)).await;
    assert_refused_with(&foreign_error, StatusCode::BAD_REQUEST, "provider_error");
    assert_eq!(idp.token_calls(), 0, "no code was exchanged for a refused callback");
    assert!(app.store().list_users().await.expect("users").is_empty());

    session_of(&callback(&app, &query, Some(&started.browser_cookie)).await);
    let replay = callback(&app, &query, Some(&started.browser_cookie)).await;
    assert_refused_with(&replay, StatusCode::BAD_REQUEST, "state_unknown");
}

#[tokio::test]
async fn a_callback_from_another_browser_takes_nothing_sqlite() {
    let (app, idp) = sso_app(&[]).await;
    a_callback_from_another_browser_takes_nothing(app, idp).await;
}

#[tokio::test]
#[ignore = "PostgreSQL suite: needs TEST_DATABASE_URL, run with --include-ignored"]
async fn a_callback_from_another_browser_takes_nothing_postgres() {
    let (app, idp) = sso_app_on(true, &[]).await;
    a_callback_from_another_browser_takes_nothing(app, idp).await;
}

#[tokio::test]
async fn the_own_browsers_provider_error_ends_the_sign_in() {
    let (app, idp) = sso_app(&[]).await;
    let started = start(&app, "/").await;
    let code = idp.grant(&started.nonce, &started.challenge, alice());
    let error = format!("error=access_denied&state={}", started.state);
    let refused = callback(&app, &error, Some(&started.browser_cookie)).await;
    assert_refused_with(&refused, StatusCode::BAD_REQUEST, "provider_error");
    let late = callback(
        &app,
        &format!("code={code}&state={}", started.state),
        Some(&started.browser_cookie),
    )
    .await;
    assert_refused_with(&late, StatusCode::BAD_REQUEST, "state_unknown");
}

#[tokio::test]
async fn a_crafted_error_description_or_code_never_reaches_the_page() {
    const MARKER: &str = "CALL-0800-555-MARKER";
    let (app, _idp) = sso_app(&[]).await;
    let description = format!("<b>Your account is locked.</b> {MARKER} to unlock it");
    for (error, words) in [
        ("access_denied", "did not allow the sign-in"),
        ("login_required", "sign in or give consent"),
        (&*format!("unheard_of_{MARKER}"), "could not complete the sign-in"),
    ] {
        let started = start(&app, "/").await;
        let query = format!(
            "error={}&error_description={}&state={}",
            enc(error),
            enc(&description),
            started.state
        );
        let response = callback(&app, &query, Some(&started.browser_cookie)).await;
        assert_refused_with(&response, StatusCode::BAD_REQUEST, "provider_error");
        assert!(
            response
                .header("content-type")
                .is_some_and(|t| t.starts_with("text/html")),
            "a page"
        );
        assert!(response.text().contains(words), "{error}: {}", response.text());
        assert!(!response.text().contains(MARKER), "{error}: {}", response.text());
        assert!(!response.text().contains("Your account is locked"), "{error}");
    }
}

#[tokio::test]
async fn the_signed_id_token_outranks_userinfo_which_only_fills_in() {
    let roles = [
        ("OIDC_CLAIM_ROLES", "groups"),
        ("OIDC_ROLE_VIEWER", "players"),
        ("OIDC_ROLE_ADMIN", "admins"),
        ("OIDC_USERNAME_ATTRIBUTE", "nickname"),
    ];
    let (app, idp) = sso_app(&roles).await;
    idp.override_userinfo(json!({"groups": ["admins"], "email_verified": true, "nickname": "al"}));
    let mut claims = alice();
    claims["groups"] = json!(["players"]);
    let session = session_of(&sign_in(&app, &idp, claims).await);
    let user = me(&app, &session).await.json();
    assert_eq!(user["role"], "viewer", "the ID token's groups decide, not userinfo's");
    assert_eq!(user["username"], "al", "a claim only userinfo carries still counts");
}

#[tokio::test]
async fn userinfo_cannot_vouch_for_an_email_the_id_token_calls_unverified() {
    let (app, idp) = sso_app(&[]).await;
    let existing = app.create_user("alice", Role::Admin).await;
    idp.override_userinfo(json!({"email_verified": true}));
    let claims = json!({"sub": "intruder", "preferred_username": "intruder", "email": existing.email,
                        "email_verified": false});
    let response = sign_in(&app, &idp, claims).await;
    if let Some(session) = response.cookie_value("romm_session") {
        let user = me(&app, &session).await.json();
        assert_ne!(
            user["id"].as_i64(),
            Some(existing.id),
            "signed in as the account holding that email"
        );
    }
    assert!(
        app.store().list_links(existing.id).await.expect("links").is_empty(),
        "not linked to the account holding that email"
    );
}
