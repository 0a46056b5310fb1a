//! The provider's discovery document and signing keys, cached per instance.
//! A provider that is down is not a startup error: the next sign-in tries
//! again. Keys are refetched when a token names a key we do not know (the
//! provider rotated them), at most once per `JWKS_REFETCH_SECONDS`.
//!
//! Guarantees, because anyone can make romgate look at the provider (an
//! anonymous back-channel logout post needs the discovery document): a
//! discovery fetch is single-flight (everyone who needs it while it runs
//! shares it), no lock is held across a call to the provider (a slow
//! provider delays only those who need its answer), and a failed fetch is
//! answered from memory for `FAILURE_MEMORY_SECONDS` to callers that are not
//! a person signing in (`AfterFailure::Remember`), so a flood of such posts
//! costs the provider at most one fetch per that many seconds.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreGrantType, CoreJsonWebKey,
    CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreResponseMode,
    CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{AdditionalProviderMetadata, EndSessionUrl, ProviderMetadata};
use serde::{Deserialize, Serialize};
use url::Url;

use super::issuer::{issuer_matches, mismatch_refusal};
use super::provider_http::{ProviderHttp, ProviderHttpError};
use super::single_flight::SingleFlight;
use crate::error::{AppError, Code, Kind};

/// How long discovery and keys are trusted before they are fetched again.
pub const METADATA_TTL_SECONDS: i64 = 3600;
/// Unknown key ids trigger at most one key refetch per this many seconds.
pub const JWKS_REFETCH_SECONDS: i64 = 30;
/// How long a failed discovery is answered from memory (`AfterFailure::Remember`).
/// Short, so a provider that comes back is used again at once.
pub const FAILURE_MEMORY_SECONDS: i64 = 10;

/// Discovery fields beyond OpenID Connect Discovery's core set.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ExtraMetadata {
    /// RP-Initiated Logout 1.0.
    pub end_session_endpoint: Option<EndSessionUrl>,
    /// RFC 8414 (PKCE methods).
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// Initiating User Registration via OpenID Connect 1.0: the `prompt`
    /// values the provider knows. Any JSON, read leniently
    /// (`ExtraMetadata::supports_prompt`): a provider writing it oddly must
    /// not fail discovery.
    pub prompt_values_supported: Option<serde_json::Value>,
}

impl ExtraMetadata {
    /// Whether the provider lists `value` among its `prompt` values. Not
    /// all providers know `prompt=login` (Google answers it with an error),
    /// so it is sent only to those that say so.
    pub fn supports_prompt(&self, value: &str) -> bool {
        self.prompt_values_supported
            .as_ref()
            .and_then(serde_json::Value::as_array)
            .is_some_and(|values| values.iter().any(|v| v.as_str() == Some(value)))
    }
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
}

/// What to do while a recent discovery failure is remembered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// A person signing in (or finishing a sign-in): ask the provider again,
    /// since it may be back (SPEC 5.7: the first sign-in after it returns
    /// works). Such requests are themselves limited per address, and the
    /// fetch is still shared with everyone waiting for it.
    Retry,
    /// Anyone else (back-channel logout posts, logout): answer with the
    /// remembered failure for `FAILURE_MEMORY_SECONDS`.
    Remember,
}

/// A fetch's outcome, shareable between everyone who waited for it.
type Fetched = Result<Arc<Discovered>, Arc<AppError>>;

#[derive(Debug, Default)]
struct Known {
    current: Option<Arc<Discovered>>,
    /// When the last discovery failed, and how (cleared by a success).
    failure: Option<(i64, Arc<AppError>)>,
    /// When keys were last refetched for an unknown key id (rate limit).
    keys_refetched_at: Option<i64>,
}

#[derive(Debug, Default)]
pub struct ProviderCache {
    /// Held only to read or replace a value, never across a provider call.
    known: Mutex<Known>,
    discovery: SingleFlight<Fetched>,
}

/// A remembered error, for one more caller (`AppError` is not `Clone`).
fn copy_error(error: &AppError) -> AppError {
    match error {
        AppError::Refused(refusal) => AppError::Refused(refusal.clone()),
        AppError::Internal(detail) => AppError::Internal(detail.clone()),
    }
}

impl ProviderCache {
    fn known(&self) -> MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached provider; fetched (once, for everyone waiting) when missing
    /// or stale.
    pub async fn get(
        self: &Arc<Self>,
        http: &ProviderHttp,
        metadata_url: &Url,
        now: i64,
        after_failure: AfterFailure,
    ) -> Result<Arc<Discovered>, AppError> {
        {
            let known = self.known();
            if let Some(fresh) = known
                .current
                .as_ref()
                .filter(|d| now - d.fetched_at < METADATA_TTL_SECONDS)
            {
                return Ok(Arc::clone(fresh));
            }
            let remembered = known
                .failure
                .as_ref()
                .filter(|(at, _)| now - at < FAILURE_MEMORY_SECONDS);
            if let (AfterFailure::Remember, Some((_, error))) = (after_failure, remembered) {
                return Err(copy_error(error));
            }
        }
        let (cache, http, url) = (Arc::clone(self), http.clone(), metadata_url.clone());
        let fetched = self
            .discovery
            .run(move || async move {
                let fetched: Fetched = fetch_metadata(&http, &url)
                    .await
                    .map(|metadata| {
                        Arc::new(Discovered {
                            metadata,
                            fetched_at: now,
                        })
                    })
                    .map_err(Arc::new);
                cache.remember(&fetched, now);
                fetched
            })
            .await
            .unwrap_or_else(|| {
                Err(Arc::new(AppError::internal(
                    "the discovery fetch task ended without an answer",
                )))
            });
        fetched.map_err(|error| copy_error(&error))
    }

    fn remember(&self, fetched: &Fetched, now: i64) {
        let mut known = self.known();
        match fetched {
            Ok(discovered) => {
                known.current = Some(Arc::clone(discovered));
                known.failure = None;
            }
            Err(error) => known.failure = Some((now, Arc::clone(error))),
        }
    }

    /// Fetches the keys again after a token named a key missing from `seen`.
    /// Returns the provider to verify against once more: a newer one when
    /// someone else refreshed it meanwhile, or the refetched one; `None` when
    /// a refetch happened too recently (nothing new to try). The rate limit
    /// is claimed before the fetch, under the lock, so at most one refetch
    /// starts per `JWKS_REFETCH_SECONDS`; the fetch runs without the lock.
    pub async fn refetch_keys(
        &self,
        http: &ProviderHttp,
        seen: &Arc<Discovered>,
        now: i64,
    ) -> Result<Option<Arc<Discovered>>, AppError> {
        {
            let mut known = self.known();
            match known.current.as_ref() {
                None => return Ok(None),
                Some(current) if !Arc::ptr_eq(current, seen) => return Ok(Some(Arc::clone(current))),
                Some(_) => {}
            }
            if known
                .keys_refetched_at
                .is_some_and(|at| now - at < JWKS_REFETCH_SECONDS)
            {
                return Ok(None);
            }
            known.keys_refetched_at = Some(now);
        }
        let jwks = fetch_jwks(http, &seen.metadata).await?;
        let refreshed = Arc::new(Discovered {
            metadata: seen.metadata.clone().set_jwks(jwks),
            fetched_at: seen.fetched_at,
        });
        let mut known = self.known();
        // A discovery that finished meanwhile brought its own fresh keys.
        if known.current.as_ref().is_some_and(|current| Arc::ptr_eq(current, seen)) {
            known.current = Some(Arc::clone(&refreshed));
        }
        tracing::info!("identity provider signing keys refetched (unknown key id)");
        Ok(Some(refreshed))
    }
}

/// Fetches and parses the discovery document, checks that it belongs to the
/// URL it came from, then fetches the keys it points at.
pub async fn fetch_metadata(http: &ProviderHttp, metadata_url: &Url) -> Result<Metadata, AppError> {
    let metadata: Metadata = http
        .get_json(metadata_url.as_str())
        .await
        .map_err(|e| provider_error(&e, "discovery"))?;
    let issuer = metadata.issuer().as_str();
    if !issuer_matches(issuer, metadata_url) {
        return Err(mismatch_refusal(issuer, metadata_url));
    }
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
            Code::ProviderUnreachable,
            "The identity provider is unreachable right now. Please try again in a few minutes.",
        ),
        _ => (
            Code::ProviderInvalidResponse,
            "The identity provider gave an answer romgate cannot use. Please try again later.",
        ),
    };
    AppError::refuse(Kind::BadGateway, code, message).hint(format!("While fetching the provider's {what}: {err}"))
}
