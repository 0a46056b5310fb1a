//! Where a browser goes after signing in: a same-origin relative path, and
//! nothing else. Parse, don't validate: `NextPath` can only be built from a
//! path that stays on this server, so a value of this type is never an open
//! redirect (`//evil`, `/\evil`, `https://...`, control characters).
//! It is also a valid `Location`: what a URI cannot hold (anything beyond
//! ASCII, spaces, quotes) is percent-encoded, as a browser would send it;
//! a raw `é` in a Location header is not text to every client.
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
    /// The path, if `raw` is a same-origin relative path, with what a URI
    /// cannot hold percent-encoded.
    pub fn parse(raw: &str) -> Option<Self> {
        let local = raw.starts_with('/')
            && !raw.starts_with("//")
            && !raw.starts_with("/\\")
            && !raw.chars().any(|c| c.is_control() || c == '\\')
            && raw.len() <= MAX_LEN;
        local.then(|| Self(encode_outside_uri(raw)))
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

/// `raw` with every byte that is not visible ASCII, and the visible ones a
/// URI never holds as they are, percent-encoded (`%` itself is kept, so an
/// already encoded path is unchanged).
fn encode_outside_uri(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        if byte.is_ascii_graphic() && !b"\"<>`{}|^".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
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
        // Found by the property tests: a raw `é` made a Location header that
        // is not a URI (and not text to `HeaderValue::to_str`).
        assert_eq!(
            NextPath::or_home(Some("/library/Pokémon Red")).as_str(),
            "/library/Pok%C3%A9mon%20Red"
        );
        assert_eq!(NextPath::or_home(Some("/a%20b")).as_str(), "/a%20b");
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

    mod properties {
        use proptest::prelude::*;

        use super::*;

        fn percent_decode(text: &str) -> Vec<u8> {
            let mut out = Vec::new();
            let mut bytes = text.bytes();
            while let Some(byte) = bytes.next() {
                if byte == b'%' {
                    let hex: String = bytes.by_ref().take(2).map(char::from).collect();
                    out.push(u8::from_str_radix(&hex, 16).expect("two hex digits"));
                } else {
                    out.push(byte);
                }
            }
            out
        }

        /// Pieces of open redirects, and of paths that are fine.
        fn tricky() -> impl Strategy<Value = String> {
            let pieces = [
                "/",
                "//",
                "\\",
                "http:",
                "https://evil.example",
                "%2F",
                "\t",
                "\n",
                "\r",
                "é",
                " ",
                "?",
                "#",
                "@",
                ".",
                "..",
                "\u{3000}",
                "\u{ff0f}",
                "\u{202e}",
            ];
            let piece = prop_oneof![
                proptest::sample::select(pieces.to_vec()).prop_map(str::to_string),
                "\\PC{0,3}"
            ];
            proptest::collection::vec(piece, 0..8).prop_map(|parts| parts.concat())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// Whatever is asked for, the target stays on this site, as a
            /// browser's URL parser reads it.
            #[test]
            fn a_next_never_leaves_the_site(raw in prop_oneof![tricky(), any::<String>()]) {
                let next = NextPath::or_home(Some(&raw));
                let path = next.as_str();
                prop_assert!(path.starts_with('/') && !path.starts_with("//") && !path.starts_with("/\\"));
                let site = url::Url::parse("https://romgate.example/login").expect("base");
                let target = site.join(path).expect("a relative reference");
                prop_assert_eq!(target.origin(), site.origin(), "{:?}", raw);
            }

            /// A kept target is a Location of plain ASCII (what a URI holds),
            /// reads back as itself, and decodes to what was asked.
            #[test]
            fn a_kept_next_is_a_uri_and_parses_to_itself(raw in prop_oneof![tricky(), any::<String>()]) {
                if let Some(next) = NextPath::parse(&raw) {
                    prop_assert!(next.as_str().bytes().all(|b| b.is_ascii_graphic()), "{:?}", next);
                    prop_assert_eq!(NextPath::parse(next.as_str()), Some(next.clone()));
                    if !raw.contains('%') {
                        prop_assert_eq!(percent_decode(next.as_str()), raw.as_bytes().to_vec());
                    }
                }
            }

            /// Plain local paths are kept as they are.
            #[test]
            fn plain_paths_are_kept(path in "(/[A-Za-z0-9._~-]{1,12}){1,4}(\\?[a-z]=[0-9]{1,3})?") {
                let kept = NextPath::or_home(Some(&path));
                prop_assert_eq!(kept.as_str(), path.as_str());
            }
        }
    }
}
