//! `/pair/device`: where a person approves or denies a device sign-in
//! (SPEC 8.3), the page RomM's apps send people to (by QR code or typed
//! address). Plain forms, no script: a code field when no code is given;
//! otherwise the device, the scopes it asks for (those the person's role
//! lacks shown disabled, with the reason), a name, an expiry, and Approve /
//! Deny. The decisions go through the same flows as the API
//! (`auth::device_approval`), so the same rules and the same log lines.
//!
//! A person who is not signed in is sent to sign in and back to this very
//! code (`next=/pair/device?user_code=…`), by password or single sign-on.

use askama::Template;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::account::check_form_csrf;
use super::guard::{PageResult, page_error, require_page};
use crate::auth::{DeviceApproval, PendingDevice, Principal, Role, Scope, grouped, normalise_user_code};
use crate::clock::format_time_readable;
use crate::error::{AppError, Kind, Refusal};
use crate::web::csrf::CsrfToken;
use crate::web::error::{add_refusal_headers, render, status_of};
use crate::web::extract::ClientAddr;
use crate::web::state::AppState;

pub const PAIR_PATH: &str = "/pair/device";
pub const APPROVE_PATH: &str = "/pair/device/approve";
pub const DENY_PATH: &str = "/pair/device/deny";

/// The expiry choices (RomM's), the default first chosen.
pub(super) const EXPIRIES: &[(&str, &str)] = &[
    ("30d", "30 days"),
    ("90d", "90 days"),
    ("1y", "1 year"),
    ("never", "Never"),
];
pub(super) const DEFAULT_EXPIRY: &str = "90d";

/// One scope the device asked for, as a checkbox.
struct ScopeRow {
    name: &'static str,
    description: &'static str,
    /// The person may grant it (else: shown disabled, with the reason).
    allowed: bool,
    checked: bool,
}

#[derive(Template)]
#[template(path = "pair_device.html")]
struct PairPage {
    csrf_token: String,
    is_admin: bool,
    /// A refusal to show above the form (an unknown code, a scope error).
    problem: Option<String>,
    problem_code: &'static str,
    /// What the code field holds (the typed code after a problem).
    typed_code: String,
    /// The device asking, when the code is pending.
    device: Option<DeviceView>,
}

struct DeviceView {
    /// The code, grouped as the device may show it (`ABCD-EFGH`).
    code: String,
    name: String,
    client: String,
    platform: Option<String>,
    version: Option<String>,
    expires: String,
    scopes: Vec<ScopeRow>,
    role: String,
    device_name: String,
    expiry: String,
    expiries: &'static [(&'static str, &'static str)],
}

#[derive(Template)]
#[template(path = "pair_device_done.html")]
struct DonePage {
    csrf_token: String,
    is_admin: bool,
    title: &'static str,
    message: &'static str,
}

#[derive(Deserialize, Default)]
pub struct PairQuery {
    user_code: Option<String>,
}

/// This page for `typed` (to come back to after signing in).
fn here(typed: Option<&str>) -> String {
    match typed.filter(|t| !t.trim().is_empty()) {
        None => PAIR_PATH.to_string(),
        Some(code) => {
            let code: String = url::form_urlencoded::byte_serialize(code.as_bytes()).collect();
            format!("{PAIR_PATH}?user_code={code}")
        }
    }
}

fn page(person: &Principal, csrf: &CsrfToken, typed: &str) -> PairPage {
    PairPage {
        csrf_token: csrf.0.clone(),
        is_admin: person.has(Scope::UsersWrite),
        problem: None,
        problem_code: "",
        typed_code: typed.to_string(),
        device: None,
    }
}

/// Plain words for each scope, for people deciding what to grant.
pub(super) fn describe(scope: Scope) -> &'static str {
    match scope {
        Scope::MeRead => "See your profile",
        Scope::MeWrite => "Change your profile",
        Scope::RomsRead => "See and download games",
        Scope::RomsWrite => "Upload, change and delete games",
        Scope::RomsUserRead => "See your notes, ratings and progress on games",
        Scope::RomsUserWrite => "Change your notes, ratings and progress on games",
        Scope::PlatformsRead => "See platforms",
        Scope::PlatformsWrite => "Change platforms",
        Scope::AssetsRead => "See your saves, states and screenshots",
        Scope::AssetsWrite => "Upload and change your saves, states and screenshots",
        Scope::DevicesRead => "See your devices",
        Scope::DevicesWrite => "Change your devices",
        Scope::FirmwareRead => "See and download firmware",
        Scope::FirmwareWrite => "Upload and delete firmware",
        Scope::CollectionsRead => "See collections",
        Scope::CollectionsWrite => "Change your collections",
        Scope::UsersRead => "See every account",
        Scope::UsersWrite => "Create, change and delete accounts",
        Scope::TasksRun => "Run server tasks, such as a library scan",
        Scope::LogsRead => "Read the server's logs",
    }
}

/// The approval form for a pending code; `checked` are the scopes ticked.
/// On a first visit: the allowed ones but those only administrators hold
/// (users, tasks, logs). Anyone can start a device sign-in asking for every
/// scope and send an administrator the link; one hasty click must not hand
/// that device the administration.
fn device_view(person: &Principal, code: &str, pending: PendingDevice, form: Option<&ApproveForm>) -> DeviceView {
    let scopes = pending
        .requested
        .iter()
        .map(|scope| {
            let allowed = pending.allowed.contains(scope);
            let checked = allowed
                && match form {
                    None => Role::Editor.scopes().contains(scope),
                    Some(f) => f.scopes.iter().any(|s| s == scope.as_str()),
                };
            ScopeRow {
                name: scope.as_str(),
                description: describe(scope),
                allowed,
                checked,
            }
        })
        .collect();
    let expiry = form
        .map(|f| f.expires_in.clone())
        .filter(|e| EXPIRIES.iter().any(|(value, _)| value == e))
        .unwrap_or_else(|| DEFAULT_EXPIRY.to_string());
    DeviceView {
        code: normalise_user_code(code).map_or_else(|| code.to_string(), |c| grouped(&c)),
        device_name: form.map_or_else(|| pending.name.clone(), |f| f.device_name.clone()),
        name: pending.name,
        client: pending.client,
        platform: pending.platform,
        version: pending.client_version,
        expires: format_time_readable(pending.expires_at),
        scopes,
        role: person.user.role.to_string(),
        expiry,
        expiries: EXPIRIES,
    }
}

/// A refusal about the code itself (unknown, expired, decided, malformed)
/// as this page with the code field again, in the refusal's status.
fn problem_page(person: &Principal, csrf: &CsrfToken, typed: &str, refusal: &Refusal) -> Response {
    let mut pair = page(person, csrf, typed);
    pair.problem = Some(refusal.message.to_string());
    pair.problem_code = refusal.code.as_str();
    let mut response = render(&pair, status_of(refusal.kind));
    add_refusal_headers(&mut response, refusal);
    response
}

fn about_the_code(refusal: &Refusal) -> bool {
    matches!(refusal.kind, Kind::NotFound | Kind::Gone | Kind::BadRequest)
}

pub async fn get_pair_device(
    State(state): State<AppState>,
    headers: HeaderMap,
    csrf: CsrfToken,
    query: Result<Query<PairQuery>, QueryRejection>,
) -> PageResult {
    let typed = query.ok().and_then(|Query(q)| q.user_code).unwrap_or_default();
    let person = require_page(&state, &headers, &[Scope::MeRead], &here(Some(&typed))).await?;
    if typed.trim().is_empty() {
        return Ok(render(&page(&person, &csrf, ""), StatusCode::OK));
    }
    match state.auth.pending_device(&typed, &person, state.now()).await {
        Ok(pending) => {
            let mut pair = page(&person, &csrf, &typed);
            pair.device = Some(device_view(&person, &typed, pending, None));
            Ok(render(&pair, StatusCode::OK))
        }
        Err(AppError::Refused(refusal)) if about_the_code(&refusal) => {
            Ok(problem_page(&person, &csrf, &typed, &refusal))
        }
        Err(err) => Err(page_error(err)),
    }
}

/// The approval form's fields; `scope` repeats (one per ticked box), which
/// is why it is read by hand rather than with `Form`.
#[derive(Default)]
struct ApproveForm {
    csrf_token: String,
    user_code: String,
    scopes: Vec<String>,
    device_name: String,
    expires_in: String,
}

impl ApproveForm {
    fn parse(body: &[u8]) -> Self {
        let mut form = ApproveForm::default();
        for (name, value) in url::form_urlencoded::parse(body) {
            let value = value.into_owned();
            match name.as_ref() {
                "csrf_token" => form.csrf_token = value,
                "user_code" => form.user_code = value,
                "scope" => form.scopes.push(value),
                "device_name" => form.device_name = value,
                "expires_in" => form.expires_in = value,
                _ => {}
            }
        }
        form
    }
}

pub async fn post_approve(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    csrf: CsrfToken,
    body: Bytes,
) -> PageResult {
    let form = ApproveForm::parse(&body);
    let person = require_page(&state, &headers, &[Scope::MeWrite], &here(Some(&form.user_code))).await?;
    check_form_csrf(&state, &headers, &form.csrf_token).map_err(page_error)?;
    let approval = DeviceApproval {
        user_code: form.user_code.clone(),
        approved_scopes: form.scopes.clone(),
        device_name: Some(form.device_name.clone()),
        expires_in: Some(form.expires_in.clone()),
    };
    let now = state.now();
    match state.auth.approve_device(&person, approval, &client, now).await {
        Ok(_) => Ok(done(
            &person,
            &csrf,
            "Device approved",
            "Approved. Your device signs in within a few seconds.",
        )),
        // A choice on the form was refused: the form again, as filled in.
        Err(AppError::Refused(refusal)) if matches!(refusal.kind, Kind::Forbidden | Kind::BadRequest) => {
            match state.auth.pending_device(&form.user_code, &person, now).await {
                Ok(pending) => {
                    let mut pair = page(&person, &csrf, &form.user_code);
                    pair.problem = Some(refusal.message.to_string());
                    pair.problem_code = refusal.code.as_str();
                    pair.device = Some(device_view(&person, &form.user_code, pending, Some(&form)));
                    Ok(render(&pair, status_of(refusal.kind)))
                }
                Err(AppError::Refused(other)) => Ok(problem_page(&person, &csrf, &form.user_code, &other)),
                Err(err) => Err(page_error(err)),
            }
        }
        Err(AppError::Refused(refusal)) => Ok(problem_page(&person, &csrf, &form.user_code, &refusal)),
        Err(err) => Err(page_error(err)),
    }
}

/// The deny form's fields (a missing one reads as empty, and is then
/// refused by the CSRF check or the flow, as a page).
#[derive(Default)]
struct DenyForm {
    csrf_token: String,
    user_code: String,
}

impl DenyForm {
    fn parse(body: &[u8]) -> Self {
        let mut form = DenyForm::default();
        for (name, value) in url::form_urlencoded::parse(body) {
            match name.as_ref() {
                "csrf_token" => form.csrf_token = value.into_owned(),
                "user_code" => form.user_code = value.into_owned(),
                _ => {}
            }
        }
        form
    }
}

pub async fn post_deny(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    csrf: CsrfToken,
    body: Bytes,
) -> PageResult {
    let form = DenyForm::parse(&body);
    let person = require_page(&state, &headers, &[Scope::MeWrite], &here(Some(&form.user_code))).await?;
    check_form_csrf(&state, &headers, &form.csrf_token).map_err(page_error)?;
    match state
        .auth
        .deny_device(&person, &form.user_code, &client, state.now())
        .await
    {
        Ok(()) => Ok(done(&person, &csrf, "Device denied", "Denied.")),
        Err(AppError::Refused(refusal)) => Ok(problem_page(&person, &csrf, &form.user_code, &refusal)),
        Err(err) => Err(page_error(err)),
    }
}

fn done(person: &Principal, csrf: &CsrfToken, title: &'static str, message: &'static str) -> Response {
    let page = DonePage {
        csrf_token: csrf.0.clone(),
        is_admin: person.has(Scope::UsersWrite),
        title,
        message,
    };
    render(&page, StatusCode::OK)
}
