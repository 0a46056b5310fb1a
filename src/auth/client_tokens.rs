//! Client API tokens (SPEC 8.2): `Authorization: Bearer rmm_…` on every API
//! call. A request gets the intersection of the token's scopes and its
//! owner's role as stored now, so a demotion, a disable, a deleted token or
//! a revoked device takes effect on the very next request.

use super::principal::{Credential, Principal};
use super::tokens::CLIENT_TOKEN_PREFIX;
use super::{Auth, ScopeSet};
use crate::error::AppResult;

/// Seconds between two writes of a token's last-used time: apps call the
/// API many times a minute, and a database write for each call would cost
/// more than the call. The page shows last use to the minute.
pub const LAST_USED_RESOLUTION_SECONDS: i64 = 60;

impl Auth {
    /// The principal behind a client token, or `None` when the token is
    /// unknown, expired, deleted, or its owner is disabled.
    pub async fn authenticate_client_token(&self, token: &str, now: i64) -> AppResult<Option<Principal>> {
        let Some(token_hash) = self.tokens.client_token_hash(token) else {
            return Ok(None);
        };
        let Some(row) = self.store.find_client_token(&token_hash, now).await? else {
            return Ok(None);
        };
        if !row.user.enabled {
            return Ok(None);
        }
        if row
            .last_used_at
            .is_none_or(|at| now - at >= LAST_USED_RESOLUTION_SECONDS)
        {
            self.store
                .touch_client_token(row.token_id, row.device_id.as_deref(), now)
                .await?;
        }
        let granted = ScopeSet::parse(&row.scopes).unwrap_or(ScopeSet::EMPTY);
        let scopes = granted.intersect(row.user.role.scopes());
        self.note_activity(&row.user, now).await?;
        Ok(Some(Principal {
            user: row.user,
            scopes,
            credential: Credential::ClientToken {
                token_id: row.token_id,
                device_id: row.device_id,
            },
        }))
    }

    /// Whether `token` has a client token's prefix, so the caller asks
    /// `authenticate_client_token` rather than the access-token lookup.
    pub fn is_client_token(token: &str) -> bool {
        token.starts_with(CLIENT_TOKEN_PREFIX)
    }
}
