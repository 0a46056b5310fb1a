//! Pairing codes (SPEC 8.2): short-lived, single-use codes that exchange
//! for a fresh secret of one client token. Stored as keyed hashes; taken
//! by one `DELETE … RETURNING`, so of two exchanges at once exactly one
//! gets the code, on any instance.

use super::{Store, StoreError, on_pool};

/// What a taken pairing code was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct PairingClaim {
    pub token_id: i64,
    pub user_id: i64,
}

const INSERT: &str =
    "INSERT INTO client_pairing_codes (code_hash, token_id, user_id, expires_at) VALUES ($1, $2, $3, $4)";
const PENDING: &str = "SELECT 1 FROM client_pairing_codes WHERE code_hash = $1 AND expires_at > $2";
const TAKE: &str = "DELETE FROM client_pairing_codes WHERE code_hash = $1 AND expires_at > $2 \
    RETURNING token_id, user_id";

impl Store {
    /// Stores a pairing code for token `token_id` of `user_id`. A collision
    /// with a live code is `StoreError::Conflict`.
    pub async fn insert_pairing_code(
        &self,
        code_hash: &str,
        token_id: i64,
        user_id: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(INSERT)
            .bind(code_hash)
            .bind(token_id)
            .bind(user_id)
            .bind(expires_at)
            .execute(p)
            .await
            .map(|_| ()))
        .map_err(StoreError::from_write)
    }

    /// Whether the code with this hash is unused and unexpired.
    pub async fn pairing_code_pending(&self, code_hash: &str, now: i64) -> Result<bool, StoreError> {
        let found: Option<i32> =
            on_pool!(self, p => sqlx::query_scalar(PENDING).bind(code_hash).bind(now).fetch_optional(p).await)?;
        Ok(found.is_some())
    }

    /// Uses up the code with this hash: what it was for, or `None` when it
    /// is unknown, expired or already used.
    pub async fn take_pairing_code(&self, code_hash: &str, now: i64) -> Result<Option<PairingClaim>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_as(TAKE).bind(code_hash).bind(now).fetch_optional(p).await)?)
    }
}
