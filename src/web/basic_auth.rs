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

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// The username ends at the first colon; the password keeps
            /// every other character, colons included.
            #[test]
            fn credentials_round_trip(user in "[^:]{0,24}", password in "\\PC{0,32}", scheme in "[bB][aA][sS][iI][cC]") {
                let value = format!("{scheme} {}", STANDARD.encode(format!("{user}:{password}")));
                let encoded = basic_scheme(&value).expect("the Basic scheme");
                let (decoded_user, decoded_password) = decode_basic(encoded).expect("valid");
                prop_assert_eq!(decoded_user, user);
                prop_assert_eq!(decoded_password.expose(), password.as_str());
            }

            /// Anything else is a 400 refusal, never a panic.
            #[test]
            fn any_value_decodes_or_is_refused(value in "\\PC{0,48}", raw in proptest::collection::vec(any::<u8>(), 0..32)) {
                for candidate in [value.clone(), STANDARD.encode(&raw)] {
                    if let Err(err) = decode_basic(&candidate) {
                        prop_assert_eq!(err.code(), Some(Code::InvalidAuthorizationHeader));
                    }
                }
                let _ = basic_scheme(&value);
            }
        }
    }
}
