//! The sign-in as a state machine: `begin` stores the attempt (state, nonce,
//! PKCE verifier, where to go next) and binds it to this browser; `finish`
//! consumes it exactly once, then exchanges the code, verifies the tokens
//! and resolves the person to an account.

use openidconnect::core::CoreResponseType;
use openidconnect::{AuthenticationFlow, CsrfToken, Nonce, PkceCodeChallenge, Scope};
use subtle::ConstantTimeEq;
use url::Url;

use super::Oidc;
use super::claims::Claims;
use super::client::build_client;
use crate::auth::tokens::{PlainToken, TokenKind};
use crate::auth::{Auth, OidcSessionInfo};
use crate::error::{AppError, AppResult, Kind};
use crate::store::{NewLoginAttempt, User};

/// How long a sign-in may take at the provider.
pub const ATTEMPT_SECONDS: i64 = 600;

#[derive(Debug)]
pub struct StartedLogin {
    pub authorize_url: Url,
    /// The value of the browser-binding cookie (new, or the one presented).
    pub browser_token: String,
}

/// The query of the provider's redirect back.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

#[derive(Debug)]
pub struct CompletedLogin {
    pub user: User,
    pub session: OidcSessionInfo,
    pub next: String,
}

fn refused(kind: Kind, code: &'static str, message: &'static str, hint: &'static str) -> AppError {
    AppError::refuse(kind, code, message).hint(hint)
}

impl Oidc {
    /// Starts a sign-in: returns the provider's authorization URL.
    pub async fn begin(&self, auth: &Auth, next: &str, browser: Option<&str>, now: i64) -> AppResult<StartedLogin> {
        let provider = self.provider(now).await?;
        let client = build_client(&self.config, &provider.metadata);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new("email".into()))
            .set_pkce_challenge(challenge);
        if let Some(first) = self.roles_scope() {
            request = request.add_scope(Scope::new(first));
        }
        let (authorize_url, state, nonce) = request.url();

        let browser_token = match browser.filter(|b| auth.tokens.hash(TokenKind::LoginAttempt, b).is_some()) {
            Some(existing) => existing.to_string(),
            None => PlainToken::generate(TokenKind::LoginAttempt).expose().to_string(),
        };
        let state_hash = auth.tokens.mac(state.secret().as_bytes());
        let browser_hash = auth.tokens.mac(browser_token.as_bytes());
        auth.store
            .insert_login_attempt(&NewLoginAttempt {
                state_hash: &state_hash,
                browser_hash: &browser_hash,
                nonce: nonce.secret(),
                pkce_verifier: verifier.secret(),
                next_path: Some(next),
                now,
                expires_at: now + ATTEMPT_SECONDS,
            })
            .await?;
        Ok(StartedLogin {
            authorize_url,
            browser_token,
        })
    }

    /// The scope named by OIDC_CLAIM_ROLES's first segment (many providers
    /// release `groups` only for a `groups` scope).
    fn roles_scope(&self) -> Option<String> {
        let claim = self.config.claim_roles.as_deref()?;
        let first = claim.split('.').next()?.trim();
        (!first.is_empty() && !["openid", "profile", "email"].contains(&first)).then(|| first.to_string())
    }

    /// Finishes a sign-in from the provider's redirect back.
    pub async fn finish(
        &self,
        auth: &Auth,
        callback: Callback,
        browser: Option<&str>,
        now: i64,
    ) -> AppResult<CompletedLogin> {
        if let Some(error) = callback.error.as_deref() {
            if let Some(state) = callback.state.as_deref() {
                auth.store
                    .take_login_attempt(&auth.tokens.mac(state.as_bytes()))
                    .await?;
            }
            return Err(provider_said_no(error, callback.error_description.as_deref()));
        }
        let (Some(code), Some(state)) = (callback.code, callback.state) else {
            return Err(refused(
                Kind::BadRequest,
                "callback_incomplete",
                "The sign-in answer from the identity provider is incomplete. Please start again.",
                "The callback needs both `code` and `state`; OIDC_REDIRECT_URI must be this server's /api/oauth/openid.",
            ));
        };
        let attempt = auth
            .store
            .take_login_attempt(&auth.tokens.mac(state.as_bytes()))
            .await?
            .ok_or_else(|| {
                refused(
                    Kind::BadRequest,
                    "state_unknown",
                    "This sign-in link was already used or is not valid. Please start again.",
                    "The state parameter matches no sign-in in progress (a replayed or forged callback).",
                )
            })?;
        let bound = browser.is_some_and(|b| {
            bool::from(
                auth.tokens
                    .mac(b.as_bytes())
                    .as_bytes()
                    .ct_eq(attempt.browser_hash.as_bytes()),
            )
        });
        if !bound {
            return Err(refused(
                Kind::BadRequest,
                "state_mismatch",
                "This sign-in was started in another browser, or your browser did not keep its cookie. Please start again.",
                "Open romgate at exactly ROMM_BASE_URL (same host and scheme) so the sign-in cookie comes back, and make sure the reverse proxy passes cookies.",
            ));
        }
        if attempt.expires_at <= now {
            return Err(refused(
                Kind::BadRequest,
                "attempt_expired",
                "The sign-in took too long. Please start again.",
                "A sign-in must finish within 10 minutes.",
            ));
        }
        let verified = self
            .exchange_and_verify(code, &attempt.pkce_verifier, &attempt.nonce, now)
            .await?;
        let user = super::identity::resolve(self, auth, &verified, now).await?;
        let next = crate::pages::safe_next(attempt.next_path.as_deref());
        let session = OidcSessionInfo {
            issuer: verified.issuer.clone(),
            subject: verified.subject.clone(),
            sid: verified.claims.sid(),
            id_token: Some(verified.id_token.clone()),
        };
        Ok(CompletedLogin { user, session, next })
    }
}

/// The provider's `error=` answer, in words.
fn provider_said_no(error: &str, description: Option<&str>) -> AppError {
    let message = match error {
        "access_denied" => "The identity provider did not allow the sign-in (access denied).".to_string(),
        "login_required" | "interaction_required" | "consent_required" => {
            "The identity provider needs you to sign in or give consent first. Please start again.".to_string()
        }
        _ => "The identity provider could not complete the sign-in.".to_string(),
    };
    let detail: String = description
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect();
    let safe_error: String = error.chars().filter(|c| c.is_ascii_graphic()).take(64).collect();
    AppError::refuse(Kind::BadRequest, "provider_error", message).hint(format!(
        "The provider answered error={safe_error}{}{detail}",
        if detail.is_empty() { "" } else { ": " }
    ))
}

/// What the verified tokens say.
#[derive(Debug, Clone)]
pub struct Verified {
    pub issuer: String,
    pub subject: String,
    pub claims: Claims,
    pub id_token: String,
    pub email_verified_advertised: bool,
}
