//! What the provider says about the person, merged from the ID token and the
//! userinfo answer, and the few facts romgate reads from it.

use serde_json::{Map, Value};

/// ID token claims overlaid with userinfo claims.
#[derive(Debug, Clone, Default)]
pub struct Claims(pub Map<String, Value>);

impl Claims {
    pub fn merge(id_token: Value, userinfo: Option<Value>) -> Self {
        let mut merged = match id_token {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        if let Some(Value::Object(extra)) = userinfo {
            for (name, value) in extra {
                if !value.is_null() {
                    merged.insert(name, value);
                }
            }
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

    pub fn email(&self) -> Option<String> {
        self.text("email")
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn userinfo_overrides_and_fills_in() {
        let claims = Claims::merge(
            json!({"sub": "1", "email": "old@example.com", "name": "Old"}),
            Some(json!({"sub": "1", "email": "new@example.com", "groups": ["a"], "name": null})),
        );
        assert_eq!(claims.email().as_deref(), Some("new@example.com"));
        assert_eq!(claims.get("groups"), Some(&json!(["a"])));
        assert_eq!(claims.text("name").as_deref(), Some("Old"));
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
}
