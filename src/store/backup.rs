//! Copies of a SQLite database, for `romgate backup` and `romgate restore`.
//!
//! - A backup is `VACUUM INTO` a new file: SQLite writes it from one read
//!   transaction, so it is a consistent snapshot even while the server
//!   writes (in WAL mode writers do not wait for it, and it does not see
//!   what they commit after it started). The file is created 0600 first,
//!   and never over an existing one.
//! - A file is restorable when SQLite reads it whole (`quick_check`), it
//!   has romgate's migration table, and every migration it records is one
//!   this binary knows (an older backup is brought up to date at the next
//!   start, as any older database is).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};

use super::{SQLITE_MIGRATIONS, StoreError};
use crate::config::DatabaseUrl;

/// The first 16 bytes of every SQLite database file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// What a candidate for restoring turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inspection {
    /// Not a SQLite database at all.
    NotSqlite,
    /// A SQLite database that SQLite cannot read whole: the detail.
    Damaged(String),
    /// A SQLite database without romgate's tables.
    NotRomgate,
    /// Made by a newer romgate: the migrations this binary does not know.
    Newer(Vec<i64>),
    /// A romgate database: its accounts, and how many of this binary's
    /// migrations it still lacks (applied at the next start).
    Restorable { users: i64, behind: usize },
}

/// Writes a consistent copy of the database at `url` to `dest`, which must
/// not exist. On failure, nothing is left at `dest`.
pub async fn vacuum_into(url: &DatabaseUrl, dest: &Path) -> Result<(), StoreError> {
    super::files::create_private_file(dest).map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
    let copied = copy(url, dest).await;
    if copied.is_err() {
        let _ = std::fs::remove_file(dest);
    }
    copied
}

async fn copy(url: &DatabaseUrl, dest: &Path) -> Result<(), StoreError> {
    let options = SqliteConnectOptions::from_str(url.expose())?
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(10));
    let mut conn = SqliteConnection::connect_with(&options).await?;
    // SQLite writes into an existing file only when it is empty, as the one
    // just created is.
    let result = sqlx::query("VACUUM INTO $1")
        .bind(dest.to_string_lossy().into_owned())
        .execute(&mut conn)
        .await;
    let _ = conn.close().await;
    result?;
    Ok(())
}

/// Looks at `file` without changing it (read-only, immutable).
pub async fn inspect(file: &Path) -> Result<Inspection, StoreError> {
    let mut header = [0u8; 16];
    let read = std::fs::File::open(file).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut header));
    if read.is_err() || &header != SQLITE_HEADER {
        return Ok(Inspection::NotSqlite);
    }
    let options = SqliteConnectOptions::new()
        .filename(file)
        .read_only(true)
        .immutable(true);
    let mut conn = SqliteConnection::connect_with(&options).await?;
    let inspection = inspect_open(&mut conn).await;
    let _ = conn.close().await;
    inspection
}

async fn inspect_open(conn: &mut SqliteConnection) -> Result<Inspection, StoreError> {
    let check: Result<Vec<String>, sqlx::Error> = sqlx::query_scalar("PRAGMA quick_check").fetch_all(&mut *conn).await;
    match check {
        Ok(lines) if lines.iter().all(|line| line == "ok") => {}
        Ok(lines) => return Ok(Inspection::Damaged(lines.join("; "))),
        Err(e) => return Ok(Inspection::Damaged(e.to_string())),
    }
    let applied: Vec<i64> = match sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
        .fetch_all(&mut *conn)
        .await
    {
        Ok(applied) => applied,
        Err(_) => return Ok(Inspection::NotRomgate),
    };
    let newer: Vec<i64> = applied
        .iter()
        .copied()
        .filter(|version| !SQLITE_MIGRATIONS.version_exists(*version))
        .collect();
    if !newer.is_empty() {
        return Ok(Inspection::Newer(newer));
    }
    let Ok(users) = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users")
        .fetch_one(&mut *conn)
        .await
    else {
        return Ok(Inspection::NotRomgate);
    };
    let behind = SQLITE_MIGRATIONS
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .count();
    Ok(Inspection::Restorable { users, behind })
}

/// Folds the write-ahead log of the database at `db` into the file, so the
/// file alone is the whole database before it is moved aside. Call with no
/// server running (see `files::lock_database`).
pub async fn checkpoint(db: &Path) -> Result<(), StoreError> {
    let options = SqliteConnectOptions::new()
        .filename(db)
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(10));
    let mut conn = SqliteConnection::connect_with(&options).await?;
    let result = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut conn).await;
    let _ = conn.close().await;
    result?;
    Ok(())
}
