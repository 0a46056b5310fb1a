//! Configuration fails closed: a setting that would silently widen access
//! stops the server at start, naming every variable involved (and `romgate
//! oidc check` fails it). Each rule is a pure function of the loaded
//! configuration (and, for a misspelt switch, of the variables read).

use std::collections::HashMap;

use super::{Config, UnknownVariable, parse_boolean};

/// Switches whose value, when set, closes something, with that value: a
/// misspelling of one of them leaves open what the person meant to close.
const CLOSING_SWITCHES: &[(&str, bool)] = &[
    ("DISABLE_SETUP_WIZARD", true),
    ("DISABLE_USERPASS_LOGIN", true),
    ("OIDC_ALLOW_REGISTRATION", false),
];

/// A misspelt closing switch set to its closing value while the real name
/// is unset (`DISABLE_SETUP_WIZZARD=true`): the anonymous setup, password
/// login or registration would stay open against the intent; one problem
/// each.
pub(super) fn misspelt_closing_switches(unknown: &[UnknownVariable], vars: &HashMap<String, String>) -> Vec<String> {
    unknown
        .iter()
        .filter_map(|finding| {
            let known = finding.suggestion()?;
            let (_, closing) = CLOSING_SWITCHES.iter().find(|(name, _)| *name == known)?;
            let value = vars.get(finding.name())?;
            let meant_to_close = parse_boolean(value) == Some(*closing) && !vars.contains_key(known);
            meant_to_close.then(|| {
                format!(
                    "{} is set to {} but is not a variable romgate reads, so what {known} would close stays open; \
                     rename it to {known}",
                    finding.name().escape_debug(),
                    value.escape_debug(),
                )
            })
        })
        .collect()
}

impl Config {
    /// Settings that would silently widen access: each one stops the server.
    /// A misspelt closing switch (`misspelt_closing_switches`), and a role
    /// mapping (`OIDC_ROLE_*`) without the claim it maps (`OIDC_CLAIM_ROLES`),
    /// where every provider user would sign in as a viewer and no role,
    /// admin included, would ever apply.
    pub fn fail_closed_problems(&self) -> Vec<String> {
        let mut problems = self.misspelt_closing_switches.clone();
        problems.extend(self.unmapped_roles());
        problems
    }

    fn unmapped_roles(&self) -> Vec<String> {
        let Some(oidc) = &self.oidc else {
            return Vec::new();
        };
        let set: Vec<&str> = [
            ("OIDC_ROLE_VIEWER", &oidc.role_viewer),
            ("OIDC_ROLE_EDITOR", &oidc.role_editor),
            ("OIDC_ROLE_ADMIN", &oidc.role_admin),
        ]
        .iter()
        .filter(|(_, value)| value.is_some())
        .map(|(name, _)| *name)
        .collect();
        if set.is_empty() || oidc.claim_roles.is_some() {
            return Vec::new();
        }
        let misspelt: Vec<&str> = self
            .unknown_variables
            .iter()
            .filter(|u| u.suggestion() == Some("OIDC_CLAIM_ROLES"))
            .map(UnknownVariable::name)
            .collect();
        let hint = match misspelt.as_slice() {
            [] => String::new(),
            names => format!(" ({} is set: a misspelling of OIDC_CLAIM_ROLES?)", names.join(", ")),
        };
        vec![format!(
            "OIDC_CLAIM_ROLES is empty while {} {} set: the role mapping would be ignored and every new \
             provider user would sign in as a viewer; set OIDC_CLAIM_ROLES to the claim carrying the groups \
             (for example OIDC_CLAIM_ROLES=groups), or unset {}{hint}",
            set.join(" and "),
            if set.len() == 1 { "is" } else { "are" },
            set.join(" and "),
        )]
    }
}
