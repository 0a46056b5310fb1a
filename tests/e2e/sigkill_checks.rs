//! What the SIGKILL test checks behind the API: the database's integrity
//! and its rows, and the library folder's files.

use std::path::Path;

use sqlx::{Connection, PgConnection, SqliteConnection};

use crate::fault_support::content;
use crate::sigkill::Acked;

/// Rows that would point at nothing, or a token pair written by half.
const ORPHANS: &[(&str, &str)] = &[
    (
        "an access token without its family's refresh token",
        "SELECT COUNT(*) FROM access_tokens a WHERE NOT EXISTS \
         (SELECT 1 FROM refresh_tokens r WHERE r.family_id = a.family_id)",
    ),
    (
        "an access token of no user",
        "SELECT COUNT(*) FROM access_tokens a WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = a.user_id)",
    ),
    (
        "a refresh token of no user",
        "SELECT COUNT(*) FROM refresh_tokens r WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = r.user_id)",
    ),
    (
        "a session of no user",
        "SELECT COUNT(*) FROM sessions s WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = s.user_id)",
    ),
    (
        "a ROM of no platform",
        "SELECT COUNT(*) FROM roms r WHERE NOT EXISTS (SELECT 1 FROM platforms p WHERE p.id = r.platform_id)",
    ),
];

/// The engine's own check, then no orphan rows, and every acknowledged
/// user present.
pub async fn check_database(url: &str, acked: &Acked) {
    if url.starts_with("sqlite:") {
        let mut db = SqliteConnection::connect(url).await.expect("the SQLite file");
        let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&mut db)
            .await
            .expect("integrity_check");
        assert_eq!(integrity, "ok");
        let broken: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
            .fetch_all(&mut db)
            .await
            .expect("foreign_key_check");
        assert!(broken.is_empty(), "foreign keys: {broken:?}");
        for (what, sql) in ORPHANS {
            let count: i64 = sqlx::query_scalar(sql).fetch_one(&mut db).await.expect(what);
            assert_eq!(count, 0, "{what}");
        }
        for name in &acked.users {
            let found: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE username = $1")
                .bind(name)
                .fetch_one(&mut db)
                .await
                .expect("users");
            assert_eq!(found, 1, "{name}");
        }
    } else {
        // PostgreSQL's own crash safety is not romgate's to prove; its
        // rows are.
        let mut db = PgConnection::connect(url).await.expect("PostgreSQL");
        for (what, sql) in ORPHANS {
            let count: i64 = sqlx::query_scalar(sql).fetch_one(&mut db).await.expect(what);
            assert_eq!(count, 0, "{what}");
        }
        for name in &acked.users {
            let found: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE username = $1")
                .bind(name)
                .fetch_one(&mut db)
                .await
                .expect("users");
            assert_eq!(found, 1, "{name}");
        }
    }
}

/// Every file under a final name in the platform folder is whole (an
/// unfinished upload only ever has a hidden temporary name).
pub fn check_library(library: &Path, acked: &Acked) {
    let folder = library.join("roms/snes");
    for entry in std::fs::read_dir(&folder).expect("the platform folder").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let seed = seed_of(&name).unwrap_or_else(|| panic!("an unexpected file {name}"));
        let bytes = std::fs::read(entry.path()).expect("a file");
        assert!(
            bytes == content(seed, bytes.len()) && bytes.len() == crate::sigkill::UPLOAD_BYTES,
            "{name} is torn"
        );
    }
    for name in acked.uploads.keys() {
        assert!(folder.join(name).is_file(), "{name} was acknowledged");
    }
}

/// `w{worker}-{n}.bin` → the content seed its writer used.
fn seed_of(name: &str) -> Option<u64> {
    let (worker, n) = name.strip_prefix('w')?.strip_suffix(".bin")?.split_once('-')?;
    Some(worker.parse::<u64>().ok()? * 100_000 + n.parse::<u64>().ok()?)
}
