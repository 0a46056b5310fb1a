//! The fail2ban filter in contrib/ against what the real binary logs, with
//! the real `fail2ban-regex` (Debian's package `fail2ban`; `.ci/run`
//! installs it). romgate runs behind a "proxy" (ROMGATE_TRUSTED_PROXIES), so
//! X-Forwarded-For chooses each attempt's client address; failures by each
//! way in, successes and crafted usernames go in, and the filter must find
//! exactly the addresses that failed, each as often as it failed.

use std::collections::BTreeMap;
use std::process::Command;

use reqwest::{Client, RequestBuilder, StatusCode};

use crate::romgate::{RomgateServer, romgate_port};

const FILTER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/contrib/fail2ban/filter.d/romgate.conf");
const PASSWORD: &str = "a long password";
const FORWARDED_FOR: &str = "x-forwarded-for";

/// One client's calls, each from the address it names.
struct Caller<'a> {
    client: Client,
    server: &'a RomgateServer,
}

impl Caller<'_> {
    async fn send(&self, request: RequestBuilder, from: &str) -> StatusCode {
        let response = request
            .header(FORWARDED_FOR, from)
            .send()
            .await
            .expect("romgate answers");
        response.status()
    }

    async fn login(&self, from: &str, username: &str, password: &str) -> StatusCode {
        let request = self
            .client
            .post(self.server.url("/api/login"))
            .basic_auth(username, Some(password));
        self.send(request, from).await
    }

    async fn basic(&self, from: &str, username: &str, password: &str) -> StatusCode {
        let request = self
            .client
            .get(self.server.url("/api/users/me"))
            .basic_auth(username, Some(password));
        self.send(request, from).await
    }

    async fn token(&self, from: &str, username: &str, password: &str) -> StatusCode {
        let form = [
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
        ];
        let request = self.client.post(self.server.url("/api/token")).form(&form);
        self.send(request, from).await
    }

    async fn raw_authorization(&self, from: &str, value: &str) -> StatusCode {
        let request = self
            .client
            .get(self.server.url("/api/users/me"))
            .header("authorization", value);
        self.send(request, from).await
    }
}

/// Runs `fail2ban-regex -o ip LOG FILTER`: the address of each matched line.
fn fail2ban_matches(log: &std::path::Path) -> Vec<String> {
    let output = Command::new("fail2ban-regex")
        .arg("-o")
        .arg("ip")
        .arg(log)
        .arg(FILTER)
        .output();
    let output = match output {
        Ok(output) => output,
        Err(err) => panic!(
            "fail2ban-regex is missing ({err}): this test checks the fail2ban filter with the real tool. \
             Install it with `apt-get install fail2ban` (.ci/run does)."
        ),
    };
    assert!(
        output.status.success(),
        "fail2ban-regex failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs fail2ban-regex; run with --ignored"]
async fn the_fail2ban_filter_finds_exactly_the_failed_addresses() {
    let env = [("ROMGATE_TRUSTED_PROXIES", "127.0.0.1"), ("RUST_LOG", "info")];
    let server = tokio::task::block_in_place(|| RomgateServer::start_logged(romgate_port(), &env));
    let create = ["user", "create", "alice", "--role", "viewer", "--password-stdin"];
    server.cli(&create, &format!("{PASSWORD}\n"));
    let caller = Caller {
        client: Client::new(),
        server: &server,
    };
    let (denied, bad_request, limited) = (
        StatusCode::UNAUTHORIZED,
        StatusCode::BAD_REQUEST,
        StatusCode::TOO_MANY_REQUESTS,
    );

    // Failures by each way in, each from its own address.
    for _ in 0..3 {
        assert_eq!(caller.login("198.51.100.1", "bob", "guess").await, denied);
    }
    for _ in 0..2 {
        assert_eq!(caller.basic("198.51.100.2", "carol", "guess").await, denied);
    }
    for _ in 0..4 {
        assert_eq!(caller.token("198.51.100.3", "alice", "guess").await, denied);
    }
    assert_eq!(caller.basic("2001:db8::5", "dave", "guess").await, denied);
    assert_eq!(
        caller.raw_authorization("198.51.100.4", "Basic YWxpY2U=").await,
        bad_request
    );
    // 10 failures per username and address, then refusals (also failures).
    for n in 0..11 {
        let expected = if n < 10 { denied } else { limited };
        assert_eq!(caller.login("198.51.100.6", "erin", "guess").await, expected, "{n}");
    }
    // Only the right-most address a trusted proxy adds counts, not what the
    // client wrote before it.
    assert_eq!(caller.login("6.6.6.6, 198.51.100.7", "frank", "guess").await, denied);

    // Crafted usernames that name another address or mimic a whole line.
    let forged_line = "x\n2026-12-01T10:00:00.000000Z  INFO romgate::sign_in: sign-in result=failure \
                       method=basic client=6.6.6.6 user=\"y";
    assert_eq!(caller.login("198.51.100.5", "x client=6.6.6.6", "guess").await, denied);
    // (Its closing quote is the field's: `user="x client=6.6.6.6 user="`.)
    assert_eq!(
        caller.login("198.51.100.5", "x client=6.6.6.6 user=", "guess").await,
        denied
    );
    assert_eq!(
        caller
            .basic(
                "198.51.100.5",
                "x\" result=failure method=basic client=6.6.6.6 user=\"y",
                "guess"
            )
            .await,
        denied
    );
    assert_eq!(caller.token("198.51.100.5", forged_line, "guess").await, denied);

    // Successes (the second Basic call is served from the cache: no line).
    assert_eq!(caller.login("198.51.100.9", "alice", PASSWORD).await, StatusCode::OK);
    assert_eq!(caller.basic("198.51.100.9", "alice", PASSWORD).await, StatusCode::OK);
    assert_eq!(caller.basic("198.51.100.9", "alice", PASSWORD).await, StatusCode::OK);
    assert_eq!(caller.token("198.51.100.9", "alice", PASSWORD).await, StatusCode::OK);

    let log = server.log();
    let lines = |result: &str| {
        let start = format!(" romgate::sign_in: sign-in result={result} ");
        log.lines().filter(|line| line.contains(&start)).count()
    };
    let (failures, successes) = (lines("failure"), lines("success"));
    assert_eq!(successes, 3, "login, Basic (checked once), token grant:\n{log}");

    let mut found: BTreeMap<String, usize> = BTreeMap::new();
    for address in fail2ban_matches(&server.log_path()) {
        *found.entry(address).or_default() += 1;
    }
    let expected: BTreeMap<String, usize> = [
        ("198.51.100.1", 3),
        ("198.51.100.2", 2),
        ("198.51.100.3", 4),
        ("198.51.100.4", 1),
        ("198.51.100.5", 4),
        ("198.51.100.6", 11),
        ("198.51.100.7", 1),
        ("2001:db8::5", 1),
    ]
    .into_iter()
    .map(|(address, count)| (address.to_string(), count))
    .collect();
    assert_eq!(found, expected, "fail2ban's matches; romgate's log:\n{log}");
    assert_eq!(
        failures,
        expected.values().sum::<usize>(),
        "every failure line matched:\n{log}"
    );
}
