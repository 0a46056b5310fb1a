//! Where a browser goes after signing in: a same-origin relative path, and
//! nothing else. Parse, don't validate: `NextPath` can only be built from a
//! path that stays on this server, so a value of this type is never an open
//! redirect (`//evil`, `/\evil`, `https://...`, control characters).
//!
//! A leaf: it names nothing else of romgate, so the sign-in flows and the
//! pages share it.

use std::fmt;

/// The longest `next` kept; anything longer goes home.
const MAX_LEN: usize = 2048;

/// A same-origin relative path (`/library?x=1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextPath(String);

impl NextPath {
    /// The path, if `raw` is a same-origin relative path.
    pub fn parse(raw: &str) -> Option<Self> {
        let local = raw.starts_with('/')
            && !raw.starts_with("//")
            && !raw.starts_with("/\\")
            && !raw.chars().any(|c| c.is_control() || c == '\\')
            && raw.len() <= MAX_LEN;
        local.then(|| Self(raw.to_string()))
    }

    /// `raw` if it is a same-origin relative path, else the home page `/`.
    pub fn or_home(raw: Option<&str>) -> Self {
        raw.and_then(Self::parse).unwrap_or_default()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl Default for NextPath {
    /// The home page.
    fn default() -> Self {
        Self("/".to_string())
    }
}

impl fmt::Display for NextPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_kept_only_for_local_paths() {
        assert_eq!(NextPath::or_home(Some("/library?x=1")).as_str(), "/library?x=1");
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "evil",
            "/a\nb",
            "",
        ] {
            assert_eq!(NextPath::or_home(Some(bad)).as_str(), "/", "{bad:?}");
            assert_eq!(NextPath::parse(bad), None, "{bad:?}");
        }
        assert_eq!(NextPath::or_home(None).as_str(), "/");
    }
}
