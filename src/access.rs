//! Roles and RomM's OAuth scopes. A role grants a fixed set of scopes; a
//! bearer token carries a subset of them, always intersected with the
//! holder's current role, so a demotion takes effect on the next request.
//!
//! A leaf: plain value types that storage decodes and the domain decides
//! with, so this module names nothing else of romgate.

use std::fmt;

/// RomM's scope names, in RomM's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    MeRead,
    MeWrite,
    RomsRead,
    RomsWrite,
    RomsUserRead,
    RomsUserWrite,
    PlatformsRead,
    PlatformsWrite,
    AssetsRead,
    AssetsWrite,
    DevicesRead,
    DevicesWrite,
    FirmwareRead,
    FirmwareWrite,
    CollectionsRead,
    CollectionsWrite,
    UsersRead,
    UsersWrite,
    TasksRun,
    LogsRead,
}

impl Scope {
    pub const ALL: [Scope; 20] = [
        Scope::MeRead,
        Scope::MeWrite,
        Scope::RomsRead,
        Scope::RomsWrite,
        Scope::RomsUserRead,
        Scope::RomsUserWrite,
        Scope::PlatformsRead,
        Scope::PlatformsWrite,
        Scope::AssetsRead,
        Scope::AssetsWrite,
        Scope::DevicesRead,
        Scope::DevicesWrite,
        Scope::FirmwareRead,
        Scope::FirmwareWrite,
        Scope::CollectionsRead,
        Scope::CollectionsWrite,
        Scope::UsersRead,
        Scope::UsersWrite,
        Scope::TasksRun,
        Scope::LogsRead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::MeRead => "me.read",
            Scope::MeWrite => "me.write",
            Scope::RomsRead => "roms.read",
            Scope::RomsWrite => "roms.write",
            Scope::RomsUserRead => "roms.user.read",
            Scope::RomsUserWrite => "roms.user.write",
            Scope::PlatformsRead => "platforms.read",
            Scope::PlatformsWrite => "platforms.write",
            Scope::AssetsRead => "assets.read",
            Scope::AssetsWrite => "assets.write",
            Scope::DevicesRead => "devices.read",
            Scope::DevicesWrite => "devices.write",
            Scope::FirmwareRead => "firmware.read",
            Scope::FirmwareWrite => "firmware.write",
            Scope::CollectionsRead => "collections.read",
            Scope::CollectionsWrite => "collections.write",
            Scope::UsersRead => "users.read",
            Scope::UsersWrite => "users.write",
            Scope::TasksRun => "tasks.run",
            Scope::LogsRead => "logs.read",
        }
    }

    pub fn parse(name: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == name)
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// A set of scopes, as a bit set.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct ScopeSet(u32);

impl ScopeSet {
    pub const EMPTY: ScopeSet = ScopeSet(0);

    pub fn of(scopes: &[Scope]) -> ScopeSet {
        ScopeSet(scopes.iter().fold(0, |bits, scope| bits | scope.bit()))
    }

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    pub fn contains_all(self, scopes: &[Scope]) -> bool {
        scopes.iter().all(|scope| self.contains(*scope))
    }

    pub fn is_subset_of(self, other: ScopeSet) -> bool {
        self.0 & !other.0 == 0
    }

    pub fn intersect(self, other: ScopeSet) -> ScopeSet {
        ScopeSet(self.0 & other.0)
    }

    pub fn union(self, other: ScopeSet) -> ScopeSet {
        ScopeSet(self.0 | other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |scope| self.contains(*scope))
    }

    /// Parses a space-separated list (OAuth2's `scope`). Unknown names are
    /// returned as the error, so the caller can name them.
    pub fn parse(list: &str) -> Result<ScopeSet, String> {
        let mut set = ScopeSet::EMPTY;
        for name in list.split_whitespace() {
            let scope = Scope::parse(name).ok_or_else(|| name.to_string())?;
            set.0 |= scope.bit();
        }
        Ok(set)
    }

    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Scope::as_str).collect()
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(" "))
    }
}

impl fmt::Debug for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ScopeSet({self})")
    }
}

/// What a user may do. Ordered: viewer < editor < admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Role {
    #[default]
    Viewer,
    Editor,
    Admin,
}

const READ_SCOPES: &[Scope] = &[
    Scope::MeRead,
    Scope::RomsRead,
    Scope::PlatformsRead,
    Scope::AssetsRead,
    Scope::FirmwareRead,
    Scope::RomsUserRead,
    Scope::CollectionsRead,
    Scope::DevicesRead,
];
const OWN_WRITE_SCOPES: &[Scope] = &[
    Scope::MeWrite,
    Scope::AssetsWrite,
    Scope::RomsUserWrite,
    Scope::CollectionsWrite,
    Scope::DevicesWrite,
];
const EDIT_SCOPES: &[Scope] = &[Scope::RomsWrite, Scope::PlatformsWrite, Scope::FirmwareWrite];
const ADMIN_SCOPES: &[Scope] = &[Scope::UsersRead, Scope::UsersWrite, Scope::TasksRun, Scope::LogsRead];

impl Role {
    pub fn scopes(self) -> ScopeSet {
        let viewer = ScopeSet::of(READ_SCOPES).0 | ScopeSet::of(OWN_WRITE_SCOPES).0;
        let editor = viewer | ScopeSet::of(EDIT_SCOPES).0;
        ScopeSet(match self {
            Role::Viewer => viewer,
            Role::Editor => editor,
            Role::Admin => editor | ScopeSet::of(ADMIN_SCOPES).0,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(name: &str) -> Option<Role> {
        match name.to_ascii_lowercase().as_str() {
            "viewer" => Some(Role::Viewer),
            "editor" => Some(Role::Editor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

impl TryFrom<String> for Role {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Role::parse(&value).ok_or_else(|| format!("unknown role '{value}'"))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_adds_to_the_one_below() {
        assert!(Role::Viewer.scopes().is_subset_of(Role::Editor.scopes()));
        assert!(Role::Editor.scopes().is_subset_of(Role::Admin.scopes()));
        assert_ne!(Role::Viewer.scopes(), Role::Editor.scopes());
        assert_ne!(Role::Editor.scopes(), Role::Admin.scopes());
    }

    #[test]
    fn roles_grant_romm_scopes() {
        let table: &[(Role, &str, bool)] = &[
            (Role::Viewer, "me.read", true),
            (Role::Viewer, "me.write", true),
            (Role::Viewer, "roms.user.write", true),
            (Role::Viewer, "roms.read", true),
            (Role::Viewer, "roms.write", false),
            (Role::Viewer, "users.read", false),
            (Role::Editor, "roms.write", true),
            (Role::Editor, "platforms.write", true),
            (Role::Editor, "firmware.write", true),
            (Role::Editor, "users.write", false),
            (Role::Editor, "tasks.run", false),
            (Role::Admin, "users.read", true),
            (Role::Admin, "users.write", true),
            (Role::Admin, "tasks.run", true),
            (Role::Admin, "logs.read", true),
        ];
        for (role, name, granted) in table {
            let scope = Scope::parse(name).expect("known scope");
            assert_eq!(role.scopes().contains(scope), *granted, "{role} {name}");
        }
    }

    #[test]
    fn scope_lists_parse_and_name_the_unknown_one() {
        let set = ScopeSet::parse("me.read  roms.read").expect("valid");
        assert_eq!(set.to_string(), "me.read roms.read");
        assert_eq!(ScopeSet::parse("me.read rooms.read"), Err("rooms.read".to_string()));
        assert!(ScopeSet::parse("").expect("empty is valid").is_empty());
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        fn any_set() -> impl Strategy<Value = ScopeSet> {
            proptest::sample::subsequence(Scope::ALL.to_vec(), 0..=Scope::ALL.len())
                .prop_map(|scopes| ScopeSet::of(&scopes))
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// A set written out as OAuth2's `scope` reads back as itself.
            #[test]
            fn a_scope_list_round_trips(set in any_set(), spaces in "[ \t]{1,3}") {
                prop_assert_eq!(ScopeSet::parse(&set.to_string()), Ok(set));
                prop_assert_eq!(ScopeSet::parse(&set.names().join(&spaces)), Ok(set));
            }

            /// Any text: only known names make a set, and an unknown one is
            /// named as it was written.
            #[test]
            fn only_known_names_make_a_set(list in "([a-z.]{0,12}|me\\.read|roms\\.read|\\PC{0,3})( [a-z.]{0,12}){0,3}") {
                match ScopeSet::parse(&list) {
                    Ok(set) => {
                        let words: Vec<&str> = list.split_whitespace().collect();
                        prop_assert!(words.iter().all(|word| Scope::parse(word).is_some()));
                        prop_assert_eq!(set.names().len(), {
                            let mut distinct = words.clone();
                            distinct.sort_unstable();
                            distinct.dedup();
                            distinct.len()
                        });
                    }
                    Err(unknown) => {
                        prop_assert!(list.split_whitespace().any(|word| word == unknown));
                        prop_assert!(Scope::parse(&unknown).is_none());
                    }
                }
            }
        }
    }
}
