//! A person's own sign-ins, as the devices page shows them: their browser
//! sessions, each named by a public id (`TokenHasher::session_public_id`),
//! never by its stored hash; ending one of them; and signing out
//! everywhere.
//!
//! Guarantees: a person lists and ends only their own sessions (an id of
//! someone else's session is "not found" and ends nothing); an ended
//! session is refused on its very next request (sessions are read from the
//! database on every request); "everywhere" ends every session, access
//! token and refresh token of the person at once, the caller's included,
//! and every client token and device of theirs with them (one transaction):
//! it is the one button for a lost phone or a leaked password, so nothing
//! that can act as the person outlives it.

use tracing::instrument;

use super::Auth;
use super::principal::{Credential, Principal};
use crate::error::{AppError, AppResult};

/// One of a person's live browser sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnSession {
    /// The public id the page's forms name it by.
    pub id: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// Opened by single sign-on (else by a password).
    pub single_sign_on: bool,
    /// The session of the request that asked: "this browser".
    pub current: bool,
}

/// What ending one session did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndedOwnSession {
    /// It was the asking browser's own session (its cookie must go).
    pub current: bool,
}

impl Auth {
    /// `principal`'s live sessions, newest first, the current one marked.
    pub async fn own_sessions(&self, principal: &Principal, now: i64) -> AppResult<Vec<OwnSession>> {
        let current = current_session_hash(principal);
        let rows = self.store.list_sessions(principal.user.id, now).await?;
        Ok(rows
            .into_iter()
            .map(|row| OwnSession {
                id: self.tokens.session_public_id(&row.token_hash),
                created_at: row.created_at,
                expires_at: row.expires_at,
                single_sign_on: row.oidc_issuer.is_some(),
                current: current == Some(row.token_hash.as_str()),
            })
            .collect())
    }

    /// Ends `principal`'s own session named `id`. An id that names no live
    /// session of theirs (someone else's, an ended one, garbage) is a 404
    /// and ends nothing.
    #[instrument(skip_all, fields(user_id = principal.user.id))]
    pub async fn end_own_session(&self, principal: &Principal, id: &str, now: i64) -> AppResult<EndedOwnSession> {
        let rows = self.store.list_sessions(principal.user.id, now).await?;
        let Some(row) = rows
            .into_iter()
            .find(|row| self.tokens.session_public_id(&row.token_hash) == id)
        else {
            return Err(not_yours());
        };
        if !self
            .store
            .delete_user_session(principal.user.id, &row.token_hash)
            .await?
        {
            // Ended meanwhile (by another tab, an expiry sweep).
            return Err(not_yours());
        }
        tracing::info!("session signed out from the devices page");
        Ok(EndedOwnSession {
            current: current_session_hash(principal) == Some(row.token_hash.as_str()),
        })
    }

    /// Ends every session, access token and refresh token of `principal`,
    /// the one making this request included, and revokes every client token
    /// and device of theirs.
    #[instrument(skip_all, fields(user_id = principal.user.id))]
    pub async fn sign_out_everywhere(&self, principal: &Principal) -> AppResult<()> {
        self.store.revoke_user_everything(principal.user.id).await?;
        tracing::info!("signed out everywhere");
        Ok(())
    }
}

fn current_session_hash(principal: &Principal) -> Option<&str> {
    match &principal.credential {
        Credential::Session { token_hash } => Some(token_hash),
        _ => None,
    }
}

fn not_yours() -> AppError {
    AppError::not_found("This session is not one of yours, or it has ended already.")
}
