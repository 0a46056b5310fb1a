//! `romgate health`, the container's HEALTHCHECK: exit 0 only when the
//! server on ROMM_PORT answers 200, a line saying why otherwise.

use std::io::{Read, Write};
use std::time::Duration;

use romgate::web::server::ConnectionLimits;

use crate::cli_support::{romgate, stderr, stdout};
use crate::util::{RunningServer, TestApp};

fn limits() -> ConnectionLimits {
    ConnectionLimits {
        header_read_timeout: Duration::from_secs(10),
        send_timeout: Duration::from_secs(10),
        body_read_timeout: Duration::from_secs(10),
        max_connections: 16,
        shutdown_grace: Duration::from_secs(5),
    }
}

/// Runs `romgate health` against `port` off the async workers (it blocks).
async fn health(port: u16) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        let data = tempfile::tempdir().expect("tempdir");
        romgate(data.path(), &["health"], "", &[("ROMM_PORT", &port.to_string())])
    })
    .await
    .expect("the check ran")
}

fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_passes_when_the_server_answers() {
    let app = TestApp::new().await;
    let server = RunningServer::start(app.router.clone(), limits()).await;
    let port = server.addr.port();
    let output = health(port).await;
    server.shut_down().await;
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.starts_with(&format!("ok: http://127.0.0.1:{port}/")), "{text}");
    assert!(text.contains("answered 200 OK"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_fails_naming_the_url_when_nothing_listens() {
    let port = unused_port();
    let output = health(port).await;
    assert!(!output.status.success());
    let text = stderr(&output);
    assert!(
        text.contains(&format!(
            "unhealthy: no answer from http://127.0.0.1:{port}/health/live"
        )),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_fails_when_the_server_answers_an_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    // A server that is up but unwell: 503 to every request.
    let answering = std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request);
            let _ =
                stream.write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    let output = health(port).await;
    let _ = answering.join();
    assert!(!output.status.success());
    let text = stderr(&output);
    assert!(
        text.contains(&format!("unhealthy: http://127.0.0.1:{port}/health/live answered 503")),
        "{text}"
    );
}
