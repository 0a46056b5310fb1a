//! A file's bytes as a response body: `length` bytes from `start`, read in
//! large chunks so that a download costs few reads, few wake-ups and few
//! writes per gigabyte, each chunk read once, straight into the buffer the
//! socket write takes (a positional read on the blocking pool), and the
//! next chunk read while the previous one is sent (measured in
//! bench/README.md, "Downloads"). No thread is held between chunks, so a
//! slow client costs no blocking thread.

use std::os::unix::fs::FileExt;
use std::sync::Arc;

use axum::body::Body;
use bytes::Bytes;
use futures_util::{StreamExt, stream};

/// Bytes read from disk at a time.
const CHUNK: u64 = 1024 * 1024;
/// Chunks read ahead of the one being sent.
const READ_AHEAD: usize = 2;

pub async fn file_body(file: tokio::fs::File, start: u64, length: u64) -> Body {
    let file = Arc::new(file.into_std().await);
    let chunks = (0..length.div_ceil(CHUNK)).map(move |index| {
        let offset = index * CHUNK;
        (start + offset, (length - offset).min(CHUNK))
    });
    let reads = stream::iter(chunks)
        .map(move |(offset, len)| {
            let file = Arc::clone(&file);
            async move {
                tokio::task::spawn_blocking(move || read_chunk(&file, offset, len))
                    .await
                    .unwrap_or_else(|joined| Err(std::io::Error::other(joined)))
            }
        })
        .buffered(READ_AHEAD);
    Body::from_stream(reads)
}

/// `len` bytes at `offset`. A file that shrank while it was sent ends the
/// body early (an error: the client sees a short, failed download, never
/// bytes of another length than announced).
fn read_chunk(file: &std::fs::File, offset: u64, len: u64) -> std::io::Result<Bytes> {
    let mut buffer = vec![0; usize::try_from(len).map_err(std::io::Error::other)?];
    file.read_exact_at(&mut buffer, offset)?;
    Ok(Bytes::from(buffer))
}
