//! [`Barrier`]: threads wait until a set number of them have arrived.
//!
//! As std's `Barrier` (library/std/src/sync/barrier.rs, MIT OR Apache-2.0): a count and a
//! generation under a [`Mutex`], and a [`Condvar`] the arrivals wait on.

use super::condvar::Condvar;
use super::mutex::Mutex;
use core::fmt;

/// A meeting point for `n` threads, shaped like `std::sync::Barrier`: each
/// [`wait`](Barrier::wait) blocks until `n` threads have called it, then all return, and
/// exactly one of them is told it is the leader. It can be used again, round after round.
///
/// ```
/// use std::thread;
/// use tinyrt_rt::sync::Barrier;
///
/// let barrier = Barrier::new(3);
/// let leaders: usize = thread::scope(|s| {
///     let waiters: Vec<_> = (0..3).map(|_| s.spawn(|| barrier.wait().is_leader())).collect();
///     waiters.into_iter().map(|w| usize::from(w.join().unwrap())).sum()
/// });
/// assert_eq!(leaders, 1);
/// ```
pub struct Barrier {
    state: Mutex<Round>,
    arrived: Condvar,
    n: usize,
}

/// The threads that have arrived in this round, and the round's number.
struct Round {
    count: usize,
    generation: usize,
}

/// What [`Barrier::wait`] tells a thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// `true` for exactly one thread of each round (the last to arrive).
    #[must_use]
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl Barrier {
    /// A barrier for `n` threads (0 and 1 never block).
    #[must_use]
    pub const fn new(n: usize) -> Barrier {
        Barrier {
            state: Mutex::new(Round {
                count: 0,
                generation: 0,
            }),
            arrived: Condvar::new(),
            n,
        }
    }

    /// Waits until `n` threads have called this in this round.
    pub fn wait(&self) -> BarrierWaitResult {
        let mut round = self.state.lock();
        let generation = round.generation;
        round.count += 1;
        if round.count < self.n {
            let _round = self
                .arrived
                .wait_while(round, |r| r.generation == generation);
            BarrierWaitResult(false)
        } else {
            round.count = 0;
            round.generation = round.generation.wrapping_add(1);
            self.arrived.notify_all();
            BarrierWaitResult(true)
        }
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("n", &self.n)
            .finish_non_exhaustive()
    }
}
