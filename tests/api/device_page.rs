//! The approval page, `/pair/device` (SPEC 8.3): the code field, the
//! device and its scopes, Approve and Deny as plain forms with the page's
//! CSRF token, clear pages for codes that cannot be decided, and a
//! signed-out visit that comes back to the same code after signing in,
//! by password or by single sign-on.

use axum::http::StatusCode;
use romgate::auth::Role;
use serde_json::json;

use crate::device_support::{poll, refusal, start};
use crate::sso_support::{callback, session_of, sso_app_on};
use crate::util::{Browser, PASSWORD, START, TestApp, enc, on_both_engines, post_page_form};

async fn page(app: &TestApp, browser: &Browser, path: &str) -> crate::util::TestResponse {
    app.get(path, &[("cookie", &browser.cookie_header())]).await
}

on_both_engines!(
    the_page_asks_for_a_code_then_shows_the_device,
    |app: TestApp| async move {
        let (_, viewer) = app.signed_in("alice", Role::Viewer).await;
        let empty = page(&app, &viewer, "/pair/device").await;
        assert_eq!(empty.status, StatusCode::OK, "{}", empty.text());
        let html = empty.text();
        assert!(html.contains(r#"<label for="user_code">"#) && html.contains(r#"id="user_code" name="user_code""#));
        assert!(html.contains(r#"method="get" action="/pair/device""#));

        let started = start(&app, &["me.read", "roms.read", "roms.write"]).await;
        let code = started.user_code.to_lowercase();
        let shown = page(&app, &viewer, &format!("/pair/device?user_code={code}")).await;
        assert_eq!(shown.status, StatusCode::OK, "{}", shown.text());
        let html = shown.text();
        for expected in [
            "Living room TV",
            "argosy",
            "1.4.2",
            "android",
            "<h1>Sign in a device</h1>",
        ] {
            assert!(html.contains(expected), "{expected} in {html}");
        }
        let (a, b) = started.user_code.split_at(4);
        assert!(html.contains(&format!("{a}-{b}")), "the code, grouped");
        assert!(html.contains(r#"name="scope" value="me.read" checked>"#), "{html}");
        assert!(
            html.contains(r#"name="scope" value="roms.write" disabled aria-describedby="why-roms.write">"#),
            "{html}"
        );
        assert!(html.contains("Your role (viewer) does not include this"));
        assert!(html.contains(&format!(r#"name="csrf_token" value="{}""#, viewer.csrf)));
        assert!(html.contains(r#"<option value="90d" selected>"#));
        assert!(html.contains(r#"action="/pair/device/approve""#) && html.contains(r#"action="/pair/device/deny""#));
    }
);

/// Anyone can start a device sign-in asking for every scope and send an
/// administrator the link: the administration's scopes are offered but not
/// ticked, so approving at once grants none of them.
#[tokio::test]
async fn an_administrators_page_does_not_tick_the_administration_scopes() {
    let app = TestApp::new().await;
    let (_, admin) = app.signed_in("root", Role::Admin).await;
    let started = start(&app, &["me.read", "roms.write", "users.write", "tasks.run"]).await;
    let shown = page(&app, &admin, &format!("/pair/device?user_code={}", started.user_code)).await;
    let html = shown.text();
    for ticked in ["me.read", "roms.write"] {
        assert!(
            html.contains(&format!(r#"name="scope" value="{ticked}" checked>"#)),
            "{ticked}: {html}"
        );
    }
    for offered in ["users.write", "tasks.run"] {
        assert!(
            html.contains(&format!(r#"name="scope" value="{offered}">"#)),
            "{offered}: {html}"
        );
    }
}

on_both_engines!(
    codes_that_cannot_be_decided_get_a_clear_page,
    |app: TestApp| async move {
        let (_, alice) = app.signed_in("alice", Role::Viewer).await;
        let unknown = page(&app, &alice, "/pair/device?user_code=ABCD-EFGH").await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        let html = unknown.text();
        assert!(
            html.contains("unknown or has expired") && html.contains(r#"role="alert""#),
            "{html}"
        );
        assert!(html.contains(r#"value="ABCD-EFGH""#), "the code field again, filled in");

        let started = start(&app, &["me.read"]).await;
        let form = format!(
            "user_code={}&scope=me.read&device_name=TV&expires_in=never",
            started.user_code
        );
        let approved = post_page_form(&app, &alice, "/pair/device/approve", &alice.csrf, &form).await;
        assert_eq!(approved.status, StatusCode::OK, "{}", approved.text());
        let decided = page(&app, &alice, &format!("/pair/device?user_code={}", started.user_code)).await;
        assert_eq!(decided.status, StatusCode::GONE);
        assert!(decided.text().contains("already approved"));
        let again = post_page_form(&app, &alice, "/pair/device/approve", &alice.csrf, &form).await;
        assert_eq!(again.status, StatusCode::GONE);
        assert!(again.text().contains("already approved"));

        let expiring = start(&app, &["me.read"]).await;
        app.clock.advance(600);
        let expired = page(&app, &alice, &format!("/pair/device?user_code={}", expiring.user_code)).await;
        assert_eq!(expired.status, StatusCode::NOT_FOUND);
    }
);

on_both_engines!(approving_on_the_page_signs_the_device_in, |app: TestApp| async move {
    let (_, alice) = app.signed_in("alice", Role::Viewer).await;
    let started = start(&app, &["me.read", "roms.read"]).await;
    let form = format!(
        "user_code={}&scope=roms.read&device_name={}&expires_in=30d",
        enc(&started.user_code.to_lowercase()),
        enc("Alice's TV")
    );
    let approved = post_page_form(&app, &alice, "/pair/device/approve", &alice.csrf, &form).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text());
    assert!(
        approved
            .text()
            .contains("Approved. Your device signs in within a few seconds.")
    );
    let token = poll(&app, &started.device_code).await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.text());
    assert_eq!(token.json()["scopes"], json!(["roms.read"]), "only the ticked box");
    assert_eq!(
        token.json()["expires_at"],
        romgate::clock::format_time(START + 30 * 86_400)
    );
});

on_both_engines!(denying_on_the_page_tells_the_device, |app: TestApp| async move {
    let (_, alice) = app.signed_in("alice", Role::Viewer).await;
    let started = start(&app, &["me.read"]).await;
    let form = format!("user_code={}", started.user_code);
    let denied = post_page_form(&app, &alice, "/pair/device/deny", &alice.csrf, &form).await;
    assert_eq!(denied.status, StatusCode::OK, "{}", denied.text());
    assert!(denied.text().contains("Denied."));
    assert_eq!(refusal(&poll(&app, &started.device_code).await), "access_denied");
});

on_both_engines!(the_forms_need_the_pages_csrf_token, |app: TestApp| async move {
    let (_, alice) = app.signed_in("alice", Role::Viewer).await;
    let started = start(&app, &["me.read"]).await;
    let approve = format!("user_code={}&scope=me.read&expires_in=never", started.user_code);
    let deny = format!("user_code={}", started.user_code);
    for (path, fields) in [("/pair/device/approve", &approve), ("/pair/device/deny", &deny)] {
        for csrf in ["", "rgc_forged"] {
            let refused = post_page_form(&app, &alice, path, csrf, fields).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path} {csrf:?}");
            assert!(refused.text().contains("csrf_failed"), "a page: {}", refused.text());
        }
    }
    assert_eq!(
        refusal(&poll(&app, &started.device_code).await),
        "authorization_pending"
    );
});

on_both_engines!(a_scope_beyond_the_role_redisplays_the_form, |app: TestApp| async move {
    let (_, alice) = app.signed_in("alice", Role::Viewer).await;
    let started = start(&app, &["me.read", "roms.write"]).await;
    let form = format!(
        "user_code={}&scope=roms.write&device_name=Mine&expires_in=1y",
        started.user_code
    );
    let refused = post_page_form(&app, &alice, "/pair/device/approve", &alice.csrf, &form).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
    let html = refused.text();
    assert!(
        html.contains(r#"role="alert""#) && html.contains("your role allows"),
        "{html}"
    );
    assert!(html.contains(r#"value="Mine""#) && html.contains(r#"<option value="1y" selected>"#));
    let nothing = format!("user_code={}&device_name=Mine&expires_in=1y", started.user_code);
    let refused = post_page_form(&app, &alice, "/pair/device/approve", &alice.csrf, &nothing).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        refusal(&poll(&app, &started.device_code).await),
        "authorization_pending"
    );
});

/// The login page's answer to a signed-out visit of `here`: the redirect
/// to it, checked, and the page.
async fn sent_to_sign_in(app: &TestApp, here: &str) -> crate::util::TestResponse {
    let visit = app.get(here, &[]).await;
    assert_eq!(visit.status, StatusCode::SEE_OTHER, "{}", visit.text());
    let login = visit.header("location").expect("Location").to_string();
    assert_eq!(login, format!("/login?next={}", enc(here)));
    let page = app.get(&login, &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    page
}

on_both_engines!(
    a_signed_out_visit_comes_back_to_the_code_after_the_password_form,
    |app: TestApp| async move {
        app.create_user("root", Role::Admin).await;
        app.create_user("alice", Role::Viewer).await;
        let started = start(&app, &["me.read"]).await;
        let (a, b) = started.user_code.split_at(4);
        let here = format!("/pair/device?user_code={}-{b}", a.to_lowercase());
        let login = sent_to_sign_in(&app, &here).await;
        assert!(
            login.text().contains(&format!(r#"name="next" value="{here}""#)),
            "{}",
            login.text()
        );
        let csrf = login.cookie_value("romm_csrftoken").expect("CSRF cookie");
        let form = format!(
            "csrf_token={}&username=alice&password={}&next={}",
            enc(&csrf),
            enc(PASSWORD),
            enc(&here)
        );
        let signed_in = app
            .post_form("/login", &[("cookie", &format!("romm_csrftoken={csrf}"))], &form)
            .await;
        assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{}", signed_in.text());
        assert_eq!(signed_in.header("location"), Some(here.as_str()));
        let session = signed_in.cookie_value("romm_session").expect("session");
        let browser = app.browser_for(&session).await;
        let shown = page(&app, &browser, &here).await;
        assert_eq!(shown.status, StatusCode::OK);
        assert!(shown.text().contains("Living room TV"));
        // A form sent while signed out also leads to sign in and back.
        let form = format!("user_code={}&scope=me.read", started.user_code);
        let posted = app
            .post_form("/pair/device/approve", &[], &format!("csrf_token=x&{form}"))
            .await;
        assert_eq!(posted.status, StatusCode::SEE_OTHER);
        assert_eq!(
            posted.header("location").map(str::to_string),
            Some(format!(
                "/login?next={}",
                enc(&format!("/pair/device?user_code={}", started.user_code))
            ))
        );
    }
);

async fn sso_round_trip(postgres: bool) {
    let (app, idp) = sso_app_on(postgres, &[]).await;
    app.create_user("root", Role::Admin).await;
    let started = start(&app, &["me.read"]).await;
    let here = format!("/pair/device?user_code={}", started.user_code.to_lowercase());
    let login = sent_to_sign_in(&app, &here).await;
    let href = format!("/api/login/openid?next={}", enc(&here));
    assert!(login.text().contains(&format!(r#"href="{href}""#)), "{}", login.text());
    let sso = crate::sso_support::start(&app, &here).await;
    assert_eq!(sso.response.status.as_u16(), 302);
    let claims = json!({"sub": "alice-sub", "preferred_username": "alice", "email": "alice@example.com", "email_verified": true});
    let code = idp.grant(&sso.nonce, &sso.challenge, claims);
    let back = callback(
        &app,
        &format!("code={code}&state={}", sso.state),
        Some(&sso.browser_cookie),
    )
    .await;
    let session = session_of(&back);
    assert_eq!(
        back.header("location"),
        Some(here.as_str()),
        "the same code, query and all"
    );
    let browser = app.browser_for(&session).await;
    let shown = page(&app, &browser, &here).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.text());
    assert!(shown.text().contains("Living room TV"));
    let form = format!("user_code={}&scope=me.read&expires_in=never", started.user_code);
    let approved = post_page_form(&app, &browser, "/pair/device/approve", &browser.csrf, &form).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text());
    assert_eq!(poll(&app, &started.device_code).await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_out_visit_comes_back_to_the_code_after_single_sign_on() {
    sso_round_trip(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "PostgreSQL suite: needs TEST_DATABASE_URL, run with --include-ignored"]
async fn a_signed_out_visit_comes_back_to_the_code_after_single_sign_on_postgres() {
    sso_round_trip(true).await;
}
