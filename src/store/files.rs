//! romgate's files on disk are private to its user: the SQLite database
//! (with its `-wal` and `-shm` companions) holds password hashes and ID
//! tokens, the generated key file keys every token hash.
//!
//! - The data directory is created 0700; one that exists and is open to
//!   others is named in a warning at every start (it may be shared on
//!   purpose, so it is not changed).
//! - The database file is created 0600 before SQLite opens it, and SQLite
//!   gives `-wal` and `-shm` the database file's mode. An existing database,
//!   `-wal`, `-shm` or key file open to others is tightened to 0600 at start,
//!   with a log line.

use std::io;
use std::path::{Path, PathBuf};

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};

pub const PRIVATE_DIR_MODE: u32 = 0o700;
pub const PRIVATE_FILE_MODE: u32 = 0o600;

/// Creates the data directory (and missing parents) 0700, and warns when an
/// existing one is open to other users.
pub fn prepare_data_dir(path: &Path) -> io::Result<()> {
    create_private_dir(path)?;
    warn_if_open_dir(path);
    Ok(())
}

/// `create_dir_all`, with mode 0700 for every directory it creates.
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(PRIVATE_DIR_MODE);
    builder.create(path)
}

#[cfg(unix)]
fn warn_if_open_dir(path: &Path) {
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                mode = %format!("{mode:o}"),
                "the data directory is open to other users; make it private: chmod 700 {}",
                path.display()
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_open_dir(_path: &Path) {}

/// Before SQLite opens `db`: creates it empty with mode 0600 (SQLite reads
/// an empty file as an empty database), or tightens the existing one and
/// its companions. Failures are logged: opening the database reports any
/// real problem.
pub(crate) fn prepare_database_file(db: &Path) {
    if db
        .parent()
        .is_some_and(|dir| !dir.as_os_str().is_empty() && !dir.is_dir())
    {
        return;
    }
    // Never open an existing database here: closing any descriptor of a
    // file drops this process's SQLite locks on it.
    match create_private_file(db) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            for path in [db.to_path_buf(), companion(db, "-wal"), companion(db, "-shm")] {
                tighten_file(&path);
            }
        }
        Err(e) => tracing::warn!(path = %db.display(), error = %e, "cannot create the database file"),
    }
}

/// A new, empty file only romgate's user can read; `AlreadyExists` if there
/// is one.
pub(crate) fn create_private_file(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(PRIVATE_FILE_MODE);
    options.open(path).map(drop)
}

pub fn companion(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Makes an existing file 0600 when others may read it; a missing file is
/// left alone.
#[cfg(unix)]
pub fn tighten_file(path: &Path) {
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 == 0 {
        return;
    }
    match std::fs::set_permissions(path, std::fs::Permissions::from_mode(PRIVATE_FILE_MODE)) {
        Ok(()) => tracing::warn!(
            path = %path.display(),
            was = %format!("{mode:o}"),
            "the file was open to other users; made it private (0600)"
        ),
        Err(e) => tracing::warn!(
            path = %path.display(),
            error = %e,
            "the file is open to other users and cannot be made private; run chmod 600 on it"
        ),
    }
}

#[cfg(not(unix))]
pub fn tighten_file(_path: &Path) {}

/// Held by a running server on its SQLite database (a shared lock, so
/// several servers on one file may run); `romgate restore` takes it
/// exclusively, so it never swaps the file under a server, and a server
/// does not start in the middle of a restore. The kernel drops the lock
/// when the process ends, however it ends: no stale lock to clean up.
#[derive(Debug)]
pub struct DatabaseLock {
    _file: std::fs::File,
}

/// Which lock a `DatabaseLock` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    /// A server using the database.
    Serving,
    /// A restore replacing it.
    Replacing,
}

/// Takes the lock beside `db` (`<db>.lock`, created 0600) without waiting.
/// `Ok(None)`: another process holds it in a way that excludes this one.
pub fn lock_database(db: &Path, kind: LockKind) -> io::Result<Option<DatabaseLock>> {
    let path = companion(db, ".lock");
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    options.mode(PRIVATE_FILE_MODE);
    let file = options.open(&path)?;
    let taken = match kind {
        LockKind::Serving => file.try_lock_shared(),
        LockKind::Replacing => file.try_lock(),
    };
    match taken {
        Ok(()) => Ok(Some(DatabaseLock { _file: file })),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}
