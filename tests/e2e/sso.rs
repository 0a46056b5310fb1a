//! Every single sign-on setting of the seed document, against the real
//! provider: accounts, registration, usernames, roles, auto-login,
//! SSO-only mode, heartbeat, discovery, TLS, key rotation, PKCE.

use reqwest::StatusCode;
use serde_json::json;

use crate::browser::Browser;
use crate::provider::{TestProvider, TestTls, free_port};
use crate::romgate::RomgateServer;
use crate::scenario::{Sso, account, assert_refused, assert_signed_in, me, provider_config, romgate_env, sign_in_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Node.js; run with --ignored"]
async fn first_sign_in_creates_the_account_with_the_mapped_role() {
    let env = [
        ("OIDC_PROVIDER", "TestIdP"),
        ("OIDC_CLAIM_ROLES", "groups"),
        ("OIDC_ROLE_ADMIN", "romm-admins"),
    ];
    let sso = Sso::start(|_| {}, &env).await.with_admin();
    let heartbeat: serde_json::Value =
        serde_json::from_str(&sso.browser.get(&sso.url("/api/heartbeat")).await.body).expect("json");
    assert_eq!(
        heartbeat["OIDC"],
        json!({"ENABLED": true, "PROVIDER": "TestIdP", "AUTOLOGIN": false, "RP_INITIATED_LOGOUT": false})
    );
    assert_eq!(heartbeat["FRONTEND"]["DISABLE_USERPASS_LOGIN"], false);
    let login = sso.browser.get(&sso.url("/login")).await;
    assert!(login.body.contains("Sign in with TestIdP") && login.body.contains(r#"name="password""#));

    assert_signed_in(&sso.sign_in("alice", "alice-pw").await);
    let me = sso.me().await.expect("signed in");
    assert_eq!(
        (me["username"].as_str(), me["role"].as_str()),
        (Some("alice"), Some("admin"))
    );
    assert_eq!(me["email"], "alice@example.test");
    let home = sso.browser.get(&sso.url("/")).await;
    assert!(home.body.contains("alice") && home.body.contains("admin"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Node.js; run with --ignored"]
async fn registration_off_admits_only_existing_accounts_linked_by_verified_email() {
    let sso = Sso::start(|_| {}, &[("OIDC_ALLOW_REGISTRATION", "false")])
        .await
        .with_admin();
    assert_refused(
        &sso.sign_in("alice", "alice-pw").await,
        StatusCode::FORBIDDEN,
        "registration_disabled",
    );
    sso.romgate
        .cli(&["user", "create", "alice-local", "--email", "alice@example.test"], "");
    assert_signed_in(&sso.sign_in("alice", "alice-pw").await);
    assert_eq!(sso.me().await.expect("signed in")["username"], "alice-local");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Node.js; run with --ignored"]
async fn the_username_attribute_picks_the_claim() {
    for (attribute, expected) in [
        ("email", "alice@example.test"),
        ("sub", "alice-sub"),
        ("preferred_username", "alice"),
    ] {
        let sso = Sso::start(|_| {}, &[("OIDC_USERNAME_ATTRIBUTE", attribute)])
            .await
            .with_admin();
        assert_signed_in(&sso.sign_in("alice", "alice-pw").await);
        assert_eq!(sso.me().await.expect("signed in")["username"], expected, "{attribute}");
    }
    let sso = Sso::start(|_| {}, &[("OIDC_USERNAME_ATTRIBUTE", "nickname")])
        .await
        .with_admin();
    assert_refused(
        &sso.sign_in("alice", "alice-pw").await,
        StatusCode::FORBIDDEN,
        "username_missing",
    );
}

fn people(config: &mut serde_json::Value) {
    let accounts = config["accounts"].as_array_mut().expect("accounts");
    for (sub, groups) in [
        ("vera", json!(["romm-users"])),
        ("ed", json!(["romm-users", "romm-editors"])),
        ("olga", json!(["other"])),
    ] {
        let claims = json!({"email": format!("{sub}@example.test"), "email_verified": true, "preferred_username": sub, "groups": groups});
        accounts.push(account(sub, claims));
    }
    let keycloak = json!({"email": "kc@example.test", "email_verified": true, "preferred_username": "kc", "realm_access": {"roles": ["romm-editors"]}});
    accounts.push(account("kc", keycloak));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Node.js; run with --ignored"]
async fn each_role_mapping_and_a_refusal_for_no_role() {
    let env = [
        ("OIDC_CLAIM_ROLES", "groups"),
        ("OIDC_ROLE_VIEWER", "romm-users"),
        ("OIDC_ROLE_EDITOR", "romm-editors"),
        ("OIDC_ROLE_ADMIN", "romm-admins"),
    ];
    let sso = Sso::start(people, &env).await.with_admin();
    for (login, role) in [("vera", "viewer"), ("ed", "editor"), ("alice", "admin")] {
        let browser = Browser::new();
        assert_signed_in(
            &sign_in_with(
                &browser,
                &sso.romgate,
                login,
                &format!("{}-pw", if login == "alice" { "alice" } else { login }),
            )
            .await,
        );
        assert_eq!(
            me(&browser, &sso.romgate).await.expect("signed in")["role"],
            role,
            "{login}"
        );
    }
    let refused = sso.sign_in("olga", "olga-pw").await;
    assert_refused(&refused, StatusCode::FORBIDDEN, "no_role");
    assert!(refused.body.contains("no role for this application"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Node.js; run with --ignored"]
async fn the_wildcard_and_nested_keycloak_roles() {
    let env = [("OIDC_CLAIM_ROLES", "groups"), ("OIDC_ROLE_VIEWER", "*")];
    let sso = Sso::start(people, &env).await.with_admin();
    assert_signed_in(&sso.sign_in("olga", "olga-pw").await);
    assert_eq!(sso.me().await.expect("signed in")["role"], "viewer");

    let env = [
        ("OIDC_CLAIM_ROLES", "realm_access.roles"),
        ("OIDC_ROLE_EDITOR", "romm-editors"),
    ];
    let sso = Sso::start(people, &env).await.with_admin();
    assert_signed_in(&sso.sign_in("kc", "kc-pw").await);
    assert_eq!(sso.me().await.expect("signed in")["role"], "editor");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Node.js; run with --ignored"]
async fn a_demotion_at_the_provider_applies_at_the_next_sign_in() {
    let env = [
        ("OIDC_CLAIM_ROLES", "groups"),
        ("OIDC_ROLE_VIEWER", "romm-users"),
        ("OIDC_ROLE_ADMIN", "romm-admins"),
    ];
    let sso = Sso::start(|_| {}, &env).await.with_admin();
    assert_signed_in(&sso.sign_in("alice", "alice-pw").await);
    assert_eq!(sso.me().await.expect("signed in")["role"], "admin");
    let demoted = json!({"sub": "alice-sub", "login": "alice", "password": "alice-pw", "claims": {
        "email": "alice@example.test", "email_verified": true, "preferred_username": "alice", "groups": ["romm-users"]}});
    let client = reqwest::Client::new();
    let answer = client
        .post(sso.provider.url("/__harness/accounts"))
        .json(&demoted)
        .send()
        .await
        .expect("harness");
    assert!(answer.status().is_success());
    let browser = Browser::new();
    assert_signed_in(&sign_in_with(&browser, &sso.romgate, "alice", "alice-pw").await);
    assert_eq!(me(&browser, &sso.romgate).await.expect("signed in")["role"], "viewer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Node.js; run with --ignored"]
async fn autologin_and_password_login_disabled() {
    let sso = Sso::start(|_| {}, &[("OIDC_AUTOLOGIN", "true")]).await.with_admin();
    let login = sso.browser.get(&sso.url("/login")).await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
    let start = sso.browser.get(login.location.expect("to the start").as_str()).await;
    assert!(
        start
            .location
            .expect("to the provider")
            .as_str()
            .starts_with(sso.provider.issuer())
    );
    let local = sso.browser.get(&sso.url("/login?local=1")).await;
    assert!(local.body.contains(r#"name="password""#));

    let sso = Sso::start(
        |_| {},
        &[("DISABLE_USERPASS_LOGIN", "true"), ("OIDC_PROVIDER", "TestIdP")],
    )
    .await
    .with_admin();
    let login = sso.browser.get(&sso.url("/login")).await;
    assert!(!login.body.contains(r#"name="password""#) && login.body.contains("Sign in with TestIdP"));
    let heartbeat = sso.browser.get(&sso.url("/api/heartbeat")).await.body;
    assert!(heartbeat.contains(r#""DISABLE_USERPASS_LOGIN":true"#));
    let refused = sso
        .browser
        .client()
        .post(sso.url("/api/login"))
        .basic_auth("root", Some("whatever"))
        .send()
        .await
        .expect("answer");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_signed_in(&sso.sign_in("alice", "alice-pw").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Node.js; run with --ignored"]
async fn discovery_by_application_url_and_a_provider_requiring_pkce() {
    let port = free_port();
    let mut config = provider_config(port);
    config["requirePkce"] = json!(true);
    let provider = TestProvider::start_async(config).await;
    let env = romgate_env(
        &provider,
        port,
        &[("OIDC_SERVER_APPLICATION_URL", &format!("{}/", provider.issuer()))],
    );
    assert!(!env.iter().any(|(k, _)| k == "OIDC_SERVER_METADATA_URL"));
    let refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let romgate = tokio::task::block_in_place(|| RomgateServer::start(port, &refs));
    romgate.create_admin("root", "root@example.test");
    let browser = Browser::new();
    assert_signed_in(&sign_in_with(&browser, &romgate, "alice", "alice-pw").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Node.js; run with --ignored"]
async fn an_https_provider_behind_a_private_ca() {
    let tls = TestTls::generate();
    let port = free_port();
    let mut config = provider_config(port);
    config["tls"] = tls.provider_tls();
    let provider = TestProvider::start_async(config).await;
    assert!(provider.issuer().starts_with("https://"));

    let without = romgate_env(&provider, port, &[]);
    let refs: Vec<(&str, &str)> = without.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let romgate = tokio::task::block_in_place(|| RomgateServer::start(port, &refs));
    romgate.create_admin("root", "root@example.test");
    let browser = Browser::with_ca(tls.ca_pem().as_bytes());
    let refused = browser.get(&romgate.url("/api/login/openid")).await;
    assert_refused(&refused, StatusCode::BAD_GATEWAY, "provider_unreachable");
    drop(romgate);

    let ca = tls.ca_path().display().to_string();
    let with = romgate_env(&provider, port, &[("OIDC_TLS_CACERTFILE", &ca)]);
    let refs: Vec<(&str, &str)> = with.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let romgate = tokio::task::block_in_place(|| RomgateServer::start(port, &refs));
    romgate.create_admin("root2", "root2@example.test");
    assert_signed_in(&sign_in_with(&browser, &romgate, "alice", "alice-pw").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Node.js; run with --ignored"]
async fn signing_key_rotation_just_works() {
    let keys = tempfile::tempdir().expect("dir");
    let keys_file = keys.path().join("keys.json").display().to_string();
    let customize = |c: &mut serde_json::Value| {
        c["kid"] = json!("key-1");
        c["keysFile"] = json!(keys_file.clone());
    };
    let sso = Sso::start(customize, &[]).await.with_admin();
    assert_signed_in(&sso.sign_in("alice", "alice-pw").await);
    let Sso { provider, romgate, .. } = sso;
    let mut config = provider.config().clone();
    config["kid"] = json!("key-2");
    let _provider = provider.restart_with_async(config).await;
    let browser = Browser::new();
    assert_signed_in(&sign_in_with(&browser, &romgate, "alice", "alice-pw").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Node.js; run with --ignored"]
async fn a_provider_down_at_startup_works_once_it_is_up() {
    let (port, provider_port) = (free_port(), free_port());
    let mut config = provider_config(port);
    config["port"] = json!(provider_port);
    config["issuer"] = json!(format!("http://127.0.0.1:{provider_port}"));
    let metadata = format!("http://127.0.0.1:{provider_port}/.well-known/openid-configuration");
    let env = [
        ("OIDC_ENABLED", "true"),
        ("OIDC_CLIENT_ID", "romgate"),
        ("OIDC_CLIENT_SECRET", "romgate-secret"),
        (
            "OIDC_REDIRECT_URI",
            &format!("http://127.0.0.1:{port}/api/oauth/openid"),
        ),
        ("OIDC_SERVER_METADATA_URL", &metadata),
    ];
    let romgate = tokio::task::block_in_place(|| RomgateServer::start(port, &env));
    romgate.create_admin("root", "root@example.test");
    let browser = Browser::new();
    let login = browser.get(&romgate.url("/login")).await;
    assert!(
        login.body.contains("Sign in with OIDC"),
        "the button shows while the provider is down"
    );
    let down = browser.get(&romgate.url("/api/login/openid")).await;
    assert_refused(&down, StatusCode::BAD_GATEWAY, "provider_unreachable");
    let _provider = TestProvider::start_async(config).await;
    assert_signed_in(&sign_in_with(&browser, &romgate, "alice", "alice-pw").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Node.js; run with --ignored"]
async fn a_provider_reached_at_another_address_than_its_issuer_is_refused() {
    // The provider's issuer is http://127.0.0.1:PORT; romgate is told to
    // reach it as localhost (the same server, another name: an alias).
    let alias = "http://localhost:{provider_port}/.well-known/openid-configuration";
    let sso = Sso::start(|_| {}, &[("OIDC_SERVER_METADATA_URL", alias)])
        .await
        .with_admin();
    let alias = alias.replace("{provider_port}", &sso.provider.port().to_string());
    let refused = sso.browser.get(&sso.url("/api/login/openid")).await;
    assert_refused(&refused, StatusCode::BAD_GATEWAY, "provider_issuer_mismatch");
    assert!(refused.body.contains(sso.provider.issuer()), "{}", refused.body);
    assert!(refused.body.contains(&alias), "{}", refused.body);

    let check = sso.romgate.cli_may_fail(&["oidc", "check"], "");
    let printed = String::from_utf8_lossy(&check.stdout);
    assert!(!check.status.success(), "{printed}");
    let line = printed.lines().find(|l| l.contains("issuer")).expect("an issuer line");
    assert!(
        line.starts_with('✗') && line.contains(sso.provider.issuer()),
        "{printed}"
    );
}

/// `oidc-provider` answers `invalid_client` to a wrong secret: the check
/// names the variables, and a sign-in sends the person to the administrator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Node.js; run with --ignored"]
async fn a_wrong_client_secret_fails_the_check_and_the_sign_in_names_the_fix() {
    let right = Sso::start(|_| {}, &[]).await;
    let check = right.romgate.cli_may_fail(&["oidc", "check"], "");
    let printed = String::from_utf8_lossy(&check.stdout);
    assert!(
        printed.contains("✓ the provider accepts OIDC_CLIENT_ID and OIDC_CLIENT_SECRET (client_secret_basic"),
        "{printed}"
    );
    drop(right);

    let wrong = Sso::start(|_| {}, &[("OIDC_CLIENT_SECRET", "not-the-secret")])
        .await
        .with_admin();
    let check = wrong.romgate.cli_may_fail(&["oidc", "check"], "");
    let printed = String::from_utf8_lossy(&check.stdout);
    assert!(!check.status.success(), "{printed}");
    let line = printed
        .lines()
        .find(|l| l.contains("refuses OIDC_CLIENT_ID / OIDC_CLIENT_SECRET"))
        .unwrap_or_else(|| panic!("no client line: {printed}"));
    assert!(line.starts_with('✗') && line.contains("invalid_client"), "{printed}");
    assert!(!printed.contains("not-the-secret"), "{printed}");

    let page = sign_in_with(&wrong.browser, &wrong.romgate, "alice", "alice-pw").await;
    assert_refused(&page, StatusCode::BAD_GATEWAY, "client_refused");
    assert!(page.body.contains("OIDC_CLIENT_SECRET"), "{}", page.body);
}
