//! How failed password sign-ins are limited: slow a guesser down without
//! ever locking the owner out for good.
//!
//! Every password attempt is counted BEFORE the password is checked, by one
//! atomic statement per policy (see `rate_limit`), so N attempts at once
//! reach the password check at most as often as the tightest limit allows.
//! A correct password gives its slots back, so only failures use a limit up.
//! Three fixed windows of 15 minutes:
//!
//! 1. `LOGIN_PER_ADDRESS`: 30 failures from one client address (an IPv6
//!    client by its /64), whatever the usernames.
//! 2. `LOGIN_PER_USER_ADDRESS`: 10 failures against one username from one
//!    address. Reset when the right password comes from that address.
//! 3. `LOGIN_PER_USERNAME`: 20 failures against one username from all the
//!    addresses that have NOT signed in to it with its password in the last
//!    90 days. An attacker with many addresses is held to 20 guesses per
//!    quarter hour, while the owner, from an address they signed in from
//!    before, is never refused because of what other addresses did.
//!
//! So an attacker elsewhere can slow down only the owner's sign-ins from
//! new addresses, and only for the rest of a window. An administrator
//! clears a username's limits (2 and 3) with `romgate user unlock NAME` or
//! the users page; setting a new password clears them too and forgets the
//! known addresses (a leaked password's thief may have signed in). The
//! first refusal of each window is logged once, as a warning naming the
//! policy, the username tried and the client address (never the password).
//! Usernames are counted and remembered as the SHA-256 of their folded form.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::rate_limit::{
    Hit, LOGIN_PER_ADDRESS, LOGIN_PER_USER_ADDRESS, LOGIN_PER_USERNAME, RateLimitPolicy, address_subject,
};
use super::{Auth, Principal, Scope};
use crate::error::{AppError, AppResult};
use crate::store::{User, Window, fold};

/// How long a successful password sign-in exempts its address from the
/// username-wide limit.
pub const KNOWN_ADDRESS_SECONDS: i64 = 90 * 86_400;

/// The longest part of a tried username written to the log.
const LOGGED_USERNAME_CHARS: usize = 64;

/// One password attempt: who it claims to be, where it comes from.
pub(super) struct LoginAttempt<'a> {
    username: &'a str,
    client: &'a str,
    user_key: String,
    address: String,
}

/// The slots an attempt took, to give back when the password was right.
pub(super) struct TakenSlots {
    address: Hit,
    /// None when the address is known to the username (limit 3 skipped).
    username: Option<Hit>,
}

pub(super) fn user_key(username: &str) -> String {
    hex::encode(Sha256::digest(fold(username).as_bytes()))
}

/// Every key of `LOGIN_PER_USER_ADDRESS` for this username starts so.
fn user_address_prefix(user_key: &str) -> String {
    LOGIN_PER_USER_ADDRESS.key(&format!("{user_key}:"))
}

impl<'a> LoginAttempt<'a> {
    pub(super) fn new(username: &'a str, client: &'a str) -> Self {
        Self {
            username,
            client,
            user_key: user_key(username),
            address: address_subject(client),
        }
    }

    fn user_address_subject(&self) -> String {
        format!("{}:{}", self.user_key, self.address)
    }
}

impl Auth {
    /// Counts `attempt` under every login limit that applies, before its
    /// password is checked; refuses (429) at the first one it goes over.
    pub(super) async fn take_login_slots(&self, attempt: &LoginAttempt<'_>, now: i64) -> AppResult<TakenSlots> {
        let address = self
            .take_slot(LOGIN_PER_ADDRESS, &attempt.address, attempt, now)
            .await?;
        self.take_slot(LOGIN_PER_USER_ADDRESS, &attempt.user_address_subject(), attempt, now)
            .await?;
        let known = self
            .store
            .login_address_known(&attempt.user_key, &attempt.address, now)
            .await?;
        let username = if known {
            None
        } else {
            Some(
                self.take_slot(LOGIN_PER_USERNAME, &attempt.user_key, attempt, now)
                    .await?,
            )
        };
        Ok(TakenSlots { address, username })
    }

    async fn take_slot(
        &self,
        policy: RateLimitPolicy,
        subject: &str,
        attempt: &LoginAttempt<'_>,
        now: i64,
    ) -> AppResult<Hit> {
        let hit = policy.hit(&self.store, subject, now).await?;
        if !hit.over_limit() {
            return Ok(hit);
        }
        if hit.starts_refusing() {
            let username: String = attempt.username.chars().take(LOGGED_USERNAME_CHARS).collect();
            tracing::warn!(
                policy = hit.policy_name(),
                username = ?username,
                client = ?attempt.client,
                retry_after_seconds = hit.retry_after(now),
                "sign-in locked: too many failed passwords; attempts are refused until the window ends"
            );
        }
        Err(hit.refusal(now))
    }

    /// The password was right: its slots are given back, the failures of
    /// this username from this address are forgotten, and the address is
    /// remembered as one the owner uses.
    pub(super) async fn settle_login_success(
        &self,
        attempt: &LoginAttempt<'_>,
        slots: TakenSlots,
        now: i64,
    ) -> AppResult<()> {
        slots.address.give_back(&self.store).await?;
        if let Some(username) = &slots.username {
            username.give_back(&self.store).await?;
        }
        LOGIN_PER_USER_ADDRESS
            .reset(&self.store, &attempt.user_address_subject())
            .await?;
        self.store
            .login_address_remember(&attempt.user_key, &attempt.address, now + KNOWN_ADDRESS_SECONDS)
            .await?;
        Ok(())
    }

    /// Clears every sign-in limit on `username` (from anywhere). The limits
    /// of client addresses are theirs, not the account's: they run out.
    pub async fn clear_login_limits(&self, username: &str) -> AppResult<()> {
        let key = user_key(username);
        LOGIN_PER_USERNAME.reset(&self.store, &key).await?;
        self.store.rate_limit_clear_prefix(&user_address_prefix(&key)).await?;
        Ok(())
    }

    /// Clears the sign-in limits of user `id` on behalf of `actor` (who
    /// needs users.write).
    pub async fn unlock_sign_in(&self, actor: &Principal, id: i64) -> AppResult<User> {
        actor.require(&[Scope::UsersWrite])?;
        let user = self
            .store
            .find_user(id)
            .await?
            .ok_or_else(|| AppError::not_found("No such user."))?;
        self.clear_login_limits(&user.username).await?;
        tracing::info!(
            user_id = id,
            by = actor.user.id,
            "sign-in limits cleared by an administrator"
        );
        Ok(user)
    }

    /// After a new password: limits cleared, and the addresses that signed
    /// in with the old one no longer exempt from the username-wide limit.
    pub async fn reset_login_limits_for_new_password(&self, username: &str) -> AppResult<()> {
        self.clear_login_limits(username).await?;
        self.store.login_addresses_forget(&user_key(username)).await?;
        Ok(())
    }

    /// When `username` is refused from somewhere (username-wide, or from one
    /// address), the time the last such refusal ends; None when it is not.
    pub async fn login_limited_until(&self, username: &str, now: i64) -> AppResult<Option<i64>> {
        let key = user_key(username);
        let wide = self
            .store
            .rate_limit_look(&LOGIN_PER_USERNAME.key(&key), now, LOGIN_PER_USERNAME.window_seconds)
            .await?
            .and_then(|w| refused_until(LOGIN_PER_USERNAME, w));
        let per_address = self
            .store
            .rate_limit_look_prefix(&user_address_prefix(&key), now, LOGIN_PER_USER_ADDRESS.window_seconds)
            .await?
            .into_iter()
            .filter_map(|(_, w)| refused_until(LOGIN_PER_USER_ADDRESS, w));
        Ok(wide.into_iter().chain(per_address).max())
    }

    /// `login_limited_until` for every username at once, by user key (see
    /// `user_key`): two queries, whatever the number of accounts.
    pub(super) async fn login_limits_by_user_key(&self, now: i64) -> AppResult<HashMap<String, i64>> {
        let mut until: HashMap<String, i64> = HashMap::new();
        for policy in [LOGIN_PER_USERNAME, LOGIN_PER_USER_ADDRESS] {
            let prefix = policy.key("");
            let windows = self
                .store
                .rate_limit_look_prefix(&prefix, now, policy.window_seconds)
                .await?;
            for (key, window) in windows {
                let Some(subject) = key.strip_prefix(&prefix) else {
                    continue;
                };
                // `{user_key}` or `{user_key}:{address}`.
                let user = subject.split_once(':').map_or(subject, |(user, _)| user);
                if let Some(end) = refused_until(policy, window) {
                    let entry = until.entry(user.to_string()).or_insert(end);
                    *entry = (*entry).max(end);
                }
            }
        }
        Ok(until)
    }
}

/// When a full window of `policy` stops refusing; None while not full.
fn refused_until(policy: RateLimitPolicy, window: Window) -> Option<i64> {
    (window.count >= policy.max_events).then_some(window.started_at + policy.window_seconds)
}
