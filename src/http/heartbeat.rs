//! `GET /api/heartbeat`: liveness and the public configuration a client
//! needs before signing in. Never a secret. After setup it touches no
//! database (the "admin exists" answer is cached).

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};

use crate::error::AppResult;
use crate::state::AppState;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/heartbeat", get(get_heartbeat))
}

async fn get_heartbeat(State(state): State<AppState>) -> AppResult<Json<Value>> {
    let config = &state.config;
    let setup_needed = state.auth.setup_needed().await?;
    let oidc = config.oidc.as_ref();
    Ok(Json(json!({
        "VERSION": VERSION,
        "SYSTEM": { "VERSION": VERSION, "SHOW_SETUP_WIZARD": setup_needed && !config.disable_setup_wizard },
        "OIDC": {
            "ENABLED": oidc.is_some(),
            "PROVIDER": oidc.map(|o| o.provider_name.as_str()).unwrap_or(""),
            "AUTOLOGIN": oidc.is_some_and(|o| o.autologin),
            "RP_INITIATED_LOGOUT": oidc.is_some_and(|o| o.rp_initiated_logout),
        },
        "FRONTEND": { "DISABLE_USERPASS_LOGIN": config.disable_userpass_login },
        "SETUP": { "NEEDED": setup_needed },
    })))
}
