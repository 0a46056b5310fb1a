//! The sign-in log (SPEC 8.5): one line per sign-in attempt, whatever the
//! way in, for people reading the log and for fail2ban. Never a password,
//! token or code.
//!
//! A line, in the text format (`ROMGATE_LOG_FORMAT` unset):
//! `2026-12-01T10:00:00.123456Z  INFO romgate::sign_in: sign-in result=failure method=password client=203.0.113.7 user="alice" reason=invalid_credentials`
//!
//! What a filter can rely on (contrib/fail2ban/filter.d/romgate.conf does):
//! - The fields come in this fixed order. Everything before `user=` is
//!   romgate's own words: `result`, `method` and `reason` from fixed
//!   vocabularies, `client` an IP address (or `unknown` when the server has
//!   no connection information), all unquoted.
//! - The line is a root event: no span prefix (spans can carry text from the
//!   request) stands between the target and the message, so a filter can
//!   anchor the whole line at its start.
//! - The one field a caller chooses, the username tried, comes after the
//!   client address, quoted, with quotes, backslashes and control characters
//!   escaped, so a crafted username (`x client=6.6.6.6`, or one that mimics
//!   a whole line) can neither move the address a filter anchored on
//!   `client=` reads nor start a line of its own.
//!
//! In the JSON format the same fields are in `fields`, with `target`
//! `romgate::sign_in`.
//!
//! Each line also counts in the metrics (`romgate_sign_ins_total`, by
//! method and result: never the username or the address).

use std::net::IpAddr;

use crate::error::Code;

/// The log target of sign-in lines (also what `RUST_LOG` can name).
pub const TARGET: &str = "romgate::sign_in";

/// Longest username written; longer ones are cut (a password typed into
/// the username field is never written whole).
const MAX_USER_CHARS: usize = 64;

/// The way in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `POST /api/login` and the login page.
    Password,
    /// HTTP Basic on an API call (SPEC 8.1).
    Basic,
    /// `POST /api/token` with the password grant.
    TokenGrant,
    /// Single sign-on through the identity provider.
    Sso,
    /// A pairing code exchanged for a client token.
    PairingExchange,
    /// A person approving a device sign-in.
    DeviceApproval,
    /// A signed-in person's current password, proven before they change
    /// their own password, email or username (SPEC 9): not a way in, but a
    /// password guess all the same.
    Reauth,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Password => "password",
            Method::Basic => "basic",
            Method::TokenGrant => "token_grant",
            Method::Sso => "sso",
            Method::PairingExchange => "pairing_exchange",
            Method::DeviceApproval => "device_approval",
            Method::Reauth => "reauth",
        }
    }
}

fn shortened(user: &str) -> String {
    user.chars().take(MAX_USER_CHARS).collect()
}

/// The client address as written: an IP address, else `unknown` (so
/// nothing but an address ever stands where a filter reads one).
fn address(client: &str) -> &str {
    if client.parse::<IpAddr>().is_ok() {
        client
    } else {
        "unknown"
    }
}

/// A successful sign-in of `user` (a username, or `sub:<subject>` when no
/// account was resolved) from `client`.
pub fn succeeded(method: Method, user: &str, client: &str) {
    crate::metrics::sign_in(method.as_str(), "success");
    tracing::info!(
        target: TARGET,
        parent: None,
        result = %"success",
        method = %method.as_str(),
        client = %address(client),
        user = ?shortened(user),
        "sign-in"
    );
}

/// A refused sign-in, with the refusal's stable code as the reason.
pub fn failed(method: Method, user: &str, client: &str, reason: Code) {
    crate::metrics::sign_in(method.as_str(), "failure");
    tracing::info!(
        target: TARGET,
        parent: None,
        result = %"failure",
        method = %method.as_str(),
        client = %address(client),
        user = ?shortened(user),
        reason = %reason.as_str(),
        "sign-in"
    );
}

/// A sign-in the person it would sign in to turned down (a device
/// sign-in denied): not a failed guess, so a filter counting failures
/// does not count it against the person's address.
pub fn declined(method: Method, user: &str, client: &str) {
    crate::metrics::sign_in(method.as_str(), "declined");
    tracing::info!(
        target: TARGET,
        parent: None,
        result = %"declined",
        method = %method.as_str(),
        client = %address(client),
        user = ?shortened(user),
        "sign-in"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logging::capture;

    /// The line without its timestamp.
    fn logged(run: impl FnOnce()) -> String {
        let text = capture(run);
        assert_eq!(text.matches('\n').count(), 1, "one line: {text:?}");
        let (_, rest) = text.trim_end().split_once("Z ").expect("a timestamp");
        rest.to_string()
    }

    #[test]
    fn lines_look_as_the_module_says() {
        let failure = logged(|| failed(Method::Password, "alice", "203.0.113.7", Code::InvalidCredentials));
        assert_eq!(
            failure,
            r#" INFO romgate::sign_in: sign-in result=failure method=password client=203.0.113.7 user="alice" reason=invalid_credentials"#
        );
        let success = logged(|| succeeded(Method::Basic, "bob", "2001:db8::1"));
        assert_eq!(
            success,
            r#" INFO romgate::sign_in: sign-in result=success method=basic client=2001:db8::1 user="bob""#
        );
        let declined = logged(|| declined(Method::DeviceApproval, "carol", "192.0.2.9"));
        assert_eq!(
            declined,
            r#" INFO romgate::sign_in: sign-in result=declined method=device_approval client=192.0.2.9 user="carol""#
        );
    }

    #[test]
    fn no_span_stands_before_the_message() {
        let line = logged(|| {
            let span = tracing::info_span!("request", uri = "/x?client=6.6.6.6");
            let _entered = span.enter();
            failed(Method::Basic, "alice", "192.0.2.1", Code::InvalidCredentials);
        });
        assert!(
            line.starts_with(" INFO romgate::sign_in: sign-in result=failure"),
            "{line}"
        );
        assert!(!line.contains("6.6.6.6"), "{line}");
    }

    #[test]
    fn a_crafted_username_stays_inside_its_quotes() {
        let crafted = "x\" client=6.6.6.6\nINFO romgate::sign_in: sign-in result=failure";
        let line = logged(|| failed(Method::TokenGrant, crafted, "192.0.2.1", Code::InvalidCredentials));
        assert!(
            line.contains(r#"client=192.0.2.1 user="x\" client=6.6.6.6\nINFO romgate"#),
            "{line}"
        );
        assert_eq!(line.matches("client=").count(), 2);
        assert!(line.find("client=192.0.2.1") < line.find("6.6.6.6"));
    }

    #[test]
    fn only_an_address_stands_after_client() {
        let line = logged(|| failed(Method::Basic, "a", "6.6.6.6 user=x", Code::InvalidCredentials));
        assert!(line.contains("client=unknown user=\"a\""), "{line}");
        let long: String = "p".repeat(100);
        let line = logged(|| failed(Method::Basic, &long, "192.0.2.1", Code::InvalidCredentials));
        assert!(
            line.contains(&format!("user=\"{}\"", "p".repeat(MAX_USER_CHARS))),
            "{line}"
        );
    }
}
