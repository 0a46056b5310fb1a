//! What an operator watches about the database: whether it answers with
//! this binary's schema (the readiness probe), how many sessions are live
//! and how busy the connection pool is (the metrics, read at scrape time).

use super::{Pool, Store, StoreError, on_pool};

const APPLIED_MIGRATIONS: &str = "SELECT version FROM _sqlx_migrations WHERE success";
/// Uses `sessions_expires`: one index range, not a table scan.
const COUNT_LIVE_SESSIONS: &str = "SELECT COUNT(*) FROM sessions WHERE expires_at > $1";

/// The database answered; whether its schema is this binary's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// Every migration this binary knows is applied.
    Current,
    /// This many of this binary's migrations are not applied (yet).
    Behind(usize),
}

/// The connection pool at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    /// Open connections, idle or in use.
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

impl Store {
    /// Asks the database which migrations it has applied, and compares them
    /// with this binary's. An error: the database did not answer (or has no
    /// migration table at all).
    pub async fn schema(&self) -> Result<Schema, StoreError> {
        let applied: Vec<i64> = on_pool!(self, p => sqlx::query_scalar(APPLIED_MIGRATIONS).fetch_all(p).await)?;
        let behind = self.migrator().iter().filter(|m| !applied.contains(&m.version)).count();
        Ok(if behind == 0 {
            Schema::Current
        } else {
            Schema::Behind(behind)
        })
    }

    /// Sessions that have not expired at `now`.
    pub async fn count_live_sessions(&self, now: i64) -> Result<i64, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_scalar(COUNT_LIVE_SESSIONS).bind(now).fetch_one(p).await)?)
    }

    /// The pool's connections now: no query, no wait.
    pub fn pool_usage(&self) -> PoolUsage {
        let (open, idle, max) = match &self.pool {
            Pool::Sqlite(p) => (p.size(), p.num_idle(), p.options().get_max_connections()),
            Pool::Postgres(p) => (p.size(), p.num_idle(), p.options().get_max_connections()),
        };
        PoolUsage {
            open,
            idle: u32::try_from(idle).unwrap_or(u32::MAX),
            max,
        }
    }
}
