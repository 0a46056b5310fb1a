//! Device sign-in, the person's side (SPEC 8.3): what a code asks for, and
//! the decision. Shared by the API (`/api/auth/device/*`) and the page
//! (`/pair/device`).
//!
//! Guarantees:
//! - A person grants no more than they hold: the approved scopes must be a
//!   non-empty subset of what the device asked for intersected with the
//!   approver's own scopes (for a browser session, their role). A client
//!   token cannot approve a device wider than itself.
//! - A decision is one conditional transition (`pending` to `approved` or
//!   `denied`): of two decisions racing, on one instance or two, one is
//!   made and the other is told the code is already decided (410). An
//!   approval writes the device and its token in the same transaction.
//! - Unknown and expired codes look alike (404); each decision, and each
//!   refused approval, writes one sign-in log line.

use super::client_tokens::{MAX_CLIENT_TOKENS_PER_USER, token_limit_reached};
use super::device_codes::{self, MAX_TYPED_USER_CODE};
use super::sign_in_log::{self, Method};
use super::{Auth, Principal, Scope, ScopeSet};
use crate::error::{AppError, AppResult, Code, Kind};
use crate::store::{Approval, DeviceApprovalRow, DeviceFlow};

/// Longest device name a person may give (RomM's limit).
const MAX_DEVICE_NAME: usize = 255;

/// A pending code, as the approval screen shows it (RomM's
/// `DeviceAuthPendingSchema`).
#[derive(Debug, Clone)]
pub struct PendingDevice {
    pub client_device_identifier: String,
    pub name: String,
    pub client: String,
    pub platform: Option<String>,
    pub client_version: Option<String>,
    pub requested: ScopeSet,
    /// What the approver may grant of `requested`.
    pub allowed: ScopeSet,
    pub expires_at: i64,
}

/// A person's approval (RomM's `DeviceAuthApprovePayload`).
#[derive(Debug, Clone, Default)]
pub struct DeviceApproval {
    pub user_code: String,
    pub approved_scopes: Vec<String>,
    pub device_name: Option<String>,
    /// `30d`, `90d`, `1y` or `never` (none: never).
    pub expires_in: Option<String>,
}

/// What an approval created or renewed.
#[derive(Debug, Clone)]
pub struct ApprovedDevice {
    pub device_id: String,
    pub device_name: String,
}

fn unknown_code() -> AppError {
    AppError::not_found("This code is unknown or has expired. Start the sign-in on the device again.")
}

fn decided(status: &str) -> AppError {
    let message = match status {
        "denied" => "This code was already denied. Start the sign-in on the device again.",
        _ => "This code was already approved.",
    };
    AppError::refuse(Kind::Gone, Code::AlreadyDecided, message)
}

/// The typed code's length, checked before anything is looked up.
fn typed_code(user_code: &str) -> AppResult<&str> {
    if user_code.trim().is_empty() || user_code.len() > MAX_TYPED_USER_CODE {
        return Err(AppError::bad_request(
            Code::InvalidRequest,
            "user_code is required (the 8 characters the device shows).",
        ));
    }
    Ok(user_code)
}

impl Auth {
    /// The pending flow behind a typed user code: 404 when unknown or
    /// expired, 410 when already decided.
    async fn pending_flow(&self, typed: &str, now: i64) -> AppResult<(String, DeviceFlow)> {
        let Some(code) = device_codes::normalise_user_code(typed) else {
            return Err(unknown_code());
        };
        let hash = device_codes::user_code_hash(&self.tokens, &code);
        match self.store.find_device_flow_by_user_code(&hash, now).await? {
            None => Err(unknown_code()),
            Some(flow) if flow.status != "pending" => Err(decided(&flow.status)),
            Some(flow) => Ok((hash, flow)),
        }
    }

    /// What the device behind `user_code` asks `person` for.
    pub async fn pending_device(&self, user_code: &str, person: &Principal, now: i64) -> AppResult<PendingDevice> {
        let (_, flow) = self.pending_flow(user_code, now).await?;
        let requested = ScopeSet::parse(&flow.requested_scopes).unwrap_or(ScopeSet::EMPTY);
        Ok(PendingDevice {
            client_device_identifier: flow.client_device_identifier,
            name: flow.name,
            client: flow.client,
            platform: flow.platform,
            client_version: flow.client_version,
            requested,
            allowed: requested.intersect(person.scopes),
            expires_at: flow.expires_at,
        })
    }

    /// Approves the device behind the code for `person`: its device row
    /// (created, or renamed when this person approved the same device
    /// before) and a client token with the approved scopes, which the
    /// device's next poll receives.
    pub async fn approve_device(
        &self,
        person: &Principal,
        approval: DeviceApproval,
        client: &str,
        now: i64,
    ) -> AppResult<ApprovedDevice> {
        let user_code = typed_code(&approval.user_code)?;
        let device_name = approval.device_name.as_deref().map(str::trim).filter(|n| !n.is_empty());
        if device_name.is_some_and(|n| n.chars().count() > MAX_DEVICE_NAME) {
            return Err(AppError::bad_request(
                Code::InvalidRequest,
                "The device name is longer than 255 characters.",
            ));
        }
        if device_name.is_some_and(|n| n.chars().any(char::is_control)) {
            return Err(AppError::bad_request(
                Code::InvalidRequest,
                "The device name holds a control character.",
            ));
        }
        let expires_at = device_codes::token_expiry(approval.expires_in.as_deref(), now)?;
        let result = self
            .decide_approval(
                person,
                user_code,
                &approval.approved_scopes,
                device_name,
                expires_at,
                now,
            )
            .await;
        let username = &person.user.username;
        match &result {
            Ok(_) => sign_in_log::succeeded(Method::DeviceApproval, username, client),
            Err(AppError::Refused(refusal)) => {
                sign_in_log::failed(Method::DeviceApproval, username, client, refusal.code)
            }
            Err(AppError::Internal(_)) => {}
        }
        result
    }

    async fn decide_approval(
        &self,
        person: &Principal,
        user_code: &str,
        approved: &[String],
        device_name: Option<&str>,
        token_expires_at: Option<i64>,
        now: i64,
    ) -> AppResult<ApprovedDevice> {
        let (hash, flow) = self.pending_flow(user_code, now).await?;
        let requested = ScopeSet::parse(&flow.requested_scopes).unwrap_or(ScopeSet::EMPTY);
        let allowed = requested.intersect(person.scopes);
        let scopes = approved_within(approved, allowed)?;
        let device_name = device_name.unwrap_or(&flow.name).to_string();
        let new_device_id = device_codes::new_device_id();
        let minter = person.credential.minter();
        let row = DeviceApprovalRow {
            user_code_hash: &hash,
            user_id: person.user.id,
            new_device_id: &new_device_id,
            device_name: &device_name,
            scopes: &scopes.to_string(),
            token_expires_at,
            now,
            minted_by: &minter,
        };
        match self.store.approve_device_flow(&row, MAX_CLIENT_TOKENS_PER_USER).await? {
            Approval::Approved(approved) => {
                tracing::info!(
                    user_id = person.user.id,
                    device_id = %approved.device_id,
                    token_id = approved.token_id,
                    scopes = %scopes,
                    "device sign-in approved"
                );
                Ok(ApprovedDevice {
                    device_id: approved.device_id,
                    device_name,
                })
            }
            Approval::NotPending => Err(self.why_undecidable(&hash, now).await),
            Approval::TokenLimit => Err(token_limit_reached()),
        }
    }

    /// Denies the device behind the code.
    pub async fn deny_device(&self, person: &Principal, user_code: &str, client: &str, now: i64) -> AppResult<()> {
        let user_code = typed_code(user_code)?;
        let username = &person.user.username;
        let result = async {
            let (hash, _) = self.pending_flow(user_code, now).await?;
            if self.store.deny_device_flow(&hash, person.user.id, now).await? {
                Ok(())
            } else {
                Err(self.why_undecidable(&hash, now).await)
            }
        }
        .await;
        match &result {
            Ok(()) => sign_in_log::declined(Method::DeviceApproval, username, client),
            Err(AppError::Refused(refusal)) => {
                sign_in_log::failed(Method::DeviceApproval, username, client, refusal.code)
            }
            Err(AppError::Internal(_)) => {}
        }
        result
    }

    /// Why a decision matched no pending flow: decided meanwhile (410), or
    /// expired or gone (404).
    async fn why_undecidable(&self, user_code_hash: &str, now: i64) -> AppError {
        match self.store.find_device_flow_by_user_code(user_code_hash, now).await {
            Ok(Some(flow)) => decided(&flow.status),
            Ok(None) => unknown_code(),
            Err(err) => err.into(),
        }
    }
}

/// The approved scope names as a set, if they are a non-empty subset of
/// `allowed`; else 403.
fn approved_within(names: &[String], allowed: ScopeSet) -> AppResult<ScopeSet> {
    let mut set = Vec::with_capacity(names.len());
    for name in names {
        match Scope::parse(name) {
            Some(scope) if allowed.contains(scope) => set.push(scope),
            _ => {
                return Err(AppError::forbidden(
                    Code::InsufficientScope,
                    "Approved scopes must be ones the device asked for and your role allows.",
                ));
            }
        }
    }
    if set.is_empty() {
        return Err(AppError::forbidden(
            Code::InsufficientScope,
            "Approve at least one of the scopes the device asked for.",
        ));
    }
    Ok(ScopeSet::of(&set))
}
