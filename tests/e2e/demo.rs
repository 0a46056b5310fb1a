//! `e2e/demo.sh` as a person runs it: it says where to go once romgate
//! answers, and stopping it leaves nothing behind, in the checkout or in
//! the temporary directory.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const OPEN_LINE: &str = "demo: open http://localhost:8080";

fn git_status(root: &Path) -> String {
    let output = Command::new("git")
        .args(["status", "--porcelain", "--ignored"])
        .current_dir(root)
        .output()
        .expect("git runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
#[ignore = "end-to-end: needs node, npm and the ports 8080 and 9400 free"]
fn the_demo_says_where_to_go_and_leaves_nothing_behind() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().expect("tempdir");
    let before = git_status(root);
    let mut demo = Command::new("bash")
        .arg("e2e/demo.sh")
        .current_dir(root)
        .env("ROMGATE_BIN", env!("CARGO_BIN_EXE_romgate"))
        .env("TMPDIR", tmp.path())
        .env_remove("ROMM_DATA_PATH")
        .env_remove("ROMM_LIBRARY_PATH")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the demo starts");
    let stderr = demo.stderr.take().expect("stderr");
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    while let Ok(line) = received.recv_timeout(Duration::from_secs(60)) {
        let done = line.starts_with(OPEN_LINE);
        seen.push(line);
        if done {
            break;
        }
    }
    let opened = seen.iter().any(|line| line.starts_with(OPEN_LINE));
    let scratch: Vec<_> = std::fs::read_dir(tmp.path()).expect("tmp").collect();
    // SIGTERM, as a service manager or Ctrl-C would stop it (Child::kill is
    // SIGKILL, which runs no trap): the script's trap stops both servers.
    let term = Command::new("kill")
        .args(["-TERM", &demo.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(term.success());
    demo.wait().expect("the demo stops");
    assert!(opened, "no '{OPEN_LINE}' line:\n{}", seen.join("\n"));
    assert_eq!(scratch.len(), 1, "the data lives in one temporary directory");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).expect("tmp").collect();
    assert!(left.is_empty(), "the temporary directory is removed at exit");
    assert_eq!(git_status(root), before, "the checkout is as it was");
}
