//! The binary itself: the admin CLI on the server's database, startup
//! validation, and `romgate` with no arguments serving.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use romgate::auth::Role;
use romgate::auth::password::{PasswordPolicy, Passwords, Verdict};
use romgate::clock::{Clock, ManualClock, SystemClock};
use romgate::secret::Secret;

use crate::cli_support::{free_port, http_get, romgate, stdout, store};
use crate::login_support::{login_from, wrong_logins_from_many};
use crate::util::{PASSWORD, TestApp};

#[tokio::test]
async fn user_commands_manage_the_servers_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    let created = romgate(
        data,
        &["user", "create", "alice", "--role", "admin", "--password-stdin"],
        "a long password\n",
        &[],
    );
    assert!(created.status.success(), "{created:?}");
    assert!(stdout(&created).contains("created user alice"));

    let store = store(data).await;
    let found = store.find_user_with_hash("alice").await.expect("query").expect("alice");
    assert_eq!(found.user.role, Role::Admin);
    let passwords = Passwords::new(PasswordPolicy::PRODUCTION).expect("policy");
    let verdict = passwords
        .verify(&Secret::new("a long password"), found.password_hash.as_deref())
        .await
        .expect("verify");
    assert_eq!(
        verdict,
        Verdict::Match { rehash: false },
        "stdin's newline is not part of the password"
    );

    let sso_only = romgate(data, &["user", "create", "bob", "--email", "bob@example.com"], "", &[]);
    assert!(sso_only.status.success(), "{sso_only:?}");
    assert!(
        romgate(data, &["user", "set-role", "bob", "editor"], "", &[])
            .status
            .success()
    );
    assert!(romgate(data, &["user", "disable", "bob"], "", &[]).status.success());
    let bob = store.find_user_with_hash("bob").await.expect("query").expect("bob");
    assert_eq!(
        (bob.user.role, bob.user.enabled, bob.password_hash),
        (Role::Editor, false, None)
    );
    assert!(romgate(data, &["user", "enable", "bob"], "", &[]).status.success());

    let reset = romgate(
        data,
        &["user", "set-password", "bob", "--password-stdin"],
        "bobs new password\n",
        &[],
    );
    assert!(reset.status.success(), "{reset:?}");
    let bob = store.find_user_with_hash("bob").await.expect("query").expect("bob");
    assert!(bob.user.enabled);
    assert!(bob.password_hash.is_some());

    let list = stdout(&romgate(data, &["user", "list"], "", &[]));
    assert!(
        list.contains("alice") && list.contains("admin") && list.contains("bob@example.com"),
        "{list}"
    );

    let unknown = romgate(data, &["user", "disable", "nobody"], "", &[]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("nobody"));
    let invalid = romgate(data, &["user", "create", "bad name"], "", &[]);
    assert!(!invalid.status.success());
}

#[tokio::test]
async fn user_unlock_and_set_password_clear_the_sign_in_limits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    // The server's database, on the CLI's clock (the system's).
    let app = TestApp::builder()
        .sqlite_file(&data.join("romgate.db"))
        .clock(ManualClock::new(SystemClock.now()))
        .build()
        .await;
    let bob = app.create_user("bob", Role::Viewer).await;
    let away = "192.0.2.80";

    wrong_logins_from_many(&app, "bob", 3, 10).await;
    let locked = login_from(&app, away, "bob", PASSWORD).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    let unlock = romgate(data, &["user", "unlock", "BOB"], "", &[]);
    assert!(unlock.status.success(), "{unlock:?}");
    assert!(stdout(&unlock).contains("sign-in limits cleared for bob"));
    assert_eq!(login_from(&app, away, "bob", PASSWORD).await.status, StatusCode::OK);

    wrong_logins_from_many(&app, "bob", 3, 10).await;
    let reset = romgate(
        data,
        &["user", "set-password", "bob", "--password-stdin"],
        "bobs second password
",
        &[],
    );
    assert!(reset.status.success(), "{reset:?}");
    let fresh = login_from(&app, "192.0.2.81", "bob", "bobs second password").await;
    assert_eq!(fresh.status, StatusCode::OK, "a new password lifts the limits");

    app.store()
        .insert_link("https://idp.example.com", "bob-sub", bob.id, app.now())
        .await
        .expect("a link");
    let unlink = romgate(data, &["user", "unlink", "bob"], "", &[]);
    assert!(unlink.status.success(), "{unlink:?}");
    assert!(
        stdout(&unlink).contains("1 single sign-on link(s) removed from bob"),
        "{unlink:?}"
    );
    assert!(app.store().list_links(bob.id).await.expect("links").is_empty());

    let unknown = romgate(data, &["user", "unlock", "nobody"], "", &[]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("nobody"));
}

#[test]
fn static_misconfiguration_stops_startup_naming_each_variable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [
        ("ROMM_PORT", "eighty"),
        ("DISABLE_USERPASS_LOGIN", "perhaps"),
        ("OIDC_ENABLED", "true"),
    ];
    let output = romgate(dir.path(), &[], "", &env);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for name in [
        "ROMM_PORT",
        "DISABLE_USERPASS_LOGIN",
        "OIDC_CLIENT_ID",
        "OIDC_REDIRECT_URI",
    ] {
        assert!(stderr.contains(name), "{name} missing from: {stderr}");
    }
}

/// The review's "typo lets everyone in": OIDC_CLAIM_ROLE (no S) beside a
/// role mapping started the server and passed `oidc check`.
const ROLE_TYPO: [(&str, &str); 8] = [
    ("OIDC_ENABLED", "true"),
    ("OIDC_CLIENT_ID", "romgate"),
    ("OIDC_CLIENT_SECRET", "secret"),
    ("OIDC_REDIRECT_URI", "http://localhost:8080/api/oauth/openid"),
    ("OIDC_SERVER_APPLICATION_URL", "http://127.0.0.1:9"),
    ("OIDC_CLAIM_ROLE", "groups"),
    ("OIDC_ROLE_VIEWER", "romm-users"),
    ("OIDC_ROLE_ADMIN", "romm-admins"),
];

#[test]
fn a_role_mapping_without_the_roles_claim_stops_the_server_naming_both() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Were the configuration accepted, the server would stop on this busy
    // port instead of serving for ever (exit 1, not 2).
    let busy = std::net::TcpListener::bind("0.0.0.0:0").expect("bind");
    let port = busy.local_addr().expect("addr").port().to_string();
    let mut env = ROLE_TYPO.to_vec();
    env.push(("ROMM_PORT", &port));
    let output = romgate(dir.path(), &[], "", &env);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "configuration error: OIDC_CLAIM_ROLES is empty while OIDC_ROLE_VIEWER and OIDC_ROLE_ADMIN are set"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean OIDC_CLAIM_ROLES?"), "{stderr}");
}

#[test]
fn oidc_check_fails_a_role_mapping_without_the_roles_claim() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = romgate(dir.path(), &["oidc", "check"], "", &ROLE_TYPO);
    assert!(!output.status.success());
    let text = stdout(&output);
    assert!(
        text.contains("✗ OIDC_CLAIM_ROLES is empty while OIDC_ROLE_VIEWER and OIDC_ROLE_ADMIN are set"),
        "{text}"
    );
    assert!(
        text.contains("! OIDC_CLAIM_ROLE is not a variable romgate reads; did you mean OIDC_CLAIM_ROLES?"),
        "{text}"
    );
    assert!(!text.contains("all checks passed"), "{text}");
}

#[test]
fn unknown_variables_are_named_at_start_without_stopping_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [
        ("ROMM_PROT", "8081"),
        ("ROMM_BASE_PATH", "/romm"),
        ("REDIS_HOST", "redis"),
    ];
    let output = romgate(dir.path(), &["user", "create", "alice"], "", &env);
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("ROMM_PROT is not a variable romgate reads; did you mean ROMM_PORT?"),
        "{stderr}"
    );
    assert!(
        stderr.contains("RomM's ROMM_BASE_PATH is not used by romgate"),
        "{stderr}"
    );
    assert!(!stderr.contains("REDIS_HOST"), "not romgate's prefix: {stderr}");
}

/// A variable that is not UTF-8 text: someone else's is left alone, one of
/// romgate's is named in one line; neither panics.
#[test]
fn a_variable_that_is_not_text_is_named_or_left_alone() {
    use std::os::unix::ffi::OsStrExt;
    let not_text = std::ffi::OsStr::from_bytes(b"caf\xe9");
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |name: &str| {
        Command::new(env!("CARGO_BIN_EXE_romgate"))
            .arg("config")
            .env_clear()
            .env("ROMM_DATA_PATH", dir.path())
            .env(name, not_text)
            .output()
            .expect("romgate runs")
    };
    let others = run("LANG_OF_SOMEONE_ELSE");
    assert!(others.status.success(), "{others:?}");
    assert!(
        String::from_utf8_lossy(&others.stdout).contains("ROMM_BASE_URL"),
        "{others:?}"
    );
    let ours = run("ROMM_BASE_URL");
    assert_eq!(ours.status.code(), Some(2), "{ours:?}");
    let stderr = String::from_utf8_lossy(&ours.stderr);
    assert!(
        stderr.contains("ROMM_BASE_URL: the value is not valid UTF-8 text"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn the_data_directory_and_database_it_creates_are_private() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("romgate").join("data");
    let output = romgate(&data, &["user", "create", "alice"], "", &[]);
    assert!(output.status.success(), "{output:?}");
    let mode = |path: &std::path::Path| {
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(path).expect("exists").permissions()) & 0o777
    };
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("romgate.db")), 0o600);
    assert_eq!(mode(&data.join("auth_secret_key")), 0o600);
}

#[test]
fn without_arguments_it_serves_on_sqlite_and_keeps_its_key_private() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_romgate"))
        .env_clear()
        .env("ROMM_DATA_PATH", dir.path())
        .env("ROMM_PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut answer = None;
    while Instant::now() < deadline && answer.is_none() {
        answer = http_get(port, "/api/heartbeat");
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    let answer = answer.expect("the server answered");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""NEEDED":true"#), "{answer}");
    assert!(dir.path().join("romgate.db").exists());
    let key = dir.path().join("auth_secret_key");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&key).expect("key file").permissions());
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn oidc_check_exits_non_zero_when_the_provider_is_unreachable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [
        ("OIDC_ENABLED", "true"),
        ("OIDC_CLIENT_ID", "romgate"),
        ("OIDC_CLIENT_SECRET", "secret"),
        ("OIDC_REDIRECT_URI", "http://localhost:8080/api/oauth/openid"),
        ("OIDC_SERVER_APPLICATION_URL", "http://127.0.0.1:9"),
    ];
    let output = romgate(dir.path(), &["oidc", "check"], "", &env);
    assert!(!output.status.success());
    let text = stdout(&output);
    assert!(
        text.contains("✓ OIDC_REDIRECT_URI points at the callback path"),
        "{text}"
    );
    assert!(text.contains("✗ discovery answers"), "{text}");
    assert!(text.contains("fix:"), "{text}");
}

/// Standard error is a pipe here: no colour codes; ROMGATE_LOG_FORMAT=json
/// makes every line a JSON object; an unknown format stops the start.
#[test]
fn logs_have_no_colour_in_a_pipe_and_can_be_json_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(
        romgate(dir.path(), &["user", "create", "alice"], "", &[])
            .status
            .success()
    );
    let text = romgate(dir.path(), &["user", "list"], "", &[("ROMM_PROT", "8081")]);
    let stderr = String::from_utf8_lossy(&text.stderr);
    assert!(stderr.contains("did you mean ROMM_PORT?"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "no escape codes in a pipe: {stderr:?}");

    let json = romgate(
        dir.path(),
        &["user", "list"],
        "",
        &[("ROMM_PROT", "8081"), ("ROMGATE_LOG_FORMAT", "json")],
    );
    assert!(json.status.success(), "{json:?}");
    let stderr = String::from_utf8_lossy(&json.stderr);
    // Every log line; the command's own line naming its database is not one.
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|line| !line.starts_with("database: "))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["level"] == "WARN"
            && l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("did you mean ROMM_PORT?"))),
        "{stderr}"
    );

    let unknown = romgate(dir.path(), &["user", "list"], "", &[("ROMGATE_LOG_FORMAT", "xml")]);
    assert_eq!(unknown.status.code(), Some(2), "{unknown:?}");
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains("configuration error: ROMGATE_LOG_FORMAT: 'xml' is not a log format"),
        "{stderr}"
    );
}

#[test]
fn a_base_url_with_a_path_stops_the_start_saying_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = romgate(
        dir.path(),
        &["user", "list"],
        "",
        &[("ROMM_BASE_URL", "https://example.org/romgate")],
    );
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("configuration error: ROMM_BASE_URL: 'https://example.org/romgate' has a path"),
        "{stderr}"
    );
    assert!(
        stderr.contains("use a subdomain or a proxy that strips the prefix"),
        "{stderr}"
    );
}

/// `serve` logs each finding of `Config::startup_warnings` once and runs on.
#[test]
fn serve_warns_when_the_port_is_not_the_base_urls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_romgate"))
        .env_clear()
        .env("ROMM_DATA_PATH", dir.path())
        .env("ROMM_PORT", port.to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut answer = None;
    while Instant::now() < deadline && answer.is_none() {
        answer = http_get(port, "/api/heartbeat");
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let output = child.wait_with_output().expect("exits");
    assert!(answer.is_some_and(|a| a.starts_with("HTTP/1.1 200")), "it serves");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!(
        "configuration warning: romgate listens on port {port} (ROMM_PORT), but ROMM_BASE_URL (http://localhost:8080) is on port 8080; if no reverse proxy is in front"
    );
    assert_eq!(stderr.matches(&expected).count(), 1, "{stderr}");
}
