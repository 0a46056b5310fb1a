//! What the library page says of the scanner: the counts of a scan that
//! ended within the button's request (from the page's query), a running
//! scan's progress, or how a scan that outlasted its request ended.

use serde::Deserialize;

use crate::library::{ScanReport, ScanStatus};

/// The library page's query after a scan: `scan=done` with the counts, or
/// `scan=background`.
#[derive(Deserialize, Default)]
pub(super) struct ScanQuery {
    scan: Option<String>,
    platforms: Option<usize>,
    roms: Option<usize>,
    added: Option<usize>,
    updated: Option<usize>,
    removed: Option<usize>,
    skipped: Option<usize>,
}

/// The line the library page shows after a scan, from its query, for a
/// scan that ended within the button's request.
pub(super) fn scan_notice(query: &ScanQuery) -> Option<String> {
    match query.scan.as_deref()? {
        "done" => Some(scan_done(&ScanReport {
            platforms: query.platforms?,
            roms: query.roms?,
            added: query.added?,
            updated: query.updated?,
            removed: query.removed?,
            skipped: query.skipped?,
            bytes_hashed: 0,
        })),
        _ => None,
    }
}

fn scan_done(r: &ScanReport) -> String {
    format!(
        "Scan done: {} in {}, {} added, {} updated, {} removed, {} skipped.",
        counted(r.roms, "game"),
        counted(r.platforms, "platform"),
        r.added,
        r.updated,
        r.removed,
        r.skipped,
    )
}

/// What a person who can scan sees of the scanner: a running scan's
/// progress (the page reloads itself), or, when they came back from a
/// scan that outlasted its request (`scan=background`), how it ended.
/// `(notice, error, running)`.
pub(super) fn scan_progress(status: ScanStatus, query: &ScanQuery) -> (Option<String>, Option<String>, bool) {
    let came_back = query.scan.as_deref() == Some("background");
    match status {
        ScanStatus::Running {
            platforms_done,
            platforms_total,
            so_far,
            progress,
        } => {
            let line = format!(
                "Scanning the library: {platforms_done} of {} done, {} found so far; \
                 {} of {} checked, {} read. This page updates itself until the scan ends.",
                counted(platforms_total, "platform"),
                counted(so_far.roms, "game"),
                progress.files_done,
                counted(usize::try_from(progress.files_total).unwrap_or(usize::MAX), "game"),
                mebibytes(progress.bytes_hashed),
            );
            (Some(line), None, true)
        }
        ScanStatus::Finished(report) if came_back => (Some(scan_done(&report)), None, false),
        ScanStatus::Failed(message) if came_back => (None, Some(format!("The scan stopped: {message}")), false),
        _ if came_back => (
            Some("The scan goes on in the background; reload in a moment.".to_string()),
            None,
            false,
        ),
        _ => (scan_notice(query), None, false),
    }
}

/// Bytes as MiB with one decimal, for a person watching a scan.
fn mebibytes(bytes: u64) -> String {
    // Exact enough for a progress line (f64 holds integers to 2^53).
    let mib = bytes as f64 / (1024.0 * 1024.0);
    format!("{mib:.1} MiB")
}

fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn came_back() -> ScanQuery {
        ScanQuery {
            scan: Some("background".into()),
            ..ScanQuery::default()
        }
    }

    #[test]
    fn a_running_scan_shows_its_progress_and_reloads_the_page() {
        let running = ScanStatus::Running {
            platforms_done: 2,
            platforms_total: 5,
            so_far: ScanReport {
                roms: 40,
                ..ScanReport::default()
            },
            progress: crate::library::ScanProgress {
                files_done: 41,
                files_total: 100,
                bytes_hashed: 3 * 1024 * 1024 + 512 * 1024,
            },
        };
        for query in [came_back(), ScanQuery::default()] {
            let (notice, error, reload) = scan_progress(running.clone(), &query);
            let notice = notice.expect("a progress line");
            assert!(
                notice.contains("2 of 5 platforms done, 40 games found so far; 41 of 100 games checked, 3.5 MiB read"),
                "{notice}"
            );
            assert_eq!((error, reload), (None, true));
        }
    }

    #[test]
    fn coming_back_from_a_background_scan_shows_how_it_ended() {
        let report = ScanReport {
            platforms: 1,
            roms: 3,
            added: 3,
            ..ScanReport::default()
        };
        let (notice, error, reload) = scan_progress(ScanStatus::Finished(report.clone()), &came_back());
        assert_eq!(notice.as_deref(), Some(scan_done(&report).as_str()));
        assert_eq!((error, reload), (None, false));
        let (notice, error, reload) = scan_progress(ScanStatus::Failed("no roms folder".into()), &came_back());
        assert_eq!(notice, None);
        assert_eq!(error.as_deref(), Some("The scan stopped: no roms folder"));
        assert!(!reload);
        // Without having pressed the button, a past scan is not news.
        assert_eq!(
            scan_progress(ScanStatus::Finished(report), &ScanQuery::default()),
            (None, None, false)
        );
    }
}
