//! Reading `Authorization: Basic base64(username:password)` (RFC 7617), for
//! `POST /api/login` and for every API call (see `extract`). The password
//! goes straight into a `Secret`; nothing here logs.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::error::{AppError, Code};
use crate::secret::Secret;

/// The username and password of a Basic header value, or None when the
/// scheme is not Basic (any case).
pub fn basic_scheme(value: &str) -> Option<&str> {
    let (scheme, rest) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("basic").then_some(rest)
}

/// Decodes the credentials after `Basic `: base64 of UTF-8 `username:password`
/// (the username ends at the first colon; the password may hold colons).
/// Anything else is a 400 `invalid_authorization_header`.
pub fn decode_basic(encoded: &str) -> Result<(String, Secret), AppError> {
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (username, password) = decoded.split_once(':').ok_or_else(malformed)?;
    Ok((username.to_string(), Secret::new(password)))
}

pub fn malformed() -> AppError {
    AppError::bad_request(
        Code::InvalidAuthorizationHeader,
        "The Authorization header is not valid HTTP Basic (Basic base64(username:password)).",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_is_matched_in_any_case() {
        assert_eq!(basic_scheme("Basic abc"), Some("abc"));
        assert_eq!(basic_scheme("basic abc"), Some("abc"));
        assert_eq!(basic_scheme("BASIC abc"), Some("abc"));
        assert_eq!(basic_scheme("Bearer abc"), None);
        assert_eq!(basic_scheme("Basic"), None);
    }

    #[test]
    fn credentials_decode_with_colons_in_the_password() {
        let (user, password) = decode_basic(&STANDARD.encode("alice:a:b:c")).expect("valid");
        assert_eq!(user, "alice");
        assert_eq!(password.expose(), "a:b:c");
        let (user, password) = decode_basic(&STANDARD.encode(":")).expect("valid");
        assert!(user.is_empty() && password.is_empty());
    }

    #[test]
    fn malformed_credentials_are_refused() {
        for bad in [
            "%%%",
            &STANDARD.encode("no colon"),
            &STANDARD.encode([0xff, b':', b'x']),
        ] {
            let err = decode_basic(bad).expect_err("malformed");
            assert_eq!(err.code(), Some(Code::InvalidAuthorizationHeader), "{bad}");
        }
    }
}
