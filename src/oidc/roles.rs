//! Claims to role: one pure function. The highest matching role wins; `*`
//! as the viewer value admits everyone; nothing matching refuses.

use serde_json::Value;

use crate::auth::Role;

/// The configured claim values for each role (OIDC_ROLE_*).
#[derive(Debug, Clone, Default)]
pub struct RoleMapping {
    pub viewer: Option<String>,
    pub editor: Option<String>,
    pub admin: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleDecision {
    /// The claim is absent (or no roles claim is configured): new accounts
    /// are viewers, existing ones keep their role.
    ClaimAbsent,
    Role(Role),
    /// The claim is present but matches no role: refuse.
    NoMatch,
}

/// The values of a roles claim: an array of strings, one string, or a string
/// of values separated by spaces or commas.
pub fn claim_values(claim: &Value) -> Vec<&str> {
    match claim {
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        Value::String(text) => text
            .split([' ', ','])
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

pub fn map_roles(claim: Option<&Value>, mapping: &RoleMapping) -> RoleDecision {
    let Some(claim) = claim else {
        return RoleDecision::ClaimAbsent;
    };
    let values = claim_values(claim);
    let matches = |wanted: &Option<String>| wanted.as_deref().is_some_and(|w| values.contains(&w));
    if matches(&mapping.admin) {
        RoleDecision::Role(Role::Admin)
    } else if matches(&mapping.editor) {
        RoleDecision::Role(Role::Editor)
    } else if matches(&mapping.viewer) || mapping.viewer.as_deref() == Some("*") {
        RoleDecision::Role(Role::Viewer)
    } else {
        RoleDecision::NoMatch
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn mapping(viewer: &str, editor: &str, admin: &str) -> RoleMapping {
        let some = |v: &str| (!v.is_empty()).then(|| v.to_string());
        RoleMapping {
            viewer: some(viewer),
            editor: some(editor),
            admin: some(admin),
        }
    }

    #[test]
    fn table() {
        let m = mapping("romm-users", "romm-editors", "romm-admins");
        let cases: &[(Option<Value>, RoleDecision)] = &[
            (None, RoleDecision::ClaimAbsent),
            (Some(json!(["romm-users"])), RoleDecision::Role(Role::Viewer)),
            (
                Some(json!(["romm-users", "romm-editors"])),
                RoleDecision::Role(Role::Editor),
            ),
            (
                Some(json!(["romm-editors", "romm-admins", "romm-users"])),
                RoleDecision::Role(Role::Admin),
            ),
            (Some(json!("romm-admins")), RoleDecision::Role(Role::Admin)),
            (Some(json!("staff romm-editors")), RoleDecision::Role(Role::Editor)),
            (Some(json!("staff,romm-users")), RoleDecision::Role(Role::Viewer)),
            (Some(json!(["staff"])), RoleDecision::NoMatch),
            (Some(json!([])), RoleDecision::NoMatch),
            (Some(json!(42)), RoleDecision::NoMatch),
            (Some(json!(["ROMM-ADMINS"])), RoleDecision::NoMatch),
            (Some(json!(["romm-admins-extra"])), RoleDecision::NoMatch),
        ];
        for (claim, expected) in cases {
            assert_eq!(map_roles(claim.as_ref(), &m), *expected, "{claim:?}");
        }
    }

    #[test]
    fn wildcard_viewer_admits_everyone_but_higher_roles_still_win() {
        let m = mapping("*", "", "admins");
        assert_eq!(
            map_roles(Some(&json!(["anything"])), &m),
            RoleDecision::Role(Role::Viewer)
        );
        assert_eq!(map_roles(Some(&json!([])), &m), RoleDecision::Role(Role::Viewer));
        assert_eq!(map_roles(Some(&json!(["admins"])), &m), RoleDecision::Role(Role::Admin));
    }

    #[test]
    fn unset_roles_never_match() {
        let m = mapping("", "", "");
        assert_eq!(map_roles(Some(&json!([""])), &m), RoleDecision::NoMatch);
    }

    #[test]
    fn ten_thousand_groups_are_fine() {
        let mut groups: Vec<String> = (0..10_000).map(|n| format!("group-{n}")).collect();
        groups.push("romm-admins".into());
        let m = mapping("romm-users", "", "romm-admins");
        assert_eq!(map_roles(Some(&json!(groups)), &m), RoleDecision::Role(Role::Admin));
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// The values of a list claim are its strings, in any of the
            /// three shapes, and the highest role among them wins.
            #[test]
            fn any_shape_of_a_groups_claim_gives_the_same_role(
                groups in proptest::collection::vec("[a-z0-9_-]{1,8}", 0..6),
                admin in "[a-z]{1,4}", editor in "[a-z]{1,4}", viewer in "[a-z]{1,4}",
            ) {
                let mapping = RoleMapping { viewer: Some(viewer.clone()), editor: Some(editor.clone()), admin: Some(admin.clone()) };
                let expected = if groups.contains(&admin) {
                    RoleDecision::Role(Role::Admin)
                } else if groups.contains(&editor) {
                    RoleDecision::Role(Role::Editor)
                } else if groups.contains(&viewer) {
                    RoleDecision::Role(Role::Viewer)
                } else {
                    RoleDecision::NoMatch
                };
                for claim in [json!(groups), json!(groups.join(" ")), json!(groups.join(", "))] {
                    prop_assert_eq!(claim_values(&claim), groups.iter().map(String::as_str).collect::<Vec<_>>());
                    prop_assert_eq!(map_roles(Some(&claim), &mapping), expected);
                }
            }

            /// Any text as a claim: no panic, no empty value.
            #[test]
            fn any_claim_text_is_split_safely(text in "\\PC{0,40}") {
                let claim = Value::String(text);
                prop_assert!(claim_values(&claim).iter().all(|value| !value.is_empty()));
                let _ = map_roles(Some(&claim), &RoleMapping::default());
            }
        }
    }
}
