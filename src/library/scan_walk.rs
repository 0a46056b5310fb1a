//! Walking the library folder: the plain-named entries of a folder
//! (following a symbolic link only when it stays inside the library), the
//! games of a platform folder with their sizes and modification times, and
//! a cheap count of the games for a scan's progress. Reads metadata only,
//! never a file's contents; hidden files are skipped (an upload's leftover
//! temporary file, a day old, is removed: see `placing::remove_if_leftover`).
//! `blocking` runs such work off the async threads.

use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use super::paths::check_name;
use crate::error::{AppError, AppResult};

/// How deep the scanner looks inside a multi-file game's folder.
const MAX_FOLDER_DEPTH: usize = 8;

/// One game found on disk.
pub(super) struct Found {
    pub(super) file_name: String,
    pub(super) multi: bool,
    pub(super) size: u64,
    pub(super) mtime_ns: i64,
}

impl Found {
    pub(super) fn size_i64(&self) -> i64 {
        i64::try_from(self.size).unwrap_or(i64::MAX)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Want {
    Folders,
    Anything,
}

/// The plain-named entries of `dir` (following links that stay inside
/// `root`), sorted by name, and how many were skipped. An unreadable folder
/// is logged and read as empty.
pub(super) fn list_dir(root: &Path, dir: &Path, want: Want) -> (Vec<(String, Metadata)>, usize) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => {
            tracing::warn!(path = %dir.display(), error = %err, "cannot read a library folder");
            return (Vec::new(), 1);
        }
    };
    let mut found = Vec::new();
    let mut skipped = 0;
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            skipped += 1;
            continue;
        };
        if name.starts_with('.') {
            super::placing::remove_if_leftover(&entry.path(), &name);
            continue;
        }
        let path = entry.path();
        match (check_name("file", &name), follow(root, &path)) {
            (Ok(()), Some(meta)) if want == Want::Anything || meta.is_dir() => found.push((name, meta)),
            (Ok(()), Some(_)) => {}
            _ => {
                tracing::warn!(path = %path.display(), "skipped a library entry (odd name, or a link leading outside)");
                skipped += 1;
            }
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    (found, skipped)
}

/// The metadata of `path`, following a symbolic link only when its target
/// is inside `root`. `None` for links leading out, dangling links and
/// anything that is neither a file nor a folder.
fn follow(root: &Path, path: &Path) -> Option<Metadata> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    let meta = if meta.file_type().is_symlink() {
        let target = std::fs::canonicalize(path).ok()?;
        if !target.starts_with(root) {
            return None;
        }
        std::fs::metadata(&target).ok()?
    } else {
        meta
    };
    (meta.is_file() || meta.is_dir()).then_some(meta)
}

/// The games of one platform folder.
pub(super) fn list_roms(root: &Path, dir: &Path) -> (Vec<Found>, usize) {
    let (entries, mut skipped) = list_dir(root, dir, Want::Anything);
    let mut found = Vec::with_capacity(entries.len());
    for (file_name, meta) in entries {
        if meta.is_dir() {
            let mut totals = (0, mtime_ns(&meta));
            folder_totals(root, &dir.join(&file_name), 0, &mut totals, &mut skipped);
            found.push(Found {
                file_name,
                multi: true,
                size: totals.0,
                mtime_ns: totals.1,
            });
        } else {
            found.push(Found {
                file_name,
                multi: false,
                size: meta.len(),
                mtime_ns: mtime_ns(&meta),
            });
        }
    }
    (found, skipped)
}

/// Adds the sizes of a folder's files and keeps the latest mtime. Linked
/// folders are not entered (no loops).
fn folder_totals(root: &Path, dir: &Path, depth: usize, totals: &mut (u64, i64), skipped: &mut usize) {
    if depth >= MAX_FOLDER_DEPTH {
        *skipped += 1;
        return;
    }
    let (entries, bad) = list_dir(root, dir, Want::Anything);
    *skipped += bad;
    for (name, meta) in entries {
        let path: PathBuf = dir.join(&name);
        totals.1 = totals.1.max(mtime_ns(&meta));
        if meta.is_file() {
            totals.0 = totals.0.saturating_add(meta.len());
        } else if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
            folder_totals(root, &path, depth + 1, totals, skipped);
        }
    }
}

/// Modification time in unix nanoseconds (0 before 1970 or when unknown).
fn mtime_ns(meta: &Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// How many games `dir` holds, by name alone (no metadata read): the
/// denominator of a scan's progress.
pub(super) fn count_games(dir: &Path) -> u64 {
    std::fs::read_dir(dir).map_or(0, |entries| {
        let visible = entries
            .flatten()
            .filter(|e| !e.file_name().as_encoded_bytes().starts_with(b"."));
        u64::try_from(visible.count()).unwrap_or(u64::MAX)
    })
}

/// Runs blocking file system work off the async threads.
pub(super) async fn blocking<T: Send + 'static>(work: impl FnOnce() -> AppResult<T> + Send + 'static) -> AppResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError::internal_from("library scan task", e))?
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The review's case: a file name with a newline could forge a log line.
    #[test]
    fn a_file_name_with_a_newline_is_skipped_and_logged_on_one_line() {
        let library = tempfile::tempdir().unwrap();
        let root = library.path().canonicalize().unwrap();
        let dir = root.join("roms").join("n64");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("fake.z64\nWARN romgate: forged line"), b"rom").unwrap();
        std::fs::write(dir.join("real.z64"), b"rom").unwrap();

        let mut listed = None;
        let logged = crate::logging::capture(|| listed = Some(list_roms(&root, &dir)));
        let (found, skipped) = listed.unwrap();
        let names: Vec<&str> = found.iter().map(|f| f.file_name.as_str()).collect();
        assert_eq!((names, skipped), (vec!["real.z64"], 1));
        assert_eq!(logged.lines().count(), 1, "{logged}");
        assert!(logged.contains(r"fake.z64\nWARN romgate: forged line"), "{logged}");
    }
}
