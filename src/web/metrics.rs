//! The metrics listener's whole application (ROMGATE_METRICS_ADDR):
//! `GET /metrics` and nothing else. Served on its own address, never merged
//! into the public router: the metrics name routes and count sign-ins,
//! which is for the operator only.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::AppError;
use crate::web::state::AppState;

pub fn router(state: AppState) -> Router {
    Router::new().route("/metrics", get(get_metrics)).with_state(state)
}

async fn get_metrics(State(state): State<AppState>) -> Response {
    let metrics = crate::metrics::enable();
    state.services.observe(metrics).await;
    match metrics.encode() {
        Ok(text) => ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response(),
        Err(err) => AppError::internal(format!("cannot encode the metrics: {err}")).into_response(),
    }
}
