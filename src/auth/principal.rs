//! Who is making a request, and what they may do. Scopes come from the
//! user's role as stored now, so a demotion or a disable takes effect on the
//! very next request.

use super::Auth;
use super::tokens::{CLIENT_TOKEN_PREFIX, TokenKind};
use super::{Scope, ScopeSet};
use crate::error::{AppError, AppResult, Code};
use crate::store::{Minter, User};

/// How the request proved who it is.
#[derive(Debug, Clone)]
pub enum Credential {
    Session {
        token_hash: String,
    },
    Bearer {
        token_hash: String,
    },
    /// A client API token (`rmm_…`), possibly bound to a device.
    ClientToken {
        token_id: i64,
        device_id: Option<String>,
    },
    /// `Authorization: Basic` on this request (see `basic`): nothing to
    /// end at logout, and no CSRF token needed: it is not a cookie, and
    /// romgate never answers with a `WWW-Authenticate: Basic` challenge, so
    /// browsers neither prompt for it nor send it on their own (behind a
    /// proxy that asks for Basic they do: the web layer refuses unsafe
    /// requests with it that another site made).
    Basic,
}

impl Credential {
    /// The client token behind this request, if it is one: what the
    /// request makes (tokens, approvals, download links) goes with it.
    pub fn client_token_id(&self) -> Option<i64> {
        match self {
            Credential::ClientToken { token_id, .. } => Some(*token_id),
            _ => None,
        }
    }

    /// What a client token this request makes is ended with: the client
    /// token or the access token's family behind the request, nothing for
    /// a person at their own account.
    pub fn minter(&self) -> Minter {
        match self {
            Credential::Session { .. } | Credential::Basic => Minter::Person,
            Credential::Bearer { token_hash } => Minter::AccessToken(token_hash.clone()),
            Credential::ClientToken { token_id, .. } => Minter::ClientToken(*token_id),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub scopes: ScopeSet,
    pub credential: Credential,
}

/// Seconds between two writes of a user's last-active time.
const ACTIVITY_RESOLUTION_SECONDS: i64 = 60;

impl Principal {
    /// Refuses with 403 unless every scope in `required` is held.
    pub fn require(&self, required: &[Scope]) -> AppResult<()> {
        if self.scopes.contains_all(required) {
            return Ok(());
        }
        let missing: Vec<&str> = required
            .iter()
            .filter(|s| !self.scopes.contains(**s))
            .map(|s| s.as_str())
            .collect();
        Err(AppError::forbidden(
            Code::InsufficientScope,
            format!("You are not allowed to do this (needs {}).", missing.join(", ")),
        ))
    }

    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(scope)
    }
}

impl Auth {
    /// The principal behind `Authorization: Bearer <token>`: a client token
    /// (`rmm_…`) or an access token of `/api/token`, told apart by prefix;
    /// `None` when it is neither, or not (any longer) valid.
    pub async fn authenticate_bearer(&self, token: &str, now: i64) -> AppResult<Option<Principal>> {
        if token.starts_with(CLIENT_TOKEN_PREFIX) {
            self.authenticate_client_token(token, now).await
        } else {
            self.authenticate_access_token(token, now).await
        }
    }

    /// The principal behind an access token of `/api/token`, or `None`.
    async fn authenticate_access_token(&self, token: &str, now: i64) -> AppResult<Option<Principal>> {
        let Some(token_hash) = self.tokens.hash(TokenKind::Access, token) else {
            return Ok(None);
        };
        let Some(row) = self.store.find_access_token(&token_hash, now).await? else {
            return Ok(None);
        };
        if !row.user.enabled {
            return Ok(None);
        }
        let principal = self
            .token_principal(row.user, &row.scopes, Credential::Bearer { token_hash }, now)
            .await?;
        Ok(Some(principal))
    }

    /// The caller behind a token of any kind: the scopes it was granted,
    /// within its owner's role as stored now.
    pub(super) async fn token_principal(
        &self,
        user: User,
        granted: &str,
        credential: Credential,
        now: i64,
    ) -> AppResult<Principal> {
        let granted = ScopeSet::parse(granted).unwrap_or(ScopeSet::EMPTY);
        let scopes = granted.intersect(user.role.scopes());
        self.note_activity(&user, now).await?;
        Ok(Principal {
            user,
            scopes,
            credential,
        })
    }

    /// Updates last-active at most once a minute per user, so reads stay reads.
    pub(super) async fn note_activity(&self, user: &User, now: i64) -> AppResult<()> {
        if user
            .last_active_at
            .is_none_or(|at| now - at >= ACTIVITY_RESOLUTION_SECONDS)
        {
            self.store.record_activity(user.id, now).await?;
        }
        Ok(())
    }
}
