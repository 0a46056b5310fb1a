//! Device sign-in, the device's side (SPEC 8.3): RomM's
//! `/api/auth/device/init` and `/token`, and RFC 8628's device
//! authorization and device_code grant, over one table.
//!
//! Guarantees:
//! - Starting and polling are counted per client address BEFORE any work
//!   (RomM's limits: 10 starts and 60 polls a minute), on every instance.
//! - The device code and user code are stored only as keyed hashes
//!   (`device_codes`); the client token's secret is generated at the one
//!   poll that receives it, so no plain token is ever stored.
//! - Of any number of polls after an approval, on any instances, exactly
//!   one receives the token (`Store::issue_device_token` is one
//!   conditional transition); every other gets `expired_token`.
//! - A device code answers only on the endpoint of the flow that made it:
//!   RomM's codes on RomM's poll, an RFC 8628 client's codes on
//!   `/api/token` with the same `client_id`.

use std::fmt;

use super::device_codes::{self, MAX_DEVICE_CODE};
use super::rate_limit::RateLimitPolicy;
use super::tokens::PlainToken;
use super::{Auth, Scope, ScopeSet};
use crate::error::{AppError, AppResult, Code, Kind};
use crate::store::{NewDeviceFlow, StoreError, Unique};

/// How long a person has to approve, and the device to collect (RomM: 600).
pub const DEVICE_FLOW_SECONDS: i64 = 600;
/// Seconds a device waits between polls (RomM and RFC 8628: 5).
pub const POLL_INTERVAL_SECONDS: i64 = 5;
/// Where a person approves a device (RomM's path).
pub const VERIFICATION_PATH: &str = "/pair/device";
/// The scopes an RFC 8628 client gets asked for when it names none: what
/// browsing and downloading the library needs.
pub const DEFAULT_OAUTH_SCOPES: &[Scope] = &[Scope::MeRead, Scope::PlatformsRead, Scope::RomsRead];

/// Device sign-ins started from one client address (RomM: 10 a minute).
/// Each start stores a row until it expires.
pub const DEVICE_STARTS_PER_ADDRESS: RateLimitPolicy = RateLimitPolicy {
    name: "device-start-address",
    max_events: 10,
    window_seconds: 60,
    message: "Too many device sign-ins were started from your network. Wait a minute and try again.",
};
/// Polls for a device token from one client address (RomM: 60 a minute).
pub const DEVICE_POLLS_PER_ADDRESS: RateLimitPolicy = RateLimitPolicy {
    name: "device-poll-address",
    max_events: 60,
    window_seconds: 60,
    message: "Too many polling attempts from your network. Wait a minute and try again.",
};

/// Longest text fields of a start (RomM's limits, in characters).
const MAX_IDENTIFIER: usize = 255;
const MAX_NAME: usize = 255;
const MAX_CLIENT: usize = 50;
const MAX_DETAIL: usize = 50;
/// Draws of a user code before giving up on collisions (each is one in
/// 31^8; a second draw is already rare).
const USER_CODE_DRAWS: usize = 4;

/// What a RomM app sends to start (RomM's `DeviceAuthInitPayload`).
#[derive(Debug, Clone, Default)]
pub struct DeviceRequest {
    pub client_device_identifier: String,
    pub name: String,
    pub client: String,
    pub platform: Option<String>,
    pub client_version: Option<String>,
    pub requested_scopes: Vec<String>,
}

/// A started flow: the codes as handed to the device, once.
pub struct StartedDeviceFlow {
    pub device_code: String,
    /// As the device shows it: RomM's flow plain, RFC 8628 grouped.
    pub user_code: String,
    pub expires_in: i64,
    pub interval: i64,
}

impl fmt::Debug for StartedDeviceFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StartedDeviceFlow(***)")
    }
}

/// Which endpoint a poll came to.
#[derive(Debug, Clone, Copy)]
pub enum PollEndpoint<'a> {
    /// `POST /api/auth/device/token`.
    Romm,
    /// `POST /api/token`, device_code grant, with this `client_id`.
    OAuth { client_id: &'a str },
}

/// The token one poll receives.
#[derive(Debug)]
pub struct DeviceToken {
    pub access_token: PlainToken,
    pub device_id: String,
    pub scopes: ScopeSet,
    pub expires_at: Option<i64>,
}

/// Why `value` cannot be stored as `field`: too long, or holding a control
/// character (a NUL, which PostgreSQL refuses in text; a line break, which
/// a device list would show).
fn unfit(field: &str, value: &str, max: usize) -> Option<AppError> {
    if value.chars().count() > max {
        return Some(AppError::bad_request(
            Code::InvalidRequest,
            format!("{field} is longer than {max} characters."),
        ));
    }
    value
        .chars()
        .any(char::is_control)
        .then(|| AppError::bad_request(Code::InvalidRequest, format!("{field} holds a control character.")))
}

fn required(field: &str, value: &str, max: usize) -> AppResult<()> {
    if value.trim().is_empty() {
        return Err(AppError::bad_request(
            Code::InvalidRequest,
            format!("{field} is required."),
        ));
    }
    unfit(field, value, max).map_or(Ok(()), Err)
}

fn optional(field: &str, value: Option<String>, max: usize) -> AppResult<Option<String>> {
    let value = value.filter(|v| !v.trim().is_empty());
    match value.as_deref().and_then(|v| unfit(field, v, max)) {
        Some(err) => Err(err),
        None => Ok(value),
    }
}

/// The requested scope names as a set: at least one, each known.
fn requested_scopes(names: &[String]) -> AppResult<ScopeSet> {
    if names.is_empty() || names.len() > Scope::ALL.len() {
        return Err(AppError::bad_request(
            Code::InvalidScope,
            format!("requested_scopes must name between 1 and {} scopes.", Scope::ALL.len()),
        ));
    }
    let mut unknown: Vec<&str> = names
        .iter()
        .filter(|n| Scope::parse(n).is_none())
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        unknown.sort_unstable();
        unknown.dedup();
        return Err(AppError::bad_request(
            Code::InvalidScope,
            format!("Unknown scopes: {}.", unknown.join(", ")),
        ));
    }
    Ok(ScopeSet::of(
        &names.iter().filter_map(|n| Scope::parse(n)).collect::<Vec<_>>(),
    ))
}

fn refusal(code: Code, message: &'static str) -> AppError {
    AppError::refuse(Kind::BadRequest, code, message)
}

fn expired() -> AppError {
    refusal(
        Code::ExpiredToken,
        "This device code is unknown, expired or already used. Start the sign-in again.",
    )
}

impl Auth {
    /// RomM's `/api/auth/device/init`: checks the request, counts the
    /// start for `client`, stores a pending flow.
    pub async fn start_device_flow(
        &self,
        request: DeviceRequest,
        client: &str,
        now: i64,
    ) -> AppResult<StartedDeviceFlow> {
        required(
            "client_device_identifier",
            &request.client_device_identifier,
            MAX_IDENTIFIER,
        )?;
        required("name", &request.name, MAX_NAME)?;
        required("client", &request.client, MAX_CLIENT)?;
        let platform = optional("platform", request.platform, MAX_DETAIL)?;
        let client_version = optional("client_version", request.client_version, MAX_DETAIL)?;
        let scopes = requested_scopes(&request.requested_scopes)?;
        DEVICE_STARTS_PER_ADDRESS
            .count_address(&self.store, client, now)
            .await?;
        let flow = FlowFields {
            oauth_client_id: None,
            client_device_identifier: &request.client_device_identifier,
            name: &request.name,
            client: &request.client,
            platform: platform.as_deref(),
            client_version: client_version.as_deref(),
            scopes,
        };
        let started = self.store_device_flow(&flow, now).await?;
        tracing::info!(client = %request.client, "device sign-in started");
        Ok(started)
    }

    /// RFC 8628's device authorization request from the OAuth client
    /// `client_id` asking for `scope` (space-separated; none asks for
    /// `DEFAULT_OAUTH_SCOPES`). Each such sign-in becomes its own device,
    /// named after the client: a generic client cannot say which physical
    /// device it runs on.
    pub async fn start_oauth_device_flow(
        &self,
        client_id: &str,
        scope: Option<&str>,
        client: &str,
        now: i64,
    ) -> AppResult<StartedDeviceFlow> {
        required("client_id", client_id, MAX_IDENTIFIER).map_err(|_| {
            AppError::bad_request(Code::InvalidRequest, "client_id is required (at most 255 characters).")
        })?;
        let scopes = match scope.filter(|s| !s.trim().is_empty()) {
            None => ScopeSet::of(DEFAULT_OAUTH_SCOPES),
            Some(list) => ScopeSet::parse(list)
                .map_err(|unknown| AppError::bad_request(Code::InvalidScope, format!("Unknown scope: {unknown}.")))?,
        };
        DEVICE_STARTS_PER_ADDRESS
            .count_address(&self.store, client, now)
            .await?;
        let identifier = format!("oauth:{client_id}:{}", device_codes::new_device_id());
        let flow = FlowFields {
            oauth_client_id: Some(client_id),
            client_device_identifier: &identifier,
            name: client_id,
            client: client_id,
            platform: None,
            client_version: None,
            scopes,
        };
        let mut started = self.store_device_flow(&flow, now).await?;
        started.user_code = device_codes::grouped(&started.user_code);
        tracing::info!(client_id, "device sign-in started (RFC 8628)");
        Ok(started)
    }

    async fn store_device_flow(&self, flow: &FlowFields<'_>, now: i64) -> AppResult<StartedDeviceFlow> {
        let device_code = device_codes::new_device_code();
        let device_code_hash = device_codes::device_code_hash(&self.tokens, &device_code);
        let requested_scopes = flow.scopes.to_string();
        for _ in 0..USER_CODE_DRAWS {
            let user_code = device_codes::new_user_code();
            let user_code_hash = device_codes::user_code_hash(&self.tokens, &user_code);
            let row = NewDeviceFlow {
                device_code_hash: &device_code_hash,
                user_code_hash: &user_code_hash,
                oauth_client_id: flow.oauth_client_id,
                client_device_identifier: flow.client_device_identifier,
                name: flow.name,
                client: flow.client,
                platform: flow.platform,
                client_version: flow.client_version,
                requested_scopes: &requested_scopes,
                poll_interval: POLL_INTERVAL_SECONDS,
                now,
                expires_at: now + DEVICE_FLOW_SECONDS,
            };
            match self.store.insert_device_flow(&row).await {
                Ok(()) => {
                    return Ok(StartedDeviceFlow {
                        device_code,
                        user_code,
                        expires_in: DEVICE_FLOW_SECONDS,
                        interval: POLL_INTERVAL_SECONDS,
                    });
                }
                Err(StoreError::Conflict(Unique::Other)) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(AppError::internal("no free device user code after several draws"))
    }

    /// A device's poll: `authorization_pending`, `slow_down` (sooner than
    /// the interval after its last poll), `access_denied`, `expired_token`,
    /// or, for exactly one poll after the approval, the client token.
    pub async fn poll_device_flow(
        &self,
        device_code: &str,
        endpoint: PollEndpoint<'_>,
        client: &str,
        now: i64,
    ) -> AppResult<DeviceToken> {
        DEVICE_POLLS_PER_ADDRESS.count_address(&self.store, client, now).await?;
        if device_code.is_empty() || device_code.len() > MAX_DEVICE_CODE {
            return Err(AppError::bad_request(Code::InvalidRequest, "device_code is required."));
        }
        let hash = device_codes::device_code_hash(&self.tokens, device_code);
        let Some(flow) = self.store.find_device_flow(&hash, now).await? else {
            return Err(expired());
        };
        match (endpoint, flow.oauth_client_id.as_deref()) {
            (PollEndpoint::Romm, None) => {}
            (PollEndpoint::OAuth { client_id }, Some(own)) if own == client_id => {}
            (PollEndpoint::Romm, Some(_)) => return Err(expired()),
            (PollEndpoint::OAuth { .. }, _) => {
                return Err(refusal(
                    Code::InvalidGrant,
                    "This device code was issued to another client.",
                ));
            }
        }
        match flow.status.as_str() {
            "pending" => {
                let in_time = self.store.record_device_poll(&hash, now).await?;
                Err(if in_time {
                    refusal(
                        Code::AuthorizationPending,
                        "The sign-in is waiting for a person to approve it.",
                    )
                } else {
                    refusal(
                        Code::SlowDown,
                        "Polling too fast: wait the interval between polls (5 seconds more from now on).",
                    )
                })
            }
            "denied" => Err(refusal(Code::AccessDenied, "The person denied this sign-in.")),
            "approved" => self.issue_device_token(&hash, now).await,
            _ => Err(expired()),
        }
    }

    async fn issue_device_token(&self, device_code_hash: &str, now: i64) -> AppResult<DeviceToken> {
        let access_token = PlainToken::client();
        let Some(token_hash) = self.tokens.client_token_hash(access_token.expose()) else {
            return Err(AppError::internal("a new client token does not have its own shape"));
        };
        let Some(issued) = self
            .store
            .issue_device_token(device_code_hash, &token_hash, now)
            .await?
        else {
            // Another poll received it a moment ago.
            return Err(expired());
        };
        let device_id = issued.device_id.unwrap_or_default();
        tracing::info!(device_id = %device_id, token_id = issued.token_id, "device sign-in token issued");
        Ok(DeviceToken {
            access_token,
            device_id,
            scopes: ScopeSet::parse(&issued.scopes).unwrap_or(ScopeSet::EMPTY),
            expires_at: issued.expires_at,
        })
    }
}

/// The fields of a flow about to be stored, from either kind of start.
struct FlowFields<'a> {
    oauth_client_id: Option<&'a str>,
    client_device_identifier: &'a str,
    name: &'a str,
    client: &'a str,
    platform: Option<&'a str>,
    client_version: Option<&'a str>,
    scopes: ScopeSet,
}
