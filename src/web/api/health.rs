//! `GET /health/live` and `GET /health/ready`, for a container's health
//! check, a load balancer or an orchestrator: live means the process
//! answers HTTP (no database involved, so a database outage does not get
//! the process restarted); ready means it can serve, its database answering
//! with this binary's schema (503 with a JSON refusal otherwise). Neither
//! says anything about the configuration or the accounts.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;

use crate::error::AppResult;
use crate::web::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health/live", get(get_live))
        .route("/health/ready", get(get_ready))
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
}

async fn get_live() -> Json<Health> {
    Json(Health { status: "live" })
}

async fn get_ready(State(state): State<AppState>) -> AppResult<Json<Health>> {
    state.services.check_ready().await?;
    Ok(Json(Health { status: "ready" }))
}
