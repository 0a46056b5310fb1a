//! The operator's commands: `--version`, `--help`, `config` (secrets
//! masked), `backup` (while the server writes) and `restore` (round trip,
//! and every refusal leaving the database as it was).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use romgate::auth::Role;
use romgate::clock::{Clock, ManualClock, SystemClock};

use crate::cli_support::{free_port, http_get, romgate, stderr, stdout, store};
use crate::util::TestApp;

#[test]
fn version_and_help_name_every_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let version = romgate(dir.path(), &["--version"], "", &[]);
    assert!(version.status.success());
    assert_eq!(
        stdout(&version).trim(),
        format!("romgate {}", env!("CARGO_PKG_VERSION"))
    );
    let help = stdout(&romgate(dir.path(), &["--help"], "", &[]));
    for command in ["serve", "user", "library", "oidc", "config", "backup", "restore"] {
        assert!(
            help.lines()
                .any(|line| line.trim_start().starts_with(&format!("{command} "))),
            "{command} missing from:\n{help}"
        );
    }
    assert!(help.contains("ROMGATE_METRICS_ADDR"), "{help}");
}

#[test]
fn config_prints_every_variable_with_its_source_and_no_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [
        ("ROMM_PORT", "9999"),
        ("DATABASE_URL", "postgres://romm:pg-secret-1@db.example/romm"),
        ("ROMM_AUTH_SECRET_KEY", "auth-secret-2"),
        ("OIDC_ENABLED", "true"),
        ("OIDC_CLIENT_ID", "romgate-client"),
        ("OIDC_CLIENT_SECRET", "client-secret-3"),
        ("OIDC_REDIRECT_URI", "http://localhost:9999/api/oauth/openid"),
        ("OIDC_SERVER_APPLICATION_URL", "https://auth.example.com"),
    ];
    let output = romgate(dir.path(), &["config"], "", &env);
    assert!(output.status.success(), "{output:?}");
    let shown = format!("{}{}", stdout(&output), stderr(&output));
    for secret in ["pg-secret-1", "auth-secret-2", "client-secret-3"] {
        assert!(!shown.contains(secret), "{secret} printed:\n{shown}");
    }
    let line = |name: &str| {
        shown
            .lines()
            .find(|line| line.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing:\n{shown}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(line("ROMM_PORT"), ["ROMM_PORT", "9999", "(env)"]);
    assert_eq!(
        line("SESSION_MAX_AGE_SECONDS"),
        ["SESSION_MAX_AGE_SECONDS", "1209600", "(default)"]
    );
    assert_eq!(line("OIDC_CLIENT_ID"), ["OIDC_CLIENT_ID", "romgate-client", "(env)"]);
    assert_eq!(
        line("DATABASE_URL"),
        ["DATABASE_URL", "postgres://romm:***@db.example/romm", "(env)"]
    );
    assert_eq!(line("ROMGATE_METRICS_ADDR"), ["ROMGATE_METRICS_ADDR", "-", "(unset)"]);
    for name in romgate::config::KNOWN_VARIABLES {
        line(name);
    }
}

/// A server's database in `data`, on the CLI's clock (the system's).
async fn server_in(data: &Path) -> TestApp {
    std::fs::create_dir_all(data).expect("data directory");
    TestApp::builder()
        .data_dir(data)
        .sqlite_file(&data.join("romgate.db"))
        .clock(ManualClock::new(SystemClock.now()))
        .build()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_the_server_writes_is_consistent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let app = std::sync::Arc::new(server_in(&data).await);
    app.create_user("before", Role::Admin).await;
    let writer = {
        let app = std::sync::Arc::clone(&app);
        tokio::spawn(async move {
            for n in 0..200 {
                app.create_user(&format!("writer{n}"), Role::Viewer).await;
            }
        })
    };
    let file = dir.path().join("backup.db");
    let (data_dir, target) = (data.clone(), file.clone());
    let output =
        tokio::task::spawn_blocking(move || romgate(&data_dir, &["backup", target.to_str().expect("utf-8")], "", &[]))
            .await
            .expect("backup ran");
    writer.await.expect("writer");
    assert!(output.status.success(), "{output:?}");
    assert!(stdout(&output).contains("backed up"), "{output:?}");
    assert!(stdout(&output).contains("auth_secret_key") || app.state.config.auth_secret_key.is_some());
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).expect("backup").permissions());
    assert_eq!(mode & 0o777, 0o600, "a backup holds password hashes");

    let inspection = romgate::store::backup::inspect(&file).await.expect("inspect");
    let romgate::store::backup::Inspection::Restorable { users, behind } = inspection else {
        panic!("not restorable: {inspection:?}");
    };
    assert_eq!(behind, 0);
    assert!((1..=201).contains(&users), "{users}");
    let again = romgate(&data, &["backup", file.to_str().expect("utf-8")], "", &[]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("already exists"), "{again:?}");
    assert_eq!(
        romgate::store::backup::inspect(&file).await.expect("inspect"),
        romgate::store::backup::Inspection::Restorable { users, behind: 0 },
        "the refused backup left the file as it was"
    );
}

#[tokio::test]
async fn restore_puts_a_backup_back_and_keeps_the_old_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let app = server_in(&data).await;
    app.create_user("kept", Role::Admin).await;
    let file = dir.path().join("backup.db");
    let output = romgate(&data, &["backup", file.to_str().expect("utf-8")], "", &[]);
    assert!(output.status.success(), "{output:?}");
    app.create_user("later", Role::Viewer).await;
    app.store().close().await;
    drop(app);

    let output = romgate(&data, &["restore", file.to_str().expect("utf-8")], "", &[]);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout(&output).contains("restored"), "{output:?}");
    let restored = store(&data).await;
    assert!(restored.find_user_with_hash("kept").await.expect("query").is_some());
    assert!(restored.find_user_with_hash("later").await.expect("query").is_none());
    restored.close().await;

    let kept: Vec<_> = std::fs::read_dir(&data)
        .expect("data")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.to_string_lossy().ends_with(".bak"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    let old = romgate::store::Store::open(&romgate::config::DatabaseUrl::new(format!(
        "sqlite://{}",
        kept[0].display()
    )))
    .await
    .expect("the old database opens");
    assert!(old.find_user_with_hash("later").await.expect("query").is_some());
    assert!(file.exists(), "the backup itself stays");
}

/// Under `dir`: a data folder whose server (now stopped) has admin
/// `username`, and a backup of it: (data folder, backup file).
async fn stopped_and_backed_up(dir: &Path, username: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let data = dir.join("data");
    let app = server_in(&data).await;
    app.create_user(username, Role::Admin).await;
    let file = dir.join("backup.db");
    let output = romgate(&data, &["backup", file.to_str().expect("utf-8")], "", &[]);
    assert!(output.status.success(), "{output:?}");
    app.store().close().await;
    (data, file)
}

/// A restore whose copy fails (here its temporary file cannot be made; on
/// a real machine, a full disk) leaves the database where it was: a start
/// without one would create an empty database, with the setup open.
#[tokio::test]
async fn a_restore_that_cannot_copy_leaves_the_database_in_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (data, file) = stopped_and_backed_up(dir.path(), "owner").await;
    std::fs::create_dir(data.join("romgate.db.restoring")).expect("in the way");

    let output = romgate(&data, &["restore", file.to_str().expect("utf-8")], "", &[]);
    assert!(!output.status.success(), "{output:?}");
    assert!(stderr(&output).contains("nothing was changed"), "{output:?}");
    let names: Vec<_> = std::fs::read_dir(&data)
        .expect("data")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|name| name.contains(".bak")), "{names:?}");
    let still = store(&data).await;
    assert!(still.find_user_with_hash("owner").await.expect("query").is_some());
    still.close().await;
}

/// A command on the database holds it as the server does: a restore while
/// `user set-password` waits for its password is refused, so the command's
/// change does not land in the file moved aside.
#[tokio::test]
async fn a_running_command_blocks_restore() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("tempdir");
    let (data, file) = stopped_and_backed_up(dir.path(), "alice").await;
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_romgate"))
        .args(["user", "set-password", "alice", "--password-stdin"])
        .env_clear()
        .env("ROMM_DATA_PATH", &data)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("romgate starts");
    // Until the command holds its lock, as the kernel lists it (a
    // condition, not a time: it gives up after a minute only so a broken
    // build does not hang; probing by taking the lock could make the
    // command's own attempt fail).
    let lock_file = data.join("romgate.db.lock");
    let holds_lock = || {
        let Ok(meta) = std::fs::metadata(&lock_file) else {
            return false;
        };
        let (pid, inode) = (command.id(), std::os::unix::fs::MetadataExt::ino(&meta));
        std::fs::read_to_string("/proc/locks")
            .expect("/proc/locks")
            .lines()
            .any(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                fields.contains(&"FLOCK")
                    && fields.contains(&pid.to_string().as_str())
                    && fields.iter().any(|f| f.ends_with(&format!(":{inode}")))
            })
    };
    let held = (0..1200).any(|_| {
        let held = holds_lock();
        if !held {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        held
    });
    assert!(held, "the command never took the lock");

    let restore = romgate(&data, &["restore", file.to_str().expect("utf-8")], "", &[]);
    assert!(!restore.status.success(), "{restore:?}");
    assert!(stderr(&restore).contains("stop it first"), "{restore:?}");
    let mut stdin = command.stdin.take().expect("stdin");
    stdin.write_all(b"a-new-long-password\n").expect("password");
    drop(stdin);
    assert!(command.wait().expect("exits").success());
}

/// Folds the write-ahead log into the database file and empties it, so the
/// file's bytes are the database's content. Without it the file changes
/// later, without the content changing, whenever the last connection still
/// open in this process (one on an idle blocking thread) closes and SQLite
/// checkpoints on close: the comparison below failed that way once in CI.
async fn fold_write_ahead_log(db: &Path) {
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("connect");
    let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
        .fetch_one(&mut conn)
        .await
        .expect("checkpoint");
    assert_eq!(busy, 0, "the whole log was folded in");
    <sqlx::SqliteConnection as sqlx::Connection>::close(conn)
        .await
        .expect("close");
}

#[tokio::test]
async fn restore_refuses_what_is_not_a_romgate_database_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let app = server_in(&data).await;
    app.create_user("owner", Role::Admin).await;
    app.store().close().await;
    fold_write_ahead_log(&data.join("romgate.db")).await;
    let before = std::fs::read(data.join("romgate.db")).expect("database");

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a database").expect("write");
    let other = dir.path().join("other.db");
    let mut conn =
        <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!("sqlite://{}?mode=rwc", other.display()))
            .await
            .expect("connect");
    sqlx::query("CREATE TABLE t (x)")
        .execute(&mut conn)
        .await
        .expect("table");
    drop(conn);
    let missing = dir.path().join("missing.db");
    for (file, says) in [
        (&text, "not a SQLite database"),
        (&other, "not romgate's"),
        (&missing, "not a SQLite database"),
    ] {
        let output = romgate(&data, &["restore", file.to_str().expect("utf-8")], "", &[]);
        assert!(!output.status.success(), "{output:?}");
        assert!(stderr(&output).contains(says), "{says}: {output:?}");
        assert!(stderr(&output).contains("nothing was changed"), "{output:?}");
    }
    assert_eq!(std::fs::read(data.join("romgate.db")).expect("database"), before);
    let names: Vec<_> = std::fs::read_dir(&data)
        .expect("data")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(
        !names.iter().any(|name| name.to_string_lossy().ends_with(".bak")),
        "{names:?}"
    );
}

#[test]
fn postgres_is_pointed_to_pg_dump() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [("DATABASE_URL", "postgres://romm:pw-xyz@127.0.0.1:1/romm")];
    for command in ["backup", "restore"] {
        let output = romgate(dir.path(), &[command, "some.db"], "", &env);
        assert!(!output.status.success(), "{output:?}");
        let said = stderr(&output);
        assert!(said.contains("pg_dump"), "{said}");
        assert!(!said.contains("pw-xyz"), "{said}");
    }
}

/// The real server, with metrics on: restore refuses while it runs, and
/// the metrics answer on their own port only.
#[test]
fn a_running_server_blocks_restore_and_serves_metrics_on_its_own_port() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let (port, metrics_port) = (free_port(), free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_romgate"))
        .env_clear()
        .env("ROMM_DATA_PATH", &data)
        .env("ROMM_LIBRARY_PATH", dir.path().join("library"))
        .env("ROMM_PORT", port.to_string())
        .env("ROMGATE_METRICS_ADDR", format!("127.0.0.1:{metrics_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut ready = None;
    while Instant::now() < deadline && ready.is_none() {
        ready = http_get(port, "/health/ready").filter(|answer| answer.starts_with("HTTP/1.1 200"));
        std::thread::sleep(Duration::from_millis(50));
    }
    let metrics = http_get(metrics_port, "/metrics");
    let public_metrics = http_get(port, "/metrics");
    let backup = dir.path().join("live.db");
    let backed_up = romgate(&data, &["backup", backup.to_str().expect("utf-8")], "", &[]);
    let restore = romgate(&data, &["restore", backup.to_str().expect("utf-8")], "", &[]);
    let _ = child.kill();
    let _ = child.wait();

    assert!(ready.is_some(), "the server never became ready");
    let metrics = metrics.expect("the metrics answered");
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    assert!(metrics.contains("route=\"/health/ready\""), "{metrics}");
    assert!(public_metrics.expect("answered").starts_with("HTTP/1.1 404"));
    assert!(backed_up.status.success(), "{backed_up:?}");
    assert!(!restore.status.success(), "{restore:?}");
    assert!(stderr(&restore).contains("server is running"), "{restore:?}");
    let names: Vec<_> = std::fs::read_dir(&data)
        .expect("data")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(
        !names.iter().any(|name| name.to_string_lossy().ends_with(".bak")),
        "{names:?}"
    );
}
