//! Proof for self-service changes (SPEC 9): a person changing their own
//! password, email or username shows it is them, so a stolen session or an
//! unattended browser cannot take the account (or, through the email, a
//! single sign-on identity) for good.
//!
//! - An account with a password proves its current password. The check is
//!   the login's own (`check_password`): failures count against the same
//!   per-address and per-username limits, and answer 429 once they are hit.
//! - An account without one (single sign-on only), and any account while
//!   password login is disabled, proves a fresh single sign-on: the request
//!   comes with a session whose ID token says (`auth_time`) the provider
//!   authenticated the person at most `FRESH_SIGN_IN_SECONDS` ago. Not when
//!   the session was made: a provider still signed in signs a forgotten
//!   browser in again without asking anything, which is why the account
//!   page's link asks it for a new authentication (`prompt=login`,
//!   `max_age=0`, which also make it report `auth_time`). A bearer token is
//!   never fresh.
//!
//! A refused proof changes nothing.

use super::Auth;
use super::principal::{Credential, Principal};
use super::sign_in_log::Method;
use crate::error::{AppError, AppResult, Code};
use crate::secret::Secret;

/// How old a single sign-on may be and still prove a password-less person
/// (5 minutes: enough to sign in and submit a form, too short for a
/// forgotten browser).
pub const FRESH_SIGN_IN_SECONDS: i64 = 300;

/// How far ahead of this server's clock a provider's `auth_time` may be.
const CLOCK_SKEW_SECONDS: i64 = 60;

/// What a person offers to show it is them.
#[derive(Debug, Default)]
pub struct Proof {
    /// The account's current password (`current_password`).
    pub current_password: Option<Secret>,
    /// The client's address, for the failed-login limits.
    pub client: String,
}

/// Which proof an account gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofKind {
    CurrentPassword,
    FreshSignIn,
}

impl Auth {
    /// The proof user `user_id` gives for changing their own account.
    pub async fn proof_kind(&self, user_id: i64) -> AppResult<ProofKind> {
        // With password login disabled a password signs nobody in, so it
        // proves nothing either.
        if !self.settings.disable_userpass_login && self.store.has_password(user_id).await? {
            Ok(ProofKind::CurrentPassword)
        } else {
            Ok(ProofKind::FreshSignIn)
        }
    }

    /// Refuses unless `proof` shows that `actor` is the account's owner.
    pub(super) async fn check_proof(&self, actor: &Principal, proof: &Proof, now: i64) -> AppResult<()> {
        match self.proof_kind(actor.user.id).await? {
            ProofKind::CurrentPassword => self.check_current_password(actor, proof, now).await,
            ProofKind::FreshSignIn => self.check_fresh_sign_in(actor, now).await,
        }
    }

    async fn check_current_password(&self, actor: &Principal, proof: &Proof, now: i64) -> AppResult<()> {
        let Some(password) = &proof.current_password else {
            return Err(current_password_required());
        };
        match self
            .check_password(Method::Reauth, &actor.user.username, password, &proof.client, now)
            .await
        {
            Ok(user) if user.id == actor.user.id => Ok(()),
            Ok(_) => Err(current_password_invalid(actor)),
            Err(err) if err.code() == Some(Code::InvalidCredentials) => Err(current_password_invalid(actor)),
            Err(other) => Err(other),
        }
    }

    async fn check_fresh_sign_in(&self, actor: &Principal, now: i64) -> AppResult<()> {
        let started = if let Credential::Session { token_hash } = &actor.credential {
            self.store.sso_authenticated_at(token_hash, now).await?
        } else {
            None
        };
        match started {
            // Not ahead of this clock by more than a minute: a provider's
            // clock running fast (or milliseconds for seconds) would
            // otherwise make a session fresh for its whole life.
            Some(at)
                if at <= now.saturating_add(CLOCK_SKEW_SECONDS) && now.saturating_sub(at) <= FRESH_SIGN_IN_SECONDS =>
            {
                Ok(())
            }
            _ => {
                tracing::info!(
                    user_id = actor.user.id,
                    "own account change refused: no fresh single sign-on"
                );
                Err(fresh_sign_in_required())
            }
        }
    }
}

fn current_password_required() -> AppError {
    AppError::bad_request(
        Code::CurrentPasswordRequired,
        "To change your password, email or username, give your current password too.",
    )
    .hint("Send current_password with the change (PUT /api/users/{own id}), or use the account page.")
}

fn current_password_invalid(actor: &Principal) -> AppError {
    tracing::info!(
        user_id = actor.user.id,
        "own account change refused: wrong current password"
    );
    AppError::forbidden(
        Code::CurrentPasswordInvalid,
        "Your current password is not correct, so nothing was changed.",
    )
}

fn fresh_sign_in_required() -> AppError {
    AppError::forbidden(
        Code::FreshSignInRequired,
        "To change your password, email or username, sign in again through single sign-on first, then make the change within 5 minutes.",
    )
    .hint(
        "Accounts without a password (and every account while DISABLE_USERPASS_LOGIN is set) prove themselves with a \
         single sign-on the provider says (auth_time) is at most 5 minutes old, in a browser session: sign in through \
         /api/login/openid?fresh=1 (the account page's link), which asks the provider for a new authentication. \
         An administrator can make the change for them.",
    )
}
