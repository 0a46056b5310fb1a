//! Proves the end-to-end harness (real oidc-provider + scripted browser)
//! works on its own, without romgate.

use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use url::Url;

use crate::browser::{Browser, Followed, is_login_page, is_logout_page, query_param};
use crate::provider::{TestProvider, TestTls, basic_config};

/// Never requested: the browser stops when it is redirected there.
const CALLBACK: &str = "http://127.0.0.1:1/callback";

fn random_b64(len: usize) -> String {
    let bytes: Vec<u8> = (0..len).map(|_| rand::thread_rng().r#gen()).collect();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// (code_verifier, S256 code_challenge)
fn pkce_pair() -> (String, String) {
    let verifier = random_b64(32);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// Part `index` of a JWT (0 = header, 1 = payload) as JSON. Harness check
/// only: no signature verification.
fn jwt_part(jwt: &str, index: usize) -> Value {
    let part = jwt.split('.').nth(index).expect("JWT part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

async fn discovery(provider: &TestProvider) -> Value {
    let page = Browser::new().get(&provider.metadata_url()).await;
    assert_eq!(page.status, 200, "{}", page.body);
    serde_json::from_str(&page.body).expect("discovery JSON")
}

fn authorize_url(meta: &Value, challenge: &str, state: &str, nonce: &str) -> String {
    let mut url = Url::parse(meta["authorization_endpoint"].as_str().unwrap()).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "romgate")
        .append_pair("redirect_uri", CALLBACK)
        .append_pair("scope", "openid profile email groups")
        .append_pair("state", state)
        .append_pair("nonce", nonce)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    url.into()
}

/// Signs alice in and exchanges the code; returns the token response.
async fn sign_in_and_exchange(provider: &TestProvider, browser: &Browser) -> (Value, String) {
    let meta = discovery(provider).await;
    let (verifier, challenge) = pkce_pair();
    let (state, nonce) = (random_b64(16), random_b64(16));
    let auth = authorize_url(&meta, &challenge, &state, &nonce);
    let callback = browser.sign_in_at_provider(&auth, "alice", "alice-pw", CALLBACK).await;
    assert_eq!(query_param(&callback, "state").as_deref(), Some(&*state));
    assert_eq!(query_param(&callback, "iss").as_deref(), Some(provider.issuer()));
    let code = query_param(&callback, "code").expect("code in callback");

    let resp = reqwest::Client::new()
        .post(meta["token_endpoint"].as_str().unwrap())
        .basic_auth("romgate", Some("romgate-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let tokens: Value = resp.json().await.unwrap();
    assert_eq!(status, 200, "token response: {tokens}");
    (tokens, nonce)
}

#[tokio::test]
#[ignore = "end-to-end: needs Node.js and the oidc-provider package; run with --ignored"]
async fn discovery_lists_claims_and_endpoints() {
    let provider = TestProvider::start(basic_config(CALLBACK));
    let meta = discovery(&provider).await;
    assert_eq!(meta["issuer"], provider.issuer());
    assert_eq!(meta["jwks_uri"], provider.url("/jwks"));
    assert_eq!(meta["end_session_endpoint"], provider.url("/session/end"));
    let claims = meta["claims_supported"].as_array().unwrap();
    for c in ["email", "email_verified", "groups", "preferred_username"] {
        assert!(claims.contains(&json!(c)), "{c} missing in {claims:?}");
    }
    assert!(meta["scopes_supported"].as_array().unwrap().contains(&json!("groups")));
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
}

#[tokio::test]
#[ignore = "end-to-end: needs Node.js and the oidc-provider package; run with --ignored"]
async fn authorization_code_flow_with_pkce() {
    let provider = TestProvider::start(basic_config(CALLBACK));
    let browser = Browser::new();
    let (tokens, nonce) = sign_in_and_exchange(&provider, &browser).await;

    let id_token = tokens["id_token"].as_str().expect("id_token");
    let claims = jwt_part(id_token, 1);
    assert_eq!(claims["iss"], provider.issuer());
    assert_eq!(claims["aud"], "romgate");
    assert_eq!(claims["sub"], "alice-sub");
    assert_eq!(claims["nonce"], nonce.as_str());
    assert_eq!(claims["email"], "alice@example.test");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["groups"], json!(["romm-admins"]));
    assert_eq!(claims["preferred_username"], "alice");

    // The signing key is the one published in the JWKS.
    let kid = jwt_part(id_token, 0)["kid"].clone();
    let jwks: Value = serde_json::from_str(&browser.get(&provider.url("/jwks")).await.body).unwrap();
    assert_eq!(jwks["keys"][0]["kid"], kid);

    // Userinfo carries the same claims.
    let userinfo: Value = reqwest::Client::new()
        .get(provider.url("/me"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(userinfo["sub"], "alice-sub");
    assert_eq!(userinfo["groups"], json!(["romm-admins"]));

    // A second sign-in in the same browser skips login and consent.
    let meta = discovery(&provider).await;
    let (_, challenge) = pkce_pair();
    let again = browser
        .follow_until(&authorize_url(&meta, &challenge, "s2", "n2"), CALLBACK)
        .await
        .stopped();
    assert!(query_param(&again, "code").is_some(), "{again}");
}

#[tokio::test]
#[ignore = "end-to-end: needs Node.js and the oidc-provider package; run with --ignored"]
async fn wrong_password_is_refused() {
    let provider = TestProvider::start(basic_config(CALLBACK));
    let browser = Browser::new();
    let meta = discovery(&provider).await;
    let (_, challenge) = pkce_pair();
    let login = browser
        .follow_until(&authorize_url(&meta, &challenge, "st", "nn"), CALLBACK)
        .await
        .page();
    assert!(is_login_page(&login), "{}", login.body);

    let refused = browser.submit_login_form(&login, "alice", "wrong").await;
    assert_eq!(refused.status, 401);
    assert!(refused.body.contains("Invalid login or password"));
    let unknown = browser.submit_login_form(&refused, "mallory", "x").await;
    assert_eq!(unknown.status, 401);

    // The refusal page's form works for a retry.
    let retry = browser.submit_login_form(&refused, "alice", "alice-pw").await;
    assert!(retry.is_redirect(), "{}", retry.body);
}

#[tokio::test]
#[ignore = "end-to-end: needs Node.js and the oidc-provider package; run with --ignored"]
async fn https_provider_needs_the_private_ca() {
    let tls = TestTls::generate();
    let mut config = basic_config(CALLBACK);
    config["tls"] = tls.provider_tls();
    let provider = TestProvider::start(config);
    assert!(provider.issuer().starts_with("https://localhost:"));

    let trusting = Browser::with_ca(tls.ca_pem().as_bytes());
    let page = trusting.get(&provider.metadata_url()).await;
    assert_eq!(page.status, 200);
    let meta: Value = serde_json::from_str(&page.body).unwrap();
    assert_eq!(meta["issuer"], provider.issuer());
    // 127.0.0.1 is in the certificate too.
    let by_ip = provider.metadata_url().replace("localhost", "127.0.0.1");
    assert_eq!(trusting.get(&by_ip).await.status, 200);

    let err = Browser::new()
        .client()
        .get(provider.metadata_url())
        .send()
        .await
        .expect_err("an unknown CA must be refused");
    assert!(err.is_connect() || err.is_request(), "{err:?}");
}

#[tokio::test]
#[ignore = "end-to-end: needs Node.js and the oidc-provider package; run with --ignored"]
async fn restart_with_a_new_key_changes_the_kid() {
    let dir = tempfile::tempdir().unwrap();
    let keys_file = dir.path().join("keys.json");
    let mut config = basic_config(CALLBACK);
    config["kid"] = json!("key-one");
    config["keysFile"] = json!(keys_file);
    let provider = TestProvider::start(config.clone());
    let kids = |body: String| -> Vec<Value> {
        let jwks: Value = serde_json::from_str(&body).unwrap();
        let keys = jwks["keys"].as_array().unwrap();
        assert!(keys.iter().all(|k| k.get("d").is_none()), "private part leaked");
        keys.iter().map(|k| k["kid"].clone()).collect()
    };
    let browser = Browser::new();
    assert_eq!(
        kids(browser.get(&provider.url("/jwks")).await.body),
        vec![json!("key-one")]
    );
    let first_n = browser.get(&provider.url("/jwks")).await.body;

    // Same config: the keys file is reused, same key.
    let provider = provider.restart_async().await;
    assert_eq!(browser.get(&provider.url("/jwks")).await.body, first_n);

    config["kid"] = json!("key-two");
    let port = provider.port();
    let provider = provider.restart_with_async(config).await;
    assert_eq!(provider.port(), port);
    assert_eq!(
        kids(browser.get(&provider.url("/jwks")).await.body),
        vec![json!("key-two")]
    );
}

/// A relying party's back-channel logout endpoint: records logout_tokens.
async fn backchannel_receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    use axum::{Form, Router, routing::post};
    use std::collections::HashMap;
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    let app = Router::new().route(
        "/backchannel",
        post(move |Form(form): Form<HashMap<String, String>>| async move {
            sink.lock().unwrap().push(form["logout_token"].clone());
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/backchannel", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Node.js and the oidc-provider package; run with --ignored"]
async fn rp_initiated_logout_sends_backchannel_logout() {
    let (receiver, got) = backchannel_receiver().await;
    let mut config = basic_config(CALLBACK);
    config["clients"][0]["post_logout_redirect_uris"] = json!(["http://127.0.0.1:1/logged-out"]);
    config["clients"][0]["backchannel_logout_uri"] = json!(receiver);
    config["clients"][0]["backchannel_logout_session_required"] = json!(true);
    let provider = TestProvider::start(config);
    let browser = Browser::new();
    let (tokens, _) = sign_in_and_exchange(&provider, &browser).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let sid = jwt_part(id_token, 1)["sid"].clone();
    assert!(sid.is_string(), "sid in the ID token");

    let mut end = Url::parse(&provider.url("/session/end")).unwrap();
    end.query_pairs_mut()
        .append_pair("id_token_hint", id_token)
        .append_pair("post_logout_redirect_uri", "http://127.0.0.1:1/logged-out")
        .append_pair("state", "bye");
    let confirm = browser.follow_until(end.as_str(), "http://127.0.0.1:1/").await.page();
    assert!(is_logout_page(&confirm), "{}", confirm.body);
    let done = browser.submit_logout_form(&confirm, true).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(
        done.location.as_ref().map(Url::as_str),
        Some("http://127.0.0.1:1/logged-out?state=bye")
    );

    // The provider awaits the back-channel POST before redirecting.
    let tokens_got = got.lock().unwrap().clone();
    assert_eq!(tokens_got.len(), 1, "logs:\n{}", provider.logs());
    let logout = jwt_part(&tokens_got[0], 1);
    assert_eq!(logout["iss"], provider.issuer());
    assert_eq!(logout["aud"], "romgate");
    assert_eq!(logout["sub"], "alice-sub");
    assert_eq!(logout["sid"], sid);
    assert!(logout["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(logout["jti"].is_string() && logout.get("nonce").is_none());

    // The provider session is gone: signing in again asks for the password.
    let (_, challenge) = pkce_pair();
    let meta = discovery(&provider).await;
    let again = browser
        .follow_until(&authorize_url(&meta, &challenge, "a", "b"), CALLBACK)
        .await;
    assert!(matches!(&again, Followed::Page(p) if is_login_page(p)), "{again:?}");

    // The harness endpoint sends one without a browser session.
    let results: Value = reqwest::Client::new()
        .post(provider.url("/__harness/backchannel-logout"))
        .json(&json!({ "sub": "alice-sub", "sid": "some-sid" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(results, json!([{ "client_id": "romgate", "ok": true }]));
    let last = got.lock().unwrap().last().cloned().unwrap();
    assert_eq!(jwt_part(&last, 1)["sid"], "some-sid");
}
