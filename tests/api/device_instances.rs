//! Device sign-in on several instances sharing one database (SPEC 1): a
//! flow started on one is seen, decided and collected on the others, and
//! racing decisions and polls on two instances still decide and issue once.

use axum::http::{Method, StatusCode};
use romgate::auth::Role;

use crate::device_support::{approve, pending, poll, refusal, start};
use crate::util::TestApp;

/// Two instances on one database: started on one, decided on both at
/// once, collected on the other.
async fn across_instances(a: TestApp, b: TestApp) {
    let (_, browser) = a.signed_in("alice", Role::Viewer).await;
    let started = start(&a, &["me.read"]).await;
    let on_b = pending(&b, &browser, &started.user_code).await;
    assert_eq!(on_b.status, StatusCode::OK, "{}", on_b.text());
    assert_eq!(refusal(&poll(&b, &started.device_code).await), "authorization_pending");
    let (first, second) = tokio::join!(
        approve(&a, &browser, &started.user_code, &["me.read"]),
        approve(&b, &browser, &started.user_code, &["me.read"]),
    );
    let mut statuses = [first.status, second.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::GONE]);
    let (on_a, on_b) = tokio::join!(poll(&a, &started.device_code), poll(&b, &started.device_code));
    let received: Vec<_> = [&on_a, &on_b]
        .into_iter()
        .filter(|r| r.status == StatusCode::OK)
        .collect();
    assert_eq!(received.len(), 1, "{} / {}", on_a.text(), on_b.text());
    let token = received[0].json()["access_token"].as_str().expect("token").to_string();
    for app in [&a, &b] {
        let me = app.with_bearer(Method::GET, "/api/users/me", &token, None).await;
        assert_eq!(me.status, StatusCode::OK);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_on_one_sqlite_file_share_device_sign_ins() {
    let dir = tempfile::tempdir().expect("data dir");
    let a = TestApp::builder().data_dir(dir.path()).build().await;
    let b = TestApp::builder().data_dir(dir.path()).build().await;
    across_instances(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "PostgreSQL suite: needs TEST_DATABASE_URL, run with --include-ignored"]
async fn instances_on_one_postgres_share_device_sign_ins() {
    let schema = format!("t_{}", crate::util::hex_id());
    let a = TestApp::builder().postgres_schema(&schema).build().await;
    let b = TestApp::builder().postgres_schema(&schema).build().await;
    across_instances(a, b).await;
}
