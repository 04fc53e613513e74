//! The one wait the locks share: "sleep while this word holds that value", with an optional
//! timeout, over sys's futex calls; and the two wakes.

use crate::errno::Errno;
use crate::sys::futex as sys;
use crate::time::{ClockId, clock_gettime};
use core::sync::atomic::{AtomicU32, Ordering::Relaxed};
use core::time::Duration;

/// Sleeps while `word` holds `expected`, until a wake, for at most `timeout` (`None`: no
/// limit; one too large to add to the clock is none either). Returns `false` only when the
/// timeout passed; may return early (a spurious wake-up), so callers look at their word
/// again. The deadline is taken once, on CLOCK_MONOTONIC, and handed to the kernel as an
/// absolute time: an interrupted wait resumes toward the same deadline, never past it.
pub(crate) fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> bool {
    let deadline = timeout.and_then(|d| {
        clock_gettime(ClockId::MONOTONIC)
            .ok()?
            .checked_add(d)
            .map(|t| t.to_kernel())
    });
    loop {
        if word.load(Relaxed) != expected {
            return true;
        }
        let r = match &deadline {
            None => sys::futex_wait(word, expected),
            Some(t) => sys::futex_wait_until(word, expected, t),
        };
        match r {
            Err(Errno::ETIMEDOUT) => return false,
            Err(Errno::EINTR) => continue,
            _ => return true,
        }
    }
}

/// Wakes one waiter of `word`; answers whether one was waiting (in the kernel: a thread
/// about to wait is not counted).
#[inline]
pub(crate) fn wake_one(word: &AtomicU32) -> bool {
    sys::futex_wake(word, 1) > 0
}

/// Wakes every waiter of `word`.
#[inline]
pub(crate) fn wake_all(word: &AtomicU32) {
    sys::futex_wake(word, i32::MAX as u32);
}
