//! Settings that are allowed but probably wrong: a redirect URI that does
//! not come back here, a port that does not match the public URL. The
//! server logs each at start (one warning line each) and `romgate oidc
//! check` reports the same findings, from this one function, so the two
//! never disagree.

use std::fmt;

use super::Config;

/// The path of the single sign-on callback (`/api/oauth/openid`).
pub const CALLBACK_PATH: &str = "/api/oauth/openid";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finding {
    /// OIDC_REDIRECT_URI's path is not the callback path: sign-in cannot finish.
    RedirectPath,
    /// OIDC_REDIRECT_URI is on another origin than ROMM_BASE_URL.
    RedirectOrigin,
    /// ROMM_PORT is not ROMM_BASE_URL's port and no proxy is configured.
    PortMismatch,
    /// DISABLE_DOWNLOAD_ENDPOINT_AUTH: every ROM can be downloaded by anyone
    /// who reaches the server.
    PublicDownloads,
    /// DISABLE_CSRF_PROTECTION: any site a signed-in person visits can act
    /// with their session.
    NoCsrfProtection,
    /// ROMM_SESSION_SECURE_COOKIE=false under an https ROMM_BASE_URL: the
    /// session cookie also goes out over plain http.
    InsecureCookies,
}

#[derive(Debug, Clone)]
pub struct StartupWarning {
    pub finding: Finding,
    pub what: String,
    pub fix: String,
}

impl fmt::Display for StartupWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; {}", self.what, self.fix)
    }
}

impl Config {
    /// Every finding, in a fixed order.
    pub fn startup_warnings(&self) -> Vec<StartupWarning> {
        let mut found = Vec::new();
        let base = self.base_url.as_str().trim_end_matches('/');
        if let Some(oidc) = &self.oidc {
            let redirect = &oidc.redirect_uri;
            if redirect.path() != CALLBACK_PATH {
                found.push(StartupWarning {
                    finding: Finding::RedirectPath,
                    what: format!("OIDC_REDIRECT_URI ({redirect}) is not romgate's callback path {CALLBACK_PATH}"),
                    fix: format!(
                        "set OIDC_REDIRECT_URI={base}{CALLBACK_PATH} and register the same URI at the provider"
                    ),
                });
            }
            if redirect.origin() != self.base_url.origin() {
                found.push(StartupWarning {
                    finding: Finding::RedirectOrigin,
                    what: format!("OIDC_REDIRECT_URI ({redirect}) is on another origin than ROMM_BASE_URL ({base})"),
                    fix: "the sign-in cookie is only sent back to the origin people open: use the same scheme, \
                          host and port in both"
                        .into(),
                });
            }
        }
        let base_port = self.base_url.port_or_known_default();
        if self.trusted_proxies.is_empty() && base_port.is_some_and(|port| port != self.port) {
            let base_port = base_port.unwrap_or_default();
            found.push(StartupWarning {
                finding: Finding::PortMismatch,
                what: format!(
                    "romgate listens on port {} (ROMM_PORT), but ROMM_BASE_URL ({base}) is on port {base_port}",
                    self.port
                ),
                fix: format!(
                    "if no reverse proxy is in front, people reach romgate at port {} and links and sign-in \
                     redirects point at the wrong one: make ROMM_BASE_URL use port {}; behind a reverse proxy this \
                     is expected (set ROMGATE_TRUSTED_PROXIES to its address and this hint goes away)",
                    self.port, self.port
                ),
            });
        }
        if self.disable_download_endpoint_auth {
            found.push(StartupWarning {
                finding: Finding::PublicDownloads,
                what: "DISABLE_DOWNLOAD_ENDPOINT_AUTH is true: anyone who reaches romgate can read every ROM's \
                       details and download its file, without signing in"
                    .into(),
                fix: "keep it only behind a reverse proxy that authenticates or allows only your addresses; for \
                      clients that cannot send an Authorization header, prefer download links \
                      (POST /api/roms/{id}/download-link) and unset it"
                    .into(),
            });
        }
        if self.disable_csrf_protection {
            found.push(StartupWarning {
                finding: Finding::NoCsrfProtection,
                what: "DISABLE_CSRF_PROTECTION is true: any web page a signed-in person visits can change \
                       things with their session (upload, delete, manage users)"
                    .into(),
                fix: "unset it; apps that send a token or a password are not subject to the check".into(),
            });
        }
        if !self.secure_cookies && self.base_url.scheme() == "https" {
            found.push(StartupWarning {
                finding: Finding::InsecureCookies,
                what: format!(
                    "ROMM_SESSION_SECURE_COOKIE is false while ROMM_BASE_URL ({base}) is https: the session \
                     cookie is also sent over plain http, where anyone on the network can read it"
                ),
                fix: "unset ROMM_SESSION_SECURE_COOKIE (it follows ROMM_BASE_URL's scheme)".into(),
            });
        }
        found
    }
}

/// Logs one warning line per finding (the server goes on).
pub fn log_startup_warnings(config: &Config) {
    for warning in config.startup_warnings() {
        tracing::warn!("configuration warning: {warning}");
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Config {
        let mut vars: HashMap<String, String> = [
            ("OIDC_ENABLED", "true"),
            ("OIDC_CLIENT_ID", "romgate"),
            ("OIDC_CLIENT_SECRET", "s3cret"),
            ("OIDC_SERVER_APPLICATION_URL", "https://auth.example.com"),
            ("ROMM_BASE_URL", "http://localhost:8080"),
            ("OIDC_REDIRECT_URI", "http://localhost:8080/api/oauth/openid"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        vars.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Config::from_vars(vars).expect("valid")
    }

    fn findings(pairs: &[(&str, &str)]) -> Vec<Finding> {
        config(pairs).startup_warnings().iter().map(|w| w.finding).collect()
    }

    #[test]
    fn a_matching_configuration_has_no_findings() {
        assert!(findings(&[]).is_empty());
        let https = [
            ("ROMM_BASE_URL", "https://romm.example.com/"),
            ("OIDC_REDIRECT_URI", "https://romm.example.com/api/oauth/openid"),
            ("ROMM_PORT", "443"),
        ];
        assert!(findings(&https).is_empty());
    }

    #[test]
    fn a_redirect_uri_elsewhere_is_named_with_the_uri_to_set() {
        let warnings = config(&[("OIDC_REDIRECT_URI", "http://127.0.0.1:8080/callback")]).startup_warnings();
        let kinds: Vec<Finding> = warnings.iter().map(|w| w.finding).collect();
        assert_eq!(kinds, [Finding::RedirectPath, Finding::RedirectOrigin]);
        assert!(
            warnings[0]
                .fix
                .contains("OIDC_REDIRECT_URI=http://localhost:8080/api/oauth/openid"),
            "{}",
            warnings[0]
        );
        assert!(warnings[1].what.contains("ROMM_BASE_URL"), "{}", warnings[1]);
    }

    #[test]
    fn a_port_other_than_the_base_urls_is_a_hint_unless_a_proxy_is_configured() {
        let behind = [
            ("ROMM_BASE_URL", "https://romm.example.com"),
            ("OIDC_REDIRECT_URI", "https://romm.example.com/api/oauth/openid"),
        ];
        let warnings = config(&behind).startup_warnings();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(warnings[0].finding, Finding::PortMismatch);
        assert!(warnings[0].what.contains("port 8080 (ROMM_PORT)") && warnings[0].what.contains("on port 443"));
        assert!(
            warnings[0].fix.starts_with("if no reverse proxy is in front"),
            "{}",
            warnings[0]
        );
        let mut proxied = behind.to_vec();
        proxied.push(("ROMGATE_TRUSTED_PROXIES", "10.0.0.2"));
        assert!(findings(&proxied).is_empty());
        assert_eq!(findings(&[("ROMM_PORT", "9000")]), [Finding::PortMismatch]);
    }

    #[test]
    fn public_downloads_are_warned_about() {
        let public = config(&[("DISABLE_DOWNLOAD_ENDPOINT_AUTH", "true")]).startup_warnings();
        let kinds: Vec<Finding> = public.iter().map(|w| w.finding).collect();
        assert_eq!(kinds, [Finding::PublicDownloads]);
        assert!(
            public[0].what.contains("download its file, without signing in"),
            "{}",
            public[0]
        );
        assert!(findings(&[("DISABLE_DOWNLOAD_ENDPOINT_AUTH", "false")]).is_empty());
    }

    #[test]
    fn settings_that_weaken_the_browser_protections_are_warned_about() {
        assert_eq!(
            findings(&[("DISABLE_CSRF_PROTECTION", "yes")]),
            [Finding::NoCsrfProtection]
        );
        let https = [
            ("ROMM_BASE_URL", "https://romm.example.com"),
            ("OIDC_REDIRECT_URI", "https://romm.example.com/api/oauth/openid"),
            ("ROMM_PORT", "443"),
        ];
        let mut plain_cookies = https.to_vec();
        plain_cookies.push(("ROMM_SESSION_SECURE_COOKIE", "false"));
        let warnings = config(&plain_cookies).startup_warnings();
        let kinds: Vec<Finding> = warnings.iter().map(|w| w.finding).collect();
        assert_eq!(kinds, [Finding::InsecureCookies]);
        assert!(
            warnings[0].fix.contains("unset ROMM_SESSION_SECURE_COOKIE"),
            "{}",
            warnings[0]
        );
        // Over plain http the flag could not be kept anyway.
        assert!(findings(&[("ROMM_SESSION_SECURE_COOKIE", "false")]).is_empty());
    }

    #[test]
    fn without_single_sign_on_only_the_port_is_looked_at() {
        let config = Config::from_vars(HashMap::from([("ROMM_PORT".to_string(), "9000".to_string())])).expect("valid");
        let kinds: Vec<Finding> = config.startup_warnings().iter().map(|w| w.finding).collect();
        assert_eq!(kinds, [Finding::PortMismatch]);
    }
}
