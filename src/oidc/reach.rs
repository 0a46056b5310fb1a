//! Why the provider could not be reached, in the operator's words: the
//! likely cause (`failure_cause`; also a wrong path, a web page instead of
//! JSON) and the variable to fix — the one actually set, never one the
//! operator did not use.

use url::Url;

use super::failure_cause::Cause;
use super::provider_http::{CONNECT_TIMEOUT, ProviderHttpError};

/// What `variable` must hold.
fn must_be(variable: &str) -> String {
    if variable == "OIDC_SERVER_APPLICATION_URL" {
        "OIDC_SERVER_APPLICATION_URL must be the provider's issuer URL (romgate adds \
         /.well-known/openid-configuration; it is not the authorization URL)"
            .into()
    } else {
        format!("{variable} must be the provider's .well-known/openid-configuration URL")
    }
}

/// The fix for a failed fetch of `url`, which came from `variable`.
pub fn hint(err: &ProviderHttpError, variable: &str, url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or_default();
    match err {
        ProviderHttpError::Unreachable(unreached) => match unreached.cause {
            Cause::ConnectionRefused => format!(
                "nothing listens at {host}:{port} (connection refused): check the host and port in {variable} \
                 ({url}), and that the provider runs and is reachable from here (in a container, localhost \
                 is the container itself)"
            ),
            Cause::NameNotResolved => format!(
                "the name {host} does not resolve from here: check the host name in {variable} ({url}) and this \
                 machine's (or container's) DNS"
            ),
            Cause::CertificateNotTrusted => format!(
                "the TLS certificate of {host} is not trusted here: set OIDC_TLS_CACERTFILE to a PEM file with \
                 the CA that signed it (a private or self-signed CA), or use in {variable} the host name the \
                 certificate is for"
            ),
            Cause::NotTls => format!(
                "{host}:{port} does not speak TLS: if the provider serves plain http there, write http:// in \
                 {variable}, not https://"
            ),
            Cause::Timeout => format!(
                "no answer from {host}:{port} in time (connecting may take {} seconds): check the address in \
                 {variable} ({url}) and any firewall between here and the provider",
                CONNECT_TIMEOUT.as_secs()
            ),
            Cause::ClosedEarly => format!(
                "{host}:{port} closed the connection without answering: if the provider speaks TLS there, \
                 write https:// in {variable}, not http://"
            ),
            Cause::Other => format!(
                "cannot connect to {host}:{port}: check {variable} ({url}) and the network between here and \
                 the provider"
            ),
        },
        ProviderHttpError::Status { status: 404, .. } => {
            format!("nothing at {url} (HTTP 404, a wrong path): {}", must_be(variable))
        }
        ProviderHttpError::Status { status, .. } => format!("{url} answered HTTP {status}: {}", must_be(variable)),
        ProviderHttpError::NotJson { html: true, .. } => format!(
            "{url} answered with a web page (HTML), not the discovery JSON: {}",
            must_be(variable)
        ),
        _ => must_be(variable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::provider_http::Unreached;

    fn unreachable(cause: Cause) -> ProviderHttpError {
        ProviderHttpError::Unreachable(Unreached {
            cause,
            detail: "detail".into(),
        })
    }

    #[test]
    fn the_hint_names_the_variable_used_and_the_cause() {
        let url = Url::parse("https://auth.lan:8443/.well-known/openid-configuration").expect("url");
        let app = "OIDC_SERVER_APPLICATION_URL";
        let refused = hint(&unreachable(Cause::ConnectionRefused), app, &url);
        assert!(refused.contains("nothing listens at auth.lan:8443"), "{refused}");
        assert!(
            refused.contains(app) && !refused.contains("OIDC_SERVER_METADATA_URL"),
            "{refused}"
        );
        let cert = hint(&unreachable(Cause::CertificateNotTrusted), app, &url);
        assert!(cert.contains("OIDC_TLS_CACERTFILE"), "{cert}");
        assert!(hint(&unreachable(Cause::NameNotResolved), app, &url).contains("auth.lan does not resolve"));
        assert!(hint(&unreachable(Cause::NotTls), app, &url).contains("write http://"));
        assert!(hint(&unreachable(Cause::ClosedEarly), app, &url).contains("write https://"));
        assert!(hint(&unreachable(Cause::Timeout), app, &url).contains("in time"));
        let status = |status| ProviderHttpError::Status {
            status,
            url: url.to_string(),
        };
        let metadata = "OIDC_SERVER_METADATA_URL";
        let missing = hint(&status(404), metadata, &url);
        assert!(missing.contains("HTTP 404") && missing.contains(metadata), "{missing}");
        assert!(hint(&status(503), metadata, &url).contains("HTTP 503"));
        let page = ProviderHttpError::NotJson {
            url: url.to_string(),
            detail: "expected value".into(),
            html: true,
        };
        assert!(hint(&page, metadata, &url).contains("web page (HTML)"));
    }

    #[test]
    fn the_error_text_carries_the_cause_for_logs_and_the_sign_in_page() {
        let text = unreachable(Cause::ConnectionRefused).to_string();
        assert_eq!(
            text,
            "cannot reach the identity provider: detail (likely: connection refused, nothing listens at that host and port)"
        );
        assert_eq!(
            unreachable(Cause::Other).to_string(),
            "cannot reach the identity provider: detail"
        );
    }
}
