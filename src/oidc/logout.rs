//! Signing out, and RP-initiated logout: where to send the browser so the
//! provider ends its session too.

use std::str::FromStr;

use openidconnect::{ClientId, EndSessionUrl, LogoutRequest, PostLogoutRedirectUrl};
use url::Url;

use super::Oidc;
use super::client::RgIdToken;
use super::discovery::AfterFailure;
use crate::auth::{Auth, OidcSessionInfo, Principal};
use crate::error::AppResult;

/// The sign-out flow, for the API and the logout form alike: ends the
/// caller's session or token, and returns the provider's end-session URL
/// when RP-initiated logout applies (a session that came from single
/// sign-on, with it enabled). It lives here, not in `auth`, because it needs
/// both services and `auth` sits below `oidc`.
pub async fn sign_out(auth: &Auth, oidc: Option<&Oidc>, principal: &Principal, now: i64) -> AppResult<Option<Url>> {
    let signed_on = auth.end_credential(&principal.credential).await?;
    let (Some(oidc), Some(info)) = (oidc, signed_on) else {
        return Ok(None);
    };
    Ok(oidc.logout_url(&info, now).await)
}

impl Oidc {
    /// The provider's end-session URL for this session, when RP-initiated
    /// logout is on and the session came from this provider. `None` (with a
    /// log line) when no end-session endpoint is known.
    pub async fn logout_url(&self, session: &OidcSessionInfo, now: i64) -> Option<Url> {
        if !self.config.rp_initiated_logout {
            return None;
        }
        let provider = self.provider(now, AfterFailure::Remember).await.ok();
        let issuer = provider.as_ref().map(|p| p.metadata.issuer().as_str());
        // A session from a provider configured before this one: the current
        // provider has no session of it to end, and must not be handed its
        // ID token (the person's claims) as a hint.
        if issuer.is_some_and(|issuer| issuer != session.issuer) {
            tracing::info!(
                "RP-initiated logout skipped: the session came from another provider than the configured one"
            );
            return None;
        }
        let endpoint = match (&self.config.end_session_endpoint, &provider) {
            (Some(url), _) => url.clone(),
            (None, Some(provider)) => provider
                .metadata
                .additional_metadata()
                .end_session_endpoint
                .as_ref()?
                .url()
                .clone(),
            (None, None) => {
                tracing::warn!("RP-initiated logout skipped: the provider's end-session endpoint is unknown right now");
                return None;
            }
        };
        let mut request = LogoutRequest::from(EndSessionUrl::from_url(endpoint));
        // The hint only to the provider known to have issued it.
        let hint = session.id_token.as_deref().filter(|_| issuer.is_some());
        if let Some(id_token) = hint.and_then(|t| RgIdToken::from_str(t).ok()) {
            request = request.set_id_token_hint(&id_token);
        }
        if let Some(post_logout) = &self.config.post_logout_redirect_uri {
            request = request
                .set_client_id(ClientId::new(self.config.client_id.clone()))
                .set_post_logout_redirect_uri(PostLogoutRedirectUrl::from_url(post_logout.clone()));
        }
        Some(request.http_get_url())
    }
}
