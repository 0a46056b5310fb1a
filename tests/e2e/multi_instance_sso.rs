//! Single sign-on across two instances on one PostgreSQL, with the real
//! provider: a sign-in started on A finishes on B (and is spent for A too;
//! a stranger's browser opening its callback takes nothing),
//! a back-channel logout delivered to A ends sessions made on B, and two
//! first sign-ins of one person at the same moment make one account.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::cluster::{Cluster, cookie, me_by_session, sign_in_started_on, with_port};
use crate::scenario::{account, assert_refused, assert_signed_in, me};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Node.js; run with --ignored"]
async fn a_sign_in_started_on_a_finishes_on_b_and_its_replay_on_a_fails() {
    let cluster = Cluster::start_sso(|_| {}, &[]).await;
    cluster.a.create_admin("root", "root@example.test");
    let browser = Browser::new();
    let callback = sign_in_started_on(&browser, &cluster.a, &cluster, "alice").await;
    assert_eq!(callback.port(), Some(cluster.a.port), "the provider redirects to A");

    let on_b = with_port(&callback, cluster.b.port);
    assert_signed_in(&browser.get(on_b.as_str()).await);
    let session = cookie(&browser, &cluster.b, "romm_session").expect("session");
    for server in [&cluster.b, &cluster.a] {
        let me = me_by_session(server, &session).await.expect("signed in");
        assert_eq!(me["username"], "alice", "on {}", server.port);
    }

    // The attempt was consumed on B: the same callback on A is a replay.
    let replay = browser.get(callback.as_str()).await;
    assert_refused(&replay, StatusCode::BAD_REQUEST, "state_unknown");

    // B checks the browser binding A made: without A's cookie it refuses.
    let other = Browser::new();
    let callback = sign_in_started_on(&other, &cluster.a, &cluster, "alice").await;
    let stranger = Browser::new();
    let refused = stranger.get(with_port(&callback, cluster.b.port).as_str()).await;
    assert_refused(&refused, StatusCode::BAD_REQUEST, "state_mismatch");
    // The stranger's refusal took nothing: the browser that started the
    // sign-in still finishes it.
    assert_signed_in(&other.get(with_port(&callback, cluster.b.port).as_str()).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Node.js; run with --ignored"]
async fn a_back_channel_logout_delivered_to_a_ends_the_sessions_made_on_b() {
    let cluster = Cluster::start_sso(|_| {}, &[]).await;
    cluster.a.create_admin("root", "root@example.test");
    let (laptop, phone) = (Browser::new(), Browser::new());
    let mut sessions = Vec::new();
    for browser in [&laptop, &phone] {
        let callback = sign_in_started_on(browser, &cluster.b, &cluster, "alice").await;
        assert_signed_in(&browser.get(with_port(&callback, cluster.b.port).as_str()).await);
        sessions.push(cookie(browser, &cluster.b, "romm_session").expect("session"));
        assert!(me(browser, &cluster.b).await.is_ok());
    }

    // The client's back-channel logout URI is A's: A gets the logout token.
    let registered = &cluster.provider().config()["clients"][0]["backchannel_logout_uri"];
    assert_eq!(
        registered.as_str(),
        Some(cluster.a.url("/api/oauth/openid/backchannel-logout").as_str())
    );
    let deliveries: Value = reqwest::Client::new()
        .post(cluster.provider().url("/__harness/backchannel-logout"))
        .json(&json!({"sub": "alice-sub"}))
        .send()
        .await
        .expect("harness")
        .json()
        .await
        .expect("json");
    assert_eq!(deliveries, json!([{"client_id": "romgate", "ok": true}]));

    for session in &sessions {
        for server in [&cluster.b, &cluster.a] {
            assert_eq!(
                me_by_session(server, session).await.err(),
                Some(StatusCode::UNAUTHORIZED)
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Node.js; run with --ignored"]
async fn simultaneous_first_sign_ins_of_one_person_on_a_and_b_make_one_account() {
    const PEOPLE: [&str; 3] = ["pat", "quinn", "robin"];
    let people = |config: &mut Value| {
        let accounts = config["accounts"].as_array_mut().expect("accounts");
        for sub in PEOPLE {
            let claims =
                json!({"email": format!("{sub}@example.test"), "email_verified": true, "preferred_username": sub});
            accounts.push(account(sub, claims));
        }
    };
    let cluster = Cluster::start_sso(people, &[]).await;
    cluster.a.create_admin("root", "root@example.test");
    let db = cluster.db.pool().await;
    // Several people, so the race is run more than once.
    for person in PEOPLE {
        let (on_a, on_b) = (Browser::new(), Browser::new());
        let to_a = sign_in_started_on(&on_a, &cluster.a, &cluster, person).await;
        let to_b = with_port(
            &sign_in_started_on(&on_b, &cluster.b, &cluster, person).await,
            cluster.b.port,
        );
        // Both callbacks at once: each exchanges its code, finds no account
        // and tries to create one.
        let (first, second) = tokio::join!(on_a.get(to_a.as_str()), on_b.get(to_b.as_str()));
        assert_signed_in(&first);
        assert_signed_in(&second);
        let me_a = me(&on_a, &cluster.a).await.expect("signed in on A");
        let me_b = me(&on_b, &cluster.b).await.expect("signed in on B");
        assert_eq!((&me_a["id"], &me_a["username"]), (&me_b["id"], &json!(person)));

        let accounts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE username = $1")
            .bind(person)
            .fetch_one(&db)
            .await
            .expect("users");
        let links: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM identity_links WHERE subject = $1")
            .bind(person)
            .fetch_one(&db)
            .await
            .expect("links");
        assert_eq!((accounts, links), (1, 1), "{person}");
    }
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&db)
        .await
        .expect("users");
    assert_eq!(total, 1 + PEOPLE.len() as i64);
}
