//! `GET /api/heartbeat`: liveness and the public configuration a client
//! needs before signing in. Never a secret. After setup it touches no
//! database (the "admin exists" answer is cached).
//!
//! The answer depends on the configuration, fixed for the process, and on
//! whether setup is still needed: both possible answers are written once,
//! when the router is built, and each request sends one of them. RomM's
//! clients call the heartbeat before anything else and on a timer, so it
//! is the most frequent request; serializing it each time was a sixth of
//! its instructions (bench/README.md).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use crate::config::Config;
use crate::error::AppResult;
use crate::web::state::AppState;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub fn routes(config: &Config) -> Router<AppState> {
    let answers = Arc::new(Answers::write(config));
    Router::new().route(
        "/api/heartbeat",
        get(move |State(state): State<AppState>| get_heartbeat(state, Arc::clone(&answers))),
    )
}

/// The two possible answers, as JSON.
struct Answers {
    setup_needed: Bytes,
    set_up: Bytes,
}

impl Answers {
    fn write(config: &Config) -> Self {
        Self {
            setup_needed: Bytes::from(answer_json(config, true)),
            set_up: Bytes::from(answer_json(config, false)),
        }
    }
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

async fn get_heartbeat(state: AppState, answers: Arc<Answers>) -> AppResult<Response> {
    let body = if state.auth.setup_needed().await? {
        answers.setup_needed.clone()
    } else {
        answers.set_up.clone()
    };
    let json = HeaderValue::from_static("application/json");
    Ok(([(header::CONTENT_TYPE, json)], body).into_response())
}

/// The answer for this configuration, and whether setup is needed.
fn answer_json(config: &Config, setup_needed: bool) -> Vec<u8> {
    let oidc = config.oidc.as_ref();
    let heartbeat = Heartbeat {
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
    };
    // Booleans and strings only: serializing cannot fail.
    serde_json::to_vec(&heartbeat).unwrap_or_default()
}
