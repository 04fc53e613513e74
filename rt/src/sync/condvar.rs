//! [`Condvar`]: waiting for a condition on a [`Mutex`]'s data.
//!
//! The algorithm is std's futex condition variable (library/std/src/sys/sync/condvar/
//! futex.rs, MIT OR Apache-2.0), written again here: one counter, bumped by every
//! notification, read before the mutex is released and waited on after.

use super::futex;
use super::mutex::{Mutex, MutexGuard};
use crate::time::Instant;
use core::fmt;
use core::sync::atomic::AtomicU32;
use core::sync::atomic::Ordering::Relaxed;
use core::time::Duration;

/// A condition variable, shaped like `std::sync::Condvar` (without poisoning: the waits
/// return the guard itself).
///
/// A thread holding a [`Mutex`]'s guard waits until another notifies; waits may also end
/// spuriously, so the condition is looked at again in a loop (or [`wait_while`] does that).
///
/// [`wait_while`]: Condvar::wait_while
///
/// ```
/// use std::thread;
/// use tinyrt_rt::sync::{Condvar, Mutex};
///
/// let ready = Mutex::new(false);
/// let cv = Condvar::new();
/// thread::scope(|s| {
///     s.spawn(|| {
///         *ready.lock() = true;
///         cv.notify_one();
///     });
///     let guard = cv.wait_while(ready.lock(), |ready| !*ready);
///     assert!(*guard);
/// });
/// ```
pub struct Condvar {
    /// Bumped by every notification: a waiter that read it before unlocking does not sleep
    /// through a notification sent after.
    seq: AtomicU32,
}

/// Whether a timed wait ended by its timeout, as `std::sync::WaitTimeoutResult`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// `true` if the wait ended because its time ran out.
    #[must_use]
    pub fn timed_out(&self) -> bool {
        self.0
    }
}

impl Condvar {
    /// A new condition variable.
    #[must_use]
    pub const fn new() -> Condvar {
        Condvar {
            seq: AtomicU32::new(0),
        }
    }

    // Relaxed everywhere: the mutex, unlocked and locked around each wait, orders the data.

    /// Wakes one thread waiting on this condition variable, if any.
    pub fn notify_one(&self) {
        self.seq.fetch_add(1, Relaxed);
        futex::wake_one(&self.seq);
    }

    /// Wakes every thread waiting on this condition variable.
    pub fn notify_all(&self) {
        self.seq.fetch_add(1, Relaxed);
        futex::wake_all(&self.seq);
    }

    /// Unlocks `mutex`, sleeps until notified (or spuriously, or after `timeout`), locks it
    /// again; `false` when the timeout passed.
    ///
    /// The caller holds `mutex` (through a guard it keeps).
    fn wait_raw<T: ?Sized>(&self, mutex: &Mutex<T>, timeout: Option<Duration>) -> bool {
        let seq = self.seq.load(Relaxed);
        // SAFETY: the caller's guard shows this thread holds the lock; it is locked again
        // below before that guard is used or dropped.
        unsafe { mutex.raw.unlock() };
        let woken = futex::wait(&self.seq, seq, timeout);
        mutex.raw.lock();
        woken
    }

    /// Releases the guard's lock, sleeps until notified, and returns with the lock taken
    /// again. It may also return without a notification: check the condition in a loop.
    pub fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.wait_raw(guard.lock, None);
        guard
    }

    /// Waits (as [`wait`](Condvar::wait)) for as long as `condition` holds for the data.
    pub fn wait_while<'a, T: ?Sized>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: impl FnMut(&mut T) -> bool,
    ) -> MutexGuard<'a, T> {
        while condition(&mut *guard) {
            guard = self.wait(guard);
        }
        guard
    }

    /// [`wait`](Condvar::wait) for at most `dur` (measured on CLOCK_MONOTONIC, from a
    /// deadline, so early wake-ups do not stretch it). Like std's, it may return before `dur`
    /// without a notification (a spurious wake-up), and then `timed_out()` is `false`.
    pub fn wait_timeout<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
        dur: Duration,
    ) -> (MutexGuard<'a, T>, WaitTimeoutResult) {
        let woken = self.wait_raw(guard.lock, Some(dur));
        (guard, WaitTimeoutResult(!woken))
    }

    /// Waits while `condition` holds, for at most `dur` in all: returns when it no longer
    /// holds (`timed_out()` false) or when the time is up and it still holds (true).
    pub fn wait_timeout_while<'a, T: ?Sized>(
        &self,
        mut guard: MutexGuard<'a, T>,
        dur: Duration,
        mut condition: impl FnMut(&mut T) -> bool,
    ) -> (MutexGuard<'a, T>, WaitTimeoutResult) {
        let start = Instant::now();
        loop {
            if !condition(&mut *guard) {
                return (guard, WaitTimeoutResult(false));
            }
            let Some(left) = dur.checked_sub(start.elapsed()) else {
                return (guard, WaitTimeoutResult(true));
            };
            guard = self.wait_timeout(guard, left).0;
        }
    }
}

impl Default for Condvar {
    fn default() -> Condvar {
        Condvar::new()
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condvar").finish_non_exhaustive()
    }
}
