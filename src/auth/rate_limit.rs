//! Failed-login limits as named policies. Counters live in the database, so
//! every instance counts together.

use crate::error::{AppError, AppResult, Kind};
use crate::store::Store;

#[derive(Debug, Clone, Copy)]
pub struct RateLimitPolicy {
    pub name: &'static str,
    pub max_failures: i64,
    pub window_seconds: i64,
}

/// Failed password checks from one client address.
pub const LOGIN_PER_ADDRESS: RateLimitPolicy = RateLimitPolicy {
    name: "login-address",
    max_failures: 30,
    window_seconds: 900,
};
/// Failed password checks against one username, from anywhere.
pub const LOGIN_PER_USERNAME: RateLimitPolicy = RateLimitPolicy {
    name: "login-username",
    max_failures: 10,
    window_seconds: 900,
};

impl RateLimitPolicy {
    fn key(&self, subject: &str) -> String {
        format!("{}:{subject}", self.name)
    }

    /// Refuses with 429 when the window for `subject` is full.
    pub async fn check(&self, store: &Store, subject: &str, now: i64) -> AppResult<()> {
        let Some(window) = store
            .rate_limit_look(&self.key(subject), now, self.window_seconds)
            .await?
        else {
            return Ok(());
        };
        if window.count < self.max_failures {
            return Ok(());
        }
        let retry_after = (window.started_at + self.window_seconds - now).max(1);
        Err(AppError::refuse(
            Kind::TooManyRequests {
                retry_after_seconds: u64::try_from(retry_after).unwrap_or(1),
            },
            "too_many_attempts",
            "Too many failed sign-in attempts. Wait a few minutes and try again.",
        ))
    }

    pub async fn record_failure(&self, store: &Store, subject: &str, now: i64) -> AppResult<()> {
        store
            .rate_limit_hit(&self.key(subject), now, self.window_seconds)
            .await?;
        Ok(())
    }

    pub async fn reset(&self, store: &Store, subject: &str) -> AppResult<()> {
        store.rate_limit_clear(&self.key(subject)).await?;
        Ok(())
    }
}
