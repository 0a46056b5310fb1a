//! The data directory's disk fills up under a running romgate (a small
//! tmpfs holds the SQLite database and the library): writes, sign-in among
//! them, are refused with a clean 503 `storage_full` (JSON, Retry-After,
//! within the timeout, never a 500), reads go on working (sessions and
//! tokens already held, listing, downloads), and once space is freed it
//! works again without a restart.

use reqwest::StatusCode;

use crate::fault_support::{Answer, PASSWORD, Tmpfs, client, content, get, grant, upload};
use crate::provider::free_port;
use crate::romgate::RomgateServer;

/// Big enough for the database after migrations and a few uploads.
const DISK: &str = "8m";

/// A write on a full disk: refused with 503 `storage_full` and Retry-After,
/// or (the database had room left in pages it already owns) answered.
fn refused_cleanly(answer: &Answer, what: &str) -> bool {
    if answer.status.is_success() {
        return false;
    }
    assert_eq!(
        answer.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{what}: {}",
        answer.text
    );
    assert!(answer.retry_after, "{what}: Retry-After");
    assert!(
        matches!(answer.error(), "storage_full" | "temporarily_unavailable"),
        "{what}: {}",
        answer.text
    );
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs root to mount a tmpfs; run with --ignored"]
async fn a_full_disk_refuses_writes_cleanly_keeps_reads_and_recovers() {
    let disk = Tmpfs::mount(DISK);
    let data = disk.path().display().to_string();
    let library = disk.path().join("library").display().to_string();
    let mut server = RomgateServer::start_logged(
        free_port(),
        &[
            ("ROMM_DATA_PATH", data.as_str()),
            ("ROMM_LIBRARY_PATH", library.as_str()),
        ],
    );
    server.cli(
        &["user", "create", "root", "--role", "admin", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    let client = client();
    let base = server.base.clone();
    let (token, _) = grant(&client, &base, "root").await.expect("a token");
    let rom = content(1, 64 * 1024);
    let uploaded = upload(&client, &base, &token, "snes", "held.sfc", &rom).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.text);
    let rom_id = uploaded.json["id"].as_i64().expect("a ROM id");

    let filler = disk.fill();

    // Sign-ins write a token pair each: within a few, the database needs a
    // page the disk cannot give.
    let mut refused = None;
    for attempt in 0..50 {
        match grant(&client, &base, "root").await {
            Ok(_) => continue,
            Err(answer) => {
                assert!(refused_cleanly(&answer, &format!("sign-in {attempt}")));
                refused = Some(answer);
                break;
            }
        }
    }
    let refused = refused.expect("a sign-in on a full disk was refused");
    assert_eq!(
        refused.error(),
        "temporarily_unavailable",
        "the token endpoint speaks RFC 6749"
    );
    let login = client
        .post(format!("{base}/api/login"))
        .basic_auth("root", Some(PASSWORD))
        .send()
        .await
        .expect("no hang");
    let login = Answer::read(login).await;
    assert!(refused_cleanly(&login, "a password login"), "{}", login.text);
    assert_eq!(login.error(), "storage_full", "{}", login.text);
    let new_rom = upload(&client, &base, &token, "snes", "new.sfc", &content(2, 256 * 1024)).await;
    assert!(refused_cleanly(&new_rom, "an upload"), "{}", new_rom.text);
    assert_eq!(new_rom.error(), "storage_full", "{}", new_rom.text);

    // Reads keep working with what is already held.
    assert_eq!(
        get(&client, &base, "/api/users/me", &token).await.status,
        StatusCode::OK
    );
    let listed = get(&client, &base, "/api/roms", &token).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert!(listed.text.contains("held.sfc"), "{}", listed.text);
    let download = client
        .get(format!("{base}/api/roms/{rom_id}/content/held.sfc"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("a download");
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.bytes().await.expect("bytes").as_ref(), rom.as_slice());
    let leftovers: Vec<_> = std::fs::read_dir(disk.path().join("library/roms/snes"))
        .expect("the platform folder")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name != "held.sfc")
        .collect();
    assert!(leftovers.is_empty(), "the refused upload left {leftovers:?}");

    // Space comes back: no restart needed.
    std::fs::remove_file(filler).expect("free the space");
    let (fresh, _) = grant(&client, &base, "root").await.expect("sign-in works again");
    assert_eq!(
        get(&client, &base, "/api/users/me", &fresh).await.status,
        StatusCode::OK
    );
    let again = upload(&client, &base, &fresh, "snes", "new.sfc", &content(2, 256 * 1024)).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text);

    assert!(server.is_running(), "romgate stayed up");
    let log = server.log();
    assert!(!log.contains("panicked"), "{log}");
    assert!(!log.contains("internal error"), "no 500 on a full disk: {log}");
    assert!(log.contains("disk is full"), "the admin is told why: {log}");
}
