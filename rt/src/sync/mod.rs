//! Locks and one-time initialisation on futexes, shaped like `std::sync`: [`Mutex`],
//! [`Condvar`], [`RwLock`], [`Once`], [`OnceLock`] and [`Barrier`], and [`RawMutex`], the
//! mutex without data, which also implements `lock_api::RawMutex` (so that talc and the other
//! crates built on lock_api take it).
//!
//! They follow std's futex algorithms on Linux (credited in each file), with private futexes
//! and, for the timed waits, an absolute CLOCK_MONOTONIC deadline (on 32-bit architectures
//! `futex_time64` first, the plain call where it is refused, as every time call of tinyrt).
//! They work in tinyrt programs and in std programs (library mode) alike, each type a few
//! 32-bit words with no allocation, `const` to create, so they sit in `static`s.
//!
//! **No poisoning.** In a tinyrt program a panic ends the process, so no thread can ever
//! observe a lock a panicking thread held. The locks therefore return their guards directly
//! (`mutex.lock()` is the guard, not a `LockResult`), and there is no `is_poisoned`. In a std
//! program that unwinds, a panic releases what it held and nothing is marked, as with
//! parking_lot (and a [`Once`] whose closure unwound may run again).
//!
//! ```
//! use std::thread;
//! use tinyrt_rt::sync::{Condvar, Mutex};
//!
//! // A bounded queue of one slot: the producer waits while it is full, the consumer while
//! // it is empty.
//! let slot: Mutex<Option<u32>> = Mutex::new(None);
//! let changed = Condvar::new();
//! let sum = thread::scope(|s| {
//!     s.spawn(|| {
//!         for i in 1..=10 {
//!             let mut g = changed.wait_while(slot.lock(), |v| v.is_some());
//!             *g = Some(i);
//!             changed.notify_all();
//!         }
//!     });
//!     let mut sum = 0;
//!     for _ in 0..10 {
//!         let mut g = changed.wait_while(slot.lock(), |v| v.is_none());
//!         sum += g.take().unwrap();
//!         changed.notify_all();
//!     }
//!     sum
//! });
//! assert_eq!(sum, 55);
//! ```
//!
//! # Safety
//!
//! The types hold their data in an `UnsafeCell` and hand out references to it only while
//! the lock (or the completed `Once`) proves that no conflicting reference exists: a guard
//! exists only after its lock was taken and releases it when dropped. Their `Send` and
//! `Sync` bounds are std's. The futex calls themselves are safe functions of `sys`.
#![allow(unsafe_code)]

mod barrier;
mod condvar;
pub(crate) mod futex;
mod mutex;
mod once;
mod once_lock;
mod rwlock;

#[cfg(test)]
mod tests;

pub use barrier::{Barrier, BarrierWaitResult};
pub use condvar::{Condvar, WaitTimeoutResult};
pub use mutex::{Mutex, MutexGuard, RawMutex};
pub use once::Once;
pub use once_lock::OnceLock;
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
