//! The issue-11 attack against the real provider, in an SSO-only setup: a
//! viewer who sets their own email to the provider administrator's gains
//! nothing when that administrator signs in (SPEC 9, email trust).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::cluster::cookie;
use crate::scenario::{Sso, account, assert_refused, assert_signed_in, me, sign_in_with};

fn mallory(config: &mut Value) {
    let claims = json!({"email": "mallory@example.test", "email_verified": true,
                        "preferred_username": "mallory", "groups": ["romm-users"]});
    config["accounts"]
        .as_array_mut()
        .expect("accounts")
        .push(account("mallory", claims));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Node.js; run with --ignored"]
async fn a_viewer_claiming_the_provider_admins_email_is_not_linked() {
    let env = [
        ("DISABLE_USERPASS_LOGIN", "true"),
        ("OIDC_CLAIM_ROLES", "groups"),
        ("OIDC_ROLE_VIEWER", "romm-users"),
        ("OIDC_ROLE_ADMIN", "romm-admins"),
    ];
    let sso = Sso::start(mallory, &env).await.with_admin();
    assert_signed_in(&sso.sign_in("mallory", "mallory-pw").await);
    let viewer = sso.me().await.expect("mallory signed in");
    assert_eq!(viewer["role"], "viewer");

    // A password-less account proves a fresh sign-in: just signing in is
    // not one (this provider reports no auth_time then), signing in again
    // from the account page's link is.
    let claim_alices_email = || async {
        let csrf = cookie(&sso.browser, &sso.romgate, "romm_csrftoken").expect("csrf cookie");
        sso.browser
            .client()
            .put(sso.url(&format!("/api/users/{}", viewer["id"])))
            .header("x-csrftoken", csrf)
            .json(&json!({"email": "alice@example.test"}))
            .send()
            .await
            .expect("answer")
    };
    assert_eq!(claim_alices_email().await.status(), StatusCode::FORBIDDEN);
    assert_signed_in(&sso.sign_in_afresh("mallory", "mallory-pw").await);
    let claimed = claim_alices_email().await;
    assert_eq!(claimed.status(), StatusCode::OK);

    // The provider's administrator (alice, group romm-admins) signs in for
    // the first time.
    let admin_browser = Browser::new();
    let refused = sign_in_with(&admin_browser, &sso.romgate, "alice", "alice-pw").await;
    assert_refused(&refused, StatusCode::FORBIDDEN, "email_not_trusted");
    assert!(refused.body.contains("Ask an administrator"), "{}", refused.body);
    assert_eq!(
        me(&admin_browser, &sso.romgate).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );

    let after = sso.me().await.expect("mallory still signed in");
    assert_eq!(
        (after["id"].clone(), after["role"].as_str()),
        (viewer["id"].clone(), Some("viewer"))
    );
    let users = sso.browser.get(&sso.url("/api/users")).await;
    assert_eq!(
        users.status,
        StatusCode::FORBIDDEN,
        "no users.read, let alone users.write"
    );
    let list = sso.romgate.cli(&["user", "list"], "");
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(list.contains("alice@example.test (not trusted"), "{list}");
    assert!(
        !list.contains("alice "),
        "no account was made for the provider's admin: {list}"
    );
}
