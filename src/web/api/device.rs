//! RomM's device sign-in, `/api/auth/device/*` (SPEC 8.3): a device starts
//! (`init`) and polls (`token`) without credentials; the signed-in person
//! looks at the code (`pending`) and decides (`approve`, `deny`). The flows
//! are `auth::device_flow` and `auth::device_approval`.
//!
//! RomM's apps match the poll's refusals on `detail`, so those four carry
//! the bare code word there (`authorization_pending`, `slow_down`,
//! `access_denied`, `expired_token`). Answers holding codes or tokens are
//! never cached.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use crate::auth::{DeviceApproval, DeviceRequest, PendingDevice, PollEndpoint, ScopeSet, VERIFICATION_PATH};
use crate::error::{AppError, AppResult, Code};
use crate::web::error::refusal_response_with_detail;
use crate::web::extract::{ApiJson, ApiPath, Authorized, ClientAddr, MeRead, MeWrite};
use crate::web::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/device/init", post(init_device))
        .route("/api/auth/device/pending/{user_code}", get(get_pending_device))
        .route("/api/auth/device/approve", post(approve_device))
        .route("/api/auth/device/deny", post(deny_device))
        .route("/api/auth/device/token", post(poll_device_token))
}

#[derive(Deserialize)]
struct InitBody {
    client_device_identifier: String,
    name: String,
    client: String,
    platform: Option<String>,
    client_version: Option<String>,
    requested_scopes: Vec<String>,
}

#[derive(Serialize)]
struct InitAnswer {
    device_code: String,
    user_code: String,
    verification_path: &'static str,
    verification_path_complete: String,
    expires_in: i64,
    interval: i64,
}

/// `Cache-Control: no-store` on an answer that holds a code or a token.
fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

async fn init_device(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(body): ApiJson<InitBody>,
) -> AppResult<Response> {
    let request = DeviceRequest {
        client_device_identifier: body.client_device_identifier,
        name: body.name,
        client: body.client,
        platform: body.platform,
        client_version: body.client_version,
        requested_scopes: body.requested_scopes,
    };
    let started = state.auth.start_device_flow(request, &client, state.now()).await?;
    let complete = format!("{VERIFICATION_PATH}?user_code={}", started.user_code);
    let answer = InitAnswer {
        device_code: started.device_code,
        user_code: started.user_code,
        verification_path: VERIFICATION_PATH,
        verification_path_complete: complete,
        expires_in: started.expires_in,
        interval: started.interval,
    };
    Ok(no_store((StatusCode::CREATED, Json(answer)).into_response()))
}

/// RomM's `DeviceAuthPendingSchema`; scope lists sorted by name, as RomM's.
#[derive(Serialize)]
struct PendingAnswer {
    client_device_identifier: String,
    name: String,
    client: String,
    platform: Option<String>,
    client_version: Option<String>,
    requested_scopes: Vec<&'static str>,
    allowed_scopes: Vec<&'static str>,
    expires_at: String,
}

fn sorted_names(scopes: ScopeSet) -> Vec<&'static str> {
    let mut names = scopes.names();
    names.sort_unstable();
    names
}

impl From<PendingDevice> for PendingAnswer {
    fn from(pending: PendingDevice) -> Self {
        PendingAnswer {
            client_device_identifier: pending.client_device_identifier,
            name: pending.name,
            client: pending.client,
            platform: pending.platform,
            client_version: pending.client_version,
            requested_scopes: sorted_names(pending.requested),
            allowed_scopes: sorted_names(pending.allowed),
            expires_at: crate::clock::format_time(pending.expires_at),
        }
    }
}

async fn get_pending_device(
    State(state): State<AppState>,
    Authorized(person, _): Authorized<MeRead>,
    ApiPath(user_code): ApiPath<String>,
) -> AppResult<Json<PendingAnswer>> {
    let pending = state.auth.pending_device(&user_code, &person, state.now()).await?;
    Ok(Json(pending.into()))
}

#[derive(Deserialize)]
struct ApproveBody {
    user_code: String,
    approved_scopes: Vec<String>,
    device_name: Option<String>,
    expires_in: Option<String>,
}

#[derive(Serialize)]
struct ApproveAnswer {
    device_id: String,
    device_name: String,
}

async fn approve_device(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Authorized(person, _): Authorized<MeWrite>,
    ApiJson(body): ApiJson<ApproveBody>,
) -> AppResult<Json<ApproveAnswer>> {
    let approval = DeviceApproval {
        user_code: body.user_code,
        approved_scopes: body.approved_scopes,
        device_name: body.device_name,
        expires_in: body.expires_in,
    };
    let approved = state
        .auth
        .approve_device(&person, approval, &client, state.now())
        .await?;
    Ok(Json(ApproveAnswer {
        device_id: approved.device_id,
        device_name: approved.device_name,
    }))
}

#[derive(Deserialize)]
struct DenyBody {
    user_code: String,
}

async fn deny_device(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Authorized(person, _): Authorized<MeWrite>,
    ApiJson(body): ApiJson<DenyBody>,
) -> AppResult<Json<()>> {
    state
        .auth
        .deny_device(&person, &body.user_code, &client, state.now())
        .await?;
    Ok(Json(()))
}

#[derive(Deserialize)]
struct TokenBody {
    device_code: String,
}

/// RomM's `DeviceAuthTokenResponse`.
#[derive(Serialize)]
struct TokenAnswer<'a> {
    access_token: &'a str,
    device_id: String,
    scopes: Vec<&'static str>,
    expires_at: Option<String>,
}

async fn poll_device_token(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    body: Result<ApiJson<TokenBody>, AppError>,
) -> Response {
    let result = match body {
        Ok(ApiJson(body)) => {
            state
                .auth
                .poll_device_flow(&body.device_code, PollEndpoint::Romm, &client, state.now())
                .await
        }
        Err(err) => Err(err),
    };
    let response = match result {
        Ok(token) => Json(TokenAnswer {
            access_token: token.access_token.expose(),
            device_id: token.device_id,
            scopes: token.scopes.names(),
            expires_at: token.expires_at.map(crate::clock::format_time),
        })
        .into_response(),
        Err(AppError::Refused(refusal)) if is_poll_answer(refusal.code) => {
            refusal_response_with_detail(&refusal, refusal.code.as_str(), refusal.code.as_str())
        }
        Err(err) => err.into_response(),
    };
    no_store(response)
}

/// The refusals RomM's apps read from `detail`.
fn is_poll_answer(code: Code) -> bool {
    matches!(
        code,
        Code::AuthorizationPending | Code::SlowDown | Code::AccessDenied | Code::ExpiredToken
    )
}
