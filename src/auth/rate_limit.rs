//! Limits on what one client may try, as named policies: failed logins, and
//! single sign-ons started. Counters live in the database, so every instance
//! counts together.

use super::Auth;
use crate::error::{AppError, AppResult, Kind};
use crate::store::Store;

#[derive(Debug, Clone, Copy)]
pub struct RateLimitPolicy {
    pub name: &'static str,
    /// Events counted in one window before the next is refused.
    pub max_events: i64,
    pub window_seconds: i64,
    /// What the refused person reads.
    pub message: &'static str,
}

const FAILED_LOGINS: &str = "Too many failed sign-in attempts. Wait a few minutes and try again.";

/// Failed password checks from one client address.
pub const LOGIN_PER_ADDRESS: RateLimitPolicy = RateLimitPolicy {
    name: "login-address",
    max_events: 30,
    window_seconds: 900,
    message: FAILED_LOGINS,
};
/// Failed password checks against one username, from anywhere.
pub const LOGIN_PER_USERNAME: RateLimitPolicy = RateLimitPolicy {
    name: "login-username",
    max_events: 10,
    window_seconds: 900,
    message: FAILED_LOGINS,
};
/// Single sign-ons started from one client address. Each start stores a
/// login attempt until it is used or expires (10 minutes), so without a
/// limit anyone could fill the database by asking for the start page.
/// Generous for a household behind one address, auto-login included.
pub const SSO_STARTS_PER_ADDRESS: RateLimitPolicy = RateLimitPolicy {
    name: "sso-start-address",
    max_events: 60,
    window_seconds: 600,
    message: "Too many sign-ins were started from your network. Wait a few minutes and try again.",
};

/// Back-channel logout posts from one client address. Anyone can post
/// there, and each post may make romgate look at the provider; the provider
/// itself sends one post per ended session, far fewer than this.
pub const BACKCHANNEL_LOGOUTS_PER_ADDRESS: RateLimitPolicy = RateLimitPolicy {
    name: "backchannel-logout-address",
    max_events: 120,
    window_seconds: 60,
    message: "Too many logout notifications from this address. Wait a minute and try again.",
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
        if window.count < self.max_events {
            return Ok(());
        }
        let retry_after = (window.started_at + self.window_seconds - now).max(1);
        Err(AppError::refuse(
            Kind::TooManyRequests {
                retry_after_seconds: u64::try_from(retry_after).unwrap_or(1),
            },
            "too_many_attempts",
            self.message,
        )
        .hint(
            "Limits count per client address (and failed logins per username too). Behind a reverse proxy, \
             list it in ROMGATE_TRUSTED_PROXIES, or every client shares the proxy's address.",
        ))
    }

    /// Counts one event (a failure, a start) for `subject`.
    pub async fn record(&self, store: &Store, subject: &str, now: i64) -> AppResult<()> {
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

impl Auth {
    /// Counts a single sign-on started from `client`; refuses (429) once
    /// `SSO_STARTS_PER_ADDRESS` is reached, before anything is stored.
    pub async fn count_sso_start(&self, client: &str, now: i64) -> AppResult<()> {
        SSO_STARTS_PER_ADDRESS.check(&self.store, client, now).await?;
        SSO_STARTS_PER_ADDRESS.record(&self.store, client, now).await
    }

    /// Counts a back-channel logout post from `client`; refuses (429) once
    /// `BACKCHANNEL_LOGOUTS_PER_ADDRESS` is reached, before any other work.
    pub async fn count_backchannel_logout(&self, client: &str, now: i64) -> AppResult<()> {
        BACKCHANNEL_LOGOUTS_PER_ADDRESS.check(&self.store, client, now).await?;
        BACKCHANNEL_LOGOUTS_PER_ADDRESS.record(&self.store, client, now).await
    }
}
