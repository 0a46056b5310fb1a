//! Who is on the other end, for the per-address login limit. By default the
//! TCP peer's address, and nothing a client writes: X-Forwarded-For is read
//! only when the connection comes from a proxy listed in
//! ROMGATE_TRUSTED_PROXIES, and then only its right-most address that is
//! not itself a trusted proxy (entries further left are whatever the client
//! sent, so a client cannot pick its own address).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::web::state::AppState;

pub const FORWARDED_FOR: &str = "x-forwarded-for";

/// The client's address, for rate limiting ("unknown" when the server runs
/// without connection info, as in in-process tests).
pub struct ClientAddr(pub String);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let address = peer.map(|peer| client_address(peer, &parts.headers, &state.config.trusted_proxies));
        Ok(ClientAddr(address.map_or_else(|| "unknown".into(), |a| a.to_string())))
    }
}

/// The peer, unless it is a trusted proxy: then the right-most address of
/// X-Forwarded-For (all its header lines, in order) that is not a trusted
/// proxy. Falls back to the peer when the header is missing or that entry is
/// not an IP address, and to the left-most entry when every one is trusted.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.contains(&peer) {
        return peer;
    }
    let chain: Vec<&str> = headers
        .get_all(FORWARDED_FOR)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .collect();
    let mut nearest_trusted = None;
    for entry in chain.iter().rev() {
        match parse_entry(entry) {
            Some(address) if trusted.contains(&address) => nearest_trusted = Some(address),
            Some(address) => return address,
            None => return peer,
        }
    }
    nearest_trusted.unwrap_or(peer)
}

/// `203.0.113.5`, `2001:db8::1`, or with a port: `203.0.113.5:4711`,
/// `[2001:db8::1]:4711`.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    if let Ok(address) = entry.parse::<IpAddr>() {
        return Some(address.to_canonical());
    }
    entry.parse::<SocketAddr>().ok().map(|s| s.ip().to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("test address")
    }

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(FORWARDED_FOR, HeaderValue::from_str(line).expect("header"));
        }
        headers
    }

    #[test]
    fn the_header_is_ignored_unless_the_peer_is_a_trusted_proxy() {
        let peer = ip("198.51.100.9");
        let spoofed = headers(&["203.0.113.5"]);
        assert_eq!(client_address(peer, &spoofed, &[]), peer);
        assert_eq!(client_address(peer, &spoofed, &[ip("10.0.0.2")]), peer);
    }

    #[test]
    fn the_right_most_untrusted_address_is_the_client() {
        let proxy = ip("10.0.0.2");
        let trusted = [proxy, ip("10.0.0.3")];
        for (lines, expected) in [
            (vec!["203.0.113.5"], "203.0.113.5"),
            // The client wrote the left-most entry itself.
            (vec!["1.2.3.4, 203.0.113.5"], "203.0.113.5"),
            // Two trusted proxies in a row.
            (vec!["1.2.3.4, 203.0.113.5, 10.0.0.3"], "203.0.113.5"),
            (vec!["1.2.3.4", "203.0.113.5, 10.0.0.3"], "203.0.113.5"),
            (vec!["203.0.113.5:4711"], "203.0.113.5"),
            (vec!["[2001:db8::1]:4711"], "2001:db8::1"),
            (vec!["::ffff:203.0.113.5"], "203.0.113.5"),
            // Every entry trusted: the left-most.
            (vec!["10.0.0.3, 10.0.0.2"], "10.0.0.3"),
            // Missing, empty or garbled: the proxy itself.
            (vec![], "10.0.0.2"),
            (vec![""], "10.0.0.2"),
            (vec!["1.2.3.4, unknown"], "10.0.0.2"),
        ] {
            assert_eq!(
                client_address(proxy, &headers(&lines), &trusted),
                ip(expected),
                "{lines:?}"
            );
        }
    }

    #[test]
    fn a_mapped_ipv4_peer_matches_its_plain_form() {
        let trusted = [ip("10.0.0.2")];
        let mapped = ip("::ffff:10.0.0.2");
        assert_eq!(
            client_address(mapped, &headers(&["203.0.113.5"]), &trusted),
            ip("203.0.113.5")
        );
    }
}
