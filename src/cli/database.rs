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
use crate::store::files::{self, DatabaseLock, LockKind};

/// What to do when the SQLite database file does not exist.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Missing {
    Create,
    Refuse,
}

/// Names the database on standard error (one line, password redacted), then
/// opens it, holding the lock a restore checks (`lock_sqlite_database`) as
/// long as the lock returned lives. `serve` does not call this: its log
/// line names the database.
pub(super) async fn open_announced(
    config: &Config,
    missing: Missing,
) -> Result<(Store, Option<DatabaseLock>), AppError> {
    eprintln!("database: {}", config.database.redacted());
    if missing == Missing::Refuse && !config.database.is_postgres() {
        refuse_a_missing_file(&config.database)?;
    }
    let lock = lock_sqlite_database(config)?;
    Ok((open_store(config, missing).await?, lock))
}

/// The lock a restore checks (`store::files::lock_database`), held for as
/// long as the server or a command uses a SQLite database file: a restore
/// must not replace the file under them (their writes would go to the file
/// moved aside). A restore in progress stops the start or the command; a lock that cannot be taken at all (a
/// read-only folder) is a warning: the database reports the real problem.
pub(super) fn lock_sqlite_database(config: &Config) -> Result<Option<DatabaseLock>, AppError> {
    if config.database.is_postgres() {
        return Ok(None);
    }
    let Some(db) = sqlite_file(&config.database) else {
        return Ok(None);
    };
    if let Some(dir) = db.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        let _ = files::prepare_data_dir(dir);
    }
    match files::lock_database(&db, LockKind::Serving) {
        Ok(Some(lock)) => Ok(Some(lock)),
        Ok(None) => Err(AppError::internal(format!(
            "`romgate restore` is replacing {}; run this again once it has finished",
            db.display()
        ))),
        Err(err) => {
            tracing::warn!(path = %db.display(), error = %err, "cannot take the database lock; `romgate restore` cannot tell that this server runs");
            Ok(None)
        }
    }
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

/// The file a SQLite URL names; `None` for a PostgreSQL URL, an in-memory
/// database or a URL sqlx cannot read (opening it then reports the
/// problem).
pub(super) fn sqlite_file(url: &DatabaseUrl) -> Option<PathBuf> {
    let raw = url.expose();
    if url.is_postgres() || raw.contains(":memory:") || raw.contains("mode=memory") {
        return None;
    }
    let options = SqliteConnectOptions::from_str(raw).ok()?;
    Some(options.get_filename().to_path_buf())
}
