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
        let endpoint = match &self.config.end_session_endpoint {
            Some(url) => url.clone(),
            None => match self.provider(now, AfterFailure::Remember).await {
                Ok(provider) => provider
                    .metadata
                    .additional_metadata()
                    .end_session_endpoint
                    .as_ref()?
                    .url()
                    .clone(),
                Err(_) => {
                    tracing::warn!(
                        "RP-initiated logout skipped: the provider's end-session endpoint is unknown right now"
                    );
                    return None;
                }
            },
        };
        let mut request = LogoutRequest::from(EndSessionUrl::from_url(endpoint));
        if let Some(id_token) = session.id_token.as_deref().and_then(|t| RgIdToken::from_str(t).ok()) {
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
