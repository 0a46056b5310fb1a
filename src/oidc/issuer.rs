//! The discovery document's `issuer` must be the URL it was discovered at,
//! minus `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0
//! §4.3). Otherwise a document served at one address could speak for another
//! provider (a mix-up), and ID tokens would be checked against an issuer the
//! administrator never configured. Used at sign-in and by `romgate oidc check`.

use url::Url;

use crate::error::{AppError, Code, Kind};

const WELL_KNOWN: &str = "/.well-known/openid-configuration";

/// The metadata URL this issuer publishes its discovery document at.
///
/// §4.1 builds it by removing one terminating `/` from the issuer and
/// appending the well-known path, so the issuers `https://idp/realms/x` and
/// `https://idp/realms/x/` both live at
/// `https://idp/realms/x/.well-known/openid-configuration`, and `https://idp/`
/// at `https://idp/.well-known/openid-configuration`. Reversing that rule is
/// exactly "strip the suffix, compare with and without one trailing slash";
/// anything else (another host, port, scheme or path) is a different issuer.
/// Both sides are compared as parsed URLs: OIDC_SERVER_METADATA_URL reaches
/// us already parsed (host lowercased, default port dropped), so the issuer
/// gets the same normalisation and only real differences count.
pub fn metadata_url_for(issuer: &str) -> Option<Url> {
    let base = issuer.strip_suffix('/').unwrap_or(issuer);
    Url::parse(&format!("{base}{WELL_KNOWN}")).ok()
}

/// True when `issuer` is the one that `metadata_url` belongs to. A query or
/// fragment on the metadata URL is not part of the issuer and is ignored.
pub fn issuer_matches(issuer: &str, metadata_url: &Url) -> bool {
    let mut fetched_from = metadata_url.clone();
    fetched_from.set_query(None);
    fetched_from.set_fragment(None);
    metadata_url_for(issuer).is_some_and(|expected| expected == fetched_from)
}

/// What the administrator should do, naming both values.
pub fn mismatch_hint(issuer: &str, metadata_url: &Url) -> String {
    let expected =
        metadata_url_for(issuer).map_or_else(|| "<issuer>/.well-known/openid-configuration".into(), |u| u.to_string());
    format!(
        "The discovery document at {metadata_url} names the issuer {issuer}, but OpenID Connect Discovery requires \
         the document of issuer X to be at X{WELL_KNOWN}. Set OIDC_SERVER_METADATA_URL to {expected} if that is \
         the provider you mean, or fix the provider's public URL (its issuer) so that it matches the address \
         romgate reaches it at."
    )
}

/// The sign-in refusal for a mismatched issuer (a 502: the provider's
/// answer cannot be used as it is).
pub fn mismatch_refusal(issuer: &str, metadata_url: &Url) -> AppError {
    let hint = mismatch_hint(issuer, metadata_url);
    tracing::warn!(?issuer, %metadata_url, "discovery document refused: its issuer is not the metadata URL's");
    AppError::refuse(
        Kind::BadGateway,
        Code::ProviderIssuerMismatch,
        "The identity provider's configuration does not match romgate's settings, so nobody can sign in with it \
         right now. The administrator can find the details below and in the log.",
    )
    .hint(hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn an_issuer_matches_its_own_metadata_url_with_or_without_one_trailing_slash() {
        let realm = url("https://idp.example/realms/x/.well-known/openid-configuration");
        assert!(issuer_matches("https://idp.example/realms/x", &realm));
        assert!(issuer_matches("https://idp.example/realms/x/", &realm));
        let root = url("https://idp.example/.well-known/openid-configuration");
        assert!(issuer_matches("https://idp.example/", &root));
        assert!(issuer_matches("https://idp.example", &root));
        assert!(issuer_matches(
            "http://127.0.0.1:9000",
            &url("http://127.0.0.1:9000/.well-known/openid-configuration")
        ));
        assert!(
            issuer_matches("https://IDP.example:443/realms/x", &realm),
            "same URL once normalised"
        );
        let with_query = url("https://idp.example/realms/x/.well-known/openid-configuration?p=policy");
        assert!(issuer_matches("https://idp.example/realms/x", &with_query));
    }

    #[test]
    fn any_other_issuer_does_not_match() {
        let realm = url("https://idp.example/realms/x/.well-known/openid-configuration");
        for other in [
            "https://idp.example/realms/y",
            "https://idp.example/realms",
            "https://idp.example",
            "http://idp.example/realms/x",
            "https://idp.example:8443/realms/x",
            "https://other.example/realms/x",
            "https://idp.example/realms/x//",
            "not a url",
            "",
        ] {
            assert!(!issuer_matches(other, &realm), "{other}");
        }
        let elsewhere = url("https://idp.example/realms/x/openid-configuration");
        assert!(!issuer_matches("https://idp.example/realms/x", &elsewhere));
    }

    #[test]
    fn the_hint_names_both_values_and_the_fix() {
        let metadata = url("http://internal:8080/realms/x/.well-known/openid-configuration");
        let hint = mismatch_hint("https://sso.example/realms/x", &metadata);
        assert!(hint.contains("http://internal:8080/realms/x/.well-known/openid-configuration"));
        assert!(hint.contains("names the issuer https://sso.example/realms/x"));
        assert!(
            hint.contains("OIDC_SERVER_METADATA_URL to https://sso.example/realms/x/.well-known/openid-configuration")
        );
    }
}
