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

/// What listing a folder found: its plain-named entries (following links
/// that stay inside `root`), sorted by name, how many were skipped, and
/// whether the folder could be read whole.
pub(super) struct Listing {
    pub(super) entries: Vec<(String, Metadata)>,
    pub(super) skipped: usize,
    /// False when reading the folder failed, at once or midway (a network
    /// share that went away, a permission changed): what is missing from
    /// `entries` may still be there.
    pub(super) complete: bool,
}

/// Lists `dir` (see `Listing`). An unreadable folder is logged and listed
/// as incomplete.
pub(super) fn list_dir(root: &Path, dir: &Path, want: Want) -> Listing {
    let unreadable = |err: std::io::Error| {
        tracing::warn!(path = %dir.display(), error = %err, "cannot read a library folder");
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => {
            unreadable(err);
            return Listing {
                entries: Vec::new(),
                skipped: 1,
                complete: false,
            };
        }
    };
    let mut complete = true;
    let mut found = Vec::new();
    let mut skipped = 0;
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                unreadable(err);
                complete = false;
                break;
            }
        };
        let Ok(name) = entry.file_name().into_string() else {
            skipped += 1;
            continue;
        };
        if name.starts_with('.') {
            super::placing::remove_if_leftover(&entry.path(), &name);
            continue;
        }
        let path = entry.path();
        let followed = match follow(root, &path) {
            Ok(followed) => followed,
            Err(err) => {
                unreadable(err);
                complete = false;
                continue;
            }
        };
        match (check_name("file", &name), followed) {
            (Ok(()), Some(meta)) if want == Want::Anything || meta.is_dir() => found.push((name, meta)),
            (Ok(()), Some(_)) => {}
            _ => {
                tracing::warn!(path = %path.display(), "skipped a library entry (odd name, or a link leading outside)");
                skipped += 1;
            }
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Listing {
        entries: found,
        skipped,
        complete,
    }
}

/// The metadata of `path`, following a symbolic link only when its target
/// is inside `root`. `None` for links leading out, dangling links, entries
/// removed since they were listed and anything that is neither a file nor
/// a folder; an error when the entry itself cannot be examined.
fn follow(root: &Path, path: &Path) -> std::io::Result<Option<Metadata>> {
    let Some(meta) = missing_is_none(std::fs::symlink_metadata(path))? else {
        return Ok(None);
    };
    let meta = if meta.file_type().is_symlink() {
        // A dangling link is not a game; any other failure is unknown,
        // not gone.
        let Some(target) = missing_is_none(std::fs::canonicalize(path))? else {
            return Ok(None);
        };
        if !target.starts_with(root) {
            return Ok(None);
        }
        let Some(meta) = missing_is_none(std::fs::metadata(&target))? else {
            return Ok(None);
        };
        meta
    } else {
        meta
    };
    Ok((meta.is_file() || meta.is_dir()).then_some(meta))
}

/// `None` for what is not there, the error for anything else.
fn missing_is_none<T>(found: std::io::Result<T>) -> std::io::Result<Option<T>> {
    match found {
        Ok(found) => Ok(Some(found)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

/// The games of one platform folder.
pub(super) struct RomListing {
    pub(super) found: Vec<Found>,
    pub(super) skipped: usize,
    /// Games whose folder could not be read whole: their size and time are
    /// unknown, so their rows are left as they are.
    pub(super) unsure: Vec<String>,
    /// False when the platform folder itself could not be read whole: a
    /// game missing from `found` may still be there.
    pub(super) complete: bool,
}

/// The games of one platform folder (see `RomListing`).
pub(super) fn list_roms(root: &Path, dir: &Path) -> RomListing {
    let Listing {
        entries,
        mut skipped,
        complete,
    } = list_dir(root, dir, Want::Anything);
    let mut found = Vec::with_capacity(entries.len());
    let mut unsure = Vec::new();
    for (file_name, meta) in entries {
        if meta.is_dir() {
            let mut totals = (0, mtime_ns(&meta));
            if !folder_totals(root, &dir.join(&file_name), 0, &mut totals, &mut skipped) {
                unsure.push(file_name);
                continue;
            }
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
    RomListing {
        found,
        skipped,
        unsure,
        complete,
    }
}

/// Adds the sizes of a folder's files and keeps the latest mtime. Linked
/// folders are not entered (no loops). False when a folder could not be
/// read whole.
fn folder_totals(root: &Path, dir: &Path, depth: usize, totals: &mut (u64, i64), skipped: &mut usize) -> bool {
    if depth >= MAX_FOLDER_DEPTH {
        *skipped += 1;
        return true;
    }
    let listing = list_dir(root, dir, Want::Anything);
    *skipped += listing.skipped;
    let mut complete = listing.complete;
    for (name, meta) in listing.entries {
        let path: PathBuf = dir.join(&name);
        totals.1 = totals.1.max(mtime_ns(&meta));
        if meta.is_file() {
            totals.0 = totals.0.saturating_add(meta.len());
        } else if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
            complete &= folder_totals(root, &path, depth + 1, totals, skipped);
        }
    }
    complete
}

/// Modification time in unix nanoseconds (0 before 1970 or when unknown).
pub(super) fn mtime_ns(meta: &Metadata) -> i64 {
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
        let listing = listed.unwrap();
        let names: Vec<&str> = listing.found.iter().map(|f| f.file_name.as_str()).collect();
        assert_eq!((names, listing.skipped, listing.complete), (vec!["real.z64"], 1, true));
        assert_eq!(logged.lines().count(), 1, "{logged}");
        assert!(logged.contains(r"fake.z64\nWARN romgate: forged line"), "{logged}");
    }

    /// A folder that cannot be read (here: not a folder; on a real machine
    /// a share gone away or a permission changed, which root's tests cannot
    /// make) is listed as incomplete, not as empty.
    #[test]
    fn an_unreadable_folder_is_incomplete_not_empty() {
        let library = tempfile::tempdir().unwrap();
        let root = library.path().canonicalize().unwrap();
        let roms = root.join("roms");
        std::fs::create_dir_all(roms.join("psx").join("Game (Disc set)")).unwrap();
        std::fs::write(roms.join("psx").join("Game (Disc set)").join("disc1.bin"), b"disc").unwrap();
        std::fs::write(roms.join("psx").join("Other.bin"), b"rom").unwrap();
        std::fs::write(roms.join("gba"), b"not a folder").unwrap();

        let unreadable = list_roms(&root, &roms.join("gba"));
        assert!(!unreadable.complete && unreadable.found.is_empty());
        let readable = list_roms(&root, &roms.join("psx"));
        assert!(readable.complete && readable.unsure.is_empty());
        assert_eq!(readable.found.len(), 2);
    }
}
