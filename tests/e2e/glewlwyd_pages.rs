//! What Glewlwyd's login page (a JavaScript application, login.html) does
//! in a browser, done with plain HTTP calls to the APIs it calls, in the
//! same order: sign in, grant the scopes to the client, continue the
//! authorization; and for an RP-initiated logout, end the OpenID session
//! and the Glewlwyd session, then go where the client asked.

#![allow(dead_code)] // a helper library: not every test uses every helper

use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::{Value, json};
use url::Url;

use crate::browser::{Browser, Page};
use crate::glewlwyd_support::{Glewlwyd, PLUGIN, SESSION_COOKIE};
use crate::romgate::RomgateServer;

/// The query of the login-page URL Glewlwyd redirected to.
fn params(url: &Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

fn param(params: &HashMap<String, String>, name: &str, url: &Url) -> String {
    params
        .get(name)
        .cloned()
        .unwrap_or_else(|| panic!("no {name} in Glewlwyd's login page URL {url}"))
}

/// Sends `body` (JSON unless null) with the browser's cookies; the status
/// and the body's text.
async fn call(browser: &Browser, method: reqwest::Method, url: &str, body: Value) -> (StatusCode, String) {
    let mut request = browser.client().request(method.clone(), url);
    if !body.is_null() {
        request = request.json(&body);
    }
    let answer = request.send().await.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = answer.status();
    (status, answer.text().await.unwrap_or_default())
}

/// Follows `url` until Glewlwyd sends the browser to its login page.
async fn to_login_page(browser: &Browser, glewlwyd: &Glewlwyd, url: &str) -> Url {
    browser.follow_until(url, &glewlwyd.login_page()).await.stopped()
}

/// From an authorization URL to the redirect to `redirect_prefix`
/// (returned, not requested): the login page's password sign-in, its
/// consent ("grant"), and `g_continue` back to the authorization endpoint.
pub async fn sign_in_at_glewlwyd(
    browser: &Browser,
    glewlwyd: &Glewlwyd,
    authorize_url: &str,
    login: &str,
    password: &str,
    redirect_prefix: &str,
) -> Url {
    let page = to_login_page(browser, glewlwyd, authorize_url).await;
    let query = params(&page);
    let credentials = json!({"username": login, "password": password});
    let (status, body) = call(browser, reqwest::Method::POST, &glewlwyd.api("/auth/"), credentials).await;
    assert_eq!(status, StatusCode::OK, "Glewlwyd refused {login:?}'s password: {body}");
    let client_id = param(&query, "client_id", &page);
    let grant = json!({"scope": param(&query, "scope", &page)});
    let url = glewlwyd.api(&format!("/auth/grant/{client_id}"));
    let (status, body) = call(browser, reqwest::Method::PUT, &url, grant).await;
    assert_eq!(status, StatusCode::OK, "grant: {body}");
    let next = format!("{}&g_continue", param(&query, "callback_url", &page));
    browser.follow_until(&next, redirect_prefix).await.stopped()
}

/// Clicks "Sign in" at romgate, signs in at Glewlwyd, and returns romgate's
/// answer to the redirect back.
pub async fn sign_in_with_glewlwyd(
    browser: &Browser,
    glewlwyd: &Glewlwyd,
    romgate: &RomgateServer,
    login: &str,
    password: &str,
) -> Page {
    let start = browser.get(&romgate.url("/api/login/openid")).await;
    assert_eq!(start.status, StatusCode::FOUND, "start: {}", start.body);
    let authorize = start.location.expect("a redirect to Glewlwyd");
    let callback = romgate.url("/api/oauth/openid");
    let back = sign_in_at_glewlwyd(browser, glewlwyd, authorize.as_str(), login, password, &callback).await;
    browser.get(back.as_str()).await
}

/// Glewlwyd's end-session page, answered "sign me out everywhere": the
/// OpenID session `sid` ends, then the Glewlwyd session. Returns where the
/// page then sends the browser (the client's post-logout URI).
pub async fn end_session_at_glewlwyd(browser: &Browser, glewlwyd: &Glewlwyd, end_session_url: &str) -> Url {
    let page = to_login_page(browser, glewlwyd, end_session_url).await;
    let query = params(&page);
    assert_eq!(query.get("prompt").map(String::as_str), Some("end_session"), "{page}");
    let (plugin, sid) = (param(&query, "plugin", &page), param(&query, "sid", &page));
    let client_id = param(&query, "client_id", &page);
    let mut list = Url::parse(&glewlwyd.api(&format!("/{plugin}/session/{sid}/{client_id}"))).expect("url");
    // Glewlwyd names it only when the client sent a `state`.
    if let Some(post_redirect_to) = query.get("post_redirect_to") {
        list.query_pairs_mut().append_pair("post_redirect_to", post_redirect_to);
    }
    let (status, body) = call(browser, reqwest::Method::GET, list.as_str(), Value::Null).await;
    assert_eq!(status, StatusCode::OK, "the session's clients: {body}");
    end_glewlwyd_session(browser, glewlwyd, &plugin, &sid).await;
    Url::parse(&param(&query, "callback_url", &page)).expect("callback_url is a URL")
}

/// What the end-session page does on "sign out": the OpenID session `sid`
/// ends (Glewlwyd sends its back-channel logout tokens), then the Glewlwyd
/// session.
async fn end_glewlwyd_session(browser: &Browser, glewlwyd: &Glewlwyd, plugin: &str, sid: &str) {
    let session = glewlwyd.api(&format!("/{plugin}/session/{sid}"));
    let (status, body) = call(browser, reqwest::Method::DELETE, &session, Value::Null).await;
    assert_eq!(status, StatusCode::OK, "ending the OpenID session: {body}");
    let (status, body) = call(browser, reqwest::Method::DELETE, &glewlwyd.api("/auth/"), Value::Null).await;
    assert_eq!(status, StatusCode::OK, "ending the Glewlwyd session: {body}");
}

/// The person signs out at Glewlwyd itself (not through romgate): the
/// browser's OpenID session, named by Glewlwyd's session cookie, ends.
pub async fn sign_out_at_glewlwyd(browser: &Browser, glewlwyd: &Glewlwyd) {
    use reqwest::cookie::CookieStore;
    let url = Url::parse(&glewlwyd.base()).expect("url");
    let cookies = browser.jar().cookies(&url).expect("Glewlwyd's cookies");
    let cookies = cookies.to_str().expect("ascii").to_string();
    let sid = cookies
        .split("; ")
        .find_map(|c| c.strip_prefix(&format!("{SESSION_COOKIE}=")))
        .unwrap_or_else(|| panic!("no {SESSION_COOKIE} cookie: {cookies}"));
    end_glewlwyd_session(browser, glewlwyd, PLUGIN, sid).await;
}

/// Does Glewlwyd still know this browser? An authorization continued
/// without the login page goes straight back to romgate's callback with a
/// session; without one, to the login page again.
pub async fn glewlwyd_remembers(browser: &Browser, glewlwyd: &Glewlwyd, romgate: &RomgateServer) -> bool {
    let start = browser.get(&romgate.url("/api/login/openid")).await;
    let authorize = start.location.expect("a redirect to Glewlwyd");
    let answer = browser.get(&format!("{authorize}&g_continue")).await;
    let next = answer.location.expect("Glewlwyd redirects");
    if next.as_str().starts_with(&glewlwyd.login_page()) {
        return false;
    }
    assert!(next.as_str().starts_with(&romgate.url("/api/oauth/openid")), "{next}");
    true
}
