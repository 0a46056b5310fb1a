//! Pairing codes (SPEC 8.2): a person signed in on the web asks for a code
//! for one of their client tokens; an app that has no keyboard worth the
//! name sends the code and receives a fresh secret of that token.
//!
//! Guarantees: a code is 8 characters from an alphabet without look-alikes
//! (about 40 bits), lives 60 seconds and is used once; only its keyed hash
//! is stored; two exchanges at once cannot both win (the store takes a
//! code in one statement); exchanges are counted per client address before
//! any lookup (5 a minute, shared by every instance), and each writes one
//! sign-in log line, never the code.

use std::fmt;

use rand::Rng;

use super::Auth;
use super::client_tokens::IssuedClientToken;
use super::principal::Principal;
use super::rate_limit::{RateLimitPolicy, address_subject};
use super::sign_in_log::{self, Method};
use super::tokens::PlainToken;
use crate::error::{AppError, AppResult, Code};
use crate::store::StoreError;

/// RomM's alphabet: no 0/O, 1/I/L.
pub const PAIRING_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
pub const PAIRING_CODE_LEN: usize = 8;
pub const PAIRING_CODE_SECONDS: i64 = 60;

/// Exchanges from one client address (RomM: 5 a minute). Every attempt
/// counts, right or wrong: a code is short, so guessing must stay slow.
pub const PAIRING_EXCHANGES_PER_ADDRESS: RateLimitPolicy = RateLimitPolicy {
    name: "pairing-exchange-address",
    max_events: 5,
    window_seconds: 60,
    message: "Too many exchange attempts. Try again later.",
};

/// Status checks from one client address. The page that shows a code asks
/// every second or two whether it was used; far fewer than this. Without a
/// limit the status would be an unlimited oracle for guessing live codes.
pub const PAIRING_STATUS_PER_ADDRESS: RateLimitPolicy = RateLimitPolicy {
    name: "pairing-status-address",
    max_events: 120,
    window_seconds: 60,
    message: "Too many pairing status checks. Wait a minute and try again.",
};

/// A pairing code as handed to the person. Its `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct PairingCode(String);

impl PairingCode {
    fn generate() -> Self {
        let mut rng = rand::rngs::OsRng;
        let code = (0..PAIRING_CODE_LEN)
            .map(|_| {
                let index = rng.gen_range(0..PAIRING_ALPHABET.len());
                char::from(PAIRING_ALPHABET.get(index).copied().unwrap_or(b'A'))
            })
            .collect();
        Self(code)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PairingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PairingCode(***)")
    }
}

/// A code as typed: dashes, spaces and case ignored. `None` when what is
/// left cannot be a code (so it is never looked up).
pub fn normalize_code(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid = code.len() == PAIRING_CODE_LEN && code.bytes().all(|b| PAIRING_ALPHABET.contains(&b));
    valid.then_some(code)
}

fn unknown_code() -> AppError {
    AppError::not_found("Invalid or expired pairing code.")
}

fn owner_disabled() -> AppError {
    AppError::forbidden(Code::AccountDisabled, "The token's owner is disabled.")
}

impl Auth {
    /// The stored form of a (normalised) pairing code: apart from every
    /// token hash by its `pair:` prefix.
    fn pairing_hash(&self, code: &str) -> String {
        self.tokens.mac(format!("pair:{code}").as_bytes())
    }

    /// A new pairing code for `actor`'s token `id` (me.write), valid 60 s.
    pub async fn pair_client_token(&self, actor: &Principal, id: i64, now: i64) -> AppResult<PairingCode> {
        let token = self.own_token_to_hand_out(actor, id, now).await?;
        // Two live codes colliding is a one-in-a-trillion event; a retry
        // makes it a non-event.
        for _ in 0..3 {
            let code = PairingCode::generate();
            let stored = self
                .store
                .insert_pairing_code(
                    &self.pairing_hash(code.expose()),
                    token.id,
                    actor.user.id,
                    now + PAIRING_CODE_SECONDS,
                )
                .await;
            match stored {
                Ok(()) => return Ok(code),
                Err(StoreError::Conflict(_)) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(AppError::internal("three pairing codes in a row collided"))
    }

    /// Whether `code` is waiting to be exchanged (no authentication; limited
    /// per client address).
    pub async fn pairing_code_pending(&self, code: &str, client: &str, now: i64) -> AppResult<bool> {
        PAIRING_STATUS_PER_ADDRESS
            .count_address(&self.store, client, now)
            .await?;
        let Some(code) = normalize_code(code) else {
            return Ok(false);
        };
        Ok(self.store.pairing_code_pending(&self.pairing_hash(&code), now).await?)
    }

    /// Exchanges `code` for a new secret of its token (the old secret stops
    /// working). One sign-in log line per attempt, whatever its outcome.
    pub async fn exchange_pairing_code(&self, code: &str, client: &str, now: i64) -> AppResult<IssuedClientToken> {
        match self.exchange(code, client, now).await {
            Ok((username, issued)) => {
                sign_in_log::succeeded(Method::PairingExchange, &username, client);
                Ok(issued)
            }
            Err((username, err)) => {
                let reason = err.code().unwrap_or(Code::InvalidRequest);
                sign_in_log::failed(Method::PairingExchange, &username, client, reason);
                Err(err)
            }
        }
    }

    /// The exchange itself; a failure carries the username (empty when the
    /// code led to no account) for the log line.
    async fn exchange(
        &self,
        code: &str,
        client: &str,
        now: i64,
    ) -> Result<(String, IssuedClientToken), (String, AppError)> {
        let anonymous = |err: AppError| (String::new(), err);
        PAIRING_EXCHANGES_PER_ADDRESS
            .count(&self.store, &address_subject(client), now)
            .await
            .map_err(anonymous)?;
        let code = normalize_code(code).ok_or_else(|| anonymous(unknown_code()))?;
        let claim = self
            .store
            .take_pairing_code(&self.pairing_hash(&code), now)
            .await
            .map_err(|err| anonymous(err.into()))?
            .ok_or_else(|| anonymous(unknown_code()))?;
        let owner = self
            .store
            .find_user(claim.user_id)
            .await
            .map_err(|err| anonymous(err.into()))?
            .ok_or_else(|| anonymous(owner_disabled()))?;
        let named = |err: AppError| (owner.username.clone(), err);
        if !owner.enabled {
            return Err(named(owner_disabled()));
        }
        let raw = PlainToken::client();
        let hash = self.client_hash(&raw).map_err(named)?;
        let token = self
            .store
            .set_client_token_hash(claim.token_id, Some(owner.id), &hash)
            .await
            .map_err(|err| named(err.into()))?
            .ok_or_else(|| named(AppError::not_found("The token no longer exists.")))?;
        Ok((owner.username.clone(), IssuedClientToken { token, raw }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_use_the_alphabet_and_have_eight_characters() {
        let code = PairingCode::generate();
        assert_eq!(code.expose().len(), PAIRING_CODE_LEN);
        assert!(code.expose().bytes().all(|b| PAIRING_ALPHABET.contains(&b)));
        assert_ne!(code, PairingCode::generate());
        assert_eq!(format!("{code:?}"), "PairingCode(***)");
    }

    #[test]
    fn dashes_spaces_and_case_are_ignored() {
        assert_eq!(normalize_code("abcd-efgh").as_deref(), Some("ABCDEFGH"));
        assert_eq!(normalize_code(" AB CD\tEF-GH ").as_deref(), Some("ABCDEFGH"));
        assert_eq!(normalize_code("ABCDEFG"), None, "too short");
        assert_eq!(normalize_code("ABCDEFGHJ"), None, "too long");
        assert_eq!(normalize_code("ABCDEFG0"), None, "0 is not in the alphabet");
        assert_eq!(normalize_code("ÄBCDEFGH"), None);
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// However a code is typed (case, dashes, spaces), it is that code.
            #[test]
            fn a_code_typed_any_way_is_that_code(
                code in "[ABCDEFGHJKMNPQRSTUVWXYZ2-9]{8}",
                lower in proptest::collection::vec(any::<bool>(), 8),
                separators in proptest::collection::vec(proptest::sample::select(vec!["", "-", " ", " - "]), 8),
            ) {
                let typed: String = code
                    .chars()
                    .zip(lower.iter().zip(&separators))
                    .map(|(c, (lower, separator))| {
                        let c = if *lower { c.to_ascii_lowercase() } else { c };
                        format!("{separator}{c}")
                    })
                    .collect();
                prop_assert_eq!(normalize_code(&typed), Some(code));
            }

            /// Any text: a code of the alphabet, or nothing to look up.
            #[test]
            fn anything_else_is_never_looked_up(typed in "\\PC{0,24}") {
                if let Some(code) = normalize_code(&typed) {
                    prop_assert_eq!(code.len(), PAIRING_CODE_LEN);
                    prop_assert!(code.bytes().all(|b| PAIRING_ALPHABET.contains(&b)));
                }
            }
        }
    }
}
