//! A file's bytes as a response body: `length` bytes from `start`, read in
//! large chunks so that a download costs few reads, few wake-ups and few
//! writes per gigabyte (measured in bench/README.md, "Downloads").

use axum::body::Body;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use crate::error::{AppError, AppResult};

/// Bytes read from disk at a time.
const CHUNK: usize = 1024 * 1024;

pub async fn file_body(mut file: tokio::fs::File, start: u64, length: u64) -> AppResult<Body> {
    if start > 0 {
        file.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(|e| AppError::internal_from("seeking in a ROM", e))?;
    }
    file.set_max_buf_size(CHUNK);
    Ok(Body::from_stream(ReaderStream::with_capacity(file.take(length), CHUNK)))
}
