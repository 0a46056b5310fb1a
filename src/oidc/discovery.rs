//! The provider's discovery document and signing keys, cached per instance.
//! A provider that is down is not a startup error: the next sign-in tries
//! again. Keys are refetched when a token names a key we do not know (the
//! provider rotated them), at most once per `JWKS_REFETCH_SECONDS`.

use std::sync::Arc;

use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreGrantType, CoreJsonWebKey,
    CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreResponseMode,
    CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{AdditionalProviderMetadata, EndSessionUrl, ProviderMetadata};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::provider_http::{ProviderHttp, ProviderHttpError};
use crate::error::{AppError, Kind};

/// How long discovery and keys are trusted before they are fetched again.
pub const METADATA_TTL_SECONDS: i64 = 3600;
/// Unknown key ids trigger at most one key refetch per this many seconds.
pub const JWKS_REFETCH_SECONDS: i64 = 30;

/// Discovery fields beyond OpenID Connect Discovery's core set.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ExtraMetadata {
    /// RP-Initiated Logout 1.0.
    pub end_session_endpoint: Option<EndSessionUrl>,
    /// RFC 8414 (PKCE methods).
    pub code_challenge_methods_supported: Option<Vec<String>>,
}
impl AdditionalProviderMetadata for ExtraMetadata {}

pub type Metadata = ProviderMetadata<
    ExtraMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// A discovery document with its keys, and when it was fetched.
#[derive(Debug, Clone)]
pub struct Discovered {
    pub metadata: Metadata,
    pub fetched_at: i64,
    /// When keys were last refetched for an unknown key id (rate limit).
    pub keys_refetched_at: Option<i64>,
}

#[derive(Debug, Default)]
pub struct ProviderCache {
    current: Mutex<Option<Arc<Discovered>>>,
}

impl ProviderCache {
    /// The cached provider, fetched when missing or stale.
    pub async fn get(&self, http: &ProviderHttp, metadata_url: &str, now: i64) -> Result<Arc<Discovered>, AppError> {
        let mut current = self.current.lock().await;
        if let Some(found) = current.as_ref().filter(|d| now - d.fetched_at < METADATA_TTL_SECONDS) {
            return Ok(found.clone());
        }
        let metadata = fetch_metadata(http, metadata_url).await?;
        let discovered = Arc::new(Discovered {
            metadata,
            fetched_at: now,
            keys_refetched_at: None,
        });
        *current = Some(discovered.clone());
        Ok(discovered)
    }

    /// Fetches the keys again after a token named an unknown key. Returns
    /// `None` when a refetch happened too recently (nothing new to try).
    pub async fn refetch_keys(&self, http: &ProviderHttp, now: i64) -> Result<Option<Arc<Discovered>>, AppError> {
        let mut current = self.current.lock().await;
        let Some(existing) = current.as_ref() else {
            return Ok(None);
        };
        if existing
            .keys_refetched_at
            .is_some_and(|at| now - at < JWKS_REFETCH_SECONDS)
        {
            return Ok(None);
        }
        let jwks = fetch_jwks(http, &existing.metadata).await?;
        let metadata = existing.metadata.clone().set_jwks(jwks);
        let refreshed = Arc::new(Discovered {
            metadata,
            fetched_at: existing.fetched_at,
            keys_refetched_at: Some(now),
        });
        *current = Some(refreshed.clone());
        tracing::info!("identity provider signing keys refetched (unknown key id)");
        Ok(Some(refreshed))
    }
}

/// Fetches and parses the discovery document, then the keys it points at.
pub async fn fetch_metadata(http: &ProviderHttp, metadata_url: &str) -> Result<Metadata, AppError> {
    let metadata: Metadata = http
        .get_json(metadata_url)
        .await
        .map_err(|e| provider_error(&e, "discovery"))?;
    let jwks = fetch_jwks(http, &metadata).await?;
    Ok(metadata.set_jwks(jwks))
}

async fn fetch_jwks(http: &ProviderHttp, metadata: &Metadata) -> Result<CoreJsonWebKeySet, AppError> {
    http.get_json(metadata.jwks_uri().url().as_str())
        .await
        .map_err(|e| provider_error(&e, "signing keys (JWKS)"))
}

/// A provider failure as a refusal: the person sees "unreachable", the log
/// and the admin hint get the detail.
pub fn provider_error(err: &ProviderHttpError, what: &str) -> AppError {
    tracing::warn!(error = %err, what, "identity provider call failed");
    let (code, message) = match err {
        ProviderHttpError::Unreachable(_) => (
            "provider_unreachable",
            "The identity provider is unreachable right now. Please try again in a few minutes.",
        ),
        _ => (
            "provider_invalid_response",
            "The identity provider gave an answer romgate cannot use. Please try again later.",
        ),
    };
    AppError::refuse(Kind::BadGateway, code, message).hint(format!("While fetching the provider's {what}: {err}"))
}
