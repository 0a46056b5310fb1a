//! Configuration: the environment (RomM's variable names) turned into one
//! validated struct. Every problem is collected and reported at once, one line
//! per variable, so the operator fixes everything in a single try.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use url::Url;

use crate::secret::Secret;

mod database_url;
pub use database_url::DatabaseUrl;
mod fail_closed;
mod warnings;
pub use warnings::{CALLBACK_PATH, Finding, StartupWarning, log_startup_warnings};
mod effective;
pub use effective::{Setting, Source};
mod unknown;
pub use unknown::{UnknownVariable, log_unknown_variables, unknown_variables};

/// Every variable romgate reads. Other romgate-looking variables
/// (`ROMM_*`, `OIDC_*`, `ROMGATE_*`, `DB_*`, `DISABLE_*`) are named at start with the
/// closest of these (see `unknown`). Add each new variable here.
pub const KNOWN_VARIABLES: &[&str] = &[
    "DATABASE_URL",
    "DB_HOST",
    "DB_NAME",
    "DB_PASSWD",
    "DB_PORT",
    "DB_USER",
    "DISABLE_CSRF_PROTECTION",
    "DISABLE_DOWNLOAD_ENDPOINT_AUTH",
    "DISABLE_SETUP_WIZARD",
    "DISABLE_USERPASS_LOGIN",
    "OAUTH_ACCESS_TOKEN_EXPIRE_SECONDS",
    "OAUTH_REFRESH_TOKEN_EXPIRE_SECONDS",
    "OIDC_ALLOW_REGISTRATION",
    "OIDC_AUTOLOGIN",
    "OIDC_CLAIM_ROLES",
    "OIDC_CLIENT_ID",
    "OIDC_CLIENT_SECRET",
    "OIDC_ENABLED",
    "OIDC_END_SESSION_ENDPOINT",
    "OIDC_POST_LOGOUT_REDIRECT_URI",
    "OIDC_PROVIDER",
    "OIDC_REDIRECT_URI",
    "OIDC_ROLE_ADMIN",
    "OIDC_ROLE_EDITOR",
    "OIDC_ROLE_VIEWER",
    "OIDC_RP_INITIATED_LOGOUT",
    "OIDC_SERVER_APPLICATION_URL",
    "OIDC_SERVER_METADATA_URL",
    "OIDC_TLS_CACERTFILE",
    "OIDC_USERNAME_ATTRIBUTE",
    "ROMGATE_DOWNLOAD_LINK_SECONDS",
    "ROMGATE_LISTEN_ADDRESS",
    "ROMGATE_LOG_FORMAT",
    "ROMGATE_MAX_CONNECTIONS",
    "ROMGATE_MAX_UPLOAD_BYTES",
    "ROMGATE_METRICS_ADDR",
    "ROMGATE_TRUSTED_PROXIES",
    "ROMM_AUTH_SECRET_KEY",
    "ROMM_BASE_URL",
    "ROMM_DATA_PATH",
    "ROMM_DB_DRIVER",
    "ROMM_LIBRARY_PATH",
    "ROMM_PORT",
    "ROMM_SESSION_SECURE_COOKIE",
    "SESSION_MAX_AGE_SECONDS",
];

/// 4 GiB: a DVD image fits.
const DEFAULT_MAX_UPLOAD_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// How long a download link lives unless ROMGATE_DOWNLOAD_LINK_SECONDS
/// says otherwise, and the bounds it may say: a link is a secret in a URL
/// (in a browser's history, a QR code, a client's log), so it lives for
/// minutes, not days.
const DEFAULT_DOWNLOAD_LINK_SECONDS: i64 = 15 * 60;
const DOWNLOAD_LINK_SECONDS_RANGE: std::ops::RangeInclusive<i64> = 60..=86_400;

/// Fits the common open-file limit of 1024 (systemd services, Docker)
/// with room to spare: a connection may hold a socket and a ROM file.
const DEFAULT_MAX_CONNECTIONS: u64 = 256;

/// Everything romgate reads from the environment, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub base_url: Url,
    /// The address to listen on (ROMGATE_LISTEN_ADDRESS); all IPv4
    /// interfaces unless set.
    pub listen_address: IpAddr,
    pub port: u16,
    /// Connections served at once (ROMGATE_MAX_CONNECTIONS); see `web::server`.
    pub max_connections: usize,
    pub data_path: PathBuf,
    pub library_path: PathBuf,
    /// Largest ROM upload accepted (ROMGATE_MAX_UPLOAD_BYTES).
    pub max_upload_bytes: u64,
    /// Where Prometheus metrics are served (ROMGATE_METRICS_ADDR): their
    /// own listener, never the public port; `None` (the default): off.
    pub metrics_address: Option<SocketAddr>,
    /// `None`: generate once and persist under the data dir (see `secret_key`).
    pub auth_secret_key: Option<Secret>,
    pub database: DatabaseUrl,
    pub session_max_age_seconds: i64,
    pub secure_cookies: bool,
    pub access_token_expire_seconds: i64,
    pub refresh_token_expire_seconds: i64,
    pub disable_userpass_login: bool,
    pub disable_csrf_protection: bool,
    pub disable_setup_wizard: bool,
    /// RomM's DISABLE_DOWNLOAD_ENDPOINT_AUTH: a ROM's details and its file
    /// (`GET /api/roms/{id}`, `GET|HEAD /api/roms/{id}/content/{name}`)
    /// answer anyone, signed in or not. Warned about at start.
    pub disable_download_endpoint_auth: bool,
    /// How long a download link lives (ROMGATE_DOWNLOAD_LINK_SECONDS).
    pub download_link_seconds: i64,
    /// Reverse proxies whose X-Forwarded-For is believed
    /// (ROMGATE_TRUSTED_PROXIES); empty: the connection's address is the
    /// client's.
    pub trusted_proxies: Vec<IpAddr>,
    pub oidc: Option<OidcConfig>,
    /// Set variables that look like romgate's but are not read (typos,
    /// RomM-only settings): named at start and by `oidc check`.
    pub unknown_variables: Vec<UnknownVariable>,
    /// Those of them that misspell a switch meant to close something, one
    /// problem each (see `fail_closed`).
    misspelt_closing_switches: Vec<String>,
}

/// The OpenID Connect settings, present only when `OIDC_ENABLED` is true.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    pub provider_name: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub redirect_uri: Url,
    /// The discovery document's URL (from the metadata URL, or derived from the
    /// application URL).
    pub metadata_url: Url,
    /// The variable `metadata_url` came from (OIDC_SERVER_METADATA_URL, or
    /// OIDC_SERVER_APPLICATION_URL plus the well-known path), so a hint
    /// names the one the operator actually set.
    pub metadata_url_from: &'static str,
    pub autologin: bool,
    pub allow_registration: bool,
    pub username_attribute: String,
    pub claim_roles: Option<String>,
    pub role_viewer: Option<String>,
    pub role_editor: Option<String>,
    pub role_admin: Option<String>,
    pub tls_ca_cert_file: Option<PathBuf>,
    pub rp_initiated_logout: bool,
    pub end_session_endpoint: Option<Url>,
    pub post_logout_redirect_uri: Option<Url>,
}

/// All the problems found in the environment, one line each.
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<String>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.0 {
            writeln!(f, "configuration error: {line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigErrors> {
        Self::from_vars(process_vars()?)
    }

    /// Reads a given set of variables (tests pass their own map).
    pub fn from_vars(vars: HashMap<String, String>) -> Result<Self, ConfigErrors> {
        let (config, mut errors) = Self::read(vars);
        errors.extend(config.fail_closed_problems());
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// For `romgate oidc check`: like `from_vars`, but the settings that
    /// would stop the server by `fail_closed_problems` do not stop the check,
    /// which reports them as failed lines instead.
    pub fn from_vars_for_check(vars: HashMap<String, String>) -> Result<Self, ConfigErrors> {
        let (config, errors) = Self::read(vars);
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// The process environment, for `romgate oidc check`.
    pub fn from_env_for_check() -> Result<Self, ConfigErrors> {
        Self::from_vars_for_check(process_vars()?)
    }

    fn read(vars: HashMap<String, String>) -> (Self, Vec<String>) {
        let unknown = unknown_variables(vars.keys().map(String::as_str));
        let mut env = Env {
            vars,
            errors: Vec::new(),
        };
        let mut config = env.read_config();
        config.misspelt_closing_switches = fail_closed::misspelt_closing_switches(&unknown, &env.vars);
        config.unknown_variables = unknown;
        (config, env.errors)
    }
}

/// The process environment as text. `std::env::vars` would panic on a
/// variable that is not UTF-8: one of romgate's (or one that looks like it)
/// is a problem named here; anyone else's is left out.
pub fn process_vars() -> Result<HashMap<String, String>, ConfigErrors> {
    let mut vars = HashMap::new();
    let mut problems = Vec::new();
    for (name, value) in std::env::vars_os() {
        match (name.into_string(), value.into_string()) {
            (Ok(name), Ok(value)) => {
                vars.insert(name, value);
            }
            (Ok(name), Err(_)) if KNOWN_VARIABLES.contains(&name.as_str()) || unknown::looks_like_ours(&name) => {
                problems.push(format!("{}: the value is not valid UTF-8 text", name.escape_debug()));
            }
            _ => {}
        }
    }
    if problems.is_empty() {
        Ok(vars)
    } else {
        Err(ConfigErrors(problems))
    }
}

/// Reads variables and collects problems instead of stopping at the first.
struct Env {
    vars: HashMap<String, String>,
    errors: Vec<String>,
}

impl Env {
    fn read_config(&mut self) -> Config {
        let base_url = self.base_url();
        let https = base_url.scheme() == "https";
        let data_path = PathBuf::from(self.string("ROMM_DATA_PATH").unwrap_or_else(|| "./data".into()));
        let database = self.database(&data_path);
        let refresh = self.seconds("OAUTH_REFRESH_TOKEN_EXPIRE_SECONDS", 604_800);
        self.check_log_format();
        let port = self.number("ROMM_PORT", 8080);
        Config {
            metrics_address: self.metrics_address(port),
            listen_address: self.address("ROMGATE_LISTEN_ADDRESS", IpAddr::from([0, 0, 0, 0])),
            port,
            max_connections: usize::try_from(self.positive("ROMGATE_MAX_CONNECTIONS", DEFAULT_MAX_CONNECTIONS))
                .unwrap_or(usize::MAX),
            library_path: PathBuf::from(self.string("ROMM_LIBRARY_PATH").unwrap_or_else(|| "./library".into())),
            max_upload_bytes: self.positive("ROMGATE_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES),
            auth_secret_key: self.string("ROMM_AUTH_SECRET_KEY").map(Secret::new),
            session_max_age_seconds: self.seconds("SESSION_MAX_AGE_SECONDS", 1_209_600),
            secure_cookies: self.boolean("ROMM_SESSION_SECURE_COOKIE", https),
            access_token_expire_seconds: self.seconds("OAUTH_ACCESS_TOKEN_EXPIRE_SECONDS", 1800),
            refresh_token_expire_seconds: refresh,
            disable_userpass_login: self.boolean("DISABLE_USERPASS_LOGIN", false),
            disable_csrf_protection: self.boolean("DISABLE_CSRF_PROTECTION", false),
            disable_setup_wizard: self.boolean("DISABLE_SETUP_WIZARD", false),
            disable_download_endpoint_auth: self.boolean("DISABLE_DOWNLOAD_ENDPOINT_AUTH", false),
            download_link_seconds: self.download_link_seconds(),
            trusted_proxies: self.addresses("ROMGATE_TRUSTED_PROXIES"),
            oidc: self.oidc(),
            unknown_variables: Vec::new(),
            misspelt_closing_switches: Vec::new(),
            base_url,
            data_path,
            database,
        }
    }

    fn oidc(&mut self) -> Option<OidcConfig> {
        if !self.boolean("OIDC_ENABLED", false) {
            return None;
        }
        let client_id = self.required("OIDC_CLIENT_ID", "the client ID your identity provider issued");
        let client_secret = self.required("OIDC_CLIENT_SECRET", "the client secret your identity provider issued");
        let redirect_uri = self.required_url("OIDC_REDIRECT_URI", "normally <ROMM_BASE_URL>/api/oauth/openid");
        let (metadata_url, metadata_url_from) = match self.metadata_url() {
            Some((url, from)) => (Some(url), from),
            None => (None, "OIDC_SERVER_METADATA_URL"),
        };
        let end_session_endpoint = self.url("OIDC_END_SESSION_ENDPOINT");
        let post_logout_redirect_uri = self.url("OIDC_POST_LOGOUT_REDIRECT_URI");
        let tls_ca_cert_file = self.string("OIDC_TLS_CACERTFILE").map(PathBuf::from);
        if let Some(path) = &tls_ca_cert_file
            && let Err(err) = std::fs::read(path)
        {
            self.errors.push(format!(
                "OIDC_TLS_CACERTFILE: cannot read {} ({err}); mount the PEM file or unset the variable",
                path.display()
            ));
        }
        Some(OidcConfig {
            provider_name: self.string("OIDC_PROVIDER").unwrap_or_default(),
            autologin: self.boolean("OIDC_AUTOLOGIN", false),
            allow_registration: self.boolean("OIDC_ALLOW_REGISTRATION", true),
            username_attribute: self
                .string("OIDC_USERNAME_ATTRIBUTE")
                .unwrap_or_else(|| "preferred_username".into()),
            claim_roles: self.string("OIDC_CLAIM_ROLES"),
            role_viewer: self.string("OIDC_ROLE_VIEWER"),
            role_editor: self.string("OIDC_ROLE_EDITOR"),
            role_admin: self.string("OIDC_ROLE_ADMIN"),
            rp_initiated_logout: self.boolean("OIDC_RP_INITIATED_LOGOUT", false),
            client_id: client_id.unwrap_or_default(),
            client_secret: Secret::new(client_secret.unwrap_or_default()),
            redirect_uri: redirect_uri.unwrap_or_else(|| default_url("http://localhost:8080/api/oauth/openid")),
            metadata_url: metadata_url.unwrap_or_else(|| default_url("http://localhost/")),
            metadata_url_from,
            tls_ca_cert_file,
            end_session_endpoint,
            post_logout_redirect_uri,
        })
    }

    /// ROMGATE_LOG_FORMAT is read by `logging::init`, before the
    /// configuration; checked here so a wrong value stops the start with the
    /// other problems, naming the variable.
    fn check_log_format(&mut self) {
        let raw = self.vars.get("ROMGATE_LOG_FORMAT").map(String::as_str);
        if let Err(problem) = crate::logging::LogFormat::parse(raw) {
            self.errors.push(problem);
        }
    }

    /// ROMM_BASE_URL: an origin only. Every route, cookie and redirect is at
    /// the root, so a path would make nothing work; refused until romgate
    /// can serve under one. A lone trailing `/` is the root.
    fn base_url(&mut self) -> Url {
        let Some(url) = self.url("ROMM_BASE_URL") else {
            return default_url("http://localhost:8080");
        };
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            self.errors.push(format!(
                "ROMM_BASE_URL: '{url}' has a path; romgate serves at the root of its origin; use a subdomain \
                 or a proxy that strips the prefix, and set ROMM_BASE_URL={}",
                url.origin().ascii_serialization()
            ));
        }
        url
    }

    /// OIDC_SERVER_METADATA_URL wins; else OIDC_SERVER_APPLICATION_URL plus the
    /// well-known path (a trailing slash tolerated). With the variable used.
    fn metadata_url(&mut self) -> Option<(Url, &'static str)> {
        if let Some(url) = self.url("OIDC_SERVER_METADATA_URL") {
            return Some((url, "OIDC_SERVER_METADATA_URL"));
        }
        if let Some(app) = self.url("OIDC_SERVER_APPLICATION_URL") {
            let base = app.as_str().trim_end_matches('/');
            let url = Url::parse(&format!("{base}/.well-known/openid-configuration")).ok()?;
            return Some((url, "OIDC_SERVER_APPLICATION_URL"));
        }
        // Set but not a URL was named by `url`; unset or empty is named here.
        if self.string("OIDC_SERVER_APPLICATION_URL").is_none() {
            self.errors.push(
                "OIDC_SERVER_METADATA_URL or OIDC_SERVER_APPLICATION_URL is required when OIDC_ENABLED=true \
                 (for example https://auth.example.com/.well-known/openid-configuration)"
                    .into(),
            );
        }
        None
    }

    /// DATABASE_URL, else RomM's DB_* variables, else SQLite in the data dir.
    fn database(&mut self, data_path: &std::path::Path) -> DatabaseUrl {
        if let Some(url) = self.string("DATABASE_URL") {
            let ok = ["sqlite:", "postgres://", "postgresql://"]
                .iter()
                .any(|p| url.starts_with(p));
            if !ok {
                self.errors.push(
                    "DATABASE_URL: must start with sqlite: or postgres:// (for example postgres://romm:secret@db/romm)"
                        .into(),
                );
            }
            return DatabaseUrl::new(url);
        }
        match self
            .string("ROMM_DB_DRIVER")
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("sqlite") => DatabaseUrl::new(format!("sqlite://{}", data_path.join("romgate.db").display())),
            Some("postgresql") | Some("postgres") => self.romm_postgres_url(),
            Some(other) => {
                self.errors.push(format!(
                    "ROMM_DB_DRIVER: '{other}' is not supported; use postgresql, or unset it for the embedded SQLite"
                ));
                DatabaseUrl::new("sqlite::memory:")
            }
        }
    }

    fn romm_postgres_url(&mut self) -> DatabaseUrl {
        let host = self.string("DB_HOST").unwrap_or_else(|| "127.0.0.1".into());
        let port: u16 = self.number("DB_PORT", 5432);
        let user = self.string("DB_USER").unwrap_or_else(|| "romm".into());
        let name = self.string("DB_NAME").unwrap_or_else(|| "romm".into());
        let mut url = default_url("postgres://localhost/");
        if url.set_host(Some(&host)).is_err() {
            self.errors.push(format!("DB_HOST: '{host}' is not a valid host name"));
        }
        let _ = url.set_port(Some(port));
        let _ = url.set_username(&user);
        if let Some(password) = self.string("DB_PASSWD") {
            let _ = url.set_password(Some(&password));
        }
        url.set_path(&name);
        DatabaseUrl::new(url.to_string())
    }

    /// A non-empty value, trimmed.
    fn string(&self, name: &str) -> Option<String> {
        self.vars
            .get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    fn required(&mut self, name: &str, what: &str) -> Option<String> {
        let value = self.string(name);
        if value.is_none() {
            self.errors
                .push(format!("{name} is required when OIDC_ENABLED=true ({what})"));
        }
        value
    }

    fn required_url(&mut self, name: &str, what: &str) -> Option<Url> {
        if self.string(name).is_none() {
            self.errors
                .push(format!("{name} is required when OIDC_ENABLED=true ({what})"));
            return None;
        }
        self.url(name)
    }

    /// An absolute http(s) URL; a missing scheme is the most common mistake.
    fn url(&mut self, name: &str) -> Option<Url> {
        let raw = self.string(name)?;
        match Url::parse(&raw) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Some(url),
            _ => {
                self.errors.push(format!(
                    "{name}: '{raw}' is not an absolute URL; include the scheme, for example https://{}",
                    raw.trim_start_matches("//")
                ));
                None
            }
        }
    }

    fn boolean(&mut self, name: &str, default: bool) -> bool {
        let Some(raw) = self.string(name) else {
            return default;
        };
        match parse_boolean(&raw) {
            Some(value) => value,
            None => {
                self.errors
                    .push(format!("{name}: '{raw}' is not a boolean; use true or false"));
                default
            }
        }
    }

    fn number<T: std::str::FromStr + Copy>(&mut self, name: &str, default: T) -> T {
        let Some(raw) = self.string(name) else {
            return default;
        };
        raw.parse().unwrap_or_else(|_| {
            self.errors.push(format!("{name}: '{raw}' is not a valid number"));
            default
        })
    }

    /// A comma-separated list of IP addresses.
    fn addresses(&mut self, name: &str) -> Vec<IpAddr> {
        let raw = self.string(name).unwrap_or_default();
        let mut addresses = Vec::new();
        for item in raw.split(',').map(str::trim).filter(|item| !item.is_empty()) {
            match item.parse::<IpAddr>() {
                Ok(address) => addresses.push(address.to_canonical()),
                Err(_) => self.errors.push(format!(
                    "{name}: '{item}' is not an IP address; list the reverse proxies' addresses separated by commas, for example 10.0.0.2,fd00::2"
                )),
            }
        }
        addresses
    }

    /// One IP address (IPv6 with or without brackets).
    fn address(&mut self, name: &str, default: IpAddr) -> IpAddr {
        let Some(raw) = self.string(name) else {
            return default;
        };
        let bare = raw.strip_prefix('[').and_then(|r| r.strip_suffix(']')).unwrap_or(&raw);
        bare.parse().unwrap_or_else(|_| {
            self.errors.push(format!(
                "{name}: '{raw}' is not an IP address; for example 0.0.0.0 (all IPv4), :: (all), 127.0.0.1 or 192.168.1.10"
            ));
            default
        })
    }

    /// ROMGATE_METRICS_ADDR: an address and port of its own. The metrics
    /// name routes and counts sign-ins, so they are never served on the
    /// public port (`port`).
    fn metrics_address(&mut self, port: u16) -> Option<SocketAddr> {
        let raw = self.string("ROMGATE_METRICS_ADDR")?;
        let Ok(address) = raw.parse::<SocketAddr>() else {
            self.errors.push(format!(
                "ROMGATE_METRICS_ADDR: '{raw}' is not an address and port; for example 127.0.0.1:9898 \
                 (or [::1]:9898)"
            ));
            return None;
        };
        if address.port() == port && port != 0 {
            self.errors.push(format!(
                "ROMGATE_METRICS_ADDR: port {port} is romgate's public port (ROMM_PORT); the metrics need a port \
                 of their own, for example 127.0.0.1:9898"
            ));
            return None;
        }
        Some(address)
    }

    /// A positive number (of bytes, for example).
    fn positive(&mut self, name: &str, default: u64) -> u64 {
        let value: u64 = self.number(name, default);
        if value == 0 {
            self.errors.push(format!("{name}: must be a positive number"));
            return default;
        }
        value
    }

    /// ROMGATE_DOWNLOAD_LINK_SECONDS, within `DOWNLOAD_LINK_SECONDS_RANGE`.
    fn download_link_seconds(&mut self) -> i64 {
        let name = "ROMGATE_DOWNLOAD_LINK_SECONDS";
        let value = self.seconds(name, DEFAULT_DOWNLOAD_LINK_SECONDS);
        if !DOWNLOAD_LINK_SECONDS_RANGE.contains(&value) {
            self.errors.push(format!(
                "{name}: {value} is outside {}..={} seconds (a minute to a day); a download link is a secret in a URL, \
                 keep it short-lived (default {DEFAULT_DOWNLOAD_LINK_SECONDS})",
                DOWNLOAD_LINK_SECONDS_RANGE.start(),
                DOWNLOAD_LINK_SECONDS_RANGE.end()
            ));
            return DEFAULT_DOWNLOAD_LINK_SECONDS;
        }
        value
    }

    /// A positive number of seconds.
    fn seconds(&mut self, name: &str, default: i64) -> i64 {
        let value: i64 = self.number(name, default);
        if value <= 0 {
            self.errors
                .push(format!("{name}: must be a positive number of seconds"));
            return default;
        }
        value
    }
}

/// Parses a URL literal that is known to be valid.
fn default_url(literal: &str) -> Url {
    Url::parse(literal).unwrap_or_else(|_| unreachable!("static URL literal {literal} parses"))
}

#[cfg(test)]
mod tests;

/// true/false/1/0/yes/no, in any case (SPEC 2); anything else is `None`.
fn parse_boolean(raw: &str) -> Option<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}
