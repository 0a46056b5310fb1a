//! One fetch at a time, shared by everyone who needs it: a caller arriving
//! while a fetch runs waits for that fetch's result instead of starting its
//! own, and no lock is held while the fetch runs (only for the instant it
//! takes to look at or change the slot). The fetch runs in a task of its
//! own, so a caller that goes away (a client disconnecting) neither cancels
//! it for the others nor leaves them waiting forever.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

/// The running fetch, as the receiving end of its result.
type Slot<T> = Arc<Mutex<Option<watch::Receiver<Option<T>>>>>;

#[derive(Debug)]
pub struct SingleFlight<T> {
    running: Slot<T>,
}

impl<T> Default for SingleFlight<T> {
    fn default() -> Self {
        Self {
            running: Arc::new(Mutex::new(None)),
        }
    }
}

fn lock<T>(slot: &Slot<T>) -> MutexGuard<'_, Option<watch::Receiver<Option<T>>>> {
    // A panic elsewhere cannot leave the slot half-written: it is one Option.
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Empties the slot when the fetch task ends, however it ends (a panic
/// included), so the next caller starts afresh instead of waiting on a
/// fetch that will never answer.
struct FreeSlotOnDrop<T> {
    slot: Slot<T>,
    mine: watch::Receiver<Option<T>>,
}

impl<T> Drop for FreeSlotOnDrop<T> {
    fn drop(&mut self) {
        let mut running = lock(&self.slot);
        if running.as_ref().is_some_and(|r| r.same_channel(&self.mine)) {
            *running = None;
        }
    }
}

impl<T: Clone + Send + Sync + 'static> SingleFlight<T> {
    /// The result of the fetch running now, or else of `start()`, run now.
    /// `None` only when the fetch task died without an answer (a panic).
    pub async fn run<F>(&self, start: impl FnOnce() -> F) -> Option<T>
    where
        F: Future<Output = T> + Send + 'static,
    {
        let mut receiver = {
            let mut running = lock(&self.running);
            match running.as_ref() {
                Some(receiver) => receiver.clone(),
                None => {
                    let (sender, receiver) = watch::channel(None);
                    *running = Some(receiver.clone());
                    let free = FreeSlotOnDrop {
                        slot: Arc::clone(&self.running),
                        mine: receiver.clone(),
                    };
                    let fetch = start();
                    tokio::spawn(async move {
                        let answer = fetch.await;
                        // Free the slot before anyone can see the answer: a
                        // caller that arrives once a waiter has it starts a
                        // fetch of its own, never takes this finished one.
                        // (Freed after the send, a sign-in made right after a
                        // failed one could get the old failure, when this task
                        // was descheduled between the two.) The guard frees it
                        // too if the fetch panics.
                        drop(free);
                        sender.send_replace(Some(answer));
                    });
                    receiver
                }
            }
        };
        let answer = receiver.wait_for(Option::is_some).await.ok()?;
        answer.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    async fn slow_count(started: Arc<AtomicUsize>) -> usize {
        let n = started.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(Duration::from_secs(5)).await;
        n
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_fetch_and_a_later_caller_starts_another() {
        let flight = Arc::new(SingleFlight::<usize>::default());
        let started = Arc::new(AtomicUsize::new(0));
        let callers: Vec<_> = (0..20)
            .map(|_| {
                let (flight, started) = (Arc::clone(&flight), Arc::clone(&started));
                tokio::spawn(async move { flight.run(|| slow_count(started)).await })
            })
            .collect();
        for caller in callers {
            assert_eq!(caller.await.expect("caller"), Some(1));
        }
        assert_eq!(started.load(Ordering::SeqCst), 1);
        let again = flight.run(|| slow_count(Arc::clone(&started))).await;
        assert_eq!(again, Some(2), "a finished fetch is not reused");
    }

    #[tokio::test(start_paused = true)]
    async fn a_caller_that_goes_away_does_not_cancel_the_fetch_for_the_others() {
        let flight = Arc::new(SingleFlight::<usize>::default());
        let started = Arc::new(AtomicUsize::new(0));
        let first = {
            let (flight, started) = (Arc::clone(&flight), Arc::clone(&started));
            tokio::spawn(async move { flight.run(|| slow_count(started)).await })
        };
        tokio::time::sleep(Duration::from_secs(1)).await;
        first.abort();
        let second = flight.run(|| slow_count(Arc::clone(&started))).await;
        assert_eq!(second, Some(1));
        assert_eq!(started.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_fetch_that_panics_frees_the_slot() {
        let flight = SingleFlight::<usize>::default();
        let died = flight.run(|| async { panic!("the fetch failed hard") }).await;
        assert_eq!(died, None);
        assert_eq!(flight.run(|| async { 7 }).await, Some(7));
    }
}
