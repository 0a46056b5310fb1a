//! The codes of a device sign-in (SPEC 8.3) and what is stored of them.
//!
//! - The device code is the device's secret: 32 bytes from the OS RNG in
//!   hex (64 characters, RomM's shape). The user code is what a person
//!   types or scans: 8 characters from RomM's alphabet, which leaves out
//!   look-alikes (no I, L, O, 0, 1).
//! - Neither is ever stored: only an HMAC under the server's key, each
//!   under its own label, so a user code can never match a device code or
//!   any other stored hash.
//! - A typed user code is normalised first (dashes, spaces and case do not
//!   matter); anything that cannot be a user code is never looked up.

use rand::Rng;
use rand::RngCore;

use super::tokens::TokenHasher;
use crate::error::AppResult;

/// RomM's alphabet for codes people type.
pub const USER_CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
pub const USER_CODE_LENGTH: usize = 8;
/// Longest user code accepted as typed (RomM's limit), before normalising.
pub const MAX_TYPED_USER_CODE: usize = 32;
/// Longest device code looked at (RomM's limit).
pub const MAX_DEVICE_CODE: usize = 128;

/// A fresh device code: 64 lower-case hex characters.
pub fn new_device_code() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A fresh user code, 8 characters of `USER_CODE_ALPHABET`.
pub fn new_user_code() -> String {
    let mut rng = rand::rngs::OsRng;
    (0..USER_CODE_LENGTH)
        .map(|_| {
            let at = rng.gen_range(0..USER_CODE_ALPHABET.len());
            char::from(USER_CODE_ALPHABET.get(at).copied().unwrap_or(b'A'))
        })
        .collect()
}

/// `ABCD-EFGH`: how RFC 8628 suggests showing a code to a person.
pub fn grouped(user_code: &str) -> String {
    let (first, second) = user_code.split_at(user_code.len().min(4));
    format!("{first}-{second}")
}

/// The user code as typed, without dashes, spaces and case, or `None` when
/// it cannot be one (wrong length or a character outside the alphabet).
pub fn normalise_user_code(typed: &str) -> Option<String> {
    if typed.len() > MAX_TYPED_USER_CODE {
        return None;
    }
    let code: String = typed
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid = code.len() == USER_CODE_LENGTH && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
    valid.then_some(code)
}

/// The stored form of a normalised user code.
pub fn user_code_hash(tokens: &TokenHasher, normalised: &str) -> String {
    tokens.mac(format!("device-user-code:{normalised}").as_bytes())
}

/// The stored form of a device code (as the device sends it, lower-cased:
/// hex is case-insensitive).
pub fn device_code_hash(tokens: &TokenHasher, device_code: &str) -> String {
    tokens.mac(format!("device-code:{}", device_code.to_ascii_lowercase()).as_bytes())
}

/// A new token's expiry from RomM's choices (`30d`, `90d`, `1y`, `never`;
/// none given is `never`, as in RomM): the client-token rule, as a time.
pub fn token_expiry(expires_in: Option<&str>, now: i64) -> AppResult<Option<i64>> {
    Ok(super::client_tokens::parse_expires_in(expires_in)?.map(|seconds| now + seconds))
}

/// A random device id in UUID v4 form (RomM names devices by UUID).
pub fn new_device_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    if let Some(byte) = bytes.get_mut(6) {
        *byte = (*byte & 0x0f) | 0x40;
    }
    if let Some(byte) = bytes.get_mut(8) {
        *byte = (*byte & 0x3f) | 0x80;
    }
    let hex = hex::encode(bytes);
    let part = |from: usize, to: usize| hex.get(from..to).unwrap_or_default();
    format!(
        "{}-{}-{}-{}-{}",
        part(0, 8),
        part(8, 12),
        part(12, 16),
        part(16, 20),
        part(20, 32)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    #[test]
    fn codes_have_romms_shapes() {
        let device = new_device_code();
        assert_eq!(device.len(), 64);
        assert!(device.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_ne!(device, new_device_code());
        let user = new_user_code();
        assert_eq!(user.len(), 8);
        assert!(user.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)), "{user}");
        assert_eq!(grouped("ABCDEFGH"), "ABCD-EFGH");
        let id = new_device_id();
        assert_eq!(id.len(), 36);
        assert_eq!(id.as_bytes()[14], b'4', "{id}");
    }

    #[test]
    fn typed_user_codes_ignore_dashes_spaces_and_case() {
        for typed in ["ABCD-EFGH", "abcd efgh", " abCD-eFgH ", "ABCDEFGH"] {
            assert_eq!(normalise_user_code(typed).as_deref(), Some("ABCDEFGH"), "{typed:?}");
        }
        for bad in [
            "ABCDEFG",
            "ABCDEFGHJ",
            "ABCDEFG0",
            "ABCDEFGI",
            "",
            "ÄBCDEFGH",
            &"A".repeat(40),
        ] {
            assert_eq!(normalise_user_code(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn stored_forms_are_keyed_and_labelled() {
        let tokens = TokenHasher::new(Secret::new("key"));
        let other = TokenHasher::new(Secret::new("other key"));
        assert_ne!(user_code_hash(&tokens, "ABCDEFGH"), user_code_hash(&other, "ABCDEFGH"));
        assert_ne!(
            user_code_hash(&tokens, "ABCDEFGH"),
            device_code_hash(&tokens, "ABCDEFGH")
        );
        assert_ne!(user_code_hash(&tokens, "ABCDEFGH"), tokens.mac(b"ABCDEFGH"));
        let code = new_device_code();
        assert_eq!(
            device_code_hash(&tokens, &code),
            device_code_hash(&tokens, &code.to_ascii_uppercase())
        );
    }

    #[test]
    fn expiry_choices_are_romms() {
        assert_eq!(token_expiry(None, 0).expect("never"), None);
        assert_eq!(token_expiry(Some("never"), 0).expect("never"), None);
        assert_eq!(token_expiry(Some("30d"), 10).expect("30d"), Some(10 + 30 * 86_400));
        assert_eq!(token_expiry(Some("1y"), 0).expect("1y"), Some(365 * 86_400));
        assert!(token_expiry(Some("2w"), 0).is_err());
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// A user code shown grouped, typed in lower case, is that code.
            #[test]
            fn a_grouped_code_typed_back_is_that_code(code in "[ABCDEFGHJKMNPQRSTUVWXYZ2-9]{8}") {
                prop_assert_eq!(normalise_user_code(&grouped(&code)), Some(code.clone()));
                prop_assert_eq!(normalise_user_code(&grouped(&code).to_lowercase()), Some(code));
            }

            /// Any text: a code of the alphabet, or nothing to look up; too
            /// long is refused before any work.
            #[test]
            fn anything_else_is_never_looked_up(typed in "\\PC{0,40}") {
                if let Some(code) = normalise_user_code(&typed) {
                    prop_assert!(typed.len() <= MAX_TYPED_USER_CODE);
                    prop_assert_eq!(code.len(), USER_CODE_LENGTH);
                    prop_assert!(code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)));
                }
            }
        }
    }
}
