//! The futex system calls: wait and wake on a 32-bit word, private (the word is this
//! process's memory alone: `sync`'s locks) or shared (the kernel's own wake of a thread's
//! `CLONE_CHILD_CLEARTID` word is not private, so a joiner must wait without the flag).
//!
//! Only the timed wait carries a time. It is `FUTEX_WAIT_BITSET` with an absolute
//! CLOCK_MONOTONIC deadline (as std waits), so that a wait woken early or interrupted waits
//! again for what is left and never longer, and on 32-bit architectures it follows
//! [`time64_or_32`]: `futex_time64` first, the plain `futex` after ENOSYS or EPERM. The wakes
//! and the untimed waits pass no time; they use the plain `futex` everywhere (glibc's choice
//! too), the call every kernel and every seccomp profile that allows threads knows.
//!
//! # Safety
//!
//! The kernel reads the word (a borrowed `AtomicU32`) and, for the timed wait, one borrowed
//! timespec; a wake writes nothing. No call here can change memory the program holds.
#![allow(unsafe_code)]

use super::time64::{Timespec32, time64_or_32};
use crate::arch::{NR, syscall4, syscall6};
use crate::errno::Errno;
use core::sync::atomic::AtomicU32;
use linux_raw_sys::general::{
    __kernel_timespec, FUTEX_BITSET_MATCH_ANY, FUTEX_PRIVATE_FLAG, FUTEX_WAIT, FUTEX_WAIT_BITSET,
    FUTEX_WAKE,
};

/// The futex call that carries no time: the plain `futex` on every architecture.
fn untimed_nr() -> usize {
    NR.futex32.unwrap_or(NR.futex)
}

/// `futex(word, op, val, NULL)`: an untimed wait or a wake.
fn untimed(word: &AtomicU32, op: u32, val: u32) -> Result<usize, Errno> {
    // SAFETY: the kernel reads the borrowed word (a wait) or only uses its address as a key
    // (a wake); the timeout is NULL.
    Errno::from_ret(unsafe {
        syscall4(
            untimed_nr(),
            word.as_ptr() as usize,
            op as usize,
            val as usize,
            0,
        )
    })
}

/// Waits while `word` holds `expected`, until a private wake (`FUTEX_WAIT | PRIVATE`). One
/// call: `Ok` when woken (or spuriously), EAGAIN when the word did not hold `expected`,
/// EINTR after a signal handler ran. The caller looks at the word again in every case.
pub fn futex_wait(word: &AtomicU32, expected: u32) -> Result<(), Errno> {
    untimed(word, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, expected).map(|_| ())
}

/// [`futex_wait`] without `FUTEX_PRIVATE_FLAG`: woken by a shared wake, such as the kernel's
/// wake of a `CLONE_CHILD_CLEARTID` word when a thread exits.
#[allow(dead_code, reason = "the thread module's join waits so")]
pub fn futex_wait_shared(word: &AtomicU32, expected: u32) -> Result<(), Errno> {
    untimed(word, FUTEX_WAIT, expected).map(|_| ())
}

/// Waits while `word` holds `expected`, until a private wake or until CLOCK_MONOTONIC
/// reaches `deadline` (`FUTEX_WAIT_BITSET | PRIVATE`, every bit set, an absolute time). One
/// call: ETIMEDOUT once the deadline passed, otherwise as [`futex_wait`]. On 32-bit
/// architectures `futex_time64` first, the plain call after ENOSYS or EPERM
/// ([`time64_or_32`]); a deadline past what its 32-bit seconds hold (68 years of uptime)
/// waits there without one.
pub fn futex_wait_until(
    word: &AtomicU32,
    expected: u32,
    deadline: &__kernel_timespec,
) -> Result<(), Errno> {
    let op = (FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG) as usize;
    let call = |nr: usize, timeout: usize| {
        // SAFETY: the kernel reads the borrowed word and the timespec at `timeout` (ours,
        // alive for the call, or NULL); `uaddr2` is unused by FUTEX_WAIT_BITSET.
        Errno::from_ret(unsafe {
            syscall6(
                nr,
                word.as_ptr() as usize,
                op,
                expected as usize,
                timeout,
                0,
                FUTEX_BITSET_MATCH_ANY as usize,
            )
        })
        .map(|_| ())
    };
    time64_or_32(NR.futex32.is_some(), |old| {
        if !old {
            return call(NR.futex, deadline as *const __kernel_timespec as usize);
        }
        let n32 = untimed_nr();
        match i32::try_from(deadline.tv_sec) {
            Ok(sec) => {
                let t32 = Timespec32 {
                    sec,
                    nsec: deadline.tv_nsec as i32,
                };
                call(n32, &raw const t32 as usize)
            }
            Err(_) => call(n32, 0),
        }
    })
}

/// Wakes at most `n` waiters of `word` that waited privately; answers how many woke.
pub fn futex_wake(word: &AtomicU32, n: u32) -> usize {
    // A wake fails only for a bad address, which a borrowed atomic is not.
    untimed(word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, n).unwrap_or(0)
}

/// Wakes at most `n` waiters of `word` that waited shared; answers how many woke.
#[allow(
    dead_code,
    reason = "for a thread's tid word (the kernel's own wake is shared)"
)]
pub fn futex_wake_shared(word: &AtomicU32, n: u32) -> usize {
    untimed(word, FUTEX_WAKE, n).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use core::sync::atomic::Ordering;
    use std::time::{Duration, Instant};

    fn monotonic_in(d: Duration) -> __kernel_timespec {
        let mut now = __kernel_timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        assert_eq!(super::super::clock_gettime(1, &mut now), 0);
        let ns = now.tv_nsec + d.subsec_nanos() as i64;
        __kernel_timespec {
            tv_sec: now.tv_sec + d.as_secs() as i64 + ns / 1_000_000_000,
            tv_nsec: ns % 1_000_000_000,
        }
    }

    #[test]
    fn a_word_that_changed_is_not_waited_on() {
        let w = AtomicU32::new(1);
        assert_eq!(futex_wait(&w, 0), Err(Errno::EAGAIN));
        assert_eq!(futex_wait_shared(&w, 0), Err(Errno::EAGAIN));
        let far = monotonic_in(Duration::from_secs(100));
        assert_eq!(futex_wait_until(&w, 0, &far), Err(Errno::EAGAIN));
        assert_eq!(futex_wake(&w, 1), 0);
        assert_eq!(futex_wake_shared(&w, u32::MAX >> 1), 0);
    }

    #[test]
    fn a_timed_wait_ends_at_its_absolute_deadline() {
        let w = AtomicU32::new(0);
        let start = Instant::now();
        let deadline = monotonic_in(Duration::from_millis(50));
        assert_eq!(futex_wait_until(&w, 0, &deadline), Err(Errno::ETIMEDOUT));
        assert!(start.elapsed() >= Duration::from_millis(50));
        // A deadline already past: at once.
        let past = monotonic_in(Duration::ZERO);
        assert_eq!(futex_wait_until(&w, 0, &past), Err(Errno::ETIMEDOUT));
    }

    /// A wait of one kind and a wake of the other do not meet: the reason the thread
    /// module's join waits shared (the kernel's CLEARTID wake is a shared one).
    #[test]
    fn a_wake_reaches_a_waiter_of_its_own_kind_only() {
        let wait = |w: &AtomicU32, shared| {
            if shared {
                futex_wait_shared(w, 0)
            } else {
                futex_wait(w, 0)
            }
        };
        let wake = |w: &AtomicU32, shared| {
            if shared {
                futex_wake_shared(w, 1)
            } else {
                futex_wake(w, 1)
            }
        };
        for shared in [false, true] {
            let w = AtomicU32::new(0);
            std::thread::scope(|s| {
                let waiter = s.spawn(|| {
                    while w.load(Ordering::Acquire) == 0 {
                        let _ = wait(&w, shared);
                    }
                });
                std::thread::sleep(Duration::from_millis(50));
                for _ in 0..5 {
                    assert_eq!(wake(&w, !shared), 0, "shared waiter: {shared}");
                    std::thread::sleep(Duration::from_millis(5));
                }
                // Its own kind reaches it (a wake that woke one proves it waited).
                while wake(&w, shared) == 0 {
                    std::thread::sleep(Duration::from_millis(1));
                }
                w.store(1, Ordering::Release);
                while !waiter.is_finished() {
                    wake(&w, shared);
                    std::thread::sleep(Duration::from_millis(1));
                }
            });
        }
    }
}
