//! `romgate backup FILE` and `romgate restore FILE`, for the SQLite
//! database (PostgreSQL has pg_dump and pg_restore, which know it better).
//!
//! Guarantees: a backup never overwrites a file and is a consistent
//! snapshot taken while the server runs (`store::backup`); a restore puts
//! back only a file that is a romgate database this binary can run, never
//! while a server uses the database (the server holds a lock beside it,
//! see `store::files::lock_database`), and keeps the database it replaces,
//! with its write-ahead log, as `<database>.<time>.bak`.

use std::path::{Path, PathBuf};

use super::database::{refuse_a_missing_file, sqlite_file};
use super::refused;
use crate::clock::{Clock, SystemClock, format_time};
use crate::config::Config;
use crate::error::AppError;
use crate::store::backup::{self, Inspection};
use crate::store::files::{self, LockKind};

pub(super) async fn backup(config: &Config, file: &Path) -> Result<(), AppError> {
    let db = sqlite_database(config, "backup")?;
    refuse_a_missing_file(&config.database)?;
    if file.exists() {
        return Err(refused(format!(
            "{} already exists; a backup never overwrites a file",
            file.display()
        ))
        .hint("Name a new file, for example romgate-$(date +%F).db."));
    }
    eprintln!("database: {}", config.database.redacted());
    backup::vacuum_into(&config.database, file)
        .await
        .map_err(|e| AppError::internal_from(format!("cannot back up {} to {}", db.display(), file.display()), e))?;
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    println!("backed up {} to {} ({size} bytes)", db.display(), file.display());
    if config.auth_secret_key.is_none() {
        println!(
            "keep the key file {} with it: without it every session and token in the backup is void",
            config.data_path.join("auth_secret_key").display()
        );
    }
    Ok(())
}

pub(super) async fn restore(config: &Config, file: &Path) -> Result<(), AppError> {
    let db = sqlite_database(config, "restore")?;
    let inspection = backup::inspect(file)
        .await
        .map_err(|e| AppError::internal_from(format!("cannot read {}", file.display()), e))?;
    let (users, behind) = restorable(file, inspection)?;
    eprintln!("database: {}", config.database.redacted());
    if let Some(dir) = db.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        files::create_private_dir(dir)
            .map_err(|e| AppError::internal_from(format!("cannot create {}", dir.display()), e))?;
    }
    let lock = files::lock_database(&db, LockKind::Replacing)
        .map_err(|e| AppError::internal_from(format!("cannot lock {}", db.display()), e))?;
    let Some(_lock) = lock else {
        return Err(refused(format!("a romgate server is running on {} (or a romgate command is); stop it first", db.display()))
            .hint("Stop the server (systemctl stop romgate, or docker compose stop romgate), let any romgate command finish, run the restore, then start the server again."));
    };
    // The copy first: if it fails (a full disk is the likeliest cause), the
    // database is still where it was. A missing one would make the next
    // start create an empty database, with the first-admin setup open.
    let partial = copy_beside(file, &db)?;
    let kept = match move_aside(&db).await {
        Ok(kept) => kept,
        Err(err) => {
            let _ = std::fs::remove_file(&partial);
            return Err(err);
        }
    };
    if let Err(err) = std::fs::rename(&partial, &db) {
        let _ = std::fs::remove_file(&partial);
        if let Some(kept) = &kept {
            put_back(kept, &db);
        }
        return Err(AppError::internal_from(
            format!("cannot put {} in place of {}", file.display(), db.display()),
            err,
        ));
    }
    println!("restored {} to {} ({users} accounts)", file.display(), db.display());
    if let Some(kept) = kept {
        println!("the database it replaced is kept as {}", kept.display());
    }
    if behind > 0 {
        println!("the backup is from an older romgate: {behind} schema migrations are applied at the next start");
    }
    Ok(())
}

/// The SQLite file the configuration names; PostgreSQL and an in-memory
/// database are refused, saying what to use instead.
fn sqlite_database(config: &Config, command: &str) -> Result<PathBuf, AppError> {
    if config.database.is_postgres() {
        return Err(refused(format!("romgate {command} works on the SQLite database; this server uses PostgreSQL"))
            .hint("Use PostgreSQL's own tools: pg_dump -Fc -f romgate.dump DBNAME to back up, pg_restore --clean -d DBNAME romgate.dump to restore (with the servers stopped)."));
    }
    sqlite_file(&config.database)
        .ok_or_else(|| refused(format!("the database {} is not a file", config.database.redacted())))
}

/// The refusal for what `file` turned out to be, or its accounts and how
/// far behind this binary's schema it is.
fn restorable(file: &Path, inspection: Inspection) -> Result<(i64, usize), AppError> {
    let shown = file.display();
    let problem = match inspection {
        Inspection::Restorable { users, behind } => return Ok((users, behind)),
        Inspection::NotSqlite => format!("{shown} is not a SQLite database (nor readable)"),
        Inspection::Damaged(detail) => format!("{shown} is damaged: {detail}"),
        Inspection::NotRomgate => format!("{shown} is a SQLite database, but not romgate's"),
        Inspection::Newer(versions) => format!(
            "{shown} was made by a newer romgate (schema migrations {versions:?} are unknown to this one); \
             upgrade romgate first"
        ),
    };
    Err(refused(format!("{problem}; nothing was changed"))
        .hint("Restore a file written by `romgate backup` (or a copy of a stopped server's romgate.db)."))
}

/// The database's companions: itself, its write-ahead log and its index.
const COMPANIONS: [&str; 3] = ["", "-wal", "-shm"];

/// Moves the database and its companions to `<db>.<time>.bak[-wal|-shm]`,
/// after folding the log into the file; all of them or (put back) none.
async fn move_aside(db: &Path) -> Result<Option<PathBuf>, AppError> {
    if !db.exists() {
        return Ok(None);
    }
    backup::checkpoint(db)
        .await
        .map_err(|e| AppError::internal_from(format!("cannot checkpoint {}", db.display()), e))?;
    let stamp = format_time(SystemClock.now()).replace(':', "");
    let kept = files::companion(db, &format!(".{stamp}.bak"));
    for suffix in COMPANIONS {
        let from = files::companion(db, suffix);
        if from.exists()
            && let Err(e) = std::fs::rename(&from, files::companion(&kept, suffix))
        {
            put_back(&kept, db);
            return Err(AppError::internal_from(
                format!("cannot move {} aside", from.display()),
                e,
            ));
        }
    }
    Ok(Some(kept))
}

/// Undoes `move_aside` as far as it went, saying so when it cannot.
fn put_back(kept: &Path, db: &Path) {
    for suffix in COMPANIONS {
        let (from, to) = (files::companion(kept, suffix), files::companion(db, suffix));
        if from.exists()
            && let Err(e) = std::fs::rename(&from, &to)
        {
            eprintln!(
                "cannot move {} back to {}: {e}; rename it by hand",
                from.display(),
                to.display()
            );
        }
    }
}

/// Copies `file` to a private temporary file beside `db`, synced, for a
/// rename into place: the database is the old one or the new one whole,
/// never half copied. The backup itself is left as it is.
fn copy_beside(file: &Path, db: &Path) -> Result<PathBuf, AppError> {
    let partial = files::companion(db, ".restoring");
    let _ = std::fs::remove_file(&partial);
    let copied = files::create_private_file(&partial).and_then(|()| {
        let mut from = std::fs::File::open(file)?;
        let mut to = std::fs::OpenOptions::new().write(true).open(&partial)?;
        std::io::copy(&mut from, &mut to)?;
        to.sync_all()
    });
    match copied {
        Ok(()) => Ok(partial),
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(refused(format!(
                "cannot copy {} to {}: {e}; nothing was changed",
                file.display(),
                partial.display()
            ))
            .hint("Check the free space and permissions of the data directory, then run the restore again."))
        }
    }
}
