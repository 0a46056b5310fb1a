//! `romgate health`: asks the server running with this configuration
//! whether it is up, for a container's HEALTHCHECK (the runtime image has no
//! curl). Exit 0 when it answers 200, 1 otherwise, with one line saying why.
//!
//! Guarantees: only ever connects to this host (the listen address, or its
//! loopback when romgate listens on all addresses) and ROMM_PORT; gives up
//! after a few seconds, so a hung server fails the check instead of hanging
//! it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::config::Config;
use crate::error::AppError;

/// Liveness: the process serves HTTP (no database query).
const LIVE_PATH: &str = "/health/live";
/// RomM's heartbeat, which every romgate serves: asked when the server
/// predates GET /health/live (a 404 there), so a newer image's check works
/// against an older binary and the other way round.
const HEARTBEAT_PATH: &str = "/api/heartbeat";
const TIMEOUT: Duration = Duration::from_secs(5);

pub(super) async fn check(config: &Config) -> Result<(), AppError> {
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .map_err(|e| AppError::internal_from("cannot build the HTTP client", e))?;
    let base = base_url(config.listen_address, config.port);
    let mut url = format!("{base}{LIVE_PATH}");
    let mut status = get_status(&client, &url).await?;
    if status == reqwest::StatusCode::NOT_FOUND {
        url = format!("{base}{HEARTBEAT_PATH}");
        status = get_status(&client, &url).await?;
    }
    if status == reqwest::StatusCode::OK {
        println!("ok: {url} answered {status}");
        Ok(())
    } else {
        Err(AppError::internal(format!("unhealthy: {url} answered {status}")))
    }
}

async fn get_status(client: &reqwest::Client, url: &str) -> Result<reqwest::StatusCode, AppError> {
    match client.get(url).send().await {
        Ok(response) => Ok(response.status()),
        Err(err) => Err(AppError::internal(format!(
            "unhealthy: no answer from {url} ({})",
            describe(&err)
        ))),
    }
}

/// reqwest's own message names only the URL; the cause (refused, timed
/// out) is what the operator needs.
fn describe(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        return format!("no answer within {} s", TIMEOUT.as_secs());
    }
    let mut cause: &dyn std::error::Error = err;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// Where to reach the server from this host: its listen address, or the
/// loopback of the same family when it listens on all of them.
fn base_url(listen: IpAddr, port: u16) -> String {
    match listen {
        IpAddr::V4(ip) if ip.is_unspecified() => format!("http://{}:{port}", Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => format!("http://[{}]:{port}", Ipv6Addr::LOCALHOST),
        IpAddr::V4(ip) => format!("http://{ip}:{port}"),
        IpAddr::V6(ip) => format!("http://[{ip}]:{port}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_addresses_are_reached_on_the_loopback_of_their_family() {
        assert_eq!(base_url(IpAddr::from([0, 0, 0, 0]), 8080), "http://127.0.0.1:8080");
        assert_eq!(base_url(IpAddr::from(Ipv6Addr::UNSPECIFIED), 80), "http://[::1]:80");
        assert_eq!(base_url(IpAddr::from([10, 0, 0, 7]), 8080), "http://10.0.0.7:8080");
        assert_eq!(
            base_url("fd00::7".parse().expect("an address"), 8080),
            "http://[fd00::7]:8080"
        );
    }
}
