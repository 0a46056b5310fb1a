//! "Add an app" on the devices page: a token made with a form, shown once
//! on the answer to its POST (never in an address or a log, never stored by
//! a browser), its scopes limited to the person's role, and a pairing code
//! for it that an app exchanges at `POST /api/client-tokens/exchange`.

use axum::http::StatusCode;
use romgate::auth::Role;

use crate::client_tokens_support::{exchange_from, me_status};
use crate::devices_apps_page::{devices_page, section};
use crate::log_capture::LogCapture;
use crate::util::{Browser, TestApp, TestResponse, on_both_engines, post_page_form};

const TV: &str = "203.0.113.9";

async fn add(app: &TestApp, browser: &Browser, fields: &str) -> TestResponse {
    post_page_form(app, browser, "/devices/tokens", &browser.csrf, fields).await
}

/// The text between `start` and the next `end` in `html`.
fn between(html: &str, start: &str, end: &str) -> Option<String> {
    let from = html.find(start)? + start.len();
    let rest = html.get(from..)?;
    Some(rest.get(..rest.find(end)?)?.to_string())
}

fn raw_token(page: &TestResponse) -> String {
    let html = page.text();
    let field =
        between(&html, r#"<textarea id="raw-token""#, "</textarea>").unwrap_or_else(|| panic!("a token in {html}"));
    field.split('>').nth(1).expect("the field's text").to_string()
}

fn pairing_code(page: &TestResponse) -> String {
    between(&page.text(), r#"id="pairing-code">"#, "<").unwrap_or_else(|| panic!("a code in {}", page.text()))
}

/// The id in the token's pairing form on the token's page.
fn pair_action(page: &TestResponse) -> String {
    let html = page.text();
    let id = between(&html, r#"action="/devices/tokens/"#, "/pair\"").expect("a pairing form");
    format!("/devices/tokens/{id}/pair")
}

fn assert_not_stored(page: &TestResponse) {
    assert_eq!(page.header("cache-control"), Some("no-store"), "{:?}", page.headers);
    assert_eq!(page.header("location"), None);
}

on_both_engines!(
    the_token_shows_once_and_its_pairing_code_exchanges,
    |app: TestApp| async move {
        let (alice, here) = app.signed_in("alice", Role::Viewer).await;
        let logs = LogCapture::start();
        let made = add(
            &app,
            &here,
            "name=Handheld&scope=me.read&scope=roms.read&expires_in=30d",
        )
        .await;
        assert_eq!(made.status, StatusCode::OK, "{}", made.text());
        assert_not_stored(&made);
        let html = made.text();
        assert!(html.contains("<title>Your new app token · romgate</title>"), "{html}");
        assert!(html.contains("it will not be shown again"), "{html}");
        assert!(html.contains("14 Feb 2027, 08:00 UTC"), "expires in 30 days: {html}");
        let first = raw_token(&made);
        assert!(first.starts_with("rmm_") && first.len() == 68, "{first}");
        assert_eq!(me_status(&app, &first).await, StatusCode::OK);
        let platforms = app
            .with_bearer(axum::http::Method::GET, "/api/platforms", &first, None)
            .await;
        assert_eq!(platforms.status, StatusCode::FORBIDDEN, "only the ticked scopes");

        let listed = devices_page(&app, &here).await;
        assert!(section(&listed, "tokens").contains("<h3>Handheld</h3>"), "{listed}");
        assert!(!listed.contains(&first), "shown once only");

        let paired = post_page_form(&app, &here, &pair_action(&made), &here.csrf, "").await;
        assert_eq!(paired.status, StatusCode::OK, "{}", paired.text());
        assert_not_stored(&paired);
        assert!(paired.text().contains("within 60 seconds"), "{}", paired.text());
        assert!(!paired.text().contains(&first) && !paired.text().contains("rmm_"));
        let code = pairing_code(&paired);
        assert_eq!(code.len(), 8, "{code}");

        let exchanged = exchange_from(&app, TV, &code).await;
        assert_eq!(exchanged.status, StatusCode::OK, "{}", exchanged.text());
        let body = exchanged.json();
        assert_eq!(body["name"], "Handheld");
        let second = body["raw_token"].as_str().expect("raw_token").to_string();
        assert_eq!(me_status(&app, &second).await, StatusCode::OK);
        assert_eq!(
            me_status(&app, &first).await,
            StatusCode::UNAUTHORIZED,
            "the old secret ends"
        );
        let again = exchange_from(&app, TV, &code).await;
        assert_eq!(again.status, StatusCode::NOT_FOUND, "a code works once");
        assert_eq!(app.store().client_tokens_of(alice.id).await.expect("tokens").len(), 1);

        let logged = logs.text();
        for secret in [&first, &second, &code] {
            assert!(!logged.contains(secret.as_str()), "{secret} logged:\n{logged}");
        }
    }
);

on_both_engines!(
    a_scope_beyond_the_role_is_neither_offered_nor_granted,
    |app: TestApp| async move {
        let (viewer, here) = app.signed_in("vera", Role::Viewer).await;
        let form = section(&devices_page(&app, &here).await, "add");
        assert!(form.contains(r#"value="roms.read""#), "{form}");
        assert!(
            form.contains(r#"value="me.read" checked"#),
            "a sensible default: {form}"
        );
        for beyond in ["roms.write", "users.write", "users.read"] {
            assert!(
                !form.contains(&format!(r#"value="{beyond}""#)),
                "{beyond} offered: {form}"
            );
        }
        let (_, editor) = app.signed_in("eddie", Role::Editor).await;
        let editor_form = section(&devices_page(&app, &editor).await, "add");
        assert!(editor_form.contains(r#"value="roms.write""#));

        let refused = add(
            &app,
            &here,
            "name=Sneaky&scope=me.read&scope=roms.write&expires_in=never",
        )
        .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
        let html = refused.text();
        assert!(
            html.contains("The app was not added:") && html.contains("roms.write"),
            "{html}"
        );
        assert!(!html.contains("rmm_"), "{html}");
        let add_form = section(&html, "add");
        assert!(add_form.contains(r#"value="Sneaky""#), "as typed: {add_form}");
        assert!(add_form.contains(r#"<option value="never" selected>"#), "{add_form}");
        assert!(
            app.store()
                .client_tokens_of(viewer.id)
                .await
                .expect("tokens")
                .is_empty()
        );

        for (fields, status) in [
            ("name=&scope=me.read&expires_in=30d", StatusCode::BAD_REQUEST),
            ("name=No+scopes&expires_in=30d", StatusCode::BAD_REQUEST),
            ("name=Odd&scope=me.read&expires_in=forever", StatusCode::BAD_REQUEST),
            ("name=Odd&scope=nonsense&expires_in=30d", StatusCode::BAD_REQUEST),
        ] {
            let refused = add(&app, &here, fields).await;
            assert_eq!(refused.status, status, "{fields}: {}", refused.text());
            assert!(refused.text().contains("The app was not added:"), "{fields}");
        }
        assert!(
            app.store()
                .client_tokens_of(viewer.id)
                .await
                .expect("tokens")
                .is_empty()
        );
    }
);

#[tokio::test]
async fn an_expired_token_gets_no_pairing_code() {
    let app = TestApp::new().await;
    let (_, here) = app.signed_in("alice", Role::Viewer).await;
    let made = add(&app, &here, "name=Old&scope=me.read&expires_in=30d").await;
    assert_eq!(made.status, StatusCode::OK);
    app.clock.advance(31 * 86_400);
    let here = app.login("alice", crate::util::PASSWORD).await;
    let tokens = section(&devices_page(&app, &here).await, "tokens");
    assert!(
        tokens.contains("Expired") && !tokens.contains("Get a pairing code"),
        "{tokens}"
    );
    let refused = post_page_form(&app, &here, &pair_action(&made), &here.csrf, "").await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text());
}
