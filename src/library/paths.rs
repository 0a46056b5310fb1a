//! Path safety. Guarantees:
//! - a name taken from a user (platform slug, file name) is one plain path
//!   component: not empty, not hidden (so neither `.` nor `..`), no `/`, no
//!   `\`, no NUL or other control character, no percent-encoded separator;
//! - a path is opened or removed only after it is canonicalised (symlinks
//!   resolved) and found under the canonical library root;
//! - a path that leads nowhere (missing, a symbolic link loop, through a
//!   file as if it were a folder) is a 404, never a 500.
//!
//! Names are checked before any file system call; the prefix check catches
//! what a name cannot show, such as a symlink planted in the library.

use std::path::{Path, PathBuf};

use crate::error::{AppError, AppResult, Code};

/// Longest name most file systems accept, in bytes.
const MAX_NAME_BYTES: usize = 255;
/// Longest slug of a platform created by an upload.
const MAX_SLUG_CHARS: usize = 64;

fn invalid(what: &str) -> AppError {
    AppError::bad_request(
        Code::InvalidPath,
        format!("That {what} is not allowed: use a plain name, without slashes, backslashes or a leading dot."),
    )
}

/// One plain path component (see the module comment).
pub fn check_name(what: &str, name: &str) -> AppResult<()> {
    let lower = name.to_ascii_lowercase();
    let bad = name.is_empty()
        || name.len() > MAX_NAME_BYTES
        || name.starts_with('.')
        || name.trim().is_empty()
        || name.chars().any(|c| c == '/' || c == '\\' || c.is_control())
        || ["%2f", "%5c", "%00"].iter().any(|encoded| lower.contains(encoded));
    if bad { Err(invalid(what)) } else { Ok(()) }
}

/// The slug of a platform an upload creates: a short lower-case name of
/// `a-z 0-9 . _ -` (RomM's slugs look like `n64`, `gba`, `psx`).
pub fn check_new_slug(slug: &str) -> AppResult<()> {
    check_name("platform", slug)?;
    let plain = slug
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
    if !plain || slug.chars().count() > MAX_SLUG_CHARS {
        return Err(AppError::bad_request(
            Code::InvalidPlatform,
            format!("A new platform's name has 1 to {MAX_SLUG_CHARS} characters: a-z, digits, and . _ -"),
        ));
    }
    Ok(())
}

/// `path` with symlinks resolved, refused unless it lies under `root`
/// (itself canonical). A missing path is a 404.
pub async fn resolve_inside(root: &Path, path: &Path) -> AppResult<PathBuf> {
    let Some(resolved) = canonical(path).await? else {
        return Err(missing_file());
    };
    if resolved.starts_with(root) {
        Ok(resolved)
    } else {
        tracing::warn!(path = %path.display(), "refused a path that leads outside the library");
        Err(outside())
    }
}

/// `path` with symlinks resolved, or `None` when it leads nowhere (see
/// `leads_nowhere`).
pub async fn canonical(path: &Path) -> AppResult<Option<PathBuf>> {
    match tokio::fs::canonicalize(path).await {
        Ok(resolved) => Ok(Some(resolved)),
        Err(err) if leads_nowhere(&err) => Ok(None),
        Err(err) => Err(AppError::internal_from(format!("resolving {}", path.display()), err)),
    }
}

/// The path reaches no file: it is missing, a symbolic link loop, or goes
/// through a file as if it were a folder. Whoever changes the library can
/// cause these, so they are a 404 like a missing file, never a 500.
pub fn leads_nowhere(err: &std::io::Error) -> bool {
    use std::io::ErrorKind::{NotADirectory, NotFound};
    matches!(err.kind(), NotFound | NotADirectory) || err.raw_os_error() == Some(libc::ELOOP)
}

pub fn missing_file() -> AppError {
    AppError::not_found("The file is not in the library folder (a rescan will tidy the list).")
}

pub fn outside() -> AppError {
    AppError::bad_request(Code::PathOutsideLibrary, "That path leads outside the library folder.")
        .hint("A symbolic link in the library points elsewhere; romgate does not follow it.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_pass() {
        for ok in [
            "Super Mario 64 (USA).z64",
            "n64",
            "Final Fantasy VII (Disc 1)",
            "100%.zip",
            "ポケモン.gb",
        ] {
            assert!(check_name("file", ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn escapes_are_refused() {
        let long = "a".repeat(256);
        for bad in [
            "",
            " ",
            ".",
            "..",
            ".hidden",
            "../etc/passwd",
            "/etc/passwd",
            "a/b",
            "a\\b",
            "..\\..\\boot.ini",
            "nul\0byte",
            "line\nbreak",
            "..%2Fetc",
            "a%2fb",
            "a%5Cb",
            "a%00b",
            long.as_str(),
        ] {
            let err = check_name("file", bad).expect_err(bad);
            assert_eq!(err.code(), Some(Code::InvalidPath), "{bad:?}");
        }
    }

    #[test]
    fn new_slugs_are_plain_lower_case() {
        for ok in ["n64", "gba", "sega-cd", "3do", "pc_98"] {
            assert!(check_new_slug(ok).is_ok(), "{ok}");
        }
        for bad in ["N64", "game boy", "x/y", "..", "é", &"a".repeat(65)] {
            assert!(check_new_slug(bad).is_err(), "{bad:?}");
        }
    }

    mod properties {
        use std::path::Component;

        use proptest::prelude::*;

        use super::*;

        fn name() -> impl Strategy<Value = String> {
            let pieces = vec![
                "/", "\\", "..", ".", "%2f", "%2F", "%5c", "%00", "\0", " ", "\n", "game", ".gb", "é", "~",
            ];
            let piece = prop_oneof![proptest::sample::select(pieces).prop_map(str::to_string), "\\PC{0,3}"];
            prop_oneof![
                proptest::collection::vec(piece, 0..6).prop_map(|parts| parts.concat()),
                any::<String>()
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1024))]

            /// A name that passes is one plain component of a path: joined
            /// to a folder, it names something directly inside it.
            #[test]
            fn a_name_that_passes_never_leaves_its_folder(name in name()) {
                if check_name("file", &name).is_ok() {
                    prop_assert!(!name.contains(['/', '\\', '\0']), "{name:?}");
                    prop_assert!(name != "." && name != "..");
                    let components: Vec<_> = Path::new(&name).components().collect();
                    prop_assert_eq!(components, vec![Component::Normal(name.as_ref())]);
                    let joined = Path::new("/library/roms/gb").join(&name);
                    prop_assert_eq!(joined.parent(), Some(Path::new("/library/roms/gb")));
                }
            }

            /// A new platform's slug passes only as a plain name too.
            #[test]
            fn a_slug_that_passes_is_a_plain_name(slug in name()) {
                if check_new_slug(&slug).is_ok() {
                    prop_assert!(check_name("platform", &slug).is_ok());
                    prop_assert!(slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)));
                }
            }
        }
    }
}
