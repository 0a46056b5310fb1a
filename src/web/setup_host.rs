//! While setup is open, anyone who can make a browser send a request to
//! romgate could create the first administrator. A web page cannot read
//! romgate's answers (another origin), but with DNS rebinding it can: its
//! own name (`rebind.attacker.example`) first resolves to the attacker's
//! server, which serves the page, then to romgate's address. The browser
//! then treats romgate as the attacker's page's own origin, and the
//! request carries `Host: rebind.attacker.example`.
//!
//! So the setup (the `/setup` page and the anonymous `POST /api/users`)
//! answers only under a name that cannot be an attacker's: the host of
//! `ROMM_BASE_URL`, an IP address, `localhost`, a name without a dot (`nas`,
//! a container's name, what a reverse proxy often passes on) or a name
//! under a suffix that public DNS does not serve (`.local`, `.lan`,
//! `.home.arpa`, `.internal`, `.localdomain`, `.home`). A first boot
//! reached by the machine's address or its local name works as before; one
//! reached by another public name is told to set `ROMM_BASE_URL` to it.

use std::net::IpAddr;

use axum::http::{HeaderMap, header, uri::Authority};
use url::Url;

use crate::error::{AppError, Code, Kind};

/// Suffixes public DNS does not serve (RFC 6761, RFC 6762, RFC 8375, and
/// the ones home routers hand out).
const LOCAL_SUFFIXES: &[&str] = &[
    ".local",
    ".lan",
    ".home.arpa",
    ".internal",
    ".localdomain",
    ".home",
    ".localhost",
];

/// Whether the setup may answer a request with these headers.
pub fn check(base_url: &Url, headers: &HeaderMap) -> Result<(), AppError> {
    // Every browser sends Host; a client that sends none is no rebinding.
    let Some(value) = headers.get(header::HOST) else {
        return Ok(());
    };
    let host = value
        .to_str()
        .ok()
        .and_then(|text| text.parse::<Authority>().ok())
        .map(|authority| authority.host().trim_end_matches('.').to_ascii_lowercase());
    match host {
        Some(host) if allowed(base_url, &host) => Ok(()),
        _ => Err(refusal(base_url)),
    }
}

fn allowed(base_url: &Url, host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    base_url.host_str().is_some_and(|own| {
        own.trim_start_matches('[')
            .trim_end_matches(']')
            .eq_ignore_ascii_case(bare)
    }) || bare.parse::<IpAddr>().is_ok()
        || host == "localhost"
        || !host.contains('.')
        || LOCAL_SUFFIXES.iter().any(|suffix| host.ends_with(suffix))
}

fn refusal(base_url: &Url) -> AppError {
    AppError::refuse(
        Kind::Forbidden,
        Code::SetupHostNotAllowed,
        "The first administrator can only be created at this server's own address. Open romgate by its IP \
         address or by the address in ROMM_BASE_URL.",
    )
    .hint(format!(
        "This request named a host other than ROMM_BASE_URL's ({base_url}), an IP address or a local name: \
         if that is the address people use, set ROMM_BASE_URL to it (cookies and links need it too). The check \
         guards the open setup against DNS rebinding."
    ))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn answer(base: &str, host: &str) -> bool {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_str(host).expect("header"));
        check(&Url::parse(base).expect("url"), &headers).is_ok()
    }

    #[test]
    fn the_servers_own_names_are_allowed() {
        let base = "https://romm.example.com";
        for host in [
            "romm.example.com",
            "ROMM.example.com:443",
            "romm.example.com.",
            "192.168.1.10:8080",
            "[fd00::5]:8080",
            "localhost:8080",
            "romgate:8080",
            "nas",
            "nas.local",
            "romm.home.arpa",
            "box.lan",
            "app.localhost",
        ] {
            assert!(answer(base, host), "{host}");
        }
        assert!(answer("http://[::1]:8080", "[::1]:8080"));
    }

    #[test]
    fn other_public_names_are_refused() {
        for host in [
            "rebind.attacker.example",
            "romm.example.com.attacker.example",
            "example.com",
            "local.attacker.example",
            "not a host",
        ] {
            assert!(!answer("https://romm.example.com", host), "{host}");
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            header::HOST,
            HeaderValue::from_bytes(b"caf\xc3\xa9.example").expect("header"),
        );
        assert!(check(&Url::parse("http://localhost:8080").expect("url"), &headers).is_err());
    }

    #[test]
    fn a_request_without_host_is_no_rebinding() {
        let base = Url::parse("http://localhost:8080").expect("url");
        assert!(check(&base, &HeaderMap::new()).is_ok());
    }
}
