//! The processes under test: the release romgate binary on a loopback port
//! with its own data directory, and the bare axum comparison. Start time is
//! measured from `spawn` to the first `200` answer to `GET /api/heartbeat`,
//! polled every millisecond over plain TCP.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Res;

pub const SECRET_KEY: &str = "bench-secret-key-0123456789abcdef";

/// A free loopback port.
pub fn free_port() -> Res<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A server process, stopped (SIGTERM, then SIGKILL) on drop.
pub struct Process {
    child: Child,
    pub port: u16,
    /// From spawn to the first answered readiness request.
    pub ready_after: Duration,
}

impl Process {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Resident memory now, and its peak so far, in KiB (from /proc).
    pub fn memory_kib(&self) -> (u64, u64) {
        memory_kib(self.pid())
    }

    pub fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.terminate();
        }
    }
}

pub fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// How to run romgate: the binary, its data directory and its environment.
#[derive(Clone)]
pub struct RomgateSpec {
    pub binary: PathBuf,
    pub data_dir: PathBuf,
    /// `DATABASE_URL`; `None` is SQLite in the data directory.
    pub database_url: Option<String>,
    pub extra_env: Vec<(String, String)>,
}

impl RomgateSpec {
    pub fn command(&self, port: u16) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("ROMM_PORT", port.to_string())
            .env("ROMM_BASE_URL", format!("http://127.0.0.1:{port}"))
            .env("ROMM_DATA_PATH", self.data_dir.join("data"))
            .env("ROMM_LIBRARY_PATH", self.data_dir.join("library"))
            .env("ROMM_AUTH_SECRET_KEY", SECRET_KEY);
        if let Some(url) = &self.database_url {
            command.env("DATABASE_URL", url);
        }
        for (k, v) in &self.extra_env {
            command.env(k, v);
        }
        command
    }

    /// Starts romgate on `port` and waits for its first heartbeat.
    pub fn start(&self, port: u16) -> Res<Process> {
        std::fs::create_dir_all(self.data_dir.join("library/roms"))?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data_dir.join("romgate.log"))?;
        let command = self.command(port);
        spawn_and_wait(command, log, port, "/api/heartbeat", &self.data_dir.join("romgate.log"))
    }
}

/// Starts the bare axum comparison binary.
pub fn start_bare_axum(binary: &Path, port: u16, log_path: &Path) -> Res<Process> {
    let log = std::fs::File::create(log_path)?;
    let mut command = Command::new(binary);
    command.arg(port.to_string());
    spawn_and_wait(command, log, port, "/", log_path)
}

fn spawn_and_wait(mut command: Command, log: std::fs::File, port: u16, path: &str, log_path: &Path) -> Res<Process> {
    let started = Instant::now();
    let child = command
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()?;
    let mut process = Process {
        child,
        port,
        ready_after: Duration::ZERO,
    };
    let deadline = started + Duration::from_secs(30);
    while Instant::now() < deadline {
        if get_status(port, path) == Some(200) {
            process.ready_after = started.elapsed();
            return Ok(process);
        }
        if let Ok(Some(status)) = process.child.try_wait() {
            let log = std::fs::read_to_string(log_path).unwrap_or_default();
            return Err(format!("server on port {port} exited ({status}) before answering:\n{log}").into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Err(format!("server on port {port} did not answer {path} within 30 s").into())
}

/// The status of one `GET path` on a new connection, or `None`.
fn get_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(head.get(9..12)?).ok()?.parse().ok()
}
