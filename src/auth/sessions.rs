//! Server-side sessions: a fresh random id at every sign-in (no fixation),
//! stored as a keyed hash, with an absolute lifetime.

use tracing::instrument;

use super::Auth;
use super::principal::{Credential, Principal};
use super::sign_in_log::Method;
use super::tokens::{PlainToken, TokenKind};
use crate::error::AppResult;
use crate::secret::Secret;
use crate::store::NewSession;

/// What an OIDC sign-in keeps with its session (for logout).
#[derive(Debug, Clone, Default)]
pub struct OidcSessionInfo {
    pub issuer: String,
    pub subject: String,
    pub sid: Option<String>,
    pub id_token: Option<String>,
    /// When the provider authenticated the person (the ID token's
    /// `auth_time`), if it said; only a new sign-in carries it.
    pub authenticated_at: Option<i64>,
}

#[derive(Debug)]
pub struct StartedSession {
    pub token: PlainToken,
    pub max_age_seconds: i64,
}

impl Auth {
    /// Opens a new session for `user_id` and records the login.
    #[instrument(skip_all, fields(user_id))]
    pub async fn start_session(
        &self,
        user_id: i64,
        oidc: Option<&OidcSessionInfo>,
        now: i64,
    ) -> AppResult<StartedSession> {
        self.write_session(user_id, oidc, None, now).await
    }

    /// Checks a username and password (`check_password`, as a sign-in by
    /// `Method::Password`) and starts a session for them. The session is
    /// written only while the account still has the password that was
    /// checked: a sign-in whose check was running when the password changed
    /// is refused, not left with a session the change should have ended.
    pub async fn sign_in_with_password(
        &self,
        username: &str,
        password: &Secret,
        client: &str,
        now: i64,
    ) -> AppResult<StartedSession> {
        let checked = self
            .password_sign_in(Method::Password, username, password, client, now)
            .await?;
        let written = self
            .write_session(checked.user.id, None, Some(&checked.hash), now)
            .await;
        super::login::log_if_stale(Method::Password, username, client, &written);
        written
    }

    async fn write_session(
        &self,
        user_id: i64,
        oidc: Option<&OidcSessionInfo>,
        password_hash: Option<&str>,
        now: i64,
    ) -> AppResult<StartedSession> {
        let token = PlainToken::generate(TokenKind::Session);
        let token_hash = self.tokens.mac(token.expose().as_bytes());
        let max_age = self.settings.session_max_age_seconds;
        let (issuer, subject, sid, id_token) = match oidc {
            Some(info) => (
                Some(info.issuer.clone()),
                Some(info.subject.clone()),
                info.sid.clone(),
                info.id_token.clone(),
            ),
            None => (None, None, None, None),
        };
        self.store
            .insert_session(&NewSession {
                token_hash: &token_hash,
                user_id,
                now,
                expires_at: now.saturating_add(max_age),
                oidc_issuer: issuer.as_deref(),
                oidc_subject: subject.as_deref(),
                oidc_sid: sid.as_deref(),
                id_token: id_token.as_deref(),
                authenticated_at: oidc.and_then(|info| info.authenticated_at),
                password_hash,
            })
            .await?;
        self.store.record_login(user_id, now).await?;
        Ok(StartedSession {
            token,
            max_age_seconds: max_age,
        })
    }

    /// The principal behind a session cookie, or `None` when the cookie is
    /// unknown, expired, or its user is disabled. Its span is at debug level:
    /// this runs on every request, and an enabled span costs more than the
    /// token's HMAC.
    #[instrument(level = "debug", skip_all)]
    pub async fn authenticate_session(&self, cookie: &str, now: i64) -> AppResult<Option<Principal>> {
        let Some(token_hash) = self.tokens.hash(TokenKind::Session, cookie) else {
            return Ok(None);
        };
        let Some(user) = self.store.find_session(&token_hash, now).await? else {
            return Ok(None);
        };
        if !user.enabled {
            return Ok(None);
        }
        let scopes = user.role.scopes();
        self.note_activity(&user, now).await?;
        Ok(Some(Principal {
            user,
            scopes,
            credential: Credential::Session { token_hash },
        }))
    }

    /// Ends the session or token behind `credential` (a bearer token with
    /// its refresh-token family). For a session that
    /// came from single sign-on, returns what RP-initiated logout needs.
    pub async fn end_credential(&self, credential: &Credential) -> AppResult<Option<OidcSessionInfo>> {
        match credential {
            Credential::Session { token_hash } => {
                let ended = self.store.delete_session(token_hash).await?.unwrap_or_default();
                Ok(match (ended.oidc_issuer, ended.oidc_subject) {
                    (Some(issuer), Some(subject)) => Some(OidcSessionInfo {
                        issuer,
                        subject,
                        sid: ended.oidc_sid,
                        id_token: ended.id_token,
                        authenticated_at: None,
                    }),
                    _ => None,
                })
            }
            // A bearer logout ends the whole grant: the refresh token that
            // came with this access token (and every token rotated from it)
            // must not mint a new one.
            Credential::Bearer { token_hash } => {
                self.store.end_access_token_family(token_hash).await?;
                Ok(None)
            }
            // A client token is not a sign-in to end: an app that calls
            // logout keeps its token (it lives until it expires or its owner
            // revokes it on the devices page).
            Credential::ClientToken { .. } => Ok(None),
            // HTTP Basic opens nothing: the next request sends the password
            // again.
            Credential::Basic => Ok(None),
        }
    }
}
