//! Client tokens and the devices they belong to (SPEC 8.2, 8.4): the lookup
//! every `rmm_` request makes, and the coalesced last-use write. Only keyed
//! hashes of tokens are stored.

use super::users::user_columns_u;
use super::{Store, StoreError, User, on_pool};

/// A client token joined with its (current) owner.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClientTokenAuth {
    #[sqlx(flatten)]
    pub user: User,
    pub token_id: i64,
    pub device_id: Option<String>,
    pub scopes: String,
    pub last_used_at: Option<i64>,
}

const SELECT_FOR_AUTH: &str = concat!(
    "SELECT ",
    user_columns_u!(),
    ", ct.id AS token_id, ct.device_id, ct.scopes, ct.last_used_at ",
    "FROM client_tokens ct JOIN users u ON u.id = ct.user_id ",
    "WHERE ct.token_hash = $1 AND (ct.expires_at IS NULL OR ct.expires_at > $2)"
);
const TOUCH_TOKEN: &str = "UPDATE client_tokens SET last_used_at = $2 WHERE id = $1";
const TOUCH_DEVICE: &str = "UPDATE devices SET last_seen_at = $2 WHERE id = $1";

impl Store {
    /// The unexpired client token with this hash, and its owner.
    pub async fn find_client_token(&self, token_hash: &str, now: i64) -> Result<Option<ClientTokenAuth>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_as(SELECT_FOR_AUTH).bind(token_hash).bind(now).fetch_optional(p).await)?)
    }

    /// Records that token `token_id` (and its device, if any) was used at
    /// `now`. Callers write at most once a minute per token (see
    /// `auth::client_tokens`), not on every request.
    pub async fn touch_client_token(&self, token_id: i64, device_id: Option<&str>, now: i64) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(TOUCH_TOKEN).bind(token_id).bind(now).execute(p).await.map(|_| ()))?;
        if let Some(device_id) = device_id {
            on_pool!(self, p => sqlx::query(TOUCH_DEVICE).bind(device_id).bind(now).execute(p).await.map(|_| ()))?;
        }
        Ok(())
    }
}
