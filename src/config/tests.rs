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
fn a_database_password_anywhere_in_the_url_is_masked() {
    for (url, shown) in [
        (
            "postgres://romm@db/romm?password=hunter2",
            "postgres://romm@db/romm?password=***",
        ),
        (
            "postgres://romm:hunter2@db/romm?sslmode=require&PASSWORD=hunter2",
            "postgres://romm:***@db/romm?sslmode=require&PASSWORD=***",
        ),
        // Not a URL to the parser (the `/` ends the authority early): all of
        // it could be the password.
        ("postgres://romm:hunter2/x@db/romm", "postgres://***"),
        // Parsed, but with the authority ended early (host romm, no port).
        ("postgres://romm:/hunter2@db/romm", "postgres://***"),
        ("postgres://romm:12/hunter2@db", "postgres://***"),
        ("postgres://romm:?hunter2@db", "postgres://***"),
        ("postgresql://romm:hun#ter2@db/romm", "postgresql://***"),
    ] {
        let url = crate::config::DatabaseUrl::new(url);
        assert_eq!(url.redacted(), shown);
        assert!(!format!("{url:?}").contains("hunter2") && !format!("{url:?}").contains("ter2"));
    }
    let sqlite = crate::config::DatabaseUrl::new("sqlite://data/romgate.db");
    assert_eq!(sqlite.redacted(), "sqlite://data/romgate.db");
}

#[test]
fn an_empty_application_url_is_as_missing_as_an_unset_one() {
    for empty in ["", "  "] {
        let mut pairs = oidc_vars();
        pairs.push(("OIDC_SERVER_APPLICATION_URL", empty));
        let lines = errors(&pairs);
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("OIDC_SERVER_METADATA_URL or OIDC_SERVER_APPLICATION_URL is required")),
            "{empty:?}: {lines:?}"
        );
    }
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

fn typo_vars() -> Vec<(&'static str, &'static str)> {
    let mut pairs = oidc_vars();
    pairs.push(("OIDC_SERVER_APPLICATION_URL", "https://auth.example.com"));
    pairs.push(("OIDC_CLAIM_ROLE", "groups"));
    pairs.push(("OIDC_ROLE_VIEWER", "romm-users"));
    pairs.push(("OIDC_ROLE_ADMIN", "romm-admins"));
    pairs
}

#[test]
fn a_role_mapping_without_the_roles_claim_stops_startup_naming_both() {
    let lines = errors(&typo_vars());
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    for name in ["OIDC_CLAIM_ROLES", "OIDC_ROLE_VIEWER", "OIDC_ROLE_ADMIN"] {
        assert!(line.contains(name), "{name} missing from {line}");
    }
    assert!(!line.contains("OIDC_ROLE_EDITOR"), "{line}");
    assert!(
        line.contains("OIDC_CLAIM_ROLE is set: a misspelling of OIDC_CLAIM_ROLES"),
        "{line}"
    );
    // One role alone, the wildcard included, is refused the same way.
    let mut pairs = oidc_vars();
    pairs.push(("OIDC_SERVER_APPLICATION_URL", "https://auth.example.com"));
    pairs.push(("OIDC_ROLE_VIEWER", "*"));
    let lines = errors(&pairs);
    assert!(
        lines.len() == 1 && lines[0].starts_with("OIDC_CLAIM_ROLES is empty while OIDC_ROLE_VIEWER is set"),
        "{lines:?}"
    );
}

#[test]
fn a_role_mapping_with_its_claim_or_with_sso_off_is_accepted() {
    let mut pairs = typo_vars();
    pairs.push(("OIDC_CLAIM_ROLES", "groups"));
    let config = Config::from_vars(vars(&pairs)).expect("valid");
    assert!(config.fail_closed_problems().is_empty());
    let off = Config::from_vars(vars(&[("OIDC_ENABLED", "false"), ("OIDC_ROLE_ADMIN", "romm-admins")]))
        .expect("SSO is off: the mapping is never used");
    assert!(off.fail_closed_problems().is_empty());
}

#[test]
fn a_misspelt_switch_meant_to_close_something_stops_the_start() {
    for (name, value) in [
        ("DISABLE_SETUP_WIZZARD", "true"),
        ("disable_userpass_login", "yes"),
        ("OIDC_ALLOW_REGISTRATON", "false"),
    ] {
        let lines = errors(&[(name, value)]);
        assert!(
            lines.len() == 1 && lines[0].starts_with(&format!("{name} is set to {value} but")),
            "{name}: {lines:?}"
        );
    }
    assert!(errors(&[("DISABLE_SETUP_WIZZARD", "true")])[0].ends_with("rename it to DISABLE_SETUP_WIZARD"));
    // A value as an env file with CRLF lines or spaces leaves it, and a real
    // name set but empty, close nothing either.
    for pairs in [
        vec![("DISABLE_SETUP_WIZZARD", "true\r")],
        vec![("DISABLE_SETUP_WIZZARD", " yes ")],
        vec![("DISABLE_SETUP_WIZZARD", "true"), ("DISABLE_SETUP_WIZARD", "")],
    ] {
        assert_eq!(errors(&pairs).len(), 1, "{pairs:?}");
    }
    // What makes cookies Secure and turns HSTS on, misspelt.
    for (name, value) in [
        ("ROMM_BASE_UR", "https://games.example.com"),
        ("ROMM_SESSION_SECURE_COOKIES", "true"),
    ] {
        let lines = errors(&[(name, value)]);
        assert!(
            lines.len() == 1 && lines[0].starts_with(&format!("{name} is set to")),
            "{name}: {lines:?}"
        );
    }
    assert!(Config::from_vars(vars(&[("ROMM_BASE_UR", "http://games.lan")])).is_ok());
    // A closing switch under a name romgate has nothing like.
    for (name, value) in [
        ("DISABLE_PASSWORD_LOGIN", "true"),
        ("DISABLE_LOCAL_LOGIN", "1"),
        ("OIDC_REGISTRATION", "false"),
    ] {
        let lines = errors(&[(name, value)]);
        assert!(
            lines.len() == 1 && lines[0].contains("so it closes nothing; romgate's switches are"),
            "{name}: {lines:?}"
        );
    }
    for (name, value) in [
        ("DISABLE_REGISTRATION", "true"),
        ("DISABLE_SIGNIN", "true"),
        ("DISABLE_BASIC_AUTH", "yes"),
        ("OIDC_ALLOW_SIGN_UP", "false"),
    ] {
        assert_eq!(errors(&[(name, value)]).len(), 1, "{name}");
    }
    for pairs in [
        vec![("DISABLE_PASSWORD_LOGIN", "false")],
        vec![("DISABLE_EMULATOR_JS", "true")],
        vec![("OIDC_REGISTRATION", "true")],
        vec![("DISABLE_REGISTRATION", "false")],
        vec![("DISABLE_TELEMETRY", "1")],
    ] {
        assert!(Config::from_vars(vars(&pairs)).is_ok(), "{pairs:?}");
    }
    // Its opening value, or the real name set beside it, closes nothing less
    // than meant: a warning only.
    for pairs in [
        vec![("DISABLE_SETUP_WIZZARD", "false")],
        vec![("OIDC_ALLOW_REGISTRATON", "true")],
        vec![("DISABLE_SETUP_WIZZARD", "true"), ("DISABLE_SETUP_WIZARD", "true")],
        vec![("DISABLE_CSRF_PROTECTON", "true")],
    ] {
        let config = Config::from_vars(vars(&pairs)).expect("starts");
        assert_eq!(config.unknown_variables.len(), 1, "{pairs:?}");
    }
    // The check reports it instead of stopping.
    let config = Config::from_vars_for_check(vars(&[("DISABLE_SETUP_WIZZARD", "1")])).expect("loads");
    assert_eq!(config.fail_closed_problems().len(), 1);
}

#[test]
fn the_check_loads_a_fail_closed_configuration_to_report_it() {
    let config = Config::from_vars_for_check(vars(&typo_vars())).expect("loads for the check");
    assert_eq!(config.fail_closed_problems().len(), 1);
    // Other mistakes still stop the check at once.
    let mut pairs = typo_vars();
    pairs.push(("ROMM_PORT", "eighty"));
    assert!(Config::from_vars_for_check(vars(&pairs)).is_err());
}

#[test]
fn unknown_variables_are_named_with_the_closest_known_name() {
    let names = [
        "OIDC_CLAIM_ROLE",
        "ROMM_PROT",
        "oidc_enabled",
        "ROMGATE_TRUSTED_PROXY",
        "ROMM_BASE_PATH",
        "DB_QUERY_JSON",
        "DB_FOO",
        "ROMGATE_SOMETHING_ELSE",
        "OIDC_ENABLED",
        "ROMM_PORT",
        "PATH",
        "REDIS_HOST",
        "IGDB_CLIENT_ID",
        "HOSTNAME",
        "DISABLE_EMULATOR_JS",
        "DISABLE_SETUP_WIZZARD",
        "disable_userpass_login",
        "OAUTH_ACCESS_TOKEN_EXPIRES_SECONDS",
    ];
    let found = unknown_variables(names);
    let misspelt = |name: &str, known: &'static str| UnknownVariable::Misspelt {
        name: name.into(),
        known,
    };
    assert_eq!(
        found,
        vec![
            UnknownVariable::Unknown { name: "DB_FOO".into() },
            UnknownVariable::RommOnly {
                name: "DB_QUERY_JSON".into()
            },
            UnknownVariable::RommOnly {
                name: "DISABLE_EMULATOR_JS".into()
            },
            misspelt("DISABLE_SETUP_WIZZARD", "DISABLE_SETUP_WIZARD"),
            misspelt(
                "OAUTH_ACCESS_TOKEN_EXPIRES_SECONDS",
                "OAUTH_ACCESS_TOKEN_EXPIRE_SECONDS"
            ),
            misspelt("OIDC_CLAIM_ROLE", "OIDC_CLAIM_ROLES"),
            UnknownVariable::Unknown {
                name: "ROMGATE_SOMETHING_ELSE".into()
            },
            misspelt("ROMGATE_TRUSTED_PROXY", "ROMGATE_TRUSTED_PROXIES"),
            UnknownVariable::RommOnly {
                name: "ROMM_BASE_PATH".into()
            },
            misspelt("ROMM_PROT", "ROMM_PORT"),
            misspelt("disable_userpass_login", "DISABLE_USERPASS_LOGIN"),
            misspelt("oidc_enabled", "OIDC_ENABLED"),
        ]
    );
    let text: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert!(
        text.contains(&"RomM's ROMM_BASE_PATH is not used by romgate".to_string()),
        "{text:?}"
    );
    assert!(
        text.contains(&"OIDC_CLAIM_ROLE is not a variable romgate reads; did you mean OIDC_CLAIM_ROLES?".to_string()),
        "{text:?}"
    );
}

#[test]
fn a_hostile_variable_name_stays_on_one_log_line() {
    let found = unknown_variables(["ROMM_X\nforged line"]);
    assert_eq!(found.len(), 1);
    assert!(!found[0].to_string().contains('\n'), "{}", found[0]);
}

#[test]
fn the_configuration_carries_its_unknown_variables() {
    let config = Config::from_vars(vars(&[("ROMM_TMP_PATH", "/tmp/romm"), ("DB_HOTS", "db")])).expect("valid");
    let names: Vec<&str> = config.unknown_variables.iter().map(UnknownVariable::name).collect();
    assert_eq!(names, ["DB_HOTS", "ROMM_TMP_PATH"]);
    assert_eq!(config.unknown_variables[0].suggestion(), Some("DB_HOST"));
}

#[test]
fn edit_distance_counts_single_character_edits() {
    for (a, b, expected) in [
        ("", "", 0),
        ("ABC", "", 3),
        ("", "AB", 2),
        ("ROMM_PORT", "ROMM_PORT", 0),
        ("ROMM_PROT", "ROMM_PORT", 2),
        ("OIDC_CLAIM_ROLE", "OIDC_CLAIM_ROLES", 1),
        ("KITTEN", "SITTING", 3),
    ] {
        assert_eq!(unknown::edit_distance(a, b), expected, "{a} / {b}");
        assert_eq!(unknown::edit_distance(b, a), expected, "{b} / {a}");
    }
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
fn every_variable_this_file_reads_is_known_once() {
    // A variable read by `Env` but missing from KNOWN_VARIABLES would be
    // reported as unknown while it works: every quoted upper-case name here
    // must be in the list.
    let source = include_str!("mod.rs");
    let quoted = source.split('"').skip(1).step_by(2);
    let names: Vec<&str> = quoted
        .filter(|s| s.len() > 3 && s.contains('_') && s.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .collect();
    assert!(names.len() >= KNOWN_VARIABLES.len(), "{names:?}");
    for name in names {
        assert!(
            KNOWN_VARIABLES.contains(&name),
            "{name} is read but not in KNOWN_VARIABLES"
        );
    }
    let mut sorted = KNOWN_VARIABLES.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), KNOWN_VARIABLES.len(), "a name is listed twice");
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

#[test]
fn a_base_url_with_a_path_is_refused_but_a_trailing_slash_is_the_root() {
    let refused = errors(&[("ROMM_BASE_URL", "https://example.org/romgate")]);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].starts_with("ROMM_BASE_URL:"), "{refused:?}");
    assert!(refused[0].contains("root of its origin"), "{refused:?}");
    assert!(refused[0].contains("ROMM_BASE_URL=https://example.org"), "{refused:?}");
    assert!(!errors(&[("ROMM_BASE_URL", "https://example.org/romgate/")]).is_empty());
    for root in ["https://example.org", "https://example.org/", "http://localhost:8080/"] {
        assert!(errors(&[("ROMM_BASE_URL", root)]).is_empty(), "{root}");
    }
}

#[test]
fn the_discovery_url_remembers_which_variable_it_came_from() {
    let mut from_app = oidc_vars();
    from_app.push(("OIDC_SERVER_APPLICATION_URL", "https://auth.example.com"));
    let config = Config::from_vars(vars(&from_app)).expect("valid");
    assert_eq!(
        config.oidc.expect("oidc").metadata_url_from,
        "OIDC_SERVER_APPLICATION_URL"
    );
    from_app.push((
        "OIDC_SERVER_METADATA_URL",
        "https://auth.example.com/.well-known/openid-configuration",
    ));
    let config = Config::from_vars(vars(&from_app)).expect("valid");
    assert_eq!(config.oidc.expect("oidc").metadata_url_from, "OIDC_SERVER_METADATA_URL");
}

#[test]
fn an_unknown_log_format_is_refused_naming_the_variable() {
    assert!(errors(&[("ROMGATE_LOG_FORMAT", "json")]).is_empty());
    let refused = errors(&[("ROMGATE_LOG_FORMAT", "xml")]);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].starts_with("ROMGATE_LOG_FORMAT: 'xml'"), "{refused:?}");
}

#[test]
fn download_links_live_a_minute_to_a_day_and_downloads_are_private_by_default() {
    let config = Config::from_vars(HashMap::new()).expect("defaults are valid");
    assert_eq!(config.download_link_seconds, 900);
    assert!(!config.disable_download_endpoint_auth);
    let config = Config::from_vars(vars(&[
        ("ROMGATE_DOWNLOAD_LINK_SECONDS", "3600"),
        ("DISABLE_DOWNLOAD_ENDPOINT_AUTH", "true"),
    ]))
    .expect("valid");
    assert_eq!(config.download_link_seconds, 3600);
    assert!(config.disable_download_endpoint_auth);
    for bad in ["59", "86401", "0", "-5", "soon"] {
        let found = errors(&[("ROMGATE_DOWNLOAD_LINK_SECONDS", bad)]);
        assert_eq!(found.len(), 1, "{bad}: {found:?}");
        assert!(
            found[0].starts_with("ROMGATE_DOWNLOAD_LINK_SECONDS:"),
            "{bad}: {found:?}"
        );
    }
}
