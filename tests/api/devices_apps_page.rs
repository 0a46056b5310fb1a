//! The devices page's apps half (`/devices`, `#devices` and `#tokens`): a
//! person sees their own devices (with their app, platform, last use and
//! scopes) and app tokens, and revokes one with the form's CSRF token;
//! another person's id is a 404 that revokes nothing; a revoked device's
//! token is refused on its very next call.

use axum::http::StatusCode;
use romgate::auth::Role;

use crate::client_tokens_support::{device, device_token, me_status, token_with};
use crate::util::{Browser, TestApp, TestResponse, on_both_engines, post_page_form};

pub async fn devices_page(app: &TestApp, browser: &Browser) -> String {
    let page = app.get("/devices", &[("cookie", &browser.cookie_header())]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    page.text()
}

/// The HTML of the page's section `id` (`devices`, `tokens`, …).
pub fn section(html: &str, id: &str) -> String {
    let start = html
        .find(&format!(r#"<section id="{id}""#))
        .unwrap_or_else(|| panic!("section {id} in {html}"));
    let rest = html.get(start..).unwrap_or_default();
    let end = rest.find("</section>").unwrap_or(rest.len());
    rest.get(..end).unwrap_or_default().to_string()
}

async fn revoke_device(app: &TestApp, browser: &Browser, id: &str) -> TestResponse {
    post_page_form(app, browser, &format!("/devices/device/{id}/revoke"), &browser.csrf, "").await
}

async fn revoke_token(app: &TestApp, browser: &Browser, id: i64) -> TestResponse {
    post_page_form(app, browser, &format!("/devices/tokens/{id}/revoke"), &browser.csrf, "").await
}

fn assert_redirected(answer: &TestResponse, to: &str) {
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
    assert_eq!(answer.header("location"), Some(to));
}

on_both_engines!(
    the_sections_list_only_ones_own_devices_and_tokens,
    |app: TestApp| async move {
        let (alice, here) = app.signed_in("alice", Role::Viewer).await;
        let (bob, bob_browser) = app.signed_in("bob", Role::Viewer).await;
        let tv = device(&app, alice.id, "TV downstairs").await;
        let (_, tv_token) = device_token(&app, alice.id, &tv.id, "me.read roms.read").await;
        token_with(&app, &here, "Playnite", &["me.read", "platforms.read"]).await;
        let bobs = device(&app, bob.id, "Bob's handheld").await;
        device_token(&app, bob.id, &bobs.id, "me.read").await;
        token_with(&app, &bob_browser, "Bob's script", &["me.read"]).await;

        let html = devices_page(&app, &here).await;
        let devices = section(&html, "devices");
        assert!(devices.contains("<h3>TV downstairs</h3>"), "{devices}");
        assert!(
            devices.contains("argosy 1.2.3") && devices.contains("android"),
            "{devices}"
        );
        assert!(
            devices.contains("<code>me.read</code>, <code>roms.read</code>"),
            "{devices}"
        );
        assert!(devices.contains("Not yet"), "never seen yet: {devices}");
        assert!(devices.contains(&format!(r#"action="/devices/device/{}/revoke""#, tv.id)));
        assert!(devices.contains("Revoke<span class=\"sr-only\"> the device TV downstairs</span>"));
        let tokens = section(&html, "tokens");
        assert!(tokens.contains("<h3>Playnite</h3>"), "{tokens}");
        assert!(
            tokens.contains("<code>me.read</code>, <code>platforms.read</code>"),
            "{tokens}"
        );
        assert!(
            !tokens.contains("device token"),
            "a device's token is listed with its device"
        );
        for bobs_thing in ["Bob&#x27;s handheld", "Bob&#x27;s script", "Bob's", bobs.id.as_str()] {
            assert!(!html.contains(bobs_thing), "{bobs_thing} on alice's page");
        }
        assert!(
            !html.contains(&tv_token) && !html.contains("rmm_"),
            "no secret on the page"
        );

        // The device's use shows as its last use, in the page's time format.
        app.clock.advance(150);
        assert_eq!(me_status(&app, &tv_token).await, StatusCode::OK);
        let devices = section(&devices_page(&app, &here).await, "devices");
        assert!(devices.contains("15 Jan 2027, 08:02 UTC"), "{devices}");

        let (_, carol) = app.signed_in("carol", Role::Viewer).await;
        let html = devices_page(&app, &carol).await;
        assert!(section(&html, "devices").contains("No devices are signed in to your account."));
        assert!(section(&html, "tokens").contains("You have no app tokens."));
    }
);

on_both_engines!(
    another_persons_device_or_token_is_not_found_and_stays,
    |app: TestApp| async move {
        let (_, alice) = app.signed_in("alice", Role::Viewer).await;
        let (bob, bob_browser) = app.signed_in("bob", Role::Viewer).await;
        let bobs = device(&app, bob.id, "Bob's handheld").await;
        let (_, bob_device_token) = device_token(&app, bob.id, &bobs.id, "me.read").await;
        let (bob_token_id, bob_token) = token_with(&app, &bob_browser, "script", &["me.read"]).await;

        let refused = revoke_device(&app, &alice, &bobs.id).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.text());
        let refused = revoke_token(&app, &alice, bob_token_id).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.text());
        let path = format!("/devices/tokens/{bob_token_id}/pair");
        let refused = post_page_form(&app, &alice, &path, &alice.csrf, "").await;
        assert_eq!(
            refused.status,
            StatusCode::NOT_FOUND,
            "no pairing code for another's token"
        );
        for garbage in ["nope", "%2e%2e", "00000000-0000-4000-8000-000000000000"] {
            let refused = revoke_device(&app, &alice, garbage).await;
            assert_eq!(refused.status, StatusCode::NOT_FOUND, "{garbage}: {}", refused.text());
        }

        assert_eq!(me_status(&app, &bob_device_token).await, StatusCode::OK);
        assert_eq!(me_status(&app, &bob_token).await, StatusCode::OK);
        assert_eq!(app.store().devices_of(bob.id).await.expect("devices").len(), 1);
        assert_eq!(app.store().client_tokens_of(bob.id).await.expect("tokens").len(), 2);
    }
);

on_both_engines!(
    revoking_a_device_stops_its_token_on_the_next_call,
    |app: TestApp| async move {
        let (alice, here) = app.signed_in("alice", Role::Viewer).await;
        let tv = device(&app, alice.id, "TV downstairs").await;
        let (_, tv_token) = device_token(&app, alice.id, &tv.id, "me.read").await;
        let (_, second_tv_token) = device_token(&app, alice.id, &tv.id, "roms.read").await;
        let handheld = device(&app, alice.id, "Handheld").await;
        let (_, handheld_token) = device_token(&app, alice.id, &handheld.id, "me.read").await;
        assert_eq!(me_status(&app, &tv_token).await, StatusCode::OK);

        assert_redirected(&revoke_device(&app, &here, &tv.id).await, "/devices?done=device");
        assert_eq!(me_status(&app, &tv_token).await, StatusCode::UNAUTHORIZED, "at once");
        let platforms = app
            .with_bearer(axum::http::Method::GET, "/api/platforms", &second_tv_token, None)
            .await;
        assert_eq!(platforms.status, StatusCode::UNAUTHORIZED, "every token of the device");
        assert_eq!(me_status(&app, &handheld_token).await, StatusCode::OK, "others stay");

        let page = app
            .get("/devices?done=device", &[("cookie", &here.cookie_header())])
            .await;
        let html = page.text();
        assert!(html.contains("That device is revoked"), "{html}");
        assert!(!html.contains("TV downstairs") && html.contains("Handheld"));
        let again = revoke_device(&app, &here, &tv.id).await;
        assert_eq!(again.status, StatusCode::NOT_FOUND);
        assert_eq!(me_status(&app, &handheld_token).await, StatusCode::OK);
    }
);

on_both_engines!(
    revoking_an_app_token_stops_it_on_the_next_call,
    |app: TestApp| async move {
        let (_, here) = app.signed_in("alice", Role::Viewer).await;
        let (id, token) = token_with(&app, &here, "Playnite", &["me.read"]).await;
        let (_, other) = token_with(&app, &here, "Script", &["me.read"]).await;
        assert_eq!(me_status(&app, &token).await, StatusCode::OK);

        assert_redirected(&revoke_token(&app, &here, id).await, "/devices?done=token");
        assert_eq!(me_status(&app, &token).await, StatusCode::UNAUTHORIZED);
        assert_eq!(me_status(&app, &other).await, StatusCode::OK);
        let page = app
            .get("/devices?done=token", &[("cookie", &here.cookie_header())])
            .await;
        let tokens = section(&page.text(), "tokens");
        assert!(page.text().contains("That app token is revoked"));
        assert!(!tokens.contains("Playnite") && tokens.contains("Script"), "{tokens}");
    }
);

#[tokio::test]
async fn the_apps_forms_are_refused_without_their_csrf_token() {
    let app = TestApp::new().await;
    let (alice, here) = app.signed_in("alice", Role::Viewer).await;
    let other_browser = app.login("alice", crate::util::PASSWORD).await;
    let tv = device(&app, alice.id, "TV downstairs").await;
    let (_, tv_token) = device_token(&app, alice.id, &tv.id, "me.read").await;
    let (id, token) = token_with(&app, &here, "Playnite", &["me.read"]).await;
    let cookie = here.cookie_header();
    let actions = [
        format!("/devices/device/{}/revoke", tv.id),
        format!("/devices/tokens/{id}/revoke"),
        format!("/devices/tokens/{id}/pair"),
        "/devices/tokens".to_string(),
    ];
    for action in &actions {
        for form in [
            "name=x&scope=me.read",
            "csrf_token=&name=x&scope=me.read",
            "csrf_token=rgc_forged&name=x&scope=me.read",
        ] {
            let refused = app.post_form(action, &[("cookie", &cookie)], form).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{action} {form:?}");
            assert!(refused.text().contains("csrf_failed"), "{}", refused.text());
            assert!(!refused.text().contains("rmm_"), "no token made");
        }
        // Another session's token is not this one's.
        let refused = post_page_form(&app, &here, action, &other_browser.csrf, "name=x&scope=me.read").await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{action}");
    }
    assert_eq!(me_status(&app, &tv_token).await, StatusCode::OK);
    assert_eq!(me_status(&app, &token).await, StatusCode::OK);
    assert_eq!(app.store().client_tokens_of(alice.id).await.expect("tokens").len(), 2);

    // Without a session, the forms lead to the sign-in page.
    let anonymous = app.post_form(&actions[0], &[], "csrf_token=x").await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert_eq!(me_status(&app, &tv_token).await, StatusCode::OK);
}

#[tokio::test]
async fn the_approval_page_says_where_an_approved_device_is_revoked() {
    let app = TestApp::new().await;
    let (_, here) = app.signed_in("alice", Role::Viewer).await;
    let started = crate::device_support::start(&app, &["me.read"]).await;
    let path = format!("/pair/device?user_code={}", started.user_code);
    let page = app.get(&path, &[("cookie", &here.cookie_header())]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert!(
        page.text()
            .contains(r#"You can revoke an approved device later on <a href="/devices">Devices and sessions</a>."#),
        "{}",
        page.text()
    );
}
