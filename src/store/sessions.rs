//! A person's own browser sessions, for the devices page: the list, and
//! ending one of them. Both name the owner in the query, so a session of
//! someone else is never listed and never deleted, whatever hash is given.

use super::{Store, StoreError, on_pool};

/// One live session as its owner sees it listed. `token_hash` stays inside
/// the domain layer: the page shows a public id derived from it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub token_hash: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// The issuer of the single sign-on that opened it (none: a password).
    pub oidc_issuer: Option<String>,
}

const LIST_SESSIONS: &str = "SELECT token_hash, created_at, expires_at, oidc_issuer FROM sessions \
    WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at DESC, token_hash";
const DELETE_USER_SESSION: &str = "DELETE FROM sessions WHERE user_id = $1 AND token_hash = $2";

impl Store {
    /// The unexpired sessions of `user_id`, newest first.
    pub async fn list_sessions(&self, user_id: i64, now: i64) -> Result<Vec<SessionRow>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_as(LIST_SESSIONS).bind(user_id).bind(now).fetch_all(p).await)?)
    }

    /// Deletes the session with this hash if `user_id` owns it; whether one
    /// was deleted.
    pub async fn delete_user_session(&self, user_id: i64, token_hash: &str) -> Result<bool, StoreError> {
        let deleted = on_pool!(self, p => sqlx::query(DELETE_USER_SESSION)
            .bind(user_id)
            .bind(token_hash)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(deleted > 0)
    }
}
