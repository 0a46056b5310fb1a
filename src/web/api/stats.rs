//! RomM's `GET /api/stats`: the library's totals under RomM's upper-case
//! keys, for any signed-in reader of the library (roms.read). romgate keeps
//! no saves, states or screenshots, so those are 0; RomM's per-platform
//! breakdowns (asked for with `include_platform_stats`) are not offered.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::error::AppResult;
use crate::web::extract::{Authorized, RomsRead};
use crate::web::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/stats", get(get_stats))
}

/// RomM's `StatsReturn`.
#[derive(Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
struct Stats {
    platforms: i64,
    roms: i64,
    saves: i64,
    states: i64,
    screenshots: i64,
    total_filesize_bytes: i64,
}

async fn get_stats(State(state): State<AppState>, _: Authorized<RomsRead>) -> AppResult<Json<Stats>> {
    let totals = state.library.totals().await?;
    Ok(Json(Stats {
        platforms: totals.platforms,
        roms: totals.roms,
        saves: 0,
        states: 0,
        screenshots: 0,
        total_filesize_bytes: totals.total_size,
    }))
}
