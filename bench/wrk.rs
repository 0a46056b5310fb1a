//! Load with wrk (Debian's package): a fixed number of threads and
//! keep-alive connections, each sending its next request as soon as the last
//! is answered. A small Lua script prints wrk's own summary as one JSON line,
//! so nothing is scraped from its human-readable output.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Deserialize;

use crate::Res;
use crate::server::memory_kib;

const REPORT_LUA: &str = r#"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH {\"requests\":%d,\"duration_us\":%d,\"p50_us\":%d,\"p99_us\":%d,\"max_us\":%d,\"non2xx\":%d,\"socket_errors\":%d}\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout))
end
"#;

/// wrk's summary of one run.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Run {
    pub requests: u64,
    pub duration_us: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    /// Answers other than 2xx/3xx.
    pub non2xx: u64,
    pub socket_errors: u64,
}

impl Run {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / (self.duration_us.max(1) as f64 / 1e6)
    }
}

/// One measured run and the peak resident memory of the server during it.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    pub run: Run,
    pub peak_rss_kib: u64,
}

#[derive(Clone)]
pub struct Wrk {
    script: PathBuf,
    pub threads: u32,
    pub connections: u32,
}

/// Where to send the load, and what to send.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: String,
    pub headers: Vec<String>,
    /// true when every answer must be a 2xx (false for the rejection row).
    pub expect_success: bool,
}

impl Wrk {
    pub fn new(dir: &Path, threads: u32, connections: u32) -> Res<Wrk> {
        let script = dir.join("report.lua");
        std::fs::write(&script, REPORT_LUA)?;
        Ok(Wrk {
            script,
            threads,
            connections,
        })
    }

    /// Runs wrk for `duration` against `target`, sampling the server's
    /// resident memory (process `pid`) every 50 ms.
    pub fn measure(&self, target: &Target, duration: Duration, pid: u32) -> Res<Measured> {
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut peak = 0;
                while !stop.load(Ordering::Relaxed) {
                    peak = peak.max(memory_kib(pid).0);
                    std::thread::sleep(Duration::from_millis(50));
                }
                peak
            })
        };
        let run = self.run(target, duration);
        stop.store(true, Ordering::Relaxed);
        let peak_rss_kib = sampler.join().unwrap_or(0);
        let run = run?;
        if run.socket_errors > 0 {
            return Err(format!("{}: {} socket errors", target.url, run.socket_errors).into());
        }
        if target.expect_success && run.non2xx > 0 {
            return Err(format!("{}: {} answers were not 2xx", target.url, run.non2xx).into());
        }
        if !target.expect_success && run.non2xx != run.requests {
            return Err(format!(
                "{}: {} of {} answers were accepted",
                target.url,
                run.requests - run.non2xx,
                run.requests
            )
            .into());
        }
        Ok(Measured { run, peak_rss_kib })
    }

    /// Runs wrk once and returns its summary.
    pub fn run(&self, target: &Target, duration: Duration) -> Res<Run> {
        let mut command = Command::new("wrk");
        command
            .arg(format!("-t{}", self.threads))
            .arg(format!("-c{}", self.connections))
            .arg(format!("-d{}s", duration.as_secs().max(1)))
            .arg("-s")
            .arg(&self.script);
        for header in &target.headers {
            command.arg("-H").arg(header);
        }
        let out = command.arg(&target.url).output()?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout.lines().find_map(|l| l.strip_prefix("BENCH ")).ok_or_else(|| {
            format!(
                "wrk printed no summary: {stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        Ok(serde_json::from_str(line)?)
    }
}
