//! [`Once`]: one run of a closure, however many threads race to it.
//!
//! The algorithm is std's futex `Once` (library/std/src/sys/sync/once/futex.rs, MIT OR
//! Apache-2.0) without the poisoned state, written again here: one word, three states and a
//! "someone sleeps" bit; the thread that runs the closure wakes all sleepers when it ends.

use super::futex;
use core::fmt;
use core::sync::atomic::AtomicU32;
use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};

/// Done (zero, so that the fast path compares with zero).
const COMPLETE: u32 = 0;
/// Not run yet (or a run unwound: see `Once`'s text).
const INCOMPLETE: u32 = 1;
/// A thread runs the closure.
const RUNNING: u32 = 2;
/// Beside RUNNING: threads sleep on the word and must be woken.
const SLEEPERS: u32 = 4;
const STATE: u32 = 0b11;

/// Runs a closure exactly once, shaped like `std::sync::Once` without poisoning.
///
/// The first [`call_once`](Once::call_once) runs its closure; calls racing with it wait
/// until it has finished, and every later call returns at once. In a tinyrt program a panic
/// ends the process, so a run never stops halfway; in a std program that unwinds, a run
/// that panicked leaves the `Once` as if never run (the waiters wake, and the next call
/// runs its own closure), where std's would be poisoned.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::thread;
/// use tinyrt_rt::sync::Once;
///
/// static INIT: Once = Once::new();
/// static RUNS: AtomicU32 = AtomicU32::new(0);
/// thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| INIT.call_once(|| { RUNS.fetch_add(1, Ordering::Relaxed); }));
///     }
/// });
/// assert!(INIT.is_completed());
/// assert_eq!(RUNS.load(Ordering::Relaxed), 1);
/// ```
pub struct Once {
    state: AtomicU32,
}

/// Ends a run: the state it leaves (COMPLETE, or INCOMPLETE if the closure unwound), and
/// a wake for the sleepers.
struct Finish<'a> {
    state: &'a AtomicU32,
    to: u32,
}

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        // Release: what the closure wrote is seen by whoever loads COMPLETE with Acquire.
        if self.state.swap(self.to, Release) & SLEEPERS != 0 {
            futex::wake_all(self.state);
        }
    }
}

impl Once {
    /// A `Once` that has not run.
    #[must_use]
    pub const fn new() -> Once {
        Once {
            state: AtomicU32::new(INCOMPLETE),
        }
    }

    /// Whether a run has completed (everything it wrote is then visible to this thread).
    #[inline]
    #[must_use]
    pub fn is_completed(&self) -> bool {
        self.state.load(Acquire) == COMPLETE
    }

    /// Runs `f` if no run has completed, unless another thread runs one now: then waits
    /// for it. Returns after a run has completed, this one or another. Calling it again
    /// from inside `f` deadlocks.
    #[inline]
    pub fn call_once(&self, f: impl FnOnce()) {
        if self.is_completed() {
            return;
        }
        let mut f = Some(f);
        self.call(&mut || {
            if let Some(f) = f.take() {
                f();
            }
        });
    }

    /// The slow path, not generic: claims the run or sleeps until the running one ends.
    #[cold]
    fn call(&self, f: &mut dyn FnMut()) {
        let mut s = self.state.load(Acquire);
        loop {
            match s & STATE {
                COMPLETE => return,
                INCOMPLETE => {
                    // Keep the sleepers bit: they still need the wake at the end.
                    let claim = RUNNING | (s & SLEEPERS);
                    if let Err(now) = self.state.compare_exchange_weak(s, claim, Acquire, Acquire) {
                        s = now;
                        continue;
                    }
                    let mut finish = Finish {
                        state: &self.state,
                        to: INCOMPLETE,
                    };
                    f();
                    finish.to = COMPLETE;
                    return;
                }
                _ => {
                    if s & SLEEPERS == 0 {
                        if let Err(now) =
                            self.state
                                .compare_exchange_weak(s, s | SLEEPERS, Relaxed, Acquire)
                        {
                            s = now;
                            continue;
                        }
                        s |= SLEEPERS;
                    }
                    futex::wait(&self.state, s, None);
                    s = self.state.load(Acquire);
                }
            }
        }
    }
}

impl Default for Once {
    fn default() -> Once {
        Once::new()
    }
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Once").finish_non_exhaustive()
    }
}
