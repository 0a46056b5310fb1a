//! Opening the server's database from the command line. Only `serve` and
//! `user create` (the documented way in on a fresh install) may create a
//! SQLite database; every other command refuses a file that is not there, so
//! one run from the wrong directory does not work on a new, empty database.
//! A PostgreSQL database exists or not by its server: romgate never creates
//! one (it only brings an existing one's schema up to date).

use std::path::PathBuf;
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;

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
    if !config.database.is_postgres() {
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

fn refuse_a_missing_file(url: &DatabaseUrl) -> Result<(), AppError> {
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

/// The file a SQLite URL names; `None` for an in-memory database or a URL
/// sqlx cannot read (opening it then reports the problem).
fn sqlite_file(url: &DatabaseUrl) -> Option<PathBuf> {
    let raw = url.expose();
    if raw.contains(":memory:") || raw.contains("mode=memory") {
        return None;
    }
    let options = SqliteConnectOptions::from_str(raw).ok()?;
    Some(options.get_filename().to_path_buf())
}
