//! The soak: mixed traffic against the real binary for SOAK_SECONDS
//! (default 30, the CI version; `bench/soak.sh` runs 600) on SQLite and on
//! PostgreSQL, with the real OpenID Provider for single sign-on. Reports
//! answers by kind, unexpected errors, resident memory, open descriptors,
//! database size and row counts every 10 s, and p99 latency per kind over
//! time; writes the report to SOAK_REPORT (appended) when set.
//!
//! Asserts no unexpected answer and bounded growth (descriptors, memory,
//! live sessions), never a timing.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::cookie::CookieStore;
use sqlx::{Connection, PgConnection, SqliteConnection};
use tokio::sync::Mutex;

use crate::browser::Browser;
use crate::fault_support::{PASSWORD, client, grant, upload};
use crate::private_postgres::PrivatePostgres;
use crate::provider::{TestProvider, free_port};
use crate::romgate::RomgateServer;
use crate::scenario::{provider_config, romgate_env};
use crate::soak_report::{Kind, Sample, Stats, load_average, process_sample};
use crate::soak_traffic::{Soak, VISIT_GRACE, worker};

const SAMPLE_EVERY: Duration = Duration::from_secs(10);
const DOWNLOAD_BYTES: usize = 256 * 1024;
/// Row counts sampled, and expired rows still present (what the cleanup,
/// every 10 minutes, has yet to delete).
const COUNTS: &[(&str, &str)] = &[
    ("users", "SELECT COUNT(*) FROM users"),
    ("sessions", "SELECT COUNT(*) FROM sessions"),
    ("access_tokens", "SELECT COUNT(*) FROM access_tokens"),
    ("refresh_tokens", "SELECT COUNT(*) FROM refresh_tokens"),
    ("oidc_login_attempts", "SELECT COUNT(*) FROM oidc_login_attempts"),
    ("rate_limits", "SELECT COUNT(*) FROM rate_limits"),
    ("login_known_addresses", "SELECT COUNT(*) FROM login_known_addresses"),
];

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Where the soak's database is, for the samples.
enum Database {
    Sqlite(PathBuf),
    Postgres(String),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Node.js; run with --ignored"]
async fn soak_mixed_traffic_on_sqlite() {
    soak("SQLite", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs Node.js and PostgreSQL's server binaries; run with --ignored"]
async fn soak_mixed_traffic_on_postgres() {
    let postgres = PrivatePostgres::start();
    soak("PostgreSQL", Some(postgres.url())).await;
}

async fn soak(engine: &str, database_url: Option<String>) {
    let seconds = env_number("SOAK_SECONDS", 30);
    // Two: each visit hashes passwords, and the debug build hashes slowly;
    // more workers would only queue behind the two hashing lanes.
    let workers = env_number("SOAK_WORKERS", 2);
    let port = free_port();
    let provider = TestProvider::start_async(provider_config(port)).await;
    let extra: Vec<(&str, &str)> = database_url.iter().map(|url| ("DATABASE_URL", url.as_str())).collect();
    let env = romgate_env(&provider, port, &extra);
    let refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut server = tokio::task::block_in_place(|| RomgateServer::start_logged(port, &refs));
    server.cli(
        &["user", "create", "root", "--role", "admin", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    let database = match database_url {
        Some(url) => Database::Postgres(url),
        None => Database::Sqlite(server.data_dir().join("romgate.db")),
    };
    let base = server.base.clone();
    let (admin, _) = grant(&client(), &base, "root").await.expect("an admin token");
    let rom = upload(
        &client(),
        &base,
        &admin,
        "snes",
        "soak.rom",
        &vec![b'r'; DOWNLOAD_BYTES],
    )
    .await;
    let rom_id = rom.json["id"].as_i64().expect("the soak's ROM");

    let bucket_seconds = (seconds / 10).max(10);
    let started = Instant::now();
    let stats = Arc::new(Mutex::new(Stats::default()));
    let soak = Arc::new(Soak {
        base: base.clone(),
        started,
        until: started + Duration::from_secs(seconds),
        bucket_seconds,
        stats: stats.clone(),
        download: (format!("/api/roms/{rom_id}/content/soak.rom"), DOWNLOAD_BYTES),
        sso_every: 4,
        next_sso: Mutex::new(started),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = tokio::spawn(sample_every_10s(
        server.pid(),
        database,
        started,
        stats.clone(),
        stop.clone(),
    ));
    let mut running = Vec::new();
    for id in 0..workers {
        running.push(tokio::spawn(worker(soak.clone(), id, admin.clone())));
    }
    for task in running {
        tokio::time::timeout(Duration::from_secs(seconds) + VISIT_GRACE, task)
            .await
            .expect("a worker finished its last visit")
            .expect("a worker");
    }
    stop.store(true, Ordering::Relaxed);
    sampler.await.expect("the sampler");

    let stats = stats.lock().await;
    let title = format!("{engine}, {seconds} s, {workers} workers");
    let report = stats.markdown(&title, bucket_seconds, &load_average());
    println!("{report}");
    if let Ok(path) = std::env::var("SOAK_REPORT") {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .expect("the report file");
        writeln!(file, "{report}").expect("the report");
    }
    assert!(server.is_running(), "romgate stayed up");
    assert_bounded(&stats, workers);
    let log = server.log();
    assert!(!log.contains("panicked"), "{log}");
}

/// No unexpected answer, every kind exercised, and nothing that grows
/// with the traffic where it should not.
fn assert_bounded(stats: &Stats, workers: u64) {
    assert_eq!(stats.unexpected_total(), 0, "unexpected answers: {:?}", stats.examples);
    for kind in Kind::ALL {
        assert!(
            stats.ok.get(&kind).copied().unwrap_or_default() > 0,
            "{} was tried",
            kind.name()
        );
    }
    let (Some(warm), Some(last)) = (stats.samples.get(1).or(stats.samples.first()), stats.samples.last()) else {
        panic!("no samples");
    };
    assert!(
        last.fds <= warm.fds + 32,
        "open descriptors grow: {} then {}",
        warm.fds,
        last.fds
    );
    assert!(
        last.rss_kib <= warm.rss_kib + warm.rss_kib / 2 + 16 * 1024,
        "resident memory grows: {} KiB then {} KiB",
        warm.rss_kib,
        last.rss_kib
    );
    let sessions = last.rows.get("sessions").copied().unwrap_or_default();
    assert!(
        sessions <= (2 * workers) as i64,
        "every session was logged out, yet {sessions} remain"
    );
}

async fn sample_every_10s(
    pid: u32,
    database: Database,
    started: Instant,
    stats: Arc<Mutex<Stats>>,
    stop: Arc<AtomicBool>,
) {
    let mut next = Duration::ZERO;
    loop {
        let stopping = stop.load(Ordering::Relaxed);
        if stopping || started.elapsed() >= next {
            let sample = sample(pid, &database, started.elapsed().as_secs()).await;
            stats.lock().await.samples.push(sample);
            next += SAMPLE_EVERY;
        }
        if stopping {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn sample(pid: u32, database: &Database, at_seconds: u64) -> Sample {
    let (rss_kib, fds) = process_sample(pid);
    let mut rows = std::collections::BTreeMap::new();
    let db_bytes = match database {
        Database::Sqlite(path) => {
            let url = format!("sqlite://{}?mode=ro", path.display());
            let mut db = SqliteConnection::connect(&url).await.expect("the SQLite file");
            for (table, sql) in COUNTS {
                rows.insert(
                    *table,
                    sqlx::query_scalar(sql).fetch_one(&mut db).await.expect("a count"),
                );
            }
            db.close().await.ok();
            ["", "-wal", "-shm"]
                .iter()
                .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", path.display())).ok())
                .map(|m| m.len() as i64)
                .sum()
        }
        Database::Postgres(url) => {
            let mut db = PgConnection::connect(url).await.expect("PostgreSQL");
            for (table, sql) in COUNTS {
                rows.insert(
                    *table,
                    sqlx::query_scalar(sql).fetch_one(&mut db).await.expect("a count"),
                );
            }
            let size = sqlx::query_scalar("SELECT pg_database_size(current_database())")
                .fetch_one(&mut db)
                .await
                .expect("the size");
            db.close().await.ok();
            size
        }
    };
    Sample {
        at_seconds,
        rss_kib,
        fds,
        db_bytes,
        rows,
    }
}

/// The value of cookie `name` the browser holds for `base`.
pub fn cookie_in(browser: &Browser, base: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(base).ok()?;
    let header = browser.jar().cookies(&url)?;
    let text = header.to_str().ok()?.to_string();
    text.split("; ")
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
        .map(str::to_string)
}
