//! Failed-login limits over real HTTP, on two instances sharing one
//! PostgreSQL: wrong passwords sent to both at the same moment reach the
//! password check no more often than the limit allows, because each attempt
//! is counted in the database before its password is checked.

use reqwest::StatusCode;

use crate::browser::Browser;
use crate::cluster::{Cluster, password_login};

const PASSWORD: &str = "a long password";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Node.js; run with --ignored"]
async fn parallel_guesses_on_both_instances_cost_at_most_the_limit() {
    let cluster = Cluster::start(&[]).await;
    cluster.create_user("bob", "viewer", PASSWORD);
    let client = reqwest::Client::new();
    let mut guesses = tokio::task::JoinSet::new();
    for n in 0..60 {
        let server = if n % 2 == 0 { &cluster.a } else { &cluster.b };
        let request = client
            .post(server.url("/api/login"))
            .basic_auth("bob", Some("wrong password"));
        guesses.spawn(async move { request.send().await.expect("romgate answers").status() });
    }
    let (mut checked, mut refused) = (0, 0);
    while let Some(status) = guesses.join_next().await {
        match status.expect("guess task") {
            // 408: let through to the password check, and still waiting
            // for a hashing lane when the request timed out (what 60
            // debug-build argon2 checks on two lanes did before the fix).
            StatusCode::UNAUTHORIZED | StatusCode::REQUEST_TIMEOUT => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            other => panic!("a wrong password answered {other}"),
        }
    }
    // 10 failures per username and client address (all come from 127.0.0.1).
    assert_eq!((checked, refused), (10, 50), "password checks made, refusals");
    let browser = Browser::new();
    for server in [&cluster.a, &cluster.b] {
        let limited = password_login(&browser, server, "bob", PASSWORD).await;
        assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS, "{}", limited.body);
    }
}
