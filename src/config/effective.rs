//! The effective configuration, for `romgate config`: every variable
//! romgate reads, the value it runs with and where that came from. Guarantee:
//! no secret is ever part of it. The secret variables show only whether they
//! are set, and any URL's password (a database URL's, or one typed into
//! another URL) is replaced by `***`.

use std::collections::HashMap;
use std::fmt;

use url::Url;

use super::{Config, KNOWN_VARIABLES};

/// Variables whose value is a secret: shown as set or not, never as text.
const SECRET_VARIABLES: &[&str] = &["DB_PASSWD", "OIDC_CLIENT_SECRET", "ROMM_AUTH_SECRET_KEY"];

/// Read before the configuration (by the logging), so not in
/// `KNOWN_VARIABLES`, but read all the same.
const LOGGING_VARIABLES: &[&str] = &["RUST_LOG"];

/// Where a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Set in the environment.
    Env,
    /// Not set: romgate's default (possibly derived from other variables).
    Default,
    /// Not set, and nothing stands in for it.
    Unset,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Env => "env",
            Source::Default => "default",
            Source::Unset => "unset",
        })
    }
}

/// One variable as romgate runs with it.
#[derive(Debug, Clone)]
pub struct Setting {
    pub name: &'static str,
    /// Masked where secret; empty when unset.
    pub value: String,
    pub source: Source,
}

impl Config {
    /// Every variable romgate reads, sorted by name. `vars` is the
    /// environment this configuration was read from.
    pub fn effective(&self, vars: &HashMap<String, String>) -> Vec<Setting> {
        let mut names: Vec<&'static str> = KNOWN_VARIABLES.iter().chain(LOGGING_VARIABLES).copied().collect();
        names.sort_unstable();
        names
            .into_iter()
            .map(|name| {
                let raw = vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
                let (value, source) = match (raw, self.held_value(name)) {
                    (Some(raw), held) => (held.unwrap_or_else(|| raw.to_string()), Source::Env),
                    (None, Some(held)) => (held, Source::Default),
                    (None, None) => match unread_default(name) {
                        Some(default) => (default.to_string(), Source::Default),
                        None => (String::new(), Source::Unset),
                    },
                };
                let value = if SECRET_VARIABLES.contains(&name) && source == Source::Env {
                    "*** (set)".to_string()
                } else {
                    without_password(&value)
                };
                Setting { name, value, source }
            })
            .collect()
    }

    /// The value romgate runs with for `name`, as the validated
    /// configuration holds it (a URL, a number, a default derived from
    /// other variables); `None` for what it does not hold.
    fn held_value(&self, name: &str) -> Option<String> {
        let oidc = self.oidc.as_ref();
        let value = match name {
            "DATABASE_URL" => self.database.redacted(),
            "DISABLE_CSRF_PROTECTION" => self.disable_csrf_protection.to_string(),
            "DISABLE_SETUP_WIZARD" => self.disable_setup_wizard.to_string(),
            "DISABLE_USERPASS_LOGIN" => self.disable_userpass_login.to_string(),
            "OAUTH_ACCESS_TOKEN_EXPIRE_SECONDS" => self.access_token_expire_seconds.to_string(),
            "OAUTH_REFRESH_TOKEN_EXPIRE_SECONDS" => self.refresh_token_expire_seconds.to_string(),
            "SESSION_MAX_AGE_SECONDS" => self.session_max_age_seconds.to_string(),
            "OIDC_ENABLED" => oidc.is_some().to_string(),
            "ROMGATE_LISTEN_ADDRESS" => self.listen_address.to_string(),
            "ROMGATE_MAX_CONNECTIONS" => self.max_connections.to_string(),
            "ROMGATE_MAX_UPLOAD_BYTES" => self.max_upload_bytes.to_string(),
            "ROMGATE_METRICS_ADDR" => self.metrics_address?.to_string(),
            "ROMGATE_TRUSTED_PROXIES" => {
                let list: Vec<String> = self.trusted_proxies.iter().map(ToString::to_string).collect();
                return (!list.is_empty()).then(|| list.join(","));
            }
            "ROMM_AUTH_SECRET_KEY" if self.database.is_postgres() => "generated, kept in the database".into(),
            "ROMM_AUTH_SECRET_KEY" => format!(
                "generated, kept in {}",
                self.data_path.join("auth_secret_key").display()
            ),
            "ROMM_BASE_URL" => self.base_url.to_string(),
            "ROMM_DATA_PATH" => self.data_path.display().to_string(),
            "ROMM_LIBRARY_PATH" => self.library_path.display().to_string(),
            "ROMM_PORT" => self.port.to_string(),
            "ROMM_SESSION_SECURE_COOKIE" => self.secure_cookies.to_string(),
            _ => return oidc.and_then(|o| oidc_default(o, name)),
        };
        Some(value)
    }
}

/// The defaults of what the configuration reads only to build another
/// value (the DB_* parts of a database URL) or what the logging reads.
fn unread_default(name: &str) -> Option<&'static str> {
    match name {
        "DB_HOST" => Some("127.0.0.1"),
        "DB_PORT" => Some("5432"),
        "DB_USER" | "DB_NAME" => Some("romm"),
        "ROMM_DB_DRIVER" => Some("sqlite"),
        "ROMGATE_LOG_FORMAT" => Some("text"),
        "RUST_LOG" => Some("info"),
        _ => None,
    }
}

/// The single sign-on settings, when OIDC_ENABLED (otherwise unread).
fn oidc_default(oidc: &super::OidcConfig, name: &str) -> Option<String> {
    let value = match name {
        "OIDC_PROVIDER" => oidc.provider_name.clone(),
        "OIDC_AUTOLOGIN" => oidc.autologin.to_string(),
        "OIDC_ALLOW_REGISTRATION" => oidc.allow_registration.to_string(),
        "OIDC_USERNAME_ATTRIBUTE" => oidc.username_attribute.clone(),
        "OIDC_RP_INITIATED_LOGOUT" => oidc.rp_initiated_logout.to_string(),
        "OIDC_SERVER_METADATA_URL" => oidc.metadata_url.to_string(),
        "OIDC_END_SESSION_ENDPOINT" => oidc.end_session_endpoint.as_ref()?.to_string(),
        _ => return None,
    };
    Some(value)
}

/// `value` with the password of a URL in it replaced by `***`.
fn without_password(value: &str) -> String {
    match Url::parse(value) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn setting<'a>(settings: &'a [Setting], name: &str) -> &'a Setting {
        settings.iter().find(|s| s.name == name).expect("listed")
    }

    #[test]
    fn every_variable_is_listed_with_its_source() {
        let env = vars(&[("ROMM_PORT", "9000"), ("ROMGATE_METRICS_ADDR", "127.0.0.1:9898")]);
        let config = Config::from_vars(env.clone()).expect("valid");
        let settings = config.effective(&env);
        assert_eq!(settings.len(), KNOWN_VARIABLES.len() + LOGGING_VARIABLES.len());
        let port = setting(&settings, "ROMM_PORT");
        assert_eq!((port.value.as_str(), port.source), ("9000", Source::Env));
        let age = setting(&settings, "SESSION_MAX_AGE_SECONDS");
        assert_eq!((age.value.as_str(), age.source), ("1209600", Source::Default));
        let metrics = setting(&settings, "ROMGATE_METRICS_ADDR");
        assert_eq!(metrics.value, "127.0.0.1:9898");
        assert_eq!(setting(&settings, "OIDC_CLIENT_ID").source, Source::Unset);
    }

    #[test]
    fn secrets_are_never_shown() {
        let env = vars(&[
            ("DATABASE_URL", "postgres://romm:db-pass-1@db/romm"),
            ("ROMM_AUTH_SECRET_KEY", "key-text-2"),
            ("OIDC_ENABLED", "true"),
            ("OIDC_CLIENT_ID", "romgate"),
            ("OIDC_CLIENT_SECRET", "client-secret-3"),
            ("OIDC_REDIRECT_URI", "http://localhost:8080/api/oauth/openid"),
            (
                "OIDC_SERVER_APPLICATION_URL",
                "https://user:url-pass-4@auth.example.com",
            ),
        ]);
        let config = Config::from_vars(env.clone()).expect("valid");
        let shown = format!("{:?}", config.effective(&env));
        for secret in ["db-pass-1", "key-text-2", "client-secret-3", "url-pass-4"] {
            assert!(!shown.contains(secret), "{secret} shown: {shown}");
        }
        assert!(shown.contains("postgres://romm:***@db/romm"), "{shown}");
    }
}
