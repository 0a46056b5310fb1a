//! The likely cause of a failed connection to the identity provider, told
//! from reqwest's flags and the text of its error chain (hyper and rustls
//! name the cause only in text). A leaf: the HTTP client records it, the
//! hints (`reach`) put it into the operator's words.

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
