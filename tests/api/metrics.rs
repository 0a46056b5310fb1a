//! Prometheus metrics: served on their own router only, parsed by a real
//! OpenMetrics parser, and moving when requests, sign-ins, refusals,
//! scans and calls to the identity provider happen. The metrics are one
//! registry per process, shared by the tests running at once, so counts
//! are compared before and after (others may add to them, never take away).

use axum::body::Body;
use axum::http::{Method, StatusCode};
use openmetrics_parser::{MetricsExposition, OpenMetricsType, OpenMetricsValue};
use romgate::auth::Role;
use romgate::config::Config;
use serde_json::json;
use tower::ServiceExt;

use crate::library_support::{put_file, scan};
use crate::login_support::login_from;
use crate::sso_support::{session_of, sign_in, sso_app};
use crate::util::{PASSWORD, TestApp, TestResponse, on_both_engines, request};

type Exposition = MetricsExposition<OpenMetricsType, OpenMetricsValue>;

/// Scrapes one at a time: the gauges read from the database at scrape
/// time are shared, and each test's app has its own database.
static SCRAPING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `GET /metrics` on the metrics listener's router, parsed.
async fn scrape(app: &TestApp) -> (TestResponse, Exposition) {
    romgate::metrics::enable();
    let _one_at_a_time = SCRAPING.lock().await;
    let router = romgate::web::metrics::router(app.state.clone());
    let response = router
        .oneshot(request(Method::GET, "/metrics", &[], Body::empty()))
        .await
        .expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("body")
        .to_bytes();
    let response = TestResponse { status, headers, body };
    let text = response.text();
    let parsed = openmetrics_parser::openmetrics::parse_openmetrics(&text)
        .unwrap_or_else(|e| panic!("the exposition does not parse: {e:?}\n{text}"));
    (response, parsed)
}

/// The value of `family`'s sample with exactly these labels (0 if none).
fn value(exposition: &Exposition, family: &str, labels: &[(&str, &str)]) -> f64 {
    let Some(family) = exposition.families.get(family) else {
        return 0.0;
    };
    family
        .iter_samples()
        .find(|sample| {
            let set = sample.get_labelset().expect("bound to its family");
            labels
                .iter()
                .all(|(name, want)| set.get_label_value(name) == Some(*want))
        })
        .map_or(0.0, |sample| match &sample.value {
            OpenMetricsValue::Counter(counter) => counter.value.as_f64(),
            OpenMetricsValue::Gauge(number) | OpenMetricsValue::Unknown(number) => number.as_f64(),
            OpenMetricsValue::Histogram(histogram) => histogram.count.unwrap_or(0) as f64,
            other => panic!("unexpected value {other:?}"),
        })
}

const HEARTBEAT: &[(&str, &str)] = &[("route", "/api/heartbeat"), ("method", "GET"), ("status", "2xx")];

#[tokio::test]
async fn the_exposition_parses_and_counters_move() {
    let app = TestApp::new().await;
    app.create_user("alice", Role::Viewer).await;
    let (response, before) = scrape(&app).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header("content-type"), Some(romgate::metrics::CONTENT_TYPE));

    for _ in 0..3 {
        assert_eq!(app.get("/api/heartbeat", &[]).await.status, StatusCode::OK);
    }
    let pairing = app.get("/api/client-tokens/pair/SECRET-CODE1/status", &[]).await;
    assert_eq!(app.get("/no/such/page", &[]).await.status, StatusCode::NOT_FOUND);
    let refused = app
        .send(request(Method::DELETE, "/api/heartbeat", &[], Body::empty()))
        .await;
    assert_eq!(refused.status, StatusCode::METHOD_NOT_ALLOWED);
    let wrong = login_from(&app, "192.0.2.10", "alice", "wrong password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let right = login_from(&app, "192.0.2.10", "alice", PASSWORD).await;
    assert_eq!(right.status, StatusCode::OK);

    let (response, after) = scrape(&app).await;
    let text = response.text();
    let grew = |family: &str, labels: &[(&str, &str)]| value(&after, family, labels) - value(&before, family, labels);
    assert!(grew("romgate_http_requests", HEARTBEAT) >= 3.0, "{text}");
    let unmatched = [("route", "unmatched"), ("method", "GET"), ("status", "4xx")];
    assert!(grew("romgate_http_requests", &unmatched) >= 1.0, "{text}");
    // A method the route does not take counts under the route.
    let not_allowed = [("route", "/api/heartbeat"), ("method", "DELETE"), ("status", "4xx")];
    assert!(grew("romgate_http_requests", &not_allowed) >= 1.0, "{text}");
    let template = "/api/client-tokens/pair/{code}/status";
    let pairing_class = format!("{}xx", pairing.status.as_u16() / 100);
    let pairing_labels = [
        ("route", template),
        ("method", "GET"),
        ("status", pairing_class.as_str()),
    ];
    assert!(grew("romgate_http_requests", &pairing_labels) >= 1.0, "{text}");
    assert!(
        !text.contains("SECRET-CODE1"),
        "a raw path reached the metrics:\n{text}"
    );
    assert!(!text.contains("alice") && !text.contains("192.0.2.10"), "{text}");
    let failure = [("method", "password"), ("result", "failure")];
    let success = [("method", "password"), ("result", "success")];
    assert!(grew("romgate_sign_ins", &failure) >= 1.0, "{text}");
    assert!(grew("romgate_sign_ins", &success) >= 1.0, "{text}");
    assert!(value(&after, "romgate_sessions_active", &[]) >= 0.0);
    assert_eq!(value(&after, "romgate_database_up", &[]), 1.0, "{text}");
    assert!(
        value(&after, "romgate_database_pool_max_connections", &[]) >= 1.0,
        "{text}"
    );
    assert!(
        after.families.contains_key("romgate_database_pool_connections"),
        "{text}"
    );
    assert!(after.families.contains_key("romgate_build"), "{text}");
}

on_both_engines!(
    live_sessions_are_read_from_the_database_at_scrape_time,
    |app: TestApp| async move {
        app.create_user("bob", Role::Viewer).await;
        app.login("bob", PASSWORD).await;
        app.login("bob", PASSWORD).await;
        let (_, parsed) = scrape(&app).await;
        assert_eq!(value(&parsed, "romgate_sessions_active", &[]), 2.0);
        app.clock.advance(app.state.config.session_max_age_seconds + 1);
        let (_, parsed) = scrape(&app).await;
        assert_eq!(
            value(&parsed, "romgate_sessions_active", &[]),
            0.0,
            "expired sessions are not live"
        );
        assert_eq!(value(&parsed, "romgate_database_up", &[]), 1.0);
    }
);

#[tokio::test]
async fn rate_limit_refusals_are_counted_by_policy() {
    let app = TestApp::new().await;
    app.create_user("carol", Role::Viewer).await;
    let policy = [("policy", "login-user-address")];
    let (_, before) = scrape(&app).await;
    let mut refused = 0;
    for _ in 0..12 {
        if login_from(&app, "192.0.2.77", "carol", "wrong").await.status == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        }
    }
    assert!(refused >= 1, "the limit refused nothing");
    let (_, after) = scrape(&app).await;
    let grew =
        value(&after, "romgate_rate_limit_refusals", &policy) - value(&before, "romgate_rate_limit_refusals", &policy);
    assert!(grew >= f64::from(refused), "{grew} < {refused}");
}

#[tokio::test]
async fn scans_and_calls_to_the_provider_are_counted() {
    let (app, idp) = sso_app(&[]).await;
    let (_, before) = scrape(&app).await;
    put_file(&app, "gba", "game.gba", b"rom bytes");
    let report = scan(&app).await;
    assert_eq!(report.roms, 1);
    let session = session_of(&sign_in(&app, &idp, json!({"sub": "u-1", "preferred_username": "dana"})).await);
    assert!(!session.is_empty());
    let (response, after) = scrape(&app).await;
    let text = response.text();
    let grew = |family: &str, labels: &[(&str, &str)]| value(&after, family, labels) - value(&before, family, labels);
    assert!(
        grew("romgate_library_scans", &[("result", "finished")]) >= 1.0,
        "{text}"
    );
    assert!(after.families.contains_key("romgate_library_scan_running"), "{text}");
    let answered = [("outcome", "answered")];
    assert!(grew("romgate_idp_request_duration_seconds", &answered) >= 1.0, "{text}");
    assert!(
        grew("romgate_sign_ins", &[("method", "sso"), ("result", "success")]) >= 1.0,
        "{text}"
    );
}

#[tokio::test]
async fn metrics_are_not_on_the_public_port() {
    romgate::metrics::enable();
    let app = TestApp::new().await;
    assert_eq!(app.get("/metrics", &[]).await.status, StatusCode::NOT_FOUND);
}

#[test]
fn the_metrics_address_is_checked() {
    let vars = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let config = Config::from_vars(vars(&[("ROMGATE_METRICS_ADDR", "127.0.0.1:9898")])).expect("valid");
    assert_eq!(config.metrics_address.map(|a| a.port()), Some(9898));
    assert!(Config::from_vars(vars(&[])).expect("valid").metrics_address.is_none());
    for (value, says) in [("9898", "not an address and port"), ("0.0.0.0:8080", "public port")] {
        let errors = Config::from_vars(vars(&[("ROMGATE_METRICS_ADDR", value)]))
            .expect_err(value)
            .0;
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("ROMGATE_METRICS_ADDR") && e.contains(says)),
            "{errors:?}"
        );
    }
}

#[tokio::test]
async fn a_scrape_answers_while_the_database_is_down() {
    let app = TestApp::new().await;
    app.store().close().await;
    let (response, parsed) = scrape(&app).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(value(&parsed, "romgate_database_up", &[]), 0.0, "{}", response.text());
}
