//! argon2's working memory (19 MiB per hash in production): reused from one
//! hash to the next while logins keep coming, and given back to the
//! operating system as soon as the last one is done.
//!
//! Both halves were measured. Left to the allocator, glibc kept a freed
//! 19 MiB buffer in the malloc arena of each blocking thread that had hashed
//! (it raises its mmap threshold to the size of each mapped block freed, up
//! to 32 MiB): 50 concurrent logins left 260 MB resident for good. A fresh
//! mapping for every hash gives the memory back but costs page faults: 44 ms
//! a hash instead of 29 ms on this project's machines.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use argon2::Block;

/// Buffers are reserved above glibc's largest mmap threshold, so each is a
/// mapping of its own, unmapped when dropped. Only the blocks a hash uses
/// are ever touched, so resident memory is what the parameters ask for.
const ALWAYS_MAPPED_BLOCKS: usize = (32 << 20) / Block::SIZE + 1;

#[derive(Default)]
pub struct WorkingMemory {
    /// Buffers between two hashes of one burst (at most one per lane).
    idle: Mutex<Vec<Vec<Block>>>,
    /// Hashes waiting for a lane or running.
    wanted: AtomicUsize,
}

impl WorkingMemory {
    /// Counts one more hash as wanted, until the ticket is used or dropped.
    pub fn ticket(self: &Arc<Self>) -> Ticket {
        self.wanted.fetch_add(1, Ordering::SeqCst);
        Ticket {
            memory: Some(self.clone()),
        }
    }

    /// Done with a hash: keep its buffer while others want one, else let
    /// every buffer go. Decided under the lock, so the last one out always
    /// empties the pool.
    fn release(&self, buffer: Option<Vec<Block>>) {
        let Ok(mut idle) = self.idle.lock() else {
            self.wanted.fetch_sub(1, Ordering::SeqCst);
            return;
        };
        let others = self.wanted.fetch_sub(1, Ordering::SeqCst).saturating_sub(1);
        match buffer {
            Some(buffer) if others > 0 => idle.push(buffer),
            _ if others == 0 => idle.clear(),
            _ => {}
        }
    }

    #[cfg(test)]
    fn idle_buffers(&self) -> usize {
        self.idle.lock().map_or(0, |idle| idle.len())
    }
}

/// One hash's claim on the working memory.
pub struct Ticket {
    memory: Option<Arc<WorkingMemory>>,
}

impl Ticket {
    /// Runs `work`, which asks its lease for blocks when it needs them.
    pub fn run<T>(mut self, work: impl FnOnce(&mut Lease) -> T) -> T {
        let Some(memory) = self.memory.take() else {
            return work(&mut Lease::default());
        };
        let reused = memory.idle.lock().ok().and_then(|mut idle| idle.pop());
        let mut lease = Lease {
            buffer: reused.unwrap_or_default(),
        };
        let result = work(&mut lease);
        memory.release(Some(lease.buffer).filter(|b| !b.is_empty()));
        result
    }
}

/// The buffer one hash may use.
#[derive(Default)]
pub struct Lease {
    buffer: Vec<Block>,
}

impl Lease {
    /// At least `count` blocks (their content is whatever the last hash
    /// left: argon2's first pass writes every block before reading it).
    pub fn blocks(&mut self, count: usize) -> &mut [Block] {
        if self.buffer.len() < count {
            self.buffer = fresh(count);
        }
        &mut self.buffer
    }
}

impl Drop for Ticket {
    /// A hash that never ran (its request went away while it waited).
    fn drop(&mut self) {
        if let Some(memory) = self.memory.take() {
            memory.release(None);
        }
    }
}

fn fresh(blocks: usize) -> Vec<Block> {
    let mut buffer = Vec::with_capacity(blocks.max(ALWAYS_MAPPED_BLOCKS));
    buffer.resize(blocks, Block::default());
    buffer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_kept_during_a_burst_and_released_after_it() {
        let memory = Arc::new(WorkingMemory::default());
        let first = memory.ticket();
        let second = memory.ticket();
        first.run(|lease| assert_eq!(lease.blocks(8).len(), 8));
        assert_eq!(memory.idle_buffers(), 1, "the second hash is still wanted");
        second.run(|lease| assert!(lease.blocks(8).len() >= 8));
        assert_eq!(memory.idle_buffers(), 0, "the last one out lets go");
    }

    #[test]
    fn a_hash_that_never_ran_still_lets_go() {
        let memory = Arc::new(WorkingMemory::default());
        let running = memory.ticket();
        let abandoned = memory.ticket();
        running.run(|lease| lease.blocks(8).len());
        assert_eq!(memory.idle_buffers(), 1);
        drop(abandoned);
        assert_eq!(memory.idle_buffers(), 0);
    }

    #[test]
    fn a_check_without_argon2_keeps_nothing() {
        let memory = Arc::new(WorkingMemory::default());
        let bcrypt = memory.ticket();
        let other = memory.ticket();
        bcrypt.run(|_| ());
        assert_eq!(memory.idle_buffers(), 0);
        other.run(|lease| lease.blocks(8).len());
        assert_eq!(memory.idle_buffers(), 0);
    }
}
