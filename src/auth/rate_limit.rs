//! Limits on what one client may try, as named policies: failed logins, and
//! single sign-ons started. Counters live in the database, so every instance
//! counts together.
//!
//! Guarantee: an event is counted BEFORE the work it limits is done, by one
//! atomic statement that returns the new count (`RateLimitPolicy::hit`), so
//! N events arriving at once cost at most the limit, on SQLite and
//! PostgreSQL alike. Work whose count went over the limit is refused (429
//! with Retry-After, the end of the window), never done.
//! How the login policies combine: `login_limits`.

use std::net::IpAddr;

use super::Auth;
use crate::error::{AppError, AppResult, Code, Kind};
use crate::store::{Store, Window};

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

/// Failed password checks from one client address (any username).
pub const LOGIN_PER_ADDRESS: RateLimitPolicy = RateLimitPolicy {
    name: "login-address",
    max_events: 30,
    window_seconds: 900,
    message: FAILED_LOGINS,
};
/// Failed password checks against one username from one client address.
pub const LOGIN_PER_USER_ADDRESS: RateLimitPolicy = RateLimitPolicy {
    name: "login-user-address",
    max_events: 10,
    window_seconds: 900,
    message: FAILED_LOGINS,
};
/// Failed password checks against one username from every address that has
/// not signed in to it lately (see `login_limits`): bounds a guesser with
/// many addresses, while the owner's usual addresses stay open.
pub const LOGIN_PER_USERNAME: RateLimitPolicy = RateLimitPolicy {
    name: "login-username",
    max_events: 20,
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

/// What an address is counted as: an IPv4 address whole, an IPv6 address by
/// its /64 network (one subscriber's LAN; an attacker holding a /64 could
/// otherwise take a fresh address for every guess). Anything else as given.
pub fn address_subject(client: &str) -> String {
    match client.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
        Ok(IpAddr::V6(v6)) => {
            let [a, b, c, d, ..] = v6.segments();
            format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
        }
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => client.to_string(),
    }
}

/// How many times a policy's limit an IPv6 /48 network may use, counted
/// besides each of its /64s (`RateLimitPolicy::count_address`).
pub const NETWORK_FACTOR: i64 = 8;

/// The /48 network an IPv6 address belongs to, `None` for anything else. A
/// site's allocation is a /48 (or smaller), so one holder of a /48 (a free
/// tunnel broker's) has 65,536 /64s: counted per /64 only, each limit on
/// anonymous work (sign-ins and device sign-ins started, each one a row
/// for ten minutes) would be 65,536 times as wide for them.
pub fn network_subject(client: &str) -> Option<String> {
    match client.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
        Ok(IpAddr::V6(v6)) => {
            let [a, b, c, ..] = v6.segments();
            Some(format!("{a:x}:{b:x}:{c:x}::/48"))
        }
        _ => None,
    }
}

/// One counted event: the window's state right after it was counted.
#[derive(Debug, Clone)]
pub struct Hit {
    policy: RateLimitPolicy,
    key: String,
    window: Window,
}

impl Hit {
    /// This event went past the limit: refuse the work it asked for.
    pub fn over_limit(&self) -> bool {
        self.window.count > self.policy.max_events
    }

    /// This is the first refused event of its window: the moment to log.
    /// Counts are handed out atomically, so one event per window gets it
    /// (two, if a correct password gave a slot back in between).
    pub fn starts_refusing(&self) -> bool {
        self.window.count == self.policy.max_events + 1
    }

    pub fn policy_name(&self) -> &'static str {
        self.policy.name
    }

    /// Seconds until the window ends (at least 1).
    pub fn retry_after(&self, now: i64) -> i64 {
        (self.window.started_at + self.policy.window_seconds - now).max(1)
    }

    /// The 429 for this event (counted in the metrics: every refusal of
    /// a limit is made here).
    pub fn refusal(&self, now: i64) -> AppError {
        crate::metrics::rate_limit_refused(self.policy.name);
        AppError::refuse(
            Kind::TooManyRequests {
                retry_after_seconds: u64::try_from(self.retry_after(now)).unwrap_or(1),
            },
            Code::TooManyAttempts,
            self.policy.message,
        )
        .hint(
            "Limits count per client address (and failed logins per username too). Behind a reverse proxy, \
             list it in ROMGATE_TRUSTED_PROXIES, or every client shares the proxy's address. \
             `romgate user unlock NAME` or the users page clears a username's sign-in limits.",
        )
    }

    /// Un-counts this event (it turned out not to be one to limit, such as
    /// a correct password). Only the window that counted it is touched.
    pub async fn give_back(&self, store: &Store) -> AppResult<()> {
        store.rate_limit_give_back(&self.key, self.window.started_at).await?;
        Ok(())
    }
}

impl RateLimitPolicy {
    /// The counter's key for `subject` (a prefix of keys, when `subject`
    /// is a prefix of subjects).
    pub(crate) fn key(&self, subject: &str) -> String {
        format!("{}:{subject}", self.name)
    }

    /// Counts one event for `subject` in one atomic statement and returns
    /// the count it got. Call this BEFORE the work; see `Hit::over_limit`.
    pub async fn hit(&self, store: &Store, subject: &str, now: i64) -> AppResult<Hit> {
        let key = self.key(subject);
        let window = store.rate_limit_hit(&key, now, self.window_seconds).await?;
        Ok(Hit {
            policy: *self,
            key,
            window,
        })
    }

    /// Counts one event for `subject`; refuses with 429 when it is over the
    /// limit. Atomic: N concurrent calls let at most `max_events` through.
    pub async fn count(&self, store: &Store, subject: &str, now: i64) -> AppResult<()> {
        let hit = self.hit(store, subject, now).await?;
        if hit.over_limit() {
            return Err(hit.refusal(now));
        }
        Ok(())
    }

    /// `count` for the client address `client` (see `address_subject`),
    /// and for an IPv6 address its /48 too, at `NETWORK_FACTOR` times the
    /// limit (see `network_subject`).
    pub async fn count_address(&self, store: &Store, client: &str, now: i64) -> AppResult<()> {
        self.count(store, &address_subject(client), now).await?;
        if let Some(network) = network_subject(client) {
            let whole_network = RateLimitPolicy {
                max_events: self.max_events.saturating_mul(NETWORK_FACTOR),
                ..*self
            };
            whole_network.count(store, &network, now).await?;
        }
        Ok(())
    }

    /// Refuses with 429 when the window for `subject` is full. A look only:
    /// concurrent callers all pass it, so prefer `count` for anything that
    /// must hold under concurrency.
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
        let full = Hit {
            policy: *self,
            key: self.key(subject),
            window,
        };
        Err(full.refusal(now))
    }

    /// Counts one event (a failure, a start) for `subject`.
    pub async fn record(&self, store: &Store, subject: &str, now: i64) -> AppResult<()> {
        self.hit(store, subject, now).await?;
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
        SSO_STARTS_PER_ADDRESS.count_address(&self.store, client, now).await
    }

    /// Counts a back-channel logout post from `client`; refuses (429) once
    /// `BACKCHANNEL_LOGOUTS_PER_ADDRESS` is reached, before any other work.
    pub async fn count_backchannel_logout(&self, client: &str, now: i64) -> AppResult<()> {
        BACKCHANNEL_LOGOUTS_PER_ADDRESS
            .count_address(&self.store, client, now)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::{address_subject, network_subject};

    #[test]
    fn ipv6_networks_are_their_48() {
        assert_eq!(
            network_subject("2001:db8:1:2:aaaa::1").as_deref(),
            Some("2001:db8:1::/48")
        );
        assert_eq!(network_subject("2001:db8:1:ffff::1"), network_subject("2001:db8:1::9"));
        assert_eq!(network_subject("203.0.113.5"), None);
        assert_eq!(network_subject("::ffff:203.0.113.5"), None);
        assert_ne!(
            address_subject("2001:db8:1::1"),
            network_subject("2001:db8:1::1").unwrap_or_default()
        );
    }

    #[test]
    fn ipv6_addresses_count_by_their_64_network() {
        assert_eq!(address_subject("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            address_subject("2001:db8:1:2:ffff:1:2:3"),
            address_subject("2001:db8:1:2::9")
        );
        assert_ne!(address_subject("2001:db8:1:2::1"), address_subject("2001:db8:1:3::1"));
        assert_eq!(address_subject("203.0.113.5"), "203.0.113.5");
        assert_eq!(address_subject("::ffff:203.0.113.5"), "203.0.113.5");
        assert_eq!(address_subject("unknown"), "unknown");
    }
}
