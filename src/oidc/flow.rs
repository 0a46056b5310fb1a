//! The sign-in as a state machine: `begin` stores the attempt (state, nonce,
//! PKCE verifier, where to go next) and binds it to this browser with a
//! binding value minted afresh every time (never one the browser offers, so
//! nobody can plant a binding they know); `finish` consumes it exactly once,
//! and only from the browser that started it (a callback opened anywhere
//! else is refused and changes nothing), then exchanges the code, verifies
//! the tokens and resolves the person to an account.

use openidconnect::core::{CoreAuthPrompt, CoreResponseType};
use openidconnect::{AuthenticationFlow, CsrfToken, Nonce, PkceCodeChallenge, Scope};
use url::Url;

use super::Oidc;
use super::client::{build_client, requested_scopes};
use super::discovery::AfterFailure;
use super::verify::Verified;
use crate::auth::sign_in_log::{self, Method};
use crate::auth::tokens::{PlainToken, TokenKind};
use crate::auth::{Auth, OidcSessionInfo};
use crate::error::{AppError, AppResult, Code, Kind};
use crate::next_path::NextPath;
use crate::store::{LoginAttempt, NewLoginAttempt, Store, User};

/// How long a sign-in may take at the provider.
pub const ATTEMPT_SECONDS: i64 = 600;

#[derive(Debug)]
pub struct StartedLogin {
    pub authorize_url: Url,
    /// The value of the browser-binding cookie, new for every sign-in.
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
    pub next: NextPath,
}

fn refused(kind: Kind, code: Code, message: &'static str, hint: &'static str) -> AppError {
    AppError::refuse(kind, code, message).hint(hint)
}

impl Oidc {
    /// Starts a sign-in: returns the provider's authorization URL and a new
    /// browser binding. A binding the browser already holds is never reused:
    /// one planted by someone else (a cookie set on a sibling subdomain, a
    /// shared machine) would let them finish this sign-in in their browser.
    /// `fresh` asks the provider to authenticate the person anew
    /// (`max_age=0`, and `prompt=login` where the provider lists it) and to
    /// say when it did (`auth_time`):
    /// the proof a password-less person gives for changing their account.
    pub async fn begin(&self, auth: &Auth, next: &NextPath, fresh: bool, now: i64) -> AppResult<StartedLogin> {
        let provider = self.provider(now, AfterFailure::Retry).await?;
        let client = build_client(&self.config, &provider.metadata);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            // The crate sends `openid` itself, first.
            .add_scopes(
                requested_scopes(&self.config)
                    .into_iter()
                    .filter(|scope| scope != "openid")
                    .map(Scope::new),
            )
            .set_pkce_challenge(challenge);
        if fresh {
            // Every provider must honour max_age (OpenID Connect Core 15.1)
            // and then report auth_time; prompt=login is the same wish in
            // words some login pages show, sent where it is known.
            request = request.set_max_age(std::time::Duration::ZERO);
            if provider.metadata.additional_metadata().supports_prompt("login") {
                request = request.add_prompt(CoreAuthPrompt::Login);
            }
        }
        let (authorize_url, state, nonce) = request.url();

        let browser_token = PlainToken::generate(TokenKind::LoginAttempt).expose().to_string();
        let state_hash = auth.tokens.mac(state.secret().as_bytes());
        let browser_hash = auth.tokens.mac(browser_token.as_bytes());
        self.store
            .insert_login_attempt(&NewLoginAttempt {
                state_hash: &state_hash,
                browser_hash: &browser_hash,
                nonce: nonce.secret(),
                pkce_verifier: verifier.secret(),
                next_path: Some(next.as_str()),
                now,
                expires_at: now + ATTEMPT_SECONDS,
            })
            .await?;
        Ok(StartedLogin {
            authorize_url,
            browser_token,
        })
    }

    /// Finishes a sign-in from the provider's redirect back, from `client`,
    /// and writes it to the sign-in log: the account's username when it
    /// passed; when refused, the code and who arrived (the username claim,
    /// else `sub:` and the subject; nobody before the tokens are verified).
    pub async fn finish(
        &self,
        auth: &Auth,
        callback: Callback,
        browser: Option<&str>,
        client: &str,
        now: i64,
    ) -> AppResult<CompletedLogin> {
        let log_refusal = |who: &str, err: AppError| {
            if let Some(code) = err.code() {
                sign_in_log::failed(Method::Sso, who, client, code);
            }
            err
        };
        let (attempt, verified) = self
            .verify_callback(auth, callback, browser, now)
            .await
            .map_err(|err| log_refusal("", err))?;
        let who = verified
            .claims
            .text(&self.config.username_attribute)
            .unwrap_or_else(|| format!("sub:{}", verified.subject));
        let user = super::identity::resolve(self, &verified, now)
            .await
            .map_err(|err| log_refusal(&who, err))?;
        sign_in_log::succeeded(Method::Sso, &user.username, client);
        let next = NextPath::or_home(attempt.next_path.as_deref());
        let session = OidcSessionInfo {
            issuer: verified.issuer.clone(),
            subject: verified.subject.clone(),
            sid: verified.claims.sid(),
            id_token: Some(verified.id_token.clone()),
            authenticated_at: verified.auth_time,
        };
        Ok(CompletedLogin { user, session, next })
    }

    /// The callback up to verified tokens: the attempt it finishes (taken
    /// once, from its browser) and what the provider vouches for.
    async fn verify_callback(
        &self,
        auth: &Auth,
        callback: Callback,
        browser: Option<&str>,
        now: i64,
    ) -> AppResult<(LoginAttempt, Verified)> {
        if let Some(error) = callback.error.as_deref() {
            if let Some(state) = callback.state.as_deref() {
                // The provider gave up on this sign-in: spend it, but only
                // when this is the browser that started it.
                match take_bound_attempt(&self.store, auth, state, browser).await {
                    Ok(_) | Err(AppError::Refused(_)) => {}
                    Err(internal) => return Err(internal),
                }
            }
            return Err(provider_said_no(error, callback.error_description.as_deref()));
        }
        let (Some(code), Some(state)) = (callback.code, callback.state) else {
            return Err(refused(
                Kind::BadRequest,
                Code::CallbackIncomplete,
                "The sign-in answer from the identity provider is incomplete. Please start again.",
                "The callback needs both `code` and `state`; OIDC_REDIRECT_URI must be this server's /api/oauth/openid.",
            ));
        };
        let attempt = take_bound_attempt(&self.store, auth, &state, browser).await?;
        if attempt.expires_at <= now {
            return Err(refused(
                Kind::BadRequest,
                Code::AttemptExpired,
                "The sign-in took too long. Please start again.",
                "A sign-in must finish within 10 minutes.",
            ));
        }
        let verified = self
            .exchange_and_verify(code, &attempt.pkce_verifier, &attempt.nonce, now)
            .await?;
        Ok((attempt, verified))
    }
}

/// Consumes the sign-in in progress with this `state`, only for the browser
/// that started it: the binding is in the same statement as the delete, so
/// a callback opened in another browser (or without the cookie) takes
/// nothing, and the person's own browser can still finish.
async fn take_bound_attempt(store: &Store, auth: &Auth, state: &str, browser: Option<&str>) -> AppResult<LoginAttempt> {
    let state_hash = auth.tokens.mac(state.as_bytes());
    if let Some(browser) = browser {
        let browser_hash = auth.tokens.mac(browser.as_bytes());
        if let Some(attempt) = store.take_login_attempt(&state_hash, &browser_hash).await? {
            return Ok(attempt);
        }
    }
    if store.login_attempt_exists(&state_hash).await? {
        return Err(refused(
            Kind::BadRequest,
            Code::StateMismatch,
            "This sign-in was started in another browser, or your browser did not keep its cookie. Please start again.",
            "Open romgate at exactly ROMM_BASE_URL (same host and scheme) so the sign-in cookie comes back, and make sure the reverse proxy passes cookies.",
        ));
    }
    Err(refused(
        Kind::BadRequest,
        Code::StateUnknown,
        "This sign-in link was already used or is not valid. Please start again.",
        "The state parameter matches no sign-in in progress (a replayed or forged callback).",
    ))
}

/// The `error=` codes of RFC 6749 §4.1.2.1 and OpenID Connect Core §3.1.2.6
/// that romgate words for the person; anything else gets the generic words.
const PROVIDER_ERRORS: &[(&str, &str)] = &[
    (
        "access_denied",
        "The identity provider did not allow the sign-in (access denied).",
    ),
    ("login_required", SIGN_IN_FIRST),
    ("interaction_required", SIGN_IN_FIRST),
    ("consent_required", SIGN_IN_FIRST),
    ("account_selection_required", SIGN_IN_FIRST),
    ("temporarily_unavailable", TRY_LATER),
    ("server_error", TRY_LATER),
    ("invalid_request", COULD_NOT),
    ("unauthorized_client", COULD_NOT),
    ("unsupported_response_type", COULD_NOT),
    ("invalid_scope", COULD_NOT),
    ("invalid_request_uri", COULD_NOT),
    ("invalid_request_object", COULD_NOT),
    ("request_not_supported", COULD_NOT),
    ("request_uri_not_supported", COULD_NOT),
    ("registration_not_supported", COULD_NOT),
];
const SIGN_IN_FIRST: &str = "The identity provider needs you to sign in or give consent first. Please start again.";
const TRY_LATER: &str =
    "The identity provider could not complete the sign-in right now. Please try again in a few minutes.";
const COULD_NOT: &str = "The identity provider could not complete the sign-in.";

/// The provider's `error=` answer, in fixed words. Anyone can craft a
/// callback link, so nothing from it reaches the page: not the
/// `error_description`, not an unknown code (a known code is named from our
/// own table). The log line keeps both, escaped and shortened.
fn provider_said_no(error: &str, description: Option<&str>) -> AppError {
    let clip = |text: &str, max: usize| text.chars().take(max).collect::<String>();
    tracing::info!(
        error = ?clip(error, 64),
        description = ?clip(description.unwrap_or(""), 300),
        "the identity provider answered the sign-in with an error"
    );
    let known = PROVIDER_ERRORS.iter().find(|(code, _)| *code == error);
    let (message, hint) = match known {
        Some((code, message)) => (
            *message,
            format!(
                "The provider answered error={code}; its error_description (if any) is in romgate's log. \
                 For anything but access_denied or a sign-in the person abandoned, check the client's settings \
                 at the provider (redirect URI, allowed scopes, the code flow)."
            ),
        ),
        None => (
            COULD_NOT,
            "The provider answered with an error code romgate does not know; romgate's log has the code and \
             its description."
                .to_string(),
        ),
    };
    AppError::refuse(Kind::BadRequest, Code::ProviderError, message).hint(hint)
}
