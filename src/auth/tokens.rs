//! Opaque tokens (sessions, bearer access tokens, refresh tokens, CSRF and
//! login-attempt cookies): 32 random bytes with a per-kind prefix (see
//! `PlainToken::generate` for which generator).
//! The database only ever sees an HMAC-SHA256 of a token under the server's
//! secret key, so a leaked database holds no live credential.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::secret::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Session,
    Access,
    Refresh,
    Csrf,
    LoginAttempt,
    /// A download link's secret (see `download_links`).
    DownloadLink,
    /// Groups the tokens of one password grant (not a credential).
    Family,
}

impl TokenKind {
    fn prefix(self) -> &'static str {
        match self {
            TokenKind::Session => "rgs_",
            TokenKind::Access => "rga_",
            TokenKind::Refresh => "rgr_",
            TokenKind::Csrf => "rgc_",
            TokenKind::LoginAttempt => "rgl_",
            TokenKind::DownloadLink => "rgd_",
            TokenKind::Family => "rgf_",
        }
    }
}

/// Hex characters in a session's public id (80 bits: unique among one
/// person's sessions with room to spare).
pub const SESSION_PUBLIC_ID_LEN: usize = 20;

/// The prefix of client API tokens (RomM's).
pub const CLIENT_TOKEN_PREFIX: &str = "rmm_";

/// A token as handed to a client. Its `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainToken(String);

impl PlainToken {
    pub fn generate(kind: TokenKind) -> Self {
        let mut bytes = [0u8; 32];
        // CSRF tokens are minted for every request that comes without one
        // (RomM's clients read theirs from the heartbeat): from the thread's
        // CSPRNG (ChaCha12, seeded from the OS and reseeded as it goes), not
        // one getrandom system call each, which was a quarter of the
        // heartbeat's system calls (bench/README.md). Credentials, which are
        // minted at sign-in, keep reading the OS RNG directly.
        match kind {
            TokenKind::Csrf => rand::thread_rng().fill_bytes(&mut bytes),
            _ => rand::rngs::OsRng.fill_bytes(&mut bytes),
        }
        let mut token = String::with_capacity(kind.prefix().len() + 43);
        token.push_str(kind.prefix());
        URL_SAFE_NO_PAD.encode_string(bytes, &mut token);
        Self(token)
    }

    /// A client API token (SPEC 8.2): `rmm_` and 64 lower-case hex
    /// characters (32 random bytes), RomM's shape, so apps that check it
    /// accept it.
    pub fn client() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let mut token = String::with_capacity(CLIENT_TOKEN_PREFIX.len() + 64);
        token.push_str(CLIENT_TOKEN_PREFIX);
        for byte in bytes {
            token.push_str(&format!("{byte:02x}"));
        }
        Self(token)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The token's text, handed over without a copy.
    pub fn into_exposed(self) -> String {
        self.0
    }
}

impl fmt::Debug for PlainToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainToken(***)")
    }
}

/// Turns presented tokens into their stored form. Holds the HMAC already
/// keyed (the key's inner and outer blocks hashed once), so each token costs
/// only its own blocks: this runs on every authenticated request.
#[derive(Clone)]
pub struct TokenHasher {
    keyed: Hmac<Sha256>,
}

impl TokenHasher {
    pub fn new(key: Secret) -> Self {
        let Ok(keyed) = Hmac::<Sha256>::new_from_slice(key.expose().as_bytes()) else {
            unreachable!("HMAC accepts keys of any length")
        };
        Self { keyed }
    }

    /// The stored form of `token`, checked for its kind's prefix first: a
    /// refresh token presented as a session never matches anything.
    pub fn hash(&self, kind: TokenKind, token: &str) -> Option<String> {
        if !token.starts_with(kind.prefix()) || token.len() > 128 {
            return None;
        }
        Some(self.mac(token.as_bytes()))
    }

    /// The stored form of a client API token, or `None` when `token` does
    /// not have a client token's shape (so it is never looked up).
    pub fn client_token_hash(&self, token: &str) -> Option<String> {
        let hex = token.strip_prefix(CLIENT_TOKEN_PREFIX)?;
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(self.mac(token.to_ascii_lowercase().as_bytes()))
    }

    /// The CSRF token bound to a session: `rgc_` and the HMAC of
    /// `"csrf:" + session token`, or `None` when `session_token` is not a
    /// session token. Only the server can compute it, so a cookie planted
    /// from a sibling site cannot supply the pair a victim's session needs;
    /// the `csrf:` prefix keeps it apart from every stored hash (those are
    /// HMACs of tokens, which start with their kind's prefix).
    pub fn session_csrf(&self, session_token: &str) -> Option<String> {
        if !session_token.starts_with(TokenKind::Session.prefix()) || session_token.len() > 128 {
            return None;
        }
        let mut mac = self.keyed.clone();
        mac.update(b"csrf:");
        mac.update(session_token.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        Some(format!("{}{tag}", TokenKind::Csrf.prefix()))
    }

    /// The public id of a stored session hash, for the devices page's
    /// list and its "sign out" forms: 20 hex characters of the HMAC of
    /// `"session-id:" + hash`. It is neither the stored hash nor anything a
    /// request can authenticate with, and without the server's key it
    /// cannot be computed from a leaked hash either.
    pub fn session_public_id(&self, token_hash: &str) -> String {
        let mut mac = self.keyed.clone();
        mac.update(b"session-id:");
        mac.update(token_hash.as_bytes());
        let digit = |nibble: u8| char::from(if nibble < 10 { b'0' + nibble } else { b'a' + nibble - 10 });
        mac.finalize()
            .into_bytes()
            .iter()
            .take(SESSION_PUBLIC_ID_LEN / 2)
            .flat_map(|byte| [digit(byte >> 4), digit(byte & 0x0f)])
            .collect()
    }

    /// HMAC-SHA256 of `data` under the server's key, in lower-case hex.
    pub fn mac(&self, data: &[u8]) -> String {
        let mut mac = self.keyed.clone();
        mac.update(data);
        let digit = |nibble: u8| if nibble < 10 { b'0' + nibble } else { b'a' + nibble - 10 };
        let mut hex = Vec::with_capacity(64);
        for byte in mac.finalize().into_bytes() {
            hex.extend([digit(byte >> 4), digit(byte & 0x0f)]);
        }
        String::from_utf8(hex).unwrap_or_default()
    }
}

impl fmt::Debug for TokenHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHasher(***)")
    }
}

/// Generates a new random secret key (base64, 32 bytes of entropy).
pub fn generate_secret_key() -> Secret {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    Secret::new(URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_prefixed() {
        let a = PlainToken::generate(TokenKind::Session);
        let b = PlainToken::generate(TokenKind::Session);
        assert_ne!(a, b);
        assert!(a.expose().starts_with("rgs_"));
        assert_eq!(a.expose().len(), 4 + 43);
        assert_eq!(format!("{a:?}"), "PlainToken(***)");
    }

    #[test]
    fn mac_is_hmac_sha256_in_lower_case_hex() {
        // RFC 4231, test case 2: stored hashes must never change.
        let hasher = TokenHasher::new(Secret::new("Jefe"));
        assert_eq!(
            hasher.mac(b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn session_csrf_is_keyed_bound_to_the_session_and_shaped_like_a_token() {
        let one = TokenHasher::new(Secret::new("key one"));
        let two = TokenHasher::new(Secret::new("key two"));
        let session = PlainToken::generate(TokenKind::Session);
        let other = PlainToken::generate(TokenKind::Session);
        let bound = one.session_csrf(session.expose()).expect("a session token");
        assert!(bound.starts_with("rgc_") && bound.len() == 4 + 43, "{bound}");
        assert_eq!(one.session_csrf(session.expose()).as_deref(), Some(bound.as_str()));
        assert_ne!(one.session_csrf(other.expose()).as_deref(), Some(bound.as_str()));
        assert_ne!(two.session_csrf(session.expose()).as_deref(), Some(bound.as_str()));
        let access = PlainToken::generate(TokenKind::Access);
        assert_eq!(one.session_csrf(access.expose()), None, "only sessions have one");
    }

    #[test]
    fn client_tokens_have_romms_shape_and_only_that_shape_is_hashed() {
        let hasher = TokenHasher::new(Secret::new("key"));
        let token = PlainToken::client();
        let text = token.expose();
        assert!(text.starts_with("rmm_") && text.len() == 68, "{text}");
        assert!(
            text[4..]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_ne!(token, PlainToken::client());
        let hash = hasher.client_token_hash(text).expect("a client token");
        assert_eq!(
            hasher.client_token_hash(&text.to_ascii_uppercase().replacen("RMM_", "rmm_", 1)),
            Some(hash)
        );
        assert_eq!(hasher.client_token_hash(&text[..67]), None);
        assert_eq!(hasher.client_token_hash(&format!("{text}0")), None);
        assert_eq!(hasher.client_token_hash(&format!("{}g", &text[..67])), None);
        let access = PlainToken::generate(TokenKind::Access);
        assert_eq!(hasher.client_token_hash(access.expose()), None);
    }

    #[test]
    fn a_sessions_public_id_is_short_keyed_and_not_its_hash() {
        let one = TokenHasher::new(Secret::new("key one"));
        let two = TokenHasher::new(Secret::new("key two"));
        let session = PlainToken::generate(TokenKind::Session);
        let hash = one.hash(TokenKind::Session, session.expose()).expect("a session");
        let id = one.session_public_id(&hash);
        assert_eq!(id.len(), SESSION_PUBLIC_ID_LEN);
        assert!(
            id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "{id}"
        );
        assert!(!hash.starts_with(&id), "not a prefix of the stored hash");
        assert_eq!(one.session_public_id(&hash), id, "stable");
        assert_ne!(two.session_public_id(&hash), id, "keyed");
        assert_ne!(one.session_public_id(&one.mac(b"other")), id);
    }

    #[test]
    fn hash_depends_on_key_and_kind() {
        let token = PlainToken::generate(TokenKind::Access);
        let one = TokenHasher::new(Secret::new("key one"));
        let two = TokenHasher::new(Secret::new("key two"));
        let h1 = one.hash(TokenKind::Access, token.expose()).expect("right kind");
        assert_eq!(Some(h1.clone()), one.hash(TokenKind::Access, token.expose()));
        assert_ne!(Some(h1), two.hash(TokenKind::Access, token.expose()));
        assert_eq!(one.hash(TokenKind::Session, token.expose()), None);
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// Any presented token: hashed only when it has its kind's shape,
            /// never a panic.
            #[test]
            fn any_presented_token_is_shaped_before_it_is_hashed(
                token in "(rgs_|rga_|rmm_|RMM_)?([0-9a-fA-F]{60,68}|\\PC{0,140})"
            ) {
                let hasher = TokenHasher::new(Secret::new("test key"));
                if hasher.client_token_hash(&token).is_some() {
                    prop_assert!(token.starts_with(CLIENT_TOKEN_PREFIX) && token.len() == 68);
                }
                if hasher.hash(TokenKind::Session, &token).is_some() {
                    prop_assert!(token.starts_with("rgs_") && token.len() <= 128);
                }
                prop_assert_eq!(hasher.session_csrf(&token).is_some(), hasher.hash(TokenKind::Session, &token).is_some());
            }
        }
    }
}
