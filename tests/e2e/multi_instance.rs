//! Several instances on one PostgreSQL (SPEC section 1, scale-out): two
//! romgate processes, A and B, share one fresh database. Whatever one of
//! them records (a session, a logout, a spent refresh token, a failed
//! login, a disabled account, the first admin) the other sees at its next
//! request. Single sign-on across instances is in `multi_instance_sso`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::cluster::{Cluster, TestDatabase, cookie, me_by_bearer, me_by_session, password_login, token};
use crate::provider::free_port;
use crate::romgate::RomgateServer;

const PASSWORD: &str = "a long password";

/// A password grant on `server`: (access token, refresh token).
async fn password_grant(server: &RomgateServer, username: &str) -> (String, String) {
    let form = [
        ("grant_type", "password"),
        ("username", username),
        ("password", PASSWORD),
    ];
    let (status, body) = token(server, &form).await;
    assert_eq!(status, StatusCode::OK, "password grant: {body}");
    pair(&body)
}

fn pair(body: &Value) -> (String, String) {
    let text = |k: &str| body[k].as_str().unwrap_or_else(|| panic!("{k} in {body}")).to_string();
    (text("access_token"), text("refresh_token"))
}

async fn refresh(server: &RomgateServer, refresh_token: &str) -> (StatusCode, Value) {
    token(
        server,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Node.js; run with --ignored"]
async fn a_session_from_a_is_valid_on_b_and_a_logout_on_b_ends_it_on_a() {
    let cluster = Cluster::start(&[]).await;
    cluster.create_user("root", "admin", PASSWORD);
    let browser = Browser::new();
    let login = password_login(&browser, &cluster.a, "root", PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    let session = cookie(&browser, &cluster.a, "romm_session").expect("session cookie");

    // Both hosts are 127.0.0.1, so the browser sends A's cookie to B too.
    for server in [&cluster.b, &cluster.a] {
        let me = me_by_session(server, &session).await.expect("signed in");
        assert_eq!(me["username"], "root", "on {}", server.port);
    }

    // An instance with another ROMM_AUTH_SECRET_KEY hashes tokens
    // differently: the same database, yet it recognises none of them.
    let stranger = cluster.another(&[("ROMM_AUTH_SECRET_KEY", "another-secret-key")]);
    assert_eq!(
        me_by_session(&stranger, &session).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    let own = password_login(&Browser::new(), &stranger, "root", PASSWORD).await;
    assert_eq!(own.status, StatusCode::OK, "same database: {}", own.body);
    drop(stranger);

    // Logout on B, with the CSRF token a browser would send.
    browser.get(&cluster.b.url("/api/heartbeat")).await;
    let csrf = cookie(&browser, &cluster.b, "romm_csrftoken").expect("csrf cookie");
    let logout = browser
        .client()
        .post(cluster.b.url("/api/logout"))
        .header("x-csrftoken", csrf)
        .send()
        .await
        .expect("answer");
    assert_eq!(logout.status(), StatusCode::OK);
    assert_eq!(logout.json::<Value>().await.expect("json"), Value::Null);

    // The session itself is gone, not just the browser's cookie.
    assert_eq!(
        me_by_session(&cluster.a, &session).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        me_by_session(&cluster.b, &session).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Node.js; run with --ignored"]
async fn a_refresh_token_rotated_on_a_cannot_be_reused_on_b() {
    let cluster = Cluster::start(&[]).await;
    cluster.create_user("root", "admin", PASSWORD);
    let (_, first_refresh) = password_grant(&cluster.a, "root").await;
    let (status, body) = refresh(&cluster.a, &first_refresh).await;
    assert_eq!(status, StatusCode::OK, "rotation on A: {body}");
    let (access, second_refresh) = pair(&body);
    assert!(
        me_by_bearer(&cluster.b, &access).await.is_ok(),
        "A's access token works on B"
    );

    let (status, body) = refresh(&cluster.b, &first_refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");

    // The reuse revoked the whole family, on both instances.
    let (status, body) = refresh(&cluster.a, &second_refresh).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert_eq!(
        me_by_bearer(&cluster.a, &access).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        me_by_bearer(&cluster.b, &access).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Node.js; run with --ignored"]
async fn failed_logins_are_counted_on_both_instances_together() {
    let cluster = Cluster::start(&[]).await;
    cluster.create_user("bob", "viewer", PASSWORD);
    let browser = Browser::new();
    // 10 failures per username and address per 15 minutes: 5 on A and 5 on B.
    for server in [&cluster.a, &cluster.b] {
        for _ in 0..5 {
            let refused = password_login(&browser, server, "bob", "wrong password").await;
            assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
        }
    }
    // Counted per instance, each would be at 5 and let the right password in.
    for server in [&cluster.a, &cluster.b] {
        let limited = password_login(&browser, server, "bob", PASSWORD).await;
        assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS, "{}", limited.body);
        let retry_after: u64 = limited
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .expect("a Retry-After in seconds");
        assert!((1..=900).contains(&retry_after), "Retry-After: {retry_after}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Node.js; run with --ignored"]
async fn a_user_disabled_through_a_is_refused_on_b_at_the_next_request() {
    let cluster = Cluster::start(&[]).await;
    cluster.create_user("root", "admin", PASSWORD);
    cluster.create_user("bob", "viewer", PASSWORD);
    cluster.create_user("carol", "viewer", PASSWORD);
    let browser = Browser::new();
    assert_eq!(
        password_login(&browser, &cluster.b, "bob", PASSWORD).await.status,
        StatusCode::OK
    );
    let session = cookie(&browser, &cluster.b, "romm_session").expect("session");
    let (access, refresh_token) = password_grant(&cluster.b, "bob").await;
    let bob = me_by_session(&cluster.b, &session).await.expect("bob signed in on B");
    assert!(me_by_bearer(&cluster.b, &access).await.is_ok());

    let (admin, _) = password_grant(&cluster.a, "root").await;
    let disabled = reqwest::Client::new()
        .put(cluster.a.url(&format!("/api/users/{}", bob["id"])))
        .bearer_auth(&admin)
        .json(&json!({"enabled": false}))
        .send()
        .await
        .expect("answer");
    assert_eq!(disabled.status(), StatusCode::OK);

    assert_eq!(
        me_by_session(&cluster.b, &session).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        me_by_bearer(&cluster.b, &access).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    let (status, body) = refresh(&cluster.b, &refresh_token).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let refused = password_login(&Browser::new(), &cluster.b, "bob", PASSWORD).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.body.contains("account_disabled"), "{}", refused.body);

    // The CLI (here with B's settings) is seen by A just the same.
    let (carol_access, _) = password_grant(&cluster.a, "carol").await;
    cluster.b.cli(&["user", "disable", "carol"], "");
    assert_eq!(
        me_by_bearer(&cluster.a, &carol_access).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    let refused = password_login(&Browser::new(), &cluster.a, "carol", PASSWORD).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Node.js; run with --ignored"]
async fn the_first_boot_setup_race_across_both_instances_yields_one_admin() {
    let cluster = Cluster::start(&[]).await;
    for server in [&cluster.a, &cluster.b] {
        assert!(setup_needed(server).await, "on {}", server.port);
    }
    let client = reqwest::Client::new();
    let attempts: Vec<_> = (0..20)
        .map(|i| {
            let server = if i % 2 == 0 { &cluster.a } else { &cluster.b };
            let request = client.post(server.url("/api/users")).json(&json!({
                "username": format!("admin{i}"),
                "password": PASSWORD,
                "email": format!("admin{i}@example.test"),
            }));
            tokio::spawn(async move {
                let response = request.send().await.expect("answer");
                (response.status(), response.text().await.unwrap_or_default())
            })
        })
        .collect();
    let mut created = Vec::new();
    for attempt in attempts {
        let (status, body) = attempt.await.expect("task");
        match status {
            StatusCode::CREATED => created.push(serde_json::from_str::<Value>(&body).expect("json")),
            // Too late: the setup was already closed (401), or closed while
            // this one was hashing its password (409).
            StatusCode::UNAUTHORIZED | StatusCode::CONFLICT => {}
            other => panic!("a setup attempt answered {other}: {body}"),
        }
    }
    assert_eq!(created.len(), 1, "exactly one setup succeeds: {created:?}");
    assert_eq!(created[0]["role"], "admin");

    let db = cluster.db.pool().await;
    let users: Vec<(String, String)> = sqlx::query_as("SELECT username, role FROM users")
        .fetch_all(&db)
        .await
        .expect("users");
    assert_eq!(
        users,
        vec![(
            created[0]["username"].as_str().unwrap_or_default().to_string(),
            "admin".into()
        )]
    );
    for server in [&cluster.a, &cluster.b] {
        assert!(!setup_needed(server).await, "on {}", server.port);
    }
}

async fn setup_needed(server: &RomgateServer) -> bool {
    let heartbeat: Value = reqwest::get(server.url("/api/heartbeat"))
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    heartbeat["SETUP"]["NEEDED"].as_bool().expect("SETUP.NEEDED")
}

/// sqlx's key for its migration lock (`pg_advisory_lock`) on a database:
/// `0x3d32ad9e * crc32(database name)` (sqlx-postgres `generate_lock_id`).
fn migration_lock_id(database: &str) -> i64 {
    let mut crc = !0u32;
    for byte in database.bytes() {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    0x3d32_ad9e * i64::from(!crc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Node.js; run with --ignored"]
async fn both_instances_started_at_once_migrate_a_fresh_database_one_after_the_other() {
    assert_eq!(
        migration_lock_id("123456789") / 0x3d32_ad9e,
        0xCBF4_3926,
        "CRC-32 check value"
    );
    let db = TestDatabase::create().await;
    let pool = db.pool().await;
    let lock = migration_lock_id(&db.name);
    // Hold sqlx's migration lock: both instances must queue behind it.
    let mut holder = pool.acquire().await.expect("connection");
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(lock)
        .execute(&mut *holder)
        .await
        .expect("lock");

    let env = [("DATABASE_URL", db.url.as_str())];
    let mut servers = [free_port(), free_port()].map(|port| RomgateServer::spawn(port, &env));
    wait_for_lock_waiters(&pool, lock, &mut servers).await;
    let tables: Option<String> = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
        .fetch_one(&pool)
        .await
        .expect("query");
    assert_eq!(tables, None, "nothing is migrated while the lock is held");
    for server in &mut servers {
        assert!(
            server.is_running() && !server.is_listening(),
            "{} waits for the lock",
            server.port
        );
    }

    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(lock)
        .execute(&mut *holder)
        .await
        .expect("unlock");
    drop(holder);
    tokio::task::block_in_place(|| servers.iter_mut().for_each(RomgateServer::wait_ready));

    // Every migration applied exactly once, successfully.
    let applied: Vec<(i64, bool)> = sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&pool)
        .await
        .expect("migrations table");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/store/migrations/postgres");
    let files = std::fs::read_dir(dir).expect("migrations").count();
    assert_eq!(applied.len(), files, "{applied:?}");
    assert!(applied.iter().all(|(_, ok)| *ok), "{applied:?}");
    // Both serve the migrated schema.
    let [a, b] = &servers;
    let created = reqwest::Client::new()
        .post(a.url("/api/users"))
        .json(&json!({"username": "root", "password": PASSWORD}))
        .send()
        .await
        .expect("answer");
    assert_eq!(created.status(), StatusCode::CREATED);
    assert!(!setup_needed(b).await);
    pool.close().await;
}

/// Waits (up to a minute) until every server waits for advisory lock `key`;
/// panics at once if one of them exits instead.
async fn wait_for_lock_waiters(pool: &sqlx::PgPool, key: i64, servers: &mut [RomgateServer]) {
    const WAITING: &str = "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted \
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
        AND ((classid::bigint << 32) | objid::bigint) = $1";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let waiting: i64 = sqlx::query_scalar(WAITING)
            .bind(key)
            .fetch_one(pool)
            .await
            .expect("pg_locks");
        if waiting == servers.len() as i64 {
            return;
        }
        for server in servers.iter_mut() {
            assert!(
                server.is_running(),
                "romgate on {} exited instead of waiting for the lock",
                server.port
            );
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{waiting} of {} instances queued for sqlx's migration lock: is it still taken, with this key?",
            servers.len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
