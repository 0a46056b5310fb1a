//! `romgate oidc check`: the configuration checked against the live
//! provider, one line per check with a fix hint — the mistakes RomM users
//! report most (no scheme, the authorization URL given as the application
//! URL, unverified emails, redirect URIs that do not point back here).

use openidconnect::ResponseTypes;
use openidconnect::core::{CoreClaimName, CoreClientAuthMethod, CoreResponseType};

use super::check_client::check_client_credentials;
pub use super::check_line::{CheckLine, Outcome};
use super::client::requested_scopes;
use super::discovery::Metadata;
use super::issuer::{issuer_matches, mismatch_hint};
use super::provider_http::{ProviderHttp, read_ca_bundle};
use super::reach;
use crate::config::{Config, Finding, OidcConfig};

struct Report(Vec<CheckLine>);

impl Report {
    fn add(&mut self, outcome: Outcome, what: impl Into<String>, fix: Option<String>) {
        self.0.push(CheckLine {
            outcome,
            what: what.into(),
            fix,
        });
    }
    fn pass(&mut self, what: impl Into<String>) {
        self.add(Outcome::Pass, what, None);
    }
    fn warn(&mut self, what: impl Into<String>, fix: impl Into<String>) {
        self.add(Outcome::Warn, what, Some(fix.into()));
    }
    fn fail(&mut self, what: impl Into<String>, fix: impl Into<String>) {
        self.add(Outcome::Fail, what, Some(fix.into()));
    }
    fn check(&mut self, ok: bool, what: impl Into<String>, fix: impl Into<String>) {
        if ok { self.pass(what) } else { self.fail(what, fix) }
    }
}

/// Runs every check; the caller prints the lines and fails on any ✗.
pub async fn run(config: &Config) -> Vec<CheckLine> {
    let mut report = Report(Vec::new());
    check_fail_closed(&mut report, config);
    check_unknown_variables(&mut report, config);
    check_startup_warnings(&mut report, config);
    let Some(oidc) = &config.oidc else {
        report.fail("OIDC_ENABLED is true", "set OIDC_ENABLED=true and the OIDC_* variables");
        return report.0;
    };
    report.pass(format!("URLs have a scheme (discovery at {})", oidc.metadata_url));
    if let Some(path) = &oidc.tls_ca_cert_file {
        match read_ca_bundle(path) {
            Ok(certs) => report.pass(format!("OIDC_TLS_CACERTFILE parses ({} certificate(s))", certs.len())),
            Err(e) => report.fail(
                format!("OIDC_TLS_CACERTFILE parses: {e}"),
                "give a PEM bundle of CA certificates",
            ),
        }
    }
    let http = match ProviderHttp::new(oidc) {
        Ok(http) => http,
        Err(e) => {
            report.fail(format!("HTTP client: {e}"), "check OIDC_TLS_CACERTFILE");
            return report.0;
        }
    };
    let metadata: Metadata = match http.get_json(oidc.metadata_url.as_str()).await {
        Ok(metadata) => metadata,
        Err(e) => {
            report.fail(
                format!("discovery answers with JSON: {e}"),
                reach::hint(&e, oidc.metadata_url_from, &oidc.metadata_url),
            );
            return report.0;
        }
    };
    report.pass("discovery answers with JSON");
    check_issuer(&mut report, oidc, &metadata);
    check_keys(&mut report, &http, &metadata).await;
    check_capabilities(&mut report, oidc, &metadata);
    report.0.push(check_client_credentials(oidc, &metadata, &http).await);
    report.0
}

/// The settings that stop the server at start (see
/// `Config::fail_closed_problems`), each a failed line, so the check never
/// passes a configuration the server would refuse.
fn check_fail_closed(report: &mut Report, config: &Config) {
    for problem in config.fail_closed_problems() {
        report.fail(
            problem,
            "set OIDC_CLAIM_ROLES (for example groups, or realm_access.roles on Keycloak) and run the check again",
        );
    }
    if let Some(oidc) = &config.oidc
        && let Some(claim) = &oidc.claim_roles
        && [&oidc.role_viewer, &oidc.role_editor, &oidc.role_admin]
            .iter()
            .any(|role| role.is_some())
    {
        report.pass(format!(
            "OIDC_ROLE_* are mapped from the claim OIDC_CLAIM_ROLES={claim}"
        ));
    }
}

/// Variables that look like romgate's but are not read: a warning each (a
/// misspelt one with the name it probably meant).
fn check_unknown_variables(report: &mut Report, config: &Config) {
    for finding in &config.unknown_variables {
        let fix = match finding.suggestion() {
            Some(known) => format!("rename it to {known}"),
            None => "remove it, or keep it for RomM; romgate ignores it".to_string(),
        };
        report.warn(finding.to_string(), fix);
    }
}

/// The findings the server logs at start (`Config::startup_warnings`): a
/// redirect URI off the callback path fails (sign-in cannot finish), the
/// others warn.
fn check_startup_warnings(report: &mut Report, config: &Config) {
    let warnings = config.startup_warnings();
    for warning in &warnings {
        let outcome = match warning.finding {
            Finding::RedirectPath => Outcome::Fail,
            Finding::RedirectOrigin
            | Finding::PortMismatch
            | Finding::PublicDownloads
            | Finding::NoCsrfProtection
            | Finding::InsecureCookies => Outcome::Warn,
        };
        report.add(outcome, warning.what.clone(), Some(warning.fix.clone()));
    }
    if let Some(oidc) = &config.oidc
        && !warnings.iter().any(|w| w.finding == Finding::RedirectPath)
    {
        report.pass(format!(
            "OIDC_REDIRECT_URI points at the callback path ({})",
            oidc.redirect_uri
        ));
    }
}

/// OpenID Connect Discovery §4.3: the issuer must be the metadata URL minus
/// its well-known suffix; sign-in refuses otherwise (`issuer::issuer_matches`).
fn check_issuer(report: &mut Report, oidc: &OidcConfig, metadata: &Metadata) {
    let issuer = metadata.issuer().as_str();
    if issuer_matches(issuer, &oidc.metadata_url) {
        report.pass(format!("the issuer ({issuer}) matches the discovery URL"));
    } else {
        report.fail(
            format!(
                "the issuer ({issuer}) does not match the discovery URL ({})",
                oidc.metadata_url
            ),
            mismatch_hint(issuer, &oidc.metadata_url),
        );
    }
}

async fn check_keys(report: &mut Report, http: &ProviderHttp, metadata: &Metadata) {
    let url = metadata.jwks_uri().url().as_str();
    match http.get_json::<openidconnect::core::CoreJsonWebKeySet>(url).await {
        Ok(keys) if !keys.keys().is_empty() => {
            report.pass(format!("signing keys (JWKS) answer with {} key(s)", keys.keys().len()))
        }
        Ok(_) => report.fail(
            "signing keys (JWKS) contain a key",
            "the provider publishes no signing key",
        ),
        Err(e) => report.fail(
            format!("signing keys (JWKS) answer: {e}"),
            "check the provider's jwks_uri",
        ),
    }
}

fn check_capabilities(report: &mut Report, oidc: &OidcConfig, metadata: &Metadata) {
    let code = ResponseTypes::new(vec![CoreResponseType::Code]);
    report.check(
        metadata.response_types_supported().contains(&code),
        "the `code` flow is supported",
        "enable the authorization code flow for this client at the provider",
    );
    let methods = metadata.token_endpoint_auth_methods_supported();
    let auth_ok = methods.is_none_or(|m| {
        m.contains(&CoreClientAuthMethod::ClientSecretBasic) || m.contains(&CoreClientAuthMethod::ClientSecretPost)
    });
    report.check(
        auth_ok,
        "client_secret_basic or client_secret_post is supported",
        "make the client confidential (with a secret)",
    );
    match &metadata.additional_metadata().code_challenge_methods_supported {
        Some(methods) if methods.iter().any(|m| m == "S256") => report.pass("PKCE S256 is supported"),
        Some(_) => report.fail("PKCE S256 is supported", "enable PKCE with S256 for this client"),
        None => report.warn(
            "PKCE S256 is not advertised",
            "most providers accept it anyway; sign-in will tell",
        ),
    }
    let scopes = requested_scopes(oidc);
    match metadata.scopes_supported() {
        Some(supported) => {
            let names: Vec<&str> = supported.iter().map(|s| s.as_str()).collect();
            let missing: Vec<&String> = scopes.iter().filter(|s| !names.contains(&s.as_str())).collect();
            if missing.is_empty() {
                report.pass(format!("the scopes we send are supported ({})", scopes.join(" ")));
            } else {
                let list: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
                report.warn(
                    format!("scopes not advertised: {}", list.join(", ")),
                    "allow them for this client at the provider",
                );
            }
        }
        None => report.warn(
            "the provider does not list its scopes",
            "make sure openid, profile and email are allowed",
        ),
    }
    let claims: Vec<String> = metadata
        .claims_supported()
        .map(|c| c.iter().map(|n: &CoreClaimName| n.as_str().to_string()).collect())
        .unwrap_or_default();
    if let Some(roles) = &oidc.claim_roles {
        let top = roles.split('.').next().unwrap_or(roles);
        if claims.iter().any(|c| c == roles || c == top) {
            report.pass(format!("the roles claim {roles} is advertised"));
        } else {
            report.warn(
                format!("the roles claim {roles} is not advertised"),
                "add it to the client's claims or scopes at the provider",
            );
        }
    }
    if claims.iter().any(|c| c == "email_verified") {
        report.pass("email_verified is advertised");
    } else {
        report.warn(
            "email_verified is not advertised",
            "emails will be trusted for linking without proof; prefer a provider that sends email_verified",
        );
    }
    if oidc.rp_initiated_logout {
        let discovered = metadata.additional_metadata().end_session_endpoint.is_some();
        report.check(
            oidc.end_session_endpoint.is_some() || discovered,
            "an end-session endpoint exists for RP-initiated logout",
            "set OIDC_END_SESSION_ENDPOINT, or turn OIDC_RP_INITIATED_LOGOUT off",
        );
    }
}

/// True when no line failed.
pub fn passed(lines: &[CheckLine]) -> bool {
    lines.iter().all(|line| line.outcome != Outcome::Fail)
}
