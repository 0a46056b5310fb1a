//! `GET /health/live` and `GET /health/ready`: live without the database,
//! ready only with the database answering with this binary's migrations.

use axum::http::StatusCode;

use crate::util::{TestApp, on_both_engines};

on_both_engines!(live_and_ready_with_a_migrated_database, |app: TestApp| async move {
    let live = app.get("/health/live", &[]).await;
    assert_eq!(live.status, StatusCode::OK);
    assert_eq!(live.json()["status"], "live");
    let ready = app.get("/health/ready", &[]).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text());
    assert_eq!(ready.json()["status"], "ready");
});

#[tokio::test]
async fn without_the_database_it_is_live_but_not_ready() {
    let app = TestApp::new().await;
    app.store().close().await;
    let live = app.get("/health/live", &[]).await;
    assert_eq!(live.status, StatusCode::OK);
    let ready = app.get("/health/ready", &[]).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.error_code(), "database_unavailable");
    assert!(ready.header("retry-after").is_some());
}

#[tokio::test]
async fn a_database_missing_a_migration_is_not_ready() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("romgate.db");
    let app = TestApp::builder().sqlite_file(&file).build().await;
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!("sqlite://{}", file.display()))
        .await
        .expect("connect");
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)")
        .execute(&mut conn)
        .await
        .expect("forget the last migration");
    let ready = app.get("/health/ready", &[]).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.error_code(), "schema_outdated");
    assert_eq!(app.get("/health/live", &[]).await.status, StatusCode::OK);
}
