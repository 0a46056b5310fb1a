//! RomM's shapes for RomM's clients: ROMs and platforms carry RomM's field
//! names beside romgate's, and `GET /api/roms` reads RomM's parameters
//! (`search_term`, repeated `platform_ids`, `order_by`/`order_dir`, `limit`
//! up to 10,000).

use axum::http::StatusCode;
use romgate::auth::Role;
use serde_json::Value;

use crate::library_support::{get_as, pattern, put_file, scan};
use crate::util::{Browser, TestApp, on_both_engines};

async fn json_ok(app: &TestApp, browser: &Browser, path: &str) -> Value {
    let response = get_as(app, browser, path, &[]).await;
    assert_eq!(response.status, StatusCode::OK, "{path}: {}", response.text());
    response.json()
}

/// The platform ids by slug.
async fn platform_ids(app: &TestApp, browser: &Browser) -> std::collections::HashMap<String, i64> {
    json_ok(app, browser, "/api/platforms")
        .await
        .as_array()
        .expect("a list")
        .iter()
        .map(|p| {
            (
                p["slug"].as_str().expect("slug").to_string(),
                p["id"].as_i64().expect("id"),
            )
        })
        .collect()
}

/// The `fs_name`s of `/api/roms?{query}`, in order.
async fn names(app: &TestApp, browser: &Browser, query: &str) -> Vec<String> {
    json_ok(app, browser, &format!("/api/roms?{query}")).await["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|rom| rom["fs_name"].as_str().expect("fs_name").to_string())
        .collect()
}

on_both_engines!(roms_and_platforms_carry_romm_names, |app: TestApp| async move {
    put_file(&app, "n64", "Super Mario 64 (USA).z64", &pattern(3000, 1));
    put_file(&app, "psx", "Final Fantasy VII/disc1.bin", b"disc");
    scan(&app).await;
    let (_, viewer) = app.signed_in("vera", Role::Viewer).await;

    let platforms = json_ok(&app, &viewer, "/api/platforms").await;
    let n64 = platforms
        .as_array()
        .expect("a list")
        .iter()
        .find(|p| p["slug"] == "n64")
        .expect("n64 listed");
    assert_eq!(n64["fs_slug"], "n64");
    assert_eq!(n64["name"], "Nintendo 64");
    assert_eq!(n64["display_name"], "Nintendo 64");
    assert_eq!(n64["rom_count"], 1);
    let n64_id = n64["id"].as_i64().expect("id");

    let page = json_ok(&app, &viewer, &format!("/api/roms?platform_ids={n64_id}")).await;
    assert_eq!(page["total"], 1);
    let rom = &page["items"][0];
    assert_eq!(rom["name"], "Super Mario 64 (USA)");
    assert_eq!(rom["fs_name"], "Super Mario 64 (USA).z64");
    assert_eq!(rom["fs_name_no_ext"], "Super Mario 64 (USA)");
    assert_eq!(rom["fs_extension"], "z64");
    assert_eq!(rom["fs_size_bytes"], 3000);
    assert_eq!(rom["platform_id"], n64_id);
    assert_eq!(rom["platform_slug"], "n64");
    assert_eq!(rom["platform_fs_slug"], "n64");
    assert_eq!(rom["platform_display_name"], "Nintendo 64");
    // Today's names stay.
    assert_eq!(rom["file_name"], "Super Mario 64 (USA).z64");
    assert_eq!(rom["size"], 3000);

    let one = json_ok(&app, &viewer, &format!("/api/roms/{}", rom["id"])).await;
    assert_eq!(one["fs_extension"], "z64");
    assert_eq!(one["platform_display_name"], "Nintendo 64");

    let folder = &json_ok(&app, &viewer, "/api/roms?search_term=fantasy").await["items"][0];
    assert_eq!(folder["fs_name"], "Final Fantasy VII");
    assert_eq!(folder["fs_name_no_ext"], "Final Fantasy VII");
    assert_eq!(folder["fs_extension"], "");
    assert_eq!(folder["platform_display_name"], "PlayStation");
});

/// Three platforms; sizes that order differently from names.
async fn mixed_library(app: &TestApp) {
    for (platform, name, size) in [
        ("gba", "Metroid Fusion.gba", 400),
        ("gba", "Advance Wars.gba", 100),
        ("n64", "Mario Kart 64.z64", 300),
        ("n64", "Banjo-Kazooie.z64", 500),
        ("snes", "Super Mario World.sfc", 200),
    ] {
        put_file(app, platform, name, &pattern(size, 3));
    }
    scan(app).await;
}

on_both_engines!(romm_query_parameters_filter_and_order, |app: TestApp| async move {
    mixed_library(&app).await;
    let (_, viewer) = app.signed_in("vera", Role::Viewer).await;
    let ids = platform_ids(&app, &viewer).await;
    let (gba, snes) = (ids["gba"], ids["snes"]);

    assert_eq!(
        names(&app, &viewer, &format!("platform_ids={gba}&platform_ids={snes}")).await,
        ["Advance Wars.gba", "Metroid Fusion.gba", "Super Mario World.sfc"]
    );
    // Repeating an id, or naming it in both spellings, lists it once.
    assert_eq!(
        names(
            &app,
            &viewer,
            &format!("platform_ids={snes}&platform_id={snes}&platform_ids={snes}")
        )
        .await,
        ["Super Mario World.sfc"]
    );
    assert_eq!(
        names(&app, &viewer, "search_term=MARIO").await,
        ["Mario Kart 64.z64", "Super Mario World.sfc"]
    );
    assert_eq!(
        names(&app, &viewer, &format!("search_term=mario&platform_ids={snes}")).await,
        ["Super Mario World.sfc"]
    );
    assert_eq!(
        names(&app, &viewer, "order_by=fs_size_bytes&order_dir=desc").await,
        [
            "Banjo-Kazooie.z64",
            "Metroid Fusion.gba",
            "Mario Kart 64.z64",
            "Super Mario World.sfc",
            "Advance Wars.gba"
        ]
    );
    assert_eq!(
        names(&app, &viewer, "order_by=fs_size_bytes&limit=2&offset=1").await,
        ["Super Mario World.sfc", "Mario Kart 64.z64"]
    );
    assert_eq!(
        names(&app, &viewer, "order_by=name&order_dir=DESC&limit=2").await,
        ["Super Mario World.sfc", "Metroid Fusion.gba"]
    );
    let by_id = names(&app, &viewer, "order_by=id").await;
    let by_id_desc = names(&app, &viewer, "order_by=id&order_dir=desc").await;
    assert_eq!(
        by_id.iter().rev().collect::<Vec<_>>(),
        by_id_desc.iter().collect::<Vec<_>>()
    );
    // RomM's clients send parameters romgate has no use for.
    assert_eq!(
        names(&app, &viewer, "with_char_index=false&group_by_meta_id=false")
            .await
            .len(),
        5
    );
});

#[tokio::test]
async fn limits_and_refusals_follow_romm() {
    let app = TestApp::new().await;
    mixed_library(&app).await;
    let (_, viewer) = app.signed_in("vera", Role::Viewer).await;

    let page = json_ok(&app, &viewer, "/api/roms?limit=10000").await;
    assert_eq!(
        (page["limit"].as_i64(), page["total"].as_i64()),
        (Some(10_000), Some(5))
    );
    assert_eq!(page["items"].as_array().map(Vec::len), Some(5));
    // Over RomM's ceiling: cut to it, as romgate has always cut large asks.
    let clamped = json_ok(&app, &viewer, "/api/roms?limit=10001").await;
    assert_eq!(clamped["limit"], 10_000);

    for bad in [
        "order_by=rating",
        "order_by=name%3B%20DROP%20TABLE%20roms",
        "order_dir=sideways",
        "platform_ids=abc",
        "platform_ids=1&platform_ids=",
        "limit=5&limit=6",
        "search_term=a&search_term=b",
    ] {
        let response = get_as(&app, &viewer, &format!("/api/roms?{bad}"), &[]).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{bad}: {}", response.text());
        assert_eq!(response.error_code(), "invalid_request", "{bad}");
    }
    assert_eq!(names(&app, &viewer, "").await.len(), 5, "the refusals changed nothing");
}
