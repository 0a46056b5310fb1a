//! The HTTP/1.1 server around the router (hyper's connection builder, not
//! `axum::serve`, which runs without a timer). Guarantees:
//! - a connection must deliver a complete request head within the
//!   header-read timeout of opening, and again within it after each
//!   response, or it is closed (hyper sends no answer then): a slow or
//!   stalled client, and an idle keep-alive connection, hold nothing for long;
//! - at most `max_connections` connections are served at once. At the cap
//!   romgate stops accepting until a connection closes; new ones wait in the
//!   kernel's listen queue, they are never accepted and then left unserved.
//!   Since idle connections are closed by the timeout above, idle clients
//!   cannot hold the slots for long;
//! - a write to a client that stops reading fails after the send timeout
//!   without progress (see `send_timeout`), so pipelining requests or
//!   starting a download and never reading holds no slot for long either;
//! - a request body that stops arriving fails after the body read timeout
//!   without a byte (as nginx's `client_body_timeout`), so an upload whose
//!   client stalls or vanishes mid-body (a laptop closed) frees its slot and
//!   its temporary file; uploads run without the 30 s deadline of other
//!   requests, so nothing else would end them;
//! - on shutdown (SIGTERM or SIGINT, see `cli::serve`), romgate stops
//!   accepting at once (new connections are refused), closes idle
//!   connections and lets requests in flight (downloads, uploads) finish for
//!   up to `SHUTDOWN_GRACE`; what still runs then is cut off, so a client
//!   that keeps a transfer going cannot hold the process up.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tower::{Service, ServiceExt};
use tower_http::timeout::TimeoutBody;

use super::send_timeout::SendTimeout;
use crate::config::Config;

/// How long a client has to send a whole request head, counted from the
/// connection's opening or from the end of the previous response.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a write to the client may wait without sending a byte.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(60);
/// How long reading a request body may wait without receiving a byte.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// How long requests in flight may take to finish after the shutdown
/// signal. Long enough for a sign-in or a page, and for most transfers on
/// a local network; a service manager's stop timeout should be longer
/// (systemd's default is 90 s, Docker's is 10 s: `docker stop -t 40`).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// After a failed accept (the process is out of file descriptors, say),
/// wait this long before accepting again, so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_secs(1);

/// What bounds slow, idle and numerous clients.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// See `HEADER_READ_TIMEOUT`; it is also the keep-alive idle timeout.
    pub header_read_timeout: Duration,
    /// See `SEND_TIMEOUT`.
    pub send_timeout: Duration,
    /// See `BODY_READ_TIMEOUT`.
    pub body_read_timeout: Duration,
    /// Connections served at once (ROMGATE_MAX_CONNECTIONS).
    pub max_connections: usize,
    /// See `SHUTDOWN_GRACE`.
    pub shutdown_grace: Duration,
}

impl ConnectionLimits {
    pub fn from_config(config: &Config) -> Self {
        Self {
            header_read_timeout: HEADER_READ_TIMEOUT,
            send_timeout: SEND_TIMEOUT,
            body_read_timeout: BODY_READ_TIMEOUT,
            max_connections: config.max_connections,
            shutdown_grace: SHUTDOWN_GRACE,
        }
    }
}

/// What `serve` serves: romgate's `App`, the metrics' `Router`, a test's.
pub trait Served:
    Service<Request, Response = Response, Error = Infallible, Future: Send + 'static> + Clone + Send + 'static
{
}

impl<S> Served for S where
    S: Service<Request, Response = Response, Error = Infallible, Future: Send + 'static> + Clone + Send + 'static
{
}

/// Serves `router` (romgate's `App`, the metrics' `Router`, a test's) on
/// `listener` until `shutdown` completes, then waits for the open
/// connections to finish their requests, for up to the shutdown grace (one
/// whose client stopped reading is ended sooner by the send timeout).
pub async fn serve(
    listener: TcpListener,
    router: impl Served,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.clamp(1, Semaphore::MAX_PERMITS)));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let graceful = GracefulShutdown::new();
    // Every connection's task, so the ones still running when the grace
    // period ends can be ended (finished ones are reaped as we go).
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = accept_with_slot(&listener, &slots) => accepted,
        };
        while connections.try_join_next().is_some() {}
        let Some((stream, remote, slot)) = accepted else {
            continue;
        };
        // Each request goes to the router with the peer's address, as
        // `ConnectInfo` (see `client_addr`).
        let router = router.clone();
        let body_read_timeout = limits.body_read_timeout;
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let mut request = request.map(|body| Body::new(TimeoutBody::new(body_read_timeout, body)));
            request.extensions_mut().insert(ConnectInfo(remote));
            router.clone().oneshot(request)
        });
        let io = TokioIo::new(SendTimeout::new(stream, limits.send_timeout));
        let connection = graceful.watch(http.serve_connection(io, service));
        connections.spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "connection ended with an error");
            }
            drop(slot);
        });
    }
    // Closing the listener refuses new connections at once.
    drop(listener);
    tracing::info!(
        grace_seconds = limits.shutdown_grace.as_secs(),
        "no longer accepting connections; letting requests in flight finish"
    );
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            connections = connections.len(),
            grace_seconds = limits.shutdown_grace.as_secs(),
            "requests still running at the end of the shutdown grace period were cut off"
        );
    }
    connections.shutdown().await;
}

/// Waits for a free slot, then for a connection. `None`: the accept failed
/// (and was logged and paused after when it may repeat).
async fn accept_with_slot(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> Option<(TcpStream, SocketAddr, OwnedSemaphorePermit)> {
    // The semaphore is never closed, so this does not fail.
    let slot = Arc::clone(slots).acquire_owned().await.ok()?;
    match listener.accept().await {
        Ok((stream, remote)) => Some((stream, remote, slot)),
        Err(err) if is_connection_error(&err) => None,
        Err(err) => {
            tracing::error!(error = %err, "cannot accept a connection; pausing one second");
            tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
            None
        }
    }
}

/// Errors about one connection that went away before it was accepted.
fn is_connection_error(err: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(err.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset)
}
