//! A romgate server process for end-to-end tests: the real binary on a free
//! loopback port with its own data directory; killed on drop.

#![allow(dead_code)] // a helper library: not every test uses every helper

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::provider::free_port;

pub struct RomgateServer {
    child: Child,
    pub port: u16,
    pub base: String,
    env: Vec<(String, String)>,
    /// Where its standard error goes, when kept (`start_logged`).
    log: Option<PathBuf>,
    _dir: tempfile::TempDir,
}

pub const SECRET_KEY: &str = "e2e-secret-key";

impl RomgateServer {
    /// The base URL a server on `port` will have.
    pub fn base_for(port: u16) -> String {
        format!("http://127.0.0.1:{port}")
    }

    /// Starts romgate on `port` with `env` (on top of a data dir, the port,
    /// the base URL and a fixed secret key), and waits until it listens.
    pub fn start(port: u16, env: &[(&str, &str)]) -> RomgateServer {
        let mut server = Self::spawn(port, env);
        server.wait_ready();
        server
    }

    /// Like `start`, without waiting: several servers can be launched at the
    /// same moment (e.g. against one fresh database), then `wait_ready`.
    pub fn spawn(port: u16, env: &[(&str, &str)]) -> RomgateServer {
        Self::spawn_to(port, env, false)
    }

    /// Like `start`, with the server's log (its standard error) written to
    /// a file that `log` reads, instead of the test's output.
    pub fn start_logged(port: u16, env: &[(&str, &str)]) -> RomgateServer {
        let mut server = Self::spawn_to(port, env, true);
        server.wait_ready();
        server
    }

    /// What the server logged so far (`start_logged` only).
    pub fn log(&self) -> String {
        let path = self.log.as_ref().expect("a server started with start_logged");
        std::fs::read_to_string(path).expect("the server's log")
    }

    /// The file the server logs to (`start_logged` only).
    pub fn log_path(&self) -> PathBuf {
        self.log.clone().expect("a server started with start_logged")
    }

    fn spawn_to(port: u16, env: &[(&str, &str)], keep_log: bool) -> RomgateServer {
        let dir = tempfile::tempdir().expect("data dir");
        let base = Self::base_for(port);
        let mut all: Vec<(String, String)> = vec![
            ("ROMM_DATA_PATH".into(), dir.path().display().to_string()),
            ("ROMM_PORT".into(), port.to_string()),
            ("ROMM_BASE_URL".into(), base.clone()),
            ("ROMM_AUTH_SECRET_KEY".into(), SECRET_KEY.into()),
            (
                "ROMM_LIBRARY_PATH".into(),
                dir.path().join("library").display().to_string(),
            ),
            // Warnings only: the test output stays readable; failures say why.
            ("RUST_LOG".into(), "warn".into()),
        ];
        all.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let log = keep_log.then(|| dir.path().join("romgate.log"));
        let stderr = match &log {
            Some(path) => Stdio::from(std::fs::File::create(path).expect("log file")),
            None => Stdio::inherit(),
        };
        let child = command(&all)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("romgate starts");
        RomgateServer {
            child,
            port,
            base,
            env: all,
            log,
            _dir: dir,
        }
    }

    /// Waits until the server listens; panics if it exits first.
    pub fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if self.is_listening() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = self.log.as_ref().map_or_else(
                    || "see its log above".to_string(),
                    |path| format!("its log:\n{}", std::fs::read_to_string(path).unwrap_or_default()),
                );
                panic!(
                    "romgate on port {} exited before listening ({status}); {log}",
                    self.port
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("romgate did not start listening on {}", self.port);
    }

    /// The server's process id (for /proc samples).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The process has not exited.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The exit status, once the process has exited within `bound`; `None`
    /// if it is still running then (a safety net, not a timing check).
    pub fn wait_exit(&mut self, bound: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + bound;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        None
    }

    /// Something accepts connections on the server's port.
    pub fn is_listening(&self) -> bool {
        TcpStream::connect(("127.0.0.1", self.port)).is_ok()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn data_dir(&self) -> PathBuf {
        self._dir.path().to_path_buf()
    }

    /// Runs a CLI command against the same database and settings.
    pub fn cli(&self, args: &[&str], stdin: &str) -> Output {
        let output = self.cli_may_fail(args, stdin);
        assert!(
            output.status.success(),
            "romgate {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// The same, for commands whose failure is the point (`oidc check`).
    pub fn cli_may_fail(&self, args: &[&str], stdin: &str) -> Output {
        use std::io::Write;
        let mut child = command(&self.env)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("romgate CLI");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("stdin");
        child.wait_with_output().expect("CLI exits")
    }

    /// Creates an administrator through the CLI (a way in for the tests).
    pub fn create_admin(&self, username: &str, email: &str) {
        self.cli(&["user", "create", username, "--role", "admin", "--email", email], "");
    }
}

fn command(env: &[(String, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_romgate"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        command.env(k, v);
    }
    command
}

impl Drop for RomgateServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free port for a romgate server (chosen before the provider starts, so
/// the provider can register the redirect URI).
pub fn romgate_port() -> u16 {
    free_port()
}
