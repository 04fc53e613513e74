//! Points in time: [`Instant`] on CLOCK_MONOTONIC and [`SystemTime`] on CLOCK_REALTIME, over
//! `core::time::Duration`, shaped like std's.

use super::{ClockId, Timespec, clock_gettime};
use core::fmt;
use core::time::Duration;

/// A point on the MONOTONIC clock, like `std::time::Instant`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(Duration);

impl Instant {
    /// The reading as the clock's timespec (its seconds capped at what an i64 holds).
    pub(crate) fn to_timespec(self) -> Timespec {
        Timespec::from_parts(
            i64::try_from(self.0.as_secs()).unwrap_or(i64::MAX),
            self.0.subsec_nanos(),
        )
    }

    /// Now. (MONOTONIC cannot fail on Linux; if it ever did, this panics.)
    pub fn now() -> Instant {
        match clock_gettime(ClockId::MONOTONIC).map(Timespec::to_duration) {
            Ok(Some(d)) => Instant(d),
            _ => panic!("CLOCK_MONOTONIC failed"),
        }
    }

    /// The time from `earlier` to `self`; zero if `earlier` is later.
    #[must_use]
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }

    /// The time from `earlier` to `self`, or `None` if `earlier` is later.
    #[must_use]
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.0.checked_sub(earlier.0)
    }

    /// The time since `self`.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        Instant::now().duration_since(*self)
    }

    /// `self + d`, if representable.
    pub fn checked_add(&self, d: Duration) -> Option<Instant> {
        self.0.checked_add(d).map(Instant)
    }

    /// `self - d`, if representable (not before the clock's zero).
    pub fn checked_sub(&self, d: Duration) -> Option<Instant> {
        self.0.checked_sub(d).map(Instant)
    }
}

/// `t + d` and `t - d` for a point in time with `checked_add`/`checked_sub`: panics on
/// overflow, as std's do.
macro_rules! add_sub_duration {
    ($($t:ident),*) => {$(
        impl core::ops::Add<Duration> for $t {
            type Output = $t;
            fn add(self, d: Duration) -> $t {
                self.checked_add(d)
                    .expect(concat!("overflow when adding a duration to ", stringify!($t)))
            }
        }
        impl core::ops::Sub<Duration> for $t {
            type Output = $t;
            fn sub(self, d: Duration) -> $t {
                self.checked_sub(d)
                    .expect(concat!("overflow when subtracting a duration from ", stringify!($t)))
            }
        }
    )*};
}
add_sub_duration!(Instant, SystemTime);

impl core::ops::Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, other: Instant) -> Duration {
        self.duration_since(other)
    }
}

/// A point on the REALTIME clock, like `std::time::SystemTime`: nanoseconds from the epoch,
/// possibly negative.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SystemTime(i128);

/// 1970-01-01 00:00:00 UTC.
pub const UNIX_EPOCH: SystemTime = SystemTime(0);

/// `SystemTime::duration_since` with a later `earlier`: how much later it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SystemTimeError(Duration);

impl SystemTimeError {
    /// How far the second time was after the first.
    #[must_use]
    pub fn duration(&self) -> Duration {
        self.0
    }
}

impl fmt::Display for SystemTimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "second time provided was later than self (by {:?})",
            self.0
        )
    }
}

impl core::error::Error for SystemTimeError {}

fn nanos_to_duration(n: i128) -> Option<Duration> {
    let n = u128::try_from(n).ok()?;
    let secs = u64::try_from(n / 1_000_000_000).ok()?;
    Some(Duration::new(secs, (n % 1_000_000_000) as u32))
}

impl SystemTime {
    /// `UNIX_EPOCH`.
    pub const UNIX_EPOCH: SystemTime = UNIX_EPOCH;

    /// Now. (REALTIME cannot fail on Linux; if it ever did, this panics.)
    #[must_use]
    pub fn now() -> SystemTime {
        match clock_gettime(ClockId::REALTIME) {
            Ok(ts) => SystemTime(ts.as_nanos()),
            Err(e) => panic!("CLOCK_REALTIME failed: {e}"),
        }
    }

    /// The time from `earlier` to `self`, or how much later `earlier` is.
    pub fn duration_since(&self, earlier: SystemTime) -> Result<Duration, SystemTimeError> {
        let d = self.0 - earlier.0;
        if d >= 0 {
            Ok(nanos_to_duration(d).unwrap_or(Duration::MAX))
        } else {
            Err(SystemTimeError(
                nanos_to_duration(-d).unwrap_or(Duration::MAX),
            ))
        }
    }

    /// The time since `self` (an error if the clock was set back past it).
    pub fn elapsed(&self) -> Result<Duration, SystemTimeError> {
        SystemTime::now().duration_since(*self)
    }

    /// `self + d`, if representable as seconds in an i64.
    #[must_use]
    pub fn checked_add(&self, d: Duration) -> Option<SystemTime> {
        Self::in_range(self.0.checked_add(d.as_nanos().try_into().ok()?)?)
    }

    /// `self - d`, if representable as seconds in an i64.
    #[must_use]
    pub fn checked_sub(&self, d: Duration) -> Option<SystemTime> {
        Self::in_range(self.0.checked_sub(d.as_nanos().try_into().ok()?)?)
    }

    fn in_range(n: i128) -> Option<SystemTime> {
        let secs = n.div_euclid(1_000_000_000);
        (i128::from(i64::MIN)..=i128::from(i64::MAX))
            .contains(&secs)
            .then_some(SystemTime(n))
    }

    /// As a `Timespec` (seconds and nanoseconds from the epoch, floor division).
    #[must_use]
    pub fn to_timespec(&self) -> Timespec {
        Timespec::from_parts(
            self.0.div_euclid(1_000_000_000) as i64,
            self.0.rem_euclid(1_000_000_000) as u32,
        )
    }

    /// From a `Timespec` (seconds and nanoseconds from the epoch).
    #[must_use]
    pub fn from_timespec(ts: Timespec) -> SystemTime {
        SystemTime(ts.as_nanos())
    }
}
