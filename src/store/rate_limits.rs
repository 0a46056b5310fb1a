//! Fixed-window counters for failed logins (and other limited events), and
//! the addresses each username recently signed in from; shared by every
//! instance.

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
/// Takes one back from a window, only the window that counted it.
const GIVE_BACK: &str = "UPDATE rate_limits SET count = count - 1 \
    WHERE key = $1 AND window_start = $2 AND count > 0";
const LOOK_PREFIX: &str = "SELECT key, count, window_start FROM rate_limits \
    WHERE key LIKE $1 ESCAPE '\\' AND window_start > $2";
const CLEAR_PREFIX: &str = "DELETE FROM rate_limits WHERE key LIKE $1 ESCAPE '\\'";
const REMEMBER: &str = "INSERT INTO login_known_addresses (user_key, address, expires_at) VALUES ($1, $2, $3) \
    ON CONFLICT (user_key, address) DO UPDATE SET expires_at = excluded.expires_at";
const KNOWN: &str = "SELECT 1 FROM login_known_addresses WHERE user_key = $1 AND address = $2 AND expires_at > $3";

/// `prefix` as a LIKE pattern that matches exactly the keys starting with it.
fn like_prefix(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

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

    /// Takes back one hit of `key` made in the window that started at
    /// `started_at` (a later window is left alone).
    pub async fn rate_limit_give_back(&self, key: &str, started_at: i64) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(GIVE_BACK).bind(key).bind(started_at).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The open windows of every key that starts with `prefix`.
    pub async fn rate_limit_look_prefix(
        &self,
        prefix: &str,
        now: i64,
        window_seconds: i64,
    ) -> Result<Vec<(String, Window)>, StoreError> {
        let rows: Vec<(String, i64, i64)> = on_pool!(self, p => sqlx::query_as(LOOK_PREFIX)
            .bind(like_prefix(prefix))
            .bind(now - window_seconds)
            .fetch_all(p)
            .await)?;
        Ok(rows
            .into_iter()
            .map(|(key, count, started_at)| (key, Window { count, started_at }))
            .collect())
    }

    /// Deletes every counter whose key starts with `prefix`.
    pub async fn rate_limit_clear_prefix(&self, prefix: &str) -> Result<(), StoreError> {
        let pattern = like_prefix(prefix);
        on_pool!(self, p => sqlx::query(CLEAR_PREFIX).bind(&pattern).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Notes that `user_key` signed in from `address`, until `expires_at`.
    pub async fn login_address_remember(
        &self,
        user_key: &str,
        address: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(REMEMBER).bind(user_key).bind(address).bind(expires_at).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn login_address_known(&self, user_key: &str, address: &str, now: i64) -> Result<bool, StoreError> {
        let row: Option<(i32,)> = on_pool!(self, p => sqlx::query_as(KNOWN)
            .bind(user_key)
            .bind(address)
            .bind(now)
            .fetch_optional(p)
            .await)?;
        Ok(row.is_some())
    }

    /// Forgets every address `user_key` signed in from.
    pub async fn login_addresses_forget(&self, user_key: &str) -> Result<(), StoreError> {
        const SQL: &str = "DELETE FROM login_known_addresses WHERE user_key = $1";
        on_pool!(self, p => sqlx::query(SQL).bind(user_key).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }
}

/// Drops windows that ended more than a day ago, and known addresses past
/// their time.
pub(super) async fn delete_stale(store: &Store, now: i64) -> Result<(), StoreError> {
    on_pool!(store, p => sqlx::query(DELETE_STALE_WINDOWS).bind(now - 86_400).execute(p).await.map(|r| r.rows_affected()))?;
    on_pool!(store, p => sqlx::query(DELETE_STALE_KNOWN).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}
pub(super) const DELETE_STALE_WINDOWS: &str = "DELETE FROM rate_limits WHERE window_start < $1";
pub(super) const DELETE_STALE_KNOWN: &str = "DELETE FROM login_known_addresses WHERE expires_at <= $1";

#[cfg(test)]
mod tests {
    use super::like_prefix;

    #[test]
    fn like_prefix_escapes_wildcards() {
        assert_eq!(like_prefix("login:ab12:"), "login:ab12:%");
        assert_eq!(like_prefix("a_b%c\\d"), "a\\_b\\%c\\\\d%");
    }
}
