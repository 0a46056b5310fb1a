//! Logout with the real provider: RP-initiated (with and without the
//! end-session override) and back-channel.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::browser::{Browser, is_login_page, is_logout_page, parse_form};
use crate::scenario::{Sso, assert_signed_in, me, sign_in_with};

/// Signs out as a person does: `GET /logout` only shows the confirmation
/// form (romgate's session stays), posting it (with its CSRF field) ends
/// the session. Returns where romgate sent the browser.
async fn sign_out_through_the_form(sso: &Sso) -> url::Url {
    let confirm = sso.browser.get(&sso.url("/logout")).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    assert!(sso.me().await.is_ok(), "GET /logout ends nothing");
    let (action, fields) = parse_form(&confirm);
    assert_eq!(action.path(), "/logout");
    assert!(
        fields
            .iter()
            .any(|(name, value)| name == "csrf_token" && !value.is_empty())
    );
    let logout = sso.browser.post_form(action.as_str(), &fields).await;
    assert_eq!(logout.status, StatusCode::SEE_OTHER, "{}", logout.body);
    let target = logout.location.expect("a redirect");
    assert_eq!(
        sso.me().await.err(),
        Some(StatusCode::UNAUTHORIZED),
        "romgate's session ended"
    );
    target
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Node.js; run with --ignored"]
async fn rp_initiated_logout_ends_the_provider_session_too() {
    let env = [
        ("OIDC_RP_INITIATED_LOGOUT", "true"),
        ("OIDC_POST_LOGOUT_REDIRECT_URI", "{base}/login"),
    ];
    let sso = Sso::start(|_| {}, &env).await.with_admin();
    assert_signed_in(&sso.sign_in("alice", "alice-pw").await);
    let heartbeat = sso.browser.get(&sso.url("/api/heartbeat")).await.body;
    assert!(heartbeat.contains(r#""RP_INITIATED_LOGOUT":true"#));

    let end_session = sign_out_through_the_form(&sso).await;
    assert!(
        end_session.as_str().starts_with(&sso.provider.url("/session/end")),
        "{end_session}"
    );
    let params: std::collections::HashMap<_, _> = end_session.query_pairs().into_owned().collect();
    assert!(params.contains_key("id_token_hint"));
    assert_eq!(params.get("client_id").map(String::as_str), Some("romgate"));
    let confirm = sso.browser.get(end_session.as_str()).await;
    assert!(is_logout_page(&confirm), "{}", confirm.body);
    let done = sso.browser.submit_logout_form(&confirm, true).await;
    assert_eq!(
        done.location.as_ref().map(|l| l.path()),
        Some("/login"),
        "{}",
        done.body
    );

    // The provider's session is gone: signing in asks for credentials again.
    let start = sso.browser.get(&sso.url("/api/login/openid")).await;
    let mut page = sso.browser.get(start.location.expect("to the provider").as_str()).await;
    for _ in 0..5 {
        if !page.is_redirect() {
            break;
        }
        page = sso.browser.get(page.location.clone().expect("location").as_str()).await;
    }
    assert!(is_login_page(&page), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Node.js; run with --ignored"]
async fn the_end_session_override_wins_and_api_logout_returns_the_url() {
    let env = [
        ("OIDC_RP_INITIATED_LOGOUT", "true"),
        (
            "OIDC_END_SESSION_ENDPOINT",
            "http://localhost:{provider_port}/session/end",
        ),
    ];
    let sso = Sso::start(|_| {}, &env).await.with_admin();
    assert_signed_in(&sso.sign_in("alice", "alice-pw").await);
    let target = sign_out_through_the_form(&sso).await;
    let expected = format!("http://localhost:{}/session/end?", sso.provider.port());
    assert!(target.as_str().starts_with(&expected), "{target}");
    assert!(!target.query_pairs().any(|(k, _)| k == "post_logout_redirect_uri"));

    // The API answers the same URL (with the CSRF token a browser would send).
    assert_signed_in(&sso.sign_in("alice", "alice-pw").await);
    let csrf = csrf_cookie(&sso);
    let answer = sso
        .browser
        .client()
        .post(sso.url("/api/logout"))
        .header("x-csrftoken", csrf)
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status(), StatusCode::OK);
    let body: Value = answer.json().await.expect("json");
    assert!(
        body["oidc_logout_url"]
            .as_str()
            .is_some_and(|u| u.starts_with(&expected)),
        "{body}"
    );
}

fn csrf_cookie(sso: &Sso) -> String {
    use reqwest::cookie::CookieStore;
    let url = url::Url::parse(&sso.url("/")).expect("url");
    let header = sso.browser.jar().cookies(&url).expect("cookies");
    let text = header.to_str().expect("ascii").to_string();
    text.split("; ")
        .find_map(|c| c.strip_prefix("romm_csrftoken="))
        .expect("csrf cookie")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Node.js; run with --ignored"]
async fn back_channel_logout_from_the_provider_ends_sessions_at_once() {
    let sso = Sso::start(|_| {}, &[]).await.with_admin();
    assert_signed_in(&sso.sign_in("alice", "alice-pw").await);
    let phone = Browser::new();
    assert_signed_in(&sign_in_with(&phone, &sso.romgate, "alice", "alice-pw").await);
    assert!(sso.me().await.is_ok() && me(&phone, &sso.romgate).await.is_ok());

    let client = reqwest::Client::new();
    let answer = client
        .post(sso.provider.url("/__harness/backchannel-logout"))
        .json(&json!({"sub": "alice-sub"}))
        .send()
        .await
        .expect("harness");
    let deliveries: Value = answer.json().await.expect("json");
    assert!(
        deliveries.as_array().is_some_and(|d| d.iter().all(|x| x["ok"] == true)),
        "{deliveries}"
    );
    assert_eq!(sso.me().await.err(), Some(StatusCode::UNAUTHORIZED));
    assert_eq!(me(&phone, &sso.romgate).await.err(), Some(StatusCode::UNAUTHORIZED));
}
