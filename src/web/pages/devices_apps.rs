//! The devices page's apps half (SPEC 8.4), as the page shows it: the
//! person's devices (signed in by a device sign-in, each with the scopes of
//! its tokens) and their app tokens (made by hand, bound to no device),
//! each with its "Revoke" form, and the "Add an app" form. The forms'
//! handlers are `devices_app_forms`. Read through `Auth`'s own-token and
//! own-device flows: names, scopes and times, never a secret or a hash.

use std::collections::HashMap;

use axum::response::Response;

use super::guard::page_error;
use super::pair_device::{DEFAULT_EXPIRY, EXPIRIES, describe};
use crate::auth::client_tokens::granted_scopes;
use crate::auth::{Principal, Scope, ScopeSet};
use crate::clock::format_time_readable;
use crate::store::{ClientToken, Device};
use crate::web::state::AppState;

/// The scopes ticked on a fresh "Add an app" form: what an app needs to
/// show the person's games, nothing that changes anything.
const DEFAULT_SCOPES: &[Scope] = &[Scope::MeRead, Scope::RomsRead, Scope::PlatformsRead];

/// One device as the page lists it.
pub(super) struct DeviceItem {
    pub name: String,
    /// The app and its version ("argosy 1.4.2").
    pub app: String,
    pub platform: Option<String>,
    pub signed_in: String,
    pub last_seen: String,
    /// What its tokens allow (empty: an administrator revoked them).
    pub scopes: Vec<&'static str>,
    pub revoke_action: String,
}

/// One app token (bound to no device) as the page lists it.
pub(super) struct TokenItem {
    pub name: String,
    pub scopes: Vec<&'static str>,
    pub created: String,
    pub last_used: String,
    pub expires: String,
    pub expired: bool,
    pub revoke_action: String,
    pub pair_action: String,
}

/// One scope box of the "Add an app" form.
pub(super) struct ScopeChoice {
    pub name: &'static str,
    pub description: &'static str,
    pub checked: bool,
}

/// What the "Add an app" form was filled in with (after a refusal), or
/// nothing for a fresh form.
#[derive(Default)]
pub(super) struct AddTyped {
    pub name: String,
    pub scopes: Vec<String>,
    pub expires_in: String,
}

/// The "Add an app" form as the page shows it.
pub(super) struct AddForm {
    pub name: String,
    /// Only the scopes the person holds: nobody is offered more.
    pub scopes: Vec<ScopeChoice>,
    pub role: String,
    pub expiry: String,
    pub expiries: &'static [(&'static str, &'static str)],
    /// Why the last attempt was refused.
    pub error: Option<String>,
}

/// The devices page's apps sections.
pub(super) struct AppsView {
    pub devices: Vec<DeviceItem>,
    pub tokens: Vec<TokenItem>,
    pub add: AddForm,
}

pub(super) fn revoke_device_path(id: &str) -> String {
    format!("/devices/device/{id}/revoke")
}

pub(super) fn revoke_token_path(id: i64) -> String {
    format!("/devices/tokens/{id}/revoke")
}

pub(super) fn pair_token_path(id: i64) -> String {
    format!("/devices/tokens/{id}/pair")
}

/// "Never" for no time, else the time as the page reads it.
fn readable_or(unix: Option<i64>, none: &str) -> String {
    unix.map_or_else(|| none.to_string(), format_time_readable)
}

fn device_item(device: Device, scopes: ScopeSet) -> DeviceItem {
    let app = match (device.client, device.client_version) {
        (Some(client), Some(version)) => format!("{client} {version}"),
        (Some(client), None) => client,
        (None, _) => "Unknown app".to_string(),
    };
    DeviceItem {
        revoke_action: revoke_device_path(&device.id),
        name: device.name,
        app,
        platform: device.platform,
        signed_in: format_time_readable(device.created_at),
        last_seen: readable_or(device.last_seen_at, "Not yet"),
        scopes: scopes.names(),
    }
}

fn token_item(token: ClientToken, now: i64) -> TokenItem {
    TokenItem {
        revoke_action: revoke_token_path(token.id),
        pair_action: pair_token_path(token.id),
        scopes: granted_scopes(&token).names(),
        created: format_time_readable(token.created_at),
        last_used: readable_or(token.last_used_at, "Never"),
        expires: readable_or(token.expires_at, "Never"),
        expired: token.expires_at.is_some_and(|at| at <= now),
        name: token.name,
    }
}

/// The form's boxes: every scope `actor` holds, ticked as typed (or the
/// defaults on a fresh form).
fn add_form(actor: &Principal, typed: Option<&AddTyped>, error: Option<String>) -> AddForm {
    let scopes = Scope::ALL
        .into_iter()
        .filter(|scope| actor.has(*scope))
        .map(|scope| ScopeChoice {
            name: scope.as_str(),
            description: describe(scope),
            checked: match typed {
                Some(typed) => typed.scopes.iter().any(|s| s == scope.as_str()),
                None => DEFAULT_SCOPES.contains(&scope),
            },
        })
        .collect();
    let expiry = typed
        .map(|t| t.expires_in.clone())
        .filter(|e| EXPIRIES.iter().any(|(value, _)| value == e))
        .unwrap_or_else(|| DEFAULT_EXPIRY.to_string());
    AddForm {
        name: typed.map(|t| t.name.clone()).unwrap_or_default(),
        scopes,
        role: actor.user.role.to_string(),
        expiry,
        expiries: EXPIRIES,
        error,
    }
}

/// `actor`'s devices (each with the scopes of its tokens) and app tokens,
/// and the "Add an app" form (as typed, with its refusal, after one).
pub(super) async fn apps_view(
    state: &AppState,
    actor: &Principal,
    typed: Option<&AddTyped>,
    error: Option<String>,
) -> Result<AppsView, Response> {
    let devices = state.auth.list_own_devices(actor).await.map_err(page_error)?;
    let tokens = state.auth.list_own_client_tokens(actor).await.map_err(page_error)?;
    let now = state.now();
    let mut device_scopes: HashMap<String, ScopeSet> = HashMap::new();
    let mut app_tokens = Vec::new();
    for token in tokens {
        match &token.device_id {
            Some(device_id) => {
                let scopes = device_scopes.entry(device_id.clone()).or_insert(ScopeSet::EMPTY);
                *scopes = scopes.union(granted_scopes(&token));
            }
            None => app_tokens.push(token_item(token, now)),
        }
    }
    let devices = devices
        .into_iter()
        .map(|device| {
            let scopes = device_scopes.get(&device.id).copied().unwrap_or(ScopeSet::EMPTY);
            device_item(device, scopes)
        })
        .collect();
    Ok(AppsView {
        devices,
        tokens: app_tokens,
        add: add_form(actor, typed, error),
    })
}
