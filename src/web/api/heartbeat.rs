//! `GET /api/heartbeat`: liveness and the public configuration a client
//! needs before signing in. Never a secret. After setup it touches no
//! database (the "admin exists" answer is cached).

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use crate::error::AppResult;
use crate::web::state::AppState;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/heartbeat", get(get_heartbeat))
}

/// The answer, as a typed struct: serialized straight to bytes, without the
/// map of maps `json!` builds. Fields are in alphabetical order, as before.
#[derive(Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
struct Heartbeat<'a> {
    frontend: Frontend,
    oidc: OidcInfo<'a>,
    setup: Setup,
    system: System,
    version: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
struct Frontend {
    disable_userpass_login: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
struct OidcInfo<'a> {
    autologin: bool,
    enabled: bool,
    provider: &'a str,
    rp_initiated_logout: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
struct Setup {
    needed: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
struct System {
    show_setup_wizard: bool,
    version: &'static str,
}

async fn get_heartbeat(State(state): State<AppState>) -> AppResult<Response> {
    let config = &state.config;
    let setup_needed = state.auth.setup_needed().await?;
    let oidc = config.oidc.as_ref();
    Ok(Json(Heartbeat {
        frontend: Frontend {
            disable_userpass_login: config.disable_userpass_login,
        },
        oidc: OidcInfo {
            autologin: oidc.is_some_and(|o| o.autologin),
            enabled: oidc.is_some(),
            provider: oidc.map(|o| o.provider_name.as_str()).unwrap_or(""),
            rp_initiated_logout: oidc.is_some_and(|o| o.rp_initiated_logout),
        },
        setup: Setup { needed: setup_needed },
        system: System {
            show_setup_wizard: setup_needed && !config.disable_setup_wizard,
            version: VERSION,
        },
        version: VERSION,
    })
    .into_response())
}
