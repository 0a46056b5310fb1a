//! Devices (RomM's `/api/devices`, SPEC 8.4): one's own, listed and
//! revoked. Revoking one revokes every client token bound to it.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use serde::Serialize;

use super::users::Timestamp;
use crate::error::AppResult;
use crate::store::Device;
use crate::web::extract::{ApiPath, Authorized, DevicesRead, DevicesWrite};
use crate::web::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/devices", get(list_devices))
        .route("/api/devices/{id}", delete(delete_device))
}

/// The fields of RomM's DeviceSchema that romgate keeps.
#[derive(Serialize)]
struct DeviceView {
    id: String,
    user_id: i64,
    name: String,
    platform: Option<String>,
    client: Option<String>,
    client_version: Option<String>,
    last_seen: Option<Timestamp>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<Device> for DeviceView {
    fn from(device: Device) -> Self {
        DeviceView {
            id: device.id,
            user_id: device.user_id,
            name: device.name,
            platform: device.platform,
            client: device.client,
            client_version: device.client_version,
            last_seen: device.last_seen_at.map(Timestamp),
            created_at: Timestamp(device.created_at),
            updated_at: Timestamp(device.updated_at),
        }
    }
}

async fn list_devices(
    State(state): State<AppState>,
    Authorized(actor, ..): Authorized<DevicesRead>,
) -> AppResult<Json<Vec<DeviceView>>> {
    let devices = state.auth.list_own_devices(&actor).await?;
    Ok(Json(devices.into_iter().map(DeviceView::from).collect()))
}

async fn delete_device(
    State(state): State<AppState>,
    Authorized(actor, ..): Authorized<DevicesWrite>,
    ApiPath(id): ApiPath<String>,
) -> AppResult<StatusCode> {
    state.auth.revoke_own_device(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
