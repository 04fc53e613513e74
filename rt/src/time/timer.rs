//! [`TimerFd`]: a kernel timer read through a file descriptor (`timerfd_create`), so that a
//! program can wait for it together with other descriptors (poll, epoll) and learn how many
//! expirations it missed.

use super::sleep::{Timeout, duration_of, kernel_duration};
use super::{ClockId, Timespec};
use crate::arch::NR;
use crate::errno::Errno;
use crate::fd::{AsRawFd, OwnedFd};
use crate::sys::{self, Itimerspec32, Timespec32, time64_or_32};
use core::time::Duration;
use linux_raw_sys::general as g;
use linux_raw_sys::general::{__kernel_itimerspec, __kernel_timespec};

flags_type! {
    /// Flags for [`TimerFd::new`].
    pub struct TimerFlags;
    /// Close-on-exec (`TFD_CLOEXEC`); a program that starts others wants it.
    CLOEXEC = g::TFD_CLOEXEC;
    /// Reads answer EAGAIN instead of blocking until an expiration (`TFD_NONBLOCK`).
    NONBLOCK = g::TFD_NONBLOCK;
    /// Neither.
    NONE = 0;
}

/// A timer's setting as `timerfd_gettime` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerState {
    /// Time to the next expiration; zero when the timer is disarmed.
    pub next: Duration,
    /// The period between expirations; zero for a one-shot timer.
    pub interval: Duration,
}

/// A kernel timer on a clock (MONOTONIC, BOOTTIME, REALTIME, and their ALARM forms with
/// CAP_WAKE_ALARM), read through a file descriptor that it owns (closed when it is dropped).
/// Poll it with others through [`AsFd`](crate::fd::AsFd); [`OwnedFd::from`] takes the
/// descriptor over.
#[derive(Debug)]
pub struct TimerFd(OwnedFd);

crate::fd::owns_fd!(TimerFd);

impl TimerFd {
    /// A new, disarmed timer on `clock`.
    pub fn new(clock: ClockId, flags: TimerFlags) -> Result<TimerFd, Errno> {
        sys::timerfd_create(clock.raw(), flags.0).map(TimerFd)
    }

    /// Arms the timer: it expires at `first` (relative, or absolute on its clock), then
    /// every `interval` (`Duration::ZERO`: once). `Timeout::After(Duration::ZERO)` and
    /// `Timeout::At` the clock's zero expire at once (the kernel would read a zero time as
    /// "disarm": tinyrt asks for 1 ns). Replaces any earlier setting.
    pub fn set(&self, first: Timeout, interval: Duration) -> Result<(), Errno> {
        self.settime(first, interval, 0)
    }

    /// As [`set`](TimerFd::set) with an absolute `first` on a REALTIME timer, and
    /// `TFD_TIMER_CANCEL_ON_SET`: when the wall clock is set (a jump, not NTP's slewing),
    /// [`wait`](TimerFd::wait) answers ECANCELED, so the program can recompute its
    /// deadlines. On other clocks the kernel ignores the flag.
    pub fn set_cancel_on_set(&self, first: Timespec, interval: Duration) -> Result<(), Errno> {
        self.settime(Timeout::At(first), interval, g::TFD_TIMER_CANCEL_ON_SET)
    }

    /// Stops the timer; expirations not yet read are dropped.
    pub fn disarm(&self) -> Result<(), Errno> {
        let zero = __kernel_timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        self.settime_raw(0, zero, zero)
    }

    /// Time to the next expiration and the period.
    pub fn get(&self) -> Result<TimerState, Errno> {
        let mut cur = itimerspec(ZERO, ZERO);
        let has32 = NR.timerfd_gettime32.is_some();
        time64_or_32(has32, |old| match old {
            false => sys::timerfd_gettime(self.0.as_raw_fd(), &mut cur),
            true => {
                let mut c32 = Itimerspec32::default();
                sys::timerfd_gettime32(self.0.as_raw_fd(), &mut c32)?;
                cur = itimerspec(widen(c32.value), widen(c32.interval));
                Ok(())
            }
        })?;
        Ok(TimerState {
            next: duration_of(&cur.it_value),
            interval: duration_of(&cur.it_interval),
        })
    }

    /// Waits for the timer (unless it is NONBLOCK) and returns how many times it expired
    /// since the last read (at least 1): a periodic timer counts the expirations a stopped
    /// or busy program missed. Interruptions by signal handlers are waited through. EAGAIN
    /// when NONBLOCK and nothing expired; ECANCELED after a wall-clock change (see
    /// [`set_cancel_on_set`](TimerFd::set_cancel_on_set)).
    pub fn wait(&self) -> Result<u64, Errno> {
        loop {
            let mut count = [0u8; 8];
            match sys::read(self.0.as_raw_fd(), &mut count) {
                Ok(8) => return Ok(u64::from_ne_bytes(count)),
                Ok(_) => return Err(Errno::EIO),
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn settime(&self, first: Timeout, interval: Duration, flags: u32) -> Result<(), Errno> {
        let (value, flags) = match first {
            Timeout::After(d) => (kernel_duration(d.max(Duration::from_nanos(1))), flags),
            // The clock's zero would read as "disarm" too: 1 ns after it is as long past.
            Timeout::At(ts) => (
                __kernel_timespec {
                    tv_sec: ts.sec(),
                    tv_nsec: i64::from(ts.nsec()).max(i64::from(ts.sec() == 0)),
                },
                flags | g::TFD_TIMER_ABSTIME,
            ),
        };
        self.settime_raw(flags, value, kernel_duration(interval))
    }

    /// `timerfd_settime`, 64-bit time first; the 32-bit fallback refuses what its seconds
    /// cannot hold (EOVERFLOW), never wrapping it.
    fn settime_raw(
        &self,
        flags: u32,
        value: __kernel_timespec,
        interval: __kernel_timespec,
    ) -> Result<(), Errno> {
        let new = itimerspec(value, interval);
        let has32 = NR.timerfd_settime32.is_some();
        time64_or_32(has32, |old| {
            if !old {
                let mut prev = itimerspec(ZERO, ZERO);
                return sys::timerfd_settime(self.0.as_raw_fd(), flags, &new, &mut prev);
            }
            let new32 = Itimerspec32 {
                value: narrow(value)?,
                interval: narrow(interval)?,
            };
            let mut prev = Itimerspec32::default();
            sys::timerfd_settime32(self.0.as_raw_fd(), flags, &new32, &mut prev)
        })
    }
}

const ZERO: __kernel_timespec = __kernel_timespec {
    tv_sec: 0,
    tv_nsec: 0,
};

fn itimerspec(value: __kernel_timespec, interval: __kernel_timespec) -> __kernel_itimerspec {
    __kernel_itimerspec {
        it_interval: interval,
        it_value: value,
    }
}

fn widen(t: Timespec32) -> __kernel_timespec {
    __kernel_timespec {
        tv_sec: i64::from(t.sec),
        tv_nsec: i64::from(t.nsec),
    }
}

fn narrow(t: __kernel_timespec) -> Result<Timespec32, Errno> {
    Ok(Timespec32 {
        sec: i32::try_from(t.tv_sec).map_err(|_| Errno::EOVERFLOW)?,
        nsec: t.tv_nsec as i32,
    })
}
