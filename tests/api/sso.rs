//! Single sign-on through the real router: accounts, links, roles, logout.

use axum::http::StatusCode;
use romgate::auth::Role;
use serde_json::json;

use crate::sso_support::{callback, me, session_of, sign_in, sso_app, start};

fn alice() -> serde_json::Value {
    json!({"sub": "alice-sub", "preferred_username": "alice", "email": "alice@example.com", "email_verified": true})
}

#[tokio::test]
async fn the_start_redirects_to_the_provider_with_pkce_state_and_nonce() {
    let (app, idp) = sso_app(&[("OIDC_CLAIM_ROLES", "groups")]).await;
    let started = start(&app, "/library").await;
    assert!(
        started
            .location
            .as_str()
            .starts_with(&format!("{}/authorize?", idp.base))
    );
    assert_eq!(started.param("response_type").as_deref(), Some("code"));
    assert_eq!(started.param("client_id").as_deref(), Some(crate::fake_idp::CLIENT_ID));
    assert_eq!(
        started.param("redirect_uri").as_deref(),
        Some(crate::fake_idp::REDIRECT_URI)
    );
    assert_eq!(started.param("code_challenge_method").as_deref(), Some("S256"));
    let scope = started.param("scope").expect("scope");
    for wanted in ["openid", "profile", "email", "groups"] {
        assert!(scope.split(' ').any(|s| s == wanted), "{scope}");
    }
    let cookie = started.response.set_cookie("romgate_oidc").expect("cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Max-Age=600"));
}

#[tokio::test]
async fn first_sign_in_creates_a_viewer_and_later_ones_reuse_it() {
    let (app, idp) = sso_app(&[]).await;
    let response = sign_in(&app, &idp, alice()).await;
    let session = session_of(&response);
    assert_eq!(response.header("location"), Some("/"));
    let user = me(&app, &session).await.json();
    assert_eq!(
        (user["username"].as_str(), user["role"].as_str()),
        (Some("alice"), Some("viewer"))
    );
    assert_eq!(user["email"], "alice@example.com");
    let again = session_of(&sign_in(&app, &idp, alice()).await);
    assert_ne!(again, session);
    assert_eq!(app.store().list_users().await.expect("users").len(), 1);
    let links = app
        .store()
        .list_links(user["id"].as_i64().expect("id"))
        .await
        .expect("links");
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].subject, "alice-sub");
}

#[tokio::test]
async fn next_is_followed_only_for_local_paths() {
    let (app, idp) = sso_app(&[]).await;
    let started = start(&app, "/library?page=2").await;
    let code = idp.grant(&started.nonce, &started.challenge, alice());
    let response = callback(
        &app,
        &format!("code={code}&state={}", started.state),
        Some(&started.browser_cookie),
    )
    .await;
    assert_eq!(response.header("location"), Some("/library?page=2"));
    let started = start(&app, "//evil.example/").await;
    let code = idp.grant(&started.nonce, &started.challenge, alice());
    let response = callback(
        &app,
        &format!("code={code}&state={}", started.state),
        Some(&started.browser_cookie),
    )
    .await;
    assert_eq!(response.header("location"), Some("/"));
}

#[tokio::test]
async fn a_verified_email_links_an_existing_account() {
    let (app, idp) = sso_app(&[]).await;
    let existing = app.create_user("alice", Role::Editor).await;
    let claims =
        json!({"sub": "x-1", "preferred_username": "someone", "email": "ALICE@example.com", "email_verified": true});
    let session = session_of(&sign_in(&app, &idp, claims).await);
    let user = me(&app, &session).await.json();
    assert_eq!(user["id"].as_i64(), Some(existing.id));
    assert_eq!(user["role"], "editor", "no roles claim configured: the role is kept");
    // The link now decides, even when the email changes.
    let changed = json!({"sub": "x-1", "email": "new@example.com", "email_verified": true});
    let session = session_of(&sign_in(&app, &idp, changed).await);
    assert_eq!(me(&app, &session).await.json()["id"].as_i64(), Some(existing.id));
}

#[tokio::test]
async fn an_absent_email_verified_links_only_when_the_provider_does_not_advertise_it() {
    let (app, idp) = sso_app(&[]).await;
    app.create_user("alice", Role::Viewer).await;
    let claims = json!({"sub": "x-2", "preferred_username": "other", "email": "alice@example.com"});
    let refused = sign_in(&app, &idp, claims.clone()).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.text().contains("email_unverified"));
    idp.override_discovery(json!({"claims_supported": ["sub", "email", "preferred_username"]}));
    let (app2, _) = (app, ());
    // Discovery is cached for an hour: move past it so the new document is read.
    app2.clock.advance(3601);
    session_of(&sign_in(&app2, &idp, claims).await);
}

#[tokio::test]
async fn username_attribute_picks_the_claim() {
    let (app, idp) = sso_app(&[("OIDC_USERNAME_ATTRIBUTE", "email")]).await;
    let session = session_of(&sign_in(&app, &idp, alice()).await);
    assert_eq!(me(&app, &session).await.json()["username"], "alice@example.com");
}

#[tokio::test]
async fn roles_come_from_a_nested_claim_and_are_reapplied_each_time() {
    let env = [
        ("OIDC_CLAIM_ROLES", "realm_access.roles"),
        ("OIDC_ROLE_VIEWER", "romm-user"),
        ("OIDC_ROLE_EDITOR", "romm-editor"),
        ("OIDC_ROLE_ADMIN", "romm-admin"),
    ];
    let (app, idp) = sso_app(&env).await;
    app.create_user("root", Role::Admin).await;
    let with_roles = |roles: serde_json::Value| {
        let mut claims = alice();
        claims["realm_access"] = json!({"roles": roles});
        claims
    };
    let session = session_of(&sign_in(&app, &idp, with_roles(json!(["romm-user", "romm-admin"]))).await);
    assert_eq!(me(&app, &session).await.json()["role"], "admin");
    let session = session_of(&sign_in(&app, &idp, with_roles(json!(["romm-editor"]))).await);
    assert_eq!(me(&app, &session).await.json()["role"], "editor", "demoted at sign-in");
    let session = session_of(&sign_in(&app, &idp, alice()).await);
    assert_eq!(
        me(&app, &session).await.json()["role"],
        "editor",
        "an absent claim keeps the role"
    );
    let refused = sign_in(&app, &idp, with_roles(json!(["other"]))).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.text().contains("no role for this application"));
}

#[tokio::test]
async fn wildcard_viewer_admits_everyone() {
    let (app, idp) = sso_app(&[("OIDC_CLAIM_ROLES", "groups"), ("OIDC_ROLE_VIEWER", "*")]).await;
    let mut claims = alice();
    claims["groups"] = json!(["unrelated"]);
    let session = session_of(&sign_in(&app, &idp, claims).await);
    assert_eq!(me(&app, &session).await.json()["role"], "viewer");
}

#[tokio::test]
async fn a_provider_admin_becomes_the_first_admin_in_sso_only_mode() {
    let env = [
        ("DISABLE_USERPASS_LOGIN", "true"),
        ("OIDC_CLAIM_ROLES", "groups"),
        ("OIDC_ROLE_ADMIN", "admins"),
    ];
    let (app, idp) = sso_app(&env).await;
    assert_eq!(app.get("/api/heartbeat", &[]).await.json()["SETUP"]["NEEDED"], true);
    let mut claims = alice();
    claims["groups"] = json!("admins");
    let session = session_of(&sign_in(&app, &idp, claims).await);
    assert_eq!(me(&app, &session).await.json()["role"], "admin");
    assert_eq!(app.get("/api/heartbeat", &[]).await.json()["SETUP"]["NEEDED"], false);
}

#[tokio::test]
async fn the_setup_admin_signs_in_through_the_provider_by_email() {
    let (app, idp) = sso_app(&[("DISABLE_USERPASS_LOGIN", "true")]).await;
    let created = app
        .post_json(
            "/api/users",
            &[],
            json!({"username": "root", "email": "alice@example.com"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let session = session_of(&sign_in(&app, &idp, alice()).await);
    let user = me(&app, &session).await.json();
    assert_eq!(
        (user["username"].as_str(), user["role"].as_str()),
        (Some("root"), Some("admin"))
    );
}

#[tokio::test]
async fn concurrent_first_sign_ins_create_one_account() {
    let (app, idp) = sso_app(&[]).await;
    let app = std::sync::Arc::new(app);
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (app, idp) = (app.clone(), idp.clone());
            tokio::spawn(async move { sign_in(&app, &idp, alice()).await.status })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.expect("task"), StatusCode::SEE_OTHER);
    }
    assert_eq!(app.store().list_users().await.expect("users").len(), 1);
}

#[tokio::test]
async fn key_rotation_refetches_the_keys_once() {
    let (app, idp) = sso_app(&[]).await;
    session_of(&sign_in(&app, &idp, alice()).await);
    let fetches = idp.jwks_fetches();
    idp.rotate_keys();
    session_of(&sign_in(&app, &idp, alice()).await);
    assert_eq!(
        idp.jwks_fetches(),
        fetches + 1,
        "one refetch, right after the first fetch"
    );
    // Tokens naming unknown keys cannot make romgate hammer the provider.
    idp.set_mode(crate::fake_idp::Mode::UnknownKid);
    sign_in(&app, &idp, alice()).await;
    sign_in(&app, &idp, alice()).await;
    assert_eq!(idp.jwks_fetches(), fetches + 1, "no second refetch within 30 s");
}

#[tokio::test]
async fn rp_initiated_logout_returns_the_end_session_url() {
    let env = [
        ("OIDC_RP_INITIATED_LOGOUT", "true"),
        ("OIDC_POST_LOGOUT_REDIRECT_URI", "http://localhost:8080/login"),
    ];
    let (app, idp) = sso_app(&env).await;
    let session = session_of(&sign_in(&app, &idp, alice()).await);
    let browser = app.browser_for(&session).await;
    let response = app
        .as_browser(&browser, axum::http::Method::POST, "/api/logout", None)
        .await;
    let url = url::Url::parse(response.json()["oidc_logout_url"].as_str().expect("url")).expect("absolute");
    assert!(url.as_str().starts_with(&format!("{}/logout?", idp.base)));
    let params: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert!(params.get("id_token_hint").is_some_and(|t| t.split('.').count() == 3));
    assert_eq!(
        params.get("client_id").map(String::as_str),
        Some(crate::fake_idp::CLIENT_ID)
    );
    assert_eq!(
        params.get("post_logout_redirect_uri").map(String::as_str),
        Some("http://localhost:8080/login")
    );
    assert_eq!(me(&app, &session).await.status, StatusCode::UNAUTHORIZED);
}

/// A session from the provider configured before this one: the current
/// provider has no session of it to end and is never handed its ID token.
#[tokio::test]
async fn a_session_from_another_provider_is_not_sent_to_this_ones_logout() {
    let (app, idp) = sso_app(&[("OIDC_RP_INITIATED_LOGOUT", "true")]).await;
    let user = app.create_user("alice", Role::Viewer).await;
    let token = "rgs_a-session-from-the-provider-before";
    let hash = app.state.auth.tokens.mac(token.as_bytes());
    app.store()
        .insert_session(&romgate::store::NewSession {
            token_hash: &hash,
            user_id: user.id,
            now: app.now(),
            expires_at: app.now() + 600,
            oidc_issuer: Some("https://old-provider.example.com"),
            oidc_subject: Some("alice-at-old"),
            oidc_sid: None,
            id_token: Some("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.sig"),
            authenticated_at: None,
            password_hash: None,
        })
        .await
        .expect("session");
    // The provider is known (discovered) when the session ends.
    sign_in(&app, &idp, alice()).await;
    let browser = app.browser_for(token).await;
    let response = app
        .as_browser(&browser, axum::http::Method::POST, "/api/logout", None)
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(
        response.json(),
        serde_json::Value::Null,
        "no logout URL for another provider's session"
    );
    assert_eq!(me(&app, token).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_end_session_override_wins_and_the_logout_form_redirects_there() {
    let env = [
        ("OIDC_RP_INITIATED_LOGOUT", "true"),
        ("OIDC_END_SESSION_ENDPOINT", "https://sso.example.com/bye"),
    ];
    let (app, idp) = sso_app(&env).await;
    let signed_in = sign_in(&app, &idp, alice()).await;
    let session = session_of(&signed_in);
    let browser = app.browser_for(&session).await;
    assert_eq!(
        signed_in.cookie_value("romm_csrftoken").as_deref(),
        Some(browser.csrf.as_str()),
        "the sign-on hands out the new session's CSRF token"
    );
    let form = format!("csrf_token={}", crate::util::enc(&browser.csrf));
    let response = app
        .post_form("/logout", &[("cookie", &browser.cookie_header())], &form)
        .await;
    let location = response.header("location").expect("redirect");
    assert!(
        location.starts_with("https://sso.example.com/bye?id_token_hint="),
        "{location}"
    );
    assert!(!location.contains("client_id"), "no post-logout URI configured");
    assert_eq!(me(&app, &session).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn password_sessions_and_disabled_rp_logout_answer_null() {
    let (app, idp) = sso_app(&[]).await;
    let session = session_of(&sign_in(&app, &idp, alice()).await);
    let browser = app.browser_for(&session).await;
    let response = app
        .as_browser(&browser, axum::http::Method::POST, "/api/logout", None)
        .await;
    assert_eq!(response.text(), "null");
}

#[tokio::test]
async fn autologin_sends_the_login_page_to_the_provider_unless_the_local_form_is_asked() {
    let (app, _idp) = sso_app(&[("OIDC_AUTOLOGIN", "true"), ("OIDC_PROVIDER", "Authelia")]).await;
    app.create_user("root", Role::Admin).await;
    let page = app.get("/login?next=/library", &[]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.header("location"), Some("/api/login/openid?next=%2Flibrary"));
    let local = app.get("/login?local=1", &[]).await;
    assert_eq!(local.status, StatusCode::OK);
    assert!(local.text().contains(r#"name="password""#) && local.text().contains("Sign in with Authelia"));
}

#[tokio::test]
async fn autologin_with_password_login_disabled_ignores_local() {
    let env = [("OIDC_AUTOLOGIN", "true"), ("DISABLE_USERPASS_LOGIN", "true")];
    let (app, _idp) = sso_app(&env).await;
    app.create_user("root", Role::Admin).await;
    let local = app.get("/login?local=1", &[]).await;
    assert_eq!(local.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_refused_sign_in_shows_a_page_not_a_redirect_loop() {
    let env = [("OIDC_AUTOLOGIN", "true"), ("OIDC_ALLOW_REGISTRATION", "false")];
    let (app, idp) = sso_app(&env).await;
    app.create_user("root", Role::Admin).await;
    let refused = sign_in(&app, &idp, alice()).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.header("location").is_none());
    assert!(refused.text().contains("cannot be created by signing in"));
}
