//! Why the provider could not be reached, in the operator's words: the
//! likely cause (nothing listening, a name that does not resolve, TLS, a
//! timeout, a wrong path, a web page instead of JSON) and the variable to
//! fix — the one actually set, never one the operator did not use.

use url::Url;

use super::provider_http::{CONNECT_TIMEOUT, ProviderHttpError};

/// The likely cause of a failed connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// Nothing listens at that host and port.
    ConnectionRefused,
    /// The host name does not resolve from here.
    NameNotResolved,
    /// The TLS certificate is not trusted (unknown CA, another name, expired).
    CertificateNotTrusted,
    /// TLS spoken to something that does not (https:// to a plain http port).
    NotTls,
    Timeout,
    /// Connected, but the connection ended before an answer (often http://
    /// to a port that speaks TLS).
    ClosedEarly,
    Other,
}

impl Cause {
    /// The cause in a few words, for log lines and the sign-in page's
    /// administrator hint (which know no variable to name).
    pub fn in_words(self) -> Option<&'static str> {
        match self {
            Cause::ConnectionRefused => Some("connection refused, nothing listens at that host and port"),
            Cause::NameNotResolved => Some("the host name does not resolve from here"),
            Cause::CertificateNotTrusted => {
                Some("its TLS certificate is not trusted here; OIDC_TLS_CACERTFILE adds a CA")
            }
            Cause::NotTls => Some("it does not speak TLS; http:// rather than https://?"),
            Cause::ClosedEarly => Some("it closed the connection without an answer; https:// rather than http://?"),
            Cause::Timeout => Some("no answer in time; a wrong address or a firewall?"),
            Cause::Other => None,
        }
    }
}

/// Classifies a reqwest failure from its flags and the text of its source
/// chain (hyper and rustls name the cause only in text).
pub fn classify(is_connect: bool, is_timeout: bool, chain: &str) -> Cause {
    let text = chain.to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| text.contains(n));
    if is_timeout || has(&["timed out"]) {
        Cause::Timeout
    } else if has(&["connection refused", "os error 111", "os error 61", "os error 10061"]) {
        Cause::ConnectionRefused
    } else if has(&[
        "dns error",
        "failed to lookup address",
        "name or service not known",
        "no such host",
    ]) {
        Cause::NameNotResolved
    } else if has(&["certificate", "unknownissuer", "notvalidforname"]) {
        Cause::CertificateNotTrusted
    } else if has(&["invalidcontenttype", "corrupt message", "wrong version number"]) {
        Cause::NotTls
    } else if !is_connect && has(&["connection closed", "connection reset", "incomplete message"]) {
        Cause::ClosedEarly
    } else {
        Cause::Other
    }
}

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

    const REFUSED: &str = "error sending request for url (http://127.0.0.1:9/.well-known/openid-configuration): \
                           client error (Connect): tcp connect error: Connection refused (os error 111)";
    const DNS: &str = "error sending request for url (http://idp.nowhere/): client error (Connect): dns error: \
                       failed to lookup address information: Name or service not known";
    const CERT: &str = "error sending request for url (https://idp.lan/): client error (Connect): invalid peer \
                        certificate: UnknownIssuer";
    const NOT_TLS: &str = "error sending request for url (https://127.0.0.1:8080/): client error (Connect): \
                           received corrupt message of type InvalidContentType";

    #[test]
    fn each_failure_is_classified_by_its_likely_cause() {
        assert_eq!(classify(true, false, REFUSED), Cause::ConnectionRefused);
        assert_eq!(classify(true, false, DNS), Cause::NameNotResolved);
        assert_eq!(classify(true, false, CERT), Cause::CertificateNotTrusted);
        assert_eq!(classify(true, false, NOT_TLS), Cause::NotTls);
        assert_eq!(classify(true, true, "operation timed out"), Cause::Timeout);
        assert_eq!(classify(false, true, "whatever"), Cause::Timeout);
        let closed = "error sending request: client error (SendRequest): connection closed before message completed";
        assert_eq!(classify(false, false, closed), Cause::ClosedEarly);
        assert_eq!(
            classify(true, false, "Network is unreachable (os error 101)"),
            Cause::Other
        );
    }

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
