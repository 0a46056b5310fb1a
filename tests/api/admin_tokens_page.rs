//! The users page's "App tokens": administrators see every person's client
//! tokens (owner, name, device, scopes, last use, expiry) and revoke any;
//! viewers and editors reach neither the list nor the revoke form.

use axum::http::StatusCode;
use romgate::auth::Role;

use crate::client_tokens_support::{device, device_token, me_status, token_with};
use crate::util::{Browser, TestApp, TestResponse, on_both_engines, post_page_form};

async fn users_page(app: &TestApp, browser: &Browser) -> TestResponse {
    app.get("/admin/users", &[("cookie", &browser.cookie_header())]).await
}

/// The HTML of the page's app tokens list.
fn tokens_list(html: &str) -> String {
    let start = html
        .find(r#"<h2 id="tokens">"#)
        .unwrap_or_else(|| panic!("tokens in {html}"));
    let end = html.find(r#"<h2 id="create">"#).unwrap_or(html.len());
    html.get(start..end).unwrap_or_default().to_string()
}

async fn revoke(app: &TestApp, browser: &Browser, id: i64) -> TestResponse {
    post_page_form(app, browser, &format!("/admin/tokens/{id}/revoke"), &browser.csrf, "").await
}

on_both_engines!(an_admin_sees_every_token_and_revokes_one, |app: TestApp| async move {
    let (_, admin) = app.signed_in("root", Role::Admin).await;
    let empty = users_page(&app, &admin).await;
    assert!(tokens_list(&empty.text()).contains("Nobody has an app token."));

    let (vera, vera_browser) = app.signed_in("vera", Role::Viewer).await;
    let (script_id, script) = token_with(&app, &vera_browser, "Vera's script", &["me.read", "roms.read"]).await;
    let tv = device(&app, vera.id, "TV downstairs").await;
    let (tv_row, tv_token) = device_token(&app, vera.id, &tv.id, "me.read").await;
    let (_, root_token) = token_with(&app, &admin, "Backup job", &["me.read", "users.read"]).await;
    app.clock.advance(120);
    assert_eq!(me_status(&app, &tv_token).await, StatusCode::OK);

    let page = users_page(&app, &admin).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let list = tokens_list(&page.text());
    assert!(
        list.contains("<td>vera</td>") && list.contains("<td>root</td>"),
        "{list}"
    );
    assert!(
        list.contains("Vera&#x27;s script") || list.contains("Vera&#39;s script"),
        "{list}"
    );
    assert!(
        list.contains("<td>TV downstairs</td>") && list.contains("Backup job"),
        "{list}"
    );
    assert!(list.contains("<code>me.read</code>, <code>roms.read</code>"), "{list}");
    assert!(
        list.contains("15 Jan 2027, 08:02 UTC"),
        "the device token's last use: {list}"
    );
    assert!(list.contains(&format!(r#"action="/admin/tokens/{script_id}/revoke""#)));
    assert!(!list.contains("rmm_"), "no secret");

    let revoked = revoke(&app, &admin, tv_row.id).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.text());
    assert_eq!(revoked.header("location"), Some("/admin/users?done=token"));
    assert_eq!(me_status(&app, &tv_token).await, StatusCode::UNAUTHORIZED, "at once");
    assert_eq!(me_status(&app, &script).await, StatusCode::OK);
    assert_eq!(me_status(&app, &root_token).await, StatusCode::OK);
    let after = app
        .get("/admin/users?done=token", &[("cookie", &admin.cookie_header())])
        .await;
    assert!(after.text().contains("The app token is revoked."));
    assert!(!tokens_list(&after.text()).contains("TV downstairs"));
    assert_eq!(revoke(&app, &admin, tv_row.id).await.status, StatusCode::NOT_FOUND);
});

on_both_engines!(
    viewers_and_editors_reach_neither_list_nor_revoke,
    |app: TestApp| async move {
        let (_, admin) = app.signed_in("root", Role::Admin).await;
        let (id, root_token) = token_with(&app, &admin, "Backup job", &["me.read"]).await;
        for (name, role) in [("vera", Role::Viewer), ("eddie", Role::Editor)] {
            let (_, browser) = app.signed_in(name, role).await;
            let page = users_page(&app, &browser).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{name}");
            assert!(!page.text().contains("Backup job"));
            let refused = revoke(&app, &browser, id).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{name}: {}", refused.text());
            assert!(refused.text().contains("Only administrators"), "{}", refused.text());
        }
        assert_eq!(me_status(&app, &root_token).await, StatusCode::OK);

        let cookie = admin.cookie_header();
        let forged = app
            .post_form(
                &format!("/admin/tokens/{id}/revoke"),
                &[("cookie", &cookie)],
                "csrf_token=rgc_forged",
            )
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        assert!(forged.text().contains("csrf_failed"), "{}", forged.text());
        assert_eq!(me_status(&app, &root_token).await, StatusCode::OK);
    }
);
