//! Configuration fails closed: a setting that would silently widen access
//! stops the server at start, naming every variable involved (and `romgate
//! oidc check` fails it). Each rule is a pure function of the loaded
//! configuration (and, for a misspelt switch, of the variables read).

use std::collections::HashMap;

use super::{Config, UnknownVariable, parse_boolean};

/// Whether a value closes what its switch closes.
type Closes = fn(&str) -> bool;

/// Variables whose value, when set, closes something, with the values that
/// close it: a misspelling of one of them leaves open what the person meant
/// to close.
const CLOSING_SWITCHES: &[(&str, Closes)] = &[
    ("DISABLE_SETUP_WIZARD", is_true),
    ("DISABLE_USERPASS_LOGIN", is_true),
    ("OIDC_ALLOW_REGISTRATION", is_false),
    // An https:// base URL is what makes the cookies Secure and turns HSTS
    // on; so does the cookie switch itself.
    ("ROMM_BASE_URL", is_https),
    ("ROMM_SESSION_SECURE_COOKIE", is_true),
];

fn is_true(value: &str) -> bool {
    parse_boolean(value.trim()) == Some(true)
}

fn is_false(value: &str) -> bool {
    parse_boolean(value.trim()) == Some(false)
}

fn is_https(value: &str) -> bool {
    value
        .trim()
        .get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
}

/// A misspelt closing switch set to a closing value while the real name is
/// unset or empty (`DISABLE_SETUP_WIZZARD=true`): the anonymous setup,
/// password login, registration or plain-http cookies would stay open
/// against the intent. So does a switch romgate has no name like
/// (`DISABLE_PASSWORD_LOGIN=true`, `OIDC_REGISTRATION=false`). One problem
/// each.
pub(super) fn misspelt_closing_switches(unknown: &[UnknownVariable], vars: &HashMap<String, String>) -> Vec<String> {
    unknown
        .iter()
        .filter_map(|finding| {
            let value = vars.get(finding.name())?;
            match finding {
                UnknownVariable::Misspelt { known, .. } => misspelt_switch(finding.name(), value, known, vars),
                UnknownVariable::Unknown { name } => invented_switch(name, value),
                UnknownVariable::RommOnly { .. } => None,
            }
        })
        .collect()
}

fn misspelt_switch(name: &str, value: &str, known: &str, vars: &HashMap<String, String>) -> Option<String> {
    let (_, closes) = CLOSING_SWITCHES.iter().find(|(switch, _)| *switch == known)?;
    let real_unset = vars.get(known).is_none_or(|real| real.trim().is_empty());
    (closes(value) && real_unset).then(|| {
        format!(
            "{} is set to {} but is not a variable romgate reads, so what {known} would close stays open; \
             rename it to {known}",
            name.escape_debug(),
            value.escape_debug(),
        )
    })
}

/// Words naming what romgate's switches close.
const CLOSABLE: &[&str] = &[
    "LOGIN",
    "SIGNIN",
    "SIGN_IN",
    "LOCAL_AUTH",
    "BASIC_AUTH",
    "PASSWORD",
    "USERPASS",
    "SETUP",
    "WIZARD",
    "REGISTRATION",
    "SIGNUP",
    "SIGN_UP",
];
/// Words naming registration, which a false value closes.
const REGISTRATION: &[&str] = &["REGISTRATION", "SIGNUP", "SIGN_UP"];

/// An unknown `DISABLE_…` naming a sign-in, the setup or registration set
/// to true, or another unknown name of registration or sign-up set to
/// false: meant to close something, under a name romgate does not have.
/// Other programs' `DISABLE_TELEMETRY=1` and the like close nothing of
/// romgate's and only get the unknown-variable warning.
fn invented_switch(name: &str, value: &str) -> Option<String> {
    let upper = name.to_ascii_uppercase();
    let names_closable = CLOSABLE.iter().any(|word| upper.contains(word));
    let meant_to_close = if upper.starts_with("DISABLE_") {
        names_closable && is_true(value)
    } else {
        REGISTRATION.iter().any(|word| upper.contains(word)) && is_false(value)
    };
    meant_to_close.then(|| {
        format!(
            "{} is set to {} but is not a variable romgate reads, so it closes nothing; romgate's switches \
             are DISABLE_SETUP_WIZARD=true, DISABLE_USERPASS_LOGIN=true and OIDC_ALLOW_REGISTRATION=false",
            name.escape_debug(),
            value.escape_debug(),
        )
    })
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
