//! RomM's chunked uploads: who started one, what it becomes, when it was
//! last touched. The chunks are files in the library folder; these rows are
//! what every instance sharing the database agrees on. Assembling is taken
//! by one conditional `UPDATE`, so of two instances completing one upload
//! exactly one goes on.

use super::users::count_under_owner_lock;
use super::{Store, StoreError, on_pool};

/// A chunked upload as stored, with its platform's slug.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChunkedUpload {
    pub id: String,
    pub user_id: i64,
    pub platform_id: i64,
    pub platform_slug: String,
    pub file_name: String,
    pub total_size: i64,
    pub total_chunks: i64,
    pub completing_since: Option<i64>,
}

/// A chunked upload to record.
#[derive(Debug, Clone)]
pub struct NewChunkedUpload<'a> {
    pub id: &'a str,
    pub user_id: i64,
    pub platform_id: i64,
    pub file_name: &'a str,
    pub total_size: i64,
    pub total_chunks: i64,
}

const INSERT: &str = "INSERT INTO chunked_uploads \
    (id, user_id, platform_id, file_name, total_size, total_chunks, created_at, touched_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $7)";
const FIND: &str = "SELECT u.id, u.user_id, u.platform_id, p.slug AS platform_slug, u.file_name, \
    u.total_size, u.total_chunks, u.completing_since \
    FROM chunked_uploads u JOIN platforms p ON p.id = u.platform_id WHERE u.id = $1";
const TOUCH: &str = "UPDATE chunked_uploads SET touched_at = $2 WHERE id = $1";
/// `$3`: a claim taken before it is stale (its completion was cut off).
const CLAIM: &str = "UPDATE chunked_uploads SET completing_since = $2, touched_at = $2 \
    WHERE id = $1 AND (completing_since IS NULL OR completing_since < $3)";
const RELEASE: &str = "UPDATE chunked_uploads SET completing_since = NULL, touched_at = $2 WHERE id = $1";
const DELETE: &str = "DELETE FROM chunked_uploads WHERE id = $1";
const DELETE_UNCLAIMED: &str =
    "DELETE FROM chunked_uploads WHERE id = $1 AND (completing_since IS NULL OR completing_since < $2)";
const DELETE_UNTOUCHED: &str = "DELETE FROM chunked_uploads WHERE touched_at < $1 RETURNING id";
const PLATFORM_SLUG: &str = "SELECT slug FROM platforms WHERE id = $1";

impl Store {
    /// Records a new upload unless its starter already has `max_open`
    /// (counted under the owner's lock, so concurrent starts cannot pass
    /// the cap together): `false` then, and nothing is written.
    pub async fn insert_chunked_upload(
        &self,
        upload: &NewChunkedUpload<'_>,
        now: i64,
        max_open: i64,
    ) -> Result<bool, StoreError> {
        const COUNT_OF_USER: &str = "SELECT COUNT(*) FROM chunked_uploads WHERE user_id = $1";
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let open = count_under_owner_lock!(tx, upload.user_id, COUNT_OF_USER);
            if open >= max_open {
                return Ok(false);
            }
            sqlx::query(INSERT)
                .bind(upload.id)
                .bind(upload.user_id)
                .bind(upload.platform_id)
                .bind(upload.file_name)
                .bind(upload.total_size)
                .bind(upload.total_chunks)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from_write)?;
            tx.commit().await?;
            Ok(true)
        })
    }

    pub async fn find_chunked_upload(&self, id: &str) -> Result<Option<ChunkedUpload>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_as(FIND).bind(id).fetch_optional(p).await)?)
    }

    /// Marks the upload as active now (a chunk arrived), putting off its
    /// expiry.
    pub async fn touch_chunked_upload(&self, id: &str, now: i64) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(TOUCH).bind(id).bind(now).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Takes the upload for assembling: `false` when it is gone or another
    /// request (on any instance) took it since `stale_before`.
    pub async fn claim_chunked_upload(&self, id: &str, now: i64, stale_before: i64) -> Result<bool, StoreError> {
        let claimed = on_pool!(self, p => sqlx::query(CLAIM)
            .bind(id)
            .bind(now)
            .bind(stale_before)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(claimed == 1)
    }

    /// Marks a claimed upload's completion as still running at `now`.
    pub async fn renew_chunked_upload_claim(&self, id: &str, now: i64) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE chunked_uploads SET completing_since = $2, touched_at = $2 \
            WHERE id = $1 AND completing_since IS NOT NULL";
        on_pool!(self, p => sqlx::query(SQL).bind(id).bind(now).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Gives a claimed upload back (its chunks did not add up).
    pub async fn release_chunked_upload(&self, id: &str, now: i64) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(RELEASE).bind(id).bind(now).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn delete_chunked_upload(&self, id: &str) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(DELETE).bind(id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Deletes the upload unless it is being assembled (claimed since
    /// `stale_before`): `false` when it was (or is gone).
    pub async fn delete_unclaimed_chunked_upload(&self, id: &str, stale_before: i64) -> Result<bool, StoreError> {
        let deleted = on_pool!(self, p => sqlx::query(DELETE_UNCLAIMED)
            .bind(id)
            .bind(stale_before)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(deleted == 1)
    }

    /// Deletes every upload untouched since `before`; their ids, for the
    /// chunk folders to go too.
    pub async fn delete_untouched_chunked_uploads(&self, before: i64) -> Result<Vec<String>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_scalar(DELETE_UNTOUCHED).bind(before).fetch_all(p).await)?)
    }

    pub async fn platform_slug(&self, platform_id: i64) -> Result<Option<String>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_scalar(PLATFORM_SLUG).bind(platform_id).fetch_optional(p).await)?)
    }
}
