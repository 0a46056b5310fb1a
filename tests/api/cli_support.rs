//! Running the real binary for the command-line tests.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use romgate::config::DatabaseUrl;
use romgate::store::Store;

/// Runs romgate with only PATH, ROMM_DATA_PATH=`data`, RUST_LOG=warn and
/// `env` set, writing `stdin` to its standard input (a pipe).
pub fn romgate(data: &std::path::Path, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_romgate"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ROMM_DATA_PATH", data)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("romgate starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("romgate exits")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub async fn store(data: &std::path::Path) -> Store {
    let url = format!("sqlite://{}", data.join("romgate.db").display());
    Store::open(&DatabaseUrl::new(url)).await.expect("store")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// What a terminal showed while romgate ran at it.
pub struct Terminal {
    pub success: bool,
    pub shown: String,
}

/// Runs romgate under a pseudo-terminal (util-linux `script`) and answers
/// its prompts: each `(prompt, line)` types `line` once `prompt` is shown,
/// as a person does. Gives up waiting for a prompt after a minute.
pub fn at_a_terminal(data: &Path, args: &[&str], answers: &[(&str, &str)]) -> Terminal {
    let command = std::iter::once(env!("CARGO_BIN_EXE_romgate"))
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Command::new("script")
        .args(["--quiet", "--return", "--command", &command, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ROMM_DATA_PATH", data)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("script starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = child.stdout.take().expect("stdout");
    let (chunks, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 1024];
        while let Ok(read @ 1..) = stdout.read(&mut buffer) {
            if chunks.send(buffer[..read].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut shown = Vec::new();
    // Where the next prompt is looked for: after the last one answered.
    let mut from = 0;
    for (prompt, line) in answers {
        while !String::from_utf8_lossy(&shown[from..]).contains(prompt) {
            match received.recv_timeout(std::time::Duration::from_secs(60)) {
                Ok(chunk) => shown.extend(chunk),
                Err(_) => break,
            }
        }
        from = shown.len();
        let _ = stdin.write_all(format!("{line}\n").as_bytes());
        let _ = stdin.flush();
    }
    drop(stdin);
    let status = child.wait().expect("script exits");
    while let Ok(chunk) = received.recv_timeout(std::time::Duration::from_secs(5)) {
        shown.extend(chunk);
    }
    Terminal {
        success: status.success(),
        shown: String::from_utf8_lossy(&shown).into_owned(),
    }
}

/// A port nobody listens on now (for a real server started by a test).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A plain HTTP/1.1 GET on loopback: the whole answer, or `None` when
/// nothing answers (within 5 s).
pub fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}
