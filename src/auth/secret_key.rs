//! The server's secret key: ROMM_AUTH_SECRET_KEY, or one generated on first
//! start and kept in the data directory (mode 0600). It keys the token
//! hashes, so changing it signs everybody out.

use std::io::Write;
use std::path::Path;

use crate::auth::tokens::generate_secret_key;
use crate::config::Config;
use crate::error::AppError;
use crate::secret::Secret;

const KEY_FILE: &str = "auth_secret_key";

pub fn load_or_create(config: &Config) -> Result<Secret, AppError> {
    if let Some(key) = &config.auth_secret_key {
        return Ok(key.clone());
    }
    let path = config.data_path.join(KEY_FILE);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let key = existing.trim().to_string();
        if !key.is_empty() {
            return Ok(Secret::new(key));
        }
    }
    let key = generate_secret_key();
    match write_private(&path, key.expose()) {
        Ok(()) => {}
        // Another instance on the same data directory won the race: use its key.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let existing =
                std::fs::read_to_string(&path).map_err(|e| AppError::internal(format!("{}: {e}", path.display())))?;
            return Ok(Secret::new(existing.trim()));
        }
        Err(e) => {
            return Err(AppError::internal(format!("cannot write {}: {e}", path.display())));
        }
    }
    tracing::warn!(
        path = %path.display(),
        "ROMM_AUTH_SECRET_KEY is not set: generated one and saved it in the data directory; \
         set it explicitly when running several instances"
    );
    Ok(key)
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())
}
