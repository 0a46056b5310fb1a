//! romgate's authentication benchmark: what checking a session or a token
//! costs per request, at load, against the same binary's unauthenticated
//! heartbeat and a bare axum route, on loopback. Run it with
//! `bash bench/run.sh` (which builds the release binaries and installs wrk);
//! see `bench/README.md`. Timing is reported, never asserted.

mod client;
mod logins;
mod oidc;
mod report;
mod server;
mod summary;
mod wrk;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use serde_json::Value;

use report::{Row, load_average, median};
use server::{Process, RomgateSpec, free_port};
use summary::{Memory, Results};
use wrk::Wrk;

pub type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Parser, Debug)]
#[command(about = "Measures what authentication costs per request in romgate")]
struct Args {
    /// The romgate release binary.
    #[arg(long)]
    romgate: PathBuf,
    /// The bare axum comparison binary.
    #[arg(long)]
    bare_axum: PathBuf,
    /// The repository (for the test OpenID Provider).
    #[arg(long, default_value = ".")]
    repo: PathBuf,
    /// PostgreSQL instead of SQLite (an empty database).
    #[arg(long)]
    database_url: Option<String>,
    /// Seconds per measured run.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Measured repetitions of every row, alternating the rows.
    #[arg(long, default_value_t = 5)]
    reps: usize,
    /// wrk threads and connections.
    #[arg(long, default_value_t = 2)]
    threads: u32,
    #[arg(long, default_value_t = 50)]
    connections: u32,
    /// Concurrent password logins.
    #[arg(long, default_value_t = 50)]
    logins: usize,
    /// Timed single sign-ons (after one that creates the account).
    #[arg(long, default_value_t = 20)]
    sign_ins: usize,
    /// Restarts timed from process start to the first heartbeat.
    #[arg(long, default_value_t = 5)]
    starts: usize,
    /// Skip the single sign-on row (no Node.js needed).
    #[arg(long)]
    no_oidc: bool,
    /// Where to write the results as JSON.
    #[arg(long, default_value = "bench-results.json")]
    json: PathBuf,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if let Err(err) = run(args).await {
        eprintln!("bench: {err}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Res<()> {
    let dir = tempfile::tempdir()?;
    let engine = if args.database_url.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    let load_before = load_average();
    println!("romgate auth benchmark: {engine}, load average {load_before}");
    let mut spec = RomgateSpec {
        binary: args.romgate.clone(),
        data_dir: dir.path().to_path_buf(),
        database_url: args.database_url.clone(),
        extra_env: Vec::new(),
    };
    let startup = measure_startup(&spec, args.starts)?;
    println!(
        "start to first heartbeat: {:.1} ms with a new database, {:.1} ms median of {} restarts",
        startup.0,
        median(&startup.1),
        args.starts
    );

    let port = free_port()?;
    let provider = match args.no_oidc {
        true => None,
        false => Some(oidc::start_provider(&args.repo, dir.path(), port).await?),
    };
    if let Some(p) = &provider {
        spec.extra_env = oidc::romgate_env(p, port);
    }
    let server = spec.start(port)?;
    let base = server.url("");
    let creds = client::prepare(&base).await?;
    let bare = server::start_bare_axum(&args.bare_axum, free_port()?, &dir.path().join("bare.log"))?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = server.memory_kib().0;

    let wrk = Wrk::new(dir.path(), args.threads, args.connections)?;
    let rows = measure_rows(&args, &wrk, &server, &bare, &creds)?;
    let end_of_load = server.memory_kib().0;
    bare.stop();

    let logins = match args.logins {
        0 => None,
        count => {
            let background = wrk::Target {
                url: server.url("/api/users/me"),
                headers: vec![creds.session_cookie()],
                expect_success: true,
            };
            let (user, password) = (client::USERNAME, client::PASSWORD);
            Some(logins::measure(&base, user, password, count, &wrk, &background, server.pid()).await?)
        }
    };
    let after_logins = server.memory_kib();
    let oidc = match &provider {
        Some(p) => Some(measure_oidc(p, &base, args.sign_ins).await?),
        None => None,
    };
    let other = spec.start(free_port()?)?;
    let after_logout = client::logout_seen_elsewhere(&base, &other.url("")).await?;
    other.stop();
    server.stop();

    let results = Results {
        engine,
        load_before,
        load_after: load_average(),
        settings: (args.threads, args.connections, args.seconds, args.reps),
        startup,
        memory: Memory {
            idle,
            peak_under_load: rows.iter().skip(1).map(Row::peak_rss_kib).max().unwrap_or(0),
            end_of_load,
            after_logins: after_logins.0,
            peak_after_logins: after_logins.1,
        },
        rows,
        logins,
        oidc,
        after_logout,
    };
    results.print();
    std::fs::write(&args.json, serde_json::to_vec_pretty(&results.json())?)?;
    println!("\nresults written to {}", args.json.display());
    Ok(())
}

/// Every row, `reps` times, after a warm-up; the rows rotate so that drift
/// hits all of them alike, and each ratio is taken within one repetition.
fn measure_rows(
    args: &Args,
    wrk: &Wrk,
    server: &Process,
    bare: &Process,
    creds: &client::Credentials,
) -> Res<Vec<Row>> {
    let me = server.url("/api/users/me");
    let targets = [
        (bare.url("/"), None, true, bare.pid()),
        (server.url("/api/heartbeat"), None, true, server.pid()),
        (me.clone(), Some(creds.session_cookie()), true, server.pid()),
        (me.clone(), Some(creds.bearer_header()), true, server.pid()),
        (me, Some(creds.invalid_cookie()), false, server.pid()),
    ]
    .map(|(url, header, expect_success, pid)| {
        let headers = header.into_iter().collect();
        (
            wrk::Target {
                url,
                headers,
                expect_success,
            },
            pid,
        )
    });
    let mut rows = vec![
        Row::new("bare axum route (other binary)", "bare_axum"),
        Row::new("GET /api/heartbeat (no auth, baseline)", "heartbeat"),
        Row::new("GET /api/users/me, session cookie", "session"),
        Row::new("GET /api/users/me, bearer token", "bearer"),
        Row::new("GET /api/users/me, invalid cookie (401)", "invalid_cookie"),
    ];
    println!(
        "wrk: {} threads, {} connections, {} s runs, {} repetitions after a warm-up",
        args.threads, args.connections, args.seconds, args.reps
    );
    for (target, pid) in &targets {
        tokio::task::block_in_place(|| wrk.measure(target, Duration::from_secs(2), *pid))?;
    }
    for rep in 0..args.reps {
        let mut rps = [0.0; 5];
        for k in 0..targets.len() {
            let i = (rep + k) % targets.len();
            let (target, pid) = &targets[i];
            let measured =
                tokio::task::block_in_place(|| wrk.measure(target, Duration::from_secs(args.seconds), *pid))?;
            rps[i] = measured.run.rps();
            rows[i].runs.push(measured);
        }
        for (i, row) in rows.iter_mut().enumerate().skip(2) {
            row.ratios.push(rps[i] / rps[1]);
        }
        println!(
            "  repetition {}/{} done (load average {})",
            rep + 1,
            args.reps,
            load_average()
        );
    }
    Ok(rows)
}

/// Start to first heartbeat: once on a new database, then `restarts` times.
fn measure_startup(spec: &RomgateSpec, restarts: usize) -> Res<(f64, Vec<f64>)> {
    let ms = |p: &Process| p.ready_after.as_secs_f64() * 1000.0;
    let first = spec.start(free_port()?)?;
    let new_database = ms(&first);
    first.stop();
    let mut again = Vec::with_capacity(restarts);
    for _ in 0..restarts {
        let p = spec.start(free_port()?)?;
        again.push(ms(&p));
        p.stop();
    }
    Ok((new_database, again))
}

async fn measure_oidc(provider: &oidc::Provider, base: &str, count: usize) -> Res<Value> {
    let first = oidc::sign_in(provider, base).await?;
    let mut runs = Vec::with_capacity(count);
    for _ in 0..count {
        runs.push(oidc::sign_in(provider, base).await?);
    }
    Ok(oidc::summary(&first, &runs))
}
