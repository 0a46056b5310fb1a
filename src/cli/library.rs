//! `romgate library scan`: the scan the server runs at start and on
//! `POST /api/tasks/scan`, on the same library folder and database, with a
//! line per platform folder and the totals.

use super::database::{Missing, open_announced};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::AppError;
use crate::library::{Library, ScanReport};

pub(super) async fn scan(config: Config) -> Result<(), AppError> {
    let (store, _lock) = open_announced(&config, Missing::Refuse).await?;
    eprintln!("library: {}", config.library_path.display());
    let library = Library::new(config.library_path.clone(), store.clone(), config.max_upload_bytes);
    let result = library
        .scan_with_progress(SystemClock.now(), |slug, so_far| {
            println!("scanned {slug}: {} so far", games(so_far.roms));
        })
        .await;
    store.close().await;
    let report = result?;
    println!("{}", summary(&report));
    Ok(())
}

fn summary(report: &ScanReport) -> String {
    let platforms = match report.platforms {
        1 => "1 platform".to_string(),
        n => format!("{n} platforms"),
    };
    format!(
        "scan done: {platforms}, {} ({} added, {} updated, {} removed, {} skipped)",
        games(report.roms),
        report.added,
        report.updated,
        report.removed,
        report.skipped
    )
}

fn games(count: usize) -> String {
    match count {
        1 => "1 game".to_string(),
        n => format!("{n} games"),
    }
}
