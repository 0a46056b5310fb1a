//! Client tokens across instances (SPEC 1 and 8.2): a pairing code made on
//! instance A is exchanged on instance B, and the new secret works on A at
//! once while the old one does not; the state lives in the shared database.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::cluster::{Cluster, me_by_bearer, token};
use crate::romgate::RomgateServer;

const PASSWORD: &str = "a long password";

async fn call(
    server: &RomgateServer,
    method: reqwest::Method,
    path: &str,
    bearer: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .request(method, server.url(path))
        .bearer_auth(bearer);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("romgate answers");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs PostgreSQL; run with --ignored"]
async fn a_code_paired_on_a_exchanges_on_b_and_the_new_token_works_on_a() {
    let cluster = Cluster::start(&[]).await;
    cluster.create_user("alice", "viewer", PASSWORD);
    let (status, grant) = token(
        &cluster.a,
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{grant}");
    let access = grant["access_token"].as_str().expect("access token").to_string();

    let body = json!({"name": "living room", "scopes": ["me.read", "roms.read"], "expires_in": "90d"});
    let (status, created) = call(
        &cluster.a,
        reqwest::Method::POST,
        "/api/client-tokens",
        &access,
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().expect("id");
    let old = created["raw_token"].as_str().expect("raw token").to_string();
    assert!(me_by_bearer(&cluster.b, &old).await.is_ok(), "A's token works on B");

    let (status, paired) = call(
        &cluster.a,
        reqwest::Method::POST,
        &format!("/api/client-tokens/{id}/pair"),
        &access,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{paired}");
    let code = paired["code"].as_str().expect("code").to_string();
    let status_on_b = |code: String| {
        let url = cluster.b.url(&format!("/api/client-tokens/pair/{code}/status"));
        async move { reqwest::get(url).await.expect("answer").status() }
    };
    assert_eq!(status_on_b(code.clone()).await, StatusCode::OK, "B sees A's code");

    let exchanged = reqwest::Client::new()
        .post(cluster.b.url("/api/client-tokens/exchange"))
        .json(&json!({"code": format!("{}-{}", &code[..4], &code[4..])}))
        .send()
        .await
        .expect("answer");
    assert_eq!(exchanged.status(), StatusCode::OK);
    let exchanged: Value = exchanged.json().await.expect("JSON");
    assert_eq!(exchanged["id"], id);
    let new = exchanged["raw_token"].as_str().expect("raw token").to_string();

    let me = me_by_bearer(&cluster.a, &new).await.expect("the new token works on A");
    assert_eq!(me["username"], "alice");
    assert_eq!(
        me_by_bearer(&cluster.a, &old).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        me_by_bearer(&cluster.b, &old).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    assert_eq!(status_on_b(code.clone()).await, StatusCode::NOT_FOUND, "used up");
    let again = reqwest::Client::new()
        .post(cluster.a.url("/api/client-tokens/exchange"))
        .json(&json!({"code": code}))
        .send()
        .await
        .expect("answer");
    assert_eq!(again.status(), StatusCode::NOT_FOUND, "spent on B means spent on A");
}
