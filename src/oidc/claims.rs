//! What the provider says about the person, merged from the ID token and the
//! userinfo answer, and the few facts romgate reads from it. The ID token is
//! signed and checked (issuer, audience, nonce, time); the userinfo answer
//! is only as good as the TLS connection it came over. So the ID token is
//! authoritative: when both carry a claim, its value wins (groups and
//! email_verified included, which decide roles and account linking), and
//! userinfo only fills in the claims the ID token lacks (SPEC 9; this
//! reverses the "overlay" of SPEC 5.2).

use serde_json::{Map, Value};

use crate::auth::accounts::validate_email;

/// ID token claims, completed by userinfo claims the ID token lacks.
#[derive(Debug, Clone, Default)]
pub struct Claims(pub Map<String, Value>);

impl Claims {
    /// Top-level claims: a claim the ID token carries (not null) is kept as
    /// it is; userinfo adds only the names the ID token has no value for.
    /// Except `email_verified`, which speaks of one address: it is taken
    /// from the answer the `email` came from, never one source's verdict
    /// on the other's address.
    pub fn merge(id_token: Value, userinfo: Option<Value>) -> Self {
        let mut merged = match id_token {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        merged.retain(|_, value| !value.is_null());
        let mut extra = match userinfo {
            Some(Value::Object(map)) => map,
            _ => Map::new(),
        };
        extra.retain(|_, value| !value.is_null());
        let verdict = email_verdict(&merged, &extra);
        for (name, value) in extra {
            merged.entry(name).or_insert(value);
        }
        merged.remove(EMAIL_VERIFIED);
        if let Some(verdict) = verdict {
            merged.insert(EMAIL_VERIFIED.into(), verdict);
        }
        Claims(merged)
    }

    /// A claim by name, or by dotted path into nested objects
    /// (`realm_access.roles`). An exact top-level name wins over a path.
    pub fn get(&self, path: &str) -> Option<&Value> {
        if let Some(value) = self.0.get(path) {
            return Some(value).filter(|v| !v.is_null());
        }
        let mut parts = path.split('.');
        let mut current = self.0.get(parts.next()?)?;
        for part in parts {
            current = current.as_object()?.get(part)?;
        }
        Some(current).filter(|v| !v.is_null())
    }

    /// A claim as text (strings as they are, numbers written out).
    pub fn text(&self, path: &str) -> Option<String> {
        match self.get(path)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// The email, when it is a usable address (`validate_email`); a
    /// provider's malformed or oversized one counts as none.
    pub fn email(&self) -> Option<String> {
        self.text("email").filter(|email| validate_email(email).is_ok())
    }

    /// `email_verified` as the provider sent it (some send "true" strings).
    pub fn email_verified(&self) -> Option<bool> {
        match self.get("email_verified")? {
            Value::Bool(b) => Some(*b),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }

    pub fn sid(&self) -> Option<String> {
        self.text("sid")
    }

    /// Is the email verified enough to link an existing account? Yes when
    /// `email_verified` is true, or when it is absent and the provider does
    /// not advertise the claim at all (it cannot tell us). An explicit false
    /// never is.
    pub fn email_is_trusted(&self, provider_advertises_email_verified: bool) -> bool {
        match self.email_verified() {
            Some(verified) => verified,
            None => !provider_advertises_email_verified,
        }
    }
}

const EMAIL_VERIFIED: &str = "email_verified";

/// The `email_verified` that goes with the merged `email`: the ID token's
/// when it has the email; userinfo's when userinfo alone has it, or has the
/// very same address and the ID token says nothing of it.
fn email_verdict(id_token: &Map<String, Value>, userinfo: &Map<String, Value>) -> Option<Value> {
    match (id_token.get("email"), userinfo.get("email")) {
        (Some(own), other) => id_token
            .get(EMAIL_VERIFIED)
            .or_else(|| userinfo.get(EMAIL_VERIFIED).filter(|_| other == Some(own)))
            .cloned(),
        (None, Some(_)) => userinfo.get(EMAIL_VERIFIED).cloned(),
        (None, None) => id_token
            .get(EMAIL_VERIFIED)
            .or_else(|| userinfo.get(EMAIL_VERIFIED))
            .cloned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_id_token_wins_and_userinfo_only_fills_in() {
        let claims = Claims::merge(
            json!({"sub": "1", "email": "token@example.com", "name": "Token", "groups": ["players"],
                   "email_verified": false, "nickname": null}),
            Some(
                json!({"sub": "1", "email": "userinfo@example.com", "groups": ["admins"], "email_verified": true,
                        "name": null, "nickname": "Nick", "picture": "https://example.com/p.png"}),
            ),
        );
        assert_eq!(claims.email().as_deref(), Some("token@example.com"));
        assert_eq!(claims.get("groups"), Some(&json!(["players"])));
        assert_eq!(claims.email_verified(), Some(false));
        assert_eq!(claims.text("name").as_deref(), Some("Token"));
        assert_eq!(
            claims.text("nickname").as_deref(),
            Some("Nick"),
            "null in the token is no value"
        );
        assert_eq!(claims.text("picture").as_deref(), Some("https://example.com/p.png"));
    }

    #[test]
    fn email_verified_comes_with_the_email_it_speaks_of() {
        let cases = [
            // The ID token vouches, userinfo brings another address.
            (
                json!({"email_verified": true}),
                json!({"email": "ui@example.com"}),
                None,
            ),
            (
                json!({"email_verified": true}),
                json!({"email": "ui@example.com", "email_verified": false}),
                Some(false),
            ),
            // Userinfo vouches for an address the ID token does not carry.
            (
                json!({"email": "t@example.com"}),
                json!({"email": "ui@example.com", "email_verified": true}),
                None,
            ),
            (
                json!({"email": "t@example.com"}),
                json!({"email": "t@example.com", "email_verified": true}),
                Some(true),
            ),
            (
                json!({"email": "t@example.com", "email_verified": false}),
                json!({"email": "t@example.com", "email_verified": true}),
                Some(false),
            ),
            (json!({"email_verified": true}), json!({}), Some(true)),
        ];
        for (id_token, userinfo, expected) in cases {
            let claims = Claims::merge(id_token.clone(), Some(userinfo.clone()));
            assert_eq!(claims.email_verified(), expected, "{id_token} + {userinfo}");
        }
    }

    #[test]
    fn dotted_paths_reach_nested_claims() {
        let claims = Claims::merge(json!({"realm_access": {"roles": ["admin"]}, "a.b": "flat"}), None);
        assert_eq!(claims.get("realm_access.roles"), Some(&json!(["admin"])));
        assert_eq!(claims.get("a.b"), Some(&json!("flat")));
        assert_eq!(claims.get("realm_access.missing"), None);
        assert_eq!(claims.get("realm_access.roles.deeper"), None);
    }

    #[test]
    fn email_trust_follows_the_spec() {
        let verified = Claims::merge(json!({"email_verified": true}), None);
        let unverified = Claims::merge(json!({"email_verified": false}), None);
        let string = Claims::merge(json!({"email_verified": "true"}), None);
        let absent = Claims::merge(json!({}), None);
        assert!(verified.email_is_trusted(true));
        assert!(string.email_is_trusted(true));
        assert!(!unverified.email_is_trusted(false));
        assert!(absent.email_is_trusted(false));
        assert!(!absent.email_is_trusted(true));
    }

    #[test]
    fn numbers_are_text_but_objects_are_not() {
        let claims = Claims::merge(json!({"uid": 42, "obj": {"x": 1}, "blank": "  "}), None);
        assert_eq!(claims.text("uid").as_deref(), Some("42"));
        assert_eq!(claims.text("obj"), None);
        assert_eq!(claims.text("blank"), None);
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        /// Any JSON, a few levels deep.
        fn json() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                "\\PC{0,8}".prop_map(Value::String),
            ];
            leaf.prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    proptest::collection::btree_map("[a-c.]{0,3}", inner, 0..4)
                        .prop_map(|map| Value::Object(map.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// Any path into any claims: an answer or none, never a panic,
            /// and never a null.
            #[test]
            fn any_path_into_any_claims_is_safe(claims in json(), path in "[a-c.]{0,8}|\\PC{0,8}") {
                let claims = Claims::merge(claims, None);
                prop_assert!(claims.get(&path).is_none_or(|value| !value.is_null()));
                let _ = claims.text(&path);
            }

            /// A value nested under dotted segments is found by its path.
            #[test]
            fn a_nested_claim_is_found_by_its_dotted_path(
                segments in proptest::collection::vec("[a-z_]{1,6}", 1..5),
                value in "[a-z]{1,8}",
            ) {
                let nested = segments.iter().rev().fold(Value::String(value.clone()), |inner, name| {
                    let mut map = Map::new();
                    map.insert(name.clone(), inner);
                    Value::Object(map)
                });
                let claims = Claims::merge(nested, None);
                prop_assert_eq!(claims.text(&segments.join(".")), Some(value));
            }
        }
    }
}
