//! romgate killed with SIGKILL while clients create users, rotate refresh
//! tokens and upload files. After a restart on the same data: every write
//! that was answered with success is there, nothing half-written is visible
//! (no torn file under a final name, no access token without its refresh
//! token, no row pointing at nothing), and the database passes its
//! integrity check. On SQLite and on a private PostgreSQL.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use tokio::sync::Mutex;

use crate::fault_support::{PASSWORD, client, content, create_user, get, grant, refresh, upload};
use crate::private_postgres::PrivatePostgres;
use crate::provider::free_port;
use crate::romgate::RomgateServer;
use crate::sigkill_checks::{check_database, check_library};

/// The kill comes once this many writes of each kind were answered (the
/// debug build hashes passwords slowly), plus a moment.
const ANSWERED_BEFORE_KILL: usize = 3;
const THEN: Duration = Duration::from_millis(300);
pub const UPLOAD_BYTES: usize = 768 * 1024;
/// An answer that never came: the request was cut by the kill.
const LOST: u16 = 599;

/// What the clients were told before the kill.
#[derive(Default)]
pub struct Acked {
    pub users: Vec<String>,
    /// Per rotating client: the last pair it was given, and whether a
    /// rotation was in flight when the server died.
    pub pairs: Vec<(String, String, bool)>,
    /// File name → content seed, of every upload answered 201.
    pub uploads: HashMap<String, u64>,
    /// Rotations answered, all clients together.
    pub rotations: usize,
}

impl Acked {
    fn enough(&self) -> bool {
        self.users.len() >= ANSWERED_BEFORE_KILL
            && self.uploads.len() >= ANSWERED_BEFORE_KILL
            && self.rotations >= ANSWERED_BEFORE_KILL
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: kills the real binary; run with --ignored"]
async fn sigkill_during_writes_loses_nothing_answered_on_sqlite() {
    let data = tempfile::tempdir().expect("a data dir");
    let path = data.path().display().to_string();
    let library = data.path().join("library").display().to_string();
    let env = [
        ("ROMM_DATA_PATH", path.as_str()),
        ("ROMM_LIBRARY_PATH", library.as_str()),
    ];
    let acked = kill_during_writes(&env).await;
    let sqlite = format!("sqlite://{}?mode=ro", data.path().join("romgate.db").display());
    check_database(&sqlite, &acked).await;
    check_library(&data.path().join("library"), &acked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs PostgreSQL's server binaries; run with --ignored"]
async fn sigkill_during_writes_loses_nothing_answered_on_postgres() {
    let postgres = PrivatePostgres::start();
    let url = postgres.url();
    let data = tempfile::tempdir().expect("a library dir");
    let library = data.path().join("library").display().to_string();
    let env = [("DATABASE_URL", url.as_str()), ("ROMM_LIBRARY_PATH", library.as_str())];
    let acked = kill_during_writes(&env).await;
    check_database(&url, &acked).await;
    check_library(&data.path().join("library"), &acked);
}

/// Runs the writers, kills romgate mid-way, restarts it on the same data
/// and checks through the API that every acknowledged write is there.
async fn kill_during_writes(env: &[(&str, &str)]) -> Acked {
    let port = free_port();
    let server = RomgateServer::start(port, env);
    server.cli(
        &["user", "create", "root", "--role", "admin", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    let base = server.base.clone();
    let acked = Arc::new(Mutex::new(Acked::default()));
    let mut writers = Vec::new();
    for worker in 0..2 {
        // Tokens first: the writers then only write.
        let (token, _) = grant(&client(), &base, "root").await.expect("a token");
        let pair = grant(&client(), &base, "root").await.expect("a token pair");
        writers.push(tokio::spawn(create_users(
            base.clone(),
            worker,
            token.clone(),
            acked.clone(),
        )));
        writers.push(tokio::spawn(rotate(base.clone(), pair, acked.clone())));
        writers.push(tokio::spawn(upload_files(base.clone(), worker, token, acked.clone())));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while !acked.lock().await.enough() {
        assert!(tokio::time::Instant::now() < deadline, "the writers made no progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(THEN).await;
    drop(server); // SIGKILL (std's Child::kill), then reaped
    for writer in writers {
        writer.await.expect("a writer");
    }
    let acked = Arc::try_unwrap(acked).ok().expect("writers done").into_inner();
    assert!(
        !acked.users.is_empty() && !acked.uploads.is_empty() && !acked.pairs.is_empty(),
        "some writes were answered before the kill"
    );
    let server = RomgateServer::start(port, env);
    check_through_api(&server.base, &acked).await;
    acked
}

async fn create_users(base: String, worker: u64, admin: String, acked: Arc<Mutex<Acked>>) {
    let client = client();
    for n in 0.. {
        let name = format!("w{worker}-user-{n}");
        let answer = create_user(&client, &base, &admin, &name).await;
        match answer.status.as_u16() {
            201 => acked.lock().await.users.push(name),
            LOST => return,
            _ => panic!("creating {name}: {}", answer.text),
        }
    }
}

async fn rotate(base: String, mut pair: (String, String), acked: Arc<Mutex<Acked>>) {
    let client = client();
    loop {
        match refresh(&client, &base, &pair.1).await {
            Ok(next) => {
                pair = next;
                acked.lock().await.rotations += 1;
            }
            Err(answer) if answer.status.as_u16() == LOST => {
                acked.lock().await.pairs.push((pair.0, pair.1, true));
                return;
            }
            Err(answer) => panic!("a refresh: {}", answer.text),
        }
    }
}

async fn upload_files(base: String, worker: u64, token: String, acked: Arc<Mutex<Acked>>) {
    let client = client();
    for n in 0.. {
        let seed = worker * 100_000 + n;
        let name = format!("w{worker}-{n}.bin");
        let answer = upload(&client, &base, &token, "snes", &name, &content(seed, UPLOAD_BYTES)).await;
        match answer.status.as_u16() {
            201 => {
                acked.lock().await.uploads.insert(name, seed);
            }
            LOST => return,
            _ => panic!("uploading {name}: {}", answer.text),
        }
    }
}

/// After the restart, through the API: acknowledged users, tokens and
/// uploads are all there and whole.
async fn check_through_api(base: &str, acked: &Acked) {
    let client = client();
    let (admin, _) = grant(&client, base, "root").await.expect("sign-in after the restart");
    let users = get(&client, base, "/api/users", &admin).await;
    assert_eq!(users.status, StatusCode::OK, "{}", users.text);
    for name in &acked.users {
        assert!(
            users.text.contains(&format!("\"{name}\"")),
            "user {name} was acknowledged"
        );
    }
    for (access, refresh_token, _) in &acked.pairs {
        // The access token first: presenting a spent refresh token (one
        // whose rotation committed but never answered) revokes the family.
        let me = get(&client, base, "/api/users/me", access).await;
        assert_eq!(me.status, StatusCode::OK, "an acknowledged access token: {}", me.text);
        match refresh(&client, base, refresh_token).await {
            Ok(_) => {}
            // The rotation in flight at the kill may have committed.
            Err(answer) => assert_eq!(answer.error(), "invalid_grant", "{}", answer.text),
        }
    }
    let listed = get(&client, base, "/api/roms?limit=500", &admin).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let items = listed.json["items"].as_array().cloned().unwrap_or_default();
    for (name, seed) in &acked.uploads {
        let rom = items
            .iter()
            .find(|rom| rom["file_name"] == name.as_str())
            .unwrap_or_else(|| panic!("upload {name} was acknowledged"));
        let id = rom["id"].as_i64().expect("an id");
        let bytes = client
            .get(format!("{base}/api/roms/{id}/content/{name}"))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("a download")
            .bytes()
            .await
            .expect("bytes");
        assert!(
            bytes.as_ref() == content(*seed, UPLOAD_BYTES).as_slice(),
            "{name} is whole"
        );
    }
    for rom in &items {
        assert_eq!(
            rom["size"].as_u64(),
            Some(UPLOAD_BYTES as u64),
            "a listed ROM is whole: {rom}"
        );
    }
}
