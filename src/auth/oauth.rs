//! The OAuth2 token endpoint's grants. Refresh tokens are single use and
//! rotate; presenting a spent one revokes its whole family, because that only
//! happens when a token was stolen (or replayed by a broken client).

use tracing::instrument;

use super::sign_in_log::Method;
use super::tokens::{PlainToken, TokenKind};
use super::{Auth, ScopeSet};
use crate::error::{AppError, AppResult, Code};
use crate::secret::Secret;
use crate::store::{NewAccessToken, RefreshClaim};

#[derive(Debug)]
pub struct TokenPair {
    pub access_token: PlainToken,
    pub refresh_token: PlainToken,
    pub access_expires_in: i64,
    pub refresh_expires_in: i64,
    pub scopes: ScopeSet,
}

/// RFC 6749's `invalid_grant`.
fn invalid_grant(message: &'static str) -> AppError {
    AppError::bad_request(Code::InvalidGrant, message)
}

/// The scopes to grant: the requested ones (all of `allowed` when none are
/// named), refused with `invalid_scope` unless they are a subset of `allowed`.
fn grant_scopes(requested: Option<&str>, allowed: ScopeSet) -> AppResult<ScopeSet> {
    let requested = requested.map(str::trim).filter(|s| !s.is_empty());
    let Some(list) = requested else {
        return Ok(allowed);
    };
    let wanted = ScopeSet::parse(list)
        .map_err(|unknown| AppError::bad_request(Code::InvalidScope, format!("Unknown scope '{unknown}'.")))?;
    if !wanted.is_subset_of(allowed) {
        return Err(AppError::bad_request(
            Code::InvalidScope,
            "The requested scopes exceed what this account may be granted.",
        ));
    }
    Ok(wanted)
}

impl Auth {
    /// `grant_type=password`.
    #[instrument(skip_all)]
    pub async fn password_grant(
        &self,
        username: &str,
        password: &Secret,
        scope: Option<&str>,
        client: &str,
        now: i64,
    ) -> AppResult<TokenPair> {
        let checked = self
            .password_sign_in(Method::TokenGrant, username, password, client, now)
            .await?;
        let user = &checked.user;
        let scopes = grant_scopes(scope, user.role.scopes())?;
        let family = PlainToken::generate(TokenKind::Family);
        let pair = self.new_pair(user.id, family.expose(), scopes, now);
        let rows = pair.rows();
        // Only while the account still has the password checked (see
        // `sign_in_with_password`).
        let written = self
            .store
            .insert_token_pair(&rows.access, &rows.refresh, Some(&checked.hash))
            .await
            .map_err(AppError::from);
        super::login::log_if_stale(Method::TokenGrant, username, client, &written);
        written?;
        self.store.record_login(user.id, now).await?;
        Ok(pair.answer)
    }

    /// `grant_type=refresh_token`. The token is spent in the same
    /// transaction that stores its successors (`Store::rotate_refresh_token`):
    /// a refusal or a failure before the answer leaves it usable.
    #[instrument(skip_all)]
    pub async fn refresh_grant(&self, refresh_token: &str, scope: Option<&str>, now: i64) -> AppResult<TokenPair> {
        let Some(token_hash) = self.tokens.hash(TokenKind::Refresh, refresh_token) else {
            return Err(invalid_grant("The refresh token is invalid or expired."));
        };
        let (family_id, user_id, granted) = match self.store.peek_refresh_token(&token_hash, now).await? {
            RefreshClaim::Claimed {
                family_id,
                user_id,
                scopes,
            } => (family_id, user_id, scopes),
            RefreshClaim::Reused { family_id } => return Err(self.replayed(&family_id).await),
            RefreshClaim::Invalid => {
                return Err(invalid_grant("The refresh token is invalid or expired."));
            }
        };
        let user = self.store.find_user(user_id).await?.filter(|u| u.enabled);
        let Some(user) = user else {
            return Err(invalid_grant(
                "The account behind this refresh token is disabled or deleted.",
            ));
        };
        let previously = ScopeSet::parse(&granted).unwrap_or(ScopeSet::EMPTY);
        let scopes = grant_scopes(scope, previously.intersect(user.role.scopes()))?;
        let pair = self.new_pair(user.id, &family_id, scopes, now);
        let rows = pair.rows();
        if !self
            .store
            .rotate_refresh_token(&token_hash, now, &rows.access, &rows.refresh)
            .await?
        {
            // Spent by a concurrent presentation of the same token (a
            // replay), or revoked meanwhile (a password change, a disable,
            // a sign-out: deleted, nothing to revoke or warn about).
            return Err(match self.store.peek_refresh_token(&token_hash, now).await? {
                RefreshClaim::Invalid => invalid_grant("The refresh token is no longer valid; sign in again."),
                _ => self.replayed(&family_id).await,
            });
        }
        Ok(pair.answer)
    }

    /// A spent refresh token presented again: its family is revoked.
    async fn replayed(&self, family_id: &str) -> AppError {
        if let Err(err) = self.store.revoke_token_family(family_id).await {
            return err.into();
        }
        tracing::warn!("a spent refresh token was presented again; its token family is revoked");
        invalid_grant("The refresh token was already used; sign in again.")
    }

    fn new_pair<'a>(&self, user_id: i64, family_id: &'a str, scopes: ScopeSet, now: i64) -> NewPair<'a> {
        let access_token = PlainToken::generate(TokenKind::Access);
        let refresh_token = PlainToken::generate(TokenKind::Refresh);
        let (access_ttl, refresh_ttl) = (self.settings.access_token_seconds, self.settings.refresh_token_seconds);
        NewPair {
            access_hash: self.tokens.mac(access_token.expose().as_bytes()),
            refresh_hash: self.tokens.mac(refresh_token.expose().as_bytes()),
            scope_text: scopes.to_string(),
            family_id,
            user_id,
            now,
            answer: TokenPair {
                access_token,
                refresh_token,
                access_expires_in: access_ttl,
                refresh_expires_in: refresh_ttl,
                scopes,
            },
        }
    }
}

/// A token pair about to be stored: the answer, and what its rows hold.
struct NewPair<'a> {
    access_hash: String,
    refresh_hash: String,
    scope_text: String,
    family_id: &'a str,
    user_id: i64,
    now: i64,
    answer: TokenPair,
}

struct PairRows<'r> {
    access: NewAccessToken<'r>,
    refresh: NewAccessToken<'r>,
}

impl NewPair<'_> {
    fn rows(&self) -> PairRows<'_> {
        let row = |token_hash, ttl: i64| NewAccessToken {
            token_hash,
            family_id: self.family_id,
            user_id: self.user_id,
            scopes: &self.scope_text,
            now: self.now,
            expires_at: self.now.saturating_add(ttl),
        };
        PairRows {
            access: row(&self.access_hash, self.answer.access_expires_in),
            refresh: row(&self.refresh_hash, self.answer.refresh_expires_in),
        }
    }
}
