//! Fixed-window counters for failed logins, shared by every instance.

use super::{Store, StoreError, on_pool};

/// A counter's state after a hit or a look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub count: i64,
    pub started_at: i64,
}

/// Adds one to `key`, starting a new window when the old one is older than
/// `window_seconds`. One statement, so concurrent hits all count.
const HIT: &str = "INSERT INTO rate_limits (key, window_start, count) VALUES ($1, $2, 1) \
    ON CONFLICT (key) DO UPDATE SET \
    count = CASE WHEN rate_limits.window_start <= $3 THEN 1 ELSE rate_limits.count + 1 END, \
    window_start = CASE WHEN rate_limits.window_start <= $3 THEN $2 ELSE rate_limits.window_start END \
    RETURNING count, window_start";
const LOOK: &str = "SELECT count, window_start FROM rate_limits WHERE key = $1 AND window_start > $2";

impl Store {
    pub async fn rate_limit_hit(&self, key: &str, now: i64, window_seconds: i64) -> Result<Window, StoreError> {
        let (count, started_at): (i64, i64) = on_pool!(self, p => sqlx::query_as(HIT)
            .bind(key)
            .bind(now)
            .bind(now - window_seconds)
            .fetch_one(p)
            .await)?;
        Ok(Window { count, started_at })
    }

    /// The current window of `key`, if one is open.
    pub async fn rate_limit_look(
        &self,
        key: &str,
        now: i64,
        window_seconds: i64,
    ) -> Result<Option<Window>, StoreError> {
        let row: Option<(i64, i64)> = on_pool!(self, p => sqlx::query_as(LOOK)
            .bind(key)
            .bind(now - window_seconds)
            .fetch_optional(p)
            .await)?;
        Ok(row.map(|(count, started_at)| Window { count, started_at }))
    }

    pub async fn rate_limit_clear(&self, key: &str) -> Result<(), StoreError> {
        const SQL: &str = "DELETE FROM rate_limits WHERE key = $1";
        on_pool!(self, p => sqlx::query(SQL).bind(key).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }
}

/// Drops windows that ended more than a day ago.
pub(super) async fn delete_stale(store: &Store, now: i64) -> Result<(), StoreError> {
    const SQL: &str = "DELETE FROM rate_limits WHERE window_start < $1";
    on_pool!(store, p => sqlx::query(SQL).bind(now - 86_400).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}
