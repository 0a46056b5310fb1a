//! The server's secret key. It keys the token hashes, so changing it signs
//! everybody out, and every instance on one database must use the same one.
//!
//! - ROMM_AUTH_SECRET_KEY, when set, always wins.
//! - Otherwise, on PostgreSQL, the key lives in the database
//!   (`server_secrets`): the first instance to start inserts one, atomically,
//!   and every other instance reads it, so instances sharing the database
//!   accept each other's sessions and tokens.
//! - Otherwise (SQLite) it lives in `<data>/auth_secret_key`, mode 0600,
//!   beside the database it protects.
//!
//! Generating a key logs a warning; the key itself is never logged.

use std::io::Write;
use std::path::Path;

use crate::auth::tokens::generate_secret_key;
use crate::config::Config;
use crate::error::AppError;
use crate::secret::Secret;
use crate::store::Store;
use crate::store::files::{PRIVATE_FILE_MODE, create_private_dir, tighten_file};

const KEY_FILE: &str = "auth_secret_key";
/// The key's name in `server_secrets`.
const SHARED_NAME: &str = "auth_secret_key";

pub async fn load_or_create(config: &Config, store: &Store, now: i64) -> Result<Secret, AppError> {
    if let Some(key) = &config.auth_secret_key {
        return Ok(key.clone());
    }
    if store.engine() == "postgres" {
        shared_in_database(config, store, now).await
    } else {
        kept_in_file(&config.data_path.join(KEY_FILE))
    }
}

async fn shared_in_database(config: &Config, store: &Store, now: i64) -> Result<Secret, AppError> {
    // An instance that kept its key in a file before offers that key, so the
    // sessions it signed survive the upgrade when it starts first.
    let file_key = read_key_file(&config.data_path.join(KEY_FILE));
    let candidate = file_key.clone().unwrap_or_else(generate_secret_key);
    let shared = store.shared_secret(SHARED_NAME, &candidate, now).await?;
    match (&file_key, shared.inserted) {
        (None, true) => tracing::warn!(
            "ROMM_AUTH_SECRET_KEY is not set: generated one and stored it in the database, where every \
             instance on it reads it; set ROMM_AUTH_SECRET_KEY to keep the key out of the database"
        ),
        (Some(_), true) => tracing::warn!(
            "ROMM_AUTH_SECRET_KEY is not set: stored this instance's key file in the database, where every \
             instance on it reads it"
        ),
        (Some(file), false) if *file != shared.value => tracing::warn!(
            "this instance's key file differs from the key in the database: the database's key is used, \
             sessions and tokens signed with the file's key end"
        ),
        _ => {}
    }
    Ok(shared.value)
}

fn kept_in_file(path: &Path) -> Result<Secret, AppError> {
    if let Some(key) = read_key_file(path) {
        tighten_file(path);
        return Ok(key);
    }
    let key = generate_secret_key();
    match write_private(path, key.expose()) {
        Ok(()) => {}
        // Another instance on the same data directory won the race: use its key.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return read_key_file(path)
                .ok_or_else(|| AppError::internal(format!("{}: unreadable or empty key file", path.display())));
        }
        Err(e) => {
            return Err(AppError::internal_from(format!("cannot write {}", path.display()), e));
        }
    }
    tracing::warn!(
        path = %path.display(),
        "ROMM_AUTH_SECRET_KEY is not set: generated one and saved it in the data directory; \
         set it explicitly when running several instances"
    );
    Ok(key)
}

/// The key in `path`, when there is a non-empty one.
fn read_key_file(path: &Path) -> Option<Secret> {
    let existing = std::fs::read_to_string(path).ok()?;
    let key = existing.trim();
    (!key.is_empty()).then(|| Secret::new(key))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        create_private_dir(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, PRIVATE_FILE_MODE);
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())
}
