//! HTTP Basic on every API call (SPEC 8.1, RomM's hybrid authentication):
//! the same password check as `POST /api/login`, without turning every
//! request into an argon2 hash or into an unlimited guessing oracle.
//!
//! - A credential is checked by `check_password` (login limits counted
//!   before the hash, disabled accounts refused, a sign-in log line) the
//!   first time, and then remembered for `VERIFIED_SECONDS` in a bounded
//!   in-memory cache of VERIFIED credentials only: a wrong password is never
//!   remembered, so every guess is a full check that costs a limiter slot,
//!   and runs into 429 like any other.
//! - The cache's key is the HMAC under the server key of the folded
//!   username and the password (never the password itself); its value is the
//!   user id, a fingerprint of the password hash stored when the password
//!   passed, and an expiry.
//! - A hit re-reads the account on every request: a different account under
//!   that username, another password hash (a password change anywhere), a
//!   disabled account or DISABLE_USERPASS_LOGIN is refused or checked afresh
//!   at once, and the scopes are the role's as stored now. Only argon2 and the
//!   limiter are skipped.
//! - A hit is not a sign-in: only checks that ran the password (and every
//!   refusal) are written to the sign-in log.
//! - At most `MAX_ENTRIES` credentials are kept; only right passwords get
//!   in, so filling it takes that many valid credentials. When full, the
//!   expired entries go, then the one closest to its expiry.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::login::account_disabled;
use super::sign_in_log::{self, Method};
use super::{Auth, Credential, Principal};
use crate::error::{AppResult, Code};
use crate::secret::Secret;
use crate::store::{User, fold};

/// How long a verified credential is taken without another hash.
pub const VERIFIED_SECONDS: i64 = 300;
/// Most credentials remembered at once.
pub const MAX_ENTRIES: usize = 1024;

/// A credential whose password passed.
#[derive(Clone)]
struct Verified {
    user_id: i64,
    /// SHA-256 of the password hash stored when the password passed.
    hash_fingerprint: [u8; 32],
    expires_at: i64,
}

/// The verified credentials, by HMAC of (folded username, password).
#[derive(Default)]
pub struct VerifiedCredentials {
    entries: Mutex<HashMap<String, Verified>>,
}

impl VerifiedCredentials {
    fn get(&self, key: &str, now: i64) -> Option<Verified> {
        let mut entries = self.entries.lock().ok()?;
        match entries.get(key) {
            Some(entry) if entry.expires_at > now => Some(entry.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    fn forget(&self, key: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(key);
        }
    }

    fn remember(&self, key: String, entry: Verified, now: i64) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&key) {
            entries.retain(|_, e| e.expires_at > now);
            if entries.len() >= MAX_ENTRIES {
                let soonest = entries.iter().min_by_key(|(_, e)| e.expires_at).map(|(k, _)| k.clone());
                if let Some(soonest) = soonest {
                    entries.remove(&soonest);
                }
            }
        }
        entries.insert(key, entry);
    }

    /// How many credentials are remembered (for tests).
    pub fn len(&self) -> usize {
        self.entries.lock().map_or(0, |entries| entries.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn fingerprint(hash: &str) -> [u8; 32] {
    Sha256::digest(hash.as_bytes()).into()
}

impl Auth {
    /// The caller behind `Authorization: Basic` credentials, with the
    /// scopes of their role. Refusals are those of `POST /api/login`.
    pub async fn authenticate_basic(
        &self,
        username: &str,
        password: &Secret,
        client: &str,
        now: i64,
    ) -> AppResult<Principal> {
        if let Err(err) = self.ensure_password_login_enabled() {
            sign_in_log::failed(Method::Basic, username, client, Code::PasswordLoginDisabled);
            return Err(err);
        }
        let key = self.basic_key(username, password);
        let user = match self.recall_verified(&key, username, now).await? {
            Some(user) if !user.enabled => {
                sign_in_log::failed(Method::Basic, username, client, Code::AccountDisabled);
                return Err(account_disabled());
            }
            Some(user) => {
                self.note_activity(&user, now).await?;
                user
            }
            None => {
                let checked = self
                    .password_check_any_account(Method::Basic, username, password, client, now)
                    .await?;
                let entry = Verified {
                    user_id: checked.user.id,
                    hash_fingerprint: fingerprint(&checked.hash),
                    expires_at: now.saturating_add(VERIFIED_SECONDS),
                };
                self.verified_basic.remember(key, entry, now);
                // A disabled account's right password is remembered too, so
                // its app's next calls are refused without a hash (above).
                if !checked.user.enabled {
                    return Err(account_disabled());
                }
                // A password checked is a sign-in (last login, as a session's).
                self.store.record_login(checked.user.id, now).await?;
                checked.user
            }
        };
        Ok(Principal {
            scopes: user.role.scopes(),
            user,
            credential: Credential::Basic,
        })
    }

    /// The account of a remembered credential, read now, when its username
    /// still names it and its password hash is still the one that passed.
    /// Anything else forgets the credential (the caller checks it afresh).
    async fn recall_verified(&self, key: &str, username: &str, now: i64) -> AppResult<Option<User>> {
        let Some(verified) = self.verified_basic.get(key, now) else {
            return Ok(None);
        };
        let found = self.store.find_user_with_hash(username).await?;
        let current = found.filter(|f| {
            f.user.id == verified.user_id
                && f.password_hash
                    .as_deref()
                    .is_some_and(|hash| fingerprint(hash) == verified.hash_fingerprint)
        });
        match current {
            Some(found) => Ok(Some(found.user)),
            None => {
                self.verified_basic.forget(key);
                Ok(None)
            }
        }
    }

    /// HMAC under the server key of the folded username and the password,
    /// length-prefixed so no two pairs share an input.
    fn basic_key(&self, username: &str, password: &Secret) -> String {
        let folded = fold(username);
        let mut input = Vec::with_capacity(16 + folded.len() + password.expose().len());
        input.extend_from_slice(b"basic:");
        input.extend_from_slice(folded.len().to_string().as_bytes());
        input.push(b':');
        input.extend_from_slice(folded.as_bytes());
        input.extend_from_slice(password.expose().as_bytes());
        self.tokens.mac(&input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(user_id: i64, expires_at: i64) -> Verified {
        Verified {
            user_id,
            hash_fingerprint: fingerprint("hash"),
            expires_at,
        }
    }

    #[test]
    fn the_cache_never_holds_more_than_its_bound() {
        let cache = VerifiedCredentials::default();
        for n in 0..MAX_ENTRIES + 10 {
            let n = i64::try_from(n).unwrap_or_default();
            cache.remember(format!("k{n}"), entry(n, 1_000 + n), 0);
        }
        assert_eq!(cache.len(), MAX_ENTRIES);
        // The ones closest to their expiry went first.
        assert!(cache.get("k0", 0).is_none());
        assert!(cache.get("k9", 0).is_none());
        assert!(cache.get("k10", 0).is_some());
    }

    #[test]
    fn expired_entries_are_not_taken_and_make_room_first() {
        let cache = VerifiedCredentials::default();
        cache.remember("old".into(), entry(1, 100), 0);
        assert!(cache.get("old", 99).is_some());
        assert!(cache.get("old", 100).is_none(), "expired at its time");
        assert!(cache.is_empty(), "and forgotten");
        for n in 0..MAX_ENTRIES {
            let n = i64::try_from(n).unwrap_or_default();
            cache.remember(format!("k{n}"), entry(n, if n < 5 { 10 } else { 1_000 }), 0);
        }
        cache.remember("new".into(), entry(7, 1_000), 50);
        assert_eq!(cache.len(), MAX_ENTRIES - 4, "the five expired ones made room");
        assert!(cache.get("new", 50).is_some());
    }
}
