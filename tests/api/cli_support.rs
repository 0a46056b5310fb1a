//! Running the real binary for the command-line tests.

use std::io::Write;
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

/// Runs romgate under a pseudo-terminal (util-linux `script`), typing
/// `typed` into it; the output is what the terminal showed.
pub fn at_a_terminal(data: &Path, args: &[&str], typed: &str) -> Output {
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
        .stderr(Stdio::piped())
        .spawn()
        .expect("script starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(typed.as_bytes())
        .expect("type");
    child.wait_with_output().expect("script exits")
}
