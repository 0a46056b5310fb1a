//! A broken or hostile provider, and tampered callbacks: every case ends with
//! a page that says what happened, no session, no account, never a 500.

use axum::http::StatusCode;
use romgate::clock::ManualClock;
use serde_json::json;

use crate::fake_idp::{FakeIdp, Mode};
use crate::sso_support::{callback, session_of, sign_in, sso_app, sso_builder, start};
use crate::util::{START, TestApp, TestResponse};

fn alice() -> serde_json::Value {
    json!({"sub": "alice-sub", "preferred_username": "alice", "email": "alice@example.com", "email_verified": true})
}

/// Refused with `status` and `code`, as an HTML page; nothing stored.
async fn assert_refused(app: &TestApp, response: &TestResponse, status: StatusCode, code: &str) {
    assert_eq!(response.status, status, "{code}: {}", response.text());
    assert!(
        response
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/html")),
        "{code}: a page"
    );
    assert!(
        response.text().contains(code),
        "{code} not named in: {}",
        response.text()
    );
    assert!(response.set_cookie("romm_session").is_none(), "{code}: no session");
    assert!(
        app.store().list_users().await.expect("users").is_empty(),
        "{code}: no account"
    );
}

#[tokio::test]
async fn each_bad_id_token_is_refused() {
    let cases = [
        (Mode::BadSignature, "id_token_invalid"),
        (Mode::AlgNone, "id_token_invalid"),
        (Mode::Hs256WithPublicKey, "id_token_invalid"),
        (Mode::WrongIssuer, "id_token_invalid"),
        (Mode::WrongAudience, "id_token_invalid"),
        (Mode::ExtraAudienceNoAzp, "id_token_invalid"),
        (Mode::ExtraAudienceWrongAzp, "id_token_invalid"),
        (Mode::Expired, "id_token_invalid"),
        (Mode::IssuedInFuture, "id_token_invalid"),
        (Mode::NonceMismatch, "id_token_invalid"),
        (Mode::NonceMissing, "id_token_invalid"),
        (Mode::UnknownKid, "id_token_invalid"),
        (Mode::UserinfoSubMismatch, "id_token_invalid"),
    ];
    for (mode, code) in cases {
        let (app, idp) = sso_app(&[]).await;
        idp.set_mode(mode);
        let response = sign_in(&app, &idp, alice()).await;
        assert_refused(&app, &response, StatusCode::FORBIDDEN, code).await;
    }
}

#[tokio::test]
async fn several_audiences_with_our_azp_are_accepted() {
    let (app, idp) = sso_app(&[]).await;
    idp.set_mode(Mode::ExtraAudienceRightAzp);
    session_of(&sign_in(&app, &idp, alice()).await);
}

#[tokio::test]
async fn token_endpoint_failures_are_bad_gateway_pages() {
    for (mode, code) in [
        (Mode::ErrorJson, "token_exchange_failed"),
        (Mode::Html500, "token_exchange_failed"),
        (Mode::MissingIdToken, "id_token_missing"),
    ] {
        let (app, idp) = sso_app(&[]).await;
        idp.set_mode(mode);
        let response = sign_in(&app, &idp, alice()).await;
        assert_refused(&app, &response, StatusCode::BAD_GATEWAY, code).await;
        let description = crate::fake_idp::TOKEN_ERROR_DESCRIPTION;
        assert!(
            !response.text().contains(description),
            "provider text is logged, not shown"
        );
    }
}

#[tokio::test]
async fn a_huge_answer_is_refused_but_ten_thousand_groups_are_fine() {
    let (app, idp) = sso_app(&[("OIDC_CLAIM_ROLES", "groups"), ("OIDC_ROLE_ADMIN", "admins")]).await;
    let mut huge = alice();
    huge["blob"] = json!("x".repeat(1024 * 1024));
    let response = sign_in(&app, &idp, huge).await;
    assert_refused(&app, &response, StatusCode::BAD_GATEWAY, "provider_invalid_response").await;

    let mut many = alice();
    let mut groups: Vec<String> = (0..10_000).map(|n| format!("g{n}")).collect();
    groups.push("admins".into());
    many["groups"] = json!(groups);
    let session = session_of(&sign_in(&app, &idp, many).await);
    assert_eq!(crate::sso_support::me(&app, &session).await.json()["role"], "admin");
}

#[tokio::test]
async fn policy_refusals_name_the_reason() {
    let (app, idp) = sso_app(&[("OIDC_ALLOW_REGISTRATION", "false")]).await;
    let response = sign_in(&app, &idp, alice()).await;
    assert_refused(&app, &response, StatusCode::FORBIDDEN, "registration_disabled").await;

    let (app, idp) = sso_app(&[]).await;
    let mut unverified = alice();
    unverified["email_verified"] = json!(false);
    let response = sign_in(&app, &idp, unverified).await;
    assert_refused(&app, &response, StatusCode::FORBIDDEN, "email_unverified").await;

    let (app, idp) = sso_app(&[("OIDC_USERNAME_ATTRIBUTE", "nickname")]).await;
    let response = sign_in(&app, &idp, alice()).await;
    assert_refused(&app, &response, StatusCode::FORBIDDEN, "username_missing").await;
    assert!(response.text().contains("nickname"));

    let (app, idp) = sso_app(&[("OIDC_CLAIM_ROLES", "groups"), ("OIDC_ROLE_VIEWER", "romm")]).await;
    let mut no_role = alice();
    no_role["groups"] = json!(["other"]);
    let response = sign_in(&app, &idp, no_role).await;
    assert_refused(&app, &response, StatusCode::FORBIDDEN, "no_role").await;
}

#[tokio::test]
async fn a_username_held_by_another_account_is_not_taken_over() {
    let (app, idp) = sso_app(&[]).await;
    let holder = app.create_user("alice", romgate::auth::Role::Admin).await;
    let mut claims = alice();
    claims["email"] = json!("different@example.com");
    let response = sign_in(&app, &idp, claims).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert!(response.text().contains("username_taken"));
    assert!(app.store().list_links(holder.id).await.expect("links").is_empty());
    assert_eq!(app.store().list_users().await.expect("users").len(), 1);
}

#[tokio::test]
async fn a_disabled_account_is_refused() {
    let (app, idp) = sso_app(&[]).await;
    session_of(&sign_in(&app, &idp, alice()).await);
    let user = app
        .store()
        .find_user_by_username("alice")
        .await
        .expect("query")
        .expect("alice");
    app.disable(user.id).await;
    let response = sign_in(&app, &idp, alice()).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert!(response.text().contains("account_disabled"));
    assert!(response.set_cookie("romm_session").is_none());
}

/// A disabled account found by its verified email is refused before
/// anything is written: no link to it, and the provider's role not applied.
#[tokio::test]
async fn a_disabled_account_found_by_email_gets_no_link_and_no_role() {
    let (app, idp) = sso_app(&[("OIDC_CLAIM_ROLES", "groups"), ("OIDC_ROLE_ADMIN", "admins")]).await;
    app.create_user("root", romgate::auth::Role::Admin).await;
    let alice = app.create_user("alice", romgate::auth::Role::Viewer).await;
    app.disable(alice.id).await;
    let mut claims = json!({"sub": "new-sub", "preferred_username": "someone", "email": "alice@example.com", "email_verified": true});
    claims["groups"] = json!(["admins"]);
    let response = sign_in(&app, &idp, claims).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN, "{}", response.text());
    assert!(response.text().contains("account_disabled"));
    assert!(response.set_cookie("romm_session").is_none());
    assert!(app.store().list_links(alice.id).await.expect("links").is_empty());
    let stored = app
        .store()
        .find_user_by_username("alice")
        .await
        .expect("query")
        .expect("alice");
    assert_eq!(stored.role, romgate::auth::Role::Viewer);
}

/// An address that equals an account's trusted email only under Unicode
/// case folding (U+212A KELVIN SIGN folds to `k`) is another address: it
/// does not link to that account, and no account is made with it.
#[tokio::test]
async fn an_email_equal_only_under_unicode_case_folding_does_not_link() {
    let (app, idp) = sso_app(&[]).await;
    let kate = app.create_user("kate", romgate::auth::Role::Admin).await;
    let claims = json!({"sub": "mallory-sub", "preferred_username": "mallory", "email": "\u{212A}ate@example.com", "email_verified": true});
    let response = sign_in(&app, &idp, claims).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN, "{}", response.text());
    assert!(response.text().contains("email_taken"), "{}", response.text());
    assert!(response.set_cookie("romm_session").is_none());
    assert!(app.store().list_links(kate.id).await.expect("links").is_empty());
    assert_eq!(app.store().list_users().await.expect("users").len(), 1);
}

/// A verified email whose account is already linked to another subject at
/// the same provider does not link: the address may have been given to
/// someone new. After `unlink` (the same person, made anew at the provider)
/// it links again; a link to another provider never stood in the way.
#[tokio::test]
async fn an_email_whose_account_has_another_subject_at_this_provider_does_not_link() {
    let (app, idp) = sso_app(&[]).await;
    let kate = app.create_user("kate", romgate::auth::Role::Admin).await;
    let claims = |sub: &str| json!({"sub": sub, "preferred_username": "kate", "email": "kate@example.com", "email_verified": true});
    app.store()
        .insert_link("https://earlier-provider.example", "kate-there", kate.id, START)
        .await
        .expect("a link elsewhere");
    let first = session_of(&sign_in(&app, &idp, claims("kate-sub")).await);
    assert_eq!(crate::sso_support::me(&app, &first).await.json()["id"], kate.id);

    let newcomer = sign_in(&app, &idp, claims("newcomer-sub")).await;
    assert_eq!(newcomer.status, StatusCode::FORBIDDEN, "{}", newcomer.text());
    assert!(
        newcomer.text().contains("linked_to_another_identity"),
        "{}",
        newcomer.text()
    );
    assert!(newcomer.set_cookie("romm_session").is_none());
    assert_eq!(app.store().list_links(kate.id).await.expect("links").len(), 2);

    assert_eq!(app.state.auth.unlink_identities(kate.id).await.expect("unlink"), 2);
    let relinked = session_of(&sign_in(&app, &idp, claims("newcomer-sub")).await);
    assert_eq!(crate::sso_support::me(&app, &relinked).await.json()["id"], kate.id);
}

/// Several different subjects with the account's verified email signing
/// in for the first time at once: exactly one is linked, the others are
/// refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_concurrent_subjects_with_one_email_exactly_one_links() {
    concurrent_subjects_with_one_email(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "PostgreSQL suite: needs TEST_DATABASE_URL, run with --include-ignored"]
async fn of_concurrent_subjects_with_one_email_exactly_one_links_postgres() {
    concurrent_subjects_with_one_email(true).await;
}

async fn concurrent_subjects_with_one_email(postgres: bool) {
    let (app, idp) = crate::sso_support::sso_app_on(postgres, &[]).await;
    let kate = app.create_user("kate", romgate::auth::Role::Viewer).await;
    let app = std::sync::Arc::new(app);
    let tasks: Vec<_> = (0..6)
        .map(|n| {
            let (app, idp) = (app.clone(), idp.clone());
            let claims = json!({"sub": format!("sub-{n}"), "preferred_username": "kate", "email": "kate@example.com", "email_verified": true});
            tokio::spawn(async move { sign_in(&app, &idp, claims).await.status })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("task"));
    }
    let linked = statuses.iter().filter(|s| **s == StatusCode::SEE_OTHER).count();
    assert_eq!(linked, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::SEE_OTHER || *s == StatusCode::FORBIDDEN),
        "{statuses:?}"
    );
    assert_eq!(app.store().list_links(kate.id).await.expect("links").len(), 1);
}

/// The same address in other ASCII letter case still links.
#[tokio::test]
async fn an_email_in_other_letter_case_links_the_account() {
    let (app, idp) = sso_app(&[]).await;
    let kate = app.create_user("kate", romgate::auth::Role::Editor).await;
    let claims =
        json!({"sub": "kate-sub", "preferred_username": "kate2", "email": "Kate@EXAMPLE.com", "email_verified": true});
    let session = session_of(&sign_in(&app, &idp, claims).await);
    assert_eq!(crate::sso_support::me(&app, &session).await.json()["id"], kate.id);
    assert_eq!(app.store().list_links(kate.id).await.expect("links").len(), 1);
}

#[tokio::test]
async fn tampered_missing_replayed_and_foreign_callbacks_are_refused() {
    let (app, idp) = sso_app(&[]).await;
    let started = start(&app, "/").await;
    let code = idp.grant(&started.nonce, &started.challenge, alice());
    let good = format!("code={code}&state={}", started.state);
    let cookie = Some(started.browser_cookie.as_str());

    let tampered = callback(&app, &format!("code={code}&state=x{}", started.state), cookie).await;
    assert_refused(&app, &tampered, StatusCode::BAD_REQUEST, "state_unknown").await;
    let missing = callback(&app, &format!("code={code}"), cookie).await;
    assert_refused(&app, &missing, StatusCode::BAD_REQUEST, "callback_incomplete").await;
    let other_browser = callback(&app, &good, Some("rgl_another-browser")).await;
    assert_refused(&app, &other_browser, StatusCode::BAD_REQUEST, "state_mismatch").await;
    // (The mismatched try takes nothing: see sso_callback.rs.)
    assert_eq!(idp.token_calls(), 0, "no code was exchanged for a refused callback");
}

#[tokio::test]
async fn a_successful_callback_cannot_be_replayed() {
    let (app, idp) = sso_app(&[]).await;
    let started = start(&app, "/").await;
    let code = idp.grant(&started.nonce, &started.challenge, alice());
    let query = format!("code={code}&state={}", started.state);
    session_of(&callback(&app, &query, Some(&started.browser_cookie)).await);
    let replay = callback(&app, &query, Some(&started.browser_cookie)).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);
    assert!(replay.text().contains("state_unknown"));
}

#[tokio::test]
async fn an_expired_attempt_is_refused() {
    let (app, idp) = sso_app(&[]).await;
    let started = start(&app, "/").await;
    let code = idp.grant(&started.nonce, &started.challenge, alice());
    app.clock.advance(601);
    let response = callback(
        &app,
        &format!("code={code}&state={}", started.state),
        Some(&started.browser_cookie),
    )
    .await;
    assert_refused(&app, &response, StatusCode::BAD_REQUEST, "attempt_expired").await;
}

#[tokio::test]
async fn the_providers_error_is_shown_in_fixed_words_without_its_description() {
    let (app, _idp) = sso_app(&[]).await;
    let started = start(&app, "/").await;
    let query = format!(
        "error=access_denied&error_description=User%20said%20no&state={}",
        started.state
    );
    let response = callback(&app, &query, Some(&started.browser_cookie)).await;
    assert_refused(&app, &response, StatusCode::BAD_REQUEST, "provider_error").await;
    assert!(response.text().contains("did not allow the sign-in"));
    assert!(
        !response.text().contains("User said no"),
        "the description is logged, not shown"
    );
}

#[tokio::test]
async fn a_provider_that_is_down_then_up_works_without_a_restart() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let clock = ManualClock::new(START);
    let metadata_url = format!("http://127.0.0.1:{port}/.well-known/openid-configuration");
    let app = sso_builder(&metadata_url, clock.clone(), &[]).build().await;
    let admin = app.create_user("root", romgate::auth::Role::Admin).await;
    let login = app.get("/login", &[]).await;
    assert!(
        login.text().contains("Sign in with OIDC"),
        "the button shows while the provider is down"
    );
    let down = app.get("/api/login/openid", &[]).await;
    assert_eq!(down.status, StatusCode::BAD_GATEWAY);
    assert!(down.text().contains("provider_unreachable") && down.text().contains("unreachable right now"));
    assert!(
        down.text()
            .contains("likely: connection refused, nothing listens at that host and port"),
        "the administrator hint names the likely cause: {}",
        down.text()
    );
    assert_eq!(app.store().list_users().await.expect("users"), vec![admin]);

    let idp = FakeIdp::start_on(port, clock).await;
    session_of(&sign_in(&app, &idp, alice()).await);
}

#[tokio::test]
async fn html_instead_of_a_discovery_document_is_a_clear_refusal() {
    let (app, idp) = sso_app(&[]).await;
    idp.override_discovery(json!({"issuer": 42}));
    let response = app.get("/api/login/openid", &[]).await;
    assert_refused(&app, &response, StatusCode::BAD_GATEWAY, "provider_invalid_response").await;
}

#[tokio::test]
async fn sso_endpoints_are_a_page_when_oidc_is_off() {
    let app = TestApp::new().await;
    for path in ["/api/login/openid", "/api/oauth/openid?code=x&state=y"] {
        let response = app.get(path, &[]).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND);
        assert!(response.text().contains("oidc_disabled"));
    }
}

#[tokio::test]
async fn sign_in_starts_are_limited_per_address_and_a_refused_start_stores_nothing() {
    let (app, idp) = sso_app(&[]).await;
    // The limit of romgate::auth::rate_limit::SSO_STARTS_PER_ADDRESS.
    for _ in 0..59 {
        start(&app, "/").await;
    }
    let under_way = start(&app, "/").await;
    let refused = app.get("/api/login/openid", &[]).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.text());
    assert!(
        refused
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/html"))
    );
    assert!(refused.text().contains("too_many_attempts"), "{}", refused.text());
    assert!(refused.header("location").is_none(), "not sent to the provider");
    assert!(
        refused.set_cookie("romgate_oidc").is_none(),
        "no attempt bound to the browser"
    );

    // A sign-in started before the limit still completes.
    let claims = json!({"sub": "alice-sub", "preferred_username": "alice"});
    let code = idp.grant(&under_way.nonce, &under_way.challenge, claims.clone());
    let query = format!("code={code}&state={}", under_way.state);
    session_of(&callback(&app, &query, Some(&under_way.browser_cookie)).await);

    // Once the window has passed, new ones start again.
    app.clock.advance(600);
    session_of(&sign_in(&app, &idp, claims).await);
}

/// A wrong client secret: retrying cannot help the person, so the page
/// sends them to the administrator, and tells the administrator what to check.
#[tokio::test]
async fn a_provider_refusing_the_client_sends_the_person_to_the_administrator() {
    let (app, idp) = sso_app(&[("OIDC_CLIENT_SECRET", "not-the-secret")]).await;
    let response = sign_in(&app, &idp, alice()).await;
    assert_refused(&app, &response, StatusCode::BAD_GATEWAY, "client_refused").await;
    let page = response.text();
    assert!(page.contains("tell your administrator"), "{page}");
    assert!(!page.to_lowercase().contains("try again"), "{page}");
    for name in [
        "invalid_client",
        "OIDC_CLIENT_ID",
        "OIDC_CLIENT_SECRET",
        "client_secret_basic",
        "romgate oidc check",
    ] {
        assert!(page.contains(name), "{name} not in the hint: {page}");
    }
    assert!(!page.contains("not-the-secret"), "the secret is never shown");
}

/// The log says who arrived and with which groups (never a token).
#[tokio::test]
async fn an_identity_refusal_is_logged_with_its_subject_username_and_roles() {
    let (app, idp) = sso_app(&[("OIDC_CLAIM_ROLES", "groups"), ("OIDC_ROLE_VIEWER", "romm")]).await;
    let mut no_role = alice();
    no_role["groups"] = json!(["other", "players"]);
    let logs = crate::log_capture::LogCapture::start();
    let response = sign_in(&app, &idp, no_role).await;
    assert_refused(&app, &response, StatusCode::FORBIDDEN, "no_role").await;
    let line = logs.line("single sign-on refused this identity");
    assert!(
        line.contains(
            r#"code="no_role" subject=alice-sub claim=preferred_username username=alice roles=[other, players]"#
        ),
        "{line}"
    );
    assert!(!logs.text().contains("eyJ"), "no token in the log: {}", logs.text());

    let session = session_of(
        &sign_in(&app, &idp, {
            let mut member = alice();
            member["groups"] = json!(["romm"]);
            member
        })
        .await,
    );
    assert!(!session.is_empty());
    let accepted = logs.line("single sign-on identity accepted");
    assert!(
        accepted.contains("subject=alice-sub") && accepted.contains("roles=[romm]"),
        "{accepted}"
    );
}

/// What the provider sends that cannot be stored: a subject over OpenID
/// Connect's 255 characters is refused (a page, no account); an email
/// that is no usable address counts as none. PostgreSQL answered 500 for
/// both before (an index entry over its size limit).
async fn oversized_claims_are_refused_or_ignored(postgres: bool) {
    let (app, idp) = crate::sso_support::sso_app_on(postgres, &[]).await;
    let long_subject = json!({"sub": "s".repeat(256), "preferred_username": "longsub"});
    let refused = sign_in(&app, &idp, long_subject).await;
    assert!(
        refused.status.is_client_error(),
        "{}: {}",
        refused.status,
        refused.text()
    );
    let found = app.store().find_user_by_username("longsub").await.expect("query");
    assert!(found.is_none(), "no account for a refused sign-in");

    let long_email = format!("{}@example.com", "e".repeat(3000));
    let claims =
        json!({"sub": "mailer-sub", "preferred_username": "mailer", "email": long_email, "email_verified": true});
    session_of(&sign_in(&app, &idp, claims).await);
    let mailer = app
        .store()
        .find_user_by_username("mailer")
        .await
        .expect("query")
        .expect("registered");
    assert_eq!(mailer.email, None);
}

#[tokio::test]
async fn oversized_claims_are_refused_or_ignored_sqlite() {
    oversized_claims_are_refused_or_ignored(false).await;
}

#[tokio::test]
#[ignore = "PostgreSQL suite: needs TEST_DATABASE_URL, run with --include-ignored"]
async fn oversized_claims_are_refused_or_ignored_postgres() {
    oversized_claims_are_refused_or_ignored(true).await;
}
