//! What every answer goes through, as one tower service around the whole
//! router (`EveryAnswer`): a panic anywhere becomes a generic 500, never a
//! dropped connection or a stack trace; then, on every answer (that 500
//! too), the CSRF cookie (`csrf::before_handler` and
//! `csrf::after_handler`), the security headers (`security_headers::apply`),
//! the request metrics, and one log line per request: method, path (never
//! the query, which may carry codes or tokens; never a secret segment, see
//! `loggable_path`), status and duration.
//!
//! Why a service around the router rather than `Router::layer` with
//! `middleware::from_fn` (bench/README.md, issue 12): `Router::layer`
//! wraps every route in one more boxed service, cloned and boxed again on
//! each request, and `from_fn` clones and boxes the rest of the stack once
//! more for its `Next`. Around the router, each request costs one boxed
//! future here. What the router knows and this layer needs, the route
//! template for the metrics, comes back on the answer (`RouteTemplateLayer`).
//! Panics are caught here with the standard library's `catch_unwind`, as
//! tower-http's `CatchPanicLayer` does, rather than with that layer: outside
//! the router it answers with a body type of its own, which would be boxed
//! twice more per request to become axum's again.

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use futures_util::future::Either;
use tower::{Layer, Service};

use crate::error::AppError;
use crate::web::csrf;
use crate::web::security_headers;
use crate::web::state::AppState;

/// Wraps a service in `EveryAnswer`.
#[derive(Clone)]
pub struct EveryAnswerLayer {
    state: AppState,
    secret_segment_after: &'static [&'static str],
    /// Whether ROMM_BASE_URL is https (HSTS), read once.
    https: bool,
}

impl EveryAnswerLayer {
    /// `secret_segment_after`: the paths whose next segment the log line
    /// hides (see `loggable_path`).
    pub fn new(state: AppState, secret_segment_after: &'static [&'static str]) -> Self {
        let https = state.config.base_url.scheme() == "https";
        Self {
            state,
            secret_segment_after,
            https,
        }
    }
}

impl<S> Layer<S> for EveryAnswerLayer {
    type Service = EveryAnswer<S>;

    fn layer(&self, inner: S) -> EveryAnswer<S> {
        EveryAnswer {
            inner,
            state: self.state.clone(),
            secret_segment_after: self.secret_segment_after,
            https: self.https,
        }
    }
}

/// See the module's documentation.
#[derive(Clone)]
pub struct EveryAnswer<S> {
    inner: S,
    state: AppState,
    secret_segment_after: &'static [&'static str],
    https: bool,
}

type Answer = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl<S> Service<Request> for EveryAnswer<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Answer;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Answer {
        let started = Instant::now();
        let method = request.method().clone();
        // A cheap clone (shared bytes), kept for the log line.
        let uri = request.uri().clone();
        let cookie_due = csrf::before_handler(&self.state.auth.tokens, &mut request);
        // A panic while the router starts on the request, or later while
        // its future runs.
        let answer = std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(request)));
        let state = self.state.clone();
        let (secret_segment_after, https) = (self.secret_segment_after, self.https);
        Box::pin(async move {
            let answered = match answer {
                Ok(answer) => AssertUnwindSafe(answer).catch_unwind().await,
                Err(panic) => Err(panic),
            };
            let mut response = match answered {
                Ok(Ok(response)) => response,
                Err(_panic) => AppError::internal("a request handler panicked").into_response(),
            };
            csrf::after_handler(cookie_due, &state, &mut response);
            security_headers::apply(response.headers_mut(), https);
            let status = response.status();
            if let Some(metrics) = crate::metrics::get() {
                let route = response.extensions().get::<MatchedPath>();
                let route = route.map_or(crate::metrics::UNMATCHED, MatchedPath::as_str);
                metrics.requests.count(route, method.as_str(), status.as_u16());
            }
            let path = loggable_path(uri.path(), secret_segment_after);
            let path = path.as_ref();
            let ms = started.elapsed().as_millis();
            if status.is_server_error() {
                tracing::warn!(%method, path, status = status.as_u16(), ms, "request failed");
            } else if status == StatusCode::REQUEST_TIMEOUT {
                tracing::info!(%method, path, ms, "request timed out");
            } else {
                tracing::debug!(%method, path, status = status.as_u16(), ms, "request");
            }
            Ok(response)
        })
    }
}

/// Inside the router, around the routes: puts the route's template
/// (`MatchedPath`, which only the router knows) on the answer, for the
/// metrics counted in `EveryAnswer`. Only while the metrics are on;
/// otherwise the request passes straight through.
#[derive(Clone, Copy, Default)]
pub struct RouteTemplateLayer;

impl<S> Layer<S> for RouteTemplateLayer {
    type Service = RouteTemplate<S>;

    fn layer(&self, inner: S) -> RouteTemplate<S> {
        RouteTemplate { inner }
    }
}

/// See `RouteTemplateLayer`.
#[derive(Clone)]
pub struct RouteTemplate<S> {
    inner: S,
}

impl<S> Service<Request> for RouteTemplate<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<S::Future, Answer>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let template = crate::metrics::get().and_then(|_| request.extensions().get::<MatchedPath>().cloned());
        let answer = self.inner.call(request);
        match template {
            None => Either::Left(answer),
            Some(template) => Either::Right(Box::pin(async move {
                let Ok(mut response) = answer.await;
                response.extensions_mut().insert(template);
                Ok(response)
            })),
        }
    }
}

/// `path` as the request log writes it: the segment after any of
/// `secret_segment_after` (a pairing code, a device sign-in's user code, a
/// download link's secret; the router's list) becomes `***`.
pub fn loggable_path<'p>(path: &'p str, secret_segment_after: &[&str]) -> std::borrow::Cow<'p, str> {
    for prefix in secret_segment_after {
        if let Some(rest) = path.strip_prefix(prefix) {
            let tail = rest.find('/').and_then(|at| rest.get(at..)).unwrap_or_default();
            return format!("{prefix}***{tail}").into();
        }
    }
    path.into()
}
