//! The one place cookies are made: HttpOnly (but the CSRF one, which the
//! browser's script must read), Secure from configuration, Path=/,
//! SameSite=Lax (Strict would drop the session on the identity provider's
//! redirect back).
//!
//! The `Set-Cookie` values are written here, attribute by attribute, in the
//! order and form the `cookie` crate writes them (a test holds the two
//! equal for every kind of cookie made here): the CSRF cookie goes out with
//! every answer to a client without one, and the crate's `Display` (the
//! formatting machinery, a copy of the value) was 8% of that answer's
//! instructions (bench/README.md). Values are romgate's own tokens
//! (base64url or hex), which need no quoting; `HeaderValue` checks them.

use std::fmt::Write;

use axum::http::{HeaderMap, HeaderValue, header};

pub const SESSION_COOKIE: &str = "romm_session";
pub const CSRF_COOKIE: &str = "romm_csrftoken";
/// Binds a single sign-on in progress to the browser that started it
/// (`CookieFactory::attempt_name`).
pub const ATTEMPT_COOKIE: &str = "romgate_oidc";
const ATTEMPT_COOKIE_SECURE: &str = "__Host-romgate_oidc";

#[derive(Debug, Clone, Copy)]
pub struct CookieFactory {
    secure: bool,
}

impl CookieFactory {
    pub fn new(secure: bool) -> Self {
        Self { secure }
    }

    pub fn session(&self, token: &str, max_age_seconds: i64) -> HeaderValue {
        self.build(SESSION_COOKIE, token, true, Some(max_age_seconds))
    }

    pub fn clear_session(&self) -> HeaderValue {
        self.build(SESSION_COOKIE, "", true, Some(0))
    }

    /// Lives as long as the browser session; readable by script so it can be
    /// echoed in the `x-csrftoken` header.
    pub fn csrf(&self, token: &str) -> HeaderValue {
        self.build(CSRF_COOKIE, token, false, None)
    }

    /// A short-lived HttpOnly cookie (the OIDC login attempt binding).
    pub fn short_lived(&self, name: &'static str, value: &str, max_age_seconds: i64) -> HeaderValue {
        self.build(name, value, true, Some(max_age_seconds))
    }

    /// The sign-in attempt's binding cookie's name: with `__Host-` when
    /// cookies are Secure, which browsers accept only from this very host
    /// over https, with Path=/ and no Domain. A neighbouring subdomain (or
    /// plain http) cannot plant one, so nobody can bind a browser to a
    /// sign-in they started (and sign its owner in as themselves). RomM's
    /// own cookie names are kept as they are; this one is romgate's.
    pub fn attempt_name(&self) -> &'static str {
        if self.secure {
            ATTEMPT_COOKIE_SECURE
        } else {
            ATTEMPT_COOKIE
        }
    }

    fn build(&self, name: &'static str, value: &str, http_only: bool, max_age: Option<i64>) -> HeaderValue {
        let mut text = String::with_capacity(name.len() + value.len() + 64);
        text.push_str(name);
        text.push('=');
        text.push_str(value);
        if http_only {
            text.push_str("; HttpOnly");
        }
        text.push_str("; SameSite=Lax");
        if self.secure {
            text.push_str("; Secure");
        }
        text.push_str("; Path=/");
        if let Some(seconds) = max_age {
            // Writing to a String does not fail.
            let _ = write!(text, "; Max-Age={seconds}");
        }
        // Cookie values here are our own tokens: always valid.
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

/// The value of cookie `name` in the request, if present and non-empty.
/// Parsed as the `cookie` crate's `split_parse` does (pairs split on `;`,
/// name and value trimmed, pieces without `=` skipped; the first cookie of
/// that name counts), on the header's bytes and borrowed from it: this runs
/// twice on every request with cookies. Only the value found has to be text.
pub fn read_cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    let value = headers
        .get_all(header::COOKIE)
        .iter()
        .find_map(|value| cookie_in(value.as_bytes(), name.as_bytes()))?;
    std::str::from_utf8(value).ok().filter(|value| !value.is_empty())
}

/// The trimmed value of the first `name=value` pair in one Cookie header.
fn cookie_in<'h>(mut header: &'h [u8], name: &[u8]) -> Option<&'h [u8]> {
    loop {
        let (pair, rest) = match memchr::memchr(b';', header) {
            Some(end) => header.split_at(end),
            None => (header, &[][..]),
        };
        if let Some(equals) = memchr::memchr(b'=', pair) {
            let (key, value) = pair.split_at(equals);
            if key.trim_ascii() == name {
                return value.get(1..).map(<[u8]>::trim_ascii);
            }
        }
        // Past the `;`, or the end of the header.
        header = rest.get(1..)?;
    }
}

#[cfg(test)]
mod tests {
    use cookie::{Cookie, SameSite};

    use super::*;

    /// What the `cookie` crate writes for a cookie with these attributes.
    fn written_by_cookie_crate(name: &str, value: &str, http_only: bool, secure: bool, max_age: Option<i64>) -> String {
        let mut cookie = Cookie::build((name.to_string(), value.to_string()))
            .http_only(http_only)
            .secure(secure)
            .same_site(SameSite::Lax)
            .path("/")
            .build();
        if let Some(seconds) = max_age {
            cookie.set_max_age(cookie::time::Duration::seconds(seconds));
        }
        cookie.to_string()
    }

    #[test]
    fn every_cookie_made_here_is_written_as_the_cookie_crate_writes_it() {
        for secure in [false, true] {
            let factory = CookieFactory::new(secure);
            let token = "rgs_8OXvmR1bu_q3Sq9Zl6W3HiNrvqu3D8X2S-nnBKkI7HU";
            let made = [
                (
                    factory.session(token, 2_592_000),
                    SESSION_COOKIE,
                    token,
                    true,
                    Some(2_592_000),
                ),
                (factory.clear_session(), SESSION_COOKIE, "", true, Some(0)),
                (factory.csrf(token), CSRF_COOKIE, token, false, None),
                (
                    factory.short_lived("romm_oidc_attempt", token, 600),
                    "romm_oidc_attempt",
                    token,
                    true,
                    Some(600),
                ),
            ];
            for (header, name, value, http_only, max_age) in made {
                assert_eq!(
                    header.to_str().expect("text"),
                    written_by_cookie_crate(name, value, http_only, secure, max_age)
                );
            }
        }
    }

    /// The `cookie` crate's reading, which `read_cookie` replaces.
    fn by_cookie_crate(header: &str, name: &str) -> Option<String> {
        Cookie::split_parse(header.to_string())
            .filter_map(Result::ok)
            .find(|cookie| cookie.name() == name)
            .map(|cookie| cookie.value().to_string())
            .filter(|value| !value.is_empty())
    }

    #[test]
    fn read_cookie_reads_as_the_cookie_crate_does() {
        let headers = [
            "romm_session=abc",
            "a=1; romm_session=abc; b=2",
            "  romm_session = abc ;x=y",
            "romm_session=; romm_session=second",
            "romm_session",
            "=x; romm_session=a=b",
            "romm_sessionx=1; xromm_session=2",
            ";;romm_session=\"quoted\";;",
            "",
        ];
        for header in headers {
            let mut map = HeaderMap::new();
            map.insert(header::COOKIE, HeaderValue::from_str(header).expect("header"));
            assert_eq!(
                read_cookie(&map, "romm_session").map(str::to_string),
                by_cookie_crate(header, "romm_session"),
                "{header:?}"
            );
        }
    }

    #[test]
    fn a_cookie_is_read_beside_bytes_that_are_not_text_but_must_be_text_itself() {
        let mut map = HeaderMap::new();
        let header = HeaderValue::from_bytes(b"other=\xff\xfe; romm_session=abc").expect("obs-text is allowed");
        map.insert(header::COOKIE, header);
        assert_eq!(read_cookie(&map, "romm_session"), Some("abc"));
        assert_eq!(read_cookie(&map, "other"), None);
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        /// Cookie headers made of the pieces the parser splits on, names
        /// that nearly match, and any printable text.
        fn header() -> impl Strategy<Value = String> {
            let pieces = vec![
                "romm_session",
                "romm_sessionx",
                "=",
                ";",
                " ",
                "\t",
                "\"",
                "rgs_",
                ",",
                "a",
            ];
            let piece = prop_oneof![proptest::sample::select(pieces).prop_map(str::to_string), "[ -~]{0,4}"];
            proptest::collection::vec(piece, 0..12).prop_map(|parts| parts.concat())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn read_cookie_reads_any_header_as_the_cookie_crate_does(header in header()) {
                let mut map = HeaderMap::new();
                map.insert(header::COOKIE, HeaderValue::from_str(&header).expect("printable"));
                prop_assert_eq!(
                    read_cookie(&map, "romm_session").map(str::to_string),
                    by_cookie_crate(&header, "romm_session"),
                    "{:?}", header
                );
            }

            /// Any bytes a header can hold: no panic, and a value found is
            /// non-empty text without the separator.
            #[test]
            fn any_header_bytes_read_safely(bytes in proptest::collection::vec(
                prop_oneof![0x20u8..=0x7e, Just(b'\t'), 0x80u8..=0xff], 0..64)
            ) {
                let mut map = HeaderMap::new();
                map.insert(header::COOKIE, HeaderValue::from_bytes(&bytes).expect("header bytes"));
                if let Some(value) = read_cookie(&map, "romm_session") {
                    prop_assert!(!value.is_empty() && !value.contains(';'));
                }
            }

            /// Any token and lifetime: written as the `cookie` crate writes it.
            #[test]
            fn any_cookie_is_written_as_the_cookie_crate_writes_it(
                token in "[A-Za-z0-9_-]{0,64}", secure: bool, max_age in 0i64..=i64::from(u32::MAX)
            ) {
                let factory = CookieFactory::new(secure);
                let session = factory.session(&token, max_age);
                prop_assert_eq!(
                    session.to_str().expect("text"),
                    written_by_cookie_crate(SESSION_COOKIE, &token, true, secure, Some(max_age))
                );
                let csrf = factory.csrf(&token);
                prop_assert_eq!(
                    csrf.to_str().expect("text"),
                    written_by_cookie_crate(CSRF_COOKIE, &token, false, secure, None)
                );
            }

            /// What the factory writes, the reader reads back.
            #[test]
            fn a_token_set_is_read_back(token in "[A-Za-z0-9_-]{1,64}", secure: bool) {
                let set = CookieFactory::new(secure).session(&token, 60);
                let pair = set.to_str().expect("text").split(';').next().unwrap_or_default().to_string();
                let mut map = HeaderMap::new();
                map.insert(header::COOKIE, HeaderValue::from_str(&format!("other=1; {pair}")).expect("header"));
                prop_assert_eq!(read_cookie(&map, SESSION_COOKIE), Some(token.as_str()));
            }
        }
    }
}
