//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0): the
//! provider posts a signed logout token and the matching sessions end at
//! once, on every instance (they live in the database). The token's
//! signature, algorithm, `iss` and `aud` are checked by the jsonwebtoken
//! crate against the provider's published keys; the logout-specific rules
//! (events, sub/sid, no nonce, fresh iat, unseen jti) here.

use std::str::FromStr;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::Oidc;
use super::client::{LEEWAY_SECONDS, allowed_algorithms};
use super::discovery::{AfterFailure, Discovered};
use crate::error::{AppError, AppResult, Code};

const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// Logout tokens older than this are refused (their jti is forgotten later).
const MAX_AGE_SECONDS: i64 = 600;

#[derive(Debug, Deserialize)]
struct LogoutClaims {
    iss: String,
    sub: Option<String>,
    sid: Option<String>,
    iat: Option<i64>,
    exp: Option<i64>,
    jti: Option<String>,
    events: Option<Map<String, Value>>,
    nonce: Option<Value>,
}

fn invalid(message: impl Into<String>) -> AppError {
    let message = message.into();
    tracing::warn!(reason = %message, "back-channel logout token refused");
    AppError::bad_request(Code::InvalidRequest, message)
}

enum Refusal {
    UnknownKey,
    Invalid(String),
}

impl Oidc {
    /// Verifies `logout_token` and ends the sessions it names; returns how many.
    pub async fn backchannel_logout(&self, logout_token: &str, now: i64) -> AppResult<u64> {
        // Anyone can post here: a failed discovery is answered from memory.
        let provider = self.provider(now, AfterFailure::Remember).await?;
        let claims = match verify(&provider, &self.config.client_id, logout_token) {
            Err(Refusal::UnknownKey) => match self.cache.refetch_keys(&self.http, &provider, now).await? {
                Some(refreshed) => verify(&refreshed, &self.config.client_id, logout_token),
                None => Err(Refusal::UnknownKey),
            },
            other => other,
        }
        .map_err(|refusal| match refusal {
            Refusal::UnknownKey => invalid("the logout token is signed with an unknown key"),
            Refusal::Invalid(reason) => invalid(reason),
        })?;
        check_claims(&claims, now)?;
        let jti = claims.jti.as_deref().unwrap_or_default();
        let forget_after = remember_until(&claims, now);
        if !self.store.remember_logout_token(&claims.iss, jti, forget_after).await? {
            return Err(invalid("this logout token was already used (jti seen before)"));
        }
        let ended = self
            .store
            .delete_oidc_sessions(&claims.iss, claims.sub.as_deref(), claims.sid.as_deref())
            .await?;
        tracing::info!(
            ended,
            by_sid = claims.sid.is_some(),
            "back-channel logout ended sessions"
        );
        Ok(ended)
    }
}

fn verify(provider: &Discovered, client_id: &str, token: &str) -> Result<LogoutClaims, Refusal> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| Refusal::Invalid(format!("not a JWT: {e}")))?;
    let algorithms: Vec<Algorithm> = allowed_algorithms(&provider.metadata)
        .iter()
        .filter_map(|alg| serde_plain_name(alg).and_then(|name| Algorithm::from_str(&name).ok()))
        .filter(|alg| !matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512))
        .collect();
    if !algorithms.contains(&header.alg) {
        return Err(Refusal::Invalid(format!(
            "algorithm {:?} is not one the provider advertises",
            header.alg
        )));
    }
    let jwks_json = serde_json::to_value(provider.metadata.jwks()).map_err(|e| Refusal::Invalid(e.to_string()))?;
    let jwks: JwkSet =
        serde_json::from_value(jwks_json).map_err(|e| Refusal::Invalid(format!("provider keys: {e}")))?;
    let jwk = match header.kid.as_deref() {
        Some(kid) => jwks.find(kid).ok_or(Refusal::UnknownKey)?,
        None if jwks.keys.len() == 1 => jwks.keys.first().ok_or(Refusal::UnknownKey)?,
        None => return Err(Refusal::Invalid("the logout token names no key id".into())),
    };
    let key = DecodingKey::from_jwk(jwk).map_err(|e| Refusal::Invalid(format!("provider key: {e}")))?;
    // The token's own algorithm only (checked above against the
    // provider's list): jsonwebtoken refuses every token when any listed
    // algorithm is of another family than the key, and providers advertise
    // several (Keycloak: RSA, EC and EdDSA).
    let mut validation = Validation::new(header.alg);
    validation.algorithms = vec![header.alg];
    validation.set_issuer(&[provider.metadata.issuer().as_str()]);
    validation.set_audience(&[client_id]);
    validation.set_required_spec_claims(&["iss", "aud"]);
    // Time is checked against the server's clock in `check_claims`.
    validation.validate_exp = false;
    jsonwebtoken::decode::<LogoutClaims>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| Refusal::Invalid(format!("logout token: {e}")))
}

fn serde_plain_name(alg: &openidconnect::core::CoreJwsSigningAlgorithm) -> Option<String> {
    serde_json::to_value(alg).ok()?.as_str().map(str::to_string)
}

/// Until when a logout token's jti must be remembered: past the last moment
/// `check_claims` would still accept the token. Its `iat` may be up to the
/// leeway ahead of now and is accepted for `MAX_AGE_SECONDS` after it, so
/// a jti forgotten `MAX_AGE_SECONDS` after *now* could be replayed for up
/// to a minute (cleanup deletes rows whose time is up).
fn remember_until(claims: &LogoutClaims, now: i64) -> i64 {
    let accepted_until = claims.iat.unwrap_or(now).saturating_add(MAX_AGE_SECONDS);
    let valid_until = claims.exp.map_or(i64::MIN, |exp| exp.saturating_add(LEEWAY_SECONDS));
    (accepted_until + 1).max(valid_until).max(now + MAX_AGE_SECONDS)
}

fn check_claims(claims: &LogoutClaims, now: i64) -> AppResult<()> {
    let has_event = claims
        .events
        .as_ref()
        .is_some_and(|events| events.get(LOGOUT_EVENT).is_some_and(Value::is_object));
    if !has_event {
        return Err(invalid("the logout token lacks the back-channel logout event"));
    }
    if claims.nonce.is_some() {
        return Err(invalid("a logout token must not carry a nonce"));
    }
    if claims.sub.is_none() && claims.sid.is_none() {
        return Err(invalid("the logout token names neither sub nor sid"));
    }
    if claims.jti.as_deref().is_none_or(str::is_empty) {
        return Err(invalid("the logout token has no jti"));
    }
    let iat = claims.iat.ok_or_else(|| invalid("the logout token has no iat"))?;
    if iat > now + LEEWAY_SECONDS || iat < now - MAX_AGE_SECONDS {
        return Err(invalid("the logout token's iat is too far from now"));
    }
    if claims.exp.is_some_and(|exp| exp.saturating_add(LEEWAY_SECONDS) <= now) {
        return Err(invalid("the logout token has expired"));
    }
    Ok(())
}
