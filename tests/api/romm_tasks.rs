//! RomM's task API (tasks.run: administrators) and `GET /api/stats`
//! (roms.read), in RomM's shapes.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use romgate::auth::Role;
use serde_json::Value;

use crate::library_support::{pattern, put_file};
use crate::util::{Browser, TestApp, on_both_engines, request, within_seconds};

const TASK_ENDPOINTS: &[(Method, &str)] = &[
    (Method::GET, "/api/tasks"),
    (Method::GET, "/api/tasks/status"),
    (Method::GET, "/api/tasks/0123456789abcdef0123456789abcdef"),
    (Method::POST, "/api/tasks/run/scan_library"),
];

#[tokio::test]
async fn task_endpoints_are_for_administrators() {
    let app = TestApp::new().await;
    let (_, viewer) = app.signed_in("vera", Role::Viewer).await;
    let (_, editor) = app.signed_in("eddie", Role::Editor).await;
    for (method, path) in TASK_ENDPOINTS {
        let anonymous = app.send(request(method.clone(), path, &[], Body::empty())).await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        for browser in [&viewer, &editor] {
            let response = app.as_browser(browser, method.clone(), path, None).await;
            assert_eq!(response.status, StatusCode::FORBIDDEN, "{method} {path}");
        }
    }
    assert!(app.state.library.scan_runs().is_empty(), "no scan was started");
    let stats = app.send(request(Method::GET, "/api/stats", &[], Body::empty())).await;
    assert_eq!(stats.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_registry_lists_scan_library_as_romm_does() {
    let app = TestApp::new().await;
    let (_, admin) = app.signed_in("root", Role::Admin).await;
    let response = app.as_browser(&admin, Method::GET, "/api/tasks", None).await;
    assert_eq!(response.status, StatusCode::OK);
    let registry = response.json();
    assert_eq!(registry["scheduled"], serde_json::json!([]));
    assert_eq!(registry["watcher"], serde_json::json!([]));
    let scan = &registry["manual"][0];
    assert_eq!(scan["name"], "scan_library");
    assert_eq!(scan["type"], "scan");
    assert_eq!(
        (scan["manual_run"].as_bool(), scan["enabled"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(scan["cron_string"], "");
    assert!(scan["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(scan["description"].as_str().is_some_and(|d| !d.is_empty()));
}

async fn task(app: &TestApp, admin: &Browser, id: &str) -> Value {
    let response = app
        .as_browser(admin, Method::GET, &format!("/api/tasks/{id}"), None)
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()
}

/// Polls run `id` as a client does, until it has ended.
async fn until_ended(app: &TestApp, admin: &Browser, id: &str) -> Value {
    within_seconds(30, async {
        loop {
            let run = task(app, admin, id).await;
            if run["ended_at"].is_string() {
                return run;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the scan ended")
}

on_both_engines!(a_scan_runs_as_a_task_and_stats_count_it, |app: TestApp| async move {
    let (_, admin) = app.signed_in("root", Role::Admin).await;
    let (_, viewer) = app.signed_in("vera", Role::Viewer).await;
    put_file(&app, "gba", "Metroid Fusion.gba", &pattern(400, 1));
    put_file(&app, "n64", "Mario Kart 64.z64", &pattern(300, 2));
    put_file(&app, "n64", "Banjo-Kazooie.z64", &pattern(500, 3));

    let empty = app.as_browser(&viewer, Method::GET, "/api/stats", None).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.json()["ROMS"], 0);
    assert_eq!(empty.json()["TOTAL_FILESIZE_BYTES"], 0);

    let started = app
        .as_browser(&admin, Method::POST, "/api/tasks/run/scan_library", None)
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text());
    let started = started.json();
    let id = started["task_id"].as_str().expect("a task id").to_string();
    assert_eq!(id.len(), 32);
    assert!(["queued", "started", "finished"].contains(&started["status"].as_str().unwrap_or_default()));
    assert_eq!(started["task_type"], "scan");
    assert!(started["created_at"].as_str().is_some_and(|t| t.ends_with('Z')));

    let run = until_ended(&app, &admin, &id).await;
    assert_eq!(run["task_id"], id.as_str());
    assert_eq!(run["status"], "finished");
    assert!(run["started_at"].is_string() && run["enqueued_at"].is_string());
    let stats = &run["meta"]["scan_stats"];
    assert_eq!(stats["total_platforms"], 2);
    assert_eq!(stats["scanned_platforms"], 2);
    assert_eq!(stats["total_roms"], 3);
    assert_eq!(stats["added_roms"], 3);
    assert_eq!(stats["identified_roms"], 0);

    let all = app
        .as_browser(&admin, Method::GET, "/api/tasks/status", None)
        .await
        .json();
    assert_eq!(all[0]["task_id"], id.as_str(), "the newest run first");

    let stats = app.as_browser(&viewer, Method::GET, "/api/stats", None).await.json();
    assert_eq!(stats["PLATFORMS"], 2);
    assert_eq!(stats["ROMS"], 3);
    assert_eq!(stats["TOTAL_FILESIZE_BYTES"], 1200);
    for none in ["SAVES", "STATES", "SCREENSHOTS"] {
        assert_eq!(stats[none], 0, "{none}");
    }
});

#[tokio::test]
async fn unknown_tasks_and_runs_are_404_and_the_old_scan_path_stays() {
    let app = TestApp::new().await;
    let (_, admin) = app.signed_in("root", Role::Admin).await;
    for (method, path) in [
        (Method::POST, "/api/tasks/run/cleanup_missing_roms"),
        (Method::GET, "/api/tasks/0123456789abcdef0123456789abcdef"),
        (Method::GET, "/api/tasks/..%2F..%2Fetc"),
    ] {
        let response = app.as_browser(&admin, method.clone(), path, None).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{method} {path}");
        assert!(!response.error_code().is_empty(), "a JSON refusal for {path}");
    }
    assert!(app.state.library.scan_runs().is_empty());

    put_file(&app, "n64", "a.z64", b"rom");
    let old = app.as_browser(&admin, Method::POST, "/api/tasks/scan", None).await;
    assert_eq!(old.status, StatusCode::OK, "{}", old.text());
    assert_eq!(old.json()["roms"], 1);
    let runs = app.state.library.scan_runs();
    assert_eq!(runs.len(), 1, "the old path's scan is a run too");
    let run = task(&app, &admin, &runs[0].id).await;
    assert_eq!(
        (run["status"].as_str(), run["meta"]["scan_stats"]["total_roms"].as_i64()),
        (Some("finished"), Some(1))
    );
}
