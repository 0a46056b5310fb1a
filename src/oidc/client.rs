//! The openidconnect crate's client, typed for romgate: any extra claims are
//! kept (groups, roles, custom usernames), and the verifier is configured for
//! this login's time, the provider's advertised algorithms (never `none`),
//! and the audience rules of the spec.

use chrono::{DateTime, Utc};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreClientAuthMethod, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthType, Client, ClientId, ClientSecret, EmptyExtraTokenFields, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IdToken, IdTokenFields, IdTokenVerifier, RedirectUrl, StandardErrorResponse,
    StandardTokenResponse, UserInfoClaims,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::discovery::Metadata;
use crate::config::OidcConfig;

/// Seconds of clock difference tolerated on `exp` and `iat`.
pub const LEEWAY_SECONDS: i64 = 60;

/// Every claim the standard types do not name, kept as JSON.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExtraClaims {
    #[serde(flatten)]
    pub other: Map<String, Value>,
}
impl AdditionalClaims for ExtraClaims {}

pub type RgIdToken = IdToken<ExtraClaims, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;
pub type RgUserInfo = UserInfoClaims<ExtraClaims, CoreGenderClaim>;
type RgIdTokenFields = IdTokenFields<
    ExtraClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
pub type RgTokenResponse = StandardTokenResponse<RgIdTokenFields, CoreTokenType>;

pub type RgClient = Client<
    ExtraClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    RgTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A client for this provider: client_secret_basic, or client_secret_post
/// when that is all the provider supports.
pub fn build_client(config: &OidcConfig, metadata: &Metadata) -> RgClient {
    let client = RgClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new(config.client_id.clone()),
        Some(ClientSecret::new(config.client_secret.expose().to_string())),
    )
    .set_redirect_uri(RedirectUrl::from_url(config.redirect_uri.clone()));
    if prefers_client_secret_post(metadata) {
        client.set_auth_type(AuthType::RequestBody)
    } else {
        client
    }
}

/// The scopes every sign-in asks for, whatever the configuration.
const STANDARD_SCOPES: [&str; 3] = ["openid", "profile", "email"];

/// The scopes a sign-in requests, in the order sent: `openid`, `profile`,
/// `email`, then the scope named by OIDC_CLAIM_ROLES's first segment, trimmed
/// (many providers release `groups` only for a `groups` scope), unless it is
/// empty or one of those three. The one source for sign-in and for
/// `romgate oidc check`, so the check reports exactly what is sent.
pub fn requested_scopes(config: &OidcConfig) -> Vec<String> {
    let mut scopes: Vec<String> = STANDARD_SCOPES.iter().map(|s| s.to_string()).collect();
    let roles_scope = config
        .claim_roles
        .as_deref()
        .and_then(|claim| claim.split('.').next())
        .map(str::trim)
        .filter(|first| !first.is_empty() && !STANDARD_SCOPES.contains(first));
    scopes.extend(roles_scope.map(str::to_string));
    scopes
}

/// The client authentication `build_client` uses with this provider, by its
/// registered name (for hints).
pub fn auth_method_name(metadata: &Metadata) -> &'static str {
    if prefers_client_secret_post(metadata) {
        "client_secret_post"
    } else {
        "client_secret_basic"
    }
}

fn prefers_client_secret_post(metadata: &Metadata) -> bool {
    let Some(methods) = metadata.token_endpoint_auth_methods_supported() else {
        return false;
    };
    !methods.contains(&CoreClientAuthMethod::ClientSecretBasic)
        && methods.contains(&CoreClientAuthMethod::ClientSecretPost)
}

/// The algorithms we accept: what the provider advertises, minus `none`.
pub fn allowed_algorithms(metadata: &Metadata) -> Vec<CoreJwsSigningAlgorithm> {
    let advertised: Vec<_> = metadata
        .id_token_signing_alg_values_supported()
        .iter()
        .filter(|alg| **alg != CoreJwsSigningAlgorithm::None)
        .cloned()
        .collect();
    if advertised.is_empty() {
        vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]
    } else {
        advertised
    }
}

fn at(unix: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(unix, 0).unwrap_or_default()
}

/// The ID token verifier for a login happening at `now`. Extra audiences
/// are accepted here and checked against `azp` by the caller.
pub fn id_token_verifier<'a>(
    client: &'a RgClient,
    metadata: &Metadata,
    now: i64,
) -> IdTokenVerifier<'a, CoreJsonWebKey> {
    client
        .id_token_verifier()
        .set_allowed_algs(allowed_algorithms(metadata))
        .set_other_audience_verifier_fn(|_| true)
        .set_time_fn(move || at(now - LEEWAY_SECONDS))
        .set_issue_time_verifier_fn(move |iat| {
            if iat.timestamp() > now + LEEWAY_SECONDS {
                Err(format!("issued in the future ({iat})"))
            } else {
                Ok(())
            }
        })
}
