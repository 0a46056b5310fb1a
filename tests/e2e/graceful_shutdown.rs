//! Graceful shutdown of the real binary: on SIGTERM (and SIGINT) romgate
//! refuses new connections at once, lets an upload in flight finish (for
//! up to its shutdown grace, 30 s), and exits with status 0.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use base64::Engine;

use crate::provider::free_port;
use crate::romgate::RomgateServer;

const PASSWORD: &str = "a long password";
const BOUNDARY: &str = "romgate-e2e-boundary-41f9";
/// The server's grace (30 s) and room to exit: a safety net, not a timing check.
const EXIT_BOUND: Duration = Duration::from_secs(60);

/// A multipart upload of `rom` to platform gb: the body, and where the file
/// bytes start in it.
fn upload_body(rom: &[u8]) -> (Vec<u8>, usize) {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"platform\"\r\n\r\ngb\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"slow.gb\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    let file_start = body.len();
    body.extend_from_slice(rom);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    (body, file_start)
}

/// Whether an upload's temporary file exists under `platform_dir` (the
/// upload handler is running).
fn upload_in_progress(platform_dir: &Path) -> bool {
    std::fs::read_dir(platform_dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|entry| entry.file_name().to_string_lossy().starts_with(".romgate-upload-"))
    })
}

/// Polls `condition` (a bounded number of times).
fn eventually(mut condition: impl FnMut() -> bool) -> bool {
    for _ in 0..400 {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    false
}

fn send_signal(server: &RomgateServer, signal: libc::c_int) {
    // SAFETY: kill(2) on our own child's pid; no memory is shared.
    let sent = unsafe { libc::kill(i32::try_from(server.pid()).expect("a process id"), signal) };
    assert_eq!(sent, 0, "signal sent");
}

/// Starts an upload, sends `signal` while its file is half sent, and checks
/// the rest of the story.
fn upload_survives(signal: libc::c_int) {
    let mut server = RomgateServer::start(free_port(), &[]);
    server.cli(
        &["user", "create", "root", "--role", "admin", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    let rom: Vec<u8> = (0..200_000u32).map(|n| (n % 251) as u8).collect();
    let (body, file_start) = upload_body(&rom);
    let (first, rest) = body.split_at(file_start + rom.len() / 2);
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!("root:{PASSWORD}"));
    let head = format!(
        "POST /api/roms HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {credentials}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    let mut upload = TcpStream::connect(("127.0.0.1", server.port)).expect("connected");
    upload.set_read_timeout(Some(EXIT_BOUND)).expect("timeout");
    upload.write_all(head.as_bytes()).expect("head sent");
    upload.write_all(first).expect("half the body sent");
    let platform_dir = server.data_dir().join("library").join("roms").join("gb");
    assert!(
        eventually(|| upload_in_progress(&platform_dir)),
        "the upload reached its handler"
    );

    send_signal(&server, signal);
    assert!(
        eventually(|| !server.is_listening()),
        "new connections are refused once the signal arrived"
    );
    assert!(server.is_running(), "still running while the upload is in flight");

    upload.write_all(rest).expect("the rest of the body sent");
    let mut answer = String::new();
    upload.read_to_string(&mut answer).expect("the answer");
    assert!(answer.starts_with("HTTP/1.1 201"), "the upload finished: {answer}");
    let stored = std::fs::read(platform_dir.join("slow.gb")).expect("the uploaded file");
    assert!(stored == rom, "the whole file was stored");

    let status = server.wait_exit(EXIT_BOUND).expect("romgate exits");
    assert_eq!(status.code(), Some(0), "exit status {status}");
}

#[test]
#[ignore = "end-to-end: starts the romgate binary; run with --ignored"]
fn on_sigterm_an_upload_in_flight_finishes_new_connections_are_refused_and_the_exit_is_clean() {
    upload_survives(libc::SIGTERM);
}

#[test]
#[ignore = "end-to-end: starts the romgate binary; run with --ignored"]
fn on_sigint_the_same() {
    upload_survives(libc::SIGINT);
}
