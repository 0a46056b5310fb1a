//! Each scan as a task run with an id, for RomM's task API: a client starts
//! a scan, gets its id at once and polls it. Kept in this process (the scan
//! runs here), the last `KEPT` runs; another instance knows only its own.
//! Times are wall-clock observations (when the run queued, started, ended),
//! not inputs to any decision, so they are read here rather than passed in.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use rand::RngCore;

use super::{Library, ScanReport};
use crate::clock::{Clock, SystemClock};
use crate::error::AppResult;

/// Runs remembered, newest first; older ones are forgotten.
const KEPT: usize = 20;

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Waiting for the scan before it to end.
    Queued,
    Started,
    Finished,
    Failed,
}

/// One scan, from its request to its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRun {
    /// 32 hex characters, random: unguessable, never reused.
    pub id: String,
    pub state: RunState,
    /// Unix seconds.
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    /// The counts of a finished run.
    pub report: Option<ScanReport>,
}

/// Shared by every clone of `Library`.
#[derive(Debug, Clone, Default)]
pub(super) struct ScanRuns(Arc<Mutex<VecDeque<ScanRun>>>);

impl ScanRuns {
    fn with<T>(&self, f: impl FnOnce(&mut VecDeque<ScanRun>) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Records a new run, queued; its id.
    pub(super) fn queue(&self) -> String {
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let id = hex::encode(bytes);
        let run = ScanRun {
            id: id.clone(),
            state: RunState::Queued,
            created_at: SystemClock.now(),
            started_at: None,
            ended_at: None,
            report: None,
        };
        self.with(|runs| {
            runs.push_front(run);
            runs.truncate(KEPT);
        });
        id
    }

    pub(super) fn start(&self, id: &str) {
        self.update(id, |run| {
            run.state = RunState::Started;
            run.started_at = Some(SystemClock.now());
        });
    }

    pub(super) fn end(&self, id: &str, result: &AppResult<ScanReport>) {
        self.update(id, |run| {
            run.ended_at = Some(SystemClock.now());
            match result {
                Ok(report) => {
                    run.state = RunState::Finished;
                    run.report = Some(report.clone());
                }
                Err(_) => run.state = RunState::Failed,
            }
        });
    }

    fn update(&self, id: &str, change: impl FnOnce(&mut ScanRun)) {
        self.with(|runs| runs.iter_mut().find(|run| run.id == id).map(change));
    }

    /// A run still waiting to start, if any.
    fn waiting(&self) -> Option<String> {
        self.with(|runs| {
            runs.iter()
                .find(|run| run.state == RunState::Queued)
                .map(|run| run.id.clone())
        })
    }
}

impl Library {
    /// Starts a scan in the background and answers at once with its run id.
    /// While one scan waits for another to end, asking again returns the
    /// waiting one: repeated clicks queue at most one more scan.
    pub fn start_scan(&self, now: i64) -> String {
        if let Some(id) = self.scan_runs.waiting() {
            return id;
        }
        let id = self.scan_runs.queue();
        let library = self.clone();
        let run = id.clone();
        tokio::spawn(async move {
            if let Err(err) = library.run_scan(&run, now, &mut |_, _| {}).await {
                tracing::warn!(error = %err, "the scan started through the task API stopped");
            }
        });
        id
    }

    /// The remembered runs, newest first.
    pub fn scan_runs(&self) -> Vec<ScanRun> {
        self.scan_runs.with(|runs| runs.iter().cloned().collect())
    }

    pub fn scan_run(&self, id: &str) -> Option<ScanRun> {
        self.scan_runs
            .with(|runs| runs.iter().find(|run| run.id == id).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_goes_from_queued_to_its_outcome_and_old_runs_are_forgotten() {
        let runs = ScanRuns::default();
        let first = runs.queue();
        assert_eq!(runs.waiting(), Some(first.clone()));
        runs.start(&first);
        assert_eq!(runs.waiting(), None);
        runs.end(&first, &Ok(ScanReport::default()));
        let run = runs.with(|r| r.front().cloned()).expect("a run");
        assert_eq!((run.state, run.report.is_some()), (RunState::Finished, true));
        assert!(run.ended_at.is_some() && run.started_at.is_some());
        for _ in 0..KEPT {
            let id = runs.queue();
            runs.start(&id);
        }
        assert_eq!(runs.with(|r| r.len()), KEPT);
        assert!(runs.with(|r| r.iter().all(|run| run.id != first)));
    }
}
