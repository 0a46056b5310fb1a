//! Client API tokens (SPEC 8.2): `Authorization: Bearer rmm_…` on every API
//! call, and the management of one's tokens. A request gets the
//! intersection of the token's scopes and its owner's role as stored now,
//! so a demotion, a disable, a deleted token or a revoked device takes
//! effect on the very next request.
//!
//! Guarantees: a raw token exists only in the answer that hands it out
//! (the database keeps its HMAC); nobody gets a token wider than what they
//! hold now: not at creation (scopes beyond the caller's are refused), and
//! not by taking over a wider token of theirs through regenerate or
//! pairing with a narrower credential. What a client token makes (tokens,
//! device approvals, download links) is deleted with it, and it cannot
//! renew any token but itself, so a revoked token leaves nothing behind.

use super::principal::{Credential, Principal};
use super::tokens::PlainToken;
use super::{Auth, Scope, ScopeSet};
use crate::error::{AppError, AppResult, Code};
use crate::store::{ClientToken, ClientTokenWithOwner, NewClientToken};

/// Seconds between two writes of a token's last-used time: apps call the
/// API many times a minute, and a database write for each call would cost
/// more than the call. The page shows last use to the minute.
pub const LAST_USED_RESOLUTION_SECONDS: i64 = 60;

/// The most client tokens one person may hold (RomM's number). Expired
/// tokens count until deleted, as they are listed.
pub const MAX_CLIENT_TOKENS_PER_USER: i64 = 25;

/// Longest token name, in characters.
pub const MAX_TOKEN_NAME_CHARS: usize = 255;

/// What a person asks for when creating a token (RomM's body).
#[derive(Debug, Clone)]
pub struct ClientTokenRequest {
    pub name: String,
    pub scopes: Vec<String>,
    /// "30d", "90d", "1y", "never" or none (never).
    pub expires_in: Option<String>,
}

/// A token with its raw secret, to be shown once.
#[derive(Debug, Clone)]
pub struct IssuedClientToken {
    pub token: ClientToken,
    pub raw: PlainToken,
}

/// The scopes a stored token was granted.
pub fn granted_scopes(token: &ClientToken) -> ScopeSet {
    ScopeSet::parse(&token.scopes).unwrap_or(ScopeSet::EMPTY)
}

/// Seconds until expiry for RomM's `expires_in`, `None` for never.
pub fn parse_expires_in(expires_in: Option<&str>) -> AppResult<Option<i64>> {
    const DAY: i64 = 86_400;
    match expires_in {
        None | Some("never") => Ok(None),
        Some("30d") => Ok(Some(30 * DAY)),
        Some("90d") => Ok(Some(90 * DAY)),
        Some("1y") => Ok(Some(365 * DAY)),
        Some(_) => Err(AppError::bad_request(
            Code::InvalidRequest,
            "expires_in must be one of 30d, 90d, 1y or never.",
        )),
    }
}

/// The token name, trimmed; refused when empty or too long.
fn checked_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::bad_request(Code::InvalidRequest, "The token needs a name."));
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::bad_request(
            Code::InvalidRequest,
            "The token name holds a control character.",
        ));
    }
    if name.chars().count() > MAX_TOKEN_NAME_CHARS {
        return Err(AppError::bad_request(
            Code::InvalidRequest,
            format!("The token name may have at most {MAX_TOKEN_NAME_CHARS} characters."),
        ));
    }
    Ok(name.to_string())
}

/// The requested scope names as a set: at least one, every one known, none
/// beyond what `actor` holds now (its role, narrowed by the credential it
/// uses, so a narrow token cannot mint a wide one).
fn checked_scopes(actor: &Principal, names: &[String]) -> AppResult<ScopeSet> {
    if names.is_empty() {
        return Err(AppError::bad_request(Code::InvalidScope, "Choose at least one scope."));
    }
    let unknown: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|name| Scope::parse(name).is_none())
        .collect();
    if !unknown.is_empty() {
        return Err(AppError::bad_request(
            Code::InvalidScope,
            format!("Unknown scopes: {}.", unknown.join(", ")),
        ));
    }
    let wanted = ScopeSet::of(&names.iter().filter_map(|name| Scope::parse(name)).collect::<Vec<_>>());
    require_within(actor, wanted)?;
    Ok(wanted)
}

/// Refuses (403, naming them) scopes of `wanted` that `actor` lacks.
fn require_within(actor: &Principal, wanted: ScopeSet) -> AppResult<()> {
    let beyond: Vec<&str> = wanted
        .iter()
        .filter(|scope| !actor.has(*scope))
        .map(Scope::as_str)
        .collect();
    if beyond.is_empty() {
        return Ok(());
    }
    Err(AppError::forbidden(
        Code::InsufficientScope,
        format!("Requested scopes exceed your permissions: {}.", beyond.join(", ")),
    ))
}

fn token_not_found() -> AppError {
    AppError::not_found("Token not found.")
}

impl Auth {
    /// The principal behind a client token, or `None` when the token is
    /// unknown, expired, deleted, or its owner is disabled.
    pub(super) async fn authenticate_client_token(&self, token: &str, now: i64) -> AppResult<Option<Principal>> {
        let Some(token_hash) = self.tokens.client_token_hash(token) else {
            return Ok(None);
        };
        let Some(row) = self.store.find_client_token(&token_hash, now).await? else {
            return Ok(None);
        };
        if !row.user.enabled {
            return Ok(None);
        }
        let stale_before = now - LAST_USED_RESOLUTION_SECONDS;
        // "Last used" is bookkeeping: a write that fails (a full disk) must
        // not turn a read into a refusal.
        if row.last_used_at.is_none_or(|at| at <= stale_before)
            && let Err(err) = self
                .store
                .touch_client_token(row.token_id, row.device_id.as_deref(), now, stale_before)
                .await
        {
            tracing::warn!(error = %err, "could not record when a client token was last used");
        }
        let credential = Credential::ClientToken {
            token_id: row.token_id,
            device_id: row.device_id,
        };
        let principal = self.token_principal(row.user, &row.scopes, credential, now).await?;
        Ok(Some(principal))
    }

    /// Creates a client token for `actor` (me.write): 400 for a bad name,
    /// an unknown scope, a bad expiry or a full quota; 403 for scopes
    /// beyond the caller's.
    pub async fn create_client_token(
        &self,
        actor: &Principal,
        request: ClientTokenRequest,
        now: i64,
    ) -> AppResult<IssuedClientToken> {
        actor.require(&[Scope::MeWrite])?;
        let name = checked_name(&request.name)?;
        let scopes = checked_scopes(actor, &request.scopes)?;
        let expires_at = parse_expires_in(request.expires_in.as_deref())?.map(|seconds| now + seconds);
        let raw = PlainToken::client();
        let new = NewClientToken {
            user_id: actor.user.id,
            device_id: None,
            name,
            token_hash: Some(self.client_hash(&raw)?),
            scopes: scopes.to_string(),
            expires_at,
            minted_by: actor.credential.minter(),
        };
        let token = self
            .store
            .insert_client_token(&new, MAX_CLIENT_TOKENS_PER_USER, now)
            .await?
            .ok_or_else(token_limit_reached)?;
        Ok(IssuedClientToken { token, raw })
    }

    /// `actor`'s own client tokens, newest first (me.read).
    pub async fn list_own_client_tokens(&self, actor: &Principal) -> AppResult<Vec<ClientToken>> {
        actor.require(&[Scope::MeRead])?;
        Ok(self.store.client_tokens_of(actor.user.id).await?)
    }

    /// Deletes one of `actor`'s own tokens (me.write); someone else's or
    /// an unknown one is 404.
    pub async fn revoke_own_client_token(&self, actor: &Principal, id: i64) -> AppResult<()> {
        actor.require(&[Scope::MeWrite])?;
        if self.store.delete_client_token(id, Some(actor.user.id)).await? {
            Ok(())
        } else {
            Err(token_not_found())
        }
    }

    /// Every client token with its owner (users.read).
    pub async fn list_all_client_tokens(&self, actor: &Principal) -> AppResult<Vec<ClientTokenWithOwner>> {
        actor.require(&[Scope::UsersRead])?;
        Ok(self.store.all_client_tokens().await?)
    }

    /// Deletes anyone's token (users.write).
    pub async fn admin_revoke_client_token(&self, actor: &Principal, id: i64) -> AppResult<()> {
        actor.require(&[Scope::UsersWrite])?;
        if self.store.delete_client_token(id, None).await? {
            Ok(())
        } else {
            Err(token_not_found())
        }
    }

    /// A new secret for one of `actor`'s tokens (me.write); the old one
    /// stops working at once.
    pub async fn regenerate_client_token(&self, actor: &Principal, id: i64, now: i64) -> AppResult<IssuedClientToken> {
        let token = self.own_token_to_hand_out(actor, id, now).await?;
        let raw = PlainToken::client();
        let token = self
            .store
            .set_client_token_hash(token.id, Some(actor.user.id), &self.client_hash(&raw)?)
            .await?
            .ok_or_else(token_not_found)?;
        Ok(IssuedClientToken { token, raw })
    }

    /// `actor`'s token `id`, checked for handing out a new secret of it:
    /// me.write, live, and no wider (as it works now, within the owner's
    /// role) than the credential asking. A client token may renew only
    /// itself: a stolen one must not take over the owner's other tokens,
    /// which would then not end when it is revoked. Likewise an app's
    /// sign-in (an access token of `/api/token`) may renew only the tokens
    /// it made, which end with it (`Minter`): a new secret of any other
    /// would outlive it.
    pub(super) async fn own_token_to_hand_out(&self, actor: &Principal, id: i64, now: i64) -> AppResult<ClientToken> {
        actor.require(&[Scope::MeWrite])?;
        if let Credential::Bearer { token_hash } = &actor.credential
            && !self.store.client_token_made_by_access_token(id, token_hash).await?
        {
            return Err(AppError::forbidden(
                Code::InsufficientScope,
                "An app's sign-in can give a new secret only to the tokens it made. Sign in to manage your other tokens.",
            ));
        }
        if actor.credential.client_token_id().is_some_and(|own| own != id) {
            return Err(AppError::forbidden(
                Code::InsufficientScope,
                "An app's token can give a new secret only to itself. Sign in to manage your other tokens.",
            ));
        }
        let token = self
            .store
            .find_client_token_by_id(id, Some(actor.user.id))
            .await?
            .ok_or_else(token_not_found)?;
        if token.expires_at.is_some_and(|at| at <= now) {
            return Err(AppError::bad_request(
                Code::ExpiredToken,
                "This token has expired; delete it and create a new one.",
            ));
        }
        require_within(actor, granted_scopes(&token).intersect(actor.user.role.scopes()))?;
        Ok(token)
    }

    /// The stored form of a freshly made client token.
    pub(super) fn client_hash(&self, raw: &PlainToken) -> AppResult<String> {
        self.tokens
            .client_token_hash(raw.expose())
            .ok_or_else(|| AppError::internal("a generated client token did not have a client token's shape"))
    }
}

/// A person already holds `MAX_CLIENT_TOKENS_PER_USER` client tokens (made
/// on the tokens page or by approving a device).
pub(super) fn token_limit_reached() -> AppError {
    AppError::bad_request(
        Code::TokenLimitReached,
        format!("Maximum of {MAX_CLIENT_TOKENS_PER_USER} tokens per user reached."),
    )
    .hint("Delete tokens that are no longer used (expired ones count too), on the devices or tokens page.")
}
