//! Single sign-on against a second, independent real provider: Debian's
//! Glewlwyd (see glewlwyd_support.rs), configured through its admin API.
//! Role mapping from its `groups` claim, SSO-only mode, RP-initiated and
//! back-channel logout, and a wrong client secret.

use reqwest::StatusCode;

use crate::browser::{Browser, Page, parse_form};
use crate::glewlwyd_pages::{end_session_at_glewlwyd, glewlwyd_remembers, sign_in_with_glewlwyd, sign_out_at_glewlwyd};
use crate::glewlwyd_support::{CLIENT_ID, CLIENT_SECRET, Glewlwyd, password_of};
use crate::romgate::{RomgateServer, romgate_port};
use crate::scenario::{assert_refused, assert_signed_in, me};

/// One Glewlwyd configured for one romgate (an admin `root` exists).
struct GlewlwydSso {
    glewlwyd: Glewlwyd,
    romgate: RomgateServer,
    browser: Browser,
}

/// romgate on `port` signing in with `glewlwyd`, then `env` (values may say
/// `{base}`, romgate's URL); later settings win.
fn start_romgate(glewlwyd: &Glewlwyd, port: u16, env: &[(&str, &str)]) -> RomgateServer {
    let base = RomgateServer::base_for(port);
    let mut all: Vec<(String, String)> = vec![
        ("OIDC_ENABLED".into(), "true".into()),
        ("OIDC_PROVIDER".into(), "Glewlwyd".into()),
        ("OIDC_CLIENT_ID".into(), CLIENT_ID.into()),
        ("OIDC_CLIENT_SECRET".into(), CLIENT_SECRET.into()),
        ("OIDC_REDIRECT_URI".into(), format!("{base}/api/oauth/openid")),
        ("OIDC_SERVER_METADATA_URL".into(), glewlwyd.metadata_url()),
    ];
    all.extend(env.iter().map(|(k, v)| (k.to_string(), v.replace("{base}", &base))));
    let refs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let romgate = tokio::task::block_in_place(|| RomgateServer::start(port, &refs));
    romgate.create_admin("root", "root@example.test");
    romgate
}

impl GlewlwydSso {
    async fn start(env: &[(&str, &str)]) -> GlewlwydSso {
        let port = romgate_port();
        let glewlwyd = Glewlwyd::start_async().await;
        glewlwyd.configure(&RomgateServer::base_for(port)).await;
        let romgate = start_romgate(&glewlwyd, port, env);
        GlewlwydSso {
            glewlwyd,
            romgate,
            browser: Browser::new(),
        }
    }

    async fn sign_in_as(&self, browser: &Browser, login: &str) -> Page {
        sign_in_with_glewlwyd(browser, &self.glewlwyd, &self.romgate, login, &password_of(login)).await
    }

    async fn role_of(&self, login: &str) -> serde_json::Value {
        let browser = Browser::new();
        assert_signed_in(&self.sign_in_as(&browser, login).await);
        let me = me(&browser, &self.romgate).await.expect("signed in");
        assert_eq!(me["username"], login, "preferred_username names the account");
        assert_eq!(me["email"], format!("{login}@example.test"));
        me["role"].clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Debian's glewlwyd; run with --ignored"]
async fn glewlwyd_groups_claim_maps_each_role_and_a_demotion() {
    let env = [
        ("OIDC_CLAIM_ROLES", "groups"),
        ("OIDC_ROLE_VIEWER", "romm-users"),
        ("OIDC_ROLE_EDITOR", "romm-editors"),
        ("OIDC_ROLE_ADMIN", "romm-admins"),
    ];
    let sso = GlewlwydSso::start(&env).await;
    for (login, role) in [("alice", "admin"), ("vera", "viewer"), ("ed", "editor")] {
        assert_eq!(sso.role_of(login).await, role, "{login}");
    }
    let refused = sso.sign_in_as(&sso.browser, "olga").await;
    assert_refused(&refused, StatusCode::FORBIDDEN, "no_role");
    assert!(refused.body.contains("no role for this application"));

    // Glewlwyd's administrator moves alice out of romm-admins: the next
    // sign-in applies it.
    sso.glewlwyd.set_groups("alice", &["romm-users"]).await;
    assert_eq!(sso.role_of("alice").await, "viewer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Debian's glewlwyd; run with --ignored"]
async fn glewlwyd_sign_in_works_in_sso_only_mode() {
    let sso = GlewlwydSso::start(&[("DISABLE_USERPASS_LOGIN", "true")]).await;
    let login = sso.browser.get(&sso.romgate.url("/login")).await;
    assert!(
        !login.body.contains(r#"name="password""#) && login.body.contains("Sign in with Glewlwyd"),
        "{}",
        login.body
    );
    let heartbeat = sso.browser.get(&sso.romgate.url("/api/heartbeat")).await.body;
    assert!(heartbeat.contains(r#""DISABLE_USERPASS_LOGIN":true"#), "{heartbeat}");
    let refused = sso
        .browser
        .client()
        .post(sso.romgate.url("/api/login"))
        .basic_auth("root", Some("whatever"))
        .send()
        .await
        .expect("answer");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    assert_signed_in(&sso.sign_in_as(&sso.browser, "vera").await);
    let me = me(&sso.browser, &sso.romgate).await.expect("signed in");
    assert_eq!(
        (me["username"].as_str(), me["role"].as_str()),
        (Some("vera"), Some("viewer"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Debian's glewlwyd; run with --ignored"]
async fn glewlwyd_rp_initiated_logout_ends_its_session_too() {
    let env = [
        ("OIDC_RP_INITIATED_LOGOUT", "true"),
        ("OIDC_POST_LOGOUT_REDIRECT_URI", "{base}/login"),
    ];
    let sso = GlewlwydSso::start(&env).await;
    assert_signed_in(&sso.sign_in_as(&sso.browser, "alice").await);
    assert!(glewlwyd_remembers(&sso.browser, &sso.glewlwyd, &sso.romgate).await);

    // romgate's Sign out button: the confirmation form, then the provider.
    let confirm = sso.browser.get(&sso.romgate.url("/logout")).await;
    let (action, fields) = parse_form(&confirm);
    let logout = sso.browser.post_form(action.as_str(), &fields).await;
    assert_eq!(logout.status, StatusCode::SEE_OTHER, "{}", logout.body);
    let end_session = logout.location.expect("a redirect to Glewlwyd");
    assert!(
        end_session
            .as_str()
            .starts_with(&sso.glewlwyd.api("/oidc/end_session?")),
        "{end_session}"
    );
    let params: std::collections::HashMap<_, _> = end_session.query_pairs().into_owned().collect();
    assert!(params.contains_key("id_token_hint"), "{end_session}");
    assert_eq!(params.get("client_id").map(String::as_str), Some(CLIENT_ID));
    assert_eq!(
        me(&sso.browser, &sso.romgate).await.err(),
        Some(StatusCode::UNAUTHORIZED),
        "romgate's session ended"
    );

    let back = end_session_at_glewlwyd(&sso.browser, &sso.glewlwyd, end_session.as_str()).await;
    assert!(back.as_str().starts_with(&sso.romgate.url("/login")), "{back}");
    let page = sso.browser.get(back.as_str()).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        !glewlwyd_remembers(&sso.browser, &sso.glewlwyd, &sso.romgate).await,
        "Glewlwyd asks for the password again"
    );
}

/// Signing out at Glewlwyd itself ends the romgate session at once: its
/// back-channel logout token (ES256, with the session's `sid`) is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Debian's glewlwyd; run with --ignored"]
async fn glewlwyd_back_channel_logout_ends_the_romgate_session() {
    let sso = GlewlwydSso::start(&[]).await;
    assert_signed_in(&sso.sign_in_as(&sso.browser, "alice").await);
    let other = Browser::new();
    assert_signed_in(&sso.sign_in_as(&other, "alice").await);

    sign_out_at_glewlwyd(&sso.browser, &sso.glewlwyd).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while me(&sso.browser, &sso.romgate).await.is_ok() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        me(&sso.browser, &sso.romgate).await.err(),
        Some(StatusCode::UNAUTHORIZED),
        "the signed-out browser's romgate session ended; Glewlwyd's log:\n{}",
        sso.glewlwyd.log()
    );
    assert!(
        me(&other, &sso.romgate).await.is_ok(),
        "another Glewlwyd session (another sid) keeps its romgate session"
    );
}

/// Glewlwyd answers a wrong client secret with HTTP 403 and
/// `unauthorized_client` (not RFC 6749's `invalid_client`/401): the check
/// and the sign-in page still send the administrator to the secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Debian's glewlwyd; run with --ignored"]
async fn glewlwyd_refuses_a_wrong_client_secret_and_romgate_names_the_fix() {
    let sso = GlewlwydSso::start(&[]).await;
    let check = sso.romgate.cli_may_fail(&["oidc", "check"], "");
    let printed = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{printed}");
    assert!(
        printed.contains("✓ the provider accepts OIDC_CLIENT_ID and OIDC_CLIENT_SECRET (client_secret_basic"),
        "{printed}"
    );
    // Its discovery lists the scopes the plugin instance advertises.
    assert!(!printed.contains("scopes not advertised"), "{printed}");
    let GlewlwydSso { glewlwyd, romgate, .. } = sso;
    let port = romgate.port;
    drop(romgate);

    let wrong = start_romgate(&glewlwyd, port, &[("OIDC_CLIENT_SECRET", "not-the-secret")]);
    let check = wrong.cli_may_fail(&["oidc", "check"], "");
    let printed = String::from_utf8_lossy(&check.stdout);
    assert!(!check.status.success(), "{printed}");
    let line = printed
        .lines()
        .find(|l| l.contains("unauthorized_client"))
        .unwrap_or_else(|| panic!("no client line: {printed}"));
    assert!(line.starts_with('✗'), "{printed}");
    assert!(printed.contains("OIDC_CLIENT_SECRET"), "{printed}");
    assert!(!printed.contains("not-the-secret"), "{printed}");

    let browser = Browser::new();
    let page = sign_in_with_glewlwyd(&browser, &glewlwyd, &wrong, "alice", &password_of("alice")).await;
    assert_refused(&page, StatusCode::BAD_GATEWAY, "client_refused");
    assert!(page.body.contains("OIDC_CLIENT_SECRET"), "{}", page.body);
    assert!(!page.body.contains("not-the-secret"), "{}", page.body);
}
