//! `romgate oidc check` against a live (fake) provider.

use std::collections::HashMap;

use romgate::clock::ManualClock;
use romgate::config::Config;
use romgate::oidc::check::{self, CheckLine, Outcome};
use serde_json::json;

use crate::fake_idp::{CLIENT_ID, CLIENT_SECRET, FakeIdp};
use crate::util::START;

fn config(pairs: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<String, String> = [
        ("ROMM_BASE_URL", "http://localhost:8080"),
        ("OIDC_ENABLED", "true"),
        ("OIDC_CLIENT_ID", CLIENT_ID),
        ("OIDC_CLIENT_SECRET", CLIENT_SECRET),
        ("OIDC_REDIRECT_URI", "http://localhost:8080/api/oauth/openid"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in pairs {
        vars.insert(k.to_string(), v.to_string());
    }
    Config::from_vars(vars).expect("valid configuration")
}

fn line<'a>(lines: &'a [CheckLine], needle: &str) -> &'a CheckLine {
    lines
        .iter()
        .find(|l| l.what.contains(needle))
        .unwrap_or_else(|| panic!("no line about {needle}: {lines:#?}"))
}

#[tokio::test]
async fn a_good_provider_passes_every_check() {
    let idp = FakeIdp::start(ManualClock::new(START)).await;
    let lines = check::run(&config(&[
        ("OIDC_SERVER_APPLICATION_URL", &idp.base),
        ("OIDC_CLAIM_ROLES", "groups"),
        ("OIDC_RP_INITIATED_LOGOUT", "true"),
    ]))
    .await;
    assert!(check::passed(&lines), "{lines:#?}");
    for needle in [
        "discovery answers",
        "issuer",
        "signing keys",
        "`code` flow",
        "S256",
        "scopes we send",
        "roles claim groups",
        "email_verified",
        "end-session",
        "accepts OIDC_CLIENT_ID and OIDC_CLIENT_SECRET (client_secret_basic; it answered invalid_grant",
    ] {
        assert_eq!(line(&lines, needle).outcome, Outcome::Pass, "{needle}");
    }
    assert!(lines.iter().all(|l| l.to_string().starts_with('✓')), "{lines:#?}");
}

#[tokio::test]
async fn a_wrong_redirect_uri_and_missing_end_session_fail_with_fixes() {
    let idp = FakeIdp::start(ManualClock::new(START)).await;
    idp.override_discovery(json!({"end_session_endpoint": null, "claims_supported": ["sub", "email"]}));
    let lines = check::run(&config(&[
        ("OIDC_SERVER_METADATA_URL", &idp.metadata_url()),
        ("OIDC_REDIRECT_URI", "http://localhost:8080/callback"),
        ("OIDC_RP_INITIATED_LOGOUT", "true"),
    ]))
    .await;
    assert!(!check::passed(&lines));
    let redirect = line(&lines, "callback path");
    assert_eq!(redirect.outcome, Outcome::Fail);
    assert!(redirect.fix.as_deref().is_some_and(|f| f.contains("/api/oauth/openid")));
    assert_eq!(line(&lines, "end-session").outcome, Outcome::Fail);
    assert_eq!(line(&lines, "email_verified").outcome, Outcome::Warn);
}

#[tokio::test]
async fn an_authorization_url_given_as_the_application_url_fails_discovery() {
    let idp = FakeIdp::start(ManualClock::new(START)).await;
    let lines = check::run(&config(&[(
        "OIDC_SERVER_APPLICATION_URL",
        &format!("{}/authorize", idp.base),
    )]))
    .await;
    let discovery = line(&lines, "discovery answers");
    assert_eq!(discovery.outcome, Outcome::Fail);
    let fix = discovery.fix.as_deref().unwrap_or_default();
    assert!(fix.contains("OIDC_SERVER_APPLICATION_URL must be"), "{fix}");
    assert!(fix.contains("HTTP 404"), "{fix}");
    assert!(
        !fix.contains("OIDC_SERVER_METADATA_URL"),
        "not set, so not named: {fix}"
    );
}

#[tokio::test]
async fn an_unreachable_provider_fails_naming_the_variable_used_and_the_cause() {
    let lines = check::run(&config(&[("OIDC_SERVER_APPLICATION_URL", "http://127.0.0.1:9")])).await;
    assert!(!check::passed(&lines));
    let discovery = line(&lines, "discovery answers");
    assert!(discovery.what.contains("cannot reach"));
    let fix = discovery.fix.as_deref().unwrap_or_default();
    assert!(fix.contains("nothing listens at 127.0.0.1:9"), "{fix}");
    assert!(fix.contains("OIDC_SERVER_APPLICATION_URL"), "{fix}");
    assert!(
        !fix.contains("OIDC_SERVER_METADATA_URL"),
        "not set, so not named: {fix}"
    );
}

#[tokio::test]
async fn https_to_a_plain_http_provider_is_named_as_such() {
    let idp = FakeIdp::start(ManualClock::new(START)).await;
    let https = idp.metadata_url().replacen("http://", "https://", 1);
    let lines = check::run(&config(&[("OIDC_SERVER_METADATA_URL", &https)])).await;
    let fix = line(&lines, "discovery answers").fix.clone().unwrap_or_default();
    assert!(
        fix.contains("does not speak TLS") && fix.contains("OIDC_SERVER_METADATA_URL"),
        "{fix}"
    );
}

#[tokio::test]
async fn a_wrong_client_secret_fails_naming_the_variables_and_the_method() {
    let idp = FakeIdp::start(ManualClock::new(START)).await;
    for (methods, method) in [
        (
            json!(["client_secret_basic", "client_secret_post"]),
            "client_secret_basic",
        ),
        (json!(["client_secret_post"]), "client_secret_post"),
    ] {
        idp.override_discovery(json!({"token_endpoint_auth_methods_supported": methods}));
        let wrong = check::run(&config(&[
            ("OIDC_SERVER_APPLICATION_URL", &idp.base),
            ("OIDC_CLIENT_SECRET", "not-the-secret"),
        ]))
        .await;
        assert!(!check::passed(&wrong), "{wrong:#?}");
        let refused = line(&wrong, "refuses OIDC_CLIENT_ID / OIDC_CLIENT_SECRET");
        assert_eq!(refused.outcome, Outcome::Fail);
        assert!(
            refused.what.contains("invalid_client") && refused.what.contains(method),
            "{refused}"
        );
        let fix = refused.fix.as_deref().unwrap_or_default();
        assert!(fix.contains("OIDC_CLIENT_SECRET") && fix.contains(CLIENT_ID), "{fix}");
        assert!(
            !refused.to_string().contains("not-the-secret"),
            "the secret is never printed"
        );

        let right = check::run(&config(&[("OIDC_SERVER_APPLICATION_URL", &idp.base)])).await;
        assert!(check::passed(&right), "{right:#?}");
        let accepted = line(&right, "accepts OIDC_CLIENT_ID and OIDC_CLIENT_SECRET");
        assert!(accepted.what.contains(method), "{accepted}");
    }
}

/// The configuration of the review's "typo lets everyone in": OIDC_CLAIM_ROLE
/// (no S) beside a role mapping. The server refuses it; the check fails it.
#[tokio::test]
async fn a_role_mapping_without_the_roles_claim_fails_and_the_typo_is_named() {
    let idp = FakeIdp::start(ManualClock::new(START)).await;
    let mut vars: HashMap<String, String> = [
        ("ROMM_BASE_URL", "http://localhost:8080"),
        ("OIDC_ENABLED", "true"),
        ("OIDC_CLIENT_ID", CLIENT_ID),
        ("OIDC_CLIENT_SECRET", CLIENT_SECRET),
        ("OIDC_REDIRECT_URI", "http://localhost:8080/api/oauth/openid"),
        ("OIDC_CLAIM_ROLE", "groups"),
        ("OIDC_ROLE_VIEWER", "romm-users"),
        ("OIDC_ROLE_ADMIN", "romm-admins"),
        ("ROMM_BASE_PATH", "/romm"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    vars.insert("OIDC_SERVER_APPLICATION_URL".into(), idp.base.clone());
    assert!(Config::from_vars(vars.clone()).is_err(), "the server refuses it");
    let config = Config::from_vars_for_check(vars).expect("the check loads it");
    let lines = check::run(&config).await;
    assert!(!check::passed(&lines), "{lines:#?}");
    let guard = line(&lines, "OIDC_CLAIM_ROLES is empty");
    assert_eq!(guard.outcome, Outcome::Fail);
    assert!(
        guard.what.contains("OIDC_ROLE_VIEWER") && guard.what.contains("OIDC_ROLE_ADMIN"),
        "{guard}"
    );
    assert!(guard.to_string().starts_with('✗'), "{guard}");
    let typo = line(&lines, "OIDC_CLAIM_ROLE is not a variable romgate reads");
    assert_eq!(typo.outcome, Outcome::Warn);
    assert_eq!(typo.fix.as_deref(), Some("rename it to OIDC_CLAIM_ROLES"));
    assert_eq!(
        line(&lines, "RomM's ROMM_BASE_PATH is not used by romgate").outcome,
        Outcome::Warn
    );
    // Everything else about this provider is fine: the guard alone fails.
    let failed: Vec<&CheckLine> = lines.iter().filter(|l| l.outcome == Outcome::Fail).collect();
    assert_eq!(failed.len(), 1, "{failed:#?}");
}

#[tokio::test]
async fn a_role_mapping_with_its_claim_passes() {
    let idp = FakeIdp::start(ManualClock::new(START)).await;
    let lines = check::run(&config(&[
        ("OIDC_SERVER_APPLICATION_URL", &idp.base),
        ("OIDC_CLAIM_ROLES", "groups"),
        ("OIDC_ROLE_ADMIN", "romm-admins"),
    ]))
    .await;
    assert!(check::passed(&lines), "{lines:#?}");
    assert_eq!(line(&lines, "OIDC_ROLE_* are mapped").outcome, Outcome::Pass);
}

/// The check reports exactly the scopes a sign-in sends: one function makes
/// both lists, whatever shape OIDC_CLAIM_ROLES has (spaces before the dot,
/// a first segment that is already a standard scope).
#[tokio::test]
async fn the_check_reports_the_scopes_sign_in_sends() {
    for (claim, sent) in [
        ("groups .roles", "openid profile email groups"),
        ("email.roles", "openid profile email"),
        ("groups", "openid profile email groups"),
    ] {
        let (app, idp) = crate::sso_support::sso_app(&[("OIDC_CLAIM_ROLES", claim)]).await;
        let started = crate::sso_support::start(&app, "/").await;
        assert_eq!(started.param("scope").as_deref(), Some(sent), "{claim}");
        let lines = check::run(&config(&[
            ("OIDC_SERVER_METADATA_URL", &idp.metadata_url()),
            ("OIDC_CLAIM_ROLES", claim),
        ]))
        .await;
        let scopes = line(&lines, "scopes we send");
        assert_eq!(scopes.outcome, Outcome::Pass, "{claim}");
        assert!(scopes.what.ends_with(&format!("({sent})")), "{claim}: {}", scopes.what);
    }
}

/// The server's startup warnings are the check's lines too (one function).
#[tokio::test]
async fn the_startup_warnings_are_check_lines() {
    let idp = FakeIdp::start(ManualClock::new(START)).await;
    let config = config(&[("OIDC_SERVER_APPLICATION_URL", &idp.base), ("ROMM_PORT", "9000")]);
    let lines = check::run(&config).await;
    let warned: Vec<&str> = lines
        .iter()
        .filter(|l| l.outcome == Outcome::Warn)
        .map(|l| l.what.as_str())
        .collect();
    let startup: Vec<String> = config.startup_warnings().into_iter().map(|w| w.what).collect();
    assert_eq!(startup.len(), 1, "{startup:?}");
    assert_eq!(warned, startup, "{lines:#?}");
    assert!(warned[0].contains("port 9000 (ROMM_PORT)"), "{lines:#?}");
    assert!(check::passed(&lines), "a hint, not a failure: {lines:#?}");
}
