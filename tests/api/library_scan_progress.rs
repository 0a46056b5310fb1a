//! A scan's progress is visible while it runs (games checked of the total,
//! bytes hashed), a rescan of an unchanged library reads no file contents,
//! and the task API reports both.

use axum::http::{Method, StatusCode};
use romgate::auth::Role;
use romgate::library::{ScanProgress, ScanStatus};

use crate::library_support::{put_file, scan};
use crate::util::TestApp;

#[tokio::test]
async fn progress_moves_while_a_scan_runs_and_an_unchanged_rescan_reads_nothing() {
    let app = TestApp::new().await;
    put_file(&app, "a-first", "one.bin", &[1; 1000]);
    put_file(&app, "a-first", "two.bin", &[2; 3000]);
    put_file(&app, "b-second", "three.bin", &[3; 500]);
    put_file(&app, "b-second", "Folder/disc.bin", &[4; 700]);

    // The progress callback runs when a platform folder's files are all
    // hashed, while the scan still holds its lock: what the status says then
    // is what a page or an API call sees in the middle of a scan.
    let library = app.state.library.clone();
    let mut seen = Vec::new();
    let report = app
        .state
        .library
        .scan_with_progress(app.now(), |slug, _| {
            seen.push((slug.to_string(), library.scan_status()))
        })
        .await
        .expect("scan");
    let (slug, status) = seen.first().expect("called after the first platform");
    assert_eq!(slug, "a-first");
    let ScanStatus::Running {
        platforms_done,
        platforms_total,
        progress,
        ..
    } = status
    else {
        panic!("running while the callback runs: {status:?}");
    };
    assert_eq!((*platforms_done, *platforms_total), (1, 2));
    // a-first's two files are done; b-second's may be too (its files are
    // queued while a-first's last ones are hashed).
    let ScanProgress {
        files_done,
        files_total,
        bytes_hashed,
    } = *progress;
    assert_eq!(files_total, 4);
    assert!((2..=4).contains(&files_done), "{progress:?}");
    assert!((4000..=4500).contains(&bytes_hashed), "{progress:?}");
    // A folder game is counted, not hashed.
    assert_eq!((report.roms, report.added, report.bytes_hashed), (4, 4, 4500));
    assert_eq!(app.state.library.scan_status(), ScanStatus::Finished(report));

    let again = scan(&app).await;
    assert_eq!(
        (again.roms, again.added, again.updated, again.bytes_hashed),
        (4, 0, 0, 0)
    );
}

#[tokio::test]
async fn the_task_api_reports_the_scanner_to_those_who_may_run_it() {
    let app = TestApp::new().await;
    let (_, admin) = app.signed_in("admin", Role::Admin).await;
    let (_, viewer) = app.signed_in("viewer", Role::Viewer).await;
    let idle = app.as_browser(&admin, Method::GET, "/api/tasks/scan", None).await;
    assert_eq!(idle.status, StatusCode::OK);
    assert_eq!(idle.json()["state"], "idle");

    put_file(&app, "gb", "game.gb", &[9; 2048]);
    let ran = app.as_browser(&admin, Method::POST, "/api/tasks/scan", None).await;
    assert_eq!(ran.status, StatusCode::OK, "{}", ran.text());
    assert_eq!(ran.json()["bytes_hashed"], 2048);

    let finished = app.as_browser(&admin, Method::GET, "/api/tasks/scan", None).await;
    let body = finished.json();
    assert_eq!(body["state"], "finished", "{body}");
    assert_eq!(body["report"]["added"], 1);
    assert_eq!(body["report"]["bytes_hashed"], 2048);

    let refused = app.as_browser(&viewer, Method::GET, "/api/tasks/scan", None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let anonymous = app.get("/api/tasks/scan", &[]).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}
