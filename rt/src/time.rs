//! Clocks: `clock_gettime`, `clock_getres`, `gettimeofday`, `time`, and `Instant` /
//! `SystemTime` over `core::time::Duration`, served by the vDSO where it can and by the raw
//! system call where it cannot (see [`crate::vdso`] for the dispatch). Waiting for time:
//! [`sleep`], [`sleep_until`], [`clock_nanosleep`], the periodic [`Interval`] and the
//! descriptor-based [`TimerFd`].
//!
//! Errors follow one rule (the dispatch's, shared with `cpu`): the vDSO's 0 is success and
//! its `-EINVAL` is `Err(EINVAL)` (an unknown clock); any other error from the vDSO (some
//! answer `ENOSYS` for clocks they cannot serve) is retried once by system call, whose
//! answer is final. The legacy vsyscall page is never used.
//!
//! Time is 64-bit everywhere in this API, also on 32-bit architectures.
//!
//! ```
//! use std::time::Duration;
//! use tinyrt_rt::time::{self, ClockId, Instant, SystemTime, UNIX_EPOCH};
//!
//! // A clock read, as glibc's clock_gettime gives it (through the vDSO where it can).
//! let t = time::clock_gettime(ClockId::MONOTONIC).unwrap();
//! assert!(t.nsec() < 1_000_000_000);
//! // An unknown clock is an error, never a crash.
//! assert!(time::clock_gettime(ClockId::from_raw(1234)).is_err());
//! // std's shapes: Instant for intervals, SystemTime for the calendar.
//! let start = Instant::now();
//! time::sleep(Duration::from_millis(2)).unwrap();
//! assert!(start.elapsed() >= Duration::from_millis(2));
//! let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
//! let std_says = std::time::UNIX_EPOCH.elapsed().unwrap();
//! assert!(since_epoch.abs_diff(std_says) < Duration::from_secs(5));
//! ```

use crate::errno::Errno;
use crate::vdso::{self, errno_of, retries};
use core::fmt;
use linux_raw_sys::general as g;
use linux_raw_sys::general::{__kernel_old_timeval, __kernel_timespec};

/// A clock, as the kernel numbers them (`clockid_t`). Any number can be named; the kernel
/// decides which exist (an unknown one is `Err(EINVAL)`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClockId(i32);

impl ClockId {
    /// Wall-clock time, settable, may jump.
    pub const REALTIME: ClockId = ClockId(g::CLOCK_REALTIME as i32);
    /// Time since an unspecified start; never jumps, slewed by NTP; stops in suspend.
    pub const MONOTONIC: ClockId = ClockId(g::CLOCK_MONOTONIC as i32);
    /// CPU time consumed by this process.
    pub const PROCESS_CPUTIME_ID: ClockId = ClockId(g::CLOCK_PROCESS_CPUTIME_ID as i32);
    /// CPU time consumed by this thread.
    pub const THREAD_CPUTIME_ID: ClockId = ClockId(g::CLOCK_THREAD_CPUTIME_ID as i32);
    /// Monotonic time without NTP slewing.
    pub const MONOTONIC_RAW: ClockId = ClockId(g::CLOCK_MONOTONIC_RAW as i32);
    /// REALTIME at the last tick: cheaper, coarser.
    pub const REALTIME_COARSE: ClockId = ClockId(g::CLOCK_REALTIME_COARSE as i32);
    /// MONOTONIC at the last tick: cheaper, coarser.
    pub const MONOTONIC_COARSE: ClockId = ClockId(g::CLOCK_MONOTONIC_COARSE as i32);
    /// MONOTONIC that keeps counting in suspend.
    pub const BOOTTIME: ClockId = ClockId(g::CLOCK_BOOTTIME as i32);
    /// REALTIME for alarm timers (reading it is allowed to all).
    pub const REALTIME_ALARM: ClockId = ClockId(g::CLOCK_REALTIME_ALARM as i32);
    /// BOOTTIME for alarm timers.
    pub const BOOTTIME_ALARM: ClockId = ClockId(g::CLOCK_BOOTTIME_ALARM as i32);
    /// International Atomic Time: REALTIME plus the kernel's TAI offset.
    pub const TAI: ClockId = ClockId(g::CLOCK_TAI as i32);

    /// Every named clock with its name, in number order.
    pub const ALL: [(ClockId, &'static str); 11] = [
        (ClockId::REALTIME, "REALTIME"),
        (ClockId::MONOTONIC, "MONOTONIC"),
        (ClockId::PROCESS_CPUTIME_ID, "PROCESS_CPUTIME_ID"),
        (ClockId::THREAD_CPUTIME_ID, "THREAD_CPUTIME_ID"),
        (ClockId::MONOTONIC_RAW, "MONOTONIC_RAW"),
        (ClockId::REALTIME_COARSE, "REALTIME_COARSE"),
        (ClockId::MONOTONIC_COARSE, "MONOTONIC_COARSE"),
        (ClockId::BOOTTIME, "BOOTTIME"),
        (ClockId::REALTIME_ALARM, "REALTIME_ALARM"),
        (ClockId::BOOTTIME_ALARM, "BOOTTIME_ALARM"),
        (ClockId::TAI, "TAI"),
    ];

    /// A clock by its raw number.
    #[must_use]
    pub const fn from_raw(id: i32) -> ClockId {
        ClockId(id)
    }

    /// The raw number.
    #[must_use]
    pub const fn raw(self) -> i32 {
        self.0
    }

    /// The CPU-time clock of process `pid` (0: this process), the kernel's
    /// `MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)`.
    #[must_use]
    pub const fn process_cputime(pid: i32) -> ClockId {
        ClockId((!pid << 3) | 2)
    }

    /// The CPU-time clock of thread `tid` (0: this thread), `MAKE_THREAD_CPUCLOCK(tid,
    /// CPUCLOCK_SCHED)`.
    #[must_use]
    pub const fn thread_cputime(tid: i32) -> ClockId {
        ClockId((!tid << 3) | 2 | 4)
    }

    /// The clock of an open clock device such as a PTP hardware clock (`/dev/ptp0`), the
    /// kernel's `FD_TO_CLOCKID(fd)`.
    #[must_use]
    pub const fn from_fd(fd: i32) -> ClockId {
        ClockId((!fd << 3) | 3)
    }

    /// The name of a named clock.
    #[must_use]
    pub fn name(self) -> Option<&'static str> {
        ClockId::ALL.iter().find(|c| c.0 == self).map(|c| c.1)
    }
}

impl fmt::Debug for ClockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "CLOCK_{n}"),
            None => write!(f, "ClockId({})", self.0),
        }
    }
}

/// Widens a C `long` (32 or 64 bits, by architecture) to i64.
#[inline(always)]
fn long(v: impl Into<i64>) -> i64 {
    v.into()
}

const ZERO_TS: __kernel_timespec = __kernel_timespec {
    tv_sec: 0,
    tv_nsec: 0,
};

/// The clocks the kernel's vDSO can read by itself (its high-resolution, coarse and raw
/// sets, `lib/vdso/gettimeofday.c`). For every other clock (CPU time, alarm clocks, dynamic
/// clocks) the vDSO makes the system call itself, slower than making it directly (the
/// README compares them), so tinyrt calls the kernel directly for those.
const VDSO_CLOCKS: u32 = 1 << g::CLOCK_REALTIME
    | 1 << g::CLOCK_MONOTONIC
    | 1 << g::CLOCK_MONOTONIC_RAW
    | 1 << g::CLOCK_REALTIME_COARSE
    | 1 << g::CLOCK_MONOTONIC_COARSE
    | 1 << g::CLOCK_BOOTTIME
    | 1 << g::CLOCK_TAI;

impl ClockId {
    /// Whether the vDSO can serve this clock without entering the kernel (if the process
    /// has a vDSO that exports `clock_gettime`; see [`clock_backend`]).
    #[inline(always)]
    #[must_use]
    pub fn vdso_capable(self) -> bool {
        (self.0 as u32) < 32 && VDSO_CLOCKS & (1 << self.0) != 0
    }
}

/// What serves `clock_gettime(clock)` (and `clock_getres(clock)` with
/// `Function::ClockGetres`): the function's backend for the clocks the vDSO reads itself,
/// the system call for the others.
#[must_use]
pub fn clock_backend(f: Function, clock: ClockId) -> Backend {
    if clock.vdso_capable() {
        backend(f)
    } else {
        Backend::Syscall
    }
}

/// `clock_gettime` and `clock_getres` differ only in their slot (`via_slot`): one body
/// serves both, inlined, so that each keeps a hot path of one load, one indirect call and
/// one test (the `vdso_capable` test folds away for a constant clock, and is two compares
/// for a variable one). The clocks the vDSO does not read itself, and every failure, go to
/// [`read_slow`], out of line: nothing of theirs is prepared on the hot path.
#[inline(always)]
fn read(
    f: Function,
    clock: ClockId,
    via_slot: impl FnOnce(i32) -> Result<__kernel_timespec, i32>,
) -> Result<Timespec, Errno> {
    let failed = if clock.vdso_capable() {
        match via_slot(clock.0) {
            Ok(ts) => return Ok(Timespec::from_kernel(&ts)),
            Err(r) => r,
        }
    } else {
        0
    };
    match read_slow(f, clock, failed) {
        Ok(ts) => Ok(Timespec::from_kernel(&ts)),
        Err(r) => Err(errno_of(r as isize)),
    }
}

/// `read`'s way to the kernel: for a clock the vDSO does not read itself (`failed` 0), or
/// after the slot answered `failed`, which the error rule either keeps or retries once by
/// system call. The raw result, as the slot's.
#[cold]
#[inline(never)]
fn read_slow(f: Function, clock: ClockId, failed: i32) -> Result<__kernel_timespec, i32> {
    if failed != 0 && !retries(failed as isize, || vdso::is_syscall(f)) {
        return Err(failed);
    }
    let mut ts = ZERO_TS;
    let r = match f {
        Function::ClockGetres => crate::sys::clock_getres(clock.0, &mut ts),
        _ => crate::sys::clock_gettime(clock.0, &mut ts),
    };
    if r == 0 { Ok(ts) } else { Err(r) }
}

/// Reads `clock`.
#[inline]
pub fn clock_gettime(clock: ClockId) -> Result<Timespec, Errno> {
    read(Function::ClockGettime, clock, vdso::clock_gettime)
}

/// The resolution of `clock`.
#[inline]
pub fn clock_getres(clock: ClockId) -> Result<Timespec, Errno> {
    read(Function::ClockGetres, clock, vdso::clock_getres)
}

/// `clock_gettime` through the dispatch's slot alone, for any clock id: none of
/// [`clock_gettime`]'s rules around it (no direct system call for the clocks the vDSO
/// cannot read, no retry of a failure), so where the vDSO serves this is its function's
/// own answer, an error included (on powerpc64 the vDSO's CR0.SO error convention undone).
/// For tests and diagnostics.
pub(crate) fn slot_clock_gettime(clock: ClockId) -> Result<Timespec, Errno> {
    vdso::clock_gettime(clock.0)
        .map(|ts| Timespec::from_kernel(&ts))
        .map_err(|r| errno_of(r as isize))
}

/// 32-bit `long`s overflow in 2038: on such architectures `gettimeofday` and `time` are
/// read from the 64-bit `clock_gettime`.
const LONG_IS_32: bool = usize::BITS < 64;

fn timeval_of(ts: Timespec) -> Timeval {
    Timeval::from_parts(ts.sec(), ts.nsec() / 1000)
}

/// The wall-clock time in microseconds (the time zone argument is obsolete and not offered).
#[inline]
pub fn gettimeofday() -> Result<Timeval, Errno> {
    if LONG_IS_32 {
        return clock_gettime(ClockId::REALTIME).map(timeval_of);
    }
    match vdso::gettimeofday() {
        Ok(tv) => Ok(timeval(&tv)),
        Err(r) => gettimeofday_slow(r),
    }
}

fn timeval(tv: &__kernel_old_timeval) -> Timeval {
    Timeval::from_parts(long(tv.tv_sec), tv.tv_usec as u32)
}

/// `gettimeofday` after the slot answered `failed`: the error rule.
#[cold]
#[inline(never)]
fn gettimeofday_slow(failed: i32) -> Result<Timeval, Errno> {
    if !retries(failed as isize, || vdso::is_syscall(Function::Gettimeofday)) {
        return Err(errno_of(failed as isize));
    }
    syscall::gettimeofday()
}

/// Seconds since the epoch (1970-01-01 UTC), like C's `time(NULL)`. It cannot fail on
/// Linux; should every source fail (no realtime clock at all), it answers 0.
#[inline]
#[must_use]
pub fn time() -> i64 {
    if LONG_IS_32 {
        // time() has one-tick precision: the coarse clock is enough, and the cheapest.
        return match clock_gettime(ClockId::REALTIME_COARSE) {
            Ok(ts) => ts.sec(),
            Err(_) => time_slow(),
        };
    }
    let t = vdso::time();
    if t >= 0 {
        return t as i64;
    }
    // Only a system call or vDSO in trouble answers negative.
    time_slow()
}

/// `time` from the realtime clock, where the `time` slot (or on 32-bit architectures the
/// coarse clock) failed.
#[cold]
#[inline(never)]
fn time_slow() -> i64 {
    clock_gettime(ClockId::REALTIME_COARSE)
        .or_else(|_| clock_gettime(ClockId::REALTIME))
        .map_or(0, |ts| ts.sec())
}

pub use crate::vdso::{Backend, Function};

/// Where this module reads `f` from instead of `f` itself: 32-bit architectures read
/// `gettimeofday` and `time` from `clock_gettime` (see `LONG_IS_32`).
#[inline(always)]
fn served_by(f: Function) -> Function {
    match f {
        Function::Gettimeofday | Function::Time if LONG_IS_32 => Function::ClockGettime,
        f => f,
    }
}

/// What serves `f`: see [`Backend`]. Resolves the function if it was not yet (for
/// getrandom, also setting its state pool up: [`crate::random::backend`]). On 32-bit
/// architectures `gettimeofday` and `time` are read from `clock_gettime`, and report what
/// serves that.
#[allow(clippy::must_use_candidate)] // Also called for its effect: it sets the backend up.
pub fn backend(f: Function) -> Backend {
    match f {
        Function::Getrandom => crate::random::backend(),
        f => vdso::backend(served_by(f)),
    }
}

/// What serves `f`, or `None` while it is still unresolved (nothing is resolved by asking).
#[must_use]
pub(crate) fn peek(f: Function) -> Option<Backend> {
    vdso::peek(served_by(f))
}

mod instant;
mod timespec;
pub use timespec::{Timespec, Timeval};
pub(crate) mod sleep;
mod timer;
pub use instant::{Instant, NegativeTimeError, SystemTime, SystemTimeError, UNIX_EPOCH};
pub use sleep::{Interval, MissedTicks, SleepError, Timeout, clock_nanosleep, sleep, sleep_until};
pub use timer::{TimerFd, TimerFlags, TimerState};

/// The raw system calls, bypassing the vDSO: for comparison, benchmarks and tests.
pub mod syscall {
    use super::*;

    fn by_syscall(
        clock: ClockId,
        sys: impl FnOnce(i32, &mut __kernel_timespec) -> i32,
    ) -> Result<Timespec, Errno> {
        let mut ts = ZERO_TS;
        match sys(clock.0, &mut ts) {
            0 => Ok(Timespec::from_kernel(&ts)),
            r => Err(errno_of(r as isize)),
        }
    }

    /// `clock_gettime` by system call.
    pub fn clock_gettime(clock: ClockId) -> Result<Timespec, Errno> {
        by_syscall(clock, crate::sys::clock_gettime)
    }

    /// `clock_getres` by system call.
    pub fn clock_getres(clock: ClockId) -> Result<Timespec, Errno> {
        by_syscall(clock, crate::sys::clock_getres)
    }
    /// `gettimeofday` by system call (by `clock_gettime` on 32-bit architectures).
    pub fn gettimeofday() -> Result<Timeval, Errno> {
        if LONG_IS_32 {
            return clock_gettime(ClockId::REALTIME).map(timeval_of);
        }
        let mut tv = __kernel_old_timeval {
            tv_sec: 0,
            tv_usec: 0,
        };
        match crate::sys::gettimeofday(&mut tv) as isize {
            0 => Ok(timeval(&tv)),
            r => Err(errno_of(r)),
        }
    }

    /// `time` by system call (or `clock_gettime(REALTIME_COARSE)` by system call where the
    /// architecture has no `time` call: its seconds are time(2)'s).
    pub fn time() -> Result<i64, Errno> {
        if LONG_IS_32 {
            return clock_gettime(ClockId::REALTIME_COARSE).map(|ts| ts.sec());
        }
        match crate::sys::time() {
            t if t >= 0 => Ok(t as i64),
            r => Err(errno_of(r)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;

    #[test]
    fn times_past_2038_are_representable() {
        // 2100-01-01T00:00:00Z, and the last second of i32 time plus one.
        for sec in [4_102_444_800i64, 2_147_483_648] {
            let k = __kernel_timespec {
                tv_sec: sec,
                tv_nsec: 123,
            };
            let ts = Timespec::from_kernel(&k);
            assert_eq!(ts, Timespec::new(sec, 123).unwrap());
            let st = SystemTime::from_timespec(ts);
            assert_eq!(
                st.duration_since(UNIX_EPOCH).unwrap(),
                Duration::new(sec as u64, 123)
            );
            assert_eq!(st.to_timespec(), ts);
            assert_eq!(timeval_of(ts), Timeval::new(sec, 0).unwrap());
            let later = st + Duration::from_secs(86_400 * 365 * 100);
            assert_eq!(later.to_timespec().sec(), sec + 86_400 * 365 * 100);
        }
        // Far past and far future, up to what an i64 of seconds holds.
        let max = SystemTime::from_timespec(Timespec::new(i64::MAX, 999_999_999).unwrap());
        assert_eq!(max.checked_add(Duration::from_nanos(1)), None);
        let min = SystemTime::from_timespec(Timespec::new(i64::MIN, 0).unwrap());
        assert_eq!(min.checked_sub(Duration::from_nanos(1)), None);
        assert_eq!(min.to_timespec(), Timespec::new(i64::MIN, 0).unwrap());
    }

    #[test]
    fn clock_ids_match_the_kernels_encoding() {
        // include/linux/posix-timers_types.h: CPUCLOCK_SCHED = 2, CPUCLOCK_PERTHREAD_MASK = 4,
        // CLOCKFD = 3, all shifted by the negated pid/tid/fd << 3.
        assert_eq!(ClockId::process_cputime(0).raw(), -6);
        assert_eq!(ClockId::thread_cputime(0).raw(), -2);
        assert_eq!(ClockId::from_fd(3).raw(), (!3 << 3) | 3);
        assert_eq!(ClockId::process_cputime(1234).raw(), (!1234 << 3) | 2);
        extern crate std;
        assert_eq!(std::format!("{:?}", ClockId::MONOTONIC), "CLOCK_MONOTONIC");
        assert_eq!(ClockId::from_raw(12345).name(), None);
    }
}
