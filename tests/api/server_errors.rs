//! A server-side failure: the client gets a generic 500, the log gets the
//! detail with its chain of causes.

use crate::log_capture::LogCapture;
use crate::util::TestApp;

/// Words of the failure (a table gone from the database) that must stay
/// out of every answer.
const DETAIL: [&str; 4] = ["database", "table", "users", "sqlx"];

#[tokio::test]
async fn a_500_is_generic_and_its_causes_are_logged() {
    let dir = tempfile::tempdir().expect("a folder");
    let file = dir.path().join("broken.db");
    let app = TestApp::builder().sqlite_file(&file).build().await;
    let logs = LogCapture::start();
    // No administrator yet: the heartbeat and the setup page ask the
    // database, whose users table someone dropped by hand.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", file.display()))
        .await
        .expect("the database file opens");
    sqlx::query("DROP TABLE users").execute(&pool).await.expect("dropped");
    pool.close().await;
    for path in ["/api/heartbeat", "/setup"] {
        let response = app.get(path, &[]).await;
        assert_eq!(response.status.as_u16(), 500, "{path}: {}", response.text());
        let body = response.text().to_lowercase();
        assert!(body.contains("something went wrong"), "{path}: {body}");
        for word in DETAIL {
            assert!(!body.contains(word), "{path} shows {word}: {body}");
        }
    }
    let logged = logs.text();
    let lines: Vec<&str> = logged.lines().filter(|l| l.contains("internal error")).collect();
    assert_eq!(lines.len(), 2, "{logged}");
    for line in lines {
        assert!(
            line.contains(
                "a database call failed: database error: error returned from database: (code: 1) no such table: users"
            ),
            "{line}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_database_is_a_503_that_says_to_try_again() {
    let app = TestApp::new().await;
    // No administrator yet: the heartbeat and the setup page ask the
    // database, which can no longer be reached.
    app.store().close().await;
    let api = app.get("/api/heartbeat", &[]).await;
    assert_eq!(api.status.as_u16(), 503, "{}", api.text());
    assert_eq!(api.error_code(), "database_unavailable");
    assert_eq!(api.header("retry-after"), Some("5"));
    let page = app.get("/setup", &[]).await;
    assert_eq!(page.status.as_u16(), 503, "{}", page.text());
    assert!(
        page.text().contains("cannot reach its database right now"),
        "{}",
        page.text()
    );
    assert_eq!(page.header("retry-after"), Some("5"));
}

crate::util::on_both_engines!(
    /// A write whose ROM or platform another request deleted meanwhile
    /// (a link asked for as the ROM is deleted, an upload started as its
    /// platform goes) is a 404, as the next attempt would be, not a 500.
    a_write_whose_row_was_deleted_meanwhile_is_not_found,
    |app: TestApp| async move {
        use romgate::auth::Role;
        use romgate::error::AppError;
        use romgate::store::{NewChunkedUpload, StoreError};

        let alice = app.create_user("alice", Role::Editor).await;
        let now = app.now();
        let gone_rom = app
            .store()
            .insert_download_link("link-hash", alice.id, 999_999, now, now + 60, None)
            .await;
        let upload = NewChunkedUpload {
            id: "00000000-0000-4000-8000-000000000000",
            user_id: alice.id,
            platform_id: 999_999,
            file_name: "Game.bin",
            total_size: 10,
            total_chunks: 1,
        };
        let gone_platform = app.store().insert_chunked_upload(&upload, now, 16).await.map(|_| ());
        for refused in [gone_rom, gone_platform] {
            let Err(err) = refused else {
                panic!("written");
            };
            assert!(matches!(err, StoreError::Vanished(_)), "{err:?}");
            let answer = AppError::from(err);
            assert_eq!(answer.code(), Some(romgate::error::Code::NotFound));
        }
    }
);
