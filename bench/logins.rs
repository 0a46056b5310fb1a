//! 50 password logins at once, while wrk keeps an authenticated GET load on
//! the same server: each login's answer time, and the GET load's latency
//! over the same window. A login is dominated by argon2id, which romgate runs
//! on blocking threads behind a semaphore; the GETs must not notice.

use std::time::{Duration, Instant};

use romgate::auth::password::PasswordPolicy;
use serde_json::{Value, json};

use crate::Res;
use crate::report::percentile;
use crate::wrk::{Run, Target, Wrk};

pub struct Logins {
    pub count: usize,
    /// Each login's answer time, sorted, in milliseconds.
    pub latencies_ms: Vec<f64>,
    /// From the first request sent to the last answer.
    pub burst_ms: f64,
    /// The GET load during the burst (a window starting just before it).
    pub background: Run,
    pub background_window_ms: u64,
    pub peak_rss_kib: u64,
}

impl Logins {
    pub fn json(&self) -> Value {
        let policy = PasswordPolicy::PRODUCTION;
        json!({
            "count": self.count,
            "argon2id": {
                "memory_kib": policy.memory_kib,
                "iterations": policy.iterations,
                "parallelism": policy.parallelism,
                "concurrent_hashes": hashing_lanes(),
            },
            "latency_ms": {
                "p50": percentile(&self.latencies_ms, 50.0),
                "p99": percentile(&self.latencies_ms, 99.0),
                "max": self.latencies_ms.last().copied().unwrap_or(0.0),
            },
            "burst_ms": self.burst_ms,
            "background_get": {
                "window_ms": self.background_window_ms,
                "rps": self.background.rps(),
                "p50_ms": self.background.p50_us as f64 / 1000.0,
                "p99_ms": self.background.p99_us as f64 / 1000.0,
                "max_ms": self.background.max_us as f64 / 1000.0,
            },
            "peak_rss_kib": self.peak_rss_kib,
        })
    }
}

/// romgate sizes its hashing semaphore to the CPU count.
pub fn hashing_lanes() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// Sends `count` concurrent `POST /api/login` while `background` runs.
pub async fn measure(
    base: &str,
    username: &str,
    password: &str,
    count: usize,
    wrk: &Wrk,
    background: &Target,
    pid: u32,
) -> Res<Logins> {
    let window = Duration::from_secs(2);
    let load = {
        let wrk = wrk.clone();
        let target = background.clone();
        std::thread::spawn(move || wrk.measure(&target, window, pid))
    };
    // Let wrk open its connections first, so the burst lands on a loaded server.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(count);
    for _ in 0..count {
        let request = client
            .post(format!("{base}/api/login"))
            .basic_auth(username, Some(password));
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let status = request.send().await.map(|r| r.status().as_u16());
            (status, sent.elapsed())
        }));
    }
    let mut latencies_ms = Vec::with_capacity(count);
    for task in tasks {
        let (status, took) = task.await?;
        let status = status?;
        if status != 200 {
            return Err(format!("a login answered {status}").into());
        }
        latencies_ms.push(took.as_secs_f64() * 1000.0);
    }
    let burst_ms = started.elapsed().as_secs_f64() * 1000.0;
    latencies_ms.sort_by(f64::total_cmp);
    let measured = tokio::task::spawn_blocking(move || load.join())
        .await?
        .map_err(|_| "the wrk thread panicked")??;
    Ok(Logins {
        count,
        latencies_ms,
        burst_ms,
        background: measured.run,
        background_window_ms: window.as_millis() as u64,
        peak_rss_kib: measured.peak_rss_kib,
    })
}
