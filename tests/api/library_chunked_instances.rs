//! RomM's chunked upload on two instances sharing one database and one
//! library folder: chunks sent through both, both asked to complete at
//! once; one file, one success.

use axum::http::StatusCode;
use romgate::auth::Role;

use crate::chunked_support::{complete, platform, put_chunk, started};
use crate::library_support::{files_under, library_dir, listed, pattern};
use crate::util::TestApp;

/// Two instances on one database and one library folder: chunks sent
/// through both, both asked to complete at once; one file, one success.
async fn one_upload_on_two_instances(a: TestApp, b: TestApp) {
    let (_, editor) = a.signed_in("eddie", Role::Editor).await;
    let n64 = platform(&a, "n64").await;
    for round in 0..3u8 {
        let name = format!("Shared {round}.z64");
        let file = pattern(5000, round);
        let id = started(&a, &editor, n64, &name, 5000, 5).await;
        for (index, part) in file.chunks(1000).enumerate() {
            let via = if index % 2 == 0 { &b } else { &a };
            let response = put_chunk(via, &editor, &id, index as u64, part.to_vec()).await;
            assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        }
        let (on_a, on_b) = tokio::join!(complete(&a, &editor, &id), complete(&b, &editor, &id));
        let created: Vec<_> = [&on_a, &on_b]
            .into_iter()
            .filter(|r| r.status == StatusCode::CREATED)
            .collect();
        assert_eq!(created.len(), 1, "round {round}: {} / {}", on_a.text(), on_b.text());
        for other in [&on_a, &on_b].into_iter().filter(|r| r.status != StatusCode::CREATED) {
            assert!(
                [StatusCode::CONFLICT, StatusCode::NOT_FOUND].contains(&other.status),
                "{}",
                other.text()
            );
        }
        let on_disk = std::fs::read(library_dir(&a).join("roms/n64").join(&name)).unwrap();
        assert!(on_disk == file, "round {round}: the file is whole");
    }
    assert_eq!(listed(&b, &editor, "").await.len(), 3);
    assert_eq!(
        files_under(&library_dir(&a)).len(),
        3,
        "{:?}",
        files_under(&library_dir(&a))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_sqlite_file_complete_an_upload_once() {
    let dir = tempfile::tempdir().unwrap();
    let library = dir.path().join("library").display().to_string();
    let a = TestApp::builder()
        .data_dir(dir.path())
        .env("ROMM_LIBRARY_PATH", &library)
        .build()
        .await;
    let b = TestApp::builder()
        .data_dir(dir.path())
        .env("ROMM_LIBRARY_PATH", &library)
        .build()
        .await;
    one_upload_on_two_instances(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "PostgreSQL suite: needs TEST_DATABASE_URL, run with --include-ignored"]
async fn two_instances_on_one_postgres_complete_an_upload_once() {
    let dir = tempfile::tempdir().unwrap();
    let library = dir.path().join("library").display().to_string();
    let schema = format!("t_{}", crate::util::hex_id());
    let a = TestApp::builder()
        .postgres_schema(&schema)
        .env("ROMM_LIBRARY_PATH", &library)
        .build()
        .await;
    let b = TestApp::builder()
        .postgres_schema(&schema)
        .env("ROMM_LIBRARY_PATH", &library)
        .build()
        .await;
    one_upload_on_two_instances(a, b).await;
}
