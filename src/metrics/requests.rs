//! Requests counted by route template, method and status class, at the
//! cost of a read lock and one atomic increment per request: the table is
//! keyed by the route's text and looked up with the `&str` the router
//! already has, so counting allocates nothing (a `Family` would need an
//! owned label set for every lookup). A route gets its row the first time
//! it answers; routes are the router's templates, a bounded set, never a
//! raw path (some paths carry secrets).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

/// The methods counted by name; any other is counted as `other`.
const METHODS: [&str; 8] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"];
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];
const CELLS: usize = METHODS.len() * CLASSES.len();

/// The route label of a request no route matched (the 404 fallback).
pub const UNMATCHED: &str = "unmatched";

/// One route's counts, by method and status class.
type Row = [AtomicU64; CELLS];

/// Cloned into the registry: the clones share one table.
#[derive(Debug, Default, Clone)]
pub struct RequestCounts {
    routes: Arc<RwLock<HashMap<Box<str>, Box<Row>>>>,
}

impl RequestCounts {
    pub fn count(&self, route: &str, method: &str, status: u16) {
        let cell = method_index(method) * CLASSES.len() + class_index(status);
        {
            let routes = self.routes.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(row) = routes.get(route) {
                add_one(row, cell);
                return;
            }
        }
        let mut routes = self.routes.write().unwrap_or_else(PoisonError::into_inner);
        let row = routes
            .entry(route.into())
            .or_insert_with(|| Box::new(std::array::from_fn(|_| AtomicU64::new(0))));
        add_one(row, cell);
    }

    /// The count for one route, method and status class (tests).
    pub fn get(&self, route: &str, method: &str, status: u16) -> u64 {
        let cell = method_index(method) * CLASSES.len() + class_index(status);
        let routes = self.routes.read().unwrap_or_else(PoisonError::into_inner);
        routes
            .get(route)
            .and_then(|row| row.get(cell))
            .map_or(0, |count| count.load(Ordering::Relaxed))
    }
}

fn add_one(row: &Row, cell: usize) {
    if let Some(count) = row.get(cell) {
        count.fetch_add(1, Ordering::Relaxed);
    }
}

fn method_index(method: &str) -> usize {
    METHODS
        .iter()
        .position(|known| *known == method)
        .unwrap_or(METHODS.len() - 1)
}

/// 100..=199 → 0, ..., 500..=599 → 4 (anything else: the nearest).
fn class_index(status: u16) -> usize {
    usize::from(status / 100).clamp(1, CLASSES.len()) - 1
}

impl EncodeMetric for RequestCounts {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let routes = self.routes.read().unwrap_or_else(PoisonError::into_inner);
        let mut sorted: Vec<(&Box<str>, &Box<Row>)> = routes.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        for (route, row) in sorted {
            for (cell, count) in row.iter().enumerate() {
                let value = count.load(Ordering::Relaxed);
                if value == 0 {
                    continue;
                }
                let method = METHODS.get(cell / CLASSES.len()).copied().unwrap_or("other");
                let class = CLASSES.get(cell % CLASSES.len()).copied().unwrap_or("5xx");
                let labels = [("route", route.as_ref()), ("method", method), ("status", class)];
                encoder
                    .encode_family(&labels)?
                    .encode_counter::<NoLabelSet, _, u64>(&value, None)?;
            }
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Counter
    }

    /// No route has answered yet: left out, as an empty `Family` is.
    fn is_empty(&self) -> bool {
        self.routes.read().unwrap_or_else(PoisonError::into_inner).is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_land_in_their_cell() {
        let counts = RequestCounts::default();
        counts.count("/api/heartbeat", "GET", 200);
        counts.count("/api/heartbeat", "GET", 204);
        counts.count("/api/heartbeat", "BREW", 418);
        counts.count("/api/users/{id}", "DELETE", 503);
        assert_eq!(counts.get("/api/heartbeat", "GET", 200), 2);
        assert_eq!(counts.get("/api/heartbeat", "other", 400), 1);
        assert_eq!(counts.get("/api/users/{id}", "DELETE", 500), 1);
        assert_eq!(counts.get("/api/users/{id}", "GET", 200), 0);
        assert_eq!(class_index(99), 0);
        assert_eq!(class_index(999), 4);
    }
}
