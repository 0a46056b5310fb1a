//! The per-request credential queries: one session or access token with its
//! user, by hash, and the same for many hashes at once (the PostgreSQL
//! batches). A leaf of `store`, shared by the lookup seam
//! (`credentials`) and the SQLite fast path (`direct`), so neither names
//! the other.

use super::users::user_columns_u;

pub(super) const SELECT_SESSION: &str = concat!(
    "SELECT ",
    user_columns_u!(),
    " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2"
);
/// `SELECT_SESSION` for many hashes at once, expiry left to the caller.
pub(super) const SELECT_SESSIONS_BATCHED: &str = concat!(
    "SELECT s.token_hash, s.expires_at, ",
    user_columns_u!(),
    " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ANY($1)"
);
pub(super) const SELECT_ACCESS_TOKEN: &str = concat!(
    "SELECT ",
    user_columns_u!(),
    ", t.scopes ",
    "FROM access_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1 AND t.expires_at > $2"
);
/// `SELECT_ACCESS_TOKEN` for many hashes at once, expiry left to the caller.
pub(super) const SELECT_ACCESS_TOKENS_BATCHED: &str = concat!(
    "SELECT t.token_hash, t.expires_at, ",
    user_columns_u!(),
    ", t.scopes FROM access_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ANY($1)"
);
