use super::*;

fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn errors(pairs: &[(&str, &str)]) -> Vec<String> {
    match Config::from_vars(vars(pairs)) {
        Ok(_) => Vec::new(),
        Err(ConfigErrors(lines)) => lines,
    }
}

#[test]
fn defaults_are_the_embedded_sqlite_server() {
    let config = Config::from_vars(HashMap::new()).expect("defaults are valid");
    assert_eq!(config.port, 8080);
    assert_eq!(config.base_url.as_str(), "http://localhost:8080/");
    assert!(!config.secure_cookies);
    assert_eq!(config.session_max_age_seconds, 1_209_600);
    assert_eq!(config.access_token_expire_seconds, 1800);
    assert_eq!(config.refresh_token_expire_seconds, 604_800);
    assert!(config.database.expose().starts_with("sqlite://"));
    assert!(config.oidc.is_none());
}

#[test]
fn https_base_url_turns_secure_cookies_on() {
    let config = Config::from_vars(vars(&[("ROMM_BASE_URL", "https://romm.example.com")])).expect("valid");
    assert!(config.secure_cookies);
    let config = Config::from_vars(vars(&[
        ("ROMM_BASE_URL", "https://romm.example.com"),
        ("ROMM_SESSION_SECURE_COOKIE", "no"),
    ]))
    .expect("valid");
    assert!(!config.secure_cookies);
}

#[test]
fn booleans_accept_the_usual_spellings_in_any_case() {
    for (raw, expected) in [
        ("TRUE", true),
        ("1", true),
        ("Yes", true),
        ("false", false),
        ("0", false),
        ("NO", false),
    ] {
        let config = Config::from_vars(vars(&[("DISABLE_USERPASS_LOGIN", raw)])).expect("valid");
        assert_eq!(config.disable_userpass_login, expected, "{raw}");
    }
}

#[test]
fn every_problem_is_reported_at_once_naming_the_variable() {
    let lines = errors(&[
        ("DISABLE_CSRF_PROTECTION", "maybe"),
        ("ROMM_PORT", "eighty"),
        ("OIDC_ENABLED", "true"),
    ]);
    let text = lines.join("\n");
    assert!(text.contains("DISABLE_CSRF_PROTECTION"), "{text}");
    assert!(text.contains("ROMM_PORT"), "{text}");
    assert!(text.contains("OIDC_CLIENT_ID"), "{text}");
    assert!(text.contains("OIDC_CLIENT_SECRET"), "{text}");
    assert!(text.contains("OIDC_REDIRECT_URI"), "{text}");
    assert!(text.contains("OIDC_SERVER_METADATA_URL"), "{text}");
    assert_eq!(lines.len(), 6, "{text}");
}

#[test]
fn a_url_without_scheme_is_refused_with_a_hint() {
    let lines = errors(&[("ROMM_BASE_URL", "romm.example.com")]);
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].contains("ROMM_BASE_URL") && lines[0].contains("https://romm.example.com"),
        "{lines:?}"
    );
}

fn oidc_vars() -> Vec<(&'static str, &'static str)> {
    vec![
        ("OIDC_ENABLED", "true"),
        ("OIDC_CLIENT_ID", "romgate"),
        ("OIDC_CLIENT_SECRET", "s3cret"),
        ("OIDC_REDIRECT_URI", "http://localhost:8080/api/oauth/openid"),
    ]
}

#[test]
fn application_url_gets_the_well_known_path_with_or_without_slash() {
    for app in [
        "https://auth.example.com/realms/x",
        "https://auth.example.com/realms/x/",
    ] {
        let mut pairs = oidc_vars();
        pairs.push(("OIDC_SERVER_APPLICATION_URL", app));
        let config = Config::from_vars(vars(&pairs)).expect("valid");
        let oidc = config.oidc.expect("enabled");
        assert_eq!(
            oidc.metadata_url.as_str(),
            "https://auth.example.com/realms/x/.well-known/openid-configuration"
        );
        assert_eq!(oidc.username_attribute, "preferred_username");
        assert!(oidc.allow_registration);
    }
}

#[test]
fn metadata_url_wins_over_application_url() {
    let mut pairs = oidc_vars();
    pairs.push(("OIDC_SERVER_APPLICATION_URL", "https://ignored.example.com"));
    pairs.push(("OIDC_SERVER_METADATA_URL", "https://auth.example.com/custom/discovery"));
    let oidc = Config::from_vars(vars(&pairs)).expect("valid").oidc.expect("enabled");
    assert_eq!(oidc.metadata_url.as_str(), "https://auth.example.com/custom/discovery");
}

#[test]
fn client_secret_never_shows_in_debug_output() {
    let mut pairs = oidc_vars();
    pairs.push(("OIDC_SERVER_APPLICATION_URL", "https://auth.example.com"));
    pairs.push(("ROMM_AUTH_SECRET_KEY", "k3y-material"));
    let config = Config::from_vars(vars(&pairs)).expect("valid");
    let debug = format!("{config:?}");
    assert!(!debug.contains("s3cret") && !debug.contains("k3y-material"), "{debug}");
}

#[test]
fn an_unreadable_ca_file_is_a_startup_error() {
    let mut pairs = oidc_vars();
    pairs.push(("OIDC_SERVER_APPLICATION_URL", "https://auth.example.com"));
    pairs.push(("OIDC_TLS_CACERTFILE", "/nonexistent/ca.pem"));
    let lines = errors(&pairs);
    assert!(lines.iter().any(|l| l.contains("OIDC_TLS_CACERTFILE")), "{lines:?}");
}

#[test]
fn romm_db_variables_build_a_postgres_url_with_a_masked_password() {
    let config = Config::from_vars(vars(&[
        ("ROMM_DB_DRIVER", "postgresql"),
        ("DB_HOST", "db"),
        ("DB_USER", "romm"),
        ("DB_PASSWD", "p@ss/word"),
        ("DB_NAME", "romm"),
    ]))
    .expect("valid");
    assert!(config.database.is_postgres());
    assert!(config.database.expose().starts_with("postgres://romm:"));
    assert_eq!(config.database.redacted(), "postgres://romm:***@db:5432/romm");
    assert!(!format!("{:?}", config.database).contains("word"));
}

#[test]
fn unsupported_database_driver_is_named() {
    let lines = errors(&[("ROMM_DB_DRIVER", "mariadb")]);
    assert!(lines[0].contains("ROMM_DB_DRIVER"), "{lines:?}");
}

#[test]
fn library_path_and_upload_limit_have_defaults_and_overrides() {
    let config = Config::from_vars(HashMap::new()).expect("defaults are valid");
    assert_eq!(config.library_path, PathBuf::from("./library"));
    assert_eq!(config.max_upload_bytes, 4 * 1024 * 1024 * 1024);
    let config = Config::from_vars(vars(&[
        ("ROMM_LIBRARY_PATH", "/srv/roms"),
        ("ROMGATE_MAX_UPLOAD_BYTES", "1000"),
    ]))
    .expect("valid");
    assert_eq!(config.library_path, PathBuf::from("/srv/roms"));
    assert_eq!(config.max_upload_bytes, 1000);
    for bad in ["0", "-1", "lots"] {
        let lines = errors(&[("ROMGATE_MAX_UPLOAD_BYTES", bad)]);
        assert!(
            lines.iter().any(|l| l.starts_with("ROMGATE_MAX_UPLOAD_BYTES")),
            "{bad}: {lines:?}"
        );
    }
}

#[test]
fn trusted_proxies_are_a_list_of_addresses() {
    let config = Config::from_vars(HashMap::new()).expect("defaults are valid");
    assert!(config.trusted_proxies.is_empty(), "no proxy is trusted by default");
    let config = Config::from_vars(vars(&[(
        "ROMGATE_TRUSTED_PROXIES",
        " 10.0.0.2, fd00::2,,::ffff:10.0.0.3 ",
    )]))
    .expect("valid");
    let expected: Vec<std::net::IpAddr> = ["10.0.0.2", "fd00::2", "10.0.0.3"]
        .iter()
        .map(|a| a.parse().expect("address"))
        .collect();
    assert_eq!(config.trusted_proxies, expected);
    let lines = errors(&[("ROMGATE_TRUSTED_PROXIES", "10.0.0.0/8, proxy.local")]);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines.iter().all(|l| l.starts_with("ROMGATE_TRUSTED_PROXIES:")),
        "{lines:?}"
    );
}

#[test]
fn the_listen_address_defaults_to_all_ipv4_and_takes_any_ip() {
    let config = Config::from_vars(HashMap::new()).expect("defaults");
    assert_eq!(config.listen_address, IpAddr::from([0, 0, 0, 0]));
    for (raw, expected) in [
        ("127.0.0.1", "127.0.0.1"),
        ("::", "::"),
        ("[::1]", "::1"),
        (" fd00::2 ", "fd00::2"),
    ] {
        let config = Config::from_vars(vars(&[("ROMGATE_LISTEN_ADDRESS", raw)])).expect(raw);
        assert_eq!(config.listen_address.to_string(), expected, "{raw}");
    }
    for bad in ["localhost", "0.0.0.0:8080", "256.1.1.1"] {
        let lines = errors(&[("ROMGATE_LISTEN_ADDRESS", bad)]);
        assert_eq!(lines.len(), 1, "{bad}: {lines:?}");
        assert!(lines[0].starts_with("ROMGATE_LISTEN_ADDRESS:"), "{}", lines[0]);
    }
}

#[test]
fn the_connection_cap_has_a_default_and_must_be_positive() {
    let config = Config::from_vars(HashMap::new()).expect("defaults");
    assert_eq!(config.max_connections, 256);
    let config = Config::from_vars(vars(&[("ROMGATE_MAX_CONNECTIONS", "40")])).expect("valid");
    assert_eq!(config.max_connections, 40);
    for bad in ["0", "-1", "many"] {
        let lines = errors(&[("ROMGATE_MAX_CONNECTIONS", bad)]);
        assert!(
            lines.iter().any(|l| l.starts_with("ROMGATE_MAX_CONNECTIONS:")),
            "{bad}: {lines:?}"
        );
    }
}
