//! Statistics over repetitions, the printed table and the targets.

use serde_json::{Value, json};

use crate::wrk::Measured;

/// The median of sorted or unsorted values (0 when empty).
pub fn median(values: &[f64]) -> f64 {
    percentile(values, 50.0)
}

/// Nearest-rank percentile of `values` (sorted here).
pub fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One row of the table: every repetition of one request kind.
pub struct Row {
    pub name: &'static str,
    /// Key in the JSON output.
    pub key: &'static str,
    pub runs: Vec<Measured>,
    /// This row's throughput over the heartbeat's, per repetition.
    pub ratios: Vec<f64>,
}

impl Row {
    pub fn new(name: &'static str, key: &'static str) -> Row {
        Row {
            name,
            key,
            runs: Vec::new(),
            ratios: Vec::new(),
        }
    }

    fn values(&self, f: impl Fn(&Measured) -> f64) -> Vec<f64> {
        self.runs.iter().map(f).collect()
    }

    pub fn rps(&self) -> f64 {
        median(&self.values(|m| m.run.rps()))
    }

    pub fn rps_min_max(&self) -> (f64, f64) {
        let v = self.values(|m| m.run.rps());
        let min = v.iter().copied().fold(f64::INFINITY, f64::min);
        let max = v.iter().copied().fold(0.0, f64::max);
        (min, max)
    }

    pub fn p50_ms(&self) -> f64 {
        median(&self.values(|m| m.run.p50_us as f64 / 1000.0))
    }

    pub fn p99_ms(&self) -> f64 {
        median(&self.values(|m| m.run.p99_us as f64 / 1000.0))
    }

    pub fn ratio(&self) -> f64 {
        median(&self.ratios)
    }

    pub fn peak_rss_kib(&self) -> u64 {
        self.runs.iter().map(|m| m.peak_rss_kib).max().unwrap_or(0)
    }

    pub fn json(&self) -> Value {
        let (min, max) = self.rps_min_max();
        json!({
            "name": self.name,
            "rps": {"median": self.rps(), "min": min, "max": max, "each": self.values(|m| m.run.rps())},
            "latency_ms": {"p50": self.p50_ms(), "p99": self.p99_ms(),
                           "p99_each": self.values(|m| m.run.p99_us as f64 / 1000.0)},
            "ratio_to_heartbeat": if self.ratios.is_empty() { Value::Null } else { json!(self.ratio()) },
            "peak_rss_kib": self.peak_rss_kib(),
            "requests": self.runs.iter().map(|m| m.run.requests).sum::<u64>(),
        })
    }
}

pub fn print_table(rows: &[Row]) {
    println!(
        "{:<44} {:>9} {:>17} {:>8} {:>8} {:>9}",
        "request", "req/s", "spread (min-max)", "p50 ms", "p99 ms", "vs hbeat"
    );
    for row in rows {
        let (min, max) = row.rps_min_max();
        let ratio = if row.ratios.is_empty() {
            "-".to_string()
        } else {
            format!("{:.2}", row.ratio())
        };
        println!(
            "{:<44} {:>9.0} {:>8.0}-{:<8.0} {:>8.2} {:>8.2} {:>9}",
            row.name,
            row.rps(),
            min,
            max,
            row.p50_ms(),
            row.p99_ms(),
            ratio
        );
    }
}

/// One target: what is asked, what was measured, met or not.
pub struct Target {
    pub name: &'static str,
    pub wanted: String,
    pub measured: String,
    pub met: bool,
}

impl Target {
    pub fn new(name: &'static str, wanted: impl Into<String>, measured: impl Into<String>, met: bool) -> Target {
        Target {
            name,
            wanted: wanted.into(),
            measured: measured.into(),
            met,
        }
    }

    pub fn json(&self) -> Value {
        json!({"target": self.name, "wanted": self.wanted, "measured": self.measured, "met": self.met})
    }
}

pub fn print_targets(targets: &[Target]) {
    println!("\ntargets");
    for t in targets {
        let mark = if t.met { "met   " } else { "MISSED" };
        println!(
            "  {mark} {:<44} wanted {:<22} measured {}",
            t.name, t.wanted, t.measured
        );
    }
}

/// The 1, 5 and 15 minute load averages.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

pub fn mb(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1e6
}
