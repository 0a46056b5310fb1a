//! romgate's files are private to its user: the data directory 0700, the
//! SQLite database (and the -wal and -shm files SQLite makes beside it) and
//! the key file 0600, on new installs and, tightened, on existing ones.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use axum::http::StatusCode;
use romgate::auth::Role;
use romgate::config::DatabaseUrl;
use romgate::store::files::prepare_data_dir;
use romgate::store::{NewUser, Store};

use crate::util::{START, TestApp};

/// The permission bits in octal, as `ls -l` and `chmod` speak them.
fn mode(path: &Path) -> String {
    let mode = std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode();
    format!("{:o}", mode & 0o777)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", path.display()))
}

async fn open(db: &Path) -> Store {
    Store::open(&DatabaseUrl::new(format!("sqlite://{}", db.display())))
        .await
        .expect("SQLite store")
}

fn user(name: &str) -> NewUser {
    NewUser {
        username: name.into(),
        email: None,
        email_trusted: false,
        password_hash: Some("$argon2id$not-a-real-hash".into()),
        role: Role::Viewer,
        enabled: true,
    }
}

#[tokio::test]
async fn a_new_data_directory_and_its_database_are_private() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("srv").join("data");
    prepare_data_dir(&data).expect("data directory");
    assert_eq!(mode(&data), "700");
    assert_eq!(mode(&dir.path().join("srv")), "700", "created parents too");
    let db = data.join("romgate.db");
    let store = open(&db).await;
    store.insert_user(&user("alice"), START).await.expect("insert");
    assert_eq!(mode(&db), "600");
    // SQLite gives its write-ahead log and shared-memory index the database
    // file's mode; they exist while the database is open.
    for suffix in ["-wal", "-shm"] {
        assert_eq!(mode(&with_suffix(&db, suffix)), "600", "{suffix}");
    }
    store.close().await;
}

#[tokio::test]
async fn an_existing_database_open_to_others_is_made_private() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("romgate.db");
    let store = open(&db).await;
    store.insert_user(&user("alice"), START).await.expect("insert");
    store.close().await;
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let store = open(&db).await;
    assert_eq!(mode(&db), "600");
    assert!(
        store.find_user_by_username("alice").await.expect("query").is_some(),
        "the data is kept"
    );
    store.close().await;
}

#[tokio::test]
async fn an_existing_data_directory_is_left_as_it_is() {
    // It may be shared on purpose (a warning names it); only romgate's own
    // files are changed.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o750)).expect("chmod");
    prepare_data_dir(dir.path()).expect("exists");
    assert_eq!(mode(dir.path()), "750");
}

#[tokio::test]
async fn an_existing_key_file_keeps_working_and_is_made_private() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("auth_secret_key");
    std::fs::write(&key, "key-from-an-existing-install\n").expect("key file");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let app = TestApp::builder()
        .data_dir(dir.path())
        .without_secret_key()
        .build()
        .await;
    let (_, browser) = app.signed_in("alice", Role::Viewer).await;
    assert_eq!(mode(&key), "600");
    // The same key given explicitly accepts the session: the file's key is the one used.
    let same_key = TestApp::builder()
        .data_dir(dir.path())
        .env("ROMM_AUTH_SECRET_KEY", "key-from-an-existing-install")
        .build()
        .await;
    let me = same_key
        .as_browser(&browser, axum::http::Method::GET, "/api/users/me", None)
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
}
