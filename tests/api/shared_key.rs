//! The generated secret key is shared by every instance on one PostgreSQL:
//! without ROMM_AUTH_SECRET_KEY, a session or token made on one instance is
//! accepted by the others. An explicit key always wins.

use axum::http::{Method, StatusCode};
use romgate::auth::Role;
use romgate::secret::Secret;

use crate::util::{PASSWORD, START, TestApp, hex_id, on_both_engines};

/// Two instances (each its own data directory) on one PostgreSQL schema.
async fn instance(schema: &str) -> TestApp {
    TestApp::builder()
        .postgres_schema(schema)
        .without_secret_key()
        .build()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "PostgreSQL suite: needs TEST_DATABASE_URL, run with --include-ignored"]
async fn instances_without_a_key_on_one_postgres_accept_each_others_sessions() {
    let schema = format!("t_{}", hex_id());
    // One after the other: concurrent CREATE SCHEMA IF NOT EXISTS can
    // collide (the concurrent first insert is `the_first_stored_secret_wins`).
    let first = instance(&schema).await;
    let second = instance(&schema).await;
    let (_, browser) = first.signed_in("alice", Role::Viewer).await;
    let me = second.as_browser(&browser, Method::GET, "/api/users/me", None).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    let token = second.token("alice", PASSWORD, "me.read").await.json();
    let bearer = token["access_token"].as_str().expect("access token");
    let me = first.with_bearer(Method::GET, "/api/users/me", bearer, None).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    // A third instance started later reads the same key.
    let third = instance(&schema).await;
    let me = third.as_browser(&browser, Method::GET, "/api/users/me", None).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    // An explicit key wins over the shared one: its instance knows none of those sessions.
    let explicit = TestApp::builder()
        .postgres_schema(&schema)
        .env("ROMM_AUTH_SECRET_KEY", "an-explicit-key")
        .build()
        .await;
    let me = explicit.as_browser(&browser, Method::GET, "/api/users/me", None).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED, "{}", me.text());
}

on_both_engines!(the_first_stored_secret_wins, |app: TestApp| async move {
    let store = app.store().clone();
    let candidates: Vec<Secret> = (0..8).map(|n| Secret::new(format!("candidate-{n}"))).collect();
    let racing = candidates.iter().map(|candidate| {
        let store = store.clone();
        let candidate = candidate.clone();
        tokio::spawn(async move { store.shared_secret("race", &candidate, START).await })
    });
    let results: Vec<_> = futures_join(racing).await;
    let inserted = results.iter().filter(|r| r.inserted).count();
    assert_eq!(inserted, 1, "exactly one caller stores its candidate");
    let first = &results[0].value;
    assert!(
        results.iter().all(|r| r.value == *first),
        "every caller gets the stored one"
    );
    assert!(candidates.contains(first));
    let later = store
        .shared_secret("race", &Secret::new("too-late"), START + 1)
        .await
        .expect("read");
    assert!(!later.inserted && later.value == *first);
});

async fn futures_join<T: Send + 'static>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<Result<T, romgate::store::StoreError>>>,
) -> Vec<T> {
    let mut out = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        out.push(handle.await.expect("task").expect("store"));
    }
    out
}
