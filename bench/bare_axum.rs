//! The comparison point for romgate's benchmark: a bare axum route that
//! returns a small JSON object, with axum's defaults and nothing else (no
//! layers, no state, no database). `bare_axum PORT` serves it on 127.0.0.1.

use axum::Json;
use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};

async fn get_status() -> Json<Value> {
    Json(json!({ "status": "ok", "version": "0.1.0" }))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(8081);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let app = Router::new().route("/", get(get_status));
    axum::serve(listener, app).await
}
