//! The sign-in log (SPEC 8.5): one line per sign-in attempt, whatever the
//! way in, for people reading the log and for fail2ban. The fields come in
//! a fixed order, and the client address comes before anything a caller
//! chose (the username tried is quoted and escaped, after it), so a filter
//! anchored on `client=` cannot be fooled by a crafted username. Never a
//! password, token or code.
//!
//! A line, in the text format:
//! `… INFO romgate::sign_in: sign-in result=failure method=password client=203.0.113.7 user="alice" reason=invalid_credentials`

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
        }
    }
}

fn shortened(user: &str) -> String {
    user.chars().take(MAX_USER_CHARS).collect()
}

/// A successful sign-in of `user` (a username, or `sub:<subject>` when no
/// account was resolved) from `client`.
pub fn succeeded(method: Method, user: &str, client: &str) {
    tracing::info!(
        target: TARGET,
        result = "success",
        method = method.as_str(),
        client,
        user = ?shortened(user),
        "sign-in"
    );
}

/// A refused sign-in, with the refusal's stable code as the reason.
pub fn failed(method: Method, user: &str, client: &str, reason: Code) {
    tracing::info!(
        target: TARGET,
        result = "failure",
        method = method.as_str(),
        client,
        user = ?shortened(user),
        reason = reason.as_str(),
        "sign-in"
    );
}

/// A sign-in the person it would sign in to turned down (a device
/// sign-in denied): not a failed guess, so a filter counting failures
/// does not count it against the person's address.
pub fn declined(method: Method, user: &str, client: &str) {
    tracing::info!(
        target: TARGET,
        result = "declined",
        method = method.as_str(),
        client,
        user = ?shortened(user),
        "sign-in"
    );
}
