//! A server-side failure: the client gets a generic 500, the log gets the
//! detail with its chain of causes.

use crate::log_capture::LogCapture;
use crate::util::TestApp;

/// Words of the failure (a closed database pool) that must stay out of
/// every answer.
const DETAIL: [&str; 4] = ["database", "pool", "closed", "sqlx"];

#[tokio::test]
async fn a_500_is_generic_and_its_causes_are_logged() {
    let app = TestApp::new().await;
    let logs = LogCapture::start();
    // No administrator yet: the heartbeat and the setup page ask the database.
    app.store().close().await;
    for path in ["/api/heartbeat", "/setup"] {
        let response = app.get(path, &[]).await;
        assert_eq!(response.status.as_u16(), 500, "{path}: {}", response.text());
        let body = response.text().to_lowercase();
        assert!(body.contains("something went wrong"), "{path}: {body}");
        for word in DETAIL {
            assert!(!body.contains(word), "{path} shows {word}: {body}");
        }
    }
    let logged = logs.text();
    let lines: Vec<&str> = logged.lines().filter(|l| l.contains("internal error")).collect();
    assert_eq!(lines.len(), 2, "{logged}");
    for line in lines {
        assert!(
            line.contains("a database call failed: database error: attempted to acquire a connection on a closed pool"),
            "{line}"
        );
    }
}
