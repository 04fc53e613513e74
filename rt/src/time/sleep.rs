//! Waiting for time: [`sleep`], [`sleep_until`], the kernel's [`clock_nanosleep`] for any
//! clock, and [`Interval`], a periodic timer that does not drift.
//!
//! Every wait is one absolute deadline on a clock (`TIMER_ABSTIME`), computed once: a
//! signal handler that interrupts the wait (the kernel then answers EINTR, with or without
//! SA_RESTART) only makes tinyrt wait for the same deadline again, so interruptions can
//! neither stretch nor shorten it; a stopped and continued process wakes at the deadline it
//! had. On 32-bit architectures the 64-bit-time call (`clock_nanosleep_time64`, Linux 5.1+)
//! serves first; where it is refused (ENOSYS on older kernels, EPERM from sandboxes) the
//! 32-bit call takes over (the one policy of `sys::time64`), relative durations past its
//! 32-bit seconds are slept in pieces, and an absolute deadline it cannot express is
//! reached by relative pieces instead: nothing wraps.

use super::{ClockId, Instant, Timespec, clock_gettime};
use crate::errno::Errno;
use crate::sys::{self, Timespec32};
use core::fmt;
use core::time::Duration;
use linux_raw_sys::general::{__kernel_timespec, TIMER_ABSTIME};

/// When a wait ends: after a duration from now, or at a time of the clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timeout {
    /// This long from now (relative).
    After(Duration),
    /// When the clock reads this (absolute; `TIMER_ABSTIME`).
    At(Timespec),
}

/// Why [`clock_nanosleep`] returned before its time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SleepError {
    /// A signal handler ran during a relative sleep; this much of it was left (never more
    /// than was asked for). An interrupted absolute sleep is `Errno(EINTR)`: its deadline is
    /// still the deadline.
    Interrupted {
        /// What was left of the requested duration.
        remaining: Duration,
    },
    /// The kernel's answer: EINVAL for a clock that cannot be slept on (MONOTONIC_RAW, the
    /// COARSE clocks, THREAD_CPUTIME_ID) or an invalid time, EINTR (absolute sleeps), EPERM
    /// from a sandbox, ...
    Errno(Errno),
}

impl From<Errno> for SleepError {
    fn from(e: Errno) -> SleepError {
        SleepError::Errno(e)
    }
}

impl fmt::Display for SleepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SleepError::Interrupted { remaining } => {
                write!(f, "interrupted with {} ns left", remaining.as_nanos())
            }
            SleepError::Errno(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for SleepError {}

/// Sleeps for at least `d` on CLOCK_MONOTONIC, as `std::thread::sleep` does: to a deadline
/// read once, waited for again after every interruption. `Duration::ZERO` returns at once,
/// without a system call; a duration too long to add to the clock sleeps for ever.
///
/// Unlike std's, it reports what the kernel refused (EPERM from a sandbox's filter, ...)
/// instead of panicking.
pub fn sleep(d: Duration) -> Result<(), Errno> {
    if d.is_zero() {
        return Ok(());
    }
    let now = clock_gettime(ClockId::MONOTONIC)?;
    match now.checked_add(d) {
        Some(deadline) => wait_until(ClockId::MONOTONIC, deadline),
        None => forever(),
    }
}

/// Sleeps until CLOCK_MONOTONIC reaches `deadline` (`clock_nanosleep(CLOCK_MONOTONIC,
/// TIMER_ABSTIME)`), waiting for the same deadline again after an interruption; a deadline
/// in the past returns at once.
pub fn sleep_until(deadline: Instant) -> Result<(), Errno> {
    wait_until(ClockId::MONOTONIC, deadline.to_timespec())
}

/// The kernel's `clock_nanosleep` on any clock, once: `Ok` when the time came,
/// `Err(Interrupted { remaining })` when a signal handler cut a relative sleep short, or the
/// kernel's error (`Errno(EINTR)` for an interrupted absolute sleep). For callers that handle
/// interruptions themselves; [`sleep`] and [`sleep_until`] do it for you.
///
/// BOOTTIME keeps counting through suspend (a watchdog's clock); an absolute REALTIME sleep
/// follows changes of the wall clock. Clocks that cannot be slept on give the kernel's error.
/// `Timeout::After(d)` sleeps at most about 292 years (the kernel's limit).
pub fn clock_nanosleep(clock: ClockId, t: Timeout) -> Result<(), SleepError> {
    let mut rem = __kernel_timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    match t {
        Timeout::After(d) => match nanosleep(clock.raw(), 0, &kernel_duration(d), &mut rem) {
            Ok(()) => Ok(()),
            Err(Errno::EINTR) => Err(SleepError::Interrupted {
                remaining: duration_of(&rem).min(d),
            }),
            Err(e) => Err(SleepError::Errno(e)),
        },
        Timeout::At(ts) => {
            let at = ts.to_kernel();
            nanosleep(clock.raw(), TIMER_ABSTIME, &at, &mut rem).map_err(SleepError::Errno)
        }
    }
}

/// How an [`Interval`] catches up after ticks were missed (the program was busy, stopped,
/// or the machine suspended on BOOTTIME). As tokio's `MissedTickBehavior`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissedTicks {
    /// Every missed tick fires, at once, until the schedule is caught up; the schedule
    /// (start + k·period) never moves.
    #[default]
    Burst,
    /// The next tick is a period after the late one fired: the schedule moves.
    Delay,
    /// Missed ticks are dropped: the next tick is the first of the schedule still ahead.
    Skip,
}

/// A periodic timer, as tokio's `time::interval` but synchronous and allocation-free: the
/// k-th tick is due at start + k·period (deadlines advance by the period, never "now plus a
/// period", so lateness never adds up to drift). The first tick is due at once.
#[derive(Clone, Debug)]
pub struct Interval {
    clock: ClockId,
    period: Duration,
    next: Timespec,
    missed: MissedTicks,
}

impl Interval {
    /// Ticks every `period` on CLOCK_MONOTONIC, starting now. EINVAL for a zero period.
    pub fn new(period: Duration) -> Result<Interval, Errno> {
        Interval::with_clock(period, ClockId::MONOTONIC)
    }

    /// Ticks every `period` on `clock` (MONOTONIC, or BOOTTIME to keep the schedule through
    /// suspend), starting now. EINVAL for a zero period; the clock's error if it cannot be
    /// read (one that cannot be slept on fails at the first tick that has to wait: the
    /// first tick is due at once).
    pub fn with_clock(period: Duration, clock: ClockId) -> Result<Interval, Errno> {
        let start = clock_gettime(clock)?;
        Interval::starting_at(start, period, clock)
    }

    /// Ticks every `period` on `clock`, the first tick due when the clock reads `start`.
    pub fn starting_at(
        start: Timespec,
        period: Duration,
        clock: ClockId,
    ) -> Result<Interval, Errno> {
        if period.is_zero() {
            return Err(Errno::EINVAL);
        }
        Ok(Interval {
            clock,
            period,
            next: start,
            missed: MissedTicks::Burst,
        })
    }

    /// Chooses how missed ticks are caught up (burst by default).
    pub fn set_missed_tick_behavior(&mut self, missed: MissedTicks) {
        self.missed = missed;
    }

    /// How missed ticks are caught up.
    #[must_use]
    pub fn missed_tick_behavior(&self) -> MissedTicks {
        self.missed
    }

    /// The period.
    #[must_use]
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The clock the schedule runs on.
    #[must_use]
    pub fn clock(&self) -> ClockId {
        self.clock
    }

    /// When the next tick is due, on the interval's clock.
    #[must_use]
    pub fn deadline(&self) -> Timespec {
        self.next
    }

    /// Sleeps until the next tick is due (at once, without a sleeping system call, if it is
    /// already: a clock read tells) and returns when it was due; signal handlers that
    /// interrupt the sleep do not move it.
    pub fn tick(&mut self) -> Result<Timespec, Errno> {
        let due = self.next;
        // A deadline already past costs a clock read, not a system call.
        let before = clock_gettime(self.clock)?;
        let now = if due <= before {
            before
        } else {
            wait_until(self.clock, due)?;
            match self.missed {
                // A burst's next deadline does not depend on the time: no second read.
                MissedTicks::Burst => due,
                _ => clock_gettime(self.clock)?,
            }
        };
        Ok(self.advance(now))
    }

    /// Takes the tick that is due (`now`, a reading of the interval's clock, is at or past
    /// [`Interval::deadline`]) without sleeping: returns when it was due and moves the
    /// schedule on as [`Interval::tick`] does (the event loop's step).
    pub(crate) fn advance(&mut self, now: Timespec) -> Timespec {
        let due = self.next;
        let on_schedule = add_saturating(due, self.period);
        self.next = match self.missed {
            MissedTicks::Burst => on_schedule,
            _ if on_schedule > now => on_schedule,
            MissedTicks::Delay => add_saturating(now, self.period),
            MissedTicks::Skip => {
                // The first deadline of the schedule after now.
                let behind = now.as_nanos() - due.as_nanos();
                let k = behind / self.period.as_nanos() as i128 + 1;
                let skip = self.period.as_nanos() as i128 * k;
                add_nanos(due, skip)
            }
        };
        due
    }

    /// Restarts the schedule: the next tick is due a period from now.
    pub fn reset(&mut self) -> Result<(), Errno> {
        self.next = add_saturating(clock_gettime(self.clock)?, self.period);
        Ok(())
    }
}

/// Waits on `clock` until `deadline`, again for the same deadline after each interruption.
/// Where the deadline cannot be expressed to the kernel (the 32-bit fallback past its 32-bit
/// seconds: EOVERFLOW), relative sleeps toward it, each measured from a fresh reading.
fn wait_until(clock: ClockId, deadline: Timespec) -> Result<(), Errno> {
    loop {
        match clock_nanosleep(clock, Timeout::At(deadline)) {
            Ok(()) => return Ok(()),
            Err(SleepError::Errno(Errno::EINTR) | SleepError::Interrupted { .. }) => {}
            // Only the 32-bit fallback answers EOVERFLOW (64-bit architectures compile it out).
            Err(SleepError::Errno(Errno::EOVERFLOW))
                if crate::arch::NR.clock_nanosleep32.is_some() =>
            {
                return wait_in_pieces(clock, deadline);
            }
            Err(SleepError::Errno(e)) => return Err(e),
        }
    }
}

fn wait_in_pieces(clock: ClockId, deadline: Timespec) -> Result<(), Errno> {
    loop {
        let now = clock_gettime(clock)?;
        let left = deadline.saturating_duration_since(now);
        if left.is_zero() {
            return Ok(());
        }
        match clock_nanosleep(clock, Timeout::After(left)) {
            Ok(()) | Err(SleepError::Interrupted { .. }) => {}
            Err(SleepError::Errno(e)) => return Err(e),
        }
    }
}

/// Sleeps for ever (a duration past what the clock can count): returns only the kernel's
/// refusal.
fn forever() -> Result<(), Errno> {
    loop {
        let piece = Duration::from_secs(i32::MAX as u64);
        if let Err(SleepError::Errno(e)) =
            clock_nanosleep(ClockId::MONOTONIC, Timeout::After(piece))
        {
            return Err(e);
        }
    }
}

/// One `clock_nanosleep`, with 64-bit time or its 32-bit fallback. `rem` is written before
/// an EINTR returns (the kernel's answer, or ours in the fallback); it is never read unset.
fn nanosleep(
    clock: i32,
    flags: u32,
    req: &__kernel_timespec,
    rem: &mut __kernel_timespec,
) -> Result<(), Errno> {
    let has32 = crate::arch::NR.clock_nanosleep32.is_some();
    sys::time64_or_32(has32, |old| match old {
        false => sys::clock_nanosleep(clock, flags, req, rem),
        true => nanosleep32(clock, flags, req, rem),
    })
}

/// `clock_nanosleep` with 32-bit time: an absolute time must fit its seconds (EOVERFLOW
/// otherwise); a relative one is slept in pieces of at most `i32::MAX` seconds, and an
/// interruption's remainder counts the pieces not yet begun.
fn nanosleep32(
    clock: i32,
    flags: u32,
    req: &__kernel_timespec,
    rem: &mut __kernel_timespec,
) -> Result<(), Errno> {
    let nsec = req.tv_nsec as i32;
    if flags & TIMER_ABSTIME != 0 {
        let sec = i32::try_from(req.tv_sec).map_err(|_| Errno::EOVERFLOW)?;
        let mut unused = Timespec32::default();
        return sys::clock_nanosleep32(clock, flags, &Timespec32 { sec, nsec }, &mut unused);
    }
    // A negative time is the kernel's to refuse.
    let mut left = req.tv_sec.max(-1);
    loop {
        let piece = left.min(i64::from(i32::MAX));
        let last = piece == left;
        let r = Timespec32 {
            sec: piece as i32,
            nsec: if last { nsec } else { 0 },
        };
        let mut rem32 = Timespec32::default();
        match sys::clock_nanosleep32(clock, flags, &r, &mut rem32) {
            Ok(()) if last => return Ok(()),
            Ok(()) => left -= piece,
            Err(Errno::EINTR) => {
                let not_begun = if last { 0 } else { i64::from(nsec) };
                *rem = remainder32(rem32, left - piece, not_begun);
                return Err(Errno::EINTR);
            }
            Err(e) => return Err(e),
        }
    }
}

/// What is left of a relative sleep in pieces when the current piece was interrupted with
/// `rem32` left: that, and the `sec` seconds and `nsec` nanoseconds not yet begun.
fn remainder32(rem32: Timespec32, sec: i64, nsec: i64) -> __kernel_timespec {
    let ns = i64::from(rem32.nsec) + nsec;
    __kernel_timespec {
        tv_sec: i64::from(rem32.sec) + sec + ns / 1_000_000_000,
        tv_nsec: ns % 1_000_000_000,
    }
}

/// A duration as the kernel's timespec, its seconds capped at what the field holds.
pub(crate) fn kernel_duration(d: Duration) -> __kernel_timespec {
    __kernel_timespec {
        tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(d.subsec_nanos()),
    }
}

/// The kernel's (non-negative) timespec as a duration.
pub(super) fn duration_of(ts: &__kernel_timespec) -> Duration {
    let secs = Duration::from_secs(u64::try_from(ts.tv_sec).unwrap_or(0));
    secs.saturating_add(Duration::from_nanos(u64::try_from(ts.tv_nsec).unwrap_or(0)))
}

/// The latest time a timespec holds: "never" for a deadline.
const NEVER: Timespec = Timespec::from_parts(i64::MAX, 999_999_999);

fn add_saturating(ts: Timespec, d: Duration) -> Timespec {
    ts.checked_add(d).unwrap_or(NEVER)
}

fn add_nanos(ts: Timespec, ns: i128) -> Timespec {
    let total = ts.as_nanos() + ns;
    match i64::try_from(total.div_euclid(1_000_000_000)) {
        Ok(sec) => Timespec::from_parts(sec, total.rem_euclid(1_000_000_000) as u32),
        Err(_) => NEVER,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_add_with_carry_and_saturate() {
        let t = Timespec::new(5, 900_000_000).unwrap();
        let a = t.checked_add(Duration::from_millis(200)).unwrap();
        assert_eq!((a.sec(), a.nsec()), (6, 100_000_000));
        assert_eq!(t.checked_add(Duration::MAX), None);
        assert_eq!(add_saturating(t, Duration::MAX), NEVER);
        let late = add_nanos(t, 3 * 1_000_000_000 + 200_000_000);
        assert_eq!((late.sec(), late.nsec()), (9, 100_000_000));
        assert_eq!(add_nanos(NEVER, 1), NEVER);
    }

    #[test]
    fn the_32_bit_remainder_counts_the_pieces_not_begun() {
        // Interrupted in the only (last) piece: the kernel's remainder as it is.
        let r = remainder32(Timespec32 { sec: 1, nsec: 5 }, 0, 0);
        assert_eq!((r.tv_sec, r.tv_nsec), (1, 5));
        // Interrupted in the first of two pieces of a 2^31 + 3.9 s sleep.
        let rem32 = Timespec32 {
            sec: 10,
            nsec: 600_000_000,
        };
        let r = remainder32(rem32, 3, 900_000_000);
        assert_eq!((r.tv_sec, r.tv_nsec), (14, 500_000_000));
    }

    #[test]
    fn kernel_durations_cap_their_seconds() {
        let k = kernel_duration(Duration::MAX);
        assert_eq!((k.tv_sec, k.tv_nsec), (i64::MAX, 999_999_999));
        let d = duration_of(&kernel_duration(Duration::new(3, 7)));
        assert_eq!(d, Duration::new(3, 7));
    }
}
