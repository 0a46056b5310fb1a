//! The scanner: rescans follow the disk without duplicating rows, hashes
//! follow content changes, links never lead it out of the library.

use std::fs::{File, FileTimes};
use std::time::{Duration, SystemTime};

use axum::http::StatusCode;
use romgate::auth::Role;
use romgate::store::{Rom, RomFilter};

use crate::library_support::{library_dir, put_file, scan, sha256_hex};
use crate::util::{TestApp, on_both_engines};

async fn all_roms(app: &TestApp) -> Vec<Rom> {
    let filter = RomFilter {
        limit: 100_000,
        ..RomFilter::default()
    };
    let (roms, total) = app.store().list_roms(&filter).await.expect("list");
    assert_eq!(total as usize, roms.len());
    roms
}

fn find<'a>(roms: &'a [Rom], name: &str) -> &'a Rom {
    roms.iter()
        .find(|r| r.file_name == name)
        .unwrap_or_else(|| panic!("{name} listed"))
}

fn set_mtime(path: &std::path::Path, time: SystemTime) {
    let file = File::options().write(true).open(path).expect("open");
    file.set_times(FileTimes::new().set_modified(time)).expect("set mtime");
}

on_both_engines!(
    rescans_follow_additions_changes_and_removals,
    |app: TestApp| async move {
        let a = put_file(&app, "n64", "a.z64", b"aaaaaaaaaa");
        let b = put_file(&app, "n64", "b.z64", b"bbbbbbbbbbbbbbbbbbbb");
        put_file(&app, "psx", "FF7/disc1.bin", b"");
        put_file(&app, "psx", "FF7/disc1.bin", b"12345");
        put_file(&app, "psx", "FF7/disc2.bin", b"1234567");
        put_file(&app, "gba", "gone.gba", b"gone");
        let first = scan(&app).await;
        assert_eq!((first.platforms, first.roms, first.added, first.removed), (3, 4, 4, 0));
        let before = all_roms(&app).await;
        let ff7 = find(&before, "FF7");
        assert!(ff7.multi);
        assert_eq!((ff7.size, ff7.sha256.as_deref()), (12, None));
        assert_eq!(
            find(&before, "a.z64").sha256.as_deref(),
            Some(sha256_hex(b"aaaaaaaaaa").as_str())
        );

        let idle = scan(&app).await;
        assert_eq!((idle.added, idle.updated, idle.removed), (0, 0, 0));
        assert_eq!(all_roms(&app).await, before, "nothing changes without changes on disk");

        // a: same size, new content and mtime; b: new size; c: new; FF7 loses a
        // disc; the gba platform disappears.
        std::fs::write(&a, b"AAAAAAAAAA").unwrap();
        set_mtime(&a, SystemTime::now() + Duration::from_secs(60));
        std::fs::write(&b, b"bb").unwrap();
        put_file(&app, "n64", "c.z64", b"cc");
        std::fs::remove_file(library_dir(&app).join("roms/psx/FF7/disc2.bin")).unwrap();
        std::fs::remove_dir_all(library_dir(&app).join("roms/gba")).unwrap();
        let again = scan(&app).await;
        assert_eq!((again.platforms, again.roms), (2, 4));
        assert_eq!((again.added, again.updated, again.removed), (1, 3, 1));

        let after = all_roms(&app).await;
        let names: Vec<_> = after.iter().map(|r| r.file_name.as_str()).collect();
        assert_eq!(names, ["a.z64", "b.z64", "c.z64", "FF7"]);
        assert_eq!(find(&after, "a.z64").id, find(&before, "a.z64").id, "updated in place");
        assert_eq!(
            find(&after, "a.z64").sha256.as_deref(),
            Some(sha256_hex(b"AAAAAAAAAA").as_str())
        );
        assert_eq!(find(&after, "b.z64").size, 2);
        assert_eq!(
            find(&after, "b.z64").sha256.as_deref(),
            Some(sha256_hex(b"bb").as_str())
        );
        assert_eq!(find(&after, "FF7").size, 5);
        let slugs: Vec<_> = app
            .store()
            .list_platforms()
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.slug)
            .collect();
        assert_eq!(slugs, ["n64", "psx"]);
    }
);

#[tokio::test]
async fn files_whose_size_and_mtime_stay_are_not_rehashed() {
    let app = TestApp::new().await;
    let path = put_file(&app, "n64", "a.z64", b"original");
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    scan(&app).await;
    std::fs::write(&path, b"ORIGINAL").unwrap();
    set_mtime(&path, mtime);
    scan(&app).await;
    let rom = &all_roms(&app).await[0];
    assert_eq!(
        rom.sha256.as_deref(),
        Some(sha256_hex(b"original").as_str()),
        "the cheap check held"
    );
}

#[tokio::test]
async fn links_out_of_the_library_are_skipped_links_inside_are_followed() {
    let app = TestApp::new().await;
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.z64"), b"secret").unwrap();
    std::fs::create_dir(outside.path().join("games")).unwrap();
    std::fs::write(outside.path().join("games/stolen.gba"), b"stolen").unwrap();
    let real = put_file(&app, "n64", "real.z64", b"real");
    let n64 = library_dir(&app).join("roms/n64");
    std::os::unix::fs::symlink(outside.path().join("secret.z64"), n64.join("secret.z64")).unwrap();
    std::os::unix::fs::symlink(&real, n64.join("alias.z64")).unwrap();
    std::os::unix::fs::symlink("/", n64.join("root")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("games"), library_dir(&app).join("roms/stolen")).unwrap();
    put_file(&app, "n64", "Folder/inner.bin", b"in");
    std::os::unix::fs::symlink(outside.path(), n64.join("Folder/escape")).unwrap();

    let report = scan(&app).await;
    assert_eq!(report.skipped, 4, "{report:?}");
    let roms = all_roms(&app).await;
    let names: Vec<_> = roms.iter().map(|r| r.file_name.as_str()).collect();
    assert_eq!(names, ["alias.z64", "Folder", "real.z64"]);
    assert_eq!(
        find(&roms, "Folder").size,
        2,
        "the link inside the folder is not counted"
    );
    assert_eq!(
        find(&roms, "alias.z64").sha256.as_deref(),
        Some(sha256_hex(b"real").as_str())
    );
    let slugs: Vec<_> = app
        .store()
        .list_platforms()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.slug)
        .collect();
    assert_eq!(slugs, ["n64"]);
}

#[tokio::test]
async fn hidden_files_and_upload_leftovers_are_not_games() {
    let app = TestApp::new().await;
    put_file(&app, "n64", "game.z64", b"game");
    put_file(&app, "n64", ".romgate-upload-0123.tmp", b"partial");
    put_file(&app, "n64", ".DS_Store", b"junk");
    put_file(&app, ".trash", "old.z64", b"old");
    let report = scan(&app).await;
    assert_eq!((report.platforms, report.roms, report.skipped), (1, 1, 0));
}

#[tokio::test]
async fn a_missing_library_is_refused_and_keeps_the_rows() {
    let app = TestApp::new().await;
    put_file(&app, "n64", "game.z64", b"game");
    scan(&app).await;
    std::fs::rename(library_dir(&app).join("roms"), library_dir(&app).join("unmounted")).unwrap();
    let (_, admin) = app.signed_in("root", Role::Admin).await;
    let response = app
        .as_browser(&admin, axum::http::Method::POST, "/api/tasks/scan", None)
        .await;
    assert_eq!(response.status, StatusCode::CONFLICT, "{}", response.text());
    assert_eq!(response.error_code(), "library_missing");
    assert_eq!(all_roms(&app).await.len(), 1, "an unmounted library empties nothing");
}

#[tokio::test]
async fn a_large_library_is_written_in_batches_without_duplicates() {
    let app = TestApp::new().await;
    let dir = library_dir(&app).join("roms/gb");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..1_234 {
        std::fs::write(dir.join(format!("game {i:04}.gb")), i.to_string()).unwrap();
    }
    let first = scan(&app).await;
    assert_eq!((first.roms, first.added), (1_234, 1_234));
    for i in 0..10 {
        std::fs::remove_file(dir.join(format!("game {i:04}.gb"))).unwrap();
    }
    let second = scan(&app).await;
    assert_eq!(
        (second.roms, second.added, second.updated, second.removed),
        (1_224, 0, 0, 10)
    );
    assert_eq!(all_roms(&app).await.len(), 1_224);
}

on_both_engines!(
    a_scan_removes_uploads_left_behind_by_a_killed_process_and_nothing_else,
    |app: TestApp| async move {
        put_file(&app, "n64", "game.z64", b"game");
        let leftover = put_file(&app, "n64", ".romgate-upload-0a1b2c.tmp", b"half a game");
        let live = put_file(&app, "n64", ".romgate-upload-3d4e5f.tmp", b"being written");
        let own = put_file(&app, "n64", ".hidden-by-the-owner.tmp", b"mine");
        let day_and_more = SystemTime::now() - Duration::from_secs(25 * 3600);
        set_mtime(&leftover, day_and_more);
        set_mtime(&own, day_and_more);
        let report = scan(&app).await;
        assert_eq!(report.roms, 1, "hidden files are never games");
        assert!(!leftover.exists(), "a day-old upload temporary is removed");
        assert!(live.exists(), "an upload in progress (recently written) stays");
        assert!(own.exists(), "other hidden files are not romgate's to remove");
    }
);

/// A folder the scan cannot read whole (here a symbolic-link loop in it,
/// which root's tests can make; on a real machine a share that went away
/// or a permission) says nothing about what is gone: the games and
/// platforms missing from it are kept until a scan reads it whole.
#[tokio::test]
async fn a_folder_not_read_whole_removes_nothing() {
    let app = TestApp::new().await;
    let roms = library_dir(&app).join("roms");
    put_file(&app, "gba", "A.gba", b"a");
    let b = put_file(&app, "gba", "B.gba", b"b");
    put_file(&app, "n64", "C.z64", b"c");
    scan(&app).await;
    std::fs::remove_file(&b).expect("B removed");
    std::fs::remove_dir_all(roms.join("n64")).expect("n64 removed");
    let loops = [roms.join("gba").join("loop"), roms.join("loop")];
    for path in &loops {
        std::os::unix::fs::symlink(path, path).expect("a link to itself");
    }
    let report = scan(&app).await;
    assert_eq!(report.removed, 0, "{report:?}");
    let names: Vec<String> = all_roms(&app).await.into_iter().map(|r| r.file_name).collect();
    assert_eq!(names.len(), 3, "{names:?}");

    for path in &loops {
        std::fs::remove_file(path).expect("loop removed");
    }
    let report = scan(&app).await;
    assert_eq!(report.removed, 2, "{report:?}");
    let names: Vec<String> = all_roms(&app).await.into_iter().map(|r| r.file_name).collect();
    assert_eq!(names, ["A.gba"]);
}

/// A file replaced while the scan hashes it (deleted and uploaded again)
/// keeps the upload's row: the scan's late write of the old file's size
/// and hash is left out, and the next scan reads the new file.
#[tokio::test]
async fn a_file_replaced_while_it_is_hashed_keeps_the_uploads_row() {
    use romgate::library::ScanStatus;

    let app = TestApp::new().await;
    let (_, editor) = app.signed_in("eddie", Role::Editor).await;
    let path = put_file(&app, "gba", "X.gba", b"x");
    scan(&app).await;
    File::options()
        .write(true)
        .open(&path)
        .expect("open")
        .set_len(128 << 20)
        .expect("grown");
    let library = app.state.library.clone();
    let now = app.now();
    let scanning = tokio::spawn(async move { library.scan(now).await });
    // Until the hashing has begun (a condition; a minute at most).
    for _ in 0..6000 {
        if matches!(app.state.library.scan_status(), ScanStatus::Running { progress, .. } if progress.bytes_hashed > 0)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let old = find(&all_roms(&app).await, "X.gba").id;
    let deleted = app
        .as_browser(&editor, axum::http::Method::DELETE, &format!("/api/roms/{old}"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text());
    let uploaded = crate::library_support::upload(&app, &editor, "gba", "X.gba", b"hello").await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.text());
    scanning.await.expect("joined").expect("scanned");

    let roms = all_roms(&app).await;
    let x = find(&roms, "X.gba");
    assert_eq!((x.size, x.sha256.as_deref()), (5, Some(sha256_hex(b"hello").as_str())));
}
