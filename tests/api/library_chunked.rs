//! RomM's chunked upload through the real router: chunks in any order and
//! retried, nothing under the file's name before a verified completion, the
//! upload its starter's alone, cancel and expiry, the 64 MiB chunk limit,
//! the path rules (two instances: `library_chunked_instances`).

use axum::http::StatusCode;
use romgate::auth::Role;
use romgate::library::{ABANDONED_AFTER, COMPLETION_STALE_AFTER, MAX_OPEN_UPLOADS};

use crate::chunked_support::{MIB, cancel, chunk_folder, complete, platform, put_chunk, repeated, start, started};
use crate::library_support::{files_under, library_dir, listed, pattern, sha256_hex};
use crate::util::{TestApp, on_both_engines};

on_both_engines!(
    chunks_in_any_order_and_retried_make_the_file,
    |app: TestApp| async move {
        let (_, editor) = app.signed_in("eddie", Role::Editor).await;
        let n64 = platform(&app, "n64").await;
        let file = pattern(10_000, 3);
        let parts: Vec<&[u8]> = file.chunks(3000).collect();
        let id = started(&app, &editor, n64, "Mario Kart 64.z64", 10_000, 4).await;
        let dest = library_dir(&app).join("roms/n64/Mario Kart 64.z64");
        // A wrong first copy of chunk 1, replaced by its retry.
        let sends: [(u64, Vec<u8>); 6] = [
            (2, parts[2].to_vec()),
            (1, pattern(3000, 9)),
            (3, parts[3].to_vec()),
            (0, parts[0].to_vec()),
            (0, parts[0].to_vec()),
            (1, parts[1].to_vec()),
        ];
        let mut receipts = Vec::new();
        for (index, bytes) in sends {
            let response = put_chunk(&app, &editor, &id, index, bytes).await;
            assert_eq!(response.status, StatusCode::OK, "{}", response.text());
            receipts.push(response.json()["received"].as_u64().expect("received"));
            assert_eq!(response.json()["total"], 4);
            assert!(!dest.exists(), "nothing under the name before completion");
        }
        assert_eq!(receipts, [1, 2, 3, 4, 4, 4]);
        let done = complete(&app, &editor, &id).await;
        assert_eq!(done.status, StatusCode::CREATED, "{}", done.text());
        let rom = done.json();
        assert_eq!(rom["file_name"], "Mario Kart 64.z64");
        assert_eq!(rom["size"], 10_000);
        assert_eq!(rom["sha256"].as_str(), Some(sha256_hex(&file).as_str()));
        assert!(std::fs::read(&dest).unwrap() == file, "the file is whole, in order");
        assert_eq!(
            files_under(&library_dir(&app)),
            [dest],
            "no chunk or temporary file stays"
        );
        assert_eq!(listed(&app, &editor, "").await.len(), 1);
        assert_eq!(
            complete(&app, &editor, &id).await.status,
            StatusCode::NOT_FOUND,
            "done once"
        );
    }
);

#[tokio::test]
async fn a_missing_chunk_is_400_writes_nothing_and_can_still_be_sent() {
    let app = TestApp::new().await;
    let (_, editor) = app.signed_in("eddie", Role::Editor).await;
    let gba = platform(&app, "gba").await;
    let id = started(&app, &editor, gba, "Zelda.gba", 9, 3).await;
    for (index, bytes) in [(0, "abc"), (2, "ghi")] {
        assert_eq!(put_chunk(&app, &editor, &id, index, bytes).await.status, StatusCode::OK);
    }
    let refused = complete(&app, &editor, &id).await;
    assert_eq!(
        (refused.status, refused.error_code().as_str()),
        (StatusCode::BAD_REQUEST, "missing_chunks"),
        "{}",
        refused.text()
    );
    assert!(
        refused.json()["detail"].as_str().unwrap_or_default().contains(": 1."),
        "{}",
        refused.text()
    );
    assert!(files_under(&library_dir(&app).join("roms/gba")).is_empty());
    assert!(listed(&app, &editor, "").await.is_empty());
    assert_eq!(put_chunk(&app, &editor, &id, 1, "def").await.status, StatusCode::OK);
    let done = complete(&app, &editor, &id).await;
    assert_eq!(done.status, StatusCode::CREATED, "{}", done.text());
    assert_eq!(
        std::fs::read(library_dir(&app).join("roms/gba/Zelda.gba")).unwrap(),
        b"abcdefghi"
    );
}

#[tokio::test]
async fn sizes_that_do_not_add_up_are_400_and_write_nothing() {
    let app = TestApp::new().await;
    let (_, editor) = app.signed_in("eddie", Role::Editor).await;
    let gb = platform(&app, "gb").await;
    let id = started(&app, &editor, gb, "Tetris.gb", 10, 2).await;
    for index in 0..2 {
        assert_eq!(
            put_chunk(&app, &editor, &id, index, "4444").await.status,
            StatusCode::OK
        );
    }
    let short = complete(&app, &editor, &id).await;
    assert_eq!(
        (short.status, short.error_code().as_str()),
        (StatusCode::BAD_REQUEST, "size_mismatch")
    );
    let too_big = put_chunk(&app, &editor, &id, 1, "x".repeat(11)).await;
    assert_eq!(
        (too_big.status, too_big.error_code().as_str()),
        (StatusCode::BAD_REQUEST, "size_mismatch"),
        "a chunk larger than the whole file"
    );
    let beyond = put_chunk(&app, &editor, &id, 2, "x").await;
    assert_eq!(
        beyond.status,
        StatusCode::BAD_REQUEST,
        "index past the announced chunks"
    );
    assert!(files_under(&library_dir(&app).join("roms/gb")).is_empty());
    assert!(listed(&app, &editor, "").await.is_empty());
    // Corrected, it completes.
    assert_eq!(put_chunk(&app, &editor, &id, 1, "666666").await.status, StatusCode::OK);
    assert_eq!(complete(&app, &editor, &id).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn the_chunks_together_hold_no_more_than_the_announced_size() {
    let app = TestApp::new().await;
    let (_, editor) = app.signed_in("eddie", Role::Editor).await;
    let gb = platform(&app, "gb").await;
    let id = started(&app, &editor, gb, "Tetris.gb", 10, 10).await;
    assert_eq!(
        put_chunk(&app, &editor, &id, 0, "x".repeat(10)).await.status,
        StatusCode::OK
    );
    for index in [1, 9] {
        let over = put_chunk(&app, &editor, &id, index, "x").await;
        assert_eq!(
            (over.status, over.error_code().as_str()),
            (StatusCode::BAD_REQUEST, "size_mismatch"),
            "chunk {index}: the other chunks already hold the whole size"
        );
    }
    let held: u64 = std::fs::read_dir(chunk_folder(&app, &id))
        .expect("the chunk folder")
        .map(|entry| entry.expect("entry").metadata().expect("metadata").len())
        .sum();
    assert_eq!(held, 10, "nothing but the first chunk is stored");
    // A chunk sent again replaces its copy: its own bytes are room again.
    assert_eq!(put_chunk(&app, &editor, &id, 0, "x").await.status, StatusCode::OK);
    for index in 1..10 {
        assert_eq!(put_chunk(&app, &editor, &id, index, "x").await.status, StatusCode::OK);
    }
    assert_eq!(complete(&app, &editor, &id).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_person_has_a_bounded_number_of_uploads_open() {
    let app = TestApp::new().await;
    let (_, editor) = app.signed_in("eddie", Role::Editor).await;
    let (_, other) = app.signed_in("olga", Role::Editor).await;
    let gb = platform(&app, "gb").await;
    let mut first = None;
    for n in 0..MAX_OPEN_UPLOADS {
        let id = started(&app, &editor, gb, &format!("Game {n}.gb"), 4, 1).await;
        first.get_or_insert(id);
    }
    let over = start(&app, &editor, gb, "One more.gb", 4, 1).await;
    assert_eq!(
        (over.status, over.error_code().as_str()),
        (StatusCode::CONFLICT, "too_many_uploads")
    );
    started(&app, &other, gb, "Hers.gb", 4, 1).await;
    let first = first.expect("an upload");
    assert_eq!(cancel(&app, &editor, &first).await.status, StatusCode::NO_CONTENT);
    started(&app, &editor, gb, "One more.gb", 4, 1).await;
}

/// A completion cut off mid-copy (the process stopped) keeps its claim: the
/// upload answers 409 for a while, then can be completed (or cancelled)
/// again instead of waiting a day for the sweep.
#[tokio::test]
async fn a_completion_cut_off_midway_does_not_hold_the_upload_for_long() {
    let app = TestApp::new().await;
    let (_, editor) = app.signed_in("eddie", Role::Editor).await;
    let gb = platform(&app, "gb").await;
    let id = started(&app, &editor, gb, "Tetris.gb", 4, 1).await;
    assert_eq!(put_chunk(&app, &editor, &id, 0, "abcd").await.status, StatusCode::OK);
    // What the cut-off completion left: its claim.
    let now = app.now();
    assert!(
        app.store()
            .claim_chunked_upload(&id, now, now - COMPLETION_STALE_AFTER)
            .await
            .expect("claim")
    );
    for response in [complete(&app, &editor, &id).await, cancel(&app, &editor, &id).await] {
        assert_eq!(response.status, StatusCode::CONFLICT, "{}", response.text());
    }
    app.clock.advance(COMPLETION_STALE_AFTER + 1);
    assert_eq!(put_chunk(&app, &editor, &id, 0, "abcd").await.status, StatusCode::OK);
    assert_eq!(complete(&app, &editor, &id).await.status, StatusCode::CREATED);
}

/// A completion whose request is dropped midway (a client or proxy that
/// stopped waiting: hyper drops the handler's future) still runs to its
/// end: the ROM is there with its row, and the upload is not left claimed.
#[tokio::test]
async fn a_completion_whose_request_is_dropped_still_finishes() {
    let app = TestApp::new().await;
    let (_, editor) = app.signed_in("eddie", Role::Editor).await;
    let psx = platform(&app, "psx").await;
    let id = started(&app, &editor, psx, "Big.bin", 48 * MIB, 3).await;
    for index in 0..3 {
        let response = put_chunk(&app, &editor, &id, index, repeated(b'x', 16 * MIB)).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    }
    let claimed = async {
        loop {
            let upload = app.store().find_chunked_upload(&id).await.expect("lookup");
            if upload.is_none_or(|u| u.completing_since.is_some()) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    };
    tokio::select! {
        biased;
        () = claimed => {}
        response = complete(&app, &editor, &id) => panic!("finished before it could be dropped: {}", response.text()),
    }
    // Until the completion's task ends (a condition; a minute at most).
    let mut finished = false;
    for _ in 0..600 {
        if app.store().find_chunked_upload(&id).await.expect("lookup").is_none() {
            finished = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(finished, "the dropped completion left the upload behind");
    let roms = listed(&app, &editor, "").await;
    assert!(roms.iter().any(|(_, name)| name == "Big.bin"), "{roms:?}");
    let on_disk = std::fs::metadata(library_dir(&app).join("roms/psx/Big.bin")).expect("in place");
    assert_eq!(on_disk.len(), 48 * MIB);
}

/// A completion that is still running renews its claim (every minute):
/// a renewed claim is not taken over, however long ago it was first taken.
#[tokio::test]
async fn a_renewed_completion_claim_is_not_taken_over() {
    let app = TestApp::new().await;
    let (_, editor) = app.signed_in("eddie", Role::Editor).await;
    let gb = platform(&app, "gb").await;
    let id = started(&app, &editor, gb, "Tetris.gb", 4, 1).await;
    assert_eq!(put_chunk(&app, &editor, &id, 0, "abcd").await.status, StatusCode::OK);
    let now = app.now();
    assert!(
        app.store()
            .claim_chunked_upload(&id, now, now - COMPLETION_STALE_AFTER)
            .await
            .expect("claim")
    );
    app.clock.advance(COMPLETION_STALE_AFTER + 1);
    app.store()
        .renew_chunked_upload_claim(&id, app.now())
        .await
        .expect("renew");
    app.clock.advance(COMPLETION_STALE_AFTER - 1);
    assert_eq!(complete(&app, &editor, &id).await.status, StatusCode::CONFLICT);
    app.clock.advance(2);
    assert_eq!(complete(&app, &editor, &id).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn what_start_announces_is_checked_before_anything_is_stored() {
    let app = TestApp::builder()
        .env("ROMGATE_MAX_UPLOAD_BYTES", "100000000")
        .build()
        .await;
    let (_, editor) = app.signed_in("eddie", Role::Editor).await;
    let n64 = platform(&app, "n64").await;
    std::fs::create_dir_all(library_dir(&app).join("roms/n64")).unwrap();
    std::fs::write(library_dir(&app).join("roms/n64/taken.z64"), b"x").unwrap();
    let cases: [(i64, &str, u64, u64, StatusCode, &str); 7] = [
        (
            n64,
            "big.z64",
            100_000_001,
            2,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (n64, "a.z64", 0, 1, StatusCode::BAD_REQUEST, "invalid_request"),
        (n64, "a.z64", 10, 0, StatusCode::BAD_REQUEST, "invalid_request"),
        (n64, "a.z64", 10, 11, StatusCode::BAD_REQUEST, "invalid_request"),
        (n64, "a.z64", 65 * MIB, 1, StatusCode::BAD_REQUEST, "invalid_request"),
        (n64 + 1000, "a.z64", 10, 1, StatusCode::BAD_REQUEST, "invalid_platform"),
        (n64, "taken.z64", 10, 1, StatusCode::CONFLICT, "rom_exists"),
    ];
    for (platform_id, name, size, chunks, status, code) in cases {
        let response = start(&app, &editor, platform_id, name, size, chunks).await;
        assert_eq!(
            (response.status, response.error_code().as_str()),
            (status, code),
            "{name} {size} {chunks}: {}",
            response.text()
        );
    }
    let no_headers = app
        .as_browser(&editor, axum::http::Method::POST, "/api/roms/upload/start", None)
        .await;
    assert_eq!(
        (no_headers.status, no_headers.error_code().as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    assert!(files_under(&library_dir(&app).join("roms/.romgate-uploads")).is_empty());
}

#[tokio::test]
async fn a_chunk_over_64_mib_is_413_and_the_earlier_copy_stays() {
    let app = TestApp::new().await;
    let (_, editor) = app.signed_in("eddie", Role::Editor).await;
    let psx = platform(&app, "psx").await;
    let size = 64 * MIB + 1;
    let id = started(&app, &editor, psx, "Big.bin", size, 2).await;
    let whole = put_chunk(&app, &editor, &id, 0, repeated(7, 64 * MIB)).await;
    assert_eq!(whole.status, StatusCode::OK, "exactly 64 MiB fits: {}", whole.text());
    // Streamed without a length: refused once it passes 64 MiB.
    let over = put_chunk(&app, &editor, &id, 0, repeated(8, 64 * MIB + 1)).await;
    assert_eq!(
        (over.status, over.error_code().as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
        "{}",
        over.text()
    );
    // With a length that says so: refused before a byte is read.
    let announced = {
        let cookie = editor.cookie_header();
        let length = (64 * MIB + 1).to_string();
        let headers = [
            ("cookie", cookie.as_str()),
            ("x-csrftoken", editor.csrf.as_str()),
            ("x-chunk-index", "1"),
            ("content-length", length.as_str()),
        ];
        let path = format!("/api/roms/upload/{id}");
        app.send(crate::util::request(
            axum::http::Method::PUT,
            &path,
            &headers,
            "x".into(),
        ))
        .await
    };
    assert_eq!(announced.status, StatusCode::PAYLOAD_TOO_LARGE);
    let folder = chunk_folder(&app, &id);
    assert_eq!(files_under(&folder), [folder.join("0")], "no partial chunk stays");
    assert_eq!(std::fs::metadata(folder.join("0")).unwrap().len(), 64 * MIB);
    assert_eq!(put_chunk(&app, &editor, &id, 1, "!").await.status, StatusCode::OK);
    let done = complete(&app, &editor, &id).await;
    assert_eq!(done.status, StatusCode::CREATED, "{}", done.text());
    assert_eq!(done.json()["size"].as_u64(), Some(size));
}

#[tokio::test]
async fn another_persons_upload_does_not_exist_for_them() {
    let app = TestApp::new().await;
    let (_, alice) = app.signed_in("alice", Role::Editor).await;
    let (_, bob) = app.signed_in("bob", Role::Editor).await;
    let (_, viewer) = app.signed_in("vera", Role::Viewer).await;
    let n64 = platform(&app, "n64").await;
    let id = started(&app, &alice, n64, "Alice.z64", 3, 1).await;
    let responses = [
        put_chunk(&app, &bob, &id, 0, "bob").await,
        complete(&app, &bob, &id).await,
        cancel(&app, &bob, &id).await,
    ];
    for response in responses {
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{}", response.text());
    }
    for unknown in ["01234567-89ab-cdef-0123-456789abcdef", "..", "not-an-id"] {
        assert_eq!(
            put_chunk(&app, &alice, unknown, 0, "x").await.status,
            StatusCode::NOT_FOUND,
            "{unknown}"
        );
    }
    assert_eq!(
        put_chunk(&app, &viewer, &id, 0, "vvv").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        start(&app, &viewer, n64, "v.z64", 3, 1).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(put_chunk(&app, &alice, &id, 0, "abc").await.status, StatusCode::OK);
    let done = complete(&app, &alice, &id).await;
    assert_eq!(done.status, StatusCode::CREATED, "{}", done.text());
    assert_eq!(
        std::fs::read(library_dir(&app).join("roms/n64/Alice.z64")).unwrap(),
        b"abc"
    );
}

#[tokio::test]
async fn cancel_deletes_the_chunks_and_the_upload() {
    let app = TestApp::new().await;
    let (_, editor) = app.signed_in("eddie", Role::Editor).await;
    let n64 = platform(&app, "n64").await;
    let id = started(&app, &editor, n64, "Gone.z64", 6, 2).await;
    assert_eq!(put_chunk(&app, &editor, &id, 0, "abc").await.status, StatusCode::OK);
    assert!(chunk_folder(&app, &id).join("0").exists());
    assert_eq!(cancel(&app, &editor, &id).await.status, StatusCode::NO_CONTENT);
    assert!(!chunk_folder(&app, &id).exists());
    assert_eq!(
        put_chunk(&app, &editor, &id, 1, "def").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(complete(&app, &editor, &id).await.status, StatusCode::NOT_FOUND);
    assert_eq!(cancel(&app, &editor, &id).await.status, StatusCode::NOT_FOUND);
    assert!(files_under(&library_dir(&app)).is_empty());
}

#[tokio::test]
async fn abandoned_uploads_are_cleaned_and_active_ones_stay() {
    let app = TestApp::new().await;
    let (_, editor) = app.signed_in("eddie", Role::Editor).await;
    let n64 = platform(&app, "n64").await;
    let abandoned = started(&app, &editor, n64, "Old.z64", 6, 2).await;
    assert_eq!(
        put_chunk(&app, &editor, &abandoned, 0, "abc").await.status,
        StatusCode::OK
    );
    let active = started(&app, &editor, n64, "Slow.z64", 6, 2).await;
    app.clock.advance(ABANDONED_AFTER - 60);
    assert_eq!(put_chunk(&app, &editor, &active, 0, "abc").await.status, StatusCode::OK);
    // A folder whose upload is gone (a crash between the two deletes).
    let orphan = chunk_folder(&app, "0123abcd-0000-4000-8000-00000000beef");
    std::fs::create_dir_all(&orphan).unwrap();
    std::fs::write(orphan.join("0"), b"left").unwrap();
    app.clock.advance(120);
    // Starting any upload sweeps.
    let fresh = started(&app, &editor, n64, "New.z64", 3, 1).await;
    assert!(!chunk_folder(&app, &abandoned).exists());
    assert!(!orphan.exists());
    assert_eq!(
        put_chunk(&app, &editor, &abandoned, 1, "def").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(put_chunk(&app, &editor, &active, 1, "def").await.status, StatusCode::OK);
    assert_eq!(complete(&app, &editor, &active).await.status, StatusCode::CREATED);
    assert!(chunk_folder(&app, &fresh).exists());
    app.clock.advance(ABANDONED_AFTER + 1);
    let removed = app.state.library.sweep_abandoned_uploads(app.now()).await.unwrap();
    assert_eq!(removed, 1);
    assert!(files_under(&library_dir(&app).join("roms/.romgate-uploads")).is_empty());
}

#[tokio::test]
async fn names_that_try_to_escape_are_400_and_write_nothing() {
    let app = TestApp::new().await;
    let (_, editor) = app.signed_in("eddie", Role::Editor).await;
    let n64 = platform(&app, "n64").await;
    let outside = tempfile::tempdir().unwrap();
    let absolute = outside.path().join("evil.gb").display().to_string();
    let names = [
        "../evil.gb",
        "../../evil.gb",
        "..\\..\\evil.gb",
        "sub/evil.gb",
        "evil%2F..%2F.gb",
        ".evil.gb",
        "..",
        absolute.as_str(),
    ];
    for name in names {
        let response = start(&app, &editor, n64, name, 4, 1).await;
        assert_eq!(
            (response.status, response.error_code().as_str()),
            (StatusCode::BAD_REQUEST, "invalid_path"),
            "{name}: {}",
            response.text()
        );
    }
    // A platform folder that is a link to elsewhere is not written through.
    std::fs::create_dir_all(library_dir(&app).join("roms")).unwrap();
    std::os::unix::fs::symlink(outside.path(), library_dir(&app).join("roms/elsewhere")).unwrap();
    let elsewhere = platform(&app, "elsewhere").await;
    let response = start(&app, &editor, elsewhere, "evil.gb", 4, 1).await;
    assert_eq!(
        (response.status, response.error_code().as_str()),
        (StatusCode::BAD_REQUEST, "path_outside_library")
    );
    assert!(files_under(outside.path()).is_empty());
    assert!(
        files_under(&library_dir(&app))
            .iter()
            .all(|f| !f.to_string_lossy().contains("evil"))
    );
    assert!(!std::path::Path::new(&absolute).exists());
}
