//! What the soak records and how it reports it: answers by kind (with the
//! unexpected ones kept for the report), latencies per time bucket, and the
//! server's resources sampled every 10 s.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// The kinds of request the soak sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    PasswordLogin,
    SessionApi,
    Logout,
    TokenGrant,
    BearerApi,
    Refresh,
    UserCreate,
    UserDelete,
    LibraryList,
    Download,
    SsoSignIn,
}

impl Kind {
    pub const ALL: [Kind; 11] = [
        Kind::PasswordLogin,
        Kind::SessionApi,
        Kind::Logout,
        Kind::TokenGrant,
        Kind::BearerApi,
        Kind::Refresh,
        Kind::UserCreate,
        Kind::UserDelete,
        Kind::LibraryList,
        Kind::Download,
        Kind::SsoSignIn,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::PasswordLogin => "password login",
            Kind::SessionApi => "session API call",
            Kind::Logout => "logout",
            Kind::TokenGrant => "token grant",
            Kind::BearerApi => "bearer API call",
            Kind::Refresh => "token refresh",
            Kind::UserCreate => "user creation",
            Kind::UserDelete => "user deletion",
            Kind::LibraryList => "library listing",
            Kind::Download => "download",
            Kind::SsoSignIn => "SSO sign-in",
        }
    }
}

/// One resource sample of the server.
#[derive(Debug, Clone)]
pub struct Sample {
    pub at_seconds: u64,
    pub rss_kib: u64,
    pub fds: usize,
    pub db_bytes: i64,
    /// Table → rows.
    pub rows: BTreeMap<&'static str, i64>,
}

#[derive(Default)]
pub struct Stats {
    /// Kind → answers as expected.
    pub ok: BTreeMap<Kind, u64>,
    /// Kind → unexpected answers.
    pub unexpected: BTreeMap<Kind, u64>,
    /// The first few unexpected answers, in words.
    pub examples: Vec<String>,
    /// (kind, bucket) → latencies in ms.
    pub latencies: BTreeMap<(Kind, u64), Vec<f64>>,
    pub samples: Vec<Sample>,
}

impl Stats {
    pub fn record(&mut self, kind: Kind, bucket: u64, took: Duration, outcome: Result<(), String>) {
        match outcome {
            Ok(()) => *self.ok.entry(kind).or_default() += 1,
            Err(what) => {
                *self.unexpected.entry(kind).or_default() += 1;
                if self.examples.len() < 10 {
                    self.examples.push(format!("{}: {what}", kind.name()));
                }
            }
        }
        self.latencies
            .entry((kind, bucket))
            .or_default()
            .push(took.as_secs_f64() * 1000.0);
    }

    pub fn unexpected_total(&self) -> u64 {
        self.unexpected.values().sum()
    }

    /// The report in Markdown (bench/README.md takes it as is).
    pub fn markdown(&self, title: &str, bucket_seconds: u64, load: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "#### {title}\n\nLoad average at the end: {load}\n");
        let _ = writeln!(out, "| kind | answered as expected | unexpected |\n|---|---:|---:|");
        for kind in Kind::ALL {
            let ok = self.ok.get(&kind).copied().unwrap_or_default();
            let bad = self.unexpected.get(&kind).copied().unwrap_or_default();
            let _ = writeln!(out, "| {} | {ok} | {bad} |", kind.name());
        }
        for example in &self.examples {
            let _ = writeln!(out, "\nunexpected: {example}");
        }
        self.resource_table(&mut out);
        self.latency_table(&mut out, bucket_seconds);
        out
    }

    fn resource_table(&self, out: &mut String) {
        let tables: Vec<&str> = self
            .samples
            .first()
            .map(|s| s.rows.keys().copied().collect())
            .unwrap_or_default();
        let _ = write!(out, "\n| s | RSS MiB | fds | DB KiB |");
        for table in &tables {
            let _ = write!(out, " {table} |");
        }
        let _ = write!(out, "\n|---:|---:|---:|---:|");
        for _ in &tables {
            let _ = write!(out, "---:|");
        }
        for sample in &self.samples {
            let _ = write!(
                out,
                "\n| {} | {:.1} | {} | {} |",
                sample.at_seconds,
                sample.rss_kib as f64 / 1024.0,
                sample.fds,
                sample.db_bytes / 1024
            );
            for table in &tables {
                let _ = write!(out, " {} |", sample.rows.get(table).copied().unwrap_or_default());
            }
        }
        out.push('\n');
    }

    fn latency_table(&self, out: &mut String, bucket_seconds: u64) {
        let buckets: Vec<u64> = {
            let mut all: Vec<u64> = self.latencies.keys().map(|(_, b)| *b).collect();
            all.sort_unstable();
            all.dedup();
            all
        };
        let _ = write!(
            out,
            "\np99 latency in ms per {bucket_seconds} s of the run:\n\n| kind |"
        );
        for bucket in &buckets {
            let _ = write!(
                out,
                " {}–{} s |",
                bucket * bucket_seconds,
                (bucket + 1) * bucket_seconds
            );
        }
        let _ = write!(out, "\n|---|");
        for _ in &buckets {
            let _ = write!(out, "---:|");
        }
        for kind in Kind::ALL {
            let _ = write!(out, "\n| {} |", kind.name());
            for bucket in &buckets {
                match self.latencies.get(&(kind, *bucket)) {
                    Some(values) => {
                        let _ = write!(out, " {:.0} |", p99(values));
                    }
                    None => out.push_str(" – |"),
                }
            }
        }
        out.push('\n');
    }
}

fn p99(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let index = ((sorted.len() as f64) * 0.99).ceil() as usize;
    sorted
        .get(index.saturating_sub(1).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

/// `/proc/loadavg`'s first three numbers.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Resident memory (VmRSS) in KiB and open file descriptors of `pid`.
pub fn process_sample(pid: u32) -> (u64, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or_default();
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |dir| dir.count());
    (rss, fds)
}
