//! Opening the server's database from the command line. Only `serve` and
//! `user create` (the documented way in on a fresh install) may create a
//! SQLite database; every other command refuses a file that is not there, so
//! one run from the wrong directory does not work on a new, empty database.
//! A PostgreSQL database exists or not by its server: romgate never creates
//! one, and those commands do not bring the tables into an empty one either.

use std::path::PathBuf;
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, PgConnection};

use super::refused;
use crate::config::{Config, DatabaseUrl};
use crate::error::AppError;
use crate::store::Store;

/// What to do when the SQLite database file does not exist.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Missing {
    Create,
    Refuse,
}

/// Names the database on standard error (one line, password redacted), then
/// opens it. `serve` does not call this: its log line names the database.
pub(super) async fn open_announced(config: &Config, missing: Missing) -> Result<Store, AppError> {
    eprintln!("database: {}", config.database.redacted());
    open_store(config, missing).await
}

pub(super) async fn open_store(config: &Config, missing: Missing) -> Result<Store, AppError> {
    if config.database.is_postgres() {
        if missing == Missing::Refuse {
            refuse_an_empty_postgres(&config.database).await?;
        }
    } else {
        if missing == Missing::Refuse {
            refuse_a_missing_file(&config.database)?;
        }
        crate::store::files::prepare_data_dir(&config.data_path)
            .map_err(|e| AppError::internal_from(format!("cannot create {}", config.data_path.display()), e))?;
    }
    Store::open(&config.database)
        .await
        .map_err(|e| AppError::internal_from(format!("database {}", config.database.redacted()), e))
}

pub(super) fn refuse_a_missing_file(url: &DatabaseUrl) -> Result<(), AppError> {
    let Some(file) = sqlite_file(url) else {
        return Ok(());
    };
    if file.is_file() {
        return Ok(());
    }
    let shown = std::path::absolute(&file).unwrap_or(file);
    Err(refused(format!(
        "there is no database at {} (this command does not create one)",
        shown.display()
    ))
    .hint(
        "Run romgate from the directory that holds the server's data/ folder, or set ROMM_DATA_PATH to that \
         folder (or DATABASE_URL to the server's database). `romgate serve` or `romgate user create` starts \
         a new one.",
    ))
}

/// A PostgreSQL database without romgate's tables is a new one (or the
/// wrong one): the commands that only read or change users leave it as it
/// is rather than bring the schema in. A plain connection, not the store:
/// opening the store migrates.
async fn refuse_an_empty_postgres(url: &DatabaseUrl) -> Result<(), AppError> {
    let context = || format!("database {}", url.redacted());
    let mut conn = PgConnection::connect(url.expose())
        .await
        .map_err(|e| AppError::internal_from(context(), e))?;
    let users: Option<String> = sqlx::query_scalar("SELECT to_regclass('users')::text")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| AppError::internal_from(context(), e))?;
    let _ = conn.close().await;
    if users.is_some() {
        return Ok(());
    }
    Err(refused(format!(
        "the database {} has no romgate tables (this command does not create them)",
        url.redacted()
    ))
    .hint(
        "Set DATABASE_URL to the server's database. `romgate serve` or `romgate user create` brings a new \
                 database's tables in.",
    ))
}

/// The file a SQLite URL names; `None` for an in-memory database or a URL
/// sqlx cannot read (opening it then reports the problem).
pub(super) fn sqlite_file(url: &DatabaseUrl) -> Option<PathBuf> {
    let raw = url.expose();
    if raw.contains(":memory:") || raw.contains("mode=memory") {
        return None;
    }
    let options = SqliteConnectOptions::from_str(raw).ok()?;
    Some(options.get_filename().to_path_buf())
}
