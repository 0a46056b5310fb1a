//! Slow, idle and numerous connections against the real server
//! (`web::server::serve` on a real socket), with short limits so the tests
//! are quick. They assert what happens to a connection (closed, not served
//! yet, served), never how long it took.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use romgate::web::server::ConnectionLimits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

use crate::util::{RunningServer, TestApp, within_seconds};

const HEARTBEAT: &[u8] = b"GET /api/heartbeat HTTP/1.1\r\nHost: romgate.test\r\n\r\n";

fn limits(header_read_timeout: Duration, max_connections: usize) -> ConnectionLimits {
    ConnectionLimits {
        header_read_timeout,
        send_timeout: Duration::from_secs(30),
        body_read_timeout: Duration::from_secs(30),
        max_connections,
        shutdown_grace: Duration::from_secs(30),
    }
}

/// Everything the server sends until it closes the connection; `None` if it
/// keeps it open (the safety net of `within_seconds`).
async fn read_until_closed(stream: &mut TcpStream) -> Option<String> {
    let mut received = Vec::new();
    within_seconds(10, stream.read_to_end(&mut received)).await.map(|read| {
        read.expect("reading");
        String::from_utf8_lossy(&received).into_owned()
    })
}

/// One response: the head and a `Content-Length` body.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut byte = [0u8; 1];
    while !received.ends_with(b"\r\n\r\n") {
        let read = within_seconds(10, stream.read(&mut byte))
            .await
            .expect("a response arrives")
            .expect("reading");
        assert_eq!(
            read,
            1,
            "the connection closed mid-response: {:?}",
            String::from_utf8_lossy(&received)
        );
        received.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&received).into_owned();
    let length: usize = head
        .lines()
        .find_map(|line| {
            line.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_string())
        })
        .and_then(|v| v.parse().ok())
        .expect("a Content-Length");
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.expect("the body");
    head + &String::from_utf8_lossy(&body)
}

async fn heartbeat(stream: &mut TcpStream) -> String {
    stream.write_all(HEARTBEAT).await.expect("request sent");
    read_response(stream).await
}

#[tokio::test]
async fn a_stalled_request_head_is_closed_unanswered() {
    let app = TestApp::new().await;
    let server = RunningServer::start(app.router.clone(), limits(Duration::from_millis(300), 16)).await;
    let mut stream = server.connect().await;
    stream
        .write_all(b"GET /api/heartbeat HTTP/1.1\r\nHost: romgate.test\r\n")
        .await
        .unwrap();
    let received = read_until_closed(&mut stream)
        .await
        .expect("the server closes a stalled request head");
    assert_eq!(received, "", "a request whose head never ended is not served");
    server.shut_down().await;
}

#[tokio::test]
async fn idle_connections_are_closed() {
    let app = TestApp::new().await;
    let server = RunningServer::start(app.router.clone(), limits(Duration::from_millis(300), 16)).await;

    let mut silent = server.connect().await;
    let received = read_until_closed(&mut silent)
        .await
        .expect("a silent connection is closed");
    assert_eq!(received, "", "nothing is sent to a connection that never asked");

    let mut kept_alive = server.connect().await;
    let first = heartbeat(&mut kept_alive).await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    let received = read_until_closed(&mut kept_alive)
        .await
        .expect("an idle keep-alive connection is closed");
    assert_eq!(received, "");
    server.shut_down().await;
}

#[tokio::test]
async fn a_client_that_stops_reading_is_disconnected() {
    let app = TestApp::new().await;
    let limits = ConnectionLimits {
        send_timeout: Duration::from_millis(300),
        ..limits(Duration::from_secs(30), 16)
    };
    let server = RunningServer::start(app.router.clone(), limits).await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(server.addr).await.unwrap();
    // Requests pipelined and no answer ever read: once the buffers are
    // full, the server's writes wait, then it stops reading, and this
    // client's writes wait too, until the server gives up on it.
    let requests = HEARTBEAT.repeat(1000);
    let refused = within_seconds(10, async {
        loop {
            if let Err(err) = stream.write_all(&requests).await {
                return err;
            }
        }
    })
    .await;
    assert!(refused.is_some(), "the server keeps a connection that does not read");
    server.shut_down().await;
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let app = TestApp::new().await;
    let server = RunningServer::start(app.router.clone(), limits(Duration::from_secs(30), 1)).await;
    let mut first = server.connect().await;
    assert!(heartbeat(&mut first).await.starts_with("HTTP/1.1 200"));

    // The second connection is in the kernel's queue, not served: its
    // request gets no answer while the first connection keeps working.
    let mut second = server.connect().await;
    second.write_all(HEARTBEAT).await.unwrap();
    for _ in 0..3 {
        assert!(heartbeat(&mut first).await.starts_with("HTTP/1.1 200"));
    }
    let mut byte = [0u8; 1];
    let waiting = second.try_read(&mut byte);
    assert!(
        matches!(&waiting, Err(err) if err.kind() == std::io::ErrorKind::WouldBlock),
        "the connection over the cap was served: {waiting:?}"
    );

    drop(first);
    let answer = read_response(&mut second).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    server.shut_down().await;
}

/// A route that reads its whole body, as an upload does (without the
/// deadline of romgate's other routes).
fn body_reading_route() -> Router {
    Router::new().route(
        "/upload",
        axum::routing::put(|body: axum::body::Bytes| async move { body.len().to_string() }),
    )
}

#[tokio::test]
async fn a_request_body_that_stops_arriving_frees_the_connection() {
    let limits = ConnectionLimits {
        body_read_timeout: Duration::from_millis(300),
        ..limits(Duration::from_secs(30), 1)
    };
    let server = RunningServer::start(body_reading_route(), limits).await;
    // Announces a megabyte, sends one byte, then nothing: the only slot.
    let mut stalled = server.connect().await;
    stalled
        .write_all(b"PUT /upload HTTP/1.1\r\nHost: romgate.test\r\nContent-Length: 1048576\r\n\r\nx")
        .await
        .expect("request sent");
    let ended = read_until_closed(&mut stalled).await;
    assert!(ended.is_some(), "the stalled upload kept its connection");
    // The slot is free: the next client is served.
    let mut next = server.connect().await;
    next.write_all(b"PUT /upload HTTP/1.1\r\nHost: romgate.test\r\nContent-Length: 3\r\n\r\nabc")
        .await
        .expect("request sent");
    let answer = read_response(&mut next).await;
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with('3'), "{answer}");
    server.shut_down().await;
}

#[tokio::test]
async fn shutting_down_closes_idle_connections_and_refuses_new_ones() {
    let app = TestApp::new().await;
    let server = RunningServer::start(app.router.clone(), limits(Duration::from_secs(30), 16)).await;
    let addr = server.addr;
    let mut idle = server.connect().await;
    assert!(heartbeat(&mut idle).await.starts_with("HTTP/1.1 200"));
    server.shut_down().await;
    assert_eq!(read_until_closed(&mut idle).await.as_deref(), Some(""));
    assert!(TcpStream::connect(addr).await.is_err(), "the listener is closed");
}

#[tokio::test]
async fn handlers_see_the_peer_address() {
    let router = Router::new().route(
        "/peer",
        get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.ip().to_string() }),
    );
    let server = RunningServer::start(router, limits(Duration::from_secs(30), 16)).await;
    let mut stream = server.connect().await;
    stream
        .write_all(b"GET /peer HTTP/1.1\r\nHost: romgate.test\r\n\r\n")
        .await
        .unwrap();
    let answer = read_response(&mut stream).await;
    assert!(answer.ends_with("\r\n\r\n127.0.0.1"), "{answer}");
    server.shut_down().await;
}

/// A route whose answer waits until `release` is notified, and that says
/// through `entered` when a request has reached it.
fn held_route(entered: tokio::sync::mpsc::Sender<()>, release: Arc<Notify>) -> Router {
    Router::new().route(
        "/held",
        get(move || async move {
            let _ = entered.send(()).await;
            release.notified().await;
            "finished"
        }),
    )
}

const HELD: &[u8] = b"GET /held HTTP/1.1\r\nHost: romgate.test\r\n\r\n";

/// Tries to connect until refused (a bounded number of times).
async fn refused_soon(addr: SocketAddr) -> bool {
    for _ in 0..200 {
        if TcpStream::connect(addr).await.is_err() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test]
async fn shutting_down_refuses_new_connections_and_lets_a_request_in_flight_finish() {
    let (entered, mut reached) = tokio::sync::mpsc::channel(1);
    let release = Arc::new(Notify::new());
    let server = RunningServer::start(
        held_route(entered, Arc::clone(&release)),
        limits(Duration::from_secs(30), 16),
    )
    .await;
    let addr = server.addr;
    let mut in_flight = server.connect().await;
    in_flight.write_all(HELD).await.expect("request sent");
    reached.recv().await.expect("the request reached its handler");
    let stopping = tokio::spawn(server.shut_down());
    assert!(
        refused_soon(addr).await,
        "new connections are refused while it finishes"
    );
    release.notify_one();
    let answer = read_response(&mut in_flight).await;
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.ends_with("finished"),
        "{answer}"
    );
    stopping.await.expect("serve returned");
}

#[tokio::test]
async fn a_request_still_running_when_the_grace_ends_is_cut_off() {
    let (entered, mut reached) = tokio::sync::mpsc::channel(1);
    let never = Arc::new(Notify::new());
    let limits = ConnectionLimits {
        shutdown_grace: Duration::from_millis(200),
        ..limits(Duration::from_secs(30), 16)
    };
    let server = RunningServer::start(held_route(entered, never), limits).await;
    let mut in_flight = server.connect().await;
    in_flight.write_all(HELD).await.expect("request sent");
    reached.recv().await.expect("the request reached its handler");
    // `shut_down` fails the test if serve does not return.
    server.shut_down().await;
    assert_eq!(
        read_until_closed(&mut in_flight).await.as_deref(),
        Some(""),
        "closed without an answer"
    );
}
