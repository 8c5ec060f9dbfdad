//! The domain list's reader-writer lock, sharded so readers on different threads never
//! write the same cache line.
//!
//! One `RawRwLock` makes every `Find*` do two atomic read-modify-writes on one shared
//! cache line, which bounces between the cores: readers serialize on it even though none
//! of them waits for another. Here a reader takes the shared lock of one shard (chosen by
//! its thread, so a thread always uses the same one) and a writer takes every shard
//! exclusively, in order. `crossbeam_utils::sync::ShardedLock` does the same, but over
//! `std::sync::RwLock`, which has no recursive read lock (a `ForEach(modify=false)`
//! callback calling `Find*` while a writer waits would deadlock) and no timed write lock
//! (the ID scan's repair gives up instead of waiting); parking_lot's raw lock has both.

use std::cell::Cell;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;
use parking_lot::lock_api::{RawRwLock as _, RawRwLockRecursive as _, RawRwLockTimed as _};
use parking_lot::RawRwLock;

pub struct ShardedRwLock {
    shards: Box<[CachePadded<RawRwLock>]>,
}

/// Shards per lock: enough that the threads of the machine's cores rarely share one,
/// few enough that a writer (which locks them all) stays cheap.
fn shard_count() -> usize {
    static N: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *N.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
        (cores * 2).next_power_of_two().clamp(4, 64)
    })
}

impl Default for ShardedRwLock {
    fn default() -> Self {
        Self::new()
    }
}

impl ShardedRwLock {
    pub fn new() -> Self {
        ShardedRwLock {
            shards: (0..shard_count())
                .map(|_| CachePadded::new(RawRwLock::INIT))
                .collect(),
        }
    }

    /// The shard of the calling thread (thread tokens are consecutive, so threads started
    /// one after another land on different shards).
    fn my_shard(&self) -> usize {
        crate::object::thread_token() & (self.shards.len() - 1)
    }

    /// Takes a shared lock (recursive: granted even while a writer waits, so a reader that
    /// reads again cannot deadlock); returns the shard to give back to `unlock_shared`.
    pub fn lock_shared(&self) -> usize {
        let s = self.my_shard();
        self.shards[s].lock_shared_recursive();
        s
    }

    /// # Safety
    /// `shard` came from `lock_shared` on this thread and is still held.
    pub unsafe fn unlock_shared(&self, shard: usize) {
        self.shards[shard].unlock_shared();
    }

    pub fn lock_exclusive(&self) {
        for s in self.shards.iter() {
            s.lock_exclusive();
        }
    }

    /// The exclusive lock if every shard can be had within `timeout`; nothing held if not.
    pub fn try_lock_exclusive_for(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        for (i, s) in self.shards.iter().enumerate() {
            if !s.try_lock_exclusive_until(deadline) {
                for t in &self.shards[..i] {
                    // SAFETY: taken above by this thread.
                    unsafe { t.unlock_exclusive() };
                }
                return false;
            }
        }
        true
    }

    /// # Safety
    /// The calling thread holds the exclusive lock.
    pub unsafe fn unlock_exclusive(&self) {
        for s in self.shards.iter().rev() {
            s.unlock_exclusive();
        }
    }
}

/// The domain lists a thread holds read-locked (one entry per guard): asking for the write lock
/// of one of them would wait for itself forever. Const-initialised and without a
/// destructor, so it is valid for the whole life of its thread and a read guard keeps a
/// pointer to it instead of looking the thread-local up again (each look-up is a call to
/// `__tls_get_addr` in a shared library, a visible part of a lookup's cost).
pub struct Reading {
    held: [Cell<usize>; READING_SLOTS],
    n: Cell<usize>,
    /// Guards beyond the slots: then every list counts as read-locked (a write is refused
    /// rather than risk waiting for itself).
    overflow: Cell<usize>,
}
const READING_SLOTS: usize = 16;

impl Reading {
    pub fn push(&self, key: usize) {
        let n = self.n.get();
        if n < READING_SLOTS {
            self.held[n].set(key);
            self.n.set(n + 1);
        } else {
            self.overflow.set(self.overflow.get() + 1);
        }
    }
    pub fn pop(&self, key: usize) {
        let n = self.n.get();
        match (0..n).rev().find(|&i| self.held[i].get() == key) {
            Some(i) => {
                self.held[i].set(self.held[n - 1].get());
                self.n.set(n - 1);
            }
            None => self.overflow.set(self.overflow.get().saturating_sub(1)),
        }
    }
    pub fn contains(&self, key: usize) -> bool {
        self.overflow.get() > 0 || self.held[..self.n.get()].iter().any(|k| k.get() == key)
    }
}

thread_local! {
    pub static READING: Reading = const {
        Reading {
            held: [const { Cell::new(0) }; READING_SLOTS],
            n: Cell::new(0),
            overflow: Cell::new(0),
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_excludes_readers_of_every_shard() {
        let l = std::sync::Arc::new(ShardedRwLock::new());
        l.lock_exclusive();
        let l2 = l.clone();
        // A reader on another thread (another shard) cannot get in while the writer holds.
        let t = std::thread::spawn(move || l2.shards.iter().all(|s| !s.try_lock_shared()));
        assert!(t.join().unwrap());
        unsafe { l.unlock_exclusive() };
        let s = l.lock_shared();
        assert!(!l.try_lock_exclusive_for(Duration::from_millis(1)));
        // Recursive read on the same thread is granted.
        let s2 = l.lock_shared();
        unsafe {
            l.unlock_shared(s2);
            l.unlock_shared(s);
        }
        assert!(l.try_lock_exclusive_for(Duration::from_millis(1)));
        unsafe { l.unlock_exclusive() };
    }
}
