//! Exchanging the code and verifying what comes back: the ID token by the
//! openidconnect crate (signature against the provider's keys, algorithm,
//! iss, aud, exp, iat, nonce), `azp` when there are several audiences, and
//! the userinfo answer, whose `sub` must be the ID token's.

use std::sync::Arc;

use openidconnect::core::{CoreClaimName, CoreErrorResponseType};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, Nonce, OAuth2TokenResponse, PkceCodeVerifier, RequestTokenError,
    SignatureVerificationError, UserInfoError,
};

use super::Oidc;
use super::claims::Claims;
use super::client::{RgIdToken, RgTokenResponse, RgUserInfo, auth_method_name, build_client, id_token_verifier};
use super::discovery::{AfterFailure, Discovered, provider_error};
use super::provider_http::ProviderHttpError;
use crate::error::{AppError, AppResult, Code, Kind};

fn invalid_token(detail: impl std::fmt::Display) -> AppError {
    tracing::warn!(%detail, "ID token refused");
    AppError::refuse(
        Kind::Forbidden,
        Code::IdTokenInvalid,
        "The identity provider's answer could not be verified, so you were not signed in.",
    )
    .hint(format!("ID token verification failed: {detail}"))
}

fn bad_provider_answer(code: Code, detail: impl std::fmt::Display) -> AppError {
    tracing::warn!(%detail, code = code.as_str(), "identity provider answer refused");
    AppError::refuse(
        Kind::BadGateway,
        code,
        "The identity provider gave an answer romgate cannot use. Please try again.",
    )
    .hint(detail.to_string())
}

/// The provider refused romgate itself (`invalid_client`,
/// `unauthorized_client`): no retry can help the person, only the
/// administrator, so the page sends them there.
fn client_refused(error: &str, method: &str) -> AppError {
    tracing::warn!(error, method, "the token endpoint refused romgate's client credentials");
    AppError::refuse(
        Kind::BadGateway,
        Code::ClientRefused,
        "The identity provider does not accept this server's sign-in settings, so signing in this way cannot \
         work until they are fixed. Please tell your administrator.",
    )
    .hint(format!(
        "The token endpoint answered {error}: check OIDC_CLIENT_ID and OIDC_CLIENT_SECRET against the client \
         registered at the provider, and that its client authentication method is {method} (for \
         unauthorized_client: that the authorization code grant is allowed). `romgate oidc check` tests the \
         credentials."
    ))
}

/// The longest subject OpenID Connect allows.
const MAX_SUBJECT_BYTES: usize = 255;

impl Oidc {
    pub(super) async fn exchange_and_verify(
        &self,
        code: String,
        verifier: &str,
        nonce: &str,
        now: i64,
    ) -> AppResult<Verified> {
        let provider = self.provider(now, AfterFailure::Retry).await?;
        let response = self.exchange(&provider, code, verifier).await?;
        let id_token = response.extra_fields().id_token().ok_or_else(|| {
            bad_provider_answer(
                Code::IdTokenMissing,
                "the token endpoint returned no id_token (is the `openid` scope allowed for this client?)",
            )
        })?;
        let nonce = Nonce::new(nonce.to_string());
        let (provider, claims_json, subject) = match self.verify_id_token(&provider, id_token, &nonce, now) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey
                | SignatureVerificationError::CryptoError(_)
                | SignatureVerificationError::InvalidKey(_)
                | SignatureVerificationError::AmbiguousKeyId(_),
            )) => {
                // The provider may have rotated its keys, or served a broken
                // key set when we fetched it (a key that fails the token the
                // token endpoint itself handed over): fetch them once more,
                // or those keys would fail every sign-in until the cache
                // expires (an hour) after the provider has recovered.
                let Some(refreshed) = self.cache.refetch_keys(&self.http, &provider, now).await? else {
                    return Err(invalid_token(
                        "the token's signature does not verify with the provider's keys (fetched again less than 30 s ago)",
                    ));
                };
                let verified = self
                    .verify_id_token(&refreshed, id_token, &nonce, now)
                    .map_err(invalid_token)?;
                (refreshed, verified.0, verified.1)
            }
            other => {
                let verified = other.map_err(invalid_token)?;
                (provider, verified.0, verified.1)
            }
        };
        let userinfo = self.fetch_userinfo(&provider, &response, &subject).await?;
        let advertised = provider
            .metadata
            .claims_supported()
            .is_some_and(|claims| claims.contains(&CoreClaimName::new("email_verified".into())));
        let auth_time = claims_json.get("auth_time").and_then(serde_json::Value::as_i64);
        Ok(Verified {
            issuer: provider.metadata.issuer().as_str().to_string(),
            subject,
            auth_time,
            claims: Claims::merge(claims_json, userinfo),
            id_token: id_token.to_string(),
            email_verified_advertised: advertised,
        })
    }

    async fn exchange(&self, provider: &Discovered, code: String, verifier: &str) -> AppResult<RgTokenResponse> {
        let client = build_client(&self.config, &provider.metadata);
        let request = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| bad_provider_answer(Code::ProviderMisconfigured, format!("no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_string()));
        request.request_async(&self.http).await.map_err(|err| match err {
            RequestTokenError::ServerResponse(answer) => {
                // Its description is provider text: logged, not shown (SPEC 9).
                if let Some(description) = answer.error_description() {
                    let description: String = description.chars().take(300).collect();
                    tracing::warn!(?description, "the token endpoint refused the code");
                }
                if matches!(
                    answer.error(),
                    CoreErrorResponseType::InvalidClient | CoreErrorResponseType::UnauthorizedClient
                ) {
                    return client_refused(answer.error().as_ref(), auth_method_name(&provider.metadata));
                }
                let detail = format!(
                    "the token endpoint refused the code: {} (its description is in romgate's log)",
                    answer.error().as_ref()
                );
                bad_provider_answer(Code::TokenExchangeFailed, detail)
            }
            RequestTokenError::Request(http) => provider_error(&http, "token endpoint"),
            RequestTokenError::Parse(parse, _) => bad_provider_answer(
                Code::TokenExchangeFailed,
                format!("the token endpoint's answer is not valid JSON: {parse}"),
            ),
            RequestTokenError::Other(other) => bad_provider_answer(Code::TokenExchangeFailed, other),
        })
    }

    /// Verifies the ID token; returns its claims as JSON and its subject.
    fn verify_id_token(
        &self,
        provider: &Arc<Discovered>,
        id_token: &RgIdToken,
        nonce: &Nonce,
        now: i64,
    ) -> Result<(serde_json::Value, String), ClaimsVerificationError> {
        let client = build_client(&self.config, &provider.metadata);
        let verifier = id_token_verifier(&client, &provider.metadata, now);
        let claims = id_token.claims(&verifier, nonce)?;
        let client_id = self.config.client_id.as_str();
        let azp = claims.authorized_party().map(|azp| azp.as_str());
        if azp.is_some_and(|azp| azp != client_id) || (claims.audiences().len() > 1 && azp != Some(client_id)) {
            return Err(ClaimsVerificationError::InvalidAudience(
                "several audiences: azp must be our client id".to_string(),
            ));
        }
        let subject = claims.subject().as_str();
        // OpenID Connect Core 2: "It MUST NOT exceed 255 ASCII characters".
        // A longer one would not fit the identity link's index.
        if subject.len() > MAX_SUBJECT_BYTES {
            return Err(ClaimsVerificationError::Other(format!(
                "the subject (sub) is longer than {MAX_SUBJECT_BYTES} characters"
            )));
        }
        let json = serde_json::to_value(claims).map_err(|e| ClaimsVerificationError::Other(e.to_string()))?;
        Ok((json, subject.to_string()))
    }

    async fn fetch_userinfo(
        &self,
        provider: &Discovered,
        response: &RgTokenResponse,
        subject: &str,
    ) -> AppResult<Option<serde_json::Value>> {
        let client = build_client(&self.config, &provider.metadata);
        if client.user_info_url().is_none() {
            return Ok(None);
        }
        let expected = openidconnect::SubjectIdentifier::new(subject.to_string());
        let request = client
            .user_info(response.access_token().clone(), Some(expected))
            .map_err(|e| bad_provider_answer(Code::ProviderMisconfigured, e))?;
        let answer: Result<RgUserInfo, UserInfoError<ProviderHttpError>> = request.request_async(&self.http).await;
        match answer {
            Ok(claims) => {
                let json = serde_json::to_value(&claims).map_err(|e| bad_provider_answer(Code::UserinfoInvalid, e))?;
                Ok(Some(json))
            }
            Err(UserInfoError::ClaimsVerification(err)) => Err(invalid_token(format!("userinfo: {err}"))),
            Err(UserInfoError::Request(http)) => Err(provider_error(&http, "userinfo endpoint")),
            Err(other) => Err(bad_provider_answer(Code::UserinfoInvalid, format!("userinfo: {other}"))),
        }
    }
}

/// What the verified tokens say.
#[derive(Debug, Clone)]
pub struct Verified {
    pub issuer: String,
    pub subject: String,
    pub claims: Claims,
    pub id_token: String,
    pub email_verified_advertised: bool,
    /// When the provider authenticated the person, from the signed ID
    /// token only (`auth_time`), never from userinfo.
    pub auth_time: Option<i64>,
}
