//! `romgate serve`: the server, with its background cleanup and the library
//! scan at startup.

use std::net::SocketAddr;
use std::time::Duration;

use super::database::{Missing, lock_sqlite_database, open_store};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::AppError;
use crate::library::Library;
use crate::services::Services;
use crate::store::Store;
use crate::web::server::ConnectionLimits;
use crate::web::state::AppState;

/// How long closing the database may wait for connections still in use.
const STORE_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) async fn serve(config: Config) -> Result<(), AppError> {
    crate::config::log_startup_warnings(&config);
    let _lock = lock_sqlite_database(&config)?;
    let store = open_store(&config, Missing::Create).await?;
    let addr = SocketAddr::new(config.listen_address, config.port);
    let limits = ConnectionLimits::from_config(&config);
    let metrics_address = config.metrics_address;
    tracing::info!(database = %config.database.redacted(), engine = store.engine(), "database ready");
    let services = Services::new(config, store.clone()).await?;
    spawn_cleanup(store.clone());
    spawn_library_scan(services.library.clone());
    spawn_upload_sweep(services.library.clone());
    let state = AppState::from_services(services);
    if let Some(metrics_address) = metrics_address {
        serve_metrics(metrics_address, state.clone()).await?;
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| AppError::internal_from(format!("cannot listen on {addr}"), e))?;
    tracing::info!(
        %addr,
        max_connections = limits.max_connections,
        version = crate::web::VERSION,
        "romgate listening"
    );
    crate::web::server::serve(listener, crate::app(state), limits, shutdown_signal()).await;
    // A request cut off at the end of the grace period may still hold a
    // database connection; closing waits for it only this long.
    if tokio::time::timeout(STORE_CLOSE_TIMEOUT, store.close()).await.is_err() {
        tracing::warn!("database connections still in use at exit were dropped");
    }
    tracing::info!("romgate stopped");
    Ok(())
}

/// The metrics on their own listener, until the process ends.
async fn serve_metrics(addr: SocketAddr, state: AppState) -> Result<(), AppError> {
    crate::metrics::enable();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| AppError::internal_from(format!("cannot listen on {addr} (ROMGATE_METRICS_ADDR)"), e))?;
    tracing::info!(%addr, "metrics at /metrics");
    let limits = ConnectionLimits {
        max_connections: 8,
        ..ConnectionLimits::from_config(&state.config)
    };
    let router = crate::web::metrics::router(state);
    tokio::spawn(crate::web::server::serve(
        listener,
        router,
        limits,
        std::future::pending(),
    ));
    Ok(())
}

/// Deletes expired sessions, tokens and counters every ten minutes.
fn spawn_cleanup(store: Store) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(600));
        loop {
            interval.tick().await;
            if let Err(err) = store.delete_expired(SystemClock.now()).await {
                tracing::warn!(error = %err, "cleanup of expired sessions failed");
            }
        }
    });
}

/// Deletes abandoned chunked uploads (and their chunks) every hour; the
/// first sweep runs at startup.
fn spawn_upload_sweep(library: Library) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(3600));
        loop {
            interval.tick().await;
            if let Err(err) = library.sweep_abandoned_uploads(SystemClock.now()).await {
                tracing::warn!(error = %err, "cleanup of abandoned uploads failed");
            }
        }
    });
}

/// Scans the library at startup, in the background: sign-in works at once,
/// even while a large library is hashed for the first time. A failure is a
/// warning, not a reason to stop.
fn spawn_library_scan(library: Library) {
    tokio::spawn(async move {
        if let Err(err) = library.scan(SystemClock.now()).await {
            tracing::warn!(error = %err, "the library scan at startup failed; the server runs on");
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}
