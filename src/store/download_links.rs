//! Download links (issue 15): a keyed hash of the link's secret, whose link
//! it is and for which ROM, until when. Rows go at expiry (`delete_expired`),
//! with their owner or ROM (the schema's cascade), and wherever a user's
//! sessions are ended (`credentials`, in the same transaction).

use super::users::user_columns_u;
use super::{Store, StoreError, User, on_pool};

/// A live link and its owner as stored now (enabled, role), so the download
/// checks the person, not only the link.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DownloadLinkRow {
    #[sqlx(flatten)]
    pub user: User,
    pub rom_id: i64,
}

const INSERT: &str = "INSERT INTO download_links (token_hash, user_id, rom_id, created_at, expires_at, client_token_id) \
    VALUES ($1, $2, $3, $4, $5, $6)";
const SELECT_LIVE: &str = concat!(
    "SELECT ",
    user_columns_u!(),
    ", l.rom_id FROM download_links l JOIN users u ON u.id = l.user_id ",
    "WHERE l.token_hash = $1 AND l.expires_at > $2"
);
/// Ends a user's links; run with the other statements that end their
/// sign-ins (see `credentials`).
pub(super) const DELETE_DOWNLOAD_LINKS_OF: &str = "DELETE FROM download_links WHERE user_id = $1";

impl Store {
    pub async fn insert_download_link(
        &self,
        token_hash: &str,
        user_id: i64,
        rom_id: i64,
        now: i64,
        expires_at: i64,
        client_token_id: Option<i64>,
    ) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(INSERT)
            .bind(token_hash)
            .bind(user_id)
            .bind(rom_id)
            .bind(now)
            .bind(expires_at)
            .bind(client_token_id)
            .execute(p)
            .await
            .map(|_| ()))
        .map_err(StoreError::from_write)
    }

    /// The unexpired link with this hash and its owner, or `None`.
    pub async fn find_download_link(&self, token_hash: &str, now: i64) -> Result<Option<DownloadLinkRow>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_as(SELECT_LIVE).bind(token_hash).bind(now).fetch_optional(p).await)?)
    }

    /// How many links a user holds, expired or not (tests).
    pub async fn count_download_links(&self, user_id: i64) -> Result<i64, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM download_links WHERE user_id = $1";
        Ok(on_pool!(self, p => sqlx::query_scalar(SQL).bind(user_id).fetch_one(p).await)?)
    }
}
