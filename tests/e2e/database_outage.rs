//! The database goes away under a running romgate (a PostgreSQL restart):
//! every request that needs it gets a clean 503 (JSON for the API, a page
//! for browsers) instead of a 500 or a hang, requests that do not need it
//! keep working, and romgate recovers by itself once the database is back,
//! with sessions intact and no restart.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, RETRY_AFTER};

use crate::private_postgres::PrivatePostgres;
use crate::provider::free_port;
use crate::romgate::RomgateServer;

const PASSWORD: &str = "a long password";

/// No answer within romgate's own request deadline (30 s) is a hang.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a client")
}

async fn session_cookie(client: &reqwest::Client, server: &RomgateServer) -> String {
    let response = client
        .post(server.url("/api/login"))
        .basic_auth("root", Some(PASSWORD))
        .send()
        .await
        .expect("romgate answers");
    assert_eq!(response.status(), StatusCode::OK);
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("romm_session="))
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Asserts a 503 with Retry-After, and a JSON `database_unavailable` or an
/// HTML page as asked.
async fn assert_unavailable(response: reqwest::Response, html: bool, what: &str) {
    let status = response.status();
    let retry = response.headers().get(RETRY_AFTER).cloned();
    let kind = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = response.text().await.unwrap_or_default();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{what}: {body}");
    assert!(retry.is_some(), "{what}: Retry-After");
    if html {
        assert!(kind.starts_with("text/html"), "{what}: {kind}");
        assert!(body.contains("cannot reach its database"), "{what}: {body}");
    } else {
        assert!(body.contains(r#""error":"database_unavailable""#), "{what}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs PostgreSQL's server binaries; run with --ignored"]
async fn a_database_restart_costs_clean_503s_and_romgate_recovers_alone() {
    let postgres = PrivatePostgres::start();
    let url = postgres.url();
    let server = RomgateServer::start(free_port(), &[("DATABASE_URL", url.as_str())]);
    server.cli(
        &["user", "create", "root", "--role", "admin", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    let client = client();
    let cookie = session_cookie(&client, &server).await;
    let me = || client.get(server.url("/api/users/me")).header(COOKIE, &cookie);
    assert_eq!(me().send().await.expect("answers").status(), StatusCode::OK);
    let heartbeat = || client.get(server.url("/api/heartbeat"));
    assert_eq!(heartbeat().send().await.expect("answers").status(), StatusCode::OK);

    postgres.down();
    // Twice each: the first meets the pool's broken connections, the
    // second finds no server at all.
    for _ in 0..2 {
        assert_unavailable(me().send().await.expect("no hang"), false, "a session's API call").await;
        let login = client
            .post(server.url("/api/login"))
            .basic_auth("root", Some(PASSWORD))
            .send()
            .await
            .expect("no hang");
        assert_unavailable(login, false, "a password login").await;
        let grant = client
            .post(server.url("/api/token"))
            .form(&[("grant_type", "password"), ("username", "root"), ("password", PASSWORD)])
            .send()
            .await
            .expect("no hang");
        let status = grant.status();
        let body = grant.text().await.unwrap_or_default();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(body.contains(r#""error":"temporarily_unavailable""#), "{body}");
        let page = client
            .get(server.url("/library"))
            .header(COOKIE, &cookie)
            .send()
            .await
            .expect("no hang");
        assert_unavailable(page, true, "the library page").await;
    }
    // Once it has seen an administrator, the heartbeat needs no database.
    let beat = heartbeat().send().await.expect("no hang");
    assert_eq!(beat.status(), StatusCode::OK);

    postgres.up();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = me().send().await.expect("no hang").status();
        if status == StatusCode::OK {
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "only 503 while it comes back");
        assert!(Instant::now() < deadline, "romgate did not recover on its own");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let login = client
        .post(server.url("/api/login"))
        .basic_auth("root", Some(PASSWORD))
        .send()
        .await
        .expect("answers");
    assert_eq!(login.status(), StatusCode::OK, "password sign-in works again");
}
