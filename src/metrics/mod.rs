//! Prometheus metrics: what an operator watches, in the OpenMetrics text
//! format written by `prometheus-client` (never a hand-written exposition).
//! Off by default; `romgate serve` turns them on when ROMGATE_METRICS_ADDR
//! is set, and serves them there only, never on the public port.
//!
//! One registry per process, reached through `get()`: the events counted
//! happen deep in the domain (a sign-in logged, a limit refusing, a call to
//! the identity provider), and a process serves one set of metrics. While
//! metrics are off every hook is one atomic load and a branch.
//!
//! Guarantees: no label carries a raw path, a username, an address or any
//! other value a client chooses: routes are the router's templates, the
//! rest are romgate's own fixed vocabularies. Nothing here waits on the
//! database; the values read from it (live sessions) are set by the
//! scrape handler just before it encodes (`Metrics::set_database`).

mod requests;

use std::sync::OnceLock;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

pub use requests::{RequestCounts, UNMATCHED};

/// The `Content-Type` of `Metrics::encode`'s answer.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Label sets of fixed words: hashed without allocating.
type Labels<const N: usize> = [(&'static str, &'static str); N];

/// Seconds: a local provider answers in milliseconds, the client gives up
/// after ten (`oidc::provider_http::TOTAL_TIMEOUT`).
const IDP_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

static METRICS: OnceLock<Metrics> = OnceLock::new();

/// Turns the metrics on (idempotent) and returns them.
pub fn enable() -> &'static Metrics {
    METRICS.get_or_init(Metrics::new)
}

/// The metrics, when on.
#[inline]
pub fn get() -> Option<&'static Metrics> {
    METRICS.get()
}

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub requests: RequestCounts,
    sign_ins: Family<Labels<2>, Counter>,
    rate_limit_refusals: Family<Labels<1>, Counter>,
    idp_requests: Family<Labels<1>, Histogram>,
    sessions: Gauge,
    database_up: Gauge,
    pool_connections: Family<Labels<1>, Gauge>,
    pool_max: Gauge,
    scan_running: Gauge,
    scan_platforms_done: Gauge,
    scan_platforms_total: Gauge,
    scan_roms: Gauge,
    scans: Family<Labels<1>, Counter>,
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("romgate");
        let requests = RequestCounts::default();
        let sign_ins = Family::<Labels<2>, Counter>::default();
        let rate_limit_refusals = Family::<Labels<1>, Counter>::default();
        let idp_requests = Family::<Labels<1>, Histogram>::new_with_constructor(idp_histogram as fn() -> Histogram);
        let (sessions, database_up, pool_max) = (Gauge::default(), Gauge::default(), Gauge::default());
        let pool_connections = Family::<Labels<1>, Gauge>::default();
        let (scan_running, scan_platforms_done) = (Gauge::default(), Gauge::default());
        let (scan_platforms_total, scan_roms) = (Gauge::default(), Gauge::default());
        let scans = Family::<Labels<1>, Counter>::default();
        let r = &mut registry;
        r.register(
            "build",
            "The running romgate",
            Info::new([("version", env!("CARGO_PKG_VERSION"))]),
        );
        r.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status class",
            requests.clone(),
        );
        r.register("sign_ins", "Sign-in attempts, by way in and result", sign_ins.clone());
        r.register(
            "rate_limit_refusals",
            "Requests refused by a rate limit, by policy",
            rate_limit_refusals.clone(),
        );
        // The unit in the name, without a UNIT line: parsers disagree on
        // whether a histogram may carry one.
        r.register(
            "idp_request_duration_seconds",
            "Calls to the identity provider, in seconds, by outcome",
            idp_requests.clone(),
        );
        r.register(
            "sessions_active",
            "Browser sessions not expired (read at scrape time)",
            sessions.clone(),
        );
        r.register(
            "database_up",
            "1 when the database answered the last scrape's query",
            database_up.clone(),
        );
        r.register(
            "database_pool_connections",
            "Open database connections, by state",
            pool_connections.clone(),
        );
        r.register(
            "database_pool_max_connections",
            "The pool's connection limit",
            pool_max.clone(),
        );
        r.register(
            "library_scan_running",
            "1 while a library scan runs",
            scan_running.clone(),
        );
        r.register(
            "library_scan_platforms_done",
            "Platform folders the running or last scan has walked",
            scan_platforms_done.clone(),
        );
        r.register(
            "library_scan_platforms",
            "Platform folders the running or last scan found",
            scan_platforms_total.clone(),
        );
        r.register("library_roms", "ROMs the last finished scan found", scan_roms.clone());
        r.register("library_scans", "Library scans ended, by result", scans.clone());
        Self {
            registry,
            requests,
            sign_ins,
            rate_limit_refusals,
            idp_requests,
            sessions,
            database_up,
            pool_connections,
            pool_max,
            scan_running,
            scan_platforms_done,
            scan_platforms_total,
            scan_roms,
            scans,
        }
    }

    /// The OpenMetrics text of every metric.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::with_capacity(4096);
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }

    /// What the scrape read from the database: live sessions (`None`: the
    /// database did not answer) and the pool's connections.
    pub fn set_database(&self, sessions: Option<i64>, open: u32, idle: u32, max: u32) {
        self.database_up.set(i64::from(sessions.is_some()));
        if let Some(sessions) = sessions {
            self.sessions.set(sessions);
        }
        let in_use = open.saturating_sub(idle);
        self.pool_connections
            .get_or_create(&[("state", "idle")])
            .set(i64::from(idle));
        self.pool_connections
            .get_or_create(&[("state", "in_use")])
            .set(i64::from(in_use));
        self.pool_max.set(i64::from(max));
    }

    /// Sign-ins counted so far with this way in and result (tests).
    pub fn sign_ins(&self, method: &'static str, result: &'static str) -> u64 {
        self.sign_ins
            .get_or_create(&[("method", method), ("result", result)])
            .get()
    }
}

fn idp_histogram() -> Histogram {
    Histogram::new(IDP_BUCKETS)
}

/// A sign-in attempt, as the sign-in log writes it.
pub fn sign_in(method: &'static str, result: &'static str) {
    if let Some(metrics) = get() {
        metrics
            .sign_ins
            .get_or_create(&[("method", method), ("result", result)])
            .inc();
    }
}

/// A request refused by the rate limit `policy`.
pub fn rate_limit_refused(policy: &'static str) {
    if let Some(metrics) = get() {
        metrics.rate_limit_refusals.get_or_create(&[("policy", policy)]).inc();
    }
}

/// A call to the identity provider that took `elapsed`; `answered`: it
/// sent an answer (of any status) rather than failing to.
pub fn idp_request(elapsed: Duration, answered: bool) {
    if let Some(metrics) = get() {
        let outcome = if answered { "answered" } else { "failed" };
        metrics
            .idp_requests
            .get_or_create(&[("outcome", outcome)])
            .observe(elapsed.as_secs_f64());
    }
}

/// A library scan's progress: `done` of `total` platform folders walked.
pub fn scan_progress(done: usize, total: usize) {
    if let Some(metrics) = get() {
        metrics.scan_running.set(1);
        metrics.scan_platforms_done.set(i64::try_from(done).unwrap_or(i64::MAX));
        metrics
            .scan_platforms_total
            .set(i64::try_from(total).unwrap_or(i64::MAX));
    }
}

/// A library scan ended: with the ROMs it found, or failed (`None`).
pub fn scan_ended(roms: Option<usize>) {
    if let Some(metrics) = get() {
        metrics.scan_running.set(0);
        let result = match roms {
            Some(roms) => {
                metrics.scan_roms.set(i64::try_from(roms).unwrap_or(i64::MAX));
                "finished"
            }
            None => "failed",
        };
        metrics.scans.get_or_create(&[("result", result)]).inc();
    }
}
