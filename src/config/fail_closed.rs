//! Configuration fails closed: a setting that would silently widen access
//! stops the server at start, naming every variable involved (and `romgate
//! oidc check` fails it). Each rule is a pure function of the loaded
//! configuration.

use super::{Config, UnknownVariable};

impl Config {
    /// Settings that would silently widen access: each one stops the server.
    /// Today one: a role mapping (`OIDC_ROLE_*`) without the claim it maps
    /// (`OIDC_CLAIM_ROLES`), where every provider user would sign in as a
    /// viewer and no role, admin included, would ever apply.
    pub fn fail_closed_problems(&self) -> Vec<String> {
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
