//! Hashing a scan's new and changed files: SHA-256 (the `sha2` crate, which
//! uses the CPU's SHA instructions where it has them), one file per blocking
//! task, two per core in flight (`scan`), each streaming its file through
//! its thread's one buffer. The bytes are counted as they are
//! read, so the scan's progress moves inside a large file too.

use std::cell::RefCell;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use super::scan_status::Counters;
use super::scan_walk::Found;

/// Bytes read at a time: large enough that a read costs little next to
/// hashing it, small enough that every core's buffer together stays small.
const HASH_BUFFER: usize = 1024 * 1024;

/// One game to hash (a folder is not hashed: it is counted and passed on).
pub(super) struct HashJob {
    pub(super) platform_id: i64,
    pub(super) path: PathBuf,
    pub(super) found: Found,
    /// Whether the database already had a row for it.
    pub(super) existed: bool,
}

/// How many cores hash at once: all of them.
pub(super) fn hashing_threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(2, std::num::NonZero::get))
}

/// The job's hash (`None` for a folder), counting the file as done.
pub(super) fn hash_job(job: HashJob, counters: &Counters) -> (HashJob, std::io::Result<Option<String>>) {
    let hashed = if job.found.multi {
        Ok(None)
    } else {
        hash_file(&job.path, counters).map(Some)
    };
    counters.file_done();
    (job, hashed)
}

/// SHA-256 of a file in lowercase hex, read `HASH_BUFFER` bytes at a time
/// into the hashing thread's own buffer: most ROMs are far smaller than it,
/// and a new zeroed megabyte per file cost more than hashing them (measured
/// in bench/README.md, "Scan").
fn hash_file(path: &Path, counters: &Counters) -> std::io::Result<String> {
    thread_local! {
        static BUFFER: RefCell<Vec<u8>> = RefCell::new(vec![0u8; HASH_BUFFER]);
    }
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    BUFFER.with_borrow_mut(|buffer| {
        loop {
            let read = match file.read(buffer) {
                Ok(read) => read,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            };
            let Some(chunk) = buffer.get(..read).filter(|c| !c.is_empty()) else {
                return Ok(());
            };
            hasher.update(chunk);
            counters.hashed(read);
        }
    })?;
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_hash_to_their_sha256_and_count_their_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rom.bin");
        // Larger than one buffer, so the loop goes round.
        let contents: Vec<u8> = (0..HASH_BUFFER + 12_345).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &contents).unwrap();
        let counters = Counters::default();
        let hash = hash_file(&path, &counters).unwrap();
        assert_eq!(hash, hex::encode(Sha256::digest(&contents)));
        assert_eq!(counters.bytes_hashed(), contents.len() as u64);
        assert_eq!(
            hash_file(&dir.path().join("empty"), &counters).map_err(|e| e.kind()),
            Err(std::io::ErrorKind::NotFound)
        );
        std::fs::write(dir.path().join("empty"), b"").unwrap();
        assert_eq!(
            hash_file(&dir.path().join("empty"), &counters).unwrap(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
