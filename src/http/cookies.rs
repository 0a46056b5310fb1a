//! The one place cookies are made: HttpOnly (but the CSRF one, which the
//! browser's script must read), Secure from configuration, Path=/,
//! SameSite=Lax (Strict would drop the session on the identity provider's
//! redirect back).

use axum::http::{HeaderMap, HeaderValue, header};
use cookie::time::Duration;
use cookie::{Cookie, SameSite};

pub const SESSION_COOKIE: &str = "romm_session";
pub const CSRF_COOKIE: &str = "romm_csrftoken";

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

    fn build(&self, name: &'static str, value: &str, http_only: bool, max_age: Option<i64>) -> HeaderValue {
        let mut cookie = Cookie::build((name, value.to_string()))
            .http_only(http_only)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .path("/")
            .build();
        if let Some(seconds) = max_age {
            cookie.set_max_age(Duration::seconds(seconds));
        }
        // Cookie values here are our own base64url tokens: always valid.
        HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

/// The value of cookie `name` in the request, if present and non-empty.
/// Parsed as the `cookie` crate's `split_parse` does (pairs split on `;`,
/// name and value trimmed, pieces without `=` skipped; the first cookie of
/// that name counts), without building every cookie: this runs up to twice
/// on every request.
pub fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| key.trim() == name)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

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
                read_cookie(&map, "romm_session"),
                by_cookie_crate(header, "romm_session"),
                "{header:?}"
            );
        }
    }
}
