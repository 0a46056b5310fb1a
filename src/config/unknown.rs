//! Variables that look like romgate's but that romgate does not read: a typo
//! (`OIDC_CLAIM_ROLE` for `OIDC_CLAIM_ROLES`) silently drops a setting, so
//! each one is named with the closest known name. RomM's own variables that
//! romgate has no use for are named as such, so a RomM env file brought over
//! is not answered with wrong "did you mean" suggestions.

use std::fmt;

use super::KNOWN_VARIABLES;

/// The prefixes of romgate's and RomM's variables; anything else in the
/// environment belongs to someone else and is left alone.
const CHECKED_PREFIXES: &[&str] = &["ROMM_", "OIDC_", "ROMGATE_", "DB_", "DISABLE_"];

/// Variables with those prefixes that RomM reads (backend/config) and
/// romgate does not use.
const ROMM_ONLY_VARIABLES: &[&str] = &[
    "DB_QUERY_JSON",
    "DISABLE_EMULATOR_JS",
    "DISABLE_RUFFLE_RS",
    "ROMM_BASE_PATH",
    "ROMM_TMP_PATH",
];

/// At most this many single-character edits make a name a likely typo...
const MAX_TYPO_EDITS: usize = 4;
/// ...and at most one edit per this many characters of the name, so short
/// names (DB_FOO) are not "corrected" into unrelated ones (DB_HOST).
const CHARS_PER_EDIT: usize = 3;

/// One variable romgate does not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnknownVariable {
    /// Close to a known name: most likely a typo of it.
    Misspelt { name: String, known: &'static str },
    /// Read by RomM, not by romgate.
    RommOnly { name: String },
    /// Neither close to a known name nor one of RomM's.
    Unknown { name: String },
}

impl UnknownVariable {
    pub fn name(&self) -> &str {
        match self {
            Self::Misspelt { name, .. } | Self::RommOnly { name } | Self::Unknown { name } => name,
        }
    }

    /// The known name this one is probably a typo of.
    pub fn suggestion(&self) -> Option<&'static str> {
        match self {
            Self::Misspelt { known, .. } => Some(known),
            _ => None,
        }
    }
}

impl fmt::Display for UnknownVariable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The name comes from the environment: escaped, so a log line stays one line.
        let name = self.name().escape_debug();
        match self {
            Self::Misspelt { known, .. } => {
                write!(f, "{name} is not a variable romgate reads; did you mean {known}?")
            }
            Self::RommOnly { .. } => write!(f, "RomM's {name} is not used by romgate"),
            Self::Unknown { .. } => write!(f, "{name} is not a variable romgate reads (nor RomM); it has no effect"),
        }
    }
}

/// The set variables (names only) that have a romgate or RomM prefix but
/// are not read, and the misspellings of the known names without such a
/// prefix (`DISABLE_SETUP_WIZZARD`, `disable_userpass_login`), sorted by
/// name. Other names belong to someone else and are left alone.
pub fn unknown_variables<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<UnknownVariable> {
    let mut found: Vec<UnknownVariable> = names
        .into_iter()
        .filter(|name| !KNOWN_VARIABLES.contains(name))
        .filter_map(|name| {
            if looks_like_ours(name) {
                Some(classify(name))
            } else {
                misspelt_unprefixed(name)
            }
        })
        .collect();
    found.sort_by(|a, b| a.name().cmp(b.name()));
    found.dedup();
    found
}

/// Prefixes compared in any case: `oidc_enabled` is a typo worth naming.
pub(super) fn looks_like_ours(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    CHECKED_PREFIXES.iter().any(|prefix| upper.starts_with(prefix))
}

fn classify(name: &str) -> UnknownVariable {
    let name_owned = name.to_string();
    if ROMM_ONLY_VARIABLES.contains(&name) {
        return UnknownVariable::RommOnly { name: name_owned };
    }
    match closest_known(name) {
        Some(known) => UnknownVariable::Misspelt {
            name: name_owned,
            known,
        },
        None => UnknownVariable::Unknown { name: name_owned },
    }
}

/// A name without a checked prefix is named only as a typo of a known name
/// that has none either (`OAUTH_*`, `DATABASE_URL`,
/// `SESSION_MAX_AGE_SECONDS`): a container's environment holds many
/// variables of other programs (RomM's `IGDB_CLIENT_ID` is three edits from
/// `OIDC_CLIENT_ID`), and a warning about them would be noise.
fn misspelt_unprefixed(name: &str) -> Option<UnknownVariable> {
    let known = closest_known(name)?;
    (!looks_like_ours(known)).then(|| UnknownVariable::Misspelt {
        name: name.to_string(),
        known,
    })
}

/// The known name fewest edits away, if it is near enough to be a typo.
fn closest_known(name: &str) -> Option<&'static str> {
    let upper = name.to_ascii_uppercase();
    let limit = MAX_TYPO_EDITS.min(upper.chars().count() / CHARS_PER_EDIT);
    KNOWN_VARIABLES
        .iter()
        .map(|known| (edit_distance(&upper, known), *known))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, known)| known)
}

/// Levenshtein distance: insertions, deletions and substitutions, one each.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    // previous[j]: the distance between the first i-1 characters of `a` and
    // the first j of `b`; one row is enough.
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous
                .get(j)
                .copied()
                .unwrap_or(usize::MAX)
                .saturating_add(usize::from(ca != *cb));
            let delete = previous.get(j + 1).copied().unwrap_or(usize::MAX).saturating_add(1);
            let insert = current.get(j).copied().unwrap_or(usize::MAX).saturating_add(1);
            current.push(substitute.min(delete).min(insert));
        }
        previous = current;
    }
    previous.last().copied().unwrap_or(0)
}

/// Logs one warning line per finding (the server goes on).
pub fn log_unknown_variables(found: &[UnknownVariable]) {
    for finding in found {
        tracing::warn!("configuration warning: {finding}");
    }
}
